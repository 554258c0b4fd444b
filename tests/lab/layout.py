"""Where the lab keeps everything: one directory, ``build/lab`` unless ``OCPDR_LAB_DIR`` (or
``--lab-dir``) names another, so tests can run a lab of their own beside a developer's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness import paths

SITES = ("primary", "dr")
CLUSTERS = ("primary", "dr")


def default_root() -> Path:
    """``$OCPDR_LAB_DIR`` or ``build/lab``."""
    return Path(os.environ.get("OCPDR_LAB_DIR") or paths.BUILD / "lab").resolve()


@dataclass(frozen=True)
class Layout:
    """The paths of one lab below `root`."""

    root: Path

    @property
    def lock(self) -> Path:
        """Held while a command changes the lab; beside the root, which `down` deletes."""
        return self.root.parent / f".{self.root.name}.lock"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def env_file(self) -> Path:
        return self.root / "lab.env"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def hosts(self) -> Path:
        return self.inventory / "hosts.ini"

    @property
    def group_vars(self) -> Path:
        return self.inventory / "group_vars" / "all.yml"

    def host_vars(self, host: str) -> Path:
        return self.inventory / "host_vars" / f"{host}.yml"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    @property
    def control_path_dir(self) -> Path:
        """Ansible's ssh ControlMaster sockets for the lab's hosts."""
        return self.root / "ssh-cp"

    def site(self, name: str) -> Path:
        """An NFS site's root: ``ssh/`` (keys, sshd config and log) and ``export/``."""
        return self.root / "sites" / name

    def cluster(self, name: str) -> Path:
        """A cluster's directory: kubeconfig, ``ca.crt``, the API server's log."""
        return self.root / "clusters" / name

    @property
    def secrets(self) -> Path:
        """Tokens and S3 keys, one file each (mode 0600)."""
        return self.root / "secrets"

    def token_file(self, cluster: str) -> Path:
        return self.secrets / f"{cluster}-token"

    @property
    def s3_credentials(self) -> Path:
        """The S3 keys as an AWS credentials file (what OADP's ``cloud-credentials`` holds)."""
        return self.secrets / "s3-credentials"

    @property
    def seed(self) -> Path:
        """The seed's manifests and volumes (``ocpdr-fixtures lab``) and the backups written."""
        return self.root / "seed"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def evidence(self) -> Path:
        """``evidence_root`` of the lab's runs."""
        return self.root / "evidence"
