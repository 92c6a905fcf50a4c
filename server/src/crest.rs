//! Advanced Identity Cloud (ForgeRock AM) over CREST: the 2FA device collections
//! `GET /am/json/realms/root/realms/{realm}/users/{user}/devices/2fa/{oath|push|webauthn|binding}`
//! and `DELETE …/devices/2fa/{kind}/{id}`, over the same per-user aggregate as the PingOne
//! routes (<https://docs.pingidentity.com/pingoneaic/> "List registered devices over REST").
//!
//! Everything CREST is the crate's [`mfa_devices::crest`]: the query parameters and their 400
//! rules ([`QueryRequest::from_query_string`]), `_queryFilter` evaluation, `_sortKeys`, paging
//! with encrypted, owner-bound, expiring `_pagedResultsCookie`s ([`query`], [`Paging`]), the
//! device shapes ([`OathDevice`], [`PushDevice`], [`WebAuthnDevice`], [`BoundDevice`]), the
//! paged-results envelope and the error body `{"code":400,"reason":"Bad Request","message":…}`
//! ([`CrestError::to_crest_body`]).
//!
//! # Mapping (decisions)
//! - **Realm = environment.** The realm path is `/realms/root/realms/{environmentID}`: exactly one
//!   sub-realm under root, named by the environment's id (lower-case UUID, as the token is
//!   configured). The bearer-token rule is the PingOne routes' one: no or unknown token → 401, a
//!   token of another environment than the realm names → 403 — both in AIC's error body, like
//!   every error on these routes. A realm that is not an environment id, nested realms and the
//!   root realm name no collection (404).
//! - **Categories → PingOne device types.** `oath`: TOTP and OATH_TOKEN (both OATH
//!   authenticators); `push`: MOBILE (PingOne MFA SDK apps receive the push notifications);
//!   `webauthn`: FIDO2 and the deprecated PLATFORM / SECURITY_KEY; `binding`: none — PingOne's
//!   devices API has no device type holding a bound device key (AIC's device binding JWK), so
//!   the collection is always empty and a delete there is 404. Other types (SMS, EMAIL, VOICE,
//!   WHATSAPP, BROWSER) are in no collection.
//! - **Only ACTIVE devices are listed** (AM lists a device once its registration completed; an
//!   ACTIVATION_REQUIRED PingOne device is a registration in progress), and only they can be
//!   deleted here (anything else is 404, as an unknown uuid).
//! - **Fields.** `_id` = `uuid` = the PingOne device id; `_rev` = a content hash of the device as
//!   the PingOne routes show it ([`revision`]: a decimal string, as AM's revisions are; it
//!   changes whenever the device does, even twice in one millisecond); `deviceName` = the nickname, else AM's default name for the category (`OATH Device`,
//!   `Push Device`, `New Security Key`); `deviceManagementStatus` = `false`.
//! - **Queries.** `_queryFilter` is required (`true` lists all); `_queryId` and
//!   `_queryExpression` are 400. `_pageSize`, `_pagedResultsCookie`, `_pagedResultsOffset`,
//!   `_sortKeys` and `_totalPagedResultsPolicy` follow [`query_with`](mfa_devices::crest::query_with).
//!   `_fields` (not modelled by the crate) is accepted and not applied: every field is returned.
//! - **Cookies.** The [`CookieKey`] is derived from the server's bearer tokens ([`cookie_key`]),
//!   so instances started with the same `--token`s share it: a cookie handed out by one instance
//!   pages on at another and after a restart. A cookie is bound to the collection's path
//!   ([`Realm::devices_path`]: environment, user and category), the filter and the sort keys,
//!   and expires after 30 minutes; a cookie under other tokens is refused with 400 (the client
//!   starts the query again).
//! - **Delete** executes the crate's `Command::Delete` through [`crate::devices::execute`] —
//!   revision compare-and-swap, events, read models and `DEVICE.DELETED` audit activity, as
//!   `DELETE /v1/…/devices/{id}` — and answers 200 with the device as it was (CREST returns the
//!   deleted resource) and its `_rev` as `ETag`. `If-Match` (optional) is compared with the
//!   device's `_rev` (`*` matches any); a mismatch, or a change to the user's devices between
//!   that check and the commit, is 412.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::Utc;
use mfa_devices::crest::{
    BoundDevice, CookieKey, CrestError, CrestErrorBody, DeviceCategory, OathDevice, Paging,
    PushDevice, QueryItem, QueryRequest, Realm, WebAuthnDevice, query,
};
use mfa_devices::device::{Device, DeviceDetails, DeviceId, DeviceType, EnvironmentId, UserId};
use mfa_devices::filter::Resource;
use mfa_devices::user_devices::{Command, UserDevices, etag};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::{Failure, Shared, TransactionId, json_response};

/// The list route (the `{kind}` is `oath`, `push`, `webauthn` or `binding`).
pub const LIST_PATH: &str = "/am/json/realms/root/realms/{realm}/users/{user}/devices/2fa/{kind}";

/// The CREST routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/am/json/realms/root/realms/{realm}/users/{user}/devices/2fa/{kind}",
            get(list),
        )
        .route(
            "/am/json/realms/root/realms/{realm}/users/{user}/devices/2fa/{kind}/{id}",
            delete(delete_device),
        )
}

/// Whether a request path is one of AIC's (`/am/…`): its errors use AIC's body.
pub fn is_crest_path(path: &str) -> bool {
    path == "/am" || path.starts_with("/am/")
}

/// The environment a CREST path addresses: the realm under root in
/// `/am/json/realms/root/realms/{realm}/…`.
pub fn path_environment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/am/json/realms/root/realms/")?;
    rest.split('/').next().filter(|realm| !realm.is_empty())
}

/// The key of the `_pagedResultsCookie`s, derived from the server's bearer tokens:
/// HMAC-SHA-256 keyed with every `environment=token` pair (sorted, one per line) over a fixed
/// label. Instances started with the same `--token`s on one database therefore share the key —
/// a cookie handed out by one instance pages on at another and survives a restart — while
/// nobody without a token can forge one. Changing the tokens invalidates the cookies (the
/// client starts its query again).
pub fn cookie_key(tokens: &std::collections::HashMap<String, EnvironmentId>) -> CookieKey {
    use hmac::{Hmac, Mac};
    let mut pairs: Vec<String> = tokens
        .iter()
        .map(|(token, env)| format!("{env}={token}\n"))
        .collect();
    pairs.sort_unstable();
    let secret = pairs.concat();
    // HMAC takes keys of any length; an empty key set (no tokens: no request can pass the
    // token check anyway) still yields a 32-byte key.
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return CookieKey::from(rand::random::<[u8; 32]>());
    };
    mac.update(b"mfa-devices-server CREST paging cookie key v1");
    CookieKey::from(<[u8; 32]>::from(mac.finalize().into_bytes()))
}

/// A refused CREST request: AIC's `{"code","reason","message"}` body with its status.
#[derive(Debug)]
pub struct CrestFailure(pub CrestErrorBody);

impl CrestFailure {
    /// A failure with `status` (the reason is the status's canonical phrase) and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        CrestFailure(CrestErrorBody {
            code: status,
            reason: reason.to_owned(),
            message: message.into(),
        })
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
}

impl From<CrestError> for CrestFailure {
    fn from(e: CrestError) -> Self {
        CrestFailure(e.to_crest_body())
    }
}

impl From<Failure> for CrestFailure {
    /// The PingOne-shaped failures of the shared helpers (store unavailable 503, conflict 409,
    /// precondition 412, not found 404), with their status and message.
    fn from(Failure(e): Failure) -> Self {
        Self::new(e.http_status(), e.message)
    }
}

impl IntoResponse for CrestFailure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &serde_json::to_value(&self.0).unwrap_or_default())
    }
}

/// AM's default `deviceName` of a category, for a device without a nickname.
fn default_name(category: DeviceCategory) -> &'static str {
    match category {
        DeviceCategory::Oath => "OATH Device",
        DeviceCategory::Push => "Push Device",
        DeviceCategory::WebAuthn => "New Security Key",
        DeviceCategory::Binding => "Bound Device",
    }
}

/// The collection a PingOne device type is listed in (see the module documentation).
pub fn category_of(device_type: &DeviceType) -> Option<DeviceCategory> {
    match device_type {
        DeviceType::Totp | DeviceType::OathToken => Some(DeviceCategory::Oath),
        DeviceType::Mobile => Some(DeviceCategory::Push),
        t if t.is_webauthn() => Some(DeviceCategory::WebAuthn),
        _ => None,
    }
}

/// Whether `device` is listed in `category`: of a mapped type and ACTIVE.
fn listed_in(device: &Device, category: DeviceCategory) -> bool {
    category_of(&device.device_type) == Some(category) && device.is_active()
}

/// A device's `_rev`: the first 64 bits of a name-based (SHA-1) UUID of the device's JSON as
/// the PingOne routes show it at that moment (`UserDevices::device_at`: secrets that are no
/// longer shown are not part of it), in decimal. Equal devices have equal revisions, on every
/// instance and across restarts; any change to the device changes it.
pub fn revision(device: &Device) -> String {
    let json = serde_json::to_vec(device).unwrap_or_default();
    let (high, _) = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &json).as_u64_pair();
    high.to_string()
}

/// The fields every category shares: (`_id` = `uuid`, `_rev`, `deviceName`).
fn common(device: &Device, category: DeviceCategory) -> (String, String, String) {
    (
        device.id.to_string(),
        revision(device),
        device
            .nickname
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| default_name(category).to_owned()),
    )
}

/// A PingOne device as AIC lists it in `category`'s collection: the crate's typed CREST
/// device, serialized. `device` is the device as it reads now
/// ([`UserDevices::device_at`]), `stored` the aggregate's record of it
/// ([`UserDevices::device`]: only it holds a FIDO2 device's registered credential, whose id
/// is AM's `credentialId`). `None` for a device not in that collection.
pub fn render(device: &Device, stored: &Device, category: DeviceCategory) -> Option<Value> {
    if !listed_in(device, category) {
        return None;
    }
    let value = match category {
        DeviceCategory::Oath => serde_json::to_value(oath(device, stored)),
        DeviceCategory::Push => serde_json::to_value(push(device, stored)),
        DeviceCategory::WebAuthn => serde_json::to_value(webauthn(device, stored)),
        DeviceCategory::Binding => return None,
    };
    value.ok()
}

fn oath(device: &Device, _stored: &Device) -> OathDevice {
    let (id, rev, device_name) = common(device, DeviceCategory::Oath);
    OathDevice {
        uuid: id.clone(),
        id,
        rev,
        device_name,
        device_management_status: false,
        extra: Map::new(),
    }
}

fn push(device: &Device, _stored: &Device) -> PushDevice {
    let (id, rev, device_name) = common(device, DeviceCategory::Push);
    PushDevice {
        uuid: id.clone(),
        id,
        rev,
        device_name,
        device_management_status: false,
        extra: Map::new(),
    }
}

fn webauthn(device: &Device, stored: &Device) -> WebAuthnDevice {
    let (id, rev, device_name) = common(device, DeviceCategory::WebAuthn);
    WebAuthnDevice {
        uuid: id.clone(),
        id,
        rev,
        device_name,
        // AM's `credentialId`: the WebAuthn credential id (base64url, as the browser's `id`)
        // of a device registered through an attestation; none for one created without.
        credential_id: match &stored.details {
            DeviceDetails::Fido2(f) => f.credential.as_ref().map(|c| c.credential_id_base64url()),
            _ => None,
        },
        device_management_status: false,
        extra: Map::new(),
    }
}

/// The user's devices in `category`'s collection, in the aggregate's list order (the order,
/// then the unordered devices), as of `now`.
fn collection<T>(
    devices: &UserDevices,
    category: DeviceCategory,
    now: chrono::DateTime<Utc>,
    convert: fn(&Device, &Device) -> T,
) -> Vec<T> {
    devices
        .list()
        .into_iter()
        .filter_map(|stored| Some((devices.device_at(&stored.id, now)?, stored)))
        .filter(|(shown, _)| listed_in(shown, category))
        .map(|(shown, stored)| convert(&shown, stored))
        .collect()
}

/// Runs the crate's query engine over one collection and serializes the envelope.
fn run<T>(items: &[T], request: &QueryRequest, paging: &Paging<'_>) -> Result<Value, CrestFailure>
where
    T: Resource + QueryItem + Serialize,
{
    let page = query(items, request, paging)?;
    serde_json::to_value(&page).map_err(|e| CrestFailure::new(500, e.to_string()))
}

/// The addressed collection: the environment, the user and the category, with the realm
/// (for the cookie owner). Anything malformed names no collection: 404.
fn collection_of(
    realm: &str,
    user: &str,
    kind: &str,
) -> Result<(Realm, EnvironmentId, UserId, DeviceCategory), CrestFailure> {
    let realm_path = format!("/realms/root/realms/{realm}");
    let parsed: Realm = realm_path.parse()?;
    let env: EnvironmentId = realm.parse().map_err(|_| {
        CrestFailure::not_found(format!(
            "Realm {:?} not found: a realm is an environment id",
            mfa_devices::error::echo(realm).to_string()
        ))
    })?;
    let user_id: UserId = user.parse().map_err(|_| {
        CrestFailure::not_found(format!(
            "User {:?} not found",
            mfa_devices::error::echo(user).to_string()
        ))
    })?;
    let category: DeviceCategory = kind.parse()?;
    Ok((parsed, env, user_id, category))
}

async fn list(
    State(state): State<Shared>,
    Path((realm, user, kind)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, CrestFailure> {
    let (realm, env, user, category) = collection_of(&realm, &user, &kind)?;
    let request = QueryRequest::from_query_string(raw.as_deref().unwrap_or(""))?;
    let owner = realm.devices_path(&user.to_string(), category)?;
    let devices = crate::devices::current(&state, env, user).await?;
    let now = Utc::now();
    let paging = Paging::new(&state.crest_cookie_key, &owner, now, rand::random());
    let body = match category {
        DeviceCategory::Oath => run(
            &collection(&devices, category, now, oath),
            &request,
            &paging,
        ),
        DeviceCategory::Push => run(
            &collection(&devices, category, now, push),
            &request,
            &paging,
        ),
        DeviceCategory::WebAuthn => run(
            &collection(&devices, category, now, webauthn),
            &request,
            &paging,
        ),
        DeviceCategory::Binding => run(&Vec::<BoundDevice>::new(), &request, &paging),
    }?;
    Ok(json_response(StatusCode::OK, &body))
}

/// `If-Match` against a device's `_rev`: `*` or any listed entity tag equal to `"<_rev>"`
/// (the quotes optional, as CREST clients send the bare revision too).
fn rev_matches(header: &str, rev: &str) -> bool {
    header.split(',').map(str::trim).any(|member| {
        let member = member.strip_prefix("W/").unwrap_or(member);
        member == "*" || member.trim_matches('"') == rev
    })
}

async fn delete_device(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path((realm, user, kind, id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, CrestFailure> {
    let (_, env, user, category) = collection_of(&realm, &user, &kind)?;
    let unknown = || {
        CrestFailure::not_found(format!(
            "Device {:?} not found in the {category} devices of this user",
            mfa_devices::error::echo(&id).to_string()
        ))
    };
    let device_id: DeviceId = id.parse().map_err(|_| unknown())?;
    let devices = crate::devices::current(&state, env, user).await?;
    let now = Utc::now();
    let device = devices
        .device_at(&device_id, now)
        .filter(|d| listed_in(d, category))
        .ok_or_else(unknown)?;
    let stored = devices.device(&device_id).ok_or_else(unknown)?;
    let body = render(&device, stored, category).ok_or_else(unknown)?;
    let rev = revision(&device);
    // With If-Match, the commit must see the revision the check saw (compare-and-swap).
    let precondition = match headers.get(header::IF_MATCH) {
        None => None,
        Some(value) => {
            let text = value.to_str().unwrap_or("");
            if !rev_matches(text, &rev) {
                return Err(CrestFailure::new(
                    412,
                    format!("The device's revision is {rev}; If-Match does not match it"),
                ));
            }
            Some(etag(devices.revision()))
        }
    };
    let command = Command::Delete { id: device_id };
    match crate::devices::execute(
        &state,
        env,
        user,
        command,
        precondition.as_deref(),
        &transaction,
    )
    .await
    {
        Ok(_) => {}
        Err(Failure(e)) if e.http_status() == 404 => return Err(unknown()),
        Err(Failure(e)) if e.http_status() == 412 => {
            return Err(CrestFailure::new(
                412,
                "The user's devices changed since If-Match was checked; read the device again",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mut response = json_response(StatusCode::OK, &body);
    if let Ok(value) = HeaderValue::from_str(&format!("\"{rev}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_environment() {
        let env = "a0000000-0000-4000-8000-00000000000a";
        assert_eq!(
            path_environment(&format!(
                "/am/json/realms/root/realms/{env}/users/u/devices/2fa/oath"
            )),
            Some(env)
        );
        assert_eq!(path_environment("/am/json/realms/root/users/u"), None);
        assert_eq!(path_environment("/am/json/realms/root/realms//x"), None);
        assert!(is_crest_path("/am/x") && is_crest_path("/am"));
        assert!(!is_crest_path("/amx") && !is_crest_path("/v1/am/"));
    }

    #[test]
    fn types_map_to_categories() {
        assert_eq!(category_of(&DeviceType::Totp), Some(DeviceCategory::Oath));
        assert_eq!(
            category_of(&DeviceType::OathToken),
            Some(DeviceCategory::Oath)
        );
        assert_eq!(category_of(&DeviceType::Mobile), Some(DeviceCategory::Push));
        for t in [
            DeviceType::Fido2,
            DeviceType::Platform,
            DeviceType::SecurityKey,
        ] {
            assert_eq!(category_of(&t), Some(DeviceCategory::WebAuthn));
        }
        for t in [
            DeviceType::Sms,
            DeviceType::Email,
            DeviceType::Voice,
            DeviceType::Whatsapp,
            DeviceType::Browser,
        ] {
            assert_eq!(category_of(&t), None);
        }
    }

    #[test]
    fn if_match_compares_the_device_revision() {
        assert!(rev_matches("\"123\"", "123"));
        assert!(rev_matches("123", "123"));
        assert!(rev_matches("W/\"1\", \"123\"", "123"));
        assert!(rev_matches("*", "123"));
        assert!(!rev_matches("\"124\"", "123"));
        assert!(!rev_matches("", "123"));
    }

    #[test]
    fn failures_have_aic_bodies() {
        let f = CrestFailure::new(401, "Access Denied");
        assert_eq!(
            serde_json::to_string(&f.0).unwrap(),
            r#"{"code":401,"reason":"Unauthorized","message":"Access Denied"}"#
        );
        let f: CrestFailure = CrestError::UnknownCategory("sms".into()).into();
        assert_eq!((f.0.code, f.0.reason.as_str()), (404, "Not Found"));
        // The shared helpers' PingOne failures keep their status and message.
        let unavailable = mfa_devices::error::ApiError::new(
            mfa_devices::error::ErrorCode::UnexpectedError,
            "The service is temporarily unavailable; retry the request",
        )
        .with_status(503);
        let f: CrestFailure = Failure(unavailable).into();
        assert_eq!(
            serde_json::to_value(&f.0).unwrap(),
            serde_json::json!({"code": 503, "reason": "Service Unavailable",
                "message": "The service is temporarily unavailable; retry the request"})
        );
        let f: CrestFailure = Failure(mfa_devices::error::ApiError::conflict("lost")).into();
        assert_eq!((f.0.code, f.0.reason.as_str()), (409, "Conflict"));
    }
}
