"""The benchmarks' own venv (build/bench-venv), apart from the test venv: the "obvious
alternatives" of docs/BENCHMARKS.md need packages the tests must not (the ansible package with
kubernetes.core, the Python Kubernetes client). Created from tests/bench/requirements.txt, and
again whenever that file changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import paths

BENCH_VENV = paths.BUILD / "bench-venv"
REQUIREMENTS = paths.REPO / "tests" / "bench" / "requirements.txt"


def bench_venv() -> Path:
    """The bench venv's directory, (re)created when missing or stale."""
    stamp = BENCH_VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if not (BENCH_VENV / "bin" / "python").exists() or not stamp.exists() or stamp.read_text() != wanted:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(BENCH_VENV)], check=True)
        pip = [str(BENCH_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(wanted)
    return BENCH_VENV
