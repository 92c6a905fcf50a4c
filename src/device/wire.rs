//! Wire helpers: PingOne's timestamp format, and splitting a JSON object by a struct's fields.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serializer};
use serde_json::{Map, Value};

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

/// The JSON field names a derived `Deserialize` struct reads, found by asking it to deserialize
/// from a deserializer that records the field list serde passes to `deserialize_struct`.
pub(crate) fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Recorder<'a>(&'a mut &'static [&'static str]);

    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field introspection")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for Recorder<'_> {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Stop> {
            *self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Recorder(&mut fields));
    fields
}

/// Removes the entries named in `fields` from `map` and returns them as a new object.
pub(crate) fn take_fields(map: &mut Map<String, Value>, fields: &[&str]) -> Map<String, Value> {
    let mut taken = Map::new();
    for f in fields {
        if let Some(v) = map.remove(*f) {
            taken.insert((*f).to_owned(), v);
        }
    }
    taken
}

/// Deserializes `T` from the entries of `map` that `T` names, removing them from `map`.
pub(crate) fn take_struct<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
) -> Result<T, serde_json::Error> {
    let taken = take_fields(map, struct_fields::<T>());
    serde_json::from_value(Value::Object(taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct S {
        a_b: u8,
        #[serde(rename = "type")]
        kind: String,
    }

    #[test]
    fn introspects_renamed_fields() {
        assert_eq!(struct_fields::<S>(), &["aB", "type"]);
    }

    #[test]
    fn truncates_to_millis() {
        let t = parse("2024-03-13T16:27:40.614999Z").unwrap();
        assert_eq!(format(&truncate_millis(t)), "2024-03-13T16:27:40.614Z");
    }
}
