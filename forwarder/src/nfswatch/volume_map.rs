//! The volume map: which export directory is which PersistentVolume.
//!
//! The periodic sync writes it onto the primary NFS server on every run (default
//! `<first export root>/.ocpdr/volume-map.json`), so the watcher follows the cluster without any
//! cluster credentials on the NFS server. Format (JSON, UTF-8):
//!
//! ```json
//! {"version": 1, "generated_at": "2026-11-28T10:00:00Z", "cluster": "primary",
//!  "volumes": [{"path": "/exports/primary/app-ns1-vm-disk-pvc-1a2b", "pv": "pvc-1a2b",
//!               "namespace": "app-ns1", "pvc": "vm-disk"}]}
//! ```
//!
//! `version` must be 1; `generated_at` and `cluster` are informational; each volume's `path` is
//! the absolute directory the PV's NFS `path` points at on this server. A changed file belongs to
//! the volume whose `path` is its longest component-wise prefix (`/exports/ab/x` is not in
//! `/exports/a`); files outside every volume are ignored. A map that does not parse is refused as
//! a whole with the field that is wrong, and the watcher keeps the previous one.

use ocpdr_core::paths::{self, PathError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// One volume of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The volume's export directory on this server, absolute and normalised.
    pub path: String,
    /// The PersistentVolume's name.
    pub pv: String,
    /// The claim's namespace.
    pub namespace: String,
    /// The claim's name.
    pub pvc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    version: u32,
    #[serde(default)]
    generated_at: Option<String>,
    #[serde(default)]
    cluster: Option<String>,
    volumes: Vec<Volume>,
}

/// Why a volume map was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON of the expected shape; names the field.
    #[error("{path}: {message}")]
    Json {
        /// The field, e.g. `volumes[3].pvc`.
        path: String,
        /// What serde found wrong.
        message: String,
    },
    /// A version this watcher does not know.
    #[error("version: expected 1, got {0}")]
    Version(u32),
    /// A volume path that is not an absolute directory.
    #[error("volumes[{index}].path: {source}")]
    Path {
        /// Position in `volumes`.
        index: usize,
        /// What is wrong with the path.
        #[source]
        source: PathError,
    },
    /// A required name left empty.
    #[error("volumes[{index}].{field}: expected a non-empty name")]
    Empty {
        /// Position in `volumes`.
        index: usize,
        /// `pv`, `namespace` or `pvc`.
        field: &'static str,
    },
    /// Two volumes with the same directory.
    #[error("volumes[{index}].path: {path:?} is already volume {first}")]
    Duplicate {
        /// Position of the second one.
        index: usize,
        /// The directory.
        path: String,
        /// Position of the first one.
        first: usize,
    },
}

/// A parsed volume map: export directory → volume.
#[derive(Debug, Default, Clone)]
pub struct VolumeMap {
    by_path: HashMap<String, (usize, Arc<Volume>)>,
    /// When the sync wrote it (as written; for logs).
    pub generated_at: Option<String>,
    /// The cluster it describes (as written; for logs).
    pub cluster: Option<String>,
}

impl VolumeMap {
    /// Parses and checks a map file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let file: MapFile = serde_path_to_error::deserialize(de).map_err(|e| Error::Json {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })?;
        if file.version != 1 {
            return Err(Error::Version(file.version));
        }
        let mut by_path = HashMap::with_capacity(file.volumes.len());
        for (index, mut volume) in file.volumes.into_iter().enumerate() {
            volume.path = paths::normalize_target(&volume.path)
                .map_err(|source| Error::Path { index, source })?;
            for (field, value) in [
                ("pv", &volume.pv),
                ("namespace", &volume.namespace),
                ("pvc", &volume.pvc),
            ] {
                if value.trim().is_empty() {
                    return Err(Error::Empty { index, field });
                }
            }
            if let Some((first, _)) = by_path.get(&volume.path) {
                return Err(Error::Duplicate {
                    index,
                    path: volume.path,
                    first: *first,
                });
            }
            by_path.insert(volume.path.clone(), (index, Arc::new(volume)));
        }
        Ok(VolumeMap {
            by_path,
            generated_at: file.generated_at,
            cluster: file.cluster,
        })
    }

    /// The volume `path` is in: the one with the longest directory prefix, if any.
    pub fn lookup(&self, path: &Path) -> Option<&Arc<Volume>> {
        let text = path.to_string_lossy();
        let mut candidate: &str = &text;
        loop {
            if let Some((_, volume)) = self.by_path.get(candidate) {
                return Some(volume);
            }
            match candidate.rfind('/') {
                Some(0) | None => return None,
                Some(cut) => candidate = &candidate[..cut],
            }
        }
    }

    /// How many volumes the map holds.
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    /// Whether the map holds no volume.
    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Every volume, in the map file's order.
    pub fn volumes(&self) -> Vec<Arc<Volume>> {
        let mut all: Vec<_> = self.by_path.values().cloned().collect();
        all.sort_by_key(|(index, _)| *index);
        all.into_iter().map(|(_, v)| v).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(volumes: serde_json::Value) -> Result<VolumeMap, Error> {
        VolumeMap::parse(&serde_json::to_vec(&json!({"version": 1, "volumes": volumes})).unwrap())
    }

    fn vol(path: &str, pvc: &str) -> serde_json::Value {
        json!({"path": path, "pv": format!("pv-{pvc}"), "namespace": "app", "pvc": pvc})
    }

    #[test]
    fn longest_component_prefix_wins_and_outside_paths_match_nothing() {
        let m = map(json!([
            vol("/exports/a", "a"),
            vol("/exports/a/nested", "nested"),
            vol("/exports/b/", "b")
        ]))
        .unwrap();
        let pvc = |p: &str| m.lookup(Path::new(p)).map(|v| v.pvc.clone());
        assert_eq!(pvc("/exports/a/disk.img").as_deref(), Some("a"));
        assert_eq!(pvc("/exports/a").as_deref(), Some("a"));
        assert_eq!(pvc("/exports/a/nested/x/y").as_deref(), Some("nested"));
        assert_eq!(
            pvc("/exports/b/disk.img").as_deref(),
            Some("b"),
            "trailing / normalised"
        );
        assert_eq!(
            pvc("/exports/ab/disk.img"),
            None,
            "component-wise, not by string"
        );
        assert_eq!(pvc("/exports/other"), None);
        assert_eq!(pvc("/exports"), None);
        assert_eq!(pvc("/"), None);
        assert_eq!(m.len(), 3);
        let order: Vec<_> = m.volumes().iter().map(|v| v.pvc.clone()).collect();
        assert_eq!(order, ["a", "nested", "b"]);
    }

    #[test]
    fn bad_maps_name_the_field() {
        let err = |v: serde_json::Value| map(v).unwrap_err().to_string();
        assert_eq!(
            err(json!([vol("exports/a", "a")])),
            "volumes[0].path: path \"exports/a\" is relative: expected an absolute path starting with /"
        );
        assert!(err(json!([vol("/", "a")])).starts_with("volumes[0].path: path \"/\" is the root"));
        assert_eq!(
            err(json!([vol("/e/a", "a"), vol("/e//a/", "b")])),
            "volumes[1].path: \"/e/a\" is already volume 0"
        );
        assert_eq!(
            err(json!([{"path": "/e/a", "pv": "p", "namespace": "n", "pvc": " "}])),
            "volumes[0].pvc: expected a non-empty name"
        );
        assert!(
            err(json!([{"path": "/e/a", "pv": "p", "namespace": "n"}]))
                .starts_with("volumes[0]: missing field `pvc`")
        );
        assert!(
            err(json!([{"path": "/e/a", "pv": "p", "namespace": "n", "pvc": "c", "size": 1}]))
                .contains("unknown field `size`")
        );
        let version = VolumeMap::parse(br#"{"version": 2, "volumes": []}"#).unwrap_err();
        assert_eq!(version.to_string(), "version: expected 1, got 2");
        assert!(VolumeMap::parse(b"not json").is_err());
        let empty = VolumeMap::parse(
            br#"{"version": 1, "generated_at": "x", "cluster": "c", "volumes": []}"#,
        )
        .unwrap();
        assert!(empty.is_empty());
    }
}
