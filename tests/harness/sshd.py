"""One "NFS site" for tests, the lab and benchmarks: a real sshd on a free loopback port.

A site stands for one NFS server reachable over SSH. It has:

- its own sshd on ``127.0.0.1:<free port>`` with its own host key, run as the current user
  (root in CI), ``PasswordAuthentication no``, an sftp subsystem (Ansible copies modules with
  sftp) and ``StrictModes no`` (keys may live below a world-writable temp directory);
- ``client_key``: the key a client (the controller, a test) logs in with; it is authorized for
  the site's user only (``AuthorizedKeysFile`` is per user, so another user is refused);
- ``known_hosts``: this site's host key, for clients connecting to it; nothing is ever written
  to ``~/.ssh``;
- ``export``: the export root directory, the tree an NFS server would export;
- ``identity_key`` and ``peer_known_hosts``: the site's own outgoing identity and the host keys
  it trusts, used when this site runs rsync to another site. :meth:`SshSite.pair` authorizes a
  site's identity on a peer and trusts the peer's host key, so e.g. the primary can push to DR
  with its own key, as real NFS servers do.

Typical use (pytest fixture ``ssh_sites`` in ``tests/conftest.py`` gives a paired primary and DR)::

    with SshSite("primary", tmp / "primary") as primary, SshSite("dr", tmp / "dr") as dr:
        primary.pair(dr)                       # primary -> dr with primary's identity
        subprocess.run(["rsync", "-a", "-e", primary.rsh_to(dr), f"{primary.export}/",
                        dr.url(dr.export)], check=True)
        inventory = {"all": {"hosts": {"primary": primary.inventory_host()}}}
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from harness.ports import free_port, wait_for_port

SSHD = "/usr/sbin/sshd"
HOST = "127.0.0.1"


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


class SshSite:
    """A real sshd on a free loopback port with its own keys and export root.

    `host` is the loopback address it listens on (another one than 127.0.0.1 makes a site look
    like a different host); `detached` starts sshd in its own session, so it outlives the
    process that started it (the lab) and no terminal signal reaches it.
    """

    def __init__(
        self, name: str, root: Path, user: str = "root", host: str = HOST, detached: bool = False
    ) -> None:
        self.name = name
        self.root = Path(root)
        self.user = user
        self.host = host
        self.detached = detached
        self.port = 0
        self.ssh_dir = self.root / "ssh"
        self.export = self.root / "export"
        self.host_key = self.ssh_dir / "host_ed25519"
        self.client_key = self.ssh_dir / "client_ed25519"
        self.identity_key = self.ssh_dir / "identity_ed25519"
        self.known_hosts = self.ssh_dir / "known_hosts"
        self.peer_known_hosts = self.ssh_dir / "peer_known_hosts"
        self.authorized_dir = self.ssh_dir / "authorized_keys"
        self.log = self.ssh_dir / "sshd.log"
        self._proc: subprocess.Popen | None = None
        self._log_handle = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "SshSite":
        """Creates keys and directories (once) and starts sshd; returns when it accepts."""
        if self._proc is not None:
            return self
        self.ssh_dir.mkdir(parents=True, exist_ok=True)
        self.ssh_dir.chmod(0o700)
        self.export.mkdir(parents=True, exist_ok=True)
        self.authorized_dir.mkdir(exist_ok=True)
        for key, comment in (
            (self.host_key, f"{self.name} host"),
            (self.client_key, f"client of {self.name}"),
            (self.identity_key, f"{self.name} identity"),
        ):
            if not key.exists():
                _keygen(key, comment)
        self.authorize(self.client_key.with_suffix(".pub"))
        self.peer_known_hosts.touch()
        if os.geteuid() == 0:
            # A root sshd refuses to start without its privilege separation directory, which
            # only systemd creates.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.port = free_port(self.host)
        config = self.ssh_dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.host}",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.ssh_dir / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.authorized_dir}/%u",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "MaxStartups 100:30:200",
                    "MaxSessions 100",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        host_pub = self.host_key.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self._log_handle = open(self.log, "ab")
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=self.detached,
        )
        try:
            wait_for_port(self.port, proc=self._proc, host=self.host)
        except RuntimeError as err:
            self.stop()
            raise RuntimeError(f"sshd of site {self.name} did not start: {self.log.read_text()}") from err
        return self

    @property
    def pid(self) -> int | None:
        """The sshd listener's process id while this object runs it."""
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        """Stops sshd (connections already open end with it). Keys and data stay."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def __enter__(self) -> "SshSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- trust -------------------------------------------------------------------------------

    def authorize(self, public_key: Path, user: str | None = None) -> None:
        """Lets the holder of `public_key` (a ``.pub`` file) log in as `user` (the site's user)."""
        path = self.authorized_dir / (user or self.user)
        line = Path(public_key).read_text().strip()
        existing = path.read_text().splitlines() if path.exists() else []
        if line not in existing:
            path.write_text("\n".join([*existing, line]) + "\n")
            path.chmod(0o600)

    def pair(self, peer: "SshSite") -> None:
        """Lets this site log in to `peer` with its own identity, trusting the peer's host key.

        Call on a started peer (its port is part of the known_hosts entry). One direction only:
        ``primary.pair(dr)`` lets the primary push to DR; ``dr.pair(primary)`` lets DR pull.
        """
        peer.authorize(self.identity_key.with_suffix(".pub"))
        line = peer.known_hosts.read_text()
        existing = self.peer_known_hosts.read_text()
        if line not in existing:
            self.peer_known_hosts.write_text(existing + line)

    # -- how to reach this site --------------------------------------------------------------

    def url(self, path: str | Path, user: str | None = None) -> str:
        """An rsync/scp remote spec for `path` on this site: ``root@127.0.0.1:/path``."""
        return f"{user or self.user}@{self.host}:{path}"

    def ssh_args(self) -> list[str]:
        """ssh options for a client (the controller, a test) logging in to this site."""
        return [
            "-p", str(self.port),
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def rsh(self) -> str:
        """The ``rsync -e`` value for a client of this site."""
        return shlex.join(["ssh", *self.ssh_args()])

    def rsh_to(self, peer: "SshSite") -> str:
        """The ``rsync -e`` value for this site reaching `peer` with its own identity."""
        return shlex.join(["ssh", *self._peer_args(peer)])

    def _peer_args(self, peer: "SshSite") -> list[str]:
        return [
            "-p", str(peer.port),
            "-i", str(self.identity_key),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.peer_known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
        ]  # fmt: skip

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Runs `command` on this site over ssh (as a client), like ``ssh site cmd``."""
        kwargs.setdefault("check", True)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(
            ["ssh", *self.ssh_args(), f"{self.user}@{self.host}", shlex.join(command)],
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def sync_ssh_options(self, peer: "SshSite | None" = None) -> dict:
        """The ``ssh`` option of ``ocpdr.dr.nfs_sync`` for reaching this site.

        Without `peer`: as a client of this site (the controller's key). With `peer`: as
        `peer` reaching this site with its own identity (``peer.pair(self)`` first), i.e. for
        nfs_sync delegated to `peer`.
        """
        if peer is None:
            identity, known_hosts = self.client_key, self.known_hosts
        else:
            identity, known_hosts = peer.identity_key, peer.peer_known_hosts
        return {
            "user": self.user,
            "port": self.port,
            "identity_file": str(identity),
            "known_hosts_file": str(known_hosts),
            "strict_host_key_checking": "yes",
        }

    def inventory_host(self) -> dict:
        """Ansible host variables that reach this site over its sshd."""
        return {
            "ansible_host": self.host,
            "ansible_port": self.port,
            "ansible_user": self.user,
            "ansible_connection": "ssh",
            "ansible_ssh_private_key_file": str(self.client_key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes "
                "-o IdentitiesOnly=yes"
            ),
            "ansible_python_interpreter": "/usr/bin/python3",
        }
