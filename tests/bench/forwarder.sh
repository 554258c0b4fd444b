#!/usr/bin/env bash
# ocpdr-forwarder against the seed's Python forwarder: initial sync, RSS, events/s and latency
# at 10,000 watched objects (docs/BENCHMARKS.md). Release builds of the forwarder and the fake
# API server; the baseline runs in its own venv build/bench-venv (tests/bench/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec build/venv/bin/python tests/bench/bench_forwarder.py "$@"
