//! The device authentication flow: fixture fidelity, the usable-device rule, start, select,
//! OTP / push / assertion outcomes, links per status, request parsing and error bodies.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::*;
use mfa_devices::device::*;
use mfa_devices::error::ApiError;
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::policy::resolved::*;
use serde_json::{Value, json};
use uuid::Uuid;

const FIXTURE: &str = include_str!("../fixtures/device_authentication_otp_required.json");

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

fn env() -> EnvironmentId {
    "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6".parse().unwrap()
}

fn user() -> UserId {
    "788d4931-6936-43f2-82ff-178f5762298a".parse().unwrap()
}

fn flow_id() -> Uuid {
    "03e1897e-33b0-40b9-b54e-68236769b1fa".parse().unwrap()
}

fn dev(n: u8, t: DeviceType) -> Device {
    let mut d = Device::new(
        DeviceId::from_bytes([n; 16]),
        env(),
        user(),
        t.clone(),
        DeviceStatus::Active,
        now() - TimeDelta::days(1),
    );
    match &mut d.details {
        DeviceDetails::Email(e) => e.email = Some(format!("user{n}@example.com")),
        DeviceDetails::Phone(p) => p.phone = Some(format!("+1512555{n:04}")),
        DeviceDetails::Mobile(m) => {
            m.application = Some(MobileApplication {
                id: Some("app-1".into()),
                ..Default::default()
            })
        }
        _ => {}
    }
    d
}

fn locked(mut d: Device, until: DateTime<Utc>) -> Device {
    d.lock = Some(LockState::locked(until, LockReason::Otp));
    d
}

fn blocked(mut d: Device) -> Device {
    d.block = Some(BlockState::blocked(now() - TimeDelta::hours(1)));
    d
}

fn fido2(n: u8, cross_platform: Option<bool>) -> Device {
    let mut d = dev(n, DeviceType::Fido2);
    if let DeviceDetails::Fido2(f) = &mut d.details {
        f.attributes = Some(Fido2Attributes {
            is_cross_platform: cross_platform,
            ..Default::default()
        });
    }
    d
}

fn policy() -> FlowPolicy {
    let mut p = FlowPolicy::all_enabled();
    p.id = Some("9761c24a-208d-0499-1bf6-39905184a4e1".parse().unwrap());
    p.mobile.applications = vec![MobileApp::new("app-1")];
    p
}

fn snapshot(devices: Vec<Device>, ordered: bool) -> DeviceSnapshot {
    let mut s = DeviceSnapshot::new(env(), user());
    if ordered {
        s.order = devices
            .iter()
            .filter(|d| d.status == DeviceStatus::Active)
            .map(|d| d.id)
            .collect();
    }
    s.devices = devices;
    s
}

fn start(devices: Vec<Device>, policy: FlowPolicy) -> DeviceAuthentication {
    DeviceAuthentication::start_with(snapshot(devices, true), policy, flow_id(), now()).unwrap()
}

fn prompt() -> FlowPolicy {
    FlowPolicy {
        selection: SelectionMode::AlwaysDisplayDevices,
        ..policy()
    }
}

fn id(n: u8) -> DeviceId {
    DeviceId::from_bytes([n; 16])
}

fn embedded_ids(flow: &DeviceAuthentication) -> Vec<DeviceId> {
    flow.embedded()
        .unwrap()
        .devices
        .iter()
        .map(|d| d.id)
        .collect()
}

/// A loaded flow synced with an aggregate that did not change since the flow was stored (what
/// `DeviceSnapshot::of` would give): its own devices and failure counters.
fn synced(mut flow: DeviceAuthentication, now: DateTime<Utc>) -> DeviceAuthentication {
    let mut s = DeviceSnapshot::new(flow.environment_id(), flow.user_id());
    s.devices = flow.devices().to_vec();
    s.otp_failures = flow.otp_failures().clone();
    flow.sync(&s, now);
    flow
}

fn base() -> ApiBase {
    ApiBase::new("https://auth.pingone.com")
}

// ---------------------------------------------------------------- fixture ------------------

#[test]
fn fixture_round_trips_exactly_through_serde_and_the_renderer() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let flow: DeviceAuthenticationBody = serde_json::from_value(fixture.clone()).unwrap();
    assert_eq!(flow.status, AuthenticationStatus::OtpRequired);
    assert_eq!(flow.compatibility, Some(Compatibility::Full));
    let rendered = flow.to_json(&base());
    assert_eq!(rendered, fixture);
    // Same properties in the same order: the pretty text is the file's.
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&rendered, &mut ser).unwrap();
    assert_eq!(String::from_utf8(buf).unwrap(), FIXTURE.trim_end());
    // serde alone is the body: the fixture without `_links`.
    let mut body = fixture.clone();
    body.as_object_mut().unwrap().remove("_links");
    assert_eq!(serde_json::to_value(&flow).unwrap(), body);
}

#[test]
fn newer_fields_and_unknown_values_are_kept() {
    let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
    v["bypassAllowed"] = json!(false);
    v["userBypassEnabled"] = json!(true);
    v["authenticators"] = json!([{"id": "x"}]);
    v["_embedded"]["blockedDevices"] = json!([{"id": "7ea99e29-6f8f-42be-af75-232588235e30"}]);
    v["_embedded"]["devices"][0]["nickname"] = json!("Work");
    v["_embedded"]["devices"][0]["somethingNew"] = json!({"a": 1});
    v["status"] = json!("BRAND_NEW_STATUS");
    v["compatibility"] = json!("HOLOGRAM");
    let flow: DeviceAuthenticationBody = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(
        flow.status,
        AuthenticationStatus::Other("BRAND_NEW_STATUS".into())
    );
    let out = flow.to_json(&base());
    assert_eq!(out["_links"], json!({"self": v["_links"]["self"]}));
    let mut without_links = out.clone();
    without_links.as_object_mut().unwrap().remove("_links");
    let mut expected = v.clone();
    expected.as_object_mut().unwrap().remove("_links");
    assert_eq!(without_links, expected);
}

/// Issue 10 §4: a server storing the flow the obvious way lost its private state, and after
/// reloading `select` answered 400 "device … is not one of the user's devices". The flow is
/// no longer `Serialize` (see the compile-fail doctests on `DeviceAuthentication`); its stored
/// form is the whole flow, and a reloaded flow selects like the original.
#[test]
fn a_reloaded_flow_still_selects() {
    let devices = vec![dev(1, DeviceType::Email), dev(2, DeviceType::Sms)];
    let flow =
        DeviceAuthentication::start_with(snapshot(devices, true), prompt(), flow_id(), now())
            .unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    let text = serde_json::to_string(&flow.to_stored()).unwrap();
    let mut reloaded =
        DeviceAuthentication::from_stored(serde_json::from_str(&text).unwrap()).unwrap();
    reloaded.select(SelectDevice::new(id(2)), now()).unwrap();
    assert_eq!(reloaded.status(), AuthenticationStatus::OtpRequired);
    // The body alone still reads PingOne's JSON, as plain data.
    let body: DeviceAuthenticationBody = serde_json::from_str(FIXTURE).unwrap();
    assert_eq!(body.status, AuthenticationStatus::OtpRequired);
}

// ---------------------------------------------------------------- usable rule ---------------

#[test]
fn usable_needs_active_unlocked_unblocked() {
    let p = policy();
    let d = dev(1, DeviceType::Sms);
    assert_eq!(usability(&d, &p, None, now()), Ok(()));
    let mut inactive = d.clone();
    inactive.status = DeviceStatus::ActivationRequired;
    assert_eq!(
        usability(&inactive, &p, None, now()),
        Err(Unusable::NotActive)
    );
    let until = now() + TimeDelta::minutes(2);
    let l = locked(d.clone(), until);
    assert_eq!(
        usability(&l, &p, None, now()),
        Err(Unusable::Locked { until: Some(until) })
    );
    assert!(usability(&l, &p, None, until - TimeDelta::milliseconds(1)).is_err());
    assert_eq!(
        usability(&l, &p, None, until),
        Ok(()),
        "a lock ends at expiresAt"
    );
    assert_eq!(
        usability(&blocked(d), &p, None, now()),
        Err(Unusable::Blocked)
    );
}

#[test]
fn usable_needs_the_method_enabled() {
    type Disable = fn(&mut FlowPolicy);
    let cases: [(DeviceType, Disable); 10] = [
        (DeviceType::Email, |p| p.email.enabled = false),
        (DeviceType::Sms, |p| p.sms.enabled = false),
        (DeviceType::Voice, |p| p.voice.enabled = false),
        (DeviceType::Whatsapp, |p| p.whatsapp.enabled = false),
        (DeviceType::Totp, |p| p.totp.enabled = false),
        (DeviceType::OathToken, |p| p.totp.enabled = false),
        (DeviceType::Fido2, |p| p.fido2.enabled = false),
        (DeviceType::Platform, |p| p.fido2.enabled = false),
        (DeviceType::SecurityKey, |p| p.fido2.enabled = false),
        (DeviceType::Mobile, |p| p.mobile.enabled = false),
    ];
    for (t, disable) in cases {
        let d = dev(1, t.clone());
        assert!(is_usable(&d, &policy(), None, now()), "{t} enabled");
        let mut p = policy();
        disable(&mut p);
        assert_eq!(
            usability(&d, &p, None, now()),
            Err(Unusable::MethodDisabled),
            "{t} disabled"
        );
    }
    for t in [DeviceType::Browser, DeviceType::Other("RING".into())] {
        assert_eq!(
            usability(&dev(1, t), &policy(), None, now()),
            Err(Unusable::UnsupportedType)
        );
    }
}

#[test]
fn mobile_needs_an_allowed_application() {
    let d = dev(1, DeviceType::Mobile);
    let mut p = policy();
    p.mobile.applications = vec![MobileApp::new("other-app")];
    assert_eq!(
        usability(&d, &p, None, now()),
        Err(Unusable::ApplicationNotAllowed)
    );
    p.mobile.applications = vec![MobileApp {
        push: false,
        otp: false,
        ..MobileApp::new("app-1")
    }];
    assert_eq!(
        usability(&d, &p, None, now()),
        Err(Unusable::ApplicationNotAllowed)
    );
    p.mobile.applications[0].otp = true;
    assert_eq!(usability(&d, &p, None, now()), Ok(()));
    let mut no_app = d.clone();
    no_app.details = DeviceDetails::Mobile(Box::default());
    assert_eq!(
        usability(&no_app, &p, None, now()),
        Err(Unusable::ApplicationNotAllowed)
    );
}

#[test]
fn compatibility_hides_webauthn_devices() {
    let p = policy();
    let platform = fido2(1, Some(false));
    let roaming = fido2(2, Some(true));
    let unknown = fido2(3, None);
    let legacy_platform = dev(4, DeviceType::Platform);
    let legacy_key = dev(5, DeviceType::SecurityKey);
    let sms = dev(6, DeviceType::Sms);
    let all = [
        &platform,
        &roaming,
        &unknown,
        &legacy_platform,
        &legacy_key,
        &sms,
    ];
    let usable_under = |c: Option<Compatibility>| -> Vec<u8> {
        all.iter()
            .filter(|d| is_usable(d, &p, c.as_ref(), now()))
            .map(|d| d.id.as_uuid().as_bytes()[0])
            .collect()
    };
    assert_eq!(usable_under(None), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(
        usable_under(Some(Compatibility::Full)),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        usable_under(Some(Compatibility::SecurityKeyOnly)),
        vec![2, 3, 5, 6]
    );
    assert_eq!(usable_under(Some(Compatibility::None)), vec![6]);
    assert_eq!(
        usability(&roaming, &p, Some(&Compatibility::None), now()),
        Err(Unusable::HiddenByCompatibility(Compatibility::None))
    );
}

#[test]
fn temporary_reasons_are_only_lock_and_block() {
    let p = policy();
    let later = now() + TimeDelta::minutes(5);
    let mut disabled = policy();
    disabled.sms.enabled = false;
    // A locked device whose method is disabled is not temporarily unusable.
    let l = locked(dev(1, DeviceType::Sms), later);
    assert!(usability(&l, &p, None, now()).unwrap_err().is_temporary());
    assert!(
        !usability(&l, &disabled, None, now())
            .unwrap_err()
            .is_temporary()
    );
    let mut inactive_blocked = blocked(dev(2, DeviceType::Sms));
    inactive_blocked.status = DeviceStatus::ActivationRequired;
    assert!(
        !usability(&inactive_blocked, &p, None, now())
            .unwrap_err()
            .is_temporary()
    );
}

// ---------------------------------------------------------------- start ---------------------

#[test]
fn default_to_first_selects_the_first_usable_device_of_the_order() {
    let devices = vec![
        dev(1, DeviceType::Email),
        dev(2, DeviceType::Sms),
        dev(3, DeviceType::Totp),
    ];
    let mut s = snapshot(devices.clone(), true);
    s.order = vec![id(3), id(1), id(2)];
    let flow = DeviceAuthentication::start_with(s.clone(), policy(), flow_id(), now()).unwrap();
    assert_eq!(flow.selected_device(), Some(id(3)));
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator));
    // The default is locked: the next usable device of the order.
    s.devices[2] = locked(devices[2].clone(), now() + TimeDelta::minutes(1));
    let flow = DeviceAuthentication::start_with(s, policy(), flow_id(), now()).unwrap();
    assert_eq!(flow.selected_device(), Some(id(1)));
    assert_eq!(flow.otp_source(), Some(OtpSource::Sent));
    assert_eq!(embedded_ids(&flow), vec![id(1), id(2)]);
    assert_eq!(flow.body().policy.unwrap().id, policy().id.unwrap());
    assert_eq!(flow.created_at(), now());
}

#[test]
fn an_unordered_user_must_select() {
    let devices = vec![dev(1, DeviceType::Email), dev(2, DeviceType::Sms)];
    for mode in [
        SelectionMode::DefaultToFirst,
        SelectionMode::PromptToSelect,
        SelectionMode::AlwaysDisplayDevices,
    ] {
        let p = FlowPolicy {
            selection: mode,
            ..policy()
        };
        let flow =
            DeviceAuthentication::start_with(snapshot(devices.clone(), false), p, flow_id(), now())
                .unwrap();
        assert_eq!(
            flow.status(),
            AuthenticationStatus::DeviceSelectionRequired,
            "{mode:?}"
        );
        assert_eq!(flow.selected_device(), None);
        assert_eq!(embedded_ids(&flow), vec![id(1), id(2)]);
    }
}

#[test]
fn prompt_to_select_prompts_only_when_there_is_a_choice() {
    let p = FlowPolicy {
        selection: SelectionMode::PromptToSelect,
        ..policy()
    };
    let two = start(
        vec![dev(1, DeviceType::Email), dev(2, DeviceType::Sms)],
        p.clone(),
    );
    assert_eq!(two.status(), AuthenticationStatus::DeviceSelectionRequired);
    let one = start(
        vec![blocked(dev(1, DeviceType::Email)), dev(2, DeviceType::Sms)],
        p,
    );
    assert_eq!(one.status(), AuthenticationStatus::OtpRequired);
    assert_eq!(one.selected_device(), Some(id(2)));
}

#[test]
fn always_display_devices_prompts_even_for_one_device() {
    let flow = start(vec![dev(1, DeviceType::Email)], prompt());
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    let v = flow.to_json(&base());
    assert_eq!(v["_embedded"]["devices"][0]["email"], "u****@example.com");
    assert_eq!(
        v["_links"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["self", "device.select"]
    );
}

#[test]
fn no_usable_device_fails_listing_exactly_the_locked_and_blocked_ones() {
    let mut inactive = dev(4, DeviceType::Sms);
    inactive.status = DeviceStatus::ActivationRequired;
    let mut disabled_policy = policy();
    disabled_policy.voice.enabled = false;
    let devices = vec![
        locked(dev(1, DeviceType::Email), now() + TimeDelta::minutes(2)),
        blocked(dev(2, DeviceType::Sms)),
        dev(3, DeviceType::Voice), // method disabled
        inactive,                  // activation required
        locked(dev(5, DeviceType::Voice), now() + TimeDelta::hours(1)), // locked but disabled
        dev(6, DeviceType::Browser),
    ];
    let flow = start(devices, disabled_policy);
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    assert_eq!(flow.selected_device(), None);
    let v = flow.to_json(&base());
    assert_eq!(v["status"], "FAILED");
    assert_eq!(
        v["error"],
        json!({
            "code": "NO_USABLE_DEVICES",
            "message": "Couldn't find authenticating device for user: 788d4931-6936-43f2-82ff-178f5762298a",
            "unavailableDevices": [{"id": id(1)}, {"id": id(2)}]
        })
    );
    assert_eq!(
        v["_links"],
        json!({"self": {"href": format!(
        "https://auth.pingone.com/{}/deviceAuthentications/{}", env(), flow_id())}})
    );
    assert_eq!(v["_embedded"]["devices"], json!([]));
}

#[test]
fn no_devices_at_all_fails_without_unavailable_devices() {
    let flow = start(vec![], policy());
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    let v = flow.to_json(&base());
    assert_eq!(v["error"]["code"], "NO_USABLE_DEVICES");
    assert!(v["error"].get("unavailableDevices").is_none());
}

#[test]
fn an_expired_lock_does_not_make_a_device_unavailable() {
    let flow = start(vec![locked(dev(1, DeviceType::Email), now())], policy());
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
}

// ---------------------------------------------------------------- select --------------------

#[test]
fn select_moves_to_the_challenge_of_the_device_type() {
    let mut mobile_otp_only = dev(9, DeviceType::Mobile);
    if let DeviceDetails::Mobile(m) = &mut mobile_otp_only.details {
        m.push_enabled = Some(false);
    }
    let devices = vec![
        dev(1, DeviceType::Email),
        dev(2, DeviceType::Sms),
        dev(3, DeviceType::Voice),
        dev(4, DeviceType::Whatsapp),
        dev(5, DeviceType::Totp),
        dev(6, DeviceType::OathToken),
        dev(7, DeviceType::Mobile),
        fido2(8, Some(true)),
        mobile_otp_only,
        dev(10, DeviceType::SecurityKey),
    ];
    use AuthenticationStatus as S;
    let expected = [
        (1, S::OtpRequired, Some(OtpSource::Sent)),
        (2, S::OtpRequired, Some(OtpSource::Sent)),
        (3, S::OtpRequired, Some(OtpSource::Sent)),
        (4, S::OtpRequired, Some(OtpSource::Sent)),
        (5, S::OtpRequired, Some(OtpSource::Authenticator)),
        (6, S::OtpRequired, Some(OtpSource::Authenticator)),
        (7, S::PushConfirmationRequired, None),
        (8, S::AssertionRequired, None),
        (9, S::OtpRequired, Some(OtpSource::Authenticator)),
        (10, S::AssertionRequired, None),
    ];
    for (n, status, source) in expected {
        let mut flow = start(devices.clone(), prompt());
        flow.select(SelectDevice::new(id(n)), now() + TimeDelta::seconds(1))
            .unwrap();
        assert_eq!(flow.status(), status, "device {n}");
        assert_eq!(flow.otp_source(), source, "device {n}");
        assert_eq!(flow.selected_device(), Some(id(n)));
        assert_eq!(flow.updated_at(), now() + TimeDelta::seconds(1));
    }
    // The application disables push: OTP.
    let mut p = prompt();
    p.mobile.applications[0].push = false;
    let mut flow = start(devices, p);
    flow.select(SelectDevice::new(id(7)), now()).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
}

#[test]
fn select_refuses_unknown_and_unusable_devices_and_changes_nothing() {
    let devices = vec![
        dev(1, DeviceType::Email),
        blocked(dev(2, DeviceType::Sms)),
        fido2(3, Some(false)),
    ];
    let mut flow = start(devices, prompt());
    let before = flow.clone();
    let err = flow.select(SelectDevice::new(id(77)), now()).unwrap_err();
    assert_eq!(err, FlowError::UnknownDevice(id(77)));
    let api = ApiError::from(err);
    assert_eq!((api.code(), api.http_status()), ("INVALID_DATA", 400));
    assert_eq!(api.details[0].code.as_str(), "INVALID_VALUE");
    assert_eq!(api.details[0].target.as_deref(), Some("device.id"));
    let err = flow.select(SelectDevice::new(id(2)), now()).unwrap_err();
    assert_eq!(
        err,
        FlowError::UnusableDevice {
            id: id(2),
            reason: Unusable::Blocked
        }
    );
    assert!(ApiError::from(err).details[0].message.contains("blocked"));
    let hidden = SelectDevice {
        device: DeviceRef { id: id(3) },
        compatibility: Some(Compatibility::SecurityKeyOnly),
    };
    assert!(matches!(
        flow.select(hidden, now()),
        Err(FlowError::UnusableDevice {
            reason: Unusable::HiddenByCompatibility(Compatibility::SecurityKeyOnly),
            ..
        })
    ));
    assert_eq!(flow, before, "refused selections change nothing");
}

#[test]
fn select_echoes_compatibility_and_it_filters_later_lists() {
    let mut flow = start(
        vec![dev(1, DeviceType::Email), fido2(2, Some(true))],
        prompt(),
    );
    let req = SelectDevice {
        device: DeviceRef { id: id(1) },
        compatibility: Some(Compatibility::None),
    };
    flow.select(req, now()).unwrap();
    assert_eq!(flow.compatibility(), Some(&Compatibility::None));
    assert_eq!(embedded_ids(&flow), vec![id(1)]);
    assert_eq!(flow.to_json(&base())["compatibility"], "NONE");
    // Without compatibility the flow's stays.
    assert!(flow.select(SelectDevice::new(id(2)), now()).is_err());
}

#[test]
fn terminal_flows_refuse_every_action() {
    let mut flow = start(vec![dev(1, DeviceType::Totp)], policy());
    flow.check_authenticator_otp_with("1", |_| true, now())
        .unwrap()
        .result
        .unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::Completed);
    let before = flow.clone();
    let err = flow.select(SelectDevice::new(id(1)), now()).unwrap_err();
    let api = ApiError::from(err);
    assert_eq!((api.code(), api.http_status()), ("INVALID_REQUEST", 400));
    assert!(api.message.contains("COMPLETED"), "{}", api.message);
    assert!(matches!(
        flow.check_otp("1", now()),
        Err(FlowError::NotAllowed { .. })
    ));
    assert!(flow.push_approved(now()).is_err());
    assert!(flow.push_denied(now()).is_err());
    assert!(flow.cancel_push(CancelPush::default(), now()).is_err());
    assert!(flow.issue_otp(&mut crate::replay(&[1; 20]), now()).is_err());
    assert!(flow.expire(now() + TimeDelta::days(1)).is_empty());
    assert_eq!(flow, before);
    assert_eq!(
        flow.to_json(&base())["_links"].as_object().unwrap().len(),
        1
    );
}

// ---------------------------------------------------------------- OTP -----------------------

fn email_flow(devices: Vec<Device>) -> DeviceAuthentication {
    let flow = start(devices, policy());
    assert_eq!(flow.otp_source(), Some(OtpSource::Sent));
    flow
}

#[test]
fn otp_issue_and_check() {
    let mut flow = email_flow(vec![dev(1, DeviceType::Email)]);
    assert_eq!(
        flow.check_otp("123456", now()),
        Err(FlowError::OtpNotIssued)
    );
    assert_eq!(ApiError::from(FlowError::OtpNotIssued).http_status(), 400);
    let sent = flow
        .issue_otp(&mut crate::replay(&[250, 251, 1, 2, 3, 4, 5, 6, 7]), now())
        .unwrap();
    assert_eq!(sent.code, "123456", "bytes 250.. are skipped");
    assert_eq!(sent.device, id(1));
    assert_eq!(sent.expires_at, now() + TimeDelta::minutes(30));
    assert!(!sent.test_mode);
    assert!(!format!("{sent:?}").contains("123456"));
    assert!(flow.to_json(&base()).get("test").is_none());
    let ok = flow
        .check_otp("123456", now() + TimeDelta::minutes(1))
        .unwrap();
    assert_eq!(
        ok,
        Outcome {
            records: vec![DeviceRecord::OtpSuccess { device: id(1) }],
            result: Ok(())
        }
    );
    assert_eq!(flow.status(), AuthenticationStatus::Completed);
}

#[test]
fn otp_length_and_lifetime_come_from_the_policy() {
    let mut p = policy();
    p.sms.otp_length = 8;
    p.sms.life_time = TimeDelta::minutes(5);
    let mut flow = start(vec![dev(1, DeviceType::Sms)], p);
    let sent = flow.issue_otp(&mut crate::replay(&[7; 16]), now()).unwrap();
    assert_eq!(sent.code, "77777777");
    assert_eq!(
        flow.check_otp("77777777", now() + TimeDelta::minutes(5))
            .unwrap()
            .result,
        Err(FlowError::OtpExpired)
    );
}

#[test]
fn too_little_randomness_is_a_server_error() {
    let mut flow = email_flow(vec![dev(1, DeviceType::Email)]);
    let err = flow
        .issue_otp(&mut crate::replay(&[255; 40]), now())
        .unwrap_err();
    assert!(matches!(err, FlowError::Internal(_)));
    assert_eq!(ApiError::from(err).http_status(), 500);
}

#[test]
fn wrong_otp_counts_down_then_locks_and_fails_without_other_devices() {
    let mut p = policy();
    p.email.failure = FailureRule::new(3, TimeDelta::minutes(2)).unwrap();
    let mut flow = start(vec![dev(1, DeviceType::Email)], p);
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    for remaining in [2, 1] {
        let o = flow.check_otp("999999", now()).unwrap();
        assert_eq!(
            o.result,
            Err(FlowError::InvalidOtp {
                remaining_attempts: remaining
            })
        );
        assert_eq!(
            o.records,
            vec![DeviceRecord::OtpFailure {
                device: id(1),
                at: now(),
                rule: FailureRule::new(3, TimeDelta::minutes(2)).unwrap()
            }]
        );
        assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
        let api = ApiError::from(o.result.unwrap_err());
        assert_eq!(api.code(), "INVALID_DATA");
        assert_eq!(api.details[0].code.as_str(), "INVALID_OTP");
        assert_eq!(api.details[0].target.as_deref(), Some("otp"));
        assert_eq!(
            api.details[0].inner_error.as_ref().unwrap()["remainingAttempts"],
            remaining
        );
    }
    let o = flow.check_otp("999999", now()).unwrap();
    let until = now() + TimeDelta::minutes(2);
    assert_eq!(
        o.result,
        Err(FlowError::OtpFailed {
            locked_until: Some(until)
        })
    );
    assert_eq!(o.records.len(), 1);
    let api = ApiError::from(o.result.unwrap_err());
    assert_eq!(
        api.details[0].inner_error.as_ref().unwrap()["coolDownExpiresAt"],
        "2025-03-05T12:02:00.000Z"
    );
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    let v = flow.to_json(&base());
    assert_eq!(v["error"]["code"], "NO_USABLE_DEVICES");
    assert_eq!(v["error"]["unavailableDevices"], json!([{"id": id(1)}]));
    assert!(flow.devices()[0].is_locked(now()));
}

#[test]
fn a_lock_with_another_usable_device_asks_for_a_selection() {
    let mut p = policy();
    p.email.failure = FailureRule::new(1, TimeDelta::minutes(2)).unwrap();
    let mut flow = start(vec![dev(1, DeviceType::Email), dev(2, DeviceType::Sms)], p);
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    let o = flow.check_otp("000000", now()).unwrap();
    assert!(matches!(
        o.result,
        Err(FlowError::OtpFailed {
            locked_until: Some(_)
        })
    ));
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    assert_eq!(flow.selected_device(), Some(id(1)), "the device last tried");
    assert_eq!(embedded_ids(&flow), vec![id(2)]);
    assert!(matches!(
        flow.select(SelectDevice::new(id(1)), now()),
        Err(FlowError::UnusableDevice {
            reason: Unusable::Locked { .. },
            ..
        })
    ));
    // After the cool-down the device is usable again.
    flow.select(SelectDevice::new(id(1)), now() + TimeDelta::minutes(2))
        .unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
}

#[test]
fn zero_cool_down_fails_the_challenge_without_locking() {
    let mut flow = email_flow(vec![dev(1, DeviceType::Email)]);
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    for _ in 0..2 {
        let _ = flow.check_otp("0", now()).unwrap();
    }
    let o = flow.check_otp("0", now()).unwrap();
    assert_eq!(o.result, Err(FlowError::OtpFailed { locked_until: None }));
    let api = ApiError::from(o.result.unwrap_err());
    assert!(api.details[0].inner_error.is_none());
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    assert!(!flow.devices()[0].is_locked(now()));
    // The same device again: a fresh challenge.
    flow.select(SelectDevice::new(id(1)), now()).unwrap();
    flow.issue_otp(&mut crate::replay(&[2; 6]), now()).unwrap();
    assert_eq!(
        flow.check_otp("0", now()).unwrap().result,
        Err(FlowError::InvalidOtp {
            remaining_attempts: 2
        })
    );
}

#[test]
fn expired_otp_is_not_counted_and_resends_keep_counting() {
    let mut flow = email_flow(vec![dev(1, DeviceType::Email)]);
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    let late = now() + TimeDelta::minutes(30);
    let o = flow.check_otp("111111", late).unwrap();
    assert_eq!(o.result, Err(FlowError::OtpExpired));
    assert!(o.records.is_empty());
    let api = ApiError::from(FlowError::OtpExpired);
    assert_eq!(api.details[0].code.as_str(), "INVALID_OTP");
    assert!(api.details[0].message.contains("expired"));
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    // Resend, one wrong, resend: the count carries over.
    flow.issue_otp(&mut crate::replay(&[2; 6]), late).unwrap();
    let _ = flow.check_otp("0", late).unwrap();
    flow.issue_otp(&mut crate::replay(&[3; 6]), late).unwrap();
    assert_eq!(
        flow.check_otp("222222", late).unwrap().result,
        Err(FlowError::InvalidOtp {
            remaining_attempts: 1
        }),
        "the old code is gone and failures carried over"
    );
    assert!(flow.check_otp("333333", late).unwrap().is_success());
}

#[test]
fn test_mode_devices_expose_the_otp() {
    let mut d = dev(1, DeviceType::Sms);
    if let DeviceDetails::Phone(p) = &mut d.details {
        p.test_mode = Some(true);
    }
    let mut flow = start(vec![d], policy());
    let sent = flow.issue_otp(&mut crate::replay(&[4; 6]), now()).unwrap();
    assert!(sent.test_mode);
    assert_eq!(flow.to_json(&base())["test"], json!({"otp": "444444"}));
    assert!(flow.check_otp("444444", now()).unwrap().is_success());
    assert!(flow.to_json(&base()).get("test").is_none());
}

#[test]
fn the_wrong_check_api_is_a_server_error() {
    let mut totp = start(vec![dev(1, DeviceType::Totp)], policy());
    assert!(matches!(
        totp.check_otp("1", now()),
        Err(FlowError::Internal(_))
    ));
    assert!(matches!(
        totp.issue_otp(&mut crate::replay(&[1; 6]), now()),
        Err(FlowError::NotAllowed { .. })
    ));
    let mut email = email_flow(vec![dev(1, DeviceType::Email)]);
    assert!(matches!(
        email.check_authenticator_otp_with("1", |_| true, now()),
        Err(FlowError::Internal(_))
    ));
    let mut push = start(vec![dev(1, DeviceType::Mobile)], policy());
    let err = push.check_otp("1", now()).unwrap_err();
    assert_eq!(
        err,
        FlowError::NotAllowed {
            action: "otp.check",
            status: AuthenticationStatus::PushConfirmationRequired
        }
    );
}

#[test]
fn authenticator_otp_uses_the_method_failure_limit() {
    let mut p = policy();
    p.totp.failure = FailureRule::new(2, TimeDelta::minutes(5)).unwrap();
    let mut flow = start(
        vec![dev(1, DeviceType::Totp), dev(2, DeviceType::OathToken)],
        p,
    );
    let mut seen = Vec::new();
    let o = flow
        .check_authenticator_otp_with(
            "123456",
            |c| {
                seen.push(c.to_owned());
                false
            },
            now(),
        )
        .unwrap();
    assert_eq!(seen, vec!["123456"]);
    assert_eq!(
        o.result,
        Err(FlowError::InvalidOtp {
            remaining_attempts: 1
        })
    );
    let o = flow
        .check_authenticator_otp_with("1", |_| false, now())
        .unwrap();
    assert_eq!(
        o.result,
        Err(FlowError::OtpFailed {
            locked_until: Some(now() + TimeDelta::minutes(5))
        })
    );
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    flow.select(SelectDevice::new(id(2)), now()).unwrap();
    assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator));
}

// ---------------------------------------------------------------- push ----------------------

fn push_flow() -> DeviceAuthentication {
    let mut p = policy();
    p.mobile.applications[0].push_timeout = TimeDelta::seconds(120);
    let flow = start(
        vec![dev(1, DeviceType::Mobile), dev(2, DeviceType::Email)],
        p,
    );
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    flow
}

#[test]
fn push_approved_completes() {
    let mut flow = push_flow();
    assert_eq!(flow.push_deadline(), Some(now() + TimeDelta::seconds(120)));
    let v = flow.to_json(&base());
    assert_eq!(
        v["_links"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["self", "device.select"]
    );
    let o = flow.push_approved(now() + TimeDelta::seconds(119)).unwrap();
    assert!(o.is_success() && o.records.is_empty());
    assert_eq!(flow.status(), AuthenticationStatus::Completed);
}

#[test]
fn push_denied_fails_and_records_a_declined_push() {
    let mut flow = push_flow();
    let o = flow.push_denied(now() + TimeDelta::seconds(3)).unwrap();
    assert!(o.is_success());
    assert_eq!(
        o.records,
        vec![DeviceRecord::PushFailure {
            device: id(1),
            at: now() + TimeDelta::seconds(3),
            kind: PushFailureKind::Declined,
            rule: PushLimitRule::DEFAULT
        }]
    );
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    assert_eq!(flow.to_json(&base())["error"]["code"], "PUSH_DENIED");
}

#[test]
fn push_times_out_after_the_application_push_timeout() {
    let mut flow = push_flow();
    assert!(flow.expire(now() + TimeDelta::seconds(119)).is_empty());
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    let records = flow.expire(now() + TimeDelta::seconds(120));
    assert_eq!(records.len(), 1);
    assert!(matches!(
        records[0],
        DeviceRecord::PushFailure {
            kind: PushFailureKind::Ignored,
            ..
        }
    ));
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationTimedOut
    );
    assert!(flow.expire(now() + TimeDelta::hours(1)).is_empty(), "once");
    let v = flow.to_json(&base());
    assert_eq!(v["status"], "PUSH_CONFIRMATION_TIMED_OUT");
    assert_eq!(
        v["_links"].as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["self", "device.select"]
    );
    // The user may select again, the same device or another.
    let mut again = flow.clone();
    again
        .select(SelectDevice::new(id(1)), now() + TimeDelta::seconds(200))
        .unwrap();
    assert_eq!(
        again.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    assert_eq!(again.push_deadline(), Some(now() + TimeDelta::seconds(320)));
    flow.select(SelectDevice::new(id(2)), now() + TimeDelta::seconds(200))
        .unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
}

#[test]
fn a_late_push_answer_times_out() {
    for deny in [false, true] {
        let mut flow = push_flow();
        let late = now() + TimeDelta::seconds(120);
        let o = if deny {
            flow.push_denied(late)
        } else {
            flow.push_approved(late)
        }
        .unwrap();
        assert_eq!(o.records.len(), 1);
        assert!(matches!(
            o.result,
            Err(FlowError::NotAllowed {
                status: AuthenticationStatus::PushConfirmationTimedOut,
                ..
            })
        ));
        assert_eq!(
            flow.status(),
            AuthenticationStatus::PushConfirmationTimedOut
        );
    }
}

#[test]
fn cancel_push_returns_to_selection() {
    let mut flow = push_flow();
    let body =
        Action::from_request(CANCEL_PUSH_MEDIA_TYPE, br#"{"reason":"CHANGE_DEVICE"}"#).unwrap();
    let Action::CancelPush(cancel) = body else {
        panic!()
    };
    assert_eq!(cancel.reason, Some(CancelReason::ChangeDevice));
    flow.cancel_push(cancel.clone(), now()).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    assert_eq!(flow.selected_device(), Some(id(1)));
    assert!(matches!(
        flow.cancel_push(cancel, now()),
        Err(FlowError::NotAllowed {
            action: "push.cancel",
            ..
        })
    ));
    assert!(flow.push_approved(now()).is_err());
}

// ---------------------------------------------------------------- assertion -----------------

#[test]
fn assertion_verified_completes_and_failures_lock_per_fido2_policy() {
    let request: CheckAssertion = serde_json::from_value(json!({
        "origin": "https://app.example.com", "assertion": "{\"id\":\"…\"}", "compatibility": "FULL"
    }))
    .unwrap();
    let mut flow = start(vec![fido2(1, Some(true))], policy());
    assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);
    assert_eq!(
        flow.to_json(&base())["_links"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["self", "device.select", "assertion.check"]
    );
    assert!(
        flow.check_assertion(&request, true, now())
            .unwrap()
            .is_success()
    );
    assert_eq!(flow.status(), AuthenticationStatus::Completed);

    let mut p = policy();
    p.fido2.failure = FailureRule::new(2, TimeDelta::minutes(3)).unwrap();
    let mut flow = start(vec![fido2(1, Some(true))], p);
    let o = flow.check_assertion(&request, false, now()).unwrap();
    assert_eq!(
        o.result,
        Err(FlowError::AssertionRejected {
            remaining_attempts: 1,
            locked_until: None
        })
    );
    let api = ApiError::from(o.result.unwrap_err());
    assert_eq!(api.details[0].target.as_deref(), Some("assertion"));
    let o = flow.check_assertion(&request, false, now()).unwrap();
    assert_eq!(
        o.result,
        Err(FlowError::AssertionRejected {
            remaining_attempts: 0,
            locked_until: Some(now() + TimeDelta::minutes(3))
        })
    );
    assert_eq!(o.records.len(), 1);
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    assert!(matches!(
        flow.check_assertion(&request, true, now()),
        Err(FlowError::NotAllowed { .. })
    ));
}

// ---------------------------------------------------------------- links, requests ------------

#[test]
fn links_per_status() {
    let table = [
        ("DEVICE_SELECTION_REQUIRED", vec!["self", "device.select"]),
        ("OTP_REQUIRED", vec!["self", "device.select", "otp.check"]),
        (
            "ASSERTION_REQUIRED",
            vec!["self", "device.select", "assertion.check"],
        ),
        ("PUSH_CONFIRMATION_REQUIRED", vec!["self", "device.select"]),
        ("PUSH_CONFIRMATION_TIMED_OUT", vec!["self", "device.select"]),
        ("COMPLETED", vec!["self"]),
        ("FAILED", vec!["self"]),
    ];
    for (status, rels) in table {
        let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
        v["status"] = json!(status);
        let flow: DeviceAuthenticationBody = serde_json::from_value(v).unwrap();
        let out = flow.to_json(&ApiBase::new("https://auth.pingone.eu/"));
        let links = out["_links"].as_object().unwrap();
        assert_eq!(links.keys().collect::<Vec<_>>(), rels, "{status}");
        for l in links.values() {
            assert_eq!(
                l["href"],
                "https://auth.pingone.eu/abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6/deviceAuthentications/03e1897e-33b0-40b9-b54e-68236769b1fa"
            );
        }
    }
    assert_eq!(AuthenticationStatus::KNOWN.len(), 7);
}

#[test]
fn requests_by_media_type() {
    let id = "ea055ca3-2b5b-4766-9628-95fc03f4ec9b";
    let body = format!(r#"{{"device":{{"id":"{id}"}},"compatibility":"FULL"}}"#);
    let a = Action::from_request(
        "Application/Vnd.PingIdentity.Device.Select+JSON; charset=utf-8",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(
        a,
        Action::Select(SelectDevice {
            device: DeviceRef {
                id: id.parse().unwrap()
            },
            compatibility: Some(Compatibility::Full)
        })
    );
    assert!(matches!(
        Action::from_request(OTP_CHECK_MEDIA_TYPE, br#"{"otp":"123"}"#),
        Ok(Action::CheckOtp(CheckOtp { .. }))
    ));
    assert!(matches!(
        Action::from_request(
            ASSERTION_CHECK_MEDIA_TYPE,
            br#"{"origin":"o","assertion":"a"}"#
        ),
        Ok(Action::CheckAssertion(_))
    ));
    assert_eq!(
        Action::from_request(CANCEL_PUSH_MEDIA_TYPE, b" "),
        Ok(Action::CancelPush(CancelPush::default()))
    );
    let e: ApiError = Action::from_request("application/json", b"{}").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("INVALID_REQUEST", 415));
    let e: ApiError = Action::from_request(OTP_CHECK_MEDIA_TYPE, b"{}").unwrap_err();
    assert_eq!((e.code(), e.http_status()), ("INVALID_REQUEST", 400));
    assert!(e.message.contains("otp"));
}

#[test]
fn select_bodies_name_the_bad_property() {
    let cases: [(&[u8], &str, &str); 8] = [
        (b"{}", "REQUIRED_VALUE", "device.id"),
        (br#"{"device":null}"#, "REQUIRED_VALUE", "device.id"),
        (br#"{"device":{}}"#, "REQUIRED_VALUE", "device.id"),
        (br#"{"device":"x"}"#, "INVALID_VALUE", "device"),
        (br#"{"device":{"id":"nope"}}"#, "INVALID_VALUE", "device.id"),
        (br#"{"device":{"id":7}}"#, "INVALID_VALUE", "device.id"),
        (
            br#"{"device":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"},"compatibility":3}"#,
            "INVALID_VALUE",
            "compatibility",
        ),
        (
            // Decision (issue 12 point 14): a client's unknown value is refused.
            br#"{"device":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"},"compatibility":"SOMETIMES"}"#,
            "INVALID_VALUE",
            "compatibility",
        ),
    ];
    for (body, code, target) in cases {
        match SelectDevice::from_json(body) {
            Ok(s) => panic!("{}: accepted {s:?}", String::from_utf8_lossy(body)),
            Err(api) => {
                assert_eq!(api.code(), "INVALID_DATA");
                assert_eq!(
                    api.details[0].code.as_str(),
                    code,
                    "{}",
                    String::from_utf8_lossy(body)
                );
                assert_eq!(api.details[0].target.as_deref(), Some(target));
            }
        }
    }
    for bad in [&b"not json"[..], b"[1]", b""] {
        let api: ApiError = SelectDevice::from_json(bad).unwrap_err();
        assert_eq!((api.code(), api.http_status()), ("INVALID_REQUEST", 400));
    }
    // A long non-UUID id is quoted cut, as every echo of input is (was: up to the 1,024
    // characters of a message).
    let long = format!(r#"{{"device":{{"id":"{}"}}}}"#, "x".repeat(10_000));
    let api = SelectDevice::from_json(long.as_bytes()).unwrap_err();
    let message = &api.details[0].message;
    assert!(
        message.len() < 200 && message.contains("more bytes"),
        "{message}"
    );
}

#[test]
fn errors_display_what_and_where() {
    let e = FlowError::UnusableDevice {
        id: id(1),
        reason: Unusable::Locked { until: Some(now()) },
    };
    assert_eq!(
        e.to_string(),
        format!(
            "device {} cannot be used to authenticate: the device is locked until 2025-03-05T12:00:00.000Z",
            id(1)
        )
    );
    let e: &dyn std::error::Error = &FlowError::OtpExpired;
    assert!(e.to_string().contains("expired"));
}

#[test]
fn the_flow_continues_the_aggregate_failure_counter() {
    let mut p = policy();
    p.email.failure = FailureRule::new(3, TimeDelta::minutes(2)).unwrap();
    let mut s = snapshot(vec![dev(1, DeviceType::Email)], true);
    s.otp_failures.insert(id(1), 2);
    let mut flow = DeviceAuthentication::start_with(s, p, flow_id(), now()).unwrap();
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    let o = flow.check_otp("0", now()).unwrap();
    assert_eq!(
        o.result,
        Err(FlowError::OtpFailed {
            locked_until: Some(now() + TimeDelta::minutes(2))
        }),
        "two earlier failures + this one reach the count"
    );
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
}

#[test]
fn a_success_restarts_the_counter_and_push_approval_records_nothing() {
    let mut flow = start(vec![dev(1, DeviceType::Totp)], policy());
    let _ = flow
        .check_authenticator_otp_with("0", |_| false, now())
        .unwrap();
    let o = flow
        .check_authenticator_otp_with("1", |_| true, now())
        .unwrap();
    assert_eq!(o.records, vec![DeviceRecord::OtpSuccess { device: id(1) }]);
    let mut push = start(vec![dev(1, DeviceType::Mobile)], policy());
    assert!(push.push_approved(now()).unwrap().records.is_empty());
}

// ---------------------------------------------------------------- sync ----------------------

#[test]
fn sync_applies_locks_the_aggregate_set() {
    // A push-limit lock after a timeout: the only device is locked by the aggregate.
    let mut flow = start(vec![dev(1, DeviceType::Mobile)], policy());
    let later = now() + TimeDelta::seconds(40);
    assert_eq!(flow.expire(later).len(), 1);
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationTimedOut
    );
    let mut s = snapshot(flow.devices().to_vec(), true);
    assert!(!flow.sync(&s, later), "nothing changed");
    s.devices[0].lock = Some(LockState::locked(
        later + TimeDelta::minutes(30),
        LockReason::Push,
    ));
    assert!(flow.sync(&s, later));
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
    assert_eq!(
        flow.error().unwrap().unavailable_devices,
        vec![IdRef::new(id(1))]
    );
    // Terminal flows are left alone.
    s.devices.clear();
    let before = flow.clone();
    assert!(!flow.sync(&s, later));
    assert_eq!(flow, before);
}

#[test]
fn sync_ends_a_challenge_whose_device_became_unusable() {
    let mut flow = start(
        vec![dev(1, DeviceType::Email), dev(2, DeviceType::Sms)],
        policy(),
    );
    assert_eq!(flow.selected_device(), Some(id(1)));
    let mut s = snapshot(flow.devices().to_vec(), true);
    s.devices[0] = blocked(s.devices[0].clone());
    s.otp_failures.insert(id(2), 1);
    assert!(flow.sync(&s, now()));
    assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    assert_eq!(embedded_ids(&flow), vec![id(2)]);
    // Counters came along: one more wrong passcode leaves one attempt.
    flow.select(SelectDevice::new(id(2)), now()).unwrap();
    flow.issue_otp(&mut crate::replay(&[1; 6]), now()).unwrap();
    assert_eq!(
        flow.check_otp("0", now()).unwrap().result,
        Err(FlowError::InvalidOtp {
            remaining_attempts: 1
        })
    );
    // A deleted device disappears from the flow.
    s.devices.remove(0);
    flow.sync(&s, now());
    assert_eq!(flow.devices().len(), 1);
    assert_eq!(
        flow.select(SelectDevice::new(id(1)), now()),
        Err(FlowError::UnknownDevice(id(1)))
    );
}

// ---------------------------------------------------------------- storage -------------------

#[test]
fn stored_flows_read_back_equal_in_every_state() {
    let restore = |f: &DeviceAuthentication| {
        let text = serde_json::to_string(&f.to_stored()).unwrap();
        DeviceAuthentication::from_stored(serde_json::from_str(&text).unwrap()).unwrap()
    };
    let mut p = policy();
    p.mobile.applications[0].push_timeout = TimeDelta::milliseconds(40_500);
    p.sms.failure = FailureRule::new(2, TimeDelta::seconds(90)).unwrap();
    let t = now() + TimeDelta::nanoseconds(123_456_789);
    let devices = vec![
        dev(1, DeviceType::Mobile),
        dev(2, DeviceType::Sms),
        fido2(3, Some(true)),
    ];
    let mut flow =
        DeviceAuthentication::start_with(snapshot(devices, true), p, flow_id(), t).unwrap();
    assert_eq!(
        flow.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    let mut restored = restore(&flow);
    assert_eq!(restored, flow);
    assert_eq!(restored.push_deadline(), flow.push_deadline());
    assert_eq!(
        restored.expire(t + TimeDelta::milliseconds(40_500)).len(),
        1
    );
    flow.select(SelectDevice::new(id(2)), t).unwrap();
    let sent = flow.issue_otp(&mut crate::replay(&[8; 12]), t).unwrap();
    let _ = flow.check_otp("0", t).unwrap();
    let mut restored = synced(restore(&flow), t);
    assert_eq!(restored, flow);
    assert_eq!(
        restored.check_otp("1", t).unwrap().result,
        Err(FlowError::OtpFailed {
            // The lock end to the millisecond, as the aggregate records it.
            locked_until: Some(now() + TimeDelta::milliseconds(90_123))
        }),
        "the counter and the policy came back"
    );
    assert!(flow.check_otp(&sent.code, t).unwrap().is_success());
    assert_eq!(restore(&flow), flow);
    let stored = serde_json::to_value(flow.to_stored()).unwrap();
    assert_eq!(stored["version"], StoredFlow::CURRENT_VERSION);
    assert_eq!(stored["resource"]["status"], "COMPLETED");
    assert!(stored["resource"].get("_links").is_none());
    // A form without its state is corrupt: refused when read, naming the version.
    let err =
        serde_json::from_value::<StoredFlow>(json!({"version": 2, "resource": stored["resource"]}))
            .unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
}

/// Issue 10 §4: a stored form of an older version keeps loading. The fixture is what
/// `to_stored` wrote before the stored form was typed and versioned (version 1, passcode in
/// clear); each flow loads and continues where it stopped.
#[test]
fn version_1_stored_flows_load_and_continue() {
    let fixture: Vec<Value> =
        serde_json::from_str(include_str!("../fixtures/authn/stored_flow_v1.json")).unwrap();
    let at = now() + TimeDelta::milliseconds(250);
    let load = |v: &Value| {
        let stored: StoredFlow = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            stored.version(),
            StoredFlow::CURRENT_VERSION,
            "converted on reading"
        );
        synced(DeviceAuthentication::from_stored(stored).unwrap(), at)
    };
    // 1. Email, passcode 123456, one wrong passcode of 3 counted.
    let mut email = load(&fixture[0]);
    assert_eq!(email.status(), AuthenticationStatus::OtpRequired);
    assert_eq!(email.otp_source(), Some(OtpSource::Sent));
    let resaved = serde_json::to_string(&email.to_stored()).unwrap();
    assert!(!resaved.contains("123456"), "sealed when read: {resaved}");
    let mut wrong = email.clone();
    assert_eq!(
        wrong.check_otp("000000", at).unwrap().result,
        Err(FlowError::InvalidOtp {
            remaining_attempts: 1
        })
    );
    let ok = email.check_otp("123456", at).unwrap();
    assert!(ok.is_success());
    assert_eq!(ok.records, vec![DeviceRecord::OtpSuccess { device: id(1) }]);
    // 2. A push awaiting an answer: its deadline and its application's push limit came back.
    let mut push = load(&fixture[1]);
    assert_eq!(
        push.status(),
        AuthenticationStatus::PushConfirmationRequired
    );
    assert_eq!(push.compatibility(), Some(&Compatibility::Full));
    assert_eq!(push.push_deadline(), Some(at + TimeDelta::seconds(40)));
    assert_eq!(
        push.push_denied(at).unwrap().records,
        vec![DeviceRecord::PushFailure {
            device: id(2),
            at,
            kind: PushFailureKind::Declined,
            rule: PushLimitRule::DEFAULT
        }]
    );
    // 3. TOTP with two wrong passcodes of 3: the next one locks for 2 minutes.
    let mut totp = load(&fixture[2]);
    assert_eq!(totp.otp_source(), Some(OtpSource::Authenticator));
    assert_eq!(
        totp.check_authenticator_otp_with("1", |_| false, at)
            .unwrap()
            .result,
        Err(FlowError::OtpFailed {
            locked_until: Some(at + TimeDelta::minutes(2))
        })
    );
    // What the fixture stood for is now written as version 2, and reads back equal.
    for v in &fixture {
        let flow = load(v);
        let text = serde_json::to_value(flow.to_stored()).unwrap();
        assert_eq!(text["version"], 2);
        assert_eq!(
            DeviceAuthentication::from_stored(serde_json::from_value(text).unwrap()).unwrap(),
            flow
        );
    }
}

/// Issue 12 point 4: the flow mirrored an OTP lock without the aggregate's millisecond
/// truncation, so for up to 1 ms they disagreed on whether the device was locked. One rule
/// (`lock::FailureRule::record`) now gives both the same lock end.
#[test]
fn the_flow_and_the_aggregate_agree_on_the_lock_end_to_the_millisecond() {
    use mfa_devices::user_devices::{Command, UserDevices};
    let t = now() + TimeDelta::microseconds(1_999); // 12:00:00.001999
    let mut devices = UserDevices::new(env(), user());
    let mut body = NewDevice::new(DeviceType::Totp);
    body.status = Some(DeviceStatus::Active);
    devices
        .execute(
            Command::Create {
                id: id(1),
                device: body,
                secrets: Default::default(),
            },
            now(),
        )
        .unwrap();
    let mut p = policy();
    p.totp.failure = FailureRule::new(1, TimeDelta::minutes(2)).unwrap();
    let mut flow =
        DeviceAuthentication::start_with(DeviceSnapshot::of(&devices, t), p, flow_id(), t).unwrap();
    let outcome = flow
        .check_authenticator_otp_with("x", |_| false, t)
        .unwrap();
    let Err(FlowError::OtpFailed {
        locked_until: Some(flow_end),
    }) = outcome.result
    else {
        panic!("{outcome:?}")
    };
    for record in &outcome.records {
        devices.execute(record.to_command(), t).unwrap();
    }
    let aggregate_end = devices
        .device(&id(1))
        .unwrap()
        .lock
        .clone()
        .unwrap()
        .expires_at;
    assert_eq!(Some(flow_end), aggregate_end);
    assert_eq!(
        flow_end,
        now() + TimeDelta::minutes(2) + TimeDelta::milliseconds(1)
    );
    // At the aggregate's lock end both read the device unlocked; a microsecond before, locked.
    let just_before = flow_end - TimeDelta::microseconds(1);
    assert!(flow.devices()[0].is_locked(just_before));
    assert!(!flow.devices()[0].is_locked(flow_end));
    assert!(
        devices
            .device_at(&id(1), flow_end)
            .unwrap()
            .lock
            .unwrap()
            .status
            == LockStatus::Unlocked
    );
}

// ------------------------------------------------------- issue 12: times and the clock -------

/// Issue 12 point 1 (the flow): a `now` outside years 0000–9999 is refused before anything is
/// written, and a flow at the range's last instant stores and reads back.
#[test]
fn point_01_flow_times_read_back() {
    let sms = dev(2, DeviceType::Sms);
    for bad in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
        let e = DeviceAuthentication::start_with(
            snapshot(vec![sms.clone()], true),
            policy(),
            flow_id(),
            bad,
        )
        .unwrap_err();
        assert!(matches!(e, FlowError::Internal(_)), "{e:?}");
    }
    let mut flow = start(vec![sms], policy());
    let before = flow.clone();
    assert!(
        flow.issue_otp(&mut crate::replay(&[1; 12]), DateTime::<Utc>::MAX_UTC)
            .is_err()
    );
    assert!(flow.check_otp("123456", DateTime::<Utc>::MAX_UTC).is_err());
    assert!(!flow.sync(&snapshot(vec![], true), DateTime::<Utc>::MAX_UTC));
    assert_eq!(flow, before, "nothing written");

    let end = timestamp::MAX - TimeDelta::seconds(1);
    let mut flow = DeviceAuthentication::start_with(
        snapshot(vec![dev(2, DeviceType::Sms)], true),
        policy(),
        flow_id(),
        end,
    )
    .unwrap();
    let sent = flow.issue_otp(&mut crate::replay(&[1; 12]), end).unwrap();
    assert_eq!(
        sent.expires_at,
        timestamp::MAX,
        "a 30-minute lifetime ends at the edge"
    );
    let _ = flow.check_otp("000000", end).unwrap();
    let stored = serde_json::to_string(&flow.to_stored()).unwrap();
    let back = DeviceAuthentication::from_stored(serde_json::from_str(&stored).unwrap()).unwrap();
    assert_eq!(back, flow);
}

/// Issue 12 point 13 (the flow): once a passcode was seen expired, a clock that goes back does
/// not revive it, and `updatedAt` never goes back.
#[test]
fn point_13_a_flow_clock_going_backwards_does_not_revive_a_passcode() {
    let mut flow = start(vec![dev(2, DeviceType::Sms)], policy());
    let sent = flow.issue_otp(&mut crate::replay(&[1; 12]), now()).unwrap();
    let late = now() + TimeDelta::minutes(31);
    assert_eq!(
        flow.check_otp(&sent.code, late).unwrap().result,
        Err(FlowError::OtpExpired)
    );
    assert_eq!(flow.updated_at(), late);
    assert_eq!(
        flow.check_otp(&sent.code, now() + TimeDelta::minutes(1))
            .unwrap()
            .result,
        Err(FlowError::OtpExpired),
        "the clock went back: still expired"
    );
    assert_eq!(flow.updated_at(), late);
}

// ------------------------------------------------------- issue 12: request readers -----------

/// Issue 12 point 6: no error body echoes a submitted passcode or secret, whatever its JSON
/// shape, from any request reader (flow actions and device commands).
#[test]
fn point_06_no_error_echoes_a_passcode_or_secret() {
    use mfa_devices::user_devices::{self as ud, Command, RequestTarget};
    let secrets = ["483920", "0483920", "JBSWY3DPEHPK3PXP"];
    let mut checked = 0;
    for s in secrets {
        let shapes = [
            s.to_string(),
            format!("\"{s}\""),
            format!("{s}.5"),
            format!("-{s}"),
            format!("{s}e2"),
            format!("[\"{s}\"]"),
            format!("[{s}]"),
            format!("{{\"v\": \"{s}\"}}"),
            format!("{{\"v\": {s}}}"),
            format!("\"{s}\\u0000\""),
        ];
        for shape in &shapes {
            let bodies = [
                (OTP_CHECK_MEDIA_TYPE, format!("{{\"otp\": {shape}}}")),
                (
                    OTP_CHECK_MEDIA_TYPE,
                    format!("{{\"otp\": {shape}, \"otp\": {shape}}}"),
                ),
                (OTP_CHECK_MEDIA_TYPE, shape.clone()),
                (
                    ASSERTION_CHECK_MEDIA_TYPE,
                    format!("{{\"origin\": {shape}, \"assertion\": {shape}}}"),
                ),
                (ASSERTION_CHECK_MEDIA_TYPE, shape.clone()),
                (CANCEL_PUSH_MEDIA_TYPE, format!("{{\"reason\": {shape}}}")),
                (DEVICE_SELECT_MEDIA_TYPE, shape.clone()),
            ];
            for (media_type, body) in &bodies {
                if let Err(e) = Action::from_request(media_type, body.as_bytes()) {
                    let text = serde_json::to_string(&e).unwrap();
                    assert!(!text.contains(s), "{media_type} {body}: {text}");
                    checked += 1;
                }
            }
            let coll = RequestTarget::Devices {
                new_id: DeviceId::from_bytes([9; 16]),
            };
            let dev = RequestTarget::Device(DeviceId::from_bytes([9; 16]));
            let bodies = [
                (
                    coll,
                    ud::APPLICATION_JSON,
                    format!("{{\"type\": \"TOTP\", \"secret\": {shape}, \"secret\": 1}}"),
                ),
                (
                    coll,
                    ud::APPLICATION_JSON,
                    format!("{{\"type\": \"TOTP\", \"testMode\": {shape}}}"),
                ),
                (coll, ud::APPLICATION_JSON, shape.clone()),
                (coll, ud::DEVICES_REORDER_MEDIA_TYPE, shape.clone()),
                (
                    dev,
                    ud::DEVICE_ACTIVATE_MEDIA_TYPE,
                    format!("{{\"otp\": {shape}}}"),
                ),
            ];
            for (target, media_type, body) in &bodies {
                if let Err(e) = Command::from_request(media_type, *target, body.as_bytes()) {
                    let text = serde_json::to_string(&e).unwrap();
                    assert!(!text.contains(s), "{media_type} {body}: {text}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200, "{checked} error bodies checked");
}

/// Issue 12 point 12: a repeated key is refused, naming it, in every body — as `NewDevice`
/// always did — never "last wins".
#[test]
fn point_12_duplicate_keys_are_refused_everywhere() {
    use mfa_devices::user_devices::{self as ud, Command, RequestTarget};
    let a = "e112c96d-d165-45c5-8061-87ff268fd520";
    let coll = RequestTarget::Devices {
        new_id: DeviceId::from_bytes([9; 16]),
    };
    let nick = RequestTarget::Nickname(DeviceId::from_bytes([9; 16]));
    let commands = [
        (coll, ud::APPLICATION_JSON, r#"{"type":"SMS","type":"EMAIL","email":"a@b.co"}"#.to_string(), "type"),
        (coll, ud::APPLICATION_JSON, r#"{"type":"SMS","phone":"+15125551234","notification":{"template":"a","template":"b"}}"#.to_string(), "template"),
        (coll, ud::DEVICES_REORDER_MEDIA_TYPE, format!(r#"{{"order":[{{"id":"{a}"}}],"order":[]}}"#), "order"),
        (coll, ud::DEVICES_REORDER_MEDIA_TYPE, format!(r#"{{"order":[{{"id":"{a}","id":"{a}"}}]}}"#), "id"),
        (nick, ud::APPLICATION_JSON, r#"{"nickname":"a","nickname":"b"}"#.to_string(), "nickname"),
    ];
    for (target, media_type, body, key) in commands {
        let e = Command::from_request(media_type, target, body.as_bytes()).unwrap_err();
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            text.contains(&format!("duplicate field `{key}`")),
            "{body}: {text}"
        );
    }
    let actions = [
        (
            DEVICE_SELECT_MEDIA_TYPE,
            format!(r#"{{"device":{{"id":"{a}"}},"device":{{"id":"{a}"}}}}"#),
            "device",
        ),
        (
            DEVICE_SELECT_MEDIA_TYPE,
            format!(r#"{{"device":{{"id":"{a}","id":"{a}"}}}}"#),
            "id",
        ),
        (
            OTP_CHECK_MEDIA_TYPE,
            r#"{"otp":"111111","otp":"222222"}"#.to_string(),
            "otp",
        ),
        (
            CANCEL_PUSH_MEDIA_TYPE,
            r#"{"reason":"SIGNOUT","reason":"ADD_DEVICE"}"#.to_string(),
            "reason",
        ),
        (
            ASSERTION_CHECK_MEDIA_TYPE,
            r#"{"origin":"a","assertion":"x","origin":"b"}"#.to_string(),
            "origin",
        ),
    ];
    for (media_type, body, key) in actions {
        let e = Action::from_request(media_type, body.as_bytes()).unwrap_err();
        let text = serde_json::to_string(&e).unwrap();
        assert!(
            text.contains(&format!("duplicate field `{key}`")),
            "{body}: {text}"
        );
    }
    // A stored or received device, at any depth.
    let mut device = serde_json::to_value(dev(2, DeviceType::Sms))
        .unwrap()
        .to_string();
    assert!(serde_json::from_str::<Device>(&device).is_ok());
    device.insert_str(1, r#""nickname":"x","#);
    device.insert_str(1, r#""nickname":"y","#);
    let e = serde_json::from_str::<Device>(&device).unwrap_err();
    assert!(e.to_string().contains("duplicate field `nickname`"), "{e}");
    let nested = serde_json::to_value(dev(2, DeviceType::Sms))
        .unwrap()
        .to_string()
        .replacen(r#""lock":{"#, r#""lock":{"status":"UNLOCKED","#, 1);
    let e = serde_json::from_str::<Device>(&nested).unwrap_err();
    assert!(e.to_string().contains("duplicate field `status`"), "{e}");
}
