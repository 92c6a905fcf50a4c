//! [`StoredFlow`]: the one persisted form of a [`DeviceAuthentication`], typed and versioned.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::body::DeviceAuthenticationBody;
use super::flow::FlowState;
use super::{DeviceAuthentication, FlowError};

type HmacSha256 = Hmac<Sha256>;

/// An issued passcode as the flow keeps it: a salted HMAC-SHA-256 of the code, never the code.
/// `Debug` prints neither.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SealedPasscode {
    #[serde(with = "hex16")]
    salt: [u8; 16],
    #[serde(rename = "hmacSha256", with = "hex32")]
    mac: [u8; 32],
    expires_at: DateTime<Utc>,
}

impl fmt::Debug for SealedPasscode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPasscode")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

fn mac(salt: &[u8], code: &str) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(salt) {
        Ok(mut m) => {
            m.update(code.as_bytes());
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

impl SealedPasscode {
    /// Seals `code`, with a salt derived from the caller's `random` bytes (the ones the code
    /// was drawn from: HMAC-SHA-256 keyed with them, so the salt is as unpredictable as they
    /// are and tells nothing of the code).
    pub(super) fn seal(code: &str, random: &[u8], expires_at: DateTime<Utc>) -> Self {
        let derived = mac(random, "mfa-devices passcode salt");
        let mut salt = [0; 16];
        salt.iter_mut()
            .zip(derived.iter())
            .for_each(|(s, d)| *s = *d);
        Self {
            salt,
            mac: mac(&salt, code),
            expires_at,
        }
    }

    /// Seals a passcode a version-1 stored form kept in clear; the salt is derived from the
    /// flow's id (that form had no salt, and its code was in clear wherever it was stored).
    fn seal_v1(code: &str, flow_id: &uuid::Uuid, expires_at: DateTime<Utc>) -> Self {
        Self::seal(code, flow_id.as_bytes(), expires_at)
    }

    /// Whether `candidate` is the code (compared in constant time; any length).
    pub(super) fn matches(&self, candidate: &str) -> bool {
        bool::from(mac(&self.salt, candidate).ct_eq(&self.mac))
    }

    /// When the code stops being accepted.
    pub(super) fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

macro_rules! hex_array {
    ($name:ident, $n:literal) => {
        mod $name {
            use data_encoding::HEXLOWER;
            use serde::de::Error as _;
            use serde::{Deserialize, Deserializer, Serializer};

            pub(super) fn serialize<S: Serializer>(v: &[u8; $n], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&HEXLOWER.encode(v))
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<[u8; $n], D::Error> {
                let text = String::deserialize(d)?;
                let bytes = HEXLOWER
                    .decode(text.as_bytes())
                    .map_err(|e| D::Error::custom(format_args!("not lower-case hex: {e}")))?;
                <[u8; $n]>::try_from(bytes.as_slice()).map_err(|_| {
                    D::Error::custom(format_args!("{} bytes, expected {}", bytes.len(), $n))
                })
            }
        }
    };
}
hex_array!(hex16, 16);
hex_array!(hex32, 32);

/// A [`DeviceAuthentication`] as a server stores it between requests: the resource body and
/// all of the flow's private state (device snapshot, resolved policy, pending challenge,
/// failure counters), in a typed, versioned form of this crate (not PingOne's).
///
/// - [`DeviceAuthentication::to_stored`] writes the current version
///   ([`CURRENT_VERSION`](Self::CURRENT_VERSION)); [`DeviceAuthentication::from_stored`] reads
///   it and every older version back to a flow that continues exactly like the original.
/// - `serde` writes `{"version": 2, "resource": {…}, "state": {…}}`. Reading accepts the
///   unversioned form of earlier releases (version 1, `{"resource", "state"}`, passcode in
///   clear: it is sealed on reading) and keeps a form of an unknown version as it is, for
///   `from_stored` to refuse with [`FlowError::UnsupportedStoredVersion`] — so a server rolled
///   back past a newer release fails loudly instead of guessing. Read it with a
///   self-describing format (JSON, CBOR, …).
/// - No live passcode is kept in clear: an issued code is a salted HMAC-SHA-256
///   (compared in constant time). A test-mode device's code is still in the body's
///   `test.otp`, as PingOne shows it. The device snapshot holds what the user's device list
///   holds: store the form like the session it is.
/// - `Debug` shows the version, the flow's id and its status only.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use mfa_devices::authn::*;
/// # use mfa_devices::policy::resolved::*;
/// # use mfa_devices::device::*;
/// # use mfa_devices::policy::resolved::FlowPolicy;
/// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let sms = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Sms, DeviceStatus::Active, now);
/// let mut snapshot = DeviceSnapshot::new(env, user);
/// snapshot.order = vec![sms.id];
/// snapshot.devices = vec![sms];
/// let mut flow = DeviceAuthentication::start_with(snapshot.clone(), FlowPolicy::all_enabled(), uuid::Uuid::nil(), now).unwrap();
/// let sent = flow.issue_otp(&[5; 12], now).unwrap();
///
/// let text = serde_json::to_string(&flow.to_stored()).unwrap();   // into the session store
/// assert!(!text.contains(&sent.code));                              // sealed, not in clear
/// let stored: StoredFlow = serde_json::from_str(&text).unwrap();    // next request
/// assert_eq!(stored.version(), StoredFlow::CURRENT_VERSION);
/// assert!(!format!("{stored:?}").contains("state"));
/// let mut again = DeviceAuthentication::from_stored(stored).unwrap();
/// assert_eq!(again, flow);
/// again.sync(&snapshot, now); // with the user's devices as they are now (`sync_with` a `UserDevices`)
/// assert!(again.check_otp(&sent.code, now).unwrap().is_success());
/// ```
#[derive(Clone, PartialEq)]
pub struct StoredFlow {
    version: u32,
    form: Form,
}

// One stored form is handled at a time; boxing the common variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq)]
enum Form {
    Known {
        resource: DeviceAuthenticationBody,
        state: FlowState,
    },
    /// A version this crate does not read, kept verbatim.
    Unknown(Map<String, Value>),
}

impl StoredFlow {
    /// The version [`DeviceAuthentication::to_stored`] writes.
    pub const CURRENT_VERSION: u32 = 2;

    /// The form's version (a version-1 form reads as [`CURRENT_VERSION`](Self::CURRENT_VERSION)
    /// once converted; an unknown one as written).
    pub fn version(&self) -> u32 {
        self.version
    }
}

impl fmt::Debug for StoredFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("StoredFlow");
        d.field("version", &self.version);
        if let Form::Known { resource, .. } = &self.form {
            d.field("id", &resource.id)
                .field("status", &resource.status);
        }
        d.finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct KnownRef<'a> {
    version: u32,
    resource: &'a DeviceAuthenticationBody,
    state: &'a FlowState,
}

#[derive(Deserialize)]
struct KnownOwned {
    resource: DeviceAuthenticationBody,
    state: FlowState,
}

impl Serialize for StoredFlow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.form {
            Form::Known { resource, state } => KnownRef {
                version: self.version,
                resource,
                state,
            }
            .serialize(s),
            Form::Unknown(map) => map.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for StoredFlow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(d)?;
        let version = match map.remove("version") {
            None => 1,
            Some(v) => v
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .filter(|v| *v >= 1)
                .ok_or_else(|| {
                    D::Error::custom(format_args!(
                        "a stored flow's version is a positive integer, not {v}"
                    ))
                })?,
        };
        if version > StoredFlow::CURRENT_VERSION {
            map.insert("version".into(), Value::from(version));
            return Ok(Self {
                version,
                form: Form::Unknown(map),
            });
        }
        if version == 1 {
            upgrade_v1(&mut map).map_err(D::Error::custom)?;
        }
        let KnownOwned { resource, state } = serde_json::from_value(Value::Object(map))
            .map_err(|e| D::Error::custom(format_args!("stored flow version {version}: {e}")))?;
        Ok(Self {
            version: StoredFlow::CURRENT_VERSION,
            form: Form::Known { resource, state },
        })
    }
}

/// Version 1 → 2: the pending passcode `{"code", "expiresAt"}` in clear becomes sealed.
fn upgrade_v1(map: &mut Map<String, Value>) -> Result<(), String> {
    let flow_id = map
        .get("resource")
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<uuid::Uuid>().ok())
        .ok_or("stored flow version 1: resource.id is missing or not a UUID")?;
    let Some(Value::Object(code)) = map
        .get_mut("state")
        .and_then(|s| s.get_mut("pending"))
        .and_then(|p| p.get_mut("code"))
    else {
        return Ok(());
    };
    let clear = code.get("code").and_then(Value::as_str);
    let expires = code
        .get("expiresAt")
        .cloned()
        .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v).ok());
    let (Some(clear), Some(expires)) = (clear, expires) else {
        return Err("stored flow version 1: state.pending.code needs code and expiresAt".into());
    };
    let sealed = serde_json::to_value(SealedPasscode::seal_v1(clear, &flow_id, expires))
        .map_err(|e| format!("stored flow version 1: {e}"))?;
    if let Value::Object(sealed) = sealed {
        *code = sealed;
    }
    Ok(())
}

impl DeviceAuthentication {
    /// The flow with all its private state, for a server to store between requests (see
    /// [`StoredFlow`]). [`from_stored`](Self::from_stored) reads it back to an equal flow.
    pub fn to_stored(&self) -> StoredFlow {
        let (resource, state) = self.parts();
        StoredFlow {
            version: StoredFlow::CURRENT_VERSION,
            form: Form::Known {
                resource: resource.clone(),
                state: state.clone(),
            },
        }
    }

    /// The flow a [`StoredFlow`] holds, continuing exactly where it was stored. A form of a
    /// version this crate does not know is refused with
    /// [`FlowError::UnsupportedStoredVersion`].
    ///
    /// ```
    /// use mfa_devices::authn::{DeviceAuthentication, FlowError, StoredFlow};
    /// let future: StoredFlow = serde_json::from_str(r#"{"version": 99, "flow": {}}"#).unwrap();
    /// assert_eq!(future.version(), 99);
    /// let err = DeviceAuthentication::from_stored(future).unwrap_err();
    /// assert_eq!(err, FlowError::UnsupportedStoredVersion(99));
    /// assert!(err.to_string().contains("versions 1 to 2"));
    /// ```
    pub fn from_stored(stored: StoredFlow) -> Result<Self, FlowError> {
        match stored.form {
            Form::Known { resource, state } => Ok(Self::from_parts(resource, state)),
            Form::Unknown(_) => Err(FlowError::UnsupportedStoredVersion(stored.version)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_passcodes_match_only_their_code() {
        let t = DateTime::<Utc>::UNIX_EPOCH;
        let a = SealedPasscode::seal("123456", &[1; 12], t);
        assert!(a.matches("123456"));
        assert!(!a.matches("123457") && !a.matches("12345") && !a.matches(""));
        let b = SealedPasscode::seal("123456", &[2; 12], t);
        assert_ne!(a.salt, b.salt, "another draw, another salt");
        assert_ne!(a.mac, b.mac);
        assert!(!format!("{a:?}").contains("123456"));
        let text = serde_json::to_string(&a).unwrap();
        assert!(!text.contains("123456"));
        assert_eq!(serde_json::from_str::<SealedPasscode>(&text).unwrap(), a);
    }
}
