"""The NFS change watcher (`ocpdr-forwarder nfs-watch`) for tests, the lab and benchmarks: an
export root with volume directories, the volume map the periodic sync writes, a writer process,
and the watcher itself (a `harness.forwarder.Forwarder` started in `nfs-watch` mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.forwarder import Forwarder

MAP_RELATIVE = ".ocpdr/volume-map.json"

# Appends `writes` small records to `disk`, one write(2) each, then creates `files` files in the
# volume and removes every other one: what a VM and a guest agent do to a volume.
WRITER = """
import os, sys
disk, writes, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(disk, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
for i in range(writes):
    os.write(fd, b"%08d\\n" % i)
os.close(fd)
volume = os.path.dirname(disk)
for i in range(files):
    with open(os.path.join(volume, f"file-{i}"), "w") as f:
        f.write("x")
for i in range(0, files, 2):
    os.remove(os.path.join(volume, f"file-{i}"))
"""


@dataclass
class Volume:
    """One volume directory and its identity in the map."""

    path: Path
    pv: str
    namespace: str
    pvc: str

    def entry(self) -> dict:
        return {"path": str(self.path), "pv": self.pv, "namespace": self.namespace, "pvc": self.pvc}


class ExportRoot:
    """An export root holding volume directories and the volume map."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.map_path = root / MAP_RELATIVE

    def volume(self, namespace: str, pvc: str) -> Volume:
        """Creates the directory of a volume (not yet in the map)."""
        path = self.root / f"{namespace}-{pvc}-pvc-{pvc}"
        path.mkdir(parents=True, exist_ok=True)
        return Volume(path, f"pvc-{pvc}", namespace, pvc)

    def write_map(self, volumes: list[Volume], text: str | None = None) -> None:
        """Writes the volume map as the periodic sync does: a temporary file renamed into place.
        `text` replaces the JSON (to write a broken map)."""
        self.map_path.parent.mkdir(parents=True, exist_ok=True)
        body = (
            text
            if text is not None
            else json.dumps({"version": 1, "cluster": "primary", "volumes": [v.entry() for v in volumes]})
        )
        tmp = self.map_path.with_suffix(".tmp")
        tmp.write_text(body)
        os.replace(tmp, self.map_path)


def write(disk: Path, writes: int, files: int = 0) -> None:
    """Runs the writer process to completion."""
    subprocess.run([sys.executable, "-c", WRITER, str(disk), str(writes), str(files)], check=True)


def watcher(env: dict[str, str], workdir: Path, profile: str = "debug") -> Forwarder:
    """An (unstarted) `ocpdr-forwarder nfs-watch` with `env`."""
    return Forwarder(env, workdir, profile=profile, args=["nfs-watch"])
