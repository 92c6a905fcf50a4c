//! The SQLite [`Store`]: one writer connection (WAL journal, `BEGIN IMMEDIATE` per command)
//! and a few read connections, each used from a blocking thread. In WAL mode readers never
//! wait for the writer and see every transaction committed before they start. Several
//! processes may share the file: `busy_timeout` waits for the writer, and the event log's
//! primary key still turns a lost race into a [`StoreError::Conflict`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use mfa_devices::filter::sql::{Dialect, SqlParam};
use rusqlite::types::Value as SqlValue;

use super::{ActivityQuery, Commit, DeviceRow, FlowRow, PolicyRow, Store, StoreError, StoreFuture};
use mfa_devices::user_devices::schema;

/// Read connections of a file database (an in-memory database is private to its one
/// connection, which then serves reads too).
pub const READERS: usize = 4;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<[Mutex<Connection>]>,
    next_reader: Arc<AtomicUsize>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

fn rev(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative revision {v}")))
}

fn sql_int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("revision {v} exceeds i64")))
}

fn connect(path: &str) -> Result<Connection, String> {
    let conn = Connection::open(path).map_err(|e| format!("opening {path}: {e}"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| e.to_string())?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating) the database file `path` (`:memory:` for a private in-memory one):
    /// the writer, then [`READERS`] read connections (`query_only`) of a file database.
    pub async fn open(path: &str) -> Result<Self, String> {
        let path = path.to_owned();
        let (writer, readers) = tokio::task::spawn_blocking(move || {
            let writer = connect(&path)?;
            let mut readers = Vec::new();
            if path != ":memory:" && !path.is_empty() {
                for _ in 0..READERS {
                    let reader = connect(&path)?;
                    reader
                        .pragma_update(None, "query_only", true)
                        .map_err(|e| e.to_string())?;
                    readers.push(Mutex::new(reader));
                }
            }
            Ok::<_, String>((writer, readers))
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            readers: readers.into(),
            next_reader: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Runs `f` on the writer connection (a blocking thread).
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let conn = Arc::clone(&self.writer);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut guard = conn
                    .lock()
                    .map_err(|_| StoreError::Unavailable("connection poisoned".into()))?;
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
        })
    }

    /// A point read (one row by primary key, microseconds) on the calling thread when a read
    /// connection is free: handing it to a blocking thread costs more than the query (two
    /// thread wake-ups). A WAL reader does not wait for the writer. Else [`read`](Self::read).
    fn read_point<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        let free = (0..n).find_map(|i| self.readers.get((start + i) % n)?.try_lock().ok());
        match free {
            Some(mut guard) => {
                let result = f(&mut guard);
                drop(guard);
                Box::pin(std::future::ready(result))
            }
            None => self.read(f),
        }
    }

    /// Runs the read-only `f` on a free read connection (the writer without any).
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        if self.readers.is_empty() {
            return self.run(f);
        }
        let readers = Arc::clone(&self.readers);
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let n = readers.len();
                // A free connection if there is one, else wait for this call's turn.
                let free = (0..n).find_map(|i| readers[(start + i) % n].try_lock().ok());
                let mut guard = match free {
                    Some(guard) => guard,
                    None => readers[start % n]
                        .lock()
                        .map_err(|_| StoreError::Unavailable("connection poisoned".into()))?,
                };
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
        })
    }
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn activities<'a>(
        &'a self,
        env: &'a str,
        query: ActivityQuery,
    ) -> StoreFuture<'a, Vec<(DateTime<Utc>, String, String)>> {
        let env = env.to_owned();
        self.read(move |c| {
            let mut params: Vec<SqlValue> = query
                .filter
                .params
                .iter()
                .map(|p| match p {
                    SqlParam::Bool(b) => SqlValue::Integer(i64::from(*b)),
                    SqlParam::Int(i) => SqlValue::Integer(*i),
                    SqlParam::Float(f) => SqlValue::Real(*f),
                    other => other.sqlite_text().map_or(SqlValue::Null, SqlValue::Text),
                })
                .collect();
            let mut sql = format!(
                "SELECT recorded_at, id, doc FROM activities WHERE environment_id = ?{} AND ({})",
                params.len() + 1,
                query.filter.sql
            );
            params.push(SqlValue::Text(env));
            if let Some((at, id)) = query.after {
                // Stored timestamps are RFC 3339 with milliseconds and `Z`: text order is time order.
                let n = params.len();
                sql.push_str(&format!(
                    " AND (recorded_at > ?{a} OR (recorded_at = ?{a} AND id > ?{b}))",
                    a = n + 1,
                    b = n + 2
                ));
                params.push(SqlValue::Text(ts(at)));
                params.push(SqlValue::Text(id));
            }
            sql.push_str(&format!(
                " ORDER BY recorded_at, id LIMIT ?{}",
                params.len() + 1
            ));
            params.push(SqlValue::Integer(i64::from(query.limit)));
            let mut stmt = c.prepare(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(map_err)?;
            rows.map(|r| {
                let (at, id, doc) = r.map_err(map_err)?;
                let at = DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| {
                        StoreError::Corrupt(format!("activity {id} recorded_at {at:?}: {e}"))
                    })?
                    .with_timezone(&Utc);
                Ok((at, id, doc))
            })
            .collect()
        })
    }

    fn migrate(&self) -> StoreFuture<'_, ()> {
        self.run(|c| c.execute_batch(schema::SQLITE).map_err(map_err))
    }

    fn health(&self) -> StoreFuture<'_, ()> {
        self.run(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err))
    }

    fn load_snapshot<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String)>> {
        let (env, user) = (env.to_owned(), user.to_owned());
        self.read(move |c| {
            let row: Option<(i64, String)> = c
                .prepare_cached(
                    "SELECT revision, snapshot FROM user_devices WHERE environment_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![env, user], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(map_err)?;
            row.map(|(r, s)| Ok((rev(r)?, s))).transpose()
        })
    }

    fn load_snapshot_unless<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
        known: Option<u64>,
    ) -> StoreFuture<'a, Option<(u64, Option<String>)>> {
        let (env, user) = (env.to_owned(), user.to_owned());
        let known = known.map(sql_int).transpose();
        self.read_point(move |c| {
            let known = known?;
            let row: Option<(i64, Option<String>)> = c
                .prepare_cached(
                    "SELECT revision, CASE WHEN revision = ?3 THEN NULL ELSE snapshot END \
                     FROM user_devices WHERE environment_id = ?1 AND user_id = ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![env, user, known], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(map_err)?;
            row.map(|(r, s)| Ok((rev(r)?, s))).transpose()
        })
    }

    fn load_events<'a>(
        &'a self,
        env: &'a str,
        user: &'a str,
    ) -> StoreFuture<'a, Vec<(u64, String)>> {
        let (env, user) = (env.to_owned(), user.to_owned());
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT revision, event FROM user_device_events \
                     WHERE environment_id = ?1 AND user_id = ?2 ORDER BY revision",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![env, user], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(map_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (r, e) = row.map_err(map_err)?;
                out.push((rev(r)?, e));
            }
            Ok(out)
        })
    }

    fn commit(&self, commit: Commit) -> StoreFuture<'_, ()> {
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let (env, user) = (&commit.environment, &commit.user);
            let execute = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
                tx.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute(params))
                    .map_err(map_err)
            };
            for e in &commit.events {
                execute(
                    "INSERT INTO user_device_events (environment_id, user_id, revision, recorded_at, event_type, event) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![env, user, sql_int(e.revision)?, ts(e.recorded_at), e.event_type, e.event],
                )?;
            }
            let changed = if commit.base_revision == 0 {
                execute(
                    "INSERT INTO user_devices (environment_id, user_id, revision, snapshot, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![env, user, sql_int(commit.revision)?, commit.snapshot, ts(commit.now)],
                )?
            } else {
                execute(
                    "UPDATE user_devices SET revision = ?3, snapshot = ?4, updated_at = ?5 \
                     WHERE environment_id = ?1 AND user_id = ?2 AND revision = ?6",
                    params![env, user, sql_int(commit.revision)?, commit.snapshot, ts(commit.now), sql_int(commit.base_revision)?],
                )?
            };
            if changed != 1 {
                return Err(StoreError::Conflict); // the transaction rolls back on drop
            }
            execute(
                "DELETE FROM devices WHERE environment_id = ?1 AND user_id = ?2",
                params![env, user],
            )?;
            for d in &commit.devices {
                execute(
                    "INSERT INTO devices (environment_id, user_id, id, type, status, nickname, created_at, updated_at, doc) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![env, user, d.id, d.device_type, d.status, d.nickname, ts(d.created_at), ts(d.updated_at), d.doc],
                )?;
            }
            for a in &commit.activities {
                execute(
                    "INSERT INTO activities (environment_id, id, recorded_at, created_at, action_type, result_status, user_id, device_id, correlation_id, doc) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
                    params![env, a.id, ts(a.recorded_at), ts(commit.now), a.action_type, a.result_status, user, a.device_id, a.correlation_id, a.doc],
                )?;
            }
            tx.commit().map_err(map_err)
        })
    }

    fn list_policies<'a>(&'a self, env: &'a str) -> StoreFuture<'a, Vec<PolicyRow>> {
        let env = env.to_owned();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, is_default, doc FROM device_authentication_policies \
                     WHERE environment_id = ?1 ORDER BY created_at, id",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![env], |r| {
                    Ok(PolicyRow {
                        id: r.get(0)?,
                        is_default: r.get(1)?,
                        doc: r.get(2)?,
                    })
                })
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err)).collect()
        })
    }

    fn get_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, Option<PolicyRow>> {
        let (env, id) = (env.to_owned(), id.to_owned());
        self.read(move |c| {
            c.query_row(
                "SELECT id, is_default, doc FROM device_authentication_policies \
                 WHERE environment_id = ?1 AND id = ?2",
                params![env, id],
                |r| {
                    Ok(PolicyRow {
                        id: r.get(0)?,
                        is_default: r.get(1)?,
                        doc: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(map_err)
        })
    }

    fn put_policy<'a>(
        &'a self,
        env: &'a str,
        row: PolicyRow,
        now: DateTime<Utc>,
    ) -> StoreFuture<'a, ()> {
        let env = env.to_owned();
        self.run(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            if row.is_default {
                tx.execute(
                    "UPDATE device_authentication_policies SET is_default = 0 WHERE environment_id = ?1 AND id <> ?2",
                    params![env, row.id],
                )
                .map_err(map_err)?;
            }
            tx.execute(
                "INSERT INTO device_authentication_policies (environment_id, id, is_default, doc, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
                 ON CONFLICT (environment_id, id) DO UPDATE SET is_default = excluded.is_default, doc = excluded.doc, updated_at = excluded.updated_at",
                params![env, row.id, row.is_default, row.doc, ts(now)],
            )
            .map_err(map_err)?;
            tx.commit().map_err(map_err)
        })
    }

    fn delete_policy<'a>(&'a self, env: &'a str, id: &'a str) -> StoreFuture<'a, bool> {
        let (env, id) = (env.to_owned(), id.to_owned());
        self.run(move |c| {
            c.execute(
                "DELETE FROM device_authentication_policies WHERE environment_id = ?1 AND id = ?2",
                params![env, id],
            )
            .map(|n| n == 1)
            .map_err(map_err)
        })
    }

    fn insert_flow(&self, row: FlowRow) -> StoreFuture<'_, ()> {
        self.run(move |c| {
            c.execute(
                "INSERT INTO device_authentications (environment_id, id, user_id, version, status, flow, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![row.environment, row.id, row.user, sql_int(row.version)?, row.status, row.flow, ts(row.now)],
            )
            .map(|_| ())
            .map_err(map_err)
        })
    }

    fn load_flow<'a>(
        &'a self,
        env: &'a str,
        id: &'a str,
    ) -> StoreFuture<'a, Option<(u64, String, String)>> {
        let (env, id) = (env.to_owned(), id.to_owned());
        self.read(move |c| {
            let row: Option<(i64, String, String)> = c
                .query_row(
                    "SELECT version, user_id, flow FROM device_authentications WHERE environment_id = ?1 AND id = ?2",
                    params![env, id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(map_err)?;
            row.map(|(v, u, f)| Ok((rev(v)?, u, f))).transpose()
        })
    }

    fn update_flow(&self, row: FlowRow) -> StoreFuture<'_, ()> {
        self.run(move |c| {
            let n = c
                .execute(
                    "UPDATE device_authentications SET version = ?3, status = ?4, flow = ?5, updated_at = ?6 \
                     WHERE environment_id = ?1 AND id = ?2 AND version = ?7",
                    params![row.environment, row.id, sql_int(row.version)?, row.status, row.flow, ts(row.now), sql_int(row.version.saturating_sub(1))?],
                )
                .map_err(map_err)?;
            if n == 1 { Ok(()) } else { Err(StoreError::Conflict) }
        })
    }

    fn users(&self) -> StoreFuture<'_, Vec<(String, String)>> {
        self.read(|c| {
            let mut stmt = c
                .prepare("SELECT environment_id, user_id FROM user_devices ORDER BY 1, 2")
                .map_err(map_err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(map_err)?;
            rows.map(|r| r.map_err(map_err)).collect()
        })
    }

    fn device_rows<'a>(&'a self, env: &'a str, user: &'a str) -> StoreFuture<'a, Vec<DeviceRow>> {
        let (env, user) = (env.to_owned(), user.to_owned());
        self.read(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT id, type, status, nickname, created_at, updated_at, doc FROM devices \
                     WHERE environment_id = ?1 AND user_id = ?2 ORDER BY id",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map(params![env, user], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                })
                .map_err(map_err)?;
            let time = |id: &str, at: &str| {
                DateTime::parse_from_rfc3339(at)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| StoreError::Corrupt(format!("device {id} time {at:?}: {e}")))
            };
            rows.map(|r| {
                let (id, device_type, status, nickname, created_at, updated_at, doc) =
                    r.map_err(map_err)?;
                Ok(DeviceRow {
                    created_at: time(&id, &created_at)?,
                    updated_at: time(&id, &updated_at)?,
                    id,
                    device_type,
                    status,
                    nickname,
                    doc,
                })
            })
            .collect()
        })
    }
}
