//! PingOne's timestamp format (RFC 3339, UTC, milliseconds) and serde helpers for it
//! (`#[serde(with = "mfa_devices::device::timestamp")]`, `…::timestamp::option`).
//!
//! **The representable range.** RFC 3339 has four-digit years, so the crate reads and writes
//! instants from [`MIN`] (`0000-01-01T00:00:00.000Z`) to [`MAX`] (`9999-12-31T23:59:59.999Z`)
//! and no others — every time it writes, it can read back. The range is enforced where times
//! enter: a `now` outside it is refused by every operation that records it
//! ([`check`]), an end computed from a duration (a lock's `expiresAt`, a passcode's expiry)
//! that would fall past it is [`MAX`] ([`add_clamped`]: in force until an administrator acts),
//! the parser refuses an offset that moves a time out of it, and the serde writer refuses (a
//! serde error, never unreadable text) a value outside it.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::de;
use serde::{Deserialize, Deserializer, Serializer};

const fn from_millis(ms: i64) -> DateTime<Utc> {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) => t,
        None => DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// The first representable instant, `0000-01-01T00:00:00.000Z`.
///
/// ```
/// use mfa_devices::device::timestamp::{format, MIN};
/// assert_eq!(format(&MIN), "0000-01-01T00:00:00.000Z");
/// ```
pub const MIN: DateTime<Utc> = from_millis(-62_167_219_200_000);

/// The last representable instant, `9999-12-31T23:59:59.999Z` (millisecond precision).
///
/// ```
/// use mfa_devices::device::timestamp::{format, parse, MAX};
/// assert_eq!(format(&MAX), "9999-12-31T23:59:59.999Z");
/// assert_eq!(parse("9999-12-31T23:59:59.999Z"), Some(MAX));
/// ```
pub const MAX: DateTime<Utc> = from_millis(253_402_300_799_999);

/// A time outside the representable range [`MIN`]`..=`[`MAX`] (a clock gone wrong, or an
/// instant computed from an absurd duration).
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mfa_devices::device::timestamp::check;
/// let e = check(DateTime::<Utc>::MAX_UTC).unwrap_err();
/// assert!(e.to_string().contains("0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange(pub DateTime<Utc>);

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the time {} is outside the representable range {} to {}",
            format(&self.0),
            format(&MIN),
            format(&MAX)
        )
    }
}

impl std::error::Error for OutOfRange {}

/// Whether `t` lies in [`MIN`]`..=`[`MAX`] once truncated to milliseconds.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mfa_devices::device::timestamp::{is_representable, MAX};
/// assert!(is_representable(&MAX));
/// assert!(!is_representable(&DateTime::<Utc>::MAX_UTC));
/// ```
pub fn is_representable(t: &DateTime<Utc>) -> bool {
    let t = truncate_millis(*t);
    MIN <= t && t <= MAX
}

/// `t` truncated to milliseconds, or [`OutOfRange`] when it lies outside [`MIN`]`..=`[`MAX`]:
/// how every operation that records a `now` takes it.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::device::timestamp::{check, MIN};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// assert_eq!(check(t + TimeDelta::microseconds(1500)), Ok(t + TimeDelta::milliseconds(1)));
/// assert!(check(MIN - TimeDelta::milliseconds(1)).is_err());
/// ```
pub fn check(t: DateTime<Utc>) -> Result<DateTime<Utc>, OutOfRange> {
    let truncated = truncate_millis(t);
    if MIN <= truncated && truncated <= MAX {
        Ok(truncated)
    } else {
        Err(OutOfRange(t))
    }
}

/// `t` truncated to milliseconds and clamped into [`MIN`]`..=`[`MAX`].
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mfa_devices::device::timestamp::{clamp, MAX, MIN};
/// assert_eq!(clamp(DateTime::<Utc>::MAX_UTC), MAX);
/// assert_eq!(clamp(DateTime::<Utc>::MIN_UTC), MIN);
/// ```
pub fn clamp(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_millis(t).clamp(MIN, MAX)
}

/// `t + delta`, truncated to milliseconds and clamped into [`MIN`]`..=`[`MAX`]: the end of a
/// lock or an expiry computed from a policy duration. An end that would lie past [`MAX`] is
/// [`MAX`] — a lock that lasts until an administrator unlocks the device, since no accepted
/// `now` is ever at or after it — so the value always reads back.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::device::timestamp::{add_clamped, MAX};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// assert_eq!(add_clamped(t, TimeDelta::minutes(2)), t + TimeDelta::minutes(2));
/// assert_eq!(add_clamped(t, TimeDelta::days(3_000_000)), MAX);
/// ```
pub fn add_clamped(t: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    match t.checked_add_signed(delta) {
        Some(end) => clamp(end),
        None if delta < TimeDelta::zero() => MIN,
        None => MAX,
    }
}

/// Formats a timestamp as PingOne writes it: RFC 3339, UTC, millisecond precision, `Z`
/// (`2024-03-13T16:27:40.614Z`).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let t = Utc.with_ymd_and_hms(2024, 3, 13, 16, 27, 40).unwrap();
/// assert_eq!(mfa_devices::device::timestamp::format(&t), "2024-03-13T16:27:40.000Z");
/// ```
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp with any offset and precision, as UTC; `None` also for a time
/// that an offset moves outside [`MIN`]`..=`[`MAX`].
///
/// ```
/// let t = mfa_devices::device::timestamp::parse("2024-03-13T17:27:40.614+01:00").unwrap();
/// assert_eq!(mfa_devices::device::timestamp::format(&t), "2024-03-13T16:27:40.614Z");
/// assert!(mfa_devices::device::timestamp::parse("yesterday").is_none());
/// assert!(mfa_devices::device::timestamp::parse("9999-12-31T23:30:00-01:00").is_none());
/// ```
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(is_representable)
}

/// `#[serde(with = "…")]` for a required timestamp.
///
/// Timestamps are written with millisecond precision (PingOne's format); a finer input is
/// truncated to milliseconds when read, so that a read value writes back unchanged. A time
/// outside [`MIN`]`..=`[`MAX`] is a serde error (never text the reader would refuse).
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    if !is_representable(t) {
        return Err(serde::ser::Error::custom(OutOfRange(*t)));
    }
    s.serialize_str(&format(t))
}

/// `#[serde(with = "…")]` for a required timestamp (see [`serialize`]).
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
    parse(&s)
        .map(truncate_millis)
        .ok_or_else(|| de::Error::custom(format_args!("invalid RFC 3339 timestamp '{s}'")))
}

/// Drops sub-millisecond precision (PingOne's timestamps carry milliseconds).
pub fn truncate_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.timestamp_subsec_nanos();
    let extra = nanos % 1_000_000;
    if extra == 0 {
        // Already whole milliseconds (every stored time): no date arithmetic.
        return t;
    }
    t.checked_sub_signed(chrono::TimeDelta::nanoseconds(i64::from(extra)))
        .unwrap_or(t)
}

/// `#[serde(with = "…::option")]` for an optional timestamp.
pub mod option {
    use super::*;

    /// Writes `Some` as PingOne's timestamp (callers skip `None`).
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    /// Reads an optional timestamp (`null` reads as `None`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse(&s)
                .map(|t| Some(truncate_millis(t)))
                .ok_or_else(|| de::Error::custom(format_args!("invalid RFC 3339 timestamp '{s}'"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_millis() {
        let t = parse("2024-03-13T16:27:40.614999Z").unwrap();
        assert_eq!(format(&truncate_millis(t)), "2024-03-13T16:27:40.614Z");
    }
}
