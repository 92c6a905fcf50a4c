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

/// WebAuthn registration and assertion with a software authenticator (feature `webauthn`).
#[cfg(feature = "webauthn")]
mod webauthn;

/// The `devices` example, the crate's command-line tool.
mod cli;

/// The fuzz crate's byte-replaying RNG (`fuzz/src/rng.rs`), for tests that must know the
/// passcode a draw gives. Everything else uses a seeded `rand_chacha::ChaCha20Rng`.
#[path = "../../fuzz/src/rng.rs"]
mod rng;

/// [`rng::ReplayRng`] of `bytes`, in a cycle.
pub(crate) fn replay(bytes: &[u8]) -> rng::ReplayRng<'_> {
    rng::ReplayRng::new(bytes)
}
