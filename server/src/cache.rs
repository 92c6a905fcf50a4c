//! Parsed user aggregates kept by `(environment, user)` with the revision they were read at, so
//! that a request whose user has not changed does not parse the stored snapshot again.
//!
//! The cache never decides what is current: every load still asks the database for the user's
//! revision ([`Store::load_snapshot_unless`](crate::store::Store::load_snapshot_unless)) and
//! reuses the parsed copy only when the stored revision is the cached one. Several processes
//! on one database therefore stay correct: a commit of another process moves the revision and
//! the next load reads the snapshot. An entry is only ever replaced by a later revision.
//!
//! With the aggregate the entry keeps the rendered `GET …/devices` bodies of that revision
//! ([`CachedUser::list_body`]) while they cannot change with time: a list with a lock still in
//! force or a TOTP secret still shown is rendered again on every read.
//!
//! Bounded: [`AggregateCache::new`]'s capacity, spread over shards (each its own lock, so
//! concurrent requests rarely wait for each other); a full shard drops its least recently used
//! entry.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use mfa_devices::device::{EnvironmentId, UserId, timestamp};
use mfa_devices::user_devices::{UserDevices, as_of};

/// A rendered body and the time it was rendered at.
type Rendered = Option<(DateTime<Utc>, Bytes)>;

/// A user's aggregate at one revision, with its rendered list bodies.
pub struct CachedUser {
    devices: UserDevices,
    /// `[without order, with order]`: the body and the time it was rendered at.
    lists: Mutex<[Rendered; 2]>,
}

impl CachedUser {
    /// The aggregate, no body rendered yet.
    pub fn new(devices: UserDevices) -> Self {
        Self {
            devices,
            lists: Mutex::new([None, None]),
        }
    }

    /// The unfiltered list body (`expand_order`: with `_embedded.order`) at `now`: the one
    /// rendered earlier when it is valid at `now`, else `render`'s, kept if no later time can
    /// change it. A body is time-independent when every device reads at `now` as it will read
    /// forever (no lock in force, no TOTP secret shown — both only ever go away with time); it
    /// is reused only at or after the time it was rendered at (a clock set back cannot see a
    /// lock that expired "later").
    pub fn list_body(
        &self,
        expand_order: bool,
        now: DateTime<Utc>,
        render: impl FnOnce() -> Bytes,
    ) -> Bytes {
        let slot = usize::from(expand_order);
        if let Ok(lists) = self.lists.lock() {
            if let Some(Some((from, body))) = lists.get(slot) {
                if *from <= now {
                    return body.clone();
                }
            }
        }
        let body = render();
        let at = self.devices.effective_now(now);
        let settled = self
            .devices
            .list()
            .into_iter()
            .all(|d| as_of(d, at) == as_of(d, timestamp::MAX));
        if settled {
            if let Ok(mut lists) = self.lists.lock() {
                if let Some(entry) = lists.get_mut(slot) {
                    *entry = Some((now, body.clone()));
                }
            }
        }
        body
    }
}

impl std::ops::Deref for CachedUser {
    type Target = UserDevices;
    fn deref(&self) -> &UserDevices {
        &self.devices
    }
}

/// The default number of users kept (a few KiB each).
pub const DEFAULT_CAPACITY: usize = 4096;

const SHARDS: usize = 16;

type Key = (EnvironmentId, UserId);

struct Entry {
    devices: Arc<CachedUser>,
    /// The tick of the last use (the least recent is evicted first).
    used: u64,
}

/// A bounded LRU map `(environment, user)` → the user's aggregate at its latest known revision.
pub struct AggregateCache {
    shards: Vec<Mutex<HashMap<Key, Entry>>>,
    per_shard: usize,
    hasher: RandomState,
    tick: AtomicU64,
}

impl AggregateCache {
    /// A cache of at most `capacity` users (at least one per shard; 0 disables it).
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hasher: RandomState::new(),
            tick: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &Key) -> Option<std::sync::MutexGuard<'_, HashMap<Key, Entry>>> {
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        // A poisoned shard (a panic while holding it) is simply not used.
        self.shards.get(index)?.lock().ok()
    }

    /// The cached aggregate of the user, if any (marks it used).
    pub fn get(&self, env: EnvironmentId, user: UserId) -> Option<Arc<CachedUser>> {
        let key = (env, user);
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut shard = self.shard(&key)?;
        let entry = shard.get_mut(&key)?;
        entry.used = tick;
        Some(Arc::clone(&entry.devices))
    }

    /// Keeps `devices` unless the cache holds a later revision of the user already; a full
    /// shard first drops its least recently used entry.
    pub fn put(&self, devices: Arc<CachedUser>) {
        if self.per_shard == 0 {
            return;
        }
        let key = (devices.environment_id(), devices.user_id());
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let Some(mut shard) = self.shard(&key) else {
            return;
        };
        if let Some(entry) = shard.get_mut(&key) {
            if entry.devices.revision() <= devices.revision() {
                *entry = Entry {
                    devices,
                    used: tick,
                };
            }
            return;
        }
        if shard.len() >= self.per_shard {
            let oldest = shard.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                shard.remove(&oldest);
            }
        }
        shard.insert(
            key,
            Entry {
                devices,
                used: tick,
            },
        );
    }

    /// Forgets the user (e.g. when the store no longer has them).
    pub fn remove(&self, env: EnvironmentId, user: UserId) {
        let key = (env, user);
        if let Some(mut shard) = self.shard(&key) {
            shard.remove(&key);
        }
    }

    /// The number of users kept.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.len()))
            .sum()
    }

    /// Whether no user is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u8, revision: u64) -> Arc<CachedUser> {
        let u = UserDevices::restore(
            EnvironmentId::from_bytes([1; 16]),
            UserId::from_bytes([n; 16]),
            vec![],
            Some(vec![]),
            revision,
        )
        .unwrap();
        Arc::new(CachedUser::new(u))
    }

    #[test]
    fn keeps_the_latest_revision_only() {
        let cache = AggregateCache::new(64);
        let (env, id) = (
            EnvironmentId::from_bytes([1; 16]),
            UserId::from_bytes([7; 16]),
        );
        assert!(cache.get(env, id).is_none());
        cache.put(user(7, 3));
        cache.put(user(7, 2)); // an older read finishing late does not win
        assert_eq!(cache.get(env, id).unwrap().revision(), 3);
        cache.put(user(7, 4));
        assert_eq!(cache.get(env, id).unwrap().revision(), 4);
        cache.remove(env, id);
        assert!(cache.get(env, id).is_none());
    }

    #[test]
    fn is_bounded_and_evicts_the_least_recently_used() {
        let cache = AggregateCache::new(SHARDS); // one entry per shard
        for n in 0..=255u8 {
            cache.put(user(n, 1));
            assert!(cache.len() <= SHARDS, "bounded");
        }
        // Fill one shard's slot, touch it, and insert another user of the same shard: the
        // touched one is the only entry, so it is replaced; with two per shard the touched
        // one survives.
        let cache = AggregateCache::new(2 * SHARDS);
        let env = EnvironmentId::from_bytes([1; 16]);
        let key = |n: u8| (env, UserId::from_bytes([n; 16]));
        let index = |n: u8| cache.hasher.hash_one(key(n)) % SHARDS as u64;
        let same: Vec<u8> = (0..=255u8)
            .filter(|n| index(*n) == index(0))
            .take(3)
            .collect();
        assert_eq!(same.len(), 3, "256 users fill 16 shards");
        cache.put(user(same[0], 1));
        cache.put(user(same[1], 1));
        assert!(cache.get(env, UserId::from_bytes([same[0]; 16])).is_some()); // touch the first
        cache.put(user(same[2], 1)); // evicts the second, the least recently used
        assert!(cache.get(env, UserId::from_bytes([same[0]; 16])).is_some());
        assert!(cache.get(env, UserId::from_bytes([same[1]; 16])).is_none());
        assert!(cache.get(env, UserId::from_bytes([same[2]; 16])).is_some());
    }

    #[test]
    fn list_bodies_are_kept_only_while_time_cannot_change_them() {
        use chrono::{TimeDelta, TimeZone};
        use mfa_devices::device::{
            Device, DeviceId, DeviceStatus, DeviceType, LockReason, LockState,
        };
        let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
        let (env, id) = (
            EnvironmentId::from_bytes([1; 16]),
            UserId::from_bytes([2; 16]),
        );
        let device = DeviceId::from_bytes([3; 16]);
        let mut d = Device::new(device, env, id, DeviceType::Sms, DeviceStatus::Active, t);
        let settled = CachedUser::new(
            UserDevices::restore(env, id, vec![d.clone()], Some(vec![device]), 1).unwrap(),
        );
        let calls = std::cell::Cell::new(0);
        let render = |text: &'static str| {
            calls.set(calls.get() + 1);
            Bytes::from_static(text.as_bytes())
        };
        assert_eq!(settled.list_body(false, t, || render("a")), "a");
        assert_eq!(
            settled.list_body(false, t + TimeDelta::hours(1), || render("b")),
            "a"
        );
        assert_eq!(calls.get(), 1, "rendered once");
        assert_eq!(
            settled.list_body(true, t, || render("c")),
            "c",
            "per expand_order"
        );
        assert_eq!(
            settled.list_body(false, t - TimeDelta::seconds(1), || render("d")),
            "d"
        );
        assert_eq!(
            calls.get(),
            3,
            "not reused before the time it was rendered at"
        );

        // A lock in force expires with time: rendered on every read.
        d.lock = Some(LockState::locked(
            t + TimeDelta::minutes(2),
            LockReason::Otp,
        ));
        let locked =
            CachedUser::new(UserDevices::restore(env, id, vec![d], Some(vec![device]), 1).unwrap());
        assert_eq!(locked.list_body(false, t, || render("locked")), "locked");
        assert_eq!(locked.list_body(false, t, || render("again")), "again");
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = AggregateCache::new(0);
        cache.put(user(1, 1));
        assert!(cache.is_empty());
    }
}
