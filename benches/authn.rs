//! Device authentication flow costs: start (usable devices, default choice) for 1, 5 and 15
//! devices, a selection, a full sent-OTP round (issue + check), and rendering the resource.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::{DeviceAuthentication, DeviceSnapshot, SelectDevice};
use mfa_devices::device::*;
use mfa_devices::policy::resolved::{FlowPolicy, MobileApp, SelectionMode};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

fn snapshot(n: u8) -> DeviceSnapshot {
    let (env, user) = (
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    );
    let types = [
        DeviceType::Email,
        DeviceType::Sms,
        DeviceType::Totp,
        DeviceType::Fido2,
        DeviceType::Mobile,
    ];
    let mut s = DeviceSnapshot::new(env, user);
    for i in 0..n {
        let t = types[usize::from(i) % types.len()].clone();
        let mut d = Device::new(
            DeviceId::from_bytes([i + 10; 16]),
            env,
            user,
            t,
            DeviceStatus::Active,
            now() - TimeDelta::days(1),
        );
        match &mut d.details {
            DeviceDetails::Email(e) => e.email = Some("john@pingidentity.com".into()),
            DeviceDetails::Mobile(m) => {
                m.application = Some(MobileApplication {
                    id: Some("app".into()),
                    ..Default::default()
                })
            }
            _ => {}
        }
        if i % 3 == 1 {
            d.lock = Some(LockState::locked(
                now() + TimeDelta::minutes(2),
                LockReason::Otp,
            ));
        }
        s.order.push(d.id);
        s.devices.push(d);
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut policy = FlowPolicy::all_enabled();
    policy.mobile.applications.push(MobileApp::new("app"));
    for n in [1u8, 5, 15] {
        let s = snapshot(n);
        c.bench_function(&format!("authn/start/default_to_first/{n}"), |b| {
            b.iter(|| {
                DeviceAuthentication::start_with(
                    black_box(s.clone()),
                    policy.clone(),
                    uuid::Uuid::nil(),
                    now(),
                )
            })
        });
    }
    let prompt = FlowPolicy {
        selection: SelectionMode::AlwaysDisplayDevices,
        ..policy.clone()
    };
    let s = snapshot(15);
    let flow = DeviceAuthentication::start_with(s, prompt, uuid::Uuid::nil(), now()).unwrap();
    let email = DeviceId::from_bytes([10; 16]);
    c.bench_function("authn/select/15", |b| {
        b.iter(|| {
            let mut f = flow.clone();
            f.select(black_box(SelectDevice::new(email)), now())
                .unwrap();
            f
        })
    });
    let mut selected = flow.clone();
    selected.select(SelectDevice::new(email), now()).unwrap();
    c.bench_function("authn/issue_and_check_otp/15", |b| {
        b.iter(|| {
            let mut f = selected.clone();
            let sent = f.issue_otp(black_box(&[7; 12]), now()).unwrap();
            f.check_otp(black_box(&sent.code), now()).unwrap()
        })
    });
    let base = ApiBase::new("https://auth.pingone.com");
    c.bench_function("authn/to_json/15", |b| {
        b.iter(|| selected.to_json(black_box(&base)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
