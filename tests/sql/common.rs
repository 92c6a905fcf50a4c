//! Generated datasets and filters, the evaluator as the oracle, and the comparison loop shared
//! by both dialects.

use std::collections::BTreeSet;

use mfa_devices::filter::schema::{AttrType, Schema, SchemaAttribute};
use mfa_devices::filter::sql::{Dialect, SqlErrorKind, SqlMapping, SqlParam, SqlWhere};
use mfa_devices::filter::{CompileOptions, Filter};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// `code` and `emails.value` are caseExact: in the evaluator through this schema, in SQL through
/// the mapping.
static EMAIL_SUBS: [SchemaAttribute; 1] = [SchemaAttribute {
    case_exact: true,
    ..SchemaAttribute::new("value", AttrType::String, &[])
}];
pub static SCHEMA: Schema = Schema {
    name: "generated",
    attributes: &[
        SchemaAttribute {
            case_exact: true,
            ..SchemaAttribute::new("code", AttrType::String, &[])
        },
        SchemaAttribute {
            multi_valued: true,
            sub_attributes: &EMAIL_SUBS,
            ..SchemaAttribute::new("emails", AttrType::Complex, &[])
        },
    ],
    logical_operators: &["and", "or", "not"],
};

pub fn mapping() -> SqlMapping {
    SqlMapping::json_document("doc")
        .datetime("t")
        .datetime("ts")
        .datetime("emails.at")
        .case_exact("code")
        .case_exact("emails.value")
}

/// The oracle: the compiled evaluator with the schema's caseExact attributes.
pub fn expected(filter: &Filter, docs: &[Value]) -> BTreeSet<String> {
    let compiled = filter.compile_with::<Value>(&CompileOptions::new().schema(&SCHEMA));
    docs.iter()
        .filter(|d| compiled.matches(d))
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect()
}

// ---- values ----

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", "a", "A", "abc", "ABC", "aBc", "a%c", "a_c", "a\\c", "it's", "\"q\"", "50%", "%",
            "_", "\\", "x y", "\u{212A}", "k", "K", "\u{130}x", "ix", "ß", "é", "É", "Straße",
            "STRASSE", "work", "Work", "home", "é%", "2024-03-13T16:27:40Z",
        ])
        .prop_map(str::to_owned),
        2 => "[aAbBkK%_\\\\'\"é\u{212A}\u{130} ]{0,5}",
    ]
}

fn ascii_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "", "a", "A", "abc", "ABC", "b", "a%", "%", "_", "a_c", "\\", "c", "it's", "\"q\"",
            "k", "K", "i", "I", "ix", "work", "WORK", "home", "x y", "2024",
        ])
        .prop_map(str::to_owned),
        1 => "[aAbBkKiI%_\\\\'\" ]{0,3}",
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..=3).prop_map(Value::from),
        prop::sample::select(vec![-1.5f64, 0.5, 1.0, 2.25, 2.5, 1e3, -0.0]).prop_map(Value::from),
        prop::sample::select(vec![i64::MAX, i64::MIN, 1000]).prop_map(Value::from),
    ]
}

/// RFC 3339 instants, the same instant spelled with different offsets, ms precision.
fn datetime() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "2024-03-13T16:27:40Z",
        "2024-03-13T16:27:40.000Z",
        "2024-03-13T18:27:40+02:00",
        "2024-03-13T11:27:40-05:00",
        "2024-03-13T16:27:40.614Z",
        "2024-03-13T16:27:40.613Z",
        "2024-03-13T16:27:41Z",
        "2025-01-01T00:00:00Z",
        "2024-12-31T23:59:59.999Z",
        "2023-06-01T12:00:00+05:30",
    ])
    .prop_map(str::to_owned)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => text().prop_map(Value::String),
        2 => number(),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
        1 => datetime().prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => scalar(),
        2 => prop::collection::vec(scalar(), 0..4).prop_map(Value::Array),
        1 => prop::collection::vec(prop::collection::vec(scalar(), 0..2).prop_map(Value::Array), 0..2)
            .prop_map(Value::Array),
        1 => prop::collection::vec(scalar(), 1..3).prop_map(|v| json!({"value": v[0], "x": v.get(1)})),
    ]
}

fn email() -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop_oneof![
            text().prop_map(Value::String),
            Just(Value::Null)
        ]),
        prop::option::of(value()),
        prop::option::of(any::<bool>()),
        prop::option::of(datetime()),
    )
        .prop_map(|(ty, val, primary, at)| {
            let mut m = Map::new();
            if let Some(t) = ty {
                m.insert("type".into(), t);
            }
            if let Some(v) = val {
                m.insert("value".into(), v);
            }
            if let Some(p) = primary {
                m.insert("primary".into(), Value::Bool(p));
            }
            if let Some(a) = at {
                m.insert("at".into(), Value::String(a));
            }
            Value::Object(m)
        })
}

/// One resource: each attribute absent or present (documents use canonical names; filters
/// spell them in any case).
fn doc() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::option::of(value()),
        prop::option::of(number()),
        prop::option::of(prop_oneof![any::<bool>().prop_map(Value::Bool), scalar()]),
        prop::option::of(
            prop_oneof![3 => datetime().prop_map(Value::String), 1 => Just(Value::Null)],
        ),
        prop::option::of(prop::collection::vec(
            datetime().prop_map(Value::String),
            0..3,
        )),
        prop::option::of(prop::collection::vec(scalar(), 0..4)),
        prop::option::of(prop_oneof![
            4 => prop::collection::vec(email(), 0..3).prop_map(Value::Array),
            1 => email(),
            1 => scalar(),
        ]),
        prop::option::of(
            (prop::option::of(value()), prop::option::of(text())).prop_map(|(g, f)| {
                let mut m = Map::new();
                if let Some(g) = g {
                    m.insert("givenName".into(), g);
                }
                if let Some(f) = f {
                    m.insert("familyName".into(), Value::String(f));
                }
                Value::Object(m)
            }),
        ),
        prop::option::of(text().prop_map(Value::String)),
    )
        .prop_map(|(s, n, b, t, ts, arr, emails, name, code)| {
            let mut m = Map::new();
            let fields = [
                ("s", s),
                ("n", n),
                ("b", b),
                ("t", t),
                ("ts", ts.map(Value::Array)),
                ("arr", arr.map(Value::Array)),
                ("emails", emails),
                ("name", name),
                ("code", code),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            m
        })
}

pub fn dataset(size: usize) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(doc(), size).prop_map(|docs| {
        docs.into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                m.insert("id".into(), Value::String(format!("r{i}")));
                Value::Object(m)
            })
            .collect()
    })
}

// ---- filters ----

const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => ascii_text().prop_map(|s| Value::String(s).to_string()),
        1 => text().prop_map(|s| Value::String(s).to_string()),
        2 => number().prop_map(|n| n.to_string()),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        2 => Just("null".to_owned()),
        2 => datetime().prop_map(|s| Value::String(s).to_string()),
    ]
}

fn path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "s",
        "S",
        "n",
        "b",
        "B",
        "t",
        "ts",
        "arr",
        "ARR",
        "emails",
        "emails.type",
        "EMAILS.Value",
        "emails.primary",
        "emails.at",
        "name",
        "name.givenName",
        "NAME.GIVENNAME",
        "name.familyName",
        "code",
        "missing",
        "id",
    ])
}

fn inner_path() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "type", "value", "VALUE", "primary", "at", "x", "missing",
    ])
}

fn compare(path: impl Strategy<Value = &'static str>) -> impl Strategy<Value = String> {
    (path, prop::sample::select(OPS), literal()).prop_map(|(p, op, v)| format!("{p} {op} {v}"))
}

fn leaf() -> impl Strategy<Value = String> {
    let inner = prop_oneof![
        4 => compare(inner_path()),
        1 => inner_path().prop_map(|p| format!("{p} pr")),
    ];
    let inner = inner.prop_recursive(2, 4, 2, |x| {
        prop_oneof![
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            x.prop_map(|a| format!("not ({a})")),
        ]
    });
    prop_oneof![
        6 => compare(path()),
        2 => path().prop_map(|p| format!("{p} pr")),
        3 => (prop::sample::select(vec!["emails", "arr", "s", "name", "ts"]), inner)
            .prop_map(|(p, i)| format!("{p}[{i}]")),
    ]
}

pub fn filter() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 8, 3, |x| {
        prop_oneof![
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (x.clone(), x.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            (x.clone(), x.clone(), x.clone()).prop_map(|(a, b, c)| format!("{a} or {b} and {c}")),
            x.prop_map(|a| format!("not ({a})")),
        ]
    })
}

// ---- the comparison loop ----

/// What one batch did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub compared: usize,
    pub refused: usize,
    /// Comparisons where the evaluator matched some but not all resources.
    pub discriminating: usize,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.compared += other.compared;
        self.refused += other.refused;
        self.discriminating += other.discriminating;
    }

    pub fn report(&self, dialect: &str) -> String {
        format!(
            "{dialect}: {} filter x dataset comparisons equal to the evaluator ({} where it matched some but not all resources), {} filters refused",
            self.compared, self.discriminating, self.refused
        )
    }
}

/// Translates each filter, runs it with `query` and compares the ids with the evaluator's.
/// `query` returns the ids or the database's error text.
pub fn compare_batch(
    dialect: Dialect,
    docs: &[Value],
    filters: &[String],
    query: &mut dyn FnMut(&SqlWhere) -> Result<BTreeSet<String>, String>,
) -> Result<Tally, TestCaseError> {
    let mapping = mapping();
    let mut tally = Tally::default();
    for text in filters {
        let filter = match Filter::parse(text) {
            Ok(f) => f,
            Err(e) => return Err(TestCaseError::fail(format!("{text}: {e}"))),
        };
        let w = match filter.to_sql(&mapping, dialect) {
            Ok(w) => w,
            Err(e) if e.kind() == SqlErrorKind::Unsupported => {
                tally.refused += 1;
                continue;
            }
            Err(e) => return Err(TestCaseError::fail(format!("{text}: {e}"))),
        };
        let got = query(&w).map_err(|e| {
            TestCaseError::fail(format!("{text}\n{}\n{:?}\n=> {e}", w.sql, w.params))
        })?;
        let want = expected(&filter, docs);
        if got != want {
            let differing: Vec<&Value> = docs
                .iter()
                .filter(|d| {
                    let id = d["id"].as_str().unwrap_or_default();
                    got.contains(id) != want.contains(id)
                })
                .collect();
            return Err(TestCaseError::fail(format!(
                "{dialect:?} {text}\nsql: {}\nparams: {:?}\nsql ids {got:?}\nevaluator ids {want:?}\ndiffering docs: {}",
                w.sql,
                w.params,
                serde_json::to_string(&differing).unwrap_or_default()
            )));
        }
        tally.compared += 1;
        if !want.is_empty() && want.len() < docs.len() {
            tally.discriminating += 1;
        }
    }
    Ok(tally)
}

/// The differential test of one dialect: `CASES` generated datasets of 16 resources, each
/// loaded with `load` and queried with `FILTERS` generated filters through `query`; every
/// translated filter must select exactly the evaluator's ids, and at least 10,000 comparisons
/// must have run. Prints the tally.
pub fn differential(
    dialect: Dialect,
    load: &mut dyn FnMut(&[Value]),
    query: &mut dyn FnMut(&SqlWhere) -> Result<BTreeSet<String>, String>,
) {
    const FILTERS: usize = 140;
    const CASES: u32 = 100;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        // XorShift: the default ChaCha costs a quarter of this test in a debug build.
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    });
    // `run` takes an `Fn`; the database handles are used one case at a time.
    let state = std::cell::RefCell::new((load, query, Tally::default()));
    let strategy = (dataset(16), prop::collection::vec(filter(), FILTERS));
    let result = runner.run(&strategy, |(docs, filters)| {
        let (load, query, total) = &mut *state.borrow_mut();
        load(&docs);
        total.add(compare_batch(dialect, &docs, &filters, *query)?);
        Ok(())
    });
    let total = state.into_inner().2;
    let name = format!("{dialect:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    println!("{}", total.report(&name));
    assert!(total.compared >= 10_000, "{}", total.report(&name));
}

/// The parameters as SQLite values.
pub fn sqlite_params(params: &[SqlParam]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    params
        .iter()
        .map(|p| match p {
            SqlParam::Null => V::Null,
            SqlParam::Bool(b) => V::Integer(i64::from(*b)),
            SqlParam::Int(i) => V::Integer(*i),
            SqlParam::Float(f) => V::Real(*f),
            other => V::Text(other.sqlite_text().unwrap_or_default()),
        })
        .collect()
}
