//! The round trip of an authentication, as a server embeds this crate: in memory, std only.
//!
//! ```text
//! cargo run --example round_trip
//! ```
//!
//! A server keeps two things per user and flow, between requests:
//!
//! - the user's devices, a [`UserDevices`] aggregate, stored as its JSON snapshot with its
//!   revision (the aggregate owns every lock and failure counter);
//! - each authentication in progress, a [`DeviceAuthentication`], stored as its typed,
//!   versioned [`StoredFlow`] (the flow itself is deliberately not `Serialize`).
//!
//! Every request does the same five things: load both, `sync_with` the aggregate (a loaded
//! flow refuses checks until it is synced: a device may have been blocked meanwhile, another
//! flow may have counted failures), call the flow, execute the records the flow hands back on
//! the aggregate under the revision loaded (then `sync_with` again), store both. This example walks
//! through it: create devices, start a flow, issue a passcode, check a wrong one and the right
//! one, with a store-and-reload between every request.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::{
    Action, AuthenticationStatus, DeviceAuthentication, DeviceRecord, OTP_CHECK_MEDIA_TYPE,
    Outcome, StoredFlow,
};
use mfa_devices::device::{DeviceId, DeviceStatus, DeviceType, EnvironmentId, NewDevice, UserId};
use mfa_devices::error::ApiError;
use mfa_devices::policy::DeviceAuthenticationPolicy;
use mfa_devices::user_devices::{Command, UserDevices};
use uuid::Uuid;

/// Step 0: storage. A real server uses a database; the rules are the same:
/// - the devices are stored with their revision, and written back only if nobody else wrote
///   them meanwhile (`UserDevices::execute_at_revision` refuses a stale revision);
/// - a flow is stored as the JSON text of its `StoredFlow`. It is a session secret (it holds
///   the user's device list); it never holds a live passcode in clear.
#[derive(Default)]
struct Store {
    devices: HashMap<UserId, String>,
    flows: HashMap<Uuid, String>,
}

impl Store {
    fn load_devices(&self, user: UserId) -> Result<UserDevices, Box<dyn std::error::Error>> {
        let text = self.devices.get(&user).ok_or("no such user")?;
        Ok(serde_json::from_str(text)?)
    }

    fn save_devices(&mut self, devices: &UserDevices) -> Result<(), serde_json::Error> {
        self.devices
            .insert(devices.user_id(), serde_json::to_string(devices)?);
        Ok(())
    }

    fn load_flow(&self, id: Uuid) -> Result<DeviceAuthentication, Box<dyn std::error::Error>> {
        let text = self.flows.get(&id).ok_or("no such flow")?;
        let stored: StoredFlow = serde_json::from_str(text)?;
        // A stored form written by a newer release is refused here, loudly.
        Ok(DeviceAuthentication::from_stored(stored)?)
    }

    fn save_flow(&mut self, flow: &DeviceAuthentication) -> Result<(), serde_json::Error> {
        self.flows
            .insert(flow.id(), serde_json::to_string(&flow.to_stored())?);
        Ok(())
    }
}

/// Random bytes for passcodes and ids. **Not a CSPRNG**: a real server draws them from the
/// operating system (the `getrandom` crate, or `rand::rngs::OsRng`). This crate never draws
/// randomness itself; it is always an argument.
struct NotRandom(u64);

impl NotRandom {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        for b in &mut out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0.to_le_bytes()[0];
        }
        out
    }
}

/// The start of every request on a flow: load the devices and the flow, and bring the flow up
/// to date with the devices (`sync_with`) before anything else. Returns the revision loaded.
fn load(
    store: &Store,
    user: UserId,
    flow_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(UserDevices, DeviceAuthentication, u64), Box<dyn std::error::Error>> {
    let devices = store.load_devices(user)?;
    let mut flow = store.load_flow(flow_id)?;
    // An administrator may have blocked or deleted a device, or another flow of the same user
    // may have counted wrong passcodes: the flow decides on the aggregate's state, never on its
    // own stale copy (a check before this answers `FlowError::NotSynced`).
    flow.sync_with(&devices, now);
    let revision = devices.revision();
    Ok((devices, flow, revision))
}

/// After the flow answered: execute what it hands back on the aggregate (it owns the lock
/// state), at the time the flow observed it, under the revision loaded — if another request
/// changed the devices meanwhile, this fails with 409 and the whole request is retried from
/// `load` (so concurrent flows share one failure count). Then `sync_with` again: the push
/// limit may have locked a device, which the flow cannot foresee.
fn record(
    devices: &mut UserDevices,
    loaded_revision: u64,
    flow: &mut DeviceAuthentication,
    records: &[DeviceRecord],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut revision = loaded_revision;
    for r in records {
        devices.execute_at_revision(revision, r.to_command(), r.at().unwrap_or(now))?;
        revision = devices.revision();
    }
    flow.sync_with(devices, now);
    Ok(())
}

/// How a server answers a check: 200 with the flow, or PingOne's error body.
fn answer(flow: &DeviceAuthentication, outcome: &Outcome) -> String {
    let base = ApiBase::new("https://auth.example.com");
    match &outcome.result {
        Ok(()) => format!("200 {}", flow.to_json(&base)["status"]),
        Err(e) => {
            let api = ApiError::from(e.clone());
            format!(
                "{} {}",
                api.http_status(),
                serde_json::to_string(&api).unwrap_or_default()
            )
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut store = Store::default();
    let mut random = NotRandom(0x9E37_79B9_7F4A_7C15);
    // The crate never reads a clock either: `now` is an argument (here, a simulated clock).
    let mut now = Utc
        .with_ymd_and_hms(2025, 3, 5, 12, 0, 0)
        .single()
        .ok_or("time")?;
    let env = EnvironmentId::from_bytes(random.bytes());
    let user = UserId::from_bytes(random.bytes());

    // The device authentication policy, as `GET …/deviceAuthenticationPolicies/{id}` returns
    // it: email and TOTP enabled, 3 wrong passcodes lock the device for 2 minutes.
    let policy: DeviceAuthenticationPolicy = serde_json::from_str(
        r#"{
            "id": "8bec1d08-c0fb-4d34-b472-2610199704c7",
            "email": {"enabled": true, "otp": {
                "failure": {"count": 3, "coolDown": {"duration": 2, "timeUnit": "MINUTES"}},
                "lifeTime": {"duration": 5, "timeUnit": "MINUTES"}, "otpLength": 6}},
            "totp": {"enabled": true}
        }"#,
    )?;

    // ---- Step 1: the user's devices (POST …/users/{id}/devices) ----------------------------
    let mut devices = UserDevices::new(env, user);
    let email = DeviceId::from_bytes(random.bytes());
    let totp = DeviceId::from_bytes(random.bytes());
    let mut body = NewDevice::new(DeviceType::Email);
    body.email = Some("john@example.com".into());
    body.status = Some(DeviceStatus::Active);
    devices.execute(
        Command::Create {
            id: email,
            device: body,
        },
        now,
    )?;
    let mut body = NewDevice::new(DeviceType::Totp);
    body.status = Some(DeviceStatus::Active);
    devices.execute(
        Command::Create {
            id: totp,
            device: body,
        },
        now,
    )?;
    store.save_devices(&devices)?;
    println!(
        "devices created: email (the default device) and TOTP, revision {}",
        devices.revision()
    );

    // ---- Step 2: start a flow (POST …/deviceAuthentications) -------------------------------
    let flow_id = Uuid::from_bytes(random.bytes());
    let devices = store.load_devices(user)?;
    let mut flow = DeviceAuthentication::start(&devices, &policy, flow_id, now)?;
    assert_eq!(flow.status(), AuthenticationStatus::OtpRequired);
    // The default device receives its passcode: issue it from random bytes (2 × otpLength
    // is plenty) and send it. The flow keeps only a salted hash of it.
    let sent = flow.issue_otp(&random.bytes::<12>(), now)?;
    println!(
        "flow {} is {}: send passcode {} to the email device (valid until {})",
        flow.id(),
        flow.status(),
        sent.code,
        sent.expires_at
    );
    store.save_flow(&flow)?;

    // ---- Step 3: a wrong passcode (POST …/deviceAuthentications/{id}, otp.check) ------------
    now += TimeDelta::seconds(20);
    let (mut devices, mut flow, revision) = load(&store, user, flow_id, now)?;
    let Action::CheckOtp(check) =
        Action::from_request(OTP_CHECK_MEDIA_TYPE, br#"{"otp": "000000"}"#)?
    else {
        return Err("not an OTP check".into());
    };
    let outcome = flow.check_otp(&check.otp, now)?;
    // The records must be executed whatever the answer: here, one OTP failure.
    record(&mut devices, revision, &mut flow, &outcome.records, now)?;
    store.save_devices(&devices)?;
    store.save_flow(&flow)?;
    println!("wrong passcode → {}", answer(&flow, &outcome));
    println!(
        "  the aggregate counted it: {} failure(s) on the email device",
        devices.counters(&email).otp_failures
    );

    // ---- Step 4: the right passcode ---------------------------------------------------------
    now += TimeDelta::seconds(15);
    // Reloaded (and synced): the flow continues exactly where it was.
    let (mut devices, mut flow, revision) = load(&store, user, flow_id, now)?;
    let outcome = flow.check_otp(&sent.code, now)?;
    record(&mut devices, revision, &mut flow, &outcome.records, now)?;
    store.save_devices(&devices)?;
    store.save_flow(&flow)?;
    println!("right passcode → {}", answer(&flow, &outcome));
    assert_eq!(flow.status(), AuthenticationStatus::Completed);
    assert_eq!(
        devices.counters(&email).otp_failures,
        0,
        "a success restarts the counter"
    );

    // ---- Step 5: the stored flow, reloaded once more ----------------------------------------
    let reloaded = store.load_flow(flow_id)?;
    assert_eq!(reloaded, flow);
    // A loaded flow answers no check before it is synced (the order `load` enforces above).
    let mut unsynced = reloaded.clone();
    assert!(!unsynced.is_synced());
    assert!(unsynced.check_otp(&sent.code, now).is_err());
    let stored_text = store.flows.get(&flow_id).ok_or("stored")?;
    assert!(!stored_text.contains(&sent.code), "no passcode in clear");
    println!(
        "stored flow: {} bytes, {:?}; devices at revision {}",
        stored_text.len(),
        serde_json::from_str::<StoredFlow>(stored_text)?,
        store.load_devices(user)?.revision()
    );
    Ok(())
}
