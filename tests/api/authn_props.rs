//! Property tests of the device authentication flow against a reference model written here,
//! separately from the crate: the usable-device rule, what `start` picks, that a selected device
//! is always usable, and that FAILED lists exactly the devices that exist but are locked or
//! blocked.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::authn::*;
use mfa_devices::device::*;
use mfa_devices::lock::FailureRule;
use mfa_devices::policy::resolved::*;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

/// One generated device, as plain facts.
#[derive(Debug, Clone)]
struct Spec {
    kind: usize,
    active: bool,
    lock: Option<i64>, // lock end, seconds from t0
    blocked: bool,
    app: u8, // MOBILE application: 0 none, 1..=2 app-n
    cross: Option<bool>,
}

const KINDS: [DeviceType; 11] = [
    DeviceType::Email,
    DeviceType::Sms,
    DeviceType::Voice,
    DeviceType::Whatsapp,
    DeviceType::Totp,
    DeviceType::OathToken,
    DeviceType::Mobile,
    DeviceType::Fido2,
    DeviceType::Platform,
    DeviceType::SecurityKey,
    DeviceType::Browser,
];

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..KINDS.len(),
        prop::bool::weighted(0.85),
        prop::option::weighted(0.3, -600i64..600),
        prop::bool::weighted(0.15),
        0u8..3,
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(kind, active, lock, blocked, app, cross)| Spec {
            kind,
            active,
            lock,
            blocked,
            app,
            cross,
        })
}

#[derive(Debug, Clone)]
struct PolicySpec {
    disabled: u8, // bit per method: email sms voice whatsapp totp fido2 mobile
    selection: u8,
    apps: [Option<(bool, bool)>; 2],
}

fn policy_spec() -> impl Strategy<Value = PolicySpec> {
    (
        prop::bits::u8::masked(0x7F).prop_map(|b| b & (b >> 1)), // mostly enabled
        0u8..3,
        prop::array::uniform2(prop::option::weighted(0.7, (any::<bool>(), any::<bool>()))),
    )
        .prop_map(|(disabled, selection, apps)| PolicySpec {
            disabled,
            selection,
            apps,
        })
}

fn env() -> EnvironmentId {
    EnvironmentId::from_bytes([0xE0; 16])
}

fn user() -> UserId {
    UserId::from_bytes([0x05; 16])
}

fn build(specs: &[Spec]) -> Vec<Device> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut d = Device::new(
                DeviceId::from_bytes([u8::try_from(i).unwrap() + 1; 16]),
                env(),
                user(),
                KINDS[s.kind].clone(),
                if s.active {
                    DeviceStatus::Active
                } else {
                    DeviceStatus::ActivationRequired
                },
                t0() - TimeDelta::days(1),
            );
            if let Some(secs) = s.lock {
                d.lock = Some(LockState::locked(
                    t0() + TimeDelta::seconds(secs),
                    LockReason::Otp,
                ));
            }
            if s.blocked {
                d.block = Some(BlockState::blocked(t0()));
            }
            match &mut d.details {
                DeviceDetails::Mobile(m) if s.app > 0 => {
                    m.application = Some(MobileApplication {
                        id: Some(format!("app-{}", s.app)),
                        ..Default::default()
                    });
                }
                DeviceDetails::Fido2(f) => {
                    f.attributes = Some(Fido2Attributes {
                        is_cross_platform: s.cross,
                        ..Default::default()
                    });
                }
                _ => {}
            }
            d
        })
        .collect()
}

fn build_policy(p: &PolicySpec) -> FlowPolicy {
    let on = |bit: u8| p.disabled & (1 << bit) == 0;
    let mut f = FlowPolicy::all_enabled();
    f.email.enabled = on(0);
    f.sms.enabled = on(1);
    f.voice.enabled = on(2);
    f.whatsapp.enabled = on(3);
    f.totp.enabled = on(4);
    f.fido2.enabled = on(5);
    f.mobile.enabled = on(6);
    f.selection = [
        SelectionMode::DefaultToFirst,
        SelectionMode::PromptToSelect,
        SelectionMode::AlwaysDisplayDevices,
    ][usize::from(p.selection)];
    for (i, app) in p.apps.iter().enumerate() {
        if let Some((push, otp)) = app {
            f.mobile.applications.push(MobileApp {
                push: *push,
                otp: *otp,
                ..MobileApp::new(format!("app-{}", i + 1))
            });
        }
    }
    f
}

/// The reference: `Some(true)` usable, `Some(false)` kept out only by a lock or a block,
/// `None` unusable for a lasting reason.
fn model(s: &Spec, p: &PolicySpec, compat: Option<&Compatibility>, at: i64) -> Option<bool> {
    if !s.active {
        return None;
    }
    let on = |bit: u8| p.disabled & (1 << bit) == 0;
    let method = match s.kind {
        0..=3 => on(u8::try_from(s.kind).unwrap()),
        4 | 5 => on(4),
        6 => {
            on(6)
                && s.app > 0
                && p.apps[usize::from(s.app - 1)].is_some_and(|(push, otp)| push || otp)
        }
        7..=9 => on(5),
        _ => false,
    };
    if !method {
        return None;
    }
    let platform_bound = match s.kind {
        7 => s.cross == Some(false),
        8 => true,
        _ => false,
    };
    if (7..=9).contains(&s.kind) {
        match compat {
            Some(Compatibility::None) => return None,
            Some(Compatibility::SecurityKeyOnly) if platform_bound => return None,
            _ => {}
        }
    }
    let locked = s.lock.is_some_and(|end| at < end);
    Some(!locked && !s.blocked)
}

fn compat() -> impl Strategy<Value = Option<Compatibility>> {
    prop::option::of(prop_oneof![
        Just(Compatibility::Full),
        Just(Compatibility::SecurityKeyOnly),
        Just(Compatibility::None),
    ])
}

fn ids_where(specs: &[Spec], f: impl Fn(&Spec) -> bool) -> Vec<DeviceId> {
    specs
        .iter()
        .enumerate()
        .filter(|(_, s)| f(s))
        .map(|(i, _)| DeviceId::from_bytes([u8::try_from(i).unwrap() + 1; 16]))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn usability_matches_the_reference(
        specs in prop::collection::vec(spec(), 1..8),
        p in policy_spec(),
        c in compat(),
        at in -700i64..700,
    ) {
        let devices = build(&specs);
        let policy = build_policy(&p);
        let now = t0() + TimeDelta::seconds(at);
        for (s, d) in specs.iter().zip(&devices) {
            let got = usability(d, &policy, c.as_ref(), now);
            match model(s, &p, c.as_ref(), at) {
                Some(true) => prop_assert_eq!(got, Ok(())),
                Some(false) => prop_assert!(got.is_err_and(|r| r.is_temporary()), "{:?}", s),
                None => prop_assert!(got.is_err_and(|r| !r.is_temporary()), "{:?}", s),
            }
        }
    }

    #[test]
    fn start_picks_per_the_policy_and_fails_listing_exactly_the_unavailable(
        specs in prop::collection::vec(spec(), 0..8),
        p in policy_spec(),
        ordered in any::<bool>(),
        rotate in 0usize..8,
        at in -700i64..700,
    ) {
        let devices = build(&specs);
        let mut snapshot = DeviceSnapshot::new(env(), user());
        if ordered {
            let mut order: Vec<DeviceId> = devices.iter().filter(|d| d.is_active()).map(|d| d.id).collect();
            if !order.is_empty() {
                let k = rotate % order.len();
                order.rotate_left(k);
            }
            snapshot.order = order;
        }
        snapshot.devices = devices;
        let order = snapshot.order.clone();
        let now = t0() + TimeDelta::seconds(at);
        let flow = DeviceAuthentication::start_with(snapshot, build_policy(&p), uuid::Uuid::nil(), now).unwrap();
        let usable = ids_where(&specs, |s| model(s, &p, None, at) == Some(true));
        let unavailable = ids_where(&specs, |s| model(s, &p, None, at) == Some(false));
        let status = flow.status();
        if usable.is_empty() {
            prop_assert_eq!(status, AuthenticationStatus::Failed);
            let error = flow.error().cloned().unwrap();
            prop_assert_eq!(error.code, FailureCode::NoUsableDevices);
            let listed: Vec<DeviceId> = error.unavailable_devices.iter().map(|r| r.id).collect();
            prop_assert_eq!(listed, unavailable);
            return Ok(());
        }
        let expected = if order.is_empty() {
            None
        } else {
            match p.selection {
                0 => order.iter().find(|id| usable.contains(id)).copied(),
                1 if usable.len() == 1 => Some(usable[0]),
                _ => None,
            }
        };
        match expected {
            None => {
                prop_assert_eq!(status, AuthenticationStatus::DeviceSelectionRequired);
                let listed: Vec<DeviceId> = flow.embedded().unwrap().devices.iter().map(|d| d.id).collect();
                prop_assert_eq!(listed, usable);
            }
            Some(id) => {
                prop_assert_eq!(flow.selected_device(), Some(id));
                prop_assert!(matches!(status,
                    AuthenticationStatus::OtpRequired
                    | AuthenticationStatus::PushConfirmationRequired
                    | AuthenticationStatus::AssertionRequired));
            }
        }
    }

    #[test]
    fn the_selected_device_is_always_usable_and_failed_lists_exactly_the_unavailable(
        specs in prop::collection::vec(spec(), 1..7),
        p in policy_spec(),
        steps in prop::collection::vec((0usize..9, compat(), 0i64..90, 0u8..4), 1..24),
    ) {
        let devices = build(&specs);
        let mut snapshot = DeviceSnapshot::new(env(), user());
        snapshot.devices = devices;
        let mut policy = build_policy(&p);
        policy.selection = SelectionMode::AlwaysDisplayDevices;
        for m in [&mut policy.email, &mut policy.sms, &mut policy.voice, &mut policy.whatsapp] {
            m.failure = FailureRule::new(2, TimeDelta::minutes(3)).unwrap();
        }
        policy.totp.failure = FailureRule::new(1, TimeDelta::minutes(3)).unwrap();
        policy.fido2.failure = FailureRule::new(1, TimeDelta::minutes(3)).unwrap();
        policy.mobile.failure = FailureRule::new(1, TimeDelta::minutes(3)).unwrap();
        let mut at = -700i64;
        let mut flow = DeviceAuthentication::start_with(snapshot, policy, uuid::Uuid::nil(), t0() + TimeDelta::seconds(at)).unwrap();
        // The flow's own lock mirror: devices it locked, as lock ends.
        let mut specs = specs;
        for (pick, c, dt, action) in steps {
            at += dt;
            let now = t0() + TimeDelta::seconds(at);
            let before = flow.clone();
            match action {
                0 | 1 => {
                    let id = DeviceId::from_bytes([u8::try_from(pick).unwrap() + 1; 16]);
                    let req = SelectDevice { device: DeviceRef { id }, compatibility: c.clone() };
                    match flow.select(req, now) {
                        Ok(()) => {
                            let s = specs.get(pick).expect("selected a known device");
                            let effective = c.clone().or(before.compatibility().cloned());
                            prop_assert_eq!(model(s, &p, effective.as_ref(), at), Some(true));
                        }
                        Err(_) => prop_assert_eq!(&flow, &before),
                    }
                }
                2 => {
                    if flow.otp_source() == Some(OtpSource::Sent) {
                        flow.issue_otp(&mut crate::replay(&[3; 20]), now).unwrap();
                        let _ = flow.check_otp("wrong", now).unwrap();
                    }
                }
                _ => {
                    let _ = flow.check_authenticator_otp_with("x", |_| false, now);
                    let request = CheckAssertion { origin: "o".into(), assertion: "a".into(), compatibility: None };
                    let _ = flow.check_assertion(&request, false, now);
                    let _ = flow.push_denied(now);
                }
            }
            // Mirror locks the flow applied (its snapshot is the aggregate's view).
            for (s, d) in specs.iter_mut().zip(flow.devices()) {
                if let Some(l) = &d.lock {
                    s.lock = l.expires_at.map(|e| (e - t0()).num_seconds());
                }
            }
            let c = flow.compatibility().cloned();
            let usable = ids_where(&specs, |s| model(s, &p, c.as_ref(), at) == Some(true));
            match flow.status() {
                AuthenticationStatus::OtpRequired
                | AuthenticationStatus::PushConfirmationRequired
                | AuthenticationStatus::AssertionRequired => {
                    prop_assert!(usable.contains(&flow.selected_device().unwrap()));
                }
                AuthenticationStatus::Failed if flow != before => {
                    let error = flow.error().cloned().unwrap();
                    if error.code == FailureCode::NoUsableDevices {
                        prop_assert!(usable.is_empty());
                        let unavailable = ids_where(&specs, |s| model(s, &p, c.as_ref(), at) == Some(false));
                        let listed: Vec<DeviceId> = error.unavailable_devices.iter().map(|r| r.id).collect();
                        prop_assert_eq!(listed, unavailable);
                    }
                }
                _ => {}
            }
        }
    }
}

/// One step of a flow, for the stored-form property.
fn act(
    flow: &mut DeviceAuthentication,
    (pick, c, dt, action, byte): (usize, Option<Compatibility>, i64, u8, u8),
    at: i64,
) -> String {
    let now = t0() + TimeDelta::seconds(at) + TimeDelta::microseconds(dt * 7_919);
    let id = DeviceId::from_bytes([u8::try_from(pick).unwrap() + 1; 16]);
    let request = CheckAssertion {
        origin: "o".into(),
        assertion: "a".into(),
        compatibility: None,
    };
    match action {
        0 | 1 => format!(
            "{:?}",
            flow.select(
                SelectDevice {
                    device: DeviceRef { id },
                    compatibility: c
                },
                now
            )
        ),
        2 => match flow.issue_otp(&mut crate::replay(&[byte; 20]), now) {
            Ok(sent) => {
                let guess = if byte % 2 == 0 {
                    sent.code.clone()
                } else {
                    "0".into()
                };
                format!("{sent:?} {:?}", flow.check_otp(&guess, now))
            }
            Err(e) => format!("{e:?}"),
        },
        3 => format!("{:?}", flow.check_otp(&format!("{byte:06}"), now)),
        4 => format!(
            "{:?}",
            flow.check_authenticator_otp_with("x", |_| byte % 3 == 0, now)
        ),
        5 => format!("{:?}", flow.check_assertion(&request, byte % 3 == 0, now)),
        6 => format!("{:?} {:?}", flow.push_approved(now), flow.expire(now)),
        7 => format!("{:?}", flow.push_denied(now)),
        8 => format!("{:?}", flow.cancel_push(CancelPush::default(), now)),
        _ => {
            // The aggregate changed meanwhile: a device locked or blocked (the aggregate writes
            // its times in milliseconds).
            let now = mfa_devices::device::timestamp::truncate_millis(now);
            let mut s = DeviceSnapshot::new(env(), user());
            s.devices = flow.devices().to_vec();
            s.otp_failures = flow.otp_failures().clone();
            let n = s.devices.len().max(1);
            if let Some(d) = s.devices.get_mut(pick % n) {
                if byte % 2 == 0 {
                    d.block = Some(BlockState::blocked(now));
                } else {
                    d.lock = Some(LockState::locked(
                        now + TimeDelta::minutes(1),
                        LockReason::Push,
                    ));
                }
            }
            format!("{:?}", flow.sync(&s, now))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Issue 10 §4: `from_stored(to_stored(flow))` — through JSON text, as a server stores it —
    /// continues every step exactly like the original: the same answers, records and state.
    #[test]
    fn a_stored_flow_continues_exactly_like_the_original(
        specs in prop::collection::vec(spec(), 1..6),
        p in policy_spec(),
        steps in prop::collection::vec(
            (0usize..7, compat(), 0i64..90, 0u8..10, any::<u8>()), 1..20),
    ) {
        let mut snapshot = DeviceSnapshot::new(env(), user());
        snapshot.order = build(&specs).iter().map(|d| d.id).collect();
        snapshot.devices = build(&specs);
        let mut policy = build_policy(&p);
        policy.mobile.applications.iter_mut().for_each(|a| a.push_timeout = TimeDelta::milliseconds(40_500));
        let start = t0() + TimeDelta::nanoseconds(123_456_789);
        let mut original = DeviceAuthentication::start_with(snapshot, policy, uuid::Uuid::from_bytes([7; 16]), start).unwrap();
        let mut at = 0i64;
        for step in steps {
            at += step.2;
            let text = serde_json::to_string(&original.to_stored()).unwrap();
            let mut reloaded = DeviceAuthentication::from_stored(serde_json::from_str(&text).unwrap()).unwrap();
            prop_assert_eq!(&reloaded, &original);
            // Each request syncs the loaded flow with the aggregate first (here: unchanged).
            let now = t0() + TimeDelta::seconds(at);
            let mut aggregate = DeviceSnapshot::new(env(), user());
            aggregate.devices = original.devices().to_vec();
            aggregate.otp_failures = original.otp_failures().clone();
            prop_assert_eq!(original.sync(&aggregate, now), reloaded.sync(&aggregate, now));
            prop_assert_eq!(&reloaded, &original);
            let expected = act(&mut original, step.clone(), at);
            let got = act(&mut reloaded, step, at);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(&reloaded, &original);
        }
    }
}
