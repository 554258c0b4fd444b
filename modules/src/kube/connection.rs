//! Where the API server is and who we are: the connection options every Kubernetes module
//! takes, named and resolved as kubernetes.core does.
//!
//! Each option falls back to its `K8S_AUTH_*` environment variable (`K8S_AUTH_KUBECONFIG`,
//! `K8S_AUTH_CONTEXT`, `K8S_AUTH_HOST`, `K8S_AUTH_API_KEY`, `K8S_AUTH_VALIDATE_CERTS` or
//! `K8S_AUTH_VERIFY_SSL`, `K8S_AUTH_CA_CERT` or `K8S_AUTH_SSL_CA_CERT`). Then:
//! - `host` given and neither `kubeconfig` nor `context`: only the options are used (a token
//!   from `api_key`, or anonymous);
//! - `kubeconfig` (a path or the kubeconfig itself as a mapping) or `context`: that kubeconfig
//!   (the default one for a bare `context`), with `host`, `api_key`, `validate_certs` and
//!   `ca_cert` overriding what it says;
//! - nothing: the in-cluster ServiceAccount when running in a pod, else the default kubeconfig
//!   (`KUBECONFIG` or `~/.kube/config`).

use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

/// The seconds a single API request may take unless `request_timeout` says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 30;

/// The connection options of one module invocation, before environment fallbacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    /// Path of a kubeconfig file, or a kubeconfig as a mapping.
    pub kubeconfig: Option<Value>,
    /// Context of the kubeconfig to use instead of its current context.
    pub context: Option<String>,
    /// API server URL, e.g. `https://api.dr.example.com:6443`.
    pub host: Option<String>,
    /// Bearer token (secret).
    pub api_key: Option<String>,
    /// Verify the API server's certificate.
    pub validate_certs: Option<bool>,
    /// Path of a CA bundle for the API server's certificate.
    pub ca_cert: Option<String>,
    /// Seconds a single request may take.
    pub request_timeout: Option<u64>,
}

/// Adds the connection options to a module's options struct and a `connection()` accessor.
///
/// ```ignore
/// ocpdr_modules::kube_options! {
///     /// The module's options.
///     #[derive(Deserialize)]
///     #[serde(deny_unknown_fields)]
///     pub struct Options {
///         #[serde(default)]
///         namespaces: Vec<String>,
///     }
/// }
/// ```
///
/// The fields are spelled out here once rather than flattened in with `#[serde(flatten)]`,
/// which would lose the list of valid options in unknown-option errors and the option name in
/// type errors.
#[macro_export]
macro_rules! kube_options {
    ($(#[$attr:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$attr])*
        $vis struct $name {
            $($body)*
            #[serde(default)]
            kubeconfig: Option<serde_json::Value>,
            #[serde(default)]
            context: Option<String>,
            #[serde(default)]
            host: Option<String>,
            #[serde(default)]
            api_key: Option<String>,
            #[serde(default)]
            validate_certs: Option<bool>,
            #[serde(default)]
            ca_cert: Option<String>,
            #[serde(default)]
            request_timeout: Option<u64>,
        }

        impl $name {
            /// The connection options of this invocation.
            fn connection(&self) -> $crate::kube::Connection {
                $crate::kube::Connection {
                    kubeconfig: self.kubeconfig.clone(),
                    context: self.context.clone(),
                    host: self.host.clone(),
                    api_key: self.api_key.clone(),
                    validate_certs: self.validate_certs,
                    ca_cert: self.ca_cert.clone(),
                    request_timeout: self.request_timeout,
                }
            }
        }
    };
}

/// Why no client configuration could be built. Messages name the option to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `host` is not a URL.
    #[error("host {host:?} is not a URL: expected e.g. https://api.example.com:6443")]
    BadHost {
        /// The value given.
        host: String,
    },
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig {what}: {detail}")]
    Kubeconfig {
        /// Which kubeconfig (path, "given as a mapping", or "default").
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// `ca_cert` cannot be read.
    #[error("ca_cert {path}: {detail}")]
    CaCert {
        /// The path given.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// `request_timeout` is zero.
    #[error("request_timeout must be at least 1 (seconds)")]
    ZeroTimeout,
    /// Nothing says where the API server is.
    #[error(
        "no Kubernetes connection found: not running in a pod and no kubeconfig at the default \
         location ({detail}); set host (and api_key), kubeconfig or context, or the K8S_AUTH_* \
         environment variables"
    )]
    Nothing {
        /// Why the default kubeconfig did not work.
        detail: String,
    },
}

impl Connection {
    /// Fills every unset option from its `K8S_AUTH_*` environment variable.
    pub fn with_env_fallbacks(mut self) -> Self {
        let env = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| std::env::var(name).ok())
                .filter(|v| !v.is_empty())
        };
        // kubernetes.core: any value other than 0/false/no is true.
        let flag = |v: String| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no");
        self.kubeconfig = self
            .kubeconfig
            .or_else(|| env(&["K8S_AUTH_KUBECONFIG"]).map(Value::String));
        self.context = self.context.or_else(|| env(&["K8S_AUTH_CONTEXT"]));
        self.host = self.host.or_else(|| env(&["K8S_AUTH_HOST"]));
        self.api_key = self.api_key.or_else(|| env(&["K8S_AUTH_API_KEY"]));
        self.validate_certs = self
            .validate_certs
            .or_else(|| env(&["K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"]).map(flag));
        self.ca_cert = self
            .ca_cert
            .or_else(|| env(&["K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"]));
        self
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT))
    }

    /// Builds the client configuration (after [`Connection::with_env_fallbacks`]).
    pub async fn config(&self) -> Result<kube::Config, ConfigError> {
        if self.request_timeout == Some(0) {
            return Err(ConfigError::ZeroTimeout);
        }
        let mut config = self.base_config().await?;
        if let Some(host) = &self.host {
            config.cluster_url = parse_host(host)?;
        }
        if let Some(token) = &self.api_key {
            config.auth_info = token_auth(token);
        }
        if let Some(validate) = self.validate_certs {
            config.accept_invalid_certs = !validate;
        }
        if let Some(path) = &self.ca_cert {
            std::fs::read(path).map_err(|err| ConfigError::CaCert {
                path: path.clone(),
                detail: err.to_string(),
            })?;
            config.root_cert_file = Some(PathBuf::from(path));
        }
        // Every call is bounded by `Cluster::call` with this timeout; the client's own connect
        // timeout only needs to be no shorter, so the message is always the same one.
        config.connect_timeout = Some(self.timeout());
        Ok(config)
    }

    async fn base_config(&self) -> Result<kube::Config, ConfigError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let kubeconfig_error = |what: &str, err: &dyn std::fmt::Display| ConfigError::Kubeconfig {
            what: what.to_owned(),
            detail: err.to_string(),
        };
        match (&self.kubeconfig, &self.host) {
            (Some(Value::String(path)), _) => {
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|err| kubeconfig_error(path, &err))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|err| kubeconfig_error(path, &err))
            }
            (Some(inline @ Value::Object(_)), _) => {
                let what = "given as a mapping";
                let kubeconfig: Kubeconfig = serde_json::from_value(inline.clone())
                    .map_err(|err| kubeconfig_error(what, &err))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|err| kubeconfig_error(what, &err))
            }
            (Some(other), _) => Err(ConfigError::Kubeconfig {
                what: "option".into(),
                detail: format!("expected a path or a kubeconfig mapping, got {other}"),
            }),
            (None, Some(host)) if self.context.is_none() => {
                Ok(kube::Config::new(parse_host(host)?))
            }
            (None, _) if self.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|err| kubeconfig_error("default", &err)),
            (None, _) => match kube::Config::incluster() {
                Ok(config) => Ok(config),
                Err(_) => kube::Config::from_kubeconfig(&options)
                    .await
                    .map_err(|err| ConfigError::Nothing {
                        detail: err.to_string(),
                    }),
            },
        }
    }
}

fn parse_host(host: &str) -> Result<http::Uri, ConfigError> {
    let trimmed = host.trim_end_matches('/');
    let bad = || ConfigError::BadHost {
        host: host.to_owned(),
    };
    let uri: http::Uri = trimmed.parse().map_err(|_| bad())?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        _ => Err(bad()),
    }
}

fn token_auth(token: &str) -> AuthInfo {
    // AuthInfo keeps the token in a secret type; building it from JSON avoids another dependency.
    serde_json::from_value(json!({ "token": token })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn host_and_token_alone_make_a_config() {
        let conn = Connection {
            host: Some("https://api.dr.example.com:6443/".into()),
            api_key: Some("tok".into()),
            validate_certs: Some(false),
            request_timeout: Some(7),
            ..Connection::default()
        };
        let config = block_on(conn.config()).unwrap();
        assert_eq!(
            config.cluster_url.to_string(),
            "https://api.dr.example.com:6443/"
        );
        assert!(config.accept_invalid_certs);
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(7)));
        assert!(config.auth_info.token.is_some());
    }

    #[test]
    fn bad_values_name_the_option() {
        let conn = Connection {
            host: Some("api.example.com".into()),
            ..Connection::default()
        };
        assert_eq!(
            block_on(conn.config()).unwrap_err().to_string(),
            "host \"api.example.com\" is not a URL: expected e.g. https://api.example.com:6443"
        );
        let conn = Connection {
            host: Some("http://127.0.0.1:1".into()),
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..Connection::default()
        };
        let err = block_on(conn.config()).unwrap_err().to_string();
        assert!(err.starts_with("ca_cert /nonexistent/ca.pem: "), "{err}");
        let conn = Connection {
            kubeconfig: Some(json!(5)),
            ..Connection::default()
        };
        assert_eq!(
            block_on(conn.config()).unwrap_err().to_string(),
            "kubeconfig option: expected a path or a kubeconfig mapping, got 5"
        );
    }

    #[test]
    fn an_inline_kubeconfig_and_its_context_are_used() {
        let kubeconfig = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "a",
            "clusters": [{"name": "a", "cluster": {"server": "http://127.0.0.1:1111"}},
                         {"name": "b", "cluster": {"server": "http://127.0.0.1:2222"}}],
            "contexts": [{"name": "a", "context": {"cluster": "a", "user": "u"}},
                         {"name": "b", "context": {"cluster": "b", "user": "u"}}],
            "users": [{"name": "u", "user": {}}],
        });
        let conn = Connection {
            kubeconfig: Some(kubeconfig),
            context: Some("b".into()),
            ..Connection::default()
        };
        let config = block_on(conn.config()).unwrap();
        assert_eq!(config.cluster_url.to_string(), "http://127.0.0.1:2222/");
        assert_eq!(config.connect_timeout, Some(Duration::from_secs(30)));
    }
}
