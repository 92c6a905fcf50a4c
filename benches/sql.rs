//! SCIM filter → SQL translation (`filter::sql`): a typical devices filter on the typed read
//! model, a typical activities filter, and a complex filter on a JSON document column.
//!
//! `cargo bench --bench sql`. Each bench translates one already-parsed filter.
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::filter::Filter;
use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlType};

const TYPICAL: &str = r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#;
const ACTIVITIES: &str =
    r#"recordedAt gt "2025-01-01T00:00:00Z" and action.type eq "DEVICE.CREATED""#;
const COMPLEX: &str = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]) and not (meta.lastModified lt "2011-05-13T04:42:34Z")"#;

/// The filters of `scripts/sql_compare_python.py` (beside scim2-filter-parser 0.7.0), parsed
/// and translated from text for SQLite, as the peer's `SQLQuery(text, …)` does.
const VS_PYTHON: [(&str, &str); 5] = [
    (
        "precedence",
        r#"title eq "Boss" or userType eq "Employee" and userName eq "bjensen""#,
    ),
    ("co %", r#"userName co "50%""#),
    ("eq null", "title eq null"),
    (
        "value path",
        r#"emails[type eq "work" and value co "@example.com"]"#,
    ),
    ("case", r#"userName eq "BJENSEN""#),
];

fn vs_python(c: &mut Criterion) {
    let m = SqlMapping::columns()
        .column("id", "id", SqlType::Text)
        .column("userName", "username", SqlType::Text)
        .column("title", "title", SqlType::Text)
        .column("userType", "usertype", SqlType::Text)
        .document("doc");
    let many = (0..29)
        .map(|i| format!(r#"userName eq "v{i}""#))
        .chain([r#"userName eq "bjensen""#.to_owned()])
        .collect::<Vec<_>>()
        .join(" or ");
    let mut cases: Vec<(&str, String)> = VS_PYTHON
        .iter()
        .map(|(n, f)| (*n, (*f).to_owned()))
        .collect();
    cases.push(("30 bound values", many));
    for (name, text) in &cases {
        c.bench_function(&format!("sql/vs-python/{name}"), |b| {
            b.iter(|| {
                Filter::parse(black_box(text))
                    .unwrap()
                    .to_sql(&m, Dialect::Sqlite)
                    .unwrap()
            })
        });
    }
}

fn bench(c: &mut Criterion) {
    let devices = SqlMapping::devices();
    let activities = SqlMapping::activities();
    let doc = SqlMapping::json_document("doc").datetime("meta.lastModified");
    let typical: Filter = TYPICAL.parse().unwrap();
    let act: Filter = ACTIVITIES.parse().unwrap();
    let complex: Filter = COMPLEX.parse().unwrap();
    for dialect in [Dialect::Postgres, Dialect::Sqlite] {
        let name = dialect.name();
        c.bench_function(&format!("sql/{name}/typical devices"), |b| {
            b.iter(|| black_box(&typical).to_sql(&devices, dialect).unwrap())
        });
        c.bench_function(&format!("sql/{name}/activities"), |b| {
            b.iter(|| black_box(&act).to_sql(&activities, dialect).unwrap())
        });
        c.bench_function(&format!("sql/{name}/complex json"), |b| {
            b.iter(|| black_box(&complex).to_sql(&doc, dialect).unwrap())
        });
    }
}

criterion_group!(benches, bench, vs_python);
criterion_main!(benches);
