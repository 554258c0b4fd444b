//! Wiring of `nfs-watch`: probes and metrics, the journal, the delivery workers (shared with the
//! Kubernetes forwarder), the filesystem source, and the loop that maps changes to volumes,
//! debounces them and queues one event per burst. On SIGTERM/SIGINT every open burst is closed
//! and queued at once, and the queue drained for up to `SHUTDOWN_GRACE_S`; what is still
//! undelivered stays in the journal and is sent after the restart.

use crate::app::{probe_webhook, wait_for_signal};
use crate::deliver::{self, Acknowledge, Delivery};
use crate::metrics::Metrics;
use crate::nfswatch::config::NfsConfig;
use crate::nfswatch::debounce::{Burst, Debouncer};
use crate::nfswatch::event::{Reason, VolumeEvent};
use crate::nfswatch::journal::{Journal, Pending};
use crate::nfswatch::metrics::WatchMetrics;
use crate::nfswatch::source::{self, FsEvent};
use crate::nfswatch::volume_map::{Volume, VolumeMap};
use crate::outbox::Outbox;
use crate::probes::{self, Health};
use crate::webhook::Webhook;
use anyhow::Context;
use chrono::Utc;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// Events buffered between the source thread and the watcher loop; when full the source thread
/// waits and the kernel queues (and, past its limit, reports an overflow).
const SOURCE_BUFFER: usize = 65_536;

/// Identity of the map file's current version: a rename-into-place changes the inode, an
/// in-place write the mtime or size.
type Stamp = Option<(u64, i64, i64, u64)>;

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
}

struct Watcher {
    cfg: NfsConfig,
    map: VolumeMap,
    map_stamp: Stamp,
    debouncer: Debouncer<String>,
    /// The volume of each open burst (a map reload must not lose it).
    open: std::collections::HashMap<String, Arc<Volume>>,
    journal: Arc<Journal>,
    outbox: Arc<Outbox<VolumeEvent>>,
    metrics: WatchMetrics,
}

/// Runs the watcher until SIGTERM/SIGINT.
pub async fn run(cfg: NfsConfig, webhook: Webhook) -> anyhow::Result<()> {
    for root in &cfg.roots {
        if !root.is_dir() {
            anyhow::bail!("EXPORT_ROOTS: {} is not a directory", root.display());
        }
    }
    let mut metrics = Metrics::new();
    let watch_metrics = WatchMetrics::register(&mut metrics);
    let metrics = Arc::new(metrics);
    let health = Arc::new(Health::new(&[]));
    let listener = tokio::net::TcpListener::bind(cfg.delivery.listen)
        .await
        .with_context(|| format!("LISTEN_ADDR: cannot listen on {}", cfg.delivery.listen))?;
    let probes = tokio::spawn(probes::serve(listener, health.clone(), metrics.clone()));

    let (journal, leftovers) = Journal::open(&cfg.state_file)?;
    let journal = Arc::new(journal);
    let outbox = Arc::new(Outbox::new(
        cfg.delivery.queue_capacity,
        false,
        metrics.clone(),
    ));
    let delivery = Arc::new(Delivery {
        outbox: outbox.clone(),
        webhook,
        metrics: metrics.clone(),
        health: health.clone(),
        delivered: Some(journal.clone() as Arc<dyn Acknowledge<VolumeEvent>>),
        cluster: cfg.delivery.cluster.clone(),
        retry_initial: cfg.delivery.retry_initial,
        retry_max: cfg.delivery.retry_max,
        slow_retry: cfg.delivery.auth_retry,
    });
    let workers = delivery.spawn_workers(cfg.delivery.workers);
    let readiness_probe = tokio::spawn(probe_webhook(delivery.clone()));

    // The source starts before the catch-up is queued, so no change falls between the two.
    let (tx, mut rx) = mpsc::channel(SOURCE_BUFFER);
    let mechanism = source::start(cfg.mechanism, &cfg.roots, tx)?;

    let mut w = Watcher {
        debouncer: Debouncer::new(cfg.quiet, cfg.max_delay),
        map: VolumeMap::default(),
        map_stamp: None,
        open: Default::default(),
        journal,
        outbox: outbox.clone(),
        metrics: watch_metrics,
        cfg,
    };
    w.reload_map();
    info!(
        mechanism = %mechanism, roots = ?w.cfg.roots, volume_map = %w.cfg.volume_map.display(),
        volumes = w.map.len(), quiet_ms = w.cfg.quiet.as_millis() as u64,
        max_delay_ms = w.cfg.max_delay.as_millis() as u64, recovered = leftovers.len(),
        cluster = w.cfg.delivery.cluster, webhook = w.cfg.webhook.url, listen = %w.cfg.delivery.listen,
        "ocpdr-forwarder nfs-watch started"
    );
    w.send_recovered(leftovers).await;
    if w.cfg.catchup {
        w.send_catchup().await;
    }

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_map_check = Instant::now();
    let stop = wait_for_signal();
    tokio::pin!(stop);
    let mut failure = None;
    loop {
        let deadline = w.debouncer.next_deadline();
        tokio::select! {
            signal = &mut stop => { signal?; break; }
            event = rx.recv() => match event {
                Some(FsEvent::Failed(why)) => { failure = Some(why); break; }
                None => { failure = Some("the watch thread ended".to_owned()); break; }
                Some(event) => w.on_event(event),
            },
            _ = sleep_until(deadline) => w.flush_due().await,
            _ = tick.tick() => {
                if last_map_check.elapsed() >= w.cfg.map_check {
                    last_map_check = Instant::now();
                    if stamp(&w.cfg.volume_map) != w.map_stamp {
                        w.reload_map();
                    }
                }
            }
        }
        w.gauges();
    }

    let open = w.debouncer.take_all();
    info!(
        open_bursts = open.len(),
        grace_s = w.cfg.delivery.shutdown_grace.as_secs(),
        "stopping: sending open bursts and draining the queue"
    );
    for burst in open {
        w.send_burst(burst).await;
    }
    outbox.close();
    if !deliver::drain(workers, w.cfg.delivery.shutdown_grace).await {
        warn!(
            undelivered = outbox.pending(),
            "grace period over: undelivered bursts stay in STATE_FILE and are sent after the restart"
        );
    }
    readiness_probe.abort();
    probes.abort();
    if let Some(why) = failure {
        // Exit non-zero so systemd restarts the watcher (its journal and catch-up cover the gap).
        anyhow::bail!("the filesystem watch stopped: {why}");
    }
    info!("stopped");
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

impl Watcher {
    /// Loads the volume map; on error keeps the previous one (logged and counted).
    fn reload_map(&mut self) {
        let path = &self.cfg.volume_map;
        self.map_stamp = stamp(path);
        let loaded = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| VolumeMap::parse(&bytes).map_err(|e| e.to_string()));
        self.metrics.map_load(loaded.is_ok());
        match loaded {
            Ok(map) => {
                info!(
                    file = %path.display(), volumes = map.len(), generated_at = map.generated_at,
                    cluster = map.cluster, "volume map loaded"
                );
                self.metrics.map_volumes.set(map.len() as i64);
                self.map = map;
            }
            Err(e) => error!(
                file = %path.display(), error = e, kept_volumes = self.map.len(),
                "cannot load the volume map: keeping the previous one"
            ),
        }
    }

    fn on_event(&mut self, event: FsEvent) {
        match event {
            FsEvent::Changed(path) => {
                if path == self.cfg.volume_map {
                    self.reload_map();
                }
                match self.map.lookup(&path).cloned() {
                    Some(volume) => {
                        self.metrics.change("volume");
                        self.record(volume);
                    }
                    None => self.metrics.change("outside"),
                }
            }
            FsEvent::Unresolved => self.metrics.change("unresolved"),
            FsEvent::Overflow => {
                self.metrics.overflows.inc();
                warn!(
                    volumes = self.map.len(),
                    "the kernel event queue overflowed: every mapped volume is sent"
                );
                for volume in self.map.volumes() {
                    self.record(volume);
                }
            }
            FsEvent::Failed(_) => {}
        }
    }

    /// Counts a change of `volume`; a new burst is written to the journal at once, so a crash
    /// before it closes does not lose it.
    fn record(&mut self, volume: Arc<Volume>) {
        let (now, at) = (Instant::now(), Utc::now());
        if self.debouncer.record(volume.path.clone(), now, at) {
            self.journal_write(Pending {
                volume: (*volume).clone(),
                first_change_at: at,
                last_change_at: at,
                changes: 1,
            });
            self.open.insert(volume.path.clone(), volume);
        }
    }

    fn journal_write(&self, pending: Pending) {
        if let Err(e) = self.journal.record(pending) {
            error!(file = %self.cfg.state_file.display(), error = %e, "cannot write the pending journal");
        }
    }

    async fn flush_due(&mut self) {
        for burst in self.debouncer.take_due(Instant::now()) {
            self.send_burst(burst).await;
        }
    }

    /// Queues the event of a closed burst (waits while the queue is full).
    async fn send_burst(&mut self, burst: Burst<String>) {
        let Some(volume) = self.open.remove(&burst.key) else {
            return;
        };
        self.journal_write(Pending {
            volume: (*volume).clone(),
            first_change_at: burst.first_at,
            last_change_at: burst.last_at,
            changes: burst.changes,
        });
        let event = VolumeEvent {
            volume,
            first_change_at: burst.first_at,
            last_change_at: burst.last_at,
            changes: burst.changes,
            reason: Reason::Changes,
            observed_at: Utc::now(),
            since: burst.first,
        };
        self.outbox.push(event).await;
    }

    /// Sends again what a previous run saw but did not get acknowledged.
    async fn send_recovered(&mut self, leftovers: Vec<Pending>) {
        for p in leftovers {
            warn!(volume = p.volume.path, first_change_at = %p.first_change_at, "sending a burst left unacknowledged by the previous run");
            let event = VolumeEvent {
                volume: Arc::new(p.volume),
                first_change_at: p.first_change_at,
                last_change_at: p.last_change_at,
                changes: p.changes,
                reason: Reason::Recovered,
                observed_at: Utc::now(),
                since: Instant::now(),
            };
            self.outbox.push(event).await;
        }
    }

    /// One event per mapped volume, for changes made while no watcher ran.
    async fn send_catchup(&mut self) {
        let at = Utc::now();
        for volume in self.map.volumes() {
            let pending = Pending {
                volume: (*volume).clone(),
                first_change_at: at,
                last_change_at: at,
                changes: 0,
            };
            self.journal_write(pending);
            let event = VolumeEvent {
                volume,
                first_change_at: at,
                last_change_at: at,
                changes: 0,
                reason: Reason::Startup,
                observed_at: at,
                since: Instant::now(),
            };
            self.outbox.push(event).await;
        }
    }

    fn gauges(&self) {
        self.metrics
            .pending_volumes
            .set(self.debouncer.len() as i64);
        let age = self
            .debouncer
            .oldest()
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        self.metrics.oldest_pending.set(age);
        self.metrics.journal_pending.set(self.journal.len() as i64);
    }
}
