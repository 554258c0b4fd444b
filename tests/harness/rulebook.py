"""A real ansible-rulebook with the `ansible.eda.webhook` source, as the tests' EDA receiver.

ansible.eda is not installable offline, so the source resolves through the one-line shim in
`tests/eda_sources/` (`-S`), which is ansible-rulebook's own builtin webhook under the name AAP
decision environments use. The process runs in the background with its output in a file; rules
print marker lines (see `tests/forwarder/rulebook.yml`) that `events()` and `rules()` parse.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from harness import paths
from harness.ansible import ansible_env
from harness.ports import free_port, wait_for_port

SHIM_SOURCES = paths.REPO / "tests" / "eda_sources"
EVENT_MARK = "OCPDR_EVENT "
RULE_MARK = "OCPDR_RULE "


def java_home() -> str:
    """The JDK ansible-rulebook should use: the one `java` on PATH belongs to (Java 17 here)."""
    java = subprocess.run(["sh", "-c", "readlink -f \"$(command -v java)\""], capture_output=True, text=True)
    return str(Path(java.stdout.strip()).parent.parent)


class Rulebook:
    """One ansible-rulebook process listening on a loopback port."""

    def __init__(
        self,
        rulebook: Path,
        workdir: Path,
        variables: dict,
        port: int | None = None,
        *,
        port_variable: str = "webhook_port",
        more_webhooks: bool = True,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """`variables` go to `--vars`, with `port_variable` (`port`, or a free one) added: the
        webhook at `url`. With `more_webhooks` (the forwarder's test rulebook) also
        `webhook_hmac_port` and `webhook_tls_port` (free ones): `hmac_url` and `tls_url`.
        `args` are appended to the command line (e.g. `--controller-url`), `env` to its environment."""
        self.port = port or free_port()
        self.hmac_port = free_port() if more_webhooks else None
        self.tls_port = free_port() if more_webhooks else None
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.variables = {**variables, port_variable: self.port}
        if more_webhooks:
            self.variables.update(webhook_hmac_port=self.hmac_port, webhook_tls_port=self.tls_port)
        self.args = args
        self.env = env or {}
        self.rulebook = rulebook
        self.output = self.workdir / f"ansible-rulebook-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The webhook that checks the Bearer token."""
        return f"http://127.0.0.1:{self.port}/ocpdr"

    @property
    def hmac_url(self) -> str:
        """The webhook that checks the HMAC signature."""
        return f"http://127.0.0.1:{self.hmac_port}/ocpdr"

    @property
    def tls_url(self) -> str:
        """The webhook that checks the Bearer token over TLS (certificate for `localhost`)."""
        return f"https://localhost:{self.tls_port}/ocpdr"

    def start(self, timeout: float = 120) -> Rulebook:
        """Starts ansible-rulebook and waits until its webhooks accept connections."""
        vars_file = self.workdir / f"vars-{self.port}.yml"
        vars_file.write_text(yaml.safe_dump(self.variables))
        inventory = self.workdir / "inventory.yml"
        inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
        empty = self.workdir / "no-collections"
        empty.mkdir(exist_ok=True)
        env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(empty), "JAVA_HOME": java_home(), **self.env})
        cmd = [
            str(paths.venv_bin("ansible-rulebook")),
            "-r", str(self.rulebook),
            "-i", str(inventory),
            "--vars", str(vars_file),
            "-S", str(SHIM_SOURCES),
            *self.args,
        ]  # fmt: skip
        with self.output.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        for port in (self.port, self.hmac_port, self.tls_port):
            if port is not None:
                wait_for_port(port, timeout=timeout, proc=self.proc)
        return self

    def text(self) -> str:
        """Everything ansible-rulebook printed so far."""
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def events(self) -> list[dict]:
        """Every payload received, in the order the rules saw them."""
        return [
            json.loads(line[line.index(EVENT_MARK) + len(EVENT_MARK) :])
            for line in self.text().splitlines()
            if EVENT_MARK in line
        ]

    def rules(self) -> list[list[str]]:
        """Every DR rule that matched: [rule id, cluster, kind, name, resourceVersion]."""
        return [
            line[line.index(RULE_MARK) + len(RULE_MARK) :].split()
            for line in self.text().splitlines()
            if RULE_MARK in line
        ]

    def wait_for_events(self, done: Callable[[list[dict]], bool], timeout: float = 60) -> list[dict]:
        """Polls `events()` until `done(events)` holds; raises with the last events on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if done(events):
                return events
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"ansible-rulebook exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(events)} events after {timeout}s; last: {events[-3:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stops ansible-rulebook (SIGINT, then SIGKILL) and waits for it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Rulebook:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

