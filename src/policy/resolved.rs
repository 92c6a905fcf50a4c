//! The policy resolved with its defaults: [`FlowPolicy`], what the authentication flow takes
//! from a [`DeviceAuthenticationPolicy`] — every absent value replaced by PingOne's default,
//! every number checked to be usable and turned into the lock rules of
//! [`lock`](crate::lock) ([`FailureRule`], [`PushLimitRule`]). A policy the flow cannot use is
//! a [`PolicyError`] naming the JSON path ([`PolicyError::At`]).
//!
//! ```
//! use mfa_devices::policy::DeviceAuthenticationPolicy;
//! use mfa_devices::policy::resolved::FlowPolicy;
//! let policy: DeviceAuthenticationPolicy =
//!     serde_json::from_str(r#"{"sms":{"enabled":true,"otp":{"failure":{"count":0,
//!         "coolDown":{"duration":2,"timeUnit":"MINUTES"}}}}}"#).unwrap();
//! let err = FlowPolicy::from_policy(&policy).unwrap_err();
//! assert_eq!(err.to_string(), "sms.otp.failure.count: sms.otp.failure.count must be between 1 and 7; got 0");
//! ```

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::{
    DeviceAuthenticationPolicy, DeviceSelection, OtpFailurePolicy, PolicyError, PushLimit,
};
use crate::device::{Device, DeviceDetails, DeviceType};
use crate::lock::{FailureRule, PushLimitRule, millis};

/// How `start` picks a device (`authentication.deviceSelection`).
///
/// ```
/// use mfa_devices::policy::resolved::SelectionMode;
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

/// A method whose OTP is sent to the device (SMS, EMAIL, VOICE, WHATSAPP).
///
/// ```
/// let m = mfa_devices::policy::resolved::SentOtpMethod::default();
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
    pub failure: FailureRule,
}

impl Default for SentOtpMethod {
    /// Disabled, with PingOne's defaults: 6 digits, 30 minutes, 3 failures without lock.
    fn default() -> Self {
        Self {
            enabled: false,
            otp_length: 6,
            life_time: TimeDelta::minutes(30),
            failure: FailureRule::DEFAULT_SENT,
        }
    }
}

/// A method checked on the device's own authenticator (TOTP, OATH_TOKEN, FIDO2): enabled and
/// its failure rule.
///
/// ```
/// let m = mfa_devices::policy::resolved::AuthenticatorMethod::default();
/// assert_eq!(m.failure.count(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorMethod {
    /// `enabled`.
    pub enabled: bool,
    /// `otp.failure` (TOTP) or `failure` (FIDO2).
    pub failure: FailureRule,
}

impl Default for AuthenticatorMethod {
    /// Disabled; 3 failures, 2 minutes.
    fn default() -> Self {
        Self {
            enabled: false,
            failure: FailureRule::DEFAULT_AUTHENTICATOR,
        }
    }
}

/// One entry of `mobile.applications[]`: an application whose devices may authenticate.
///
/// ```
/// let app = mfa_devices::policy::resolved::MobileApp::new("28e07e36-63d2-46d3-8743-dbdd51c58ee0");
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
    pub push_limit: PushLimitRule,
}

impl MobileApp {
    /// PingOne's default `pushTimeout`: 40 seconds.
    pub const DEFAULT_PUSH_TIMEOUT: TimeDelta = TimeDelta::seconds(40);

    /// An application with push and OTP enabled and PingOne's default timeout and limits.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            push: true,
            otp: true,
            push_timeout: Self::DEFAULT_PUSH_TIMEOUT,
            push_limit: PushLimitRule::DEFAULT,
        }
    }
}

/// `mobile`: enabled, its OTP failure limit, and the applications allowed.
///
/// ```
/// let m = mfa_devices::policy::resolved::MobileMethod::default();
/// assert!(!m.enabled && m.applications.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileMethod {
    /// `enabled`.
    pub enabled: bool,
    /// `otp.failure`.
    pub failure: FailureRule,
    /// `applications[]`.
    pub applications: Vec<MobileApp>,
}

impl Default for MobileMethod {
    fn default() -> Self {
        Self {
            enabled: false,
            failure: FailureRule::DEFAULT_AUTHENTICATOR,
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
/// use mfa_devices::policy::resolved::{FlowPolicy, SelectionMode};
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
    /// (the user chooses). The policy's bounds are not checked here
    /// ([`validate`](crate::policy::DeviceAuthenticationPolicy::validate) does that); a number
    /// the flow cannot use at all (a negative or overflowing duration, a count below 1 or beyond
    /// `u32`) is a [`PolicyError::At`] naming its JSON path.
    ///
    /// ```
    /// use mfa_devices::policy::resolved::{FlowPolicy, SelectionMode};
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// let json = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy/read_one.json"));
    /// let policy: DeviceAuthenticationPolicy = serde_json::from_str(json).unwrap();
    /// let flow = FlowPolicy::from_policy(&policy).unwrap();
    /// assert_eq!(flow.selection, SelectionMode::DefaultToFirst);
    /// assert_eq!(flow.email.otp_length, 8);
    /// assert_eq!(flow.mobile.applications[0].push_timeout.num_seconds(), 120);
    /// ```
    pub fn from_policy(policy: &DeviceAuthenticationPolicy) -> Result<Self, PolicyError> {
        // The bounds `validate` applies (its OUT_OF_RANGE violations), so a stored policy
        // edited outside the API cannot give a lock of millennia.
        if let Some(first) = policy
            .violations()
            .into_iter()
            .find(|d| d.code == crate::error::DetailCode::OutOfRange)
        {
            let path = first.target.clone().unwrap_or_else(|| "policy".to_owned());
            return Err(PolicyError::OutOfBounds(first.message).at(&path));
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
            applications.push(MobileApp {
                id: id.to_string(),
                push: app.push.as_ref().and_then(|e| e.enabled) == Some(true),
                otp: app.otp.as_ref().and_then(|e| e.enabled) == Some(true),
                push_timeout: convert::duration(
                    app.push_timeout.as_ref(),
                    MobileApp::DEFAULT_PUSH_TIMEOUT,
                    &format!("{path}.pushTimeout"),
                )?,
                push_limit: match app.push_limit.as_ref() {
                    None => PushLimitRule::DEFAULT,
                    Some(limit) => PushLimitRule::try_from(limit)
                        .map_err(|e| e.at(&format!("{path}.pushLimit")))?,
                },
            });
        }
        let totp = policy.totp.as_ref();
        let fido2 = policy.fido2.as_ref();
        Ok(Self {
            id: policy.id,
            selection,
            sms: convert::sent(policy.sms.as_ref(), "sms")?,
            email: convert::sent(policy.email.as_ref(), "email")?,
            voice: convert::sent(policy.voice.as_ref(), "voice")?,
            whatsapp: convert::sent(policy.whats_app.as_ref(), "whatsApp")?,
            totp: AuthenticatorMethod {
                enabled: totp.and_then(|t| t.enabled) == Some(true),
                failure: convert::failure(
                    totp.and_then(|t| t.otp.as_ref())
                        .and_then(|o| o.failure.as_ref()),
                    FailureRule::DEFAULT_AUTHENTICATOR,
                    "totp.otp.failure",
                )?,
            },
            fido2: AuthenticatorMethod {
                enabled: fido2.and_then(|f| f.enabled) == Some(true),
                failure: convert::failure(
                    fido2.and_then(|f| f.failure.as_ref()),
                    FailureRule::DEFAULT_AUTHENTICATOR,
                    "fido2.failure",
                )?,
            },
            mobile: MobileMethod {
                enabled: mobile.and_then(|m| m.enabled) == Some(true),
                failure: convert::failure(
                    mobile
                        .and_then(|m| m.otp.as_ref())
                        .and_then(|o| o.failure.as_ref()),
                    FailureRule::DEFAULT_AUTHENTICATOR,
                    "mobile.otp.failure",
                )?,
                applications,
            },
        })
    }

    /// The sent-OTP settings of `device_type` (SMS, EMAIL, VOICE, WHATSAPP).
    ///
    /// ```
    /// use mfa_devices::policy::resolved::FlowPolicy;
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
    /// use mfa_devices::policy::resolved::{FlowPolicy, MobileApp};
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

    /// The failure rule of `device`'s method (`None` for types that never authenticate).
    ///
    /// ```
    /// use mfa_devices::policy::resolved::FlowPolicy;
    /// use mfa_devices::device::DeviceType;
    /// let p = FlowPolicy::all_enabled();
    /// assert_eq!(p.failure_rule(&DeviceType::SecurityKey), Some(p.fido2.failure));
    /// assert_eq!(p.failure_rule(&DeviceType::Browser), None);
    /// ```
    pub fn failure_rule(&self, device_type: &DeviceType) -> Option<FailureRule> {
        match device_type {
            t if t.is_webauthn() => Some(self.fido2.failure),
            DeviceType::Totp | DeviceType::OathToken => Some(self.totp.failure),
            DeviceType::Mobile => Some(self.mobile.failure),
            t => self.sent_method(t).map(|m| m.failure),
        }
    }
}

fn mobile_app_id(device: &Device) -> Option<&str> {
    match &device.details {
        DeviceDetails::Mobile(m) => m.application.as_ref()?.id.as_deref(),
        _ => None,
    }
}

impl TryFrom<&OtpFailurePolicy> for FailureRule {
    type Error = PolicyError;

    /// Fails for a count below 1 or above `u32::MAX`, and for a cool-down that
    /// [`PolicyDuration::to_time_delta`](super::PolicyDuration::to_time_delta) refuses. It does not apply the 1–7 bound: that is
    /// [`validate`](DeviceAuthenticationPolicy::validate)'s job.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::policy::{OtpFailurePolicy, PolicyDuration};
    /// let rule = FailureRule::try_from(&OtpFailurePolicy::new(3, PolicyDuration::minutes(2))).unwrap();
    /// assert_eq!(rule, FailureRule::new(3, TimeDelta::minutes(2)).unwrap());
    /// assert!(FailureRule::try_from(&OtpFailurePolicy::new(0, PolicyDuration::minutes(2))).is_err());
    /// ```
    fn try_from(f: &OtpFailurePolicy) -> Result<Self, PolicyError> {
        let count = convert::count(f.count, "count")?;
        let cool_down = f.cool_down.to_time_delta().map_err(|e| e.at("coolDown"))?;
        Ok(Self::new(count, cool_down)?)
    }
}

impl TryFrom<&PushLimit> for PushLimitRule {
    type Error = PolicyError;

    /// Absent parts take the documented defaults ([`PushLimitRule::DEFAULT`]: 5, 10 MINUTES,
    /// 30 MINUTES). Fails for a count below 1 or above `u32::MAX` and for durations
    /// [`PolicyDuration::to_time_delta`](super::PolicyDuration::to_time_delta) refuses, naming the property; the published ranges are
    /// [`validate`](DeviceAuthenticationPolicy::validate)'s job.
    ///
    /// ```
    /// use mfa_devices::lock::PushLimitRule;
    /// use mfa_devices::policy::PushLimit;
    /// assert_eq!(PushLimitRule::try_from(&PushLimit::default()).unwrap(), PushLimitRule::DEFAULT);
    /// let bad = PushLimit { count: Some(0), ..PushLimit::default() };
    /// assert_eq!(PushLimitRule::try_from(&bad).unwrap_err().to_string(),
    ///     "count: count 0 is not allowed; it must be 1 or more");
    /// ```
    fn try_from(p: &PushLimit) -> Result<Self, PolicyError> {
        let default = PushLimitRule::DEFAULT;
        let count = match p.count {
            None => default.count(),
            Some(c) => convert::count(c, "count")?,
        };
        let window = convert::duration(p.time_period.as_ref(), default.window(), "timePeriod")?;
        let lock_duration = convert::duration(
            p.lock_duration.as_ref(),
            default.lock_duration(),
            "lockDuration",
        )?;
        Ok(Self::new(count, window, lock_duration)?)
    }
}

/// Reading policy numbers into the flow's values, naming the JSON path of a bad one.
mod convert {
    use chrono::TimeDelta;

    use super::{FailureRule, SentOtpMethod};
    use crate::policy::{OtpFailurePolicy, OtpMethodPolicy, PolicyDuration, PolicyError};

    pub(super) fn duration(
        d: Option<&PolicyDuration>,
        default: TimeDelta,
        path: &str,
    ) -> Result<TimeDelta, PolicyError> {
        match d {
            None => Ok(default),
            Some(d) => d.to_time_delta().map_err(|e| e.at(path)),
        }
    }

    pub(super) fn count(c: i64, path: &str) -> Result<u32, PolicyError> {
        u32::try_from(c)
            .ok()
            .filter(|c| *c >= 1)
            .ok_or_else(|| PolicyError::InvalidCount(c).at(path))
    }

    pub(super) fn failure(
        f: Option<&OtpFailurePolicy>,
        default: FailureRule,
        path: &str,
    ) -> Result<FailureRule, PolicyError> {
        match f {
            None => Ok(default),
            Some(f) => FailureRule::try_from(f).map_err(|e| e.at(path)),
        }
    }

    pub(super) fn sent(
        m: Option<&OtpMethodPolicy>,
        path: &str,
    ) -> Result<SentOtpMethod, PolicyError> {
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
