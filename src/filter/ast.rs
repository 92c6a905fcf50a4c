//! The filter syntax tree shared by the SCIM parser ([`Filter::parse`](super::Filter::parse)) and
//! the CREST `_queryFilter` parser ([`crest::parse_query_filter`](crate::crest::parse_query_filter)).
//!
//! The tree is *normalized*: `And`/`Or` are n-ary and never directly contain a node of their own
//! kind (`a and (b and c)` is `And([a, b, c])`), and always hold at least two operands. n-ary
//! nodes keep long `and`/`or` chains flat, so walking, printing, evaluating and dropping a tree
//! recurses only as deep as its parentheses, `not`s and value paths — which the parsers bound.
//!
//! Trees built by hand and wrapped with [`Filter::from_expr`](super::Filter::from_expr) are not
//! depth-checked: printing, validating, evaluating, compiling and dropping them recurse as deep as
//! they nest, so keep them within [`ParseOptions::DEPTH_CEILING`](super::ParseOptions::DEPTH_CEILING)
//! levels of `Not` / `ValuePath` / alternating `And`-`Or`, as the parsers do.
//!
//! Two node kinds exist only for CREST: [`Expr::Literal`] (`_queryFilter=true`) and
//! [`CompareOp::Extended`] (a CREST extended operator). SCIM has no syntax for them: the SCIM
//! parser never produces them, and rendering them as SCIM is an error where a conversion is asked
//! for.

use serde_json::Number;

/// A filter expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A constant: CREST `true` / `false`. Not expressible in SCIM.
    Literal(bool),
    /// `attrPath pr`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `attrPath op value`.
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath[filter]`: one element of a multi-valued attribute satisfies the whole filter.
    ValuePath(AttrPath, Box<Expr>),
    /// `not (filter)` (CREST: `!filter`).
    Not(Box<Expr>),
    /// All operands hold. At least two operands, none of them an `And`.
    And(Vec<Expr>),
    /// At least one operand holds. At least two operands, none of them an `Or`.
    Or(Vec<Expr>),
}

/// A comparison operator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains (strings).
    Co,
    /// `sw`: starts with (strings).
    Sw,
    /// `ew`: ends with (strings).
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
    /// A CREST extended operator (`[a-zA-Z_0-9.]+`), kept as written. Never matches in the
    /// evaluator; not expressible in SCIM.
    Extended(String),
}

/// The literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A JSON number (integers keep their exact value).
    Number(Number),
    /// A string, escapes already decoded.
    String(String),
}

/// An attribute path: an optional schema URN, an attribute name and sub-attribute names.
///
/// SCIM allows at most one sub-attribute (`name.givenName`); a CREST JSON pointer may go deeper
/// (`/a/b/c`), which cannot be rendered as SCIM. `segments` is never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN prefix, without the trailing `:` (e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`). The core schema prefix is
    /// stripped by the SCIM parser (RFC 7644 §3.10), so it never appears here.
    pub urn: Option<String>,
    /// The attribute name, then the sub-attribute names. Never empty.
    pub segments: Vec<String>,
}

impl AttrPath {
    /// A path without a URN from its segments (`AttrPath::new(["name", "givenName"])`).
    pub fn new<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            urn: None,
            segments: segments.into_iter().map(Into::into).collect(),
        }
    }
}

// The lexical rules of an attribute path (RFC 7644 §3.4.2.2 `attrPath`), shared by the SCIM
// parser and the SCIM printer's check.

/// `["$"] ALPHA *(ALPHA / DIGIT / "-" / "_")`: an attribute name SCIM can write.
pub(crate) fn is_attr_name(s: &str) -> bool {
    let b = s.strip_prefix('$').unwrap_or(s).as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// A character of a schema URN: printable ASCII except the filter's delimiters.
pub(crate) fn is_urn_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'(' | b')' | b'"')
}

/// A core schema URN (`urn:ietf:params:scim:schemas:core:2.0:User`), which the parser strips.
pub(crate) fn is_core_urn(urn: &str) -> bool {
    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:";
    urn.get(..CORE.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(CORE))
        && urn
            .get(CORE.len()..)
            .is_some_and(|r| !r.is_empty() && !r.contains(':'))
}
