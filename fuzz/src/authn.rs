use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::DeviceRecord;
use mfa_devices::authn::{
    Action, AuthenticationStatus, CheckAssertion, Compatibility, DEVICE_SELECT_MEDIA_TYPE,
    DeviceAuthentication, DeviceAuthenticationBody, DeviceSnapshot, FailureCode, Outcome,
    SelectDevice,
};
use mfa_devices::device::{
    BlockState, Device, DeviceDetails, DeviceId, DeviceStatus, DeviceType, EnvironmentId,
    LockReason, LockState, MobileApplication, UserId, timestamp,
};
use mfa_devices::error::ApiError;
use mfa_devices::lock::{FailureRule, PushLimitRule};
use mfa_devices::policy::resolved::{FlowPolicy, MobileApp, SelectionMode};
use mfa_devices::user_devices::{Command, UserDevices};

/// Reads bytes as numbers; zeros once exhausted.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }
    fn bit(&mut self) -> bool {
        self.u8() & 1 == 1
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = self.pos.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        &self.data[start..end]
    }
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

const TYPES: [&str; 12] = [
    "EMAIL",
    "SMS",
    "VOICE",
    "WHATSAPP",
    "TOTP",
    "OATH_TOKEN",
    "MOBILE",
    "FIDO2",
    "PLATFORM",
    "SECURITY_KEY",
    "BROWSER",
    "MAGIC_RING",
];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

/// Builds up to 8 devices, a policy and a start, from the bytes.
fn scenario(b: &mut Bytes<'_>) -> (DeviceSnapshot, FlowPolicy) {
    let env = EnvironmentId::from_bytes([0xE0; 16]);
    let user = UserId::from_bytes([0x05; 16]);
    let mut snapshot = DeviceSnapshot::new(env, user);
    let n = b.u8() % 9;
    for i in 0..n {
        let t = DeviceType::from(TYPES[usize::from(b.u8()) % TYPES.len()]);
        let flags = b.u8();
        let status = if flags & 0b1 == 0 {
            DeviceStatus::Active
        } else if flags & 0b10 == 0 {
            DeviceStatus::Other("PENDING".into())
        } else {
            DeviceStatus::ActivationRequired
        };
        let mut d = Device::new(
            DeviceId::from_bytes([i.wrapping_add(1); 16]),
            env,
            user,
            t,
            status,
            t0() - TimeDelta::days(1),
        );
        let offset = TimeDelta::seconds(i64::from(b.u8()) * 4 - 300);
        d.lock = match (flags >> 2) & 0b11 {
            0 => None,
            1 => Some(LockState::unlocked()),
            2 => Some(LockState::locked(t0() + offset, LockReason::Otp)),
            _ => Some(LockState {
                expires_at: None,
                ..LockState::locked(t0(), LockReason::Push)
            }),
        };
        if flags & 0b1_0000 != 0 {
            d.block = Some(BlockState::blocked(t0()));
        }
        let extra = b.u8();
        match &mut d.details {
            DeviceDetails::Email(e) => {
                e.email = Some("john@pingidentity.com".into());
                e.test_mode = Some(extra & 1 == 1);
            }
            DeviceDetails::Phone(p) => {
                p.phone = Some("+1 (512) 555-1200".into());
                p.test_mode = Some(extra & 1 == 1);
            }
            DeviceDetails::Mobile(m) => {
                m.application = (extra & 0b11 != 0).then(|| MobileApplication {
                    id: Some(format!("app-{}", extra & 0b11)),
                    ..Default::default()
                });
                m.push_enabled = [None, Some(true), Some(false)]
                    .get(usize::from(extra >> 2) % 3)
                    .copied()
                    .flatten();
            }
            DeviceDetails::Fido2(f) => {
                f.attributes = Some(mfa_devices::device::Fido2Attributes {
                    is_cross_platform: [None, Some(true), Some(false)]
                        .get(usize::from(extra) % 3)
                        .copied()
                        .flatten(),
                    ..Default::default()
                });
            }
            _ => {}
        }
        if flags & 0b10_0000 != 0 {
            snapshot.otp_failures.insert(d.id, u32::from(extra % 4));
        }
        snapshot.devices.push(d);
    }
    if b.bit() {
        let rotate = usize::from(b.u8());
        let mut order: Vec<DeviceId> = snapshot
            .devices
            .iter()
            .filter(|d| d.is_active())
            .map(|d| d.id)
            .collect();
        if !order.is_empty() {
            let k = rotate % order.len();
            order.rotate_left(k);
        }
        snapshot.order = order;
    }
    let mut policy = FlowPolicy::all_enabled();
    let enabled = u16::from_le_bytes([b.u8(), b.u8()]);
    policy.sms.enabled = enabled & 1 == 0;
    policy.email.enabled = enabled & 2 == 0;
    policy.voice.enabled = enabled & 4 == 0;
    policy.whatsapp.enabled = enabled & 8 == 0;
    policy.totp.enabled = enabled & 16 == 0;
    policy.fido2.enabled = enabled & 32 == 0;
    policy.mobile.enabled = enabled & 64 == 0;
    policy.selection = match b.u8() % 3 {
        0 => SelectionMode::DefaultToFirst,
        1 => SelectionMode::PromptToSelect,
        _ => SelectionMode::AlwaysDisplayDevices,
    };
    let limits = b.u8();
    let limit = FailureRule::new(
        u32::from(limits % 4).max(1),
        TimeDelta::minutes(i64::from(limits >> 6)),
    )
    .unwrap_or_default();
    policy.email.failure = limit;
    policy.sms.failure = limit;
    policy.totp.failure = limit;
    policy.fido2.failure = limit;
    policy.mobile.failure = limit;
    policy.sms.otp_length = u32::from(b.u8() % 12);
    for app in 1..=2u8 {
        let bits = b.u8();
        if bits & 1 == 0 {
            policy.mobile.applications.push(MobileApp {
                push: bits & 2 == 0,
                otp: bits & 4 == 0,
                push_timeout: TimeDelta::seconds(40 + i64::from(bits >> 3)),
                ..MobileApp::new(format!("app-{app}"))
            });
        }
    }
    (snapshot, policy)
}

/// The usable-device rule, written again from the spec, independently of `authn::usability`:
/// `Some(true)` usable, `Some(false)` unusable only because of a lock or block, `None` otherwise.
fn reference(
    d: &Device,
    p: &FlowPolicy,
    compat: Option<&Compatibility>,
    now: DateTime<Utc>,
) -> Option<bool> {
    if d.status != DeviceStatus::Active {
        return None;
    }
    let webauthn = matches!(
        d.device_type,
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey
    );
    let method = match d.device_type {
        DeviceType::Email => p.email.enabled,
        DeviceType::Sms => p.sms.enabled,
        DeviceType::Voice => p.voice.enabled,
        DeviceType::Whatsapp => p.whatsapp.enabled,
        DeviceType::Totp | DeviceType::OathToken => p.totp.enabled,
        DeviceType::Fido2 | DeviceType::Platform | DeviceType::SecurityKey => p.fido2.enabled,
        DeviceType::Mobile => {
            let app = match &d.details {
                DeviceDetails::Mobile(m) => m.application.as_ref().and_then(|a| a.id.clone()),
                _ => None,
            };
            p.mobile.enabled
                && p.mobile
                    .applications
                    .iter()
                    .any(|a| Some(&a.id) == app.as_ref() && (a.push || a.otp))
        }
        _ => false,
    };
    if !method {
        return None;
    }
    if webauthn {
        let platform_bound = match &d.details {
            DeviceDetails::Fido2(f) => {
                f.attributes.as_ref().and_then(|a| a.is_cross_platform) == Some(false)
            }
            _ => d.device_type == DeviceType::Platform,
        };
        match compat {
            Some(Compatibility::None) => return None,
            Some(Compatibility::SecurityKeyOnly) if platform_bound => return None,
            _ => {}
        }
    }
    let locked = d.lock.as_ref().is_some_and(|l| {
        l.status.as_str() == "LOCKED" && l.expires_at.is_none_or(|until| now < until)
    });
    let blocked = d
        .block
        .as_ref()
        .is_some_and(|b| b.status.as_str() == "BLOCKED");
    Some(!locked && !blocked)
}

fn check_invariants(
    flow: &DeviceAuthentication,
    policy: &FlowPolicy,
    now: DateTime<Utc>,
    changed: bool,
) {
    let status = flow.status();
    assert!(
        AuthenticationStatus::KNOWN.contains(&status),
        "unknown status {status}"
    );
    let compat = flow.compatibility();
    let usable: Vec<DeviceId> = flow
        .devices()
        .iter()
        .filter(|d| reference(d, policy, compat, now) == Some(true))
        .map(|d| d.id)
        .collect();
    let temporary: Vec<DeviceId> = flow
        .devices()
        .iter()
        .filter(|d| reference(d, policy, compat, now) == Some(false))
        .map(|d| d.id)
        .collect();
    let got: Vec<DeviceId> = flow.usable_devices(now).iter().map(|d| d.id).collect();
    assert_eq!(got, usable, "usable set differs from the reference rule");
    match status {
        AuthenticationStatus::OtpRequired
        | AuthenticationStatus::AssertionRequired
        | AuthenticationStatus::PushConfirmationRequired => {
            let selected = flow.selected_device().expect("a challenge has a device");
            assert!(
                usable.contains(&selected),
                "selected device {selected} is not usable in {status}"
            );
        }
        _ => {}
    }
    if changed {
        if let Some(error) = flow.error() {
            assert_eq!(status, AuthenticationStatus::Failed);
            if error.code == FailureCode::NoUsableDevices {
                assert!(usable.is_empty(), "FAILED with usable devices");
                let listed: Vec<DeviceId> =
                    error.unavailable_devices.iter().map(|r| r.id).collect();
                assert_eq!(listed, temporary, "unavailableDevices");
            }
        }
        if matches!(
            status,
            AuthenticationStatus::DeviceSelectionRequired
                | AuthenticationStatus::PushConfirmationTimedOut
        ) {
            let listed: Vec<DeviceId> = flow
                .embedded()
                .map(|e| e.devices.iter().map(|d| d.id).collect())
                .unwrap_or_default();
            assert_eq!(listed, usable, "_embedded.devices");
        }
    }
    if status == AuthenticationStatus::Failed {
        assert!(flow.error().is_some());
    }
    if !changed {
        return;
    }
    // Rendering (after each change): links per status; the read-backs are sampled, see
    // `check_round_trips`.
    let json = flow.to_json(&base());
    let links = json["_links"].as_object().expect("links");
    assert_eq!(links.len(), status.link_relations().len());
    // No secrets and masked values in the end-user view.
    let text = json["_embedded"].to_string();
    assert!(!text.contains("john@"), "unmasked email");
    assert!(!text.contains("555-1200"), "unmasked phone");
}

fn base() -> ApiBase {
    ApiBase::new("https://auth.pingone.com")
}

/// The read-back oracles: the rendered JSON reads back to the same body, and the stored form
/// (with the private state) reads back to an equal flow. They are the costliest checks of a
/// step (two JSON round trips through `serde_json::Value`: about half of the body's time), so
/// they run on a sample of the states a run goes through: the start, the first state of each
/// status the run reaches, every 16th step that changed the flow, and the final state unless it
/// equals the last one read back (see `authn_flow_statuses`).
fn check_round_trips(flow: &DeviceAuthentication) {
    let base = base();
    let json = flow.to_json(&base);
    let again: DeviceAuthenticationBody = serde_json::from_value(json.clone()).expect("reads back");
    assert_eq!(again.to_json(&base), json);
    // Storage: the flow with its private state reads back equal.
    let stored = serde_json::to_string(&flow.to_stored()).expect("stored form");
    let restored = DeviceAuthentication::from_stored(serde_json::from_str(&stored).expect("JSON"))
        .expect("reads back");
    assert_eq!(&restored, flow, "stored round-trip");
}

/// The flow's devices equal the aggregate's (lock, block, status), but for `except`; a
/// terminal flow is frozen (sync leaves it alone), so the mirror holds while it runs.
fn check_mirror(
    flow: &DeviceAuthentication,
    u: &UserDevices,
    now: DateTime<Utc>,
    except: &[DeviceId],
) {
    if flow.status().is_terminal() {
        return;
    }
    for d in flow.devices().iter().filter(|d| !except.contains(&d.id)) {
        let stored = u.device_at(&d.id, now).expect("the flow's devices exist");
        assert_eq!(
            d.is_locked(now),
            stored.is_locked(now),
            "lock mirror of {}",
            d.id
        );
        assert_eq!(
            d.is_blocked(),
            stored.is_blocked(),
            "block mirror of {}",
            d.id
        );
        assert_eq!(d.status, stored.status);
    }
}

fn check_error(e: &mfa_devices::authn::FlowError) {
    check_api_error(&ApiError::from(e.clone()));
    assert!(!e.to_string().is_empty());
}

fn check_api_error(api: &ApiError) {
    assert!(matches!(api.http_status(), 400 | 415 | 500), "{api}");
    assert!(!api.to_string().is_empty());
}

fn check_outcome(o: Outcome, devices: &[DeviceId], records: &mut Vec<DeviceRecord>) {
    for r in &o.records {
        assert!(
            devices.contains(&r.device()),
            "record for an unknown device"
        );
    }
    if let Err(e) = &o.result {
        check_error(e);
    }
    records.extend(o.records);
}

/// Fuzz body of `authn_flow`: a device set, a policy and a sequence of actions (selections by
/// index, arbitrary select bodies, passcodes, assertions, push answers, time) from the bytes.
/// Invariants after every step: the selected device of a challenge is usable by a reference
/// rule written independently; FAILED/NO_USABLE_DEVICES lists exactly the devices that only a
/// lock or block keeps out; the device lists match the reference; terminal flows never change;
/// every error converts to a 400/415/500 body; links and masking of the rendered JSON after every
/// change. The rendered JSON reads back to itself and the stored form to an equal flow at the
/// start, at the first state of each status reached, every 16th change and at the end when the
/// flow changed since the last read-back (`check_round_trips`).
pub fn authn_flow(data: &[u8]) {
    let _ = authn_flow_statuses(data);
}

/// [`authn_flow`], returning the status after the start and after every step (so that tests can
/// check which branches a seed reaches).
pub fn authn_flow_statuses(data: &[u8]) -> Vec<AuthenticationStatus> {
    let mut b = Bytes { data, pos: 0 };
    let (snapshot, policy) = scenario(&mut b);
    let ids: Vec<DeviceId> = snapshot.devices.iter().map(|d| d.id).collect();
    let mut now = t0();
    // With the real aggregate when the scenario is one it can hold (its counters start at zero,
    // so scenarios with earlier failures run on the snapshot alone): every record is executed
    // on it, and the flow's mirror must equal it after every step.
    let mut agg = if snapshot.otp_failures.is_empty() {
        UserDevices::restore(
            snapshot.environment_id,
            snapshot.user_id,
            snapshot.devices.clone(),
            (!snapshot.order.is_empty()).then(|| snapshot.order.clone()),
            0,
        )
        .ok()
    } else {
        None
    };
    let snapshot = match &agg {
        Some(u) => DeviceSnapshot::of(u, now),
        None => snapshot,
    };
    let mut flow = match DeviceAuthentication::start_with(
        snapshot,
        policy.clone(),
        uuid::Uuid::from_bytes([0xA0; 16]),
        now,
    ) {
        Ok(flow) => flow,
        Err(e) => {
            check_error(&e);
            return Vec::new();
        }
    };
    check_invariants(&flow, &policy, now, true);
    check_round_trips(&flow);
    // The last state read back: the final check is skipped when the flow has not changed since.
    let mut last_round_trip = flow.clone();
    let mut statuses = vec![flow.status()];
    // The sample of `check_round_trips`: the statuses already read back, the changes so far.
    let mut round_tripped = vec![flow.status()];
    let mut changes = 0u32;
    let mut last_code: Option<String> = None;
    for _ in 0..64 {
        if b.done() {
            break;
        }
        let op = b.u8();
        now += TimeDelta::seconds(i64::from(b.u8() % 64));
        let before = flow.clone();
        let terminal = flow.status().is_terminal();
        let stamp = timestamp::truncate_millis(now);
        let mut records: Vec<DeviceRecord> = Vec::new();
        match op % 13 {
            0 | 1 => {
                let pick = usize::from(b.u8());
                let id = ids
                    .get(pick % (ids.len() + 1))
                    .copied()
                    .unwrap_or(DeviceId::from_bytes([0xFF; 16]));
                let compatibility = match b.u8() % 5 {
                    0 => Some(Compatibility::Full),
                    1 => Some(Compatibility::SecurityKeyOnly),
                    2 => Some(Compatibility::None),
                    _ => None,
                };
                let req = SelectDevice {
                    compatibility,
                    ..SelectDevice::new(id)
                };
                if let Err(e) = flow.select(req, now) {
                    check_error(&e);
                    assert_eq!(flow, before, "a refused selection changes nothing");
                }
            }
            2 => {
                let len = usize::from(b.u8() % 96);
                let body = b.take(len);
                match Action::from_request(DEVICE_SELECT_MEDIA_TYPE, body) {
                    Ok(Action::Select(req)) => {
                        if let Err(e) = flow.select(req, now) {
                            check_error(&e);
                            assert_eq!(flow, before);
                        }
                    }
                    Ok(other) => panic!("select media type read as {other:?}"),
                    Err(e) => check_api_error(&e),
                }
            }
            3 => {
                let random = b.take(24);
                match flow.issue_otp(&mut super::rng::ReplayRng::new(random), now) {
                    Ok(sent) => {
                        assert!(sent.code.bytes().all(|c| c.is_ascii_digit()));
                        last_code = Some(sent.code);
                    }
                    Err(e) => check_error(&e),
                }
            }
            4 | 5 => {
                let candidate = if op % 13 == 4 {
                    last_code.clone().unwrap_or_default()
                } else {
                    String::from_utf8_lossy(b.take(8)).into_owned()
                };
                match flow.check_otp(&candidate, now) {
                    Ok(o) => check_outcome(o, &ids, &mut records),
                    Err(e) => {
                        check_error(&e);
                        assert_eq!(flow, before);
                    }
                }
            }
            6 => {
                let verdict = b.bit();
                match flow.check_authenticator_otp_with("123456", |_| verdict, now) {
                    Ok(o) => check_outcome(o, &ids, &mut records),
                    Err(e) => {
                        check_error(&e);
                        assert_eq!(flow, before);
                    }
                }
            }
            7 => {
                let req = CheckAssertion {
                    origin: "https://app.example.com".into(),
                    assertion: serde_json::Value::String("{}".into()),
                    compatibility: None,
                };
                match flow.check_assertion(&req, b.bit(), now) {
                    Ok(o) => check_outcome(o, &ids, &mut records),
                    Err(e) => {
                        check_error(&e);
                        assert_eq!(flow, before);
                    }
                }
            }
            8 => match flow.push_approved(now) {
                Ok(o) => check_outcome(o, &ids, &mut records),
                Err(e) => check_error(&e),
            },
            9 => match flow.push_denied(now) {
                Ok(o) => check_outcome(o, &ids, &mut records),
                Err(e) => check_error(&e),
            },
            10 => {
                for r in flow.expire(now) {
                    assert!(ids.contains(&r.device()));
                    records.push(r);
                }
            }
            12 if agg.is_some() => {
                // An administrator changes a device in the aggregate meanwhile.
                let pick = usize::from(b.u8());
                let change = b.u8();
                if let (Some(u), Some(id)) = (agg.as_mut(), ids.get(pick % ids.len().max(1))) {
                    let id = *id;
                    // The same choices as without the aggregate (0 lock, 1 block, 2 unlock,
                    // 3 delete), plus unblock.
                    let command = match change % 8 {
                        0 | 4 => Command::RecordPushRejected {
                            id,
                            rule: PushLimitRule::new(
                                1,
                                TimeDelta::minutes(1),
                                TimeDelta::seconds(i64::from(change.max(1))),
                            )
                            .unwrap_or_default(),
                        },
                        1 => Command::Block { id },
                        5 => Command::Unblock { id },
                        2 | 6 => Command::Unlock { id },
                        _ => Command::Delete { id },
                    };
                    let _ = u.execute(command, now);
                    let changed = flow.sync_with(u, now);
                    assert_eq!(changed, flow.status() != before.status());
                }
            }
            12 => {
                // The aggregate changed a device meanwhile: lock, block, unlock or delete it.
                let mut fresh = DeviceSnapshot::new(flow.environment_id(), flow.user_id());
                fresh.devices = flow.devices().to_vec();
                let pick = usize::from(b.u8());
                let change = b.u8();
                let len = fresh.devices.len();
                if len > 0 {
                    let k = pick % len;
                    match change % 4 {
                        0 => {
                            fresh.devices[k].lock = Some(LockState::locked(
                                now + TimeDelta::seconds(i64::from(change)),
                                LockReason::Push,
                            ))
                        }
                        1 => fresh.devices[k].block = Some(BlockState::blocked(now)),
                        2 => fresh.devices[k].lock = Some(LockState::unlocked()),
                        _ => {
                            fresh.devices.remove(k);
                        }
                    }
                }
                let changed = flow.sync(&fresh, now);
                assert_eq!(changed, flow.status() != before.status());
            }
            _ => {
                if let Err(e) = flow.cancel_push(Default::default(), now) {
                    check_error(&e);
                    assert_eq!(flow, before);
                }
            }
        }
        if terminal {
            assert_eq!(flow, before, "a terminal flow never changes");
        }
        if let Some(u) = agg.as_mut() {
            // The server's round trip: execute the records, check the flow's own mirror (it
            // foresees the OTP locks it causes, not push-limit locks), then sync.
            for r in &records {
                let at = r.at().unwrap_or(now);
                if let Err(e) = u.execute(r.to_command(), at) {
                    panic!("the aggregate refused {r:?}: {e}");
                }
            }
            let pushed: Vec<DeviceId> = records
                .iter()
                .filter(|r| matches!(r, DeviceRecord::PushFailure { .. }))
                .map(DeviceRecord::device)
                .collect();
            check_mirror(&flow, u, now, &pushed);
            flow.sync_with(u, now);
            check_mirror(&flow, u, now, &[]);
        }
        let changed = flow.updated_at() == stamp;
        check_invariants(&flow, &policy, now, changed);
        if changed {
            changes += 1;
            if !round_tripped.contains(&flow.status()) || changes & 15 == 0 {
                round_tripped.push(flow.status());
                check_round_trips(&flow);
                last_round_trip = flow.clone();
            }
        }
        statuses.push(flow.status());
    }
    if flow != last_round_trip {
        check_round_trips(&flow);
    }
    statuses
}
