/*
 * attest/x509.h — certificates for attestation: strict loading and chain verification.
 *
 * Loading is strict: a PEM bundle must hold only CERTIFICATE blocks (whitespace and NUL bytes
 * between and after them are allowed), each block must decode to exactly one DER certificate,
 * and a DER file must be exactly one certificate. A certificate that does not decode is treated
 * as a failed integrity check (MIMIR_ESECURITY, exit 1): its bytes cannot be authenticated, just
 * like a certificate whose signature fails.
 *
 * Chains are verified with OpenSSL at a caller-given time against the pinned anchors only
 * (attest/pins.h), in OpenSSL's strict X.509 mode. One deviation can be tolerated on request:
 * AMD's VCEK/VLEK leaves carry no AuthorityKeyIdentifier, which strict mode refuses; with
 * MIMIR_CHAIN_AMD_LEAF that single error is accepted for the leaf only, and every other strict
 * check (CA basic constraints, key usage, SKIDs of the CAs, ...) still applies. Every supplied
 * certificate must be part of the verified chain, so no byte of any of them goes unchecked.
 */
#ifndef MIMIR_ATTEST_X509_H
#define MIMIR_ATTEST_X509_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "err.h"

#define MIMIR_CHAIN_AMD_LEAF 1u /* tolerate the missing AKID of AMD's VCEK/VLEK leaf */

/* Appends the certificates in buf (PEM bundle or one DER certificate) to certs. name is used in
 * messages. Returns MIMIR_OK, MIMIR_ESECURITY if a certificate does not decode, MIMIR_EINPUT if
 * buf holds no certificate at all, MIMIR_ERUNTIME when out of memory. */
int mimir_x509_load(const uint8_t *buf, size_t len, const char *name, STACK_OF(X509) *certs,
                    mimir_err *err);

/* Verifies leaf -> certs... -> a pinned anchor of vendor (enum mimir_pin_vendor) at time at.
 * Extra anchors (may be NULL) are trusted too. On success stores the index of the pinned anchor
 * in *pin (or -1 for an extra anchor) and returns MIMIR_OK; otherwise MIMIR_ESECURITY with the
 * reason in err (what failed, at which certificate). */
int mimir_x509_verify_chain(X509 *leaf, STACK_OF(X509) *certs, int vendor,
                            STACK_OF(X509) *extra_anchors, time_t at, unsigned flags, int *pin,
                            mimir_err *err);

/* The DER contents of extension oid (dotted text) of cert: for extensions whose value is itself
 * DER (INTEGER, IA5String, OCTET STRING), the raw extension value. Returns a pointer into the
 * certificate (valid while cert lives) and its length, or NULL if absent. */
const uint8_t *mimir_x509_ext(X509 *cert, const char *oid, size_t *len);

/* The common name of cert's subject into buf ("" if none). */
void mimir_x509_cn(X509 *cert, char *buf, size_t cap);

/* SHA-256 of cert's DER encoding. */
int mimir_x509_sha256(X509 *cert, uint8_t out[32]);

#endif
