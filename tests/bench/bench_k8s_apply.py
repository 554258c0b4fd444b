"""Benchmark: apply N PV/PVC pairs to a DR cluster and inventory them, ocpdr vs kubernetes.core.

Both sides run as real ansible-playbook (the same ansible-core, from the bench venv) against the
same fake API server (release build), one after the other in one run, each into its own
namespace and PV names:

- ocpdr:           one `ocpdr.dr.k8s_apply` task (+ one `ocpdr.dr.k8s_inventory` task);
- kubernetes.core: the seed's way, `kubernetes.core.k8s` in a loop over the objects
                   (+ `kubernetes.core.k8s_info` for the claims and the volumes).

Usage (from the repository root, after `make collection`):

    python3 tests/bench/bench_k8s_apply.py [--pairs 500]

It creates build/bench-venv from tests/bench/requirements.txt when missing and prints one JSON
line with the wall-clock seconds of each side and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from harness import paths  # noqa: E402
from harness.apiserver import FakeApiServer, binary  # noqa: E402
from harness.bench_venv import bench_venv  # noqa: E402


OCPDR_PLAYBOOK = """
- name: ocpdr - one k8s_apply task, then the inventory
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply
      ocpdr.dr.k8s_apply:
        resources: "{{ lookup('ansible.builtin.file', objects_file) | from_json }}"
        kubeconfig: "{{ kubeconfig }}"
    - name: Inventory
      ocpdr.dr.k8s_inventory:
        namespaces: ["{{ namespace }}"]
        kinds: [PersistentVolumeClaim, PersistentVolume]
        kubeconfig: "{{ kubeconfig }}"
      register: inventory
    - name: Check
      ansible.builtin.assert:
        that: inventory.pairs | length == pairs | int
"""

KUBERNETES_CORE_PLAYBOOK = """
- name: kubernetes.core - k8s in a loop, then k8s_info
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply
      kubernetes.core.k8s:
        state: present
        definition: "{{ item }}"
        kubeconfig: "{{ kubeconfig }}"
      loop: "{{ lookup('ansible.builtin.file', objects_file) | from_json }}"
      loop_control:
        label: "{{ item.kind }} {{ item.metadata.name }}"
    - name: Inventory claims
      kubernetes.core.k8s_info:
        kind: PersistentVolumeClaim
        namespace: "{{ namespace }}"
        kubeconfig: "{{ kubeconfig }}"
      register: claims
    - name: Inventory volumes
      kubernetes.core.k8s_info:
        kind: PersistentVolume
        kubeconfig: "{{ kubeconfig }}"
      register: volumes
    - name: Check
      ansible.builtin.assert:
        that: claims.resources | length == pairs | int
"""


def objects(prefix: str, namespace: str, pairs: int) -> list[dict]:
    """`pairs` NFS PVs, then their PVCs (PVs first: the loop applies in the order given)."""
    pvs, pvcs = [], []
    for i in range(pairs):
        pv_name = f"{prefix}-pv-{i:04d}"
        pvs.append({"apiVersion": "v1", "kind": "PersistentVolume",
                    "metadata": {"name": pv_name, "labels": {"bench": prefix}},
                    "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"],
                             "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "nfs",
                             "nfs": {"server": "nfs-dr.example.com", "path": f"/exports-dr/{namespace}/disk-{i:04d}"}}})
        pvcs.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": f"disk-{i:04d}", "namespace": namespace},
                     "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs", "volumeName": pv_name,
                              "resources": {"requests": {"storage": "10Gi"}}}})
    return pvs + pvcs


def run_side(venv: Path, playbook_text: str, server: FakeApiServer, work: Path, prefix: str, pairs: int) -> float:
    namespace = f"bench-{prefix}"
    server.kubectl("create", "namespace", namespace)
    objects_file = work / f"{prefix}-objects.json"
    objects_file.write_text(json.dumps(objects(prefix, namespace, pairs)))
    playbook = work / f"{prefix}.yml"
    playbook.write_text(playbook_text)
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(paths.COLLECTIONS), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
                "ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python")})
    cmd = [str(venv / "bin" / "ansible-playbook"), "-i", "localhost,", str(playbook),
           "-e", json.dumps({"kubeconfig": str(server.kubeconfig), "objects_file": str(objects_file),
                             "namespace": namespace, "pairs": pairs})]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{prefix} run failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500, help="PV/PVC pairs per side (default 500)")
    args = parser.parse_args()
    if not (paths.COLLECTION / "plugins" / "modules" / "k8s_apply").exists():
        raise SystemExit("build the collection first: make collection")
    venv = bench_venv()
    with tempfile.TemporaryDirectory(prefix="ocpdr-bench-") as tmp:
        work = Path(tmp)
        with FakeApiServer(work / "dr", binary_path=binary("release")) as server:
            ocpdr = run_side(venv, OCPDR_PLAYBOOK, server, work, "ocpdr", args.pairs)
            kcore = run_side(venv, KUBERNETES_CORE_PLAYBOOK, server, work, "kcore", args.pairs)
    print(json.dumps({
        "pairs": args.pairs, "objects_per_side": 2 * args.pairs,
        "ocpdr_k8s_apply_s": round(ocpdr, 1), "kubernetes_core_loop_s": round(kcore, 1),
        "ratio": round(kcore / ocpdr, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }))


if __name__ == "__main__":
    main()
