#!/bin/sh
# Builds the attestation fuzz targets with clang (libFuzzer, ASan, UBSan) and runs each for
# SECONDS seconds (default 60) on its corpus in tests/fuzz/corpus/attest_<target>/.
# Usage: tests/fuzz/attest_run.sh [SECONDS] [TARGET...]   (run from anywhere; uses the repo root)
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"snp tdx policy"}
out=build/fuzz
mkdir -p "$out"
src="lib/err.c lib/io.c lib/mem.c lib/attest/*.c"
for t in $targets; do
    clang -g -O1 -std=c11 -D_GNU_SOURCE -Ilib -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -o "$out/attest_$t" "tests/fuzz/attest_$t.c" $src \
        -lssl -lcrypto -lsodium -ljansson
    mkdir -p "$out/corpus_$t"
    "$out/attest_$t" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 "$out/corpus_$t" "tests/fuzz/corpus/attest_$t"
done
