//! Evaluation semantics: one test per rule (Ping's SCIM 2 SDK semantics and the crate's
//! deviations, listed in DESIGN.md), each checked through the interpreter and the compiled form.

use mfa_devices::device::Device;
use mfa_devices::filter::schema::{AttrType, DEVICES, Schema, SchemaAttribute};
use mfa_devices::filter::{CompileOptions, Filter};
use serde_json::{Value, json};

/// Evaluates `filter` on `resource` both ways and insists they agree.
fn eval(filter: &str, resource: &Value) -> bool {
    let f = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let interpreted = f.matches(resource);
    let compiled = f.compile::<Value>().matches(resource);
    assert_eq!(interpreted, compiled, "interpreted vs compiled on {filter}");
    interpreted
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "Bjensen",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "title": "",
        "nickName": null,
        "logins": 42,
        "children": 5,
        "weight": 60.5,
        "active": true,
        "groups": [],
        "tags": ["Red", "green"],
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "addresses": [{"type": "work", "locality": "Hollywood"}, {"type": "home", "locality": "Austin"}],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z",
                 "$ref": "https://example.com/v2/Users/2819c223"},
        "true": "yes",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

#[test]
fn names_operators_and_keywords_ignore_case() {
    let u = user();
    assert!(eval(r#"USERNAME EQ "bjensen""#, &u));
    assert!(eval(
        r#"Name.GivenName Sw "bar" AnD NoT (ACTIVE eQ FALSE)"#,
        &u
    ));
    assert!(eval(r#"emails[TYPE eq "WORK"]"#, &u));
}

#[test]
fn strings_ignore_case_unless_case_exact() {
    let u = user();
    for f in [
        r#"userName eq "BJENSEN""#,
        r#"userName co "JENS""#,
        r#"userName sw "bJ""#,
        r#"userName ew "SEN""#,
        r#"userName gt "BJ""#,
        r#"userName lt "BK""#,
        r#"userName ne "someone""#,
    ] {
        assert!(eval(f, &u), "{f}");
    }
    // Unicode case folding (no allocation: lowercase char iterators).
    let v = json!({"city": "ÉVORA", "word": "STRASSE", "greek": "ΣΟΦΙΑ"});
    assert!(eval(r#"city eq "évora""#, &v));
    assert!(eval(r#"city sw "év""#, &v));
    assert!(eval(r#"city ew "VORA""#, &v));
    assert!(eval(r#"city co "vor""#, &v));
    assert!(eval(r#"greek co "οφ""#, &v));
    assert!(
        !eval(r#"word eq "straße""#, &v),
        "lowercasing, not full case folding"
    );

    static S: Schema = Schema {
        name: "users",
        attributes: &[SchemaAttribute {
            case_exact: true,
            ..SchemaAttribute::new("userName", AttrType::String, &["eq", "co"])
        }],
        logical_operators: &["and"],
    };
    let f = Filter::parse(r#"userName eq "bjensen""#).unwrap();
    let exact = f.compile_with::<Value>(&CompileOptions::new().schema(&S));
    assert!(!exact.matches(&u));
    assert!(
        Filter::parse(r#"userName eq "Bjensen""#)
            .unwrap()
            .compile_with::<Value>(&CompileOptions::new().schema(&S))
            .matches(&u)
    );
}

#[test]
fn eq_null_is_true_for_null_absent_and_empty_array() {
    let u = user();
    for attr in ["nickName", "absent", "groups"] {
        assert!(eval(&format!("{attr} eq null"), &u), "{attr} eq null");
        assert!(!eval(&format!("{attr} ne null"), &u), "{attr} ne null");
    }
    for attr in ["userName", "logins", "active", "emails", "name", "title"] {
        assert!(!eval(&format!("{attr} eq null"), &u), "{attr} eq null");
        assert!(eval(&format!("{attr} ne null"), &u), "{attr} ne null");
    }
}

#[test]
fn pr_is_false_for_null_absent_empty_array_and_empty_string() {
    let u = user();
    for attr in ["nickName", "absent", "groups", "title", "name.middleName"] {
        assert!(!eval(&format!("{attr} pr"), &u), "{attr} pr");
    }
    for attr in [
        "userName",
        "logins",
        "active",
        "emails",
        "name",
        "emails.value",
        "tags",
    ] {
        assert!(eval(&format!("{attr} pr"), &u), "{attr} pr");
    }
    assert!(eval("flag pr", &json!({"flag": false})), "false is a value");
    assert!(eval("zero pr", &json!({"zero": 0})));
}

#[test]
fn numbers_compare_by_value() {
    let u = user();
    assert!(eval("children gt 4.5", &u));
    assert!(!eval("children lt 4.5", &u));
    assert!(eval("logins eq 42.0", &u));
    assert!(eval("logins eq 4.2e1", &u));
    assert!(eval("logins ge 42 and logins le 42", &u));
    assert!(eval("weight gt 60 and weight lt 61", &u));
    assert!(eval("weight ne 60", &u));
    let big = json!({"n": 18446744073709551615u64, "m": -9223372036854775808i64});
    assert!(eval("n eq 18446744073709551615", &big));
    assert!(
        !eval("n eq 18446744073709551614", &big),
        "integers stay exact"
    );
    assert!(eval("m lt 0", &big));
}

#[test]
fn date_times_compare_as_instants() {
    let u = user();
    // The same moment written with Z and with an offset.
    assert!(eval(
        r#"meta.lastModified eq "2011-05-12T22:42:34-06:00""#,
        &u
    ));
    assert!(eval(
        r#"meta.lastModified gt "2011-05-12T22:00:00-06:00""#,
        &u
    ));
    assert!(!eval(
        r#"meta.lastModified gt "2011-05-12T23:00:00-06:00""#,
        &u
    ));
    assert!(eval(
        r#"meta.lastModified le "2011-05-13T04:42:34.000Z""#,
        &u
    ));
    assert!(eval(r#"meta.created lt "2011-01-01T00:00:00Z""#, &u));
    // Not a date-time on one side: text comparison.
    assert!(eval(r#"meta.lastModified sw "2011-05""#, &u));
    assert!(eval(r#"meta.lastModified gt "2011""#, &u));
    assert!(!eval(r#"meta.lastModified eq "2011-05-13""#, &u));
}

#[test]
fn multi_valued_any_and_ne_none() {
    let u = user();
    assert!(eval(r#"emails.type eq "home""#, &u));
    assert!(eval(
        r#"emails co "jensen.org""#,
        &json!({"emails": ["a@b.c", "babs@jensen.org"]})
    ));
    assert!(eval(r#"tags eq "green""#, &u));
    // `ne` matches when no value is equal.
    assert!(!eval(r#"addresses.type ne "work""#, &u));
    assert!(eval(r#"addresses.type ne "school""#, &u));
    assert!(!eval(r#"tags ne "red""#, &u));
    // `ne "x"` on an absent attribute is true.
    assert!(eval(r#"absent ne "x""#, &u));
    assert!(eval(r#"name.middleName ne "x""#, &u));
}

#[test]
fn value_path_needs_one_element_for_the_whole_bracket() {
    let u = user();
    assert!(eval(
        r#"emails[type eq "work" and value co "@example.com"]"#,
        &u
    ));
    assert!(!eval(
        r#"emails[type eq "home" and value co "@example.com"]"#,
        &u
    ));
    // Without brackets, different elements may satisfy each part.
    assert!(eval(
        r#"emails.type eq "home" and emails.value co "@example.com""#,
        &u
    ));
    assert!(eval(r#"emails[not (type eq "work")]"#, &u));
    assert!(eval(r#"emails[primary eq true]"#, &u));
    assert!(!eval(r#"emails[primary eq false]"#, &u));
    assert!(!eval(r#"groups[value pr]"#, &u));
    assert!(!eval(r#"absent[value pr]"#, &u));
    // Over plain values, `value` is the element.
    assert!(eval(r#"tags[value eq "red"]"#, &u));
    assert!(!eval(r#"tags[value eq "blue"]"#, &u));
    assert!(!eval(r#"tags[type eq "red"]"#, &u));
    // A single complex value is one element.
    assert!(eval(
        r#"name[givenName eq "barbara" and familyName eq "jensen"]"#,
        &u
    ));
}

#[test]
fn ref_and_keyword_named_attributes() {
    let u = user();
    assert!(eval(r#"meta.$ref sw "https://""#, &u));
    assert!(eval(r#"true eq "yes""#, &u));
    assert!(!eval("false pr", &u));
    assert!(eval(r#"null eq null"#, &u));
}

#[test]
fn not_needs_parentheses_and_and_binds_tighter() {
    let u = user();
    assert!(eval(r#"not(userName eq "x")"#, &u));
    assert!(Filter::parse(r#"not userName eq "x""#).is_err());
    // true or (false and false)
    assert!(eval(
        r#"active eq true or active eq false and logins eq 0"#,
        &u
    ));
    // (true or false) and false
    assert!(!eval(
        r#"(active eq true or active eq false) and logins eq 0"#,
        &u
    ));
}

#[test]
fn decision_core_schema_prefix_is_stripped_and_extension_urn_names_the_object() {
    let u = user();
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#,
        &u
    ));
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName eq "jensen""#,
        &u
    ));
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert!(eval(&format!(r#"{ext}:employeeNumber eq "701984""#), &u));
    assert!(eval(
        &format!(r#"{}:manager.value sw "2611""#, ext.to_uppercase()),
        &u
    ));
    assert!(
        !eval(r#"employeeNumber pr"#, &u),
        "extension attributes live in their object"
    );
}

#[test]
fn decision_different_types_never_match() {
    let u = user();
    assert!(!eval(r#"logins eq "42""#, &u));
    assert!(!eval(r#"userName eq 42"#, &u));
    assert!(!eval(r#"active eq "true""#, &u));
    assert!(!eval(r#"logins co "4""#, &u));
    assert!(
        !eval(r#"name eq "Jensen""#, &u),
        "a complex value is not a string"
    );
    assert!(eval(r#"logins ne "42""#, &u), "ne is the negation of eq");
}

#[test]
fn decision_booleans_support_only_eq_and_ne() {
    let u = user();
    assert!(eval("active eq true", &u));
    assert!(eval("active ne false", &u));
    for op in ["gt", "ge", "lt", "le", "co", "sw", "ew"] {
        assert!(!eval(&format!("active {op} true"), &u), "{op}");
        assert!(!eval(&format!("active {op} false"), &u), "{op}");
    }
    static S: Schema = Schema {
        name: "users",
        attributes: &[SchemaAttribute::new(
            "active",
            AttrType::Boolean,
            &["eq", "gt"],
        )],
        logical_operators: &[],
    };
    let e = Filter::parse("active gt true")
        .unwrap()
        .validate(&S)
        .unwrap_err();
    assert_eq!(e.details[0].code.as_str(), "INVALID_FILTER");
    assert!(
        e.details[0].message.contains("boolean attribute 'active'"),
        "{}",
        e.details[0].message
    );
    assert!(
        Filter::parse("active eq true")
            .unwrap()
            .validate(&S)
            .is_ok()
    );
}

#[test]
fn non_object_resources_have_no_attributes() {
    for v in [json!(null), json!(1), json!("x"), json!([{"a": 1}])] {
        assert!(!eval("a pr", &v));
        assert!(eval("a eq null", &v));
    }
}

#[test]
fn crest_only_nodes() {
    use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
    let u = user();
    assert!(Filter::from_expr(Expr::Literal(true)).matches(&u));
    assert!(
        !Filter::from_expr(Expr::Literal(false))
            .compile::<Value>()
            .matches(&u)
    );
    let ext = Filter::from_expr(Expr::Compare(
        AttrPath::new(["userName"]),
        CompareOp::Extended("like".into()),
        CompValue::String("b".into()),
    ));
    assert!(!ext.matches(&u));
    assert!(!ext.compile::<Value>().matches(&u));
    assert_eq!(ext.to_string(), r#"userName like "b""#);
    assert!(ext.to_scim().is_err());
    let deep = Filter::from_expr(Expr::Present(AttrPath::new(["a", "b", "c"])));
    assert!(deep.matches(&json!({"a": {"b": {"c": 1}}})));
    assert!(deep.to_scim().is_err());
}

// ---- mobilePayload ----

/// The mobile payload from PingOne's "Filtering result data" example.
const SPEC_JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImRlNjJjZWYxLWQzNmQtNGMxMC05NDBkLTczNzQzZDk5NmYxZiJ9.eyJpc3MiOiIyNjdmNmEwMC1iZjg2LTQ4ODUtYjRjMi1mYjg5YzUzNzVlNGYiLCJmbnAiOiJiMDY4YjI2YTNhZTI2MTRmIiwiZHZjIjoiZGU2MmNlZjEtZDM2ZC00YzEwLTk0MGQtNzM3NDNkOTk2ZjFmIiwiZXhwIjoxNjg3OTQ4MTY1NTkwLCJqdGkiOiI1M2FlMmQ5YS04NmZiLTRmNGQtYjFlYS04M2MzMDQwNWU2OWEifQ.LxPIyD1mmdkXRLUmt2z3Fjeryev9b5oPgJGR2M5QxcuRR-tnd9nKNVB37CyS0W5Hj926W2U-MoSgpldvPM6-anpM4w4Ywa0a65_FB7PA0tzv-5LI4Pduat5fxhG78PTVRLXF_bwMe1hopUEFu6MBcKj13LIjz-rcrHIMoQV3OWUH5caX4mV3FXx1FPxoB-3Ighcc0-SotO4JZXvpZk2vsD-P2XJ1lFf-N2QhXnwfmBy7WthuPDCU8Rc6_a0Ca2cnv1bWDAKUKkndEsqm6S0_VFpLueCVxmHKdSy98owh86SAVhGtoZeHfOTB7WEbOb9aCAH_AinEh-JEhLKn_hMO3w";

#[test]
fn mobile_payload_matches_the_device_named_by_dvc() {
    use mfa_devices::filter::MobilePayload;
    let p = MobilePayload::decode(SPEC_JWT).unwrap();
    assert_eq!(p.device_id(), Some("de62cef1-d36d-4c10-940d-73743d996f1f"));
    assert_eq!(p.claims()["fnp"], "b068b26a3ae2614f");

    let filter = format!(r#"mobilePayload eq "{SPEC_JWT}""#);
    assert!(Filter::parse(&filter).unwrap().validate(&DEVICES).is_ok());
    // The signature is the caller's to check; this one trusts the spec's token.
    let trust = |_: &str| true;
    let opts = CompileOptions::new().verifier(&trust);
    let verified = |f: &str, r: &Value| {
        Filter::parse(f)
            .unwrap()
            .compile_with::<Value>(&opts)
            .matches(r)
    };
    let mine = json!({"id": "de62cef1-d36d-4c10-940d-73743d996f1f", "type": "MOBILE"});
    let upper = json!({"id": "DE62CEF1-D36D-4C10-940D-73743D996F1F", "type": "MOBILE"});
    let other = json!({"id": "e112c96d-d165-45c5-8061-87ff268fd520", "type": "MOBILE"});
    assert!(verified(&filter, &mine));
    assert!(verified(&filter, &upper));
    assert!(!verified(&filter, &other));
    assert!(!verified(&filter, &json!({"type": "MOBILE"})));
    assert!(verified(
        &format!(r#"mobilePayload ne "{SPEC_JWT}""#),
        &other
    ));
    // Undecodable payloads match nothing, even trusted.
    for bad in [
        "",
        "abc",
        "a.b.c",
        "a.e30.c",
        "a.W10.c",
        "a.eyJkdmMiOjF9.c",
        "a.b.c.d",
    ] {
        assert!(
            !verified(&format!(r#"mobilePayload eq "{bad}""#), &mine),
            "{bad}"
        );
    }
    // Typed devices: the id is a UUID.
    let d = typed_device("de62cef1-d36d-4c10-940d-73743d996f1f", "MOBILE", "ACTIVE");
    let f = Filter::parse(&filter).unwrap();
    assert!(f.compile_with::<Device>(&opts).matches(&d));
}

#[test]
fn mobile_payload_fails_closed_without_a_verifier() {
    // An unsigned token (`alg: none`, empty signature) naming the device: a forgery.
    let forged = r#"mobilePayload eq "eyJhbGciOiJub25lIn0.eyJkdmMiOiJkZTYyY2VmMS1kMzZkLTRjMTAtOTQwZC03Mzc0M2Q5OTZmMWYifQ.""#;
    let mine = json!({"id": "de62cef1-d36d-4c10-940d-73743d996f1f", "type": "MOBILE"});
    let d = typed_device("de62cef1-d36d-4c10-940d-73743d996f1f", "MOBILE", "ACTIVE");
    let f = DEVICES.parse(forged).unwrap();
    // Every path without a verifier: no match, or an INVALID_FILTER error.
    assert!(!f.matches(&mine));
    assert!(!f.compile::<Value>().matches(&mine));
    assert!(!f.compile::<Device>().matches(&d));
    assert!(
        !f.compile_with::<Value>(&CompileOptions::new().schema(&DEVICES))
            .matches(&mine)
    );
    let e = f
        .compile_checked::<Value>(&CompileOptions::new().schema(&DEVICES))
        .unwrap_err();
    assert_eq!(
        (e.http_status(), e.details[0].code.as_str()),
        (400, "INVALID_FILTER")
    );
    let e = DEVICES
        .select(forged, std::slice::from_ref(&mine))
        .unwrap_err();
    assert_eq!(e.details[0].code.as_str(), "INVALID_FILTER");
    // Nested inside and/or/not too.
    let nested = DEVICES
        .parse(&format!(
            r#"type eq "MOBILE" and ({} or status eq "X")"#,
            forged
        ))
        .unwrap();
    assert!(
        nested
            .compile_checked::<Value>(&CompileOptions::new())
            .is_err()
    );
    // Other filters compile fine without a verifier.
    assert!(
        DEVICES
            .parse(r#"type eq "SMS""#)
            .unwrap()
            .compile_checked::<Value>(&CompileOptions::new())
            .is_ok()
    );
}

#[test]
fn mobile_payload_signature_is_the_callers_hook() {
    let f = Filter::parse(&format!(r#"mobilePayload eq "{SPEC_JWT}""#)).unwrap();
    let mine = json!({"id": "de62cef1-d36d-4c10-940d-73743d996f1f"});
    let seen = std::cell::Cell::new(0);
    let accept = |jwt: &str| {
        seen.set(seen.get() + 1);
        jwt == SPEC_JWT
    };
    let reject = |_: &str| false;
    let c = f.compile_with::<Value>(&CompileOptions::new().verifier(&accept));
    assert!(c.matches(&mine) && c.matches(&mine));
    assert_eq!(seen.get(), 1, "verified once, at compile time");
    assert!(
        !f.compile_with::<Value>(&CompileOptions::new().verifier(&reject))
            .matches(&mine)
    );
}

// ---- typed devices ----

fn typed_device(id: &str, ty: &str, status: &str) -> Device {
    serde_json::from_value(json!({
        "id": id,
        "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
        "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
        "type": ty, "status": status,
        "lock": {"status": "LOCKED", "expiresAt": "2024-03-13T16:57:40.614Z", "reason": "OTP"},
        "block": {"status": "UNBLOCKED"},
        "nickname": "Work phone",
        "createdAt": "2024-03-13T16:27:40.614Z", "updatedAt": "2024-03-14T08:00:00.000Z",
        "phone": "+1.512.555.0100", "x-custom": {"tier": "gold"}
    }))
    .unwrap()
}

/// Every filter gives the same answer on the typed device and on its JSON form.
#[test]
fn typed_device_agrees_with_its_json() {
    let d = typed_device(
        "e112c96d-d165-45c5-8061-87ff268fd520",
        "SMS",
        "ACTIVATION_REQUIRED",
    );
    let j = serde_json::to_value(&d).unwrap();
    let cases = [
        (
            r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#,
            true,
        ),
        (r#"status eq "activation_required" and type eq "sms""#, true),
        (r#"type eq "EMAIL" or status eq "ACTIVE""#, false),
        (r#"id eq "E112C96D-D165-45C5-8061-87FF268FD520""#, true),
        (r#"id sw "e112c96d""#, true),
        (r#"user.id eq "b30ac647-e33e-464f-a6ea-0275082d4c26""#, true),
        (r#"environment.id ew "80ad5c98f9f6""#, true),
        (
            r#"environment pr and user pr and lock pr and block pr"#,
            true,
        ),
        (r#"lock.status eq "LOCKED" and lock.reason eq "otp""#, true),
        (r#"lock.expiresAt gt "2024-03-13T10:00:00-06:00""#, true),
        (
            r#"block.status eq "UNBLOCKED" and block.blockedAt eq null"#,
            true,
        ),
        (r#"createdAt eq "2024-03-13T16:27:40.614Z""#, true),
        (r#"createdAt eq "2024-03-13T10:27:40.614-06:00""#, true),
        (
            r#"createdAt lt "2024-03-13T16:27:40.615Z" and updatedAt ge "2024-03-14T08:00:00Z""#,
            true,
        ),
        (r#"createdAt sw "2024-03-13T16""#, true),
        (r#"createdAt co "40.614""#, true),
        (r#"nickname co "PHONE""#, true),
        (r#"phone sw "+1.512""#, true),
        (r#"email pr"#, false),
        (r#"extension eq null"#, true),
        (r#"x-custom.tier eq "GOLD""#, true),
        (r#"unknown ne "x""#, true),
        (r#"status lt "ACTIVE" and status gt "ACTIVATION""#, true),
        (r#"type eq 1"#, false),
    ];
    for (f, want) in cases {
        let filter = Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(filter.matches(&d), want, "typed interpreted {f}");
        assert_eq!(
            filter.compile::<Device>().matches(&d),
            want,
            "typed compiled {f}"
        );
        assert_eq!(eval(f, &j), want, "json {f}");
    }
}

#[test]
fn the_spec_list_fixture_filters_like_pingone() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/devices.json"
    ))
    .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let json_devices = body["_embedded"]["devices"].as_array().unwrap().clone();
    let typed: Vec<Device> = json_devices
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    let ids = |picked: Vec<&Value>| -> Vec<String> {
        picked
            .iter()
            .map(|d| d["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let picked = DEVICES
        .select(r#"type eq "SMS" or type eq "TOTP""#, &json_devices)
        .unwrap();
    assert_eq!(ids(picked), ["SMS", "TOTP"]);
    let typed_picked = DEVICES
        .select(r#"type eq "SMS" or type eq "TOTP""#, &typed)
        .unwrap();
    assert_eq!(typed_picked.len(), 2);
    let e = DEVICES.select(r#"nickname pr"#, &json_devices).unwrap_err();
    assert_eq!(e.http_status(), 400);
}

// ---- validate ----

#[test]
fn devices_schema_allows_status_type_mobile_payload_with_eq_and_or() {
    for f in [
        r#"status eq "ACTIVE""#,
        r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#,
        r#"type eq "SMS" or type eq "EMAIL" or type eq "FIDO2""#,
        r#"(type eq "SMS" or type eq "VOICE") and status eq "ACTIVE""#,
        r#"STATUS EQ "ACTIVE""#,
        r#"mobilePayload eq "a.b.c""#,
    ] {
        assert!(Filter::parse(f).unwrap().validate(&DEVICES).is_ok(), "{f}");
    }
}

#[test]
fn devices_schema_refusals_are_pingone_error_bodies() {
    let cases = [
        (
            r#"nickname eq "x""#,
            "Unsupported attribute 'nickname' in filter; supported attributes: status, type, mobilePayload",
        ),
        (
            r#"status ne "ACTIVE""#,
            "Unsupported operator 'ne' for attribute 'status' in filter; supported operators: eq",
        ),
        (
            r#"type sw "S""#,
            "Unsupported operator 'sw' for attribute 'type' in filter; supported operators: eq",
        ),
        (
            "status pr",
            "Unsupported operator 'pr' for attribute 'status' in filter; supported operators: eq",
        ),
        (
            r#"not (type eq "SMS")"#,
            "Unsupported operator 'not' in filter; supported operators: eq, and, or",
        ),
        (
            r#"status eq 1"#,
            "Operator 'eq' cannot compare the string attribute 'status' with 1",
        ),
        (
            r#"type eq true"#,
            "Operator 'eq' cannot compare the string attribute 'type' with true",
        ),
        (
            r#"type[value eq "SMS"]"#,
            "Unsupported value path on attribute 'type': it is not a multi-valued complex attribute",
        ),
        (
            r#"status eq "ACTIVE" and lock.status eq "LOCKED""#,
            "Unsupported attribute 'lock.status' in filter; supported attributes: status, type, mobilePayload",
        ),
        (
            r#"urn:x:y:status eq "ACTIVE""#,
            "Unsupported attribute 'urn:x:y:status' in filter; supported attributes: status, type, mobilePayload",
        ),
    ];
    for (f, message) in cases {
        let e = Filter::parse(f).unwrap().validate(&DEVICES).unwrap_err();
        let body = serde_json::to_value(&e).unwrap();
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            body,
            json!({
                "code": "INVALID_DATA",
                "message": "The request could not be completed. One or more validation errors were in the request.",
                "details": [{
                    "code": "INVALID_FILTER",
                    "target": "filter",
                    "message": message,
                    "innerError": {
                        "supportedAttributes": ["status", "type", "mobilePayload"],
                        "supportedOperators": ["eq", "and", "or"]
                    }
                }]
            }),
            "{f}"
        );
    }
}

#[test]
fn schema_parse_turns_syntax_errors_into_invalid_filter() {
    let e = DEVICES.parse(r#"status eq "ACTIVE"#).unwrap_err();
    assert_eq!(
        e.details[0].message,
        "unterminated string starting at byte 10"
    );
    assert_eq!(
        e.details[0].inner_error.as_ref().unwrap()["supportedOperators"],
        json!(["eq", "and", "or"])
    );
    let plain: mfa_devices::error::ApiError = Filter::parse("(").unwrap_err().into();
    assert_eq!(plain.details[0].code.as_str(), "INVALID_FILTER");
}

#[test]
fn json_names_exact_wins_then_first_ignoring_case_and_hints_never_change_answers() {
    let dup = json!({"Status": "A", "status": "B"});
    assert!(eval(r#"status eq "B""#, &dup));
    assert!(eval(r#"Status eq "A""#, &dup));
    assert!(
        eval(r#"STATUS eq "A""#, &dup),
        "no exact name: the first ignoring case"
    );
    // One compiled filter over resources whose properties come in different orders.
    let c = Filter::parse(r#"status eq "B" and type eq "SMS""#)
        .unwrap()
        .compile::<Value>();
    let resources = [
        json!({"type": "SMS", "status": "B"}),
        json!({"status": "B", "x": 1, "type": "SMS"}),
        json!({"Status": "A", "status": "B", "TYPE": "sms"}),
        json!({"status": "A", "type": "SMS"}),
        json!({"type": "SMS"}),
        json!({"a": 1, "b": 2, "c": 3, "type": "SMS", "status": "B"}),
    ];
    let got: Vec<bool> = resources.iter().map(|r| c.matches(r)).collect();
    assert_eq!(got, [true, true, true, false, false, true]);
    let again: Vec<bool> = resources.iter().rev().map(|r| c.matches(r)).collect();
    assert_eq!(again, [true, false, false, true, true, true]);
}

#[test]
fn typed_fast_path_keeps_case_rules_for_unknown_spellings() {
    // "sms" is not PingOne's spelling, so the model keeps it as `Other("sms")`; it still equals
    // "SMS" ignoring case, on the compiled fast path (discriminants) as in the interpreter.
    let d = typed_device("e112c96d-d165-45c5-8061-87ff268fd520", "sms", "active");
    for (f, want) in [
        (r#"type eq "SMS""#, true),
        (r#"status eq "ACTIVE" and type eq "sms""#, true),
        (r#"type eq "EMAIL""#, false),
        (r#"status eq "ACTIVATION_REQUIRED""#, false),
        (r#"type ne "SMS""#, false),
    ] {
        let filter = Filter::parse(f).unwrap();
        assert_eq!(filter.matches(&d), want, "interpreted {f}");
        assert_eq!(filter.compile::<Device>().matches(&d), want, "compiled {f}");
    }
    let known = typed_device("e112c96d-d165-45c5-8061-87ff268fd520", "SMS", "ACTIVE");
    let c = Filter::parse(r#"type eq "sms" and status eq "Active""#)
        .unwrap()
        .compile::<Device>();
    assert!(c.matches(&known));
    assert!(!c.matches(&typed_device(
        "e112c96d-d165-45c5-8061-87ff268fd520",
        "VOICE",
        "ACTIVE"
    )));
}
