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


@pytest.fixture(scope="session")
def moto_server():
    """One moto S3 server (no credential checks) for the whole session."""
    from harness.moto import MotoServer

    with MotoServer() as server:
        yield server


@pytest.fixture
def moto(moto_server):
    """The session's moto server, emptied before each test."""
    moto_server.reset()
    return moto_server


@pytest.fixture(scope="session")
def moto_auth():
    """A moto server that verifies access keys and signatures (IAM mode)."""
    from harness.moto import MotoServer

    with MotoServer(auth=True) as server:
        yield server


@pytest.fixture(scope="session")
def fixtures_bin():
    """The `ocpdr-fixtures` generator, built for the host."""
    subprocess.run(["cargo", "build", "--quiet", "-p", "ocpdr-fixtures"], cwd=paths.REPO, check=True)
    return paths.cargo_bin("ocpdr-fixtures")
