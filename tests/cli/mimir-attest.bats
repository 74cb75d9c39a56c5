#!/usr/bin/env bats
# mimir-attest verify: every sample of ../shared/testdata/attestation as its README says, byte
# flips in every signed region, signature and certificate (exit 1), malformed input (exit 2),
# and policy accept/reject with every failed rule listed.

setup() {
    bats_load_library bats-support
    bats_load_library bats-assert
    ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
    A="$ROOT/bin/mimir-attest"
    T="$ROOT/../shared/testdata/attestation"
    S="$T/snp"
    Q="$T/tdx"
    AT=2026-06-01T00:00:00Z
    W="$BATS_TEST_TMPDIR"
}

# flip FILE OFFSET [MASK]: xor one byte in place
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((b ^ ${3:-1})))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

gsg() { "$A" verify --at $AT --cert "$S/milan-v2-gsg-vcek.der" --cert "$S/certs/ask_ark_milan.pem" "$@"; }
gcp() { "$A" verify --at $AT --cert "$S/milan-v5-gcp-vcek.pem" --cert "$S/certs/ask_ark_milan.pem" "$@"; }
policy() { printf '%s\n' "$1" > "$W/policy.json"; }

# ---- every sample as the README says ----

@test "snp: milan v2 (go-sev-guest) verifies, fields decoded" {
    run gsg --json "$S/milan-v2-gsg-report.bin"
    assert_success
    assert_output --partial '"result": "verified"'
    assert_output --partial '"measurement": "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"'
    assert_output --partial '"report_data": "0102030405000000'
    assert_output --partial '"chip_id": "3ac3fe21'
    assert_output --partial '"raw": "0200000000000544"'
    assert_output --partial '"debug": true'
    assert_output --partial '"product_line": "Milan"'
}

@test "snp: milan v2 text summary names the checks and fields" {
    run gsg "$S/milan-v2-gsg-report.bin"
    assert_success
    assert_output --partial 'result:    verified (0 of 6 checks failed)'
    assert_output --partial 'ok    chain'
    assert_output --partial 'bl 2 tee 0 snp 5 ucode 68'
    assert_output --partial 'current_firmware.minor           49'
}

@test "snp: milan v5 (GCP) verifies with TCB bl 4 tee 0 snp 27 ucode 222" {
    run gcp --json "$S/milan-v5-gcp-report.bin"
    assert_success
    assert_output --partial '"measurement": "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3"'
    assert_output --partial '"snp": 27'
    assert_output --partial '"microcode": 222'
    assert_output --partial '"launch_mit_vector"'
    assert_output --partial '"debug": false'
}

@test "snp: milan v3 VLEK verifies at 2025-06-01" {
    run "$A" verify --json --at 2025-06-01T00:00:00Z --cert "$S/milan-v3-vlek-vlek.der" \
        --cert "$S/certs/asvk_ark_milan_vlek.pem" "$S/milan-v3-vlek-report.bin"
    assert_success
    assert_output --partial '"signing_key": "vlek"'
    assert_output --partial '"raw": "04000000000018d9"'
    assert_output --partial '"measurement": "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0"'
}

@test "snp: the VLEK has expired at 2026-06-01 (exit 1)" {
    run "$A" verify --at $AT --cert "$S/milan-v3-vlek-vlek.der" \
        --cert "$S/certs/asvk_ark_milan_vlek.pem" "$S/milan-v3-vlek-report.bin"
    assert_failure 1
    assert_output --partial 'rejected: chain: certificate "SEV-VLEK" (depth 0): certificate has expired'
}

@test "snp: a report checked with another report's VCEK fails the signature (exit 1)" {
    run gsg "$S/milan-v5-gcp-report.bin"
    assert_failure 1
    assert_output --partial 'rejected: signature'
    assert_output --partial 'rejected: chip_id'
}

@test "snp: a Milan VCEK against the Genoa or Turin chain fails the chain (exit 1)" {
    for p in genoa turin; do
        run "$A" verify --at $AT --cert "$S/milan-v5-gcp-vcek.pem" --cert "$S/certs/ask_ark_$p.pem" \
            "$S/milan-v5-gcp-report.bin"
        assert_failure 1
        assert_output --partial 'rejected: chain'
    done
}

@test "snp: the hwID-edited VCEK fails the ASK's signature (exit 1)" {
    run "$A" verify --at $AT --cert "$S/INVALID-milan-vcek-hwid-edited.der" \
        --cert "$S/certs/ask_ark_milan.pem" "$S/milan-v5-gcp-report.bin"
    assert_failure 1
    assert_output --partial 'rejected: chain: certificate "SEV-VCEK" (depth 0): certificate signature failure'
}

@test "tdx: every TDX quote verifies, fields decoded" {
    run "$A" verify --json --at $AT "$Q/v4-edgeless-quote.dat"
    assert_success
    assert_output --partial '"mrtd": "b65ea009e424e6f761fdd3d7c8962439453b37ecdf62da04f7bc5d327686bb8bafc8a5d24a9c31cee60e4aba87c2f71b"'
    assert_output --partial '"report_data": "48656c6c6f2066726f6d20456467656c6573732053797374656d7321000000'
    assert_output --partial '"fmspc": "00806f050000"'
    assert_output --partial '"xfam": "0x00000000000602e7"'
    assert_output --partial '"raw": "0x0000000010000000"'
    run "$A" verify --json --at $AT "$Q/v4-gtg-spr-e4-quote-trailing.dat"
    assert_success
    assert_output --partial '"trailing_bytes": 39'
    assert_output --partial '"mrtd": "6363b8043668a3ad953278e10389574d326c6749fb78aa810ecd9336923db86f22fc00b8dcd404bc10d5e119d7215cbb"'
    assert_output --partial '"fmspc": "50806f000000"'
    run "$A" verify --json --at $AT "$Q/v4-trustee-debugtd-quote.dat"
    assert_success
    assert_output --partial '"raw": "0x0000000010000001"'
    assert_output --partial '"debug": true'
    run "$A" verify --json --at $AT "$Q/v5-gtg-quote.dat"
    assert_success
    assert_output --partial '"body_type": "td-report-1.5"'
    assert_output --partial '"tee_tcb_svn2": "0d0104'
    assert_output --partial '"fmspc": "90c06f000000"'
}

@test "tdx: an SGX quote is unsupported evidence (exit 2)" {
    run "$A" verify --at $AT "$Q/NOT-TDX-sgx-v3-phala-quote.dat"
    assert_failure 2
    assert_output --partial 'tee_type: tee_type 0x0 (an SGX quote) is not supported evidence'
}

# ---- flipping bytes ----

@test "snp: flipping any sampled byte of the signed region or signature gives exit 1" {
    for off in 4 8 21 0x10 0x30 0x38 0x48 0x50 0x8f 0x90 0xbf 0xc0 0x110 0x180 0x188 0x1a0 \
               0x1df 0x1e8 0x1f8 0x208 0x29f 0x2a0 0x2c0 0x2cf 0x2e7 0x2e8 0x300 0x32f; do
        cp "$S/milan-v5-gcp-report.bin" "$W/r.bin"
        flip "$W/r.bin" $((off))
        run gcp "$W/r.bin"
        [ "$status" -eq 1 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
        assert_output --partial 'rejected: signature'
    done
}

@test "snp: a flip in the reserved signature bytes is malformed (exit 2)" {
    for off in 0x330 0x400 0x49f; do
        cp "$S/milan-v2-gsg-report.bin" "$W/r.bin"
        flip "$W/r.bin" $((off))
        run gsg "$W/r.bin"
        assert_failure 2
        assert_output --partial 'signature: reserved byte'
    done
}

@test "snp: flipping sampled bytes of the VCEK, the ASK or the ARK gives exit 1" {
    for off in 0 4 40 200 400 700 900 1200 1359; do
        cp "$S/milan-v2-gsg-vcek.der" "$W/vcek.der"
        flip "$W/vcek.der" $off
        run "$A" verify --at $AT --cert "$W/vcek.der" --cert "$S/certs/ask_ark_milan.pem" \
            "$S/milan-v2-gsg-report.bin"
        [ "$status" -eq 1 ] || { echo "vcek offset $off: exit $status"; echo "$output"; false; }
    done
    # the bundle: ASK body around 100..2300, ARK body from about 2330 on
    for off in 30 100 700 1500 2250 2400 3000 3800 4500; do
        cp "$S/certs/ask_ark_milan.pem" "$W/chain.pem"
        flip "$W/chain.pem" $off
        run "$A" verify --at $AT --cert "$S/milan-v2-gsg-vcek.der" --cert "$W/chain.pem" \
            "$S/milan-v2-gsg-report.bin"
        [ "$status" -eq 1 ] || { echo "chain offset $off: exit $status"; echo "$output"; false; }
        assert_output --partial 'chain'
    done
}

@test "snp: version and signature algorithm are read first: an unknown one is exit 2" {
    cp "$S/milan-v2-gsg-report.bin" "$W/r.bin"
    printf '\006' | dd of="$W/r.bin" bs=1 seek=0 conv=notrunc status=none
    run gsg "$W/r.bin"
    assert_failure 2
    assert_output --partial 'version: unsupported SEV-SNP report version 6, expected 2 to 5'
    cp "$S/milan-v2-gsg-report.bin" "$W/r.bin"
    flip "$W/r.bin" $((0x34)) 2
    run gsg "$W/r.bin"
    assert_failure 2
    assert_output --partial 'signature_algo: unsupported signature algorithm 3'
}

@test "tdx: flipping any sampled byte of the signed region, signatures, keys, QE data or PCK chain gives exit 1" {
    # header (past version/key/tee type), TD report, quote signature, attestation key, QE report,
    # QE report signature, QE auth data, PCK chain (PCK, platform CA, root, trailing NUL)
    for off in 8 12 30 47 48 100 184 376 520 568 631 636 660 699 700 731 763 770 900 1090 1153 \
               1154 1190 1217 1220 1251 1258 1300 1800 2500 3000 3500 4200 4600 4935; do
        cp "$Q/v4-edgeless-quote.dat" "$W/q.dat"
        flip "$W/q.dat" $off
        run "$A" verify --at $AT "$W/q.dat"
        [ "$status" -eq 1 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
        assert_output --partial 'rejected:'
    done
}

@test "tdx v5: flips in the type/size-prefixed body and the signature give exit 1" {
    for off in 20 54 200 701 706 740 770 1000; do
        cp "$Q/v5-gtg-quote.dat" "$W/q.dat"
        flip "$W/q.dat" $off
        run "$A" verify --at $AT "$W/q.dat"
        [ "$status" -eq 1 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
    done
}

@test "tdx: a flipped version, key type, body type or length is malformed (exit 2)" {
    for off in 0 2 4 632 634 764 766 1218 1252; do
        cp "$Q/v4-edgeless-quote.dat" "$W/q.dat"
        flip "$W/q.dat" $off 0x40
        run "$A" verify --at $AT "$W/q.dat"
        [ "$status" -eq 2 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
    done
    cp "$Q/v5-gtg-quote.dat" "$W/q.dat"
    flip "$W/q.dat" 48 4
    run "$A" verify --at $AT "$W/q.dat"
    assert_failure 2
    assert_output --partial 'body_type: unsupported quote body type 7'
}

@test "tdx: flipped trailing bytes are still outside every structure (exit 0)" {
    cp "$Q/v4-gtg-spr-e4-quote-trailing.dat" "$W/q.dat"
    flip "$W/q.dat" 4950
    run "$A" verify --at $AT "$W/q.dat"
    assert_success
}

# ---- truncated, oversized, unreadable ----

@test "truncated or oversized evidence is exit 2" {
    head -c 1183 "$S/milan-v2-gsg-report.bin" > "$W/short.bin"
    run gsg "$W/short.bin"
    assert_failure 2
    assert_output --partial 'size: SEV-SNP report of 1183 bytes, expected exactly 1184'
    { cat "$S/milan-v2-gsg-report.bin"; printf '\0'; } > "$W/long.bin"
    run gsg "$W/long.bin"
    assert_failure 2
    assert_output --partial 'SEV-SNP report of 1185 bytes'
    for n in 0 7 47 631 635 700 1000 1217 1300 4935; do
        head -c $n "$Q/v4-edgeless-quote.dat" > "$W/q.dat"
        run "$A" verify --at $AT "$W/q.dat"
        [ "$status" -eq 2 ] || { echo "length $n: exit $status"; echo "$output"; false; }
    done
    head -c 3000 "$Q/v4-edgeless-quote.dat" > "$W/q.dat"
    run "$A" verify --at $AT "$W/q.dat"
    assert_output --partial 'quote truncated'
    { cat "$Q/v4-edgeless-quote.dat"; head -c 70000 /dev/zero; } > "$W/big.dat"
    run "$A" verify --at $AT "$W/big.dat"
    assert_failure 2
    assert_output --partial 'larger than the limit of 65536 bytes'
}

@test "bad usage is exit 2" {
    run "$A" verify --at $AT "$W/missing.bin"
    assert_failure 2
    run "$A" verify --at 2026-06-01 "$Q/v4-edgeless-quote.dat"
    assert_failure 2
    assert_output --partial "--at: '2026-06-01' is not an RFC 3339 time"
    run "$A" verify --at $AT "$S/milan-v2-gsg-report.bin"
    assert_failure 2
    assert_output --partial 'no VCEK or VLEK certificate given'
    run "$A" verify --at $AT --cert "$S/milan-v2-gsg-vcek.der" "$Q/v4-edgeless-quote.dat"
    assert_failure 2
    assert_output --partial '--cert is for SEV-SNP only'
    run "$A" verify --at $AT
    assert_failure 2
    run "$A" bogus
    assert_failure 2
    run "$A" verify --bogus "$Q/v4-edgeless-quote.dat"
    assert_failure 2
}

@test "a certificate that does not decode is exit 1; an empty --cert file is exit 2" {
    head -c 500 "$S/milan-v2-gsg-vcek.der" > "$W/cut.der"
    run "$A" verify --at $AT --cert "$W/cut.der" --cert "$S/certs/ask_ark_milan.pem" \
        "$S/milan-v2-gsg-report.bin"
    assert_failure 1
    assert_output --partial 'does not decode as one DER X.509 certificate'
    : > "$W/empty.pem"
    run "$A" verify --at $AT --cert "$W/empty.pem" "$S/milan-v2-gsg-report.bin"
    assert_failure 2
    assert_output --partial 'no certificate'
}

@test "--at and --help" {
    run "$A" verify --at 2026-06-01T02:00:00+02:00 --json "$Q/v4-edgeless-quote.dat"
    assert_success
    assert_output --partial '"verified_at": "2026-06-01T00:00:00Z"'
    run "$A" verify --at 2031-01-01T00:00:00Z "$Q/v4-edgeless-quote.dat"
    assert_failure 1
    assert_output --partial 'certificate has expired'
    run "$A" verify --help
    assert_success
    assert_output --partial 'Usage: mimir-attest verify'
    run "$A" --help
    assert_success
    assert_output --partial 'verify'
}

# ---- policies ----

@test "policy: debug forbidden rejects the debug SNP guest and the debug TD (exit 1)" {
    policy '{"mimir_attest_policy": 1}'
    run gsg --policy "$W/policy.json" "$S/milan-v2-gsg-report.bin"
    assert_failure 1
    assert_output --partial 'rejected: policy.debug: the guest runs in debug mode; debug is forbidden'
    run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-trustee-debugtd-quote.dat"
    assert_failure 1
    assert_output --partial 'rejected: policy.debug'
    run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-edgeless-quote.dat"
    assert_success
    assert_output --partial 'result:    admitted'
}

@test "policy: a full SNP policy admits the GCP report" {
    policy '{"mimir_attest_policy": 1, "platforms": ["sev-snp"], "allow_debug": false,
      "report_data": "00",
      "sev_snp": {"measurements": ["b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3"],
                  "product_lines": ["Milan"], "min_tcb": {"bootloader": 4, "tee": 0, "snp": 27, "microcode": 222},
                  "min_guest_svn": 0, "max_vmpl": 0}}'
    run gcp --json --policy "$W/policy.json" "$S/milan-v5-gcp-report.bin"
    assert_success
    assert_output --partial '"result": "admitted"'
    assert_output --partial '"check": "policy.sev_snp.min_tcb.microcode"'
}

@test "policy: every failed rule is listed" {
    policy '{"mimir_attest_policy": 1, "platforms": ["tdx"], "report_data": "ff", "nonce": "0102",
      "sev_snp": {"measurements": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"],
                  "product_lines": ["Genoa", "Turin"], "min_tcb": {"snp": 28, "microcode": 223, "fmc": 1},
                  "min_guest_svn": 1, "max_vmpl": 0}}'
    run gcp --json --policy "$W/policy.json" "$S/milan-v5-gcp-report.bin"
    assert_failure 1
    assert_output --partial '"result": "rejected"'
    for rule in policy.platforms policy.report_data policy.nonce policy.sev_snp.measurements \
                policy.sev_snp.product_lines policy.sev_snp.min_tcb.snp \
                policy.sev_snp.min_tcb.microcode policy.sev_snp.min_tcb.fmc \
                policy.sev_snp.min_guest_svn; do
        assert_output --partial "rejected: $rule:"
    done
    refute_output --partial 'rejected: policy.sev_snp.max_vmpl'
    refute_output --partial 'rejected: policy.debug'
}

@test "policy: TDX measurements, report_data binding, TCB and FMSPC" {
    policy '{"mimir_attest_policy": 1, "report_data": "48656c6c6f2066726f6d20456467656c6573732053797374656d7321",
      "tdx": {"mrtd": ["b65ea009e424e6f761fdd3d7c8962439453b37ecdf62da04f7bc5d327686bb8bafc8a5d24a9c31cee60e4aba87c2f71b"],
              "rtmr2": ["000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"],
              "min_tee_tcb_svn": "03000500000000000000000000000000", "fmspc": ["00806f050000"]}}'
    run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-edgeless-quote.dat"
    assert_success
    run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-gtg-spr-e4-quote-trailing.dat"
    assert_failure 1
    assert_output --partial 'rejected: policy.report_data'
    assert_output --partial 'rejected: policy.tdx.mrtd'
    assert_output --partial 'rejected: policy.tdx.rtmr2'
    assert_output --partial 'rejected: policy.tdx.fmspc'
}

@test "policy: malformed policies are exit 2 naming the key" {
    for p in '{"mimir_attest_policy": 2}' '{}' '[1]' '{"mimir_attest_policy": 1, "debug": false}' \
             '{"mimir_attest_policy": 1, "report_data": "xyz"}' \
             '{"mimir_attest_policy": 1, "sev_snp": {"measurements": ["00"]}}' \
             '{"mimir_attest_policy": 1, "sev_snp": {"min_tcb": {"bl": 1}}}' \
             '{"mimir_attest_policy": 1, "platforms": ["sgx"]}' \
             '{"mimir_attest_policy": 1, "allow_simulated": "yes"}' '{"mimir_attest_policy": 1,'; do
        policy "$p"
        run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-edgeless-quote.dat"
        [ "$status" -eq 2 ] || { echo "policy $p: exit $status"; echo "$output"; false; }
        assert_output --partial "policy.json"
    done
    policy '{"mimir_attest_policy": 1, "sev_snp": {"min_tcb": {"bl": 1}}}'
    run "$A" verify --at $AT --policy "$W/policy.json" "$Q/v4-edgeless-quote.dat"
    assert_output --partial 'sev_snp.min_tcb.bl: unknown TCB component'
}

# ---- certificates carrying evidence ----

@test "cert --simulate: bound, clearly simulated, rejected unless the policy allows it" {
    run "$A" cert --simulate --key-out "$W/k.pem" --cert-out "$W/c.pem" --nonce 0102 --cn party-1
    assert_success
    [ "$(stat -c %a "$W/k.pem")" = 600 ]
    run openssl x509 -in "$W/c.pem" -noout -text
    assert_output --partial '1.3.6.1.5.5.7.1.35'
    assert_output --partial 'application/vnd.mimir.simulated-evidence'
    run "$A" verify "$W/c.pem"
    assert_failure 1
    assert_output --partial 'rejected: simulated: simulated evidence proves nothing'
    assert_output --partial 'ok    cert_binding'
    policy '{"mimir_attest_policy": 1, "allow_simulated": true, "nonce": "0102"}'
    run "$A" verify --json --policy "$W/policy.json" "$W/c.pem"
    assert_success
    assert_output --partial '"result": "admitted"'
    assert_output --partial '"subject_cn": "party-1"'
    policy '{"mimir_attest_policy": 1, "allow_simulated": true, "nonce": "0103"}'
    run "$A" verify --policy "$W/policy.json" "$W/c.pem"
    assert_failure 1
    assert_output --partial 'rejected: policy.nonce'
    policy '{"mimir_attest_policy": 1, "allow_simulated": false}'
    run "$A" verify --policy "$W/policy.json" "$W/c.pem"
    assert_failure 1
    # a policy that pins a platform measurement is never met by simulated evidence
    policy '{"mimir_attest_policy": 1, "allow_simulated": true, "tdx": {"mrtd": ["'"$(printf '0%.0s' $(seq 96))"'"]}}'
    run "$A" verify --policy "$W/policy.json" "$W/c.pem"
    assert_failure 1
    assert_output --partial 'policy.tdx.mrtd'
    assert_output --partial 'simulated evidence has no tdx mrtd'
}

@test "cert: a flipped byte in the certificate is exit 1; bad usage exit 2; --tsm needs a CVM" {
    "$A" cert --simulate --key-out "$W/k.pem" --cert-out "$W/c.pem"
    policy '{"mimir_attest_policy": 1, "allow_simulated": true}'
    for off in 40 100 300 500 700 850; do
        cp "$W/c.pem" "$W/x.pem"
        flip "$W/x.pem" $off
        run "$A" verify --policy "$W/policy.json" "$W/x.pem"
        [ "$status" -eq 1 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
    done
    run "$A" cert --key-out "$W/k.pem" --cert-out "$W/c.pem"
    assert_failure 2
    run "$A" cert --simulate --nonce 0g --key-out "$W/k.pem" --cert-out "$W/c.pem"
    assert_failure 2
    if [ ! -d /sys/kernel/config/tsm/report ]; then
        run "$A" cert --tsm --key-out "$W/k2.pem" --cert-out "$W/c2.pem"
        assert_failure 3
        assert_output --partial 'configfs-tsm'
        [ ! -e "$W/k2.pem" ]
    fi
}

# ---- sealed share bundles and the key broker ----

# start_broker POLICY ADDR: a --once broker in the background, logging to $W/broker.log;
# waits (at most 5 s) until it listens and sets BADDR and BPIN from its first log line.
start_broker() {
    : > "$W/broker.log"
    rm -f "$W/broker.rc"
    { local rc=0
      timeout 15 "$A" broker --policy "$1" --cert "$W/bc.pem" --key "$W/bk.pem" --listen "$2" \
          --release "$W/k.hex" --once 2> "$W/broker.log" || rc=$?
      echo $rc > "$W/broker.rc"; } &
    BPID=$!
    for _ in $(seq 50); do grep -q 'listening on' "$W/broker.log" && break; sleep 0.1; done
    BADDR=$(sed -n 's/.* listening on \([^ ]*\) pin .*/\1/p' "$W/broker.log")
    BPIN=$(sed -n 's/.* pin \([0-9a-f]*\)$/\1/p' "$W/broker.log")
    [ -n "$BADDR" ] || { cat "$W/broker.log"; false; }
}

# broker_rc: waits for the --once broker and prints its exit code.
broker_rc() {
    for _ in $(seq 100); do [ -s "$W/broker.rc" ] && break; sleep 0.1; done
    cat "$W/broker.rc"
}

seal_setup() {
    head -c 300000 /dev/urandom > "$W/model.shares"
    "$A" seal --key-out "$W/k.hex" --chunk 4096 "$W/model.shares" -o "$W/model.sealed"
    "$A" cert --simulate --cn party-1 --key-out "$W/ck.pem" --cert-out "$W/cc.pem"
    "$A" cert --simulate --cn broker --key-out "$W/bk.pem" --cert-out "$W/bc.pem"
}

@test "seal: round trip byte-exact, key 0600, plaintext 0600, header self-describing" {
    seal_setup
    [ "$(stat -c %a "$W/k.hex")" = 600 ]
    [ "$(head -c 8 "$W/model.sealed")" = MIMIRSEA ]
    [ "$(stat -c %s "$W/model.sealed")" -eq $((300000 + 40 + 74 * 17)) ]
    run "$A" unseal --key "$W/k.hex" "$W/model.sealed" -o "$W/back"
    assert_success
    cmp "$W/model.shares" "$W/back"
    [ "$(stat -c %a "$W/back")" = 600 ]
    # the same key again, given: another nonce, so another file; still opens
    run "$A" seal --key "$W/k.hex" "$W/model.shares" -o "$W/again.sealed"
    assert_success
    run cmp -s "$W/model.sealed" "$W/again.sealed"
    assert_failure
    "$A" unseal --key "$W/k.hex" "$W/again.sealed" -o - | cmp - "$W/model.shares"
}

@test "unseal: flipped byte, truncation, trailing byte, wrong key are exit 1 and leave no output" {
    seal_setup
    for off in 16 40 41 5000 150000 $((300000 + 40 + 74 * 17 - 1)); do
        cp "$W/model.sealed" "$W/x"
        flip "$W/x" $off
        run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
        [ "$status" -eq 1 ] || { echo "offset $off: exit $status"; echo "$output"; false; }
        assert_output --partial 'authentication failed'
        [ ! -e "$W/out" ]
    done
    for len in 100 4153 $((40 + 73 * 4113)) $((300000 + 40 + 74 * 17 - 1)); do
        head -c $len "$W/model.sealed" > "$W/x"
        run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
        [ "$status" -eq 1 ] || { echo "length $len: exit $status"; echo "$output"; false; }
        [ ! -e "$W/out" ]
    done
    head -c $((40 + 73 * 4113)) "$W/model.sealed" > "$W/x"
    run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
    assert_output --partial 'truncated: chunk 73 is missing'
    { cat "$W/model.sealed"; printf x; } > "$W/x"
    run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
    assert_failure 1
    "$A" seal --key-out "$W/k2.hex" "$W/model.shares" -o /dev/null
    run "$A" unseal --key "$W/k2.hex" "$W/model.sealed" -o "$W/out"
    assert_failure 1
    assert_output --partial 'chunk 0'
    [ ! -e "$W/out" ]
}

@test "seal/unseal: malformed files and bad usage are exit 2" {
    seal_setup
    head -c 30 "$W/model.sealed" > "$W/x"
    run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
    assert_failure 2
    assert_output --partial 'header: file has 30 bytes'
    run "$A" unseal --key "$W/k.hex" "$W/model.shares" -o "$W/out"
    assert_failure 2
    assert_output --partial 'magic: not a sealed file'
    cp "$W/model.sealed" "$W/x"
    flip "$W/x" 8
    run "$A" unseal --key "$W/k.hex" "$W/x" -o "$W/out"
    assert_failure 2
    assert_output --partial 'version: unsupported version 0, expected 1'
    printf 'abcd\n' > "$W/bad.hex"
    run "$A" unseal --key "$W/bad.hex" "$W/model.sealed" -o "$W/out"
    assert_failure 2
    assert_output --partial 'expected 64 hex digits'
    run "$A" seal "$W/model.shares" -o "$W/y"
    assert_failure 2
    run "$A" seal --key-out "$W/k3.hex" --chunk 3 "$W/model.shares" -o "$W/y"
    assert_failure 2
    run "$A" seal --key-out "$W/k3.hex" "$W/missing" -o "$W/y"
    assert_failure 2
    [ ! -e "$W/k3.hex" ]
    [ ! -e "$W/y" ]
    cp "$W/k.hex" "$W/k.copy"
    run "$A" seal --key-out "$W/k.hex" "$W/model.shares" -o "$W/y"
    assert_failure 2
    assert_output --partial 'k.hex: --key-out: file exists'
    cmp "$W/k.hex" "$W/k.copy"
    [ ! -e "$W/y" ]
    run "$A" unseal "$W/model.sealed" -o "$W/out"
    assert_failure 2
    [ ! -e "$W/out" ]
}

@test "broker: releases the key to a simulated-evidence cert only when the policy allows it" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": true}'
    start_broker "$W/policy.json" "unix:$W/b.sock"
    run timeout 10 "$A" fetch --broker "$BADDR" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$BPIN" -o "$W/got.hex"
    assert_success
    run broker_rc
    assert_output 0
    cmp "$W/got.hex" "$W/k.hex"
    [ "$(stat -c %a "$W/got.hex")" = 600 ]
    run grep -c 'party-1: admitted, key released' "$W/broker.log"
    assert_output 1
    run grep -c "$(cat "$W/k.hex")" "$W/broker.log"
    assert_output 0
    "$A" unseal --key "$W/got.hex" "$W/model.sealed" -o "$W/back"
    cmp "$W/model.shares" "$W/back"
}

@test "broker: refuses (exit 1, failed rules listed, logged, no key) when simulation is not allowed" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": false, "nonce": "0102"}'
    start_broker "$W/policy.json" tcp:127.0.0.1:0
    [[ "$BADDR" == tcp:127.0.0.1:* ]]
    run timeout 10 "$A" fetch --broker "$BADDR" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$BPIN" -o "$W/got.hex"
    assert_failure 1
    assert_output --partial 'broker refused the key: simulated: simulated evidence proves nothing'
    assert_output --partial 'policy.nonce'
    [ ! -e "$W/got.hex" ]
    run broker_rc
    assert_output 1
    run cat "$W/broker.log"
    assert_output --partial 'party-1: refused: simulated'
    assert_output --partial 'policy.nonce'
    refute_output --partial "$(cat "$W/k.hex")"
}

# failed_names FILE: the "failed" array of `verify --json` output in FILE, one name a line.
failed_names() {
    python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["failed"]))' "$1"
}

@test "one name per rule: verify --json's failed array, the broker's refusal and its log agree" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": false, "nonce": "0102", "tdx": {"mrtd": ["'"$(printf '0%.0s' $(seq 96))"'"]}}'
    local rc=0
    "$A" verify --json --policy "$W/policy.json" "$W/cc.pem" > "$W/v.json" 2> /dev/null || rc=$?
    [ "$rc" -eq 1 ]
    run failed_names "$W/v.json"
    assert_output "$(printf 'simulated\npolicy.tdx.mrtd\npolicy.nonce')"
    start_broker "$W/policy.json" "unix:$W/b.sock"
    run timeout 10 "$A" fetch --broker "$BADDR" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$BPIN" -o "$W/got.hex"
    assert_failure 1
    local told="$output"
    run broker_rc
    assert_output 1
    for name in $(failed_names "$W/v.json"); do
        grep -q "broker refused the key: \(.*; \)\?$name: " <<< "$told" ||
            { echo "client: no $name: $told"; false; }
        grep -q "party-1: refused: \(.*; \)\?$name: " "$W/broker.log" ||
            { echo "log: no $name"; cat "$W/broker.log"; false; }
    done
}

@test "fetch: a wrong broker pin is refused (exit 1); bad pin or address is exit 2" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": true}'
    start_broker "$W/policy.json" "unix:$W/b.sock"
    run timeout 10 "$A" fetch --broker "$BADDR" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$(printf '%064d' 0)" -o "$W/got.hex"
    assert_failure 1
    assert_output --partial "broker certificate SHA-256 is $BPIN, expected the pinned one"
    [ ! -e "$W/got.hex" ]
    run broker_rc
    assert_output 1
    run cat "$W/broker.log"
    assert_output --partial 'TLS handshake failed'
    run "$A" fetch --broker "unix:$W/b.sock" --cert "$W/cc.pem" --key "$W/ck.pem" --pin 12
    assert_failure 2
    run "$A" fetch --broker "udp:1.2.3.4:5" --cert "$W/cc.pem" --key "$W/ck.pem" --pin "$BPIN"
    assert_failure 2
    run "$A" fetch --broker "unix:$W/none.sock" --cert "$W/cc.pem" --key "$W/ck.pem" --pin "$BPIN"
    assert_failure 3
}

@test "unseal --key-from-broker: fetch and decrypt in one step; a plain certificate is refused" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": true}'
    start_broker "$W/policy.json" "unix:$W/b.sock"
    run timeout 10 "$A" unseal --key-from-broker "$BADDR" --cert "$W/cc.pem" --key-pem "$W/ck.pem" \
        --pin "$BPIN" "$W/model.sealed" -o "$W/back"
    assert_success
    cmp "$W/model.shares" "$W/back"
    run broker_rc
    assert_output 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/pk.pem" \
        -out "$W/pc.pem" -subj /CN=plain -days 2 2> /dev/null
    start_broker "$W/policy.json" "unix:$W/b.sock"
    run timeout 10 "$A" fetch --broker "$BADDR" --cert "$W/pc.pem" --key "$W/pk.pem" --pin "$BPIN"
    assert_failure 1
    assert_output --partial 'broker refused the key: evidence:'
    run broker_rc
    assert_output 1
}

@test "broker: without --once it keeps serving after a failed handshake and a wrong pin" {
    seal_setup
    policy '{"mimir_attest_policy": 1, "allow_simulated": true}'
    timeout 15 "$A" broker --policy "$W/policy.json" --cert "$W/bc.pem" --key "$W/bk.pem" \
        --listen "unix:$W/b.sock" --release "$W/k.hex" 2> "$W/broker.log" &
    BPID=$!
    for _ in $(seq 50); do grep -q 'listening on' "$W/broker.log" && break; sleep 0.1; done
    BPIN=$(sed -n 's/.* pin \([0-9a-f]*\)$/\1/p' "$W/broker.log")
    # a client without a certificate
    run timeout 5 openssl s_client -quiet -unix "$W/b.sock" < /dev/null
    run timeout 10 "$A" fetch --broker "unix:$W/b.sock" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$(printf '%064d' 1)"
    assert_failure 1
    run timeout 10 "$A" fetch --broker "unix:$W/b.sock" --cert "$W/cc.pem" --key "$W/ck.pem" \
        --pin "$BPIN" -o "$W/got.hex"
    assert_success
    cmp "$W/got.hex" "$W/k.hex"
    kill $BPID
    wait $BPID || true
    run cat "$W/broker.log"
    assert_output --partial 'TLS handshake failed'
    assert_output --partial 'party-1: admitted, key released'
}
