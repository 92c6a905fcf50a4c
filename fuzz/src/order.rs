//! `order_commands`: arbitrary bytes decoded into a start state and a command sequence for the
//! user device aggregate, checking its invariants after every step.

use chrono::{DateTime, TimeDelta, Utc};

use mfa_devices::device::{
    Device, DeviceId, DeviceStatus, DeviceType, EnvironmentId, NewDevice, UserId, timestamp,
};
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::user_devices::{
    APPLICATION_JSON, Command, DEVICE_ACTIVATE_MEDIA_TYPE, DEVICE_BLOCK_MEDIA_TYPE,
    DEVICE_UNBLOCK_MEDIA_TYPE, DEVICE_UNLOCK_MEDIA_TYPE, DEVICES_ORDER_REMOVE_MEDIA_TYPE,
    DEVICES_REORDER_MEDIA_TYPE, DeviceSettings, Event, RequestTarget, UserDevices,
};

/// Reads bytes, then zeros once the input is exhausted.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
    /// Whether this input already built its one oversized body (speed: the ~1 MB parse and
    /// its capped error dominate an input's time; once per input keeps the class covered).
    oversized: bool,
}

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = self.pos.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        self.data.get(start..end).unwrap_or_default()
    }
}

const POOL: u8 = 8;

/// An error body lists at most `MAX_DETAILS` details and a summary, and stays small.
fn assert_bounded(e: &mfa_devices::error::ApiError) {
    assert!(e.details.len() <= mfa_devices::error::MAX_DETAILS + 1);
    // Serialized into a byte counter: the body's size without building it.
    let mut body = Counter(0);
    serde_json::to_writer(&mut body, e).expect("an error body serializes");
    assert!(body.0 < 512 * 1024, "error body of {} bytes", body.0);
}

/// An `io::Write` that only counts the bytes written to it.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn device_id(b: u8) -> DeviceId {
    DeviceId::from_bytes([b % POOL + 1; 16])
}

/// A policy duration: `b % max` minutes, or (issue 12 point 1) an extreme one — `0xFF`:
/// `TimeDelta::MAX`, `0xFE`: three million days.
fn minutes(b: u8, max: u8) -> TimeDelta {
    match b {
        0xFF => TimeDelta::MAX,
        0xFE => TimeDelta::days(3_000_000),
        _ => TimeDelta::minutes(i64::from(b % max.max(1))),
    }
}

/// The next `now`: forward by `b * 7` seconds, or (`b == 0xFF`, issue 12 points 1 and 13) a
/// jump chosen by the next byte — back an hour, to either edge of the representable range,
/// just outside it, or to chrono's extremes.
fn next_now(r: &mut Bytes<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    let b = r.next();
    if b != 0xFF {
        return now
            .checked_add_signed(TimeDelta::seconds(i64::from(b) * 7))
            .unwrap_or(now);
    }
    let ms = TimeDelta::milliseconds(1);
    match r.next() % 7 {
        0 => now.checked_sub_signed(TimeDelta::hours(1)).unwrap_or(now),
        1 => timestamp::MAX - TimeDelta::minutes(1),
        2 => timestamp::MAX,
        3 => timestamp::MAX + ms,
        4 => timestamp::MIN,
        5 => timestamp::MIN - ms,
        _ => DateTime::<Utc>::MAX_UTC,
    }
}

fn command(r: &mut Bytes<'_>, u: &UserDevices) -> Option<Command> {
    let op = r.next();
    let id = device_id(r.next());
    Some(match op % 14 {
        0 => {
            let types = [
                DeviceType::Totp,
                DeviceType::Sms,
                DeviceType::Email,
                DeviceType::Fido2,
                DeviceType::Mobile,
            ];
            let t = r.next();
            let mut device = NewDevice::new(types.get(usize::from(t % 5))?.clone());
            device.phone = (t & 0x10 != 0).then(|| "+1 512 555 1234".into());
            device.email = (t & 0x20 != 0).then(|| "a@example.com".into());
            device.status = Some(if t & 0x40 != 0 {
                DeviceStatus::Active
            } else {
                DeviceStatus::ActivationRequired
            });
            Command::Create {
                id,
                device,
                secrets: Default::default(),
            }
        }
        1 => Command::Activate { id, otp: None },
        2 => Command::Delete { id },
        3 => Command::SetNickname {
            id,
            nickname: "n".repeat(usize::from(r.next())),
        },
        4 => {
            let n = usize::from(r.next() % 6);
            let order = (0..n).map(|_| device_id(r.next())).collect();
            Command::Reorder { order }
        }
        5 => {
            // A valid reorder: the ACTIVE devices rotated.
            let mut order = u.expand_order();
            if order.is_empty() {
                order = u
                    .list()
                    .iter()
                    .filter(|d| d.is_active())
                    .map(|d| d.id)
                    .collect();
            }
            if !order.is_empty() {
                let k = usize::from(r.next()) % order.len();
                order.rotate_left(k);
            }
            Command::Reorder { order }
        }
        6 => Command::RemoveOrder,
        // A rule the lock module refuses (count 0) cannot reach the aggregate any more.
        7 => Command::RecordOtpFailure {
            id,
            rule: FailureRule::new(u32::from(r.next() % 8), minutes(r.next(), 4)).ok()?,
        },
        8 => Command::RecordOtpSuccess { id },
        9 => Command::RecordPushRejected {
            id,
            rule: PushLimitRule::new(
                u32::from(r.next() % 5),
                minutes(r.next(), 12),
                minutes(r.next(), 6),
            )
            .ok()?,
        },
        10 => Command::Unlock { id },
        11 => Command::Block { id },
        12 => Command::Unblock { id },
        _ => {
            let media = [
                APPLICATION_JSON,
                DEVICES_REORDER_MEDIA_TYPE,
                DEVICES_ORDER_REMOVE_MEDIA_TYPE,
                DEVICE_ACTIVATE_MEDIA_TYPE,
                DEVICE_UNLOCK_MEDIA_TYPE,
                DEVICE_BLOCK_MEDIA_TYPE,
                DEVICE_UNBLOCK_MEDIA_TYPE,
                "text/plain",
            ];
            let m = r.next();
            let target = match m >> 6 {
                0 => RequestTarget::Devices { new_id: id },
                1 => RequestTarget::Device(id),
                _ => RequestTarget::Nickname(id),
            };
            let len = usize::from(r.next() % 64);
            let body = r.take(len).to_vec();
            // An oversized body: a full-length piece whose inner part repeats up to 16,320 times
            // (`{"order":[` + piece × n + `1]}`), about 1 MB: the error stays bounded. At most one
            // per input (the parse and its capped error would otherwise dominate every run).
            let body = if len == 63 && !r.oversized {
                r.oversized = true;
                let n = usize::from(r.next()).saturating_mul(64);
                let mut big = b"{\"order\":[".to_vec();
                for _ in 0..n {
                    big.extend_from_slice(&body);
                }
                big.extend_from_slice(b"1]}");
                big
            } else {
                body
            };
            let media_type = media.get(usize::from(m % 8))?;
            match Command::from_request(media_type, target, &body) {
                Ok(c) => c,
                Err(e) => {
                    assert!(e.http_status() == 400 || e.http_status() == 415);
                    assert_bounded(&e);
                    return None;
                }
            }
        }
    })
}

fn check_invariants(u: &UserDevices) {
    let list = u.list();
    assert!(
        list.iter().all(|d| d.updated_at >= d.created_at),
        "updatedAt before createdAt"
    );
    let mut ids: Vec<DeviceId> = list.iter().map(|d| d.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), list.len(), "list has duplicates");
    if let Some(order) = u.order() {
        let mut ordered = order.to_vec();
        ordered.sort();
        let mut active: Vec<DeviceId> = list
            .iter()
            .filter(|d| d.is_active())
            .map(|d| d.id)
            .collect();
        active.sort();
        assert_eq!(
            ordered, active,
            "the order is not exactly the ACTIVE devices"
        );
        assert_eq!(u.default_device().map(|d| d.id), order.first().copied());
        let head: Vec<DeviceId> = list.iter().take(order.len()).map(|d| d.id).collect();
        assert_eq!(head, order, "ordered devices are not listed first");
    } else {
        assert!(u.default_device().is_none());
        assert!(u.expand_order().is_empty());
    }
    assert!(
        list.windows(2)
            .skip(u.order().map_or(0, <[DeviceId]>::len))
            .all(|w| w.first().map(|a| (a.created_at, a.id))
                <= w.get(1).map(|b| (b.created_at, b.id)))
    );
}

/// Decodes `data` into a start state (a new user with `maxAllowedDevices` 1–15, or a legacy
/// unordered user) and up to 64 commands at increasing times; after every step checks that a
/// refused command left the state untouched, that the revision moved by the number of events,
/// that events round-trip through JSON and that the order/list invariants hold; at the end that
/// replaying the events onto the start state gives the final state and that the snapshot
/// round-trips.
pub fn order_commands(data: &[u8]) {
    let mut r = Bytes {
        data,
        pos: 0,
        oversized: false,
    };
    let env = EnvironmentId::from_bytes([0xE0; 16]);
    let user = UserId::from_bytes([0xA0; 16]);
    let Some(mut now) = DateTime::<Utc>::from_timestamp(1_735_689_600, 0) else {
        return;
    };
    let kind = r.next();
    let start = if kind & 0x80 == 0 {
        let Ok(settings) = DeviceSettings::new(u64::from(kind % 15 + 1)) else {
            return;
        };
        UserDevices::new(env, user).with_settings(settings)
    } else {
        let mask = r.next();
        let devices: Vec<Device> = (0..POOL)
            .map(|i| {
                let status = if mask & (1 << i) != 0 {
                    DeviceStatus::Active
                } else {
                    DeviceStatus::ActivationRequired
                };
                let created = now - TimeDelta::minutes(i64::from(i / 3));
                Device::new(device_id(i), env, user, DeviceType::Sms, status, created)
            })
            .collect();
        let legacy = UserDevices::legacy_unordered(env, user, devices);
        assert!(
            legacy.is_ok(),
            "legacy constructor refused a consistent snapshot"
        );
        let Ok(u) = legacy else {
            return;
        };
        u
    };
    check_invariants(&start);
    let mut u = start.clone();
    let mut log: Vec<Event> = Vec::new();
    let mut steps = 0;
    while !r.done() && steps < 64 {
        steps += 1;
        now = next_now(&mut r, now);
        let Some(cmd) = command(&mut r, &u) else {
            continue;
        };
        let before = u.clone();
        let deleting = matches!(cmd, Command::Delete { .. });
        match u.execute(cmd, now) {
            Ok(events) => {
                if deleting && !before.is_ordered() {
                    let active = u.list().iter().filter(|d| d.is_active()).count();
                    assert_eq!(
                        u.is_ordered(),
                        active <= 1,
                        "an unordered user left with at most one ACTIVE device is ordered again"
                    );
                }
                assert_eq!(
                    u.revision(),
                    before.revision() + events.len() as u64,
                    "revision must move by the number of events"
                );
                for e in &events {
                    let json = serde_json::to_string(e).unwrap_or_default();
                    let back: Result<Event, _> = serde_json::from_str(&json);
                    assert!(
                        back.as_ref().is_ok_and(|b| b == e),
                        "event JSON round trip: {json}"
                    );
                }
                log.extend(events);
            }
            Err(e) => {
                assert_eq!(u, before, "refused command changed the state: {e}");
                if matches!(
                    e,
                    mfa_devices::user_devices::UserDevicesError::TimeOutOfRange(_)
                ) {
                    assert!(!timestamp::is_representable(&now), "{now:?} refused");
                }
                let api = mfa_devices::error::ApiError::from(e);
                assert!(matches!(api.http_status(), 400 | 404 | 409 | 500));
                assert_bounded(&api);
            }
        }
        check_invariants(&u);
    }
    let mut replayed = start.clone();
    for e in &log {
        assert!(replayed.try_apply(e).is_ok(), "stored log replays");
    }
    assert_eq!(replayed, u, "replay of all events");
    let snapshot = serde_json::to_vec(&u).unwrap_or_default();
    let back = UserDevices::from_snapshot(&snapshot, u.settings());
    assert!(back.is_ok_and(|b| b == u), "snapshot round trip");
    // The stored text too (the strict reader, duplicate keys refused, times in range): the
    // same bytes, serialized once.
    let text = String::from_utf8(snapshot).expect("JSON is UTF-8");
    let back: Result<UserDevices, _> = serde_json::from_str(&text);
    assert!(
        back.is_ok_and(|b| b.with_settings(u.settings()) == u),
        "snapshot text round trip: {text}"
    );
}
