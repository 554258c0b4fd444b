"""`lab status`: what runs, where, and whether each part answers."""

from __future__ import annotations

from lab import health, report
from lab.layout import Layout
from lab.state import LabState


def status(layout: Layout) -> int:
    """Prints the lab's parts and their health; 0 when all are healthy, 1 otherwise."""
    state = LabState.load(layout)
    if state is None:
        print(f"No lab runs in {report.rel(layout.root)} (make lab-up starts one).")
        return 1
    checks = health.check(layout, state)
    print(
        f"Lab in {report.rel(layout.root)}: seed {state.seed}, scale {state.scale}, "
        f"started {state.created}" + ("" if state.ready else " (lab-up did not finish)")
    )
    for c in checks:
        proc = state.process(c.name)
        print(
            f"  {'ok  ' if c.ok else 'FAIL'} {c.name:<18} pid {proc.pid:<7} {proc.host}:{proc.port:<6} {c.detail}"
        )
    healthy = state.ready and all(c.ok for c in checks)
    if healthy:
        print()
        print(report.how_to(layout, state))
    else:
        print("\nThe lab is not healthy: `make lab-down`, then `make lab-up`.")
    return 0 if healthy else 1
