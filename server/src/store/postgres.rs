//! The PostgreSQL [`Store`]: a deadpool pool of tokio-postgres connections; one transaction
//! (READ COMMITTED) per command. Concurrent writers of one user collide on the event log's
//! primary key (SQLSTATE 23505), which becomes [`StoreError::Conflict`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use mfa_devices::filter::sql::{Dialect, SqlParam};
use tokio_postgres::types::ToSql;

use super::{ActivityQuery, Commit, FlowRow, PolicyRow, Store, StoreError, StoreFuture};
use mfa_devices::user_devices::schema;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

fn map_err(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => StoreError::Conflict,
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE => StoreError::Conflict,
        _ => StoreError::Unavailable(e.to_string()),
    }
}

fn map_pool(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => map_err(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn rev(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative revision {v}")))
}

fn sql_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("revision {v} exceeds i64")))
}

/// Serialises concurrent migrations of several instances (`CREATE … IF NOT EXISTS` alone
/// races on the catalog).
const MIGRATION_LOCK: i64 = 0x6d66_615f_6465_7673; // "mfa_devs"

impl PostgresStore {
    /// A pool for `url` (no connection is made until first use).
    pub fn connect(url: &str) -> Result<Self, String> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| format!("--database {url:?}: {e}"))?;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("mfa-devices-server");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(map_pool)
    }
}

impl Store for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn activities<'a>(
        &'a self,
        env: &'a str,
        query: ActivityQuery,
    ) -> StoreFuture<'a, Vec<(DateTime<Utc>, String, String)>> {
        Box::pin(async move {
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
            for p in &query.filter.params {
                params.push(match p {
                    SqlParam::Bool(b) => Box::new(*b),
                    SqlParam::Int(i) => Box::new(*i),
                    SqlParam::Float(f) => Box::new(*f),
                    SqlParam::Text(t) => Box::new(t.clone()),
                    SqlParam::Timestamp(t) => Box::new(*t),
                    _ => Box::new(None::<String>),
                });
            }
            let mut sql = format!(
                "SELECT recorded_at, id, doc::text FROM activities WHERE environment_id = ${}::text AND ({})",
                params.len() + 1,
                query.filter.sql
            );
            params.push(Box::new(env.to_owned()));
            if let Some((at, id)) = &query.after {
                let n = params.len();
                sql.push_str(&format!(
                    " AND (recorded_at > ${a}::timestamptz OR (recorded_at = ${a}::timestamptz AND id > ${b}::text))",
                    a = n + 1,
                    b = n + 2
                ));
                params.push(Box::new(*at));
                params.push(Box::new(id.clone()));
            }
            sql.push_str(&format!(
                " ORDER BY recorded_at, id LIMIT ${}::int8",
                params.len() + 1
            ));
            params.push(Box::new(i64::from(query.limit)));
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let client = self.client().await?;
            let rows = client.query(&sql, &refs).await.map_err(map_err)?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })
    }

    fn migrate(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(map_err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await
                .map_err(map_err)?;
            tx.batch_execute(schema::POSTGRES).await.map_err(map_err)?;
            tx.commit().await.map_err(map_err)
        })
    }

    fn health(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client.simple_query("SELECT 1").await.map_err(map_err)?;
            Ok(())
        })
    }

    fn load_snapshot<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String)>> {
        Box::pin(async move {
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT revision, snapshot::text FROM user_devices WHERE environment_id = $1 AND user_id = $2",
                )
                .await
                .map_err(map_err)?;
            let row = client
                .query_opt(&stmt, &[&env, &user])
                .await
                .map_err(map_err)?;
            row.map(|r| Ok((rev(r.get(0))?, r.get(1)))).transpose()
        })
    }

    fn load_snapshot_unless<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
        known: Option<u64>,
    ) -> StoreFuture<'a, Option<(u64, Option<String>)>> {
        Box::pin(async move {
            let known = known.map(sql_int).transpose()?;
            let client = self.client().await?;
            let stmt = client
                .prepare_cached(
                    "SELECT revision, CASE WHEN revision = $3::int8 THEN NULL ELSE snapshot::text END \
                     FROM user_devices WHERE environment_id = $1 AND user_id = $2",
                )
                .await
                .map_err(map_err)?;
            let row = client
                .query_opt(&stmt, &[&env, &user, &known])
                .await
                .map_err(map_err)?;
            row.map(|r| Ok((rev(r.get(0))?, r.get(1)))).transpose()
        })
    }

    fn load_events<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Vec<(u64, String)>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT revision, event::text FROM user_device_events \
                     WHERE environment_id = $1 AND user_id = $2 ORDER BY revision",
                    &[&env, &user],
                )
                .await
                .map_err(map_err)?;
            rows.iter()
                .map(|r| Ok((rev(r.get(0))?, r.get(1))))
                .collect()
        })
    }

    fn commit(&self, commit: Commit) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(map_err)?;
            let insert_event = tx
                .prepare_cached(
                    "INSERT INTO user_device_events (environment_id, user_id, revision, recorded_at, event_type, event) \
                     VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
                )
                .await
                .map_err(map_err)?;
            for e in &commit.events {
                tx.execute(
                    &insert_event,
                    &[
                        &commit.environment,
                        &commit.user,
                        &sql_int(e.revision)?,
                        &e.recorded_at,
                        &e.event_type,
                        &e.event,
                    ],
                )
                .await
                .map_err(map_err)?;
            }
            let revision = sql_int(commit.revision)?;
            let changed = if commit.base_revision == 0 {
                tx.execute(
                    "INSERT INTO user_devices (environment_id, user_id, revision, snapshot, updated_at) \
                     VALUES ($1, $2, $3, $4::text::jsonb, $5) ON CONFLICT DO NOTHING",
                    &[&commit.environment, &commit.user, &revision, &commit.snapshot, &commit.now],
                )
                .await
            } else {
                tx.execute(
                    "UPDATE user_devices SET revision = $3, snapshot = $4::text::jsonb, updated_at = $5 \
                     WHERE environment_id = $1 AND user_id = $2 AND revision = $6",
                    &[&commit.environment, &commit.user, &revision, &commit.snapshot, &commit.now, &sql_int(commit.base_revision)?],
                )
                .await
            }
            .map_err(map_err)?;
            if changed != 1 {
                return Err(StoreError::Conflict); // dropping the transaction rolls back
            }
            tx.execute(
                "DELETE FROM devices WHERE environment_id = $1 AND user_id = $2",
                &[&commit.environment, &commit.user],
            )
            .await
            .map_err(map_err)?;
            let insert_device = tx
                .prepare_cached(
                    "INSERT INTO devices (environment_id, user_id, id, type, status, nickname, created_at, updated_at, doc) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb)",
                )
                .await
                .map_err(map_err)?;
            for d in &commit.devices {
                tx.execute(
                    &insert_device,
                    &[
                        &commit.environment,
                        &commit.user,
                        &d.id,
                        &d.device_type,
                        &d.status,
                        &d.nickname,
                        &d.created_at,
                        &d.updated_at,
                        &d.doc,
                    ],
                )
                .await
                .map_err(map_err)?;
            }
            let insert_activity = tx
                .prepare_cached(
                    "INSERT INTO activities (environment_id, id, recorded_at, created_at, action_type, result_status, user_id, device_id, correlation_id, doc) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb) ON CONFLICT DO NOTHING",
                )
                .await
                .map_err(map_err)?;
            for a in &commit.activities {
                tx.execute(
                    &insert_activity,
                    &[
                        &commit.environment,
                        &a.id,
                        &a.recorded_at,
                        &commit.now,
                        &a.action_type,
                        &a.result_status,
                        &commit.user,
                        &a.device_id,
                        &a.correlation_id,
                        &a.doc,
                    ],
                )
                .await
                .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)
        })
    }

    fn list_policies<'a>(&'a self, env: &'a str) -> StoreFuture<'a, Vec<PolicyRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, is_default, doc::text FROM device_authentication_policies \
                     WHERE environment_id = $1 ORDER BY created_at, id",
                    &[&env],
                )
                .await
                .map_err(map_err)?;
            Ok(rows
                .iter()
                .map(|r| PolicyRow {
                    id: r.get(0),
                    is_default: r.get(1),
                    doc: r.get(2),
                })
                .collect())
        })
    }

    fn get_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, Option<PolicyRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT id, is_default, doc::text FROM device_authentication_policies \
                     WHERE environment_id = $1 AND id = $2",
                    &[&env, &id],
                )
                .await
                .map_err(map_err)?;
            Ok(row.map(|r| PolicyRow {
                id: r.get(0),
                is_default: r.get(1),
                doc: r.get(2),
            }))
        })
    }

    fn put_policy<'a>(
        &'a self,
        env: &'a str,
        row: PolicyRow,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(map_err)?;
            if row.is_default {
                tx.execute(
                    "UPDATE device_authentication_policies SET is_default = false WHERE environment_id = $1 AND id <> $2",
                    &[&env, &row.id],
                )
                .await
                .map_err(map_err)?;
            }
            tx.execute(
                "INSERT INTO device_authentication_policies (environment_id, id, is_default, doc, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4::text::jsonb, $5, $5) \
                 ON CONFLICT (environment_id, id) DO UPDATE SET is_default = excluded.is_default, doc = excluded.doc, updated_at = excluded.updated_at",
                &[&env, &row.id, &row.is_default, &row.doc, &now],
            )
            .await
            .map_err(map_err)?;
            tx.commit().await.map_err(map_err)
        })
    }

    fn delete_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.client().await?;
            let n = client
                .execute(
                    "DELETE FROM device_authentication_policies WHERE environment_id = $1 AND id = $2",
                    &[&env, &id],
                )
                .await
                .map_err(map_err)?;
            Ok(n == 1)
        })
    }

    fn insert_flow(&self, row: FlowRow) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO device_authentications (environment_id, id, user_id, version, status, flow, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $7)",
                    &[&row.environment, &row.id, &row.user, &sql_int(row.version)?, &row.status, &row.flow, &row.now],
                )
                .await
                .map_err(map_err)?;
            Ok(())
        })
    }

    fn load_flow<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String, String)>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT version, user_id, flow::text FROM device_authentications WHERE environment_id = $1 AND id = $2",
                    &[&env, &id],
                )
                .await
                .map_err(map_err)?;
            row.map(|r| Ok((rev(r.get(0))?, r.get(1), r.get(2))))
                .transpose()
        })
    }

    fn update_flow(&self, row: FlowRow) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            let n = client
                .execute(
                    "UPDATE device_authentications SET version = $3, status = $4, flow = $5::text::jsonb, updated_at = $6 \
                     WHERE environment_id = $1 AND id = $2 AND version = $7",
                    &[&row.environment, &row.id, &sql_int(row.version)?, &row.status, &row.flow, &row.now, &sql_int(row.version.saturating_sub(1))?],
                )
                .await
                .map_err(map_err)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }

    fn users(&self) -> StoreFuture<'_, Vec<(String, String)>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT environment_id, user_id FROM user_devices ORDER BY 1, 2",
                    &[],
                )
                .await
                .map_err(map_err)?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }
}
