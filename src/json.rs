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

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Number, Value};

/// A JSON value read with duplicate keys refused at every depth.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Strict(pub(crate) Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (path, duplicate) = (RefCell::new(Vec::new()), RefCell::new(None));
        Located {
            path: &path,
            duplicate: &duplicate,
        }
        .deserialize(d)
        .map(Strict)
    }
}

/// Reads a whole JSON document with duplicate keys refused at every depth. On a duplicate the
/// error comes with the repeated property's path (`selectedDevice.oneTime.phone`,
/// `items[1].k`; keys [`Quoted`]), for readers that name
/// the property in their error.
pub(crate) fn read_located(bytes: &[u8]) -> Result<Value, (serde_json::Error, Option<String>)> {
    let (path, duplicate) = (RefCell::new(Vec::new()), RefCell::new(None));
    let mut de = serde_json::Deserializer::from_slice(bytes);
    Located {
        path: &path,
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v))
    .map_err(|e| (e, duplicate.into_inner()))
}

/// `parent.key` (or `key` at the top), the key [`Quoted`].
pub(crate) fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        Quoted(key).to_string()
    } else {
        format!("{parent}.{}", Quoted(key))
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

/// The strict visitor: a JSON value read with its path tracked (pushed and popped; the path
/// text is built only for a duplicate, which ends the read).
struct Located<'a> {
    path: &'a RefCell<Vec<Segment>>,
    duplicate: &'a RefCell<Option<String>>,
}

impl Located<'_> {
    fn child(&self) -> Self {
        Located {
            path: self.path,
            duplicate: self.duplicate,
        }
    }

    fn target(&self, key: &str) -> String {
        let mut out = String::new();
        for s in self.path.borrow().iter() {
            match s {
                Segment::Key(k) => out = join_path(&out, k),
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        join_path(&out, key)
    }
}

impl<'de> DeserializeSeed<'de> for Located<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Located<'_> {
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
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.borrow_mut().push(Segment::Index(out.len()));
            let next = seq.next_element_seed(self.child())?;
            self.path.borrow_mut().pop();
            match next {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(self.target(&key));
                return Err(de::Error::custom(DuplicateKey(&key)));
            }
            self.path.borrow_mut().push(Segment::Key(key.clone()));
            let v = map.next_value_seed(self.child())?;
            self.path.borrow_mut().pop();
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// The message for a repeated key, worded as serde's own derive words it.
struct DuplicateKey<'a>(&'a str);

impl fmt::Display for DuplicateKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "duplicate field `{}`", Quoted(self.0))
    }
}

/// The most characters of a request's own text an error quotes (`error::MAX_ECHO_CHARS`).
pub(crate) const MAX_QUOTED_CHARS: usize = 64;

/// Untrusted text as an error quotes it: at most [`MAX_QUOTED_CHARS`] characters, a longer
/// text cut and followed by `…(N more bytes)`. The one implementation behind `error::echo`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_QUOTED_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => {
                let (head, tail) = self.0.split_at(cut);
                write!(f, "{head}…({} more bytes)", tail.len())
            }
        }
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
