//! [`CrestError`]: why a CREST request could not be served, as AIC's body or PingOne's.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, DetailCode, ErrorDetail, echo};
use crate::filter::FilterError;

/// What went wrong in a CREST query request, a realm path or a device category.
///
/// Messages quote the request's own text with [`echo`](crate::error::echo): at most
/// [`MAX_ECHO_CHARS`](crate::error::MAX_ECHO_CHARS) characters of it.
///
/// Every variant is a client error. [`to_crest_body`](Self::to_crest_body) renders the body AIC
/// (CREST) answers with, `{"code":400,"reason":"Bad Request","message":…}`; `From<CrestError>
/// for ApiError` gives PingOne's shape for servers that answer in one dialect.
///
/// ```
/// use mfa_devices::crest::{CrestError, QueryRequest};
/// let err = QueryRequest::from_query_pairs([("_queryFilter", "true"), ("_queryId", "all")])
///     .unwrap_err();
/// assert_eq!(err.http_status(), 400);
/// let body = serde_json::to_value(err.to_crest_body()).unwrap();
/// assert_eq!(body["code"], 400);
/// assert_eq!(body["reason"], "Bad Request");
/// assert!(body["message"].as_str().unwrap().contains("mutually exclusive"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CrestError {
    /// `_queryFilter` did not parse (kind and byte offset inside).
    InvalidQueryFilter(FilterError),
    /// None of `_queryFilter`, `_queryId`, `_queryExpression` was given.
    MissingQuery,
    /// More than one of `_queryFilter`, `_queryId`, `_queryExpression` was given.
    ConflictingQuery {
        /// The parameter seen first.
        first: &'static str,
        /// The parameter that conflicts with it.
        second: &'static str,
    },
    /// A single-valued parameter appeared more than once.
    DuplicateParameter(&'static str),
    /// A parameter's value is not allowed.
    InvalidParameter {
        /// The parameter (`_pageSize`, `_sortKeys`, …).
        name: &'static str,
        /// The value as given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// `_pagedResultsOffset` above 0 together with `_pagedResultsCookie`.
    OffsetWithCookie,
    /// The `_pagedResultsCookie` was not issued for this query with this key (tampered,
    /// truncated, from another query or another key).
    InvalidCookie(&'static str),
    /// `_queryId` / `_queryExpression` queries: [`query`](super::query) evaluates only
    /// `_queryFilter`.
    UnsupportedQuery(&'static str),
    /// A device category path segment other than `oath`, `push`, `webauthn`, `binding`.
    UnknownCategory(String),
    /// A realm path that is not `/realms/root(/realms/{name})*`.
    InvalidRealm {
        /// The path as given.
        path: String,
        /// Byte offset of the problem.
        offset: usize,
        /// What is allowed.
        reason: &'static str,
    },
    /// An empty user id or device uuid where an endpoint path needs one.
    EmptyPathSegment(&'static str),
    /// A user id or device uuid that is exactly `.` or `..`: written into a URL path it would be
    /// a dot segment, which URL normalization (RFC 3986 §5.2.4) removes or resolves to the
    /// parent, so the path would name another resource. (Percent-encoding does not help:
    /// `%2E` is equivalent to `.`.) The text names which id.
    DotPathSegment(&'static str),
}

impl CrestError {
    /// The HTTP status: 404 for a path naming no resource (unknown category, bad realm path,
    /// empty id), 400 for everything else.
    ///
    /// ```
    /// use mfa_devices::crest::CrestError;
    /// assert_eq!(CrestError::UnknownCategory("sms".into()).http_status(), 404);
    /// assert_eq!(CrestError::OffsetWithCookie.http_status(), 400);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Self::UnknownCategory(_)
            | Self::InvalidRealm { .. }
            | Self::EmptyPathSegment(_)
            | Self::DotPathSegment(_) => 404,
            _ => 400,
        }
    }

    /// The query parameter the error is about, if any (used as the `target` of the PingOne
    /// error detail).
    ///
    /// ```
    /// use mfa_devices::crest::CrestError;
    /// assert_eq!(CrestError::OffsetWithCookie.parameter(), Some("_pagedResultsOffset"));
    /// ```
    pub fn parameter(&self) -> Option<&'static str> {
        match self {
            Self::InvalidQueryFilter(_) => Some("_queryFilter"),
            Self::MissingQuery => Some("_queryFilter"),
            Self::ConflictingQuery { second, .. } => Some(second),
            Self::DuplicateParameter(name) => Some(name),
            Self::InvalidParameter { name, .. } => Some(name),
            Self::OffsetWithCookie => Some("_pagedResultsOffset"),
            Self::InvalidCookie(_) => Some("_pagedResultsCookie"),
            Self::UnsupportedQuery(name) => Some(name),
            Self::UnknownCategory(_)
            | Self::InvalidRealm { .. }
            | Self::EmptyPathSegment(_)
            | Self::DotPathSegment(_) => None,
        }
    }

    /// The body AIC / CREST answers with: `{"code":400,"reason":"Bad Request","message":…}`.
    ///
    /// ```
    /// use mfa_devices::crest::CrestError;
    /// let b = CrestError::OffsetWithCookie.to_crest_body();
    /// assert_eq!(serde_json::to_string(&b).unwrap(),
    ///     r#"{"code":400,"reason":"Bad Request","message":"_pagedResultsOffset above 0 cannot be combined with _pagedResultsCookie"}"#);
    /// ```
    pub fn to_crest_body(&self) -> CrestErrorBody {
        let code = self.http_status();
        CrestErrorBody {
            code,
            reason: if code == 404 {
                "Not Found"
            } else {
                "Bad Request"
            }
            .to_owned(),
            message: self.to_string(),
        }
    }
}

impl fmt::Display for CrestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidQueryFilter(e) => write!(f, "invalid _queryFilter: {e}"),
            Self::MissingQuery => {
                f.write_str("a query needs one of _queryFilter, _queryId or _queryExpression")
            }
            Self::ConflictingQuery { first, second } => write!(
                f,
                "{first} and {second} are mutually exclusive: give exactly one of \
                 _queryFilter, _queryId, _queryExpression"
            ),
            Self::DuplicateParameter(name) => {
                write!(
                    f,
                    "{name} was given more than once; it takes a single value"
                )
            }
            Self::InvalidParameter {
                name,
                value,
                allowed,
            } => write!(
                f,
                "{name} has the invalid value {:?}; allowed: {allowed}",
                echo(value).to_string()
            ),
            Self::OffsetWithCookie => f.write_str(
                "_pagedResultsOffset above 0 cannot be combined with _pagedResultsCookie",
            ),
            Self::InvalidCookie(why) => write!(
                f,
                "_pagedResultsCookie was not issued for this query: {why}"
            ),
            Self::UnsupportedQuery(name) => write!(
                f,
                "{name} queries are not supported by this collection; use _queryFilter"
            ),
            Self::UnknownCategory(c) => write!(
                f,
                "unknown device category {:?}; allowed: oath, push, webauthn, binding",
                echo(c).to_string()
            ),
            Self::InvalidRealm {
                path,
                offset,
                reason,
            } => write!(
                f,
                "invalid realm path {:?} at byte {offset}: {reason}",
                echo(path).to_string()
            ),
            Self::EmptyPathSegment(what) => write!(f, "the {what} in the path is empty"),
            Self::DotPathSegment(what) => write!(
                f,
                "the {what} in the path is a dot segment ('.' or '..'), which would name \
                 another resource"
            ),
        }
    }
}

impl std::error::Error for CrestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidQueryFilter(e) => Some(e),
            _ => None,
        }
    }
}

impl From<FilterError> for CrestError {
    fn from(e: FilterError) -> Self {
        Self::InvalidQueryFilter(e)
    }
}

/// CREST's error body: `{"code":…,"reason":…,"message":…}` (field order as CREST writes it).
///
/// ```
/// use mfa_devices::crest::CrestErrorBody;
/// let b: CrestErrorBody = serde_json::from_str(
///     r#"{"code":400,"reason":"Bad Request","message":"x"}"#).unwrap();
/// assert_eq!(b.code, 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrestErrorBody {
    /// The HTTP status.
    pub code: u16,
    /// The HTTP reason phrase (`Bad Request`, `Not Found`).
    pub reason: String,
    /// What was wrong.
    pub message: String,
}

impl From<CrestError> for ApiError {
    /// PingOne's shape: `INVALID_DATA` (400) with one detail — `INVALID_FILTER` targeting
    /// `_queryFilter` for a filter that does not parse, `INVALID_VALUE` targeting the parameter
    /// otherwise — or `NOT_FOUND` (404) for a path naming no resource.
    ///
    /// ```
    /// use mfa_devices::crest::{parse_query_filter, CrestError};
    /// use mfa_devices::error::ApiError;
    /// let e: ApiError = CrestError::from(parse_query_filter("/a eq").unwrap_err()).into();
    /// assert_eq!((e.code(), e.http_status()), ("INVALID_DATA", 400));
    /// assert_eq!(e.details[0].code.as_str(), "INVALID_FILTER");
    /// assert_eq!(e.details[0].target.as_deref(), Some("_queryFilter"));
    /// ```
    fn from(e: CrestError) -> Self {
        if e.http_status() == 404 {
            return ApiError::not_found(e.to_string());
        }
        let code = match e {
            CrestError::InvalidQueryFilter(_) => DetailCode::InvalidFilter,
            _ => DetailCode::InvalidValue,
        };
        let target = e.parameter().unwrap_or("query");
        ApiError::invalid_data(
            "The request could not be completed. One or more validation errors were in the request.",
            vec![ErrorDetail::new(code, target, e.to_string())],
        )
    }
}
