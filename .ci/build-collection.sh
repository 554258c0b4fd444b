#!/usr/bin/env bash
# Builds the ocpdr.dr collection: static musl binaries of every module into
# collection/plugins/modules/ (git-ignored), then the tarball with ansible-galaxy into build/,
# then installs it into build/collections for the tests and the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
venv=build/venv

profile=modules   # Cargo.toml: size-tuned release profile of the module binaries
out="target/$target/$profile"
plugins=collection/plugins/modules

cargo build --profile "$profile" --locked --target "$target" -p ocpdr-modules
for src in modules/src/bin/*.rs; do
  name=$(basename "$src" .rs)
  [ "$name" = ocpdr_k8s ] && continue
  install -m 0755 "$out/$name" "$plugins/$name"
done
# The Kubernetes modules share one binary that runs the module it is invoked as
# (modules/src/kube_modules): installed once under the first name it lists, the others are
# symlinks to it, which ansible-galaxy keeps as symlinks in the tarball.
mapfile -t kube_modules < <("$out/ocpdr_k8s" --list-modules)
rm -f "$plugins/${kube_modules[0]}"
install -m 0755 "$out/ocpdr_k8s" "$plugins/${kube_modules[0]}"
for name in "${kube_modules[@]:1}"; do
  ln -sfn "${kube_modules[0]}" "$plugins/$name"
done

mkdir -p build
rm -f build/ocpdr-dr-*.tar.gz
"$venv/bin/ansible-galaxy" collection build collection --output-path build --force >/dev/null
tarball=$(ls build/ocpdr-dr-*.tar.gz)
"$venv/bin/ansible-galaxy" collection install "$tarball" -p build/collections --force >/dev/null
echo "collection: $tarball ($(du -h "$tarball" | cut -f1)), installed in build/collections"
