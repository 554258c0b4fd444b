//! The scalable source: one fanotify filesystem mark per watched filesystem.
//!
//! `fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME)` and
//! `fanotify_mark(FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_MODIFY | FAN_ATTRIB | FAN_CREATE |
//! FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ONDIR)` on each export root's filesystem:
//! the kernel then reports every write, create, delete and rename anywhere on that filesystem,
//! with no per-directory watch and no limit on the number of directories. Each event names the
//! directory (as a file handle) and the entry; the handle is opened with `open_by_handle_at` and
//! read back as a path through `/proc/self/fd` (cached per directory). Needs `CAP_SYS_ADMIN`
//! (filesystem marks) and `CAP_DAC_READ_SEARCH` (opening handles), and a filesystem that encodes
//! file handles (ext4, xfs, btrfs, tmpfs; not every FUSE or network filesystem).
//!
//! [`parse`] reads the kernel's event records and is pure; [`start`] is the edge.

use crate::nfswatch::source::FsEvent;
use nix::libc;
use nix::sys::fanotify::{EventFFlags, Fanotify, InitFlags, MarkFlags, MaskFlags};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// One record read from a fanotify group in `FAN_REPORT_DFID_NAME` mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A change of entry `name` (empty: the directory itself) in the directory `handle`.
    Change {
        /// The event mask.
        mask: u64,
        /// `statfs.f_fsid` of the filesystem.
        fsid: [u8; 8],
        /// `file_handle.handle_type`.
        handle_type: i32,
        /// `file_handle.f_handle`.
        handle: Vec<u8>,
        /// The entry name.
        name: Vec<u8>,
    },
    /// The kernel queue overflowed: events were lost.
    Overflow,
}

const METADATA_LEN: usize = 24;
const INFO_DFID_NAME: u8 = 2;
const INFO_DFID: u8 = 3;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parses the events in `buf` (one `read` of the group): `struct fanotify_event_metadata`
/// followed by its info records (`struct fanotify_event_info_fid` + NUL-terminated name).
/// Truncated or unknown records are skipped, never trusted.
pub fn parse(buf: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(event_len) = u32_at(buf, at).map(|l| l as usize) {
        if event_len < METADATA_LEN || at + event_len > buf.len() {
            break;
        }
        let event = &buf[at..at + event_len];
        at += event_len;
        let (Some(metadata_len), Some(mask)) = (u16_at(event, 6), u64_at(event, 8)) else {
            continue;
        };
        if mask & libc::FAN_Q_OVERFLOW != 0 {
            out.push(Record::Overflow);
            continue;
        }
        let mut info = metadata_len as usize;
        while info + 4 <= event.len() {
            let info_type = event[info];
            let len = u16_at(event, info + 2).unwrap_or(0) as usize;
            if len < 4 || info + len > event.len() {
                break;
            }
            let record = &event[info..info + len];
            info += len;
            if info_type != INFO_DFID_NAME && info_type != INFO_DFID {
                continue;
            }
            // hdr (4) + fsid (8) + handle_bytes (4) + handle_type (4) + f_handle + [name NUL]
            let (Some(fsid), Some(bytes), Some(handle_type)) = (
                record.get(4..12),
                u32_at(record, 12).map(|n| n as usize),
                u32_at(record, 16).map(|t| i32::from_ne_bytes(t.to_ne_bytes())),
            ) else {
                continue;
            };
            let Some(handle) = record.get(20..20 + bytes) else {
                continue;
            };
            let name = if info_type == INFO_DFID_NAME {
                let rest = &record[20 + bytes..];
                rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())].to_vec()
            } else {
                Vec::new()
            };
            out.push(Record::Change {
                mask,
                fsid: fsid.try_into().expect("8 bytes"),
                handle_type,
                handle: handle.to_vec(),
                name,
            });
        }
    }
    out
}

/// Whether a record changes directory paths (a directory moved or deleted), so cached
/// directory paths may be stale.
fn moves_directories(mask: u64) -> bool {
    mask & libc::FAN_ONDIR != 0
        && mask & (libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO | libc::FAN_DELETE) != 0
}

/// Resolves directory handles to paths, with a cache.
struct Resolver {
    /// One open directory per watched filesystem, by fsid: the `mount_fd` for handles.
    mounts: HashMap<[u8; 8], OwnedFd>,
    cache: HashMap<(i32, Vec<u8>), Option<PathBuf>>,
}

/// Cached directory paths kept at most (a cache miss costs two system calls).
const CACHE_LIMIT: usize = 65_536;

impl Resolver {
    fn path(&mut self, fsid: &[u8; 8], handle_type: i32, handle: &[u8]) -> Option<PathBuf> {
        let key = (handle_type, handle.to_vec());
        if let Some(hit) = self.cache.get(&key) {
            return hit.clone();
        }
        let mount = self.mounts.get(fsid)?;
        let resolved = ocpdr_fhandle::open_by_handle(mount.as_fd(), handle_type, handle)
            .and_then(|fd| {
                std::fs::read_link(format!(
                    "/proc/self/fd/{}",
                    std::os::fd::AsRawFd::as_raw_fd(&fd)
                ))
            })
            .ok()
            .filter(|p| !p.as_os_str().as_bytes().ends_with(b" (deleted)"));
        if self.cache.len() >= CACHE_LIMIT {
            self.cache.clear();
        }
        self.cache.insert(key, resolved.clone());
        resolved
    }
}

/// Why fanotify cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Marks the filesystems of `roots` and starts a thread sending their changes to `tx`.
pub fn start(roots: &[PathBuf], tx: mpsc::Sender<FsEvent>) -> Result<(), Unavailable> {
    let flags = InitFlags::FAN_CLASS_NOTIF
        | InitFlags::FAN_CLOEXEC
        | InitFlags::from_bits_retain(libc::FAN_REPORT_DFID_NAME);
    let group = Fanotify::init(flags, EventFFlags::O_RDONLY).map_err(|e| {
        Unavailable(format!(
            "fanotify_init(FAN_REPORT_DFID_NAME) failed: {e} (needs Linux >= 5.9 and CAP_SYS_ADMIN)"
        ))
    })?;
    let mask = MaskFlags::FAN_MODIFY
        | MaskFlags::FAN_ATTRIB
        | MaskFlags::FAN_CREATE
        | MaskFlags::FAN_DELETE
        | MaskFlags::FAN_MOVED_FROM
        | MaskFlags::FAN_MOVED_TO
        | MaskFlags::FAN_ONDIR;
    let mut mounts = HashMap::new();
    for root in roots {
        group
            .mark(
                MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_FILESYSTEM,
                mask,
                nix::fcntl::AT_FDCWD,
                Some(root.as_path()),
            )
            .map_err(|e| {
                let why = match e {
                    nix::errno::Errno::EPERM => "filesystem marks need CAP_SYS_ADMIN",
                    nix::errno::Errno::EXDEV
                    | nix::errno::Errno::EOPNOTSUPP
                    | nix::errno::Errno::ENODEV => "this filesystem does not report file handles",
                    _ => "see fanotify_mark(2)",
                };
                Unavailable(format!(
                    "fanotify_mark(FAN_MARK_FILESYSTEM) on {} failed: {e} ({why})",
                    root.display()
                ))
            })?;
        let dir = std::fs::File::open(root)
            .map_err(|e| Unavailable(format!("cannot open {}: {e}", root.display())))?;
        let fsid = ocpdr_fhandle::filesystem_id(dir.as_fd())
            .map_err(|e| Unavailable(format!("statfs {}: {e}", root.display())))?;
        mounts.insert(fsid, OwnedFd::from(dir));
        info!(root = %root.display(), "fanotify filesystem mark added");
    }
    let reader = group
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Unavailable(format!("cannot duplicate the fanotify descriptor: {e}")))?;
    let resolver = Resolver {
        mounts,
        cache: HashMap::new(),
    };
    std::thread::Builder::new()
        .name("fanotify".into())
        .spawn(move || read_loop(group, std::fs::File::from(reader), resolver, tx))
        .map_err(|e| Unavailable(format!("cannot start the fanotify thread: {e}")))?;
    Ok(())
}

fn read_loop(
    _group: Fanotify,
    mut reader: std::fs::File,
    mut resolver: Resolver,
    tx: mpsc::Sender<FsEvent>,
) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                warn!(error = %e, "reading fanotify events failed; the watch stops");
                let _ = tx.blocking_send(FsEvent::Failed(format!("fanotify read: {e}")));
                return;
            }
        };
        for record in parse(&buf[..n]) {
            let event = match record {
                Record::Overflow => FsEvent::Overflow,
                Record::Change {
                    mask,
                    fsid,
                    handle_type,
                    handle,
                    name,
                } => {
                    if moves_directories(mask) {
                        resolver.cache.clear();
                    }
                    match resolver.path(&fsid, handle_type, &handle) {
                        Some(dir) => FsEvent::Changed(join(&dir, &name)),
                        None => {
                            debug!("a change in a directory that no longer exists");
                            FsEvent::Unresolved
                        }
                    }
                }
            };
            if tx.blocking_send(event).is_err() {
                return;
            }
        }
    }
}

fn join(dir: &Path, name: &[u8]) -> PathBuf {
    if name.is_empty() || name == b"." {
        dir.to_owned()
    } else {
        dir.join(OsStr::from_bytes(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(mask: u64, info: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
        let mut infos = Vec::new();
        for (kind, handle, name) in info {
            let mut rec = vec![*kind, 0, 0, 0];
            rec.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]); // fsid
            rec.extend_from_slice(&(handle.len() as u32).to_ne_bytes());
            rec.extend_from_slice(&1i32.to_ne_bytes());
            rec.extend_from_slice(handle);
            rec.extend_from_slice(name);
            rec.push(0);
            while rec.len() % 4 != 0 {
                rec.push(0);
            }
            let len = rec.len() as u16;
            rec[2..4].copy_from_slice(&len.to_ne_bytes());
            infos.extend(rec);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((METADATA_LEN + infos.len()) as u32).to_ne_bytes());
        out.extend_from_slice(&[3, 0]);
        out.extend_from_slice(&(METADATA_LEN as u16).to_ne_bytes());
        out.extend_from_slice(&mask.to_ne_bytes());
        out.extend_from_slice(&(-1i32).to_ne_bytes());
        out.extend_from_slice(&42i32.to_ne_bytes());
        out.extend(infos);
        out
    }

    #[test]
    fn parses_directory_handles_names_and_overflows() {
        let mut buf = event(
            libc::FAN_MODIFY,
            &[(INFO_DFID_NAME, &[9, 9, 9, 9, 0, 0, 0, 1], b"disk.img")],
        );
        buf.extend(event(libc::FAN_Q_OVERFLOW, &[]));
        buf.extend(event(
            libc::FAN_ATTRIB | libc::FAN_ONDIR,
            &[(INFO_DFID, &[7; 8], b"")],
        ));
        let records = parse(&buf);
        assert_eq!(records.len(), 3, "{records:?}");
        assert_eq!(
            records[0],
            Record::Change {
                mask: libc::FAN_MODIFY,
                fsid: [1, 2, 3, 4, 5, 6, 7, 8],
                handle_type: 1,
                handle: vec![9, 9, 9, 9, 0, 0, 0, 1],
                name: b"disk.img".to_vec()
            }
        );
        assert_eq!(records[1], Record::Overflow);
        assert!(matches!(&records[2], Record::Change { name, .. } if name.is_empty()));
    }

    #[test]
    fn truncated_and_garbage_buffers_are_skipped_not_trusted() {
        let full = event(libc::FAN_CREATE, &[(INFO_DFID_NAME, &[1; 8], b"f")]);
        for cut in 0..full.len() {
            assert!(parse(&full[..cut]).is_empty(), "cut at {cut}");
        }
        let mut bad_len = full.clone();
        bad_len[METADATA_LEN + 2..METADATA_LEN + 4].copy_from_slice(&500u16.to_ne_bytes());
        assert!(parse(&bad_len).is_empty());
        assert!(parse(&[0xff; 64]).is_empty());
    }

    #[test]
    fn directory_moves_invalidate_cached_paths() {
        assert!(moves_directories(libc::FAN_MOVED_FROM | libc::FAN_ONDIR));
        assert!(moves_directories(libc::FAN_DELETE | libc::FAN_ONDIR));
        assert!(!moves_directories(libc::FAN_MOVED_FROM));
        assert!(!moves_directories(libc::FAN_CREATE | libc::FAN_ONDIR));
    }
}
