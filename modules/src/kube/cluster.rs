//! A connected API client: every call has a timeout and fails with a [`KubeError`] that names
//! the object and the host.

use super::connection::Connection;
use super::errors::{Cause, KubeError, Op};
use crate::Failure;
use std::future::Future;
use std::time::Duration;

/// A client for one API server, for one module invocation.
pub struct Cluster {
    client: kube::Client,
    host: String,
    timeout: Duration,
    pub(super) kinds: std::sync::Mutex<std::collections::HashMap<String, super::Kind>>,
}

impl Cluster {
    /// Connects with `connection` after its `K8S_AUTH_*` fallbacks. No request is made yet.
    pub async fn connect(connection: Connection) -> Result<Cluster, Failure> {
        let connection = connection.with_env_fallbacks();
        let config = connection
            .config()
            .await
            .map_err(|err| Failure::new(err.to_string()))?;
        let host = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let client = kube::Client::try_from(config).map_err(|err| {
            Failure::new(format!(
                "cannot set up a client for the API server at {host}: {err}"
            ))
        })?;
        Ok(Cluster {
            client,
            host,
            timeout: connection.timeout(),
            kinds: Default::default(),
        })
    }

    /// The API server URL, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Awaits one request with the request timeout; a failure says what `op` was doing.
    pub async fn call<T>(
        &self,
        op: impl FnOnce() -> Op,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, KubeError> {
        match tokio::time::timeout(self.timeout, request).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(KubeError::from_client(op(), &self.host, err)),
            Err(_) => Err(KubeError {
                op: op(),
                host: self.host.clone(),
                cause: Cause::Timeout(self.timeout),
            }),
        }
    }
}
