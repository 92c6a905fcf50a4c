//! The flow's view of a device authentication policy resource (`FlowPolicy::from_policy`), and
//! flows started from it.

use chrono::{TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::*;
use mfa_devices::device::*;
use mfa_devices::error::ApiError;
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::policy::DeviceAuthenticationPolicy;
use mfa_devices::policy::resolved::*;
use serde_json::json;

const POLICY: &str = include_str!("../fixtures/policy/read_one.json");

fn fixture() -> serde_json::Value {
    serde_json::from_str(POLICY).unwrap()
}

fn read(v: serde_json::Value) -> DeviceAuthenticationPolicy {
    serde_json::from_value(v).unwrap()
}

#[test]
fn the_published_policy_reads_into_the_flow() {
    let p = FlowPolicy::from_policy(&read(fixture())).unwrap();
    assert_eq!(
        p.id,
        Some("8bec1d08-c0fb-4d34-b472-2610199704c7".parse().unwrap())
    );
    assert_eq!(p.selection, SelectionMode::DefaultToFirst);
    assert!(p.sms.enabled && p.email.enabled && p.voice.enabled);
    assert!(!p.whatsapp.enabled, "no whatsApp section: disabled");
    assert_eq!((p.sms.otp_length, p.email.otp_length), (6, 8));
    assert_eq!(p.sms.life_time, TimeDelta::minutes(30));
    assert_eq!(
        p.sms.failure,
        FailureRule::new(3, TimeDelta::zero()).unwrap()
    );
    assert_eq!(
        p.totp,
        AuthenticatorMethod {
            enabled: true,
            failure: FailureRule::new(3, TimeDelta::minutes(2)).unwrap()
        }
    );
    assert_eq!(
        p.fido2.failure,
        FailureRule::new(4, TimeDelta::seconds(150)).unwrap()
    );
    assert!(p.mobile.enabled);
    assert_eq!(
        p.mobile.failure,
        FailureRule::new(3, TimeDelta::minutes(2)).unwrap()
    );
    assert_eq!(
        p.mobile.applications,
        vec![MobileApp {
            id: "28e07e36-63d2-46d3-8743-dbdd51c58ee0".into(),
            push: true,
            otp: true,
            push_timeout: TimeDelta::seconds(120),
            push_limit: PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30))
                .unwrap(),
        }]
    );
}

#[test]
fn absent_values_take_defaults_and_absent_switches_are_off() {
    let p = FlowPolicy::from_policy(&read(json!({
        "sms": {"enabled": true},
        "email": {},
        "mobile": {"enabled": true, "applications": [{"id": "28e07e36-63d2-46d3-8743-dbdd51c58ee0", "push": {"enabled": true}}]}
    })))
    .unwrap();
    assert_eq!(p.selection, SelectionMode::DefaultToFirst);
    assert!(
        p.sms.enabled
            && !p.email.enabled
            && !p.voice.enabled
            && !p.totp.enabled
            && !p.fido2.enabled
    );
    assert_eq!(
        p.sms,
        SentOtpMethod {
            enabled: true,
            ..SentOtpMethod::default()
        }
    );
    let app = &p.mobile.applications[0];
    assert!(app.push && !app.otp);
    assert_eq!(app.push_timeout, TimeDelta::seconds(40));
    assert_eq!(app.push_limit, PushLimitRule::DEFAULT);
    assert_eq!(p.mobile.failure, FailureRule::DEFAULT_AUTHENTICATOR);
}

#[test]
fn selection_modes() {
    for (text, mode) in [
        ("DEFAULT_TO_FIRST", SelectionMode::DefaultToFirst),
        ("PROMPT_TO_SELECT", SelectionMode::PromptToSelect),
        (
            "ALWAYS_DISPLAY_DEVICES",
            SelectionMode::AlwaysDisplayDevices,
        ),
        ("SOMETHING_NEWER", SelectionMode::AlwaysDisplayDevices),
    ] {
        let mut v = fixture();
        v["authentication"]["deviceSelection"] = json!(text);
        assert_eq!(
            FlowPolicy::from_policy(&read(v)).unwrap().selection,
            mode,
            "{text}"
        );
    }
}

#[test]
fn unusable_numbers_are_refused_naming_the_path() {
    let cases = [
        ("/sms/otp/lifeTime/duration", json!(-1), "sms.otp.lifeTime"),
        ("/sms/otp/otpLength", json!(-3), "sms.otp.otpLength"),
        (
            "/email/otp/failure/count",
            json!(0),
            "email.otp.failure.count",
        ),
        (
            "/fido2/failure/coolDown/duration",
            json!(i64::MAX),
            "fido2.failure.coolDown",
        ),
        (
            "/mobile/applications/0/pushTimeout/duration",
            json!(-40),
            "mobile.applications[0].pushTimeout",
        ),
        (
            "/mobile/applications/0/pushLimit/count",
            json!(5_000_000_000i64),
            "mobile.applications[0].pushLimit.count",
        ),
    ];
    for (pointer, value, path) in cases {
        let mut v = fixture();
        *v.pointer_mut(pointer).unwrap() = value;
        let err = FlowPolicy::from_policy(&read(v)).unwrap_err();
        assert!(err.to_string().contains(path), "{err}");
        assert!(err.path().is_some_and(|p| p.starts_with(path)), "{err}");
        // The policy as input (a PUT of the policy): 400 naming the value.
        let api = ApiError::from(err.clone());
        assert_eq!(api.http_status(), 400);
        assert!(api.details[0].target.as_deref().unwrap().starts_with(path));
        // The policy a flow runs under: the server's configuration, 500.
        assert_eq!(ApiError::from(FlowError::from(err)).http_status(), 500);
    }
}

#[test]
fn a_flow_under_the_published_policy() {
    let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    let policy = FlowPolicy::from_policy(&read(fixture())).unwrap();
    let (env, user) = (
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    );
    let mut mobile = Device::new(
        DeviceId::from_bytes([3; 16]),
        env,
        user,
        DeviceType::Mobile,
        DeviceStatus::Active,
        now,
    );
    if let DeviceDetails::Mobile(m) = &mut mobile.details {
        m.application = Some(MobileApplication {
            id: Some("28E07E36-63D2-46D3-8743-DBDD51C58EE0".into()),
            ..Default::default()
        });
    }
    let email = Device::new(
        DeviceId::from_bytes([4; 16]),
        env,
        user,
        DeviceType::Email,
        DeviceStatus::Active,
        now,
    );
    let mut snapshot = DeviceSnapshot::new(env, user);
    snapshot.order = vec![mobile.id, email.id];
    snapshot.devices = vec![mobile.clone(), email.clone()];
    let mut flow =
        DeviceAuthentication::start_with(snapshot, policy, uuid::Uuid::nil(), now).unwrap();
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    assert_eq!(flow.push_deadline(), Some(now + TimeDelta::seconds(120)));
    assert_eq!(
        flow.to_json(&ApiBase::new("https://auth.pingone.com"))["policy"]["id"],
        "8bec1d08-c0fb-4d34-b472-2610199704c7"
    );
    let records = flow.expire(now + TimeDelta::seconds(120));
    assert_eq!(
        records,
        vec![DeviceRecord::PushFailure {
            device: mobile.id,
            at: now + TimeDelta::seconds(120),
            kind: PushFailureKind::Ignored,
            rule: PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).unwrap()
        }]
    );
    flow.select(SelectDevice::new(email.id), now + TimeDelta::seconds(121))
        .unwrap();
    let sent = flow
        .issue_otp(&mut crate::replay(&[9; 16]), now + TimeDelta::seconds(121))
        .unwrap();
    assert_eq!(sent.code, "99999999", "email otpLength 8");
}

/// Issue 12 point 1 (policy resolution): the flow's policy applies `validate`'s bounds — a
/// failure count of `u32::MAX` or a cool-down of millions of years is refused, not turned into
/// a lock of millennia.
#[test]
fn point_01_resolved_policy_applies_the_validate_bounds() {
    let cases = [
        (
            "/sms/otp/failure/count",
            json!(4_294_967_295u64),
            "sms.otp.failure.count",
        ),
        (
            "/sms/otp/failure/coolDown",
            json!({"duration": 3_000_000_000i64, "timeUnit": "MINUTES"}),
            "sms.otp.failure.coolDown",
        ),
    ];
    for (pointer, value, target) in cases {
        let mut v = fixture();
        *v.pointer_mut(pointer).unwrap() = value;
        let policy = read(v);
        assert!(policy.validate().is_err());
        match FlowPolicy::from_policy(&policy) {
            Err(e) => assert!(e.path().is_some_and(|p| p.starts_with(target)), "{e}"),
            other => panic!("{target}: {other:?}"),
        }
    }
    assert!(FlowPolicy::from_policy(&read(fixture())).is_ok());
}
