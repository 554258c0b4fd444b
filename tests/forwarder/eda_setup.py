"""The forwarder tests' EDA side: credentials, the watched namespace, and the test rulebook
(`rulebook.yml`) ready to start with its token, HMAC and TLS webhooks."""

from __future__ import annotations

from pathlib import Path

from harness.certs import make_ca, make_server_cert
from harness.rulebook import Rulebook

RULEBOOK = Path(__file__).parent / "rulebook.yml"
TOKEN = "eda-test-token-5f3a"
HMAC_SECRET = "eda-test-hmac-9c1e"
WATCHED = "app-ns1"


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
