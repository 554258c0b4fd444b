"""The archive behind the lab's CSI snapshot, where csi-driver-nfs puts it.

The driver's snapshot ID is ``server#share#<snapshot>#<dir>#<src>`` (share without its leading
slash; the fake API server's snapshot controller reports it as the VolumeSnapshotContent's
``status.snapshotHandle``). The driver archives the volume directory ``/<share>/<src>`` with
``tar -C <volume> -czf /<share>/<dir>/<src>.tar.gz .`` (its tar-command mode); the lab runs the
same command on the primary export once the snapshot is ready.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.cluster import Cluster

GROUP = "snapshot.storage.k8s.io/v1"


def archive_path(handle: str) -> tuple[Path, Path]:
    """(volume directory, archive file) that a csi-driver-nfs snapshot ID names."""
    parts = handle.split("#")
    if len(parts) != 5 or not all(parts[2:]):
        raise ValueError(f"not a csi-driver-nfs snapshot ID: {handle!r}")
    _, share, _, directory, src = parts
    root = Path("/") / share
    return root / src, root / directory / f"{src}.tar.gz"


def write_archives(primary: Cluster) -> list[Path]:
    """Writes the archive of every ready csi-driver-nfs snapshot of the primary; returns them."""
    written = []
    for vs in primary.list(GROUP, "VolumeSnapshot"):
        content = primary.get(GROUP, "VolumeSnapshotContent", vs["status"]["boundVolumeSnapshotContentName"])
        if content["spec"]["driver"] != "nfs.csi.k8s.io":
            continue
        volume, archive = archive_path(content["status"]["snapshotHandle"])
        archive.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-C", str(volume), "-czf", str(archive), "."], check=True)
        written.append(archive)
    return written
