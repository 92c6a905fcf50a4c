//! Fuzz body of `webauthn_verify`: arbitrary bytes as a WebAuthn registration or assertion
//! response (the `webauthn` feature of `mfa-devices`; without it the body does nothing).

/// The seeds' ceremony: challenge, relying party, origin.
#[cfg(feature = "webauthn")]
const CHALLENGE: [u8; 32] = [0x11; 32];
#[cfg(feature = "webauthn")]
const RP_ID: &str = "example.com";
#[cfg(feature = "webauthn")]
const ORIGIN: &str = "https://login.example.com";
/// The credential of the testkit's `SoftwareAuthenticator::new(1)`, which wrote the seeds.
#[cfg(feature = "webauthn")]
const CREDENTIAL_ID: [u8; 16] = [
    140, 4, 179, 174, 244, 17, 170, 186, 174, 151, 130, 128, 188, 44, 23, 45,
];
#[cfg(feature = "webauthn")]
const PUBLIC_KEY: [u8; 65] = [
    4, 73, 93, 225, 3, 85, 27, 131, 7, 0, 107, 169, 178, 246, 14, 154, 82, 204, 58, 21, 248, 96,
    188, 7, 79, 21, 70, 89, 100, 176, 125, 3, 19, 142, 233, 237, 75, 229, 135, 126, 65, 146, 159,
    208, 15, 109, 77, 180, 196, 144, 25, 49, 96, 181, 50, 185, 95, 30, 128, 112, 97, 237, 147, 160,
    80,
];

/// The first byte picks the ceremony (even: registration, odd: assertion), the rest is the
/// response text (lossy UTF-8). Verifies it against the seeds' ceremony and credential.
///
/// Panics when an invariant breaks: an accepted registration's credential is not a 65-byte
/// SEC1 point for the expected rp id with a credential id of 1 to 1023 bytes; an accepted
/// assertion's count does not increase on the stored one; an error's message is unbounded or
/// its `ApiError` is not a 400 at `attestation`, `assertion` or `origin`.
pub fn webauthn_verify(data: &[u8]) {
    #[cfg(feature = "webauthn")]
    {
        let _ = webauthn_verify_accepts(data);
    }
    #[cfg(not(feature = "webauthn"))]
    {
        let _ = data;
    }
}

/// [`webauthn_verify`], telling whether the response was accepted.
#[cfg(feature = "webauthn")]
pub fn webauthn_verify_accepts(data: &[u8]) -> bool {
    use mfa_devices::error::ApiError;
    use mfa_devices::webauthn::{
        Expected, WebAuthnCredential, WebAuthnError, verify_assertion, verify_registration,
    };
    let Some((mode, text)) = data.split_first() else {
        return false;
    };
    let text = String::from_utf8_lossy(text);
    let expected = Expected {
        challenge: &CHALLENGE,
        origin: ORIGIN,
        rp_id: RP_ID,
        require_user_verification: false,
    };
    let check_error = |e: WebAuthnError| {
        let message = e.to_string();
        assert!(message.len() < 2048, "unbounded message: {message}");
        let api = ApiError::from(e);
        assert_eq!(api.http_status(), 400);
        let target = api.details.first().and_then(|d| d.target.clone());
        assert!(
            matches!(
                target.as_deref(),
                Some("attestation" | "assertion" | "origin")
            ),
            "{target:?}"
        );
    };
    if mode % 2 == 0 {
        match verify_registration(&text, &expected) {
            Ok(c) => {
                assert_eq!(c.public_key.len(), 65);
                assert_eq!(c.public_key.first(), Some(&4));
                assert!((1..=1023).contains(&c.credential_id.len()));
                assert_eq!(c.rp_id, RP_ID);
                true
            }
            Err(e) => {
                check_error(e);
                false
            }
        }
    } else {
        let mut credential =
            WebAuthnCredential::new(CREDENTIAL_ID.to_vec(), PUBLIC_KEY.to_vec(), RP_ID);
        credential.sign_count = u32::from(*mode >> 1) % 4;
        match verify_assertion(&text, &expected, &credential) {
            Ok(count) => {
                assert!(
                    count > credential.sign_count || (count == 0 && credential.sign_count == 0),
                    "count {count} accepted over {}",
                    credential.sign_count
                );
                true
            }
            Err(e) => {
                check_error(e);
                false
            }
        }
    }
}
