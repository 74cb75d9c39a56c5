/*
 * attest/attest.h — verifying hardware attestation evidence (SEV-SNP reports, TDX quotes).
 *
 * mimir_attest_verify() detects the kind of evidence from its bytes, parses it strictly and runs
 * every check it can (signatures, certificate chains to the pinned roots, consistency of the
 * certificate with the report), recording each as a named check in a mimir_attest_result
 * together with every measured field. A policy (attest/policy.h) then adds its own checks.
 *
 * Exit-code contract: malformed or unsupported evidence (wrong size, unknown version, lengths
 * that do not add up) is MIMIR_EINPUT; a check that fails is not an error of the call: it is
 * counted in result->failed and the tool maps failed > 0 to exit 1. The library never decides
 * admission from fields alone; that is the policy's job.
 */
#ifndef MIMIR_ATTEST_H
#define MIMIR_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "err.h"

/* Largest evidence file accepted (a TDX quote with its PCK chain is about 5 KiB). */
#define MIMIR_ATTEST_MAX_EVIDENCE (64 * 1024)

enum mimir_evidence_kind {
    MIMIR_EVIDENCE_UNKNOWN = 0,
    MIMIR_EVIDENCE_SNP = 1,       /* AMD SEV-SNP ATTESTATION_REPORT */
    MIMIR_EVIDENCE_TDX = 2,       /* Intel TDX ECDSA quote v4/v5 */
    MIMIR_EVIDENCE_SIMULATED = 3, /* Mimir's simulated evidence (mimir-attest cert --simulate) */
    MIMIR_EVIDENCE_CERT = 4,      /* an X.509 certificate carrying evidence (attest/cert.h) */
};

typedef struct mimir_attest_opts {
    time_t at;                /* verification time */
    STACK_OF(X509) *certs;    /* certificates given by the caller (VCEK/VLEK, ASK, ARK), or NULL */
    STACK_OF(X509) *anchors;  /* extra trust anchors beside the pinned ones, or NULL */
} mimir_attest_opts;

typedef struct mimir_attest_result {
    int kind;        /* enum mimir_evidence_kind */
    json_t *fields;  /* every measured field, in a stable order; "kind" first */
    json_t *checks;  /* [{"check": name, "ok": bool, "detail": text}] in the order performed */
    size_t failed;   /* number of checks with ok = false */
} mimir_attest_result;

/* Prepares an empty result. Returns MIMIR_ERUNTIME when out of memory. */
int mimir_attest_result_init(mimir_attest_result *res, mimir_err *err);
void mimir_attest_result_free(mimir_attest_result *res);

/* Records one check. detail says what was found and, on failure, what was expected. */
void mimir_attest_check(mimir_attest_result *res, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Naming failures. A check's name is the one in res->checks, which `mimir-attest verify` prints
 * and lists in its JSON "failed" array: verification checks by their own name ("signature",
 * "cert_binding", "simulated"), policy rules as "policy.<rule>" ("policy.nonce",
 * "policy.sev_snp.measurements"). The key broker and peer admission report failures with the
 * same names, through the two functions below, so one rule has one name in every log.
 */
#define MIMIR_ATTEST_CHECK_CERTIFICATE "certificate" /* the bytes are no DER certificate */
#define MIMIR_ATTEST_CHECK_EVIDENCE "evidence" /* no evidence, or it cannot be verified */

/* Writes res's failed checks, in the order made, as "NAME: detail" joined by sep into buf (cap
 * bytes, always terminated), each detail cut to detail_max characters; detail_max 0 leaves the
 * details (and their ": ") out. Returns 0, or -1 when not all fitted: buf then holds the
 * entries that fitted whole. */
int mimir_attest_failures(const mimir_attest_result *res, const char *sep, size_t detail_max,
                          char *buf, size_t cap);

/* Writes the failure of evidence that could not be verified at all (e, from a verify call that
 * did not return MIMIR_OK) as "evidence: FIELD: MESSAGE" (without "FIELD: " when e names none). */
void mimir_attest_unverified(const mimir_err *e, char *buf, size_t cap);

/* The kind of evidence in buf judged from its first bytes (no validation). */
int mimir_attest_detect(const uint8_t *buf, size_t len);
const char *mimir_attest_kind_name(int kind); /* "sev-snp", "tdx", "simulated", "unknown" */

/* Verifies evidence buf (name is used in messages). Returns MIMIR_OK when the evidence was
 * parsed and checked (see res->failed), MIMIR_EINPUT when it is malformed or unsupported,
 * MIMIR_ERUNTIME on out of memory. */
int mimir_attest_verify(const uint8_t *buf, size_t len, const char *name,
                        const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err);

/* Helpers shared by the platform modules. */
json_t *mimir_attest_hex(const uint8_t *p, size_t n);
/* ECDSA verification of msg with key over digest md; r and s are n-byte integers, big-endian
 * unless little is set. Returns 1 if valid, 0 if not. */
int mimir_attest_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t len,
                              const uint8_t *r, const uint8_t *s, size_t n, int little);

/* Parses an RFC 3339 time ("2026-06-01T00:00:00Z", "...+02:00", fractional seconds allowed).
 * Returns 0 and stores seconds since the epoch, or -1. */
int mimir_attest_parse_time(const char *s, time_t *out);

#endif
