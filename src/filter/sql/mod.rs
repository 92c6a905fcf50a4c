//! SCIM filters pushed down to SQL: [`Filter::to_sql`] turns a filter into one boolean SQL
//! expression for PostgreSQL or SQLite that selects exactly the rows
//! [`Filter::matches`](super::Filter::matches) would — or refuses with a clear error.
//!
//! ```
//! use mfa_devices::filter::Filter;
//! use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam, SqlWhere};
//!
//! let mapping = SqlMapping::json_document("doc"); // the whole resource in one JSON column
//! let filter: Filter = r#"emails[type eq "work" and value co "%"]"#.parse()?;
//! let w: SqlWhere = filter.to_sql(&mapping, Dialect::Postgres)?;
//! // Only the mapping's column names, fixed SQL and placeholders: the values are parameters.
//! assert!(w.sql.starts_with("EXISTS (SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof(\"doc\")"));
//! assert!(w.params.contains(&SqlParam::Text(r"%\%%".into()))); // `%` escaped in the pattern
//! let sql = format!("SELECT id FROM users WHERE {}", w.sql);
//! # let _ = sql;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Semantics
//! The evaluator's, rule for rule (see [`Filter::matches`](super::Filter::matches)): attribute
//! names ignore ASCII case; strings compare ignoring case unless declared
//! [`case_exact`](SqlMapping::case_exact); `ne` holds when no value equals (and on absent);
//! `eq null` holds for JSON `null`, absent and `[]`; `pr` is false for those and `""`; numbers
//! compare by value; date-times as instants; values of different JSON types never match;
//! multi-valued attributes match when any value does (one correlated `EXISTS` per comparison,
//! `ne` and `not` as `NOT EXISTS`); `a[x and y]` needs one element satisfying the whole bracket.
//! The expression is never SQL `NULL`, so `NOT` never hides a row.
//!
//! Where SQL cannot give the evaluator's answer, [`to_sql`](super::Filter::to_sql) refuses
//! ([`SqlErrorKind::Unsupported`]) instead of answering differently:
//! - ignoring case with a non-ASCII literal (the evaluator lowercases by Unicode; PostgreSQL's
//!   `lower()` depends on the collation and SQLite's folds ASCII only). With an ASCII literal the
//!   translation is exact: ASCII folding plus the two characters whose Unicode lowercase has
//!   ASCII in it (`K` KELVIN SIGN → `k`, `İ` → `i̇`);
//! - a date-time literal against a JSON attribute not declared [`datetime`](SqlMapping::datetime)
//!   (the evaluator compares instants only when the stored string parses as RFC 3339), or finer
//!   than the database's timestamps (µs on PostgreSQL, ms on SQLite);
//! - text operators on a timestamp column, date-times against a text column;
//! - integer literals beyond 64 bits.
//!
//! # Safety
//! No text from the filter ever appears in `sql`: values, attribute names and LIKE patterns
//! (with `\`, `%`, `_` escaped, `ESCAPE '\'`) are [`SqlParam`]s; identifiers come only from the
//! [`SqlMapping`] (double-quoted) and from the translator's own aliases (`k1`, `w2`, `f3`). An
//! attribute the mapping does not know is an `INVALID_FILTER` error, never a dropped clause.
//! Placeholders are `$1::type`… on PostgreSQL and `?1`… on SQLite, one per value, no cap below
//! the databases' own (65,535 on PostgreSQL, 32,766 on SQLite); depth is bounded by the parser.

mod mapping;
mod params;
mod translate;

use std::fmt;

pub use mapping::{SqlMapping, SqlType};
pub use params::SqlParam;

use super::Filter;
use crate::error::{ApiError, DetailCode, ErrorDetail};

/// The SQL dialect to write.
///
/// ```
/// use mfa_devices::filter::sql::Dialect;
/// assert_eq!(Dialect::Postgres.name(), "PostgreSQL");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL 12 or later: `jsonb` documents, `$n::type` placeholders.
    Postgres,
    /// SQLite 3.38 or later (JSON functions and `->`): JSON text documents, `?n` placeholders.
    Sqlite,
}

impl Dialect {
    /// The database's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }
}

/// A translated filter: a boolean SQL expression and its bound values in placeholder order.
///
/// ```
/// use mfa_devices::filter::Filter;
/// use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam};
/// let w = Filter::parse("active eq true")?.to_sql(&SqlMapping::json_document("doc"), Dialect::Sqlite)?;
/// assert_eq!(w.params, [SqlParam::Text("active".into()), SqlParam::Bool(true)]);
/// assert!(w.sql.contains("?1") && w.sql.contains("?2"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SqlWhere {
    /// The expression (`TRUE` or `FALSE` for every row, never `NULL`), to put after `WHERE`.
    pub sql: String,
    /// The values of its placeholders, in order.
    pub params: Vec<SqlParam>,
}

impl fmt::Display for SqlWhere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

/// Why a filter was not translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlErrorKind {
    /// The mapping has no column for the attribute and no JSON document.
    UnknownAttribute,
    /// SQL cannot give the evaluator's answer for this comparison in this dialect.
    Unsupported,
    /// The mapping itself cannot be used (a document column named like a `json_each` column).
    InvalidMapping,
}

/// Why [`Filter::to_sql`] refused; [`to_api_error`](SqlError::to_api_error) gives the
/// `400 INVALID_DATA` / `INVALID_FILTER` body for a client.
///
/// ```
/// use mfa_devices::filter::Filter;
/// use mfa_devices::filter::sql::{Dialect, SqlErrorKind, SqlMapping, SqlType};
/// let m = SqlMapping::columns().column("status", "status", SqlType::Text);
/// let e = Filter::parse(r#"not (secret eq "x")"#)?.to_sql(&m, Dialect::Sqlite).unwrap_err();
/// assert_eq!(e.kind(), SqlErrorKind::UnknownAttribute);
/// assert_eq!(e.to_string(), "unknown attribute `secret`; filterable: status");
/// assert_eq!(e.to_api_error().http_status(), 400);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    kind: SqlErrorKind,
    message: String,
}

impl SqlError {
    fn unknown_attribute(path: &str, mapping: &SqlMapping) -> Self {
        let known: Vec<String> = mapping.columns.iter().map(|c| c.path_text()).collect();
        Self {
            kind: SqlErrorKind::UnknownAttribute,
            message: format!(
                "unknown attribute `{path}`; filterable: {}",
                known.join(", ")
            ),
        }
    }

    fn unsupported(message: String) -> Self {
        Self {
            kind: SqlErrorKind::Unsupported,
            message,
        }
    }

    /// What kind of refusal.
    pub fn kind(&self) -> SqlErrorKind {
        self.kind
    }

    /// The explanation (which attribute, what was asked, what would work).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// PingOne's `400 INVALID_DATA` body with one `INVALID_FILTER` detail (target `filter`).
    pub fn to_api_error(&self) -> ApiError {
        ApiError::invalid_data(
            "The request could not be completed. One or more validation errors were in the request.",
            vec![ErrorDetail::new(
                DetailCode::InvalidFilter,
                "filter",
                self.message.clone(),
            )],
        )
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

impl From<SqlError> for ApiError {
    fn from(e: SqlError) -> Self {
        e.to_api_error()
    }
}

/// Names a document column must not have: they are columns of `json_each` and the aliases, and
/// would be captured inside the translator's subqueries.
const RESERVED: &[&str] = &[
    "key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root", "v",
];

impl Filter {
    /// Translates this filter into a SQL boolean expression over a table laid out as `mapping`
    /// says, for `dialect`. See [the module docs](self) for the rules and what is refused.
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam};
    /// let w = Filter::parse(r#"status eq "active""#)?.to_sql(&SqlMapping::devices(), Dialect::Sqlite)?;
    /// assert_eq!(w.sql, r#"("status" IS NOT NULL AND lower(replace(replace("status", char(8490), char(107)), char(304), char(105, 775))) = ?1)"#);
    /// assert_eq!(w.params, [SqlParam::Text("active".into())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_sql(&self, mapping: &SqlMapping, dialect: Dialect) -> Result<SqlWhere, SqlError> {
        if let Some(doc) = &mapping.document {
            if RESERVED.iter().any(|r| doc.eq_ignore_ascii_case(r)) {
                return Err(SqlError {
                    kind: SqlErrorKind::InvalidMapping,
                    message: format!(
                        "the document column may not be named `{doc}` (reserved: {})",
                        RESERVED.join(", ")
                    ),
                });
            }
        }
        let mut cx = translate::Ctx::new(mapping, dialect);
        let sql = self.expr().fold(&mut translate::Tr::root(&mut cx))?;
        Ok(SqlWhere {
            sql,
            params: cx.params.into_values(),
        })
    }
}
