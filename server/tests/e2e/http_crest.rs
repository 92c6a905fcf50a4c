//! Advanced Identity Cloud's CREST device routes over real HTTP on both databases: list with
//! `_queryFilter`, sort, paging with the cookie (refused on another user's list), delete then
//! list, AIC's error body, 401/403 and isolation between environments. Expected bodies are the
//! crate's own renderers (`crest::OathDevice`/`WebAuthnDevice`, `QueryResponse`,
//! `CrestError::to_crest_body`) over the devices the PingOne routes return.

use mfa_devices::crest::{
    CrestError, DeviceCategory, OathDevice, QueryResponse, Realm, TotalPagedResultsPolicy,
    WebAuthnDevice, parse_query_filter,
};
use mfa_devices::device::Device;
use serde_json::{Map, Value, json};

use crate::common::{
    ENV_A, ENV_B, TOKEN_A, TOKEN_B, TestServer, databases, send, snapshot_and_replay, urlencode,
};

const USER: &str = "e0000000-0000-4000-8000-0000000000e1";
const OTHER_USER: &str = "e0000000-0000-4000-8000-0000000000e2";

fn url(server: &TestServer, env: &str, user: &str, kind: &str) -> String {
    format!(
        "{}/am/json/realms/root/realms/{env}/users/{user}/devices/2fa/{kind}",
        server.base
    )
}

/// `base?name=value&…`, percent-encoded.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(n, v)| format!("{}={}", urlencode(n), urlencode(v)))
        .collect();
    format!("{base}?{}", q.join("&"))
}

async fn create(server: &TestServer, user: &str, body: Value) -> String {
    let (status, device) = send(server.post(
        &server.devices_url(ENV_A, user),
        "application/json",
        &body.to_string(),
    ))
    .await;
    assert_eq!(status, 201, "{device}");
    device["id"].as_str().unwrap().to_owned()
}

/// The user's devices as the PingOne list returns them (in its order), typed.
async fn pingone_devices(server: &TestServer, user: &str) -> Vec<Device> {
    let (status, list) = send(server.get(&server.devices_url(ENV_A, user))).await;
    assert_eq!(status, 200, "{list}");
    list["_embedded"]["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::from_value(d.clone()).unwrap())
        .collect()
}

/// AIC's shape of a PingOne device (the server's documented mapping), by the crate's types.
fn as_oath(d: &Device) -> OathDevice {
    OathDevice {
        id: d.id.to_string(),
        rev: mfa_devices_server::crest::revision(d),
        device_name: d.nickname.clone().unwrap_or_else(|| "OATH Device".into()),
        uuid: d.id.to_string(),
        device_management_status: false,
        extra: Map::new(),
    }
}

fn as_webauthn(d: &Device) -> WebAuthnDevice {
    WebAuthnDevice {
        id: d.id.to_string(),
        rev: mfa_devices_server::crest::revision(d),
        device_name: d
            .nickname
            .clone()
            .unwrap_or_else(|| "New Security Key".into()),
        uuid: d.id.to_string(),
        credential_id: match &d.details {
            mfa_devices::device::DeviceDetails::Fido2(f) => {
                f.credential.as_ref().map(|c| c.credential_id_base64url())
            }
            _ => None,
        },
        device_management_status: false,
        extra: Map::new(),
    }
}

/// The crate's envelope of a whole (unpaged) result.
fn envelope<T: serde::Serialize>(result: Vec<T>) -> Value {
    serde_json::to_value(QueryResponse {
        result_count: result.len(),
        result,
        paged_results_cookie: None,
        total_paged_results_policy: TotalPagedResultsPolicy::None,
        total_paged_results: -1,
        remaining_paged_results: -1,
    })
    .unwrap()
}

fn names(body: &Value) -> Vec<String> {
    body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result in {body}"))
        .iter()
        .map(|d| d["deviceName"].as_str().unwrap().to_owned())
        .collect()
}

fn is_aic_error(body: &Value, code: u16, reason: &str) -> bool {
    body["code"] == code
        && body["reason"] == reason
        && body["message"].is_string()
        && body.as_object().unwrap().len() == 3
}

#[tokio::test]
async fn crest_devices_list_filter_sort_page_delete() {
    for db in databases("http_crest") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let oath = url(&server, ENV_A, USER, "oath");

        // Listed: ACTIVE TOTP devices (oath) and FIDO2 (webauthn); not SMS, not unactivated.
        for nickname in ["Phone 3", "Phone 1"] {
            create(
                &server,
                USER,
                json!({"type": "TOTP", "status": "ACTIVE", "nickname": nickname}),
            )
            .await;
        }
        create(&server, USER, json!({"type": "TOTP", "status": "ACTIVE"})).await;
        create(
            &server,
            USER,
            json!({"type": "TOTP", "nickname": "Pending"}),
        )
        .await;
        create(
            &server,
            USER,
            json!({"type": "SMS", "phone": "+15125551234", "status": "ACTIVE"}),
        )
        .await;
        let key = create(
            &server,
            USER,
            json!({"type": "FIDO2", "status": "ACTIVE", "nickname": "Key"}),
        )
        .await;
        let pingone = pingone_devices(&server, USER).await;
        let expected_oath: Vec<OathDevice> = pingone
            .iter()
            .filter(|d| d.device_type.as_str() == "TOTP" && d.is_active())
            .map(as_oath)
            .collect();
        assert_eq!(expected_oath.len(), 3, "{label}");

        // `_queryFilter=true`: the crate's envelope of the crate's device shapes.
        let (status, all) = send(server.get(&with_query(&oath, &[("_queryFilter", "true")]))).await;
        assert_eq!(status, 200, "{label}: {all}");
        assert_eq!(all, envelope(expected_oath.clone()), "{label}");
        let (_, webauthn) = send(server.get(&with_query(
            &url(&server, ENV_A, USER, "webauthn"),
            &[("_queryFilter", "true")],
        )))
        .await;
        let fido: Vec<WebAuthnDevice> = pingone
            .iter()
            .filter(|d| d.id.to_string() == key)
            .map(as_webauthn)
            .collect();
        assert_eq!(webauthn, envelope(fido), "{label}");
        for kind in ["push", "binding"] {
            let (status, empty) = send(server.get(&with_query(
                &url(&server, ENV_A, USER, kind),
                &[("_queryFilter", "true")],
            )))
            .await;
            assert_eq!(
                (status, empty.clone()),
                (200, envelope(Vec::<Value>::new())),
                "{label} {kind}"
            );
        }

        // A filter (the crate's evaluator), then a sort.
        let (status, filtered) = send(server.get(&with_query(
            &oath,
            &[(
                "_queryFilter",
                r#"/deviceName sw "phone" and !(/deviceName eq 'Phone 9')"#,
            )],
        )))
        .await;
        assert_eq!(status, 200, "{label}: {filtered}");
        assert_eq!(names(&filtered), ["Phone 3", "Phone 1"], "{label}");
        let (_, sorted) = send(server.get(&with_query(
            &oath,
            &[("_queryFilter", "true"), ("_sortKeys", "-deviceName")],
        )))
        .await;
        assert_eq!(
            names(&sorted),
            ["Phone 3", "Phone 1", "OATH Device"],
            "{label}"
        );

        // Paging: two pages joined by the cookie, with exact totals.
        let paged = [
            ("_queryFilter", "true"),
            ("_sortKeys", "deviceName"),
            ("_pageSize", "2"),
            ("_totalPagedResultsPolicy", "EXACT"),
        ];
        let (status, page1) = send(server.get(&with_query(&oath, &paged))).await;
        assert_eq!(status, 200, "{label}: {page1}");
        assert_eq!(names(&page1), ["OATH Device", "Phone 1"], "{label}");
        assert_eq!(
            (
                &page1["resultCount"],
                &page1["totalPagedResults"],
                &page1["remainingPagedResults"],
                &page1["totalPagedResultsPolicy"]
            ),
            (&json!(2), &json!(3), &json!(1), &json!("EXACT")),
            "{label}"
        );
        let cookie = page1["pagedResultsCookie"].as_str().unwrap().to_owned();
        let mut next = paged.to_vec();
        next.push(("_pagedResultsCookie", &cookie));
        let (status, page2) = send(server.get(&with_query(&oath, &next))).await;
        assert_eq!(status, 200, "{label}: {page2}");
        assert_eq!(names(&page2), ["Phone 3"], "{label}");
        assert_eq!(
            (
                &page2["pagedResultsCookie"],
                &page2["remainingPagedResults"]
            ),
            (&Value::Null, &json!(0)),
            "{label}"
        );
        // Another instance on the same database with the same tokens pages on with the cookie
        // (the key is derived from the tokens, not drawn per process).
        let other = TestServer::start(&db).await;
        let (status, at_other) =
            send(other.get(&with_query(&oath.replace(&server.base, &other.base), &next))).await;
        assert_eq!(
            (status, &at_other),
            (200, &page2),
            "{label}: at another instance"
        );
        other.stop().await;
        // The cookie resumes only this user's list with this query.
        create(
            &server,
            OTHER_USER,
            json!({"type": "TOTP", "status": "ACTIVE", "nickname": "Other"}),
        )
        .await;
        let (status, refused) =
            send(server.get(&with_query(&url(&server, ENV_A, OTHER_USER, "oath"), &next))).await;
        assert!(
            is_aic_error(&refused, 400, "Bad Request"),
            "{label}: {refused}"
        );
        assert_eq!(status, 400, "{label}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains("_pagedResultsCookie"),
            "{label}: {refused}"
        );
        let mut other_query = next.clone();
        other_query[0] = ("_queryFilter", "/deviceName pr");
        let (status, _) = send(server.get(&with_query(&oath, &other_query))).await;
        assert_eq!(status, 400, "{label}: a cookie is bound to its filter");
        let (status, _) =
            send(server.get(&with_query(&url(&server, ENV_A, USER, "webauthn"), &next))).await;
        assert_eq!(status, 400, "{label}: a cookie is bound to its collection");

        // Bad requests: AIC's body, exactly the crate's.
        let bad = "/deviceName eq iOS";
        let (status, e) = send(server.get(&with_query(&oath, &[("_queryFilter", bad)]))).await;
        let expected = CrestError::from(parse_query_filter(bad).unwrap_err()).to_crest_body();
        assert_eq!(
            (status, e),
            (400, serde_json::to_value(&expected).unwrap()),
            "{label}"
        );
        let (status, e) = send(server.get(&oath)).await;
        assert_eq!(
            (status, e),
            (
                400,
                serde_json::to_value(CrestError::MissingQuery.to_crest_body()).unwrap()
            ),
            "{label}"
        );
        let (status, e) = send(server.get(&with_query(
            &oath,
            &[("_queryFilter", "true"), ("_pageSize", "-1")],
        )))
        .await;
        assert!(
            status == 400 && is_aic_error(&e, 400, "Bad Request"),
            "{label}: {e}"
        );
        let (status, e) = send(server.get(&with_query(
            &url(&server, ENV_A, USER, "sms"),
            &[("_queryFilter", "true")],
        )))
        .await;
        assert_eq!(
            (status, e),
            (
                404,
                serde_json::to_value(CrestError::UnknownCategory("sms".into()).to_crest_body())
                    .unwrap()
            ),
            "{label}"
        );
        let response = server
            .client
            .post(&oath)
            .bearer_auth(TOKEN_A)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{label}");
        let e: Value = response.json().await.unwrap();
        assert!(is_aic_error(&e, 405, "Method Not Allowed"), "{label}: {e}");

        // A rename through the PingOne route changes `deviceName` and `_rev`; the old `_rev`
        // no longer matches.
        let renamed = expected_oath
            .iter()
            .find(|d| d.device_name == "Phone 3")
            .unwrap()
            .clone();
        let (status, _) = send(
            server
                .client
                .put(format!(
                    "{}/{}/nickname",
                    server.devices_url(ENV_A, USER),
                    renamed.uuid
                ))
                .bearer_auth(TOKEN_A)
                .json(&json!({"nickname": "Phone 4"})),
        )
        .await;
        assert_eq!(status, 200, "{label}");
        let (_, after_rename) = send(server.get(&with_query(
            &oath,
            &[("_queryFilter", &format!("/_id eq '{}'", renamed.uuid))],
        )))
        .await;
        let now_named = &after_rename["result"][0];
        assert_eq!(now_named["deviceName"], "Phone 4", "{label}");
        assert_ne!(now_named["_rev"], json!(renamed.rev), "{label}");
        let (status, e) = send(
            server
                .client
                .delete(format!("{oath}/{}", renamed.uuid))
                .bearer_auth(TOKEN_A)
                .header("If-Match", format!("\"{}\"", renamed.rev)),
        )
        .await;
        assert!(
            status == 412 && is_aic_error(&e, 412, "Precondition Failed"),
            "{label}: {e}"
        );
        let (status, _) = send(
            server
                .client
                .put(format!(
                    "{}/{}/nickname",
                    server.devices_url(ENV_A, USER),
                    renamed.uuid
                ))
                .bearer_auth(TOKEN_A)
                .json(&json!({"nickname": "Phone 3"})),
        )
        .await;
        assert_eq!(status, 200, "{label}");
        let pingone = pingone_devices(&server, USER).await;
        let expected_oath: Vec<OathDevice> = pingone
            .iter()
            .filter(|d| d.device_type.as_str() == "TOTP" && d.is_active())
            .map(as_oath)
            .collect();

        // Delete through the aggregate: 200 with the device as it was, then gone everywhere.
        let deleted_one = expected_oath
            .iter()
            .find(|d| d.device_name == "Phone 1")
            .unwrap()
            .clone();
        let events_before = server.store.load_events(ENV_A, USER).await.unwrap().len();
        let target = format!("{oath}/{}", deleted_one.uuid);
        let (status, e) = send(
            server
                .client
                .delete(&target)
                .bearer_auth(TOKEN_A)
                .header("If-Match", "\"1\""),
        )
        .await;
        assert!(
            status == 412 && is_aic_error(&e, 412, "Precondition Failed"),
            "{label}: {e}"
        );
        let response = server
            .client
            .delete(&target)
            .bearer_auth(TOKEN_A)
            .header("If-Match", format!("\"{}\"", deleted_one.rev))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{label}");
        assert_eq!(
            response.headers()["etag"].to_str().unwrap(),
            format!("\"{}\"", deleted_one.rev)
        );
        let deleted: Value = response.json().await.unwrap();
        assert_eq!(
            deleted,
            serde_json::to_value(&deleted_one).unwrap(),
            "{label}"
        );
        let (_, after) = send(server.get(&with_query(&oath, &[("_queryFilter", "true")]))).await;
        let rest: Vec<OathDevice> = expected_oath
            .iter()
            .filter(|d| d.uuid != deleted_one.uuid)
            .cloned()
            .collect();
        assert_eq!(after, envelope(rest), "{label}");
        assert!(
            pingone_devices(&server, USER)
                .await
                .iter()
                .all(|d| d.id.to_string() != deleted_one.uuid),
            "{label}"
        );
        assert_eq!(
            server.store.load_events(ENV_A, USER).await.unwrap().len(),
            events_before + 1,
            "{label}: one event"
        );
        let (snapshot, replayed) = snapshot_and_replay(server.store.as_ref(), ENV_A, USER).await;
        assert_eq!(snapshot, replayed, "{label}");
        let filter = format!(
            r#"recordedAt gt "2020-01-01T00:00:00Z" and recordedAt lt "2100-01-01T00:00:00Z" and action.type eq "DEVICE.DELETED" and resources.id eq "{}""#,
            deleted_one.uuid
        );
        let (status, audit) = send(server.get(&format!(
            "{}/v1/environments/{ENV_A}/activities?filter={}",
            server.base,
            urlencode(&filter)
        )))
        .await;
        assert_eq!(status, 200, "{label}: {audit}");
        assert_eq!(
            audit["_embedded"]["activities"].as_array().unwrap().len(),
            1,
            "{label}: the audit activity"
        );
        // Unknown now, in another collection, or not a device id: 404 in AIC's body.
        for (path, what) in [
            (target.clone(), "deleted"),
            (format!("{}/{key}", oath), "a webauthn device under oath"),
            (format!("{oath}/not-a-uuid"), "malformed"),
        ] {
            let (status, e) = send(server.client.delete(&path).bearer_auth(TOKEN_A)).await;
            assert!(
                status == 404 && is_aic_error(&e, 404, "Not Found"),
                "{label} {what}: {status} {e}"
            );
        }
        server.stop().await;
    }
}

#[tokio::test]
async fn crest_access_and_environment_isolation() {
    for db in databases("http_crest_access") {
        let label = db.label;
        let server = TestServer::start(&db).await;
        let id = create(
            &server,
            USER,
            json!({"type": "TOTP", "status": "ACTIVE", "nickname": "Mine"}),
        )
        .await;
        let list_a = with_query(
            &url(&server, ENV_A, USER, "oath"),
            &[("_queryFilter", "true")],
        );

        // No or unknown token: 401; another environment's token: 403 — AIC's body.
        let (status, e) = send(server.client.get(&list_a)).await;
        assert_eq!(
            (status, e),
            (
                401,
                json!({"code": 401, "reason": "Unauthorized", "message": "Access Denied"})
            ),
            "{label}"
        );
        let (status, _) = send(server.client.get(&list_a).bearer_auth("nope")).await;
        assert_eq!(status, 401, "{label}");
        let (status, e) = send(server.client.get(&list_a).bearer_auth(TOKEN_B)).await;
        assert!(
            status == 403 && is_aic_error(&e, 403, "Forbidden"),
            "{label}: {e}"
        );
        let delete_a = format!("{}/{id}", url(&server, ENV_A, USER, "oath"));
        let (status, _) = send(server.client.delete(&delete_a).bearer_auth(TOKEN_B)).await;
        assert_eq!(status, 403, "{label}");
        let (status, _) = send(server.client.delete(&delete_a)).await;
        assert_eq!(status, 401, "{label}");
        // Unrouted AIC paths need a token too, and answer 404 in AIC's body.
        let (status, _) = send(server.client.get(format!(
            "{}/am/json/realms/root/users/{USER}/devices/2fa/oath",
            server.base
        )))
        .await;
        assert_eq!(status, 401, "{label}");
        let (status, e) = send(server.get(&format!(
            "{}/am/json/realms/root/users/{USER}/devices/2fa/oath",
            server.base
        )))
        .await;
        assert!(
            status == 404 && is_aic_error(&e, 404, "Not Found"),
            "{label}: {e}"
        );
        // A path segment that is not UTF-8: the framework's 400, in AIC's body.
        let (status, e) = send(server.get(&with_query(
            &url(&server, ENV_A, "%FF", "oath"),
            &[("_queryFilter", "true")],
        )))
        .await;
        assert!(
            status == 400 && is_aic_error(&e, 400, "Bad Request"),
            "{label}: {e}"
        );
        // A realm that is not the token's environment: 403, whatever it names.
        let (status, _) = send(server.get(&with_query(
            &url(&server, "alpha", USER, "oath"),
            &[("_queryFilter", "true")],
        )))
        .await;
        assert_eq!(status, 403, "{label}");

        // Environment B's user of the same id is another user: nothing crosses.
        let list_b = with_query(
            &url(&server, ENV_B, USER, "oath"),
            &[("_queryFilter", "true")],
        );
        let (status, b) = send(server.client.get(&list_b).bearer_auth(TOKEN_B)).await;
        assert_eq!(
            (status, &b["resultCount"], &b["result"]),
            (200, &json!(0), &json!([])),
            "{label}: {b}"
        );
        let delete_b = format!("{}/{id}", url(&server, ENV_B, USER, "oath"));
        let (status, e) = send(server.client.delete(&delete_b).bearer_auth(TOKEN_B)).await;
        assert!(
            status == 404 && is_aic_error(&e, 404, "Not Found"),
            "{label}: {e}"
        );
        // A cookie from environment A's list does not resume environment B's.
        create(
            &server,
            USER,
            json!({"type": "TOTP", "status": "ACTIVE", "nickname": "Second"}),
        )
        .await;
        let (_, page) = send(server.get(&with_query(
            &url(&server, ENV_A, USER, "oath"),
            &[("_queryFilter", "true"), ("_pageSize", "1")],
        )))
        .await;
        let cookie = page["pagedResultsCookie"].as_str().unwrap().to_owned();
        let (status, _) = send(
            server
                .client
                .get(with_query(
                    &url(&server, ENV_B, USER, "oath"),
                    &[
                        ("_queryFilter", "true"),
                        ("_pageSize", "1"),
                        ("_pagedResultsCookie", &cookie),
                    ],
                ))
                .bearer_auth(TOKEN_B),
        )
        .await;
        assert_eq!(status, 400, "{label}");
        let (_, a) = send(server.get(&list_a)).await;
        assert_eq!(a["resultCount"], 2, "{label}: {a}");
        // The realm path is the crate's: `Realm::devices_path` under `/am`.
        let realm: Realm = format!("/realms/root/realms/{ENV_A}").parse().unwrap();
        assert_eq!(
            format!(
                "{}/am{}",
                server.base,
                realm.devices_path(USER, DeviceCategory::Oath).unwrap()
            ),
            url(&server, ENV_A, USER, "oath"),
        );
        server.stop().await;
    }
}
