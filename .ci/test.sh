#!/usr/bin/env bash
# Runs every check CI runs, in order, after .ci/setup.sh: formatting, lints, Rust tests, the
# collection build, ansible-lint, and the Python/Ansible tests against real components.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check --color never
step "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
step "cargo test"
cargo test --locked --workspace
step "collection build"
.ci/build-collection.sh
step "ansible-lint"
ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections" "$venv/bin/ansible-lint" --offline
step "pytest (playbooks, lab, end to end)"
"$venv/bin/python" -m pytest -c tests/pytest.ini tests
