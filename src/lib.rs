//! # mfa-devices
//!
//! Pure, I/O-free domain logic for PingOne-style MFA devices, for servers and tools to embed.
//!
//! Nothing in this crate reads a clock, draws randomness or performs I/O: the current time
//! (`now: DateTime<Utc>`) and any random bytes are always arguments. Every value serializes to
//! and from exactly the JSON PingOne writes.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | [`ApiError`](error::ApiError), PingOne's error body with its HTTP status |
//! | [`device`] | the typed device model, creation input validation, masking, HAL rendering |
//! | [`lock`] | lock arithmetic on an injected `now`: OTP failure counts, push rejection windows, lock expiry |
//! | [`order`] | the per-user device aggregate: lifecycle, default-device ordering, lock/block, audit events |
//! | [`filter`] | SCIM 2.0 filters (RFC 7644): parser, evaluator, compiled form, collection schemas |
//! | [`policy`] | the device authentication policy and its validation |
//! | [`otp`] | HOTP/TOTP, OTP challenges and the push limiter |
//! | [`authn`] | the device authentication flow (select device, OTP check, NO_USABLE_DEVICES) |
//! | [`crest`] | PingOne Advanced Identity Cloud: CREST `_queryFilter`, device categories, paging |
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::string_slice
    )
)]

pub mod authn;
pub mod crest;
pub mod device;
pub mod error;
pub mod filter;
#[doc(hidden)]
pub mod fuzz;
pub mod lock;
pub mod order;
pub mod otp;
pub mod policy;
