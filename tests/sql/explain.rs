//! `scripts/sql_explain.sh`: 1,000,000 generated audit activities in PostgreSQL, in the shipped
//! schema (`user_devices::schema::POSTGRES`, with its indexes); `EXPLAIN` of the translated filters and their query time beside the
//! compiled evaluator over the same rows in memory. Ignored by default (minutes, not a test of
//! behaviour); `MFA_SQL_EXPLAIN_ROWS` changes the row count.

use std::io::Write as _;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam};
use mfa_devices::filter::{CompileOptions, Filter};
use postgres::types::ToSql;
use serde_json::{Value, json};

use crate::pg::Cluster;

const ACTIONS: [&str; 8] = [
    "DEVICE.CREATED",
    "DEVICE.CREATED",
    "DEVICE.UPDATED",
    "USER.ACCESS_ALLOWED",
    "AUTHENTICATION.CREATED",
    "MFA_SETTINGS.UPDATED",
    "USER.UPDATED",
    "DEVICE.ACTIVATED",
];

fn activity(i: u64) -> (String, Value) {
    let env = if i % 2 == 0 { "env-a" } else { "env-b" };
    let t0 = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let at = (t0 + chrono::TimeDelta::seconds(i as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let action = ACTIONS[(i.wrapping_mul(2654435761) % 8) as usize];
    let doc = json!({
        "id": format!("a{i:08}"),
        "recordedAt": at, "createdAt": at,
        "action": {"type": action, "description": "generated"},
        "actors": {"user": {"id": format!("u{}", i % 1000), "type": "USER"}},
        "resources": [{"type": "DEVICE", "id": format!("d{}", i % 5000), "environment": {"id": env}}],
        "result": {"status": if i % 10 == 0 { "FAILED" } else { "SUCCESS" }},
    });
    (env.to_owned(), doc)
}

fn params(ps: &[SqlParam]) -> Vec<Box<dyn ToSql + Sync>> {
    crate::postgres::to_sql_params(ps)
}

#[test]
#[ignore = "loads 1,000,000 rows; run scripts/sql_explain.sh"]
fn explain_activities() {
    let rows: u64 = std::env::var("MFA_SQL_EXPLAIN_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let Some(cluster) = Cluster::start("explain_activities") else {
        return;
    };
    let mut client = cluster.client();
    client
        .batch_execute(mfa_devices::user_devices::schema::POSTGRES)
        .unwrap();
    let load = Instant::now();
    let mut docs = Vec::with_capacity(rows as usize);
    {
        let mut w = client
            .copy_in("COPY activities (environment_id, id, recorded_at, created_at, action_type, result_status, user_id, device_id, doc) FROM STDIN")
            .unwrap();
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..rows {
            let (env, doc) = activity(i);
            writeln!(
                buf,
                "{env}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                doc["id"].as_str().unwrap(),
                doc["recordedAt"].as_str().unwrap(),
                doc["createdAt"].as_str().unwrap(),
                doc["action"]["type"].as_str().unwrap(),
                doc["result"]["status"].as_str().unwrap(),
                doc["actors"]["user"]["id"].as_str().unwrap(),
                doc["resources"][0]["id"].as_str().unwrap(),
                doc
            )
            .unwrap();
            if buf.len() > (1 << 20) {
                w.write_all(&buf).unwrap();
                buf.clear();
            }
            docs.push((env, doc));
        }
        w.write_all(&buf).unwrap();
        w.finish().unwrap();
    }
    client.batch_execute("ANALYZE activities").unwrap();
    println!(
        "loaded {rows} activities in {:.1} s",
        load.elapsed().as_secs_f64()
    );

    let mapping = SqlMapping::activities();
    let last = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
        + chrono::TimeDelta::seconds(rows as i64 - (rows as i64 / 100));
    let filters = [
        format!(
            r#"recordedAt gt "{}""#,
            last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        r#"action.type eq "DEVICE.CREATED""#.to_owned(),
        format!(
            r#"action.type eq "DEVICE.CREATED" and recordedAt gt "{}""#,
            last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    ];
    for text in &filters {
        let filter = Filter::parse(text).unwrap();
        let w = filter.to_sql(&mapping, Dialect::Postgres).unwrap();
        let env_ph = w.params.len() + 1;
        let sql = format!(
            "SELECT id FROM activities WHERE environment_id = ${env_ph}::text AND {}",
            w.sql
        );
        let mut ps = params(&w.params);
        ps.push(Box::new("env-a".to_owned()));
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|b| b.as_ref()).collect();
        let plan: Vec<String> = client
            .query(&format!("EXPLAIN {sql}"), &refs)
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect();
        let mut best = Duration::MAX;
        let mut n = 0;
        for _ in 0..5 {
            let t = Instant::now();
            n = client.query(&sql, &refs).unwrap().len();
            best = best.min(t.elapsed());
        }
        // The same filter over the same rows in memory (the data's action types are upper case,
        // so caseExact or not gives the same rows).
        let compiled = filter.compile_with::<Value>(&CompileOptions::new());
        let mut mem = Duration::MAX;
        let mut m = 0;
        for _ in 0..3 {
            let t = Instant::now();
            m = docs
                .iter()
                .filter(|(env, d)| env == "env-a" && compiled.matches(d))
                .count();
            mem = mem.min(t.elapsed());
        }
        println!("\nfilter: {text}\nsql: {sql}\n{}", plan.join("\n"));
        println!(
            "rows: {n} (evaluator: {m}); PostgreSQL query {:.2} ms (best of 5, rows fetched); in-memory compiled evaluation over {rows} JSON activities {:.1} ms (best of 3)",
            best.as_secs_f64() * 1e3,
            mem.as_secs_f64() * 1e3
        );
        assert_eq!(n, m, "{text}");
        assert!(
            plan.iter().any(|l| l.contains("Index")),
            "{text}: no index in\n{}",
            plan.join("\n")
        );
    }
    drop(client);
    drop(cluster);
}
