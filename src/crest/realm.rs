//! AM realm paths (`/realms/root/realms/alpha`) and the 2FA device endpoint paths under them.

use std::fmt;
use std::str::FromStr;

use super::{CrestError, DeviceCategory};

/// An AM realm: the root realm and the chain of sub-realm names below it.
///
/// Parsed from the endpoint form where every level is prefixed `realms/`
/// (`/realms/root/realms/alpha`), as the AIC REST paths require; rendered the same way by
/// `Display`. **Decision**: a sub-realm name is non-empty, of `[A-Za-z0-9_.-]`, and not `.` or
/// `..`, so it can be written into a URL path unescaped; anything else is an error. The short
/// hierarchy form (`/alpha`) is accepted only by [`Realm::from_hierarchy`].
///
/// ```
/// use mfa_devices::crest::{DeviceCategory, Realm};
/// let realm: Realm = "/realms/root/realms/alpha".parse().unwrap();
/// assert_eq!(realm.names(), ["alpha"]);
/// assert_eq!(realm.to_string(), "/realms/root/realms/alpha");
/// assert_eq!(
///     realm.devices_path("014c54bd-6078-4639-8316-8ce0e7746fa4", DeviceCategory::Oath).unwrap(),
///     "/json/realms/root/realms/alpha/users/014c54bd-6078-4639-8316-8ce0e7746fa4/devices/2fa/oath");
/// assert!("/realms/alpha".parse::<Realm>().is_err());
/// assert!("/realms/root/alpha".parse::<Realm>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Realm {
    names: Vec<String>,
}

fn realm_error(path: &str, offset: usize, reason: &'static str) -> CrestError {
    CrestError::InvalidRealm {
        path: path.to_owned(),
        offset,
        reason,
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Realm {
    /// The root realm (`/realms/root`).
    ///
    /// ```
    /// use mfa_devices::crest::Realm;
    /// assert_eq!(Realm::root().to_string(), "/realms/root");
    /// assert!(Realm::root().is_root());
    /// ```
    pub fn root() -> Self {
        Self { names: Vec::new() }
    }

    /// The sub-realm `name` of this realm.
    ///
    /// ```
    /// use mfa_devices::crest::Realm;
    /// let r = Realm::root().child("alpha").unwrap().child("eu").unwrap();
    /// assert_eq!(r.to_string(), "/realms/root/realms/alpha/realms/eu");
    /// assert!(Realm::root().child("a/b").is_err());
    /// ```
    pub fn child(&self, name: &str) -> Result<Self, CrestError> {
        if !valid_name(name) {
            return Err(realm_error(
                name,
                0,
                "a realm name is non-empty and of [A-Za-z0-9_.-] (not . or ..)",
            ));
        }
        let mut names = self.names.clone();
        names.push(name.to_owned());
        Ok(Self { names })
    }

    /// The short hierarchy form AM uses elsewhere: `/` (or `root`) is the root realm, `/alpha`
    /// and `alpha/eu` (leading `/` optional) are sub-realms of root.
    ///
    /// **Decision**: a first level named `root` means the root realm itself (`/root/alpha` is
    /// `/realms/root/realms/alpha`), as AIC names it; a sub-realm actually named `root` directly
    /// under root can only be written in the full form.
    ///
    /// ```
    /// use mfa_devices::crest::Realm;
    /// assert_eq!(Realm::from_hierarchy("/alpha").unwrap().to_string(), "/realms/root/realms/alpha");
    /// assert_eq!(Realm::from_hierarchy("alpha").unwrap(), Realm::from_hierarchy("/root/alpha").unwrap());
    /// assert!(Realm::from_hierarchy("/").unwrap().is_root());
    /// assert!(Realm::from_hierarchy("/alpha//eu").is_err());
    /// ```
    pub fn from_hierarchy(path: &str) -> Result<Self, CrestError> {
        let (body, mut at) = match path.strip_prefix('/') {
            Some(rest) => (rest, 1),
            None => (path, 0),
        };
        let mut realm = Self::root();
        if body.is_empty() {
            return Ok(realm);
        }
        for (i, name) in body.split('/').enumerate() {
            if i == 0 && name == "root" {
                at += name.len() + 1;
                continue;
            }
            if !valid_name(name) {
                return Err(realm_error(
                    path,
                    at,
                    "a realm name is non-empty and of [A-Za-z0-9_.-] (not . or ..)",
                ));
            }
            realm.names.push(name.to_owned());
            at += name.len() + 1;
        }
        Ok(realm)
    }

    /// Whether this is the root realm.
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }

    /// The sub-realm names below root, outermost first (empty for the root realm).
    ///
    /// ```
    /// use mfa_devices::crest::Realm;
    /// let r: Realm = "/realms/root/realms/alpha/realms/eu".parse().unwrap();
    /// assert_eq!(r.names(), ["alpha", "eu"]);
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The collection path of one user's devices of one category, relative to AM's base URL
    /// (`https://<tenant-env-fqdn>/am`):
    /// `/json/realms/root/realms/alpha/users/{id}/devices/2fa/{category}`.
    ///
    /// The user id is percent-encoded (every byte outside `[A-Za-z0-9-._~]`); an empty id is
    /// [`EmptyPathSegment`](CrestError::EmptyPathSegment), and an id of exactly `.` or `..` is
    /// [`DotPathSegment`](CrestError::DotPathSegment) — **decision**: refused rather than
    /// written, because a dot segment is removed or resolved to the parent by URL
    /// normalization (RFC 3986 §5.2.4) and `%2E` is equivalent to `.`, so no spelling of it
    /// names the user.
    ///
    /// ```
    /// use mfa_devices::crest::{CrestError, DeviceCategory, Realm};
    /// assert_eq!(Realm::root().devices_path("a b", DeviceCategory::Binding).unwrap(),
    ///            "/json/realms/root/users/a%20b/devices/2fa/binding");
    /// assert!(Realm::root().devices_path("", DeviceCategory::Push).is_err());
    /// assert_eq!(Realm::root().devices_path("..", DeviceCategory::Oath),
    ///            Err(CrestError::DotPathSegment("user id")));
    /// ```
    pub fn devices_path(
        &self,
        user_id: &str,
        category: DeviceCategory,
    ) -> Result<String, CrestError> {
        check_segment(user_id, "user id")?;
        let mut out = format!("/json{self}/users/");
        percent_encode(user_id, &mut out);
        out.push_str("/devices/2fa/");
        out.push_str(category.as_str());
        Ok(out)
    }

    /// The path of one device (by its `uuid`): the [`devices_path`](Self::devices_path) plus
    /// `/{uuid}` — the target of delete, rename and the `reset` action. The uuid follows the
    /// user id's rules (percent-encoded; empty, `.` and `..` refused).
    ///
    /// ```
    /// use mfa_devices::crest::{CrestError, DeviceCategory, Realm};
    /// let r = Realm::from_hierarchy("alpha").unwrap();
    /// assert_eq!(r.device_path("u1", DeviceCategory::WebAuthn, "ff1d").unwrap(),
    ///            "/json/realms/root/realms/alpha/users/u1/devices/2fa/webauthn/ff1d");
    /// assert_eq!(r.device_path("u1", DeviceCategory::Oath, "."),
    ///            Err(CrestError::DotPathSegment("device uuid")));
    /// ```
    pub fn device_path(
        &self,
        user_id: &str,
        category: DeviceCategory,
        uuid: &str,
    ) -> Result<String, CrestError> {
        check_segment(uuid, "device uuid")?;
        let mut out = self.devices_path(user_id, category)?;
        out.push('/');
        percent_encode(uuid, &mut out);
        Ok(out)
    }
}

/// An id that can be one path segment: not empty, not a dot segment.
fn check_segment(id: &str, what: &'static str) -> Result<(), CrestError> {
    match id {
        "" => Err(CrestError::EmptyPathSegment(what)),
        "." | ".." => Err(CrestError::DotPathSegment(what)),
        _ => Ok(()),
    }
}

fn percent_encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'),
            ));
        }
    }
}

impl fmt::Display for Realm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("/realms/root")?;
        for name in &self.names {
            write!(f, "/realms/{name}")?;
        }
        Ok(())
    }
}

impl FromStr for Realm {
    type Err = CrestError;

    /// `/realms/root` followed by any number of `/realms/{name}`; nothing else (no trailing
    /// `/`, no short forms — see [`Realm::from_hierarchy`]).
    fn from_str(path: &str) -> Result<Self, Self::Err> {
        let Some(mut rest) = path.strip_prefix("/realms/root") else {
            return Err(realm_error(
                path,
                0,
                "a realm path starts with /realms/root (every level prefixed realms/)",
            ));
        };
        let mut realm = Self::root();
        while !rest.is_empty() {
            let at = path.len() - rest.len();
            let Some(after) = rest.strip_prefix("/realms/") else {
                return Err(realm_error(
                    path,
                    at,
                    "each sub-realm is written /realms/{name}",
                ));
            };
            let end = after.find('/').unwrap_or(after.len());
            let name = after.get(..end).unwrap_or_default();
            if !valid_name(name) {
                return Err(realm_error(
                    path,
                    at + "/realms/".len(),
                    "a realm name is non-empty and of [A-Za-z0-9_.-] (not . or ..)",
                ));
            }
            realm.names.push(name.to_owned());
            rest = after.get(end..).unwrap_or_default();
        }
        Ok(realm)
    }
}
