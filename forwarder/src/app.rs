//! Wiring: starts the probes, the saved state, the delivery workers and one watch per kind;
//! on SIGTERM or SIGINT stops the watches, drains the queue for up to `SHUTDOWN_GRACE_S`, then
//! saves the state.

use crate::config::Config;
use crate::deliver::{self, Acknowledge, Deliverable, Delivery};
use crate::known::Known;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::probes::{self, Health};
use crate::retry::Failure;
use crate::state::Snapshot;
use crate::state_store::{Delivered, LoadError, Store};
use crate::watch::Watch;
use crate::webhook::Webhook;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

/// Runs the forwarder until SIGTERM/SIGINT. `webhook` is built (and its TLS settings checked)
/// by the caller, as part of validating the configuration.
pub async fn run(cfg: Config, webhook: Webhook) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(&cfg.filter.kinds));
    let listener = tokio::net::TcpListener::bind(cfg.delivery.listen)
        .await
        .with_context(|| format!("LISTEN_ADDR: cannot listen on {}", cfg.delivery.listen))?;
    let probes = tokio::spawn(probes::serve(listener, health.clone(), metrics.clone()));

    let client = kube::Client::try_default().await.context(
        "cannot configure the Kubernetes client (in-cluster service account or KUBECONFIG)",
    )?;

    let store = cfg.state.clone().map(|r| Store::new(client.clone(), r));
    let snapshot = load_state(store.as_ref(), &cfg.delivery.cluster).await?;
    let saved_objects = snapshot.len();
    let known: Vec<Known> = cfg
        .filter
        .kinds
        .iter()
        .map(|&kind| Known::new(kind, snapshot.stubs(kind)))
        .collect();
    // The acknowledged state is kept only where it is saved.
    let delivered = store.as_ref().map(|_| Arc::new(Delivered::new(snapshot)));
    let acknowledge = delivered
        .clone()
        .map(|d| d as Arc<dyn Acknowledge<crate::payload::Change>>);

    let outbox = Arc::new(Outbox::new(
        cfg.delivery.queue_capacity,
        cfg.coalesce,
        metrics.clone(),
    ));
    let delivery = Arc::new(Delivery {
        outbox: outbox.clone(),
        webhook,
        metrics: metrics.clone(),
        health: health.clone(),
        delivered: acknowledge,
        cluster: cfg.delivery.cluster.clone(),
        retry_initial: cfg.delivery.retry_initial,
        retry_max: cfg.delivery.retry_max,
        slow_retry: cfg.delivery.auth_retry,
    });
    let workers = delivery.spawn_workers(cfg.delivery.workers);
    let readiness_probe = tokio::spawn(probe_webhook(delivery.clone()));

    let filter = Arc::new(cfg.filter.clone());
    let mut watches = JoinSet::new();
    for known in known {
        let watch = Watch {
            kind: known.kind(),
            client: client.clone(),
            filter: filter.clone(),
            outbox: outbox.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
        };
        watches.spawn(watch.run(known));
    }
    let saver = store.zip(delivered).map(|(store, delivered)| {
        let store = Arc::new(store);
        let task = tokio::spawn(save_periodically(
            store.clone(),
            delivered.clone(),
            metrics.clone(),
            cfg.state_flush,
        ));
        (store, delivered, task)
    });
    info!(
        kinds = ?cfg.filter.kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
        namespaces = ?cfg.filter.namespaces, cluster = cfg.delivery.cluster, webhook = cfg.webhook.url,
        state = cfg.state.as_ref().map(|s| format!("{}/{}", s.namespace, s.name)),
        saved_objects, listen = %cfg.delivery.listen, "ocpdr-forwarder started"
    );

    wait_for_signal().await?;
    info!(
        pending = outbox.pending(),
        grace_s = cfg.delivery.shutdown_grace.as_secs(),
        "stopping: draining the queue"
    );
    watches.abort_all();
    outbox.close();
    if !deliver::drain(workers, cfg.delivery.shutdown_grace).await {
        warn!(
            undelivered = outbox.pending(),
            "grace period over: undelivered changes are sent again after the restart"
        );
    }
    readiness_probe.abort();
    probes.abort();
    if let Some((store, delivered, task)) = saver {
        task.abort();
        save_once(&store, &delivered, &metrics).await;
    }
    info!("stopped");
    Ok(())
}

async fn load_state(store: Option<&Store>, cluster: &str) -> anyhow::Result<Snapshot> {
    let Some(store) = store else {
        info!("no STATE_CONFIGMAP: the first list sends ADDED for every existing object");
        return Ok(Snapshot::empty(cluster));
    };
    match store.load().await {
        Ok(Some(snapshot)) => {
            if snapshot.cluster != cluster {
                warn!(
                    saved = snapshot.cluster,
                    cluster, "state was saved under another CLUSTER_NAME"
                );
            }
            info!(
                objects = snapshot.len(),
                configmap = store.describe(),
                "loaded saved state"
            );
            Ok(snapshot)
        }
        Ok(None) => {
            info!(
                configmap = store.describe(),
                "no saved state yet: the first list sends ADDED for every object"
            );
            Ok(Snapshot::empty(cluster))
        }
        Err(err @ LoadError::Decode { .. }) => {
            error!(error = %err, "saved state unreadable: starting without it (every object is sent as ADDED, deletions while down are missed)");
            Ok(Snapshot::empty(cluster))
        }
        Err(err) => Err(err).context("STATE_CONFIGMAP"),
    }
}

async fn save_periodically(
    store: Arc<Store>,
    delivered: Arc<Delivered>,
    metrics: Arc<Metrics>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        save_once(&store, &delivered, &metrics).await;
    }
}

async fn save_once(store: &Store, delivered: &Delivered, metrics: &Metrics) {
    let Some(snapshot) = delivered.take_dirty() else {
        return;
    };
    let result = match snapshot.encode() {
        Ok(bytes) => store.save(&bytes).await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    metrics.state_saved(result.is_ok());
    if let Err(err) = result {
        delivered.mark_dirty();
        error!(
            configmap = store.describe(),
            error = format!("{err:#}"),
            "cannot save state"
        );
    }
}

/// Until the first delivery, checks the webhook every 2 s (readiness), until it answers and
/// accepts the credentials; a refusal is logged once.
pub(crate) async fn probe_webhook<T: Deliverable>(delivery: Arc<Delivery<T>>) {
    let mut refusal_logged = false;
    while !delivery.health.delivered_once() {
        match delivery.webhook.probe().await {
            Ok(()) => {
                delivery.health.probed(true);
                return;
            }
            Err(failure @ Failure::Status(_)) => {
                delivery.health.probed(false);
                if !refusal_logged {
                    error!(reason = failure.reason(), "configuration error: {failure}");
                    refusal_logged = true;
                }
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Returns at SIGTERM or SIGINT.
pub(crate) async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM received"),
        _ = int.recv() => info!("SIGINT received"),
    }
    Ok(())
}
