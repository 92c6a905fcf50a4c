//! Passcodes drawn from the caller's RNG, and [`SealedPasscode`]: how an issued passcode is
//! kept (salted HMAC-SHA-256, never in clear) by every stored form of the crate.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::OtpError;

type HmacSha256 = Hmac<Sha256>;

/// Random bytes read at most while drawing one passcode: a CSPRNG gives a 10-digit code from
/// about 11 bytes; only a broken generator (bytes 250–255 only) reaches this bound.
const MAX_RANDOM_BYTES: usize = 1024;

/// A passcode of `length` decimal digits drawn from `rng`, exactly uniform: each byte below
/// 250 gives one digit (`byte % 10`), bytes 250–255 are skipped (250 = 25 × 10).
///
/// The crate sizes the draw; [`OtpError::NotEnoughRandomness`] only comes from a generator that
/// gives nothing but bytes 250–255 for 1 KiB (a broken one).
///
/// ```
/// use rand_core::SeedableRng;
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
/// let code = mfa_devices::otp::draw_digits(&mut rng, 8).unwrap();
/// assert_eq!(code.len(), 8);
/// assert!(code.bytes().all(|b| b.is_ascii_digit()));
/// ```
pub fn draw_digits(rng: &mut (impl CryptoRng + RngCore), length: u32) -> Result<String, OtpError> {
    let wanted = usize::try_from(length).unwrap_or(usize::MAX);
    let mut code = String::with_capacity(wanted.min(16));
    let mut block = [0u8; 16];
    let mut read = 0usize;
    while code.len() < wanted {
        if read >= MAX_RANDOM_BYTES {
            return Err(OtpError::NotEnoughRandomness {
                wanted: length,
                got: u32::try_from(code.len()).unwrap_or(u32::MAX),
            });
        }
        rng.fill_bytes(&mut block);
        read = read.saturating_add(block.len());
        for b in block.iter().filter(|b| **b < 250) {
            if code.len() < wanted {
                code.push(char::from(b'0' + b % 10));
            }
        }
    }
    Ok(code)
}

fn mac(salt: &[u8], code: &str) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    match <HmacSha256 as Mac>::new_from_slice(salt) {
        Ok(mut m) => {
            m.update(code.as_bytes());
            m.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// An issued passcode as a stored form keeps it: a 16-byte random salt and the HMAC-SHA-256 of
/// the code keyed with it, plus when the code expires — never the code. Serialized as
/// `{"salt": "<32 hex>", "hmacSha256": "<64 hex>", "expiresAt": "…"}`; `Debug` prints the
/// expiry only.
///
/// One implementation serves every place a passcode waits for its check: a device's
/// activation challenge in the user's aggregate and the authentication flow's stored form.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rand_core::SeedableRng;
/// use mfa_devices::otp::SealedPasscode;
/// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
/// let expires = Utc.with_ymd_and_hms(2025, 3, 5, 12, 30, 0).unwrap();
/// let sealed = SealedPasscode::seal("123456", &mut rng, expires);
/// assert!(sealed.matches("123456") && !sealed.matches("123457"));
/// let json = serde_json::to_string(&sealed).unwrap();
/// assert!(!json.contains("123456") && !format!("{sealed:?}").contains("123456"));
/// assert_eq!(serde_json::from_str::<SealedPasscode>(&json).unwrap(), sealed);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedPasscode {
    #[serde(with = "hex16")]
    salt: [u8; 16],
    #[serde(rename = "hmacSha256", with = "hex32")]
    mac: [u8; 32],
    expires_at: DateTime<Utc>,
}

impl fmt::Debug for SealedPasscode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPasscode")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SealedPasscode {
    /// Seals `code` with a fresh salt of 16 bytes from `rng`.
    ///
    /// ```
    /// # use chrono::{DateTime, Utc};
    /// # use rand_core::SeedableRng;
    /// # use mfa_devices::otp::SealedPasscode;
    /// let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let a = SealedPasscode::seal("1", &mut rng, DateTime::<Utc>::UNIX_EPOCH);
    /// let b = SealedPasscode::seal("1", &mut rng, DateTime::<Utc>::UNIX_EPOCH);
    /// assert_ne!(a, b); // another salt
    /// ```
    pub fn seal(
        code: &str,
        rng: &mut (impl CryptoRng + RngCore),
        expires_at: DateTime<Utc>,
    ) -> Self {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        Self::with_salt(code, salt, expires_at)
    }

    /// Seals `code` with a given salt (for stored forms that must derive it, e.g. when
    /// migrating a form that kept the code in clear).
    pub(crate) fn with_salt(code: &str, salt: [u8; 16], expires_at: DateTime<Utc>) -> Self {
        Self {
            salt,
            mac: mac(&salt, code),
            expires_at,
        }
    }

    /// Whether `candidate` is the code (compared in constant time; any length).
    ///
    /// ```
    /// # use chrono::{DateTime, Utc};
    /// # use rand_core::SeedableRng;
    /// # use mfa_devices::otp::SealedPasscode;
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let s = SealedPasscode::seal("042", &mut rng, DateTime::<Utc>::UNIX_EPOCH);
    /// assert!(s.matches("042") && !s.matches("42"));
    /// ```
    pub fn matches(&self, candidate: &str) -> bool {
        bool::from(mac(&self.salt, candidate).ct_eq(&self.mac))
    }

    /// When the code stops being accepted (expired when `now >= expires_at`).
    ///
    /// ```
    /// # use chrono::{DateTime, Utc};
    /// # use rand_core::SeedableRng;
    /// # use mfa_devices::otp::SealedPasscode;
    /// # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    /// let s = SealedPasscode::seal("1", &mut rng, DateTime::<Utc>::UNIX_EPOCH);
    /// assert_eq!(s.expires_at(), DateTime::<Utc>::UNIX_EPOCH);
    /// ```
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

macro_rules! hex_array {
    ($name:ident, $n:literal) => {
        mod $name {
            use data_encoding::HEXLOWER;
            use serde::de::Error as _;
            use serde::{Deserialize, Deserializer, Serializer};

            pub(super) fn serialize<S: Serializer>(v: &[u8; $n], s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&HEXLOWER.encode(v))
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<[u8; $n], D::Error> {
                let text = String::deserialize(d)?;
                let bytes = HEXLOWER
                    .decode(text.as_bytes())
                    .map_err(|e| D::Error::custom(format_args!("not lower-case hex: {e}")))?;
                <[u8; $n]>::try_from(bytes.as_slice()).map_err(|_| {
                    D::Error::custom(format_args!("{} bytes, expected {}", bytes.len(), $n))
                })
            }
        }
    };
}
hex_array!(hex16, 16);
hex_array!(hex32, 32);
