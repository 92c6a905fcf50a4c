//! [`ApiBase`]: the base URL of PingOne's API and authentication hosts, and the resource URLs
//! below it.

use uuid::Uuid;

use crate::device::{DeviceId, EnvironmentId, UserId};

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

    /// `{base}/environments/{env}`.
    pub fn environment(&self, env: &EnvironmentId) -> String {
        format!("{}/environments/{env}", self.0)
    }

    /// `{base}/environments/{env}/users/{user}`.
    pub fn user(&self, env: &EnvironmentId, user: &UserId) -> String {
        format!("{}/users/{user}", self.environment(env))
    }

    /// `{base}/environments/{env}/users/{user}/devices`.
    pub fn devices(&self, env: &EnvironmentId, user: &UserId) -> String {
        format!("{}/devices", self.user(env, user))
    }

    /// `{base}/environments/{env}/users/{user}/devices/{id}`.
    pub fn device(&self, env: &EnvironmentId, user: &UserId, id: &DeviceId) -> String {
        format!("{}/{id}", self.devices(env, user))
    }

    /// `{base}/{env}/deviceAuthentications/{id}`, on an authentication API base.
    ///
    /// ```
    /// use mfa_devices::api_base::ApiBase;
    /// use mfa_devices::device::EnvironmentId;
    /// let href = ApiBase::new("https://auth.pingone.eu").device_authentication(
    ///     &EnvironmentId::from_bytes([1; 16]), &uuid::Uuid::nil());
    /// assert_eq!(href, "https://auth.pingone.eu/01010101-0101-0101-0101-010101010101\
    ///     /deviceAuthentications/00000000-0000-0000-0000-000000000000");
    /// ```
    pub fn device_authentication(&self, environment: &EnvironmentId, id: &Uuid) -> String {
        format!("{}/{environment}/deviceAuthentications/{id}", self.0)
    }
}
