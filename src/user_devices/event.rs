//! [`Event`]: what happened to a user's devices — the only input of
//! [`UserDevices::apply`](super::UserDevices::apply), and what an audit log records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::device::timestamp::format;
use crate::device::{
    BlockState, Device, DeviceId, EnvironmentId, IdRef, LockState, LockStatus, UserId,
};
use crate::error::{ApiError, DetailCode, ErrorDetail};

use super::provision::ActivationChallenge;

/// The UUIDv5 namespace of [`Event::id`]: itself the UUIDv5 of the URL
/// `https://docs.rs/mfa-devices/user_devices/Event` in the RFC 9562 URL namespace.
///
/// ```
/// use mfa_devices::user_devices::EVENT_ID_NAMESPACE;
/// let url = b"https://docs.rs/mfa-devices/user_devices/Event";
/// assert_eq!(EVENT_ID_NAMESPACE, uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, url));
/// ```
pub const EVENT_ID_NAMESPACE: Uuid = Uuid::from_bytes([
    0xf5, 0xe7, 0x4f, 0x0c, 0x76, 0x42, 0x5f, 0x13, 0xbb, 0x1a, 0x11, 0xa1, 0x0a, 0x37, 0xdc, 0xaa,
]);

/// One fact about a user's devices, with the envelope an audit log needs.
///
/// Serializes as the envelope (`id`, `environment`, `user`, `revision`, `at`) followed by the
/// change, tagged by `"type"` (`"DEVICE_CREATED"`, `"ORDER_SET"`, …). Events carry their results
/// (the order after, the lock after, the counter after), so [`apply`](super::UserDevices::apply)
/// only writes them down and replaying a stored log needs no policy numbers.
///
/// **Stored form.** `{"id", "environment": {"id"}, "user": {"id"}, "revision", "at", "type",
/// …the change's properties}`. `id` is [`Event::id`], deterministic (no randomness): the same
/// event decided twice, or written twice by a retrying server, has the same id, so an outbox or
/// an audit sink can de-duplicate on it. It is derived, not stored state: deserializing accepts
/// an event without `id` (logs written by 0.1 and early 0.2) and refuses one whose `id` is not
/// the one its environment, user and revision give (a corrupted or hand-edited row). The
/// `"type"` tag is the event form's version: a change a later version adds gets a new tag, and a
/// tag this version does not know is refused, never skipped. A log's order and completeness are
/// checked by [`UserDevices::replay`](super::UserDevices::replay).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::{DeviceId, DeviceType, EnvironmentId, NewDevice, UserId};
/// use mfa_devices::user_devices::{Command, Event, UserDevices};
///
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let id = DeviceId::from_bytes([3; 16]);
/// let events = user.execute(Command::Create { id, device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
/// assert_eq!(events[0].audit_type(), "DEVICE.CREATED");
/// assert_eq!(events[0].device_id(), Some(id));
/// let json = serde_json::to_value(&events[0]).unwrap();
/// assert_eq!(json["type"], "DEVICE_CREATED");
/// assert_eq!(json["at"], "2025-01-01T12:00:00.000Z");
/// let back: Event = serde_json::from_value(json).unwrap();
/// assert_eq!(back, events[0]);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "StoredEvent")]
pub struct Event {
    /// `environment.id` of the user.
    pub environment: IdRef<EnvironmentId>,
    /// `user.id`.
    pub user: IdRef<UserId>,
    /// The aggregate's revision once this event is applied.
    pub revision: u64,
    /// When it happened (milliseconds precision); the device's new `updatedAt`.
    #[serde(with = "crate::device::timestamp")]
    pub at: DateTime<Utc>,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// What an [`Event`] changed. Each variant carries the state after (and before, where an audit
/// log wants it).
///
/// ```
/// use mfa_devices::user_devices::Change;
/// let c = Change::OrderRemoved { before: vec![] };
/// assert_eq!(serde_json::to_value(&c).unwrap(), serde_json::json!({"type": "ORDER_REMOVED", "before": []}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Change {
    /// A device was created (the whole new device), possibly ACTIVE and appended to the order.
    #[serde(rename_all = "camelCase")]
    DeviceCreated {
        /// The new device (a TOTP device with its secret: a stored event is as sensitive as
        /// the user's snapshot).
        device: Box<Device>,
        /// The order after (`None`: unordered).
        order: Option<Vec<DeviceId>>,
        /// The activation challenge issued with it (sealed: the passcode is not in it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activation: Option<ActivationChallenge>,
    },
    /// An ACTIVATION_REQUIRED device became ACTIVE (appended to the order of an ordered user).
    #[serde(rename_all = "camelCase")]
    DeviceActivated {
        /// The device.
        device_id: DeviceId,
        /// The order after (`None`: unordered).
        order: Option<Vec<DeviceId>>,
        /// A TOTP device activated with a code: the time step it was accepted for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        totp_step: Option<u64>,
        /// A WebAuthn device activated with its registration: the verified credential.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credential: Option<Box<crate::device::WebAuthnCredential>>,
    },
    /// A new activation passcode was sent to an ACTIVATION_REQUIRED device; it replaces the
    /// pending one.
    #[serde(rename_all = "camelCase")]
    ActivationIssued {
        /// The device.
        device_id: DeviceId,
        /// The new challenge (sealed).
        challenge: ActivationChallenge,
    },
    /// A device was deleted (the device as it was); the order lost it — the next device becomes
    /// the default, and an unordered user left with at most one ACTIVE device becomes ordered.
    #[serde(rename_all = "camelCase")]
    DeviceDeleted {
        /// The deleted device, as it was.
        device: Box<Device>,
        /// The order before.
        order_before: Option<Vec<DeviceId>>,
        /// The order after.
        order: Option<Vec<DeviceId>>,
    },
    /// The nickname changed (`None`: removed).
    #[serde(rename_all = "camelCase")]
    NicknameChanged {
        /// The device.
        device_id: DeviceId,
        /// The nickname before.
        before: Option<String>,
        /// The nickname after.
        after: Option<String>,
    },
    /// The order was set explicitly; the first device is the default.
    #[serde(rename_all = "camelCase")]
    OrderSet {
        /// The order before (`None`: the user was unordered).
        before: Option<Vec<DeviceId>>,
        /// The new order.
        order: Vec<DeviceId>,
    },
    /// The order was removed: the user is unordered and has no default device.
    #[serde(rename_all = "camelCase")]
    OrderRemoved {
        /// The order before.
        before: Vec<DeviceId>,
    },
    /// An OTP check failed (during activation when the device is ACTIVATION_REQUIRED).
    #[serde(rename_all = "camelCase")]
    OtpFailureRecorded {
        /// The device.
        device_id: DeviceId,
        /// Whether it was an activation OTP (the device was ACTIVATION_REQUIRED).
        activation: bool,
        /// The failure counter after (0 once a run reached the policy's count).
        failures: u32,
        /// Whether this failure reached the policy's `failure.count`.
        limit_reached: bool,
        /// The lock after.
        lock: LockState,
    },
    /// An OTP check succeeded: the failure counter restarts.
    #[serde(rename_all = "camelCase")]
    OtpSuccessRecorded {
        /// The device.
        device_id: DeviceId,
        /// A TOTP code: the time step it was accepted for (the device's last used step after).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        totp_step: Option<u64>,
        /// A WebAuthn assertion: the signature counter it carried (the credential's after).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_count: Option<u32>,
    },
    /// A push was declined or ignored.
    #[serde(rename_all = "camelCase")]
    PushRejectionRecorded {
        /// The device.
        device_id: DeviceId,
        /// The rejections still counted after (empty once the limit was reached).
        #[serde(with = "crate::lock::timestamps")]
        rejections: Vec<DateTime<Utc>>,
        /// Whether this rejection reached `pushLimit.count`.
        limit_reached: bool,
        /// The lock after.
        lock: LockState,
    },
    /// An administrator unlocked the device: lock cleared, counters restart.
    #[serde(rename_all = "camelCase")]
    DeviceUnlocked {
        /// The device.
        device_id: DeviceId,
        /// The lock before.
        before: Option<LockState>,
    },
    /// An administrator blocked the device (`block.blockedAt` is the event's `at`).
    #[serde(rename_all = "camelCase")]
    DeviceBlocked {
        /// The device.
        device_id: DeviceId,
    },
    /// An administrator unblocked the device.
    #[serde(rename_all = "camelCase")]
    DeviceUnblocked {
        /// The device.
        device_id: DeviceId,
        /// The block before.
        before: Option<BlockState>,
    },
}

/// [`Event`] as it is written: the derived `id` first.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventRef<'a> {
    id: Uuid,
    environment: &'a IdRef<EnvironmentId>,
    user: &'a IdRef<UserId>,
    revision: u64,
    #[serde(with = "crate::device::timestamp")]
    at: DateTime<Utc>,
    #[serde(flatten)]
    change: &'a Change,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EventRef {
            id: self.id(),
            environment: &self.environment,
            user: &self.user,
            revision: self.revision,
            at: self.at,
            change: &self.change,
        }
        .serialize(serializer)
    }
}

/// [`Event`] as it is read: `id` optional (older logs), checked when present.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEvent {
    #[serde(default)]
    id: Option<Uuid>,
    environment: IdRef<EnvironmentId>,
    user: IdRef<UserId>,
    revision: u64,
    #[serde(with = "crate::device::timestamp")]
    at: DateTime<Utc>,
    #[serde(flatten)]
    change: Change,
}

impl TryFrom<StoredEvent> for Event {
    type Error = String;
    fn try_from(s: StoredEvent) -> Result<Self, Self::Error> {
        let event = Event {
            environment: s.environment,
            user: s.user,
            revision: s.revision,
            at: s.at,
            change: s.change,
        };
        match s.id {
            Some(id) if id != event.id() => Err(format!(
                "event id {id} is not the id of environment {} user {} revision {} ({})",
                event.environment.id,
                event.user.id,
                event.revision,
                event.id()
            )),
            _ => Ok(event),
        }
    }
}

impl Event {
    /// The event's id: the UUIDv5, in [`EVENT_ID_NAMESPACE`], of the 40 bytes environment id
    /// (16) ‖ user id (16) ‖ revision (8, big-endian). One revision of one user has one event,
    /// so the id names it everywhere (outbox rows, audit records, message brokers) and a
    /// redelivered or re-decided event de-duplicates on it. [`Event::id_for`] computes it from
    /// the key alone, e.g. for a SQL row.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{DeviceId, DeviceType, EnvironmentId, NewDevice, UserId};
    /// use mfa_devices::user_devices::{Command, Event, UserDevices};
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let command = Command::Create { id: DeviceId::from_bytes([3; 16]), device: NewDevice::new(DeviceType::Totp), secrets: Default::default() };
    /// let a = UserDevices::new(env, user).decide(command.clone(), t).unwrap();
    /// let b = UserDevices::new(env, user).decide(command, t).unwrap();
    /// assert_eq!(a[0].id(), b[0].id()); // deterministic
    /// assert_eq!(a[0].id(), Event::id_for(env, user, 1));
    /// assert_eq!(a[0].id().get_version_num(), 5);
    /// assert_eq!(serde_json::to_value(&a[0]).unwrap()["id"], a[0].id().to_string());
    /// ```
    pub fn id(&self) -> Uuid {
        Self::id_for(self.environment.id, self.user.id, self.revision)
    }

    /// The id of the event at `revision` of `user` in `environment` (see [`Event::id`]).
    pub fn id_for(environment: EnvironmentId, user: UserId, revision: u64) -> Uuid {
        let mut name = [0u8; 40];
        for (slot, byte) in name.iter_mut().zip(
            environment
                .as_uuid()
                .as_bytes()
                .iter()
                .chain(user.as_uuid().as_bytes())
                .chain(&revision.to_be_bytes()),
        ) {
            *slot = *byte;
        }
        Uuid::new_v5(&EVENT_ID_NAMESPACE, &name)
    }

    /// PingOne's audit event type (service `users`).
    ///
    /// | change | audit type |
    /// |---|---|
    /// | `DeviceCreated` | `DEVICE.CREATED` |
    /// | `DeviceDeleted` | `DEVICE.DELETED` |
    /// | `OrderSet`, `OrderRemoved` | `DEVICE.REORDERED` |
    /// | `OtpFailureRecorded` during activation | `DEVICE.ACTIVATION_OTP_INVALID`, or `DEVICE.ACTIVATION_OTP_FAILED` when it reached the count |
    /// | everything else (activation, nickname, lock/unlock, block/unblock, counters) | `DEVICE.UPDATED` |
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Change, Event};
    /// let e = Event {
    ///     environment: IdRef::new(EnvironmentId::from_bytes([1; 16])),
    ///     user: IdRef::new(UserId::from_bytes([2; 16])),
    ///     revision: 1,
    ///     at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    ///     change: Change::OtpFailureRecorded { device_id: DeviceId::from_bytes([3; 16]),
    ///         activation: true, failures: 0, limit_reached: true, lock: LockState::unlocked() },
    /// };
    /// assert_eq!(e.audit_type(), "DEVICE.ACTIVATION_OTP_FAILED");
    /// ```
    pub fn audit_type(&self) -> &'static str {
        match &self.change {
            Change::DeviceCreated { .. } => "DEVICE.CREATED",
            Change::DeviceDeleted { .. } => "DEVICE.DELETED",
            Change::OrderSet { .. } | Change::OrderRemoved { .. } => "DEVICE.REORDERED",
            Change::OtpFailureRecorded {
                activation: true,
                limit_reached: true,
                ..
            } => "DEVICE.ACTIVATION_OTP_FAILED",
            Change::OtpFailureRecorded {
                activation: true, ..
            } => "DEVICE.ACTIVATION_OTP_INVALID",
            Change::DeviceActivated { .. }
            | Change::ActivationIssued { .. }
            | Change::NicknameChanged { .. }
            | Change::OtpFailureRecorded { .. }
            | Change::OtpSuccessRecorded { .. }
            | Change::PushRejectionRecorded { .. }
            | Change::DeviceUnlocked { .. }
            | Change::DeviceBlocked { .. }
            | Change::DeviceUnblocked { .. } => "DEVICE.UPDATED",
        }
    }

    /// The device the event is about (`None` for order changes, which are about the user).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::user_devices::{Change, Event};
    /// let e = Event {
    ///     environment: IdRef::new(EnvironmentId::from_bytes([1; 16])),
    ///     user: IdRef::new(UserId::from_bytes([2; 16])),
    ///     revision: 1,
    ///     at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    ///     change: Change::OrderSet { before: None, order: vec![] },
    /// };
    /// assert_eq!(e.device_id(), None);
    /// ```
    pub fn device_id(&self) -> Option<DeviceId> {
        match &self.change {
            Change::DeviceCreated { device, .. } | Change::DeviceDeleted { device, .. } => {
                Some(device.id)
            }
            Change::DeviceActivated { device_id, .. }
            | Change::ActivationIssued { device_id, .. }
            | Change::NicknameChanged { device_id, .. }
            | Change::OtpFailureRecorded { device_id, .. }
            | Change::OtpSuccessRecorded { device_id, .. }
            | Change::PushRejectionRecorded { device_id, .. }
            | Change::DeviceUnlocked { device_id, .. }
            | Change::DeviceBlocked { device_id }
            | Change::DeviceUnblocked { device_id, .. } => Some(*device_id),
            Change::OrderSet { .. } | Change::OrderRemoved { .. } => None,
        }
    }

    /// The answer to a refused activation passcode: for an activation failure
    /// (`OtpFailureRecorded` on an ACTIVATION_REQUIRED device — what
    /// [`Command::Activate`](super::Command::Activate) decides for a wrong passcode), 400
    /// `INVALID_DATA` with an `INVALID_OTP` detail at `otp` (`innerError.coolDownExpiresAt` when
    /// this failure locked the device); `None` for every other event. A server persists the
    /// events, then answers with this error instead of the device.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use mfa_devices::device::*;
    /// # use mfa_devices::user_devices::{Change, Event};
    /// let e = Event {
    ///     environment: IdRef::new(EnvironmentId::from_bytes([1; 16])),
    ///     user: IdRef::new(UserId::from_bytes([2; 16])),
    ///     revision: 1,
    ///     at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    ///     change: Change::OtpFailureRecorded { device_id: DeviceId::from_bytes([3; 16]),
    ///         activation: true, failures: 1, limit_reached: false, lock: LockState::unlocked() },
    /// };
    /// let api = e.activation_error().unwrap();
    /// assert_eq!((api.http_status(), api.details[0].code.as_str()), (400, "INVALID_OTP"));
    /// ```
    pub fn activation_error(&self) -> Option<ApiError> {
        let Change::OtpFailureRecorded {
            activation: true,
            limit_reached,
            lock,
            ..
        } = &self.change
        else {
            return None;
        };
        let detail = match (limit_reached, lock.status == LockStatus::Locked) {
            (true, true) => ErrorDetail::new(
                DetailCode::InvalidOtp,
                "otp",
                "The one-time passcode is not valid; too many attempts, the device is locked.",
            )
            .with_inner(
                "coolDownExpiresAt",
                lock.expires_at.as_ref().map(format).unwrap_or_default(),
            ),
            (true, false) => ErrorDetail::new(
                DetailCode::InvalidOtp,
                "otp",
                "The one-time passcode is not valid; too many attempts, request a new one.",
            ),
            (false, _) => ErrorDetail::new(
                DetailCode::InvalidOtp,
                "otp",
                "The one-time passcode is not valid.",
            ),
        };
        Some(ApiError::invalid_data(
            "The one-time passcode could not be verified.",
            vec![detail],
        ))
    }
}
