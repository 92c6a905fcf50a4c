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
                secrets: Default::default(),
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
    flow.issue_otp(&mut crate::replay(&[1; 16]), t0()).unwrap();
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
    let sent = flow.issue_otp(&mut crate::replay(&[2; 16]), now).unwrap();
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
        let o = first
            .check_authenticator_otp_with("1", |_| false, t0())
            .unwrap();
        record(&mut u, &o.records, t0());
    }
    // A new flow: one more wrong passcode reaches totp.otp.failure.count (3).
    let mut second = DeviceAuthentication::start(&u, &p, uuid::Uuid::nil(), t0()).unwrap();
    let o = second
        .check_authenticator_otp_with("1", |_| false, t0())
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
                flow.error().unwrap().unavailable_devices,
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
                        flow.issue_otp(&mut crate::replay(&[4; 20]), now).unwrap();
                        Some(flow.check_otp("nope", now).unwrap())
                    }
                    Some(OtpSource::Authenticator) => Some(flow.check_authenticator_otp_with("x", |_| false, now).unwrap()),
                    None => None,
                },
                2 => match flow.otp_source() {
                    Some(OtpSource::Authenticator) => Some(flow.check_authenticator_otp_with("x", |_| true, now).unwrap()),
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
            if let Some(error) = flow.error() {
                if error.code == FailureCode::NoUsableDevices && flow.updated_at() == now {
                    let locked: Vec<IdRef<DeviceId>> = u.list().iter()
                        .filter(|d| u.device_at(&d.id, now).unwrap().is_locked(now))
                        .map(|d| IdRef::new(d.id)).collect();
                    prop_assert_eq!(&error.unavailable_devices, &locked);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Issue 10 §2: "the count-th failure locks" has one implementation
    /// (`lock::FailureRule::record`), and its three callers — the aggregate
    /// (`RecordOtpFailure`), the OTP engine (`OtpChallenge::check`) and the flow — agree
    /// exactly, to the microsecond-level `now` and the millisecond lock end, on every generated
    /// sequence: the same answer (attempts left, lock end), the same counter afterwards, and the
    /// same lock.
    #[test]
    fn the_aggregate_the_otp_challenge_and_the_flow_agree_on_every_failure(
        count in 1u32..5,
        cool_down_ms in prop_oneof![Just(0i64), 1i64..300_000],
        gaps_us in prop::collection::vec(0i64..150_000_000, 1..30),
    ) {
        use mfa_devices::lock::FailureRule;
        use mfa_devices::otp::{OtpChallenge, OtpCheck};
        use mfa_devices::policy::resolved::FlowPolicy;
        let rule = FailureRule::new(count, TimeDelta::milliseconds(cool_down_ms)).unwrap();
        let mut policy = FlowPolicy::all_enabled();
        policy.totp.failure = rule;
        let mut u = user_with(&[DeviceType::Totp]);
        let device = id(1);
        let mut at = t0() + TimeDelta::seconds(10);
        let mut flow = DeviceAuthentication::start_with(
            DeviceSnapshot::of(&u, at), policy.clone(), uuid::Uuid::nil(), at).unwrap();
        for gap in gaps_us {
            at += TimeDelta::microseconds(gap);
            let locked = u.device(&device).unwrap().is_locked(at);
            prop_assert_eq!(flow.devices()[0].is_locked(at), locked, "the flow's lock mirror");
            if locked {
                continue; // a locked device is not challenged
            }
            if flow.status().is_terminal() {
                flow = DeviceAuthentication::start_with(
                    DeviceSnapshot::of(&u, at), policy.clone(), uuid::Uuid::nil(), at).unwrap();
            } else if flow.status() != AuthenticationStatus::OtpRequired {
                flow.select(SelectDevice::new(device), at).unwrap();
            }
            prop_assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
            let before = u.counters(&device).otp_failures;
            prop_assert_eq!(flow.otp_failures().get(&device).copied().unwrap_or(0), before);

            // 1. The OTP engine, from the aggregate's counter.
            let mut challenge = OtpChallenge::from_parts(
                "123456".into(), at + TimeDelta::days(1), rule, before, false);
            let engine = challenge.check("000000", at);
            // 2. The flow.
            let outcome = flow.check_authenticator_otp_with("000000", |_| false, at).unwrap();
            // 3. The aggregate, executing the flow's records.
            record(&mut u, &outcome.records, at);
            let after = u.counters(&device).otp_failures;
            let lock = u.device(&device).unwrap().lock.clone().unwrap();

            match (engine, outcome.result) {
                (OtpCheck::Invalid { remaining_attempts },
                 Err(FlowError::InvalidOtp { remaining_attempts: flow_remaining })) => {
                    prop_assert_eq!(remaining_attempts, flow_remaining);
                    prop_assert_eq!(after, count - remaining_attempts);
                    prop_assert!(!lock.is_in_force(at));
                }
                (OtpCheck::Failed { locked_until }, Err(FlowError::OtpFailed { locked_until: flow_until })) => {
                    prop_assert_eq!(locked_until, flow_until);
                    prop_assert_eq!(after, 0);
                    match locked_until {
                        Some(until) => {
                            prop_assert_eq!(lock.expires_at, Some(until));
                            prop_assert!(lock.is_in_force(at));
                            prop_assert_eq!(until.timestamp_subsec_nanos() % 1_000_000, 0);
                        }
                        None => prop_assert!(!lock.is_in_force(at)),
                    }
                }
                (engine, flow_result) => {
                    prop_assert!(false, "disagree: engine {:?}, flow {:?}", engine, flow_result);
                }
            }
            prop_assert_eq!(flow.otp_failures().get(&device).copied().unwrap_or(0), after);
            let mirrored = flow.devices()[0].lock.clone().unwrap_or_default();
            if lock.is_in_force(at) {
                prop_assert_eq!(mirrored.expires_at, lock.expires_at);
            }
        }
    }
}

/// Issue 12 point 2: an administrator's block or delete did not stop an authentication in
/// flight — following the documented round trip (check, execute the records, then
/// `sync_with`), `check_otp` completed the flow on a device blocked after the passcode was
/// sent. A loaded flow now refuses every check until it is synced with the aggregate
/// (`FlowError::NotSynced`, 500), and synced, it sees the block or the deletion.
#[test]
fn point_2_a_block_or_delete_stops_an_authentication_in_flight() {
    for admin in [Command::Block { id: id(1) }, Command::Delete { id: id(1) }] {
        let mut u = user_with(&[DeviceType::Email]);
        let t = t0() + TimeDelta::minutes(1);
        let mut flow =
            DeviceAuthentication::start(&u, &policy(json!({})), uuid::Uuid::nil(), t).unwrap();
        let sent = flow.issue_otp(&mut crate::replay(&[4; 16]), t).unwrap();
        let stored = serde_json::to_string(&flow.to_stored()).unwrap();
        u.execute(admin.clone(), t).unwrap(); // meanwhile

        // The next request: the old order (check first) is refused, loudly.
        let mut flow =
            DeviceAuthentication::from_stored(serde_json::from_str(&stored).unwrap()).unwrap();
        assert_eq!(
            flow.check_otp(&sent.code, t),
            Err(FlowError::NotSynced),
            "{admin:?}"
        );
        assert_eq!(
            mfa_devices::error::ApiError::from(FlowError::NotSynced).http_status(),
            500
        );
        // The documented order: sync, then check. The challenge is over.
        flow.sync_with(&u, t);
        assert_eq!(flow.status(), AuthenticationStatus::Failed, "{admin:?}");
        assert!(matches!(
            flow.check_otp(&sent.code, t),
            Err(FlowError::NotAllowed { .. })
        ));
    }
}

/// Issue 12 point 3: concurrent flows multiplied the failure limit (ten flows with
/// `failure.count = 3` had 12 guesses evaluated before the lock). The count that decides is now
/// the aggregate's: every request syncs its flow with the aggregate it loaded, and records the
/// failure under that revision. K flows racing on one device get `count` answered guesses per
/// lock period in total; a request that lost the race is retried from a fresh load.
#[test]
fn point_3_concurrent_flows_share_the_aggregates_failure_count() {
    const K: usize = 10;
    let t = t0() + TimeDelta::minutes(1);
    let p = policy(json!({})); // totp.otp.failure: 3, 2 minutes
    let start = user_with(&[DeviceType::Totp]);
    // The store: the aggregate (with its revision) and each flow, as JSON text.
    let mut devices_text = serde_json::to_string(&start).unwrap();
    let mut flows: Vec<String> = (0..K)
        .map(|k| {
            let f = DeviceAuthentication::start(&start, &p, uuid::Uuid::from_u128(k as u128), t)
                .unwrap();
            serde_json::to_string(&f.to_stored()).unwrap()
        })
        .collect();
    let mut answered_wrong = 0;
    let mut conflicts = 0;
    for _round in 0..2 * K {
        // All K requests load the same state at once...
        let loaded: UserDevices = serde_json::from_str(&devices_text).unwrap();
        let mut attempts = Vec::new();
        for text in &flows {
            let mut flow =
                DeviceAuthentication::from_stored(serde_json::from_str(text).unwrap()).unwrap();
            flow.sync_with(&loaded, t);
            if flow.status() != AuthenticationStatus::OtpRequired {
                continue;
            }
            let outcome = flow
                .check_authenticator_otp_with("000000", |_| false, t)
                .unwrap();
            attempts.push((flow, outcome));
        }
        if attempts.is_empty() {
            break;
        }
        // ...and commit one after the other, each under the revision it loaded.
        for (mut flow, outcome) in attempts {
            let mut devices: UserDevices = serde_json::from_str(&devices_text).unwrap();
            assert_eq!(outcome.records.len(), 1);
            let committed = outcome.records.iter().all(|r| {
                devices
                    .execute_at_revision(loaded.revision(), r.to_command(), t)
                    .is_ok()
            });
            if !committed {
                conflicts += 1; // 409: the request is retried with a fresh load
                continue;
            }
            flow.sync_with(&devices, t);
            devices_text = serde_json::to_string(&devices).unwrap();
            let i = flow.id().as_u128() as usize;
            flows[i] = serde_json::to_string(&flow.to_stored()).unwrap();
            assert!(matches!(
                outcome.result,
                Err(FlowError::InvalidOtp { .. } | FlowError::OtpFailed { .. })
            ));
            answered_wrong += 1;
        }
    }
    let devices: UserDevices = serde_json::from_str(&devices_text).unwrap();
    assert_eq!(
        answered_wrong, 3,
        "count guesses per lock period, not K × count"
    );
    assert!(conflicts >= K - 1);
    assert!(devices.device(&id(1)).unwrap().is_locked(t));
    for text in &flows {
        let mut flow =
            DeviceAuthentication::from_stored(serde_json::from_str(text).unwrap()).unwrap();
        flow.sync_with(&devices, t);
        assert_ne!(flow.status(), AuthenticationStatus::OtpRequired);
    }
}

/// Issue 11 §3: a TOTP device's secret is drawn at creation; the flow verifies codes against it
/// with replay protection kept by the aggregate (a code works once, across flows and reloads),
/// and neither the flow nor its stored form holds the secret.
#[test]
fn totp_codes_are_verified_against_the_stored_secret_once() {
    use mfa_devices::otp::{Algorithm, Totp};
    use mfa_devices::user_devices::DeviceSecrets;
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(11);
    let p = DeviceAuthenticationPolicy::default();
    let mut user = UserDevices::new(
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    );
    let new = NewDevice {
        status: Some(DeviceStatus::Active),
        ..NewDevice::new(DeviceType::Totp)
    };
    let (secrets, _) = DeviceSecrets::draw(&new, &p, "jo", &mut rng, t0()).unwrap();
    user.execute(
        Command::Create {
            id: id(1),
            device: new,
            secrets,
        },
        t0(),
    )
    .unwrap();
    let DeviceDetails::Totp(t) = &user.device(&id(1)).unwrap().details else {
        panic!()
    };
    let b32 = t.secret.as_ref().unwrap().expose().to_owned();
    let key = data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).unwrap();
    let totp = Totp::new(key, Algorithm::Sha1, 6, 30).unwrap();
    let code = totp.code_at(t0().timestamp() as u64);

    let mut flow = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
    let stored = serde_json::to_string(&flow.to_stored()).unwrap();
    assert!(!stored.contains(&b32) && !format!("{flow:?}").contains(&b32));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let w = flow.check_authenticator_otp(wrong, &user, t0()).unwrap();
    assert!(matches!(w.result, Err(FlowError::InvalidOtp { .. })));
    for r in &w.records {
        user.execute(r.to_command(), t0()).unwrap();
    }
    flow.sync_with(&user, t0());
    let ok = flow.check_authenticator_otp(&code, &user, t0()).unwrap();
    assert!(ok.is_success());
    let step = totp.step_at(t0().timestamp() as u64);
    assert_eq!(
        ok.records,
        vec![DeviceRecord::TotpSuccess {
            device: id(1),
            step
        }]
    );
    for r in &ok.records {
        user.execute(r.to_command(), t0()).unwrap();
    }
    assert_eq!(user.totp_last_step(&id(1)), Some(step));
    assert_eq!(user.counters(&id(1)).otp_failures, 0);

    // The same code in another flow, after the user's state was stored and loaded: refused.
    let user: UserDevices = serde_json::from_str(&serde_json::to_string(&user).unwrap()).unwrap();
    let mut second = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
    let replay = second
        .check_authenticator_otp(&code, &user, t0() + TimeDelta::seconds(20))
        .unwrap();
    assert!(matches!(replay.result, Err(FlowError::InvalidOtp { .. })));
    // The next step's code works.
    let next = totp.code_at(t0().timestamp() as u64 + 30);
    let mut third = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
    assert!(
        third
            .check_authenticator_otp(&next, &user, t0() + TimeDelta::seconds(30))
            .unwrap()
            .is_success()
    );
}

fn create_body(extra: serde_json::Value) -> CreateDeviceAuthentication {
    let mut body = json!({"user": {"id": UserId::from_bytes([2; 16]).to_string()}});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    CreateDeviceAuthentication::from_json(body.to_string().as_bytes()).unwrap()
}

#[test]
fn a_creation_body_starts_the_flow_it_asks_for() {
    use mfa_devices::error::ApiError;
    let u = user_with(&[DeviceType::Fido2, DeviceType::Email, DeviceType::Sms]);
    let p = policy(json!({"/authentication/deviceSelection": "ALWAYS_DISPLAY_DEVICES"}));
    let start = |r: &CreateDeviceAuthentication| {
        DeviceAuthentication::start_from(r, &u, &p, uuid::Uuid::nil(), t0())
    };

    // Nothing selected: the policy decides (always display).
    let flow = start(&create_body(json!({}))).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    assert_eq!(flow.policy().id, p.id);

    // selectedDevice.id: that device right away, whatever deviceSelection says.
    let flow = start(&create_body(json!({"selectedDevice": {"id": id(3)}}))).unwrap();
    assert_eq!(
        (flow.status(), flow.selected_device()),
        (AuthenticationStatus::OtpRequired, Some(id(3)))
    );
    let flow = start(&create_body(json!({"selectedDevice": {"id": id(1)}}))).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);

    // compatibility applies from the start: NONE hides the FIDO2 device, which cannot be
    // selected either, and is kept for later selections.
    let flow = start(&create_body(json!({"compatibility": "NONE"}))).unwrap();
    assert_eq!(flow.compatibility(), Some(&Compatibility::None));
    let listed: Vec<_> = flow
        .embedded()
        .unwrap()
        .devices
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(listed, [id(2), id(3)]);
    let mut flow = flow;
    assert!(matches!(
        flow.select(SelectDevice::new(id(1)), t0()),
        Err(FlowError::UnusableDevice { .. })
    ));
    for body in [
        json!({"compatibility": "NONE", "selectedDevice": {"id": id(1)}}),
        json!({"selectedDevice": {"id": id(9)}}),
    ] {
        let e = start(&create_body(body.clone())).unwrap_err();
        assert!(matches!(e, FlowError::InvalidBody { .. }), "{body}: {e:?}");
        let api = ApiError::from(e);
        assert_eq!(
            (api.http_status(), api.details[0].target.as_deref()),
            (400, Some("selectedDevice.id")),
            "{body}"
        );
    }

    // A one-time device is refused with a clear 400, not ignored.
    let one_time = create_body(json!({"selectedDevice": {"oneTime":
        {"type": "SMS", "phone": "+15125551234", "testMode": true}}}));
    let e = start(&one_time).unwrap_err();
    assert_eq!(e, FlowError::OneTimeDeviceUnsupported);
    let api = ApiError::from(e);
    assert_eq!(
        (api.http_status(), api.details[0].target.as_deref()),
        (400, Some("selectedDevice.oneTime"))
    );

    // The request must be about the state given.
    let mut other = create_body(json!({}));
    other.user.id = UserId::from_bytes([7; 16]);
    assert_eq!(
        start(&other).unwrap_err(),
        FlowError::RequestMismatch { target: "user.id" }
    );
    let other_policy = create_body(json!({"policy": {"id": uuid::Uuid::from_bytes([5; 16])}}));
    assert_eq!(
        start(&other_policy).unwrap_err(),
        FlowError::RequestMismatch {
            target: "policy.id"
        }
    );
    assert_eq!(
        ApiError::from(FlowError::RequestMismatch { target: "user.id" }).http_status(),
        500
    );
}

/// A TOTP device with its secret stored, the code of `at`, and the TOTP engine.
fn totp_user(at: DateTime<Utc>) -> (UserDevices, mfa_devices::otp::Totp) {
    use mfa_devices::otp::{Algorithm, Totp};
    use mfa_devices::user_devices::DeviceSecrets;
    use rand_core::SeedableRng;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let mut user = user_with(&[]);
    let new = NewDevice {
        status: Some(DeviceStatus::Active),
        ..NewDevice::new(DeviceType::Totp)
    };
    let (secrets, _) = DeviceSecrets::draw(&new, &policy(json!({})), "jo", &mut rng, at).unwrap();
    user.execute(
        Command::Create {
            id: id(1),
            device: new,
            secrets,
        },
        at,
    )
    .unwrap();
    let DeviceDetails::Totp(t) = &user.device(&id(1)).unwrap().details else {
        panic!()
    };
    let key = data_encoding::BASE32_NOPAD
        .decode(t.secret.as_ref().unwrap().expose().as_bytes())
        .unwrap();
    (user, Totp::new(key, Algorithm::Sha1, 6, 30).unwrap())
}

/// Regression: the flow verified authenticator codes through the caller's callback, so a
/// caller that trusted the code (`|_| true`) completed the flow with a wrong one. The flow now
/// verifies TOTP against the stored secret itself, and refuses a replayed code.
#[test]
fn the_flow_itself_refuses_a_wrong_or_replayed_totp_code() {
    let p = policy(json!({}));
    let (mut user, totp) = totp_user(t0());
    let code = totp.code_at(t0().timestamp() as u64);
    let wrong = if code == "123456" { "654321" } else { "123456" };

    let mut flow = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
    let refused = flow.check_authenticator_otp(wrong, &user, t0()).unwrap();
    assert!(
        matches!(refused.result, Err(FlowError::InvalidOtp { .. })),
        "{refused:?}"
    );
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    record(&mut user, &refused.records, t0());
    assert_eq!(user.counters(&id(1)).otp_failures, 1);
    flow.sync_with(&user, t0());
    let ok = flow.check_authenticator_otp(&code, &user, t0()).unwrap();
    assert!(ok.is_success());
    record(&mut user, &ok.records, t0());

    // Replayed in a second flow: refused, and counted like a wrong code.
    let mut again = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
    let replay = again
        .check_authenticator_otp(&code, &user, t0() + TimeDelta::seconds(5))
        .unwrap();
    assert!(matches!(replay.result, Err(FlowError::InvalidOtp { .. })));
    assert_eq!(replay.records.len(), 1);
    assert_eq!(again.status(), AuthenticationStatus::OtpRequired);

    // Another user's aggregate is not a source of secrets.
    let stranger = UserDevices::new(
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([9; 16]),
    );
    assert_eq!(
        again
            .check_authenticator_otp(&code, &stranger, t0())
            .unwrap_err(),
        FlowError::RequestMismatch { target: "user.id" }
    );
}

/// Devices whose secret the crate does not hold are never passed silently by the
/// secret-based check: a typed error, nothing counted; the callback variant verifies them.
#[test]
fn a_device_without_a_stored_secret_needs_the_servers_verification() {
    let p = policy(json!({}));
    // A TOTP device created without secrets and an OATH token.
    for t in [DeviceType::Totp, DeviceType::OathToken] {
        let user = user_with(std::slice::from_ref(&t));
        let mut flow = DeviceAuthentication::start(&user, &p, uuid::Uuid::nil(), t0()).unwrap();
        assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator), "{t}");
        let e = flow
            .check_authenticator_otp("123456", &user, t0())
            .unwrap_err();
        assert_eq!(e, FlowError::SecretNotHeld(id(1)), "{t}");
        assert_eq!(
            mfa_devices::error::ApiError::from(e).http_status(),
            500,
            "{t}"
        );
        assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
        assert!(flow.otp_failures().is_empty());
        let o = flow
            .check_authenticator_otp_with("123456", |c| c == "123456", t0())
            .unwrap();
        assert!(o.is_success(), "{t}");
    }
    // A MOBILE device with push off: its OTP comes from the application.
    let env = EnvironmentId::from_bytes([1; 16]);
    let owner = UserId::from_bytes([2; 16]);
    let mut mobile = Device::new(
        id(4),
        env,
        owner,
        DeviceType::Mobile,
        DeviceStatus::Active,
        t0(),
    );
    if let DeviceDetails::Mobile(m) = &mut mobile.details {
        m.application = Some(MobileApplication {
            id: Some("app".into()),
            ..Default::default()
        });
        m.push_enabled = Some(false);
    }
    let u = UserDevices::restore(env, owner, vec![mobile], Some(vec![id(4)]), 1).unwrap();
    let mut fp = mfa_devices::policy::resolved::FlowPolicy::all_enabled();
    fp.mobile
        .applications
        .push(mfa_devices::policy::resolved::MobileApp::new("app"));
    let mut flow =
        DeviceAuthentication::start_with(DeviceSnapshot::of(&u, t0()), fp, uuid::Uuid::nil(), t0())
            .unwrap();
    assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator));
    assert_eq!(
        flow.check_authenticator_otp("123456", &u, t0())
            .unwrap_err(),
        FlowError::SecretNotHeld(id(4))
    );
    assert!(flow.otp_failures().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// A creation body written by `Serialize` reads back equal.
    #[test]
    fn a_serialised_creation_body_reads_back_equal(
        user in any::<[u8; 16]>(),
        policy in proptest::option::of(any::<[u8; 16]>()),
        selected in 0usize..5,
        device in any::<[u8; 16]>(),
        local in "[a-z][a-z0-9._]{0,10}[a-z0-9]",
        digits in "[1-9][0-9]{9,12}",
        test_mode in proptest::option::of(any::<bool>()),
        compatibility in 0usize..4,
        template in proptest::option::of((
            proptest::option::of("[ -~]{0,12}"),
            proptest::option::of("[a-z]{2}"),
            proptest::option::of(proptest::collection::btree_map("[a-zA-Z]{1,8}", "\\PC{0,8}", 0..4)),
        )),
    ) {
        prop_assume!(!local.contains(".."));
        let mut r = CreateDeviceAuthentication::new(UserId::from_bytes(user));
        r.policy = policy.map(|p| IdRef::new(uuid::Uuid::from_bytes(p)));
        let phone = format!("+{digits}");
        r.selected_device = match selected {
            0 => None,
            1 => Some(SelectedDevice::Id(DeviceId::from_bytes(device))),
            2 => Some(SelectedDevice::OneTime(OneTimeDevice {
                address: OneTimeAddress::Email(format!("{local}@example.com")), test_mode })),
            3 => Some(SelectedDevice::OneTime(OneTimeDevice {
                address: OneTimeAddress::Sms(phone), test_mode })),
            _ => Some(SelectedDevice::OneTime(OneTimeDevice {
                address: OneTimeAddress::Voice(phone), test_mode })),
        };
        r.compatibility = [None, Some(Compatibility::Full), Some(Compatibility::SecurityKeyOnly),
            Some(Compatibility::None)][compatibility].clone();
        r.notification = template.map(|(name, locale, variables)| AuthenticationNotification {
            template: Some(AuthenticationTemplate {
                name,
                locale,
                variant: None,
                variables: variables.map(|v| v.into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v))).collect()),
            }),
        });
        let bytes = serde_json::to_vec(&r).unwrap();
        prop_assert_eq!(CreateDeviceAuthentication::from_json(&bytes).unwrap(), r);
    }
}
