"""The lab's seed: ``ocpdr-fixtures lab`` writes the manifests of both clusters and the files of
the primary's volumes (the same seed and scale, the same objects and bytes); this module loads
the manifests and waits until the primary's controllers have bound the volumes, started the
VMs and made the snapshot ready, as on a cluster that has been running for a while."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from harness.apiserver import wait_until
from lab.cluster import Cluster, load
from lab.layout import Layout
from lab.state import LabState

S3_BUCKET = "ocp-backups"
S3_PREFIX = "velero"
S3_REGION = "us-east-1"


def write(fixtures: Path, layout: Layout, state: LabState) -> dict:
    """Runs ``ocpdr-fixtures lab`` for this lab; returns its summary."""
    primary, dr = state.sites["primary"], state.sites["dr"]
    cmd = [
        str(fixtures), "lab", "--out", str(layout.seed),
        "--seed", str(state.seed), "--scale", str(state.scale),
        "--primary-server", primary["host"], "--primary-export", primary["export"],
        "--dr-server", dr["host"], "--dr-export", dr["export"],
        "--s3-url", state.s3["endpoint"], "--bucket", state.s3["bucket"],
        "--prefix", state.s3["prefix"], "--region", state.s3["region"],
        "--s3-credentials-file", str(layout.s3_credentials),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ocpdr-fixtures lab failed:\n{done.stderr}")
    return json.loads(done.stdout)


def manifests(layout: Layout, cluster: str) -> list[dict]:
    """The manifests of `cluster` (primary or dr) in creation order."""
    return json.loads((layout.seed / f"{cluster}.json").read_text())


def volumes(layout: Layout) -> list[dict]:
    """The primary's volumes: namespace, claim, pv, source (nfs/csi), path, size, vm, content."""
    return json.loads((layout.seed / "volumes.json").read_text())


def load_and_settle(primary: Cluster, dr: Cluster, layout: Layout, timeout: float = 30.0) -> None:
    """Loads both clusters and waits for the primary's controllers to settle."""
    load(dr, manifests(layout, "dr"))
    created = load(primary, manifests(layout, "primary"))
    expected = {
        kind: sum(o["kind"] == kind for o in created)
        for kind in ("PersistentVolume", "PersistentVolumeClaim", "VirtualMachine", "VolumeSnapshot")
    }

    def settled() -> bool:
        bound = [
            o
            for kind in ("PersistentVolume", "PersistentVolumeClaim")
            for o in primary.list("v1", kind)
            if o.get("status", {}).get("phase") == "Bound"
        ]
        running = [
            vm
            for vm in primary.list("kubevirt.io/v1", "VirtualMachine")
            if vm.get("status", {}).get("printableStatus") == "Running"
        ]
        ready = [
            vs
            for vs in primary.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
            if vs.get("status", {}).get("readyToUse") is True
        ]
        return (
            len(bound) == expected["PersistentVolume"] + expected["PersistentVolumeClaim"]
            and len(running) == expected["VirtualMachine"]
            and len(ready) == expected["VolumeSnapshot"]
        )

    wait_until("the primary's volumes Bound, VMs Running and snapshots ready", settled, timeout=timeout)
