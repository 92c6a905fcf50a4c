//! OTP challenges: the code an SMS, email, voice or WhatsApp device is sent, and its checks.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::OtpError;
use crate::error::{ApiError, DetailCode, ErrorDetail};
use crate::lock::{FailureRule, RuleError};
use crate::policy::OtpSettings;
use rand_core::{CryptoRng, RngCore};

use super::draw_digits;

/// The outcome of [`OtpChallenge::check`]: what to answer and what the aggregate records.
///
/// For a device activation, [`Invalid`](Self::Invalid) is the `DEVICE.ACTIVATION_OTP_INVALID`
/// audit event and [`Failed`](Self::Failed) `DEVICE.ACTIVATION_OTP_FAILED` (plus the OTP lock
/// when `locked_until` is set).
///
/// ```
/// use mfa_devices::otp::OtpCheck;
/// let api = OtpCheck::Invalid { remaining_attempts: 2 }.to_api_error().unwrap();
/// assert_eq!(api.details[0].code.as_str(), "INVALID_OTP");
/// assert_eq!(api.details[0].inner_error.as_ref().unwrap()["remainingAttempts"], 2);
/// assert!(OtpCheck::Valid.to_api_error().is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtpCheck {
    /// The code is right; the challenge is spent.
    Valid,
    /// The code is wrong; `remaining_attempts` more may be tried.
    Invalid {
        /// Wrong codes still allowed before the challenge fails.
        remaining_attempts: u32,
    },
    /// The challenge's lifetime is over (`now >= expires_at`); the code was not compared and
    /// no failure is counted.
    Expired,
    /// The code is wrong and the failure count is reached; the challenge is spent.
    /// `locked_until` is the OTP lock to record on the device (`now + coolDown`, reason `OTP`),
    /// or `None` when the cool-down is zero (never lock).
    Failed {
        /// When the device's OTP lock ends.
        locked_until: Option<DateTime<Utc>>,
    },
    /// The challenge was already used (verified or failed): a new OTP must be issued.
    Spent,
}

impl OtpCheck {
    /// The PingOne error answer for an unsuccessful check (`None` for [`OtpCheck::Valid`]):
    /// 400 `INVALID_DATA` with an `INVALID_OTP` detail on target `otp`. **Decisions**:
    /// `innerError.remainingAttempts` for a wrong code; `innerError.coolDownExpiresAt` when
    /// the device locked; a message saying so for an expired or spent challenge.
    ///
    /// ```
    /// use mfa_devices::otp::OtpCheck;
    /// let api = OtpCheck::Expired.to_api_error().unwrap();
    /// assert_eq!((api.code(), api.http_status()), ("INVALID_DATA", 400));
    /// assert!(api.details[0].message.contains("expired"));
    /// ```
    pub fn to_api_error(&self) -> Option<ApiError> {
        let detail = |message: &str| ErrorDetail::new(DetailCode::InvalidOtp, "otp", message);
        let detail = match self {
            Self::Valid => return None,
            Self::Invalid { remaining_attempts } => detail("The one-time passcode is not valid.")
                .with_inner("remainingAttempts", *remaining_attempts),
            Self::Expired => detail("The one-time passcode has expired."),
            Self::Failed {
                locked_until: Some(until),
            } => detail(
                "The one-time passcode is not valid; too many attempts, the device is locked.",
            )
            .with_inner(
                "coolDownExpiresAt",
                until.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ),
            Self::Failed { locked_until: None } => {
                detail("The one-time passcode is not valid; too many attempts, request a new one.")
            }
            Self::Spent => detail("The one-time passcode was already used; request a new one."),
        };
        Some(ApiError::invalid_data(
            "The one-time passcode could not be verified.",
            vec![detail],
        ))
    }
}

/// The body a test-mode device's response carries as `test`: `{"otp": "…"}`, as a challenge
/// reveals it (the device body's own `test` is [`crate::device::TestOtp`]).
///
/// **Decision**: PingOne documents `test.otp` as an Integer; it is written here as a string of
/// digits because an integer loses leading zeros (`"012345"` would come back as `12345` and
/// never match).
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::FailureRule;
/// use mfa_devices::otp::{OtpChallenge};
/// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// let c = OtpChallenge::from_parts("123456".into(), now + TimeDelta::minutes(30),
///     FailureRule::default(), 0, false);
/// let test = c.test_otp(true).unwrap();
/// assert_eq!(serde_json::to_string(&test).unwrap(), r#"{"otp":"123456"}"#);
/// assert!(c.test_otp(false).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeTestOtp {
    /// The passcode.
    pub otp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Pending,
    Spent,
}

/// An OTP sent to an SMS, email, voice or WhatsApp device, and what happened to it since.
///
/// Issued with a code of `otpLength` digits drawn from the caller's CSPRNG without
/// modulo bias, an expiry of `now + lifeTime`, and the method's [`FailureRule`]. Each
/// [`check`](Self::check) compares in constant time and returns an [`OtpCheck`] telling the
/// caller what to answer and what to record on the device. A lock is in force while
/// `now < locked_until`: it ends exactly at `locked_until`.
///
/// `Debug` never prints the code.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::FailureRule;
/// use mfa_devices::otp::{OtpChallenge, OtpCheck};
///
/// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// let rule = FailureRule::new(2, TimeDelta::minutes(2)).unwrap();
/// let mut c = OtpChallenge::from_parts("987654".into(), now + TimeDelta::minutes(5), rule, 0, false);
/// assert_eq!(c.check("000000", now), OtpCheck::Invalid { remaining_attempts: 1 });
/// assert_eq!(
///     c.check("111111", now),
///     OtpCheck::Failed { locked_until: Some(now + TimeDelta::minutes(2)) }
/// );
/// assert_eq!(c.check("987654", now), OtpCheck::Spent);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OtpChallenge {
    code: String,
    expires_at: DateTime<Utc>,
    rule: FailureRule,
    failures: u32,
    state: State,
}

impl fmt::Debug for OtpChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpChallenge")
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("rule", &self.rule)
            .field("failures", &self.failures)
            .field("spent", &(self.state == State::Spent))
            .finish()
    }
}

impl OtpChallenge {
    /// The shortest code (`otpLength` minimum).
    pub const MIN_LENGTH: u32 = 6;
    /// The longest code (`otpLength` maximum).
    pub const MAX_LENGTH: u32 = 10;

    /// Issues a challenge of `length` digits (6–10) at `now`, valid for `life_time`.
    ///
    /// The code is drawn from the caller's CSPRNG by [`draw_digits`](super::draw_digits)
    /// (uniform digits; the crate reads as many bytes as it needs).
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use rand_core::SeedableRng;
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge, OtpError};
    /// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    /// let c = OtpChallenge::issue(&mut rng, 8, TimeDelta::minutes(30), FailureRule::default(), now)
    ///     .unwrap();
    /// assert_eq!(c.code().len(), 8);
    /// assert_eq!(c.expires_at(), now + TimeDelta::minutes(30));
    /// let err = OtpChallenge::issue(&mut rng, 11, TimeDelta::minutes(1),
    ///     FailureRule::default(), now).unwrap_err();
    /// assert_eq!(err, OtpError::OtpLength(11));
    /// ```
    pub fn issue(
        rng: &mut (impl CryptoRng + RngCore),
        length: u32,
        life_time: TimeDelta,
        rule: FailureRule,
        now: DateTime<Utc>,
    ) -> Result<Self, OtpError> {
        if !(Self::MIN_LENGTH..=Self::MAX_LENGTH).contains(&length) {
            return Err(OtpError::OtpLength(i64::from(length)));
        }
        if life_time < TimeDelta::zero() {
            return Err(RuleError::NegativeDuration {
                name: "lifeTime",
                duration: life_time,
            }
            .into());
        }
        let code = draw_digits(rng, length)?;
        // Clamped into the representable range (years 0000-9999), like every lock end.
        let expires_at = crate::lock::lock_end(now, life_time);
        Ok(Self {
            code,
            expires_at,
            rule,
            failures: 0,
            state: State::Pending,
        })
    }

    /// Issues a challenge for a method's policy `otp` settings, absent values taking PingOne's
    /// defaults (6 digits, 30 MINUTES, 3 failures / no lock).
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::otp::OtpChallenge;
    /// use mfa_devices::policy::OtpSettings;
    /// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    /// let settings = OtpSettings { otp_length: Some(8), ..OtpSettings::default() };
    /// let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7);
    /// let c = OtpChallenge::for_settings(&mut rng, &settings, now).unwrap();
    /// assert_eq!(c.code().len(), 8);
    /// assert_eq!(c.expires_at(), now + TimeDelta::minutes(30));
    /// ```
    pub fn for_settings(
        rng: &mut (impl CryptoRng + RngCore),
        settings: &OtpSettings,
        now: DateTime<Utc>,
    ) -> Result<Self, OtpError> {
        let length = match settings.otp_length {
            Some(l) => u32::try_from(l).map_err(|_| OtpError::OtpLength(l))?,
            None => Self::MIN_LENGTH,
        };
        let life_time = match &settings.life_time {
            Some(d) => d.to_time_delta()?,
            None => TimeDelta::minutes(30),
        };
        let rule = match &settings.failure {
            Some(f) => FailureRule::try_from(f)?,
            None => FailureRule::default(),
        };
        Self::issue(rng, length, life_time, rule, now)
    }

    /// Rebuilds a challenge from stored parts (`failures` wrong codes so far; `spent` when it was
    /// verified or failed).
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge, OtpCheck};
    /// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    /// let mut c = OtpChallenge::from_parts("123456".into(), now + TimeDelta::minutes(1),
    ///     FailureRule::default(), 2, false);
    /// assert_eq!(c.check("000000", now), OtpCheck::Failed { locked_until: None });
    /// ```
    pub fn from_parts(
        code: String,
        expires_at: DateTime<Utc>,
        rule: FailureRule,
        failures: u32,
        spent: bool,
    ) -> Self {
        Self {
            code,
            expires_at,
            rule,
            failures,
            state: if spent { State::Spent } else { State::Pending },
        }
    }

    /// The code (to send to the device; never log it).
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let now = DateTime::<Utc>::UNIX_EPOCH;
    /// let c = OtpChallenge::from_parts("000000".into(), now + TimeDelta::minutes(1), FailureRule::default(),
    ///     0, false);
    /// assert_eq!(c.code(), "000000");
    /// ```
    pub fn code(&self) -> &str {
        &self.code
    }

    /// When the code stops being accepted (`issued + lifeTime`; expired when `now >= expires_at`).
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let c = OtpChallenge::from_parts("000000".into(), DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(90), FailureRule::default(), 0, false);
    /// assert_eq!(c.expires_at().timestamp(), 90);
    /// ```
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    /// The failure rule.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let c = OtpChallenge::from_parts("000000".into(), DateTime::<Utc>::UNIX_EPOCH + TimeDelta::seconds(90), FailureRule::default(), 0, false);
    /// assert_eq!(c.rule().count(), 3);
    /// ```
    pub fn rule(&self) -> FailureRule {
        self.rule
    }

    /// Wrong codes so far.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let now = DateTime::<Utc>::UNIX_EPOCH;
    /// let mut c = OtpChallenge::from_parts("000000".into(), now + TimeDelta::seconds(90),
    ///     FailureRule::default(), 0, false);
    /// c.check("1", now);
    /// assert_eq!(c.failures(), 1);
    /// ```
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the challenge was verified or failed and takes no more codes.
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let now = DateTime::<Utc>::UNIX_EPOCH;
    /// let mut c = OtpChallenge::from_parts("000000".into(), now + TimeDelta::seconds(90),
    ///     FailureRule::default(), 0, false);
    /// assert!(!c.is_spent());
    /// c.check("000000", now);
    /// assert!(c.is_spent());
    /// ```
    pub fn is_spent(&self) -> bool {
        self.state == State::Spent
    }

    /// The `test` body of a test-mode device (`None` unless `test_mode`); see [`ChallengeTestOtp`].
    ///
    /// ```
    /// use chrono::{TimeDelta, Utc, DateTime};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge};
    /// let now = DateTime::<Utc>::UNIX_EPOCH;
    /// let c = OtpChallenge::from_parts("555555".into(), now + TimeDelta::seconds(90), FailureRule::default(),
    ///     0, false);
    /// assert_eq!(c.test_otp(true).unwrap().otp, "555555");
    /// ```
    pub fn test_otp(&self, test_mode: bool) -> Option<ChallengeTestOtp> {
        test_mode.then(|| ChallengeTestOtp {
            otp: self.code.clone(),
        })
    }

    /// Checks a candidate code at `now`.
    ///
    /// In order: a spent challenge answers [`OtpCheck::Spent`]; at or after
    /// [`expires_at`](Self::expires_at) [`OtpCheck::Expired`] (nothing counted); then the code
    /// is compared in constant time (a candidate of another length is simply wrong). Right →
    /// [`OtpCheck::Valid`]; wrong → the failure is counted ([`FailureRule::record`], the rule
    /// the aggregate and the flow apply too), and reaching the rule's count gives
    /// [`OtpCheck::Failed`] with the lock end `now + coolDown` truncated to milliseconds
    /// (saturating), or no lock when the cool-down is zero.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::otp::{OtpChallenge, OtpCheck};
    /// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    /// let mut c = OtpChallenge::from_parts("444444".into(), now + TimeDelta::minutes(5),
    ///     FailureRule::default(), 0, false);
    /// assert_eq!(c.check("444444", now + TimeDelta::minutes(5)), OtpCheck::Expired);
    /// assert_eq!(c.check("444444", now + TimeDelta::minutes(4)), OtpCheck::Valid);
    /// ```
    pub fn check(&mut self, candidate: &str, now: DateTime<Utc>) -> OtpCheck {
        if self.state == State::Spent {
            return OtpCheck::Spent;
        }
        if now >= self.expires_at {
            return OtpCheck::Expired;
        }
        if bool::from(self.code.as_bytes().ct_eq(candidate.as_bytes())) {
            self.state = State::Spent;
            return OtpCheck::Valid;
        }
        let step = self.rule.record(self.failures, now);
        self.failures = self.failures.saturating_add(1);
        if step.limit_reached {
            self.state = State::Spent;
            OtpCheck::Failed {
                locked_until: step.locked_until,
            }
        } else {
            OtpCheck::Invalid {
                remaining_attempts: step.remaining_attempts,
            }
        }
    }
}
