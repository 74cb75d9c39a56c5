#!/usr/bin/env bats
# Preprocessing that lies, caught online: one party's pool has triples with c != a b (its value
# or its MAC component shifted) and a re-computed batch digest, so the pool's own checks pass
# (as for a party that controls its disk, or a bad dealer at that party). The secure generation
# must stop with exit 1 at the honest parties and at the client, naming the failed check,
# before any token is printed. Offline, `mimir-triples generate`'s sacrifice catches such a
# triple (tests/cli/mimir-triples-generate.bats).

bats_require_minimum_version 1.5.0

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    GEN="$ROOT/bin/mimir-generate"
    PARTY="$ROOT/bin/mimir-party"
    D="$BATS_TEST_TMPDIR"
    export TMPDIR="$D"
}

teardown() {
    for i in 0 1 2; do
        [ -f "$D/c/p$i.pid" ] && kill -9 "$(cat "$D/c/p$i.pid")" 2> /dev/null || true
    done
}

# corrupt POOL WORD: adds 1 to word array WORD (0, 1: the party's value components; 2, 3: its
# MAC components) of c in every triple of every triple batch of POOL and re-digests the files.
corrupt() {
    python3 - "$1" "$2" << 'PY'
import glob, hashlib, struct, sys
pool, wd = sys.argv[1], int(sys.argv[2])
HDR, WORD, W, n = 128, 16, 4, 0
for path in sorted(glob.glob(pool + '/batch-*.mtp')):
    b = bytearray(open(path, 'rb').read())
    body = b[:-32]
    assert hashlib.sha256(body).digest() == bytes(b[-32:]), path
    kind, macs = struct.unpack_from('<I', b, 12)[0], struct.unpack_from('<I', b, 20)[0]
    count = struct.unpack_from('<Q', b, 48)[0]
    if kind != 1:
        continue
    assert macs == 1
    for i in range(count):
        at = HDR + 2 * W * count * WORD + wd * count * WORD + i * WORD  # vector c
        v = int.from_bytes(body[at:at + WORD], 'little')
        body[at:at + WORD] = ((v + 1) % (1 << 128)).to_bytes(WORD, 'little')
    open(path, 'wb').write(bytes(body) + hashlib.sha256(bytes(body)).digest())
    n += count
print('corrupted %d triples' % n)
PY
}

run_corrupted() {
    "$GEN" --prepare "$D/c" --tokens 2 "Th" > /dev/null
    run corrupt "$D/c/pool.p1" "$1"
    assert_success
    assert_output --regexp '^corrupted [1-9][0-9]* triples$'
    # The pool's own checks pass: the corruption is only visible to the protocol.
    run "$ROOT/bin/mimir-triples" status "$D/c/pool.p1"
    assert_success
    for i in 0 1 2; do
        timeout 300 "$PARTY" --party "$i" --cluster "$D/c/cluster.json" \
            --model-shares "$D/c/model.p$i" --pool "$D/c/pool.p$i" 2> "$D/c/p$i.out" &
        echo $! > "$D/c/p$i.pid"
    done
    run --separate-stderr timeout 300 "$GEN" --cluster "$D/c/cluster.json" --tokens 2 "Th"
    client_rc=$status
    client_out="$output"
    client_err="$stderr"
    codes=()
    for i in 0 1 2; do
        c=0
        wait "$(cat "$D/c/p$i.pid")" || c=$?
        codes+=("$c")
    done
}

@test "a triple with a shifted value component at one party stops the run with exit 1" {
    run_corrupted 0
    echo "client $client_rc: $client_err; parties ${codes[*]}"
    [ "$client_rc" = 1 ]
    [ -z "$client_out" ]
    [ "${codes[0]}" = 1 ] && [ "${codes[2]}" = 1 ]
    [[ "$client_err" == *"check"* ]]
    grep -Eq "copy check|MAC check" "$D/c/p0.out"
    grep -Eq "copy check|MAC check" "$D/c/p2.out"
}

@test "a triple with a shifted MAC component at one party stops the run at the MAC check" {
    run_corrupted 2
    echo "client $client_rc: $client_err; parties ${codes[*]}"
    [ "$client_rc" = 1 ]
    [ -z "$client_out" ]
    [ "${codes[0]}" = 1 ] && [ "${codes[2]}" = 1 ]
    grep -q "MAC check" "$D/c/p0.out"
    grep -q "MAC check" "$D/c/p2.out"
}

@test "a corrupted pool batch (digest) stops its party with exit 2 before the session starts" {
    "$GEN" --prepare "$D/c" --tokens 2 "Th" > /dev/null
    # the last batch: hashed at the start now, where a lazy check would reach it only late
    last=$(ls "$D/c/pool.p1"/batch-*.mtp | tail -n 1)
    python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[200] ^= 0x40; open(p, "wb").write(b)' "$last"
    # the client and party 2 give up on party 1 after 5 s, not the default 30
    python3 -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["connect_timeout_ms"] = 5000; json.dump(c, open(p, "w"))' "$D/c/cluster.json"
    for i in 0 1 2; do
        timeout 300 "$PARTY" --party "$i" --cluster "$D/c/cluster.json" \
            --model-shares "$D/c/model.p$i" --pool "$D/c/pool.p$i" 2> "$D/c/p$i.out" &
        echo $! > "$D/c/p$i.pid"
    done
    c1=0
    wait "$(cat "$D/c/p1.pid")" || c1=$?
    cat "$D/c/p1.out"
    [ "$c1" = 2 ]
    grep -q "$last: digest: SHA-256 does not match the content" "$D/c/p1.out"
    run --separate-stderr timeout 300 "$GEN" --cluster "$D/c/cluster.json" --tokens 2 "Th"
    echo "client $status: $stderr"
    [ "$status" = 3 ]
    [ -z "$output" ]
    [[ "$stderr" == *"party 1"* ]]
    for i in 0 2; do
        c=0
        wait "$(cat "$D/c/p$i.pid")" || c=$?
        echo "party $i: $c: $(cat "$D/c/p$i.out")"
        [ "$c" != 0 ]
    done
    # nothing was consumed at the corrupted party
    run "$ROOT/bin/mimir-triples" status --no-verify --json "$D/c/pool.p1"
    assert_success
    echo "$output" | python3 -c 'import json, sys; k = json.load(sys.stdin)["kinds"]; assert all(v["consumed"] == 0 for v in k.values()), k'
}
