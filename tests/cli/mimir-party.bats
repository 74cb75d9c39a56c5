#!/usr/bin/env bats
# mimir-party compute: three real processes on loopback TCP and Unix sockets (TLS on both)
# computing on secret-shared tensors from `mimir-share split` with pools from
# `mimir-triples deal`; results joined with `mimir-share join` and compared with values computed
# here in plain python3 (no numpy). Every party runs under `timeout 60`, with 3 s connect and
# peer timeouts in the cluster file: no test can hang.

SESSION=00112233445566778899aabbccddeeff
OTHER_SESSION=ffeeddccbbaa99887766554433221100

setup_file() {
    local F="$BATS_FILE_TMPDIR" i
    for i in 0 1 2; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=mimir party $i" -keyout "$F/p$i.key" -out "$F/p$i.pem" 2> /dev/null
    done
    cat > "$F/npy.py" << 'EOF'
# npy.py write FILE DTYPE SHAPE V...   a .npy (DTYPE <f4, <f8 or <i8; SHAPE "2,3")
# npy.py check FILE DTYPE SHAPE TOL V...  exit 1 unless FILE has that dtype, shape and values
#                                         within TOL (absolute)
import ast, struct, sys
FMT = {'<f4': 'f', '<f8': 'd', '<i8': 'q'}
def shape_of(s):
    return tuple(int(x) for x in s.split(',') if x)
def write(path, dt, shape, vals):
    conv = int if dt == '<i8' else float
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (dt, shape)
    pad = 64 - (10 + len(d) + 1) % 64
    d = d + ' ' * (pad % 64) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(d)) + d.encode())
        f.write(struct.pack('<%d%s' % (len(vals), FMT[dt]), *[conv(v) for v in vals]))
def check(path, dt, shape, tol, vals):
    b = open(path, 'rb').read()
    assert b[:6] == b'\x93NUMPY', 'not a .npy'
    hl = struct.unpack('<H', b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode())
    if h['descr'] != dt or tuple(h['shape']) != shape:
        sys.exit('dtype %s shape %r, expected %s %r' % (h['descr'], h['shape'], dt, shape))
    got = struct.unpack('<%d%s' % (len(vals), FMT[dt]), b[10 + hl:])
    for i, (g, e) in enumerate(zip(got, vals)):
        if abs(g - float(e)) > tol:
            sys.exit('element %d: %r, expected %s within %g' % (i, g, e, tol))
    print('ok', *got)
cmd = sys.argv[1]
if cmd == 'write':
    write(sys.argv[2], sys.argv[3], shape_of(sys.argv[4]), sys.argv[5:])
else:
    check(sys.argv[2], sys.argv[3], shape_of(sys.argv[4]), float(sys.argv[5]), sys.argv[6:])
EOF
}

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    BIN="$ROOT/bin/mimir-party"
    HOOKS="$ROOT/tests/bin/mimir-party-hooks"
    SHARE="$ROOT/bin/mimir-share"
    TRIPLES="$ROOT/bin/mimir-triples"
    D="$BATS_TEST_TMPDIR"
    F="$BATS_FILE_TMPDIR"
    PIDS=()
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
}

npy() { python3 "$F/npy.py" write "$@"; }
npycheck() { python3 "$F/npy.py" check "$@"; }

freeport() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# cluster KIND [FILE]: a cluster file for the three parties on unix sockets or loopback TCP.
cluster() {
    local kind=$1 file=${2:-$D/c.json} i a
    {
        printf '{"version": 1, "session": "%s", "connect_timeout_ms": 3000,\n' "$SESSION"
        printf ' "peer_timeout_ms": 3000, "parties": [\n'
        for i in 0 1 2; do
            if [ "$kind" = tcp ]; then a="tcp:127.0.0.1:$(freeport)"; else a="unix:$D/s$i"; fi
            printf '  {"index": %d, "address": "%s", "cert": "%s", "key": "%s"}%s\n' \
                $i "$a" "$F/p$i.pem" "$F/p$i.key" "$([ $i = 2 ] || echo ,)"
        done
        printf ']}\n'
    } > "$file"
}

# split NAME DTYPE SHAPE V...: NAME.npy and its shares NAME.p0..p2 in $D ($SPLIT_OPTS added).
split() {
    local name=$1
    shift
    npy "$D/$name.npy" "$@"
    "$SHARE" split ${SPLIT_OPTS:-} -o "$D/$name" "$D/$name.npy"
}

# deal [ARGS...]: pools $D/pool.p0..p2 for the test cluster's session.
deal() {
    "$TRIPLES" deal --session "$SESSION" "$@" -o "$D/pool" > /dev/null 2>&1
}

# start I BIN ARGS...: party I runs `BIN compute ARGS` in the background under timeout 60, with
# --party, --cluster and --pool added; '@' in an argument becomes the party index. stdout in
# $D/out.I, stderr in $D/err.I, exit status in $D/rc.I. (Closes bats' fd 3 so it does not wait.)
start() {
    local i=$1 bin=$2 arg args=()
    shift 2
    for arg in "$@"; do args+=("${arg//@/$i}"); done
    # (bats runs with errexit, which the subshell inherits: take the status with if/else.)
    ( if timeout 60 "$bin" compute --party "$i" --cluster "$D/c.json" --pool "$D/pool.p$i" \
             "${args[@]}" > "$D/out.$i" 2> "$D/err.$i"; then
          echo 0 > "$D/rc.$i"
      else
          echo $? > "$D/rc.$i"
      fi ) 3>&- &
    PIDS+=($!)
}

# compute3 ARGS...: all three parties with the release binary; waits for them.
compute3() {
    local i
    for i in 0 1 2; do start $i "$BIN" "$@"; done
    wait
}

rc() { cat "$D/rc.$1"; }
err() { run cat "$D/err.$1"; }

# all_ok: every party exited 0.
all_ok() {
    local i
    for i in 0 1 2; do
        if [ "$(rc $i)" != 0 ]; then
            echo "party $i exited $(rc $i): $(cat "$D/err.$i")" >&2
            return 1
        fi
    done
}

join() { "$SHARE" join -o "$D/$1.npy" "$D/$1.p0" "$D/$1.p1" "$D/$1.p2"; }

@test "--help names every operation and option; no command or a bad one is exit 2" {
    run "$BIN" compute --help
    assert_success
    assert_output --partial "Usage: mimir-party compute --party I --cluster FILE --pool DIR"
    for w in add sub mul matmul trunc --seed-file --transcript --security --bits --json; do
        assert_output --partial "$w"
    done
    refute_output --partial "--test-fault"
    run "$BIN" --help
    assert_success
    assert_output --partial "transcript-check"
    run "$BIN"
    assert_failure 2
    run "$BIN" frobnicate
    assert_failure 2
    assert_output --partial "'frobnicate' is not a command"
}

@test "add of float tensors over Unix sockets joins to the plaintext sum" {
    cluster unix
    split a '<f4' 2,3 1.5 -2.25 0.125 100 -7 3.75
    split b '<f4' 2,3 0.5 1 -0.125 -50.5 2 0.25
    deal --triples 4
    compute3 add "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    err 0
    assert_output --regexp "^mimir-party: party 0: add \[2,3\]: [0-9]+ rounds, [0-9]+ bytes sent"
    join r
    npycheck "$D/r.npy" '<f4' 2,3 0 2 -1.25 0 49.5 -5 4
}

@test "sub of int64 tensors over loopback TCP is exact in the ring (wraps mod 2^64)" {
    cluster tcp
    split a '<i8' 4 5 -9 9223372036854775807 0
    split b '<i8' 4 7 -9 -1 1
    deal --triples 4
    compute3 sub "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    npycheck "$D/r.npy" '<i8' 4 0 -2 0 -9223372036854775808 -1
}

@test "mul of fixed-point floats over TCP: the product truncated back to 16 bits, --json" {
    cluster tcp
    split a '<f4' 5 1.5 -2.25 3 0.75 -100
    split b '<f4' 5 2 4.5 -0.5 0.75 -3.25
    deal --triples 10 --trunc 10:16
    compute3 --json mul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    # Exact products; the probabilistic truncation adds at most one ulp (2^-16).
    npycheck "$D/r.npy" '<f4' 5 0.00005 3 -10.125 -1.5 0.5625 325
    run python3 -c 'import json, sys
o = json.load(open(sys.argv[1]))
assert o["op"] == "mul" and o["shape"] == [5] and o["security"] == "malicious", o
assert o["rounds"] > 0 and o["bytes_sent"] > 0 and o["bytes_received"] > 0, o
assert o["opens"] >= 2 and o["checks"] >= 1 and o["ms"] >= 0, o
print("json ok")' "$D/out.0"
    assert_success
    assert_output "json ok"
}

@test "mul of int64 tensors is the exact ring product (no truncation), with f 16 or f 0" {
    cluster unix
    split a '<i8' 3 3 -4 4294967296
    split b '<i8' 3 7 5 4294967296
    deal --triples 6 --trunc 3:16
    compute3 --json mul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    npycheck "$D/r.npy" '<i8' 3 0 21 -20 0
    # No truncation pairs were taken: integers are not scaled.
    run "$TRIPLES" status --json "$D/pool.p1"
    assert_output --regexp '"trunc": *\{[^}]*"consumed": *0'
    SPLIT_OPTS="-f 0" split c '<i8' 3 -3 4 5
    compute3 mul "$D/a.p@" "$D/c.p@" -o "$D/s.p@"
    all_ok
    join s
    npycheck "$D/s.npy" '<i8' 3 0 -9 -16 21474836480
}

@test "mul of a float and an integer tensor: on the float's scale, no truncation" {
    cluster unix
    split a '<f4' 3 1.5 -0.25 2
    split b '<i8' 3 3 4 -5
    deal --triples 3
    compute3 mul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    npycheck "$D/r.npy" '<f4' 3 0 4.5 -1 -10
}

@test "matmul 2x3 by 3x2: fixed point over Unix sockets, int64 exactly over TCP" {
    cluster unix
    split a '<f4' 2,3 1 2 3 -1.5 0.5 2
    split b '<f4' 3,2 0.5 -1 2 0.25 -3 1
    deal --matrix 2x3x2 --trunc 4:16
    compute3 matmul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    # [[1*.5+2*2+3*-3, -1+.5+3], [-.75+1-6, 1.5+.125+2]]
    npycheck "$D/r.npy" '<f4' 2,2 0.00005 -4.5 2.5 -5.75 3.625

    cluster tcp
    split c '<i8' 2,3 1 2 3 4 5 6
    split d '<i8' 3,2 7 8 9 10 11 -12
    rm -rf "$D"/pool.p*
    deal --matrix 2x3x2
    compute3 matmul "$D/c.p@" "$D/d.p@" -o "$D/m.p@"
    all_ok
    join m
    npycheck "$D/m.npy" '<i8' 2,2 0 58 -8 139 10
}

@test "trunc by --bits: floor(x / 2^F) or one more, for signed int64 and fixed point" {
    cluster unix
    split a '<i8' 6 1000 -1000 7 -7 123456789 0
    deal --trunc 6:3
    compute3 trunc --bits 3 "$D/a.p@" -o "$D/r.p@"
    all_ok
    join r
    run python3 "$F/npy.py" check "$D/r.npy" '<i8' 6 1 125 -125 0.5 -0.5 15432098.625 0
    assert_success
    python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read(); hl = struct.unpack("<H", b[8:10])[0]
got = struct.unpack("<6q", b[10 + hl:])
for g, x in zip(got, [1000, -1000, 7, -7, 123456789, 0]):
    assert g - (x >> 3) in (0, 1), (g, x)' "$D/r.npy"
}

@test "semi-honest mode (a pool without MACs) gives the same values" {
    cluster unix
    split a '<f4' 4 1.5 -2 0.25 8
    split b '<f4' 4 -4 0.5 0.5 0.125
    deal --semi-honest --triples 4 --trunc 4:16
    compute3 --security semi-honest --json mul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    join r
    npycheck "$D/r.npy" '<f4' 4 0.00005 -6 -1 0.125 1
    run cat "$D/out.1"
    assert_output --partial '"security":"semi-honest"'
    # A semi-honest pool cannot serve a malicious run.
    run "$BIN" compute --party 0 --cluster "$D/c.json" --pool "$D/pool.p0" \
        mul "$D/a.p0" "$D/b.p0" -o "$D/x.p0"
    assert_failure 2
    assert_output --partial "pool.p0: macs: a semi-honest pool"
}

@test "transcripts of all three parties pass transcript-check; a tampered one fails" {
    cluster unix
    split a '<f4' 3 1 2 3
    split b '<f4' 3 4 5 6
    deal --triples 3 --trunc 3:16
    compute3 --transcript "$D/t@.jsonl" mul "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    all_ok
    run "$BIN" transcript-check "$D/t0.jsonl" "$D/t1.jsonl" "$D/t2.jsonl"
    assert_success
    run grep -c '"type":"check"' "$D/t0.jsonl"
    assert_success
    # Change one digit of a digest in party 1's transcript.
    python3 -c 'import sys, re
p = sys.argv[1]; t = open(p).read().split("\n")
i = next(k for k, l in enumerate(t) if "\"sha256\"" in l)
flip = lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1")
t[i] = re.sub(r"(\"sha256\":\")(.)", flip, t[i])
open(p, "w").write("\n".join(t))' "$D/t1.jsonl"
    run "$BIN" transcript-check "$D/t0.jsonl" "$D/t1.jsonl" "$D/t2.jsonl"
    assert_failure 1
    assert_output --partial "t1.jsonl"
    # A transcript is never overwritten.
    start 0 "$BIN" --transcript "$D/t0.jsonl" mul "$D/a.p@" "$D/b.p@" -o "$D/y.p@"
    wait
    [ "$(rc 0)" = 2 ]
    err 0
    assert_output --partial "t0.jsonl"
}

@test "one --seed-file and identically dealt pools: identical transcripts and outputs" {
    cluster unix
    split a '<f4' 2,2 1.5 -2 3 0.5
    split b '<f4' 2,2 0.25 4 -1 2
    printf '%064x\n' 42 > "$D/seed"
    printf '%064x\n' 7 > "$D/dealseed"
    local run
    for run in 1 2; do
        rm -rf "$D"/pool.p*
        deal --seed-file "$D/dealseed" --matrix 2x2x2 --trunc 4:16
        compute3 --seed-file "$D/seed" --transcript "$D/t@.run$run" \
            matmul "$D/a.p@" "$D/b.p@" -o "$D/r$run.p@"
        all_ok
    done
    for i in 0 1 2; do
        cmp "$D/t$i.run1" "$D/t$i.run2"
        cmp "$D/r1.p$i" "$D/r2.p$i"
    done
    join r1
    npycheck "$D/r1.npy" '<f4' 2,2 0.00005 2.375 2 0.25 13
    # Another seed gives other transcripts (other coins, other re-randomised output shares).
    rm -rf "$D"/pool.p*
    deal --seed-file "$D/dealseed" --matrix 2x2x2 --trunc 4:16
    printf '%064x\n' 43 > "$D/seed2"
    compute3 --seed-file "$D/seed2" --transcript "$D/t@.run3" \
        matmul "$D/a.p@" "$D/b.p@" -o "$D/r3.p@"
    all_ok
    ! cmp -s "$D/t0.run1" "$D/t0.run3"
    ! cmp -s "$D/r1.p0" "$D/r3.p0"
}

@test "attestation: simulated evidence admitted by the policy, plain certificates refused" {
    local i
    for i in 0 1 2; do
        "$ROOT/bin/mimir-attest" cert --simulate --key-out "$D/a$i.key" --cert-out "$D/a$i.pem" \
            --cn "party $i"
    done
    printf '{"mimir_attest_policy": 1, "allow_simulated": true}\n' > "$D/policy.json"
    split a '<f4' 2 1.5 -2
    deal --triples 2 --trunc 2:16
    # The attested cluster: the same file with the attested certificates and the policy.
    cluster unix "$D/plain.json"
    local att='"attestation": {"policy": "policy.json"},'
    sed -e "s|$F/p\([0-2]\)\.|$D/a\1.|g" -e "s|\"peer_timeout_ms\": 3000,|& $att|" \
        "$D/plain.json" > "$D/c.json"
    grep -q attestation "$D/c.json"
    compute3 mul "$D/a.p@" "$D/a.p@" -o "$D/r.p@"
    all_ok
    join r
    npycheck "$D/r.npy" '<f4' 2 0.00005 2.25 4
    # The plain certificates carry no evidence: each party refuses its peers (exit 1).
    sed -e "s|\"peer_timeout_ms\": 3000,|& $att|" "$D/plain.json" > "$D/c.json"
    rm -rf "$D"/pool.p*
    deal --triples 2 --trunc 2:16
    compute3 mul "$D/a.p@" "$D/a.p@" -o "$D/s.p@"
    err 0
    assert_output --partial "attestation"
    [ "$(rc 0)" = 1 ]
    [ ! -e "$D/s.p0" ]
}

@test "a --seed-file that is not 64 hex digits is exit 2 naming the file" {
    cluster unix
    split a '<f4' 1 1
    deal --triples 1
    printf 'abc\n' > "$D/short"
    run "$BIN" compute --party 0 --cluster "$D/c.json" --pool "$D/pool.p0" \
        --seed-file "$D/short" add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "short: seed: "
    printf '%063xz\n' 1 > "$D/nothex"
    run "$BIN" compute --party 0 --cluster "$D/c.json" --pool "$D/pool.p0" \
        --seed-file "$D/nothex" add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "nothex: seed: not hexadecimal"
    [ ! -e "$D/r.p0" ]
}

# fault KIND:AT[:BIT] OP EXPECTED [ARGS...]: party 1 deviates (hooks build); parties 0 and 2
# must exit 1 with EXPECTED in their message, and nobody writes an output. ARGS go to all three
# (--test-skip-copy-check must: a party that skips the copy check sends no digests).
fault() {
    local spec=$1 op=$2 expect=$3 i
    shift 3
    cluster unix
    split a '<f4' 4 1.5 -2 0.25 8
    split b '<f4' 4 -4 0.5 0.5 0.125
    deal --triples 4 --trunc 4:16
    start 0 "$HOOKS" "$@" "$op" "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    start 1 "$HOOKS" --test-fault "$spec" "$@" "$op" "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    start 2 "$HOOKS" "$@" "$op" "$D/a.p@" "$D/b.p@" -o "$D/r.p@"
    wait
    for i in 0 2; do
        err $i
        assert_output --partial "$expect"
        [ "$(rc $i)" = 1 ]
    done
    [ "$(rc 1)" != 0 ]
    [ ! -e "$D/r.p0" ] && [ ! -e "$D/r.p1" ] && [ ! -e "$D/r.p2" ]
}

@test "fault: a bit flipped in an opened share is caught by the replicated copy check" {
    fault open-flip:0:5 mul "replicated copy check"
}

@test "fault: a bit flipped in an open, copy check skipped, is caught by the MAC check" {
    fault open-flip:0:3 mul "MAC check failed" --test-skip-copy-check
}

@test "fault: a high bit (above 2^64) flipped in an open is still caught by the MAC check" {
    fault open-flip:0:100 mul "MAC check" --test-skip-copy-check
}

@test "fault: an inconsistent replicated copy is caught" {
    fault copy:0 mul "replicated copy check"
}

@test "fault: a wrong MAC check value, consistently committed, is caught by the sum check" {
    fault mac-value:0 mul "MAC check failed"
}

@test "fault: a MAC check value other than the committed one is caught, naming the party" {
    fault mac-commit:0 mul "party 1's value does not match its commitment"
}

@test "fault: a wrong digest of replicated input copies is caught at input" {
    fault input-copy:0 add "input: inconsistent replicated copies"
}

@test "fault: an additive attack on input MACs is caught by the next MAC check" {
    fault input-mac:0 mul "MAC check failed"
}

@test "the release binary refuses the test-only options" {
    run "$BIN" compute --test-fault open-flip:0 --party 0
    assert_failure 2
    assert_output --partial "unknown option '--test-fault"
    run "$BIN" compute --test-skip-copy-check --party 0
    assert_failure 2
    assert_output --partial "unknown option '--test-skip-copy-check'"
    run "$HOOKS" compute --test-fault bogus:0 --party 0
    assert_failure 2
    assert_output --partial "--test-fault 'bogus:0', expected KIND:AT[:BIT]"
}

@test "a party that never starts: the others exit 3 naming it, within the timeout" {
    cluster unix
    split a '<f4' 2 1 2
    deal --triples 2 --trunc 2:16
    SECONDS=0
    start 0 "$BIN" mul "$D/a.p@" "$D/a.p@" -o "$D/r.p@"
    start 1 "$BIN" mul "$D/a.p@" "$D/a.p@" -o "$D/r.p@"
    wait
    [ "$SECONDS" -lt 20 ]
    for i in 0 1; do
        err $i
        assert_output --partial "party 2"
        [ "$(rc $i)" = 3 ]
    done
    [ ! -e "$D/r.p0" ] && [ ! -e "$D/r.p1" ]
}

@test "a party stopped while it connects, then killed (SIGKILL): the others exit 3 naming it" {
    cluster tcp
    split a '<f4' 2 1 2
    deal --triples 2 --trunc 2:16
    SECONDS=0
    start 0 "$BIN" mul "$D/a.p@" "$D/a.p@" -o "$D/r.p@"
    start 1 "$BIN" mul "$D/a.p@" "$D/a.p@" -o "$D/r.p@"
    # Party 2 is stopped as soon as its transcript exists (its channels are being set up),
    # then killed: whatever it had done, its peers lose it.
    "$BIN" compute --party 2 --cluster "$D/c.json" --pool "$D/pool.p2" \
        --transcript "$D/t2" mul "$D/a.p2" "$D/a.p2" -o "$D/r.p2" 3>&- 2> /dev/null &
    local victim=$!
    PIDS+=($victim)
    while [ ! -e "$D/t2" ] && [ "$SECONDS" -lt 10 ]; do sleep 0.01; done
    kill -STOP $victim
    sleep 0.5
    kill -9 $victim
    wait
    [ "$SECONDS" -lt 20 ]
    for i in 0 1; do
        err $i
        assert_output --partial "party 2"
        [ "$(rc $i)" = 3 ]
    done
}

@test "an item is never reused: a second run on the same pools takes new items" {
    cluster unix
    split a '<f4' 3 1 2 3
    split b '<f4' 3 2 2 2
    deal --triples 6 --trunc 6:16
    compute3 mul "$D/a.p@" "$D/b.p@" -o "$D/r1.p@"
    all_ok
    run "$TRIPLES" status --json "$D/pool.p0"
    assert_success
    echo "$output" > "$D/status1.json"
    compute3 mul "$D/a.p@" "$D/b.p@" -o "$D/r2.p@"
    all_ok
    run "$TRIPLES" status --json "$D/pool.p0"
    echo "$output" > "$D/status2.json"
    join r1
    join r2
    npycheck "$D/r2.npy" '<f4' 3 0.00005 2 4 6
    # Outputs of the two runs differ as shares (other items), not as values.
    ! cmp -s "$D/r1.p0" "$D/r2.p0"
    run python3 -c 'import json, sys
a, b = (json.load(open(p))["kinds"] for p in sys.argv[1:3])
for kind in ("triple", "trunc"):
    got = (a[kind]["consumed"], b[kind]["consumed"], a[kind]["remaining"], b[kind]["remaining"])
    assert got == (3, 6, 3, 0), (kind, got)
print("advanced")' "$D/status1.json" "$D/status2.json"
    assert_success
    assert_output "advanced"
    # A third run finds the pool empty: exit 2, nothing reused.
    compute3 mul "$D/a.p@" "$D/b.p@" -o "$D/r3.p@"
    for i in 0 1 2; do
        [ "$(rc $i)" != 0 ]
    done
    err 0
    # Its own pool's message, or the same relayed by a peer that got there first.
    assert_output --regexp "pool.p[0-2]: no triples left \(needed 3, have 0\)"
    [ ! -e "$D/r3.p0" ]
}

@test "bad input: wrong party's share, missing arguments, --bits, shapes, pool session" {
    cluster unix
    split a '<f4' 2,3 1 2 3 4 5 6
    split b '<f4' 3 1 2 3
    split i '<i8' 2,3 1 2 3 4 5 6
    SPLIT_OPTS="-f 8" split e '<f4' 2,3 1 2 3 4 5 6
    deal --triples 6
    local c=(--party 0 --cluster "$D/c.json" --pool "$D/pool.p0")
    run "$BIN" compute "${c[@]}" add "$D/a.p1" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "a.p1: party: party 1's share, expected party 0's"
    run "$BIN" compute "${c[@]}" mul "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "mul takes 2 inputs (A B), got 1"
    run "$BIN" compute "${c[@]}" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "no operation"
    run "$BIN" compute "${c[@]}" pow "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "'pow' is not an operation"
    run "$BIN" compute "${c[@]}" trunc "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "trunc needs --bits F"
    run "$BIN" compute "${c[@]}" --bits 99 trunc "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "--bits '99', expected 1..62"
    run "$BIN" compute "${c[@]}" add "$D/a.p0" "$D/b.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "b.p0: shape: shape [3], expected [2,3]"
    run "$BIN" compute "${c[@]}" matmul "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "a.p0: shape: shape [2,3], expected [3,cols]"
    run "$BIN" compute "${c[@]}" add "$D/a.p0" "$D/i.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "i.p0: dtype: int64, expected a float as"
    run "$BIN" compute "${c[@]}" mul "$D/a.p0" "$D/e.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "e.p0: frac_bits: 8 fractional bits, expected 16"
    run "$BIN" compute --party 0 --cluster "$D/c.json" add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "--pool is missing"
    run "$BIN" compute "${c[@]}" --security paranoid add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "--security 'paranoid', expected malicious or semi-honest"
    run "$BIN" compute "${c[@]}" add "$D/a.npy" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "a.npy"
    # A pool of another session.
    "$TRIPLES" deal --session "$OTHER_SESSION" --triples 6 -o "$D/other" > /dev/null 2>&1
    run "$BIN" compute --party 0 --cluster "$D/c.json" --pool "$D/other.p0" \
        add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "other.p0"
    assert_output --partial "session"
    # Another party's pool.
    run "$BIN" compute --party 0 --cluster "$D/c.json" --pool "$D/pool.p1" \
        add "$D/a.p0" "$D/a.p0" -o "$D/r.p0"
    assert_failure 2
    assert_output --partial "party"
    [ ! -e "$D/r.p0" ]
}
