//! [`Resource`]: how the evaluator reads attributes from the things it filters.
//!
//! A filter names attributes by [`AttrPath`]. A resource type turns a path into its own
//! [`Resource::Key`] **once** ([`Resource::resolve`], called when a filter is compiled) and then
//! answers per-resource lookups by key ([`Resource::attr`]) with a borrowed [`Attr`] — no
//! allocation, no string matching for typed structs. JSON resources
//! (`impl Resource for serde_json::Value`) keep the path as their key and look names up
//! case-insensitively.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::ast::AttrPath;

/// A resource that filters can be evaluated against.
///
/// Implement it for a typed struct by mapping the attribute paths you support to a small
/// `Copy` key (an enum) in [`resolve`](Resource::resolve), and answering [`attr`](Resource::attr)
/// with borrowed values. Unknown paths resolve to a key that answers [`Attr::Absent`] (or, for a
/// struct that keeps unknown JSON properties, to a key that answers [`Attr::Path`] into them).
///
/// ```
/// use mfa_devices::filter::{Attr, Filter, Resource, ast::AttrPath};
///
/// struct Phone { number: String, verified: bool }
///
/// #[derive(Clone, Copy)]
/// enum PhoneKey { Number, Verified, Unknown }
///
/// impl Resource for Phone {
///     type Key = PhoneKey;
///     fn resolve(path: &AttrPath) -> PhoneKey {
///         match (path.urn.as_deref(), path.segments.as_slice()) {
///             (None, [name]) if name.eq_ignore_ascii_case("number") => PhoneKey::Number,
///             (None, [name]) if name.eq_ignore_ascii_case("verified") => PhoneKey::Verified,
///             _ => PhoneKey::Unknown,
///         }
///     }
///     fn attr<'a>(&'a self, key: &'a PhoneKey) -> Attr<'a> {
///         match key {
///             PhoneKey::Number => Attr::CaseExactStr(&self.number),
///             PhoneKey::Verified => Attr::Bool(self.verified),
///             PhoneKey::Unknown => Attr::Absent,
///         }
///     }
/// }
///
/// let p = Phone { number: "+15125550100".into(), verified: true };
/// let f: Filter = r#"number sw "+1512" and verified eq true"#.parse().unwrap();
/// assert!(f.matches(&p));
/// assert!(f.compile::<Phone>().matches(&p));
/// ```
pub trait Resource {
    /// A resolved attribute path: what [`attr`](Resource::attr) needs to find the value fast.
    type Key;

    /// Resolves an attribute path into a key. Called once per path when a filter is compiled
    /// (and per evaluation by the interpreted [`Filter::matches`](super::Filter::matches), unless
    /// [`with_attr`](Resource::with_attr) is overridden). Total: a path the type does not know
    /// gives a key that answers [`Attr::Absent`].
    fn resolve(path: &AttrPath) -> Self::Key;

    /// The value of the attribute behind `key`.
    fn attr<'a>(&'a self, key: &'a Self::Key) -> Attr<'a>;

    /// Looks `path` up and hands its value to `f`. The default resolves the path first; JSON
    /// overrides it to use the path directly (no key to build).
    fn with_attr<T>(&self, path: &AttrPath, f: impl FnOnce(Attr<'_>) -> T) -> T {
        let key = Self::resolve(path);
        f(self.attr(&key))
    }
}

/// The value of one attribute of a [`Resource`], borrowed from it.
///
/// Scalars compare by the rules in [`Filter::matches`](super::Filter::matches); JSON values
/// (arrays are multi-valued attributes, objects complex ones) go through the same rules element
/// by element.
///
/// ```
/// use mfa_devices::filter::{Attr, Resource, ast::AttrPath};
/// let v = serde_json::json!({"status": "ACTIVE"});
/// let status = v.with_attr(&AttrPath::new(["STATUS"]), |a| a.as_str().map(str::to_owned));
/// assert_eq!(status.as_deref(), Some("ACTIVE"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Attr<'a> {
    /// No value (absent attribute or JSON `null`).
    Absent,
    /// A string compared ignoring case (the SCIM default).
    Str(&'a str),
    /// A string compared exactly (`caseExact` in SCIM schema terms).
    CaseExactStr(&'a str),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// An instant; compares chronologically with RFC 3339 strings and as its wire text
    /// (`2024-03-13T16:27:40.614Z`) with other strings.
    DateTime(DateTime<Utc>),
    /// Any JSON value: arrays are multi-valued attributes, objects complex attributes.
    Json(&'a Value),
    /// The attribute at `path` inside a JSON object (names matched ignoring ASCII case,
    /// multi-valued attributes fanned out). Lets a typed struct hand its unknown properties
    /// (`extra`) to the evaluator.
    Path(&'a Map<String, Value>, JsonPath<'a>),
}

impl<'a> Attr<'a> {
    /// The string, if this is a (case-exact or not) string or a JSON string.
    ///
    /// ```
    /// use mfa_devices::filter::Attr;
    /// assert_eq!(Attr::Str("x").as_str(), Some("x"));
    /// assert_eq!(Attr::Int(1).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Attr::Str(s) | Attr::CaseExactStr(s) => Some(s),
            Attr::Json(Value::String(s)) => Some(s.as_str()),
            Attr::Path(map, path) => match path.lookup_one(map) {
                Some(Value::String(s)) => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A borrowed attribute path for lookups inside JSON objects: an optional schema URN (the key of
/// an extension object) and the attribute/sub-attribute names.
///
/// ```
/// use mfa_devices::filter::{JsonPath, ast::AttrPath};
/// let p = AttrPath::new(["name", "givenName"]);
/// let v = serde_json::json!({"Name": {"GIVENNAME": "Ada"}});
/// let found = JsonPath::new(&p).lookup_one(v.as_object().unwrap());
/// assert_eq!(found, Some(&serde_json::json!("Ada")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonPath<'a> {
    urn: Option<&'a str>,
    segments: &'a [String],
}

impl<'a> JsonPath<'a> {
    /// Borrows an [`AttrPath`].
    pub fn new(path: &'a AttrPath) -> Self {
        Self {
            urn: path.urn.as_deref(),
            segments: &path.segments,
        }
    }

    /// The first value found at this path (no fan-out over arrays), if any.
    pub fn lookup_one(&self, map: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut map = map;
        let mut names = self
            .urn
            .into_iter()
            .chain(self.segments.iter().map(String::as_str));
        let mut current = get_ci(map, names.next()?)?;
        for name in names {
            map = current.as_object()?;
            current = get_ci(map, name)?;
        }
        Some(current)
    }

    /// Calls `f` with every value at this path, fanning out over arrays met on the way (one level:
    /// `emails.value` visits the `value` of each element of `emails`) and over the elements of a
    /// final array. JSON nulls are skipped. Stops early and returns `true` when `f` does.
    pub(crate) fn visit(
        &self,
        map: &'a Map<String, Value>,
        f: &mut dyn FnMut(Attr<'a>) -> bool,
    ) -> bool {
        match self.urn {
            Some(urn) => match get_ci(map, urn) {
                Some(v) => walk(v, self.segments, f),
                None => false,
            },
            None => match self.segments.split_first() {
                Some((first, rest)) => match get_ci(map, first) {
                    Some(v) => walk(v, rest, f),
                    None => false,
                },
                None => false,
            },
        }
    }
}

/// The first entry whose name equals `name` ignoring ASCII case (in object order).
#[inline]
pub(crate) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.len() == name.len() && k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Visits the values below `v` at `rest` (see [`JsonPath::visit`]). Recursion depth is the number
/// of path segments.
fn walk<'a>(v: &'a Value, rest: &[String], f: &mut dyn FnMut(Attr<'a>) -> bool) -> bool {
    match rest.split_first() {
        None => visit_leaf(v, f),
        Some((name, tail)) => match v {
            Value::Object(m) => match get_ci(m, name) {
                Some(child) => walk(child, tail, f),
                None => false,
            },
            Value::Array(items) => items.iter().any(|item| match item {
                Value::Object(m) => match get_ci(m, name) {
                    Some(child) => walk(child, tail, f),
                    None => false,
                },
                _ => false,
            }),
            _ => false,
        },
    }
}

/// Visits a final value: an array's elements (one level), or the value itself; nulls skipped.
#[inline]
pub(crate) fn visit_leaf<'a>(v: &'a Value, f: &mut dyn FnMut(Attr<'a>) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::Array(items) => items
            .iter()
            .any(|item| !item.is_null() && f(Attr::Json(item))),
        other => f(Attr::Json(other)),
    }
}

/// JSON resources: attribute names (and schema URNs) are matched ignoring ASCII case, the first
/// matching property in object order wins; an extension URN names the object that holds the
/// extension's attributes. A value that is not a JSON object has no attributes.
///
/// ```
/// use mfa_devices::filter::Filter;
/// let device = serde_json::json!({"type": "SMS", "status": "ACTIVE"});
/// assert!(Filter::parse(r#"TYPE eq "sms""#).unwrap().matches(&device));
/// ```
impl Resource for Value {
    type Key = AttrPath;

    fn resolve(path: &AttrPath) -> AttrPath {
        path.clone()
    }

    fn attr<'a>(&'a self, key: &'a AttrPath) -> Attr<'a> {
        match self {
            Value::Object(m) => Attr::Path(m, JsonPath::new(key)),
            _ => Attr::Absent,
        }
    }

    fn with_attr<T>(&self, path: &AttrPath, f: impl FnOnce(Attr<'_>) -> T) -> T {
        f(self.attr(path))
    }
}

/// One element of a multi-valued attribute, as the resource a value path's inner filter is
/// evaluated against (`emails[type eq "work"]`). Over plain values, `value` is the element.
#[derive(Clone, Copy)]
pub(crate) struct Element<'a>(pub(crate) Attr<'a>);

impl Resource for Element<'_> {
    type Key = AttrPath;

    fn resolve(path: &AttrPath) -> AttrPath {
        path.clone()
    }

    fn attr<'a>(&'a self, key: &'a AttrPath) -> Attr<'a> {
        match self.0 {
            Attr::Json(Value::Object(m)) => Attr::Path(m, JsonPath::new(key)),
            scalar if is_value_path(key) => scalar,
            _ => Attr::Absent,
        }
    }

    fn with_attr<T>(&self, path: &AttrPath, f: impl FnOnce(Attr<'_>) -> T) -> T {
        f(self.attr(path))
    }
}

/// `value` (no URN, one segment): inside brackets over plain values, the element itself.
fn is_value_path(p: &AttrPath) -> bool {
    p.urn.is_none() && matches!(p.segments.as_slice(), [s] if s.eq_ignore_ascii_case("value"))
}
