//! [`SqlParam`]: the bound values of a [`SqlWhere`](super::SqlWhere), and the placeholder list
//! the translator fills.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Dialect;

/// One bound value of a [`SqlWhere`](super::SqlWhere), in placeholder order.
///
/// Bind them with your client's native types: on PostgreSQL every placeholder carries a cast
/// (`$1::text`, `$2::int8`, `$3::float8`, `$4::boolean`, `$5::timestamptz`), so the types are
/// fixed by the statement; on SQLite bind `Text` as TEXT, `Int`/`Bool` as INTEGER, `Float` as
/// REAL and `Timestamp` as RFC 3339 text ([`SqlParam::sqlite_text`]).
///
/// ```
/// use mfa_devices::filter::sql::SqlParam;
/// assert_eq!(SqlParam::Text("a".into()).sqlite_text().as_deref(), Some("a"));
/// assert_eq!(SqlParam::Int(1).sqlite_text(), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SqlParam {
    /// SQL `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Float(f64),
    /// Text (attribute names, string literals, LIKE patterns).
    Text(String),
    /// An instant.
    Timestamp(DateTime<Utc>),
}

impl SqlParam {
    /// The text to bind on SQLite for `Text` and `Timestamp` (RFC 3339 in UTC with as many
    /// fraction digits as needed, which SQLite's date functions read); `None` for the others.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::filter::sql::SqlParam;
    /// let t = Utc.with_ymd_and_hms(2024, 3, 13, 16, 27, 40).unwrap();
    /// assert_eq!(SqlParam::Timestamp(t).sqlite_text().as_deref(), Some("2024-03-13T16:27:40Z"));
    /// ```
    pub fn sqlite_text(&self) -> Option<String> {
        match self {
            SqlParam::Text(s) => Some(s.clone()),
            SqlParam::Timestamp(t) => Some(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            _ => None,
        }
    }

    /// The PostgreSQL type of the placeholder's cast.
    pub(crate) fn pg_type(&self) -> &'static str {
        match self {
            SqlParam::Null | SqlParam::Text(_) => "text",
            SqlParam::Bool(_) => "boolean",
            SqlParam::Int(_) => "int8",
            SqlParam::Float(_) => "float8",
            SqlParam::Timestamp(_) => "timestamptz",
        }
    }
}

/// The placeholders of one statement, in order.
#[derive(Debug)]
pub(crate) struct Params {
    dialect: Dialect,
    values: Vec<SqlParam>,
}

impl Params {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            values: Vec::new(),
        }
    }

    /// Binds `value`; returns its placeholder (`$3::text` or `?3`), to be written as often as
    /// needed (it is `Copy` and written straight into the statement: no string of its own).
    pub(crate) fn bind(&mut self, value: SqlParam) -> Placeholder {
        let ty = value.pg_type();
        if self.values.is_empty() {
            self.values.reserve(4);
        }
        self.values.push(value);
        Placeholder {
            n: self.values.len(),
            ty,
            dialect: self.dialect,
        }
    }

    pub(crate) fn into_values(self) -> Vec<SqlParam> {
        self.values
    }
}

/// One placeholder: `$n::type` on PostgreSQL, `?n` on SQLite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placeholder {
    n: usize,
    ty: &'static str,
    dialect: Dialect,
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        match self.dialect {
            Dialect::Postgres => {
                f.write_char('$')?;
                write_usize(f, self.n)?;
                f.write_str("::")?;
                f.write_str(self.ty)
            }
            Dialect::Sqlite => {
                f.write_char('?')?;
                write_usize(f, self.n)
            }
        }
    }
}

/// `n` in decimal without the integer formatting machinery.
fn write_usize(f: &mut std::fmt::Formatter<'_>, n: usize) -> std::fmt::Result {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(b) = buf.get_mut(i) {
            *b = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    f.write_str(std::str::from_utf8(buf.get(i..).unwrap_or_default()).unwrap_or_default())
}

/// `s` as a LIKE pattern matching itself: `\`, `%` and `_` escaped with `\` (the statement says
/// `ESCAPE '\'`).
///
/// ```ignore
/// assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
/// ```
#[cfg(test)]
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    like_escape_into(s, &mut out);
    out
}

/// The escaping of `like_escape`, appended to `out`.
pub(crate) fn like_escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escape_escapes_the_three_metacharacters() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(like_escape("plain"), "plain");
    }

    #[test]
    fn placeholders_number_from_one_per_dialect() {
        let mut p = Params::new(Dialect::Postgres);
        assert_eq!(p.bind(SqlParam::Text("a".into())).to_string(), "$1::text");
        assert_eq!(p.bind(SqlParam::Int(2)).to_string(), "$2::int8");
        let mut s = Params::new(Dialect::Sqlite);
        assert_eq!(s.bind(SqlParam::Bool(true)).to_string(), "?1");
        assert_eq!(s.bind(SqlParam::Float(1.5)).to_string(), "?2");
        assert_eq!(s.into_values().len(), 2);
        // Multi-digit numbers, both dialects.
        let mut p = Params::new(Dialect::Postgres);
        let mut s = Params::new(Dialect::Sqlite);
        for _ in 1..1234 {
            p.bind(SqlParam::Null);
            s.bind(SqlParam::Null);
        }
        assert_eq!(p.bind(SqlParam::Int(0)).to_string(), "$1234::int8");
        assert_eq!(s.bind(SqlParam::Null).to_string(), "?1234");
        assert_eq!(s.into_values().len(), 1234);
    }
}
