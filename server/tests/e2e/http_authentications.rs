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
