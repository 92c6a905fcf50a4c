//! PingOne's error body, [`ApiError`], with its HTTP status.
//!
//! Every module of this crate has its own error type; each converts into [`ApiError`] so that a
//! server can answer exactly as PingOne does:
//!
//! ```json
//! {"id":"…","code":"INVALID_DATA","message":"…",
//!  "details":[{"code":"INVALID_VALUE","target":"email","message":"…","innerError":{…}}]}
//! ```
//!
//! ```
//! use mfa_devices::error::{ApiError, ErrorCode, DetailCode, ErrorDetail};
//!
//! let err = ApiError::new(ErrorCode::InvalidData, "The request could not be completed.")
//!     .with_detail(ErrorDetail::new(DetailCode::InvalidValue, "email", "must be a valid email"));
//! assert_eq!(err.code(), "INVALID_DATA");
//! assert_eq!(err.http_status(), 400);
//! let json = serde_json::to_value(&err).unwrap();
//! assert_eq!(json["details"][0]["target"], "email");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

crate::macros::string_enum! {
    /// The top-level `code` of a PingOne error body.
    ///
    /// ```
    /// use mfa_devices::error::ErrorCode;
    /// assert_eq!(ErrorCode::InvalidData.http_status(), 400);
    /// assert_eq!("NOT_FOUND".parse::<ErrorCode>().unwrap(), ErrorCode::NotFound);
    /// ```
    ErrorCode {
        /// 400: the request body or a parameter is invalid.
        InvalidData => "INVALID_DATA",
        /// 400 (415 for an unknown media type): the request itself is malformed or not allowed now.
        InvalidRequest => "INVALID_REQUEST",
        /// 400: the request could not be completed.
        RequestFailed => "REQUEST_FAILED",
        /// 401/403: missing or insufficient access.
        AccessFailed => "ACCESS_FAILED",
        /// 404: the resource does not exist.
        NotFound => "NOT_FOUND",
        /// 409: the resource changed since it was read (stale revision). A crate decision.
        Conflict => "CONFLICT",
        /// 429: too many requests.
        RequestLimited => "REQUEST_LIMITED",
        /// 500: unexpected server error.
        UnexpectedError => "UNEXPECTED_ERROR",
    }
}

impl ErrorCode {
    /// The HTTP status PingOne answers with for this code.
    ///
    /// `INVALID_REQUEST` maps to 400 here; an unknown media type is answered with 415 through
    /// [`ApiError::unsupported_media_type`], which sets the status explicitly.
    /// `ACCESS_FAILED` maps to 403 (401 is set explicitly where the token is missing/invalid).
    /// Unknown codes map to 500.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidData | Self::InvalidRequest | Self::RequestFailed => 400,
            Self::AccessFailed => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::RequestLimited => 429,
            Self::UnexpectedError | Self::Other(_) => 500,
        }
    }
}

crate::macros::string_enum! {
    /// The `code` of one entry of an error body's `details`.
    ///
    /// ```
    /// use mfa_devices::error::DetailCode;
    /// assert_eq!(DetailCode::InvalidFilter.as_str(), "INVALID_FILTER");
    /// ```
    DetailCode {
        /// The filter expression is invalid or not supported by the collection.
        InvalidFilter => "INVALID_FILTER",
        /// A value is not allowed.
        InvalidValue => "INVALID_VALUE",
        /// A number is outside its allowed range (`innerError.rangeMinimumValue`/`rangeMaximumValue`).
        OutOfRange => "OUT_OF_RANGE",
        /// A required value is missing.
        RequiredValue => "REQUIRED_VALUE",
        /// A value is present but empty.
        EmptyValue => "EMPTY_VALUE",
        /// A cross-field constraint is violated.
        ConstraintViolation => "CONSTRAINT_VIOLATION",
        /// A value is too long or a list too large.
        SizeLimitExceeded => "SIZE_LIMIT_EXCEEDED",
        /// A value must be unique and is not.
        UniquenessViolation => "UNIQUENESS_VIOLATION",
        /// The one-time passcode is wrong or expired.
        InvalidOtp => "INVALID_OTP",
        /// A count limit is reached (`innerError.maximumAllowed`).
        LimitExceeded => "LIMIT_EXCEEDED",
        /// A quota is exhausted.
        QuotaExceeded => "QUOTA_EXCEEDED",
        /// The access token is invalid.
        InvalidToken => "INVALID_TOKEN",
        /// The caller lacks permissions.
        InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
        /// The license does not allow the request.
        LicenseExceeded => "LICENSE_EXCEEDED",
    }
}

/// The message PingOne sends with `INVALID_DATA` validation failures.
pub const VALIDATION_MESSAGE: &str =
    "The request could not be completed. One or more validation errors were in the request.";

/// The most details an [`ApiError`] lists: a further problem is counted in one closing
/// summary detail (`SIZE_LIMIT_EXCEEDED`, "… and N more problems", `innerError.omittedDetails`
/// and `maximumAllowed`) instead of being listed, so an error body stays bounded whatever the
/// request held (a 2 MB reorder body of malformed entries gave a 117 MB body before).
///
/// **Decision** (PingOne documents no limit): 100 details say everything a client fixes in one
/// round; the builders ([`ApiError::invalid_data`], [`ApiError::with_detail`],
/// [`ApiError::with_details`]) enforce it, and serialization applies it to a `details` vector
/// filled by hand as well.
///
/// ```
/// use mfa_devices::error::{ApiError, DetailCode, ErrorDetail, MAX_DETAILS, VALIDATION_MESSAGE};
/// let many = (0..100_000).map(|i| ErrorDetail::new(DetailCode::InvalidValue,
///     format!("order[{i}].id"), "not a device id"));
/// let e = ApiError::invalid_data(VALIDATION_MESSAGE, many);
/// assert_eq!(e.details.len(), MAX_DETAILS + 1);
/// let last = e.details.last().unwrap();
/// assert_eq!(last.code.as_str(), "SIZE_LIMIT_EXCEEDED");
/// assert_eq!(last.inner_error.as_ref().unwrap()["omittedDetails"], 99_900);
/// assert!(serde_json::to_string(&e).unwrap().len() < 10_000);
/// ```
pub const MAX_DETAILS: usize = 100;

/// The most characters of a request's own text that an error message quotes (see [`echo`]).
///
/// **Decision**: 64 characters identify any legitimate value (a phone number, an email address,
/// a media type, a UUID); the rest is replaced by a count, so 1 MB in is not 1 MB out.
pub const MAX_ECHO_CHARS: usize = crate::json::MAX_QUOTED_CHARS;

/// The most characters of any error message ([`ApiError::message`], [`ErrorDetail::message`]):
/// longer ones are cut there with a note of how many bytes were left out. Applied by the
/// constructors and again on serialization, so no body carries an unbounded message whatever
/// text (a parser's error, an echoed value) went into it.
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// Quotes untrusted input in an error message, at most [`MAX_ECHO_CHARS`] characters of it:
/// a longer text is cut and followed by `…(N more bytes)`. Displays without allocating.
///
/// ```
/// use mfa_devices::error::echo;
/// assert_eq!(echo("+1 512 555 1234").to_string(), "+1 512 555 1234");
/// let long = "x".repeat(1_000_000);
/// assert_eq!(echo(&long).to_string(), format!("{}…(999936 more bytes)", "x".repeat(64)));
/// ```
pub fn echo(input: &str) -> Echo<'_> {
    Echo(input)
}

/// Untrusted input as an error message quotes it: see [`echo`].
#[derive(Debug, Clone, Copy)]
pub struct Echo<'a>(&'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::json::Quoted(self.0).fmt(f)
    }
}

/// `text` cut to at most `max` characters, with a note of how many bytes were left out.
fn truncate(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        let rest = text.len() - cut;
        text.truncate(cut);
        text.push_str(&format!("…({rest} more bytes)"));
    }
    text
}

/// Serializes a message cut to [`MAX_MESSAGE_CHARS`] (a no-op for messages the constructors made).
fn serialize_message<S: serde::Serializer>(message: &str, s: S) -> Result<S::Ok, S::Error> {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => s.serialize_str(message),
        Some(_) => s.serialize_str(&truncate(message.to_owned(), MAX_MESSAGE_CHARS)),
    }
}

/// Serializes at most [`MAX_DETAILS`] details plus one summary of the rest (a no-op for details
/// the builders collected).
fn serialize_details<S: serde::Serializer>(
    details: &[ErrorDetail],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    if details.len() <= MAX_DETAILS + 1 {
        return details.serialize(s);
    }
    let mut seq = s.serialize_seq(Some(MAX_DETAILS + 1))?;
    for d in details.iter().take(MAX_DETAILS) {
        seq.serialize_element(d)?;
    }
    seq.serialize_element(&ErrorDetail::omitted(details.len() - MAX_DETAILS))?;
    seq.end()
}

/// Well-known keys of a detail's `innerError` object.
pub mod inner {
    /// Smallest allowed value of a range.
    pub const RANGE_MINIMUM_VALUE: &str = "rangeMinimumValue";
    /// Largest allowed value of a range.
    pub const RANGE_MAXIMUM_VALUE: &str = "rangeMaximumValue";
    /// A regular expression the value must match.
    pub const ALLOWED_PATTERN: &str = "allowedPattern";
    /// The values that are allowed.
    pub const ALLOWED_VALUES: &str = "allowedValues";
    /// How many details were left out of the body (see [`MAX_DETAILS`](super::MAX_DETAILS)).
    pub const OMITTED_DETAILS: &str = "omittedDetails";
    /// The largest value allowed.
    pub const MAXIMUM_VALUE: &str = "maximumValue";
    /// The largest count allowed.
    pub const MAXIMUM_ALLOWED: &str = "maximumAllowed";
    /// The attributes a filter may use in this collection.
    pub const SUPPORTED_ATTRIBUTES: &str = "supportedAttributes";
    /// The operators a filter may use in this collection.
    pub const SUPPORTED_OPERATORS: &str = "supportedOperators";
}

/// One entry of an error body's `details` array.
///
/// ```
/// use mfa_devices::error::{DetailCode, ErrorDetail};
/// let d = ErrorDetail::new(DetailCode::OutOfRange, "sms.otp.otpLength", "must be 6-10")
///     .with_inner("rangeMinimumValue", 6)
///     .with_inner("rangeMaximumValue", 10);
/// assert_eq!(d.inner_error.as_ref().unwrap()["rangeMinimumValue"], 6);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The detail code (`INVALID_VALUE`, `OUT_OF_RANGE`, …).
    pub code: DetailCode,
    /// The JSON path or parameter the detail is about (`email`, `order[2].id`, `filter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// What was wrong, for a human (at most [`MAX_MESSAGE_CHARS`] characters in a body).
    #[serde(serialize_with = "serialize_message")]
    pub message: String,
    /// Machine-readable facts (`rangeMinimumValue`, `allowedValues`, …).
    #[serde(
        rename = "innerError",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub inner_error: Option<Map<String, Value>>,
}

impl ErrorDetail {
    /// A detail with a code, a target and a message (cut to [`MAX_MESSAGE_CHARS`]).
    pub fn new(code: DetailCode, target: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            target: Some(truncate(target.into(), MAX_MESSAGE_CHARS)),
            message: truncate(message.into(), MAX_MESSAGE_CHARS),
            inner_error: None,
        }
    }

    /// The closing summary of `count` details left out (see [`MAX_DETAILS`]).
    fn omitted(count: usize) -> Self {
        Self {
            code: DetailCode::SizeLimitExceeded,
            target: None,
            message: format!(
                "and {count} more problem{} not listed (at most {MAX_DETAILS} details are)",
                if count == 1 { "" } else { "s" }
            ),
            inner_error: None,
        }
        .with_inner(inner::OMITTED_DETAILS, count)
        .with_inner(inner::MAXIMUM_ALLOWED, MAX_DETAILS)
    }

    /// Adds one `innerError` entry (see [`inner`] for the well-known keys).
    #[must_use]
    pub fn with_inner(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.inner_error
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }
}

/// PingOne's error body, together with the HTTP status it is sent with.
///
/// Serializes to exactly `{"id"?, "code", "message", "details"?}`; the HTTP status is not part
/// of the body (it is skipped by serde and derived from `code` on deserialization).
///
/// ```
/// use mfa_devices::error::{ApiError, ErrorCode};
/// let e = ApiError::not_found("Device 42 not found");
/// assert_eq!((e.code(), e.http_status()), ("NOT_FOUND", 404));
/// assert_eq!(e.to_string(), "NOT_FOUND: Device 42 not found");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The error instance id; PingOne sets a UUID. `None` until the server assigns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The error code.
    #[serde(rename = "code")]
    pub error_code: ErrorCode,
    /// A human-readable summary (at most [`MAX_MESSAGE_CHARS`] characters in a body).
    #[serde(serialize_with = "serialize_message")]
    pub message: String,
    /// One entry per problem found, at most [`MAX_DETAILS`] of them and then one summary of the
    /// rest. Add details with [`with_detail`](Self::with_detail) /
    /// [`with_details`](Self::with_details), which keep the count; serialization caps a vector
    /// filled by hand too.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_details"
    )]
    pub details: Vec<ErrorDetail>,
    #[serde(skip)]
    status: Option<u16>,
    /// Details left out so far (counted in the summary detail).
    #[serde(skip)]
    omitted: usize,
}

impl ApiError {
    /// An error with a code and a message; its HTTP status is the code's.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id: None,
            error_code: code,
            message: truncate(message.into(), MAX_MESSAGE_CHARS),
            details: Vec::new(),
            status: None,
            omitted: 0,
        }
    }

    /// `INVALID_DATA` (400) carrying the given details, at most [`MAX_DETAILS`] of them and a
    /// summary of the rest (a lazy iterator is consumed but only the first details are kept).
    pub fn invalid_data(
        message: impl Into<String>,
        details: impl IntoIterator<Item = ErrorDetail>,
    ) -> Self {
        Self::new(ErrorCode::InvalidData, message).with_details(details)
    }

    /// `INVALID_REQUEST` (400).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// `NOT_FOUND` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `CONFLICT` (409): the resource moved on since the caller read it.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// `INVALID_REQUEST` answered with HTTP 415: the `Content-Type` is not one this resource takes.
    ///
    /// ```
    /// use mfa_devices::error::ApiError;
    /// let e = ApiError::unsupported_media_type("text/plain");
    /// assert_eq!((e.code(), e.http_status()), ("INVALID_REQUEST", 415));
    /// ```
    /// The media type is quoted with [`echo`] (at most [`MAX_ECHO_CHARS`] characters).
    pub fn unsupported_media_type(media_type: &str) -> Self {
        Self::new(
            ErrorCode::InvalidRequest,
            format!("Unsupported media type '{}'", echo(media_type)),
        )
        .with_status(415)
    }

    /// Adds one detail; beyond [`MAX_DETAILS`] it is only counted in the closing summary.
    ///
    /// ```
    /// use mfa_devices::error::{ApiError, DetailCode, ErrorDetail, MAX_DETAILS};
    /// let mut e = ApiError::invalid_request("bad");
    /// for i in 0..MAX_DETAILS + 5 {
    ///     e = e.with_detail(ErrorDetail::new(DetailCode::InvalidValue, format!("x{i}"), "no"));
    /// }
    /// assert_eq!(e.details.len(), MAX_DETAILS + 1);
    /// assert_eq!(e.details[MAX_DETAILS].message, "and 5 more problems not listed (at most 100 details are)");
    /// ```
    #[must_use]
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.push_detail(detail);
        self
    }

    /// Adds details in order, keeping at most [`MAX_DETAILS`] (see [`with_detail`](Self::with_detail)).
    #[must_use]
    pub fn with_details(mut self, details: impl IntoIterator<Item = ErrorDetail>) -> Self {
        let mut left_out = 0usize;
        for d in details {
            if self.details.len() < MAX_DETAILS {
                self.details.push(d);
            } else {
                left_out = left_out.saturating_add(1);
            }
        }
        self.with_omitted_details(left_out)
    }

    /// Counts `count` more details as left out of the body (the closing "and N more" summary of
    /// [`MAX_DETAILS`]), for a caller that knows how many problems it did not build details
    /// for — so a request with 100,000 problems costs 100 details, not 100,000. A count of 0
    /// changes nothing.
    ///
    /// ```
    /// use mfa_devices::error::{ApiError, DetailCode, ErrorDetail, MAX_DETAILS, VALIDATION_MESSAGE};
    /// let first = (0..MAX_DETAILS).map(|i| ErrorDetail::new(DetailCode::InvalidValue,
    ///     format!("order[{i}].id"), "not a device id"));
    /// let e = ApiError::invalid_data(VALIDATION_MESSAGE, first).with_omitted_details(99_900);
    /// assert_eq!(e.details.len(), MAX_DETAILS + 1);
    /// assert_eq!(e.details[MAX_DETAILS].inner_error.as_ref().unwrap()["omittedDetails"], 99_900);
    /// ```
    #[must_use]
    pub fn with_omitted_details(mut self, count: usize) -> Self {
        self.add_omitted(count);
        self
    }

    fn add_omitted(&mut self, count: usize) {
        if count == 0 {
            return;
        }
        let first = self.omitted == 0;
        self.omitted = self.omitted.saturating_add(count);
        let summary = ErrorDetail::omitted(self.omitted);
        if first {
            self.details.push(summary);
        } else if let Some(last) = self.details.last_mut() {
            *last = summary;
        }
    }

    fn push_detail(&mut self, detail: ErrorDetail) {
        // A vector filled by hand beyond the cap keeps its entries; the count goes on from there.
        if self.details.len() < MAX_DETAILS {
            self.details.push(detail);
            return;
        }
        self.add_omitted(1);
    }

    /// Overrides the HTTP status (for the codes that PingOne sends with more than one status).
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the error instance id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The `code` as PingOne spells it (`"INVALID_DATA"`, `"NOT_FOUND"`, …).
    pub fn code(&self) -> &str {
        self.error_code.as_str()
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.error_code.http_status())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)?;
        for d in &self.details {
            match &d.target {
                Some(t) => write!(f, "; {} at {}: {}", d.code, t, d.message)?,
                None => write!(f, "; {}: {}", d.code, d.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_round_trips_and_unknown_codes_survive() {
        let json = serde_json::json!({
            "id": "b8c1f0a4-3a57-4c0c-9a5e-7b5b6a1f0001",
            "code": "INVALID_DATA",
            "message": "The request could not be completed. One or more validation errors were in the request.",
            "details": [{"code": "OUT_OF_RANGE", "target": "otpLength", "message": "x",
                         "innerError": {"rangeMinimumValue": 6, "rangeMaximumValue": 10}},
                        {"code": "SOMETHING_NEW", "message": "y"}]
        });
        let e: ApiError = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.details[1].code, DetailCode::Other("SOMETHING_NEW".into()));
        assert_eq!(serde_json::to_value(&e).unwrap(), json);
    }

    #[test]
    fn statuses() {
        for (code, status) in [
            ("INVALID_DATA", 400),
            ("INVALID_REQUEST", 400),
            ("REQUEST_FAILED", 400),
            ("ACCESS_FAILED", 403),
            ("NOT_FOUND", 404),
            ("CONFLICT", 409),
            ("REQUEST_LIMITED", 429),
            ("UNEXPECTED_ERROR", 500),
            ("WHATEVER", 500),
        ] {
            assert_eq!(
                ApiError::new(code.into(), "m").http_status(),
                status,
                "{code}"
            );
        }
        assert_eq!(ApiError::unsupported_media_type("a/b").http_status(), 415);
    }

    #[test]
    fn display_names_every_detail() {
        let e = ApiError::invalid_data(
            "bad",
            vec![ErrorDetail::new(
                DetailCode::RequiredValue,
                "email",
                "required",
            )],
        );
        assert_eq!(
            e.to_string(),
            "INVALID_DATA: bad; REQUIRED_VALUE at email: required"
        );
    }
}
