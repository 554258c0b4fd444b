"""Shared pytest fixtures: the built collection and the real components the tests run against."""

from __future__ import annotations

import subprocess

import pytest

from harness import paths


@pytest.fixture(scope="session")
def collection() -> None:
    """The ocpdr.dr collection, built from this checkout and installed in build/collections."""
    if not (paths.COLLECTION / "plugins" / "modules" / "pv_retarget").exists():
        subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], check=True)
