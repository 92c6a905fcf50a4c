//! [`NewDevice`]: the body of `POST …/users/{userID}/devices`, and its validation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids::IdRef;
use super::model::{DeviceStatus, DeviceType, Notification, RelyingParty};
use crate::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE, echo, inner};

/// The longest nickname PingOne accepts, in characters (not bytes).
pub const MAX_NICKNAME_CHARS: usize = 100;

/// The device types that `POST …/devices` creates. MOBILE devices are paired with a pairing key
/// and BROWSER devices are remembered by a sign-on flow; neither is created by this request.
pub const CREATABLE_TYPES: [DeviceType; 9] = [
    DeviceType::Email,
    DeviceType::Sms,
    DeviceType::Voice,
    DeviceType::Totp,
    DeviceType::Fido2,
    DeviceType::OathToken,
    DeviceType::Whatsapp,
    DeviceType::Platform,
    DeviceType::SecurityKey,
];

/// The body of a device creation request.
///
/// ```
/// use mfa_devices::device::{DeviceStatus, DeviceType, NewDevice};
/// let body: NewDevice = serde_json::from_str(
///     r#"{"type":"SMS","phone":"+1 (512) 555-1234","status":"ACTIVATION_REQUIRED"}"#).unwrap();
/// assert_eq!(body.device_type, DeviceType::Sms);
/// assert!(body.validate().is_ok());
///
/// let bad = NewDevice { email: Some("not an email".into()), ..NewDevice::new(DeviceType::Email) };
/// let err = bad.validate().unwrap_err();
/// assert_eq!(err.code(), "INVALID_DATA");
/// assert_eq!(err.details[0].target.as_deref(), Some("email"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDevice {
    /// The device type (required).
    #[serde(rename = "type")]
    pub device_type: DeviceType,
    /// ACTIVE or ACTIVATION_REQUIRED. PingOne's table marks it required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeviceStatus>,
    /// The name shown in UIs; at most 100 characters; empty means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// EMAIL: the address (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// SMS, VOICE, WHATSAPP: the number (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// VOICE: an extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// EMAIL, SMS, VOICE, WHATSAPP: a testing device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
    /// EMAIL, SMS, VOICE created ACTIVATION_REQUIRED: a custom pairing notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
    /// The device authentication policy to apply (not returned by GET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<IdRef<String>>,
    /// FIDO2: the relying party (else taken from the FIDO2 policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp: Option<RelyingParty>,
    /// Any other property, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NewDevice {
    /// A body with only `type` set.
    ///
    /// ```
    /// let b = mfa_devices::device::NewDevice::new(mfa_devices::device::DeviceType::Totp);
    /// assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!({"type": "TOTP"}));
    /// ```
    pub fn new(device_type: DeviceType) -> Self {
        Self {
            device_type,
            status: None,
            nickname: None,
            email: None,
            phone: None,
            extension: None,
            test_mode: None,
            notification: None,
            policy: None,
            rp: None,
            extra: Map::new(),
        }
    }

    /// The status the device is created with: the given one, else ACTIVATION_REQUIRED.
    pub fn effective_status(&self) -> DeviceStatus {
        self.status
            .clone()
            .unwrap_or(DeviceStatus::ActivationRequired)
    }

    /// Checks the body against PingOne's rules and reports every violation at once, as
    /// `INVALID_DATA` with one detail per problem (`target` is the property).
    ///
    /// Rules: `type` is one of [`CREATABLE_TYPES`] (MOBILE is refused: it is paired, not
    /// created); `status` is ACTIVE or ACTIVATION_REQUIRED (the crate's decision: absent means
    /// ACTIVATION_REQUIRED, see [`effective_status`](Self::effective_status)); EMAIL needs a
    /// well-formed `email` ([`is_valid_email`]); SMS/VOICE/WHATSAPP need a well-formed `phone`
    /// ([`is_valid_phone`]); `extension` only on VOICE and only digits, `,`, `#`, `*`; `nickname`
    /// at most 100 characters; `testMode` only on EMAIL/SMS/VOICE/WHATSAPP; `notification` only on
    /// EMAIL/SMS/VOICE created ACTIVATION_REQUIRED; `rp` only on FIDO2, with `rp.id` a lower-case
    /// domain name; properties of another type (e.g. `email` on SMS) are refused.
    ///
    /// ```
    /// use mfa_devices::device::{DeviceType, NewDevice};
    /// let mut b = NewDevice::new(DeviceType::Mobile);
    /// b.nickname = Some("x".repeat(101));
    /// let e = b.validate().unwrap_err();
    /// let targets: Vec<_> = e.details.iter().map(|d| d.target.as_deref().unwrap()).collect();
    /// assert_eq!(targets, ["type", "nickname"]);
    /// ```
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut details = Vec::new();
        let t = &self.device_type;
        let invalid = |target: &str, message: String| {
            ErrorDetail::new(DetailCode::InvalidValue, target, message)
        };

        if *t == DeviceType::Mobile {
            details.push(invalid(
                "type",
                "MOBILE devices cannot be created with POST; they are paired with a pairing key"
                    .into(),
            ));
        } else if !CREATABLE_TYPES.contains(t) {
            let allowed: Vec<Value> = CREATABLE_TYPES.iter().map(|c| c.as_str().into()).collect();
            details.push(
                invalid(
                    "type",
                    format!(
                        "'{}' is not a device type that can be created",
                        echo(t.as_str())
                    ),
                )
                .with_inner(inner::ALLOWED_VALUES, allowed),
            );
        }

        if let Some(status) = &self.status {
            if !matches!(
                status,
                DeviceStatus::Active | DeviceStatus::ActivationRequired
            ) {
                details.push(
                    invalid(
                        "status",
                        format!("'{}' is not a valid status", echo(status.as_str())),
                    )
                    .with_inner(inner::ALLOWED_VALUES, vec!["ACTIVE", "ACTIVATION_REQUIRED"]),
                );
            }
        }

        if let Some(nickname) = &self.nickname {
            if has_control_characters(nickname) {
                details.push(ErrorDetail::new(
                    DetailCode::InvalidValue,
                    "nickname",
                    "nickname must not contain control characters (U+0000–U+001F, U+007F–U+009F)",
                ));
            }
            let chars = nickname.chars().count();
            if chars > MAX_NICKNAME_CHARS {
                details.push(
                    ErrorDetail::new(
                        DetailCode::SizeLimitExceeded,
                        "nickname",
                        format!(
                            "nickname has {chars} characters; at most {MAX_NICKNAME_CHARS} are allowed"
                        ),
                    )
                    .with_inner(inner::MAXIMUM_VALUE, MAX_NICKNAME_CHARS),
                );
            }
        }

        match (&self.email, *t == DeviceType::Email) {
            (None, true) => details.push(ErrorDetail::new(
                DetailCode::RequiredValue,
                "email",
                "email is required for EMAIL devices",
            )),
            (Some(email), true) if !is_valid_email(email) => details.push(invalid(
                "email",
                format!("'{}' is not a valid email address", echo(email)),
            )),
            (Some(_), false) => details.push(invalid(
                "email",
                format!("email is only valid for EMAIL devices, not {t}"),
            )),
            _ => {}
        }

        match (&self.phone, t.is_phone()) {
            (None, true) => details.push(ErrorDetail::new(
                DetailCode::RequiredValue,
                "phone",
                format!("phone is required for {t} devices"),
            )),
            (Some(phone), true) if !is_valid_phone(phone) => details.push(
                invalid(
                    "phone",
                    format!(
                        "'{}' is not a valid phone number: '+', a 1-3 digit country code and a 4-14 digit number",
                        echo(phone)
                    ),
                )
                .with_inner(inner::ALLOWED_PATTERN, PHONE_PATTERN),
            ),
            (Some(_), false) => details.push(invalid(
                "phone",
                format!("phone is only valid for SMS, VOICE and WHATSAPP devices, not {t}"),
            )),
            _ => {}
        }

        if let Some(ext) = &self.extension {
            if *t != DeviceType::Voice {
                details.push(invalid(
                    "extension",
                    format!("extension is only valid for VOICE devices, not {t}"),
                ));
            } else if ext.is_empty()
                || !ext.chars().all(|c| c.is_ascii_digit() || ",#*".contains(c))
            {
                details.push(
                    invalid(
                        "extension",
                        format!(
                            "'{}' is not a valid extension: only digits, ',', '#' and '*'",
                            echo(ext)
                        ),
                    )
                    .with_inner(inner::ALLOWED_PATTERN, "^[0-9,#*]+$"),
                );
            }
        }

        if self.test_mode.is_some() && !(*t == DeviceType::Email || t.is_phone()) {
            details.push(invalid(
                "testMode",
                format!(
                    "testMode is only valid for EMAIL, SMS, VOICE and WHATSAPP devices, not {t}"
                ),
            ));
        }

        if self.notification.is_some() {
            if !matches!(t, DeviceType::Email | DeviceType::Sms | DeviceType::Voice) {
                details.push(invalid(
                    "notification",
                    format!("notification is only valid for EMAIL, SMS and VOICE devices, not {t}"),
                ));
            } else if self.effective_status() != DeviceStatus::ActivationRequired {
                details.push(ErrorDetail::new(
                    DetailCode::ConstraintViolation,
                    "notification",
                    "notification requires the device to be created with status ACTIVATION_REQUIRED",
                ));
            }
        }

        if let Some(rp) = &self.rp {
            if *t != DeviceType::Fido2 {
                details.push(invalid(
                    "rp",
                    format!("rp is only valid for FIDO2 devices, not {t}"),
                ));
            } else if let Some(id) = &rp.id {
                if !is_valid_rp_id(id) {
                    details.push(invalid(
                        "rp.id",
                        format!("'{}' is not a lower-case domain name", echo(id)),
                    ));
                }
            }
        }

        if details.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_data(VALIDATION_MESSAGE, details))
        }
    }
}

/// The phone rule as a pattern, for `innerError.allowedPattern` (separators removed first).
const PHONE_PATTERN: &str = "^\\+[0-9]{5,17}$";

/// Whether `phone` is a well-formed phone number: `+`, a 1–3 digit country code and a 4–14
/// digit number, i.e. `+` then 5–17 digits. PingOne also accepts the same number written with
/// `.`, spaces, `-` and parentheses between the digits; so does this check (the crate's
/// decision), and the text is kept as given.
///
/// ```
/// use mfa_devices::device::is_valid_phone;
/// assert!(is_valid_phone("+11235557890"));
/// assert!(is_valid_phone("+972.547339044"));
/// assert!(is_valid_phone("+1 (512) 555-1234"));
/// assert!(!is_valid_phone("11235557890"));      // no '+'
/// assert!(!is_valid_phone("+1234"));            // too short
/// assert!(!is_valid_phone("+1 512 555 12a4"));  // a letter
/// assert!(!is_valid_phone("+1 ((512)) 555-1234")); // nested parentheses
/// assert!(!is_valid_phone("+1 (512 555-1234"));  // unbalanced
/// assert!(!is_valid_phone("+1 (512) (555) 1234")); // more than one group
/// ```
///
/// Parentheses (decision): at most one pair, balanced, not nested, around at least one digit
/// (the area code), as in `+1 (512) 555-1234`.
pub fn is_valid_phone(phone: &str) -> bool {
    let Some(rest) = phone.strip_prefix('+') else {
        return false;
    };
    let mut digits = 0usize;
    let mut open: Option<usize> = None;
    let mut groups = 0usize;
    for (i, c) in rest.chars().enumerate() {
        match c {
            '0'..='9' => digits += 1,
            // A number starts with a digit (or an opening parenthesis around the area code).
            '.' | ' ' | '-' if i > 0 => {}
            '(' if open.is_none() && groups == 0 => open = Some(digits),
            ')' => match open.take() {
                Some(before) if digits > before => groups += 1,
                _ => return false,
            },
            _ => return false,
        }
    }
    open.is_none() && (5..=17).contains(&digits)
}

/// Whether `text` holds a control character (Unicode `Cc`: U+0000–U+001F, U+007F–U+009F —
/// NUL, ESC, tab, line breaks, DEL, C1 controls), which a nickname must not: it is a one-line
/// label shown in UIs, logs and terminals.
///
/// ```
/// use mfa_devices::device::has_control_characters;
/// assert!(has_control_characters("my\u{1b}[2Jphone"));
/// assert!(has_control_characters("a\0b"));
/// assert!(!has_control_characters("Work phone 📱"));
/// ```
pub fn has_control_characters(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Whether `email` is a well-formed address: one `@`; a local part of 1–64 characters without
/// spaces, controls, `@`, `<`, `>`, `(`, `)`, `[`, `]`, `,`, `;`, `:`, `\`, `"`, not starting or
/// ending with `.` nor holding `..`; a domain of at least two dot-separated labels of letters,
/// digits and `-` (not at either end of a label), at most 253 characters.
///
/// ```
/// use mfa_devices::device::is_valid_email;
/// assert!(is_valid_email("john@pingidentity.com"));
/// assert!(is_valid_email("first.last+tag@mail.example.co.uk"));
/// assert!(!is_valid_email("john@localhost"));
/// assert!(!is_valid_email("john@@example.com"));
/// assert!(!is_valid_email("jo hn@example.com"));
/// assert!(!is_valid_email("a@1.2"));  // an all-numeric top-level label is not a domain
/// ```
///
/// Decision: the last label of the domain must not be all digits (no top-level domain is;
/// RFC 3696 §2), so IPv4-looking domains such as `1.2` or `10.0.0.1` are refused.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"@<>()[],;:\\\"".contains(c));
    let tld_ok = domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && is_domain(domain, false) && domain.contains('.') && tld_ok
}

/// Whether `id` is a valid WebAuthn relying party id: a lower-case domain name (one or more
/// labels, e.g. `example.com`, `login.acme.com`, `localhost`).
///
/// ```
/// use mfa_devices::device::is_valid_rp_id;
/// assert!(is_valid_rp_id("pingone.eu"));
/// assert!(!is_valid_rp_id("PingOne.eu"));
/// assert!(!is_valid_rp_id("https://pingone.eu"));
/// ```
pub fn is_valid_rp_id(id: &str) -> bool {
    is_domain(id, true)
}

fn is_domain(domain: &str, lower_only: bool) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| {
                    c.is_ascii_digit()
                        || c == '-'
                        || c.is_ascii_lowercase()
                        || (!lower_only && c.is_ascii_uppercase())
                })
        })
}
