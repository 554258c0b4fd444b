"""Running a built module binary directly, exactly as ansible-core runs it on a target.

``<module> <args file>`` with the options as one JSON object plus the controller's
``_ansible_*`` keys; the module prints one JSON object. This is faster than a playbook for
tests that call a module many times; playbook tests cover the Ansible side.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from harness import paths


def module_path(name: str) -> Path:
    """The module binary of the installed collection (built by the ``collection`` fixture)."""
    return paths.COLLECTION / "plugins" / "modules" / name


def write_args(directory: Path, args: dict, *, check_mode: bool = False, diff: bool = False) -> Path:
    """Writes an args file as ansible-core does and returns its path."""
    path = Path(directory) / "args.json"
    path.write_text(
        json.dumps({**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}, default=str)
    )
    return path


def run_module(
    name: str, args: dict, *, check_mode: bool = False, diff: bool = False, timeout: float = 600
) -> dict:
    """Runs module `name` with `args` and returns its JSON result (with ``rc``, the exit status)."""
    with tempfile.TemporaryDirectory(prefix="ocpdr-module-") as tmp:
        args_file = write_args(Path(tmp), args, check_mode=check_mode, diff=diff)
        proc = subprocess.run(
            [str(module_path(name)), str(args_file)],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"expected one JSON line, got: {proc.stdout!r} (stderr: {proc.stderr})"
    result = json.loads(lines[0])
    result["rc"] = proc.returncode
    return result
