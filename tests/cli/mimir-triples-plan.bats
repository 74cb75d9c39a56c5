#!/usr/bin/env bats
# mimir-triples plan: the items a secure generation of a given size consumes with a model,
# from the secure step code run in plan mode. The JSON names the model (config.json digest),
# its element counts agree with its items, `deal --plan` of it gives pools whose status shows
# exactly those counts, and a real secure generation of that size (mimir-generate --cluster
# against parties serving pools dealt from the plan) consumes every item and no more. Every bad
# input is exit 2 naming the option or the file. Pools made from a plan are bound to its model
# (POOL/model.json): mimir-party serve refuses a pool made for another model, consuming nothing.

bats_require_minimum_version 1.5.0

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    MT="$ROOT/bin/mimir-triples"
    GEN="$ROOT/bin/mimir-generate"
    PARTY="$ROOT/bin/mimir-party"
    MODEL="$ROOT/models/tiny"
    D="$BATS_TEST_TMPDIR"
    SESSION=00112233445566778899aabbccddeeff
    unset MIMIR_MODEL_DIR
    export TMPDIR="$D"
    PIDS=()
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
}

# jget FILE EXPR: a Python expression over the JSON object j read from FILE.
jget() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2"
}

# Elements per kind a plan's items add up to (as pools count them), as "k=n ..." sorted.
ELEMS='
import json, sys
j = json.load(open(sys.argv[1]))
e = dict.fromkeys(["triple", "matrix", "trunc", "edabit", "wmask", "wpair", "btriple", "cmask"], 0)
masks = []
for it in j["items"]:
    k, n = it["kind"], it["count"]
    if k == "matrix":
        r, i, c = it["rows"], it["inner"], it["cols"]
        e[k] += n * (r * i + i * c + r * c)
    elif k == "wmask":
        masks.append((it["inner"], it["cols"]))
        e[k] += n * it["inner"] * it["cols"]
    elif k == "wpair":
        i, c = masks[it["mask"]]
        a, o = (c, i) if it["transposed"] else (i, c)
        e[k] += n * it["rows"] * (a + o)
    else:
        e[k] += n
print(" ".join("%s=%d" % (k, e[k]) for k in sorted(e)))'

@test "--help names the options; plan is in the tool's usage" {
    run "$MT" plan --help
    assert_success
    assert_output --partial "Usage: mimir-triples plan --model DIR --tokens N [--prompt-len L]"
    for w in --model --tokens --prompt-len --human; do assert_output --partial -- "$w"; done
    run "$MT" --help
    assert_output --partial "plan "
}

@test "the plan names the model and its counts agree with its items" {
    run --separate-stderr "$MT" plan --model "$MODEL" --tokens 3 --prompt-len 2
    assert_success
    printf '%s\n' "$output" > "$D/plan.json"
    [ "$(jget "$D/plan.json" 'j["version"]')" = 1 ]
    [ "$(jget "$D/plan.json" 'j["model"]["name"]')" = tiny ]
    [ "$(jget "$D/plan.json" 'j["model"]["config_sha256"]')" = \
      "$(sha256sum "$MODEL/config.json" | cut -d' ' -f1)" ]
    [ "$(jget "$D/plan.json" '(j["model"]["n_layer"], j["model"]["n_embd"], j["model"]["vocab_size"], j["model"]["n_ctx"])')" = "(2, 128, 96, 128)" ]
    [ "$(jget "$D/plan.json" '(j["generation"]["prompt_len"], j["generation"]["tokens"], j["generation"]["steps"])')" = "(2, 3, 4)" ]
    sum="$(python3 -c "$ELEMS" "$D/plan.json")"
    el="$(jget "$D/plan.json" '" ".join("%s=%d" % (k, v) for k, v in sorted(j["generation"]["elements"].items()))')"
    [ "$sum" = "$el" ]
    # weight masks: one per weight matrix (wte, and 4 per layer)
    [ "$(jget "$D/plan.json" 'sum(1 for i in j["items"] if i["kind"] == "wmask")')" = 9 ]
    # comparisons in the binary domain (the default): masks and boolean triples, no edaBit
    for k in triple trunc wpair btriple cmask; do
        [ "$(jget "$D/plan.json" "j['generation']['elements']['$k']")" -gt 0 ]
    done
    [ "$(jget "$D/plan.json" "j['generation']['elements']['edabit']")" = 0 ]
    # the same request gives the same plan; more tokens need more of everything per step
    run --separate-stderr "$MT" plan --model "$MODEL" --tokens 3 --prompt-len 2
    [ "$output" = "$(cat "$D/plan.json")" ]
    "$MT" plan --model "$MODEL" --tokens 5 --prompt-len 2 > "$D/plan5.json"
    [ "$(jget "$D/plan5.json" 'j["generation"]["elements"]["triple"]')" -gt \
      "$(jget "$D/plan.json" 'j["generation"]["elements"]["triple"]')" ]
    # --human: a table on stderr, the JSON unchanged on stdout
    run --separate-stderr "$MT" plan --model "$MODEL" --tokens 3 --prompt-len 2 --human
    [ "$output" = "$(cat "$D/plan.json")" ]
    [[ "$stderr" == *"wpair"* ]]
}

@test "no new tokens: no argmax, so fewer comparisons than with one token" {
    "$MT" plan --model "$MODEL" --tokens 0 --prompt-len 3 > "$D/p0.json"
    "$MT" plan --model "$MODEL" --tokens 1 --prompt-len 3 > "$D/p1.json"
    [ "$(jget "$D/p0.json" 'j["generation"]["steps"]')" = 3 ]
    [ "$(jget "$D/p1.json" 'j["generation"]["steps"]')" = 3 ]
    [ "$(jget "$D/p0.json" 'j["generation"]["elements"]["cmask"]')" -lt \
      "$(jget "$D/p1.json" 'j["generation"]["elements"]["cmask"]')" ]
    # the same in the arithmetic domain, where comparisons take edaBits
    "$MT" plan --model "$MODEL" --tokens 0 --prompt-len 3 --compare arithmetic > "$D/a0.json"
    "$MT" plan --model "$MODEL" --tokens 1 --prompt-len 3 --compare arithmetic > "$D/a1.json"
    [ "$(jget "$D/a0.json" 'j["generation"]["elements"]["edabit"]')" -lt \
      "$(jget "$D/a1.json" 'j["generation"]["elements"]["edabit"]')" ]
}

@test "deal --plan of a plan gives pools holding exactly the plan's elements" {
    "$MT" plan --model "$MODEL" --tokens 2 > "$D/plan.json"
    run "$MT" deal --session "$SESSION" --plan "$D/plan.json" -o "$D/pool"
    assert_success
    for i in 0 1 2; do
        "$MT" status --json "$D/pool.p$i" > "$D/s$i.json"
        for k in triple matrix trunc edabit wmask wpair btriple cmask; do
            [ "$(jget "$D/s$i.json" "j['kinds']['$k']['remaining']")" = \
              "$(jget "$D/plan.json" "j['generation']['elements']['$k']")" ]
        done
    done
}

@test "bad input is exit 2 naming the option or the file" {
    run "$MT" plan --tokens 3
    assert_failure 2
    assert_output --partial "no model, expected --model DIR"
    run "$MT" plan --model "$MODEL"
    assert_failure 2
    assert_output --partial "no size, expected --tokens N"
    run "$MT" plan --model "$D/none" --tokens 3
    assert_failure 2
    assert_output --partial "$D/none: --model: not a directory"
    mkdir "$D/empty"
    run "$MT" plan --model "$D/empty" --tokens 3
    assert_failure 2
    assert_output --partial "$D/empty/config.json: config.json: missing"
    mkdir "$D/bad" && echo '{"n_layer": "two"}' > "$D/bad/config.json"
    run "$MT" plan --model "$D/bad" --tokens 3
    assert_failure 2
    assert_output --partial "$D/bad/config.json"
    run "$MT" plan --model "$MODEL" --tokens -1
    assert_failure 2
    assert_output --partial "--tokens -1: expected a count"
    run "$MT" plan --model "$MODEL" --tokens 3 --prompt-len 0
    assert_failure 2
    assert_output --partial "--prompt-len 0: expected a count from 1"
    # the tiny model has 128 positions: 2 + 128 - 1 steps do not fit
    run "$MT" plan --model "$MODEL" --tokens 128 --prompt-len 2
    assert_failure 2
    assert_output --partial "--tokens: 128 new tokens after a prompt of 2, expected 0 to 127"
    run "$MT" plan --model "$MODEL" --tokens 1 --prompt-len 129
    assert_failure 2
    assert_output --partial "--prompt-len: 129 tokens, expected 1 to the model's context of 128"
    run "$MT" plan --model "$MODEL" --tokens 1 extra
    assert_failure 2
    assert_output --partial "unexpected argument 'extra'"
}

# consume_plan DOMAIN: a plan with --compare DOMAIN, pools dealt from it, a real secure
# generation served from them; every kind ends with nothing left and consumed = the plan.
consume_plan() {
    # "Th" is 2 tokens with the tiny model's character tokenizer; 3 new tokens
    run "$GEN" --prepare "$D/c" --tokens 3 "Th"
    assert_success
    "$MT" plan --model "$MODEL" --prompt-len 2 --tokens 3 --compare "$1" > "$D/plan.json"
    if [ "$1" = binary ]; then
        # the plan --prepare made for its dealer is the same plan (one code path, the binary
        # domain of the embedded cluster)
        [ "$(jget "$D/c/plan.json" 'j["items"]')" = "$(jget "$D/plan.json" 'j["items"]')" ]
        [ "$(jget "$D/plan.json" 'j["generation"]["elements"]["edabit"]')" = 0 ]
        [ "$(jget "$D/plan.json" 'j["generation"]["elements"]["cmask"]')" -gt 0 ]
    else
        [ "$(jget "$D/plan.json" 'j["generation"]["elements"]["cmask"]')" = 0 ]
        [ "$(jget "$D/plan.json" 'j["generation"]["elements"]["btriple"]')" = 0 ]
        [ "$(jget "$D/plan.json" 'j["generation"]["elements"]["edabit"]')" -gt 0 ]
    fi
    for i in 0 1 2; do rm -rf "$D/c/pool.p$i"; done
    "$MT" deal --cluster "$D/c/cluster.json" --plan "$D/plan.json" -o "$D/c/pool" 2> /dev/null
    for i in 0 1 2; do
        timeout 120 "$PARTY" --party $i --cluster "$D/c/cluster.json" \
            --model-shares "$D/c/model.p$i" --pool "$D/c/pool.p$i" 2> "$D/c/p$i.out" &
        PIDS+=($!)
    done
    run --separate-stderr timeout 120 "$GEN" --cluster "$D/c/cluster.json" --tokens 3 "Th"
    assert_success
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 3 "Th")" ]
    for p in "${PIDS[@]}"; do wait "$p"; done
    PIDS=()
    for i in 0 1 2; do
        "$MT" status --json "$D/c/pool.p$i" > "$D/s$i.json"
        for k in triple matrix trunc edabit wmask wpair btriple cmask; do
            want="$(jget "$D/plan.json" "j['generation']['elements']['$k']")"
            [ "$(jget "$D/s$i.json" "j['kinds']['$k']['remaining']")" = 0 ] ||
                { echo "party $i: $k: $(jget "$D/s$i.json" "j['kinds']['$k']")" >&2; false; }
            [ "$(jget "$D/s$i.json" "j['kinds']['$k']['consumed']")" = "$want" ]
        done
    done
}

@test "a secure generation consumes exactly its plan: every pool ends with nothing left" {
    consume_plan arithmetic
}

@test "the same in the binary domain (plan --compare binary, the embedded cluster's plan)" {
    consume_plan binary
}

@test "--compare takes binary or arithmetic only; the default is binary" {
    run --separate-stderr "$MT" plan --model "$MODEL" --tokens 1 --compare boolean
    assert_failure 2
    [[ "$stderr" == *"--compare boolean: expected binary or arithmetic"* ]]
    "$MT" plan --model "$MODEL" --tokens 1 --compare binary > "$D/b.json"
    "$MT" plan --model "$MODEL" --tokens 1 > "$D/a.json"
    # the default is binary, the embedded cluster's domain
    [ "$(jget "$D/a.json" 'j["items"]')" = "$(jget "$D/b.json" 'j["items"]')" ]
    "$MT" plan --model "$MODEL" --tokens 1 --compare arithmetic > "$D/a2.json"
    [ "$(jget "$D/a.json" 'j["items"]')" != "$(jget "$D/a2.json" 'j["items"]')" ]
    [ "$(jget "$D/a2.json" 'j["generation"]["elements"]["cmask"]')" = 0 ]
}

@test "a pool dealt from a plan for another model is refused by mimir-party serve, exit 2" {
    run "$GEN" --prepare "$D/c" --tokens 2 "Th"
    assert_success
    # the same shape, another configuration file: another digest
    mkdir "$D/other"
    cp "$MODEL"/* "$D/other/"
    python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["note"] = "other"
json.dump(c, open(sys.argv[1], "w"))' "$D/other/config.json"
    "$MT" plan --model "$D/other" --prompt-len 2 --tokens 2 > "$D/plan.json"
    for i in 0 1 2; do rm -rf "$D/c/pool.p$i"; done
    "$MT" deal --cluster "$D/c/cluster.json" --plan "$D/plan.json" -o "$D/c/pool" 2> /dev/null
    [ "$(jget "$D/c/pool.p1/model.json" 'j["config_sha256"]')" = \
      "$(sha256sum "$D/other/config.json" | cut -d' ' -f1)" ]
    run timeout 30 "$PARTY" --party 1 --cluster "$D/c/cluster.json" \
        --model-shares "$D/c/model.p1" --pool "$D/c/pool.p1"
    assert_failure 2
    assert_output --partial "$D/c/pool.p1/model.json: config_sha256: the pool was made for a model"
    "$MT" status --json "$D/c/pool.p1" > "$D/s.json"
    [ "$(jget "$D/s.json" 'sum(k["consumed"] for k in j["kinds"].values())')" = 0 ]
    # the right model's pools (dealt by --prepare from its own plan) are bound and served
    [ -f "$D/c/model.p1/config.json" ]
}
