//! [`SqlMapping`]: where a filter's attributes live in a table.

use super::super::ast::AttrPath;

/// The SQL type of a column in a typed mapping ([`SqlMapping::column`]).
///
/// ```
/// use mfa_devices::filter::sql::{SqlMapping, SqlType};
/// let m = SqlMapping::columns().column("loginCount", "login_count", SqlType::Integer);
/// assert_eq!(m.column_names(), ["login_count"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// `text`: compared ignoring case unless declared [`case_exact`](SqlMapping::case_exact).
    Text,
    /// `bigint` / `INTEGER`: compared by value with number literals.
    Integer,
    /// `boolean` / `INTEGER` 0–1: `eq`/`ne` with `true`/`false`.
    Boolean,
    /// `timestamptz` on PostgreSQL; RFC 3339 text (`2024-03-13T16:27:40.614Z`, millisecond
    /// precision, any offset) on SQLite: compared as an instant with RFC 3339 literals.
    Timestamp,
}

/// A declared attribute path, names as written (matched ignoring ASCII case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclPath {
    urn: Option<String>,
    segments: Vec<String>,
}

impl DeclPath {
    /// `"meta.created"`, `"urn:…:User:employeeNumber"` (the URN ends at the last `:`).
    fn parse(path: &str) -> Self {
        let (urn, rest) = match path.rsplit_once(':') {
            Some((urn, rest)) => (Some(urn.to_owned()), rest),
            None => (None, path),
        };
        Self {
            urn,
            segments: rest.split('.').map(str::to_owned).collect(),
        }
    }

    /// The path as written.
    pub(crate) fn text(&self) -> String {
        let names = self.segments.join(".");
        match &self.urn {
            Some(u) => format!("{u}:{names}"),
            None => names,
        }
    }

    /// Whether this is `urn` + `segments` (ASCII case ignored).
    pub(crate) fn is<S: AsRef<str>>(&self, urn: Option<&str>, segments: &[S]) -> bool {
        let urn_eq = match (&self.urn, urn) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        urn_eq
            && self.segments.len() == segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(a, b)| a.eq_ignore_ascii_case(b.as_ref()))
    }
}

/// One typed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) path: DeclPath,
    pub(crate) name: String,
    pub(crate) ty: SqlType,
}

impl Column {
    pub(crate) fn path_text(&self) -> String {
        self.path.text()
    }
}

/// Where each attribute of a filter lives in a table: a JSON document column, typed columns, or
/// typed columns with a JSON document for everything else.
///
/// Column names are emitted double-quoted (`"doc"`), exactly as given; nothing from a filter is
/// ever emitted as an identifier. Attribute names in a filter may use any ASCII case.
///
/// ```
/// use mfa_devices::filter::Filter;
/// use mfa_devices::filter::sql::{Dialect, SqlMapping, SqlParam, SqlType};
///
/// // The whole resource in one JSON column; `meta.created` holds RFC 3339 date-times.
/// let doc = SqlMapping::json_document("doc").datetime("meta.created").case_exact("id");
/// let w = Filter::parse(r#"userName sw "Babs""#)?.to_sql(&doc, Dialect::Sqlite)?;
/// assert!(w.sql.contains(r#""doc""#) && !w.sql.to_lowercase().contains("babs"));
/// assert_eq!(w.params[1], SqlParam::Text("babs%".into())); // folded, a LIKE prefix
///
/// // Typed columns; anything else is refused.
/// let typed = SqlMapping::columns()
///     .column("userName", "user_name", SqlType::Text)
///     .column("meta.created", "created_at", SqlType::Timestamp);
/// let w = Filter::parse(r#"USERNAME eq "Bjensen""#)?.to_sql(&typed, Dialect::Postgres)?;
/// assert_eq!(w.params, [SqlParam::Text("bjensen".into())]);
/// let e = Filter::parse(r#"title pr"#)?.to_sql(&typed, Dialect::Postgres).unwrap_err();
/// assert_eq!(e.to_api_error().details[0].code.as_str(), "INVALID_FILTER");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What the data must look like
/// The SQL gives the evaluator's answer ([`Filter::matches`](super::super::Filter::matches) on the
/// stored JSON) for data that keeps these rules:
/// - documents are valid JSON objects without `\u0000` in strings, and no object holds two names
///   equal ignoring ASCII case (SCIM names are case-insensitive; `jsonb` keeps no key order to
///   pick the first of two);
/// - a typed column holds the value its attribute has in the document (SQL `NULL` when absent or
///   `null`), single-valued;
/// - attributes declared [`datetime`](Self::datetime) hold RFC 3339 strings
///   (`YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)`) of at most microsecond (PostgreSQL) or millisecond
///   (SQLite) precision, the same for [`SqlType::Timestamp`] columns;
/// - numbers beyond ±2⁵³ compare exactly in SQL but through `f64` in the evaluator when the
///   other side is a decimal;
/// - on SQLite, `lower()` is the built-in ASCII one (no ICU extension loaded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SqlMapping {
    pub(crate) columns: Vec<Column>,
    pub(crate) document: Option<String>,
    pub(crate) datetimes: Vec<DeclPath>,
    pub(crate) case_exact: Vec<DeclPath>,
}

impl SqlMapping {
    /// The whole resource is one JSON document in `column` (PostgreSQL `jsonb`, SQLite JSON
    /// text); every attribute path resolves into it, names matched ignoring ASCII case.
    ///
    /// ```
    /// use mfa_devices::filter::sql::SqlMapping;
    /// assert_eq!(SqlMapping::json_document("doc").column_names(), ["doc"]);
    /// ```
    pub fn json_document(column: impl Into<String>) -> Self {
        Self {
            document: Some(column.into()),
            ..Self::default()
        }
    }

    /// A typed-columns mapping with no columns yet: add them with [`column`](Self::column), and
    /// optionally a [`document`](Self::document) for the attributes that have none. Without a
    /// document, an attribute that has no column is an `INVALID_FILTER` error.
    pub fn columns() -> Self {
        Self::default()
    }

    /// Maps the attribute `path` (`"status"`, `"action.type"`) to `column` of type `ty`.
    #[must_use]
    pub fn column(mut self, path: &str, column: impl Into<String>, ty: SqlType) -> Self {
        self.columns.push(Column {
            path: DeclPath::parse(path),
            name: column.into(),
            ty,
        });
        self
    }

    /// The JSON document column that holds every attribute without a column of its own.
    ///
    /// ```
    /// use mfa_devices::filter::sql::{SqlMapping, SqlType};
    /// let m = SqlMapping::columns().column("id", "id", SqlType::Text).document("doc");
    /// assert_eq!(m.column_names(), ["id", "doc"]);
    /// ```
    #[must_use]
    pub fn document(mut self, column: impl Into<String>) -> Self {
        self.document = Some(column.into());
        self
    }

    /// Declares that the JSON attribute at `path` holds RFC 3339 date-times, so comparisons
    /// with a date-time literal compare instants in SQL. Without it such comparisons on a JSON
    /// attribute are refused (whether a stored string is a date-time decides the evaluator's
    /// rule, and SQL cannot parse RFC 3339 exactly as the evaluator does).
    #[must_use]
    pub fn datetime(mut self, path: &str) -> Self {
        self.datetimes.push(DeclPath::parse(path));
        self
    }

    /// Declares the string attribute at `path` (a JSON attribute or a [`SqlType::Text`] column)
    /// `caseExact`: compared exactly, as the evaluator does for a schema attribute marked so
    /// ([`CompileOptions::schema`](super::super::CompileOptions::schema)).
    #[must_use]
    pub fn case_exact(mut self, path: &str) -> Self {
        self.case_exact.push(DeclPath::parse(path));
        self
    }

    /// The column names this mapping may emit, typed columns first, then the document.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(|c| c.name.as_str())
            .chain(self.document.as_deref())
            .collect()
    }

    /// The reference server's devices read model, table `devices`: `id`, `environment.id`,
    /// `user.id`, `type`, `status`, `nickname` as text columns (`id`, `environment_id`,
    /// `user_id`, `type`, `status`, `nickname`), `createdAt`/`updatedAt` as timestamps
    /// (`created_at`, `updated_at`), everything else in the device's JSON body `doc`
    /// (`lock.expiresAt` and `block.blockedAt` declared date-times).
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, sql::{Dialect, SqlMapping}};
    /// let w = Filter::parse(r#"type eq "SMS" and lock.status eq "LOCKED""#)?
    ///     .to_sql(&SqlMapping::devices(), Dialect::Postgres)?;
    /// assert!(w.sql.contains(r#""type""#) && w.sql.contains(r#""doc""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn devices() -> Self {
        Self::columns()
            .column("id", "id", SqlType::Text)
            .column("environment.id", "environment_id", SqlType::Text)
            .column("user.id", "user_id", SqlType::Text)
            .column("type", "type", SqlType::Text)
            .column("status", "status", SqlType::Text)
            .column("nickname", "nickname", SqlType::Text)
            .column("createdAt", "created_at", SqlType::Timestamp)
            .column("updatedAt", "updated_at", SqlType::Timestamp)
            .document("doc")
            .datetime("lock.expiresAt")
            .datetime("block.blockedAt")
    }

    /// The reference server's audit activities table `activities` (PingOne's activity JSON in
    /// `doc`): `id`, `recordedAt` → `recorded_at` and `createdAt` → `created_at` (timestamps),
    /// `action.type` → `action_type`, `result.status` → `result_status`, `correlationId` →
    /// `correlation_id`, `actors.user.id` → `user_id`; everything else (`resources`,
    /// `actors.client`, descriptions) in `doc`. `action.type` is declared `caseExact` (PingOne's
    /// action types are upper-case constants such as `DEVICE.CREATED`), so `action.type eq …`
    /// is a plain `=` that the index `(environment_id, action_type, recorded_at)` serves, as
    /// `(environment_id, recorded_at)` serves `recordedAt gt …`.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, sql::{Dialect, SqlMapping}};
    /// let w = Filter::parse(r#"recordedAt gt "2025-01-01T00:00:00Z""#)?
    ///     .to_sql(&SqlMapping::activities(), Dialect::Postgres)?;
    /// assert_eq!(w.sql, r#"("recorded_at" IS NOT NULL AND "recorded_at" > $1::timestamptz)"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn activities() -> Self {
        Self::columns()
            .column("id", "id", SqlType::Text)
            .column("recordedAt", "recorded_at", SqlType::Timestamp)
            .column("createdAt", "created_at", SqlType::Timestamp)
            .column("action.type", "action_type", SqlType::Text)
            .column("result.status", "result_status", SqlType::Text)
            .column("correlationId", "correlation_id", SqlType::Text)
            .column("actors.user.id", "user_id", SqlType::Text)
            .document("doc")
            .case_exact("action.type")
    }

    /// The typed column of `path`, if any (top-level paths only).
    pub(crate) fn column_of(&self, path: &AttrPath) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.path.is(path.urn.as_deref(), &path.segments))
    }

    pub(crate) fn is_datetime<S: AsRef<str>>(&self, urn: Option<&str>, segments: &[S]) -> bool {
        self.datetimes.iter().any(|d| d.is(urn, segments))
    }

    pub(crate) fn is_case_exact<S: AsRef<str>>(&self, urn: Option<&str>, segments: &[S]) -> bool {
        self.case_exact.iter().any(|d| d.is(urn, segments))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_paths_match_ignoring_ascii_case_with_urns() {
        let p = DeclPath::parse("urn:x:User:name.givenName");
        assert!(p.is(Some("URN:X:USER"), &["NAME", "givenname"]));
        assert!(!p.is(None, &["name", "givenName"]));
        assert!(!p.is(Some("urn:x:User"), &["name"]));
    }
}
