//! The PostgreSQL [`Store`]: a deadpool pool of tokio-postgres connections, every statement
//! prepared once per connection. A command commits in ONE statement (its own transaction):
//! the snapshot's compare-and-swap, then the events, the devices read model and the audit
//! activities as multi-row writes over array parameters, each gated on the compare-and-swap —
//! one round trip to the database per commit. A writer that lost the race to another
//! instance finds the snapshot row moved on (READ COMMITTED re-checks the revision once the
//! winner commits) and writes nothing: [`StoreError::Conflict`]; a collision on the event
//! log's primary key (SQLSTATE 23505) is one too.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use mfa_devices::filter::sql::{Dialect, SqlParam};
use tokio_postgres::types::ToSql;

use super::{ActivityQuery, Commit, DeviceRow, FlowRow, PolicyRow, Store, StoreError, StoreFuture};
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

/// The statement `sql`, prepared once per connection (deadpool's statement cache): a query
/// by its text alone would be prepared again each time, one more round trip.
async fn cached(
    client: &deadpool_postgres::Object,
    sql: &str,
) -> Result<tokio_postgres::Statement, StoreError> {
    client.prepare_cached(sql).await.map_err(map_err)
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

/// The part of a commit after the snapshot's compare-and-swap (`snap`, one row when it
/// matched): the events, the devices read model and the activities, each ONE statement over
/// array parameters (`unnest`) and each gated on `snap`, so a lost race writes nothing.
///
/// Parameters: `$1` environment, `$2` user, `$3` revision, `$4` snapshot JSON, `$5` commit
/// time, `$6` base revision; events `$7`–`$10` (revision, recorded_at, type, JSON); devices
/// `$11`–`$17` (id, type, status, nickname, created_at, updated_at, JSON); activities
/// `$18`–`$24` (id, recorded_at, action type, result status, device id, correlation id, JSON).
///
/// The read model is brought to the commit's devices: rows of devices no longer there are
/// deleted, new ones inserted, and a stored row is rewritten only when it differs (most
/// commands change one device of several). The sub-statements touch disjoint rows, as data
/// modifying `WITH` clauses of one statement must.
macro_rules! commit_rest {
    () => {
        ", events AS ( \
            INSERT INTO user_device_events (environment_id, user_id, revision, recorded_at, event_type, event) \
            SELECT $1::text, $2::text, e.revision, e.recorded_at, e.event_type, e.event::jsonb \
            FROM unnest($7::int8[], $8::timestamptz[], $9::text[], $10::text[]) AS e (revision, recorded_at, event_type, event) \
            WHERE EXISTS (SELECT FROM snap) \
        ), gone AS ( \
            DELETE FROM devices \
            WHERE environment_id = $1::text AND user_id = $2::text AND id <> ALL ($11::text[]) \
            AND EXISTS (SELECT FROM snap) \
        ), kept AS ( \
            INSERT INTO devices AS d (environment_id, user_id, id, type, status, nickname, created_at, updated_at, doc) \
            SELECT $1::text, $2::text, r.id, r.type, r.status, r.nickname, r.created_at, r.updated_at, r.doc::jsonb \
            FROM unnest($11::text[], $12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::timestamptz[], $17::text[]) \
                AS r (id, type, status, nickname, created_at, updated_at, doc) \
            WHERE EXISTS (SELECT FROM snap) \
            ON CONFLICT (environment_id, user_id, id) DO UPDATE SET type = excluded.type, status = excluded.status, \
                nickname = excluded.nickname, created_at = excluded.created_at, updated_at = excluded.updated_at, doc = excluded.doc \
            WHERE (d.type, d.status, d.nickname, d.created_at, d.updated_at, d.doc) \
                IS DISTINCT FROM (excluded.type, excluded.status, excluded.nickname, excluded.created_at, excluded.updated_at, excluded.doc) \
        ), acts AS ( \
            INSERT INTO activities (environment_id, id, recorded_at, created_at, action_type, result_status, user_id, device_id, correlation_id, doc) \
            SELECT $1::text, a.id, a.recorded_at, $5::timestamptz, a.action_type, a.result_status, $2::text, a.device_id, a.correlation_id, a.doc::jsonb \
            FROM unnest($18::text[], $19::timestamptz[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[]) \
                AS a (id, recorded_at, action_type, result_status, device_id, correlation_id, doc) \
            WHERE EXISTS (SELECT FROM snap) \
            ON CONFLICT DO NOTHING \
        ) \
        SELECT count(*) FROM snap"
    };
}

/// A user's first commit (base revision 0): the snapshot row is inserted unless another
/// writer's is there.
const COMMIT_FIRST: &str = concat!(
    "WITH snap AS ( \
        INSERT INTO user_devices (environment_id, user_id, revision, snapshot, updated_at) \
        SELECT $1::text, $2::text, $3::int8, $4::text::jsonb, $5::timestamptz WHERE $6::int8 = 0 \
        ON CONFLICT DO NOTHING RETURNING 1 \
    )",
    commit_rest!()
);

/// A later commit: the snapshot row is updated only at the base revision.
const COMMIT_NEXT: &str = concat!(
    "WITH snap AS ( \
        UPDATE user_devices SET revision = $3::int8, snapshot = $4::text::jsonb, updated_at = $5::timestamptz \
        WHERE environment_id = $1::text AND user_id = $2::text AND revision = $6::int8 RETURNING 1 \
    )",
    commit_rest!()
);

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
                    &cached(
                        &client,
                        "SELECT revision, event::text FROM user_device_events \
                         WHERE environment_id = $1 AND user_id = $2 ORDER BY revision",
                    )
                    .await?,
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
            let client = self.client().await?;
            let sql = if commit.base_revision == 0 {
                COMMIT_FIRST
            } else {
                COMMIT_NEXT
            };
            let stmt = client.prepare_cached(sql).await.map_err(map_err)?;
            let event_revisions = commit
                .events
                .iter()
                .map(|e| sql_int(e.revision))
                .collect::<Result<Vec<_>, _>>()?;
            let event_times: Vec<_> = commit.events.iter().map(|e| e.recorded_at).collect();
            let event_types: Vec<_> = commit
                .events
                .iter()
                .map(|e| e.event_type.as_str())
                .collect();
            let events: Vec<_> = commit.events.iter().map(|e| e.event.as_str()).collect();
            let d = &commit.devices;
            let device_ids: Vec<_> = d.iter().map(|d| d.id.as_str()).collect();
            let device_types: Vec<_> = d.iter().map(|d| d.device_type.as_str()).collect();
            let device_statuses: Vec<_> = d.iter().map(|d| d.status.as_str()).collect();
            let device_nicknames: Vec<_> = d.iter().map(|d| d.nickname.as_deref()).collect();
            let device_created: Vec<_> = d.iter().map(|d| d.created_at).collect();
            let device_updated: Vec<_> = d.iter().map(|d| d.updated_at).collect();
            let device_docs: Vec<_> = d.iter().map(|d| d.doc.as_str()).collect();
            let a = &commit.activities;
            let activity_ids: Vec<_> = a.iter().map(|a| a.id.as_str()).collect();
            let activity_times: Vec<_> = a.iter().map(|a| a.recorded_at).collect();
            let activity_types: Vec<_> = a.iter().map(|a| a.action_type.as_str()).collect();
            let activity_results: Vec<_> = a.iter().map(|a| a.result_status.as_str()).collect();
            let activity_devices: Vec<_> = a.iter().map(|a| a.device_id.as_deref()).collect();
            let activity_correlations: Vec<_> =
                a.iter().map(|a| a.correlation_id.as_deref()).collect();
            let activity_docs: Vec<_> = a.iter().map(|a| a.doc.as_str()).collect();
            let row = client
                .query_one(
                    &stmt,
                    &[
                        &commit.environment,
                        &commit.user,
                        &sql_int(commit.revision)?,
                        &commit.snapshot,
                        &commit.now,
                        &sql_int(commit.base_revision)?,
                        &event_revisions,
                        &event_times,
                        &event_types,
                        &events,
                        &device_ids,
                        &device_types,
                        &device_statuses,
                        &device_nicknames,
                        &device_created,
                        &device_updated,
                        &device_docs,
                        &activity_ids,
                        &activity_times,
                        &activity_types,
                        &activity_results,
                        &activity_devices,
                        &activity_correlations,
                        &activity_docs,
                    ],
                )
                .await
                .map_err(map_err)?;
            // The snapshot's compare-and-swap matched nothing: every other part of the
            // statement was gated on it, so nothing was written.
            if row.get::<_, i64>(0) == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict)
            }
        })
    }

    fn list_policies<'a>(&'a self, env: &'a str) -> StoreFuture<'a, Vec<PolicyRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let stmt = cached(
                &client,
                "SELECT id, is_default, doc::text FROM device_authentication_policies \
                 WHERE environment_id = $1 ORDER BY created_at, id",
            )
            .await?;
            let rows = client.query(&stmt, &[&env]).await.map_err(map_err)?;
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
            let stmt = cached(
                &client,
                "SELECT id, is_default, doc::text FROM device_authentication_policies \
                 WHERE environment_id = $1 AND id = $2",
            )
            .await?;
            let row = client
                .query_opt(&stmt, &[&env, &id])
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
            let stmt = cached(
                &client,
                "INSERT INTO device_authentications (environment_id, id, user_id, version, status, flow, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $7)",
            )
            .await?;
            client
                .execute(
                    &stmt,
                    &[
                        &row.environment,
                        &row.id,
                        &row.user,
                        &sql_int(row.version)?,
                        &row.status,
                        &row.flow,
                        &row.now,
                    ],
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
            let stmt = cached(
                &client,
                "SELECT version, user_id, flow::text FROM device_authentications \
                 WHERE environment_id = $1 AND id = $2",
            )
            .await?;
            let row = client
                .query_opt(&stmt, &[&env, &id])
                .await
                .map_err(map_err)?;
            row.map(|r| Ok((rev(r.get(0))?, r.get(1), r.get(2))))
                .transpose()
        })
    }

    fn update_flow(&self, row: FlowRow) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.client().await?;
            let stmt = cached(
                &client,
                "UPDATE device_authentications SET version = $3, status = $4, flow = $5::text::jsonb, updated_at = $6 \
                 WHERE environment_id = $1 AND id = $2 AND version = $7",
            )
            .await?;
            let n = client
                .execute(
                    &stmt,
                    &[
                        &row.environment,
                        &row.id,
                        &sql_int(row.version)?,
                        &row.status,
                        &row.flow,
                        &row.now,
                        &sql_int(row.version.saturating_sub(1))?,
                    ],
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

    fn device_rows<'a>(&'a self, env: &'a str, user: &'a str) -> StoreFuture<'a, Vec<DeviceRow>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, type, status, nickname, created_at, updated_at, doc::text FROM devices \
                     WHERE environment_id = $1 AND user_id = $2 ORDER BY id",
                    &[&env, &user],
                )
                .await
                .map_err(map_err)?;
            Ok(rows
                .iter()
                .map(|r| DeviceRow {
                    id: r.get(0),
                    device_type: r.get(1),
                    status: r.get(2),
                    nickname: r.get(3),
                    created_at: r.get(4),
                    updated_at: r.get(5),
                    doc: r.get(6),
                })
                .collect())
        })
    }
}
