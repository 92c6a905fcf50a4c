//! ONE conformance suite for every `Store`: run against SQLite and PostgreSQL.

use chrono::{TimeZone, Utc};
use mfa_devices::device::{DeviceId, DeviceStatus, DeviceType, EnvironmentId, NewDevice, UserId};
use mfa_devices::filter::sql::SqlWhere;
use mfa_devices::user_devices::{Command, UserDevices};
use mfa_devices_server::Store;
use mfa_devices_server::store::{
    ActivityQuery, ActivityRow, Commit, DeviceRow, EventRow, FlowRow, PolicyRow, StoreError,
};

use crate::common::{Db, databases, open};

const ENV: &str = "e0000000-0000-4000-8000-000000000001";
const USER: &str = "f0000000-0000-4000-8000-000000000002";

fn t(s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, s).unwrap()
}

fn user() -> UserDevices {
    UserDevices::new(
        ENV.parse::<EnvironmentId>().unwrap(),
        USER.parse::<UserId>().unwrap(),
    )
}

fn active(kind: DeviceType) -> NewDevice {
    let mut d: NewDevice = serde_json::from_value(match kind {
        DeviceType::Sms | DeviceType::Voice => {
            serde_json::json!({"type": kind, "phone": "+15125551234"})
        }
        DeviceType::Email => serde_json::json!({"type": "EMAIL", "email": "a@example.com"}),
        _ => serde_json::json!({"type": kind}),
    })
    .unwrap();
    d.status = Some(DeviceStatus::Active);
    d
}

/// The commit the server would write for `command` on `devices` (minimal rows).
fn commit_for(devices: &mut UserDevices, command: Command, now: chrono::DateTime<Utc>) -> Commit {
    let base = devices.revision();
    let events = devices.execute(command, now).unwrap();
    Commit {
        environment: ENV.into(),
        user: USER.into(),
        base_revision: base,
        events: events
            .iter()
            .map(|e| EventRow {
                revision: e.revision,
                recorded_at: e.at,
                event_type: serde_json::to_value(e).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .into(),
                event: serde_json::to_string(e).unwrap(),
            })
            .collect(),
        snapshot: serde_json::to_string(&*devices).unwrap(),
        revision: devices.revision(),
        devices: devices
            .list()
            .into_iter()
            .map(|d| {
                let doc = serde_json::to_value(d).unwrap();
                DeviceRow {
                    id: d.id.to_string(),
                    device_type: doc["type"].as_str().unwrap().into(),
                    status: doc["status"].as_str().unwrap().into(),
                    nickname: d.nickname.clone(),
                    created_at: d.created_at,
                    updated_at: d.updated_at,
                    doc: doc.to_string(),
                }
            })
            .collect(),
        activities: events
            .iter()
            .map(|e| ActivityRow {
                id: e.id().to_string(),
                recorded_at: e.at,
                action_type: e.audit_type().into(),
                result_status: "SUCCESS".into(),
                device_id: e.device_id().map(|d| d.to_string()),
                correlation_id: None,
                doc: serde_json::json!({"id": e.id().to_string(), "revision": e.revision})
                    .to_string(),
            })
            .collect(),
        now,
    }
}

/// The read model's rows as the store returns them, comparable with a commit's (JSON parsed).
fn comparable(mut rows: Vec<DeviceRow>) -> Vec<(DeviceRow, serde_json::Value)> {
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows.into_iter()
        .map(|mut row| {
            let doc = serde_json::from_str(&row.doc).unwrap();
            row.doc.clear();
            (row, doc)
        })
        .collect()
}

/// The environment's activities: `(id, JSON)` in `(recorded_at, id)` order.
async fn activities(store: &dyn Store) -> Vec<(String, serde_json::Value)> {
    let all = ActivityQuery {
        filter: SqlWhere {
            sql: "TRUE".into(),
            params: vec![],
        },
        after: None,
        limit: 1000,
    };
    let rows = store.activities(ENV, all).await.unwrap();
    rows.into_iter()
        .map(|(_, id, doc)| (id, serde_json::from_str(&doc).unwrap()))
        .collect()
}

/// Creating ACTIVE device `n` (id bytes `[n; 16]`) of `kind`.
fn create(n: u8, kind: DeviceType) -> Command {
    Command::Create {
        id: DeviceId::from_bytes([n; 16]),
        device: active(kind),
        secrets: Default::default(),
    }
}

/// The user with device 1 (SMS) committed to `store` at revision 1.
async fn one_device(store: &dyn Store) -> UserDevices {
    let mut devices = user();
    let first = commit_for(&mut devices, create(1, DeviceType::Sms), t(0));
    store.commit(first).await.unwrap();
    devices
}

async fn each(test: &str, f: impl AsyncFn(&Db, &dyn Store)) {
    for db in databases(test) {
        let store = open(&db).await;
        eprintln!("{test}: {}", db.label);
        f(&db, store.as_ref()).await;
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    each("migrations", async |_, store| {
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        store.health().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn commits_then_replay_equals_snapshot() {
    each("replay", async |db, store| {
        let mut devices = user();
        let a = DeviceId::from_bytes([1; 16]);
        let b = DeviceId::from_bytes([2; 16]);
        for (i, command) in [
            create(1, DeviceType::Sms),
            create(2, DeviceType::Email),
            Command::Reorder { order: vec![b, a] },
            Command::Block { id: a },
            Command::Delete { id: b },
        ]
        .into_iter()
        .enumerate()
        {
            let commit = commit_for(&mut devices, command, t(i as u32));
            store.commit(commit).await.unwrap();
        }
        let (snapshot, replayed) = crate::common::snapshot_and_replay(store, ENV, USER).await;
        assert_eq!(snapshot, devices, "{}", db.label);
        assert_eq!(
            replayed, snapshot,
            "{}: replay(events) == snapshot",
            db.label
        );
        assert_eq!(
            store.users().await.unwrap(),
            vec![(ENV.to_owned(), USER.to_owned())]
        );
    })
    .await;
}

#[tokio::test]
async fn a_commit_from_a_stale_revision_conflicts_and_writes_nothing() {
    each("stale", async |db, store| {
        let devices = one_device(store).await;
        // Two writers decide from revision 1.
        let mut one = devices.clone();
        let mut two = devices.clone();
        let c1 = commit_for(&mut one, create(2, DeviceType::Email), t(1));
        let c2 = commit_for(&mut two, create(3, DeviceType::Voice), t(2));
        store.commit(c1).await.unwrap();
        assert_eq!(
            store.commit(c2.clone()).await,
            Err(StoreError::Conflict),
            "{}",
            db.label
        );
        // Revision 0 again (a second "first write" of the user) conflicts too.
        let mut fresh = user();
        let c0 = commit_for(&mut fresh, Command::RemoveOrder, t(3));
        assert_eq!(
            store.commit(c0).await,
            Err(StoreError::Conflict),
            "{}",
            db.label
        );
        let (snapshot, replayed) = crate::common::snapshot_and_replay(store, ENV, USER).await;
        assert_eq!(snapshot, one, "{}: the winner's state", db.label);
        assert_eq!(replayed, one);
        assert!(snapshot.device(&DeviceId::from_bytes([3; 16])).is_none());
    })
    .await;
}

#[tokio::test]
async fn a_snapshot_cas_failure_rolls_back_the_events() {
    each("atomic", async |db, store| {
        let devices = one_device(store).await;
        // Events at fresh revisions but a snapshot CAS against the wrong base: the event rows
        // are inserted first, then the snapshot update matches nothing -> everything rolls back.
        let block = |at| {
            commit_for(
                &mut devices.clone(),
                Command::Block {
                    id: DeviceId::from_bytes([1; 16]),
                },
                at,
            )
        };
        let mut bad = block(t(1));
        bad.base_revision = 7;
        assert_eq!(
            store.commit(bad).await,
            Err(StoreError::Conflict),
            "{}",
            db.label
        );
        assert_eq!(
            store.load_events(ENV, USER).await.unwrap().len(),
            1,
            "{}: no half-applied command",
            db.label
        );
        // A failure in the read model (duplicate device row) also rolls back events + snapshot.
        let mut dup = block(t(2));
        let row = dup.devices[0].clone();
        dup.devices.push(row);
        assert!(store.commit(dup).await.is_err(), "{}", db.label);
        assert_eq!(
            store.load_events(ENV, USER).await.unwrap().len(),
            1,
            "{}",
            db.label
        );
        let (snapshot, _) = crate::common::snapshot_and_replay(store, ENV, USER).await;
        assert_eq!(snapshot, devices, "{}", db.label);
    })
    .await;
}

#[tokio::test]
async fn the_read_model_and_activities_follow_every_commit() {
    each("read_model", async |db, store| {
        let mut devices = user();
        let (a, b) = (DeviceId::from_bytes([1; 16]), DeviceId::from_bytes([2; 16]));
        let mut recorded = Vec::new();
        for (i, command) in [
            create(1, DeviceType::Sms),
            create(2, DeviceType::Email),
            create(3, DeviceType::Voice),
            // One row of three changes, the others stay as they are.
            Command::Block { id: a },
            Command::Delete { id: b },
            Command::Unblock { id: a },
        ]
        .into_iter()
        .enumerate()
        {
            let commit = commit_for(&mut devices, command, t(i as u32));
            recorded.extend(commit.activities.iter().map(|a| a.id.clone()));
            store.commit(commit.clone()).await.unwrap();
            assert_eq!(
                comparable(store.device_rows(ENV, USER).await.unwrap()),
                comparable(commit.devices.clone()),
                "{}: the read model after commit {i}",
                db.label
            );
        }
        let stored: Vec<String> = activities(store)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(stored, recorded, "{}: one activity per event", db.label);
    })
    .await;
}

#[tokio::test]
async fn a_lost_race_writes_no_read_model_rows_and_no_activities() {
    each("lost_race", async |db, store| {
        let devices = one_device(store).await;
        let mut one = devices.clone();
        let mut two = devices.clone();
        let c1 = commit_for(&mut one, create(2, DeviceType::Email), t(1));
        let mut c2 = commit_for(&mut two, create(3, DeviceType::Voice), t(2));
        // The loser also rewrites the winner's device row and removes device 1's.
        c2.devices
            .retain(|d| d.id != DeviceId::from_bytes([1; 16]).to_string());
        store.commit(c1.clone()).await.unwrap();
        let before = activities(store).await;
        assert_eq!(
            store.commit(c2).await,
            Err(StoreError::Conflict),
            "{}",
            db.label
        );
        assert_eq!(
            comparable(store.device_rows(ENV, USER).await.unwrap()),
            comparable(c1.devices.clone()),
            "{}: the winner's read model",
            db.label
        );
        assert_eq!(activities(store).await, before, "{}", db.label);
        // A commit at a base revision the user never had (no snapshot) writes nothing either.
        let mut ghost = commit_for(&mut user(), create(4, DeviceType::Sms), t(3));
        ghost.user = "f0000000-0000-4000-8000-0000000000ff".into();
        ghost.base_revision = 3;
        assert_eq!(store.commit(ghost.clone()).await, Err(StoreError::Conflict));
        assert_eq!(store.load_snapshot(ENV, &ghost.user).await.unwrap(), None);
        assert!(
            store
                .load_events(ENV, &ghost.user)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .device_rows(ENV, &ghost.user)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(activities(store).await, before, "{}", db.label);
    })
    .await;
}

#[tokio::test]
async fn of_two_simultaneous_commits_from_one_revision_exactly_one_is_written() {
    each("simultaneous", async |db, store| {
        // Round 0 races two first writes (revision 0), later rounds two writers of revision
        // n: on PostgreSQL the loser waits for the winner's row lock, then finds the revision
        // moved on.
        let mut devices = user();
        let mut recorded = 0;
        for round in 0..12u8 {
            let mut one = devices.clone();
            let mut two = devices.clone();
            let c1 = commit_for(&mut one, create(2 * round + 1, DeviceType::Sms), t(0));
            let c2 = commit_for(&mut two, create(2 * round + 2, DeviceType::Email), t(0));
            let (r1, r2) = tokio::join!(store.commit(c1.clone()), store.commit(c2.clone()));
            let (winner, rows) = match (r1, r2) {
                (Ok(()), Err(StoreError::Conflict)) => (one, c1.devices),
                (Err(StoreError::Conflict), Ok(())) => (two, c2.devices),
                other => panic!("{}: round {round}: {other:?}", db.label),
            };
            let (snapshot, replayed) = crate::common::snapshot_and_replay(store, ENV, USER).await;
            assert_eq!(snapshot, winner, "{}: round {round}", db.label);
            assert_eq!(replayed, winner, "{}: round {round}", db.label);
            assert_eq!(
                comparable(store.device_rows(ENV, USER).await.unwrap()),
                comparable(rows),
                "{}: round {round}",
                db.label
            );
            recorded += 1;
            assert_eq!(
                activities(store).await.len(),
                recorded,
                "{}: the loser recorded no activity",
                db.label
            );
            devices = winner;
            if devices.list().len() >= 4 {
                // Stay under the device limit: delete the oldest.
                let oldest = devices.list()[0].id;
                let commit = commit_for(&mut devices, Command::Delete { id: oldest }, t(1));
                store.commit(commit).await.unwrap();
                recorded += 1;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_activity_already_recorded_is_kept_as_it_is() {
    each("activity_idempotent", async |db, store| {
        let mut devices = one_device(store).await;
        let mut next = commit_for(&mut devices, create(2, DeviceType::Email), t(1));
        let first = activities(store).await;
        assert_eq!(first.len(), 1, "{}: one_device's", db.label);
        // The same activity id twice in one commit: recorded once, the first document kept.
        let mut again = next.activities[0].clone();
        again.doc = r#"{"second":true}"#.into();
        next.activities.push(again);
        store.commit(next.clone()).await.unwrap();
        let stored = activities(store).await;
        let doc = |id: &str| {
            stored
                .iter()
                .filter(|(stored, _)| stored == id)
                .map(|(_, doc)| doc.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(stored.len(), 2, "{}", db.label);
        assert_eq!(
            doc(&next.activities[0].id),
            [serde_json::from_str::<serde_json::Value>(&next.activities[0].doc).unwrap()],
            "{}",
            db.label
        );
        // A later commit repeating a recorded activity id succeeds and changes nothing there.
        let mut later = commit_for(
            &mut devices,
            Command::Block {
                id: DeviceId::from_bytes([1; 16]),
            },
            t(2),
        );
        later.activities = vec![next.activities[0].clone()];
        later.activities[0].doc = r#"{"later":true}"#.into();
        store.commit(later).await.unwrap();
        assert_eq!(activities(store).await, stored, "{}", db.label);
        assert_eq!(store.load_events(ENV, USER).await.unwrap().len(), 3);
    })
    .await;
}

#[tokio::test]
async fn stored_flows_round_trip_with_a_version_check() {
    each("flows", async |db, store| {
        let row = FlowRow {
            environment: ENV.into(),
            id: "11111111-0000-4000-8000-000000000000".into(),
            user: USER.into(),
            version: 1,
            status: "OTP_REQUIRED".into(),
            flow: r#"{"schemaVersion":1,"status":"OTP_REQUIRED","nested":{"a":[1,2,3]}}"#.into(),
            now: t(0),
        };
        store.insert_flow(row.clone()).await.unwrap();
        assert_eq!(
            store.insert_flow(row.clone()).await,
            Err(StoreError::Conflict),
            "{}",
            db.label
        );
        let (version, user, flow) = store.load_flow(ENV, &row.id).await.unwrap().unwrap();
        assert_eq!((version, user.as_str()), (1, USER));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&flow).unwrap(),
            serde_json::from_str::<serde_json::Value>(&row.flow).unwrap()
        );
        let updated = FlowRow {
            version: 2,
            status: "COMPLETED".into(),
            flow: r#"{"status":"COMPLETED"}"#.into(),
            ..row.clone()
        };
        store.update_flow(updated.clone()).await.unwrap();
        assert_eq!(
            store.update_flow(updated).await,
            Err(StoreError::Conflict),
            "{}: stale version",
            db.label
        );
        assert_eq!(store.load_flow(ENV, &row.id).await.unwrap().unwrap().0, 2);
        assert_eq!(
            store.load_flow("other", &row.id).await.unwrap(),
            None,
            "{}: per environment",
            db.label
        );
    })
    .await;
}

#[tokio::test]
async fn policies_keep_one_default() {
    each("policies", async |db, store| {
        let row = |id: &str, is_default: bool| PolicyRow {
            id: id.into(),
            is_default,
            doc: format!(r#"{{"id":"{id}"}}"#),
        };
        store.put_policy(ENV, row("p1", true), t(0)).await.unwrap();
        store.put_policy(ENV, row("p2", false), t(1)).await.unwrap();
        store.put_policy(ENV, row("p2", true), t(2)).await.unwrap();
        let listed = store.list_policies(ENV).await.unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|p| (p.id.as_str(), p.is_default))
                .collect::<Vec<_>>(),
            [("p1", false), ("p2", true)],
            "{}",
            db.label
        );
        assert!(store.delete_policy(ENV, "p1").await.unwrap());
        assert!(!store.delete_policy(ENV, "p1").await.unwrap());
        assert_eq!(
            store
                .get_policy(ENV, "p2")
                .await
                .unwrap()
                .map(|p| p.is_default),
            Some(true)
        );
        assert!(store.list_policies("other-env").await.unwrap().is_empty());
    })
    .await;
}
