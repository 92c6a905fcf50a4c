//! The ready typed mappings (`SqlMapping::devices()`, `SqlMapping::activities()`) on the
//! reference server's two read models, both dialects: typed columns hold the document's values,
//! everything else falls back to `doc`, and the SQL selects what the evaluator matches on the
//! document.

use std::cell::RefCell;
use std::collections::BTreeSet;

use mfa_devices::filter::schema::{AttrType, Schema, SchemaAttribute};
use mfa_devices::filter::sql::{Dialect, SqlErrorKind, SqlMapping, SqlWhere};
use mfa_devices::filter::{CompileOptions, Filter};
use postgres::types::ToSql;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::common::{self, Tally};
use crate::pg::Cluster;

const CASES: u32 = 24;
const FILTERS: usize = 60;

/// `action.type` is caseExact in the activities mapping; the evaluator is told the same.
static ACTION_SUBS: [SchemaAttribute; 1] = [SchemaAttribute {
    case_exact: true,
    ..SchemaAttribute::new("type", AttrType::String, &[])
}];
static ACTIVITIES_SCHEMA: Schema = Schema {
    name: "activities",
    attributes: &[SchemaAttribute {
        sub_attributes: &ACTION_SUBS,
        ..SchemaAttribute::new("action", AttrType::Complex, &[])
    }],
    logical_operators: &["and", "or", "not"],
};
static NO_SCHEMA: Schema = Schema {
    name: "devices",
    attributes: &[],
    logical_operators: &["and", "or", "not"],
};

fn pick<T: Clone + std::fmt::Debug + 'static>(v: &[T]) -> impl Strategy<Value = T> + use<T> {
    prop::sample::select(v.to_vec())
}

fn instant() -> impl Strategy<Value = String> {
    pick(&[
        "2024-03-13T16:27:40.614Z",
        "2024-03-13T18:27:40.614+02:00",
        "2024-03-13T16:27:40Z",
        "2024-03-13T16:27:41.000Z",
        "2025-01-01T00:00:00Z",
        "2023-12-31T23:59:59.999-01:00",
    ])
    .prop_map(str::to_owned)
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "SMS",
            "sms",
            "EMAIL",
            "ACTIVE",
            "active",
            "LOCKED",
            "UNLOCKED",
            "a%b",
            "a_b",
            "x\\y",
            "it's",
            "",
            "Kelvin \u{212A}",
            "My Phone",
            "DEVICE.CREATED",
            "device.created",
            "DEVICE.DELETED",
            "SUCCESS",
            "FAILED",
            "e112c96d-d165-45c5-8061-87ff268fd520",
            "E112C96D-D165-45C5-8061-87FF268FD520",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z%_ ]{0,4}",
    ]
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn device(i: usize) -> impl Strategy<Value = Value> {
    (
        pick(&["SMS", "EMAIL", "TOTP", "sms"]),
        pick(&["ACTIVE", "ACTIVATION_REQUIRED"]),
        opt(word()),
        instant(),
        instant(),
        opt((pick(&["LOCKED", "UNLOCKED"]), opt(instant()))),
        opt(word()),
        pick(&[
            "e112c96d-d165-45c5-8061-87ff268fd520",
            "E112C96D-D165-45C5-8061-87FF268FD520",
            "u2",
        ]),
    )
        .prop_map(
            move |(ty, status, nick, created, updated, lock, phone, user)| {
                let mut d = json!({
                    "id": format!("d{i}"),
                    "environment": {"id": "env"},
                    "user": {"id": user},
                    "type": ty, "status": status,
                    "createdAt": created, "updatedAt": updated,
                });
                if let Some(n) = nick {
                    d["nickname"] = Value::String(n);
                }
                if let Some((s, exp)) = lock {
                    d["lock"] = json!({"status": s});
                    if let Some(e) = exp {
                        d["lock"]["expiresAt"] = Value::String(e);
                    }
                }
                if let Some(p) = phone {
                    d["phone"] = Value::String(p);
                }
                d
            },
        )
}

fn activity(i: usize) -> impl Strategy<Value = Value> {
    (
        instant(),
        instant(),
        pick(&["DEVICE.CREATED", "DEVICE.DELETED", "device.created", "USER.ACCESS_ALLOWED"]),
        pick(&["SUCCESS", "FAILED", "success"]),
        opt(word()),
        word(),
        prop::collection::vec((pick(&["DEVICE", "USER", "device"]), word()), 0..3),
    )
        .prop_map(move |(recorded, created, action, result, corr, user, resources)| {
            let mut a = json!({
                "id": format!("a{i}"),
                "recordedAt": recorded, "createdAt": created,
                "action": {"type": action, "description": "Device Created"},
                "actors": {"client": {"id": "c1", "name": "Admin", "type": "CLIENT"},
                           "user": {"id": user, "name": "bj", "type": "USER"}},
                "resources": resources.iter().map(|(t, id)| json!({"type": t, "id": id, "environment": {"id": "env"}})).collect::<Vec<_>>(),
                "result": {"status": result, "description": "ok"},
            });
            if let Some(c) = corr {
                a["correlationId"] = Value::String(c);
            }
            a
        })
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => word().prop_map(|s| Value::String(s).to_string()),
        3 => instant().prop_map(|s| Value::String(s).to_string()),
        1 => Just("null".to_owned()),
        1 => pick(&["1", "true", "2.5"]).prop_map(str::to_owned),
    ]
}

fn filter(
    paths: &'static [&'static str],
    brackets: &'static [&'static str],
) -> impl Strategy<Value = String> {
    let ops = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
    let cmp = (pick(paths), pick(&ops), literal()).prop_map(|(p, o, v)| format!("{p} {o} {v}"));
    let leaf = prop_oneof![
        6 => cmp,
        1 => pick(paths).prop_map(|p| format!("{p} pr")),
        2 => (pick(brackets), pick(&["type", "id", "value", "status"]), pick(&["eq", "ne", "co"]), word())
            .prop_map(|(p, a, o, w)| format!("{p}[{a} {o} {}]", Value::String(w))),
    ];
    leaf.prop_recursive(2, 6, 3, |x| {
        prop_oneof![
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            x.prop_map(|a| format!("not ({a})")),
        ]
    })
}

const DEVICE_PATHS: &[&str] = &[
    "id",
    "ID",
    "environment.id",
    "user.id",
    "type",
    "TYPE",
    "status",
    "nickname",
    "createdAt",
    "updatedAt",
    "lock.status",
    "lock.expiresAt",
    "lock",
    "phone",
    "missing",
];
const DEVICE_BRACKETS: &[&str] = &["lock", "user", "type"];
const ACTIVITY_PATHS: &[&str] = &[
    "id",
    "recordedAt",
    "RECORDEDAT",
    "createdAt",
    "action.type",
    "ACTION.TYPE",
    "result.status",
    "correlationId",
    "resources.type",
    "resources.id",
    "action.description",
    "actors.client",
    "result.description",
    "missing",
];
const ACTIVITY_BRACKETS: &[&str] = &["resources", "action", "result"];

/// One read model: its mapping, the schema telling the evaluator the same caseExact
/// attributes, and how a document becomes a row.
struct Model {
    table: &'static str,
    mapping: SqlMapping,
    schema: &'static Schema,
    /// (column, SQL type on PostgreSQL, the document path it holds).
    columns: &'static [(&'static str, &'static str, &'static [&'static str])],
}

fn devices() -> Model {
    Model {
        table: "devices",
        mapping: SqlMapping::devices(),
        schema: &NO_SCHEMA,
        columns: &[
            ("environment_id", "text", &["environment", "id"]),
            ("user_id", "text", &["user", "id"]),
            ("id", "text", &["id"]),
            ("type", "text", &["type"]),
            ("status", "text", &["status"]),
            ("nickname", "text", &["nickname"]),
            ("created_at", "timestamptz", &["createdAt"]),
            ("updated_at", "timestamptz", &["updatedAt"]),
        ],
    }
}

fn activities() -> Model {
    Model {
        table: "activities",
        mapping: SqlMapping::activities(),
        schema: &ACTIVITIES_SCHEMA,
        columns: &[
            ("environment_id", "text", &["environment", "id"]),
            ("id", "text", &["id"]),
            ("recorded_at", "timestamptz", &["recordedAt"]),
            ("created_at", "timestamptz", &["createdAt"]),
            ("action_type", "text", &["action", "type"]),
            ("result_status", "text", &["result", "status"]),
            ("user_id", "text", &["actors", "user", "id"]),
            ("correlation_id", "text", &["correlationId"]),
        ],
    }
}

fn at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(doc, |v, k| v.get(k))?.as_str()
}

impl Model {
    fn ddl(&self, dialect: Dialect) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|(c, ty, _)| {
                let ty = if dialect == Dialect::Sqlite {
                    "TEXT"
                } else {
                    ty
                };
                format!("\"{c}\" {ty}")
            })
            .collect();
        let doc = if dialect == Dialect::Sqlite {
            "TEXT"
        } else {
            "jsonb"
        };
        format!(
            "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} ({}, doc {doc} NOT NULL);",
            cols.join(", "),
            t = self.table
        )
    }

    fn insert_sql(&self, dialect: Dialect) -> String {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|(c, _, _)| format!("\"{c}\""))
            .collect();
        let n = self.columns.len();
        let ph: Vec<String> = (1..=n + 1)
            .map(|i| match dialect {
                Dialect::Sqlite => format!("?{i}"),
                _ => {
                    let ty = self.columns.get(i - 1).map_or("jsonb", |c| c.1);
                    format!("${i}::text::{ty}")
                }
            })
            .collect();
        format!(
            "INSERT INTO {} ({}, doc) VALUES ({})",
            self.table,
            names.join(", "),
            ph.join(", ")
        )
    }

    fn row(&self, doc: &Value) -> Vec<Option<String>> {
        self.columns
            .iter()
            .map(|(_, _, path)| at(doc, path).map(str::to_owned))
            .chain(Some(Some(doc.to_string())))
            .collect()
    }

    fn expected(&self, filter: &Filter, docs: &[Value]) -> BTreeSet<String> {
        let compiled = filter.compile_with::<Value>(&CompileOptions::new().schema(self.schema));
        docs.iter()
            .filter(|d| compiled.matches(d))
            .filter_map(|d| d["id"].as_str().map(str::to_owned))
            .collect()
    }

    fn compare(
        &self,
        dialect: Dialect,
        docs: &[Value],
        filters: &[String],
        query: &mut dyn FnMut(&SqlWhere) -> Result<BTreeSet<String>, String>,
    ) -> Result<Tally, TestCaseError> {
        let mut tally = Tally::default();
        for text in filters {
            let filter =
                Filter::parse(text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let w = match filter.to_sql(&self.mapping, dialect) {
                Ok(w) => w,
                Err(e) if e.kind() == SqlErrorKind::Unsupported => {
                    tally.refused += 1;
                    continue;
                }
                Err(e) => return Err(TestCaseError::fail(format!("{text}: {e}"))),
            };
            let got =
                query(&w).map_err(|e| TestCaseError::fail(format!("{text}\n{}\n=> {e}", w.sql)))?;
            let want = self.expected(&filter, docs);
            prop_assert_eq!(
                &got,
                &want,
                "{:?} {}: {}\n{:?}",
                dialect,
                self.table,
                text,
                w.sql
            );
            tally.compared += 1;
            if !want.is_empty() && want.len() < docs.len() {
                tally.discriminating += 1;
            }
        }
        Ok(tally)
    }
}

/// Loads one dataset and compares a batch of filters on it.
type Batch<'a> = dyn FnMut(&Model, &[Value], &[String]) -> Result<Tally, TestCaseError> + 'a;

fn run(
    model: &Model,
    docs: impl Strategy<Value = Vec<Value>>,
    filters: impl Strategy<Value = String>,
    dialect: Dialect,
    query_setup: &mut Batch<'_>,
) -> Tally {
    let total = RefCell::new(Tally::default());
    let query_setup = RefCell::new(query_setup);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        // XorShift: the default ChaCha costs a quarter of this test in a debug build.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    });
    let strategy = (docs, prop::collection::vec(filters, FILTERS));
    let result = runner.run(&strategy, |(docs, filters)| {
        let t = (query_setup.borrow_mut())(model, &docs, &filters)?;
        total.borrow_mut().add(t);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{dialect:?} {}: {e}", model.table);
    }
    total.into_inner()
}

fn device_docs() -> impl Strategy<Value = Vec<Value>> {
    (0..12usize).map(device).collect::<Vec<_>>()
}

fn activity_docs() -> impl Strategy<Value = Vec<Value>> {
    (0..12usize).map(activity).collect::<Vec<_>>()
}

#[test]
fn ready_mappings_on_sqlite() {
    let conn = Connection::open_in_memory().unwrap();
    let mut sqlite = |m: &Model, docs: &[Value], filters: &[String]| {
        conn.execute_batch(&m.ddl(Dialect::Sqlite)).unwrap();
        let sql = m.insert_sql(Dialect::Sqlite);
        for d in docs {
            conn.execute(&sql, rusqlite::params_from_iter(m.row(d)))
                .unwrap();
        }
        m.compare(Dialect::Sqlite, docs, filters, &mut |w| {
            let sql = format!("SELECT id FROM {} WHERE {}", m.table, w.sql);
            let mut stmt = conn.prepare(&sql).map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map(
                    rusqlite::params_from_iter(common::sqlite_params(&w.params)),
                    |r| r.get::<_, String>(0),
                )
                .map_err(|e| e.to_string())?;
            rows.collect::<Result<_, _>>().map_err(|e| e.to_string())
        })
    };
    let mut total = run(
        &devices(),
        device_docs(),
        filter(DEVICE_PATHS, DEVICE_BRACKETS),
        Dialect::Sqlite,
        &mut sqlite,
    );
    total.add(run(
        &activities(),
        activity_docs(),
        filter(ACTIVITY_PATHS, ACTIVITY_BRACKETS),
        Dialect::Sqlite,
        &mut sqlite,
    ));
    println!("{}", total.report("sqlite, ready mappings"));
    assert!(total.compared > total.refused);
}

#[test]
fn ready_mappings_on_postgres() {
    let Some(cluster) = Cluster::start("ready_mappings_on_postgres") else {
        return;
    };
    let client = RefCell::new(cluster.client());
    let mut pg = |m: &Model, docs: &[Value], filters: &[String]| {
        let mut client = client.borrow_mut();
        client.batch_execute(&m.ddl(Dialect::Postgres)).unwrap();
        let ins = client.prepare(&m.insert_sql(Dialect::Postgres)).unwrap();
        for d in docs {
            let row = m.row(d);
            let refs: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            client.execute(&ins, &refs).unwrap();
        }
        m.compare(Dialect::Postgres, docs, filters, &mut |w| {
            crate::postgres::query_table(&mut client, m.table, w)
        })
    };
    let mut total = run(
        &devices(),
        device_docs(),
        filter(DEVICE_PATHS, DEVICE_BRACKETS),
        Dialect::Postgres,
        &mut pg,
    );
    total.add(run(
        &activities(),
        activity_docs(),
        filter(ACTIVITY_PATHS, ACTIVITY_BRACKETS),
        Dialect::Postgres,
        &mut pg,
    ));
    drop(client);
    drop(cluster);
    println!("{}", total.report("postgres, ready mappings"));
    assert!(total.compared > total.refused);
}
