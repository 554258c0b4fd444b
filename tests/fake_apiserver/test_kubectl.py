"""The fake API server checked with real kubectl: the system one (1.32) and Debian's 1.20.

What a user types: apply (client-side, validation on, and --server-side), get, patch, label,
delete, `get -w` seeing live ADDED/MODIFIED/DELETED for PVs, PVCs and VolumeSnapshots, and
the errors kubectl prints for conflicts, missing objects, bad tokens and unknown types.
"""

from __future__ import annotations

import queue
import subprocess
import threading

import pytest

from harness.apiserver import kubectl_binaries, wait_until

KUBECTLS = kubectl_binaries()

MANIFEST = """
apiVersion: v1
kind: PersistentVolume
metadata:
  name: pv-a
  labels: {site: primary}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  nfs: {server: nfs-a.example.com, path: /exports/pv-a}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: disk-a, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  storageClassName: ""
  volumeName: pv-a
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap-a, namespace: default}
spec:
  source: {persistentVolumeClaimName: disk-a}
"""


@pytest.fixture(params=sorted(KUBECTLS), ids=sorted(KUBECTLS))
def kubectl(request):
    """Each kubectl binary in turn; a missing one fails (make setup installs both)."""
    path = KUBECTLS[request.param]
    assert path.exists(), f"{path} missing: run `make setup`"
    return path


def test_kubectl_apply_get_patch_label_delete(kubectl, fake_apiserver, tmp_path):
    api = fake_apiserver()
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(MANIFEST)

    out = api.kubectl("apply", "-f", str(manifest), kubectl=kubectl).stdout
    assert "persistentvolume/pv-a created" in out
    assert "volumesnapshot.snapshot.storage.k8s.io/snap-a created" in out
    wait_until(
        "the PVC to bind",
        lambda: api.kubectl("get", "pvc", "disk-a", "-o", "jsonpath={.status.phase}", kubectl=kubectl).stdout == "Bound",
    )
    table = api.kubectl("get", "pv", kubectl=kubectl).stdout
    assert table.split("\n")[0].split()[:2] == ["NAME", "CAPACITY"]
    assert "pv-a" in table and "Bound" in table

    # Client-side apply of a change is a patch computed by kubectl; unchanged objects stay so.
    out = api.kubectl("apply", "-f", "-", kubectl=kubectl, input=MANIFEST.replace("site: primary", "site: dr")).stdout
    assert "persistentvolume/pv-a configured" in out
    assert "persistentvolumeclaim/disk-a unchanged" in out
    assert api.kubectl("get", "pv", "-l", "site=dr", "-o", "name", kubectl=kubectl).stdout.split() == ["persistentvolume/pv-a"]

    # Server-side apply of the values client-side apply set: shared ownership, no conflict.
    dr_manifest = MANIFEST.replace("site: primary", "site: dr")
    out = api.kubectl("apply", "--server-side", "-f", "-", kubectl=kubectl, input=dr_manifest).stdout
    assert "persistentvolume/pv-a serverside-applied" in out

    api.kubectl("patch", "pv", "pv-a", "-p", '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}', kubectl=kubectl)
    api.kubectl("patch", "volumesnapshot", "snap-a", "--type", "merge", "-p", '{"metadata":{"labels":{"kept":"yes"}}}', kubectl=kubectl)
    api.kubectl("label", "pvc", "disk-a", "tier=gold", kubectl=kubectl)
    jsonpath = "{.spec.persistentVolumeReclaimPolicy}"
    assert api.kubectl("get", "pv", "pv-a", "-o", f"jsonpath={jsonpath}", kubectl=kubectl).stdout == "Delete"
    assert api.kubectl("get", "vs", "-l", "kept=yes", "-o", "name", kubectl=kubectl).stdout.strip() == "volumesnapshot.snapshot.storage.k8s.io/snap-a"
    assert api.kubectl("get", "pvc", "-l", "tier=gold", "-o", "name", kubectl=kubectl).stdout.strip() == "persistentvolumeclaim/disk-a"

    api.kubectl("delete", "-f", str(manifest), kubectl=kubectl)
    gone = api.kubectl("get", "pv", "pv-a", kubectl=kubectl, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


class Watch:
    """`kubectl get KIND -w --output-watch-events` in the background, lines in a queue."""

    def __init__(self, api, kubectl, kind: str) -> None:
        cmd = [str(kubectl), "--kubeconfig", str(api.kubeconfig), "--cache-dir", str(api.workdir / "kube-cache")]
        cmd += ["get", kind, "-w", "--output-watch-events", "--no-headers"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def next(self) -> tuple[str, str]:
        """The next (EVENT, NAME) pair."""
        try:
            line = self.lines.get(timeout=15)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"no watch event within 15 s; stderr: {self.proc.stderr.read()}") from None
        event, name = line.split()[:2]
        return event, name

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


WATCHED = {
    "pv": ("persistentvolumes", {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                          "nfs": {"server": "nfs-a", "path": "/x"}}}),
    "pvc": ("namespaces/default/persistentvolumeclaims", {"spec": {"accessModes": ["ReadWriteOnce"],
                                                                    "resources": {"requests": {"storage": "1Gi"}}}}),
    "volumesnapshot": ("namespaces/default/volumesnapshots", {"spec": {"source": {"persistentVolumeClaimName": "x"}}}),
}


@pytest.mark.parametrize("kind", sorted(WATCHED))
def test_kubectl_get_watch_sees_live_events(kubectl, fake_apiserver, kind):
    api = fake_apiserver(args=["--no-controllers"])
    path, body = WATCHED[kind]
    prefix = "/api/v1/" if kind != "volumesnapshot" else "/apis/snapshot.storage.k8s.io/v1/"
    first = {"metadata": {"name": "first"}, **body}
    assert api.request("POST", prefix + path, first)[0] == 201

    watch = Watch(api, kubectl, kind)
    try:
        assert watch.next() == ("ADDED", "first"), "the watch lists existing objects first"
        assert api.request("POST", prefix + path, {"metadata": {"name": "second"}, **body})[0] == 201
        api.kubectl("label", kind, "second", "step=two", kubectl=kubectl)
        api.kubectl("delete", kind, "second", kubectl=kubectl)
        assert [watch.next() for _ in range(3)] == [("ADDED", "second"), ("MODIFIED", "second"), ("DELETED", "second")]
    finally:
        watch.close()


def test_kubectl_server_side_apply_conflicts_need_force(kubectl, fake_apiserver):
    api = fake_apiserver()
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default}\ndata: {mode: %s}\n"
    api.kubectl("apply", "--server-side", "--field-manager=ops", "-f", "-", kubectl=kubectl, input=cm % "fast")

    other = api.kubectl("apply", "--server-side", "--field-manager=dr", "-f", "-", kubectl=kubectl, input=cm % "safe", check=False)
    assert other.returncode != 0
    assert "conflict" in other.stderr.lower() and "ops" in other.stderr and ".data.mode" in other.stderr

    api.kubectl("apply", "--server-side", "--field-manager=dr", "--force-conflicts", "-f", "-", kubectl=kubectl, input=cm % "safe")
    assert api.kubectl("get", "cm", "settings", "-o", "jsonpath={.data.mode}", kubectl=kubectl).stdout == "safe"


def test_kubectl_reports_the_real_errors(kubectl, fake_apiserver):
    api = fake_apiserver(token="lab-token")
    ok = api.kubectl("get", "namespaces", "-o", "name", kubectl=kubectl).stdout.split()
    assert "namespace/default" in ok

    missing = api.kubectl("get", "pv", "nope", kubectl=kubectl, check=False)
    assert missing.returncode == 1
    assert 'Error from server (NotFound): persistentvolumes "nope" not found' in missing.stderr

    unknown = api.kubectl("get", "widgets", kubectl=kubectl, check=False)
    assert unknown.returncode == 1 and 'the server doesn\'t have a resource type "widgets"' in unknown.stderr

    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n"
    api.kubectl("create", "-f", "-", kubectl=kubectl, input=cm)
    dup = api.kubectl("create", "-f", "-", kubectl=kubectl, input=cm, check=False)
    assert "AlreadyExists" in dup.stderr

    bad_config = api.workdir / "bad-kubeconfig"
    bad_config.write_text(api.kubeconfig.read_text().replace("lab-token", "wrong-token"))
    bad = subprocess.run(
        [str(kubectl), "--kubeconfig", str(bad_config), "--cache-dir", str(api.workdir / "bad-cache"), "get", "pv"],
        capture_output=True, text=True, timeout=60,
    )
    assert bad.returncode == 1 and "You must be logged in to the server" in bad.stderr
    assert "wrong-token" not in bad.stderr and "lab-token" not in bad.stderr


def test_kubectl_create_generators(kubectl, fake_apiserver):
    """`kubectl create namespace|configmap|secret` (protobuf bodies from kubectl 1.32)."""
    api = fake_apiserver()
    api.kubectl("create", "namespace", "lab", kubectl=kubectl)
    api.kubectl("create", "configmap", "cfg", "-n", "lab", "--from-literal=mode=dr", kubectl=kubectl)
    api.kubectl("create", "secret", "generic", "creds", "-n", "lab", "--from-literal=user=ops", kubectl=kubectl)
    assert api.kubectl("get", "ns", "lab", "-o", "jsonpath={.status.phase}", kubectl=kubectl).stdout == "Active"
    assert api.kubectl("get", "cm", "cfg", "-n", "lab", "-o", "jsonpath={.data.mode}", kubectl=kubectl).stdout == "dr"
    assert api.kubectl("get", "secret", "creds", "-n", "lab", "-o", "jsonpath={.data.user}", kubectl=kubectl).stdout == "b3Bz"
