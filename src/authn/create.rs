//! [`CreateDeviceAuthentication`]: the body of `POST {authPath}/{envID}/deviceAuthentications`,
//! read strictly ([`CreateDeviceAuthentication::from_json`]).

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::error::FlowError;
use super::wire::Compatibility;
use crate::device::{DeviceId, DeviceType, IdRef, UserId, is_valid_email, is_valid_phone};
use crate::error::{DetailCode, MAX_DETAILS, echo};
use crate::json::join_path;

/// The body of `POST {authPath}/{envID}/deviceAuthentications` (`application/json`): who
/// authenticates, under which policy, and optionally with which device.
///
/// | property | |
/// |---|---|
/// | `user.id` | required: the user authenticating |
/// | `policy.id` | the device authentication policy (else the environment's default) |
/// | `selectedDevice.id` | a device of the user to use right away |
/// | `selectedDevice.oneTime` | `{type: EMAIL \| SMS \| VOICE, email \| phone, testMode?}`: a device that is not registered |
/// | `compatibility` | the browser's WebAuthn capability (`FULL`, `SECURITY_KEY_ONLY`, `NONE`) |
/// | `notification.template` | `{name?, locale?, variant?, variables?}` for the passcode message |
///
/// ([MFA Device Authentications](https://developer.pingidentity.com/pingone-api/mfa/mfa-authentication/mfa-device-authentications.html)).
/// Read it with [`from_json`](Self::from_json); start the flow with
/// [`DeviceAuthentication::start_from`](super::DeviceAuthentication::start_from). `Serialize`
/// writes the same JSON back (absent properties are not written).
///
/// ```
/// use mfa_devices::authn::{Compatibility, CreateDeviceAuthentication, SelectedDevice};
/// let body = br#"{"user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"},
///   "selectedDevice":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"},"compatibility":"NONE"}"#;
/// let request = CreateDeviceAuthentication::from_json(body).unwrap();
/// assert_eq!(request.user.id.to_string(), "b30ac647-e33e-464f-a6ea-0275082d4c26");
/// assert!(matches!(request.selected_device, Some(SelectedDevice::Id(_))));
/// assert_eq!(request.compatibility, Some(Compatibility::None));
/// let back = serde_json::to_vec(&request).unwrap();
/// assert_eq!(CreateDeviceAuthentication::from_json(&back).unwrap(), request);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeviceAuthentication {
    /// `user.id`: the user authenticating.
    pub user: IdRef<UserId>,
    /// `policy.id`: the device authentication policy; absent → the environment's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<IdRef<Uuid>>,
    /// `selectedDevice`: the device to use right away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selected_device: Option<SelectedDevice>,
    /// The browser's WebAuthn capability (one of PingOne's three values, exactly).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
    /// `notification`: how the passcode message is worded. The flow does not use it; the
    /// server's passcode delivery does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification: Option<AuthenticationNotification>,
}

impl CreateDeviceAuthentication {
    /// A body for `user` with nothing else set.
    ///
    /// ```
    /// use mfa_devices::authn::CreateDeviceAuthentication;
    /// use mfa_devices::device::UserId;
    /// let r = CreateDeviceAuthentication::new(UserId::from_bytes([2; 16]));
    /// assert_eq!(serde_json::to_value(&r).unwrap(),
    ///     serde_json::json!({"user": {"id": "02020202-0202-0202-0202-020202020202"}}));
    /// ```
    pub fn new(user: UserId) -> Self {
        Self {
            user: IdRef::new(user),
            policy: None,
            selected_device: None,
            compatibility: None,
            notification: None,
        }
    }

    /// Reads the request body strictly and reports every problem at once.
    ///
    /// - not JSON, or not a JSON object → [`FlowError::UnreadableBody`] (400 `INVALID_REQUEST`);
    /// - anything else wrong → [`FlowError::InvalidBody`]: 400 `INVALID_DATA` with one detail
    ///   per problem, in document order, whose `target` is the property's JSON path
    ///   (`user.id`, `selectedDevice.oneTime.phone`): a missing `user.id` (or `policy.id` in a
    ///   `policy`, or `type` in a `oneTime`) is `REQUIRED_VALUE`; a value of the wrong JSON type,
    ///   an id that is not a UUID, a phone or email that is not well-formed (the device rules,
    ///   [`is_valid_phone`], [`is_valid_email`]), a `type` or `compatibility` that is not one of
    ///   PingOne's values exactly (upper case; `innerError.allowedValues`), an `email` on an SMS
    ///   one-time device (or `phone` on EMAIL), an unknown property, and a property given twice
    ///   (at any depth) are `INVALID_VALUE`; `selectedDevice` with both `id` and `oneTime` is
    ///   `CONSTRAINT_VIOLATION`.
    ///
    /// An explicit `null` reads as an absent property. `application` and `mobilePayload`
    /// (PingOne's authentication from a native application with the mobile SDK's payload) are
    /// refused as not supported rather than ignored. Quoted input is cut to
    /// [`MAX_ECHO_CHARS`](crate::error::MAX_ECHO_CHARS) characters, and at most
    /// [`MAX_DETAILS`] problems are listed (the rest are counted).
    ///
    /// A request reader returns the flow's error here (so a caller can match it);
    /// `ApiError::from` gives PingOne's body:
    ///
    /// ```
    /// use mfa_devices::authn::{CreateDeviceAuthentication, FlowError};
    /// use mfa_devices::error::ApiError;
    /// let e = CreateDeviceAuthentication::from_json(br#"{"user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"},
    ///     "selectedDevice":{"oneTime":{"type":"SMS","phone":"555-1234"}}}"#).unwrap_err();
    /// assert!(matches!(e, FlowError::InvalidBody { .. }));
    /// let api = ApiError::from(e);
    /// assert_eq!((api.http_status(), api.code()), (400, "INVALID_DATA"));
    /// assert_eq!(api.details[0].target.as_deref(), Some("selectedDevice.oneTime.phone"));
    ///
    /// let e = ApiError::from(CreateDeviceAuthentication::from_json(br#"{"user":{}}"#).unwrap_err());
    /// assert_eq!((e.details[0].code.as_str(), e.details[0].target.as_deref()), ("REQUIRED_VALUE", Some("user.id")));
    /// let e = ApiError::from(CreateDeviceAuthentication::from_json(
    ///     br#"{"user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26","id":"x"}}"#).unwrap_err());
    /// assert_eq!(e.details[0].target.as_deref(), Some("user.id"));
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, FlowError> {
        let value = read_located(body)?;
        let Value::Object(map) = value else {
            return Err(FlowError::UnreadableBody(
                "the body must be a JSON object".into(),
            ));
        };
        let mut p = Problems::default();
        let mut user = None;
        let mut policy = None;
        let mut selected_device = None;
        let mut compatibility = None;
        let mut notification = None;
        for (key, value) in &map {
            match key.as_str() {
                "user" | "policy" | "selectedDevice" | "compatibility" | "notification"
                    if value.is_null() => {}
                "user" => user = read_ref(&mut p, "user", value, "user id"),
                "policy" => policy = read_ref(&mut p, "policy", value, "policy id"),
                "selectedDevice" => selected_device = read_selected(&mut p, value),
                "compatibility" => compatibility = read_compatibility(&mut p, value),
                "notification" => notification = read_notification(&mut p, value),
                "application" | "mobilePayload" if value.is_null() => {}
                "application" | "mobilePayload" => p.invalid(
                    key,
                    format!(
                        "{key} (authentication with the mobile SDK's payload) is not supported; \
                         use user.id and optionally selectedDevice.id"
                    ),
                ),
                other => p.unknown("", other, TOP_LEVEL),
            }
        }
        let user = match (user, map.get("user").is_none_or(Value::is_null)) {
            (Some(u), _) => Some(u),
            // A `user` without a usable id was reported already, unless the id is missing.
            (None, true) => {
                p.required("user.id", "user.id is required");
                None
            }
            (None, false) => None,
        };
        match (user, p.into_error()) {
            (Some(user), None) => Ok(Self {
                user: IdRef::new(UserId::from_uuid(user)),
                policy: policy.map(IdRef::new),
                selected_device,
                compatibility,
                notification,
            }),
            (_, Some(e)) => Err(e),
            (None, None) => Err(FlowError::Internal(
                "user.id was neither read nor reported".into(),
            )),
        }
    }
}

/// `selectedDevice`: one of the user's devices, or a one-time device. Serialized as
/// `{"id": …}` or `{"oneTime": {…}}`.
///
/// ```
/// use mfa_devices::authn::SelectedDevice;
/// use mfa_devices::device::DeviceId;
/// let s = SelectedDevice::Id(DeviceId::from_bytes([3; 16]));
/// assert_eq!(serde_json::to_value(&s).unwrap(),
///     serde_json::json!({"id": "03030303-0303-0303-0303-030303030303"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SelectedDevice {
    /// `selectedDevice.id`: a device of the user, used right away (whatever the policy's
    /// `deviceSelection` says).
    #[serde(rename = "id")]
    Id(DeviceId),
    /// `selectedDevice.oneTime`: a device that is not registered.
    #[serde(rename = "oneTime")]
    OneTime(OneTimeDevice),
}

/// `selectedDevice.oneTime`: a passcode sent to an address that is not one of the user's
/// devices. Serialized as `{"type", "email" | "phone", "testMode"?}`.
///
/// ```
/// use mfa_devices::authn::{OneTimeAddress, OneTimeDevice};
/// use mfa_devices::device::DeviceType;
/// let d = OneTimeDevice { address: OneTimeAddress::Sms("+1 512 555 1234".into()), test_mode: Some(true) };
/// assert_eq!(d.device_type(), DeviceType::Sms);
/// assert_eq!(serde_json::to_value(&d).unwrap(),
///     serde_json::json!({"type": "SMS", "phone": "+1 512 555 1234", "testMode": true}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeDevice {
    /// Where the passcode goes.
    pub address: OneTimeAddress,
    /// `testMode`: do not send; the passcode is returned as `test.otp`.
    pub test_mode: Option<bool>,
}

impl OneTimeDevice {
    /// EMAIL, SMS or VOICE.
    pub fn device_type(&self) -> DeviceType {
        match self.address {
            OneTimeAddress::Email(_) => DeviceType::Email,
            OneTimeAddress::Sms(_) => DeviceType::Sms,
            OneTimeAddress::Voice(_) => DeviceType::Voice,
        }
    }
}

impl Serialize for OneTimeDevice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.device_type().as_str())?;
        match &self.address {
            OneTimeAddress::Email(email) => m.serialize_entry("email", email)?,
            OneTimeAddress::Sms(phone) | OneTimeAddress::Voice(phone) => {
                m.serialize_entry("phone", phone)?;
            }
        }
        if let Some(t) = self.test_mode {
            m.serialize_entry("testMode", &t)?;
        }
        m.end()
    }
}

/// The type and address of a one-time device (`type` with `email` or `phone`), as written,
/// well-formed by the device rules ([`is_valid_email`], [`is_valid_phone`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneTimeAddress {
    /// `EMAIL` to `email`.
    Email(String),
    /// `SMS` to `phone`.
    Sms(String),
    /// `VOICE` to `phone`.
    Voice(String),
}

/// `notification` of a device authentication: the template of the passcode message.
///
/// ```
/// use mfa_devices::authn::AuthenticationNotification;
/// let n: AuthenticationNotification = serde_json::from_value(serde_json::json!(
///     {"template": {"name": "strong_authentication", "locale": "en", "variables": {"app": "Shop"}}})).unwrap();
/// assert_eq!(n.template.unwrap().name.as_deref(), Some("strong_authentication"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct AuthenticationNotification {
    /// `notification.template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<AuthenticationTemplate>,
}

/// `notification.template`: which template, language, variant, and the values of its
/// dynamic variables (strings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct AuthenticationTemplate {
    /// The template's name (`strong_authentication`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The language (`en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The content variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Values of the template's dynamic variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
}

/// One problem of a request body: a detail of the 400 `INVALID_DATA` answer
/// ([`FlowError::InvalidBody`]).
///
/// ```
/// use mfa_devices::authn::BodyProblem;
/// use mfa_devices::error::DetailCode;
/// let p = BodyProblem::new(DetailCode::RequiredValue, "user.id", "user.id is required");
/// assert_eq!(p.target, "user.id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyProblem {
    /// `REQUIRED_VALUE`, `INVALID_VALUE`, `CONSTRAINT_VIOLATION`.
    pub code: DetailCode,
    /// The property's JSON path (`selectedDevice.oneTime.phone`; unknown keys cut to 64
    /// characters).
    pub target: String,
    /// What is wrong and what is allowed, for a human.
    pub message: String,
    /// The allowed values of an enumerated property (`innerError.allowedValues`), else empty.
    pub allowed_values: Vec<&'static str>,
}

impl BodyProblem {
    /// A problem without allowed values.
    pub fn new(code: DetailCode, target: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            target: target.into(),
            message: message.into(),
            allowed_values: Vec::new(),
        }
    }
}

impl fmt::Display for BodyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const TOP_LEVEL: &str = "user, policy, selectedDevice, compatibility, notification";
const ONE_TIME_TYPES: [&str; 3] = ["EMAIL", "SMS", "VOICE"];
const COMPATIBILITIES: [&str; 3] = ["FULL", "SECURITY_KEY_ONLY", "NONE"];

/// The problems found so far: at most [`MAX_DETAILS`] kept, the rest counted.
#[derive(Default)]
struct Problems {
    list: Vec<BodyProblem>,
    omitted: usize,
}

impl Problems {
    fn push(&mut self, problem: BodyProblem) {
        if self.list.len() < MAX_DETAILS {
            self.list.push(problem);
        } else {
            self.omitted = self.omitted.saturating_add(1);
        }
    }
    fn required(&mut self, target: &str, message: impl Into<String>) {
        self.push(BodyProblem::new(DetailCode::RequiredValue, target, message));
    }
    fn invalid(&mut self, target: &str, message: impl Into<String>) {
        self.push(BodyProblem::new(DetailCode::InvalidValue, target, message));
    }
    fn not_one_of(&mut self, target: &str, given: &str, allowed: &[&'static str]) {
        self.push(BodyProblem {
            code: DetailCode::InvalidValue,
            target: target.to_owned(),
            message: format!(
                "{target}: '{}' is not one of {} (upper case)",
                echo(given),
                allowed.join(", ")
            ),
            allowed_values: allowed.to_vec(),
        });
    }
    fn unknown(&mut self, parent: &str, key: &str, allowed: &str) {
        let target = join_path(parent, key);
        let message = format!("{target} is not a known property; allowed here: {allowed}");
        self.invalid(&target, message);
    }
    fn wrong_type(&mut self, target: &str, expected: &str) {
        self.invalid(target, format!("{target} must be {expected}"));
    }
    fn into_error(self) -> Option<FlowError> {
        (!self.list.is_empty()).then_some(FlowError::InvalidBody {
            problems: self.list,
            omitted: self.omitted,
        })
    }
}

/// The object at `target`, or a problem.
fn object<'v>(p: &mut Problems, target: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(m) => Some(m),
        _ => {
            p.wrong_type(target, "an object");
            None
        }
    }
}

/// The string at `target` (absent or `null`: `None`), or a problem.
fn string<'v>(p: &mut Problems, target: &str, value: &'v Value) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        _ => {
            p.wrong_type(target, "a string");
            None
        }
    }
}

/// `{"id": "<uuid>"}` at `name`.
fn read_ref(p: &mut Problems, name: &str, value: &Value, what: &str) -> Option<Uuid> {
    let map = object(p, name, value)?;
    let target = format!("{name}.id");
    for key in map.keys().filter(|k| k.as_str() != "id") {
        p.unknown(name, key, "id");
    }
    match map.get("id") {
        None | Some(Value::Null) => {
            p.required(&target, format!("{target} is required"));
            None
        }
        Some(Value::String(s)) => match Uuid::parse_str(s) {
            Ok(id) => Some(id),
            Err(_) => {
                p.invalid(
                    &target,
                    format!("{target}: '{}' is not a {what} (a UUID)", echo(s)),
                );
                None
            }
        },
        Some(_) => {
            p.wrong_type(&target, "a string (a UUID)");
            None
        }
    }
}

fn read_selected(p: &mut Problems, value: &Value) -> Option<SelectedDevice> {
    const AT: &str = "selectedDevice";
    let map = object(p, AT, value)?;
    for key in map
        .keys()
        .filter(|k| !matches!(k.as_str(), "id" | "oneTime"))
    {
        p.unknown(AT, key, "id, oneTime");
    }
    let id = map.get("id").filter(|v| !v.is_null());
    let one_time = map.get("oneTime").filter(|v| !v.is_null());
    match (id, one_time) {
        (Some(_), Some(_)) => {
            p.push(BodyProblem::new(
                DetailCode::ConstraintViolation,
                AT,
                "selectedDevice takes either id (a device of the user) or oneTime, not both",
            ));
            None
        }
        (None, None) => {
            p.required(
                "selectedDevice.id",
                "selectedDevice needs id (a device of the user) or oneTime",
            );
            None
        }
        (Some(id), None) => {
            const ID: &str = "selectedDevice.id";
            match string(p, ID, id)?.parse::<DeviceId>() {
                Ok(id) => Some(SelectedDevice::Id(id)),
                Err(_) => {
                    let given = id.as_str().unwrap_or_default();
                    p.invalid(
                        ID,
                        format!("{ID}: '{}' is not a device id (a UUID)", echo(given)),
                    );
                    None
                }
            }
        }
        (None, Some(one_time)) => read_one_time(p, one_time).map(SelectedDevice::OneTime),
    }
}

fn read_one_time(p: &mut Problems, value: &Value) -> Option<OneTimeDevice> {
    const AT: &str = "selectedDevice.oneTime";
    let map = object(p, AT, value)?;
    let before = p.list.len() + p.omitted;
    let mut kind = None;
    let mut email = None;
    let mut phone = None;
    let mut test_mode = None;
    for (key, value) in map {
        let target = join_path(AT, key);
        match key.as_str() {
            "type" | "email" | "phone" | "testMode" if value.is_null() => {}
            "type" => {
                if let Some(t) = string(p, &target, value) {
                    match ONE_TIME_TYPES.iter().position(|a| *a == t) {
                        Some(i) => kind = Some(i),
                        None => p.not_one_of(&target, t, &ONE_TIME_TYPES),
                    }
                }
            }
            "email" => email = string(p, &target, value).map(|s| (s, target)),
            "phone" => phone = string(p, &target, value).map(|s| (s, target)),
            "testMode" => match value {
                Value::Bool(b) => test_mode = Some(*b),
                _ => p.wrong_type(&target, "true or false"),
            },
            _ => p.unknown(AT, key, "type, email, phone, testMode"),
        }
    }
    if map.get("type").is_none_or(Value::is_null) {
        p.required(
            "selectedDevice.oneTime.type",
            "selectedDevice.oneTime.type is required (EMAIL, SMS or VOICE)",
        );
    }
    let address = match kind {
        Some(0) => {
            if let Some((_, target)) = &phone {
                p.invalid(target, format!("{target} is only valid for SMS and VOICE"));
            }
            match email {
                None => {
                    p.required(
                        "selectedDevice.oneTime.email",
                        "selectedDevice.oneTime.email is required for EMAIL",
                    );
                    None
                }
                Some((e, target)) if !is_valid_email(e) => {
                    p.invalid(
                        &target,
                        format!("{target}: '{}' is not a valid email address", echo(e)),
                    );
                    None
                }
                Some((e, _)) => Some(OneTimeAddress::Email(e.to_owned())),
            }
        }
        Some(i) => {
            if let Some((_, target)) = &email {
                p.invalid(target, format!("{target} is only valid for EMAIL"));
            }
            match phone {
                None => {
                    p.required(
                        "selectedDevice.oneTime.phone",
                        "selectedDevice.oneTime.phone is required for SMS and VOICE",
                    );
                    None
                }
                Some((n, target)) if !is_valid_phone(n) => {
                    p.invalid(
                        &target,
                        format!(
                            "{target}: '{}' is not a valid phone number: '+', a 1-3 digit country code and a 4-14 digit number",
                            echo(n)
                        ),
                    );
                    None
                }
                Some((n, _)) if i == 1 => Some(OneTimeAddress::Sms(n.to_owned())),
                Some((n, _)) => Some(OneTimeAddress::Voice(n.to_owned())),
            }
        }
        None => None,
    };
    let address = address.filter(|_| p.list.len() + p.omitted == before)?;
    Some(OneTimeDevice { address, test_mode })
}

fn read_compatibility(p: &mut Problems, value: &Value) -> Option<Compatibility> {
    const AT: &str = "compatibility";
    let s = string(p, AT, value)?;
    match Compatibility::from(s) {
        Compatibility::Other(_) => {
            p.not_one_of(AT, s, &COMPATIBILITIES);
            None
        }
        known => Some(known),
    }
}

fn read_notification(p: &mut Problems, value: &Value) -> Option<AuthenticationNotification> {
    const AT: &str = "notification";
    const TEMPLATE: &str = "notification.template";
    let map = object(p, AT, value)?;
    for key in map.keys().filter(|k| k.as_str() != "template") {
        p.unknown(AT, key, "template");
    }
    let Some(template) = map.get("template").filter(|v| !v.is_null()) else {
        return Some(AuthenticationNotification::default());
    };
    let t = object(p, TEMPLATE, template)?;
    let mut out = AuthenticationTemplate::default();
    for (key, value) in t {
        let target = join_path(TEMPLATE, key);
        let text = |p: &mut Problems| string(p, &target, value).map(str::to_owned);
        match key.as_str() {
            "name" | "locale" | "variant" | "variables" if value.is_null() => {}
            "name" => out.name = text(p),
            "locale" => out.locale = text(p),
            "variant" => out.variant = text(p),
            "variables" => {
                if let Some(vars) = object(p, &target, value) {
                    for (name, v) in vars {
                        if !v.is_string() {
                            p.wrong_type(&join_path(&target, name), "a string");
                        }
                    }
                    out.variables = Some(vars.clone());
                }
            }
            _ => p.unknown(TEMPLATE, key, "name, locale, variant, variables"),
        }
    }
    Some(AuthenticationNotification {
        template: Some(out),
    })
}

/// Reads JSON with duplicate keys refused at any depth, naming the repeated property's path.
fn read_located(body: &[u8]) -> Result<Value, FlowError> {
    match crate::json::read_located(body) {
        Ok(v) => Ok(v),
        Err((_, Some(target))) => Err(FlowError::InvalidBody {
            problems: vec![BodyProblem::new(
                DetailCode::InvalidValue,
                target.clone(),
                format!("{target} is given more than once (a property may appear once)"),
            )],
            omitted: 0,
        }),
        Err((e, None)) => Err(FlowError::UnreadableBody(format!(
            "not JSON: {}",
            crate::json::describe(&e)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    const USER: &str = r#""user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"}"#;

    fn targets(body: &str) -> Vec<(String, String)> {
        let e = CreateDeviceAuthentication::from_json(body.as_bytes()).unwrap_err();
        let api = ApiError::from(e);
        assert_eq!(api.http_status(), 400, "{body}");
        api.details
            .iter()
            .map(|d| {
                (
                    d.code.as_str().to_owned(),
                    d.target.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn one(body: &str) -> (String, String) {
        let t = targets(body);
        assert_eq!(t.len(), 1, "{body}: {t:?}");
        t.into_iter().next().unwrap()
    }

    #[test]
    fn reads_every_property() {
        let body = format!(
            r#"{{{USER},"policy":{{"id":"8bec1d08-c0fb-4d34-b472-2610199704c7"}},
            "selectedDevice":{{"oneTime":{{"type":"VOICE","phone":"+1 (512) 555-1234","testMode":true}}}},
            "compatibility":"SECURITY_KEY_ONLY",
            "notification":{{"template":{{"name":"strong_authentication","locale":"en","variant":"B","variables":{{"a":"1"}}}}}}}}"#
        );
        let r = CreateDeviceAuthentication::from_json(body.as_bytes()).unwrap();
        assert_eq!(
            r.policy.unwrap().id.to_string(),
            "8bec1d08-c0fb-4d34-b472-2610199704c7"
        );
        assert_eq!(
            r.selected_device,
            Some(SelectedDevice::OneTime(OneTimeDevice {
                address: OneTimeAddress::Voice("+1 (512) 555-1234".into()),
                test_mode: Some(true)
            }))
        );
        assert_eq!(r.compatibility, Some(Compatibility::SecurityKeyOnly));
        let t = r.notification.clone().unwrap().template.unwrap();
        assert_eq!(t.name.as_deref(), Some("strong_authentication"));
        let back = serde_json::to_vec(&r).unwrap();
        assert_eq!(CreateDeviceAuthentication::from_json(&back).unwrap(), r);
        // null reads as absent
        let r = CreateDeviceAuthentication::from_json(
            format!(r#"{{{USER},"policy":null,"selectedDevice":null}}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(r, CreateDeviceAuthentication::new(r.user.id));
    }

    #[test]
    fn names_the_property() {
        let cases: &[(&str, (&str, &str))] = &[
            (r#"{}"#, ("REQUIRED_VALUE", "user.id")),
            (r#"{"user":null}"#, ("REQUIRED_VALUE", "user.id")),
            (r#"{"user":{}}"#, ("REQUIRED_VALUE", "user.id")),
            (r#"{"user":"x"}"#, ("INVALID_VALUE", "user")),
            (r#"{"user":{"id":7}}"#, ("INVALID_VALUE", "user.id")),
            (r#"{"user":{"id":"nope"}}"#, ("INVALID_VALUE", "user.id")),
            (
                r#"{"user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26","name":"x"}}"#,
                ("INVALID_VALUE", "user.name"),
            ),
        ];
        for (body, (code, target)) in cases {
            assert_eq!(one(body), (code.to_string(), target.to_string()), "{body}");
        }
        let with_user: &[(&str, (&str, &str))] = &[
            (r#""policy":{}"#, ("REQUIRED_VALUE", "policy.id")),
            (r#""policy":{"id":"p"}"#, ("INVALID_VALUE", "policy.id")),
            (
                r#""selectedDevice":{}"#,
                ("REQUIRED_VALUE", "selectedDevice.id"),
            ),
            (
                r#""selectedDevice":[]"#,
                ("INVALID_VALUE", "selectedDevice"),
            ),
            (
                r#""selectedDevice":{"id":"x"}"#,
                ("INVALID_VALUE", "selectedDevice.id"),
            ),
            (
                r#""selectedDevice":{"id":1}"#,
                ("INVALID_VALUE", "selectedDevice.id"),
            ),
            (
                r#""selectedDevice":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b","oneTime":{"type":"SMS","phone":"+15125551234"}}"#,
                ("CONSTRAINT_VIOLATION", "selectedDevice"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"SMS","phone":"555"}}"#,
                ("INVALID_VALUE", "selectedDevice.oneTime.phone"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"SMS"}}"#,
                ("REQUIRED_VALUE", "selectedDevice.oneTime.phone"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"EMAIL","email":"a@localhost"}}"#,
                ("INVALID_VALUE", "selectedDevice.oneTime.email"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"phone":"+15125551234"}}"#,
                ("REQUIRED_VALUE", "selectedDevice.oneTime.type"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"sms","phone":"+15125551234"}}"#,
                ("INVALID_VALUE", "selectedDevice.oneTime.type"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"TOTP"}}"#,
                ("INVALID_VALUE", "selectedDevice.oneTime.type"),
            ),
            (
                r#""selectedDevice":{"oneTime":{"type":"SMS","phone":"+15125551234","testMode":"yes"}}"#,
                ("INVALID_VALUE", "selectedDevice.oneTime.testMode"),
            ),
            (
                r#""compatibility":"full""#,
                ("INVALID_VALUE", "compatibility"),
            ),
            (r#""compatibility":1"#, ("INVALID_VALUE", "compatibility")),
            (
                r#""notification":{"template":{"variables":{"a":1}}}"#,
                ("INVALID_VALUE", "notification.template.variables.a"),
            ),
            (
                r#""notification":{"policy":{"id":"x"}}"#,
                ("INVALID_VALUE", "notification.policy"),
            ),
            (
                r#""mobilePayload":"jwt""#,
                ("INVALID_VALUE", "mobilePayload"),
            ),
            (r#""surprise":1"#, ("INVALID_VALUE", "surprise")),
            (r#""surprise":null"#, ("INVALID_VALUE", "surprise")),
        ];
        for (rest, (code, target)) in with_user {
            let body = format!("{{{USER},{rest}}}");
            assert_eq!(one(&body), (code.to_string(), target.to_string()), "{body}");
        }
        // Both addresses on SMS: the email is refused.
        let body = format!(
            r#"{{{USER},"selectedDevice":{{"oneTime":{{"type":"SMS","phone":"+15125551234","email":"a@b.co"}}}}}}"#
        );
        assert_eq!(
            one(&body),
            (
                "INVALID_VALUE".into(),
                "selectedDevice.oneTime.email".into()
            )
        );
    }

    #[test]
    fn every_problem_at_once_and_duplicates_located() {
        let t = targets(r#"{"user":{"id":1},"compatibility":"x","b":2}"#);
        let t: Vec<_> = t.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(t, ["user.id", "compatibility", "b"]);
        for (body, target) in [
            (r#"{"user":{"id":"a"},"user":{}}"#, "user"),
            (
                r#"{"user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"},"selectedDevice":{"oneTime":{"type":"SMS","type":"SMS"}}}"#,
                "selectedDevice.oneTime.type",
            ),
            (r#"{"x":[{},{"k":1,"k":2}]}"#, "x[1].k"),
        ] {
            assert_eq!(
                one(body),
                ("INVALID_VALUE".to_string(), target.to_string()),
                "{body}"
            );
        }
    }

    #[test]
    fn unreadable_bodies_are_invalid_request() {
        for body in ["", "{", "[]", "\"user\"", r#"{"user":{"id":"x"}} 1"#] {
            let e = CreateDeviceAuthentication::from_json(body.as_bytes()).unwrap_err();
            assert!(matches!(e, FlowError::UnreadableBody(_)), "{body}: {e:?}");
            let api = ApiError::from(e);
            assert_eq!((api.http_status(), api.code()), (400, "INVALID_REQUEST"));
        }
    }

    #[test]
    fn echoes_and_details_are_bounded() {
        let long = "x".repeat(100_000);
        let body = format!(r#"{{"user":{{"id":"{long}"}},"{long}":1}}"#);
        let api =
            ApiError::from(CreateDeviceAuthentication::from_json(body.as_bytes()).unwrap_err());
        let text = serde_json::to_string(&api).unwrap();
        assert!(text.len() < 2_000, "{}", text.len());
        let many: String = (0..5_000).map(|i| format!(r#""k{i}":1,"#)).collect();
        let body = format!("{{{many}{USER}}}");
        let e = CreateDeviceAuthentication::from_json(body.as_bytes()).unwrap_err();
        let FlowError::InvalidBody { problems, omitted } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((problems.len(), *omitted), (MAX_DETAILS, 4_900));
        let api = ApiError::from(e);
        assert_eq!(api.details.len(), MAX_DETAILS + 1);
    }
}
