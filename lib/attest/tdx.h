/*
 * attest/tdx.h — Intel TDX ECDSA quotes, versions 4 and 5 (Intel TDX DCAP Quote Generation
 * Library and Quote Verification, "Quote Format").
 *
 * v4: 48-byte header, 584-byte TD report body, u32 signature-data length, signature data.
 * v5: header, u16 body type (2 = TD report 1.0, 3 = TD report 1.5 which adds tee_tcb_svn2 and
 * mrservicetd), u32 body size, body, then the same signature data. The quote signature (ECDSA
 * P-256, SHA-256, r||s big-endian) covers everything before the signature-data length. The
 * signature data carries the attestation key, then certification data type 6: the QE report,
 * its signature by the PCK key, the QE authentication data, and certification data type 5: the
 * PEM chain PCK -> PCK Platform/Processor CA -> Intel SGX Root CA.
 *
 * Every length must add up exactly; bytes after the quote are legal and only counted. Only
 * attestation key type 2 (ECDSA P-256) and TEE type 0x81 (TDX) are supported. Verification
 * checks the quote signature, the QE report signature with the PCK certificate, that the QE
 * report binds the attestation key (report_data = SHA-256(key || QE auth data) || 32 zeros),
 * that the QE is Intel's TD quoting enclave, and the PCK chain to the pinned Intel root.
 * Revocation (CRLs) and Intel's TCB-info levels need collateral this module does not fetch.
 */
#ifndef MIMIR_ATTEST_TDX_H
#define MIMIR_ATTEST_TDX_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "err.h"

#define MIMIR_TDX_HEADER_BYTES 48
#define MIMIR_TDX_BODY10_BYTES 584
#define MIMIR_TDX_BODY15_BYTES 648
#define MIMIR_TDX_QE_REPORT_BYTES 384
#define MIMIR_TDX_SIG_BYTES 64
#define MIMIR_TDX_KEY_BYTES 64
#define MIMIR_TDX_TEE_TYPE 0x81
#define MIMIR_TDX_ATT_KEY_ECDSA_P256 2
#define MIMIR_TDX_CERT_QE_REPORT 6
#define MIMIR_TDX_CERT_PCK_CHAIN 5

#define MIMIR_TDX_ATTR_DEBUG (1ull << 0)
#define MIMIR_TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define MIMIR_TDX_ATTR_PKS (1ull << 30)
#define MIMIR_TDX_ATTR_KL (1ull << 31)
#define MIMIR_TDX_ATTR_PERFMON (1ull << 63)

typedef struct mimir_tdx_qe_report { /* SGX REPORT body of the quoting enclave */
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16], mrenclave[32], mrsigner[32];
    uint16_t isvprodid, isvsvn;
    uint8_t report_data[64];
} mimir_tdx_qe_report;

typedef struct mimir_tdx_quote {
    uint16_t version, att_key_type;
    uint32_t tee_type;
    uint16_t reserved1, reserved2;
    uint8_t qe_vendor_id[16], user_data[20];
    uint16_t body_type; /* 2 = TD report 1.0, 3 = TD report 1.5 (v4 quotes: 2) */
    uint32_t body_size;
    uint8_t tee_tcb_svn[16], mrseam[48], mrsignerseam[48], seam_attributes[8];
    uint64_t td_attributes, xfam;
    uint8_t mrtd[48], mrconfigid[48], mrowner[48], mrownerconfig[48], rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16], mrservicetd[48]; /* body type 3 */
    size_t signed_len;                         /* bytes covered by the quote signature */
    uint8_t quote_sig[64], att_key[64];
    const uint8_t *qe_report_raw;              /* 384 bytes, points into the quote */
    mimir_tdx_qe_report qe;
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth;                    /* points into the quote */
    size_t qe_auth_len;
    const uint8_t *pck_chain;                  /* PEM, points into the quote */
    size_t pck_chain_len;
    size_t quote_len, trailing;                /* structure length, bytes after it */
} mimir_tdx_quote;

/* Parses buf. q points into buf afterwards. MIMIR_EINPUT on anything malformed or unsupported. */
int mimir_tdx_parse(const uint8_t *buf, size_t len, const char *name, mimir_tdx_quote *q,
                    mimir_err *err);

/* Full verification for mimir_attest_verify(). */
int mimir_tdx_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err);

#endif
