//! `/{envID}/deviceAuthentications`: the device authentication flow (PingOne's auth host paths).
use axum::Router;

use crate::http::Shared;

/// The device authentication routes.
pub fn routes() -> Router<Shared> {
    Router::new()
}
