//! [`UserDevicesError`]: why the aggregate refused a command, and its PingOne error body.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::device::timestamp::format;
use crate::device::{DeviceId, EnvironmentId, MAX_NICKNAME_CHARS, UserId};
use crate::error::{
    ApiError, DetailCode, ErrorCode, ErrorDetail, MAX_DETAILS, VALIDATION_MESSAGE, echo, inner,
};

/// What is wrong with one entry of a reorder request (see [`UserDevicesError::InvalidOrder`]).
///
/// ```
/// use mfa_devices::user_devices::OrderViolation;
/// let v = OrderViolation::Duplicate { index: 2, id: mfa_devices::device::DeviceId::from_bytes([1; 16]) };
/// assert_eq!(v.target(), "order[2].id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderViolation {
    /// `order` is empty (`REQUIRED_VALUE`, target `order`).
    Empty,
    /// `order[index].id` is not one of the user's devices (`INVALID_VALUE`).
    Unknown {
        /// Position in the request.
        index: usize,
        /// The id given (`None` when it is not a UUID at all).
        id: Option<DeviceId>,
        /// The text given, when it is not a UUID.
        text: Option<String>,
    },
    /// `order[index].id` was already listed earlier (`INVALID_VALUE`).
    Duplicate {
        /// Position of the repeated entry.
        index: usize,
        /// The repeated id.
        id: DeviceId,
    },
    /// `order[index].id` is a device that is not ACTIVE (`INVALID_VALUE`).
    NotActive {
        /// Position in the request.
        index: usize,
        /// The device.
        id: DeviceId,
    },
    /// An ACTIVE device is missing from the request (`CONSTRAINT_VIOLATION`, target `order`).
    Missing {
        /// The omitted device.
        id: DeviceId,
    },
    /// `order[index]` is not an object with an `id` string (`INVALID_VALUE`, from a request body).
    Malformed {
        /// Position in the request.
        index: usize,
    },
}

impl OrderViolation {
    /// The JSON path the violation is about: `order[i].id`, or `order` for a missing device or an
    /// empty list.
    pub fn target(&self) -> String {
        match self {
            Self::Empty | Self::Missing { .. } => "order".into(),
            Self::Unknown { index, .. }
            | Self::Duplicate { index, .. }
            | Self::NotActive { index, .. } => format!("order[{index}].id"),
            Self::Malformed { index } => format!("order[{index}]"),
        }
    }

    /// The error detail, PingOne-style.
    ///
    /// ```
    /// use mfa_devices::user_devices::OrderViolation;
    /// let d = OrderViolation::Empty.to_detail();
    /// assert_eq!((d.code.as_str(), d.target.as_deref()), ("REQUIRED_VALUE", Some("order")));
    /// ```
    pub fn to_detail(&self) -> ErrorDetail {
        let target = self.target();
        match self {
            Self::Empty => ErrorDetail::new(
                DetailCode::RequiredValue,
                target,
                "order must list every ACTIVE device of the user, first the default one",
            ),
            Self::Unknown { id: Some(id), .. } => ErrorDetail::new(
                DetailCode::InvalidValue,
                target,
                format!("device {id} is not one of the user's devices"),
            ),
            Self::Unknown { text, .. } => ErrorDetail::new(
                DetailCode::InvalidValue,
                target,
                format!(
                    "'{}' is not a device id (a UUID)",
                    echo(text.as_deref().unwrap_or_default())
                ),
            ),
            Self::Duplicate { id, .. } => ErrorDetail::new(
                DetailCode::InvalidValue,
                target,
                format!("device {id} is listed more than once"),
            ),
            Self::NotActive { id, .. } => ErrorDetail::new(
                DetailCode::InvalidValue,
                target,
                format!("device {id} is not ACTIVE; only ACTIVE devices are ordered"),
            ),
            Self::Missing { id } => ErrorDetail::new(
                DetailCode::ConstraintViolation,
                target,
                format!("ACTIVE device {id} is missing; the order must list every ACTIVE device"),
            ),
            Self::Malformed { .. } => ErrorDetail::new(
                DetailCode::InvalidValue,
                target,
                "each entry must be an object {\"id\": \"<device id>\"}",
            ),
        }
    }
}

/// What is wrong with a stored event log (see [`UserDevicesError::InvalidEventLog`]).
///
/// ```
/// use mfa_devices::user_devices::LogFault;
/// assert_ne!(LogFault::Gap { expected: 3 }, LogFault::Duplicate { expected: 3 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFault {
    /// The event's revision is past the next one: events in between are missing.
    Gap {
        /// The revision the next event must have.
        expected: u64,
    },
    /// The event's revision was already applied (a duplicate, or a log out of order).
    Duplicate {
        /// The revision the next event must have.
        expected: u64,
    },
    /// The event belongs to another environment or user.
    ForeignUser {
        /// The event's environment.
        environment: EnvironmentId,
        /// The event's user.
        user: UserId,
    },
}

/// Why the aggregate (or its constructors) refused something. Converts into PingOne's error
/// body with `ApiError::from`.
///
/// ```
/// use mfa_devices::error::ApiError;
/// use mfa_devices::user_devices::UserDevicesError;
/// let e = UserDevicesError::LimitExceeded { maximum: 5 };
/// assert!(e.to_string().contains("5"));
/// let api = ApiError::from(e);
/// assert_eq!((api.code(), api.http_status()), ("REQUEST_FAILED", 400));
/// assert_eq!(api.details[0].code.as_str(), "LIMIT_EXCEEDED");
/// assert_eq!(api.details[0].inner_error.as_ref().unwrap()["maximumAllowed"], 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UserDevicesError {
    /// The creation body broke [`NewDevice::validate`](crate::device::NewDevice::validate)'s rules
    /// (the `INVALID_DATA` error it reported).
    InvalidDevice(ApiError),
    /// The nickname is longer than [`MAX_NICKNAME_CHARS`] characters.
    NicknameTooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The nickname holds a control character (NUL, ESC, line breaks, …;
    /// [`has_control_characters`](crate::device::has_control_characters)).
    NicknameControlCharacters,
    /// A device with this id already exists.
    DuplicateId(DeviceId),
    /// No device with this id belongs to the user (404).
    NotFound(DeviceId),
    /// The user already has `maximum` ACTIVE or BLOCKED devices (`LIMIT_EXCEEDED`).
    LimitExceeded {
        /// The settings' `maxAllowedDevices`.
        maximum: u8,
    },
    /// The reorder request is not exactly the user's ACTIVE devices (one violation per bad
    /// entry).
    InvalidOrder(Vec<OrderViolation>),
    /// The device is already ACTIVE.
    AlreadyActive(DeviceId),
    /// The device is not ACTIVE (a push can only go to an active device).
    NotActive(DeviceId),
    /// A lock is in force on the device until `until` (`None`: until unlocked).
    Locked {
        /// The device.
        id: DeviceId,
        /// When the lock ends.
        until: Option<DateTime<Utc>>,
    },
    /// An administrator blocked the device.
    Blocked(DeviceId),
    /// `maxAllowedDevices` is outside 1–15.
    InvalidSettings {
        /// The value given.
        max_allowed_devices: u64,
    },
    /// The aggregate moved on since the caller read it (409 CONFLICT).
    StaleRevision {
        /// The revision the caller read.
        expected: u64,
        /// The current revision.
        actual: u64,
    },
    /// A snapshot given to a constructor is inconsistent (a server-side data error, 500).
    InvalidSnapshot(String),
    /// The device waits for its activation passcode (or TOTP code) and the request has none
    /// (`REQUIRED_VALUE` at `otp`).
    ActivationOtpRequired(DeviceId),
    /// The device's activation passcode expired (`INVALID_OTP` at `otp`; nothing counted): send
    /// a new one with [`Command::ResendActivation`](super::Command::ResendActivation).
    ActivationOtpExpired(DeviceId),
    /// A passcode was given, but none is pending for the device (never issued, or spent by
    /// reaching the failure count): send one with
    /// [`Command::ResendActivation`](super::Command::ResendActivation) (`REQUEST_FAILED`).
    NoActivationOtp(DeviceId),
    /// An activation passcode cannot be sent to this device (not SMS, EMAIL or VOICE, or not
    /// ACTIVATION_REQUIRED) (`INVALID_REQUEST`).
    ActivationNotSent(DeviceId),
    /// A TOTP code was accepted for a time step at or before the last one accepted (RFC 6238
    /// §5.2: a code is used once) (`INVALID_OTP` at `otp`).
    TotpReplayed(DeviceId),
    /// A FIDO2 device waiting for its registration (created with
    /// `publicKeyCredentialCreationOptions`) activates only with a verified credential
    /// ([`Command::ActivateFido2`](super::Command::ActivateFido2)), never unchecked
    /// (`INVALID_DATA` at `attestation`).
    AttestationRequired(DeviceId),
    /// The device is not a WebAuthn device (FIDO2, PLATFORM, SECURITY_KEY), or holds no
    /// registered credential, so a credential or an assertion cannot be recorded for it
    /// (`INVALID_REQUEST`).
    NotWebAuthn(DeviceId),
    /// An assertion's signature count that does not increase on the stored one (the same
    /// assertion recorded twice, or a cloned authenticator) (`INVALID_DATA` at `assertion`).
    SignCountNotIncreased {
        /// The device.
        id: DeviceId,
        /// The count stored.
        stored: u32,
        /// The count recorded.
        received: u32,
    },
    /// `now` lies outside the representable range (years 0000–9999): the server's clock is
    /// wrong; nothing was decided (500).
    TimeOutOfRange(crate::device::timestamp::OutOfRange),
    /// A stored event log does not continue the state it is replayed onto (a server-side data
    /// error, 500): the event at `revision` is a gap, a duplicate or another user's.
    InvalidEventLog {
        /// The revision the offending event carries.
        revision: u64,
        /// What is wrong with it.
        fault: LogFault,
    },
    /// The user's revision is `u64::MAX`: no further event can be numbered, so the command is
    /// refused rather than two events sharing a revision (500).
    RevisionExhausted,
}

impl fmt::Display for UserDevicesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidDevice(e) => fmt::Display::fmt(e, f),
            Self::NicknameTooLong { chars } => write!(
                f,
                "nickname has {chars} characters; at most {MAX_NICKNAME_CHARS} are allowed"
            ),
            Self::NicknameControlCharacters => f.write_str(
                "nickname must not contain control characters (U+0000–U+001F, U+007F–U+009F)",
            ),
            Self::DuplicateId(id) => write!(f, "a device with id {id} already exists"),
            Self::NotFound(id) => write!(f, "device {id} was not found for this user"),
            Self::LimitExceeded { maximum } => write!(
                f,
                "the user already has the maximum of {maximum} ACTIVE or BLOCKED devices"
            ),
            Self::InvalidOrder(violations) => {
                f.write_str("invalid device order")?;
                for v in violations.iter().take(MAX_DETAILS) {
                    let d = v.to_detail();
                    write!(f, "; {}: {}", v.target(), d.message)?;
                }
                match violations.len().saturating_sub(MAX_DETAILS) {
                    0 => Ok(()),
                    more => write!(f, "; and {more} more"),
                }
            }
            Self::AlreadyActive(id) => write!(f, "device {id} is already ACTIVE"),
            Self::NotActive(id) => write!(f, "device {id} is not ACTIVE"),
            Self::Locked { id, until: Some(t) } => {
                write!(f, "device {id} is locked until {}", format(t))
            }
            Self::Locked { id, until: None } => write!(f, "device {id} is locked until unlocked"),
            Self::Blocked(id) => write!(f, "device {id} is blocked by an administrator"),
            Self::InvalidSettings {
                max_allowed_devices,
            } => write!(
                f,
                "maxAllowedDevices is {max_allowed_devices}; it must be between 1 and 15"
            ),
            Self::StaleRevision { expected, actual } => write!(
                f,
                "the user's devices changed: revision {actual}, the request was made at revision {expected}"
            ),
            Self::InvalidSnapshot(msg) => write!(f, "inconsistent device snapshot: {msg}"),
            Self::ActivationOtpRequired(id) => write!(
                f,
                "device {id} is activated with the one-time passcode it was sent: otp is required"
            ),
            Self::ActivationOtpExpired(id) => write!(
                f,
                "the activation passcode of device {id} has expired; request a new one"
            ),
            Self::NoActivationOtp(id) => write!(
                f,
                "no activation passcode is pending for device {id}; request a new one"
            ),
            Self::ActivationNotSent(id) => write!(
                f,
                "device {id} does not take an activation passcode (only SMS, EMAIL and VOICE devices that are ACTIVATION_REQUIRED)"
            ),
            Self::TotpReplayed(id) => write!(
                f,
                "the passcode of device {id} was already used; wait for the next one"
            ),
            Self::AttestationRequired(id) => write!(
                f,
                "device {id} is activated with the attestation of its registration: send {{\"origin\", \"attestation\"}}"
            ),
            Self::NotWebAuthn(id) => write!(
                f,
                "device {id} is not a FIDO2 device with a registered credential"
            ),
            Self::SignCountNotIncreased {
                id,
                stored,
                received,
            } => write!(
                f,
                "the signature counter {received} of device {id} is not greater than the stored {stored}: the authenticator may have been cloned"
            ),
            Self::TimeOutOfRange(e) => write!(f, "{e}"),
            Self::InvalidEventLog { revision, fault } => match fault {
                LogFault::Gap { expected } => write!(
                    f,
                    "event log has a gap: the event at revision {revision} follows revision {}, it must be {expected}",
                    expected.saturating_sub(1)
                ),
                LogFault::Duplicate { expected } => write!(
                    f,
                    "event log repeats revision {revision} (or is out of order): the next event must be revision {expected}"
                ),
                LogFault::ForeignUser { environment, user } => write!(
                    f,
                    "the event at revision {revision} belongs to environment {environment} user {user}, not to this user"
                ),
            },
            Self::RevisionExhausted => f.write_str(
                "the user's revision is at its maximum (18446744073709551615); no further change can be recorded",
            ),
        }
    }
}

impl std::error::Error for UserDevicesError {}

impl From<UserDevicesError> for ApiError {
    /// The PingOne body and status:
    ///
    /// | error | HTTP | code | detail |
    /// |---|---|---|---|
    /// | `InvalidDevice` | 400 | `INVALID_DATA` | as reported |
    /// | `NicknameTooLong` | 400 | `INVALID_DATA` | `SIZE_LIMIT_EXCEEDED` at `nickname`, `maximumValue` |
    /// | `NicknameControlCharacters` | 400 | `INVALID_DATA` | `INVALID_VALUE` at `nickname` |
    /// | `DuplicateId` | 400 | `INVALID_DATA` | `UNIQUENESS_VIOLATION` at `id` |
    /// | `NotFound` | 404 | `NOT_FOUND` | |
    /// | `LimitExceeded` | 400 | `REQUEST_FAILED` | `LIMIT_EXCEEDED` at `maxAllowedDevices`, `maximumAllowed` |
    /// | `InvalidOrder` | 400 | `INVALID_DATA` | one per bad entry at `order[i].id` / `order` |
    /// | `AlreadyActive`, `NotActive` | 400 | `INVALID_REQUEST` | |
    /// | `Locked`, `Blocked` | 400 | `REQUEST_FAILED` | |
    /// | `InvalidSettings` | 400 | `INVALID_DATA` | `OUT_OF_RANGE` |
    /// | `StaleRevision` | 409 | `CONFLICT` | |
    /// | `InvalidSnapshot`, `InvalidEventLog`, `RevisionExhausted`, `TimeOutOfRange` | 500 | `UNEXPECTED_ERROR` | |
    /// | `ActivationOtpRequired` | 400 | `INVALID_DATA` | `REQUIRED_VALUE` at `otp` |
    /// | `ActivationOtpExpired`, `TotpReplayed` | 400 | `INVALID_DATA` | `INVALID_OTP` at `otp` |
    /// | `NoActivationOtp` | 400 | `REQUEST_FAILED` | |
    /// | `ActivationNotSent`, `NotWebAuthn` | 400 | `INVALID_REQUEST` | |
    /// | `AttestationRequired` | 400 | `INVALID_DATA` | `REQUIRED_VALUE` at `attestation` |
    /// | `SignCountNotIncreased` | 400 | `INVALID_DATA` | `INVALID_VALUE` at `assertion` |
    fn from(e: UserDevicesError) -> Self {
        let message = e.to_string();
        match e {
            UserDevicesError::InvalidDevice(api) => api,
            UserDevicesError::NicknameTooLong { .. } => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![
                    ErrorDetail::new(DetailCode::SizeLimitExceeded, "nickname", message)
                        .with_inner(inner::MAXIMUM_VALUE, MAX_NICKNAME_CHARS),
                ],
            ),
            UserDevicesError::NicknameControlCharacters => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(
                    DetailCode::InvalidValue,
                    "nickname",
                    message,
                )],
            ),
            UserDevicesError::DuplicateId(_) => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(
                    DetailCode::UniquenessViolation,
                    "id",
                    message,
                )],
            ),
            UserDevicesError::NotFound(_) => ApiError::not_found(message),
            UserDevicesError::LimitExceeded { maximum } => ApiError::new(
                ErrorCode::RequestFailed,
                "The request could not be completed.",
            )
            .with_detail(
                ErrorDetail::new(DetailCode::LimitExceeded, "maxAllowedDevices", message)
                    .with_inner(inner::MAXIMUM_ALLOWED, maximum),
            ),
            // Details for the first MAX_DETAILS only; the rest are counted, not built.
            UserDevicesError::InvalidOrder(violations) => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                violations
                    .iter()
                    .take(MAX_DETAILS)
                    .map(OrderViolation::to_detail),
            )
            .with_omitted_details(violations.len().saturating_sub(MAX_DETAILS)),
            UserDevicesError::AlreadyActive(_) | UserDevicesError::NotActive(_) => {
                ApiError::invalid_request(message)
            }
            UserDevicesError::Locked { .. } | UserDevicesError::Blocked(_) => {
                ApiError::new(ErrorCode::RequestFailed, message)
            }
            UserDevicesError::InvalidSettings { .. } => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![
                    ErrorDetail::new(DetailCode::OutOfRange, "maxAllowedDevices", message)
                        .with_inner(inner::RANGE_MINIMUM_VALUE, 1)
                        .with_inner(inner::RANGE_MAXIMUM_VALUE, 15),
                ],
            ),
            UserDevicesError::StaleRevision { .. } => ApiError::conflict(message),
            UserDevicesError::InvalidSnapshot(_)
            | UserDevicesError::InvalidEventLog { .. }
            | UserDevicesError::RevisionExhausted
            | UserDevicesError::TimeOutOfRange(_) => {
                ApiError::new(ErrorCode::UnexpectedError, message)
            }
            UserDevicesError::ActivationOtpRequired(_) => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(DetailCode::RequiredValue, "otp", message)],
            ),
            UserDevicesError::ActivationOtpExpired(_) | UserDevicesError::TotpReplayed(_) => {
                ApiError::invalid_data(
                    "The one-time passcode could not be verified.",
                    vec![ErrorDetail::new(DetailCode::InvalidOtp, "otp", message)],
                )
            }
            UserDevicesError::NoActivationOtp(_) => {
                ApiError::new(ErrorCode::RequestFailed, message)
            }
            UserDevicesError::ActivationNotSent(_) | UserDevicesError::NotWebAuthn(_) => {
                ApiError::invalid_request(message)
            }
            UserDevicesError::AttestationRequired(_) => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(
                    DetailCode::RequiredValue,
                    "attestation",
                    message,
                )],
            ),
            UserDevicesError::SignCountNotIncreased { .. } => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(
                    DetailCode::InvalidValue,
                    "assertion",
                    message,
                )],
            ),
        }
    }
}
