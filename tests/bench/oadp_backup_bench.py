"""Benchmark of oadp_backup against the obvious alternatives, in one run (docs/BENCHMARKS.md).

Generates a Velero backup of >= 1 GiB uncompressed with 100,000 items into build/bench/ with the
ocpdr-fixtures generator, then measures wall time and peak memory (max RSS) of:

  1. the oadp_backup module (the static musl binary of the built collection), source.path;
  2. `gzip -dc backup.tar.gz > /dev/null` (decompression alone);
  3. the seed's way: `tar xzf` into a temporary directory, then reading the JSON files of the
     four kinds (python json.load), then removing the directory.

A second, smaller backup with the same objects of the four kinds shows that the module's memory
does not grow with the archive. Everything generated is deleted at the end.

Run: build/venv/bin/python tests/bench/oadp_backup_bench.py   (after `make collection`)
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import paths  # noqa: E402

BENCH = paths.BUILD / "bench"
MODULE = paths.COLLECTION / "plugins" / "modules" / "oadp_backup"
KINDS = ["persistentvolumes", "persistentvolumeclaims", "volumesnapshots.snapshot.storage.k8s.io",
         "volumesnapshotcontents.snapshot.storage.k8s.io"]
READ_SEED_JSON = """
import json, pathlib, sys
root = pathlib.Path(sys.argv[1]) / "resources"
kinds = sys.argv[2:]
n = 0
for kind in kinds:
    for f in list((root / kind).glob("cluster/*.json")) + list((root / kind).glob("namespaces/*/*.json")):
        json.loads(f.read_text()); n += 1
print(n)
"""


def measure(cmd: list[str], **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MiB) of one command."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, **kwargs)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}")
    return elapsed, usage.ru_maxrss // 1024, proc


def generate(name: str, filler: int) -> dict:
    out = BENCH / name
    cmd = [str(paths.cargo_bin("ocpdr-fixtures", "release")), "backup", "--out", str(out), "--name", name,
           "--namespaces", "50", "--vms-per-namespace", "20", "--filler-per-namespace", str(filler),
           "--filler-bytes", "4900"]
    start = time.monotonic()
    summary = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    summary["generate_seconds"] = time.monotonic() - start
    return summary


def run_module(tarball: str) -> tuple[float, int, dict]:
    args = BENCH / "args.json"
    args.write_text(json.dumps({"source": {"path": tarball}}))
    result_file = BENCH / "result.json"
    with result_file.open("w") as out:
        seconds, rss, _ = measure([str(MODULE), str(args)], stdout=out)
    result = json.loads(result_file.read_text())
    result_file.unlink()
    if result.get("failed"):
        raise SystemExit(result["msg"])
    return seconds, rss, result


def seed_way(tarball: str) -> dict:
    tmp = BENCH / "extract"
    tmp.mkdir()
    t_tar, rss_tar, _ = measure(["tar", "xzf", tarball, "-C", str(tmp)])
    t_read, rss_read, _ = measure([sys.executable, "-c", READ_SEED_JSON, str(tmp), *KINDS], stdout=subprocess.DEVNULL)
    start = time.monotonic()
    shutil.rmtree(tmp)
    t_rm = time.monotonic() - start
    return {"tar_xzf": t_tar, "read_json": t_read, "cleanup": t_rm, "total": t_tar + t_read + t_rm,
            "peak_rss_mib": max(rss_tar, rss_read)}


def main() -> None:
    if not MODULE.exists():
        raise SystemExit(f"{MODULE} missing: run `make collection` first")
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "ocpdr-fixtures"], cwd=paths.REPO, check=True)
    shutil.rmtree(BENCH, ignore_errors=True)
    BENCH.mkdir(parents=True)
    try:
        # 50 namespaces x (3 + 6 x 20 VMs + 1877 ConfigMaps) = 100,000 items.
        big = generate("bench-big", 1877)
        small = generate("bench-small", 377)
        gz = big["tarball"]
        results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
                   "big": big, "small": small}
        results["gzip_dc"] = dict(zip(("seconds", "peak_rss_mib"),
                                      measure(["gzip", "-dc", gz], stdout=subprocess.DEVNULL)[:2]))
        seconds, rss, result = run_module(gz)
        results["module"] = {"seconds": seconds, "peak_rss_mib": rss, "counts": result["counts"],
                             "items": result["archive"]["items"], "bytes": result["archive"]["bytes"]}
        results["seed"] = seed_way(gz)
        seconds, rss, result = run_module(small["tarball"])
        results["module_small"] = {"seconds": seconds, "peak_rss_mib": rss, "counts": result["counts"],
                                   "items": result["archive"]["items"], "bytes": result["archive"]["bytes"]}
        results["ratio_module_vs_gzip"] = results["module"]["seconds"] / results["gzip_dc"]["seconds"]
        results["ratio_seed_vs_module"] = results["seed"]["total"] / results["module"]["seconds"]
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(BENCH, ignore_errors=True)


if __name__ == "__main__":
    main()
