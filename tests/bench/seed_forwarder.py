"""The seed's Python event forwarder (`k8s_event_forwarder.py`, seed 001 §4), written from its
description as the benchmark baseline for ocpdr-forwarder. Not used anywhere else.

What the seed describes, and this does:
- runs in the cluster with its service account (here: in-cluster config, else KUBECONFIG);
- `WATCH_NAMESPACES` (comma-separated) chooses the namespaces; empty = all;
- uses the `kubernetes` client's `watch` to watch PersistentVolume and VolumeSnapshotContent
  (cluster-scoped) and PersistentVolumeClaim and `snapshot.storage.k8s.io/v1` VolumeSnapshot
  (namespaced) at the same time, one thread each;
- on ADDED / MODIFIED / DELETED, drops namespaced objects outside the watched namespaces, wraps
  the event in one JSON payload with the resource's namespace, and POSTs it to the EDA webhook
  with `requests` (plus the Bearer token AAP's webhook needs).

Nothing more: no queue, no retry, no relist diff, no state. Run with the bench venv:
    WEBHOOK_URL=... WEBHOOK_TOKEN=... KUBECONFIG=... build/bench-venv/bin/python tests/bench/seed_forwarder.py
"""

from __future__ import annotations

import logging
import os
import threading
import time

import requests
from kubernetes import client, config, watch

WEBHOOK_URL = os.environ["WEBHOOK_URL"]
WEBHOOK_TOKEN = os.environ.get("WEBHOOK_TOKEN", "")
WATCH_NAMESPACES = [ns.strip() for ns in os.environ.get("WATCH_NAMESPACES", "").split(",") if ns.strip()]
SNAPSHOT_GROUP, SNAPSHOT_VERSION = "snapshot.storage.k8s.io", "v1"

log = logging.getLogger("k8s_event_forwarder")


def forward(kind: str, event: dict) -> None:
    """Wraps one watch event in the unified payload and POSTs it to the webhook."""
    resource = event["raw_object"]
    namespace = resource.get("metadata", {}).get("namespace")
    payload = {"kind": kind, "type": event["type"], "namespace": namespace, "resource": resource}
    headers = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"} if WEBHOOK_TOKEN else {}
    try:
        response = requests.post(WEBHOOK_URL, json=payload, headers=headers, timeout=10)
        response.raise_for_status()
    except requests.RequestException as err:
        log.error("failed to forward %s %s: %s", event["type"], kind, err)


def watch_kind(kind: str, list_func, namespaced: bool, **kwargs) -> None:
    """Watches one kind forever, forwarding matching events."""
    while True:
        try:
            for event in watch.Watch().stream(list_func, **kwargs):
                if event["type"] not in ("ADDED", "MODIFIED", "DELETED"):
                    continue
                if namespaced and WATCH_NAMESPACES:
                    if event["raw_object"].get("metadata", {}).get("namespace") not in WATCH_NAMESPACES:
                        continue
                forward(kind, event)
        except Exception as err:  # the watch failed: log it and start again
            log.error("watch of %s failed: %s", kind, err)
            time.sleep(1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    core = client.CoreV1Api()
    custom = client.CustomObjectsApi()
    watches = [
        ("PersistentVolume", core.list_persistent_volume, False, {}),
        ("PersistentVolumeClaim", core.list_persistent_volume_claim_for_all_namespaces, True, {}),
        (
            "VolumeSnapshot",
            custom.list_cluster_custom_object,
            True,
            {"group": SNAPSHOT_GROUP, "version": SNAPSHOT_VERSION, "plural": "volumesnapshots"},
        ),
        (
            "VolumeSnapshotContent",
            custom.list_cluster_custom_object,
            False,
            {"group": SNAPSHOT_GROUP, "version": SNAPSHOT_VERSION, "plural": "volumesnapshotcontents"},
        ),
    ]
    threads = [
        threading.Thread(target=watch_kind, args=(kind, func, namespaced), kwargs=kw, daemon=True, name=kind)
        for kind, func, namespaced, kw in watches
    ]
    for t in threads:
        t.start()
    log.info("forwarding %s to %s", [w[0] for w in watches], WEBHOOK_URL)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
