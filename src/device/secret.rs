//! [`Secret`]: a string that must never appear in logs.

use std::fmt;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// A secret string on a device — a TOTP device's base32 `secret` and its `keyUri` (which holds
/// the secret) — serialized as the plain JSON string PingOne writes, but never shown by
/// `Debug` (it prints `Secret(<redacted>)`), so a logged [`Device`](super::Device),
/// aggregate, event or flow does not leak it. `==` compares in constant time (for equal
/// lengths).
///
/// Read it with [`expose`](Self::expose), only to hand it to the user or to an OTP engine.
///
/// ```
/// use mfa_devices::device::Secret;
/// let s = Secret::new("JBSWY3DPEHPK3PXP");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert_eq!(s.expose(), "JBSWY3DPEHPK3PXP");
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#""JBSWY3DPEHPK3PXP""#);
/// let back: Secret = serde_json::from_str(r#""JBSWY3DPEHPK3PXP""#).unwrap();
/// assert_eq!(back, s);
/// ```
#[derive(Clone, Default, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    ///
    /// ```
    /// assert!(mfa_devices::device::Secret::new("").is_empty());
    /// ```
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: pass it to the user (inside its visibility window) or to an OTP
    /// engine, never to a log.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::Secret::new("x").expose(), "x");
    /// ```
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    ///
    /// ```
    /// assert!(!mfa_devices::device::Secret::new("x").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}
