//! The options of a multi-volume sync, as the `nfs_sync` module receives them.
//!
//! They deserialize with `deny_unknown_fields`, so a typo is an error naming the valid keys.
//! Planning ([`crate::rsync::plan`]) reads the data options; `concurrency`, `timeout` and
//! `retries` are for the edge that runs the plan.

use crate::retarget;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::num::NonZeroUsize;

/// Everything one sync of many volumes needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncOptions {
    /// The volumes to sync.
    pub volumes: Vec<VolumeEntry>,
    /// Which end is local for volumes given in the `pv_retarget` form.
    #[serde(default)]
    pub direction: Direction,
    /// How to reach the remote end.
    #[serde(default)]
    pub ssh: SshOptions,
    /// Delete files on the destination that the source does not have (`--delete`).
    #[serde(default = "yes")]
    pub delete: bool,
    /// Directories every destination must lie below; required when `delete` is true.
    #[serde(default)]
    pub allowed_roots: Vec<String>,
    /// How many volumes sync at the same time.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
    /// Seconds one volume may take, retries included; `None`: no limit.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// How many times a connection-level failure is retried, with backoff.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `--bwlimit` rate per volume (KiB/s, or with a K/M/G suffix).
    #[serde(default, deserialize_with = "rate")]
    pub bwlimit: Option<String>,
    /// Compare file contents (`--checksum`) instead of size and modification time.
    #[serde(default)]
    pub checksum: bool,
    /// More rsync options, long form only; some are refused (see [`crate::rsync::plan`]).
    #[serde(default)]
    pub extra_args: Vec<String>,
    /// Sync, or only compare.
    #[serde(default)]
    pub mode: Mode,
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> NonZeroUsize {
    NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN)
}

fn default_retries() -> u32 {
    3
}

/// `sync` copies; `verify` compares without changing anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Make each destination a copy of its source.
    #[default]
    Sync,
    /// Report, per volume, whether the destination already matches the source.
    Verify,
}

/// Where the module runs, for volumes given as `pv_retarget` returns them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// On the primary NFS server: `source_path` is local, `dr_server:dr_path` remote.
    #[default]
    Push,
    /// On the DR NFS server: `source_server:source_path` is remote, `dr_path` local.
    Pull,
}

/// `ssh` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshOptions {
    /// Login name for remote ends that do not name one.
    #[serde(default)]
    pub user: Option<String>,
    /// Port of the remote sshd.
    #[serde(default)]
    pub port: Option<u16>,
    /// Private key file (`ssh -i`).
    #[serde(default)]
    pub identity_file: Option<String>,
    /// known_hosts file to check the remote host key against.
    #[serde(default)]
    pub known_hosts_file: Option<String>,
    /// `StrictHostKeyChecking`.
    #[serde(default)]
    pub strict_host_key_checking: HostKeyChecking,
    /// More `-o Key=Value` options for ssh.
    #[serde(default)]
    pub extra_options: Vec<String>,
}

/// ssh's `StrictHostKeyChecking`; YAML booleans are accepted (`yes` is a boolean in YAML 1.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostKeyChecking {
    /// Refuse unknown and changed host keys.
    #[default]
    Yes,
    /// Add unknown host keys to the known_hosts file, refuse changed ones.
    AcceptNew,
    /// Accept any host key (not for production).
    No,
}

impl HostKeyChecking {
    /// The value ssh takes.
    pub fn as_str(self) -> &'static str {
        match self {
            HostKeyChecking::Yes => "yes",
            HostKeyChecking::AcceptNew => "accept-new",
            HostKeyChecking::No => "no",
        }
    }
}

impl<'de> Deserialize<'de> for HostKeyChecking {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const EXPECTED: &str = "one of yes, accept-new, no (or a boolean)";
        match Value::deserialize(deserializer)? {
            Value::Bool(true) => Ok(HostKeyChecking::Yes),
            Value::Bool(false) => Ok(HostKeyChecking::No),
            Value::String(s) => match s.as_str() {
                "yes" | "true" => Ok(HostKeyChecking::Yes),
                "accept-new" => Ok(HostKeyChecking::AcceptNew),
                "no" | "false" => Ok(HostKeyChecking::No),
                other => Err(de::Error::invalid_value(
                    de::Unexpected::Str(other),
                    &EXPECTED,
                )),
            },
            other => Err(de::Error::invalid_type(unexpected(&other), &EXPECTED)),
        }
    }
}

/// A bandwidth limit given as a number (KiB/s) or a string with a unit.
fn rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    const EXPECTED: &str = "a rate such as 50000 (KiB/s), \"20m\" or \"1.5G\"";
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Number(n) if n.is_u64() => Ok(Some(n.to_string())),
        Value::String(s) if valid_rate(&s) => Ok(Some(s)),
        Value::String(s) => Err(de::Error::invalid_value(de::Unexpected::Str(&s), &EXPECTED)),
        other => Err(de::Error::invalid_type(unexpected(&other), &EXPECTED)),
    }
}

/// `digits[.digits][K|M|G|T|P][i][B]`, case-insensitive, as rsync's `--bwlimit` parses it.
fn valid_rate(rate: &str) -> bool {
    let number_end = rate
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rate.len());
    let (number, unit) = rate.split_at(number_end);
    let number_ok = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    let unit = unit.to_ascii_lowercase();
    let unit_ok = unit.is_empty()
        || ["k", "m", "g", "t", "p"]
            .iter()
            .any(|u| [*u, &format!("{u}b"), &format!("{u}ib")].contains(&unit.as_str()));
    number_ok && unit_ok
}

fn unexpected(value: &Value) -> de::Unexpected<'_> {
    match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

/// One volume to sync: either side may be a local path or `[user@]host:/path`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    /// Name used in results and messages (e.g. the PV name).
    pub name: String,
    /// The directory whose contents are copied.
    pub source: String,
    /// The directory that becomes a copy of `source`.
    pub destination: String,
}

/// A `volumes` entry: `{name, source, destination}`, or a volume exactly as
/// `ocpdr.dr.pv_retarget` returns it (`pv`, `source_server`, `source_path`, `dr_server`,
/// `dr_path`, ...), which `direction` turns into the first form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeEntry {
    /// The explicit form.
    Spec(VolumeSpec),
    /// The `pv_retarget` form.
    Retargeted(retarget::Volume),
}

impl<'de> Deserialize<'de> for VolumeEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.get("pv").is_some() {
            retarget::Volume::deserialize(value)
                .map(VolumeEntry::Retargeted)
                .map_err(|e| de::Error::custom(format!("in the pv_retarget form: {e}")))
        } else if value.is_object() {
            VolumeSpec::deserialize(value)
                .map(VolumeEntry::Spec)
                .map_err(|e| {
                    de::Error::custom(format!("in the {{name, source, destination}} form: {e}"))
                })
        } else {
            Err(de::Error::invalid_type(
                unexpected(&value),
                &"a volume {name, source, destination} or a volume returned by pv_retarget",
            ))
        }
    }
}

impl VolumeEntry {
    /// The explicit form: `pv_retarget` volumes become `source_path` → `dr_server:dr_path`
    /// (push, run on the primary) or `source_server:source_path` → `dr_path` (pull, on DR).
    pub fn to_spec(&self, direction: Direction) -> VolumeSpec {
        match self {
            VolumeEntry::Spec(spec) => spec.clone(),
            VolumeEntry::Retargeted(v) => {
                let (source, destination) = match direction {
                    Direction::Push => (
                        v.source_path.clone(),
                        format!("{}:{}", bracket_ipv6(&v.dr_server), v.dr_path),
                    ),
                    Direction::Pull => (
                        format!("{}:{}", bracket_ipv6(&v.source_server), v.source_path),
                        v.dr_path.clone(),
                    ),
                };
                VolumeSpec {
                    name: v.pv.clone(),
                    source,
                    destination,
                }
            }
        }
    }
}

/// NFS servers may be bare IPv6 addresses; rsync needs them in brackets before `:path`.
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options(value: Value) -> Result<SyncOptions, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let o = options(json!({"volumes": []})).unwrap();
        assert!(o.delete);
        assert_eq!(o.concurrency.get(), 4);
        assert_eq!(o.retries, 3);
        assert_eq!(o.timeout, None);
        assert_eq!(o.mode, Mode::Sync);
        assert_eq!(o.direction, Direction::Push);
        assert_eq!(o.ssh.strict_host_key_checking, HostKeyChecking::Yes);
        assert!(!o.checksum);
    }

    #[test]
    fn host_key_checking_takes_yaml_booleans_and_words() {
        let check = |v: Value| {
            options(json!({"volumes": [], "ssh": {"strict_host_key_checking": v}}))
                .map(|o| o.ssh.strict_host_key_checking)
        };
        assert_eq!(check(json!(true)), Ok(HostKeyChecking::Yes));
        assert_eq!(check(json!(false)), Ok(HostKeyChecking::No));
        assert_eq!(check(json!("accept-new")), Ok(HostKeyChecking::AcceptNew));
        assert!(check(json!("maybe")).unwrap_err().contains("accept-new"));
    }

    #[test]
    fn bwlimit_takes_numbers_and_rsync_units() {
        let bw = |v: Value| options(json!({"volumes": [], "bwlimit": v})).map(|o| o.bwlimit);
        assert_eq!(bw(json!(50000)), Ok(Some("50000".into())));
        for ok in ["20m", "1.5G", "100KiB", "7kb", "300"] {
            assert_eq!(bw(json!(ok)), Ok(Some(ok.into())), "{ok}");
        }
        for bad in ["fast", "-5", "1.2.3", "5 m", "", "m"] {
            assert!(bw(json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn zero_concurrency_and_unknown_keys_are_refused() {
        assert!(
            options(json!({"volumes": [], "concurrency": 0}))
                .unwrap_err()
                .contains("nonzero")
        );
        let err =
            options(json!({"volumes": [{"name": "a", "source": "/a", "dest": "/b"}]})).unwrap_err();
        assert!(err.contains("unknown field `dest`"), "{err}");
    }

    #[test]
    fn pv_retarget_volumes_become_specs_by_direction() {
        let entry: VolumeEntry = serde_json::from_value(json!({
            "pv": "pv-1", "pvc_namespace": "app", "pvc_name": "disk", "source_kind": "nfs",
            "source_server": "nfs-a", "source_path": "/exports/app/disk",
            "dr_server": "fd00::5", "dr_path": "/exports-dr/app/disk"}))
        .unwrap();
        assert_eq!(
            entry.to_spec(Direction::Push),
            VolumeSpec {
                name: "pv-1".into(),
                source: "/exports/app/disk".into(),
                destination: "[fd00::5]:/exports-dr/app/disk".into()
            }
        );
        assert_eq!(
            entry.to_spec(Direction::Pull).source,
            "nfs-a:/exports/app/disk"
        );
        assert_eq!(
            entry.to_spec(Direction::Pull).destination,
            "/exports-dr/app/disk"
        );
    }
}
