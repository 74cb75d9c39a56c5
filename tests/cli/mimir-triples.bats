#!/usr/bin/env bats
# mimir-triples: deal (flags, --plan, reproducible --seed-file, all-or-none outputs) and status
# (table, --json, --prom), every bad usage and bad input refused with exit 2 and a message that
# names the file and the field.

bats_load_library bats-support
bats_load_library bats-assert

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
MT="$ROOT/bin/mimir-triples"
SESSION=00112233445566778899aabbccddeeff

setup() {
    T="$BATS_TEST_TMPDIR"
}

# jget FILE EXPR: evaluates a Python expression over the JSON object j read from FILE.
jget() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2"
}

@test "--help on the tool and on every subcommand" {
    run "$MT" --help
    assert_success
    assert_output --partial "Usage: mimir-triples <command>"
    assert_output --partial "deal"
    assert_output --partial "status"
    run "$MT" deal --help
    assert_success
    assert_output --partial "Usage: mimir-triples deal"
    assert_output --partial "trusted dealer"
    run "$MT" status --help
    assert_success
    assert_output --partial "Usage: mimir-triples status"
}

@test "no command or an unknown one is bad usage (exit 2)" {
    run "$MT"
    assert_failure 2
    assert_output --partial "Usage:"
    run "$MT" frobnicate
    assert_failure 2
    assert_output --partial "'frobnicate' is not a command"
}

@test "deal with flags makes three pools; status --json counts every kind" {
    run "$MT" deal --session $SESSION --triples 1000 --triples 24 --matrix 2x3x4:2 \
        --matrix 1x8x5 --trunc 300 --trunc 50:12 --edabits 300 --edabits 30 --batch 256 \
        -o "$T/x"
    assert_success
    assert_output --partial \
        "dealt 1024 triples, 3 matrix triples, 350 truncation pairs and 330 edaBits"
    assert_output --partial "trusted dealer, which knew every item"
    for p in 0 1 2; do
        [ -d "$T/x.p$p" ]
        [ "$(stat -c %a "$T/x.p$p/alpha.key")" = 600 ]
        run "$MT" status --json "$T/x.p$p"
        assert_success
        echo "$output" > "$T/s$p.json"
        [ "$(jget "$T/s$p.json" 'j["party"]')" = "$p" ]
        [ "$(jget "$T/s$p.json" 'j["session"]')" = "$SESSION" ]
        [ "$(jget "$T/s$p.json" 'j["created_by"]')" = dealer ]
        [ "$(jget "$T/s$p.json" 'j["macs"]')" = True ]
        [ "$(jget "$T/s$p.json" 'j["verified"]')" = True ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["triple"]["remaining"]')" = 1024 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["triple"]["consumed"]')" = 0 ]
        # 2 * (6 + 12 + 8) + (8 + 40 + 5) elements
        [ "$(jget "$T/s$p.json" 'j["kinds"]["matrix"]["generated"]')" = 105 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["trunc"]["remaining"]')" = 350 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["trunc"]["sacrificed"]')" = 0 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["trunc"]["failed"]')" = 0 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["edabit"]["remaining"]')" = 330 ]
        [ "$(jget "$T/s$p.json" 'j["kinds"]["edabit"]["generated"]')" = 330 ]
        # 4 triple batches of <= 256, 3 matrix batches, 2 + 1 trunc batches, 2 edaBit batches
        [ "$(jget "$T/s$p.json" 'j["batches"]')" = 12 ]
    done
    [ -z "$(ls "$T" | grep tmp)" ]
}

@test "status prints a table by default and Prometheus text with --prom" {
    "$MT" deal --session $SESSION --triples 10 --trunc 5:20 --edabits 7 -o "$T/x" 2>/dev/null
    run "$MT" status "$T/x.p1"
    assert_success
    assert_output --partial "party 1, session $SESSION, MAC'd, created by dealer, 3 batches"
    assert_line --regexp '^kind +remaining +consumed +generated +sacrificed +failed$'
    assert_line --regexp '^triple +10 +0 +10 +0 +0$'
    assert_line --regexp '^trunc +5 +0 +5 +0 +0$'
    assert_line --regexp '^matrix +0 +0 +0 +0 +0$'
    assert_line --regexp '^edabit +7 +0 +7 +0 +0$'
    run "$MT" status --prom "$T/x.p1"
    assert_success
    assert_line "# TYPE mimir_pool_items gauge"
    assert_line --partial "# HELP mimir_pool_items "
    assert_line "mimir_pool_items{kind=\"triple\",state=\"remaining\",party=\"1\",session=\"$SESSION\",pool=\"$T/x.p1\"} 10"
    assert_line "mimir_pool_items{kind=\"trunc\",state=\"generated\",party=\"1\",session=\"$SESSION\",pool=\"$T/x.p1\"} 5"
    assert_line "mimir_pool_items{kind=\"matrix\",state=\"failed\",party=\"1\",session=\"$SESSION\",pool=\"$T/x.p1\"} 0"
    assert_line "mimir_pool_items{kind=\"edabit\",state=\"remaining\",party=\"1\",session=\"$SESSION\",pool=\"$T/x.p1\"} 7"
    # 8 kinds (triple, matrix, trunc, edabit, wmask, wpair, btriple, cmask) x 5 states
    [ "$(printf '%s\n' "$output" | grep -c '^mimir_pool_items{')" = 40 ]
    assert_line "# TYPE mimir_pool_batches gauge"
}

@test "status works while another process holds the pool's lock" {
    "$MT" deal --session $SESSION --triples 10 -o "$T/x" 2>/dev/null
    run flock -n "$T/x.p0/lock" "$MT" status --json "$T/x.p0"
    assert_success
    assert_output --partial '"remaining": 10'
}

@test "deal --plan: the plan's items, strict fields" {
    cat > "$T/plan.json" <<'EOF'
{"version": 1, "items": [
  {"kind": "triple", "count": 100},
  {"kind": "matrix", "rows": 1, "inner": 4, "cols": 6, "count": 3},
  {"kind": "trunc", "f": 16, "count": 40},
  {"kind": "edabit", "count": 9},
  {"kind": "triple", "count": 28}]}
EOF
    run "$MT" deal --session $SESSION --plan "$T/plan.json" --json -o "$T/x"
    assert_success
    python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["items"]["triple"]==128, j; assert j["items"]["matrix"]==[{"rows":1,"inner":4,"cols":6,"count":3}], j; assert j["created_by"]=="dealer"; assert j["items"]["edabit"]==9, j' "$(printf '%s\n' "$output" | sed -n '/^{/,/^}/p')"
    "$MT" status --json "$T/x.p2" > "$T/s.json"
    [ "$(jget "$T/s.json" 'j["kinds"]["triple"]["remaining"]')" = 128 ]
    [ "$(jget "$T/s.json" 'j["kinds"]["matrix"]["remaining"]')" = $((3 * (4 + 24 + 6))) ]
    [ "$(jget "$T/s.json" 'j["kinds"]["trunc"]["remaining"]')" = 40 ]
    [ "$(jget "$T/s.json" 'j["kinds"]["edabit"]["remaining"]')" = 9 ]

    echo '{"version": 1, "items": [{"kind": "triple", "count": 5, "colour": 1}]}' > "$T/p1.json"
    run "$MT" deal --plan "$T/p1.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p1.json: items[0].colour: unknown key"
    echo '{"version": 1, "items": [{"kind": "matrix", "rows": 0, "inner": 2, "cols": 2, "count": 1}]}' > "$T/p2.json"
    run "$MT" deal --plan "$T/p2.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p2.json: items[0].rows: expected an integer from 1"
    echo '{"version": 2, "items": []}' > "$T/p3.json"
    run "$MT" deal --plan "$T/p3.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p3.json: version: expected 1"
    echo '{"version": 1, "items": [{"kind": "dabit", "count": 5}]}' > "$T/p4.json"
    run "$MT" deal --plan "$T/p4.json" -o "$T/y"
    assert_failure 2
    assert_output --partial \
        "items[0].kind: expected \"triple\", \"matrix\", \"trunc\", \"edabit\", \"wmask\", \"wpair\", \"btriple\" or \"cmask\""
    echo '{"version": 1, "items": [{"kind": "edabit", "f": 3, "count": 5}]}' > "$T/p4.json"
    run "$MT" deal --plan "$T/p4.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "items[0].f: unknown key"
    echo '{"version": 1, "items": [' > "$T/p5.json"
    run "$MT" deal --plan "$T/p5.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p5.json: not valid JSON"
    echo '{"version": 1, "items": [{"kind": "trunc", "f": 64, "count": 5}]}' > "$T/p6.json"
    run "$MT" deal --plan "$T/p6.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "items[0].f: expected an integer from 1 to 63"
    run "$MT" deal --plan "$T/missing.json" -o "$T/y"
    assert_failure 3
    assert_output --partial "$T/missing.json"
    [ ! -e "$T/y.p0" ]
}

@test "deal --plan: weight masks and the pairs bound to them" {
    # Masks 0 (4x6) and 1 (3x5); pairs: 3 plain of 2 rows and 1 transposed of 1 row on mask 0,
    # 2 plain of 1 row on mask 1 (mask numbers are the plan's, in order).
    cat > "$T/plan.json" <<'EOF'
{"version": 1, "items": [
  {"kind": "triple", "count": 10},
  {"kind": "wmask", "inner": 4, "cols": 6, "count": 1},
  {"kind": "wmask", "inner": 3, "cols": 5, "count": 1},
  {"kind": "wpair", "mask": 0, "rows": 2, "transposed": 0, "count": 3},
  {"kind": "wpair", "mask": 0, "rows": 1, "transposed": 1, "count": 1},
  {"kind": "wpair", "mask": 1, "rows": 1, "transposed": 0, "count": 2}]}
EOF
    run "$MT" deal --session $SESSION --plan "$T/plan.json" --json --batch 2 -o "$T/x"
    assert_success
    assert_output --partial \
        "10 triples, 0 matrix triples, 0 truncation pairs, 0 edaBits, 2 weight masks and 6 weight pairs"
    printf '%s\n' "$output" | sed -n '/^{/,/^}/p' > "$T/deal.json"
    [ "$(jget "$T/deal.json" 'j["items"]["wmask"]')" = "[{'inner': 4, 'cols': 6}, {'inner': 3, 'cols': 5}]" ]
    [ "$(jget "$T/deal.json" 'len(j["items"]["wpair"])')" = 3 ]
    # masks 24 + 15; pairs 3 * (8 + 12) + (6 + 4) + 2 * (3 + 5)
    [ "$(jget "$T/deal.json" 'j["elements"]["wmask"]')" = 39 ]
    [ "$(jget "$T/deal.json" 'j["elements"]["wpair"]')" = 86 ]
    for p in 0 1 2; do
        "$MT" status --json "$T/x.p$p" > "$T/s.json"
        [ "$(jget "$T/s.json" 'j["kinds"]["wmask"]["remaining"]')" = 39 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["wmask"]["consumed"]')" = 0 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["wpair"]["generated"]')" = 86 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["wpair"]["remaining"]')" = 86 ]
        # 5 triple batches of <= 2, 2 mask batches, pairs in batches of <= 2: 2 + 1 + 1
        [ "$(jget "$T/s.json" 'j["batches"]')" = 11 ]
        [ "$(stat -c %a "$T/x.p$p/batch-000005.mtp")" = 600 ] # mask 0
        # party 1 keeps no explicit mask component: 4 seeds; parties 0 and 2 one 4x6 array
        [ "$(stat -c %s "$T/x.p$p/batch-000005.mtp")" = \
          $(( 128 + (p == 1 ? 4 * 32 : 3 * 32 + 24 * 16) + 32 )) ]
    done
    run "$MT" status "$T/x.p0"
    assert_success
    assert_line --regexp '^wmask +39 +0 +39 +0 +0$'
    assert_line --regexp '^wpair +86 +0 +86 +0 +0$'
    run "$MT" status --prom "$T/x.p0"
    assert_line "mimir_pool_items{kind=\"wpair\",state=\"remaining\",party=\"0\",session=\"$SESSION\",pool=\"$T/x.p0\"} 86"

    # A corrupted mask batch is refused by status (digest).
    printf 'X' | dd of="$T/x.p1/batch-000005.mtp" bs=1 seek=140 conv=notrunc 2>/dev/null
    run "$MT" status "$T/x.p1"
    assert_failure 2
    assert_output --partial "$T/x.p1/batch-000005.mtp: digest"

    # A pair naming a mask the plan does not have: exit 2 naming the file and items[i].mask.
    cat > "$T/bad.json" <<'EOF'
{"version": 1, "items": [
  {"kind": "wmask", "inner": 4, "cols": 6, "count": 1},
  {"kind": "wpair", "mask": 0, "rows": 1, "transposed": 0, "count": 1},
  {"kind": "wpair", "mask": 1, "rows": 1, "transposed": 0, "count": 1}]}
EOF
    run "$MT" deal --plan "$T/bad.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/bad.json: items[2].mask: mask 1, but the plan has 1 weight mask"
    echo '{"version": 1, "items": [{"kind": "wpair", "mask": 0, "rows": 1, "transposed": 0, "count": 1}]}' > "$T/b2.json"
    run "$MT" deal --plan "$T/b2.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/b2.json: items[0].mask: mask 0, but the plan has 0 weight masks"
    echo '{"version": 1, "items": [{"kind": "wmask", "inner": 4, "cols": 6, "count": 2}]}' > "$T/b3.json"
    run "$MT" deal --plan "$T/b3.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/b3.json: items[0].count: expected an integer from 1 to 1"
    echo '{"version": 1, "items": [{"kind": "wmask", "inner": 4, "cols": 6, "count": 1}, {"kind": "wpair", "mask": 0, "rows": 1, "transposed": 2, "count": 1}]}' > "$T/b4.json"
    run "$MT" deal --plan "$T/b4.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/b4.json: items[1].transposed: expected an integer from 0 to 1"
    echo '{"version": 1, "items": [{"kind": "wmask", "inner": 0, "cols": 6, "count": 1}]}' > "$T/b5.json"
    run "$MT" deal --plan "$T/b5.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/b5.json: items[0].inner: expected an integer from 1"
    [ ! -e "$T/y.p0" ]
}

@test "deal --seed-file is reproducible: byte-identical pools" {
    printf '%064x\n' 7 > "$T/seed"
    "$MT" deal --seed-file "$T/seed" --triples 300 --matrix 3x2x2 --trunc 20 --batch 128 \
        -o "$T/a" 2>/dev/null
    "$MT" deal --seed-file "$T/seed" --triples 300 --matrix 3x2x2 --trunc 20 --batch 128 \
        -o "$T/b" 2>/dev/null
    for p in 0 1 2; do
        for f in "$T/a.p$p"/batch-*.mtp "$T/a.p$p/alpha.key" "$T/a.p$p/pool.json"; do
            cmp "$f" "$T/b.p$p/$(basename "$f")"
        done
    done
    [ "$(ls "$T/a.p0" | grep -c '^batch-')" = 5 ]
    printf '%064x' 8 > "$T/seed2"
    "$MT" deal --seed-file "$T/seed2" --session $SESSION --triples 300 --matrix 3x2x2 \
        --trunc 20 --batch 128 -o "$T/c" 2>/dev/null
    "$MT" deal --seed-file "$T/seed" --session $SESSION --triples 300 --matrix 3x2x2 \
        --trunc 20 --batch 128 -o "$T/d" 2>/dev/null
    run cmp -s "$T/c.p0/batch-000000.mtp" "$T/d.p0/batch-000000.mtp"
    assert_failure 1
    run cmp -s "$T/a.p0/batch-000000.mtp" "$T/a.p1/batch-000000.mtp"
    assert_failure 1
}

@test "deal takes the session from --cluster, else a fresh random one" {
    echo "{\"version\": 1, \"session\": \"$SESSION\", \"parties\": []}" > "$T/cluster.json"
    run "$MT" deal --cluster "$T/cluster.json" --triples 5 --json -o "$T/x"
    assert_success
    assert_output --partial "\"session\": \"$SESSION\""
    "$MT" deal --triples 5 --json -o "$T/r1" > "$T/r1.json" 2>/dev/null
    "$MT" deal --triples 5 --json -o "$T/r2" > "$T/r2.json" 2>/dev/null
    [ "$(jget "$T/r1.json" 'j["session"]')" != "$(jget "$T/r2.json" 'j["session"]')" ]
    [ "$(jget "$T/r1.json" 'len(j["session"])')" = 32 ]
    echo '{"version": 1, "session": "xyz"}' > "$T/bad.json"
    run "$MT" deal --cluster "$T/bad.json" --triples 5 -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/bad.json: session: expected 32 hex digits"
    echo '{"version": 1}' > "$T/none.json"
    run "$MT" deal --cluster "$T/none.json" --triples 5 -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/none.json: session: missing"
}

@test "deal --semi-honest makes pools without MACs" {
    run "$MT" deal --semi-honest --session $SESSION --triples 8 -o "$T/x"
    assert_success
    assert_output --partial "without MACs"
    run "$MT" status "$T/x.p0"
    assert_output --partial "semi-honest (no MACs)"
}

@test "deal --progress draws a bar on stderr; none by default off a terminal" {
    run "$MT" deal --session $SESSION --triples 2000 --batch 100 --progress -o "$T/x"
    assert_success
    assert_output --partial "dealing ["
    assert_output --partial "100%"
    assert_output --partial "ETA"
    run "$MT" deal --session $SESSION --triples 2000 -o "$T/y"
    assert_success
    refute_output --partial "dealing ["
}

@test "deal: bad usage and bad input exit 2 with messages" {
    run "$MT" deal --triples 5
    assert_failure 2
    assert_output --partial "no output prefix, expected -o PREFIX"
    run "$MT" deal -o "$T/x"
    assert_failure 2
    assert_output --partial "nothing to deal"
    run "$MT" deal --triples many -o "$T/x"
    assert_failure 2
    assert_output --partial "--triples many: expected a count"
    run "$MT" deal --edabits -3 -o "$T/x"
    assert_failure 2
    assert_output --partial "--edabits -3: expected a count from 0 to"
    run "$MT" deal --edabits 0 -o "$T/x"
    assert_failure 2
    assert_output --partial "nothing to deal: give --triples, --matrix, --trunc, --edabits or --plan"
    run "$MT" deal --matrix 2x3 -o "$T/x"
    assert_failure 2
    assert_output --partial "--matrix 2x3: expected RxIxC[:COUNT]"
    run "$MT" deal --matrix 2x0x3 -o "$T/x"
    assert_failure 2
    assert_output --partial "--matrix 2x0x3"
    run "$MT" deal --matrix 2x3x4:0 -o "$T/x"
    assert_failure 2
    assert_output --partial "COUNT must be from 1"
    run "$MT" deal --trunc 10:0 -o "$T/x"
    assert_failure 2
    assert_output --partial "--trunc 10:0: F must be from 1 to 63"
    run "$MT" deal --session 1234 --triples 5 -o "$T/x"
    assert_failure 2
    assert_output --partial "--session: expected 32 hex digits"
    run "$MT" deal --session $SESSION --cluster "$T/c.json" --triples 5 -o "$T/x"
    assert_failure 2
    assert_output --partial "use one"
    run "$MT" deal --bogus -o "$T/x"
    assert_failure 2
    assert_output --partial "unknown option --bogus"
    run "$MT" deal --triples 5 -o "$T/x" extra
    assert_failure 2
    assert_output --partial "unexpected argument 'extra'"
    printf '%063x\n' 7 > "$T/short"
    run "$MT" deal --seed-file "$T/short" --triples 5 -o "$T/x"
    assert_failure 2
    assert_output --partial "$T/short: seed: 63 characters, expected 64 hex digits"
    printf '%064x\n' 7 | tr 0 g > "$T/nothex"
    run "$MT" deal --seed-file "$T/nothex" --triples 5 -o "$T/x"
    assert_failure 2
    assert_output --partial "$T/nothex: seed: not hexadecimal"
    [ ! -e "$T/x.p0" ]
}

@test "deal writes all three pools or none" {
    mkdir "$T/x.p1"
    run "$MT" deal --session $SESSION --triples 5 -o "$T/x"
    assert_failure 2
    assert_output --partial "$T/x.p1: already exists"
    [ ! -e "$T/x.p0" ]
    [ ! -e "$T/x.p2" ]
    [ -z "$(ls "$T/x.p1")" ]
    [ -z "$(ls "$T" | grep tmp)" ]
}

@test "status refuses a corrupted batch (exit 2 naming the file and the digest)" {
    "$MT" deal --session $SESSION --triples 100 --batch 40 -o "$T/x" 2>/dev/null
    f="$T/x.p0/batch-000001.mtp"
    python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[300] ^= 1; open(sys.argv[1], "wb").write(b)' "$f"
    run "$MT" status "$T/x.p0"
    assert_failure 2
    assert_output "mimir-triples: $f: digest: SHA-256 does not match the content: the batch is corrupted"
    run "$MT" status --no-verify --json "$T/x.p0"
    assert_success
    assert_output --partial '"verified": false'
    run "$MT" status "$T/x.p1"
    assert_success
}

@test "status refuses truncated, foreign and damaged pools (exit 2)" {
    "$MT" deal --session $SESSION --triples 100 --batch 40 -o "$T/x" 2>/dev/null
    truncate -s -5 "$T/x.p2/batch-000002.mtp"
    run "$MT" status --no-verify "$T/x.p2"
    assert_failure 2
    assert_output --partial "$T/x.p2/batch-000002.mtp: size:"
    assert_output --partial "(truncated)"
    cp "$T/x.p1/batch-000000.mtp" "$T/x.p0/batch-000003.mtp"
    run "$MT" status "$T/x.p0"
    assert_failure 2
    assert_output --partial "$T/x.p0/batch-000003.mtp: party: batch of party 1, expected party 0"
    rm "$T/x.p0/batch-000003.mtp"
    "$MT" deal --session ffeeddccbbaa99887766554433221100 --triples 10 -o "$T/z" 2>/dev/null
    cp "$T/z.p1/batch-000000.mtp" "$T/x.p1/batch-000003.mtp"
    run "$MT" status "$T/x.p1"
    assert_failure 2
    assert_output --partial "$T/x.p1/batch-000003.mtp: session: batch of session ffeeddcc"
    echo '{"format": "mimir-triple-pool"}' > "$T/x.p0/pool.json"
    run "$MT" status "$T/x.p0"
    assert_failure 2
    assert_output --partial "$T/x.p0/pool.json: version: missing"
    run "$MT" status "$T"
    assert_failure 2
    assert_output --partial "$T/pool.json: missing"
}

@test "status: bad usage exits 2" {
    run "$MT" status
    assert_failure 2
    assert_output --partial "no pool given, expected POOL"
    run "$MT" status --json --prom "$T"
    assert_failure 2
    assert_output --partial "--json and --prom exclude each other"
    run "$MT" status "$T/a" "$T/b"
    assert_failure 2
    assert_output --partial "more than one pool"
    run "$MT" status "$T/nonexistent"
    assert_failure 2
    assert_output --partial "$T/nonexistent: not a directory"
}

@test "deal --btriples / --cmasks: boolean triples and comparison masks; status counts them" {
    run "$MT" deal --session $SESSION --btriples 1000 --btriples 24 --cmasks 300 --cmasks 30 \
        --triples 5 --batch 256 --json -o "$T/x"
    assert_success
    assert_output --partial "dealt 5 triples, 0 matrix triples, 0 truncation pairs, 0 edaBits, \
1024 boolean triple words and 330 comparison masks into"
    printf '%s\n' "$output" | sed -n '/^{/,/^}/p' > "$T/deal.json"
    [ "$(jget "$T/deal.json" 'j["items"]["btriple"]')" = 1024 ]
    [ "$(jget "$T/deal.json" 'j["items"]["cmask"]')" = 330 ]
    [ "$(jget "$T/deal.json" 'j["elements"]["btriple"]')" = 1024 ]
    [ "$(jget "$T/deal.json" 'j["elements"]["cmask"]')" = 330 ]
    for p in 0 1 2; do
        "$MT" status --json "$T/x.p$p" > "$T/s.json"
        [ "$(jget "$T/s.json" 'j["verified"]')" = True ]
        [ "$(jget "$T/s.json" 'j["kinds"]["btriple"]["remaining"]')" = 1024 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["btriple"]["generated"]')" = 1024 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["cmask"]["remaining"]')" = 330 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["cmask"]["consumed"]')" = 0 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["triple"]["remaining"]')" = 5 ]
        # 1 triple batch, 4 boolean triple batches of <= 256 words, 2 mask batches
        [ "$(jget "$T/s.json" 'j["batches"]')" = 7 ]
    done
    run "$MT" status "$T/x.p2"
    assert_success
    assert_line --regexp '^btriple +1024 +0 +1024 +0 +0$'
    assert_line --regexp '^cmask +330 +0 +330 +0 +0$'

    # Without MACs; only the new kinds are enough to deal.
    run "$MT" deal --semi-honest --session $SESSION --btriples 3 -o "$T/s"
    assert_success
    assert_output --partial "dealt 0 triples, 0 matrix triples, 0 truncation pairs, 0 edaBits \
and 3 boolean triple words without MACs"
    run "$MT" deal --semi-honest --session $SESSION --cmasks 4 -o "$T/t"
    assert_success
    assert_output --partial "0 edaBits and 4 comparison masks without MACs"
    run "$MT" status "$T/t.p1"
    assert_output --partial "semi-honest (no MACs)"
    assert_line --regexp '^cmask +4 +0 +4 +0 +0$'
}

@test "deal --plan: btriple and cmask items" {
    cat > "$T/plan.json" <<'EOF2'
{"version": 1, "items": [
  {"kind": "triple", "count": 10},
  {"kind": "btriple", "count": 70},
  {"kind": "edabit", "count": 3},
  {"kind": "cmask", "count": 9},
  {"kind": "btriple", "count": 30}]}
EOF2
    run "$MT" deal --session $SESSION --plan "$T/plan.json" --cmasks 1 --json -o "$T/x"
    assert_success
    assert_output --partial "3 edaBits, 100 boolean triple words and 10 comparison masks"
    printf '%s\n' "$output" | sed -n '/^{/,/^}/p' > "$T/deal.json"
    [ "$(jget "$T/deal.json" 'j["items"]["btriple"]')" = 100 ]
    [ "$(jget "$T/deal.json" 'j["items"]["cmask"]')" = 10 ]
    for p in 0 1 2; do
        "$MT" status --json "$T/x.p$p" > "$T/s.json"
        [ "$(jget "$T/s.json" 'j["kinds"]["btriple"]["remaining"]')" = 100 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["cmask"]["remaining"]')" = 10 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["edabit"]["remaining"]')" = 3 ]
        [ "$(jget "$T/s.json" 'j["kinds"]["triple"]["remaining"]')" = 10 ]
    done
    echo '{"version": 1, "items": [{"kind": "cmask", "count": 68719476737}]}' > "$T/p1.json"
    run "$MT" deal --plan "$T/p1.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p1.json: items[0].count: expected an integer from 0 to 68719476736"
    echo '{"version": 1, "items": [{"kind": "btriple", "count": 5, "f": 3}]}' > "$T/p2.json"
    run "$MT" deal --plan "$T/p2.json" -o "$T/y"
    assert_failure 2
    assert_output --partial "$T/p2.json: items[0].f: unknown key"
    [ ! -e "$T/y.p0" ]
}

@test "deal --btriples / --cmasks: reproducible, other items' draws unchanged, bad counts" {
    printf '%064x\n' 7 > "$T/seed"
    "$MT" deal --seed-file "$T/seed" --triples 50 --btriples 300 --cmasks 20 --batch 128 \
        -o "$T/a" 2>/dev/null
    "$MT" deal --seed-file "$T/seed" --triples 50 --btriples 300 --cmasks 20 --batch 128 \
        -o "$T/b" 2>/dev/null
    for p in 0 1 2; do
        for f in "$T/a.p$p"/batch-*.mtp; do
            cmp "$f" "$T/b.p$p/$(basename "$f")"
        done
    done
    # 1 triple batch, 3 boolean triple batches (128 + 128 + 44), 1 mask batch
    [ "$(ls "$T/a.p0" | grep -c '^batch-')" = 5 ]
    run cmp -s "$T/a.p0/batch-000004.mtp" "$T/a.p1/batch-000004.mtp"
    assert_failure 1
    # boolean items are dealt last: the triples are those of a deal without them
    "$MT" deal --seed-file "$T/seed" --triples 50 -o "$T/c" 2>/dev/null
    cmp "$T/a.p1/batch-000000.mtp" "$T/c.p1/batch-000000.mtp"
    printf '%064x\n' 8 > "$T/seed2"
    "$MT" deal --seed-file "$T/seed2" --session $SESSION --cmasks 20 -o "$T/d" 2>/dev/null
    "$MT" deal --seed-file "$T/seed" --session $SESSION --cmasks 20 -o "$T/e" 2>/dev/null
    run cmp -s "$T/d.p0/batch-000000.mtp" "$T/e.p0/batch-000000.mtp"
    assert_failure 1

    run "$MT" deal --btriples many -o "$T/x"
    assert_failure 2
    assert_output --partial "--btriples many: expected a count from 0 to"
    run "$MT" deal --cmasks -1 -o "$T/x"
    assert_failure 2
    assert_output --partial "--cmasks -1: expected a count from 0 to 68719476736"
    run "$MT" deal --cmasks 68719476736 --cmasks 1 -o "$T/x"
    assert_failure 2
    assert_output --partial "--cmasks: more than 68719476736 comparison masks in total"
    run "$MT" deal --btriples 0 --cmasks 0 -o "$T/x"
    assert_failure 2
    assert_output --partial "nothing to deal"
    run "$MT" deal --help
    assert_output --partial "--btriples N"
    assert_output --partial "--cmasks N"
    assert_output --partial '{"kind":"cmask","count":N}'
    [ ! -e "$T/x.p0" ]
}
