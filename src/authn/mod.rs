//! The device authentication flow (`{authPath}/{envID}/deviceAuthentications/{id}`): which
//! devices can authenticate, device selection, passcode / push / assertion outcomes, and
//! `NO_USABLE_DEVICES`.
//!
//! - [`DeviceAuthentication`]: the state machine, with private state
//!   ([`start`](DeviceAuthentication::start)
//!   from the user's [`UserDevices`](crate::user_devices::UserDevices) and the
//!   [`DeviceAuthenticationPolicy`](crate::policy::DeviceAuthenticationPolicy),
//!   [`select`](DeviceAuthentication::select), [`issue_otp`](DeviceAuthentication::issue_otp),
//!   [`check_otp`](DeviceAuthentication::check_otp), push answers, assertion checks), kept
//!   between requests as a typed, versioned [`StoredFlow`]
//!   ([`to_stored`](DeviceAuthentication::to_stored) /
//!   [`from_stored`](DeviceAuthentication::from_stored)); it is not `Serialize`.
//! - [`DeviceAuthenticationBody`]: the resource as PingOne writes it (serde, and
//!   [`to_json`](DeviceAuthenticationBody::to_json) with HAL `_links` per status).
//! - [`usability`] / [`is_usable`]: the usable-device rule, a pure function of a device, the
//!   [`FlowPolicy`](crate::policy::resolved::FlowPolicy), the browser's [`Compatibility`] and `now`.
//! - The creation body [`CreateDeviceAuthentication`] (`POST …/deviceAuthentications`, read
//!   with [`CreateDeviceAuthentication::from_json`], started with
//!   [`DeviceAuthentication::start_from`]).
//! - The request bodies ([`SelectDevice`], [`CheckOtp`], [`CheckAssertion`], [`CancelPush`]),
//!   their media types, and [`Action::from_request`] mapping a `Content-Type` and body to one.
//! - [`FlowError`], converting into PingOne's error body.
//!
//! Nothing here reads a clock or owns randomness: `now` and the CSPRNG a passcode is drawn from
//! are arguments (passcodes are drawn by the OTP engine, [`crate::otp::OtpChallenge`], and kept as
//! a salted hash; failures are counted by [`crate::lock::FailureRule`], as the aggregate counts
//! them).
//! The flow never changes the user's devices: every action that must be recorded on them (a
//! wrong or right passcode, a declined or ignored push) comes back as a [`DeviceRecord`]. The
//! round trip of a server, per request (`examples/round_trip.rs` walks through it):
//! 1. load the user's `UserDevices` (note its revision) and the flow
//!    ([`from_stored`](DeviceAuthentication::from_stored));
//! 2. [`sync_with`](DeviceAuthentication::sync_with) the aggregate: a device blocked, deleted
//!    or locked meanwhile ends the challenge, and the failure counts that decide are the
//!    aggregate's (shared by every flow of the user). A loaded flow refuses checks and push
//!    answers until it is synced ([`FlowError::NotSynced`]);
//! 3. call the flow;
//! 4. execute each record's [`to_command`](DeviceRecord::to_command) on the aggregate with
//!    `execute_at_revision(<the revision loaded>)` — a conflict means another request counted
//!    meanwhile: retry from 1 — then `sync_with` again (push-limit locks the flow cannot
//!    foresee);
//! 5. persist both.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mfa_devices::authn::{AuthenticationStatus, DeviceAuthentication};
//! use mfa_devices::device::*;
//! use mfa_devices::user_devices::{Command, UserDevices};
//! use mfa_devices::policy::DeviceAuthenticationPolicy;
//!
//! let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
//! let policy: DeviceAuthenticationPolicy =
//!     serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy/read_one.json"))).unwrap();
//! let mut devices = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
//! let mut email = NewDevice::new(DeviceType::Email);
//! email.email = Some("john@pingidentity.com".into());
//! email.status = Some(DeviceStatus::Active);
//! devices.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: email, secrets: Default::default() }, now).unwrap();
//!
//! let mut flow = DeviceAuthentication::start(&devices, &policy, uuid::Uuid::from_bytes([9; 16]), now).unwrap();
//! assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);   // the default device
//! let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7); // the server's CSPRNG
//! let sent = flow.issue_otp(&mut rng, now).unwrap();              // deliver sent.code by email
//! let wrong = flow.check_otp("00000000", now).unwrap();
//! for record in &wrong.records {
//!     devices.execute(record.to_command(), now).unwrap();          // the aggregate counts it
//! }
//! assert!(flow.check_otp(&sent.code, now).unwrap().is_success());
//! assert_eq!(flow.status(), AuthenticationStatus::Completed);
//! ```
//!
//! Decisions where PingOne publishes nothing (PingOne's own rules: [MFA Device
//! Authentications](https://developer.pingidentity.com/pingone-api/mfa/mfa-authentication/mfa-device-authentications.html); the decisions are also recorded in DESIGN.md):
//! - an action not allowed in the current status: 400 `INVALID_REQUEST` naming the status;
//! - links: ASSERTION_REQUIRED has `assertion.check`; PUSH_CONFIRMATION_REQUIRED has
//!   `device.select`;
//! - a wrong passcode: `INVALID_OTP` with `innerError.remainingAttempts`; the one that locks:
//!   `innerError.coolDownExpiresAt`;
//! - `compatibility` `NONE` hides FIDO2 devices, `SECURITY_KEY_ONLY` hides platform-bound ones;
//! - masking in `_embedded.devices`: `j****@pingidentity.com`, `+1*******00`;
//! - `unavailableDevices` lists exactly the devices that only a lock or a block keeps from
//!   being usable;
//! - a user without a device order (no default device) always selects; PROMPT_TO_SELECT
//!   selects the only usable device of an ordered user;
//! - from the policy: an absent section or `enabled` is disabled; OATH_TOKEN follows `totp`,
//!   PLATFORM / SECURITY_KEY follow `fido2`, BROWSER and unknown types never authenticate; an
//!   unknown `deviceSelection` reads as ALWAYS_DISPLAY_DEVICES;
//! - wrong passcodes count per device, continuing the aggregate's counter, across resends and
//!   re-selections; an expired passcode is not counted; a failed FIDO2 assertion counts like a
//!   wrong passcode (`fido2.failure`, lock reason OTP);
//! - a denied push fails the flow with `error.code` `PUSH_DENIED`; a push answer at or after
//!   `pushTimeout` times the push out instead;
//! - a test-mode device's passcode is written as the string `test.otp` (leading zeros kept);
//! - a terminal flow (COMPLETED, FAILED) never changes again.
//!
//! ```
//! use mfa_devices::authn::{DEVICE_SELECT_MEDIA_TYPE, Action, SelectDevice};
//! let body = br#"{"device":{"id":"ea055ca3-2b5b-4766-9628-95fc03f4ec9b"},"compatibility":"FULL"}"#;
//! let action = Action::from_request(DEVICE_SELECT_MEDIA_TYPE, body).unwrap();
//! assert!(matches!(action, Action::Select(SelectDevice { .. })));
//! ```

mod body;
mod create;
mod error;
mod flow;
mod rules;
mod stored;
mod wire;
mod wiring;

pub use body::DeviceAuthenticationBody;
pub use create::{
    AuthenticationNotification, AuthenticationTemplate, BodyProblem, CreateDeviceAuthentication,
    OneTimeAddress, OneTimeDevice, SelectedDevice,
};
pub use error::FlowError;

use crate::error::ApiError;
pub use flow::{
    DeviceAuthentication, DeviceRecord, DeviceSnapshot, IssuedOtp, OtpSource, Outcome,
    PushFailureKind,
};
pub use rules::{Unusable, is_usable, usability};
pub use stored::StoredFlow;
pub use wire::{
    AuthenticationStatus, CancelPush, CancelReason, CheckAssertion, CheckOtp, Compatibility,
    DeviceRef, DeviceView, Embedded, FailureCode, FlowFailure, SelectDevice,
};

/// `Content-Type` of a device selection.
///
/// ```
/// assert!(mfa_devices::authn::DEVICE_SELECT_MEDIA_TYPE.ends_with("device.select+json"));
/// ```
pub const DEVICE_SELECT_MEDIA_TYPE: &str = "application/vnd.pingidentity.device.select+json";

/// `Content-Type` of an OTP check.
///
/// ```
/// assert!(mfa_devices::authn::OTP_CHECK_MEDIA_TYPE.ends_with("otp.check+json"));
/// ```
pub const OTP_CHECK_MEDIA_TYPE: &str = "application/vnd.pingidentity.otp.check+json";

/// `Content-Type` of a WebAuthn assertion check.
///
/// ```
/// assert!(mfa_devices::authn::ASSERTION_CHECK_MEDIA_TYPE.ends_with("assertion.check+json"));
/// ```
pub const ASSERTION_CHECK_MEDIA_TYPE: &str = "application/vnd.pingidentity.assertion.check+json";

/// `Content-Type` of a push cancellation.
///
/// ```
/// assert!(mfa_devices::authn::CANCEL_PUSH_MEDIA_TYPE.ends_with("cancel.push.authentication+json"));
/// ```
pub const CANCEL_PUSH_MEDIA_TYPE: &str =
    "application/vnd.pingidentity.cancel.push.authentication+json";

/// One `POST` to a device authentication, read from its `Content-Type` and body.
///
/// ```
/// use mfa_devices::authn::{Action, OTP_CHECK_MEDIA_TYPE};
/// use mfa_devices::error::ApiError;
/// assert!(matches!(Action::from_request(OTP_CHECK_MEDIA_TYPE, br#"{"otp":"123456"}"#), Ok(Action::CheckOtp(_))));
/// let e: ApiError = Action::from_request("text/plain", b"").unwrap_err();
/// assert_eq!(e.http_status(), 415);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// [`DEVICE_SELECT_MEDIA_TYPE`].
    Select(SelectDevice),
    /// [`OTP_CHECK_MEDIA_TYPE`].
    CheckOtp(CheckOtp),
    /// [`ASSERTION_CHECK_MEDIA_TYPE`].
    CheckAssertion(CheckAssertion),
    /// [`CANCEL_PUSH_MEDIA_TYPE`].
    CancelPush(CancelPush),
}

impl Action {
    /// Reads a request. The media type is compared case-insensitively, ignoring parameters
    /// (`; charset=utf-8`); an unknown one → 415 `INVALID_REQUEST`
    /// ([`ApiError::unsupported_media_type`]). A body that is not what the media type takes →
    /// 400 naming the property (`INVALID_DATA`) or saying what was expected (`INVALID_REQUEST`).
    /// Enumerated values (`compatibility`, `reason`) must be PingOne's, exactly: an unknown or
    /// lower-case value (`"full"`, `"signout"`) is `INVALID_VALUE` at the property (decision —
    /// a lenient reading of `"none"` as an unknown value would hide nothing).
    ///
    /// Like [`Command::from_request`](crate::user_devices::Command::from_request), a request
    /// reader answers with [`ApiError`] directly; the flow's steps return [`FlowError`].
    pub fn from_request(media_type: &str, body: &[u8]) -> Result<Self, ApiError> {
        let essence = crate::media_type::essence(media_type);
        let parse = |what: &str| {
            let what = what.to_owned();
            move |e: serde_json::Error| {
                wire::unreadable_body(format!("{what}: {}", crate::json::describe(&e)))
            }
        };
        match essence.as_str() {
            DEVICE_SELECT_MEDIA_TYPE => SelectDevice::from_json(body).map(Self::Select),
            OTP_CHECK_MEDIA_TYPE => {
                let c: CheckOtp = crate::json::from_slice(body)
                    .map_err(parse("expected {\"otp\": \"<passcode>\"}"))?;
                Ok(Self::CheckOtp(c))
            }
            ASSERTION_CHECK_MEDIA_TYPE => {
                let mut c: CheckAssertion = crate::json::from_slice(body).map_err(parse(
                    "expected {\"origin\", \"assertion\", \"compatibility\"?}",
                ))?;
                c.compatibility = c.compatibility.map(wire::known_compatibility).transpose()?;
                Ok(Self::CheckAssertion(c))
            }
            CANCEL_PUSH_MEDIA_TYPE => {
                if body.iter().all(u8::is_ascii_whitespace) {
                    return Ok(Self::CancelPush(CancelPush::default()));
                }
                let mut c: CancelPush = crate::json::from_slice(body).map_err(parse(
                    "expected {\"reason\": \"CHANGE_DEVICE\" | \"SIGNOUT\" | \"ADD_DEVICE\"}",
                ))?;
                c.reason = wire::known_reason(c.reason)?;
                Ok(Self::CancelPush(c))
            }
            _ => Err(ApiError::unsupported_media_type(media_type)),
        }
    }
}
