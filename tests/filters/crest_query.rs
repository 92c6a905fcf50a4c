//! The pure query engine: paging through any item set with any page size and sort keys yields
//! every matching item exactly once, in sort order; cookies are tamper-evident.

use std::cmp::Ordering;

use std::sync::LazyLock;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::crest::{
    CookieKey, CrestError, Paging, QueryRequest, QueryResponse, SortKey, TotalPagedResultsPolicy,
    query_with,
};
use mfa_devices::filter::Filter;
use proptest::prelude::*;
use serde_json::{Value, json};

static KEY: LazyLock<CookieKey> =
    LazyLock::new(|| CookieKey::new(b"0123456789abcdef0123456789abcdef").unwrap());
const OWNER: &str = "/json/realms/root/users/u1/devices/2fa/oath";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

/// The paging context of the tests: one key, one owner, one time.
fn paging() -> Paging<'static> {
    Paging::new(&KEY, OWNER, t0(), [0x11; 16])
}

/// The predicate standing in for the filter: items carry `keep`.
fn keep(_: &Filter, v: &Value) -> bool {
    v["keep"] == json!(true)
}

fn run<'a>(items: &'a [Value], req: &QueryRequest) -> QueryResponse<&'a Value> {
    query_with(items, req, &paging(), keep).unwrap()
}

/// Reference order: null/absent < numbers < strings (the value kinds generated below).
fn ref_cmp(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Number(_) => 1,
        _ => 2,
    };
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_i64().unwrap().cmp(&y.as_i64().unwrap()),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn field(v: &Value, k: &SortKey) -> Value {
    v.get(&k.field.segments[0]).cloned().unwrap_or(Value::Null)
}

fn ref_order(items: &[Value], keys: &[SortKey]) -> Vec<u64> {
    let mut kept: Vec<&Value> = items.iter().filter(|v| v["keep"] == json!(true)).collect();
    kept.sort_by(|a, b| {
        for k in keys {
            let c = ref_cmp(&field(a, k), &field(b, k));
            let c = if k.ascending { c } else { c.reverse() };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal // stable sort: input order for ties
    });
    kept.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

fn arb_items() -> impl Strategy<Value = Vec<Value>> {
    let val = prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        (-3i64..4).prop_map(|i| Some(json!(i))),
        "[ab]{0,2}".prop_map(|s| Some(json!(s))),
    ];
    prop::collection::vec((any::<bool>(), val.clone(), val.clone(), val), 0..40).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (keep, a, b, c))| {
                let mut o = json!({"id": i, "keep": keep});
                for (name, x) in [("a", a), ("b", b), ("c", c)] {
                    if let Some(x) = x {
                        o[name] = x;
                    }
                }
                o
            })
            .collect()
    })
}

fn arb_sort_keys() -> impl Strategy<Value = Vec<SortKey>> {
    prop::collection::vec(
        (prop_oneof![Just("a"), Just("b"), Just("c")], any::<bool>()),
        0..3,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(f, asc)| {
                if asc {
                    SortKey::ascending(f).unwrap()
                } else {
                    SortKey::descending(f).unwrap()
                }
            })
            .collect()
    })
}

fn request(keys: Vec<SortKey>, page_size: u32) -> QueryRequest {
    let mut req = QueryRequest::from_query_pairs([("_queryFilter", "true")]).unwrap();
    req.sort_keys = keys;
    req.page_size = page_size;
    req.total_paged_results_policy = TotalPagedResultsPolicy::Exact;
    req
}

fn ids(r: &QueryResponse<&Value>) -> Vec<u64> {
    r.result.iter().map(|v| v["id"].as_u64().unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cookie_paging_yields_every_match_once_in_order(
        items in arb_items(), keys in arb_sort_keys(), sizes in prop::collection::vec(1u32..8, 1..6),
    ) {
        let expected = ref_order(&items, &keys);
        let mut req = request(keys, sizes[0]);
        let mut seen = Vec::new();
        for page in 0.. {
            req.page_size = sizes[page % sizes.len()];
            let r = run(&items, &req);
            prop_assert_eq!(r.result_count, r.result.len());
            prop_assert!(r.result.len() <= req.page_size as usize);
            prop_assert_eq!(r.total_paged_results, expected.len() as i64);
            seen.extend(ids(&r));
            prop_assert_eq!(r.remaining_paged_results, (expected.len() - seen.len()) as i64);
            match r.paged_results_cookie {
                Some(c) => {
                    prop_assert!(!r.result.is_empty());
                    req.paged_results_cookie = Some(c);
                }
                None => break,
            }
            prop_assert!(page <= expected.len());
        }
        prop_assert_eq!(seen, expected);
    }

    #[test]
    fn offset_paging_agrees_with_cookie_paging(
        items in arb_items(), keys in arb_sort_keys(), size in 1u32..8,
    ) {
        let expected = ref_order(&items, &keys);
        let mut req = request(keys, size);
        let mut seen = Vec::new();
        loop {
            req.paged_results_offset = seen.len() as u32;
            let r = run(&items, &req);
            let more = r.paged_results_cookie.is_some();
            seen.extend(ids(&r));
            if !more { break; }
        }
        prop_assert_eq!(seen, expected);
    }

    #[test]
    fn no_paging_returns_everything_with_totals_per_policy(
        items in arb_items(), keys in arb_sort_keys(), offset in 0u32..50,
    ) {
        let expected = ref_order(&items, &keys);
        let mut req = request(keys, 0);
        req.total_paged_results_policy = TotalPagedResultsPolicy::None;
        let r = run(&items, &req);
        prop_assert_eq!(ids(&r), expected.clone());
        prop_assert_eq!(r.paged_results_cookie, None);
        prop_assert_eq!((r.total_paged_results, r.remaining_paged_results), (-1, -1));
        req.paged_results_offset = offset;
        req.total_paged_results_policy = TotalPagedResultsPolicy::Estimate;
        let r = run(&items, &req);
        let skipped: Vec<u64> = expected.iter().copied().skip(offset as usize).collect();
        prop_assert_eq!(ids(&r), skipped);
        prop_assert_eq!(r.total_paged_results, expected.len() as i64);
        prop_assert_eq!(r.remaining_paged_results, 0);
    }

    #[test]
    fn a_tampered_cookie_is_rejected(
        items in arb_items(), keys in arb_sort_keys(), pos in any::<prop::sample::Index>(),
        replacement in prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/".chars().collect::<Vec<_>>()),
    ) {
        let mut req = request(keys, 1);
        let r = run(&items, &req);
        if let Some(cookie) = r.paged_results_cookie {
            let mut chars: Vec<char> = cookie.chars().collect();
            let i = pos.index(chars.len());
            prop_assume!(chars[i] != replacement);
            chars[i] = replacement;
            req.paged_results_cookie = Some(chars.into_iter().collect());
            let err = query_with(&items, &req, &paging(), keep).unwrap_err();
            prop_assert!(matches!(err, CrestError::InvalidCookie(_)), "{:?}", err);
        }
    }
}

#[test]
fn cookies_are_bound_to_key_query_and_sort_order() {
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"id": i, "keep": true, "a": i % 2}))
        .collect();
    let req = request(vec![SortKey::ascending("a").unwrap()], 2);
    let cookie = run(&items, &req).paged_results_cookie.unwrap();
    let mut next = req.clone();
    next.paged_results_cookie = Some(cookie.clone());
    assert_eq!(ids(&run(&items, &next)), [4, 1]);
    // Another key.
    assert!(matches!(
        query_with(
            &items,
            &next,
            &Paging::new(&CookieKey::from([9; 32]), OWNER, t0(), [0x11; 16]),
            keep
        ),
        Err(CrestError::InvalidCookie(_))
    ));
    // Another sort order.
    let mut other = next.clone();
    other.sort_keys = vec![SortKey::descending("a").unwrap()];
    assert!(matches!(
        query_with(&items, &other, &paging(), keep),
        Err(CrestError::InvalidCookie(_))
    ));
    // Another filter.
    let mut other = QueryRequest::from_query_pairs([("_queryFilter", "/a pr")]).unwrap();
    other.sort_keys = next.sort_keys.clone();
    other.paged_results_cookie = Some(cookie.clone());
    assert!(matches!(
        query_with(&items, &other, &paging(), keep),
        Err(CrestError::InvalidCookie(_))
    ));
    // Truncated, empty-ish, not base64url.
    for bad in [&cookie[..cookie.len() - 1], "AA", "!!!", &cookie[1..]] {
        let mut r = next.clone();
        r.paged_results_cookie = Some(bad.to_owned());
        assert!(
            matches!(
                query_with(&items, &r, &paging(), keep),
                Err(CrestError::InvalidCookie(_))
            ),
            "{bad}"
        );
    }
    // Offset with cookie is refused by the engine too.
    let mut r = next.clone();
    r.paged_results_offset = 1;
    assert_eq!(
        query_with(&items, &r, &paging(), keep).unwrap_err(),
        CrestError::OffsetWithCookie
    );
}

#[test]
fn cookie_resumes_by_sort_values_when_items_change() {
    let mk = |ids: &[i64]| -> Vec<Value> {
        ids.iter()
            .map(|i| json!({"id": i, "keep": true, "n": i}))
            .collect()
    };
    let req = request(vec![SortKey::descending("n").unwrap()], 2);
    let before = mk(&[1, 5, 3, 9, 7]);
    let first = run(&before, &req);
    assert_eq!(ids(&first), [9, 7]);
    // 8 was inserted above the cookie position and 5 deleted: the next page continues after 7.
    let after = mk(&[1, 3, 9, 8, 7, 6]);
    let mut next = req.clone();
    next.paged_results_cookie = first.paged_results_cookie;
    assert_eq!(ids(&run(&after, &next)), [6, 3]);
}

#[test]
fn sort_order_covers_every_json_kind() {
    let items: Vec<Value> = [
        json!({"v": "b"}),
        json!({"v": {"k": 1}}),
        json!({"v": 2.5}),
        json!({}),
        json!({"v": [1, 2]}),
        json!({"v": true}),
        json!({"v": 2}),
        json!({"v": null}),
        json!({"v": -1}),
        json!({"v": "B"}),
        json!({"v": false}),
        json!({"v": [1]}),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, mut v)| {
        v["id"] = json!(i);
        v["keep"] = json!(true);
        v
    })
    .collect();
    let r = run(&items, &request(vec![SortKey::ascending("v").unwrap()], 0));
    let order: Vec<Value> = r
        .result
        .iter()
        .map(|v| v.get("v").cloned().unwrap_or(Value::Null))
        .collect();
    assert_eq!(
        order,
        vec![
            json!(null),
            json!(null),
            json!(false),
            json!(true),
            json!(-1),
            json!(2),
            json!(2.5),
            json!("B"),
            json!("b"),
            json!([1]),
            json!([1, 2]),
            json!({"k": 1}),
        ]
    );
    // Absent (id 3) before null (id 7): ties keep input order.
    assert_eq!(r.result[0]["id"], 3);
    let r = run(&items, &request(vec![SortKey::descending("v").unwrap()], 0));
    assert_eq!(r.result[0]["v"], json!({"k": 1}));
    assert_eq!(r.result[11]["id"], 7);
}

/// Issue 12, point 8: paging cookies. The key is at least 32 bytes (an empty key made cookies
/// forgeable) and never shown by `Debug`; the cookie does not show the sort-key values; a
/// cookie resumes only the same owner's list, the same query and sort keys, and only before
/// its caller-set expiry; fresh nonces make cookies for the same position differ.
#[test]
fn point_08_cookies_need_a_strong_key_are_opaque_bound_to_the_owner_and_expire() {
    use data_encoding::BASE64URL_NOPAD;
    // Keys: short ones are refused, Debug is redacted.
    for short in [&b""[..], b"k", &[0u8; 31]] {
        assert_eq!(CookieKey::new(short).unwrap_err().length, short.len());
    }
    assert_eq!(format!("{:?}", *KEY), "CookieKey(<redacted>)");
    assert!(!format!("{:?}", paging()).contains("0123"));

    let marker = "SECRET-SORT-VALUE";
    let items: Vec<Value> = (0..6)
        .map(|i| json!({"id": i, "keep": true, "name": format!("{marker}-{i}")}))
        .collect();
    let req = request(vec![SortKey::ascending("name").unwrap()], 2);
    let page1 = query_with(&items, &req, &paging(), keep).unwrap();
    let cookie = page1.paged_results_cookie.unwrap();
    // Opaque: neither the text nor its decoded bytes show the sort value.
    let raw = BASE64URL_NOPAD.decode(cookie.as_bytes()).unwrap();
    assert!(!cookie.contains(marker));
    assert!(!String::from_utf8_lossy(&raw).contains(marker));
    assert!(!String::from_utf8_lossy(&raw).contains("SECRET"));
    // Fresh nonce, same position: a different cookie.
    let again = query_with(
        &items,
        &req,
        &Paging::new(&KEY, OWNER, t0(), [0x22; 16]),
        keep,
    )
    .unwrap();
    assert_ne!(again.paged_results_cookie.as_deref(), Some(cookie.as_str()));

    let mut next = req.clone();
    next.paged_results_cookie = Some(cookie.clone());
    let resume = |p: &Paging<'_>| query_with(&items, &next, p, keep);
    // The same owner, within the lifetime: resumes.
    let later = t0() + TimeDelta::minutes(29);
    assert_eq!(
        ids(&resume(&Paging::new(&KEY, OWNER, later, [3; 16])).unwrap()),
        [2, 3]
    );
    // Another user's collection: refused.
    let other_owner = "/json/realms/root/users/u2/devices/2fa/oath";
    assert!(matches!(
        resume(&Paging::new(&KEY, other_owner, t0(), [3; 16])),
        Err(CrestError::InvalidCookie(_))
    ));
    // Expired (default lifetime 30 minutes), and a caller-set lifetime.
    let expired = t0() + TimeDelta::minutes(30);
    assert!(matches!(
        resume(&Paging::new(&KEY, OWNER, expired, [3; 16])),
        Err(CrestError::InvalidCookie("it has expired"))
    ));
    let short = Paging::new(&KEY, OWNER, t0(), [4; 16]).lifetime(TimeDelta::seconds(10));
    let c = query_with(&items, &req, &short, keep)
        .unwrap()
        .paged_results_cookie;
    let mut n = req.clone();
    n.paged_results_cookie = c;
    let at = |secs| Paging::new(&KEY, OWNER, t0() + TimeDelta::seconds(secs), [5; 16]);
    assert!(query_with(&items, &n, &at(9), keep).is_ok());
    assert!(query_with(&items, &n, &at(10), keep).is_err());
    // Forged: a cookie built without the key (the old format: position then an HMAC under an
    // empty key) is refused.
    let forged = BASE64URL_NOPAD.encode(&[br#"[["x"],5]"#.as_slice(), &[0u8; 32]].concat());
    next.paged_results_cookie = Some(forged);
    assert!(matches!(
        query_with(&items, &next, &paging(), keep),
        Err(CrestError::InvalidCookie(_))
    ));
}
