//! Splitting a JSON object by a struct's fields: how a device body is read as its common
//! properties, its type's details and the properties kept verbatim.

use serde::Deserializer;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{Map, Value};

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
    use serde::Deserialize;

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
}
