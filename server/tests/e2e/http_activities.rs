//! `/v1/environments/{env}/activities` on both databases: the DEVICE.* activities a command
//! recorded, filtered in SQL (time range required), environment-isolated, paged.

use serde_json::{Value, json};

use crate::common::{ENV_A, ENV_B, TOKEN_A, TOKEN_B, TestServer, databases, send, urlencode};

const USER: &str = "ac000000-0000-4000-8000-0000000000a1";
const RANGE: &str =
    r#"recordedAt gt "2020-01-01T00:00:00Z" and recordedAt lt "2100-01-01T00:00:00Z""#;

fn url(server: &TestServer, env: &str) -> String {
    format!("{}/v1/environments/{env}/activities", server.base)
}

async fn get(server: &TestServer, filter: &str, extra: &str) -> (u16, Value) {
    let url = format!("{}?filter={}{extra}", url(server, ENV_A), urlencode(filter));
    send(server.get(&url)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["_embedded"]["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn activities_filtered_in_sql_isolated_and_paged() {
    for db in databases("http_activities") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let create = |env: &'static str, token: &'static str, email: &str| {
            server
                .client
                .post(server.devices_url(env, USER))
                .bearer_auth(token)
                .header("Content-Type", "application/json")
                .header("X-Ping-External-Transaction-ID", format!("tx-{email}"))
                .body(json!({"type": "EMAIL", "email": email, "status": "ACTIVE"}).to_string())
        };
        let (_, first) = send(create(ENV_A, TOKEN_A, "a1@example.com")).await;
        let (_, second) = send(create(ENV_A, TOKEN_A, "a2@example.com")).await;
        let second_id = second["id"].as_str().unwrap().to_owned();
        let (status, _) = send(
            server
                .client
                .delete(format!("{}/{second_id}", server.devices_url(ENV_A, USER)))
                .bearer_auth(TOKEN_A),
        )
        .await;
        assert_eq!(status, 204, "{label}");
        send(create(ENV_B, TOKEN_B, "b1@example.com")).await;

        // Everything of A in the range: A's activities only, in order, PingOne's shape.
        let (status, all) = get(&server, RANGE, "").await;
        assert_eq!(status, 200, "{label}: {all}");
        let activities = all["_embedded"]["activities"].as_array().unwrap().clone();
        let types: Vec<&str> = activities
            .iter()
            .map(|a| a["action"]["type"].as_str().unwrap())
            .collect();
        assert!(types.len() >= 3, "{label}: {all}");
        assert_eq!(
            types.iter().filter(|t| **t == "DEVICE.CREATED").count(),
            2,
            "{label}: {types:?}"
        );
        assert!(types.contains(&"DEVICE.DELETED"), "{label}: {types:?}");
        assert_eq!(all["count"], json!(activities.len()));
        for a in &activities {
            assert_eq!(a["resources"][0]["type"], "USER", "{label}: {a}");
            assert_eq!(
                a["resources"][0]["environment"]["id"], ENV_A,
                "{label}: {a}"
            );
            assert_eq!(a["actors"]["user"]["id"], USER, "{label}: {a}");
            assert_eq!(a["result"]["status"], "SUCCESS");
        }
        assert_eq!(
            activities[0]["correlationId"], "tx-a1@example.com",
            "{label}"
        );
        // Each activity's id is its event's id (`Event::id`: environment, user, revision), the
        // id the stored event carries too: deterministic, one per revision.
        let activity_ids: std::collections::BTreeSet<String> = activities
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect();
        let revisions = 1..=activities.len() as u64;
        let expected: std::collections::BTreeSet<String> = revisions
            .map(|r| {
                mfa_devices::user_devices::Event::id_for(
                    ENV_A.parse().unwrap(),
                    USER.parse().unwrap(),
                    r,
                )
                .to_string()
            })
            .collect();
        assert_eq!(activity_ids, expected, "{label}");
        let logged: std::collections::BTreeSet<String> = server
            .store
            .load_events(ENV_A, USER)
            .await
            .unwrap()
            .iter()
            .map(|(_, e)| {
                serde_json::from_str::<Value>(e).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            logged, expected,
            "{label}: the stored events carry the same ids"
        );

        // Filters pushed down: action type, device (resources.id), actor, correlation id.
        let by = |clause: &str| format!("{RANGE} and {clause}");
        let (_, created) = get(&server, &by(r#"action.type eq "DEVICE.CREATED""#), "").await;
        assert_eq!(created["count"], 2, "{label}: {created}");
        let (_, device) = get(
            &server,
            &by(&format!(r#"resources.id eq "{second_id}""#)),
            "",
        )
        .await;
        let device_types: Vec<&str> = device["_embedded"]["activities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            device_types,
            ["DEVICE.CREATED", "DEVICE.DELETED"],
            "{label}: {device}"
        );
        let (_, tx) = get(&server, &by(r#"correlationId eq "tx-a1@example.com""#), "").await;
        assert_eq!(tx["count"], 1, "{label}: {tx}");
        assert_eq!(
            tx["_embedded"]["activities"][0]["resources"][1]["id"], first["id"],
            "{label}"
        );
        let (_, either) = get(
            &server,
            &by(r#"(action.type eq "DEVICE.DELETED" or action.type eq "DEVICE.UNKNOWN")"#),
            "",
        )
        .await;
        assert_eq!(either["count"], 1, "{label}: {either}");
        let (_, past) = get(
            &server,
            r#"recordedAt ge "2001-01-01T00:00:00Z" and recordedAt le "2002-01-01T00:00:00Z""#,
            "",
        )
        .await;
        assert_eq!(past["count"], 0, "{label}: {past}");

        // Paging: limit 1, follow next links; the pages are the whole list, in order.
        let mut seen = Vec::new();
        let (status, mut page) = get(&server, RANGE, "&limit=1").await;
        assert_eq!(status, 200, "{label}: {page}");
        loop {
            assert!(page["count"].as_u64().unwrap() <= 1);
            seen.extend(ids(&page));
            let Some(next) = page["_links"]["next"]["href"].as_str() else {
                break;
            };
            let (status, next_page) = send(server.get(next)).await;
            assert_eq!(status, 200, "{label}: {next_page}");
            page = next_page;
        }
        assert_eq!(seen, ids(&all), "{label}");

        // POST: the filter in the body; its next link takes the same body.
        let post = |target: &str, body: Value| {
            server
                .client
                .post(target)
                .bearer_auth(TOKEN_A)
                .header("Content-Type", "application/json")
                .body(body.to_string())
        };
        let (status, first_page) = send(post(
            &url(&server, ENV_A),
            json!({"filter": RANGE, "limit": 2}),
        ))
        .await;
        assert_eq!(status, 200, "{label}: {first_page}");
        let next = first_page["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            !next.contains("filter="),
            "the filter stays out of the URL: {next}"
        );
        let (_, rest) = send(post(&next, json!({"filter": RANGE}))).await;
        let mut posted = ids(&first_page);
        posted.extend(ids(&rest));
        assert_eq!(posted, ids(&all), "{label}");

        // Refusals: no filter, no range, half a range, unknown attribute, operator, limit, offset.
        for (filter, extra) in [
            ("", ""),
            (r#"action.type eq "DEVICE.CREATED""#, ""),
            (r#"recordedAt gt "2020-01-01T00:00:00Z""#, ""),
            (
                r#"recordedAt gt "2020-01-01T00:00:00Z" or recordedAt lt "2100-01-01T00:00:00Z""#,
                "",
            ),
            (&by(r#"doc eq "x""#), ""),
            (&by(r#"action.type co "DEVICE""#), ""),
            (&by(r#"not (action.type eq "DEVICE.CREATED")"#), ""),
            (
                r#"recordedAt gt "yesterday" and recordedAt lt "2100-01-01T00:00:00Z""#,
                "",
            ),
            (RANGE, "&limit=0"),
            (RANGE, "&limit=1001"),
            (RANGE, "&limit=x"),
            (RANGE, "&offset=nonsense"),
        ] {
            let (status, e) = get(&server, filter, extra).await;
            assert_eq!(
                (status, e["code"].as_str()),
                (400, Some("INVALID_DATA")),
                "{label} {filter:?}{extra}: {e}"
            );
        }
        // Another environment's token: 403; B sees only B's activity.
        let (status, _) = send(
            server
                .client
                .get(format!(
                    "{}?filter={}",
                    url(&server, ENV_A),
                    urlencode(RANGE)
                ))
                .bearer_auth(TOKEN_B),
        )
        .await;
        assert_eq!(status, 403, "{label}");
        let (_, b) = send(
            server
                .client
                .get(format!(
                    "{}?filter={}",
                    url(&server, ENV_B),
                    urlencode(RANGE)
                ))
                .bearer_auth(TOKEN_B),
        )
        .await;
        assert_eq!(b["count"], 1, "{label}: {b}");
        server.stop().await;
    }
}
