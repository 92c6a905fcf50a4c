//! The wire vocabulary of `deviceAuthentications`: statuses, compatibility, request bodies,
//! the `error` object of a FAILED flow and the end-user device view of `_embedded.devices`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::device::{
    Device, DeviceDetails, DeviceId, DeviceStatus, DeviceType, IdRef, mask_email, mask_phone,
};
use crate::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE};
use crate::macros::string_enum;

string_enum! {
    /// A device authentication's `status`.
    ///
    /// Any other string is kept as [`AuthenticationStatus::Other`] (a flow read from a newer
    /// PingOne keeps its status; this crate drives no action from it).
    ///
    /// ```
    /// use mfa_devices::authn::AuthenticationStatus;
    /// assert_eq!(AuthenticationStatus::OtpRequired.as_str(), "OTP_REQUIRED");
    /// assert_eq!("COMPLETED".parse::<AuthenticationStatus>().unwrap(), AuthenticationStatus::Completed);
    /// assert!(AuthenticationStatus::Failed.is_terminal());
    /// assert!(!AuthenticationStatus::PushConfirmationTimedOut.is_terminal());
    /// ```
    AuthenticationStatus {
        /// The user must choose a device (`_links`: self, device.select).
        DeviceSelectionRequired => "DEVICE_SELECTION_REQUIRED",
        /// A one-time passcode is expected (`_links`: self, device.select, otp.check).
        OtpRequired => "OTP_REQUIRED",
        /// A WebAuthn assertion is expected (`_links`: self, device.select, assertion.check).
        AssertionRequired => "ASSERTION_REQUIRED",
        /// A push notification awaits the user's answer (`_links`: self, device.select).
        PushConfirmationRequired => "PUSH_CONFIRMATION_REQUIRED",
        /// The push was not answered within the application's `pushTimeout`; the user may select
        /// again (`_links`: self, device.select).
        PushConfirmationTimedOut => "PUSH_CONFIRMATION_TIMED_OUT",
        /// Authenticated (terminal; `_links`: self).
        Completed => "COMPLETED",
        /// Failed (terminal; `_links`: self); the flow's `error` says why.
        Failed => "FAILED",
    }
}

impl AuthenticationStatus {
    /// Every status of the flow, in the order of the flow ([MFA Device
    /// Authentications](https://developer.pingidentity.com/pingone-api/mfa/mfa-authentication/mfa-device-authentications.html)).
    pub const KNOWN: [AuthenticationStatus; 7] = [
        Self::DeviceSelectionRequired,
        Self::OtpRequired,
        Self::AssertionRequired,
        Self::PushConfirmationRequired,
        Self::PushConfirmationTimedOut,
        Self::Completed,
        Self::Failed,
    ];

    /// Whether the flow is over (COMPLETED or FAILED).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// The `_links` relations PingOne writes in this status, `self` first. PingOne documents
    /// most of them; `assertion.check` in ASSERTION_REQUIRED and `device.select` in
    /// PUSH_CONFIRMATION_REQUIRED are this crate's **decision**. An unknown status has `self`
    /// only.
    ///
    /// ```
    /// use mfa_devices::authn::AuthenticationStatus;
    /// assert_eq!(AuthenticationStatus::OtpRequired.link_relations(), &["self", "device.select", "otp.check"]);
    /// assert_eq!(AuthenticationStatus::Completed.link_relations(), &["self"]);
    /// ```
    pub fn link_relations(&self) -> &'static [&'static str] {
        match self {
            Self::DeviceSelectionRequired
            | Self::PushConfirmationRequired
            | Self::PushConfirmationTimedOut => &["self", "device.select"],
            Self::OtpRequired => &["self", "device.select", "otp.check"],
            Self::AssertionRequired => &["self", "device.select", "assertion.check"],
            Self::Completed | Self::Failed | Self::Other(_) => &["self"],
        }
    }

    /// Whether a device may be selected in this status (every non-terminal known status).
    ///
    /// ```
    /// use mfa_devices::authn::AuthenticationStatus;
    /// assert!(AuthenticationStatus::PushConfirmationTimedOut.allows_select());
    /// assert!(!AuthenticationStatus::Completed.allows_select());
    /// ```
    pub fn allows_select(&self) -> bool {
        self.link_relations().contains(&"device.select")
    }
}

string_enum! {
    /// `compatibility`: what WebAuthn the user's browser offers.
    ///
    /// **Decision** (PingOne publishes no rule): `NONE` hides FIDO2 devices from the usable set;
    /// `SECURITY_KEY_ONLY` hides platform-bound FIDO2 devices (`attributes.isCrossPlatform ==
    /// false`); `FULL`, an absent value and unknown values hide nothing. A client's request
    /// must send one of the three exactly (an unknown or lower-case value is refused by the
    /// request readers); unknown values are kept only when reading stored flows.
    ///
    /// ```
    /// use mfa_devices::authn::Compatibility;
    /// assert_eq!(Compatibility::SecurityKeyOnly.as_str(), "SECURITY_KEY_ONLY");
    /// assert_eq!(serde_json::to_string(&Compatibility::Full).unwrap(), r#""FULL""#);
    /// ```
    Compatibility {
        /// A platform authenticator is available (and security keys).
        Full => "FULL",
        /// Only roaming security keys can be used.
        SecurityKeyOnly => "SECURITY_KEY_ONLY",
        /// No WebAuthn at all.
        None => "NONE",
    }
}

/// `{"id": …}` of the device to select.
///
/// ```
/// use mfa_devices::authn::DeviceRef;
/// let r: DeviceRef = serde_json::from_str(r#"{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"}"#).unwrap();
/// assert_eq!(r.id.to_string(), "ea055ca3-2b5b-4766-9628-95fc03f4ec9b");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceRef {
    /// The device's id.
    pub id: DeviceId,
}

/// The body of a device selection, sent with [`DEVICE_SELECT_MEDIA_TYPE`](super::DEVICE_SELECT_MEDIA_TYPE):
/// `{"device":{"id":…},"compatibility"?:…}`.
///
/// ```
/// use mfa_devices::authn::{Compatibility, SelectDevice};
/// let body = r#"{"device":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"},"compatibility":"FULL"}"#;
/// let s = SelectDevice::from_json(body.as_bytes()).unwrap();
/// assert_eq!(s.compatibility, Some(Compatibility::Full));
/// assert_eq!(serde_json::to_string(&s).unwrap(), body);
/// let err = SelectDevice::from_json(br#"{"device":{}}"#).unwrap_err();
/// assert_eq!(err.details[0].target.as_deref(), Some("device.id"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectDevice {
    /// The device to authenticate with.
    pub device: DeviceRef,
    /// The browser's WebAuthn capability; when absent the flow keeps the one it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
}

impl SelectDevice {
    /// A selection of `id` without `compatibility`.
    ///
    /// ```
    /// use mfa_devices::authn::SelectDevice;
    /// use mfa_devices::device::DeviceId;
    /// let s = SelectDevice::new(DeviceId::from_bytes([1; 16]));
    /// assert_eq!(serde_json::to_value(&s).unwrap(),
    ///     serde_json::json!({"device": {"id": "01010101-0101-0101-0101-010101010101"}}));
    /// ```
    pub fn new(id: DeviceId) -> Self {
        Self {
            device: DeviceRef { id },
            compatibility: None,
        }
    }

    /// Reads the request body, naming the bad property: `device` / `device.id` missing →
    /// `INVALID_DATA` with `REQUIRED_VALUE`, not a UUID or not a string → `INVALID_VALUE`, not
    /// a JSON object → `INVALID_REQUEST` (400). A request reader: it answers with [`ApiError`]
    /// directly, like every reader of a client's request in this crate.
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = crate::json::from_slice(body)
            .map_err(|e| unreadable_body(format!("not JSON: {}", crate::json::describe(&e))))?;
        let Value::Object(map) = value else {
            return Err(unreadable_body("the body must be a JSON object"));
        };
        let device = match map.get("device") {
            None | Some(Value::Null) => return Err(required("device.id")),
            Some(Value::Object(d)) => d,
            Some(_) => {
                return Err(invalid(
                    "device",
                    "must be an object {\"id\": \"<device id>\"}",
                ));
            }
        };
        let id = match device.get("id") {
            None | Some(Value::Null) => return Err(required("device.id")),
            Some(Value::String(s)) => s.parse::<DeviceId>().map_err(|_| {
                invalid(
                    "device.id",
                    format!("'{}' is not a device id (UUID)", crate::error::echo(s)),
                )
            })?,
            Some(_) => {
                return Err(invalid("device.id", "must be a string (UUID)"));
            }
        };
        let compatibility = match map.get("compatibility") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(known_compatibility(Compatibility::from(s.as_str()))?),
            Some(_) => {
                return Err(invalid(
                    "compatibility",
                    "must be one of FULL, SECURITY_KEY_ONLY, NONE",
                ));
            }
        };
        Ok(Self {
            device: DeviceRef { id },
            compatibility,
        })
    }
}

/// A `compatibility` a client sent: one of PingOne's values, exactly (upper case).
pub(super) fn known_compatibility(c: Compatibility) -> Result<Compatibility, ApiError> {
    match c {
        Compatibility::Other(_) => Err(invalid(
            "compatibility",
            "must be one of FULL, SECURITY_KEY_ONLY, NONE (upper case)",
        )),
        known => Ok(known),
    }
}

/// A push cancellation `reason` a client sent: one of PingOne's values, exactly (upper case).
pub(super) fn known_reason(r: Option<CancelReason>) -> Result<Option<CancelReason>, ApiError> {
    match r {
        Some(CancelReason::Other(_)) => Err(invalid(
            "reason",
            "must be one of CHANGE_DEVICE, SIGNOUT, ADD_DEVICE (upper case)",
        )),
        known => Ok(known),
    }
}

/// A request body that is not JSON or not the JSON object expected: 400 `INVALID_REQUEST`.
pub(super) fn unreadable_body(message: impl fmt::Display) -> ApiError {
    ApiError::invalid_request(format!("the request body could not be read: {message}"))
}

/// A required property is missing: 400 `INVALID_DATA`, `REQUIRED_VALUE` at `target`.
fn required(target: &str) -> ApiError {
    ApiError::invalid_data(
        VALIDATION_MESSAGE,
        vec![ErrorDetail::new(
            DetailCode::RequiredValue,
            target,
            format!("{target} is required"),
        )],
    )
}

/// A property whose value is not allowed: 400 `INVALID_DATA`, `INVALID_VALUE` at `target`.
fn invalid(target: &str, message: impl fmt::Display) -> ApiError {
    ApiError::invalid_data(
        VALIDATION_MESSAGE,
        vec![ErrorDetail::new(
            DetailCode::InvalidValue,
            target,
            format!("{target}: {message}"),
        )],
    )
}

/// The body of an OTP check (`application/vnd.pingidentity.otp.check+json`): `{"otp":"…"}`.
///
/// ```
/// let c: mfa_devices::authn::CheckOtp = serde_json::from_str(r#"{"otp":"123456"}"#).unwrap();
/// assert_eq!(c.otp, "123456");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOtp {
    /// The passcode the user typed.
    pub otp: String,
}

impl std::fmt::Debug for CheckOtp {
    /// Never prints the passcode.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckOtp")
            .field("otp", &"<redacted>")
            .finish()
    }
}

/// The body of an assertion check (`application/vnd.pingidentity.assertion.check+json`):
/// `{"origin","assertion","compatibility"?}`. The assertion is kept as JSON; with the feature
/// `webauthn`, `DeviceAuthentication::check_assertion_webauthn`
/// verifies it (else the server verifies it and reports the result to
/// [`check_assertion`](super::DeviceAuthentication::check_assertion)).
///
/// ```
/// let c: mfa_devices::authn::CheckAssertion =
///     serde_json::from_str(r#"{"origin":"https://app.example.com","assertion":"{}"}"#).unwrap();
/// assert_eq!(c.origin, "https://app.example.com");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckAssertion {
    /// The origin the browser reported.
    pub origin: String,
    /// The WebAuthn assertion (PingOne sends it as a JSON string).
    pub assertion: Value,
    /// The browser's WebAuthn capability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
}

string_enum! {
    /// `reason` of a push cancellation.
    ///
    /// ```
    /// assert_eq!(mfa_devices::authn::CancelReason::ChangeDevice.as_str(), "CHANGE_DEVICE");
    /// ```
    CancelReason {
        /// The user wants to use another device.
        ChangeDevice => "CHANGE_DEVICE",
        /// The user signs out.
        Signout => "SIGNOUT",
        /// The user wants to add a device.
        AddDevice => "ADD_DEVICE",
    }
}

/// The body of a push cancellation
/// (`application/vnd.pingidentity.cancel.push.authentication+json`): `{"reason":"CHANGE_DEVICE"}`.
///
/// ```
/// use mfa_devices::authn::{CancelPush, CancelReason};
/// let c: CancelPush = serde_json::from_str(r#"{"reason":"SIGNOUT"}"#).unwrap();
/// assert_eq!(c.reason, Some(CancelReason::Signout));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CancelPush {
    /// Why the push is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

string_enum! {
    /// `error.code` of a FAILED flow.
    ///
    /// `NO_USABLE_DEVICES` is PingOne's; **decision**: a denied push fails the flow with
    /// `PUSH_DENIED`, and a FIDO2 assertion failing `fido2.failure.count` times with
    /// `ASSERTION_FAILED` when nothing else is usable (PingOne publishes neither code).
    ///
    /// ```
    /// assert_eq!(mfa_devices::authn::FailureCode::NoUsableDevices.as_str(), "NO_USABLE_DEVICES");
    /// ```
    FailureCode {
        /// No device can be used now; `unavailableDevices` lists the ones that exist but are
        /// locked or blocked.
        NoUsableDevices => "NO_USABLE_DEVICES",
        /// The user denied the push notification.
        PushDenied => "PUSH_DENIED",
    }
}

/// The `error` object of a FAILED flow:
/// `{"code","message","unavailableDevices"?:[{"id"}]}` ([MFA Devices, "Device failure in
/// flows"](https://developer.pingidentity.com/pingone-api/mfa/users/mfa-devices.html)).
///
/// ```
/// use mfa_devices::authn::FlowFailure;
/// let json = serde_json::json!({"code": "NO_USABLE_DEVICES",
///     "message": "Couldn't find authenticating device for user: 788d4931-6936-43f2-82ff-178f5762298a",
///     "unavailableDevices": [{"id": "edccc773-6f31-4d28-a8e1-0f427d9a9df8"}]});
/// let f: FlowFailure = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(f.unavailable_devices.len(), 1);
/// assert_eq!(serde_json::to_value(&f).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowFailure {
    /// Why the flow failed.
    pub code: FailureCode,
    /// For a human.
    pub message: String,
    /// The devices that exist but are temporarily unusable (locked, blocked). Written only when
    /// non-empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable_devices: Vec<IdRef<DeviceId>>,
    /// Properties not in PingOne's samples, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One device as the end user sees it in `_embedded.devices`: `id`, `type`, `status`,
/// `nickname`, and a **masked** `email` / `phone`; never secrets, keys, tokens or lock details.
///
/// **Decision** (PingOne publishes no rule): emails keep their first character and the domain
/// (`j****@pingidentity.com`), phones `+`, the first digit and the last two
/// (`+1*******00`); see [`mask_email`] and [`mask_phone`].
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::authn::DeviceView;
/// use mfa_devices::device::*;
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let mut d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
///     UserId::from_bytes([3; 16]), DeviceType::Email, DeviceStatus::Active, t);
/// d.details = DeviceDetails::Email(EmailDetails { email: Some("john@pingidentity.com".into()), ..Default::default() });
/// let v = serde_json::to_value(DeviceView::of(&d)).unwrap();
/// assert_eq!(v, serde_json::json!({"id": d.id, "type": "EMAIL", "status": "ACTIVE",
///     "email": "j****@pingidentity.com"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    /// The device's id.
    pub id: DeviceId,
    /// Its type.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// ACTIVE (only active devices are usable).
    pub status: DeviceStatus,
    /// The user's name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// EMAIL: the masked address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// SMS, VOICE, WHATSAPP: the masked number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Properties PingOne writes that this crate does not model, kept verbatim when read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeviceView {
    /// The end-user view of `device`, masking email and phone.
    pub fn of(device: &Device) -> Self {
        let (email, phone) = match &device.details {
            DeviceDetails::Email(e) => (e.email.as_deref().map(mask_email), None),
            DeviceDetails::Phone(p) => (None, p.phone.as_deref().map(mask_phone)),
            _ => (None, None),
        };
        Self {
            id: device.id,
            device_type: device.device_type.clone(),
            status: device.status.clone(),
            nickname: device.nickname.clone(),
            email,
            phone,
            extra: Map::new(),
        }
    }
}

/// `_embedded` of a device authentication: `devices` (the usable devices, in list order) and
/// anything else PingOne embeds (`blockedDevices`, …), kept verbatim.
///
/// ```
/// let e: mfa_devices::authn::Embedded =
///     serde_json::from_str(r#"{"devices":[],"blockedDevices":[{"id":"x"}]}"#).unwrap();
/// assert!(e.devices.is_empty());
/// assert!(e.extra.contains_key("blockedDevices"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Embedded {
    /// The devices the user can choose from.
    #[serde(default)]
    pub devices: Vec<DeviceView>,
    /// Other embedded resources, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
