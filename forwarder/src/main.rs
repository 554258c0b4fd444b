//! `ocpdr-forwarder`: flags and environment in, JSON logs out; see the crate docs.

use ocpdr_forwarder::config::{self, Command};
use ocpdr_forwarder::{app, nfswatch, webhook::Webhook};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("nfs-watch") {
        return nfs_watch(&args[1..]);
    }
    let cfg = match config::parse(|name| std::env::var(name).ok(), &args) {
        Ok(Command::Run(cfg)) => *cfg,
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("ocpdr-forwarder {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(err) => return invalid(&err),
    };
    // kube and reqwest both use rustls on aws-lc-rs; installing it explicitly keeps a second
    // provider, should a dependency ever pull one in, from making rustls panic at first use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let webhook = match Webhook::new(&cfg.webhook) {
        Ok(w) => w,
        Err(err) => return invalid(&err),
    };
    serve(&cfg.delivery.log_level, app::run(cfg.clone(), webhook))
}

/// `ocpdr-forwarder nfs-watch`: the NFS change watcher.
fn nfs_watch(args: &[String]) -> ExitCode {
    let cfg = match nfswatch::config::parse(|name| std::env::var(name).ok(), args) {
        Ok(Command::Run(cfg)) => *cfg,
        Ok(Command::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("ocpdr-forwarder {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(err) => return invalid(&err),
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let webhook = match Webhook::new(&cfg.webhook) {
        Ok(w) => w,
        Err(err) => return invalid(&err),
    };
    serve(
        &cfg.delivery.log_level.clone(),
        nfswatch::app::run(cfg, webhook),
    )
}

/// Sets up JSON logs and runs `task` to completion on a new runtime.
fn serve(log_level: &str, task: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(log_level))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ocpdr-forwarder: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "ocpdr-forwarder failed");
            ExitCode::FAILURE
        }
    }
}

/// Start-up refused: the configuration names the variable and what was expected.
fn invalid(err: &config::Error) -> ExitCode {
    eprintln!("ocpdr-forwarder: invalid configuration: {err}");
    ExitCode::from(2)
}
