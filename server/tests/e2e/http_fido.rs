//! FIDO2 over HTTP on both databases, with real cryptography: a software authenticator (the
//! testkit's) registers a FIDO2 device (create → `publicKeyCredentialCreationOptions` →
//! activate with the attestation) and authenticates (ASSERTION_REQUIRED with
//! `publicKeyCredentialRequestOptions` → `assertion.check` → COMPLETED); wrong signature,
//! challenge, origin and a replayed signature count are refused, counted, and lock the device
//! at the policy's failure count; the stored log replays to the snapshot.

use mfa_devices::authn::ASSERTION_CHECK_MEDIA_TYPE;
use mfa_devices::device::DeviceDetails;
use mfa_devices::user_devices::DEVICE_ACTIVATE_MEDIA_TYPE;
use mfa_devices_testkit::webauthn::{SoftwareAuthenticator, challenge_and_rp_id};
use serde_json::{Value, json};

use crate::common::{ENV_A, TOKEN_A, TestServer, databases, send, snapshot_and_replay};

const USER: &str = "f1d00000-0000-4000-8000-0000000000f1";

async fn start_flow(server: &TestServer) -> (String, Value) {
    let flows = format!("{}/{ENV_A}/deviceAuthentications", server.base);
    let (status, flow) = send(
        server
            .client
            .post(&flows)
            .bearer_auth(TOKEN_A)
            .json(&json!({"user": {"id": USER}})),
    )
    .await;
    assert_eq!(status, 201, "{flow}");
    (format!("{flows}/{}", flow["id"].as_str().unwrap()), flow)
}

#[tokio::test]
async fn fido2_register_authenticate_and_lock() {
    for db in databases("http_fido") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let origin = server.base.clone(); // http://127.0.0.1:PORT: the rp id is its host
        let devices = server.devices_url(ENV_A, USER);

        // fido2.failure: 4 failures lock the device for 2 minutes.
        let policies = format!(
            "{}/v1/environments/{ENV_A}/deviceAuthenticationPolicies",
            server.base
        );
        let (_, list) = send(server.get(&policies)).await;
        let mut policy = list["_embedded"]["deviceAuthenticationPolicies"][0].clone();
        policy["fido2"] = json!({"enabled": true,
            "failure": {"count": 4, "coolDown": {"duration": 2, "timeUnit": "MINUTES"}}});
        let id = policy["id"].as_str().unwrap().to_owned();
        let (status, updated) = send(
            server
                .client
                .put(format!("{policies}/{id}"))
                .bearer_auth(TOKEN_A)
                .json(&policy),
        )
        .await;
        assert_eq!(status, 200, "{label}: {updated}");

        // Create: ACTIVATION_REQUIRED with the creation options for this server's rp id.
        let (status, device) = send(server.post(
            &devices,
            "application/json",
            &json!({"type": "FIDO2"}).to_string(),
        ))
        .await;
        assert_eq!(
            (status, device["status"].as_str()),
            (201, Some("ACTIVATION_REQUIRED")),
            "{label}: {device}"
        );
        assert_eq!(device["rp"]["id"], "127.0.0.1", "{label}: {device}");
        let options = device["publicKeyCredentialCreationOptions"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: {device}"))
            .to_owned();
        let device_url = format!("{devices}/{}", device["id"].as_str().unwrap());
        let activate =
            |body: Value| server.post(&device_url, DEVICE_ACTIVATE_MEDIA_TYPE, &body.to_string());

        // A wrong attestation (another challenge): 400, the device stays ACTIVATION_REQUIRED.
        let mut key = SoftwareAuthenticator::new(21);
        let (_, rp_id) = challenge_and_rp_id(&options);
        let wrong = key.register(&[0; 32], &rp_id, &origin).to_json();
        let (status, e) = send(activate(json!({"origin": origin, "attestation": wrong}))).await;
        assert_eq!(
            (status, e["details"][0]["target"].as_str()),
            (400, Some("attestation")),
            "{label}: {e}"
        );
        assert!(
            e["details"][0]["message"]
                .as_str()
                .unwrap()
                .contains("challenge"),
            "{label}: {e}"
        );
        // Without an attestation it is not activated either.
        let (status, e) = send(server.post(&device_url, DEVICE_ACTIVATE_MEDIA_TYPE, "")).await;
        assert_eq!(status, 400, "{label}: {e}");
        let (_, shown) = send(server.get(&device_url)).await;
        assert_eq!(shown["status"], "ACTIVATION_REQUIRED", "{label}: {shown}");

        // The right one: ACTIVE; the credential is stored, never shown.
        let attestation = key.register_options(&options, &origin).to_json();
        let (status, active) = send(activate(
            json!({"origin": origin, "attestation": attestation}),
        ))
        .await;
        assert_eq!(
            (status, active["status"].as_str()),
            (200, Some("ACTIVE")),
            "{label}: {active}"
        );
        assert!(
            !active.to_string().contains("credentialId"),
            "{label}: {active}"
        );
        let (_, listed) = send(server.get(&devices)).await;
        assert!(!listed.to_string().contains("credentialId"), "{label}");
        // Advanced Identity Cloud's webauthn list names the credential (the browser's `id`).
        let registered: Value = serde_json::from_str(&attestation).unwrap();
        let (status, crest) = send(server.get(&format!(
            "{}/am/json/realms/root/realms/{ENV_A}/users/{USER}/devices/2fa/webauthn?_queryFilter=true",
            server.base
        )))
        .await;
        assert_eq!(status, 200, "{label}: {crest}");
        assert_eq!(
            crest["result"][0]["credentialId"], registered["id"],
            "{label}: {crest}"
        );

        // Authenticate: ASSERTION_REQUIRED with request options → assertion.check → COMPLETED.
        let (flow_url, flow) = start_flow(&server).await;
        assert_eq!(flow["status"], "ASSERTION_REQUIRED", "{label}: {flow}");
        let request = flow["publicKeyCredentialRequestOptions"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: {flow}"))
            .to_owned();
        let first = key.assert_options(&request, &origin);
        let check = |url: &str, origin: &str, assertion: String| {
            server.post(
                url,
                ASSERTION_CHECK_MEDIA_TYPE,
                &json!({"origin": origin, "assertion": assertion}).to_string(),
            )
        };
        let (status, done) = send(check(&flow_url, &origin, first.to_json())).await;
        assert_eq!(
            (status, done["status"].as_str()),
            (200, Some("COMPLETED")),
            "{label}: {done}"
        );
        assert!(done.get("publicKeyCredentialRequestOptions").is_none());

        // A second flow: four refused assertions, each counted; the fourth locks the device.
        let (flow_url, flow) = start_flow(&server).await;
        let request = flow["publicKeyCredentialRequestOptions"]
            .as_str()
            .unwrap()
            .to_owned();
        let (challenge, rp_id) = challenge_and_rp_id(&request);
        let mut bad_signature = key.assert(&challenge, &rp_id, &origin);
        bad_signature.signature = key.sign(b"other data", b"{}");
        let wrong_challenge = key.assert(&[7; 32], &rp_id, &origin);
        let evil = "https://evil.example.net";
        let wrong_origin = key.assert(&challenge, &rp_id, evil);
        key.sign_count = 0; // a cloned authenticator: its counter is behind the stored one
        let replayed_count = key.assert(&challenge, &rp_id, &origin);
        let attempts = [
            (origin.as_str(), bad_signature.to_json(), "signature"),
            (origin.as_str(), wrong_challenge.to_json(), "challenge"),
            (evil, wrong_origin.to_json(), "origin"),
            (origin.as_str(), replayed_count.to_json(), "counter"),
        ];
        for (i, (from, assertion, what)) in attempts.into_iter().enumerate() {
            let (status, e) = send(check(&flow_url, from, assertion)).await;
            assert_eq!(status, 400, "{label}: {e}");
            let detail = &e["details"][0];
            assert!(
                detail["message"].as_str().unwrap().contains(what),
                "{label}: {what}: {e}"
            );
            if i < 3 {
                assert_eq!(
                    detail["innerError"]["remainingAttempts"],
                    3 - i,
                    "{label}: {e}"
                );
            } else {
                assert!(
                    detail["innerError"]["coolDownExpiresAt"].is_string(),
                    "{label}: {e}"
                );
            }
        }
        let (_, locked) = send(server.get(&device_url)).await;
        assert_eq!(locked["lock"]["status"], "LOCKED", "{label}: {locked}");
        let (_, failed) = send(server.get(&flow_url)).await;
        assert_eq!(failed["status"], "FAILED", "{label}: {failed}");
        assert_eq!(failed["error"]["code"], "NO_USABLE_DEVICES", "{label}");

        // The log (creation, activation with the credential, sign count, failures, lock)
        // replays to the snapshot.
        let (snapshot, replayed) = snapshot_and_replay(&*server.store, ENV_A, USER).await;
        assert_eq!(snapshot, replayed, "{label}");
        let id = device["id"].as_str().unwrap().parse().unwrap();
        let DeviceDetails::Fido2(stored) = &snapshot.device(&id).unwrap().details else {
            panic!("{label}: not FIDO2")
        };
        let credential = stored
            .credential
            .as_ref()
            .expect("the credential is stored");
        assert_eq!(
            (credential.sign_count, &credential.credential_id),
            (1, &key.credential_id),
            "{label}"
        );
        server.stop().await;
    }
}
