//! The differential test on SQLite (rusqlite, bundled): one in-memory database, one dataset per
//! case, many filters per dataset; every statement is prepared by SQLite.

use std::collections::BTreeSet;

use mfa_devices::filter::sql::{Dialect, SqlWhere};
use rusqlite::Connection;
use serde_json::Value;

use crate::common;

pub fn load(conn: &Connection, docs: &[Value]) {
    conn.execute_batch(
        "DROP TABLE IF EXISTS t; CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL);",
    )
    .unwrap();
    let mut ins = conn
        .prepare("INSERT INTO t (id, doc) VALUES (?1, ?2)")
        .unwrap();
    for d in docs {
        ins.execute((d["id"].as_str().unwrap(), d.to_string()))
            .unwrap();
    }
}

pub fn query(conn: &Connection, w: &SqlWhere) -> Result<BTreeSet<String>, String> {
    let sql = format!("SELECT id FROM t WHERE {}", w.sql);
    let mut stmt = conn.prepare(&sql).map_err(|e| e.to_string())?;
    let params = common::sqlite_params(&w.params);
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |r| {
            r.get::<_, String>(0)
        })
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// 100 cases × 140 filters over 16 generated resources on SQLite: the SQL selects the
/// evaluator's ids.
#[test]
fn sqlite_selects_what_the_evaluator_matches() {
    let conn = Connection::open_in_memory().unwrap();
    common::differential(Dialect::Sqlite, &mut |docs| load(&conn, docs), &mut |w| {
        query(&conn, w)
    });
}
