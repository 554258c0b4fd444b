"""The project's fake Kubernetes API server (`tests/fake-apiserver`), run as a process.

One class for pytest, the local lab and the benchmarks: `FakeApiServer(workdir)` starts
`fake-apiserver` on a free loopback port (it prints its URL once it accepts connections),
writes the kubeconfig into `workdir`, and exposes the `/_fake/` control endpoints. The lab starts
two (primary and DR) side by side.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness import paths

_built: set[str] = set()


def binary(profile: str = "debug") -> Path:
    """The fake-apiserver binary, built (incrementally) once per process.

    `FAKE_APISERVER_BIN` points at a prebuilt one instead (e.g. a release build for benchmarks).
    """
    override = os.environ.get("FAKE_APISERVER_BIN")
    if override:
        return Path(override)
    if profile not in _built:
        cmd = ["cargo", "build", "--quiet", "--locked", "-p", "fake-apiserver", "--bin", "fake-apiserver"]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, cwd=paths.REPO, check=True)
        _built.add(profile)
    return paths.cargo_bin("fake-apiserver", profile)


class FakeApiServer:
    """One fake API server process.

    `token` is passed through the environment (not the command line, where `ps` shows it) and
    turns on `--tls`, because kubectl sends credentials only over HTTPS (the CA is in the
    kubeconfig); `args` are extra flags (`--no-controllers`, `--state-dir DIR`, `--tls`, ...);
    `detached` starts it in its own session, so it outlives its starter (the lab).
    """

    def __init__(
        self,
        workdir: str | Path,
        token: str | None = None,
        args: tuple[str, ...] | list[str] = (),
        binary_path: str | Path | None = None,
        detached: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.detached = detached
        self.token = token
        self.args = list(args)
        self.binary_path = Path(binary_path) if binary_path else None
        self.kubeconfig = self.workdir / "kubeconfig"
        self.log = self.workdir / "fake-apiserver.log"
        self.url = ""
        self.proc: subprocess.Popen | None = None
        if token and "--tls" not in self.args:
            self.args.append("--tls")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def start(self, timeout: float = 30.0) -> "FakeApiServer":
        """Starts the server and returns once it accepts connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        exe = self.binary_path or binary()
        cmd = [str(exe), "--listen", "127.0.0.1:0", "--kubeconfig-out", str(self.kubeconfig), *self.args]
        env = dict(os.environ)
        env.pop("FAKE_APISERVER_TOKEN", None)
        if self.token:
            env["FAKE_APISERVER_TOKEN"] = self.token
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps writing to it
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=self.detached,
            )
        finally:
            log.close()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode().strip() if ready else ""
        if not line.startswith(("http://", "https://")):
            self.stop()
            raise RuntimeError(f"fake-apiserver did not start: {self.log.read_text()[-2000:]}")
        self.url = line
        return self

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> "FakeApiServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def request(self, method: str, path: str, body=None, content_type: str = "application/json"):
        """One HTTP request with the server's token; returns (status, parsed JSON or text)."""
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        context = None
        if self.url.startswith("https://"):
            context = ssl.create_default_context(cadata=self.ca_pem())
        try:
            with urllib.request.urlopen(req, timeout=30, context=context) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def ca_pem(self) -> str:
        """The PEM of the CA that signed the server's certificate (with TLS)."""
        match = re.search(r"certificate-authority-data: (\S+)", self.kubeconfig.read_text())
        if not match:
            raise RuntimeError("this server does not serve TLS")
        return base64.b64decode(match.group(1)).decode()

    def control(self, path: str, body: dict | None = None):
        """Calls a `/_fake/` endpoint (POST with `body`, GET without); returns its JSON."""
        path = path if path.startswith("/_fake/") else "/_fake/" + path.lstrip("/")
        status, result = self.request("GET" if body is None else "POST", path, body)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {result}")
        return result

    def kubectl(self, *args: str, kubectl: str | Path = "kubectl", check: bool = True, input: str | None = None):
        """Runs kubectl against this server (own discovery cache dir); returns CompletedProcess."""
        cmd = [str(kubectl), "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.workdir / "kube-cache"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc


def kubectl_binaries() -> dict[str, Path]:
    """The kubectl binaries the tests run with: the system one and Debian's 1.20 (from setup)."""
    found = {}
    system = shutil.which("kubectl")
    if system:
        found["system"] = Path(system)
    found["debian-1.20"] = paths.BUILD / "kubectl-1.20" / "usr" / "bin" / "kubectl"
    return found


def wait_until(what: str, check, timeout: float = 15.0, interval: float = 0.05):
    """Polls `check()` until it returns a truthy value (returned), or fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
