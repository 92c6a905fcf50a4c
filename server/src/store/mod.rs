//! Persistence: one [`Store`] trait, implemented for SQLite ([`sqlite`]) and PostgreSQL
//! ([`postgres`]).
//!
//! Stores are deliberately dumb: they move rows that the resource modules built (JSON as
//! text, ids as text) and enforce the persistence contract of the `mfa-devices` crate:
//!
//! - a user's command commits its events (primary key `(environment_id, user_id, revision)`),
//!   the snapshot row (compare-and-swap on its revision), the devices read model and the audit
//!   activities in ONE transaction — all or nothing;
//! - a commit decided from a revision that is no longer the stored one fails with
//!   [`StoreError::Conflict`] and writes nothing; the caller reloads and decides again;
//! - a command without events is never committed (the caller does not call [`Store::commit`]).

pub mod postgres;
pub mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use mfa_devices::filter::sql::{Dialect, SqlWhere};

/// A boxed future (the trait is used as `dyn Store`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Another writer committed first (revision or version moved on); nothing was written.
    Conflict,
    /// The database cannot be reached or refused the operation (connection lost, timeout).
    /// Answered with 503.
    Unavailable(String),
    /// Stored data that cannot be read back (a bug or tampering). Answered with 500.
    Corrupt(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("conflicting concurrent write"),
            StoreError::Unavailable(why) => write!(f, "database unavailable: {why}"),
            StoreError::Corrupt(why) => write!(f, "stored data unreadable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// One event of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The aggregate's revision once the event is applied (1, 2, …).
    pub revision: u64,
    /// When it happened.
    pub recorded_at: DateTime<Utc>,
    /// The event's `type` (`DEVICE_CREATED`, …).
    pub event_type: String,
    /// The event JSON.
    pub event: String,
}

/// One row of the `devices` read model.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    /// Device id.
    pub id: String,
    /// `type`.
    pub device_type: String,
    /// `status`.
    pub status: String,
    /// `nickname`.
    pub nickname: Option<String>,
    /// `createdAt`.
    pub created_at: DateTime<Utc>,
    /// `updatedAt`.
    pub updated_at: DateTime<Utc>,
    /// The device JSON body.
    pub doc: String,
}

/// One audit activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// Activity id (deterministic per event, so a retried commit cannot duplicate it).
    pub id: String,
    /// `recordedAt`.
    pub recorded_at: DateTime<Utc>,
    /// `action.type` (`DEVICE.CREATED`, …).
    pub action_type: String,
    /// `result.status`.
    pub result_status: String,
    /// The device the event is about.
    pub device_id: Option<String>,
    /// The request's `X-Ping-External-Transaction-ID`.
    pub correlation_id: Option<String>,
    /// PingOne's activity JSON.
    pub doc: String,
}

/// Everything one user command writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    /// Environment id.
    pub environment: String,
    /// User id.
    pub user: String,
    /// The revision the command was decided at (0: no snapshot yet).
    pub base_revision: u64,
    /// The events, revisions `base_revision + 1 ..`.
    pub events: Vec<EventRow>,
    /// The snapshot after the events.
    pub snapshot: String,
    /// The snapshot's revision (the last event's).
    pub revision: u64,
    /// The user's devices after the events (the read model rows are replaced).
    pub devices: Vec<DeviceRow>,
    /// The audit activities of the events.
    pub activities: Vec<ActivityRow>,
    /// Commit time.
    pub now: DateTime<Utc>,
}

/// A stored device authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    /// Environment id.
    pub environment: String,
    /// Flow id.
    pub id: String,
    /// User id.
    pub user: String,
    /// Version (1 on insert; each update +1).
    pub version: u64,
    /// The flow's status.
    pub status: String,
    /// The stored form (JSON).
    pub flow: String,
    /// Write time.
    pub now: DateTime<Utc>,
}

/// A stored device authentication policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRow {
    /// Policy id.
    pub id: String,
    /// Whether it is the environment's default.
    pub is_default: bool,
    /// The policy JSON body.
    pub doc: String,
}

/// A page of audit activities: the rows after a position, in `(recorded_at, id)` order.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityQuery {
    /// The filter, translated for this store's [`Store::dialect`] (its placeholders are
    /// numbered from 1; the store appends its own after them).
    pub filter: SqlWhere,
    /// Only rows after this `(recorded_at, id)` (the previous page's last row).
    pub after: Option<(DateTime<Utc>, String)>,
    /// At most this many rows.
    pub limit: u32,
}

/// The persistence operations the server needs; see the [module documentation](self).
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn kind(&self) -> &'static str;
    /// The SQL dialect filters are translated to for [`Store::activities`].
    fn dialect(&self) -> Dialect;
    /// The environment's audit activities matching `query`: `(recorded_at, id, JSON)`.
    fn activities<'a>(
        &'a self,
        env: &'a str,
        query: ActivityQuery,
    ) -> StoreFuture<'a, Vec<(DateTime<Utc>, String, String)>>;
    /// Applies the schema (idempotent; safe with several instances starting at once).
    fn migrate(&self) -> StoreFuture<'_, ()>;
    /// A round trip to the database.
    fn health(&self) -> StoreFuture<'_, ()>;
    /// The user's snapshot: `(revision, JSON)`, or `None` for a user without events.
    fn load_snapshot<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String)>>;
    /// The user's snapshot unless the caller's copy is current: `(revision, Some(JSON))`, or
    /// `(revision, None)` when the stored revision is `known` (the JSON is not even read), or
    /// `None` for a user without events. One round trip either way, so a caller that keeps
    /// parsed snapshots by revision still sees every committed revision.
    fn load_snapshot_unless<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
        known: Option<u64>,
    ) -> StoreFuture<'a, Option<(u64, Option<String>)>> {
        Box::pin(async move {
            Ok(self
                .load_snapshot(env, user)
                .await?
                .map(|(revision, json)| (revision, (Some(revision) != known).then_some(json))))
        })
    }
    /// The user's event log in revision order: `(revision, JSON)`.
    fn load_events<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Vec<(u64, String)>>;
    /// Commits one command (see the module docs); [`StoreError::Conflict`] writes nothing.
    fn commit(&self, commit: Commit) -> StoreFuture<'_, ()>;
    /// The environment's stored policies (oldest first).
    fn list_policies<'a>(&'a self, env: &'a str) -> StoreFuture<'a, Vec<PolicyRow>>;
    /// One stored policy.
    fn get_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, Option<PolicyRow>>;
    /// Inserts or replaces a policy.
    fn put_policy<'a>(
        &'a self,
        env: &'a str,
        row: PolicyRow,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()>;
    /// Deletes a policy; whether it existed.
    fn delete_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, bool>;
    /// Stores a new flow (version 1); [`StoreError::Conflict`] if the id exists.
    fn insert_flow(&self, row: FlowRow) -> StoreFuture<'_, ()>;
    /// A stored flow: `(version, user id, JSON)`.
    fn load_flow<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String, String)>>;
    /// Replaces a flow if its stored version is `row.version - 1`, else
    /// [`StoreError::Conflict`].
    fn update_flow(&self, row: FlowRow) -> StoreFuture<'_, ()>;
    /// The `(environment, user)` pairs that have a snapshot (for checks and tooling).
    fn users(&self) -> StoreFuture<'_, Vec<(String, String)>>;
    /// The user's rows of the `devices` read model, by id (for checks and tooling).
    fn device_rows<'a>(&'a self, env: &'a str, user: &'a str) -> StoreFuture<'a, Vec<DeviceRow>>;
}

/// Opens the store a `--database` URL names: `sqlite://PATH` (`sqlite::memory:` for a
/// private in-memory database) or `postgres://…` / `postgresql://…`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PostgresStore::connect(url)?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(path).await?))
    } else if url == "sqlite::memory:" {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open(":memory:").await?,
        ))
    } else {
        Err(format!(
            "--database {url:?}: expected sqlite://PATH, sqlite::memory: or postgres://user@host:port/db"
        ))
    }
}
