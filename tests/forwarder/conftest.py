"""Fixtures of the forwarder tests: a fake API server per test, one real ansible-rulebook for the
session (tests tell their events apart by the `cluster` each forwarder sends), and forwarders
started with test-friendly timings and stopped (SIGTERM) at the end."""

from __future__ import annotations

import re

import pytest
from eda_setup import TOKEN, rulebook

from harness.forwarder import Forwarder


@pytest.fixture(scope="session")
def eda(tmp_path_factory):
    """The session's ansible-rulebook: webhooks with the token at `.url`, HMAC at `.hmac_url`,
    the token over TLS at `.tls_url`."""
    with rulebook(tmp_path_factory.mktemp("eda")) as rb:
        yield rb


@pytest.fixture
def apiserver(fake_apiserver):
    """A fresh fake API server without controllers: every write in its history is the test's."""
    return fake_apiserver(args=["--no-controllers"])


@pytest.fixture
def cluster_name(request) -> str:
    """A `CLUSTER_NAME` unique to the test, to pick its events out of the shared rulebook's."""
    return re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]


@pytest.fixture
def start_forwarder(tmp_path, apiserver, eda, cluster_name):
    """Starts a forwarder against `apiserver` and the session rulebook; `env` overrides."""
    started: list[Forwarder] = []

    def start(**env: str) -> Forwarder:
        settings = {
            "KUBECONFIG": str(apiserver.kubeconfig),
            "CLUSTER_NAME": cluster_name,
            "WEBHOOK_URL": eda.url,
            "WEBHOOK_TOKEN": TOKEN,
            "RETRY_INITIAL_MS": "50",
            "RETRY_MAX_S": "1",
            "AUTH_RETRY_S": "1",
            "STATE_FLUSH_S": "1",
            "SHUTDOWN_GRACE_S": "2",
            **env,
        }
        forwarder = Forwarder(settings, tmp_path / "forwarder").start()
        started.append(forwarder)
        return forwarder

    yield start
    for forwarder in started:
        forwarder.stop()
