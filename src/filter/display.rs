//! Canonical SCIM text of filters: `parse(f.to_string()) == f` for every normalized SCIM tree.
//!
//! Printing rules: single spaces around keywords and operators, lowercase keywords and
//! operators, parentheses only where needed (an `or` inside an `and`) plus the ones `not`
//! requires, strings JSON-escaped, numbers as `serde_json` prints them.
//!
//! CREST-only nodes have no SCIM syntax; [`Display`](std::fmt::Display) still prints them (so it
//! is total) as CREST writes them — `true` / `false` for [`Expr::Literal`], the operator name for
//! [`CompareOp::Extended`], `a.b.c` for deeper paths — and that text does not parse as SCIM.
//! [`Filter::to_scim`](super::Filter::to_scim) refuses them instead.

use std::fmt::{self, Write as _};

use super::ast::{AttrPath, CompValue, CompareOp, Expr, is_attr_name, is_core_urn, is_urn_char};
use super::{FilterError, FilterErrorKind};

impl fmt::Display for Expr {
    /// The canonical SCIM text: single spaces, lowercase keywords, parentheses only where needed.
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// let f = Filter::parse(r#"A  EQ "x" AND (b PR OR c lt 3)"#).unwrap();
    /// assert_eq!(f.expr().to_string(), r#"A eq "x" and (b pr or c lt 3)"#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(b) => write!(f, "{b}"),
            Expr::Present(p) => write!(f, "{p} pr"),
            Expr::Compare(p, op, v) => write!(f, "{p} {op} {v}"),
            Expr::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
            Expr::Not(x) => write!(f, "not ({x})"),
            Expr::And(xs) => join(f, xs, " and ", true),
            Expr::Or(xs) => join(f, xs, " or ", false),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, xs: &[Expr], sep: &str, and: bool) -> fmt::Result {
    if xs.is_empty() {
        // Not normalized; the neutral element.
        return f.write_str(if and { "true" } else { "false" });
    }
    for (n, x) in xs.iter().enumerate() {
        if n > 0 {
            f.write_str(sep)?;
        }
        let nested = matches!(x, Expr::Or(_)) || (and && matches!(x, Expr::And(_)));
        let wrap = nested && xs.len() > 1;
        if wrap {
            write!(f, "({x})")?;
        } else {
            write!(f, "{x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for AttrPath {
    /// `urn:…:name.sub`.
    ///
    /// ```
    /// use mfa_devices::filter::ast::AttrPath;
    /// assert_eq!(AttrPath::new(["name", "givenName"]).to_string(), "name.givenName");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        for (n, s) in self.segments.iter().enumerate() {
            if n > 0 {
                f.write_char('.')?;
            }
            f.write_str(s)?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    /// The lowercase operator (`eq`), or a CREST extended operator's name as written.
    ///
    /// ```
    /// use mfa_devices::filter::ast::CompareOp;
    /// assert_eq!(CompareOp::Ge.to_string(), "ge");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
            CompareOp::Extended(name) => name,
        })
    }
}

impl fmt::Display for CompValue {
    /// JSON: `null`, `true`, `42`, `"a \"quoted\" text"`.
    ///
    /// ```
    /// use mfa_devices::filter::ast::CompValue;
    /// assert_eq!(CompValue::String("a\"b\n".into()).to_string(), r#""a\"b\n""#);
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        f.write_str(s.get(start..i).unwrap_or_default())?;
        if esc.is_empty() {
            write!(f, "\\u{:04x}", c as u32)?;
        } else {
            f.write_str(esc)?;
        }
        start = i + c.len_utf8();
    }
    f.write_str(s.get(start..).unwrap_or_default())?;
    f.write_char('"')
}

/// Checks that a tree has SCIM syntax (see [`Filter::to_scim`](super::Filter::to_scim)).
pub(crate) fn check_scim(e: &Expr) -> Result<(), FilterError> {
    let unsupported = |what: String| Err(FilterError::new(FilterErrorKind::Unsupported(what), 0));
    match e {
        Expr::Literal(b) => unsupported(format!("the literal filter '{b}'")),
        Expr::Present(p) => check_path(p),
        Expr::Compare(p, op, _) => {
            if let CompareOp::Extended(name) = op {
                return unsupported(format!("the extended operator '{name}'"));
            }
            check_path(p)
        }
        Expr::ValuePath(p, inner) => {
            check_path(p)?;
            if p.segments.len() > 1 {
                return unsupported(format!(
                    "the value path on the sub-attribute '{p}' (the SCIM parser refuses it)"
                ));
            }
            if has_value_path(inner) {
                return unsupported(format!(
                    "a value path nested inside the value path '{p}[…]' (RFC 7644 errata 4690)"
                ));
            }
            check_scim(inner)
        }
        Expr::Not(x) => check_scim(x),
        Expr::And(xs) | Expr::Or(xs) => {
            if xs.is_empty() {
                return unsupported("an empty 'and'/'or'".to_owned());
            }
            xs.iter().try_for_each(check_scim)
        }
    }
}

/// Whether a value path occurs anywhere in `e`.
fn has_value_path(e: &Expr) -> bool {
    match e {
        Expr::ValuePath(..) => true,
        Expr::Not(x) => has_value_path(x),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().any(has_value_path),
        Expr::Literal(_) | Expr::Present(_) | Expr::Compare(..) => false,
    }
}

fn check_path(p: &AttrPath) -> Result<(), FilterError> {
    let unsupported = |what: String| Err(FilterError::new(FilterErrorKind::Unsupported(what), 0));
    if p.segments.is_empty() || p.segments.len() > 2 {
        return unsupported(format!(
            "the attribute path '{p}' (SCIM allows a name and at most one sub-attribute)"
        ));
    }
    if let Some(bad) = p.segments.iter().find(|s| !is_attr_name(s)) {
        return unsupported(format!("the attribute name '{bad}'"));
    }
    if let Some(urn) = &p.urn {
        let ok = urn.len() > 4
            && urn.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("urn:"))
            && urn.bytes().all(is_urn_char)
            && !is_core_urn(urn);
        if !ok {
            return unsupported(format!("the schema URN '{urn}'"));
        }
    }
    Ok(())
}
