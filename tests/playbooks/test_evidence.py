"""ocpdr.dr.evidence from a real ansible-playbook; its HTML report in real headless Chromium."""

from __future__ import annotations

import json
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from PIL import Image

from harness import chromium, paths
from harness.ansible import run_playbook

PLAYBOOK = paths.REPO / "tests" / "playbooks" / "evidence.yml"
SIDECAR = paths.REPO / "collection" / "plugins" / "modules" / "evidence.yml"

# The report's status colours (report.html): success, partial, failed.
GREEN, ORANGE, RED = (0x2E, 0x7D, 0x32), (0xEF, 0x6C, 0x00), (0xC6, 0x28, 0x28)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def record_run(root: Path):
    """Runs the evidence playbook: a run whose four steps last 60 s, 60 s, 30 s and 0 s."""
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=150)
    at = lambda s: iso(t0 + timedelta(seconds=s))  # noqa: E731
    report = {
        "title": "Hourly reconciliation",
        "steps": [
            {"name": "List primary objects", "started_at": at(0), "finished_at": at(60), "status": "success"},
            {"name": "Sync volume data", "started_at": at(60), "finished_at": at(120), "status": "partial",
             "detail": "1 of 2 volumes failed"},
            {"name": "Apply objects on DR", "started_at": at(120), "finished_at": at(150), "status": "failed",
             "detail": "PVC app-ns1/data-disk: volume not bound"},
            {"name": "Report", "started_at": at(150), "finished_at": at(150), "status": "skipped"},
        ],
        "volumes": [
            {"name": "app-ns1/rhel9-vm-disk", "status": "success", "bytes": 1048576, "duration_seconds": 40.5,
             "source": "nfs-primary:/exports/app-ns1/rhel9-vm-disk", "destination": "nfs-dr:/exports/app-ns1/rhel9-vm-disk"},
            {"name": "app-ns1/data-disk", "status": "failed", "bytes": 0, "duration_seconds": 2,
             "detail": "rsync exit 23"},
        ],
        "objects": [{"kind": "PersistentVolume", "name": "nfs-pv-rhel9-vm-disk", "action": "created"}],
        "drift": [{"kind": "PersistentVolumeClaim", "namespace": "app-ns1", "name": "data-disk",
                   "issue": "missing_on_dr", "resolved": False}],
    }
    return run_playbook(
        PLAYBOOK,
        extra_vars={
            "evidence_root": str(root),
            "evidence_report": report,
            "evidence_started": at(0),
            "evidence_finished": at(150),
        },
    ).assert_ok()


@pytest.fixture(scope="module")
def recorded(collection, tmp_path_factory):
    """One run of the evidence playbook, shared by the tests that read what it left."""
    root = tmp_path_factory.mktemp("evidence") / "artifacts"
    run = record_run(root)
    return root, run


def test_evidence_playbook_writes_verifies_and_catches_tampering(recorded):
    root, run = recorded
    run_dir = Path(run.task("Record the run")["run_dir"])
    assert run_dir.parent.parent == root
    assert run.task("The edit is found and named")["msg"] == "All assertions passed"
    # The tampered file fails coreutils too; the untouched manifest still verifies.
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=run_dir, capture_output=True, text=True)
    assert check.returncode != 0 and "volumes.csv: FAILED" in check.stdout
    assert subprocess.run(["sha256sum", "-c", "manifest.sha256"], cwd=run_dir).returncode == 0


def test_html_report_renders_its_timeline_in_chromium(recorded, tmp_path):
    _, run = recorded
    run_dir = Path(run.task("Record the run")["run_dir"])
    shot = chromium.screenshot(run_dir / "report.html", tmp_path / "report.png", width=1280, height=1600)
    assert shot.console == [], shot.console
    assert shot.load_errors == [], shot.load_errors

    image = Image.open(shot.png).convert("RGB")
    assert image.size == (1280, 1600)
    assert len(image.getcolors(maxcolors=1 << 20)) > 50, "the page is not blank"

    green, orange, red = (bar(image, colour) for colour in (GREEN, ORANGE, RED))
    # One row per step, in order, each bar starting where the previous one ended.
    assert green.y < orange.y < red.y
    assert abs(green.x + green.width - orange.x) <= 3
    assert abs(orange.x + orange.width - red.x) <= 3
    # 60 s, 60 s and 30 s: the widths say so.
    assert abs(orange.width - green.width) <= 0.03 * green.width
    assert abs(red.width - green.width / 2) <= 0.05 * green.width
    assert green.width > 200, "bars span the timeline track"


def test_the_console_check_catches_a_page_that_loads_assets(tmp_path):
    """The negative control: a page that tries to load a stylesheet is caught by the CSP and logged."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
        "<link rel=\"stylesheet\" href=\"https://cdn.example.invalid/x.css\"></head><body>x</body></html>"
    )
    shot = chromium.screenshot(page, tmp_path / "bad.png", width=400, height=300)
    assert any("violates the following Content Security Policy" in line for line in shot.console), shot.stderr


def test_the_sidecar_documents_exactly_the_options_the_module_takes(collection):
    documented = set(yaml.safe_load(SIDECAR.read_text())["DOCUMENTATION"]["options"])
    with tempfile.TemporaryDirectory() as tmp:
        args = Path(tmp) / "args"
        args.write_text(json.dumps({"no_such_option": 1}))
        out = subprocess.run([str(paths.COLLECTION / "plugins" / "modules" / "evidence"), str(args)],
                             capture_output=True, text=True)
    msg = json.loads(out.stdout)["msg"]
    accepted = {name.strip("` ") for name in msg.split("expected one of", 1)[1].split(",")}
    assert accepted == documented


class Bar:
    """The longest horizontal run of one colour in the middle row of its bar."""

    def __init__(self, y: int, x: int, width: int):
        self.y, self.x, self.width = y, x, width


def bar(image: Image.Image, colour: tuple[int, int, int], min_width: int = 100) -> Bar:
    """Finds the timeline bar drawn in `colour`: rows holding a run of exactly that colour at
    least `min_width` pixels wide (pills, badges and legend squares are narrower). Bars are
    flat fills, so their inner pixels match exactly."""
    width, height = image.size
    data, stride, pixel = image.tobytes(), width * 3, bytes(colour)
    rows = []
    for y in range(height):
        row = data[y * stride : (y + 1) * stride]
        at = row.find(pixel * min_width)
        while at != -1 and at % 3:
            at = row.find(pixel * min_width, at + 1)
        if at == -1:
            continue
        end = at + 3 * min_width
        while row[end : end + 3] == pixel:
            end += 3
        rows.append((y, at // 3, (end - at) // 3))
    assert rows, f"no bar of colour {colour} at least {min_width}px wide"
    y, x, run = rows[len(rows) // 2]
    return Bar(y, x, run)
