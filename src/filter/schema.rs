//! Collection schemas: which attributes and operators a collection's `filter` parameter accepts,
//! and which string attributes compare case-exactly.
//!
//! The full SCIM grammar stays available; a [`Schema`] restricts it the way a server's collection
//! does. [`DEVICES`] is PingOne's devices collection: `status`, `type` and `mobilePayload`, each
//! with `eq` only, combined with `and` / `or`.
//!
//! ```
//! use mfa_devices::filter::{Filter, schema::DEVICES};
//! assert!(Filter::parse(r#"status eq "ACTIVE" or type eq "SMS""#).unwrap().validate(&DEVICES).is_ok());
//! let e = Filter::parse(r#"nickname co "x""#).unwrap().validate(&DEVICES).unwrap_err();
//! assert_eq!((e.http_status(), e.code()), (400, "INVALID_DATA"));
//! assert_eq!(e.details[0].code.as_str(), "INVALID_FILTER");
//! ```

use serde_json::Value;

use super::ast::{AttrPath, CompValue, CompareOp, Expr};
use super::{Filter, FilterError};
use crate::error::{ApiError, DetailCode, ErrorDetail, inner};

/// The SCIM data type of an attribute (RFC 7643 §2.3).
///
/// ```
/// use mfa_devices::filter::schema::{AttrType, DEVICES};
/// assert!(DEVICES.attributes.iter().all(|a| a.kind == AttrType::String));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttrType {
    /// A string.
    String,
    /// `true` / `false`: only `eq`, `ne` and `pr` make sense.
    Boolean,
    /// A decimal number.
    Decimal,
    /// An integer.
    Integer,
    /// An RFC 3339 date-time (compared as an instant).
    DateTime,
    /// A URI reference.
    Reference,
    /// A complex attribute (has sub-attributes).
    Complex,
}

/// One attribute a collection can be filtered on.
///
/// ```
/// use mfa_devices::filter::schema::{AttrType, SchemaAttribute};
/// const NICKNAME: SchemaAttribute = SchemaAttribute::new("nickname", AttrType::String, &["eq", "co"]);
/// assert!(!NICKNAME.case_exact);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaAttribute {
    /// The attribute name (matched ignoring ASCII case).
    pub name: &'static str,
    /// Its type.
    pub kind: AttrType,
    /// Strings compare exactly (SCIM `caseExact`) instead of ignoring case.
    pub case_exact: bool,
    /// Multi-valued (value paths `name[…]` are allowed on complex multi-valued attributes).
    pub multi_valued: bool,
    /// The operators allowed on it: `eq`, `ne`, `co`, `sw`, `ew`, `gt`, `ge`, `lt`, `le`, `pr`.
    pub operators: &'static [&'static str],
    /// Its sub-attributes (complex attributes).
    pub sub_attributes: &'static [SchemaAttribute],
}

impl SchemaAttribute {
    /// A single-valued, case-insensitive attribute without sub-attributes.
    ///
    /// ```
    /// use mfa_devices::filter::schema::{AttrType, SchemaAttribute};
    /// let a = SchemaAttribute::new("logins", AttrType::Integer, &["eq", "gt"]);
    /// assert!(!a.multi_valued && a.sub_attributes.is_empty());
    /// ```
    pub const fn new(
        name: &'static str,
        kind: AttrType,
        operators: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            kind,
            case_exact: false,
            multi_valued: false,
            operators,
            sub_attributes: &[],
        }
    }
}

/// Every SCIM attribute operator.
///
/// ```
/// assert_eq!(mfa_devices::filter::schema::ALL_OPERATORS.len(), 10);
/// ```
pub const ALL_OPERATORS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"];

/// What a collection's filter may use.
///
/// ```
/// use mfa_devices::filter::schema::{AttrType, Schema, SchemaAttribute, ALL_OPERATORS};
/// use mfa_devices::filter::Filter;
/// static USERS: Schema = Schema {
///     name: "users",
///     attributes: &[SchemaAttribute::new("userName", AttrType::String, ALL_OPERATORS)],
///     logical_operators: &["and", "or", "not"],
/// };
/// assert!(Filter::parse(r#"not (userName sw "a")"#).unwrap().validate(&USERS).is_ok());
/// assert!(Filter::parse(r#"title pr"#).unwrap().validate(&USERS).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    /// The collection's name (for messages).
    pub name: &'static str,
    /// The attributes that may appear in a filter.
    pub attributes: &'static [SchemaAttribute],
    /// The logical operators allowed: any of `and`, `or`, `not`.
    pub logical_operators: &'static [&'static str],
}

/// PingOne's devices collection (`GET /environments/{envID}/users/{userID}/devices`):
/// `status`, `type` and `mobilePayload` with `eq`, combined with `and` / `or`.
///
/// **Decision**: values are not checked against the documented lists (`status` ACTIVE /
/// ACTIVATION_REQUIRED, `type` SMS, VOICE, …): a value outside them is valid and matches no
/// device, since newer device types (FIDO2, OATH_TOKEN, …) exist beyond the table; a value that
/// is not a string is refused. `innerError.supportedOperators` lists the comparison and the
/// logical operators (`["eq", "and", "or"]`).
///
/// ```
/// use mfa_devices::filter::{Filter, schema::DEVICES};
/// let e = Filter::parse(r#"status ne "ACTIVE""#).unwrap().validate(&DEVICES).unwrap_err();
/// let detail = &e.details[0];
/// assert_eq!(detail.target.as_deref(), Some("filter"));
/// let inner = detail.inner_error.as_ref().unwrap();
/// assert_eq!(inner["supportedAttributes"], serde_json::json!(["status", "type", "mobilePayload"]));
/// assert_eq!(inner["supportedOperators"], serde_json::json!(["eq", "and", "or"]));
/// ```
pub static DEVICES: Schema = Schema {
    name: "devices",
    attributes: &[
        SchemaAttribute::new("status", AttrType::String, &["eq"]),
        SchemaAttribute::new("type", AttrType::String, &["eq"]),
        SchemaAttribute::new("mobilePayload", AttrType::String, &["eq"]),
    ],
    logical_operators: &["and", "or"],
};

const MESSAGE: &str =
    "The request could not be completed. One or more validation errors were in the request.";

impl Schema {
    /// The attribute names, in schema order (`innerError.supportedAttributes`).
    ///
    /// ```
    /// use mfa_devices::filter::schema::DEVICES;
    /// assert_eq!(DEVICES.supported_attributes(), ["status", "type", "mobilePayload"]);
    /// ```
    pub fn supported_attributes(&self) -> Vec<&'static str> {
        self.attributes.iter().map(|a| a.name).collect()
    }

    /// The attribute operators used by any attribute, then the logical operators
    /// (`innerError.supportedOperators`).
    ///
    /// ```
    /// use mfa_devices::filter::schema::DEVICES;
    /// assert_eq!(DEVICES.supported_operators(), ["eq", "and", "or"]);
    /// ```
    pub fn supported_operators(&self) -> Vec<&'static str> {
        let mut ops: Vec<&'static str> = ALL_OPERATORS
            .iter()
            .copied()
            .filter(|op| used(self.attributes, op))
            .collect();
        ops.extend(self.logical_operators.iter().copied());
        ops
    }

    /// The schema attribute a path names (`name` or `name.sub`), if any.
    ///
    /// ```
    /// use mfa_devices::filter::{schema::DEVICES, ast::AttrPath};
    /// assert_eq!(DEVICES.attribute(&AttrPath::new(["STATUS"])).map(|a| a.name), Some("status"));
    /// ```
    pub fn attribute(&self, path: &AttrPath) -> Option<&'static SchemaAttribute> {
        lookup(self.attributes, path)
    }

    /// An `INVALID_DATA` error with one `INVALID_FILTER` detail (target `filter`) carrying this
    /// collection's `supportedAttributes` / `supportedOperators`.
    ///
    /// ```
    /// use mfa_devices::filter::schema::DEVICES;
    /// let e = DEVICES.invalid_filter("bad");
    /// assert_eq!(e.details[0].message, "bad");
    /// ```
    pub fn invalid_filter(&self, message: impl Into<String>) -> ApiError {
        let detail = ErrorDetail::new(DetailCode::InvalidFilter, "filter", message)
            .with_inner(
                inner::SUPPORTED_ATTRIBUTES,
                strings(self.supported_attributes()),
            )
            .with_inner(
                inner::SUPPORTED_OPERATORS,
                strings(self.supported_operators()),
            );
        ApiError::invalid_data(MESSAGE, vec![detail])
    }

    /// Parses `input` as a SCIM filter and validates it for this collection: what a server does
    /// with a `filter` query parameter. Parse errors and refusals are both `INVALID_FILTER`.
    ///
    /// ```
    /// use mfa_devices::filter::schema::DEVICES;
    /// assert!(DEVICES.parse(r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#).is_ok());
    /// let e = DEVICES.parse("status eq").unwrap_err();
    /// assert!(e.details[0].message.contains("at byte 9"));
    /// ```
    pub fn parse(&self, input: &str) -> Result<Filter, ApiError> {
        let filter =
            Filter::parse(input).map_err(|e: FilterError| self.invalid_filter(e.to_string()))?;
        filter.validate(self)?;
        Ok(filter)
    }

    /// Parses and validates `filter` (see [`parse`](Schema::parse)) and returns the items that
    /// match, in order. The filter is compiled once, without a payload verifier: a
    /// `mobilePayload` filter is refused with `INVALID_FILTER` (see
    /// [`Filter::compile_checked`](super::Filter::compile_checked)); a server verifies mobile
    /// payloads with [`Filter::compile_with`](super::Filter::compile_with) and a verifier.
    ///
    /// ```
    /// use mfa_devices::filter::schema::DEVICES;
    /// let devices = vec![
    ///     serde_json::json!({"id": "1", "type": "SMS", "status": "ACTIVE"}),
    ///     serde_json::json!({"id": "2", "type": "EMAIL", "status": "ACTIVE"}),
    /// ];
    /// let picked = DEVICES.select(r#"type eq "EMAIL""#, &devices).unwrap();
    /// assert_eq!(picked, [&devices[1]]);
    /// ```
    pub fn select<'r, R: super::Resource>(
        &self,
        filter: &str,
        items: &'r [R],
    ) -> Result<Vec<&'r R>, ApiError> {
        let compiled = self
            .parse(filter)?
            .compile_checked::<R>(&super::CompileOptions::new().schema(self))?;
        Ok(items.iter().filter(|r| compiled.matches(*r)).collect())
    }

    /// Checks a filter against this schema (see [`Filter::validate`]).
    pub(crate) fn check(&self, e: &Expr) -> Result<(), ApiError> {
        check(self, self.attributes, e, None).map_err(|m| self.invalid_filter(m))
    }
}

fn strings(v: Vec<&'static str>) -> Value {
    Value::Array(v.into_iter().map(|s| Value::String(s.to_owned())).collect())
}

fn used(attrs: &[SchemaAttribute], op: &str) -> bool {
    attrs
        .iter()
        .any(|a| a.operators.contains(&op) || used(a.sub_attributes, op))
}

pub(crate) fn lookup(
    attrs: &'static [SchemaAttribute],
    path: &AttrPath,
) -> Option<&'static SchemaAttribute> {
    if path.urn.is_some() {
        return None;
    }
    let mut segs = path.segments.iter();
    let first = segs.next()?;
    let mut a = attrs.iter().find(|a| a.name.eq_ignore_ascii_case(first))?;
    for s in segs {
        a = a
            .sub_attributes
            .iter()
            .find(|x| x.name.eq_ignore_ascii_case(s))?;
    }
    Some(a)
}

fn names(attrs: &[SchemaAttribute]) -> String {
    attrs.iter().map(|a| a.name).collect::<Vec<_>>().join(", ")
}

/// Walks the tree; recursion follows its depth, which the parser bounds. `within` is the
/// value-path attribute whose sub-attributes are in scope.
fn check(
    schema: &Schema,
    attrs: &'static [SchemaAttribute],
    e: &Expr,
    within: Option<&str>,
) -> Result<(), String> {
    let logical = |op: &str| {
        if schema.logical_operators.contains(&op) {
            Ok(())
        } else {
            Err(format!(
                "Unsupported operator '{op}' in filter; supported operators: {}",
                schema.supported_operators().join(", ")
            ))
        }
    };
    let attribute = |p: &AttrPath| {
        lookup(attrs, p).ok_or_else(|| {
            let name = match within {
                Some(parent) => format!("{parent}.{p}"),
                None => p.to_string(),
            };
            format!(
                "Unsupported attribute '{name}' in filter; supported attributes: {}",
                names(attrs)
            )
        })
    };
    let operator = |a: &SchemaAttribute, op: &str| {
        if a.operators.contains(&op) {
            Ok(())
        } else {
            Err(format!(
                "Unsupported operator '{op}' for attribute '{}' in filter; supported operators: {}",
                a.name,
                a.operators.join(", ")
            ))
        }
    };
    match e {
        Expr::Literal(b) => Err(format!("Unsupported filter '{b}'")),
        Expr::Present(p) => operator(attribute(p)?, "pr"),
        Expr::Compare(p, op, v) => {
            let a = attribute(p)?;
            let op_name = op.to_string();
            if matches!(op, CompareOp::Extended(_)) {
                return Err(format!("Unsupported operator '{op_name}' in filter"));
            }
            operator(a, &op_name)?;
            check_value(a, op, v)
        }
        Expr::ValuePath(p, inner) => {
            let a = attribute(p)?;
            if a.kind != AttrType::Complex || !a.multi_valued {
                return Err(format!(
                    "Unsupported value path on attribute '{}': it is not a multi-valued complex attribute",
                    a.name
                ));
            }
            check(schema, a.sub_attributes, inner, Some(a.name))
        }
        Expr::Not(x) => {
            logical("not")?;
            check(schema, attrs, x, within)
        }
        Expr::And(xs) => {
            logical("and")?;
            xs.iter().try_for_each(|x| check(schema, attrs, x, within))
        }
        Expr::Or(xs) => {
            logical("or")?;
            xs.iter().try_for_each(|x| check(schema, attrs, x, within))
        }
    }
}

fn check_value(a: &SchemaAttribute, op: &CompareOp, v: &CompValue) -> Result<(), String> {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let ok = match (a.kind, v) {
        (_, CompValue::Null) => matches!(op, CompareOp::Eq | CompareOp::Ne),
        (AttrType::Boolean, CompValue::Bool(_)) => !ordering && !substring,
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(_)) => !substring,
        (AttrType::String | AttrType::Reference | AttrType::DateTime, CompValue::String(_)) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "Operator '{op}' cannot compare the {} attribute '{}' with {v}",
            kind_name(a.kind),
            a.name
        ))
    }
}

fn kind_name(k: AttrType) -> &'static str {
    match k {
        AttrType::String => "string",
        AttrType::Boolean => "boolean",
        AttrType::Decimal => "decimal",
        AttrType::Integer => "integer",
        AttrType::DateTime => "dateTime",
        AttrType::Reference => "reference",
        AttrType::Complex => "complex",
    }
}
