//! CREST query requests (`_queryFilter`, `_sortKeys`, paging parameters), the paged-results
//! envelope and the pure [`query_with`] engine.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use data_encoding::BASE64URL_NOPAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::Sha256;

use super::{CrestError, parse_query_filter, parse_query_filter_with, to_query_filter};
use crate::filter::ast::AttrPath;
use crate::filter::{Filter, ParseOptions, Resource};

/// `_totalPagedResultsPolicy`: whether and how a query response counts all matching results.
///
/// ```
/// use mfa_devices::crest::TotalPagedResultsPolicy;
/// assert_eq!("exact".parse::<TotalPagedResultsPolicy>().unwrap(), TotalPagedResultsPolicy::Exact);
/// assert_eq!(TotalPagedResultsPolicy::default().to_string(), "NONE");
/// assert!("ALL".parse::<TotalPagedResultsPolicy>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TotalPagedResultsPolicy {
    /// No count: `totalPagedResults` and `remainingPagedResults` are -1. The default.
    #[default]
    None,
    /// An estimate is enough. **Decision**: the pure engine has every item at hand, so its
    /// estimate is the exact count.
    Estimate,
    /// The exact count of matching results.
    Exact,
}

impl TotalPagedResultsPolicy {
    /// `NONE`, `ESTIMATE` or `EXACT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Estimate => "ESTIMATE",
            Self::Exact => "EXACT",
        }
    }
}

impl fmt::Display for TotalPagedResultsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TotalPagedResultsPolicy {
    type Err = CrestError;

    /// Case-insensitive, as CREST reads it; anything else is a 400.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::None, Self::Estimate, Self::Exact]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| CrestError::InvalidParameter {
                name: "_totalPagedResultsPolicy",
                value: s.to_owned(),
                allowed: "NONE, ESTIMATE or EXACT (case-insensitive)",
            })
    }
}

impl Serialize for TotalPagedResultsPolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TotalPagedResultsPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One `_sortKeys` entry: a JSON pointer and a direction (`-` descending, `+`/nothing ascending).
///
/// ```
/// use mfa_devices::crest::SortKey;
/// let k: SortKey = "-/createdDate".parse().unwrap();
/// assert!(!k.ascending);
/// assert_eq!(k.field.segments, ["createdDate"]);
/// assert_eq!(k.to_string(), "-/createdDate");
/// assert!("-".parse::<SortKey>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The field, as a JSON pointer (`urn` is always `None`).
    pub field: AttrPath,
    /// `true` for ascending (`+` or no prefix), `false` for descending (`-`).
    pub ascending: bool,
}

impl SortKey {
    /// Ascending on `field` (a JSON pointer, leading `/` optional).
    ///
    /// ```
    /// use mfa_devices::crest::SortKey;
    /// assert_eq!(SortKey::ascending("deviceName").unwrap().to_string(), "/deviceName");
    /// ```
    pub fn ascending(field: &str) -> Result<Self, CrestError> {
        let mut k: Self = field.parse()?;
        k.ascending = true;
        Ok(k)
    }

    /// Descending on `field`.
    ///
    /// ```
    /// use mfa_devices::crest::SortKey;
    /// assert_eq!(SortKey::descending("/key/kty").unwrap().to_string(), "-/key/kty");
    /// ```
    pub fn descending(field: &str) -> Result<Self, CrestError> {
        let mut k: Self = field.parse()?;
        k.ascending = false;
        Ok(k)
    }
}

impl FromStr for SortKey {
    type Err = CrestError;

    /// `[+-]?pointer`; the pointer follows the `_queryFilter` pointer rules (leading `/`
    /// optional, `~0`/`~1` escapes, no empty reference tokens).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ascending, field) = match s.as_bytes().first() {
            Some(b'-') => (false, s.get(1..).unwrap_or_default()),
            Some(b'+') => (true, s.get(1..).unwrap_or_default()),
            _ => (true, s),
        };
        let bad = || CrestError::InvalidParameter {
            name: "_sortKeys",
            value: s.to_owned(),
            allowed: "comma-separated non-empty JSON pointers, each optionally prefixed + or -",
        };
        if field.is_empty() || field.contains([' ', '(', ')', ',']) {
            return Err(bad());
        }
        // Reuse the filter pointer grammar: `/<pointer> pr` parses exactly one pointer (the `/`
        // keeps words such as `true` or `!` pointers).
        let slash = if field.starts_with('/') { "" } else { "/" };
        match parse_query_filter(&format!("{slash}{field} pr")).map(Filter::into_expr) {
            Ok(crate::filter::ast::Expr::Present(path)) => Ok(Self {
                field: path,
                ascending,
            }),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.ascending {
            f.write_str("-")?;
        }
        for seg in &self.field.segments {
            f.write_str("/")?;
            f.write_str(&seg.replace('~', "~0").replace('/', "~1"))?;
        }
        Ok(())
    }
}

/// What a query asks for: a `_queryFilter`, or one of the other two CREST query kinds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum QueryKind {
    /// `_queryFilter`, parsed.
    Filter(Filter),
    /// `_queryId`, as given.
    Id(String),
    /// `_queryExpression`, as given.
    Expression(String),
}

/// A CREST query request: which resources, in which order, which page, and whether to count.
///
/// Build one from the request's (percent-decoded) query parameters with
/// [`from_query_pairs`](Self::from_query_pairs), or with [`QueryRequest::filter`] and the
/// public fields.
///
/// ```
/// use mfa_devices::crest::{QueryRequest, TotalPagedResultsPolicy};
/// let req = QueryRequest::from_query_pairs([
///     ("_queryFilter", "/deviceName sw \"iOS\""),
///     ("_sortKeys", "-createdDate,deviceName"),
///     ("_pageSize", "10"),
///     ("_totalPagedResultsPolicy", "exact"),
/// ]).unwrap();
/// assert_eq!(req.page_size, 10);
/// assert_eq!(req.sort_keys.len(), 2);
/// assert_eq!(req.total_paged_results_policy, TotalPagedResultsPolicy::Exact);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    /// The query.
    pub query: QueryKind,
    /// `_sortKeys`, in order of precedence (empty: input order).
    pub sort_keys: Vec<SortKey>,
    /// `_pageSize`: results per page; 0 = no paging (every remaining result).
    pub page_size: u32,
    /// `_pagedResultsCookie`: where the previous page ended (`None` for the first page).
    pub paged_results_cookie: Option<String>,
    /// `_pagedResultsOffset`: results to skip, zero-based.
    pub paged_results_offset: u32,
    /// `_totalPagedResultsPolicy`.
    pub total_paged_results_policy: TotalPagedResultsPolicy,
    /// Every other parameter (`_fields`, `_prettyPrint`, custom ones), in order, unused by
    /// [`query`].
    pub other_parameters: Vec<(String, String)>,
}

/// `application/x-www-form-urlencoded` decoding of one name or value.
fn form_decode(s: &str) -> Result<String, CrestError> {
    let bad = || CrestError::InvalidParameter {
        name: "query string",
        value: s.to_owned(),
        allowed: "percent-encoded UTF-8 (%XX with two hex digits; + for a space)",
    };
    if !s.contains(['%', '+']) {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |j: usize| b.get(j).and_then(|h| char::from(*h).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => out.push(u8::try_from(h * 16 + l).map_err(|_| bad())?),
                    _ => return Err(bad()),
                }
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

const QUERY_PARAMS: [&str; 3] = ["_queryFilter", "_queryId", "_queryExpression"];

/// The most `_sortKeys` entries a request may give (all `_sortKeys` parameters together).
///
/// **Decision** (AIC documents no limit): every sort key costs a lookup per matching item and a
/// comparison per pair of items, so the number is capped; 16 is far more than any device list
/// sorts by. The `_sortKeys` text is capped too, at the filter's length limit (8 KiB).
pub const MAX_SORT_KEYS: usize = 16;

fn int_param(name: &'static str, value: &str) -> Result<u32, CrestError> {
    // Java `Integer.parseInt` range, non-negative.
    value
        .parse::<i32>()
        .ok()
        .and_then(|i| u32::try_from(i).ok())
        .ok_or_else(|| CrestError::InvalidParameter {
            name,
            value: value.to_owned(),
            allowed: "an integer from 0 to 2147483647",
        })
}

impl QueryRequest {
    /// A request for the resources matching `filter`: no sorting, no paging, policy `NONE`.
    ///
    /// ```
    /// use mfa_devices::crest::{parse_query_filter, QueryRequest};
    /// let req = QueryRequest::filter(parse_query_filter("true").unwrap());
    /// assert_eq!(req.page_size, 0);
    /// ```
    pub fn filter(filter: Filter) -> Self {
        Self {
            query: QueryKind::Filter(filter),
            sort_keys: Vec::new(),
            page_size: 0,
            paged_results_cookie: None,
            paged_results_offset: 0,
            total_paged_results_policy: TotalPagedResultsPolicy::None,
            other_parameters: Vec::new(),
        }
    }

    /// Reads a query request from its percent-decoded query parameters, with CREST's 400 rules:
    ///
    /// - exactly one of `_queryFilter`, `_queryId`, `_queryExpression`
    ///   ([`ConflictingQuery`](CrestError::ConflictingQuery) /
    ///   [`MissingQuery`](CrestError::MissingQuery)); a `_queryFilter` that does not parse is
    ///   [`InvalidQueryFilter`](CrestError::InvalidQueryFilter);
    /// - `_pageSize` and `_pagedResultsOffset` are integers from 0 to 2³¹−1;
    /// - `_pagedResultsOffset` above 0 together with a `_pagedResultsCookie` is
    ///   [`OffsetWithCookie`](CrestError::OffsetWithCookie); an empty cookie means none;
    /// - `_sortKeys` is comma-separated, `-` descending, `+`/nothing ascending; an empty key
    ///   (`a,,b`, `-`, an empty value) is a 400;
    /// - `_totalPagedResultsPolicy` is `NONE`, `ESTIMATE` or `EXACT`, case-insensitive.
    ///
    /// **Decisions**: the reserved parameter names are matched ASCII case-insensitively; each
    /// may appear once ([`DuplicateParameter`](CrestError::DuplicateParameter)) except
    /// `_sortKeys`, whose values are concatenated; other parameters are kept in
    /// [`other_parameters`](Self::other_parameters).
    ///
    /// ```
    /// use mfa_devices::crest::{CrestError, QueryRequest};
    /// assert!(matches!(
    ///     QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_sortKeys", "a,,b")]),
    ///     Err(CrestError::InvalidParameter { name: "_sortKeys", .. })));
    /// assert_eq!(
    ///     QueryRequest::from_query_pairs([("_queryFilter", "true"),
    ///         ("_pagedResultsOffset", "5"), ("_pagedResultsCookie", "abc")]),
    ///     Err(CrestError::OffsetWithCookie));
    /// assert_eq!(QueryRequest::from_query_pairs([("_pageSize", "5")]),
    ///     Err(CrestError::MissingQuery));
    /// ```
    pub fn from_query_pairs<'a, I>(pairs: I) -> Result<Self, CrestError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        Self::from_query_pairs_with(pairs, &ParseOptions::new())
    }

    /// [`from_query_pairs`](Self::from_query_pairs) with explicit limits. `limits` caps the
    /// `_queryFilter` as [`parse_query_filter_with`](super::parse_query_filter_with) does
    /// (length in bytes and depth), and the same byte length caps `_queryId`,
    /// `_queryExpression` and the `_sortKeys` text (all `_sortKeys` parameters together);
    /// at most [`MAX_SORT_KEYS`] sort keys are allowed. Beyond a cap the request is a 400
    /// ([`InvalidQueryFilter`](CrestError::InvalidQueryFilter) with
    /// [`TooLong`](crate::filter::FilterErrorKind::TooLong)/[`TooDeep`](crate::filter::FilterErrorKind::TooDeep),
    /// or [`InvalidParameter`](CrestError::InvalidParameter)).
    ///
    /// ```
    /// use mfa_devices::crest::{CrestError, QueryRequest, MAX_SORT_KEYS};
    /// use mfa_devices::filter::ParseOptions;
    /// let keys = vec!["a"; MAX_SORT_KEYS + 1].join(",");
    /// assert!(matches!(
    ///     QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_sortKeys", &keys)]),
    ///     Err(CrestError::InvalidParameter { name: "_sortKeys", .. })));
    /// let small = ParseOptions::new().max_length(8);
    /// assert!(QueryRequest::from_query_pairs_with([("_queryFilter", "/a eq 'long'")], &small)
    ///     .is_err());
    /// ```
    pub fn from_query_pairs_with<'a, I>(pairs: I, limits: &ParseOptions) -> Result<Self, CrestError>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut sort_text = 0usize;
        let too_long = |name: &'static str, value: &str| CrestError::InvalidParameter {
            name,
            value: value.to_owned(),
            allowed: "a value no longer than the configured limit (8 KiB by default)",
        };
        let mut query: Option<(&'static str, QueryKind)> = None;
        let mut req = Self::filter(Filter::from_expr(crate::filter::ast::Expr::Literal(true)));
        let mut seen = [false; 5];
        let mut once = |i: usize, name: &'static str| {
            if let Some(s) = seen.get_mut(i) {
                if *s {
                    return Err(CrestError::DuplicateParameter(name));
                }
                *s = true;
            }
            Ok(())
        };
        for (name, value) in pairs {
            if let Some(param) = QUERY_PARAMS.iter().find(|p| p.eq_ignore_ascii_case(name)) {
                if let Some((first, _)) = &query {
                    return Err(if first == param {
                        CrestError::DuplicateParameter(param)
                    } else {
                        CrestError::ConflictingQuery {
                            first,
                            second: param,
                        }
                    });
                }
                let kind = match *param {
                    "_queryFilter" => QueryKind::Filter(parse_query_filter_with(value, limits)?),
                    _ if value.len() > limits.length() => return Err(too_long(param, value)),
                    "_queryId" => QueryKind::Id(value.to_owned()),
                    _ => QueryKind::Expression(value.to_owned()),
                };
                query = Some((param, kind));
            } else if name.eq_ignore_ascii_case("_pageSize") {
                once(0, "_pageSize")?;
                req.page_size = int_param("_pageSize", value)?;
            } else if name.eq_ignore_ascii_case("_pagedResultsOffset") {
                once(1, "_pagedResultsOffset")?;
                req.paged_results_offset = int_param("_pagedResultsOffset", value)?;
            } else if name.eq_ignore_ascii_case("_pagedResultsCookie") {
                once(2, "_pagedResultsCookie")?;
                req.paged_results_cookie = (!value.is_empty()).then(|| value.to_owned());
            } else if name.eq_ignore_ascii_case("_totalPagedResultsPolicy") {
                once(3, "_totalPagedResultsPolicy")?;
                req.total_paged_results_policy = value.parse()?;
            } else if name.eq_ignore_ascii_case("_sortKeys") {
                sort_text = sort_text.saturating_add(value.len());
                if sort_text > limits.length() {
                    return Err(too_long("_sortKeys", value));
                }
                for key in value.split(',') {
                    if req.sort_keys.len() >= MAX_SORT_KEYS {
                        return Err(CrestError::InvalidParameter {
                            name: "_sortKeys",
                            value: value.to_owned(),
                            allowed: "at most 16 sort keys (crest::MAX_SORT_KEYS)",
                        });
                    }
                    req.sort_keys.push(key.parse()?);
                }
            } else {
                req.other_parameters
                    .push((name.to_owned(), value.to_owned()));
            }
        }
        let Some((_, kind)) = query else {
            return Err(CrestError::MissingQuery);
        };
        req.query = kind;
        if req.paged_results_offset > 0 && req.paged_results_cookie.is_some() {
            return Err(CrestError::OffsetWithCookie);
        }
        Ok(req)
    }

    /// Reads a query request from a raw query string (`a=1&b=2`, without the `?`), decoding it
    /// as a servlet container does — `+` is a space, `%XX` a byte, the bytes UTF-8 — then
    /// applying [`from_query_pairs`](Self::from_query_pairs). Empty pieces (`a=1&&b=2`) are
    /// skipped; a piece without `=` is a parameter with an empty value. A malformed `%` escape or
    /// bytes that are not UTF-8 are an [`InvalidParameter`](CrestError::InvalidParameter)
    /// naming `query string`.
    ///
    /// ```
    /// use mfa_devices::crest::{QueryRequest, QueryKind, parse_query_filter};
    /// let req = QueryRequest::from_query_string(
    ///     "_queryFilter=%2FdeviceName+sw+%22iOS%22&_pageSize=5").unwrap();
    /// assert_eq!(req.query,
    ///     QueryKind::Filter(parse_query_filter(r#"/deviceName sw "iOS""#).unwrap()));
    /// assert_eq!(req.page_size, 5);
    /// assert!(QueryRequest::from_query_string("_queryFilter=%zz").is_err());
    /// ```
    pub fn from_query_string(raw: &str) -> Result<Self, CrestError> {
        let mut pairs = Vec::new();
        for piece in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            pairs.push((form_decode(name)?, form_decode(value)?));
        }
        Self::from_query_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }

    /// The request as query parameters (not percent-encoded), for a client calling AIC:
    /// the query, then `_sortKeys`, `_pageSize`, `_pagedResultsCookie`, `_pagedResultsOffset`,
    /// `_totalPagedResultsPolicy` where they differ from the defaults, then the other
    /// parameters. A filter CREST cannot express is an error.
    ///
    /// ```
    /// use mfa_devices::crest::QueryRequest;
    /// let pairs = [("_queryFilter", "/a eq 1"), ("_pageSize", "2"), ("_sortKeys", "-b")];
    /// let req = QueryRequest::from_query_pairs(pairs).unwrap();
    /// let out = req.to_query_pairs().unwrap();
    /// assert_eq!(out, [("_queryFilter".to_owned(), "/a eq 1".to_owned()),
    ///                  ("_sortKeys".to_owned(), "-/b".to_owned()),
    ///                  ("_pageSize".to_owned(), "2".to_owned())]);
    /// ```
    pub fn to_query_pairs(&self) -> Result<Vec<(String, String)>, CrestError> {
        let mut out = Vec::new();
        match &self.query {
            QueryKind::Filter(f) => out.push(("_queryFilter".to_owned(), to_query_filter(f)?)),
            QueryKind::Id(id) => out.push(("_queryId".to_owned(), id.clone())),
            QueryKind::Expression(e) => out.push(("_queryExpression".to_owned(), e.clone())),
        }
        if !self.sort_keys.is_empty() {
            let keys: Vec<String> = self.sort_keys.iter().map(ToString::to_string).collect();
            out.push(("_sortKeys".to_owned(), keys.join(",")));
        }
        if self.page_size > 0 {
            out.push(("_pageSize".to_owned(), self.page_size.to_string()));
        }
        if let Some(c) = &self.paged_results_cookie {
            out.push(("_pagedResultsCookie".to_owned(), c.clone()));
        }
        if self.paged_results_offset > 0 {
            out.push((
                "_pagedResultsOffset".to_owned(),
                self.paged_results_offset.to_string(),
            ));
        }
        if self.total_paged_results_policy != TotalPagedResultsPolicy::None {
            out.push((
                "_totalPagedResultsPolicy".to_owned(),
                self.total_paged_results_policy.to_string(),
            ));
        }
        out.extend(self.other_parameters.iter().cloned());
        Ok(out)
    }
}

/// CREST's paged query result envelope, fields in the order CREST writes them:
/// `{"result":[…],"resultCount":N,"pagedResultsCookie":…,"totalPagedResultsPolicy":…,
/// "totalPagedResults":…,"remainingPagedResults":…}`.
///
/// ```
/// use mfa_devices::crest::{QueryResponse, OathDevice};
/// let text = r#"{"result":[],"resultCount":0,"pagedResultsCookie":null,
///   "totalPagedResultsPolicy":"NONE","totalPagedResults":-1,"remainingPagedResults":-1}"#;
/// let r: QueryResponse<OathDevice> = serde_json::from_str(text).unwrap();
/// assert_eq!(r.total_paged_results, -1);
/// assert!(r.paged_results_cookie.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResponse<T> {
    /// The results on this page.
    pub result: Vec<T>,
    /// `resultCount`: the number of results on this page.
    #[serde(rename = "resultCount")]
    pub result_count: usize,
    /// `pagedResultsCookie`: pass it back as `_pagedResultsCookie` for the next page; `null` on
    /// the last page (and whenever paging is off).
    #[serde(rename = "pagedResultsCookie")]
    pub paged_results_cookie: Option<String>,
    /// `totalPagedResultsPolicy`: the policy the totals were computed with.
    #[serde(rename = "totalPagedResultsPolicy")]
    pub total_paged_results_policy: TotalPagedResultsPolicy,
    /// `totalPagedResults`: every matching result across all pages; -1 when not computed.
    #[serde(rename = "totalPagedResults")]
    pub total_paged_results: i64,
    /// `remainingPagedResults`: matching results after this page; -1 when not computed.
    #[serde(rename = "remainingPagedResults")]
    pub remaining_paged_results: i64,
}

impl<T> QueryResponse<T> {
    /// Converts the results, keeping the envelope (e.g. `&T` to `T` with `Clone::clone`).
    ///
    /// ```
    /// use mfa_devices::crest::QueryResponse;
    /// let r = QueryResponse { result: vec![1, 2], result_count: 2, paged_results_cookie: None,
    ///     total_paged_results_policy: Default::default(), total_paged_results: -1,
    ///     remaining_paged_results: -1 };
    /// assert_eq!(r.map(|i| i * 10).result, [10, 20]);
    /// ```
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> QueryResponse<U> {
        QueryResponse {
            result: self.result.into_iter().map(f).collect(),
            result_count: self.result_count,
            paged_results_cookie: self.paged_results_cookie,
            total_paged_results_policy: self.total_paged_results_policy,
            total_paged_results: self.total_paged_results,
            remaining_paged_results: self.remaining_paged_results,
        }
    }
}

/// One matching item with its sort-key values and its input position (the final tiebreak).
struct Entry<'a, T> {
    index: usize,
    keys: Vec<Value>,
    item: &'a T,
}

/// The value at the JSON pointer `segments` below `root` (`Null` when absent); array elements by
/// decimal index.
pub(super) fn lookup(root: &Value, segments: &[String]) -> Value {
    let mut cur = root;
    for seg in segments {
        let next = match cur {
            Value::Object(m) => m.get(seg.as_str()),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Value::Null,
        }
    }
    cur.clone()
}

/// A resource the query engine can sort: it answers the JSON value at a sort key's pointer.
///
/// The default serializes the resource and looks the pointer up (exact names, `null` when
/// absent) — correct for any `Serialize` type (`impl QueryItem for MyType {}`), but it builds
/// the whole JSON per sorted item. The four device models and `serde_json::Value` implement it
/// directly, without serializing.
///
/// ```
/// use mfa_devices::crest::{QueryItem, SortKey};
/// let v = serde_json::json!({"key": {"kty": "EC"}});
/// assert_eq!(v.sort_value(&SortKey::ascending("/key/kty").unwrap().field), "EC");
/// assert_eq!(v.sort_value(&SortKey::ascending("/missing").unwrap().field), serde_json::Value::Null);
/// ```
pub trait QueryItem: Serialize {
    /// The value at the JSON pointer `field` (`Value::Null` when absent).
    fn sort_value(&self, field: &AttrPath) -> Value {
        match serde_json::to_value(self) {
            Ok(json) => lookup(&json, &field.segments),
            Err(_) => Value::Null,
        }
    }
}

impl QueryItem for Value {
    fn sort_value(&self, field: &AttrPath) -> Value {
        lookup(self, &field.segments)
    }
}

impl<T: QueryItem> QueryItem for &T {
    fn sort_value(&self, field: &AttrPath) -> Value {
        (**self).sort_value(field)
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A total order on JSON values for sorting: null (and absent) < booleans < numbers < strings
/// < arrays < objects; numbers by value (integers exactly), strings by code point, arrays and
/// objects element by element.
fn cmp_json(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let fx = x.as_f64().unwrap_or(0.0);
            let fy = y.as_f64().unwrap_or(0.0);
            let exact = |n: &serde_json::Number| {
                n.as_i64()
                    .map(i128::from)
                    .or_else(|| n.as_u64().map(i128::from))
            };
            // (value as f64, floats after integers, exact integer): a lexicographic, total key.
            fx.total_cmp(&fy)
                .then_with(|| x.is_f64().cmp(&y.is_f64()))
                .then_with(|| exact(x).cmp(&exact(y)))
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (l, r) in x.iter().zip(y) {
                let c = cmp_json(l, r);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            for ((lk, lv), (rk, rv)) in x.iter().zip(y) {
                let c = lk.cmp(rk).then_with(|| cmp_json(lv, rv));
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn cmp_keys(sort: &[SortKey], a: &[Value], ai: usize, b: &[Value], bi: usize) -> Ordering {
    for ((k, x), y) in sort.iter().zip(a).zip(b) {
        let c = cmp_json(x, y);
        let c = if k.ascending { c } else { c.reverse() };
        if c != Ordering::Equal {
            return c;
        }
    }
    ai.cmp(&bi)
}

/// The server-held secret that protects `_pagedResultsCookie` values: at least
/// [`MIN_LEN`](Self::MIN_LEN) (32) bytes, so it is valid by construction (an empty or short key
/// made cookies forgeable). Two independent keys are derived from it (HMAC-SHA-256 with
/// distinct labels), one to encrypt cookies and one to authenticate them. `Debug` shows no key
/// material.
///
/// ```
/// use mfa_devices::crest::CookieKey;
/// let key = CookieKey::new(b"a 32-byte server-held secret key").unwrap();
/// assert_eq!(format!("{key:?}"), "CookieKey(<redacted>)");
/// assert!(CookieKey::new(b"").is_err());
/// assert_eq!(CookieKey::new(&[0; 31]).unwrap_err().length, 31);
/// let _from_array = CookieKey::from([7u8; 32]);
/// ```
#[derive(Clone)]
pub struct CookieKey {
    enc: [u8; 32],
    mac: [u8; 32],
}

/// A cookie secret shorter than [`CookieKey::MIN_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieKeyTooShort {
    /// The length given, in bytes.
    pub length: usize,
}

impl fmt::Display for CookieKeyTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a paging cookie key needs at least {} random bytes; {} were given",
            CookieKey::MIN_LEN,
            self.length
        )
    }
}

impl std::error::Error for CookieKeyTooShort {}

impl CookieKey {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key from at least [`MIN_LEN`](Self::MIN_LEN) secret random bytes.
    pub fn new(secret: &[u8]) -> Result<Self, CookieKeyTooShort> {
        if secret.len() < Self::MIN_LEN {
            return Err(CookieKeyTooShort {
                length: secret.len(),
            });
        }
        Ok(Self {
            enc: derive(secret, b"mfa-devices/crest/pagedResultsCookie/v2/encrypt"),
            mac: derive(
                secret,
                b"mfa-devices/crest/pagedResultsCookie/v2/authenticate",
            ),
        })
    }
}

impl From<[u8; 32]> for CookieKey {
    fn from(secret: [u8; 32]) -> Self {
        Self {
            enc: derive(&secret, b"mfa-devices/crest/pagedResultsCookie/v2/encrypt"),
            mac: derive(
                &secret,
                b"mfa-devices/crest/pagedResultsCookie/v2/authenticate",
            ),
        }
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey(<redacted>)")
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; the fallback is never taken.
    <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()))
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut m = hmac(secret);
    m.update(label);
    m.finalize().into_bytes().into()
}

/// What a query needs to issue and check `pagedResultsCookie` values: the [`CookieKey`], the
/// owner of the collection being listed, the current time, fresh random bytes and how long a
/// cookie stays valid. The crate reads no clock and draws no randomness: `now` and `nonce` come
/// from the caller.
///
/// - **owner** names whose collection this is — the collection path
///   ([`Realm::devices_path`](super::Realm::devices_path)) is a good choice. A cookie only
///   resumes the same owner's list: one from another user's list is refused.
/// - **nonce**: 16 fresh random bytes per query call. They make cookies for the same position
///   unlinkable; reusing them reveals only that two cookies encode the same position (the
///   encryption is nonce-misuse resistant).
/// - **lifetime** (default [`DEFAULT_LIFETIME_SECS`](Self::DEFAULT_LIFETIME_SECS), 30 minutes):
///   a cookie resumed at or after `now + lifetime` of the query that issued it is
///   [`InvalidCookie`](CrestError::InvalidCookie). A zero or negative lifetime makes cookies
///   that are already expired.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::crest::{CookieKey, Paging};
/// let key = CookieKey::new(&[9; 32]).unwrap();
/// let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
/// let paging = Paging::new(&key, "/json/realms/root/users/u1/devices/2fa/oath", now, [1; 16])
///     .lifetime(TimeDelta::minutes(5));
/// assert!(format!("{paging:?}").contains("<redacted>"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a> {
    key: &'a CookieKey,
    owner: &'a str,
    now: DateTime<Utc>,
    nonce: [u8; NONCE_LEN],
    lifetime: TimeDelta,
}

impl<'a> Paging<'a> {
    /// The default cookie lifetime: 1,800 seconds (30 minutes). **Decision**: AIC documents
    /// none; long enough to page through a list, short enough that a leaked cookie soon stops
    /// working.
    pub const DEFAULT_LIFETIME_SECS: i64 = 30 * 60;

    /// Paging for `owner`'s collection at `now`, with fresh random `nonce` bytes and the default
    /// lifetime.
    pub fn new(
        key: &'a CookieKey,
        owner: &'a str,
        now: DateTime<Utc>,
        nonce: [u8; NONCE_LEN],
    ) -> Self {
        Self {
            key,
            owner,
            now,
            nonce,
            lifetime: TimeDelta::seconds(Self::DEFAULT_LIFETIME_SECS),
        }
    }

    /// Sets how long cookies issued now stay valid.
    #[must_use]
    pub fn lifetime(mut self, lifetime: TimeDelta) -> Self {
        self.lifetime = lifetime;
        self
    }
}

const NONCE_LEN: usize = 16;
const TAG_LEN: usize = 32;
const COOKIE_VERSION: u8 = 2;
const COOKIE_DOMAIN: &[u8] = b"mfa-devices/crest/pagedResultsCookie/v2\0";

/// The cookie's synthetic IV and tag: HMAC over what it is bound to (owner, query, sort keys)
/// and the plaintext.
fn cookie_tag(paging: &Paging<'_>, request: &QueryRequest, plaintext: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = hmac(&paging.key.mac);
    let mut field = |bytes: &[u8]| {
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    field(COOKIE_DOMAIN);
    field(paging.owner.as_bytes());
    let query = match &request.query {
        QueryKind::Filter(f) => to_query_filter(f).unwrap_or_else(|_| format!("{f:?}")),
        QueryKind::Id(s) | QueryKind::Expression(s) => s.clone(),
    };
    field(query.as_bytes());
    field(&(request.sort_keys.len() as u64).to_be_bytes());
    for k in &request.sort_keys {
        field(k.to_string().as_bytes());
    }
    field(plaintext);
    mac.finalize().into_bytes().into()
}

/// XORs `data` with the keystream HMAC-SHA-256(enc, iv ‖ counter) for counter 0, 1, ….
fn apply_keystream(key: &CookieKey, iv: &[u8; TAG_LEN], data: &mut [u8]) {
    for (counter, chunk) in (0u64..).zip(data.chunks_mut(32)) {
        let mut m = hmac(&key.enc);
        m.update(iv);
        m.update(&counter.to_be_bytes());
        let block = m.finalize().into_bytes();
        for (b, k) in chunk.iter_mut().zip(block.iter()) {
            *b ^= k;
        }
    }
}

/// `base64url(version ‖ tag ‖ E(nonce ‖ expires_ms ‖ json([keys, index])))`, encrypted with the
/// tag as synthetic IV (SIV: encrypt-with-MAC-as-IV, nonce-misuse resistant).
fn encode_cookie(
    paging: &Paging<'_>,
    request: &QueryRequest,
    keys: &[Value],
    index: usize,
) -> Result<String, CrestError> {
    let expires = paging
        .now
        .timestamp_millis()
        .saturating_add(paging.lifetime.num_milliseconds());
    let mut plain = Vec::with_capacity(64);
    plain.extend_from_slice(&paging.nonce);
    plain.extend_from_slice(&expires.to_be_bytes());
    serde_json::to_writer(&mut plain, &(keys, index))
        .map_err(|_| CrestError::InvalidCookie("the position could not be encoded"))?;
    let tag = cookie_tag(paging, request, &plain);
    apply_keystream(paging.key, &tag, &mut plain);
    let mut bytes = Vec::with_capacity(1 + TAG_LEN + plain.len());
    bytes.push(COOKIE_VERSION);
    bytes.extend_from_slice(&tag);
    bytes.extend_from_slice(&plain);
    Ok(BASE64URL_NOPAD.encode(&bytes))
}

fn decode_cookie(
    paging: &Paging<'_>,
    request: &QueryRequest,
    cookie: &str,
) -> Result<(Vec<Value>, usize), CrestError> {
    let bytes = BASE64URL_NOPAD
        .decode(cookie.as_bytes())
        .map_err(|_| CrestError::InvalidCookie("it is not base64url"))?;
    let (version, rest) = bytes
        .split_first()
        .ok_or(CrestError::InvalidCookie("it is too short"))?;
    if *version != COOKIE_VERSION || rest.len() < TAG_LEN + NONCE_LEN + 8 {
        return Err(CrestError::InvalidCookie(
            "it is too short or of another version",
        ));
    }
    let (tag, sealed) = rest
        .split_at_checked(TAG_LEN)
        .ok_or(CrestError::InvalidCookie("it is too short"))?;
    let mut iv = [0u8; TAG_LEN];
    iv.copy_from_slice(tag);
    let mut plain = sealed.to_vec();
    apply_keystream(paging.key, &iv, &mut plain);
    let expected = cookie_tag(paging, request, &plain);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_slice(),
        iv.as_slice(),
    )) {
        return Err(CrestError::InvalidCookie(
            "it was not issued for this query, collection and key",
        ));
    }
    let (head, payload) = plain
        .split_at_checked(NONCE_LEN + 8)
        .ok_or(CrestError::InvalidCookie("it is too short"))?;
    let mut expires = [0u8; 8];
    expires.copy_from_slice(head.get(NONCE_LEN..).unwrap_or_default());
    if paging.now.timestamp_millis() >= i64::from_be_bytes(expires) {
        return Err(CrestError::InvalidCookie("it has expired"));
    }
    let (keys, index): (Vec<Value>, usize) = serde_json::from_slice(payload)
        .map_err(|_| CrestError::InvalidCookie("its position is malformed"))?;
    if keys.len() != request.sort_keys.len() {
        return Err(CrestError::InvalidCookie("its position is malformed"));
    }
    Ok((keys, index))
}

/// Runs a query over `items` with a caller-supplied filter evaluation: filter, sort, page, count.
///
/// [`query`] is this with the crate's filter engine; use `query_with` to evaluate
/// differently (a compiled filter, a schema-aware evaluator, a closure in tests).
///
/// - **Filter**: `matches(filter, item)` for a `_queryFilter`; `_queryId` and
///   `_queryExpression` are [`UnsupportedQuery`](CrestError::UnsupportedQuery).
/// - **Sort**: by each `_sortKeys` pointer in turn, looked up with
///   [`QueryItem::sort_value`] (the item's JSON, exact names; absent = null) and compared with a
///   total order:
///   null < booleans < numbers (by value) < strings (by code point, case-sensitive) < arrays <
///   objects; `-` reverses a key. Ties, and everything when there are no sort keys, keep the
///   input order.
/// - **Page**: the page starts after the cookie's position, or at `_pagedResultsOffset`
///   (beyond the end: an empty page), and holds `_pageSize` results (0: all the rest).
///   **Decision**: offset and cookie apply with `_pageSize=0` too.
/// - **Cookie**: when results remain after a page, `pagedResultsCookie` holds the last
///   result's position — its sort-key values and input index — with an expiry
///   (`now + lifetime` from `paging`), encrypted and authenticated under the [`CookieKey`] and
///   bound to the collection owner, the query and the sort keys: unpadded base64url of
///   `version ‖ tag ‖ ciphertext`, where the tag is HMAC-SHA-256 over the binding and the
///   plaintext (caller nonce, expiry, position) and the ciphertext is the plaintext XORed with
///   HMAC-SHA-256(tag ‖ counter) blocks (an SIV construction: the sort values are not readable
///   and a repeated nonce reveals only equal positions). A cookie that was altered, truncated,
///   made with another key, for another owner, query or sort order, or resumed at or after its
///   expiry is [`InvalidCookie`](CrestError::InvalidCookie). Resuming finds the first result
///   after that position in the sort order, so over the same items the pages partition the
///   matching results exactly, ties included; if items were added or removed in between,
///   results sorted strictly after the last one's sort values are neither skipped nor
///   repeated (only ties of the last result can shift — add `_id` as a final sort key to rule
///   that out). The page size may change between pages.
/// - **Totals**: `NONE` gives -1 for `totalPagedResults` and `remainingPagedResults`;
///   `ESTIMATE` and `EXACT` give the number of matching results and the number after this
///   page.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::crest::{query_with, CookieKey, CrestError, Paging, QueryRequest};
/// let items = [serde_json::json!({"n": 3}), serde_json::json!({"n": 1}),
///              serde_json::json!({"n": 2})];
/// let req = QueryRequest::from_query_pairs([("_queryFilter", "true"),
///     ("_sortKeys", "n"), ("_pageSize", "2")]).unwrap();
/// let key = CookieKey::from([7u8; 32]);
/// let now = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
/// let paging = Paging::new(&key, "users/u1/devices", now, [1; 16]);
/// let page1 = query_with(&items, &req, &paging, |_, _| true).unwrap();
/// assert_eq!(page1.result, [&items[1], &items[2]]);
/// let mut next = req.clone();
/// next.paged_results_cookie = page1.paged_results_cookie;
/// let later = Paging::new(&key, "users/u1/devices", now + TimeDelta::minutes(1), [2; 16]);
/// let page2 = query_with(&items, &next, &later, |_, _| true).unwrap();
/// assert_eq!(page2.result, [&items[0]]);
/// assert_eq!(page2.paged_results_cookie, None);
/// // Another user's collection, or too late: refused.
/// let other = Paging::new(&key, "users/u2/devices", now, [3; 16]);
/// assert!(matches!(query_with(&items, &next, &other, |_, _| true),
///                  Err(CrestError::InvalidCookie(_))));
/// let expired = Paging::new(&key, "users/u1/devices", now + TimeDelta::hours(1), [4; 16]);
/// assert!(matches!(query_with(&items, &next, &expired, |_, _| true),
///                  Err(CrestError::InvalidCookie(_))));
/// ```
pub fn query_with<'a, T, F>(
    items: &'a [T],
    request: &QueryRequest,
    paging: &Paging<'_>,
    mut matches: F,
) -> Result<QueryResponse<&'a T>, CrestError>
where
    T: QueryItem,
    F: FnMut(&Filter, &T) -> bool,
{
    let filter = match &request.query {
        QueryKind::Filter(f) => f,
        QueryKind::Id(_) => return Err(CrestError::UnsupportedQuery("_queryId")),
        QueryKind::Expression(_) => return Err(CrestError::UnsupportedQuery("_queryExpression")),
    };
    if request.paged_results_offset > 0 && request.paged_results_cookie.is_some() {
        return Err(CrestError::OffsetWithCookie);
    }
    let sort = &request.sort_keys;
    let start_position = match &request.paged_results_cookie {
        Some(c) => Some(decode_cookie(paging, request, c)?),
        None => None,
    };
    let mut entries: Vec<Entry<'a, T>> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| matches(filter, item))
        .map(|(index, item)| {
            let keys = sort.iter().map(|k| item.sort_value(&k.field)).collect();
            Entry { index, keys, item }
        })
        .collect();
    if !sort.is_empty() {
        entries.sort_unstable_by(|a, b| cmp_keys(sort, &a.keys, a.index, &b.keys, b.index));
    }
    let total = entries.len();
    let start = match &start_position {
        Some((keys, index)) => entries.partition_point(|e| {
            cmp_keys(sort, &e.keys, e.index, keys, *index) != Ordering::Greater
        }),
        None => usize::try_from(request.paged_results_offset)
            .unwrap_or(usize::MAX)
            .min(total),
    };
    let end = if request.page_size == 0 {
        total
    } else {
        start
            .saturating_add(usize::try_from(request.page_size).unwrap_or(usize::MAX))
            .min(total)
    };
    let cookie = match entries.get(..end).and_then(<[_]>::last) {
        Some(last) if end < total && request.page_size > 0 => {
            Some(encode_cookie(paging, request, &last.keys, last.index)?)
        }
        _ => None,
    };
    let (total_paged, remaining) = match request.total_paged_results_policy {
        TotalPagedResultsPolicy::None => (-1, -1),
        TotalPagedResultsPolicy::Estimate | TotalPagedResultsPolicy::Exact => (
            i64::try_from(total).unwrap_or(i64::MAX),
            i64::try_from(total - end).unwrap_or(i64::MAX),
        ),
    };
    let result: Vec<&'a T> = entries
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|e| e.item)
        .collect();
    Ok(QueryResponse {
        result_count: result.len(),
        result,
        paged_results_cookie: cookie,
        total_paged_results_policy: request.total_paged_results_policy,
        total_paged_results: total_paged,
        remaining_paged_results: remaining,
    })
}

/// Runs a query over `items`: [`query_with`] evaluating `_queryFilter` with the crate's filter
/// engine (the filter is compiled once per call, so each item costs one
/// [`CompiledFilter::matches`](crate::filter::CompiledFilter::matches)).
///
/// Evaluation follows [`Filter::matches`]: a comparison on an array holds when any element
/// satisfies it (as CREST specifies); attribute names match ASCII case-insensitively and strings
/// compare ignoring case (the crate's SCIM rules — **decision**: one evaluator for both
/// dialects; a CREST server's own evaluator may compare strings exactly); extended operators
/// never match; `true`/`false` select everything/nothing. See [`query_with`] for sorting,
/// paging, cookies and totals.
///
/// ```
/// use mfa_devices::crest::{query, CookieKey, OathDevice, Paging, QueryRequest};
/// let devices: Vec<OathDevice> = (1..=3).map(|i| serde_json::from_value(serde_json::json!({
///     "_id": format!("id-{i}"), "_rev": "1", "deviceName": format!("Phone {i}"),
///     "uuid": format!("id-{i}"), "deviceManagementStatus": false})).unwrap()).collect();
/// let req = QueryRequest::from_query_pairs([
///     ("_queryFilter", "/deviceName sw 'phone' and !(/_id eq 'id-2')"),
///     ("_sortKeys", "-deviceName"),
///     ("_totalPagedResultsPolicy", "EXACT"),
/// ]).unwrap();
/// let key = CookieKey::new(b"server-side paging key, 32 bytes").unwrap();
/// let now = chrono::DateTime::from_timestamp(1_740_830_400, 0).unwrap();
/// let page = query(&devices, &req, &Paging::new(&key, "users/u1/oath", now, [0; 16])).unwrap();
/// let names: Vec<&str> = page.result.iter().map(|d| d.device_name.as_str()).collect();
/// assert_eq!(names, ["Phone 3", "Phone 1"]);
/// assert_eq!(page.total_paged_results, 2);
/// ```
pub fn query<'a, T>(
    items: &'a [T],
    request: &QueryRequest,
    paging: &Paging<'_>,
) -> Result<QueryResponse<&'a T>, CrestError>
where
    T: Resource + QueryItem,
{
    let compiled = match &request.query {
        QueryKind::Filter(f) => f.compile::<T>(),
        QueryKind::Id(_) => return Err(CrestError::UnsupportedQuery("_queryId")),
        QueryKind::Expression(_) => return Err(CrestError::UnsupportedQuery("_queryExpression")),
    };
    query_with(items, request, paging, |_, item| compiled.matches(item))
}
