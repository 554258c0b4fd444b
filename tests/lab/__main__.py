"""The lab's command line: ``python -m lab up|down|status`` with ``tests/`` on the path (what
``make lab-up``, ``make lab-down`` and ``make lab-status`` run)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.down import down
from lab.layout import Layout, default_root
from lab.lock import Refused
from lab.status import status
from lab.up import DEFAULT_SCALE, DEFAULT_SEED, up


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab", description="The local DR lab: two sites on one machine.")
    parser.add_argument(
        "--lab-dir", type=Path, help="where the lab lives (default: $OCPDR_LAB_DIR or build/lab)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the lab, or reuse the one running")
    start.add_argument(
        "--seed", type=int, help=f"seed of the data (default {DEFAULT_SEED}; a running lab keeps its own)"
    )
    start.add_argument("--scale", type=_positive, help=f"VMs per watched namespace (default {DEFAULT_SCALE})")
    stop = commands.add_parser("down", help="stop every process of the lab and delete its files")
    stop.add_argument("--keep-files", action="store_true", help="keep the lab directory (logs, data)")
    commands.add_parser("status", help="what runs and whether it answers")
    args = parser.parse_args(argv)
    layout = Layout((args.lab_dir or default_root()).resolve())
    try:
        if args.command == "up":
            return up(layout, args.seed, args.scale)
        if args.command == "down":
            return down(layout, args.keep_files)
        return status(layout)
    except Refused as refused:
        print(f"lab {args.command}: refused: {refused}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
