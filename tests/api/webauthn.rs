//! WebAuthn end to end with real cryptography: a software authenticator (the testkit's, a P-256
//! key from a fixed seed that writes its own CBOR) registers a FIDO2 device through the
//! aggregate and authenticates through the flow; every check of the verifier is shown refusing
//! the response it exists for, and any byte changed in a valid assertion is refused.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mfa_devices::api_base::ApiBase;
use mfa_devices::authn::*;
use mfa_devices::device::*;
use mfa_devices::error::ApiError;
use mfa_devices::policy::DeviceAuthenticationPolicy;
use mfa_devices::user_devices::{Command, DeviceSecrets, UserDevices, UserDevicesError};
use mfa_devices::webauthn::{
    Expected, WebAuthnError, verify_activation, verify_assertion, verify_registration,
};
use mfa_devices_testkit::webauthn::{Format, SoftwareAuthenticator, flags};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

const RP: &str = "example.com";
const ORIGIN: &str = "https://login.example.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap()
}

fn policy() -> DeviceAuthenticationPolicy {
    serde_json::from_str(include_str!("../fixtures/policy/read_one.json")).unwrap()
}

const KEY: DeviceId = DeviceId::from_bytes([3; 16]);

fn new_user() -> UserDevices {
    UserDevices::new(
        EnvironmentId::from_bytes([1; 16]),
        UserId::from_bytes([2; 16]),
    )
}

/// A FIDO2 device created ACTIVATION_REQUIRED with creation options drawn from `rng`.
fn create_fido2(user: &mut UserDevices, rng: &mut ChaCha20Rng) -> String {
    let mut body = NewDevice::new(DeviceType::Fido2);
    body.rp = Some(RelyingParty {
        id: Some(RP.into()),
        name: Some("Example".into()),
        ..Default::default()
    });
    let (secrets, passcode) = DeviceSecrets::draw(&body, &policy(), "jo", rng, t0()).unwrap();
    assert!(passcode.is_none());
    let options = secrets.webauthn_options().unwrap().to_owned();
    user.execute(
        Command::Create {
            id: KEY,
            device: body,
            secrets,
        },
        t0(),
    )
    .unwrap();
    options
}

/// A user with an ACTIVE FIDO2 device registered by `key`.
fn registered(key: &mut SoftwareAuthenticator) -> UserDevices {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut user = new_user();
    let options = create_fido2(&mut user, &mut rng);
    let attestation = key.register_options(&options, ORIGIN).to_json();
    let body = serde_json::json!({"origin": ORIGIN, "attestation": attestation}).to_string();
    let command = Command::from_attestation(user.device(&KEY).unwrap(), body.as_bytes()).unwrap();
    user.execute(command, t0()).unwrap();
    user
}

fn expected<'a>(challenge: &'a [u8]) -> Expected<'a> {
    Expected {
        challenge,
        origin: ORIGIN,
        rp_id: RP,
        require_user_verification: false,
    }
}

fn record(u: &mut UserDevices, records: &[DeviceRecord], now: DateTime<Utc>) {
    for r in records {
        u.execute(r.to_command(), r.at().unwrap_or(now)).unwrap();
    }
}

/// A flow in ASSERTION_REQUIRED with its challenge issued; returns it and the request options.
fn flow_for(user: &UserDevices, now: DateTime<Utc>) -> (DeviceAuthentication, String) {
    let mut flow = DeviceAuthentication::start(user, &policy(), uuid::Uuid::nil(), now).unwrap();
    assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);
    let options = flow
        .issue_assertion(&mut ChaCha20Rng::seed_from_u64(9), now)
        .unwrap();
    (flow, options)
}

fn check(origin: &str, assertion: String) -> CheckAssertion {
    CheckAssertion {
        origin: origin.into(),
        assertion: serde_json::Value::String(assertion),
        compatibility: None,
    }
}

#[test]
fn create_activate_authenticate_round_trip() {
    let mut key = SoftwareAuthenticator::new(1);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut user = new_user();
    let options = create_fido2(&mut user, &mut rng);
    let o: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(o["rp"]["id"], RP);
    assert_eq!(
        o["pubKeyCredParams"],
        serde_json::json!([{"type": "public-key", "alg": -7}])
    );
    assert_eq!(o["user"]["name"], "jo");
    let shown = user.device_at(&KEY, t0()).unwrap();
    assert_eq!(shown.status, DeviceStatus::ActivationRequired);
    let DeviceDetails::Fido2(f) = &shown.details else {
        panic!()
    };
    assert_eq!(
        f.public_key_credential_creation_options.as_deref(),
        Some(options.as_str())
    );

    // Unverified activation is refused for a device waiting for its registration.
    assert_eq!(
        user.execute(Command::Activate { id: KEY, otp: None }, t0()),
        Err(UserDevicesError::AttestationRequired(KEY))
    );
    let attestation = key.register_options(&options, ORIGIN).to_json();
    let body = serde_json::json!({"origin": ORIGIN, "attestation": attestation}).to_string();
    let command = Command::from_attestation(user.device(&KEY).unwrap(), body.as_bytes()).unwrap();
    let Command::ActivateFido2 { credential, .. } = &command else {
        panic!("{command:?}")
    };
    assert_eq!(credential.credential_id, key.credential_id);
    assert_eq!(credential.public_key, key.public_key());
    assert_eq!((credential.rp_id.as_str(), credential.sign_count), (RP, 0));
    assert_eq!(credential.transports, ["usb"]);
    assert!(credential.user_verified);
    let events = user.execute(command, t0()).unwrap();
    assert_eq!(user.device(&KEY).unwrap().status, DeviceStatus::Active);

    // Stored with the device and its event, never rendered.
    let snapshot = serde_json::to_string(&user).unwrap();
    assert!(snapshot.contains(&key.credential_id_b64()));
    assert!(
        serde_json::to_string(&events)
            .unwrap()
            .contains("credentialId")
    );
    let rendered = mfa_devices::device::hal::render_device(
        &user.device_at(&KEY, t0()).unwrap(),
        &ApiBase::new("https://api.example.com/v1"),
    );
    assert!(rendered.get("credential").is_none(), "{rendered}");
    let list = user.render_list(
        &ApiBase::new("https://api.example.com/v1"),
        false,
        t0(),
        |_| true,
    );
    assert!(!list.to_string().contains("credentialId"));

    // Authenticate twice: the sign count goes 1, 2 and is stored each time.
    for (round, count) in [(1u32, 1u32), (2, 2)] {
        let now = t0() + TimeDelta::minutes(i64::from(round));
        let (mut flow, options) = flow_for(&user, now);
        let body = flow.to_json(&ApiBase::new("https://auth.example.com"));
        assert_eq!(body["publicKeyCredentialRequestOptions"], options);
        let assertion = key.assert_options(&options, ORIGIN).to_json();
        let outcome = flow
            .check_assertion_webauthn(&check(ORIGIN, assertion.clone()), &user, now)
            .unwrap();
        assert_eq!(outcome.result, Ok(()));
        assert_eq!(
            outcome.records,
            vec![DeviceRecord::AssertionSuccess {
                device: KEY,
                sign_count: count
            }]
        );
        assert_eq!(flow.status(), AuthenticationStatus::Completed);
        assert!(flow.body().public_key_credential_request_options.is_none());
        record(&mut user, &outcome.records, now);
        let DeviceDetails::Fido2(f) = &user.device(&KEY).unwrap().details else {
            panic!()
        };
        assert_eq!(f.credential.as_ref().unwrap().sign_count, count);

        // The same assertion again (another flow, same challenge by construction) is a replay.
        let (mut again, _) = flow_for(&user, now);
        let replayed = again
            .check_assertion_webauthn(&check(ORIGIN, assertion), &user, now)
            .unwrap();
        assert!(
            matches!(
                &replayed.result,
                Err(FlowError::AssertionInvalid {
                    reason: WebAuthnError::SignCountNotIncreased { .. },
                    ..
                })
            ),
            "{:?}",
            replayed.result
        );
    }

    // Replay of the log gives the snapshot (credential and sign count included).
    let log: Vec<_> = {
        let mut u = new_user();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut events = Vec::new();
        let mut body = NewDevice::new(DeviceType::Fido2);
        body.rp = Some(RelyingParty {
            id: Some(RP.into()),
            ..Default::default()
        });
        let (secrets, _) = DeviceSecrets::draw(&body, &policy(), "jo", &mut rng, t0()).unwrap();
        events.extend(
            u.execute(
                Command::Create {
                    id: KEY,
                    device: body,
                    secrets,
                },
                t0(),
            )
            .unwrap(),
        );
        let mut key = SoftwareAuthenticator::new(5);
        let DeviceDetails::Fido2(f) = &u.device(&KEY).unwrap().details else {
            panic!()
        };
        let options = f.public_key_credential_creation_options.clone().unwrap();
        let attestation = key.register_options(&options, ORIGIN).to_json();
        let credential = verify_activation(u.device(&KEY).unwrap(), ORIGIN, &attestation).unwrap();
        events.extend(
            u.execute(
                Command::ActivateFido2 {
                    id: KEY,
                    credential,
                },
                t0(),
            )
            .unwrap(),
        );
        events.extend(
            u.execute(
                Command::RecordAssertionSuccess {
                    id: KEY,
                    sign_count: 7,
                },
                t0(),
            )
            .unwrap(),
        );
        let replayed = UserDevices::replay(u.environment_id(), u.user_id(), &events).unwrap();
        assert_eq!(replayed, u);
        let text = serde_json::to_string(&u).unwrap();
        let back = UserDevices::from_snapshot(text.as_bytes(), Default::default()).unwrap();
        assert_eq!(back, u);
        events
    };
    let json = serde_json::to_string(&log).unwrap();
    let read: Vec<mfa_devices::user_devices::Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(read, log);
}

trait B64 {
    fn credential_id_b64(&self) -> String;
}
impl B64 for SoftwareAuthenticator {
    fn credential_id_b64(&self) -> String {
        data_encoding::BASE64URL_NOPAD.encode(&self.credential_id)
    }
}

#[test]
fn the_challenge_is_kept_in_the_stored_flow() {
    let mut key = SoftwareAuthenticator::new(2);
    let user = registered(&mut key);
    let (flow, options) = flow_for(&user, t0());
    let text = serde_json::to_string(&flow.to_stored()).unwrap();
    let mut loaded =
        DeviceAuthentication::from_stored(serde_json::from_str::<StoredFlow>(&text).unwrap())
            .unwrap();
    assert_eq!(loaded, flow);
    loaded.sync_with(&user, t0());
    let assertion = key.assert_options(&options, ORIGIN).to_json();
    let outcome = loaded
        .check_assertion_webauthn(&check(ORIGIN, assertion), &user, t0())
        .unwrap();
    assert!(outcome.is_success());
    // A stored flow of an earlier release (no challenge) still reads: it has to issue one.
    let old = text.replace(
        &format!(
            ",\"challenge\":\"{}\"",
            serde_json::from_str::<serde_json::Value>(&options).unwrap()["challenge"]
                .as_str()
                .unwrap()
        ),
        "",
    );
    assert_ne!(old, text);
    let mut old =
        DeviceAuthentication::from_stored(serde_json::from_str::<StoredFlow>(&old).unwrap())
            .unwrap();
    old.sync_with(&user, t0());
    let assertion = key.assert_options(&options, ORIGIN).to_json();
    assert_eq!(
        old.check_assertion_webauthn(&check(ORIGIN, assertion), &user, t0()),
        Err(FlowError::AssertionNotIssued)
    );
}

#[test]
fn failures_count_and_lock_like_passcodes() {
    // fido2.failure in the fixture: 4 failures, 150 s cool-down.
    let mut key = SoftwareAuthenticator::new(3);
    let mut user = registered(&mut key);
    let now = t0();
    let (mut flow, options) = flow_for(&user, now);
    let (challenge, _) = mfa_devices_testkit::webauthn::challenge_and_rp_id(&options);
    let mut bad_signature = key.assert(&challenge, RP, ORIGIN);
    bad_signature.signature = key.sign(b"something else", b"{}");
    let attempts = [
        (ORIGIN, bad_signature.to_json(), "BadSignature"),
        (
            ORIGIN,
            key.assert(&[0; 32], RP, ORIGIN).to_json(),
            "ChallengeMismatch",
        ),
        (
            "https://evil.example.net",
            key.assert(&challenge, RP, "https://evil.example.net")
                .to_json(),
            "OriginNotAllowed",
        ),
    ];
    for (i, (origin, assertion, what)) in attempts.into_iter().enumerate() {
        let outcome = flow
            .check_assertion_webauthn(&check(origin, assertion), &user, now)
            .unwrap();
        let Err(FlowError::AssertionInvalid {
            reason,
            remaining_attempts,
            locked_until: None,
        }) = &outcome.result
        else {
            panic!("{:?}", outcome.result)
        };
        assert!(format!("{reason:?}").starts_with(what), "{reason:?}");
        assert_eq!(*remaining_attempts, 3 - u32::try_from(i).unwrap());
        let api = ApiError::from(outcome.result.clone().unwrap_err());
        assert_eq!(api.http_status(), 400);
        record(&mut user, &outcome.records, now);
        flow.sync_with(&user, now);
        assert_eq!(flow.status(), AuthenticationStatus::AssertionRequired);
    }
    // The fourth: a replayed count (the authenticator's counter went back).
    key.sign_count = 0;
    let outcome = flow
        .check_assertion_webauthn(
            &check(ORIGIN, {
                let mut a = key.assert(&challenge, RP, ORIGIN);
                a.authenticator_data[33..37].copy_from_slice(&0u32.to_be_bytes());
                key.resign(&mut a);
                a.to_json()
            }),
            &user,
            now,
        )
        .unwrap();
    // The stored count is 0 and so is the received one: allowed (a counter-less
    // authenticator); so this one succeeds instead.
    assert!(outcome.is_success(), "{:?}", outcome.result);
    record(&mut user, &outcome.records, now);

    // A counter that goes back from a stored non-zero one is refused and locks at the count.
    let mut key2 = SoftwareAuthenticator::new(4);
    let mut user = registered(&mut key2);
    user.execute(
        Command::RecordAssertionSuccess {
            id: KEY,
            sign_count: 10,
        },
        now,
    )
    .unwrap();
    let (mut flow, options) = flow_for(&user, now);
    let mut last = None;
    for _ in 0..4 {
        key2.sign_count = 4;
        let assertion = key2.assert_options(&options, ORIGIN).to_json();
        let outcome = flow
            .check_assertion_webauthn(&check(ORIGIN, assertion), &user, now)
            .unwrap();
        record(&mut user, &outcome.records, now);
        flow.sync_with(&user, now);
        last = Some(outcome.result);
    }
    let Some(Err(FlowError::AssertionInvalid {
        reason:
            WebAuthnError::SignCountNotIncreased {
                stored: 10,
                received: 5,
            },
        remaining_attempts: 0,
        locked_until: Some(until),
    })) = last
    else {
        panic!("{last:?}")
    };
    assert_eq!(until, now + TimeDelta::seconds(150));
    assert!(user.device(&KEY).unwrap().is_locked(now));
    assert_eq!(flow.status(), AuthenticationStatus::Failed);
}

#[test]
fn registration_checks_each_refuse_their_case() {
    let challenge = [5u8; 32];
    let ok = |r: &str| verify_registration(r, &expected(&challenge));
    let mut key = SoftwareAuthenticator::new(6);
    assert!(ok(&key.register(&challenge, RP, ORIGIN).to_json()).is_ok());
    assert!(
        ok(&key
            .register_as(Format::PackedSelf, &challenge, RP, ORIGIN)
            .to_json())
        .is_ok()
    );
    assert_eq!(
        ok(&key
            .register_as(Format::PackedX5c, &challenge, RP, ORIGIN)
            .to_json()),
        Err(WebAuthnError::AttestationCertificatesNotChecked)
    );
    assert!(matches!(
        ok(&key.register_as(Format::FidoU2f, &challenge, RP, ORIGIN).to_json()),
        Err(WebAuthnError::UnsupportedAttestationFormat { format }) if format == "fido-u2f"
    ));
    assert!(matches!(
        ok(&key.register(&[6; 32], RP, ORIGIN).to_json()),
        Err(WebAuthnError::ChallengeMismatch { .. })
    ));
    assert!(matches!(
        ok(&key.register(&challenge, "other.com", ORIGIN).to_json()),
        Err(WebAuthnError::RpIdHashMismatch { .. })
    ));
    for origin in [
        "http://login.example.com",
        "https://example.com.evil.net",
        "https://notexample.com",
        "https://login.example.com/path",
    ] {
        let r = key.register(&challenge, RP, origin).to_json();
        let e = verify_registration(
            &r,
            &Expected {
                origin,
                ..expected(&challenge)
            },
        )
        .unwrap_err();
        assert!(
            matches!(e, WebAuthnError::OriginNotAllowed { .. }),
            "{origin}: {e}"
        );
        assert_eq!(
            ApiError::from(e).details[0].target.as_deref(),
            Some("origin")
        );
    }
    // The request's origin and the client data's must agree.
    assert!(matches!(
        ok(&key
            .register(&challenge, RP, "https://example.com")
            .to_json()),
        Err(WebAuthnError::OriginNotAllowed { .. })
    ));
    // http on localhost is allowed.
    let local = key
        .register(&challenge, "localhost", "http://localhost:8080")
        .to_json();
    assert!(
        verify_registration(
            &local,
            &Expected {
                origin: "http://localhost:8080",
                rp_id: "localhost",
                ..expected(&challenge)
            }
        )
        .is_ok()
    );
    key.flags = flags::UV;
    assert!(matches!(
        ok(&key.register(&challenge, RP, ORIGIN).to_json()),
        Err(WebAuthnError::UserNotPresent { .. })
    ));
    key.flags = flags::UP;
    assert!(matches!(
        verify_registration(
            &key.register(&challenge, RP, ORIGIN).to_json(),
            &Expected {
                require_user_verification: true,
                ..expected(&challenge)
            }
        ),
        Err(WebAuthnError::UserNotVerified { .. })
    ));
    key.flags = flags::UP | flags::BE | flags::BS;
    let c = ok(&key.register(&challenge, RP, ORIGIN).to_json()).unwrap();
    assert!(c.backup_eligible && c.backup_state && !c.user_verified);
    // An assertion's client data type in a registration.
    let mut r = key.register(&challenge, RP, ORIGIN);
    r.client_data_json =
        mfa_devices_testkit::webauthn::client_data_json("webauthn.get", &challenge, ORIGIN);
    assert!(matches!(
        ok(&r.to_json()),
        Err(WebAuthnError::ClientDataType { .. })
    ));
    // rawId of another credential.
    let mut r = key.register(&challenge, RP, ORIGIN);
    r.credential_id = vec![9; 16];
    assert_eq!(ok(&r.to_json()), Err(WebAuthnError::CredentialIdMismatch));
    // Trailing bytes in the attestation object, a truncated one.
    let mut r = key.register(&challenge, RP, ORIGIN);
    r.attestation_object.push(0);
    assert!(matches!(ok(&r.to_json()), Err(WebAuthnError::Cbor { .. })));
    let mut r = key.register(&challenge, RP, ORIGIN);
    r.attestation_object
        .truncate(r.attestation_object.len() - 3);
    assert!(matches!(ok(&r.to_json()), Err(WebAuthnError::Cbor { .. })));
    // Not JSON, not a credential, too large.
    assert!(matches!(ok("nope"), Err(WebAuthnError::Malformed { .. })));
    assert!(matches!(
        ok(r#"{"type":"password"}"#),
        Err(WebAuthnError::CredentialType { .. })
    ));
    assert!(matches!(
        ok(&" ".repeat(70_000)),
        Err(WebAuthnError::TooLarge { .. })
    ));
    // Every message is bounded and says what was wrong.
    let e = ok(&format!(r#"{{"type":"{}"}}"#, "x".repeat(5000))).unwrap_err();
    assert!(e.to_string().len() < 300, "{e}");
}

#[test]
fn activation_refusals_leave_the_device_waiting() {
    let mut key = SoftwareAuthenticator::new(7);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut user = new_user();
    let options = create_fido2(&mut user, &mut rng);
    let device = user.device(&KEY).unwrap().clone();
    for (body, target) in [
        (serde_json::json!({"attestation": "{}"}), "origin"),
        (serde_json::json!({"origin": ORIGIN}), "attestation"),
        (
            serde_json::json!({"origin": ORIGIN, "attestation": key.register(&[1; 32], RP, ORIGIN).to_json()}),
            "attestation",
        ),
        (
            serde_json::json!({"origin": "https://evil.net", "attestation": key.register_options(&options, "https://evil.net").to_json()}),
            "origin",
        ),
    ] {
        let e = Command::from_attestation(&device, body.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            (e.http_status(), e.details[0].target.as_deref()),
            (400, Some(target)),
            "{e:?}"
        );
    }
    assert_eq!(
        user.device(&KEY).unwrap().status,
        DeviceStatus::ActivationRequired
    );
    // An object instead of a string is read too.
    let attestation: serde_json::Value =
        serde_json::from_str(&key.register_options(&options, ORIGIN).to_json()).unwrap();
    let body = serde_json::json!({"origin": ORIGIN, "attestation": attestation}).to_string();
    assert!(Command::from_attestation(&device, body.as_bytes()).is_ok());
    // A device created without rp id has no registration to verify.
    let plain = Device::new(
        DeviceId::from_bytes([8; 16]),
        user.environment_id(),
        user.user_id(),
        DeviceType::Fido2,
        DeviceStatus::ActivationRequired,
        t0(),
    );
    assert!(matches!(
        verify_activation(&plain, ORIGIN, "{}"),
        Err(WebAuthnError::NoRegistration { .. })
    ));
}

/// A valid assertion's parts, and the credential that verifies it.
fn valid_assertion() -> (
    mfa_devices_testkit::webauthn::Assertion,
    WebAuthnCredential,
    [u8; 32],
) {
    let mut key = SoftwareAuthenticator::new(11);
    let challenge = [3u8; 32];
    let credential = verify_registration(
        &key.register(&[4; 32], RP, ORIGIN).to_json(),
        &expected(&[4; 32]),
    )
    .unwrap();
    let assertion = key.assert(&challenge, RP, ORIGIN);
    assert_eq!(
        verify_assertion(&assertion.to_json(), &expected(&challenge), &credential),
        Ok(1)
    );
    (assertion, credential, challenge)
}

#[test]
fn assertion_checks_each_refuse_their_case() {
    let (assertion, credential, challenge) = valid_assertion();
    let verify = |a: &mfa_devices_testkit::webauthn::Assertion| {
        verify_assertion(&a.to_json(), &expected(&challenge), &credential)
    };
    let mut other = assertion.clone();
    other.credential_id = vec![1; 16];
    assert_eq!(verify(&other), Err(WebAuthnError::UnknownCredential));
    let mut other = assertion.clone();
    other.signature.pop();
    assert_eq!(verify(&other), Err(WebAuthnError::BadSignature));
    let mut other = assertion.clone();
    other.client_data_json =
        mfa_devices_testkit::webauthn::client_data_json("webauthn.create", &challenge, ORIGIN);
    assert!(matches!(
        verify(&other),
        Err(WebAuthnError::ClientDataType { .. })
    ));
    let mut stored = credential.clone();
    stored.sign_count = 1;
    assert_eq!(
        verify_assertion(&assertion.to_json(), &expected(&challenge), &stored),
        Err(WebAuthnError::SignCountNotIncreased {
            stored: 1,
            received: 1
        })
    );
    let mut other = assertion.clone();
    other.client_data_json = br#"{"type":"webauthn.get","challenge":"AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM","origin":"https://login.example.com","crossOrigin":true}"#.to_vec();
    assert!(matches!(
        verify(&other),
        Err(WebAuthnError::CrossOrigin { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any byte of a valid assertion changed — in its credential id, client data,
    /// authenticator data or signature — is refused.
    #[test]
    fn any_mutated_assertion_is_refused(part in 0usize..4, at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let (mut assertion, credential, challenge) = valid_assertion();
        let bytes = match part {
            0 => &mut assertion.credential_id,
            1 => &mut assertion.client_data_json,
            2 => &mut assertion.authenticator_data,
            _ => &mut assertion.signature,
        };
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        let verdict = verify_assertion(&assertion.to_json(), &expected(&challenge), &credential);
        prop_assert!(verdict.is_err(), "accepted a changed byte {i} of part {part}");
    }

    /// Any byte of the JSON text changed, or the text cut anywhere: never a panic, and never
    /// accepted unless the change left the decoded credential unchanged (JSON members the
    /// verifier does not read, such as clientExtensionResults).
    #[test]
    fn mutated_json_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()) {
        let (assertion, credential, challenge) = valid_assertion();
        let mut text = assertion.to_json().into_bytes();
        let i = at.index(text.len());
        if cut { text.truncate(i) } else { text[i] = byte }
        let text = String::from_utf8_lossy(&text);
        if let Ok(count) = verify_assertion(&text, &expected(&challenge), &credential) {
            prop_assert_eq!(count, 1);
        }
        let _ = verify_registration(&text, &expected(&challenge));
    }
}

#[derive(Debug, Clone)]
enum FidoOp {
    /// Create a FIDO2 device (slot) ACTIVATION_REQUIRED with creation options.
    Create(u8),
    /// Register it with a software authenticator (real attestation, verified).
    Register(u8),
    /// Unverified activation.
    Activate(u8),
    /// Record an assertion with this count.
    Assert(u8, u32),
    /// A failed check under fido2.failure (4, 150 s).
    Fail(u8),
    Unlock(u8),
    Delete(u8),
}

fn fido_op() -> impl Strategy<Value = FidoOp> {
    let slot = 0u8..3;
    prop_oneof![
        slot.clone().prop_map(FidoOp::Create),
        slot.clone().prop_map(FidoOp::Register),
        slot.clone().prop_map(FidoOp::Activate),
        (slot.clone(), 0u32..6).prop_map(|(s, n)| FidoOp::Assert(s, n)),
        slot.clone().prop_map(FidoOp::Fail),
        slot.clone().prop_map(FidoOp::Unlock),
        slot.prop_map(FidoOp::Delete),
    ]
}

fn credential_of(u: &UserDevices, id: &DeviceId) -> Option<WebAuthnCredential> {
    match &u.device(id)?.details {
        DeviceDetails::Fido2(f) => f.credential.clone(),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// FIDO2 lifecycles in any order: an awaiting device never activates unverified, a stored
    /// signature count only increases (or stays 0 for a counter-less authenticator), the
    /// credential is never rendered, and the event log replays to the aggregate and its
    /// snapshot.
    #[test]
    fn fido2_lifecycles_replay_exactly(ops in proptest::collection::vec(fido_op(), 1..24)) {
        let mut u = new_user();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut log = Vec::new();
        let mut now = t0();
        let fail = mfa_devices::lock::FailureRule::new(4, TimeDelta::seconds(150)).unwrap();
        for op in ops {
            now += TimeDelta::seconds(40);
            let slot = |s: u8| DeviceId::from_bytes([10 + s; 16]);
            let before = u.clone();
            let result = match &op {
                FidoOp::Create(s) => {
                    let mut body = NewDevice::new(DeviceType::Fido2);
                    body.rp = Some(RelyingParty { id: Some(RP.into()), ..Default::default() });
                    let (secrets, _) = DeviceSecrets::draw(&body, &policy(), "jo", &mut rng, now).unwrap();
                    u.execute(Command::Create { id: slot(*s), device: body, secrets }, now)
                }
                FidoOp::Register(s) => match u.device(&slot(*s)).cloned() {
                    Some(d) => {
                        let mut key = SoftwareAuthenticator::new(u64::from(*s));
                        let DeviceDetails::Fido2(f) = &d.details else { unreachable!() };
                        let attestation = key
                            .register_options(f.public_key_credential_creation_options.as_deref().unwrap(), ORIGIN)
                            .to_json();
                        let body = serde_json::json!({"origin": ORIGIN, "attestation": attestation}).to_string();
                        let command = Command::from_attestation(&d, body.as_bytes()).unwrap();
                        u.execute(command, now)
                    }
                    None => Err(UserDevicesError::NotFound(slot(*s))),
                },
                FidoOp::Activate(s) => {
                    let awaiting = u.device(&slot(*s)).is_some_and(|d| {
                        d.status == DeviceStatus::ActivationRequired
                            && !d.is_locked(now)
                            && !d.is_blocked()
                    });
                    let r = u.execute(Command::Activate { id: slot(*s), otp: None }, now);
                    if awaiting {
                        prop_assert_eq!(&r, &Err(UserDevicesError::AttestationRequired(slot(*s))));
                    }
                    r
                }
                FidoOp::Assert(s, n) => {
                    let stored = credential_of(&u, &slot(*s)).map(|c| c.sign_count);
                    let r = u.execute(Command::RecordAssertionSuccess { id: slot(*s), sign_count: *n }, now);
                    if r.is_ok() {
                        let stored = stored.unwrap();
                        prop_assert!(*n > stored || (*n == 0 && stored == 0), "{} over {}", n, stored);
                        prop_assert_eq!(credential_of(&u, &slot(*s)).unwrap().sign_count, *n);
                    }
                    r
                }
                FidoOp::Fail(s) => u.execute(Command::RecordOtpFailure { id: slot(*s), rule: fail }, now),
                FidoOp::Unlock(s) => u.execute(Command::Unlock { id: slot(*s) }, now),
                FidoOp::Delete(s) => u.execute(Command::Delete { id: slot(*s) }, now),
            };
            match result {
                Ok(events) => log.extend(events),
                Err(_) => prop_assert_eq!(&u, &before, "a refused {:?} changed the state", op),
            }
        }
        let replayed = UserDevices::replay(u.environment_id(), u.user_id(), &log).unwrap();
        prop_assert_eq!(&replayed, &u);
        let back = UserDevices::from_snapshot(&serde_json::to_vec(&u).unwrap(), Default::default()).unwrap();
        prop_assert_eq!(&back, &u);
        let events: Vec<mfa_devices::user_devices::Event> =
            serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        prop_assert_eq!(&events, &log);
        let shown = u.render_list(&ApiBase::new("https://api.example.com/v1"), false, now, |_| true);
        prop_assert!(!shown.to_string().contains("credentialId"));
    }
}
