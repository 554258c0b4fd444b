"""Running real ansible-playbook against the installed ocpdr.dr collection.

Every run records each task result through the test-only `ocpdr_record` callback, so tests can
assert on what the modules returned as well as on the exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import paths

CALLBACKS = Path(__file__).parent / "callback_plugins"


def ansible_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ansible-* commands: the built collection, no colour, no retry files."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(paths.COLLECTIONS),
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
            "ANSIBLE_CALLBACKS_ENABLED": "ocpdr_record",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "1",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_ROLES_PATH": str(paths.REPO / "collection" / "roles"),
            "PATH": f"{paths.VENV / 'bin'}:{env.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class PlaybookRun:
    """The outcome of one ansible-playbook run."""

    rc: int
    stdout: str
    stderr: str
    results: list[dict] = field(default_factory=list)

    def task(self, name: str, host: str | None = None) -> dict:
        """The result of the (last) task called `name`, optionally on one host."""
        found = [
            r for r in self.results if r["task"] == name and (host is None or r["host"] == host)
        ]
        if not found:
            names = sorted({r["task"] for r in self.results})
            raise KeyError(f"no task {name!r} recorded; tasks: {names}")
        return found[-1]["result"]

    def assert_ok(self) -> "PlaybookRun":
        assert self.rc == 0, f"ansible-playbook failed ({self.rc}):\n{self.stdout}\n{self.stderr}"
        return self


def run_playbook(
    playbook: str | Path,
    *,
    inventory: str | Path | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    tags: list[str] | None = None,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 900,
    verbosity: int = 0,
) -> PlaybookRun:
    """Runs ansible-playbook and returns its exit status, output and recorded task results."""
    with tempfile.TemporaryDirectory(prefix="ocpdr-play-") as tmp:
        record = Path(tmp) / "record.jsonl"
        cmd = [str(paths.venv_bin("ansible-playbook")), str(playbook)]
        cmd += ["-i", str(inventory) if inventory else "localhost,"]
        if extra_vars:
            vars_file = Path(tmp) / "extra_vars.json"
            vars_file.write_text(json.dumps(extra_vars))
            cmd += ["-e", f"@{vars_file}"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if tags:
            cmd += ["--tags", ",".join(tags)]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        proc = subprocess.run(
            cmd,
            cwd=cwd or paths.REPO,
            env=ansible_env({"OCPDR_RECORD_FILE": str(record), **(env or {})}),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        results = []
        if record.exists():
            results = [json.loads(line) for line in record.read_text().splitlines() if line]
        return PlaybookRun(proc.returncode, proc.stdout, proc.stderr, results)
