//! The crate's share of a server request: the `mfa-devices` calls (and the JSON of the crate's
//! types) one request makes, without HTTP or the database — to compare with the request's
//! latency from `server/bench/load.sh`.
//!
//! - `request/list_5`: parse the stored snapshot of a user with 5 devices, render the list,
//!   write the body (GET …/devices).
//! - `request/create`: parse a snapshot of 1 device, read the create body, decide the command,
//!   write the snapshot and the event rows, render the device (POST …/devices).
//! - `request/authn_*`: the three steps of a device authentication (create, device.select,
//!   otp.check), each with the stored flow read and written like the handlers do.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::{DeviceAuthentication, SelectDevice, StoredFlow};
use mfa_devices::device::hal::render_device;
use mfa_devices::device::{DeviceId, EnvironmentId, UserId};
use mfa_devices::user_devices::{Command, RequestTarget, UserDevices};

fn user_with(n: usize) -> UserDevices {
    let env = EnvironmentId::from_bytes([1; 16]);
    let user = UserId::from_bytes([2; 16]);
    let mut devices = UserDevices::new(env, user);
    for i in 0..n {
        let body = format!(
            r#"{{"type":"EMAIL","email":"u{i}@example.com","status":"ACTIVE","testMode":true}}"#
        );
        let command = Command::from_request(
            "application/json",
            RequestTarget::Devices {
                new_id: DeviceId::from_uuid(uuid::Uuid::new_v4()),
            },
            body.as_bytes(),
        )
        .unwrap();
        devices.execute(command, Utc::now()).unwrap();
    }
    devices
}

fn bench(c: &mut Criterion) {
    let base = ApiBase::new("http://127.0.0.1:8080/v1");
    let five = serde_json::to_string(&user_with(5)).unwrap();
    c.bench_function("request/list_5", |b| {
        b.iter(|| {
            let devices: UserDevices = serde_json::from_str(black_box(&five)).unwrap();
            let body = devices.render_list(&base, false, Utc::now(), |_| true);
            black_box(body.to_string())
        })
    });

    c.bench_function("request/list_5_parse_only", |b| {
        b.iter(|| black_box(serde_json::from_str::<UserDevices>(black_box(&five)).unwrap()))
    });
    let parsed: UserDevices = serde_json::from_str(&five).unwrap();
    c.bench_function("request/list_5_render_only", |b| {
        b.iter(|| {
            black_box(
                parsed
                    .render_list(&base, false, Utc::now(), |_| true)
                    .to_string(),
            )
        })
    });

    let one = serde_json::to_string(&user_with(1)).unwrap();
    let create = br#"{"type":"EMAIL","email":"new@example.com","status":"ACTIVE"}"#;
    c.bench_function("request/create", |b| {
        b.iter(|| {
            let mut devices: UserDevices = serde_json::from_str(black_box(&one)).unwrap();
            let new_id = DeviceId::from_uuid(uuid::Uuid::new_v4());
            let command = Command::from_request(
                "application/json",
                RequestTarget::Devices { new_id },
                create,
            )
            .unwrap();
            let now = Utc::now();
            let events = devices.execute(command, now).unwrap();
            let rows: Vec<String> = events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap().to_string())
                .collect();
            let snapshot = serde_json::to_string(&devices).unwrap();
            let docs: Vec<String> = devices
                .list()
                .into_iter()
                .map(|d| serde_json::to_value(d).unwrap().to_string())
                .collect();
            let device = devices.device_at(&new_id, now).unwrap();
            black_box((
                rows,
                snapshot,
                docs,
                render_device(&device, &base).to_string(),
            ))
        })
    });

    let two = user_with(2);
    let second = two.list()[1].id;
    let policy = mfa_devices_server::policies::built_in(&EnvironmentId::from_bytes([1; 16]));
    let auth_base = ApiBase::new("http://127.0.0.1:8080");
    let stored_two = serde_json::to_string(&two).unwrap();
    c.bench_function("request/authn_create", |b| {
        b.iter(|| {
            let devices: UserDevices = serde_json::from_str(black_box(&stored_two)).unwrap();
            let now = Utc::now();
            let mut flow =
                DeviceAuthentication::start(&devices, &policy, uuid::Uuid::new_v4(), now).unwrap();
            assert_eq!(flow.status().as_str(), "OTP_REQUIRED");
            let _ = flow.issue_otp(&mut rand::rng(), now);
            black_box((
                serde_json::to_string(&flow.to_stored()).unwrap(),
                flow.to_json(&auth_base).to_string(),
            ))
        })
    });
    let now = Utc::now();
    let mut started = DeviceAuthentication::start(&two, &policy, uuid::Uuid::nil(), now).unwrap();
    let _ = started.issue_otp(&mut rand::rng(), now);
    let stored_flow = serde_json::to_string(&started.to_stored()).unwrap();
    let select = format!(r#"{{"device":{{"id":"{second}"}}}}"#);
    c.bench_function("request/authn_select", |b| {
        b.iter(|| {
            let value: StoredFlow = serde_json::from_str(black_box(&stored_flow)).unwrap();
            let mut flow = DeviceAuthentication::from_stored(value).unwrap();
            let request = SelectDevice::from_json(select.as_bytes()).unwrap();
            let now = Utc::now();
            let _ = flow.select(request, now);
            let _ = flow.issue_otp(&mut rand::rng(), now);
            black_box((
                serde_json::to_string(&flow.to_stored()).unwrap(),
                flow.to_json(&auth_base).to_string(),
            ))
        })
    });
    let value: StoredFlow = serde_json::from_str(&stored_flow).unwrap();
    let mut selected = DeviceAuthentication::from_stored(value).unwrap();
    selected
        .select(SelectDevice::from_json(select.as_bytes()).unwrap(), now)
        .unwrap();
    let issued = selected.issue_otp(&mut rand::rng(), now).unwrap();
    let selected_flow = serde_json::to_string(&selected.to_stored()).unwrap();
    let otp = issued.code.clone();
    c.bench_function("request/authn_check", |b| {
        b.iter(|| {
            let value: StoredFlow = serde_json::from_str(black_box(&selected_flow)).unwrap();
            let mut flow = DeviceAuthentication::from_stored(value).unwrap();
            let mut devices: UserDevices = serde_json::from_str(&stored_two).unwrap();
            let now = Utc::now();
            // As the server does: a loaded flow checks only once synced with the devices.
            flow.sync_with(&devices, now);
            let outcome = flow.check_otp(&otp, now).unwrap();
            for record in &outcome.records {
                let _ = devices.execute(record.to_command(), now);
            }
            flow.sync_with(&devices, now);
            black_box((
                serde_json::to_string(&devices).unwrap(),
                serde_json::to_string(&flow.to_stored()).unwrap(),
                flow.to_json(&auth_base).to_string(),
            ))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
