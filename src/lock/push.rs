//! The push limiter: declined or ignored pushes within a window lock a device (reason `PUSH`).

use chrono::{DateTime, TimeDelta, Utc};

use super::PushLimitRule;
use super::rule::lock_end;
use crate::device::timestamp::truncate_millis;

/// What [`PushLimiter::record`] decided.
///
/// ```
/// use mfa_devices::lock::PushOutcome;
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
        /// When the lock ends (`now + lockDuration`, truncated to milliseconds, saturating).
        until: DateTime<Utc>,
    },
}

impl PushOutcome {
    /// Whether the device is to be locked.
    ///
    /// ```
    /// use chrono::{DateTime, Utc};
    /// use mfa_devices::lock::PushOutcome;
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
/// use mfa_devices::lock::{PushLimitRule, PushLimiter, PushOutcome};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter};
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
    /// use mfa_devices::lock::{PushLimitRule, PushLimiter, PushOutcome};
    /// let rule = PushLimitRule::new(1, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap();
    /// let t = DateTime::<Utc>::UNIX_EPOCH;
    /// assert!(PushLimiter::new(rule).record(t).locks());
    /// ```
    pub fn record(&mut self, now: DateTime<Utc>) -> PushOutcome {
        let now = truncate_millis(now);
        let window = self.rule.window;
        self.recent.retain(|t| inside(window, *t, now));
        self.recent.push(now);
        let counted = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        if counted >= self.rule.count {
            self.recent.clear();
            PushOutcome::Locked {
                until: lock_end(now, self.rule.lock_duration),
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
