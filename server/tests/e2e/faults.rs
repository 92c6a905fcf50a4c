//! Faults on PostgreSQL: the database restarting under load (503 with PingOne's body, never a
//! 500, service resumes) and a server process SIGKILLed in the middle of writes (every
//! acknowledged write present after a restart, no half-applied command).

use std::time::Duration;

use mfa_devices_testkit::PostgresCluster;
use serde_json::{Value, json};

use crate::common::{Db, ENV_A, TOKEN_A, TestServer, snapshot_and_replay};
use crate::concurrency::Process;

const USER: &str = "20000000-0000-4000-8000-000000000001";

fn create_body(i: usize) -> String {
    json!({"type": "EMAIL", "email": format!("f{i}@example.com"), "status": "ACTIVE"}).to_string()
}

#[tokio::test]
async fn database_restart_answers_503_then_resumes() {
    let Some(mut pg) = PostgresCluster::start_or_skip("database_restart_answers_503_then_resumes")
    else {
        return;
    };
    let db = Db {
        label: "postgres",
        url: pg.url(),
        _dir: None,
    };
    let server = TestServer::start(&db).await;
    let url = server.devices_url(ENV_A, USER);
    let (status, _) =
        crate::common::send(server.post(&url, "application/json", &create_body(0))).await;
    assert_eq!(status, 201);

    pg.stop().unwrap();
    for i in 1..4 {
        let (status, body) =
            crate::common::send(server.post(&url, "application/json", &create_body(i))).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["code"].as_str(), Some("UNEXPECTED_ERROR"), "{body}");
        assert!(
            body["id"].is_string() && body["message"].is_string(),
            "PingOne's error body: {body}"
        );
        let (status, _) = crate::common::send(server.get(&url)).await;
        assert_eq!(status, 503);
    }
    let health = server
        .client
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 503);

    pg.start_again().unwrap();
    // The pool drops its dead connections; service resumes within a few requests.
    let mut resumed = false;
    for i in 10..40 {
        let (status, body) =
            crate::common::send(server.post(&url, "application/json", &create_body(i % 3 + 10)))
                .await;
        assert!(status == 201 || status == 503, "{status} {body}");
        if status == 201 {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed, "service resumes after the database restart");
    let (status, list) = crate::common::send(server.get(&url)).await;
    assert_eq!((status, list["count"].clone()), (200, json!(2)), "{list}");
    let (snapshot, replayed) = snapshot_and_replay(server.store.as_ref(), ENV_A, USER).await;
    assert_eq!(replayed, snapshot);
    server.stop().await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_keeps_every_acknowledged_write() {
    let Some(db) = crate::common::postgres("sigkill") else {
        return;
    };
    let process = Process::start(&db.url);
    let client = reqwest::Client::new();
    crate::concurrency::wait_healthy(&client, &process.base).await;
    let users = [
        "30000000-0000-4000-8000-000000000001",
        "30000000-0000-4000-8000-000000000002",
    ];
    // 4 writers (≤ 5 devices per user: create then delete), the server is killed meanwhile.
    let mut writers = Vec::new();
    for w in 0..4usize {
        let (client, base) = (client.clone(), process.base.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..60usize {
                let user = users[(w + i) % 2];
                let url = format!("{base}/v1/environments/{ENV_A}/users/{user}/devices");
                let sent = client
                    .post(&url)
                    .bearer_auth(TOKEN_A)
                    .header("Content-Type", "application/json")
                    .body(create_body(w * 1000 + i))
                    .send()
                    .await;
                let Ok(response) = sent else { break }; // the server is gone
                if response.status().as_u16() == 201 {
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    let id = body["id"].as_str().unwrap().to_owned();
                    acknowledged.push((user, id.clone()));
                    let deleted = client
                        .delete(format!("{url}/{id}"))
                        .bearer_auth(TOKEN_A)
                        .send()
                        .await;
                    match deleted {
                        Ok(r) if r.status().as_u16() == 204 => {
                            acknowledged.push((user, format!("deleted:{id}")))
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(process); // SIGKILL
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    // Restart on the same database: every acknowledged write is there, nothing half-applied.
    let process = Process::start(&db.url);
    crate::concurrency::wait_healthy(&client, &process.base).await;
    let store = crate::common::open(&db).await;
    for user in users {
        if store.load_snapshot(ENV_A, user).await.unwrap().is_none() {
            assert!(acknowledged.iter().all(|(u, _)| *u != user));
            continue;
        }
        let (snapshot, replayed) = snapshot_and_replay(store.as_ref(), ENV_A, user).await;
        assert_eq!(replayed, snapshot, "no half-applied command for {user}");
        let events: Vec<Value> = store
            .load_events(ENV_A, user)
            .await
            .unwrap()
            .iter()
            .map(|(_, e)| serde_json::from_str(e).unwrap())
            .collect();
        for (_, ack) in acknowledged.iter().filter(|(u, _)| *u == user) {
            let (kind, id) = match ack.strip_prefix("deleted:") {
                Some(id) => ("DEVICE_DELETED", id),
                None => ("DEVICE_CREATED", ack.as_str()),
            };
            assert!(
                events
                    .iter()
                    .any(|e| e["type"] == kind && e["device"]["id"] == id),
                "{kind} {id} lost"
            );
        }
        // The read model agrees with the snapshot.
        let url = format!(
            "{}/v1/environments/{ENV_A}/users/{user}/devices",
            process.base
        );
        let list: Value = client
            .get(&url)
            .bearer_auth(TOKEN_A)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["count"].as_u64(), Some(snapshot.list().len() as u64));
    }
    eprintln!(
        "sigkill: {} acknowledged writes survived the kill",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
    process.terminate();
}
