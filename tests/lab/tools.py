"""The programs the lab runs: the fake API server and the fixtures generator (cargo, which
rebuilds only what changed: a no-op when they are current), and the ocpdr.dr collection,
built and installed from a fresh tarball when it is missing or older than its sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import apiserver, paths

# What the installed collection is built from.
COLLECTION_SOURCES = ("collection", "modules/src", "modules/Cargo.toml", "ocpdr-core/src", "Cargo.lock")


def fake_apiserver() -> Path:
    """The fake-apiserver binary (built if needed; `FAKE_APISERVER_BIN` overrides)."""
    return apiserver.binary()


def fixtures() -> Path:
    """The ocpdr-fixtures binary (built if needed)."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--locked", "-p", "ocpdr-fixtures", "--bin", "ocpdr-fixtures"],
        cwd=paths.REPO,
        check=True,
    )
    return paths.cargo_bin("ocpdr-fixtures")


def _newest_source() -> float:
    newest = 0.0
    built = paths.REPO / "collection" / "plugins" / "modules"
    for name in COLLECTION_SOURCES:
        root = paths.REPO / name
        files = [root] if root.is_file() else root.rglob("*")
        for path in files:
            # The module binaries copied into the collection are build output, not source.
            if path.is_file() and not (path.parent == built and path.suffix != ".yml"):
                newest = max(newest, path.stat().st_mtime)
    return newest


def collection_is_current() -> bool:
    """Whether build/collections holds the collection built from the current sources: every
    module installed, and the tarball it came from newer than every source file."""
    modules = [src.stem for src in (paths.REPO / "modules" / "src" / "bin").glob("*.rs")]
    installed = paths.COLLECTION / "plugins" / "modules"
    tarballs = list(paths.BUILD.glob("ocpdr-dr-*.tar.gz"))
    return (
        all((installed / name).exists() for name in modules)
        and len(tarballs) == 1
        and tarballs[0].stat().st_mtime >= _newest_source()
    )


def collection() -> bool:
    """Builds and installs the collection (`.ci/build-collection.sh`) unless it is current;
    returns whether it built."""
    if collection_is_current():
        return False
    subprocess.run([str(paths.REPO / ".ci" / "build-collection.sh")], cwd=paths.REPO, check=True)
    return True
