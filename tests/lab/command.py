"""The lab's command line (`python -m lab ...`, what `make lab-*` runs) as a subprocess, for tests
and benchmarks that bring up a lab of their own in a directory of their own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness import paths


def lab(lab_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs `python -m lab --lab-dir LAB_DIR ARGS...` as `make lab-*` does; output captured."""
    return subprocess.run(
        [str(paths.venv_bin("python")), "-m", "lab", "--lab-dir", str(lab_dir), *args],
        cwd=paths.REPO,
        env={**os.environ, "PYTHONPATH": str(paths.REPO / "tests")},
        capture_output=True,
        text=True,
        timeout=600,
    )
