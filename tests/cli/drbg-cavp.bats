#!/usr/bin/env bats
# tests/bin/drbg-cavp: the NIST CAVP HMAC_DRBG runner must pass the shared vectors, notice a
# single wrong digit, skip what it does not support (saying so) and refuse malformed files.

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    CAVP="$ROOT/tests/bin/drbg-cavp"
    DATA="$(cd "$ROOT/../shared/testdata/drbg" && pwd)"
    NO_RESEED="$DATA/HMAC_DRBG_no_reseed_SHA-256.rsp"
    RESEED="$DATA/HMAC_DRBG_reseed_SHA-256.rsp"
    T="$BATS_TEST_TMPDIR"
}

# The first section of the no-reseed file (its header and COUNT 0..14), CRLF kept.
first_section() {
    awk 'BEGIN { s = 0 } /^\[SHA-256\]/ { s++ } s <= 1 { print }' "$NO_RESEED"
}

@test "all shared vectors pass: 360 passed, 0 failed" {
    run "$CAVP" "$NO_RESEED" "$RESEED"
    assert_success
    assert_line --index 0 --partial "no_reseed_SHA-256.rsp: 180 passed, 0 failed"
    assert_line --partial "reseed_SHA-256.rsp: 180 passed, 0 failed"
    assert_equal "${lines[-1]}" "360 passed, 0 failed"
}

@test "LF line endings, extra comments, blank lines and spaced brackets parse the same" {
    tr -d '\r' < "$NO_RESEED" |
        sed -e 's/^\[SHA-256\]$/[ SHA-256 ]/' -e 's/^COUNT = 3$/# a comment\n\nCOUNT = 3/' \
        > "$T/lf.rsp"
    run "$CAVP" "$T/lf.rsp"
    assert_success
    assert_equal "${lines[-1]}" "180 passed, 0 failed"
}

@test "one changed hex digit in ReturnedBits fails exactly that case, naming file, section, COUNT" {
    # COUNT = 3 of the second section of the reseed file: change the last hex digit.
    awk '/^\[SHA-256\]/ { s++ } /^COUNT = / { c = $3 + 0 }
         s == 2 && c == 3 && /^ReturnedBits/ {
             last = substr($0, length($0) - 1, 1)
             sub(/.\r$/, (last == "0" ? "1" : "0") "\r")
         }
         { print }' "$RESEED" > "$T/bad.rsp"
    run cmp -s "$RESEED" "$T/bad.rsp"
    assert_failure
    run "$CAVP" "$T/bad.rsp"
    assert_failure 1
    assert_output --partial "FAIL $T/bad.rsp: [SHA-256] section 2: COUNT = 3"
    assert_output --partial "ReturnedBits differ (reseed case)"
    assert_equal "${lines[-1]}" "179 passed, 1 failed"
}

@test "sections of other hashes are skipped by their header and reported" {
    { printf '# CAVS 14.3\r\n\r\n[SHA-1]\r\n[PredictionResistance = False]\r\n'
      printf '[EntropyInputLen = 128]\r\n\r\nCOUNT = 0\r\nEntropyInput = 00\r\nNonce = 01\r\n'
      printf 'PersonalizationString = \r\nAdditionalInput = \r\nAdditionalInput = \r\n'
      printf 'ReturnedBits = 0102\r\n\r\n'
      first_section | tail -n +2; } > "$T/mixed.rsp"
    run "$CAVP" "$T/mixed.rsp"
    assert_success
    assert_output --partial "skipped 1 cases in 1 sections of other hash functions"
    assert_equal "${lines[-1]}" "15 passed, 0 failed"
}

@test "PredictionResistance = True sections are counted, skipped and reported" {
    { first_section
      printf '[SHA-256]\r\n[PredictionResistance = True]\r\n[EntropyInputLen = 256]\r\n\r\n'
      for c in 0 1; do
          printf 'COUNT = %s\r\nEntropyInput = 00\r\nNonce = 00\r\nPersonalizationString = \r\n' $c
          printf 'AdditionalInput = \r\nEntropyInputPR = 00\r\nAdditionalInput = \r\n'
          printf 'EntropyInputPR = 00\r\nReturnedBits = 00\r\n\r\n'
      done; } > "$T/pr.rsp"
    run "$CAVP" "$T/pr.rsp"
    assert_success
    assert_output --partial "skipped 2 cases in 1 [SHA-256] [PredictionResistance = True] sections"
    assert_equal "${lines[-1]}" "15 passed, 0 failed"
}

@test "a value that is not hex is a malformed file: exit 2, file and line named" {
    first_section | sed 's/^Nonce = 659b/Nonce = 659g/' > "$T/hex.rsp"
    run "$CAVP" "$T/hex.rsp"
    assert_failure 2
    assert_output --partial \
        "drbg-cavp: $T/hex.rsp:18: COUNT = 0: Nonce: expected an even number of hex digits"
    refute_output --partial "passed,"
}

@test "a value whose length contradicts the section's *Len parameter is malformed" {
    first_section | sed 's/^\(EntropyInput = ca851911\)/\1ff/' > "$T/len.rsp"
    run "$CAVP" "$T/len.rsp"
    assert_failure 2
    assert_output --partial "EntropyInput has 264 bits, the section says EntropyInputLen = 256"
}

@test "a file cut inside a case is malformed" {
    first_section | head -n 20 > "$T/cut.rsp"
    run "$CAVP" "$T/cut.rsp"
    assert_failure 2
    assert_output --partial "file ends inside COUNT = 0 (no ReturnedBits)"
}

@test "a missing AdditionalInput line is malformed" {
    first_section | awk '/^AdditionalInput/ && !done { done = 1; next } { print }' > "$T/add.rsp"
    run "$CAVP" "$T/add.rsp"
    assert_failure 2
    assert_output --partial \
        "COUNT = 0: expected EntropyInput, Nonce, PersonalizationString and two AdditionalInput"
}

@test "an unknown field in a SHA-256 section is malformed" {
    first_section | sed 's/^Nonce = /Nonse = /' > "$T/field.rsp"
    run "$CAVP" "$T/field.rsp"
    assert_failure 2
    assert_output --partial "unknown field \"Nonse\""
}

@test "a file that is not a CAVP response file is refused" {
    printf 'hello world\n' > "$T/text.rsp"
    run "$CAVP" "$T/text.rsp"
    assert_failure 2
    assert_output --partial "$T/text.rsp:1: expected \"Name = value\""
    : > "$T/empty.rsp"
    run "$CAVP" "$T/empty.rsp"
    assert_failure 2
    assert_output --partial "no [hash] section header"
}

@test "files with no SHA-256 case at all are refused rather than passing with 0 tests" {
    printf '[SHA-1]\n[PredictionResistance = False]\n\nCOUNT = 0\nReturnedBits = 00\n' \
        > "$T/sha1.rsp"
    run "$CAVP" "$T/sha1.rsp"
    assert_failure 2
    assert_output --partial "no [SHA-256] PredictionResistance = False case"
}

@test "usage: no argument is exit 2, a missing file exit 3, --help exit 0" {
    run "$CAVP"
    assert_failure 2
    assert_output --partial "usage: drbg-cavp FILE.rsp..."
    run "$CAVP" "$T/nonexistent.rsp"
    assert_failure 3
    assert_output --partial "nonexistent.rsp: cannot open: No such file or directory"
    run "$CAVP" --help
    assert_success
    assert_output --partial "usage: drbg-cavp"
}
