"""The four kinds the forwarder watches, on the fake API server: builders for NFS
PersistentVolumes bound to a claim, PersistentVolumeClaims, VolumeSnapshots and
VolumeSnapshotContents bound to a snapshot; a client that creates, patches and deletes them over
the REST paths; and the server's own write log. Shared by the forwarder tests and benchmark."""

from __future__ import annotations

from dataclasses import dataclass

from harness.apiserver import FakeApiServer

SNAPSHOT = "snapshot.storage.k8s.io/v1"

# kind -> (collection path, namespaced)
PATHS = {
    "PersistentVolume": ("/api/v1/persistentvolumes", False),
    "PersistentVolumeClaim": ("/api/v1/namespaces/{ns}/persistentvolumeclaims", True),
    "VolumeSnapshot": (f"/apis/{SNAPSHOT}/namespaces/{{ns}}/volumesnapshots", True),
    "VolumeSnapshotContent": (f"/apis/{SNAPSHOT}/volumesnapshotcontents", False),
}
KINDS = list(PATHS)


def pv(name: str, claim_ns: str, claim: str) -> dict:
    """An NFS PersistentVolume bound to claim `claim_ns/claim`."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "nfs": {"server": "nfs-primary.example.com", "path": f"/exports/{claim_ns}/{claim}"},
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": claim_ns, "name": claim},
        },
    }


def pvc(ns: str, name: str, volume: str | None = None) -> dict:
    """A PersistentVolumeClaim, optionally naming its volume."""
    spec = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def vs(ns: str, name: str, claim: str) -> dict:
    """A VolumeSnapshot of claim `claim`."""
    return {
        "apiVersion": SNAPSHOT,
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"source": {"persistentVolumeClaimName": claim}, "volumeSnapshotClassName": "nfs-snap"},
    }


def vsc(name: str, snap_ns: str, snap: str) -> dict:
    """A VolumeSnapshotContent bound to snapshot `snap_ns/snap`."""
    return {
        "apiVersion": SNAPSHOT,
        "kind": "VolumeSnapshotContent",
        "metadata": {"name": name},
        "spec": {
            "deletionPolicy": "Retain",
            "driver": "nfs.csi.k8s.io",
            "source": {"snapshotHandle": f"nfs-primary#{snap}"},
            "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": snap_ns, "name": snap},
        },
    }


@dataclass
class Written:
    """One write as the API server answered it."""

    kind: str
    namespace: str | None
    name: str
    resource_version: str


class Kube:
    """Creates, patches and deletes objects of the four kinds on a fake API server (or anything
    with its `request(method, path, body, content_type)`)."""

    def __init__(self, server: FakeApiServer) -> None:
        self.server = server

    @staticmethod
    def path(kind: str, namespace: str | None, name: str | None = None) -> str:
        collection, namespaced = PATHS[kind]
        path = collection.format(ns=namespace) if namespaced else collection
        return f"{path}/{name}" if name else path

    def _call(self, method: str, path: str, body=None, content_type: str = "application/json") -> dict:
        status, result = self.server.request(method, path, body, content_type)
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {result}")
        return result

    def namespace(self, name: str) -> None:
        """Creates a namespace."""
        self._call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def create(self, obj: dict) -> Written:
        """Creates `obj`."""
        meta = obj["metadata"]
        created = self._call("POST", self.path(obj["kind"], meta.get("namespace")), obj)
        return self._written(created)

    def patch(self, kind: str, namespace: str | None, name: str, patch: dict, status: bool = False) -> Written:
        """Merge-patches an object (or its status subresource)."""
        path = self.path(kind, namespace, name) + ("/status" if status else "")
        return self._written(self._call("PATCH", path, patch, "application/merge-patch+json"))

    def label(self, kind: str, namespace: str | None, name: str, value: str) -> Written:
        """Sets the label `step` of an object: a MODIFIED."""
        return self.patch(kind, namespace, name, {"metadata": {"labels": {"step": value}}})

    def delete(self, kind: str, namespace: str | None, name: str) -> None:
        """Deletes an object."""
        self._call("DELETE", self.path(kind, namespace, name))

    @staticmethod
    def _written(obj: dict) -> Written:
        meta = obj["metadata"]
        return Written(obj["kind"], meta.get("namespace"), meta["name"], meta["resourceVersion"])

    def history(self, kinds=tuple(KINDS)) -> list[dict]:
        """The server's own ordered write log, for the given kinds."""
        return [entry for entry in self.server.control("history")["items"] if entry["kind"] in kinds]
