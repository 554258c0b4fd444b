"""The local DR lab, end to end, as a user meets it: `up` from nothing; every part answers
through the files `up` wrote (kubeconfigs, lab.env, ssh config, inventory); `up` again reuses
the lab or refuses other data, never starting a second set of servers; a lab with a part gone
is reported and refused; `down` leaves no process and no listening port behind.

The lab runs in a directory of its own (``--lab-dir``), so a developer's lab in build/lab is
never touched; scale 1 keeps it quick.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from harness import paths
from harness.ansible import run_playbook
from harness.apiserver import wait_until
from lab import components, processes
from lab.command import lab
from lab.layout import Layout
from lab.state import LabState

SEED, SCALE = 3, 1
PLAYBOOK = Path(__file__).with_name("lab_reach.yml")


def lab_processes(lab_dir: Path) -> set[int]:
    """Live processes whose command line names the lab directory (sshd, the API servers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and str(lab_dir) in cmdline:
            found.add(int(entry.name))
    return found


class Lab(NamedTuple):
    layout: Layout
    state: LabState
    output: str


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lab") / "lab"


@pytest.fixture(scope="module")
def running(lab_dir, collection):
    """A lab brought up from nothing; stopped at the end whatever the tests did to it."""
    up = lab(lab_dir, "up", "--seed", str(SEED), "--scale", str(SCALE))
    assert up.returncode == 0, up.stdout + up.stderr
    layout = Layout(lab_dir)
    yield Lab(layout, LabState.load(layout), up.stdout)
    lab(lab_dir, "down")


def secrets_of(layout: Layout) -> list[str]:
    return [f.read_text().strip() for f in layout.secrets.iterdir() if f.name != "s3-credentials"]


def test_up_starts_every_part_and_says_how_to_reach_it(running):
    state, out = running.state, running.output
    assert state.ready and (state.seed, state.scale) == (SEED, SCALE)
    assert [p.name for p in state.processes] == [
        "sshd-primary",
        "sshd-dr",
        "s3",
        "apiserver-primary",
        "apiserver-dr",
    ]
    for proc in state.processes:
        assert processes.running(proc.pid, proc.started) and processes.listening(proc.host, proc.port), proc
    for where in (state.clusters["primary"]["url"], state.clusters["dr"]["url"], state.s3["endpoint"]):
        assert where in out
    assert "kubectl --context primary" in out and "ssh -F" in out and "ansible" in out
    assert f"{state.sites['dr']['host']}:{state.sites['dr']['port']}" in out
    for secret in secrets_of(running.layout):
        assert secret not in out, "a token or key was printed"
    for private in (running.layout.env_file, *running.layout.secrets.iterdir()):
        assert private.stat().st_mode & 0o077 == 0, f"{private} is readable by others"


def test_kubectl_reaches_both_clusters_with_the_generated_kubeconfigs(running):
    primary = components.api_server(running.layout, running.state, "primary")
    dr = components.api_server(running.layout, running.state, "dr")
    vms = json.loads(primary.kubectl("get", "vm", "-A", "-o", "json").stdout)["items"]
    assert sorted((v["metadata"]["namespace"], v["metadata"]["name"]) for v in vms) == [
        ("app-ns1", "vm-0"),
        ("app-ns2", "vm-0"),
    ]
    assert {v["spec"]["runStrategy"] for v in vms} == {"Always"}
    assert {v["status"]["printableStatus"] for v in vms} == {"Running"}
    names = dr.kubectl("get", "ns", "-o", "name").stdout.split()
    assert "namespace/openshift-adp" in names and not any("app-ns" in n for n in names)
    # Without the token the API refuses: the token is what authenticates.
    primary.token = None
    assert primary.request("GET", "/api/v1/namespaces")[0] == 401


def test_the_env_file_points_a_shell_at_every_part(running):
    script = """
        set -e
        . "$1"
        kubectl --context primary get vs -n app-ns2 -o name
        kubectl --context dr get bsl -n openshift-adp -o jsonpath='{.items[0].status.phase}'; echo
        ssh -F "$OCPDR_LAB_SSH_CONFIG" dr_nfs_server test -d "$OCPDR_LAB_DR_EXPORT" && echo dr-export-ok
        python -c 'import boto3, os; print(boto3.client("s3").list_objects_v2(
            Bucket=os.environ["OCPDR_LAB_S3_BUCKET"])["KeyCount"], "objects")'
        ansible-inventory --list | python -c 'import json, sys; print(sorted(json.load(sys.stdin)["nfs"]["children"]))'
    """
    done = subprocess.run(
        ["bash", "-c", script, "lab.env", str(running.layout.env_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "volumesnapshot.snapshot.storage.k8s.io/vm-0-rootdisk-snap"
    assert lines[1] == "Available"
    assert lines[2] == "dr-export-ok"
    assert lines[3] == "4 objects"  # two backups, each a tarball and velero-backup.json
    assert lines[4] == "['nfs_dr', 'nfs_primary']"


def test_each_site_answers_ssh_and_the_sites_sync_with_the_replication_key(running):
    layout, state = running.layout, running.state
    primary, dr = (components.site(layout, state, n) for n in ("primary", "dr"))
    assert primary.run(["test", "-d", str(primary.export)]).returncode == 0
    assert dr.run(["test", "-d", str(dr.export)]).returncode == 0
    contract = yaml.safe_load(layout.group_vars.read_text())

    def remote(peer: str, path: str) -> tuple[str, str]:
        """(rsync -e value, remote spec) for reaching `peer` as nfs_sync_ssh and nfs_sync_peer say."""
        ssh, where = contract["nfs_sync_ssh"], contract["nfs_sync_peer"][peer]
        rsh = (
            f"ssh -p {where['port']} -i {ssh['identity_file']} -o IdentitiesOnly=yes -o BatchMode=yes "
            f"-o UserKnownHostsFile={ssh['known_hosts_file']} -o StrictHostKeyChecking=yes"
        )
        return rsh, f"{ssh['user']}@{where['host']}:{path}"

    volume = "app-ns1/web-data"
    # Push: rsync runs on the primary and sends to DR.
    rsh, dest = remote("dr", f"{dr.export}/pushed/")
    primary.run(["rsync", "-a", "-e", rsh, f"{primary.export}/{volume}/", dest])
    # Pull (the failover's final sync): rsync runs on DR and fetches from the primary.
    rsh, src = remote("primary", f"{primary.export}/{volume}/")
    dr.run(["rsync", "-a", "-e", rsh, src, f"{dr.export}/pulled/"])
    original = (Path(primary.export) / volume / "data.bin").read_bytes()
    for copy in ("pushed", "pulled"):
        assert (Path(dr.export) / copy / "data.bin").read_bytes() == original
        assert (Path(dr.export) / copy / "current").readlink() == Path("conf")


def test_ansible_reaches_the_nfs_hosts_over_ssh_with_the_generated_inventory(running):
    layout = running.layout
    run = run_playbook(PLAYBOOK, inventory=layout.hosts, env={"ANSIBLE_CONFIG": str(layout.ansible_cfg)})
    run.assert_ok()
    for host in ("primary_nfs_server", "dr_nfs_server"):
        assert run.task("Ping", host)["ping"] == "pong"
        assert run.task("Report how the host is reached", host)["msg"] == "ssh"
    assert run.task("Report how the host is reached", "localhost")["msg"] == "local"
    for site in ("primary", "dr"):
        log = (layout.site(site) / "ssh" / "sshd.log").read_text()
        assert "Accepted publickey for root" in log
    # The auth dicts work as they are (token and CA from the lab's files); the token stays hidden.
    assert not run.task("Check both clusters answered with their namespaces", "localhost").get("failed")
    for secret in secrets_of(layout):
        assert secret not in run.stdout + json.dumps(run.results)
    # oadp_s3 works as it is: the collection finds the newest usable backup.
    found = run.task("Find the newest usable backup", "localhost")
    newest = running.state.backups[0]
    assert (found["backup"]["name"], found["backup"]["phase"]) == (newest["name"], "Completed")
    assert len(found["pv_info_list"]) == 2 * SCALE + 1


def test_the_generated_group_vars_set_every_variable_of_the_contract(running):
    production = yaml.safe_load((paths.REPO / "inventory" / "group_vars" / "all.yml").read_text())
    generated = yaml.safe_load(running.layout.group_vars.read_text())
    assert list(generated) == list(production)
    for name in ("ocp_primary_auth", "ocp_dr_auth", "oadp_s3", "nfs_sync_ssh", "nfs_sync_peer"):
        assert set(generated[name]) >= {k for k in production[name] if not k.startswith("ca_")}, name
    for site in ("primary", "dr"):
        assert set(generated["nfs_sync_peer"][site]) == set(production["nfs_sync_peer"][site])
    text = running.layout.group_vars.read_text()
    for secret in secrets_of(running.layout):
        assert secret not in text


def test_s3_holds_the_two_backups_as_oadp_lays_them_out(running):
    state = running.state
    s3 = components.s3(running.layout, state).client()
    prefix = f"{state.s3['prefix']}/backups/"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=state.s3["bucket"], Prefix=prefix)["Contents"])
    names = [b["name"] for b in state.backups]
    assert keys == sorted(f"{prefix}{n}/{f}" for n in names for f in ("velero-backup.json", f"{n}.tar.gz"))
    phases = {}
    for name in names:
        body = s3.get_object(Bucket=state.s3["bucket"], Key=f"{prefix}{name}/velero-backup.json")[
            "Body"
        ].read()
        cr = json.loads(body)
        phases[name] = (cr["status"]["phase"], cr["status"]["startTimestamp"])
        assert cr["spec"]["includedNamespaces"] == ["app-ns1", "app-ns2"]
        assert cr["metadata"]["labels"]["velero.io/schedule-name"] == "nightly"
    newest = max(phases, key=lambda n: phases[n][1])
    assert phases[newest][0] == "Completed"
    assert sorted(p for p, _ in phases.values()) == ["Completed", "PartiallyFailed"]


def test_the_primary_holds_the_seed(running):
    cluster = components.cluster(running.layout, running.state, "primary")
    export = running.state.sites["primary"]["export"]

    def phases(api_version, kind, path=("status", "phase")):
        out = []
        for item in cluster.list(api_version, kind):
            value = item
            for key in path:
                value = value.get(key, {}) if isinstance(value, dict) else None
            out.append(value)
        return out

    vms = 2 * SCALE
    assert {n["metadata"]["name"] for n in cluster.list("v1", "Namespace")} >= {
        "app-ns1",
        "app-ns2",
        "other-ns",
    }
    assert phases("v1", "PersistentVolume") == ["Bound"] * (vms + 2)
    assert phases("v1", "PersistentVolumeClaim") == ["Bound"] * (vms + 2)
    assert phases("cdi.kubevirt.io/v1beta1", "DataVolume") == ["Succeeded"] * vms
    assert phases("kubevirt.io/v1", "VirtualMachineInstance") == ["Running"] * vms
    assert phases("snapshot.storage.k8s.io/v1", "VolumeSnapshot", ("status", "readyToUse")) == [True]
    assert len(cluster.list("apps/v1", "Deployment")) == 3
    assert {c["metadata"]["name"] for c in cluster.list("storage.k8s.io/v1", "StorageClass")} == {
        "nfs-static",
        "nfs-csi",
    }
    sources = []
    for pv in cluster.list("v1", "PersistentVolume"):
        if "nfs" in pv["spec"]:
            sources.append(("nfs", pv["spec"]["nfs"]["server"], pv["spec"]["nfs"]["path"]))
        else:
            attrs = pv["spec"]["csi"]["volumeAttributes"]
            assert pv["spec"]["csi"]["driver"] == "nfs.csi.k8s.io"
            sources.append(("csi", attrs["server"], f"{attrs['share']}/{attrs['subdir']}"))
    assert {kind for kind, _, _ in sources} == {"nfs", "csi"}
    for _, server, path in sources:
        assert server == running.state.sites["primary"]["host"]
        assert path.startswith(export + "/") and Path(path).is_dir(), path


def test_the_primary_export_holds_every_volume_s_files(running):
    layout, state = running.layout, running.state
    primary = components.site(layout, state, "primary")
    volumes = json.loads((layout.seed / "volumes.json").read_text())
    for v in volumes:
        if v["content"] == "disk":
            size, blocks, owner = primary.run(
                ["stat", "-c", "%s %b %u:%g", f"{v['path']}/disk.img"]
            ).stdout.split()
            assert int(size) == 64 << 20 and int(blocks) * 512 < int(size) // 8, "not a sparse disk image"
            assert owner == "107:107"
        else:
            listed = primary.run(["find", v["path"], "-mindepth", "1", "-printf", "%P %y\n"]).stdout.split(
                "\n"
            )
            assert {
                "index.html f",
                "conf/app.yaml f",
                "data.bin f",
                "current l",
                "static/index.html f",
            } <= set(listed)
    # The CSI snapshot's archive, where csi-driver-nfs keeps it, holds the disk image.
    cluster = components.cluster(layout, state, "primary")
    handle = cluster.list("snapshot.storage.k8s.io/v1", "VolumeSnapshotContent")[0]["status"][
        "snapshotHandle"
    ]
    _, share, name, directory, src = handle.split("#")
    listing = primary.run(["tar", "-tzf", f"/{share}/{directory}/{src}.tar.gz"]).stdout.split()
    assert "./disk.img" in listing and name == directory


def test_dr_starts_with_what_oadp_installs_and_no_workload(running):
    cluster = components.cluster(running.layout, running.state, "dr")
    for api_version, kind in (
        ("v1", "PersistentVolume"),
        ("v1", "PersistentVolumeClaim"),
        ("kubevirt.io/v1", "VirtualMachine"),
        ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
    ):
        assert cluster.list(api_version, kind) == [], kind
    bsl = cluster.get("velero.io/v1", "BackupStorageLocation", "dpa-sample-1", "openshift-adp")
    assert bsl["status"]["phase"] == "Available"
    assert bsl["spec"]["objectStorage"] == {
        "bucket": running.state.s3["bucket"],
        "prefix": running.state.s3["prefix"],
    }
    backups = cluster.list("velero.io/v1", "Backup", "openshift-adp")
    assert sorted(b["status"]["phase"] for b in backups) == ["Completed", "PartiallyFailed"]
    csi = cluster.get("storage.k8s.io/v1", "StorageClass", "nfs-csi")
    assert csi["parameters"]["server"] == running.state.sites["dr"]["host"]


def test_a_restore_on_dr_brings_back_the_backed_up_vms(running):
    """What an OADP failover relies on: DR's Velero restores what the newest backup's tarball
    holds, filtered as the failover's Restore filters it, and the restored VMs start."""
    dr = components.cluster(running.layout, running.state, "dr")
    primary = components.cluster(running.layout, running.state, "primary")
    registered = dr.call("GET", "/_fake/backups")["items"]
    assert registered == sorted(
        ({"name": b["name"], "items": b["items"]} for b in running.state.backups), key=lambda b: b["name"]
    )
    newest = running.state.backups[0]["name"]
    dr.create(
        {
            "apiVersion": "velero.io/v1",
            "kind": "Restore",
            "metadata": {"name": f"check-{newest}", "namespace": "openshift-adp"},
            "spec": {
                "backupName": newest,
                "includedNamespaces": ["app-ns1"],
                "excludedResources": [
                    "persistentvolumes", "persistentvolumeclaims",
                    "volumesnapshots", "volumesnapshotcontents",
                ],
            },
        }
    )  # fmt: skip

    def finished():
        restore = dr.get("velero.io/v1", "Restore", f"check-{newest}", "openshift-adp")
        return (
            restore
            if restore.get("status", {}).get("phase") in ("Completed", "PartiallyFailed", "Failed")
            else None
        )

    done = wait_until("the restore to finish", finished)
    assert done["status"]["phase"] == "Completed" and done["status"]["progress"]["itemsRestored"] > 0
    backed_up = sorted(
        vm["metadata"]["name"] for vm in primary.list("kubevirt.io/v1", "VirtualMachine", "app-ns1")
    )
    assert backed_up
    wait_until(
        "the restored VMs to run",
        lambda: sorted(
            vm["metadata"]["name"]
            for vm in dr.list("kubevirt.io/v1", "VirtualMachine", "app-ns1")
            if vm.get("status", {}).get("printableStatus") == "Running"
        )
        == backed_up,
    )
    assert dr.list("v1", "PersistentVolumeClaim", "app-ns1") == []
    assert dr.list("kubevirt.io/v1", "VirtualMachine", "app-ns2") == []


def test_up_again_reuses_the_running_lab(running, lab_dir):
    before = lab_processes(lab_dir)
    again = lab(lab_dir, "up")
    assert again.returncode == 0, again.stderr
    assert "Reusing the lab" in again.stdout
    assert lab_processes(lab_dir) == before
    assert LabState.load(running.layout).processes == running.state.processes


def test_up_with_other_data_is_refused(running, lab_dir):
    before = lab_processes(lab_dir)
    refused = lab(lab_dir, "up", "--seed", str(SEED + 1))
    assert refused.returncode == 1
    assert f"seed {SEED} (asked {SEED + 1})" in refused.stderr and "make lab-down" in refused.stderr
    assert lab_processes(lab_dir) == before


def test_a_lab_with_a_part_gone_is_reported_and_refused(running, lab_dir):
    s3 = running.state.process("s3")
    assert processes.terminate({s3.pid: s3.started}) == []
    status = lab(lab_dir, "status")
    assert status.returncode == 1
    assert "FAIL s3" in status.stdout and f"process {s3.pid} is not running" in status.stdout
    refused = lab(lab_dir, "up")
    assert refused.returncode == 1 and "not healthy" in refused.stderr


def test_down_leaves_no_process_and_no_port(running, lab_dir):
    down = lab(lab_dir, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    for proc in running.state.processes:
        assert not processes.running(proc.pid, proc.started), proc
        assert not processes.listening(proc.host, proc.port), proc
    assert lab_processes(lab_dir) == set()
    assert not lab_dir.exists()
    assert lab(lab_dir, "status").returncode == 1


def test_a_lab_whose_processes_all_died_is_replaced(tmp_path, collection):
    lab_dir = tmp_path / "lab"
    assert lab(lab_dir, "up", "--scale", "1").returncode == 0
    try:
        first = LabState.load(Layout(lab_dir))
        processes.terminate({p.pid: p.started for p in first.processes})
        again = lab(lab_dir, "up", "--scale", "1")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "is gone" in again.stdout
        second = LabState.load(Layout(lab_dir))
        assert {p.pid for p in second.processes}.isdisjoint(p.pid for p in first.processes)
        assert lab(lab_dir, "status").returncode == 0
    finally:
        assert lab(lab_dir, "down").returncode == 0
