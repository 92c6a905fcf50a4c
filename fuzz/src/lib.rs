//! Bodies of the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`), one function per target. They
//! are test code, not part of `mfa-devices`: each asserts the target's invariants and panics when
//! one breaks (that is the finding). The fuzz targets call them through this crate
//! (`mfa_devices_fuzz`); the main crate's seed replay (`tests/fuzz_seeds.rs`) includes this same
//! file as a module, so that `cargo test` replays every committed seed (`fuzz/seeds/<target>/`)
//! on stable Rust without building libFuzzer.
//!
//! Only `mfa_devices`' public API is used here, and these crates: `chrono`, `serde_json`, `uuid`,
//! `rand_core` (dependencies of both `mfa-devices` and this fuzz crate).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

mod authn;
pub use authn::*;
mod crest;
pub use crest::*;
mod device;
pub use device::*;
mod filter;
pub use filter::*;
mod order;
pub use order::*;
mod policy;
pub use policy::*;
pub mod rng;
mod sql;
pub use sql::*;
mod webauthn;
pub use webauthn::*;

/// A fuzz body: takes the fuzzer's bytes, panics when an invariant breaks.
pub type Body = fn(&[u8]);

/// The fuzz targets by name (the `fuzz/seeds/<name>/` directory and the `cargo fuzz` target),
/// each with its body.
pub const TARGETS: [(&str, Body); 9] = [
    ("authn_flow", authn_flow),
    ("crest_parse", crest_parse),
    ("device_json", device_json),
    ("filter_eval", filter_eval),
    ("filter_parse", filter_parse),
    ("filter_sql", filter_sql),
    ("order_commands", order_commands),
    ("policy_json", policy_json),
    ("webauthn_verify", webauthn_verify),
];
