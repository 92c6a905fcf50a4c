//! `mobilePayload eq "<jwt>"`: the PingOne Mobile SDK payload names one device.
//!
//! The payload is a compact JWT; its claims carry the device id in `dvc`. The filter matches the
//! resource whose `id` equals that claim (ignoring ASCII case, ids being UUIDs). Decoding is done
//! here; **checking the signature is the server's job**, through a [`PayloadVerifier`] handed to
//! [`Filter::compile_with`](super::Filter::compile_with). Without a verifier nothing is trusted
//! (fail closed): the interpreted [`Filter::matches`](super::Filter::matches) and plain
//! [`Filter::compile`](super::Filter::compile) match no resource with `mobilePayload eq`, and
//! [`Filter::compile_checked`](super::Filter::compile_checked) refuses the filter
//! (`INVALID_FILTER`). A tool that trusts its payloads passes a verifier that accepts them.

/// Checks a mobile payload (a compact JWT) before the filter trusts its claims.
///
/// Implemented for every `Fn(&str) -> bool` closure. A payload that fails verification matches no
/// resource (and `mobilePayload ne …` then matches every resource).
///
/// ```
/// use mfa_devices::filter::{CompileOptions, Filter, PayloadVerifier};
/// // A verifier that trusts nothing: every mobilePayload filter matches no device.
/// let reject = |_jwt: &str| false;
/// let f = Filter::parse(r#"mobilePayload eq "e30.eyJkdmMiOiJhYmMifQ.c2ln""#).unwrap();
/// let c = f.compile_with::<serde_json::Value>(&CompileOptions::new().verifier(&reject));
/// assert!(!c.matches(&serde_json::json!({"id": "abc"})));
/// // A verifier that accepts this token (a real one checks the signature with the key).
/// let accept = |jwt: &str| jwt.ends_with(".c2ln");
/// let c = f.compile_with::<serde_json::Value>(&CompileOptions::new().verifier(&accept));
/// assert!(c.matches(&serde_json::json!({"id": "abc"})));
/// // No verifier: fails closed.
/// assert!(!f.matches(&serde_json::json!({"id": "abc"})));
/// ```
pub trait PayloadVerifier {
    /// `true` when the JWT's signature (and whatever else the server checks: issuer, expiry)
    /// is valid.
    fn verify(&self, jwt: &str) -> bool;
}

impl<F: Fn(&str) -> bool> PayloadVerifier for F {
    fn verify(&self, jwt: &str) -> bool {
        self(jwt)
    }
}

/// The claims of a mobile payload this crate reads.
///
/// ```
/// use mfa_devices::filter::MobilePayload;
/// // header {} . payload {"dvc":"abc"} . signature
/// let p = MobilePayload::decode("e30.eyJkdmMiOiJhYmMifQ.c2ln").unwrap();
/// assert_eq!(p.device_id(), Some("abc"));
/// assert!(MobilePayload::decode("not a jwt").is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MobilePayload {
    claims: serde_json::Map<String, serde_json::Value>,
}

impl MobilePayload {
    /// Decodes the payload part of a compact JWT (`header.payload.signature`, base64url with or
    /// without padding) as a JSON object. Does not verify anything.
    pub fn decode(jwt: &str) -> Option<Self> {
        let mut parts = jwt.split('.');
        let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(payload.trim_end_matches('=').as_bytes())
            .ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            serde_json::Value::Object(claims) => Some(Self { claims }),
            _ => None,
        }
    }

    /// The `dvc` claim: the id of the device the payload was made on.
    pub fn device_id(&self) -> Option<&str> {
        self.claims.get("dvc")?.as_str()
    }

    /// All claims (`iss`, `fnp`, `dvc`, `exp`, `jti`, …).
    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.claims
    }
}

/// The `dvc` claim of a JWT, if it decodes.
pub(crate) fn device_id(jwt: &str) -> Option<String> {
    MobilePayload::decode(jwt)?.device_id().map(str::to_owned)
}
