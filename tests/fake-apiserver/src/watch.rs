//! Watch streams: newline-delimited JSON events (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`,
//! `ERROR`) over a chunked `application/json` response, as kubectl and kube-rs read them.
//!
//! A watch from resourceVersion N replays the retained changes after N and goes on live; one
//! without a resourceVersion (or "0", or with `sendInitialEvents=true`) first sends every
//! matching object as ADDED. A resourceVersion older than the retained history gets one ERROR
//! event carrying a 410 `Expired` Status, which is what makes clients relist. Selectors are
//! applied to both the old and new state, so an object leaving the selection is DELETED for
//! that watcher. `timeoutSeconds` ends the stream cleanly (after a last bookmark); cutting the
//! watches (`POST /_fake/cut-watches`) aborts the connections mid-stream.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::ops::parse_resource_version;
use crate::resources::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Change, ChangeType, namespace_of};
use crate::table::{self, Include};

/// Watch request parameters.
#[derive(Debug, Clone, Default)]
pub struct WatchParams {
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// Events carry one-row Tables instead of objects (kubectl get -w).
    pub table: Option<Include>,
}

type Chunk = Result<Bytes, std::io::Error>;

struct Watcher {
    res: Arc<ResourceDef>,
    ns: Option<String>,
    params: WatchParams,
    tx: mpsc::Sender<Chunk>,
}

impl Watcher {
    fn selected(&self, obj: &Value) -> bool {
        self.ns.as_deref().is_none_or(|ns| namespace_of(obj) == ns)
            && self.params.labels.matches(obj)
            && self.params.fields.matches(obj)
    }

    fn encode(&self, kind: &str, obj: &Value) -> Bytes {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"object\":");
        let written = match self.params.table {
            Some(include) => {
                serde_json::to_writer(&mut out, &table::single(&self.res, obj, include))
            }
            None => serde_json::to_writer(&mut out, obj),
        };
        written.expect("a JSON value always serializes");
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj =
            json!({"kind": self.res.kind, "apiVersion": self.res.api_version(), "metadata": meta});
        let mut out =
            serde_json::to_vec(&json!({"type": "BOOKMARK", "object": obj})).expect("serializes");
        out.push(b'\n');
        Bytes::from(out)
    }

    /// The event this watcher sees for a change, if any.
    fn event_for(&self, change: &Change) -> Option<Bytes> {
        if change.storage != self.res.storage_key() {
            return None;
        }
        let now = self.selected(&change.object);
        let before = change.prev.as_deref().is_some_and(|p| self.selected(p));
        let kind = match change.kind {
            ChangeType::Added if now => "ADDED",
            ChangeType::Modified if now && before => "MODIFIED",
            ChangeType::Modified if now => "ADDED",
            ChangeType::Modified if before => "DELETED",
            ChangeType::Deleted if now => "DELETED",
            _ => return None,
        };
        Some(self.encode(kind, &change.object))
    }

    async fn send(&self, chunk: Bytes) -> bool {
        self.tx.send(Ok(chunk)).await.is_ok()
    }
}

fn error_event(err: &ApiError) -> Bytes {
    let mut out = serde_json::to_vec(&json!({"type": "ERROR", "object": err.to_status()}))
        .expect("serializes");
    out.push(b'\n');
    Bytes::from(out)
}

/// Starts a watch and returns the streaming response body.
pub fn start(
    sh: Arc<Shared>,
    res: Arc<ResourceDef>,
    ns: Option<String>,
    params: WatchParams,
) -> Result<Body, ApiError> {
    let asked = params
        .resource_version
        .as_deref()
        .filter(|s| !s.is_empty() && *s != "0")
        .map(parse_resource_version)
        .transpose()?;
    let (tx, rx) = mpsc::channel::<Chunk>(1024);
    let w = Watcher {
        res,
        ns,
        params,
        tx,
    };
    let send_initial = w.params.send_initial_events.unwrap_or(asked.is_none());

    let setup = {
        let store = sh.cluster.lock();
        let current = store.rv();
        match asked {
            Some(rv) if rv > current && !send_initial => {
                Err(ApiError::too_large_resource_version(rv, current))
            }
            Some(rv) if !send_initial => store
                .watch_from(rv)
                .map(|(replay, sub)| (Vec::new(), replay, sub, rv)),
            _ => {
                let initial: Vec<Arc<Value>> = if send_initial {
                    store
                        .range(&w.res, w.ns.as_deref(), None)
                        .filter(|(_, o)| w.selected(o))
                        .map(|(_, o)| o.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                store
                    .watch_from(current)
                    .map(|(replay, sub)| (initial, replay, sub, current))
            }
        }
    };
    let cut = sh.cut.subscribe();
    let interval = sh.config.bookmark_interval;
    tokio::spawn(async move {
        match setup {
            Err(e) => {
                let _ = w.send(error_event(&e)).await;
            }
            Ok((initial, replay, sub, start_rv)) => {
                run(
                    w,
                    initial,
                    replay,
                    sub,
                    start_rv,
                    cut,
                    interval,
                    send_initial,
                )
                .await
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(Body::from_stream(stream))
}

#[allow(clippy::too_many_arguments)]
async fn run(
    w: Watcher,
    initial: Vec<Arc<Value>>,
    replay: Vec<Arc<Change>>,
    mut sub: broadcast::Receiver<Arc<Change>>,
    start_rv: u64,
    mut cut: tokio::sync::watch::Receiver<u64>,
    interval: Duration,
    send_initial: bool,
) {
    cut.mark_unchanged();
    for obj in &initial {
        if !w.send(w.encode("ADDED", obj)).await {
            return;
        }
    }
    if send_initial
        && w.params.bookmarks
        && w.params.send_initial_events == Some(true)
        && !w.send(w.bookmark(start_rv, true)).await
    {
        return;
    }
    let mut last_rv = start_rv;
    for change in &replay {
        last_rv = change.rv;
        if let Some(ev) = w.event_for(change)
            && !w.send(ev).await
        {
            return;
        }
    }
    let deadline = w.params.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            received = sub.recv() => match received {
                Ok(change) => {
                    if change.rv <= last_rv {
                        continue;
                    }
                    last_rv = change.rv;
                    if let Some(ev) = w.event_for(&change)
                        && !w.send(ev).await {
                            return;
                        }
                }
                // Too slow to keep up, or the server is going away: end the stream; the client
                // resumes from the last resourceVersion it saw.
                Err(_) => return,
            },
            _ = ticker.tick(), if w.params.bookmarks => {
                if !w.send(w.bookmark(last_rv, false)).await {
                    return;
                }
            }
            () = async { tokio::time::sleep_until(deadline.expect("guarded")).await }, if deadline.is_some() => {
                if w.params.bookmarks {
                    let _ = w.send(w.bookmark(last_rv, false)).await;
                }
                return;
            }
            _ = cut.changed() => {
                let _ = w.tx.send(Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "watch cut by fake-apiserver"))).await;
                return;
            }
        }
    }
}
