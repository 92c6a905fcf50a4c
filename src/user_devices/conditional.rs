//! Conditional requests over the aggregate's [`revision`](super::UserDevices::revision): a
//! strong entity tag per revision and RFC 9110 `If-Match` evaluation.
//!
//! PingOne's API carries no revision: for PingOne-shaped clients the store's compare-and-swap
//! (see [`schema`](super::schema)) is the protection against lost updates, and a conflicting
//! commit is answered by deciding the command again on a fresh load (a blind retry). Clients
//! that want to be told instead can send the `ETag` they read back in `If-Match`: a server then
//! evaluates it with [`if_match`] against the revision it loaded, and answers a commit that lost
//! a race with the same 412 instead of retrying.
//!
//! ```
//! use mfa_devices::error::ApiError;
//! use mfa_devices::user_devices::{etag, if_match};
//! let tag = etag(3);
//! assert_eq!(tag, "\"3\"");
//! assert!(if_match(&tag, 3).is_ok());
//! let refused = ApiError::from(if_match(&tag, 4).unwrap_err());
//! assert_eq!((refused.http_status(), refused.code()), (412, "CONFLICT"));
//! assert!(if_match("*", 4).is_ok()); // any existing user
//! assert!(if_match("*", 0).is_err()); // a user without events does not exist yet
//! ```

use std::fmt;

use crate::error::{ApiError, ErrorCode};

/// The most `If-Match` bytes looked at; a longer header does not match (and is not echoed).
pub const MAX_IF_MATCH_BYTES: usize = 1024;

/// The strong entity tag (`ETag` header value, quotes included) of `revision`.
pub fn etag(revision: u64) -> String {
    format!("\"{revision}\"")
}

/// `If-Match` did not match the current revision: answer 412 Precondition Failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionFailed {
    /// The current revision.
    pub revision: u64,
}

impl fmt::Display for PreconditionFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "If-Match does not match the current version of the user's devices (ETag {})",
            etag(self.revision)
        )
    }
}

impl std::error::Error for PreconditionFailed {}

impl From<PreconditionFailed> for ApiError {
    /// `CONFLICT` with HTTP status 412.
    fn from(e: PreconditionFailed) -> Self {
        ApiError::new(ErrorCode::Conflict, e.to_string()).with_status(412)
    }
}

/// Evaluates an `If-Match` header value (RFC 9110 §13.1.1) against the current `revision`
/// (0: the user has no events yet, i.e. does not exist).
///
/// `*` matches any existing user. Otherwise the header is a comma-separated list of entity
/// tags compared strongly: it matches when one of them is [`etag(revision)`](etag). Weak tags
/// (`W/"…"`) never match, nor do malformed members or a header longer than
/// [`MAX_IF_MATCH_BYTES`].
///
/// ```
/// use mfa_devices::user_devices::if_match;
/// assert!(if_match(r#""1", "2""#, 2).is_ok());
/// assert!(if_match(r#"W/"2""#, 2).is_err());
/// assert!(if_match("2", 2).is_err()); // not a quoted entity tag
/// ```
pub fn if_match(header: &str, revision: u64) -> Result<(), PreconditionFailed> {
    let refused = Err(PreconditionFailed { revision });
    if header.len() > MAX_IF_MATCH_BYTES {
        return refused;
    }
    let current = etag(revision);
    let matched = header.split(',').map(str::trim).any(|member| {
        if member == "*" {
            revision > 0
        } else {
            member == current
        }
    });
    if matched { Ok(()) } else { refused }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_comparison_only() {
        assert!(if_match("\"7\"", 7).is_ok());
        assert!(if_match(" \"6\" ,\"7\" ", 7).is_ok());
        assert!(if_match("W/\"7\"", 7).is_err());
        assert!(if_match("\"07\"", 7).is_err());
        assert!(if_match("", 7).is_err());
        assert!(if_match("*", 1).is_ok());
        assert!(if_match("*", 0).is_err());
        let long = format!("{}\"7\"", " ".repeat(MAX_IF_MATCH_BYTES));
        assert!(if_match(&long, 7).is_err());
    }

    #[test]
    fn refusal_is_412_naming_the_current_etag() {
        let e = ApiError::from(if_match("\"1\"", 2).unwrap_err());
        assert_eq!(e.http_status(), 412);
        assert!(e.message.contains("\"2\""), "{}", e.message);
    }
}
