//! The passcode sent to an SMS, EMAIL, VOICE or WHATSAPP device during a flow.
//!
//! Digits come from caller-supplied random bytes by rejection sampling (bytes 250–255 are
//! skipped, so each digit is uniform); comparison is constant-time (`subtle`). Failures are
//! counted by the flow, across resends, not here.

use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;

use super::FlowError;

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SentCode {
    code: String,
    expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentCode")
            .field("code", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub(crate) enum CodeCheck {
    Valid,
    Wrong,
    Expired,
}

impl SentCode {
    pub(crate) fn issue(
        random: &[u8],
        length: u32,
        life_time: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Self, FlowError> {
        if !(6..=10).contains(&length) {
            return Err(FlowError::Internal(format!(
                "otpLength {length} is outside 6-10"
            )));
        }
        let wanted = usize::try_from(length).unwrap_or(usize::MAX);
        let code: String = random
            .iter()
            .filter(|b| **b < 250)
            .take(wanted)
            .map(|b| char::from(b'0' + b % 10))
            .collect();
        if code.len() < wanted {
            return Err(FlowError::Internal(format!(
                "{wanted} usable random bytes are needed for the passcode, {} were given",
                code.len()
            )));
        }
        let expires_at = now
            .checked_add_signed(life_time.max(TimeDelta::zero()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(Self { code, expires_at })
    }

    pub(crate) fn code(&self) -> &str {
        &self.code
    }

    pub(crate) fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }

    pub(crate) fn check(&self, candidate: &str, now: DateTime<Utc>) -> CodeCheck {
        if now >= self.expires_at {
            return CodeCheck::Expired;
        }
        if bool::from(self.code.as_bytes().ct_eq(candidate.as_bytes())) {
            CodeCheck::Valid
        } else {
            CodeCheck::Wrong
        }
    }
}
