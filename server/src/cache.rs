//! Parsed user aggregates kept by `(environment, user)` with the revision they were read at, so
//! that a request whose user has not changed does not parse the stored snapshot again.
//!
//! The cache never decides what is current: every load still asks the database for the user's
//! revision ([`Store::load_snapshot_unless`](crate::store::Store::load_snapshot_unless)) and
//! reuses the parsed copy only when the stored revision is the cached one. Several processes
//! on one database therefore stay correct: a commit of another process moves the revision and
//! the next load reads the snapshot. An entry is only ever replaced by a later revision.
//!
//! Bounded: [`AggregateCache::new`]'s capacity, spread over shards (each its own lock, so
//! concurrent requests rarely wait for each other); a full shard drops its least recently used
//! entry.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mfa_devices::device::{EnvironmentId, UserId};
use mfa_devices::user_devices::UserDevices;

/// The default number of users kept (a few KiB each).
pub const DEFAULT_CAPACITY: usize = 4096;

const SHARDS: usize = 16;

type Key = (EnvironmentId, UserId);

struct Entry {
    devices: Arc<UserDevices>,
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
    pub fn get(&self, env: EnvironmentId, user: UserId) -> Option<Arc<UserDevices>> {
        let key = (env, user);
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut shard = self.shard(&key)?;
        let entry = shard.get_mut(&key)?;
        entry.used = tick;
        Some(Arc::clone(&entry.devices))
    }

    /// Keeps `devices` unless the cache holds a later revision of the user already; a full
    /// shard first drops its least recently used entry.
    pub fn put(&self, devices: Arc<UserDevices>) {
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

    fn user(n: u8, revision: u64) -> Arc<UserDevices> {
        let u = UserDevices::restore(
            EnvironmentId::from_bytes([1; 16]),
            UserId::from_bytes([n; 16]),
            vec![],
            Some(vec![]),
            revision,
        )
        .unwrap();
        Arc::new(u)
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
    fn capacity_zero_keeps_nothing() {
        let cache = AggregateCache::new(0);
        cache.put(user(1, 1));
        assert!(cache.is_empty());
    }
}
