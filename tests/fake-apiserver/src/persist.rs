//! `--state-dir` persistence: a snapshot (`snapshot.json`) plus an append-only journal
//! (`journal.jsonl`, one line per write). Each write appends one line before it becomes
//! visible, so a killed server loses nothing it acknowledged; a torn last line is ignored. On
//! start the journal is replayed onto the snapshot and both are rewritten as one snapshot
//! (write to a temporary file, then rename), and again on a clean shutdown.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::store::{ObjKey, name_of, namespace_of};

/// The open journal of a state directory.
pub struct Journal {
    dir: PathBuf,
    file: File,
}

/// What a state directory held: the resourceVersion and every object with its `group/plural`.
pub struct Loaded {
    /// The last resourceVersion written.
    pub rv: u64,
    /// `(group/plural, object)` pairs.
    pub objects: Vec<(String, Value)>,
}

const SNAPSHOT: &str = "snapshot.json";
const JOURNAL: &str = "journal.jsonl";

impl Journal {
    /// Opens (creating if needed) `dir`, loads its state and compacts it.
    pub fn open(dir: &Path) -> anyhow::Result<(Journal, Loaded)> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        let mut state: HashMap<String, BTreeMap<ObjKey, Arc<Value>>> = HashMap::new();
        let mut rv = 0u64;
        let snap = dir.join(SNAPSHOT);
        if snap.exists() {
            let text = fs::read_to_string(&snap)
                .with_context(|| format!("cannot read {}", snap.display()))?;
            let v: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", snap.display()))?;
            rv = v["resourceVersion"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            for item in v["objects"].as_array().into_iter().flatten() {
                let storage = item["storage"].as_str().unwrap_or_default().to_owned();
                let obj = item["object"].clone();
                let key = (namespace_of(&obj).to_owned(), name_of(&obj).to_owned());
                state.entry(storage).or_default().insert(key, Arc::new(obj));
            }
        }
        let jpath = dir.join(JOURNAL);
        if jpath.exists() {
            let f =
                File::open(&jpath).with_context(|| format!("cannot read {}", jpath.display()))?;
            for line in BufReader::new(f).lines() {
                let line = line?;
                // A torn last line (killed mid-write) is not a committed write.
                let Ok(rec) = serde_json::from_str::<Value>(&line) else {
                    break;
                };
                let storage = rec["storage"].as_str().unwrap_or_default().to_owned();
                let obj = rec["object"].clone();
                let key = (namespace_of(&obj).to_owned(), name_of(&obj).to_owned());
                let table = state.entry(storage).or_default();
                if rec["deleted"].as_bool() == Some(true) {
                    table.remove(&key);
                } else {
                    table.insert(key, Arc::new(obj));
                }
                rv = rv.max(rec["rv"].as_u64().unwrap_or(0));
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&jpath)?;
        let mut journal = Journal {
            dir: dir.to_owned(),
            file,
        };
        journal.compact(rv, &state)?;
        let objects = state
            .into_iter()
            .flat_map(|(storage, table)| {
                table
                    .into_values()
                    .map(move |o| (storage.clone(), (*o).clone()))
            })
            .collect();
        Ok((journal, Loaded { rv, objects }))
    }

    /// Appends one write.
    pub fn record(
        &mut self,
        rv: u64,
        storage: &str,
        deleted: bool,
        obj: &Value,
    ) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(
            &json!({"rv": rv, "storage": storage, "deleted": deleted, "object": obj}),
        )?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Writes the whole state as the snapshot and empties the journal.
    pub fn compact(
        &mut self,
        rv: u64,
        tables: &HashMap<String, BTreeMap<ObjKey, Arc<Value>>>,
    ) -> anyhow::Result<()> {
        let objects: Vec<Value> = tables
            .iter()
            .flat_map(|(storage, t)| {
                t.values()
                    .map(move |o| json!({"storage": storage, "object": o.as_ref()}))
            })
            .collect();
        let snap = json!({"resourceVersion": rv.to_string(), "objects": objects});
        let tmp = self.dir.join(format!("{SNAPSHOT}.tmp"));
        fs::write(&tmp, serde_json::to_vec(&snap)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, self.dir.join(SNAPSHOT))?;
        self.file.set_len(0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_replays_writes_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, loaded) = Journal::open(dir.path()).unwrap();
        assert_eq!((loaded.rv, loaded.objects.len()), (0, 0));
        let a = json!({"metadata": {"name": "a", "namespace": "ns"}});
        let b = json!({"metadata": {"name": "b", "namespace": "ns"}});
        j.record(1, "/configmaps", false, &a).unwrap();
        j.record(2, "/configmaps", false, &b).unwrap();
        j.record(3, "/configmaps", true, &a).unwrap();
        j.file.write_all(b"{\"rv\": 4, \"stor").unwrap();
        drop(j);
        let (_, loaded) = Journal::open(dir.path()).unwrap();
        assert_eq!(loaded.rv, 3);
        assert_eq!(loaded.objects, vec![("/configmaps".to_owned(), b)]);
        assert_eq!(fs::read_to_string(dir.path().join(JOURNAL)).unwrap(), "");
    }
}
