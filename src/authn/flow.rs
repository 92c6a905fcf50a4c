//! [`DeviceAuthentication`]: the resource and its state machine.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::body::DeviceAuthenticationBody;
use super::error::FlowError;
use super::rules::{Unusable, usability};
use super::wire::{
    AuthenticationStatus, CancelPush, CheckAssertion, Compatibility, DeviceView, Embedded,
    FailureCode, FlowFailure, SelectDevice,
};
use crate::api_base::ApiBase;
use crate::device::timestamp;
use crate::device::{
    Device, DeviceDetails, DeviceId, DeviceType, EnvironmentId, IdRef, LockReason, LockState,
    TestOtp, UserId,
};
use crate::lock::{FailureRule, PushLimitRule, millis};
use crate::otp::{OtpChallenge, SealedPasscode, TotpVerdict};
use crate::policy::resolved::{FlowPolicy, SelectionMode};
use crate::user_devices::UserDevices;
use rand_core::{CryptoRng, RngCore};

/// The user's devices as the flow sees them when it starts: every device in the aggregate's
/// list order, and the user's device order (`expand=order`; empty for an unordered user, who
/// has no default device).
///
/// ```
/// use mfa_devices::authn::DeviceSnapshot;
/// use mfa_devices::device::{EnvironmentId, UserId};
/// let s = DeviceSnapshot::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// assert!(s.devices.is_empty() && s.order.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSnapshot {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// The user.
    pub user_id: UserId,
    /// Every device of the user, in list order.
    pub devices: Vec<Device>,
    /// The device order (the first entry is the default device); empty when unordered.
    pub order: Vec<DeviceId>,
    /// Wrong passcodes already counted against each device by the aggregate (its failure
    /// counters); absent devices have none. The flow continues this count, so that it locks a
    /// device exactly when the aggregate does.
    pub otp_failures: BTreeMap<DeviceId, u32>,
}

impl DeviceSnapshot {
    /// A user without devices.
    pub fn new(environment_id: EnvironmentId, user_id: UserId) -> Self {
        Self {
            environment_id,
            user_id,
            devices: Vec::new(),
            order: Vec::new(),
            otp_failures: BTreeMap::new(),
        }
    }
}

/// The authentication API's resource URLs.
impl ApiBase {
    /// `{base}/{env}/deviceAuthentications/{id}`, on an authentication API base.
    ///
    /// ```
    /// use mfa_devices::api_base::ApiBase;
    /// use mfa_devices::device::EnvironmentId;
    /// let href = ApiBase::new("https://auth.pingone.eu").device_authentication(
    ///     &EnvironmentId::from_bytes([1; 16]), &uuid::Uuid::nil());
    /// assert_eq!(href, "https://auth.pingone.eu/01010101-0101-0101-0101-010101010101\
    ///     /deviceAuthentications/00000000-0000-0000-0000-000000000000");
    /// ```
    pub fn device_authentication(&self, environment: &EnvironmentId, id: &Uuid) -> String {
        format!("{}/{environment}/deviceAuthentications/{id}", self.as_str())
    }
}

/// What the server must record on the user's device aggregate after an action, because the
/// aggregate alone owns lock state (the flow mirrors a lock it causes in its own snapshot).
///
/// **The round trip** (see the [module documentation](super)): the server loads the aggregate
/// and the flow, [`sync_with`](DeviceAuthentication::sync_with)s the flow (a loaded flow
/// refuses checks until then), calls the flow (`check_otp`, `push_denied`, `expire`, …),
/// executes every returned record on the aggregate as the matching `user_devices::Command`
/// (an [`OtpFailure`](Self::OtpFailure) is `RecordOtpFailure` with the method's failure rule,
/// an [`OtpSuccess`](Self::OtpSuccess) is `RecordOtpSuccess`, a
/// [`PushFailure`](Self::PushFailure) is `RecordPushRejected` with the application's push
/// limit) under the revision it loaded, then persists both. The failure count that decides is
/// the aggregate's ([`DeviceSnapshot::otp_failures`], taken at every sync), counted by the
/// same rule ([`FailureRule::record`]), so both agree on when a device locks.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mfa_devices::authn::DeviceRecord;
/// use mfa_devices::device::DeviceId;
/// use mfa_devices::lock::FailureRule;
/// let r = DeviceRecord::OtpFailure { device: DeviceId::from_bytes([1; 16]),
///     at: DateTime::<Utc>::UNIX_EPOCH, rule: FailureRule::DEFAULT_AUTHENTICATOR };
/// assert_eq!(r.device(), DeviceId::from_bytes([1; 16]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceRecord {
    /// A wrong passcode (or a failed FIDO2 assertion: PingOne's lock reasons are only OTP and
    /// PUSH) at `at`; reaching the rule's count locks the device for its cool-down.
    OtpFailure {
        /// The device.
        device: DeviceId,
        /// When.
        at: DateTime<Utc>,
        /// The method's failure rule from the policy.
        rule: FailureRule,
    },
    /// A right passcode or a verified assertion: the device's failure counter restarts.
    OtpSuccess {
        /// The device.
        device: DeviceId,
    },
    /// A right TOTP code, accepted for time step `step`
    /// ([`check_authenticator_otp`](DeviceAuthentication::check_authenticator_otp)):
    /// the failure counter restarts and the aggregate keeps `step` as the device's last used
    /// one ([`Command::RecordTotpSuccess`](crate::user_devices::Command::RecordTotpSuccess)),
    /// so the code cannot be used again.
    TotpSuccess {
        /// The device.
        device: DeviceId,
        /// The time step the code was accepted for.
        step: u64,
    },
    /// A verified WebAuthn assertion
    /// (`DeviceAuthentication::check_assertion_webauthn`, feature
    /// `webauthn`): the failure counter restarts and the aggregate keeps `sign_count` as the
    /// credential's signature counter
    /// ([`Command::RecordAssertionSuccess`](crate::user_devices::Command::RecordAssertionSuccess)),
    /// so the same assertion cannot be used again.
    AssertionSuccess {
        /// The device.
        device: DeviceId,
        /// The authenticator's signature counter in the assertion.
        sign_count: u32,
    },
    /// A declined or ignored (timed out) push at `at`. The aggregate may lock the device for
    /// it (the application's push limit), which the flow cannot foresee: call
    /// [`sync_with`](DeviceAuthentication::sync_with) after executing it.
    PushFailure {
        /// The device.
        device: DeviceId,
        /// When.
        at: DateTime<Utc>,
        /// Declined or ignored.
        kind: PushFailureKind,
        /// The application's push limit.
        rule: PushLimitRule,
    },
}

impl DeviceRecord {
    /// The device the record is about.
    pub fn device(&self) -> DeviceId {
        match self {
            Self::OtpFailure { device, .. }
            | Self::OtpSuccess { device }
            | Self::TotpSuccess { device, .. }
            | Self::AssertionSuccess { device, .. }
            | Self::PushFailure { device, .. } => *device,
        }
    }
}

/// How a push failed.
///
/// ```
/// assert_ne!(mfa_devices::authn::PushFailureKind::Declined, mfa_devices::authn::PushFailureKind::Ignored);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushFailureKind {
    /// The user denied it.
    Declined,
    /// Not answered within the application's `pushTimeout`.
    Ignored,
}

/// The result of a check (OTP, assertion, push answer): what to record on the aggregate, and
/// the answer. `result` is `Ok` when the flow moved on (COMPLETED, or FAILED after a denied
/// push), or the error to answer with; either way `records` must be executed.
///
/// ```
/// let o = mfa_devices::authn::Outcome { records: vec![], result: Ok(()) };
/// assert!(o.is_success());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "the records must be executed on the aggregate"]
pub struct Outcome {
    /// To execute on the user's device aggregate.
    pub records: Vec<DeviceRecord>,
    /// The answer.
    pub result: Result<(), FlowError>,
}

impl Outcome {
    /// Whether the check succeeded.
    pub fn is_success(&self) -> bool {
        self.result.is_ok()
    }

    fn ok(records: Vec<DeviceRecord>) -> Self {
        Self {
            records,
            result: Ok(()),
        }
    }
}

/// Where the expected passcode comes from.
///
/// ```
/// assert_ne!(mfa_devices::authn::OtpSource::Sent, mfa_devices::authn::OtpSource::Authenticator);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OtpSource {
    /// Sent by the server (SMS, EMAIL, VOICE, WHATSAPP): call
    /// [`issue_otp`](DeviceAuthentication::issue_otp), deliver the code, then
    /// [`check_otp`](DeviceAuthentication::check_otp).
    Sent,
    /// Computed by the device (TOTP, OATH_TOKEN, MOBILE without push): verified against the
    /// TOTP secret stored with the device by
    /// [`check_authenticator_otp`](DeviceAuthentication::check_authenticator_otp), or, for a
    /// secret kept outside the crate, by the server through
    /// [`check_authenticator_otp_with`](DeviceAuthentication::check_authenticator_otp_with).
    Authenticator,
}

/// A passcode to deliver to the selected device. `Debug` never prints the code.
///
/// ```
/// use chrono::{DateTime, Utc};
/// use mfa_devices::authn::IssuedOtp;
/// use mfa_devices::device::DeviceId;
/// let sent = IssuedOtp { device: DeviceId::from_bytes([1; 16]), code: "123456".into(),
///     expires_at: DateTime::<Utc>::UNIX_EPOCH, test_mode: false };
/// assert!(!format!("{sent:?}").contains("123456"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedOtp {
    /// The device to send it to.
    pub device: DeviceId,
    /// The passcode.
    pub code: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
    /// A test-mode device: do not send; the flow's body carries it as `test.otp`.
    pub test_mode: bool,
}

impl std::fmt::Debug for IssuedOtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedOtp")
            .field("device", &self.device)
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("test_mode", &self.test_mode)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    tag = "awaiting",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
enum Pending {
    #[default]
    Nothing,
    Sent {
        device: DeviceId,
        code: Option<SealedPasscode>,
        test_mode: bool,
    },
    Authenticator {
        device: DeviceId,
    },
    Push {
        device: DeviceId,
        started_at: DateTime<Utc>,
        #[serde(with = "millis")]
        timeout: TimeDelta,
        #[serde(rename = "limit")]
        rule: PushLimitRule,
    },
    Assertion {
        device: DeviceId,
        /// The challenge issued (`issue_assertion`), unpadded base64url.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        challenge: Option<String>,
    },
}

/// The flow's private state; serialized only inside a [`StoredFlow`](super::StoredFlow).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FlowState {
    devices: Vec<Device>,
    policy: FlowPolicy,
    pending: Pending,
    otp_failures: BTreeMap<DeviceId, u32>,
}

/// A device authentication (`deviceAuthentications/{id}`): the state machine that drives one
/// authentication, and the resource it shows.
///
/// Its state — the resource ([`body`](Self::body), rendered with [`to_json`](Self::to_json)),
/// the device snapshot, the resolved policy, the pending passcode or push, the failure
/// counters — is private and changes only through the actions below. It is deliberately
/// **not** `Serialize`/`Deserialize`: a flow is persisted between requests only as its typed,
/// versioned [`StoredFlow`](super::StoredFlow) ([`to_stored`](Self::to_stored) /
/// [`from_stored`](Self::from_stored)), which keeps all of it (a serde copy of the body alone
/// would lose the state and refuse every action after reloading).
///
/// ```compile_fail
/// fn storable<T: serde::Serialize>() {}
/// storable::<mfa_devices::authn::DeviceAuthentication>(); // store `to_stored()` instead
/// ```
///
/// ```compile_fail
/// fn loadable<T: serde::de::DeserializeOwned>() {}
/// loadable::<mfa_devices::authn::DeviceAuthentication>(); // load a `StoredFlow` instead
/// ```
///
/// Statuses and transitions ([MFA Device Authentications](https://developer.pingidentity.com/pingone-api/mfa/mfa-authentication/mfa-device-authentications.html);
/// the crate's decisions are listed in the [module docs](crate::authn)):
///
/// | status | actions |
/// |---|---|
/// | DEVICE_SELECTION_REQUIRED | [`select`](Self::select) |
/// | OTP_REQUIRED | [`check_otp`](Self::check_otp) / [`check_authenticator_otp`](Self::check_authenticator_otp) (or [`check_authenticator_otp_with`](Self::check_authenticator_otp_with)), [`select`](Self::select) |
/// | ASSERTION_REQUIRED | [`issue_assertion`](Self::issue_assertion), then `check_assertion_webauthn` (feature `webauthn`) or [`check_assertion`](Self::check_assertion), [`select`](Self::select) |
/// | PUSH_CONFIRMATION_REQUIRED | [`push_approved`](Self::push_approved) → COMPLETED, [`push_denied`](Self::push_denied) → FAILED, [`expire`](Self::expire) after `pushTimeout` → PUSH_CONFIRMATION_TIMED_OUT, [`cancel_push`](Self::cancel_push) → DEVICE_SELECTION_REQUIRED, [`select`](Self::select) |
/// | PUSH_CONFIRMATION_TIMED_OUT | [`select`](Self::select) |
/// | COMPLETED, FAILED | none |
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::api_base::ApiBase;
/// use mfa_devices::authn::*;
/// use mfa_devices::policy::resolved::*;
/// use mfa_devices::device::*;
/// let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let mut email = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Email,
///     DeviceStatus::Active, now);
/// email.details = DeviceDetails::Email(EmailDetails { email: Some("john@pingidentity.com".into()),
///     ..Default::default() });
/// let mut snapshot = DeviceSnapshot::new(env, user);
/// snapshot.order = vec![email.id];
/// snapshot.devices = vec![email.clone()];
///
/// let mut flow = DeviceAuthentication::start_with(snapshot, FlowPolicy::all_enabled(),
///     uuid::Uuid::from_bytes([9; 16]), now).unwrap();
/// assert_eq!(flow.status(), AuthenticationStatus::OtpRequired); // the default device
/// let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1); // the server's CSPRNG
/// let sent = flow.issue_otp(&mut rng, now).unwrap();     // deliver sent.code by email
/// let outcome = flow.check_otp(&sent.code, now).unwrap();
/// assert!(outcome.is_success());
/// assert_eq!(outcome.records, vec![DeviceRecord::OtpSuccess { device: email.id }]);
/// assert_eq!(flow.status(), AuthenticationStatus::Completed);
/// let json = flow.to_json(&ApiBase::new("https://auth.pingone.com"));
/// assert_eq!(json["_embedded"]["devices"][0]["email"], "j****@pingidentity.com");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceAuthentication {
    body: DeviceAuthenticationBody,
    state: FlowState,
    synced: Synced,
}

/// Whether the flow's device snapshot was brought up to date with the aggregate since the flow
/// was loaded ([`DeviceAuthentication::from_stored`]): the checks decide only on a synced flow.
/// Not part of the flow's value (equality ignores it; a stored flow never holds it).
#[derive(Debug, Clone, Copy)]
struct Synced(bool);

impl PartialEq for Synced {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// `t + d`, clamped into the representable range (`timestamp::add_clamped`).
fn saturating_add(t: DateTime<Utc>, d: TimeDelta) -> DateTime<Utc> {
    timestamp::add_clamped(t, d)
}

fn test_mode(device: &Device) -> bool {
    match &device.details {
        DeviceDetails::Email(e) => e.test_mode == Some(true),
        DeviceDetails::Phone(p) => p.test_mode == Some(true),
        _ => false,
    }
}

fn push_enabled(device: &Device) -> bool {
    match &device.details {
        DeviceDetails::Mobile(m) => m.push_enabled != Some(false),
        _ => false,
    }
}

impl DeviceAuthentication {
    /// Starts a flow for the devices of `snapshot` under `policy`, at `now`.
    ///
    /// - No usable device ([`usability`]): FAILED with `NO_USABLE_DEVICES`, the message
    ///   `Couldn't find authenticating device for user: {userID}` (PingOne's example in
    ///   [MFA Devices, "Device failure in flows"](https://developer.pingidentity.com/pingone-api/mfa/users/mfa-devices.html)) and
    ///   `unavailableDevices` = exactly the devices that only a lock or a block keeps out.
    /// - `DEFAULT_TO_FIRST`: the default device — the first usable device of the order — is
    ///   selected (OTP_REQUIRED, PUSH_CONFIRMATION_REQUIRED or ASSERTION_REQUIRED).
    /// - `PROMPT_TO_SELECT`: the same when exactly one device is usable, else
    ///   DEVICE_SELECTION_REQUIRED.
    /// - `ALWAYS_DISPLAY_DEVICES`, and any user without an order (no default device):
    ///   DEVICE_SELECTION_REQUIRED.
    ///
    /// `_embedded.devices` lists the usable devices in list order. `Err` is never returned
    /// today; it is kept for policies the flow cannot use.
    pub fn start_with(
        snapshot: DeviceSnapshot,
        policy: FlowPolicy,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, FlowError> {
        Self::start_selecting(snapshot, policy, id, now, None, None)
    }

    /// [`start_with`](Self::start_with), with the browser's `compatibility` applied to the
    /// usable devices from the start, and `selected` (a creation body's `selectedDevice.id`)
    /// entered right away whatever the policy's `deviceSelection`: an unknown device is
    /// [`FlowError::UnknownDevice`], one not usable now [`FlowError::UnusableDevice`]
    /// (nothing is started).
    pub(super) fn start_selecting(
        snapshot: DeviceSnapshot,
        policy: FlowPolicy,
        id: Uuid,
        now: DateTime<Utc>,
        compatibility: Option<Compatibility>,
        selected: Option<DeviceId>,
    ) -> Result<Self, FlowError> {
        let now = timestamp::check(now).map_err(|e| FlowError::Internal(e.to_string()))?;
        let mut flow = Self {
            body: DeviceAuthenticationBody::new(
                id,
                snapshot.environment_id,
                snapshot.user_id,
                policy.id,
                now,
            ),
            state: FlowState {
                devices: snapshot.devices,
                policy,
                pending: Pending::Nothing,
                otp_failures: snapshot.otp_failures,
            },
            // Started from the aggregate's state just now.
            synced: Synced(true),
        };
        flow.body.compatibility = compatibility;
        if let Some(device) = selected {
            let d = flow
                .device(device)
                .ok_or(FlowError::UnknownDevice(device))?;
            flow.usability_of(d, flow.body.compatibility.as_ref(), now)
                .map_err(|reason| FlowError::UnusableDevice { id: device, reason })?;
            flow.enter(device, now);
            return Ok(flow);
        }
        let usable = flow.usable_ids(now);
        if usable.is_empty() {
            flow.fail_no_usable(now);
            return Ok(flow);
        }
        let auto = if snapshot.order.is_empty() {
            None
        } else {
            match flow.state.policy.selection {
                SelectionMode::DefaultToFirst => snapshot
                    .order
                    .iter()
                    .find(|id| usable.contains(id))
                    .copied(),
                SelectionMode::PromptToSelect => match usable.as_slice() {
                    [only] => Some(*only),
                    _ => None,
                },
                SelectionMode::AlwaysDisplayDevices => None,
            }
        };
        match auto {
            Some(device) => flow.enter(device, now),
            None => flow.require_selection(now),
        }
        Ok(flow)
    }

    /// The resource the flow shows (render it with [`to_json`](Self::to_json)).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// let flow = start(vec![mk(3, DeviceType::Sms)], FlowPolicy::all_enabled());
    /// let body = flow.body();
    /// assert_eq!((body.id, body.status.clone()), (flow.id(), flow.status()));
    /// ```
    pub fn body(&self) -> &DeviceAuthenticationBody {
        &self.body
    }

    /// The flow's id.
    pub fn id(&self) -> Uuid {
        self.body.id
    }

    /// The environment.
    pub fn environment_id(&self) -> EnvironmentId {
        self.body.environment.id
    }

    /// The user authenticating.
    pub fn user_id(&self) -> UserId {
        self.body.user.id
    }

    /// The status.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// let flow = start(vec![], FlowPolicy::all_enabled());
    /// assert_eq!(flow.status(), AuthenticationStatus::Failed);
    /// ```
    pub fn status(&self) -> AuthenticationStatus {
        self.body.status.clone()
    }

    /// Why a FAILED flow failed (`error`).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// let flow = start(vec![], FlowPolicy::all_enabled());
    /// assert_eq!(flow.error().map(|e| e.code.clone()), Some(FailureCode::NoUsableDevices));
    /// ```
    pub fn error(&self) -> Option<&FlowFailure> {
        self.body.error.as_ref()
    }

    /// `_embedded`: the devices the user can choose from (masked), in list order.
    pub fn embedded(&self) -> Option<&Embedded> {
        self.body.embedded.as_ref()
    }

    /// The browser's WebAuthn capability the flow works with.
    pub fn compatibility(&self) -> Option<&Compatibility> {
        self.body.compatibility.as_ref()
    }

    /// `test.otp`: the passcode of a test-mode device (the body carries it by design).
    pub fn test_otp(&self) -> Option<&TestOtp> {
        self.body.test.as_ref()
    }

    /// When the flow started.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.body.created_at
    }

    /// When the flow last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.body.updated_at
    }

    /// The resolved policy the flow runs under.
    pub fn policy(&self) -> &FlowPolicy {
        &self.state.policy
    }

    /// The failure counters the flow works with, per device (continued from the aggregate's).
    pub fn otp_failures(&self) -> &BTreeMap<DeviceId, u32> {
        &self.state.otp_failures
    }

    /// The selected device's id (in DEVICE_SELECTION_REQUIRED, the one last tried).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let flow = start(vec![mk(3, DeviceType::Sms), mk(4, DeviceType::Email)], FlowPolicy::all_enabled());
    /// assert_eq!(flow.selected_device(), Some(DeviceId::from_bytes([3; 16])));
    /// ```
    pub fn selected_device(&self) -> Option<DeviceId> {
        self.body.selected_device.map(|r| r.id)
    }

    /// The devices of the flow's snapshot, in list order.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let flow = start(vec![mk(3, DeviceType::Sms), mk(4, DeviceType::Browser)], FlowPolicy::all_enabled());
    /// assert_eq!(flow.devices().len(), 2);
    /// ```
    pub fn devices(&self) -> &[Device] {
        &self.state.devices
    }

    /// The devices usable at `now` under the flow's policy and compatibility, in list order.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let flow = start(vec![mk(3, DeviceType::Sms), mk(4, DeviceType::Browser)], FlowPolicy::all_enabled());
    /// let usable: Vec<_> = flow.usable_devices(now).iter().map(|d| d.device_type.clone()).collect();
    /// assert_eq!(usable, vec![DeviceType::Sms]);
    /// ```
    pub fn usable_devices(&self, now: DateTime<Utc>) -> Vec<&Device> {
        let now = timestamp::clamp(now).max(self.body.updated_at);
        self.state
            .devices
            .iter()
            .filter(|d| {
                self.usability_of(d, self.body.compatibility.as_ref(), now)
                    .is_ok()
            })
            .collect()
    }

    /// Where the expected passcode comes from (`None` unless OTP_REQUIRED).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let flow = start(vec![mk(3, DeviceType::Sms)], FlowPolicy::all_enabled());
    /// assert_eq!(flow.otp_source(), Some(OtpSource::Sent));
    /// ```
    pub fn otp_source(&self) -> Option<OtpSource> {
        match self.state.pending {
            Pending::Sent { .. } => Some(OtpSource::Sent),
            Pending::Authenticator { .. } => Some(OtpSource::Authenticator),
            _ => None,
        }
    }

    /// When a pending push times out (`None` unless PUSH_CONFIRMATION_REQUIRED).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let flow = start(vec![phone], mobile_policy);
    /// assert_eq!(flow.status(), AuthenticationStatus::PushConfirmationRequired);
    /// assert_eq!(flow.push_deadline(), Some(now + TimeDelta::seconds(40)));
    /// ```
    pub fn push_deadline(&self) -> Option<DateTime<Utc>> {
        match self.state.pending {
            Pending::Push {
                started_at,
                timeout,
                ..
            } => Some(saturating_add(started_at, timeout)),
            _ => None,
        }
    }

    fn usability_of(
        &self,
        device: &Device,
        compatibility: Option<&Compatibility>,
        now: DateTime<Utc>,
    ) -> Result<(), Unusable> {
        usability(device, &self.state.policy, compatibility, now)
    }

    fn usable_ids(&self, now: DateTime<Utc>) -> Vec<DeviceId> {
        self.usable_devices(now).iter().map(|d| d.id).collect()
    }

    fn device(&self, id: DeviceId) -> Option<&Device> {
        self.state.devices.iter().find(|d| d.id == id)
    }

    /// The time a step runs at: `now` truncated to milliseconds, refused when outside the
    /// representable range (years 0000–9999; nothing is written), and never earlier than the
    /// flow's `updatedAt` — a clock that goes backwards is treated as standing still, so an
    /// expired passcode or push stays expired and `updatedAt` never goes back.
    fn clock(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, FlowError> {
        let now = timestamp::check(now).map_err(|e| FlowError::Internal(e.to_string()))?;
        Ok(now.max(self.body.updated_at))
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.body.updated_at = timestamp::truncate_millis(now).max(self.body.updated_at);
    }

    fn refresh_embedded(&mut self, now: DateTime<Utc>) {
        let devices = self
            .usable_devices(now)
            .into_iter()
            .map(DeviceView::of)
            .collect();
        let extra = self
            .body
            .embedded
            .take()
            .map(|e| e.extra)
            .unwrap_or_default();
        self.body.embedded = Some(Embedded { devices, extra });
    }

    fn require_selection(&mut self, now: DateTime<Utc>) {
        self.body.status = AuthenticationStatus::DeviceSelectionRequired;
        self.state.pending = Pending::Nothing;
        self.body.test = None;
        self.body.public_key_credential_request_options = None;
        self.refresh_embedded(now);
        self.touch(now);
    }

    fn fail_no_usable(&mut self, now: DateTime<Utc>) {
        let unavailable = self
            .state
            .devices
            .iter()
            .filter(|d| {
                self.usability_of(d, self.body.compatibility.as_ref(), now)
                    .is_err_and(|r| r.is_temporary())
            })
            .map(|d| IdRef::new(d.id))
            .collect();
        self.body.status = AuthenticationStatus::Failed;
        self.body.error = Some(FlowFailure {
            code: FailureCode::NoUsableDevices,
            message: format!(
                "Couldn't find authenticating device for user: {}",
                self.body.user.id
            ),
            unavailable_devices: unavailable,
            extra: Map::new(),
        });
        self.state.pending = Pending::Nothing;
        self.body.test = None;
        self.body.public_key_credential_request_options = None;
        self.refresh_embedded(now);
        self.touch(now);
    }

    /// Moves to the challenge of a usable device.
    fn enter(&mut self, id: DeviceId, now: DateTime<Utc>) {
        let Some(device) = self.device(id) else {
            self.require_selection(now);
            return;
        };
        let (status, pending) = match &device.device_type {
            t if t.is_webauthn() => (
                AuthenticationStatus::AssertionRequired,
                Pending::Assertion {
                    device: id,
                    challenge: None,
                },
            ),
            DeviceType::Mobile => match self.state.policy.mobile_app(device) {
                Some(app) if app.push && push_enabled(device) => (
                    AuthenticationStatus::PushConfirmationRequired,
                    Pending::Push {
                        device: id,
                        started_at: now,
                        timeout: app.push_timeout,
                        rule: app.push_limit,
                    },
                ),
                _ => (
                    AuthenticationStatus::OtpRequired,
                    Pending::Authenticator { device: id },
                ),
            },
            DeviceType::Totp | DeviceType::OathToken => (
                AuthenticationStatus::OtpRequired,
                Pending::Authenticator { device: id },
            ),
            _ => (
                AuthenticationStatus::OtpRequired,
                Pending::Sent {
                    device: id,
                    code: None,
                    test_mode: test_mode(device),
                },
            ),
        };
        self.body.status = status;
        self.state.pending = pending;
        self.body.selected_device = Some(IdRef::new(id));
        self.body.error = None;
        self.body.test = None;
        self.body.public_key_credential_request_options = None;
        self.refresh_embedded(now);
        self.touch(now);
    }

    /// Selects a device (`POST` with [`DEVICE_SELECT_MEDIA_TYPE`](super::DEVICE_SELECT_MEDIA_TYPE)).
    ///
    /// Allowed in every non-terminal status (a pending passcode or push is abandoned; selecting
    /// the same device again gets a new passcode). The device must be one of the user's and
    /// usable at `now` under the request's `compatibility` (or the flow's, when absent; the
    /// request's is kept only when the selection succeeds). Moves to OTP_REQUIRED (EMAIL, SMS,
    /// VOICE, WHATSAPP, TOTP, OATH_TOKEN; MOBILE when its application or device has push
    /// disabled), PUSH_CONFIRMATION_REQUIRED (MOBILE) or ASSERTION_REQUIRED (FIDO2). A refused
    /// selection changes nothing.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let sms = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Sms, DeviceStatus::Active, now);
    /// let key = Device::new(DeviceId::from_bytes([4; 16]), env, user, DeviceType::Fido2, DeviceStatus::Active, now);
    /// let mut snapshot = DeviceSnapshot::new(env, user);
    /// snapshot.order = vec![sms.id, key.id];
    /// snapshot.devices = vec![sms.clone(), key.clone()];
    /// let policy = FlowPolicy { selection: SelectionMode::AlwaysDisplayDevices, ..FlowPolicy::all_enabled() };
    /// let mut flow = DeviceAuthentication::start_with(snapshot, policy, uuid::Uuid::nil(), now).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    /// let no_webauthn = SelectDevice { device: DeviceRef { id: key.id }, compatibility: Some(Compatibility::None) };
    /// assert!(matches!(flow.select(no_webauthn, now), Err(FlowError::UnusableDevice { .. })));
    /// flow.select(SelectDevice::new(key.id), now).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);
    /// ```
    pub fn select(&mut self, request: SelectDevice, now: DateTime<Utc>) -> Result<(), FlowError> {
        let now = self.clock(now)?;
        if !self.body.status.allows_select() {
            return Err(FlowError::NotAllowed {
                action: "device.select",
                status: self.body.status.clone(),
            });
        }
        let id = request.device.id;
        let device = self.device(id).ok_or(FlowError::UnknownDevice(id))?;
        let compatibility = request
            .compatibility
            .or_else(|| self.body.compatibility.clone());
        self.usability_of(device, compatibility.as_ref(), now)
            .map_err(|reason| FlowError::UnusableDevice { id, reason })?;
        self.body.compatibility = compatibility;
        self.enter(id, now);
        Ok(())
    }

    /// Issues the passcode for the selected SMS, EMAIL, VOICE or WHATSAPP device, drawn from the
    /// caller's CSPRNG (`otpLength` uniform digits; the crate sizes the draw), valid for the
    /// policy's `lifeTime`. Calling it again
    /// replaces the code (a resend); wrong passcodes keep counting across resends. For a
    /// test-mode device the body carries the code as `test.otp`.
    ///
    /// The flow keeps only a salted HMAC-SHA-256 of the code ([`SealedPasscode`](crate::otp::SealedPasscode),
    /// a fresh salt from the same RNG), compared in constant time: neither the flow nor its
    /// [`StoredFlow`](super::StoredFlow) holds a live passcode in clear.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![mk(3, DeviceType::Sms)], FlowPolicy::all_enabled());
    /// let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
    /// let sent = flow.issue_otp(&mut rng, now).unwrap();
    /// assert_eq!((sent.code.len(), sent.expires_at), (6, now + TimeDelta::minutes(30)));
    /// assert!(flow.check_otp(&sent.code, now).unwrap().is_success());
    /// ```
    pub fn issue_otp(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        now: DateTime<Utc>,
    ) -> Result<IssuedOtp, FlowError> {
        let now = self.clock(now)?;
        let not_allowed = || FlowError::NotAllowed {
            action: "otp.issue",
            status: self.body.status.clone(),
        };
        let Pending::Sent {
            device, test_mode, ..
        } = &self.state.pending
        else {
            return Err(not_allowed());
        };
        let (device, test_mode) = (*device, *test_mode);
        let settings = self
            .device(device)
            .and_then(|d| self.state.policy.sent_method(&d.device_type))
            .copied()
            .ok_or_else(not_allowed)?;
        let code = OtpChallenge::issue(
            rng,
            settings.otp_length,
            settings.life_time,
            settings.failure,
            now,
        )
        .map_err(|e| FlowError::Internal(format!("the passcode could not be issued: {e}")))?;
        let issued = IssuedOtp {
            device,
            code: code.code().to_owned(),
            expires_at: code.expires_at(),
            test_mode,
        };
        self.body.test = code.test_otp(test_mode).map(|t| TestOtp {
            otp: Value::String(t.otp),
        });
        if let Pending::Sent { code: slot, .. } = &mut self.state.pending {
            *slot = Some(SealedPasscode::seal(code.code(), rng, code.expires_at()));
        }
        self.touch(now);
        Ok(issued)
    }

    /// Checks a passcode sent to the selected device (`otp.check`, [`OtpSource::Sent`]).
    ///
    /// Right → COMPLETED and a [`DeviceRecord::OtpSuccess`]. Wrong → [`FlowError::InvalidOtp`]
    /// with the attempts left (status unchanged) and a [`DeviceRecord::OtpFailure`]; failures
    /// count per device, from the aggregate's counter, across resends and re-selections; the
    /// wrong one that reaches the policy's `failure.count` ends the challenge (the counter
    /// restarts): [`FlowError::OtpFailed`] with the lock end when the
    /// cool-down locks the device (the flow's snapshot locks it too), then
    /// DEVICE_SELECTION_REQUIRED if another device (or this one, unlocked) is usable, else
    /// FAILED with NO_USABLE_DEVICES listing the locked device. Expired → [`FlowError::OtpExpired`],
    /// nothing counted. `Err` (nothing changed, nothing to record): not OTP_REQUIRED, the
    /// selected device's OTP is not sent by the server, or no passcode was issued yet.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![mk(3, DeviceType::Email)], FlowPolicy::all_enabled());
    /// assert_eq!(flow.check_otp("123456", now), Err(FlowError::OtpNotIssued));
    /// let sent = flow.issue_otp(&mut <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(7), now).unwrap();
    /// let wrong = flow.check_otp("000000", now).unwrap();
    /// assert_eq!(wrong.result, Err(FlowError::InvalidOtp { remaining_attempts: 2 }));
    /// assert!(flow.check_otp(&sent.code, now).unwrap().is_success());
    /// assert_eq!(flow.status(), AuthenticationStatus::Completed);
    /// ```
    pub fn check_otp(&mut self, otp: &str, now: DateTime<Utc>) -> Result<Outcome, FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        let Pending::Sent { device, code, .. } = &self.state.pending else {
            return Err(self.otp_check_refusal(OtpSource::Sent));
        };
        let device = *device;
        let issued = code.as_ref().ok_or(FlowError::OtpNotIssued)?;
        if now >= issued.expires_at() {
            // The flow records the time it saw the expiry, so a clock that goes back later
            // cannot revive the passcode (`clock` never goes below `updatedAt`).
            self.touch(now);
            return Ok(Outcome {
                records: Vec::new(),
                result: Err(FlowError::OtpExpired),
            });
        }
        Ok(if issued.matches(otp) {
            self.complete(Some(device), now)
        } else {
            self.count_failure(device, now, false)
        })
    }

    /// Checks a code of the selected authenticator device (OTP_REQUIRED, [`OtpSource::Authenticator`])
    /// against the secret stored with it in the user's aggregate — `devices`, the one the flow
    /// was just [`sync_with`](Self::sync_with)ed — with [`Totp`](crate::otp::Totp) (RFC 6238:
    /// SHA-1, 6 digits, 30 s, ±1 step) and replay protection: a code of a time step at or
    /// before the device's last accepted one
    /// ([`UserDevices::totp_last_step`](crate::user_devices::UserDevices::totp_last_step)) is
    /// refused like a wrong one. Right → COMPLETED and a [`DeviceRecord::TotpSuccess`] carrying
    /// the step (executing it persists the step with the device, so the code cannot be used
    /// again, by this flow or another); wrong or replayed → counted and locked exactly as
    /// [`check_otp`](Self::check_otp). The flow itself never holds the secret.
    ///
    /// A device whose secret the crate does not hold — MOBILE (the application's OTP),
    /// OATH_TOKEN, a TOTP device created without
    /// [`DeviceSecrets`](crate::user_devices::DeviceSecrets) — is
    /// [`FlowError::SecretNotHeld`] (nothing checked, nothing counted, never a silent pass): the
    /// server verifies those with [`check_authenticator_otp_with`](Self::check_authenticator_otp_with).
    /// `devices` of another user is [`FlowError::RequestMismatch`].
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rand_core::SeedableRng;
    /// use mfa_devices::authn::*;
    /// use mfa_devices::device::*;
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// use mfa_devices::user_devices::{Command, DeviceSecrets, UserDevices};
    /// let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let policy = DeviceAuthenticationPolicy::default();
    /// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let new = NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) };
    /// let (secrets, _) = DeviceSecrets::draw(&new, &policy, "jo", &mut rng, now).unwrap();
    /// user.execute(Command::Create { id, device: new, secrets }, now).unwrap();
    /// # let DeviceDetails::Totp(t) = &user.device(&id).unwrap().details else { unreachable!() };
    /// # let key = data_encoding::BASE32_NOPAD.decode(t.secret.as_ref().unwrap().expose().as_bytes()).unwrap();
    /// let code = Totp::new(key, Algorithm::Sha1, 6, 30).unwrap().code_at(now.timestamp() as u64);
    ///
    /// let mut flow = DeviceAuthentication::start(&user, &policy, uuid::Uuid::nil(), now).unwrap();
    /// assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator));
    /// let wrong = flow.check_authenticator_otp("000000", &user, now).unwrap();
    /// assert_eq!(wrong.result, Err(FlowError::InvalidOtp { remaining_attempts: 2 }));
    /// for r in &wrong.records { user.execute(r.to_command(), now).unwrap(); } // counted
    /// flow.sync_with(&user, now);
    /// let ok = flow.check_authenticator_otp(&code, &user, now).unwrap();
    /// assert!(ok.is_success());
    /// for r in &ok.records { user.execute(r.to_command(), now).unwrap(); } // persists the step
    ///
    /// let mut again = DeviceAuthentication::start(&user, &policy, uuid::Uuid::nil(), now).unwrap();
    /// let replay = again.check_authenticator_otp(&code, &user, now).unwrap(); // the same code
    /// assert!(matches!(replay.result, Err(FlowError::InvalidOtp { .. })));
    /// ```
    pub fn check_authenticator_otp(
        &mut self,
        otp: &str,
        devices: &UserDevices,
        now: DateTime<Utc>,
    ) -> Result<Outcome, FlowError> {
        let (device, now) = self.pending_authenticator(now)?;
        self.require_same_user(devices)?;
        let stored = devices.device(&device).ok_or_else(|| {
            FlowError::Internal(format!(
                "device {device} is not in the user's devices given (sync_with them first)"
            ))
        })?;
        let has_secret = matches!(&stored.details, DeviceDetails::Totp(t) if t.secret.is_some());
        if stored.device_type != DeviceType::Totp || !has_secret {
            return Err(FlowError::SecretNotHeld(device));
        }
        let totp = crate::user_devices::totp_of(stored).ok_or_else(|| {
            FlowError::Internal(format!(
                "the stored TOTP secret of device {device} cannot be used (not base32, or shorter than 16 bytes)"
            ))
        })?;
        let unix = u64::try_from(now.timestamp()).unwrap_or(0);
        Ok(
            match totp.verify(otp, unix, devices.totp_last_step(&device)) {
                TotpVerdict::Valid { step } => {
                    let mut outcome = self.complete(Some(device), now);
                    outcome.records = vec![DeviceRecord::TotpSuccess { device, step }];
                    outcome
                }
                TotpVerdict::Replayed | TotpVerdict::Invalid => {
                    self.count_failure(device, now, false)
                }
            },
        )
    }

    /// Checks a code of the selected authenticator device whose **secret lives outside the
    /// crate** (MOBILE application OTPs, OATH_TOKEN, TOTP devices created without a stored
    /// secret): the server verifies it with `verify`, holding the secret and any replay
    /// protection itself; the flow counts failures and locks exactly as
    /// [`check_otp`](Self::check_otp). For a TOTP device whose secret is stored with it, use
    /// [`check_authenticator_otp`](Self::check_authenticator_otp), which verifies and
    /// protects against replay itself.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let token = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::OathToken, DeviceStatus::Active, now);
    /// let mut snapshot = DeviceSnapshot::new(env, user);
    /// snapshot.order = vec![token.id];
    /// snapshot.devices = vec![token];
    /// let mut flow = DeviceAuthentication::start_with(snapshot, FlowPolicy::all_enabled(), uuid::Uuid::nil(), now).unwrap();
    /// assert_eq!(flow.otp_source(), Some(OtpSource::Authenticator));
    /// let wrong = flow.check_authenticator_otp_with("000000", |code| code == "428199", now).unwrap();
    /// assert_eq!(wrong.result, Err(FlowError::InvalidOtp { remaining_attempts: 2 }));
    /// assert_eq!(wrong.records.len(), 1);
    /// assert!(flow.check_authenticator_otp_with("428199", |code| code == "428199", now).unwrap().is_success());
    /// ```
    pub fn check_authenticator_otp_with(
        &mut self,
        otp: &str,
        verify: impl FnOnce(&str) -> bool,
        now: DateTime<Utc>,
    ) -> Result<Outcome, FlowError> {
        let (device, now) = self.pending_authenticator(now)?;
        Ok(if verify(otp) {
            self.complete(Some(device), now)
        } else {
            self.count_failure(device, now, false)
        })
    }

    /// The device of the pending authenticator-code check, and `now` on the flow's clock; the
    /// opening of both [`check_authenticator_otp`](Self::check_authenticator_otp) forms.
    fn pending_authenticator(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(DeviceId, DateTime<Utc>), FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        match &self.state.pending {
            Pending::Authenticator { device, .. } => Ok((*device, now)),
            _ => Err(self.otp_check_refusal(OtpSource::Authenticator)),
        }
    }

    /// Refuses the devices of another user or environment than the flow's.
    fn require_same_user(&self, devices: &UserDevices) -> Result<(), FlowError> {
        if devices.user_id() != self.user_id() || devices.environment_id() != self.environment_id()
        {
            return Err(FlowError::RequestMismatch { target: "user.id" });
        }
        Ok(())
    }

    fn otp_check_refusal(&self, wanted: OtpSource) -> FlowError {
        match (self.otp_source(), wanted) {
            (Some(OtpSource::Authenticator), OtpSource::Sent) => FlowError::Internal(
                "the selected device computes its own passcode: check it with check_authenticator_otp"
                    .into(),
            ),
            (Some(OtpSource::Sent), OtpSource::Authenticator) => FlowError::Internal(
                "the selected device receives its passcode: check it with check_otp".into(),
            ),
            _ => FlowError::NotAllowed {
                action: "otp.check",
                status: self.body.status.clone(),
            },
        }
    }

    /// Records the WebAuthn assertion check (`assertion.check`) of the selected FIDO2 device.
    ///
    /// **No WebAuthn cryptography here**: the caller verifies `request.assertion` against the
    /// device's public key, `request.origin` and the challenge, and passes `verified` (with
    /// the feature `webauthn`, `check_assertion_webauthn`
    /// verifies it against the credential registered with the device). Verified
    /// → COMPLETED; not → [`FlowError::AssertionRejected`] and an [`DeviceRecord::OtpFailure`],
    /// with `fido2.failure` locking the device like a passcode failure does. The flow keeps the
    /// `compatibility` of the selection (the device was usable under it).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![mk(3, DeviceType::Fido2)], FlowPolicy::all_enabled());
    /// assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);
    /// let request = CheckAssertion { origin: "https://app.example.com".into(),
    ///     assertion: serde_json::json!("{}"), compatibility: None };
    /// let rejected = flow.check_assertion(&request, false, now).unwrap();
    /// assert!(matches!(rejected.result, Err(FlowError::AssertionRejected { remaining_attempts: 2, .. })));
    /// assert!(flow.check_assertion(&request, true, now).unwrap().is_success());
    /// ```
    pub fn check_assertion(
        &mut self,
        request: &CheckAssertion,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<Outcome, FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        let Pending::Assertion { device, .. } = &self.state.pending else {
            return Err(FlowError::NotAllowed {
                action: "assertion.check",
                status: self.body.status.clone(),
            });
        };
        let device = *device;
        let _ = &request.origin;
        Ok(if verified {
            self.complete(Some(device), now)
        } else {
            self.count_failure(device, now, true)
        })
    }

    /// Draws the challenge of the selected FIDO2 device's assertion from the caller's CSPRNG
    /// ([`CHALLENGE_BYTES`](crate::webauthn::CHALLENGE_BYTES)) and sets the body's
    /// `publicKeyCredentialRequestOptions` (see [`request_options`](crate::webauthn::request_options):
    /// the challenge, the credential's `rpId`, the device's credential as `allowCredentials`);
    /// returns them. The flow keeps the challenge in its private state (and its
    /// [`StoredFlow`](super::StoredFlow)) until the assertion succeeds or the challenge ends;
    /// calling it again replaces it. Like [`issue_otp`](Self::issue_otp) for a sent passcode.
    ///
    /// Errors (nothing changed): [`FlowError::NotAllowed`] unless ASSERTION_REQUIRED;
    /// [`FlowError::SecretNotHeld`] for a device without a registered credential (activated
    /// without [`Command::ActivateFido2`](crate::user_devices::Command::ActivateFido2)): its
    /// assertion can only be checked by the caller, with [`check_assertion`](Self::check_assertion).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::FlowPolicy;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let mut key = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Fido2, DeviceStatus::Active, now);
    /// if let DeviceDetails::Fido2(f) = &mut key.details {
    ///     f.credential = Some(WebAuthnCredential::new(vec![1, 2, 3], vec![4; 65], "example.com"));
    /// }
    /// let mut snapshot = DeviceSnapshot::new(env, user);
    /// snapshot.order = vec![key.id];
    /// snapshot.devices = vec![key];
    /// let mut flow = DeviceAuthentication::start_with(snapshot, FlowPolicy::all_enabled(), uuid::Uuid::nil(), now).unwrap();
    /// let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
    /// let options = flow.issue_assertion(&mut rng, now).unwrap();
    /// assert_eq!(flow.body().public_key_credential_request_options.as_deref(), Some(options.as_str()));
    /// let o: serde_json::Value = serde_json::from_str(&options).unwrap();
    /// assert_eq!((o["rpId"].as_str(), o["allowCredentials"][0]["id"].as_str()), (Some("example.com"), Some("AQID")));
    /// ```
    pub fn issue_assertion(
        &mut self,
        rng: &mut (impl CryptoRng + RngCore),
        now: DateTime<Utc>,
    ) -> Result<String, FlowError> {
        let now = self.clock(now)?;
        let Pending::Assertion { device, .. } = &self.state.pending else {
            return Err(FlowError::NotAllowed {
                action: "assertion.issue",
                status: self.body.status.clone(),
            });
        };
        let device = *device;
        let credential = self
            .device(device)
            .and_then(|d| match &d.details {
                DeviceDetails::Fido2(f) => f.credential.as_ref(),
                _ => None,
            })
            .ok_or(FlowError::SecretNotHeld(device))?;
        let mut challenge = [0u8; crate::webauthn::CHALLENGE_BYTES];
        rng.fill_bytes(&mut challenge);
        let options = crate::webauthn::request_options(&challenge, credential);
        self.state.pending = Pending::Assertion {
            device,
            challenge: Some(data_encoding::BASE64URL_NOPAD.encode(&challenge)),
        };
        self.body.public_key_credential_request_options = Some(options.clone());
        self.touch(now);
        Ok(options)
    }

    /// Verifies the assertion of `assertion.check` (`request.assertion`: the JSON of the
    /// `PublicKeyCredential` of `navigator.credentials.get`, as a string or an object) against
    /// the challenge [`issue_assertion`](Self::issue_assertion) drew, `request.origin`, and the
    /// credential registered with the selected device in `devices` — the user's aggregate the
    /// flow was just [`sync_with`](Self::sync_with)ed — with
    /// [`webauthn::verify_assertion`](crate::webauthn::verify_assertion) (feature `webauthn`).
    ///
    /// Verified → COMPLETED and a [`DeviceRecord::AssertionSuccess`] carrying the new signature
    /// count (executing it stores the count, so the same assertion is refused afterwards).
    /// Refused → [`FlowError::AssertionInvalid`] naming the failed check, counted and locked
    /// exactly like a wrong passcode ([`check_otp`](Self::check_otp): the policy's
    /// `fido2.failure`). `Err` without counting: not ASSERTION_REQUIRED, no challenge issued
    /// ([`FlowError::AssertionNotIssued`]), a device without a registered credential
    /// ([`FlowError::SecretNotHeld`]), `devices` of another user ([`FlowError::RequestMismatch`]).
    #[cfg(feature = "webauthn")]
    pub fn check_assertion_webauthn(
        &mut self,
        request: &CheckAssertion,
        devices: &UserDevices,
        now: DateTime<Utc>,
    ) -> Result<Outcome, FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        let Pending::Assertion { device, challenge } = &self.state.pending else {
            return Err(FlowError::NotAllowed {
                action: "assertion.check",
                status: self.body.status.clone(),
            });
        };
        let device = *device;
        let challenge = challenge.clone().ok_or(FlowError::AssertionNotIssued)?;
        let challenge = data_encoding::BASE64URL_NOPAD
            .decode(challenge.as_bytes())
            .map_err(|_| {
                FlowError::Internal("the stored assertion challenge is not base64url".into())
            })?;
        self.require_same_user(devices)?;
        let credential = devices
            .device(&device)
            .and_then(|d| match &d.details {
                DeviceDetails::Fido2(f) => f.credential.as_ref(),
                _ => None,
            })
            .ok_or(FlowError::SecretNotHeld(device))?;
        let text = match &request.assertion {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let expected = crate::webauthn::Expected {
            challenge: &challenge,
            origin: &request.origin,
            rp_id: &credential.rp_id,
            require_user_verification: false,
        };
        Ok(
            match crate::webauthn::verify_assertion(&text, &expected, credential) {
                Ok(sign_count) => {
                    let mut outcome = self.complete(Some(device), now);
                    outcome.records = vec![DeviceRecord::AssertionSuccess { device, sign_count }];
                    outcome
                }
                Err(reason) => {
                    let mut outcome = self.count_failure(device, now, true);
                    if let Err(FlowError::AssertionRejected {
                        remaining_attempts,
                        locked_until,
                    }) = outcome.result
                    {
                        outcome.result = Err(FlowError::AssertionInvalid {
                            reason,
                            remaining_attempts,
                            locked_until,
                        });
                    }
                    outcome
                }
            },
        )
    }

    /// COMPLETED; a passcode or assertion success (`Some(device)`) restarts its counter.
    fn complete(&mut self, checked: Option<DeviceId>, now: DateTime<Utc>) -> Outcome {
        self.body.status = AuthenticationStatus::Completed;
        self.state.pending = Pending::Nothing;
        self.body.error = None;
        self.body.test = None;
        self.body.public_key_credential_request_options = None;
        self.touch(now);
        let records = checked
            .map(|device| {
                self.state.otp_failures.remove(&device);
                DeviceRecord::OtpSuccess { device }
            })
            .into_iter()
            .collect();
        Outcome::ok(records)
    }

    fn failure_rule_of(&self, device: DeviceId) -> FailureRule {
        self.device(device)
            .and_then(|d| self.state.policy.failure_rule(&d.device_type))
            .unwrap_or(FailureRule::DEFAULT_AUTHENTICATOR)
    }

    /// One more failure of the pending challenge of `device` (a wrong passcode or a failed
    /// assertion), counted from the device's counter by [`FailureRule::record`] — the rule the
    /// aggregate applies to the record, so both agree on the count and the lock end.
    fn count_failure(&mut self, device: DeviceId, now: DateTime<Utc>, assertion: bool) -> Outcome {
        let rule = self.failure_rule_of(device);
        let before = self.state.otp_failures.get(&device).copied().unwrap_or(0);
        let step = rule.record(before, now);
        let records = vec![DeviceRecord::OtpFailure {
            device,
            at: now,
            rule,
        }];
        self.touch(now);
        if !step.limit_reached {
            self.state.otp_failures.insert(device, step.failures);
            let remaining_attempts = step.remaining_attempts;
            let result = if assertion {
                FlowError::AssertionRejected {
                    remaining_attempts,
                    locked_until: None,
                }
            } else {
                FlowError::InvalidOtp { remaining_attempts }
            };
            return Outcome {
                records,
                result: Err(result),
            };
        }
        self.state.otp_failures.remove(&device);
        let locked_until = step.locked_until;
        if let Some(until) = locked_until {
            if let Some(d) = self.state.devices.iter_mut().find(|d| d.id == device) {
                d.lock = Some(LockState::locked(until, LockReason::Otp));
            }
        }
        if self.usable_devices(now).is_empty() {
            self.fail_no_usable(now);
        } else {
            self.require_selection(now);
        }
        let result = if assertion {
            FlowError::AssertionRejected {
                remaining_attempts: 0,
                locked_until,
            }
        } else {
            FlowError::OtpFailed { locked_until }
        };
        Outcome {
            records,
            result: Err(result),
        }
    }

    /// Times out a pending push once `now` reaches its start plus the application's
    /// `pushTimeout`: PUSH_CONFIRMATION_TIMED_OUT (from which the user may select again), and
    /// an ignored push to record. Does nothing otherwise. Call it whenever the flow is read.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![phone], mobile_policy);
    /// assert!(flow.expire(now + TimeDelta::seconds(39)).is_empty());
    /// let ignored = flow.expire(now + TimeDelta::seconds(40));
    /// assert!(matches!(ignored[..], [DeviceRecord::PushFailure { kind: PushFailureKind::Ignored, .. }]));
    /// assert_eq!(flow.status(), AuthenticationStatus::PushConfirmationTimedOut);
    /// ```
    pub fn expire(&mut self, now: DateTime<Utc>) -> Vec<DeviceRecord> {
        let Ok(now) = self.clock(now) else {
            return Vec::new();
        };
        let Pending::Push {
            device,
            started_at,
            timeout,
            rule,
        } = self.state.pending
        else {
            return Vec::new();
        };
        if now < saturating_add(started_at, timeout) {
            return Vec::new();
        }
        self.body.status = AuthenticationStatus::PushConfirmationTimedOut;
        self.state.pending = Pending::Nothing;
        self.refresh_embedded(now);
        self.touch(now);
        vec![DeviceRecord::PushFailure {
            device,
            at: now,
            kind: PushFailureKind::Ignored,
            rule,
        }]
    }

    fn push_answer(
        &mut self,
        now: DateTime<Utc>,
        action: &'static str,
    ) -> Result<Outcome, FlowError> {
        if !matches!(self.state.pending, Pending::Push { .. }) {
            return Err(FlowError::NotAllowed {
                action,
                status: self.body.status.clone(),
            });
        }
        let records = self.expire(now);
        if records.is_empty() {
            Ok(Outcome::ok(records))
        } else {
            Ok(Outcome {
                records,
                result: Err(FlowError::NotAllowed {
                    action,
                    status: self.body.status.clone(),
                }),
            })
        }
    }

    /// The user approved the push → COMPLETED. An answer at or after the push deadline times
    /// the push out instead (PUSH_CONFIRMATION_TIMED_OUT, an ignored push to record, and
    /// [`FlowError::NotAllowed`]).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![phone], mobile_policy);
    /// assert!(flow.push_approved(now + TimeDelta::seconds(5)).unwrap().is_success());
    /// assert_eq!(flow.status(), AuthenticationStatus::Completed);
    /// ```
    pub fn push_approved(&mut self, now: DateTime<Utc>) -> Result<Outcome, FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        let outcome = self.push_answer(now, "push.approve")?;
        if !outcome.is_success() {
            return Ok(outcome);
        }
        Ok(self.complete(None, now))
    }

    /// The user denied the push → FAILED with `error.code` `PUSH_DENIED` (**decision**), and a
    /// declined push to record (the application's push limit may lock the device). Late
    /// answers time out as for [`push_approved`](Self::push_approved).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![phone], mobile_policy);
    /// let denied = flow.push_denied(now).unwrap();
    /// assert_eq!(denied.records.len(), 1);
    /// assert_eq!(flow.status(), AuthenticationStatus::Failed);
    /// assert_eq!(flow.error().unwrap().code, FailureCode::PushDenied);
    /// ```
    pub fn push_denied(&mut self, now: DateTime<Utc>) -> Result<Outcome, FlowError> {
        self.require_synced()?;
        let now = self.clock(now)?;
        let Pending::Push { device, rule, .. } = self.state.pending else {
            return Err(FlowError::NotAllowed {
                action: "push.deny",
                status: self.body.status.clone(),
            });
        };
        let outcome = self.push_answer(now, "push.deny")?;
        if !outcome.is_success() {
            return Ok(outcome);
        }
        self.body.status = AuthenticationStatus::Failed;
        self.state.pending = Pending::Nothing;
        self.body.error = Some(FlowFailure {
            code: FailureCode::PushDenied,
            message: "The user denied the push notification".into(),
            unavailable_devices: Vec::new(),
            extra: Map::new(),
        });
        self.touch(now);
        Ok(Outcome::ok(vec![DeviceRecord::PushFailure {
            device,
            at: now,
            kind: PushFailureKind::Declined,
            rule,
        }]))
    }

    /// Brings the flow's device snapshot up to date with the aggregate (after executing the
    /// records of an action, or whenever the flow is read): devices' lock, block and status,
    /// deleted devices, and the failure counters. A lock the aggregate set that the flow could
    /// not foresee (the push limit, an administrator's lock or block) then takes effect: a
    /// challenge whose device is no longer usable ends in DEVICE_SELECTION_REQUIRED, or FAILED
    /// with NO_USABLE_DEVICES when nothing is usable; a flow waiting for a selection fails the
    /// same way when nothing is usable any more. Terminal flows are left as they are. Returns
    /// whether the status changed.
    ///
    /// A flow loaded with [`from_stored`](Self::from_stored) must be synced before its checks
    /// and push answers decide ([`FlowError::NotSynced`] until then): they then decide on the
    /// aggregate's current devices and failure counts, never on a stale copy.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let sms = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Sms, DeviceStatus::Active, now);
    /// let mut snapshot = DeviceSnapshot::new(env, user);
    /// snapshot.order = vec![sms.id];
    /// snapshot.devices = vec![sms.clone()];
    /// let mut flow = DeviceAuthentication::start_with(snapshot.clone(), FlowPolicy::all_enabled(), uuid::Uuid::nil(), now).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    /// // An administrator blocks the device meanwhile.
    /// snapshot.devices[0].block = Some(BlockState::blocked(now));
    /// assert!(flow.sync(&snapshot, now));
    /// assert_eq!(flow.status(), AuthenticationStatus::Failed);
    /// ```
    pub fn sync(&mut self, snapshot: &DeviceSnapshot, now: DateTime<Utc>) -> bool {
        let Ok(now) = self.clock(now) else {
            return false;
        };
        self.synced = Synced(true);
        if self.body.status.is_terminal() {
            return false;
        }
        let before = self.body.status.clone();
        let fresh: Vec<Device> = self
            .state
            .devices
            .iter()
            .filter_map(|d| snapshot.devices.iter().find(|n| n.id == d.id))
            .cloned()
            .collect();
        let devices_changed = fresh != self.state.devices;
        self.state.devices = fresh;
        self.state.otp_failures = snapshot.otp_failures.clone();
        let usable = self.usable_ids(now);
        let selected_usable = self
            .selected_device()
            .is_some_and(|id| usable.contains(&id));
        let in_challenge = !matches!(self.state.pending, Pending::Nothing);
        if usable.is_empty() {
            self.fail_no_usable(now);
        } else if in_challenge && !selected_usable {
            self.require_selection(now);
        } else if devices_changed {
            self.refresh_embedded(now);
            self.touch(now);
        }
        self.body.status != before
    }

    /// Cancels a pending push (`cancel.push.authentication`, any `reason`) →
    /// DEVICE_SELECTION_REQUIRED; nothing is recorded.
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// # let mut mobile_policy = FlowPolicy::all_enabled();
    /// # mobile_policy.mobile.applications.push(MobileApp::new("app"));
    /// # let mut phone = mk(5, DeviceType::Mobile);
    /// # if let DeviceDetails::Mobile(m) = &mut phone.details {
    /// #     m.application = Some(MobileApplication { id: Some("app".into()), ..Default::default() });
    /// # }
    /// let mut flow = start(vec![phone], mobile_policy);
    /// flow.cancel_push(CancelPush { reason: Some(CancelReason::ChangeDevice) }, now).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::DeviceSelectionRequired);
    /// ```
    pub fn cancel_push(
        &mut self,
        request: CancelPush,
        now: DateTime<Utc>,
    ) -> Result<(), FlowError> {
        let now = self.clock(now)?;
        let _ = request.reason;
        if !matches!(self.state.pending, Pending::Push { .. }) {
            return Err(FlowError::NotAllowed {
                action: "push.cancel",
                status: self.body.status.clone(),
            });
        }
        self.require_selection(now);
        Ok(())
    }

    /// The resource as PingOne returns it: `_links` for the status (all pointing at the flow,
    /// `{base}/{envID}/deviceAuthentications/{id}`), then the body
    /// ([`DeviceAuthenticationBody::to_json`]).
    ///
    /// ```
    /// # use chrono::{TimeDelta, TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::*;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// # let mk = |n: u8, t: DeviceType| Device::new(DeviceId::from_bytes([n; 16]), env, user, t, DeviceStatus::Active, now);
    /// # let start = |devices: Vec<Device>, policy: FlowPolicy| {
    /// #     let mut s = DeviceSnapshot::new(env, user);
    /// #     s.order = devices.iter().map(|d| d.id).collect();
    /// #     s.devices = devices;
    /// #     DeviceAuthentication::start_with(s, policy, uuid::Uuid::nil(), now).unwrap()
    /// # };
    /// let flow = start(vec![mk(3, DeviceType::Sms)], FlowPolicy::all_enabled());
    /// let json = flow.to_json(&mfa_devices::api_base::ApiBase::new("https://auth.pingone.com"));
    /// assert_eq!(json["status"], "OTP_REQUIRED");
    /// assert!(json["_links"]["otp.check"]["href"].as_str().unwrap().ends_with(&flow.id().to_string()));
    /// ```
    pub fn to_json(&self, base: &ApiBase) -> Value {
        self.body.to_json(base)
    }

    /// The parts a stored form is made of.
    pub(super) fn parts(&self) -> (&DeviceAuthenticationBody, &FlowState) {
        (&self.body, &self.state)
    }

    /// A flow from the parts of a stored form: not synced yet (the user's devices may have
    /// changed since it was stored).
    pub(super) fn from_parts(body: DeviceAuthenticationBody, state: FlowState) -> Self {
        Self {
            body,
            state,
            synced: Synced(false),
        }
    }

    /// Whether the flow has been [`sync`](Self::sync)ed with the user's devices since it was
    /// loaded from a [`StoredFlow`](super::StoredFlow) (a started flow is).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::authn::*;
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::policy::resolved::FlowPolicy;
    /// # let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// # let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let totp = Device::new(DeviceId::from_bytes([3; 16]), env, user, DeviceType::Totp, DeviceStatus::Active, now);
    /// let mut snapshot = DeviceSnapshot::new(env, user);
    /// snapshot.order = vec![totp.id];
    /// snapshot.devices = vec![totp];
    /// let flow = DeviceAuthentication::start_with(snapshot.clone(), FlowPolicy::all_enabled(), uuid::Uuid::nil(), now).unwrap();
    /// assert!(flow.is_synced());
    /// let mut loaded = DeviceAuthentication::from_stored(flow.to_stored()).unwrap();
    /// assert!(!loaded.is_synced());
    /// assert_eq!(loaded.check_authenticator_otp_with("1", |_| false, now).unwrap_err(), FlowError::NotSynced);
    /// loaded.sync(&snapshot, now);      // with the aggregate's current state
    /// assert!(loaded.check_authenticator_otp_with("1", |_| false, now).is_ok());
    /// ```
    pub fn is_synced(&self) -> bool {
        self.synced.0
    }

    fn require_synced(&self) -> Result<(), FlowError> {
        if self.synced.0 {
            Ok(())
        } else {
            Err(FlowError::NotSynced)
        }
    }
}
