"""Shared pytest fixtures: the built collection and the real components the tests run against."""

from __future__ import annotations

import subprocess

import pytest

from harness import paths
from harness.apiserver import FakeApiServer


@pytest.fixture(scope="session")
def collection() -> None:
    """The ocpdr.dr collection, built from this checkout and installed in build/collections."""
    if not (paths.COLLECTION / "plugins" / "modules" / "pv_retarget").exists():
        subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], check=True)


@pytest.fixture
def fake_apiserver(tmp_path):
    """Factory for fake Kubernetes API servers: `fake_apiserver(token=None, args=())` starts one
    (in its own directory under tmp_path) and returns the running `FakeApiServer`; every server
    started is stopped at teardown. Call it twice for a primary and a DR cluster."""
    started: list[FakeApiServer] = []

    def start(token: str | None = None, args: tuple[str, ...] | list[str] = ()) -> FakeApiServer:
        server = FakeApiServer(tmp_path / f"apiserver-{len(started)}", token=token, args=args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
