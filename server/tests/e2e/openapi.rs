//! `GET /openapi.json` is the committed document, and the document matches the router: every
//! route the sources declare is in the document with exactly its methods and vice versa, and
//! the running router answers every documented (path, method) and refuses (405) the others.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{ENV_A, TestServer, sqlite};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The document's (path → methods).
fn documented(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// The routes the sources declare: every `.route("PATH", get(…).post(…))` call.
fn declared() -> BTreeMap<String, BTreeSet<String>> {
    let sources = [
        include_str!("../../src/http.rs"),
        include_str!("../../src/devices.rs"),
        include_str!("../../src/policies.rs"),
        include_str!("../../src/authentications.rs"),
        include_str!("../../src/activities.rs"),
        include_str!("../../src/crest.rs"),
    ];
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for source in sources {
        for chunk in source.split(".route(").skip(1) {
            let start = chunk.find('"').unwrap() + 1;
            let len = chunk[start..].find('"').unwrap();
            let path = chunk[start..start + len].to_owned();
            // The method chain ends where the call's parentheses balance.
            let mut depth = 1i32;
            let mut end = chunk.len();
            for (i, c) in chunk.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = &chunk[start + len..end];
            let methods = METHODS
                .iter()
                .filter(|m| {
                    call.match_indices(&format!("{m}(")).any(|(i, _)| {
                        i == 0
                            || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                                && call.as_bytes()[i - 1] != b'_'
                    })
                })
                .map(|m| (*m).to_owned());
            out.entry(path).or_default().extend(methods);
        }
    }
    out
}

#[test]
fn the_document_lists_exactly_the_declared_routes_and_methods() {
    let doc: Value = serde_json::from_str(mfa_devices_server::http::OPENAPI).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let declared = declared();
    assert!(declared.len() >= 10, "the route scan found {declared:?}");
    assert_eq!(documented(&doc), declared);
}

#[tokio::test]
async fn the_router_answers_exactly_the_documented_methods() {
    let db = sqlite();
    let server = TestServer::start(&db).await;
    let (status, served) =
        crate::common::send(server.client.get(format!("{}/openapi.json", server.base))).await;
    assert_eq!(status, 200, "served without a token");
    let doc: Value = serde_json::from_str(mfa_devices_server::http::OPENAPI).unwrap();
    assert_eq!(served, doc, "the served document is the committed one");
    let id = "0d000000-0000-4000-8000-0000000000d0";
    for (path, methods) in documented(&doc) {
        let concrete = path
            .replace("{env}", ENV_A)
            .replace("{realm}", ENV_A)
            .replace("{kind}", "oath")
            .replace("{user}", id)
            .replace("{id}", id);
        for method in METHODS {
            let response = server
                .client
                .request(
                    method.to_uppercase().parse().unwrap(),
                    format!("{}{concrete}", server.base),
                )
                .bearer_auth(crate::common::TOKEN_A)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            if methods.contains(method) {
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }
    server.stop().await;
}
