//! SCIM 2.0 filters (RFC 7644 §3.4.2.2): parser, evaluator, compiled form, collection schemas.
//!
//! ```
//! use mfa_devices::filter::{Filter, schema::DEVICES};
//!
//! let f: Filter = r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#.parse()?;
//! assert_eq!(f.to_string(), r#"status eq "ACTIVATION_REQUIRED" and type eq "SMS""#);
//! f.validate(&DEVICES)?; // what PingOne's devices collection allows
//!
//! let device = serde_json::json!({"type": "SMS", "status": "ACTIVATION_REQUIRED"});
//! assert!(f.matches(&device));                              // interpreted
//! assert!(f.compile::<serde_json::Value>().matches(&device)); // compiled once, run many times
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The grammar
//! The whole of RFC 7644's filter grammar (see [`Filter::parse`]): attribute paths with schema
//! URN and sub-attribute, `eq ne co sw ew gt ge lt le pr`, `and` (binding tighter than `or`),
//! `not ( … )`, parentheses, value paths `emails[type eq "work" and value co "@example.com"]`,
//! and JSON literals (`true`, `false`, `null`, numbers, strings with every JSON escape).
//!
//! # Evaluation rules
//! See [`Filter::matches`]. They follow Ping's SCIM 2 SDK (`FilterEvaluator`) except where noted
//! as a **decision**.
//!
//! # Hostile input
//! [`ParseOptions`] caps the input length and the nesting depth (parentheses, `not`, value
//! paths). Everything recursive — parsing, printing, validating, evaluating, compiling and
//! dropping a tree — recurses only as deep as that nesting, so the caps keep the stack bounded:
//! 100,000 `(` is a [`FilterErrorKind::TooDeep`] error, not a stack overflow.
pub mod ast;
mod compile;
mod display;
mod error;
mod eval;
pub mod fold;
mod mobile;
mod parse;
mod resource;
pub mod schema;
pub mod sql;

use std::fmt;
use std::str::FromStr;

pub use compile::{CompileOptions, CompiledFilter};
pub use error::{FilterError, FilterErrorKind};
pub use mobile::{MobilePayload, PayloadVerifier};
pub use resource::{Attr, DeviceKey, JsonKey, JsonPath, Resource};

use crate::error::ApiError;
use ast::Expr;

/// Limits the parser applies to untrusted input.
///
/// ```
/// use mfa_devices::filter::{Filter, FilterErrorKind, ParseOptions};
/// let opts = ParseOptions::new().max_depth(2);
/// assert!(Filter::parse_with("((a pr))", &opts).is_ok());
/// let e = Filter::parse_with("(((a pr)))", &opts).unwrap_err();
/// assert_eq!((e.kind(), e.offset()), (&FilterErrorKind::TooDeep { max: 2 }, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseOptions {
    max_length: usize,
    max_depth: usize,
}

impl ParseOptions {
    /// Default maximum input length in bytes: 8 KiB (a long URL; a PingOne mobile payload JWT
    /// is about 1 KiB).
    pub const DEFAULT_MAX_LENGTH: usize = 8 * 1024;
    /// Default maximum nesting depth of parentheses, `not` and value paths.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// The largest depth [`max_depth`](ParseOptions::max_depth) accepts. A tree this deep
    /// parses, prints, validates, evaluates, compiles and drops within 1 MiB of stack even in a
    /// debug build (tested), half of a default 2 MiB thread stack.
    pub const DEPTH_CEILING: usize = 128;

    /// The defaults: 8 KiB, depth 64.
    ///
    /// ```
    /// use mfa_devices::filter::ParseOptions;
    /// assert_eq!(ParseOptions::new(), ParseOptions::default());
    /// assert_eq!(ParseOptions::new().depth(), ParseOptions::DEFAULT_MAX_DEPTH);
    /// ```
    pub const fn new() -> Self {
        Self {
            max_length: Self::DEFAULT_MAX_LENGTH,
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets the maximum input length in bytes.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, ParseOptions};
    /// assert!(Filter::parse_with("a pr", &ParseOptions::new().max_length(3)).is_err());
    /// ```
    #[must_use]
    pub const fn max_length(mut self, bytes: usize) -> Self {
        self.max_length = bytes;
        self
    }

    /// Sets the maximum nesting depth (capped at [`DEPTH_CEILING`](Self::DEPTH_CEILING)).
    ///
    /// ```
    /// use mfa_devices::filter::ParseOptions;
    /// assert_eq!(ParseOptions::new().max_depth(10_000).depth(), ParseOptions::DEPTH_CEILING);
    /// ```
    #[must_use]
    pub const fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > Self::DEPTH_CEILING {
            Self::DEPTH_CEILING
        } else {
            depth
        };
        self
    }

    /// The maximum input length in bytes.
    ///
    /// ```
    /// assert_eq!(mfa_devices::filter::ParseOptions::new().length(), 8192);
    /// ```
    pub const fn length(&self) -> usize {
        self.max_length
    }

    /// The maximum nesting depth.
    ///
    /// ```
    /// assert_eq!(mfa_devices::filter::ParseOptions::new().depth(), 64);
    /// ```
    pub const fn depth(&self) -> usize {
        self.max_depth
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A parsed filter. Build one with the SCIM parser or from an [`Expr`].
///
/// ```
/// use mfa_devices::filter::{Filter, ast::{AttrPath, CompareOp, CompValue, Expr}};
/// let f = Filter::from_expr(Expr::Compare(
///     AttrPath::new(["status"]), CompareOp::Eq, CompValue::String("ACTIVE".into())));
/// assert!(matches!(f.expr(), Expr::Compare(..)));
/// assert_eq!(f, Filter::parse(r#"status eq "ACTIVE""#).unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    expr: Expr,
}

impl Filter {
    /// Wraps an expression. The expression should be normalized (see [`ast`]).
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, ast::{AttrPath, Expr}};
    /// let f = Filter::from_expr(Expr::Present(AttrPath::new(["title"])));
    /// assert_eq!(f.to_string(), "title pr");
    /// assert_eq!(f.clone().into_expr(), *f.expr());
    /// ```
    pub fn from_expr(expr: Expr) -> Self {
        Self { expr }
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Unwraps the syntax tree.
    pub fn into_expr(self) -> Expr {
        self.expr
    }

    /// Parses a SCIM filter with the default [`ParseOptions`].
    ///
    /// Accepted syntax (RFC 7644 §3.4.2.2, with the tolerance common SCIM servers show):
    /// - keywords (`and`, `or`, `not`), operators and `true`/`false`/`null` in any case;
    /// - any run of spaces (also tabs, CR, LF) where one space is required, and around the
    ///   whole filter and inside parentheses and brackets; `not(`, `and(`, `or(` without a
    ///   space; **decision**: `and`/`or` still need a space before them (`a eq "x"and b pr` is an
    ///   error at `and`), as RFC 7644's grammar says;
    /// - attribute names `ALPHA *(ALPHA / DIGIT / "-" / "_")`, optionally `$`-prefixed (`$ref`);
    ///   `true`, `not`, `and` … are valid names where a name is expected;
    /// - **decision**: the core schema prefix (`urn:ietf:params:scim:schemas:core:2.0:<Type>:`)
    ///   is stripped (RFC 7644 §3.10); an extension URN is kept in [`ast::AttrPath::urn`];
    /// - value paths `attr[filter]`; `attr[…].sub` is a PATCH path and is refused; a value path
    ///   inside another value path's filter (`emails[type eq "work" and emails[value pr]]`) is
    ///   [`FilterErrorKind::InvalidValuePath`] at the inner `[` (RFC 7644 errata 4690; Ping's
    ///   SCIM 2 SDK refuses it too), and so — **decision** — is a value path on a sub-attribute
    ///   (`emails.type[type eq "work"]`): a value filter selects elements of a multi-valued
    ///   complex attribute, and a sub-attribute has no elements with attributes of their own;
    /// - numbers per JSON (no leading zeros, no `+`, no `.5`); strings per JSON, with `\uXXXX`
    ///   surrogate pairs (a lone surrogate is [`FilterErrorKind::InvalidEscape`]).
    ///
    /// The result is normalized: `a and (b and c)` is one `And` of three operands, redundant
    /// parentheses vanish.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, FilterErrorKind};
    /// let f = Filter::parse(r#"emails[type eq "work" and value co "@example.com"] or not(active eq true)"#)?;
    /// assert_eq!(f.to_string(), r#"emails[type eq "work" and value co "@example.com"] or not (active eq true)"#);
    ///
    /// let e = Filter::parse(r#"status xx "ACTIVE""#).unwrap_err();
    /// assert_eq!(e.to_string(), "expected a compare operator at byte 7");
    /// # Ok::<(), mfa_devices::filter::FilterError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        Self::parse_with(input, &ParseOptions::new())
    }

    /// Parses a SCIM filter with explicit limits.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, FilterErrorKind, ParseOptions};
    /// let deep = "(".repeat(100_000);
    /// let e = Filter::parse_with(&deep, &ParseOptions::new().max_length(1 << 20)).unwrap_err();
    /// assert_eq!(e.kind(), &FilterErrorKind::TooDeep { max: 64 });
    /// ```
    pub fn parse_with(input: &str, options: &ParseOptions) -> Result<Filter, FilterError> {
        parse::parse(input, options).map(Filter::from_expr)
    }

    /// The filter as SCIM text, or [`FilterErrorKind::Unsupported`] (offset 0) for trees that
    /// have no SCIM syntax: CREST literals and extended operators, paths deeper than
    /// `name.sub`, names that are not SCIM attribute names, nested value paths. For SCIM trees
    /// it is the [`Display`](fmt::Display) text.
    ///
    /// The text is guaranteed to parse with the default [`ParseOptions`]: a tree whose SCIM text
    /// would be longer than 8 KiB or nest deeper than 64 is refused with the error
    /// [`Filter::parse`] gives on that text ([`FilterErrorKind::TooLong`] /
    /// [`FilterErrorKind::TooDeep`], offset into the SCIM text). A CREST filter can hit this
    /// within CREST's own caps: `! /a pr` needs no parentheses in CREST but is `not (a pr)` in
    /// SCIM, and a control character in a string is one byte in CREST and six (`\u0001`) in SCIM.
    ///
    /// ```
    /// use mfa_devices::crest::parse_query_filter;
    /// use mfa_devices::filter::{Filter, FilterErrorKind, ast::Expr};
    /// assert_eq!(Filter::parse("a pr").unwrap().to_scim().unwrap(), "a pr");
    /// let e = Filter::from_expr(Expr::Literal(true)).to_scim().unwrap_err();
    /// assert!(matches!(e.kind(), FilterErrorKind::Unsupported(_)));
    ///
    /// let deep = format!("{}! /a pr{}", "!(".repeat(64), ")".repeat(64));
    /// let crest = parse_query_filter(&deep).unwrap(); // depth 64: CREST accepts it
    /// assert_eq!(crest.to_scim().unwrap_err().kind(), &FilterErrorKind::TooDeep { max: 64 });
    /// ```
    pub fn to_scim(&self) -> Result<String, FilterError> {
        self.to_scim_with(&ParseOptions::new())
    }

    /// [`to_scim`](Filter::to_scim) for a reader with other limits: the text is guaranteed to
    /// parse with `options`.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, ParseOptions};
    /// let deep = ParseOptions::new().max_depth(100);
    /// let f = Filter::parse_with(&format!("{}a pr{}", "not (".repeat(70), ")".repeat(70)), &deep)
    ///     .unwrap();
    /// assert!(f.to_scim().is_err());
    /// assert!(f.to_scim_with(&deep).is_ok());
    /// ```
    pub fn to_scim_with(&self, options: &ParseOptions) -> Result<String, FilterError> {
        display::check_scim(&self.expr)?;
        let text = self.to_string();
        // What SCIM cannot read back (too long, too deep) is not a SCIM rendering.
        parse::parse(&text, options)?;
        Ok(text)
    }

    /// Evaluates the filter against one resource (interpreted; see [`compile`](Filter::compile)
    /// for repeated use).
    ///
    /// Rules:
    /// - string comparisons ignore case (Unicode lowercase), unless the resource reports the
    ///   value as [`Attr::CaseExactStr`] or a compiled filter's schema marks it `caseExact`;
    /// - a multi-valued attribute matches when any value does, except `ne`, which matches when
    ///   no value is equal; sub-attributes fan out over multi-valued parents (`emails.value`);
    ///   `a[x and y]` needs one element satisfying both; inside brackets over plain values,
    ///   `value` is the element;
    /// - `eq null` is true for null, absent and `[]`; `ne null` is its negation; `ne x` is the
    ///   negation of `eq x` (true on an absent attribute);
    /// - `pr` is false for null, absent, `[]` and (**decision**) `""`; true for anything else;
    /// - numbers compare numerically (`42 eq 42.0`); two RFC 3339 date-times compare as
    ///   instants (eq and ordering); other strings compare as text (ordering lexicographic by
    ///   lowercased characters);
    /// - **decision**: values of different types never match (`logins eq "42"` is false), and
    ///   booleans only support `eq`/`ne` (`gt true` matches nothing);
    /// - `mobilePayload eq "<jwt>"` matches the resource whose `id` equals the JWT payload's
    ///   `dvc` claim (see [`MobilePayload`]) — only once a [`PayloadVerifier`] accepted the JWT,
    ///   which needs [`compile_with`](Filter::compile_with). Here (no verifier) it **fails
    ///   closed**: `eq` matches nothing, `ne` everything;
    /// - CREST-only nodes: `Literal(b)` is `b`; an extended operator never matches.
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// let user = serde_json::json!({
    ///     "userName": "Bjensen", "logins": 42,
    ///     "emails": [{"type": "work", "value": "bjensen@example.com"}, {"type": "home", "value": "b@home.org"}],
    ///     "meta": {"lastModified": "2011-05-13T04:42:34Z"}
    /// });
    /// let yes = |s: &str| Filter::parse(s).unwrap().matches(&user);
    /// assert!(yes(r#"username eq "bjensen""#));
    /// assert!(yes(r#"emails[type eq "work" and value co "@example.com"]"#));
    /// assert!(!yes(r#"emails[type eq "home" and value co "@example.com"]"#));
    /// assert!(yes(r#"logins ge 42.0 and title eq null and not (title pr)"#));
    /// assert!(yes(r#"meta.lastModified gt "2011-05-12T22:00:00-06:00""#));
    /// ```
    pub fn matches<R: Resource + ?Sized>(&self, resource: &R) -> bool {
        eval::eval(&self.expr, resource)
    }

    /// Compiles the filter for resources of type `R` (see [`CompiledFilter`]).
    ///
    /// ```
    /// use mfa_devices::filter::Filter;
    /// let c = Filter::parse(r#"type eq "SMS""#).unwrap().compile::<serde_json::Value>();
    /// assert!(c.matches(&serde_json::json!({"type": "sms"})));
    /// ```
    pub fn compile<R: Resource + ?Sized>(&self) -> CompiledFilter<R> {
        compile::compile(&self.expr, &CompileOptions::new())
    }

    /// Compiles with a schema (for `caseExact`) and a mobile payload verifier.
    ///
    /// ```
    /// use mfa_devices::filter::{CompileOptions, Filter};
    /// use mfa_devices::filter::schema::{AttrType, Schema, SchemaAttribute};
    /// static S: Schema = Schema {
    ///     name: "things",
    ///     attributes: &[SchemaAttribute { case_exact: true, ..SchemaAttribute::new("code", AttrType::String, &["eq"]) }],
    ///     logical_operators: &[],
    /// };
    /// let f = Filter::parse(r#"code eq "AbC""#).unwrap();
    /// let exact = f.compile_with::<serde_json::Value>(&CompileOptions::new().schema(&S));
    /// assert!(!exact.matches(&serde_json::json!({"code": "abc"})));
    /// assert!(f.compile::<serde_json::Value>().matches(&serde_json::json!({"code": "abc"})));
    /// ```
    pub fn compile_with<R: Resource + ?Sized>(
        &self,
        options: &CompileOptions<'_>,
    ) -> CompiledFilter<R> {
        compile::compile(&self.expr, options)
    }

    /// [`compile_with`](Filter::compile_with), refusing a `mobilePayload` comparison when
    /// `options` has no [`verifier`](CompileOptions::verifier): 400 `INVALID_DATA` with one
    /// `INVALID_FILTER` detail at `filter` (without a verifier the payload's signature is never
    /// checked, so the comparison could only match nothing — a server that forgot the verifier
    /// hears about it instead).
    ///
    /// ```
    /// use mfa_devices::filter::{CompileOptions, Filter, schema::DEVICES};
    /// let f = DEVICES.parse(r#"mobilePayload eq "e30.eyJkdmMiOiJhIn0.c2ln""#).unwrap();
    /// let e = f.compile_checked::<serde_json::Value>(&CompileOptions::new().schema(&DEVICES)).unwrap_err();
    /// assert_eq!((e.http_status(), e.details[0].code.as_str()), (400, "INVALID_FILTER"));
    /// let verify = |jwt: &str| jwt.ends_with(".c2ln"); // a real server checks the signature
    /// let c = f.compile_checked::<serde_json::Value>(&CompileOptions::new().schema(&DEVICES).verifier(&verify)).unwrap();
    /// assert!(c.matches(&serde_json::json!({"id": "a"})));
    /// ```
    pub fn compile_checked<R: Resource + ?Sized>(
        &self,
        options: &CompileOptions<'_>,
    ) -> Result<CompiledFilter<R>, ApiError> {
        if !options.has_verifier() && uses_mobile_payload(&self.expr) {
            return Err(ApiError::invalid_data(
                crate::error::VALIDATION_MESSAGE,
                vec![crate::error::ErrorDetail::new(
                    crate::error::DetailCode::InvalidFilter,
                    "filter",
                    "mobilePayload cannot be evaluated: the payload's signature cannot be verified here",
                )],
            ));
        }
        Ok(compile::compile(&self.expr, options))
    }

    /// Checks that the filter only uses what the collection allows (attributes, their operators,
    /// logical operators, value types). A refusal is PingOne's answer: HTTP 400
    /// `INVALID_DATA` with one `INVALID_FILTER` detail, target `filter`, a message naming the
    /// attribute or operator, and `innerError.supportedAttributes` / `supportedOperators`.
    ///
    /// ```
    /// use mfa_devices::filter::{Filter, schema::DEVICES};
    /// let e = Filter::parse(r#"not (type eq "SMS")"#).unwrap().validate(&DEVICES).unwrap_err();
    /// assert_eq!(e.details[0].message, "Unsupported operator 'not' in filter; supported operators: eq, and, or");
    /// ```
    pub fn validate(&self, schema: &schema::Schema) -> Result<(), ApiError> {
        schema.check(&self.expr)
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    /// [`Filter::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Display for Filter {
    /// The canonical SCIM text: `Filter::parse(&f.to_string()) == Ok(f)` for every filter the
    /// parser produces (see [`Filter::to_scim`] for trees built by hand).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.expr, f)
    }
}

/// Whether `e` compares `mobilePayload` anywhere.
fn uses_mobile_payload(e: &Expr) -> bool {
    match e {
        Expr::Compare(p, op, v) => eval::mobile_compare(p, op, v).is_some(),
        Expr::ValuePath(_, x) | Expr::Not(x) => uses_mobile_payload(x),
        Expr::And(xs) | Expr::Or(xs) => xs.iter().any(uses_mobile_payload),
        Expr::Literal(_) | Expr::Present(_) => false,
    }
}
