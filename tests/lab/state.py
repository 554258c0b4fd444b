"""What a lab runs, saved as ``state.json`` as soon as each process starts, so `down` can stop
every one of them by its id even when `up` died half way."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.layout import Layout


@dataclass
class Process:
    """One process of the lab. `started` (clock ticks since boot, from /proc) tells it from a
    later process that got the same id."""

    name: str
    pid: int
    started: int
    host: str
    port: int


@dataclass
class LabState:
    """Everything a running lab is: what was asked, what runs where, and whether `up` finished."""

    seed: int
    scale: int
    created: str
    ready: bool = False
    processes: list[Process] = field(default_factory=list)
    # cluster name -> {"url", "kubeconfig", "ca", "token_file"}
    clusters: dict[str, dict] = field(default_factory=dict)
    # site name -> {"host", "port", "export"}
    sites: dict[str, dict] = field(default_factory=dict)
    # {"endpoint", "bucket", "prefix", "region"}
    s3: dict = field(default_factory=dict)
    # [{"name", "phase", "start"}], newest first
    backups: list[dict] = field(default_factory=list)
    up_seconds: float | None = None

    def save(self, layout: Layout) -> None:
        """Writes ``state.json`` atomically (temp file + rename)."""
        layout.root.mkdir(parents=True, exist_ok=True)
        tmp = layout.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(tmp, layout.state)

    @classmethod
    def load(cls, layout: Layout) -> "LabState | None":
        """The saved state, or None when there is no lab."""
        try:
            data = json.loads(Path(layout.state).read_text())
        except FileNotFoundError:
            return None
        data["processes"] = [Process(**p) for p in data.get("processes", [])]
        return cls(**data)

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)
