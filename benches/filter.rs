//! SCIM filter engine: parsing, and evaluation over 10,000 devices (typed and JSON).
//!
//! `cargo bench --bench filter`. Evaluation benches report the time for the whole list; divide
//! by 10,000 for the time per device.
use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_devices::device::{Device, DeviceId, DeviceStatus, DeviceType, EnvironmentId, UserId};
use mfa_devices::filter::Filter;
use serde_json::Value;

const TYPICAL: &str = r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#;
const COMPLEX: &str = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]) and not (meta.lastModified lt "2011-05-13T04:42:34Z") and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber pr and (title sw "Sr. \u00e9" or logins ge 42.5 or active eq true or manager eq null)"#;
const PEERS: [&str; 3] = [
    r#"status eq "ACTIVE" and type eq "SMS""#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];
const N: usize = 10_000;

fn devices() -> Vec<Device> {
    let types = [
        DeviceType::Sms,
        DeviceType::Email,
        DeviceType::Totp,
        DeviceType::Mobile,
        DeviceType::Fido2,
        DeviceType::Voice,
    ];
    let now = Utc.with_ymd_and_hms(2024, 3, 13, 16, 27, 40).unwrap();
    (0..N)
        .map(|i| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let status = if i % 3 == 0 {
                DeviceStatus::ActivationRequired
            } else {
                DeviceStatus::Active
            };
            Device::new(
                DeviceId::from_bytes(id),
                EnvironmentId::from_bytes([2; 16]),
                UserId::from_bytes([3; 16]),
                types[i % types.len()].clone(),
                status,
                now,
            )
        })
        .collect()
}

fn bench_parse(c: &mut Criterion) {
    // Each iteration parses and drops the filter.
    let mut g = c.benchmark_group("filter_parse");
    g.bench_function("typical", |b| {
        b.iter(|| Filter::parse(black_box(TYPICAL)).unwrap())
    });
    g.bench_function("complex", |b| {
        b.iter(|| Filter::parse(black_box(COMPLEX)).unwrap())
    });
    for (n, f) in PEERS.iter().enumerate() {
        g.bench_function(format!("peer_filter_{}", n + 1), |b| {
            b.iter(|| Filter::parse(black_box(f)).unwrap())
        });
    }
    g.finish();
}

fn bench_eval(c: &mut Criterion) {
    let typed = devices();
    let json: Vec<Value> = typed
        .iter()
        .map(|d| serde_json::to_value(d).unwrap())
        .collect();
    let filter = Filter::parse(TYPICAL).unwrap();
    let expected = typed.len().div_ceil(3).div_ceil(2);
    let compiled_typed = filter.compile::<Device>();
    let compiled_json = filter.compile::<Value>();
    assert!(typed.iter().filter(|d| compiled_typed.matches(d)).count() >= expected / 2);
    assert_eq!(
        typed.iter().filter(|d| compiled_typed.matches(d)).count(),
        json.iter().filter(|d| compiled_json.matches(d)).count()
    );

    let mut g = c.benchmark_group("filter_eval_10k");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("typed_compiled", |b| {
        b.iter(|| {
            black_box(&typed)
                .iter()
                .filter(|d| compiled_typed.matches(d))
                .count()
        })
    });
    // The floor: the same predicate written by hand on the typed model.
    g.bench_function("typed_handwritten_baseline", |b| {
        b.iter(|| {
            black_box(&typed)
                .iter()
                .filter(|d| {
                    d.status
                        .as_str()
                        .eq_ignore_ascii_case("ACTIVATION_REQUIRED")
                        && d.device_type.as_str().eq_ignore_ascii_case("SMS")
                })
                .count()
        })
    });
    g.bench_function("json_compiled", |b| {
        b.iter(|| {
            black_box(&json)
                .iter()
                .filter(|d| compiled_json.matches(d))
                .count()
        })
    });
    g.bench_function("typed_interpreted", |b| {
        b.iter(|| {
            black_box(&typed)
                .iter()
                .filter(|d| filter.matches(*d))
                .count()
        })
    });
    g.bench_function("json_interpreted", |b| {
        b.iter(|| {
            black_box(&json)
                .iter()
                .filter(|d| filter.matches(*d))
                .count()
        })
    });
    g.finish();

    let one = &json[0];
    c.bench_function("filter_parse_and_eval_one_json/peer_filter_1", |b| {
        b.iter(|| {
            Filter::parse(black_box(PEERS[0]))
                .unwrap()
                .matches(black_box(one))
        })
    });
}

/// Case-insensitive `co` against its worst case for a naive search (`aaa…a` co `AA…AB`),
/// attribute of n bytes, literal of n/10: the time grows linearly in n (issue 12, point 9).
fn bench_co_scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter_co_scaling");
    for n in [1_000usize, 10_000, 100_000] {
        let device = serde_json::json!({ "name": "a".repeat(n) });
        let filter = Filter::parse_with(
            &format!(r#"name co "{}B""#, "A".repeat(n / 10)),
            &mfa_devices::filter::ParseOptions::new().max_length(1 << 20),
        )
        .unwrap()
        .compile::<Value>();
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function(format!("ascii_{n}"), |b| {
            b.iter(|| filter.matches(black_box(&device)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_parse, bench_eval, bench_co_scaling
}
criterion_main!(benches);
