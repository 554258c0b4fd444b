"""Free loopback ports, and waiting until a server answers on one.

Every address of 127.0.0.0/8 is the loopback interface on Linux, so servers that must look like
different hosts (the lab's two NFS sites) can listen on 127.0.0.1 and 127.0.0.2.
"""

from __future__ import annotations

import socket
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` (a loopback address) that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, proc=None, host: str = "127.0.0.1") -> None:
    """Blocks until something accepts connections on `host`:`port`.

    Raises RuntimeError if `proc` (a Popen) exits first or `timeout` seconds pass.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")
