//! [`WebAuthnError`]: why a registration or an assertion was refused.

use std::fmt;

use crate::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE, echo};

/// Why a WebAuthn registration (`attestation`) or assertion was refused: one variant per
/// check, each naming what was wrong and what is expected. Text taken from the request is
/// quoted through [`echo`] (at most [`MAX_ECHO_CHARS`](crate::error::MAX_ECHO_CHARS)
/// characters), so a message stays bounded whatever was sent.
///
/// Converts into PingOne's error body: 400 `INVALID_DATA` with one `INVALID_VALUE` detail at
/// [`target`](Self::target) (`attestation`, `assertion` or `origin`).
///
/// ```
/// use mfa_devices::error::ApiError;
/// use mfa_devices::webauthn::{Ceremony, WebAuthnError};
/// let e = WebAuthnError::ClientDataType { ceremony: Ceremony::Assertion, found: "webauthn.create".into() };
/// assert_eq!(e.to_string(),
///     "clientDataJSON.type is \"webauthn.create\"; an assertion (navigator.credentials.get) has \"webauthn.get\"");
/// let api = ApiError::from(e);
/// assert_eq!((api.http_status(), api.details[0].target.as_deref()), (400, Some("assertion")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebAuthnError {
    /// The response is larger than the crate reads ([`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES)).
    TooLarge {
        /// Which ceremony.
        ceremony: Ceremony,
        /// Its size in bytes.
        bytes: usize,
    },
    /// The response is not the JSON of a `PublicKeyCredential` (WebAuthn Level 3
    /// `toJSON()`): `problem` says which member is missing or of the wrong type.
    Malformed {
        /// Which ceremony.
        ceremony: Ceremony,
        /// What is wrong, naming the member (`response.clientDataJSON is missing`).
        problem: String,
    },
    /// A member that must be unpadded base64url is not.
    NotBase64Url {
        /// Which ceremony.
        ceremony: Ceremony,
        /// The member (`rawId`, `response.signature`, …).
        member: &'static str,
    },
    /// `type` is not `public-key`.
    CredentialType {
        /// Which ceremony.
        ceremony: Ceremony,
        /// The type sent (echoed).
        found: String,
    },
    /// `clientDataJSON` is not the JSON object WebAuthn's `CollectedClientData` is.
    ClientData {
        /// Which ceremony.
        ceremony: Ceremony,
        /// What is wrong.
        problem: String,
    },
    /// `clientDataJSON.type` is not the ceremony's (`webauthn.create` / `webauthn.get`).
    ClientDataType {
        /// Which ceremony.
        ceremony: Ceremony,
        /// The type sent (echoed).
        found: String,
    },
    /// `clientDataJSON.challenge` is not the challenge this server issued (or no challenge
    /// was issued for this device or flow).
    ChallengeMismatch {
        /// Which ceremony.
        ceremony: Ceremony,
    },
    /// The origin is not the one given with the request, or not one of the relying party's:
    /// `https://` and a host equal to the rp id or one of its subdomains (`http://` only for
    /// `localhost`, `127.0.0.1` and `[::1]`), without path.
    OriginNotAllowed {
        /// Which ceremony.
        ceremony: Ceremony,
        /// The origin (echoed).
        origin: String,
        /// Why it is refused.
        reason: String,
    },
    /// `clientDataJSON.crossOrigin` is true: the ceremony ran in a cross-origin frame.
    CrossOrigin {
        /// Which ceremony.
        ceremony: Ceremony,
    },
    /// The CBOR of the attestation object or of the credential's COSE key is malformed or
    /// exceeds the reader's bounds.
    Cbor {
        /// Which ceremony.
        ceremony: Ceremony,
        /// What is wrong, and where.
        problem: String,
    },
    /// The authenticator data is truncated or malformed.
    AuthenticatorData {
        /// Which ceremony.
        ceremony: Ceremony,
        /// What is wrong.
        problem: String,
    },
    /// The authenticator data's `rpIdHash` is not SHA-256 of the relying party id.
    RpIdHashMismatch {
        /// Which ceremony.
        ceremony: Ceremony,
        /// The relying party id expected.
        rp_id: String,
    },
    /// The UP (user present) flag is not set.
    UserNotPresent {
        /// Which ceremony.
        ceremony: Ceremony,
    },
    /// The UV (user verified) flag is not set and user verification is required.
    UserNotVerified {
        /// Which ceremony.
        ceremony: Ceremony,
    },
    /// Registration: the authenticator data has no attested credential data (AT flag).
    NoAttestedCredential,
    /// Registration: the attestation statement format is not one this crate verifies
    /// (`none`, and `packed` self-attestation).
    UnsupportedAttestationFormat {
        /// The format (echoed).
        format: String,
    },
    /// Registration: a `packed` attestation with a certificate chain (`x5c`). This crate does
    /// not check attestation certificates (no trust anchors, no FIDO metadata): it asks for
    /// attestation `none`, which browsers honour by sending format `none`.
    AttestationCertificatesNotChecked,
    /// Registration: the attestation statement is malformed or its signature does not verify.
    AttestationStatement {
        /// What is wrong.
        problem: String,
    },
    /// Registration: the credential key is not an EC2 P-256 key for ES256 (COSE `kty` 2,
    /// `alg` -7, `crv` 1), or not a point on the curve.
    UnsupportedKey {
        /// What was found.
        problem: String,
    },
    /// Registration: `rawId` is not the credential id of the authenticator data, or `id` is
    /// not `rawId` in base64url.
    CredentialIdMismatch,
    /// Assertion: the credential is not the one registered with the device.
    UnknownCredential,
    /// Assertion: the signature does not verify with the device's public key (or is not a
    /// DER-encoded ECDSA signature).
    BadSignature,
    /// Assertion: the signature counter did not increase — the authenticator may have been
    /// cloned (WebAuthn §6.1.1).
    SignCountNotIncreased {
        /// The count stored with the device.
        stored: u32,
        /// The count the authenticator sent.
        received: u32,
    },
    /// Registration: the device has no registration in progress (it was not created with
    /// `publicKeyCredentialCreationOptions` by this server, or they cannot be read).
    NoRegistration {
        /// What is missing.
        problem: String,
    },
    /// Assertion: the device holds no registered credential.
    NoCredential,
}

/// The two WebAuthn ceremonies.
///
/// ```
/// assert_eq!(mfa_devices::webauthn::Ceremony::Registration.client_data_type(), "webauthn.create");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ceremony {
    /// `navigator.credentials.create` (device activation, the `attestation`).
    Registration,
    /// `navigator.credentials.get` (`assertion.check`, the `assertion`).
    Assertion,
}

impl Ceremony {
    /// `clientDataJSON.type` of the ceremony.
    pub fn client_data_type(self) -> &'static str {
        match self {
            Self::Registration => "webauthn.create",
            Self::Assertion => "webauthn.get",
        }
    }

    /// The request member that carries the response (`attestation` / `assertion`).
    pub fn member(self) -> &'static str {
        match self {
            Self::Registration => "attestation",
            Self::Assertion => "assertion",
        }
    }

    fn article(self) -> &'static str {
        match self {
            Self::Registration => "a registration (navigator.credentials.create)",
            Self::Assertion => "an assertion (navigator.credentials.get)",
        }
    }
}

impl WebAuthnError {
    /// The request member the error is about: `origin` for a refused origin, else
    /// `attestation` (registration) or `assertion`.
    ///
    /// ```
    /// use mfa_devices::webauthn::{Ceremony, WebAuthnError};
    /// assert_eq!(WebAuthnError::BadSignature.target(), "assertion");
    /// assert_eq!(WebAuthnError::NoAttestedCredential.target(), "attestation");
    /// ```
    pub fn target(&self) -> &'static str {
        match self {
            Self::OriginNotAllowed { .. } => "origin",
            _ => self.ceremony().member(),
        }
    }

    /// The ceremony the error belongs to.
    pub fn ceremony(&self) -> Ceremony {
        match self {
            Self::TooLarge { ceremony, .. }
            | Self::Malformed { ceremony, .. }
            | Self::NotBase64Url { ceremony, .. }
            | Self::CredentialType { ceremony, .. }
            | Self::ClientData { ceremony, .. }
            | Self::ClientDataType { ceremony, .. }
            | Self::ChallengeMismatch { ceremony }
            | Self::OriginNotAllowed { ceremony, .. }
            | Self::CrossOrigin { ceremony }
            | Self::Cbor { ceremony, .. }
            | Self::AuthenticatorData { ceremony, .. }
            | Self::RpIdHashMismatch { ceremony, .. }
            | Self::UserNotPresent { ceremony }
            | Self::UserNotVerified { ceremony } => *ceremony,
            Self::NoAttestedCredential
            | Self::UnsupportedAttestationFormat { .. }
            | Self::AttestationCertificatesNotChecked
            | Self::AttestationStatement { .. }
            | Self::UnsupportedKey { .. }
            | Self::CredentialIdMismatch
            | Self::NoRegistration { .. } => Ceremony::Registration,
            Self::UnknownCredential
            | Self::BadSignature
            | Self::SignCountNotIncreased { .. }
            | Self::NoCredential => Ceremony::Assertion,
        }
    }
}

impl fmt::Display for WebAuthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { ceremony, bytes } => write!(
                f,
                "the {} is {bytes} bytes; at most {} are read",
                ceremony.member(),
                super::MAX_RESPONSE_BYTES
            ),
            Self::Malformed { ceremony, problem } => write!(
                f,
                "the {} is not the JSON of a PublicKeyCredential (PublicKeyCredential.toJSON()): {problem}",
                ceremony.member()
            ),
            Self::NotBase64Url { member, .. } => {
                write!(f, "{member} must be unpadded base64url")
            }
            Self::CredentialType { found, .. } => {
                write!(f, "type is \"{}\"; it must be \"public-key\"", echo(found))
            }
            Self::ClientData { problem, .. } => write!(
                f,
                "clientDataJSON is not WebAuthn's client data: {problem}"
            ),
            Self::ClientDataType { ceremony, found } => write!(
                f,
                "clientDataJSON.type is \"{}\"; {} has \"{}\"",
                echo(found),
                ceremony.article(),
                ceremony.client_data_type()
            ),
            Self::ChallengeMismatch { ceremony } => write!(
                f,
                "clientDataJSON.challenge is not the challenge issued for this {}; start it again with the current options",
                match ceremony {
                    Ceremony::Registration => "registration",
                    Ceremony::Assertion => "authentication",
                }
            ),
            Self::OriginNotAllowed { origin, reason, .. } => {
                write!(f, "the origin \"{}\" is not allowed: {reason}", echo(origin))
            }
            Self::CrossOrigin { .. } => f.write_str(
                "clientDataJSON.crossOrigin is true; run the ceremony in a top-level page of the relying party",
            ),
            Self::Cbor { ceremony, problem } => write!(
                f,
                "the {}'s CBOR is not valid: {problem}",
                ceremony.member()
            ),
            Self::AuthenticatorData { problem, .. } => {
                write!(f, "the authenticator data is not valid: {problem}")
            }
            Self::RpIdHashMismatch { rp_id, .. } => write!(
                f,
                "the authenticator data is for another relying party (rpIdHash is not SHA-256 of \"{}\")",
                echo(rp_id)
            ),
            Self::UserNotPresent { .. } => f.write_str(
                "the authenticator data does not have the user present (UP) flag; the user must touch the authenticator",
            ),
            Self::UserNotVerified { .. } => f.write_str(
                "the authenticator data does not have the user verified (UV) flag, and user verification is required",
            ),
            Self::NoAttestedCredential => f.write_str(
                "the authenticator data has no attested credential data (AT flag); send the response of navigator.credentials.create",
            ),
            Self::UnsupportedAttestationFormat { format } => write!(
                f,
                "the attestation format \"{}\" is not verified; allowed: none, packed (self attestation)",
                echo(format)
            ),
            Self::AttestationCertificatesNotChecked => f.write_str(
                "the packed attestation carries certificates (x5c), which this server does not check; register with attestation \"none\"",
            ),
            Self::AttestationStatement { problem } => {
                write!(f, "the attestation statement is not valid: {problem}")
            }
            Self::UnsupportedKey { problem } => write!(
                f,
                "the credential key is not supported ({problem}); allowed: EC2 P-256 with ES256 (COSE alg -7)"
            ),
            Self::CredentialIdMismatch => f.write_str(
                "rawId and id are not the credential id of the authenticator data",
            ),
            Self::UnknownCredential => f.write_str(
                "the credential is not the one registered with the selected device; use the allowCredentials of publicKeyCredentialRequestOptions",
            ),
            Self::BadSignature => f.write_str(
                "the signature does not verify with the device's public key",
            ),
            Self::SignCountNotIncreased { stored, received } => write!(
                f,
                "the signature counter {received} is not greater than the stored {stored}: the authenticator may have been cloned"
            ),
            Self::NoRegistration { problem } => write!(
                f,
                "the device has no registration in progress: {problem}"
            ),
            Self::NoCredential => f.write_str("the device holds no registered credential"),
        }
    }
}

impl std::error::Error for WebAuthnError {}

impl From<WebAuthnError> for ApiError {
    fn from(e: WebAuthnError) -> Self {
        ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::InvalidValue,
                e.target(),
                e.to_string(),
            )],
        )
    }
}
