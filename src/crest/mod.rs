//! PingOne Advanced Identity Cloud (ForgeRock AM) over CREST: the `_queryFilter` dialect, the
//! four 2FA device categories, realm paths and the paged query envelope.
//!
//! | item | what it is |
//! |---|---|
//! | [`parse_query_filter`], [`to_query_filter`] | CREST filter text ⇄ the shared [`Filter`] tree |
//! | [`OathDevice`], [`PushDevice`], [`WebAuthnDevice`], [`BoundDevice`], [`DeviceCategory`] | the device lists AIC returns, JSON-exact; each is a filter [`Resource`](crate::filter::Resource) |
//! | [`Realm`] | `/realms/root/realms/alpha` and the `…/users/{id}/devices/2fa/{category}` paths |
//! | [`QueryRequest`], [`QueryResponse`], [`TotalPagedResultsPolicy`], [`SortKey`] | query parameters (with CREST's 400 rules) and the paged-results envelope |
//! | [`query`], [`query_with`], [`QueryItem`], [`Paging`], [`CookieKey`] | the pure engine: filter, sort, page (encrypted, owner-bound, expiring cookies), count |
//! | [`CrestError`], [`CrestErrorBody`] | errors as CREST's `{"code","reason","message"}` body or PingOne's [`ApiError`](crate::error::ApiError) |
//!
//! Listing a user's bound devices as AIC does, from the devices a server holds:
//!
//! ```
//! use mfa_devices::crest::{query, BoundDevice, CookieKey, DeviceCategory, Paging, QueryRequest, Realm};
//!
//! let realm: Realm = "/realms/root/realms/alpha".parse().unwrap();
//! let path = realm.devices_path("014c54bd-6078-4639-8316-8ce0e7746fa4", DeviceCategory::Binding)
//!     .unwrap();
//! assert!(path.ends_with("/users/014c54bd-6078-4639-8316-8ce0e7746fa4/devices/2fa/binding"));
//!
//! let devices: Vec<BoundDevice> = serde_json::from_value(serde_json::json!([{
//!     "_id": "ff1db8bf-d2d7-46e1-926a-568b877f87a5", "_rev": "192142989",
//!     "createdDate": 1715182923119_i64, "lastAccessDate": 1715182923183_i64,
//!     "deviceId": "e2e84b5d2a927abdcb85570bac9701c390a92751", "deviceName": "iOS Device",
//!     "uuid": "ff1db8bf-d2d7-46e1-926a-568b877f87a5", "key": {"kty": "RSA"},
//!     "deviceManagementStatus": false}])).unwrap();
//! let request = QueryRequest::from_query_pairs([("_queryFilter", "true")]).unwrap();
//! let key = CookieKey::new(b"a 32-byte server-held secret key").unwrap();
//! // The caller's clock and fresh random bytes:
//! let now = chrono::DateTime::from_timestamp(1_740_830_400, 0).unwrap();
//! let paging = Paging::new(&key, &path, now, [0x5a; 16]);
//! let page = query(&devices, &request, &paging).unwrap();
//! let body = serde_json::to_value(&page).unwrap();
//! assert_eq!(body["resultCount"], 1);
//! assert_eq!(body["pagedResultsCookie"], serde_json::Value::Null);
//! assert_eq!(body["totalPagedResults"], -1);
//! assert_eq!(body["result"][0]["createdDate"], 1715182923119_i64);
//! ```
//!
//! # `_queryFilter`
//!
//! [`parse_query_filter`] reads CREST's filter language onto the same [`Filter`] syntax tree as
//! the SCIM parser, so everything the [`filter`](crate::filter) module offers works on it;
//! [`to_query_filter`] renders a tree back as CREST text. A filter written for Advanced Identity
//! Cloud thereby converts to PingOne's SCIM form and back wherever both languages can say it.
//!
//! ```
//! use mfa_devices::crest::{parse_query_filter, to_query_filter};
//! use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
//!
//! let f = parse_query_filter(r#"/deviceName sw "iOS" and !(/key/kty eq 'RSA')"#).unwrap();
//! let Expr::And(ops) = f.expr() else { panic!() };
//! assert_eq!(ops[0], Expr::Compare(
//!     AttrPath::new(["deviceName"]), CompareOp::Sw, CompValue::String("iOS".into())));
//! assert_eq!(to_query_filter(&f).unwrap(),
//!            r#"/deviceName sw "iOS" and ! /key/kty eq "RSA""#);
//! ```
//!
//! ## Grammar (ForgeRock CREST `QueryFilterParser`)
//! ```text
//! Expr        := OrExpr
//! OrExpr      := AndExpr ('or' AndExpr)*
//! AndExpr     := NotExpr ('and' NotExpr)*
//! NotExpr     := '!' PrimaryExpr | PrimaryExpr
//! PrimaryExpr := '(' Expr ')' | Pointer OpName Value | Pointer 'pr' | 'true' | 'false'
//! OpName      := eq | co | sw | lt | le | gt | ge | extended operator [a-zA-Z_0-9.]+
//! Value       := NUMBER | true | false | "…" | '…'
//! ```
//! Tokenising follows CREST exactly:
//! - Tokens are separated only by the space character (U+0020), `(` and `)`. A tab or newline is
//!   an ordinary character, so `/a<TAB>eq 1` is the pointer `/a<TAB>eq` followed by the extended
//!   operator `1` and then a missing value.
//! - A quote (`"` or `'`) opens a string only at the start of a token; inside an unquoted token it
//!   is an ordinary character. A string ends at its closing quote, and the next token may follow
//!   immediately (`"x"and` is `"x"`, `and`), as in CREST's tokenizer. Inside a string a backslash
//!   takes the next character literally (`\"`, `\\`, `\n` is `n`); a string ending in a lone
//!   backslash is [`InvalidEscape`](crate::filter::FilterErrorKind::InvalidEscape) at the backslash, a missing
//!   closing quote is [`UnterminatedString`](crate::filter::FilterErrorKind::UnterminatedString) at the opening
//!   quote.
//! - Keywords (`and`, `or`, `true`, `false`, `pr`) and the core operators are ASCII
//!   case-insensitive. Any other operator token of `[a-zA-Z_0-9.]+` is an extended operator kept
//!   as written ([`CompareOp::Extended`](crate::filter::ast::CompareOp::Extended)) — including
//!   `ne` and `ew`, which CREST does not define. Rejecting or evaluating extended operators is a
//!   later step; the evaluator never matches them.
//! - `!` is a token of its own only when it stands alone: `! (x)`, `!(x)` and `! /a eq 1` are
//!   negations; `!true` is a pointer token.
//! - An unquoted value is `true`/`false`, a double if it contains `.`
//!   (`[+-]?digits?.digits?([eE][+-]?digits)?`, finite), otherwise a signed 64-bit integer
//!   (`[+-]?digits`). A malformed number is [`InvalidNumber`](crate::filter::FilterErrorKind::InvalidNumber);
//!   any other bare word (`foo eq bar`, `null`) is an error, because CREST has no bare words and
//!   no `null`. **Decision**: Java's extra number spellings (`1.0f`, `1.0d`, hex floats, non-ASCII
//!   digits) are refused.
//! - In the pointer position any unquoted token other than `true`/`false` is a pointer — so
//!   `and eq 1` compares the attribute `and`, exactly as CREST reads it. A quoted string or `)`
//!   there is an error.
//!
//! ## JSON pointers
//! Paths are JSON pointers (RFC 6901) with the leading `/` optional: `/key/kty` and `key/kty` are
//! both `AttrPath { urn: None, segments: ["key", "kty"] }`. **Decisions**: `~1` decodes to `/`
//! and `~0` to `~` (in that order, so `~01` is `~1`); a `~` followed by anything else is
//! [`InvalidEscape`](crate::filter::FilterErrorKind::InvalidEscape) at the `~`. An empty reference token
//! (`/`, `a//b`, `a/`) is an error: device attributes never have empty keys, and the pointer to
//! the whole resource cannot be compared.
//!
//! ## Length and depth
//! **Decision**: the SCIM parser's caps ([`crate::filter::ParseOptions`]): a
//! `_queryFilter` longer than 8 KiB is
//! [`TooLong`](crate::filter::FilterErrorKind::TooLong) before any parsing, and at most
//! [`MAX_DEPTH`] (64) parentheses may be open at once; the 65th `(` is
//! [`TooDeep`](crate::filter::FilterErrorKind::TooDeep) at its offset
//! ([`parse_query_filter_with`] takes other limits). (CREST's Java parser charges each of its
//! four grammar levels against its limit of 256 and so refuses 64 nested parentheses too; this
//! crate counts what a user sees.) `!` can only nest through parentheses, and `and`/`or` chains
//! are parsed iteratively into flat n-ary nodes, so no input can overflow the stack.
//!
//! ## Normalization
//! The tree is normalized as [`ast`](crate::filter::ast) requires: `a and (b and c)` is
//! `And([a, b, c])`, redundant parentheses vanish; `!(!(x))` stays a double negation.
//!
//! # Rendering and conversion
//! [`to_query_filter`] is lossless: for every normalized tree it accepts,
//! `parse_query_filter(&to_query_filter(&f)?)? == f`. What CREST cannot say is an error of kind
//! [`Unsupported`](crate::filter::FilterErrorKind::Unsupported), never a silent change of meaning:
//! SCIM value paths (`emails[type eq "work"]`), schema URN prefixes, `null` values, integers
//! beyond `i64`, path segments holding a space or parenthesis, and the operators `ne` and `ew`.
//! **Decision on `ne`**: under this crate's evaluation rules `a ne v` and `!(a eq v)` select the
//! same resources (on a multi-valued attribute `ne` holds when no value equals; on an absent one
//! it holds), but they are different trees, and CREST servers evaluate `!` with their own rules
//! for absent and multi-valued fields; the conversion therefore refuses `ne` and names the
//! explicit rewrite instead of performing it. (The equivalence under this crate's evaluator is
//! property-tested over absent, null, scalar and array values in `tests/filters/crest_convert.rs`.)
//!
//! # Evaluation
//! A parsed `_queryFilter` is evaluated by the crate's one filter engine
//! ([`Filter::matches`](crate::filter::Filter::matches), or compiled by [`query`]): a comparison
//! on an array holds when any element satisfies it, as CREST specifies. **Decision**: attribute
//! names match ASCII case-insensitively and strings compare ignoring case, as for SCIM, whereas
//! a JSON pointer on a CREST server is exact; extended operators never match. `_sortKeys`
//! pointers, by contrast, are looked up exactly ([`QueryItem`]).
//!
//! [`Filter`]: crate::filter::Filter

mod error;
mod model;
mod parse;
mod query;
mod realm;
mod render;

pub use error::{CrestError, CrestErrorBody};
pub use model::{
    BoundDevice, CrestDeviceKey, DeviceCategory, OathDevice, PushDevice, WebAuthnDevice,
};
pub use parse::MAX_DEPTH;
pub use query::{
    CookieKey, CookieKeyTooShort, MAX_SORT_KEYS, Paging, QueryItem, QueryKind, QueryRequest,
    QueryResponse, SortKey, TotalPagedResultsPolicy, query, query_with,
};
pub use realm::Realm;

use crate::filter::{Filter, FilterError, FilterErrorKind, ParseOptions};

/// Parses a CREST `_queryFilter` value (already percent-decoded) into a [`Filter`].
///
/// See the [module documentation](self) for the grammar, the tokenising rules and every
/// decision. Errors carry the byte offset where the problem was found.
///
/// ```
/// use mfa_devices::crest::parse_query_filter;
/// use mfa_devices::filter::ast::Expr;
/// use mfa_devices::filter::FilterErrorKind;
///
/// assert_eq!(parse_query_filter("true").unwrap().expr(), &Expr::Literal(true));
/// let e = parse_query_filter("/deviceName eq iOS").unwrap_err();
/// assert_eq!(e.offset(), 15);
/// assert!(matches!(e.kind(), FilterErrorKind::Expected(_)));
/// assert_eq!(parse_query_filter("/a eq 'x").unwrap_err().kind(),
///            &FilterErrorKind::UnterminatedString);
/// ```
pub fn parse_query_filter(input: &str) -> Result<Filter, FilterError> {
    parse::parse(input, &ParseOptions::new())
}

/// [`parse_query_filter`] with explicit limits: the input length in bytes
/// ([`TooLong`](crate::filter::FilterErrorKind::TooLong), checked before any parsing) and the
/// parenthesis depth ([`TooDeep`](crate::filter::FilterErrorKind::TooDeep) at the first `(`
/// too many). The defaults, used by [`parse_query_filter`] and
/// [`QueryRequest::from_query_pairs`], are the SCIM parser's: 8 KiB and depth 64.
///
/// ```
/// use mfa_devices::crest::{parse_query_filter, parse_query_filter_with};
/// use mfa_devices::filter::{FilterErrorKind, ParseOptions};
///
/// let long = format!("/deviceName eq \"{}\"", "x".repeat(10_000));
/// assert_eq!(parse_query_filter(&long).unwrap_err().kind(),
///            &FilterErrorKind::TooLong { max: 8192 });
/// assert!(parse_query_filter_with(&long, &ParseOptions::new().max_length(16_384)).is_ok());
/// let e = parse_query_filter_with("((/a pr))", &ParseOptions::new().max_depth(1)).unwrap_err();
/// assert_eq!((e.kind(), e.offset()), (&FilterErrorKind::TooDeep { max: 1 }, 1));
/// ```
pub fn parse_query_filter_with(input: &str, options: &ParseOptions) -> Result<Filter, FilterError> {
    parse::parse(input, options)
}

/// Renders a [`Filter`] as CREST `_queryFilter` text.
///
/// Lossless for normalized trees: reparsing the text with [`parse_query_filter`] gives the same
/// filter. Pointers are written with a leading `/` (escaping `~` and `/` as `~0`/`~1`), strings
/// in double quotes (escaping `"` and `\` with a backslash), doubles always with a `.`, `!` as
/// `! x` before a comparison, `pr` or literal and as `!(…)` otherwise, and an `or` inside an
/// `and` in parentheses. Whatever [`parse_query_filter`] accepts renders within the same depth
/// limit. Constructs CREST cannot express are
/// [`Unsupported`](crate::filter::FilterErrorKind::Unsupported) (the offset is the length of the text rendered
/// so far); a tree nesting deeper than
/// [`ParseOptions::DEPTH_CEILING`](crate::filter::ParseOptions::DEPTH_CEILING) parentheses is
/// [`TooDeep`](crate::filter::FilterErrorKind::TooDeep). A text longer than
/// [`parse_query_filter`] reads (8 KiB) is [`TooLong`](crate::filter::FilterErrorKind::TooLong)
/// (offset 8192): a filter accepted near that cap can render longer than its input — a
/// single-quoted string holding `"` is written double-quoted with each `"` escaped, `~` in a
/// pointer becomes `~0` — and what the parser refuses is not a rendering.
///
/// ```
/// use mfa_devices::crest::{parse_query_filter, to_query_filter};
/// use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
/// use mfa_devices::filter::{Filter, FilterErrorKind};
///
/// let f = parse_query_filter("(/a eq 1 or /b pr) and /c/d~1e ge 2.5").unwrap();
/// assert_eq!(to_query_filter(&f).unwrap(), "(/a eq 1 or /b pr) and /c/d~1e ge 2.5");
///
/// let ne = Filter::from_expr(Expr::Compare(
///     AttrPath::new(["status"]), CompareOp::Ne, CompValue::String("ACTIVE".into())));
/// assert!(matches!(to_query_filter(&ne).unwrap_err().kind(), FilterErrorKind::Unsupported(_)));
///
/// // 7,999 bytes in, 15,990 out: refused rather than rendered unreadable.
/// let quotes = format!("/a eq '{}'", "\"".repeat(8_000 - 9));
/// let f = parse_query_filter(&quotes).unwrap();
/// assert_eq!(to_query_filter(&f).unwrap_err().kind(), &FilterErrorKind::TooLong { max: 8192 });
/// ```
pub fn to_query_filter(filter: &Filter) -> Result<String, FilterError> {
    to_query_filter_with(filter, &ParseOptions::new())
}

/// [`to_query_filter`] for a reader with other limits: a text longer than `options` allows
/// is [`TooLong`](crate::filter::FilterErrorKind::TooLong) (offset: the maximum).
///
/// ```
/// use mfa_devices::crest::{parse_query_filter_with, to_query_filter, to_query_filter_with};
/// use mfa_devices::filter::ParseOptions;
/// let big = ParseOptions::new().max_length(1 << 20);
/// let f = parse_query_filter_with(&vec!["/a eq 1"; 2_000].join(" and "), &big).unwrap();
/// assert!(to_query_filter(&f).is_err());
/// assert_eq!(parse_query_filter_with(&to_query_filter_with(&f, &big).unwrap(), &big).unwrap(), f);
/// ```
pub fn to_query_filter_with(
    filter: &Filter,
    options: &ParseOptions,
) -> Result<String, FilterError> {
    let text = render::render(filter)?;
    let max = options.length();
    if text.len() > max {
        return Err(FilterError::new(FilterErrorKind::TooLong { max }, max));
    }
    Ok(text)
}
