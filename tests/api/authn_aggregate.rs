//! The flow on top of the device aggregate: `start` from `UserDevices` and the policy resource,
//! and the round trip of the records it hands back (`to_command` executed on the aggregate),
//! with the flow's lock mirror checked against the aggregate's.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::*;
use mfa_devices::device::*;
use mfa_devices::policy::DeviceAuthenticationPolicy;
use mfa_devices::user_devices::{Command, UserDevices};
use proptest::prelude::*;
use serde_json::json;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

fn policy(extra: serde_json::Value) -> DeviceAuthenticationPolicy {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/policy/read_one.json")).unwrap();
    for (k, val) in extra.as_object().unwrap() {
        *v.pointer_mut(k).unwrap() = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

fn id(n: u8) -> DeviceId {
    DeviceId::from_bytes([n; 16])
}

fn user_with(types: &[DeviceType]) -> UserDevices {
    let mut u = UserDevices::new(
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    );
    for (i, t) in types.iter().enumerate() {
        let mut body = NewDevice::new(t.clone());
        body.status = Some(DeviceStatus::Active);
        match t {
            DeviceType::Email => body.email = Some("john@pingidentity.com".into()),
            DeviceType::Sms => body.phone = Some("+15125551200".into()),
            _ => {}
        }
        let n = u8::try_from(i).unwrap() + 1;
        u.execute(
            Command::Create {
                id: id(n),
                device: body,
            },
            t0() + TimeDelta::seconds(i64::from(n)),
        )
        .unwrap();
    }
    u
}

/// Executes the records on the aggregate, as a server does.
fn record(u: &mut UserDevices, records: &[DeviceRecord], now: DateTime<Utc>) {
    for r in records {
        u.execute(r.to_command(), r.at().unwrap_or(now)).unwrap();
    }
}

fn assert_mirror(flow: &DeviceAuthentication, u: &UserDevices, now: DateTime<Utc>) {
    for d in flow.devices() {
        let agg = u.device_at(&d.id, now).unwrap();
        assert_eq!(d.is_locked(now), agg.is_locked(now), "lock of {}", d.id);
    }
}

#[test]
fn start_reads_the_aggregate_and_the_policy() {
    let u = user_with(&[DeviceType::Email, DeviceType::Sms]);
    let flow =
        DeviceAuthentication::start(&u, &policy(json!({})), uuid::Uuid::nil(), t0()).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    assert_eq!(flow.selected_device(), Some(id(1)), "the default device");
    let prompt = policy(json!({"/authentication/deviceSelection": "PROMPT_TO_SELECT"}));
    let flow = DeviceAuthentication::start(&u, &prompt, uuid::Uuid::nil(), t0()).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    let v = flow.to_json(&ApiBase::new("https://auth.pingone.com"));
    assert_eq!(
        v["_embedded"]["devices"][0]["email"],
        "j****@pingidentity.com"
    );
    assert_eq!(v["_embedded"]["devices"][1]["phone"], "+1*******00");
    // A reorder makes the SMS device the default.
    let mut u = u;
    u.execute(
        Command::Reorder {
            order: vec![id(2), id(1)],
        },
        t0(),
    )
    .unwrap();
    let flow =
        DeviceAuthentication::start(&u, &policy(json!({})), uuid::Uuid::nil(), t0()).unwrap();
    assert_eq!(flow.selected_device(), Some(id(2)));
    // Without an order there is no default.
    u.execute(Command::RemoveOrder, t0()).unwrap();
    let flow =
        DeviceAuthentication::start(&u, &policy(json!({})), uuid::Uuid::nil(), t0()).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
}

#[test]
fn otp_failures_lock_the_device_in_the_aggregate_as_in_the_flow() {
    let mut u = user_with(&[DeviceType::Email, DeviceType::Sms]);
    let p = policy(json!({"/email/otp/failure/coolDown/duration": 5}));
    let mut flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), t0()).unwrap();
    flow.issue_otp(&[1; 16], t0()).unwrap();
    for i in 0..3 {
        let now = t0() + TimeDelta::seconds(i);
        let o = flow.check_otp("00000000", now).unwrap();
        record(&mut u, &o.records, now);
        assert_mirror(&flow, &u, now);
    }
    let now = t0() + TimeDelta::seconds(2);
    assert!(u.device_at(&id(1), now).unwrap().is_locked(now));
    assert_eq!(
        u.device_at(&id(1), now).unwrap().lock.unwrap().expires_at,
        Some(now + TimeDelta::minutes(5))
    );
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    // The other device completes; the success restarts its counter.
    flow.select(SelectDevice::new(id(2)), now).unwrap();
    let sent = flow.issue_otp(&[2; 16], now).unwrap();
    let wrong = flow.check_otp("1", now).unwrap();
    record(&mut u, &wrong.records, now);
    assert_eq!(u.counters(&id(2)).otp_failures, 1);
    let o = flow.check_otp(&sent.code, now).unwrap();
    record(&mut u, &o.records, now);
    assert_eq!(u.counters(&id(2)).otp_failures, 0);
    assert_eq!(flow.status(), AuthenticationStatus::Completed);
}

#[test]
fn failures_from_an_earlier_flow_carry_over() {
    let mut u = user_with(&[DeviceType::Totp]);
    let p = policy(json!({}));
    let mut first = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), t0()).unwrap();
    for _ in 0..2 {
        let o = first.check_authenticator_otp("1", |_| false, t0()).unwrap();
        record(&mut u, &o.records, t0());
    }
    // A new flow: one more wrong passcode reaches totp.otp.failure.count (3).
    let mut second = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), t0()).unwrap();
    let o = second
        .check_authenticator_otp("1", |_| false, t0())
        .unwrap();
    assert_eq!(
        o.result,
        Err(FlowError::OtpFailed {
            locked_until: Some(t0() + TimeDelta::minutes(2))
        })
    );
    record(&mut u, &o.records, t0());
    assert!(u.device_at(&id(1), t0()).unwrap().is_locked(t0()));
    assert_eq!(second.status(), AuthenticationStatus::Failed);
    assert_mirror(&second, &u, t0());
}

#[test]
fn push_rejections_over_the_limit_lock_and_sync_fails_the_flow() {
    let mut u = UserDevices::new(
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    );
    let mut mobile = Device::new(
        id(1),
        u.environment_id(),
        u.user_id(),
        DeviceType::Mobile,
        DeviceStatus::Active,
        t0(),
    );
    if let DeviceDetails::Mobile(m) = &mut mobile.details {
        m.application = Some(MobileApplication {
            id: Some("28e07e36-63d2-46d3-8743-dbdd51c58ee0".into()),
            ..Default::default()
        });
    }
    u = UserDevices::restore(
        u.environment_id(),
        u.user_id(),
        vec![mobile],
        Some(vec![id(1)]),
        0,
    )
    .unwrap();
    let p = policy(json!({"/mobile/applications/0/pushLimit/count": 2}));
    let mut now = t0();
    for round in 0..2 {
        let mut flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), now).unwrap();
        assert_eq!(
            flow.status(),
            AuthenticationStatus::PushConfirmationRequired,
            "round {round}"
        );
        now += TimeDelta::seconds(120);
        let records = flow.expire(now);
        record(&mut u, &records, now);
        let changed = flow.sync_with(&u, now);
        if round == 0 {
            assert!(!changed);
            assert_eq!(
                flow.status(),
                AuthenticationStatus::PushConfirmationTimedOut
            );
        } else {
            assert!(changed, "the second ignored push reaches the limit");
            assert_eq!(flow.status(), AuthenticationStatus::Failed);
            assert_eq!(
                flow.error.as_ref().unwrap().unavailable_devices,
                vec![IdRef::new(id(1))]
            );
        }
    }
    let flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), now).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    let later = now + TimeDelta::minutes(30);
    let flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), later).unwrap();
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationRequired,
        "the lock ran out"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any sequence of wrong / right passcodes, selections and time steps, with every record
    /// executed on the aggregate: the flow's lock mirror always equals the aggregate's locks,
    /// and FAILED lists exactly the aggregate's locked devices.
    #[test]
    fn the_flow_mirror_matches_the_aggregate(
        steps in prop::collection::vec((0u8..4, 0u8..3, 0i64..200), 1..30),
        cool_down in 0i64..4,
    ) {
        let mut u = user_with(&[DeviceType::Email, DeviceType::Sms, DeviceType::Totp]);
        let p = policy(json!({
            "/authentication/deviceSelection": "ALWAYS_DISPLAY_DEVICES",
            "/email/otp/failure/coolDown/duration": cool_down,
            "/sms/otp/failure/count": 2,
            "/sms/otp/failure/coolDown/duration": cool_down,
        }));
        let mut now = t0();
        let mut flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), now).unwrap();
        for (action, pick, dt) in steps {
            now += TimeDelta::seconds(dt);
            if flow.status().is_terminal() {
                flow = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), now).unwrap();
            }
            flow.sync_with(&u, now);
            let outcome = match action {
                0 => { let _ = flow.select(SelectDevice::new(id(pick + 1)), now); None }
                1 => match flow.otp_source() {
                    Some(OtpSource::Sent) => {
                        flow.issue_otp(&[4; 20], now).unwrap();
                        Some(flow.check_otp("nope", now).unwrap())
                    }
                    Some(OtpSource::Authenticator) => Some(flow.check_authenticator_otp("x", |_| false, now).unwrap()),
                    None => None,
                },
                2 => match flow.otp_source() {
                    Some(OtpSource::Authenticator) => Some(flow.check_authenticator_otp("x", |_| true, now).unwrap()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(o) = outcome {
                record(&mut u, &o.records, now);
            }
            for d in flow.devices() {
                let agg = u.device_at(&d.id, now).unwrap();
                prop_assert_eq!(d.is_locked(now), agg.is_locked(now));
            }
            if let Some(error) = &flow.error {
                if error.code == FailureCode::NoUsableDevices && flow.updated_at == now {
                    let locked: Vec<IdRef<DeviceId>> = u.list().iter()
                        .filter(|d| u.device_at(&d.id, now).unwrap().is_locked(now))
                        .map(|d| IdRef::new(d.id)).collect();
                    prop_assert_eq!(&error.unavailable_devices, &locked);
                }
            }
        }
    }
}
