//! Starting a server and building clients for it.

use std::time::Duration;

use fake_apiserver::{Config, Server};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// A server on a free loopback port.
pub async fn start(config: Config) -> Server {
    Server::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap()
}

/// A kube-rs client built from the server's kubeconfig, as a user would.
pub async fn client(server: &Server) -> kube::Client {
    client_from_yaml(&server.kubeconfig()).await
}

/// A kube-rs client from kubeconfig text.
pub async fn client_from_yaml(yaml: &str) -> kube::Client {
    let kc = Kubeconfig::from_yaml(yaml).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(cfg).unwrap()
}

/// A raw request; returns the HTTP status and the JSON body (a `Status` for errors).
pub async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.to_vec())
        .unwrap();
    match client.request_text(req).await {
        Ok(text) => (
            200,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ),
        Err(kube::Error::Api(status)) => (status.code, serde_json::to_value(&*status).unwrap()),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// POSTs to a `/_fake/` control endpoint.
pub async fn control(client: &kube::Client, path: &str, body: &str) -> Value {
    let (code, v) = raw(client, "POST", path, "application/json", body.as_bytes()).await;
    assert_eq!(code, 200, "{path}: {v}");
    v
}

/// Polls `check` until it returns Some, for at most 10 s (no fixed sleeps in tests).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
