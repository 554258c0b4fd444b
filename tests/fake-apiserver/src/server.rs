//! Starting and stopping an instance: [`Server`] for async code, [`BlockingServer`] (its own
//! thread and runtime) for synchronous tests, and the kubeconfig they hand to clients.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use base64::Engine as _;
use serde_json::json;
use tokio::sync::watch;

use crate::backup_contents::BackupContents;
use crate::config::{Config, RESTORE_OUTCOMES};
use crate::ops::{Cluster, WriteOpts};
use crate::persist::Journal;
use crate::resources::Registry;
use crate::store::Store;
use crate::{controllers, http, tls};

/// Faults injected through `/_fake/fail` and `/_fake/latency`.
#[derive(Debug, Default)]
pub struct Faults {
    /// How many of the next API requests fail.
    pub fail_remaining: AtomicU32,
    /// With which status (500 or 429).
    pub fail_status: AtomicU16,
    /// Added delay per API request, in milliseconds.
    pub latency_ms: AtomicU64,
}

/// State shared by the HTTP handlers, watches and controllers.
pub struct Shared {
    /// Types and objects.
    pub cluster: Cluster,
    /// The configuration the server started with.
    pub config: Config,
    /// Injected faults.
    pub faults: Faults,
    /// Bumped to abort every open watch (cut-watches, shutdown).
    pub cut: watch::Sender<u64>,
    /// The listening address.
    pub addr: SocketAddr,
    /// The contents of Velero backups, for the Restore controller.
    pub backups: BackupContents,
}

/// A running fake API server.
pub struct Server {
    shared: Arc<Shared>,
    ca_pem: Option<String>,
    stop: watch::Sender<bool>,
    serve: tokio::task::JoinHandle<std::io::Result<()>>,
    controllers: tokio::task::JoinHandle<()>,
}

/// Namespaces every cluster starts with.
const DEFAULT_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Server {
    /// Binds `listen` (port 0 picks a free port), loads the state directory and the resources
    /// file, and starts serving and the configured controllers.
    pub async fn start(listen: SocketAddr, config: Config) -> anyhow::Result<Server> {
        if !RESTORE_OUTCOMES.contains(&config.controllers.restore_outcome.as_str()) {
            anyhow::bail!(
                "restore outcome {:?} is not one of {}",
                config.controllers.restore_outcome,
                RESTORE_OUTCOMES.join(", ")
            );
        }
        let registry = Registry::load(config.resources_file.as_deref())?;
        let (journal, loaded, rv) = match &config.state_dir {
            Some(dir) => {
                let (j, l) = Journal::open(dir)?;
                (Some(j), l.objects, l.rv)
            }
            None => (None, Vec::new(), 0),
        };
        let store = Store::new(config.history_size, journal, loaded, rv);
        let backups = BackupContents::load(config.state_dir.as_deref())?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            cluster: Cluster {
                registry,
                store: Mutex::new(store),
            },
            config,
            faults: Faults::default(),
            cut,
            addr,
            backups,
        });
        let nsdef = shared
            .cluster
            .registry
            .find("", "v1", "namespaces")
            .expect("built in")
            .clone();
        for ns in DEFAULT_NAMESPACES {
            if shared.cluster.get(&nsdef, "", ns).is_err() {
                let opts = WriteOpts {
                    manager: "fake-apiserver".into(),
                    ..WriteOpts::default()
                };
                shared
                    .cluster
                    .create(&nsdef, "", json!({"metadata": {"name": ns}}), &opts)?;
            }
        }
        let (stop, stop_rx) = watch::channel(false);
        let controllers = controllers::spawn(shared.clone(), stop_rx.clone());
        let app = http::router(shared.clone());
        let mut graceful = stop_rx;
        let (serve, ca_pem) = if shared.config.tls {
            let tls = tls::self_signed()?;
            let handle = axum_server::Handle::new();
            let listener = listener.into_std()?;
            let server = axum_server::from_tcp_rustls(
                listener,
                RustlsConfig::from_config(tls.server_config),
            )?
            .handle(handle.clone());
            tokio::spawn(async move {
                let _ = graceful.wait_for(|s| *s).await;
                handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            (
                tokio::spawn(server.serve(app.into_make_service())),
                Some(tls.ca_pem),
            )
        } else {
            let serve = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = graceful.wait_for(|s| *s).await;
                    })
                    .await
            });
            (serve, None)
        };
        Ok(Server {
            shared,
            ca_pem,
            stop,
            serve,
            controllers,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.shared.addr)
    }

    /// The PEM of the CA that signed the server certificate, with TLS.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// A kubeconfig (YAML) for kubectl and kube-rs, with the token and CA when set.
    pub fn kubeconfig(&self) -> String {
        let c = &self.shared.config;
        kubeconfig(
            &self.url(),
            c.token.as_deref(),
            self.ca_pem.as_deref(),
            &c.context_name,
        )
    }

    /// Stops serving: open watches are cut, controllers stop, the state directory is compacted.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.shared.cut.send_modify(|n| *n += 1);
        // Connections that started a request after the cut could hold the graceful shutdown
        // open: give them a moment, then drop them.
        let mut serve = self.serve;
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut serve)
            .await
            .is_err()
        {
            serve.abort();
        }
        let _ = self.controllers.await;
        if let Err(e) = self.shared.cluster.lock().compact_journal() {
            eprintln!("fake-apiserver: cannot compact the state directory: {e:#}");
        }
    }
}

/// The kubeconfig text for a server URL, with an optional token and CA certificate (PEM).
pub fn kubeconfig(url: &str, token: Option<&str>, ca_pem: Option<&str>, name: &str) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("strings serialize");
    let user = match token {
        Some(t) => format!("\n    token: {}", q(t)),
        None => " {}".to_owned(),
    };
    let ca = ca_pem
        .map(|pem| {
            format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(pem)
            )
        })
        .unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {n}\n  cluster:\n    server: {u}{ca}\ncontexts:\n- name: {n}\n  context:\n    cluster: {n}\n    user: {n}\n    namespace: default\ncurrent-context: {n}\npreferences: {{}}\nusers:\n- name: {n}\n  user:{user}\n",
        n = q(name),
        u = q(url),
    )
}

/// A [`Server`] on its own thread and Tokio runtime, for synchronous tests; listens on
/// 127.0.0.1 with a free port and shuts down when dropped.
pub struct BlockingServer {
    url: String,
    kubeconfig: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BlockingServer {
    /// Starts the server and returns once it accepts connections.
    pub fn start(config: Config) -> anyhow::Result<BlockingServer> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<(String, String)>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-apiserver".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Server::start(SocketAddr::from(([127, 0, 0, 1], 0)), config).await {
                        Ok(server) => {
                            let _ = ready_tx.send(Ok((server.url(), server.kubeconfig())));
                            let _ = stop_rx.await;
                            server.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let (url, kubeconfig) = ready_rx
            .recv()
            .context("the fake-apiserver thread ended before starting")??;
        Ok(BlockingServer {
            url,
            kubeconfig,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The kubeconfig YAML.
    pub fn kubeconfig(&self) -> String {
        self.kubeconfig.clone()
    }

    /// Writes the kubeconfig to `path` (mode 0600: it may hold the token).
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        write_private(path.as_ref(), &self.kubeconfig)
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}
