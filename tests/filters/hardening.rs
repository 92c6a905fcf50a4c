//! Hostile input: huge and deeply nested filters give errors, never a stack overflow; the deepest
//! tree the limits allow parses, prints, validates, evaluates, compiles and drops on a thread
//! with the default 2 MiB stack (debug build).

use mfa_devices::filter::schema::DEVICES;
use mfa_devices::filter::{Filter, FilterErrorKind, ParseOptions};
use serde_json::{Value, json};

const STACK: usize = 2 * 1024 * 1024;

fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// `depth` nested groups: one value path `x[` outermost (value paths cannot nest, RFC 7644
/// errata 4690), then alternating `(` and `not (`.
fn nested(depth: usize) -> String {
    let (mut open, mut close) = (String::new(), String::new());
    for i in 0..depth {
        match i % 2 {
            _ if i == 0 => {
                open.push_str("x[");
                close.insert(0, ']');
            }
            0 => {
                open.push('(');
                close.insert(0, ')');
            }
            _ => {
                open.push_str("not (");
                close.insert(0, ')');
            }
        }
    }
    format!(r#"{open}a eq "v" or b pr and c lt 3{close}"#)
}

#[test]
fn hundred_thousand_open_parens_is_too_deep() {
    on_small_stack(|| {
        let big = ParseOptions::new().max_length(1 << 20);
        // The offset is that of the 65th opening `(` / `[`.
        for (input, offset) in [
            ("(".repeat(100_000), 64),
            ("not (".repeat(100_000), 64 * 5 + 4),
            (format!("a[{}", "(".repeat(100_000)), 64 + 1),
        ] {
            let e = Filter::parse_with(&input, &big).unwrap_err();
            assert_eq!(
                e.kind(),
                &FilterErrorKind::TooDeep { max: 64 },
                "{}",
                &input[..10]
            );
            assert_eq!(e.offset(), offset);
            assert!(e.to_string().contains("deeper than the maximum of 64"));
            // With the default length cap, the input is refused before parsing.
            let e = Filter::parse(&input).unwrap_err();
            assert_eq!(e.kind(), &FilterErrorKind::TooLong { max: 8192 });
        }
        // Value paths cannot nest at all: the second `[` is refused before any depth is reached.
        let e = Filter::parse_with(&"a[".repeat(100_000), &big).unwrap_err();
        assert_eq!((e.kind().name(), e.offset()), ("InvalidValuePath", 3));
    });
}

#[test]
fn the_ceiling_caps_what_callers_can_ask_for() {
    on_small_stack(|| {
        let opts = ParseOptions::new()
            .max_depth(usize::MAX)
            .max_length(1 << 20);
        assert_eq!(opts.depth(), ParseOptions::DEPTH_CEILING);
        let e = Filter::parse_with(&"(".repeat(100_000), &opts).unwrap_err();
        assert_eq!(
            e.kind(),
            &FilterErrorKind::TooDeep {
                max: ParseOptions::DEPTH_CEILING
            }
        );
    });
}

fn exercise_deepest(depth: usize, opts: ParseOptions) {
    let input = nested(depth);
    let f = Filter::parse_with(&input, &opts).unwrap();
    let printed = f.to_string();
    assert_eq!(Filter::parse_with(&printed, &opts).unwrap(), f);
    assert!(f.to_scim_with(&opts).is_ok());
    // The default SCIM reader refuses a tree deeper than its 64 levels, so to_scim does too.
    assert_eq!(
        f.to_scim().is_ok(),
        depth <= ParseOptions::DEFAULT_MAX_DEPTH,
        "{depth}"
    );
    let _ = f.validate(&DEVICES);
    let v = json!({"x": [{"x": {"a": "v"}}], "a": "v"});
    assert_eq!(f.matches(&v), f.compile::<Value>().matches(&v));
    let cloned = f.clone();
    drop(f);
    drop(cloned.into_expr());
    // One more level is refused.
    let e = Filter::parse_with(&nested(depth + 1), &opts).unwrap_err();
    assert!(matches!(e.kind(), FilterErrorKind::TooDeep { .. }));
}

#[test]
fn deepest_default_tree_round_trips_evaluates_and_drops_on_a_2mib_stack() {
    on_small_stack(|| exercise_deepest(ParseOptions::DEFAULT_MAX_DEPTH, ParseOptions::new()));
}

#[test]
fn deepest_ceiling_tree_round_trips_evaluates_and_drops_on_a_2mib_stack() {
    on_small_stack(|| {
        exercise_deepest(
            ParseOptions::DEPTH_CEILING,
            ParseOptions::new().max_depth(ParseOptions::DEPTH_CEILING),
        )
    });
}

#[test]
fn long_flat_chains_and_huge_tokens_are_fine() {
    on_small_stack(|| {
        let opts = ParseOptions::new().max_length(1 << 20);
        let chain = vec![r#"a eq "x""#; 20_000].join(" and ");
        let f = Filter::parse_with(&chain, &opts).unwrap();
        assert!(matches!(f.expr(), mfa_devices::filter::ast::Expr::And(xs) if xs.len() == 20_000));
        assert!(f.matches(&json!({"a": "X"})));
        let digits = format!("a eq {}", "9".repeat(400));
        assert_eq!(
            Filter::parse_with(&digits, &opts).unwrap_err().kind(),
            &FilterErrorKind::InvalidNumber
        );
        let long_name = format!("{} pr", "a".repeat(100_000));
        assert!(Filter::parse_with(&long_name, &opts).is_ok());
        let long_string = format!(r#"a eq "{}""#, "\\u00e9".repeat(50_000));
        assert!(Filter::parse_with(&long_string, &opts).is_ok());
        let unterminated = format!(r#"a eq "{}"#, "x".repeat(100_000));
        assert_eq!(
            Filter::parse_with(&unterminated, &opts).unwrap_err().kind(),
            &FilterErrorKind::UnterminatedString
        );
        // Exactly at the cap is allowed; one byte over is not.
        let at_cap = format!("{} pr", "a".repeat(8189));
        assert_eq!(at_cap.len(), 8192);
        assert!(Filter::parse(&at_cap).is_ok());
        let e = Filter::parse(&format!("{at_cap} ")).unwrap_err();
        assert_eq!(
            (e.kind(), e.offset()),
            (&FilterErrorKind::TooLong { max: 8192 }, 8192)
        );
    });
}
