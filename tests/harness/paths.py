"""Where things are: the repository, its git-ignored build area, the venv and built binaries."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build"
VENV = BUILD / "venv"
COLLECTIONS = BUILD / "collections"
COLLECTION = COLLECTIONS / "ansible_collections" / "ocpdr" / "dr"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
FIXTURES = REPO / "ocpdr-core" / "tests" / "fixtures"


def venv_bin(name: str) -> Path:
    """A program installed in the project's venv (ansible-playbook, moto_server, ...)."""
    return VENV / "bin" / name


def cargo_bin(name: str, profile: str = "debug") -> Path:
    """A binary built by cargo for the host (e.g. fake-apiserver, ocpdr-forwarder)."""
    return TARGET / profile / name
