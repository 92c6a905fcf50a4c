//! Property tests: Display/parse round-trip on generated normalized ASTs; the compiled form
//! agrees with the interpreter on generated filters × generated JSON; typed devices agree with
//! their JSON form.

use mfa_devices::device::Device;
use mfa_devices::filter::Filter;
use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

const NAMES: &[&str] = &[
    "a",
    "B",
    "type",
    "status",
    "value",
    "emails",
    "id",
    "$ref",
    "true",
    "not",
    "and",
    "or",
    "pr",
    "eq",
    "null",
    "x-y_z9",
    "lastModified",
    "createdAt",
];
const URNS: &[&str] = &[
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:x:y",
];

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(str::to_owned)
}

fn path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::weighted(0.15, prop::sample::select(URNS).prop_map(str::to_owned)),
        prop::collection::vec(name(), 1..=2),
    )
        .prop_map(|(urn, segments)| AttrPath { urn, segments })
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "x",
            "X",
            "SMS",
            "sms",
            "ACTIVE",
            "work",
            "Work",
            "é",
            "É",
            "2011-05-13T04:42:34Z",
            "2011-05-12T22:42:34-06:00",
            "2024-03-13T16:27:40.614Z",
            "K",
            "\u{212a}",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
        "[\"\\\\a-z\u{0}-\u{1f}]{0,6}",
    ]
}

fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-3i64..50).prop_map(Number::from),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
        prop::sample::select(vec![0.5, 4.5, 42.0, -0.0, 1e300, 5e-324])
            .prop_filter_map("f", Number::from_f64),
    ]
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        number().prop_map(CompValue::Number),
        string().prop_map(CompValue::String),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        path().prop_map(Expr::Present),
        (path(), op(), comp_value()).prop_map(|(p, o, v)| Expr::Compare(p, o, v)),
    ]
}

/// Arbitrary (not yet normalized) trees with SCIM syntax: value paths only on a single
/// attribute name and never nested (what the parser accepts).
fn scim_tree() -> impl Strategy<Value = Expr> {
    let single = (
        prop::option::weighted(0.15, prop::sample::select(URNS).prop_map(str::to_owned)),
        name(),
    )
        .prop_map(|(urn, n)| AttrPath {
            urn,
            segments: vec![n],
        });
    let no_vp = leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    });
    let vp = (single, no_vp).prop_map(|(p, e)| Expr::ValuePath(p, Box::new(e)));
    prop_oneof![3 => leaf(), 1 => vp].prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

/// Arbitrary (not yet normalized) trees, value paths anywhere (for evaluation: hand-built trees
/// may nest them).
fn tree() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (path(), inner.clone()).prop_map(|(p, e)| Expr::ValuePath(p, Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

/// The normal form: n-ary and/or never directly containing their own kind.
fn normalize(e: Expr) -> Expr {
    match e {
        Expr::Not(x) => Expr::Not(Box::new(normalize(*x))),
        Expr::ValuePath(p, x) => Expr::ValuePath(p, Box::new(normalize(*x))),
        Expr::And(xs) => Expr::And(flatten(xs, true)),
        Expr::Or(xs) => Expr::Or(flatten(xs, false)),
        leaf => leaf,
    }
}

fn flatten(xs: Vec<Expr>, and: bool) -> Vec<Expr> {
    let mut out = Vec::new();
    for x in xs.into_iter().map(normalize) {
        match x {
            Expr::And(ys) if and => out.extend(ys),
            Expr::Or(ys) if !and => out.extend(ys),
            other => out.push(other),
        }
    }
    out
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        string().prop_map(Value::String),
    ]
}

/// JSON resources whose keys come from the names the filters use (in random case).
fn resource() -> impl Strategy<Value = Value> {
    let key = (name(), any::<bool>()).prop_map(|(n, up)| if up { n.to_uppercase() } else { n });
    let json = scalar().prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    (name(), any::<bool>()).prop_map(|(n, up)| if up {
                        n.to_uppercase()
                    } else {
                        n
                    }),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::vec(
        (
            prop_oneof![key, prop::sample::select(URNS).prop_map(str::to_owned)],
            json,
        ),
        0..8,
    )
    .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_then_parse_gives_back_the_normalized_tree(e in scim_tree()) {
        let f = Filter::from_expr(normalize(e));
        let printed = f.to_string();
        let parsed = Filter::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
        prop_assert_eq!(f.to_scim(), Ok(printed.clone()));
        // Printing is canonical: a second round gives the same text.
        prop_assert_eq!(parsed.unwrap().to_string(), printed);
    }

    #[test]
    fn parse_never_panics_and_what_parses_round_trips(s in "[ a-zA-Z()\\[\\]\".:$0-9\\\\-]{0,40}") {
        if let Ok(f) = Filter::parse(&s) {
            prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f));
        }
    }

    #[test]
    fn compiled_agrees_with_interpreted(e in tree(), resources in prop::collection::vec(resource(), 1..6)) {
        let f = Filter::from_expr(normalize(e));
        let c = f.compile::<Value>();
        for r in &resources {
            prop_assert_eq!(f.matches(r), c.matches(r), "{} on {}", f, r);
        }
    }
}

fn device_json() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "SMS", "EMAIL", "TOTP", "MOBILE", "VOICE", "FIDO2", "NEW_KIND",
        ]),
        prop::sample::select(vec!["ACTIVE", "ACTIVATION_REQUIRED"]),
        prop::option::of(prop::sample::select(vec!["Work", "phone", ""])),
        any::<[u8; 16]>(),
        any::<bool>(),
        0i64..4_000_000_000,
    )
        .prop_map(|(ty, status, nickname, id, locked, secs)| {
            let at = chrono::DateTime::from_timestamp(secs, 123_000_000).unwrap();
            let mut v = serde_json::json!({
                "id": uuid::Uuid::from_bytes(id).to_string(),
                "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
                "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
                "type": ty, "status": status,
                "lock": {"status": if locked { "LOCKED" } else { "UNLOCKED" }},
                "block": {"status": "UNBLOCKED"},
                "createdAt": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "updatedAt": "2024-03-13T16:27:40.614Z",
            });
            if let Some(n) = nickname {
                v["nickname"] = n.into();
            }
            v
        })
}

fn device_filter() -> impl Strategy<Value = Expr> {
    let attr = prop::sample::select(vec![
        "id",
        "type",
        "status",
        "nickname",
        "createdAt",
        "updatedAt",
        "lock.status",
        "block.status",
        "lock",
        "user.id",
        "environment.id",
        "email",
        "phone",
        "other",
    ])
    .prop_map(|p| AttrPath::new(p.split('.')));
    let value = prop_oneof![
        prop::sample::select(vec![
            "SMS",
            "sms",
            "ACTIVE",
            "activation",
            "LOCKED",
            "work",
            "",
            "2024-03-13T16:27:40.614Z",
            "2024-03-13T10:27:40.614-06:00",
            "2030-01-01T00:00:00Z",
            "b30ac647",
            "B30AC647-E33E-464F-A6EA-0275082D4C26",
        ])
        .prop_map(|s| CompValue::String(s.to_owned())),
        Just(CompValue::Null),
        Just(CompValue::Bool(true)),
        Just(CompValue::Number(1.into())),
    ];
    let leaf = prop_oneof![
        attr.clone().prop_map(Expr::Present),
        (attr, op(), value).prop_map(|(p, o, v)| Expr::Compare(p, o, v)),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..3).prop_map(Expr::And),
            prop::collection::vec(inner, 2..3).prop_map(Expr::Or),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn typed_device_agrees_with_its_json(e in device_filter(), v in device_json()) {
        let f = Filter::from_expr(normalize(e));
        let d: Device = serde_json::from_value(v.clone()).unwrap();
        let json = serde_json::to_value(&d).unwrap();
        let want = f.matches(&json);
        prop_assert_eq!(f.matches(&d), want, "{} on {}", f, json);
        prop_assert_eq!(f.compile::<Device>().matches(&d), want, "{} on {}", f, json);
        prop_assert_eq!(f.compile::<Value>().matches(&json), want);
    }
}
