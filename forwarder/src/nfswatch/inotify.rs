//! The fallback source: inotify, one watch per directory under the export roots.
//!
//! Used when fanotify filesystem marks are unavailable (no `CAP_SYS_ADMIN`, an old kernel, a
//! filesystem without file handles). It has to walk every directory at start and add a watch to
//! each (and to each directory created later), so it costs one watch (about 1 KiB of kernel memory)
//! per directory and stops at `fs.inotify.max_user_watches` (often 8,192 to 1,048,576): a server
//! with hundreds of thousands of directories needs that limit raised. A directory created and
//! written to before its watch is added is still reported, as its creation.

use crate::nfswatch::source::FsEvent;
use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

fn mask() -> AddWatchFlags {
    AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_ATTRIB
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DONT_FOLLOW
        | AddWatchFlags::IN_ONLYDIR
}

struct Watches {
    inotify: Inotify,
    paths: HashMap<WatchDescriptor, PathBuf>,
}

impl Watches {
    /// Watches `dir` and every directory below it. `Err` only when the watch limit is reached.
    fn add_tree(&mut self, dir: &Path) -> Result<(), String> {
        let mut stack = vec![dir.to_owned()];
        while let Some(dir) = stack.pop() {
            match self.inotify.add_watch(dir.as_path(), mask()) {
                Ok(wd) => {
                    self.paths.insert(wd, dir.clone());
                }
                Err(Errno::ENOSPC) => {
                    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                        .unwrap_or_default();
                    return Err(format!(
                        "inotify watch limit reached at {} ({} watches; fs.inotify.max_user_watches = {}): \
                         raise it, or run with CAP_SYS_ADMIN so fanotify is used",
                        dir.display(),
                        self.paths.len(),
                        limit.trim()
                    ));
                }
                // Gone or not a directory any more: nothing to watch.
                Err(_) => continue,
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
        }
        Ok(())
    }
}

/// Watches every directory under `roots` and starts a thread sending their changes to `tx`.
pub fn start(roots: &[PathBuf], tx: mpsc::Sender<FsEvent>) -> anyhow::Result<()> {
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC)
        .map_err(|e| anyhow::anyhow!("inotify_init failed: {e}"))?;
    let mut watches = Watches {
        inotify,
        paths: HashMap::new(),
    };
    for root in roots {
        watches.add_tree(root).map_err(anyhow::Error::msg)?;
    }
    info!(
        directories = watches.paths.len(),
        "inotify watches added (one per directory)"
    );
    std::thread::Builder::new()
        .name("inotify".into())
        .spawn(move || read_loop(watches, tx))?;
    Ok(())
}

fn read_loop(mut watches: Watches, tx: mpsc::Sender<FsEvent>) {
    loop {
        let events = match watches.inotify.read_events() {
            Ok(events) => events,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                let _ = tx.blocking_send(FsEvent::Failed(format!("inotify read: {e}")));
                return;
            }
        };
        for event in events {
            if event.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                if tx.blocking_send(FsEvent::Overflow).is_err() {
                    return;
                }
                continue;
            }
            if event.mask.contains(AddWatchFlags::IN_IGNORED) {
                watches.paths.remove(&event.wd);
                continue;
            }
            let Some(dir) = watches.paths.get(&event.wd) else {
                continue;
            };
            let path = match &event.name {
                Some(name) => dir.join(name),
                None => dir.clone(),
            };
            let new_dir = event.mask.contains(AddWatchFlags::IN_ISDIR)
                && event
                    .mask
                    .intersects(AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO);
            if new_dir {
                // Also re-points the watches of a moved directory tree at their new paths.
                if let Err(e) = watches.add_tree(&path) {
                    error!("{e}; changes below {} are not seen", path.display());
                }
            }
            if tx.blocking_send(FsEvent::Changed(path)).is_err() {
                warn!("the watcher stopped reading inotify events");
                return;
            }
        }
    }
}
