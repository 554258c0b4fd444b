"""ocpdr.dr.nfs_sync against real rsync over real sshd.

The module binary runs here as it would on the primary NFS server (push): sources are local
directories of the primary site's export, destinations are ``root@127.0.0.1:<DR export>/...``
reached through the DR site's sshd with the primary's own key and known_hosts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.modules import module_path, run_module, write_args
from harness.trees import UNICODE_NAME, allocated_bytes, assert_same_tree, seed_volume

VOLUMES = ["vm-a", "vm-b", "vm-c"]


def push_args(sites, names=VOLUMES, **extra) -> dict:
    """nfs_sync options for pushing `names` from the primary to DR, as run on the primary."""
    primary, dr = sites
    return {
        "volumes": [
            {"name": n, "source": str(primary.export / n), "destination": dr.url(dr.export / "ns" / n)}
            for n in names
        ],
        "ssh": dr.sync_ssh_options(peer=primary),
        "allowed_roots": [str(dr.export)],
        **extra,
    }


def by_name(result: dict) -> dict[str, dict]:
    return {v["name"]: v for v in result["volumes"]}


@pytest.fixture
def seeded(nfs_sites):
    for name in VOLUMES:
        seed_volume(nfs_sites.primary.export / name, name)
    return nfs_sites


def test_sync_is_exact_then_idempotent_then_incremental(collection, seeded):
    primary, dr = seeded
    first = run_module("nfs_sync", push_args(seeded, concurrency=2))
    assert first["rc"] == 0, first
    assert first["changed"] is True
    assert first["failed_volumes"] == []
    for name in VOLUMES:
        assert_same_tree(primary.export / name, dr.export / "ns" / name)
        disk = dr.export / "ns" / name / "disk.img"
        # Sparse stays sparse: only the two data extents are allocated, not 4 MiB of zeros.
        assert allocated_bytes(disk) <= allocated_bytes(primary.export / name / "disk.img") + 8192
        assert allocated_bytes(disk) < disk.stat().st_size // 4
    a = by_name(first)["vm-a"]
    assert (a["rc"], a["changed"], a["failed"], a["attempts"]) == (0, True, False, 1)
    # disk.img, its hard link and 4 other files exist; the hard link is created, not sent.
    assert a["files_transferred"] == 5
    assert a["literal_bytes"] == a["transferred_size"] > 0
    # rsync's total size counts files (each hard link too) and symlink targets.
    assert a["total_size"] == sum(
        f.lstat().st_size for f in (primary.export / "vm-a").rglob("*") if not f.is_dir() or f.is_symlink()
    )
    assert {"path": UNICODE_NAME, "item": "<f+++++++++"} in a["changes"]
    assert a["command"].startswith("LC_ALL=C rsync --archive --hard-links --sparse --numeric-ids --inplace")
    assert first["totals"]["files_transferred"] == 15

    second = run_module("nfs_sync", push_args(seeded, concurrency=2))
    assert second["rc"] == 0, second
    assert second["changed"] is False, second
    assert all(v["changes_total"] == 0 and v["files_transferred"] == 0 for v in second["volumes"])

    changed_file = primary.export / "vm-b" / "config" / "vm.yaml"
    changed_file.write_text("name: vm-b\nmemory: 4Gi\n")
    third = run_module("nfs_sync", push_args(seeded, concurrency=2))
    assert third["rc"] == 0, third
    assert third["changed"] is True
    results = by_name(third)
    assert [v["name"] for v in third["volumes"] if v["changed"]] == ["vm-b"]
    assert results["vm-b"]["files_transferred"] == 1
    assert [c["path"] for c in results["vm-b"]["changes"]] == ["config/vm.yaml"]
    assert_same_tree(primary.export / "vm-b", dr.export / "ns" / "vm-b")


def test_delete_removes_stale_files_on_dr_only_inside_the_volume(collection, seeded):
    primary, dr = seeded
    run_module("nfs_sync", push_args(seeded, names=["vm-a"]))
    stale = dr.export / "ns" / "vm-a" / "config" / "removed-on-primary.yaml"
    stale.write_text("stale")
    neighbour = dr.export / "ns" / "not-a-volume.txt"
    neighbour.write_text("other data under the DR root")

    result = run_module("nfs_sync", push_args(seeded, names=["vm-a"]))
    assert result["rc"] == 0, result
    vol = result["volumes"][0]
    assert vol["files_deleted"] == 1
    assert {"item": "*deleting", "path": "config/removed-on-primary.yaml"} in vol["changes"]
    assert not stale.exists()
    assert neighbour.read_text() == "other data under the DR root"
    assert_same_tree(primary.export / "vm-a", dr.export / "ns" / "vm-a")

    # delete: false keeps DR-only files (it still resets the directory's mtime).
    stale.write_text("stale")
    kept = run_module("nfs_sync", push_args(seeded, names=["vm-a"], delete=False))
    assert kept["rc"] == 0, kept
    assert kept["volumes"][0]["files_deleted"] == 0
    assert "--delete" not in kept["volumes"][0]["command"]
    assert stale.exists()


@pytest.mark.parametrize(
    "destination, expected",
    [
        ("root@127.0.0.1:/", "is the root directory"),
        ("root@127.0.0.1:{dr}/ns/../../etc", "contains `..`"),
        ("root@127.0.0.1:{dr}/etc", "is not below any of allowed_roots"),
        ("root@127.0.0.1:{dr}/ns", "is an allowed root itself"),
        ("root@127.0.0.1:relative", "is relative"),
    ],
)
def test_refused_destinations_run_nothing(collection, seeded, destination, expected):
    primary, dr = seeded
    args = push_args(seeded, names=["vm-a", "vm-b"])
    args["allowed_roots"] = [str(dr.export / "ns")]
    args["volumes"][1]["destination"] = destination.format(dr=dr.export)
    result = run_module("nfs_sync", args)
    assert result["rc"] == 1 and result["failed"] is True
    assert expected in result["msg"], result["msg"]
    assert result["msg"].startswith("volumes[1] (vm-b)")
    assert not (dr.export / "ns").exists(), "the valid volume must not have run either"
    assert "Accepted publickey" not in dr.log.read_text(), "no ssh session was opened"


def test_check_mode_reports_and_changes_nothing(collection, seeded):
    primary, dr = seeded
    check = run_module("nfs_sync", push_args(seeded), check_mode=True, diff=True)
    assert check["rc"] == 0, check
    assert check["changed"] is True
    assert not (dr.export / "ns").exists()
    assert check["totals"]["files_transferred"] == 15
    assert "--dry-run" in check["volumes"][0]["command"]
    assert "vm-a (" in check["diff"][0]["prepared"]

    run_module("nfs_sync", push_args(seeded))
    target = primary.export / "vm-c" / "config" / "vm.yaml"
    before = target.read_text()
    target.write_text("name: vm-c\nmemory: 8Gi\n")
    check = run_module("nfs_sync", push_args(seeded), check_mode=True)
    assert check["changed"] is True
    assert [v["name"] for v in check["volumes"] if v["changed"]] == ["vm-c"]
    assert [c["path"] for c in by_name(check)["vm-c"]["changes"]] == ["config/vm.yaml"]
    assert (dr.export / "ns" / "vm-c" / "config" / "vm.yaml").read_text() == before

    run_module("nfs_sync", push_args(seeded))
    assert run_module("nfs_sync", push_args(seeded), check_mode=True)["changed"] is False


def test_verify_finds_a_flipped_byte_only_with_checksum(collection, seeded):
    primary, dr = seeded
    run_module("nfs_sync", push_args(seeded))
    copy = dr.export / "ns" / "vm-a" / "disk.img"
    before = os.stat(copy)
    with open(copy, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(copy).st_size == before.st_size

    quick = run_module("nfs_sync", push_args(seeded, mode="verify"))
    assert quick["rc"] == 0, quick
    assert quick["in_sync"] is True, "size and mtime match, so the quick check misses the byte"
    assert quick["changed"] is False

    full = run_module("nfs_sync", push_args(seeded, mode="verify", checksum=True))
    assert full["rc"] == 0, full
    assert full["changed"] is False
    assert full["in_sync"] is False
    assert full["out_of_sync_volumes"] == ["vm-a"]
    a = by_name(full)["vm-a"]
    assert (a["in_sync"], a["differences"]) == (False, 1)
    # disk.img and disk-hardlink.img are one inode; rsync names the link group by one of them.
    assert [c["path"] for c in a["changes"]] in (["disk.img"], ["disk-hardlink.img"])
    assert a["changes"][0]["item"][2] == "c", "the checksum differs"
    assert by_name(full)["vm-b"]["in_sync"] is True
    assert any("differ from their source: vm-a" in w for w in full["warnings"])
    with open(copy, "rb") as f:
        f.seek(100)
        assert f.read(1) != byte, "verify must not repair anything"


def test_failures_are_per_volume_and_the_rest_still_sync(collection, seeded):
    primary, dr = seeded
    run_module("nfs_sync", push_args(seeded, names=["vm-c"]))
    args = push_args(seeded, names=["vm-a", "vm-b", "vm-c"], retries=1)
    args["volumes"][1]["destination"] = f"root@127.0.0.2:{dr.export}/ns/vm-b"  # nothing listens
    args["volumes"].append(
        {"name": "wrong-user", "source": str(primary.export / "vm-a"),
         "destination": f"nobody@127.0.0.1:{dr.export}/ns/other"}
    )
    args["volumes"][2]["source"] = str(primary.export / "vm-gone")  # source path missing
    result = run_module("nfs_sync", args)

    assert result["rc"] == 1 and result["failed"] is True
    assert result["changed"] is True, "vm-a was synced"
    assert sorted(result["failed_volumes"]) == ["vm-b", "vm-c", "wrong-user"]
    assert result["msg"].startswith("3 of 4 volume(s) failed, the others ran: ")
    results = by_name(result)
    assert results["vm-a"]["failed"] is False
    assert_same_tree(primary.export / "vm-a", dr.export / "ns" / "vm-a")

    unreachable = results["vm-b"]
    # rsync exits 255 or 12 for the same refused ssh connection, depending on which of its
    # processes notices first; both are connection-level and retried.
    assert unreachable["rc"] in (12, 255) and unreachable["attempts"] == 2, unreachable["stderr"]
    assert "Connection refused" in unreachable["msg"] and "after 2 attempts" in unreachable["msg"]

    denied = results["wrong-user"]
    assert denied["attempts"] == 1, "authentication failures are not retried"
    assert "Permission denied (publickey)" in denied["msg"]

    missing = results["vm-c"]
    assert missing["rc"] == 23 and missing["attempts"] == 1
    assert "vm-gone" in missing["msg"] and "No such file or directory" in missing["msg"]
    # A missing source must never empty the DR copy.
    assert_same_tree(primary.export / "vm-c", dr.export / "ns" / "vm-c")


def test_wrong_key_and_unknown_host_key_fail_clearly(collection, seeded, tmp_path):
    primary, dr = seeded
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    args = push_args(seeded, names=["vm-a", "vm-b"])
    args["ssh"]["identity_file"] = str(stranger)
    result = run_module("nfs_sync", args)
    assert result["failed_volumes"] == ["vm-a", "vm-b"]
    for vol in result["volumes"]:
        assert "Permission denied (publickey)" in vol["msg"] and vol["attempts"] == 1

    empty = tmp_path / "empty_known_hosts"
    empty.touch()
    args = push_args(seeded, names=["vm-a"])
    args["ssh"]["known_hosts_file"] = str(empty)
    result = run_module("nfs_sync", args)
    unknown = result["volumes"][0]
    assert "No ED25519 host key is known for" in unknown["msg"], unknown["msg"]
    assert "Host key verification failed." in unknown["stderr"]
    assert unknown["attempts"] == 1, "an unknown host key is not retried"
    assert not (dr.export / "ns").exists()


def big_volume(sites) -> Path:
    source = sites.primary.export / "big"
    source.mkdir()
    (source / "disk.img").write_bytes(os.urandom(4 << 20))
    return source


def test_timeout_stops_a_volume_and_a_rerun_resumes(collection, nfs_sites):
    primary, dr = nfs_sites
    source = big_volume(nfs_sites)
    slow = run_module("nfs_sync", push_args(nfs_sites, names=["big"], bwlimit=64, timeout=1))
    assert slow["failed"] is True
    vol = slow["volumes"][0]
    assert vol["rc"] is None and vol["msg"].startswith("timed out")
    done = run_module("nfs_sync", push_args(nfs_sites, names=["big"]))
    assert done["rc"] == 0, done
    assert_same_tree(source, dr.export / "ns" / "big")


def test_a_killed_transfer_resumes_from_what_it_wrote(collection, nfs_sites, tmp_path):
    primary, dr = nfs_sites
    source = big_volume(nfs_sites)
    copy = dr.export / "ns" / "big" / "disk.img"
    args_file = write_args(tmp_path, push_args(nfs_sites, names=["big"], bwlimit=512))
    proc = subprocess.Popen(
        [str(module_path("nfs_sync")), str(args_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (copy.exists() and copy.stat().st_size >= 1 << 20):
            assert proc.poll() is None, "the transfer ended before it could be killed"
            assert time.monotonic() < deadline, "the transfer never got going"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the module and its rsync and ssh, like a lost host
        proc.wait()
    assert copy.stat().st_size < source.joinpath("disk.img").stat().st_size, "killed midway"

    resumed = run_module("nfs_sync", push_args(nfs_sites, names=["big"]))
    assert resumed["rc"] == 0, resumed
    vol = resumed["volumes"][0]
    assert vol["files_transferred"] == 1
    assert vol["matched_bytes"] >= 512 << 10, "the part written before the kill was reused"
    assert_same_tree(source, dr.export / "ns" / "big")


def test_pull_on_dr_takes_pv_retarget_volumes_as_they_are(collection, seeded):
    """The seed's failover step: run on the DR server, pull from the primary with DR's own key."""
    primary, dr = seeded
    volumes = [
        {
            "pv": f"pv-{name}",
            "pvc_namespace": "app",
            "pvc_name": name,
            "source_kind": "nfs",
            "source_server": "127.0.0.1",
            "source_path": str(primary.export / name),
            "dr_server": "nfs-dr.example.com",
            "dr_path": str(dr.export / "app" / name),
        }
        for name in ["vm-a", "vm-b"]
    ]
    args = {
        "volumes": volumes,
        "direction": "pull",
        "allowed_roots": [str(dr.export)],
        "ssh": primary.sync_ssh_options(peer=dr),
    }
    result = run_module("nfs_sync", args)
    assert result["rc"] == 0, result
    assert [v["name"] for v in result["volumes"]] == ["pv-vm-a", "pv-vm-b"]
    assert result["volumes"][0]["source"] == f"root@127.0.0.1:{primary.export}/vm-a"
    for name in ["vm-a", "vm-b"]:
        assert_same_tree(primary.export / name, dr.export / "app" / name)
    assert run_module("nfs_sync", args)["changed"] is False
