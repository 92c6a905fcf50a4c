//! [`Event`]: what happened to a user's devices — the only input of
//! [`UserDevices::apply`](super::UserDevices::apply), and what an audit log records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::device::{BlockState, Device, DeviceId, EnvironmentId, IdRef, LockState, UserId};

/// One fact about a user's devices, with the envelope an audit log needs.
///
/// Serializes as the envelope (`environment`, `user`, `revision`, `at`) followed by the change,
/// tagged by `"type"` (`"DEVICE_CREATED"`, `"ORDER_SET"`, …). Events carry their results (the
/// order after, the lock after, the counter after), so [`apply`](super::UserDevices::apply) only
/// writes them down and replaying a stored log needs no policy numbers.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::{DeviceId, DeviceType, EnvironmentId, NewDevice, UserId};
/// use mfa_devices::user_devices::{Command, Event, UserDevices};
///
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let id = DeviceId::from_bytes([3; 16]);
/// let events = user.execute(Command::Create { id, device: NewDevice::new(DeviceType::Totp) }, t).unwrap();
/// assert_eq!(events[0].audit_type(), "DEVICE.CREATED");
/// assert_eq!(events[0].device_id(), Some(id));
/// let json = serde_json::to_value(&events[0]).unwrap();
/// assert_eq!(json["type"], "DEVICE_CREATED");
/// assert_eq!(json["at"], "2025-01-01T12:00:00.000Z");
/// let back: Event = serde_json::from_value(json).unwrap();
/// assert_eq!(back, events[0]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
        /// The new device.
        device: Box<Device>,
        /// The order after (`None`: unordered).
        order: Option<Vec<DeviceId>>,
    },
    /// An ACTIVATION_REQUIRED device became ACTIVE (appended to the order of an ordered user).
    #[serde(rename_all = "camelCase")]
    DeviceActivated {
        /// The device.
        device_id: DeviceId,
        /// The order after (`None`: unordered).
        order: Option<Vec<DeviceId>>,
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

impl Event {
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
            | Change::NicknameChanged { device_id, .. }
            | Change::OtpFailureRecorded { device_id, .. }
            | Change::OtpSuccessRecorded { device_id }
            | Change::PushRejectionRecorded { device_id, .. }
            | Change::DeviceUnlocked { device_id, .. }
            | Change::DeviceBlocked { device_id }
            | Change::DeviceUnblocked { device_id, .. } => Some(*device_id),
            Change::OrderSet { .. } | Change::OrderRemoved { .. } => None,
        }
    }
}
