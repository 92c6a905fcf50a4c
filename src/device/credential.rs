//! [`WebAuthnCredential`]: the public-key credential a FIDO2 device was registered with.

use data_encoding::BASE64URL_NOPAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The COSE algorithm of ECDSA with P-256 and SHA-256 (`ES256`, `-7`): the one algorithm this
/// crate registers and verifies.
pub const COSE_ALG_ES256: i64 = -7;

/// The public-key credential a FIDO2 device was registered with
/// (`navigator.credentials.create`, verified by the `webauthn` module): kept with the device in
/// the user's aggregate — its snapshot and its `DEVICE_ACTIVATED` event — and never in a
/// response (the renderers drop it, see
/// [`as_of`](crate::user_devices::as_of)). Nothing in it is secret: the private key stays in
/// the authenticator.
///
/// Serialized in camelCase with the byte strings in unpadded base64url:
///
/// ```
/// use mfa_devices::device::WebAuthnCredential;
/// let c = WebAuthnCredential::new(vec![1, 2, 3], vec![4; 65], "example.com");
/// let json = serde_json::to_value(&c).unwrap();
/// assert_eq!(json["credentialId"], "AQID");
/// assert_eq!(json["algorithm"], -7);
/// assert_eq!(json["signCount"], 0);
/// assert_eq!(serde_json::from_value::<WebAuthnCredential>(json).unwrap(), c);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebAuthnCredential {
    /// The credential id the authenticator chose (at most 1023 bytes).
    #[serde(with = "b64")]
    pub credential_id: Vec<u8>,
    /// The credential's public key: an uncompressed SEC1 P-256 point (`0x04 ‖ x ‖ y`, 65 bytes).
    #[serde(with = "b64")]
    pub public_key: Vec<u8>,
    /// Its COSE algorithm ([`COSE_ALG_ES256`]).
    pub algorithm: i64,
    /// The relying party id it is scoped to (`rp.id` at registration).
    pub rp_id: String,
    /// The authenticator's signature counter last seen (0: the authenticator keeps none).
    pub sign_count: u32,
    /// The authenticator data's BE flag: the credential may be backed up (a passkey).
    #[serde(default)]
    pub backup_eligible: bool,
    /// The BS flag: it is backed up.
    #[serde(default)]
    pub backup_state: bool,
    /// The user was verified (UV flag) at registration.
    #[serde(default)]
    pub user_verified: bool,
    /// The authenticator's model (AAGUID, 16 bytes; all zeroes under attestation `none`).
    #[serde(default, with = "b64")]
    pub aaguid: Vec<u8>,
    /// The transports the browser reported (`usb`, `nfc`, `ble`, `hybrid`, `internal`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

impl WebAuthnCredential {
    /// A credential with sign count 0, algorithm ES256 and no flags, transports or AAGUID.
    pub fn new(credential_id: Vec<u8>, public_key: Vec<u8>, rp_id: impl Into<String>) -> Self {
        Self {
            credential_id,
            public_key,
            algorithm: COSE_ALG_ES256,
            rp_id: rp_id.into(),
            sign_count: 0,
            backup_eligible: false,
            backup_state: false,
            user_verified: false,
            aaguid: Vec::new(),
            transports: Vec::new(),
        }
    }

    /// The credential id in unpadded base64url, as `allowCredentials[].id` and an assertion's
    /// `id` carry it.
    ///
    /// ```
    /// let c = mfa_devices::device::WebAuthnCredential::new(vec![0xfb, 0xff], vec![], "example.com");
    /// assert_eq!(c.credential_id_base64url(), "-_8");
    /// ```
    pub fn credential_id_base64url(&self) -> String {
        BASE64URL_NOPAD.encode(&self.credential_id)
    }
}

/// Bytes as unpadded base64url.
mod b64 {
    use super::*;

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&BASE64URL_NOPAD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format_args!("not unpadded base64url: {e}")))
    }
}
