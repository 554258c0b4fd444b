"""Shared pytest fixtures: the built collection and the real components the tests run against."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import pytest

from harness import paths
from harness.sshd import SshSite
from harness.apiserver import FakeApiServer


@pytest.fixture(scope="session")
def collection() -> None:
    """The ocpdr.dr collection, built from this checkout and installed in build/collections."""
    modules = [src.stem for src in (paths.REPO / "modules" / "src" / "bin").glob("*.rs")]
    installed = paths.COLLECTION / "plugins" / "modules"
    watcher = paths.COLLECTION / "roles" / "nfs_change_watcher" / "files" / "ocpdr-forwarder"
    if not watcher.exists() or not all((installed / name).exists() for name in modules):
        subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], check=True)


class NfsSites(NamedTuple):
    """A primary and a DR NFS site, each a real sshd on loopback with its own export root."""

    primary: SshSite
    dr: SshSite


@pytest.fixture
def ssh_site(tmp_path: Path) -> Iterator[Callable[[str], SshSite]]:
    """A factory of started SSH sites under the test's temp dir: ``ssh_site("primary")``.
    All are stopped when the test ends."""
    with ExitStack() as stack:
        yield lambda name: stack.enter_context(SshSite(name, tmp_path / name))


@pytest.fixture
def nfs_sites(ssh_site) -> NfsSites:
    """Primary and DR sites, paired both ways: the primary may push to DR with its own key
    (``primary.rsh_to(dr)``, ``dr.sync_ssh_options(peer=primary)``) and DR may pull from it."""
    primary, dr = ssh_site("primary"), ssh_site("dr")
    primary.pair(dr)
    dr.pair(primary)
    return NfsSites(primary, dr)


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


# The fake automation controller and EDA controller (tests/harness/fake_controller.py,
# fake_eda.py): one of each for the session, emptied before each test that uses them.
CONTROLLER_TOKEN = "controller-test-token-7d21"
EDA_TOKEN = "eda-api-test-token-3b90"
# The project URL the fake EDA controller "clones": this checkout.
PROJECT_URL = "https://git.test/platform/ocpdr.git"


@pytest.fixture(scope="session")
def fake_controller_server():
    from harness.fake_controller import FakeController

    with FakeController(CONTROLLER_TOKEN) as server:
        yield server


@pytest.fixture
def fake_controller(fake_controller_server):
    """The session's fake automation controller, fresh (organization Default only)."""
    fake_controller_server.reset()
    return fake_controller_server


@pytest.fixture(scope="session")
def fake_eda_server():
    from harness.fake_eda import FakeEda

    with FakeEda(EDA_TOKEN, repositories={PROJECT_URL: paths.REPO}) as server:
        yield server


@pytest.fixture
def fake_eda(fake_eda_server):
    """The session's fake EDA controller, fresh; it imports PROJECT_URL from this checkout."""
    fake_eda_server.reset()
    return fake_eda_server
