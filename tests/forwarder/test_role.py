"""The event_forwarder role with real ansible-playbook and the installed collection, against the
fake API server: what it applies, that it is idempotent and never shows the token, and that a
forwarder started with exactly the Deployment's environment forwards to the rulebook."""

from __future__ import annotations

import base64
from pathlib import Path

from eda_setup import TOKEN, WATCHED

from harness.ansible import run_playbook
from harness.forwarder import Forwarder
from harness.storage import Kube, pvc

PLAYBOOK = Path(__file__).parent / "deploy.yml"
NS = "ocpdr-forwarder"
APPLY = "ocpdr.dr.event_forwarder : Apply the ServiceAccount, RBAC, state ConfigMap, Deployment and metrics Service"
SECRET = "ocpdr.dr.event_forwarder : Apply the webhook credentials Secret"


def get(server, path: str) -> dict | None:
    status, body = server.request("GET", path)
    return body if status == 200 else None


def test_role_deploys_a_working_least_privilege_forwarder(collection, apiserver, eda, cluster_name, tmp_path):
    extra = {"kubeconfig": str(apiserver.kubeconfig), "cluster_name": cluster_name,
             "webhook_url": eda.url, "webhook_token": TOKEN}  # fmt: skip

    check = run_playbook(PLAYBOOK, extra_vars=extra, check=True, diff=True).assert_ok()
    assert check.task(APPLY)["changed"] is True
    assert get(apiserver, f"/apis/apps/v1/namespaces/{NS}/deployments/ocpdr-forwarder") is None

    first = run_playbook(PLAYBOOK, extra_vars=extra, diff=True, verbosity=2).assert_ok()
    assert first.task(APPLY)["changed"] is True
    second = run_playbook(PLAYBOOK, extra_vars=extra, diff=True).assert_ok()
    assert second.task(APPLY)["changed"] is False
    assert second.task(SECRET)["changed"] is False
    for run in (check, first, second):
        assert TOKEN not in run.stdout + run.stderr
        assert base64.b64encode(TOKEN.encode()).decode() not in run.stdout + run.stderr

    # Read-only access to the four kinds, nothing else cluster-wide.
    role = get(apiserver, "/apis/rbac.authorization.k8s.io/v1/clusterroles/ocpdr-forwarder-ocpdr-forwarder-watch")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {
        (group, resource, verb)
        for group, resource in [
            ("", "persistentvolumes"),
            ("", "persistentvolumeclaims"),
            ("snapshot.storage.k8s.io", "volumesnapshots"),
            ("snapshot.storage.k8s.io", "volumesnapshotcontents"),
        ]
        for verb in ("get", "list", "watch")
    }
    binding = get(apiserver, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ocpdr-forwarder-ocpdr-forwarder-watch")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ocpdr-forwarder", "namespace": NS}]
    state_role = get(apiserver, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles/ocpdr-forwarder-state")
    assert state_role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["ocpdr-forwarder-state"], "verbs": ["get", "patch"]}
    ]
    assert get(apiserver, f"/api/v1/namespaces/{NS}/serviceaccounts/ocpdr-forwarder") is not None
    assert get(apiserver, f"/api/v1/namespaces/{NS}/services/ocpdr-forwarder-metrics") is not None
    secret = get(apiserver, f"/api/v1/namespaces/{NS}/secrets/ocpdr-forwarder-webhook")
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN

    deployment = get(apiserver, f"/apis/apps/v1/namespaces/{NS}/deployments/ocpdr-forwarder")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert pod["serviceAccountName"] == "ocpdr-forwarder"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"] == "256Mi"
    token_env = next(e for e in container["env"] if e["name"] == "WEBHOOK_TOKEN")
    assert token_env == {"name": "WEBHOOK_TOKEN", "valueFrom": {"secretKeyRef": {"name": "ocpdr-forwarder-webhook", "key": "token"}}}
    assert pod["terminationGracePeriodSeconds"] == 30

    # The Deployment's environment, resolved as the kubelet would, runs a working forwarder.
    env = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        else:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[var["name"]] = NS
    assert env.pop("LISTEN_ADDR") == "0.0.0.0:8080"
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    forwarder = Forwarder({**env, "KUBECONFIG": str(apiserver.kubeconfig)}, tmp_path / "pod").start()
    try:
        forwarder.wait_ready()
        kube.create(pvc(WATCHED, "from-the-deployment"))
        eda.wait_for_events(lambda ev: any(e.get("name") == "from-the-deployment" and e.get("cluster") == cluster_name for e in ev))
    finally:
        assert forwarder.stop() == 0
    state = get(apiserver, f"/api/v1/namespaces/{NS}/configmaps/ocpdr-forwarder-state")
    assert "state.json.gz" in state.get("binaryData", {}), "the forwarder saved its state where the role allows"
    labels = state["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "ocpdr-forwarder", "the role's ConfigMap, patched in place"
