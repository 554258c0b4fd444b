//! Configuration: environment variables (how the Deployment sets it, as the seed's forwarder
//! did), each also accepted as a flag of the same name, as is or in lower case with dashes
//! (`WEBHOOK_URL` = `--WEBHOOK_URL` = `--webhook-url`); a flag wins over the variable. An empty value counts as
//! unset. Everything is checked before the forwarder starts; an invalid setting stops it with a
//! message that names the variable and says what was expected. Secret values (the token, the
//! HMAC secret) never appear in messages or in `Debug` output.

use crate::filter::Filter;
use crate::kinds::Kind;
use crate::sign::DigestFormat;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// One setting: its variable name, default, whether its value is secret, and its help line.
pub(crate) struct Setting {
    name: &'static str,
    default: Option<&'static str>,
    secret: bool,
    help: &'static str,
}

/// A non-secret setting.
pub(crate) const fn setting(
    name: &'static str,
    default: Option<&'static str>,
    help: &'static str,
) -> Setting {
    Setting {
        name,
        default,
        secret: false,
        help,
    }
}

/// The webhook and delivery settings every mode shares (the Kubernetes forwarder and
/// `nfs-watch`), in the order `--help` lists them.
pub(crate) const DELIVERY_SETTINGS: &[Setting] = &[
    setting(
        "WEBHOOK_URL",
        None,
        "EDA webhook URL (http or https); required",
    ),
    Setting {
        secret: true,
        ..setting(
            "WEBHOOK_TOKEN",
            None,
            "sent as `Authorization: Bearer <token>` (the webhook's `token`)",
        )
    },
    Setting {
        secret: true,
        ..setting(
            "WEBHOOK_HMAC_SECRET",
            None,
            "signs each body with HMAC-SHA256 (the webhook's `hmac_secret`)",
        )
    },
    setting(
        "WEBHOOK_HMAC_HEADER",
        Some("x-hub-signature-256"),
        "header carrying the signature (`hmac_header`)",
    ),
    setting(
        "WEBHOOK_HMAC_FORMAT",
        Some("hex"),
        "signature encoding, hex or base64 (`hmac_format`)",
    ),
    setting(
        "WEBHOOK_CA_BUNDLE",
        None,
        "PEM file of the CAs trusted for an https webhook (instead of the system CAs)",
    ),
    setting(
        "WEBHOOK_INSECURE_SKIP_VERIFY",
        Some("false"),
        "accept any webhook certificate (labs only)",
    ),
    setting(
        "WEBHOOK_TIMEOUT_S",
        Some("10"),
        "seconds to wait for the webhook's answer",
    ),
    setting(
        "CLUSTER_NAME",
        None,
        "name of this cluster, sent as `cluster` in every event; required",
    ),
    setting(
        "QUEUE_CAPACITY",
        Some("1000"),
        "changes waiting for delivery before the watch pauses",
    ),
    setting(
        "DELIVERY_WORKERS",
        Some("4"),
        "concurrent deliveries (one at a time per object)",
    ),
    setting(
        "RETRY_INITIAL_MS",
        Some("500"),
        "first retry delay after a transient failure",
    ),
    setting(
        "RETRY_MAX_S",
        Some("30"),
        "longest retry delay after transient failures",
    ),
    setting(
        "AUTH_RETRY_S",
        Some("60"),
        "retry interval after 401/403/4xx (configuration errors)",
    ),
    setting(
        "LISTEN_ADDR",
        Some("0.0.0.0:8080"),
        "address of /healthz, /readyz and /metrics",
    ),
    setting(
        "SHUTDOWN_GRACE_S",
        Some("20"),
        "seconds to drain the queue after SIGTERM",
    ),
    setting(
        "LOG_LEVEL",
        Some("info"),
        "log filter (error, warn, info, debug or a tracing directive)",
    ),
];

/// The settings of the Kubernetes forwarder only.
const WATCH_SETTINGS: &[Setting] = &[
    setting(
        "WATCH_NAMESPACES",
        None,
        "comma-separated namespaces to forward; empty = all",
    ),
    setting(
        "WATCH_KINDS",
        None,
        "comma-separated kinds (pv, pvc, vs, vsc or full names); empty = all four",
    ),
    setting(
        "COALESCE",
        Some("true"),
        "replace a waiting MODIFIED of an object by a newer one",
    ),
    setting(
        "STATE_CONFIGMAP",
        None,
        "ConfigMap `[namespace/]name` keeping delivered state across restarts",
    ),
    setting(
        "POD_NAMESPACE",
        None,
        "namespace of STATE_CONFIGMAP when it has none (downward API)",
    ),
    setting("STATE_FLUSH_S", Some("5"), "seconds between state saves"),
];

/// An invalid setting: its name (variable or flag) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct Error {
    /// The variable or flag.
    pub name: String,
    /// What is wrong and what was expected.
    pub problem: String,
}

impl Error {
    /// An error about setting `name`.
    pub fn new(name: &str, problem: impl Into<String>) -> Self {
        Error {
            name: name.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

/// How bodies are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacConfig {
    /// The shared secret.
    pub secret: Secret,
    /// The header name.
    pub header: String,
    /// Hex or base64.
    pub format: DigestFormat,
}

/// Where delivered state is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRef {
    /// The ConfigMap's namespace.
    pub namespace: String,
    /// The ConfigMap's name.
    pub name: String,
}

/// Where and how events are POSTed: the same for every mode.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// `WEBHOOK_URL`.
    pub url: String,
    /// `WEBHOOK_TOKEN`.
    pub token: Option<Secret>,
    /// `WEBHOOK_HMAC_*`.
    pub hmac: Option<HmacConfig>,
    /// `WEBHOOK_CA_BUNDLE`.
    pub ca_bundle: Option<PathBuf>,
    /// `WEBHOOK_INSECURE_SKIP_VERIFY`.
    pub insecure_skip_verify: bool,
    /// `WEBHOOK_TIMEOUT_S`.
    pub timeout: Duration,
}

/// The delivery queue, retries, probes and logs: the same for every mode.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// `CLUSTER_NAME`.
    pub cluster: String,
    /// `QUEUE_CAPACITY`.
    pub queue_capacity: usize,
    /// `DELIVERY_WORKERS`.
    pub workers: usize,
    /// `RETRY_INITIAL_MS`.
    pub retry_initial: Duration,
    /// `RETRY_MAX_S`.
    pub retry_max: Duration,
    /// `AUTH_RETRY_S`.
    pub auth_retry: Duration,
    /// `LISTEN_ADDR`.
    pub listen: SocketAddr,
    /// `SHUTDOWN_GRACE_S`.
    pub shutdown_grace: Duration,
    /// `LOG_LEVEL`.
    pub log_level: String,
}

/// The complete, checked configuration of the Kubernetes forwarder.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The webhook.
    pub webhook: WebhookConfig,
    /// Queue, retries, probes, logs.
    pub delivery: DeliveryConfig,
    /// `WATCH_KINDS` and `WATCH_NAMESPACES`.
    pub filter: Filter,
    /// `COALESCE`.
    pub coalesce: bool,
    /// `STATE_CONFIGMAP` (with `POD_NAMESPACE`).
    pub state: Option<StateRef>,
    /// `STATE_FLUSH_S`.
    pub state_flush: Duration,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command<C = Config> {
    /// Run with this configuration.
    Run(Box<C>),
    /// Print this help text.
    Help(String),
    /// Print the version.
    Version,
}

/// The settings of one mode and the text around them in `--help`.
pub(crate) struct Mode {
    /// The first line of `--help`.
    pub title: &'static str,
    /// The setting groups, in help order.
    pub groups: &'static [&'static [Setting]],
    /// The last line of `--help`.
    pub footer: &'static str,
}

/// The Kubernetes forwarder (the default mode).
const FORWARDER: Mode = Mode {
    title: "ocpdr-forwarder: forwards PV, PVC, VolumeSnapshot and VolumeSnapshotContent changes to an EDA webhook",
    groups: &[DELIVERY_SETTINGS, WATCH_SETTINGS],
    footer: "The Kubernetes connection comes from the in-cluster service account or KUBECONFIG.\n\
             `ocpdr-forwarder nfs-watch --help`: the NFS change watcher mode.",
};

/// `WEBHOOK_URL` → `--webhook-url`.
fn flag_of(name: &str) -> String {
    format!("--{}", name.to_ascii_lowercase().replace('_', "-"))
}

impl Mode {
    fn settings(&self) -> impl Iterator<Item = &'static Setting> + use<> {
        self.groups.iter().flat_map(|g| g.iter())
    }

    /// The `--help` text.
    pub fn help(&self) -> String {
        let mut out = format!(
            "{}\n\nEvery setting is an environment variable, or a flag of the same name (--NAME or --name-in-lower-case):\n\n",
            self.title
        );
        for s in self.settings() {
            let default = s
                .default
                .map(|d| format!(" [default: {d}]"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<30} {:<32} {}{}\n",
                s.name,
                flag_of(s.name),
                s.help,
                default
            ));
        }
        out.push('\n');
        out.push_str(self.footer);
        out.push('\n');
        out
    }

    /// Reads this mode's settings from `env` and `args`; `build` checks them into a
    /// configuration.
    pub fn parse<C>(
        &'static self,
        env: impl Fn(&str) -> Option<String>,
        args: &[String],
        build: impl FnOnce(&Reader) -> Result<C, Error>,
    ) -> Result<Command<C>, Error> {
        let mut values: HashMap<&'static str, String> = self
            .settings()
            .filter_map(|s| env(s.name).filter(|v| !v.is_empty()).map(|v| (s.name, v)))
            .collect();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(Command::Help(self.help())),
                "-V" | "--version" => return Ok(Command::Version),
                _ => {}
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v.to_owned())),
                None => (arg.as_str(), None),
            };
            let Some(setting) = self
                .settings()
                .find(|s| flag_of(s.name) == flag || flag.strip_prefix("--") == Some(s.name))
            else {
                return Err(Error::new(
                    arg.split('=').next().unwrap_or_default(),
                    "unknown flag; see --help for the valid ones",
                ));
            };
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .cloned()
                    .ok_or_else(|| Error::new(flag, "needs a value"))?,
            };
            if value.is_empty() {
                values.remove(setting.name);
            } else {
                values.insert(setting.name, value);
            }
        }
        build(&Reader { mode: self, values }).map(|c| Command::Run(Box::new(c)))
    }
}

/// The `--help` text of the Kubernetes forwarder.
pub fn help() -> String {
    FORWARDER.help()
}

/// Reads the forwarder's configuration from `env` (a lookup, e.g. `std::env::var`) and `args`
/// (the flags, without the program name).
pub fn parse(env: impl Fn(&str) -> Option<String>, args: &[String]) -> Result<Command, Error> {
    FORWARDER.parse(env, args, Reader::config)
}

/// The raw values of one mode's settings, and the checks that turn them into typed values.
pub(crate) struct Reader {
    mode: &'static Mode,
    values: HashMap<&'static str, String>,
}

impl Reader {
    fn setting(&self, name: &str) -> &'static Setting {
        self.mode
            .settings()
            .find(|s| s.name == name)
            .expect("every read setting is declared")
    }

    /// The value of `name`, or its default.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .or(self.setting(name).default)
    }

    /// The value of `name`; an error saying `what` is required when unset.
    pub fn required(&self, name: &str, what: &str) -> Result<&str, Error> {
        self.get(name)
            .ok_or_else(|| Error::new(name, format!("required: {what}")))
    }

    /// `problem` with the offending value quoted, unless the setting is secret.
    pub fn invalid(&self, name: &str, expected: &str) -> Error {
        let shown = match (self.setting(name).secret, self.get(name)) {
            (false, Some(v)) => format!(", got {v:?}"),
            _ => String::new(),
        };
        Error::new(name, format!("expected {expected}{shown}"))
    }

    /// A boolean setting.
    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        match self
            .get(name)
            .unwrap_or("false")
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(self.invalid(name, "true or false")),
        }
    }

    /// A whole number in `min..=max`.
    pub fn number(&self, name: &str, min: u64, max: u64) -> Result<u64, Error> {
        let text = self.get(name).unwrap_or_default();
        text.parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.invalid(name, &format!("a whole number from {min} to {max}")))
    }

    /// Seconds, at least `min`, at most a day.
    pub fn seconds(&self, name: &str, min: u64) -> Result<Duration, Error> {
        self.number(name, min, 86_400).map(Duration::from_secs)
    }

    fn config(&self) -> Result<Config, Error> {
        Ok(Config {
            webhook: self.webhook()?,
            delivery: self.delivery()?,
            filter: Filter {
                kinds: self.kinds()?,
                namespaces: self.namespaces()?,
            },
            coalesce: self.bool("COALESCE")?,
            state: self.state_ref()?,
            state_flush: self.seconds("STATE_FLUSH_S", 1)?,
        })
    }

    /// The `WEBHOOK_*` settings.
    pub fn webhook(&self) -> Result<WebhookConfig, Error> {
        let url = self
            .required(
                "WEBHOOK_URL",
                "the EDA webhook URL, e.g. https://eda.example.com:5000/ocpdr",
            )?
            .to_owned();
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(self.invalid("WEBHOOK_URL", "an http:// or https:// URL with a host")),
        }
        let token = match self.get("WEBHOOK_TOKEN") {
            Some(t) if !t.chars().all(|c| c.is_ascii_graphic()) => {
                return Err(self.invalid(
                    "WEBHOOK_TOKEN",
                    "printable ASCII without spaces (value not shown)",
                ));
            }
            t => t.map(|t| Secret(t.to_owned())),
        };
        let hmac = match self.get("WEBHOOK_HMAC_SECRET") {
            None => None,
            Some(secret) => Some(HmacConfig {
                secret: Secret(secret.to_owned()),
                header: self.header_name("WEBHOOK_HMAC_HEADER")?,
                format: match self.get("WEBHOOK_HMAC_FORMAT").unwrap_or_default() {
                    "hex" => DigestFormat::Hex,
                    "base64" => DigestFormat::Base64,
                    _ => return Err(self.invalid("WEBHOOK_HMAC_FORMAT", "hex or base64")),
                },
            }),
        };
        Ok(WebhookConfig {
            url,
            token,
            hmac,
            ca_bundle: self.get("WEBHOOK_CA_BUNDLE").map(PathBuf::from),
            insecure_skip_verify: self.bool("WEBHOOK_INSECURE_SKIP_VERIFY")?,
            timeout: self.seconds("WEBHOOK_TIMEOUT_S", 1)?,
        })
    }

    /// `CLUSTER_NAME`, the queue, retry, probe and log settings.
    pub fn delivery(&self) -> Result<DeliveryConfig, Error> {
        let cluster = self
            .required(
                "CLUSTER_NAME",
                "the name of this cluster, sent with every event (e.g. primary)",
            )?
            .to_owned();
        if cluster.chars().any(char::is_whitespace) {
            return Err(self.invalid("CLUSTER_NAME", "a name without spaces"));
        }
        Ok(DeliveryConfig {
            cluster,
            queue_capacity: self.number("QUEUE_CAPACITY", 1, 1_000_000)? as usize,
            workers: self.number("DELIVERY_WORKERS", 1, 64)? as usize,
            retry_initial: Duration::from_millis(self.number("RETRY_INITIAL_MS", 1, 60_000)?),
            retry_max: self.seconds("RETRY_MAX_S", 1)?,
            auth_retry: self.seconds("AUTH_RETRY_S", 1)?,
            listen: self
                .get("LISTEN_ADDR")
                .unwrap_or_default()
                .parse()
                .map_err(|_| {
                    self.invalid("LISTEN_ADDR", "an address and port, e.g. 0.0.0.0:8080")
                })?,
            shutdown_grace: self.seconds("SHUTDOWN_GRACE_S", 0)?,
            log_level: self.log_level()?,
        })
    }

    fn header_name(&self, name: &str) -> Result<String, Error> {
        let value = self.get(name).unwrap_or_default();
        let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if value.is_empty() || !value.chars().all(token_char) {
            return Err(self.invalid(name, "an HTTP header name"));
        }
        Ok(value.to_ascii_lowercase())
    }

    fn kinds(&self) -> Result<Vec<Kind>, Error> {
        let Some(text) = self.get("WATCH_KINDS") else {
            return Ok(Kind::ALL.to_vec());
        };
        let mut chosen = BTreeSet::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let kind = Kind::parse(item).ok_or_else(|| {
                Error::new(
                    "WATCH_KINDS",
                    format!(
                        "unknown kind {item:?}; expected a comma-separated list of PersistentVolume, \
                         PersistentVolumeClaim, VolumeSnapshot, VolumeSnapshotContent (or pv, pvc, vs, vsc)"
                    ),
                )
            })?;
            chosen.insert(kind);
        }
        let kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| chosen.contains(k))
            .collect();
        if kinds.is_empty() {
            return Ok(Kind::ALL.to_vec());
        }
        Ok(kinds)
    }

    fn namespaces(&self) -> Result<BTreeSet<String>, Error> {
        let text = self.get("WATCH_NAMESPACES").unwrap_or_default();
        let mut out = BTreeSet::new();
        for ns in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !is_dns_label(ns) {
                return Err(Error::new(
                    "WATCH_NAMESPACES",
                    format!(
                        "{ns:?} is not a namespace name (lowercase letters, digits and '-', at most 63)"
                    ),
                ));
            }
            out.insert(ns.to_owned());
        }
        Ok(out)
    }

    fn state_ref(&self) -> Result<Option<StateRef>, Error> {
        let Some(text) = self.get("STATE_CONFIGMAP") else {
            return Ok(None);
        };
        let (namespace, name) = match text.split_once('/') {
            Some((ns, name)) => (ns.to_owned(), name),
            None => match self.get("POD_NAMESPACE") {
                Some(ns) => (ns.to_owned(), text),
                None => {
                    return Err(Error::new(
                        "STATE_CONFIGMAP",
                        "give it as <namespace>/<name>, or set POD_NAMESPACE",
                    ));
                }
            },
        };
        if !is_dns_label(&namespace) || !is_dns_subdomain(name) {
            return Err(self.invalid(
                "STATE_CONFIGMAP",
                "a ConfigMap as <name> or <namespace>/<name> (lowercase letters, digits, '-', '.')",
            ));
        }
        Ok(Some(StateRef {
            namespace,
            name: name.to_owned(),
        }))
    }

    fn log_level(&self) -> Result<String, Error> {
        let level = self.get("LOG_LEVEL").unwrap_or_default().to_owned();
        tracing_subscriber::EnvFilter::try_new(&level).map_err(|_| {
            self.invalid(
                "LOG_LEVEL",
                "error, warn, info, debug, trace or a tracing filter directive",
            )
        })?;
        Ok(level)
    }
}

/// An RFC 1123 label: what a namespace name must be.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// An RFC 1123 subdomain: what a ConfigMap name must be.
fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("WEBHOOK_URL", "https://eda.example.com:5000/ocpdr"),
        ("CLUSTER_NAME", "primary"),
    ];

    fn run(env: &[(&str, &str)], args: &[&str]) -> Result<Config, Error> {
        let env: HashMap<String, String> = BASE
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

    fn err(env: &[(&str, &str)], args: &[&str]) -> String {
        run(env, args).unwrap_err().to_string()
    }

    #[test]
    fn defaults() {
        let c = run(&[], &[]).unwrap();
        assert_eq!(c.webhook.url, "https://eda.example.com:5000/ocpdr");
        assert_eq!(c.delivery.cluster, "primary");
        assert_eq!(c.filter, Filter::all());
        assert_eq!(c.delivery.queue_capacity, 1000);
        assert!(c.coalesce);
        assert_eq!(c.delivery.workers, 4);
        assert_eq!(c.webhook.token, None);
        assert_eq!(c.webhook.hmac, None);
        assert_eq!(c.state, None);
        assert_eq!(c.delivery.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.delivery.shutdown_grace, Duration::from_secs(20));
        assert_eq!(c.delivery.retry_initial, Duration::from_millis(500));
    }

    #[test]
    fn required_settings_are_named() {
        let none = parse(|_| None, &[]).unwrap_err();
        assert_eq!(none.name, "WEBHOOK_URL");
        assert!(none.problem.starts_with("required"), "{none}");
        let env: HashMap<&str, &str> = [("WEBHOOK_URL", "http://h:1/")].into();
        let no_cluster = parse(|k| env.get(k).map(|v| v.to_string()), &[]).unwrap_err();
        assert_eq!(no_cluster.name, "CLUSTER_NAME");
    }

    #[test]
    fn invalid_values_name_the_variable_and_the_expectation() {
        assert_eq!(
            err(&[("WEBHOOK_URL", "ftp://x")], &[]),
            "WEBHOOK_URL: expected an http:// or https:// URL with a host, got \"ftp://x\""
        );
        assert_eq!(
            err(&[("QUEUE_CAPACITY", "lots")], &[]),
            "QUEUE_CAPACITY: expected a whole number from 1 to 1000000, got \"lots\""
        );
        assert_eq!(
            err(&[("COALESCE", "maybe")], &[]),
            "COALESCE: expected true or false, got \"maybe\""
        );
        assert!(
            err(&[("WATCH_KINDS", "pv,pods")], &[])
                .starts_with("WATCH_KINDS: unknown kind \"pods\"")
        );
        assert!(err(&[("WATCH_NAMESPACES", "App")], &[]).starts_with("WATCH_NAMESPACES: \"App\""));
        assert!(err(&[("LISTEN_ADDR", "8080")], &[]).starts_with("LISTEN_ADDR:"));
        assert!(
            err(
                &[("WEBHOOK_HMAC_SECRET", "s"), ("WEBHOOK_HMAC_FORMAT", "b32")],
                &[]
            )
            .starts_with("WEBHOOK_HMAC_FORMAT:")
        );
        assert!(
            err(&[("STATE_CONFIGMAP", "state")], &[]).starts_with("STATE_CONFIGMAP: give it as")
        );
        assert!(err(&[("LOG_LEVEL", "info,[[")], &[]).starts_with("LOG_LEVEL:"));
        assert!(err(&[("DELIVERY_WORKERS", "0")], &[]).starts_with("DELIVERY_WORKERS:"));
    }

    #[test]
    fn secrets_never_appear_in_errors_or_debug_output() {
        let e = err(&[("WEBHOOK_TOKEN", "s3cr3t with space")], &[]);
        assert!(
            e.starts_with("WEBHOOK_TOKEN:") && !e.contains("s3cr3t"),
            "{e}"
        );
        let c = run(
            &[("WEBHOOK_TOKEN", "s3cr3t"), ("WEBHOOK_HMAC_SECRET", "hm4c")],
            &[],
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("hm4c"),
            "{debug}"
        );
        assert_eq!(c.webhook.token.unwrap().expose(), "s3cr3t");
    }

    #[test]
    fn filters_kinds_and_namespaces() {
        let c = run(
            &[
                ("WATCH_KINDS", "pvc, VolumeSnapshot"),
                ("WATCH_NAMESPACES", "app-ns1, app-ns2,"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            c.filter.kinds,
            [Kind::PersistentVolumeClaim, Kind::VolumeSnapshot]
        );
        assert_eq!(
            c.filter.namespaces,
            ["app-ns1".to_string(), "app-ns2".to_string()].into()
        );
    }

    #[test]
    fn flags_have_the_variable_names_and_win() {
        let c = run(
            &[("QUEUE_CAPACITY", "10")],
            &[
                "--queue-capacity",
                "20",
                "--coalesce=false",
                "--state-configmap=ocpdr/fwd-state",
            ],
        )
        .unwrap();
        assert_eq!(c.delivery.queue_capacity, 20);
        assert!(!c.coalesce);
        let same_name = run(&[], &["--QUEUE_CAPACITY=30"]).unwrap();
        assert_eq!(same_name.delivery.queue_capacity, 30);
        assert_eq!(
            c.state,
            Some(StateRef {
                namespace: "ocpdr".into(),
                name: "fwd-state".into()
            })
        );
        assert_eq!(
            err(&[], &["--no-such-flag=1"]),
            "--no-such-flag: unknown flag; see --help for the valid ones"
        );
        assert_eq!(
            err(&[], &["--queue-capacity"]),
            "--queue-capacity: needs a value"
        );
    }

    #[test]
    fn state_configmap_takes_the_pod_namespace() {
        let c = run(
            &[("STATE_CONFIGMAP", "fwd-state"), ("POD_NAMESPACE", "ocpdr")],
            &[],
        )
        .unwrap();
        assert_eq!(c.state.unwrap().namespace, "ocpdr");
    }

    #[test]
    fn hmac_settings() {
        let c = run(
            &[
                ("WEBHOOK_HMAC_SECRET", "k"),
                ("WEBHOOK_HMAC_FORMAT", "base64"),
            ],
            &[],
        )
        .unwrap();
        let h = c.webhook.hmac.unwrap();
        assert_eq!(h.header, "x-hub-signature-256");
        assert_eq!(h.format, DigestFormat::Base64);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = run(&[("WEBHOOK_TOKEN", ""), ("WATCH_NAMESPACES", "")], &[]).unwrap();
        assert_eq!(c.webhook.token, None);
        assert!(c.filter.namespaces.is_empty());
    }

    #[test]
    fn help_lists_every_variable_with_its_flag() {
        let Command::Help(text) = parse(|_| None, &["--help".into()]).unwrap() else {
            panic!("--help must print help")
        };
        for s in FORWARDER.settings() {
            assert!(
                text.contains(s.name) && text.contains(&flag_of(s.name)),
                "{}",
                s.name
            );
        }
    }
}
