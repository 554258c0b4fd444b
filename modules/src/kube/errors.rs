//! Errors from the API server, explained: which object, what the server said, and what to do.
//!
//! A raw client error ("ApiError: Forbidden (ErrorResponse { ... })") tells an operator at 3 a.m.
//! nothing they can act on. [`KubeError`] keeps what the request was doing and where, and its
//! message names the object and says what the status code means for it: 401 (credentials, with
//! the host), 403 (RBAC), 404 (object, namespace or API kind missing), 409 (field-manager
//! conflict or already exists), 422 (invalid object, with the API's field causes).

use kube::core::Status;
use std::fmt;
use std::time::Duration;

/// What a request was doing: a verb (`get`, `list`, `apply`, `delete`, `patch`, `create`) and
/// the object or collection, e.g. `PersistentVolumeClaim app/disk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The verb.
    pub verb: &'static str,
    /// The object or collection.
    pub target: String,
}

impl Op {
    /// An operation on `target`.
    pub fn new(verb: &'static str, target: impl fmt::Display) -> Self {
        Op {
            verb,
            target: target.to_string(),
        }
    }
}

/// What went wrong.
#[derive(Debug)]
pub enum Cause {
    /// The API server answered with an error status.
    Api(Box<Status>),
    /// No answer within the request timeout.
    Timeout(Duration),
    /// The request did not get an answer (connection refused, TLS failure, DNS, ...).
    Transport(String),
    /// The API server does not serve the kind (discovery found no such resource).
    NotServed(String),
}

/// A failed request, with everything needed to explain it.
#[derive(Debug)]
pub struct KubeError {
    /// What the request was doing.
    pub op: Op,
    /// The API server URL.
    pub host: String,
    /// What went wrong.
    pub cause: Cause,
}

impl KubeError {
    /// Wraps a client error.
    pub fn from_client(op: Op, host: &str, err: kube::Error) -> Self {
        let cause = match err {
            kube::Error::Api(status) => Cause::Api(status),
            kube::Error::Discovery(err) => Cause::NotServed(err.to_string()),
            other => Cause::Transport(error_chain(&other)),
        };
        KubeError {
            op,
            host: host.to_owned(),
            cause,
        }
    }

    /// The HTTP status code, when the server answered.
    pub fn code(&self) -> Option<u16> {
        match &self.cause {
            Cause::Api(status) => Some(status.code),
            _ => None,
        }
    }

    /// Whether the server said 404.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// Whether the server said 409.
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }
}

/// The message and its sources, joined: `a: b: c`.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = err.source();
    }
    out
}

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Op { verb, target } = &self.op;
        let host = &self.host;
        write!(f, "{verb} {target}: ")?;
        let status = match &self.cause {
            Cause::Timeout(after) => {
                return write!(
                    f,
                    "no answer from the API server at {host} within {}s (request_timeout)",
                    after.as_secs()
                );
            }
            Cause::Transport(detail) => {
                return write!(f, "cannot reach the API server at {host}: {detail}");
            }
            Cause::NotServed(api) => {
                return write!(
                    f,
                    "the API server at {host} does not serve {api}: is its CRD or operator installed?"
                );
            }
            Cause::Api(status) => status,
        };
        let message = if status.message.is_empty() {
            status.reason.as_str()
        } else {
            status.message.as_str()
        };
        match status.code {
            401 => write!(
                f,
                "401 Unauthorized: the API server at {host} rejected the credentials (api_key, \
                 K8S_AUTH_API_KEY or the kubeconfig user): the token is wrong or has expired"
            ),
            403 => write!(
                f,
                "403 Forbidden: {message}. The user or ServiceAccount needs RBAC permission to \
                 {verb} it (a Role or ClusterRole bound to it)"
            ),
            404 => {
                let hint = if status
                    .details
                    .as_ref()
                    .is_some_and(|d| d.kind == "namespaces")
                {
                    "its namespace does not exist"
                } else if status.reason == "NotFound" {
                    "it does not exist"
                } else {
                    "the API server does not serve this kind: is its CRD or operator installed?"
                };
                write!(f, "404 Not Found: {message} ({hint})")
            }
            409 if status.reason == "AlreadyExists" => {
                write!(f, "409 AlreadyExists: {message}")
            }
            409 if *verb == "apply" => write!(
                f,
                "409 Conflict: {message}. Another field manager owns these fields; set \
                 force_conflicts: true to take them over for the ocpdr field manager"
            ),
            409 => write!(
                f,
                "409 Conflict: {message}. The object changed while it was being updated; run again"
            ),
            422 => {
                write!(
                    f,
                    "422 Invalid: the API server rejected the object: {message}"
                )?;
                let causes = status
                    .details
                    .as_ref()
                    .map(|d| d.causes.as_slice())
                    .unwrap_or_default();
                for cause in causes.iter().filter(|c| !message.contains(&c.message)) {
                    write!(f, "; {}: {}", cause.field, cause.message)?;
                }
                Ok(())
            }
            429 | 500..=599 => write!(
                f,
                "{} {}: {message} (the API server at {host} is overloaded or failing; try again later)",
                status.code, status.reason
            ),
            code => write!(f, "{code} {}: {message}", status.reason),
        }
    }
}

impl std::error::Error for KubeError {}

impl From<KubeError> for crate::Failure {
    fn from(err: KubeError) -> Self {
        crate::Failure::new(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::response::{StatusCause, StatusDetails};

    fn api(code: u16, reason: &str, message: &str) -> KubeError {
        KubeError {
            op: Op::new("apply", "PersistentVolume pv-1"),
            host: "https://api.dr:6443".into(),
            cause: Cause::Api(Status::failure(message, reason).with_code(code).boxed()),
        }
    }

    #[test]
    fn each_status_code_is_explained() {
        assert_eq!(
            api(401, "Unauthorized", "Unauthorized").to_string(),
            "apply PersistentVolume pv-1: 401 Unauthorized: the API server at https://api.dr:6443 \
             rejected the credentials (api_key, K8S_AUTH_API_KEY or the kubeconfig user): the \
             token is wrong or has expired"
        );
        let forbidden = api(
            403,
            "Forbidden",
            "persistentvolumes \"pv-1\" is forbidden: User \"x\" cannot patch",
        );
        assert!(forbidden.to_string().contains(
            "cannot patch. The user or ServiceAccount needs RBAC permission to apply it"
        ));
        let conflict = api(
            409,
            "Conflict",
            "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.nfs.path",
        );
        assert!(conflict.is_conflict());
        assert!(conflict.to_string().ends_with(
            ".spec.nfs.path. Another field manager owns these fields; set force_conflicts: true to \
             take them over for the ocpdr field manager"
        ));
        assert!(
            api(404, "NotFound", "persistentvolumes \"pv-1\" not found")
                .to_string()
                .ends_with("(it does not exist)")
        );
        assert!(
            api(404, "Failed to parse error data", "404 page not found")
                .to_string()
                .ends_with("is its CRD or operator installed?)")
        );
        assert!(
            api(503, "ServiceUnavailable", "etcd")
                .to_string()
                .contains("try again later")
        );
    }

    #[test]
    fn invalid_objects_list_the_fields() {
        let mut err = api(422, "Invalid", "PersistentVolume \"pv-1\" is invalid");
        if let Cause::Api(status) = &mut err.cause {
            status.details = Some(StatusDetails {
                name: "pv-1".into(),
                group: String::new(),
                kind: "persistentvolumes".into(),
                uid: String::new(),
                causes: vec![StatusCause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value".into(),
                    field: "spec.capacity".into(),
                }],
                retry_after_seconds: 0,
            });
        }
        assert_eq!(
            err.to_string(),
            "apply PersistentVolume pv-1: 422 Invalid: the API server rejected the object: \
             PersistentVolume \"pv-1\" is invalid; spec.capacity: Required value"
        );
    }

    #[test]
    fn transport_problems_and_timeouts_name_the_host() {
        let err = KubeError {
            op: Op::new("list", "PersistentVolumeClaims in app"),
            host: "http://127.0.0.1:9".into(),
            cause: Cause::Timeout(Duration::from_secs(5)),
        };
        assert_eq!(
            err.to_string(),
            "list PersistentVolumeClaims in app: no answer from the API server at http://127.0.0.1:9 within 5s (request_timeout)"
        );
        assert_eq!(err.code(), None);
    }
}
