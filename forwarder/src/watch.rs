//! The Kubernetes edge: one kube-rs `watcher` per kind, turned into changes.
//!
//! kube-rs lists, then watches from the list's resourceVersion, resumes after disconnects and
//! relists after `410 Gone` (emitting `Init`, `InitApply`…, `InitDone`). It does not say what
//! changed across a relist, nor distinguish ADDED from MODIFIED; [`crate::known::Known`] does
//! both. One gap is closed here: when the API server answers the watch *request* itself with 410
//! (rather than an ERROR event in the stream), kube-rs keeps retrying the stale resourceVersion,
//! so the stream is rebuilt, which relists.

use crate::filter::Filter;
use crate::kinds::Kind;
use crate::known::Known;
use crate::metrics::Metrics;
use crate::object::Object;
use crate::outbox::Outbox;
use crate::probes::Health;
use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use std::pin::pin;
use std::sync::Arc;
use tracing::{info, warn};

/// Everything one kind's watch needs.
pub struct Watch {
    /// The kind.
    pub kind: Kind,
    /// The Kubernetes client.
    pub client: Client,
    /// What to forward.
    pub filter: Arc<Filter>,
    /// Where changes go.
    pub outbox: Arc<Outbox>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub health: Arc<Health>,
}

fn api_resource(kind: Kind) -> ApiResource {
    ApiResource {
        group: kind.group().to_owned(),
        version: "v1".to_owned(),
        api_version: kind.api_version().to_owned(),
        kind: kind.name().to_owned(),
        plural: kind.plural().to_owned(),
    }
}

/// Whether kube-rs got `410 Gone` when (re)starting a watch, which it does not recover from.
fn gone_at_watch_start(err: &watcher::Error) -> bool {
    matches!(err, watcher::Error::WatchStartFailed(kube::Error::Api(s)) if s.code == 410)
}

fn to_object(kind: Kind, obj: DynamicObject) -> Object {
    Object::new(
        kind,
        serde_json::to_value(obj).expect("an object read from JSON serializes"),
    )
}

impl Watch {
    /// Watches forever, starting from `known` (empty, or the saved state).
    pub async fn run(self, mut known: Known) {
        let kind = self.kind;
        let mut listed_once = false;
        loop {
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &api_resource(kind));
            let mut stream =
                pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
            let mut listing: Vec<Object> = Vec::new();
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Event::Init) => {
                        listing.clear();
                        if listed_once {
                            self.metrics.relisted(kind);
                            info!(%kind, "relisting: comparing the list with what was forwarded");
                        }
                    }
                    Ok(Event::InitApply(obj)) => listing.push(to_object(kind, obj)),
                    Ok(Event::InitDone) => {
                        let listed = listing.len();
                        let changes = known.relist(&self.filter, std::mem::take(&mut listing));
                        info!(%kind, listed, forwarded = known.len(), changes = changes.len(), "list done");
                        for change in changes {
                            self.outbox.push(change).await;
                        }
                        self.metrics.known(kind, known.len());
                        if !listed_once {
                            listed_once = true;
                            self.health.listed(kind);
                        }
                    }
                    Ok(Event::Apply(obj)) => {
                        if let Some(change) = known.apply(&self.filter, to_object(kind, obj)) {
                            self.outbox.push(change).await;
                            self.metrics.known(kind, known.len());
                        }
                    }
                    Ok(Event::Delete(obj)) => {
                        if let Some(change) = known.delete(&self.filter, to_object(kind, obj)) {
                            self.outbox.push(change).await;
                            self.metrics.known(kind, known.len());
                        }
                    }
                    Err(err) if gone_at_watch_start(&err) => {
                        warn!(%kind, error = %err, "resourceVersion expired: relisting");
                        break;
                    }
                    Err(err) => warn!(%kind, error = %err, "watch error, retrying with backoff"),
                }
            }
        }
    }
}
