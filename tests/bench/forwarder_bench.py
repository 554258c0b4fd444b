"""Benchmark: ocpdr-forwarder against the seed's Python forwarder (tests/bench/seed_forwarder.py),
same fake API server build, same receiver, one after the other, one run.

For each forwarder, on a fresh fake API server (release build, no controllers) holding
`--objects` objects (a quarter of each kind, all in the watched namespace):
1. start the forwarder and time until the receiver has the ADDED of every object (initial sync);
2. read its RSS (VmRSS) with all objects watched;
3. throughput: relabel `--changes` distinct PVCs and VolumeSnapshots (distinct, so nothing can
   coalesce) as fast as `--writers` threads can; sustained events/s = changes / (last 200 - first
   write);
4. latency: relabel `--paced` distinct PVs and VolumeSnapshotContents at `--rate` writes/s (below
   both forwarders' throughput, so no backlog builds up) and time each, from sending the write to
   the receiver's 200 (both on CLOCK_MONOTONIC, which is system-wide): p50/p99;
5. count changes that never arrived.

    make bench, or: build/venv/bin/python tests/bench/forwarder_bench.py [--objects 10000 --changes 5000]

The seed's forwarder runs in build/bench-venv (kubernetes + requests, tests/bench/requirements.txt),
created on first use. Prints a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import apiserver as fake  # noqa: E402
from harness import forwarder as ocpdr  # noqa: E402
from harness.bench_venv import bench_venv  # noqa: E402
from harness import paths  # noqa: E402
from harness.ports import free_port, wait_for_port  # noqa: E402
from harness.storage import Kube, pv, pvc, vs, vsc  # noqa: E402
from harness.webhook_receiver import count as received  # noqa: E402

NS = "bench"
TOKEN = "bench-token"


def bench_python() -> Path:
    """The bench venv's python (the seed forwarder's interpreter)."""
    return bench_venv() / "bin" / "python"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class KeepAlive:
    """Writes with one persistent HTTP connection per thread (the harness opens one per
    request), so the writers, not connection setup, set the pace."""

    def __init__(self, server: fake.FakeApiServer) -> None:
        self.host, self.port = server.url.removeprefix("http://").rsplit(":", 1)
        self.local = threading.local()

    def request(self, method: str, path: str, body=None, content_type: str = "application/json"):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, json.loads(response.read())


def parallel(items, work, threads: int) -> list:
    """Runs `work(item)` over `items` on `threads` threads; results in item order."""
    results: list = [None] * len(items)
    cursor = iter(range(len(items)))
    lock = threading.Lock()

    def run():
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            results[i] = work(items[i])

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def seed_objects(kube: Kube, count: int, threads: int) -> None:
    quarter = count // 4
    objs = []
    for i in range(quarter):
        objs += [
            pv(f"pv-{i:05d}", NS, f"disk-{i:05d}"),
            pvc(NS, f"disk-{i:05d}", volume=f"pv-{i:05d}"),
            vsc(f"snapcontent-{i:05d}", NS, f"snap-{i:05d}"),
            vs(NS, f"snap-{i:05d}", f"disk-{i:05d}"),
        ]
    parallel(objs, kube.create, threads)


def wait_count(port: int, target: int, timeout: float, proc: subprocess.Popen) -> float:
    """Waits until the receiver counted `target` events; returns the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while True:
        n = received(port)
        if n >= target:
            return time.monotonic()
        if proc.poll() is not None:
            raise RuntimeError(f"forwarder exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n}/{target} events after {timeout}s")
        time.sleep(0.05)


def settle(name: str, port: int, target: int, proc: subprocess.Popen) -> None:
    """Waits for `target` events; what has not arrived after 5 minutes counts as lost."""
    try:
        wait_count(port, target, 300, proc)
    except TimeoutError as err:
        print(f"{name}: {err}", file=sys.stderr)


def run_one(name: str, start, args, workdir: Path) -> dict:
    """One forwarder through the whole scenario."""
    workdir.mkdir(parents=True)
    server = fake.FakeApiServer(workdir / "api", args=["--no-controllers"], binary_path=args.apiserver).start()
    try:
        kube = Kube(KeepAlive(server))
        Kube(server).namespace(NS)
        seed_objects(kube, args.objects, args.writers)
        port = free_port()
        out = workdir / "received.jsonl"
        receiver = subprocess.Popen(
            [sys.executable, "-m", "harness.webhook_receiver", "--port", str(port), "--token", TOKEN, "--out", str(out)],
            cwd=paths.REPO / "tests",
        )
        wait_for_port(port, proc=receiver)
        url = f"http://127.0.0.1:{port}/ocpdr"
        env = {"KUBECONFIG": str(server.kubeconfig), "WEBHOOK_URL": url, "WEBHOOK_TOKEN": TOKEN, "WATCH_NAMESPACES": NS}
        t0 = time.monotonic()
        proc = start(env, workdir)
        try:
            t_synced = wait_count(port, args.objects, 600, proc)
            time.sleep(1)
            rss = rss_mib(proc.pid)
            cpu_sync = cpu_s(proc.pid)

            burst = [("PersistentVolumeClaim", NS, f"disk-{i:05d}") for i in range(args.objects // 4)]
            burst += [("VolumeSnapshot", NS, f"snap-{i:05d}") for i in range(args.objects // 4)]
            burst = burst[: args.changes]
            paced = [("PersistentVolume", None, f"pv-{i:05d}") for i in range(args.objects // 4)]
            paced += [("VolumeSnapshotContent", None, f"snapcontent-{i:05d}") for i in range(args.objects // 4)]
            paced = paced[: args.paced]
            burst_done: dict[tuple, int] = {}
            paced_done: dict[tuple, int] = {}

            def change(target, into):
                kind, ns, obj = target
                sent = time.monotonic_ns()
                written = kube.label(kind, ns, obj, "bench")
                into[(kind, obj, written.resource_version)] = sent

            t_first = time.monotonic_ns()
            parallel(burst, lambda t: change(t, burst_done), args.writers)
            t_written = time.monotonic_ns()
            expected = args.objects + len(burst)
            settle(name, port, expected, proc)
            time.sleep(1)
            start = time.monotonic()
            for i, target in enumerate(paced):
                delay = start + i / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                change(target, paced_done)
            settle(name, port, expected + len(paced), proc)
            cpu_total = cpu_s(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        receiver.terminate()
        receiver.wait(timeout=60)
        arrivals = {}
        for line in out.read_text().splitlines():
            r = json.loads(line)
            if r["type"] == "MODIFIED":
                arrivals.setdefault((r["kind"], r["name"], r["rv"]), r["t_ns"])
        last = max((arrivals[k] for k in burst_done if k in arrivals), default=t_written)
        latencies = [(arrivals[k] - t) / 1e6 for k, t in paced_done.items() if k in arrivals]
        q = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [float("nan")] * 99
        return {
            "name": name,
            "sync_s": t_synced - t0,
            "rss_mib": rss,
            "cpu_sync_s": cpu_sync,
            "cpu_changes_s": cpu_total - cpu_sync,
            "write_rate": len(burst) / ((t_written - t_first) / 1e9),
            "events_per_s": sum(k in arrivals for k in burst_done) / ((last - t_first) / 1e9),
            "p50_ms": q[49],
            "p99_ms": q[98],
            "lost": sum(k not in arrivals for k in [*burst_done, *paced_done]),
        }
    finally:
        server.stop()


def start_ocpdr(env: dict, workdir: Path) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "CLUSTER_NAME": "bench", "LISTEN_ADDR": f"127.0.0.1:{free_port()}",
           "LOG_LEVEL": "warn", **env}  # fmt: skip
    log = open(workdir / "ocpdr-forwarder.log", "wb")  # noqa: SIM115 - the child writes to it
    return subprocess.Popen([str(ocpdr.binary("release"))], env=env, stdout=log, stderr=subprocess.STDOUT)


def start_seed(env: dict, workdir: Path) -> subprocess.Popen:
    log = open(workdir / "seed-forwarder.log", "wb")  # noqa: SIM115 - the child writes to it
    script = Path(__file__).parent / "seed_forwarder.py"
    return subprocess.Popen(
        [str(bench_python()), str(script)], env={"PATH": "/usr/bin:/bin", **env}, stdout=log, stderr=subprocess.STDOUT
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=5_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--paced", type=int, default=1_000, help="changes for the latency phase")
    parser.add_argument("--rate", type=float, default=100.0, help="writes/s in the latency phase")
    parser.add_argument("--apiserver", help="fake-apiserver binary (default: a release build)")
    args = parser.parse_args()
    args.apiserver = Path(args.apiserver) if args.apiserver else fake.binary("release")
    bench_python()
    ocpdr.binary("release")
    with tempfile.TemporaryDirectory(prefix="ocpdr-bench-") as tmp:
        results = [
            run_one("ocpdr-forwarder", start_ocpdr, args, Path(tmp) / "ocpdr"),
            run_one("seed Python forwarder", start_seed, args, Path(tmp) / "seed"),
        ]
    cpu = platform.processor() or platform.machine()
    print(
        f"\n{args.objects} objects; burst of {args.changes} changes from {args.writers} writer threads; "
        f"{args.paced} changes at {args.rate:g}/s for latency; {os.cpu_count()} CPUs ({cpu}); "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| forwarder | initial sync of all objects | RSS watching them | sustained events/s (burst) | p50 latency | p99 latency | lost | CPU (sync + changes) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['name']} | {r['sync_s']:.1f} s | {r['rss_mib']:.0f} MiB | {r['events_per_s']:.0f} "
            f"(writes {r['write_rate']:.0f}/s) | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['lost']} | "
            f"{r['cpu_sync_s']:.2f} + {r['cpu_changes_s']:.2f} s |"
        )
    a, b = results
    print(
        f"\nratios (seed / ocpdr): sync {b['sync_s'] / a['sync_s']:.1f}x, RSS {b['rss_mib'] / a['rss_mib']:.1f}x, "
        f"events/s {a['events_per_s'] / b['events_per_s']:.1f}x, p50 {b['p50_ms'] / a['p50_ms']:.1f}x, "
        f"p99 {b['p99_ms'] / a['p99_ms']:.1f}x"
    )


if __name__ == "__main__":
    main()
