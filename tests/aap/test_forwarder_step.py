"""configure_aap.yml's last step: the event forwarder deployed on the primary cluster (the fake API
server) with the activation's webhook URL and token, through the role event_forwarder."""

from __future__ import annotations

import base64

from aap_setup import NAMESPACES, SECRETS, assert_no_secret, configure, recap

WEBHOOK_URL = "https://ocpdr-events.apps.primary.test/ocpdr"
NS = "ocpdr-forwarder"


def get(server, path: str) -> dict | None:
    status, body = server.request("GET", path)
    return body if status == 200 else None


def test_eda_half_deploys_the_forwarder_with_the_webhook_url_and_token(collection, fake_controller, fake_eda, fake_apiserver):
    apiserver = fake_apiserver(args=["--no-controllers"])
    settings = {"aap_forwarder_deploy": True, "aap_eda_webhook_url": WEBHOOK_URL,
                "ocp_primary_auth": {"kubeconfig": str(apiserver.kubeconfig)}}  # fmt: skip
    first = configure(fake_controller, fake_eda, tags=["eda"], **settings).assert_ok()
    second = configure(fake_controller, fake_eda, tags=["eda"], **settings).assert_ok()
    assert recap(second)["changed"] == 0
    for run in (first, second):
        assert_no_secret(run)

    deployment = get(apiserver, f"/apis/apps/v1/namespaces/{NS}/deployments/ocpdr-forwarder")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WEBHOOK_URL"] == WEBHOOK_URL
    assert env["WATCH_NAMESPACES"] == ",".join(NAMESPACES)
    secret = get(apiserver, f"/api/v1/namespaces/{NS}/secrets/ocpdr-forwarder-webhook")
    assert base64.b64decode(secret["data"]["token"]).decode() == SECRETS["vault_eda_webhook_token"]
