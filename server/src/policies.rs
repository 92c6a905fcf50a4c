//! `/v1/environments/{envID}/deviceAuthenticationPolicies`: every call into the crate's policy
//! module lives here.
//!
//! The environment's default policy is the stored policy marked `default`, else a built-in
//! one with PingOne's documented defaults (id: a UUIDv5 of the environment id, so it is stable
//! across restarts and instances). Updating the built-in policy stores it; the default policy
//! cannot be deleted.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use mfa_devices::device::EnvironmentId;
use mfa_devices::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE};
use mfa_devices::policy::{DeviceAuthenticationPolicy, ResourceRef};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::http::{Failure, Shared, json_response, path_id, read_body};
use crate::store::{PolicyRow, StoreError};

/// The name of the built-in default policy.
pub const BUILT_IN_NAME: &str = "Default MFA Policy";

/// The policies routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/v1/environments/{env}/deviceAuthenticationPolicies",
            get(list).post(create),
        )
        .route(
            "/v1/environments/{env}/deviceAuthenticationPolicies/{id}",
            get(read).put(update).delete(remove),
        )
}

/// The built-in default policy's id in `env`.
pub fn built_in_id(env: &EnvironmentId) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("mfa-devices:default-policy/{env}").as_bytes(),
    )
}

/// The built-in default policy of `env` (PingOne's documented defaults).
pub fn built_in(env: &EnvironmentId) -> DeviceAuthenticationPolicy {
    let mut policy = DeviceAuthenticationPolicy {
        id: Some(built_in_id(env)),
        name: Some(BUILT_IN_NAME.into()),
        default: Some(true),
        ..DeviceAuthenticationPolicy::default()
    };
    policy.environment = Some(resource_ref(env));
    policy
}

fn resource_ref(env: &EnvironmentId) -> ResourceRef {
    ResourceRef {
        id: *env.as_uuid(),
        extra: serde_json::Map::new(),
    }
}

fn parse(doc: &str) -> Result<DeviceAuthenticationPolicy, Failure> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("stored policy: {e}")).into())
}

/// The environment's policies: the stored ones, plus the built-in default when none is the
/// default.
pub async fn policies(
    state: &Shared,
    env: &EnvironmentId,
) -> Result<Vec<DeviceAuthenticationPolicy>, Failure> {
    let rows = state.store.list_policies(&env.to_string()).await?;
    let mut out = Vec::with_capacity(rows.len() + 1);
    if !rows.iter().any(|r| r.is_default) {
        out.push(built_in(env));
    }
    for row in rows {
        out.push(parse(&row.doc)?);
    }
    Ok(out)
}

/// One policy by id (the built-in default included while it is the default).
pub async fn policy(
    state: &Shared,
    env: &EnvironmentId,
    id: Uuid,
) -> Result<DeviceAuthenticationPolicy, Failure> {
    policies(state, env)
        .await?
        .into_iter()
        .find(|p| p.id == Some(id))
        .ok_or_else(|| {
            Failure(ApiError::not_found(format!(
                "Unable to find device authentication policy with id '{id}'"
            )))
        })
}

/// The environment's default policy.
pub async fn default_policy(
    state: &Shared,
    env: &EnvironmentId,
) -> Result<DeviceAuthenticationPolicy, Failure> {
    Ok(policies(state, env)
        .await?
        .into_iter()
        .find(|p| p.default == Some(true))
        .unwrap_or_else(|| built_in(env)))
}

fn href(state: &Shared, env: &EnvironmentId, id: Option<Uuid>) -> String {
    let base = format!(
        "{}/deviceAuthenticationPolicies",
        state.api_base.environment(env)
    );
    match id {
        Some(id) => format!("{base}/{id}"),
        None => base,
    }
}

fn render(state: &Shared, env: &EnvironmentId, policy: &DeviceAuthenticationPolicy) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(
        "_links".into(),
        json!({"self": {"href": href(state, env, policy.id)}, "environment": {"href": state.api_base.environment(env)}}),
    );
    if let Ok(Value::Object(fields)) = serde_json::to_value(policy) {
        body.extend(fields);
    }
    Value::Object(body)
}

/// Parses and validates a POST/PUT body (`_links` and read-only properties are ignored).
fn from_body(body: &[u8]) -> Result<DeviceAuthenticationPolicy, Failure> {
    let mut policy: DeviceAuthenticationPolicy = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::InvalidValue,
                "body",
                format!("the request body is not a valid policy: {e}"),
            )],
        )
    })?;
    policy.extra.remove("_links");
    // PingOne requires a name on create and update (the crate's type also reads responses
    // and partial documents, so it leaves `name` optional).
    if policy.name.is_none() {
        return Err(Failure(ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::RequiredValue,
                "name",
                "name is required",
            )],
        )));
    }
    policy.validate()?;
    Ok(policy)
}

async fn store(
    state: &Shared,
    env: &EnvironmentId,
    policy: &DeviceAuthenticationPolicy,
) -> Result<(), Failure> {
    let id = policy.id.map(|id| id.to_string()).unwrap_or_default();
    let doc = serde_json::to_string(policy).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let row = PolicyRow {
        id,
        is_default: policy.default == Some(true),
        doc,
    };
    state
        .store
        .put_policy(&env.to_string(), row, Utc::now())
        .await?;
    Ok(())
}

async fn list(State(state): State<Shared>, Path(env): Path<String>) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let items: Vec<Value> = policies(&state, &env)
        .await?
        .iter()
        .map(|p| render(&state, &env, p))
        .collect();
    let body = json!({
        "_links": {"self": {"href": href(&state, &env, None)}},
        "_embedded": {"deviceAuthenticationPolicies": items},
        "count": items.len(),
        "size": items.len(),
    });
    Ok(json_response(StatusCode::OK, &body))
}

async fn create(
    State(state): State<Shared>,
    Path(env): Path<String>,
    body: Body,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let mut policy = from_body(&read_body(body).await?)?;
    let now = Utc::now();
    policy.id = Some(Uuid::new_v4());
    policy.environment = Some(resource_ref(&env));
    policy.created_at = Some(now);
    policy.updated_at = Some(now);
    policy.default = Some(policy.default.unwrap_or(false));
    store(&state, &env, &policy).await?;
    let mut response = json_response(StatusCode::CREATED, &render(&state, &env, &policy));
    if let Ok(location) = href(&state, &env, policy.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn read(
    State(state): State<Shared>,
    Path((env, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let id: Uuid = path_id(&id, "device authentication policy")?;
    let policy = policy(&state, &env, id).await?;
    Ok(json_response(
        StatusCode::OK,
        &render(&state, &env, &policy),
    ))
}

async fn update(
    State(state): State<Shared>,
    Path((env, id)): Path<(String, String)>,
    body: Body,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let id: Uuid = path_id(&id, "device authentication policy")?;
    let current = policy(&state, &env, id).await?;
    let mut policy = from_body(&read_body(body).await?)?;
    let now = Utc::now();
    policy.id = Some(id);
    policy.environment = Some(resource_ref(&env));
    policy.created_at = current.created_at.or(Some(now));
    policy.updated_at = Some(now);
    // The default stays the default (another policy becomes default by saying so).
    policy.default = Some(current.default == Some(true) || policy.default == Some(true));
    store(&state, &env, &policy).await?;
    Ok(json_response(
        StatusCode::OK,
        &render(&state, &env, &policy),
    ))
}

async fn remove(
    State(state): State<Shared>,
    Path((env, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let id: Uuid = path_id(&id, "device authentication policy")?;
    let current = policy(&state, &env, id).await?;
    if current.default == Some(true) {
        return Err(Failure(ApiError::invalid_request(
            "The default device authentication policy cannot be deleted",
        )));
    }
    state
        .store
        .delete_policy(&env.to_string(), &id.to_string())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
