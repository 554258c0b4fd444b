//! API errors as the real API server reports them: a `Status` object with the HTTP code, a
//! machine-readable `reason` and the message wording clients show (`persistentvolumes "x" not
//! found`), so kubectl prints `Error from server (NotFound): ...` and kube-rs gets an
//! `ErrorResponse` with the right code.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// A failed API call.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// `Status.details`, when the error concerns one object.
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, res: &ResourceDef, name: &str) -> ApiError {
        let mut d = json!({"name": name, "kind": res.plural});
        if !res.group.is_empty() {
            d["group"] = json!(res.group);
        }
        self.details = Some(d);
        self
    }

    /// 404: the named object does not exist.
    pub fn not_found(res: &ResourceDef, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", res.qualified()),
        )
        .with_details(res, name)
    }

    /// 404: the namespace an object would go in does not exist.
    pub fn namespace_not_found(ns: &str) -> ApiError {
        let mut e = ApiError::new(404, "NotFound", format!("namespaces \"{ns}\" not found"));
        e.details = Some(json!({"name": ns, "kind": "namespaces"}));
        e
    }

    /// 404: no such path (unknown group, version or resource).
    pub fn no_route() -> ApiError {
        let mut e = ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(json!({}));
        e
    }

    /// 409: create of an existing name.
    pub fn already_exists(res: &ResourceDef, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", res.qualified()),
        )
        .with_details(res, name)
    }

    /// 409: the resourceVersion (or uid) precondition does not hold.
    pub fn conflict(res: &ResourceDef, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                res.qualified()
            ),
        )
        .with_details(res, name)
    }

    /// 409: server-side apply would change fields another manager owns.
    pub fn apply_conflict(
        res: &ResourceDef,
        name: &str,
        conflicts: &[(String, String)],
    ) -> ApiError {
        let n = conflicts.len();
        let mut message = format!(
            "Apply failed with {n} conflict{}: ",
            if n == 1 { "" } else { "s" }
        );
        let lines: Vec<String> = conflicts
            .iter()
            .map(|(manager, field)| format!("conflict with \"{manager}\": {field}"))
            .collect();
        message.push_str(&lines.join("\n"));
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(manager, field)| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with \"{manager}\""), "field": field})
            })
            .collect();
        let mut e = ApiError::new(409, "Conflict", message).with_details(res, name);
        if let Some(d) = e.details.as_mut() {
            d["causes"] = Value::Array(causes);
        }
        e
    }

    /// 400: malformed request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    /// 422: the object fails validation; `field` and `why` as in `metadata.name: Required value`.
    pub fn invalid(res: &ResourceDef, name: &str, field: &str, why: &str) -> ApiError {
        let kind = if res.group.is_empty() {
            res.kind.clone()
        } else {
            format!("{}.{}", res.kind, res.group)
        };
        let message = format!("{kind} \"{name}\" is invalid: {field}: {why}");
        let mut e = ApiError::new(422, "Invalid", message).with_details(res, name);
        if let Some(d) = e.details.as_mut() {
            d["kind"] = json!(res.kind);
            d["causes"] = json!([{"reason": "FieldValueInvalid", "message": why, "field": field}]);
        }
        e
    }

    /// 422 without a specific object (a JSON patch that cannot be applied).
    pub fn unprocessable(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    /// 403: e.g. creating content in a terminating namespace.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "Forbidden", message)
    }

    /// 405: the verb is not served on this path.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    /// 415: unsupported patch or body content type.
    pub fn unsupported_media_type(content_type: &str, accepted: &[&str]) -> ApiError {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    /// 406: the client accepts no representation the server produces (protobuf only).
    pub fn not_acceptable() -> ApiError {
        ApiError::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        )
    }

    /// 410: a watch or continue token refers to history that is no longer kept.
    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    /// 504: a resourceVersion from the future.
    pub fn too_large_resource_version(asked: u64, current: u64) -> ApiError {
        let mut e = ApiError::new(
            504,
            "Timeout",
            format!("Too large resource version: {asked}, current: {current}"),
        );
        e.details = Some(
            json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
        );
        e
    }

    /// 401: missing or wrong bearer token.
    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// An injected failure (`POST /_fake/fail`): 500 InternalError or 429 TooManyRequests.
    pub fn injected(code: u16) -> ApiError {
        match code {
            429 => {
                let mut e = ApiError::new(
                    429,
                    "TooManyRequests",
                    "the server has received too many requests and has asked us to try again later (injected by fake-apiserver)",
                );
                e.details = Some(json!({"retryAfterSeconds": 1}));
                e
            }
            code => ApiError::new(
                code,
                "InternalError",
                "Internal error occurred: injected by fake-apiserver",
            ),
        }
    }

    /// 500: the server itself failed (e.g. the state journal could not be written).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// The `Status` object sent as the response body or in a watch `ERROR` event.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

/// The `Status` a successful delete returns for built-in types.
pub fn delete_success(res: &ResourceDef, name: &str, uid: &str) -> Value {
    let mut details = json!({"name": name, "kind": res.plural, "uid": uid});
    if !res.group.is_empty() {
        details["group"] = json!(res.group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}
