//! The allowed values of a device authentication policy and their check: PingOne's [Device
//! Authentication Policies](https://developer.pingidentity.com/pingone-api/mfa/device-authentication-policy.html) data model, and the crate's decisions where PingOne
//! publishes no range (marked "decision").

use serde_json::Value;

use super::{
    DeviceAuthenticationPolicy, DeviceSelection, FailureOnly, MobileApplicationPolicy,
    NewDeviceNotification, OtpFailurePolicy, OtpMethodPolicy, PolicyDuration, TimeUnit,
    VerificationLevel,
};
use crate::error::{ApiError, DetailCode, ErrorDetail, inner};

/// Allowed ranges of a duration, per unit; a unit not listed is not allowed for the field.
type UnitRanges = &'static [(TimeUnit, i64, i64)];

const FAILURE_COUNT: (i64, i64) = (1, 7);
const OTP_LENGTH: (i64, i64) = (6, 10);
const GRACE_PERIOD: (i64, i64) = (1, 10);
const PUSH_COUNT: (i64, i64) = (1, 50);
const NAME_CHARS: (i64, i64) = (1, 256);

/// SMS/email/voice/WhatsApp `coolDown` (decision: up to 30 min like the other methods).
const MESSAGE_COOL_DOWN: UnitRanges = &[(TimeUnit::Minutes, 0, 30), (TimeUnit::Seconds, 0, 1800)];
/// SMS/email/voice/WhatsApp `lifeTime` (decision: 1 s … 30 min).
const MESSAGE_LIFE_TIME: UnitRanges = &[(TimeUnit::Minutes, 1, 30), (TimeUnit::Seconds, 1, 1800)];
/// Mobile/TOTP/FIDO2 `coolDown`.
const LOCKING_COOL_DOWN: UnitRanges = &[(TimeUnit::Minutes, 2, 30), (TimeUnit::Seconds, 120, 1800)];
const PUSH_TIMEOUT: UnitRanges = &[(TimeUnit::Seconds, 40, 150)];
/// `pushLimit.timePeriod` and `lockDuration`: 1–120 min (decision: 60–7,200 in SECONDS).
const PUSH_WINDOW: UnitRanges = &[(TimeUnit::Minutes, 1, 120), (TimeUnit::Seconds, 60, 7200)];
const PAIRING_KEY_LIFETIME: UnitRanges = &[(TimeUnit::Minutes, 1, 2880), (TimeUnit::Hours, 1, 48)];
const REMEMBER_ME_LIFE_TIME: UnitRanges = &[
    (TimeUnit::Minutes, 1, 129_600),
    (TimeUnit::Hours, 1, 2160),
    (TimeUnit::Days, 1, 90),
];

const MESSAGE: &str =
    "The request could not be completed. One or more validation errors were in the request.";

/// Collects one detail per violation.
#[derive(Default)]
struct Checker {
    details: Vec<ErrorDetail>,
}

impl Checker {
    fn range(&mut self, path: &str, value: i64, (min, max): (i64, i64)) {
        if value < min || value > max {
            self.details.push(out_of_range(
                path,
                format!("{path} must be between {min} and {max}; got {value}"),
                min,
                max,
            ));
        }
    }

    fn opt_range(&mut self, path: &str, value: Option<i64>, bounds: (i64, i64)) {
        if let Some(v) = value {
            self.range(path, v, bounds);
        }
    }

    fn duration(&mut self, path: &str, d: &PolicyDuration, allowed: UnitRanges) {
        match allowed.iter().find(|(unit, _, _)| *unit == d.time_unit) {
            Some((unit, min, max)) => {
                if d.duration < *min || d.duration > *max {
                    let target = format!("{path}.duration");
                    let message = format!(
                        "{target} must be between {min} and {max} {unit}; got {}",
                        d.duration
                    );
                    self.details
                        .push(out_of_range(&target, message, *min, *max));
                }
            }
            None => {
                let units: Vec<&str> = allowed.iter().map(|(u, _, _)| u.as_str()).collect();
                let target = format!("{path}.timeUnit");
                let message = format!(
                    "{target} '{}' is not allowed here; allowed: {}",
                    d.time_unit,
                    units.join(", ")
                );
                self.details.push(invalid_value(&target, message, &units));
            }
        }
    }

    fn opt_duration(&mut self, path: &str, d: Option<&PolicyDuration>, allowed: UnitRanges) {
        if let Some(d) = d {
            self.duration(path, d, allowed);
        }
    }

    fn known(&mut self, path: &str, value: &str, is_known: bool, allowed: &[&str]) {
        if !is_known {
            let message = format!(
                "{path} '{value}' is not allowed; allowed: {}",
                allowed.join(", ")
            );
            self.details.push(invalid_value(path, message, allowed));
        }
    }

    fn failure(&mut self, path: &str, f: Option<&OtpFailurePolicy>, cool_down: UnitRanges) {
        if let Some(f) = f {
            self.range(&format!("{path}.count"), f.count, FAILURE_COUNT);
            self.duration(&format!("{path}.coolDown"), &f.cool_down, cool_down);
        }
    }

    fn failure_only(&mut self, path: &str, otp: Option<&FailureOnly>) {
        if let Some(otp) = otp {
            self.failure(
                &format!("{path}.failure"),
                otp.failure.as_ref(),
                LOCKING_COOL_DOWN,
            );
        }
    }

    fn message_method(&mut self, path: &str, method: Option<&OtpMethodPolicy>) {
        let Some(otp) = method.and_then(|m| m.otp.as_ref()) else {
            return;
        };
        self.failure(
            &format!("{path}.otp.failure"),
            otp.failure.as_ref(),
            MESSAGE_COOL_DOWN,
        );
        self.opt_duration(
            &format!("{path}.otp.lifeTime"),
            otp.life_time.as_ref(),
            MESSAGE_LIFE_TIME,
        );
        self.opt_range(&format!("{path}.otp.otpLength"), otp.otp_length, OTP_LENGTH);
    }

    fn application(&mut self, path: &str, app: &MobileApplicationPolicy) {
        if let Some(level) = app
            .device_authorization
            .as_ref()
            .and_then(|d| d.extra_verification.as_ref())
        {
            self.verification(
                &format!("{path}.deviceAuthorization.extraVerification"),
                level,
            );
        }
        self.opt_duration(
            &format!("{path}.pushTimeout"),
            app.push_timeout.as_ref(),
            PUSH_TIMEOUT,
        );
        self.opt_duration(
            &format!("{path}.pairingKeyLifetime"),
            app.pairing_key_lifetime.as_ref(),
            PAIRING_KEY_LIFETIME,
        );
        if let Some(limit) = &app.push_limit {
            self.opt_range(&format!("{path}.pushLimit.count"), limit.count, PUSH_COUNT);
            self.opt_duration(
                &format!("{path}.pushLimit.timePeriod"),
                limit.time_period.as_ref(),
                PUSH_WINDOW,
            );
            self.opt_duration(
                &format!("{path}.pushLimit.lockDuration"),
                limit.lock_duration.as_ref(),
                PUSH_WINDOW,
            );
        }
        if let Some(level) = &app.integrity_detection {
            self.verification(&format!("{path}.integrityDetection"), level);
        }
    }

    fn verification(&mut self, path: &str, level: &VerificationLevel) {
        self.known(
            path,
            level.as_str(),
            !matches!(level, VerificationLevel::Other(_)),
            &["permissive", "restrictive"],
        );
    }
}

fn out_of_range(target: &str, message: String, min: i64, max: i64) -> ErrorDetail {
    ErrorDetail::new(DetailCode::OutOfRange, target, message)
        .with_inner(inner::RANGE_MINIMUM_VALUE, min)
        .with_inner(inner::RANGE_MAXIMUM_VALUE, max)
}

fn invalid_value(target: &str, message: String, allowed: &[&str]) -> ErrorDetail {
    let allowed: Vec<Value> = allowed.iter().map(|s| Value::from(*s)).collect();
    ErrorDetail::new(DetailCode::InvalidValue, target, message)
        .with_inner(inner::ALLOWED_VALUES, allowed)
}

impl DeviceAuthenticationPolicy {
    /// Checks the policy against PingOne's allowed values and reports every violation at once.
    ///
    /// The error is `INVALID_DATA` (HTTP 400) with one detail per violation, in document order:
    /// `OUT_OF_RANGE` (with `innerError.rangeMinimumValue`/`rangeMaximumValue`, in the unit
    /// given) or `INVALID_VALUE` (an enum value or a `timeUnit` not allowed here, with
    /// `innerError.allowedValues`); `target` is the JSON path. Absent properties are not checked.
    ///
    /// | JSON path | allowed |
    /// |---|---|
    /// | `{sms,voice,email,whatsApp}.otp.failure.count`, `{mobile,totp}.otp.failure.count`, `fido2.failure.count` | 1–7 |
    /// | `{sms,voice,email,whatsApp}.otp.failure.coolDown` | 0–30 MINUTES, 0–1800 SECONDS |
    /// | `{sms,voice,email,whatsApp}.otp.lifeTime` | 1–30 MINUTES, 1–1800 SECONDS |
    /// | `{sms,voice,email,whatsApp}.otp.otpLength` | 6–10 |
    /// | `{mobile,totp}.otp.failure.coolDown`, `fido2.failure.coolDown` | 2–30 MINUTES, 120–1800 SECONDS |
    /// | `totp.passcodeGracePeriod` | 1–10 |
    /// | `mobile.applications[i].pushTimeout` | 40–150 SECONDS |
    /// | `mobile.applications[i].pushLimit.count` | 1–50 |
    /// | `mobile.applications[i].pushLimit.{timePeriod,lockDuration}` | 1–120 MINUTES, 60–7200 SECONDS |
    /// | `mobile.applications[i].pairingKeyLifetime` | 1–2880 MINUTES, 1–48 HOURS |
    /// | `rememberMe.web.lifeTime` | 1–129600 MINUTES, 1–2160 HOURS, 1–90 DAYS |
    /// | `name` | 1–256 characters (reported as `OUT_OF_RANGE`) |
    /// | `authentication.deviceSelection`, `newDeviceNotification`, `integrityDetection`, `extraVerification` | the known values |
    ///
    /// Decisions: a range published only in minutes (push limit window and lock) is the same
    /// span in seconds; the SMS/email/voice cool-down's upper bound is 30 minutes.
    ///
    /// ```
    /// use mfa_devices::policy::{DeviceAuthenticationPolicy, PolicyDuration, MobileApplicationPolicy};
    /// let mut p = DeviceAuthenticationPolicy::default();
    /// let mut app = MobileApplicationPolicy::default();
    /// let limit = app.push_limit.as_mut().unwrap();
    /// limit.lock_duration = Some(PolicyDuration::seconds(7_200));
    /// p.mobile.as_mut().unwrap().applications = Some(vec![app.clone()]);
    /// assert!(p.validate().is_ok());
    ///
    /// let limit = app.push_limit.as_mut().unwrap();
    /// limit.lock_duration = Some(PolicyDuration::seconds(7_201));
    /// limit.count = Some(0);
    /// p.mobile.as_mut().unwrap().applications = Some(vec![app]);
    /// let err = p.validate().unwrap_err();
    /// let targets: Vec<_> = err.details.iter().map(|d| d.target.clone().unwrap()).collect();
    /// assert_eq!(targets, [
    ///     "mobile.applications[0].pushLimit.count",
    ///     "mobile.applications[0].pushLimit.lockDuration.duration",
    /// ]);
    /// assert_eq!(err.details[1].inner_error.as_ref().unwrap()["rangeMaximumValue"], 7_200);
    /// ```
    pub fn validate(&self) -> Result<(), ApiError> {
        let details = self.violations();
        if details.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_data(MESSAGE, details))
        }
    }

    /// The violations [`validate`](Self::validate) reports, as a list (empty when valid).
    ///
    /// ```
    /// use mfa_devices::policy::DeviceAuthenticationPolicy;
    /// let mut p = DeviceAuthenticationPolicy::default();
    /// p.name = Some(String::new());
    /// assert_eq!(p.violations()[0].target.as_deref(), Some("name"));
    /// ```
    pub fn violations(&self) -> Vec<ErrorDetail> {
        let mut c = Checker::default();
        if let Some(name) = &self.name {
            let chars = i64::try_from(name.chars().count()).unwrap_or(i64::MAX);
            if chars < NAME_CHARS.0 || chars > NAME_CHARS.1 {
                c.details.push(out_of_range(
                    "name",
                    format!("name must be 1 to 256 characters long; it has {chars}"),
                    NAME_CHARS.0,
                    NAME_CHARS.1,
                ));
            }
        }
        if let Some(sel) = self
            .authentication
            .as_ref()
            .and_then(|a| a.device_selection.as_ref())
        {
            c.known(
                "authentication.deviceSelection",
                sel.as_str(),
                !matches!(sel, DeviceSelection::Other(_)),
                &[
                    "DEFAULT_TO_FIRST",
                    "PROMPT_TO_SELECT",
                    "ALWAYS_DISPLAY_DEVICES",
                ],
            );
        }
        if let Some(n) = &self.new_device_notification {
            c.known(
                "newDeviceNotification",
                n.as_str(),
                !matches!(n, NewDeviceNotification::Other(_)),
                &["NONE", "EMAIL_THEN_SMS", "SMS_THEN_EMAIL"],
            );
        }
        c.message_method("sms", self.sms.as_ref());
        c.message_method("email", self.email.as_ref());
        if let Some(mobile) = &self.mobile {
            c.failure_only("mobile.otp", mobile.otp.as_ref());
            for (i, app) in mobile.applications.iter().flatten().enumerate() {
                c.application(&format!("mobile.applications[{i}]"), app);
            }
        }
        if let Some(totp) = &self.totp {
            c.failure_only("totp.otp", totp.otp.as_ref());
            c.opt_range(
                "totp.passcodeGracePeriod",
                totp.passcode_grace_period,
                GRACE_PERIOD,
            );
        }
        c.message_method("voice", self.voice.as_ref());
        c.message_method("whatsApp", self.whats_app.as_ref());
        if let Some(fido2) = &self.fido2 {
            c.failure("fido2.failure", fido2.failure.as_ref(), LOCKING_COOL_DOWN);
        }
        if let Some(web) = self.remember_me.as_ref().and_then(|r| r.web.as_ref()) {
            c.opt_duration(
                "rememberMe.web.lifeTime",
                web.life_time.as_ref(),
                REMEMBER_ME_LIFE_TIME,
            );
        }
        c.details
    }
}
