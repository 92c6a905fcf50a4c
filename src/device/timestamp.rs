//! PingOne's timestamp format (RFC 3339, UTC, milliseconds) and serde helpers for it
//! (`#[serde(with = "mfa_devices::device::timestamp")]`, `…::timestamp::option`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de;
use serde::{Deserialize, Deserializer, Serializer};

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

/// Parses an RFC 3339 timestamp with any offset and precision, as UTC.
///
/// ```
/// let t = mfa_devices::device::timestamp::parse("2024-03-13T17:27:40.614+01:00").unwrap();
/// assert_eq!(mfa_devices::device::timestamp::format(&t), "2024-03-13T16:27:40.614Z");
/// assert!(mfa_devices::device::timestamp::parse("yesterday").is_none());
/// ```
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `#[serde(with = "…")]` for a required timestamp.
///
/// Timestamps are written with millisecond precision (PingOne's format); a finer input is
/// truncated to milliseconds when read, so that a read value writes back unchanged.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
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
