"""`ocpdr-forwarder nfs-watch` on a real filesystem, delivering to the session's real
ansible-rulebook: one VolumeData event per burst of writes, nothing for paths outside every
volume, nothing lost across a crash or a restart mid-burst, the volume map reloaded when the sync
rewrites it. Both kernel mechanisms (fanotify filesystem marks, inotify) run the same checks."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from eda_setup import TOKEN

from harness import forwarder
from harness.forwarder import Forwarder, run_once
from harness.nfswatch import ExportRoot, watcher, write


@pytest.fixture
def export(tmp_path) -> ExportRoot:
    return ExportRoot(tmp_path / "exports" / "primary")


@pytest.fixture
def start_watcher(tmp_path, eda, cluster_name, export):
    """Starts nfs-watch on `export` against the session rulebook; `env` overrides."""
    started = []

    def start(**env: str):
        settings = {
            "WEBHOOK_URL": eda.url,
            "WEBHOOK_TOKEN": TOKEN,
            "CLUSTER_NAME": cluster_name,
            "EXPORT_ROOTS": str(export.root),
            "STATE_FILE": str(tmp_path / "state" / "pending.json"),
            "DEBOUNCE_QUIET_MS": "300",
            "DEBOUNCE_MAX_MS": "3000",
            "CATCHUP_ON_START": "false",
            "VOLUME_MAP_CHECK_S": "1",
            "RETRY_INITIAL_MS": "50",
            "RETRY_MAX_S": "1",
            "SHUTDOWN_GRACE_S": "5",
            **env,
        }
        w = watcher(settings, tmp_path / "watcher").start()
        w.wait_until(
            lambda: w.metric("ocpdr_forwarder_volume_map_loads_total", result="ok") >= 1
            or not export.map_path.exists(),
            what="map loaded",
        )
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def volume_events(events: list[dict], cluster: str, volume=None) -> list[dict]:
    """The VolumeData events of `cluster` (and `volume`) among `events`."""
    return [
        e
        for e in events
        if e.get("kind") == "VolumeData"
        and e.get("cluster") == cluster
        and (volume is None or e["volume"] == str(volume.path))
    ]


@pytest.mark.parametrize("mechanism", ["fanotify", "inotify"])
def test_burst_gives_few_events_none_outside(export, start_watcher, eda, cluster_name, mechanism):
    disk_vm = export.volume("app-ns1", "vm-disk")
    other = export.volume("app-ns1", "other-disk")
    outside = export.root / "not-a-volume"
    outside.mkdir()
    export.write_map([disk_vm, other])
    w = start_watcher(WATCH_MECHANISM=mechanism)
    assert any(r.get("mechanism") == mechanism for r in w.logs()), w.text()

    before = datetime.now(UTC)
    write(disk_vm.path / "disk.img", writes=10_000, files=20)
    eda.wait_for_events(lambda ev: volume_events(ev, cluster_name, disk_vm) != [])
    write(outside / "scratch.img", writes=100, files=4)
    # The other volume's write is the fence: once its event is in, the outside write (made
    # before it) has been seen and would have been sent.
    write(other.path / "disk.img", writes=10)
    eda.wait_for_events(lambda ev: volume_events(ev, cluster_name, other) != [])
    w.wait_until(lambda: w.metric("ocpdr_forwarder_pending_volumes") == 0, what="no open burst")

    delivered = w.metric("ocpdr_forwarder_events_delivered_total", kind="VolumeData", type_="MODIFIED")
    events = volume_events(
        eda.wait_for_events(lambda ev: len(volume_events(ev, cluster_name)) >= delivered), cluster_name
    )
    vm_events = [e for e in events if e["volume"] == str(disk_vm.path)]
    assert 1 <= len(vm_events) <= 5, f"10,000 writes and 30 file operations gave {len(vm_events)} events"
    assert {e["volume"] for e in events} == {
        str(disk_vm.path),
        str(other.path),
    }, "nothing for paths outside the volumes"
    first = vm_events[0]
    assert (first["type"], first["pv"], first["namespace"], first["pvc"]) == (
        "MODIFIED",
        "pvc-vm-disk",
        "app-ns1",
        "vm-disk",
    )
    assert (first["reason"], first["synthetic"]) == ("changes", False)
    assert sum(e["changes"] for e in vm_events) >= 1
    first_change = datetime.fromisoformat(first["first_change_at"])
    assert before <= first_change <= datetime.fromisoformat(first["last_change_at"])
    assert w.metric("ocpdr_forwarder_fs_changes_total", result="outside") > 0, "the outside write was seen and ignored"
    assert delivered == len(events)


def test_crash_mid_burst_is_resent_from_journal(export, start_watcher, eda, cluster_name):
    disk = export.volume("app-ns1", "vm-disk")
    export.write_map([disk])
    # A burst that stays open: the watcher is killed before it could close.
    w = start_watcher(DEBOUNCE_QUIET_MS="60000", DEBOUNCE_MAX_MS="120000")
    before = datetime.now(UTC)
    write(disk.path / "disk.img", writes=1000)
    w.wait_until(lambda: w.metric("ocpdr_forwarder_journal_pending") == 1, what="burst journalled")
    w.kill()
    assert volume_events(eda.events(), cluster_name) == []

    start_watcher()
    events = volume_events(eda.wait_for_events(lambda ev: volume_events(ev, cluster_name) != []), cluster_name)
    assert [(e["volume"], e["reason"], e["synthetic"]) for e in events] == [(str(disk.path), "recovered", True)]
    assert before <= datetime.fromisoformat(events[0]["first_change_at"]), "the original first change time is kept"


def test_restart_mid_burst_sends_open_burst(export, start_watcher, eda, cluster_name):
    disk = export.volume("app-ns1", "vm-disk")
    export.write_map([disk])
    w = start_watcher(DEBOUNCE_QUIET_MS="60000", DEBOUNCE_MAX_MS="120000")
    write(disk.path / "disk.img", writes=1000)
    w.wait_until(lambda: w.metric("ocpdr_forwarder_pending_volumes") == 1, what="burst open")
    assert w.stop() == 0
    events = volume_events(eda.wait_for_events(lambda ev: volume_events(ev, cluster_name) != []), cluster_name)
    assert [(e["volume"], e["reason"]) for e in events] == [(str(disk.path), "changes")]
    assert events[0]["changes"] >= 1


def test_changes_while_stopped_caught_up_at_start(export, start_watcher, eda, cluster_name):
    a, b = export.volume("app-ns1", "a"), export.volume("app-ns2", "b")
    export.write_map([a, b])
    write(a.path / "disk.img", writes=10)  # no watcher running
    start_watcher(CATCHUP_ON_START="true")
    eda.wait_for_events(lambda ev: len(volume_events(ev, cluster_name)) >= 2)
    events = volume_events(eda.events(), cluster_name)
    assert sorted((e["pvc"], e["reason"]) for e in events) == [("a", "startup"), ("b", "startup")]


def test_volume_map_reloaded_when_rewritten(export, start_watcher, eda, cluster_name):
    a, b = export.volume("app-ns1", "a"), export.volume("app-ns1", "b")
    export.write_map([a])
    w = start_watcher()
    write(b.path / "disk.img", writes=10)
    w.wait_until(lambda: w.metric("ocpdr_forwarder_fs_changes_total", result="outside") > 0, what="b ignored")

    export.write_map([a, b])
    w.wait_until(lambda: w.metric("ocpdr_forwarder_volume_map_volumes") == 2, what="map reloaded")
    write(b.path / "disk.img", writes=10)
    eda.wait_for_events(lambda ev: volume_events(ev, cluster_name, b) != [])

    export.write_map([], text='{"version": 1, "volumes": [{"path": "relative"}]}')
    w.wait_until(
        lambda: w.metric("ocpdr_forwarder_volume_map_loads_total", result="error") >= 1, what="bad map refused"
    )
    assert w.metric("ocpdr_forwarder_volume_map_volumes") == 2, "the previous map is kept"
    refused = [r for r in w.logs() if r.get("message", "").startswith("cannot load the volume map")]
    assert "volumes[0]" in refused[-1]["error"], refused
    assert [e["pvc"] for e in volume_events(eda.events(), cluster_name)] == ["b"]


def test_bad_settings_stop_it_with_the_variable_named(tmp_path):
    missing = run_once({"WEBHOOK_URL": "http://127.0.0.1:1/", "CLUSTER_NAME": "c"}, ["nfs-watch"])
    assert missing.returncode == 2
    assert "invalid configuration: EXPORT_ROOTS: required" in missing.stderr
    env = {"WEBHOOK_URL": "http://127.0.0.1:1/", "CLUSTER_NAME": "c", "EXPORT_ROOTS": str(tmp_path / "absent"),
           "STATE_FILE": str(tmp_path / "s.json"), "LISTEN_ADDR": "127.0.0.1:0"}  # fmt: skip
    absent = run_once(env, ["nfs-watch"])
    assert absent.returncode == 1
    assert "EXPORT_ROOTS:" in absent.stdout and "is not a directory" in absent.stdout
    help_text = run_once({}, ["nfs-watch", "--help"]).stdout
    assert "DEBOUNCE_QUIET_MS" in help_text and "WATCH_NAMESPACES" not in help_text


def test_without_cap_sys_admin_it_falls_back_to_inotify_and_says_why(export, tmp_path, eda, cluster_name):
    disk = export.volume("app-ns1", "vm-disk")
    export.write_map([disk])
    env = {"WEBHOOK_URL": eda.url, "WEBHOOK_TOKEN": TOKEN, "CLUSTER_NAME": cluster_name,
           "EXPORT_ROOTS": str(export.root), "STATE_FILE": str(tmp_path / "state.json"),
           "DEBOUNCE_QUIET_MS": "300", "CATCHUP_ON_START": "false"}  # fmt: skip
    # Root without CAP_SYS_ADMIN in its bounding set, as in a container or a restricted unit.
    drop = ["--bounding-set", "-sys_admin", str(forwarder.binary()), "nfs-watch"]
    w = Forwarder(env, tmp_path / "nocap", args=drop, program=Path("/usr/bin/setpriv")).start()
    try:
        w.wait_until(lambda: w.metric("ocpdr_forwarder_volume_map_volumes") == 1, what="map loaded")
        fallback = [r for r in w.logs() if r.get("message", "").startswith("fanotify is unavailable")]
        assert fallback and "CAP_SYS_ADMIN" in fallback[0]["reason"], w.text()
        write(disk.path / "disk.img", writes=100)
        events = volume_events(eda.wait_for_events(lambda ev: volume_events(ev, cluster_name) != []), cluster_name)
        assert [e["pvc"] for e in events] == ["vm-disk"]
    finally:
        w.stop()
    forced = subprocess.run(
        ["/usr/bin/setpriv", *drop],
        env={"PATH": "/usr/bin:/bin", **env, "WATCH_MECHANISM": "fanotify", "LISTEN_ADDR": "127.0.0.1:0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert forced.returncode == 1
    assert "WATCH_MECHANISM=fanotify: fanotify_mark(FAN_MARK_FILESYSTEM)" in forced.stdout, forced.stdout
