//! The AIC device-list seed responses as fixtures, realm paths, request parsing and error bodies.

use mfa_devices::crest::{
    BoundDevice, CrestError, DeviceCategory, OathDevice, PushDevice, QueryItem, QueryKind,
    QueryRequest, QueryResponse, Realm, SortKey, TotalPagedResultsPolicy, WebAuthnDevice, query,
    query_with,
};
use mfa_devices::error::ApiError;
use mfa_devices::filter::Resource;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/crest/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The seed envelope parses into typed devices, re-serializes to the same JSON, and the query
/// engine given the devices and `_queryFilter=true` reproduces the whole response.
fn round_trip<T>(name: &str) -> T
where
    T: DeserializeOwned + QueryItem + Resource + PartialEq + std::fmt::Debug,
{
    let seed = fixture(name);
    let response: QueryResponse<T> = serde_json::from_value(seed.clone()).unwrap();
    assert_eq!(serde_json::to_value(&response).unwrap(), seed, "{name}");
    let req = QueryRequest::from_query_pairs([("_queryFilter", "true")]).unwrap();
    let out = query(
        &response.result,
        &req,
        &mfa_devices::crest::Paging::new(
            &mfa_devices::crest::CookieKey::from([7; 32]),
            "owner",
            chrono::DateTime::UNIX_EPOCH,
            [0; 16],
        ),
    )
    .unwrap();
    assert_eq!(serde_json::to_value(&out).unwrap(), seed, "{name}");
    // Field order too: the text CREST writes, modulo whitespace.
    let text = serde_json::to_string(&out).unwrap();
    let compact = serde_json::to_string(&seed).unwrap();
    assert_eq!(text, compact);
    response.result.into_iter().next().unwrap()
}

#[test]
fn oath_seed_round_trips() {
    let d: OathDevice = round_trip("oath");
    assert_eq!(d.id, "ff1db8bf-d2d7-46e1-926a-568b877f87a5");
    assert_eq!(d.rev, "172031596");
    assert_eq!(d.device_name, "OATH Device");
    assert!(!d.device_management_status);
    assert_eq!(d.category(), DeviceCategory::Oath);
}

#[test]
fn push_seed_round_trips() {
    let d: PushDevice = round_trip("push");
    assert_eq!(d.device_name, "Push Device");
    assert!(d.extra.is_empty());
}

#[test]
fn webauthn_seed_round_trips() {
    let d: WebAuthnDevice = round_trip("webauthn");
    assert_eq!(d.rev, "163664231");
    assert_eq!(d.device_name, "New Security Key");
    assert_eq!(d.credential_id, None);
}

#[test]
fn binding_seed_round_trips() {
    let d: BoundDevice = round_trip("binding");
    assert_eq!(d.created_date, 1_715_182_923_119);
    assert_eq!(d.last_access_date, 1_715_182_923_183);
    assert_eq!(
        d.created_at()
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "2024-05-08T15:42:03.119Z"
    );
    assert_eq!(d.device_id, "e2e84b5d2a927abdcb85570bac9701c390a92751");
    assert_eq!(d.key["kty"], "RSA");
    assert_eq!(d.category(), DeviceCategory::Binding);
}

#[test]
fn unknown_fields_survive_and_missing_required_fields_fail() {
    let mut v = fixture("binding")["result"][0].clone();
    v["futureField"] = serde_json::json!({"x": [1, 2.5, null]});
    let d: BoundDevice = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&d).unwrap(), v);
    v.as_object_mut().unwrap().remove("createdDate");
    assert!(serde_json::from_value::<BoundDevice>(v).is_err());
    let mut w = fixture("webauthn")["result"][0].clone();
    w["credentialId"] = "AbC-_1".into();
    let d: WebAuthnDevice = serde_json::from_value(w.clone()).unwrap();
    assert_eq!(d.credential_id.as_deref(), Some("AbC-_1"));
    assert_eq!(serde_json::to_value(&d).unwrap(), w);
}

#[test]
fn categories_render_the_documented_endpoints() {
    let realm: Realm = "/realms/root/realms/alpha".parse().unwrap();
    for (cat, seg) in [
        (DeviceCategory::Oath, "oath"),
        (DeviceCategory::Push, "push"),
        (DeviceCategory::WebAuthn, "webauthn"),
        (DeviceCategory::Binding, "binding"),
    ] {
        assert_eq!(seg.parse::<DeviceCategory>().unwrap(), cat);
        assert_eq!(
            realm
                .devices_path("014c54bd-6078-4639-8316-8ce0e7746fa4", cat)
                .unwrap(),
            format!(
                "/json/realms/root/realms/alpha/users/014c54bd-6078-4639-8316-8ce0e7746fa4/devices/2fa/{seg}"
            )
        );
    }
    for bad in ["OATH", "sms", "", "web authn"] {
        assert_eq!(
            bad.parse::<DeviceCategory>(),
            Err(CrestError::UnknownCategory(bad.into()))
        );
    }
}

#[test]
fn realm_paths_parse_and_render() {
    for (path, names) in [
        ("/realms/root", vec![]),
        ("/realms/root/realms/alpha", vec!["alpha"]),
        (
            "/realms/root/realms/alpha/realms/eu-1",
            vec!["alpha", "eu-1"],
        ),
        ("/realms/root/realms/root", vec!["root"]),
    ] {
        let r: Realm = path.parse().unwrap();
        assert_eq!(r.names(), names.as_slice(), "{path}");
        assert_eq!(r.to_string(), path);
    }
    for (bad, offset) in [
        ("", 0),
        ("/realms/alpha", 0),
        ("realms/root", 0),
        ("/realms/root/", 12),
        ("/realms/root/alpha", 12),
        ("/realms/root/realms/", 20),
        ("/realms/root/realms/alpha/", 25),
        ("/realms/root/realms/al pha", 20),
        ("/realms/root/realms/..", 20),
        ("/realms/rootx", 12),
        ("/realms/root//realms/alpha", 12),
    ] {
        match bad.parse::<Realm>() {
            Err(CrestError::InvalidRealm { offset: at, .. }) => assert_eq!(at, offset, "{bad}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        Realm::from_hierarchy("/alpha/eu").unwrap().to_string(),
        "/realms/root/realms/alpha/realms/eu"
    );
    assert!(Realm::from_hierarchy("root").unwrap().is_root());
    assert!(Realm::from_hierarchy("/alpha/").is_err());
    let e = "/realms/x".parse::<Realm>().unwrap_err();
    assert_eq!(e.http_status(), 404);
    assert_eq!(ApiError::from(e).code(), "NOT_FOUND");
}

#[test]
fn device_paths_percent_encode_ids() {
    let r = Realm::from_hierarchy("alpha").unwrap();
    assert_eq!(
        r.device_path("a/b?c", DeviceCategory::Push, "é").unwrap(),
        "/json/realms/root/realms/alpha/users/a%2Fb%3Fc/devices/2fa/push/%C3%A9"
    );
    assert_eq!(
        r.device_path("u", DeviceCategory::Push, ""),
        Err(CrestError::EmptyPathSegment("device uuid"))
    );
}

/// Issue 12, point 7: an id of `.` or `..` would be a dot segment in the endpoint path
/// (`…/users/../devices/2fa/oath`), which URL normalization resolves to another resource. Every
/// path builder refuses it with a 404-class error; ids that merely contain dots still work.
#[test]
fn point_07_path_builders_refuse_dot_segments() {
    let r = Realm::from_hierarchy("alpha").unwrap();
    let is_dot = |s: &str| s == "." || s == "..";
    for dot in [".", ".."] {
        for cat in [
            DeviceCategory::Oath,
            DeviceCategory::Push,
            DeviceCategory::WebAuthn,
            DeviceCategory::Binding,
        ] {
            let user = r.devices_path(dot, cat);
            assert!(user.is_err(), "user id {dot:?} gave {user:?}");
            let device = r.device_path("u1", cat, dot);
            assert!(device.is_err(), "uuid {dot:?} gave {device:?}");
            let both = r.device_path(dot, cat, dot);
            assert!(both.is_err(), "{both:?}");
            for e in [user, device, both] {
                let e = e.unwrap_err();
                assert_eq!(e.http_status(), 404);
                assert!(e.to_string().contains("dot segment"), "{e}");
            }
        }
    }
    // Dots inside an id are ordinary characters: never a whole segment of `.`/`..`.
    for id in ["...", ".a", "a..", "a.b", ". ", "%2E"] {
        let p = r.device_path(id, DeviceCategory::Oath, id).unwrap();
        assert!(!p.split('/').any(is_dot), "{p}");
    }
}

#[test]
fn query_parameters_follow_crest_400_rules() {
    let ok = QueryRequest::from_query_pairs([
        ("_QUERYFILTER", "/deviceName eq \"x\""),
        ("_sortKeys", "+deviceName,-/createdDate"),
        ("_sortKeys", "_id"),
        ("_pageSize", "0"),
        ("_pagedResultsOffset", "0"),
        ("_pagedResultsCookie", "abc"),
        ("_totalPagedResultsPolicy", "Estimate"),
        ("_fields", "deviceName"),
        ("realm", "alpha"),
    ])
    .unwrap();
    assert!(matches!(ok.query, QueryKind::Filter(_)));
    assert_eq!(
        ok.sort_keys,
        vec![
            SortKey::ascending("deviceName").unwrap(),
            SortKey::descending("createdDate").unwrap(),
            SortKey::ascending("_id").unwrap(),
        ]
    );
    assert_eq!(ok.paged_results_cookie.as_deref(), Some("abc"));
    assert_eq!(
        ok.total_paged_results_policy,
        TotalPagedResultsPolicy::Estimate
    );
    assert_eq!(ok.other_parameters.len(), 2);
    // Sort keys are JSON pointers, whatever the filter grammar would make of the word.
    for (key, segments) in [
        ("true", vec!["true"]),
        ("!", vec!["!"]),
        ("/a~1b/'c'", vec!["a/b", "'c'"]),
    ] {
        let k: SortKey = key.parse().unwrap();
        assert_eq!(k.field.segments, segments, "{key}");
        assert_eq!(k.to_string().parse::<SortKey>().unwrap(), k);
    }

    let q = |pairs: &[(&str, &str)]| QueryRequest::from_query_pairs(pairs.iter().copied());
    assert_eq!(q(&[]), Err(CrestError::MissingQuery));
    assert_eq!(
        q(&[("_queryId", "x"), ("_queryExpression", "y")]),
        Err(CrestError::ConflictingQuery {
            first: "_queryId",
            second: "_queryExpression"
        })
    );
    assert!(matches!(
        q(&[("_queryFilter", "true"), ("_queryFilter", "true")]),
        Err(CrestError::DuplicateParameter("_queryFilter"))
    ));
    assert!(matches!(
        q(&[
            ("_queryFilter", "true"),
            ("_pageSize", "1"),
            ("_pageSize", "2")
        ]),
        Err(CrestError::DuplicateParameter("_pageSize"))
    ));
    assert!(matches!(
        q(&[("_queryFilter", "/a eq")]),
        Err(CrestError::InvalidQueryFilter(_))
    ));
    for (name, value) in [
        ("_pageSize", "-1"),
        ("_pageSize", "ten"),
        ("_pageSize", "2147483648"),
        ("_pagedResultsOffset", "-5"),
        ("_sortKeys", ""),
        ("_sortKeys", "a,,b"),
        ("_sortKeys", "a,"),
        ("_sortKeys", "-"),
        ("_sortKeys", "+"),
        ("_sortKeys", "a//b"),
        ("_totalPagedResultsPolicy", "ALL"),
        ("_totalPagedResultsPolicy", ""),
    ] {
        match q(&[("_queryFilter", "true"), (name, value)]) {
            Err(CrestError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
    assert_eq!(
        q(&[
            ("_queryFilter", "true"),
            ("_pagedResultsCookie", "c"),
            ("_pagedResultsOffset", "1")
        ]),
        Err(CrestError::OffsetWithCookie)
    );
    // An empty cookie is no cookie; offset 0 with a cookie is fine.
    assert!(
        q(&[
            ("_queryFilter", "true"),
            ("_pagedResultsCookie", ""),
            ("_pagedResultsOffset", "3")
        ])
        .is_ok()
    );
}

#[test]
fn request_pairs_round_trip() {
    let pairs = [
        (
            "_queryFilter",
            "/deviceName sw \"iOS\" and ! /key/kty eq \"EC\"",
        ),
        ("_sortKeys", "-/createdDate,/deviceName"),
        ("_pageSize", "25"),
        ("_pagedResultsCookie", "abc"),
        ("_totalPagedResultsPolicy", "EXACT"),
        ("x", "y"),
    ];
    let req = QueryRequest::from_query_pairs(pairs).unwrap();
    let out = req.to_query_pairs().unwrap();
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(out, owned);
}

#[test]
fn errors_render_as_crest_and_pingone_bodies() {
    let err = QueryRequest::from_query_pairs([("_queryFilter", "foo eq bar")]).unwrap_err();
    let body = serde_json::to_value(err.to_crest_body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": 400, "reason": "Bad Request",
            "message": "invalid _queryFilter: expected a value: a number, true, false or a quoted string at byte 7"})
    );
    let api: ApiError = err.into();
    assert_eq!(api.http_status(), 400);
    let v = serde_json::to_value(&api).unwrap();
    assert_eq!(v["code"], "INVALID_DATA");
    assert_eq!(v["details"][0]["code"], "INVALID_FILTER");
    assert_eq!(v["details"][0]["target"], "_queryFilter");

    let api: ApiError = CrestError::OffsetWithCookie.into();
    assert_eq!(api.details[0].code.as_str(), "INVALID_VALUE");
    assert_eq!(
        api.details[0].target.as_deref(),
        Some("_pagedResultsOffset")
    );
    let unsupported = query_with(
        &[serde_json::json!(1)],
        &QueryRequest::from_query_pairs([("_queryId", "query-all-ids")]).unwrap(),
        &mfa_devices::crest::Paging::new(
            &mfa_devices::crest::CookieKey::from([7; 32]),
            "owner",
            chrono::DateTime::UNIX_EPOCH,
            [0; 16],
        ),
        |_, _| true,
    )
    .unwrap_err();
    assert_eq!(unsupported, CrestError::UnsupportedQuery("_queryId"));
    assert_eq!(unsupported.to_crest_body().code, 400);
}

/// The typed models answer sort values exactly as their JSON would.
#[test]
fn typed_sort_values_agree_with_the_json() {
    fn check<T: QueryItem>(item: &T) {
        let json = serde_json::to_value(item).unwrap();
        for ptr in [
            "_id",
            "_rev",
            "deviceName",
            "uuid",
            "deviceManagementStatus",
            "createdDate",
            "lastAccessDate",
            "deviceId",
            "key",
            "key/kty",
            "key/n",
            "key/missing",
            "credentialId",
            "extraField",
            "extraField/a/0",
            "extraField/a/1",
            "nope",
            "deviceName/x",
            "_id/0",
        ] {
            let field = mfa_devices::crest::SortKey::ascending(ptr).unwrap().field;
            assert_eq!(item.sort_value(&field), json.sort_value(&field), "{ptr}");
        }
    }
    let with_extra = |name: &str| {
        let mut v = fixture(name)["result"][0].clone();
        v["extraField"] = serde_json::json!({"a": [1, "two"]});
        v
    };
    check(&serde_json::from_value::<OathDevice>(with_extra("oath")).unwrap());
    check(&serde_json::from_value::<PushDevice>(with_extra("push")).unwrap());
    let mut w = with_extra("webauthn");
    check(&serde_json::from_value::<WebAuthnDevice>(w.clone()).unwrap());
    w["credentialId"] = "cred".into();
    check(&serde_json::from_value::<WebAuthnDevice>(w).unwrap());
    check(&serde_json::from_value::<BoundDevice>(with_extra("binding")).unwrap());
}

fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[test]
fn raw_query_strings_decode_like_a_servlet() {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/crest/query_filters.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for case in table["valid"].as_array().unwrap() {
        let filter = case["input"].as_str().unwrap();
        let pairs = [
            ("_queryFilter", filter),
            ("_sortKeys", "-/createdDate,deviceName"),
            ("_pageSize", "7"),
            ("_totalPagedResultsPolicy", "exact"),
            ("note", "a b&c=d+é"),
        ];
        let raw: Vec<String> = pairs
            .iter()
            .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
            .collect();
        let raw = raw.join("&");
        assert_eq!(
            QueryRequest::from_query_string(&raw).unwrap(),
            QueryRequest::from_query_pairs(pairs).unwrap(),
            "{raw}"
        );
    }
    // `+` is a space, `%2B` a plus; an empty piece is skipped; a bare name has an empty value.
    let req = QueryRequest::from_query_string("_queryFilter=/a+eq+%2B5&&flag").unwrap();
    assert_eq!(
        req,
        QueryRequest::from_query_pairs([("_queryFilter", "/a eq +5"), ("flag", "")]).unwrap()
    );
    for bad in [
        "_queryFilter=%",
        "_queryFilter=%4",
        "_queryFilter=%G0",
        "_queryFilter=%FF",
    ] {
        assert!(
            matches!(
                QueryRequest::from_query_string(bad),
                Err(CrestError::InvalidParameter {
                    name: "query string",
                    ..
                })
            ),
            "{bad}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any realm built from valid names renders to a path that parses back to it, and the short
    /// hierarchy form agrees.
    #[test]
    fn realm_paths_round_trip(names in proptest::collection::vec("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,8}", 0..5)) {
        let mut realm = Realm::root();
        for n in &names {
            realm = realm.child(n).unwrap();
        }
        let path = realm.to_string();
        proptest::prop_assert_eq!(path.parse::<Realm>().unwrap(), realm.clone());
        if names.first().is_none_or(|n| n != "root") {
            let short = format!("/{}", names.join("/"));
            proptest::prop_assert_eq!(Realm::from_hierarchy(&short).unwrap(), realm);
        }
    }

    /// Arbitrary text never panics the realm parser; what parses renders back verbatim.
    #[test]
    fn realm_parser_is_total(s in "(/realms/(root|[a-z.]{0,3}))*[ -~]{0,4}") {
        if let Ok(r) = s.parse::<Realm>() {
            proptest::prop_assert_eq!(r.to_string(), s);
        }
    }
}
