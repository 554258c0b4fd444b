//! The test control plane under `/_fake/`: fault injection (expire watch history, cut
//! watches, fail the next requests, add latency), the server's own write log, and the contents
//! of Velero backups the Restore controller restores from. Documented in the crate README;
//! never part of a real API server.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::json_response;
use crate::server::Shared;
use crate::status::ApiError;

/// Statuses `/_fake/fail` can inject.
const FAIL_STATUSES: &[u16] = &[429, 500, 502, 503, 504];

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], expected: &str) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        ApiError::bad_request(format!(
            "body at `{}`: {}; expected {expected}",
            e.path(),
            e.inner()
        ))
    })
}

/// `POST /_fake/expire-history`: the next watch resume from an older resourceVersion gets 410.
pub async fn expire_history(State(sh): State<Arc<Shared>>) -> Response {
    let mut store = sh.cluster.lock();
    store.expire_history();
    json_response(
        StatusCode::OK,
        &json!({"ok": true, "resourceVersion": store.rv().to_string()}),
    )
}

/// `POST /_fake/cut-watches`: aborts every open watch connection.
pub async fn cut_watches(State(sh): State<Arc<Shared>>) -> Response {
    let watches = sh.cut.receiver_count();
    sh.cut.send_modify(|n| *n += 1);
    json_response(StatusCode::OK, &json!({"ok": true, "watches": watches}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fail {
    count: u32,
    #[serde(default = "default_fail_status")]
    status: u16,
}

fn default_fail_status() -> u16 {
    500
}

/// `POST /_fake/fail {"count": N, "status": 500|429|502|503|504}`: the next N API requests fail.
pub async fn fail(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let f: Fail = match parse(&body, "{\"count\": N, \"status\": 500 or 429}") {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    if !FAIL_STATUSES.contains(&f.status) {
        return ApiError::bad_request(format!(
            "status: {} is not one of {FAIL_STATUSES:?}",
            f.status
        ))
        .into_response();
    }
    sh.faults.fail_status.store(f.status, Ordering::SeqCst);
    sh.faults.fail_remaining.store(f.count, Ordering::SeqCst);
    json_response(
        StatusCode::OK,
        &json!({"ok": true, "count": f.count, "status": f.status}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Latency {
    ms: u64,
}

/// `POST /_fake/latency {"ms": N}`: delays every API request by N ms (0 turns it off).
pub async fn latency(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let l: Latency = match parse(&body, "{\"ms\": N}") {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    sh.faults.latency_ms.store(l.ms, Ordering::SeqCst);
    json_response(StatusCode::OK, &json!({"ok": true, "ms": l.ms}))
}

/// `GET /_fake/history[?since=SEQ]`: every committed write in order (seq, type, apiVersion,
/// kind, namespace, name, uid, resourceVersion).
pub async fn history(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let since = match q.get("since").map(|s| s.parse::<u64>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return ApiError::bad_request("since: expected a sequence number").into_response();
        }
    };
    let store = sh.cluster.lock();
    let items: Vec<Value> = store.log_since(since).to_vec();
    json_response(
        StatusCode::OK,
        &json!({"resourceVersion": store.rv().to_string(), "items": items}),
    )
}

/// `PUT /_fake/backups/{name}` with a JSON array of objects: what the tarball of Velero backup
/// `name` holds (replacing earlier contents). Each object needs `apiVersion`, `kind` and
/// `metadata.name`.
pub async fn put_backup(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let objects: Vec<Value> = match parse(&body, "a JSON array of objects") {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    for (i, o) in objects.iter().enumerate() {
        for (field, pointer) in [
            ("apiVersion", "/apiVersion"),
            ("kind", "/kind"),
            ("metadata.name", "/metadata/name"),
        ] {
            if o.pointer(pointer)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return ApiError::bad_request(format!(
                    "body[{i}].{field}: expected a non-empty string"
                ))
                .into_response();
            }
        }
    }
    let items = objects.len();
    if let Err(e) = sh.backups.put(&name, objects) {
        return ApiError::internal(format!("{e:#}")).into_response();
    }
    json_response(
        StatusCode::OK,
        &json!({"ok": true, "name": name, "items": items}),
    )
}

/// `GET /_fake/backups`: the registered backups, `{"items": [{"name", "items"}]}` by name.
pub async fn backups(State(sh): State<Arc<Shared>>) -> Response {
    let items: Vec<Value> = sh
        .backups
        .counts()
        .into_iter()
        .map(|(name, n)| json!({"name": name, "items": n}))
        .collect();
    json_response(StatusCode::OK, &json!({"items": items}))
}
