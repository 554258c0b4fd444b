"""Volume data for the NFS sites: seeding realistic small volumes and comparing two trees.

A seeded volume holds what a VM disk volume and its neighbours can hold on an NFS export: a
sparse disk image, hard links, owner/group ids that no local user has (qemu's 107), restrictive
and executable modes, a relative symlink, an empty directory and a name with spaces and
non-ASCII characters. :func:`snapshot` records everything a restore depends on, so two trees
compare equal only if they match byte for byte, in metadata and in hard-link structure.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

UNICODE_NAME = "Ünïcødé file ✓.txt"
SPARSE_SIZE = 4 << 20  # apparent size of the seeded disk image
SPARSE_DATA = [(0, 64 << 10), (2 << 20, 64 << 10)]  # (offset, length) of its data extents


def seed_volume(path: Path, tag: str, *, uid: int = 107, gid: int = 107) -> Path:
    """Creates a small volume at `path` whose contents depend on `tag`; returns `path`."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "config").mkdir(exist_ok=True)
    (path / "empty-dir").mkdir(exist_ok=True)
    (path / "config" / "vm.yaml").write_text(f"name: vm-{tag}\nmemory: 2Gi\n")
    (path / UNICODE_NAME).write_text(f"spaces and non-ASCII in the name ({tag})\n")
    script = path / "config" / "start.sh"
    script.write_text("#!/bin/sh\necho start\n")
    script.chmod(0o750)
    secret = path / "config" / "key.pem"
    secret.write_text(f"not really a key {tag}\n")
    secret.chmod(0o600)
    with open(path / "disk.img", "wb") as disk:
        disk.truncate(SPARSE_SIZE)
        for offset, length in SPARSE_DATA:
            disk.seek(offset)
            disk.write(hashlib.sha256(f"{tag}{offset}".encode()).digest() * (length // 32))
    (path / "disk.img").chmod(0o660)
    hard = path / "disk-hardlink.img"
    if not hard.exists():
        os.link(path / "disk.img", hard)
    link = path / "current"
    if not link.is_symlink():
        os.symlink("config/vm.yaml", link)
    for item in [path, *path.rglob("*")]:
        os.lchown(item, uid, gid)
    return path


def allocated_bytes(path: Path) -> int:
    """Bytes the filesystem really allocated for `path` (holes excluded)."""
    return os.lstat(path).st_blocks * 512


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below `root` with type, mode, owner, mtime, content hash or link target,
    and the hard-link group it belongs to (named by its first path, so inode numbers, which
    differ between trees, do not matter).

    mtimes are compared in whole seconds: that is what ``rsync --times`` promises (its default
    modify-window); a directory created on DR in the same second as its source was last
    changed keeps its own sub-second part."""
    entries: dict[str, tuple] = {}
    first_path_of_inode: dict[int, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                content = "-> " + os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                content = hashlib.sha256(full.read_bytes()).hexdigest()
            else:
                content = ""
            group = ""
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                group = first_path_of_inode.setdefault(st.st_ino, rel)
            entries[rel] = (
                stat.filemode(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_mtime_ns // 1_000_000_000,
                st.st_size,
                content,
                group,
            )
    return entries


def assert_same_tree(source: Path, copy: Path) -> None:
    """Asserts `copy` equals `source` entry by entry (see :func:`snapshot`)."""
    want, got = snapshot(source), snapshot(copy)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing in copy: {missing}; extra in copy: {extra}"
    differing = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    assert not differing, f"entries differ (source, copy): {differing}"
