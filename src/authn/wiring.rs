//! The flow on top of the device aggregate ([`UserDevices`]) and the policy resource.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    BodyProblem, CreateDeviceAuthentication, DeviceAuthentication, DeviceRecord, DeviceSnapshot,
    FlowError, SelectedDevice,
};
use crate::device::DeviceDetails;
use crate::error::DetailCode;
use crate::policy::DeviceAuthenticationPolicy;
use crate::policy::resolved::FlowPolicy;
use crate::user_devices::{Command, UserDevices};

impl DeviceSnapshot {
    /// What the flow needs of a user's aggregate at `now`: the devices in list order as they
    /// read at `now` (expired locks show UNLOCKED), the order (`expand=order`), and each
    /// device's OTP failure counter.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::authn::DeviceSnapshot;
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let mut body = NewDevice::new(DeviceType::Totp);
    /// body.status = Some(DeviceStatus::Active);
    /// u.execute(Command::Create { id, device: body, secrets: Default::default() }, t).unwrap();
    /// u.execute(Command::RecordOtpFailure { id, rule: mfa_devices::lock::FailureRule::DEFAULT_AUTHENTICATOR }, t).unwrap();
    /// let s = DeviceSnapshot::of(&u, t);
    /// assert_eq!(s.order, vec![id]);
    /// assert_eq!(s.otp_failures.get(&id), Some(&1));
    /// ```
    pub fn of(devices: &UserDevices, now: DateTime<Utc>) -> Self {
        let mut snapshot = Self::new(devices.environment_id(), devices.user_id());
        snapshot.order = devices.expand_order();
        for mut seen in devices.list_at(now) {
            let failures = devices.counters(&seen.id).otp_failures;
            if failures > 0 {
                snapshot.otp_failures.insert(seen.id, failures);
            }
            // The flow (and its stored form) never holds a TOTP secret: `check_authenticator_otp` reads it
            // from the aggregate.
            if let DeviceDetails::Totp(t) = &mut seen.details {
                t.secret = None;
                t.key_uri = None;
            }
            // A FIDO2 device's registered credential (public; the renderers drop it): the flow
            // names it in `publicKeyCredentialRequestOptions`.
            if let (DeviceDetails::Fido2(f), Some(DeviceDetails::Fido2(held))) = (
                &mut seen.details,
                devices.device(&seen.id).map(|d| &d.details),
            ) {
                f.credential.clone_from(&held.credential);
            }
            snapshot.devices.push(seen);
        }
        snapshot
    }
}

impl DeviceAuthentication {
    /// Starts a flow for a user's devices under a device authentication policy, at `now`
    /// ([`start_with`](Self::start_with) on [`DeviceSnapshot::of`] and
    /// [`FlowPolicy::from_policy`]). `id` is the new flow's id (the caller draws it). A policy
    /// the flow cannot use is [`FlowError::UnusablePolicy`] naming the value's JSON path.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::authn::{AuthenticationStatus, DeviceAuthentication};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let policy: DeviceAuthenticationPolicy = serde_json::from_str(
    ///     include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy/read_one.json"))).unwrap();
    /// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let flow = DeviceAuthentication::start(&user, &policy, uuid::Uuid::nil(), t).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::Failed); // no devices
    ///
    /// let mut body = NewDevice::new(DeviceType::Totp);
    /// body.status = Some(DeviceStatus::Active);
    /// user.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: body, secrets: Default::default() }, t).unwrap();
    /// let flow = DeviceAuthentication::start(&user, &policy, uuid::Uuid::nil(), t).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::OtpRequired); // the default device
    /// ```
    pub fn start(
        devices: &UserDevices,
        policy: &DeviceAuthenticationPolicy,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, FlowError> {
        Self::start_with(
            DeviceSnapshot::of(devices, now),
            FlowPolicy::from_policy(policy)?,
            id,
            now,
        )
    }

    /// Starts the flow a creation request asks for (`POST …/deviceAuthentications`, read with
    /// [`CreateDeviceAuthentication::from_json`]) on the user's devices under the policy the
    /// server resolved (`policy.id`, else the environment's default), at `now`; `id` is the new
    /// flow's id.
    ///
    /// - `compatibility` applies from the start: devices the browser cannot use are not usable
    ///   (and not listed), and the flow keeps it for later selections.
    /// - `selectedDevice.id` selects that device right away, whatever the policy's
    ///   `deviceSelection` (OTP_REQUIRED, PUSH_CONFIRMATION_REQUIRED or ASSERTION_REQUIRED); a
    ///   device that is not the user's, or not usable now (locked, blocked, disabled by the
    ///   policy, hidden by `compatibility`) is [`FlowError::InvalidBody`] at
    ///   `selectedDevice.id` (400) and nothing starts.
    /// - `selectedDevice.oneTime` is [`FlowError::OneTimeDeviceUnsupported`] (400 at
    ///   `selectedDevice.oneTime`): this crate authenticates with registered devices only.
    /// - Otherwise as [`start`](Self::start).
    ///
    /// The request must be about this aggregate's user, and a `policy.id` must be the given
    /// policy's id ([`FlowError::RequestMismatch`], 500: the server loaded the wrong state).
    /// `notification` is for the server's passcode delivery; the flow does not use it.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::authn::{AuthenticationStatus, CreateDeviceAuthentication, DeviceAuthentication, FlowError};
    /// use mfa_devices::device::*;
    /// use mfa_devices::error::ApiError;
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let policy: DeviceAuthenticationPolicy = serde_json::from_str(
    ///     include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy/read_one.json"))).unwrap();
    /// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// for (n, address) in [(3, "first@example.com"), (4, "second@example.com")] {
    ///     let mut email = NewDevice::new(DeviceType::Email);
    ///     email.email = Some(address.into());
    ///     email.status = Some(DeviceStatus::Active);
    ///     user.execute(Command::Create { id: DeviceId::from_bytes([n; 16]), device: email, secrets: Default::default() }, t).unwrap();
    /// }
    /// let body = br#"{"user":{"id":"02020202-0202-0202-0202-020202020202"},
    ///                 "selectedDevice":{"id":"04040404-0404-0404-0404-040404040404"}}"#;
    /// let request = CreateDeviceAuthentication::from_json(body).unwrap();
    /// let flow = DeviceAuthentication::start_from(&request, &user, &policy, uuid::Uuid::nil(), t).unwrap();
    /// assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    /// assert_eq!(flow.selected_device(), Some(DeviceId::from_bytes([4; 16]))); // not the default
    ///
    /// let unknown = br#"{"user":{"id":"02020202-0202-0202-0202-020202020202"},
    ///                    "selectedDevice":{"id":"09090909-0909-0909-0909-090909090909"}}"#;
    /// let request = CreateDeviceAuthentication::from_json(unknown).unwrap();
    /// let e = DeviceAuthentication::start_from(&request, &user, &policy, uuid::Uuid::nil(), t).unwrap_err();
    /// assert_eq!(ApiError::from(e).details[0].target.as_deref(), Some("selectedDevice.id"));
    /// ```
    pub fn start_from(
        request: &CreateDeviceAuthentication,
        devices: &UserDevices,
        policy: &DeviceAuthenticationPolicy,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Self, FlowError> {
        if request.user.id != devices.user_id() {
            return Err(FlowError::RequestMismatch { target: "user.id" });
        }
        if let (Some(asked), Some(given)) = (request.policy, policy.id) {
            if asked.id != given {
                return Err(FlowError::RequestMismatch {
                    target: "policy.id",
                });
            }
        }
        let selected = match &request.selected_device {
            None => None,
            Some(SelectedDevice::Id(device)) => Some(*device),
            Some(SelectedDevice::OneTime(_)) => return Err(FlowError::OneTimeDeviceUnsupported),
        };
        let mut flow_policy = FlowPolicy::from_policy(policy)?;
        if flow_policy.id.is_none() {
            flow_policy.id = request.policy.map(|p| p.id);
        }
        Self::start_selecting(
            DeviceSnapshot::of(devices, now),
            flow_policy,
            id,
            now,
            request.compatibility.clone(),
            selected,
        )
        .map_err(|e| match e {
            FlowError::UnknownDevice(_) | FlowError::UnusableDevice { .. } => {
                FlowError::InvalidBody {
                    problems: vec![BodyProblem::new(
                        DetailCode::InvalidValue,
                        "selectedDevice.id",
                        format!("selectedDevice.id: {e}"),
                    )],
                    omitted: 0,
                }
            }
            other => other,
        })
    }

    /// [`sync`](Self::sync) with the aggregate's state at `now`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::authn::{AuthenticationStatus, DeviceAuthentication, DeviceSnapshot};
    /// use mfa_devices::policy::resolved::FlowPolicy;
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let mut body = NewDevice::new(DeviceType::Totp);
    /// body.status = Some(DeviceStatus::Active);
    /// u.execute(Command::Create { id, device: body, secrets: Default::default() }, t).unwrap();
    /// let mut flow = DeviceAuthentication::start_with(DeviceSnapshot::of(&u, t),
    ///     FlowPolicy::all_enabled(), uuid::Uuid::nil(), t).unwrap();
    /// u.execute(Command::Block { id }, t).unwrap();      // an administrator blocks it meanwhile
    /// assert!(flow.sync_with(&u, t));
    /// assert_eq!(flow.status(), AuthenticationStatus::Failed);
    /// ```
    pub fn sync_with(&mut self, devices: &UserDevices, now: DateTime<Utc>) -> bool {
        self.sync(&DeviceSnapshot::of(devices, now), now)
    }
}

impl DeviceRecord {
    /// The aggregate command that records this: `RecordOtpFailure` (the policy's count and
    /// cool-down), `RecordOtpSuccess`, or `RecordPushRejected` (the application's push limit).
    ///
    /// ```
    /// use chrono::{DateTime, TimeDelta, Utc};
    /// use mfa_devices::authn::DeviceRecord;
    /// use mfa_devices::device::DeviceId;
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::user_devices::Command;
    /// let id = DeviceId::from_bytes([1; 16]);
    /// let r = DeviceRecord::OtpFailure { device: id, at: DateTime::<Utc>::UNIX_EPOCH,
    ///     rule: FailureRule::new(3, TimeDelta::minutes(2)).unwrap() };
    /// assert_eq!(r.to_command(),
    ///     Command::RecordOtpFailure { id, rule: FailureRule::new(3, TimeDelta::minutes(2)).unwrap() });
    /// ```
    pub fn to_command(&self) -> Command {
        match self {
            Self::OtpFailure { device, rule, .. } => Command::RecordOtpFailure {
                id: *device,
                rule: *rule,
            },
            Self::OtpSuccess { device } => Command::RecordOtpSuccess { id: *device },
            Self::TotpSuccess { device, step } => Command::RecordTotpSuccess {
                id: *device,
                step: *step,
            },
            Self::AssertionSuccess { device, sign_count } => Command::RecordAssertionSuccess {
                id: *device,
                sign_count: *sign_count,
            },
            Self::PushFailure { device, rule, .. } => Command::RecordPushRejected {
                id: *device,
                rule: *rule,
            },
        }
    }

    /// When the flow observed it (the `now` to execute the command at).
    ///
    /// ```
    /// use chrono::{DateTime, Utc};
    /// use mfa_devices::authn::DeviceRecord;
    /// use mfa_devices::device::DeviceId;
    /// assert_eq!(DeviceRecord::OtpSuccess { device: DeviceId::from_bytes([1; 16]) }.at(), None);
    /// ```
    pub fn at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::OtpFailure { at, .. } | Self::PushFailure { at, .. } => Some(*at),
            Self::OtpSuccess { .. } | Self::TotpSuccess { .. } | Self::AssertionSuccess { .. } => {
                None
            }
        }
    }
}
