//! The device resource: common properties, per-type details, lock and block states.

use chrono::{DateTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::fields;
use super::ids::{DeviceId, EnvironmentId, IdRef, UserId};
use super::timestamp;
use crate::macros::string_enum;

string_enum! {
    /// A device's `type`.
    ///
    /// Any other string is kept as [`DeviceType::Other`] so that types PingOne adds later
    /// round-trip unchanged.
    ///
    /// ```
    /// use mfa_devices::device::DeviceType;
    /// assert_eq!("SMS".parse::<DeviceType>().unwrap(), DeviceType::Sms);
    /// assert_eq!(DeviceType::OathToken.to_string(), "OATH_TOKEN");
    /// assert_eq!(DeviceType::from("MAGIC_RING"), DeviceType::Other("MAGIC_RING".into()));
    /// ```
    DeviceType {
        /// An email address receiving OTPs.
        Email => "EMAIL",
        /// A phone receiving OTPs by SMS.
        Sms => "SMS",
        /// A phone receiving OTPs by voice call.
        Voice => "VOICE",
        /// A third-party TOTP authenticator application.
        Totp => "TOTP",
        /// A native application built with the PingOne MFA SDK (paired, never POSTed).
        Mobile => "MOBILE",
        /// A FIDO2 / WebAuthn authenticator.
        Fido2 => "FIDO2",
        /// A hardware OATH token.
        OathToken => "OATH_TOKEN",
        /// A WhatsApp number receiving OTPs.
        Whatsapp => "WHATSAPP",
        /// Deprecated: FIDO2 platform biometrics (use FIDO2).
        Platform => "PLATFORM",
        /// Deprecated: FIDO2/U2F security key (use FIDO2).
        SecurityKey => "SECURITY_KEY",
        /// A remembered browser.
        Browser => "BROWSER",
    }
}

impl DeviceType {
    /// Every type this crate knows, in the order PingOne documents them.
    pub const KNOWN: [DeviceType; 11] = [
        DeviceType::Email,
        DeviceType::Sms,
        DeviceType::Voice,
        DeviceType::Totp,
        DeviceType::Mobile,
        DeviceType::Fido2,
        DeviceType::OathToken,
        DeviceType::Whatsapp,
        DeviceType::Platform,
        DeviceType::SecurityKey,
        DeviceType::Browser,
    ];

    /// Whether the method sends a one-time passcode to a phone number (SMS, VOICE, WHATSAPP).
    ///
    /// ```
    /// use mfa_devices::device::DeviceType;
    /// assert!(DeviceType::Voice.is_phone());
    /// assert!(!DeviceType::Email.is_phone());
    /// ```
    pub fn is_phone(&self) -> bool {
        matches!(self, Self::Sms | Self::Voice | Self::Whatsapp)
    }

    /// Whether the type is a WebAuthn authenticator (FIDO2 and the deprecated PLATFORM /
    /// SECURITY_KEY).
    ///
    /// ```
    /// assert!(mfa_devices::device::DeviceType::SecurityKey.is_webauthn());
    /// ```
    pub fn is_webauthn(&self) -> bool {
        matches!(self, Self::Fido2 | Self::Platform | Self::SecurityKey)
    }
}

string_enum! {
    /// A device's `status`.
    ///
    /// ```
    /// use mfa_devices::device::DeviceStatus;
    /// assert_eq!(DeviceStatus::ActivationRequired.as_str(), "ACTIVATION_REQUIRED");
    /// ```
    DeviceStatus {
        /// The device can be used to authenticate.
        Active => "ACTIVE",
        /// The device must be activated (OTP, or attestation for FIDO2) before use.
        ActivationRequired => "ACTIVATION_REQUIRED",
    }
}

string_enum! {
    /// `lock.status`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::LockStatus::Locked.as_str(), "LOCKED");
    /// ```
    LockStatus {
        /// Too many failures: the device is locked until `expiresAt`.
        Locked => "LOCKED",
        /// Not locked.
        Unlocked => "UNLOCKED",
    }
}

string_enum! {
    /// `lock.reason`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::LockReason::Push.as_str(), "PUSH");
    /// ```
    LockReason {
        /// The user passed the limit of unsuccessful OTP tries.
        Otp => "OTP",
        /// The user passed the limit of declined/ignored push notifications in the time period.
        Push => "PUSH",
    }
}

string_enum! {
    /// `block.status`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::BlockStatus::Blocked.as_str(), "BLOCKED");
    /// ```
    BlockStatus {
        /// An administrator blocked the device.
        Blocked => "BLOCKED",
        /// Not blocked.
        Unblocked => "UNBLOCKED",
    }
}

/// A device's `lock`: `{"status", "expiresAt"?, "reason"?}`.
///
/// A lock is in force while `now < expiresAt`; from `expiresAt` on it reads as unlocked
/// (the crate's decision: PingOne expires locks lazily, and so does this crate, with time passed
/// in).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::{LockReason, LockState};
/// let until = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// let lock = LockState::locked(until, LockReason::Otp);
/// assert!(lock.is_in_force(until - chrono::TimeDelta::seconds(1)));
/// assert!(!lock.is_in_force(until));
/// assert!(!LockState::unlocked().is_in_force(until));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockState {
    /// LOCKED or UNLOCKED.
    pub status: LockStatus,
    /// When the lock ends (present while LOCKED).
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    /// Why the device is locked (present while LOCKED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<LockReason>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl LockState {
    /// `{"status":"UNLOCKED"}`.
    pub fn unlocked() -> Self {
        Self {
            status: LockStatus::Unlocked,
            expires_at: None,
            reason: None,
            extra: Map::new(),
        }
    }

    /// `{"status":"LOCKED","expiresAt":…,"reason":…}`.
    pub fn locked(expires_at: DateTime<Utc>, reason: LockReason) -> Self {
        Self {
            status: LockStatus::Locked,
            expires_at: Some(expires_at),
            reason: Some(reason),
            extra: Map::new(),
        }
    }

    /// Whether the lock holds at `now`: LOCKED and `now` before `expiresAt`. A LOCKED state
    /// without `expiresAt` holds until it is unlocked.
    pub fn is_in_force(&self, now: DateTime<Utc>) -> bool {
        self.status == LockStatus::Locked && self.expires_at.is_none_or(|until| now < until)
    }
}

impl Default for LockState {
    fn default() -> Self {
        Self::unlocked()
    }
}

/// A device's `block`: `{"status", "blockedAt"?}`. A block never expires.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use mfa_devices::device::BlockState;
/// let at = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
/// assert!(BlockState::blocked(at).is_blocked());
/// assert!(!BlockState::unblocked().is_blocked());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockState {
    /// BLOCKED or UNBLOCKED.
    pub status: BlockStatus,
    /// When an administrator blocked the device.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub blocked_at: Option<DateTime<Utc>>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl BlockState {
    /// `{"status":"UNBLOCKED"}`.
    pub fn unblocked() -> Self {
        Self {
            status: BlockStatus::Unblocked,
            blocked_at: None,
            extra: Map::new(),
        }
    }

    /// `{"status":"BLOCKED","blockedAt":…}`.
    pub fn blocked(at: DateTime<Utc>) -> Self {
        Self {
            status: BlockStatus::Blocked,
            blocked_at: Some(at),
            extra: Map::new(),
        }
    }

    /// Whether the device is blocked.
    pub fn is_blocked(&self) -> bool {
        self.status == BlockStatus::Blocked
    }
}

impl Default for BlockState {
    fn default() -> Self {
        Self::unblocked()
    }
}

/// `notification` of a device creation request: a custom pairing notification.
///
/// ```
/// use mfa_devices::device::Notification;
/// let n: Notification = serde_json::from_str(
///     r#"{"template":{"locale":"en","variant":"variant_B","variables":{"sum":"1,000,000"}}}"#).unwrap();
/// assert_eq!(n.template.unwrap().variant.as_deref(), Some("variant_B"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Template parameters for the `device_pairing` notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<NotificationTemplate>,
    /// `notification.policy.id`: the notification policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<IdRef<String>>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `notification.template`.
///
/// ```
/// let t = mfa_devices::device::NotificationTemplate { locale: Some("en".into()), ..Default::default() };
/// assert_eq!(serde_json::to_value(&t).unwrap(), serde_json::json!({"locale": "en"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationTemplate {
    /// ISO language code of the notification (`en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The content variant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Dynamic variables of the content variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Map<String, Value>>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `test`: for test-mode devices, `{"otp": …}` with the passcode to use.
///
/// PingOne documents `test.otp` as an integer; the value is kept as JSON so a passcode with
/// leading zeros written as a string also round-trips.
///
/// ```
/// let t: mfa_devices::device::TestOtp = serde_json::from_str(r#"{"otp":123456}"#).unwrap();
/// assert_eq!(t.otp, serde_json::json!(123456));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOtp {
    /// The passcode.
    pub otp: Value,
}

macro_rules! details_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }
    };
}

details_struct! {
    /// Properties of EMAIL devices.
    ///
    /// ```
    /// let d = mfa_devices::device::EmailDetails { email: Some("a@b.com".into()), ..Default::default() };
    /// assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!({"email": "a@b.com"}));
    /// ```
    EmailDetails {
        /// The email address.
        email: String,
        /// A testing device: OTPs are returned in responses instead of being sent.
        test_mode: bool,
        /// For test-mode devices, the passcode.
        test: TestOtp,
        /// The custom pairing notification given at creation.
        notification: Notification,
    }
}

details_struct! {
    /// Properties of SMS, VOICE and WHATSAPP devices.
    ///
    /// ```
    /// let d: mfa_devices::device::PhoneDetails = serde_json::from_str(r#"{"phone":"+972.547339044"}"#).unwrap();
    /// assert_eq!(d.phone.as_deref(), Some("+972.547339044"));
    /// ```
    PhoneDetails {
        /// The phone number, as given (separators kept).
        phone: String,
        /// VOICE only: an extension (digits, `,`, `#`, `*`).
        extension: String,
        /// A testing device: OTPs are returned in responses instead of being sent.
        test_mode: bool,
        /// For test-mode devices, the passcode.
        test: TestOtp,
        /// The custom pairing notification given at creation.
        notification: Notification,
    }
}

details_struct! {
    /// Properties of TOTP devices. `secret` and `keyUri` are returned only while the device is
    /// ACTIVATION_REQUIRED, for 30 minutes ([`crate::otp::secret_visible`]; the aggregate's
    /// renderers apply it). Both are [`Secret`](super::Secret)s: stored and serialized as
    /// strings, never shown by `Debug`.
    ///
    /// ```
    /// use mfa_devices::device::{Secret, TotpDetails};
    /// let d = TotpDetails { secret: Some(Secret::new("JBSWY3DPEHPK3PXP")), ..Default::default() };
    /// assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!({"secret": "JBSWY3DPEHPK3PXP"}));
    /// assert!(!format!("{d:?}").contains("JBSWY3DPEHPK3PXP"));
    /// ```
    TotpDetails {
        /// The shared secret (base32).
        secret: super::Secret,
        /// The `otpauth://totp/…` key URI (it holds the secret).
        key_uri: super::Secret,
    }
}

string_enum! {
    /// `deviceIntegrityState.compromised`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::IntegrityCompromised::Unknown.as_str(), "UNKNOWN");
    /// ```
    IntegrityCompromised {
        /// The device is compromised.
        True => "TRUE",
        /// The device is not compromised.
        False => "FALSE",
        /// Not known.
        Unknown => "UNKNOWN",
    }
}

string_enum! {
    /// `deviceIntegrityState.reason`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::IntegrityReason::Jailbroken.as_str(), "JAILBROKEN");
    /// ```
    IntegrityReason {
        /// Jailbroken or rooted.
        Jailbroken => "JAILBROKEN",
        /// Failed basic integrity.
        BasicIntegrity => "BASIC_INTEGRITY",
        /// Failed CTS profile match.
        Cts => "CTS",
        /// No data.
        DataUnavailable => "DATA_UNAVAILABLE",
        /// SafetyNet unavailable.
        SafetynetUnavailable => "SAFETYNET_UNAVAILABLE",
        /// SafetyNet error.
        SafetynetError => "SAFETYNET_ERROR",
        /// SafetyNet validation error.
        SafetynetValidationError => "SAFETYNET_VALIDATION_ERROR",
        /// The data expired.
        DataExpired => "DATA_EXPIRED",
        /// Internal error.
        InternalError => "INTERNAL_ERROR",
        /// Invalid certificate digest.
        InvalidCertificateDigest => "INVALID_CERTIFICATE_DIGEST",
        /// Invalid package name.
        InvalidPackageName => "INVALID_PACKAGE_NAME",
    }
}

string_enum! {
    /// `logs.level`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::LogLevel::Info.as_str(), "INFO");
    /// ```
    LogLevel {
        /// Most detail.
        Verbose => "VERBOSE",
        /// Debug.
        Debug => "DEBUG",
        /// Info (default).
        Info => "INFO",
        /// Warnings.
        Warn => "WARN",
        /// Errors only.
        Error => "ERROR",
    }
}

string_enum! {
    /// `logs.status`.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::LogsStatus::Pending.as_str(), "PENDING");
    /// ```
    LogsStatus {
        /// Requested; the app sends them when the user connects.
        Pending => "PENDING",
        /// Sent and received.
        Received => "RECEIVED",
    }
}

string_enum! {
    /// `platform` of the deprecated PLATFORM devices.
    ///
    /// ```
    /// assert_eq!(mfa_devices::device::Platform::Biometrics.as_str(), "BIOMETRICS");
    /// ```
    Platform {
        /// Unidentified platform (the default).
        Biometrics => "BIOMETRICS",
        /// Windows.
        Windows => "WINDOWS",
        /// Android.
        Android => "ANDROID",
        /// macOS.
        Mac => "MAC",
        /// iPhone.
        Iphone => "IPHONE",
    }
}

/// Declares a nested object struct whose fields are all optional and which keeps unknown
/// properties.
macro_rules! object_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// Properties not in PingOne's table, kept verbatim.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
}

object_struct! {
    /// MOBILE `application`.
    ///
    /// ```
    /// let a: mfa_devices::device::MobileApplication = serde_json::from_str(r#"{"id":"app-1","pushSandbox":true}"#).unwrap();
    /// assert_eq!(a.push_sandbox, Some(true));
    /// ```
    MobileApplication {
        /// The native application's id.
        id: String,
        /// The application's name, from the native app at runtime.
        native_name: String,
        /// iOS: whether sandbox push credentials are used.
        push_sandbox: bool,
        /// The application's version.
        version: String,
    }
}

/// MOBILE `deviceIntegrityState`.
///
/// ```
/// let s: mfa_devices::device::DeviceIntegrityState =
///     serde_json::from_str(r#"{"compromised":"FALSE","timestamp":"2024-01-01T00:00:00.000Z"}"#).unwrap();
/// assert_eq!(s.compromised, Some(mfa_devices::device::IntegrityCompromised::False));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceIntegrityState {
    /// Google's advice for the reason, when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Whether the device's integrity is compromised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised: Option<IntegrityCompromised>,
    /// The cause of the current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<IntegrityReason>,
    /// The latest integrity check.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<DateTime<Utc>>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// MOBILE `logs`.
///
/// ```
/// let l: mfa_devices::device::MobileLogs = serde_json::from_str(r#"{"level":"DEBUG","status":"PENDING"}"#).unwrap();
/// assert_eq!(l.level, Some(mfa_devices::device::LogLevel::Debug));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileLogs {
    /// When a pending log request expires.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    /// Log detail level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<LogLevel>,
    /// PENDING or RECEIVED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LogsStatus>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

object_struct! {
    /// MOBILE `model`.
    ///
    /// ```
    /// let m: mfa_devices::device::MobileModel = serde_json::from_str(r#"{"name":"iPhone14,2","marketingName":"iPhone 13 Pro"}"#).unwrap();
    /// assert_eq!(m.marketing_name.as_deref(), Some("iPhone 13 Pro"));
    /// ```
    MobileModel {
        /// The marketing name.
        marketing_name: String,
        /// The model name.
        name: String,
    }
}

/// MOBILE `os`: `{"type", "version"}`.
///
/// ```
/// let o: mfa_devices::device::MobileOs = serde_json::from_str(r#"{"type":"iOS","version":"17.1"}"#).unwrap();
/// assert_eq!(o.os_type.as_deref(), Some("iOS"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileOs {
    /// The operating system.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub os_type: Option<String>,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

details_struct! {
    /// Properties of MOBILE devices (native applications with the PingOne MFA SDK).
    ///
    /// ```
    /// let d: mfa_devices::device::MobileDetails =
    ///     serde_json::from_str(r#"{"application":{"id":"a"},"os":{"type":"Android","version":"14"},"pushEnabled":true}"#).unwrap();
    /// assert_eq!(d.push_enabled, Some(true));
    /// ```
    MobileDetails {
        /// The native SDK API version.
        api_version: String,
        /// The native application.
        application: MobileApplication,
        /// The device's integrity state.
        device_integrity_state: DeviceIntegrityState,
        /// Internal to PingOne.
        integrity_state_current: String,
        /// The device's locale.
        locale: String,
        /// Whether the device is lock enabled.
        lock_enabled: bool,
        /// Log requests.
        logs: MobileLogs,
        /// The manufacturer.
        manufacturer: String,
        /// The model.
        model: MobileModel,
        /// The device name given by the manufacturer.
        name: String,
        /// The push messaging system.
        notification_provider: String,
        /// The operating system.
        os: MobileOs,
        /// Whether OTP authentication is enabled.
        otp_enabled: bool,
        /// Whether push is enabled.
        push_enabled: bool,
        /// The push token (internal).
        push_token: String,
        /// Deprecated: use `deviceIntegrityState`.
        rooted: bool,
        /// The MFA mobile SDK version.
        sdk_version: String,
    }
}

/// A WebAuthn relying party: `{"id", "name"}`.
///
/// ```
/// let rp: mfa_devices::device::RelyingParty = serde_json::from_str(r#"{"id":"pingone.eu","name":"pingone.eu"}"#).unwrap();
/// assert_eq!(rp.id.as_deref(), Some("pingone.eu"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RelyingParty {
    /// The relying party id: a lower-case domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Properties not in PingOne's table, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

object_struct! {
    /// FIDO2 `attributes`.
    ///
    /// ```
    /// let a: mfa_devices::device::Fido2Attributes =
    ///     serde_json::from_str(r#"{"transports":["hybrid"],"isCrossPlatform":false,"isResidentKey":true}"#).unwrap();
    /// assert_eq!(a.is_cross_platform, Some(false));
    /// ```
    Fido2Attributes {
        /// True if the device has ever been cross-platform.
        is_cross_platform: bool,
        /// Whether the credential is a resident (discoverable) key.
        is_resident_key: bool,
        /// For devices converted from a deprecated type: SECURITY_KEY or PLATFORM.
        previous_device_type: DeviceType,
        /// The authenticator's transports (`usb`, `nfc`, `ble`, `hybrid`, `internal`).
        transports: Vec<String>,
    }
}

object_struct! {
    /// FIDO2 `backup`.
    ///
    /// ```
    /// let b: mfa_devices::device::Fido2Backup = serde_json::from_str(r#"{"backupEligibility":true,"backupState":false}"#).unwrap();
    /// assert_eq!(b.backup_state, Some(false));
    /// ```
    Fido2Backup {
        /// Whether the credential may be backed up.
        backup_eligibility: bool,
        /// Whether it is currently backed up.
        backup_state: bool,
    }
}

object_struct! {
    /// FIDO2 `fidoDeviceMetadata`.
    ///
    /// ```
    /// let m: mfa_devices::device::FidoDeviceMetadata = serde_json::from_str(r#"{"mdsIdentifier":"ea9b8d66"}"#).unwrap();
    /// assert_eq!(m.mds_identifier.as_deref(), Some("ea9b8d66"));
    /// ```
    FidoDeviceMetadata {
        /// The FIDO metadata service identifier (AAGUID).
        mds_identifier: String,
    }
}

details_struct! {
    /// Properties of FIDO2 devices.
    ///
    /// ```
    /// let d: mfa_devices::device::Fido2Details = serde_json::from_str(r#"{"rp":{"id":"pingone.com","name":"PingOne"}}"#).unwrap();
    /// assert_eq!(d.rp.unwrap().name.as_deref(), Some("PingOne"));
    /// ```
    Fido2Details {
        /// The attestation used to activate the device.
        attestation: String,
        /// Authenticator attributes.
        attributes: Fido2Attributes,
        /// Backup eligibility and state.
        backup: Fido2Backup,
        /// The name shown in registration and authentication windows.
        display_name: String,
        /// The origin used for activation.
        origin: String,
        /// JSON of the options for `navigator.credentials.create`.
        public_key_credential_creation_options: String,
        /// The relying party.
        rp: RelyingParty,
        /// JSON of the WebAuthn registration response.
        fido_registration_response: String,
        /// FIDO metadata of the authenticator.
        fido_device_metadata: FidoDeviceMetadata,
        /// The registered public-key credential (not PingOne's: the crate's record of the
        /// verified registration, kept in the stored device and dropped from every response by
        /// [`as_of`](crate::user_devices::as_of)).
        credential: super::WebAuthnCredential,
    }
}

details_struct! {
    /// Properties of the deprecated PLATFORM and SECURITY_KEY devices.
    ///
    /// ```
    /// let d: mfa_devices::device::WebAuthnDetails = serde_json::from_str(r#"{"platform":"MAC"}"#).unwrap();
    /// assert_eq!(d.platform, Some(mfa_devices::device::Platform::Mac));
    /// ```
    WebAuthnDetails {
        /// PLATFORM only: the platform.
        platform: Platform,
        /// JSON of the options for `navigator.credentials.create`.
        public_key_credential_creation_options: String,
        /// The relying party.
        rp: RelyingParty,
    }
}

object_struct! {
    /// BROWSER `operatingSystem`.
    ///
    /// ```
    /// let o: mfa_devices::device::BrowserOs = serde_json::from_str(r#"{"name":"Mac OS","version":"10.15.7"}"#).unwrap();
    /// assert_eq!(o.name.as_deref(), Some("Mac OS"));
    /// ```
    BrowserOs {
        /// The operating system's name.
        name: String,
        /// Its version.
        version: String,
    }
}

object_struct! {
    /// BROWSER `screenResolution`.
    ///
    /// ```
    /// let r: mfa_devices::device::ScreenResolution = serde_json::from_str(r#"{"width":3440,"height":1440}"#).unwrap();
    /// assert_eq!(r.width, Some(3440));
    /// ```
    ScreenResolution {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    }
}

/// Properties of BROWSER devices (remembered browsers).
///
/// ```
/// let d: mfa_devices::device::BrowserDetails = serde_json::from_str(
///     r#"{"name":"Chrome","cookiesEnabled":true,"lastRememberedAt":"2025-02-18T12:09:24.347Z"}"#).unwrap();
/// assert_eq!(d.cookies_enabled, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrowserDetails {
    /// The session the browser was remembered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<IdRef<String>>,
    /// The browser's locale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system: Option<BrowserOs>,
    /// The browser's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The browser's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The User-Agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// A JavaScript fingerprint of the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_fingerprint: Option<String>,
    /// Whether the browser supports push notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_notification_support: Option<bool>,
    /// Whether cookies are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies_enabled: Option<bool>,
    /// The screen resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_resolution: Option<ScreenResolution>,
    /// When the browser was last remembered.
    #[serde(
        default,
        with = "timestamp::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_remembered_at: Option<DateTime<Utc>>,
}

/// The properties that depend on a device's `type`.
///
/// Serialized flat into the device object. Types without documented properties (OATH_TOKEN and
/// unknown types) use [`DeviceDetails::None`]; their properties are kept in [`Device::extra`].
///
/// ```
/// use mfa_devices::device::{DeviceDetails, DeviceType};
/// assert_eq!(DeviceDetails::empty_for(&DeviceType::Sms), DeviceDetails::Phone(Default::default()));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum DeviceDetails {
    /// EMAIL.
    Email(EmailDetails),
    /// SMS, VOICE, WHATSAPP.
    Phone(PhoneDetails),
    /// TOTP.
    Totp(TotpDetails),
    /// MOBILE.
    Mobile(Box<MobileDetails>),
    /// FIDO2.
    Fido2(Box<Fido2Details>),
    /// PLATFORM, SECURITY_KEY (deprecated).
    WebAuthn(WebAuthnDetails),
    /// BROWSER.
    Browser(Box<BrowserDetails>),
    /// OATH_TOKEN and unknown types.
    None,
}

impl DeviceDetails {
    /// The empty details of the variant that belongs to `device_type`.
    pub fn empty_for(device_type: &DeviceType) -> Self {
        match device_type {
            DeviceType::Email => Self::Email(EmailDetails::default()),
            DeviceType::Sms | DeviceType::Voice | DeviceType::Whatsapp => {
                Self::Phone(PhoneDetails::default())
            }
            DeviceType::Totp => Self::Totp(TotpDetails::default()),
            DeviceType::Mobile => Self::Mobile(Box::default()),
            DeviceType::Fido2 => Self::Fido2(Box::default()),
            DeviceType::Platform | DeviceType::SecurityKey => {
                Self::WebAuthn(WebAuthnDetails::default())
            }
            DeviceType::Browser => Self::Browser(Box::default()),
            DeviceType::OathToken | DeviceType::Other(_) => Self::None,
        }
    }

    /// Reads the details of `device_type` out of `map`, removing the properties it consumes.
    pub(crate) fn take_from(
        device_type: &DeviceType,
        map: &mut Map<String, Value>,
    ) -> Result<Self, serde_json::Error> {
        Ok(match Self::empty_for(device_type) {
            Self::Email(_) => Self::Email(fields::take_struct(map)?),
            Self::Phone(_) => Self::Phone(fields::take_struct(map)?),
            Self::Totp(_) => Self::Totp(fields::take_struct(map)?),
            Self::Mobile(_) => Self::Mobile(Box::new(fields::take_struct(map)?)),
            Self::Fido2(_) => Self::Fido2(Box::new(fields::take_struct(map)?)),
            Self::WebAuthn(_) => Self::WebAuthn(fields::take_struct(map)?),
            Self::Browser(_) => Self::Browser(Box::new(fields::take_struct(map)?)),
            Self::None => Self::None,
        })
    }
}

/// The common properties every device has, as a derive target for reading them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Common {
    id: DeviceId,
    environment: IdRef<EnvironmentId>,
    user: IdRef<UserId>,
    #[serde(rename = "type")]
    device_type: DeviceType,
    status: DeviceStatus,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    lock: Option<LockState>,
    #[serde(default)]
    block: Option<BlockState>,
    #[serde(with = "timestamp")]
    created_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    updated_at: DateTime<Utc>,
}

/// An MFA device resource, as PingOne returns it (the body, without HAL `_links`).
///
/// `serde_json::to_value(&device)` gives back exactly the object it was read from, minus
/// `_links` (see [`hal`](crate::device::hal) to add them): properties of the device's type are
/// typed in [`details`](Self::details), and any property this crate does not know is kept in
/// [`extra`](Self::extra).
///
/// ```
/// use mfa_devices::device::{Device, DeviceDetails, DeviceStatus, DeviceType};
/// let json = serde_json::json!({
///     "id": "e112c96d-d165-45c5-8061-87ff268fd520",
///     "environment": {"id": "abfba8f6-49eb-49f5-a5d9-80ad5c98f9f6"},
///     "user": {"id": "b30ac647-e33e-464f-a6ea-0275082d4c26"},
///     "type": "SMS",
///     "lock": {"status": "UNLOCKED"},
///     "block": {"status": "UNBLOCKED"},
///     "status": "ACTIVE",
///     "createdAt": "2024-03-13T16:27:40.614Z",
///     "updatedAt": "2024-03-13T16:27:40.614Z",
///     "phone": "+972.547339044"
/// });
/// let device: Device = serde_json::from_value(json.clone()).unwrap();
/// assert_eq!(device.device_type, DeviceType::Sms);
/// assert_eq!(device.status, DeviceStatus::Active);
/// assert!(matches!(&device.details, DeviceDetails::Phone(p) if p.phone.as_deref() == Some("+972.547339044")));
/// assert_eq!(serde_json::to_value(&device).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The device's id.
    pub id: DeviceId,
    /// `environment.id`.
    pub environment: IdRef<EnvironmentId>,
    /// `user.id`.
    pub user: IdRef<UserId>,
    /// The device type.
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// The name shown in UIs (at most 100 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The lock state (PingOne always writes it; `None` when the input lacked it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<LockState>,
    /// The block state (PingOne always writes it; `None` when the input lacked it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<BlockState>,
    /// ACTIVE or ACTIVATION_REQUIRED.
    pub status: DeviceStatus,
    /// When the device was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the device was last updated.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    /// The properties of the device's type.
    #[serde(flatten)]
    pub details: DeviceDetails,
    /// Properties not in PingOne's tables, kept verbatim (`_links` and `_embedded` are dropped
    /// when reading: they are rendered, not stored).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Device {
    /// Reads a device from a JSON object, dropping HAL `_links` / `_embedded`.
    ///
    /// ```
    /// let v = serde_json::json!({"id": "nope"});
    /// assert!(mfa_devices::device::Device::from_json_object(v.as_object().unwrap().clone()).is_err());
    /// ```
    pub fn from_json_object(mut map: Map<String, Value>) -> Result<Self, serde_json::Error> {
        map.remove("_links");
        map.remove("_embedded");
        let common: Common = fields::take_struct(&mut map)?;
        let details = DeviceDetails::take_from(&common.device_type, &mut map)?;
        Ok(Self {
            id: common.id,
            environment: common.environment,
            user: common.user,
            device_type: common.device_type,
            nickname: common.nickname,
            lock: common.lock,
            block: common.block,
            status: common.status,
            created_at: common.created_at,
            updated_at: common.updated_at,
            details,
            extra: map,
        })
    }

    /// Whether a lock is in force at `now` (a lock past its `expiresAt` reads as unlocked).
    ///
    /// ```
    /// # use mfa_devices::device::*;
    /// # use chrono::{TimeZone, Utc};
    /// # let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// # let mut d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
    /// #     UserId::from_bytes([3; 16]), DeviceType::Totp, DeviceStatus::Active, t);
    /// d.lock = Some(LockState::locked(t + chrono::TimeDelta::minutes(2), LockReason::Otp));
    /// assert!(d.is_locked(t));
    /// assert!(!d.is_locked(t + chrono::TimeDelta::minutes(2)));
    /// ```
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.lock.as_ref().is_some_and(|l| l.is_in_force(now))
    }

    /// Whether an administrator blocked the device.
    ///
    /// ```
    /// # use mfa_devices::device::*;
    /// # use chrono::{TimeZone, Utc};
    /// # let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// # let mut d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
    /// #     UserId::from_bytes([3; 16]), DeviceType::Totp, DeviceStatus::Active, t);
    /// assert!(!d.is_blocked());
    /// d.block = Some(BlockState::blocked(t));
    /// assert!(d.is_blocked());
    /// ```
    pub fn is_blocked(&self) -> bool {
        self.block.as_ref().is_some_and(BlockState::is_blocked)
    }

    /// Whether the device is ACTIVE.
    pub fn is_active(&self) -> bool {
        self.status == DeviceStatus::Active
    }

    /// A device with the common properties set, UNLOCKED and UNBLOCKED, created and updated at
    /// `now`, with empty details for its type.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use mfa_devices::device::*;
    /// let t = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    /// let d = Device::new(DeviceId::from_bytes([1; 16]), EnvironmentId::from_bytes([2; 16]),
    ///     UserId::from_bytes([3; 16]), DeviceType::Email, DeviceStatus::ActivationRequired, t);
    /// assert_eq!(serde_json::to_value(&d).unwrap()["lock"]["status"], "UNLOCKED");
    /// ```
    pub fn new(
        id: DeviceId,
        environment_id: EnvironmentId,
        user_id: UserId,
        device_type: DeviceType,
        status: DeviceStatus,
        now: DateTime<Utc>,
    ) -> Self {
        let now = timestamp::truncate_millis(now);
        Self {
            id,
            environment: IdRef::new(environment_id),
            user: IdRef::new(user_id),
            details: DeviceDetails::empty_for(&device_type),
            device_type,
            nickname: None,
            lock: Some(LockState::unlocked()),
            block: Some(BlockState::unblocked()),
            status,
            created_at: now,
            updated_at: now,
            extra: Map::new(),
        }
    }

    /// The email address of an EMAIL device.
    pub fn email(&self) -> Option<&str> {
        match &self.details {
            DeviceDetails::Email(e) => e.email.as_deref(),
            _ => None,
        }
    }

    /// The phone number of an SMS, VOICE or WHATSAPP device, as written.
    pub fn phone(&self) -> Option<&str> {
        match &self.details {
            DeviceDetails::Phone(p) => p.phone.as_deref(),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Device {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let crate::json::Strict(value) = crate::json::Strict::deserialize(deserializer)?;
        let Value::Object(map) = value else {
            return Err(D::Error::custom("a device must be a JSON object"));
        };
        Device::from_json_object(map).map_err(D::Error::custom)
    }
}
