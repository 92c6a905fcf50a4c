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
    /// What was wrong, for a human.
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
    /// A detail with a code, a target and a message.
    pub fn new(code: DetailCode, target: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            target: Some(target.into()),
            message: message.into(),
            inner_error: None,
        }
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
    /// A human-readable summary.
    pub message: String,
    /// One entry per problem found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ErrorDetail>,
    #[serde(skip)]
    status: Option<u16>,
}

impl ApiError {
    /// An error with a code and a message; its HTTP status is the code's.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id: None,
            error_code: code,
            message: message.into(),
            details: Vec::new(),
            status: None,
        }
    }

    /// `INVALID_DATA` (400) carrying the given details.
    pub fn invalid_data(message: impl Into<String>, details: Vec<ErrorDetail>) -> Self {
        Self {
            details,
            ..Self::new(ErrorCode::InvalidData, message)
        }
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
    pub fn unsupported_media_type(media_type: &str) -> Self {
        Self::new(
            ErrorCode::InvalidRequest,
            format!("Unsupported media type '{media_type}'"),
        )
        .with_status(415)
    }

    /// Adds one detail.
    #[must_use]
    pub fn with_detail(mut self, detail: ErrorDetail) -> Self {
        self.details.push(detail);
        self
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
