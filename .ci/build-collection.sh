#!/usr/bin/env bash
# Builds the ocpdr.dr collection: static musl binaries of every module into
# collection/plugins/modules/ and of ocpdr-forwarder into the nfs_change_watcher role's files/
# (both git-ignored), then the tarball with ansible-galaxy into build/,
# then installs it into build/collections for the tests and the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
venv=build/venv

cargo build --release --locked --target "$target" -p ocpdr-modules -p ocpdr-forwarder
for src in modules/src/bin/*.rs; do
  name=$(basename "$src" .rs)
  install -m 0755 "target/$target/release/$name" "collection/plugins/modules/$name"
done
install -D -m 0755 "target/$target/release/ocpdr-forwarder" \
  collection/roles/nfs_change_watcher/files/ocpdr-forwarder

mkdir -p build
rm -f build/ocpdr-dr-*.tar.gz
"$venv/bin/ansible-galaxy" collection build collection --output-path build --force >/dev/null
tarball=$(ls build/ocpdr-dr-*.tar.gz)
"$venv/bin/ansible-galaxy" collection install "$tarball" -p build/collections --force >/dev/null
echo "collection: $tarball ($(du -h "$tarball" | cut -f1)), installed in build/collections"
