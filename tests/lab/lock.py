"""One lab command at a time: `up` and `down` hold an exclusive lock on a file beside the lab
directory; a second one is refused at once, naming the process that holds the lock."""

from __future__ import annotations

import contextlib
import fcntl
import os

from lab.layout import Layout


class Refused(Exception):
    """A lab command that must not go ahead; the message says why and what to do instead."""


@contextlib.contextmanager
def held(layout: Layout):
    layout.lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode().strip() or "unknown"
            raise Refused(
                f"another lab command (pid {holder}) is changing the lab in {layout.root}; "
                "wait for it to finish, then run this again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
