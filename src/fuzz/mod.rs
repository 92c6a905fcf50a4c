//! Bodies of the cargo-fuzz targets under `fuzz/`, as library functions so that `cargo test`
//! replays their committed seed inputs (`fuzz/seeds/<target>/`) without nightly. Not public API:
//! these functions assert the targets' invariants and panic when one breaks.
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
mod sql;
pub use sql::*;
