//! [`DeviceAuthenticationBody`]: the `deviceAuthentications/{id}` resource as PingOne writes it.

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::wire::{AuthenticationStatus, Compatibility, Embedded, FlowFailure};
use crate::api_base::ApiBase;
use crate::device::timestamp;
use crate::device::{DeviceId, EnvironmentId, IdRef, TestOtp, UserId};

/// The body of a device authentication (`deviceAuthentications/{id}`), exactly as PingOne
/// writes it: the resource a [`DeviceAuthentication`](super::DeviceAuthentication) shows
/// ([`DeviceAuthentication::body`](super::DeviceAuthentication::body)), and what a client or a
/// test reads from PingOne's JSON.
///
/// `serde` reads and writes it without `_links` (which [`to_json`](Self::to_json) renders from
/// the status and a base URL; `_links` is dropped when reading). Unknown properties are kept in
/// [`extra`](Self::extra). It is plain data: changing it changes no flow (a flow's body changes
/// only through the flow's actions).
///
/// ```
/// use mfa_devices::api_base::ApiBase;
/// use mfa_devices::authn::{AuthenticationStatus, DeviceAuthenticationBody};
/// let fixture: serde_json::Value = serde_json::from_str(include_str!(
///     concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/device_authentication_otp_required.json"))).unwrap();
/// let body: DeviceAuthenticationBody = serde_json::from_value(fixture.clone()).unwrap();
/// assert_eq!(body.status, AuthenticationStatus::OtpRequired);
/// assert_eq!(body.to_json(&ApiBase::new("https://auth.pingone.com")), fixture);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceAuthenticationBody {
    #[serde(rename = "_links", default, skip_serializing)]
    links_read: IgnoredAny,
    /// `_embedded`: the devices the user can choose from, in list order.
    #[serde(rename = "_embedded", default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<Embedded>,
    /// The flow's id.
    pub id: Uuid,
    /// `environment.id`.
    pub environment: IdRef<EnvironmentId>,
    /// The status.
    pub status: AuthenticationStatus,
    /// FAILED: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FlowFailure>,
    /// `policy.id`: the device authentication policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<IdRef<Uuid>>,
    /// `selectedDevice.id`: the device in use (in DEVICE_SELECTION_REQUIRED, the one last tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_device: Option<IdRef<DeviceId>>,
    /// `user.id`.
    pub user: IdRef<UserId>,
    /// The browser's WebAuthn capability, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<Compatibility>,
    /// ASSERTION_REQUIRED: the JSON (a string, as PingOne writes it) of the options for
    /// `navigator.credentials.get` — challenge, `rpId`, `allowCredentials` (the selected
    /// device's credential), `timeout`, `userVerification`
    /// ([`DeviceAuthentication::issue_assertion`](super::DeviceAuthentication::issue_assertion)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_credential_request_options: Option<String>,
    /// `test.otp`: the passcode sent to a test-mode device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<TestOtp>,
    /// When the flow started.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    /// Properties this crate does not model (`bypassAllowed`, `userBypassEnabled`,
    /// `aggregateFido2Devices`, `authenticators`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl DeviceAuthenticationBody {
    /// A body in DEVICE_SELECTION_REQUIRED with nothing selected yet (the flow's starting
    /// point).
    pub(crate) fn new(
        id: Uuid,
        environment: EnvironmentId,
        user: UserId,
        policy: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            links_read: IgnoredAny,
            embedded: None,
            id,
            environment: IdRef::new(environment),
            status: AuthenticationStatus::DeviceSelectionRequired,
            error: None,
            policy: policy.map(IdRef::new),
            selected_device: None,
            user: IdRef::new(user),
            compatibility: None,
            public_key_credential_request_options: None,
            test: None,
            created_at: now,
            updated_at: now,
            extra: Map::new(),
        }
    }

    /// The resource as PingOne returns it: `_links` for the status (all pointing at the flow,
    /// `{base}/{envID}/deviceAuthentications/{id}`), then the body.
    pub fn to_json(&self, base: &ApiBase) -> Value {
        let href = base.device_authentication(&self.environment.id, &self.id);
        let mut links = Map::new();
        for rel in self.status.link_relations() {
            let mut link = Map::new();
            link.insert("href".into(), Value::String(href.clone()));
            links.insert((*rel).to_owned(), Value::Object(link));
        }
        let mut out = Map::new();
        out.insert("_links".into(), Value::Object(links));
        if let Ok(Value::Object(body)) = serde_json::to_value(self) {
            out.extend(body);
        }
        Value::Object(out)
    }
}
