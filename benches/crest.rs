//! CREST benches: `_queryFilter` parsing and rendering, and paging a device collection.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::crest::{BoundDevice, QueryRequest, parse_query_filter, query, to_query_filter};
use serde_json::json;

const FILTERS: [(&str, &str); 3] = [
    ("true", "true"),
    (
        "typical",
        r#"/deviceName sw "iOS" and /deviceManagementStatus eq false"#,
    ),
    (
        "complex",
        r#"(/deviceName co "Key" or /key/kty eq 'RSA') and ! /createdDate lt 1715182923000 and (/lastAccessDate ge 1.5e12 or /deviceId pr)"#,
    ),
];

fn devices(n: usize) -> Vec<BoundDevice> {
    (0..n)
        .map(|i| {
            serde_json::from_value(json!({
                "_id": format!("{i:08x}-d2d7-46e1-926a-568b877f87a5"),
                "_rev": "192142989",
                "createdDate": 1_715_182_923_119_i64 + (i as i64 * 7919) % 100_000,
                "lastAccessDate": 1_715_182_923_183_i64,
                "deviceId": "e2e84b5d2a927abdcb85570bac9701c390a92751",
                "deviceName": if i % 3 == 0 { "iOS Device" } else { "Android Device" },
                "uuid": format!("{i:08x}-d2d7-46e1-926a-568b877f87a5"),
                "key": {"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                "deviceManagementStatus": false
            }))
            .unwrap()
        })
        .collect()
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("crest_parse");
    for (name, text) in FILTERS {
        g.bench_function(name, |b| b.iter(|| parse_query_filter(black_box(text))));
    }
    g.finish();
    let mut g = c.benchmark_group("crest_render");
    for (name, text) in FILTERS {
        let f = parse_query_filter(text).unwrap();
        g.bench_function(name, |b| b.iter(|| to_query_filter(black_box(&f))));
    }
    g.finish();
}

fn bench_query(c: &mut Criterion) {
    let items = devices(1000);
    let key = mfa_devices::crest::CookieKey::from([42u8; 32]);
    let now = chrono::DateTime::UNIX_EPOCH;
    let key = mfa_devices::crest::Paging::new(
        &key,
        "/json/realms/root/users/u1/devices/2fa/oath",
        now,
        [1; 16],
    );
    let mut g = c.benchmark_group("crest_query_1000_devices");
    let unsorted = QueryRequest::from_query_pairs([
        ("_queryFilter", r#"/deviceName sw "iOS""#),
        ("_pageSize", "50"),
    ])
    .unwrap();
    g.bench_function("first_page_unsorted", |b| {
        b.iter(|| query(black_box(&items), &unsorted, &key).unwrap())
    });
    let sorted = QueryRequest::from_query_pairs([
        ("_queryFilter", r#"/deviceName sw "iOS""#),
        ("_sortKeys", "-createdDate"),
        ("_pageSize", "50"),
        ("_totalPagedResultsPolicy", "EXACT"),
    ])
    .unwrap();
    g.bench_function("first_page_sorted", |b| {
        b.iter(|| query(black_box(&items), &sorted, &key).unwrap())
    });
    let first = query(&items, &sorted, &key).unwrap();
    let mut next = sorted.clone();
    next.paged_results_cookie = first.paged_results_cookie;
    g.bench_function("cookie_page_sorted", |b| {
        b.iter(|| query(black_box(&items), &next, &key).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_query);
criterion_main!(benches);
