"""Headless Chromium (Debian's `chromium` package): screenshots of local pages, with the
messages the page logged to its console.

Flags keep it quiet and offline on a machine with no network: no background networking, no
component updates, no sync, a fresh profile per run. Console messages (JavaScript errors, CSP
violations, blocked loads) appear on stderr as `...:CONSOLE...` lines with `--enable-logging`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def binary() -> str:
    """The chromium executable (installed by .ci/setup.sh)."""
    found = shutil.which("chromium")
    if not found:
        raise RuntimeError("chromium is not installed: run .ci/setup.sh (Debian package chromium)")
    return found


@dataclass
class Shot:
    """A screenshot and what the page said while loading."""

    png: Path
    console: list[str]
    load_errors: list[str]
    stderr: str


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1600, timeout: float = 90) -> Shot:
    """Loads `page` (a local file) in headless Chromium and writes a `width`x`height` PNG to `out`."""
    with tempfile.TemporaryDirectory(prefix="ocpdr-chromium-") as profile:
        cmd = [
            binary(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
            page.resolve().as_uri(),
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    lines = proc.stderr.splitlines()
    shot = Shot(
        png=out,
        console=[line for line in lines if ":CONSOLE" in line],
        load_errors=[line for line in lines if "Page load failed" in line],
        stderr=proc.stderr,
    )
    if proc.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium failed ({proc.returncode}) on {page}:\n{proc.stderr[-4000:]}")
    return shot
