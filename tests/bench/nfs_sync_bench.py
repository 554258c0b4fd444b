"""Benchmarks behind docs/BENCHMARKS.md, section nfs_sync. Not a test: prints figures.

(a) Many small unchanged volumes: one ``ocpdr.dr.nfs_sync`` task (concurrency 4) against the
    seed's per-volume Ansible loop of ``ansible.builtin.command: rsync -av --delete ...``, both
    delegated to the primary "NFS server" (a loopback sshd) pushing to the DR site's sshd.
(b) A sparse VM disk image with 1% of its 4 KiB blocks rewritten at random: the module's
    defaults against the seed's ``rsync -av --delete``: bytes sent, DR disk space used during
    the sync (sampled every 20 ms, temporary files included), DR space after, time. Page
    caches are left alone (warm for both methods; dropping them would disturb the machine).

Run: ``make bench`` or ``build/venv/bin/python tests/bench/nfs_sync_bench.py [--volumes N]
[--image-gib G]``. Data lives in build/bench-nfs-sync and is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import paths  # noqa: E402
from harness.ansible import run_playbook  # noqa: E402
from harness.modules import run_module  # noqa: E402
from harness.sshd import SshSite  # noqa: E402
from harness.trees import allocated_bytes  # noqa: E402

WORK = paths.BUILD / "bench-nfs-sync"
BLOCK = 4096


def ensure_collection() -> None:
    if not (paths.COLLECTION / "plugins" / "modules" / "nfs_sync").exists():
        subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], check=True)


# -- (a) many small unchanged volumes ------------------------------------------------------

SEED_LOOP = """---
- name: Seed-style sync, one rsync per volume
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Rsync each volume
      ansible.builtin.command:
        argv: [rsync, -av, --delete, -e, "{{ rsh }}", "{{ item.source }}/", "{{ item.destination }}/"]
      loop: "{{ volumes }}"
      delegate_to: nfs-primary
      changed_when: true
"""

MODULE_TASK = """---
- name: One nfs_sync task for all volumes
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Sync all volumes
      ocpdr.dr.nfs_sync:
        volumes: "{{ volumes }}"
        allowed_roots: ["{{ dr_root }}"]
        concurrency: "{{ concurrency }}"
        ssh: "{{ ssh }}"
      delegate_to: nfs-primary
"""


def timed_playbook(text: str, inventory: Path, extra_vars: dict) -> tuple[float, object]:
    playbook = WORK / "playbook.yml"
    playbook.write_text(text)
    started = time.monotonic()
    run = run_playbook(playbook, inventory=inventory, extra_vars=extra_vars).assert_ok()
    return time.monotonic() - started, run


def bench_many_volumes(primary: SshSite, dr: SshSite, count: int) -> dict:
    volumes = []
    for i in range(count):
        source = primary.export / f"vol-{i:03d}"
        source.mkdir(parents=True)
        for j in range(10):
            (source / f"file-{j}.dat").write_bytes(random.randbytes(4096))
        volumes.append(
            {"name": f"vol-{i:03d}", "source": str(source), "destination": dr.url(dr.export / f"vol-{i:03d}")}
        )
    ssh = dr.sync_ssh_options(peer=primary)
    first = run_module("nfs_sync", {"volumes": volumes, "allowed_roots": [str(dr.export)], "ssh": ssh})
    assert first["rc"] == 0 and first["totals"]["files_transferred"] == 10 * count, first["msg"]

    inventory = WORK / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"nfs-primary": primary.inventory_host(), "localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": str(paths.venv_bin("python"))}}}}))
    extra = {"volumes": volumes, "dr_root": str(dr.export), "ssh": ssh, "rsh": primary.rsh_to(dr)}
    figures = {}
    control_path = WORK / "cm-%C"
    multiplexed = {**ssh, "extra_options": [
        "ControlMaster=auto", f"ControlPath={control_path}", "ControlPersist=30"]}
    variants = {"module_c4_s": (4, ssh), "module_c1_s": (1, ssh), "module_c4_multiplexed_s": (4, multiplexed)}
    for label, (concurrency, ssh_options) in variants.items():
        seconds, run = timed_playbook(
            MODULE_TASK, inventory, {**extra, "concurrency": concurrency, "ssh": ssh_options})
        result = run.task("Sync all volumes")
        assert result["changed"] is False and result["totals"]["failed"] == 0
        figures[label] = seconds
    subprocess.run(["ssh", "-o", f"ControlPath={control_path}", "-p", str(dr.port), "-O", "exit",
                    "root@127.0.0.1"], capture_output=True)
    seconds, run = timed_playbook(SEED_LOOP, inventory, extra)
    figures["seed_loop_s"] = seconds
    figures["seed_reported_changed"] = run.task("Rsync each volume").get("changed")
    return figures


# -- (b) a sparse VM disk image with 1% of its blocks changed -------------------------------

class SpaceSampler:
    """Samples the bytes allocated below a directory (temp files included) in a thread."""

    def __init__(self, root: Path, interval: float = 0.02) -> None:
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def used(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
                except FileNotFoundError:
                    pass  # a temporary file renamed between listing and stat
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.used())
            self._stop.wait(self.interval)

    def __enter__(self) -> "SpaceSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.used())


def make_image(path: Path, size: int, rng: random.Random) -> None:
    """A thin image: 1/4 of it in 4 MiB data extents at random aligned offsets, the rest holes."""
    extent = 4 << 20
    slots = rng.sample(range(size // extent), size // extent // 4)
    with open(path, "wb") as f:
        f.truncate(size)
        for slot in sorted(slots):
            f.seek(slot * extent)
            f.write(rng.randbytes(extent))


def change_blocks(path: Path, size: int, rng: random.Random, fraction: float = 0.01) -> int:
    blocks = rng.sample(range(size // BLOCK), int(size // BLOCK * fraction))
    with open(path, "r+b") as f:
        for block in sorted(blocks):
            f.seek(block * BLOCK)
            f.write(rng.randbytes(BLOCK))
    return len(blocks)


def seed_rsync(primary: SshSite, dr: SshSite, source: Path, dest: Path) -> dict:
    cmd = ["rsync", "-av", "--delete", "-e", primary.rsh_to(dr), f"{source}/", dr.url(dest) + "/"]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    sent = next(line for line in proc.stdout.splitlines() if line.startswith("sent "))
    return {"seconds": seconds, "bytes_sent": int(sent.split()[1].replace(",", ""))}


def module_rsync(primary: SshSite, dr: SshSite, source: Path, dest: Path, extra_args=()) -> dict:
    args = {"volumes": [{"name": "image", "source": str(source), "destination": dr.url(dest)}],
            "allowed_roots": [str(dr.export)], "ssh": dr.sync_ssh_options(peer=primary),
            "extra_args": list(extra_args)}
    started = time.monotonic()
    result = run_module("nfs_sync", args)
    seconds = time.monotonic() - started
    assert result["rc"] == 0, result["msg"]
    vol = result["volumes"][0]
    return {"seconds": seconds, "bytes_sent": vol["bytes_sent"], "literal": vol["literal_bytes"],
            "matched": vol["matched_bytes"]}


def bench_image(primary: SshSite, dr: SshSite, size: int) -> dict:
    rng = random.Random(42)
    source = primary.export / "vm-disk"
    source.mkdir()
    image = source / "disk.img"
    make_image(image, size, rng)
    figures = {"image_size": size, "source_allocated_before": allocated_bytes(image)}
    methods = {
        "seed": seed_rsync,
        "module": module_rsync,
        # rsync picks ~64 KiB blocks for a 4 GiB file, so each 4 KiB guest write costs up to
        # 64 KiB of literal data; a smaller block size is a tuning knob (more checksums).
        "module_bs16k": lambda *a: module_rsync(*a, extra_args=["--block-size=16384"]),
    }
    for name, sync in methods.items():
        dest = dr.export / name
        with SpaceSampler(dest) as space:
            first = sync(primary, dr, source, dest)
        figures[f"{name}_initial"] = {**first, "dr_peak": space.peak, "dr_after": space.used()}
    figures["blocks_changed"] = change_blocks(image, size, rng)
    figures["source_allocated_after"] = allocated_bytes(image)
    for name, sync in methods.items():
        dest = dr.export / name
        before = SpaceSampler(dest).used()
        with SpaceSampler(dest) as space:
            update = sync(primary, dr, source, dest)
        same = subprocess.run(["cmp", "-s", str(image), str(dest / "disk.img")]).returncode == 0
        assert same, f"{name}: DR image differs from the source after the sync"
        figures[f"{name}_update"] = {**update, "dr_before": before, "dr_peak": space.peak,
                                     "dr_after": space.used()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--volumes", type=int, default=200)
    parser.add_argument("--image-gib", type=float, default=4)
    parser.add_argument("--only", choices=["volumes", "image"])
    args = parser.parse_args()
    ensure_collection()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        with SshSite("primary", WORK / "primary") as primary, SshSite("dr", WORK / "dr") as dr:
            primary.pair(dr)
            results = {"rsync": subprocess.run(["rsync", "--version"], capture_output=True, text=True)
                       .stdout.splitlines()[0], "cpus": os.cpu_count()}
            if args.only in (None, "volumes"):
                results["many_volumes"] = {"count": args.volumes, **bench_many_volumes(primary, dr, args.volumes)}
            if args.only in (None, "image"):
                results["image"] = bench_image(primary, dr, int(args.image_gib * (1 << 30)))
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
