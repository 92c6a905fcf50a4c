//! Model-based property test of the user device aggregate: random command sequences run against
//! `UserDevices` and against a small reference model written separately here (vectors and plain
//! integers, no shared code). After every step the accepted/refused verdict, the list, the order,
//! the default device, the lock/block states and the counters must agree; a refused command must
//! leave the aggregate untouched; and replaying every event onto the start state must give the
//! final state.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::device::*;
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::user_devices::*;
use proptest::prelude::*;

const POOL: u8 = 6;

fn env() -> EnvironmentId {
    EnvironmentId::from_bytes([0xEE; 16])
}
fn usr() -> UserId {
    UserId::from_bytes([0xAA; 16])
}
fn did(n: u8) -> DeviceId {
    DeviceId::from_bytes([n + 1; 16])
}
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 8, 0, 0).unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Create(u8, bool),
    Activate(u8),
    Delete(u8),
    Nick(u8, u8),
    Reorder(Vec<u8>),
    ReorderActive(usize, bool),
    RemoveOrder,
    OtpFail(u8, u32, i64),
    OtpOk(u8),
    Push(u8, u32, i64, i64),
    Unlock(u8),
    Block(u8),
    Unblock(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0..POOL;
    prop_oneof![
        3 => (n.clone(), any::<bool>()).prop_map(|(n, a)| Op::Create(n, a)),
        2 => n.clone().prop_map(Op::Activate),
        2 => n.clone().prop_map(Op::Delete),
        1 => (n.clone(), 0..3u8).prop_map(|(n, k)| Op::Nick(n, k)),
        1 => proptest::collection::vec(0..POOL + 1, 0..5).prop_map(Op::Reorder),
        2 => (0..6usize, any::<bool>()).prop_map(|(r, rev)| Op::ReorderActive(r, rev)),
        1 => Just(Op::RemoveOrder),
        3 => (n.clone(), 1..4u32, 0..3i64).prop_map(|(n, c, m)| Op::OtpFail(n, c, m)),
        1 => n.clone().prop_map(Op::OtpOk),
        2 => (n.clone(), 1..4u32, 1..10i64, 1..5i64).prop_map(|(n, l, p, d)| Op::Push(n, l, p, d)),
        1 => n.clone().prop_map(Op::Unlock),
        1 => n.clone().prop_map(Op::Block),
        1 => n.prop_map(Op::Unblock),
    ]
}

// ------------------------------------------------------------------ the reference model

#[derive(Debug, Clone)]
struct MDev {
    n: u8,
    created: DateTime<Utc>,
    active: bool,
    blocked: bool,
    /// Stored lock: (until, reason is OTP).
    lock: Option<(DateTime<Utc>, bool)>,
    otp: u32,
    pushes: Vec<DateTime<Utc>>,
    nickname: Option<String>,
}

#[derive(Debug, Clone)]
struct Model {
    devs: Vec<MDev>,
    order: Option<Vec<u8>>,
    max: usize,
    revision: u64,
}

impl Model {
    fn find(&self, n: u8) -> Option<usize> {
        self.devs.iter().position(|d| d.n == n)
    }
    fn actives(&self) -> Vec<u8> {
        let mut a: Vec<&MDev> = self.devs.iter().filter(|d| d.active).collect();
        a.sort_by_key(|d| (d.created, did(d.n)));
        a.iter().map(|d| d.n).collect()
    }
    fn list(&self) -> Vec<u8> {
        let listed = self.order.clone().unwrap_or_default();
        let mut rest: Vec<&MDev> = self
            .devs
            .iter()
            .filter(|d| !listed.contains(&d.n))
            .collect();
        rest.sort_by_key(|d| (d.created, did(d.n)));
        listed.into_iter().chain(rest.iter().map(|d| d.n)).collect()
    }
    fn in_force(d: &MDev, now: DateTime<Utc>) -> bool {
        d.lock.is_some_and(|(until, _)| now < until)
    }
    fn usable(&self, n: u8, now: DateTime<Utc>) -> Option<usize> {
        let i = self.find(n)?;
        let d = &self.devs[i];
        (!d.blocked && !Self::in_force(d, now)).then_some(i)
    }
    fn counted(&self) -> usize {
        self.devs.iter().filter(|d| d.active || d.blocked).count()
    }

    /// `Some(number of events)` when accepted, `None` when refused.
    fn step(&mut self, op: &Op, now: DateTime<Utc>) -> Option<u64> {
        let events = match op {
            Op::Create(n, active) => {
                if self.find(*n).is_some() || self.counted() >= self.max {
                    return None;
                }
                self.devs.push(MDev {
                    n: *n,
                    created: now,
                    active: *active,
                    blocked: false,
                    lock: None,
                    otp: 0,
                    pushes: vec![],
                    nickname: None,
                });
                if *active {
                    if let Some(o) = &mut self.order {
                        o.push(*n);
                    }
                }
                1
            }
            Op::Activate(n) => {
                let i = self.usable(*n, now)?;
                if self.devs[i].active || self.counted() >= self.max {
                    return None;
                }
                self.devs[i].active = true;
                if let Some(o) = &mut self.order {
                    o.push(*n);
                }
                1
            }
            Op::Delete(n) => {
                let i = self.find(*n)?;
                self.devs.remove(i);
                match &mut self.order {
                    Some(o) => o.retain(|x| x != n),
                    None => {
                        let a = self.actives();
                        if a.len() <= 1 {
                            self.order = Some(a);
                        }
                    }
                }
                1
            }
            Op::Nick(n, k) => {
                let i = self.find(*n)?;
                let text = match k {
                    0 => String::new(),
                    1 => "Phone".to_string(),
                    _ => "n".repeat(101),
                };
                if text.chars().count() > 100 {
                    return None;
                }
                let after = (!text.is_empty()).then_some(text);
                if self.devs[i].nickname == after {
                    0
                } else {
                    self.devs[i].nickname = after;
                    1
                }
            }
            Op::Reorder(_) | Op::ReorderActive(..) => {
                let list = self.reorder_list(op);
                let actives = self.actives();
                let mut seen = Vec::new();
                for n in &list {
                    if !actives.contains(n) || seen.contains(n) {
                        return None;
                    }
                    seen.push(*n);
                }
                if list.is_empty() || seen.len() != actives.len() {
                    return None;
                }
                if self.order.as_ref() == Some(&list) {
                    0
                } else {
                    self.order = Some(list);
                    1
                }
            }
            Op::RemoveOrder => {
                if self.order.take().is_some() {
                    1
                } else {
                    0
                }
            }
            Op::OtpFail(n, count, cool) => {
                let i = self.usable(*n, now)?;
                let d = &mut self.devs[i];
                let stale = d.lock.is_some();
                let failures = if stale { 0 } else { d.otp } + 1;
                if stale {
                    d.lock = None;
                }
                if failures >= *count {
                    d.otp = 0;
                    if *cool > 0 {
                        d.lock = Some((now + TimeDelta::minutes(*cool), true));
                        d.pushes.clear();
                    }
                } else {
                    d.otp = failures;
                }
                1
            }
            Op::OtpOk(n) => {
                let i = self.usable(*n, now)?;
                if self.devs[i].otp == 0 {
                    0
                } else {
                    self.devs[i].otp = 0;
                    1
                }
            }
            Op::Push(n, limit, period, dur) => {
                let i = self.usable(*n, now)?;
                let d = &mut self.devs[i];
                if !d.active {
                    return None;
                }
                if d.lock.take().is_some() {
                    d.pushes.clear();
                }
                d.pushes.retain(|t| now - *t < TimeDelta::minutes(*period));
                d.pushes.push(now);
                if d.pushes.len() as u32 >= *limit {
                    d.pushes.clear();
                    d.otp = 0;
                    d.lock = Some((now + TimeDelta::minutes(*dur), false));
                }
                1
            }
            Op::Unlock(n) => {
                let i = self.find(*n)?;
                let d = &mut self.devs[i];
                if d.lock.is_none() && d.otp == 0 && d.pushes.is_empty() {
                    0
                } else {
                    d.lock = None;
                    d.otp = 0;
                    d.pushes.clear();
                    1
                }
            }
            Op::Block(n) | Op::Unblock(n) => {
                let i = self.find(*n)?;
                let want = matches!(op, Op::Block(_));
                if self.devs[i].blocked == want {
                    0
                } else {
                    self.devs[i].blocked = want;
                    1
                }
            }
        };
        self.revision += events;
        Some(events)
    }

    fn reorder_list(&self, op: &Op) -> Vec<u8> {
        match op {
            Op::Reorder(list) => list.clone(),
            Op::ReorderActive(rot, rev) => {
                let mut a = self.actives();
                if !a.is_empty() {
                    let r = rot % a.len();
                    a.rotate_left(r);
                }
                if *rev {
                    a.reverse();
                }
                a
            }
            _ => vec![],
        }
    }

    fn command(&self, op: &Op) -> Command {
        let id = |n: &u8| did(*n);
        match op {
            Op::Create(n, active) => Command::Create {
                id: id(n),
                device: NewDevice {
                    status: Some(if *active {
                        DeviceStatus::Active
                    } else {
                        DeviceStatus::ActivationRequired
                    }),
                    ..NewDevice::new(DeviceType::Totp)
                },
                secrets: Default::default(),
            },
            Op::Activate(n) => Command::Activate {
                id: id(n),
                otp: None,
            },
            Op::Delete(n) => Command::Delete { id: id(n) },
            Op::Nick(n, k) => Command::SetNickname {
                id: id(n),
                nickname: match k {
                    0 => String::new(),
                    1 => "Phone".to_string(),
                    _ => "n".repeat(101),
                },
            },
            Op::Reorder(_) | Op::ReorderActive(..) => Command::Reorder {
                order: self.reorder_list(op).iter().map(id).collect(),
            },
            Op::RemoveOrder => Command::RemoveOrder,
            Op::OtpFail(n, count, cool) => Command::RecordOtpFailure {
                id: id(n),
                rule: FailureRule::new(*count, TimeDelta::minutes(*cool)).unwrap(),
            },
            Op::OtpOk(n) => Command::RecordOtpSuccess { id: id(n) },
            Op::Push(n, limit, period, dur) => Command::RecordPushRejected {
                id: id(n),
                rule: PushLimitRule::new(
                    *limit,
                    TimeDelta::minutes(*period),
                    TimeDelta::minutes(*dur),
                )
                .unwrap(),
            },
            Op::Unlock(n) => Command::Unlock { id: id(n) },
            Op::Block(n) => Command::Block { id: id(n) },
            Op::Unblock(n) => Command::Unblock { id: id(n) },
        }
    }
}

fn agrees(u: &UserDevices, m: &Model, now: DateTime<Utc>) -> Result<(), TestCaseError> {
    let list: Vec<DeviceId> = u.list().iter().map(|d| d.id).collect();
    let want: Vec<DeviceId> = m.list().iter().map(|n| did(*n)).collect();
    prop_assert_eq!(&list, &want, "list");
    // A read path over plain rows (any row order) sorts them the same way.
    let mut rows: Vec<Device> = u.list().into_iter().rev().cloned().collect();
    sort_for_list(&mut rows, u.order());
    prop_assert_eq!(
        rows.iter().map(|d| d.id).collect::<Vec<_>>(),
        want,
        "sort_for_list"
    );
    let order = m
        .order
        .as_ref()
        .map(|o| o.iter().map(|n| did(*n)).collect::<Vec<_>>());
    prop_assert_eq!(u.order().map(<[DeviceId]>::to_vec), order.clone(), "order");
    prop_assert_eq!(u.expand_order(), order.clone().unwrap_or_default());
    prop_assert_eq!(
        u.default_device().map(|d| d.id),
        order.and_then(|o| o.first().copied()),
        "default"
    );
    prop_assert_eq!(u.revision(), m.revision, "revision");
    for md in &m.devs {
        let d = u.device(&did(md.n)).expect("device in both");
        prop_assert_eq!(d.is_active(), md.active, "status of {}", md.n);
        prop_assert_eq!(d.is_blocked(), md.blocked, "block of {}", md.n);
        prop_assert_eq!(
            d.is_locked(now),
            Model::in_force(md, now),
            "lock of {}",
            md.n
        );
        let lock = d.lock.clone().unwrap();
        match md.lock {
            Some((until, otp)) => {
                let reason = if otp {
                    LockReason::Otp
                } else {
                    LockReason::Push
                };
                prop_assert_eq!(
                    lock,
                    LockState::locked(until, reason),
                    "stored lock of {}",
                    md.n
                );
            }
            None => prop_assert_eq!(lock, LockState::unlocked(), "stored lock of {}", md.n),
        }
        let c = u.counters(&did(md.n));
        prop_assert_eq!(c.otp_failures, md.otp, "otp counter of {}", md.n);
        prop_assert_eq!(&c.push_rejections, &md.pushes, "push window of {}", md.n);
        prop_assert_eq!(&d.nickname, &md.nickname);
    }
    Ok(())
}

fn start() -> impl Strategy<Value = (UserDevices, Model)> {
    let new_user = (1..=15u64).prop_map(|max| {
        let u = UserDevices::new(env(), usr()).with_settings(DeviceSettings::new(max).unwrap());
        let m = Model {
            devs: vec![],
            order: Some(vec![]),
            max: max as usize,
            revision: 0,
        };
        (u, m)
    });
    let legacy = proptest::collection::vec(any::<bool>(), POOL as usize).prop_map(|actives| {
        let mut devices = Vec::new();
        let mut devs = Vec::new();
        for (n, active) in actives.iter().enumerate() {
            let n = n as u8;
            // Created in reverse id order, some at the same instant: the tie-break by id matters.
            let created = t0() - TimeDelta::minutes(i64::from((POOL - n) / 2));
            let status = if *active {
                DeviceStatus::Active
            } else {
                DeviceStatus::ActivationRequired
            };
            devices.push(Device::new(
                did(n),
                env(),
                usr(),
                DeviceType::Sms,
                status,
                created,
            ));
            devs.push(MDev {
                n,
                created,
                active: *active,
                blocked: false,
                lock: None,
                otp: 0,
                pushes: vec![],
                nickname: None,
            });
        }
        let u = UserDevices::legacy_unordered(env(), usr(), devices)
            .unwrap()
            .with_settings(DeviceSettings::new(15).unwrap());
        let mut m = Model {
            devs,
            order: None,
            max: 15,
            revision: 0,
        };
        let a = m.actives();
        if a.len() <= 1 {
            m.order = Some(a);
        }
        (u, m)
    });
    prop_oneof![new_user, legacy]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn aggregate_agrees_with_the_model(
        (start_state, mut model) in start(),
        steps in proptest::collection::vec((op(), 0..200_000i64), 1..40),
    ) {
        let mut u = start_state.clone();
        let mut now = t0();
        let mut log = Vec::new();
        for (op, dt_ms) in &steps {
            now += TimeDelta::milliseconds(*dt_ms);
            let command = model.command(op);
            // Commands survive a queue: JSON and back is the same command.
            let json = serde_json::to_string(&command).unwrap();
            prop_assert_eq!(&serde_json::from_str::<Command>(&json).unwrap(), &command, "{}", json);
            let before = u.clone();
            let expected = model.step(op, now);
            match (u.execute(command, now), expected) {
                (Ok(events), Some(n)) => {
                    prop_assert_eq!(events.len() as u64, n, "event count for {:?}", op);
                    for e in &events {
                        let json = serde_json::to_string(e).unwrap();
                        let back: Event = serde_json::from_str(&json).unwrap();
                        prop_assert_eq!(&back, e);
                    }
                    log.extend(events);
                }
                (Err(_), None) => prop_assert_eq!(&u, &before, "refused {:?} changed state", op),
                (got, want) => prop_assert!(false, "{:?}: aggregate {:?}, model accepts: {:?}", op, got, want),
            }
            agrees(&u, &model, now)?;
        }
        let mut replayed = start_state.clone();
        for e in &log {
            replayed.try_apply(e).unwrap();
        }
        prop_assert_eq!(&replayed, &u, "replay of all events");
        let snapshot = UserDevices::from_snapshot(&serde_json::to_vec(&u).unwrap(), u.settings()).unwrap();
        prop_assert_eq!(&snapshot, &u, "snapshot round trip");
        if start_state.revision() == 0 && start_state.list().is_empty() {
            let fresh = UserDevices::replay(env(), usr(), &log).unwrap().with_settings(u.settings());
            prop_assert_eq!(&fresh, &u, "replay from a new user");
        }
    }
}

fn any_command() -> impl Strategy<Value = Command> {
    let id = any::<[u8; 16]>().prop_map(DeviceId::from_bytes);
    let text = proptest::option::of("\\PC{0,12}");
    let new_device = (
        prop_oneof![
            Just(DeviceType::Sms),
            Just(DeviceType::Email),
            Just(DeviceType::Totp),
            Just(DeviceType::Voice)
        ],
        proptest::option::of(prop_oneof![
            Just(DeviceStatus::Active),
            Just(DeviceStatus::ActivationRequired)
        ]),
        text.clone(),
        text.clone(),
        text,
        proptest::option::of(any::<bool>()),
        proptest::option::of(("[a-z]{1,8}", any::<i32>())),
    )
        .prop_map(|(t, status, nickname, email, phone, test_mode, extra)| {
            let mut d = NewDevice::new(t);
            d.status = status;
            d.nickname = nickname;
            d.email = email;
            d.phone = phone;
            d.test_mode = test_mode;
            if let Some((k, v)) = extra {
                d.extra.insert(format!("x{k}"), v.into());
            }
            d
        });
    prop_oneof![
        (id.clone(), new_device).prop_map(|(id, device)| Command::Create {
            id,
            device,
            secrets: Default::default()
        }),
        id.clone()
            .prop_map(|id| Command::Activate { id, otp: None }),
        id.clone().prop_map(|id| Command::Delete { id }),
        (id.clone(), "\\PC{0,20}").prop_map(|(id, nickname)| Command::SetNickname { id, nickname }),
        proptest::collection::vec(id.clone(), 0..4).prop_map(|order| Command::Reorder { order }),
        Just(Command::RemoveOrder),
        (id.clone(), 1..100u32, 0..10_000_000i64).prop_filter_map("valid rule", |(id, n, c)| {
            mfa_devices::lock::FailureRule::new(n, TimeDelta::milliseconds(c))
                .ok()
                .map(|rule| Command::RecordOtpFailure { id, rule })
        }),
        id.clone().prop_map(|id| Command::RecordOtpSuccess { id }),
        (id.clone(), 1..100u32, 1..10_000_000i64, 1..10_000_000i64).prop_filter_map(
            "valid rule",
            |(id, n, p, l)| {
                mfa_devices::lock::PushLimitRule::new(
                    n,
                    TimeDelta::milliseconds(p),
                    TimeDelta::milliseconds(l),
                )
                .ok()
                .map(|rule| Command::RecordPushRejected { id, rule })
            }
        ),
        id.clone().prop_map(|id| Command::Unlock { id }),
        id.clone().prop_map(|id| Command::Block { id }),
        (
            id.clone(),
            proptest::collection::vec(any::<u8>(), 1..40),
            any::<u32>(),
            proptest::collection::vec("[a-z]{1,8}", 0..3),
        )
            .prop_map(|(id, credential_id, sign_count, transports)| {
                let mut credential =
                    WebAuthnCredential::new(credential_id, vec![4; 65], "example.com");
                credential.sign_count = sign_count;
                credential.transports = transports;
                Command::ActivateFido2 { id, credential }
            }),
        (id.clone(), any::<u32>())
            .prop_map(|(id, sign_count)| Command::RecordAssertionSuccess { id, sign_count }),
        id.prop_map(|id| Command::Unblock { id }),
    ]
}

proptest! {
    #[test]
    fn commands_round_trip_through_json(command in any_command()) {
        let json = serde_json::to_string(&command).unwrap();
        prop_assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command, "{}", json);
    }
}
