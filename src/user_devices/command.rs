//! [`Command`]: what a caller asks of a user's devices, and how HTTP requests map to commands.
//!
//! The media types of the device operations (PingOne's [MFA Devices](https://developer.pingidentity.com/pingone-api/mfa/users/mfa-devices.html) API:
//! reorder, remove order, activate, unlock, block, unblock) are constants here; those of
//! `deviceAuthentications` (`device.select`, `otp.check`, `assertion.check`, …) belong to the
//! `authn` module.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use chrono::{DateTime, Utc};
use rand_core::{CryptoRng, RngCore};

use crate::device::{DeviceId, NewDevice, Secret, WebAuthnCredential};
use crate::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE};
use crate::lock::{FailureRule, PushLimitRule};
use crate::otp::OtpError;
use crate::policy::DeviceAuthenticationPolicy;

use super::error::{OrderViolation, UserDevicesError};
use super::provision::{ActivationChallenge, ActivationPasscode, DeviceSecrets};

/// `application/json`: create a device (POST `…/devices`), set a nickname (PUT
/// `…/devices/{id}/nickname`).
pub const APPLICATION_JSON: &str = "application/json";
/// Set the device order: POST `…/devices` with `{"order":[{"id":…},…]}`.
pub const DEVICES_REORDER_MEDIA_TYPE: &str = "application/vnd.pingidentity.devices.reorder+json";
/// Remove the device order: POST `…/devices`, empty body.
pub const DEVICES_ORDER_REMOVE_MEDIA_TYPE: &str =
    "application/vnd.pingidentity.devices.order.remove+json";
/// Activate a device: POST `…/devices/{id}` with `{"otp":…}` (FIDO2: attestation and origin).
pub const DEVICE_ACTIVATE_MEDIA_TYPE: &str = "application/vnd.pingidentity.device.activate+json";
/// Unlock a device: POST `…/devices/{id}`, empty body.
pub const DEVICE_UNLOCK_MEDIA_TYPE: &str = "application/vnd.pingidentity.device.unlock+json";
/// Block a device: POST `…/devices/{id}`, empty body.
pub const DEVICE_BLOCK_MEDIA_TYPE: &str = "application/vnd.pingidentity.device.block+json";
/// Unblock a device: POST `…/devices/{id}`, empty body.
pub const DEVICE_UNBLOCK_MEDIA_TYPE: &str = "application/vnd.pingidentity.device.unblock+json";
/// A request to change a user's devices, decided by
/// [`UserDevices::decide`](super::UserDevices::decide).
///
/// Lock rules (OTP `failure.count` / `coolDown`, `pushLimit`) come validated, as the
/// [`lock`](crate::lock) module's types: the caller resolves them from the device
/// authentication policy ([`FlowPolicy`](crate::policy::resolved::FlowPolicy), or
/// `FailureRule::try_from(&OtpFailurePolicy)`); this aggregate does not know policies and has
/// no numbers to re-check. OTP and attestation checks happen outside too: `Activate` is sent once the
/// activation OTP (or FIDO2 attestation) was verified, `RecordOtpFailure` when it was not.
///
/// ```
/// use mfa_devices::device::DeviceId;
/// use mfa_devices::lock::FailureRule;
/// use mfa_devices::user_devices::Command;
/// let id = DeviceId::from_bytes([7; 16]);
/// let c = Command::RecordOtpFailure { id, rule: FailureRule::DEFAULT_AUTHENTICATOR };
/// assert_eq!(c.device_id(), Some(id));
/// assert_eq!(Command::RemoveOrder.device_id(), None);
/// ```
///
/// Commands serialize (for queues and idempotency logs) as an object tagged by `"command"`, the
/// variant in SCREAMING_SNAKE_CASE, with camelCase fields (rules as their own serde form):
///
/// ```
/// use mfa_devices::user_devices::Command;
/// let json = serde_json::to_value(Command::RemoveOrder).unwrap();
/// assert_eq!(json, serde_json::json!({"command": "REMOVE_ORDER"}));
/// assert_eq!(serde_json::from_value::<Command>(json).unwrap(), Command::RemoveOrder);
/// ```
// `Create` carries the POST body by value (the command owns what it creates); commands are
// short-lived.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Command {
    /// Create a device with a caller-chosen id (this crate draws no randomness). Status is the
    /// body's, else ACTIVATION_REQUIRED; an ACTIVE device is appended to the order.
    Create {
        /// The new device's id.
        id: DeviceId,
        /// The POST body.
        device: NewDevice,
        /// What the creation drew from the caller's RNG ([`DeviceSecrets::draw`], or
        /// [`provision`](Command::provision)): a TOTP secret, an activation challenge.
        secrets: DeviceSecrets,
    },
    /// Activate an ACTIVATION_REQUIRED device.
    ///
    /// - A device with a pending activation challenge (SMS/EMAIL/VOICE created with one, or
    ///   sent one by [`ResendActivation`](Self::ResendActivation)) needs `otp`: the right
    ///   passcode before it expires activates it; a wrong one is recorded as an activation
    ///   failure (`DEVICE.ACTIVATION_OTP_INVALID`, `…_FAILED` at the count, with the
    ///   challenge's failure rule and lock) and the device stays ACTIVATION_REQUIRED.
    /// - A TOTP device with a secret needs `otp`: a code of its secret (RFC 6238, 30 s, 6
    ///   digits, ±1 step), used once.
    /// - A FIDO2 device created with `publicKeyCredentialCreationOptions` (drawn by
    ///   [`DeviceSecrets::draw`]) is refused ([`UserDevicesError::AttestationRequired`]): it
    ///   activates with [`ActivateFido2`](Self::ActivateFido2) and its verified credential.
    /// - Any other device (one without challenge, secret or creation options): `otp` must be
    ///   `None` and the caller has verified the attestation or passcode itself.
    Activate {
        /// The device.
        id: DeviceId,
        /// The passcode the user entered (never printed by `Debug`).
        otp: Option<Secret>,
    },
    /// Activate an ACTIVATION_REQUIRED WebAuthn device (FIDO2, PLATFORM, SECURITY_KEY) with the
    /// credential its registration produced — verified by the caller, e.g. with
    /// `webauthn::verify_activation` (feature `webauthn`) or
    /// `Command::from_attestation`. The credential is kept with the device (in the
    /// snapshot and the `DEVICE_ACTIVATED` event, never in a response) and checks its
    /// assertions afterwards.
    ActivateFido2 {
        /// The device.
        id: DeviceId,
        /// The verified credential.
        credential: WebAuthnCredential,
    },
    /// Record a verified WebAuthn assertion of a device with a registered credential: the
    /// failure counter restarts and `sign_count` becomes the credential's signature counter.
    /// A count that does not increase on the stored one (when either is non-zero) is refused
    /// ([`UserDevicesError::SignCountNotIncreased`]).
    #[serde(rename_all = "camelCase")]
    RecordAssertionSuccess {
        /// The device.
        id: DeviceId,
        /// The authenticator's signature counter in the assertion.
        sign_count: u32,
    },
    /// Send a new activation passcode to an SMS/EMAIL/VOICE device that is
    /// ACTIVATION_REQUIRED: replaces the pending challenge (built with
    /// [`ActivationChallenge::issue`]; the caller sends the passcode it returned).
    ResendActivation {
        /// The device.
        id: DeviceId,
        /// The new challenge.
        challenge: ActivationChallenge,
    },
    /// Delete a device.
    Delete {
        /// The device.
        id: DeviceId,
    },
    /// Set the nickname; an empty string removes it.
    #[serde(rename_all = "camelCase")]
    SetNickname {
        /// The device.
        id: DeviceId,
        /// At most 100 characters.
        nickname: String,
    },
    /// Set the order: exactly the user's ACTIVE devices, the default first.
    Reorder {
        /// The device ids in order.
        order: Vec<DeviceId>,
    },
    /// Remove the order: the user becomes unordered, without a default device.
    RemoveOrder,
    /// Record a failed OTP check (activation OTP when the device is ACTIVATION_REQUIRED).
    #[serde(rename_all = "camelCase")]
    RecordOtpFailure {
        /// The device.
        id: DeviceId,
        /// The method's failure rule (`failure.count`, `failure.coolDown`).
        rule: FailureRule,
    },
    /// Record a successful OTP check: the failure counter restarts.
    RecordOtpSuccess {
        /// The device.
        id: DeviceId,
    },
    /// Record a TOTP code accepted for time step `step` (see
    /// [`Totp::verify`](crate::otp::Totp::verify)): the failure counter restarts and `step`
    /// becomes the device's last used step ([`UserDevices::totp_last_step`](super::UserDevices::totp_last_step)),
    /// so the same code is refused afterwards. A step at or before the last one is refused
    /// ([`UserDevicesError::TotpReplayed`]).
    RecordTotpSuccess {
        /// The device.
        id: DeviceId,
        /// The time step the code was accepted for.
        step: u64,
    },
    /// Record a declined or ignored push notification.
    #[serde(rename_all = "camelCase")]
    RecordPushRejected {
        /// The device.
        id: DeviceId,
        /// The application's `pushLimit`.
        rule: PushLimitRule,
    },
    /// Administrator unlock: clears the lock and the counters.
    Unlock {
        /// The device.
        id: DeviceId,
    },
    /// Administrator block (never expires).
    Block {
        /// The device.
        id: DeviceId,
    },
    /// Administrator unblock.
    Unblock {
        /// The device.
        id: DeviceId,
    },
}

/// Which resource an HTTP request addresses, for [`Command::from_request`].
///
/// ```
/// use mfa_devices::device::DeviceId;
/// use mfa_devices::user_devices::RequestTarget;
/// let t = RequestTarget::Device(DeviceId::from_bytes([1; 16]));
/// assert_ne!(t, RequestTarget::Nickname(DeviceId::from_bytes([1; 16])));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestTarget {
    /// POST `…/users/{userID}/devices`; `new_id` is the id a created device gets (drawn by the
    /// caller).
    Devices {
        /// The id for a device created by this request.
        new_id: DeviceId,
    },
    /// POST `…/users/{userID}/devices/{id}`.
    Device(DeviceId),
    /// PUT `…/users/{userID}/devices/{id}/nickname`.
    Nickname(DeviceId),
}

impl Command {
    /// The device the command is about (`None` for order commands, which are about the user).
    pub fn device_id(&self) -> Option<DeviceId> {
        match self {
            Self::Create { id, .. }
            | Self::Activate { id, .. }
            | Self::ActivateFido2 { id, .. }
            | Self::RecordAssertionSuccess { id, .. }
            | Self::ResendActivation { id, .. }
            | Self::RecordTotpSuccess { id, .. }
            | Self::Delete { id }
            | Self::SetNickname { id, .. }
            | Self::RecordOtpFailure { id, .. }
            | Self::RecordOtpSuccess { id }
            | Self::RecordPushRejected { id, .. }
            | Self::Unlock { id }
            | Self::Block { id }
            | Self::Unblock { id } => Some(*id),
            Self::Reorder { .. } | Self::RemoveOrder => None,
        }
    }

    /// Maps an HTTP request — its `Content-Type`, the resource it addresses and its body — to a
    /// command.
    ///
    /// | target | media type | command |
    /// |---|---|---|
    /// | `Devices` | [`APPLICATION_JSON`] | `Create` (body: [`NewDevice`]; nothing drawn yet: call [`provision`](Self::provision)) |
    /// | `Devices` | [`DEVICES_REORDER_MEDIA_TYPE`] | `Reorder` (body `{"order":[{"id":…},…]}`) |
    /// | `Devices` | [`DEVICES_ORDER_REMOVE_MEDIA_TYPE`] | `RemoveOrder` (body ignored) |
    /// | `Device` | [`DEVICE_ACTIVATE_MEDIA_TYPE`] | `Activate` with the body's `otp` (a string, or a number written as digits; absent for a FIDO2 attestation, which the caller verifies) |
    /// | `Device` | [`DEVICE_UNLOCK_MEDIA_TYPE`], [`DEVICE_BLOCK_MEDIA_TYPE`], [`DEVICE_UNBLOCK_MEDIA_TYPE`] | `Unlock`, `Block`, `Unblock` (body ignored) |
    /// | `Nickname` | [`APPLICATION_JSON`] | `SetNickname` (body `{"nickname":…}`; `null` or `""` removes it) |
    ///
    /// Media types compare case-insensitively and parameters (`; charset=UTF-8`) are ignored.
    /// Any other media type, or one the target does not take, is answered with 415
    /// `INVALID_REQUEST` ([`ApiError::unsupported_media_type`]). A body that is not the JSON
    /// expected is `INVALID_DATA` with one detail per problem (`target` = JSON path; for a reorder,
    /// `order[i].id` for an id that is not a UUID). `Create` bodies are also checked with
    /// [`NewDevice::validate`].
    ///
    /// A request reader, it answers with [`ApiError`] directly, as
    /// [`authn::Action::from_request`](crate::authn::Action::from_request) does for the
    /// authentication flow; [`UserDevices::decide`](super::UserDevices::decide) then returns
    /// [`UserDevicesError`](super::UserDevicesError).
    ///
    /// ```
    /// use mfa_devices::device::DeviceId;
    /// use mfa_devices::user_devices::{Command, RequestTarget, DEVICES_REORDER_MEDIA_TYPE};
    /// let a = "e112c96d-d165-45c5-8061-87ff268fd520";
    /// let body = format!(r#"{{"order":[{{"id":"{a}"}}]}}"#);
    /// let target = RequestTarget::Devices { new_id: DeviceId::from_bytes([9; 16]) };
    /// let c = Command::from_request(DEVICES_REORDER_MEDIA_TYPE, target, body.as_bytes()).unwrap();
    /// assert_eq!(c, Command::Reorder { order: vec![a.parse().unwrap()] });
    ///
    /// let e = Command::from_request("text/plain", target, b"").unwrap_err();
    /// assert_eq!((e.code(), e.http_status()), ("INVALID_REQUEST", 415));
    /// ```
    pub fn from_request(
        media_type: &str,
        target: RequestTarget,
        body: &[u8],
    ) -> Result<Command, ApiError> {
        let essence = crate::media_type::essence(media_type);
        let unsupported = || ApiError::unsupported_media_type(media_type);
        match target {
            RequestTarget::Devices { new_id } => match essence.as_str() {
                APPLICATION_JSON => {
                    let device: NewDevice = crate::json::from_slice(body).map_err(body_error)?;
                    device.validate()?;
                    Ok(Command::Create {
                        id: new_id,
                        device,
                        secrets: DeviceSecrets::none(),
                    })
                }
                DEVICES_REORDER_MEDIA_TYPE => parse_reorder(body),
                DEVICES_ORDER_REMOVE_MEDIA_TYPE => Ok(Command::RemoveOrder),
                _ => Err(unsupported()),
            },
            RequestTarget::Device(id) => match essence.as_str() {
                DEVICE_ACTIVATE_MEDIA_TYPE => parse_activate(id, body),
                DEVICE_UNLOCK_MEDIA_TYPE => Ok(Command::Unlock { id }),
                DEVICE_BLOCK_MEDIA_TYPE => Ok(Command::Block { id }),
                DEVICE_UNBLOCK_MEDIA_TYPE => Ok(Command::Unblock { id }),
                _ => Err(unsupported()),
            },
            RequestTarget::Nickname(id) => match essence.as_str() {
                APPLICATION_JSON => parse_nickname(id, body),
                _ => Err(unsupported()),
            },
        }
    }
}

impl Command {
    /// Draws what a `Create` needs from `rng` ([`DeviceSecrets::draw`] with the policy, the
    /// account name a TOTP key URI shows, and `now`) and puts it in the command; returns the
    /// activation passcode in clear (to send, or to show as `test.otp` of a test-mode device)
    /// when one was issued. Other commands are left as they are (`Ok(None)`).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rand_core::SeedableRng;
    /// use mfa_devices::device::{DeviceId, DeviceStatus, EnvironmentId, UserId};
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// use mfa_devices::user_devices::{Command, RequestTarget, UserDevices};
    /// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut create = Command::from_request("application/json", RequestTarget::Devices { new_id: id },
    ///     br#"{"type":"EMAIL","email":"jo@example.com"}"#).unwrap();
    /// let passcode = create.provision(&DeviceAuthenticationPolicy::default(), "jo@example.com",
    ///     &mut rng, now).unwrap().unwrap();                 // email it
    /// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// user.execute(create, now).unwrap();
    /// let activate = Command::Activate { id, otp: Some(passcode.code().into()) };
    /// user.execute(activate, now).unwrap();
    /// assert_eq!(user.device(&id).unwrap().status, DeviceStatus::Active);
    /// ```
    pub fn provision(
        &mut self,
        policy: &DeviceAuthenticationPolicy,
        account: &str,
        rng: &mut (impl CryptoRng + RngCore),
        now: DateTime<Utc>,
    ) -> Result<Option<ActivationPasscode>, OtpError> {
        match self {
            Self::Create {
                device, secrets, ..
            } => {
                let (drawn, passcode) = DeviceSecrets::draw(device, policy, account, rng, now)?;
                *secrets = drawn;
                Ok(passcode)
            }
            _ => Ok(None),
        }
    }
}

impl Command {
    /// The activation of a FIDO2 device from its activation body `{"origin", "attestation"}`
    /// (`attestation`: the JSON of the `PublicKeyCredential` of `navigator.credentials.create`,
    /// as a string — PingOne's form — or as an object), verified against the device's
    /// `publicKeyCredentialCreationOptions` by
    /// [`webauthn::verify_activation`](crate::webauthn::verify_activation): the
    /// [`ActivateFido2`](Self::ActivateFido2) command carrying the credential. `device` is the
    /// device as the user's aggregate holds it ([`UserDevices::device`](super::UserDevices::device)).
    ///
    /// Errors: 400 `INVALID_DATA` — `REQUIRED_VALUE` at `origin` or `attestation` when missing,
    /// `INVALID_VALUE` at the member a [`WebAuthnError`](crate::webauthn::WebAuthnError) names
    /// when the registration does not verify (nothing is recorded: the device stays
    /// ACTIVATION_REQUIRED).
    #[cfg(feature = "webauthn")]
    pub fn from_attestation(
        device: &crate::device::Device,
        body: &[u8],
    ) -> Result<Command, ApiError> {
        let value: Value = crate::json::from_slice(body).map_err(body_error)?;
        let Some(obj) = value.as_object() else {
            return Err(shape_error(
                "body",
                DetailCode::InvalidValue,
                "the body must be an object {\"origin\": …, \"attestation\": …}",
            ));
        };
        let Some(origin) = obj.get("origin").and_then(Value::as_str) else {
            return Err(shape_error(
                "origin",
                DetailCode::RequiredValue,
                "origin is required: the origin of the page that registered the authenticator",
            ));
        };
        let attestation = match obj.get("attestation") {
            Some(Value::String(text)) => text.clone(),
            Some(object @ Value::Object(_)) => object.to_string(),
            _ => {
                return Err(shape_error(
                    "attestation",
                    DetailCode::RequiredValue,
                    "attestation is required: the JSON of the credential navigator.credentials.create returned",
                ));
            }
        };
        let credential = crate::webauthn::verify_activation(device, origin, &attestation)?;
        Ok(Command::ActivateFido2 {
            id: device.id,
            credential,
        })
    }
}

/// Reads an activation body: `{"otp": "123456"}` (a number is read as its digits), or a FIDO2
/// attestation / empty body (no `otp`).
fn parse_activate(id: DeviceId, body: &[u8]) -> Result<Command, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Command::Activate { id, otp: None });
    }
    let value: Value = serde_json::from_slice(body).map_err(body_error)?;
    let Some(obj) = value.as_object() else {
        return Err(shape_error(
            "body",
            DetailCode::InvalidValue,
            "the body must be an object {\"otp\": \"<passcode>\"}",
        ));
    };
    let otp = match obj.get("otp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Secret::new(s.clone())),
        Some(Value::Number(n)) if n.is_u64() => Some(Secret::new(n.to_string())),
        Some(_) => {
            return Err(shape_error(
                "otp",
                DetailCode::InvalidValue,
                "otp must be the passcode, a string of digits",
            ));
        }
    };
    Ok(Command::Activate { id, otp })
}

/// A body that is not JSON (or not the expected shape), as `INVALID_DATA`.
fn body_error(e: serde_json::Error) -> ApiError {
    ApiError::invalid_data(
        VALIDATION_MESSAGE,
        vec![ErrorDetail::new(
            DetailCode::InvalidValue,
            "body",
            format!(
                "the request body is not valid: {} (line {}, column {})",
                crate::json::describe(&e),
                e.line(),
                e.column()
            ),
        )],
    )
}

fn shape_error(target: &str, code: DetailCode, message: &str) -> ApiError {
    ApiError::invalid_data(
        VALIDATION_MESSAGE,
        vec![ErrorDetail::new(code, target, message)],
    )
}

fn parse_reorder(body: &[u8]) -> Result<Command, ApiError> {
    let value: Value = crate::json::from_slice(body).map_err(body_error)?;
    let Some(obj) = value.as_object() else {
        return Err(shape_error(
            "body",
            DetailCode::InvalidValue,
            "the body must be an object {\"order\": [{\"id\": …}, …]}",
        ));
    };
    let Some(entries) = obj.get("order") else {
        return Err(shape_error(
            "order",
            DetailCode::RequiredValue,
            "order is required: [{\"id\": …}, …], the default device first",
        ));
    };
    let Some(entries) = entries.as_array() else {
        return Err(shape_error(
            "order",
            DetailCode::InvalidValue,
            "order must be an array [{\"id\": …}, …]",
        ));
    };
    let mut order = Vec::with_capacity(entries.len());
    let mut violations = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match entry.get("id").and_then(Value::as_str) {
            Some(text) => match text.parse::<DeviceId>() {
                Ok(id) => order.push(id),
                Err(_) => violations.push(OrderViolation::Unknown {
                    index,
                    id: None,
                    text: Some(text.to_owned()),
                }),
            },
            None => violations.push(OrderViolation::Malformed { index }),
        }
    }
    if violations.is_empty() {
        Ok(Command::Reorder { order })
    } else {
        Err(UserDevicesError::InvalidOrder(violations).into())
    }
}

fn parse_nickname(id: DeviceId, body: &[u8]) -> Result<Command, ApiError> {
    let value: Value = crate::json::from_slice(body).map_err(body_error)?;
    match value.as_object().map(|o| o.get("nickname")) {
        None => Err(shape_error(
            "body",
            DetailCode::InvalidValue,
            "the body must be an object {\"nickname\": \"…\"}",
        )),
        Some(None) => Err(shape_error(
            "nickname",
            DetailCode::RequiredValue,
            "nickname is required (an empty string removes it)",
        )),
        Some(Some(Value::Null)) => Ok(Command::SetNickname {
            id,
            nickname: String::new(),
        }),
        Some(Some(Value::String(s))) => Ok(Command::SetNickname {
            id,
            nickname: s.clone(),
        }),
        Some(Some(_)) => Err(shape_error(
            "nickname",
            DetailCode::InvalidValue,
            "nickname must be a string of at most 100 characters",
        )),
    }
}
