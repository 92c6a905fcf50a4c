//! [`ApiBase`]: the base URL of PingOne's API and authentication hosts.
//!
//! A leaf of the crate: the URL builders of each resource are defined next to the resource
//! (`impl ApiBase` blocks in [`device::hal`](crate::device::hal) and [`authn`](crate::authn)), so
//! this module depends on nothing and every module that renders links can use it.

/// The base URL of a PingOne host, from which every link the crate renders is built; a trailing
/// `/` is ignored. One type serves both hosts:
///
/// - the Platform API, such as `https://api.pingone.eu/v1` (device resources: the
///   [`environment`](Self::environment) … [`device`](Self::device) builders, used by
///   [`device::hal`](crate::device::hal) and
///   [`UserDevices::render_list`](crate::user_devices::UserDevices::render_list));
/// - the authentication API, such as `https://auth.pingone.eu` (PingOne's `{{authPath}}`:
///   [`device_authentication`](Self::device_authentication), used by
///   [`DeviceAuthentication::to_json`](crate::authn::DeviceAuthentication::to_json)).
///
/// ```
/// use mfa_devices::api_base::ApiBase;
/// let base = ApiBase::new("https://api.pingone.eu/v1/");
/// assert_eq!(base.as_str(), "https://api.pingone.eu/v1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiBase(String);

impl ApiBase {
    /// Wraps a base URL, dropping trailing slashes.
    pub fn new(base: impl Into<String>) -> Self {
        let mut s: String = base.into();
        while s.ends_with('/') {
            s.pop();
        }
        Self(s)
    }

    /// The base URL without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
