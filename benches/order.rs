//! Reorder, list, the rendered list (`render_list`) and a flow's device snapshot
//! (`DeviceSnapshot::of`) for users with 10, 100 and 1,000 devices.
//!
//! `maxAllowedDevices` caps real users at 15 devices, so the large aggregates are built with
//! `UserDevices::restore` (stored state is not checked against the limit): N ACTIVE TOTP devices
//! in order, plus N/10 ACTIVATION_REQUIRED ones listed after them.

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use mfa_devices::device::*;
use mfa_devices::user_devices::{Command, UserDevices};

fn user_with(n: usize) -> (UserDevices, Vec<DeviceId>) {
    let env = EnvironmentId::from_bytes([1; 16]);
    let user = UserId::from_bytes([2; 16]);
    let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let id = |i: usize| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        DeviceId::from_bytes(b)
    };
    let mut devices = Vec::new();
    let mut order = Vec::new();
    for i in 0..n {
        let created = t + TimeDelta::seconds(i as i64);
        devices.push(Device::new(
            id(i),
            env,
            user,
            DeviceType::Totp,
            DeviceStatus::Active,
            created,
        ));
        order.push(id(i));
    }
    for i in n..n + n / 10 {
        let created = t - TimeDelta::seconds(i as i64);
        devices.push(Device::new(
            id(i),
            env,
            user,
            DeviceType::Totp,
            DeviceStatus::ActivationRequired,
            created,
        ));
    }
    (
        UserDevices::restore(env, user, devices, Some(order.clone()), 0).unwrap(),
        order,
    )
}

fn bench(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    let mut reorder = c.benchmark_group("order/reorder");
    for n in [10usize, 100, 1000] {
        let (mut u, order) = user_with(n);
        let mut reversed = order.clone();
        reversed.reverse();
        let orders = [reversed, order];
        let mut flip = 0usize;
        // decide (strict validation) + apply of a full reorder, alternating two orders.
        reorder.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                flip ^= 1;
                let events = u
                    .execute(
                        Command::Reorder {
                            order: orders[flip].clone(),
                        },
                        now,
                    )
                    .unwrap();
                black_box(events.len())
            })
        });
    }
    reorder.finish();

    let mut list = c.benchmark_group("order/list");
    for n in [10usize, 100, 1000] {
        let (u, _) = user_with(n);
        list.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(u.list().len()))
        });
    }
    list.finish();

    // Both show every device as of `now` (locks expired, secrets hidden): one scan of the
    // aggregate for its effective time, not one per device.
    let base = mfa_devices::api_base::ApiBase::new("https://api.pingone.eu/v1");
    let mut render = c.benchmark_group("order/render_list");
    for n in [10usize, 100, 1000] {
        let (u, _) = user_with(n);
        render.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(u.render_list(&base, true, now, |_| true)))
        });
    }
    render.finish();
    let mut snapshot = c.benchmark_group("order/snapshot_of");
    for n in [10usize, 100, 1000] {
        let (u, _) = user_with(n);
        snapshot.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    mfa_devices::authn::DeviceSnapshot::of(&u, now)
                        .devices
                        .len(),
                )
            })
        });
    }
    snapshot.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
