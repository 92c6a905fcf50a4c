//! SCIM filter → SQL translation (`filter::sql`): a typical devices filter on the typed read
//! model, a typical activities filter, and a complex filter on a JSON document column.
//!
//! `cargo bench --bench sql`. Each bench translates one already-parsed filter.
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::filter::Filter;
use mfa_devices::filter::sql::{Dialect, SqlMapping};

const TYPICAL: &str = r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#;
const ACTIVITIES: &str =
    r#"recordedAt gt "2025-01-01T00:00:00Z" and action.type eq "DEVICE.CREATED""#;
const COMPLEX: &str = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]) and not (meta.lastModified lt "2011-05-13T04:42:34Z")"#;

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

criterion_group!(benches, bench);
criterion_main!(benches);
