//! Integration tests of the device side of the crate, one module per library module (one test
//! binary instead of one per file keeps `cargo test` quick to build and link). Fixtures are in
//! `tests/fixtures/`; the SCIM and CREST filters have their own binary (`tests/filters/`), the
//! fuzz seeds theirs (`tests/fuzz_seeds.rs`).

/// The typed device model, masking and HAL rendering.
mod device;

/// The per-user device aggregate, rule by rule.
mod user_devices;
/// The aggregate against a reference model (property test).
mod user_devices_model;

/// HOTP/TOTP, OTP challenges and the push limiter.
mod otp;
/// The device authentication policy.
mod policy;

/// The device authentication flow.
mod authn;
/// The flow on top of the aggregate.
mod authn_aggregate;
/// The flow's view of a policy resource.
mod authn_policy;
/// The flow against a reference model (property tests).
mod authn_props;

/// The `devices` example, the crate's command-line tool.
mod cli;

/// A test RNG that replays the given bytes in a cycle, for tests that must know the passcode a
/// draw gives (`[1, 2, 3, 4, 5, 6]` draws "123456", `[255; 6]` never gives a digit). Everything
/// else uses a seeded `rand_chacha::ChaCha20Rng`. Marked `CryptoRng` only because the API
/// takes nothing less; it is obviously not one.
pub(crate) struct Replay {
    bytes: Vec<u8>,
    at: usize,
}

/// [`Replay`] of `bytes`.
pub(crate) fn replay(bytes: &[u8]) -> Replay {
    Replay {
        bytes: bytes.to_vec(),
        at: 0,
    }
}

impl rand_core::RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for d in dst {
            *d = self
                .bytes
                .get(self.at % self.bytes.len().max(1))
                .copied()
                .unwrap_or(0);
            self.at += 1;
        }
    }
}

impl rand_core::CryptoRng for Replay {}
