#include "attest/sim.h"

#include <string.h>

void mimir_sim_make(const uint8_t report_data[64], uint8_t out[MIMIR_SIM_BYTES])
{
    memset(out, 0, MIMIR_SIM_BYTES);
    memcpy(out, MIMIR_SIM_MAGIC, sizeof MIMIR_SIM_MAGIC);
    out[MIMIR_SIM_MAGIC_BYTES] = MIMIR_SIM_VERSION;
    memcpy(out + MIMIR_SIM_REPORT_DATA_OFFSET, report_data, 64);
}

int mimir_sim_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err)
{
    (void)opts;
    if (len != MIMIR_SIM_BYTES)
        return mimir_err_set(err, MIMIR_EINPUT, name, "size",
                             "simulated evidence of %zu bytes, expected %d", len,
                             MIMIR_SIM_BYTES);
    for (size_t i = sizeof MIMIR_SIM_MAGIC; i < MIMIR_SIM_REPORT_DATA_OFFSET; i++)
        if (i != MIMIR_SIM_MAGIC_BYTES && buf[i] != 0)
            return mimir_err_set(err, MIMIR_EINPUT, name, "reserved",
                                 "byte %zu is 0x%02x, expected 0", i, buf[i]);
    if (buf[MIMIR_SIM_MAGIC_BYTES] != MIMIR_SIM_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, name, "version",
                             "simulated evidence version %u, expected %d",
                             buf[MIMIR_SIM_MAGIC_BYTES], MIMIR_SIM_VERSION);
    res->kind = MIMIR_EVIDENCE_SIMULATED;
    mimir_attest_check(res, "simulated", 0,
                       "simulated evidence proves nothing; rejected unless the policy sets "
                       "allow_simulated");
    json_decref(res->fields);
    res->fields = json_object();
    json_object_set_new(res->fields, "kind", json_string("simulated"));
    json_object_set_new(res->fields, "debug", json_false());
    json_object_set_new(res->fields, "report_data",
                        mimir_attest_hex(buf + MIMIR_SIM_REPORT_DATA_OFFSET, 64));
    return MIMIR_OK;
}
