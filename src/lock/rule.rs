//! The lock rules: [`FailureRule`] (wrong passcodes → `OTP` lock) and [`PushLimitRule`]
//! (declined/ignored pushes → `PUSH` lock), validated once, with PingOne's defaults written
//! here and nowhere else.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::device::timestamp::truncate_millis;

/// Why a lock rule cannot be built.
///
/// ```
/// use chrono::TimeDelta;
/// use mfa_devices::lock::{FailureRule, RuleError};
/// assert_eq!(FailureRule::new(0, TimeDelta::zero()), Err(RuleError::ZeroCount));
/// assert!(FailureRule::new(3, TimeDelta::seconds(-1)).unwrap_err().to_string().contains("negative"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RuleError {
    /// A count of 0: at least one failure or push must be allowed.
    ZeroCount,
    /// A duration below zero.
    NegativeDuration {
        /// Which duration (`coolDown`, `timePeriod`, `lockDuration`).
        name: &'static str,
        /// The duration given.
        duration: TimeDelta,
    },
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCount => f.write_str("count 0 is not allowed; it must be 1 or more"),
            Self::NegativeDuration { name, duration } => write!(
                f,
                "{name} of {} ms is negative; it must be 0 or more",
                duration.num_milliseconds()
            ),
        }
    }
}

impl std::error::Error for RuleError {}

/// `now + delta`, truncated to milliseconds (PingOne's precision) and clamped into the
/// representable range ([`timestamp::add_clamped`](crate::device::timestamp::add_clamped): an
/// end past `9999-12-31T23:59:59.999Z` is that instant, so the lock always reads back): the one
/// lock-end arithmetic of the crate.
pub(crate) fn lock_end(now: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    crate::device::timestamp::add_clamped(now, delta)
}

/// The OTP failure rule of a method (`failure.count`, `failure.coolDown`): the `count`-th
/// wrong passcode (or failed FIDO2 assertion) in a row ends the challenge and locks the device
/// (reason `OTP`) for `cool_down`; a cool-down of zero never locks (the run still ends and the
/// counter restarts).
///
/// One rule, one arithmetic: [`record`](Self::record) is what the aggregate
/// ([`record_otp_failure`](super::record_otp_failure)), the OTP engine
/// ([`OtpChallenge`](crate::otp::OtpChallenge)) and the authentication flow all call.
///
/// Stored (inside a stored flow) as `{"count": 3, "coolDown": 120000}` (milliseconds).
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::FailureRule;
/// let rule = FailureRule::new(3, TimeDelta::minutes(2)).unwrap();
/// assert_eq!(rule, FailureRule::DEFAULT_AUTHENTICATOR);
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// assert_eq!(rule.record(1, now).failures, 2);
/// assert_eq!(rule.record(2, now).locked_until, Some(now + TimeDelta::minutes(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawFailureRule")]
pub struct FailureRule {
    count: u32,
    #[serde(with = "millis")]
    cool_down: TimeDelta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFailureRule {
    count: u32,
    #[serde(with = "millis")]
    cool_down: TimeDelta,
}

impl TryFrom<RawFailureRule> for FailureRule {
    type Error = RuleError;
    fn try_from(raw: RawFailureRule) -> Result<Self, RuleError> {
        Self::new(raw.count, raw.cool_down)
    }
}

/// What one more failure does under a [`FailureRule`] (see [`FailureRule::record`]).
///
/// ```
/// use chrono::{DateTime, TimeDelta, Utc};
/// use mfa_devices::lock::FailureRule;
/// let step = FailureRule::DEFAULT_SENT.record(0, DateTime::<Utc>::UNIX_EPOCH);
/// assert_eq!((step.failures, step.limit_reached, step.remaining_attempts), (1, false, 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FailureStep {
    /// The failure counter afterwards (0 when this failure reached the count: it restarts).
    pub failures: u32,
    /// Whether this failure reached the count (the challenge is over).
    pub limit_reached: bool,
    /// Failures still allowed before the count is reached (0 when it was).
    pub remaining_attempts: u32,
    /// When the count was reached with a positive cool-down: the end of the `OTP` lock,
    /// `now + coolDown` truncated to milliseconds (saturating).
    pub locked_until: Option<DateTime<Utc>>,
}

impl FailureRule {
    /// PingOne's default for SMS, email, voice and WhatsApp: 3 failures, no lock.
    pub const DEFAULT_SENT: Self = Self {
        count: 3,
        cool_down: TimeDelta::zero(),
    };

    /// PingOne's default for mobile, TOTP and FIDO2: 3 failures, locked for 2 minutes.
    pub const DEFAULT_AUTHENTICATOR: Self = Self {
        count: 3,
        cool_down: TimeDelta::minutes(2),
    };

    /// `count` wrong passcodes (at least 1) lock the device for `cool_down` (0 or more).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::lock::FailureRule;
    /// assert_eq!(FailureRule::new(3, TimeDelta::zero()).unwrap().count(), 3);
    /// assert!(FailureRule::new(0, TimeDelta::zero()).is_err());
    /// assert!(FailureRule::new(3, TimeDelta::seconds(-1)).is_err());
    /// ```
    pub fn new(count: u32, cool_down: TimeDelta) -> Result<Self, RuleError> {
        if count == 0 {
            return Err(RuleError::ZeroCount);
        }
        if cool_down < TimeDelta::zero() {
            return Err(RuleError::NegativeDuration {
                name: "coolDown",
                duration: cool_down,
            });
        }
        Ok(Self { count, cool_down })
    }

    /// Wrong passcodes that end a challenge.
    ///
    /// ```
    /// assert_eq!(mfa_devices::lock::FailureRule::DEFAULT_SENT.count(), 3);
    /// ```
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// How long the device is locked once the count is reached.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// assert_eq!(mfa_devices::lock::FailureRule::DEFAULT_AUTHENTICATOR.cool_down(), TimeDelta::minutes(2));
    /// ```
    pub const fn cool_down(&self) -> TimeDelta {
        self.cool_down
    }

    /// Whether reaching the count locks the device (`coolDown` above zero).
    ///
    /// ```
    /// assert!(!mfa_devices::lock::FailureRule::DEFAULT_SENT.locks());
    /// ```
    pub fn locks(&self) -> bool {
        self.cool_down > TimeDelta::zero()
    }

    /// One more failure at `now` after `failures` in a row: the failure that makes the count
    /// reach [`count`](Self::count) ends the run (the counter restarts at 0) and, with a
    /// positive cool-down, locks until `now + coolDown` — `now` and the lock end truncated to
    /// milliseconds (PingOne's precision, so that the lock end reads back unchanged from
    /// JSON), saturating at the end of time. A stored counter at or past the count (a policy
    /// lowered meanwhile) reaches it with this failure.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::lock::FailureRule;
    /// let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap() + TimeDelta::microseconds(1_500);
    /// let step = FailureRule::new(1, TimeDelta::seconds(90)).unwrap().record(0, now);
    /// assert!(step.limit_reached);
    /// assert_eq!(step.failures, 0);
    /// // 12:00:00.001500 + 90 s, truncated to 12:01:30.001.
    /// assert_eq!(step.locked_until.unwrap().timestamp_subsec_micros(), 1_000);
    /// ```
    pub fn record(&self, failures: u32, now: DateTime<Utc>) -> FailureStep {
        let counted = failures.saturating_add(1);
        if counted < self.count {
            return FailureStep {
                failures: counted,
                limit_reached: false,
                remaining_attempts: self.count.saturating_sub(counted),
                locked_until: None,
            };
        }
        FailureStep {
            failures: 0,
            limit_reached: true,
            remaining_attempts: 0,
            locked_until: self
                .locks()
                .then(|| lock_end(truncate_millis(now), self.cool_down)),
        }
    }
}

impl Default for FailureRule {
    /// [`FailureRule::DEFAULT_SENT`]: 3 failures, no lock.
    fn default() -> Self {
        Self::DEFAULT_SENT
    }
}

/// The push limit of a mobile application (`pushLimit`): `count` declined or ignored pushes
/// within `window` (`timePeriod`) lock the device (reason `PUSH`) for `lock_duration`.
/// [`PushLimiter`](super::PushLimiter) counts them.
///
/// Stored (inside a stored flow) as `{"count": 5, "timePeriod": 600000, "lockDuration":
/// 1800000}` (milliseconds).
///
/// ```
/// use chrono::TimeDelta;
/// use mfa_devices::lock::PushLimitRule;
/// let rule = PushLimitRule::default();
/// assert_eq!((rule.count(), rule.window(), rule.lock_duration()),
///     (5, TimeDelta::minutes(10), TimeDelta::minutes(30)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawPushLimitRule")]
pub struct PushLimitRule {
    pub(super) count: u32,
    #[serde(rename = "timePeriod", with = "millis")]
    pub(super) window: TimeDelta,
    #[serde(with = "millis")]
    pub(super) lock_duration: TimeDelta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPushLimitRule {
    count: u32,
    #[serde(with = "millis")]
    time_period: TimeDelta,
    #[serde(with = "millis")]
    lock_duration: TimeDelta,
}

impl TryFrom<RawPushLimitRule> for PushLimitRule {
    type Error = RuleError;
    fn try_from(raw: RawPushLimitRule) -> Result<Self, RuleError> {
        Self::new(raw.count, raw.time_period, raw.lock_duration)
    }
}

impl PushLimitRule {
    /// PingOne's default: 5 declined or ignored pushes within 10 minutes lock for 30 minutes.
    pub const DEFAULT: Self = Self {
        count: 5,
        window: TimeDelta::minutes(10),
        lock_duration: TimeDelta::minutes(30),
    };

    /// A rule; `count` at least 1, durations 0 or more.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::lock::PushLimitRule;
    /// assert!(PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).is_ok());
    /// assert!(PushLimitRule::new(0, TimeDelta::minutes(20), TimeDelta::minutes(30)).is_err());
    /// ```
    pub fn new(count: u32, window: TimeDelta, lock_duration: TimeDelta) -> Result<Self, RuleError> {
        if count == 0 {
            return Err(RuleError::ZeroCount);
        }
        for (name, d) in [("timePeriod", window), ("lockDuration", lock_duration)] {
            if d < TimeDelta::zero() {
                return Err(RuleError::NegativeDuration { name, duration: d });
            }
        }
        Ok(Self {
            count,
            window,
            lock_duration,
        })
    }

    /// Pushes that lock the device.
    ///
    /// ```
    /// assert_eq!(mfa_devices::lock::PushLimitRule::DEFAULT.count(), 5);
    /// ```
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The window pushes are counted in (`timePeriod`).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// assert_eq!(mfa_devices::lock::PushLimitRule::DEFAULT.window(), TimeDelta::minutes(10));
    /// ```
    pub const fn window(&self) -> TimeDelta {
        self.window
    }

    /// How long the `PUSH` lock lasts (zero: never locks).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// assert_eq!(mfa_devices::lock::PushLimitRule::DEFAULT.lock_duration(), TimeDelta::minutes(30));
    /// ```
    pub const fn lock_duration(&self) -> TimeDelta {
        self.lock_duration
    }
}

impl Default for PushLimitRule {
    /// [`PushLimitRule::DEFAULT`].
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// `TimeDelta` stored as whole milliseconds (the crate's stored forms; not a PingOne wire
/// format).
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
