"""The harness objects for the parts of a running lab, rebuilt from its state: an `SshSite` per
NFS site, a `FakeApiServer` (and its `Cluster` client) per cluster, the `MotoServer`. They talk
to the lab's processes (``site.run``, ``server.kubectl``, ``s3.client()``) without owning them:
stopping the lab is `lab.down`'s job."""

from __future__ import annotations

from harness.apiserver import FakeApiServer
from harness.moto import MotoServer
from harness.sshd import SshSite
from lab.cluster import Cluster
from lab.layout import Layout
from lab.state import LabState


def site(layout: Layout, state: LabState, name: str) -> SshSite:
    """The NFS site `name` (primary or dr)."""
    found = SshSite(name, layout.site(name), host=state.sites[name]["host"])
    found.port = state.sites[name]["port"]
    return found


def api_server(layout: Layout, state: LabState, name: str) -> FakeApiServer:
    """The API server of cluster `name` (primary or dr), with its token."""
    info = state.clusters[name]
    server = FakeApiServer(layout.cluster(name), token=layout.token_file(name).read_text().strip())
    server.url = info["url"]
    return server


def cluster(layout: Layout, state: LabState, name: str) -> Cluster:
    return Cluster(api_server(layout, state, name), name)


def s3(layout: Layout, state: LabState) -> MotoServer:
    """The S3 server with the lab's keys."""
    server = MotoServer(port=state.process("s3").port)
    server.access_key = (layout.secrets / "s3-access-key").read_text().strip()
    server.secret_key = (layout.secrets / "s3-secret-key").read_text().strip()
    return server
