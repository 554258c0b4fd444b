"""The real ansible-rulebook running rulebooks/ocp_dr_events.yml against the fake automation
controller configured by configure_aap.yml: a forwarder-shaped PersistentVolume event launches
"EDA - Sync PV to DR" with the event's resource as `resource_object` (which only reaches the job
because the template prompts for variables), a second MODIFIED of the same object within the
throttle window launches nothing, and a DELETED launches "EDA - Delete PV from DR"."""

from __future__ import annotations

import json
import time
import urllib.request

from aap_setup import NAMESPACES, RULEBOOK, configure
from conftest import CONTROLLER_TOKEN

from harness.rulebook import Rulebook

WEBHOOK_TOKEN = "rulebook-webhook-token-2c5d"


def pv(resource_version: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "pv-disk-1", "uid": "6f0e2a52-1c7b-4c1e-9d55-0c8f1e2b7a10",
                     "resourceVersion": resource_version, "labels": {"app": "vm-1"}},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "nfs",
                 "nfs": {"server": "nfs-primary.example.com", "path": "/exports/app-ns1/disk-1"},
                 "claimRef": {"kind": "PersistentVolumeClaim", "namespace": NAMESPACES[0], "name": "disk-1"}},
        "status": {"phase": "Bound"},
    }  # fmt: skip


def event(change: str, resource: dict) -> dict:
    """A payload as ocpdr-forwarder sends it (forwarder/src/payload.rs)."""
    meta = resource["metadata"]
    namespace = meta.get("namespace") or resource["spec"].get("claimRef", {}).get("namespace")
    return {"kind": resource["kind"], "type": change, "namespace": namespace, "name": meta["name"],
            "uid": meta["uid"], "resourceVersion": meta["resourceVersion"], "cluster": "primary",
            "observed_at": "2026-11-28T05:00:00Z", "synthetic": False, "resource": resource}  # fmt: skip


def post(url: str, payload: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST", headers={
        "Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} after {timeout}s")
        time.sleep(0.2)


def test_rulebook_launches_the_configured_templates_with_the_event(fake_controller, fake_eda, tmp_path):
    configure(fake_controller, fake_eda, tags=["controller"]).assert_ok()
    controller_url = f"{fake_controller.url}/api/controller/"  # as the EDA credential gives it (AAP 2.5)
    rulebook = Rulebook(
        RULEBOOK, tmp_path / "eda",
        {"watched_namespaces": NAMESPACES, "eda_webhook_token": WEBHOOK_TOKEN, "aap_organization": "Default"},
        port_variable="eda_webhook_port", more_webhooks=False,
        args=("--controller-url", controller_url, "--controller-token", CONTROLLER_TOKEN,
              "--controller-ssl-verify", "no"),
        env={"EDA_JOB_TEMPLATE_REFRESH_DELAY": "1"},
    )  # fmt: skip
    with rulebook:
        first, again = pv("101"), pv("102")
        post(rulebook.url, event("MODIFIED", first))
        post(rulebook.url, event("MODIFIED", again))  # same uid, inside the 10 s throttle window
        pvc_elsewhere = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": "disk", "namespace": "not-watched", "uid": "u-9", "resourceVersion": "5"},
                         "spec": {}}  # fmt: skip
        post(rulebook.url, event("MODIFIED", pvc_elsewhere))
        deleted = pv("103")
        post(rulebook.url, event("DELETED", deleted))
        wait_for(lambda: any(l.template == "EDA - Delete PV from DR" for l in fake_controller.launches),
                 "launch of EDA - Delete PV from DR")  # fmt: skip
        # Events are handled in order: once the delete launched, the earlier ones were decided.
        wait_for(lambda: all(
            j["status"] == "successful" for j in fake_controller.objects("jobs")), "finished jobs", timeout=30)

    launches = fake_controller.launches
    assert [l.template for l in launches] == ["EDA - Sync PV to DR", "EDA - Delete PV from DR"], rulebook.text()[-3000:]
    sync, delete = launches
    assert sync.extra_vars["resource_object"] == first and sync.extra_vars["event_type"] == "MODIFIED"
    assert delete.extra_vars["resource_object"] == deleted and delete.extra_vars["event_type"] == "DELETED"
    assert sync.extra_vars["ansible_eda"]["event"]["payload"]["uid"] == first["metadata"]["uid"]
    assert sync.ignored == {} and delete.ignored == {}
