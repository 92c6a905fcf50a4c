//! The push limiter: declined or ignored pushes within a window lock a device (reason `PUSH`).

use chrono::{DateTime, TimeDelta, Utc};

use super::OtpError;
use crate::policy::{PolicyDuration, PolicyError, PushLimit};

/// `pushLimit` as numbers: `count` declined/ignored pushes within `window` lock the device for
/// `lock_duration`.
///
/// ```
/// use chrono::TimeDelta;
/// use mfa_devices::otp::PushLimitRule;
/// use mfa_devices::policy::PushLimit;
///
/// let rule = PushLimitRule::try_from(&PushLimit::default()).unwrap();
/// assert_eq!(rule.count(), 5);
/// assert_eq!(rule.window(), TimeDelta::minutes(10));
/// assert_eq!(rule.lock_duration(), TimeDelta::minutes(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PushLimitRule {
    count: u32,
    window: TimeDelta,
    lock_duration: TimeDelta,
}

impl PushLimitRule {
    /// A rule; `count` at least 1, durations 0 or more.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::PushLimitRule;
    /// assert!(PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).is_ok());
    /// assert!(PushLimitRule::new(0, TimeDelta::minutes(20), TimeDelta::minutes(30)).is_err());
    /// ```
    pub fn new(count: u32, window: TimeDelta, lock_duration: TimeDelta) -> Result<Self, OtpError> {
        if count == 0 {
            return Err(PolicyError::InvalidCount(0).into());
        }
        for d in [window, lock_duration] {
            if d < TimeDelta::zero() {
                return Err(PolicyError::NegativeDuration(d.num_seconds()).into());
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
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::PushLimitRule;
    /// let r = PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).unwrap();
    /// assert_eq!(r.count(), 4);
    /// ```
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The window pushes are counted in.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::PushLimitRule;
    /// let r = PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).unwrap();
    /// assert_eq!(r.window(), TimeDelta::minutes(20));
    /// ```
    pub fn window(&self) -> TimeDelta {
        self.window
    }

    /// How long the `PUSH` lock lasts.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::PushLimitRule;
    /// let r = PushLimitRule::new(4, TimeDelta::minutes(20), TimeDelta::minutes(30)).unwrap();
    /// assert_eq!(r.lock_duration(), TimeDelta::minutes(30));
    /// ```
    pub fn lock_duration(&self) -> TimeDelta {
        self.lock_duration
    }
}

impl TryFrom<&PushLimit> for PushLimitRule {
    type Error = OtpError;

    /// Absent parts take the documented defaults (5, 10 MINUTES, 30 MINUTES). Fails for a
    /// count below 1 or above `u32::MAX` and for durations
    /// [`PolicyDuration::to_time_delta`] refuses; the published ranges are
    /// [`validate`](crate::policy::DeviceAuthenticationPolicy::validate)'s job.
    fn try_from(p: &PushLimit) -> Result<Self, OtpError> {
        let count = p.count.unwrap_or(PushLimit::DEFAULT_COUNT);
        let count = u32::try_from(count).map_err(|_| PolicyError::InvalidCount(count))?;
        let delta = |d: Option<&PolicyDuration>, default_minutes: i64| match d {
            Some(d) => d.to_time_delta(),
            None => Ok(TimeDelta::minutes(default_minutes)),
        };
        Self::new(
            count,
            delta(
                p.time_period.as_ref(),
                PushLimit::DEFAULT_TIME_PERIOD_MINUTES,
            )?,
            delta(
                p.lock_duration.as_ref(),
                PushLimit::DEFAULT_LOCK_DURATION_MINUTES,
            )?,
        )
    }
}

/// What [`PushLimiter::record`] decided.
///
/// ```
/// use mfa_devices::otp::PushOutcome;
/// assert!(!PushOutcome::Counted { remaining: 1 }.locks());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushOutcome {
    /// Counted; `remaining` more within the window lock the device.
    Counted {
        /// Declined/ignored pushes still allowed in the window.
        remaining: u32,
    },
    /// The count is reached: lock the device with reason `PUSH` until `until`. The counter
    /// starts again from zero.
    Locked {
        /// When the lock ends (`now + lockDuration`, saturating at the largest `DateTime<Utc>`).
        until: DateTime<Utc>,
    },
}

impl PushOutcome {
    /// Whether the device is to be locked.
    ///
    /// ```
    /// use chrono::{DateTime, Utc};
    /// use mfa_devices::otp::PushOutcome;
    /// assert!(PushOutcome::Locked { until: DateTime::<Utc>::UNIX_EPOCH }.locks());
    /// ```
    pub fn locks(&self) -> bool {
        matches!(self, Self::Locked { .. })
    }
}

/// Counts a device's declined and ignored pushes per its application's `pushLimit`.
///
/// State is the times of the recent declined/ignored pushes (at most `count - 1` are kept);
/// [`record`](Self::record) adds one at `now`, forgets those that left the window, and locks
/// when `count` remain. **Decisions**: a push at `t` is in the window while
/// `now - t < timePeriod`; a push recorded with a time after `now` (clock skew) stays counted;
/// after a lock the counter restarts from zero.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::otp::{PushLimitRule, PushLimiter, PushOutcome};
///
/// let rule = PushLimitRule::new(2, TimeDelta::minutes(20), TimeDelta::minutes(30)).unwrap();
/// let mut limiter = PushLimiter::new(rule);
/// let t0 = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// assert_eq!(limiter.record(t0), PushOutcome::Counted { remaining: 1 });
/// // 20 minutes later the first push has left the window.
/// assert_eq!(limiter.record(t0 + TimeDelta::minutes(20)), PushOutcome::Counted { remaining: 1 });
/// let t = t0 + TimeDelta::minutes(25);
/// assert_eq!(limiter.record(t), PushOutcome::Locked { until: t + TimeDelta::minutes(30) });
/// assert!(limiter.recent().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLimiter {
    rule: PushLimitRule,
    recent: Vec<DateTime<Utc>>,
}

impl PushLimiter {
    /// A limiter with no pushes recorded.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter};
    /// let rule = PushLimitRule::new(5, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// assert!(PushLimiter::new(rule).recent().is_empty());
    /// ```
    pub fn new(rule: PushLimitRule) -> Self {
        Self {
            rule,
            recent: Vec::new(),
        }
    }

    /// A limiter from stored push times (for example after a policy change); only the latest
    /// `count - 1` are kept, in time order.
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter};
    /// let rule = PushLimitRule::new(2, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// let t = DateTime::<Utc>::UNIX_EPOCH;
    /// let l = PushLimiter::from_parts(rule, vec![t + TimeDelta::seconds(5), t]);
    /// assert_eq!(l.recent(), &[t + TimeDelta::seconds(5)]);
    /// ```
    pub fn from_parts(rule: PushLimitRule, mut recent: Vec<DateTime<Utc>>) -> Self {
        recent.sort_unstable();
        let keep = usize::try_from(rule.count.saturating_sub(1)).unwrap_or(usize::MAX);
        let drop = recent.len().saturating_sub(keep);
        recent.drain(..drop);
        Self { rule, recent }
    }

    /// The rule.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter};
    /// let rule = PushLimitRule::new(5, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// assert_eq!(PushLimiter::new(rule).rule(), rule);
    /// ```
    pub fn rule(&self) -> PushLimitRule {
        self.rule
    }

    /// The recorded push times still kept (to persist).
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter};
    /// let rule = PushLimitRule::new(5, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// let mut l = PushLimiter::new(rule);
    /// l.record(DateTime::<Utc>::UNIX_EPOCH);
    /// assert_eq!(l.recent().len(), 1);
    /// ```
    pub fn recent(&self) -> &[DateTime<Utc>] {
        &self.recent
    }

    /// Declined/ignored pushes within the window at `now`.
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter};
    /// let rule = PushLimitRule::new(5, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// let mut l = PushLimiter::new(rule);
    /// let t = DateTime::<Utc>::UNIX_EPOCH;
    /// l.record(t);
    /// assert_eq!(l.in_window(t + TimeDelta::minutes(9)), 1);
    /// assert_eq!(l.in_window(t + TimeDelta::minutes(10)), 0);
    /// ```
    pub fn in_window(&self, now: DateTime<Utc>) -> u32 {
        let window = self.rule.window;
        let n = self
            .recent
            .iter()
            .filter(|t| inside(window, **t, now))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Records a declined or ignored push at `now` and says whether the device locks.
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use mfa_devices::otp::{PushLimitRule, PushLimiter, PushOutcome};
    /// let rule = PushLimitRule::new(1, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// let t = DateTime::<Utc>::UNIX_EPOCH;
    /// assert!(PushLimiter::new(rule).record(t).locks());
    /// ```
    pub fn record(&mut self, now: DateTime<Utc>) -> PushOutcome {
        let window = self.rule.window;
        self.recent.retain(|t| inside(window, *t, now));
        self.recent.push(now);
        let counted = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        if counted >= self.rule.count {
            self.recent.clear();
            PushOutcome::Locked {
                until: crate::device::timestamp::add_clamped(now, self.rule.lock_duration),
            }
        } else {
            self.recent.sort_unstable();
            PushOutcome::Counted {
                remaining: self.rule.count.saturating_sub(counted),
            }
        }
    }
}

/// The window rule: a push at `t` still counts at `now` while `now - t < window`.
fn inside(window: TimeDelta, t: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(t) < window
}
