//! Rendering a [`Filter`] as CREST `_queryFilter` text (see
//! [`to_query_filter`](super::to_query_filter)).

use std::fmt::Write as _;

use serde_json::Number;

use super::parse::is_extended_operator;
use crate::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use crate::filter::{Filter, FilterError, FilterErrorKind, ParseOptions};

/// The deepest nesting rendered: the most any [`ParseOptions`] lets the parser accept.
const MAX_DEPTH: usize = ParseOptions::DEPTH_CEILING;

fn unsupported(what: impl Into<String>, out: &str) -> FilterError {
    FilterError::new(FilterErrorKind::Unsupported(what.into()), out.len())
}

pub(super) fn render(filter: &Filter) -> Result<String, FilterError> {
    let mut out = String::new();
    expr(filter.expr(), 0, &mut out)?;
    Ok(out)
}

/// Opens a parenthesis one level deeper than `depth`, refusing what the parser would refuse.
fn open(depth: usize, out: &mut String) -> Result<usize, FilterError> {
    if depth >= MAX_DEPTH {
        return Err(FilterError::new(
            FilterErrorKind::TooDeep { max: MAX_DEPTH },
            out.len(),
        ));
    }
    out.push('(');
    Ok(depth + 1)
}

fn expr(e: &Expr, depth: usize, out: &mut String) -> Result<(), FilterError> {
    match e {
        Expr::Literal(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Present(path) => {
            pointer(path, out)?;
            out.push_str(" pr");
        }
        Expr::Compare(path, op, value) => {
            pointer(path, out)?;
            out.push(' ');
            operator(op, out)?;
            out.push(' ');
            self::value(value, out)?;
        }
        Expr::ValuePath(..) => {
            return Err(unsupported(
                "a SCIM value path (attr[filter]: one element satisfying the whole bracket)",
                out,
            ));
        }
        // `! leaf` needs no parentheses (and so no depth): whatever the parser accepted, the
        // renderer can write back within the same depth.
        Expr::Not(inner)
            if matches!(
                **inner,
                Expr::Literal(_) | Expr::Present(_) | Expr::Compare(..)
            ) =>
        {
            out.push_str("! ");
            expr(inner, depth, out)?;
        }
        Expr::Not(inner) => {
            out.push('!');
            let d = open(depth, out)?;
            expr(inner, d, out)?;
            out.push(')');
        }
        Expr::And(ops) => list(ops, true, depth, out)?,
        Expr::Or(ops) => list(ops, false, depth, out)?,
    }
    Ok(())
}

fn list(ops: &[Expr], is_and: bool, depth: usize, out: &mut String) -> Result<(), FilterError> {
    if ops.is_empty() {
        let what = if is_and {
            "an `and` with no operands"
        } else {
            "an `or` with no operands"
        };
        return Err(unsupported(what, out));
    }
    for (i, op) in ops.iter().enumerate() {
        if i > 0 {
            out.push_str(if is_and { " and " } else { " or " });
        }
        // `and` binds tighter than `or`: an `or` inside an `and` needs parentheses; a nested node
        // of the same kind (not normalized) gets them too so the meaning is kept.
        let needs_parens = matches!(op, Expr::Or(_)) || (is_and && matches!(op, Expr::And(_)));
        if needs_parens {
            let d = open(depth, out)?;
            expr(op, d, out)?;
            out.push(')');
        } else {
            expr(op, depth, out)?;
        }
    }
    Ok(())
}

fn pointer(path: &AttrPath, out: &mut String) -> Result<(), FilterError> {
    if path.urn.is_some() {
        return Err(unsupported(
            "a SCIM schema URN prefix (CREST paths are plain JSON pointers)",
            out,
        ));
    }
    if path.segments.is_empty() {
        return Err(unsupported("an empty attribute path", out));
    }
    for seg in &path.segments {
        if seg.is_empty() {
            return Err(unsupported("an empty JSON pointer reference token", out));
        }
        if seg.contains([' ', '(', ')']) {
            return Err(unsupported(
                format!("the path segment {seg:?} (a space or parenthesis ends a CREST token)"),
                out,
            ));
        }
        out.push('/');
        for ch in seg.chars() {
            match ch {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    }
    Ok(())
}

fn operator(op: &CompareOp, out: &mut String) -> Result<(), FilterError> {
    let text = match op {
        CompareOp::Eq => "eq",
        CompareOp::Co => "co",
        CompareOp::Sw => "sw",
        CompareOp::Gt => "gt",
        CompareOp::Ge => "ge",
        CompareOp::Lt => "lt",
        CompareOp::Le => "le",
        CompareOp::Ne => {
            return Err(unsupported(
                "the `ne` operator (CREST has none; `!(path eq value)` is the explicit \
                 rewrite, see crest::to_query_filter)",
                out,
            ));
        }
        CompareOp::Ew => {
            return Err(unsupported(
                "the `ew` (ends with) operator (CREST has none)",
                out,
            ));
        }
        CompareOp::Extended(name) => {
            let core = ["eq", "co", "sw", "gt", "ge", "lt", "le", "pr"];
            if !is_extended_operator(name) || core.iter().any(|c| name.eq_ignore_ascii_case(c)) {
                return Err(unsupported(
                    format!(
                        "the extended operator {name:?} (not of [a-zA-Z_0-9.]+, or a core name)"
                    ),
                    out,
                ));
            }
            name.as_str()
        }
    };
    out.push_str(text);
    Ok(())
}

fn value(v: &CompValue, out: &mut String) -> Result<(), FilterError> {
    match v {
        CompValue::Null => {
            return Err(unsupported(
                "the value null (CREST has no null literal)",
                out,
            ));
        }
        CompValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        CompValue::Number(n) => number(n, out)?,
        CompValue::String(s) => {
            out.push('"');
            for ch in s.chars() {
                if ch == '"' || ch == '\\' {
                    out.push('\\');
                }
                out.push(ch);
            }
            out.push('"');
        }
    }
    Ok(())
}

/// Integers as digits (must fit `i64`); doubles always with a `.` so they read back as doubles.
fn number(n: &Number, out: &mut String) -> Result<(), FilterError> {
    if n.is_f64() {
        let start = out.len();
        let _ = write!(out, "{n}");
        let written = out.get(start..).unwrap_or_default();
        if !written.contains('.') {
            match written.find(['e', 'E']) {
                Some(e) => out.insert_str(start + e, ".0"),
                None => out.push_str(".0"),
            }
        }
        return Ok(());
    }
    match n.as_i64() {
        Some(i) => {
            let _ = write!(out, "{i}");
            Ok(())
        }
        None => Err(unsupported(
            format!("the integer {n} (outside CREST's signed 64-bit range)"),
            out,
        )),
    }
}
