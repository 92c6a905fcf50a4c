//! Ordering: the list order, the default device, strict reorders and the automatic reorders
//! that activation and deletion cause (the rules are in the [module documentation](super)).

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use crate::device::{Device, DeviceId};

use super::{Change, OrderViolation, UserDevices, UserDevicesError};

/// Sorts plain devices into `GET …/devices` order — the one implementation
/// [`UserDevices::list`] uses, for a read path that loads device rows (e.g. from SQL) instead of
/// the aggregate: the devices listed in `order` first, in its order (an ordered user's ACTIVE
/// devices, the default first), then every other device by `createdAt`, then id. With `order`
/// `None` (an unordered user) all devices sort by `createdAt`, then id — the crate's decision
/// where PingOne says "no particular order". Filter after sorting (a filter keeps the order);
/// render each device with [`as_of`](super::as_of).
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::device::*;
/// use mfa_devices::user_devices::sort_for_list;
/// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
/// let dev = |b, s, m| Device::new(DeviceId::from_bytes([b; 16]), env, user, DeviceType::Sms, s, t + TimeDelta::minutes(m));
/// // Rows as a SQL query returned them, in no particular order.
/// let mut rows = vec![dev(3, DeviceStatus::ActivationRequired, 2), dev(4, DeviceStatus::Active, 3),
///     dev(5, DeviceStatus::ActivationRequired, 1), dev(6, DeviceStatus::Active, 0)];
/// let order = [DeviceId::from_bytes([4; 16]), DeviceId::from_bytes([6; 16])];
/// sort_for_list(&mut rows, Some(&order));
/// let ids: Vec<u8> = rows.iter().map(|d| d.id.as_uuid().as_bytes()[0]).collect();
/// assert_eq!(ids, [4, 6, 5, 3]);
/// sort_for_list(&mut rows, None);
/// let ids: Vec<u8> = rows.iter().map(|d| d.id.as_uuid().as_bytes()[0]).collect();
/// assert_eq!(ids, [6, 5, 3, 4]);
/// ```
pub fn sort_for_list<D: Borrow<Device>>(devices: &mut [D], order: Option<&[DeviceId]>) {
    let mut position: HashMap<DeviceId, usize> = HashMap::new();
    for (i, id) in order.unwrap_or_default().iter().enumerate() {
        position.entry(*id).or_insert(i);
    }
    devices.sort_by(|a, b| {
        let (a, b) = (a.borrow(), b.borrow());
        match (position.get(&a.id), position.get(&b.id)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => (a.created_at, a.id).cmp(&(b.created_at, b.id)),
        }
    });
}

impl UserDevices {
    /// Whether the user's ACTIVE devices have an order (and so, if any, a default device).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    /// let (env, user, id) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]), DeviceId::from_bytes([3; 16]));
    /// let mut u = UserDevices::new(env, user);
    /// u.execute(Command::Create { id, device: NewDevice { status: Some(DeviceStatus::Active), ..NewDevice::new(DeviceType::Totp) } }, t).unwrap();
    /// assert_eq!(u.order(), Some(&[id][..]));
    /// ```
    pub fn order(&self) -> Option<&[DeviceId]> {
        self.order.as_deref()
    }

    /// The devices in `GET …/devices` order: an ordered user's ACTIVE devices in order (the
    /// default first), then the other devices by `createdAt`, then id; an unordered user's
    /// devices all by `createdAt`, then id (the crate's decision for PingOne's "no particular
    /// order").
    ///
    /// ```
    /// use chrono::{TimeDelta, TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::UserDevices;
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
        let mut out: Vec<&Device> = self.devices.values().collect();
        sort_for_list(&mut out, self.order.as_deref());
        out
    }

    /// `expand=order`: the ordered ACTIVE device ids, empty for an unordered user.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// use mfa_devices::user_devices::{Command, UserDevices};
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
    /// use mfa_devices::user_devices::{Command, UserDevices};
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

    // --- Ordering commands -----------------------------------------------------------------

    /// `Reorder`: strict (every ACTIVE device exactly once, nothing else); the current order is
    /// a no-op.
    pub(super) fn decide_reorder(
        &self,
        order: Vec<DeviceId>,
    ) -> Result<Vec<Change>, UserDevicesError> {
        let violations = if order.is_empty() {
            vec![OrderViolation::Empty]
        } else {
            self.order_violations(&order)
        };
        if !violations.is_empty() {
            return Err(UserDevicesError::InvalidOrder(violations));
        }
        if self.order.as_ref() == Some(&order) {
            return Ok(Vec::new());
        }
        Ok(vec![Change::OrderSet {
            before: self.order.clone(),
            order,
        }])
    }

    /// `RemoveOrder`: the user becomes unordered (a no-op when already so).
    pub(super) fn decide_remove_order(&self) -> Vec<Change> {
        match &self.order {
            None => Vec::new(),
            Some(before) => vec![Change::OrderRemoved {
                before: before.clone(),
            }],
        }
    }

    // --- Auto-reorder ----------------------------------------------------------------------

    /// The order after `id` becomes ACTIVE: appended when ordered.
    pub(super) fn order_with(&self, id: DeviceId) -> Option<Vec<DeviceId>> {
        self.order.as_ref().map(|o| {
            let mut o = o.clone();
            o.push(id);
            o
        })
    }

    /// The order after `id` is deleted: removed when ordered (the next becomes the default); an
    /// unordered user left with one or zero ACTIVE devices is ordered again.
    pub(super) fn order_without(&self, id: DeviceId) -> Option<Vec<DeviceId>> {
        match &self.order {
            Some(o) => Some(o.iter().copied().filter(|x| *x != id).collect()),
            None => {
                let left: Vec<DeviceId> =
                    self.active_ids().into_iter().filter(|x| *x != id).collect();
                (left.len() <= 1).then_some(left)
            }
        }
    }

    /// The ACTIVE devices by `createdAt`, then id.
    pub(super) fn active_ids(&self) -> Vec<DeviceId> {
        let mut active: Vec<&Device> = self.devices.values().filter(|d| d.is_active()).collect();
        active.sort_by_key(|d| (d.created_at, d.id));
        active.into_iter().map(|d| d.id).collect()
    }

    /// Every way `order` differs from "each ACTIVE device exactly once".
    pub(super) fn order_violations(&self, order: &[DeviceId]) -> Vec<OrderViolation> {
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
}
