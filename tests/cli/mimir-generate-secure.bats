#!/usr/bin/env bats
# mimir-generate's secure mode with the shipped tiny model: the embedded default (three local
# mimir-party processes, a local trusted dealer) prints exactly what --plaintext (fixed point)
# prints; --json lines; --prepare + --cluster with parties started here; a party that dies
# mid-generation (exit 3, named, earlier tokens kept); a cheating party (exit 1 everywhere);
# bad cluster files and bad usage (exit 2). Runs are short (2-4 token prompts, 3-4 tokens):
# each secure run takes seconds on two cores.

bats_require_minimum_version 1.5.0

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    GEN="$ROOT/bin/mimir-generate"
    PARTY="$ROOT/bin/mimir-party"
    HOOKS="$ROOT/tests/bin/mimir-party-hooks"
    D="$BATS_TEST_TMPDIR"
    unset MIMIR_MODEL_DIR
    export TMPDIR="$D"
}

# start_parties DIR [I HOOK-ARGS...]: the three parties of a --prepare'd DIR in the
# background, party I (if given) from the test build with HOOK-ARGS; logs in DIR/pN.out.
start_parties() {
    local dir="$1" bad="${2:--1}"
    shift 2 || shift $#
    for i in 0 1 2; do
        local bin="$PARTY" extra=()
        if [ "$i" = "$bad" ]; then
            bin="$HOOKS"
            extra=("$@")
        fi
        "$bin" --party "$i" --cluster "$dir/cluster.json" --model-shares "$dir/model.p$i" \
            --pool "$dir/pool.p$i" "${extra[@]}" 2> "$dir/p$i.out" &
        echo $! > "$dir/p$i.pid"
    done
}

# wait_parties DIR: waits for the three and prints their exit codes "c0 c1 c2".
wait_parties() {
    local codes=() c
    for i in 0 1 2; do
        c=0
        wait "$(cat "$1/p$i.pid")" || c=$?
        codes+=("$c")
    done
    echo "${codes[*]}"
}

@test "embedded default: the same text as --plaintext, byte for byte, for two prompts" {
    for prompt in "Once" "Th"; do
        run --separate-stderr "$GEN" --tokens 4 "$prompt"
        assert_success
        secure="$output"
        run --separate-stderr "$GEN" --plaintext --quiet --tokens 4 "$prompt"
        assert_success
        [ -n "$secure" ]
        [ "$secure" = "$output" ]
    done
}

@test "embedded default: one summary line on stderr, nothing left in TMPDIR" {
    run --separate-stderr "$GEN" --transport unix --tokens 3 "Th"
    assert_success
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"3 tokens, "*" ms/token"*"prompt 2 tokens"*"bytes and "*" rounds per token"* ]]
    [ -z "$(ls -A "$D" | grep mimir-generate)" ]
}

@test "--json: one object per token with token, text, ms, bytes and rounds" {
    run --separate-stderr "$GEN" --json --quiet --tokens 3 "Th"
    assert_success
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
    printf '%s\n' "$output" > "$D/lines"
    run python3 -c '
import json, sys
text = ""
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert set(o) == {"token", "text", "ms", "bytes", "rounds"}, o
    assert isinstance(o["token"], int) and o["bytes"] > 0 and o["rounds"] > 0, o
    text += o["text"]
print(text, end="")' "$D/lines"
    assert_success
    want="$("$GEN" --plaintext --quiet --tokens 3 "Th")"
    [ "$output" = "$want" ]
    [ -z "$stderr" ]
}

@test "--prepare then --cluster: parties started by hand serve the client" {
    run "$GEN" --prepare "$D/c" --tokens 3 "Th"
    assert_success
    assert_output --partial "--party 1 --cluster $D/c/cluster.json"
    [ -d "$D/c/pool.p2" ] && [ -f "$D/c/model.p0/model.shares" ]
    start_parties "$D/c"
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --tokens 3 "Th"
    assert_success
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 3 "Th")" ]
    [ "$(wait_parties "$D/c")" = "0 0 0" ]
    grep -q "party 1: served 3 tokens" "$D/c/p1.out"
}

@test "a party killed mid-generation: exit 3 naming it, the first token stays printed" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-party-hooks not built"
    "$GEN" --prepare "$D/c" --tokens 4 "Th" > /dev/null
    start_parties "$D/c" 1 --test-die-after 1
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --json --tokens 4 "Th"
    assert_failure 3
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
    [[ "$output" == '{"token": '* ]]
    [[ "$stderr" == *"party 1"* ]]
    codes="$(wait_parties "$D/c")"
    [ "$codes" = "3 137 3" ]
    grep -q "party 1" "$D/c/p0.out"
    grep -q "party 1" "$D/c/p2.out"
}

@test "a party that cheats (flipped open): exit 1 on the client and on every honest party" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-party-hooks not built"
    "$GEN" --prepare "$D/c" --tokens 3 "Th" > /dev/null
    start_parties "$D/c" 2 --test-fault open-flip:40:70
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --tokens 3 "Th"
    assert_failure 1
    [ -z "$output" ]
    [[ "$stderr" == *"check"* ]]
    codes="$(wait_parties "$D/c")"
    [ "${codes%% *}" = "1" ]
    [ "$(echo "$codes" | cut -d' ' -f2)" = "1" ]
}

@test "bad cluster files: exit 2 naming the file and the field" {
    run "$GEN" --cluster "$D/none.json" "Th"
    assert_failure 2
    assert_output --partial "none.json"
    "$GEN" --prepare "$D/c" --tokens 2 "Th" > /dev/null
    sed 's/"client": {/"client": {"colour": 1, /' "$D/c/cluster.json" > "$D/c/bad1.json"
    run "$GEN" --cluster "$D/c/bad1.json" "Th"
    assert_failure 2
    assert_output --partial 'bad1.json: client: unknown key "colour"'
    sed 's/"client_address"/"client_addr"/' "$D/c/cluster.json" > "$D/c/bad2.json"
    run "$GEN" --cluster "$D/c/bad2.json" "Th"
    assert_failure 2
    assert_output --partial 'unknown key "client_addr"'
    grep -v '"client"' "$D/c/cluster.json" > "$D/c/bad3.json"
    run "$GEN" --cluster "$D/c/bad3.json" "Th"
    assert_failure 2
    assert_output --partial 'client: the client needs a "client" section'
    # a party with no client section to serve
    run "$PARTY" --party 0 --cluster "$D/c/bad3.json" --model-shares "$D/c/model.p0" \
        --pool "$D/c/pool.p0"
    assert_failure 2
    assert_output --partial "party 0: "
    assert_output --partial "client"
}

@test "bad usage: exit 2" {
    run "$GEN" --float "Th"
    assert_failure 2
    assert_output --partial "--float is for --plaintext only"
    run "$GEN" --transport udp "Th"
    assert_failure 2
    assert_output --partial "expected tcp or unix"
    run "$GEN" --cluster a.json --prepare b "Th"
    assert_failure 2
    mkdir "$D/exists"
    run "$GEN" --prepare "$D/exists" "Th"
    assert_failure 2
    assert_output --partial "expected a new directory"
    run "$PARTY" --party 0 --cluster x.json --pool p
    assert_failure 2
    assert_output --partial "--model-shares is missing"
    run "$PARTY" --party 3
    assert_failure 2
}
