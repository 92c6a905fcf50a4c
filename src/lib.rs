//! # mfa-devices
//!
//! Pure, I/O-free domain logic for PingOne-style MFA devices, for servers and tools to embed.
//!
//! Nothing in this crate reads a clock, draws randomness or performs I/O: the current time
//! (`now: DateTime<Utc>`) and the caller's CSPRNG (`&mut impl rand_core::CryptoRng + RngCore`)
//! are always arguments. Every value serializes to
//! and from exactly the JSON PingOne writes.
//!
//! | module | what it holds |
//! |---|---|
//! | [`error`] | [`ApiError`](error::ApiError), PingOne's error body with its HTTP status |
//! | [`api_base`] | [`ApiBase`](api_base::ApiBase), the base URL of the API and auth hosts that links are built from |
//! | [`media_type`] | how every resource compares a request's `Content-Type` |
//! | [`device`] | the typed device model, creation input validation, masking, HAL rendering |
//! | [`lock`] | lock arithmetic on an injected `now`: OTP failure counts, push rejection windows, lock expiry |
//! | [`user_devices`] | the per-user device aggregate: lifecycle, default-device ordering, lock/block, audit events |
//! | [`filter`] | SCIM 2.0 filters (RFC 7644): parser, evaluator, compiled form, collection schemas |
//! | [`policy`] | the device authentication policy and its validation |
//! | [`otp`] | HOTP/TOTP, OTP challenges and the push limiter |
//! | [`authn`] | the device authentication flow (select device, OTP check, NO_USABLE_DEVICES) |
//! | [`crest`] | PingOne Advanced Identity Cloud: CREST `_queryFilter`, device categories, paging |
//! | `http` | feature `http`: `ApiError` as an `http::Response`, `Command`/`Action` from an `http::Request`, `If-Match` lines |
//!
//! The modules form layers (each uses only modules below it); the map and the rule for which
//! functions return their module's error and which return [`ApiError`](error::ApiError) directly
//! are in the crate's DESIGN.md.
//!
//! ## A tour
//!
//! A server loads a user's devices, decides a command, renders the list response with a SCIM
//! filter, and answers a refused request with PingOne's error body:
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mfa_devices::api_base::ApiBase;
//! use mfa_devices::device::{DeviceId, EnvironmentId, NewDevice, UserId};
//! use mfa_devices::error::ApiError;
//! use mfa_devices::filter::{CompileOptions, schema::DEVICES};
//! use mfa_devices::user_devices::{Command, UserDevices};
//! # fn my_jwt_library_verifies(jwt: &str) -> bool { !jwt.ends_with('.') } // unsigned: refused
//!
//! let now = Utc.with_ymd_and_hms(2025, 3, 5, 12, 0, 0).unwrap();
//! let (env, user) = (EnvironmentId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
//! let mut devices = UserDevices::new(env, user);
//!
//! // POST …/devices with a JSON body: validate, decide, apply.
//! let body: NewDevice = serde_json::from_str(r#"{"type":"SMS","phone":"+1 (512) 555-1234","status":"ACTIVE"}"#)?;
//! let events = devices.execute(Command::Create { id: DeviceId::from_bytes([3; 16]), device: body, secrets: Default::default() }, now)?;
//! assert_eq!(events[0].audit_type(), "DEVICE.CREATED");
//! assert_eq!(devices.default_device().map(|d| d.id), Some(DeviceId::from_bytes([3; 16])));
//!
//! // GET …/devices?filter=type eq "SMS"&expand=order — compiled with the schema and the
//! // verifier of PingOne Mobile SDK payloads (`mobilePayload eq "<jwt>"`): the server checks the
//! // JWT's signature with its key; without a verifier a mobilePayload filter is refused.
//! let verify = |jwt: &str| my_jwt_library_verifies(jwt);
//! let options = CompileOptions::new().schema(&DEVICES).verifier(&verify);
//! let filter = DEVICES.parse(r#"type eq "SMS""#)?.compile_checked(&options)?;
//! let list = devices.render_list(&ApiBase::new("https://api.pingone.eu/v1"), true, now, |d| filter.matches(d));
//! assert_eq!(list["count"], 1);
//! let forged = DEVICES.parse(r#"mobilePayload eq "e30.eyJkdmMiOiIwMzAzMDMwMy0wMzAzLTAzMDMtMDMwMy0wMzAzMDMwMzAzMDMifQ.""#)?;
//! assert!(forged.compile_checked::<mfa_devices::device::Device>(&CompileOptions::new().schema(&DEVICES)).is_err());
//! let forged = forged.compile_checked(&options)?;
//! assert_eq!(devices.render_list(&ApiBase::new("https://api.pingone.eu/v1"), false, now, |d| forged.matches(d))["count"], 0);
//!
//! // A filter PingOne's devices collection does not allow is a 400 INVALID_DATA / INVALID_FILTER.
//! let refused: ApiError = DEVICES.parse(r#"nickname co "x""#).unwrap_err();
//! assert_eq!((refused.http_status(), refused.details[0].code.as_str()), (400, "INVALID_FILTER"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Randomness is taken as `&mut (impl CryptoRng + RngCore)`, the bound the API documents and a
// reader recognises; with rand_core 0.9 `RngCore` is also `CryptoRng`'s supertrait.
#![allow(clippy::implied_bounds_in_impls)]
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

pub mod api_base;
pub mod authn;
pub mod crest;
pub mod device;
pub mod error;
pub mod filter;
#[cfg(feature = "http")]
pub mod http;
mod json;
pub mod lock;
mod macros;
pub mod media_type;
pub mod otp;
pub mod policy;
pub mod user_devices;
pub mod webauthn;

/// The layer map of DESIGN.md, checked against the code: every `crate::…` path in a module's
/// source names a module that DESIGN.md says it uses.
#[cfg(test)]
mod layer_map {
    use std::path::{Path, PathBuf};

    /// DESIGN.md's table: each module and the modules it uses.
    const USES: &[(&str, &[&str])] = &[
        ("macros", &[]),
        ("media_type", &[]),
        ("api_base", &[]),
        ("json", &[]),
        ("error", &["json", "macros"]),
        ("device", &["api_base", "error", "json", "macros"]),
        ("lock", &["device"]),
        ("filter", &["device", "error"]),
        ("policy", &["device", "error", "lock", "macros"]),
        ("otp", &["error", "lock", "policy"]),
        ("crest", &["error", "filter"]),
        ("webauthn", &["device", "error", "json"]),
        (
            "user_devices",
            &[
                "api_base",
                "device",
                "error",
                "json",
                "lock",
                "media_type",
                "otp",
                "policy",
                "webauthn",
            ],
        ),
        (
            "authn",
            &[
                "api_base",
                "device",
                "error",
                "json",
                "lock",
                "macros",
                "media_type",
                "otp",
                "policy",
                "user_devices",
                "webauthn",
            ],
        ),
        ("http", &["authn", "error", "user_devices"]),
    ];

    fn sources(path: &Path, out: &mut Vec<PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                sources(&entry.unwrap().path(), out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.to_owned());
        }
    }

    /// The modules a source file names as `crate::module` outside comments.
    fn used(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        }
        out
    }

    #[test]
    fn every_module_uses_only_what_design_md_says() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let module = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if module == "lib" {
                continue;
            }
            let allowed = USES
                .iter()
                .find(|(m, _)| *m == module)
                .unwrap_or_else(|| panic!("module {module} is not in DESIGN.md's layer map"))
                .1;
            let mut files = Vec::new();
            sources(&path, &mut files);
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for name in used(&text) {
                    assert!(
                        name == module || allowed.contains(&name.as_str()),
                        "{} uses crate::{name}, which DESIGN.md's layer map does not allow for {module}",
                        file.display()
                    );
                }
            }
        }
    }

    #[test]
    fn the_map_has_no_cycles() {
        // Each module only uses modules listed before it.
        for (n, (module, uses)) in USES.iter().enumerate() {
            for u in *uses {
                let at = USES.iter().position(|(m, _)| m == u);
                assert!(
                    at.is_some_and(|at| at < n),
                    "{module} uses {u}, not below it"
                );
            }
        }
    }
}
