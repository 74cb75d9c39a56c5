#!/usr/bin/env bats
# mimir-triples generate: three real processes (TLS over Unix sockets or loopback TCP) generate
# their pools with no trusted party; `mimir-triples status` counts what they made; the pools
# serve `mimir-party compute` (products joined with `mimir-share join` are right); append mode,
# bad usage, and (with the test build's hooks, if built) a tampered product stops every party
# with exit 1 and writes nothing. Boolean triples and comparison masks: generated from flags and
# from a `plan --compare binary` plan, whose pools serve a secure generation (mimir-generate
# --cluster) equal to the plaintext one. Every process runs under `timeout 60` (a whole plan:
# 150) with 3 s timeouts.

bats_require_minimum_version 1.5.0

SESSION=00112233445566778899aabbccddeeff

setup_file() {
    local F="$BATS_FILE_TMPDIR" i
    for i in 0 1 2; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=mimir party $i" -keyout "$F/p$i.key" -out "$F/p$i.pem" 2> /dev/null
    done
}

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    TRIPLES="$ROOT/bin/mimir-triples"
    HOOKS="$ROOT/tests/bin/mimir-triples-hooks"
    PARTY="$ROOT/bin/mimir-party"
    SHARE="$ROOT/bin/mimir-share"
    GEN="$ROOT/bin/mimir-generate"
    MODEL="$ROOT/models/tiny"
    D="$BATS_TEST_TMPDIR"
    F="$BATS_FILE_TMPDIR"
    PIDS=()
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
}

freeport() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# cluster KIND: $D/c.json for the three parties on unix sockets or loopback TCP.
cluster() {
    local kind=$1 i a
    {
        printf '{"version": 1, "session": "%s", "connect_timeout_ms": 3000,\n' "$SESSION"
        printf ' "peer_timeout_ms": 3000, "parties": [\n'
        for i in 0 1 2; do
            if [ "$kind" = tcp ]; then a="tcp:127.0.0.1:$(freeport)"; else a="unix:$D/s$i"; fi
            printf '  {"index": %d, "address": "%s", "cert": "%s", "key": "%s"}%s\n' \
                $i "$a" "$F/p$i.pem" "$F/p$i.key" "$([ $i = 2 ] || echo ,)"
        done
        printf ']}\n'
    } > "$D/c.json"
}

# start I BIN ARGS...: party I runs `BIN ARGS` in the background under timeout 60; '@' in an
# argument becomes the party index. stdout in $D/out.I, stderr in $D/err.I, status in $D/rc.I.
start() {
    local i=$1 bin=$2 arg args=()
    shift 2
    for arg in "$@"; do args+=("${arg//@/$i}"); done
    ( if timeout 60 "$bin" "${args[@]}" > "$D/out.$i" 2> "$D/err.$i"; then
          echo 0 > "$D/rc.$i"
      else
          echo $? > "$D/rc.$i"
      fi ) 3>&- &
    PIDS+=($!)
}

# gen3 ARGS...: the three parties run generate into $D/pool.pI; waits.
gen3() {
    local i
    for i in 0 1 2; do
        start $i "$TRIPLES" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" "$@"
    done
    wait
}

rc() { cat "$D/rc.$1"; }

all_ok() {
    local i
    for i in 0 1 2; do
        if [ "$(rc $i)" != 0 ]; then
            echo "party $i exited $(rc $i): $(cat "$D/err.$i")" >&2
            return 1
        fi
    done
}

@test "--help names the options; bad usage is exit 2 before any connection" {
    run "$TRIPLES" generate --help
    assert_success
    assert_output --partial "Usage: mimir-triples generate --party I --cluster FILE"
    for w in --triples --matrix --trunc --edabits --btriples --cmasks --plan --seed-file --json \
        --progress; do
        assert_output --partial -- "$w"
    done
    refute_output --partial "--test-fault"
    run "$TRIPLES" --help
    assert_output --partial "generate"
    cluster unix
    run "$TRIPLES" generate --cluster "$D/c.json" --triples 5 -o "$D/p"
    assert_failure 2
    assert_output --partial "no party, expected --party I"
    run "$TRIPLES" generate --party 3 --cluster "$D/c.json" --triples 5 -o "$D/p"
    assert_failure 2
    assert_output --partial "--party 3: expected 0, 1 or 2"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" -o "$D/p"
    assert_failure 2
    assert_output --partial "nothing to generate"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --matrix 2x3 -o "$D/p"
    assert_failure 2
    assert_output --partial "expected RxIxC[:COUNT]"
    echo '{"version": 1, "items": [{"kind": "triple", "count": 3, "extra": 1}]}' > "$D/plan"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --plan "$D/plan" -o "$D/p"
    assert_failure 2
    assert_output --partial "plan: items[0].extra: unknown key"
    run "$TRIPLES" generate --party 0 --cluster "$D/missing.json" --triples 1 -o "$D/p"
    assert_failure
    [ ! -e "$D/p" ]
}

@test "three processes generate every kind; status counts them; session and party bound" {
    cluster unix
    echo '{"version": 1, "items": [{"kind": "trunc", "f": 12, "count": 7}]}' > "$D/plan"
    gen3 --triples 1000 --matrix 2x3x4:2 --trunc 10:16 --edabits 5 --plan "$D/plan" --json
    all_ok
    run cat "$D/err.1"
    assert_output --partial \
        "party 1: generated 1000 triples, 2 matrix triples, 17 truncation pairs, 5 edaBits, 0 weight masks and 0 weight pairs"
    run python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
assert o["party"] == 2 and o["created_by"] == "parties" and o["session"] == sys.argv[2], o
assert o["generated"]["triple"] == 1000 and o["generated"]["edabit"] == 5, o
assert o["generated"]["matrix"] == 2 * (6 + 12 + 8) and o["generated"]["trunc"] == 17, o
assert o["sacrificed"]["triple"] == 1000 and o["sacrifices"] >= 6, o
assert o["rounds"] > 0 and o["bytes_sent"] > 0, o
print("json ok")' "$D/out.2" "$SESSION"
    assert_output "json ok"
    for i in 0 1 2; do
        run "$TRIPLES" status --json "$D/pool.p$i"
        assert_success
        assert_output --partial '"created_by": "parties"'
        assert_output --partial "\"party\": $i"
        assert_output --partial "\"session\": \"$SESSION\""
        assert_output --regexp '"triple": *\{[^}]*"generated": *1000'
        assert_output --regexp '"triple": *\{[^}]*"sacrificed": *1000'
        assert_output --regexp '"edabit": *\{[^}]*"generated": *5'
        assert_output --regexp '"trunc": *\{[^}]*"generated": *17'
        assert_output --regexp '"matrix": *\{[^}]*"generated": *52'
    done
    run "$TRIPLES" status "$D/pool.p0"
    assert_success
    assert_output --partial "parties"
}

@test "generated pools serve mimir-party compute: products join to the right values" {
    cluster tcp
    gen3 --triples 8 --matrix 2x3x2 --trunc 8:16
    all_ok
    python3 - "$D" << 'EOF'
import struct, sys
d = sys.argv[1]
def npy(path, dt, shape, vals):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (dt, shape)
    h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + '\n'
    f = {'<i8': 'q', '<f4': 'f'}[dt]
    with open(path, 'wb') as o:
        o.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode())
        o.write(struct.pack('<%d%s' % (len(vals), f), *vals))
npy(d + '/a.npy', '<i8', (4,), [3, -4, 1 << 40, 7])
npy(d + '/b.npy', '<i8', (4,), [5, 6, 1 << 20, -7])
npy(d + '/x.npy', '<f4', (2, 3), [1, 2, 3, -1.5, 0.5, 2])
npy(d + '/y.npy', '<f4', (3, 2), [0.5, -1, 2, 0.25, -3, 1])
EOF
    for t in a b x y; do "$SHARE" split -o "$D/$t" "$D/$t.npy"; done
    for i in 0 1 2; do
        start $i "$PARTY" compute --party $i --cluster "$D/c.json" --pool "$D/pool.p$i" \
            mul "$D/a.p$i" "$D/b.p$i" -o "$D/r.p$i"
    done
    wait
    all_ok
    "$SHARE" join -o "$D/r.npy" "$D/r.p0" "$D/r.p1" "$D/r.p2"
    run python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read(); hl = struct.unpack("<H", b[8:10])[0]
print(list(struct.unpack("<4q", b[10 + hl:])))' "$D/r.npy"
    assert_output "[15, -24, $((1 << 60)), -49]"
    for i in 0 1 2; do
        start $i "$PARTY" compute --party $i --cluster "$D/c.json" --pool "$D/pool.p$i" \
            matmul "$D/x.p$i" "$D/y.p$i" -o "$D/m.p$i"
    done
    wait
    all_ok
    "$SHARE" join -o "$D/m.npy" "$D/m.p0" "$D/m.p1" "$D/m.p2"
    run python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read(); hl = struct.unpack("<H", b[8:10])[0]
got = struct.unpack("<4f", b[10 + hl:])
want = [-4.5, 2.5, -5.75, 3.625]
assert all(abs(g - w) < 1e-4 for g, w in zip(got, want)), got
print("matmul ok")' "$D/m.npy"
    assert_output "matmul ok"
    run "$TRIPLES" status --json "$D/pool.p0"
    assert_output --regexp '"triple": *\{[^}]*"consumed": *4'
}

@test "an existing pool gets more batches appended; a new and an existing pool do not mix" {
    cluster unix
    gen3 --triples 100
    all_ok
    gen3 --triples 50 --edabits 2
    all_ok
    run "$TRIPLES" status --json "$D/pool.p2"
    assert_output --regexp '"triple": *\{[^}]*"generated": *150'
    assert_output --regexp '"edabit": *\{[^}]*"generated": *2'
    rm -rf "$D/pool.p1"
    gen3 --triples 10
    for i in 0 1 2; do [ "$(rc $i)" = 2 ]; done
    run cat "$D/err.1"
    assert_output --partial "expected the same at all three"
    [ ! -e "$D/pool.p1" ]
    run "$TRIPLES" status --json "$D/pool.p0"
    assert_output --regexp '"triple": *\{[^}]*"generated": *150'
}

@test "a dealer's pool is not appended to" {
    cluster unix
    "$TRIPLES" deal --session "$SESSION" --triples 4 -o "$D/pool" 2> /dev/null
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --triples 4 -o "$D/pool.p0"
    assert_failure 2
    assert_output --partial "created_by: \"dealer\", expected a pool made by generate"
}

@test "test build: a tampered product stops all three parties with exit 1, nothing written" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-triples-hooks is not built"
    cluster unix
    for i in 0 1 2; do
        f=()
        [ $i = 1 ] && f=(--test-fault triple-c:0)
        start $i "$HOOKS" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" \
            --triples 100 "${f[@]}"
    done
    wait
    for i in 0 1 2; do [ "$(rc $i)" = 1 ]; [ ! -e "$D/pool.p$i" ]; done
    run cat "$D/err.0"
    assert_output --partial "sacrifice check failed"
}

@test "test build: a failed sacrifice appends nothing to an existing pool and is counted" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-triples-hooks is not built"
    cluster unix
    gen3 --triples 20
    all_ok
    for i in 0 1 2; do
        f=()
        [ $i = 2 ] && f=(--test-fault triple-c:0)
        start $i "$HOOKS" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" \
            --triples 30 "${f[@]}"
    done
    wait
    for i in 0 1 2; do [ "$(rc $i)" = 1 ]; done
    for i in 0 1; do
        run "$TRIPLES" status --json "$D/pool.p$i"
        assert_output --regexp '"triple": *\{[^}]*"generated": *20'
        assert_output --regexp '"triple": *\{[^}]*"failed": *30'
    done
}

@test "parties asking for different items stop with exit 2 before generating anything" {
    cluster unix
    for i in 0 1 2; do
        n=10
        [ $i = 2 ] && n=11
        start $i "$TRIPLES" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" \
            --triples $n
    done
    wait
    for i in 0 1 2; do [ "$(rc $i)" = 2 ]; [ ! -e "$D/pool.p$i" ]; done
    run cat "$D/err.0"
    assert_output --partial "party 2: items: asks for other items"
}

@test "--seed-file makes a run reproducible: the same seeds give byte-identical pools" {
    cluster unix
    for i in 0 1 2; do printf '%064x\n' $((i + 7)) > "$D/seed$i"; done
    gen3 --seed-file "$D/seed@" --triples 100 --edabits 3 --matrix 2x3x4
    all_ok
    for i in 0 1 2; do mv "$D/pool.p$i" "$D/first.p$i"; done
    gen3 --seed-file "$D/seed@" --triples 100 --edabits 3 --matrix 2x3x4
    all_ok
    for i in 0 1 2; do
        for f in alpha.key batch-000000.mtp batch-000001.mtp batch-000002.mtp; do
            cmp "$D/first.p$i/$f" "$D/pool.p$i/$f"
        done
    done
    printf 'xyz\n' > "$D/bad"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --seed-file "$D/bad" --triples 1 \
        -o "$D/x"
    assert_failure 2
    assert_output --partial "bad: seed: expected 64 hex digits"
}

# A plan with two weight masks and pairs bound to each (plain and transposed).
wplan() {
    cat > "$D/wplan.json" <<'JSON'
{"version": 1, "items": [
  {"kind": "triple", "count": 5},
  {"kind": "wmask", "inner": 6, "cols": 10, "count": 1},
  {"kind": "wmask", "inner": 4, "cols": 3, "count": 1},
  {"kind": "wpair", "mask": 0, "rows": 2, "transposed": 0, "count": 3},
  {"kind": "wpair", "mask": 0, "rows": 1, "transposed": 1, "count": 2},
  {"kind": "wpair", "mask": 1, "rows": 5, "transposed": 0, "count": 1}]}
JSON
}

@test "weight masks and pairs from a plan: generated, counted, status --json and --prom" {
    cluster unix
    wplan
    gen3 --plan "$D/wplan.json" --json
    all_ok
    # elements: masks 60 + 12; pairs 3*(12+20) + 2*(10+6) + (20+15)
    for i in 0 1 2; do
        run "$TRIPLES" status --json "$D/pool.p$i"
        assert_success
        assert_output --regexp '"wmask": *\{[^}]*"remaining": *72'
        assert_output --regexp '"wmask": *\{[^}]*"generated": *72'
        assert_output --regexp '"wpair": *\{[^}]*"remaining": *163'
        assert_output --regexp '"wpair": *\{[^}]*"sacrificed": *163'
        assert_output --regexp '"wpair": *\{[^}]*"failed": *0'
        run "$TRIPLES" status --prom "$D/pool.p$i"
        assert_line "mimir_pool_items{kind=\"wpair\",state=\"remaining\",party=\"$i\",session=\"$SESSION\",pool=\"$D/pool.p$i\"} 163"
        assert_line "mimir_pool_items{kind=\"wmask\",state=\"generated\",party=\"$i\",session=\"$SESSION\",pool=\"$D/pool.p$i\"} 72"
    done
    run cat "$D/err.1"
    assert_output --partial "2 weight masks and 6 weight pairs"
    python3 -c 'import json,sys; j = json.load(open(sys.argv[1]))
assert j["generated"]["wmask"] == 72 and j["generated"]["wpair"] == 163, j["generated"]
assert j["items"]["wmask"] == [{"inner": 6, "cols": 10}, {"inner": 4, "cols": 3}]' "$D/out.0"
}

@test "a plan's pair naming a missing mask is exit 2 naming the item" {
    cluster unix
    echo '{"version": 1, "items": [{"kind": "wmask", "inner": 2, "cols": 2, "count": 1},
      {"kind": "wpair", "mask": 1, "rows": 1, "transposed": 0, "count": 1}]}' > "$D/bad.json"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --plan "$D/bad.json" -o "$D/p"
    assert_failure 2
    assert_output --partial "bad.json: items[1].mask: mask 1, but the plan has 1 weight mask"
    echo '{"version": 1, "items": [{"kind": "wmask", "inner": 2, "cols": 2, "count": 2}]}' \
        > "$D/bad.json"
    run "$TRIPLES" generate --party 0 --cluster "$D/c.json" --plan "$D/bad.json" -o "$D/p"
    assert_failure 2
    assert_output --partial "items[0].count"
    [ ! -e "$D/p" ]
}

@test "boolean triples and comparison masks from flags: counted, JSON, status" {
    cluster unix
    gen3 --btriples 300 --cmasks 70 --json
    all_ok
    run cat "$D/err.1"
    assert_output --partial "0 weight pairs, 300 boolean triple words, 70 comparison masks into"
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
assert j["items"]["btriple"] == 300 and j["items"]["cmask"] == 70, j["items"]
assert j["generated"]["btriple"] == 300 and j["generated"]["cmask"] == 70, j["generated"]
# 300 buckets of B = 6 plus 6 opened words; 70 masks + two daBit items, 256 elements each
assert j["sacrificed"]["btriple"] == 300 * 6 + 6 - 300, j["sacrificed"]
assert j["sacrificed"]["cmask"] == 256 * 72, j["sacrificed"]' "$D/out.0"
    for i in 0 1 2; do
        run "$TRIPLES" status --json "$D/pool.p$i"
        assert_output --regexp '"btriple": *\{[^}]*"remaining": *300'
        assert_output --regexp '"cmask": *\{[^}]*"remaining": *70'
    done
    # without them, the JSON items are as before
    rm -rf "$D"/pool.p*
    gen3 --triples 3 --json
    all_ok
    run python3 -c 'import json, sys; print(sorted(json.load(open(sys.argv[1]))["items"]))' \
        "$D/out.2"
    assert_output "['edabit', 'matrix', 'triple', 'trunc', 'wmask', 'wpair']"
}

@test "a plan --compare binary: generated pools serve a secure generation equal to plaintext" {
    export TMPDIR="$D"
    # "Th" is 2 tokens with the tiny model's character tokenizer; 1 new token
    run "$GEN" --prepare "$D/c" --tokens 1 "Th"
    assert_success
    "$TRIPLES" plan --model "$MODEL" --prompt-len 2 --tokens 1 --compare binary > "$D/plan.json"
    for i in 0 1 2; do
        rm -rf "$D/c/pool.p$i"
        ( if timeout 150 "$TRIPLES" generate --party $i --cluster "$D/c/cluster.json" \
              --plan "$D/plan.json" -o "$D/c/pool.p$i" > /dev/null 2> "$D/err.$i"; then
              echo 0 > "$D/rc.$i"
          else
              echo $? > "$D/rc.$i"
          fi ) 3>&- &
        PIDS+=($!)
    done
    wait
    all_ok
    want="$(python3 -c 'import json, sys; e = json.load(open(sys.argv[1]))["generation"]["elements"]
print(e["btriple"], e["cmask"])' "$D/plan.json")"
    for i in 0 1 2; do
        got="$(python3 -c 'import json, sys; k = json.load(open(sys.argv[1]))["kinds"]
print(k["btriple"]["generated"], k["cmask"]["generated"])' <("$TRIPLES" status --json "$D/c/pool.p$i"))"
        [ "$got" = "$want" ]
        run "$TRIPLES" status "$D/c/pool.p$i"
        assert_output --regexp "btriple +${want% *} "
        assert_output --partial "created by parties"
    done
    PIDS=()
    for i in 0 1 2; do
        timeout 120 "$PARTY" --party $i --cluster "$D/c/cluster.json" \
            --model-shares "$D/c/model.p$i" --pool "$D/c/pool.p$i" 2> "$D/c/p$i.out" &
        PIDS+=($!)
    done
    run --separate-stderr timeout 120 "$GEN" --cluster "$D/c/cluster.json" --tokens 1 "Th"
    assert_success
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 1 "Th")" ]
    for p in "${PIDS[@]}"; do wait "$p"; done
    PIDS=()
    for i in 0 1 2; do
        run python3 -c 'import json, sys; k = json.load(open(sys.argv[1]))["kinds"]
print(k["btriple"]["remaining"], k["cmask"]["remaining"], k["cmask"]["consumed"] > 0)' \
            <("$TRIPLES" status --json "$D/c/pool.p$i")
        assert_output "0 0 True"
    done
}

@test "test build: a wrong z in one AND reshare stops all three with exit 1, nothing written" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-triples-hooks is not built"
    cluster unix
    for i in 0 1 2; do
        f=()
        [ $i = 1 ] && f=(--test-fault btriple-z:0)
        start $i "$HOOKS" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" \
            --btriples 200 --cmasks 5 "${f[@]}"
    done
    wait
    for i in 0 1 2; do [ "$(rc $i)" = 1 ]; [ ! -e "$D/pool.p$i" ]; done
    for i in 0 2; do
        run cat "$D/err.$i"
        assert_output --partial "sacrifice check failed"
        assert_output --partial "boolean triples"
    done
}

@test "test build: a tampered weight pair or weight-mask MAC stops all three with exit 1" {
    [ -x "$HOOKS" ] || skip "tests/bin/mimir-triples-hooks is not built"
    local fault msg
    for fault in wpair-c:0 wmask-mac:1 wmask-copy:0; do
        cluster unix
        wplan
        rm -rf "$D"/pool.p*
        for i in 0 1 2; do
            f=()
            [ $i = 1 ] && f=(--test-fault "$fault")
            start $i "$HOOKS" generate --party $i --cluster "$D/c.json" -o "$D/pool.p$i" \
                --plan "$D/wplan.json" "${f[@]}"
        done
        wait
        for i in 0 1 2; do [ "$(rc $i)" = 1 ]; [ ! -e "$D/pool.p$i" ]; done
        case $fault in
        wpair-c*) msg="sacrifice check failed" ;;
        wmask-mac*) msg="MAC check failed" ;;
        *) msg="weight mask check failed" ;;
        esac
        run cat "$D/err.0"
        assert_output --partial "$msg"
    done
}
