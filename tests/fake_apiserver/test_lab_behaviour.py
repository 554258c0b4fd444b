"""What the lab relies on beyond the API itself: two independent instances, the controllers
(VM run strategy, Velero restores), extra resource types, persistence and the write log."""

from __future__ import annotations

import json

from harness.apiserver import FakeApiServer, wait_until

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm-a, namespace: default}
spec:
  runStrategy: %s
  template:
    metadata: {labels: {app: vm-a}}
    spec: {domain: {devices: {}}}
"""


def jsonpath(api, *target, path):
    return api.kubectl("get", *target, "-o", f"jsonpath={path}").stdout


def test_primary_and_dr_are_independent(fake_apiserver):
    primary, dr = fake_apiserver(), fake_apiserver()
    assert primary.port != dr.port
    primary.kubectl("create", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n")
    assert "namespace/apps" in primary.kubectl("get", "ns", "-o", "name").stdout.split()
    assert "namespace/apps" not in dr.kubectl("get", "ns", "-o", "name").stdout.split()


def test_vm_run_strategy_drives_the_vmi(fake_apiserver):
    api = fake_apiserver(args=["--vmi-ready-delay-ms", "100"])
    api.kubectl("apply", "-f", "-", input=VM % "Always")
    wait_until("the VM to run", lambda: jsonpath(api, "vm", "vm-a", path="{.status.printableStatus}") == "Running")
    assert jsonpath(api, "vm", "vm-a", path="{.status.ready}") == "true"
    assert jsonpath(api, "vmi", "vm-a", path="{.status.phase}") == "Running"
    assert jsonpath(api, "vmi", "vm-a", path="{.metadata.labels.app}") == "vm-a"

    api.kubectl("patch", "vm", "vm-a", "--type", "merge", "-p", '{"spec":{"runStrategy":"Halted"}}')
    wait_until("the VM to stop", lambda: jsonpath(api, "vm", "vm-a", path="{.status.printableStatus}") == "Stopped")
    assert api.kubectl("get", "vmi", "vm-a", check=False).returncode == 1


def test_restores_progress_to_the_configured_outcome(fake_apiserver):
    api = fake_apiserver(args=["--restore-phase-delay-ms", "50", "--restore-outcome", "PartiallyFailed"])
    restore = "apiVersion: velero.io/v1\nkind: Restore\nmetadata: {name: %s, namespace: default%s}\nspec: {backupName: b1}\n"
    api.kubectl("apply", "-f", "-", input=restore % ("r1", ""))
    failing = ", annotations: {fake-apiserver.ocpdr.io/restore-outcome: Failed}"
    api.kubectl("apply", "-f", "-", input=restore % ("r2", failing))
    wait_until("r1 to finish", lambda: jsonpath(api, "restore", "r1", path="{.status.phase}") == "PartiallyFailed")
    wait_until("r2 to finish", lambda: jsonpath(api, "restore", "r2", path="{.status.phase}") == "Failed")

    # The write log shows every phase, in order, for each restore.
    log = api.control("history")["items"]
    assert [e["seq"] for e in log] == list(range(1, len(log) + 1))
    versions = [int(e["resourceVersion"]) for e in log]
    assert versions == sorted(versions)
    r1 = [e["type"] for e in log if e["kind"] == "Restore" and e["name"] == "r1"]
    assert r1 == ["ADDED", "MODIFIED", "MODIFIED", "MODIFIED"]  # created, New, InProgress, outcome
    since = api.control("history?since=%d" % log[-1]["seq"])["items"]
    assert since == []


def test_resources_file_and_state_dir(tmp_path):
    resources = tmp_path / "resources.yaml"
    resources.write_text(
        "- {group: lab.ocpdr.io, version: v1, kind: Site, namespaced: false, shortNames: [site],"
        " printerColumns: [{name: Role, jsonPath: .spec.role}]}\n"
    )
    args = ["--resources", str(resources), "--state-dir", str(tmp_path / "state")]
    site = "apiVersion: lab.ocpdr.io/v1\nkind: Site\nmetadata: {name: dr}\nspec: {role: standby}\n"
    with FakeApiServer(tmp_path / "one", args=args) as api:
        api.kubectl("apply", "-f", "-", input=site)
        table = api.kubectl("get", "site").stdout.split("\n")
        assert table[0].split() == ["NAME", "ROLE", "AGE"] and table[1].split()[:2] == ["dr", "standby"]
        uid = jsonpath(api, "site", "dr", path="{.metadata.uid}")
    with FakeApiServer(tmp_path / "two", args=args) as api:
        kept = json.loads(api.kubectl("get", "site", "dr", "-o", "json").stdout)
        assert kept["metadata"]["uid"] == uid and kept["spec"]["role"] == "standby"
