//! The SCIM filter conformance table (`tests/fixtures/scim/parse.json`): every valid filter's
//! normalized AST and canonical text, every invalid filter's error kind, byte offset and message.
//!
//! AST notation: `{"and": [..]}`, `{"or": [..]}`, `{"not": e}`, `{"pr": path}`,
//! `{"cmp": [path, op, value]}`, `{"vp": [path, e]}`; a path is an array of names, with the
//! schema URN (if any) first.

use mfa_devices::filter::Filter;
use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use serde_json::{Value, json};

fn path(p: &AttrPath) -> Value {
    let mut v: Vec<Value> = p.urn.iter().map(|u| json!(u)).collect();
    v.extend(p.segments.iter().map(|s| json!(s)));
    Value::Array(v)
}

fn value(v: &CompValue) -> Value {
    match v {
        CompValue::Null => Value::Null,
        CompValue::Bool(b) => json!(b),
        CompValue::Number(n) => Value::Number(n.clone()),
        CompValue::String(s) => json!(s),
    }
}

fn op(o: &CompareOp) -> String {
    o.to_string()
}

fn ast(e: &Expr) -> Value {
    match e {
        Expr::Literal(b) => json!({ "literal": b }),
        Expr::Present(p) => json!({ "pr": path(p) }),
        Expr::Compare(p, o, v) => json!({ "cmp": [path(p), op(o), value(v)] }),
        Expr::ValuePath(p, x) => json!({ "vp": [path(p), ast(x)] }),
        Expr::Not(x) => json!({ "not": ast(x) }),
        Expr::And(xs) => json!({ "and": xs.iter().map(ast).collect::<Vec<_>>() }),
        Expr::Or(xs) => json!({ "or": xs.iter().map(ast).collect::<Vec<_>>() }),
    }
}

#[test]
fn conformance_table() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scim/parse.json"
    ))
    .unwrap();
    let table: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for case in table["valid"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        match Filter::parse(input) {
            Ok(f) => {
                valid += 1;
                if ast(f.expr()) != case["ast"] {
                    failures.push(format!(
                        "{input:?}: ast {} != {}",
                        ast(f.expr()),
                        case["ast"]
                    ));
                }
                let canonical = f.to_string();
                if let Some(d) = case.get("display") {
                    if d != &json!(canonical) {
                        failures.push(format!("{input:?}: display {canonical:?} != {d}"));
                    }
                }
                if Filter::parse(&canonical).as_ref() != Ok(&f) {
                    failures.push(format!(
                        "{input:?}: canonical {canonical:?} does not reparse"
                    ));
                }
            }
            Err(e) => failures.push(format!("{input:?}: unexpected error {e}")),
        }
    }
    for case in table["invalid"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        match Filter::parse(input) {
            Ok(f) => failures.push(format!("{input:?}: parsed as {}", ast(f.expr()))),
            Err(e) => {
                invalid += 1;
                let got = json!({"kind": e.kind().name(), "offset": e.offset(), "message": e.to_string()});
                let want = json!({"kind": case["kind"], "offset": case["offset"], "message": case["message"]});
                if got != want {
                    failures.push(format!("{input:?}: got {got} want {want}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        valid >= 60 && invalid >= 30,
        "table too small: {valid} valid, {invalid} invalid"
    );
}
