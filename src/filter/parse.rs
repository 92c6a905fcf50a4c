//! The SCIM filter parser (RFC 7644 §3.4.2.2), built from nom 8 parsers with hand-written fast
//! paths for the hot tokens (names, operators, plain strings).
//!
//! ```text
//! FILTER    = orExp
//! orExp     = andExp *(ws1 "or" ws1 andExp)          ; "and" binds tighter than "or"
//! andExp    = term *(ws1 "and" ws1 term)
//! term      = "(" ws FILTER ws ")"
//!           / "not" ws "(" ws FILTER ws ")"
//!           / ATTRNAME ws "[" ws valFilter ws "]"     ; valuePath (no sub-attribute)
//!           / attrPath ws1 "pr"
//!           / attrPath ws1 compareOp ws1 compValue
//! attrPath  = [URN ":"] ATTRNAME ["." ATTRNAME]
//! ATTRNAME  = ["$"] ALPHA *(ALPHA / DIGIT / "-" / "_")
//! compValue = "false" / "null" / "true" / JSON number / JSON string
//! ws        = *(SP / HTAB / CR / LF)
//! valFilter = FILTER without a valuePath               ; RFC 7644 errata 4690
//! ```
//! Keywords, operators, `true`/`false`/`null`, attribute names and URNs are case-insensitive.

use nom::Err as NomErr;
use nom::IResult;
use nom::Parser;
use nom::character::complete::char as ch;
use nom::error::{ErrorKind, ParseError};
use serde_json::Number;

use super::ast::{AttrPath, CompValue, CompareOp, Expr, is_core_urn, is_urn_char};
use super::{FilterError, FilterErrorKind, ParseOptions};

/// The parser's error: a kind and how much input was left where it happened.
#[derive(Debug)]
pub(crate) struct PErr {
    kind: FilterErrorKind,
    rest: usize,
}

impl ParseError<&str> for PErr {
    fn from_error_kind(input: &str, _kind: ErrorKind) -> Self {
        PErr {
            kind: FilterErrorKind::Expected("valid filter syntax"),
            rest: input.len(),
        }
    }

    fn append(_input: &str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a str, T, PErr>;

const EXPECTED_TERM: &str = "an attribute path, '(' or 'not'";
const EXPECTED_END: &str = "'and', 'or' or end of input";
const EXPECTED_PAREN: &str = "'and', 'or' or ')'";
const EXPECTED_BRACKET: &str = "'and', 'or' or ']'";
const EXPECTED_OP: &str = "a compare operator";
const EXPECTED_VALUE: &str = "a comparison value (a string, number, true, false or null)";

fn fail<T>(at: &str, kind: FilterErrorKind) -> Res<'_, T> {
    Err(NomErr::Failure(PErr {
        kind,
        rest: at.len(),
    }))
}

fn expected<'a, T>(at: &'a str, what: &'static str) -> Res<'a, T> {
    fail(at, FilterErrorKind::Expected(what))
}

struct Cx {
    max_depth: usize,
    /// Set while parsing a value path's filter: a value path may not nest.
    in_value_path: std::cell::Cell<bool>,
}

const NESTED_VALUE_PATH: &str =
    "a value path cannot appear inside another value path's filter (RFC 7644 errata 4690)";
const SUB_ATTRIBUTE_VALUE_PATH: &str = "a value filter applies to a multi-valued attribute, \
     not to a sub-attribute; write attr[sub … ] or attr.sub op value";

/// Parses a whole filter.
pub(crate) fn parse(input: &str, opts: &ParseOptions) -> Result<Expr, FilterError> {
    if input.len() > opts.max_length {
        return Err(FilterError::new(
            FilterErrorKind::TooLong {
                max: opts.max_length,
            },
            opts.max_length,
        ));
    }
    let cx = Cx {
        max_depth: opts.max_depth,
        in_value_path: std::cell::Cell::new(false),
    };
    match (|i| top(i, &cx)).parse(input) {
        Ok((_, e)) => Ok(e),
        Err(NomErr::Error(e) | NomErr::Failure(e)) => {
            Err(FilterError::new(e.kind, input.len().saturating_sub(e.rest)))
        }
        Err(NomErr::Incomplete(_)) => Err(FilterError::new(
            FilterErrorKind::Expected(EXPECTED_TERM),
            input.len(),
        )),
    }
}

/// Skips spaces (a hand-written `multispace0`: this runs between every two tokens).
#[inline]
fn ws0(i: &str) -> &str {
    match i.as_bytes().first() {
        Some(&b) if is_ws(b) => i.trim_start_matches([' ', '\t', '\r', '\n']),
        _ => i,
    }
}

/// `word` (ASCII, lowercase) at the start of `i`, ignoring ASCII case: the rest after it.
#[inline]
fn word_ci<'a>(i: &'a str, word: &str) -> Option<&'a str> {
    let n = word.len();
    if i.as_bytes().get(..n)?.eq_ignore_ascii_case(word.as_bytes()) {
        i.get(n..)
    } else {
        None
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[inline]
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn top<'a>(i: &'a str, cx: &Cx) -> Res<'a, Expr> {
    let (i, e) = or_expr(ws0(i), cx, 0)?;
    let i = ws0(i);
    if !i.is_empty() {
        return expected(i, EXPECTED_END);
    }
    Ok((i, e))
}

/// `ws1 kw (ws1 | "(" | end)`: the rest after the keyword and its spaces.
#[inline]
fn keyword<'a>(i: &'a str, kw: &'static str) -> Option<&'a str> {
    let j = ws0(i);
    if j.len() == i.len() {
        return None;
    }
    let rest = word_ci(j, kw)?;
    match rest.as_bytes().first() {
        None | Some(b'(') => Some(rest),
        Some(&b) if is_ws(b) => Some(ws0(rest)),
        Some(_) => None,
    }
}

fn or_expr<'a>(i: &'a str, cx: &Cx, depth: usize) -> Res<'a, Expr> {
    let (i, first) = and_expr(i, cx, depth)?;
    let Some(mut next) = keyword(i, "or") else {
        return Ok((i, first));
    };
    let mut ops = Vec::with_capacity(4);
    push_flat(&mut ops, first, false);
    loop {
        let (i, e) = and_expr(next, cx, depth)?;
        push_flat(&mut ops, e, false);
        match keyword(i, "or") {
            Some(n) => next = n,
            None => return Ok((i, Expr::Or(ops))),
        }
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn and_expr<'a>(i: &'a str, cx: &Cx, depth: usize) -> Res<'a, Expr> {
    let (i, first) = term(i, cx, depth)?;
    let Some(mut next) = keyword(i, "and") else {
        return Ok((i, first));
    };
    let mut ops = Vec::with_capacity(4);
    push_flat(&mut ops, first, true);
    loop {
        let (i, e) = term(next, cx, depth)?;
        push_flat(&mut ops, e, true);
        match keyword(i, "and") {
            Some(n) => next = n,
            None => return Ok((i, Expr::And(ops))),
        }
    }
}

/// Appends an operand, splicing in the operands of a node of the same kind (normal form).
#[cfg_attr(not(debug_assertions), inline(always))]
fn push_flat(ops: &mut Vec<Expr>, e: Expr, and: bool) {
    match e {
        Expr::And(xs) if and => ops.extend(xs),
        Expr::Or(xs) if !and => ops.extend(xs),
        other => ops.push(other),
    }
}

fn deeper(at: &str, cx: &Cx, depth: usize) -> Result<usize, NomErr<PErr>> {
    let d = depth.saturating_add(1);
    if d > cx.max_depth {
        return Err(NomErr::Failure(PErr {
            kind: FilterErrorKind::TooDeep { max: cx.max_depth },
            rest: at.len(),
        }));
    }
    Ok(d)
}

/// `"(" ws FILTER ws ")"` with `i` at the `(`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn group<'a>(i: &'a str, cx: &Cx, depth: usize) -> Res<'a, Expr> {
    let d = deeper(i, cx, depth)?;
    let (i, _) = ch('(').parse(i)?;
    let (i, e) = or_expr(ws0(i), cx, d)?;
    let i = ws0(i);
    match ch::<_, PErr>(')').parse(i) {
        Ok((i, _)) => Ok((i, e)),
        Err(_) => expected(i, EXPECTED_PAREN),
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn term<'a>(i: &'a str, cx: &Cx, depth: usize) -> Res<'a, Expr> {
    match i.as_bytes().first() {
        Some(b'(') => group(i, cx, depth),
        Some(b'n' | b'N') => {
            if let Some(rest) = word_ci(i, "not") {
                let rest = ws0(rest);
                if rest.starts_with('(') {
                    let (rest, e) = group(rest, cx, depth)?;
                    return Ok((rest, Expr::Not(Box::new(e))));
                }
            }
            attr_expr(i, cx, depth)
        }
        _ => attr_expr(i, cx, depth),
    }
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn attr_expr<'a>(i: &'a str, cx: &Cx, depth: usize) -> Res<'a, Expr> {
    let (i, path) = attr_path(i)?;
    let j = ws0(i);
    if j.starts_with('[') {
        if cx.in_value_path.get() {
            return fail(j, FilterErrorKind::InvalidValuePath(NESTED_VALUE_PATH));
        }
        if path.segments.len() > 1 {
            return fail(
                j,
                FilterErrorKind::InvalidValuePath(SUB_ATTRIBUTE_VALUE_PATH),
            );
        }
        let d = deeper(j, cx, depth)?;
        let (k, _) = ch('[').parse(j)?;
        cx.in_value_path.set(true);
        let (k, inner) = or_expr(ws0(k), cx, d)?;
        cx.in_value_path.set(false);
        let k = ws0(k);
        return match ch::<_, PErr>(']').parse(k) {
            Ok((k, _)) => Ok((k, Expr::ValuePath(path, Box::new(inner)))),
            Err(_) => expected(k, EXPECTED_BRACKET),
        };
    }
    if j.len() == i.len() {
        return expected(j, EXPECTED_OP);
    }
    let (after, op) = compare_op(j)?;
    let Some(op) = op else {
        return Ok((after, Expr::Present(path)));
    };
    let k = ws0(after);
    if k.len() == after.len() {
        let what = if k.is_empty() {
            EXPECTED_VALUE
        } else {
            "a space after the operator"
        };
        return expected(k, what);
    }
    let (k, v) = comp_value(k)?;
    Ok((k, Expr::Compare(path, op, v)))
}

/// A two-letter operator; `None` is `pr`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn compare_op(i: &str) -> Res<'_, Option<CompareOp>> {
    let b = i.as_bytes();
    let (Some(&x), Some(&y)) = (b.first(), b.get(1)) else {
        return expected(i, EXPECTED_OP);
    };
    if b.get(2).is_some_and(|&c| is_name_char(c)) {
        return expected(i, EXPECTED_OP);
    }
    let op = match [x.to_ascii_lowercase(), y.to_ascii_lowercase()] {
        [b'e', b'q'] => CompareOp::Eq,
        [b'n', b'e'] => CompareOp::Ne,
        [b'c', b'o'] => CompareOp::Co,
        [b's', b'w'] => CompareOp::Sw,
        [b'e', b'w'] => CompareOp::Ew,
        [b'g', b't'] => CompareOp::Gt,
        [b'g', b'e'] => CompareOp::Ge,
        [b'l', b't'] => CompareOp::Lt,
        [b'l', b'e'] => CompareOp::Le,
        [b'p', b'r'] => return Ok((i.get(2..).unwrap_or_default(), None)),
        _ => return expected(i, EXPECTED_OP),
    };
    Ok((i.get(2..).unwrap_or_default(), Some(op)))
}

/// `ATTRNAME` (with the optional `$` that allows `$ref`).
#[cfg_attr(not(debug_assertions), inline(always))]
fn attr_name(i: &str) -> Option<(&str, &str)> {
    let b = i.as_bytes();
    let start = usize::from(b.first() == Some(&b'$'));
    if !b.get(start).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let len = b
        .get(start..)?
        .iter()
        .position(|&c| !is_name_char(c))
        .map_or(b.len(), |n| start + n);
    Some((i.get(len..)?, i.get(..len)?))
}

/// `ATTRNAME ["." ATTRNAME]`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn attr_names<'a>(i: &'a str, what: &'static str) -> Res<'a, Vec<String>> {
    let Some((rest, name)) = attr_name(i) else {
        return expected(i, what);
    };
    if let Some(sub) = rest.strip_prefix('.') {
        let Some((rest, sub_name)) = attr_name(sub) else {
            return expected(sub, "a sub-attribute name");
        };
        return Ok((rest, vec![name.to_owned(), sub_name.to_owned()]));
    }
    Ok((rest, vec![name.to_owned()]))
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn attr_path(i: &str) -> Res<'_, AttrPath> {
    let is_urn = i
        .as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:"));
    if !is_urn {
        let (rest, segments) = attr_names(i, EXPECTED_TERM)?;
        return Ok((
            rest,
            AttrPath {
                urn: None,
                segments,
            },
        ));
    }
    let end = i.bytes().position(|b| !is_urn_char(b)).unwrap_or(i.len());
    let run = i.get(..end).unwrap_or_default();
    let colon = run.rfind(':').unwrap_or(3);
    let (Some(urn), Some(names)) = (run.get(..colon), i.get(colon.saturating_add(1)..)) else {
        return expected(i, "a schema URN");
    };
    if colon <= 4 {
        return expected(i, "a schema URN followed by ':' and an attribute name");
    }
    let (rest, segments) = attr_names(names, "an attribute name after the schema URN")?;
    if rest.len() != i.len().saturating_sub(end) {
        return expected(rest, EXPECTED_OP);
    }
    let core = is_core_urn(urn);
    let urn = if core { None } else { Some(urn.to_owned()) };
    Ok((rest, AttrPath { urn, segments }))
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn comp_value(i: &str) -> Res<'_, CompValue> {
    match i.as_bytes().first() {
        Some(b'"') => {
            let (rest, s) = string(i)?;
            Ok((rest, CompValue::String(s)))
        }
        Some(b'-' | b'0'..=b'9') => number(i),
        Some(b't' | b'T' | b'f' | b'F' | b'n' | b'N') => {
            for (word, v) in [
                ("true", CompValue::Bool(true)),
                ("false", CompValue::Bool(false)),
                ("null", CompValue::Null),
            ] {
                if let Some(rest) = word_ci(i, word) {
                    if !rest.as_bytes().first().is_some_and(|&b| is_name_char(b)) {
                        return Ok((rest, v));
                    }
                }
            }
            expected(i, EXPECTED_VALUE)
        }
        _ => expected(i, EXPECTED_VALUE),
    }
}

/// A JSON number. Integers that fit `i64`/`u64` stay exact; others become `f64` (parsed with
/// the standard library's correctly rounded parser, so printing and reparsing is exact).
fn number(i: &str) -> Res<'_, CompValue> {
    let b = i.as_bytes();
    let digits = |from: usize| {
        b.get(from..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
    };
    let mut p = usize::from(b.first() == Some(&b'-'));
    let int_digits = digits(p);
    if int_digits == 0 || (int_digits > 1 && b.get(p) == Some(&b'0')) {
        return fail(i, FilterErrorKind::InvalidNumber);
    }
    p += int_digits;
    let mut float = false;
    if b.get(p) == Some(&b'.') {
        let n = digits(p + 1);
        if n == 0 {
            return fail(i, FilterErrorKind::InvalidNumber);
        }
        p += 1 + n;
        float = true;
    }
    if matches!(b.get(p), Some(b'e' | b'E')) {
        p += 1;
        if matches!(b.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        let n = digits(p);
        if n == 0 {
            return fail(i, FilterErrorKind::InvalidNumber);
        }
        p += n;
        float = true;
    }
    if b.get(p).is_some_and(|&c| is_name_char(c) || c == b'.') {
        return fail(i, FilterErrorKind::InvalidNumber);
    }
    let (Some(text), Some(rest)) = (i.get(..p), i.get(p..)) else {
        return fail(i, FilterErrorKind::InvalidNumber);
    };
    let n = if float {
        None
    } else if text.starts_with('-') {
        text.parse::<i64>().ok().map(Number::from)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    };
    let n = match n {
        Some(n) => n,
        None => match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => n,
            None => return fail(i, FilterErrorKind::InvalidNumber),
        },
    };
    Ok((rest, CompValue::Number(n)))
}

/// A JSON string starting at the `"` of `i`, escapes decoded.
#[inline]
fn string(i: &str) -> Res<'_, String> {
    let body = i.get(1..).unwrap_or_default();
    // Fast path: no escapes.
    match body.bytes().position(|b| b == b'"' || b == b'\\') {
        None => return fail(i, FilterErrorKind::UnterminatedString),
        Some(p) if body.as_bytes().get(p) == Some(&b'"') => {
            let (Some(s), Some(rest)) = (body.get(..p), body.get(p + 1..)) else {
                return fail(i, FilterErrorKind::UnterminatedString);
            };
            return Ok((rest, s.to_owned()));
        }
        Some(_) => {}
    }
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Ok((body.get(at + 1..).unwrap_or_default(), out)),
            '\\' => {
                let esc_at = body.get(at..).unwrap_or_default();
                let Some((_, e)) = chars.next() else {
                    return fail(i, FilterErrorKind::UnterminatedString);
                };
                match e {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let Some(hi) = hex4(&mut chars) else {
                            return fail(esc_at, FilterErrorKind::InvalidEscape);
                        };
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            let lo = match (chars.next(), chars.next()) {
                                (Some((_, '\\')), Some((_, 'u'))) => hex4(&mut chars),
                                _ => None,
                            };
                            match lo {
                                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                }
                                _ => return fail(esc_at, FilterErrorKind::InvalidEscape),
                            }
                        } else {
                            hi
                        };
                        match char::from_u32(code) {
                            Some(c) => out.push(c),
                            None => return fail(esc_at, FilterErrorKind::InvalidEscape),
                        }
                    }
                    _ => return fail(esc_at, FilterErrorKind::InvalidEscape),
                }
            }
            c => out.push(c),
        }
    }
    fail(i, FilterErrorKind::UnterminatedString)
}

fn hex4(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..4 {
        let (_, c) = chars.next()?;
        v = (v << 4) | c.to_digit(16)?;
    }
    Some(v)
}
