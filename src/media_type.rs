//! Media types: how every resource of this crate reads a request's `Content-Type`.
//!
//! PingOne selects the action of a `POST` by its media type (for example
//! `application/vnd.pingidentity.device.activate+json`); the constants for each resource live
//! with the resource ([`user_devices`](crate::user_devices), [`authn`](crate::authn)), and they are
//! compared by their [`essence`].

/// The essence of a `Content-Type` value: the media type without parameters, trimmed of
/// HTTP's optional whitespace (space and horizontal tab only, RFC 9110 §5.6.3) and lower-cased
/// (ASCII), as every resource of this crate compares media types. Other whitespace (a
/// no-break space U+00A0, an em space U+2003, a line break) is kept, so such a value matches no
/// media type and is answered with 415 — the decision is to read `Content-Type` as HTTP
/// defines it, not more leniently.
///
/// ```
/// use mfa_devices::media_type;
/// assert_eq!(
///     media_type::essence(" Application/VND.pingidentity.device.select+json; charset=utf-8"),
///     "application/vnd.pingidentity.device.select+json"
/// );
/// assert_eq!(media_type::essence(""), "");
/// assert_ne!(media_type::essence("\u{a0}application/json"), "application/json");
/// ```
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_matches([' ', '\t'])
        .to_ascii_lowercase()
}
