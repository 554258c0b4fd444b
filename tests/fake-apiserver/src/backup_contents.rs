//! What each Velero backup holds, as its tarball would: the objects a test or the lab
//! registers with `PUT /_fake/backups/{name}` and the Restore controller restores from. Kept in
//! memory and, with `--state-dir`, in `backups.json` there (rewritten whole on each
//! registration: write to a temporary file, then rename), so a restarted server still has them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use serde_json::Value;

const FILE: &str = "backups.json";

/// The registered backup contents, by backup name.
pub struct BackupContents {
    file: Option<PathBuf>,
    by_name: Mutex<BTreeMap<String, Arc<Vec<Value>>>>,
}

impl BackupContents {
    /// Loads what `state_dir` holds (nothing without one, or before the first registration).
    pub fn load(state_dir: Option<&Path>) -> anyhow::Result<BackupContents> {
        let file = state_dir.map(|d| d.join(FILE));
        let mut by_name = BTreeMap::new();
        if let Some(path) = file.as_deref().filter(|p| p.exists()) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let stored: BTreeMap<String, Vec<Value>> =
                serde_json::from_str(&text).with_context(|| {
                    format!("{}: expected {{backup name: [objects]}}", path.display())
                })?;
            by_name = stored.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        }
        Ok(BackupContents {
            file,
            by_name: Mutex::new(by_name),
        })
    }

    /// Sets (or replaces) the contents of backup `name`, persisting them first.
    pub fn put(&self, name: &str, objects: Vec<Value>) -> anyhow::Result<()> {
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = by_name.clone();
        next.insert(name.to_owned(), Arc::new(objects));
        if let Some(path) = &self.file {
            let tmp = path.with_extension("json.tmp");
            let plain: BTreeMap<&str, &[Value]> = next
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_slice()))
                .collect();
            std::fs::write(&tmp, serde_json::to_vec(&plain)?)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot replace {}", path.display()))?;
        }
        *by_name = next;
        Ok(())
    }

    /// The objects of backup `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<Vec<Value>>> {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Every registered backup with its object count, by name.
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contents_survive_a_restart_in_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = BackupContents::load(Some(dir.path())).unwrap();
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}});
        first.put("b1", vec![cm.clone()]).unwrap();
        first.put("b2", vec![]).unwrap();
        let again = BackupContents::load(Some(dir.path())).unwrap();
        assert_eq!(again.counts(), [("b1".to_owned(), 1), ("b2".to_owned(), 0)]);
        assert_eq!(*again.get("b1").unwrap(), vec![cm]);
        assert!(again.get("b3").is_none());
    }
}
