"""`lab down`: stop every process of the lab by its recorded id (with whatever it forked), wait
until they are gone, check that none of the lab's ports still listens, then delete the lab
directory (``--keep-files`` keeps it, for the logs)."""

from __future__ import annotations

import shutil
import time

from lab import processes, report
from lab.layout import Layout
from lab.lock import held
from lab.state import LabState


def down(layout: Layout, keep_files: bool = False) -> int:
    """Stops the lab; returns the exit status (1 if a process or port survived)."""
    with held(layout):
        state = LabState.load(layout)
        if state is None:
            print(f"No lab runs in {report.rel(layout.root)}.")
            if layout.root.exists() and not keep_files:
                shutil.rmtree(layout.root)
            return 0
        survivors = processes.terminate({p.pid: p.started for p in state.processes})
        if survivors:
            print(f"lab-down: processes {survivors} did not stop; the state stays for another try.")
            return 1
        deadline = time.monotonic() + 5
        busy = [p for p in state.processes if processes.listening(p.host, p.port)]
        while busy and time.monotonic() < deadline:
            time.sleep(0.1)
            busy = [p for p in busy if processes.listening(p.host, p.port)]
        if busy:
            ports = ", ".join(f"{p.host}:{p.port} ({p.name})" for p in busy)
            print(f"lab-down: the processes are gone but something still listens on {ports}.")
            return 1
        if keep_files:
            layout.state.unlink()
        else:
            shutil.rmtree(layout.root)
        ports = ", ".join(f"{p.host}:{p.port}" for p in state.processes)
        kept = f"; files kept in {report.rel(layout.root)}" if keep_files else ""
        print(f"The lab is down: {len(state.processes)} processes stopped, ports {ports} free{kept}.")
        return 0
