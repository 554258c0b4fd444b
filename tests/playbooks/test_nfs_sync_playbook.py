"""nfs_sync from a real ansible-playbook, delegated to an inventory host that is a loopback sshd."""

from __future__ import annotations

import json
import subprocess

from harness import paths
from harness.ansible import ansible_env, run_playbook
from harness.trees import assert_same_tree, seed_volume

PLAYBOOK = paths.REPO / "tests" / "playbooks" / "nfs_sync.yml"


def nfs_pv(name: str, server: str, path: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "42"},
        "spec": {
            "capacity": {"storage": "4Mi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Delete",
            "nfs": {"server": server, "path": path},
            "claimRef": {"namespace": "app", "name": name.removeprefix("pv-")},
        },
    }


def fingerprint(key) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(key)], capture_output=True, text=True, check=True)
    return out.stdout.split()[1]


def test_sync_delegated_to_the_primary_pushes_with_its_own_key(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    for vm in ["vm-a", "vm-b"]:
        seed_volume(primary.export / "app" / vm, vm)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "nfs-primary": primary.inventory_host(),
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": str(paths.venv_bin("python")),
                        },
                    }
                }
            }
        )
    )
    run = run_playbook(
        PLAYBOOK,
        inventory=inventory,
        extra_vars={
            "pvs": [nfs_pv(f"pv-{vm}", "127.0.0.1", f"{primary.export}/app/{vm}") for vm in ["vm-a", "vm-b"]],
            "primary_export": str(primary.export),
            "dr_export": str(dr.export),
            "dr_port": dr.port,
            "primary_identity": str(primary.identity_key),
            "primary_known_hosts": str(primary.peer_known_hosts),
        },
    ).assert_ok()

    for vm in ["vm-a", "vm-b"]:
        assert_same_tree(primary.export / "app" / vm, dr.export / "app" / vm)
    synced = run.task("Sync the volumes")
    assert synced["volumes"][0]["destination"] == f"root@127.0.0.1:{dr.export}/app/vm-a"
    # Ansible reached the module through the primary's sshd with the controller's key, and the
    # module reached DR with the primary's own identity.
    assert "Accepted publickey for root from 127.0.0.1" in primary.log.read_text()
    assert fingerprint(primary.client_key) in primary.log.read_text()
    assert fingerprint(primary.identity_key) in dr.log.read_text()
    assert fingerprint(primary.client_key) not in dr.log.read_text()


def test_ansible_doc_renders_the_sidecar(collection):
    out = subprocess.run(
        [str(paths.venv_bin("ansible-doc")), "ocpdr.dr.nfs_sync"],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "MODULE ocpdr.dr.nfs_sync" in out
    for option in ["allowed_roots", "strict_host_key_checking", "extra_args", "--inplace"]:
        assert option in out, option
