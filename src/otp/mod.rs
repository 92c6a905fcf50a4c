//! One-time passcodes: HOTP (RFC 4226), TOTP (RFC 6238) and OTP challenges. The lock rules
//! they apply ([`FailureRule`](crate::lock::FailureRule), the push limiter) live in
//! [`lock`](crate::lock).
//!
//! Everything here is pure and deterministic: the current time and the caller's CSPRNG
//! (`&mut impl rand_core::CryptoRng + RngCore`) are arguments; the crate sizes every draw.
//! HMAC comes from RustCrypto (`hmac`, `sha1`, `sha2`), comparisons of codes from `subtle`.
//!
//! | item | what it is for |
//! |---|---|
//! | [`hotp`], [`hotp_with`] | an RFC 4226 code for a counter |
//! | [`Totp`] | a TOTP device: codes, verification with a bounded skew and replay protection, key URI |
//! | [`secret_visible`] | whether a TOTP device's `secret`/`keyUri` may be shown |
//! | [`OtpChallenge`] | an OTP sent by SMS/email/voice: code from random bytes, expiry, failure count, lock |
//!
//! ```
//! use mfa_devices::otp::{Algorithm, Totp, TotpVerdict};
//!
//! let totp = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 8, 30).unwrap();
//! assert_eq!(totp.code_at(59), "94287082"); // RFC 6238 Appendix B
//! let verdict = totp.verify("94287082", 59, None);
//! assert_eq!(verdict, TotpVerdict::Valid { step: 1 });
//! // The caller stores step 1 as the last used step: the same code is now refused.
//! assert_eq!(totp.verify("94287082", 60, Some(1)), TotpVerdict::Replayed);
//! ```
//!
//! Inputs come from a [`DeviceAuthenticationPolicy`](crate::policy::DeviceAuthenticationPolicy):
//!
//! ```
//! use chrono::{TimeDelta, TimeZone, Utc};
//! use mfa_devices::lock::{FailureRule, PushLimitRule, PushLimiter};
//! use mfa_devices::otp::{OtpChallenge, OtpCheck, Totp, Algorithm};
//! use mfa_devices::policy::{DeviceAuthenticationPolicy, MobileApplicationPolicy};
//!
//! let policy = DeviceAuthenticationPolicy::default();
//! let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
//!
//! // SMS/email/voice: a challenge per the method's `otp` settings.
//! let sms = policy.sms.as_ref().and_then(|m| m.otp.as_ref()).unwrap();
//! let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(3); // the server's CSPRNG
//! let mut challenge = OtpChallenge::for_settings(&mut rng, sms, now).unwrap();
//! let code = challenge.code().to_owned();
//! assert_eq!(challenge.check(&code, now), OtpCheck::Valid);
//!
//! // TOTP: failure rule from `totp.otp.failure`, skew from `totp.passcodeGracePeriod`.
//! let totp_policy = policy.totp.as_ref().unwrap();
//! let failure = totp_policy.otp.as_ref().and_then(|o| o.failure.as_ref()).unwrap();
//! assert_eq!(FailureRule::try_from(failure).unwrap().cool_down(), TimeDelta::minutes(2));
//! let skew = u32::try_from(totp_policy.passcode_grace_period_or_default()).unwrap();
//! let totp = Totp::new(vec![9; 20], Algorithm::Sha1, 6, 30).unwrap().with_skew(skew).unwrap();
//! assert_eq!(totp.skew(), 5);
//!
//! // MOBILE: the push limiter per the application's `pushLimit`.
//! let app = MobileApplicationPolicy::default();
//! let rule = PushLimitRule::try_from(app.push_limit.as_ref().unwrap()).unwrap();
//! let mut limiter = PushLimiter::new(rule);
//! assert!(!limiter.record(now).locks());
//! ```

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, DetailCode, ErrorCode, ErrorDetail, inner};
use crate::policy::PolicyError;

mod challenge;

mod sealed;

pub use challenge::{ChallengeTestOtp, OtpChallenge, OtpCheck};
pub use sealed::{SealedPasscode, draw_digits};

/// The HMAC hash of an HOTP/TOTP device.
///
/// ```
/// use mfa_devices::otp::Algorithm;
/// assert_eq!(Algorithm::default(), Algorithm::Sha1);
/// assert_eq!(Algorithm::Sha256.to_string(), "SHA256");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// HMAC-SHA-1, the RFC 4226 default and what most authenticator apps support.
    #[default]
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs (`SHA1`, `SHA256`, `SHA512`).
    ///
    /// ```
    /// use mfa_devices::otp::Algorithm;
    /// assert_eq!(Algorithm::Sha512.as_str(), "SHA512");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an OTP value could not be built.
///
/// ```
/// use mfa_devices::otp::{Algorithm, OtpError, Totp};
/// let err = Totp::new(vec![1; 20], Algorithm::Sha1, 9, 30).unwrap_err();
/// assert_eq!(err, OtpError::Digits(9));
/// let api: mfa_devices::error::ApiError = err.into();
/// assert_eq!(api.details[0].target.as_deref(), Some("digits"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtpError {
    /// The shared secret is shorter than 16 bytes (128 bits, RFC 4226 R6).
    SecretTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// A TOTP device has 6, 7 or 8 digits.
    Digits(u32),
    /// The TOTP time step is 0 seconds.
    ZeroStep,
    /// The skew window is larger than [`Totp::MAX_SKEW`] steps.
    SkewTooLarge(u32),
    /// An OTP challenge has 6 to 10 digits (`otpLength`); the number given.
    OtpLength(i64),
    /// The caller's RNG gave only bytes 250–255 (skipped to avoid modulo bias) for 1 KiB
    /// before the code had all its digits: a broken generator.
    NotEnoughRandomness {
        /// Digits wanted.
        wanted: u32,
        /// Digits the bytes gave.
        got: u32,
    },
    /// A time (`now`) falls outside the representable range (years 0000–9999,
    /// [`timestamp::MIN`](crate::device::timestamp::MIN)`..=`[`MAX`](crate::device::timestamp::MAX)).
    TimeOverflow,
    /// A policy value could not be used (unknown unit, negative duration, count below 1).
    Policy(PolicyError),
}

impl fmt::Display for OtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SecretTooShort { len } => write!(
                f,
                "the secret has {len} bytes; at least {} are required",
                Totp::MIN_SECRET_LEN
            ),
            Self::Digits(d) => write!(f, "a TOTP code has 6 to 8 digits, not {d}"),
            Self::ZeroStep => f.write_str("the TOTP time step must be at least 1 second"),
            Self::SkewTooLarge(s) => write!(
                f,
                "the skew window is {s} steps; at most {} are allowed",
                Totp::MAX_SKEW
            ),
            Self::OtpLength(l) => write!(f, "an OTP has 6 to 10 digits, not {l}"),
            Self::NotEnoughRandomness { wanted, got } => write!(
                f,
                "the random number generator gave {got} of {wanted} digits from 1 KiB; it is broken"
            ),
            Self::TimeOverflow => f.write_str(
                "the time is outside the representable range 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z",
            ),
            Self::Policy(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Policy(e) => Some(e),
            _ => None,
        }
    }
}

impl From<crate::lock::RuleError> for OtpError {
    fn from(e: crate::lock::RuleError) -> Self {
        Self::Policy(e.into())
    }
}

impl From<PolicyError> for OtpError {
    fn from(e: PolicyError) -> Self {
        Self::Policy(e)
    }
}

impl From<OtpError> for ApiError {
    /// Configuration errors are `INVALID_DATA` naming the value; running out of random bytes
    /// or of time range is the server's fault: `UNEXPECTED_ERROR` (500).
    fn from(e: OtpError) -> Self {
        let message = e.to_string();
        let range = |target: &str, min: i64, max: i64| {
            ErrorDetail::new(DetailCode::OutOfRange, target, message.clone())
                .with_inner(inner::RANGE_MINIMUM_VALUE, min)
                .with_inner(inner::RANGE_MAXIMUM_VALUE, max)
        };
        let detail = match &e {
            OtpError::SecretTooShort { .. } => {
                ErrorDetail::new(DetailCode::InvalidValue, "secret", message.clone())
            }
            OtpError::Digits(_) => range("digits", 6, 8),
            OtpError::ZeroStep => {
                ErrorDetail::new(DetailCode::InvalidValue, "period", message.clone())
            }
            OtpError::SkewTooLarge(_) => range("skew", 0, i64::from(Totp::MAX_SKEW)),
            OtpError::OtpLength(_) => range("otpLength", 6, 10),
            OtpError::Policy(p) => return p.clone().into(),
            OtpError::NotEnoughRandomness { .. } | OtpError::TimeOverflow => {
                return ApiError::new(ErrorCode::UnexpectedError, message);
            }
        };
        ApiError::invalid_data("The OTP settings are not valid.", vec![detail])
    }
}

/// The 31-bit dynamic truncation (RFC 4226 §5.3) of HMAC(secret, counter).
fn truncated<M: Mac + hmac::digest::KeyInit>(secret: &[u8], counter: u64) -> Option<u32> {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest.last()? & 0x0f);
    let bytes: [u8; 4] = digest
        .get(offset..offset.checked_add(4)?)?
        .try_into()
        .ok()?;
    Some(u32::from_be_bytes(bytes) & 0x7fff_ffff)
}

/// An HOTP code (RFC 4226) with HMAC-SHA-1: the shorthand for
/// [`hotp_with`]`(Algorithm::Sha1, …)`.
///
/// `digits` is 1 to 10 (a 31-bit value has at most 10 decimal digits); the code is
/// zero-padded to that width. **Decision**: for any other `digits` the result is the empty
/// string, which no verifier here accepts; the function never panics.
///
/// ```
/// use mfa_devices::otp::hotp;
/// // RFC 4226 Appendix D
/// assert_eq!(hotp(b"12345678901234567890", 0, 6), "755224");
/// assert_eq!(hotp(b"12345678901234567890", 9, 6), "520489");
/// assert_eq!(hotp(b"12345678901234567890", 0, 11), "");
/// ```
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    hotp_with(Algorithm::Sha1, secret, counter, digits)
}

/// An HOTP code with the given HMAC hash (RFC 4226 truncation, as RFC 6238 uses it).
///
/// Same rules as [`hotp`]: `digits` 1 to 10, otherwise the empty string.
///
/// ```
/// use mfa_devices::otp::{hotp_with, Algorithm};
/// // RFC 6238 Appendix B, T = 59 s → counter 1, SHA-256 with its 32-byte seed
/// let seed = b"12345678901234567890123456789012";
/// assert_eq!(hotp_with(Algorithm::Sha256, seed, 1, 8), "46119246");
/// ```
pub fn hotp_with(algorithm: Algorithm, secret: &[u8], counter: u64, digits: u32) -> String {
    if !(1..=10).contains(&digits) {
        return String::new();
    }
    let value = match algorithm {
        Algorithm::Sha1 => truncated::<Hmac<sha1::Sha1>>(secret, counter),
        Algorithm::Sha256 => truncated::<Hmac<sha2::Sha256>>(secret, counter),
        Algorithm::Sha512 => truncated::<Hmac<sha2::Sha512>>(secret, counter),
    };
    let Some(value) = value else {
        return String::new();
    };
    let modulus = 10u64.pow(digits);
    let width = usize::try_from(digits).unwrap_or(10);
    format!("{:0width$}", u64::from(value) % modulus)
}

/// The result of [`Totp::verify`].
///
/// ```
/// use mfa_devices::otp::TotpVerdict;
/// assert!(TotpVerdict::Valid { step: 3 }.is_valid());
/// assert!(!TotpVerdict::Replayed.is_valid());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TotpVerdict {
    /// The code is right for `step`; store it as the device's last used step.
    Valid {
        /// The time step the code belongs to.
        step: u64,
    },
    /// The code belongs to a step at or before the last used one: refused (RFC 6238 §5.2).
    Replayed,
    /// The code is wrong, malformed or outside the skew window.
    Invalid,
}

impl TotpVerdict {
    /// Whether the code is accepted.
    ///
    /// ```
    /// use mfa_devices::otp::TotpVerdict;
    /// assert!(!TotpVerdict::Invalid.is_valid());
    /// ```
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Valid { .. })
    }
}

/// A TOTP device (RFC 6238): shared secret, hash, digits, time step and skew window.
///
/// Verification accepts a code from `skew` steps before to `skew` steps after the current one
/// (default 1, at most [`MAX_SKEW`](Self::MAX_SKEW)); PingOne's `totp.passcodeGracePeriod`
/// (1–10 windows of 30 s) is the natural value to pass to [`with_skew`](Self::with_skew).
/// Replay protection is the caller's one piece of state: the last step a code was accepted
/// for (see [`verify`](Self::verify)).
///
/// `Debug` never prints the secret; `==` compares secrets in constant time.
///
/// ```
/// use mfa_devices::otp::{Algorithm, Totp};
/// let totp = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 6, 30).unwrap();
/// assert_eq!(totp.code_at(1_111_111_109), "081804");
/// assert_eq!(totp.step_at(1_111_111_109), 37_037_036);
/// assert!(!format!("{totp:?}").contains("1234"));
/// ```
#[derive(Clone)]
pub struct Totp {
    secret: Vec<u8>,
    algorithm: Algorithm,
    digits: u32,
    step_seconds: u64,
    skew: u32,
}

impl PartialEq for Totp {
    fn eq(&self, other: &Self) -> bool {
        let same_secret = bool::from(self.secret.as_slice().ct_eq(other.secret.as_slice()));
        same_secret
            && self.algorithm == other.algorithm
            && self.digits == other.digits
            && self.step_seconds == other.step_seconds
            && self.skew == other.skew
    }
}

impl Eq for Totp {}

impl fmt::Debug for Totp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Totp")
            .field("secret", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("step_seconds", &self.step_seconds)
            .field("skew", &self.skew)
            .finish()
    }
}

impl Totp {
    /// The shortest secret accepted, in bytes (128 bits, RFC 4226 R6).
    pub const MIN_SECRET_LEN: usize = 16;
    /// The usual time step, in seconds.
    pub const DEFAULT_STEP_SECONDS: u64 = 30;
    /// The default skew: one step either side (RFC 6238 §5.2 recommends at most one).
    pub const DEFAULT_SKEW: u32 = 1;
    /// The largest skew accepted (PingOne's `passcodeGracePeriod` maximum).
    pub const MAX_SKEW: u32 = 10;

    /// A TOTP device. `digits` is 6 to 8; `step_seconds` at least 1; the secret at least 16
    /// bytes. The skew starts at [`DEFAULT_SKEW`](Self::DEFAULT_SKEW).
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, OtpError, Totp};
    /// assert!(Totp::new(vec![7; 20], Algorithm::Sha256, 6, 30).is_ok());
    /// assert_eq!(Totp::new(vec![7; 20], Algorithm::Sha1, 6, 0), Err(OtpError::ZeroStep));
    /// assert_eq!(
    ///     Totp::new(vec![7; 10], Algorithm::Sha1, 6, 30),
    ///     Err(OtpError::SecretTooShort { len: 10 })
    /// );
    /// ```
    pub fn new(
        secret: Vec<u8>,
        algorithm: Algorithm,
        digits: u32,
        step_seconds: u64,
    ) -> Result<Totp, OtpError> {
        if secret.len() < Self::MIN_SECRET_LEN {
            return Err(OtpError::SecretTooShort { len: secret.len() });
        }
        if !(6..=8).contains(&digits) {
            return Err(OtpError::Digits(digits));
        }
        if step_seconds == 0 {
            return Err(OtpError::ZeroStep);
        }
        Ok(Totp {
            secret,
            algorithm,
            digits,
            step_seconds,
            skew: Self::DEFAULT_SKEW,
        })
    }

    /// The same device with a skew window of `skew` steps either side (0 to
    /// [`MAX_SKEW`](Self::MAX_SKEW)).
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, OtpError, Totp};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!(t.clone().with_skew(5).unwrap().skew(), 5);
    /// assert_eq!(t.with_skew(11), Err(OtpError::SkewTooLarge(11)));
    /// ```
    pub fn with_skew(mut self, skew: u32) -> Result<Totp, OtpError> {
        if skew > Self::MAX_SKEW {
            return Err(OtpError::SkewTooLarge(skew));
        }
        self.skew = skew;
        Ok(self)
    }

    /// The shared secret.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!(t.secret(), &[7; 20]);
    /// ```
    pub fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The secret in base32 without padding, as authenticator apps take it.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!(t.secret_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /// ```
    pub fn secret_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.secret)
    }

    /// The HMAC hash.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha512, 6, 30).unwrap();
    /// assert_eq!(t.algorithm(), Algorithm::Sha512);
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The number of digits of a code.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// assert_eq!(Totp::new(vec![7; 20], Algorithm::Sha1, 8, 30).unwrap().digits(), 8);
    /// ```
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The time step in seconds.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// assert_eq!(Totp::new(vec![7; 20], Algorithm::Sha1, 6, 60).unwrap().step_seconds(), 60);
    /// ```
    pub fn step_seconds(&self) -> u64 {
        self.step_seconds
    }

    /// The skew window, in steps either side.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// assert_eq!(Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap().skew(), 1);
    /// ```
    pub fn skew(&self) -> u32 {
        self.skew
    }

    /// The time step a Unix time falls in (`T = unix / step`, T0 = 0).
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!((t.step_at(29), t.step_at(30)), (0, 1));
    /// ```
    pub fn step_at(&self, unix_seconds: u64) -> u64 {
        unix_seconds / self.step_seconds.max(1)
    }

    /// The code of a time step.
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!(t.code_for_step(2), t.code_at(60));
    /// ```
    pub fn code_for_step(&self, step: u64) -> String {
        hotp_with(self.algorithm, &self.secret, step, self.digits)
    }

    /// The code at a Unix time (seconds since 1970-01-01T00:00:00Z).
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let seed = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
    /// let t = Totp::new(seed, Algorithm::Sha512, 8, 30).unwrap();
    /// assert_eq!(t.code_at(20_000_000_000), "47863826"); // RFC 6238 Appendix B
    /// ```
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.code_for_step(self.step_at(unix_seconds))
    }

    /// Checks a code at a Unix time.
    ///
    /// Accepted: a code of exactly [`digits`](Self::digits) ASCII digits equal to the code of
    /// a step within `skew` steps of the current one, and later than `last_used_step` (the
    /// step the device last accepted a code for, which the caller persists). Every step of the
    /// window is computed and compared in constant time, whatever the outcome; when several
    /// steps match, the earliest acceptable one is reported. A code that only matches steps at
    /// or before `last_used_step` is [`TotpVerdict::Replayed`].
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp, TotpVerdict};
    /// let t = Totp::new(vec![7; 20], Algorithm::Sha1, 6, 30).unwrap();
    /// let code = t.code_at(1_000);                           // step 33
    /// assert_eq!(t.verify(&code, 1_025, None), TotpVerdict::Valid { step: 33 }); // step 34
    /// assert_eq!(t.verify(&code, 1_060, None), TotpVerdict::Invalid);           // step 35
    /// assert_eq!(t.verify(&code, 1_000, Some(33)), TotpVerdict::Replayed);
    /// assert_eq!(t.verify("12345", 1_000, None), TotpVerdict::Invalid);
    /// ```
    pub fn verify(
        &self,
        candidate: &str,
        unix_seconds: u64,
        last_used_step: Option<u64>,
    ) -> TotpVerdict {
        let well_formed = usize::try_from(self.digits).is_ok_and(|d| d == candidate.len())
            && candidate.bytes().all(|b| b.is_ascii_digit());
        let current = self.step_at(unix_seconds);
        let first = current.saturating_sub(u64::from(self.skew));
        let last = current.saturating_add(u64::from(self.skew));
        let mut accepted: Option<u64> = None;
        let mut replayed = false;
        for step in first..=last {
            let code = self.code_for_step(step);
            let equal = bool::from(code.as_bytes().ct_eq(candidate.as_bytes()));
            if equal && well_formed {
                if last_used_step.is_none_or(|used| step > used) {
                    accepted = accepted.or(Some(step));
                } else {
                    replayed = true;
                }
            }
        }
        match (accepted, replayed) {
            (Some(step), _) => TotpVerdict::Valid { step },
            (None, true) => TotpVerdict::Replayed,
            (None, false) => TotpVerdict::Invalid,
        }
    }

    /// The key URI authenticator apps scan:
    /// `otpauth://totp/{issuer}:{account}?secret={base32}&issuer={issuer}`.
    ///
    /// Issuer and account are percent-encoded (UTF-8; everything but `A–Z a–z 0–9 - . _ ~` and,
    /// in the label, `@`), so a `:` or `&` in them cannot change the URI's structure. Without an
    /// issuer (or with an empty one) the label is the account alone, as in PingOne's example
    /// `otpauth://totp/abc@example.com?secret=…`. `algorithm`, `digits` and `period` are added
    /// only when they differ from SHA1, 6 and 30 (the values apps assume).
    ///
    /// ```
    /// use mfa_devices::otp::{Algorithm, Totp};
    /// let t = Totp::new(b"12345678901234567890".to_vec(), Algorithm::Sha1, 6, 30).unwrap();
    /// assert_eq!(
    ///     t.key_uri("abc@example.com", Some("Corporate spreadsheet app")),
    ///     "otpauth://totp/Corporate%20spreadsheet%20app:abc@example.com\
    ///      ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Corporate%20spreadsheet%20app"
    /// );
    /// let t = Totp::new(vec![0; 16], Algorithm::Sha256, 8, 60).unwrap();
    /// assert_eq!(
    ///     t.key_uri("a:b", None),
    ///     "otpauth://totp/a%3Ab?secret=AAAAAAAAAAAAAAAAAAAAAAAAAA&algorithm=SHA256&digits=8&period=60"
    /// );
    /// ```
    pub fn key_uri(&self, account: &str, issuer: Option<&str>) -> String {
        let issuer = issuer.filter(|i| !i.is_empty());
        let mut uri = String::from("otpauth://totp/");
        if let Some(issuer) = issuer {
            percent_encode(&mut uri, issuer, true);
            uri.push(':');
        }
        percent_encode(&mut uri, account, true);
        uri.push_str("?secret=");
        uri.push_str(&self.secret_base32());
        if let Some(issuer) = issuer {
            uri.push_str("&issuer=");
            percent_encode(&mut uri, issuer, false);
        }
        if self.algorithm != Algorithm::Sha1 {
            uri.push_str("&algorithm=");
            uri.push_str(self.algorithm.as_str());
        }
        if self.digits != 6 {
            uri.push_str(&format!("&digits={}", self.digits));
        }
        if self.step_seconds != Self::DEFAULT_STEP_SECONDS {
            uri.push_str(&format!("&period={}", self.step_seconds));
        }
        uri
    }
}

/// Appends `text` percent-encoded (RFC 3986 unreserved kept; `@` kept in a label).
fn percent_encode(out: &mut String, text: &str, label: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (label && b == b'@')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0f] {
                let hex = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
                out.push(char::from(hex));
            }
        }
    }
}

/// How long after issue a TOTP device's `secret` and `keyUri` may be shown: 30 minutes.
pub const SECRET_VISIBLE_FOR: TimeDelta = TimeDelta::seconds(30 * 60);

/// Whether a TOTP device's `secret` and `keyUri` may be returned.
///
/// The spec: only while the device is `ACTIVATION_REQUIRED`, and both expire 30 minutes after
/// they were issued. **Decision**: visible for `issued_at <= now < issued_at + 30 min` (at
/// exactly 30 minutes they are gone, like a lock at its `expiresAt`); a `now` before
/// `issued_at` (clock skew between servers) hides them.
///
/// ```
/// use chrono::{TimeDelta, TimeZone, Utc};
/// use mfa_devices::otp::secret_visible;
/// let issued = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
/// assert!(secret_visible(true, issued, issued + TimeDelta::minutes(29)));
/// assert!(!secret_visible(true, issued, issued + TimeDelta::minutes(30)));
/// assert!(!secret_visible(false, issued, issued)); // already ACTIVE
/// ```
pub fn secret_visible(
    activation_required: bool,
    issued_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    activation_required
        && issued_at <= now
        && now.signed_duration_since(issued_at) < SECRET_VISIBLE_FOR
}
