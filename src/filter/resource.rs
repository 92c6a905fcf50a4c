//! [`Resource`]: how the evaluator reads attributes from the things it filters.
//!
//! A filter names attributes by [`AttrPath`]. A resource type turns a path into its own
//! [`Resource::Key`] **once** ([`Resource::resolve`], called when a filter is compiled) and then
//! answers per-resource lookups by key ([`Resource::attr`]) with a borrowed [`Attr`] — no
//! allocation, no string matching for typed structs. JSON resources
//! (`impl Resource for serde_json::Value`) keep the path as their key and look names up
//! case-insensitively.

use std::sync::atomic::{AtomicU32, Ordering};

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

    /// Optional fast path for the most common filter, `path eq "literal"` with an ASCII
    /// string: a key whose value is `Attr::Bool(true)` exactly when the attribute equals the
    /// literal under the rules of [`Filter::matches`](super::Filter::matches) (ignoring case), and
    /// `Attr::Bool(false)` otherwise — typically an enum discriminant compare, the literal having
    /// been mapped to the variant once. `None` (the default) uses the generic comparison.
    /// Only [`Filter::compile`](super::Filter::compile) uses it, and not for attributes a schema
    /// marks `caseExact`.
    fn resolve_eq(path: &AttrPath, literal: &str) -> Option<Self::Key> {
        let _ = (path, literal);
        None
    }

    /// Evaluates a key made by [`resolve_eq`](Resource::resolve_eq). The default reads it with
    /// [`attr`](Resource::attr); override it to answer without building an [`Attr`].
    #[inline]
    fn test(&self, key: &Self::Key) -> bool {
        matches!(self.attr(key), Attr::Bool(true))
    }

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
    /// A UUID; compares as its lowercase hyphenated text (`e112c96d-d165-…`), so as a string
    /// ignoring case.
    Uuid(uuid::Uuid),
    /// A complex value of a typed resource (`lock`, `user`): present, never equal to a
    /// literal other than being non-null.
    Object,
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
#[derive(Debug, Clone, Copy)]
pub struct JsonPath<'a> {
    path: &'a AttrPath,
    hints: &'a [AtomicU32],
}

impl PartialEq for JsonPath<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl<'a> JsonPath<'a> {
    /// Borrows an [`AttrPath`].
    pub fn new(path: &'a AttrPath) -> Self {
        Self { path, hints: &[] }
    }

    /// Borrows a [`JsonKey`], whose position hints speed up the lookups.
    pub fn with_hints(key: &'a JsonKey) -> Self {
        Self {
            path: &key.path,
            hints: &key.hints,
        }
    }

    /// The name, when the path is a single attribute name without URN.
    #[inline]
    pub(crate) fn single(&self) -> Option<&'a str> {
        match (&self.path.urn, self.path.segments.as_slice()) {
            (None, [name]) => Some(name),
            _ => None,
        }
    }

    /// The first value found at this path (no fan-out over arrays), if any.
    pub fn lookup_one(&self, map: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut map = map;
        let mut names = self
            .path
            .urn
            .as_deref()
            .into_iter()
            .chain(self.path.segments.iter().map(String::as_str));
        let mut current = get_ci(map, names.next()?, None)?;
        for name in names {
            map = current.as_object()?;
            current = get_ci(map, name, None)?;
        }
        Some(current)
    }

    /// Calls `f` with every value at this path, fanning out over arrays met on the way (one level:
    /// `emails.value` visits the `value` of each element of `emails`) and over the elements of a
    /// final array. JSON nulls are skipped. Stops early and returns `true` when `f` does.
    pub(crate) fn visit(
        &self,
        map: &'a Map<String, Value>,
        f: &mut impl FnMut(Attr<'a>) -> bool,
    ) -> bool {
        let hints = self.hints;
        match &self.path.urn {
            Some(urn) => match get_ci(map, urn, hints.first()) {
                Some(v) => walk(
                    v,
                    &self.path.segments,
                    hints.get(1..).unwrap_or_default(),
                    f,
                ),
                None => false,
            },
            None => match self.path.segments.split_first() {
                Some((first, rest)) => match get_ci(map, first, hints.first()) {
                    Some(v) => walk(v, rest, hints.get(1..).unwrap_or_default(), f),
                    None => false,
                },
                None => false,
            },
        }
    }

    /// The hint for the first name.
    #[inline]
    pub(crate) fn first_hint(&self) -> Option<&'a AtomicU32> {
        self.hints.first()
    }
}

/// A resolved attribute path for JSON resources (the [`Resource::Key`] of
/// `serde_json::Value`): the path, and for each of its names the position where it was last
/// found. Resources of one collection usually list their properties in the same order, so the
/// next lookup checks that position first and scans only when the name is not there.
///
/// ```
/// use mfa_devices::filter::{JsonKey, Resource, ast::AttrPath};
/// let key = JsonKey::new(&AttrPath::new(["status"]));
/// let a = serde_json::json!({"type": "SMS", "status": "ACTIVE"});
/// assert_eq!(a.attr(&key).as_str(), Some("ACTIVE"));
/// assert_eq!(key.path(), &AttrPath::new(["status"]));
/// ```
#[derive(Debug)]
pub struct JsonKey {
    path: AttrPath,
    hints: Box<[AtomicU32]>,
}

impl JsonKey {
    /// A key for `path`, with no position known yet.
    pub fn new(path: &AttrPath) -> Self {
        let names = path.segments.len() + usize::from(path.urn.is_some());
        Self {
            path: path.clone(),
            hints: (0..names).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// The path.
    pub fn path(&self) -> &AttrPath {
        &self.path
    }
}

impl Clone for JsonKey {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            hints: self
                .hints
                .iter()
                .map(|h| AtomicU32::new(h.load(Ordering::Relaxed)))
                .collect(),
        }
    }
}

/// The property named `name`: the one named exactly if any, else the first (in object order)
/// whose name equals it ignoring ASCII case. `hint` remembers where the exact name was found and
/// is checked first.
#[inline]
pub(crate) fn get_ci<'a>(
    map: &'a Map<String, Value>,
    name: &str,
    hint: Option<&AtomicU32>,
) -> Option<&'a Value> {
    if let Some(h) = hint {
        let at = h.load(Ordering::Relaxed) as usize;
        if let Some((k, v)) = map.iter().nth(at) {
            if k == name {
                return Some(v);
            }
        }
    }
    let mut first_ci = None;
    for (at, (k, v)) in map.iter().enumerate() {
        if k.len() == name.len() {
            if k == name {
                if let (Some(h), Ok(at)) = (hint, u32::try_from(at)) {
                    h.store(at, Ordering::Relaxed);
                }
                return Some(v);
            }
            if first_ci.is_none() && k.eq_ignore_ascii_case(name) {
                first_ci = Some(v);
            }
        }
    }
    first_ci
}

/// Visits the values below `v` at `rest` (see [`JsonPath::visit`]). Recursion depth is the number
/// of path segments.
fn walk<'a>(
    v: &'a Value,
    rest: &[String],
    hints: &[AtomicU32],
    f: &mut impl FnMut(Attr<'a>) -> bool,
) -> bool {
    let (hint, tail_hints) = (hints.first(), hints.get(1..).unwrap_or_default());
    match rest.split_first() {
        None => visit_leaf(v, f),
        Some((name, tail)) => match v {
            Value::Object(m) => match get_ci(m, name, hint) {
                Some(child) => walk(child, tail, tail_hints, f),
                None => false,
            },
            Value::Array(items) => items.iter().any(|item| match item {
                Value::Object(m) => match get_ci(m, name, hint) {
                    Some(child) => walk(child, tail, tail_hints, f),
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
pub(crate) fn visit_leaf<'a>(v: &'a Value, f: &mut impl FnMut(Attr<'a>) -> bool) -> bool {
    match v {
        Value::Null => false,
        Value::Array(items) => items
            .iter()
            .any(|item| !item.is_null() && f(Attr::Json(item))),
        other => f(Attr::Json(other)),
    }
}

/// JSON resources: attribute names (and schema URNs) are matched ignoring ASCII case (a property
/// named exactly wins, else the first matching one in object order); an extension URN names the object that holds the
/// extension's attributes. A value that is not a JSON object has no attributes.
///
/// ```
/// use mfa_devices::filter::Filter;
/// let device = serde_json::json!({"type": "SMS", "status": "ACTIVE"});
/// assert!(Filter::parse(r#"TYPE eq "sms""#).unwrap().matches(&device));
/// ```
impl Resource for Value {
    type Key = JsonKey;

    fn resolve(path: &AttrPath) -> JsonKey {
        JsonKey::new(path)
    }

    #[inline]
    fn attr<'a>(&'a self, key: &'a JsonKey) -> Attr<'a> {
        match self {
            Value::Object(m) => Attr::Path(m, JsonPath::with_hints(key)),
            _ => Attr::Absent,
        }
    }

    fn with_attr<T>(&self, path: &AttrPath, f: impl FnOnce(Attr<'_>) -> T) -> T {
        match self {
            Value::Object(m) => f(Attr::Path(m, JsonPath::new(path))),
            _ => f(Attr::Absent),
        }
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

/// The attributes of a typed [`Device`](crate::device::Device), resolved once by
/// [`Filter::compile`](super::Filter::compile).
///
/// ```
/// use mfa_devices::device::{Device, DeviceType};
/// use mfa_devices::filter::{DeviceKey, Resource, ast::AttrPath};
/// assert_eq!(Device::resolve(&AttrPath::new(["LOCK", "status"])), DeviceKey::LockStatus);
/// assert_eq!(
///     Device::resolve_eq(&AttrPath::new(["type"]), "sms"),
///     Some(DeviceKey::TypeIs(DeviceType::Sms))
/// );
/// assert!(matches!(Device::resolve(&AttrPath::new(["custom"])), DeviceKey::Extra(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceKey {
    /// `id`.
    Id,
    /// `environment`.
    Environment,
    /// `environment.id`.
    EnvironmentId,
    /// `user`.
    User,
    /// `user.id`.
    UserId,
    /// `type`.
    Type,
    /// `status`.
    Status,
    /// `type eq "<known type>"` (resolved by [`Resource::resolve_eq`]): `Attr::Bool`.
    TypeIs(crate::device::DeviceType),
    /// `status eq "<known status>"` (resolved by [`Resource::resolve_eq`]): `Attr::Bool`.
    StatusIs(crate::device::DeviceStatus),
    /// `nickname`.
    Nickname,
    /// `createdAt`.
    CreatedAt,
    /// `updatedAt`.
    UpdatedAt,
    /// `lock`.
    Lock,
    /// `lock.status`.
    LockStatus,
    /// `lock.expiresAt`.
    LockExpiresAt,
    /// `lock.reason`.
    LockReason,
    /// `block`.
    Block,
    /// `block.status`.
    BlockStatus,
    /// `block.blockedAt`.
    BlockedAt,
    /// `email` (EMAIL devices).
    Email,
    /// `phone` (SMS, VOICE, WHATSAPP devices).
    Phone,
    /// `extension` (VOICE devices).
    Extension,
    /// Any other path: looked up in [`Device::extra`](crate::device::Device::extra).
    Extra(Box<AttrPath>),
}

/// Typed devices: every common property, `lock`/`block` and their sub-attributes, `email`,
/// `phone`, `extension`; any other path is looked up in the device's unknown properties
/// ([`Device::extra`](crate::device::Device::extra)) like JSON. Names ignore ASCII case.
///
/// **Decision**: `type`, `status`, `lock.status`, `block.status` compare ignoring case like every
/// SCIM string without `caseExact` (`type eq "sms"` matches an SMS device; PingOne documents
/// only the uppercase values); ids compare as UUID text, ignoring case; `createdAt`/`updatedAt`
/// compare as instants with RFC 3339 strings. Type-specific properties other than
/// `email`/`phone`/`extension` (MOBILE, FIDO2, BROWSER details) are not filterable on the
/// typed model (they are on the JSON form).
///
/// ```
/// use mfa_devices::device::Device;
/// use mfa_devices::filter::Filter;
/// let device: Device = serde_json::from_value(serde_json::json!({
///     "id": "e112c96d-d165-45c5-8061-87ff268fd520",
///     "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
///     "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
///     "type": "SMS", "status": "ACTIVE", "phone": "+972.547339044",
///     "lock": {"status": "UNLOCKED"}, "block": {"status": "UNBLOCKED"},
///     "createdAt": "2024-03-13T16:27:40.614Z", "updatedAt": "2024-03-13T16:27:40.614Z"
/// })).unwrap();
/// let f = Filter::parse(r#"type eq "SMS" and lock.status eq "UNLOCKED" and createdAt lt "2025-01-01T00:00:00Z""#).unwrap();
/// assert!(f.compile::<Device>().matches(&device));
/// assert!(Filter::parse(r#"id eq "E112C96D-D165-45C5-8061-87FF268FD520""#).unwrap().matches(&device));
/// ```
impl Resource for crate::device::Device {
    type Key = DeviceKey;

    fn resolve(path: &AttrPath) -> DeviceKey {
        let is = |s: &String, name: &str| s.eq_ignore_ascii_case(name);
        if path.urn.is_some() {
            return DeviceKey::Extra(Box::new(path.clone()));
        }
        match path.segments.as_slice() {
            [a] if is(a, "id") => DeviceKey::Id,
            [a] if is(a, "environment") => DeviceKey::Environment,
            [a, b] if is(a, "environment") && is(b, "id") => DeviceKey::EnvironmentId,
            [a] if is(a, "user") => DeviceKey::User,
            [a, b] if is(a, "user") && is(b, "id") => DeviceKey::UserId,
            [a] if is(a, "type") => DeviceKey::Type,
            [a] if is(a, "status") => DeviceKey::Status,
            [a] if is(a, "nickname") => DeviceKey::Nickname,
            [a] if is(a, "createdAt") => DeviceKey::CreatedAt,
            [a] if is(a, "updatedAt") => DeviceKey::UpdatedAt,
            [a] if is(a, "lock") => DeviceKey::Lock,
            [a, b] if is(a, "lock") && is(b, "status") => DeviceKey::LockStatus,
            [a, b] if is(a, "lock") && is(b, "expiresAt") => DeviceKey::LockExpiresAt,
            [a, b] if is(a, "lock") && is(b, "reason") => DeviceKey::LockReason,
            [a] if is(a, "block") => DeviceKey::Block,
            [a, b] if is(a, "block") && is(b, "status") => DeviceKey::BlockStatus,
            [a, b] if is(a, "block") && is(b, "blockedAt") => DeviceKey::BlockedAt,
            [a] if is(a, "email") => DeviceKey::Email,
            [a] if is(a, "phone") => DeviceKey::Phone,
            [a] if is(a, "extension") => DeviceKey::Extension,
            _ => DeviceKey::Extra(Box::new(path.clone())),
        }
    }

    fn resolve_eq(path: &AttrPath, literal: &str) -> Option<DeviceKey> {
        use crate::device::{DeviceStatus, DeviceType};
        let upper = literal.to_ascii_uppercase();
        match Self::resolve(path) {
            DeviceKey::Type => match DeviceType::from(upper.as_str()) {
                DeviceType::Other(_) => None,
                known => Some(DeviceKey::TypeIs(known)),
            },
            DeviceKey::Status => match DeviceStatus::from(upper.as_str()) {
                DeviceStatus::Other(_) => None,
                known => Some(DeviceKey::StatusIs(known)),
            },
            _ => None,
        }
    }

    // Inlined into the compiled filter's loop: only the discriminant compares are here, the
    // rare paths (an `Other` value, a key that is not a typed test) are out of line.
    #[inline(always)]
    fn test(&self, key: &DeviceKey) -> bool {
        use crate::device::{DeviceStatus, DeviceType};
        match key {
            // `t` and `s` are known values (never `Other`), so the discriminants decide —
            // except that an unknown value spelled like a known one in another case
            // (`Other("sms")`) still equals it ignoring case.
            DeviceKey::TypeIs(t) => {
                std::mem::discriminant(&self.device_type) == std::mem::discriminant(t)
                    || (matches!(self.device_type, DeviceType::Other(_))
                        && eq_other(self.device_type.as_str(), t.as_str()))
            }
            DeviceKey::StatusIs(s) => {
                std::mem::discriminant(&self.status) == std::mem::discriminant(s)
                    || (matches!(self.status, DeviceStatus::Other(_))
                        && eq_other(self.status.as_str(), s.as_str()))
            }
            other => test_attr(self, other),
        }
    }

    #[inline]
    fn attr<'a>(&'a self, key: &'a DeviceKey) -> Attr<'a> {
        use crate::device::DeviceDetails;
        let opt = |s: Option<&'a str>| s.map_or(Attr::Absent, Attr::Str);
        let time = |t: Option<DateTime<Utc>>| t.map_or(Attr::Absent, Attr::DateTime);
        match key {
            DeviceKey::Id => Attr::Uuid(*self.id.as_ref()),
            DeviceKey::Environment | DeviceKey::User => Attr::Object,
            DeviceKey::EnvironmentId => Attr::Uuid(*self.environment.id.as_ref()),
            DeviceKey::UserId => Attr::Uuid(*self.user.id.as_ref()),
            DeviceKey::Type => Attr::Str(self.device_type.as_str()),
            DeviceKey::Status => Attr::Str(self.status.as_str()),
            DeviceKey::TypeIs(_) | DeviceKey::StatusIs(_) => Attr::Bool(self.test(key)),
            DeviceKey::Nickname => opt(self.nickname.as_deref()),
            DeviceKey::CreatedAt => Attr::DateTime(self.created_at),
            DeviceKey::UpdatedAt => Attr::DateTime(self.updated_at),
            DeviceKey::Lock => self.lock.as_ref().map_or(Attr::Absent, |_| Attr::Object),
            DeviceKey::LockStatus => opt(self.lock.as_ref().map(|l| l.status.as_str())),
            DeviceKey::LockExpiresAt => time(self.lock.as_ref().and_then(|l| l.expires_at)),
            DeviceKey::LockReason => opt(self
                .lock
                .as_ref()
                .and_then(|l| l.reason.as_ref())
                .map(|r| r.as_str())),
            DeviceKey::Block => self.block.as_ref().map_or(Attr::Absent, |_| Attr::Object),
            DeviceKey::BlockStatus => opt(self.block.as_ref().map(|b| b.status.as_str())),
            DeviceKey::BlockedAt => time(self.block.as_ref().and_then(|b| b.blocked_at)),
            DeviceKey::Email => match &self.details {
                DeviceDetails::Email(d) => opt(d.email.as_deref()),
                _ => Attr::Absent,
            },
            DeviceKey::Phone => match &self.details {
                DeviceDetails::Phone(d) => opt(d.phone.as_deref()),
                _ => Attr::Absent,
            },
            DeviceKey::Extension => match &self.details {
                DeviceDetails::Phone(d) => opt(d.extension.as_deref()),
                _ => Attr::Absent,
            },
            DeviceKey::Extra(path) => Attr::Path(&self.extra, JsonPath::new(path)),
        }
    }
}

/// An unknown (`Other`) device value against a known one, ignoring case: the rare path of
/// [`Device::test`](Resource::test).
#[cold]
#[inline(never)]
fn eq_other(value: &str, known: &str) -> bool {
    value.eq_ignore_ascii_case(known)
}

/// A key that is not a typed test, read through [`Resource::attr`] (the trait's default).
#[cold]
#[inline(never)]
fn test_attr(device: &crate::device::Device, key: &DeviceKey) -> bool {
    matches!(device.attr(key), Attr::Bool(true))
}
