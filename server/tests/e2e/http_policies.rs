//! deviceAuthenticationPolicies over HTTP on both databases (seed 003: read, update, validation).

use serde_json::{Value, json};

use crate::common::{ENV_A, TOKEN_A, TestServer, databases, send};

fn url(server: &TestServer) -> String {
    format!(
        "{}/v1/environments/{ENV_A}/deviceAuthenticationPolicies",
        server.base
    )
}

#[tokio::test]
async fn default_policy_read_update_validate() {
    for db in databases("http_policies") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let base = url(&server);
        let (status, list) = send(server.get(&base)).await;
        assert_eq!(
            (status, list["count"].clone()),
            (200, json!(1)),
            "{label}: {list}"
        );
        let default = list["_embedded"]["deviceAuthenticationPolicies"][0].clone();
        assert_eq!(default["default"], true);
        let id = default["id"].as_str().unwrap().to_owned();
        let (status, read) = send(server.get(&format!("{base}/{id}"))).await;
        assert_eq!((status, &read), (200, &default), "{label}");

        // An invalid update names each violation.
        let mut invalid = default.clone();
        invalid["sms"]["otp"]["failure"]["count"] = json!(99);
        invalid["name"] = json!("");
        let (status, refused) = send(
            server
                .client
                .put(format!("{base}/{id}"))
                .bearer_auth(TOKEN_A)
                .json(&invalid),
        )
        .await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("INVALID_DATA")),
            "{label}: {refused}"
        );
        assert!(
            refused["details"].as_array().unwrap().len() >= 2,
            "{label}: {refused}"
        );

        // A valid update is stored and stays the default.
        let mut valid = default.clone();
        valid["name"] = json!("Strict");
        valid["sms"]["otp"]["failure"]["count"] = json!(2);
        let (status, updated) = send(
            server
                .client
                .put(format!("{base}/{id}"))
                .bearer_auth(TOKEN_A)
                .json(&valid),
        )
        .await;
        assert_eq!(status, 200, "{label}: {updated}");
        let (_, read) = send(server.get(&format!("{base}/{id}"))).await;
        assert_eq!(read["name"], "Strict");
        assert_eq!(read["sms"]["otp"]["failure"]["count"], 2);
        assert_eq!(read["default"], true);

        // Create another; delete it; the default cannot be deleted.
        let mut body: Value = valid.clone();
        body.as_object_mut().unwrap().retain(|k, _| {
            ![
                "id",
                "_links",
                "default",
                "createdAt",
                "updatedAt",
                "environment",
            ]
            .contains(&k.as_str())
        });
        body["name"] = json!("Second");
        let (status, created) =
            send(server.client.post(&base).bearer_auth(TOKEN_A).json(&body)).await;
        assert_eq!(
            (status, created["default"].clone()),
            (201, json!(false)),
            "{label}: {created}"
        );
        let (_, list) = send(server.get(&base)).await;
        assert_eq!(list["count"], 2, "{label}");
        let delete = |id: String| {
            server
                .client
                .delete(format!("{base}/{id}"))
                .bearer_auth(TOKEN_A)
        };
        let (status, refused) = send(delete(id.clone())).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (400, Some("INVALID_REQUEST")),
            "{label}"
        );
        let (status, _) = send(delete(created["id"].as_str().unwrap().to_owned())).await;
        assert_eq!(status, 204, "{label}");
        server.stop().await;
    }
}

/// Found by schemathesis: a policy without `name` was stored (and then served without the
/// `name` PingOne always returns). POST and PUT without `name` are refused, nothing stored.
#[tokio::test]
async fn a_policy_without_a_name_is_refused() {
    for db in databases("http_policies_name") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let base = url(&server);
        let (_, list) = send(server.get(&base)).await;
        let default = list["_embedded"]["deviceAuthenticationPolicies"][0].clone();
        let id = default["id"].as_str().unwrap().to_owned();
        for (method, target) in [("POST", base.clone()), ("PUT", format!("{base}/{id}"))] {
            for body in [json!({"default": false}), json!({"name": null, "sms": {}})] {
                let request = match method {
                    "POST" => server.client.post(&target),
                    _ => server.client.put(&target),
                };
                let (status, refused) = send(request.bearer_auth(TOKEN_A).json(&body)).await;
                assert_eq!(
                    (status, refused["code"].as_str()),
                    (400, Some("INVALID_DATA")),
                    "{label} {method}: {refused}"
                );
                assert_eq!(refused["details"][0]["target"], "name", "{label}");
                assert_eq!(refused["details"][0]["code"], "REQUIRED_VALUE", "{label}");
            }
        }
        let (_, after) = send(server.get(&base)).await;
        assert_eq!(after, list, "{label}: nothing stored");
        server.stop().await;
    }
}
