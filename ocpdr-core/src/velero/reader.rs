//! The streaming backup reader: gzip (or plain tar) in, the selected objects out, in one pass,
//! in memory bounded by the objects kept, never writing an entry anywhere.
//!
//! The input is sniffed, not trusted: gzip magic `1f 8b` → multi-member gzip decoder; `ustar`
//! at offset 257 → plain tar; anything else is refused. Entries are classified by name (see
//! [`super::entry`]); unsafe names are refused and reported, non-regular entries ignored, every
//! entry is checked against the per-entry size limit before it is read, and the whole
//! decompressed stream against the total limit, so a gzip bomb stops early with a clear error.
//! Only entries of the selected kinds and namespaces are read and parsed; everything else is
//! skipped as it streams past. An object's canonical (unversioned) copy wins; its
//! `<ver>-preferredversion` copy is used only if the canonical one is missing, and other
//! `<ver>` copies are counted and skipped, so each object is returned once.

use super::entry::{self, Copy, EntryPath, ItemPath, Rejection};
use super::error::{Error, Progress, Result};
use super::selection::Selection;
use flate2::bufread::MultiGzDecoder;
use serde::Serialize;
use serde_json::Value;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufReader, Read};
use std::rc::Rc;

/// Size limits that keep a hostile or broken archive from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single entry accepted. Kubernetes objects are bounded by etcd's ~1.5 MiB
    /// request limit; the default, 32 MiB, leaves room for any real object.
    pub max_entry_bytes: u64,
    /// Largest total of decompressed bytes read. Default 64 GiB.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 32 << 20,
            max_total_bytes: 64 << 30,
        }
    }
}

/// What to read and how much to allow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Kinds and namespaces to keep.
    pub selection: Selection,
    /// Size limits.
    pub limits: Limits,
}

/// One object taken from the backup.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Velero directory name: `persistentvolumes`, `deployments.apps`, ...
    pub group_resource: String,
    /// Namespace for namespaced objects.
    pub namespace: Option<String>,
    /// Object name, from the entry name.
    pub name: String,
    /// The whole object as stored.
    pub object: Value,
}

/// A non-regular entry that was ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredEntry {
    /// Entry name (lossy UTF-8).
    pub path: String,
    /// Entry type: `symlink`, `hardlink`, `directory`, ...
    pub entry_type: String,
}

/// An entry refused because of its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedEntry {
    /// Entry name, with NUL and invalid UTF-8 escaped.
    pub path: String,
    /// Why it was refused.
    pub reason: Rejection,
    /// The reason in words.
    pub message: String,
}

/// Facts about the archive itself, for the result and the evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveStats {
    /// Whether the input was gzip (else plain tar).
    pub compressed: bool,
    /// What `metadata/version` says (`1.1.0`, `1`), if present.
    pub format_version: Option<String>,
    /// Tar entries seen (metadata included).
    pub entries: u64,
    /// Uncompressed bytes read.
    pub bytes: u64,
    /// Objects in the archive, of any kind (canonical entries).
    pub items: u64,
    /// `<ver>-preferredversion` and `<ver>` copies, each object counted once.
    pub duplicate_copies: u64,
    /// Selected objects found only under `<ver>-preferredversion`.
    pub from_preferred_copy: u64,
    /// Paths that occurred twice; the last one was kept.
    pub replaced: u64,
    /// Entries outside Velero's layout, ignored.
    pub other_entries: u64,
    /// Symlinks, hard links, directories, devices: ignored, never followed.
    pub ignored: Vec<IgnoredEntry>,
    /// Entries refused for their names (path traversal, absolute, NUL, ...).
    pub rejected: Vec<RejectedEntry>,
}

/// What [`read_backup`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupContents {
    /// Selected objects by group-resource (every selected kind present, maybe empty), each list
    /// sorted by namespace and name.
    pub items: BTreeMap<String, Vec<Item>>,
    /// Facts about the archive.
    pub stats: ArchiveStats,
}

impl BackupContents {
    /// Removes and returns the objects of `group_resource` (empty if none or not selected).
    pub fn take_objects(&mut self, group_resource: &str) -> Vec<Value> {
        self.items
            .get_mut(group_resource)
            .map(|items| {
                std::mem::take(items)
                    .into_iter()
                    .map(|i| i.object)
                    .collect()
            })
            .unwrap_or_default()
    }
}

const READ_BUFFER: usize = 256 << 10;

/// Reads a Velero backup archive from `input` and returns the objects `options` select.
///
/// ```
/// use ocpdr_core::velero::{read_backup, ReadOptions};
/// let err = read_backup(&b"not a backup"[..], &ReadOptions::default()).unwrap_err();
/// assert!(err.to_string().contains("neither gzip nor tar"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_backup<R: Read>(input: R, options: &ReadOptions) -> Result<BackupContents> {
    let shared = Rc::new(Shared::default());
    let mut source = Guard {
        inner: input,
        shared: Rc::clone(&shared),
    };
    let mut head = Vec::with_capacity(512);
    (&mut source)
        .take(512)
        .read_to_end(&mut head)
        .map_err(|source| Error::Source {
            progress: Progress::default(),
            source,
        })?;
    if head.is_empty() {
        return Err(Error::Empty);
    }
    let compressed = head.starts_with(&[0x1f, 0x8b]);
    let is_tar = head.get(257..262) == Some(b"ustar");
    if !compressed && !is_tar {
        return Err(Error::NotAnArchive {
            start: printable_start(&head),
        });
    }
    let stream = io::Cursor::new(head).chain(source);
    let decompressed = if compressed {
        let gz = MultiGzDecoder::new(BufReader::with_capacity(READ_BUFFER, stream));
        Decompressed::Gzip(Box::new(BufReader::with_capacity(READ_BUFFER, gz)))
    } else {
        Decompressed::Plain(BufReader::with_capacity(READ_BUFFER, stream))
    };
    let meter = Meter {
        inner: decompressed,
        shared: Rc::clone(&shared),
        limit: options.limits.max_total_bytes,
    };
    let mut reader = Reader {
        options,
        shared,
        progress: Progress::default(),
        stats: ArchiveStats {
            compressed,
            ..ArchiveStats::default()
        },
        found: BTreeMap::new(),
        canonical_seen: HashSet::new(),
        pending: HashMap::new(),
        buf: Vec::with_capacity(64 << 10),
    };
    let mut archive = tar::Archive::new(meter);
    let entries = archive.entries().map_err(|e| reader.fail(e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| reader.fail(e))?;
        reader.entry(&mut entry)?;
    }
    if reader.shared.eof.get() {
        let cut = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the tar stream ends without its end-of-archive marker",
        );
        return Err(reader.fail(cut));
    }
    // Read to the end so the gzip trailer (CRC and length) is checked too.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| reader.fail(e))?;
    reader.finish()
}

type Key = (String, Option<String>, String);

#[derive(Default)]
struct Shared {
    bytes: Cell<u64>,
    eof: Cell<bool>,
    over_limit: Cell<bool>,
    source_failed: Cell<bool>,
}

/// Marks errors of the underlying source (file, network) as such.
struct Guard<R> {
    inner: R,
    shared: Rc<Shared>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .inspect_err(|_| self.shared.source_failed.set(true))
    }
}

/// The tar stream: gunzipped, or as it came.
enum Decompressed<S: Read> {
    Gzip(Box<BufReader<MultiGzDecoder<BufReader<S>>>>),
    Plain(BufReader<S>),
}

impl<S: Read> Read for Decompressed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decompressed::Gzip(r) => r.read(buf),
            Decompressed::Plain(r) => r.read(buf),
        }
    }
}

/// Counts decompressed bytes, enforces the total limit and notices the end of the stream.
struct Meter<D> {
    inner: D,
    shared: Rc<Shared>,
    limit: u64,
}

impl<D: Read> Read for Meter<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.shared.eof.set(true);
        }
        let total = self.shared.bytes.get() + n as u64;
        self.shared.bytes.set(total);
        if total > self.limit {
            self.shared.over_limit.set(true);
            return Err(io::Error::other("total size limit exceeded"));
        }
        Ok(n)
    }
}

struct Reader<'o> {
    options: &'o ReadOptions,
    shared: Rc<Shared>,
    progress: Progress,
    stats: ArchiveStats,
    found: BTreeMap<Key, Item>,
    canonical_seen: HashSet<Key>,
    pending: HashMap<Key, (String, Vec<u8>)>,
    buf: Vec<u8>,
}

impl Reader<'_> {
    /// Turns an IO error into the archive error it means.
    fn fail(&self, source: io::Error) -> Error {
        let mut progress = self.progress.clone();
        progress.bytes = self.shared.bytes.get();
        if self.shared.source_failed.get() {
            Error::Source { progress, source }
        } else if self.shared.over_limit.get() {
            Error::TotalTooLarge {
                limit: self.options.limits.max_total_bytes,
                progress,
            }
        } else if self.shared.eof.get() || source.kind() == io::ErrorKind::UnexpectedEof {
            Error::Truncated { progress, source }
        } else {
            Error::Corrupt { progress, source }
        }
    }

    /// Handles one entry and counts it.
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let handled = self.handle(entry);
        self.progress.entries += 1;
        handled
    }

    fn handle<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<()> {
        let raw = entry.path_bytes().into_owned();
        self.progress.last_entry = Some(String::from_utf8_lossy(&raw).into_owned());
        let entry_type = entry.header().entry_type();
        if !entry_type.is_file() {
            self.stats.ignored.push(IgnoredEntry {
                path: String::from_utf8_lossy(&raw).into_owned(),
                entry_type: type_name(entry_type).to_owned(),
            });
            return Ok(());
        }
        let name = match entry::check_name(&raw) {
            Ok(name) => name,
            Err(reason) => {
                self.stats.rejected.push(RejectedEntry {
                    path: escaped(&raw),
                    reason,
                    message: reason.to_string(),
                });
                return Ok(());
            }
        };
        let size = entry.size();
        if size > self.options.limits.max_entry_bytes {
            return Err(Error::EntryTooLarge {
                path: name.to_owned(),
                size,
                limit: self.options.limits.max_entry_bytes,
            });
        }
        match entry::classify(name) {
            EntryPath::Version => {
                self.read_into_buf(entry, size)?;
                let version = String::from_utf8_lossy(&self.buf).trim().to_owned();
                check_format(&version)?;
                self.stats.format_version = Some(version);
            }
            EntryPath::Item(item) => self.item(entry, name, item, size)?,
            EntryPath::Other => self.stats.other_entries += 1,
        }
        Ok(())
    }

    fn item<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        path: &str,
        item: ItemPath<'_>,
        size: u64,
    ) -> Result<()> {
        match item.copy {
            Copy::Canonical => self.stats.items += 1,
            Copy::Preferred(_) | Copy::OtherVersion(_) => self.stats.duplicate_copies += 1,
        }
        let selection = &self.options.selection;
        if !selection.wants_kind(item.group_resource)
            || !item
                .namespace
                .is_none_or(|ns| selection.wants_namespace(ns))
        {
            return Ok(());
        }
        let key: Key = (
            item.group_resource.to_owned(),
            item.namespace.map(str::to_owned),
            item.name.to_owned(),
        );
        match item.copy {
            Copy::Canonical => {
                self.read_into_buf(entry, size)?;
                let object = parse(path, &self.buf)?;
                self.pending.remove(&key);
                self.canonical_seen.insert(key.clone());
                self.keep(key, object);
            }
            Copy::Preferred(_) if !self.canonical_seen.contains(&key) => {
                self.read_into_buf(entry, size)?;
                self.pending
                    .insert(key, (path.to_owned(), self.buf.clone()));
            }
            Copy::Preferred(_) | Copy::OtherVersion(_) => {}
        }
        Ok(())
    }

    fn keep(&mut self, key: Key, object: Value) {
        let (group_resource, namespace, name) = key;
        if namespace.is_none()
            && !self
                .options
                .selection
                .wants_cluster_object(&group_resource, &name, &object)
        {
            return;
        }
        let item = Item {
            group_resource: group_resource.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            object,
        };
        if self
            .found
            .insert((group_resource, namespace, name), item)
            .is_some()
        {
            self.stats.replaced += 1;
        }
    }

    fn read_into_buf<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, size: u64) -> Result<()> {
        self.buf.clear();
        let read = entry.read_to_end(&mut self.buf).map_err(|e| self.fail(e))?;
        if read as u64 != size {
            let cut = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the entry ends after {read} of its {size} bytes"),
            );
            return Err(self.fail(cut));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<BackupContents> {
        let pending = std::mem::take(&mut self.pending);
        for (key, (path, bytes)) in pending {
            let object = parse(&path, &bytes)?;
            self.stats.from_preferred_copy += 1;
            self.keep(key, object);
        }
        let mut items: BTreeMap<String, Vec<Item>> = self
            .options
            .selection
            .kinds()
            .map(|k| (k.to_owned(), Vec::new()))
            .collect();
        for (_, item) in std::mem::take(&mut self.found) {
            items
                .entry(item.group_resource.clone())
                .or_default()
                .push(item);
        }
        self.stats.entries = self.progress.entries;
        self.stats.bytes = self.shared.bytes.get();
        Ok(BackupContents {
            items,
            stats: self.stats,
        })
    }
}

/// Accepts backup format 1 in any minor version (`1`, `1.1.0`); refuses other majors.
pub(crate) fn check_format(version: &str) -> Result<()> {
    let major = version.split('.').next().unwrap_or_default();
    if major == "1" {
        Ok(())
    } else {
        Err(Error::UnsupportedFormat {
            version: version.to_owned(),
        })
    }
}

fn parse(path: &str, bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|source| Error::InvalidJson {
        path: path.to_owned(),
        source,
    })
}

fn type_name(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hardlink",
        tar::EntryType::Directory => "directory",
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "fifo",
        _ => "other",
    }
}

/// The name with NUL and invalid UTF-8 bytes shown as escapes.
fn escaped(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace('\0', "\\0")
}

/// Up to 16 leading bytes, printable ASCII as is, the rest as `\xNN`.
fn printable_start(head: &[u8]) -> String {
    head.iter()
        .take(16)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
