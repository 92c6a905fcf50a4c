//! The `filter_sql` fuzz body over the generated filters (its committed seeds replay in
//! `tests/fuzz_seeds.rs`), and the refusals a user meets.

use mfa_devices::filter::Filter;
use mfa_devices::filter::sql::{Dialect, SqlErrorKind, SqlMapping, SqlParam, SqlType};
use proptest::prelude::*;

use crate::common;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift, ..ProptestConfig::default() })]

    /// The generated filters of the differential tests, through the fuzz body.
    #[test]
    fn generated_filters_keep_their_text_out_of_sql(f in common::filter()) {
        crate::sql_body::filter_sql(f.as_bytes());
    }
}

#[test]
fn the_vocabulary_check_catches_text_in_sql() {
    use crate::sql_body::check_sql_tokens;
    let ok = check_sql_tokens(
        r#"COALESCE("status" = $1::text, FALSE)"#,
        &["status"],
        1,
        Dialect::Postgres,
    );
    assert_eq!(ok, Ok(()));
    for bad in [
        r#""status" = 'x'"#,
        r#""secret" = $1::text"#,
        r#""status" = $2::text"#,
        r#""status" = ?1"#,
        r#"status = $1::text"#,
        r#""status" = $1::text; DROP"#,
    ] {
        assert!(
            check_sql_tokens(bad, &["status"], 1, Dialect::Postgres).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn an_unknown_attribute_is_invalid_filter_never_a_dropped_clause() {
    let m = SqlMapping::columns().column("status", "status", SqlType::Text);
    let f = Filter::parse(r#"not (secret eq "x") or status eq "A""#).unwrap();
    let e = f.to_sql(&m, Dialect::Postgres).unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::UnknownAttribute);
    let api = e.to_api_error();
    assert_eq!((api.http_status(), api.code()), (400, "INVALID_DATA"));
    assert_eq!(api.details[0].code.as_str(), "INVALID_FILTER");
    assert!(
        api.details[0].message.contains("`secret`"),
        "{}",
        api.details[0].message
    );
}

#[test]
fn refusals_say_what_and_why() {
    let doc = SqlMapping::json_document("doc");
    let refuse = |f: &str, m: &SqlMapping| {
        let e = Filter::parse(f)
            .unwrap()
            .to_sql(m, Dialect::Sqlite)
            .unwrap_err();
        assert_eq!(e.kind(), SqlErrorKind::Unsupported, "{f}");
        e.to_string()
    };
    assert!(refuse(r#"name eq "Ärger""#, &doc).contains("non-ASCII"));
    assert!(
        refuse(r#"meta.created gt "2024-01-01T00:00:00Z""#, &doc).contains("SqlMapping::datetime")
    );
    assert!(refuse(r#"createdAt co "2024""#, &SqlMapping::devices()).contains("timestamp"));
    assert!(refuse("n eq 18446744073709551615", &doc).contains("64-bit"));
    // Sub-millisecond instants on SQLite, sub-microsecond on PostgreSQL.
    let dt = SqlMapping::json_document("doc").datetime("t");
    assert!(refuse(r#"t gt "2024-01-01T00:00:00.0001Z""#, &dt).contains("millisecond"));
    let f = Filter::parse(r#"t gt "2024-01-01T00:00:00.0001Z""#).unwrap();
    assert!(f.to_sql(&dt, Dialect::Postgres).is_ok());
    // ...and what is not refused: caseExact non-ASCII, ASCII ignoring case.
    let exact = SqlMapping::json_document("doc").case_exact("name");
    assert!(
        Filter::parse(r#"name eq "Ärger""#)
            .unwrap()
            .to_sql(&exact, Dialect::Sqlite)
            .is_ok()
    );
}

#[test]
fn like_patterns_are_escaped_parameters() {
    let f = Filter::parse(r#"nickname co "50%_\\off""#).unwrap();
    let w = f.to_sql(&SqlMapping::devices(), Dialect::Postgres).unwrap();
    assert!(w.sql.contains(r"LIKE $1::text ESCAPE '\'"), "{}", w.sql);
    assert_eq!(w.params, [SqlParam::Text(r"%50\%\_\\off%".into())]);
}

#[test]
fn a_document_column_named_like_a_json_each_column_is_refused() {
    let f = Filter::parse("a pr").unwrap();
    let e = f
        .to_sql(&SqlMapping::json_document("value"), Dialect::Sqlite)
        .unwrap_err();
    assert_eq!(e.kind(), SqlErrorKind::InvalidMapping);
}
