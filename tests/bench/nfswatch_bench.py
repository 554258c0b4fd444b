"""Benchmark: `ocpdr-forwarder nfs-watch` (fanotify, default debounce) against polling the export
with `find -newer` every `--poll` seconds, in the same run, on the same tree and the same writes.

1. An export root of `--volumes` volumes, each with `--dirs` directories of 5 small files (a
   realistic tree for the poller to walk) and a volume map.
2. The shipped static binary (the collection's nfs_change_watcher files/) runs with its defaults
   (quiet 1 s, max 5 s) against a loopback receiver (tests/harness/webhook_receiver.py); the
   poller runs beside it for the whole run.
3. Bursts: `--bursts` times, a writer makes 10,000 small appends to one volume's disk.img as fast
   as it can; events per burst, and detection latency = first write -> receiver's 200 (watcher)
   or -> the scan that saw it (poller), both on CLOCK_MONOTONIC.
4. Continuous: one writer appends 4 KiB to one volume every 100 ms for `--continuous` seconds;
   latency of each write = write -> the first event whose `last_change_at` covers it.
5. CPU of the watcher (/proc) and of the poller's `find` processes (rusage of children).

    make bench, or: build/venv/bin/python tests/bench/nfswatch_bench.py [--volumes 20 --dirs 500]

Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import paths  # noqa: E402
from harness.nfswatch import ExportRoot, watcher  # noqa: E402
from harness.ports import free_port, wait_for_port  # noqa: E402
from harness.webhook_receiver import count as received  # noqa: E402

TOKEN = "bench-token"
SHIPPED = paths.REPO / "collection" / "roles" / "nfs_change_watcher" / "files" / "ocpdr-forwarder"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Poller(threading.Thread):
    """`find ROOT -newer STAMP -type f` every `interval` s; records (mono_ns, volume) detections."""

    def __init__(self, root: Path, volumes: list[str], interval: float, workdir: Path) -> None:
        super().__init__(daemon=True)
        self.root, self.volumes, self.interval = root, volumes, interval
        self.stamp = workdir / "poll.stamp"
        self.stamp.touch()
        self.detections: list[tuple[int, str]] = []
        self.scan_s: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            new_stamp = self.stamp.with_suffix(".next")
            new_stamp.touch()
            start = time.monotonic()
            out = subprocess.run(
                ["find", str(self.root), "-newer", str(self.stamp), "-type", "f"], capture_output=True, text=True
            ).stdout
            now = time.monotonic_ns()
            self.scan_s.append(time.monotonic() - start)
            os.replace(new_stamp, self.stamp)
            for volume in {v for line in out.splitlines() for v in self.volumes if line.startswith(v + "/")}:
                self.detections.append((now, volume))


def burst(disk: Path, writes: int) -> None:
    fd = os.open(disk, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    for i in range(writes):
        os.write(fd, b"%08d\n" % i)
    os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--dirs", type=int, default=500, help="directories per volume (5 files each)")
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--continuous", type=float, default=30.0, help="seconds of continuous writes")
    parser.add_argument("--poll", type=float, default=5.0, help="poll interval of the alternative")
    args = parser.parse_args()
    if not SHIPPED.exists():
        subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], check=True)

    with tempfile.TemporaryDirectory(dir=paths.BUILD, prefix="bench-nfswatch-") as tmp:
        work = Path(tmp)
        export = ExportRoot(work / "exports" / "primary")
        volumes = [export.volume("bench", f"vm-{i:03d}") for i in range(args.volumes)]
        for v in volumes:
            for d in range(args.dirs):
                sub = v.path / f"d{d:04d}"
                sub.mkdir()
                for f in range(5):
                    (sub / f"f{f}").write_bytes(b"x" * 64)
        export.write_map(volumes)
        port = free_port()
        out = work / "events.jsonl"
        receiver = subprocess.Popen([sys.executable, "-m", "harness.webhook_receiver", "--port", str(port), "--token", TOKEN, "--out", str(out)],
                                    cwd=paths.REPO / "tests")  # fmt: skip
        wait_for_port(port, proc=receiver)
        env = {"WEBHOOK_URL": f"http://127.0.0.1:{port}/ocpdr", "WEBHOOK_TOKEN": TOKEN, "CLUSTER_NAME": "bench",
               "EXPORT_ROOTS": str(export.root), "STATE_FILE": str(work / "state" / "pending.json"),
               "CATCHUP_ON_START": "false", "LOG_LEVEL": "warn"}  # fmt: skip
        w = watcher(env, work / "watcher")
        w.program = SHIPPED
        w.start()
        w.wait_until(lambda: w.metric("ocpdr_forwarder_volume_map_volumes") == args.volumes, what="map")
        poller = Poller(export.root, [str(v.path) for v in volumes], args.poll, work)
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        poller.start()
        cpu_before = cpu_seconds(w.proc.pid)
        t_run = time.monotonic()

        starts: list[tuple[int, str]] = []
        for i in range(args.bursts):
            v = volumes[i % len(volumes)]
            before = received(port)
            starts.append((time.monotonic_ns(), str(v.path)))
            burst(v.path / "disk.img", 10_000)
            w.wait_until(
                lambda: received(port) > before and w.metric("ocpdr_forwarder_pending_volumes") == 0, what="burst event"
            )
            # Past the poller's next scan too, so the next burst is a new one for both.
            time.sleep(args.poll + 0.5 if i % 5 == 4 else 1.5)

        cont = volumes[-1]
        writes: list[tuple[int, datetime]] = []
        fd = os.open(cont.path / "disk.img", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        end = time.monotonic() + args.continuous
        while time.monotonic() < end:
            writes.append((time.monotonic_ns(), datetime.now().astimezone()))
            os.write(fd, b"y" * 4096)
            time.sleep(0.1)
        os.close(fd)
        w.wait_until(
            lambda: w.metric("ocpdr_forwarder_pending_volumes") == 0 and w.metric("ocpdr_forwarder_queue_depth") == 0,
            timeout=30,
            what="drained",
        )
        time.sleep(args.poll + 1)
        elapsed = time.monotonic() - t_run
        watcher_cpu = cpu_seconds(w.proc.pid) - cpu_before
        poller.stop.set()
        poller.join()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        poller_cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
        w.stop()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait()
        events = [json.loads(line) for line in out.read_text().splitlines()]

    # Bursts.
    ends = [t for t, _ in starts[1:]] + [writes[0][0]]
    per_burst, lat_watch, lat_poll = [], [], []
    for (t0, vol), t_end in zip(starts, ends, strict=True):
        mine = [e["t_ns"] for e in events if e["volume"] == vol and t0 <= e["t_ns"] < t_end]
        per_burst.append(len(mine))
        lat_watch.append((min(mine) - t0) / 1e9)
        seen = [t for t, v in poller.detections if v == vol and t >= t0]
        lat_poll.append((min(seen) - t0) / 1e9)
    # Continuous writes.
    cont_events = sorted(
        (e["t_ns"], datetime.fromisoformat(e["last_change_at"])) for e in events if e["volume"] == str(cont.path)
    )
    lat_cont = []
    for t_mono, t_wall in writes:
        covering = [t for t, last in cont_events if last >= t_wall and t >= t_mono]
        lat_cont.append((min(covering) - t_mono) / 1e9)
    cont_poll = sorted(t for t, v in poller.detections if v == str(cont.path))
    lat_cont_poll = [(min(t for t in cont_poll if t >= t_mono) - t_mono) / 1e9 for t_mono, _ in writes]

    load = os.getloadavg()[0]
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}; "
          f"{args.volumes} volumes x {args.dirs} dirs x 5 files ({args.volumes * args.dirs * 5:,} files), run {elapsed:.0f} s\n")  # fmt: skip
    print("| what | watcher (fanotify, quiet 1 s, max 5 s) | `find -newer` every %.0f s |" % args.poll)
    print("|---|---|---|")
    print(
        f"| events per burst of 10,000 writes (min / median / max of {args.bursts}) | {min(per_burst)} / {statistics.median(per_burst):.0f} / {max(per_burst)} | 1 scan hit each |"
    )
    print(
        f"| burst: first write -> detection p50 / p99 | {pct(lat_watch, 50):.2f} s / {pct(lat_watch, 99):.2f} s | {pct(lat_poll, 50):.2f} s / {pct(lat_poll, 99):.2f} s |"
    )
    print(
        f"| continuous writes (every 100 ms, {args.continuous:.0f} s): write -> detection p50 / p99 | {pct(lat_cont, 50):.2f} s / {pct(lat_cont, 99):.2f} s | {pct(lat_cont_poll, 50):.2f} s / {pct(lat_cont_poll, 99):.2f} s |"
    )
    print(f"| events for the continuous writer | {len(cont_events)} | {len(cont_poll)} scan hits |")
    print(
        f"| CPU over the run | {watcher_cpu:.2f} s | {poller_cpu:.2f} s ({len(poller.scan_s)} scans, {statistics.median(poller.scan_s) * 1000:.0f} ms each) |"
    )
    print(
        f"\nRatios: burst detection p50 {pct(lat_poll, 50) / pct(lat_watch, 50):.1f}x and p99 {pct(lat_poll, 99) / pct(lat_watch, 99):.1f}x lower than polling every {args.poll:.0f} s."
    )


if __name__ == "__main__":
    main()
