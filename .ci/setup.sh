#!/usr/bin/env bash
# Installs everything the tests and the lab need on a fresh Debian 12 machine, as root or with
# sudo. Idempotent and quick once done: apt packages, the musl target, rustfmt/clippy, and the
# pinned Python venv in build/venv (recreated only when tests/requirements.txt changes).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  rsync openssh-server openssh-client   # real rsync over real sshd: the NFS sites
  musl-tools                            # C parts of crates (aws-lc-sys) for static musl builds
  openjdk-17-jre-headless               # ansible-rulebook runs Drools on the JVM
  chromium                              # headless: the evidence HTML report renders cleanly
  python3-venv curl ca-certificates
)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
# kubectl checks the fake API server; Debian's own client where the image has none.
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# kubectl 1.20 (Debian's kubernetes-client) beside the system kubectl: the fake API server's
# kubectl tests run with both. Unpacked into build/, never installed over the system one.
old_kubectl=build/kubectl-1.20/usr/bin/kubectl
if [ ! -x "$old_kubectl" ]; then
  echo "setup: unpacking Debian's kubernetes-client (kubectl 1.20) into build/kubectl-1.20"
  debdir=$(mktemp -d)
  chmod 777 "$debdir"   # apt downloads as the unprivileged _apt user
  (cd "$debdir" && { apt-get download -q kubernetes-client 2>/dev/null \
     || { sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -q && apt-get download -q kubernetes-client; }; })
  rm -rf build/kubectl-1.20
  mkdir -p build/kubectl-1.20
  dpkg -x "$debdir"/kubernetes-client_*.deb build/kubectl-1.20
  rm -rf "$debdir"
  "$old_kubectl" version --client >/dev/null
fi

rustup target list --installed | grep -qx x86_64-unknown-linux-musl \
  || rustup target add x86_64-unknown-linux-musl
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed | grep -q '^clippy' || rustup component add clippy

venv=build/venv
stamp="$venv/.requirements.sha256"
want=$(sha256sum tests/requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating the Python venv in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-cache-dir -r tests/requirements.txt
  echo "$want" > "$stamp"
fi
# awx.awx (configure_aap.yml) from the pinned `ansible` wheel: only that collection, into
# build/collections, redone when tests/requirements-awx.txt changes.
awx_dir=build/collections/ansible_collections/awx/awx
awx_stamp=build/collections/.awx.sha256
awx_want=$(sha256sum tests/requirements-awx.txt | cut -d' ' -f1)
if [ ! -f "$awx_dir/MANIFEST.json" ] || [ "$(cat "$awx_stamp" 2>/dev/null)" != "$awx_want" ]; then
  echo "setup: extracting awx.awx from the pinned ansible wheel into build/collections"
  wheeldir=$(mktemp -d)
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --require-hashes \
    -r tests/requirements-awx.txt -d "$wheeldir"
  rm -rf "$awx_dir"
  "$venv/bin/python" - "$wheeldir"/ansible-*.whl build/collections <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith("ansible_collections/awx/awx/")]
    if not members:
        sys.exit(f"{wheel} holds no ansible_collections/awx/awx")
    z.extractall(dest, members)
PY
  rm -rf "$wheeldir"
  echo "$awx_want" > "$awx_stamp"
fi
echo "setup: ok"
