//! `…/users/{userID}/devices`: every call into the crate's user-devices aggregate lives here
//! (load a user, decide and commit a command with conflict retries, render bodies, build the
//! read-model and audit rows).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use chrono::{DateTime, Utc};
use mfa_devices::device::hal::render_device;
use mfa_devices::device::{
    Device, DeviceDetails, DeviceId, DeviceStatus, DeviceType, EnvironmentId, RelyingParty, UserId,
    is_valid_rp_id,
};
use mfa_devices::error::ApiError;
use mfa_devices::filter::schema::DEVICES;
use mfa_devices::user_devices::{
    Command, DeviceSettings, Event, PreconditionFailed, RequestTarget, UserDevices, etag, if_match,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cache::CachedUser;
use crate::http::{
    Failure, MAX_ATTEMPTS, Shared, TransactionId, content_type, json_bytes, json_response, path_id,
    read_body,
};
use crate::store::{ActivityRow, Commit, DeviceRow, EventRow, StoreError};

/// The devices routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/environments/{env}/users/{user}/devices",
            get(list).post(post_devices),
        )
        .route(
            "/v1/environments/{env}/users/{user}/devices/{id}",
            get(get_device).delete(delete_device).post(post_device),
        )
        .route(
            "/v1/environments/{env}/users/{user}/devices/{id}/nickname",
            put(put_nickname),
        )
}

/// Reads a stored snapshot with the environment's `settings` (never settings the snapshot may
/// carry) and checks that it is the row's: its revision, environment and user.
fn parse_snapshot(
    json: &str,
    revision: u64,
    env: EnvironmentId,
    user: UserId,
    settings: DeviceSettings,
) -> Result<UserDevices, Failure> {
    let devices = UserDevices::from_snapshot(json.as_bytes(), settings)
        .map_err(|err| StoreError::Corrupt(format!("snapshot of user {user} in {env}: {err}")))?;
    if devices.revision() != revision
        || devices.environment_id() != env
        || devices.user_id() != user
    {
        return Err(StoreError::Corrupt(format!(
            "snapshot of user {user} in {env} says revision {} of environment {} user {} in its row {revision}",
            devices.revision(),
            devices.environment_id(),
            devices.user_id()
        ))
        .into());
    }
    Ok(devices)
}

/// The user's aggregate at the latest committed revision, with the environment's device
/// settings ([`AppState::device_settings`](crate::AppState::device_settings)). One database
/// round trip reads the stored revision; the snapshot is read and parsed only when it is not
/// the revision [`AppState::aggregates`](crate::AppState::aggregates) holds.
pub async fn current(
    state: &Shared,
    env: EnvironmentId,
    user: UserId,
) -> Result<Arc<CachedUser>, Failure> {
    let cached = state.aggregates.get(env, user);
    let known = cached.as_ref().map(|d| d.revision());
    let (e, u) = (env.to_string(), user.to_string());
    let settings = state.device_settings(&env);
    match state.store.load_snapshot_unless(&e, &u, known).await? {
        None => {
            state.aggregates.remove(env, user);
            let devices = UserDevices::new(env, user).with_settings(settings);
            Ok(Arc::new(CachedUser::new(devices)))
        }
        Some((revision, None)) => match cached {
            Some(devices) if devices.revision() == revision => Ok(devices),
            _ => Err(StoreError::Corrupt(format!(
                "the store answered revision {revision} of user {u} in {e} without its snapshot"
            ))
            .into()),
        },
        Some((revision, Some(json))) => {
            let devices = parse_snapshot(&json, revision, env, user, settings)?;
            let devices = Arc::new(CachedUser::new(devices));
            state.aggregates.put(Arc::clone(&devices));
            Ok(devices)
        }
    }
}

/// Decides `command` on the user's current state and commits its events with the snapshot in
/// one transaction. A commit that loses a race is decided again from a fresh load, at most
/// [`MAX_ATTEMPTS`] times (then 409) — unless the client sent `If-Match`: that is checked
/// against the loaded revision, and a lost race is a 412 as well. No events: nothing is
/// written.
pub async fn execute(
    state: &Shared,
    env: EnvironmentId,
    user: UserId,
    command: Command,
    precondition: Option<&str>,
    transaction: &TransactionId,
) -> Result<(UserDevices, Vec<Event>, DateTime<Utc>), Failure> {
    let _serialised = state.lock_user(&env, &user).await;
    for attempt in 0..MAX_ATTEMPTS {
        let mut devices = UserDevices::clone(&*current(state, env, user).await?);
        let base = devices.revision();
        if let Some(header) = precondition {
            if_match(header, base).map_err(ApiError::from)?;
        }
        let now = Utc::now();
        let events = devices
            .execute(command.clone(), now)
            .map_err(ApiError::from)?;
        if events.is_empty() {
            return Ok((devices, events, now));
        }
        let commit = to_commit(&devices, base, &events, transaction, now)?;
        match state.store.commit(commit).await {
            Ok(()) => {
                state
                    .aggregates
                    .put(Arc::new(CachedUser::new(devices.clone())));
                return Ok((devices, events, now));
            }
            Err(StoreError::Conflict) if precondition.is_some() => {
                state.conflicts_answered.fetch_add(1, Ordering::Relaxed);
                let current = current(state, env, user).await?.revision();
                return Err(ApiError::from(PreconditionFailed { revision: current }).into());
            }
            Err(StoreError::Conflict) => {
                state.conflicts_retried.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%env, %user, attempt, "conflicting commit; deciding again");
                // Competing writers are in other processes: back off a random 0..2^attempt ms.
                let cap = 1u64 << attempt.min(6);
                let pause = rand::random_range(0..=cap);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
    state.conflicts_answered.fetch_add(1, Ordering::Relaxed);
    Err(StoreError::Conflict.into())
}

fn json_text(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

/// The rows one command writes: events, snapshot, devices read model, audit activities.
fn to_commit(
    devices: &UserDevices,
    base_revision: u64,
    events: &[Event],
    transaction: &TransactionId,
    now: DateTime<Utc>,
) -> Result<Commit, Failure> {
    let (env, user) = (
        devices.environment_id().to_string(),
        devices.user_id().to_string(),
    );
    let mut event_rows = Vec::with_capacity(events.len());
    let mut activities = Vec::with_capacity(events.len());
    for event in events {
        let value = serde_json::to_value(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let event_type = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        event_rows.push(EventRow {
            revision: event.revision,
            recorded_at: event.at,
            event_type,
            event: value.to_string(),
        });
        activities.push(activity(&env, &user, event, transaction));
    }
    let rows = devices
        .list()
        .into_iter()
        .map(|d| {
            let doc = serde_json::to_value(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(DeviceRow {
                id: d.id.to_string(),
                device_type: text("type").unwrap_or_default(),
                status: text("status").unwrap_or_default(),
                nickname: d.nickname.clone(),
                created_at: d.created_at,
                updated_at: d.updated_at,
                doc: doc.to_string(),
            })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Commit {
        environment: env,
        user,
        base_revision,
        events: event_rows,
        snapshot: json_text(devices)?,
        revision: devices.revision(),
        devices: rows,
        activities,
        now,
    })
}

/// PingOne's audit activity for one event. Its id is the event's id ([`Event::id`], a UUIDv5
/// of environment, user and revision): a command decided again after a conflict cannot record
/// it twice.
fn activity(env: &str, user: &str, event: &Event, transaction: &TransactionId) -> ActivityRow {
    let id = event.id().to_string();
    let action_type = event.audit_type().to_owned();
    let device_id = event.device_id().map(|d| d.to_string());
    let at = event
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut resources = vec![json!({"type": "USER", "id": user, "environment": {"id": env}})];
    if let Some(device) = &device_id {
        resources.push(json!({"type": "DEVICE", "id": device, "environment": {"id": env}}));
    }
    let doc = json!({
        "id": id,
        "recordedAt": at,
        "createdAt": at,
        "correlationId": transaction.0,
        "action": {"type": action_type, "description": action_type},
        "actors": {"user": {"id": user, "type": "USER", "environment": {"id": env}}},
        "resources": resources,
        "result": {"status": "SUCCESS", "description": format!("{action_type} for user {user}")},
    });
    ActivityRow {
        id,
        recorded_at: event.at,
        action_type,
        result_status: "SUCCESS".into(),
        device_id,
        correlation_id: Some(transaction.0.clone()),
        doc: doc.to_string(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
    expand: Option<String>,
}

/// A FIDO2 device created with creation options and not activated yet: it is activated with the
/// attestation of its registration.
fn awaits_registration(d: &Device) -> bool {
    d.status == DeviceStatus::ActivationRequired
        && matches!(&d.details, DeviceDetails::Fido2(f) if f.public_key_credential_creation_options.is_some())
}

/// The request's `If-Match` header (a non-UTF-8 value can match nothing).
fn precondition(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
}

/// Adds the `ETag` of the user's revision.
fn with_etag(mut response: Response, devices: &UserDevices) -> Response {
    if let Ok(value) = etag(devices.revision()).parse() {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn ids(env: &str, user: &str) -> Result<(EnvironmentId, UserId), Failure> {
    Ok((path_id(env, "environment")?, path_id(user, "user")?))
}

fn device_body(
    state: &Shared,
    devices: &UserDevices,
    id: DeviceId,
    now: DateTime<Utc>,
) -> Result<Value, Failure> {
    devices
        .device_at(&id, now)
        .map(|d| render_device(&d, &state.api_base))
        .ok_or_else(|| {
            Failure(ApiError::not_found(format!(
                "Unable to find device with id '{id}'"
            )))
        })
}

async fn list(
    State(state): State<Shared>,
    Path((env, user)): Path<(String, String)>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    let (env, user) = ids(&env, &user)?;
    let Query(query) =
        query.map_err(|e| Failure(ApiError::invalid_request(format!("Invalid query: {e}"))))?;
    let mut expand_order = false;
    for value in query
        .expand
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|v| !v.is_empty())
    {
        match value.trim() {
            "order" => expand_order = true,
            other => {
                return Err(Failure(ApiError::invalid_request(format!(
                    "Unsupported expand value '{other}'; supported: order"
                ))));
            }
        }
    }
    let filter = match query.filter.as_deref() {
        Some(text) => Some(DEVICES.parse(text)?.compile()),
        None => None,
    };
    let devices = current(&state, env, user).await?;
    let now = Utc::now();
    let body = match &filter {
        Some(filter) => {
            let body =
                devices.render_list(&state.api_base, expand_order, now, |d| filter.matches(d));
            Bytes::from(body.to_string())
        }
        // The unfiltered list: rendered once per revision while nothing in it changes with time.
        None => devices.list_body(expand_order, now, || {
            let body = devices.render_list(&state.api_base, expand_order, now, |_| true);
            Bytes::from(body.to_string())
        }),
    };
    Ok(with_etag(json_bytes(StatusCode::OK, body), &devices))
}

/// What a command request addresses (the path's device id as given) and carries.
enum CommandRequest {
    /// `POST …/devices`: create, reorder, remove order.
    Collection(Body),
    /// `POST …/devices/{id}`: activate, resend, lock/unlock, block/unblock.
    Device(String, Body),
    /// `PUT …/devices/{id}/nickname`.
    Nickname(String, Body),
    /// `DELETE …/devices/{id}`.
    Delete(String),
}

/// What a command request answers once committed.
enum Answer {
    /// 201 with the new device and its `Location`.
    Created(DeviceId),
    /// 200 with the device.
    Device(DeviceId),
    /// 200 with the list and its order.
    List,
    /// 204.
    NoContent,
}

/// Every device command request: the path ids (a malformed one is a 404), the body and its
/// media type ([`Command::from_request`]), the secrets of a new device, the commit
/// ([`execute`]: conflict retries, `If-Match`), a wrong activation passcode's error once it
/// is recorded, then the answer with the user's new `ETag`:
///
/// - create: 201, the device (`test.otp` for a test-mode device), `Location`;
/// - reorder / remove order: 200, the list with the order (as `GET …/devices?expand=order`);
/// - a device command or nickname: 200, the device; delete: 204.
async fn device_command(
    state: &Shared,
    transaction: &TransactionId,
    headers: &HeaderMap,
    (env, user): (String, String),
    request: CommandRequest,
) -> Result<Response, Failure> {
    let (env, user) = ids(&env, &user)?;
    let device = |id: &str| path_id::<DeviceId>(id, "device");
    let from_body = async |target: RequestTarget, body: Body| -> Result<Command, Failure> {
        let body = read_body(body).await?;
        Ok(Command::from_request(content_type(headers), target, &body)?)
    };
    let (mut command, answer) = match request {
        CommandRequest::Collection(body) => {
            let new_id = DeviceId::from_uuid(uuid::Uuid::new_v4());
            let command = from_body(RequestTarget::Devices { new_id }, body).await?;
            let answer = match command {
                Command::Create { .. } => Answer::Created(new_id),
                _ => Answer::List,
            };
            (command, answer)
        }
        CommandRequest::Device(id, body) => {
            let id = device(&id)?;
            let body = read_body(body).await?;
            let mut command =
                Command::from_request(content_type(headers), RequestTarget::Device(id), &body)?;
            if matches!(command, Command::Activate { otp: None, .. }) {
                // A FIDO2 device waiting for its registration: `{"origin", "attestation"}`
                // verified against the creation options it was created with (400 naming the
                // failed check; the device stays ACTIVATION_REQUIRED).
                let loaded = current(state, env, user).await?;
                if let Some(d) = loaded.device(&id).filter(|d| awaits_registration(d)) {
                    command = Command::from_attestation(d, &body)?;
                }
            }
            (command, Answer::Device(id))
        }
        CommandRequest::Nickname(id, body) => {
            let id = device(&id)?;
            let command = from_body(RequestTarget::Nickname(id), body).await?;
            (command, Answer::Device(id))
        }
        CommandRequest::Delete(id) => (Command::Delete { id: device(&id)? }, Answer::NoContent),
    };
    // A new device's TOTP secret or activation passcode, drawn from the OS-seeded CSPRNG under
    // the environment's default policy; the authenticator app shows the user's id as the
    // account.
    let mut test_otp = None;
    if let Command::Create { device, .. } = &mut command {
        // A FIDO2 device is registered for this server's relying party unless the body names one.
        if device.device_type == DeviceType::Fido2
            && device.rp.is_none()
            && is_valid_rp_id(&state.rp_id)
        {
            device.rp = Some(RelyingParty {
                id: Some(state.rp_id.clone()),
                name: Some(state.rp_id.clone()),
                ..Default::default()
            });
        }
    }
    if let Command::Create { device, .. } = &command {
        let test_mode = device.test_mode == Some(true);
        let policy = crate::policies::default_policy(state, &env).await?;
        let passcode = command
            .provision(&policy, &user.to_string(), &mut rand::rng(), Utc::now())
            .map_err(ApiError::from)?;
        // No SMS/email is sent: a test-mode device shows its activation passcode as `test.otp`.
        test_otp = passcode.and_then(|p| p.test_otp(test_mode));
    }
    let (devices, events, now) = execute(
        state,
        env,
        user,
        command,
        precondition(headers),
        transaction,
    )
    .await?;
    // A wrong activation passcode was recorded (committed above): answer with its error.
    if let Some(error) = events.iter().find_map(Event::activation_error) {
        return Err(error.into());
    }
    let response = match answer {
        Answer::Created(id) => {
            let mut body = device_body(state, &devices, id, now)?;
            if let (Some(test), Some(object)) = (test_otp, body.as_object_mut()) {
                object.insert("test".into(), json!({ "otp": test.otp }));
            }
            let mut response = json_response(StatusCode::CREATED, &body);
            if let Ok(location) = state.api_base.device(&env, &user, &id).parse() {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Answer::Device(id) => {
            json_response(StatusCode::OK, &device_body(state, &devices, id, now)?)
        }
        Answer::List => {
            // Reorder / remove order: the list with the order, as GET …/devices?expand=order.
            let body = devices.render_list(&state.api_base, true, now, |_| true);
            json_response(StatusCode::OK, &body)
        }
        Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
    };
    Ok(with_etag(response, &devices))
}

async fn post_devices(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path(path): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let request = CommandRequest::Collection(body);
    device_command(&state, &transaction, &headers, path, request).await
}

async fn get_device(
    State(state): State<Shared>,
    Path((env, user, id)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    let (env, user) = ids(&env, &user)?;
    let id: DeviceId = path_id(&id, "device")?;
    let devices = current(&state, env, user).await?;
    let body = device_body(&state, &devices, id, Utc::now())?;
    Ok(with_etag(json_response(StatusCode::OK, &body), &devices))
}

async fn delete_device(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path((env, user, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let request = CommandRequest::Delete(id);
    device_command(&state, &transaction, &headers, (env, user), request).await
}

async fn post_device(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path((env, user, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let request = CommandRequest::Device(id, body);
    device_command(&state, &transaction, &headers, (env, user), request).await
}

async fn put_nickname(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path((env, user, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let request = CommandRequest::Nickname(id, body);
    device_command(&state, &transaction, &headers, (env, user), request).await
}
