#!/usr/bin/env bats
# Channels between three real processes (tests/bin/net-peer, lib/net.h): TLS over loopback TCP
# and over Unix sockets, refused peers, malformed and oversized frames, dead and stalled peers.
# Every party runs under `timeout`, with 2 s connect and peer timeouts: no test can hang.

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    PEER="${NET_PEER:-$ROOT/tests/bin/net-peer}" # NET_PEER: e.g. a sanitizer build
    D="$BATS_TEST_TMPDIR"
    PIDS=()
    for i in 0 1 2; do
        "$PEER" gencert "$D/p$i.pem" "$D/p$i.key" "party $i"
    done
    "$PEER" gencert "$D/evil.pem" "$D/evil.key" "impostor"
}

# cluster FILE KIND [SESSION] [CERT2 KEY2]: a cluster file with all three parties.
cluster() {
    local file=$1 kind=$2 session=${3:-00112233445566778899aabbccddeeff}
    local c2=${4:-p2.pem} k2=${5:-p2.key} a i
    {
        printf '{"version": 1, "session": "%s", "parties": [\n' "$session"
        for i in 0 1 2; do
            if [ "$kind" = tcp ]; then a="tcp:127.0.0.1:${PORT[$i]}"; else a="unix:$D/s$i"; fi
            local c=p$i.pem k=p$i.key
            [ $i = 2 ] && c=$c2 && k=$k2
            printf '  {"index": %d, "address": "%s", "cert": "%s", "key": "%s"}%s\n' \
                $i "$a" "$c" "$k" "$([ $i = 2 ] || echo ,)"
        done
        printf ']}\n'
    } > "$file"
}

ports() {
    PORT=("$("$PEER" freeport)" "$("$PEER" freeport)" "$("$PEER" freeport)")
}

# start I CLUSTER [ARGS...]: party I in the background; output in $D/out.I, status in $D/rc.I.
# Background processes close bats' fd 3, or bats would wait for them.
start() {
    local i=$1 c=$2
    shift 2
    ( if timeout 25 "$PEER" run --cluster "$c" --party "$i" --connect-timeout-ms 2000 \
             --peer-timeout-ms 2000 "$@" > "$D/out.$i" 2>&1; then
          echo 0 > "$D/rc.$i"
      else
          echo $? > "$D/rc.$i"
      fi ) 3>&- &
    PIDS+=($!)
}

# hang I CLUSTER ROUND: party I stops responding at ROUND (alive, sockets open); sets HUNG.
hang() {
    "$PEER" run --cluster "$2" --party "$1" --rounds 6 --hang-at-round "$3" \
        > "$D/out.$1" 2>&1 3>&- &
    HUNG=$!
    PIDS+=($HUNG)
}

teardown() {
    local p
    for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
}

rc() { cat "$D/rc.$1"; }
out() { run cat "$D/out.$1"; }

@test "three parties exchange rounds of 0 B to 3 MiB over TLS on loopback TCP" {
    ports
    cluster "$D/c.json" tcp
    for i in 0 1 2; do start $i "$D/c.json" --rounds 8 --sizes 0,1,1000,3M; done
    wait
    for i in 0 1 2; do
        out $i
        assert_output "party $i: 8 rounds ok, sent 6295458 bytes, received 6295458 bytes"
        [ "$(rc $i)" = 0 ]
    done
}

@test "three parties exchange rounds over TLS on Unix sockets, started in any order" {
    cluster "$D/c.json" unix
    for i in 2 1 0; do start $i "$D/c.json" --rounds 5 --sizes 0,5M,17; sleep 0.2; done
    wait
    for i in 0 1 2; do
        out $i
        assert_output --partial "party $i: 5 rounds ok"
        [ "$(rc $i)" = 0 ]
    done
    [ ! -e "$D/s0" ] && [ ! -e "$D/s1" ]
}

@test "a stray connection that is not a party (not TLS) is dropped, the run goes on" {
    ports
    cluster "$D/c.json" tcp
    start 0 "$D/c.json" --rounds 3
    sleep 0.3
    ( exec 5<> "/dev/tcp/127.0.0.1/${PORT[0]}" && printf 'GET / HTTP/1.0\r\n\r\n' >&5 \
          && sleep 1 ) 3>&- &
    PIDS+=($!)
    sleep 0.2
    start 1 "$D/c.json" --rounds 3; start 2 "$D/c.json" --rounds 3
    wait "${PIDS[0]}" "${PIDS[2]}" "${PIDS[3]}"
    for i in 0 1 2; do
        out $i
        assert_output "party $i: 3 rounds ok, sent 5000 bytes, received 5000 bytes"
    done
}

@test "a party with another certificate is refused, naming the party and the certificate" {
    cluster "$D/c.json" unix
    cluster "$D/evil.json" unix 00112233445566778899aabbccddeeff evil.pem evil.key
    start 0 "$D/c.json"; start 1 "$D/c.json"; sleep 0.3; start 2 "$D/evil.json"
    wait
    out 0
    assert_output --partial "party 2: certificate: refused: it presented sha256"
    assert_output --partial "the cluster file pins"
    [ "$(rc 0)" = 1 ]
    [ "$(rc 1)" != 0 ] && [ "$(rc 2)" != 0 ]
}

@test "a party of another session is refused, naming the session id" {
    cluster "$D/c.json" unix
    cluster "$D/other.json" unix 00112233445566778899aabbccddee00
    start 0 "$D/c.json"; start 1 "$D/c.json"; sleep 0.3; start 2 "$D/other.json"
    wait
    for i in 0 1; do
        out $i
        assert_output --partial "session id: refused: it is in session"
        [ "$(rc $i)" = 1 ]
    done
    [ "$(rc 2)" != 0 ]
}

@test "a party speaking another protocol version is refused, naming the version" {
    cluster "$D/c.json" unix
    start 0 "$D/c.json"; start 1 "$D/c.json"; sleep 0.3; start 2 "$D/c.json" --speak-version 2
    wait
    out 0
    # Party 0 refuses party 2 itself, or first hears the refusal relayed in an abort frame from
    # party 1 or from party 2 (which then refused party 0's version 1): all name the mismatch.
    assert_output --partial "party 2"
    assert_output --regexp \
        "protocol version: refused: it speaks version (2, this party speaks version 1|1, this party speaks version 2)"
    [ "$(rc 0)" = 3 ]
    out 2
    # The refused party hears the reason, or sees a peer that had already aborted hang up first.
    assert_output --regexp "protocol version|closed by the peer before the session started"
    [ "$(rc 2)" = 3 ]
}

@test "an oversized frame drops the peer and aborts the run with exit 3" {
    cluster "$D/c.json" unix
    start 0 "$D/c.json" --max-frame 1000000 --sizes 1000
    start 1 "$D/c.json" --max-frame 100000000 --sizes 1000 --send-size 2000000 --bad-round 1
    start 2 "$D/c.json" --max-frame 1000000 --sizes 1000
    wait
    for i in 0 2; do
        out $i
        assert_output --partial \
            "party 1: frame: length 2000000 exceeds the limit of 1000000 bytes (round 1)"
        [ "$(rc $i)" = 3 ]
    done
    [ "$(rc 1)" = 3 ]
}

@test "a frame of the wrong length aborts the run, naming the peer" {
    cluster "$D/c.json" unix
    start 0 "$D/c.json"; start 1 "$D/c.json" --send-size 999 --bad-round 2; start 2 "$D/c.json"
    wait
    out 0
    assert_output --partial "party 1: frame: 999 bytes in round 2, expected 1000"
    [ "$(rc 0)" = 3 ] && [ "$(rc 1)" = 3 ] && [ "$(rc 2)" = 3 ]
}

@test "a peer killed mid-run is detected at once (before the timeout), naming it" {
    cluster "$D/c.json" unix
    start 0 "$D/c.json" --peer-timeout-ms 20000 --rounds 6
    start 1 "$D/c.json" --peer-timeout-ms 20000 --rounds 6
    hang 2 "$D/c.json" 3
    sleep 1
    local t0=$SECONDS
    kill -9 "$HUNG"
    wait
    [ $((SECONDS - t0)) -lt 5 ]
    for i in 0 1; do
        out $i
        assert_output --partial "party 2"
        assert_output --regexp "party 2: connection: (closed by the peer|lost) in round [34]"
        [ "$(rc $i)" = 3 ]
    done
}

@test "a peer that crashes mid-run makes the others fail naming it" {
    ports
    cluster "$D/c.json" tcp
    start 0 "$D/c.json" --rounds 6; start 1 "$D/c.json" --rounds 6
    start 2 "$D/c.json" --rounds 6 --die-at-round 2
    wait
    for i in 0 1; do
        out $i
        # A killed process shows up as EOF or as a TCP reset, depending on unread data.
        assert_output --regexp "party 2: connection: (closed by the peer|lost) in round [0-9]"
        [ "$(rc $i)" = 3 ]
    done
}

@test "a stalled peer is detected within the peer timeout, naming it" {
    cluster "$D/c.json" unix
    start 0 "$D/c.json" --rounds 6; start 1 "$D/c.json" --rounds 6
    local t0=$SECONDS
    hang 2 "$D/c.json" 3
    wait "${PIDS[0]}" "${PIDS[1]}"
    local took=$((SECONDS - t0))
    kill -9 "$HUNG"
    [ "$took" -lt 8 ]
    for i in 0 1; do
        out $i
        assert_output --partial "party 2: timeout: no progress for 2.0 s in round"
    done
    [ "$(rc 0)" = 3 ] && [ "$(rc 1)" = 3 ]
}

@test "a party that never starts: the ones that wait for it hit the connect deadline" {
    ports
    cluster "$D/c.json" tcp
    start 0 "$D/c.json"; start 1 "$D/c.json"
    wait
    for i in 0 1; do
        out $i
        assert_output --partial "party 2: connect: did not connect to tcp:127.0.0.1:"
        assert_output --partial " within 2.0 s"
        [ "$(rc $i)" = 3 ]
    done
}

@test "a listener that never starts: the parties that connect to it hit the connect deadline" {
    ports
    cluster "$D/c.json" tcp
    start 1 "$D/c.json"; start 2 "$D/c.json"
    wait
    out 2
    local refused="party 0: connect: tcp:127.0.0.1:${PORT[0]} not reachable within 2.0 s"
    assert_output --regexp "$refused: connection refused|party 1: "
    out 1
    assert_output --partial "$refused: connection refused"
    [ "$(rc 1)" = 3 ] && [ "$(rc 2)" = 3 ]
}

@test "bad cluster files are refused with exit 2 naming the field" {
    cluster "$D/c.json" unix
    sed 's/"key": "p1.key"//; s/"p1.pem", /"p1.pem"/' "$D/c.json" > "$D/nokey.json"
    run timeout 10 "$PEER" run --cluster "$D/nokey.json" --party 1
    assert_failure 2
    assert_output --partial 'nokey.json: parties[index=1]: the local party needs "cert" and "key"'
    sed 's/"version": 1/"version": 2/' "$D/c.json" > "$D/v2.json"
    run timeout 10 "$PEER" run --cluster "$D/v2.json" --party 0
    assert_failure 2
    assert_output --partial "v2.json: version: protocol version 2, this build speaks version 1"
    run timeout 10 "$PEER" run --cluster "$D/c.json"
    assert_failure 2
    assert_output --partial "c.json: self: missing"
}
