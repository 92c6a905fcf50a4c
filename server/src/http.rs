//! The HTTP layer shared by every resource: state, PingOne's error body, bearer-token access,
//! the request body limit, `X-Ping-External-Transaction-ID`, `/health`, and the router.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfa_devices::api_base::ApiBase;
use mfa_devices::device::EnvironmentId;
use mfa_devices::error::{ApiError, DetailCode, ErrorCode, ErrorDetail};
use mfa_devices::user_devices::DeviceSettings;
use serde_json::json;

use crate::cache::AggregateCache;
use crate::store::{Store, StoreError};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// PingOne's transaction id header, echoed on every response (generated when absent).
pub const TRANSACTION_ID: HeaderName = HeaderName::from_static("x-ping-external-transaction-id");
/// How often a command decided on a stale snapshot is reloaded and decided again before the
/// server answers 409.
pub const MAX_ATTEMPTS: u32 = 8;

/// What every handler shares.
pub struct AppState {
    /// The database.
    pub store: Arc<dyn Store>,
    /// Bearer token → the environment it grants.
    pub tokens: HashMap<String, EnvironmentId>,
    /// `--base-url` + `/v1`, for HAL links.
    pub api_base: ApiBase,
    /// `--base-url`, for the auth host's links (`/{env}/deviceAuthentications/…`).
    pub base_url: String,
    /// The WebAuthn relying party id of FIDO2 devices created without `rp`: `--rp-id`, else
    /// the host of `--base-url` (see [`rp_id_of`]).
    pub rp_id: String,
    /// Commands decided again after a conflicting concurrent commit.
    pub conflicts_retried: AtomicU64,
    /// Conflicts answered to the client (409 after [`MAX_ATTEMPTS`]).
    pub conflicts_answered: AtomicU64,
    /// Parsed user aggregates by revision (see [`crate::cache`]).
    pub aggregates: AggregateCache,
    /// Environments whose device settings (`maxAllowedDevices`) differ from PingOne's default.
    device_settings: HashMap<EnvironmentId, DeviceSettings>,
    /// Writes of one user are serialised within this process (striped by user), so that only
    /// writers in other processes can conflict.
    user_locks: Vec<tokio::sync::Mutex<()>>,
    /// Actions on one device authentication are serialised within this process.
    flow_locks: Vec<tokio::sync::Mutex<()>>,
    /// The key of the CREST `_pagedResultsCookie`s, derived from the tokens (see
    /// [`crate::crest::cookie_key`]).
    pub crest_cookie_key: mfa_devices::crest::CookieKey,
}

/// Shared state handle.
pub type Shared = Arc<AppState>;

impl AppState {
    /// State over `store` with `tokens` (token → environment) and the public `base_url`.
    pub fn new(
        store: Arc<dyn Store>,
        tokens: HashMap<String, EnvironmentId>,
        base_url: &str,
    ) -> Self {
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self {
            crest_cookie_key: crate::crest::cookie_key(&tokens),
            store,
            tokens,
            api_base: ApiBase::new(format!("{base_url}/v1")),
            rp_id: rp_id_of(&base_url),
            base_url,
            conflicts_retried: AtomicU64::new(0),
            conflicts_answered: AtomicU64::new(0),
            aggregates: AggregateCache::new(crate::cache::DEFAULT_CAPACITY),
            device_settings: HashMap::new(),
            user_locks: (0..USER_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            flow_locks: (0..USER_LOCK_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// The same state with `settings` for the users of `env` (the rest keep PingOne's default,
    /// `maxAllowedDevices` 5). Environment configuration: user snapshots do not carry it.
    #[must_use]
    pub fn with_device_settings(mut self, env: EnvironmentId, settings: DeviceSettings) -> Self {
        self.device_settings.insert(env, settings);
        self
    }

    /// The same state with another WebAuthn relying party id (a lower-case domain name, e.g.
    /// the site that embeds the ceremonies; browsers only let pages of that domain or its
    /// subdomains use it).
    #[must_use]
    pub fn with_rp_id(mut self, rp_id: impl Into<String>) -> Self {
        self.rp_id = rp_id.into();
        self
    }

    /// The device settings of `env`'s users.
    pub fn device_settings(&self, env: &EnvironmentId) -> DeviceSettings {
        self.device_settings.get(env).copied().unwrap_or_default()
    }

    /// The in-process write lock of a user's stripe.
    pub async fn lock_user(
        &self,
        env: &EnvironmentId,
        user: &impl std::hash::Hash,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        self.user_locks[stripe(env, user, self.user_locks.len())]
            .lock()
            .await
    }

    /// The in-process lock of a device authentication's stripe (separate from the user locks:
    /// a flow action executes user commands while holding it).
    pub async fn lock_flow(
        &self,
        env: &EnvironmentId,
        flow: &impl std::hash::Hash,
    ) -> tokio::sync::MutexGuard<'_, ()> {
        self.flow_locks[stripe(env, flow, self.flow_locks.len())]
            .lock()
            .await
    }
}

/// The host of a base URL, lower-cased, without scheme, user, port or path
/// (`http://Auth.Example.com:8080/x` → `auth.example.com`): the default WebAuthn rp id.
pub fn rp_id_of(base_url: &str) -> String {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.to_ascii_lowercase()
}

fn stripe(env: &EnvironmentId, key: &impl std::hash::Hash, stripes: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    env.hash(&mut hasher);
    key.hash(&mut hasher);
    (hasher.finish() % stripes.max(1) as u64) as usize
}

/// Number of in-process user write locks.
const USER_LOCK_STRIPES: usize = 256;

/// The request's transaction id (request extension).
#[derive(Debug, Clone)]
pub struct TransactionId(pub String);

/// A refused request: PingOne's error body with its status.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure(match e {
            StoreError::Conflict => ApiError::conflict(
                "The resource was changed by another request at the same time; retry the request",
            ),
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                ApiError::new(
                    ErrorCode::UnexpectedError,
                    "The service is temporarily unavailable; retry the request",
                )
                .with_status(503)
            }
            StoreError::Corrupt(why) => {
                tracing::error!(error = %why, "stored data unreadable");
                ApiError::new(ErrorCode::UnexpectedError, "Unexpected server error")
            }
        })
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut error = self.0;
        if error.id.is_none() {
            error = error.with_id(uuid::Uuid::new_v4().to_string());
        }
        // The crate's `http` integration: status, `Content-Type` and PingOne's body.
        error.into_response().map(Body::from)
    }
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    json_bytes(status, Bytes::from(body.to_string()))
}

/// A JSON response with `status` and the JSON text `body`.
pub fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Reads a request body of at most [`MAX_BODY_BYTES`] (413 beyond).
pub async fn read_body(body: Body) -> Result<Bytes, Failure> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Failure(
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("The request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
                )
                .with_status(413),
            )
        })
}

/// The request's `Content-Type` (empty when absent).
pub fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Parses a path id (`DeviceId`, `UserId`, …); a malformed one is a 404 like any unknown id.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, Failure> {
    raw.parse().map_err(|_| {
        Failure(ApiError::not_found(format!(
            "Unable to find {what} with id '{raw}'"
        )))
    })
}

fn access_failed(status: u16, detail: DetailCode, message: &str, crest: bool) -> Response {
    if crest {
        // Advanced Identity Cloud's routes answer with AIC's body.
        let message = if status == 401 {
            "Access Denied"
        } else {
            "The token does not grant access to this realm"
        };
        return crate::crest::CrestFailure::new(status, message).into_response();
    }
    Failure(
        ApiError::new(ErrorCode::AccessFailed, message)
            .with_detail(ErrorDetail::new(detail, "Authorization", message))
            .with_status(status),
    )
    .into_response()
}

/// The environment a path addresses: `/v1/environments/{env}/…`, `/{env}/deviceAuthentications…`
/// or the realm of `/am/json/realms/root/realms/{env}/…`.
fn path_environment(path: &str) -> Option<&str> {
    if crate::crest::is_crest_path(path) {
        return crate::crest::path_environment(path);
    }
    let mut segments = path.trim_start_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("v1"), Some("environments"), Some(env)) => Some(env),
        (Some(env), Some("deviceAuthentications"), _) => Some(env),
        _ => None,
    }
}

/// Bearer-token access: no or unknown token → 401, a token of another environment → 403.
async fn authorize(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let crest = crate::crest::is_crest_path(request.uri().path());
    let Some(granted) = token.and_then(|t| state.tokens.get(t)) else {
        return access_failed(
            401,
            DetailCode::InvalidToken,
            "The request could not be completed. You do not have access to this resource.",
            crest,
        );
    };
    let addressed = path_environment(request.uri().path());
    if addressed.is_some_and(|env| env != granted.to_string()) {
        return access_failed(
            403,
            DetailCode::InsufficientPermissions,
            "You do not have permissions or are not licensed to make this request.",
            crest,
        );
    }
    next.run(request).await
}

/// Echoes (or generates) `X-Ping-External-Transaction-ID` and logs the request.
async fn transaction_id(mut request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(&TRANSACTION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 256 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request.extensions_mut().insert(TransactionId(id.clone()));
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let crest = crate::crest::is_crest_path(&path);
    let mut response = in_pingone_body(next.run(request).await, crest).await;
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::warn!(%method, %path, status, transaction_id = %id, "request failed");
    } else {
        tracing::debug!(%method, %path, status, transaction_id = %id, "request");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(TRANSACTION_ID, value);
    }
    response
}

/// Error responses the framework itself makes (405 for a method a path does not take, 400 for
/// a path segment that is not UTF-8 once decoded) carry PingOne's error body like every other
/// error (AIC's body on the CREST routes, `crest`); their other headers are kept.
async fn in_pingone_body(response: Response, crest: bool) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    if crest {
        let message = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                "The method is not allowed on this resource; the Allow header lists the allowed ones"
                    .to_owned()
            }
            _ if text.trim().is_empty() => "The request is invalid".to_owned(),
            _ => text.trim().to_owned(),
        };
        let mut replaced =
            crate::crest::CrestFailure::new(status.as_u16(), message).into_response();
        for (name, value) in &parts.headers {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                replaced.headers_mut().insert(name, value.clone());
            }
        }
        return replaced;
    }
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::invalid_request(
            "The method is not allowed on this resource; the Allow header lists the allowed ones",
        ),
        _ if text.trim().is_empty() => ApiError::invalid_request("The request is invalid"),
        _ => ApiError::invalid_request(text.trim().to_owned()),
    }
    .with_status(status.as_u16());
    let mut replaced = Failure(error).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

async fn health(State(state): State<Shared>) -> Response {
    let db = state.store.health().await;
    let body = json!({
        "status": if db.is_ok() { "UP" } else { "DOWN" },
        "database": state.store.kind(),
        "conflictsRetried": state.conflicts_retried.load(Ordering::Relaxed),
        "conflictsAnswered": state.conflicts_answered.load(Ordering::Relaxed),
    });
    let status = if db.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &body)
}

/// The server's OpenAPI document (`server/openapi.json`, checked against the router by the
/// `openapi` tests).
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> Response {
    let mut response = (StatusCode::OK, OPENAPI).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if crate::crest::is_crest_path(uri.path()) {
        return crate::crest::CrestFailure::new(404, "The requested resource was not found.")
            .into_response();
    }
    Failure(ApiError::not_found("The requested resource was not found.")).into_response()
}

/// The whole service.
pub fn router(state: Shared) -> Router {
    let protected = Router::new()
        .merge(crate::devices::routes())
        .merge(crate::policies::routes())
        .merge(crate::authentications::routes())
        .merge(crate::activities::routes())
        .merge(crate::crest::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            authorize,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(protected)
        .layer(middleware::from_fn(transaction_id))
        .with_state(state)
}
