"""The lab's OADP backups: Velero backups of the watched namespaces, written by
``ocpdr-fixtures backup`` from the objects the primary cluster holds (as Velero backs up a live
cluster), uploaded where the BackupStorageLocation points, and synced into both clusters as
Backup objects (as Velero's backup sync controller does). Each cluster's fake API server is
told what the tarball holds (`PUT /_fake/backups/{name}`), so a Restore there recreates the
backed-up objects as Velero would.

Two backups of the schedule ``nightly``, named as a Velero schedule names them: the newest is
``Completed``; the one a day older ``PartiallyFailed``, which a restore must pass over. Their
start times follow the clock (the latest 02:00 UTC at least an hour ago), so they never look
expired (Velero's default TTL is 30 days).
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness.moto import MotoServer
from lab.cluster import Cluster
from lab.layout import Layout
from lab.seed import S3_BUCKET, S3_PREFIX

SCHEDULE = "nightly"
WATCHED = ("app-ns1", "app-ns2")


def schedule_times(now: datetime) -> list[tuple[datetime, str]]:
    """(start, phase) of the backups, newest first."""
    latest = (now - timedelta(hours=1)).replace(hour=2, minute=0, second=0, microsecond=0)
    if latest > now - timedelta(hours=1):
        latest -= timedelta(days=1)
    return [(latest, "Completed"), (latest - timedelta(days=1), "PartiallyFailed")]


def tarball_objects(tarball: bytes) -> list[dict]:
    """The objects a Velero backup tarball holds, each once: its `resources/<gr>/cluster/...`
    and `resources/<gr>/namespaces/<ns>/...` entries, not the `<ver>-preferredversion` copies."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        return [
            json.load(tar.extractfile(entry))
            for entry in tar
            if entry.isfile()
            and entry.name.startswith("resources/")
            and entry.name.split("/")[2] in ("cluster", "namespaces")
        ]


def write_and_upload(
    fixtures: Path, layout: Layout, primary: Cluster, clusters: list[Cluster], s3: MotoServer
) -> list[dict]:
    """Writes, uploads and syncs the backups; returns [{name, phase, start}], newest first."""
    objects = layout.seed / "primary-cluster.json"
    objects.write_text(json.dumps(primary.everything()))
    s3.create_bucket(S3_BUCKET)
    made = []
    for start, phase in schedule_times(datetime.now(timezone.utc)):
        name = f"{SCHEDULE}-{start:%Y%m%d%H%M%S}"
        out = layout.seed / "backups" / name
        started = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        cmd = [
            str(fixtures), "backup", "--out", str(out), "--name", name, "--phase", phase,
            "--start", started, "--schedule", SCHEDULE,
            "--objects", str(objects), "--include-namespaces", ",".join(WATCHED),
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"ocpdr-fixtures backup {name} failed:\n{done.stderr}")
        metadata = (out / "velero-backup.json").read_text()
        tarball = (out / f"{name}.tar.gz").read_bytes()
        s3.put_backup(S3_BUCKET, S3_PREFIX, name, tarball=tarball, metadata=metadata)
        backup, contents = json.loads(metadata), tarball_objects(tarball)
        for cluster in clusters:
            cluster.create(backup)
            cluster.call("PUT", f"/_fake/backups/{name}", contents)
        made.append(
            {"name": name, "phase": phase, "start": started, "items": json.loads(done.stdout)["items"]}
        )
    return made
