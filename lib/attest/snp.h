/*
 * attest/snp.h — AMD SEV-SNP attestation reports (ATTESTATION_REPORT, SEV-SNP ABI spec).
 *
 * Parses the 1184-byte report, versions 2 to 5: version 3 adds the CPUID family/model/stepping,
 * version 5 the launch and current mitigation vectors. The signed region is bytes 0x000-0x29F;
 * the ECDSA P-384/SHA-384 signature's r and s are 72-byte little-endian integers at 0x2A0 and
 * 0x2E8, and the rest of the signature field (0x330-0x49F) must be zero. Verification checks the
 * signature with the VCEK or VLEK, that key's chain ASK/ASVK -> ARK to an ARK pinned per product
 * line (Milan, Genoa, Turin), and that the certificate's TCB and hwID extensions match the
 * report. This module does not judge the guest (debug, measurement): the policy does.
 */
#ifndef MIMIR_ATTEST_SNP_H
#define MIMIR_ATTEST_SNP_H

#include <stddef.h>
#include <stdint.h>

#include "attest/attest.h"
#include "err.h"

#define MIMIR_SNP_REPORT_BYTES 1184
#define MIMIR_SNP_SIGNED_BYTES 0x2A0
#define MIMIR_SNP_SIG_OFFSET 0x2A0
#define MIMIR_SNP_SIG_COMPONENT_BYTES 72
#define MIMIR_SNP_MIN_VERSION 2
#define MIMIR_SNP_MAX_VERSION 5
#define MIMIR_SNP_SIG_ALGO_ECDSA_P384_SHA384 1

/* Guest policy bits. */
#define MIMIR_SNP_POLICY_SMT (1ull << 16)
#define MIMIR_SNP_POLICY_MIGRATE_MA (1ull << 18)
#define MIMIR_SNP_POLICY_DEBUG (1ull << 19)
#define MIMIR_SNP_POLICY_SINGLE_SOCKET (1ull << 20)

enum mimir_snp_signing_key { MIMIR_SNP_KEY_VCEK = 0, MIMIR_SNP_KEY_VLEK = 1, MIMIR_SNP_KEY_NONE = 7 };

enum mimir_snp_product {
    MIMIR_SNP_UNKNOWN = 0,
    MIMIR_SNP_MILAN,
    MIMIR_SNP_GENOA,
    MIMIR_SNP_TURIN,
};

/* One TCB_VERSION decoded for a product line (Turin moves the fields and adds fmc). */
typedef struct mimir_snp_tcb {
    uint8_t raw[8];
    int fmc; /* -1 before Turin */
    int bootloader, tee, snp, microcode;
} mimir_snp_tcb;

typedef struct mimir_snp_report {
    uint32_t version, guest_svn;
    uint64_t policy;
    uint8_t family_id[16], image_id[16];
    uint32_t vmpl, signature_algo;
    uint8_t current_tcb[8];
    uint64_t platform_info;
    uint32_t signer_info; /* bit 0 author_key_en, bit 1 mask_chip_key, bits 2-4 signing_key */
    uint8_t report_data[64], measurement[48], host_data[32];
    uint8_t id_key_digest[48], author_key_digest[48], report_id[32], report_id_ma[32];
    uint8_t reported_tcb[8];
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* version >= 3 */
    uint8_t chip_id[64];
    uint8_t committed_tcb[8];
    uint8_t current_build, current_minor, current_major;
    uint8_t committed_build, committed_minor, committed_major;
    uint8_t launch_tcb[8];
    uint64_t launch_mit_vector, current_mit_vector; /* version >= 5 */
    uint8_t sig_r[72], sig_s[72];                   /* little-endian */
} mimir_snp_report;

/* Parses buf (exactly MIMIR_SNP_REPORT_BYTES). MIMIR_EINPUT on wrong size, unsupported version
 * or signature algorithm, or non-zero reserved signature bytes. */
int mimir_snp_parse(const uint8_t *buf, size_t len, const char *name, mimir_snp_report *r,
                    mimir_err *err);

int mimir_snp_signing_key(const mimir_snp_report *r); /* enum mimir_snp_signing_key or 2..6 */

/* Verifies the report signature over bytes 0..0x29F of buf with key (ECDSA P-384). 1 = valid. */
int mimir_snp_verify_signature(const uint8_t *buf, const mimir_snp_report *r, EVP_PKEY *key);

/* Decodes a TCB_VERSION for product p (MIMIR_SNP_UNKNOWN uses the Milan/Genoa layout). */
mimir_snp_tcb mimir_snp_tcb_decode(const uint8_t raw[8], int product);

/* The product line named by the report's CPUID (version >= 3), or MIMIR_SNP_UNKNOWN. */
int mimir_snp_product_from_cpuid(const mimir_snp_report *r);
const char *mimir_snp_product_name(int product); /* "Milan", ..., "unknown" */

/* Full verification for mimir_attest_verify(). */
int mimir_snp_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err);

#endif
