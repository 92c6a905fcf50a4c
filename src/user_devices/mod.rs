//! The per-user device aggregate: lifecycle, default-device ordering, lock/block, audit events.
//!
//! [`UserDevices`] holds everything about one user's devices in one environment. It follows the
//! decide / evolve pattern:
//!
//! - [`decide`](UserDevices::decide) checks a [`Command`] against the state at `now` and returns
//!   the [`Event`]s it causes, or a [`UserDevicesError`]; it never mutates, so a refused command
//!   leaves state and [`revision`](UserDevices::revision) untouched by construction;
//! - [`apply`](UserDevices::apply) writes one event down (total, never fails) and bumps the
//!   revision; [`replay`](UserDevices::replay) folds a stored log;
//! - [`execute`](UserDevices::execute) is both, and
//!   [`decide_at_revision`](UserDevices::decide_at_revision) adds optimistic concurrency (409).
//!
//! Rules (PingOne's, from [MFA Devices](https://developer.pingidentity.com/pingone-api/mfa/users/mfa-devices.html), and the crate's **decisions** where PingOne
//! is silent, also recorded in DESIGN.md):
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
//! - **List order** ([`list`](UserDevices::list); [`sort_for_list`] over plain devices): an
//!   ordered user's ACTIVE devices in order, then the other devices; where PingOne says "no
//!   particular order" (ACTIVATION_REQUIRED devices, all devices of unordered users) the
//!   decision is `createdAt`, then id. A lock reads UNLOCKED from `expiresAt` on ([`as_of`]).
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
//! - **Time range** (decision): a `now` outside years 0000–9999
//!   ([`crate::device::timestamp::MIN`]`..=`[`MAX`](crate::device::timestamp::MAX))
//!   is refused with [`UserDevicesError::TimeOutOfRange`] (500: the server's clock is wrong) and
//!   nothing is written; a lock end past the range is the range's last instant. Every state the
//!   aggregate accepts therefore serializes to JSON that reads back equal.
//! - **A clock that goes backwards** (decision): a `now` earlier than the latest time the state
//!   records (any device's `createdAt`/`updatedAt`, any counted push rejection) is taken as that
//!   time ([`effective_now`](UserDevices::effective_now), used by every decision and view), so
//!   `updatedAt` never precedes `createdAt`, event times never go back, and a rejection is never
//!   dated after the decision that counts it.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mfa_devices::device::*;
//! use mfa_devices::user_devices::{Command, UserDevices};
//!
//! let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
//! let mut user = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
//! let (a, b) = (DeviceId::from_bytes([10; 16]), DeviceId::from_bytes([11; 16]));
//! let mut sms = NewDevice::new(DeviceType::Sms);
//! sms.phone = Some("+1 (512) 555-1234".into());
//! sms.status = Some(DeviceStatus::Active);
//! user.execute(Command::Create { id: a, device: sms, secrets: Default::default() }, t).unwrap();
//! user.execute(Command::Create { id: b, device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
//! user.execute(Command::Activate { id: b, otp: None }, t).unwrap();
//! assert_eq!(user.expand_order(), [a, b]);
//! assert_eq!(user.default_device().map(|d| d.id), Some(a));
//!
//! let events = user.execute(Command::Delete { id: a }, t).unwrap();
//! assert_eq!(events[0].audit_type(), "DEVICE.DELETED");
//! assert_eq!(user.default_device().map(|d| d.id), Some(b));
//! assert_eq!(user.revision(), 4);
//! ```

mod command;
mod conditional;
mod error;
mod event;
mod load;
mod order;
mod provision;
pub mod schema;
mod settings;

pub use command::{
    APPLICATION_JSON, Command, DEVICE_ACTIVATE_MEDIA_TYPE, DEVICE_BLOCK_MEDIA_TYPE,
    DEVICE_UNBLOCK_MEDIA_TYPE, DEVICE_UNLOCK_MEDIA_TYPE, DEVICES_ORDER_REMOVE_MEDIA_TYPE,
    DEVICES_REORDER_MEDIA_TYPE, RequestTarget,
};
pub use conditional::{MAX_IF_MATCH_BYTES, PreconditionFailed, etag, if_match};
pub use error::{LogFault, OrderViolation, UserDevicesError};
pub use event::{Change, EVENT_ID_NAMESPACE, Event};
pub use load::SNAPSHOT_SCHEMA_VERSION;
pub use order::sort_for_list;
pub use provision::{ActivationChallenge, ActivationPasscode, DeviceSecrets, TOTP_SECRET_LEN};
pub use settings::DeviceSettings;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api_base::ApiBase;
use crate::device::hal::render_collection;
use crate::device::timestamp;
use crate::device::{
    BlockState, Device, DeviceDetails, DeviceId, DeviceStatus, DeviceType, EnvironmentId, IdRef,
    LockState, LockStatus, MAX_NICKNAME_CHARS, NewDevice, Secret, UserId,
};
use crate::lock::{
    FailureCounters, FailureRule, PushLimitRule, effective_lock, record_otp_failure,
    record_push_rejection,
};

/// One user's devices: the aggregate. See the [module documentation](self) for the rules.
///
/// # Persistence: the contract a store must keep
///
/// The aggregate is pure; whether concurrent requests lose updates is decided by the store.
/// A server loads the user at revision *r*, [`decide`](Self::decide)s, and writes the events.
/// **The write must succeed only if the stored revision is still *r*** — otherwise two requests
/// that both loaded *r* each write, and one of them is silently lost (with a last-writer-wins
/// store, clients that even sent the revision lost a third of their acknowledged writes in a
/// trial). Either of:
///
/// - **Event log**: one row per event keyed `(environment, user, revision)` with a `PRIMARY KEY`
///   (or unique constraint) on exactly that key. The second writer's insert of revision *r+1*
///   fails; roll back, reload, decide again.
/// - **Snapshot row**: `UPDATE … SET snapshot = $new, revision = $new_rev WHERE environment = $e
///   AND user = $u AND revision = $r` — compare-and-swap on the revision; zero rows updated
///   means someone else won: roll back, reload, decide again (insert the first row with a
///   `PRIMARY KEY` on `(environment, user)` for the same effect).
///
/// Events, snapshot and read models (device rows, audit records, an outbox) are written **in one
/// transaction**, so they never disagree. A decision with **zero events** (a no-op such as
/// blocking a blocked device) writes nothing at all — not even the same snapshot again — and the
/// revision does not move. The revision never wraps or saturates: at `u64::MAX`, `decide` refuses
/// ([`UserDevicesError::RevisionExhausted`]).
///
/// [`decide_at_revision`](Self::decide_at_revision) only compares with the revision the caller
/// *read*; it is no substitute for the store's check.
///
/// # Stored forms
///
/// - **Snapshot** (this type's serde form): `{"schemaVersion": 1, "environment": {"id"},
///   "user": {"id"}, "revision", "order", "devices": [Device…], "counters"?: {deviceId:
///   {"otpFailures", "pushRejections": [time…]}}}`; `order` is `null` for an unordered user,
///   `counters` lists only non-zero counters. Deserializing checks it like
///   [`restore`](Self::restore) and refuses another [`SNAPSHOT_SCHEMA_VERSION`]; snapshots
///   without `schemaVersion` (0.1 / early 0.2, which also carried `settings`) still load.
///   Settings are not part of it: load with [`from_snapshot`](Self::from_snapshot) (or
///   [`with_settings`](Self::with_settings) after deserializing).
/// - **Events**: see [`Event`] (deterministic `id` for de-duplication, checked on read);
///   [`replay`](Self::replay) refuses a log with a gap, a duplicate or another user's event.
/// - **One row per device**: [`restore_with`](Self::restore_with) takes each device with its
///   [`FailureCounters`], so locks keep working.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::*;
/// use mfa_devices::user_devices::{Command, DeviceSettings, UserDevices};
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let mut user_devices = UserDevices::new(env, user);
/// let events = user_devices.execute(Command::Create { id: DeviceId::from_bytes([3; 16]),
///     device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
/// let snapshot = serde_json::to_vec(&user_devices).unwrap();
/// let loaded = UserDevices::from_snapshot(&snapshot, DeviceSettings::default()).unwrap();
/// assert_eq!(loaded, user_devices);
/// assert_eq!(UserDevices::replay(env, user, &events).unwrap(), user_devices);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "load::Snapshot", try_from = "load::Snapshot")]
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
    /// Pending activation challenges (sealed passcodes) of ACTIVATION_REQUIRED devices.
    activations: BTreeMap<DeviceId, ActivationChallenge>,
    /// The last TOTP time step each TOTP device accepted a code for (replay protection).
    totp_steps: BTreeMap<DeviceId, u64>,
}

impl UserDevices {
    /// A new user: no devices, ordered (an empty order), revision 0, default settings.
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// let u = mfa_devices::user_devices::UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
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
            activations: BTreeMap::new(),
            totp_steps: BTreeMap::new(),
        }
    }

    /// The same aggregate with other settings (they govern [`decide`](Self::decide) only).
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::user_devices::{DeviceSettings, UserDevices};
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]))
    ///     .with_settings(DeviceSettings::new(2).unwrap());
    /// assert_eq!(u.settings().max_allowed_devices(), 2);
    /// ```
    #[must_use]
    pub fn with_settings(mut self, settings: DeviceSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The environment.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
    /// assert_eq!(u.settings().max_allowed_devices(), 5);
    /// ```
    pub fn settings(&self) -> DeviceSettings {
        self.settings
    }

    /// The number of events applied since the state was created (or the restored revision plus
    /// those): the revision of the last event. A server stores it with the state and writes only
    /// if the stored revision is still this one (see [Persistence](Self#persistence-the-contract-a-store-must-keep));
    /// [`decide_at_revision`](Self::decide_at_revision) checks the revision a client read.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
    /// assert_eq!(u.revision(), 1);
    /// ```
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// One device, as stored.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
    /// assert_eq!(u.device(&id).map(|d| d.is_active()), Some(true));
    /// ```
    pub fn device(&self, id: &DeviceId) -> Option<&Device> {
        self.devices.get(id)
    }

    /// A device as it reads at `now` — what a renderer shows: an expired lock shows
    /// `{"status":"UNLOCKED"}`, and a TOTP device's `secret` and `keyUri` are there only while
    /// [`otp::secret_visible`](crate::otp::secret_visible) (ACTIVATION_REQUIRED, within 30
    /// minutes of `createdAt`), never after.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::lock::FailureRule;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// u.execute(Command::Create { id, device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
    /// u.execute(Command::RecordOtpFailure { id, rule: FailureRule::new(1, TimeDelta::minutes(2)).unwrap() }, t).unwrap();
    /// assert_eq!(u.device_at(&id, t).unwrap().lock.unwrap().status, LockStatus::Locked);
    /// assert_eq!(u.device_at(&id, t + TimeDelta::minutes(2)).unwrap().lock, Some(LockState::unlocked()));
    /// ```
    pub fn device_at(&self, id: &DeviceId, now: DateTime<Utc>) -> Option<Device> {
        let now = self.effective_now(now);
        self.devices.get(id).map(|d| as_of(d, now))
    }

    /// Every device in list order (see [`list`](Self::list)), each as
    /// [`device_at`](Self::device_at) shows it at `now`, with the effective time computed once
    /// (it is a scan of the whole aggregate: per device it would make a listing quadratic).
    pub(crate) fn list_at(&self, now: DateTime<Utc>) -> Vec<Device> {
        let now = self.effective_now(now);
        self.list().into_iter().map(|d| as_of(d, now)).collect()
    }

    /// The time the aggregate decides and renders at when asked at `now`: `now` truncated to
    /// milliseconds and clamped into the representable range, but never earlier than the
    /// latest time the state records (any device's `createdAt`/`updatedAt`, any counted push
    /// rejection). A clock that goes backwards is thus treated as standing still: `updatedAt`
    /// never precedes `createdAt` and a stored rejection never lies in the future.
    /// ([`decide`](Self::decide) refuses a `now` outside the range instead of clamping it.)
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let id = DeviceId::from_bytes([3; 16]);
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert_eq!(u.effective_now(t), t);
    /// u.execute(Command::Create { id, device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
    /// assert_eq!(u.effective_now(t - TimeDelta::hours(1)), t);
    /// u.execute(Command::Block { id }, t - TimeDelta::hours(1)).unwrap();
    /// assert_eq!(u.device(&id).unwrap().updated_at, t);
    /// ```
    pub fn effective_now(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let now = timestamp::clamp(now);
        let devices = self
            .devices
            .values()
            .flat_map(|d| [d.created_at, d.updated_at]);
        let rejections = self
            .counters
            .values()
            .flat_map(|c| c.push_rejections.iter().copied());
        devices
            .chain(rejections)
            .map(timestamp::clamp)
            .fold(now, DateTime::max)
    }

    /// The failure counters of a device (zero for an unknown device).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) }, secrets: Default::default() }, t).unwrap();
    /// u.execute(Command::RecordOtpFailure { id, rule: mfa_devices::lock::FailureRule::DEFAULT_AUTHENTICATOR }, t).unwrap();
    /// assert_eq!(u.counters(&id).otp_failures, 1);
    /// ```
    pub fn counters(&self, id: &DeviceId) -> FailureCounters {
        self.counters.get(id).cloned().unwrap_or_default()
    }

    /// The pending activation challenge of a device (sealed; `None` when none is pending).
    ///
    /// ```
    /// use mfa_devices::device::{DeviceId, EnvironmentId, UserId};
    /// use mfa_devices::user_devices::UserDevices;
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert!(u.activation(&DeviceId::from_bytes([3; 16])).is_none());
    /// ```
    pub fn activation(&self, id: &DeviceId) -> Option<&ActivationChallenge> {
        self.activations.get(id)
    }

    /// The last TOTP time step the device accepted a code for (`None`: none yet); pass it to
    /// [`Totp::verify`](crate::otp::Totp::verify) as `last_used_step`.
    ///
    /// ```
    /// use mfa_devices::device::{DeviceId, EnvironmentId, UserId};
    /// use mfa_devices::user_devices::UserDevices;
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// assert_eq!(u.totp_last_step(&DeviceId::from_bytes([3; 16])), None);
    /// ```
    pub fn totp_last_step(&self, id: &DeviceId) -> Option<u64> {
        self.totp_steps.get(id).copied()
    }

    /// The `GET …/devices` response: the devices of [`list`](Self::list) that pass `filter`
    /// (e.g. a compiled SCIM filter), each as it reads at `now` (expired locks show UNLOCKED,
    /// a TOTP `secret`/`keyUri` only inside its window, see [`device_at`](Self::device_at)),
    /// rendered with [`render_collection`]; with `expand_order`, `_embedded.order` too.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::api_base::ApiBase;
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// u.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
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
        let now = self.effective_now(now);
        let devices: Vec<Device> = self
            .list()
            .into_iter()
            .filter(|d| filter(d))
            .map(|d| as_of(d, now))
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
    /// use mfa_devices::user_devices::{Command, UserDevicesError, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let id = DeviceId::from_bytes([3; 16]);
    /// assert_eq!(u.decide(Command::Block { id }, t), Err(UserDevicesError::NotFound(id)));
    /// assert_eq!(u.decide(Command::RemoveOrder, t).unwrap().len(), 1);
    /// assert_eq!(u.revision(), 0);
    /// ```
    pub fn decide(
        &self,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, UserDevicesError> {
        let now = timestamp::check(now).map_err(UserDevicesError::TimeOutOfRange)?;
        let now = self.effective_now(now);
        let changes = self.changes(command, now)?;
        let mut revision = self.revision;
        let mut events = Vec::with_capacity(changes.len());
        for change in changes {
            revision = revision
                .checked_add(1)
                .ok_or(UserDevicesError::RevisionExhausted)?;
            events.push(Event {
                environment: IdRef::new(self.environment_id),
                user: IdRef::new(self.user_id),
                revision,
                at: now,
                change,
            });
        }
        Ok(events)
    }

    /// [`decide`](Self::decide), refused with [`UserDevicesError::StaleRevision`] (409 `CONFLICT`)
    /// when the aggregate is no longer at `expected_revision` — the revision the caller read.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::error::ApiError;
    /// use mfa_devices::user_devices::{Command, UserDevices};
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
    ) -> Result<Vec<Event>, UserDevicesError> {
        if expected_revision != self.revision {
            return Err(UserDevicesError::StaleRevision {
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
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
    ) -> Result<Vec<Event>, UserDevicesError> {
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
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
    ) -> Result<Vec<Event>, UserDevicesError> {
        let events = self.decide_at_revision(expected_revision, command, now)?;
        for e in &events {
            self.apply(e);
        }
        Ok(events)
    }

    /// A new user's aggregate ([`new`](Self::new), default settings — see
    /// [`with_settings`](Self::with_settings)) with a stored log replayed onto it with
    /// [`try_apply`](Self::try_apply): the log must be exactly revisions 1, 2, 3, … of this
    /// environment and user, or the replay is refused with
    /// [`UserDevicesError::InvalidEventLog`] naming the first bad revision — a gap, a duplicate
    /// (or a log out of order) or another user's event. To replay the tail of a log onto a
    /// loaded snapshot, [`try_apply`](Self::try_apply) each event to it.
    ///
    /// `replay(log) == snapshot` is the consistency check between an event log and a snapshot
    /// row written in the same transaction (`UserDevices` is `PartialEq`; compare after giving
    /// both the same settings).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, LogFault, UserDevices, UserDevicesError};
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// assert_eq!(UserDevices::replay(env, user, &[]).unwrap(), UserDevices::new(env, user));
    ///
    /// let mut u = UserDevices::new(env, user);
    /// let mut log = u.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: NewDevice::new(DeviceType::Totp), secrets: Default::default() }, t).unwrap();
    /// log.extend(u.execute(Command::RemoveOrder, t).unwrap());
    /// assert_eq!(UserDevices::replay(env, user, &log).unwrap(), u);
    ///
    /// let gap = [log[1].clone()];
    /// assert_eq!(UserDevices::replay(env, user, &gap).unwrap_err(),
    ///     UserDevicesError::InvalidEventLog { revision: 2, fault: LogFault::Gap { expected: 1 } });
    /// let duplicate = [log[0].clone(), log[0].clone()];
    /// assert!(UserDevices::replay(env, user, &duplicate).unwrap_err().to_string().contains("revision 1"));
    /// ```
    pub fn replay(
        environment_id: EnvironmentId,
        user_id: UserId,
        events: &[Event],
    ) -> Result<UserDevices, UserDevicesError> {
        let mut u = Self::new(environment_id, user_id);
        for e in events {
            u.try_apply(e)?;
        }
        Ok(u)
    }

    /// [`apply`](Self::apply) for an event read from storage: refused, state untouched, unless it
    /// is this environment's and user's and its revision is exactly the next one
    /// ([`UserDevicesError::InvalidEventLog`]: gap, duplicate or foreign user;
    /// [`UserDevicesError::RevisionExhausted`] at `u64::MAX`).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let mut writer = UserDevices::new(env, user);
    /// let events = writer.execute(Command::RemoveOrder, t).unwrap();
    /// let mut reader = UserDevices::new(env, user);
    /// reader.try_apply(&events[0]).unwrap();
    /// assert!(reader.try_apply(&events[0]).is_err()); // already applied
    /// assert_eq!(reader, writer);
    /// ```
    pub fn try_apply(&mut self, event: &Event) -> Result<(), UserDevicesError> {
        if event.environment.id != self.environment_id || event.user.id != self.user_id {
            return Err(UserDevicesError::InvalidEventLog {
                revision: event.revision,
                fault: LogFault::ForeignUser {
                    environment: event.environment.id,
                    user: event.user.id,
                },
            });
        }
        let expected = self
            .revision
            .checked_add(1)
            .ok_or(UserDevicesError::RevisionExhausted)?;
        if event.revision != expected {
            let fault = if event.revision > expected {
                LogFault::Gap { expected }
            } else {
                LogFault::Duplicate { expected }
            };
            return Err(UserDevicesError::InvalidEventLog {
                revision: event.revision,
                fault,
            });
        }
        self.apply(event);
        Ok(())
    }

    /// Writes one event down: total (an event about an unknown device changes no device), sets
    /// the revision to the event's and the `updatedAt` of the device the event is about to its
    /// time. It trusts its input — the events [`decide`](Self::decide) just returned for this
    /// state; events read from storage go through [`try_apply`](Self::try_apply) or
    /// [`replay`](Self::replay), which check the environment, the user and the revision.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Change, Event, UserDevices};
    /// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.apply(&Event { environment: IdRef::new(env), user: IdRef::new(user), revision: 1,
    ///     at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
    ///     change: Change::DeviceBlocked { device_id: DeviceId::from_bytes([9; 16]) } });
    /// assert_eq!(u.revision(), 1);
    /// assert!(u.list().is_empty());
    /// ```
    pub fn apply(&mut self, event: &Event) {
        self.revision = event.revision;
        let at = event.at;
        match &event.change {
            Change::DeviceCreated {
                device,
                order,
                activation,
            } => {
                let mut device = (**device).clone();
                device.updated_at = at;
                self.counters.remove(&device.id);
                self.totp_steps.remove(&device.id);
                match activation {
                    Some(a) => self.activations.insert(device.id, a.clone()),
                    None => self.activations.remove(&device.id),
                };
                self.devices.insert(device.id, device);
                self.order.clone_from(order);
            }
            Change::DeviceActivated {
                device_id,
                order,
                totp_step,
                credential,
            } => {
                if let Some(d) = self.touch(device_id, at) {
                    d.status = DeviceStatus::Active;
                    if let (DeviceDetails::Fido2(f), Some(c)) = (&mut d.details, credential) {
                        f.credential = Some((**c).clone());
                    }
                    self.activations.remove(device_id);
                    if let Some(step) = totp_step {
                        self.totp_steps.insert(*device_id, *step);
                    }
                }
                self.order.clone_from(order);
            }
            Change::ActivationIssued {
                device_id,
                challenge,
            } => {
                if self.touch(device_id, at).is_some() {
                    self.activations.insert(*device_id, challenge.clone());
                }
            }
            Change::DeviceDeleted { device, order, .. } => {
                self.devices.remove(&device.id);
                self.counters.remove(&device.id);
                self.activations.remove(&device.id);
                self.totp_steps.remove(&device.id);
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
                activation,
                failures,
                limit_reached,
                lock,
            } => {
                if *activation && *limit_reached {
                    // The run of wrong passcodes spent the challenge: a new one must be sent.
                    self.activations.remove(device_id);
                }
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
            Change::OtpSuccessRecorded {
                device_id,
                totp_step,
                sign_count,
            } => {
                if let Some(d) = self.touch(device_id, at) {
                    if let (DeviceDetails::Fido2(f), Some(n)) = (&mut d.details, sign_count) {
                        if let Some(credential) = &mut f.credential {
                            credential.sign_count = *n;
                        }
                    }
                    let mut c = self.counters(device_id);
                    c.otp_failures = 0;
                    self.set_counters(*device_id, c);
                    if let Some(step) = totp_step {
                        self.totp_steps.insert(*device_id, *step);
                    }
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

    pub(super) fn set_counters(&mut self, id: DeviceId, c: FailureCounters) {
        if c.is_zero() {
            self.counters.remove(&id);
        } else {
            self.counters.insert(id, c);
        }
    }

    /// Devices counted against `maxAllowedDevices`: ACTIVE or BLOCKED.
    fn counted(&self) -> usize {
        self.devices
            .values()
            .filter(|d| d.is_active() || d.is_blocked())
            .count()
    }

    fn check_limit(&self) -> Result<(), UserDevicesError> {
        let maximum = self.settings.max_allowed_devices();
        if self.counted() >= usize::from(maximum) {
            Err(UserDevicesError::LimitExceeded { maximum })
        } else {
            Ok(())
        }
    }

    fn get(&self, id: &DeviceId) -> Result<&Device, UserDevicesError> {
        self.devices.get(id).ok_or(UserDevicesError::NotFound(*id))
    }

    /// Refuses a device that is blocked or under a lock in force.
    fn usable(&self, id: &DeviceId, now: DateTime<Utc>) -> Result<&Device, UserDevicesError> {
        let d = self.get(id)?;
        if d.is_blocked() {
            return Err(UserDevicesError::Blocked(*id));
        }
        if d.is_locked(now) {
            return Err(UserDevicesError::Locked {
                id: *id,
                until: d.lock.as_ref().and_then(|l| l.expires_at),
            });
        }
        Ok(d)
    }

    /// The changes `command` causes at `now` (already truncated), one decision per command,
    /// grouped by family: lifecycle and lock/block here, ordering in `order.rs`.
    fn changes(
        &self,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        match command {
            // Lifecycle.
            Command::Create {
                id,
                device,
                secrets,
            } => self.decide_create(id, device, secrets, now),
            Command::Activate { id, otp } => self.decide_activate(id, otp, now),
            Command::ActivateFido2 { id, credential } => {
                self.decide_activate_fido2(id, credential, now)
            }
            Command::RecordAssertionSuccess { id, sign_count } => {
                self.decide_assertion_success(id, sign_count, now)
            }
            Command::ResendActivation { id, challenge } => {
                self.decide_resend_activation(id, challenge, now)
            }
            Command::Delete { id } => self.decide_delete(id),
            Command::SetNickname { id, nickname } => self.decide_set_nickname(id, nickname),
            // Ordering.
            Command::Reorder { order } => self.decide_reorder(order),
            Command::RemoveOrder => Ok(self.decide_remove_order()),
            // Locks.
            Command::RecordOtpFailure { id, rule } => self.decide_otp_failure(id, rule, now),
            Command::RecordOtpSuccess { id } => self.decide_otp_success(id, now),
            Command::RecordTotpSuccess { id, step } => self.decide_totp_success(id, step, now),
            Command::RecordPushRejected { id, rule } => self.decide_push_rejected(id, rule, now),
            Command::Unlock { id } => self.decide_unlock(id),
            // Blocks.
            Command::Block { id } => self.decide_block(id),
            Command::Unblock { id } => self.decide_unblock(id),
        }
    }

    // --- Lifecycle -------------------------------------------------------------------------

    fn decide_create(
        &self,
        id: DeviceId,
        device: NewDevice,
        secrets: DeviceSecrets,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        if self.devices.contains_key(&id) {
            return Err(UserDevicesError::DuplicateId(id));
        }
        device.validate().map_err(UserDevicesError::InvalidDevice)?;
        self.check_limit()?;
        let mut device = self.build_device(id, device, now);
        if let (DeviceDetails::Totp(t), Some(totp)) = (&mut device.details, secrets.totp) {
            t.secret = Some(totp.secret);
            t.key_uri = Some(totp.key_uri);
        }
        // Drawn only for a device created ACTIVATION_REQUIRED.
        if let (DeviceDetails::Fido2(f), Some(options)) = (&mut device.details, secrets.webauthn) {
            f.public_key_credential_creation_options = Some(options);
        }
        // A challenge only waits on a device that sends passcodes and still needs activating.
        let activation = secrets
            .activation
            .filter(|_| !device.is_active() && sends_passcodes(&device.device_type));
        let order = if device.is_active() {
            self.order_with(id)
        } else {
            self.order.clone()
        };
        Ok(vec![Change::DeviceCreated {
            device: Box::new(device),
            order,
            activation,
        }])
    }

    fn decide_activate(
        &self,
        id: DeviceId,
        otp: Option<Secret>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        if d.is_active() {
            return Err(UserDevicesError::AlreadyActive(id));
        }
        let mut totp_step = None;
        if let Some(challenge) = self.activations.get(&id) {
            let otp = otp.ok_or(UserDevicesError::ActivationOtpRequired(id))?;
            if now >= challenge.expires_at() {
                return Err(UserDevicesError::ActivationOtpExpired(id));
            }
            if !challenge.matches(otp.expose()) {
                return Ok(vec![self.activation_failure(d, challenge.rule(), now)]);
            }
        } else if let Some(totp) = totp_of(d) {
            let otp = otp.ok_or(UserDevicesError::ActivationOtpRequired(id))?;
            let last = self.totp_last_step(&id);
            match totp.verify(otp.expose(), unix_seconds(now), last) {
                crate::otp::TotpVerdict::Valid { step } => totp_step = Some(step),
                crate::otp::TotpVerdict::Replayed => {
                    return Err(UserDevicesError::TotpReplayed(id));
                }
                crate::otp::TotpVerdict::Invalid => {
                    // PingOne's TOTP default (3 failures, 2 minutes).
                    let rule = FailureRule::DEFAULT_AUTHENTICATOR;
                    return Ok(vec![self.activation_failure(d, rule, now)]);
                }
            }
        } else if otp.is_some() && sends_passcodes(&d.device_type) {
            // A passcode for a device that has none pending: never accepted unchecked.
            return Err(UserDevicesError::NoActivationOtp(id));
        } else if awaits_registration(d) {
            // Its registration challenge is the crate's: only a verified credential activates it.
            return Err(UserDevicesError::AttestationRequired(id));
        }
        self.check_limit()?;
        Ok(vec![Change::DeviceActivated {
            device_id: id,
            order: self.order_with(id),
            totp_step,
            credential: None,
        }])
    }

    fn decide_activate_fido2(
        &self,
        id: DeviceId,
        credential: crate::device::WebAuthnCredential,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        if !matches!(d.details, DeviceDetails::Fido2(_)) {
            return Err(UserDevicesError::NotWebAuthn(id));
        }
        if d.is_active() {
            return Err(UserDevicesError::AlreadyActive(id));
        }
        self.check_limit()?;
        Ok(vec![Change::DeviceActivated {
            device_id: id,
            order: self.order_with(id),
            totp_step: None,
            credential: Some(Box::new(credential)),
        }])
    }

    fn decide_assertion_success(
        &self,
        id: DeviceId,
        sign_count: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        let DeviceDetails::Fido2(f) = &d.details else {
            return Err(UserDevicesError::NotWebAuthn(id));
        };
        let stored = f
            .credential
            .as_ref()
            .ok_or(UserDevicesError::NotWebAuthn(id))?
            .sign_count;
        if (stored != 0 || sign_count != 0) && sign_count <= stored {
            return Err(UserDevicesError::SignCountNotIncreased {
                id,
                stored,
                received: sign_count,
            });
        }
        Ok(vec![Change::OtpSuccessRecorded {
            device_id: id,
            totp_step: None,
            sign_count: Some(sign_count),
        }])
    }

    /// A wrong activation passcode, counted under `rule` like any OTP failure.
    fn activation_failure(&self, d: &Device, rule: FailureRule, now: DateTime<Utc>) -> Change {
        let out = record_otp_failure(d.lock.as_ref(), &self.counters(&d.id), rule, now);
        Change::OtpFailureRecorded {
            device_id: d.id,
            activation: true,
            failures: out.failures,
            limit_reached: out.limit_reached,
            lock: out.lock,
        }
    }

    fn decide_resend_activation(
        &self,
        id: DeviceId,
        challenge: ActivationChallenge,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        if d.is_active() || !sends_passcodes(&d.device_type) {
            return Err(UserDevicesError::ActivationNotSent(id));
        }
        Ok(vec![Change::ActivationIssued {
            device_id: id,
            challenge,
        }])
    }

    fn decide_delete(&self, id: DeviceId) -> Result<Vec<Change>, UserDevicesError> {
        let deleted = self.get(&id)?;
        Ok(vec![Change::DeviceDeleted {
            device: Box::new(deleted.clone()),
            order_before: self.order.clone(),
            order: self.order_without(id),
        }])
    }

    fn decide_set_nickname(
        &self,
        id: DeviceId,
        nickname: String,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.get(&id)?;
        let chars = nickname.chars().count();
        if chars > MAX_NICKNAME_CHARS {
            return Err(UserDevicesError::NicknameTooLong { chars });
        }
        if crate::device::has_control_characters(&nickname) {
            return Err(UserDevicesError::NicknameControlCharacters);
        }
        let after = (!nickname.is_empty()).then_some(nickname);
        if after == d.nickname {
            return Ok(Vec::new());
        }
        Ok(vec![Change::NicknameChanged {
            device_id: id,
            before: d.nickname.clone(),
            after,
        }])
    }

    // --- Locks -----------------------------------------------------------------------------

    fn decide_otp_failure(
        &self,
        id: DeviceId,
        rule: FailureRule,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        let out = record_otp_failure(d.lock.as_ref(), &self.counters(&id), rule, now);
        Ok(vec![Change::OtpFailureRecorded {
            device_id: id,
            activation: !d.is_active(),
            failures: out.failures,
            limit_reached: out.limit_reached,
            lock: out.lock,
        }])
    }

    fn decide_totp_success(
        &self,
        id: DeviceId,
        step: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        self.usable(&id, now)?;
        if self.totp_last_step(&id).is_some_and(|last| step <= last) {
            return Err(UserDevicesError::TotpReplayed(id));
        }
        Ok(vec![Change::OtpSuccessRecorded {
            device_id: id,
            totp_step: Some(step),
            sign_count: None,
        }])
    }

    fn decide_otp_success(
        &self,
        id: DeviceId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        self.usable(&id, now)?;
        if self.counters(&id).otp_failures == 0 {
            return Ok(Vec::new());
        }
        Ok(vec![Change::OtpSuccessRecorded {
            device_id: id,
            totp_step: None,
            sign_count: None,
        }])
    }

    fn decide_push_rejected(
        &self,
        id: DeviceId,
        rule: PushLimitRule,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.usable(&id, now)?;
        if !d.is_active() {
            return Err(UserDevicesError::NotActive(id));
        }
        let out = record_push_rejection(d.lock.as_ref(), &self.counters(&id), rule, now);
        Ok(vec![Change::PushRejectionRecorded {
            device_id: id,
            rejections: out.rejections,
            limit_reached: out.limit_reached,
            lock: out.lock,
        }])
    }

    fn decide_unlock(&self, id: DeviceId) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.get(&id)?;
        let locked = d
            .lock
            .as_ref()
            .is_some_and(|l| l.status == LockStatus::Locked);
        if !locked && self.counters(&id).is_zero() {
            return Ok(Vec::new());
        }
        Ok(vec![Change::DeviceUnlocked {
            device_id: id,
            before: d.lock.clone(),
        }])
    }

    // --- Blocks ----------------------------------------------------------------------------

    fn decide_block(&self, id: DeviceId) -> Result<Vec<Change>, UserDevicesError> {
        if self.get(&id)?.is_blocked() {
            return Ok(Vec::new());
        }
        Ok(vec![Change::DeviceBlocked { device_id: id }])
    }

    fn decide_unblock(&self, id: DeviceId) -> Result<Vec<Change>, UserDevicesError> {
        let d = self.get(&id)?;
        if !d.is_blocked() {
            return Ok(Vec::new());
        }
        Ok(vec![Change::DeviceUnblocked {
            device_id: id,
            before: d.block.clone(),
        }])
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

/// A device as it reads at `now` — the one implementation [`UserDevices::device_at`] and
/// [`UserDevices::render_list`] use, for a read path over plain device rows: a lock whose
/// `expiresAt` has passed reads `{"status":"UNLOCKED"}` (stored state keeps the lock until the
/// next event; the counters restart then), and a TOTP device's `secret`/`keyUri` are there
/// only while [`otp::secret_visible`](crate::otp::secret_visible) (ACTIVATION_REQUIRED, within
/// 30 minutes of `createdAt`) — never after. Everything else is as stored.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::device::*;
/// use mfa_devices::user_devices::as_of;
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let mut row = Device::new(DeviceId::from_bytes([3; 16]), EnvironmentId::from_bytes([1; 16]),
///     UserId::from_bytes([2; 16]), DeviceType::Sms, DeviceStatus::Active, t);
/// row.lock = Some(serde_json::from_value(serde_json::json!(
///     {"status": "LOCKED", "expiresAt": "2025-01-01T12:02:00.000Z", "reason": "OTP"})).unwrap());
/// assert_eq!(as_of(&row, t + TimeDelta::minutes(1)).lock.unwrap().status, LockStatus::Locked);
/// assert_eq!(as_of(&row, t + TimeDelta::minutes(2)).lock, Some(LockState::unlocked()));
/// ```
pub fn as_of(device: &Device, now: DateTime<Utc>) -> Device {
    let mut d = device.clone();
    if d.lock.is_some() {
        d.lock = Some(effective_lock(d.lock.as_ref(), now));
    }
    let visible = crate::otp::secret_visible(
        d.status == DeviceStatus::ActivationRequired,
        d.created_at,
        now,
    );
    if let (DeviceDetails::Totp(t), false) = (&mut d.details, visible) {
        t.secret = None;
        t.key_uri = None;
    }
    if let DeviceDetails::Fido2(f) = &mut d.details {
        // The crate's record of the registration, not part of PingOne's resource.
        f.credential = None;
    }
    d
}

/// A FIDO2 device created with the crate's `publicKeyCredentialCreationOptions` and not
/// registered yet: it waits for a verified credential.
fn awaits_registration(d: &Device) -> bool {
    matches!(&d.details, DeviceDetails::Fido2(f)
        if f.credential.is_none() && f.public_key_credential_creation_options.is_some())
}

/// SMS, EMAIL and VOICE devices are activated with a passcode the server sends them.
fn sends_passcodes(t: &DeviceType) -> bool {
    matches!(t, DeviceType::Sms | DeviceType::Email | DeviceType::Voice)
}

/// The TOTP engine of a TOTP device with a stored secret (RFC 6238 defaults: SHA-1, 6
/// digits, 30 s, ±1 step) — `None` without a usable secret. Used by the aggregate
/// (activation) and the authentication flow (`check_authenticator_otp`): one verification.
pub(crate) fn totp_of(d: &Device) -> Option<crate::otp::Totp> {
    let DeviceDetails::Totp(t) = &d.details else {
        return None;
    };
    let secret = t.secret.as_ref()?;
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.expose().as_bytes())
        .ok()?;
    crate::otp::Totp::new(
        bytes,
        crate::otp::Algorithm::Sha1,
        6,
        crate::otp::Totp::DEFAULT_STEP_SECONDS,
    )
    .ok()
}

/// Seconds since the Unix epoch (0 before it).
fn unix_seconds(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}
