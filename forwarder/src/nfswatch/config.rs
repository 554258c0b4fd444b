//! The settings of `ocpdr-forwarder nfs-watch`: the webhook and delivery settings shared with
//! the Kubernetes forwarder ([`crate::config`], same names, same checks), plus the watch's own.

use crate::config::{
    Command, DELIVERY_SETTINGS, DeliveryConfig, Error, Mode, Reader, Setting, WebhookConfig,
    setting,
};
use crate::nfswatch::source::Mechanism;
use ocpdr_core::paths;
use std::path::PathBuf;
use std::time::Duration;

/// Where the periodic sync writes the volume map, below the first export root.
pub const DEFAULT_MAP: &str = ".ocpdr/volume-map.json";

const WATCH_SETTINGS: &[Setting] = &[
    setting(
        "EXPORT_ROOTS",
        None,
        "comma-separated export root directories to watch; required",
    ),
    setting(
        "VOLUME_MAP",
        None,
        "volume map written by the periodic sync [default: <first export root>/.ocpdr/volume-map.json]",
    ),
    setting(
        "VOLUME_MAP_CHECK_S",
        Some("10"),
        "seconds between checks of the volume map file (a write the watch sees reloads it at once)",
    ),
    setting(
        "WATCH_MECHANISM",
        Some("auto"),
        "fanotify, inotify, or auto (fanotify, else inotify with a warning)",
    ),
    setting(
        "DEBOUNCE_QUIET_MS",
        Some("1000"),
        "a volume's burst of changes ends after this long without a change",
    ),
    setting(
        "DEBOUNCE_MAX_MS",
        Some("5000"),
        "...or at the latest this long after its first change",
    ),
    setting(
        "STATE_FILE",
        Some("/var/lib/ocpdr-nfs-watch/pending.json"),
        "journal of bursts not yet acknowledged, sent again after a restart",
    ),
    setting(
        "CATCHUP_ON_START",
        Some("true"),
        "send one event per mapped volume at start (changes made while no watcher ran)",
    ),
];

static NFS_WATCH: Mode = Mode {
    title: "ocpdr-forwarder nfs-watch: one VolumeData event per burst of changes of a volume on this NFS server, to an EDA webhook",
    groups: &[DELIVERY_SETTINGS, WATCH_SETTINGS],
    footer: "fanotify needs CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH (root); see forwarder/README.md.",
};

/// The complete, checked configuration of `nfs-watch`.
#[derive(Debug, Clone, PartialEq)]
pub struct NfsConfig {
    /// The webhook.
    pub webhook: WebhookConfig,
    /// Queue, retries, probes, logs.
    pub delivery: DeliveryConfig,
    /// `EXPORT_ROOTS`, normalised.
    pub roots: Vec<PathBuf>,
    /// `VOLUME_MAP`.
    pub volume_map: PathBuf,
    /// `VOLUME_MAP_CHECK_S`.
    pub map_check: Duration,
    /// `WATCH_MECHANISM`.
    pub mechanism: Mechanism,
    /// `DEBOUNCE_QUIET_MS`.
    pub quiet: Duration,
    /// `DEBOUNCE_MAX_MS`.
    pub max_delay: Duration,
    /// `STATE_FILE`.
    pub state_file: PathBuf,
    /// `CATCHUP_ON_START`.
    pub catchup: bool,
}

/// Reads the `nfs-watch` configuration from `env` and `args` (the flags after `nfs-watch`).
pub fn parse(
    env: impl Fn(&str) -> Option<String>,
    args: &[String],
) -> Result<Command<NfsConfig>, Error> {
    NFS_WATCH.parse(env, args, build)
}

fn build(r: &Reader) -> Result<NfsConfig, Error> {
    let text = r.required(
        "EXPORT_ROOTS",
        "the export root directories to watch, e.g. /exports/primary",
    )?;
    let mut roots = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let root =
            paths::normalize_target(item).map_err(|e| Error::new("EXPORT_ROOTS", e.to_string()))?;
        roots.push(PathBuf::from(root));
    }
    if roots.is_empty() {
        return Err(r.invalid("EXPORT_ROOTS", "at least one absolute directory"));
    }
    let volume_map = match r.get("VOLUME_MAP") {
        Some(p) => PathBuf::from(
            paths::normalize_target(p).map_err(|e| Error::new("VOLUME_MAP", e.to_string()))?,
        ),
        None => roots[0].join(DEFAULT_MAP),
    };
    let mechanism = match r.get("WATCH_MECHANISM").unwrap_or_default() {
        "auto" => Mechanism::Auto,
        "fanotify" => Mechanism::Fanotify,
        "inotify" => Mechanism::Inotify,
        _ => return Err(r.invalid("WATCH_MECHANISM", "auto, fanotify or inotify")),
    };
    let quiet = Duration::from_millis(r.number("DEBOUNCE_QUIET_MS", 10, 600_000)?);
    let max_delay = Duration::from_millis(r.number("DEBOUNCE_MAX_MS", 10, 3_600_000)?);
    if max_delay < quiet {
        return Err(r.invalid(
            "DEBOUNCE_MAX_MS",
            "at least DEBOUNCE_QUIET_MS (the longest a burst may stay open)",
        ));
    }
    let state_file = PathBuf::from(
        paths::normalize_target(r.get("STATE_FILE").unwrap_or_default())
            .map_err(|e| Error::new("STATE_FILE", e.to_string()))?,
    );
    Ok(NfsConfig {
        webhook: r.webhook()?,
        delivery: r.delivery()?,
        roots,
        volume_map,
        map_check: r.seconds("VOLUME_MAP_CHECK_S", 1)?,
        mechanism,
        quiet,
        max_delay,
        state_file,
        catchup: r.bool("CATCHUP_ON_START")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(env: &[(&str, &str)], args: &[&str]) -> Result<NfsConfig, Error> {
        let env: HashMap<String, String> = [
            ("WEBHOOK_URL", "https://eda:5000/ocpdr"),
            ("CLUSTER_NAME", "primary"),
            ("EXPORT_ROOTS", "/exports/primary/"),
        ]
        .iter()
        .chain(env)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(|k| env.get(k).cloned(), &args)? {
            Command::Run(c) => Ok(*c),
            other => panic!("expected a configuration, got {other:?}"),
        }
    }

    #[test]
    fn defaults_put_the_map_under_the_first_root() {
        let c = run(&[], &[]).unwrap();
        assert_eq!(c.roots, [PathBuf::from("/exports/primary")]);
        assert_eq!(
            c.volume_map,
            PathBuf::from("/exports/primary/.ocpdr/volume-map.json")
        );
        assert_eq!(c.mechanism, Mechanism::Auto);
        assert_eq!(
            (c.quiet, c.max_delay),
            (Duration::from_secs(1), Duration::from_secs(5))
        );
        assert!(c.catchup);
        assert_eq!(c.delivery.cluster, "primary");
        assert_eq!(c.webhook.url, "https://eda:5000/ocpdr");
    }

    #[test]
    fn shared_and_own_settings_are_checked_and_named() {
        let err = |env: &[(&str, &str)], args: &[&str]| run(env, args).unwrap_err().to_string();
        assert!(
            err(&[("EXPORT_ROOTS", "exports")], &[])
                .starts_with("EXPORT_ROOTS: path \"exports\" is relative")
        );
        assert!(
            err(&[("EXPORT_ROOTS", " , ")], &[]).starts_with("EXPORT_ROOTS: expected at least one")
        );
        assert_eq!(
            err(&[("WATCH_MECHANISM", "poll")], &[]),
            "WATCH_MECHANISM: expected auto, fanotify or inotify, got \"poll\""
        );
        assert!(
            err(
                &[("DEBOUNCE_QUIET_MS", "2000"), ("DEBOUNCE_MAX_MS", "1000")],
                &[]
            )
            .starts_with("DEBOUNCE_MAX_MS: expected at least")
        );
        assert!(err(&[("QUEUE_CAPACITY", "0")], &[]).starts_with("QUEUE_CAPACITY:"));
        assert!(
            err(&[], &["--watch-namespaces=a"]).contains("unknown flag"),
            "forwarder-only settings are refused"
        );
        let c = run(
            &[],
            &[
                "--export-roots",
                "/a,/b",
                "--volume-map=/etc/ocpdr/map.json",
                "--debounce-quiet-ms=200",
            ],
        )
        .unwrap();
        assert_eq!(c.roots.len(), 2);
        assert_eq!(c.volume_map, PathBuf::from("/etc/ocpdr/map.json"));
        assert_eq!(c.quiet, Duration::from_millis(200));
    }

    #[test]
    fn help_lists_shared_and_own_settings() {
        let Command::Help(text) = parse(|_| None, &["--help".into()]).unwrap() else {
            panic!("--help must print help")
        };
        for name in [
            "WEBHOOK_URL",
            "CLUSTER_NAME",
            "EXPORT_ROOTS",
            "DEBOUNCE_MAX_MS",
            "--volume-map",
        ] {
            assert!(text.contains(name), "{name}");
        }
        assert!(!text.contains("WATCH_NAMESPACES"));
    }
}
