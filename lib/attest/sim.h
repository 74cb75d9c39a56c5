/*
 * attest/sim.h — Mimir's simulated evidence, for machines without SEV-SNP or TDX.
 *
 * Simulated evidence is clearly marked (it starts with MIMIR_SIM_MAGIC) and carries only a
 * report_data field. It proves nothing: every verification records the failed check
 * "simulated", and only a policy with "allow_simulated": true turns that check into a pass.
 *
 * Layout (MIMIR_SIM_BYTES): magic (32 bytes, NUL-padded ASCII), u32 version (1, LE),
 * 28 zero bytes, report_data (64 bytes).
 */
#ifndef MIMIR_ATTEST_SIM_H
#define MIMIR_ATTEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "err.h"

#define MIMIR_SIM_MAGIC "MIMIR-SIMULATED-EVIDENCE-NOT-HW"
#define MIMIR_SIM_MAGIC_BYTES 32
#define MIMIR_SIM_VERSION 1
#define MIMIR_SIM_BYTES 128
#define MIMIR_SIM_REPORT_DATA_OFFSET 64

/* Writes simulated evidence carrying report_data into out. */
void mimir_sim_make(const uint8_t report_data[64], uint8_t out[MIMIR_SIM_BYTES]);

int mimir_sim_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err);

#endif
