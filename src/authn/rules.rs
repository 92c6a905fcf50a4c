//! The usable-device rule: whether a device can authenticate now under the resolved policy.

use std::fmt;

use chrono::{DateTime, Utc};

use super::wire::Compatibility;
use crate::device::{Device, DeviceDetails, DeviceType};
use crate::policy::resolved::FlowPolicy;

/// Why a device cannot authenticate now (see [`usability`]).
///
/// ```
/// use mfa_devices::authn::Unusable;
/// assert!(Unusable::Blocked.is_temporary());
/// assert!(!Unusable::MethodDisabled.is_temporary());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unusable {
    /// Not ACTIVE (activation required).
    NotActive,
    /// Locked at `now`; the lock ends at `until` (`None`: until unlocked).
    Locked {
        /// The lock's `expiresAt`.
        until: Option<DateTime<Utc>>,
    },
    /// Blocked by an administrator.
    Blocked,
    /// Its method is disabled in the policy.
    MethodDisabled,
    /// A MOBILE device whose application is not in the policy's `mobile.applications`, or
    /// allows neither push nor OTP.
    ApplicationNotAllowed,
    /// A WebAuthn device the browser's `compatibility` cannot use.
    HiddenByCompatibility(Compatibility),
    /// A type that never authenticates (BROWSER, unknown types).
    UnsupportedType,
}

impl Unusable {
    /// Whether the device exists and would be usable but for a lock or a block: the devices
    /// listed in `unavailableDevices`.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Locked { .. } | Self::Blocked)
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotActive => f.write_str("the device is not ACTIVE"),
            Self::Locked { until: Some(t) } => write!(
                f,
                "the device is locked until {}",
                crate::device::timestamp::format(t)
            ),
            Self::Locked { until: None } => f.write_str("the device is locked"),
            Self::Blocked => f.write_str("the device is blocked"),
            Self::MethodDisabled => f.write_str("its method is disabled in the policy"),
            Self::ApplicationNotAllowed => {
                f.write_str("its application is not allowed by the policy")
            }
            Self::HiddenByCompatibility(c) => {
                write!(f, "the browser's compatibility {c} cannot use it")
            }
            Self::UnsupportedType => f.write_str("its type cannot authenticate"),
        }
    }
}

fn method_allows(device: &Device, policy: &FlowPolicy) -> Result<(), Unusable> {
    let enabled = match &device.device_type {
        t if t.is_webauthn() => policy.fido2.enabled,
        DeviceType::Totp | DeviceType::OathToken => policy.totp.enabled,
        DeviceType::Mobile => {
            if !policy.mobile.enabled {
                return Err(Unusable::MethodDisabled);
            }
            return match policy.mobile_app(device) {
                Some(app) if app.push || app.otp => Ok(()),
                _ => Err(Unusable::ApplicationNotAllowed),
            };
        }
        t => match policy.sent_method(t) {
            Some(m) => m.enabled,
            None => return Err(Unusable::UnsupportedType),
        },
    };
    if enabled {
        Ok(())
    } else {
        Err(Unusable::MethodDisabled)
    }
}

fn compatibility_allows(device: &Device, compatibility: Option<&Compatibility>) -> bool {
    if !device.device_type.is_webauthn() {
        return true;
    }
    match compatibility {
        Some(Compatibility::None) => false,
        Some(Compatibility::SecurityKeyOnly) => !is_platform_bound(device),
        _ => true,
    }
}

/// Whether a WebAuthn device is bound to one platform: FIDO2 with `attributes.isCrossPlatform
/// == false`, or the deprecated PLATFORM type. **Decision**: a FIDO2 device that does not say
/// (`isCrossPlatform` absent) is treated as a security key, i.e. not hidden.
fn is_platform_bound(device: &Device) -> bool {
    match &device.details {
        DeviceDetails::Fido2(f) => f
            .attributes
            .as_ref()
            .and_then(|a| a.is_cross_platform)
            .is_some_and(|cross| !cross),
        _ => device.device_type == DeviceType::Platform,
    }
}

/// Whether `device` can authenticate at `now` under `policy` and the browser's
/// `compatibility`, and if not, why.
///
/// Usable = ACTIVE, not locked at `now` (a lock past its `expiresAt` reads unlocked), not
/// blocked, its method enabled in the policy (for MOBILE: its application allowed, with push or
/// OTP enabled), and not hidden by `compatibility` (`NONE` hides WebAuthn devices,
/// `SECURITY_KEY_ONLY` hides platform-bound ones). The reasons are checked in that order
/// (permanent before temporary), so [`Unusable::is_temporary`] holds exactly for devices that
/// only a lock or a block keeps out.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::authn::{usability, Unusable};
/// use mfa_devices::policy::resolved::{FlowPolicy};
/// use mfa_devices::device::*;
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let mut d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
///     UserId::from_bytes([3; 16]), DeviceType::Sms, DeviceStatus::Active, now);
/// let policy = FlowPolicy::all_enabled();
/// assert_eq!(usability(&d, &policy, None, now), Ok(()));
/// let until = now + TimeDelta::minutes(2);
/// d.lock = Some(LockState::locked(until, LockReason::Otp));
/// assert_eq!(usability(&d, &policy, None, now), Err(Unusable::Locked { until: Some(until) }));
/// assert_eq!(usability(&d, &policy, None, until), Ok(()));
/// assert_eq!(usability(&d, &FlowPolicy::default(), None, now), Err(Unusable::MethodDisabled));
/// ```
pub fn usability(
    device: &Device,
    policy: &FlowPolicy,
    compatibility: Option<&Compatibility>,
    now: DateTime<Utc>,
) -> Result<(), Unusable> {
    if !device.is_active() {
        return Err(Unusable::NotActive);
    }
    method_allows(device, policy)?;
    if !compatibility_allows(device, compatibility) {
        return Err(Unusable::HiddenByCompatibility(
            compatibility.cloned().unwrap_or(Compatibility::Full),
        ));
    }
    if device.is_blocked() {
        return Err(Unusable::Blocked);
    }
    if device.is_locked(now) {
        return Err(Unusable::Locked {
            until: device.lock.as_ref().and_then(|l| l.expires_at),
        });
    }
    Ok(())
}

/// [`usability`] as a yes/no.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::authn::{is_usable, Compatibility};
/// use mfa_devices::policy::resolved::{FlowPolicy};
/// use mfa_devices::device::*;
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let key = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
///     UserId::from_bytes([3; 16]), DeviceType::Fido2, DeviceStatus::Active, now);
/// assert!(is_usable(&key, &FlowPolicy::all_enabled(), Some(&Compatibility::Full), now));
/// assert!(!is_usable(&key, &FlowPolicy::all_enabled(), Some(&Compatibility::None), now));
/// ```
pub fn is_usable(
    device: &Device,
    policy: &FlowPolicy,
    compatibility: Option<&Compatibility>,
    now: DateTime<Utc>,
) -> bool {
    usability(device, policy, compatibility, now).is_ok()
}
