"""Benchmark of the fake API server, against kmock (the Python mock it replaces) in the same run.

    build/venv/bin/python tests/bench/fake_apiserver_bench.py [--objects 10000] [--rate 1000] [--seconds 10] [--kmock-objects 1000]

Builds fake-apiserver in release mode and installs kmock 0.8 into build/bench-kmock (first run
only), then for each server: start-up time (two instances, as the lab starts primary and DR),
create N ConfigMaps (16 concurrent clients), list them all, page through them (limit 500), and
a sustained watch load: 2 watchers while a writer patches objects at RATE/s for SECONDS, each
patch stamping its send time so the watchers measure delivery delay and count what arrived.
All traffic stays on 127.0.0.1; every loop is bounded. Prints a Markdown table and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import paths  # noqa: E402
from harness.apiserver import FakeApiServer, binary  # noqa: E402

KMOCK_VENV = paths.BUILD / "bench-kmock"
KMOCK_SERVER = """
import asyncio, kmock
async def main():
    async with kmock.KubernetesEmulator() as k8s, kmock.Server(k8s) as srv:
        k8s.resources.load_bundled()
        print(srv.url, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""
CMS = "/api/v1/namespaces/default/configmaps"


class KmockServer:
    """kmock 0.8's KubernetesEmulator on a free port, in its own venv."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc = None
        self.url = ""

    def start(self) -> "KmockServer":
        marker = KMOCK_VENV / "kmock-0.8.installed"
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(KMOCK_VENV)], check=True)
            subprocess.run([str(KMOCK_VENV / "bin" / "pip"), "install", "-q", "kmock==0.8"], check=True)
            marker.touch()
        self.workdir.mkdir(parents=True, exist_ok=True)
        script = self.workdir / "kmock_server.py"
        script.write_text(KMOCK_SERVER)
        self.proc = subprocess.Popen(
            [str(KMOCK_VENV / "bin" / "python"), str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.url = self.proc.stdout.readline().decode().strip()
        if not self.url.startswith("http://"):
            raise RuntimeError("kmock did not start")
        return self

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


async def create_all(session, url: str, n: int, concurrency: int = 16, limit_s: float = 120.0) -> tuple[float, int]:
    """Creates up to n ConfigMaps, stopping after limit_s; returns (seconds, created)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    deadline = time.perf_counter() + limit_s
    created = 0

    async def worker() -> None:
        nonlocal created
        while not queue.empty() and time.perf_counter() < deadline:
            i = queue.get_nowait()
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:05d}", "labels": {"bench": "yes"}},
                    "data": {"index": str(i), "payload": "x" * 200}}
            async with session.post(url + CMS, json=body) as r:
                assert r.status in (200, 201), await r.text()
                created += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, created


async def list_all(session, url: str) -> tuple[float, int, str]:
    start = time.perf_counter()
    async with session.get(url + CMS) as r:
        data = await r.json(content_type=None)
    return time.perf_counter() - start, len(data["items"]), data["metadata"].get("resourceVersion", "")


async def page_all(session, url: str, limit: int = 500) -> tuple[float, int]:
    start, seen, token = time.perf_counter(), 0, ""
    for _ in range(10_000):
        async with session.get(url + CMS, params={"limit": str(limit), **({"continue": token} if token else {})}) as r:
            data = await r.json(content_type=None)
        seen += len(data["items"])
        token = data["metadata"].get("continue") or ""
        if not token:
            break
    return time.perf_counter() - start, seen


async def watcher(session, url: str, rv: str, stop_at: float, delays: list[float]) -> None:
    params = {"watch": "true", "allowWatchBookmarks": "true"}
    if rv.isdigit():
        params["resourceVersion"] = rv
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    try:
        async with session.get(url + CMS, params=params, timeout=timeout) as r:
            buf = b""
            while time.time() < stop_at:
                try:
                    chunk = await asyncio.wait_for(r.content.readany(), timeout=max(0.1, stop_at - time.time()))
                except asyncio.TimeoutError:
                    break
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                now = time.time()
                for line in lines:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    sent = event["object"].get("metadata", {}).get("annotations", {}).get("bench-sent")
                    if event["type"] == "MODIFIED" and sent:
                        delays.append(now - float(sent))
    except (aiohttp.ClientError, asyncio.TimeoutError):
        pass


async def sustained_watch(session, url: str, n_objects: int, rate: int, seconds: int, rv: str) -> dict:
    total = rate * seconds
    drain = 5.0
    stop_at = time.time() + seconds + drain
    delays: list[list[float]] = [[], []]
    watchers = [asyncio.create_task(watcher(session, url, rv, stop_at, d)) for d in delays]
    await asyncio.sleep(0.5)
    sem = asyncio.Semaphore(64)
    errors = 0

    async def patch(i: int) -> None:
        nonlocal errors
        async with sem:
            body = {"metadata": {"annotations": {"bench-sent": repr(time.time())}}}
            try:
                async with session.patch(f"{url}{CMS}/cm-{i % n_objects:05d}", json=body,
                                         headers={"Content-Type": "application/merge-patch+json"}) as r:
                    if r.status != 200:
                        errors += 1
                    await r.read()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                errors += 1

    start = time.perf_counter()
    tasks = []
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    for t in range(int(seconds / tick)):
        target = start + t * tick
        await asyncio.sleep(max(0.0, target - time.perf_counter()))
        tasks += [asyncio.create_task(patch(t * per_tick + k)) for k in range(per_tick)]
    # A server that cannot keep up gets 30 s of grace, then the rest counts as failed writes.
    done, pending = await asyncio.wait(tasks, timeout=max(0.1, start + seconds + 30 - time.perf_counter()))
    for t in pending:
        t.cancel()
    errors += len(pending)
    write_secs = time.perf_counter() - start
    await asyncio.gather(*watchers)
    received = [len(d) for d in delays]
    flat = [x for d in delays for x in d]
    return {
        "writes": total,
        "write_errors": errors,
        "achieved_write_rate": round((total - errors) / write_secs),
        "events_received_per_watcher": received,
        "delivery_ms_p50": round(pct(flat, 0.50) * 1000, 1),
        "delivery_ms_p99": round(pct(flat, 0.99) * 1000, 1),
        "delivery_ms_max": round(max(flat) * 1000, 1) if flat else float("nan"),
    }


async def run_workload(name: str, url: str, args) -> dict:
    connector = aiohttp.TCPConnector(limit=128)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        progress(f"{name}: creating {args.objects} objects")
        create_s, created = await create_all(session, url, args.objects)
        progress(f"{name}: {created} created in {create_s:.1f}s; listing")
        list_times = []
        for _ in range(3):
            t, count, rv = await list_all(session, url)
            list_times.append(t)
        progress(f"{name}: paging")
        page_s, paged = await page_all(session, url)
        progress(f"{name}: sustained watch load")
        watch = await sustained_watch(session, url, created, args.rate, args.seconds, rv)
    return {
        "server": name,
        "created": created,
        "create_s": round(create_s, 2),
        "creates_per_s": round(created / create_s),
        "list_all_ms": round(statistics.median(list_times) * 1000, 1),
        "listed": count,
        "paged_list_ms": round(page_s * 1000, 1),
        "paged_items": paged,
        **watch,
    }


def startup(make) -> list[float]:
    """Seconds from spawn to accepting connections, for two instances (primary and DR)."""
    times, servers = [], []
    for i in range(2):
        start = time.perf_counter()
        servers.append(make(i).start())
        times.append(time.perf_counter() - start)
    for s in servers:
        s.stop()
    return [round(t, 3) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--kmock-objects", type=int, default=1000, help="kmock creates ~7/s: keep its set small")
    parser.add_argument("--skip-kmock", action="store_true")
    args = parser.parse_args()
    work = paths.BUILD / "bench" / "fake-apiserver"
    work.mkdir(parents=True, exist_ok=True)
    exe = binary("release")
    results = []

    fake_start = startup(lambda i: FakeApiServer(work / f"start-{i}", args=["--no-controllers"], binary_path=exe))
    with FakeApiServer(work / "load", args=["--no-controllers"], binary_path=exe) as fake:
        r = asyncio.run(run_workload("fake-apiserver (release)", fake.url, args))
        r["startup_s"] = fake_start
        r["rss_mb"] = round(int(Path(f"/proc/{fake.proc.pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024)
        results.append(r)

    if not args.skip_kmock:
        km_start = startup(lambda i: KmockServer(work / f"kmock-{i}"))
        km = KmockServer(work / "kmock-load").start()
        try:
            km_args = argparse.Namespace(**{**vars(args), "objects": args.kmock_objects})
            r = asyncio.run(run_workload("kmock 0.8", km.url, km_args))
            r["startup_s"] = km_start
            r["rss_mb"] = round(int(Path(f"/proc/{km.proc.pid}/status").read_text().split("VmHWM:")[1].split()[0]) / 1024)
            results.append(r)
        finally:
            km.stop()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(str(r.get(k)) for k in keys) + " |")
    if len(results) == 2:
        a, b = results
        per_item = (b["list_all_ms"] / max(1, b["listed"])) / (a["list_all_ms"] / max(1, a["listed"]))
        print(f"creates/s fake/kmock: {a['creates_per_s'] / max(1, b['creates_per_s']):.0f}x; "
              f"list time per item kmock/fake: {per_item:.1f}x")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
