"""The three modes of ocpdr run in a running lab: what `make lab` shows and what
`tests/lab/test_modes.py` checks.

1. **Event-driven replication**: the real `ocpdr-forwarder` watches the primary API server and
   POSTs to a real `ansible-rulebook` running `rulebooks/ocp_dr_events_local.yml`, whose rules run
   the event-driven playbooks against the lab inventory. A claim is created with data, data is
   written and the claim relabelled, the volume deleted; each step waits until the DR side
   shows it (objects and bytes) and records the time that took (the RPO of that event).
2. **Scheduled reconciliation**: `execute_periodic_sync.yml` once to bring DR up to date, then
   the DR side is broken on purpose (a DR PV object deleted, a DR file corrupted) and the next
   run's drift report names both and repairs them. The run also writes the volume map that
   the NFS change watcher reads: with it, writes inside a volume (no Kubernetes event at all)
   reach DR through `ocpdr-forwarder nfs-watch`, the same webhook and `handle_volume_data.yml`.
3. **Failover**: `execute_failover.yml` with the lab's newest good backup, until the VMs run on DR.

Each function returns what it measured and raises `ScenarioError` with the evidence when the DR
side does not get there in time.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from harness import paths
from harness.ansible import PlaybookRun, ansible_env, run_playbook
from harness import nfswatch
from harness.forwarder import Forwarder
from harness.ports import free_port, wait_for_port
from harness.rulebook import SHIM_SOURCES, java_home
from harness.sshd import SshSite
from lab import components, processes
from lab.cluster import ApiError, Cluster
from lab.layout import Layout
from lab.state import LabState

WATCHED = ["app-ns1", "app-ns2"]
Say = Callable[[str], None]


class ScenarioError(RuntimeError):
    """The DR side did not reach the expected state."""


@dataclass
class Lab:
    """A running lab seen from outside: its clusters, NFS sites and inventory."""

    layout: Layout
    state: LabState
    primary: Cluster
    dr: Cluster
    sites: dict[str, SshSite]

    @classmethod
    def open(cls, layout: Layout) -> Lab:
        state = LabState.load(layout)
        if state is None:
            raise ScenarioError(f"no lab in {layout.root}; run `make lab-up` first")
        return cls(
            layout,
            state,
            components.cluster(layout, state, "primary"),
            components.cluster(layout, state, "dr"),
            {name: components.site(layout, state, name) for name in ("primary", "dr")},
        )

    def env(self) -> dict[str, str]:
        """What ansible-playbook and ansible-rulebook need besides ansible_env()."""
        return {"ANSIBLE_CONFIG": str(self.layout.ansible_cfg)}

    def playbook(self, playbook: str, **extra_vars) -> PlaybookRun:
        """Runs a playbook of the repository against the lab inventory."""
        return run_playbook(
            paths.REPO / "playbooks" / playbook,
            inventory=self.layout.inventory,
            extra_vars=extra_vars or None,
            env=self.env(),
        )

    def dr_path(self, primary_path: str) -> Path:
        """Where the DR site keeps the copy of a primary export path."""
        relative = Path(primary_path).relative_to(self.sites["primary"].export)
        return Path(self.sites["dr"].export) / relative

    def evidence_runs(self, mode: str) -> list[Path]:
        """Run directories of `mode`, oldest first."""
        return sorted(
            (p for p in self.layout.evidence.glob(f"*/{mode}-*") if p.is_dir()),
            key=lambda p: json.loads((p / "manifest.json").read_text())["started_at"],
        )


def sha256(path: Path) -> str | None:
    """The file's digest, or None when it does not exist."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def wait_for(what: str, condition: Callable[[], object], timeout: float, detail: Callable[[], str] = str) -> float:
    """Polls `condition()` until truthy; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return time.monotonic()
        except (ApiError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ScenarioError(f"timed out after {timeout:.0f}s waiting for {what}\n{detail()}")
        time.sleep(0.25)


def _get(cluster: Cluster, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
    try:
        return cluster.get(api_version, kind, name, namespace)
    except ApiError as err:
        if " 404" in str(err):
            return None
        raise


class EventPipeline:
    """The forwarder and ansible-rulebook with the local rulebook, as one running pipeline."""

    def __init__(self, lab: Lab, workdir: Path, watch_data: bool = False) -> None:
        """`watch_data` also starts the NFS change watcher on the primary export."""
        self.lab = lab
        self.watch_data = watch_data
        self.watcher: Forwarder | None = None
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log = workdir / "ansible-rulebook.log"
        self.rulebook: subprocess.Popen | None = None
        self.forwarder: Forwarder | None = None

    def start(self) -> EventPipeline:
        variables = {
            "watched_namespaces": WATCHED,
            "eda_webhook_token": self.token,
            "eda_webhook_host": "127.0.0.1",
            "eda_webhook_port": self.port,
        }
        vars_file = self.workdir / "rulebook-vars.yml"
        vars_file.write_text(yaml.safe_dump(variables))
        vars_file.chmod(0o600)
        cmd = [
            str(paths.venv_bin("ansible-rulebook")),
            "-r", "rulebooks/ocp_dr_events_local.yml",
            "-i", str(self.lab.layout.inventory),
            "--vars", str(vars_file),
            "-S", str(SHIM_SOURCES),
            "--print-events",
        ]  # fmt: skip
        env = ansible_env({**self.lab.env(), "JAVA_HOME": java_home()})
        with self.log.open("ab") as out:
            self.rulebook = subprocess.Popen(
                cmd, cwd=paths.REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        wait_for_port(self.port, timeout=120, proc=self.rulebook)
        cluster = self.lab.state.clusters["primary"]
        self.forwarder = Forwarder(
            {
                "KUBECONFIG": cluster["kubeconfig"],
                "WEBHOOK_URL": f"http://127.0.0.1:{self.port}/ocpdr",
                "WEBHOOK_TOKEN": self.token,
                "CLUSTER_NAME": "primary",
                "WATCH_NAMESPACES": ",".join(WATCHED),
            },
            self.workdir,
        ).start()
        self.forwarder.wait_ready()
        if self.watch_data:
            self.watcher = nfswatch.watcher(
                {
                    "EXPORT_ROOTS": str(self.lab.sites["primary"].export),
                    "WEBHOOK_URL": f"http://127.0.0.1:{self.port}/ocpdr",
                    "WEBHOOK_TOKEN": self.token,
                    "CLUSTER_NAME": "primary",
                    "STATE_FILE": str(self.workdir / "nfs-watch-pending.json"),
                    "CATCHUP_ON_START": "false",
                },
                self.workdir,
            ).start()
            watcher = self.watcher
            watcher.wait_until(
                lambda: watcher.metric("ocpdr_forwarder_volume_map_loads_total", result="ok") >= 1,
                what="the volume map loaded",
            )
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        for process in (self.watcher, self.forwarder):
            if process is not None:
                process.stop()
        # With the playbooks it still runs (e.g. for the forwarder's start-up relist): they run in
        # sessions of their own and would outlive the lab.
        if self.rulebook is not None and self.rulebook.poll() is None:
            processes.terminate({self.rulebook.pid: processes.start_time(self.rulebook.pid)}, timeout=30)
            self.rulebook.wait()

    def __enter__(self) -> EventPipeline:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class EventResult:
    """One change on the primary and how long the DR side took to show it."""

    change: str
    rpo_seconds: float


@dataclass
class EventRun:
    results: list[EventResult] = field(default_factory=list)
    quarantined: list[Path] = field(default_factory=list)


NEW_CLAIM = ("app-ns1", "lab-event-disk")


def _claim_manifests(lab: Lab) -> tuple[dict, dict, Path]:
    """A statically provisioned NFS volume and its claim in a watched namespace."""
    namespace, name = NEW_CLAIM
    pv_name = f"{namespace}-{name}-pv"
    path = Path(lab.sites["primary"].export) / namespace / name
    pv = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": pv_name, "labels": {"app.kubernetes.io/part-of": "lab-event"}},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "nfs": {"server": lab.state.sites["primary"]["host"], "path": str(path)},
            "claimRef": {"namespace": namespace, "name": name},
        },
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "",
            "volumeName": pv_name,
        },
    }
    return pv, pvc, path


def event_mode(lab: Lab, say: Say, workdir: Path, timeout: float = 180) -> EventRun:
    """Claim created with data, data written + claim relabelled, volume deleted: each reaches DR."""
    run = EventRun()
    pv, pvc, path = _claim_manifests(lab)
    namespace, name = NEW_CLAIM
    dr_dir = lab.dr_path(str(path))
    with EventPipeline(lab, workdir) as pipeline:
        say("forwarder watching the primary, ansible-rulebook listening with the local rulebook")
        detail = lambda: pipeline.text()[-4000:]  # noqa: E731

        path.mkdir(parents=True, exist_ok=True)
        disk = path / "disk.img"
        disk.write_bytes(os.urandom(2 << 20))
        started = time.monotonic()
        lab.primary.create(pv)
        lab.primary.create(pvc)
        say(f"created PV {pv['metadata']['name']} and PVC {namespace}/{name} (2 MiB disk image)")

        def claim_on_dr() -> bool:
            dr_pvc = _get(lab.dr, "v1", "PersistentVolumeClaim", name, namespace)
            dr_pv = _get(lab.dr, "v1", "PersistentVolume", pv["metadata"]["name"])
            return bool(
                dr_pvc
                and dr_pv
                and dr_pv["spec"]["nfs"]["server"] == lab.state.sites["dr"]["host"]
                and sha256(dr_dir / "disk.img") == sha256(disk)
            )

        done = wait_for("the new claim, its volume and its data on DR", claim_on_dr, timeout, detail)
        run.results.append(EventResult("PVC created with data", done - started))
        say(f"  on DR after {done - started:.1f}s: PV, PVC and identical disk.img")

        # The rulebook fires a sync rule at most once per object within 10 s: wait that out so
        # the relabel below is a new burst, not part of the creation's.
        time.sleep(max(0.0, 11 - (time.monotonic() - started)))
        data = path / "data.bin"
        data.write_bytes(os.urandom(512 << 10))
        started = time.monotonic()
        lab.primary.call(
            "PATCH",
            f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}",
            {"metadata": {"labels": {"ocpdr.io/lab-generation": "2"}}},
            "application/merge-patch+json",
        )
        say("wrote data.bin (512 KiB) into the volume and relabelled the claim")

        def data_on_dr() -> bool:
            dr_pvc = _get(lab.dr, "v1", "PersistentVolumeClaim", name, namespace) or {}
            labels = dr_pvc.get("metadata", {}).get("labels", {})
            return labels.get("ocpdr.io/lab-generation") == "2" and sha256(dr_dir / "data.bin") == sha256(data)

        done = wait_for("the new data and label on DR", data_on_dr, timeout, detail)
        run.results.append(EventResult("data written + PVC relabelled", done - started))
        say(f"  on DR after {done - started:.1f}s: label and identical data.bin")

        started = time.monotonic()
        lab.primary.call("DELETE", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{name}")
        lab.primary.call("DELETE", f"/api/v1/persistentvolumes/{pv['metadata']['name']}")
        say(f"deleted PVC {namespace}/{name} and PV {pv['metadata']['name']} on the primary")

        quarantine = Path(lab.sites["dr"].export) / ".ocpdr-quarantine"

        def gone_on_dr() -> bool:
            kept = [p for p in quarantine.glob(f"*/{name}*") if (p / "data.bin").exists()] if quarantine.exists() else []
            run.quarantined = kept
            return (
                _get(lab.dr, "v1", "PersistentVolume", pv["metadata"]["name"]) is None
                and _get(lab.dr, "v1", "PersistentVolumeClaim", name, namespace) is None
                and not dr_dir.exists()
                and bool(kept)
            )

        done = wait_for("the deletion on DR, data in quarantine", gone_on_dr, timeout, detail)
        run.results.append(EventResult("PVC and PV deleted", done - started))
        say(f"  on DR after {done - started:.1f}s: objects gone, data kept in {run.quarantined[0]}")
    return run


@dataclass
class PeriodicRun:
    drift: list[dict]
    run_dir: Path
    broken_pv: str
    corrupted: Path
    source: Path


def periodic_mode(lab: Lab, say: Say) -> PeriodicRun:
    """One reconciliation to bring DR up to date, break DR, a second one that repairs it."""
    say("hourly reconciliation #1 (brings DR up to date)")
    lab.playbook("scheduled/execute_periodic_sync.yml").assert_ok()

    volumes = json.loads((lab.layout.seed / "volumes.json").read_text())
    victim = next(v for v in volumes if v["namespace"] in WATCHED)
    dr_pv = lab.dr.get("v1", "PersistentVolume", victim["pv"])
    if dr_pv["metadata"].get("finalizers"):
        lab.dr.call(
            "PATCH", f"/api/v1/persistentvolumes/{victim['pv']}", {"metadata": {"finalizers": None}}, "application/merge-patch+json"
        )
    lab.dr.call("DELETE", f"/api/v1/persistentvolumes/{victim['pv']}")
    dr_files = sorted(p for p in lab.dr_path(victim["path"]).rglob("*") if p.is_file())
    corrupted = dr_files[0]
    corrupted.write_bytes(b"\0" * corrupted.stat().st_size)
    say(f"broke DR: deleted PV {victim['pv']}, zeroed {corrupted}")

    say("hourly reconciliation #2")
    lab.playbook("scheduled/execute_periodic_sync.yml").assert_ok()
    run_dir = lab.evidence_runs("periodic-sync")[-1]
    drift = json.loads((run_dir / "report.json").read_text()).get("drift", [])
    for d in drift:
        say(f"  drift: {d['kind']} {d.get('namespace', '') + '/' if d.get('namespace') else ''}{d['name']}: "
            f"{d['issue']} ({'resolved' if d['resolved'] else 'open'})")
    source = Path(victim["path"]) / corrupted.relative_to(lab.dr_path(victim["path"]))
    return PeriodicRun(drift, run_dir, victim["pv"], corrupted, source)


@dataclass
class DataRun:
    rpo_seconds: float
    recorded_rpo: float
    events: int
    run_dir: Path


def data_mode(lab: Lab, say: Say, workdir: Path, timeout: float = 120) -> DataRun:
    """Writes inside a volume (no Kubernetes event): the change watcher carries them to DR.
    Needs the volume map of a reconciliation (periodic_mode) on the primary export."""
    volumes = json.loads((lab.layout.seed / "volumes.json").read_text())
    volume = next(v for v in volumes if v["namespace"] in WATCHED)
    disk = Path(volume["path"]) / "guest-writes.log"
    dr_copy = lab.dr_path(str(disk))
    before = len(lab.evidence_runs("data-sync"))
    with EventPipeline(lab, workdir, watch_data=True) as pipeline:
        say("NFS change watcher on the primary export, with the volume map of the last reconciliation")
        started = time.monotonic()
        nfswatch.write(disk, writes=10_000, files=20)
        say(f"a guest wrote 10,000 records into {disk.name} and churned 20 files in {volume['namespace']}/{volume['claim']}")
        done = wait_for(
            "the written data on DR",
            lambda: sha256(dr_copy) == sha256(disk) and len(lab.evidence_runs("data-sync")) > before,
            timeout,
            lambda: pipeline.text()[-4000:],
        )
        say(f"  on DR after {done - started:.1f}s: identical {disk.name}")
    runs = lab.evidence_runs("data-sync")[before:]
    recorded = json.loads((runs[-1] / "manifest.json").read_text())["summary"]["rpo_seconds"]
    return DataRun(done - started, float(recorded), len(runs), runs[-1])


@dataclass
class FailoverRun:
    run_dir: Path
    steps: list[dict]
    vms: list[dict]


def failover_mode(lab: Lab, say: Say, namespace: str = "app-ns1", **extra_vars) -> FailoverRun:
    """The failover of one namespace from the newest good backup."""
    say(f"failover of {namespace} from the newest Completed backup")
    lab.playbook("manual_dr/execute_failover.yml", namespace=namespace, **extra_vars).assert_ok()
    run_dir = lab.evidence_runs("failover")[-1]
    report = json.loads((run_dir / "report.json").read_text())
    vms = json.loads((run_dir / "vms.json").read_text())
    for step in report.get("steps", []):
        say(f"  {step['name']}: {step['status']} {step.get('detail', '')}")
    return FailoverRun(run_dir, report.get("steps", []), vms)


def run_all(layout: Layout) -> int:
    """`make lab`: the three modes in a running lab, with progress, then a one-screen summary."""
    t0 = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f}s] {message}", flush=True)

    lab = Lab.open(layout)
    workdir = layout.root / "modes"
    try:
        say("== 1. event-driven replication")
        events = event_mode(lab, say, workdir)
        say("== 2. scheduled reconciliation")
        periodic = periodic_mode(lab, say)
        say("== 2b. near-real-time data: the NFS change watcher")
        data = data_mode(lab, say, workdir)
        say("== 3. failover")
        failover = failover_mode(lab, say)
    except ScenarioError as err:
        print(f"\nFAILED: {err}", flush=True)
        return 1
    print("\n" + "=" * 72)
    print("Event-driven replication (RPO = primary change -> DR shows objects and bytes)")
    for e in events.results:
        print(f"  {e.change:<34} {e.rpo_seconds:6.1f} s")
    print(f"  {'writes inside a volume (watcher)':<34} {data.rpo_seconds:6.1f} s"
          f"  ({data.events} data-sync job(s); recorded RPO first write -> synced {data.recorded_rpo:.1f} s)")
    print("Hourly reconciliation: drift found and repaired")
    for d in periodic.drift:
        print(f"  {d['kind']:<22} {d['name']:<32} {d['issue']:<20} {'resolved' if d['resolved'] else 'open'}")
    print("Failover steps")
    for s in failover.steps:
        seconds = _seconds(s["started_at"], s["finished_at"])
        print(f"  {s['name']:<48} {s['status']:<8} {seconds:6.1f} s")
    running = [f"{vm['namespace']}/{vm['name']}" for vm in failover.vms if vm.get("running")]
    print(f"VMs running on DR: {len(running)} of {len(failover.vms)}: {', '.join(running)}")
    print("Reports:")
    for run_dir in (periodic.run_dir, failover.run_dir):
        print(f"  {run_dir / 'report.html'}")
    print(f"  every run: {layout.evidence} (check one: cd <run> && sha256sum -c manifest.sha256)")
    return 0


def _seconds(start: str, end: str) -> float:
    """Seconds between two RFC 3339 times."""
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
