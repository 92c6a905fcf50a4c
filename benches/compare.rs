//! Side by side with the Rust SCIM filter peers (`scim_proto`, `scim-filter`, `scim_v2`); the
//! results are recorded in `COMPARE.md`.
//!
//! Opt-in, so ordinary builds and `cargo test` never compile the peers:
//! `cargo bench --features compare-peers --bench compare`.
//!
//! Each filter is parsed by every crate inside one criterion group (`compare_parse/filter_N`), so
//! the medians are comparable; `compare_parse_and_eval_one_json` parses the first filter and
//! evaluates it on one JSON device, against scim-filter (the one peer that evaluates). Every
//! parse is checked to succeed, and every evaluation to agree, before anything is timed; the
//! parsed value is dropped inside the timed loop for every crate alike.
use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::filter::Filter;
use serde_json::{Value, json};

const FILTERS: [&str; 3] = [
    r#"status eq "ACTIVE" and type eq "SMS""#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

/// mfa-devices.
fn ours(f: &str) -> Filter {
    Filter::parse(f).unwrap()
}

/// scim_proto (kanidm, peg).
fn scim_proto(f: &str) -> scim_proto::filter::ScimFilter {
    scim_proto::filter::ScimFilter::from_str(f).unwrap()
}

/// scim-filter (nom 7): its parser, whole input consumed (what its `scim_filter` does first).
fn scim_filter(f: &str) -> scim_filter::parser::Filter<'_> {
    let (rest, filter) = scim_filter::parser::filter(f).unwrap();
    assert!(rest.is_empty(), "scim-filter left {rest:?} of {f:?}");
    filter
}

/// scim_v2 (lalrpop).
fn scim_v2(f: &str) -> scim_v2::filter::Filter {
    scim_v2::filter::Filter::from_str(f).unwrap()
}

fn device() -> Value {
    json!({
        "id": "e112c96d-d165-45c5-8061-87ff268fd520",
        "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
        "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
        "type": "SMS",
        "status": "ACTIVE",
        "phone": "+972.547339044",
        "lock": {"status": "UNLOCKED"},
        "block": {"status": "UNBLOCKED"},
        "createdAt": "2024-03-13T16:27:40.614Z",
        "updatedAt": "2024-03-13T16:27:40.614Z"
    })
}

fn bench_parse(c: &mut Criterion) {
    for (n, f) in FILTERS.iter().enumerate() {
        // Every crate accepts every filter (the bench would otherwise time an error path).
        let _ = (ours(f), scim_proto(f), scim_filter(f), scim_v2(f));
        let mut g = c.benchmark_group(format!("compare_parse/filter_{}", n + 1));
        g.bench_function("mfa-devices", |b| b.iter(|| ours(black_box(f))));
        g.bench_function("scim_proto", |b| b.iter(|| scim_proto(black_box(f))));
        g.bench_function("scim-filter", |b| b.iter(|| scim_filter(black_box(f))));
        g.bench_function("scim_v2", |b| b.iter(|| scim_v2(black_box(f))));
        g.finish();
    }
}

fn bench_parse_and_eval(c: &mut Criterion) {
    let f = FILTERS[0];
    let one = device();
    let other = json!({"type": "SMS", "status": "ACTIVATION_REQUIRED"});
    for d in [&one, &other] {
        assert_eq!(
            ours(f).matches(d),
            scim_filter(f).r#match(d).unwrap(),
            "the two evaluators disagree on {d}"
        );
    }
    assert!(ours(f).matches(&one));
    let mut g = c.benchmark_group("compare_parse_and_eval_one_json");
    g.bench_function("mfa-devices", |b| {
        b.iter(|| ours(black_box(f)).matches(black_box(&one)))
    });
    g.bench_function("scim-filter", |b| {
        b.iter(|| scim_filter(black_box(f)).r#match(black_box(&one)).unwrap())
    });
    // Its public entry point, which also serialises each item to a `Value` (a clone here).
    g.bench_function("scim-filter_scim_filter_fn", |b| {
        b.iter(|| {
            scim_filter::scim_filter(black_box(f), [black_box(&one)])
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_parse_and_eval);
criterion_main!(benches);
