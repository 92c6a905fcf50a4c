//! The CREST `_queryFilter` parser and renderer against the table in
//! `tests/fixtures/crest/query_filters.json`, plus depth limits and property tests.

use mfa_devices::crest::{
    MAX_DEPTH, QueryRequest, parse_query_filter, parse_query_filter_with, to_query_filter,
    to_query_filter_with,
};
use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use mfa_devices::filter::{Filter, FilterErrorKind, ParseOptions};
use proptest::prelude::*;
use serde_json::Value;

fn table() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/crest/query_filters.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn path(v: &Value) -> AttrPath {
    AttrPath::new(v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()))
}

fn op(v: &Value) -> CompareOp {
    if let Some(name) = v.get("ext") {
        return CompareOp::Extended(name.as_str().unwrap().to_owned());
    }
    match v.as_str().unwrap() {
        "eq" => CompareOp::Eq,
        "co" => CompareOp::Co,
        "sw" => CompareOp::Sw,
        "gt" => CompareOp::Gt,
        "ge" => CompareOp::Ge,
        "lt" => CompareOp::Lt,
        "le" => CompareOp::Le,
        other => panic!("unknown op {other}"),
    }
}

fn value(v: &Value) -> CompValue {
    match v {
        Value::Bool(b) => CompValue::Bool(*b),
        Value::Number(n) => CompValue::Number(n.clone()),
        Value::Object(o) => CompValue::String(o["str"].as_str().unwrap().to_owned()),
        other => panic!("bad value {other}"),
    }
}

fn expr(v: &Value) -> Expr {
    let (k, body) = v.as_object().unwrap().iter().next().unwrap();
    match k.as_str() {
        "lit" => Expr::Literal(body.as_bool().unwrap()),
        "pr" => Expr::Present(path(body)),
        "cmp" => Expr::Compare(path(&body[0]), op(&body[1]), value(&body[2])),
        "not" => Expr::Not(Box::new(expr(body))),
        "and" => Expr::And(body.as_array().unwrap().iter().map(expr).collect()),
        "or" => Expr::Or(body.as_array().unwrap().iter().map(expr).collect()),
        other => panic!("unknown node {other}"),
    }
}

#[test]
fn valid_table_parses_to_expected_ast_and_round_trips() {
    let t = table();
    let cases = t["valid"].as_array().unwrap();
    assert!(cases.len() >= 60);
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let want = Filter::from_expr(expr(&case["ast"]));
        let got = parse_query_filter(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got, want, "{input:?}");
        let text = to_query_filter(&got).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            parse_query_filter(&text).unwrap(),
            got,
            "{input:?} -> {text:?}"
        );
        // The rendering is canonical: rendering it again gives the same text.
        assert_eq!(
            to_query_filter(&parse_query_filter(&text).unwrap()).unwrap(),
            text
        );
    }
}

#[test]
fn invalid_table_fails_with_kind_and_offset() {
    let t = table();
    let cases = t["invalid"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let err = match parse_query_filter(input) {
            Ok(f) => panic!("{input:?} parsed as {f:?}"),
            Err(e) => e,
        };
        assert_eq!(
            (err.kind().name(), err.offset() as u64),
            (
                case["kind"].as_str().unwrap(),
                case["offset"].as_u64().unwrap()
            ),
            "{input:?}: {err}"
        );
        assert!(err.offset() <= input.len());
    }
}

#[test]
fn error_messages_say_what_was_expected_where() {
    let e = parse_query_filter("/a e=q 1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected an operator: eq, co, sw, gt, ge, lt, le, pr or an extended operator of \
         [a-zA-Z_0-9.] at byte 3"
    );
    let e = parse_query_filter("foo eq bar").unwrap_err();
    assert_eq!(
        e.to_string(),
        "expected a value: a number, true, false or a quoted string at byte 7"
    );
}

fn nested(depth: usize) -> String {
    format!("{}/a pr{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn depth_limit_is_64_parentheses_as_for_scim() {
    assert_eq!(MAX_DEPTH, 64);
    assert_eq!(
        parse_query_filter(&nested(64)).unwrap().expr(),
        &Expr::Present(AttrPath::new(["a"]))
    );
    let e = parse_query_filter(&nested(65)).unwrap_err();
    assert_eq!(e.kind(), &FilterErrorKind::TooDeep { max: 64 });
    assert_eq!(e.offset(), 64);
    // Negations nest through parentheses only, and count the same way.
    for nots in [
        format!("{}/a pr{}", "!(".repeat(64), ")".repeat(64)),
        format!("{}/a pr{}", "(! ".repeat(64), ")".repeat(64)),
    ] {
        let f = parse_query_filter(&nots).unwrap();
        // What parses at the limit renders within it.
        assert_eq!(
            parse_query_filter(&to_query_filter(&f).unwrap()).unwrap(),
            f
        );
    }
    let nots = format!("{}/a pr{}", "!(".repeat(65), ")".repeat(65));
    let e = parse_query_filter(&nots).unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (&FilterErrorKind::TooDeep { max: 64 }, 2 * 64 + 1)
    );
    // Explicit limits: deeper up to the ceiling, and what parses renders.
    let opts = ParseOptions::new().max_depth(128).max_length(1 << 16);
    let f = parse_query_filter_with(&nested(128), &opts).unwrap();
    assert_eq!(to_query_filter(&f).unwrap(), "/a pr");
    let deep = format!("{}/a pr{}", "!(".repeat(128), ")".repeat(128));
    let f = parse_query_filter_with(&deep, &opts).unwrap();
    assert_eq!(
        parse_query_filter_with(&to_query_filter(&f).unwrap(), &opts).unwrap(),
        f
    );
}

/// Issue 12, point 11: CREST input has the SCIM parser's documented caps — a `_queryFilter`
/// over 8 KiB is refused before parsing (a 14 MB filter took 281 MB), `_sortKeys` is capped in
/// count and length — and a CREST filter that SCIM cannot read back is never rendered as SCIM
/// text (`to_scim` succeeds only when `Filter::parse` accepts its output).
#[test]
fn point_11_crest_input_is_capped_and_scim_rendering_is_checked() {
    // Length: 100 KB of filter is refused up front, whatever it holds.
    let long = format!("/deviceName eq \"{}\"", "x".repeat(100_000));
    let e = parse_query_filter(&long).unwrap_err();
    assert_eq!((e.kind().name(), e.offset()), ("TooLong", 8192));
    let chain = vec!["/a eq 1"; 20_000].join(" and ");
    assert_eq!(
        parse_query_filter(&chain).unwrap_err().kind().name(),
        "TooLong"
    );
    assert!(QueryRequest::from_query_pairs([("_queryFilter", long.as_str())]).is_err());
    // _sortKeys: count and length.
    let many = vec!["a"; 1000].join(",");
    let long_key = "k".repeat(20_000);
    for keys in [many.as_str(), long_key.as_str()] {
        let r = QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_sortKeys", keys)]);
        assert!(r.is_err(), "{} bytes of _sortKeys accepted", keys.len());
    }
    let split: Vec<(&str, &str)> = std::iter::once(("_queryFilter", "true"))
        .chain(std::iter::repeat_n(("_sortKeys", "a,b"), 500))
        .collect();
    assert!(QueryRequest::from_query_pairs(split).is_err());
    let sixteen = vec!["a"; 16].join(",");
    assert!(
        QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_sortKeys", &sixteen)]).is_ok()
    );
    // CREST filters SCIM cannot read back: never a SCIM rendering.
    let ctrl = format!("/a eq \"{}\"", "\u{1}".repeat(2000));
    for crest in [
        format!("{}! /a pr{}", "!(".repeat(64), ")".repeat(64)),
        ctrl,
    ] {
        let f = parse_query_filter(&crest).unwrap();
        if let Ok(scim) = f.to_scim() {
            assert_eq!(
                Filter::parse(&scim).map_err(|e| e.to_string()),
                Ok(f),
                "to_scim gave text SCIM cannot read"
            );
        }
    }
}

/// Found by the fuzz campaign (`crest_parse`, seed `regression_render_longer_than_cap.txt`): a
/// filter accepted within the 8 KiB cap rendered as CREST text longer than the cap, which
/// `parse_query_filter` refuses. `to_query_filter` refuses such a tree (`TooLong`) instead of
/// returning text nobody can read back; whatever it returns reparses.
#[test]
fn crest_rendering_longer_than_the_cap_is_refused() {
    // Single-quoted `"`: one byte in, two (`\"`) out.
    let quotes = format!("/a eq '{}'", "\"".repeat(7_991));
    assert_eq!(quotes.len(), 7_999);
    let f = parse_query_filter(&quotes).unwrap();
    let e = to_query_filter(&f).unwrap_err();
    assert_eq!(
        (e.kind(), e.offset()),
        (&FilterErrorKind::TooLong { max: 8192 }, 8192)
    );
    // Short of the cap it renders, and the text reads back.
    let fits = format!("/a eq '{}'", "\"".repeat(4_000));
    let f = parse_query_filter(&fits).unwrap();
    let text = to_query_filter(&f).unwrap();
    assert_eq!(parse_query_filter(&text).unwrap(), f);
}

#[test]
fn hostile_inputs_error_without_overflowing_the_stack() {
    // With the length cap lifted, so that the parser itself meets the input.
    let big = ParseOptions::new()
        .max_length(1 << 24)
        .max_depth(usize::MAX);
    let deep = "(".repeat(100_000);
    assert!(matches!(
        parse_query_filter_with(&deep, &big).unwrap_err().kind(),
        FilterErrorKind::TooDeep { .. }
    ));
    assert!(matches!(
        parse_query_filter(&deep).unwrap_err().kind(),
        FilterErrorKind::TooLong { .. }
    ));
    let bangs = "!(".repeat(100_000);
    assert!(parse_query_filter_with(&bangs, &big).is_err());
    // 100,000 operands in one chain are one flat node.
    let chain = vec!["/a eq 1"; 100_000].join(" and ");
    match parse_query_filter_with(&chain, &big).unwrap().expr() {
        Expr::And(ops) => assert_eq!(ops.len(), 100_000),
        other => panic!("{other:?}"),
    }
    let chain = vec!["(/a eq 1 or /b pr)"; 50_000].join(" and ");
    let f = parse_query_filter_with(&chain, &big).unwrap();
    assert_eq!(
        parse_query_filter_with(&to_query_filter_with(&f, &big).unwrap(), &big).unwrap(),
        f
    );
}

#[test]
fn rendering_refuses_what_crest_cannot_say() {
    let p = || AttrPath::new(["status"]);
    let s = || CompValue::String("x".into());
    let cases = [
        Expr::Compare(p(), CompareOp::Ne, s()),
        Expr::Compare(p(), CompareOp::Ew, s()),
        Expr::ValuePath(
            AttrPath::new(["emails"]),
            Box::new(Expr::Compare(AttrPath::new(["type"]), CompareOp::Eq, s())),
        ),
        Expr::Compare(p(), CompareOp::Eq, CompValue::Null),
        Expr::Compare(p(), CompareOp::Eq, CompValue::Number(u64::MAX.into())),
        Expr::Present(AttrPath {
            urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            segments: vec!["employeeNumber".into()],
        }),
        Expr::Present(AttrPath::new(["a b"])),
        Expr::Present(AttrPath::new(["a", ""])),
        Expr::Present(AttrPath::new(Vec::<String>::new())),
        Expr::Compare(p(), CompareOp::Extended("EQ".into()), s()),
        Expr::Compare(p(), CompareOp::Extended("a-b".into()), s()),
        Expr::And(vec![]),
        Expr::Or(vec![
            Expr::Literal(true),
            Expr::Compare(p(), CompareOp::Ne, s()),
        ]),
    ];
    for e in cases {
        let err = to_query_filter(&Filter::from_expr(e.clone())).unwrap_err();
        assert!(
            matches!(err.kind(), FilterErrorKind::Unsupported(_)),
            "{e:?}: {err}"
        );
    }
    // The offset points into the rendered text: after `true or `.
    let err = to_query_filter(&Filter::from_expr(Expr::Or(vec![
        Expr::Literal(true),
        Expr::Compare(p(), CompareOp::Ne, s()),
    ])))
    .unwrap_err();
    assert_eq!(err.offset(), "true or /status ".len());
    // Too deep to read back: refused instead of rendered.
    let mut e = Expr::Literal(true);
    for _ in 0..130 {
        e = Expr::Not(Box::new(e));
    }
    let err = to_query_filter(&Filter::from_expr(e)).unwrap_err();
    assert_eq!(
        err.kind(),
        &FilterErrorKind::TooDeep {
            max: ParseOptions::DEPTH_CEILING
        }
    );
}

#[test]
fn numbers_keep_their_kind_through_rendering() {
    for (input, rendered) in [
        ("/a eq 1.0", "/a eq 1.0"),
        ("/a eq 1e20", ""),
        ("/a eq 1.0e20", "/a eq 1.0e+20"),
        ("/a eq 1.5e-7", "/a eq 1.5e-7"),
        ("/a eq 0.1", "/a eq 0.1"),
        ("/a eq -0", "/a eq 0"),
        ("/a eq +5", "/a eq 5"),
    ] {
        match parse_query_filter(input) {
            Ok(f) => assert_eq!(to_query_filter(&f).unwrap(), rendered, "{input}"),
            Err(_) => assert_eq!(rendered, "", "{input}"),
        }
    }
}

/// Generated trees within what CREST can say, already normalized.
fn arb_expr() -> impl Strategy<Value = Expr> {
    let seg = prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        "[a-z~/!\"'é\t]{1,4}",
        Just("and".to_owned()),
        Just("true".to_owned()),
    ];
    let path = prop::collection::vec(seg, 1..4).prop_map(AttrPath::new);
    let op = prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
        "[a-z][a-z0-9_.]{2,8}".prop_map(CompareOp::Extended),
    ];
    let value = prop_oneof![
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|i| CompValue::Number(i.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        ".{0,8}".prop_map(CompValue::String),
    ];
    let leaf = prop_oneof![
        any::<bool>().prop_map(Expr::Literal),
        path.clone().prop_map(Expr::Present),
        (path, op, value).prop_map(|(p, o, v)| Expr::Compare(p, o, v)),
    ];
    leaf.prop_recursive(5, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| normalize(v, true)),
            prop::collection::vec(inner, 2..4).prop_map(|v| normalize(v, false)),
        ]
    })
}

fn normalize(ops: Vec<Expr>, is_and: bool) -> Expr {
    let mut out = Vec::new();
    for e in ops {
        match e {
            Expr::And(v) if is_and => out.extend(v),
            Expr::Or(v) if !is_and => out.extend(v),
            other => out.push(other),
        }
    }
    if is_and {
        Expr::And(out)
    } else {
        Expr::Or(out)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn render_then_parse_is_identity(e in arb_expr()) {
        let f = Filter::from_expr(e);
        let text = to_query_filter(&f).unwrap();
        prop_assert_eq!(parse_query_filter(&text).unwrap(), f, "{}", text);
    }

    #[test]
    fn parser_never_panics_and_errors_point_into_the_input(s in "\\PC{0,64}") {
        if let Err(e) = parse_query_filter(&s) {
            prop_assert!(e.offset() <= s.len());
        }
    }

    #[test]
    fn parser_on_token_soup_round_trips(
        toks in prop::collection::vec(prop_oneof![
            Just("("), Just(")"), Just("!"), Just("and"), Just("or"), Just("true"),
            Just("/a"), Just("b/c"), Just("eq"), Just("pr"), Just("gt"), Just("1"),
            Just("2.5"), Just("'x'"), Just("\"y\\\"\""), Just("ext.op"),
        ], 0..16),
        sep in prop_oneof![Just(" "), Just("")],
    ) {
        let input = toks.join(sep);
        if let Ok(f) = parse_query_filter(&input) {
            let text = to_query_filter(&f).unwrap();
            prop_assert_eq!(parse_query_filter(&text).unwrap(), f);
        }
    }
}
