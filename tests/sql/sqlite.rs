//! The differential test on SQLite (rusqlite, bundled): one in-memory database, one dataset per
//! case, many filters per dataset; every statement is prepared by SQLite.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use mfa_devices::filter::sql::{Dialect, SqlWhere};
use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::Value;

use crate::common::{self, Tally};

static COMPARED: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static DISCRIMINATING: AtomicUsize = AtomicUsize::new(0);

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

const FILTERS: usize = 140;

thread_local! {
    static CONN: Connection = Connection::open_in_memory().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]

    /// 100 cases × 140 filters over 16 generated resources: the SQL selects the evaluator's ids.
    #[test]
    fn sqlite_selects_what_the_evaluator_matches(
        docs in common::dataset(16),
        filters in prop::collection::vec(common::filter(), FILTERS),
    ) {
        let tally: Tally = CONN.with(|conn| {
            load(conn, &docs);
            common::compare_batch(Dialect::Sqlite, &docs, &filters, &mut |w| query(conn, w))
        })?;
        let c = COMPARED.fetch_add(tally.compared, Ordering::Relaxed) + tally.compared;
        let r = REFUSED.fetch_add(tally.refused, Ordering::Relaxed) + tally.refused;
        let d = DISCRIMINATING.fetch_add(tally.discriminating, Ordering::Relaxed) + tally.discriminating;
        if c + r >= 100 * FILTERS {
            println!("sqlite: {c} filter x dataset comparisons ({d} where the evaluator matched some but not all), {r} refused");
        }
    }
}
