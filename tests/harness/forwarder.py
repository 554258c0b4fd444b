"""Running the real `ocpdr-forwarder` binary: start it with an environment, read its /readyz,
/metrics and JSON logs, stop it with SIGTERM as Kubernetes does."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness import paths
from harness.ports import free_port, wait_for_port

_built: dict[str, Path] = {}


def binary(profile: str = "debug") -> Path:
    """The forwarder binary, built by cargo for this checkout (incremental, once per process)."""
    if profile not in _built:
        cmd = ["cargo", "build", "--locked", "-p", "ocpdr-forwarder"]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, cwd=paths.REPO, check=True)
        _built[profile] = paths.cargo_bin("ocpdr-forwarder", profile)
    return _built[profile]


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    """OpenMetrics text → {(name, frozenset of (label, value)): value}."""
    out: dict[tuple[str, frozenset], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        pairs = []
        for item in labels.rstrip("}").split(","):
            if item:
                key, _, val = item.partition("=")
                pairs.append((key, val.strip('"')))
        out[(name, frozenset(pairs))] = float(value)
    return out


class Forwarder:
    """One ocpdr-forwarder process."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        profile: str = "debug",
        args: list[str] | None = None,
        program: Path | None = None,
    ) -> None:
        """`env` holds the forwarder's settings (WEBHOOK_URL, CLUSTER_NAME, KUBECONFIG, ...);
        LISTEN_ADDR defaults to a free loopback port. `args` selects a mode (`["nfs-watch"]`);
        `program` runs an installed copy instead of the cargo-built binary."""
        self.args = args or []
        self.program = program
        self.port = free_port()
        self.env = {"LISTEN_ADDR": f"127.0.0.1:{self.port}", "LOG_LEVEL": "info", **env}
        self.port = int(self.env["LISTEN_ADDR"].rsplit(":", 1)[1])
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = self.workdir / f"forwarder-{self.port}.log"
        self.profile = profile
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Forwarder:
        """Starts the forwarder and waits until its probe port answers."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.program or binary(self.profile)), *self.args],
                env={"PATH": "/usr/bin:/bin", **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_for_port(self.port, timeout=timeout, proc=self.proc)
        return self

    def get(self, path: str) -> tuple[int, str]:
        """GET a probe path; (status, body)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        """The current metrics."""
        status, text = self.get("/metrics")
        assert status == 200, text
        return parse_metrics(text)

    def metric(self, name: str, **labels: str) -> float:
        """One series' value (0 when absent); `type_` stands for the `type` label."""
        wanted = frozenset((k.rstrip("_"), v) for k, v in labels.items())
        return self.metrics().get((name, wanted), 0.0)

    def wait_until(self, condition, timeout: float = 60, what: str = "condition") -> None:
        """Polls `condition()` until true; fails with the log tail on timeout or exit."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"forwarder exited ({self.proc.returncode}):\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not reached after {timeout}s:\n{self.text()[-3000:]}")
            time.sleep(0.1)

    def wait_ready(self, timeout: float = 60) -> None:
        """Waits until /readyz says 200."""
        self.wait_until(lambda: self.get("/readyz")[0] == 200, timeout, "readiness")

    def text(self) -> str:
        """Everything the forwarder logged."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def logs(self) -> list[dict]:
        """The JSON log records."""
        out = []
        for line in self.text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, as Kubernetes stops a pod; waits and returns the exit status."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Forwarder:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_once(env: dict[str, str], args: list[str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs the forwarder to completion (for start-up errors, --help)."""
    return subprocess.run(
        [str(binary()), *(args or [])],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )

