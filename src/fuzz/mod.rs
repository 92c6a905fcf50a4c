//! Bodies of the cargo-fuzz targets under `fuzz/`, as library functions so that `cargo test`
//! replays their committed seed inputs (`fuzz/seeds/<target>/`) without nightly. Not public API.
mod crest;
pub use crest::*;
