"""The nfs_change_watcher role with real ansible-playbook and the installed collection, into a
scratch root (no systemd runs here): check mode changes nothing, a run installs the binary, a
0600 environment file without the token in any output and a unit systemd-analyze accepts, a
second run changes nothing, and a watcher started exactly as the unit starts it (its ExecStart
with its EnvironmentFile) sends VolumeData events to the rulebook."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from eda_setup import TOKEN

from harness import forwarder
from harness.ansible import run_playbook
from harness.forwarder import Forwarder
from harness.nfswatch import ExportRoot, write
from harness.ports import free_port

PLAYBOOK = Path(__file__).parent / "nfs_watch.yml"
ROLE = "ocpdr.dr.nfs_change_watcher : "
INSTALL = ROLE + "Install the ocpdr-forwarder binary"
ENV_FILE = ROLE + "Write the environment file"
UNIT = ROLE + "Write the systemd unit"
SERVICE = ROLE + "Enable and start the service"


def environment_file(path: Path) -> dict[str, str]:
    """KEY="value" lines as systemd's EnvironmentFile reads them."""
    out = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = shlex.split(value)[0]
    return out


def test_role_installs_a_working_watcher_service(collection, eda, cluster_name, tmp_path):
    root = tmp_path / "root"
    export = ExportRoot(tmp_path / "exports" / "primary")
    volume = export.volume("app-ns1", "vm-disk")
    export.write_map([volume])
    port = free_port()
    extra = {"root": str(root), "export_root": str(export.root), "cluster_name": cluster_name,
             "webhook_url": eda.url, "webhook_token": TOKEN, "binary_src": str(forwarder.binary()),
             "listen_port": port}  # fmt: skip

    check = run_playbook(PLAYBOOK, extra_vars={**extra, "manage_service": True}, check=True, diff=True).assert_ok()
    assert check.task(UNIT)["changed"] is True
    service = [r["status"] for r in check.results if r["task"] == SERVICE]
    assert service == ["skipped"], "a unit systemd does not know yet is not queried in check mode"
    assert not root.exists(), "check mode wrote nothing"

    first = run_playbook(PLAYBOOK, extra_vars=extra, diff=True, verbosity=2).assert_ok()
    assert all(first.task(t)["changed"] for t in (INSTALL, ENV_FILE, UNIT))
    second = run_playbook(PLAYBOOK, extra_vars=extra, diff=True).assert_ok()
    assert not any(second.task(t)["changed"] for t in (INSTALL, ENV_FILE, UNIT))
    for run in (check, first, second):
        assert TOKEN not in run.stdout + run.stderr

    env_path = root / "etc/ocpdr/ocpdr-nfs-watch.env"
    assert env_path.stat().st_mode & 0o777 == 0o600
    env = environment_file(env_path)
    assert env["WEBHOOK_TOKEN"] == TOKEN and env["EXPORT_ROOTS"] == str(export.root)
    assert env["STATE_FILE"] == f"{root}/var/lib/ocpdr-nfs-watch/pending.json"
    assert (root / "var/lib/ocpdr-nfs-watch").stat().st_mode & 0o777 == 0o700

    unit = root / "etc/systemd/system/ocpdr-nfs-watch.service"
    text = unit.read_text()
    assert f"EnvironmentFile={env_path}" in text
    assert "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_DAC_READ_SEARCH" in text
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # Start it as systemd would: ExecStart with the EnvironmentFile's variables.
    exec_start = next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart="))
    binary, mode = shlex.split(exec_start)
    assert Path(binary) == root / "usr/local/bin/ocpdr-forwarder" and mode == "nfs-watch"
    watcher = Forwarder(env, tmp_path / "service", args=[mode], program=Path(binary)).start()
    try:
        watcher.wait_until(lambda: watcher.metric("ocpdr_forwarder_volume_map_volumes") == 1, what="map loaded")
        write(volume.path / "disk.img", writes=100)
        events = eda.wait_for_events(lambda ev: any(e.get("cluster") == cluster_name for e in ev))
        mine = [e for e in events if e.get("cluster") == cluster_name]
        assert [(e["kind"], e["pvc"], e["reason"]) for e in mine] == [("VolumeData", "vm-disk", "changes")]
    finally:
        watcher.stop()
