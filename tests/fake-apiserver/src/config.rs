//! How an instance is configured: authentication, persistence, extra resource types, watch
//! history and bookmarks, and which of the small built-in controllers run.

use std::path::PathBuf;
use std::time::Duration;

/// Server configuration. `Config::default()`: no token, in memory, all controllers on.
#[derive(Debug, Clone)]
pub struct Config {
    /// Bearer token every API request must carry (401 otherwise); `None`: no authentication.
    /// kubectl only sends tokens over HTTPS: set `tls` too when kubectl must authenticate.
    pub token: Option<String>,
    /// Serve HTTPS with a fresh self-signed CA (in the kubeconfig) instead of plain HTTP.
    pub tls: bool,
    /// Directory that keeps the objects across restarts (snapshot + journal).
    pub state_dir: Option<PathBuf>,
    /// YAML/JSON list of extra resource types (see the crate README).
    pub resources_file: Option<PathBuf>,
    /// Which controllers run, and their delays.
    pub controllers: Controllers,
    /// How many watch events are kept for resumes; a resume from further back gets 410.
    pub history_size: usize,
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Name of the cluster, user and context in the generated kubeconfig.
    pub context_name: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            token: None,
            tls: false,
            state_dir: None,
            resources_file: None,
            controllers: Controllers::default(),
            history_size: 50_000,
            bookmark_interval: Duration::from_secs(5),
            context_name: "fake".to_owned(),
        }
    }
}

/// The built-in controllers that make the lab behave like a cluster. Each can be switched off.
#[derive(Debug, Clone, PartialEq)]
pub struct Controllers {
    /// PV/PVC binding: a PVC naming an Available PV (or a PV whose claimRef names the PVC)
    /// becomes Bound with the PV; a deleted PVC leaves its PV Released.
    pub pv_binding: bool,
    /// VirtualMachine `runStrategy`/`running` → a VirtualMachineInstance, Running after
    /// `vmi_ready_delay`, and the VM's `status.ready`/`printableStatus`.
    pub vm: bool,
    /// How long a new VMI stays `Scheduling` before it is `Running`.
    pub vmi_ready_delay: Duration,
    /// VolumeSnapshot readiness with a bound VolumeSnapshotContent.
    pub snapshots: bool,
    /// How long a VolumeSnapshot stays not ready.
    pub snapshot_ready_delay: Duration,
    /// Velero Restore phases New → InProgress → `restore_outcome`.
    pub restores: bool,
    /// Time spent in each restore phase.
    pub restore_phase_delay: Duration,
    /// Final phase of restores: `Completed`, `PartiallyFailed` or `Failed` (a restore's
    /// annotation `fake-apiserver.ocpdr.io/restore-outcome` overrides it).
    pub restore_outcome: String,
}

impl Default for Controllers {
    fn default() -> Controllers {
        Controllers {
            pv_binding: true,
            vm: true,
            vmi_ready_delay: Duration::from_millis(200),
            snapshots: true,
            snapshot_ready_delay: Duration::from_millis(200),
            restores: true,
            restore_phase_delay: Duration::from_millis(200),
            restore_outcome: "Completed".to_owned(),
        }
    }
}

/// Names accepted by `--controllers`.
pub const CONTROLLER_NAMES: &[&str] = &["pv-binding", "vm", "snapshots", "restores"];

/// Final phases a restore can be configured to end in.
pub const RESTORE_OUTCOMES: &[&str] = &["Completed", "PartiallyFailed", "Failed"];

impl Controllers {
    /// Every controller off (delays keep their defaults).
    pub fn off() -> Controllers {
        Controllers {
            pv_binding: false,
            vm: false,
            snapshots: false,
            restores: false,
            ..Controllers::default()
        }
    }

    /// Only the named controllers on (`pv-binding`, `vm`, `snapshots`, `restores`).
    pub fn only(names: &[&str]) -> anyhow::Result<Controllers> {
        let mut c = Controllers::off();
        for name in names {
            match *name {
                "pv-binding" => c.pv_binding = true,
                "vm" => c.vm = true,
                "snapshots" => c.snapshots = true,
                "restores" => c.restores = true,
                other => anyhow::bail!(
                    "unknown controller {other:?}; expected a comma-separated list of {}",
                    CONTROLLER_NAMES.join(", ")
                ),
            }
        }
        Ok(c)
    }
}
