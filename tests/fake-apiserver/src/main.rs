//! `fake-apiserver`: runs one stand-in Kubernetes API server until SIGINT/SIGTERM.
//!
//! Prints the listening URL as the first line on stdout once it accepts connections (so a
//! parent process can read the port it got with `--listen 127.0.0.1:0`), then the kubeconfig
//! unless `--kubeconfig-out` writes it to a file instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fake_apiserver::{Config, Controllers, RESTORE_OUTCOMES, Server, write_private};

/// A stand-in Kubernetes API server for tests and the local DR lab (not Kubernetes).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Bearer token every request must carry (401 otherwise).
    #[arg(long, env = "FAKE_APISERVER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Serve HTTPS with a fresh self-signed CA (put in the kubeconfig); kubectl sends a token
    /// only over HTTPS.
    #[arg(long)]
    tls: bool,
    /// Keep objects in this directory across restarts.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Write the kubeconfig here (mode 0600) instead of printing it.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// YAML/JSON list of extra resource types to serve.
    #[arg(long)]
    resources: Option<PathBuf>,
    /// Comma-separated controllers to run (pv-binding, vm, snapshots, restores); default all.
    #[arg(long, value_delimiter = ',', conflicts_with = "no_controllers")]
    controllers: Option<Vec<String>>,
    /// Run no controllers.
    #[arg(long)]
    no_controllers: bool,
    /// Milliseconds before a new VirtualMachineInstance is Running.
    #[arg(long, default_value_t = 200)]
    vmi_ready_delay_ms: u64,
    /// Milliseconds before a new VolumeSnapshot is readyToUse.
    #[arg(long, default_value_t = 200)]
    snapshot_ready_delay_ms: u64,
    /// Milliseconds a Velero Restore spends in each phase.
    #[arg(long, default_value_t = 200)]
    restore_phase_delay_ms: u64,
    /// Final phase of Velero Restores.
    #[arg(long, default_value = "Completed", value_parser = clap::builder::PossibleValuesParser::new(RESTORE_OUTCOMES))]
    restore_outcome: String,
    /// Watch events kept for resumes; older resumes get 410 Expired.
    #[arg(long, default_value_t = 50_000)]
    history_size: usize,
    /// Milliseconds between BOOKMARK events on watches that allow them.
    #[arg(long, default_value_t = 5_000)]
    bookmark_interval_ms: u64,
    /// Cluster/context/user name in the kubeconfig.
    #[arg(long, default_value = "fake")]
    context: String,
}

impl Cli {
    fn config(&self) -> anyhow::Result<Config> {
        let mut controllers = match (&self.controllers, self.no_controllers) {
            (_, true) => Controllers::off(),
            (Some(names), false) => {
                let names: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !n.is_empty())
                    .collect();
                Controllers::only(&names)?
            }
            (None, false) => Controllers::default(),
        };
        controllers.vmi_ready_delay = Duration::from_millis(self.vmi_ready_delay_ms);
        controllers.snapshot_ready_delay = Duration::from_millis(self.snapshot_ready_delay_ms);
        controllers.restore_phase_delay = Duration::from_millis(self.restore_phase_delay_ms);
        controllers.restore_outcome = self.restore_outcome.clone();
        if self.history_size == 0 {
            anyhow::bail!("--history-size must be at least 1");
        }
        Ok(Config {
            token: self.token.clone().filter(|t| !t.is_empty()),
            tls: self.tls,
            state_dir: self.state_dir.clone(),
            resources_file: self.resources.clone(),
            controllers,
            history_size: self.history_size,
            bookmark_interval: Duration::from_millis(self.bookmark_interval_ms.max(1)),
            context_name: self.context.clone(),
        })
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config()?;
    // Handlers first: a parent may signal as soon as it has read the URL.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let server = Server::start(cli.listen, config).await?;
    let kubeconfig = server.kubeconfig();
    if let Some(path) = &cli.kubeconfig_out {
        write_private(path, &kubeconfig).map_err(|e| {
            anyhow::anyhow!("cannot write the kubeconfig to {}: {e}", path.display())
        })?;
    }
    println!("{}", server.url());
    if cli.kubeconfig_out.is_none() {
        print!("{kubeconfig}");
    }
    use std::io::Write as _;
    std::io::stdout().flush()?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    server.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fake-apiserver: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-apiserver: {e:#}");
            ExitCode::FAILURE
        }
    }
}
