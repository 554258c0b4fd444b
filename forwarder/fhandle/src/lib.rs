//! Linux file handles for the NFS change watcher (`ocpdr-forwarder nfs-watch`).
//!
//! fanotify in `FAN_REPORT_DFID_NAME` mode reports a change as the *file handle* of the directory
//! it happened in plus the entry name, not as a path. Turning the handle back into a path needs
//! `open_by_handle_at(2)` (then `/proc/self/fd`), and telling which watched filesystem a handle
//! belongs to needs the filesystem id of `statfs(2)`. Neither is offered by a safe crate (nix,
//! rustix), so these two calls live here, behind safe functions, and nowhere else in the
//! workspace: every other crate keeps `unsafe_code = "forbid"`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Opens the object a file handle refers to, as an `O_PATH` descriptor (enough for
/// `/proc/self/fd/N` and `fstat`; no read access is needed or taken).
///
/// `mount` is any descriptor on the handle's filesystem; `handle_type` and `handle` are the
/// `file_handle` fields as fanotify reported them. Needs `CAP_DAC_READ_SEARCH`. A handle of an
/// object deleted since fails with `ESTALE`.
pub fn open_by_handle(
    mount: BorrowedFd<'_>,
    handle_type: i32,
    handle: &[u8],
) -> io::Result<OwnedFd> {
    let len =
        u32::try_from(handle.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // struct file_handle { unsigned int handle_bytes; int handle_type; unsigned char f_handle[]; }
    // built in a u32 buffer so that its header is aligned as the kernel expects.
    let mut buf = vec![0u32; 2 + handle.len().div_ceil(4)];
    buf[0] = len;
    buf[1] = u32::from_ne_bytes(handle_type.to_ne_bytes());
    for (i, chunk) in handle.chunks(4).enumerate() {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        buf[2 + i] = u32::from_ne_bytes(word);
    }
    #[allow(unsafe_code)]
    // SAFETY: `buf` is a live, aligned `struct file_handle` whose `handle_bytes` equals the
    // number of handle bytes that follow the header in the buffer; the kernel reads at most that.
    // `mount` is a valid descriptor for the duration of the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount.as_raw_fd(),
            buf.as_mut_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    #[allow(unsafe_code)]
    // SAFETY: the kernel just returned this descriptor to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The filesystem id (`statfs.f_fsid`) of the filesystem holding `fd`, as the 8 bytes fanotify
/// reports in its `fsid` field.
pub fn filesystem_id(fd: BorrowedFd<'_>) -> io::Result<[u8; 8]> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    #[allow(unsafe_code)]
    // SAFETY: `st` is a writable `struct statfs`; `fd` is valid for the call.
    let rc = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(unsafe_code)]
    // SAFETY: fstatfs succeeded, so it filled the struct; `fsid_t` is two C ints (8 bytes) whose
    // fields libc keeps private, hence the transmute to the same-sized plain array.
    let fsid: [i32; 2] = unsafe { std::mem::transmute(st.assume_init().f_fsid) };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&fsid[0].to_ne_bytes());
    out[4..].copy_from_slice(&fsid[1].to_ne_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn the_filesystem_id_is_stable_per_filesystem() {
        let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
        let sub = std::fs::File::open("/proc/self").unwrap();
        let a = filesystem_id(dir.as_fd()).unwrap();
        assert_eq!(a, filesystem_id(dir.as_fd()).unwrap());
        assert_ne!(
            a,
            filesystem_id(sub.as_fd()).unwrap(),
            "procfs is another filesystem"
        );
    }

    #[test]
    fn a_garbage_handle_is_refused_not_crashed() {
        let dir = std::fs::File::open(std::env::temp_dir()).unwrap();
        let err = open_by_handle(dir.as_fd(), 1, &[0xff; 8]).unwrap_err();
        // ESTALE for an unknown inode, EPERM without CAP_DAC_READ_SEARCH, EINVAL for a bad type.
        assert!(err.raw_os_error().is_some(), "{err}");
    }
}
