"""resource_clean and pv_retarget from a real ansible-playbook, with the installed collection."""

from __future__ import annotations

import subprocess

from harness import paths
from harness.ansible import ansible_env, run_playbook

PLAYBOOK = paths.REPO / "tests" / "playbooks" / "transform.yml"


def test_transform_playbook(collection):
    run = run_playbook(PLAYBOOK).assert_ok()
    volumes = run.task("Retarget PVs")["volumes"]
    assert [v["pv"] for v in volumes] == ["nfs-pv-rhel9-vm-disk", "pvc-4bcbf944-b6f7-4bd0-b50f-3c3dd00efc64"]
    assert {v["dr_server"] for v in volumes} == {"nfs-dr.example.com"}


def test_transform_playbook_in_check_mode(collection):
    """Pure modules return the same results in check mode and report no change."""
    run = run_playbook(PLAYBOOK, check=True, diff=True).assert_ok()
    retargeted = run.task("Retarget PVs")
    assert retargeted["changed"] is False
    assert len(retargeted["resources"]) == 2
    # Diff mode shows each PV before and after.
    assert retargeted["diff"][0]["before_header"] == "PersistentVolume nfs-pv-rhel9-vm-disk (source)"
    assert "nfs-dr.example.com" in retargeted["diff"][0]["after"]
    assert "nfs-primary.example.com" in retargeted["diff"][0]["before"]


def test_ansible_doc_renders_the_sidecar(collection):
    out = subprocess.run(
        [str(paths.venv_bin("ansible-doc")), "ocpdr.dr.pv_retarget"],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "MODULE ocpdr.dr.pv_retarget" in out
    assert "dr_nfs_server" in out
    assert "path_map" in out
