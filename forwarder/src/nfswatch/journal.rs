//! The pending journal (`STATE_FILE`): bursts seen but not yet acknowledged by the webhook.
//!
//! A burst is written here when it opens (its first change), updated when it closes, and removed
//! when the webhook acknowledges its event. A watcher killed mid-burst, or stopped with events
//! still undelivered, finds them here at its next start and sends them again as `recovered`, with
//! the original `first_change_at`: no burst it saw is lost. (Changes made while no watcher runs
//! are not seen by anyone: the start-up catch-up, `CATCHUP_ON_START`, and the hourly reconcile
//! cover those.)
//!
//! The file is small JSON (`{"version": 1, "pending": [...]}`), rewritten whole through a
//! temporary file and a rename, so a crash leaves the old or the new version, never half of one.

use crate::deliver::Acknowledge;
use crate::nfswatch::event::{VolumeEvent, timestamp};
use crate::nfswatch::volume_map::Volume;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing::error;

/// One unacknowledged burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The volume.
    pub volume: Volume,
    /// First change.
    pub first_change_at: DateTime<Utc>,
    /// Last change recorded.
    pub last_change_at: DateTime<Utc>,
    /// Changes recorded.
    pub changes: u64,
}

impl Pending {
    fn key(&self) -> (String, String) {
        (self.volume.path.clone(), timestamp(&self.first_change_at))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalFile {
    version: u32,
    pending: Vec<Pending>,
}

/// The journal file and its contents.
pub struct Journal {
    path: PathBuf,
    entries: Mutex<BTreeMap<(String, String), Pending>>,
}

impl Journal {
    /// Opens the journal at `path` (creating its directory); returns the bursts a previous run
    /// left unacknowledged. A missing file is an empty journal; an unreadable one is an error
    /// naming the file.
    pub fn open(path: &Path) -> anyhow::Result<(Journal, Vec<Pending>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("STATE_FILE: cannot create {}: {e}", dir.display()))?;
        }
        let leftovers = match std::fs::read(path) {
            Ok(bytes) => {
                let file: JournalFile = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!(
                        "STATE_FILE: {} is not a pending journal ({e}); move it away to start without it",
                        path.display()
                    )
                })?;
                file.pending
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => anyhow::bail!("STATE_FILE: cannot read {}: {e}", path.display()),
        };
        let entries = leftovers.iter().map(|p| (p.key(), p.clone())).collect();
        Ok((
            Journal {
                path: path.to_owned(),
                entries: Mutex::new(entries),
            },
            leftovers,
        ))
    }

    /// Records (or updates) a burst.
    pub fn record(&self, pending: Pending) -> io::Result<()> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(pending.key(), pending);
        self.save(&entries)
    }

    /// Forgets the burst of `volume` that began at `first_change_at`.
    pub fn remove(&self, volume: &str, first_change_at: &DateTime<Utc>) -> io::Result<()> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries
            .remove(&(volume.to_owned(), timestamp(first_change_at)))
            .is_some()
        {
            self.save(&entries)?;
        }
        Ok(())
    }

    /// Bursts currently recorded.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn save(&self, entries: &BTreeMap<(String, String), Pending>) -> io::Result<()> {
        let file = JournalFile {
            version: 1,
            pending: entries.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("a JSON value always serializes");
        let tmp = self.path.with_extension("tmp");
        let mut out = std::fs::File::create(&tmp)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

impl Acknowledge<VolumeEvent> for Journal {
    fn acknowledged(&self, event: &VolumeEvent) {
        if let Err(err) = self.remove(&event.volume.path, &event.first_change_at) {
            error!(file = %self.path.display(), error = %err, "cannot update the pending journal");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(path: &str, at: DateTime<Utc>) -> Pending {
        Pending {
            volume: Volume {
                path: path.into(),
                pv: "pv".into(),
                namespace: "ns".into(),
                pvc: "c".into(),
            },
            first_change_at: at,
            last_change_at: at,
            changes: 1,
        }
    }

    #[test]
    fn what_is_not_acknowledged_is_found_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/pending.json");
        let (journal, leftovers) = Journal::open(&path).unwrap();
        assert!(leftovers.is_empty());
        let t = Utc::now();
        journal.record(pending("/e/a", t)).unwrap();
        journal.record(pending("/e/b", t)).unwrap();
        let mut updated = pending("/e/a", t);
        updated.changes = 500;
        journal.record(updated.clone()).unwrap();
        journal.remove("/e/b", &t).unwrap();
        drop(journal);
        let (journal, leftovers) = Journal::open(&path).unwrap();
        assert_eq!(leftovers, [updated]);
        assert_eq!(journal.len(), 1);
        journal.remove("/e/a", &t).unwrap();
        assert!(journal.is_empty());
        assert!(Journal::open(&path).unwrap().1.is_empty());
    }

    #[test]
    fn a_corrupt_journal_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pending.json");
        std::fs::write(&path, "{").unwrap();
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(
            err.starts_with("STATE_FILE: ") && err.contains("pending.json"),
            "{err}"
        );
    }
}
