#!/usr/bin/env bash
# Secure generation on a GPT-2-small-shaped model with random weights (12 layers, n_embd 768,
# 12 heads, vocab 50257, context 128): s per token for 8 tokens after a 16-token prompt, rounds
# and bytes per token, each party's peak RSS (build/bench/bench_sgpt2, three party processes on
# loopback TCP with TLS). The model is written at bench time by scripts/make-random-gpt2 into
# bench/out/gpt2-small-random (not checked in, about 250 MB; the three share bundles beside it
# take 6 GB). Takes about 10-20 minutes on 2 cores. MIMIR_BENCH_SKIP_GPT2=1 skips it.
# Prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${MIMIR_BENCH_SKIP_GPT2-}" = 1 ]; then
    echo "gpt2_small: skipped (MIMIR_BENCH_SKIP_GPT2=1)" >&2
    exit 0
fi
model=bench/out/gpt2-small-random
if [ ! -f "$model/config.json" ]; then
    echo "gpt2_small: writing $model (scripts/make-random-gpt2)" >&2
    scripts/make-random-gpt2 --layers 12 --embd 768 --heads 12 --vocab 50257 --ctx 128 "$model"
fi
exec build/bench/bench_sgpt2 --model "$model" --name gpt2-small --prompt 16 --new 8
