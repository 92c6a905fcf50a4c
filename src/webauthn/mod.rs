//! WebAuthn (FIDO2): the options a server hands to the browser, and — with the cargo feature
//! `webauthn` — the verification of what the browser sends back.
//!
//! Two ceremonies, each a challenge the server draws from its CSPRNG and keeps in state it
//! persists deliberately (never in a cookie or a client-held blob):
//!
//! | ceremony | options (always compiled) | kept in | verified by (feature `webauthn`) |
//! |---|---|---|---|
//! | registration: a FIDO2 device is created ACTIVATION_REQUIRED, then activated with `{"origin", "attestation"}` | [`creation_options`] (drawn by [`DeviceSecrets::draw`](crate::user_devices::DeviceSecrets::draw)) | the device's `publicKeyCredentialCreationOptions` | `verify_registration` / `verify_activation` → a [`WebAuthnCredential`] stored with the device |
//! | authentication: a flow in ASSERTION_REQUIRED, then `assertion.check` with `{"origin", "assertion"}` | [`request_options`] (drawn by [`DeviceAuthentication::issue_assertion`](crate::authn::DeviceAuthentication::issue_assertion)) | the flow's stored state | `verify_assertion` → the new signature count |
//!
//! The types — [`WebAuthnError`], [`Ceremony`], the credential
//! ([`WebAuthnCredential`]) — and the option builders are always compiled, so stored devices,
//! events and flows have one form whatever the features; the verification (a bounded CBOR
//! reader and ECDSA P-256 from the `p256` crate) only with the feature.
//!
//! What is verified, and the decisions where WebAuthn leaves a choice:
//!
//! - the response is the JSON of a `PublicKeyCredential` (WebAuthn Level 3 `toJSON()`: byte
//!   strings in unpadded base64url), at most [`MAX_RESPONSE_BYTES`];
//! - `clientDataJSON`: `type` of the ceremony, `challenge` equal to the issued one (compared in
//!   constant time), `origin` equal to the request's `origin` and allowed for the relying
//!   party — `https://` with a host equal to the rp id or a subdomain of it, `http://` only on
//!   `localhost`, `127.0.0.1` and `[::1]` — and `crossOrigin` not true;
//! - the authenticator data: `rpIdHash` = SHA-256(rp id), the UP flag, UV when required;
//! - registration: attestation format `none` (an empty statement) or `packed` self
//!   attestation (its signature checked with the credential's own key); `packed` with
//!   certificates (`x5c`) is refused ([`WebAuthnError::AttestationCertificatesNotChecked`]):
//!   the options ask for attestation `none`, and certificates without trust anchors would
//!   prove nothing. Other formats are refused. The key must be COSE EC2 P-256, ES256 (-7);
//! - assertion: the credential id is the device's, the ECDSA signature (DER) over
//!   `authenticatorData ‖ SHA-256(clientDataJSON)` verifies, and the signature counter
//!   increases whenever the stored or the received one is non-zero (else a cloned
//!   authenticator is assumed: [`WebAuthnError::SignCountNotIncreased`]).
//!
//! User verification: the resolved policy does not model it, so the options ask for
//! `"preferred"` and verification does not require the UV flag (the verify functions take
//! `require_user_verification` for a caller that does).

mod error;

#[cfg(feature = "webauthn")]
mod cbor;
#[cfg(feature = "webauthn")]
mod verify;

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Value, json};

pub use crate::device::WebAuthnCredential;
pub use error::{Ceremony, WebAuthnError};
#[cfg(feature = "webauthn")]
pub use verify::{Expected, verify_activation, verify_assertion, verify_registration};

/// The size of a challenge, in bytes (WebAuthn asks for at least 16).
pub const CHALLENGE_BYTES: usize = 32;

/// The `timeout` the options give the browser, in milliseconds (2 minutes).
pub const TIMEOUT_MILLIS: u32 = 120_000;

/// The largest response (`attestation` or `assertion` JSON) read, in bytes: real ones are a
/// few kilobytes (a packed attestation with certificates stays under 8 KiB).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The longest credential id accepted (WebAuthn §6.1: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;

/// `publicKeyCredentialCreationOptions` for `navigator.credentials.create`, as the JSON string
/// PingOne's FIDO2 device carries (WebAuthn Level 3 `PublicKeyCredentialCreationOptionsJSON`:
/// byte strings in unpadded base64url, for `PublicKeyCredential.parseCreationOptionsFromJSON`):
/// the challenge, the relying party, the user (`user_handle` is the WebAuthn user id), ES256
/// only, attestation `none`, [`TIMEOUT_MILLIS`], user verification `preferred`.
///
/// ```
/// use mfa_devices::webauthn::creation_options;
/// let text = creation_options(&[7; 32], "example.com", "Example", b"user-1", "jo", "Jo");
/// let o: serde_json::Value = serde_json::from_str(&text).unwrap();
/// assert_eq!(o["rp"]["id"], "example.com");
/// assert_eq!(o["user"]["id"], "dXNlci0x");
/// assert_eq!(o["pubKeyCredParams"][0]["alg"], -7);
/// assert_eq!(o["attestation"], "none");
/// assert_eq!(o["challenge"].as_str().unwrap().len(), 43);
/// ```
pub fn creation_options(
    challenge: &[u8],
    rp_id: &str,
    rp_name: &str,
    user_handle: &[u8],
    user_name: &str,
    display_name: &str,
) -> String {
    json!({
        "challenge": BASE64URL_NOPAD.encode(challenge),
        "rp": {"id": rp_id, "name": rp_name},
        "user": {
            "id": BASE64URL_NOPAD.encode(user_handle),
            "name": user_name,
            "displayName": display_name,
        },
        "pubKeyCredParams": [{"type": "public-key", "alg": crate::device::COSE_ALG_ES256}],
        "timeout": TIMEOUT_MILLIS,
        "attestation": "none",
        "authenticatorSelection": {"userVerification": "preferred"},
    })
    .to_string()
}

/// `publicKeyCredentialRequestOptions` for `navigator.credentials.get` (WebAuthn Level 3
/// `PublicKeyCredentialRequestOptionsJSON`): the challenge, the credential's rp id, the
/// credential as the only `allowCredentials` entry (with its transports), [`TIMEOUT_MILLIS`],
/// user verification `preferred`.
///
/// ```
/// use mfa_devices::webauthn::{WebAuthnCredential, request_options};
/// let credential = WebAuthnCredential::new(vec![1, 2, 3], vec![4; 65], "example.com");
/// let o: serde_json::Value = serde_json::from_str(&request_options(&[9; 32], &credential)).unwrap();
/// assert_eq!(o["rpId"], "example.com");
/// assert_eq!(o["allowCredentials"][0]["id"], "AQID");
/// assert_eq!(o["userVerification"], "preferred");
/// ```
pub fn request_options(challenge: &[u8], credential: &WebAuthnCredential) -> String {
    let mut allowed = json!({"type": "public-key", "id": credential.credential_id_base64url()});
    if !credential.transports.is_empty() {
        if let Some(o) = allowed.as_object_mut() {
            o.insert("transports".into(), json!(credential.transports));
        }
    }
    json!({
        "challenge": BASE64URL_NOPAD.encode(challenge),
        "rpId": credential.rp_id,
        "allowCredentials": [allowed],
        "timeout": TIMEOUT_MILLIS,
        "userVerification": "preferred",
    })
    .to_string()
}

/// The challenge and the rp id of creation options written by [`creation_options`] (or any
/// options with a base64url `challenge` and `rp.id`); `None` when they cannot be read.
///
/// ```
/// use mfa_devices::webauthn::{creation_options, registration_of};
/// let text = creation_options(&[7; 32], "example.com", "Example", b"u", "jo", "Jo");
/// assert_eq!(registration_of(&text), Some((vec![7; 32], "example.com".to_owned())));
/// assert_eq!(registration_of("{}"), None);
/// ```
pub fn registration_of(options: &str) -> Option<(Vec<u8>, String)> {
    let value: Value = serde_json::from_str(options).ok()?;
    let challenge = value.get("challenge")?.as_str()?;
    let challenge = BASE64URL_NOPAD.decode(challenge.as_bytes()).ok()?;
    let rp_id = value.get("rp")?.get("id")?.as_str()?.to_owned();
    (!challenge.is_empty() && !rp_id.is_empty()).then_some((challenge, rp_id))
}
