//! `/healthz`, `/readyz` and `/metrics` on `LISTEN_ADDR`.
//!
//! - `/healthz`: 200 while the process serves requests (the liveness probe).
//! - `/readyz`: 200 once every watched kind has been listed and the webhook answered: its last
//!   delivery got a 2xx, or, before any delivery, a probe with the credentials was not refused.
//!   503 with the reasons otherwise (e.g. while the webhook refuses the token), so
//!   `kubectl get pods` shows a forwarder that is not forwarding.
//! - `/metrics`: [`crate::metrics`].

use crate::kinds::Kind;
use crate::metrics::Metrics;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const WEBHOOK_UNKNOWN: u8 = 0;
const WEBHOOK_OK: u8 = 1;
const WEBHOOK_FAILING: u8 = 2;

/// What readiness depends on.
pub struct Health {
    expected: Vec<Kind>,
    listed: Mutex<BTreeSet<Kind>>,
    webhook: AtomicU8,
    delivered_once: AtomicBool,
}

impl Health {
    /// Nothing listed, webhook not yet heard from.
    pub fn new(kinds: &[Kind]) -> Self {
        Health {
            expected: kinds.to_vec(),
            listed: Mutex::new(BTreeSet::new()),
            webhook: AtomicU8::new(WEBHOOK_UNKNOWN),
            delivered_once: AtomicBool::new(false),
        }
    }

    /// The first list of `kind` is done.
    pub fn listed(&self, kind: Kind) {
        self.listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind);
    }

    /// A delivery got a 2xx, or failed: the latest outcome decides.
    pub fn delivery(&self, ok: bool) {
        self.delivered_once.store(true, Ordering::Release);
        let state = if ok { WEBHOOK_OK } else { WEBHOOK_FAILING };
        self.webhook.store(state, Ordering::Release);
    }

    /// A probe before the first delivery: the webhook answered and accepts the credentials
    /// (`true`), or refused them (`false`). Ignored once deliveries speak for the webhook.
    pub fn probed(&self, ok: bool) {
        if !self.delivered_once.load(Ordering::Acquire) {
            let state = if ok { WEBHOOK_OK } else { WEBHOOK_FAILING };
            self.webhook.store(state, Ordering::Release);
        }
    }

    /// Whether a delivery has been attempted (probes are then no longer needed).
    pub fn delivered_once(&self) -> bool {
        self.delivered_once.load(Ordering::Acquire)
    }

    /// `Ok` when ready, else what is missing.
    pub fn readiness(&self) -> Result<(), String> {
        let listed = self.listed.lock().unwrap_or_else(|p| p.into_inner());
        let mut missing: Vec<String> = self
            .expected
            .iter()
            .filter(|k| !listed.contains(k))
            .map(|k| format!("waiting for the first list of {k}"))
            .collect();
        match self.webhook.load(Ordering::Acquire) {
            WEBHOOK_OK => {}
            WEBHOOK_FAILING => missing.push(
                "the webhook's last answer was a failure (see delivery_failures_total)".into(),
            ),
            _ => missing.push("the webhook has not answered yet".into()),
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        }
    }
}

/// Serves the probes and metrics on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, health: Arc<Health>, metrics: Arc<Metrics>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (health, metrics) = (health.clone(), metrics.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let response = answer(req.uri().path(), &health, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn answer(path: &str, health: &Health, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match path {
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/readyz" => match health.readiness() {
            Ok(()) => (StatusCode::OK, "text/plain", "ready\n".to_owned()),
            Err(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                format!("not ready: {why}\n"),
            ),
        },
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_listed_and_the_webhook_answers() {
        let h = Health::new(&[Kind::PersistentVolume, Kind::VolumeSnapshot]);
        let why = h.readiness().unwrap_err();
        assert!(
            why.contains("first list of PersistentVolume") && why.contains("not answered"),
            "{why}"
        );
        h.listed(Kind::PersistentVolume);
        h.listed(Kind::VolumeSnapshot);
        h.probed(false);
        assert!(h.readiness().unwrap_err().contains("failure"));
        h.probed(true);
        assert_eq!(h.readiness(), Ok(()));
        h.delivery(false);
        assert!(h.readiness().unwrap_err().contains("failure"));
        h.probed(true);
        assert!(
            h.readiness().is_err(),
            "a probe does not hide a failing delivery"
        );
        h.delivery(true);
        assert_eq!(h.readiness(), Ok(()));
    }

    #[test]
    fn answers_each_path() {
        let h = Health::new(&[]);
        let m = Metrics::new();
        assert_eq!(answer("/healthz", &h, &m).status(), StatusCode::OK);
        assert_eq!(
            answer("/readyz", &h, &m).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        h.probed(true);
        assert_eq!(answer("/readyz", &h, &m).status(), StatusCode::OK);
        assert_eq!(answer("/metrics", &h, &m).status(), StatusCode::OK);
        assert_eq!(answer("/nope", &h, &m).status(), StatusCode::NOT_FOUND);
    }
}
