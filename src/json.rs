//! Strict JSON reading for request bodies and stored devices (crate-private): one rule for
//! duplicate keys and one rule for what a JSON error may say.
//!
//! - **Duplicate keys are refused**, at any depth, naming the key (`duplicate field `otp``) —
//!   never "last wins". RFC 8259 leaves duplicate names to the implementation; a reader that
//!   keeps the last one lets a proxy and this crate disagree on what a request says.
//! - **Errors never echo a submitted value**: serde's data errors quote the offending value
//!   (`invalid type: integer `483920`, expected a string`), which for a passcode or a secret
//!   would hand it back to whoever reads logs or responses. [`describe`] keeps the kind of
//!   value, what was expected and the position, and drops the value itself.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value read with duplicate keys refused at every depth.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Strict(pub(crate) Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(DuplicateKey(&key)));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The message for a repeated key, worded as serde's own derive words it.
struct DuplicateKey<'a>(&'a str);

impl fmt::Display for DuplicateKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "duplicate field `{}`", Truncated(self.0))
    }
}

/// A key as named in an error: at most 64 characters.
struct Truncated<'a>(&'a str);

impl fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        let head: String = chars.by_ref().take(64).collect();
        f.write_str(&head)?;
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Reads `T` from `bytes` with duplicate keys refused at every depth (see the module docs).
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let Strict(value) = serde_json::from_slice(bytes)?;
    serde_json::from_value(value)
}

/// A serde_json error as a client may read it: syntax errors as they are (they name a position,
/// not a value), data errors without the submitted value they quote.
///
/// `invalid type: integer `483920`, expected a string` → `invalid type: integer, expected a
/// string`; a key named in `unknown field` / `missing field` / `duplicate field` is kept (keys
/// are property names, not values).
pub(crate) fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if !e.is_data() {
        return text;
    }
    let names_a_key = ["unknown field", "missing field", "duplicate field"]
        .iter()
        .any(|p| text.starts_with(p));
    let (head, tail) = match text.find(", expected") {
        Some(at) => text.split_at(at),
        None => match text.find(" at line ") {
            Some(at) => text.split_at(at),
            None => (text.as_str(), ""),
        },
    };
    if names_a_key {
        return format!("{head}{tail}");
    }
    let cut = head.find(['`', '"', '\'']).unwrap_or(head.len());
    let head = head.get(..cut).unwrap_or(head).trim_end();
    // serde's "expected" part names types and allowed values (crate text), never the value.
    format!("{head}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_every_depth() {
        let e = from_slice::<Value>(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.to_string().starts_with("duplicate field `a`"), "{e}");
        let e = from_slice::<Value>(br#"{"o":[{"id":1,"x":{"k":1,"k":1}}]}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `k`"), "{e}");
        let v: Value = from_slice(br#"{"a":[1,2.5,"s",null,true,{}],"b":{"a":1}}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a":[1,2.5,"s",null,true,{}],"b":{"a":1}})
        );
    }

    #[test]
    fn described_errors_drop_the_value() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Otp {
            otp: String,
        }
        for body in [
            r#"{"otp": 483920}"#,
            r#"{"otp": 483920.5}"#,
            r#"{"otp": -483920}"#,
            r#"{"otp": ["483920"]}"#,
        ] {
            let e = serde_json::from_str::<Otp>(body).unwrap_err();
            let d = describe(&e);
            assert!(!d.contains("483920"), "{d}");
            assert!(d.contains("expected"), "{d}");
        }
        let e = serde_json::from_str::<Otp>(r#"{}"#).unwrap_err();
        assert!(describe(&e).contains("missing field `otp`"));
    }
}
