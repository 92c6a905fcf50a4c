//! deviceAuthentications over HTTP on both databases (seed 004): OTP_REQUIRED → otp.check →
//! COMPLETED, and the lock after the policy's failure count, seen through the devices API.

use mfa_devices::authn::{DEVICE_SELECT_MEDIA_TYPE, OTP_CHECK_MEDIA_TYPE};
use serde_json::{Value, json};

use crate::common::{ENV_A, ENV_B, TOKEN_A, TOKEN_B, TestServer, databases, send};

const USER: &str = "e0000000-0000-4000-8000-0000000000e1";

async fn email_device(server: &TestServer, address: &str) -> String {
    let (status, device) = send(
        server.post(
            &server.devices_url(ENV_A, USER),
            "application/json",
            &json!({"type": "EMAIL", "email": address, "status": "ACTIVE", "testMode": true})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(status, 201, "{device}");
    device["id"].as_str().unwrap().to_owned()
}

fn otp(flow: &Value) -> String {
    flow["test"]["otp"]
        .as_str()
        .unwrap_or_else(|| panic!("test.otp in {flow}"))
        .to_owned()
}

#[tokio::test]
async fn select_check_complete_and_lock() {
    for db in databases("http_authn") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let first = email_device(&server, "first@example.com").await;
        let second = email_device(&server, "second@example.com").await;

        // The default policy, made stricter: 2 failures lock EMAIL devices for 2 minutes.
        let policies = format!(
            "{}/v1/environments/{ENV_A}/deviceAuthenticationPolicies",
            server.base
        );
        let (_, list) = send(server.get(&policies)).await;
        let mut policy = list["_embedded"]["deviceAuthenticationPolicies"][0].clone();
        policy["email"]["otp"]["failure"] =
            json!({"count": 2, "coolDown": {"duration": 2, "timeUnit": "MINUTES"}});
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

        // Start: the default device is used, a passcode is issued (test mode: in the body).
        let flows = format!("{}/{ENV_A}/deviceAuthentications", server.base);
        let (status, flow) = send(
            server
                .client
                .post(&flows)
                .bearer_auth(TOKEN_A)
                .json(&json!({"user": {"id": USER}})),
        )
        .await;
        assert_eq!(
            (status, flow["status"].as_str()),
            (201, Some("OTP_REQUIRED")),
            "{label}: {flow}"
        );
        assert_eq!(
            flow["selectedDevice"]["id"].as_str(),
            Some(first.as_str()),
            "{label}"
        );
        let flow_url = format!("{flows}/{}", flow["id"].as_str().unwrap());
        let right = otp(&flow);
        let wrong = if right == "000000" {
            "111111"
        } else {
            "000000"
        };

        // Another environment's token cannot see it.
        let other = format!(
            "{}/{ENV_B}/deviceAuthentications/{}",
            server.base,
            flow["id"].as_str().unwrap()
        );
        assert_eq!(
            send(server.client.get(&other).bearer_auth(TOKEN_B)).await.0,
            404,
            "{label}"
        );
        assert_eq!(
            send(server.client.get(&flow_url).bearer_auth(TOKEN_B))
                .await
                .0,
            403,
            "{label}"
        );

        let check = |code: &str| {
            server.post(
                &flow_url,
                OTP_CHECK_MEDIA_TYPE,
                &json!({"otp": code}).to_string(),
            )
        };
        let (status, e) = send(check(wrong)).await;
        assert_eq!(
            (status, e["details"][0]["code"].as_str()),
            (400, Some("INVALID_OTP")),
            "{label}: {e}"
        );
        let (status, e) = send(check(wrong)).await;
        assert_eq!(status, 400, "{label}: {e}");
        // The second failure locked the device, in the devices API too.
        let (_, device) =
            send(server.get(&format!("{}/{first}", server.devices_url(ENV_A, USER)))).await;
        assert_eq!(
            device["lock"]["status"].as_str(),
            Some("LOCKED"),
            "{label}: {device}"
        );
        let (_, flow) = send(server.get(&flow_url)).await;
        assert_eq!(
            flow["status"].as_str(),
            Some("DEVICE_SELECTION_REQUIRED"),
            "{label}: {flow}"
        );

        // Select the other device, check its passcode: COMPLETED.
        let (status, flow) = send(server.post(
            &flow_url,
            DEVICE_SELECT_MEDIA_TYPE,
            &json!({"device": {"id": second}}).to_string(),
        ))
        .await;
        assert_eq!(
            (status, flow["status"].as_str()),
            (200, Some("OTP_REQUIRED")),
            "{label}: {flow}"
        );
        let (status, flow) = send(check(&otp(&flow))).await;
        assert_eq!(
            (status, flow["status"].as_str()),
            (200, Some("COMPLETED")),
            "{label}: {flow}"
        );
        let (_, stored) = send(server.get(&flow_url)).await;
        assert_eq!(
            stored["status"].as_str(),
            Some("COMPLETED"),
            "{label}: the flow round-trips through the store"
        );

        // A flow for a user without devices fails with NO_USABLE_DEVICES.
        let (status, flow) = send(
            server
                .client
                .post(&flows)
                .bearer_auth(TOKEN_A)
                .json(&json!({"user": {"id": "e0000000-0000-4000-8000-0000000000e2"}})),
        )
        .await;
        assert_eq!(
            (status, flow["status"].as_str()),
            (201, Some("FAILED")),
            "{label}: {flow}"
        );
        // user.id is required.
        let (status, e) = send(
            server
                .client
                .post(&flows)
                .bearer_auth(TOKEN_A)
                .json(&json!({})),
        )
        .await;
        assert_eq!(
            (status, e["details"][0]["target"].as_str()),
            (400, Some("user.id")),
            "{label}: {e}"
        );
        server.stop().await;
    }
}

/// RFC 4648 base32 without padding (what a TOTP device's `secret` is written in).
fn base32(text: &str) -> Vec<u8> {
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        value = (value << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn the_creation_body_is_the_crates_and_totp_is_verified_by_the_server() {
    use mfa_devices::otp::{Algorithm, Totp};
    use mfa_devices::user_devices::DEVICE_ACTIVATE_MEDIA_TYPE;
    const USER: &str = "e0000000-0000-4000-8000-0000000000e3";
    for db in databases("http_authn_create") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let devices = server.devices_url(ENV_A, USER);
        let flows = format!("{}/{ENV_A}/deviceAuthentications", server.base);
        let start = |body: Value| server.client.post(&flows).bearer_auth(TOKEN_A).json(&body);

        // A TOTP device (the default: created first), activated with a code of its secret.
        let (status, totp) =
            send(server.post(&devices, "application/json", r#"{"type":"TOTP"}"#)).await;
        assert_eq!(status, 201, "{label}: {totp}");
        let totp_id = totp["id"].as_str().unwrap().to_owned();
        let engine = Totp::new(
            base32(totp["secret"].as_str().unwrap_or_else(|| panic!("{totp}"))),
            Algorithm::Sha1,
            6,
            30,
        )
        .unwrap();
        let t = unix_now();
        let activation = engine.code_at(t);
        let (status, activated) = send(server.post(
            &format!("{devices}/{totp_id}"),
            DEVICE_ACTIVATE_MEDIA_TYPE,
            &json!({ "otp": activation }).to_string(),
        ))
        .await;
        assert_eq!(status, 200, "{label}: {activated}");
        let email = {
            let (status, d) = send(server.post(
                &devices,
                "application/json",
                &json!({"type": "EMAIL", "email": "third@example.com", "status": "ACTIVE", "testMode": true})
                    .to_string(),
            ))
            .await;
            assert_eq!(status, 201, "{label}: {d}");
            d["id"].as_str().unwrap().to_owned()
        };

        // selectedDevice.id: that device right away (not the default TOTP device).
        let (status, flow) = send(start(
            json!({"user": {"id": USER}, "selectedDevice": {"id": email}}),
        ))
        .await;
        assert_eq!(
            (
                status,
                flow["status"].as_str(),
                flow["selectedDevice"]["id"].as_str()
            ),
            (201, Some("OTP_REQUIRED"), Some(email.as_str())),
            "{label}: {flow}"
        );
        assert!(flow["test"]["otp"].is_string(), "{label}: {flow}");

        // A bad body: 400 naming the property.
        for (body, target) in [
            (
                json!({"user": {"id": USER}, "selectedDevice": {"oneTime": {"type": "SMS", "phone": "555"}}}),
                "selectedDevice.oneTime.phone",
            ),
            (
                json!({"user": {"id": USER}, "selectedDevice": {"id": "not-a-uuid"}}),
                "selectedDevice.id",
            ),
            (
                json!({"user": {"id": USER}, "compatibility": "full"}),
                "compatibility",
            ),
            (
                json!({"user": {"id": USER}, "selectedDevice": {"id": "e0000000-0000-4000-8000-00000000dead"}}),
                "selectedDevice.id",
            ),
            (json!({"user": {"id": 12}}), "user.id"),
        ] {
            let (status, e) = send(start(body.clone())).await;
            assert_eq!(
                (
                    status,
                    e["code"].as_str(),
                    e["details"][0]["target"].as_str()
                ),
                (400, Some("INVALID_DATA"), Some(target)),
                "{label}: {body} → {e}"
            );
        }
        let (status, e) = send(server.post(
            &flows,
            "application/json",
            &format!(r#"{{"user":{{"id":"{USER}"}},"user":{{"id":"{USER}"}}}}"#),
        ))
        .await;
        assert_eq!(
            (status, e["details"][0]["target"].as_str()),
            (400, Some("user")),
            "{label}: {e}"
        );

        // The default TOTP device: the server verifies codes against the stored secret.
        let (status, flow) = send(start(json!({"user": {"id": USER}}))).await;
        assert_eq!(
            (
                status,
                flow["status"].as_str(),
                flow["selectedDevice"]["id"].as_str()
            ),
            (201, Some("OTP_REQUIRED"), Some(totp_id.as_str())),
            "{label}: {flow}"
        );
        let flow_url = format!("{flows}/{}", flow["id"].as_str().unwrap());
        let check = |code: &str| {
            server.post(
                &flow_url,
                OTP_CHECK_MEDIA_TYPE,
                &json!({"otp": code}).to_string(),
            )
        };
        let next = engine.code_at(t + 30);
        let wrong = if next == "123456" || activation == "123456" {
            "654321"
        } else {
            "123456"
        };
        for (code, what) in [
            (wrong, "a wrong code"),
            (activation.as_str(), "the activation's code, replayed"),
        ] {
            let (status, e) = send(check(code)).await;
            assert_eq!(
                (status, e["details"][0]["code"].as_str()),
                (400, Some("INVALID_OTP")),
                "{label}: {what}: {e}"
            );
        }
        let (status, done) = send(check(&next)).await;
        assert_eq!(
            (status, done["status"].as_str()),
            (200, Some("COMPLETED")),
            "{label}: {done}"
        );
        // The accepted step is recorded on the device: the same code fails in a new flow.
        let (_, again) = send(start(json!({"user": {"id": USER}}))).await;
        let again_url = format!("{flows}/{}", again["id"].as_str().unwrap());
        let (status, e) = send(server.post(
            &again_url,
            OTP_CHECK_MEDIA_TYPE,
            &json!({"otp": next}).to_string(),
        ))
        .await;
        assert_eq!(
            (status, e["details"][0]["code"].as_str()),
            (400, Some("INVALID_OTP")),
            "{label}: {e}"
        );
        server.stop().await;
    }
}
