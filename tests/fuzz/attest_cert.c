/* libFuzzer target: a certificate carrying evidence (attest/cert.h), as a peer presents it at the
 * TLS handshake (attest/admit.h) and a client presents it to the key broker (attest/broker.h):
 * PEM or DER decoding, the id-pe-cmw extension's JSON CMW record, base64url, the evidence
 * inside, the binding, then a policy that allows simulated evidence. Invariants: a verification
 * that returns MIMIR_OK has as many failed checks as it counts; anything else is malformed
 * evidence (MIMIR_EINPUT), a certificate that cannot be authenticated (MIMIR_ESECURITY: bad DER,
 * no evidence extension) or out of memory, always with a message. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>
#include <openssl/err.h>

#include "attest/attest.h"
#include "attest/policy.h"

static mimir_attest_policy *pol;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mimir_err err;
    if (pol == NULL) {
        static const char p[] = "{\"mimir_attest_policy\": 1, \"allow_simulated\": true}";
        if (mimir_policy_parse((const uint8_t *)p, sizeof p - 1, "policy", &pol, &err) != 0)
            abort();
    }
    mimir_attest_result res;
    if (mimir_attest_result_init(&res, &err) != MIMIR_OK)
        return 0;
    mimir_attest_opts o = {1780272000, NULL, NULL};
    int rc = mimir_attest_verify(data, size, "fuzz", &o, &res, &err);
    if (rc == MIMIR_OK) {
        mimir_policy_apply(pol, &res);
        size_t i, bad = 0;
        json_t *c;
        json_array_foreach(res.checks, i, c) bad += !json_is_true(json_object_get(c, "ok"));
        if (bad != res.failed)
            abort(); /* the count the broker and the admission hook rely on */
    } else if (rc != MIMIR_EINPUT && rc != MIMIR_ESECURITY && rc != MIMIR_ERUNTIME) {
        abort();
    } else if (err.msg[0] == '\0') {
        abort();
    }
    mimir_attest_result_free(&res);
    /* OpenSSL keeps the last error's data until the next error: free it now, or every input
     * looks like a leak to libFuzzer (mallocs != frees) and pays for a full LSan scan */
    ERR_clear_error();
    return 0;
}
