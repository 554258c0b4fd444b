//! The HTTP face: routes, bearer-token authentication, injected faults, path parsing
//! (`/api/v1/...`, `/apis/<g>/<v>/...`, `namespaces/<ns>/...`, `/status`), query parameters,
//! content negotiation (JSON, YAML bodies, Tables, aggregated discovery) and the translation of
//! [`ApiError`]s into `Status` responses.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::Value;

use crate::control;
use crate::discovery;
use crate::openapi;
use crate::ops::{DeleteOpts, ListQuery, WriteOpts};
use crate::patch::{PATCH_TYPES, PatchType};
use crate::protobuf;
use crate::resources::{Registry, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::table::{self, Include};
use crate::watch::{self, WatchParams};

type Params = HashMap<String, String>;

/// All routes of the server.
pub fn router(sh: Arc<Shared>) -> Router {
    Router::new()
        .route("/_fake/healthz", get(|| async { "ok" }))
        .route("/_fake/history", get(control::history))
        .route("/_fake/expire-history", post(control::expire_history))
        .route("/_fake/cut-watches", post(control::cut_watches))
        .route("/_fake/fail", post(control::fail))
        .route("/_fake/latency", post(control::latency))
        .route("/_fake/backups", get(control::backups))
        .route("/_fake/backups/{name}", put(control::put_backup))
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/version",
            get(|| async { json_response(StatusCode::OK, &discovery::version()) }),
        )
        .route("/openapi/v2", get(openapi_v2))
        .route("/openapi/v3", get(openapi_v3_root))
        .route("/openapi/v3/{*gv}", get(openapi_v3_doc))
        .fallback(api)
        .layer(axum::extract::DefaultBodyLimit::max(3 * 1024 * 1024))
        .layer(middleware::from_fn_with_state(sh.clone(), guard))
        .with_state(sh)
}

/// A JSON response.
pub fn json_response(code: StatusCode, body: &Value) -> Response {
    bytes_response(
        code,
        "application/json",
        serde_json::to_vec(body).expect("JSON values serialize"),
    )
}

fn bytes_response(code: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = code;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("valid content type"),
    );
    r
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = json_response(code, &self.to_status());
        if self.code == 429 {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// Authentication (except the health probe), then for API requests (not `/_fake/`) the
/// injected latency and failures.
async fn guard(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/_fake/healthz" {
        return next.run(req).await;
    }
    if let Some(token) = &sh.config.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given.map(str::trim) != Some(token.as_str()) {
            return ApiError::unauthorized().into_response();
        }
    }
    if path.starts_with("/_fake/") {
        return next.run(req).await;
    }
    let latency = sh.faults.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fail = sh
        .faults
        .fail_remaining
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    if fail.is_ok() {
        return ApiError::injected(sh.faults.fail_status.load(Ordering::SeqCst)).into_response();
    }
    next.run(req).await
}

fn accept(headers: &HeaderMap) -> &str {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
}

async fn openapi_v2(headers: HeaderMap) -> Response {
    if accept(&headers).contains("protobuf") {
        return bytes_response(StatusCode::OK, openapi::V2_PROTOBUF, Vec::new());
    }
    json_response(StatusCode::OK, &openapi::v2_json())
}

async fn openapi_v3_root(State(sh): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &openapi::v3_root(&sh.cluster.registry))
}

async fn openapi_v3_doc(State(sh): State<Arc<Shared>>, uri: Uri) -> Response {
    let gv = uri.path().trim_start_matches("/openapi/v3/");
    match openapi::v3_document(&sh.cluster.registry, gv) {
        Some(doc) => json_response(StatusCode::OK, &doc),
        None => ApiError::no_route().into_response(),
    }
}

/// Where a resource request points.
enum Target {
    Collection {
        res: Arc<ResourceDef>,
        ns: Option<String>,
    },
    Object {
        res: Arc<ResourceDef>,
        ns: String,
        name: String,
        status: bool,
    },
}

fn route(
    registry: &Registry,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Target, ApiError> {
    let find = |plural: &str| registry.find(group, version, plural).cloned();
    let namespaced = |plural: &str| find(plural).filter(|r| r.namespaced);
    let cluster = |plural: &str| find(plural).filter(|r| !r.namespaced);
    let target =
        match rest {
            [plural] => find(plural).map(|res| Target::Collection { res, ns: None }),
            ["namespaces", ns, plural] if namespaced(plural).is_some() => {
                namespaced(plural).map(|res| Target::Collection {
                    res,
                    ns: Some((*ns).to_owned()),
                })
            }
            ["namespaces", ns, plural, name] => namespaced(plural).map(|res| Target::Object {
                res,
                ns: (*ns).to_owned(),
                name: (*name).to_owned(),
                status: false,
            }),
            ["namespaces", ns, plural, name, "status"] => namespaced(plural)
                .filter(|r| r.status)
                .map(|res| Target::Object {
                    res,
                    ns: (*ns).to_owned(),
                    name: (*name).to_owned(),
                    status: true,
                }),
            [plural, name] => cluster(plural).map(|res| Target::Object {
                res,
                ns: String::new(),
                name: (*name).to_owned(),
                status: false,
            }),
            [plural, name, "status"] => {
                cluster(plural)
                    .filter(|r| r.status)
                    .map(|res| Target::Object {
                        res,
                        ns: String::new(),
                        name: (*name).to_owned(),
                        status: true,
                    })
            }
            _ => None,
        };
    target.ok_or_else(ApiError::no_route)
}

/// Every `/api` and `/apis` request.
async fn api(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<Params>,
    body: Bytes,
) -> Response {
    match serve_api(&sh, &method, &uri, &headers, &params, &body) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn serve_api(
    sh: &Arc<Shared>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
    body: &[u8],
) -> Result<Response, ApiError> {
    let registry = &sh.cluster.registry;
    let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
    let accept = accept(headers);
    if accept.contains("protobuf")
        && !accept.contains("json")
        && !accept.contains("*/*")
        && !accept.contains("yaml")
    {
        return Err(ApiError::not_acceptable());
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["api"] | ["apis"] if *method == Method::GET => {
            let core = segments[0] == "api";
            if let Some(v) = discovery::aggregated_version(accept) {
                let doc = discovery::aggregated(registry, core, v);
                return Ok(bytes_response(
                    StatusCode::OK,
                    &discovery::aggregated_content_type(v),
                    serde_json::to_vec(&doc).expect("serializes"),
                ));
            }
            let doc = if core {
                discovery::core_versions(&sh.addr.to_string())
            } else {
                discovery::groups(registry)
            };
            return Ok(json_response(StatusCode::OK, &doc));
        }
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group] if *method == Method::GET => {
            return discovery::group(registry, group)
                .map(|g| json_response(StatusCode::OK, &g))
                .ok_or_else(ApiError::no_route);
        }
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route()),
    };
    if rest.is_empty() {
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed());
        }
        return discovery::resource_list(registry, group, version)
            .map(|l| json_response(StatusCode::OK, &l))
            .ok_or_else(ApiError::no_route);
    }
    match route(registry, group, version, rest)? {
        Target::Collection { res, ns } => collection(sh, method, headers, params, body, res, ns),
        Target::Object {
            res,
            ns,
            name,
            status,
        } => object(sh, method, headers, params, body, &res, &ns, &name, status),
    }
}

fn flag(params: &Params, key: &str) -> bool {
    matches!(params.get(key).map(String::as_str), Some("true" | "1"))
}

fn list_query(params: &Params, res: &ResourceDef) -> Result<ListQuery, ApiError> {
    let limit = match params.get("limit").filter(|s| !s.is_empty()) {
        Some(l) => Some(l.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "limit: Invalid value: {l:?}: must be a non-negative integer"
            ))
        })?),
        None => None,
    };
    Ok(ListQuery {
        labels: LabelSelector::parse(params.get("labelSelector").map_or("", String::as_str))?,
        fields: FieldSelector::parse(
            params.get("fieldSelector").map_or("", String::as_str),
            &res.kind,
        )?,
        limit,
        continue_token: params.get("continue").filter(|s| !s.is_empty()).cloned(),
        resource_version: params.get("resourceVersion").cloned(),
        resource_version_match: params
            .get("resourceVersionMatch")
            .filter(|s| !s.is_empty())
            .cloned(),
    })
}

fn write_opts(params: &Params, headers: &HeaderMap, status: bool) -> Result<WriteOpts, ApiError> {
    let dry_run = match params.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: {other:?}: supported values: \"All\""
            )));
        }
    };
    let manager = match params.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) if m.len() > 128 => {
            return Err(ApiError::bad_request(
                "fieldManager: Too long: may not be longer than 128",
            ));
        }
        Some(m) => m.clone(),
        None => headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.split('/')
                    .next()
                    .unwrap_or(ua)
                    .chars()
                    .take(128)
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(WriteOpts {
        dry_run,
        manager,
        force: flag(params, "force"),
        status,
    })
}

fn parse_body(headers: &HeaderMap, body: &[u8], res: &ResourceDef) -> Result<Value, ApiError> {
    let ct = content_type(headers)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let unrecognized = |e: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
            res.kind
        ))
    };
    match ct.as_str() {
        "application/json" | "" | "*/*" => {
            serde_json::from_slice(body).map_err(|e| unrecognized(e.to_string()))
        }
        "application/yaml" => {
            let text = std::str::from_utf8(body).map_err(|e| unrecognized(e.to_string()))?;
            serde_yaml_ng::from_str(text).map_err(|e| unrecognized(e.to_string()))
        }
        protobuf::CONTENT_TYPE => protobuf::decode(body).map_err(|e| match e {
            protobuf::Error::Unsupported(m) => {
                ApiError::unsupported_media_type(&m, &["application/json", "application/yaml"])
            }
            protobuf::Error::Malformed(m) => unrecognized(m),
        }),
        other => Err(ApiError::unsupported_media_type(
            other,
            &["application/json", "application/yaml"],
        )),
    }
}

fn collection(
    sh: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    params: &Params,
    body: &[u8],
    res: Arc<ResourceDef>,
    ns: Option<String>,
) -> Result<Response, ApiError> {
    match *method {
        Method::GET if flag(params, "watch") => {
            let q = list_query(params, &res)?;
            let timeout = match params.get("timeoutSeconds").filter(|s| !s.is_empty()) {
                Some(t) => Some(Duration::from_secs(t.parse().map_err(|_| {
                    ApiError::bad_request(format!("timeoutSeconds: Invalid value: {t:?}"))
                })?)),
                None => None,
            };
            let wp = WatchParams {
                resource_version: q.resource_version,
                labels: q.labels,
                fields: q.fields,
                bookmarks: flag(params, "allowWatchBookmarks"),
                timeout,
                send_initial_events: params.get("sendInitialEvents").map(|v| v == "true"),
                table: table::wanted(accept(headers))
                    .then(|| Include::parse(params.get("includeObject").map(String::as_str))),
            };
            let body = watch::start(sh.clone(), res, ns, wp)?;
            let mut r = Response::new(body);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(r)
        }
        Method::GET => {
            let q = list_query(params, &res)?;
            let page = sh.cluster.list(&res, ns.as_deref(), &q)?;
            if table::wanted(accept(headers)) {
                let include = Include::parse(params.get("includeObject").map(String::as_str));
                let t = table::table(
                    &res,
                    &page.items,
                    page.rv,
                    page.continue_token.as_deref(),
                    include,
                );
                return Ok(json_response(StatusCode::OK, &t));
            }
            Ok(bytes_response(
                StatusCode::OK,
                "application/json",
                list_body(&res, &page),
            ))
        }
        Method::POST => {
            let ns = match (&ns, res.namespaced) {
                (Some(ns), true) => ns.clone(),
                (None, false) => String::new(),
                _ => return Err(ApiError::method_not_allowed()),
            };
            let obj = parse_body(headers, body, &res)?;
            let o = write_opts(params, headers, false)?;
            let created = sh.cluster.create(&res, &ns, obj, &o)?;
            Ok(json_response(StatusCode::CREATED, &created))
        }
        Method::DELETE => {
            let q = list_query(params, &res)?;
            let o = delete_opts(params, body)?;
            Ok(json_response(
                StatusCode::OK,
                &sh.cluster.delete_collection(&res, ns.as_deref(), &q, &o)?,
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A list response, written item by item (no copy of the whole list as one JSON value).
fn list_body(res: &ResourceDef, page: &crate::ops::ListPage) -> Vec<u8> {
    let mut meta = serde_json::json!({"resourceVersion": page.rv.to_string()});
    if let Some(c) = &page.continue_token {
        meta["continue"] = Value::String(c.clone());
    }
    if let Some(n) = page.remaining {
        meta["remainingItemCount"] = Value::from(n);
    }
    let mut out = Vec::with_capacity(256 + page.items.len() * 512);
    out.extend_from_slice(b"{\"kind\":");
    serde_json::to_writer(&mut out, &format!("{}List", res.kind)).expect("serializes");
    out.extend_from_slice(b",\"apiVersion\":");
    serde_json::to_writer(&mut out, &res.api_version()).expect("serializes");
    out.extend_from_slice(b",\"metadata\":");
    serde_json::to_writer(&mut out, &meta).expect("serializes");
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &**item).expect("serializes");
    }
    out.extend_from_slice(b"]}");
    out
}

fn delete_opts(params: &Params, body: &[u8]) -> Result<DeleteOpts, ApiError> {
    let opts: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let dry_run = params.get("dryRun").map(String::as_str) == Some("All")
        || opts["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOpts {
        dry_run,
        uid: opts
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        resource_version: opts
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[allow(clippy::too_many_arguments)]
fn object(
    sh: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    params: &Params,
    body: &[u8],
    res: &Arc<ResourceDef>,
    ns: &str,
    name: &str,
    status: bool,
) -> Result<Response, ApiError> {
    let cluster = &sh.cluster;
    match *method {
        Method::GET => {
            let obj = cluster.get(res, ns, name)?;
            if table::wanted(accept(headers)) {
                let include = Include::parse(params.get("includeObject").map(String::as_str));
                return Ok(json_response(
                    StatusCode::OK,
                    &table::single(res, &obj, include),
                ));
            }
            Ok(json_response(StatusCode::OK, &obj))
        }
        Method::PUT => {
            let obj = parse_body(headers, body, res)?;
            let o = write_opts(params, headers, status)?;
            Ok(json_response(
                StatusCode::OK,
                &cluster.update(res, ns, name, obj, &o)?,
            ))
        }
        Method::PATCH => {
            let ct = content_type(headers);
            let ptype = PatchType::from_content_type(ct)
                .ok_or_else(|| ApiError::unsupported_media_type(ct, PATCH_TYPES))?;
            let o = write_opts(params, headers, status)?;
            let (obj, created) = cluster.patch(res, ns, name, ptype, body, &o)?;
            Ok(json_response(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &obj,
            ))
        }
        Method::DELETE if !status => {
            let o = delete_opts(params, body)?;
            Ok(json_response(
                StatusCode::OK,
                &cluster.delete(res, ns, name, &o)?,
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}
