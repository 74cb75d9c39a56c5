#!/usr/bin/env bats
# mimir-generate's secure mode with the shipped tiny model: the embedded default (three local
# mimir-party processes, a local trusted dealer) prints exactly what --plaintext (fixed point)
# prints; --json lines; --prepare + --cluster with parties started here; a party that dies
# mid-generation (exit 3, named, earlier tokens kept); a party that cheats with every fault
# kind of the hooks build (exit 1 everywhere, no further token); --pad-to (the same text, the
# same plan and the same traffic for two prompts of different lengths); secure logits within
# the documented bounds (tests/bin/gpt2-check); bad cluster files and bad usage (exit 2). Runs
# are short (1-4 token prompts, 2-4 tokens): each secure run takes 10-40 s on two shared cores.
# The 20-prompt x 32-token correctness run is tests/slow/mimir-generate-correct.bats.

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

# wait_parties DIR: waits for the three and sets codes="c0 c1 c2", their exit codes. Not in
# a $(...) subshell: a subshell cannot wait for this shell's children.
wait_parties() {
    local all=() c
    for i in 0 1 2; do
        c=0
        wait "$(cat "$1/p$i.pid")" || c=$?
        all+=("$c")
    done
    codes="${all[*]}"
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
    wait_parties "$D/c"
    [ "$codes" = "0 0 0" ]
    grep -q "party 1: served 3 tokens" "$D/c/p1.out"
}

@test "a party killed mid-generation: exit 3 naming it, the first token stays printed" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-party-hooks not built"
    "$GEN" --prepare "$D/c" --tokens 4 "Th" > /dev/null
    start_parties "$D/c" 1 --test-die-after 1
    t0=$SECONDS
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --json --tokens 4 "Th"
    assert_failure 3
    # well within the client's 600 s wait and the parties' peer timeout: a dead peer's socket
    # closes at once, nobody waits it out
    [ $((SECONDS - t0)) -lt 180 ]
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
    [[ "$output" == '{"token": '* ]]
    [[ "$stderr" == *"party 1"* ]]
    wait_parties "$D/c"
    [ "$codes" = "3 137 3" ]
    grep -q "party 1" "$D/c/p0.out"
    grep -q "party 1" "$D/c/p2.out"
}

# consumed KIND POOL: the pool's consumed count of KIND (mimir-triples status --json).
consumed() {
    "$ROOT/bin/mimir-triples" status --json "$2" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["kinds"][sys.argv[1]]["consumed"])' "$1"
}

@test "after a party was killed, the next session on the same pools re-aligns the cursors and generates" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-party-hooks not built"
    # pools for two sessions of 9 steps (a session takes its own weight masks): the first
    # dies after its first token, wasting the killed party's reservations; the second needs 3
    # steps. As an operator topping up with `mimir-triples generate` would have them.
    "$GEN" --prepare "$D/c" --tokens 8 "Th" > /dev/null
    "$ROOT/bin/mimir-triples" plan --model "$ROOT/models/tiny" --tokens 8 --prompt-len 2 |
        python3 -c '
import json, sys
p = json.load(sys.stdin)
masks = sum(1 for it in p["items"] if it["kind"] == "wmask")
again = [dict(it, mask=it["mask"] + masks) if it["kind"] == "wpair" else it for it in p["items"]]
p["items"] += again
json.dump(p, sys.stdout)' > "$D/plan2.json"
    session=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["session"])' \
        "$D/c/cluster.json")
    rm -rf "$D/c/pool.p0" "$D/c/pool.p1" "$D/c/pool.p2"
    "$ROOT/bin/mimir-triples" deal --plan "$D/plan2.json" --session "$session" -o "$D/c/pool" \
        2> /dev/null
    start_parties "$D/c" 1 --test-die-after 1
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --tokens 8 "Th"
    assert_failure 3
    wait_parties "$D/c"
    [ "$codes" = "3 137 3" ]
    # the killed party's cursor counts its reservations: it is ahead of the others
    c0=$(consumed triple "$D/c/pool.p0") c1=$(consumed triple "$D/c/pool.p1")
    [ "$c1" -gt "$c0" ]
    start_parties "$D/c"
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --tokens 2 "Th"
    assert_success
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 2 "Th")" ]
    wait_parties "$D/c"
    [ "$codes" = "0 0 0" ]
    grep -q "party 0: pool .* re-aligned with the peers' cursors: [0-9]* items skipped" "$D/c/p0.out"
    ! grep -q "re-aligned" "$D/c/p1.out"
    for kind in triple trunc edabit btriple cmask; do
        a=$(consumed $kind "$D/c/pool.p0") b=$(consumed $kind "$D/c/pool.p1")
        c=$(consumed $kind "$D/c/pool.p2")
        [ "$a" = "$b" ] && [ "$b" = "$c" ]
    done
}

# One prepared cluster ("T", 2 tokens), copied fresh for each run (a run consumes its pool).
# Party 2 cheats. The step faults hit the second step (opens 700.., check 1: the first MAC
# check is the one before the first token), so exactly the first token is printed; the input
# faults hit the prompt's input (input 1; input 0 is the weights), before any token. If the
# step's event counts change, the AT values here may need to move with them.
@test "a party that cheats, every fault kind: exit 1 on the client and every honest party, no further token" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-party-hooks not built"
    "$GEN" --prepare "$D/base" --tokens 2 "T" > /dev/null
    want="$("$GEN" --plaintext --json --quiet --tokens 2 "T" | cut -d, -f1)"
    for spec in open-flip:700:70:1 copy:700:1 mac-value:1:1 mac-commit:1:1 input-copy:1:0 \
        input-mac:1:0; do
        fault="${spec%:*}" tokens="${spec##*:}"
        rm -rf "$D/c"
        cp -a "$D/base" "$D/c"
        start_parties "$D/c" 2 --test-fault "$fault"
        run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --json --tokens 2 "T"
        echo "# $fault: client $status, $(printf '%s' "$output" | grep -c token) tokens, $stderr" >&3
        assert_failure 1
        [[ "$stderr" == *"check"* || "$stderr" == *"inconsistent"* ]]
        # exactly the tokens before the fault, and they are the right ones
        [ "$(printf '%s' "$output" | grep -c '"token"')" -eq "$tokens" ]
        [ "$(printf '%s\n' "$output" | cut -d, -f1 | head -n "$tokens")" = \
          "$(printf '%s\n' "$want" | head -n "$tokens")" ] || [ "$tokens" -eq 0 ]
        wait_parties "$D/c"
        [ "$(echo "$codes" | cut -d' ' -f1)" = "1" ]
        [ "$(echo "$codes" | cut -d' ' -f2)" = "1" ]
        # the honest party names the failed check (a MAC check cannot say who cheated; a copy
        # check names the two holders that disagree)
        grep -Eq "check|inconsistent" "$D/c/p0.out"
    done
}

@test "secure logits and tokens within the documented bounds (one prompt, party logits joined)" {
    [ -x "$HOOKS" ] && [ -x "$ROOT/tests/bin/gpt2-check" ] || skip "test build not made"
    "$GEN" --prepare "$D/c" --tokens 4 "Once" > /dev/null
    for i in 0 1 2; do
        "$HOOKS" --party "$i" --cluster "$D/c/cluster.json" --model-shares "$D/c/model.p$i" \
            --pool "$D/c/pool.p$i" --test-logits "$D/c/l$i" 2> "$D/c/p$i.out" &
        echo $! > "$D/c/p$i.pid"
    done
    run --separate-stderr "$GEN" --cluster "$D/c/cluster.json" --json --quiet --tokens 4 "Once"
    assert_success
    wait_parties "$D/c"
    [ "$codes" = "0 0 0" ] || { echo "# parties $codes: $(cat "$D"/c/p*.out)" >&3; false; }
    ids="$(printf '%s\n' "$output" | sed 's/^{"token": \([0-9]*\),.*/\1/' | tr '\n' ' ')"
    run "$ROOT/tests/bin/gpt2-check" "$ROOT/models/tiny" "Once" "$ids" "$D/c/l0" "$D/c/l1" \
        "$D/c/l2"
    echo "# $output" >&3
    assert_success
    assert_output --partial "agree 4/4"
    assert_output --partial ": ok"
}

@test "--pad-to: the same text as unpadded; the parties see the same plan, steps and traffic for prompts of different lengths" {
    run --separate-stderr "$GEN" --pad-to 6 --tokens 3 "Th"
    assert_success
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 3 "Th")" ]
    [[ "$stderr" == *"prompt 2 tokens (padded to 6)"* ]]
    # two sessions in one bucket of 6: prompt 2 + 3 new, and prompt 4 + 1 new
    "$GEN" --prepare "$D/a" --pad-to 6 --tokens 3 "Th" > /dev/null
    run "$GEN" --prepare "$D/b" --pad-to 6 --tokens 1 "Once"
    assert_success
    assert_output --partial "--pad-to 6"
    cmp "$D/a/plan.json" "$D/b/plan.json"
    start_parties "$D/b"
    run --separate-stderr "$GEN" --cluster "$D/b/cluster.json" --json --tokens 1 --pad-to 6 \
        "Once"
    assert_success
    echo "# padded, 'Once' + 1: $output" >&3
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
    [ "$(printf '%s\n' "$output" | cut -d, -f1)" = \
      "$("$GEN" --plaintext --json --quiet --tokens 1 "Once" | cut -d, -f1)" ]
    wait_parties "$D/b"
    [ "$codes" = "0 0 0" ]
    start_parties "$D/a"
    run --separate-stderr "$GEN" --cluster "$D/a/cluster.json" --tokens 3 --pad-to 6 "Th"
    assert_success
    wait_parties "$D/a"
    [ "$codes" = "0 0 0" ]
    # what each party saw: 5 padded steps, and the same rounds and bytes in both sessions
    for i in 0 1 2; do
        grep -q "party $i: served 5 padded steps (bucket 6)" "$D/a/p$i.out"
        a="$(sed -n 's/.*: \([0-9]* rounds, [0-9]* bytes sent\),.*/\1/p' "$D/a/p$i.out")"
        b="$(sed -n 's/.*: \([0-9]* rounds, [0-9]* bytes sent\),.*/\1/p' "$D/b/p$i.out")"
        [ -n "$a" ] && [ "$a" = "$b" ]
    done
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
    run "$GEN" --pad-to 1 "Th"
    assert_failure 2
    assert_output --partial "--pad-to: '1' is not a bucket length"
    run "$GEN" --pad-to x "Th"
    assert_failure 2
    run "$GEN" --plaintext --pad-to 8 "Th"
    assert_failure 2
    assert_output --partial "--pad-to: --plaintext runs in this process"
    run "$GEN" --pad-to 4 --tokens 3 "Th"
    assert_failure 2
    assert_output --partial "--pad-to: the prompt is 2 tokens and --tokens 3, 5 in all: expected at most the bucket of 4"
    run "$GEN" --pad-to 129 "Th"
    assert_failure 2
    assert_output --partial "expected at most the model's context of 128"
    [ -z "$(ls -A "$D" | grep mimir-generate)" ]
}
