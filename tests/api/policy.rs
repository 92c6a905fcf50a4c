//! The device authentication policy against PingOne's published example ("Read One Device
//! Authentication Policy", `tests/fixtures/policy/read_one.json`) and its allowed values.

use mfa_devices::error::ErrorDetail;
use mfa_devices::policy::{
    DeviceAuthenticationPolicy, DeviceSelection, NewDeviceNotification, PolicyDuration, TimeUnit,
    VerificationLevel,
};
use serde_json::{Value, json};

const FIXTURE: &str = include_str!("../fixtures/policy/read_one.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

fn fixture_body() -> Value {
    let mut v = fixture();
    v.as_object_mut().unwrap().shift_remove("_links");
    v
}

fn parse(v: &Value) -> DeviceAuthenticationPolicy {
    serde_json::from_value(v.clone()).unwrap()
}

fn details(v: &Value) -> Vec<ErrorDetail> {
    match parse(v).validate() {
        Ok(()) => vec![],
        Err(e) => {
            assert_eq!((e.code(), e.http_status()), ("INVALID_DATA", 400));
            assert!(!e.details.is_empty());
            e.details
        }
    }
}

fn targets(v: &Value) -> Vec<String> {
    details(v).into_iter().map(|d| d.target.unwrap()).collect()
}

#[test]
fn the_published_example_round_trips_exactly() {
    let body = fixture_body();
    let policy = parse(&body);
    assert_eq!(serde_json::to_value(&policy).unwrap(), body);
    // Same property order as PingOne writes it, not only the same map.
    assert_eq!(
        serde_json::to_string(&policy).unwrap(),
        serde_json::to_string(&body).unwrap()
    );
    // With `_links` the links are kept as an unknown property and come back too.
    let with_links = parse(&fixture());
    assert!(with_links.extra.contains_key("_links"));
    assert_eq!(serde_json::to_value(&with_links).unwrap(), fixture());
}

#[test]
fn the_published_example_is_typed() {
    let p = parse(&fixture_body());
    assert_eq!(
        p.id.unwrap().to_string(),
        "8bec1d08-c0fb-4d34-b472-2610199704c7"
    );
    assert_eq!(
        p.authentication.as_ref().unwrap().device_selection,
        Some(DeviceSelection::DefaultToFirst)
    );
    assert_eq!(
        p.new_device_notification,
        Some(NewDeviceNotification::SmsThenEmail)
    );
    let sms = p.sms.as_ref().unwrap().otp.as_ref().unwrap();
    assert_eq!(sms.otp_length, Some(6));
    assert_eq!(sms.failure.as_ref().unwrap().count, 3);
    assert_eq!(sms.life_time, Some(PolicyDuration::minutes(30)));
    assert_eq!(
        p.email.as_ref().unwrap().otp.as_ref().unwrap().otp_length,
        Some(8)
    );
    let mobile = p.mobile.as_ref().unwrap();
    let app = &mobile.applications.as_ref().unwrap()[0];
    assert_eq!(app.push_timeout, Some(PolicyDuration::seconds(120)));
    assert_eq!(app.pairing_key_lifetime, Some(PolicyDuration::hours(24)));
    let limit = app.push_limit.as_ref().unwrap();
    assert_eq!(limit.count, Some(4));
    assert_eq!(limit.time_period, Some(PolicyDuration::minutes(20)));
    assert_eq!(app.integrity_detection, Some(VerificationLevel::Permissive));
    assert_eq!(
        p.totp
            .as_ref()
            .unwrap()
            .uri_parameters
            .as_ref()
            .unwrap()
            .issuer
            .as_deref(),
        Some("Corporate spreadsheet app")
    );
    let fido2 = p.fido2.as_ref().unwrap();
    assert_eq!(
        fido2.failure.as_ref().unwrap().cool_down,
        PolicyDuration::seconds(150)
    );
    assert_eq!(
        p.remember_me.unwrap().web.unwrap().life_time,
        Some(PolicyDuration::days(30))
    );
    assert_eq!(p.default, Some(false));
    assert_eq!(
        p.created_at.unwrap().to_rfc3339(),
        "2025-03-05T12:22:16.162+00:00"
    );
    assert!(p.extra.is_empty());
}

#[test]
fn the_published_example_is_valid() {
    assert_eq!(targets(&fixture_body()), Vec::<String>::new());
}

#[test]
fn unknown_properties_and_enum_values_survive_and_are_reported() {
    let mut v = fixture_body();
    v["authentication"]["deviceSelection"] = json!("ASK_THE_ORACLE");
    v["newDeviceNotification"] = json!("PIGEON");
    v["sms"]["otp"]["lifeTime"]["timeUnit"] = json!("FORTNIGHTS");
    v["sms"]["otp"]["failure"]["futureFlag"] = json!({"a": [1, 2]});
    v["mobile"]["applications"][0]["integrityDetection"] = json!("paranoid");
    v["mobile"]["applications"][0]["deviceAuthorization"]["extraVerification"] = json!("STRICT");
    v["mobile"]["applications"][0]["pushLimit"]["timePeriod"]["note"] = json!("x");
    v["totp"]["uriParameters"]["image"] = json!("https://example.com/logo.png");
    v["rememberMe"]["mobile"] = json!({"enabled": true});
    v["brandNewSection"] = json!({"enabled": false});
    let p = parse(&v);
    assert_eq!(serde_json::to_value(&p).unwrap(), v);
    assert_eq!(
        p.authentication.as_ref().unwrap().device_selection,
        Some(DeviceSelection::Other("ASK_THE_ORACLE".into()))
    );

    let d = details(&v);
    let got: Vec<_> = d
        .iter()
        .map(|d| (d.code.as_str(), d.target.as_deref().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("INVALID_VALUE", "authentication.deviceSelection"),
            ("INVALID_VALUE", "newDeviceNotification"),
            ("INVALID_VALUE", "sms.otp.lifeTime.timeUnit"),
            (
                "INVALID_VALUE",
                "mobile.applications[0].deviceAuthorization.extraVerification"
            ),
            ("INVALID_VALUE", "mobile.applications[0].integrityDetection"),
        ]
    );
    assert_eq!(
        d[2].inner_error.as_ref().unwrap()["allowedValues"],
        json!(["MINUTES", "SECONDS"])
    );
    assert_eq!(
        d[1].inner_error.as_ref().unwrap()["allowedValues"],
        json!(["NONE", "EMAIL_THEN_SMS", "SMS_THEN_EMAIL"])
    );
}

/// `/mobile/applications/0/pushLimit/count` → `mobile.applications[0].pushLimit.count`.
fn pointer_to_target(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.trim_start_matches('/').split('/') {
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// The allowed values (PingOne's published ranges and the crate's decisions, as listed in
/// `DeviceAuthenticationPolicy::validate`'s docs), transcribed independently of the library:
/// (JSON pointer of the number, unit written next to it or `None`, min, max).
fn bounds_table() -> Vec<(String, Option<&'static str>, i64, i64)> {
    let mut t = Vec::new();
    for m in ["sms", "voice", "email", "whatsApp"] {
        t.push((format!("/{m}/otp/failure/count"), None, 1, 7));
        let cd = format!("/{m}/otp/failure/coolDown/duration");
        t.push((cd.clone(), Some("MINUTES"), 0, 30));
        t.push((cd, Some("SECONDS"), 0, 1800));
        let lt = format!("/{m}/otp/lifeTime/duration");
        t.push((lt.clone(), Some("MINUTES"), 1, 30));
        t.push((lt, Some("SECONDS"), 1, 1800));
        t.push((format!("/{m}/otp/otpLength"), None, 6, 10));
    }
    for f in ["/mobile/otp/failure", "/totp/otp/failure", "/fido2/failure"] {
        t.push((format!("{f}/count"), None, 1, 7));
        t.push((format!("{f}/coolDown/duration"), Some("MINUTES"), 2, 30));
        t.push((format!("{f}/coolDown/duration"), Some("SECONDS"), 120, 1800));
    }
    t.push(("/totp/passcodeGracePeriod".into(), None, 1, 10));
    let app = "/mobile/applications/0";
    t.push((
        format!("{app}/pushTimeout/duration"),
        Some("SECONDS"),
        40,
        150,
    ));
    t.push((format!("{app}/pushLimit/count"), None, 1, 50));
    for w in ["timePeriod", "lockDuration"] {
        let p = format!("{app}/pushLimit/{w}/duration");
        t.push((p.clone(), Some("MINUTES"), 1, 120));
        t.push((p, Some("SECONDS"), 60, 7200));
    }
    let pk = format!("{app}/pairingKeyLifetime/duration");
    t.push((pk.clone(), Some("MINUTES"), 1, 2880));
    t.push((pk, Some("HOURS"), 1, 48));
    let rm = "/rememberMe/web/lifeTime/duration".to_string();
    t.push((rm.clone(), Some("MINUTES"), 1, 129_600));
    t.push((rm.clone(), Some("HOURS"), 1, 2160));
    t.push((rm, Some("DAYS"), 1, 90));
    t
}

/// The fixture plus the optional parts it lacks (`whatsApp`, `passcodeGracePeriod`), all valid.
fn full_base() -> Value {
    let mut v = fixture_body();
    v["whatsApp"] = v["sms"].clone();
    v["totp"]["passcodeGracePeriod"] = json!(5);
    assert!(targets(&v).is_empty());
    v
}

fn with_value(base: &Value, pointer: &str, unit: Option<&str>, n: i64) -> Value {
    let mut v = base.clone();
    *v.pointer_mut(pointer).unwrap() = json!(n);
    if let Some(unit) = unit {
        let unit_ptr = pointer.replace("/duration", "/timeUnit");
        *v.pointer_mut(&unit_ptr).unwrap() = json!(unit);
    }
    v
}

#[test]
fn every_bound_holds_at_its_edges_and_fails_one_past_them() {
    let base = full_base();
    let table = bounds_table();
    assert_eq!(table.len(), 45);
    for (pointer, unit, min, max) in table {
        let target = pointer_to_target(&pointer);
        for ok in [min, max] {
            let v = with_value(&base, &pointer, unit, ok);
            assert_eq!(
                targets(&v),
                Vec::<String>::new(),
                "{target} = {ok} {unit:?}"
            );
        }
        for bad in [min - 1, max + 1] {
            let v = with_value(&base, &pointer, unit, bad);
            let d = details(&v);
            assert_eq!(d.len(), 1, "{target} = {bad} {unit:?}: {d:?}");
            assert_eq!(d[0].code.as_str(), "OUT_OF_RANGE");
            assert_eq!(d[0].target.as_deref(), Some(target.as_str()));
            let inner = d[0].inner_error.as_ref().unwrap();
            assert_eq!(inner["rangeMinimumValue"], json!(min), "{target}");
            assert_eq!(inner["rangeMaximumValue"], json!(max), "{target}");
            assert!(d[0].message.contains(&bad.to_string()), "{}", d[0].message);
        }
    }
}

#[test]
fn a_bound_is_checked_in_the_unit_given() {
    let base = fixture_body();
    let p = "/mobile/applications/0/pushLimit/lockDuration/duration";
    // 7,200 SECONDS = 120 MINUTES is fine, 7,201 is not; 121 MINUTES is not either.
    assert!(targets(&with_value(&base, p, Some("SECONDS"), 7_200)).is_empty());
    assert_eq!(
        targets(&with_value(&base, p, Some("SECONDS"), 7_201)).len(),
        1
    );
    assert_eq!(
        targets(&with_value(&base, p, Some("MINUTES"), 121)).len(),
        1
    );
    // 30 SECONDS is a fine SMS lifetime, although below 1 MINUTE.
    let lt = "/sms/otp/lifeTime/duration";
    assert!(targets(&with_value(&base, lt, Some("SECONDS"), 30)).is_empty());
    // 1,800 is a fine SECONDS cool-down but not a MINUTES one.
    let cd = "/mobile/otp/failure/coolDown/duration";
    assert!(targets(&with_value(&base, cd, Some("SECONDS"), 1_800)).is_empty());
    assert_eq!(
        targets(&with_value(&base, cd, Some("MINUTES"), 1_800)),
        ["mobile.otp.failure.coolDown.duration"]
    );
}

#[test]
fn a_unit_not_allowed_for_the_field_is_an_invalid_value() {
    let base = fixture_body();
    for (pointer, unit, allowed) in [
        (
            "/mobile/applications/0/pushTimeout/timeUnit",
            "MINUTES",
            json!(["SECONDS"]),
        ),
        (
            "/mobile/applications/0/pairingKeyLifetime/timeUnit",
            "DAYS",
            json!(["MINUTES", "HOURS"]),
        ),
        (
            "/sms/otp/lifeTime/timeUnit",
            "HOURS",
            json!(["MINUTES", "SECONDS"]),
        ),
        (
            "/rememberMe/web/lifeTime/timeUnit",
            "SECONDS",
            json!(["MINUTES", "HOURS", "DAYS"]),
        ),
        (
            "/fido2/failure/coolDown/timeUnit",
            "weeks",
            json!(["MINUTES", "SECONDS"]),
        ),
    ] {
        let mut v = base.clone();
        *v.pointer_mut(pointer).unwrap() = json!(unit);
        let d = details(&v);
        assert_eq!(d.len(), 1, "{pointer}");
        assert_eq!(d[0].code.as_str(), "INVALID_VALUE");
        assert_eq!(
            d[0].target.as_deref(),
            Some(pointer_to_target(pointer).as_str())
        );
        assert_eq!(d[0].inner_error.as_ref().unwrap()["allowedValues"], allowed);
    }
}

#[test]
fn every_violation_is_reported_at_once_in_document_order() {
    let mut v = fixture_body();
    v["name"] = json!("");
    v["sms"]["otp"]["otpLength"] = json!(5);
    v["sms"]["otp"]["lifeTime"]["duration"] = json!(-1);
    v["mobile"]["applications"] = json!([v["mobile"]["applications"][0].clone(), {}]);
    v["mobile"]["applications"][1]["pushLimit"] = json!({"count": 51});
    v["voice"]["otp"]["failure"]["count"] = json!(0);
    v["fido2"]["failure"]["coolDown"] = json!({"duration": 1, "timeUnit": "MINUTES"});
    v["rememberMe"]["web"]["lifeTime"]["duration"] = json!(91);
    assert_eq!(
        targets(&v),
        [
            "name",
            "sms.otp.lifeTime.duration",
            "sms.otp.otpLength",
            "mobile.applications[1].pushLimit.count",
            "voice.otp.failure.count",
            "fido2.failure.coolDown.duration",
            "rememberMe.web.lifeTime.duration",
        ]
    );
}

#[test]
fn name_is_one_to_256_characters() {
    let mut v = fixture_body();
    for (name, ok) in [
        (String::new(), false),
        ("a".into(), true),
        ("é".repeat(256), true),
        ("a".repeat(257), false),
    ] {
        v["name"] = json!(name);
        assert_eq!(targets(&v).is_empty(), ok, "{} chars", name.chars().count());
    }
}

#[test]
fn a_failure_needs_count_and_cool_down_and_a_duration_needs_both_parts() {
    for (pointer, remove) in [
        ("/sms/otp/failure", "count"),
        ("/sms/otp/failure", "coolDown"),
        ("/sms/otp/lifeTime", "timeUnit"),
        ("/mobile/applications/0/pushTimeout", "duration"),
    ] {
        let mut v = fixture_body();
        v.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(remove);
        let err = serde_json::from_value::<DeviceAuthenticationPolicy>(v).unwrap_err();
        assert!(err.to_string().contains(remove), "{err}");
    }
}

#[test]
fn numbers_beyond_i64_or_not_integers_are_refused_without_panic() {
    for n in [
        "18446744073709551615",
        "9223372036854775808",
        "-9223372036854775809",
        "1e400",
        "3.5",
    ] {
        let text = FIXTURE.replace("\"otpLength\": 8", &format!("\"otpLength\": {n}"));
        assert_ne!(text, FIXTURE);
        assert!(
            serde_json::from_str::<DeviceAuthenticationPolicy>(&text).is_err(),
            "{n}"
        );
    }
    // i64 extremes parse and are reported as out of range.
    for n in [i64::MIN, i64::MAX] {
        let text = FIXTURE.replace("\"otpLength\": 8", &format!("\"otpLength\": {n}"));
        let p: DeviceAuthenticationPolicy = serde_json::from_str(&text).unwrap();
        let err = p.validate().unwrap_err();
        assert_eq!(
            err.details[0].target.as_deref(),
            Some("email.otp.otpLength")
        );
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let p = DeviceAuthenticationPolicy::default();
    assert!(p.validate().is_ok());
    let v = serde_json::to_value(&p).unwrap();
    for (pointer, expected) in [
        ("/authentication/deviceSelection", json!("DEFAULT_TO_FIRST")),
        ("/newDeviceNotification", json!("NONE")),
        ("/sms/otp/failure/count", json!(3)),
        (
            "/sms/otp/failure/coolDown",
            json!({"duration": 0, "timeUnit": "MINUTES"}),
        ),
        (
            "/email/otp/lifeTime",
            json!({"duration": 30, "timeUnit": "MINUTES"}),
        ),
        ("/voice/otp/otpLength", json!(6)),
        ("/mobile/otp/failure/count", json!(3)),
        (
            "/mobile/otp/failure/coolDown",
            json!({"duration": 2, "timeUnit": "MINUTES"}),
        ),
        (
            "/totp/otp/failure/coolDown",
            json!({"duration": 2, "timeUnit": "MINUTES"}),
        ),
        (
            "/fido2/failure",
            json!({"count": 3, "coolDown": {"duration": 2, "timeUnit": "MINUTES"}}),
        ),
        (
            "/rememberMe/web/lifeTime",
            json!({"duration": 30, "timeUnit": "MINUTES"}),
        ),
    ] {
        assert_eq!(v.pointer(pointer), Some(&expected), "{pointer}");
    }
    let app =
        serde_json::to_value(mfa_devices::policy::MobileApplicationPolicy::default()).unwrap();
    assert_eq!(
        app["pushTimeout"],
        json!({"duration": 40, "timeUnit": "SECONDS"})
    );
    assert_eq!(
        app["pairingKeyLifetime"],
        json!({"duration": 10, "timeUnit": "MINUTES"})
    );
    assert_eq!(
        app["pushLimit"],
        json!({"count": 5, "timePeriod": {"duration": 10, "timeUnit": "MINUTES"},
               "lockDuration": {"duration": 30, "timeUnit": "MINUTES"}})
    );
    assert_eq!(
        mfa_devices::policy::TotpPolicy::default().passcode_grace_period_or_default(),
        5
    );
    // A policy with one default application is valid too.
    let mut p = DeviceAuthenticationPolicy::default();
    p.mobile.as_mut().unwrap().applications =
        Some(vec![mfa_devices::policy::MobileApplicationPolicy::default()]);
    assert!(p.validate().is_ok());
}

#[test]
fn timestamps_are_written_with_milliseconds() {
    let mut v = fixture_body();
    v["createdAt"] = json!("2025-03-05T12:22:16Z");
    v["updatedAt"] = json!("2025-03-05T13:22:16.000000001+01:00");
    let out = serde_json::to_value(parse(&v)).unwrap();
    assert_eq!(out["createdAt"], json!("2025-03-05T12:22:16.000Z"));
    assert_eq!(out["updatedAt"], json!("2025-03-05T12:22:16.000000001Z"));
}

#[test]
fn duration_units_convert() {
    assert_eq!(TimeUnit::Seconds.seconds(), Some(1));
    assert_eq!(TimeUnit::Minutes.seconds(), Some(60));
    assert_eq!(TimeUnit::Hours.seconds(), Some(3_600));
    assert_eq!(TimeUnit::Days.seconds(), Some(86_400));
    assert_eq!(
        PolicyDuration::hours(48)
            .to_time_delta()
            .unwrap()
            .num_minutes(),
        2_880
    );
    assert_eq!(
        PolicyDuration::days(0)
            .to_time_delta()
            .unwrap()
            .num_seconds(),
        0
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    type UnitRange = (Option<&'static str>, i64, i64);

    /// The bounds table grouped by field: (pointer, [(unit, min, max)]).
    fn fields() -> Vec<(String, Vec<UnitRange>)> {
        let mut out: Vec<(String, Vec<_>)> = Vec::new();
        for (pointer, unit, min, max) in bounds_table() {
            match out.iter_mut().find(|(p, _)| *p == pointer) {
                Some((_, units)) => units.push((unit, min, max)),
                None => out.push((pointer, vec![(unit, min, max)])),
            }
        }
        out
    }

    fn number() -> impl Strategy<Value = i64> {
        prop_oneof![
            -2i64..200,
            Just(i64::MIN),
            Just(i64::MAX),
            any::<i64>(),
            (0i64..4).prop_map(|k| [1_799, 1_800, 1_801, 129_601][k as usize]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// For any numbers (including the i64 extremes) in every bounded field, in any of the
        /// field's units, `validate` never panics and reports exactly the fields out of range.
        #[test]
        fn validate_reports_exactly_the_out_of_range_fields(
            picks in proptest::collection::vec((any::<Index>(), number()), 29),
        ) {
            let fields = fields();
            prop_assert_eq!(fields.len(), 29);
            let mut v = full_base();
            let mut expected = Vec::new();
            for ((pointer, units), (pick, n)) in fields.iter().zip(&picks) {
                let (unit, min, max) = units[pick.index(units.len())];
                v = with_value(&v, pointer, unit, *n);
                if *n < min || *n > max {
                    expected.push(pointer_to_target(pointer));
                }
            }
            let p = parse(&v);
            let got: Vec<String> = p.violations().into_iter().map(|d| d.target.unwrap()).collect();
            let mut got_sorted = got.clone();
            got_sorted.sort();
            expected.sort();
            prop_assert_eq!(got_sorted, expected);
            prop_assert_eq!(p.validate().is_ok(), got.is_empty());
            // Durations convert or fail, never panic.
            for (pointer, _) in &fields {
                if let Some(parent) = pointer.strip_suffix("/duration") {
                    let d: PolicyDuration = serde_json::from_value(v.pointer(parent).unwrap().clone()).unwrap();
                    let _ = d.to_time_delta();
                }
            }
        }

        /// `PolicyDuration::to_time_delta` never panics and agrees with exact 128-bit arithmetic.
        #[test]
        fn duration_conversion_never_panics(
            n in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -10i64..10_000_000],
            unit in prop_oneof![
                Just("SECONDS"), Just("MINUTES"), Just("HOURS"), Just("DAYS"), Just("WEEKS"), Just("")
            ],
        ) {
            let d = PolicyDuration::new(n, TimeUnit::from(unit));
            let factor: Option<i128> = match unit {
                "SECONDS" => Some(1),
                "MINUTES" => Some(60),
                "HOURS" => Some(3_600),
                "DAYS" => Some(86_400),
                _ => None,
            };
            // TimeDelta holds ±(i64::MAX / 1000) seconds.
            let limit = i128::from(i64::MAX / 1_000);
            let expected = factor.and_then(|f| {
                let secs = i128::from(n) * f;
                (n >= 0 && secs <= limit).then_some(secs)
            });
            match d.to_time_delta() {
                Ok(delta) => prop_assert_eq!(Some(i128::from(delta.num_seconds())), expected),
                Err(_) => prop_assert_eq!(expected, None),
            }
            let secs = d.as_seconds().map(i128::from);
            prop_assert_eq!(secs, factor.and_then(|f| {
                let s = i128::from(n) * f;
                (n >= 0 && s <= i128::from(i64::MAX)).then_some(s)
            }));
        }
    }
}
