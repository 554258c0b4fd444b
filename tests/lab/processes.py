"""Processes and ports of the lab, by id and from /proc: never by name, so nothing of anyone
else's (another lab, another test run) is touched.

A recorded process is the one that was started only while its start time (field 22 of
``/proc/<pid>/stat``) is the recorded one; a zombie counts as gone (its port is closed, and the
reaper may not be us). `terminate` signals a process together with every descendant it has at
that moment (sshd's per-connection children, say), then waits, then kills what is left.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

PROC = Path("/proc")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if there is no such
    process. Index 0 is the state, 1 the parent id, 19 the start time."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None if it does not exist."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def running(pid: int, started: int) -> bool:
    """Whether the process `pid` that started at `started` still runs (zombies do not)."""
    fields = _stat(pid)
    return bool(fields) and int(fields[19]) == started and fields[0] not in ("Z", "X")


def descendants(pids: set[int]) -> set[int]:
    """Every live process below `pids` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[0] not in ("Z", "X"):
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = list(pids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def terminate(processes: dict[int, int], timeout: float = 10.0) -> list[int]:
    """Stops the processes `{pid: start time}` that still run, and their descendants: SIGTERM,
    up to `timeout` seconds for them to go, then SIGKILL. Returns the ids still running."""
    mine = {pid: started for pid, started in processes.items() if running(pid, started)}
    for child in descendants(set(mine)):
        started = start_time(child)
        if started is not None:
            mine[child] = started
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid, started in mine.items():
            if running(pid, started):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(running(p, s) for p, s in mine.items()):
            time.sleep(0.05)
        mine = {p: s for p, s in mine.items() if running(p, s)}
        if not mine:
            break
    return sorted(mine)


def listening(host: str, port: int) -> bool:
    """Whether a TCP socket listens on `host`:`port` (IPv4), from /proc/net/tcp."""
    want = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    wildcard = f"00000000:{port:04X}"
    for line in (PROC / "net" / "tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[1] in (want, wildcard):
            return True
    return False
