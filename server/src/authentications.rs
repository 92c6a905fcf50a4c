//! `/{envID}/deviceAuthentications[/{id}]` (PingOne's auth host paths): every call into the
//! crate's authentication flow lives here. A flow is kept between requests in its stored form
//! (`DeviceAuthentication::to_stored`), versioned for compare-and-swap; what the flow records
//! on the user's devices (passcode failures and successes) is executed on the user's
//! aggregate through [`devices::execute`], then the flow is synced with the result.
//!
//! Passcodes for SMS/EMAIL/VOICE devices are drawn from the operating system's CSPRNG; TOTP
//! codes are verified against the secret stored with the device (a code accepted once is
//! refused afterwards: its time step is recorded on the device). This
//! server sends no SMS or email: a test-mode device (`testMode: true`) gets its passcode in the
//! flow body as `test.otp` (PingOne's behaviour), for other devices the passcode is only logged
//! as issued (never its value). FIDO2 devices get a WebAuthn challenge when the flow reaches
//! ASSERTION_REQUIRED (`publicKeyCredentialRequestOptions` in the body), and `assertion.check`
//! verifies the assertion against it and the credential registered at activation; the new
//! signature count is recorded on the device.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::{
    Action, AuthenticationStatus, CreateDeviceAuthentication, DeviceAuthentication, FlowError,
    OtpSource, Outcome, StoredFlow,
};
use mfa_devices::device::EnvironmentId;
use mfa_devices::error::ApiError;
use mfa_devices::user_devices::etag;
use uuid::Uuid;

use crate::devices;
use crate::http::{
    Failure, Shared, TransactionId, content_type, json_response, path_id, read_body,
};
use crate::policies;
use crate::store::{FlowRow, StoreError};

/// The device authentication routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/{env}/deviceAuthentications", post(create))
        .route("/{env}/deviceAuthentications/{id}", get(read).post(act))
}

fn auth_base(state: &Shared) -> ApiBase {
    ApiBase::new(state.base_url.clone())
}

/// Issues the passcode when the flow waits for one the server sends, and the WebAuthn
/// challenge (`publicKeyCredentialRequestOptions`) when it waits for an assertion.
fn issue_if_needed(flow: &mut DeviceAuthentication, now: DateTime<Utc>) -> Result<(), Failure> {
    if flow.status() == AuthenticationStatus::OtpRequired
        && flow.otp_source() == Some(OtpSource::Sent)
    {
        // The OS-seeded CSPRNG; the crate sizes the draw.
        let issued = flow
            .issue_otp(&mut rand::rng(), now)
            .map_err(ApiError::from)?;
        tracing::info!(device = %issued.device, test_mode = issued.test_mode, "passcode issued");
    }
    if flow.status() == AuthenticationStatus::AssertionRequired {
        match flow.issue_assertion(&mut rand::rng(), now) {
            Ok(_) => tracing::info!(device = ?flow.selected_device(), "assertion challenge issued"),
            // A FIDO2 device activated without a registration this server verified: its
            // assertions cannot be checked; the user can select another device.
            Err(FlowError::SecretNotHeld(device)) => {
                tracing::warn!(%device, "FIDO2 device without a registered credential");
            }
            Err(e) => return Err(ApiError::from(e).into()),
        }
    }
    Ok(())
}

/// Executes an outcome's records on the user's devices (each its own transaction, the first
/// under the revision the check decided on), then mirrors the result in the flow.
async fn record_outcome(
    state: &Shared,
    env: EnvironmentId,
    flow: &mut DeviceAuthentication,
    outcome: Outcome,
    precondition: String,
    transaction: &TransactionId,
    now: DateTime<Utc>,
) -> Result<Result<(), ApiError>, Failure> {
    let user = flow.user_id();
    let mut precondition = Some(precondition);
    for record in &outcome.records {
        let (after, _, _) = devices::execute(
            state,
            env,
            user,
            record.to_command(),
            precondition.as_deref(),
            transaction,
        )
        .await?;
        precondition = Some(etag(after.revision()));
    }
    if !outcome.records.is_empty() {
        let current = devices::current(state, env, user).await?;
        flow.sync_with(&current, now);
    }
    Ok(outcome.result.map_err(ApiError::from))
}

fn row(
    env: &EnvironmentId,
    flow: &DeviceAuthentication,
    version: u64,
    now: DateTime<Utc>,
) -> Result<FlowRow, Failure> {
    // The flow's typed, versioned stored form (no passcode in clear).
    let stored = serde_json::to_string(&flow.to_stored())
        .map_err(|e| StoreError::Corrupt(format!("device authentication {}: {e}", flow.id())))?;
    Ok(FlowRow {
        environment: env.to_string(),
        id: flow.id().to_string(),
        user: flow.user_id().to_string(),
        version,
        status: flow.status().as_str().to_owned(),
        flow: stored,
        now,
    })
}

async fn create(
    State(state): State<Shared>,
    Path(env): Path<String>,
    body: Body,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let body = read_body(body).await?;
    // The crate's reader: every problem at once, each naming its property (400).
    let request = CreateDeviceAuthentication::from_json(&body).map_err(ApiError::from)?;
    let policy = match request.policy {
        Some(p) => policies::policy(&state, &env, p.id).await?,
        None => policies::default_policy(&state, &env).await?,
    };
    let user_devices = devices::current(&state, env, request.user.id).await?;
    let now = Utc::now();
    let mut flow =
        DeviceAuthentication::start_from(&request, &user_devices, &policy, Uuid::new_v4(), now)
            .map_err(ApiError::from)?;
    issue_if_needed(&mut flow, now)?;
    state.store.insert_flow(row(&env, &flow, 1, now)?).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &flow.to_json(&auth_base(&state)),
    ))
}

async fn load(
    state: &Shared,
    env: &EnvironmentId,
    id: &str,
) -> Result<(u64, DeviceAuthentication), Failure> {
    let not_found = || {
        Failure(ApiError::not_found(format!(
            "Unable to find device authentication with id '{id}'"
        )))
    };
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let (version, _user, stored) = state
        .store
        .load_flow(&env.to_string(), &id.to_string())
        .await?
        .ok_or_else(not_found)?;
    let stored: StoredFlow = serde_json::from_str(&stored)
        .map_err(|e| StoreError::Corrupt(format!("device authentication {id}: {e}")))?;
    let flow = DeviceAuthentication::from_stored(stored)
        .map_err(|e| StoreError::Corrupt(format!("device authentication {id}: {e}")))?;
    Ok((version, flow))
}

async fn read(
    State(state): State<Shared>,
    Path((env, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let (_, flow) = load(&state, &env, &id).await?;
    Ok(json_response(
        StatusCode::OK,
        &flow.to_json(&auth_base(&state)),
    ))
}

async fn act(
    State(state): State<Shared>,
    Extension(transaction): Extension<TransactionId>,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let body = read_body(body).await?;
    let action = Action::from_request(content_type(&headers), &body)?;
    // One action per flow at a time in this process; other processes are caught by the
    // version compare-and-swap.
    let _serialised = state.lock_flow(&env, &id).await;
    let (version, mut flow) = load(&state, &env, &id).await?;
    let user = flow.user_id();
    let now = Utc::now();
    // Decide on the user's devices as they are now (a device blocked, deleted or locked
    // meanwhile; failures counted by another flow): a loaded flow refuses checks until synced.
    let loaded = devices::current(&state, env, user).await?;
    flow.sync_with(&loaded, now);
    // The records are written only if nobody changed the devices since: the count that
    // decided is the one they are recorded on (a lost race answers 412; the client retries).
    let precondition = etag(loaded.revision());
    let answer: Result<(), ApiError> = match action {
        Action::Select(request) => {
            flow.select(request, now).map_err(ApiError::from)?;
            issue_if_needed(&mut flow, now)?;
            Ok(())
        }
        Action::CheckOtp(check) => {
            // A sent passcode is checked against the flow's sealed copy; an authenticator's
            // code (TOTP) against the secret stored with the device, with replay protection
            // (the accepted time step is recorded on the device below).
            let outcome = if flow.otp_source() == Some(OtpSource::Authenticator) {
                flow.check_authenticator_otp(&check.otp, &loaded, now)
            } else {
                flow.check_otp(&check.otp, now)
            }
            .map_err(ApiError::from)?;
            // Record on the user's devices first (each its own transaction), then mirror.
            record_outcome(
                &state,
                env,
                &mut flow,
                outcome,
                precondition,
                &transaction,
                now,
            )
            .await?
        }
        Action::CheckAssertion(check) => {
            // Verified against the challenge the flow issued and the credential registered
            // with the device; the new signature count is recorded on the device (a replayed
            // assertion is refused), a refusal counts like a wrong passcode.
            let outcome = flow
                .check_assertion_webauthn(&check, &loaded, now)
                .map_err(ApiError::from)?;
            record_outcome(
                &state,
                env,
                &mut flow,
                outcome,
                precondition,
                &transaction,
                now,
            )
            .await?
        }
        Action::CancelPush(request) => {
            flow.cancel_push(request, now).map_err(ApiError::from)?;
            Ok(())
        }
        // `Action` is non-exhaustive: an action of a newer crate this server does not route.
        _ => {
            return Err(Failure(ApiError::invalid_request(
                "This action is not supported by this server",
            )));
        }
    };
    match state
        .store
        .update_flow(row(&env, &flow, version + 1, now)?)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(Failure(ApiError::conflict(
                "The device authentication was changed by another request at the same time",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    match answer {
        Ok(()) => Ok(json_response(
            StatusCode::OK,
            &flow.to_json(&auth_base(&state)),
        )),
        Err(e) => Err(Failure(e)),
    }
}
