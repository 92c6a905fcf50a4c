//! Two server processes on one PostgreSQL database, several clients writing the same users at
//! once (bounded: 8 clients × 90 requests = 720 requests, 60 s, loopback only). Every
//! acknowledged write is in the event log, `replay(events) == snapshot` for every user, no 5xx.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::common::{ENV_A, TOKEN_A, postgres, snapshot_and_replay};

const CLIENTS: usize = 8;
const REQUESTS_PER_CLIENT: usize = 90;
const USERS: [&str; 3] = [
    "10000000-0000-4000-8000-000000000001",
    "10000000-0000-4000-8000-000000000002",
    "10000000-0000-4000-8000-000000000003",
];

pub struct Process {
    child: Child,
    pub base: String,
}

impl Process {
    pub fn start(database: &str) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_mfa-devices-server"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database",
                database,
            ])
            .args(["--token", &format!("{ENV_A}={TOKEN_A}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Process {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// SIGTERM: the server finishes what is in flight and exits 0.
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..500 {
        if let Ok(r) = client.get(format!("{base}/health")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{base} did not become healthy");
}

#[derive(Default)]
struct Acknowledged {
    created: Vec<(String, String)>,
    deleted: Vec<(String, String)>,
    renamed: Vec<(String, String, String)>,
    statuses: std::collections::BTreeMap<u16, usize>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_lose_no_acknowledged_write() {
    let Some(db) = postgres("concurrency") else {
        return;
    };
    let processes = [Process::start(&db.url), Process::start(&db.url)];
    let client = reqwest::Client::new();
    for p in &processes {
        wait_healthy(&client, &p.base).await;
    }
    let bases: Vec<String> = processes.iter().map(|p| p.base.clone()).collect();
    let acks = Arc::new(Mutex::new(Acknowledged::default()));
    let work = async {
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            let (client, bases, acks) = (client.clone(), bases.clone(), Arc::clone(&acks));
            tasks.push(tokio::spawn(async move {
                for i in 0..REQUESTS_PER_CLIENT {
                    let base = &bases[(c + i) % 2];
                    let user = USERS[(c + i) % USERS.len()];
                    let url = format!("{base}/v1/environments/{ENV_A}/users/{user}/devices");
                    let list: Value = client.get(&url).bearer_auth(TOKEN_A).send().await.unwrap().json().await.unwrap();
                    let ids: Vec<String> = list["_embedded"]["devices"].as_array().unwrap().iter()
                        .map(|d| d["id"].as_str().unwrap().to_owned()).collect();
                    let (status, body) = match (i % 3, ids.first(), ids.last()) {
                        (1, Some(first), _) => {
                            let nickname = format!("n-{c}-{i}");
                            let r = client.put(format!("{url}/{first}/nickname")).bearer_auth(TOKEN_A)
                                .json(&json!({"nickname": nickname})).send().await.unwrap();
                            let status = r.status().as_u16();
                            if status == 200 {
                                acks.lock().await.renamed.push((user.to_owned(), first.clone(), nickname));
                            }
                            (status, r.text().await.unwrap())
                        }
                        (2, _, Some(last)) if ids.len() >= 3 => {
                            let r = client.delete(format!("{url}/{last}")).bearer_auth(TOKEN_A).send().await.unwrap();
                            let status = r.status().as_u16();
                            if status == 204 {
                                acks.lock().await.deleted.push((user.to_owned(), last.clone()));
                            }
                            (status, String::new())
                        }
                        _ => {
                            let r = client.post(&url).bearer_auth(TOKEN_A)
                                .json(&json!({"type": "EMAIL", "email": format!("c{c}i{i}@example.com"), "status": "ACTIVE"}))
                                .send().await.unwrap();
                            let status = r.status().as_u16();
                            let text = r.text().await.unwrap();
                            if status == 201 {
                                let id = serde_json::from_str::<Value>(&text).unwrap()["id"].as_str().unwrap().to_owned();
                                acks.lock().await.created.push((user.to_owned(), id));
                            }
                            (status, text)
                        }
                    };
                    assert!(status < 500, "no 5xx: {status} {body}");
                    *acks.lock().await.statuses.entry(status).or_default() += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("bounded: 60 s");

    // Every acknowledged write is in the log; replay == snapshot for every user.
    let store = crate::common::open(&db).await;
    let acks = acks.lock().await;
    let mut logged: HashSet<(String, String, String)> = HashSet::new(); // (user, type, device or nickname)
    for user in USERS {
        let (snapshot, replayed) = snapshot_and_replay(store.as_ref(), ENV_A, user).await;
        assert_eq!(replayed, snapshot, "replay == snapshot for {user}");
        for (_, event) in store.load_events(ENV_A, user).await.unwrap() {
            let e: Value = serde_json::from_str(&event).unwrap();
            let kind = e["type"].as_str().unwrap().to_owned();
            let device = e["device"]["id"]
                .as_str()
                .or(e["deviceId"].as_str())
                .unwrap_or("")
                .to_owned();
            logged.insert((user.to_owned(), kind.clone(), device.clone()));
            if let (true, Some(nickname)) = (kind == "NICKNAME_CHANGED", e["after"].as_str()) {
                logged.insert((
                    user.to_owned(),
                    "NICKNAME".into(),
                    format!("{device}/{nickname}"),
                ));
            }
        }
    }
    for (user, id) in &acks.created {
        assert!(
            logged.contains(&(user.clone(), "DEVICE_CREATED".into(), id.clone())),
            "created {id} lost"
        );
    }
    for (user, id) in &acks.deleted {
        assert!(
            logged.contains(&(user.clone(), "DEVICE_DELETED".into(), id.clone())),
            "deleted {id} lost"
        );
    }
    for (user, id, nickname) in &acks.renamed {
        assert!(
            logged.contains(&(user.clone(), "NICKNAME".into(), format!("{id}/{nickname}"))),
            "nickname {nickname} lost"
        );
    }
    let mut retried = 0;
    for base in &bases {
        let health: Value = client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        retried += health["conflictsRetried"].as_u64().unwrap();
    }
    eprintln!(
        "concurrency: {} requests, statuses {:?}, acknowledged writes: {} created, {} deleted, {} renamed; conflicts retried: {retried}",
        CLIENTS * REQUESTS_PER_CLIENT * 2,
        acks.statuses,
        acks.created.len(),
        acks.deleted.len(),
        acks.renamed.len()
    );
    assert!(!acks.created.is_empty() && !acks.renamed.is_empty());
    for p in processes {
        p.terminate();
    }
}
