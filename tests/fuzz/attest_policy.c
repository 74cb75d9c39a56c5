/* libFuzzer target: the JSON policy parser, and applying a parsed policy to a fixed result. */
#include <stdint.h>

#include "attest/attest.h"
#include "attest/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mimir_attest_policy *p = NULL;
    mimir_err err;
    if (mimir_policy_parse(data, size, "fuzz", &p, &err) != MIMIR_OK)
        return 0;
    mimir_attest_result res;
    if (mimir_attest_result_init(&res, &err) == MIMIR_OK) {
        res.kind = MIMIR_EVIDENCE_TDX;
        json_object_set_new(res.fields, "kind", json_string("tdx"));
        json_object_set_new(res.fields, "debug", json_true());
        json_object_set_new(res.fields, "report_data", json_string("00"));
        json_object_set_new(res.fields, "tee_tcb_svn", json_string("0102"));
        mimir_policy_apply(p, &res);
        mimir_attest_result_free(&res);
    }
    mimir_policy_free(p);
    return 0;
}
