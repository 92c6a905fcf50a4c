//! The device authentication policy (`deviceAuthenticationPolicies`) and its validation.
//!
//! [`DeviceAuthenticationPolicy`] is the resource body exactly as PingOne writes it: every section
//! of the published example is typed, every property is optional (so that partial bodies and
//! future PingOne versions still parse), and unknown properties and unknown enum values are kept
//! so that a policy round-trips byte for byte (HAL `_links` excepted, they belong to a renderer).
//!
//! [`DeviceAuthenticationPolicy::validate`] checks a policy against the allowed values PingOne
//! publishes and reports **every** violation at once as an `INVALID_DATA` [`ApiError`] whose
//! details name the JSON path (`sms.otp.lifeTime.duration`,
//! `mobile.applications[0].pushLimit.count`).
//!
//! The lock rules and the OTP engine take their inputs from here: [`OtpFailurePolicy`] →
//! [`crate::lock::FailureRule`], [`PushLimit`] → [`crate::lock::PushLimitRule`], [`PolicyDuration`]
//! → [`chrono::TimeDelta`]; [`resolved::FlowPolicy`] is the whole policy resolved with its
//! defaults, as the authentication flow uses it.
//!
//! ```
//! use mfa_devices::policy::DeviceAuthenticationPolicy;
//!
//! let json = r#"{"name":"Strict","sms":{"enabled":true,"otp":{
//!   "lifeTime":{"duration":45,"timeUnit":"MINUTES"},"otpLength":12}},"somethingNew":1}"#;
//! let policy: DeviceAuthenticationPolicy = serde_json::from_str(json).unwrap();
//! // Unknown properties survive.
//! assert_eq!(serde_json::to_string(&policy).unwrap(), json.replace("\n  ", ""));
//!
//! let err = policy.validate().unwrap_err();
//! assert_eq!(err.code(), "INVALID_DATA");
//! let targets: Vec<_> = err.details.iter().filter_map(|d| d.target.as_deref()).collect();
//! assert_eq!(targets, ["sms.otp.lifeTime.duration", "sms.otp.otpLength"]);
//! ```
//!
//! ## Decisions
//! - Every number is an `i64` on the wire model, so that a negative or oversized value reaches
//!   [`validate`](DeviceAuthenticationPolicy::validate) and is reported with its JSON path
//!   (`OUT_OF_RANGE`); a number that is not an integer or does not fit an `i64` is a
//!   deserialization error.
//! - An explicit `null` is read as an absent property (and is not written back).
//! - Ids (`id`, `environment.id`, `notificationsPolicy.id`, `applications[].id`) are UUIDs;
//!   they are written in lower case.
//! - Timestamps are written with milliseconds (`2025-03-05T12:22:16.162Z`) as PingOne does;
//!   finer precision, when given, is kept.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::{ApiError, DetailCode, ErrorDetail};

pub mod resolved;
mod validate;

crate::macros::string_enum! {
    /// The unit of a policy [`PolicyDuration`] (`timeUnit`).
    ///
    /// ```
    /// use mfa_devices::policy::TimeUnit;
    /// assert_eq!("MINUTES".parse::<TimeUnit>().unwrap(), TimeUnit::Minutes);
    /// assert_eq!(TimeUnit::Hours.seconds(), Some(3600));
    /// assert_eq!(TimeUnit::from("WEEKS").seconds(), None);
    /// ```
    TimeUnit {
        /// Seconds.
        Seconds => "SECONDS",
        /// Minutes (60 s).
        Minutes => "MINUTES",
        /// Hours (3,600 s).
        Hours => "HOURS",
        /// Days (86,400 s; a policy day has no daylight-saving changes).
        Days => "DAYS",
    }
}

impl TimeUnit {
    /// How many seconds one unit lasts, or `None` for a unit this crate does not know.
    ///
    /// ```
    /// use mfa_devices::policy::TimeUnit;
    /// assert_eq!(TimeUnit::Days.seconds(), Some(86_400));
    /// ```
    pub fn seconds(&self) -> Option<i64> {
        match self {
            Self::Seconds => Some(1),
            Self::Minutes => Some(60),
            Self::Hours => Some(3_600),
            Self::Days => Some(86_400),
            Self::Other(_) => None,
        }
    }
}

crate::macros::string_enum! {
    /// `authentication.deviceSelection`: how the device for an authentication is chosen.
    ///
    /// ```
    /// use mfa_devices::policy::DeviceSelection;
    /// assert_eq!(DeviceSelection::default(), DeviceSelection::DefaultToFirst);
    /// assert_eq!(DeviceSelection::PromptToSelect.as_str(), "PROMPT_TO_SELECT");
    /// ```
    DeviceSelection {
        /// Use the user's default device (the first in the order). The default.
        DefaultToFirst => "DEFAULT_TO_FIRST",
        /// Let the user choose when more than one device is usable.
        PromptToSelect => "PROMPT_TO_SELECT",
        /// Always show the device list.
        AlwaysDisplayDevices => "ALWAYS_DISPLAY_DEVICES",
    }
}

// The enum is defined by `string_enum!`, which cannot take `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for DeviceSelection {
    fn default() -> Self {
        Self::DefaultToFirst
    }
}

crate::macros::string_enum! {
    /// `newDeviceNotification`: whom to tell when a device is paired.
    ///
    /// ```
    /// use mfa_devices::policy::NewDeviceNotification;
    /// assert_eq!(NewDeviceNotification::default().as_str(), "NONE");
    /// ```
    NewDeviceNotification {
        /// No notification. The default.
        None => "NONE",
        /// Email, or SMS when the user has no email.
        EmailThenSms => "EMAIL_THEN_SMS",
        /// SMS, or email when the user has no phone.
        SmsThenEmail => "SMS_THEN_EMAIL",
    }
}

// The enum is defined by `string_enum!`, which cannot take `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for NewDeviceNotification {
    fn default() -> Self {
        Self::None
    }
}

crate::macros::string_enum! {
    /// `integrityDetection` and `deviceAuthorization.extraVerification` (lower case on the wire).
    ///
    /// ```
    /// use mfa_devices::policy::VerificationLevel;
    /// assert_eq!(VerificationLevel::Restrictive.as_str(), "restrictive");
    /// ```
    VerificationLevel {
        /// Allow the action when the check cannot be completed.
        Permissive => "permissive",
        /// Refuse the action when the check cannot be completed.
        Restrictive => "restrictive",
    }
}

/// Why a policy value could not be used.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, PolicyError, TimeUnit};
/// let err = PolicyDuration::new(i64::MAX, TimeUnit::Days).to_time_delta().unwrap_err();
/// assert!(matches!(err, PolicyError::DurationOverflow { .. }));
/// let api: mfa_devices::error::ApiError = err.into();
/// assert_eq!(api.http_status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The `timeUnit` is not one of `SECONDS`, `MINUTES`, `HOURS`, `DAYS`.
    UnknownTimeUnit(String),
    /// The duration is negative.
    NegativeDuration(i64),
    /// The duration does not fit a [`TimeDelta`] (about ±292 million years).
    DurationOverflow {
        /// The number given.
        duration: i64,
        /// Its unit.
        time_unit: TimeUnit,
    },
    /// A count is below 1 or does not fit a `u32`.
    InvalidCount(i64),
    /// A value outside the bounds [`DeviceAuthenticationPolicy::validate`] applies (wrapped in
    /// [`At`](Self::At) with its path): the message says what is allowed.
    OutOfBounds(String),
    /// The value at `path` (a JSON path such as `sms.otp.failure.coolDown`) cannot be used:
    /// what [`FlowPolicy::from_policy`](resolved::FlowPolicy::from_policy) reports.
    At {
        /// Where in the policy.
        path: String,
        /// What is wrong there.
        error: Box<PolicyError>,
    },
}

impl PolicyError {
    /// The same error located at `path`; an error already located is nested under it
    /// (`sms.otp.failure` + `count` → `sms.otp.failure.count`).
    ///
    /// ```
    /// use mfa_devices::policy::PolicyError;
    /// let e = PolicyError::InvalidCount(0).at("count").at("sms.otp.failure");
    /// assert_eq!(e.path(), Some("sms.otp.failure.count"));
    /// ```
    pub fn at(self, path: &str) -> Self {
        match self {
            Self::At { path: inner, error } => Self::At {
                path: format!("{path}.{inner}"),
                error,
            },
            error => Self::At {
                path: path.to_owned(),
                error: Box::new(error),
            },
        }
    }

    /// The JSON path of a located error.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::At { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl From<crate::lock::RuleError> for PolicyError {
    fn from(e: crate::lock::RuleError) -> Self {
        use crate::lock::RuleError;
        match e {
            RuleError::NegativeDuration { name, duration } => {
                Self::NegativeDuration(duration.num_seconds()).at(name)
            }
            _ => Self::InvalidCount(0).at("count"),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownTimeUnit(u) => write!(
                f,
                "unknown timeUnit '{u}'; allowed: SECONDS, MINUTES, HOURS, DAYS"
            ),
            Self::NegativeDuration(d) => {
                write!(f, "duration {d} is negative; it must be 0 or more")
            }
            Self::DurationOverflow {
                duration,
                time_unit,
            } => write!(f, "duration {duration} {time_unit} is too large"),
            Self::InvalidCount(c) => {
                write!(f, "count {c} is not allowed; it must be 1 or more")
            }
            Self::OutOfBounds(m) => f.write_str(m),
            Self::At { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

impl std::error::Error for PolicyError {}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        if let PolicyError::At { path, error } = &e {
            let code = match **error {
                PolicyError::UnknownTimeUnit(_) => DetailCode::InvalidValue,
                _ => DetailCode::OutOfRange,
            };
            return ApiError::invalid_data(
                "The policy value cannot be used.",
                vec![ErrorDetail::new(code, path.as_str(), error.to_string())],
            );
        }
        let (code, target) = match &e {
            PolicyError::UnknownTimeUnit(_) => (DetailCode::InvalidValue, "timeUnit"),
            PolicyError::NegativeDuration(_) | PolicyError::DurationOverflow { .. } => {
                (DetailCode::OutOfRange, "duration")
            }
            PolicyError::InvalidCount(_) | PolicyError::OutOfBounds(_) | PolicyError::At { .. } => {
                (DetailCode::OutOfRange, "count")
            }
        };
        ApiError::invalid_data(
            "The policy value cannot be used.",
            vec![ErrorDetail::new(code, target, e.to_string())],
        )
    }
}

/// A policy duration: `{"duration": 30, "timeUnit": "MINUTES"}` (PingOne's `duration` and
/// `timeUnit` pair; convert with [`to_time_delta`](Self::to_time_delta)).
///
/// ```
/// use chrono::TimeDelta;
/// use mfa_devices::policy::{PolicyDuration, TimeUnit};
/// let d: PolicyDuration = serde_json::from_str(r#"{"duration":2,"timeUnit":"MINUTES"}"#).unwrap();
/// assert_eq!(d, PolicyDuration::minutes(2));
/// assert_eq!(d.to_time_delta().unwrap(), TimeDelta::seconds(120));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDuration {
    /// The number of units.
    pub duration: i64,
    /// The unit.
    pub time_unit: TimeUnit,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PolicyDuration {
    /// A duration of `duration` units.
    ///
    /// ```
    /// use mfa_devices::policy::{PolicyDuration, TimeUnit};
    /// assert_eq!(PolicyDuration::new(3, TimeUnit::Hours).duration, 3);
    /// ```
    pub fn new(duration: i64, time_unit: TimeUnit) -> Self {
        Self {
            duration,
            time_unit,
            extra: Map::new(),
        }
    }

    /// `duration` seconds.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::seconds(40).time_unit.as_str(), "SECONDS");
    /// ```
    pub fn seconds(duration: i64) -> Self {
        Self::new(duration, TimeUnit::Seconds)
    }

    /// `duration` minutes.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::minutes(30).time_unit.as_str(), "MINUTES");
    /// ```
    pub fn minutes(duration: i64) -> Self {
        Self::new(duration, TimeUnit::Minutes)
    }

    /// `duration` hours.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::hours(24).duration, 24);
    /// ```
    pub fn hours(duration: i64) -> Self {
        Self::new(duration, TimeUnit::Hours)
    }

    /// `duration` days.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::days(90).time_unit.as_str(), "DAYS");
    /// ```
    pub fn days(duration: i64) -> Self {
        Self::new(duration, TimeUnit::Days)
    }

    /// The length in seconds, or `None` when it is negative, of an unknown unit, or beyond `i64`.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::hours(2).as_seconds(), Some(7_200));
    /// assert_eq!(PolicyDuration::days(i64::MAX).as_seconds(), None);
    /// ```
    pub fn as_seconds(&self) -> Option<i64> {
        if self.duration < 0 {
            return None;
        }
        self.duration.checked_mul(self.time_unit.seconds()?)
    }

    /// The duration as a [`TimeDelta`], for arithmetic on `DateTime<Utc>`.
    ///
    /// Never panics and never saturates silently: a negative number, an unknown unit, or a
    /// length beyond what `TimeDelta` holds (about ±292 million years) is an error.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::policy::{PolicyDuration, PolicyError, TimeUnit};
    /// assert_eq!(PolicyDuration::days(90).to_time_delta(), Ok(TimeDelta::days(90)));
    /// assert_eq!(PolicyDuration::seconds(-1).to_time_delta(), Err(PolicyError::NegativeDuration(-1)));
    /// assert!(PolicyDuration::new(1, TimeUnit::from("WEEKS")).to_time_delta().is_err());
    /// assert!(PolicyDuration::seconds(i64::MAX).to_time_delta().is_err());
    /// ```
    pub fn to_time_delta(&self) -> Result<TimeDelta, PolicyError> {
        let unit = self
            .time_unit
            .seconds()
            .ok_or_else(|| PolicyError::UnknownTimeUnit(self.time_unit.as_str().to_owned()))?;
        if self.duration < 0 {
            return Err(PolicyError::NegativeDuration(self.duration));
        }
        self.duration
            .checked_mul(unit)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| PolicyError::DurationOverflow {
                duration: self.duration,
                time_unit: self.time_unit.clone(),
            })
    }
}

impl fmt::Display for PolicyDuration {
    /// `30 MINUTES`.
    ///
    /// ```
    /// use mfa_devices::policy::PolicyDuration;
    /// assert_eq!(PolicyDuration::seconds(150).to_string(), "150 SECONDS");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.duration, self.time_unit)
    }
}

/// A reference to another resource: `{"id": "…"}`.
///
/// ```
/// use mfa_devices::policy::ResourceRef;
/// let r: ResourceRef =
///     serde_json::from_str(r#"{"id":"abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"}"#).unwrap();
/// assert_eq!(r.id.to_string(), "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRef {
    /// The referenced resource's id.
    pub id: Uuid,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `authentication`: how a device is chosen for an authentication.
///
/// ```
/// use mfa_devices::policy::{Authentication, DeviceSelection};
/// assert_eq!(Authentication::default().device_selection, Some(DeviceSelection::DefaultToFirst));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    /// `deviceSelection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_selection: Option<DeviceSelection>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Authentication {
    fn default() -> Self {
        Self {
            device_selection: Some(DeviceSelection::default()),
            extra: Map::new(),
        }
    }
}

/// `failure`: how many wrong OTPs lock the device, and for how long.
///
/// Both properties are required when `failure` is present. A `coolDown` of 0 never locks.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, OtpFailurePolicy};
/// let f = OtpFailurePolicy::default();
/// assert_eq!((f.count, f.cool_down), (3, PolicyDuration::minutes(0)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpFailurePolicy {
    /// Wrong OTPs allowed before the device locks (1–7).
    pub count: i64,
    /// How long the lock lasts.
    pub cool_down: PolicyDuration,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OtpFailurePolicy {
    /// A failure policy of `count` wrong OTPs and a lock of `cool_down`.
    ///
    /// ```
    /// use mfa_devices::policy::{PolicyDuration, OtpFailurePolicy};
    /// assert_eq!(OtpFailurePolicy::new(5, PolicyDuration::minutes(2)).count, 5);
    /// ```
    pub fn new(count: i64, cool_down: PolicyDuration) -> Self {
        Self {
            count,
            cool_down,
            extra: Map::new(),
        }
    }
}

impl OtpFailurePolicy {
    /// The policy body of a lock rule (count, and cool-down in whole minutes; PingOne's
    /// defaults are whole minutes).
    ///
    /// ```
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::policy::{OtpFailurePolicy, PolicyDuration};
    /// let f = OtpFailurePolicy::from_rule(FailureRule::DEFAULT_AUTHENTICATOR);
    /// assert_eq!((f.count, f.cool_down), (3, PolicyDuration::minutes(2)));
    /// ```
    pub fn from_rule(rule: crate::lock::FailureRule) -> Self {
        Self::new(
            i64::from(rule.count()),
            PolicyDuration::minutes(rule.cool_down().num_minutes()),
        )
    }
}

impl Default for OtpFailurePolicy {
    /// 3 failures, cool-down 0 MINUTES (the SMS/email/voice default: never locks).
    fn default() -> Self {
        Self::from_rule(crate::lock::FailureRule::DEFAULT_SENT)
    }
}

/// `{sms,email,voice,whatsApp}.otp`: the OTP a message method sends.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, OtpSettings};
/// let s = OtpSettings::default();
/// assert_eq!(s.life_time, Some(PolicyDuration::minutes(30)));
/// assert_eq!(s.otp_length, Some(6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpSettings {
    /// `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<OtpFailurePolicy>,
    /// `lifeTime`: how long the OTP can be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_time: Option<PolicyDuration>,
    /// `otpLength`: the number of digits (6–10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_length: Option<i64>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for OtpSettings {
    /// 3 failures / 0 MINUTES, lifetime 30 MINUTES, 6 digits.
    fn default() -> Self {
        Self {
            failure: Some(OtpFailurePolicy::default()),
            life_time: Some(PolicyDuration::minutes(30)),
            otp_length: Some(6),
            extra: Map::new(),
        }
    }
}

/// `sms`, `email`, `voice`, `whatsApp`: a method that sends an OTP in a message.
///
/// ```
/// use mfa_devices::policy::OtpMethodPolicy;
/// assert_eq!(OtpMethodPolicy::default().enabled, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpMethodPolicy {
    /// Whether the method may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The OTP settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<OtpSettings>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for OtpMethodPolicy {
    /// Enabled (a crate decision: PingOne's bounds give no default), with [`OtpSettings::default`].
    fn default() -> Self {
        Self {
            enabled: Some(true),
            otp: Some(OtpSettings::default()),
            extra: Map::new(),
        }
    }
}

/// `{mobile,totp}.otp`: only a failure policy.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, FailureOnly};
/// let f = FailureOnly::default().failure.unwrap();
/// assert_eq!(f.cool_down, PolicyDuration::minutes(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureOnly {
    /// `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<OtpFailurePolicy>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for FailureOnly {
    /// 3 failures, cool-down 2 MINUTES (the mobile/TOTP/FIDO2 default).
    fn default() -> Self {
        Self {
            failure: Some(OtpFailurePolicy::from_rule(
                crate::lock::FailureRule::DEFAULT_AUTHENTICATOR,
            )),
            extra: Map::new(),
        }
    }
}

/// `{"enabled": …}`, as used by `push`, `otp` and `autoEnrollment` of a mobile application.
///
/// ```
/// use mfa_devices::policy::Enabled;
/// assert_eq!(Enabled::new(true).enabled, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Enabled {
    /// Whether the feature is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Enabled {
    /// `{"enabled": enabled}`.
    ///
    /// ```
    /// use mfa_devices::policy::Enabled;
    /// assert_eq!(serde_json::to_string(&Enabled::new(false)).unwrap(), r#"{"enabled":false}"#);
    /// ```
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled: Some(enabled),
            extra: Map::new(),
        }
    }
}

/// `deviceAuthorization` of a mobile application.
///
/// ```
/// use mfa_devices::policy::{DeviceAuthorization, VerificationLevel};
/// let d: DeviceAuthorization =
///     serde_json::from_str(r#"{"enabled":true,"extraVerification":"permissive"}"#).unwrap();
/// assert_eq!(d.extra_verification, Some(VerificationLevel::Permissive));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthorization {
    /// Whether device authorization is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `extraVerification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_verification: Option<VerificationLevel>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `pushLimit`: how many declined or ignored pushes within `timePeriod` lock the device (reason
/// `PUSH`) for `lockDuration`.
///
/// Missing parts take the documented defaults (5 pushes, 10 MINUTES, 30 MINUTES) when turned
/// into a [`crate::lock::PushLimitRule`].
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, PushLimit};
/// let p = PushLimit::default();
/// assert_eq!(p.count, Some(5));
/// assert_eq!(p.time_period, Some(PolicyDuration::minutes(10)));
/// assert_eq!(p.lock_duration, Some(PolicyDuration::minutes(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushLimit {
    /// Declined/ignored pushes that lock the device (1–50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The window the pushes are counted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_period: Option<PolicyDuration>,
    /// How long the lock lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_duration: Option<PolicyDuration>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PushLimit {
    /// The documented default count.
    pub const DEFAULT_COUNT: i64 = crate::lock::PushLimitRule::DEFAULT.count() as i64;
    /// The documented default window, in minutes.
    pub const DEFAULT_TIME_PERIOD_MINUTES: i64 =
        crate::lock::PushLimitRule::DEFAULT.window().num_minutes();
    /// The documented default lock, in minutes.
    pub const DEFAULT_LOCK_DURATION_MINUTES: i64 = crate::lock::PushLimitRule::DEFAULT
        .lock_duration()
        .num_minutes();
}

impl Default for PushLimit {
    fn default() -> Self {
        Self {
            count: Some(Self::DEFAULT_COUNT),
            time_period: Some(PolicyDuration::minutes(Self::DEFAULT_TIME_PERIOD_MINUTES)),
            lock_duration: Some(PolicyDuration::minutes(Self::DEFAULT_LOCK_DURATION_MINUTES)),
            extra: Map::new(),
        }
    }
}

/// One entry of `mobile.applications[]`: a native application's push/OTP settings (the
/// application a MOBILE device is paired with is [`crate::device::MobileApplication`]).
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, MobileApplicationPolicy};
/// let app = MobileApplicationPolicy::default();
/// assert_eq!(app.push_timeout, Some(PolicyDuration::seconds(40)));
/// assert_eq!(app.pairing_key_lifetime, Some(PolicyDuration::minutes(10)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileApplicationPolicy {
    /// The application's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// `push`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<Enabled>,
    /// `otp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<Enabled>,
    /// `autoEnrollment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_enrollment: Option<Enabled>,
    /// `deviceAuthorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization: Option<DeviceAuthorization>,
    /// `pushTimeout`: 40–150 SECONDS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_timeout: Option<PolicyDuration>,
    /// `pairingKeyLifetime`: 1–2880 MINUTES or 1–48 HOURS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_key_lifetime: Option<PolicyDuration>,
    /// `pushLimit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_limit: Option<PushLimit>,
    /// `integrityDetection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_detection: Option<VerificationLevel>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for MobileApplicationPolicy {
    /// No id; push and OTP enabled, auto-enrollment and device authorization off (crate
    /// decisions); push timeout 40 SECONDS, pairing key lifetime 10 MINUTES and
    /// [`PushLimit::default`] (documented defaults); no integrity detection.
    fn default() -> Self {
        Self {
            id: None,
            push: Some(Enabled::new(true)),
            otp: Some(Enabled::new(true)),
            auto_enrollment: Some(Enabled::new(false)),
            device_authorization: Some(DeviceAuthorization {
                enabled: Some(false),
                ..DeviceAuthorization::default()
            }),
            push_timeout: Some(PolicyDuration::seconds(40)),
            pairing_key_lifetime: Some(PolicyDuration::minutes(10)),
            push_limit: Some(PushLimit::default()),
            integrity_detection: None,
            extra: Map::new(),
        }
    }
}

/// `mobile`: the native-application method.
///
/// ```
/// use mfa_devices::policy::MobilePolicy;
/// assert_eq!(MobilePolicy::default().applications, Some(vec![]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobilePolicy {
    /// Whether the method may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `otp.failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<FailureOnly>,
    /// `applications`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applications: Option<Vec<MobileApplicationPolicy>>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for MobilePolicy {
    /// Enabled, 3 failures / 2 MINUTES, no applications.
    fn default() -> Self {
        Self {
            enabled: Some(true),
            otp: Some(FailureOnly::default()),
            applications: Some(Vec::new()),
            extra: Map::new(),
        }
    }
}

/// `totp.uriParameters`: values put into the `otpauth://` key URI.
///
/// ```
/// use mfa_devices::policy::UriParameters;
/// let u: UriParameters = serde_json::from_str(r#"{"issuer":"Corp"}"#).unwrap();
/// assert_eq!(u.issuer.as_deref(), Some("Corp"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UriParameters {
    /// The `issuer` shown by authenticator apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `totp`: third-party authenticator applications.
///
/// ```
/// use mfa_devices::policy::TotpPolicy;
/// let t = TotpPolicy::default();
/// assert_eq!(t.passcode_grace_period_or_default(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpPolicy {
    /// Whether the method may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `otp.failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<FailureOnly>,
    /// `uriParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri_parameters: Option<UriParameters>,
    /// `passcodeGracePeriod`: how many 30-second windows an older code stays valid (1–10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode_grace_period: Option<i64>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TotpPolicy {
    /// The documented default of `passcodeGracePeriod`.
    pub const DEFAULT_PASSCODE_GRACE_PERIOD: i64 = 5;

    /// `passcodeGracePeriod`, or its default of 5 when absent.
    ///
    /// ```
    /// use mfa_devices::policy::TotpPolicy;
    /// let t = TotpPolicy { passcode_grace_period: Some(2), ..TotpPolicy::default() };
    /// assert_eq!(t.passcode_grace_period_or_default(), 2);
    /// ```
    pub fn passcode_grace_period_or_default(&self) -> i64 {
        self.passcode_grace_period
            .unwrap_or(Self::DEFAULT_PASSCODE_GRACE_PERIOD)
    }
}

impl Default for TotpPolicy {
    /// Enabled, 3 failures / 2 MINUTES, no URI parameters, grace period absent (read as 5).
    fn default() -> Self {
        Self {
            enabled: Some(true),
            otp: Some(FailureOnly::default()),
            uri_parameters: None,
            passcode_grace_period: None,
            extra: Map::new(),
        }
    }
}

/// `fido2`: passkeys and security keys.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, Fido2Policy};
/// assert_eq!(Fido2Policy::default().failure.unwrap().cool_down, PolicyDuration::minutes(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Policy {
    /// Whether the method may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `promptForNicknameOnPairing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_for_nickname_on_pairing: Option<bool>,
    /// `failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<OtpFailurePolicy>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Fido2Policy {
    /// Enabled, 3 failures / 2 MINUTES, no nickname prompt setting.
    fn default() -> Self {
        Self {
            enabled: Some(true),
            prompt_for_nickname_on_pairing: None,
            failure: Some(OtpFailurePolicy::from_rule(
                crate::lock::FailureRule::DEFAULT_AUTHENTICATOR,
            )),
            extra: Map::new(),
        }
    }
}

/// `rememberMe.web`.
///
/// ```
/// use mfa_devices::policy::{PolicyDuration, RememberMeWeb};
/// assert_eq!(RememberMeWeb::default().life_time, Some(PolicyDuration::minutes(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RememberMeWeb {
    /// Whether the browser is remembered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `lifeTime`: 1–129600 MINUTES, 1–2160 HOURS or 1–90 DAYS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub life_time: Option<PolicyDuration>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for RememberMeWeb {
    /// Disabled, lifetime 30 MINUTES.
    fn default() -> Self {
        Self {
            enabled: Some(false),
            life_time: Some(PolicyDuration::minutes(30)),
            extra: Map::new(),
        }
    }
}

/// `rememberMe`.
///
/// ```
/// use mfa_devices::policy::RememberMe;
/// assert_eq!(RememberMe::default().web.unwrap().enabled, Some(false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberMe {
    /// `web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<RememberMeWeb>,
    /// Properties this crate does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for RememberMe {
    fn default() -> Self {
        Self {
            web: Some(RememberMeWeb::default()),
            extra: Map::new(),
        }
    }
}

/// A device authentication policy, the resource body of
/// `/environments/{envID}/deviceAuthenticationPolicies/{id}`.
///
/// Properties are written in the order of PingOne's published example. HAL `_links` are not
/// part of the body: when present they are kept in [`extra`](Self::extra) like any other
/// unknown property; drop them before comparing bodies.
///
/// ```
/// use mfa_devices::policy::{DeviceAuthenticationPolicy, DeviceSelection};
/// let p = DeviceAuthenticationPolicy::default();
/// assert!(p.validate().is_ok());
/// assert_eq!(
///     p.authentication.unwrap().device_selection,
///     Some(DeviceSelection::DefaultToFirst)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthenticationPolicy {
    /// The policy id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// `environment.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<ResourceRef>,
    /// The name (1–256 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `authentication`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// `notificationsPolicy.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications_policy: Option<ResourceRef>,
    /// `newDeviceNotification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_device_notification: Option<NewDeviceNotification>,
    /// `sms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<OtpMethodPolicy>,
    /// `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<OtpMethodPolicy>,
    /// `mobile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobilePolicy>,
    /// `totp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpPolicy>,
    /// `voice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<OtpMethodPolicy>,
    /// `whatsApp`.
    #[serde(default, rename = "whatsApp", skip_serializing_if = "Option::is_none")]
    pub whats_app: Option<OtpMethodPolicy>,
    /// `fido2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fido2: Option<Fido2Policy>,
    /// `rememberMe`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_me: Option<RememberMe>,
    /// `forSignOnPolicy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_sign_on_policy: Option<bool>,
    /// `updatedAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "timestamp"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    /// `createdAt`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "timestamp"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// `default`: whether this is the environment's default policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// Properties this crate does not know (and `_links` when present), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for DeviceAuthenticationPolicy {
    /// A policy with every documented default: device selection `DEFAULT_TO_FIRST`, new-device
    /// notification `NONE`, SMS/email/voice 3 failures / 0 MINUTES / 30 MINUTES / 6 digits,
    /// mobile/TOTP/FIDO2 3 failures / 2 MINUTES, remember-me off for 30 MINUTES, not the
    /// environment default and not for a sign-on policy. No id, name or timestamps; `whatsApp`
    /// absent (it is not in PingOne's example body).
    fn default() -> Self {
        Self {
            id: None,
            environment: None,
            name: None,
            authentication: Some(Authentication::default()),
            notifications_policy: None,
            new_device_notification: Some(NewDeviceNotification::default()),
            sms: Some(OtpMethodPolicy::default()),
            email: Some(OtpMethodPolicy::default()),
            mobile: Some(MobilePolicy::default()),
            totp: Some(TotpPolicy::default()),
            voice: Some(OtpMethodPolicy::default()),
            whats_app: None,
            fido2: Some(Fido2Policy::default()),
            remember_me: Some(RememberMe::default()),
            for_sign_on_policy: Some(false),
            updated_at: None,
            created_at: None,
            default: Some(false),
            extra: Map::new(),
        }
    }
}

/// Writes a timestamp as PingOne does (`2025-03-05T12:22:16.162Z`), keeping finer precision.
fn timestamp<S: Serializer>(value: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(t) => {
            let format = if t.timestamp_subsec_nanos() % 1_000_000 == 0 {
                chrono::SecondsFormat::Millis
            } else {
                chrono::SecondsFormat::AutoSi
            };
            s.serialize_str(&t.to_rfc3339_opts(format, true))
        }
        None => s.serialize_none(),
    }
}
