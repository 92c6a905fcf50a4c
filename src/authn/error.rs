//! [`FlowError`]: why a device authentication request was refused, and its PingOne answer.

use std::fmt;

use chrono::{DateTime, Utc};

use super::create::BodyProblem;
use super::rules::Unusable;
use super::wire::AuthenticationStatus;
use crate::device::DeviceId;
use crate::device::timestamp;
use crate::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE};
use crate::policy::PolicyError;
use crate::webauthn::WebAuthnError;

/// Why a step of a device authentication was refused (or, for the OTP / assertion outcomes,
/// what to answer). Reading an action's request ([`Action::from_request`](super::Action::from_request),
/// [`SelectDevice::from_json`](super::SelectDevice::from_json)) answers with
/// [`ApiError`] directly; reading the creation body
/// ([`CreateDeviceAuthentication::from_json`](super::CreateDeviceAuthentication::from_json))
/// answers with [`InvalidBody`](Self::InvalidBody) / [`UnreadableBody`](Self::UnreadableBody),
/// so that starting a flow has one error type.
///
/// Converts into PingOne's error body:
///
/// | variant | HTTP | `code` | detail |
/// |---|---|---|---|
/// | [`NotAllowed`](Self::NotAllowed) | 400 | `INVALID_REQUEST` | — (message names the status; **decision**) |
/// | [`UnknownDevice`](Self::UnknownDevice), [`UnusableDevice`](Self::UnusableDevice) | 400 | `INVALID_DATA` | `INVALID_VALUE` at `device.id` |
/// | [`InvalidOtp`](Self::InvalidOtp) | 400 | `INVALID_DATA` | `INVALID_OTP` at `otp`, `innerError.remainingAttempts` |
/// | [`OtpFailed`](Self::OtpFailed) | 400 | `INVALID_DATA` | `INVALID_OTP` at `otp`, `innerError.coolDownExpiresAt` when locked |
/// | [`OtpExpired`](Self::OtpExpired) | 400 | `INVALID_DATA` | `INVALID_OTP` at `otp`, message says it expired |
/// | [`OtpNotIssued`](Self::OtpNotIssued) | 400 | `REQUEST_FAILED` | — |
/// | [`AssertionRejected`](Self::AssertionRejected) | 400 | `INVALID_DATA` | `INVALID_VALUE` at `assertion` |
/// | [`AssertionInvalid`](Self::AssertionInvalid) | 400 | `INVALID_DATA` | `INVALID_VALUE` at `assertion` (`origin` for a refused origin), `innerError.remainingAttempts` / `coolDownExpiresAt` |
/// | [`AssertionNotIssued`](Self::AssertionNotIssued) | 400 | `REQUEST_FAILED` | — |
/// | [`InvalidBody`](Self::InvalidBody) | 400 | `INVALID_DATA` | one per problem, at the property (`user.id`, `selectedDevice.oneTime.phone`) |
/// | [`UnreadableBody`](Self::UnreadableBody) | 400 | `INVALID_REQUEST` | — |
/// | [`OneTimeDeviceUnsupported`](Self::OneTimeDeviceUnsupported) | 400 | `INVALID_DATA` | `INVALID_VALUE` at `selectedDevice.oneTime` |
/// | [`UnusablePolicy`](Self::UnusablePolicy), [`UnsupportedStoredVersion`](Self::UnsupportedStoredVersion), [`NotSynced`](Self::NotSynced), [`RequestMismatch`](Self::RequestMismatch), [`SecretNotHeld`](Self::SecretNotHeld), [`Internal`](Self::Internal) | 500 | `UNEXPECTED_ERROR` | — |
///
/// ```
/// use mfa_devices::authn::{AuthenticationStatus, FlowError};
/// use mfa_devices::error::ApiError;
/// let e = FlowError::NotAllowed { action: "otp.check", status: AuthenticationStatus::Completed };
/// let api = ApiError::from(e);
/// assert_eq!((api.code(), api.http_status()), ("INVALID_REQUEST", 400));
/// assert!(api.message.contains("COMPLETED"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlowError {
    /// The action is not allowed in the flow's current status.
    NotAllowed {
        /// The action (`device.select`, `otp.check`, `assertion.check`, `push.confirm`, …).
        action: &'static str,
        /// The status the flow is in.
        status: AuthenticationStatus,
    },
    /// The selected device is not one of the user's devices.
    UnknownDevice(DeviceId),
    /// The selected device exists but cannot authenticate now.
    UnusableDevice {
        /// The device.
        id: DeviceId,
        /// Why.
        reason: Unusable,
    },
    /// A wrong passcode; the flow stays in OTP_REQUIRED.
    InvalidOtp {
        /// Wrong passcodes still allowed before the challenge fails.
        remaining_attempts: u32,
    },
    /// A wrong passcode that reached the failure count: the challenge is over.
    OtpFailed {
        /// When the device's OTP lock ends (`None`: the policy's cool-down is zero, no lock).
        locked_until: Option<DateTime<Utc>>,
    },
    /// The passcode's lifetime is over (nothing was counted); select the device again for a new
    /// one.
    OtpExpired,
    /// No passcode was sent yet for the selected device (the server must call
    /// [`issue_otp`](super::DeviceAuthentication::issue_otp) after the selection).
    OtpNotIssued,
    /// The WebAuthn assertion was not verified.
    AssertionRejected {
        /// Failures still allowed before the device locks (`0` when this one locked it).
        remaining_attempts: u32,
        /// When the device's lock ends, when this failure locked it.
        locked_until: Option<DateTime<Utc>>,
    },
    /// The WebAuthn assertion was refused by the crate's verification
    /// (`DeviceAuthentication::check_assertion_webauthn`):
    /// `reason` says which check failed; counted as a failure like
    /// [`AssertionRejected`](Self::AssertionRejected).
    AssertionInvalid {
        /// The check that failed.
        reason: WebAuthnError,
        /// Failures still allowed before the device locks (`0` when this one locked it).
        remaining_attempts: u32,
        /// When the device's lock ends, when this failure locked it.
        locked_until: Option<DateTime<Utc>>,
    },
    /// `assertion.check` before [`issue_assertion`](super::DeviceAuthentication::issue_assertion)
    /// drew the challenge (nothing is counted).
    AssertionNotIssued,
    /// The device authentication policy cannot be used (a value at the path the error
    /// names); the server's configuration, answered with 500.
    UnusablePolicy(PolicyError),
    /// A [`StoredFlow`](super::StoredFlow) of a version this crate does not read (written by a
    /// newer release); answered with 500.
    UnsupportedStoredVersion(u32),
    /// A check or push answer on a flow loaded with
    /// [`from_stored`](super::DeviceAuthentication::from_stored) but not yet
    /// [`sync_with`](super::DeviceAuthentication::sync_with)ed with the user's devices: it
    /// would decide on devices and failure counts that may be stale (a device blocked, deleted or
    /// locked meanwhile, failures counted by another flow). A server bug, answered with 500.
    NotSynced,
    /// The creation body ([`CreateDeviceAuthentication`](super::CreateDeviceAuthentication))
    /// is not what the resource takes: every problem found, in document order (at most
    /// [`MAX_DETAILS`](crate::error::MAX_DETAILS)), each naming its property.
    InvalidBody {
        /// The problems listed.
        problems: Vec<BodyProblem>,
        /// Problems found beyond the listed ones (counted, not listed).
        omitted: usize,
    },
    /// The request body is not JSON, or not a JSON object; what was wrong (never the
    /// submitted value).
    UnreadableBody(String),
    /// `selectedDevice.oneTime`: this crate's flow authenticates only with the user's
    /// registered devices (a one-time device would need its own failure counting and delivery);
    /// answered with 400 naming `selectedDevice.oneTime`.
    OneTimeDeviceUnsupported,
    /// A creation request started on the state of another user (`user.id`) or under another
    /// policy (`policy.id`) than the request names. A server bug, answered with 500.
    RequestMismatch {
        /// The property that does not match (`user.id`, `policy.id`).
        target: &'static str,
    },
    /// [`check_authenticator_otp`](super::DeviceAuthentication::check_authenticator_otp) was
    /// called for a device whose secret the crate does not hold (a MOBILE or OATH_TOKEN
    /// device, or a TOTP device created without [`DeviceSecrets`](crate::user_devices::DeviceSecrets)):
    /// nothing was checked or counted. The server verifies such a code with the secret it
    /// keeps, through
    /// [`check_authenticator_otp_with`](super::DeviceAuthentication::check_authenticator_otp_with).
    /// A server bug, answered with 500.
    SecretNotHeld(DeviceId),
    /// The server gave the flow something it cannot use (too little randomness, a passcode
    /// check of the wrong kind). A server bug, answered with 500.
    Internal(String),
}

impl From<PolicyError> for FlowError {
    fn from(e: PolicyError) -> Self {
        Self::UnusablePolicy(e)
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAllowed { action, status } => write!(
                f,
                "'{action}' is not allowed while the device authentication is {status}"
            ),
            Self::UnknownDevice(id) => write!(f, "device {id} is not one of the user's devices"),
            Self::UnusableDevice { id, reason } => {
                write!(f, "device {id} cannot be used to authenticate: {reason}")
            }
            Self::InvalidOtp { remaining_attempts } => write!(
                f,
                "the one-time passcode is not valid ({remaining_attempts} attempts remaining)"
            ),
            Self::OtpFailed {
                locked_until: Some(t),
            } => write!(
                f,
                "the one-time passcode is not valid; too many attempts, the device is locked until {}",
                timestamp::format(t)
            ),
            Self::OtpFailed { locked_until: None } => f.write_str(
                "the one-time passcode is not valid; too many attempts, select the device again for a new one",
            ),
            Self::OtpExpired => f.write_str(
                "the one-time passcode has expired; select the device again for a new one",
            ),
            Self::OtpNotIssued => {
                f.write_str("no one-time passcode has been sent for the selected device")
            }
            Self::AssertionRejected {
                locked_until: Some(t),
                ..
            } => write!(
                f,
                "the assertion was not verified; too many attempts, the device is locked until {}",
                timestamp::format(t)
            ),
            Self::AssertionRejected {
                remaining_attempts,
                ..
            } => write!(
                f,
                "the assertion was not verified ({remaining_attempts} attempts remaining)"
            ),
            Self::AssertionInvalid {
                reason,
                locked_until: Some(t),
                ..
            } => write!(
                f,
                "the assertion was not verified ({reason}); too many attempts, the device is locked until {}",
                timestamp::format(t)
            ),
            Self::AssertionInvalid {
                reason,
                remaining_attempts,
                ..
            } => write!(
                f,
                "the assertion was not verified ({reason}); {remaining_attempts} attempts remaining"
            ),
            Self::AssertionNotIssued => f.write_str(
                "no assertion challenge has been issued for the selected device; read the flow for its publicKeyCredentialRequestOptions",
            ),
            Self::UnusablePolicy(e) => {
                write!(f, "the device authentication policy cannot be used: {e}")
            }
            Self::UnsupportedStoredVersion(v) => write!(
                f,
                "the stored device authentication has version {v}; this release reads versions 1 to {}",
                super::StoredFlow::CURRENT_VERSION
            ),
            Self::NotSynced => f.write_str(
                "the device authentication was not synced with the user's devices since it was loaded (call sync_with first)",
            ),
            Self::InvalidBody { problems, omitted } => {
                f.write_str("the request body is not valid")?;
                let mut sep = ": ";
                for p in problems {
                    write!(f, "{sep}{p}")?;
                    sep = "; ";
                }
                if *omitted > 0 {
                    write!(f, " (and {omitted} more)")?;
                }
                Ok(())
            }
            Self::UnreadableBody(m) => write!(f, "the request body could not be read: {m}"),
            Self::OneTimeDeviceUnsupported => f.write_str(
                "selectedDevice.oneTime: one-time devices are not supported; authenticate with one of the user's devices (selectedDevice.id, or none to choose)",
            ),
            Self::RequestMismatch { target } => write!(
                f,
                "the device authentication was started on state that does not match the request's {target}"
            ),
            Self::SecretNotHeld(id) => write!(
                f,
                "device {id} has no secret stored with it: its passcode must be verified by the server (check_authenticator_otp_with)"
            ),
            Self::Internal(m) => write!(f, "the device authentication could not proceed: {m}"),
        }
    }
}

impl std::error::Error for FlowError {}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        let message = e.to_string();
        let invalid = |code: DetailCode, target: &str| {
            ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![ErrorDetail::new(code, target, message.clone())],
            )
        };
        match &e {
            FlowError::NotAllowed { .. } => ApiError::invalid_request(message),
            FlowError::UnknownDevice(_) | FlowError::UnusableDevice { .. } => {
                invalid(DetailCode::InvalidValue, "device.id")
            }
            FlowError::InvalidOtp { remaining_attempts } => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                vec![
                    ErrorDetail::new(DetailCode::InvalidOtp, "otp", message.clone())
                        .with_inner("remainingAttempts", *remaining_attempts),
                ],
            ),
            FlowError::OtpFailed { locked_until } => {
                let mut d = ErrorDetail::new(DetailCode::InvalidOtp, "otp", message.clone());
                if let Some(t) = locked_until {
                    d = d.with_inner("coolDownExpiresAt", timestamp::format(t));
                }
                ApiError::invalid_data(VALIDATION_MESSAGE, vec![d])
            }
            FlowError::OtpExpired => invalid(DetailCode::InvalidOtp, "otp"),
            FlowError::OtpNotIssued => {
                ApiError::new(crate::error::ErrorCode::RequestFailed, message)
            }
            FlowError::AssertionRejected {
                remaining_attempts,
                locked_until,
            } => {
                let mut d =
                    ErrorDetail::new(DetailCode::InvalidValue, "assertion", message.clone())
                        .with_inner("remainingAttempts", *remaining_attempts);
                if let Some(t) = locked_until {
                    d = d.with_inner("coolDownExpiresAt", timestamp::format(t));
                }
                ApiError::invalid_data(VALIDATION_MESSAGE, vec![d])
            }
            FlowError::AssertionInvalid {
                reason,
                remaining_attempts,
                locked_until,
            } => {
                let mut d =
                    ErrorDetail::new(DetailCode::InvalidValue, reason.target(), message.clone())
                        .with_inner("remainingAttempts", *remaining_attempts);
                if let Some(t) = locked_until {
                    d = d.with_inner("coolDownExpiresAt", timestamp::format(t));
                }
                ApiError::invalid_data(VALIDATION_MESSAGE, vec![d])
            }
            FlowError::AssertionNotIssued => {
                ApiError::new(crate::error::ErrorCode::RequestFailed, message)
            }
            FlowError::InvalidBody { problems, omitted } => ApiError::invalid_data(
                VALIDATION_MESSAGE,
                problems
                    .iter()
                    .map(|p| {
                        let d =
                            ErrorDetail::new(p.code.clone(), p.target.clone(), p.message.clone());
                        if p.allowed_values.is_empty() {
                            d
                        } else {
                            d.with_inner(
                                crate::error::inner::ALLOWED_VALUES,
                                p.allowed_values.clone(),
                            )
                        }
                    })
                    .collect::<Vec<_>>(),
            )
            .with_omitted_details(*omitted),
            FlowError::UnreadableBody(_) => ApiError::invalid_request(message),
            FlowError::OneTimeDeviceUnsupported => {
                invalid(DetailCode::InvalidValue, "selectedDevice.oneTime")
            }
            FlowError::UnusablePolicy(_)
            | FlowError::UnsupportedStoredVersion(_)
            | FlowError::NotSynced
            | FlowError::RequestMismatch { .. }
            | FlowError::SecretNotHeld(_)
            | FlowError::Internal(_) => {
                ApiError::new(crate::error::ErrorCode::UnexpectedError, message)
            }
        }
    }
}
