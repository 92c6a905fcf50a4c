//! Test harness: databases (a SQLite file, a database on a shared throwaway PostgreSQL
//! cluster) and an in-process server on `127.0.0.1:0` spoken to over real HTTP.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use mfa_devices::device::{EnvironmentId, UserId};
use mfa_devices::user_devices::{Event, UserDevices};
use mfa_devices_server::Store;
use mfa_devices_testkit::PostgresCluster;

/// One PostgreSQL cluster for the whole test binary (each test gets its own database). The
/// cluster's watchdog removes it when the test process exits.
fn cluster() -> Option<&'static PostgresCluster> {
    static CLUSTER: OnceLock<Option<PostgresCluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| PostgresCluster::start_or_skip("server tests (PostgreSQL)"))
        .as_ref()
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database to run a test on.
pub struct Db {
    /// `sqlite` or `postgres`.
    pub label: &'static str,
    /// The `--database` URL.
    pub url: String,
    pub _dir: Option<TempDir>,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);
impl TempDir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "mfa-server-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh SQLite database file.
pub fn sqlite() -> Db {
    let dir = TempDir::new();
    let url = format!("sqlite://{}", dir.0.join("test.db").display());
    Db {
        label: "sqlite",
        url,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database, or `None` (skipped, printed) without PostgreSQL.
pub fn postgres(test: &str) -> Option<Db> {
    let cluster = cluster()?;
    static LOCK: Mutex<()> = Mutex::new(());
    let _serial = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let name = format!(
        "t_{}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let url = cluster.create_database(&name).unwrap();
    Some(Db {
        label: "postgres",
        url,
        _dir: None,
    })
}

/// SQLite, and PostgreSQL when available.
pub fn databases(test: &str) -> Vec<Db> {
    let mut out = vec![sqlite()];
    out.extend(postgres(test));
    out
}

pub async fn open(db: &Db) -> Arc<dyn Store> {
    let store = mfa_devices_server::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

pub const ENV_A: &str = "a0000000-0000-4000-8000-00000000000a";
pub const ENV_B: &str = "b0000000-0000-4000-8000-00000000000b";
pub const TOKEN_A: &str = "token-a";
pub const TOKEN_B: &str = "token-b";

/// An in-process server on 127.0.0.1:0 with tokens for environments A and B.
pub struct TestServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start(db: &Db) -> Self {
        Self::start_with(db, |state| state).await
    }

    /// A server whose state `configure` adjusts (e.g. an environment's device settings).
    pub async fn start_with(
        db: &Db,
        configure: impl FnOnce(mfa_devices_server::AppState) -> mfa_devices_server::AppState,
    ) -> Self {
        let store = mfa_devices_server::open(&db.url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let tokens = HashMap::from([
            (TOKEN_A.to_owned(), ENV_A.parse::<EnvironmentId>().unwrap()),
            (TOKEN_B.to_owned(), ENV_B.parse::<EnvironmentId>().unwrap()),
        ]);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = configure(mfa_devices_server::AppState::new(
            Arc::clone(&store),
            tokens,
            &base,
        ));
        let handle = tokio::spawn(mfa_devices_server::serve_state(
            listener,
            state,
            async move {
                let _ = rx.await;
            },
        ));
        // The schema is applied before serving: wait until /health answers.
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if client.get(format!("{base}/health")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        TestServer {
            base,
            store,
            client,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn devices_url(&self, env: &str, user: &str) -> String {
        format!("{}/v1/environments/{env}/users/{user}/devices", self.base)
    }

    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.client.get(url).bearer_auth(TOKEN_A)
    }

    pub fn post(&self, url: &str, content_type: &str, body: &str) -> reqwest::RequestBuilder {
        self.client
            .post(url)
            .bearer_auth(TOKEN_A)
            .header("Content-Type", content_type)
            .body(body.to_owned())
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().unwrap();
        }
    }
}

/// Sends and returns (status, JSON body or Null).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

/// The user's snapshot and the replay of the user's event log; they must be equal.
pub async fn snapshot_and_replay(
    store: &dyn Store,
    env: &str,
    user: &str,
) -> (UserDevices, UserDevices) {
    let (revision, json) = store
        .load_snapshot(env, user)
        .await
        .unwrap()
        .expect("a snapshot");
    let snapshot: UserDevices = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot.revision(), revision);
    let events: Vec<Event> = store
        .load_events(env, user)
        .await
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, (r, e))| {
            assert_eq!(r, i as u64 + 1, "the log has no gap");
            serde_json::from_str(&e).unwrap()
        })
        .collect();
    let replayed = UserDevices::replay(
        env.parse::<EnvironmentId>().unwrap(),
        user.parse::<UserId>().unwrap(),
        &events,
    )
    .expect("the stored log replays");
    (snapshot, replayed)
}

/// Percent-encodes every byte but ASCII letters and digits (query values in URLs).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
