//! HAL rendering: the `_links` (and, for collections, `_embedded`, `count`, `size`) that PingOne
//! wraps around device bodies, computed from an API base URL the caller gives.
//!
//! Links PingOne writes for a device: `self`, `environment`, `user`, and `device.activate` while
//! the device is ACTIVATION_REQUIRED. For the devices collection: `self` and `devices.reorder`
//! (both the collection URL). With `expand=order`, the collection also embeds the order — the
//! crate's decision on a shape PingOne does not publish: `_embedded.order` is
//! `[{"id": …}, …]`, the same items as a reorder request body, and `[]` for an unordered user.

use serde_json::{Map, Value, json};

use super::ids::{DeviceId, EnvironmentId, UserId};
use super::model::{Device, DeviceStatus};
use crate::api_base::ApiBase;

/// The Platform API's device resource URLs.
impl ApiBase {
    /// `{base}/environments/{env}`.
    pub fn environment(&self, env: &EnvironmentId) -> String {
        format!("{}/environments/{env}", self.as_str())
    }

    /// `{base}/environments/{env}/users/{user}`.
    pub fn user(&self, env: &EnvironmentId, user: &UserId) -> String {
        format!("{}/users/{user}", self.environment(env))
    }

    /// `{base}/environments/{env}/users/{user}/devices`.
    pub fn devices(&self, env: &EnvironmentId, user: &UserId) -> String {
        format!("{}/devices", self.user(env, user))
    }

    /// `{base}/environments/{env}/users/{user}/devices/{id}`.
    pub fn device(&self, env: &EnvironmentId, user: &UserId, id: &DeviceId) -> String {
        format!("{}/{id}", self.devices(env, user))
    }
}

fn href(url: String) -> Value {
    json!({ "href": url })
}

/// The `_links` of one device.
///
/// ```
/// # use mfa_devices::{api_base::ApiBase, device::{*, hal::*}};
/// # use chrono::{TimeZone, Utc};
/// # let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
///     UserId::from_bytes([3; 16]), DeviceType::Totp, DeviceStatus::ActivationRequired, t);
/// let links = device_links(&d, &ApiBase::new("https://api.pingone.com/v1"));
/// assert!(links.contains_key("device.activate"));
/// assert_eq!(links["self"]["href"], format!("https://api.pingone.com/v1/environments/{}/users/{}/devices/{}",
///     d.environment.id, d.user.id, d.id));
/// ```
pub fn device_links(device: &Device, base: &ApiBase) -> Map<String, Value> {
    let env = &device.environment.id;
    let user = &device.user.id;
    let mut links = Map::new();
    let this = base.device(env, user, &device.id);
    links.insert("self".into(), href(this.clone()));
    links.insert("environment".into(), href(base.environment(env)));
    links.insert("user".into(), href(base.user(env, user)));
    if device.status == DeviceStatus::ActivationRequired {
        links.insert("device.activate".into(), href(this));
    }
    links
}

/// One device as PingOne returns it: `_links` followed by the body.
///
/// ```
/// # use mfa_devices::{api_base::ApiBase, device::{*, hal::*}};
/// # use chrono::{TimeZone, Utc};
/// # let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
/// let d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
///     UserId::from_bytes([3; 16]), DeviceType::Totp, DeviceStatus::Active, t);
/// let v = render_device(&d, &ApiBase::new("https://api.pingone.com/v1"));
/// assert_eq!(v["type"], "TOTP");
/// assert!(v["_links"].get("device.activate").is_none());
/// ```
pub fn render_device(device: &Device, base: &ApiBase) -> Value {
    let mut out = Map::new();
    out.insert("_links".into(), Value::Object(device_links(device, base)));
    if let Ok(Value::Object(body)) = serde_json::to_value(device) {
        out.extend(body);
    }
    Value::Object(out)
}

/// The devices collection response of `GET …/users/{userID}/devices`: `_links` (`self`,
/// `devices.reorder`), `_embedded.devices` in the order given, `count` and `size`; with
/// `expand_order` (`expand=order`), `_embedded.order` too.
///
/// ```
/// use mfa_devices::api_base::ApiBase;
/// use mfa_devices::device::{EnvironmentId, UserId, hal::*};
/// let base = ApiBase::new("https://api.pingone.eu/v1");
/// let v = render_collection([], &base, &EnvironmentId::from_bytes([2; 16]), &UserId::from_bytes([3; 16]), Some(&[]));
/// assert_eq!((v["count"].as_u64(), v["size"].as_u64()), (Some(0), Some(0)));
/// assert_eq!(v["_embedded"]["order"], serde_json::json!([]));
/// ```
pub fn render_collection<'a>(
    devices: impl IntoIterator<Item = &'a Device>,
    base: &ApiBase,
    environment_id: &EnvironmentId,
    user_id: &UserId,
    expand_order: Option<&[DeviceId]>,
) -> Value {
    let rendered: Vec<Value> = devices
        .into_iter()
        .map(|d| render_device(d, base))
        .collect();
    let n = rendered.len();
    let collection = base.devices(environment_id, user_id);
    let mut embedded = Map::new();
    embedded.insert("devices".into(), Value::Array(rendered));
    if let Some(order) = expand_order {
        let items: Vec<Value> = order.iter().map(|id| json!({ "id": id })).collect();
        embedded.insert("order".into(), Value::Array(items));
    }
    json!({
        "_links": {
            "self": { "href": collection },
            "devices.reorder": { "href": collection },
        },
        "_embedded": embedded,
        "count": n,
        "size": n,
    })
}
