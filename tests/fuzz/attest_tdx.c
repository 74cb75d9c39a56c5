/* libFuzzer target: TDX quote parsing and verification, including the PEM/DER decoding of the
 * PCK chain carried in the quote (tests/fuzz/attest_run.sh builds it). */
#include <stdint.h>

#include "attest/attest.h"
#include "attest/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mimir_tdx_quote q;
    mimir_err err;
    mimir_tdx_parse(data, size, "fuzz", &q, &err);
    mimir_attest_result res;
    if (mimir_attest_result_init(&res, &err) != MIMIR_OK)
        return 0;
    mimir_attest_opts o = {1780272000, NULL, NULL};
    mimir_attest_verify(data, size, "fuzz", &o, &res, &err);
    mimir_attest_result_free(&res);
    return 0;
}
