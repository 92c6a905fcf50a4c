//! The per-user device aggregate: lifecycle, default-device ordering, lock/block, audit events.
//!
//! [`UserDevices`] holds everything about one user's devices in one environment. It follows the
//! decide / evolve pattern:
//!
//! - [`decide`](UserDevices::decide) checks a [`Command`] against the state at `now` and returns
//!   the [`Event`]s it causes, or a [`DeviceError`]; it never mutates, so a refused command
//!   leaves state and [`revision`](UserDevices::revision) untouched by construction;
//! - [`apply`](UserDevices::apply) writes one event down (total, never fails) and bumps the
//!   revision; [`replay`](UserDevices::replay) folds a stored log;
//! - [`execute`](UserDevices::execute) is both, and
//!   [`decide_at_revision`](UserDevices::decide_at_revision) adds optimistic concurrency (409).
//!
//! Rules (PingOne's, and the crate's **decisions** where PingOne is silent — `domain-notes.md`):
//!
//! - **Ordered users** (every new user): ACTIVE devices have an order; activation (or creating a
//!   device ACTIVE) appends; the first is the default; deleting the default promotes the next.
//! - **Reorder is strict** (decision): the request lists every ACTIVE device exactly once and
//!   nothing else, or the whole request is refused with `INVALID_DATA`, one detail per bad entry
//!   (unknown id, duplicate, not ACTIVE → `INVALID_VALUE` at `order[i].id`; an omitted ACTIVE
//!   device → `CONSTRAINT_VIOLATION` at `order`; an empty list → `REQUIRED_VALUE`).
//! - **Unordered users** (legacy users with more than one ACTIVE device when ordering was
//!   introduced — [`legacy_unordered`](UserDevices::legacy_unordered) — and any user after
//!   [`Command::RemoveOrder`]): no default; activation does not create an order; a reorder makes
//!   them ordered. Decision: when a **deletion** leaves an unordered user with one or zero ACTIVE
//!   devices, the user is ordered again (the remaining device, if any, is the default) — the rule
//!   is checked on deletion only, the one operation that lowers the ACTIVE count, so
//!   `RemoveOrder` always leaves the user unordered as PingOne documents.
//! - **List order** ([`list`](UserDevices::list)): an ordered user's ACTIVE devices in order, then
//!   the other devices; where PingOne says "no particular order" (ACTIVATION_REQUIRED devices,
//!   all devices of unordered users) the decision is `createdAt`, then id.
//! - **Limit**: [`DeviceSettings::max_allowed_devices`] (1–15, default 5) counts ACTIVE and
//!   BLOCKED devices; `Create` — whatever the new device's status — and `Activate` are refused
//!   with `LIMIT_EXCEEDED` once it is reached (decision: activation is checked too, or the limit
//!   could be passed by creating devices ACTIVATION_REQUIRED first). Snapshots are not checked
//!   against it (stored users keep their devices when the setting is lowered).
//! - **Locks** (see [`crate::lock`] for the arithmetic): OTP failures reaching the policy's count
//!   lock the device (reason OTP) until that failure's time + coolDown (coolDown 0: never);
//!   declined/ignored pushes reaching `pushLimit.count` within `timePeriod` lock it (reason PUSH)
//!   for `lockDuration`; a lock reads UNLOCKED from `expiresAt` on and the counters restart;
//!   `Unlock` clears lock and counters. `Block` sets BLOCKED + `blockedAt`, never expires;
//!   `Unblock` clears it. Locked and blocked devices keep their place in the order.
//!   Decisions: a device under a lock in force, or blocked, is refused OTP failure/success and
//!   push records and activation (`REQUEST_FAILED`); delete, nickname, unlock, block and unblock
//!   stay allowed; pushes are recorded only for ACTIVE devices; OTP failures on an
//!   ACTIVATION_REQUIRED device are activation failures (audited `DEVICE.ACTIVATION_OTP_INVALID`,
//!   `…_FAILED` when the count is reached) and lock it the same way.
//! - **No-ops** (decision): a command that would change nothing (block a blocked device, set the
//!   same nickname, reorder to the current order, remove an absent order, unlock an unlocked
//!   device with zero counters, record a success with zero failures) is accepted with no events;
//!   the revision does not move.
//! - **Revision and `updatedAt`**: every applied event bumps the revision by one and sets the
//!   `updatedAt` of the device it is about to the event's time (order events are about the user
//!   and touch no device).
//! - Time is always passed in and truncated to milliseconds, PingOne's precision.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mfa_devices::device::*;
//! use mfa_devices::order::{Command, UserDevices};
//!
//! let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
//! let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
//! let (a, b) = (DeviceId::from_bytes([10; 16]), DeviceId::from_bytes([11; 16]));
//! let mut sms = NewDevice::new(DeviceType::Sms);
//! sms.phone = Some("+1 (512) 555-1234".into());
//! sms.status = Some(DeviceStatus::Active);
//! user.execute(Command::Create { id: a, device: sms }, t).unwrap();
//! user.execute(Command::Create { id: b, device: NewDevice::new(DeviceType::Totp) }, t).unwrap();
//! user.execute(Command::Activate { id: b }, t).unwrap();
//! assert_eq!(user.expand_order(), [a, b]);
//! assert_eq!(user.default_device().map(|d| d.id), Some(a));
//!
//! let events = user.execute(Command::Delete { id: a }, t).unwrap();
//! assert_eq!(events[0].audit_type(), "DEVICE.DELETED");
//! assert_eq!(user.default_device().map(|d| d.id), Some(b));
//! assert_eq!(user.revision(), 4);
//! ```

mod command;
mod error;
mod event;

pub use command::{
    APPLICATION_JSON, Command, DEVICE_ACTIVATE_MEDIA_TYPE, DEVICE_BLOCK_MEDIA_TYPE,
    DEVICE_UNBLOCK_MEDIA_TYPE, DEVICE_UNLOCK_MEDIA_TYPE, DEVICES_ORDER_REMOVE_MEDIA_TYPE,
    DEVICES_REORDER_MEDIA_TYPE, RequestTarget,
};
pub use error::{DeviceError, OrderViolation};
pub use event::{Change, Event};

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::device::hal::{ApiBase, render_collection};
use crate::device::timestamp::truncate_millis;
use crate::device::{
    BlockState, Device, DeviceDetails, DeviceId, DeviceStatus, EnvironmentId, IdRef, LockState,
    LockStatus, MAX_NICKNAME_CHARS, NewDevice, UserId,
};
use crate::lock::{
    FailureCounters, FailureRule, PushLimitRule, effective_lock, record_otp_failure,
    record_push_rejection,
};

/// The user-device settings the aggregate enforces: `maxAllowedDevices` (1–15, default 5).
///
/// Serializes as `{"maxAllowedDevices": 5}`; deserialization checks the range.
///
/// ```
/// use mfa_devices::order::DeviceSettings;
/// assert_eq!(DeviceSettings::default().max_allowed_devices(), 5);
/// assert_eq!(DeviceSettings::new(15).unwrap().max_allowed_devices(), 15);
/// let e = mfa_devices::error::ApiError::from(DeviceSettings::new(16).unwrap_err());
/// assert_eq!(e.details[0].code.as_str(), "OUT_OF_RANGE");
/// assert!(serde_json::from_str::<DeviceSettings>(r#"{"maxAllowedDevices":0}"#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawSettings")]
pub struct DeviceSettings {
    max_allowed_devices: u8,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSettings {
    max_allowed_devices: u64,
}

impl TryFrom<RawSettings> for DeviceSettings {
    type Error = DeviceError;
    fn try_from(raw: RawSettings) -> Result<Self, Self::Error> {
        Self::new(raw.max_allowed_devices)
    }
}

impl DeviceSettings {
    /// PingOne's default `maxAllowedDevices`.
    pub const DEFAULT_MAX_ALLOWED_DEVICES: u8 = 5;
    /// The largest `maxAllowedDevices` PingOne allows.
    pub const MAX_ALLOWED_DEVICES: u8 = 15;

    /// Settings with `maxAllowedDevices`, which must be 1–15.
    pub fn new(max_allowed_devices: u64) -> Result<Self, DeviceError> {
        match u8::try_from(max_allowed_devices) {
            Ok(m) if (1..=Self::MAX_ALLOWED_DEVICES).contains(&m) => Ok(Self {
                max_allowed_devices: m,
            }),
            _ => Err(DeviceError::InvalidSettings {
                max_allowed_devices,
            }),
        }
    }

    /// How many ACTIVE or BLOCKED devices a user may have.
    pub fn max_allowed_devices(&self) -> u8 {
        self.max_allowed_devices
    }
}

impl Default for DeviceSettings {
    fn default() -> Self {
        Self {
            max_allowed_devices: Self::DEFAULT_MAX_ALLOWED_DEVICES,
        }
    }
}

/// One user's devices: the aggregate. See the [module documentation](self) for the rules.
///
/// Serializes as a snapshot `{"environment", "user", "revision", "settings", "order",
/// "devices", "counters"}` (`order` is `null` for an unordered user); deserializing checks the
/// snapshot like [`restore`](Self::restore).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::*;
/// use mfa_devices::order::{Command, UserDevices};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let events = user.execute(Command::Create { id: DeviceId::from_bytes([3; 16]),
///     device: NewDevice::new(DeviceType::Totp) }, t).unwrap();
/// let snapshot = serde_json::to_string(&user).unwrap();
/// assert_eq!(serde_json::from_str::<UserDevices>(&snapshot).unwrap(), user);
/// let replayed = UserDevices::replay(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), &events);
/// assert_eq!(replayed, user);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Snapshot", try_from = "Snapshot")]
pub struct UserDevices {
    environment_id: EnvironmentId,
    user_id: UserId,
    settings: DeviceSettings,
    revision: u64,
    devices: BTreeMap<DeviceId, Device>,
    /// Only non-zero counters, so that equal states compare equal.
    counters: BTreeMap<DeviceId, FailureCounters>,
    /// `None`: unordered (no default device).
    order: Option<Vec<DeviceId>>,
}

/// The serialized form of [`UserDevices`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    environment: IdRef<EnvironmentId>,
    user: IdRef<UserId>,
    revision: u64,
    #[serde(default)]
    settings: DeviceSettings,
    order: Option<Vec<DeviceId>>,
    devices: Vec<Device>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    counters: BTreeMap<DeviceId, FailureCounters>,
}

impl From<UserDevices> for Snapshot {
    fn from(u: UserDevices) -> Self {
        Snapshot {
            environment: IdRef::new(u.environment_id),
            user: IdRef::new(u.user_id),
            revision: u.revision,
            settings: u.settings,
            order: u.order,
            devices: u.devices.into_values().collect(),
            counters: u.counters,
        }
    }
}

impl TryFrom<Snapshot> for UserDevices {
    type Error = DeviceError;
    fn try_from(s: Snapshot) -> Result<Self, Self::Error> {
        let mut u =
            UserDevices::restore(s.environment.id, s.user.id, s.devices, s.order, s.revision)?
                .with_settings(s.settings);
        for (id, c) in s.counters {
            if !u.devices.contains_key(&id) {
                return Err(DeviceError::InvalidSnapshot(format!(
                    "counters for device {id}, which is not in the snapshot"
                )));
            }
            u.set_counters(id, c);
        }
        Ok(u)
    }
}

impl UserDevices {
    /// A new user: no devices, ordered (an empty order), revision 0, default settings.
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// let u = mfa_devices::order::UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert!(u.is_ordered() && u.list().is_empty() && u.revision() == 0);
    /// ```
    pub fn new(environment_id: EnvironmentId, user_id: UserId) -> Self {
        Self {
            environment_id,
            user_id,
            settings: DeviceSettings::default(),
            revision: 0,
            devices: BTreeMap::new(),
            counters: BTreeMap::new(),
            order: Some(Vec::new()),
        }
    }

    /// The same aggregate with other settings (they govern [`decide`](Self::decide) only).
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::order::{DeviceSettings, UserDevices};
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]))
    ///     .with_settings(DeviceSettings::new(2).unwrap());
    /// assert_eq!(u.settings().max_allowed_devices(), 2);
    /// ```
    #[must_use]
    pub fn with_settings(mut self, settings: DeviceSettings) -> Self {
        self.settings = settings;
        self
    }

    /// A legacy user from before device ordering: the devices have no order and there is no
    /// default device, revision 0.
    ///
    /// Decision: PingOne's legacy users are those with more than one ACTIVE device when ordering
    /// was introduced; given one or zero ACTIVE devices, the user is ordered (the ACTIVE device,
    /// if any, is the default), as an unordered user dropping to one would be.
    ///
    /// Errors ([`DeviceError::InvalidSnapshot`]): two devices with one id, or a device of another
    /// environment or user.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::UserDevices;
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let dev = |b| Device::new(DeviceId::from_bytes([b; 16]), env, user, DeviceType::Sms, DeviceStatus::Active, t);
    /// let u = UserDevices::legacy_unordered(env, user, vec![dev(3), dev(4)]).unwrap();
    /// assert!(!u.is_ordered() && u.default_device().is_none() && u.expand_order().is_empty());
    /// ```
    pub fn legacy_unordered(
        environment_id: EnvironmentId,
        user_id: UserId,
        devices: Vec<Device>,
    ) -> Result<UserDevices, DeviceError> {
        let mut u = Self::restore(environment_id, user_id, devices, None, 0)?;
        let active = u.active_ids();
        if active.len() <= 1 {
            u.order = Some(active);
        }
        Ok(u)
    }

    /// Loads stored state: the devices, the order (`None`: unordered) and the revision, with
    /// default settings (see [`with_settings`](Self::with_settings)) and zero failure counters.
    ///
    /// The snapshot must be consistent, else [`DeviceError::InvalidSnapshot`] (a server-side
    /// data error, 500): unique device ids, every device of this environment and user, and an
    /// order listing every ACTIVE device exactly once and nothing else. `maxAllowedDevices` is
    /// not checked (a user keeps the devices they have when the setting is lowered), which is
    /// also how to build large aggregates for benchmarks.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::UserDevices;
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let dev = |b| Device::new(DeviceId::from_bytes([b; 16]), env, user, DeviceType::Sms, DeviceStatus::Active, t);
    /// let order = vec![DeviceId::from_bytes([4; 16]), DeviceId::from_bytes([3; 16])];
    /// let u = UserDevices::restore(env, user, vec![dev(3), dev(4)], Some(order.clone()), 7).unwrap();
    /// assert_eq!((u.expand_order(), u.revision()), (order, 7));
    /// assert!(UserDevices::restore(env, user, vec![dev(3), dev(4)], Some(vec![]), 7).is_err());
    /// ```
    pub fn restore(
        environment_id: EnvironmentId,
        user_id: UserId,
        devices: Vec<Device>,
        order: Option<Vec<DeviceId>>,
        revision: u64,
    ) -> Result<UserDevices, DeviceError> {
        let mut map = BTreeMap::new();
        for d in devices {
            if d.environment.id != environment_id || d.user.id != user_id {
                return Err(DeviceError::InvalidSnapshot(format!(
                    "device {} belongs to environment {} user {}, not environment {environment_id} user {user_id}",
                    d.id, d.environment.id, d.user.id
                )));
            }
            let id = d.id;
            if map.insert(id, d).is_some() {
                return Err(DeviceError::InvalidSnapshot(format!(
                    "device {id} appears twice"
                )));
            }
        }
        let u = Self {
            devices: map,
            order: None,
            revision,
            ..Self::new(environment_id, user_id)
        };
        if let Some(order) = &order {
            let violations = u.order_violations(order);
            if !violations.is_empty() {
                return Err(DeviceError::InvalidSnapshot(
                    DeviceError::InvalidOrder(violations).to_string(),
                ));
            }
        }
        Ok(Self { order, ..u })
    }

    /// Loads a `GET …/devices` response body (`_embedded.devices`, HAL links ignored) with
    /// [`restore`](Self::restore) at `revision`. The order is `_embedded.order` when the response
    /// was expanded with `expand=order` (an empty array: unordered), else — decision — the
    /// ACTIVE devices in the order listed.
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::order::UserDevices;
    /// let body = serde_json::json!({"_embedded": {"devices": []}, "count": 0, "size": 0});
    /// let u = UserDevices::from_list_response(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), &body, 0).unwrap();
    /// assert!(u.list().is_empty());
    /// ```
    pub fn from_list_response(
        environment_id: EnvironmentId,
        user_id: UserId,
        body: &Value,
        revision: u64,
    ) -> Result<UserDevices, DeviceError> {
        let embedded = body.get("_embedded");
        let items = embedded
            .and_then(|e| e.get("devices"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                DeviceError::InvalidSnapshot("no _embedded.devices array in the list body".into())
            })?;
        let mut devices = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let device: Device = serde_json::from_value(item.clone()).map_err(|e| {
                DeviceError::InvalidSnapshot(format!("_embedded.devices[{i}]: {e}"))
            })?;
            devices.push(device);
        }
        let order = match embedded.and_then(|e| e.get("order")) {
            Some(order) => {
                let ids: Vec<IdRef<DeviceId>> = serde_json::from_value(order.clone())
                    .map_err(|e| DeviceError::InvalidSnapshot(format!("_embedded.order: {e}")))?;
                let ids: Vec<DeviceId> = ids.into_iter().map(|r| r.id).collect();
                (!ids.is_empty()).then_some(ids)
            }
            None => Some(
                devices
                    .iter()
                    .filter(|d| d.is_active())
                    .map(|d| d.id)
                    .collect(),
            ),
        };
        Self::restore(environment_id, user_id, devices, order, revision)
    }

    /// The environment.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!((u.environment_id(), u.user_id()), (env, user));
    /// ```
    pub fn environment_id(&self) -> EnvironmentId {
        self.environment_id
    }

    /// The user.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.user_id(), user);
    /// ```
    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// The settings [`decide`](Self::decide) enforces.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.settings().max_allowed_devices(), 5);
    /// ```
    pub fn settings(&self) -> DeviceSettings {
        self.settings
    }

    /// The number of events applied since the state was created (or the restored revision plus
    /// those): a server stores it like a `_rev` and uses
    /// [`decide_at_revision`](Self::decide_at_revision) to never lose an update.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.revision(), 1);
    /// ```
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether the user's ACTIVE devices have an order (and so, if any, a default device).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert!(u.is_ordered());
    /// u.execute(Command::RemoveOrder, t).unwrap();
    /// assert!(!u.is_ordered());
    /// ```
    pub fn is_ordered(&self) -> bool {
        self.order.is_some()
    }

    /// The order (`None`: unordered).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.order(), Some(&[id][..]));
    /// ```
    pub fn order(&self) -> Option<&[DeviceId]> {
        self.order.as_deref()
    }

    /// One device, as stored.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.device(&id).map(|d| d.is_active()), Some(true));
    /// ```
    pub fn device(&self, id: &DeviceId) -> Option<&Device> {
        self.devices.get(id)
    }

    /// A device as it reads at `now`: an expired lock shows `{"status":"UNLOCKED"}`.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// u.execute(Command::Create { id, device: NewDevice::new(DeviceType::Totp) }, t).unwrap();
    /// u.execute(Command::RecordOtpFailure { id, failure_count: 1, cool_down: TimeDelta::minutes(2) }, t).unwrap();
    /// assert_eq!(u.device_at(&id, t).unwrap().lock.unwrap().status, LockStatus::Locked);
    /// assert_eq!(u.device_at(&id, t + TimeDelta::minutes(2)).unwrap().lock, Some(LockState::unlocked()));
    /// ```
    pub fn device_at(&self, id: &DeviceId, now: DateTime<Utc>) -> Option<Device> {
        self.devices.get(id).map(|d| view(d, now))
    }

    /// The failure counters of a device (zero for an unknown device).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// u.execute(Command::RecordOtpFailure { id, failure_count: 3, cool_down: chrono::TimeDelta::minutes(2) }, t).unwrap();
    /// assert_eq!(u.counters(&id).otp_failures, 1);
    /// ```
    pub fn counters(&self, id: &DeviceId) -> FailureCounters {
        self.counters.get(id).cloned().unwrap_or_default()
    }

    /// The devices in `GET …/devices` order: an ordered user's ACTIVE devices in order (the
    /// default first), then the other devices by `createdAt`, then id; an unordered user's
    /// devices all by `createdAt`, then id (the crate's decision for PingOne's "no particular
    /// order").
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::UserDevices;
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let dev = |b, s, m| Device::new(DeviceId::from_bytes([b; 16]), env, user, DeviceType::Sms, s, t + TimeDelta::minutes(m));
    /// let devices = vec![dev(3, DeviceStatus::ActivationRequired, 2), dev(4, DeviceStatus::Active, 3),
    ///     dev(5, DeviceStatus::ActivationRequired, 1), dev(6, DeviceStatus::Active, 0)];
    /// let order = vec![DeviceId::from_bytes([4; 16]), DeviceId::from_bytes([6; 16])];
    /// let u = UserDevices::restore(env, user, devices, Some(order), 0).unwrap();
    /// let ids: Vec<u8> = u.list().iter().map(|d| d.id.as_uuid().as_bytes()[0]).collect();
    /// assert_eq!(ids, [4, 6, 5, 3]);
    /// ```
    pub fn list(&self) -> Vec<&Device> {
        let mut out = Vec::with_capacity(self.devices.len());
        let mut rest: Vec<&Device> = match &self.order {
            Some(order) => {
                out.extend(order.iter().filter_map(|id| self.devices.get(id)));
                let active = self.devices.values().filter(|d| d.is_active()).count();
                if out.len() == active && out.iter().all(|d| d.is_active()) {
                    // The order lists the ACTIVE devices (always so for decided events; the
                    // order has no duplicates by construction): the rest are the others.
                    self.devices.values().filter(|d| !d.is_active()).collect()
                } else {
                    let listed: HashSet<&DeviceId> = order.iter().collect();
                    self.devices
                        .values()
                        .filter(|d| !listed.contains(&d.id))
                        .collect()
                }
            }
            None => self.devices.values().collect(),
        };
        rest.sort_by_key(|d| (d.created_at, d.id));
        out.extend(rest);
        out
    }

    /// `expand=order`: the ordered ACTIVE device ids, empty for an unordered user.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.expand_order(), [id]);
    /// u.execute(Command::RemoveOrder, t).unwrap();
    /// assert!(u.expand_order().is_empty());
    /// ```
    pub fn expand_order(&self) -> Vec<DeviceId> {
        self.order.clone().unwrap_or_default()
    }

    /// The default device: the first of the order (`None` when unordered or without ACTIVE
    /// devices). It may be locked or blocked: it keeps its place, and an authentication skips it.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// u.execute(Command::Block { id }, t).unwrap();
    /// assert_eq!(u.default_device().map(|d| d.id), Some(id)); // blocked, still the default
    /// ```
    pub fn default_device(&self) -> Option<&Device> {
        self.order
            .as_ref()
            .and_then(|o| o.first())
            .and_then(|id| self.devices.get(id))
    }

    /// The `GET …/devices` response: the devices of [`list`](Self::list) that pass `filter`
    /// (e.g. a compiled SCIM filter), each as it reads at `now` (expired locks show UNLOCKED),
    /// rendered with [`render_collection`]; with `expand_order`, `_embedded.order` too.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{*, hal::ApiBase};
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// u.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: NewDevice::new(DeviceType::Totp) }, t).unwrap();
    /// let body = u.render_list(&ApiBase::new("https://api.pingone.eu/v1"), true, t, |d| d.is_active());
    /// assert_eq!(body["count"], 0);
    /// assert_eq!(body["_embedded"]["order"], serde_json::json!([]));
    /// ```
    pub fn render_list(
        &self,
        base: &ApiBase,
        expand_order: bool,
        now: DateTime<Utc>,
        filter: impl Fn(&Device) -> bool,
    ) -> Value {
        let devices: Vec<Device> = self
            .list()
            .into_iter()
            .filter(|d| filter(d))
            .map(|d| view(d, now))
            .collect();
        let order = self.order.as_deref().unwrap_or_default();
        render_collection(
            devices.iter(),
            base,
            &self.environment_id,
            &self.user_id,
            expand_order.then_some(order),
        )
    }

    /// Decides `command` at `now`: the events it causes (empty when it changes nothing), or why
    /// it is refused. Never mutates.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Command, DeviceError, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let id = DeviceId::from_bytes([3; 16]);
    /// assert_eq!(u.decide(Command::Block { id }, t), Err(DeviceError::NotFound(id)));
    /// assert_eq!(u.decide(Command::RemoveOrder, t).unwrap().len(), 1);
    /// assert_eq!(u.revision(), 0);
    /// ```
    pub fn decide(&self, command: Command, now: DateTime<Utc>) -> Result<Vec<Event>, DeviceError> {
        let now = truncate_millis(now);
        let changes = self.changes(command, now)?;
        let mut revision = self.revision;
        Ok(changes
            .into_iter()
            .map(|change| {
                revision = revision.saturating_add(1);
                Event {
                    environment: IdRef::new(self.environment_id),
                    user: IdRef::new(self.user_id),
                    revision,
                    at: now,
                    change,
                }
            })
            .collect())
    }

    /// [`decide`](Self::decide), refused with [`DeviceError::StaleRevision`] (409 `CONFLICT`)
    /// when the aggregate is no longer at `expected_revision` — the revision the caller read.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::error::ApiError;
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let e = u.decide_at_revision(3, Command::RemoveOrder, t).unwrap_err();
    /// assert_eq!(ApiError::from(e).http_status(), 409);
    /// assert!(u.decide_at_revision(0, Command::RemoveOrder, t).is_ok());
    /// ```
    pub fn decide_at_revision(
        &self,
        expected_revision: u64,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, DeviceError> {
        if expected_revision != self.revision {
            return Err(DeviceError::StaleRevision {
                expected: expected_revision,
                actual: self.revision,
            });
        }
        self.decide(command, now)
    }

    /// [`decide`](Self::decide), then [`apply`](Self::apply) each event; returns the events (to
    /// persist and publish).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// u.execute(Command::RemoveOrder, t).unwrap();
    /// assert!(!u.is_ordered());
    /// assert_eq!(u.revision(), 1);
    /// ```
    pub fn execute(
        &mut self,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, DeviceError> {
        let events = self.decide(command, now)?;
        for e in &events {
            self.apply(e);
        }
        Ok(events)
    }

    /// [`decide_at_revision`](Self::decide_at_revision), then [`apply`](Self::apply).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::order::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert!(u.execute_at_revision(1, Command::RemoveOrder, t).is_err());
    /// assert!(u.is_ordered());
    /// ```
    pub fn execute_at_revision(
        &mut self,
        expected_revision: u64,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, DeviceError> {
        let events = self.decide_at_revision(expected_revision, command, now)?;
        for e in &events {
            self.apply(e);
        }
        Ok(events)
    }

    /// A new user's aggregate ([`new`](Self::new)) with `events` applied in order. To replay onto
    /// a restored or legacy state, [`apply`](Self::apply) the events to it.
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::order::UserDevices;
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert_eq!(UserDevices::replay(env, user, &[]), UserDevices::new(env, user));
    /// ```
    pub fn replay(environment_id: EnvironmentId, user_id: UserId, events: &[Event]) -> UserDevices {
        let mut u = Self::new(environment_id, user_id);
        for e in events {
            u.apply(e);
        }
        u
    }

    /// Writes one event down: total (an event about an unknown device changes no device), bumps
    /// the revision by one and sets the `updatedAt` of the device the event is about to its
    /// time. The event's own `revision`, `environment` and `user` are not checked.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::order::{Change, Event, UserDevices};
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.apply(&Event { environment: IdRef::new(env), user: IdRef::new(user), revision: 1,
    ///     at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    ///     change: Change::DeviceBlocked { device_id: DeviceId::from_bytes([9; 16]) } });
    /// assert_eq!(u.revision(), 1);
    /// assert!(u.list().is_empty());
    /// ```
    pub fn apply(&mut self, event: &Event) {
        self.revision = self.revision.saturating_add(1);
        let at = event.at;
        match &event.change {
            Change::DeviceCreated { device, order } => {
                let mut device = (**device).clone();
                device.updated_at = at;
                self.counters.remove(&device.id);
                self.devices.insert(device.id, device);
                self.order.clone_from(order);
            }
            Change::DeviceActivated { device_id, order } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.status = DeviceStatus::Active;
                }
                self.order.clone_from(order);
            }
            Change::DeviceDeleted { device, order, .. } => {
                self.devices.remove(&device.id);
                self.counters.remove(&device.id);
                self.order.clone_from(order);
            }
            Change::NicknameChanged {
                device_id, after, ..
            } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.nickname.clone_from(after);
                }
            }
            Change::OrderSet { order, .. } => self.order = Some(order.clone()),
            Change::OrderRemoved { .. } => self.order = None,
            Change::OtpFailureRecorded {
                device_id,
                failures,
                lock,
                ..
            } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.lock = Some(lock.clone());
                    let mut c = self.counters(device_id);
                    c.otp_failures = *failures;
                    if lock.status == LockStatus::Locked {
                        c.push_rejections.clear();
                    }
                    self.set_counters(*device_id, c);
                }
            }
            Change::OtpSuccessRecorded { device_id } => {
                if self.touch(device_id, at).is_some() {
                    let mut c = self.counters(device_id);
                    c.otp_failures = 0;
                    self.set_counters(*device_id, c);
                }
            }
            Change::PushRejectionRecorded {
                device_id,
                rejections,
                lock,
                ..
            } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.lock = Some(lock.clone());
                    let mut c = self.counters(device_id);
                    c.push_rejections.clone_from(rejections);
                    if lock.status == LockStatus::Locked {
                        c.otp_failures = 0;
                    }
                    self.set_counters(*device_id, c);
                }
            }
            Change::DeviceUnlocked { device_id, .. } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.lock = Some(LockState::unlocked());
                    self.counters.remove(device_id);
                }
            }
            Change::DeviceBlocked { device_id } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.block = Some(BlockState::blocked(at));
                }
            }
            Change::DeviceUnblocked { device_id, .. } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.block = Some(BlockState::unblocked());
                }
            }
        }
    }

    /// The device, with `updatedAt` set to `at`.
    fn touch(&mut self, id: &DeviceId, at: DateTime<Utc>) -> Option<&mut Device> {
        let d = self.devices.get_mut(id)?;
        d.updated_at = at;
        Some(d)
    }

    fn set_counters(&mut self, id: DeviceId, c: FailureCounters) {
        if c.is_zero() {
            self.counters.remove(&id);
        } else {
            self.counters.insert(id, c);
        }
    }

    fn active_ids(&self) -> Vec<DeviceId> {
        let mut active: Vec<&Device> = self.devices.values().filter(|d| d.is_active()).collect();
        active.sort_by_key(|d| (d.created_at, d.id));
        active.into_iter().map(|d| d.id).collect()
    }

    /// Devices counted against `maxAllowedDevices`: ACTIVE or BLOCKED.
    fn counted(&self) -> usize {
        self.devices
            .values()
            .filter(|d| d.is_active() || d.is_blocked())
            .count()
    }

    fn check_limit(&self) -> Result<(), DeviceError> {
        let maximum = self.settings.max_allowed_devices();
        if self.counted() >= usize::from(maximum) {
            Err(DeviceError::LimitExceeded { maximum })
        } else {
            Ok(())
        }
    }

    fn get(&self, id: &DeviceId) -> Result<&Device, DeviceError> {
        self.devices.get(id).ok_or(DeviceError::NotFound(*id))
    }

    /// Refuses a device that is blocked or under a lock in force.
    fn usable(&self, id: &DeviceId, now: DateTime<Utc>) -> Result<&Device, DeviceError> {
        let d = self.get(id)?;
        if d.is_blocked() {
            return Err(DeviceError::Blocked(*id));
        }
        if d.is_locked(now) {
            return Err(DeviceError::Locked {
                id: *id,
                until: d.lock.as_ref().and_then(|l| l.expires_at),
            });
        }
        Ok(d)
    }

    /// The order after `id` becomes ACTIVE: appended when ordered.
    fn order_with(&self, id: DeviceId) -> Option<Vec<DeviceId>> {
        self.order.as_ref().map(|o| {
            let mut o = o.clone();
            o.push(id);
            o
        })
    }

    /// Every way `order` differs from "each ACTIVE device exactly once".
    fn order_violations(&self, order: &[DeviceId]) -> Vec<OrderViolation> {
        if order.is_empty() {
            return if self.devices.values().any(Device::is_active) {
                vec![OrderViolation::Empty]
            } else {
                Vec::new()
            };
        }
        let mut violations = Vec::new();
        let mut seen = HashSet::with_capacity(order.len());
        for (index, id) in order.iter().enumerate() {
            match self.devices.get(id) {
                None => violations.push(OrderViolation::Unknown {
                    index,
                    id: Some(*id),
                    text: None,
                }),
                Some(_) if !seen.insert(*id) => {
                    violations.push(OrderViolation::Duplicate { index, id: *id });
                }
                Some(d) if !d.is_active() => {
                    violations.push(OrderViolation::NotActive { index, id: *id });
                }
                Some(_) => {}
            }
        }
        // Missing devices are named in list order: the current order, else createdAt then id.
        let candidates = match &self.order {
            Some(o) => o.clone(),
            None => self.active_ids(),
        };
        for id in candidates {
            if !seen.contains(&id) && self.devices.get(&id).is_some_and(Device::is_active) {
                violations.push(OrderViolation::Missing { id });
            }
        }
        violations
    }

    fn changes(&self, command: Command, now: DateTime<Utc>) -> Result<Vec<Change>, DeviceError> {
        Ok(match command {
            Command::Create { id, device } => {
                if self.devices.contains_key(&id) {
                    return Err(DeviceError::DuplicateId(id));
                }
                device.validate().map_err(DeviceError::InvalidDevice)?;
                self.check_limit()?;
                let device = self.build_device(id, device, now);
                let order = if device.is_active() {
                    self.order_with(id)
                } else {
                    self.order.clone()
                };
                vec![Change::DeviceCreated {
                    device: Box::new(device),
                    order,
                }]
            }
            Command::Activate { id } => {
                let d = self.usable(&id, now)?;
                if d.is_active() {
                    return Err(DeviceError::AlreadyActive(id));
                }
                self.check_limit()?;
                vec![Change::DeviceActivated {
                    device_id: id,
                    order: self.order_with(id),
                }]
            }
            Command::Delete { id } => {
                let deleted = self.get(&id)?;
                let order = match &self.order {
                    Some(o) => Some(o.iter().copied().filter(|x| *x != id).collect()),
                    None => {
                        let left: Vec<DeviceId> =
                            self.active_ids().into_iter().filter(|x| *x != id).collect();
                        (left.len() <= 1).then_some(left)
                    }
                };
                vec![Change::DeviceDeleted {
                    device: Box::new(deleted.clone()),
                    order_before: self.order.clone(),
                    order,
                }]
            }
            Command::SetNickname { id, nickname } => {
                let d = self.get(&id)?;
                let chars = nickname.chars().count();
                if chars > MAX_NICKNAME_CHARS {
                    return Err(DeviceError::NicknameTooLong { chars });
                }
                let after = (!nickname.is_empty()).then_some(nickname);
                if after == d.nickname {
                    return Ok(Vec::new());
                }
                vec![Change::NicknameChanged {
                    device_id: id,
                    before: d.nickname.clone(),
                    after,
                }]
            }
            Command::Reorder { order } => {
                let violations = if order.is_empty() {
                    vec![OrderViolation::Empty]
                } else {
                    self.order_violations(&order)
                };
                if !violations.is_empty() {
                    return Err(DeviceError::InvalidOrder(violations));
                }
                if self.order.as_ref() == Some(&order) {
                    return Ok(Vec::new());
                }
                vec![Change::OrderSet {
                    before: self.order.clone(),
                    order,
                }]
            }
            Command::RemoveOrder => match &self.order {
                None => Vec::new(),
                Some(before) => vec![Change::OrderRemoved {
                    before: before.clone(),
                }],
            },
            Command::RecordOtpFailure {
                id,
                failure_count,
                cool_down,
            } => {
                if failure_count == 0 {
                    return Err(DeviceError::InvalidPolicy {
                        target: "failure.count",
                        message: "failure.count must be at least 1".into(),
                    });
                }
                if cool_down < TimeDelta::zero() {
                    return Err(DeviceError::InvalidPolicy {
                        target: "failure.coolDown",
                        message: "failure.coolDown must not be negative".into(),
                    });
                }
                let rule = FailureRule::new(failure_count, cool_down).map_err(|e| {
                    DeviceError::InvalidPolicy {
                        target: "failure",
                        message: e.to_string(),
                    }
                })?;
                let d = self.usable(&id, now)?;
                let out = record_otp_failure(d.lock.as_ref(), &self.counters(&id), rule, now);
                vec![Change::OtpFailureRecorded {
                    device_id: id,
                    activation: !d.is_active(),
                    failures: out.failures,
                    limit_reached: out.limit_reached,
                    lock: out.lock,
                }]
            }
            Command::RecordOtpSuccess { id } => {
                self.usable(&id, now)?;
                if self.counters(&id).otp_failures == 0 {
                    return Ok(Vec::new());
                }
                vec![Change::OtpSuccessRecorded { device_id: id }]
            }
            Command::RecordPushRejected {
                id,
                limit,
                time_period,
                lock_duration,
            } => {
                if limit == 0 {
                    return Err(DeviceError::InvalidPolicy {
                        target: "pushLimit.count",
                        message: "pushLimit.count must be at least 1".into(),
                    });
                }
                for (target, value) in [
                    ("pushLimit.timePeriod", time_period),
                    ("pushLimit.lockDuration", lock_duration),
                ] {
                    if value <= TimeDelta::zero() {
                        return Err(DeviceError::InvalidPolicy {
                            target,
                            message: format!("{target} must be positive"),
                        });
                    }
                }
                let d = self.usable(&id, now)?;
                if !d.is_active() {
                    return Err(DeviceError::NotActive(id));
                }
                let rule = PushLimitRule::new(limit, time_period, lock_duration).map_err(|e| {
                    DeviceError::InvalidPolicy {
                        target: "pushLimit",
                        message: e.to_string(),
                    }
                })?;
                let out = record_push_rejection(d.lock.as_ref(), &self.counters(&id), rule, now);
                vec![Change::PushRejectionRecorded {
                    device_id: id,
                    rejections: out.rejections,
                    limit_reached: out.limit_reached,
                    lock: out.lock,
                }]
            }
            Command::Unlock { id } => {
                let d = self.get(&id)?;
                let locked = d
                    .lock
                    .as_ref()
                    .is_some_and(|l| l.status == LockStatus::Locked);
                if !locked && self.counters(&id).is_zero() {
                    return Ok(Vec::new());
                }
                vec![Change::DeviceUnlocked {
                    device_id: id,
                    before: d.lock.clone(),
                }]
            }
            Command::Block { id } => {
                if self.get(&id)?.is_blocked() {
                    return Ok(Vec::new());
                }
                vec![Change::DeviceBlocked { device_id: id }]
            }
            Command::Unblock { id } => {
                let d = self.get(&id)?;
                if !d.is_blocked() {
                    return Ok(Vec::new());
                }
                vec![Change::DeviceUnblocked {
                    device_id: id,
                    before: d.block.clone(),
                }]
            }
        })
    }

    /// The device a creation body describes: common properties, nickname and the type's details
    /// (`email`, `phone`, `extension`, `testMode`, `notification`, `rp`). `policy` is not stored
    /// (PingOne does not return it) and neither are unknown properties.
    fn build_device(&self, id: DeviceId, new: NewDevice, now: DateTime<Utc>) -> Device {
        let status = new.effective_status();
        let mut device = Device::new(
            id,
            self.environment_id,
            self.user_id,
            new.device_type,
            status,
            now,
        );
        device.nickname = new.nickname.filter(|n| !n.is_empty());
        match &mut device.details {
            DeviceDetails::Email(e) => {
                e.email = new.email;
                e.test_mode = new.test_mode;
                e.notification = new.notification;
            }
            DeviceDetails::Phone(p) => {
                p.phone = new.phone;
                p.extension = new.extension;
                p.test_mode = new.test_mode;
                p.notification = new.notification;
            }
            DeviceDetails::Fido2(f) => f.rp = new.rp,
            DeviceDetails::WebAuthn(w) => w.rp = new.rp,
            _ => {}
        }
        device
    }
}

/// A device as it reads at `now` (expired lock → UNLOCKED).
fn view(d: &Device, now: DateTime<Utc>) -> Device {
    let mut d = d.clone();
    if d.lock.is_some() {
        d.lock = Some(effective_lock(d.lock.as_ref(), now));
    }
    d
}
