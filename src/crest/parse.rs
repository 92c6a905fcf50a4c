//! The `_queryFilter` parser: a hand-written tokenizer and recursive-descent parser following
//! ForgeRock CREST's `QueryFilterParser` (see [`parse_query_filter`](super::parse_query_filter)).

use std::borrow::Cow;

use serde_json::Number;

use crate::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use crate::filter::{Filter, FilterError, FilterErrorKind, ParseOptions};

/// The deepest parenthesis nesting a `_queryFilter` may use by default: the SCIM parser's
/// [`ParseOptions::DEFAULT_MAX_DEPTH`] (64). [`parse_query_filter_with`](super::parse_query_filter_with)
/// takes other limits (up to [`ParseOptions::DEPTH_CEILING`]).
pub const MAX_DEPTH: usize = ParseOptions::DEFAULT_MAX_DEPTH;

const EXPECTED_EXPR: &str = "an expression: '(', '!', true, false or a JSON pointer";
const EXPECTED_OP: &str =
    "an operator: eq, co, sw, gt, ge, lt, le, pr or an extended operator of [a-zA-Z_0-9.]";
const EXPECTED_VALUE: &str = "a value: a number, true, false or a quoted string";
const EXPECTED_POINTER: &str = "a JSON pointer";
const EXPECTED_SEGMENT: &str = "a non-empty JSON pointer reference token";
const EXPECTED_END: &str = "'and', 'or' or end of input";
const EXPECTED_CLOSE: &str = "'and', 'or' or ')'";

/// One token and the byte offset where it starts.
#[derive(Debug)]
enum Tok<'a> {
    Open,
    Close,
    /// A single- or double-quoted string, backslash escapes decoded.
    Quoted(Cow<'a, str>),
    /// Any other run of characters up to a space, `(` or `)`.
    Word(&'a str),
}

struct Parser<'a> {
    src: &'a str,
    /// The deepest parenthesis nesting allowed.
    max_depth: usize,
    /// Where the tokenizer continues.
    pos: usize,
    /// The lookahead token and its offset (`None` at end of input).
    look: Option<(Tok<'a>, usize)>,
}

fn err(kind: FilterErrorKind, at: usize) -> FilterError {
    FilterError::new(kind, at)
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, max_depth: usize) -> Result<Self, FilterError> {
        let mut p = Self {
            src,
            max_depth,
            pos: 0,
            look: None,
        };
        p.look = p.lex()?;
        Ok(p)
    }

    /// Reads the token after `pos`. Only the space character separates tokens.
    fn lex(&mut self) -> Result<Option<(Tok<'a>, usize)>, FilterError> {
        let bytes = self.src.as_bytes();
        let mut i = self.pos;
        while bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        let Some(&c) = bytes.get(i) else {
            self.pos = i;
            return Ok(None);
        };
        let start = i;
        let tok = match c {
            b'(' => {
                self.pos = i + 1;
                Tok::Open
            }
            b')' => {
                self.pos = i + 1;
                Tok::Close
            }
            b'"' | b'\'' => {
                let (s, end) = self.lex_quoted(start, c)?;
                self.pos = end;
                Tok::Quoted(s)
            }
            _ => {
                let mut j = i + 1;
                while let Some(&b) = bytes.get(j) {
                    if b == b' ' || b == b'(' || b == b')' {
                        break;
                    }
                    j += 1;
                }
                self.pos = j;
                // `j` stops at an ASCII byte or the end, so both ends are char boundaries.
                Tok::Word(self.src.get(start..j).unwrap_or_default())
            }
        };
        Ok(Some((tok, start)))
    }

    /// A quoted string starting at `start` with quote byte `q`; returns it and the offset after
    /// the closing quote.
    fn lex_quoted(&self, start: usize, q: u8) -> Result<(Cow<'a, str>, usize), FilterError> {
        let bytes = self.src.as_bytes();
        let body = start + 1;
        let mut i = body;
        // Fast path: no backslash before the closing quote.
        while let Some(&b) = bytes.get(i) {
            if b == q {
                let s = self.src.get(body..i).unwrap_or_default();
                return Ok((Cow::Borrowed(s), i + 1));
            }
            if b == b'\\' {
                break;
            }
            i += 1;
        }
        if i >= bytes.len() {
            return Err(err(FilterErrorKind::UnterminatedString, start));
        }
        let mut out = String::from(self.src.get(body..i).unwrap_or_default());
        let rest = self.src.get(i..).unwrap_or_default();
        let mut chars = rest.char_indices();
        while let Some((off, ch)) = chars.next() {
            let at = i + off;
            if ch == '\\' {
                match chars.next() {
                    Some((_, escaped)) => out.push(escaped),
                    None => return Err(err(FilterErrorKind::InvalidEscape, at)),
                }
            } else if ch as u32 == u32::from(q) {
                return Ok((Cow::Owned(out), at + 1));
            } else {
                out.push(ch);
            }
        }
        Err(err(FilterErrorKind::UnterminatedString, start))
    }

    fn advance(&mut self) -> Result<Option<(Tok<'a>, usize)>, FilterError> {
        let next = self.lex()?;
        Ok(std::mem::replace(&mut self.look, next))
    }

    fn look_is_word(&self, keyword: &str) -> bool {
        matches!(&self.look, Some((Tok::Word(w), _)) if w.eq_ignore_ascii_case(keyword))
    }

    fn parse_or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let first = self.parse_and(depth)?;
        if !self.look_is_word("or") {
            return Ok(first);
        }
        let mut ops = Vec::new();
        push_flat(&mut ops, first, false);
        while self.look_is_word("or") {
            self.advance()?;
            let next = self.parse_and(depth)?;
            push_flat(&mut ops, next, false);
        }
        Ok(Expr::Or(ops))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let first = self.parse_not(depth)?;
        if !self.look_is_word("and") {
            return Ok(first);
        }
        let mut ops = Vec::new();
        push_flat(&mut ops, first, true);
        while self.look_is_word("and") {
            self.advance()?;
            let next = self.parse_not(depth)?;
            push_flat(&mut ops, next, true);
        }
        Ok(Expr::And(ops))
    }

    fn parse_not(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if self.look_is_word("!") {
            self.advance()?;
            let inner = self.parse_primary(depth)?;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary(depth)
    }

    fn parse_primary(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let end = self.src.len();
        match self.advance()? {
            None => Err(err(FilterErrorKind::Expected(EXPECTED_EXPR), end)),
            Some((Tok::Open, at)) => {
                if depth >= self.max_depth {
                    return Err(err(
                        FilterErrorKind::TooDeep {
                            max: self.max_depth,
                        },
                        at,
                    ));
                }
                let inner = self.parse_or(depth + 1)?;
                match self.advance()? {
                    Some((Tok::Close, _)) => Ok(inner),
                    Some((_, at)) => Err(err(FilterErrorKind::Expected(EXPECTED_CLOSE), at)),
                    None => Err(err(FilterErrorKind::Expected(EXPECTED_CLOSE), end)),
                }
            }
            Some((Tok::Close | Tok::Quoted(_), at)) => {
                Err(err(FilterErrorKind::Expected(EXPECTED_EXPR), at))
            }
            Some((Tok::Word(w), at)) => {
                if w.eq_ignore_ascii_case("true") {
                    return Ok(Expr::Literal(true));
                }
                if w.eq_ignore_ascii_case("false") {
                    return Ok(Expr::Literal(false));
                }
                let path = parse_pointer(w, at)?;
                let (op_text, op_at) = match self.advance()? {
                    Some((Tok::Word(op), op_at)) => (op, op_at),
                    Some((_, op_at)) => {
                        return Err(err(FilterErrorKind::Expected(EXPECTED_OP), op_at));
                    }
                    None => return Err(err(FilterErrorKind::Expected(EXPECTED_OP), end)),
                };
                if op_text.eq_ignore_ascii_case("pr") {
                    return Ok(Expr::Present(path));
                }
                let op = parse_operator(op_text)
                    .ok_or_else(|| err(FilterErrorKind::Expected(EXPECTED_OP), op_at))?;
                let value = self.parse_value()?;
                Ok(Expr::Compare(path, op, value))
            }
        }
    }

    fn parse_value(&mut self) -> Result<CompValue, FilterError> {
        let end = self.src.len();
        match self.advance()? {
            Some((Tok::Quoted(s), _)) => Ok(CompValue::String(s.into_owned())),
            Some((Tok::Word(w), at)) => parse_bare_value(w, at),
            Some((_, at)) => Err(err(FilterErrorKind::Expected(EXPECTED_VALUE), at)),
            None => Err(err(FilterErrorKind::Expected(EXPECTED_VALUE), end)),
        }
    }
}

/// Appends `e` to the operands of an `and` (`and_kind`) or `or`, splicing in a nested node of
/// the same kind so the tree stays normalized.
fn push_flat(ops: &mut Vec<Expr>, e: Expr, and_kind: bool) {
    match e {
        Expr::And(inner) if and_kind => ops.extend(inner),
        Expr::Or(inner) if !and_kind => ops.extend(inner),
        other => ops.push(other),
    }
}

fn parse_operator(op: &str) -> Option<CompareOp> {
    const CORE: [(&str, CompareOp); 7] = [
        ("eq", CompareOp::Eq),
        ("co", CompareOp::Co),
        ("sw", CompareOp::Sw),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ];
    for (name, core) in CORE {
        if op.eq_ignore_ascii_case(name) {
            return Some(core);
        }
    }
    if is_extended_operator(op) {
        Some(CompareOp::Extended(op.to_owned()))
    } else {
        None
    }
}

/// `[a-zA-Z_0-9.]+`.
pub(super) fn is_extended_operator(op: &str) -> bool {
    !op.is_empty()
        && op
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// A JSON pointer token (leading `/` optional) into path segments.
fn parse_pointer(token: &str, at: usize) -> Result<AttrPath, FilterError> {
    let (body, body_at) = match token.strip_prefix('/') {
        Some(rest) => (rest, at + 1),
        None => (token, at),
    };
    if body.is_empty() {
        return Err(err(FilterErrorKind::Expected(EXPECTED_POINTER), at));
    }
    let mut segments = Vec::new();
    let mut seg_at = body_at;
    for raw in body.split('/') {
        if raw.is_empty() {
            return Err(err(FilterErrorKind::Expected(EXPECTED_SEGMENT), seg_at));
        }
        segments.push(decode_segment(raw, seg_at)?);
        seg_at += raw.len() + 1;
    }
    Ok(AttrPath {
        urn: None,
        segments,
    })
}

/// RFC 6901 reference-token decoding: `~1` is `/`, `~0` is `~`, any other `~` is an error.
fn decode_segment(raw: &str, at: usize) -> Result<String, FilterError> {
    if !raw.contains('~') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((off, ch)) = chars.next() {
        if ch == '~' {
            match chars.next() {
                Some((_, '0')) => out.push('~'),
                Some((_, '1')) => out.push('/'),
                _ => return Err(err(FilterErrorKind::InvalidEscape, at + off)),
            }
        } else {
            out.push(ch);
        }
    }
    Ok(out)
}

/// An unquoted value: `true`, `false`, a double (contains `.`) or a signed 64-bit integer.
fn parse_bare_value(w: &str, at: usize) -> Result<CompValue, FilterError> {
    if w.eq_ignore_ascii_case("true") {
        return Ok(CompValue::Bool(true));
    }
    if w.eq_ignore_ascii_case("false") {
        return Ok(CompValue::Bool(false));
    }
    let numeric_start = w
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'));
    if !numeric_start {
        return Err(err(FilterErrorKind::Expected(EXPECTED_VALUE), at));
    }
    let bad = || err(FilterErrorKind::InvalidNumber, at);
    if w.contains('.') {
        if !is_decimal_syntax(w) {
            return Err(bad());
        }
        let f: f64 = w.parse().map_err(|_| bad())?;
        Number::from_f64(f).map(CompValue::Number).ok_or_else(bad)
    } else {
        let i: i64 = w.parse().map_err(|_| bad())?;
        Ok(CompValue::Number(Number::from(i)))
    }
}

/// `[+-]? digits? '.' digits? ([eE] [+-]? digits)?` with at least one mantissa digit.
fn is_decimal_syntax(w: &str) -> bool {
    let b = w.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let mut digits = 0;
    let mut dot = false;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

pub(super) fn parse(input: &str, opts: &ParseOptions) -> Result<Filter, FilterError> {
    // The same caps as the SCIM parser: the length first, before any work (a 14 MB filter took
    // 281 MB to parse).
    if input.len() > opts.length() {
        return Err(err(
            FilterErrorKind::TooLong { max: opts.length() },
            opts.length(),
        ));
    }
    let mut p = Parser::new(input, opts.depth())?;
    let expr = p.parse_or(0)?;
    match &p.look {
        None => Ok(Filter::from_expr(expr)),
        Some((_, at)) => Err(err(FilterErrorKind::Expected(EXPECTED_END), *at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_syntax() {
        for ok in ["1.0", ".5", "5.", "-1.5e3", "+2.0E-7"] {
            assert!(is_decimal_syntax(ok), "{ok}");
        }
        for bad in [".", "-.", "1.0e", "1.0.0", "1.0f", "0x1.0p3", "1.e+"] {
            assert!(!is_decimal_syntax(bad), "{bad}");
        }
    }
}
