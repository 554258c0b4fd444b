//! SHA-256 of files: streaming (constant memory whatever the size) and parallel over files.
//!
//! `sha2` picks the CPU's SHA extensions (SHA-NI) at run time where they exist. Files are
//! handed out largest first to one worker per core, so one big file does not finish last on
//! an otherwise idle machine. Results come back in the order the paths were given.

use super::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Read size per `read(2)`: large enough to amortise system calls, small enough for L2 cache.
const BUFFER: usize = 256 * 1024;

/// The SHA-256 and size of some content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// Lower-case hex digest.
    pub sha256: String,
    /// Bytes read.
    pub size: u64,
}

/// Hex SHA-256 of `bytes`.
pub fn hash_bytes(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// Hashes everything `reader` yields, `BUFFER` bytes at a time, using `buffer` as scratch.
fn hash_reader(mut reader: impl Read, buffer: &mut [u8]) -> io::Result<Hashed> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    loop {
        match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(Hashed {
        sha256: to_hex(&hasher.finalize()),
        size,
    })
}

/// Hashes one file.
pub fn hash_file(path: &Path) -> Result<Hashed> {
    let mut buffer = vec![0u8; BUFFER];
    hash_path(path, &mut buffer)
}

fn hash_path(path: &Path, buffer: &mut [u8]) -> Result<Hashed> {
    let file = File::open(path).map_err(Error::io("open", path))?;
    hash_reader(file, buffer).map_err(Error::io("read", path))
}

/// Hashes `paths` on up to `threads` threads (0 means one per core); one result per path, in
/// the order given.
pub fn hash_files(paths: &[PathBuf], threads: usize) -> Vec<Result<Hashed>> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(paths.len())
    .max(1);

    // Largest first: the longest jobs start early, so workers finish together.
    let mut order: Vec<(u64, usize)> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (std::fs::metadata(p).map_or(0, |m| m.len()), i))
        .collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Hashed>>>> =
        Mutex::new((0..paths.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buffer = vec![0u8; BUFFER];
                loop {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(_, index)) = order.get(job) else {
                        break;
                    };
                    let result = hash_path(&paths[index], &mut buffer);
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            hash_bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn files_hash_in_parallel_in_order_with_errors_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        let mut expected = Vec::new();
        for i in 0..9usize {
            // Sizes straddle the buffer so partial and multi-buffer reads are both exercised.
            let content: Vec<u8> = (0..(i * 70_000)).map(|b| (b % 251) as u8).collect();
            let path = dir.path().join(format!("f{i}"));
            std::fs::write(&path, &content).unwrap();
            expected.push(Hashed {
                sha256: hash_bytes(&content),
                size: content.len() as u64,
            });
            paths.push(path);
        }
        paths.insert(4, dir.path().join("missing"));
        for threads in [0, 1, 3] {
            let results = hash_files(&paths, threads);
            assert_eq!(results.len(), 10);
            let err = results[4].as_ref().unwrap_err();
            assert!(err.to_string().starts_with("cannot open "), "{err}");
            let ok: Vec<Hashed> = results
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i != 4)
                .map(|(_, r)| r.unwrap())
                .collect();
            assert_eq!(ok, expected);
        }
        assert!(hash_files(&[], 0).is_empty());
    }
}
