//! `/v1/environments/{envID}/activities` (GET with `filter`/`limit`/`offset` in the query,
//! POST with them in a JSON body): the DEVICE.* audit activities the server recorded, in
//! PingOne's activity shape, filtered in the database — the SCIM filter is translated with
//! `mfa_devices::filter::sql` for the store's dialect and runs as the `WHERE` clause.
//!
//! PingOne's rules: the filter must bound the time (`recordedAt` or `createdAt`, a lower bound
//! `gt`/`ge` AND an upper bound `lt`/`le`, at the top level of the filter); beyond it, `eq` on
//! `id`, `action.type`, `resources.id`, `resources.type`, `correlationId`, `result.status`,
//! combined with `and` / `or`. (PingOne's `actors.user.id` has two sub-attributes, which the
//! SCIM grammar the crate parses does not allow; `resources.id` finds a user's activities.) `limit` is 1–1000 (default
//! 100). Pages are in `(recordedAt, id)` order; `_links.next.href` carries the opaque `offset`
//! of the next page (POST: send the same body to it, or `offset` in the body).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use mfa_devices::device::EnvironmentId;
use mfa_devices::error::{ApiError, DetailCode, ErrorDetail, VALIDATION_MESSAGE};
use mfa_devices::filter::Filter;
use mfa_devices::filter::ast::{AttrPath, CompValue, CompareOp, Expr};
use mfa_devices::filter::fold::Fold;
use mfa_devices::filter::sql::SqlMapping;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::{Failure, Shared, content_type, json_response, path_id, read_body};
use crate::store::{ActivityQuery, StoreError};

/// `limit` when none is given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 1000;

/// The activities routes.
pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/v1/environments/{env}/activities",
        get(list_get).post(list_post),
    )
}

/// The attributes a filter may compare, and with which operators (`eq` only, except the two
/// time attributes).
const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("recordedAt", &["eq", "gt", "ge", "lt", "le"]),
    ("createdAt", &["eq", "gt", "ge", "lt", "le"]),
    ("id", &["eq"]),
    ("action.type", &["eq"]),
    ("resources.id", &["eq"]),
    ("resources.type", &["eq"]),
    ("correlationId", &["eq"]),
    ("result.status", &["eq"]),
];

fn invalid_filter(message: impl Into<String>) -> Failure {
    let attributes: Vec<&str> = ATTRIBUTES.iter().map(|(a, _)| *a).collect();
    Failure(ApiError::invalid_data(
        VALIDATION_MESSAGE,
        vec![
            ErrorDetail::new(DetailCode::InvalidFilter, "filter", message)
                .with_inner("supportedAttributes", json!(attributes))
                .with_inner(
                    "supportedOperators",
                    json!(["eq", "gt", "ge", "lt", "le", "and", "or"]),
                ),
        ],
    ))
}

/// Checks every comparison against [`ATTRIBUTES`]; time literals must be RFC 3339. A fold over
/// the filter: `and` / `or` combine checked operands, every other node is refused.
struct Check;

impl Fold for Check {
    type Output = ();
    type Error = Failure;

    fn literal(&mut self, _: bool) -> Result<(), Failure> {
        Err(invalid_filter(
            "activities take comparisons combined with 'and' / 'or'",
        ))
    }

    fn present(&mut self, _: &AttrPath) -> Result<(), Failure> {
        Err(invalid_filter("'pr' is not supported on activities"))
    }

    fn compare(
        &mut self,
        path: &AttrPath,
        op: &CompareOp,
        value: &CompValue,
    ) -> Result<(), Failure> {
        let name = path.segments.join(".");
        let Some((canonical, ops)) = ATTRIBUTES
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(&name) && path.urn.is_none())
        else {
            return Err(invalid_filter(format!(
                "'{name}' is not an attribute activities can be filtered on"
            )));
        };
        let op = op.to_string();
        if !ops.contains(&op.as_str()) {
            return Err(invalid_filter(format!(
                "'{op}' is not supported on {canonical}; supported: {}",
                ops.join(", ")
            )));
        }
        match value {
            CompValue::String(s) if matches!(*canonical, "recordedAt" | "createdAt") => {
                DateTime::parse_from_rfc3339(s).map(|_| ()).map_err(|_| {
                    invalid_filter(format!(
                        "{canonical} needs an RFC 3339 date-time, not {s:?}"
                    ))
                })
            }
            CompValue::String(_) => Ok(()),
            _ => Err(invalid_filter(format!(
                "{canonical} compares with a string"
            ))),
        }
    }

    fn value_path(&mut self, _: &AttrPath, _: &Expr) -> Result<(), Failure> {
        self.literal(true)
    }

    fn not(&mut self, _: ()) -> Result<(), Failure> {
        Err(invalid_filter("'not' is not supported on activities"))
    }

    fn and(&mut self, _: Vec<()>) -> Result<(), Failure> {
        Ok(())
    }

    fn or(&mut self, _: Vec<()>) -> Result<(), Failure> {
        Ok(())
    }
}

/// Whether the filter's top-level conjunction bounds `recordedAt` or `createdAt` from below
/// and from above.
fn has_time_range(expr: &Expr) -> bool {
    let terms: &[Expr] = match expr {
        Expr::And(items) => items,
        other => std::slice::from_ref(other),
    };
    ["recordedAt", "createdAt"].iter().any(|attr| {
        let bound = |ops: &[CompareOp]| {
            terms.iter().any(|t| {
                matches!(t, Expr::Compare(p, op, _)
                    if p.segments.join(".").eq_ignore_ascii_case(attr) && ops.contains(op))
            })
        };
        bound(&[CompareOp::Gt, CompareOp::Ge, CompareOp::Eq])
            && bound(&[CompareOp::Lt, CompareOp::Le, CompareOp::Eq])
    })
}

/// The query of one request: GET's query string or POST's body.
#[derive(Debug, Default, Deserialize)]
struct Params {
    filter: Option<String>,
    limit: Option<Value>,
    offset: Option<String>,
}

fn limit(raw: Option<&Value>) -> Result<u32, Failure> {
    let out_of_range = |shown: String| {
        Failure(ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::OutOfRange,
                "limit",
                format!("limit must be an integer from 1 to {MAX_LIMIT}; it is {shown}"),
            )],
        ))
    };
    let n = match raw {
        None => return Ok(DEFAULT_LIMIT),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(other) => return Err(out_of_range(other.to_string())),
    };
    match n {
        Some(n @ 1..) if n <= u64::from(MAX_LIMIT) => Ok(n as u32),
        _ => Err(out_of_range(raw.map(Value::to_string).unwrap_or_default())),
    }
}

/// The opaque offset: `<recordedAt epoch milliseconds>_<activity id>`.
fn decode_offset(raw: &str) -> Result<(DateTime<Utc>, String), Failure> {
    let invalid = || {
        Failure(ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::InvalidValue,
                "offset",
                "offset is not one this server handed out (take it from _links.next)",
            )],
        ))
    };
    let (millis, id) = raw.split_once('_').ok_or_else(invalid)?;
    let at = millis
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(invalid)?;
    let id: uuid::Uuid = id.parse().map_err(|_| invalid())?;
    Ok((at, id.to_string()))
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn respond(
    state: Shared,
    env: String,
    params: Params,
    filter_in_links: bool,
) -> Result<Response, Failure> {
    let env: EnvironmentId = path_id(&env, "environment")?;
    let text = params.filter.as_deref().unwrap_or("").trim().to_owned();
    if text.is_empty() {
        return Err(invalid_filter(
            "a filter with a recordedAt (or createdAt) range is required, e.g. recordedAt gt \"2025-01-01T00:00:00Z\" and recordedAt lt \"2025-02-01T00:00:00Z\"",
        ));
    }
    let limit = limit(params.limit.as_ref())?;
    let after = params.offset.as_deref().map(decode_offset).transpose()?;
    let filter = Filter::parse(&text).map_err(|e| invalid_filter(e.to_string()))?;
    filter.expr().fold(&mut Check)?;
    if !has_time_range(filter.expr()) {
        return Err(invalid_filter(
            "the filter must bound recordedAt (or createdAt) from below (gt/ge) and above (lt/le), joined with 'and' at its top level",
        ));
    }
    let sql = filter
        .to_sql(&SqlMapping::activities(), state.store.dialect())
        .map_err(|e| Failure(e.to_api_error()))?;
    let env_text = env.to_string();
    let mut rows = state
        .store
        .activities(
            &env_text,
            ActivityQuery {
                filter: sql,
                after,
                limit: limit + 1,
            },
        )
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let items = rows
        .iter()
        .map(|(_, id, doc)| {
            serde_json::from_str::<Value>(doc)
                .map_err(|e| StoreError::Corrupt(format!("activity {id}: {e}")).into())
        })
        .collect::<Result<Vec<Value>, Failure>>()?;
    let collection = format!("{}/activities", state.api_base.environment(&env));
    let query = |offset: Option<String>| {
        let mut q = Vec::new();
        if filter_in_links {
            q.push(format!("filter={}", encode(&text)));
        }
        q.push(format!("limit={limit}"));
        if let Some(o) = offset {
            q.push(format!("offset={o}"));
        }
        format!("{collection}?{}", q.join("&"))
    };
    let mut links = json!({"self": {"href": query(params.offset.clone())}});
    if more && let Some((at, id, _)) = rows.last() {
        links["next"] = json!({"href": query(Some(format!("{}_{id}", at.timestamp_millis())))});
    }
    let body = json!({
        "_links": links,
        "_embedded": {"activities": items},
        "count": items.len(),
        "size": items.len(),
    });
    Ok(json_response(StatusCode::OK, &body))
}

async fn list_get(
    State(state): State<Shared>,
    Path(env): Path<String>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    let Query(params) =
        query.map_err(|e| Failure(ApiError::invalid_request(format!("Invalid query: {e}"))))?;
    respond(state, env, params, true).await
}

async fn list_post(
    State(state): State<Shared>,
    Path(env): Path<String>,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let Query(from_query) =
        query.map_err(|e| Failure(ApiError::invalid_request(format!("Invalid query: {e}"))))?;
    let media = content_type(&headers);
    if !mfa_devices::media_type::essence(media).eq_ignore_ascii_case("application/json") {
        return Err(Failure(ApiError::unsupported_media_type(media)));
    }
    let body = read_body(body).await?;
    let mut params: Params = serde_json::from_slice(&body).map_err(|e| {
        Failure(ApiError::invalid_data(
            VALIDATION_MESSAGE,
            vec![ErrorDetail::new(
                DetailCode::InvalidValue,
                "body",
                format!("the request body is not valid: {e}"),
            )],
        ))
    })?;
    // The next page's link carries limit and offset in the query: POST the same body to it.
    params.limit = params.limit.or(from_query.limit);
    params.offset = params.offset.or(from_query.offset);
    respond(state, env, params, false).await
}
