#!/bin/sh
# Builds the attestation fuzz targets (tests/fuzz/build.sh: libFuzzer, ASan, UBSan, the whole
# library instrumented) and runs each for SECONDS seconds (default 60), one after the other, on
# its corpus in tests/fuzz/corpus/attest_<target>/; new inputs go to build/fuzz/corpus_<target>/,
# crashes to build/fuzz/artifacts/. Use one job at a time on a shared machine (nice it).
# Usage: tests/fuzz/attest_run.sh [SECONDS] [TARGET...]   (run from anywhere; uses the repo root)
#        TARGET: snp tdx policy cert broker seal (default: all)
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"snp tdx policy cert broker seal"}
out=build/fuzz
for t in $targets; do
    tests/fuzz/build.sh "attest_$t"
    mkdir -p "$out/corpus_$t" "$out/artifacts"
    "$out/attest_$t" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/attest_$t-" \
        "$out/corpus_$t" "tests/fuzz/corpus/attest_$t"
done
