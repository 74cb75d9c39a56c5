#!/usr/bin/env bats
# mimir-party serve starting from sealed model shares (docs/attestation.md, "Decrypt at boot"):
# model.shares.sealed (mimir-attest seal) opened in memory with --unseal-key or with a key
# fetched from a `mimir-attest broker` that admits the party's attested certificate (simulated
# evidence, allowed by the broker's policy); a real secure generation (mimir-generate --prepare,
# then --cluster) with every party sealed gives the --plaintext text and writes no plaintext
# share; attested admission of peers in serve (a peer failing the cluster's policy is refused,
# naming the rule as `mimir-attest verify --json` and the key broker do); and every refusal at boot: no key source, both, a wrong key, a broker that
# refuses (exit 1 naming the rule), a wrong pin, an unreachable broker (exit 3), bad usage.
# The boot failures stop before the pool is opened, so those tests need no pool.

bats_require_minimum_version 1.5.0

setup_file() {
    local ROOT F i
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    F="$BATS_FILE_TMPDIR"
    # one model split and attested certificates shared by the boot tests (read-only there)
    "$ROOT/bin/mimir-share" split -o "$F/model" "$ROOT/models/tiny" > /dev/null
    for i in 0 1 2; do
        "$ROOT/bin/mimir-attest" cert --simulate --cn "party $i" --key-out "$F/p$i.key" \
            --cert-out "$F/p$i.pem"
    done
    "$ROOT/bin/mimir-attest" cert --simulate --cn broker --key-out "$F/bk.pem" \
        --cert-out "$F/bc.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=mimir client" -keyout "$F/client.key" -out "$F/client.pem" 2> /dev/null
    {
        printf '{"version": 1, "session": "00112233445566778899aabbccddeeff",\n'
        printf ' "client": {"cert": "client.pem", "key": "client.key"},\n "parties": [\n'
        for i in 0 1 2; do
            printf '  {"index": %d, "address": "unix:%s/p%d.sock", ' "$i" "$F" "$i"
            printf '"client_address": "unix:%s/p%d.c.sock", "cert": "p%d.pem", "key": "p%d.key"}' \
                "$F" "$i" "$i" "$i"
            [ "$i" -lt 2 ] && printf ',\n'
        done
        printf ']}\n'
    } > "$F/cluster.json"
}

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    GEN="$ROOT/bin/mimir-generate"
    PARTY="$ROOT/bin/mimir-party"
    A="$ROOT/bin/mimir-attest"
    F="$BATS_FILE_TMPDIR"
    D="$BATS_TEST_TMPDIR"
    unset MIMIR_MODEL_DIR
    export TMPDIR="$D"
}

# seal_dir DIR KEY: seals DIR/model.shares to DIR/model.shares.sealed with a new key file KEY
# and removes the plaintext.
seal_dir() {
    "$A" seal --key-out "$2" "$1/model.shares" -o "$1/model.shares.sealed"
    rm "$1/model.shares"
}

# boot_bundle I: a copy of party I's bundle in $D/b (config, tokenizer, sealed shares, key $D/k).
boot_bundle() {
    mkdir -p "$D/b"
    cp "$F/model.p$1/"*.json "$D/b/"
    cp "$F/model.p$1/model.shares" "$D/b/"
    seal_dir "$D/b" "$D/k"
}

# serve_boot I ARGS...: runs party I of the shared cluster on $D/b with ARGS (no pool needed:
# every case here stops at boot).
serve_boot() {
    local i="$1"
    shift
    run --separate-stderr timeout 20 "$PARTY" --party "$i" --cluster "$F/cluster.json" \
        --model-shares "$D/b" --pool "$D/nopool" "$@"
}

# start_broker POLICY-JSON KEYFILE: a --once broker on unix:$D/b.sock in the background with
# that policy; sets BADDR and BPIN; logs in $D/broker.log, exit code in $D/broker.rc.
start_broker() {
    printf '%s\n' "$1" > "$D/bpolicy.json"
    : > "$D/broker.log"
    rm -f "$D/broker.rc"
    { local rc=0
      timeout 30 "$A" broker --policy "$D/bpolicy.json" --cert "$F/bc.pem" --key "$F/bk.pem" \
          --listen "unix:$D/b.sock" --release "$2" --once 2> "$D/broker.log" || rc=$?
      echo $rc > "$D/broker.rc"; } &
    for _ in $(seq 50); do grep -q 'listening on' "$D/broker.log" && break; sleep 0.1; done
    BADDR=$(sed -n 's/.* listening on \([^ ]*\) pin .*/\1/p' "$D/broker.log")
    BPIN=$(sed -n 's/.* pin \([0-9a-f]*\)$/\1/p' "$D/broker.log")
    [ -n "$BADDR" ] || { cat "$D/broker.log"; false; }
}

broker_rc() {
    for _ in $(seq 100); do [ -s "$D/broker.rc" ] && break; sleep 0.1; done
    cat "$D/broker.rc"
}

# attest_cluster DIR POLICY-JSON: gives DIR's parties simulated-evidence certificates and adds
# an "attestation" section with that policy to DIR/cluster.json.
attest_cluster() {
    local i
    for i in 0 1 2; do
        rm -f "$1/p$i.key" "$1/p$i.pem"
        "$A" cert --simulate --cn "party $i" --key-out "$1/p$i.key" --cert-out "$1/p$i.pem"
    done
    printf '%s\n' "$2" > "$1/policy.json"
    python3 -c '
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["attestation"] = {"policy": "policy.json"}
json.dump(c, open(p, "w"), indent=1)' "$1/cluster.json"
}

# start_party DIR I ARGS...: party I of a --prepare'd DIR in the background, log DIR/pI.out.
start_party() {
    local dir="$1" i="$2"
    shift 2
    timeout 120 "$PARTY" --party "$i" --cluster "$dir/cluster.json" \
        --model-shares "$dir/model.p$i" --pool "$dir/pool.p$i" "$@" 2> "$dir/p$i.out" &
    echo $! > "$dir/p$i.pid"
}

# wait_parties DIR: waits for the three and sets CODES to their exit codes "c0 c1 c2". Not
# called in $(...): a subshell cannot reliably wait for its parent's children.
wait_parties() {
    local codes=() c i
    for i in 0 1 2; do
        c=0
        wait "$(cat "$1/p$i.pid")" || c=$?
        codes+=("$c")
    done
    CODES="${codes[*]}"
}

@test "all three parties sealed (two key files, one key broker), attested peers: the plaintext text, no plaintext share on disk" {
    run "$GEN" --prepare "$D/c" --transport unix --tokens 3 "Th"
    assert_success
    attest_cluster "$D/c" '{"mimir_attest_policy": 1, "allow_simulated": true}'
    for i in 0 1 2; do seal_dir "$D/c/model.p$i" "$D/k$i.hex"; done
    start_broker '{"mimir_attest_policy": 1, "allow_simulated": true}' "$D/k2.hex"
    touch "$D/marker"
    sleep 1
    start_party "$D/c" 0 --unseal-key "$D/k0.hex"
    start_party "$D/c" 1 --unseal-key "$D/k1.hex"
    start_party "$D/c" 2 --key-broker "$BADDR" --broker-pin "$BPIN"
    run --separate-stderr timeout 120 "$GEN" --cluster "$D/c/cluster.json" --tokens 3 "Th"
    assert_success
    [ -n "$output" ]
    [ "$output" = "$("$GEN" --plaintext --quiet --tokens 3 "Th")" ]
    wait_parties "$D/c"
    [ "$CODES" = "0 0 0" ] || { echo "codes $CODES"; cat "$D"/c/p?.out; false; }
    grep -q "party 2: served 3 tokens" "$D/c/p2.out"
    run broker_rc
    assert_output 0
    grep -q 'party 2: admitted, key released' "$D/broker.log"
    ! grep -q "$(cut -c1-64 "$D/k2.hex")" "$D/broker.log" "$D"/c/p*.out
    # nothing plaintext written: no model.shares anywhere, and no file written during the run
    # (the generation's own files aside) holds share-file bytes
    [ -z "$(find "$D" -name model.shares)" ]
    for f in $(find "$D" -type f -newer "$D/marker"); do
        [ "$(head -c 8 "$f")" != MIMIRSHR ] || { echo "plaintext shares in $f"; false; }
    done
}

@test "serve: a peer whose certificate evidence fails the cluster policy is refused, naming the rule" {
    run "$GEN" --prepare "$D/c" --transport unix --tokens 2 "Th"
    assert_success
    attest_cluster "$D/c" '{"mimir_attest_policy": 1, "allow_simulated": true, "nonce": "00"}'
    # party 2's evidence carries another nonce: the policy's nonce rule fails for it
    rm "$D/c/p2.key" "$D/c/p2.pem"
    "$A" cert --simulate --cn "party 2" --nonce 0102 --key-out "$D/c/p2.key" \
        --cert-out "$D/c/p2.pem"
    for i in 0 1 2; do start_party "$D/c" "$i"; done
    run --separate-stderr timeout 120 "$GEN" --cluster "$D/c/cluster.json" --tokens 2 "Th"
    assert_failure 1
    [ -z "$output" ]
    [[ "$stderr" == *"party 2: admission: refused: attestation: simulated evidence: policy.nonce:"* ]]
    wait_parties "$D/c"
    # whichever of parties 0 and 1 judges party 2 first refuses it (exit 1) and aborts the run;
    # no party goes on
    refused=0
    for i in 0 1; do
        if grep -q "^mimir-party: party $i: party 2: admission: refused: attestation: simulated evidence: policy.nonce: report_data\[32..64) does not equal" "$D/c/p$i.out"; then
            refused=$((refused + 1))
            [ "$(echo "$CODES" | cut -d' ' -f$((i + 1)))" = 1 ]
        fi
    done
    [ "$refused" -ge 1 ]
    for c in $CODES; do [ "$c" -ne 0 ]; done
    # the rule has the name `mimir-attest verify --json` gives it (one name per rule)
    run --separate-stderr "$A" verify --json --policy "$D/c/policy.json" "$D/c/p2.pem"
    assert_failure 1
    [ "$(python3 -c 'import json, sys; print(json.load(sys.stdin)["failed"])' <<< "$output")" = "['policy.nonce']" ]
}

@test "sealed shares with no key source: exit 2 naming the file and both options" {
    boot_bundle 1
    serve_boot 1
    assert_failure 2
    [[ "$stderr" == *"party 1: $D/b/model.shares.sealed: key: the shares are sealed: give --unseal-key FILE or --key-broker ADDR --broker-pin HEX"* ]]
}

@test "--unseal-key with the right key passes boot; a wrong key is exit 1 (authentication)" {
    boot_bundle 1
    # the right key opens the shares; the run then stops at the missing pool (exit 2)
    serve_boot 1 --unseal-key "$D/k"
    assert_failure 2
    [[ "$stderr" == *"$D/nopool"* ]]
    "$A" seal --key-out "$D/other" "$F/model.p1/model.shares" -o /dev/null
    serve_boot 1 --unseal-key "$D/other"
    assert_failure 1
    [[ "$stderr" == *"model.shares.sealed"*"authentication failed"* ]]
    printf 'abcd\n' > "$D/bad.hex"
    serve_boot 1 --unseal-key "$D/bad.hex"
    assert_failure 2
    [[ "$stderr" == *"bad.hex"* ]]
    serve_boot 1 --unseal-key "$D/none.hex"
    assert_failure 2
    [[ "$stderr" == *"none.hex"* ]]
}

@test "another party's sealed shares are refused after opening (exit 2 naming the party)" {
    boot_bundle 2
    serve_boot 1 --unseal-key "$D/k"
    assert_failure 2
    [[ "$stderr" == *"party: party 2's shares, expected party 1's"* ]]
}

@test "bad usage: both key sources, a broker without its pin, a pin without a broker" {
    boot_bundle 1
    serve_boot 1 --unseal-key "$D/k" --key-broker "unix:$D/b.sock" --broker-pin 00
    assert_failure 2
    [[ "$stderr" == *"--unseal-key and --key-broker both given"* ]]
    serve_boot 1 --key-broker "unix:$D/b.sock"
    assert_failure 2
    [[ "$stderr" == *"--key-broker needs --broker-pin"* ]]
    serve_boot 1 --broker-pin "$(printf '%064d' 0)"
    assert_failure 2
    [[ "$stderr" == *"--broker-pin without --key-broker"* ]]
    serve_boot 1 --key-broker "unix:$D/b.sock" --broker-pin 12
    assert_failure 2
    [[ "$stderr" == *"--broker-pin: not a SHA-256 fingerprint"* ]]
}

@test "plaintext shares given a key source: exit 2 naming the option" {
    mkdir -p "$D/b"
    cp "$F/model.p1/"* "$D/b/"
    serve_boot 1 --unseal-key "$F/p1.key"
    assert_failure 2
    [[ "$stderr" == *"model.shares: magic: not sealed, but --unseal-key was given"* ]]
}

@test "key broker admits the party's attested certificate: boot passes, the key is never logged" {
    boot_bundle 1
    start_broker '{"mimir_attest_policy": 1, "allow_simulated": true}' "$D/k"
    serve_boot 1 --key-broker "$BADDR" --broker-pin "$BPIN"
    assert_failure 2
    [[ "$stderr" == *"$D/nopool"* ]]
    run broker_rc
    assert_output 0
    grep -q 'party 1: admitted, key released' "$D/broker.log"
    ! grep -q "$(cut -c1-64 "$D/k")" "$D/broker.log"
    [[ "$stderr" != *"$(cut -c1-64 "$D/k")"* ]]
}

@test "key broker refuses (policy fails): exit 1 naming every failed rule" {
    boot_bundle 1
    start_broker '{"mimir_attest_policy": 1, "allow_simulated": false, "nonce": "0102"}' "$D/k"
    serve_boot 1 --key-broker "$BADDR" --broker-pin "$BPIN"
    assert_failure 1
    [[ "$stderr" == *"party 1: unix:$D/b.sock: --key-broker: broker refused the key: simulated: "* ]]
    [[ "$stderr" == *"; policy.nonce: report_data[32..64) does not equal"* ]]
    run broker_rc
    assert_output 1
    grep -q 'party 1: refused: simulated: .*; policy.nonce: report_data' "$D/broker.log"
}

@test "key broker with another pin: exit 1 naming --broker-pin, our certificate never sent" {
    boot_bundle 1
    start_broker '{"mimir_attest_policy": 1, "allow_simulated": true}' "$D/k"
    serve_boot 1 --key-broker "$BADDR" --broker-pin "$(printf '%064d' 0)"
    assert_failure 1
    [[ "$stderr" == *"--broker-pin: broker certificate SHA-256 is $BPIN, expected the pinned one"* ]]
    run broker_rc
    assert_output 1
    ! grep -q 'party 1' "$D/broker.log"
}

@test "unreachable key broker: exit 3 naming --key-broker and the address" {
    boot_bundle 1
    serve_boot 1 --key-broker "unix:$D/none.sock" --broker-pin "$(printf '%064d' 0)"
    assert_failure 3
    [[ "$stderr" == *"party 1: unix:$D/none.sock: --key-broker: cannot connect"* ]]
    serve_boot 1 --key-broker "tcp:127.0.0.1:1" --broker-pin "$(printf '%064d' 0)"
    assert_failure 3
    [[ "$stderr" == *"tcp:127.0.0.1:1: --key-broker: cannot connect"* ]]
}
