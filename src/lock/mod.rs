//! The lock rules and their arithmetic: OTP failure counting, push rejection windows, lock
//! expiry — on an injected `now`.
//!
//! This module is the one home of every lock rule: [`FailureRule`] (a method's
//! `failure.count` / `coolDown`), [`PushLimitRule`] (an application's `pushLimit`) with its
//! [`PushLimiter`], and the lock state as it reads at a time ([`LockState::at`]). Each rule has
//! one implementation, called by the [`user_devices`](crate::user_devices) aggregate (which owns the lock
//! state), the OTP engine ([`OtpChallenge`](crate::otp::OtpChallenge)) and the authentication
//! flow ([`authn`](crate::authn)), so the three agree to the millisecond.
//!
//! The crate's **decisions** (PingOne publishes the policy numbers, not the arithmetic):
//! - A lock is in force while `now < expiresAt`; from `expiresAt` on it reads UNLOCKED
//!   ([`effective_lock`]) and the failure counters restart from zero.
//! - OTP: the failure that makes the count reach the policy's `failure.count` locks the device
//!   (`reason=OTP`) until the time of that failure + `coolDown`, and the counter restarts. With a
//!   `coolDown` of zero the device never locks: the run of failures still completes
//!   ([`OtpFailureOutcome::limit_reached`]) and the counter restarts.
//! - Push: a declined or ignored push is counted while it is younger than `timePeriod`
//!   (`now - at < timePeriod`); the one that makes the count reach `pushLimit.count` locks the
//!   device (`reason=PUSH`) for `lockDuration` and the window restarts. This arithmetic is
//!   [`PushLimiter`]'s; [`record_push_rejection`] adds the lock expiry reset and the lock
//!   itself.
//! - Timestamps are truncated to milliseconds (PingOne's precision) so that they round-trip
//!   through JSON unchanged; a lock end past the representable range saturates.
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mfa_devices::lock::{FailureCounters, FailureRule, record_otp_failure};
//!
//! let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
//! let rule = FailureRule::DEFAULT_AUTHENTICATOR; // 3 failures, 2 minutes
//! let mut counters = FailureCounters::default();
//! let mut lock = None;
//! for i in 0..3 {
//!     let out = record_otp_failure(lock.as_ref(), &counters, rule, t);
//!     counters.otp_failures = out.failures;
//!     lock = Some(out.lock.clone());
//!     assert_eq!(out.limit_reached, i == 2);
//! }
//! let lock = lock.unwrap();
//! assert!(lock.is_in_force(t + TimeDelta::seconds(119)));
//! assert!(!lock.is_in_force(t + TimeDelta::minutes(2)));
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::device::timestamp::truncate_millis;
use crate::device::{LockReason, LockState, LockStatus};

mod push;
mod rule;

pub use push::{PushLimiter, PushOutcome};
pub(crate) use rule::lock_end;
pub(crate) use rule::millis;
pub use rule::{FailureRule, FailureStep, PushLimitRule, RuleError};

/// The per-device counters behind locks: consecutive OTP failures and recent push rejections.
///
/// These are not part of PingOne's device body; the [`user_devices`](crate::user_devices) aggregate keeps them
/// next to each device (and in its snapshot).
///
/// ```
/// let c = mfa_devices::lock::FailureCounters::default();
/// assert!(c.is_zero());
/// assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!({"otpFailures": 0, "pushRejections": []}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureCounters {
    /// OTP failures since the last success, unlock or lock.
    #[serde(default)]
    pub otp_failures: u32,
    /// Times of declined/ignored pushes still inside the last window, oldest first (as
    /// [`PushLimiter::recent`] keeps them).
    #[serde(default, with = "timestamps")]
    pub push_rejections: Vec<DateTime<Utc>>,
}

impl FailureCounters {
    /// Whether both counters are empty.
    ///
    /// ```
    /// let mut c = mfa_devices::lock::FailureCounters::default();
    /// c.otp_failures = 1;
    /// assert!(!c.is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        self.otp_failures == 0 && self.push_rejections.is_empty()
    }
}

/// The lock as it reads at `now`: a LOCKED state whose `expiresAt` has come reads as
/// `{"status":"UNLOCKED"}`; anything else (including no lock at all, which reads UNLOCKED) is
/// returned as stored.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::device::{LockReason, LockState, LockStatus};
/// use mfa_devices::lock::effective_lock;
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let lock = LockState::locked(t, LockReason::Otp);
/// assert_eq!(effective_lock(Some(&lock), t - TimeDelta::milliseconds(1)).status, LockStatus::Locked);
/// assert_eq!(effective_lock(Some(&lock), t), LockState::unlocked());
/// assert_eq!(effective_lock(None, t), LockState::unlocked());
/// ```
pub fn effective_lock(lock: Option<&LockState>, now: DateTime<Utc>) -> LockState {
    lock.map_or_else(LockState::unlocked, |l| l.at(now))
}

impl LockState {
    /// The lock as it reads at `now`: a LOCKED state whose `expiresAt` has come reads as
    /// `{"status":"UNLOCKED"}` (and the failure counters behind it restart); anything else is
    /// returned as it is. The one "effective lock" rule of the crate: device lists, the
    /// aggregate's commands and the flow's usability all read locks through it.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::{LockReason, LockState, LockStatus};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let lock = LockState::locked(t, LockReason::Push);
    /// assert_eq!(lock.at(t - TimeDelta::milliseconds(1)).status, LockStatus::Locked);
    /// assert_eq!(lock.at(t), LockState::unlocked());
    /// ```
    pub fn at(&self, now: DateTime<Utc>) -> LockState {
        if self.status == LockStatus::Locked && !self.is_in_force(now) {
            LockState::unlocked()
        } else {
            self.clone()
        }
    }
}

/// Whether a stored lock is LOCKED but has expired at `now` (its counters restart).
fn expired(lock: Option<&LockState>, now: DateTime<Utc>) -> bool {
    lock.is_some_and(|l| l.status == LockStatus::Locked && !l.is_in_force(now))
}

#[cfg(test)]
use rule::lock_end as add_saturating;

/// What one OTP failure does (see [`record_otp_failure`]).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::lock::{FailureCounters, FailureRule, record_otp_failure};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let out = record_otp_failure(None, &FailureCounters::default(), FailureRule::DEFAULT_SENT, t);
/// assert_eq!((out.failures, out.limit_reached), (1, false));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpFailureOutcome {
    /// The failure counter afterwards (0 when this failure completed a run).
    pub failures: u32,
    /// Whether this failure made the count reach the policy's `failure.count`.
    pub limit_reached: bool,
    /// The lock afterwards: LOCKED (reason OTP) when the limit was reached with a positive
    /// `coolDown`; an expired stored lock is cleared to UNLOCKED; otherwise the stored lock.
    pub lock: LockState,
}

/// Records one OTP failure at `now` against a device's stored `lock` and `counters` under the
/// method's [`FailureRule`] ([`FailureRule::record`] from the stored counter, which an expired
/// lock restarts at 0).
///
/// The caller checks first that no lock is in force (a locked device is not challenged).
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::{FailureCounters, FailureRule, record_otp_failure};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let c = FailureCounters { otp_failures: 2, ..Default::default() };
/// // coolDown 0: the run completes, the counter restarts, no lock.
/// let out = record_otp_failure(None, &c, FailureRule::DEFAULT_SENT, t);
/// assert!(out.limit_reached);
/// assert_eq!(out.failures, 0);
/// assert!(!out.lock.is_in_force(t));
/// ```
pub fn record_otp_failure(
    lock: Option<&LockState>,
    counters: &FailureCounters,
    rule: FailureRule,
    now: DateTime<Utc>,
) -> OtpFailureOutcome {
    let now = truncate_millis(now);
    let before = if expired(lock, now) {
        0
    } else {
        counters.otp_failures
    };
    let step = rule.record(before, now);
    let new_lock = match step.locked_until {
        Some(until) => LockState::locked(until, LockReason::Otp),
        None => effective_lock(lock, now),
    };
    OtpFailureOutcome {
        failures: step.failures,
        limit_reached: step.limit_reached,
        lock: new_lock,
    }
}

/// What one declined/ignored push does (see [`record_push_rejection`]).
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::{FailureCounters, PushLimitRule, record_push_rejection};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let rule = PushLimitRule::new(1, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
/// let out = record_push_rejection(None, &FailureCounters::default(), rule, t);
/// assert!(out.limit_reached && out.rejections.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRejectionOutcome {
    /// The rejections still counted afterwards, oldest first (empty when this one locked).
    pub rejections: Vec<DateTime<Utc>>,
    /// Whether this rejection made the count within the time period reach the limit.
    pub limit_reached: bool,
    /// The lock afterwards: LOCKED (reason PUSH) for `lockDuration` when the limit was reached;
    /// an expired stored lock is cleared to UNLOCKED; otherwise the stored lock.
    pub lock: LockState,
}

/// Records one declined or ignored push at `now` under the application's [`PushLimitRule`].
///
/// The window arithmetic is [`PushLimiter`]'s (one implementation for the aggregate and for
/// servers using the limiter directly): rejections older than the window
/// (`now - at >= timePeriod`) no longer count, a rejection dated after `now` (clock skew) still
/// counts, at most `count - 1` are kept, in time order, and reaching the count clears them. An
/// expired stored lock restarts the window; a `lockDuration` of zero never locks.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::lock::{FailureCounters, PushLimitRule, record_push_rejection};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let ten = TimeDelta::minutes(10);
/// let rule = PushLimitRule::new(3, ten, TimeDelta::minutes(30)).unwrap();
/// let c = FailureCounters { push_rejections: vec![t - ten, t - TimeDelta::minutes(9)], otp_failures: 0 };
/// // The first rejection is 10 minutes old: it fell out of the window, so 2 of 3 only.
/// let out = record_push_rejection(None, &c, rule, t);
/// assert!(!out.limit_reached);
/// assert_eq!(out.rejections, vec![t - TimeDelta::minutes(9), t]);
/// let c = FailureCounters { push_rejections: out.rejections, otp_failures: 0 };
/// let out = record_push_rejection(None, &c, rule, t);
/// assert!(out.limit_reached && out.lock.is_in_force(t + TimeDelta::minutes(29)));
/// ```
pub fn record_push_rejection(
    lock: Option<&LockState>,
    counters: &FailureCounters,
    rule: PushLimitRule,
    now: DateTime<Utc>,
) -> PushRejectionOutcome {
    let now = truncate_millis(now);
    let stored = if expired(lock, now) {
        Vec::new()
    } else {
        counters.push_rejections.clone()
    };
    let mut limiter = PushLimiter::from_parts(rule, stored);
    let outcome = limiter.record(now);
    let mut new_lock = effective_lock(lock, now);
    if let PushOutcome::Locked { until } = outcome {
        if rule.lock_duration() > TimeDelta::zero() {
            new_lock = LockState::locked(until, LockReason::Push);
        }
    }
    PushRejectionOutcome {
        rejections: limiter.recent().to_vec(),
        limit_reached: outcome.locks(),
        lock: new_lock,
    }
}

/// serde for a list of PingOne-format timestamps.
pub(crate) mod timestamps {
    use chrono::{DateTime, Utc};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::device::timestamp::{format, parse, truncate_millis};

    pub(crate) fn serialize<S: Serializer>(
        list: &[DateTime<Utc>],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(format))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<DateTime<Utc>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                parse(s).map(truncate_millis).ok_or_else(|| {
                    D::Error::custom(format_args!("invalid RFC 3339 timestamp '{s}'"))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn expired_lock_restarts_counters() {
        let t = t0();
        let stale = LockState::locked(t, LockReason::Otp);
        let c = FailureCounters {
            otp_failures: 2,
            push_rejections: vec![t],
        };
        let out = record_otp_failure(Some(&stale), &c, FailureRule::DEFAULT_AUTHENTICATOR, t);
        assert_eq!(out.failures, 1);
        assert_eq!(out.lock, LockState::unlocked());
        let rule = PushLimitRule::new(2, TimeDelta::hours(1), TimeDelta::minutes(1)).unwrap();
        let out = record_push_rejection(Some(&stale), &c, rule, t);
        assert_eq!(out.rejections, vec![t]);
        assert!(!out.limit_reached);
    }

    #[test]
    fn clamps_at_the_representable_range() {
        use crate::device::timestamp;
        let end = add_saturating(DateTime::<Utc>::MAX_UTC, TimeDelta::minutes(1));
        assert_eq!(end, timestamp::MAX);
        let start = add_saturating(DateTime::<Utc>::MIN_UTC, TimeDelta::minutes(-1));
        assert_eq!(start, timestamp::MIN);
        assert_eq!(
            add_saturating(t0(), TimeDelta::days(3_000_000)),
            timestamp::MAX
        );
    }

    #[test]
    fn push_zero_lock_duration_never_locks() {
        let rule = PushLimitRule::new(1, TimeDelta::minutes(1), TimeDelta::zero()).unwrap();
        let out = record_push_rejection(None, &FailureCounters::default(), rule, t0());
        assert!(out.limit_reached);
        assert!(out.rejections.is_empty());
        assert_eq!(out.lock, LockState::unlocked());
    }

    /// The window arithmetic `record_push_rejection` had before it delegated to
    /// `otp::PushLimiter`, kept as the model the delegation must agree with.
    fn model_push(
        stored: &[DateTime<Utc>],
        limit: u32,
        period: TimeDelta,
        now: DateTime<Utc>,
    ) -> (Vec<DateTime<Utc>>, bool) {
        let mut kept: Vec<_> = stored
            .iter()
            .copied()
            .filter(|at| now.signed_duration_since(*at) < period)
            .collect();
        kept.push(now);
        if kept.len() as u64 >= u64::from(limit.max(1)) {
            return (Vec::new(), true);
        }
        (kept, false)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// For stored rejections in time order and not after `now` (all the aggregate ever
        /// stores while time moves forward), delegation changes nothing.
        #[test]
        fn push_window_agrees_with_the_previous_arithmetic(
            mut ages in proptest::collection::vec(0i64..1_200_000, 0..8),
            limit in 0u32..7,
            period_ms in 0i64..900_000,
            lock_ms in -60_000i64..3_600_000,
            expired_lock in proptest::bool::ANY,
        ) {
            let now = t0();
            ages.sort_unstable_by(|a, b| b.cmp(a));
            let stored: Vec<_> = ages.iter().map(|a| now - TimeDelta::milliseconds(*a)).collect();
            let c = FailureCounters { otp_failures: 0, push_rejections: stored.clone() };
            let stale = LockState::locked(now, LockReason::Otp);
            let lock = expired_lock.then_some(&stale);
            let period = TimeDelta::milliseconds(period_ms);
            let lock_duration = TimeDelta::milliseconds(lock_ms);
            let rule = PushLimitRule::new(
                limit.max(1),
                period.max(TimeDelta::zero()),
                lock_duration.max(TimeDelta::zero()),
            )
            .unwrap();
            let out = record_push_rejection(lock, &c, rule, now);
            let before: &[DateTime<Utc>] = if expired_lock { &[] } else { &stored };
            let (kept, reached) = model_push(before, limit, period, now);
            proptest::prop_assert_eq!(&out.rejections, &kept);
            proptest::prop_assert_eq!(out.limit_reached, reached);
            let expected_lock = if reached && lock_duration > TimeDelta::zero() {
                LockState::locked(add_saturating(now, lock_duration), LockReason::Push)
            } else {
                effective_lock(lock, now)
            };
            proptest::prop_assert_eq!(out.lock, expected_lock);
        }
    }

    #[test]
    fn push_rejections_come_back_in_time_order() {
        // A stored list out of order (an edited snapshot, or `now` going backwards) used to be
        // returned as stored with `now` appended; the limiter keeps them oldest first.
        let t = t0();
        let c = FailureCounters {
            otp_failures: 0,
            push_rejections: vec![t + TimeDelta::minutes(1), t - TimeDelta::minutes(1)],
        };
        let out = record_push_rejection(None, &c, PushLimitRule::DEFAULT, t);
        assert_eq!(
            out.rejections,
            vec![t - TimeDelta::minutes(1), t, t + TimeDelta::minutes(1)]
        );
    }

    #[test]
    fn zero_time_period_counts_only_this_rejection() {
        let t = t0();
        let c = FailureCounters {
            otp_failures: 0,
            push_rejections: vec![t - TimeDelta::seconds(1)],
        };
        let rule = PushLimitRule::new(2, TimeDelta::zero(), TimeDelta::minutes(30)).unwrap();
        let out = record_push_rejection(None, &c, rule, t);
        assert_eq!((out.rejections, out.limit_reached), (vec![t], false));
        assert!(PushLimitRule::new(2, TimeDelta::minutes(-5), TimeDelta::minutes(30)).is_err());
    }
}
