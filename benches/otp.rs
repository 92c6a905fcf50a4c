//! HOTP and TOTP verification costs.

use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mfa_devices::lock::FailureRule;
use mfa_devices::otp::{Algorithm, OtpChallenge, Totp, hotp};

const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

fn bench(c: &mut Criterion) {
    c.bench_function("hotp/sha1/6", |b| {
        b.iter(|| hotp(black_box(SEED_SHA1), black_box(1_234_567), 6))
    });

    for (name, alg, seed) in [
        ("sha1", Algorithm::Sha1, SEED_SHA1),
        ("sha256", Algorithm::Sha256, SEED_SHA256),
        ("sha512", Algorithm::Sha512, SEED_SHA512),
    ] {
        let totp = Totp::new(seed.to_vec(), alg, 6, 30).unwrap();
        let now = 1_700_000_000u64;
        let good = totp.code_at(now);
        c.bench_function(&format!("totp/verify/{name}/skew1/valid"), |b| {
            b.iter(|| totp.verify(black_box(&good), black_box(now), None))
        });
        c.bench_function(&format!("totp/verify/{name}/skew1/invalid"), |b| {
            b.iter(|| totp.verify(black_box("000000"), black_box(now), Some(1)))
        });
    }

    let wide = Totp::new(SEED_SHA1.to_vec(), Algorithm::Sha1, 6, 30)
        .unwrap()
        .with_skew(10)
        .unwrap();
    c.bench_function("totp/verify/sha1/skew10/invalid", |b| {
        b.iter(|| wide.verify(black_box("000000"), black_box(1_700_000_000), None))
    });

    let now = DateTime::<Utc>::UNIX_EPOCH;
    let random = [7u8; 20];
    c.bench_function("challenge/issue+check/8", |b| {
        b.iter(|| {
            let mut ch = OtpChallenge::issue(
                black_box(&random),
                8,
                TimeDelta::minutes(5),
                FailureRule::default(),
                now,
            )
            .unwrap();
            ch.check(black_box("77777777"), now)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
