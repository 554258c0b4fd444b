//! The HTTP edge: POSTs one body to the webhook and says what happened.
//!
//! rustls on aws-lc-rs (the same provider kube uses, so there is only one). Trust: the system
//! CAs, or only the CAs in `WEBHOOK_CA_BUNDLE`, or nothing at all with
//! `WEBHOOK_INSECURE_SKIP_VERIFY` (labs). The token goes in `Authorization: Bearer`, marked
//! sensitive so the HTTP stack never logs it.

use crate::config::{self, HmacConfig, Secret, WebhookConfig};
use crate::retry::Failure;
use crate::sign::signature;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use std::time::Duration;

/// A configured webhook client.
pub struct Webhook {
    client: reqwest::Client,
    url: reqwest::Url,
    token: Option<Secret>,
    hmac: Option<(HeaderName, HmacConfig)>,
}

impl Webhook {
    /// Builds the client from the configuration; reads and checks `WEBHOOK_CA_BUNDLE`.
    pub fn new(cfg: &WebhookConfig) -> Result<Self, config::Error> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("ocpdr-forwarder/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(30))
            .http1_only()
            .no_proxy()
            .tls_danger_accept_invalid_certs(cfg.insecure_skip_verify);
        if let Some(path) = &cfg.ca_bundle {
            let var = "WEBHOOK_CA_BUNDLE";
            let pem = std::fs::read(path).map_err(|e| {
                config::Error::new(var, format!("cannot read {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    config::Error::new(var, format!("{} holds no PEM certificate", path.display()))
                })?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder.build().map_err(|e| {
            config::Error::new("WEBHOOK_URL", format!("cannot build the HTTP client: {e}"))
        })?;
        let hmac = match &cfg.hmac {
            None => None,
            Some(h) => Some((
                HeaderName::from_bytes(h.header.as_bytes()).map_err(|_| {
                    config::Error::new("WEBHOOK_HMAC_HEADER", "expected an HTTP header name")
                })?,
                h.clone(),
            )),
        };
        Ok(Webhook {
            client,
            url: reqwest::Url::parse(&cfg.url)
                .map_err(|e| config::Error::new("WEBHOOK_URL", e.to_string()))?,
            token: cfg.token.clone(),
            hmac,
        })
    }

    /// POSTs `body`; `Ok(status)` for a 2xx answer.
    pub async fn deliver(&self, body: Vec<u8>) -> Result<u16, Failure> {
        let mut request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some((header, h)) = &self.hmac {
            let sig = signature(h.secret.expose().as_bytes(), &body, h.format);
            request = request.header(header.clone(), sig);
        }
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, self.bearer(token));
        }
        let response = request.body(body).send().await.map_err(classify)?;
        let status = response.status().as_u16();
        // Read the (short) answer so the connection can be reused.
        let _ = response.bytes().await;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(Failure::Status(status))
        }
    }

    /// Checks the webhook before the first delivery, for readiness: a GET with the credentials.
    /// ansible.eda.webhook answers 405 to a GET that passes its token check and 401 to one that
    /// does not, so any answer but 401/403 counts as reachable and accepting the token.
    pub async fn probe(&self) -> Result<(), Failure> {
        let mut request = self.client.get(self.url.clone());
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, self.bearer(token));
        }
        let response = request.send().await.map_err(classify)?;
        match response.status().as_u16() {
            code @ (401 | 403) => Err(Failure::Status(code)),
            _ => Ok(()),
        }
    }

    fn bearer(&self, token: &Secret) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .expect("the token was checked to be printable ASCII");
        value.set_sensitive(true);
        value
    }
}

fn classify(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        Failure::Timeout
    } else if err.is_connect() {
        Failure::Connect
    } else {
        Failure::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::DigestFormat;
    use std::collections::HashMap;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-request HTTP server on loopback: answers `status` and returns the raw request.
    async fn one_shot(status: u16) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ocpdr", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= head_end + 4 + len {
                        break;
                    }
                }
            }
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            sock.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8(buf).unwrap()
        });
        (url, handle)
    }

    fn config(url: &str, env: &[(&str, &str)]) -> WebhookConfig {
        let mut vars: HashMap<String, String> = [("WEBHOOK_URL", url), ("CLUSTER_NAME", "c")]
            .iter()
            .chain(env)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.entry("WEBHOOK_TIMEOUT_S".into()).or_insert("5".into());
        match config::parse(|k| vars.get(k).cloned(), &[]).unwrap() {
            config::Command::Run(c) => c.webhook,
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn sends_json_with_bearer_token_and_hmac_signature() {
        let (url, server) = one_shot(200).await;
        let cfg = config(
            &url,
            &[("WEBHOOK_TOKEN", "t0k"), ("WEBHOOK_HMAC_SECRET", "Jefe")],
        );
        let hook = Webhook::new(&cfg).unwrap();
        let body = b"what do ya want for nothing?".to_vec();
        assert_eq!(hook.deliver(body.clone()).await, Ok(200));
        let request = server.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("post /ocpdr http/1.1"), "{request}");
        assert!(request.contains("authorization: bearer t0k"), "{request}");
        assert!(request.contains("content-type: application/json"));
        let sig = signature(b"Jefe", &body, DigestFormat::Hex);
        assert!(
            request.contains(&format!("x-hub-signature-256: {sig}")),
            "{request}"
        );
        assert!(request.ends_with("what do ya want for nothing?"));
    }

    #[tokio::test]
    async fn probe_counts_any_answer_but_a_credentials_refusal() {
        let (url, server) = one_shot(405).await;
        let hook = Webhook::new(&config(&url, &[("WEBHOOK_TOKEN", "t0k")])).unwrap();
        assert_eq!(hook.probe().await, Ok(()));
        let request = server.await.unwrap().to_ascii_lowercase();
        assert!(request.starts_with("get /ocpdr") && request.contains("authorization: bearer t0k"));
        let (url, _server) = one_shot(401).await;
        let hook = Webhook::new(&config(&url, &[])).unwrap();
        assert_eq!(hook.probe().await, Err(Failure::Status(401)));
    }

    #[tokio::test]
    async fn non_2xx_and_connection_errors_are_failures() {
        let (url, _server) = one_shot(401).await;
        let hook = Webhook::new(&config(&url, &[])).unwrap();
        assert_eq!(
            hook.deliver(b"{}".to_vec()).await,
            Err(Failure::Status(401))
        );

        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let hook = Webhook::new(&config(&url, &[])).unwrap();
        assert_eq!(hook.deliver(b"{}".to_vec()).await, Err(Failure::Connect));
        assert_eq!(hook.probe().await, Err(Failure::Connect));
    }

    #[test]
    fn a_bad_ca_bundle_is_a_configuration_error() {
        let dir = std::env::temp_dir().join(format!("ocpdr-fwd-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("ca.pem");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let cfg = config(
            "https://eda:5000/",
            &[("WEBHOOK_CA_BUNDLE", not_pem.to_str().unwrap())],
        );
        let err = Webhook::new(&cfg).err().unwrap();
        assert_eq!(err.name, "WEBHOOK_CA_BUNDLE");
        assert!(err.problem.contains("no PEM certificate"), "{err}");
        let missing = dir.join("missing.pem");
        let cfg = config(
            "https://eda:5000/",
            &[("WEBHOOK_CA_BUNDLE", missing.to_str().unwrap())],
        );
        assert!(
            Webhook::new(&cfg)
                .err()
                .unwrap()
                .problem
                .starts_with("cannot read")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
