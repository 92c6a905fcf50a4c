//! The device model against PingOne's published examples (tests/fixtures/devices.json is the
//! example response of "Read All MFA User Devices").

use chrono::{TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::device::hal::{render_collection, render_device};
use mfa_devices::device::*;
use proptest::prelude::*;
use serde_json::{Value, json};

fn seed() -> Value {
    serde_json::from_str(include_str!("../fixtures/devices.json")).unwrap()
}

fn seed_devices() -> Vec<Value> {
    seed()["_embedded"]["devices"].as_array().unwrap().clone()
}

fn without_links(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("_links");
    v
}

const BASE: &str = "https://api.pingone.eu/v1";

/// Found by the fuzz campaign (`device_json`, seed `regression_float_round_trip.json`): an
/// unknown member holding a number beyond `u64` (read as a double) changed on every store and
/// reload — serde_json's default number parsing is not correctly rounded, so the shortest
/// rendering of the value read back as a neighbouring double (`5.555555555555554e38` →
/// `5.555555555555555e38`). The crate enables serde_json's `float_roundtrip`: what it writes
/// reads back bit for bit.
#[test]
fn device_numbers_round_trip_exactly() {
    let text = r#"{"id": "11111111-1111-1101-1111-111111111111",
        "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
        "user": {"id": "b30ac647-e33e-464f-a6ea-0270524c82d6"}, "type": "SMS",
        "status": "ACTIVE", "createdAt": "2025-01-01T00:00:00.000Z",
        "updatedAt": "2025-01-01T00:00:00.000Z",
        "unknownThing": [555555555555555555555555555555555555552, 0.1, 1e-320, 1.7976931348623157e308]}"#;
    let device: Device = serde_json::from_str(text).unwrap();
    let written = serde_json::to_string(&device).unwrap();
    let again: Device = serde_json::from_str(&written).unwrap();
    assert_eq!(again, device);
    assert_eq!(serde_json::to_string(&again).unwrap(), written);
}

#[test]
fn every_seed_device_round_trips_as_body_and_as_hal() {
    let base = ApiBase::new(BASE);
    let devices = seed_devices();
    assert_eq!(devices.len(), 5);
    for json in devices {
        let device: Device = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&device).unwrap(),
            without_links(json.clone()),
            "body of {}",
            device.id
        );
        assert_eq!(render_device(&device, &base), json, "HAL of {}", device.id);
    }
}

#[test]
fn seed_devices_are_typed() {
    let devices: Vec<Device> = seed_devices()
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let types: Vec<&str> = devices.iter().map(|d| d.device_type.as_str()).collect();
    assert_eq!(types, ["SMS", "FIDO2", "FIDO2", "TOTP", "BROWSER"]);
    assert_eq!(devices[0].phone(), Some("+972.547339044"));
    let DeviceDetails::Fido2(fido) = &devices[1].details else {
        panic!("FIDO2 details expected")
    };
    assert_eq!(fido.rp.as_ref().unwrap().id.as_deref(), Some("pingone.eu"));
    let attrs = fido.attributes.as_ref().unwrap();
    assert_eq!(
        attrs.transports.as_deref(),
        Some(&["hybrid".to_string(), "internal".to_string()][..])
    );
    assert_eq!(attrs.is_resident_key, Some(true));
    assert_eq!(fido.backup.as_ref().unwrap().backup_state, Some(true));
    assert!(
        fido.fido_registration_response
            .as_ref()
            .unwrap()
            .starts_with("{\"id\"")
    );
    assert_eq!(devices[2].status, DeviceStatus::ActivationRequired);
    let DeviceDetails::Browser(browser) = &devices[4].details else {
        panic!("BROWSER details expected")
    };
    assert_eq!(
        browser.screen_resolution.as_ref().unwrap().width,
        Some(3440)
    );
    assert_eq!(
        browser.last_remembered_at,
        Some(
            Utc.with_ymd_and_hms(2025, 2, 18, 12, 9, 24).unwrap()
                + chrono::TimeDelta::milliseconds(347)
        )
    );
    assert_eq!(devices[4].nickname.as_deref(), Some("Chrome(133.0.0.0)"));
    for d in &devices {
        assert!(
            d.extra.is_empty(),
            "{} kept unknown properties {:?}",
            d.id,
            d.extra
        );
        assert!(!d.is_blocked());
        assert!(!d.is_locked(Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()));
    }
}

#[test]
fn collection_renders_exactly_as_the_seed() {
    let seed = seed();
    let devices: Vec<Device> = seed_devices()
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    let env = devices[0].environment.id;
    let user = devices[0].user.id;
    let rendered = render_collection(&devices, &ApiBase::new(BASE), &env, &user, None);
    assert_eq!(rendered, seed);
    let expanded = render_collection(
        &devices,
        &ApiBase::new(format!("{BASE}/")),
        &env,
        &user,
        Some(&[devices[1].id, devices[0].id]),
    );
    assert_eq!(
        expanded["_embedded"]["order"],
        json!([{"id": devices[1].id.to_string()}, {"id": devices[0].id.to_string()}])
    );
}

#[test]
fn unknown_types_values_and_properties_survive() {
    let mut json = seed_devices()[0].clone();
    let obj = json.as_object_mut().unwrap();
    obj.remove("_links");
    obj.insert("type".into(), json!("MAGIC_RING"));
    obj.insert("status".into(), json!("SUSPENDED"));
    obj.insert("ringSize".into(), json!(7));
    obj.insert("lock".into(), json!({"status": "FROZEN", "since": "never"}));
    let device: Device = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(device.device_type, DeviceType::Other("MAGIC_RING".into()));
    assert_eq!(device.details, DeviceDetails::None);
    assert_eq!(device.extra["phone"], json!("+972.547339044"));
    assert_eq!(serde_json::to_value(&device).unwrap(), json);
}

#[test]
fn malformed_devices_are_errors_not_panics() {
    for bad in [
        json!({}),
        json!([]),
        json!({"id": "x", "environment": {"id": "y"}}),
        json!({"id": "e112c96d-d165-45c5-8061-87ff268fd520",
               "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
               "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
               "type": "SMS", "status": "ACTIVE",
               "createdAt": "yesterday", "updatedAt": "2024-03-13T16:27:40.614Z"}),
        json!({"id": "e112c96d-d165-45c5-8061-87ff268fd520",
               "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
               "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
               "type": "SMS", "status": "ACTIVE", "phone": 5,
               "createdAt": "2024-03-13T16:27:40.614Z", "updatedAt": "2024-03-13T16:27:40.614Z"}),
    ] {
        assert!(
            serde_json::from_value::<Device>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn lock_expires_lazily_and_block_never_does() {
    let t0 = Utc.with_ymd_and_hms(2025, 6, 1, 10, 0, 0).unwrap();
    let mut d = Device::new(
        DeviceId::from_bytes([1; 16]),
        EnvironmentId::from_bytes([2; 16]),
        UserId::from_bytes([3; 16]),
        DeviceType::Sms,
        DeviceStatus::Active,
        t0,
    );
    d.lock = Some(LockState::locked(
        t0 + chrono::TimeDelta::minutes(2),
        LockReason::Otp,
    ));
    assert!(d.is_locked(t0));
    assert!(d.is_locked(t0 + chrono::TimeDelta::seconds(119)));
    assert!(!d.is_locked(t0 + chrono::TimeDelta::seconds(120)));
    d.block = Some(BlockState::blocked(t0));
    assert!(d.is_blocked());
    let v = serde_json::to_value(&d).unwrap();
    assert_eq!(
        v["lock"],
        json!({"status": "LOCKED", "expiresAt": "2025-06-01T10:02:00.000Z", "reason": "OTP"})
    );
    assert_eq!(
        v["block"],
        json!({"status": "BLOCKED", "blockedAt": "2025-06-01T10:00:00.000Z"})
    );
}

// ---- NewDevice validation: one valid and one invalid case per rule ----

fn targets(body: &NewDevice) -> Vec<(String, String)> {
    match body.validate() {
        Ok(()) => vec![],
        Err(e) => {
            assert_eq!((e.code(), e.http_status()), ("INVALID_DATA", 400));
            e.details
                .iter()
                .map(|d| (d.target.clone().unwrap(), d.code.to_string()))
                .collect()
        }
    }
}

fn body(json: Value) -> NewDevice {
    serde_json::from_value(json).unwrap()
}

#[test]
fn email_rules() {
    assert!(
        targets(&body(
            json!({"type": "EMAIL", "email": "john@pingidentity.com"})
        ))
        .is_empty()
    );
    assert_eq!(
        targets(&body(json!({"type": "EMAIL"}))),
        [("email".into(), "REQUIRED_VALUE".into())]
    );
    for bad in [
        "john",
        "john@",
        "@x.com",
        "jo hn@x.com",
        "john@x",
        "john@-x.com",
        "a..b@x.com",
    ] {
        assert_eq!(
            targets(&body(json!({"type": "EMAIL", "email": bad}))),
            [("email".into(), "INVALID_VALUE".into())],
            "{bad}"
        );
    }
    assert_eq!(
        targets(&body(
            json!({"type": "SMS", "phone": "+11235557890", "email": "a@b.com"})
        )),
        [("email".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn phone_rules() {
    for good in [
        "+11235557890",
        "+972.547339044",
        "+1 (512) 555-1234",
        "+1.512.555.1234",
        "+44 20 7946 0958",
        "+12345",
    ] {
        assert!(
            targets(&body(json!({"type": "SMS", "phone": good}))).is_empty(),
            "{good}"
        );
        assert!(is_valid_phone(good));
    }
    for bad in [
        "11235557890",
        "+1234",
        "+123456789012345678",
        "+1 512 555 12a4",
        "+",
        "",
        "+.1234567",
        "++11235557890",
    ] {
        assert_eq!(
            targets(&body(json!({"type": "VOICE", "phone": bad}))),
            [("phone".into(), "INVALID_VALUE".into())],
            "{bad}"
        );
    }
    assert_eq!(
        targets(&body(json!({"type": "WHATSAPP"}))),
        [("phone".into(), "REQUIRED_VALUE".into())]
    );
    assert_eq!(
        targets(&body(
            json!({"type": "EMAIL", "email": "a@b.com", "phone": "+11235557890"})
        )),
        [("phone".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn extension_rules() {
    assert!(
        targets(&body(
            json!({"type": "VOICE", "phone": "+11235557890", "extension": "123,45#*"})
        ))
        .is_empty()
    );
    assert_eq!(
        targets(&body(
            json!({"type": "VOICE", "phone": "+11235557890", "extension": "12a"})
        )),
        [("extension".into(), "INVALID_VALUE".into())]
    );
    assert_eq!(
        targets(&body(
            json!({"type": "SMS", "phone": "+11235557890", "extension": "12"})
        )),
        [("extension".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn nickname_counts_characters_not_bytes() {
    let hundred = "é".repeat(100);
    assert!(targets(&body(json!({"type": "TOTP", "nickname": hundred}))).is_empty());
    assert!(targets(&body(json!({"type": "TOTP", "nickname": ""}))).is_empty());
    assert_eq!(
        targets(&body(json!({"type": "TOTP", "nickname": "é".repeat(101)}))),
        [("nickname".into(), "SIZE_LIMIT_EXCEEDED".into())]
    );
}

#[test]
fn notification_rules() {
    let n = json!({"template": {"locale": "en", "variant": "variant_B", "variables": {"sum": "1,000,000"}}});
    assert!(targets(&body(json!({"type": "EMAIL", "email": "a@b.com", "status": "ACTIVATION_REQUIRED", "notification": n}))).is_empty());
    assert!(
        targets(&body(
            json!({"type": "SMS", "phone": "+11235557890", "notification": n})
        ))
        .is_empty()
    );
    assert_eq!(
        targets(&body(
            json!({"type": "EMAIL", "email": "a@b.com", "status": "ACTIVE", "notification": n})
        )),
        [("notification".into(), "CONSTRAINT_VIOLATION".into())]
    );
    assert_eq!(
        targets(&body(json!({"type": "TOTP", "notification": n}))),
        [("notification".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn status_and_type_rules() {
    assert!(targets(&body(json!({"type": "TOTP", "status": "ACTIVE"}))).is_empty());
    assert_eq!(
        targets(&body(json!({"type": "TOTP", "status": "LOCKED"}))),
        [("status".into(), "INVALID_VALUE".into())]
    );
    let mobile = NewDevice::new(DeviceType::Mobile).validate().unwrap_err();
    assert!(
        mobile.details[0].message.contains("pairing key"),
        "{}",
        mobile.details[0].message
    );
    assert_eq!(
        targets(&body(json!({"type": "BROWSER"}))),
        [("type".into(), "INVALID_VALUE".into())]
    );
    assert_eq!(
        targets(&body(json!({"type": "NEW_THING"}))),
        [("type".into(), "INVALID_VALUE".into())]
    );
    assert_eq!(
        NewDevice::new(DeviceType::Totp).effective_status(),
        DeviceStatus::ActivationRequired
    );
}

#[test]
fn fido2_rp_rules() {
    assert!(
        targets(&body(
            json!({"type": "FIDO2", "rp": {"id": "pingone.com", "name": "PingOne"}})
        ))
        .is_empty()
    );
    assert_eq!(
        targets(&body(json!({"type": "FIDO2", "rp": {"id": "PingOne.com"}}))),
        [("rp.id".into(), "INVALID_VALUE".into())]
    );
    assert_eq!(
        targets(&body(json!({"type": "TOTP", "rp": {"id": "pingone.com"}}))),
        [("rp".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn test_mode_rules() {
    assert!(
        targets(&body(
            json!({"type": "EMAIL", "email": "a@b.com", "testMode": true})
        ))
        .is_empty()
    );
    assert_eq!(
        targets(&body(json!({"type": "TOTP", "testMode": true}))),
        [("testMode".into(), "INVALID_VALUE".into())]
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let b = body(
        json!({"type": "SMS", "phone": "12", "extension": "1", "nickname": "x".repeat(101), "status": "NOPE", "email": "a@b.com"}),
    );
    let t: Vec<String> = targets(&b).into_iter().map(|(t, _)| t).collect();
    assert_eq!(t, ["status", "nickname", "email", "phone", "extension"]);
}

#[test]
fn masking() {
    assert_eq!(
        mask_email("john@pingidentity.com"),
        "j****@pingidentity.com"
    );
    assert_eq!(mask_email("éa@x.org"), "é****@x.org");
    assert_eq!(mask_phone("+11235557890"), "+1*******90");
}

// ---- properties ----

fn arb_time() -> impl Strategy<Value = chrono::DateTime<Utc>> {
    (0i64..4_102_444_800_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
}

fn arb_type() -> impl Strategy<Value = DeviceType> {
    prop_oneof![
        proptest::sample::select(DeviceType::KNOWN.to_vec()),
        "[A-Z_]{1,12}".prop_map(|s| DeviceType::from(s.as_str())),
    ]
}

fn arb_opt_string() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(".{0,20}")
}

prop_compose! {
    fn arb_device()(
        id in any::<[u8; 16]>(), env in any::<[u8; 16]>(), user in any::<[u8; 16]>(),
        t in arb_type(), active in any::<bool>(), created in arb_time(), updated in arb_time(),
        nickname in arb_opt_string(), s1 in arb_opt_string(), s2 in arb_opt_string(),
        flag in proptest::option::of(any::<bool>()), locked in proptest::option::of(arb_time()),
        blocked in proptest::option::of(arb_time()),
        extra in proptest::collection::btree_map("x[a-z]{1,6}", any::<i32>(), 0..3),
    ) -> Device {
        let status = if active { DeviceStatus::Active } else { DeviceStatus::ActivationRequired };
        let mut d = Device::new(DeviceId::from_bytes(id), EnvironmentId::from_bytes(env),
            UserId::from_bytes(user), t, status, created);
        d.updated_at = updated;
        d.nickname = nickname;
        if let Some(until) = locked { d.lock = Some(LockState::locked(until, LockReason::Otp)); }
        if let Some(at) = blocked { d.block = Some(BlockState::blocked(at)); }
        match &mut d.details {
            DeviceDetails::Email(e) => { e.email = s1; e.test_mode = flag; }
            DeviceDetails::Phone(p) => { p.phone = s1; p.extension = s2; p.test_mode = flag; }
            DeviceDetails::Totp(x) => { x.secret = s1.map(Secret::new); x.key_uri = s2.map(Secret::new); }
            DeviceDetails::Mobile(m) => { m.name = s1; m.push_enabled = flag;
                m.os = s2.map(|v| MobileOs { os_type: Some("iOS".into()), version: Some(v), ..Default::default() }); }
            DeviceDetails::Fido2(f) => { f.display_name = s1;
                f.rp = s2.map(|n| RelyingParty { id: Some("example.com".into()), name: Some(n), ..Default::default() });
                f.attributes = flag.map(|b| Fido2Attributes { is_cross_platform: Some(b), ..Default::default() }); }
            DeviceDetails::WebAuthn(w) => { w.public_key_credential_creation_options = s1; }
            DeviceDetails::Browser(b) => { b.name = s1; b.user_agent = s2; b.cookies_enabled = flag;
                b.last_remembered_at = locked; }
            _ => {}
        }
        for (k, v) in extra { d.extra.insert(k, v.into()); }
        d
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_device_round_trips(d in arb_device()) {
        let v = serde_json::to_value(&d).unwrap();
        let back: Device = serde_json::from_value(v.clone()).unwrap();
        prop_assert_eq!(&back, &d);
        // And through text, with HAL links that reading drops.
        let hal = render_device(&d, &ApiBase::new(BASE));
        let back: Device = serde_json::from_str(&hal.to_string()).unwrap();
        prop_assert_eq!(back, d);
    }

    #[test]
    fn validate_never_panics(
        t in arb_type(), status in proptest::option::of("[A-Z_]{0,20}"),
        nickname in arb_opt_string(), email in arb_opt_string(), phone in proptest::option::of("[+0-9 ().a-]{0,24}"),
        extension in arb_opt_string(), test_mode in proptest::option::of(any::<bool>()),
        rp_id in arb_opt_string(),
    ) {
        let mut b = NewDevice::new(t);
        b.status = status.map(|s| DeviceStatus::from(s.as_str()));
        b.nickname = nickname; b.email = email; b.phone = phone; b.extension = extension; b.test_mode = test_mode;
        b.rp = rp_id.map(|id| RelyingParty { id: Some(id), ..Default::default() });
        let _ = b.validate();
    }

    #[test]
    fn phone_rule_is_digit_count_after_plus(digits in "[0-9]{0,20}", sep in "[ .-]") {
        let spaced: String = digits.chars().flat_map(|c| [c].into_iter().chain(sep.chars())).collect();
        let expected = (5..=17).contains(&digits.len());
        prop_assert_eq!(is_valid_phone(&format!("+{digits}")), expected);
        prop_assert_eq!(is_valid_phone(&format!("+{spaced}")), expected);
    }

    #[test]
    fn masks_are_total_and_hide(s in ".{0,40}") {
        let m = mask_email(&s);
        prop_assert!(m.contains("****"));
        let p = mask_phone(&s);
        prop_assert!(p.starts_with('+') && p.contains("*******"));
        prop_assert!(p.chars().filter(char::is_ascii_digit).count() <= 3);
    }
}
