//! [`DeviceSettings`]: the user-device settings the aggregate enforces.

use serde::{Deserialize, Serialize};

use super::UserDevicesError;

/// The user-device settings the aggregate enforces: `maxAllowedDevices` (1–15, default 5).
///
/// Serializes as `{"maxAllowedDevices": 5}`; deserialization checks the range.
///
/// ```
/// use mfa_devices::user_devices::DeviceSettings;
/// assert_eq!(DeviceSettings::default().max_allowed_devices(), 5);
/// assert_eq!(DeviceSettings::new(15).unwrap().max_allowed_devices(), 15);
/// let e = mfa_devices::error::ApiError::from(DeviceSettings::new(16).unwrap_err());
/// assert_eq!(e.details[0].code.as_str(), "OUT_OF_RANGE");
/// assert!(serde_json::from_str::<DeviceSettings>(r#"{"maxAllowedDevices":0}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawSettings")]
pub struct DeviceSettings {
    max_allowed_devices: u8,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSettings {
    max_allowed_devices: u64,
}

impl TryFrom<RawSettings> for DeviceSettings {
    type Error = UserDevicesError;
    fn try_from(raw: RawSettings) -> Result<Self, Self::Error> {
        Self::new(raw.max_allowed_devices)
    }
}

impl DeviceSettings {
    /// PingOne's default `maxAllowedDevices`.
    pub const DEFAULT_MAX_ALLOWED_DEVICES: u8 = 5;
    /// The largest `maxAllowedDevices` PingOne allows.
    pub const MAX_ALLOWED_DEVICES: u8 = 15;

    /// Settings with `maxAllowedDevices`, which must be 1–15.
    pub fn new(max_allowed_devices: u64) -> Result<Self, UserDevicesError> {
        match u8::try_from(max_allowed_devices) {
            Ok(m) if (1..=Self::MAX_ALLOWED_DEVICES).contains(&m) => Ok(Self {
                max_allowed_devices: m,
            }),
            _ => Err(UserDevicesError::InvalidSettings {
                max_allowed_devices,
            }),
        }
    }

    /// How many ACTIVE or BLOCKED devices a user may have.
    pub fn max_allowed_devices(&self) -> u8 {
        self.max_allowed_devices
    }
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            max_allowed_devices: Self::DEFAULT_MAX_ALLOWED_DEVICES,
        }
    }
}
