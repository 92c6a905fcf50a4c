//! Verification of registration and assertion responses (feature `webauthn`).

use data_encoding::BASE64URL_NOPAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::cbor::{self, Item};
use super::{
    Ceremony, MAX_CREDENTIAL_ID_BYTES, MAX_RESPONSE_BYTES, WebAuthnCredential, WebAuthnError,
};
use crate::device::{COSE_ALG_ES256, Device, DeviceDetails};

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// What a response must match: the challenge the server issued, the origin the request gave,
/// the relying party id, and whether the UV flag is required.
///
/// ```
/// use mfa_devices::webauthn::Expected;
/// let e = Expected { challenge: &[7; 32], origin: "https://example.com", rp_id: "example.com",
///     require_user_verification: false };
/// assert_eq!(e.rp_id, "example.com");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The challenge issued (raw bytes).
    pub challenge: &'a [u8],
    /// The origin the request body gave (`origin`); `clientDataJSON.origin` must equal it.
    pub origin: &'a str,
    /// The relying party id.
    pub rp_id: &'a str,
    /// Refuse an authenticator data without the UV flag.
    pub require_user_verification: bool,
}

/// Verifies a registration response (the `attestation` of a FIDO2 device activation: the JSON
/// of the `PublicKeyCredential` that `navigator.credentials.create` returned) against the
/// challenge, origin and rp id of the registration; see the [module docs](super) for the
/// checks. Returns the credential to store with the device.
///
/// # Errors
///
/// The first check that fails, as a [`WebAuthnError`] naming it.
pub fn verify_registration(
    response: &str,
    expected: &Expected<'_>,
) -> Result<WebAuthnCredential, WebAuthnError> {
    let ceremony = Ceremony::Registration;
    let json = parse_response(response, ceremony)?;
    let raw_id = bytes_member(&json, &["rawId"], "rawId", ceremony)?;
    let id = bytes_member(&json, &["id"], "id", ceremony)?;
    let client_data = bytes_member(
        &json,
        &["response", "clientDataJSON"],
        "response.clientDataJSON",
        ceremony,
    )?;
    let attestation_object = bytes_member(
        &json,
        &["response", "attestationObject"],
        "response.attestationObject",
        ceremony,
    )?;
    check_client_data(&client_data, expected, ceremony)?;

    let object = cbor::read_exact(&attestation_object).map_err(|problem| WebAuthnError::Cbor {
        ceremony,
        problem: format!("attestationObject: {problem}"),
    })?;
    let cbor_error = |problem: &str| WebAuthnError::Cbor {
        ceremony,
        problem: format!("attestationObject: {problem}"),
    };
    let Some(Item::Text(format)) = object.get_text("fmt") else {
        return Err(cbor_error("fmt is missing or not a text string"));
    };
    let Some(statement) = object.get_text("attStmt").filter(|s| s.entries().is_some()) else {
        return Err(cbor_error("attStmt is missing or not a map"));
    };
    let Some(Item::Bytes(auth_data)) = object.get_text("authData") else {
        return Err(cbor_error("authData is missing or not a byte string"));
    };
    let data = AuthData::parse(auth_data, ceremony)?;
    data.check(expected, ceremony)?;
    let attested = data
        .attested
        .as_ref()
        .ok_or(WebAuthnError::NoAttestedCredential)?;
    let key = cose_key(&attested.key)?;
    if raw_id.ct_eq(attested.credential_id).unwrap_u8() != 1 || raw_id != id {
        return Err(WebAuthnError::CredentialIdMismatch);
    }
    let signed = signed_bytes(auth_data, &client_data);
    match *format {
        "none" => {
            if statement.entries().is_some_and(|e| !e.is_empty()) {
                return Err(WebAuthnError::AttestationStatement {
                    problem: "format none has an empty attStmt".into(),
                });
            }
        }
        "packed" => {
            if statement.get_text("x5c").is_some() {
                return Err(WebAuthnError::AttestationCertificatesNotChecked);
            }
            if statement.get_text("ecdaaKeyId").is_some() {
                return Err(WebAuthnError::AttestationStatement {
                    problem: "ECDAA attestation is not supported".into(),
                });
            }
            let alg = statement.get_text("alg").and_then(Item::int);
            if alg != Some(COSE_ALG_ES256) {
                return Err(WebAuthnError::AttestationStatement {
                    problem: "packed self attestation needs alg -7 (the credential's)".into(),
                });
            }
            let Some(Item::Bytes(sig)) = statement.get_text("sig") else {
                return Err(WebAuthnError::AttestationStatement {
                    problem: "sig is missing or not a byte string".into(),
                });
            };
            if !signature_verifies(&key, &signed, sig) {
                return Err(WebAuthnError::AttestationStatement {
                    problem:
                        "the self-attestation signature does not verify with the credential key"
                            .into(),
                });
            }
        }
        other => {
            return Err(WebAuthnError::UnsupportedAttestationFormat {
                format: other.to_owned(),
            });
        }
    }
    let transports = match json
        .get("response")
        .and_then(|r| r.get("transports"))
        .and_then(Value::as_array)
    {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| t.len() <= 32)
            .take(8)
            .map(str::to_owned)
            .collect(),
        None => Vec::new(),
    };
    Ok(WebAuthnCredential {
        credential_id: attested.credential_id.to_vec(),
        public_key: key.to_encoded_point(false).as_bytes().to_vec(),
        algorithm: COSE_ALG_ES256,
        rp_id: expected.rp_id.to_owned(),
        sign_count: data.sign_count,
        backup_eligible: data.flags & FLAG_BE != 0,
        backup_state: data.flags & FLAG_BS != 0,
        user_verified: data.flags & FLAG_UV != 0,
        aaguid: attested.aaguid.to_vec(),
        transports,
    })
}

/// Verifies the registration of a FIDO2 device created with
/// `publicKeyCredentialCreationOptions` (see [`registration_of`](super::registration_of)):
/// the challenge and rp id come from the device's options, `origin` and `attestation` from
/// the activation body. User verification is not required.
///
/// # Errors
///
/// [`WebAuthnError::NoRegistration`] for a device without readable options (or of another
/// type), else what [`verify_registration`] refuses.
pub fn verify_activation(
    device: &Device,
    origin: &str,
    attestation: &str,
) -> Result<WebAuthnCredential, WebAuthnError> {
    let DeviceDetails::Fido2(details) = &device.details else {
        return Err(WebAuthnError::NoRegistration {
            problem: format!("it is a {} device, not FIDO2", device.device_type.as_str()),
        });
    };
    let options = details
        .public_key_credential_creation_options
        .as_deref()
        .ok_or_else(|| WebAuthnError::NoRegistration {
            problem: "it has no publicKeyCredentialCreationOptions".into(),
        })?;
    let (challenge, rp_id) =
        super::registration_of(options).ok_or_else(|| WebAuthnError::NoRegistration {
            problem: "its publicKeyCredentialCreationOptions have no challenge or rp.id".into(),
        })?;
    verify_registration(
        attestation,
        &Expected {
            challenge: &challenge,
            origin,
            rp_id: &rp_id,
            require_user_verification: false,
        },
    )
}

/// Verifies an assertion (the JSON of the `PublicKeyCredential` that
/// `navigator.credentials.get` returned) against the challenge issued, the request's origin,
/// the credential's rp id, and `credential` (its id, key and signature count); see the
/// [module docs](super). `expected.rp_id` must be the credential's. Returns the new signature
/// count to store.
///
/// # Errors
///
/// The first check that fails, as a [`WebAuthnError`] naming it.
pub fn verify_assertion(
    response: &str,
    expected: &Expected<'_>,
    credential: &WebAuthnCredential,
) -> Result<u32, WebAuthnError> {
    let ceremony = Ceremony::Assertion;
    let json = parse_response(response, ceremony)?;
    let raw_id = bytes_member(&json, &["rawId"], "rawId", ceremony)?;
    let id = bytes_member(&json, &["id"], "id", ceremony)?;
    if raw_id != id || raw_id.ct_eq(&credential.credential_id).unwrap_u8() != 1 {
        return Err(WebAuthnError::UnknownCredential);
    }
    let client_data = bytes_member(
        &json,
        &["response", "clientDataJSON"],
        "response.clientDataJSON",
        ceremony,
    )?;
    let auth_data = bytes_member(
        &json,
        &["response", "authenticatorData"],
        "response.authenticatorData",
        ceremony,
    )?;
    let signature = bytes_member(
        &json,
        &["response", "signature"],
        "response.signature",
        ceremony,
    )?;
    check_client_data(&client_data, expected, ceremony)?;
    let data = AuthData::parse(&auth_data, ceremony)?;
    data.check(expected, ceremony)?;
    if credential.algorithm != COSE_ALG_ES256 {
        return Err(WebAuthnError::NoCredential);
    }
    let key = VerifyingKey::from_sec1_bytes(&credential.public_key)
        .map_err(|_| WebAuthnError::NoCredential)?;
    if !signature_verifies(&key, &signed_bytes(&auth_data, &client_data), &signature) {
        return Err(WebAuthnError::BadSignature);
    }
    let (stored, received) = (credential.sign_count, data.sign_count);
    if (stored != 0 || received != 0) && received <= stored {
        return Err(WebAuthnError::SignCountNotIncreased { stored, received });
    }
    Ok(received)
}

fn parse_response(response: &str, ceremony: Ceremony) -> Result<Map<String, Value>, WebAuthnError> {
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(WebAuthnError::TooLarge {
            ceremony,
            bytes: response.len(),
        });
    }
    let malformed = |problem: String| WebAuthnError::Malformed { ceremony, problem };
    let value: Value = serde_json::from_str(response)
        .map_err(|e| malformed(format!("not JSON ({})", crate::json::describe(&e))))?;
    let Value::Object(map) = value else {
        return Err(malformed("it is not a JSON object".into()));
    };
    match map.get("type") {
        Some(Value::String(t)) if t == "public-key" => Ok(map),
        Some(Value::String(t)) => Err(WebAuthnError::CredentialType {
            ceremony,
            found: t.clone(),
        }),
        _ => Err(malformed("type is missing or not a string".into())),
    }
}

/// The base64url member at `path`, decoded.
fn bytes_member(
    json: &Map<String, Value>,
    path: &[&str],
    member: &'static str,
    ceremony: Ceremony,
) -> Result<Vec<u8>, WebAuthnError> {
    let mut at: Option<&Value> = None;
    for (i, key) in path.iter().enumerate() {
        at = if i == 0 {
            json.get(*key)
        } else {
            at.and_then(|v| v.get(*key))
        };
    }
    let Some(Value::String(text)) = at else {
        return Err(WebAuthnError::Malformed {
            ceremony,
            problem: format!("{member} is missing or not a string"),
        });
    };
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| WebAuthnError::NotBase64Url { ceremony, member })
}

fn check_client_data(
    client_data: &[u8],
    expected: &Expected<'_>,
    ceremony: Ceremony,
) -> Result<(), WebAuthnError> {
    let problem = |problem: &str| WebAuthnError::ClientData {
        ceremony,
        problem: problem.to_owned(),
    };
    let value: Value =
        serde_json::from_slice(client_data).map_err(|_| problem("it is not JSON"))?;
    let Value::Object(data) = value else {
        return Err(problem("it is not a JSON object"));
    };
    let Some(Value::String(kind)) = data.get("type") else {
        return Err(problem("type is missing or not a string"));
    };
    if kind != ceremony.client_data_type() {
        return Err(WebAuthnError::ClientDataType {
            ceremony,
            found: kind.clone(),
        });
    }
    let Some(Value::String(challenge)) = data.get("challenge") else {
        return Err(problem("challenge is missing or not a string"));
    };
    let challenge = BASE64URL_NOPAD
        .decode(challenge.as_bytes())
        .map_err(|_| problem("challenge is not unpadded base64url"))?;
    if expected.challenge.is_empty() || challenge.ct_eq(expected.challenge).unwrap_u8() != 1 {
        return Err(WebAuthnError::ChallengeMismatch { ceremony });
    }
    let Some(Value::String(origin)) = data.get("origin") else {
        return Err(problem("origin is missing or not a string"));
    };
    check_origin(origin, expected, ceremony)?;
    match data.get("crossOrigin") {
        None | Some(Value::Bool(false) | Value::Null) => Ok(()),
        Some(Value::Bool(true)) => Err(WebAuthnError::CrossOrigin { ceremony }),
        Some(_) => Err(problem("crossOrigin is not a boolean")),
    }
}

/// The origin of the client data: the request's, and one of the relying party's.
fn check_origin(
    origin: &str,
    expected: &Expected<'_>,
    ceremony: Ceremony,
) -> Result<(), WebAuthnError> {
    let refuse = |reason: String| WebAuthnError::OriginNotAllowed {
        ceremony,
        origin: origin.to_owned(),
        reason,
    };
    if origin != expected.origin {
        return Err(refuse(format!(
            "clientDataJSON.origin is not the origin given with the request (\"{}\")",
            crate::error::echo(expected.origin)
        )));
    }
    let (secure, authority) = if let Some(rest) = origin.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = origin.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(refuse("the scheme must be https".into()));
    };
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', '\\']) {
        return Err(refuse(
            "an origin is scheme://host[:port], without user, path, query or fragment".into(),
        ));
    }
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority.get(..=end).unwrap_or(authority),
            None => return Err(refuse("an IPv6 host is not closed with ]".into())),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                host
            }
            Some(_) => return Err(refuse("the port is not a number".into())),
            None => authority,
        }
    };
    let host = host.to_ascii_lowercase();
    let rp_id = expected.rp_id.to_ascii_lowercase();
    let within = host == rp_id
        || host
            .strip_suffix(rp_id.as_str())
            .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1);
    if !within {
        return Err(refuse(format!(
            "its host is not the relying party id \"{}\" or a subdomain of it",
            crate::error::echo(expected.rp_id)
        )));
    }
    if !secure && !matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]") {
        return Err(refuse(
            "the scheme must be https (http only on localhost)".into(),
        ));
    }
    Ok(())
}

/// `authenticatorData ‖ SHA-256(clientDataJSON)`: what both signatures cover.
fn signed_bytes(auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    let mut signed = Vec::with_capacity(auth_data.len() + 32);
    signed.extend_from_slice(auth_data);
    signed.extend_from_slice(&Sha256::digest(client_data));
    signed
}

/// An ECDSA P-256 / SHA-256 signature, DER-encoded as WebAuthn sends it.
fn signature_verifies(key: &VerifyingKey, message: &[u8], der: &[u8]) -> bool {
    Signature::from_der(der).is_ok_and(|sig| key.verify(message, &sig).is_ok())
}

/// The credential key of a COSE_Key map: EC2 (1: 2), ES256 (3: -7), P-256 (-1: 1), x (-2) and
/// y (-3) of 32 bytes each, a point on the curve.
fn cose_key(key: &Item<'_>) -> Result<VerifyingKey, WebAuthnError> {
    let unsupported = |problem: String| WebAuthnError::UnsupportedKey { problem };
    if key.entries().is_none() {
        return Err(unsupported(format!("the COSE key is {}", key.kind())));
    }
    let int = |label: i64| key.get_int(label).and_then(Item::int);
    if int(1) != Some(2) {
        return Err(unsupported(format!("kty is {:?}, not 2 (EC2)", int(1))));
    }
    if int(3) != Some(COSE_ALG_ES256) {
        return Err(unsupported(format!("alg is {:?}, not -7 (ES256)", int(3))));
    }
    if int(-1) != Some(1) {
        return Err(unsupported(format!("crv is {:?}, not 1 (P-256)", int(-1))));
    }
    let coordinate = |label: i64, name: &str| match key.get_int(label) {
        Some(Item::Bytes(b)) if b.len() == 32 => Ok(*b),
        _ => Err(unsupported(format!("{name} is not a 32-byte string"))),
    };
    let (x, y) = (coordinate(-2, "x")?, coordinate(-3, "y")?);
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| unsupported("the point is not on the P-256 curve".into()))
}

/// Authenticator data (WebAuthn §6.1).
struct AuthData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    attested: Option<Attested<'a>>,
}

struct Attested<'a> {
    aaguid: &'a [u8],
    credential_id: &'a [u8],
    key: Item<'a>,
}

impl<'a> AuthData<'a> {
    fn parse(bytes: &'a [u8], ceremony: Ceremony) -> Result<Self, WebAuthnError> {
        let bad = |problem: String| WebAuthnError::AuthenticatorData { ceremony, problem };
        if bytes.len() < 37 {
            return Err(bad(format!(
                "{} bytes; it has at least 37 (rpIdHash, flags, signCount)",
                bytes.len()
            )));
        }
        let (rp_id_hash, rest) = bytes.split_at(32);
        let (flags, rest) = rest.split_at(1);
        let (count, mut rest) = rest.split_at(4);
        let flags = flags.first().copied().unwrap_or(0);
        let sign_count = count.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        let mut attested = None;
        if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(bad("the attested credential data is truncated".into()));
            }
            let (aaguid, after) = rest.split_at(16);
            let (len, after) = after.split_at(2);
            let len = len
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            if len == 0 || len > MAX_CREDENTIAL_ID_BYTES {
                return Err(bad(format!(
                    "a credential id of {len} bytes (1 to {MAX_CREDENTIAL_ID_BYTES})"
                )));
            }
            if len > after.len() {
                return Err(bad("the credential id runs past the end".into()));
            }
            let (credential_id, after) = after.split_at(len);
            let (key, after) = cbor::read(after).map_err(|problem| WebAuthnError::Cbor {
                ceremony,
                problem: format!("the credential public key: {problem}"),
            })?;
            attested = Some(Attested {
                aaguid,
                credential_id,
                key,
            });
            rest = after;
        }
        if flags & FLAG_ED != 0 {
            let (extensions, after) = cbor::read(rest).map_err(|problem| WebAuthnError::Cbor {
                ceremony,
                problem: format!("the extensions: {problem}"),
            })?;
            if extensions.entries().is_none() {
                return Err(bad(format!(
                    "the extensions are {}, not a map",
                    extensions.kind()
                )));
            }
            rest = after;
        }
        if !rest.is_empty() {
            return Err(bad(format!("{} bytes after its end", rest.len())));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    fn check(&self, expected: &Expected<'_>, ceremony: Ceremony) -> Result<(), WebAuthnError> {
        let hash = Sha256::digest(expected.rp_id.as_bytes());
        if self.rp_id_hash.ct_eq(hash.as_slice()).unwrap_u8() != 1 {
            return Err(WebAuthnError::RpIdHashMismatch {
                ceremony,
                rp_id: expected.rp_id.to_owned(),
            });
        }
        if self.flags & FLAG_UP == 0 {
            return Err(WebAuthnError::UserNotPresent { ceremony });
        }
        if expected.require_user_verification && self.flags & FLAG_UV == 0 {
            return Err(WebAuthnError::UserNotVerified { ceremony });
        }
        Ok(())
    }
}
