//! Media types: how every resource of this crate reads a request's `Content-Type`.
//!
//! PingOne selects the action of a `POST` by its media type (for example
//! `application/vnd.pingidentity.device.activate+json`); the constants for each resource live
//! with the resource ([`user_devices`](crate::user_devices), [`authn`](crate::authn)), and they are
//! compared by their [`essence`].

/// The essence of a `Content-Type` value: the media type without parameters, trimmed and
/// lower-cased, as every resource of this crate compares media types.
///
/// ```
/// use mfa_devices::media_type;
/// assert_eq!(
///     media_type::essence(" Application/VND.pingidentity.device.select+json; charset=utf-8"),
///     "application/vnd.pingidentity.device.select+json"
/// );
/// assert_eq!(media_type::essence(""), "");
/// ```
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}
