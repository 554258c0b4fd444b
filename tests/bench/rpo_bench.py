"""Benchmark: the data RPO of a volume under continuous writes, end to end in the local DR lab:
primary NFS write -> `ocpdr-forwarder nfs-watch` -> EDA webhook (real ansible-rulebook, the
local rulebook) -> `handle_volume_data.yml` (real ansible-playbook, rsync over sshd) -> DR copy.

A lab of its own is brought up in a temporary directory and reconciled once (which writes the
volume map). A writer appends one timestamped record to a volume's file every `--interval`
seconds for `--seconds`; a sampler reads the DR copy every 0.5 s and takes the RPO at that moment
= now - the write time of the newest record the DR copy holds. Two phases, same writer, same run:

- **watcher**: the change watcher and the rulebook run (the design of issue 11);
- **object events only**: nothing carries the writes (Kubernetes fires no event when a VM
  writes to its disk); the DR copy waits for the hourly reconciliation, so within the phase the
  RPO grows with the time since its start, and in steady state it is bounded only by the
  reconcile interval (printed as the hourly figure: uniform over 0..3600 s plus one sync).

    build/venv/bin/python tests/bench/rpo_bench.py [--seconds 60 --interval 0.1]

Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab import command, modes  # noqa: E402
from lab.layout import Layout  # noqa: E402


def lab(lab_dir: Path, *args: str) -> None:
    """The lab's command line; fails with its output."""
    done = command.lab(lab_dir, *args)
    if done.returncode != 0:
        raise RuntimeError(f"lab {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def newest_on_dr(copy: Path) -> float | None:
    """Write time (wall clock) of the last complete record of the DR copy."""
    try:
        lines = copy.read_bytes().splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            return float(line.split()[1])
        except (IndexError, ValueError):
            continue
    return None


def phase(primary: Path, dr: Path, seconds: float, interval: float) -> list[float]:
    """Runs the writer for `seconds`; returns the RPO samples (seconds)."""
    stop = threading.Event()

    def writer() -> None:
        with primary.open("a") as f:
            i = 0
            while not stop.is_set():
                f.write(f"{i:09d} {time.time():.6f} {'x' * 4000}\n")
                f.flush()
                i += 1
                time.sleep(interval)

    thread = threading.Thread(target=writer)
    started = time.time()
    thread.start()
    samples = []
    while time.time() - started < seconds:
        time.sleep(0.5)
        newest = newest_on_dr(dr)
        samples.append(time.time() - (newest if newest is not None else started))
    stop.set()
    thread.join()
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between writes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocpdr-rpo-") as tmp:
        lab_dir = Path(tmp) / "lab"
        lab(lab_dir, "up", "--seed", "7", "--scale", "1")
        try:
            the_lab = modes.Lab.open(Layout(lab_dir))
            reconcile = time.monotonic()
            the_lab.playbook("scheduled/execute_periodic_sync.yml").assert_ok()
            reconcile_s = time.monotonic() - reconcile
            volumes = json.loads((the_lab.layout.seed / "volumes.json").read_text())
            volume = next(v for v in volumes if v["namespace"] in modes.WATCHED)
            primary = Path(volume["path"]) / "rpo-bench.log"
            dr = the_lab.dr_path(str(primary))
            with modes.EventPipeline(the_lab, Path(tmp) / "pipeline", watch_data=True):
                watched = phase(primary, dr, args.seconds, args.interval)
            unwatched = phase(primary.with_name("rpo-bench-unwatched.log"), dr.with_name("rpo-bench-unwatched.log"),
                              args.seconds, args.interval)
            jobs = len(the_lab.evidence_runs("data-sync"))
        finally:
            lab(lab_dir, "down")
    steady = watched[len(watched) // 6 :]  # after the first burst's catch-up
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; writes every {args.interval}s "
          f"for {args.seconds:.0f}s per phase; {len(watched)} samples; {jobs} data-sync jobs")
    print("| design | RPO p50 | RPO p99 | max |")
    print("|---|---|---|---|")
    print(f"| change watcher + EDA + ansible-playbook | {statistics.median(steady):.1f} s | "
          f"{pct(steady, 0.99):.1f} s | {max(steady):.1f} s |")
    print(f"| object events only (this {args.seconds:.0f} s phase) | {statistics.median(unwatched):.1f} s | "
          f"{pct(unwatched, 0.99):.1f} s | {max(unwatched):.1f} s |")
    print(f"| hourly reconcile (steady state; one sync took {reconcile_s:.1f} s here) | "
          f"{1800 + reconcile_s:.0f} s | {3564 + reconcile_s:.0f} s | {3600 + reconcile_s:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
