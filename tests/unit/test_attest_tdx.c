/* test_attest_tdx — TDX quote parsing (v4, v5, trailing bytes, every truncation), verification
 * results, and the policy engine on a verified quote. */
#include <stdlib.h>
#include <string.h>

#include "attest/attest.h"
#include "attest/policy.h"
#include "attest/tdx.h"
#include "io.h"
#include "tap.h"

#define DATA "../shared/testdata/attestation/tdx/"
#define AT 1780272000 /* 2026-06-01T00:00:00Z */

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
    mimir_tdx_quote q;
    mimir_err err = {0};
    uint8_t *b = load(DATA "v4-edgeless-quote.dat", &n);
    CHECK(b && mimir_tdx_parse(b, n, "edgeless", &q, &err) == MIMIR_OK, "edgeless v4 parses");
    CHECK(q.version == 4 && q.tee_type == 0x81 && q.att_key_type == 2 && q.body_type == 2,
          "v4 header: version 4, TDX, ECDSA P-256");
    CHECK(q.signed_len == 632 && q.quote_len == 4936 && q.trailing == 0,
          "v4: signed 0..631, exact length");
    CHECK(hexeq(q.mrtd, "b65ea009e424e6f761fdd3d7c8962439453b37ecdf62da04f7bc5d327686bb8b"
                        "afc8a5d24a9c31cee60e4aba87c2f71b"), "v4: MRTD");
    CHECK(hexeq(q.rtmr[0], "e1af75e6") && hexeq(q.rtmr[1], "215ff1fc") && q.rtmr[2][0] == 0,
          "v4: RTMR0, RTMR1, RTMR2");
    CHECK(memcmp(q.report_data, "Hello from Edgeless Systems!", 28) == 0 && q.report_data[28] == 0,
          "v4: report_data");
    CHECK(q.td_attributes == 0x10000000 && q.xfam == 0x602e7, "v4: td_attributes, xfam");
    CHECK(hexeq(q.tee_tcb_svn, "03000500"), "v4: tee_tcb_svn");
    CHECK(q.qe_auth_len == 32 && q.pck_chain_len == 3678, "v4: QE auth 32 bytes, PCK chain");

    /* every truncation is malformed */
    int all = 1;
    for (size_t len = 0; len < n; len++)
        all &= mimir_tdx_parse(b, len, "t", &q, &err) == MIMIR_EINPUT;
    CHECK(all, "every truncation of the v4 quote is MIMIR_EINPUT");
    free(b);

    b = load(DATA "v4-gtg-spr-e4-quote-trailing.dat", &n);
    CHECK(b && mimir_tdx_parse(b, n, "gtg", &q, &err) == MIMIR_OK, "trailing-bytes quote parses");
    CHECK(q.quote_len == 4935 && q.trailing == 39, "39 trailing bytes counted");
    CHECK(hexeq(q.report_data, "6c62dec1b8191749"), "gtg: report_data");
    free(b);

    b = load(DATA "v5-gtg-quote.dat", &n);
    CHECK(b && mimir_tdx_parse(b, n, "v5", &q, &err) == MIMIR_OK, "v5 parses");
    CHECK(q.version == 5 && q.body_type == 3 && q.body_size == 648 && q.signed_len == 702,
          "v5: TD report 1.5, signed 0..701");
    CHECK(hexeq(q.mrtd, "7348651a34b2d2d3") && hexeq(q.tee_tcb_svn, "0b0104") &&
          hexeq(q.tee_tcb_svn2, "0d0104"), "v5: MRTD, tee_tcb_svn, tee_tcb_svn2");
    all = 1;
    for (size_t len = 0; len < n; len++)
        all &= mimir_tdx_parse(b, len, "t", &q, &err) == MIMIR_EINPUT;
    CHECK(all, "every truncation of the v5 quote is MIMIR_EINPUT");
    free(b);

    b = load(DATA "NOT-TDX-sgx-v3-phala-quote.dat", &n);
    CHECK(b && mimir_tdx_parse(b, n, "sgx", &q, &err) == MIMIR_EINPUT &&
          strstr(err.msg, "SGX"), "an SGX quote is unsupported: %s", err.msg);
    free(b);
}

static int verify(const char *file, const char *policy, mimir_attest_result *res)
{
    size_t n;
    uint8_t *b = load(file, &n);
    mimir_err err = {0};
    mimir_attest_opts o = {AT, NULL, NULL};
    int rc = b ? mimir_attest_result_init(res, &err) : -1;
    if (rc == MIMIR_OK)
        rc = mimir_attest_verify(b, n, file, &o, res, &err);
    if (rc == MIMIR_OK && policy != NULL) {
        mimir_attest_policy *p = NULL;
        rc = mimir_policy_parse((const uint8_t *)policy, strlen(policy), "p", &p, &err);
        if (rc == MIMIR_OK)
            mimir_policy_apply(p, res);
        mimir_policy_free(p);
    }
    free(b);
    return rc;
}

static int failed(mimir_attest_result *res, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(res->checks, i, c)
        if (strcmp(json_string_value(json_object_get(c, "check")), name) == 0)
            return !json_is_true(json_object_get(c, "ok"));
    return -1;
}

static void test_verify(void)
{
    static const char *const good[] = {"v4-edgeless-quote.dat", "v4-gtg-spr-e4-quote-trailing.dat",
                                       "v4-trustee-debugtd-quote.dat", "v5-gtg-quote.dat"};
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", good[i]);
        mimir_attest_result res;
        CHECK(verify(path, NULL, &res) == MIMIR_OK && res.failed == 0 &&
              json_array_size(res.checks) == 5, "%s verifies (5 checks)", good[i]);
        mimir_attest_result_free(&res);
    }
    mimir_attest_result res;
    const char *pol = "{\"mimir_attest_policy\": 1}";
    CHECK(verify(DATA "v4-trustee-debugtd-quote.dat", pol, &res) == MIMIR_OK && res.failed == 1 &&
          failed(&res, "policy.debug") == 1, "debug TD rejected by the default policy");
    mimir_attest_result_free(&res);
    pol = "{\"mimir_attest_policy\": 1, \"allow_debug\": true}";
    CHECK(verify(DATA "v4-trustee-debugtd-quote.dat", pol, &res) == MIMIR_OK && res.failed == 0,
          "debug TD admitted with allow_debug");
    mimir_attest_result_free(&res);
    pol = "{\"mimir_attest_policy\": 1, \"tdx\": {\"min_tee_tcb_svn\": "
          "\"04000400000000000000000000000000\", \"mrtd\": [\"7348651a34b2d2d3462822e3a750ec611012"
          "5f36757c78480bbfc69cc0d21fb001a1ced3ee19747dda8f750c3bc8f876\"]}}";
    CHECK(verify(DATA "v4-edgeless-quote.dat", pol, &res) == MIMIR_OK && res.failed == 2 &&
          failed(&res, "policy.tdx.min_tee_tcb_svn") == 1 && failed(&res, "policy.tdx.mrtd") == 1,
          "TCB below minimum and unknown MRTD both listed");
    mimir_attest_result_free(&res);
    CHECK(verify(DATA "v5-gtg-quote.dat", pol, &res) == MIMIR_OK && res.failed == 0,
          "v5 quote meets that policy");
    mimir_attest_result_free(&res);
}

int main(void)
{
    test_parse();
    test_verify();
    return tap_done();
}
