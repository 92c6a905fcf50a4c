//! Integration with the [`http`] crate (v1), behind the optional cargo feature `http` (off by
//! default): an [`ApiError`] becomes an `http::Response`, and an `http::Request` becomes a
//! [`Command`] or an [`Action`] in one call.
//!
//! The crate still performs no I/O: these are conversions between values. Routing (which URL
//! and method address which resource) stays the server's; the request readers look at the
//! `Content-Type` header and the body only.
//!
//! **Conditional requests.** PingOne's API carries no revision, so for PingOne-shaped clients the
//! store's compare-and-swap on the user's revision (see [`UserDevices`]) is the protection
//! against lost updates, and a write that lost the race is answered by a blind retry: reload,
//! decide the command again, write again. Clients that want to be told instead send back the
//! [`etag`](crate::user_devices::etag) they read in `If-Match`;
//! [`if_match_headers`] evaluates every `If-Match` line of a request (RFC 9110 §13.1.1) against
//! the loaded revision, and a mismatch converts into a 412 [`ApiError`].
//!
//! ```
//! use mfa_devices::device::DeviceId;
//! use mfa_devices::error::ApiError;
//! use mfa_devices::user_devices::{Command, RequestTarget, DEVICE_BLOCK_MEDIA_TYPE};
//! let request = http::Request::post("/environments/e/users/u/devices/d")
//!     .header(http::header::CONTENT_TYPE, DEVICE_BLOCK_MEDIA_TYPE)
//!     .body(Vec::<u8>::new())
//!     .unwrap();
//! let id = DeviceId::from_bytes([7; 16]);
//! assert_eq!(Command::from_http_request(&request, RequestTarget::Device(id)), Ok(Command::Block { id }));
//!
//! let refused = Command::from_http_request(&http::Request::new(b"{}"), RequestTarget::Device(id)).unwrap_err();
//! let response: http::Response<String> = refused.into_response();
//! assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
//! assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
//! ```
//!
//! [`UserDevices`]: crate::user_devices::UserDevices

use http::header::{CONTENT_TYPE, IF_MATCH};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};

use crate::authn::Action;
use crate::error::ApiError;
use crate::user_devices::{Command, PreconditionFailed, RequestTarget, if_match};

/// The `Content-Type` of a request, or `""` when absent or not visible ASCII (then refused as
/// an unsupported media type by the readers).
fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

impl ApiError {
    /// The HTTP status as an [`http::StatusCode`] (feature `http`); a status outside 100–999
    /// (never set by this crate) reads 500.
    ///
    /// ```
    /// use mfa_devices::error::ApiError;
    /// assert_eq!(ApiError::not_found("no such device").status_code(), http::StatusCode::NOT_FOUND);
    /// assert_eq!(ApiError::unsupported_media_type("text/plain").status_code().as_u16(), 415);
    /// ```
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The response PingOne sends (feature `http`): [`status_code`](Self::status_code), header
    /// `Content-Type: application/json`, the JSON body `{"id"?, "code", "message",
    /// "details"?}`. PingOne puts an `id` (a UUID) in every error body; this crate draws no
    /// randomness, so set it first with [`with_id`](Self::with_id) (e.g. the request's
    /// transaction id).
    ///
    /// ```
    /// use mfa_devices::error::ApiError;
    /// let response = ApiError::conflict("the user's devices changed")
    ///     .with_id("7f1b7a4e-0d55-4b0e-9f57-0c1c5a2d9e11")
    ///     .into_response();
    /// assert_eq!(response.status(), http::StatusCode::CONFLICT);
    /// assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
    /// let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    /// assert_eq!(body, serde_json::json!({"id": "7f1b7a4e-0d55-4b0e-9f57-0c1c5a2d9e11",
    ///     "code": "CONFLICT", "message": "the user's devices changed"}));
    /// ```
    pub fn into_response(self) -> Response<String> {
        let status = self.status_code();
        let body = serde_json::to_string(&self).unwrap_or_else(|_| {
            // Serializing strings and maps cannot fail; a fixed body keeps this total anyway.
            String::from(
                r#"{"code":"UNEXPECTED_ERROR","message":"The error could not be written."}"#,
            )
        });
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

impl Command {
    /// [`Command::from_request`] over an `http::Request` (feature `http`): its `Content-Type`
    /// header (absent or unreadable: 415) and its body. `target` says which resource the
    /// request's path addresses — routing is the server's.
    ///
    /// ```
    /// use mfa_devices::device::DeviceId;
    /// use mfa_devices::user_devices::{Command, RequestTarget};
    /// let request = http::Request::put("/environments/e/users/u/devices/d/nickname")
    ///     .header("content-type", "application/json; charset=UTF-8")
    ///     .body(r#"{"nickname": "Work phone"}"#)
    ///     .unwrap();
    /// let id = DeviceId::from_bytes([7; 16]);
    /// let command = Command::from_http_request(&request, RequestTarget::Nickname(id)).unwrap();
    /// assert_eq!(command, Command::SetNickname { id, nickname: "Work phone".into() });
    /// ```
    pub fn from_http_request<B: AsRef<[u8]>>(
        request: &Request<B>,
        target: RequestTarget,
    ) -> Result<Command, ApiError> {
        Command::from_request(
            content_type(request.headers()),
            target,
            request.body().as_ref(),
        )
    }
}

impl Action {
    /// [`Action::from_request`] over an `http::Request` (feature `http`): its `Content-Type`
    /// header (absent or unreadable: 415) and its body.
    ///
    /// ```
    /// use mfa_devices::authn::{Action, OTP_CHECK_MEDIA_TYPE};
    /// let request = http::Request::post("/env/deviceAuthentications/flow")
    ///     .header("content-type", OTP_CHECK_MEDIA_TYPE)
    ///     .body(br#"{"otp": "123456"}"#.to_vec())
    ///     .unwrap();
    /// assert!(matches!(Action::from_http_request(&request), Ok(Action::CheckOtp(_))));
    /// ```
    pub fn from_http_request<B: AsRef<[u8]>>(request: &Request<B>) -> Result<Action, ApiError> {
        Action::from_request(content_type(request.headers()), request.body().as_ref())
    }
}

/// Evaluates a request's `If-Match` header lines (feature `http`) against the loaded
/// `revision` with [`if_match`]: no `If-Match` line → `Ok` (an unconditional request — the
/// store's compare-and-swap still protects it); several lines are one list (RFC 9110 §5.3); a
/// line that is not visible ASCII matches nothing. The error converts into a 412 [`ApiError`].
///
/// ```
/// use mfa_devices::error::ApiError;
/// use mfa_devices::http::if_match_headers;
/// use mfa_devices::user_devices::etag;
/// let mut headers = http::HeaderMap::new();
/// assert!(if_match_headers(&headers, 5).is_ok());
/// headers.append(http::header::IF_MATCH, "\"4\"".parse().unwrap());
/// let refused = ApiError::from(if_match_headers(&headers, 5).unwrap_err());
/// assert_eq!(refused.status_code(), http::StatusCode::PRECONDITION_FAILED);
/// headers.append(http::header::IF_MATCH, etag(5).parse().unwrap());
/// assert!(if_match_headers(&headers, 5).is_ok());
/// ```
pub fn if_match_headers(headers: &HeaderMap, revision: u64) -> Result<(), PreconditionFailed> {
    let mut lines = headers.get_all(IF_MATCH).iter().peekable();
    if lines.peek().is_none() {
        return Ok(());
    }
    let mut last = Err(PreconditionFailed { revision });
    for line in lines {
        if let Ok(text) = line.to_str() {
            last = if_match(text, revision);
            if last.is_ok() {
                return last;
            }
        }
    }
    last
}
