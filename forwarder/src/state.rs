//! The state that survives a restart: for every object whose latest change the webhook
//! acknowledged, its uid, resourceVersion and a small stub of the object (identity and binding),
//! enough to send a DELETED for it if it is gone when the forwarder comes back.
//!
//! Only acknowledged changes are recorded (the outbox rule): a change that was queued but not yet
//! delivered when the forwarder stopped is still different from the saved state at the next
//! start, so the start-up diff sends it again. Stored gzip-compressed JSON in the
//! `state.json.gz` key of the `STATE_CONFIGMAP` ConfigMap's `binaryData`; a ConfigMap holds at
//! most 1 MiB, which fits roughly 10,000 objects.
//!
//! Read it with `kubectl get cm <name> -o jsonpath='{.binaryData.state\.json\.gz}' | base64 -d | gunzip`.

use crate::kinds::Kind;
use crate::object::Object;
use crate::payload::{Change, ChangeType};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The ConfigMap `binaryData` key holding the state.
pub const CONFIGMAP_KEY: &str = "state.json.gz";

/// The format version written by this forwarder.
pub const VERSION: u32 = 1;

/// The largest encoded state the forwarder tries to save: a ConfigMap holds at most 1 MiB, and
/// base64 in the API request adds a third.
pub const MAX_ENCODED_BYTES: usize = 750 * 1024;

/// A state that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not gzip.
    #[error("state is not gzip-compressed: {0}")]
    Decompress(#[source] std::io::Error),
    /// The decompressed bytes are not the expected JSON.
    #[error("state is not valid JSON of the expected shape: {0}")]
    Parse(#[source] serde_json::Error),
    /// Written by an unknown (newer) forwarder.
    #[error("state has format version {found}, this forwarder reads version {VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
    /// Too many objects for one ConfigMap.
    #[error(
        "state of {objects} objects is {bytes} bytes compressed, more than a ConfigMap holds ({MAX_ENCODED_BYTES})"
    )]
    TooLarge {
        /// Objects in the state.
        objects: usize,
        /// Compressed size.
        bytes: usize,
    },
}

/// The acknowledged state of every forwarded object, by kind and uid.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version, [`VERSION`].
    pub version: u32,
    /// `CLUSTER_NAME` of the forwarder that wrote it.
    pub cluster: String,
    /// Kind → uid → stub ([`stub`]), kept as JSON text.
    pub objects: BTreeMap<Kind, BTreeMap<String, Box<RawValue>>>,
}

impl Snapshot {
    /// An empty state for `cluster`.
    pub fn empty(cluster: &str) -> Self {
        Snapshot {
            version: VERSION,
            cluster: cluster.to_owned(),
            objects: BTreeMap::new(),
        }
    }

    /// Records a change the webhook acknowledged.
    pub fn record(&mut self, change: &Change) {
        let objects = self.objects.entry(change.kind).or_default();
        match change.change {
            ChangeType::Added | ChangeType::Modified => {
                objects.insert(change.uid().to_owned(), stub(&change.object));
            }
            ChangeType::Deleted => {
                objects.remove(change.uid());
            }
        }
    }

    /// The stubs of one kind, as objects (what a restarted forwarder knows).
    pub fn stubs(&self, kind: Kind) -> impl Iterator<Item = Object> + '_ {
        self.objects.get(&kind).into_iter().flat_map(move |m| {
            m.values().map(move |raw| {
                let stub = serde_json::from_str(raw.get()).expect("a stub is JSON");
                Object::new(kind, stub)
            })
        })
    }

    /// Number of objects over all kinds.
    pub fn len(&self) -> usize {
        self.objects.values().map(BTreeMap::len).sum()
    }

    /// Whether no object is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The gzip-compressed JSON form; refuses a state too large for a ConfigMap.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        serde_json::to_writer(&mut gz, self).map_err(Error::Parse)?;
        gz.flush().map_err(Error::Decompress)?;
        let bytes = gz.finish().map_err(Error::Decompress)?;
        if bytes.len() > MAX_ENCODED_BYTES {
            return Err(Error::TooLarge {
                objects: self.len(),
                bytes: bytes.len(),
            });
        }
        Ok(bytes)
    }

    /// Reads the form [`Snapshot::encode`] writes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut json = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut json)
            .map_err(Error::Decompress)?;
        let snapshot: Snapshot = serde_json::from_slice(&json).map_err(Error::Parse)?;
        if snapshot.version != VERSION {
            return Err(Error::Version {
                found: snapshot.version,
            });
        }
        Ok(snapshot)
    }
}

/// The parts of an object a stub keeps (everything else is skipped while parsing).
#[derive(Deserialize)]
struct StubSource {
    metadata: Map<String, Value>,
    #[serde(default)]
    spec: Option<StubSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StubSpec {
    claim_ref: Option<Value>,
    volume_snapshot_ref: Option<Value>,
    volume_name: Option<Value>,
}

/// What is kept of an object: `apiVersion`, `kind`, `metadata` name, namespace, uid,
/// resourceVersion and labels, and the binding that relates a cluster-scoped object to a
/// namespace (`spec.claimRef`, `spec.volumeSnapshotRef`) or a claim to its volume
/// (`spec.volumeName`). A DELETED sent after a restart carries this stub as its `resource`.
pub fn stub(obj: &Object) -> Box<RawValue> {
    let kind = obj.kind();
    let source: StubSource =
        serde_json::from_str(obj.json().get()).expect("an object's JSON has metadata");
    let meta: Map<String, Value> = source
        .metadata
        .into_iter()
        .filter(|(k, _)| {
            ["name", "namespace", "uid", "resourceVersion", "labels"].contains(&k.as_str())
        })
        .collect();
    let mut out = json!({"apiVersion": kind.api_version(), "kind": kind.name(), "metadata": meta});
    if let Some(spec) = source.spec {
        let mut kept = Map::new();
        for (field, value) in [
            ("claimRef", spec.claim_ref),
            ("volumeSnapshotRef", spec.volume_snapshot_ref),
            ("volumeName", spec.volume_name),
        ] {
            if let Some(v) = value {
                kept.insert(field.to_owned(), v);
            }
        }
        if !kept.is_empty() {
            out["spec"] = Value::Object(kept);
        }
    }
    serde_json::value::to_raw_value(&out).expect("a JSON value always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pv(uid: &str, rv: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "PersistentVolume",
               "metadata": {"name": format!("pv-{uid}"), "uid": uid, "resourceVersion": rv,
                            "labels": {"app": "vm"}, "annotations": {"big": "x".repeat(100)}},
               "spec": {"claimRef": {"namespace": "app", "name": "disk"},
                        "nfs": {"server": "nfs1", "path": "/exports/a"}},
               "status": {"phase": "Bound"}})
    }

    fn change(t: ChangeType, obj: Value) -> Change {
        Change::now(t, Arc::new(Object::new(Kind::PersistentVolume, obj)), false)
    }

    #[test]
    fn stub_keeps_identity_and_binding_only() {
        let s: Value =
            serde_json::from_str(stub(&Object::new(Kind::PersistentVolume, pv("u1", "5"))).get())
                .unwrap();
        assert_eq!(
            s,
            json!({"apiVersion": "v1", "kind": "PersistentVolume",
                   "metadata": {"name": "pv-u1", "uid": "u1", "resourceVersion": "5", "labels": {"app": "vm"}},
                   "spec": {"claimRef": {"namespace": "app", "name": "disk"}}})
        );
    }

    #[test]
    fn records_acknowledged_changes_and_round_trips() {
        let mut snap = Snapshot::empty("primary");
        snap.record(&change(ChangeType::Added, pv("u1", "1")));
        snap.record(&change(ChangeType::Added, pv("u2", "1")));
        snap.record(&change(ChangeType::Modified, pv("u1", "2")));
        snap.record(&change(ChangeType::Deleted, pv("u2", "3")));
        assert_eq!(snap.len(), 1);
        let only: Vec<Object> = snap.stubs(Kind::PersistentVolume).collect();
        assert_eq!(only[0].resource_version(), "2");
        assert_eq!(only[0].related_namespace(), Some("app"));
        assert_eq!(snap.stubs(Kind::VolumeSnapshot).count(), 0);

        let encoded = snap.encode().unwrap();
        let back = Snapshot::decode(&encoded).unwrap();
        assert_eq!(back.cluster, "primary");
        assert_eq!(back.encode().unwrap(), encoded);
        assert_eq!(
            back.stubs(Kind::PersistentVolume).next().unwrap().uid(),
            "u1"
        );
    }

    #[test]
    fn decode_names_what_is_wrong() {
        assert!(matches!(
            Snapshot::decode(b"plain"),
            Err(Error::Decompress(_))
        ));
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(br#"{"version": 99, "cluster": "c", "objects": {}}"#)
            .unwrap();
        let err = Snapshot::decode(&gz.finish().unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "state has format version 99, this forwarder reads version 1"
        );
    }

    #[test]
    fn ten_thousand_objects_fit_in_a_configmap() {
        // Random uids (as the API server's UUIDv4) compress worst.
        let mut rng = fastrand::Rng::with_seed(7);
        let mut snap = Snapshot::empty("primary");
        for i in 0..10_000 {
            let hex = |n: usize, rng: &mut fastrand::Rng| -> String {
                (0..n).map(|_| rng.digit(16)).collect()
            };
            let uid = format!(
                "{}-{}-4{}-a{}-{}",
                hex(8, &mut rng),
                hex(4, &mut rng),
                hex(3, &mut rng),
                hex(3, &mut rng),
                hex(12, &mut rng)
            );
            let obj = json!({"metadata": {"name": format!("vm-disk-{i}"), "namespace": "app-ns1",
                                          "uid": uid, "resourceVersion": (100_000 + i).to_string()},
                             "spec": {"volumeName": format!("pvc-{uid}")}});
            let obj = Object::new(Kind::PersistentVolumeClaim, obj);
            snap.record(&Change::now(ChangeType::Added, Arc::new(obj), false));
        }
        let bytes = snap.encode().unwrap();
        assert!(bytes.len() < MAX_ENCODED_BYTES, "{} bytes", bytes.len());
    }
}
