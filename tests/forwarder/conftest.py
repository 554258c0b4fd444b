"""Fixtures of the forwarder tests: a fake API server per test, one real ansible-rulebook for the
session (tests tell their events apart by the `cluster` each forwarder sends), and forwarders
started with test-friendly timings and stopped (SIGTERM) at the end."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.apiserver import FakeApiServer
from harness.forwarder import Forwarder
from harness.rulebook import Rulebook

RULEBOOK = Path(__file__).parent / "rulebook.yml"
TOKEN = "eda-test-token-5f3a"
HMAC_SECRET = "eda-test-hmac-9c1e"
WATCHED = "app-ns1"


def make_ca(workdir: Path, name: str) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed CA: (its PEM file, key, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = workdir / f"{name}.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pem, key, cert


def make_server_cert(workdir: Path, ca_key, ca_cert) -> tuple[Path, Path]:
    """A certificate for `localhost` signed by the CA: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = workdir / "webhook.crt", workdir / "webhook.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def rulebook(workdir: Path, token: str = TOKEN, port: int | None = None) -> Rulebook:
    """A (not yet started) ansible-rulebook running the test rulebook; its TLS webhook's CA is
    `workdir/webhook-ca.pem`."""
    workdir.mkdir(parents=True, exist_ok=True)
    _, ca_key, ca_cert = make_ca(workdir, "webhook-ca")
    cert, key = make_server_cert(workdir, ca_key, ca_cert)
    variables = {
        "webhook_token": token,
        "webhook_hmac_secret": HMAC_SECRET,
        "webhook_tls_cert": str(cert),
        "webhook_tls_key": str(key),
        "watched_namespaces": [WATCHED],
    }
    return Rulebook(RULEBOOK, workdir, variables, port=port)


@pytest.fixture(scope="session")
def eda(tmp_path_factory):
    """The session's ansible-rulebook: Bearer webhook at `.url`, HMAC webhook at `.hmac_url`."""
    with rulebook(tmp_path_factory.mktemp("eda")) as rb:
        yield rb


@pytest.fixture
def apiserver(tmp_path):
    """A fresh fake API server without controllers: every write in its history is the test's."""
    with FakeApiServer(tmp_path / "apiserver", args=["--no-controllers"]) as server:
        yield server


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
