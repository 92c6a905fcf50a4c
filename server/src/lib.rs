//! `mfa-devices-server`: the PingOne MFA devices API as a runnable service, embedding the
//! `mfa-devices` crate, over SQLite (default) or PostgreSQL (several instances on one database).
//!
//! The binary (`src/main.rs`) parses the command line and calls [`serve`]; tests call [`serve`]
//! on a listener bound to `127.0.0.1:0`.
#![forbid(unsafe_code)]

pub mod activities;
pub mod authentications;
pub mod cache;
pub mod crest;
pub mod devices;
pub mod http;
pub mod policies;
pub mod store;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use mfa_devices::device::EnvironmentId;
use tokio::net::TcpListener;

pub use http::{AppState, router};
pub use store::{Store, StoreError, open};

/// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and returns. Applies the schema first (idempotent).
pub async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    tokens: HashMap<String, EnvironmentId>,
    base_url: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_state(listener, AppState::new(store, tokens, &base_url), shutdown).await
}

/// [`serve`] with a prepared state (e.g. [`AppState::with_device_settings`]). `shutdown`
/// is watched from the start: resolving while the schema is applied stops at once.
pub async fn serve_state(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut shutdown = Box::pin(shutdown);
    tokio::select! {
        migrated = state.store.migrate() => migrated
            .map_err(|e| std::io::Error::other(format!("applying the schema: {e}")))?,
        () = &mut shutdown => return Ok(()),
    }
    axum::serve(listener, router(Arc::new(state)))
        .with_graceful_shutdown(shutdown)
        .await
}
