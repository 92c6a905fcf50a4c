//! The differential test on PostgreSQL: one throwaway cluster, one dataset per case, many
//! filters per dataset; every statement is prepared by the server.

use std::collections::BTreeSet;

use mfa_devices::filter::sql::{Dialect, SqlParam, SqlWhere};
use postgres::types::ToSql;
use serde_json::Value;

use crate::common;
use crate::pg::Cluster;

pub fn to_sql_params(params: &[SqlParam]) -> Vec<Box<dyn ToSql + Sync>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                SqlParam::Null => Box::new(Option::<String>::None),
                SqlParam::Bool(b) => Box::new(*b),
                SqlParam::Int(i) => Box::new(*i),
                SqlParam::Float(f) => Box::new(*f),
                SqlParam::Text(s) => Box::new(s.clone()),
                SqlParam::Timestamp(t) => Box::new(*t),
                _ => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

pub fn load(client: &mut postgres::Client, docs: &[Value]) {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS t; CREATE TABLE t (id text PRIMARY KEY, doc jsonb NOT NULL);",
        )
        .unwrap();
    let ins = client
        .prepare("INSERT INTO t (id, doc) VALUES ($1, $2::text::jsonb)")
        .unwrap();
    for d in docs {
        client
            .execute(&ins, &[&d["id"].as_str().unwrap(), &d.to_string()])
            .unwrap();
    }
}

pub fn query(client: &mut postgres::Client, w: &SqlWhere) -> Result<BTreeSet<String>, String> {
    query_table(client, "t", w)
}

pub fn query_table(
    client: &mut postgres::Client,
    table: &str,
    w: &SqlWhere,
) -> Result<BTreeSet<String>, String> {
    let sql = format!("SELECT id FROM {table} WHERE {}", w.sql);
    let stmt = client.prepare(&sql).map_err(|e| format!("{e:?}"))?;
    let params = to_sql_params(&w.params);
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref()).collect();
    let rows = client.query(&stmt, &refs).map_err(|e| format!("{e:?}"))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// 100 cases × 140 filters over 16 generated resources on PostgreSQL 15: the SQL selects the
/// evaluator's ids. The cluster lives for this test only.
#[test]
fn postgres_selects_what_the_evaluator_matches() {
    let Some(cluster) = Cluster::start("postgres_selects_what_the_evaluator_matches") else {
        return;
    };
    let client = std::cell::RefCell::new(cluster.client());
    common::differential(
        Dialect::Postgres,
        &mut |docs| load(&mut client.borrow_mut(), docs),
        &mut |w| query(&mut client.borrow_mut(), w),
    );
}
