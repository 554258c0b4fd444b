"""Is the lab up? For each part: its recorded process still runs, its port listens, and it
answers as its clients expect (an authenticated API request, an SSH banner, an S3 listing)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from lab import components, processes
from lab.layout import Layout
from lab.state import LabState


@dataclass
class Check:
    """The verdict on one part of the lab."""

    name: str
    ok: bool
    detail: str


def _banner(host: str, port: int) -> str:
    with socket.create_connection((host, port), timeout=5) as conn:
        return conn.recv(64).decode(errors="replace").strip()


def _probe(layout: Layout, state: LabState, name: str) -> str:
    """What the part answers; raises when it does not answer as it should."""
    if name.startswith("apiserver-"):
        cluster = components.cluster(layout, state, name.removeprefix("apiserver-"))
        namespaces = cluster.list("v1", "Namespace")
        vms = cluster.list("kubevirt.io/v1", "VirtualMachine")
        running = sum(vm.get("status", {}).get("printableStatus") == "Running" for vm in vms)
        return f"{len(namespaces)} namespaces, {running}/{len(vms)} VMs running"
    if name.startswith("sshd-"):
        banner = _banner(state.sites[name.removeprefix("sshd-")]["host"], state.process(name).port)
        if not banner.startswith("SSH-2.0-"):
            raise RuntimeError(f"no SSH banner: {banner!r}")
        return banner
    if name == "s3":
        s3 = components.s3(layout, state)
        listed = s3.client().list_objects_v2(
            Bucket=state.s3["bucket"], Prefix=f"{state.s3['prefix']}/backups/"
        )
        return f"{listed.get('KeyCount', 0)} objects under s3://{state.s3['bucket']}/{state.s3['prefix']}/backups/"
    raise ValueError(f"unknown lab part {name}")


def check(layout: Layout, state: LabState, probe: bool = True) -> list[Check]:
    """One `Check` per recorded process; `probe` also asks each part to answer."""
    checks = []
    for proc in state.processes:
        if not processes.running(proc.pid, proc.started):
            checks.append(Check(proc.name, False, f"process {proc.pid} is not running"))
        elif not processes.listening(proc.host, proc.port):
            checks.append(Check(proc.name, False, f"nothing listens on {proc.host}:{proc.port}"))
        elif probe:
            try:
                checks.append(Check(proc.name, True, _probe(layout, state, proc.name)))
            except Exception as err:  # noqa: BLE001 - any failure to answer is the verdict
                checks.append(Check(proc.name, False, f"does not answer: {err}"))
        else:
            checks.append(Check(proc.name, True, f"pid {proc.pid}, {proc.host}:{proc.port}"))
    return checks
