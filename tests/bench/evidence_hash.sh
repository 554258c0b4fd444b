#!/usr/bin/env bash
# Benchmark behind docs/BENCHMARKS.md ("Evidence hashing"): SHA-256 of 2 GiB across 1,000 files,
# ocpdr.dr.evidence (the shipped static binary) against coreutils sha256sum over the same files,
# page cache warm for both. The data goes to build/bench-evidence and is deleted afterwards.
#
#   tests/bench/evidence_hash.sh          (after .ci/build-collection.sh; BENCH_MIB=64 to smoke-test)
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=collection/plugins/modules/evidence
[ -x "$bin" ] || { echo "build the collection first: .ci/build-collection.sh" >&2; exit 1; }
work=build/bench-evidence
total=$((${BENCH_MIB:-2048} * 1024 * 1024))   # BENCH_MIB=64 for a quick smoke run
files=1000
rm -rf "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/in" "$work/root"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mibs() { awk -v s="$1" -v t="$total" 'BEGIN { printf "%.0f", t / 1048576 / s }'; }
warm() { cat "$1"/* > /dev/null; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "SHA-NI: $(grep -q sha_ni /proc/cpuinfo && echo yes || echo no), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sha256sum: $(sha256sum --version | head -1)"
echo "generating $files files, $((total / 1024 / 1024)) MiB of random data in $work ..."
head -c "$total" /dev/urandom | split -b $(((total + files - 1) / files)) -d -a 3 - "$work/in/f-"
[ "$(ls "$work/in" | wc -l)" -eq "$files" ]

# Record a run holding the files (moved in, as roles hand over their outputs): write hashes all.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
names = sorted(os.listdir(f"{work}/in"))
json.dump({"root": f"{work}/root", "mode": "bench", "status": "success",
           "files": [f"{work}/in/{n}" for n in names]}, open(f"{work}/write.json", "w"))
PY
warm "$work/in"
t0=$(now); "$bin" "$work/write.json" > "$work/write.out"; t1=$(now)
grep -q '"changed":true' "$work/write.out" || { cat "$work/write.out"; exit 1; }
run_dir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_dir"])' "$work/write.out")
write_s=$(secs "$t0" "$t1")

# The same check both ways: recompute every artifact's hash and compare with the record.
echo "{\"state\": \"verify\", \"path\": \"$run_dir\"}" > "$work/verify.json"
warm "$run_dir"
t0=$(now); (cd "$run_dir" && sha256sum -c --quiet SHA256SUMS); t1=$(now)
coreutils_s=$(secs "$t0" "$t1")
warm "$run_dir"
t0=$(now); "$bin" "$work/verify.json" > "$work/verify.out"; t1=$(now)
grep -q '"ok":true' "$work/verify.out" || { head -c 2000 "$work/verify.out"; exit 1; }
module_s=$(secs "$t0" "$t1")

echo
echo "| what ($((total / 1048576)) MiB, $files files, warm cache) | seconds | MiB/s |"
echo "|---|---|---|"
echo "| sha256sum -c SHA256SUMS (coreutils, 1 thread) | $coreutils_s | $(mibs "$coreutils_s") |"
echo "| evidence state=verify | $module_s | $(mibs "$module_s") |"
echo "| evidence state=write (move the files in, fsync each, hash, manifest) | $write_s | $(mibs "$write_s") |"
echo
echo "ratio: evidence verify is $(awk -v a="$coreutils_s" -v b="$module_s" 'BEGIN { printf "%.1f", a / b }')x as fast as sha256sum"
