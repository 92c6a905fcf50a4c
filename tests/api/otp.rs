//! HOTP/TOTP against the RFC test vectors, OTP challenges and the push limiter.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::lock::{FailureRule, PushLimitRule, PushLimiter, PushOutcome};
use mfa_devices::otp::{
    Algorithm, OtpChallenge, OtpCheck, OtpError, Totp, TotpVerdict, hotp, hotp_with, secret_visible,
};
use mfa_devices::policy::{OtpFailurePolicy, OtpSettings, PolicyDuration, PushLimit, TimeUnit};

const SEED_SHA1: &[u8] = b"12345678901234567890";
const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

/// RFC 4226 Appendix D: HOTP values for counters 0–9 of the ASCII secret "12345678901234567890".
#[test]
fn rfc4226_appendix_d() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, code) in expected.iter().enumerate() {
        assert_eq!(
            hotp(SEED_SHA1, counter as u64, 6),
            *code,
            "counter {counter}"
        );
    }
}

/// RFC 6238 Appendix B: 8-digit TOTP values, 30 s step, T0 = 0, one seed per hash.
#[test]
fn rfc6238_appendix_b() {
    let table: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    let totps = [
        Totp::new(SEED_SHA1.to_vec(), Algorithm::Sha1, 8, 30).unwrap(),
        Totp::new(SEED_SHA256.to_vec(), Algorithm::Sha256, 8, 30).unwrap(),
        Totp::new(SEED_SHA512.to_vec(), Algorithm::Sha512, 8, 30).unwrap(),
    ];
    for (time, sha1, sha256, sha512) in table {
        for (totp, code) in totps.iter().zip([sha1, sha256, sha512]) {
            assert_eq!(totp.code_at(time), code, "{} at {time}", totp.algorithm());
            let step = time / 30;
            assert_eq!(
                totp.verify(code, time, None),
                TotpVerdict::Valid { step },
                "{}",
                totp.algorithm()
            );
        }
    }
}

#[test]
fn hotp_digits_outside_1_to_10_give_an_empty_code() {
    for digits in [0, 11, 20, u32::MAX] {
        assert_eq!(hotp(SEED_SHA1, 0, digits), "");
    }
    // 1 and 10 digits: the low digits of the same 31-bit value (RFC 4226 §5.4: 1284755224).
    assert_eq!(hotp(SEED_SHA1, 0, 10), "1284755224");
    assert_eq!(hotp(SEED_SHA1, 0, 1), "4");
    assert_eq!(hotp_with(Algorithm::Sha1, SEED_SHA1, 0, 7), "4755224");
    // Empty secrets are fine for HMAC.
    assert_eq!(hotp(b"", u64::MAX, 6).len(), 6);
}

#[test]
fn totp_construction_rules() {
    assert_eq!(
        Totp::new(vec![1; 15], Algorithm::Sha1, 6, 30),
        Err(OtpError::SecretTooShort { len: 15 })
    );
    for digits in [0, 5, 9, 10, u32::MAX] {
        assert_eq!(
            Totp::new(vec![1; 16], Algorithm::Sha1, digits, 30),
            Err(OtpError::Digits(digits))
        );
    }
    for digits in 6..=8 {
        assert!(Totp::new(vec![1; 16], Algorithm::Sha1, digits, 30).is_ok());
    }
    assert_eq!(
        Totp::new(vec![1; 16], Algorithm::Sha1, 6, 0),
        Err(OtpError::ZeroStep)
    );
    let t = Totp::new(vec![1; 16], Algorithm::Sha1, 6, u64::MAX).unwrap();
    assert_eq!(t.step_at(u64::MAX), 1);
    assert_eq!(t.code_at(0), hotp(&[1; 16], 0, 6));
    assert!(t.clone().with_skew(10).is_ok());
    assert_eq!(t.with_skew(11), Err(OtpError::SkewTooLarge(11)));
    let api: mfa_devices::error::ApiError = OtpError::SkewTooLarge(11).into();
    assert_eq!(
        api.details[0].inner_error.as_ref().unwrap()["rangeMaximumValue"],
        10
    );
}

#[test]
fn verify_at_the_ends_of_time_does_not_overflow() {
    let t = Totp::new(SEED_SHA1.to_vec(), Algorithm::Sha1, 6, 1)
        .unwrap()
        .with_skew(10)
        .unwrap();
    let code = t.code_at(u64::MAX);
    assert_eq!(
        t.verify(&code, u64::MAX, None),
        TotpVerdict::Valid { step: u64::MAX }
    );
    assert_eq!(
        t.verify(&code, u64::MAX, Some(u64::MAX)),
        TotpVerdict::Replayed
    );
    let code0 = t.code_at(0);
    assert_eq!(t.verify(&code0, 0, None), TotpVerdict::Valid { step: 0 });
    assert_eq!(t.verify(&code0, 5, None), TotpVerdict::Valid { step: 0 });
}

#[test]
fn malformed_candidates_are_invalid() {
    let t = Totp::new(SEED_SHA1.to_vec(), Algorithm::Sha1, 8, 30).unwrap();
    for c in [
        "",
        "9428708",
        "942870820",
        " 94287082",
        "94287082\n",
        "9428708x",
        "٩٤٢٨٧٠٨٢",
    ] {
        assert_eq!(t.verify(c, 59, None), TotpVerdict::Invalid, "{c:?}");
    }
}

#[test]
fn key_uri_is_percent_encoded_with_a_base32_secret() {
    let t = Totp::new(SEED_SHA1.to_vec(), Algorithm::Sha1, 6, 30).unwrap();
    assert_eq!(
        t.key_uri("abc@example.com", None),
        "otpauth://totp/abc@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    );
    assert_eq!(
        t.key_uri("jo doe&x=1", Some("Ümlaut:Co?")),
        "otpauth://totp/%C3%9Cmlaut%3ACo%3F:jo%20doe%26x%3D1\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%C3%9Cmlaut%3ACo%3F"
    );
    assert_eq!(t.key_uri("a", Some("")), t.key_uri("a", None));
    // The secret decodes back.
    let decoded = data_encoding::BASE32_NOPAD
        .decode(t.secret_base32().as_bytes())
        .unwrap();
    assert_eq!(decoded, SEED_SHA1);
    let t = Totp::new(SEED_SHA512.to_vec(), Algorithm::Sha512, 7, 30).unwrap();
    assert!(
        t.key_uri("a", Some("b"))
            .ends_with("&issuer=b&algorithm=SHA512&digits=7")
    );
}

#[test]
fn secret_is_visible_only_while_activation_is_required_and_for_30_minutes() {
    let issued = t0();
    for (required, offset, visible) in [
        (true, TimeDelta::zero(), true),
        (
            true,
            TimeDelta::minutes(30) - TimeDelta::milliseconds(1),
            true,
        ),
        (true, TimeDelta::minutes(30), false),
        (true, TimeDelta::days(1), false),
        (true, TimeDelta::seconds(-1), false),
        (false, TimeDelta::zero(), false),
        (false, TimeDelta::minutes(1), false),
    ] {
        assert_eq!(
            secret_visible(required, issued, issued + offset),
            visible,
            "{required} {offset}"
        );
    }
}

fn rule(count: u32, minutes: i64) -> FailureRule {
    FailureRule::new(count, TimeDelta::minutes(minutes)).unwrap()
}

#[test]
fn challenge_counts_failures_and_locks_per_cool_down() {
    let now = t0();
    let mut c = OtpChallenge::issue(
        &mut crate::replay(&[1, 2, 3, 4, 5, 6]),
        6,
        TimeDelta::minutes(5),
        rule(3, 2),
        now,
    )
    .unwrap();
    assert_eq!(c.code(), "123456");
    assert_eq!(
        c.check("654321", now),
        OtpCheck::Invalid {
            remaining_attempts: 2
        }
    );
    assert_eq!(
        c.check("12345", now),
        OtpCheck::Invalid {
            remaining_attempts: 1
        }
    );
    let later = now + TimeDelta::minutes(1);
    let failed = c.check("1234567", later);
    assert_eq!(
        failed,
        OtpCheck::Failed {
            locked_until: Some(later + TimeDelta::minutes(2))
        }
    );
    assert_eq!(c.check("123456", later), OtpCheck::Spent);
    let api = failed.to_api_error().unwrap();
    assert_eq!(api.details[0].code.as_str(), "INVALID_OTP");
    assert_eq!(
        api.details[0].inner_error.as_ref().unwrap()["coolDownExpiresAt"],
        "2025-03-05T12:03:00.000Z"
    );

    // coolDown 0: the challenge fails but nothing locks.
    let mut c = OtpChallenge::issue(
        &mut crate::replay(&[9; 6]),
        6,
        TimeDelta::minutes(5),
        rule(1, 0),
        now,
    )
    .unwrap();
    assert_eq!(
        c.check("000000", now),
        OtpCheck::Failed { locked_until: None }
    );
}

#[test]
fn challenge_expires_at_now_plus_life_time() {
    let now = t0();
    let life = TimeDelta::seconds(90);
    let c = OtpChallenge::issue(&mut crate::replay(&[7; 10]), 10, life, rule(3, 0), now).unwrap();
    assert_eq!(c.expires_at(), now + life);
    let mut before = c.clone();
    assert_eq!(
        before.check("7777777777", now + life - TimeDelta::milliseconds(1)),
        OtpCheck::Valid
    );
    let mut at = c.clone();
    assert_eq!(at.check("0000000000", now + life), OtpCheck::Expired);
    assert_eq!(at.failures(), 0, "an expired check counts no failure");
    assert_eq!(at.check("7777777777", now + life), OtpCheck::Expired);
}

#[test]
fn challenge_settings_come_from_the_policy() {
    let now = t0();
    let settings = OtpSettings {
        failure: Some(OtpFailurePolicy::new(2, PolicyDuration::seconds(150))),
        life_time: Some(PolicyDuration::seconds(45)),
        otp_length: Some(7),
        ..OtpSettings::default()
    };
    let mut c = OtpChallenge::for_settings(&mut crate::replay(&[3; 14]), &settings, now).unwrap();
    assert_eq!(c.code(), "3333333");
    assert_eq!(c.expires_at(), now + TimeDelta::seconds(45));
    assert_eq!(
        c.rule(),
        FailureRule::new(2, TimeDelta::seconds(150)).unwrap()
    );
    c.check("x", now);
    assert_eq!(
        c.check("y", now),
        OtpCheck::Failed {
            locked_until: Some(now + TimeDelta::seconds(150))
        }
    );

    let bad_length = OtpSettings {
        otp_length: Some(11),
        ..OtpSettings::default()
    };
    assert_eq!(
        OtpChallenge::for_settings(&mut crate::replay(&[3; 30]), &bad_length, now),
        Err(OtpError::OtpLength(11))
    );
    let bad_unit = OtpSettings {
        life_time: Some(PolicyDuration::new(1, TimeUnit::from("WEEKS"))),
        ..OtpSettings::default()
    };
    assert!(matches!(
        OtpChallenge::for_settings(&mut crate::replay(&[3; 30]), &bad_unit, now),
        Err(OtpError::Policy(_))
    ));
    let negative = OtpSettings {
        otp_length: Some(-6),
        ..OtpSettings::default()
    };
    assert_eq!(
        OtpChallenge::for_settings(&mut crate::replay(&[3; 30]), &negative, now),
        Err(OtpError::OtpLength(-6))
    );
    let empty = OtpSettings {
        failure: None,
        life_time: None,
        otp_length: None,
        extra: Default::default(),
    };
    let c = OtpChallenge::for_settings(&mut crate::replay(&[3; 30]), &empty, now).unwrap();
    assert_eq!(c.code().len(), 6);
    assert_eq!(c.expires_at(), now + TimeDelta::minutes(30));
    assert_eq!(c.rule(), FailureRule::default());
}

#[test]
fn failure_rule_from_policy_numbers() {
    for (count, ok) in [
        (0, false),
        (-1, false),
        (1, true),
        (i64::from(u32::MAX), true),
        (i64::from(u32::MAX) + 1, false),
        (i64::MIN, false),
    ] {
        let f = OtpFailurePolicy::new(count, PolicyDuration::minutes(2));
        assert_eq!(FailureRule::try_from(&f).is_ok(), ok, "{count}");
    }
    let f = OtpFailurePolicy::new(3, PolicyDuration::days(i64::MAX));
    assert!(FailureRule::try_from(&f).is_err());
}

/// Randomness is sized by the crate: an RNG that runs short of usable bytes in a slice of
/// five (bytes 250–255 are skipped) still gives a full code — the caller no longer sizes a
/// buffer, and too few bytes is no longer a 500. Only a broken generator (nothing but bytes
/// 250–255) is an error.
#[test]
fn challenge_randomness_is_sized_by_the_crate_and_lengths_are_checked() {
    let now = t0();
    let life = TimeDelta::minutes(1);
    let c = OtpChallenge::issue(
        &mut crate::replay(&[1, 2, 250, 251, 3]),
        6,
        life,
        rule(3, 0),
        now,
    )
    .unwrap();
    assert_eq!(c.code(), "123123");
    assert_eq!(
        OtpChallenge::issue(
            &mut crate::replay(&[250, 251, 255]),
            6,
            life,
            rule(3, 0),
            now
        ),
        Err(OtpError::NotEnoughRandomness { wanted: 6, got: 0 })
    );
    let api =
        mfa_devices::error::ApiError::from(OtpError::NotEnoughRandomness { wanted: 6, got: 0 });
    assert_eq!(api.http_status(), 500);
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(5);
    for length in 6..=10 {
        let c = OtpChallenge::issue(&mut rng, length, life, rule(3, 0), now).unwrap();
        assert_eq!(c.code().len(), length as usize);
    }
    for length in [0, 5, 11, u32::MAX] {
        assert_eq!(
            OtpChallenge::issue(&mut crate::replay(&[0; 64]), length, life, rule(3, 0), now),
            Err(OtpError::OtpLength(i64::from(length)))
        );
    }
    // An expiry past the representable range is its last instant; a `now` outside it is
    // refused.
    assert_eq!(
        OtpChallenge::issue(
            &mut crate::replay(&[0; 6]),
            6,
            TimeDelta::MAX,
            rule(3, 0),
            now
        )
        .map(|c| c.expires_at()),
        Ok(mfa_devices::device::timestamp::MAX)
    );
}

#[test]
fn debug_output_hides_secrets() {
    let c = OtpChallenge::issue(
        &mut crate::replay(&[8; 6]),
        6,
        TimeDelta::minutes(1),
        rule(3, 0),
        t0(),
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("888888"));
    let t = Totp::new(vec![b'Z'; 20], Algorithm::Sha1, 6, 30).unwrap();
    assert!(!format!("{t:?}").contains("ZZZZ"));
}

#[test]
fn push_limit_locks_at_count_within_the_window() {
    let limit = PushLimit {
        count: Some(3),
        time_period: Some(PolicyDuration::minutes(20)),
        lock_duration: Some(PolicyDuration::seconds(1800)),
        ..PushLimit::default()
    };
    let rule = PushLimitRule::try_from(&limit).unwrap();
    let mut l = PushLimiter::new(rule);
    let t = t0();
    assert_eq!(l.record(t), PushOutcome::Counted { remaining: 2 });
    assert_eq!(
        l.record(t + TimeDelta::minutes(10)),
        PushOutcome::Counted { remaining: 1 }
    );
    // The first left the window at exactly 20 minutes.
    assert_eq!(
        l.record(t + TimeDelta::minutes(20)),
        PushOutcome::Counted { remaining: 1 }
    );
    let lock_at = t + TimeDelta::minutes(29);
    assert_eq!(
        l.record(lock_at),
        PushOutcome::Locked {
            until: lock_at + TimeDelta::minutes(30)
        }
    );
    assert_eq!(l.in_window(lock_at), 0);
    assert_eq!(
        l.record(lock_at + TimeDelta::seconds(1)),
        PushOutcome::Counted { remaining: 2 }
    );
}

#[test]
fn push_limit_rule_from_policy() {
    let empty = PushLimit {
        count: None,
        time_period: None,
        lock_duration: None,
        extra: Default::default(),
    };
    let rule = PushLimitRule::try_from(&empty).unwrap();
    assert_eq!(
        rule,
        PushLimitRule::new(5, TimeDelta::minutes(10), TimeDelta::minutes(30)).unwrap()
    );
    for count in [0, -5, i64::MAX] {
        let p = PushLimit {
            count: Some(count),
            ..PushLimit::default()
        };
        assert!(PushLimitRule::try_from(&p).is_err(), "{count}");
    }
    let p = PushLimit {
        lock_duration: Some(PolicyDuration::hours(i64::MAX)),
        ..PushLimit::default()
    };
    assert!(PushLimitRule::try_from(&p).is_err());
    // A lock that would end past the representable range ends at its last instant.
    let rule = PushLimitRule::new(1, TimeDelta::minutes(1), TimeDelta::MAX).unwrap();
    assert_eq!(
        PushLimiter::new(rule).record(t0()),
        PushOutcome::Locked {
            until: mfa_devices::device::timestamp::MAX
        }
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn algorithm() -> impl Strategy<Value = Algorithm> {
        prop_oneof![
            Just(Algorithm::Sha1),
            Just(Algorithm::Sha256),
            Just(Algorithm::Sha512)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A code issued at `t` is accepted at `now` exactly when some step of the window
        /// around `now` has that code, and then for the earliest such step — i.e. (barring an
        /// 8-digit collision, which the model accounts for) iff |step(now) - step(t)| <= skew.
        #[test]
        fn totp_code_is_accepted_exactly_inside_its_window(
            secret in proptest::collection::vec(any::<u8>(), 16..64),
            alg in algorithm(),
            step_seconds in 1u64..120,
            skew in 0u32..=3,
            t in 0u64..4_000_000_000,
            offset in -8i64..=8,
        ) {
            let totp = Totp::new(secret, alg, 8, step_seconds).unwrap().with_skew(skew).unwrap();
            let code = totp.code_at(t);
            let issued_step = totp.step_at(t);
            let now_step = issued_step.saturating_add_signed(offset);
            let now = now_step.saturating_mul(step_seconds);
            let lo = now_step.saturating_sub(u64::from(skew));
            let hi = now_step.saturating_add(u64::from(skew));
            let model = (lo..=hi).find(|s| totp.code_for_step(*s) == code);
            let verdict = totp.verify(&code, now, None);
            match model {
                Some(step) => prop_assert_eq!(verdict, TotpVerdict::Valid { step }),
                None => prop_assert_eq!(verdict, TotpVerdict::Invalid),
            }
            if issued_step.abs_diff(now_step) <= u64::from(skew) {
                prop_assert!(verdict.is_valid());
            }
        }

        /// Once a step is used, its code (and any earlier step's) is refused; a later one is not.
        #[test]
        fn replayed_steps_are_rejected(
            secret in proptest::collection::vec(any::<u8>(), 16..40),
            t in 0u64..4_000_000_000,
        ) {
            let totp = Totp::new(secret, Algorithm::Sha1, 8, 30).unwrap();
            let code = totp.code_at(t);
            let TotpVerdict::Valid { step } = totp.verify(&code, t, None) else {
                return Err(TestCaseError::fail("fresh code refused"));
            };
            prop_assert_eq!(totp.verify(&code, t, Some(step)), TotpVerdict::Replayed);
            prop_assert_eq!(totp.verify(&code, t + 29, Some(step)), TotpVerdict::Replayed);
            let next = totp.code_at(t + 30);
            prop_assert_eq!(
                totp.verify(&next, t + 30, Some(step)),
                TotpVerdict::Valid { step: step + 1 }
            );
        }

        /// HOTP never panics and has exactly `digits` ASCII digits for 1..=10, else is empty.
        #[test]
        fn hotp_has_the_right_shape(
            secret in proptest::collection::vec(any::<u8>(), 0..80),
            counter in any::<u64>(),
            digits in prop_oneof![0u32..=12, any::<u32>()],
            alg in algorithm(),
        ) {
            let code = hotp_with(alg, &secret, counter, digits);
            if (1..=10).contains(&digits) {
                prop_assert_eq!(code.len(), digits as usize);
                prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
            } else {
                prop_assert!(code.is_empty());
            }
        }

        /// An OTP from random bytes has `length` digits, each the first unrejected byte mod 10,
        /// drawing as many bytes as it needs, or the call fails for a generator that gives
        /// nothing usable.
        #[test]
        fn otp_from_random_bytes_is_in_range_and_unbiased_by_construction(
            random in proptest::collection::vec(any::<u8>(), 1..30),
            length in 6u32..=10,
        ) {
            let expected: String = random
                .iter()
                .cycle()
                .take(2048)
                .filter(|b| **b < 250)
                .take(length as usize)
                .map(|b| char::from(b'0' + b % 10))
                .collect();
            let r = OtpChallenge::issue(&mut crate::replay(&random), length, TimeDelta::minutes(1),
                FailureRule::default(), t0());
            if expected.len() == length as usize {
                let c = r.unwrap();
                prop_assert_eq!(c.code(), expected.as_str());
                prop_assert!(c.code().bytes().all(|b| b.is_ascii_digit()));
            } else {
                prop_assert_eq!(r, Err(OtpError::NotEnoughRandomness {
                    wanted: length,
                    got: expected.len() as u32,
                }));
            }
        }

        /// Checks never panic; failures are counted up to the rule's count, then the challenge
        /// is spent; the right code before that is valid.
        #[test]
        fn challenge_outcomes_follow_the_rule(
            count in 1u32..8,
            cool_down_s in prop_oneof![Just(0i64), 1i64..4000, Just(i64::MAX / 1000)],
            wrong in 0usize..10,
            life_s in 1i64..4000,
            at_s in 0i64..5000,
        ) {
            let now = t0();
            let cool_down = TimeDelta::try_seconds(cool_down_s).unwrap_or(TimeDelta::MAX);
            let rule = FailureRule::new(count, cool_down).unwrap();
            let mut c = OtpChallenge::issue(&mut crate::replay(&[2; 8]), 6, TimeDelta::seconds(life_s), rule, now)
                .unwrap();
            let at = now + TimeDelta::seconds(at_s);
            let expired = at_s >= life_s;
            for i in 0..wrong {
                let out = c.check("999999", at);
                let n = i as u32 + 1;
                let expected = if expired {
                    OtpCheck::Expired
                } else if n < count {
                    OtpCheck::Invalid { remaining_attempts: count - n }
                } else if n == count {
                    OtpCheck::Failed {
                        locked_until: (cool_down_s > 0)
                            .then(|| mfa_devices::device::timestamp::add_clamped(at, cool_down)),
                    }
                } else {
                    OtpCheck::Spent
                };
                prop_assert_eq!(out, expected);
            }
            let spent = c.is_spent();
            let right = c.check("222222", at);
            let expected = if spent {
                OtpCheck::Spent
            } else if expired {
                OtpCheck::Expired
            } else {
                OtpCheck::Valid
            };
            prop_assert_eq!(right, expected);
        }

        /// The limiter locks exactly when `count` pushes fall within one window, matching a
        /// model that recounts from the full history.
        #[test]
        fn push_limiter_matches_a_model(
            count in 1u32..6,
            window_s in 0i64..600,
            gaps in proptest::collection::vec(0i64..300, 1..30),
        ) {
            let rule = PushLimitRule::new(count, TimeDelta::seconds(window_s),
                TimeDelta::minutes(30)).unwrap();
            let mut l = PushLimiter::new(rule);
            let mut since_lock: Vec<i64> = Vec::new();
            let mut t = 0i64;
            for gap in gaps {
                t += gap;
                let now = t0() + TimeDelta::seconds(t);
                since_lock.push(t);
                let in_window = since_lock.iter().filter(|s| t - **s < window_s || **s == t).count() as u32;
                let out = l.record(now);
                if in_window >= count {
                    prop_assert_eq!(out, PushOutcome::Locked { until: now + TimeDelta::minutes(30) });
                    since_lock.clear();
                } else {
                    prop_assert_eq!(out, PushOutcome::Counted { remaining: count - in_window });
                }
                prop_assert!(l.recent().len() < count as usize);
            }
        }

        /// `secret_visible` is the pure rule, for any times.
        #[test]
        fn secret_visibility_is_the_rule(required in any::<bool>(), offset_s in -4000i64..4000) {
            let now = t0() + TimeDelta::seconds(offset_s);
            prop_assert_eq!(
                secret_visible(required, t0(), now),
                required && (0..1800).contains(&offset_s)
            );
        }
    }
}
