"""The three modes end to end in a lab of their own, asserting what an operator checks on the DR
side: objects present and cleaned (no source uid or resourceVersion, the DR NFS server, Retain),
files byte-identical, deleted data in the quarantine, drift found and repaired, VMs running after
the failover from a Restore that left the four storage kinds out, and evidence that verifies
with coreutils' sha256sum alone.

The scenarios are the ones `make lab` shows (tests/lab/modes.py); they run in order on one lab
(module scope), as an operator would meet them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lab import modes
from lab.layout import Layout
from lab.command import lab

STORAGE_KINDS = {"persistentvolumes", "persistentvolumeclaims", "volumesnapshots", "volumesnapshotcontents"}


@pytest.fixture(scope="module")
def running(tmp_path_factory, collection):
    lab_dir = tmp_path_factory.mktemp("modes") / "lab"
    up = lab(lab_dir, "up", "--seed", "5", "--scale", "1")
    assert up.returncode == 0, up.stdout + up.stderr
    layout = Layout(lab_dir)
    yield modes.Lab.open(layout)
    lab(lab_dir, "down")


@pytest.fixture(scope="module")
def said():
    return []


def verify_evidence(run_dir: Path) -> None:
    for sums in ("manifest.sha256", "SHA256SUMS"):
        check = subprocess.run(["sha256sum", "-c", "--strict", sums], cwd=run_dir, capture_output=True, text=True)
        assert check.returncode == 0, f"{run_dir}/{sums}: {check.stdout}{check.stderr}"


def assert_cleaned(obj: dict, primary: dict) -> None:
    """A DR object carries none of the primary's server state (what DR's own controllers set
    after the apply, e.g. bind annotations, is DR state and fine)."""
    assert obj["metadata"]["uid"] != primary["metadata"]["uid"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in obj["metadata"].get("annotations", {})
    managers = {m["manager"] for m in obj["metadata"].get("managedFields", [])}
    assert "ocpdr" in managers, managers
    primary_claim_uid = primary.get("spec", {}).get("claimRef", {}).get("uid")
    if primary_claim_uid:
        assert obj["spec"].get("claimRef", {}).get("uid") != primary_claim_uid


def test_event_driven_replication(running, tmp_path, said):
    run = modes.event_mode(running, said.append, tmp_path / "events")
    assert [r.change for r in run.results] == [
        "PVC created with data",
        "data written + PVC relabelled",
        "PVC and PV deleted",
    ]
    # The quarantine keeps the deleted volume's bytes, with the note saying why.
    assert run.quarantined and (run.quarantined[0] / "disk.img").stat().st_size == 2 << 20
    runs = running.evidence_runs("event-sync") + running.evidence_runs("event-delete")
    assert runs, "no evidence of the event runs"
    for run_dir in runs:
        verify_evidence(run_dir)
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] in ("success", "partial"), manifest


def test_reconciliation_repairs_drift(running, said):
    run = modes.periodic_mode(running, said.append)
    issues = {(d["kind"], d["name"], d["issue"]): d for d in run.drift}
    assert issues[("PersistentVolume", run.broken_pv, "missing_on_dr")]["resolved"] is True, run.drift
    data = issues[("VolumeData", run.broken_pv, "differs")]
    assert data["resolved"] is True and data["detail"].startswith("DR data out of date"), data

    # Every primary pair is on DR, cleaned, retargeted, Retain, with identical files.
    primary, dr = running.primary, running.dr
    for pvc in primary.list("v1", "PersistentVolumeClaim"):
        if pvc["metadata"]["namespace"] not in modes.WATCHED or not pvc["spec"].get("volumeName"):
            continue
        pv = primary.get("v1", "PersistentVolume", pvc["spec"]["volumeName"])
        dr_pv = dr.get("v1", "PersistentVolume", pv["metadata"]["name"])
        dr_pvc = dr.get("v1", "PersistentVolumeClaim", pvc["metadata"]["name"], pvc["metadata"]["namespace"])
        assert_cleaned(dr_pv, pv)
        assert_cleaned(dr_pvc, pvc)
        assert dr_pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        source = pv["spec"].get("nfs") or pv["spec"]["csi"]["volumeAttributes"]
        dr_source = dr_pv["spec"].get("nfs") or dr_pv["spec"]["csi"]["volumeAttributes"]
        assert dr_source["server"] == running.state.sites["dr"]["host"]
        primary_dir = Path(source.get("path") or source["share"] + "/" + source.get("subdir", ""))
        if "path" in source:
            for f in Path(primary_dir).rglob("*"):
                if f.is_file():
                    assert modes.sha256(running.dr_path(str(f))) == modes.sha256(f), f
    assert modes.sha256(run.corrupted) == modes.sha256(run.source), "the corrupted DR file was not repaired"

    # Ready snapshots: pre-provisioned on DR (Retain), kept in the metadata store, archive copied.
    metadata = Path(running.sites["dr"].export) / ".ocpdr-metadata"
    for vs in primary.list("snapshot.storage.k8s.io/v1", "VolumeSnapshot"):
        if vs["metadata"]["namespace"] not in modes.WATCHED or not vs.get("status", {}).get("readyToUse"):
            continue
        content = vs["status"]["boundVolumeSnapshotContentName"]
        dr_vsc = dr.get("snapshot.storage.k8s.io/v1", "VolumeSnapshotContent", content)
        assert dr_vsc["spec"]["deletionPolicy"] == "Retain" and "snapshotHandle" in dr_vsc["spec"]["source"]
        dr.get("snapshot.storage.k8s.io/v1", "VolumeSnapshot", vs["metadata"]["name"], vs["metadata"]["namespace"])
        assert (metadata / "volumesnapshotcontents" / f"{content}.json").is_file()
        assert (metadata / "volumesnapshots" / vs["metadata"]["namespace"] / f"{vs['metadata']['name']}.json").is_file()
    archives = list(Path(running.sites["primary"].export).rglob("*.tar.gz"))
    assert archives, "the lab seeds a CSI NFS snapshot archive"
    for archive in archives:
        assert modes.sha256(running.dr_path(str(archive))) == modes.sha256(archive), archive
    verify_evidence(run.run_dir)
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["summary"]["drift"] >= 2
    assert {"drift.csv", "volumes.csv", "inventory.json", "report.html"} <= {a["path"] for a in manifest["artifacts"]}


def test_a_late_delete_of_an_object_that_exists_again_removes_nothing(running):
    """At-least-once delivery means a DELETED can arrive after the object was re-created: the
    delete playbook asks the primary first and leaves the DR copy (objects and data) alone."""
    volumes = json.loads((running.layout.seed / "volumes.json").read_text())
    victim = next(v for v in volumes if v["namespace"] in modes.WATCHED)
    pv = running.primary.get("v1", "PersistentVolume", victim["pv"])
    dr_dir = running.dr_path(victim["path"])
    before = sorted(str(p) for p in dr_dir.rglob("*"))
    run = running.playbook("event_driven/handle_resource_delete.yml", resource_object=pv, event_type="DELETED")
    run.assert_ok()
    assert "exists on the primary again" in run.stdout
    assert running.dr.get("v1", "PersistentVolume", victim["pv"])
    assert sorted(str(p) for p in dr_dir.rglob("*")) == before
    newest = running.evidence_runs("event-delete")[-1]
    manifest = json.loads((newest / "manifest.json").read_text())
    assert manifest["status"] == "partial" and "exists on the primary again" in manifest["summary"]["refused"]


def test_failover_runs_the_vms_on_dr(running, said):
    run = modes.failover_mode(running, said.append)
    assert run.vms and all(vm["running"] for vm in run.vms), run.vms
    assert [s["status"] for s in run.steps if s["status"] == "failed"] == []
    restores = running.dr.list("velero.io/v1", "Restore", "openshift-adp")
    assert restores, "no Restore on DR"
    excluded = set(restores[-1]["spec"].get("excludedResources", []))
    assert STORAGE_KINDS <= {r.split(".")[0] for r in excluded}, excluded
    verify_evidence(run.run_dir)
    assert (run.run_dir / "report.html").stat().st_size > 0


def test_failover_with_the_primary_down_skips_its_steps(running, said):
    """A real disaster: neither the primary API nor its NFS server answers. The failover warns,
    skips stopping VMs and the final sync, and still brings the VMs up on DR from the backup."""
    run = modes.failover_mode(
        running,
        said.append,
        namespace="app-ns2",
        failover_primary_nfs_host="primary-nfs.unreachable.invalid",
        ocp_primary_auth={"host": "https://127.0.0.1:9", "api_key": "x", "validate_certs": False},
    )
    steps = {s["name"]: s for s in run.steps}
    assert steps["Check the primary site"]["status"] == "partial"
    assert steps["Stop the VMs on the primary"]["status"] == "skipped"
    assert steps["Final data sync"]["status"] == "skipped"
    assert run.vms and all(vm["running"] for vm in run.vms), run.vms
    manifest = json.loads((run.run_dir / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["summary"]["warnings"] == 2
    verify_evidence(run.run_dir)


def test_writes_inside_a_volume_reach_dr_through_the_change_watcher(running, tmp_path, said):
    """No Kubernetes event fires when a VM writes to its disk: the NFS change watcher on the
    primary (with the volume map the reconciliation wrote) sends VolumeData events, a 10,000-write
    burst yields a handful of data-sync jobs, not thousands, and each records its RPO."""
    run = modes.data_mode(running, said.append, tmp_path / "data")
    assert 1 <= run.events <= 5, run.events
    assert run.recorded_rpo > 0
    verify_evidence(run.run_dir)
