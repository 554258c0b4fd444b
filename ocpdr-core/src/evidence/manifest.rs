//! `manifest.json`: what ran, when, from which version, under which change, with what result,
//! and the hash and size of every artifact.
//!
//! The bytes are canonical, so the same inputs always give the same file: fields in the fixed
//! order of [`Manifest`], times in RFC 3339 UTC to the second (`2025-09-18T02:00:00Z`), the
//! caller's `summary` with its keys sorted at every level, artifacts sorted by path, two-space
//! indentation and a final newline.

use super::error::{Error, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::Path;

/// The manifest format written by this version.
pub const MANIFEST_VERSION: u32 = 1;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Everything it set out to do was done.
    Success,
    /// Some of it was done (e.g. some volumes synced, others failed).
    Partial,
    /// It did not achieve its purpose.
    Failed,
}

impl Status {
    /// The word used in the manifest, logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

/// One file of the run, as `sha256sum` would describe it, plus its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// File name inside the run directory.
    pub path: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A value replaced by `********` before it was written, so the record says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// Which artifact (or `summary`, `evidence.log`).
    pub artifact: String,
    /// Where in it: a JSON pointer, a CSV `row/column`, or a log line number.
    pub location: String,
}

/// The content of `manifest.json`. Field order here is the order in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version, [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// The run's id, also its directory name.
    pub run_id: String,
    /// Which DR mode ran (`periodic-sync`, `event-sync`, `failover`, ...).
    pub mode: String,
    /// The change ticket the run belongs to, if any.
    pub change_id: Option<String>,
    /// The code that ran: `<playbook>@<collection>-<version>`.
    pub script_version: String,
    /// The host the evidence was written on.
    pub host: String,
    /// When the run started.
    #[serde(with = "utc_seconds")]
    pub started_at: DateTime<Utc>,
    /// When the run finished (or the last time its record was updated).
    #[serde(with = "utc_seconds")]
    pub finished_at: DateTime<Utc>,
    /// How the run ended.
    pub status: Status,
    /// How many days the run's evidence must be kept.
    pub retention_days: u32,
    /// The caller's counts and failures.
    pub summary: Map<String, Value>,
    /// Values replaced before writing because they looked like secrets.
    pub redactions: Vec<Redaction>,
    /// Every artifact, sorted by path.
    pub artifacts: Vec<Artifact>,
}

impl Manifest {
    /// The canonical bytes of this manifest (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut canonical = self.clone();
        canonical.summary = sort_keys_map(&self.summary);
        canonical.artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        let mut bytes = serde_json::to_vec_pretty(&canonical)
            .expect("a manifest is plain data and always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses a manifest read from `path` (named in the error).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Manifest> {
        serde_json::from_slice(bytes).map_err(|err| Error::BadManifest {
            path: path.to_owned(),
            reason: err.to_string(),
        })
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(Error::io("read", path))?;
        Manifest::from_bytes(&bytes, path)
    }
}

/// A copy of `value` with the keys of every object sorted, so equal data gives equal bytes
/// whatever order the caller's dictionaries came in.
pub fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(sort_keys_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn sort_keys_map(map: &Map<String, Value>) -> Map<String, Value> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(k, v)| (k.clone(), sort_keys(v)))
        .collect()
}

/// RFC 3339 UTC to the second, e.g. `2025-09-18T02:00:00Z`.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serde adapter: [`format_time`] out, any RFC 3339 time in.
pub(crate) mod utc_seconds {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|err| {
                serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time: {err}"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn sample() -> Manifest {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        Manifest {
            manifest_version: MANIFEST_VERSION,
            run_id: "periodic-sync-20250918T020000Z-7f3a".into(),
            mode: "periodic-sync".into(),
            change_id: Some("CHG-2025-0918-001".into()),
            script_version: "sync.yml@ocpdr.dr-1.0.0".into(),
            host: "aap-exec-1".into(),
            started_at: at("2025-09-18T02:00:00Z"),
            finished_at: at("2025-09-18T02:03:07.250+02:00"),
            status: Status::Partial,
            retention_days: 180,
            summary: json!({"volumes": {"synced": 3, "failed": 1}, "drift": 0})
                .as_object()
                .unwrap()
                .clone(),
            redactions: vec![],
            artifacts: vec![
                Artifact {
                    path: "volumes.csv".into(),
                    sha256: "b".repeat(64),
                    size: 10,
                },
                Artifact {
                    path: "evidence.log".into(),
                    sha256: "a".repeat(64),
                    size: 5,
                },
            ],
        }
    }

    #[test]
    fn bytes_are_canonical() {
        let manifest = sample();
        let text = String::from_utf8(manifest.to_bytes()).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "manifest_version",
                "run_id",
                "mode",
                "change_id",
                "script_version",
                "host",
                "started_at",
                "finished_at",
                "status",
                "retention_days",
                "summary",
                "redactions",
                "artifacts"
            ]
        );
        assert!(
            text.contains("\"finished_at\": \"2025-09-18T00:03:07Z\""),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        // Summary keys sorted at every level, artifacts by path.
        let drift = text.find("\"drift\"").unwrap();
        let volumes = text.find("\"volumes\"").unwrap();
        assert!(drift < volumes);
        assert!(text.find("\"failed\"").unwrap() < text.find("\"synced\"").unwrap());
        assert!(text.find("evidence.log").unwrap() < text.find("volumes.csv").unwrap());

        // Same data in another order: same bytes. Round trip: same manifest.
        let mut shuffled = manifest.clone();
        shuffled.artifacts.reverse();
        shuffled.summary = json!({"drift": 0, "volumes": {"failed": 1, "synced": 3}})
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(shuffled.to_bytes(), manifest.to_bytes());
        let back = Manifest::from_bytes(&manifest.to_bytes(), Path::new("m")).unwrap();
        assert_eq!(back.to_bytes(), manifest.to_bytes());
    }

    #[test]
    fn a_bad_manifest_names_the_file() {
        let err =
            Manifest::from_bytes(b"{\"run_id\": 1}", Path::new("/e/x/manifest.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/e/x/manifest.json is not a valid evidence manifest: invalid type"),
            "{err}"
        );
    }
}
