#!/usr/bin/env bats
# mimir-party transcript-check: three consistent transcripts (written by tests/bin/transcript-gen
# through lib/transcript.h) pass; edited files, runs whose parties disagree, failed checks and
# unfinished runs exit 1 naming the files and records; malformed input and bad usage exit 2.

bats_load_library bats-support
bats_load_library bats-assert

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
MP="$ROOT/bin/mimir-party"
GEN="$ROOT/tests/bin/transcript-gen"

setup() {
    T="$BATS_TEST_TMPDIR"
    "$GEN" "$T/good"
}

# edit FILE PYTHON: runs PYTHON with L = the file's lines (with newlines), writes L back.
edit() {
    python3 - "$1" "$2" <<'EOF'
import sys
path, code = sys.argv[1], sys.argv[2]
L = open(path).read().splitlines(keepends=True)
exec(code)
open(path, "w").write("".join(L))
EOF
}

check() {
    run "$MP" transcript-check "$@"
}

@test "--help prints the usage and exits 0" {
    run "$MP" transcript-check --help
    assert_success
    assert_output --partial "Usage: mimir-party transcript-check [--json] T0 T1 T2"
    assert_output --partial "Exit status"
}

@test "three consistent transcripts pass with a one-line summary" {
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_success
    assert_output "transcripts consistent: session c0ffee000102030405060708090a0b0c, 9 rounds, 108 frames, 3 opens, 9 checks, 138 records"
}

@test "the transcripts may be given in any order" {
    check "$T/good/t2.jsonl" "$T/good/t0.jsonl" "$T/good/t1.jsonl"
    assert_success
    assert_output --partial "transcripts consistent"
}

@test "--json prints the summary as JSON" {
    run "$MP" transcript-check --json "$T/good/t1.jsonl" "$T/good/t0.jsonl" "$T/good/t2.jsonl"
    assert_success
    echo "$output" > "$T/out.json"
    run python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["consistent"] is True
assert j["session"] == "c0ffee000102030405060708090a0b0c"
assert j["records"] == [46, 46, 46] and j["frames"] == [36, 36, 36]
assert j["opens"] == 3 and j["checks"] == 9 and j["rounds"] == [9, 9, 9]
assert len(j["final_chain"]) == 3 and all(len(c) == 64 for c in j["final_chain"])
last = open(sys.argv[2]).read().splitlines()[-1]
assert json.loads(last)["chain"] == j["final_chain"][0], "party 0 chain is its end record"
print("ok")
' "$T/out.json" "$T/good/t0.jsonl"
    assert_success
    assert_output "ok"
}

@test "identical runs give byte-identical transcripts" {
    "$GEN" "$T/again"
    for p in 0 1 2; do
        cmp "$T/good/t$p.jsonl" "$T/again/t$p.jsonl"
    done
}

@test "the generator refuses to overwrite a transcript" {
    run "$GEN" "$T/good"
    assert_failure 2
    assert_output --partial "t0.jsonl: already exists"
}

@test "a digest digit edited: exit 1 naming the file and record" {
    edit "$T/good/t1.jsonl" '
i = 9; s = L[i]; k = s.index("\"sha256\":\"") + 12
L[i] = s[:k] + ("0" if s[k] != "0" else "1") + s[k+1:]'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 1
    assert_output --partial "t1.jsonl: record 10: chain does not link"
}

@test "a line deleted: exit 1" {
    edit "$T/good/t2.jsonl" 'del L[20]'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 1
    assert_output --partial "t2.jsonl: record 21: chain does not link"
}

@test "two lines swapped: exit 1" {
    edit "$T/good/t0.jsonl" 'L[6], L[7] = L[7], L[6]'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 1
    assert_output --partial "t0.jsonl: record 7: chain does not link"
}

@test "a recv length changed: exit 1" {
    edit "$T/good/t1.jsonl" '
i = next(i for i, s in enumerate(L) if "\"type\":\"recv\"" in s)
L[i] = L[i].replace("\"len\":", "\"len\":1", 1)'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 1
    assert_output --partial "t1.jsonl: record 6: chain does not link"
}

@test "the end record dropped: exit 1, incomplete" {
    edit "$T/good/t2.jsonl" 'L.pop()'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 1
    assert_output "mimir-party: $T/good/t2.jsonl: incomplete: no end record (the run did not finish)"
}

@test "a run where a party never closed: exit 1, incomplete" {
    "$GEN" "$T/d" no-end
    check "$T/d/t0.jsonl" "$T/d/t1.jsonl" "$T/d/t2.jsonl"
    assert_failure 1
    assert_output --partial "t0.jsonl: incomplete: no end record"
}

@test "a frame received differs from the frame sent: exit 1 naming both files and records" {
    "$GEN" "$T/d" recv
    check "$T/d/t0.jsonl" "$T/d/t1.jsonl" "$T/d/t2.jsonl"
    assert_failure 1
    assert_output --partial "t1.jsonl: record 30: party 1 received round 5 from party 2 with len 32 sha256 "
    assert_output --partial "but $T/d/t2.jsonl: record 28: party 2 sent round 5 with len 32 sha256 "
}

@test "an opened value differs between parties: exit 1" {
    "$GEN" "$T/d" open
    check "$T/d/t0.jsonl" "$T/d/t1.jsonl" "$T/d/t2.jsonl"
    assert_failure 1
    assert_output --partial "t2.jsonl: record 40: party 2's open #3 is mul of 4 words"
    assert_output --partial "t0.jsonl: record 40: party 0's is mul"
}

@test "a failed check record: exit 1 naming it" {
    "$GEN" "$T/d" fail-check
    check "$T/d/t0.jsonl" "$T/d/t1.jsonl" "$T/d/t2.jsonl"
    assert_failure 1
    assert_output --partial "t1.jsonl: record 17: party 1 recorded a failed mac check (4 values)"
}

@test "another session in one file: exit 1" {
    "$GEN" "$T/d" session
    check "$T/d/t0.jsonl" "$T/d/t1.jsonl" "$T/d/t2.jsonl"
    assert_failure 1
    assert_output --partial "t2.jsonl: session: c1ffee"
    assert_output --partial "not transcripts of one run"
}

@test "two files of one party: exit 1" {
    cp "$T/good/t1.jsonl" "$T/t1-copy.jsonl"
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/t1-copy.jsonl"
    assert_failure 1
    assert_output --partial "t1-copy.jsonl: party: party 1, but $T/good/t1.jsonl is party 1's transcript too"
}

@test "a foreign JSON file: exit 2" {
    echo '{"name": "model", "shape": [2, 3]}' > "$T/foreign.json"
    check "$T/good/t0.jsonl" "$T/foreign.json" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "foreign.json: record 1: no \"type\" string"
}

@test "text that is not JSON: exit 2" {
    printf 'hello\n' > "$T/text"
    check "$T/text" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "text: record 1: not JSON"
}

@test "an unknown key or record type: exit 2" {
    edit "$T/good/t1.jsonl" 'L[1] = L[1].replace("\"key\"", "\"kee\"")'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "t1.jsonl: record 2: unexpected key \"kee\" in a note record"
    edit "$T/good/t0.jsonl" 'L[2] = L[2].replace("\"note\"", "\"memo\"")'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "t0.jsonl: record 3: unknown record type \"memo\""
}

@test "a non-canonical line: exit 2" {
    edit "$T/good/t2.jsonl" 'L[3] = L[3].replace(",", ", ", 1)'
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "t2.jsonl: record 4: not in canonical form"
}

@test "a line over 4096 bytes, a control byte, an empty file: exit 2" {
    python3 -c 'print("{" + "x" * 5000 + "}")' > "$T/long"
    check "$T/long" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "long: record 1: line longer than 4096 bytes"
    printf '{"type":\001}\n' > "$T/ctl"
    check "$T/good/t0.jsonl" "$T/ctl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "ctl: record 1: byte 0x01"
    : > "$T/empty"
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/empty"
    assert_failure 2
    assert_output --partial "empty: empty, expected a transcript"
}

@test "a missing file: exit 2" {
    check "$T/good/t0.jsonl" "$T/nope.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "nope.jsonl: cannot open: No such file or directory"
}

@test "bad usage: exit 2" {
    check "$T/good/t0.jsonl" "$T/good/t1.jsonl"
    assert_failure 2
    assert_output --partial "expected three transcripts T0 T1 T2, got 2"
    check --frobnicate "$T/good/t0.jsonl" "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "unknown option"
    check - "$T/good/t1.jsonl" "$T/good/t2.jsonl"
    assert_failure 2
    assert_output --partial "expected a transcript file (not -)"
}
