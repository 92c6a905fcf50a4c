//! What creating a device draws from the caller's RNG: a TOTP device's secret and the
//! activation challenge of an SMS/EMAIL/VOICE device created ACTIVATION_REQUIRED.

use std::fmt;

use chrono::{DateTime, Utc};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::device::{DeviceStatus, DeviceType, NewDevice, Secret};
use crate::lock::FailureRule;
use crate::otp::{Algorithm, ChallengeTestOtp, OtpChallenge, OtpError, SealedPasscode, Totp};
use crate::policy::{DeviceAuthenticationPolicy, OtpSettings};

/// Bytes of a TOTP secret the crate draws: 20 (160 bits, RFC 4226's recommendation and what
/// authenticator apps expect for SHA-1).
pub const TOTP_SECRET_LEN: usize = 20;

/// The activation passcode of a device created ACTIVATION_REQUIRED, as the aggregate keeps it:
/// sealed ([`SealedPasscode`], never in clear), with its expiry and the method's failure rule
/// (`failure.count`, `failure.coolDown`) as they were when it was issued. Serialized inside the
/// user's snapshot and the `DEVICE_CREATED` / `ACTIVATION_ISSUED` events.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use rand_core::SeedableRng;
/// use mfa_devices::policy::OtpSettings;
/// use mfa_devices::user_devices::ActivationChallenge;
/// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
/// let (challenge, passcode) = ActivationChallenge::issue(&mut rng, &OtpSettings::default(), now).unwrap();
/// assert_eq!(passcode.code().len(), 6);                      // PingOne's default otpLength
/// assert_eq!(challenge.expires_at(), now + TimeDelta::minutes(30));
/// assert!(challenge.matches(passcode.code()));
/// let json = serde_json::to_string(&challenge).unwrap();
/// assert!(!json.contains(passcode.code()));
/// assert!(!format!("{passcode:?}{challenge:?}").contains(passcode.code()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivationChallenge {
    passcode: SealedPasscode,
    failure: FailureRule,
}

impl ActivationChallenge {
    /// Issues an activation passcode per a method's policy `otp` settings (`otpLength`,
    /// `lifeTime`, `failure`; absent values take PingOne's defaults: 6 digits, 30 minutes,
    /// 3 failures / no lock), drawn from `rng`. Returns the challenge to keep (through
    /// [`Command::Create`](super::Command::Create) or
    /// [`Command::ResendActivation`](super::Command::ResendActivation)) and the passcode in
    /// clear, to send once (or to show as `test.otp` for a test-mode device).
    ///
    /// Errors: settings the OTP engine refuses (an `otpLength` outside 6–10, a negative or
    /// unrepresentable `lifeTime`, a failure count below 1).
    pub fn issue(
        rng: &mut (impl CryptoRng + RngCore),
        settings: &OtpSettings,
        now: DateTime<Utc>,
    ) -> Result<(Self, ActivationPasscode), OtpError> {
        // The OTP engine resolves the settings (defaults, bounds) and draws the code.
        let shape = OtpChallenge::for_settings(rng, settings, now)?;
        let code = shape.code().to_owned();
        let passcode = SealedPasscode::seal(&code, rng, shape.expires_at());
        Ok((
            Self {
                passcode,
                failure: shape.rule(),
            },
            ActivationPasscode { code },
        ))
    }

    /// When the passcode stops being accepted (`now >= expires_at`: expired).
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.passcode.expires_at()
    }

    /// The failure rule wrong passcodes are counted under.
    pub fn rule(&self) -> FailureRule {
        self.failure
    }

    /// Whether `candidate` is the passcode (constant time; expiry is not checked here).
    pub fn matches(&self, candidate: &str) -> bool {
        self.passcode.matches(candidate)
    }
}

/// An activation passcode in clear: returned once by [`ActivationChallenge::issue`] (and
/// [`DeviceSecrets::draw`]) for the caller to send by SMS, email or voice, or to return as
/// `test.otp` of a test-mode device. `Debug` does not print it; the aggregate never stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationPasscode {
    code: String,
}

impl fmt::Debug for ActivationPasscode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivationPasscode(<redacted>)")
    }
}

impl ActivationPasscode {
    /// The passcode (to send; never log it).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The `test` body of a test-mode device's creation response (`None` unless `test_mode`).
    pub fn test_otp(&self, test_mode: bool) -> Option<ChallengeTestOtp> {
        test_mode.then(|| ChallengeTestOtp {
            otp: self.code.clone(),
        })
    }
}

/// The TOTP part of [`DeviceSecrets`]: the secret (base32) and the key URI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TotpSecret {
    pub(super) secret: Secret,
    pub(super) key_uri: Secret,
}

/// What a device creation draws from the caller's CSPRNG, sized by the crate: a TOTP device's
/// shared secret (20 bytes, its base32 `secret` and `keyUri`), and for an SMS, EMAIL or VOICE
/// device created ACTIVATION_REQUIRED its [`ActivationChallenge`]. Passed to
/// [`Command::Create`](super::Command::Create); [`none`](Self::none) (the default) for a
/// device that needs nothing (a TOTP device created without it has no secret and can never
/// verify a code; an SMS/EMAIL/VOICE device without a challenge must be sent one with
/// [`Command::ResendActivation`](super::Command::ResendActivation) before it activates).
///
/// `Debug` prints neither the secret nor the passcode. Serialized with a serialized
/// [`Command`](super::Command) as `{"totp": {"secret", "keyUri"}, "activation": {…}}` (the
/// TOTP secret in clear, as in the user's snapshot; the activation passcode only sealed).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rand_core::SeedableRng;
/// use mfa_devices::device::{DeviceType, NewDevice};
/// use mfa_devices::policy::DeviceAuthenticationPolicy;
/// use mfa_devices::user_devices::DeviceSecrets;
/// let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
/// let policy = DeviceAuthenticationPolicy::default();
/// let mut sms = NewDevice::new(DeviceType::Sms);
/// sms.phone = Some("+1 512 555 1234".into());
/// let (secrets, passcode) = DeviceSecrets::draw(&sms, &policy, "jo@example.com", &mut rng, now).unwrap();
/// assert!(secrets.activation().is_some() && passcode.is_some());
/// let (totp, passcode) = DeviceSecrets::draw(&NewDevice::new(DeviceType::Totp), &policy,
///     "jo@example.com", &mut rng, now).unwrap();
/// assert!(passcode.is_none() && totp.activation().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSecrets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) totp: Option<TotpSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) activation: Option<ActivationChallenge>,
    /// A FIDO2 device's `publicKeyCredentialCreationOptions` (holding its registration
    /// challenge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) webauthn: Option<String>,
}

impl DeviceSecrets {
    /// Nothing drawn (devices of other types, or a device created ACTIVE).
    pub fn none() -> Self {
        Self::default()
    }

    /// Draws what creating `device` needs:
    ///
    /// - TOTP: a 20-byte secret; `keyUri` is `otpauth://totp/{issuer}:{account}?secret=…`
    ///   with the issuer of the policy's `totp.uriParameters.issuer` (none when absent) and
    ///   `account` the user's name as the authenticator app shows it;
    /// - SMS, EMAIL, VOICE created ACTIVATION_REQUIRED (the default status): an
    ///   [`ActivationChallenge`] per the policy's `sms`/`email`/`voice` `otp` settings, and the
    ///   passcode in clear (returned, not kept);
    /// - anything else: nothing.
    ///
    /// Errors: the method's `otp` settings are not usable (see [`ActivationChallenge::issue`]).
    pub fn draw(
        device: &NewDevice,
        policy: &DeviceAuthenticationPolicy,
        account: &str,
        rng: &mut (impl CryptoRng + RngCore),
        now: DateTime<Utc>,
    ) -> Result<(Self, Option<ActivationPasscode>), OtpError> {
        let mut secrets = Self::none();
        if device.device_type == DeviceType::Totp {
            let mut bytes = vec![0u8; TOTP_SECRET_LEN];
            rng.fill_bytes(&mut bytes);
            let totp = Totp::new(bytes, Algorithm::Sha1, 6, Totp::DEFAULT_STEP_SECONDS)?;
            let issuer = policy
                .totp
                .as_ref()
                .and_then(|t| t.uri_parameters.as_ref())
                .and_then(|u| u.issuer.as_deref());
            secrets.totp = Some(TotpSecret {
                secret: Secret::new(totp.secret_base32()),
                key_uri: Secret::new(totp.key_uri(account, issuer)),
            });
            return Ok((secrets, None));
        }
        if device.effective_status() != DeviceStatus::ActivationRequired {
            return Ok((secrets, None));
        }
        if device.device_type == DeviceType::Fido2 {
            secrets.webauthn = webauthn_options(device, account, rng);
            return Ok((secrets, None));
        }
        let method = match device.device_type {
            DeviceType::Sms => policy.sms.as_ref(),
            DeviceType::Email => policy.email.as_ref(),
            DeviceType::Voice => policy.voice.as_ref(),
            _ => return Ok((secrets, None)),
        };
        let settings = method.and_then(|m| m.otp.clone()).unwrap_or_default();
        let (challenge, passcode) = ActivationChallenge::issue(rng, &settings, now)?;
        secrets.activation = Some(challenge);
        Ok((secrets, Some(passcode)))
    }

    /// The `publicKeyCredentialCreationOptions` drawn for a FIDO2 device, if any.
    pub fn webauthn_options(&self) -> Option<&str> {
        self.webauthn.as_deref()
    }

    /// The activation challenge drawn, if any.
    pub fn activation(&self) -> Option<&ActivationChallenge> {
        self.activation.as_ref()
    }

    /// Whether a TOTP secret was drawn.
    pub fn has_totp_secret(&self) -> bool {
        self.totp.is_some()
    }
}

/// The creation options of a FIDO2 device created ACTIVATION_REQUIRED with `rp.id`: a
/// [`CHALLENGE_BYTES`](crate::webauthn::CHALLENGE_BYTES) challenge from `rng`, the body's
/// relying party (its name defaults to the id), and `account` as the user's name and display
/// name; the WebAuthn user handle is `account`'s bytes, or their SHA-256 when longer than 64
/// bytes (WebAuthn's limit). Without `rp.id`, nothing: the registration cannot be verified.
fn webauthn_options(
    device: &NewDevice,
    account: &str,
    rng: &mut (impl CryptoRng + RngCore),
) -> Option<String> {
    let rp = device.rp.as_ref()?;
    let rp_id = rp.id.as_deref().filter(|id| !id.is_empty())?;
    let rp_name = rp.name.as_deref().unwrap_or(rp_id);
    let mut challenge = [0u8; crate::webauthn::CHALLENGE_BYTES];
    rng.fill_bytes(&mut challenge);
    let handle: Vec<u8> = if account.len() <= 64 {
        account.as_bytes().to_vec()
    } else {
        <sha2::Sha256 as sha2::Digest>::digest(account.as_bytes()).to_vec()
    };
    Some(crate::webauthn::creation_options(
        &challenge, rp_id, rp_name, &handle, account, account,
    ))
}
