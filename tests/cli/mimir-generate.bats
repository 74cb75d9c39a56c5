#!/usr/bin/env bats
# mimir-generate --plaintext against the stdlib Python reference (tests/ref/gpt2_ref.py) on a
# random model the test makes itself (tests/ref/make_random_gpt2.py), and its bad inputs.

bats_require_minimum_version 1.5.0

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    GEN="$ROOT/bin/mimir-generate"
    REF="$ROOT/tests/ref/gpt2_ref.py"
    M="$BATS_TEST_TMPDIR/model"
    "$ROOT/tests/ref/make_random_gpt2.py" --seed 7 "$M"
    unset MIMIR_MODEL_DIR
}

# max abs logit error of the fixed-point path against the float path: docs/numerics.md
FIXED_BOUND=0.01

@test "float logits match the Python reference within 1e-4, prompt included" {
    run "$GEN" --plaintext --float --quiet --model "$M" --tokens 20 \
        --dump-logits "$BATS_TEST_TMPDIR/f.npy" "hello world"
    assert_success
    want=$("$REF" generate "$M" "hello world" 20)
    [ "$output" = "$want" ]
    run "$REF" compare "$M" "hello world" 20 "$BATS_TEST_TMPDIR/f.npy" 1e-4
    assert_success
    assert_output --partial "max abs diff"
}

@test "fixed-point logits are within the documented bound of float, same greedy tokens" {
    "$GEN" --plaintext --float --quiet --model "$M" --tokens 40 \
        --dump-logits "$BATS_TEST_TMPDIR/f.npy" "the quick brown fox" > "$BATS_TEST_TMPDIR/f.txt"
    "$GEN" --plaintext --quiet --model "$M" --tokens 40 \
        --dump-logits "$BATS_TEST_TMPDIR/x.npy" "the quick brown fox" > "$BATS_TEST_TMPDIR/x.txt"
    cmp "$BATS_TEST_TMPDIR/f.txt" "$BATS_TEST_TMPDIR/x.txt"
    run "$REF" diff "$BATS_TEST_TMPDIR/f.npy" "$BATS_TEST_TMPDIR/x.npy" "$FIXED_BOUND"
    assert_success
    assert_output --partial "argmax agrees at 58 of 58 positions"
}

@test "the prompt can come from stdin; output is exactly the generated text" {
    want=$("$REF" generate "$M" "abc" 5)
    run bash -c "printf abc | '$GEN' --plaintext --quiet --model '$M' --tokens 5"
    assert_success
    [ "$output" = "$want" ]
    [ "${#output}" -eq 5 ]
}

@test "the summary goes to stderr and --quiet silences it" {
    run --separate-stderr "$GEN" --plaintext --model "$M" --tokens 3 "ab"
    assert_success
    [ "${#output}" -eq 3 ]
    [[ $stderr == *"3 tokens in"*"ms/token"* ]]
    run --separate-stderr "$GEN" --plaintext --quiet --model "$M" --tokens 3 "ab"
    [ -z "$stderr" ]
}

@test "--json writes one object per token" {
    run --separate-stderr "$GEN" --plaintext --quiet --json --model "$M" --tokens 4 "ab"
    assert_success
    [ "${#lines[@]}" -eq 4 ]
    text=$(printf '%s\n' "$output" | python3 -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin]
assert all(set(o) == {"token", "text", "ms"} for o in objs)
print("".join(o["text"] for o in objs), end="")')
    [ "$text" = "$("$REF" generate "$M" ab 4)" ]
}

@test "MIMIR_MODEL_DIR selects the model" {
    MIMIR_MODEL_DIR="$M" run "$GEN" --plaintext --quiet --float --tokens 3 "ab"
    assert_success
    [ "$output" = "$("$REF" generate "$M" ab 3)" ]
}

@test "--tokens beyond the context stops at n_ctx with a note" {
    "$ROOT/tests/ref/make_random_gpt2.py" --ctx 8 "$BATS_TEST_TMPDIR/small"
    run --separate-stderr "$GEN" --plaintext --model "$BATS_TEST_TMPDIR/small" --tokens 50 \
        --dump-logits "$BATS_TEST_TMPDIR/s.npy" "abc"
    assert_success
    [ "${#output}" -eq 6 ]
    [[ $stderr == *"stopped at the model's context length of 8 positions: generated 6 of 50"* ]]
    run "$REF" compare "$BATS_TEST_TMPDIR/small" abc 6 "$BATS_TEST_TMPDIR/s.npy" 0.05
    assert_success
}

@test "a prompt longer than the context is refused" {
    "$ROOT/tests/ref/make_random_gpt2.py" --ctx 8 "$BATS_TEST_TMPDIR/small"
    run "$GEN" --plaintext --model "$BATS_TEST_TMPDIR/small" "abcdefghij"
    assert_failure 2
    assert_output --partial "the prompt is 10 tokens, expected at most the model's context of 8"
}

@test "missing config.json is exit 2 naming the file" {
    rm "$M/config.json"
    run "$GEN" --plaintext --model "$M" "ab"
    assert_failure 2
    assert_output --partial "mimir-generate: $M/config.json"
}

@test "a tensor of the wrong shape is exit 2 naming the tensor and both shapes" {
    "$ROOT/tests/ref/make_random_gpt2.py" --wrong-shape h.1.attn.c_attn.weight \
        "$BATS_TEST_TMPDIR/bad"
    run "$GEN" --plaintext --model "$BATS_TEST_TMPDIR/bad" "ab"
    assert_failure 2
    assert_output --partial "tensor h.1.attn.c_attn.weight: shape [32,94], expected [32,96]"
}

@test "a prompt character outside the vocabulary is exit 2" {
    run "$GEN" --plaintext --model "$M" "hello #"
    assert_failure 2
    assert_output --partial "mimir-generate:"
    assert_output --partial "byte offset 6: a character that is not in the vocabulary"
    # the prompt is a secret: the message locates the character but never shows it
    refute_output --partial "U+0023"
    refute_output --partial "#"
}

@test "an empty prompt is exit 2" {
    run bash -c "'$GEN' --plaintext --model '$M' < /dev/null"
    assert_failure 2
    assert_output --partial "the prompt is empty"
}

@test "bad usage is exit 2" {
    run "$GEN" --plaintext --model "$M" --tokens 0 "ab"
    assert_failure 2
    assert_output --partial "--tokens: '0' is not a count"
    run "$GEN" --plaintext --model "$M" --bogus "ab"
    assert_failure 2
    assert_output --partial "unknown or incomplete option '--bogus'"
    run "$GEN" --plaintext --model "$M" two words
    assert_failure 2
    assert_output --partial "expected one PROMPT argument"
    run "$GEN" --plaintext --model "$M" --dump-logits - "ab"
    assert_failure 2
}

@test "without --plaintext (secure mode) the plaintext-only options are refused, exit 2" {
    run "$GEN" --float "ab"
    assert_failure 2
    assert_output --partial "--float is for --plaintext only (the parties never hold plaintext logits)"
    run "$GEN" --dump-logits "$BATS_TEST_TMPDIR/l.npy" "ab"
    assert_failure 2
    assert_output --partial "--dump-logits is for --plaintext only"
    [ ! -e "$BATS_TEST_TMPDIR/l.npy" ]
}

@test "--help documents the exact form" {
    run "$GEN" --help
    assert_success
    assert_output --partial "--plaintext [--model DIR] [--float] [--tokens N] [--dump-logits FILE]"
}

@test "a failed run leaves no logits file" {
    run "$GEN" --plaintext --model "$M" --dump-logits "$BATS_TEST_TMPDIR/no.npy" "hello #"
    assert_failure 2
    [ ! -e "$BATS_TEST_TMPDIR/no.npy" ]
}

@test "GPT-2 BPE (vocab.json + merges.txt): fixed and float give the same tokens" {
    bpe="$ROOT/../shared/testdata/gpt2-bpe"
    [ -f "$bpe/vocab.json" ] || skip "no GPT-2 BPE test data at $bpe"
    B="$BATS_TEST_TMPDIR/bpe"
    "$ROOT/tests/ref/make_random_gpt2.py" --vocab 50257 --embd 16 --heads 2 --layers 1 \
        --ctx 32 "$B"
    cp "$bpe/vocab.json" "$bpe/merges.txt" "$B/"
    run --separate-stderr "$GEN" --plaintext --quiet --json --model "$B" --tokens 6 \
        "Hello world, this is"
    assert_success
    [ "${#lines[@]}" -eq 6 ]
    fixed=$output
    run --separate-stderr "$GEN" --plaintext --quiet --json --float --model "$B" --tokens 6 \
        "Hello world, this is"
    strip() { sed 's/, "ms": [0-9.]*}/}/'; }
    [ "$(printf '%s\n' "$fixed" | strip)" = "$(printf '%s\n' "$output" | strip)" ]
}

# field $2 of case $1 in models/tiny/reference.json (a list gives its length)
ref_case() {
    python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["cases"][int(sys.argv[2])][sys.argv[3]]
print(len(c) if isinstance(c, list) else c, end="")' "$ROOT/models/tiny/reference.json" "$1" "$2"
}

@test "models/tiny: float and fixed point reproduce torch's greedy continuations" {
    ref="$ROOT/models/tiny/reference.json"
    [ -f "$ref" ] || skip "models/tiny/reference.json is not there yet"
    n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["cases"]))' "$ref")
    [ "$n" -ge 1 ]
    for i in $(seq 0 $((n - 1))); do
        prompt=$(ref_case "$i" prompt)
        want=$(ref_case "$i" greedy_text)
        k=$(ref_case "$i" greedy_ids)
        run "$GEN" --plaintext --quiet --float --tokens "$k" "$prompt"
        assert_success
        [ "$output" = "$want" ]
        run "$GEN" --plaintext --quiet --tokens "$k" "$prompt"
        assert_success
        [ "$output" = "$want" ]
    done
}
