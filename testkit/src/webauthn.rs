//! A software WebAuthn authenticator (feature `webauthn`): a P-256 key from a fixed seed that
//! answers `navigator.credentials.create` and `navigator.credentials.get` the way a browser
//! with a security key does, as the JSON of the `PublicKeyCredential` (WebAuthn Level 3
//! `toJSON()`, byte strings in unpadded base64url). It encodes its CBOR and authenticator data
//! itself (it shares no code with the verifier it tests) and signs with real ECDSA, so a test
//! drives the whole ceremony, and can alter any part of a response before sending it.
//!
//! ```
//! use mfa_devices_testkit::webauthn::SoftwareAuthenticator;
//! let mut key = SoftwareAuthenticator::new(1);
//! let registration = key.register(&[7; 32], "example.com", "https://example.com");
//! assert!(registration.to_json().contains("attestationObject"));
//! let assertion = key.assert(&[8; 32], "example.com", "https://example.com");
//! assert_eq!(assertion.sign_count, 1);
//! ```

use data_encoding::BASE64URL_NOPAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Authenticator data flags.
pub mod flags {
    /// User present.
    pub const UP: u8 = 0x01;
    /// User verified.
    pub const UV: u8 = 0x04;
    /// Backup eligible.
    pub const BE: u8 = 0x08;
    /// Backed up.
    pub const BS: u8 = 0x10;
    /// Attested credential data included.
    pub const AT: u8 = 0x40;
    /// Extension data included.
    pub const ED: u8 = 0x80;
}

/// A software authenticator holding one credential.
pub struct SoftwareAuthenticator {
    key: SigningKey,
    /// The credential id (16 bytes derived from the seed).
    pub credential_id: Vec<u8>,
    /// The signature counter of the next assertion minus one (incremented by [`Self::assert`]).
    pub sign_count: u32,
    /// The flags of the next response (default: UP | UV).
    pub flags: u8,
}

/// The parts of a registration response, to alter before [`to_json`](Self::to_json).
#[derive(Debug, Clone)]
pub struct Registration {
    /// `id` / `rawId`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.attestationObject`.
    pub attestation_object: Vec<u8>,
}

/// The parts of an assertion response, to alter before [`to_json`](Self::to_json).
#[derive(Debug, Clone)]
pub struct Assertion {
    /// `id` / `rawId`.
    pub credential_id: Vec<u8>,
    /// `response.clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `response.authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `response.signature` (DER).
    pub signature: Vec<u8>,
    /// The counter in the authenticator data.
    pub sign_count: u32,
}

impl Registration {
    /// The JSON of the `PublicKeyCredential` (`transports: ["usb"]`).
    pub fn to_json(&self) -> String {
        let id = BASE64URL_NOPAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": BASE64URL_NOPAD.encode(&self.client_data_json),
                "attestationObject": BASE64URL_NOPAD.encode(&self.attestation_object),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}

impl Assertion {
    /// The JSON of the `PublicKeyCredential`.
    pub fn to_json(&self) -> String {
        let id = BASE64URL_NOPAD.encode(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": BASE64URL_NOPAD.encode(&self.client_data_json),
                "authenticatorData": BASE64URL_NOPAD.encode(&self.authenticator_data),
                "signature": BASE64URL_NOPAD.encode(&self.signature),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }
}

/// `clientDataJSON` as a browser writes it.
pub fn client_data_json(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    json!({
        "type": kind,
        "challenge": BASE64URL_NOPAD.encode(challenge),
        "origin": origin,
        "crossOrigin": false,
    })
    .to_string()
    .into_bytes()
}

/// The challenge and rp id of creation options (`rp.id`) or request options (`rpId`).
///
/// # Panics
///
/// When the options have no base64url `challenge` or no rp id.
pub fn challenge_and_rp_id(options: &str) -> (Vec<u8>, String) {
    let o: Value = serde_json::from_str(options).expect("options are JSON");
    let challenge = BASE64URL_NOPAD
        .decode(o["challenge"].as_str().expect("challenge").as_bytes())
        .expect("challenge is base64url");
    let rp_id = o["rpId"]
        .as_str()
        .or_else(|| o["rp"]["id"].as_str())
        .expect("rp id")
        .to_owned();
    (challenge, rp_id)
}

/// CBOR head of major type `major` with argument `n`.
fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

/// CBOR encoders for the subset WebAuthn uses.
pub mod cbor {
    /// An integer.
    pub fn int(out: &mut Vec<u8>, v: i64) {
        if v >= 0 {
            super::head(out, 0, v as u64);
        } else {
            super::head(out, 1, (-1 - v) as u64);
        }
    }
    /// A byte string.
    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        super::head(out, 2, b.len() as u64);
        out.extend_from_slice(b);
    }
    /// A text string.
    pub fn text(out: &mut Vec<u8>, t: &str) {
        super::head(out, 3, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }
    /// A map head of `n` entries (write the entries after it).
    pub fn map(out: &mut Vec<u8>, n: u64) {
        super::head(out, 5, n);
    }
    /// An array head of `n` items.
    pub fn array(out: &mut Vec<u8>, n: u64) {
        super::head(out, 4, n);
    }
}

/// The attestation statement format of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `none`, an empty statement.
    None,
    /// `packed` self attestation (`alg`, `sig` with the credential key).
    PackedSelf,
    /// `packed` with a (dummy) certificate chain `x5c`.
    PackedX5c,
    /// `fido-u2f` (not verified by the crate).
    FidoU2f,
}

impl SoftwareAuthenticator {
    /// An authenticator whose key and credential id derive from `seed`.
    pub fn new(seed: u64) -> Self {
        let secret = Sha256::digest(format!("software authenticator key {seed}").as_bytes());
        let key =
            SigningKey::from_slice(&secret).expect("a SHA-256 output is a valid P-256 scalar");
        let id = Sha256::digest(format!("software authenticator credential {seed}").as_bytes());
        Self {
            key,
            credential_id: id[..16].to_vec(),
            sign_count: 0,
            flags: flags::UP | flags::UV,
        }
    }

    /// The credential public key as a COSE_Key (EC2, ES256, P-256).
    pub fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut out = Vec::new();
        cbor::map(&mut out, 5);
        cbor::int(&mut out, 1);
        cbor::int(&mut out, 2);
        cbor::int(&mut out, 3);
        cbor::int(&mut out, -7);
        cbor::int(&mut out, -1);
        cbor::int(&mut out, 1);
        cbor::int(&mut out, -2);
        cbor::bytes(&mut out, &point.x().expect("uncompressed")[..]);
        cbor::int(&mut out, -3);
        cbor::bytes(&mut out, &point.y().expect("uncompressed")[..]);
        out
    }

    /// The uncompressed SEC1 public key (`0x04 ‖ x ‖ y`).
    pub fn public_key(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// Authenticator data for `rp_id` with `flags`, `count`, and the attested credential
    /// data when `flags` has AT.
    pub fn authenticator_data(&self, rp_id: &str, flags: u8, count: u32) -> Vec<u8> {
        let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
        out.push(flags);
        out.extend(count.to_be_bytes());
        if flags & flags::AT != 0 {
            out.extend([0u8; 16]);
            out.extend((self.credential_id.len() as u16).to_be_bytes());
            out.extend_from_slice(&self.credential_id);
            out.extend(self.cose_key());
        }
        out
    }

    /// An ECDSA P-256 signature (DER) over `auth_data ‖ SHA-256(client_data)`.
    pub fn sign(&self, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        let mut message = auth_data.to_vec();
        message.extend(Sha256::digest(client_data));
        let signature: Signature = self.key.sign(&message);
        signature.to_der().as_bytes().to_vec()
    }

    /// A registration with attestation `none` for `challenge`, `rp_id`, `origin`.
    pub fn register(&mut self, challenge: &[u8], rp_id: &str, origin: &str) -> Registration {
        self.register_as(Format::None, challenge, rp_id, origin)
    }

    /// A registration answering creation options (their challenge and `rp.id`).
    pub fn register_options(&mut self, options: &str, origin: &str) -> Registration {
        let (challenge, rp_id) = challenge_and_rp_id(options);
        self.register(&challenge, &rp_id, origin)
    }

    /// A registration with the attestation statement `format`.
    pub fn register_as(
        &mut self,
        format: Format,
        challenge: &[u8],
        rp_id: &str,
        origin: &str,
    ) -> Registration {
        let client_data_json = client_data_json("webauthn.create", challenge, origin);
        let auth_data = self.authenticator_data(rp_id, self.flags | flags::AT, self.sign_count);
        let mut object = Vec::new();
        cbor::map(&mut object, 3);
        cbor::text(&mut object, "fmt");
        match format {
            Format::None => {
                cbor::text(&mut object, "none");
                cbor::text(&mut object, "attStmt");
                cbor::map(&mut object, 0);
            }
            Format::PackedSelf | Format::PackedX5c => {
                cbor::text(&mut object, "packed");
                cbor::text(&mut object, "attStmt");
                let sig = self.sign(&auth_data, &client_data_json);
                cbor::map(&mut object, if format == Format::PackedX5c { 3 } else { 2 });
                cbor::text(&mut object, "alg");
                cbor::int(&mut object, -7);
                cbor::text(&mut object, "sig");
                cbor::bytes(&mut object, &sig);
                if format == Format::PackedX5c {
                    cbor::text(&mut object, "x5c");
                    cbor::array(&mut object, 1);
                    cbor::bytes(&mut object, b"not a certificate");
                }
            }
            Format::FidoU2f => {
                cbor::text(&mut object, "fido-u2f");
                cbor::text(&mut object, "attStmt");
                cbor::map(&mut object, 0);
            }
        }
        cbor::text(&mut object, "authData");
        cbor::bytes(&mut object, &auth_data);
        Registration {
            credential_id: self.credential_id.clone(),
            client_data_json,
            attestation_object: object,
        }
    }

    /// An assertion for `challenge`, `rp_id`, `origin`: the counter is incremented first.
    pub fn assert(&mut self, challenge: &[u8], rp_id: &str, origin: &str) -> Assertion {
        self.sign_count += 1;
        let client_data_json = client_data_json("webauthn.get", challenge, origin);
        let authenticator_data = self.authenticator_data(rp_id, self.flags, self.sign_count);
        let signature = self.sign(&authenticator_data, &client_data_json);
        Assertion {
            credential_id: self.credential_id.clone(),
            client_data_json,
            authenticator_data,
            signature,
            sign_count: self.sign_count,
        }
    }

    /// An assertion answering request options (their challenge and `rpId`).
    pub fn assert_options(&mut self, options: &str, origin: &str) -> Assertion {
        let (challenge, rp_id) = challenge_and_rp_id(options);
        self.assert(&challenge, &rp_id, origin)
    }

    /// Re-signs an assertion whose parts were altered (a valid signature over the new parts).
    pub fn resign(&self, assertion: &mut Assertion) {
        assertion.signature = self.sign(&assertion.authenticator_data, &assertion.client_data_json);
    }
}
