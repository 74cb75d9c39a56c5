/* test_attest_snp — SEV-SNP report parsing, TCB layouts, the pinned ARKs, chain checks. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest/attest.h"
#include "attest/pins.h"
#include "attest/snp.h"
#include "attest/x509.h"
#include "io.h"
#include "tap.h"

#define DATA "../shared/testdata/attestation/snp/"

static uint8_t *load(const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    mimir_err err = {0};
    if (mimir_read_file(path, 1 << 20, &buf, len, &err) != MIMIR_OK) {
        printf("# cannot read %s: %s\n", path, err.msg);
        return NULL;
    }
    return buf;
}

static int hexeq(const uint8_t *p, const char *hex)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || p[i] != v)
            return 0;
    }
    return 1;
}

static void test_parse(void)
{
    size_t n;
    uint8_t *b = load(DATA "milan-v2-gsg-report.bin", &n);
    mimir_snp_report r;
    mimir_err err = {0};
    CHECK(b && mimir_snp_parse(b, n, "gsg", &r, &err) == MIMIR_OK, "v2 report parses");
    CHECK(r.version == 2 && r.vmpl == 0 && r.guest_svn == 0, "v2: version 2, vmpl 0, guest_svn 0");
    CHECK(r.policy == 0xb0000 && (r.policy & MIMIR_SNP_POLICY_DEBUG), "v2: policy 0xb0000, DEBUG");
    CHECK(hexeq(r.measurement, "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b"
                               "6bdf8a9ece31a5a608eb0cf2e4872b01"), "v2: measurement");
    CHECK(hexeq(r.report_data, "0102030405") && r.report_data[5] == 0 && r.report_data[63] == 0,
          "v2: report_data 0102030405 then zeros");
    CHECK(r.platform_info == 1 && r.current_major == 1 && r.current_minor == 49 &&
          r.current_build == 3, "v2: platform_info 1, firmware 1.49 build 3");
    CHECK(hexeq(r.chip_id, "3ac3fe21") && hexeq(r.chip_id + 60, "8b006b5d"), "v2: chip_id");
    mimir_snp_tcb t = mimir_snp_tcb_decode(r.reported_tcb, MIMIR_SNP_MILAN);
    CHECK(t.bootloader == 2 && t.tee == 0 && t.snp == 5 && t.microcode == 68 && t.fmc == -1,
          "v2: reported_tcb bl 2 tee 0 snp 5 ucode 68");
    CHECK(mimir_snp_signing_key(&r) == MIMIR_SNP_KEY_VCEK, "v2: signed by the VCEK");
    CHECK(mimir_snp_product_from_cpuid(&r) == MIMIR_SNP_UNKNOWN, "v2: no CPUID");

    /* unknown versions and sizes */
    uint8_t c[MIMIR_SNP_REPORT_BYTES];
    memcpy(c, b, sizeof c);
    static const uint32_t bad[] = {0, 1, 6, 0x80};
    for (size_t i = 0; i < 4; i++) {
        c[0] = (uint8_t)bad[i];
        CHECK(mimir_snp_parse(c, sizeof c, "x", &r, &err) == MIMIR_EINPUT &&
              strstr(err.msg, "unsupported SEV-SNP report version"), "version %u rejected: %s",
              bad[i], err.msg);
    }
    CHECK(mimir_snp_parse(b, n - 1, "x", &r, &err) == MIMIR_EINPUT, "1183 bytes rejected");
    free(b);

    b = load(DATA "milan-v5-gcp-report.bin", &n);
    CHECK(b && mimir_snp_parse(b, n, "gcp", &r, &err) == MIMIR_OK, "v5 report parses");
    CHECK(r.version == 5 && r.platform_info == 0x25 && r.current_minor == 55 &&
          r.current_build == 35, "v5: platform_info 0x25, firmware 1.55 build 35");
    CHECK(r.cpuid_fam_id == 0x19 && r.cpuid_mod_id == 0x01 && r.cpuid_step == 1 &&
          mimir_snp_product_from_cpuid(&r) == MIMIR_SNP_MILAN, "v5: CPUID 19/01/01 = Milan");
    CHECK(!(r.policy & MIMIR_SNP_POLICY_DEBUG), "v5: not debug");
    CHECK(r.launch_mit_vector != 0 || r.current_mit_vector != 0, "v5: mitigation vectors read");
    free(b);

    b = load(DATA "milan-v3-vlek-report.bin", &n);
    CHECK(b && mimir_snp_parse(b, n, "vlek", &r, &err) == MIMIR_OK, "v3 report parses");
    CHECK(r.version == 3 && r.vmpl == 1 && r.signer_info == 4 &&
          mimir_snp_signing_key(&r) == MIMIR_SNP_KEY_VLEK, "v3: vmpl 1, signed by the VLEK");
    CHECK(hexeq(r.reported_tcb, "04000000000018d9") && hexeq(r.current_tcb, "04000000000018dc"),
          "v3: reported_tcb ...18d9, current_tcb ...18dc");
    int zero = 1;
    for (int i = 0; i < 64; i++)
        zero &= r.chip_id[i] == 0;
    CHECK(zero, "v3 VLEK: chip_id zero");
    free(b);
}

static void test_turin_tcb(void)
{
    const uint8_t raw[8] = {3, 4, 5, 6, 0, 0, 0, 7};
    mimir_snp_tcb t = mimir_snp_tcb_decode(raw, MIMIR_SNP_TURIN);
    CHECK(t.fmc == 3 && t.bootloader == 4 && t.tee == 5 && t.snp == 6 && t.microcode == 7,
          "Turin TCB layout: fmc, bl, tee, snp, ..., ucode");
    t = mimir_snp_tcb_decode(raw, MIMIR_SNP_GENOA);
    CHECK(t.fmc == -1 && t.bootloader == 3 && t.tee == 4 && t.snp == 0 && t.microcode == 7,
          "Genoa TCB layout: bl, tee, ..., snp, ucode");
}

static void test_pins(void)
{
    CHECK(mimir_attest_npins == 4, "four pinned roots");
    for (size_t i = 0; i < mimir_attest_npins; i++) {
        uint8_t h[32];
        unsigned hl = 32;
        char hex[65];
        EVP_Digest(mimir_attest_pins[i].der, mimir_attest_pins[i].len, h, &hl, EVP_sha256(),
                   NULL);
        for (int j = 0; j < 32; j++)
            snprintf(hex + 2 * j, 3, "%02X", h[j]);
        CHECK(strcmp(hex, mimir_attest_pins[i].sha256) == 0, "pin %s has SHA-256 %s",
              mimir_attest_pins[i].name, mimir_attest_pins[i].sha256);
    }
}

/* Verifies leaf file against chain file; returns the rc and the pinned product. */
static int chain(const char *leaf, const char *bundle, time_t at, const char **product)
{
    size_t n1, n2;
    uint8_t *b1 = load(leaf, &n1), *b2 = load(bundle, &n2);
    STACK_OF(X509) *certs = sk_X509_new_null();
    mimir_err err = {0};
    int rc = -1, pin = -1;
    if (b1 && b2 && mimir_x509_load(b1, n1, leaf, certs, &err) == MIMIR_OK &&
        mimir_x509_load(b2, n2, bundle, certs, &err) == MIMIR_OK)
        rc = mimir_x509_verify_chain(sk_X509_value(certs, 0), certs, MIMIR_PIN_AMD, NULL, at,
                                     MIMIR_CHAIN_AMD_LEAF, &pin, &err);
    *product = pin >= 0 ? mimir_attest_pins[pin].product : "none";
    if (rc != MIMIR_OK)
        printf("# %s\n", err.msg);
    sk_X509_pop_free(certs, X509_free);
    free(b1);
    free(b2);
    return rc;
}

static void test_chains(void)
{
    time_t at;
    CHECK(mimir_attest_parse_time("2026-06-01T00:00:00Z", &at) == 0 && at == 1780272000,
          "RFC 3339 time parses");
    const char *p;
    CHECK(chain(DATA "turin-vcek-chainonly.der", DATA "certs/ask_ark_turin.pem", at, &p) == 0 &&
          strcmp(p, "Turin") == 0, "Turin VCEK chains to the pinned ARK-Turin");
    CHECK(chain(DATA "turin-vcek-chainonly.der", DATA "certs/ask_ark_milan.pem", at, &p) ==
          MIMIR_ESECURITY, "Turin VCEK does not chain to Milan");
    CHECK(chain(DATA "milan-v2-gsg-vcek.der", DATA "certs/ask_ark_milan.pem", at, &p) == 0 &&
          strcmp(p, "Milan") == 0, "Milan VCEK chains to ARK-Milan");
    CHECK(chain(DATA "milan-v2-gsg-vcek.der", DATA "certs/ask_ark_genoa.pem", at, &p) ==
          MIMIR_ESECURITY, "Milan VCEK does not chain to Genoa");
    CHECK(chain(DATA "INVALID-milan-vcek-hwid-edited.der", DATA "certs/ask_ark_milan.pem", at,
                &p) == MIMIR_ESECURITY, "hwID-edited VCEK fails");
    time_t vlek_ok, vlek_late;
    mimir_attest_parse_time("2025-06-01T00:00:00Z", &vlek_ok);
    mimir_attest_parse_time("2025-12-11T00:00:00Z", &vlek_late);
    CHECK(chain(DATA "milan-v3-vlek-vlek.der", DATA "certs/asvk_ark_milan_vlek.pem", vlek_ok,
                &p) == 0, "VLEK chains to ARK-Milan through the ASVK in 2025-06");
    CHECK(chain(DATA "milan-v3-vlek-vlek.der", DATA "certs/asvk_ark_milan_vlek.pem", vlek_late,
                &p) == MIMIR_ESECURITY, "VLEK expired after 2025-12-10");
    CHECK(chain(DATA "milan-v2-gsg-vcek.der", DATA "certs/asvk_ark_milan_vlek.pem", at, &p) ==
          MIMIR_ESECURITY, "VCEK does not chain through the ASVK");
}

static void test_times(void)
{
    time_t t;
    CHECK(mimir_attest_parse_time("2026-06-01T02:30:00.5+02:30", &t) == 0 && t == 1780272000,
          "offset and fraction");
    static const char *const bad[] = {"2026-06-01", "2026-06-01T00:00:00", "2026-02-30T00:00:00Z",
                                      "2026-13-01T00:00:00Z", "2026-06-01T00:00:00Zx", "", "now"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(mimir_attest_parse_time(bad[i], &t) == -1, "'%s' refused", bad[i]);
}

int main(void)
{
    test_parse();
    test_turin_tcb();
    test_pins();
    test_chains();
    test_times();
    return tap_done();
}
