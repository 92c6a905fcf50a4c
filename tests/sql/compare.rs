//! `scripts/sql_compare_python.sh`: this crate's translations of the comparison's filters (read
//! from `MFA_SQL_COMPARE_CASES`, a JSON list of `{name, filter, doc}`) written as JSON to
//! `MFA_SQL_COMPARE_OUT` for the Python side, which executes them beside scim2-filter-parser's
//! on the same SQLite table. Ignored by default (a tool, not a test of behaviour).

use mfa_devices::filter::Filter;
use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam, SqlType};
use serde_json::{Value, json};

/// The table's flat columns; with `doc`, the rest of the resource (its `emails`) in a JSON
/// column. `secret` is mapped in neither: it must be refused.
pub fn mapping(doc: bool) -> SqlMapping {
    let m = SqlMapping::columns()
        .column("id", "id", SqlType::Text)
        .column("userName", "username", SqlType::Text)
        .column("title", "title", SqlType::Text)
        .column("userType", "usertype", SqlType::Text);
    if doc { m.document("doc") } else { m }
}

fn param(p: &SqlParam) -> Value {
    match p {
        SqlParam::Null => Value::Null,
        SqlParam::Bool(b) => json!(i64::from(*b)),
        SqlParam::Int(i) => json!(i),
        SqlParam::Float(f) => json!(f),
        other => json!(other.sqlite_text()),
    }
}

#[test]
#[ignore = "a tool for scripts/sql_compare_python.sh"]
fn translate_for_the_python_comparison() {
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(std::env::var("MFA_SQL_COMPARE_CASES").unwrap()).unwrap(),
    )
    .unwrap();
    let out: Vec<Value> = cases
        .iter()
        .map(|c| {
            let text = c["filter"].as_str().unwrap();
            let m = mapping(c["doc"].as_bool().unwrap_or(false));
            match Filter::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    f.to_sql(&m, Dialect::Sqlite)
                        .map_err(|e| format!("{:?}: {e}", e.kind()))
                }) {
                Ok(w) => json!({"name": c["name"], "sql": w.sql,
                    "params": w.params.iter().map(param).collect::<Vec<_>>()}),
                Err(e) => json!({"name": c["name"], "error": e}),
            }
        })
        .collect();
    std::fs::write(
        std::env::var("MFA_SQL_COMPARE_OUT").unwrap(),
        serde_json::to_string_pretty(&out).unwrap(),
    )
    .unwrap();
}
