//! `ocpdr-forwarder`: flags and environment in, JSON logs out; see the crate docs.

use ocpdr_forwarder::config::{self, Command, WebhookConfig};
use ocpdr_forwarder::{app, nfswatch, webhook::Webhook};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = |name: &str| std::env::var(name).ok();
    if args.first().map(String::as_str) == Some("nfs-watch") {
        // `ocpdr-forwarder nfs-watch`: the NFS change watcher.
        return launch(
            nfswatch::config::parse(env, &args[1..]),
            |cfg| (cfg.webhook.clone(), cfg.delivery.log_level.clone()),
            nfswatch::app::run,
        );
    }
    launch(
        config::parse(env, &args),
        |cfg| (cfg.webhook.clone(), cfg.delivery.log_level.clone()),
        app::run,
    )
}

/// Acts on the parsed command line of a mode: help, version, or `run` with its configuration
/// (`parts` gives the webhook settings and the log level) and a webhook client.
fn launch<C, F>(
    parsed: Result<Command<C>, config::Error>,
    parts: impl FnOnce(&C) -> (WebhookConfig, String),
    run: impl FnOnce(C, Webhook) -> F,
) -> ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let cfg = match parsed {
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
    let (webhook, log_level) = parts(&cfg);
    let webhook = match Webhook::new(&webhook) {
        Ok(w) => w,
        Err(err) => return invalid(&err),
    };
    serve(&log_level, run(cfg, webhook))
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
