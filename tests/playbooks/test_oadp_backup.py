"""oadp_backup against a real moto S3 server, and the oadp_backup_parser role from ansible-playbook.

Backups are written by the ocpdr-fixtures generator exactly as Velero writes them and uploaded
with Velero's bucket layout. The module is the static binary shipped in the built collection.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from harness import paths
from harness.ansible import run_playbook

BUCKET = "velero-backups"
PREFIX = "velero"
PLAYBOOK = paths.REPO / "tests" / "playbooks" / "oadp_backup_parser.yml"
SECRET = "wJalrXUtnFEMI/K7MDENG-not-a-real-key"


def started(days_ago: float) -> str:
    t = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(fixtures_bin: Path, out: Path, name: str, *, phase: str, days_ago: float, schedule: str | None):
    """Writes `out/<name>.tar.gz` and `out/velero-backup.json`; returns their bytes."""
    cmd = [str(fixtures_bin), "backup", "--out", str(out), "--name", name, "--phase", phase,
           "--start", started(days_ago)]
    if schedule:
        cmd += ["--schedule", schedule]
    subprocess.run(cmd, check=True, capture_output=True)
    return (out / f"{name}.tar.gz").read_bytes(), (out / "velero-backup.json").read_text()


# name, phase, started days ago, schedule, upload the tarball?
BACKUPS = [
    ("nightly-old", "Completed", 3.0, "nightly", True),
    ("nightly-good", "Completed", 2.0, "nightly", True),
    ("manual-good", "Completed", 1.5, None, True),
    ("nightly-partial", "PartiallyFailed", 1.0, "nightly", True),
    ("nightly-failed", "Failed", 0.9, "nightly", True),
    ("nightly-no-tarball", "Completed", 0.5, "nightly", False),
    ("manual-running", "InProgress", 0.2, None, False),
    ("nightly-finalizing", "Finalizing", 0.1, "nightly", True),
    ("ancient", "Completed", 45.0, None, True),  # expired: TTL 720h
]


@pytest.fixture
def bucket(moto, fixtures_bin, tmp_path):
    """The moto server with a BackupStorageLocation bucket holding BACKUPS."""
    moto.create_bucket(BUCKET)
    moto.put(BUCKET, "docker/registry/v2/blobs/unrelated", b"image layer")  # OADP's registry dir
    for name, phase, days_ago, schedule, with_tarball in BACKUPS:
        tarball, metadata = generate(fixtures_bin, tmp_path / name, name, phase=phase, days_ago=days_ago,
                                     schedule=schedule)
        moto.put_backup(BUCKET, PREFIX, name, tarball=tarball if with_tarball else None, metadata=metadata)
    return moto


def run_module(args: dict) -> dict:
    """Runs the collection's oadp_backup binary as ansible-core does; returns its JSON result."""
    binary = paths.COLLECTION / "plugins" / "modules" / "oadp_backup"
    args_file = paths.BUILD / "tmp" / f"oadp_backup_args_{id(args)}.json"
    args_file.parent.mkdir(parents=True, exist_ok=True)
    args_file.write_text(json.dumps(args))
    try:
        out = subprocess.run([str(binary), str(args_file)], capture_output=True, text=True, timeout=120)
    finally:
        args_file.unlink()
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout + out.stderr
    return json.loads(lines[0])


def s3(server, **extra) -> dict:
    return {"bucket": BUCKET, "prefix": PREFIX, "endpoint_url": server.endpoint, "force_path_style": True,
            "access_key": server.access_key, "secret_key": server.secret_key, **extra}


def test_newest_completed_is_taken_and_newer_ones_are_explained(collection, bucket):
    result = run_module({"source": {"s3": s3(bucket)}})
    assert not result.get("failed"), result
    assert result["backup"]["name"] == "manual-good"
    assert result["backup"]["phase"] == "Completed"
    assert [(s["name"], s["reason"]) for s in result["skipped_backups"]] == [
        ("nightly-finalizing", "phase is Finalizing, not Completed"),
        ("manual-running", "phase is InProgress, not Completed"),
        ("nightly-no-tarball", "nightly-no-tarball.tar.gz is missing (upload failed or still running)"),
        ("nightly-failed", "phase is Failed, not Completed"),
        ("nightly-partial", "phase is PartiallyFailed, not Completed"),
    ]
    assert len(result["pv_info_list"]) == 4
    assert {pv["spec"]["nfs"]["server"] for pv in result["pv_info_list"]} == {"nfs-primary.example.com"}
    assert result["counts"]["persistentvolumeclaims"] == 4
    # The PVCs carry the name of the backup they came from: the right tarball was streamed.
    assert {p["metadata"]["labels"]["velero.io/backup-name"] for p in result["pvc_info_list"]} == {"manual-good"}


def test_schedule_restricts_the_candidates(collection, bucket):
    result = run_module({"source": {"s3": s3(bucket)}, "schedule": "nightly", "namespaces": ["vm-ns-001"]})
    assert not result.get("failed"), result
    assert result["backup"]["name"] == "nightly-good"
    assert result["backup"]["schedule"] == "nightly"
    assert "manual-running" not in [s["name"] for s in result["skipped_backups"]]
    assert [p["metadata"]["namespace"] for p in result["pvc_info_list"]] == ["vm-ns-001", "vm-ns-001"]


def test_named_backup_and_refused_names(collection, bucket):
    result = run_module({"source": {"s3": s3(bucket)}, "backup_name": "nightly-old"})
    assert result["backup"]["name"] == "nightly-old"
    assert result["skipped_backups"] == []

    refused = run_module({"source": {"s3": s3(bucket)}, "backup_name": "nightly-partial"})
    assert refused["failed"] is True
    assert refused["msg"] == 'backup "nightly-partial" cannot be used: phase is PartiallyFailed, not Completed'
    expired = run_module({"source": {"s3": s3(bucket)}, "backup_name": "ancient"})
    assert expired["msg"].startswith('backup "ancient" cannot be used: expired at '), expired


def test_missing_backup_lists_what_exists(collection, bucket):
    result = run_module({"source": {"s3": s3(bucket)}, "backup_name": "nightly-tomorrow"})
    assert result["failed"] is True
    assert result["msg"] == (
        'backup "nightly-tomorrow" not found; backups in the bucket: nightly-finalizing, manual-running, '
        "nightly-no-tarball, nightly-failed, nightly-partial, manual-good, nightly-good, nightly-old, ancient"
    )


def test_list_mode_is_newest_first(collection, bucket):
    result = run_module({"source": {"s3": s3(bucket)}, "list": True, "_ansible_check_mode": True})
    assert result["changed"] is False
    listed = [(b["name"], b["usable"], b["has_tarball"]) for b in result["backups"]]
    assert listed[0] == ("nightly-finalizing", False, True)
    assert ("manual-good", True, True) in listed
    assert listed[-1] == ("ancient", False, True)
    assert [b["name"] for b in result["backups"]] == [b[0] for b in sorted(BACKUPS, key=lambda b: b[2])]


def test_empty_bucket_and_missing_bucket(collection, moto):
    moto.create_bucket(BUCKET)
    result = run_module({"source": {"s3": s3(moto)}})
    assert result["msg"] == "no Completed backup to use; passed over: none"
    result = run_module({"source": {"s3": s3(moto, bucket="no-such-bucket")}})
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"S3 ListObjectsV2 of s3://no-such-bucket/velero/backups/ at {moto.endpoint} failed: NoSuchBucket"
    ), result["msg"]


def test_wrong_credentials_fail_clearly_without_the_secret(collection, moto_auth, fixtures_bin, tmp_path):
    """moto in IAM mode verifies keys and signatures like a real store."""
    moto_auth.create_bucket(BUCKET)
    tarball, metadata = generate(fixtures_bin, tmp_path, "nightly-good", phase="Completed", days_ago=1,
                                 schedule="nightly")
    moto_auth.put_backup(BUCKET, PREFIX, "nightly-good", tarball=tarball, metadata=metadata)

    ok = run_module({"source": {"s3": s3(moto_auth)}})
    assert ok["backup"]["name"] == "nightly-good", ok

    wrong_secret = run_module({"source": {"s3": s3(moto_auth, secret_key=SECRET)}})
    assert wrong_secret["failed"] is True
    assert "failed: SignatureDoesNotMatch: " in wrong_secret["msg"], wrong_secret["msg"]
    unknown_key = run_module({"source": {"s3": s3(moto_auth, access_key="AKIANOSUCHKEY0000000", secret_key=SECRET)}})
    assert "failed: InvalidAccessKeyId: " in unknown_key["msg"], unknown_key["msg"]
    for result in (wrong_secret, unknown_key):
        assert SECRET not in json.dumps(result)
        assert moto_auth.secret_key not in json.dumps(result)


def test_unreachable_endpoint_fails_clearly(collection):
    from harness.ports import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    result = run_module({"source": {"s3": {"bucket": BUCKET, "endpoint_url": endpoint, "force_path_style": True,
                                           "access_key": "AKIAEXAMPLE", "secret_key": SECRET}}})
    assert result["failed"] is True
    assert result["msg"].startswith(f"S3 ListObjectsV2 of s3://{BUCKET}/backups/ at {endpoint} failed: ")
    assert "Connection refused" in result["msg"]
    assert SECRET not in json.dumps(result)


def role_vars(server, **extra) -> dict:
    return {
        "oadp_backup_parser_s3_bucket": BUCKET,
        "oadp_backup_parser_s3_prefix": PREFIX,
        "oadp_backup_parser_s3_endpoint_url": server.endpoint,
        "oadp_backup_parser_s3_force_path_style": True,
        "oadp_backup_parser_s3_access_key": server.access_key,
        "oadp_backup_parser_s3_secret_key": SECRET,
        **extra,
    }


@pytest.mark.parametrize("check", [False, True])
def test_role_sets_the_four_lists(collection, bucket, check):
    run = run_playbook(PLAYBOOK, extra_vars=role_vars(bucket, oadp_backup_parser_namespace="vm-ns-000"),
                       check=check).assert_ok()
    facts = run.task("The four lists are set from the newest Completed backup")
    assert facts.get("failed") is not True
    parsed = run.task("ocpdr.dr.oadp_backup_parser : Find and stream-parse the OADP backup")
    assert parsed["backup"]["name"] == "manual-good"
    assert len(parsed["vsc_info_list"]) == 2
    assert SECRET not in run.stdout + json.dumps(run.results)


def test_role_fails_clearly_on_a_missing_backup(collection, bucket):
    run = run_playbook(PLAYBOOK, extra_vars=role_vars(bucket, oadp_backup_parser_backup_name="nope"))
    assert run.rc != 0
    assert 'backup \\"nope\\" not found' in run.stdout or 'backup "nope" not found' in run.stdout, run.stdout
