//! Loading an aggregate: the serialized snapshot, [`restore`](UserDevices::restore) of stored
//! state, [`from_list_response`](UserDevices::from_list_response) and
//! [`legacy_unordered`](UserDevices::legacy_unordered) users.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::device::{Device, DeviceId, EnvironmentId, IdRef, UserId};
use crate::lock::FailureCounters;

use super::{DeviceSettings, UserDevices, UserDevicesError};

/// The version of the snapshot form [`UserDevices`] writes (`"schemaVersion": 1`).
///
/// A snapshot without `schemaVersion` is the unversioned form of 0.1/0.2.0, read as version 1
/// (its `settings` ignored). A snapshot of any other version is refused with
/// [`UserDevicesError::InvalidSnapshot`] naming it, rather than half-read.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// The serialized form of [`UserDevices`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Snapshot {
    #[serde(default)]
    schema_version: Option<u32>,
    environment: IdRef<EnvironmentId>,
    user: IdRef<UserId>,
    revision: u64,
    /// Written by the unversioned form; environment configuration, so read and ignored.
    #[serde(default, skip_serializing, rename = "settings")]
    _settings: Option<serde::de::IgnoredAny>,
    order: Option<Vec<DeviceId>>,
    devices: Vec<Device>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    counters: BTreeMap<DeviceId, FailureCounters>,
}

impl From<UserDevices> for Snapshot {
    fn from(u: UserDevices) -> Self {
        Snapshot {
            schema_version: Some(SNAPSHOT_SCHEMA_VERSION),
            environment: IdRef::new(u.environment_id),
            user: IdRef::new(u.user_id),
            revision: u.revision,
            _settings: None,
            order: u.order,
            devices: u.devices.into_values().collect(),
            counters: u.counters,
        }
    }
}

impl TryFrom<Snapshot> for UserDevices {
    type Error = UserDevicesError;
    fn try_from(s: Snapshot) -> Result<Self, Self::Error> {
        let version = s.schema_version.unwrap_or(SNAPSHOT_SCHEMA_VERSION);
        if version != SNAPSHOT_SCHEMA_VERSION {
            return Err(UserDevicesError::InvalidSnapshot(format!(
                "schemaVersion {version} is not one this version reads ({SNAPSHOT_SCHEMA_VERSION})"
            )));
        }
        let mut counters = s.counters;
        for id in counters.keys() {
            if !s.devices.iter().any(|d| d.id == *id) {
                return Err(UserDevicesError::InvalidSnapshot(format!(
                    "counters for device {id}, which is not in the snapshot"
                )));
            }
        }
        let devices = s.devices.into_iter().map(|d| {
            let c = counters.remove(&d.id).unwrap_or_default();
            (d, c)
        });
        UserDevices::restore_with(s.environment.id, s.user.id, devices, s.order, s.revision)
    }
}

impl UserDevices {
    /// A legacy user from before device ordering: the devices have no order and there is no
    /// default device, revision 0.
    ///
    /// Decision: PingOne's legacy users are those with more than one ACTIVE device when ordering
    /// was introduced; given one or zero ACTIVE devices, the user is ordered (the ACTIVE device,
    /// if any, is the default), as an unordered user dropping to one would be.
    ///
    /// Errors ([`UserDevicesError::InvalidSnapshot`]): two devices with one id, or a device of another
    /// environment or user.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::UserDevices;
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
    ) -> Result<UserDevices, UserDevicesError> {
        let mut u = Self::restore(environment_id, user_id, devices, None, 0)?;
        let active = u.active_ids();
        if active.len() <= 1 {
            u.order = Some(active);
        }
        Ok(u)
    }

    /// Loads stored state: the devices, the order (`None`: unordered) and the revision, with
    /// default settings (see [`with_settings`](Self::with_settings)) and zero failure counters —
    /// [`restore_with`](Self::restore_with) takes the counters too.
    ///
    /// The snapshot must be consistent, else [`UserDevicesError::InvalidSnapshot`] (a server-side
    /// data error, 500): unique device ids, every device of this environment and user, and an
    /// order listing every ACTIVE device exactly once and nothing else. `maxAllowedDevices` is
    /// not checked (a user keeps the devices they have when the setting is lowered), which is
    /// also how to build large aggregates for benchmarks.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::UserDevices;
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
    ) -> Result<UserDevices, UserDevicesError> {
        Self::restore_with(
            environment_id,
            user_id,
            devices.into_iter().map(|d| (d, FailureCounters::default())),
            order,
            revision,
        )
    }

    /// [`restore`](Self::restore) faithfully: each device with its failure counters (OTP
    /// failures since the last success, push rejections still in the window), as a store with
    /// one row per device keeps them next to the device. Without them a restored device would
    /// never reach its lock. The checks are `restore`'s.
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::lock::FailureCounters;
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let device = Device::new(id, env, user, DeviceType::Sms, DeviceStatus::Active, t);
    /// let two_failures = FailureCounters { otp_failures: 2, ..FailureCounters::default() };
    /// let mut u = UserDevices::restore_with(env, user, [(device, two_failures)], Some(vec![id]), 7).unwrap();
    /// assert_eq!(u.counters(&id).otp_failures, 2);
    /// // The third failure of a policy with failure.count 3 locks the device.
    /// u.execute(Command::RecordOtpFailure { id, rule: mfa_devices::lock::FailureRule::new(3, TimeDelta::minutes(2)).unwrap() }, t).unwrap();
    /// assert!(u.device(&id).unwrap().is_locked(t));
    /// ```
    pub fn restore_with(
        environment_id: EnvironmentId,
        user_id: UserId,
        devices: impl IntoIterator<Item = (Device, FailureCounters)>,
        order: Option<Vec<DeviceId>>,
        revision: u64,
    ) -> Result<UserDevices, UserDevicesError> {
        let mut map = BTreeMap::new();
        let mut counters = Vec::new();
        for (d, c) in devices {
            if d.environment.id != environment_id || d.user.id != user_id {
                return Err(UserDevicesError::InvalidSnapshot(format!(
                    "device {} belongs to environment {} user {}, not environment {environment_id} user {user_id}",
                    d.id, d.environment.id, d.user.id
                )));
            }
            let id = d.id;
            if map.insert(id, d).is_some() {
                return Err(UserDevicesError::InvalidSnapshot(format!(
                    "device {id} appears twice"
                )));
            }
            counters.push((id, c));
        }
        let mut u = Self {
            devices: map,
            order: None,
            revision,
            ..Self::new(environment_id, user_id)
        };
        for (id, c) in counters {
            u.set_counters(id, c);
        }
        if let Some(order) = &order {
            let violations = u.order_violations(order);
            if !violations.is_empty() {
                return Err(UserDevicesError::InvalidSnapshot(
                    UserDevicesError::InvalidOrder(violations).to_string(),
                ));
            }
        }
        Ok(Self { order, ..u })
    }

    /// Loads a snapshot (the JSON [`UserDevices`] serializes to) with the environment's
    /// settings: `maxAllowedDevices` is environment configuration, read from wherever the
    /// environment keeps it, not from the user's snapshot. Snapshots of the unversioned form
    /// still load; the `settings` they carry are ignored. Errors:
    /// [`UserDevicesError::InvalidSnapshot`] (not JSON, not the form, an unknown
    /// `schemaVersion`, or inconsistent as [`restore`](Self::restore) checks).
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::user_devices::{DeviceSettings, UserDevices};
    /// let u = UserDevices::new(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    /// let json = serde_json::to_vec(&u).unwrap();
    /// let loaded = UserDevices::from_snapshot(&json, DeviceSettings::new(3).unwrap()).unwrap();
    /// assert_eq!(loaded.settings().max_allowed_devices(), 3);
    /// assert!(UserDevices::from_snapshot(br#"{"schemaVersion": 9}"#, DeviceSettings::default()).is_err());
    /// ```
    pub fn from_snapshot(
        json: &[u8],
        settings: DeviceSettings,
    ) -> Result<UserDevices, UserDevicesError> {
        let snapshot: Snapshot = serde_json::from_slice(json)
            .map_err(|e| UserDevicesError::InvalidSnapshot(e.to_string()))?;
        Ok(UserDevices::try_from(snapshot)?.with_settings(settings))
    }

    /// Loads a `GET …/devices` response body (`_embedded.devices`, HAL links ignored) with
    /// [`restore`](Self::restore) at `revision`. The order is `_embedded.order` when the response
    /// was expanded with `expand=order` (an empty array: unordered), else — decision — the
    /// ACTIVE devices in the order listed.
    ///
    /// ```
    /// use mfa_devices::device::{EnvironmentId, UserId};
    /// use mfa_devices::user_devices::UserDevices;
    /// let body = serde_json::json!({"_embedded": {"devices": []}, "count": 0, "size": 0});
    /// let u = UserDevices::from_list_response(EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), &body, 0).unwrap();
    /// assert!(u.list().is_empty());
    /// ```
    pub fn from_list_response(
        environment_id: EnvironmentId,
        user_id: UserId,
        body: &Value,
        revision: u64,
    ) -> Result<UserDevices, UserDevicesError> {
        let embedded = body.get("_embedded");
        let items = embedded
            .and_then(|e| e.get("devices"))
            .and_then(Value::as_array)
            .ok_or_else(|| {
                UserDevicesError::InvalidSnapshot(
                    "no _embedded.devices array in the list body".into(),
                )
            })?;
        let mut devices = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let device: Device = serde_json::from_value(item.clone()).map_err(|e| {
                UserDevicesError::InvalidSnapshot(format!("_embedded.devices[{i}]: {e}"))
            })?;
            devices.push(device);
        }
        let order = match embedded.and_then(|e| e.get("order")) {
            Some(order) => {
                let ids: Vec<IdRef<DeviceId>> =
                    serde_json::from_value(order.clone()).map_err(|e| {
                        UserDevicesError::InvalidSnapshot(format!("_embedded.order: {e}"))
                    })?;
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
}
