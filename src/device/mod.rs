//! The typed model of PingOne MFA devices and its exact JSON.
//!
//! - [`Device`]: the resource body, wire-exact: reading PingOne's JSON and writing it back gives
//!   the same JSON (HAL `_links` are rendered separately by [`hal`]).
//! - [`NewDevice`]: the creation body, with [`NewDevice::validate`] reporting every violation.
//! - [`DeviceId`], [`EnvironmentId`], [`UserId`]: UUID newtypes.
//! - [`DeviceType`], [`DeviceStatus`], [`LockState`], [`BlockState`]: the vocabulary.
//! - [`mask_email`], [`mask_phone`]: masking for end-user views.
//!
//! ```
//! use mfa_devices::api_base::ApiBase;
//! use mfa_devices::device::{Device, hal::render_device};
//! let json = r#"{"id":"44e3c0b5-fda7-4f48-86ec-457184437cd3",
//!   "environment":{"id":"abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
//!   "user":{"id":"b30ac647-e33e-464f-a6ea-0275082d4c26"},"type":"TOTP",
//!   "lock":{"status":"UNLOCKED"},"block":{"status":"UNBLOCKED"},"status":"ACTIVATION_REQUIRED",
//!   "createdAt":"2024-09-01T16:23:09.870Z","updatedAt":"2024-09-01T16:24:40.936Z"}"#;
//! let device: Device = serde_json::from_str(json).unwrap();
//! let hal = render_device(&device, &ApiBase::new("https://api.pingone.eu/v1"));
//! assert!(hal["_links"].get("device.activate").is_some());
//! ```

mod credential;
mod fields;
pub mod hal;
mod ids;
mod mask;
mod model;
mod new;
mod secret;
pub mod timestamp;

pub use credential::{COSE_ALG_ES256, WebAuthnCredential};
pub use ids::{DeviceId, EnvironmentId, IdRef, UserId};
pub use mask::{mask_email, mask_phone};
pub use model::{
    BlockState, BlockStatus, BrowserDetails, BrowserOs, Device, DeviceDetails,
    DeviceIntegrityState, DeviceStatus, DeviceType, EmailDetails, Fido2Attributes, Fido2Backup,
    Fido2Details, FidoDeviceMetadata, IntegrityCompromised, IntegrityReason, LockReason, LockState,
    LockStatus, LogLevel, LogsStatus, MobileApplication, MobileDetails, MobileLogs, MobileModel,
    MobileOs, Notification, NotificationTemplate, PhoneDetails, Platform, RelyingParty,
    ScreenResolution, TestOtp, TotpDetails, WebAuthnDetails,
};
pub use new::{
    CREATABLE_TYPES, MAX_NICKNAME_CHARS, NewDevice, has_control_characters, is_valid_email,
    is_valid_phone, is_valid_rp_id,
};
pub use secret::Secret;
