//! CREST ⇄ SCIM conversion through the shared syntax tree, and evaluation of CREST filters.

use mfa_devices::crest::{
    BoundDevice, OathDevice, QueryRequest, parse_query_filter, query, to_query_filter,
};
use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use mfa_devices::filter::{Filter, FilterErrorKind};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Filters both languages can say: CREST text, SCIM text.
const BOTH: [(&str, &str); 10] = [
    (
        r#"/deviceName eq "OATH Device""#,
        r#"deviceName eq "OATH Device""#,
    ),
    ("deviceName eq 'x'", r#"deviceName eq "x""#),
    ("/key/kty eq 'RSA'", r#"key.kty eq "RSA""#),
    ("/a pr or /b gt 5", "a pr or b gt 5"),
    (
        r#"!(/a eq 1 and /b co "x")"#,
        r#"not (a eq 1 and b co "x")"#,
    ),
    ("! /status eq 'ACTIVE'", r#"not (status eq "ACTIVE")"#),
    (
        "(/a sw 'x' or /b lt 2.5) and /c ge -3",
        r#"(a sw "x" or b lt 2.5) and c ge -3"#,
    ),
    (
        "/deviceManagementStatus eq false",
        "deviceManagementStatus eq false",
    ),
    (
        r#"/name eq "say \"hi\" \\ back""#,
        r#"name eq "say \"hi\" \\ back""#,
    ),
    (
        "/createdDate le 1715182923119",
        "createdDate le 1715182923119",
    ),
];

#[test]
fn crest_to_scim_and_back_where_both_can_say_it() {
    for (crest, scim) in BOTH {
        let f = parse_query_filter(crest).unwrap();
        assert_eq!(f.to_scim().unwrap(), scim, "{crest}");
        let from_scim = Filter::parse(scim).unwrap();
        assert_eq!(from_scim, f, "{scim}");
        let back = to_query_filter(&from_scim).unwrap();
        assert_eq!(parse_query_filter(&back).unwrap(), f, "{back}");
    }
}

#[test]
fn crest_only_constructs_are_refused_as_scim() {
    for crest in [
        "true",
        "/a eq 1 and false",
        "/a ne 1",
        "/a matches 'x'",
        "/a/b/c eq 1",
        "/_id eq 'x'",
        "/1a pr",
        "/a~1b pr",
    ] {
        let f = parse_query_filter(crest).unwrap();
        let err = f.to_scim().unwrap_err();
        assert!(
            matches!(err.kind(), FilterErrorKind::Unsupported(_)),
            "{crest}: {err}"
        );
    }
}

#[test]
fn scim_only_constructs_are_refused_as_crest() {
    for scim in [
        r#"emails[type eq "work" and value co "@example.com"]"#,
        r#"status ne "ACTIVE""#,
        r#"nickname ew "phone""#,
        "nickname eq null",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr",
        r#"type eq "SMS" or not (emails[type eq "work"])"#,
    ] {
        let f = Filter::parse(scim).unwrap();
        let err = to_query_filter(&f).unwrap_err();
        assert!(
            matches!(err.kind(), FilterErrorKind::Unsupported(_)),
            "{scim}: {err}"
        );
    }
}

fn arb_json_value() -> impl Strategy<Value = Option<Value>> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-2i64..3).prop_map(Value::from),
        Just(json!(1.0)),
        prop_oneof![Just("x"), Just("X"), Just("xy"), Just("")].prop_map(Value::from),
    ];
    prop_oneof![
        Just(None),
        scalar.clone().prop_map(Some),
        prop::collection::vec(scalar, 0..3).prop_map(|v| Some(Value::Array(v))),
    ]
}

fn arb_comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        (-2i64..3).prop_map(|i| CompValue::Number(i.into())),
        prop_oneof![Just("x"), Just("X"), Just("")].prop_map(|s| CompValue::String(s.into())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The claim in `crest::to_query_filter`'s documentation: under this crate's evaluator,
    /// `a ne v` and `!(a eq v)` select the same resources (absent, null, arrays included), so
    /// the refusal to convert `ne` is about trees and foreign evaluators, not about meaning here.
    #[test]
    fn ne_and_not_eq_select_the_same_resources(a in arb_json_value(), v in arb_comp_value()) {
        let mut r = json!({});
        if let Some(a) = a { r["a"] = a; }
        let path = AttrPath::new(["a"]);
        let ne = Filter::from_expr(Expr::Compare(path.clone(), CompareOp::Ne, v.clone()));
        let not_eq = Filter::from_expr(Expr::Not(Box::new(Expr::Compare(path, CompareOp::Eq, v))));
        prop_assert_eq!(ne.matches(&r), not_eq.matches(&r), "{}", r);
    }

    /// A typed device and its JSON select alike, interpreted and compiled.
    #[test]
    fn typed_devices_evaluate_like_their_json(
        filter in prop::sample::select(vec![
            "true", "false", "/deviceName sw 'ios'", "/deviceName eq 'iOS Device'",
            "/createdDate gt 1715182923000", "/createdDate lt 1715182923000.5",
            "/key/kty eq 'ec'", "/key pr", "/key/crv pr", "/deviceManagementStatus eq false",
            "/_id co 'bf'", "/extra/tags eq 'b'", "/extra pr", "! /deviceId pr",
            "/lastAccessDate ge 1715182923183 and /uuid sw 'FF1D'", "/deviceName/x pr",
            "/DEVICENAME eq 'ios device'", "/key ext.op 1", "/missing eq 1 or /_rev eq '192142989'",
        ]),
        name in prop_oneof![Just("iOS Device"), Just("Android")],
        created in 1_715_182_922_000i64..1_715_182_924_000,
        kty in prop_oneof![Just(json!("EC")), Just(json!("RSA")), Just(json!(null))],
        tags in prop::option::of(prop::collection::vec(prop_oneof![Just("a"), Just("b")], 0..3)),
    ) {
        let mut json = json!({
            "_id": "ff1db8bf-d2d7-46e1-926a-568b877f87a5", "_rev": "192142989",
            "createdDate": created, "lastAccessDate": 1_715_182_923_183_i64,
            "deviceId": "e2e84b5d", "deviceName": name,
            "uuid": "ff1db8bf-d2d7-46e1-926a-568b877f87a5",
            "key": {"kty": kty, "crv": "P-256"}, "deviceManagementStatus": false
        });
        if let Some(tags) = tags { json["extra"] = json!({"tags": tags}); }
        let typed: BoundDevice = serde_json::from_value(json.clone()).unwrap();
        let f = parse_query_filter(filter).unwrap();
        prop_assert_eq!(f.matches(&typed), f.matches(&json), "{}", filter);
        prop_assert_eq!(f.compile::<BoundDevice>().matches(&typed), f.matches(&json), "{}", filter);
    }
}

#[test]
fn query_evaluates_crest_filters_on_typed_devices() {
    let seed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/crest/oath.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let template = seed["result"][0].clone();
    let devices: Vec<OathDevice> = ["Work phone", "Home tablet", "work laptop", "Spare"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut v = template.clone();
            v["_id"] = format!("id-{i}").into();
            v["uuid"] = v["_id"].clone();
            v["deviceName"] = (*name).into();
            serde_json::from_value(v).unwrap()
        })
        .collect();
    let names = |filter: &str, sort: &str| -> Vec<String> {
        let mut pairs = vec![("_queryFilter", filter)];
        if !sort.is_empty() {
            pairs.push(("_sortKeys", sort));
        }
        let req = QueryRequest::from_query_pairs(pairs).unwrap();
        query(
            &devices,
            &req,
            &mfa_devices::crest::Paging::new(
                &mfa_devices::crest::CookieKey::from([7; 32]),
                "owner",
                chrono::DateTime::UNIX_EPOCH,
                [0; 16],
            ),
        )
        .unwrap()
        .result
        .iter()
        .map(|d| d.device_name.clone())
        .collect()
    };
    assert_eq!(
        names("true", ""),
        ["Work phone", "Home tablet", "work laptop", "Spare"]
    );
    assert!(names("false", "").is_empty());
    assert_eq!(
        names("/deviceName sw 'work'", "deviceName"),
        ["Work phone", "work laptop"]
    );
    assert_eq!(
        names("/deviceName co 'a' and ! /_id eq 'id-1'", "-_id"),
        ["Spare", "work laptop"]
    );
    // Extended operators never match, even negated they make the whole `!` true.
    assert!(names("/deviceName ext.op 'x'", "").is_empty());
    assert_eq!(names("! /deviceName ext.op 'x'", "").len(), 4);
}

/// Trees both languages can say: SCIM attribute names (one or two segments), the seven shared
/// operators, booleans, integers, doubles and strings, `not`, `and`, `or`.
fn arb_shared_expr() -> impl Strategy<Value = Expr> {
    let name = prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_-]{0,6}",
        Just("deviceName".to_owned()),
        Just("key".to_owned())
    ];
    let path = prop::collection::vec(name, 1..3).prop_map(AttrPath::new);
    let op = prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ]);
    let value = prop_oneof![
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|i| CompValue::Number(i.into())),
        (-1e6f64..1e6).prop_map(|f| CompValue::Number(serde_json::Number::from_f64(f).unwrap())),
        "[ -~é\"\\\\]{0,8}".prop_map(CompValue::String),
    ];
    let leaf = prop_oneof![
        path.clone().prop_map(Expr::Present),
        (path, op, value).prop_map(|(p, o, v)| Expr::Compare(p, o, v)),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let flat = |v: Vec<Expr>, and: bool| {
            let mut out = Vec::new();
            for e in v {
                match e {
                    Expr::And(x) if and => out.extend(x),
                    Expr::Or(x) if !and => out.extend(x),
                    e => out.push(e),
                }
            }
            if and { Expr::And(out) } else { Expr::Or(out) }
        };
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(move |v| flat(v, true)),
            prop::collection::vec(inner, 2..4).prop_map(move |v| flat(v, false)),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Where both languages can say a filter, each text reads back as the same tree, so a
    /// filter converts CREST → SCIM → CREST (and the other way) without change.
    #[test]
    fn shared_trees_convert_both_ways(e in arb_shared_expr()) {
        let f = Filter::from_expr(e);
        let crest = to_query_filter(&f).unwrap();
        let scim = f.to_scim().unwrap();
        let from_crest = parse_query_filter(&crest).unwrap();
        prop_assert_eq!(&from_crest, &f, "{}", crest);
        let from_scim = Filter::parse(&scim).unwrap();
        prop_assert_eq!(&from_scim, &f, "{}", scim);
        prop_assert_eq!(from_scim.to_scim().unwrap(), scim);
        prop_assert_eq!(to_query_filter(&from_crest).unwrap(), crest);
    }
}
