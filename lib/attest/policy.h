/*
 * attest/policy.h — the JSON admission policy applied to verified evidence.
 *
 * A policy is a JSON object (schema in docs/attestation.md) with a version key
 * "mimir_attest_policy": 1, platform-independent rules (allowed platforms, debug, report_data,
 * nonce, allow_simulated) and one optional section per platform ("sev_snp", "tdx") with allowed
 * measurements, minimum TCB and product lines. Parsing is strict: an unknown key, a wrong type or
 * a malformed hex string is MIMIR_EINPUT naming the key. Applying a policy adds one check per
 * rule, named "policy.<rule>", to a mimir_attest_result; the policy never removes a failed
 * verification check, except that "allow_simulated": true accepts the "simulated" check.
 */
#ifndef MIMIR_ATTEST_POLICY_H
#define MIMIR_ATTEST_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "err.h"

#define MIMIR_POLICY_VERSION 1
#define MIMIR_POLICY_MAX_BYTES (1024 * 1024)

typedef struct mimir_attest_policy mimir_attest_policy;

/* Parses a policy from buf (name is used in messages). */
int mimir_policy_parse(const uint8_t *buf, size_t len, const char *name,
                       mimir_attest_policy **out, mimir_err *err);
void mimir_policy_free(mimir_attest_policy *p);

/* Adds the policy's checks to res (which holds verified evidence). */
void mimir_policy_apply(const mimir_attest_policy *p, mimir_attest_result *res);

#endif
