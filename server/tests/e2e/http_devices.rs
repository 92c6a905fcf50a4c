//! Devices over real HTTP on both databases: seed 002's ordering rules, the crate's own
//! renderers as the expected bodies, replay == snapshot afterwards.

use mfa_devices::api_base::ApiBase;
use mfa_devices::user_devices::{
    DEVICE_ACTIVATE_MEDIA_TYPE, DEVICE_BLOCK_MEDIA_TYPE, DEVICE_UNBLOCK_MEDIA_TYPE,
    DEVICES_ORDER_REMOVE_MEDIA_TYPE, DEVICES_REORDER_MEDIA_TYPE,
};
use serde_json::{Value, json};

use crate::common::{ENV_A, TestServer, databases, send, snapshot_and_replay};

const USER: &str = "c0000000-0000-4000-8000-0000000000c1";

fn ids(list: &Value) -> Vec<String> {
    list["_embedded"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

fn order(list: &Value) -> Vec<String> {
    list["_embedded"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn create(server: &TestServer, body: Value) -> String {
    let (status, device) = send(server.post(
        &server.devices_url(ENV_A, USER),
        "application/json",
        &body.to_string(),
    ))
    .await;
    assert_eq!(status, 201, "{device}");
    device["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ordering_rules_end_to_end() {
    for db in databases("http_ordering") {
        let server = TestServer::start(&db).await;
        let url = server.devices_url(ENV_A, USER);
        let label = db.label;

        // A new user lists nothing.
        let (status, empty) = send(server.get(&format!("{url}?expand=order"))).await;
        assert_eq!(
            (status, empty["count"].clone(), order(&empty).len()),
            (200, json!(0), 0),
            "{label}"
        );

        // ACTIVE devices are appended to the order; the first is the default.
        let sms = create(
            &server,
            json!({"type": "SMS", "phone": "+15125551234", "status": "ACTIVE"}),
        )
        .await;
        let email = create(
            &server,
            json!({"type": "EMAIL", "email": "a@example.com", "status": "ACTIVE"}),
        )
        .await;
        // ACTIVATION_REQUIRED devices are listed after the ordered ones and join on activation.
        // A test-mode device shows its activation passcode as `test.otp` (nothing is sent).
        let (status, voice_body) = send(server.post(
            &url,
            "application/json",
            &json!({"type": "VOICE", "phone": "+15125550000", "testMode": true}).to_string(),
        ))
        .await;
        assert_eq!(status, 201, "{voice_body}");
        let voice = voice_body["id"].as_str().unwrap().to_owned();
        let passcode = voice_body["test"]["otp"].as_str().unwrap().to_owned();
        let (_, list) = send(server.get(&format!("{url}?expand=order"))).await;
        assert_eq!(order(&list), [sms.clone(), email.clone()], "{label}");
        assert_eq!(
            ids(&list),
            [sms.clone(), email.clone(), voice.clone()],
            "{label}"
        );
        let (status, activated) = send(server.post(
            &format!("{url}/{voice}"),
            DEVICE_ACTIVATE_MEDIA_TYPE,
            &json!({ "otp": passcode }).to_string(),
        ))
        .await;
        assert_eq!(
            (status, activated["status"].as_str()),
            (200, Some("ACTIVE")),
            "{label}: {activated}"
        );
        let (_, list) = send(server.get(&format!("{url}?expand=order"))).await;
        assert_eq!(
            order(&list),
            [sms.clone(), email.clone(), voice.clone()],
            "{label}"
        );

        // Reorder: exactly the ACTIVE devices; a wrong set is INVALID_DATA with details.
        let reorder = |ids: &[&String]| {
            json!({"order": ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>()}).to_string()
        };
        let (status, refused) =
            send(server.post(&url, DEVICES_REORDER_MEDIA_TYPE, &reorder(&[&email]))).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("INVALID_DATA")),
            "{label}: {refused}"
        );
        let (status, reordered) = send(server.post(
            &url,
            DEVICES_REORDER_MEDIA_TYPE,
            &reorder(&[&voice, &sms, &email]),
        ))
        .await;
        assert_eq!(status, 200, "{label}: {reordered}");
        assert_eq!(
            order(&reordered),
            [voice.clone(), sms.clone(), email.clone()],
            "{label}"
        );

        // Deleting the default makes the next one the default.
        let response = server
            .client
            .delete(format!("{url}/{voice}"))
            .bearer_auth(crate::common::TOKEN_A)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 204, "{label}");
        let (_, list) = send(server.get(&format!("{url}?expand=order"))).await;
        assert_eq!(order(&list), [sms.clone(), email.clone()], "{label}");
        let (status, gone) = send(server.get(&format!("{url}/{voice}"))).await;
        assert_eq!(
            (status, gone["code"].as_str()),
            (404, Some("NOT_FOUND")),
            "{label}"
        );

        // Remove the order: unordered, expand=order gives [].
        let (status, _) = send(server.post(&url, DEVICES_ORDER_REMOVE_MEDIA_TYPE, "")).await;
        assert_eq!(status, 200, "{label}");
        let (_, list) = send(server.get(&format!("{url}?expand=order"))).await;
        assert!(order(&list).is_empty(), "{label}");

        // Nickname, block, unblock.
        let (status, named) = send(
            server
                .client
                .put(format!("{url}/{sms}/nickname"))
                .bearer_auth(crate::common::TOKEN_A)
                .header("Content-Type", "application/json")
                .body(r#"{"nickname":"Work phone"}"#),
        )
        .await;
        assert_eq!(
            (status, named["nickname"].as_str()),
            (200, Some("Work phone")),
            "{label}: {named}"
        );
        let (status, blocked) =
            send(server.post(&format!("{url}/{sms}"), DEVICE_BLOCK_MEDIA_TYPE, "")).await;
        assert_eq!(
            (status, blocked["block"]["status"].as_str()),
            (200, Some("BLOCKED")),
            "{label}: {blocked}"
        );
        let (status, unblocked) =
            send(server.post(&format!("{url}/{sms}"), DEVICE_UNBLOCK_MEDIA_TYPE, "")).await;
        assert_eq!(
            (status, unblocked["block"]["status"].as_str()),
            (200, Some("UNBLOCKED")),
            "{label}"
        );

        // Filter: allowed and refused.
        let (status, smss) = send(server.get(&url).query(&[("filter", r#"type eq "SMS""#)])).await;
        assert_eq!((status, ids(&smss)), (200, vec![sms.clone()]), "{label}");
        let (status, refused) =
            send(server.get(&url).query(&[("filter", r#"nickname co "x""#)])).await;
        assert_eq!(
            (status, refused["details"][0]["code"].as_str()),
            (400, Some("INVALID_FILTER")),
            "{label}: {refused}"
        );
        // An unknown media type is 415.
        let (status, refused) = send(server.post(&url, "text/plain", "x")).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (415, Some("INVALID_REQUEST")),
            "{label}"
        );
        // A refused creation body lists its problems.
        let (status, refused) =
            send(server.post(&url, "application/json", r#"{"type":"SMS"}"#)).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("INVALID_DATA")),
            "{label}: {refused}"
        );

        // The HTTP bodies are the crate's own renderings of the stored state, and the stored
        // state is the replay of the stored log.
        let (snapshot, replayed) = snapshot_and_replay(server.store.as_ref(), ENV_A, USER).await;
        assert_eq!(replayed, snapshot, "{label}: replay == snapshot");
        let (_, list) = send(server.get(&format!("{url}?expand=order"))).await;
        let now = chrono::Utc::now();
        let expected = snapshot.render_list(
            &ApiBase::new(format!("{}/v1", server.base)),
            true,
            now,
            |_| true,
        );
        assert_eq!(
            list, expected,
            "{label}: GET …/devices == UserDevices::render_list"
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn creation_is_limited_and_every_write_is_logged_once() {
    for db in databases("http_limit") {
        let server = TestServer::start(&db).await;
        let url = server.devices_url(ENV_A, USER);
        for i in 0..5 {
            create(
                &server,
                json!({"type": "EMAIL", "email": format!("u{i}@example.com"), "status": "ACTIVE"}),
            )
            .await;
        }
        let (status, refused) = send(server.post(
            &url,
            "application/json",
            r#"{"type":"EMAIL","email":"x@example.com"}"#,
        ))
        .await;
        assert_eq!(status, 400, "{}: {refused}", db.label);
        // A refused command writes nothing: 5 events.
        assert_eq!(
            server.store.load_events(ENV_A, USER).await.unwrap().len(),
            5,
            "{}",
            db.label
        );
        // A command without events (remove the order twice) writes nothing the second time.
        send(server.post(&url, DEVICES_ORDER_REMOVE_MEDIA_TYPE, "")).await;
        let after_first = server.store.load_events(ENV_A, USER).await.unwrap().len();
        let (status, _) = send(server.post(&url, DEVICES_ORDER_REMOVE_MEDIA_TYPE, "")).await;
        assert_eq!(status, 200);
        assert_eq!(
            server.store.load_events(ENV_A, USER).await.unwrap().len(),
            after_first,
            "{}",
            db.label
        );
        server.stop().await;
    }
}

#[tokio::test]
async fn if_match_turns_a_lost_update_into_412() {
    for db in databases("http_if_match") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let url = server.devices_url(ENV_A, "c0000000-0000-4000-8000-0000000000c2");
        // `*` on a user without devices: precondition fails, nothing written.
        let (status, e) = send(
            server
                .post(&url, "application/json", r#"{"type":"TOTP"}"#)
                .header("If-Match", "*"),
        )
        .await;
        assert_eq!(
            (status, e["code"].as_str()),
            (412, Some("CONFLICT")),
            "{label}: {e}"
        );
        let created = server
            .post(&url, "application/json", r#"{"type":"TOTP"}"#)
            .send()
            .await
            .unwrap();
        let tag = created.headers()["etag"].to_str().unwrap().to_owned();
        assert_eq!(tag, "\"1\"", "{label}");
        let id = created.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let list = server.get(&url).send().await.unwrap();
        assert_eq!(list.headers()["etag"], tag.as_str());
        // Two clients read revision 1; the first write wins, the second is told (412).
        let nickname = |n: &str| {
            server
                .client
                .put(format!("{url}/{id}/nickname"))
                .bearer_auth(crate::common::TOKEN_A)
                .header("Content-Type", "application/json")
                .header("If-Match", tag.clone())
                .body(json!({"nickname": n}).to_string())
        };
        let (status, _) = send(nickname("first")).await;
        assert_eq!(status, 200, "{label}");
        let (status, e) = send(nickname("second")).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (412, Some("CONFLICT")),
            "{label}: {e}"
        );
        let (_, device) = send(server.get(&format!("{url}/{id}"))).await;
        assert_eq!(device["nickname"], "first", "{label}");
        // Without If-Match the same write is applied (PingOne-shaped clients).
        let (status, _) = send(
            server
                .client
                .put(format!("{url}/{id}/nickname"))
                .bearer_auth(crate::common::TOKEN_A)
                .header("Content-Type", "application/json")
                .body(r#"{"nickname":"third"}"#),
        )
        .await;
        assert_eq!(status, 200, "{label}");
        server.stop().await;
    }
}

/// `maxAllowedDevices` is the environment's setting, applied to stored users too: a snapshot
/// written under PingOne's default (5) and loaded by a server whose environment allows 2.
#[tokio::test]
async fn the_environments_device_limit_applies_to_stored_users() {
    use mfa_devices::user_devices::DeviceSettings;
    for db in databases("http_settings") {
        let label = db.label;
        // Two ACTIVE devices under the default settings.
        let server = TestServer::start(&db).await;
        for i in 0..2 {
            create(
                &server,
                json!({"type": "EMAIL", "email": format!("s{i}@example.com"), "status": "ACTIVE"}),
            )
            .await;
        }
        server.stop().await;
        // The environment now allows 2: the stored user is at the limit.
        let server = TestServer::start_with(&db, |state| {
            state.with_device_settings(ENV_A.parse().unwrap(), DeviceSettings::new(2).unwrap())
        })
        .await;
        let (status, body) = send(server.post(
            &server.devices_url(ENV_A, USER),
            "application/json",
            &json!({"type": "EMAIL", "email": "third@example.com", "status": "ACTIVE"}).to_string(),
        ))
        .await;
        assert_eq!(status, 400, "{label}: {body}");
        assert_eq!(
            (
                body["details"][0]["code"].as_str(),
                body["details"][0]["target"].as_str()
            ),
            (Some("LIMIT_EXCEEDED"), Some("maxAllowedDevices")),
            "{label}: {body}"
        );
        server.stop().await;
    }
}

/// Reads reuse the parsed aggregate only while the stored revision is unchanged: a commit made
/// behind the server's back (another process on the same database) is seen by the next read.
#[tokio::test]
async fn reads_see_commits_of_other_processes() {
    use mfa_devices::device::DeviceId;
    use mfa_devices::user_devices::Command;
    for db in databases("http_cache") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let url = server.devices_url(ENV_A, USER);
        let id = create(
            &server,
            json!({"type": "EMAIL", "email": "c@example.com", "status": "ACTIVE"}),
        )
        .await;
        let list = server.get(&url).send().await.unwrap();
        assert_eq!(list.headers()["etag"], "\"1\"", "{label}");
        // Another "process": its own store handle blocks the device (revision 2).
        let other = crate::common::open(&db).await;
        let (mut devices, _) = snapshot_and_replay(other.as_ref(), ENV_A, USER).await;
        let base = devices.revision();
        let events = devices
            .execute(
                Command::Block {
                    id: id.parse::<DeviceId>().unwrap(),
                },
                chrono::Utc::now(),
            )
            .unwrap();
        other
            .commit(mfa_devices_server::store::Commit {
                environment: ENV_A.into(),
                user: USER.into(),
                base_revision: base,
                events: events
                    .iter()
                    .map(|e| mfa_devices_server::store::EventRow {
                        revision: e.revision,
                        recorded_at: e.at,
                        event_type: "DEVICE_BLOCKED".into(),
                        event: serde_json::to_string(e).unwrap(),
                    })
                    .collect(),
                snapshot: serde_json::to_string(&devices).unwrap(),
                revision: devices.revision(),
                devices: vec![],
                activities: vec![],
                now: chrono::Utc::now(),
            })
            .await
            .unwrap();
        let response = server.get(&url).send().await.unwrap();
        assert_eq!(response.headers()["etag"], "\"2\"", "{label}");
        let list: Value = response.json().await.unwrap();
        assert_eq!(
            list["_embedded"]["devices"][0]["block"]["status"], "BLOCKED",
            "{label}: {list}"
        );
        // A write decides on the new revision too (no conflict loop, no stale state).
        let (status, body) = send(
            server
                .client
                .put(format!("{url}/{id}/nickname"))
                .bearer_auth(crate::common::TOKEN_A)
                .header("Content-Type", "application/json")
                .body(json!({"nickname": "after"}).to_string()),
        )
        .await;
        assert_eq!(status, 200, "{label}: {body}");
        assert_eq!(body["block"]["status"], "BLOCKED", "{label}: {body}");
        let (snapshot, replayed) = snapshot_and_replay(server.store.as_ref(), ENV_A, USER).await;
        assert_eq!((snapshot.revision(), replayed), (3, snapshot), "{label}");
        server.stop().await;
    }
}
