"""ocpdr-forwarder end to end: the real binary watching the fake API server, delivering to a real
ansible-rulebook whose `ansible.eda.webhook` source and rule conditions on `event.payload.*` see
the events. The server's own write log (`/_fake/history`) is the truth every delivery is
checked against."""

from __future__ import annotations

import os
import signal
import threading
from collections import defaultdict
from datetime import datetime

from eda_setup import HMAC_SECRET, TOKEN, WATCHED, rulebook

from harness.certs import make_ca
from harness.ports import free_port
from harness.relay import Relay
from harness.storage import KINDS, Kube, pv, pvc, vs, vsc

OTHER = "other-ns"
# Outside the rulebook's watched namespaces: only the recording rule fires, which keeps the
# 1,000-event test quick.
BULK = "bulk-ns"


def mine(events: list[dict], cluster: str) -> list[dict]:
    """The events a test's forwarder sent (the rulebook is shared)."""
    return [e for e in events if e.get("cluster") == cluster]


def key(e: dict) -> tuple:
    return (e["kind"], e["resource"]["metadata"].get("namespace"), e["name"])


def delivered_per_object(events: list[dict]) -> dict[tuple, list[tuple[str, str]]]:
    """(kind, namespace, name) → [(type, resourceVersion), ...] in arrival order."""
    out: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for e in events:
        out[key(e)].append((e["type"], e["resourceVersion"]))
    return out


def history_per_object(history: list[dict]) -> dict[tuple, list[tuple[str, str]]]:
    """The same shape from the API server's write log."""
    out: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for h in history:
        out[(h["kind"], h.get("namespace") or None, h["name"])].append((h["type"], h["resourceVersion"]))
    return out


def listed_everything(forwarder) -> bool:
    """Every watch has done its first list (readiness may still wait for the webhook)."""
    return "first list" not in forwarder.get("/readyz")[1]


def test_every_kind_and_type_reaches_the_rulebook_with_the_payload(apiserver, eda, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    kube.namespace(OTHER)
    forwarder = start_forwarder(WATCH_NAMESPACES=WATCHED)
    forwarder.wait_ready()

    writes = [
        kube.create(pv("pv-disk", WATCHED, "disk")),
        kube.create(pvc(WATCHED, "disk", volume="pv-disk")),
        kube.create(vsc("snapcontent-1", WATCHED, "snap-1")),
        kube.create(vs(WATCHED, "snap-1", "disk")),
        # Outside the watched namespace: none of these may arrive.
        kube.create(pv("pv-other", OTHER, "disk")),
        kube.create(pvc(OTHER, "disk")),
        kube.create(vs(OTHER, "snap-1", "disk")),
    ]
    assert all(w.resource_version for w in writes)
    kube.patch("VolumeSnapshot", WATCHED, "snap-1", {"status": {"readyToUse": True}}, status=True)
    kube.label("PersistentVolume", None, "pv-disk", "1")
    kube.label("PersistentVolumeClaim", WATCHED, "disk", "1")
    kube.label("VolumeSnapshotContent", None, "snapcontent-1", "1")
    kube.delete("VolumeSnapshot", WATCHED, "snap-1")
    kube.delete("VolumeSnapshotContent", None, "snapcontent-1")
    kube.delete("PersistentVolumeClaim", WATCHED, "disk")
    kube.delete("PersistentVolume", None, "pv-disk")

    def all_deleted(events):
        return {e["kind"] for e in mine(events, cluster_name) if e["type"] == "DELETED"} == set(KINDS)

    events = mine(eda.wait_for_events(all_deleted), cluster_name)

    # Exactly the history of the watched namespace's objects, object by object, in order.
    ours = [
        ("PersistentVolume", None, "pv-disk"),
        ("PersistentVolumeClaim", WATCHED, "disk"),
        ("VolumeSnapshotContent", None, "snapcontent-1"),
        ("VolumeSnapshot", WATCHED, "snap-1"),
    ]
    history = history_per_object(kube.history())
    assert delivered_per_object(events) == {k: history[k] for k in ours}
    for kind in KINDS:
        types = [e["type"] for e in events if e["kind"] == kind]
        assert types[0] == "ADDED" and types[-1] == "DELETED" and "MODIFIED" in types, (kind, types)

    uids = {(h["kind"], h["name"], h["resourceVersion"]): h["uid"] for h in kube.history()}
    for e in events:
        meta = e["resource"]["metadata"]
        assert set(e) == {
            "kind", "type", "namespace", "name", "uid", "resourceVersion",
            "cluster", "observed_at", "synthetic", "resource",
        }  # fmt: skip
        assert e["resource"]["kind"] == e["kind"]
        assert e["name"] == meta["name"]
        assert e["uid"] == meta["uid"] == uids[(e["kind"], e["name"], e["resourceVersion"])]
        assert e["resourceVersion"] == meta["resourceVersion"]
        assert e["namespace"] == WATCHED, "PVs and VSCs carry the namespace they are bound to"
        assert "managedFields" not in meta
        assert e["synthetic"] is False
        assert datetime.fromisoformat(e["observed_at"].replace("Z", "+00:00")).tzinfo is not None

    # The DR rules' conditions on event.payload.* matched each change they are meant for.
    fired = {(r[0], r[2], r[3]) for r in eda.rules() if r[1] == cluster_name}
    assert fired == {
        ("pv-sync", "PersistentVolume", "pv-disk"),
        ("pv-delete", "PersistentVolume", "pv-disk"),
        ("pvc-sync", "PersistentVolumeClaim", "disk"),
        ("pvc-delete", "PersistentVolumeClaim", "disk"),
        ("vs-sync", "VolumeSnapshot", "snap-1"),
        ("vs-delete", "VolumeSnapshot", "snap-1"),
        ("vsc-sync", "VolumeSnapshotContent", "snapcontent-1"),
        ("vsc-delete", "VolumeSnapshotContent", "snapcontent-1"),
    }
    vs_sync = [r for r in eda.rules() if r[1] == cluster_name and r[0] == "vs-sync"]
    assert len(vs_sync) == 1, "only the snapshot's ready state matches the VolumeSnapshot rule"

    # The forwarder counts a delivery once it has read the 200, which can be just after the
    # rulebook already printed the event.
    def delivered() -> float:
        return sum(
            forwarder.metric("ocpdr_forwarder_events_delivered_total", kind=k, type_=t)
            for k in KINDS
            for t in ("ADDED", "MODIFIED", "DELETED")
        )

    forwarder.wait_until(lambda: delivered() == len(events), what="every delivery counted")
    assert forwarder.metric("ocpdr_forwarder_last_success_timestamp_seconds") > 0


def test_hmac_signature_is_accepted_by_the_webhook(apiserver, eda, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    forwarder = start_forwarder(WEBHOOK_URL=eda.hmac_url, WEBHOOK_TOKEN="", WEBHOOK_HMAC_SECRET=HMAC_SECRET)
    forwarder.wait_ready()
    kube.create(pvc(WATCHED, "signed"))
    events = eda.wait_for_events(lambda ev: any(e["name"] == "signed" for e in mine(ev, cluster_name)))
    assert [(e["type"], e["name"]) for e in mine(events, cluster_name)] == [("ADDED", "signed")]
    assert HMAC_SECRET not in forwarder.text()


def test_https_webhook_is_trusted_only_through_the_ca_bundle(apiserver, eda, start_forwarder, cluster_name, tmp_path):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    stranger_ca, _, _ = make_ca(tmp_path, "some-other-ca")
    distrusting = start_forwarder(WEBHOOK_URL=eda.tls_url, WEBHOOK_CA_BUNDLE=str(stranger_ca), CLUSTER_NAME="distrusting")
    trusting = start_forwarder(WEBHOOK_URL=eda.tls_url, WEBHOOK_CA_BUNDLE=str(eda.workdir / "webhook-ca.pem"))
    kube.create(pvc(WATCHED, "over-tls"))
    events = eda.wait_for_events(lambda ev: any(e["name"] == "over-tls" for e in mine(ev, cluster_name)))
    assert [(e["type"], e["name"]) for e in mine(events, cluster_name)] == [("ADDED", "over-tls")]
    trusting.wait_ready()
    # A certificate from another CA is refused (a TLS failure is a connection failure), and retried.
    distrusting.wait_until(
        lambda: distrusting.metric("ocpdr_forwarder_delivery_failures_total", reason="connect") >= 2,
        what="TLS refusals",
    )
    assert mine(eda.events(), "distrusting") == []
    assert distrusting.get("/readyz")[0] == 503
    # Labs: skipping verification accepts the certificate.
    lab = start_forwarder(WEBHOOK_URL=eda.tls_url, WEBHOOK_INSECURE_SKIP_VERIFY="true", CLUSTER_NAME="lab")
    eda.wait_for_events(lambda ev: any(e["name"] == "over-tls" for e in mine(ev, "lab")))
    lab.wait_ready()


def test_webhook_down_during_1000_changes_then_all_delivered_in_order(apiserver, tmp_path, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(BULK)
    receiver = rulebook(tmp_path / "eda-late")
    forwarder = start_forwarder(
        WEBHOOK_URL=receiver.url, COALESCE="false", QUEUE_CAPACITY="100", WATCH_KINDS="pvc"
    )
    forwarder.wait_until(lambda: listed_everything(forwarder), what="first list")

    # 1,000 writes: 100 claims created, each relabelled 8 times, all deleted; interleaved so
    # that concurrent workers could reorder them if per-object order were not kept.
    names = [f"disk-{i:03d}" for i in range(100)]
    for n in names:
        kube.create(pvc(BULK, n))
    for step in range(8):
        for n in names:
            kube.label("PersistentVolumeClaim", BULK, n, str(step))
    for n in names:
        kube.delete("PersistentVolumeClaim", BULK, n)
    history = kube.history(kinds=("PersistentVolumeClaim",))
    assert len(history) == 1000

    # Nothing listens: the forwarder retries, its queue fills up, the watch waits.
    forwarder.wait_until(
        lambda: forwarder.metric("ocpdr_forwarder_delivery_failures_total", reason="connect") > 0,
        what="connection failures",
    )
    forwarder.wait_until(lambda: forwarder.metric("ocpdr_forwarder_queue_depth") == 100, what="a full queue")
    assert forwarder.get("/readyz")[0] == 503

    with receiver:
        events = mine(receiver.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= 1000, timeout=120), cluster_name)
        forwarder.wait_ready()
    assert len(events) == 1000
    assert delivered_per_object(events) == history_per_object(history)
    assert all(e["synthetic"] is False for e in events)
    assert forwarder.metric("ocpdr_forwarder_relists_total", kind="PersistentVolumeClaim") == 0


def test_waiting_modifications_of_one_object_coalesce_into_the_newest(apiserver, eda, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    port = free_port()
    forwarder = start_forwarder(WEBHOOK_URL=f"http://127.0.0.1:{port}/ocpdr", WATCH_KINDS="pvc")
    forwarder.wait_until(lambda: listed_everything(forwarder), what="first list")
    kube.create(pvc(WATCHED, "busy"))
    last = [kube.label("PersistentVolumeClaim", WATCHED, "busy", str(step)) for step in range(20)][-1]
    forwarder.wait_until(
        lambda: forwarder.metric("ocpdr_forwarder_events_observed_total", kind="PersistentVolumeClaim", type_="MODIFIED")
        == 20,
        what="twenty MODIFIED observed",
    )
    # The ADDED is being retried; the first MODIFIED waits behind it and absorbs the other 19.
    forwarder.wait_until(
        lambda: forwarder.metric("ocpdr_forwarder_events_coalesced_total", kind="PersistentVolumeClaim") == 19,
        what="nineteen coalesced",
    )
    assert forwarder.metric("ocpdr_forwarder_queue_depth") == 1
    with Relay(port, eda.port):  # the webhook is reachable again
        events = mine(eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= 2), cluster_name)
        forwarder.wait_ready()
    assert [(e["type"], e["resourceVersion"]) for e in events] == [
        ("ADDED", events[0]["resource"]["metadata"]["resourceVersion"]),
        ("MODIFIED", last.resource_version),
    ]
    assert events[1]["resource"]["metadata"]["labels"]["step"] == "19"


def test_410_gone_during_a_burst_sends_the_missed_delete_as_synthetic(apiserver, eda, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    names = [f"vol-{i:02d}" for i in range(20)]
    forwarder = start_forwarder(WATCH_KINDS="pvc")
    forwarder.wait_ready()
    for n in names:
        kube.create(pvc(WATCHED, n))

    stop_burst = threading.Event()

    def burst():
        step = 0
        while not stop_burst.is_set():
            step += 1
            for n in names[1:10]:
                kube.label("PersistentVolumeClaim", WATCHED, n, str(step))

    writer = threading.Thread(target=burst)
    writer.start()
    try:
        eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= 40)
        # A gap: the forwarder is frozen while its watches are cut, an object is deleted and
        # another created, and the server forgets the history it would resume from.
        os.kill(forwarder.proc.pid, signal.SIGSTOP)
        try:
            apiserver.control("cut-watches", {})
            kube.delete("PersistentVolumeClaim", WATCHED, "vol-00")
            kube.create(pvc(WATCHED, "vol-new"))
            apiserver.control("expire-history", {})
        finally:
            os.kill(forwarder.proc.pid, signal.SIGCONT)
        # The watch reads the cut only once the outbox has room again (it pauses rather than
        # drop), which takes as long as the shared rulebook needs to take the burst's backlog.
        forwarder.wait_until(
            lambda: forwarder.metric("ocpdr_forwarder_relists_total", kind="PersistentVolumeClaim") >= 1,
            timeout=180,
            what="a relist",
        )
    finally:
        stop_burst.set()
        writer.join()

    # Caught up: every object's last delivered state is its last written one (a synthetic
    # DELETED carries the last known object, so only its type can be compared).
    final = {}
    for h in kube.history(kinds=("PersistentVolumeClaim",)):
        final[h["name"]] = "DELETED" if h["type"] == "DELETED" else h["resourceVersion"]

    def caught_up(events):
        last = {}
        for e in mine(events, cluster_name):
            last[e["name"]] = "DELETED" if e["type"] == "DELETED" else e["resourceVersion"]
        return last == final

    events = mine(eda.wait_for_events(caught_up), cluster_name)
    deleted = [e for e in events if e["name"] == "vol-00" and e["type"] == "DELETED"]
    assert len(deleted) == 1
    assert deleted[0]["synthetic"] is True
    assert deleted[0]["resource"]["metadata"]["uid"] == next(
        h["uid"] for h in kube.history() if h["name"] == "vol-00"
    )
    added = [e for e in events if e["name"] == "vol-new"]
    assert [(e["type"], e["synthetic"]) for e in added] == [("ADDED", True)]
    # Per object, the resourceVersions arrive in the order the server wrote them.
    order = {h["resourceVersion"]: i for i, h in enumerate(kube.history())}
    for name, seq in delivered_per_object(events).items():
        positions = [order[rv] for _, rv in seq]
        assert positions == sorted(positions), name


def test_restart_with_state_configmap_sends_exactly_what_changed_while_stopped(
    apiserver, eda, start_forwarder, cluster_name
):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    kube.namespace("ocpdr")
    # Saved only at shutdown (the periodic save is an hour away), so the restart proves that save.
    state = {"STATE_CONFIGMAP": "ocpdr/forwarder-state", "STATE_FLUSH_S": "3600", "WATCH_NAMESPACES": WATCHED}
    for name in ("keep", "change", "remove"):
        kube.create(pvc(WATCHED, name))
    kube.create(pv("pv-remove", WATCHED, "remove"))

    first = start_forwarder(**state)
    first.wait_ready()
    eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= 4)
    assert first.stop() == 0
    saved = [log for log in first.logs() if log.get("message") == "stopped"]
    assert saved, first.text()[-2000:]
    seen_before = len(mine(eda.events(), cluster_name))

    # While it is down: one change, two deletions, one creation.
    changed = kube.label("PersistentVolumeClaim", WATCHED, "change", "v2")
    kube.delete("PersistentVolumeClaim", WATCHED, "remove")
    kube.delete("PersistentVolume", None, "pv-remove")
    created = kube.create(pvc(WATCHED, "new"))

    second = start_forwarder(**state)
    second.wait_ready()
    events = mine(eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= seen_before + 4), cluster_name)
    second.wait_until(
        lambda: second.metric("ocpdr_forwarder_queue_depth") == 0
        and second.metric("ocpdr_forwarder_deliveries_in_flight") == 0,
        what="an idle queue",
    )
    after = sorted((e["kind"], e["type"], e["name"], e["synthetic"]) for e in events[seen_before:])
    assert after == [
        ("PersistentVolume", "DELETED", "pv-remove", True),
        ("PersistentVolumeClaim", "ADDED", "new", True),
        ("PersistentVolumeClaim", "DELETED", "remove", True),
        ("PersistentVolumeClaim", "MODIFIED", "change", True),
    ]
    by_name = {e["name"]: e for e in events[seen_before:]}
    assert by_name["change"]["resourceVersion"] == changed.resource_version
    assert by_name["new"]["resourceVersion"] == created.resource_version
    # The DELETED of an object removed while down carries the saved stub: identity and binding.
    stub = by_name["pv-remove"]["resource"]
    assert stub["spec"]["claimRef"]["namespace"] == WATCHED
    assert by_name["pv-remove"]["namespace"] == WATCHED
    observed = sum(
        second.metric("ocpdr_forwarder_events_observed_total", kind=k, type_=t)
        for k in KINDS
        for t in ("ADDED", "MODIFIED", "DELETED")
    )
    assert observed == 4, "nothing but the changes made while it was stopped"

    # Without saved state, a start sends every existing object as ADDED (the seed's behaviour).
    second.stop()
    third = start_forwarder(WATCH_NAMESPACES=WATCHED)
    third.wait_ready()
    fresh = sorted(
        (e["type"], e["name"])
        for e in mine(eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= seen_before + 7), cluster_name)[
            seen_before + 4 :
        ]
    )
    assert fresh == [("ADDED", "change"), ("ADDED", "keep"), ("ADDED", "new")]


def test_sigterm_while_the_webhook_is_down_loses_nothing(apiserver, eda, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    kube.namespace("ocpdr")
    state = {"STATE_CONFIGMAP": "ocpdr/forwarder-state", "WATCH_KINDS": "pvc", "SHUTDOWN_GRACE_S": "1"}
    kube.create(pvc(WATCHED, "delivered"))
    first = start_forwarder(**state)
    eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) == 1)
    assert first.stop() == 0

    nobody = f"http://127.0.0.1:{free_port()}/ocpdr"
    stuck = start_forwarder(WEBHOOK_URL=nobody, **state)
    stuck.wait_until(lambda: listed_everything(stuck), what="first list")
    for i in range(3):
        kube.create(pvc(WATCHED, f"queued-{i}"))
    stuck.wait_until(
        lambda: stuck.metric("ocpdr_forwarder_events_observed_total", kind="PersistentVolumeClaim", type_="ADDED") == 3,
        what="three queued changes",
    )
    assert stuck.stop() == 0
    stopping = [log for log in stuck.logs() if log.get("message", "").startswith("grace period over")]
    assert stopping and stopping[0]["undelivered"] == 3, stuck.text()[-2000:]

    # The saved state has what was acknowledged and nothing else: the next start sends the
    # three queued changes, and not the one delivered before.
    resumed = start_forwarder(**state)
    events = mine(eda.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= 4), cluster_name)
    assert sorted((e["type"], e["name"], e["synthetic"]) for e in events[1:]) == [
        ("ADDED", f"queued-{i}", True) for i in range(3)
    ]
    resumed.wait_ready()
    observed = resumed.metric("ocpdr_forwarder_events_observed_total", kind="PersistentVolumeClaim", type_="ADDED")
    assert observed == 3


def test_wrong_token_loses_nothing_and_says_401(apiserver, tmp_path, start_forwarder, cluster_name):
    kube = Kube(apiserver)
    kube.namespace(WATCHED)
    wrong = "not-the-webhook-token-7d2b"
    refusing = rulebook(tmp_path / "eda-refusing").start()
    try:
        forwarder = start_forwarder(WEBHOOK_URL=refusing.url, WEBHOOK_TOKEN=wrong, WATCH_KINDS="pvc")
        forwarder.wait_until(lambda: listed_everything(forwarder), what="first list")
        for i in range(5):
            kube.create(pvc(WATCHED, f"disk-{i}"))
        kube.label("PersistentVolumeClaim", WATCHED, "disk-0", "1")
        kube.delete("PersistentVolumeClaim", WATCHED, "disk-1")
        forwarder.wait_until(
            lambda: forwarder.metric("ocpdr_forwarder_delivery_failures_total", reason="http_401") >= 2,
            what="401 failures",
        )
        status, why = forwarder.get("/readyz")
        assert status == 503 and "failure" in why
        assert mine(refusing.events(), cluster_name) == []
    finally:
        refusing.stop()

    logged = [log for log in forwarder.logs() if log.get("reason") == "http_401"]
    assert logged and logged[0]["level"] == "ERROR"
    assert "401" in logged[0]["message"] and "configuration error" in logged[0]["message"]
    assert wrong not in forwarder.text() and TOKEN not in forwarder.text()

    # The operator gives the webhook the forwarder's token: everything arrives, in order.
    with rulebook(tmp_path / "eda-fixed", token=wrong, port=refusing.port) as fixed:
        history = kube.history(kinds=("PersistentVolumeClaim",))
        events = mine(fixed.wait_for_events(lambda ev: len(mine(ev, cluster_name)) >= len(history)), cluster_name)
        forwarder.wait_ready()
    assert delivered_per_object(events) == history_per_object(history)
