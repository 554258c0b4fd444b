"""`lab up`: start a lab, or reuse the one running, never a second set of servers.

A lab that runs and answers is reused when it was seeded with the seed and scale asked for (or
none was asked for), and refused otherwise; a lab with some parts gone is refused (run `down`
first); a lab whose processes are all gone (say, after a reboot) is cleared and started afresh.

Starting: build what is missing, start the two NFS sites, S3 and the two API servers (each
recorded in the state as soon as it runs), seed the primary, write the backups, the inventory
and lab.env. If anything fails, every process started is stopped again and the files stay for
their logs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from datetime import datetime, timezone

from harness.apiserver import FakeApiServer
from harness.moto import MotoServer
from harness.sshd import SshSite
from lab import backups, envfile, health, inventory, processes, report, snapshot, tools
from lab import seed as seed_data
from lab.cluster import Cluster
from lab.layout import CLUSTERS, Layout
from lab.lock import Refused, held
from lab.state import LabState, Process

DEFAULT_SEED = 1
DEFAULT_SCALE = 2
# Each NFS site on its own loopback address, so the DR PVs name a server other than the primary's.
SITE_HOSTS = {"primary": "127.0.0.1", "dr": "127.0.0.2"}


def _private(path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


class _Steps:
    """Prints each step of `up` with the time it took."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        print(f"  {what} ({now - self.last:.1f} s)", flush=True)
        self.last = now


def _existing(layout: Layout, state: LabState, seed: int | None, scale: int | None) -> bool:
    """Decides about the lab already in `layout`: True to reuse it, False when it is gone and
    may be replaced; raises Refused otherwise."""
    alive = [p for p in state.processes if processes.running(p.pid, p.started)]
    if not alive:
        print(f"The lab in {layout.root} is gone (none of its processes runs); starting afresh.")
        return False
    checks = health.check(layout, state)
    failed = [c for c in checks if not c.ok]
    if not state.ready or failed:
        why = "; ".join(f"{c.name}: {c.detail}" for c in failed) or "its lab-up did not finish"
        raise Refused(
            f"a lab is in {layout.root} but it is not healthy ({why}). "
            "Run `make lab-down` to stop what is left, then `make lab-up`."
        )
    wanted = {"seed": seed, "scale": scale}
    differ = [
        f"{k} {getattr(state, k)} (asked {v})"
        for k, v in wanted.items()
        if v is not None and v != getattr(state, k)
    ]
    if differ:
        raise Refused(
            f"a lab is already running in {layout.root} with {', '.join(differ)}; "
            "run `make lab-down` first to start one with other data."
        )
    return True


def up(layout: Layout, seed: int | None = None, scale: int | None = None) -> int:
    """Starts (or reuses) the lab; returns the exit status."""
    with held(layout):
        state = LabState.load(layout)
        if state is not None and _existing(layout, state, seed, scale):
            print(
                f"Reusing the lab running in {report.rel(layout.root)} "
                f"(seed {state.seed}, scale {state.scale}, since {state.created}).\n"
            )
            print(report.how_to(layout, state))
            return 0
        if layout.root.exists():
            shutil.rmtree(layout.root)
        return _start(
            layout, DEFAULT_SEED if seed is None else seed, DEFAULT_SCALE if scale is None else scale
        )


def _record(layout: Layout, state: LabState, name: str, pid: int, host: str, port: int) -> None:
    state.processes.append(Process(name, pid, processes.start_time(pid), host, port))
    state.save(layout)


def _start(layout: Layout, seed: int, scale: int) -> int:
    steps = _Steps()
    state = LabState(
        seed=seed, scale=scale, created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    for d in (layout.root, layout.logs, layout.seed, layout.evidence):
        d.mkdir(parents=True, exist_ok=True)
    layout.secrets.mkdir(mode=0o700)
    state.save(layout)
    print(f"Starting the lab in {report.rel(layout.root)} (seed {seed}, scale {scale}):", flush=True)
    try:
        fixtures, apiserver_bin = tools.fixtures(), tools.fake_apiserver()
        built = tools.collection()
        steps.done(
            "binaries current" + (", collection built and installed" if built else ", collection current")
        )

        sites: dict[str, SshSite] = {}
        for name, host in SITE_HOSTS.items():
            site = SshSite(name, layout.site(name), host=host, detached=True).start()
            _record(layout, state, f"sshd-{name}", site.pid, host, site.port)
            state.sites[name] = {"host": host, "port": site.port, "export": str(site.export)}
            sites[name] = site
        # The primary's identity is the replication key (nfs_sync_ssh): it logs in to DR (push)
        # and, as DR holds the same key path in production, to the primary (pull).
        sites["primary"].pair(sites["dr"])
        sites["primary"].pair(sites["primary"])
        steps.done(
            f"NFS sites: primary {sites['primary'].host}:{sites['primary'].port}, "
            f"dr {sites['dr'].host}:{sites['dr'].port}, replication key trusted by both"
        )

        s3 = MotoServer(auth=True, log=layout.logs / "moto.log", detached=True).start()
        _record(layout, state, "s3", s3.pid, "127.0.0.1", s3.port)
        _private(layout.secrets / "s3-access-key", s3.access_key + "\n")
        _private(layout.secrets / "s3-secret-key", s3.secret_key + "\n")
        _private(
            layout.s3_credentials,
            f"[default]\naws_access_key_id={s3.access_key}\naws_secret_access_key={s3.secret_key}\n",
        )
        state.s3 = {
            "endpoint": s3.endpoint,
            "bucket": seed_data.S3_BUCKET,
            "prefix": seed_data.S3_PREFIX,
            "region": seed_data.S3_REGION,
        }
        steps.done(f"S3 {s3.endpoint}")

        clusters: dict[str, Cluster] = {}
        for name in CLUSTERS:
            token = secrets.token_urlsafe(32)
            _private(layout.token_file(name), token + "\n")
            server = FakeApiServer(
                layout.cluster(name),
                token=token,
                args=["--context", name],
                binary_path=apiserver_bin,
                detached=True,
            ).start()
            _record(layout, state, f"apiserver-{name}", server.proc.pid, "127.0.0.1", server.port)
            ca = layout.cluster(name) / "ca.crt"
            ca.write_text(server.ca_pem())
            state.clusters[name] = {
                "url": server.url,
                "kubeconfig": str(server.kubeconfig),
                "ca": str(ca),
                "token_file": str(layout.token_file(name)),
            }
            clusters[name] = Cluster(server, name)
        steps.done(
            f"API servers: primary {state.clusters['primary']['url']}, dr {state.clusters['dr']['url']}"
        )

        summary = seed_data.write(fixtures, layout, state)
        seed_data.load_and_settle(clusters["primary"], clusters["dr"], layout)
        archives = snapshot.write_archives(clusters["primary"])
        data = summary["data"]
        steps.done(
            f"seeded: {summary['primary_objects']} objects on the primary, {summary['dr_objects']} on DR; "
            f"{data['volumes']} volumes, {data['entries']} files, {data['apparent_bytes'] >> 20} MiB "
            f"({data['data_bytes'] >> 10} KiB of data); {len(archives)} snapshot archive"
        )

        state.backups = backups.write_and_upload(
            fixtures, layout, clusters["primary"], list(clusters.values()), s3
        )
        steps.done(
            "backups: " + ", ".join(f"{b['name']} {b['phase']} ({b['items']} items)" for b in state.backups)
        )

        inventory.write(layout, state, sites)
        envfile.write(layout, state, s3.access_key, s3.secret_key)
        state.ready = True
        state.up_seconds = round(time.monotonic() - steps.start, 1)
        state.save(layout)
        steps.done("inventory, ssh config, ansible.cfg and lab.env written")
    except BaseException as err:
        _abort(layout, state, err)
        return 130 if isinstance(err, KeyboardInterrupt) else 1
    print(f"\nThe lab is up ({state.up_seconds} s).\n")
    print(report.how_to(layout, state))
    return 0


def _abort(layout: Layout, state: LabState, err: BaseException) -> None:
    """Stops what `up` started after `err`; the files stay for their logs."""
    print(f"\nlab-up failed: {err}", flush=True)
    left = processes.terminate({p.pid: p.started for p in state.processes})
    if left:
        print(f"could not stop processes {left}; `make lab-down` will try again")
        return
    layout.state.unlink(missing_ok=True)
    print(
        f"Stopped what was started. Logs: {report.rel(layout.root)} "
        "(sites/*/ssh/sshd.log, clusters/*/fake-apiserver.log, logs/moto.log)."
    )
