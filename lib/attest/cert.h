/*
 * attest/cert.h — X.509 certificates that carry attestation evidence (RA-TLS style).
 *
 * A party makes a key pair and a self-signed certificate whose extension id-pe-cmw
 * (1.3.6.1.5.5.7.1.35, the IETF RATS "conceptual message wrapper" extension) holds its evidence
 * as a JSON CMW record, UTF8String ["<media type>", "<base64url evidence>"]. The evidence's
 * report_data commits to the certificate's key: report_data[0..32) = SHA-256 of the DER
 * SubjectPublicKeyInfo, report_data[32..64) = the verifier's nonce, zero-padded (zero if none).
 * mimir_attest_verify() accepts such a certificate (PEM or DER) as evidence: it checks the
 * certificate's self-signature and validity, verifies the carried evidence and the binding.
 */
#ifndef MIMIR_ATTEST_CERT_H
#define MIMIR_ATTEST_CERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "attest/attest.h"
#include "err.h"

#define MIMIR_ATTEST_CMW_OID "1.3.6.1.5.5.7.1.35"
#define MIMIR_ATTEST_NONCE_MAX 32
#define MIMIR_ATTEST_REPORT_DATA_BYTES 64

/* report_data for key: SHA-256(SPKI DER) || nonce zero-padded (nonce may be NULL, nlen <= 32). */
int mimir_attest_binding(EVP_PKEY *key, const uint8_t *nonce, size_t nlen,
                         uint8_t out[MIMIR_ATTEST_REPORT_DATA_BYTES], mimir_err *err);

/* A self-signed certificate for key (subject CN cn, valid days from now) carrying evidence. */
int mimir_attest_cert_new(EVP_PKEY *key, const char *cn, int days, time_t now,
                          const uint8_t *evidence, size_t n, X509 **out, mimir_err *err);

/* Verifies a certificate carrying evidence (for mimir_attest_verify). */
int mimir_attest_cert_verify(const uint8_t *buf, size_t len, const char *name,
                             const mimir_attest_opts *opts, mimir_attest_result *res,
                             mimir_err *err);

#endif
