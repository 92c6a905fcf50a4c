//! Access, isolation between environments, body limit, transaction id.

use serde_json::json;

use crate::common::{ENV_A, ENV_B, TOKEN_A, TOKEN_B, TestServer, databases, send};

const USER: &str = "d0000000-0000-4000-8000-0000000000d1";

#[tokio::test]
async fn tokens_environments_limits_and_transaction_ids() {
    for db in databases("http_security") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let url_a = server.devices_url(ENV_A, USER);
        let body = json!({"type": "SMS", "phone": "+15125551234", "status": "ACTIVE"}).to_string();

        let (status, e) = send(server.client.get(&url_a)).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (401, Some("ACCESS_FAILED")),
            "{label}: {e}"
        );
        assert!(e["id"].is_string());
        let (status, _) = send(server.client.get(&url_a).bearer_auth("nope")).await;
        assert_eq!(status, 401, "{label}");
        let (status, e) = send(server.client.get(&url_a).bearer_auth(TOKEN_B)).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (403, Some("ACCESS_FAILED")),
            "{label}"
        );
        let policies_a = format!(
            "{}/v1/environments/{ENV_A}/deviceAuthenticationPolicies",
            server.base
        );
        assert_eq!(
            send(server.client.get(&policies_a).bearer_auth(TOKEN_B))
                .await
                .0,
            403,
            "{label}"
        );
        // Unknown routes also need a token.
        assert_eq!(
            send(server.client.get(format!("{}/v1/nothing", server.base)))
                .await
                .0,
            401
        );

        // Environment B's user of the same id is another user: no data crosses.
        let (status, created) = send(server.post(&url_a, "application/json", &body)).await;
        assert_eq!(status, 201, "{label}");
        let id = created["id"].as_str().unwrap();
        let url_b = server.devices_url(ENV_B, USER);
        let (_, list_b) = send(server.client.get(&url_b).bearer_auth(TOKEN_B)).await;
        assert_eq!(list_b["count"], 0, "{label}");
        let (status, _) = send(
            server
                .client
                .get(format!("{url_b}/{id}"))
                .bearer_auth(TOKEN_B),
        )
        .await;
        assert_eq!(status, 404, "{label}");
        let (status, _) = send(
            server
                .client
                .delete(format!("{url_b}/{id}"))
                .bearer_auth(TOKEN_B),
        )
        .await;
        assert_eq!(status, 404, "{label}");
        let (_, list_a) = send(server.get(&url_a)).await;
        assert_eq!(list_a["count"], 1, "{label}");

        // Bodies over 1 MiB: 413 with PingOne's body, nothing written.
        let big = format!(
            r#"{{"type":"SMS","phone":"+15125551234","nickname":"{}"}}"#,
            "x".repeat(1024 * 1024)
        );
        let (status, e) = send(server.post(&url_a, "application/json", &big)).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (413, Some("INVALID_REQUEST")),
            "{label}"
        );
        assert_eq!(
            server.store.load_events(ENV_A, USER).await.unwrap().len(),
            1
        );

        // X-Ping-External-Transaction-ID: echoed, or generated.
        let response = server
            .get(&url_a)
            .header("X-Ping-External-Transaction-ID", "abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["x-ping-external-transaction-id"],
            "abc-123"
        );
        let response = server.get(&url_a).send().await.unwrap();
        let generated = response.headers()["x-ping-external-transaction-id"]
            .to_str()
            .unwrap();
        assert!(uuid::Uuid::parse_str(generated).is_ok());
        let health = server
            .client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let _ = TOKEN_A;
        server.stop().await;
    }
}

/// The framework's own refusals (a method the path does not take, a path segment that is not
/// UTF-8) answer with PingOne's error body as JSON, like every other error.
#[tokio::test]
async fn framework_errors_carry_pingone_bodies() {
    let db = crate::common::sqlite();
    let server = TestServer::start(&db).await;
    let url = server.devices_url(ENV_A, USER);
    let response = server
        .client
        .patch(&url)
        .bearer_auth(TOKEN_A)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "GET,HEAD,POST");
    assert_eq!(response.headers()["content-type"], "application/json");
    let e: serde_json::Value = response.json().await.unwrap();
    assert_eq!(e["code"], "INVALID_REQUEST", "{e}");
    assert!(e["message"].as_str().unwrap().contains("Allow"), "{e}");
    let bad = format!("{}/v1/environments/{ENV_A}/users/%FF/devices", server.base);
    let (status, e) = send(server.client.get(&bad).bearer_auth(TOKEN_A)).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("INVALID_REQUEST")),
        "{e}"
    );
    assert!(e["id"].is_string());
    server.stop().await;
}
