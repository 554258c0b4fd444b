//! Writing files so that a crash leaves either the old content or the new, never a torn file.
//!
//! Content goes to a hidden temporary file in the same directory (`.<name>.tmp-<pid>-<n>`,
//! created exclusively), is flushed to disk with `fsync`, and is renamed over the final name.
//! The renames become durable when the directory is synced: callers place a batch of files and
//! then call [`sync_dir`] once, as a barrier before anything that must not survive without
//! them (the evidence writer syncs after the artifacts, then after the manifest). A leftover
//! temporary file after a crash is visible to `verify` as an unlisted file.

use super::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether files given to the evidence writer are copied or moved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Copy; the original stays where it was.
    Copy,
    /// Move (rename, or copy then delete across file systems).
    Move,
}

/// Writes `bytes` to `dir/name` atomically; durable after [`sync_dir`].
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let target = dir.join(name);
    let (temp_path, mut temp) = create_temp(dir, name)?;
    let written = temp
        .write_all(bytes)
        .and_then(|()| temp.sync_all())
        .map_err(Error::io("write", &temp_path));
    drop(temp);
    finish(written, &temp_path, &target)
}

/// Puts the regular file `source` into `dir/name` by copy or move, atomically, with its content
/// on disk; the new name is durable after [`sync_dir`].
pub fn place_file(source: &Path, dir: &Path, name: &str, placement: Placement) -> Result<()> {
    let target = dir.join(name);
    let meta = fs::symlink_metadata(source).map_err(Error::io("inspect", source))?;
    // A symlink is followed for its content; renaming it would put a link into the evidence.
    if placement == Placement::Move && meta.file_type().is_file() {
        match fs::rename(source, &target) {
            Ok(()) => {
                return File::open(&target)
                    .and_then(|f| f.sync_all())
                    .map_err(Error::io("sync", &target));
            }
            // Across file systems: copy, then remove the original below.
            Err(err) if err.kind() == ErrorKind::CrossesDevices => {}
            Err(err) => return Err(Error::io("move", source)(err)),
        }
    }
    let (temp_path, mut temp) = create_temp(dir, name)?;
    let copied = File::open(source)
        .map_err(Error::io("open", source))
        .and_then(|mut src| io::copy(&mut src, &mut temp).map_err(Error::io("copy", source)))
        .and_then(|_| temp.sync_all().map_err(Error::io("write", &temp_path)));
    drop(temp);
    finish(copied, &temp_path, &target)?;
    if placement == Placement::Move {
        fs::remove_file(source).map_err(Error::io("remove the moved original", source))?;
    }
    Ok(())
}

/// Flushes a directory's entries (new names, renames) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync directory", dir))
}

fn create_temp(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(Error::io("create", path)(err)),
        }
    }
}

/// Renames the finished temporary file into place, or removes it if writing failed.
fn finish(written: Result<()>, temp: &Path, target: &Path) -> Result<()> {
    if let Err(err) = written {
        let _ = fs::remove_file(temp);
        return Err(err);
    }
    fs::rename(temp, target).map_err(|err| {
        let _ = fs::remove_file(temp);
        Error::io("rename into place", target)(err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "a.json", b"old").unwrap();
        write_file(dir.path(), "a.json", b"new content").unwrap();
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"new content");
        assert_eq!(names(dir.path()), ["a.json"]);
        let err = write_file(&dir.path().join("nope"), "a.json", b"x").unwrap_err();
        assert!(err.to_string().starts_with("cannot create "), "{err}");
    }

    #[test]
    fn files_are_copied_or_moved_in() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let a = src.path().join("a.log");
        fs::write(&a, b"rsync output").unwrap();
        place_file(&a, dst.path(), "a.log", Placement::Copy).unwrap();
        assert!(a.exists());
        let link = src.path().join("link.log");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        place_file(&link, dst.path(), "link.log", Placement::Move).unwrap();
        assert!(
            !link.exists() && a.exists(),
            "the link goes, its target stays"
        );
        assert!(
            fs::symlink_metadata(dst.path().join("link.log"))
                .unwrap()
                .is_file()
        );
        place_file(&a, dst.path(), "moved.log", Placement::Move).unwrap();
        assert!(!a.exists());
        assert_eq!(names(dst.path()), ["a.log", "link.log", "moved.log"]);
        for name in names(dst.path()) {
            assert_eq!(fs::read(dst.path().join(name)).unwrap(), b"rsync output");
        }
        let err = place_file(&a, dst.path(), "x", Placement::Copy).unwrap_err();
        assert!(err.to_string().starts_with("cannot inspect "), "{err}");
    }
}
