//! What the flow takes from the device authentication policy, and the usable-device rule.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::wire::Compatibility;
use crate::device::{Device, DeviceDetails, DeviceType};

/// How `start` picks a device (`authentication.deviceSelection`).
///
/// ```
/// use mfa_devices::authn::SelectionMode;
/// assert_eq!(SelectionMode::default(), SelectionMode::DefaultToFirst);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SelectionMode {
    /// `DEFAULT_TO_FIRST` (PingOne's default): the default device — the first usable one in
    /// the user's order — is selected automatically.
    #[default]
    DefaultToFirst,
    /// `PROMPT_TO_SELECT`: the user chooses when more than one device is usable.
    PromptToSelect,
    /// `ALWAYS_DISPLAY_DEVICES`: the user always chooses.
    AlwaysDisplayDevices,
}

/// How many wrong OTPs (or failed assertions) end a challenge, and how long the device is then
/// locked (`failure.count`, `failure.coolDown`; a zero cool-down never locks).
///
/// ```
/// use chrono::TimeDelta;
/// use mfa_devices::authn::FailureLimit;
/// let l = FailureLimit::new(3, TimeDelta::minutes(2));
/// assert!(l.locks());
/// assert_eq!(FailureLimit::new(0, TimeDelta::seconds(-5)), FailureLimit::new(1, TimeDelta::zero()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "RawFailureLimit")]
pub struct FailureLimit {
    /// Failures that end the challenge (at least 1).
    pub count: u32,
    /// How long the device is locked then (zero or more).
    #[serde(with = "millis")]
    pub cool_down: TimeDelta,
}

/// [`FailureLimit`] as stored, before [`FailureLimit::new`] applies its floor.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFailureLimit {
    count: u32,
    #[serde(with = "millis")]
    cool_down: TimeDelta,
}

impl From<RawFailureLimit> for FailureLimit {
    fn from(raw: RawFailureLimit) -> Self {
        Self::new(raw.count, raw.cool_down)
    }
}

/// `TimeDelta` stored as whole milliseconds (flow state only; not a PingOne wire format).
pub(crate) mod millis {
    use chrono::TimeDelta;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(d: &TimeDelta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_milliseconds())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TimeDelta, D::Error> {
        let ms = i64::deserialize(d)?;
        TimeDelta::try_milliseconds(ms)
            .ok_or_else(|| D::Error::custom(format_args!("{ms} ms is out of range")))
    }
}

impl FailureLimit {
    /// A limit; a count below 1 reads as 1 and a negative cool-down as zero, so that no policy
    /// number can make the flow accept unlimited guesses.
    pub fn new(count: u32, cool_down: TimeDelta) -> Self {
        Self {
            count: count.max(1),
            cool_down: cool_down.max(TimeDelta::zero()),
        }
    }

    /// Whether reaching the count locks the device.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::authn::FailureLimit;
    /// assert!(!FailureLimit::new(3, TimeDelta::zero()).locks());
    /// ```
    pub fn locks(&self) -> bool {
        self.cool_down > TimeDelta::zero()
    }

    /// PingOne's default for SMS, email, voice and WhatsApp: 3 failures, no lock.
    ///
    /// ```
    /// assert!(!mfa_devices::authn::FailureLimit::default_sent().locks());
    /// ```
    pub fn default_sent() -> Self {
        Self::new(3, TimeDelta::zero())
    }

    /// PingOne's default for mobile, TOTP and FIDO2: 3 failures, 2 minutes.
    ///
    /// ```
    /// let l = mfa_devices::authn::FailureLimit::default_authenticator();
    /// assert_eq!((l.count, l.cool_down.num_minutes()), (3, 2));
    /// ```
    pub fn default_authenticator() -> Self {
        Self::new(3, TimeDelta::minutes(2))
    }
}

/// A method whose OTP is sent to the device (SMS, EMAIL, VOICE, WHATSAPP).
///
/// ```
/// let m = mfa_devices::authn::SentOtpMethod::default();
/// assert!(!m.enabled);
/// assert_eq!((m.otp_length, m.life_time.num_minutes()), (6, 30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentOtpMethod {
    /// `enabled`.
    pub enabled: bool,
    /// `otp.otpLength` (6–10).
    pub otp_length: u32,
    /// `otp.lifeTime`.
    #[serde(with = "millis")]
    pub life_time: TimeDelta,
    /// `otp.failure`.
    pub failure: FailureLimit,
}

impl Default for SentOtpMethod {
    /// Disabled, with PingOne's defaults: 6 digits, 30 minutes, 3 failures without lock.
    fn default() -> Self {
        Self {
            enabled: false,
            otp_length: 6,
            life_time: TimeDelta::minutes(30),
            failure: FailureLimit::default_sent(),
        }
    }
}

/// A method checked on the device's own authenticator (TOTP, OATH_TOKEN, FIDO2): enabled and
/// its failure limit.
///
/// ```
/// let m = mfa_devices::authn::AuthenticatorMethod::default();
/// assert_eq!(m.failure.count, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorMethod {
    /// `enabled`.
    pub enabled: bool,
    /// `otp.failure` (TOTP) or `failure` (FIDO2).
    pub failure: FailureLimit,
}

impl Default for AuthenticatorMethod {
    /// Disabled; 3 failures, 2 minutes.
    fn default() -> Self {
        Self {
            enabled: false,
            failure: FailureLimit::default_authenticator(),
        }
    }
}

/// The push limit of a mobile application: `count` declined or ignored pushes within
/// `time_period` lock the device for `lock_duration` (the aggregate counts them).
///
/// ```
/// let l = mfa_devices::authn::PushLimit::default();
/// assert_eq!((l.count, l.time_period.num_minutes(), l.lock_duration.num_minutes()), (5, 10, 30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushLimit {
    /// `pushLimit.count`.
    pub count: u32,
    /// `pushLimit.timePeriod`.
    #[serde(with = "millis")]
    pub time_period: TimeDelta,
    /// `pushLimit.lockDuration`.
    #[serde(with = "millis")]
    pub lock_duration: TimeDelta,
}

impl Default for PushLimit {
    /// PingOne's defaults: 5 within 10 minutes lock for 30 minutes.
    fn default() -> Self {
        Self {
            count: 5,
            time_period: TimeDelta::minutes(10),
            lock_duration: TimeDelta::minutes(30),
        }
    }
}

/// One entry of `mobile.applications[]`: an application whose devices may authenticate.
///
/// ```
/// let app = mfa_devices::authn::MobileApp::new("28e07e36-63d2-46d3-8743-dbdd51c58ee0");
/// assert!(app.push && app.otp);
/// assert_eq!(app.push_timeout.num_seconds(), 40);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileApp {
    /// The application's id (as the device's `application.id` writes it).
    pub id: String,
    /// `push.enabled`.
    pub push: bool,
    /// `otp.enabled`.
    pub otp: bool,
    /// `pushTimeout` (40–150 s; default 40 s).
    #[serde(with = "millis")]
    pub push_timeout: TimeDelta,
    /// `pushLimit`.
    pub push_limit: PushLimit,
}

impl MobileApp {
    /// An application with push and OTP enabled and PingOne's default timeout and limits.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            push: true,
            otp: true,
            push_timeout: TimeDelta::seconds(40),
            push_limit: PushLimit::default(),
        }
    }
}

/// `mobile`: enabled, its OTP failure limit, and the applications allowed.
///
/// ```
/// let m = mfa_devices::authn::MobileMethod::default();
/// assert!(!m.enabled && m.applications.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileMethod {
    /// `enabled`.
    pub enabled: bool,
    /// `otp.failure`.
    pub failure: FailureLimit,
    /// `applications[]`.
    pub applications: Vec<MobileApp>,
}

impl Default for MobileMethod {
    fn default() -> Self {
        Self {
            enabled: false,
            failure: FailureLimit::default_authenticator(),
            applications: Vec::new(),
        }
    }
}

/// What the authentication flow takes from a device authentication policy.
///
/// Built from the policy resource with `FlowPolicy::from_policy`, or by hand (tests, servers
/// with their own policy store). **Decisions**: an absent section or `enabled` means disabled
/// (the flow fails closed); OATH_TOKEN devices follow `totp` (both are code-generating
/// authenticators and the policy has no OATH section); the deprecated PLATFORM and SECURITY_KEY
/// follow `fido2`; BROWSER and unknown types never authenticate.
///
/// ```
/// use mfa_devices::authn::{FlowPolicy, SelectionMode};
/// let p = FlowPolicy::all_enabled();
/// assert!(p.sms.enabled && p.totp.enabled && p.fido2.enabled && p.mobile.enabled);
/// assert_eq!(p.selection, SelectionMode::DefaultToFirst);
/// assert!(!FlowPolicy::default().email.enabled);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowPolicy {
    /// The policy's `id` (echoed as `policy.id`).
    pub id: Option<uuid::Uuid>,
    /// `authentication.deviceSelection`.
    pub selection: SelectionMode,
    /// `sms`.
    pub sms: SentOtpMethod,
    /// `email`.
    pub email: SentOtpMethod,
    /// `voice`.
    pub voice: SentOtpMethod,
    /// `whatsApp`.
    pub whatsapp: SentOtpMethod,
    /// `totp` (also OATH_TOKEN).
    pub totp: AuthenticatorMethod,
    /// `fido2` (also PLATFORM, SECURITY_KEY).
    pub fido2: AuthenticatorMethod,
    /// `mobile`.
    pub mobile: MobileMethod,
}

impl FlowPolicy {
    /// Every method enabled with PingOne's defaults (no mobile application allowed until one is
    /// added to `mobile.applications`).
    pub fn all_enabled() -> Self {
        let sent = SentOtpMethod {
            enabled: true,
            ..SentOtpMethod::default()
        };
        let auth = AuthenticatorMethod {
            enabled: true,
            ..AuthenticatorMethod::default()
        };
        Self {
            id: None,
            selection: SelectionMode::DefaultToFirst,
            sms: sent,
            email: sent,
            voice: sent,
            whatsapp: sent,
            totp: auth,
            fido2: auth,
            mobile: MobileMethod {
                enabled: true,
                ..MobileMethod::default()
            },
        }
    }

    /// What the flow takes from a policy resource.
    ///
    /// Absent values take PingOne's defaults (`deviceSelection` DEFAULT_TO_FIRST, `otpLength`
    /// 6, `lifeTime` 30 minutes, `failure` 3 with no lock for SMS/email/voice/WhatsApp and 3
    /// with 2 minutes for mobile/TOTP/FIDO2, `pushTimeout` 40 s, `pushLimit` 5 in 10 minutes
    /// locking 30 minutes); an absent section, `enabled`, or application `push`/`otp` means
    /// disabled. **Decision**: an unknown `deviceSelection` reads as ALWAYS_DISPLAY_DEVICES
    /// (the user chooses). The numbers must lie within the bounds
    /// [`validate`](crate::policy::DeviceAuthenticationPolicy::validate) applies (its
    /// `OUT_OF_RANGE` violations: `failure.count` 1–7, cool-downs of at most 30 minutes, …), so
    /// a stored policy edited outside the API cannot give a lock of millennia: otherwise it is
    /// refused with [`FlowError::Internal`](super::FlowError::Internal) naming the first
    /// violation's JSON path (a server-side data error, 500).
    ///
    /// ```
    /// use mfa_devices::authn::{FlowPolicy, SelectionMode};
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// let json = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy/read_one.json"));
    /// let policy: DeviceAuthenticationPolicy = serde_json::from_str(json).unwrap();
    /// let flow = FlowPolicy::from_policy(&policy).unwrap();
    /// assert_eq!(flow.selection, SelectionMode::DefaultToFirst);
    /// assert_eq!(flow.email.otp_length, 8);
    /// assert_eq!(flow.mobile.applications[0].push_timeout.num_seconds(), 120);
    /// ```
    pub fn from_policy(
        policy: &crate::policy::DeviceAuthenticationPolicy,
    ) -> Result<Self, super::FlowError> {
        use crate::policy::DeviceSelection;
        let violations: Vec<_> = policy
            .violations()
            .into_iter()
            .filter(|d| d.code == crate::error::DetailCode::OutOfRange)
            .collect();
        if let Some(first) = violations.first() {
            return Err(super::FlowError::Internal(format!(
                "the device authentication policy is not valid ({} violation(s)); {}: {}",
                violations.len(),
                first.target.as_deref().unwrap_or("policy"),
                first.message
            )));
        }
        let selection = match policy
            .authentication
            .as_ref()
            .and_then(|a| a.device_selection.as_ref())
        {
            None | Some(DeviceSelection::DefaultToFirst) => SelectionMode::DefaultToFirst,
            Some(DeviceSelection::PromptToSelect) => SelectionMode::PromptToSelect,
            Some(_) => SelectionMode::AlwaysDisplayDevices,
        };
        let sent = |m: Option<&crate::policy::OtpMethodPolicy>, path: &str| convert::sent(m, path);
        let mobile = policy.mobile.as_ref();
        let mut applications = Vec::new();
        for (i, app) in mobile
            .and_then(|m| m.applications.as_ref())
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("mobile.applications[{i}]");
            let Some(id) = app.id else { continue };
            let limit = app.push_limit.as_ref();
            let defaults = PushLimit::default();
            applications.push(MobileApp {
                id: id.to_string(),
                push: app.push.as_ref().and_then(|e| e.enabled) == Some(true),
                otp: app.otp.as_ref().and_then(|e| e.enabled) == Some(true),
                push_timeout: convert::duration(
                    app.push_timeout.as_ref(),
                    TimeDelta::seconds(40),
                    &format!("{path}.pushTimeout"),
                )?,
                push_limit: PushLimit {
                    count: match limit.and_then(|l| l.count) {
                        None => defaults.count,
                        Some(c) => convert::count(c, &format!("{path}.pushLimit.count"))?,
                    },
                    time_period: convert::duration(
                        limit.and_then(|l| l.time_period.as_ref()),
                        defaults.time_period,
                        &format!("{path}.pushLimit.timePeriod"),
                    )?,
                    lock_duration: convert::duration(
                        limit.and_then(|l| l.lock_duration.as_ref()),
                        defaults.lock_duration,
                        &format!("{path}.pushLimit.lockDuration"),
                    )?,
                },
            });
        }
        let totp = policy.totp.as_ref();
        let fido2 = policy.fido2.as_ref();
        Ok(Self {
            id: policy.id,
            selection,
            sms: sent(policy.sms.as_ref(), "sms")?,
            email: sent(policy.email.as_ref(), "email")?,
            voice: sent(policy.voice.as_ref(), "voice")?,
            whatsapp: sent(policy.whats_app.as_ref(), "whatsApp")?,
            totp: AuthenticatorMethod {
                enabled: totp.and_then(|t| t.enabled) == Some(true),
                failure: convert::failure(
                    totp.and_then(|t| t.otp.as_ref())
                        .and_then(|o| o.failure.as_ref()),
                    FailureLimit::default_authenticator(),
                    "totp.otp.failure",
                )?,
            },
            fido2: AuthenticatorMethod {
                enabled: fido2.and_then(|f| f.enabled) == Some(true),
                failure: convert::failure(
                    fido2.and_then(|f| f.failure.as_ref()),
                    FailureLimit::default_authenticator(),
                    "fido2.failure",
                )?,
            },
            mobile: MobileMethod {
                enabled: mobile.and_then(|m| m.enabled) == Some(true),
                failure: convert::failure(
                    mobile
                        .and_then(|m| m.otp.as_ref())
                        .and_then(|o| o.failure.as_ref()),
                    FailureLimit::default_authenticator(),
                    "mobile.otp.failure",
                )?,
                applications,
            },
        })
    }

    /// The sent-OTP settings of `device_type` (SMS, EMAIL, VOICE, WHATSAPP).
    ///
    /// ```
    /// use mfa_devices::authn::FlowPolicy;
    /// use mfa_devices::device::DeviceType;
    /// let p = FlowPolicy::all_enabled();
    /// assert!(p.sent_method(&DeviceType::Voice).is_some_and(|m| m.enabled));
    /// assert!(p.sent_method(&DeviceType::Totp).is_none());
    /// ```
    pub fn sent_method(&self, device_type: &DeviceType) -> Option<&SentOtpMethod> {
        match device_type {
            DeviceType::Sms => Some(&self.sms),
            DeviceType::Email => Some(&self.email),
            DeviceType::Voice => Some(&self.voice),
            DeviceType::Whatsapp => Some(&self.whatsapp),
            _ => None,
        }
    }

    /// The allowed application a MOBILE device belongs to (ids compared ignoring ASCII case,
    /// as UUIDs are).
    ///
    /// ```
    /// use chrono::DateTime;
    /// use mfa_devices::authn::{FlowPolicy, MobileApp};
    /// use mfa_devices::device::*;
    /// let mut p = FlowPolicy::all_enabled();
    /// p.mobile.applications.push(MobileApp::new("28e07e36-63d2-46d3-8743-dbdd51c58ee0"));
    /// let mut d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
    ///     UserId::from_bytes([3; 16]), DeviceType::Mobile, DeviceStatus::Active, DateTime::UNIX_EPOCH);
    /// assert!(p.mobile_app(&d).is_none());
    /// if let DeviceDetails::Mobile(m) = &mut d.details {
    ///     m.application = Some(MobileApplication {
    ///         id: Some("28E07E36-63D2-46D3-8743-DBDD51C58EE0".into()), ..Default::default() });
    /// }
    /// assert!(p.mobile_app(&d).is_some());
    /// ```
    pub fn mobile_app(&self, device: &Device) -> Option<&MobileApp> {
        let app_id = mobile_app_id(device)?;
        self.mobile
            .applications
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(app_id))
    }

    /// The failure limit of `device`'s method (`None` for types that never authenticate).
    ///
    /// ```
    /// use mfa_devices::authn::FlowPolicy;
    /// use mfa_devices::device::DeviceType;
    /// let p = FlowPolicy::all_enabled();
    /// assert_eq!(p.failure_limit(&DeviceType::SecurityKey), Some(p.fido2.failure));
    /// assert_eq!(p.failure_limit(&DeviceType::Browser), None);
    /// ```
    pub fn failure_limit(&self, device_type: &DeviceType) -> Option<FailureLimit> {
        match device_type {
            t if t.is_webauthn() => Some(self.fido2.failure),
            DeviceType::Totp | DeviceType::OathToken => Some(self.totp.failure),
            DeviceType::Mobile => Some(self.mobile.failure),
            t => self.sent_method(t).map(|m| m.failure),
        }
    }
}

pub(crate) fn mobile_app_id(device: &Device) -> Option<&str> {
    match &device.details {
        DeviceDetails::Mobile(m) => m.application.as_ref()?.id.as_deref(),
        _ => None,
    }
}

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
/// use mfa_devices::authn::{usability, FlowPolicy, Unusable};
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
/// use mfa_devices::authn::{is_usable, Compatibility, FlowPolicy};
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

/// Reading policy numbers into the flow's values.
mod convert {
    use chrono::TimeDelta;

    use super::{FailureLimit, SentOtpMethod};
    use crate::authn::FlowError;
    use crate::policy::{OtpFailurePolicy, OtpMethodPolicy, PolicyDuration};

    fn bad(path: &str, what: impl std::fmt::Display) -> FlowError {
        FlowError::Internal(format!("the policy's {path} cannot be used: {what}"))
    }

    pub(super) fn duration(
        d: Option<&PolicyDuration>,
        default: TimeDelta,
        path: &str,
    ) -> Result<TimeDelta, FlowError> {
        match d {
            None => Ok(default),
            Some(d) => d.to_time_delta().map_err(|e| bad(path, e)),
        }
    }

    pub(super) fn count(c: i64, path: &str) -> Result<u32, FlowError> {
        u32::try_from(c)
            .ok()
            .filter(|c| *c >= 1)
            .ok_or_else(|| bad(path, format!("{c} is not a count of at least 1")))
    }

    pub(super) fn failure(
        f: Option<&OtpFailurePolicy>,
        default: FailureLimit,
        path: &str,
    ) -> Result<FailureLimit, FlowError> {
        match f {
            None => Ok(default),
            Some(f) => Ok(FailureLimit::new(
                count(f.count, &format!("{path}.count"))?,
                duration(
                    Some(&f.cool_down),
                    TimeDelta::zero(),
                    &format!("{path}.coolDown"),
                )?,
            )),
        }
    }

    pub(super) fn sent(
        m: Option<&OtpMethodPolicy>,
        path: &str,
    ) -> Result<SentOtpMethod, FlowError> {
        let defaults = SentOtpMethod::default();
        let otp = m.and_then(|m| m.otp.as_ref());
        Ok(SentOtpMethod {
            enabled: m.and_then(|m| m.enabled) == Some(true),
            otp_length: match otp.and_then(|o| o.otp_length) {
                None => defaults.otp_length,
                Some(l) => count(l, &format!("{path}.otp.otpLength"))?,
            },
            life_time: duration(
                otp.and_then(|o| o.life_time.as_ref()),
                defaults.life_time,
                &format!("{path}.otp.lifeTime"),
            )?,
            failure: failure(
                otp.and_then(|o| o.failure.as_ref()),
                defaults.failure,
                &format!("{path}.otp.failure"),
            )?,
        })
    }
}
