"""The dr_storage_provisioner role end to end: two fake API servers (primary and DR), the
inventory of the primary, the role applying retargeted storage on DR, with real
ansible-playbook and the installed collection."""

from __future__ import annotations

import json

from harness import paths
from harness.ansible import run_playbook
from harness.apiserver import wait_until

PLAYBOOK = paths.REPO / "tests" / "playbooks" / "dr_storage_provisioner.yml"
# ansible-playbook names a role's tasks "<role> : <task>".
APPLY = "ocpdr.dr.dr_storage_provisioner : Apply the storage on the DR cluster, volumes before claims"
RECORD = "ocpdr.dr.dr_storage_provisioner : Record what was provisioned"


def nfs_pv(name: str, path: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
          "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"],
                   "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "nfs",
                   "nfs": {"server": "nfs-primary.example.com", "path": path}}}


def pvc(namespace: str, name: str, volume: str) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs", "volumeName": volume,
                     "resources": {"requests": {"storage": "10Gi"}}}}


def create(server, *objects: dict) -> None:
    server.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def get(server, path: str) -> dict | None:
    status, body = server.request("GET", path)
    return body if status == 200 else None


def seed_primary(primary) -> None:
    create(primary,
           *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in ("app1", "app2")))
    create(primary,
           nfs_pv("pv-app1-rhel9", "/exports/app1/rhel9-disk"),
           nfs_pv("pv-app2-win", "/exports/app2/win-disk"),
           pvc("app1", "rhel9-disk", "pv-app1-rhel9"),
           pvc("app2", "win-disk", "pv-app2-win"),
           # A pre-provisioned snapshot: its content names the snapshot handle on the storage.
           {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
            "metadata": {"name": "snap-app1-content"},
            "spec": {"deletionPolicy": "Retain", "driver": "nfs.csi.k8s.io",
                     "source": {"snapshotHandle": "nfs-primary#exports#snap-app1#snap-app1#pvc-app1"},
                     "volumeSnapshotRef": {"namespace": "app1", "name": "snap-app1"}}},
           {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": "snap-app1", "namespace": "app1"},
            "spec": {"source": {"volumeSnapshotContentName": "snap-app1-content"}}})
    wait_until("the primary's claims are bound and its snapshot ready", lambda: all(
        (get(primary, f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{n}") or {}).get("status", {}).get("phase") == "Bound"
        for ns, n in (("app1", "rhel9-disk"), ("app2", "win-disk"))
    ) and (get(primary, "/apis/snapshot.storage.k8s.io/v1/namespaces/app1/volumesnapshots/snap-app1") or {})
        .get("status", {}).get("readyToUse") is True)


def extra_vars(primary, dr) -> dict:
    return {"primary_kubeconfig": str(primary.kubeconfig), "dr_kubeconfig": str(dr.kubeconfig)}


def test_dr_storage_provisioner_end_to_end(collection, fake_apiserver):
    primary, dr = fake_apiserver(), fake_apiserver()
    seed_primary(primary)

    run = run_playbook(PLAYBOOK, extra_vars=extra_vars(primary, dr)).assert_ok()
    applied = run.task(APPLY)
    assert applied["changed"] is True
    assert applied["summary"] == {"created": 8, "updated": 0, "unchanged": 0}  # 6 objects + 2 namespaces

    # Every PV on DR mounts the DR NFS server at the mapped path, and keeps its data on delete.
    for name, path in (("pv-app1-rhel9", "/exports-dr/app1/rhel9-disk"), ("pv-app2-win", "/exports-dr/app2/win-disk")):
        pv = get(dr, f"/api/v1/persistentvolumes/{name}")
        assert pv["spec"]["nfs"] == {"server": "nfs-dr.example.com", "path": path}
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
        assert pv["status"]["phase"] == "Bound"
    # The role waited: claims bound on DR, the snapshot ready, bound to the content we applied.
    for ns, name in (("app1", "rhel9-disk"), ("app2", "win-disk")):
        assert get(dr, f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")["status"]["phase"] == "Bound"
    vs = get(dr, "/apis/snapshot.storage.k8s.io/v1/namespaces/app1/volumesnapshots/snap-app1")
    assert vs["status"]["readyToUse"] is True
    assert vs["status"]["boundVolumeSnapshotContentName"] == "snap-app1-content"
    # The content points at the DR copy of the snapshot archive, on the DR server.
    vsc = get(dr, "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/snap-app1-content")
    assert vsc["spec"]["source"]["snapshotHandle"] == "nfs-dr.example.com#exports-dr#snap-app1#snap-app1#pvc-app1"

    # The seed's order, as the DR server recorded the writes: volumes before claims.
    ranks = {"Namespace": 0, "PersistentVolume": 1, "VolumeSnapshotContent": 1,
             "PersistentVolumeClaim": 2, "VolumeSnapshot": 2}
    first_writes: list[str] = []
    for entry in dr.control("history")["items"]:
        key = f'{entry["kind"]}/{entry.get("namespace", "")}/{entry["name"]}'
        if entry["type"] == "ADDED" and entry["kind"] in ranks and key not in first_writes:
            first_writes.append(key)
    order = [ranks[k.split("/")[0]] for k in first_writes]
    assert order == sorted(order), first_writes

    provisioned = run.task(RECORD)["ansible_facts"]["dr_storage_provisioner_result"]
    assert sorted(v["dr_path"] for v in provisioned["volumes"]) == [
        "/exports-dr/app1/rhel9-disk", "/exports-dr/app2/win-disk"]

    # Run again: the DR cluster already matches.
    again = run_playbook(PLAYBOOK, extra_vars=extra_vars(primary, dr)).assert_ok()
    applied = again.task(APPLY)
    assert applied["changed"] is False
    assert applied["summary"] == {"created": 0, "updated": 0, "unchanged": 6}


def test_dr_storage_provisioner_in_check_mode_writes_nothing(collection, fake_apiserver):
    primary, dr = fake_apiserver(), fake_apiserver()
    seed_primary(primary)
    writes = len(dr.control("history")["items"])
    run = run_playbook(PLAYBOOK, extra_vars=extra_vars(primary, dr), check=True, diff=True).assert_ok()
    applied = run.task(APPLY)
    assert applied["changed"] is True
    assert applied["summary"]["created"] == 8
    assert "nfs-dr.example.com" in json.dumps(applied["diff"])
    assert len(dr.control("history")["items"]) == writes
    assert get(dr, "/api/v1/persistentvolumes/pv-app1-rhel9") is None
