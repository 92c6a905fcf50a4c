//! Evaluation: the comparison rules shared by the interpreter ([`Filter::matches`]) and the
//! compiled form ([`CompiledFilter`](super::CompiledFilter)), so the two cannot disagree.
//!
//! [`Filter::matches`]: super::Filter::matches

use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use super::ast::{AttrPath, CompValue, CompareOp, Expr};
use super::resource::{Attr, Element, Resource, visit_leaf};

/// A comparison operator the evaluator knows (CREST extended operators never match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    pub(crate) fn of(op: &CompareOp) -> Option<Op> {
        Some(match op {
            CompareOp::Eq => Op::Eq,
            CompareOp::Ne => Op::Ne,
            CompareOp::Co => Op::Co,
            CompareOp::Sw => Op::Sw,
            CompareOp::Ew => Op::Ew,
            CompareOp::Gt => Op::Gt,
            CompareOp::Ge => Op::Ge,
            CompareOp::Lt => Op::Lt,
            CompareOp::Le => Op::Le,
            CompareOp::Extended(_) => return None,
        })
    }

    #[inline]
    fn accepts(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o == Ordering::Equal,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Ne | Op::Co | Op::Sw | Op::Ew => false,
        }
    }
}

/// A number, integers kept exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub(crate) fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i128::from(i))
        } else if let Some(u) = n.as_u64() {
            Num::Int(i128::from(u))
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }

    #[inline]
    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// The right-hand side of a comparison, ready to compare.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lit<'a> {
    Null,
    Bool(bool),
    Num(Num),
    Str(StrLit<'a>),
}

/// A string literal with what is worth knowing about it up front.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrLit<'a> {
    pub(crate) s: &'a str,
    pub(crate) ascii: bool,
    /// The instant, if the string is an RFC 3339 date-time.
    pub(crate) dt: Option<DateTime<FixedOffset>>,
}

impl<'a> StrLit<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        StrLit {
            s,
            ascii: s.is_ascii(),
            dt: parse_dt(s),
        }
    }
}

impl<'a> Lit<'a> {
    pub(crate) fn new(v: &'a CompValue) -> Self {
        match v {
            CompValue::Null => Lit::Null,
            CompValue::Bool(b) => Lit::Bool(*b),
            CompValue::Number(n) => Lit::Num(Num::of(n)),
            CompValue::String(s) => Lit::Str(StrLit::new(s)),
        }
    }
}

/// An RFC 3339 date-time with an offset (cheap rejection of strings that cannot be one).
pub(crate) fn parse_dt(s: &str) -> Option<DateTime<FixedOffset>> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Calls `f` on each value of `attr` (multi-valued attributes element by element, nulls skipped);
/// `true` as soon as `f` is.
#[inline]
pub(crate) fn any<'a>(attr: Attr<'a>, mut f: impl FnMut(Attr<'a>) -> bool) -> bool {
    match attr {
        Attr::Absent => false,
        Attr::Json(v) => visit_leaf(v, &mut f),
        Attr::Path(map, path) => path.visit(map, &mut f),
        scalar => f(scalar),
    }
}

/// `pr`: some value that is not an empty string or an empty array.
pub(crate) fn present(attr: Attr<'_>) -> bool {
    any(attr, |v| match v {
        Attr::Str(s) | Attr::CaseExactStr(s) => !s.is_empty(),
        Attr::Json(Value::String(s)) => !s.is_empty(),
        Attr::Json(Value::Array(a)) => !a.is_empty(),
        _ => true,
    })
}

/// `attr op lit`, with the multi-valued and null rules.
#[inline]
pub(crate) fn compare(attr: Attr<'_>, op: Op, lit: &Lit<'_>, exact: bool) -> bool {
    match (op, lit) {
        (Op::Eq, Lit::Null) => !any(attr, |_| true),
        (Op::Ne, Lit::Null) => any(attr, |_| true),
        (_, Lit::Null) => false,
        (Op::Ne, _) => !any(attr, |v| scalar(v, Op::Eq, lit, exact)),
        _ => any(attr, |v| scalar(v, op, lit, exact)),
    }
}

/// One value against the literal. Different types never match.
#[inline]
fn scalar(v: Attr<'_>, op: Op, lit: &Lit<'_>, exact: bool) -> bool {
    match (v, lit) {
        (Attr::Str(s), Lit::Str(l)) => text(s, op, l, exact),
        (Attr::CaseExactStr(s), Lit::Str(l)) => text(s, op, l, true),
        (Attr::Json(Value::String(s)), Lit::Str(l)) => text(s, op, l, exact),
        (Attr::Bool(b), Lit::Bool(c)) => op == Op::Eq && b == *c,
        (Attr::Json(Value::Bool(b)), Lit::Bool(c)) => op == Op::Eq && b == c,
        (Attr::Int(i), Lit::Num(n)) => Num::Int(i128::from(i))
            .cmp(*n)
            .is_some_and(|o| op.accepts(o)),
        (Attr::Json(Value::Number(x)), Lit::Num(n)) => {
            Num::of(x).cmp(*n).is_some_and(|o| op.accepts(o))
        }
        (Attr::Uuid(u), Lit::Str(l)) => {
            let mut buf = uuid::Uuid::encode_buffer();
            text(u.hyphenated().encode_lower(&mut buf), op, l, exact)
        }
        (Attr::DateTime(t), Lit::Str(l)) => match (l.dt, op) {
            (Some(d), Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) => op.accepts(t.cmp(&d.to_utc())),
            _ => {
                let mut buf = Buf::default();
                if write!(buf, "{}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")).is_err() {
                    return false;
                }
                buf.as_str().is_some_and(|s| text(s, op, l, exact))
            }
        },
        _ => false,
    }
}

/// String comparison: date-times as instants (eq and ordering), otherwise text.
#[inline]
fn text(s: &str, op: Op, l: &StrLit<'_>, exact: bool) -> bool {
    if let (Some(d), Op::Eq | Op::Gt | Op::Ge | Op::Lt | Op::Le) = (l.dt, op) {
        if let Some(t) = parse_dt(s) {
            return op.accepts(t.cmp(&d));
        }
    }
    let lit = l.s;
    if exact {
        return match op {
            Op::Eq | Op::Ne => s == lit,
            Op::Co => s.contains(lit),
            Op::Sw => s.starts_with(lit),
            Op::Ew => s.ends_with(lit),
            _ => op.accepts(s.cmp(lit)),
        };
    }
    let ascii = l.ascii && s.is_ascii();
    match op {
        Op::Eq | Op::Ne => {
            if s.len() == lit.len() && s.eq_ignore_ascii_case(lit) {
                true
            } else if ascii {
                false
            } else {
                lower(s).eq(lower(lit))
            }
        }
        Op::Sw => {
            if ascii {
                s.as_bytes()
                    .get(..lit.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(lit.as_bytes()))
            } else {
                starts_with_lower(s, lit)
            }
        }
        Op::Ew => {
            if ascii {
                s.len()
                    .checked_sub(lit.len())
                    .and_then(|at| s.as_bytes().get(at..))
                    .is_some_and(|p| p.eq_ignore_ascii_case(lit.as_bytes()))
            } else {
                let mut hay = s.chars().rev().flat_map(|c| c.to_lowercase().rev());
                lit.chars()
                    .rev()
                    .flat_map(|c| c.to_lowercase().rev())
                    .all(|c| hay.next() == Some(c))
            }
        }
        Op::Co => contains_ci(s, lit, ascii),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let o = if ascii {
                s.bytes()
                    .map(|b| b.to_ascii_lowercase())
                    .cmp(lit.bytes().map(|b| b.to_ascii_lowercase()))
            } else {
                lower(s).cmp(lower(lit))
            };
            op.accepts(o)
        }
    }
}

/// Up to this many byte pairs (|attribute| × |literal|), case-insensitive `co` compares in
/// place, without allocating; above it, it folds both once and searches linearly. Either way a
/// comparison costs O(|attribute| + |literal|) (the in-place product is bounded by this
/// constant).
const CO_IN_PLACE_PAIRS: usize = 4096;

/// Case-insensitive `co`: whether the lowercased `lit` occurs in the lowercased `s`, starting
/// where a character of `s` starts (`ascii`: both are ASCII).
fn contains_ci(s: &str, lit: &str, ascii: bool) -> bool {
    if lit.is_empty() {
        return true;
    }
    if ascii && lit.len() > s.len() {
        return false;
    }
    if s.len().saturating_mul(lit.len()) <= CO_IN_PLACE_PAIRS {
        return if ascii {
            let n = lit.as_bytes();
            s.as_bytes().windows(n.len()).any(|w| {
                co_work(w.len());
                w.eq_ignore_ascii_case(n)
            })
        } else {
            s.char_indices().any(|(i, _)| {
                co_work(lit.len());
                s.get(i..).is_some_and(|rest| starts_with_lower(rest, lit))
            })
        };
    }
    contains_folded(s, lit)
}

/// [`contains_ci`] by folding both texts once and searching with [`kmp_contains`]: linear.
fn contains_folded(s: &str, lit: &str) -> bool {
    let mut needle = Vec::with_capacity(lit.len());
    fold(lit, &mut needle, None);
    if needle.is_empty() {
        return true;
    }
    let mut hay = Vec::with_capacity(s.len());
    if s.is_ascii() {
        fold(s, &mut hay, None);
        kmp_contains(&hay, &needle, |_| true)
    } else {
        let mut starts = Vec::with_capacity(s.len());
        fold(s, &mut hay, Some(&mut starts));
        kmp_contains(&hay, &needle, |at| starts.get(at).copied().unwrap_or(false))
    }
}

/// Appends the per-character lowercase of `s` (UTF-8) to `out`; with `starts`, marks which
/// bytes of `out` begin the lowercase of a character of `s` (a match may only start there).
fn fold(s: &str, out: &mut Vec<u8>, mut starts: Option<&mut Vec<bool>>) {
    co_work(s.len());
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
        if let Some(st) = starts {
            st.resize(out.len(), true);
        }
        return;
    }
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let first = out.len();
        for l in c.to_lowercase() {
            out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
        }
        if let Some(st) = starts.as_mut() {
            st.resize(out.len(), false);
            if let Some(x) = st.get_mut(first) {
                *x = true;
            }
        }
    }
}

/// Knuth–Morris–Pratt: whether `needle` (non-empty) occurs in `hay` at an offset `ok_start`
/// accepts. At most 2·|hay| + 2·|needle| byte comparisons, whatever the input.
fn kmp_contains(hay: &[u8], needle: &[u8], ok_start: impl Fn(usize) -> bool) -> bool {
    let m = needle.len();
    // fail[i]: the length of the longest proper border of needle[..=i].
    let mut fail = vec![0usize; m];
    let mut k = 0usize;
    for (i, &c) in needle.iter().enumerate().skip(1) {
        while k > 0 && needle.get(k) != Some(&c) {
            co_work(1);
            k = fail.get(k - 1).copied().unwrap_or(0);
        }
        co_work(1);
        if needle.get(k) == Some(&c) {
            k += 1;
        }
        if let Some(f) = fail.get_mut(i) {
            *f = k;
        }
    }
    let mut q = 0usize;
    for (i, &c) in hay.iter().enumerate() {
        while q > 0 && needle.get(q) != Some(&c) {
            co_work(1);
            q = fail.get(q - 1).copied().unwrap_or(0);
        }
        co_work(1);
        if needle.get(q) == Some(&c) {
            q += 1;
        }
        if q == m {
            if ok_start(i + 1 - m) {
                return true;
            }
            q = fail.get(q - 1).copied().unwrap_or(0);
        }
    }
    false
}

#[cfg(test)]
thread_local! {
    /// Test-only: the work `co` did (bytes folded plus byte comparisons), for the scaling test.
    static CO_WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` units of `co` work (test builds only).
#[inline(always)]
fn co_work(n: usize) {
    #[cfg(test)]
    CO_WORK.with(|w| w.set(w.get().saturating_add(n as u64)));
    let _ = n;
}

fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn starts_with_lower(s: &str, prefix: &str) -> bool {
    let mut hay = lower(s);
    lower(prefix).all(|c| hay.next() == Some(c))
}

/// A small stack buffer for rendering a date-time as text without allocating.
#[derive(Default)]
struct Buf {
    bytes: [u8; 32],
    len: usize,
}

impl Buf {
    fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.bytes.get(..self.len)?).ok()
    }
}

impl fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The `id` path, which `mobilePayload eq "<jwt>"` compares the JWT's `dvc` claim with.
pub(crate) static ID_PATH: LazyLock<AttrPath> = LazyLock::new(|| AttrPath::new(["id"]));

/// `mobilePayload eq|ne "<jwt>"`: `Some((negate, jwt))`.
pub(crate) fn mobile_compare<'e>(
    path: &AttrPath,
    op: &CompareOp,
    value: &'e CompValue,
) -> Option<(bool, &'e str)> {
    let negate = match op {
        CompareOp::Eq => false,
        CompareOp::Ne => true,
        _ => return None,
    };
    match (path.urn.as_deref(), path.segments.as_slice(), value) {
        (None, [name], CompValue::String(jwt)) if name.eq_ignore_ascii_case("mobilePayload") => {
            Some((negate, jwt))
        }
        _ => None,
    }
}

/// Whether the resource's id equals `dvc` (ignoring ASCII case: ids are UUIDs).
#[inline]
pub(crate) fn id_matches(id: Attr<'_>, dvc: Option<&str>) -> bool {
    match dvc {
        Some(dvc) => compare(id, Op::Eq, &Lit::Str(StrLit::new(dvc)), false),
        None => false,
    }
}

/// The interpreter. Recursion follows the tree, whose depth the parsers bound.
pub(crate) fn eval<R: Resource + ?Sized>(e: &Expr, r: &R) -> bool {
    match e {
        Expr::Literal(b) => *b,
        Expr::Present(p) => r.with_attr(p, present),
        Expr::Compare(p, op, v) => {
            if let Some((negate, _)) = mobile_compare(p, op, v) {
                // Fails closed: without a verifier no payload is trusted, so `eq` matches no
                // resource (as for a payload the verifier rejects). Verify with
                // `CompileOptions::verifier`.
                return negate;
            }
            let Some(op) = Op::of(op) else {
                return false;
            };
            let lit = Lit::new(v);
            r.with_attr(p, |a| compare(a, op, &lit, false))
        }
        Expr::ValuePath(p, inner) => r.with_attr(p, |a| any(a, |el| eval(inner, &Element(el)))),
        Expr::Not(x) => !eval(x, r),
        Expr::And(xs) => xs.iter().all(|x| eval(x, r)),
        Expr::Or(xs) => xs.iter().any(|x| eval(x, r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `co` work for one comparison of `hay` with `needle`, case-insensitively.
    fn co_cost(hay: &str, needle: &str) -> (bool, u64) {
        CO_WORK.with(|w| w.set(0));
        let found = text(hay, Op::Co, &StrLit::new(needle), false);
        (found, CO_WORK.with(std::cell::Cell::get))
    }

    /// Issue 12, point 9: case-insensitive `co` costs O(|attribute| + |literal|), not their
    /// product. The worst case for a naive search (`aaa…a` against `aa…ab`, which almost
    /// matches at every position) is scaled 10× and 100× in both lengths; the work counted
    /// (bytes folded plus byte comparisons) must grow about as the input (≤ 15× and ≤ 150×),
    /// where a quadratic search grows 100× and 10,000×. ASCII and non-ASCII text both.
    /// The folded linear search agrees with the in-place search (a match starts where a
    /// character starts; it may end inside a character's multi-character lowercase).
    #[test]
    fn folded_co_agrees_with_in_place_co() {
        use proptest::prelude::*;
        let text = "[aAbB\u{130}i\u{307}\u{df}sS\u{212a}kK\u{3a3}\u{3c3}\u{3c2}\u{c9}\u{e9}]{0,12}";
        proptest!(ProptestConfig::with_cases(2000), |(s in text, lit in "[aAbB\u{130}i\u{307}\u{df}sSkK\u{3a3}\u{3c3}\u{e9}]{0,4}")| {
            let reference = lit.is_empty()
                || s.char_indices()
                    .any(|(i, _)| s.get(i..).is_some_and(|rest| starts_with_lower(rest, &lit)));
            prop_assert_eq!(contains_folded(&s, &lit), reference, "{:?} co {:?}", s, lit);
            prop_assert_eq!(contains_ci(&s, &lit, s.is_ascii() && lit.is_ascii()), reference);
        });
        // A match may not start inside the lowercase of 'İ' (i + U+0307).
        assert!(!contains_folded("\u{130}x", "\u{307}x"));
        assert!(contains_folded("\u{130}x", "i"));
    }

    #[test]
    fn point_09_co_is_linear() {
        for (unit, miss) in [("a", "b"), ("é", "ß")] {
            let cost = |k: usize| {
                let hay = unit.repeat(1000 * k);
                let needle = format!("{}{miss}", unit.to_uppercase().repeat(100 * k));
                let (found, work) = co_cost(&hay, &needle);
                assert!(!found);
                // And the same needle does occur once appended.
                let (found, _) = co_cost(&format!("{hay}{needle}"), &needle);
                assert!(found);
                work
            };
            let (w1, w10, w100) = (cost(1), cost(10), cost(100));
            assert!(
                w10 <= 15 * w1 && w100 <= 150 * w1,
                "{unit:?}: work {w1}, {w10} (x{}), {w100} (x{})",
                w10 / w1.max(1),
                w100 / w1.max(1)
            );
        }
    }
}
