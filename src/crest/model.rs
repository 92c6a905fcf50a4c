//! The four AM 2FA device categories as Advanced Identity Cloud lists them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::CrestError;
use super::query::{QueryItem, lookup};
use crate::filter::ast::AttrPath;
use crate::filter::{Attr, JsonPath, Resource};

/// A 2FA device category: the last segment of `…/users/{id}/devices/2fa/{category}`.
///
/// A closed set: AM exposes exactly these four collections under `devices/2fa`, and an unknown
/// category names no endpoint, so parsing one is an error rather than an `Other` value.
///
/// ```
/// use mfa_devices::crest::DeviceCategory;
/// let c: DeviceCategory = "webauthn".parse().unwrap();
/// assert_eq!(c, DeviceCategory::WebAuthn);
/// assert_eq!(c.to_string(), "webauthn");
/// assert!("sms".parse::<DeviceCategory>().is_err());
/// assert_eq!(serde_json::to_value(DeviceCategory::Binding).unwrap(), "binding");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceCategory {
    /// OATH (HOTP/TOTP) authenticator apps: `oath`.
    Oath,
    /// Push-notification devices: `push`.
    Push,
    /// WebAuthn authenticators (security keys, platform authenticators): `webauthn`.
    WebAuthn,
    /// Bound devices (device binding, a JWK per device): `binding`.
    Binding,
}

impl DeviceCategory {
    /// All four categories, in the order the AIC documentation lists them.
    pub const ALL: [DeviceCategory; 4] = [Self::Oath, Self::Push, Self::WebAuthn, Self::Binding];

    /// The path segment (`oath`, `push`, `webauthn`, `binding`).
    ///
    /// ```
    /// use mfa_devices::crest::DeviceCategory;
    /// assert_eq!(DeviceCategory::Oath.as_str(), "oath");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oath => "oath",
            Self::Push => "push",
            Self::WebAuthn => "webauthn",
            Self::Binding => "binding",
        }
    }

    /// Whether AM lets a user rename a device of this category (`deviceName`): webauthn and
    /// binding devices only.
    ///
    /// ```
    /// use mfa_devices::crest::DeviceCategory;
    /// assert!(DeviceCategory::Binding.supports_rename());
    /// assert!(!DeviceCategory::Oath.supports_rename());
    /// ```
    pub fn supports_rename(self) -> bool {
        matches!(self, Self::WebAuthn | Self::Binding)
    }

    /// Whether the category supports the `reset` action: oath and push devices only.
    ///
    /// ```
    /// use mfa_devices::crest::DeviceCategory;
    /// assert!(DeviceCategory::Push.supports_reset());
    /// assert!(!DeviceCategory::WebAuthn.supports_reset());
    /// ```
    pub fn supports_reset(self) -> bool {
        matches!(self, Self::Oath | Self::Push)
    }
}

impl fmt::Display for DeviceCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeviceCategory {
    type Err = CrestError;

    /// Exact, lower-case segment names (AM's endpoint paths are case-sensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| CrestError::UnknownCategory(s.to_owned()))
    }
}

impl Serialize for DeviceCategory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DeviceCategory {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! common_accessors {
    ($ty:ident, $cat:expr) => {
        impl $ty {
            /// The category (collection) this device is listed in.
            pub fn category(&self) -> DeviceCategory {
                $cat
            }
        }

        impl QueryItem for $ty {
            fn sort_value(&self, field: &AttrPath) -> Value {
                self.field_value(&field.segments)
            }
        }
    };
}

/// Looks the rest of a pointer up inside a field value.
fn below(v: Value, rest: &[String]) -> Value {
    if rest.is_empty() { v } else { lookup(&v, rest) }
}

/// The unknown fields of a device, by pointer.
fn in_extra(extra: &Map<String, Value>, segments: &[String]) -> Value {
    match segments.split_first() {
        Some((first, rest)) => extra
            .get(first.as_str())
            .map_or(Value::Null, |v| lookup(v, rest)),
        None => Value::Null,
    }
}

macro_rules! common_field_value {
    ($self:ident, $segments:ident, $rest:ident, { $($name:literal => $value:expr),* $(,)? }) => {{
        let Some((first, $rest)) = $segments.split_first() else {
            return Value::Null;
        };
        match first.as_str() {
            "_id" => below(Value::from($self.id.as_str()), $rest),
            "_rev" => below(Value::from($self.rev.as_str()), $rest),
            "deviceName" => below(Value::from($self.device_name.as_str()), $rest),
            "uuid" => below(Value::from($self.uuid.as_str()), $rest),
            "deviceManagementStatus" => below(Value::from($self.device_management_status), $rest),
            $($name => $value,)*
            _ => in_extra(&$self.extra, $segments),
        }
    }};
}

impl OathDevice {
    fn field_value(&self, segments: &[String]) -> Value {
        common_field_value!(self, segments, rest, {})
    }
}

impl PushDevice {
    fn field_value(&self, segments: &[String]) -> Value {
        common_field_value!(self, segments, rest, {})
    }
}

impl WebAuthnDevice {
    fn field_value(&self, segments: &[String]) -> Value {
        common_field_value!(self, segments, rest, {
            "credentialId" => below(
                self.credential_id.as_deref().map_or(Value::Null, Value::from),
                rest,
            ),
        })
    }
}

impl BoundDevice {
    fn field_value(&self, segments: &[String]) -> Value {
        common_field_value!(self, segments, rest, {
            "createdDate" => below(Value::from(self.created_date), rest),
            "lastAccessDate" => below(Value::from(self.last_access_date), rest),
            "deviceId" => below(Value::from(self.device_id.as_str()), rest),
            "key" => lookup(&self.key, rest),
        })
    }
}

/// An OATH device as listed by `GET …/devices/2fa/oath?_queryFilter=true`.
///
/// Every documented field is typed; any other field is kept in `extra` so the JSON round-trips
/// exactly.
///
/// ```
/// use mfa_devices::crest::{DeviceCategory, OathDevice};
/// let json = serde_json::json!({
///     "_id": "ff1db8bf-d2d7-46e1-926a-568b877f87a5", "_rev": "172031596",
///     "deviceName": "OATH Device", "uuid": "ff1db8bf-d2d7-46e1-926a-568b877f87a5",
///     "deviceManagementStatus": false});
/// let d: OathDevice = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(d.device_name, "OATH Device");
/// assert_eq!(d.category(), DeviceCategory::Oath);
/// assert_eq!(serde_json::to_value(&d).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OathDevice {
    /// `_id`: the resource id (equal to `uuid` in AM).
    #[serde(rename = "_id")]
    pub id: String,
    /// `_rev`: the revision, for `If-Match`.
    #[serde(rename = "_rev")]
    pub rev: String,
    /// `deviceName`.
    #[serde(rename = "deviceName")]
    pub device_name: String,
    /// `uuid`: the id used to delete the device.
    pub uuid: String,
    /// `deviceManagementStatus`: whether the device is managed (AM reports `false` for
    /// self-registered devices).
    #[serde(rename = "deviceManagementStatus")]
    pub device_management_status: bool,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
common_accessors!(OathDevice, DeviceCategory::Oath);

/// A push device as listed by `GET …/devices/2fa/push?_queryFilter=true`.
///
/// ```
/// use mfa_devices::crest::PushDevice;
/// let json = serde_json::json!({
///     "_id": "a", "_rev": "1", "deviceName": "Push Device", "uuid": "a",
///     "deviceManagementStatus": false, "somethingNew": [1, 2]});
/// let d: PushDevice = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(d.extra["somethingNew"], serde_json::json!([1, 2]));
/// assert_eq!(serde_json::to_value(&d).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushDevice {
    /// `_id`: the resource id (equal to `uuid` in AM).
    #[serde(rename = "_id")]
    pub id: String,
    /// `_rev`: the revision.
    #[serde(rename = "_rev")]
    pub rev: String,
    /// `deviceName`.
    #[serde(rename = "deviceName")]
    pub device_name: String,
    /// `uuid`: the id used to delete the device.
    pub uuid: String,
    /// `deviceManagementStatus`.
    #[serde(rename = "deviceManagementStatus")]
    pub device_management_status: bool,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
common_accessors!(PushDevice, DeviceCategory::Push);

/// A WebAuthn device as listed by `GET …/devices/2fa/webauthn?_queryFilter=true`.
///
/// ```
/// use mfa_devices::crest::WebAuthnDevice;
/// let json = serde_json::json!({
///     "_id": "a", "_rev": "163664231", "deviceName": "New Security Key", "uuid": "a",
///     "deviceManagementStatus": false});
/// let d: WebAuthnDevice = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(d.credential_id, None);
/// assert_eq!(serde_json::to_value(&d).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebAuthnDevice {
    /// `_id`: the resource id (equal to `uuid` in AM).
    #[serde(rename = "_id")]
    pub id: String,
    /// `_rev`: the revision.
    #[serde(rename = "_rev")]
    pub rev: String,
    /// `deviceName` (renameable).
    #[serde(rename = "deviceName")]
    pub device_name: String,
    /// `uuid`: the id used to delete the device.
    pub uuid: String,
    /// `credentialId`: the WebAuthn credential id, when AM includes it.
    #[serde(
        rename = "credentialId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub credential_id: Option<String>,
    /// `deviceManagementStatus`.
    #[serde(rename = "deviceManagementStatus")]
    pub device_management_status: bool,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
common_accessors!(WebAuthnDevice, DeviceCategory::WebAuthn);

/// A bound device as listed by `GET …/devices/2fa/binding?_queryFilter=true`.
///
/// `createdDate` and `lastAccessDate` are epoch milliseconds on the wire (kept as `i64` so the
/// JSON round-trips exactly; [`created_at`](Self::created_at) and
/// [`last_access_at`](Self::last_access_at) convert). `key` is the device's public JWK, kept as
/// opaque JSON.
///
/// ```
/// use mfa_devices::crest::BoundDevice;
/// let json = serde_json::json!({
///     "_id": "a", "_rev": "192142989", "createdDate": 1715182923119_i64,
///     "lastAccessDate": 1715182923183_i64, "deviceId": "e2e84b5d", "deviceName": "iOS Device",
///     "uuid": "a", "key": {"kty": "EC", "crv": "P-256"}, "deviceManagementStatus": false});
/// let d: BoundDevice = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(d.created_at().unwrap().to_rfc3339(), "2024-05-08T15:42:03.119+00:00");
/// assert_eq!(d.key["kty"], "EC");
/// assert_eq!(serde_json::to_value(&d).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundDevice {
    /// `_id`: the resource id (equal to `uuid` in AM).
    #[serde(rename = "_id")]
    pub id: String,
    /// `_rev`: the revision.
    #[serde(rename = "_rev")]
    pub rev: String,
    /// `createdDate`: when the device was bound, epoch milliseconds.
    #[serde(rename = "createdDate")]
    pub created_date: i64,
    /// `lastAccessDate`: when the device was last used, epoch milliseconds.
    #[serde(rename = "lastAccessDate")]
    pub last_access_date: i64,
    /// `deviceId`: the client-side device identifier.
    #[serde(rename = "deviceId")]
    pub device_id: String,
    /// `deviceName` (renameable).
    #[serde(rename = "deviceName")]
    pub device_name: String,
    /// `uuid`: the id used to delete the device.
    pub uuid: String,
    /// `key`: the device's public key as a JWK, kept as opaque JSON.
    pub key: Value,
    /// `deviceManagementStatus`.
    #[serde(rename = "deviceManagementStatus")]
    pub device_management_status: bool,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
common_accessors!(BoundDevice, DeviceCategory::Binding);

impl BoundDevice {
    /// `createdDate` as a UTC instant (`None` if out of chrono's range).
    ///
    /// ```
    /// # let json = serde_json::json!({"_id":"a","_rev":"1","createdDate":0,"lastAccessDate":1000,
    /// #   "deviceId":"d","deviceName":"n","uuid":"a","key":{},"deviceManagementStatus":false});
    /// let d: mfa_devices::crest::BoundDevice = serde_json::from_value(json).unwrap();
    /// assert_eq!(d.created_at().unwrap().timestamp_millis(), 0);
    /// ```
    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.created_date)
    }

    /// `lastAccessDate` as a UTC instant (`None` if out of chrono's range).
    ///
    /// ```
    /// # let json = serde_json::json!({"_id":"a","_rev":"1","createdDate":0,"lastAccessDate":1000,
    /// #   "deviceId":"d","deviceName":"n","uuid":"a","key":{},"deviceManagementStatus":false});
    /// let d: mfa_devices::crest::BoundDevice = serde_json::from_value(json).unwrap();
    /// assert_eq!(d.last_access_at().unwrap().timestamp(), 1);
    /// ```
    pub fn last_access_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.last_access_date)
    }
}

/// The attributes of the four CREST device models, resolved once for
/// [`Filter::compile`](crate::filter::Filter::compile) (the `Resource` key of [`OathDevice`],
/// [`PushDevice`], [`WebAuthnDevice`] and [`BoundDevice`]).
///
/// Names match ASCII case-insensitively and strings compare ignoring case, exactly as the same
/// device as `serde_json::Value` would be evaluated, so a filter selects the same devices typed
/// or as JSON.
///
/// ```
/// use mfa_devices::crest::{parse_query_filter, BoundDevice, CrestDeviceKey};
/// use mfa_devices::filter::{Resource, ast::AttrPath};
/// assert_eq!(BoundDevice::resolve(&AttrPath::new(["createdDate"])), CrestDeviceKey::CreatedDate);
/// let json = serde_json::json!({"_id": "a", "_rev": "1", "createdDate": 1715182923119_i64,
///     "lastAccessDate": 1715182923183_i64, "deviceId": "d", "deviceName": "iOS Device",
///     "uuid": "a", "key": {"kty": "EC"}, "deviceManagementStatus": false});
/// let d: BoundDevice = serde_json::from_value(json).unwrap();
/// let f = parse_query_filter("/key/kty eq 'ec' and /createdDate gt 1715182923000").unwrap();
/// assert!(f.matches(&d));
/// assert!(f.compile::<BoundDevice>().matches(&d));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrestDeviceKey {
    /// `_id`.
    Id,
    /// `_rev`.
    Rev,
    /// `deviceName`.
    DeviceName,
    /// `uuid`.
    Uuid,
    /// `deviceManagementStatus`.
    DeviceManagementStatus,
    /// `credentialId` (webauthn).
    CredentialId,
    /// `createdDate` (binding).
    CreatedDate,
    /// `lastAccessDate` (binding).
    LastAccessDate,
    /// `deviceId` (binding).
    DeviceId,
    /// `key` (binding), or a path inside it (`key/kty`: the remaining segments).
    Key(Option<AttrPath>),
    /// Below a scalar field: never present.
    Absent,
    /// Anything else: looked up in the device's unknown fields.
    Extra(AttrPath),
}

const COMMON_KEYS: [(&str, CrestDeviceKey); 5] = [
    ("_id", CrestDeviceKey::Id),
    ("_rev", CrestDeviceKey::Rev),
    ("deviceName", CrestDeviceKey::DeviceName),
    ("uuid", CrestDeviceKey::Uuid),
    (
        "deviceManagementStatus",
        CrestDeviceKey::DeviceManagementStatus,
    ),
];

/// Resolves a path against the common fields, the type's own fields (`own`), an optional
/// `key` JWK, and otherwise the unknown fields.
fn resolve_device_key(
    path: &AttrPath,
    own: &[(&str, CrestDeviceKey)],
    has_key: bool,
) -> CrestDeviceKey {
    if path.urn.is_some() {
        return CrestDeviceKey::Extra(path.clone());
    }
    let Some((first, rest)) = path.segments.split_first() else {
        return CrestDeviceKey::Absent;
    };
    if has_key && first.eq_ignore_ascii_case("key") {
        return CrestDeviceKey::Key(
            (!rest.is_empty()).then(|| AttrPath::new(rest.iter().cloned())),
        );
    }
    for (name, key) in COMMON_KEYS.iter().chain(own) {
        if first.eq_ignore_ascii_case(name) {
            return if rest.is_empty() {
                key.clone()
            } else {
                CrestDeviceKey::Absent
            };
        }
    }
    CrestDeviceKey::Extra(path.clone())
}

macro_rules! device_resource {
    ($ty:ident, $own:expr, $has_key:expr, |$d:ident| { $($key:pat => $attr:expr),* $(,)? }) => {
        impl Resource for $ty {
            type Key = CrestDeviceKey;

            fn resolve(path: &AttrPath) -> CrestDeviceKey {
                resolve_device_key(path, $own, $has_key)
            }

            fn attr<'a>(&'a self, key: &'a CrestDeviceKey) -> Attr<'a> {
                let $d = self;
                match key {
                    CrestDeviceKey::Id => Attr::Str(&$d.id),
                    CrestDeviceKey::Rev => Attr::Str(&$d.rev),
                    CrestDeviceKey::DeviceName => Attr::Str(&$d.device_name),
                    CrestDeviceKey::Uuid => Attr::Str(&$d.uuid),
                    CrestDeviceKey::DeviceManagementStatus => {
                        Attr::Bool($d.device_management_status)
                    }
                    $($key => $attr,)*
                    CrestDeviceKey::Extra(path) => Attr::Path(&$d.extra, JsonPath::new(path)),
                    _ => Attr::Absent,
                }
            }
        }
    };
}

device_resource!(OathDevice, &[], false, |d| {});
device_resource!(PushDevice, &[], false, |d| {});
device_resource!(WebAuthnDevice, &[("credentialId", CrestDeviceKey::CredentialId)], false, |d| {
    CrestDeviceKey::CredentialId => d.credential_id.as_deref().map_or(Attr::Absent, Attr::Str),
});
device_resource!(
    BoundDevice,
    &[
        ("createdDate", CrestDeviceKey::CreatedDate),
        ("lastAccessDate", CrestDeviceKey::LastAccessDate),
        ("deviceId", CrestDeviceKey::DeviceId),
    ],
    true,
    |d| {
    CrestDeviceKey::CreatedDate => Attr::Int(d.created_date),
    CrestDeviceKey::LastAccessDate => Attr::Int(d.last_access_date),
    CrestDeviceKey::DeviceId => Attr::Str(&d.device_id),
    CrestDeviceKey::Key(None) => Attr::Json(&d.key),
    CrestDeviceKey::Key(Some(rest)) => match &d.key {
        Value::Object(m) => Attr::Path(m, JsonPath::new(rest)),
        _ => Attr::Absent,
    },
});
