"""The DR data building blocks from real ansible-playbook runs on two sshd "NFS sites":
the volume_data_sync role (push from the primary, pull on DR, verify, failures, refusals),
nfs_quarantine delegated to the DR NFS server, the delete roles nfs_delete_on_event and
snapshot_delete_on_event, and the sidecar docs of the modules they use."""

from __future__ import annotations

import os
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from harness import paths
from harness.ansible import ansible_env, run_playbook
from harness.inventory import contract_vars, write_inventory
from harness.trees import assert_same_tree, seed_volume

SYNC = paths.REPO / "tests" / "playbooks" / "volume_data_sync.yml"
QUARANTINE = paths.REPO / "tests" / "playbooks" / "nfs_quarantine.yml"
PV_DELETE = paths.REPO / "tests" / "playbooks" / "nfs_delete_on_event.yml"
SNAPSHOT_DELETE = paths.REPO / "tests" / "playbooks" / "snapshot_delete_on_event.yml"
RECORD = "ocpdr.dr.volume_data_sync : Record the per-volume figures for the evidence report"
SNAP = "snapshot-7d1e2c44"


def nfs_pv(name: str, path: Path) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "42"},
        "spec": {
            "capacity": {"storage": "4Mi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Delete",
            "nfs": {"server": "nfs-primary.invalid", "path": str(path)},
            "claimRef": {"namespace": "app", "name": name.removeprefix("pv-")},
        },
    }


def csi_snapshot(share: Path) -> list[dict]:
    """A ready VolumeSnapshot and its dynamically made content, as csi-driver-nfs leaves them."""
    handle = f"nfs-primary.invalid#{str(share).strip('/')}#{SNAP}#{SNAP}#pvc-vm-a"
    return [
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": "vm-a-snap", "namespace": "app", "uid": "7d1e2c44"},
            "spec": {"source": {"persistentVolumeClaimName": "vm-a"}, "volumeSnapshotClassName": "nfs"},
            "status": {"boundVolumeSnapshotContentName": "snapcontent-7d1e2c44", "readyToUse": True},
        },
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotContent",
            "metadata": {"name": "snapcontent-7d1e2c44", "uid": "c0ffee"},
            "spec": {
                "deletionPolicy": "Delete",
                "driver": "nfs.csi.k8s.io",
                "source": {"volumeHandle": f"nfs-primary.invalid#{str(share).strip('/')}#pvc-vm-a##"},
                "volumeSnapshotRef": {"kind": "VolumeSnapshot", "name": "vm-a-snap", "namespace": "app"},
            },
            "status": {"snapshotHandle": handle, "readyToUse": True},
        },
    ]


def seed_primary(primary) -> dict:
    """Two volumes and one snapshot archive on the primary; returns the objects that name them."""
    for vm in ["vm-a", "vm-b"]:
        seed_volume(primary.export / "app" / vm, vm)
    archive_dir = primary.export / "csi" / SNAP
    archive_dir.mkdir(parents=True)
    with tarfile.open(archive_dir / "pvc-vm-a.tar.gz", "w:gz") as tar:
        tar.add(primary.export / "app" / "vm-a", arcname=".")
    return {
        "pvs": [nfs_pv(f"pv-{vm}", primary.export / "app" / vm) for vm in ["vm-a", "vm-b"]],
        "snapshots": csi_snapshot(primary.export / "csi"),
    }


def recorded(run) -> list[dict]:
    """Every volume_data_sync_result the role set, in order."""
    return [
        r["result"]["ansible_facts"]["volume_data_sync_result"]
        for r in run.results
        if r["task"] == RECORD
    ]


def fingerprint(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(key)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def test_push_syncs_volumes_and_snapshot_archives_from_the_primary(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    objects = seed_primary(primary)
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr, direction="push"), **objects}

    planned = run_playbook(SYNC, inventory=inventory, extra_vars=extra, check=True).assert_ok()
    assert recorded(planned)[0]["changed"] is True
    assert not (dr.export / "app").exists(), "check mode wrote nothing on DR"

    run = run_playbook(SYNC, inventory=inventory, extra_vars=extra).assert_ok()
    for vm in ["vm-a", "vm-b"]:
        assert_same_tree(primary.export / "app" / vm, dr.export / "app" / vm)
    archive = f"csi/{SNAP}/pvc-vm-a.tar.gz"
    assert (dr.export / archive).read_bytes() == (primary.export / archive).read_bytes()

    result = recorded(run)[0]
    assert (result["direction"], result["mode"], result["host"]) == ("push", "sync", "primary_nfs_server")
    assert result["changed"] is True and result["failed"] is False
    assert [v["name"] for v in result["volumes"]] == ["pv-vm-a", "pv-vm-b", "snapcontent-7d1e2c44"]
    assert result["totals"]["volumes"] == 3
    assert result["totals"]["files_transferred"] == 11
    # The peer address and port of the contract, not the name the DR cluster mounts.
    assert result["volumes"][0]["destination"] == f"root@127.0.0.1:{dr.export}/app/vm-a"
    assert f"-p {dr.port}" in result["volumes"][0]["command"]
    # The primary pushed with its own identity.
    assert fingerprint(primary.identity_key) in dr.log.read_text()

    again = run_playbook(SYNC, inventory=inventory, extra_vars=extra).assert_ok()
    assert recorded(again)[0]["changed"] is False


def test_pull_finds_and_repairs_a_silently_corrupted_dr_copy(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    objects = seed_primary(primary)
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr, direction="pull"), **objects}
    first = run_playbook(SYNC, inventory=inventory, extra_vars=extra).assert_ok()
    assert recorded(first)[0]["host"] == "dr_nfs_server"
    assert fingerprint(dr.identity_key) in primary.log.read_text(), "DR pulled with its own key"

    # Flip bytes in a DR disk image, keeping its size and modification time.
    disk = dr.export / "app" / "vm-a" / "disk.img"
    stat = disk.stat()
    with open(disk, "r+b") as f:
        f.write(b"corrupt!")
    os.utime(disk, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    verify = {**extra, "volume_data_sync_mode": "verify", "volume_data_sync_checksum": True}
    verified = recorded(run_playbook(SYNC, inventory=inventory, extra_vars=verify).assert_ok())[0]
    assert verified["in_sync"] is False
    assert verified["out_of_sync_volumes"] == ["pv-vm-a"]
    assert (dr.export / "app" / "vm-a" / "disk.img").read_bytes()[:8] == b"corrupt!", "verify changed nothing"

    repair = {**extra, "volume_data_sync_checksum": True}
    repaired = recorded(run_playbook(SYNC, inventory=inventory, extra_vars=repair).assert_ok())[0]
    assert [v["name"] for v in repaired["volumes"] if v["changed"]] == ["pv-vm-a"]
    assert_same_tree(primary.export / "app" / "vm-a", dr.export / "app" / "vm-a")
    again = recorded(run_playbook(SYNC, inventory=inventory, extra_vars=verify).assert_ok())[0]
    assert again["in_sync"] is True


def test_a_failed_volume_is_recorded_before_the_play_fails(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    objects = seed_primary(primary)
    objects["pvs"].append(nfs_pv("pv-missing", primary.export / "app" / "missing"))
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr, direction="push"), **objects}
    run = run_playbook(SYNC, inventory=inventory, extra_vars=extra)
    assert run.rc != 0
    result = recorded(run)[0]
    assert result["failed"] is True
    assert result["failed_volumes"] == ["pv-missing"]
    assert "pv-missing" in run.task("ocpdr.dr.volume_data_sync : Stop when the sync failed")["msg"]
    # The other volumes ran.
    assert_same_tree(primary.export / "app" / "vm-b", dr.export / "app" / "vm-b")


def test_destinations_outside_the_allowed_roots_are_refused(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    objects = seed_primary(primary)
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr), **objects, "dr_nfs_allowed_roots": [str(dr.export / "other")]}
    run = run_playbook(SYNC, inventory=inventory, extra_vars=extra)
    assert run.rc != 0
    result = recorded(run)[0]
    assert result["failed"] is True
    assert "is not below any of allowed_roots" in result["msg"]
    assert list(dr.export.iterdir()) == [], "nothing written on DR"


def test_quarantine_runs_on_the_dr_site_and_refuses_outside_paths(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    volume = seed_volume(dr.export / "app" / "vm-a", "vm-a")
    seed_volume(primary.export / "app" / "vm-a", "vm-a")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr), "quarantine_paths": [str(volume)]}

    planned = run_playbook(QUARANTINE, inventory=inventory, extra_vars=extra, check=True).assert_ok()
    assert planned.task("Quarantine on the DR NFS server")["paths"][0]["action"] == "quarantined"
    assert volume.exists()

    run = run_playbook(QUARANTINE, inventory=inventory, extra_vars=extra).assert_ok()
    result = run.task("Quarantine on the DR NFS server")
    assert result["changed"] is True
    moved = Path(result["paths"][0]["destination"])
    assert moved.parent.parent == dr.export / ".ocpdr-quarantine"
    assert_same_tree(primary.export / "app" / "vm-a", moved)
    assert not volume.exists()
    assert Path(result["paths"][0]["note"]).is_file()
    # The module ran through the DR site's sshd.
    assert fingerprint(dr.client_key) in dr.log.read_text()

    again = run_playbook(QUARANTINE, inventory=inventory, extra_vars=extra).assert_ok()
    assert again.task("Quarantine on the DR NFS server")["paths"][0]["action"] == "unchanged"

    outside = {**extra, "quarantine_paths": [str(primary.export / "app" / "vm-a")]}
    refused = run_playbook(QUARANTINE, inventory=inventory, extra_vars=outside)
    assert refused.rc != 0
    assert "is not below any of allowed_roots" in refused.task("Quarantine on the DR NFS server")["msg"]
    assert (primary.export / "app" / "vm-a" / "disk.img").exists()


def pv_delete_result(run) -> dict:
    """The nfs_delete_on_event_result the role set."""
    facts = run.task("ocpdr.dr.nfs_delete_on_event : Record what happened to the DR copy for the evidence")
    return facts["ansible_facts"]["nfs_delete_on_event_result"]


def test_a_deleted_pv_moves_its_dr_copy_into_the_dated_quarantine(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    seed_volume(primary.export / "app" / "vm-a", "vm-a")
    dr_copy = seed_volume(dr.export / "app" / "vm-a", "vm-a")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr), "pv": nfs_pv("pv-vm-a", primary.export / "app" / "vm-a")}

    planned = pv_delete_result(
        run_playbook(PV_DELETE, inventory=inventory, extra_vars=extra, check=True).assert_ok()
    )
    assert planned["changed"] is True and planned["paths"][0]["action"] == "quarantined"
    assert_same_tree(primary.export / "app" / "vm-a", dr_copy)
    assert not (dr.export / ".ocpdr-quarantine").exists(), "check mode created nothing"

    result = pv_delete_result(run_playbook(PV_DELETE, inventory=inventory, extra_vars=extra).assert_ok())
    assert (result["pv"], result["mode"], result["changed"]) == ("pv-vm-a", "quarantine", True)
    entry = result["paths"][0]
    assert entry["path"] == str(dr_copy) and entry["action"] == "quarantined"
    moved = Path(entry["destination"])
    assert moved.parent.parent == dr.export / ".ocpdr-quarantine"
    assert not dr_copy.exists()
    assert_same_tree(primary.export / "app" / "vm-a", moved)
    note = json.loads(Path(entry["note"]).read_text())
    assert "pv-vm-a" in json.dumps(note) and "test-run" in json.dumps(note)

    again = pv_delete_result(run_playbook(PV_DELETE, inventory=inventory, extra_vars=extra).assert_ok())
    assert again["changed"] is False and again["paths"][0]["action"] == "unchanged"
    assert_same_tree(primary.export / "app" / "vm-a", moved)


def test_a_deleted_pv_is_removed_on_dr_with_delete_mode(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    dr_copy = seed_volume(dr.export / "app" / "vm-a", "vm-a")
    seed_volume(dr.export / "app" / "vm-b", "vm-b")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {
        **contract_vars(primary, dr),
        "dr_delete_mode": "delete",
        "pv": nfs_pv("pv-vm-a", primary.export / "app" / "vm-a"),
    }
    result = pv_delete_result(run_playbook(PV_DELETE, inventory=inventory, extra_vars=extra).assert_ok())
    assert result["paths"][0]["action"] == "deleted"
    assert not dr_copy.exists()
    assert not (dr.export / ".ocpdr-quarantine").exists()
    assert (dr.export / "app" / "vm-b" / "disk.img").is_file(), "only the deleted PV's copy went"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dr_nfs_allowed_roots": ["{dr}/other"]}, "is not below any of allowed_roots"),
        # The PV's path maps onto the DR root itself, which holds every other volume.
        ({"nfs_path_map": [{"from": "{primary}/app/vm-a", "to": "{dr}"}]}, "is an allowed root itself"),
        ({"nfs_path_map": [{"from": "/elsewhere", "to": "{dr}"}]}, "no path_map entry covers"),
    ],
    ids=["outside-allowed-roots", "the-root-itself", "unmapped"],
)
def test_a_deleted_pv_never_touches_data_outside_the_allowed_roots(
    collection, nfs_sites, tmp_path, change, message
):
    primary, dr = nfs_sites
    dr_copy = seed_volume(dr.export / "app" / "vm-a", "vm-a")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    fill = {"dr": str(dr.export), "primary": str(primary.export)}
    change = json.loads(json.dumps(change).replace("{dr}", fill["dr"]).replace("{primary}", fill["primary"]))
    for mode in ["quarantine", "delete"]:
        extra = {
            **contract_vars(primary, dr),
            **change,
            "dr_delete_mode": mode,
            "pv": nfs_pv("pv-vm-a", primary.export / "app" / "vm-a"),
        }
        run = run_playbook(PV_DELETE, inventory=inventory, extra_vars=extra)
        assert run.rc != 0, run.stdout
        assert message in run.stdout, run.stdout
        assert sorted(p.name for p in dr.export.iterdir()) == ["app"], "nothing moved or created"
        assert (dr_copy / "disk.img").is_file()


def test_a_deleted_pv_that_is_not_nfs_is_left_alone(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    seed_volume(dr.export / "app" / "vm-a", "vm-a")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    pv = nfs_pv("pv-ceph", primary.export / "app" / "vm-a")
    del pv["spec"]["nfs"]
    pv["spec"]["csi"] = {"driver": "openshift-storage.rbd.csi.ceph.com", "volumeHandle": "0001-abc"}
    result = pv_delete_result(
        run_playbook(PV_DELETE, inventory=inventory, extra_vars={**contract_vars(primary, dr), "pv": pv}).assert_ok()
    )
    assert result["changed"] is False and result["paths"] == []
    assert result["skipped"][0]["name"] == "pv-ceph"
    assert (dr.export / "app" / "vm-a" / "disk.img").is_file()


def snapshot_delete_result(run) -> dict:
    """The snapshot_delete_on_event_result the role set."""
    facts = run.task("ocpdr.dr.snapshot_delete_on_event : Record what happened on DR for the evidence")["ansible_facts"]
    return facts["snapshot_delete_on_event_result"]


def seed_dr_snapshot(dr) -> tuple[Path, list[Path]]:
    """The DR copy of the snapshot archive and the two objects' JSON in the DR metadata store."""
    archive_dir = dr.export / "csi" / SNAP
    archive_dir.mkdir(parents=True)
    (archive_dir / "pvc-vm-a.tar.gz").write_bytes(os.urandom(4096))
    store = dr.export / ".ocpdr-metadata"
    files = [
        store / "volumesnapshots" / "app" / "vm-a-snap.json",
        store / "volumesnapshotcontents" / "snapcontent-7d1e2c44.json",
    ]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("{}")
    return archive_dir, files


def test_a_deleted_snapshot_quarantines_its_dr_archive_and_drops_its_metadata(
    collection, nfs_sites, tmp_path
):
    primary, dr = nfs_sites
    archive_dir, files = seed_dr_snapshot(dr)
    archive = (archive_dir / "pvc-vm-a.tar.gz").read_bytes()
    other = dr.export / ".ocpdr-metadata" / "volumesnapshots" / "app" / "other-snap.json"
    other.write_text("{}")
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {**contract_vars(primary, dr), "snapshots": csi_snapshot(primary.export / "csi")}

    planned = snapshot_delete_result(
        run_playbook(SNAPSHOT_DELETE, inventory=inventory, extra_vars=extra, check=True).assert_ok()
    )
    assert planned["changed"] is True
    assert archive_dir.is_dir() and all(f.exists() for f in files), "check mode removed nothing"
    assert not (dr.export / ".ocpdr-quarantine").exists()

    result = snapshot_delete_result(
        run_playbook(SNAPSHOT_DELETE, inventory=inventory, extra_vars=extra).assert_ok()
    )
    assert result["changed"] is True
    entry = result["archives"][0]
    assert entry["path"] == str(archive_dir) and entry["action"] == "quarantined"
    moved = Path(entry["destination"])
    assert moved.parent.parent == dr.export / ".ocpdr-quarantine"
    assert (moved / "pvc-vm-a.tar.gz").read_bytes() == archive, "the archive is kept, byte for byte"
    assert not archive_dir.exists()
    assert sorted(result["metadata_files_removed"]) == sorted(
        str(f.relative_to(dr.export / ".ocpdr-metadata")) for f in files
    )
    assert not any(f.exists() for f in files)
    assert other.exists(), "other snapshots' metadata stays"

    again = snapshot_delete_result(
        run_playbook(SNAPSHOT_DELETE, inventory=inventory, extra_vars=extra).assert_ok()
    )
    assert again["changed"] is False and again["archives"][0]["action"] == "unchanged"


def test_a_deleted_snapshot_outside_the_allowed_roots_is_refused(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    archive_dir, files = seed_dr_snapshot(dr)
    inventory = write_inventory(tmp_path / "inventory.json", primary, dr)
    extra = {
        **contract_vars(primary, dr),
        "dr_nfs_allowed_roots": [str(dr.export / "other")],
        "snapshots": csi_snapshot(primary.export / "csi"),
    }
    run = run_playbook(SNAPSHOT_DELETE, inventory=inventory, extra_vars=extra)
    assert run.rc != 0
    assert "is not below any of allowed_roots" in run.stdout
    assert (archive_dir / "pvc-vm-a.tar.gz").is_file()
    assert all(f.exists() for f in files), "metadata kept when the archive step was refused"


@pytest.mark.parametrize("module", ["nfs_quarantine", "snapshot_retarget"])
def test_the_sidecar_documents_exactly_the_options_the_module_takes(collection, module, tmp_path):
    sidecar = paths.REPO / "collection" / "plugins" / "modules" / f"{module}.yml"
    documented = set(yaml.safe_load(sidecar.read_text())["DOCUMENTATION"]["options"])
    args = tmp_path / "args"
    args.write_text(json.dumps({"no_such_option": 1}))
    out = subprocess.run([str(paths.COLLECTION / "plugins" / "modules" / module), str(args)],
                         capture_output=True, text=True)
    msg = json.loads(out.stdout)["msg"]
    accepted = {name.strip("` ") for name in msg.split("expected one of", 1)[1].split(",")}
    assert accepted == documented
    rendered = subprocess.run([str(paths.venv_bin("ansible-doc")), f"ocpdr.dr.{module}"],
                              env=ansible_env(), capture_output=True, text=True, check=True).stdout
    assert f"MODULE ocpdr.dr.{module}" in rendered
