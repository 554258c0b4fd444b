"""An ocpdr inventory for two NFS sites: hosts and the shared variable contract.

``inventory/hosts.ini`` names the NFS servers ``primary_nfs_server`` and ``dr_nfs_server``
and ``inventory/group_vars/all.yml`` holds the variables every playbook and role reads. Tests
(and the lab) that run roles against real sshd sites (:class:`harness.sshd.SshSite`) need the
same two things with loopback ports, keys and temp directories::

    write_inventory(tmp_path / "inventory.json", primary, dr)
    extra_vars = contract_vars(primary, dr, direction="push")

so a role sees exactly the variable names it sees in production.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import paths
from harness.sshd import SshSite


def write_inventory(path: Path, primary: SshSite, dr: SshSite) -> Path:
    """Writes a JSON inventory with ``localhost`` (local, the venv's Python) and the two NFS
    servers reached through their sshd with the controller's key; returns `path`."""
    inventory = {
        "all": {
            "hosts": {
                "localhost": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": str(paths.venv_bin("python")),
                },
                "primary_nfs_server": primary.inventory_host(),
                "dr_nfs_server": dr.inventory_host(),
            }
        }
    }
    path.write_text(json.dumps(inventory))
    return path


def contract_vars(primary: SshSite, dr: SshSite, *, direction: str = "push") -> dict:
    """The NFS part of ``group_vars/all.yml`` for the two sites.

    Exports map one to one (``primary.export`` → ``dr.export``); ``dr_nfs_export_host`` is a
    name that does not resolve, so anything that tried to reach DR by the name the clusters
    mount instead of ``nfs_sync_peer`` would fail. ``nfs_sync_ssh`` is the identity of the site
    that runs rsync for `direction` (the primary for push, DR for pull), as in production where
    the same key path exists on both servers.
    """
    runner, peer = (primary, dr) if direction == "push" else (dr, primary)
    return {
        "dr_nfs_export_host": "nfs-dr.invalid",
        "nfs_path_map": [{"from": str(primary.export), "to": str(dr.export)}],
        "dr_nfs_allowed_roots": [str(dr.export)],
        "nfs_sync_direction": direction,
        "nfs_sync_ssh": peer.sync_ssh_options(peer=runner),
        "nfs_sync_peer": {
            "primary": {"host": primary.host, "port": primary.port},
            "dr": {"host": dr.host, "port": dr.port},
        },
        "nfs_sync_concurrency": 2,
        "dr_delete_mode": "quarantine",
        "dr_quarantine_dir": str(dr.export / ".ocpdr-quarantine"),
        "dr_metadata_dir": str(dr.export / ".ocpdr-metadata"),
    }
