#include "attest/snp.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "attest/pins.h"
#include "attest/x509.h"

/* AMD's VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key" specification). */
#define OID_PRODUCT_NAME "1.3.6.1.4.1.3704.1.2"
#define OID_BL_SPL "1.3.6.1.4.1.3704.1.3.1"
#define OID_TEE_SPL "1.3.6.1.4.1.3704.1.3.2"
#define OID_SNP_SPL "1.3.6.1.4.1.3704.1.3.3"
#define OID_UCODE_SPL "1.3.6.1.4.1.3704.1.3.8"
#define OID_FMC_SPL "1.3.6.1.4.1.3704.1.3.9"
#define OID_HWID "1.3.6.1.4.1.3704.1.4"

#define TURIN_HWID_BYTES 8

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int mimir_snp_parse(const uint8_t *b, size_t len, const char *name, mimir_snp_report *r,
                    mimir_err *err)
{
    if (len != MIMIR_SNP_REPORT_BYTES)
        return mimir_err_set(err, MIMIR_EINPUT, name, "size",
                             "SEV-SNP report of %zu bytes, expected exactly %d", len,
                             MIMIR_SNP_REPORT_BYTES);
    memset(r, 0, sizeof *r);
    r->version = le32(b + 0x00);
    if (r->version < MIMIR_SNP_MIN_VERSION || r->version > MIMIR_SNP_MAX_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, name, "version",
                             "unsupported SEV-SNP report version %u, expected %d to %d",
                             r->version, MIMIR_SNP_MIN_VERSION, MIMIR_SNP_MAX_VERSION);
    r->signature_algo = le32(b + 0x34);
    if (r->signature_algo != MIMIR_SNP_SIG_ALGO_ECDSA_P384_SHA384)
        return mimir_err_set(err, MIMIR_EINPUT, name, "signature_algo",
                             "unsupported signature algorithm %u, expected 1 (ECDSA P-384 with "
                             "SHA-384)", r->signature_algo);
    for (size_t i = MIMIR_SNP_SIG_OFFSET + 2 * MIMIR_SNP_SIG_COMPONENT_BYTES;
         i < MIMIR_SNP_REPORT_BYTES; i++)
        if (b[i] != 0)
            return mimir_err_set(err, MIMIR_EINPUT, name, "signature",
                                 "reserved byte 0x%zx of the signature is 0x%02x, expected 0", i,
                                 b[i]);
    r->guest_svn = le32(b + 0x04);
    r->policy = le64(b + 0x08);
    memcpy(r->family_id, b + 0x10, 16);
    memcpy(r->image_id, b + 0x20, 16);
    r->vmpl = le32(b + 0x30);
    memcpy(r->current_tcb, b + 0x38, 8);
    r->platform_info = le64(b + 0x40);
    r->signer_info = le32(b + 0x48);
    memcpy(r->report_data, b + 0x50, 64);
    memcpy(r->measurement, b + 0x90, 48);
    memcpy(r->host_data, b + 0xC0, 32);
    memcpy(r->id_key_digest, b + 0xE0, 48);
    memcpy(r->author_key_digest, b + 0x110, 48);
    memcpy(r->report_id, b + 0x140, 32);
    memcpy(r->report_id_ma, b + 0x160, 32);
    memcpy(r->reported_tcb, b + 0x180, 8);
    if (r->version >= 3) {
        r->cpuid_fam_id = b[0x188];
        r->cpuid_mod_id = b[0x189];
        r->cpuid_step = b[0x18A];
    }
    memcpy(r->chip_id, b + 0x1A0, 64);
    memcpy(r->committed_tcb, b + 0x1E0, 8);
    r->current_build = b[0x1E8];
    r->current_minor = b[0x1E9];
    r->current_major = b[0x1EA];
    r->committed_build = b[0x1EC];
    r->committed_minor = b[0x1ED];
    r->committed_major = b[0x1EE];
    memcpy(r->launch_tcb, b + 0x1F0, 8);
    if (r->version >= 5) {
        r->launch_mit_vector = le64(b + 0x1F8);
        r->current_mit_vector = le64(b + 0x200);
    }
    memcpy(r->sig_r, b + MIMIR_SNP_SIG_OFFSET, 72);
    memcpy(r->sig_s, b + MIMIR_SNP_SIG_OFFSET + 72, 72);
    return MIMIR_OK;
}

int mimir_snp_signing_key(const mimir_snp_report *r)
{
    return (int)((r->signer_info >> 2) & 7);
}

int mimir_snp_verify_signature(const uint8_t *buf, const mimir_snp_report *r, EVP_PKEY *key)
{
    return mimir_attest_ecdsa_verify(key, EVP_sha384(), buf, MIMIR_SNP_SIGNED_BYTES, r->sig_r,
                                     r->sig_s, MIMIR_SNP_SIG_COMPONENT_BYTES, 1);
}

mimir_snp_tcb mimir_snp_tcb_decode(const uint8_t raw[8], int product)
{
    mimir_snp_tcb t;
    memcpy(t.raw, raw, 8);
    if (product == MIMIR_SNP_TURIN) {
        t.fmc = raw[0];
        t.bootloader = raw[1];
        t.tee = raw[2];
        t.snp = raw[3];
    } else {
        t.fmc = -1;
        t.bootloader = raw[0];
        t.tee = raw[1];
        t.snp = raw[6];
    }
    t.microcode = raw[7];
    return t;
}

int mimir_snp_product_from_cpuid(const mimir_snp_report *r)
{
    if (r->version < 3)
        return MIMIR_SNP_UNKNOWN;
    int model_hi = r->cpuid_mod_id >> 4;
    if (r->cpuid_fam_id == 0x19 && model_hi == 0x0)
        return MIMIR_SNP_MILAN;
    if (r->cpuid_fam_id == 0x19 && (model_hi == 0x1 || model_hi == 0xA))
        return MIMIR_SNP_GENOA;
    if (r->cpuid_fam_id == 0x1A && (model_hi == 0x0 || model_hi == 0x1))
        return MIMIR_SNP_TURIN;
    return MIMIR_SNP_UNKNOWN;
}

const char *mimir_snp_product_name(int product)
{
    switch (product) {
    case MIMIR_SNP_MILAN: return "Milan";
    case MIMIR_SNP_GENOA: return "Genoa";
    case MIMIR_SNP_TURIN: return "Turin";
    default: return "unknown";
    }
}

static int product_from_name(const char *s)
{
    for (int p = MIMIR_SNP_MILAN; p <= MIMIR_SNP_TURIN; p++)
        if (strcmp(s, mimir_snp_product_name(p)) == 0)
            return p;
    return MIMIR_SNP_UNKNOWN;
}

/* ---- JSON of the report ---- */

static json_t *tcb_json(const uint8_t raw[8], int product)
{
    mimir_snp_tcb t = mimir_snp_tcb_decode(raw, product);
    json_t *o = json_object();
    json_object_set_new(o, "raw", mimir_attest_hex(raw, 8));
    if (t.fmc >= 0)
        json_object_set_new(o, "fmc", json_integer(t.fmc));
    json_object_set_new(o, "bootloader", json_integer(t.bootloader));
    json_object_set_new(o, "tee", json_integer(t.tee));
    json_object_set_new(o, "snp", json_integer(t.snp));
    json_object_set_new(o, "microcode", json_integer(t.microcode));
    return o;
}

static json_t *u64_hex(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "0x%016llx", (unsigned long long)v);
    return json_string(s);
}

static json_t *fw_json(int major, int minor, int build)
{
    json_t *o = json_object();
    json_object_set_new(o, "major", json_integer(major));
    json_object_set_new(o, "minor", json_integer(minor));
    json_object_set_new(o, "build", json_integer(build));
    return o;
}

static json_t *policy_json(uint64_t p)
{
    json_t *o = json_object();
    json_object_set_new(o, "raw", u64_hex(p));
    json_object_set_new(o, "abi_minor", json_integer((json_int_t)(p & 0xff)));
    json_object_set_new(o, "abi_major", json_integer((json_int_t)((p >> 8) & 0xff)));
    static const char *const bits[] = {
        "smt", "reserved_17", "migrate_ma", "debug", "single_socket", "cxl_allow",
        "mem_aes_256_xts", "rapl_dis", "ciphertext_hiding", "page_swap_disable",
    };
    for (int i = 0; i < 10; i++)
        json_object_set_new(o, bits[i], json_boolean((p >> (16 + i)) & 1));
    return o;
}

static json_t *platform_json(uint64_t p)
{
    json_t *o = json_object();
    json_object_set_new(o, "raw", u64_hex(p));
    static const char *const bits[] = {
        "smt_en", "tsme_en", "ecc_en", "rapl_dis", "ciphertext_hiding_en",
        "alias_check_complete", "reserved_6", "tio_en",
    };
    for (int i = 0; i < 8; i++)
        if (i != 6)
            json_object_set_new(o, bits[i], json_boolean((p >> i) & 1));
    return o;
}

static const char *key_name(int k)
{
    return k == MIMIR_SNP_KEY_VCEK ? "vcek" : k == MIMIR_SNP_KEY_VLEK ? "vlek"
                                     : k == MIMIR_SNP_KEY_NONE ? "none" : "reserved";
}

static json_t *report_json(const mimir_snp_report *r, int product)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("sev-snp"));
    json_object_set_new(o, "version", json_integer(r->version));
    json_object_set_new(o, "product_line", json_string(mimir_snp_product_name(product)));
    json_object_set_new(o, "debug", json_boolean((r->policy & MIMIR_SNP_POLICY_DEBUG) != 0));
    json_object_set_new(o, "measurement", mimir_attest_hex(r->measurement, 48));
    json_object_set_new(o, "report_data", mimir_attest_hex(r->report_data, 64));
    json_object_set_new(o, "host_data", mimir_attest_hex(r->host_data, 32));
    json_object_set_new(o, "chip_id", mimir_attest_hex(r->chip_id, 64));
    json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
    json_object_set_new(o, "policy", policy_json(r->policy));
    json_object_set_new(o, "vmpl", json_integer(r->vmpl));
    json_object_set_new(o, "signature_algo", json_integer(r->signature_algo));
    json_object_set_new(o, "family_id", mimir_attest_hex(r->family_id, 16));
    json_object_set_new(o, "image_id", mimir_attest_hex(r->image_id, 16));
    json_object_set_new(o, "platform_info", platform_json(r->platform_info));
    json_t *si = json_object();
    json_object_set_new(si, "raw", json_integer(r->signer_info));
    json_object_set_new(si, "author_key_en", json_boolean(r->signer_info & 1));
    json_object_set_new(si, "mask_chip_key", json_boolean((r->signer_info >> 1) & 1));
    json_object_set_new(si, "signing_key", json_string(key_name(mimir_snp_signing_key(r))));
    json_object_set_new(o, "signer_info", si);
    json_object_set_new(o, "id_key_digest", mimir_attest_hex(r->id_key_digest, 48));
    json_object_set_new(o, "author_key_digest", mimir_attest_hex(r->author_key_digest, 48));
    json_object_set_new(o, "report_id", mimir_attest_hex(r->report_id, 32));
    json_object_set_new(o, "report_id_ma", mimir_attest_hex(r->report_id_ma, 32));
    json_object_set_new(o, "reported_tcb", tcb_json(r->reported_tcb, product));
    json_object_set_new(o, "current_tcb", tcb_json(r->current_tcb, product));
    json_object_set_new(o, "committed_tcb", tcb_json(r->committed_tcb, product));
    json_object_set_new(o, "launch_tcb", tcb_json(r->launch_tcb, product));
    json_object_set_new(o, "current_firmware",
                        fw_json(r->current_major, r->current_minor, r->current_build));
    json_object_set_new(o, "committed_firmware",
                        fw_json(r->committed_major, r->committed_minor, r->committed_build));
    if (r->version >= 3) {
        json_t *c = json_object();
        json_object_set_new(c, "family", json_integer(r->cpuid_fam_id));
        json_object_set_new(c, "model", json_integer(r->cpuid_mod_id));
        json_object_set_new(c, "stepping", json_integer(r->cpuid_step));
        json_object_set_new(o, "cpuid", c);
    }
    if (r->version >= 5) {
        json_object_set_new(o, "launch_mit_vector", u64_hex(r->launch_mit_vector));
        json_object_set_new(o, "current_mit_vector", u64_hex(r->current_mit_vector));
    }
    return o;
}

/* ---- certificate checks ---- */

static int ext_int(X509 *x, const char *oid, long *v)
{
    size_t n;
    const uint8_t *p = mimir_x509_ext(x, oid, &n);
    if (p == NULL)
        return -1;
    const uint8_t *q = p;
    int64_t w = 0;
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &q, (long)n);
    int ok = i != NULL && q == p + n && ASN1_INTEGER_get_int64(&w, i) == 1;
    ASN1_INTEGER_free(i);
    *v = (long)w;
    return ok ? 0 : -1;
}

static void ext_string(X509 *x, const char *oid, char *buf, size_t cap)
{
    size_t n;
    buf[0] = '\0';
    const uint8_t *p = mimir_x509_ext(x, oid, &n), *q = p;
    if (p == NULL)
        return;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &q, (long)n);
    if (s != NULL && q == p + n) {
        int len = ASN1_STRING_length(s);
        snprintf(buf, cap, "%.*s", len, (const char *)ASN1_STRING_get0_data(s));
    }
    ASN1_IA5STRING_free(s);
}

/* The VCEK/VLEK among the given certificates: the one that is not a CA. */
static X509 *find_leaf(STACK_OF(X509) *certs, const char *name, mimir_err *err)
{
    X509 *leaf = NULL;
    for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (X509_check_ca(x) != 0)
            continue;
        if (leaf != NULL) {
            mimir_err_set(err, MIMIR_EINPUT, name, "--cert",
                          "more than one end-entity certificate given, expected one VCEK or "
                          "VLEK with its ASK/ASVK and ARK");
            return NULL;
        }
        leaf = x;
    }
    if (leaf == NULL)
        mimir_err_set(err, MIMIR_EINPUT, name, "--cert",
                      "no VCEK or VLEK certificate given, a SEV-SNP report needs --cert with "
                      "the VCEK/VLEK and its ASK/ASVK chain");
    return leaf;
}

static void check_signing_key(const mimir_snp_report *r, X509 *leaf, mimir_attest_result *res)
{
    int k = mimir_snp_signing_key(r);
    char cn[64];
    mimir_x509_cn(leaf, cn, sizeof cn);
    if (k != MIMIR_SNP_KEY_VCEK && k != MIMIR_SNP_KEY_VLEK) {
        mimir_attest_check(res, "signing_key", 0,
                           "signer_info.signing_key is %d (%s), expected 0 (VCEK) or 1 (VLEK)", k,
                           key_name(k));
        return;
    }
    const char *want = k == MIMIR_SNP_KEY_VCEK ? "SEV-VCEK" : "SEV-VLEK";
    mimir_attest_check(res, "signing_key", strcmp(cn, want) == 0,
                       "report signed by the %s, certificate is \"%s\"%s", key_name(k), cn,
                       strcmp(cn, want) == 0 ? "" : ", expected the matching certificate");
}

static int check_product(const mimir_snp_report *r, X509 *leaf, int chain_product,
                         mimir_attest_result *res)
{
    char pname[64];
    ext_string(leaf, OID_PRODUCT_NAME, pname, sizeof pname);
    int cpu = mimir_snp_product_from_cpuid(r);
    int product = chain_product != MIMIR_SNP_UNKNOWN ? chain_product : cpu;
    const char *want = mimir_snp_product_name(product);
    int ok = product != MIMIR_SNP_UNKNOWN && strncmp(pname, want, strlen(want)) == 0 &&
             (pname[strlen(want)] == '\0' || pname[strlen(want)] == '-');
    if (r->version >= 3 && cpu != product)
        ok = 0;
    mimir_attest_check(res, "product_line", ok,
                       "chain %s%s, certificate productName \"%s\", report CPUID %s%s",
                       chain_product ? "ends at ARK-" : "not verified",
                       chain_product ? mimir_snp_product_name(chain_product) : "", pname,
                       r->version >= 3 ? mimir_snp_product_name(cpu) : "absent (version 2)",
                       ok ? "" : "; expected all to name the same product line");
    return product;
}

static void check_tcb(const mimir_snp_report *r, X509 *leaf, int product,
                      mimir_attest_result *res)
{
    mimir_snp_tcb t = mimir_snp_tcb_decode(r->reported_tcb, product);
    long bl = -1, tee = -1, snp = -1, uc = -1, fmc = -1;
    int missing = ext_int(leaf, OID_BL_SPL, &bl) | ext_int(leaf, OID_TEE_SPL, &tee) |
                  ext_int(leaf, OID_SNP_SPL, &snp) | ext_int(leaf, OID_UCODE_SPL, &uc);
    if (product == MIMIR_SNP_TURIN)
        missing |= ext_int(leaf, OID_FMC_SPL, &fmc);
    int ok = !missing && bl == t.bootloader && tee == t.tee && snp == t.snp &&
             uc == t.microcode && (product != MIMIR_SNP_TURIN || fmc == t.fmc);
    char fm[24] = "", fr[24] = "";
    if (product == MIMIR_SNP_TURIN) {
        snprintf(fm, sizeof fm, "fmc %ld ", fmc);
        snprintf(fr, sizeof fr, "fmc %d ", t.fmc);
    }
    if (missing)
        mimir_attest_check(res, "tcb", 0, "certificate lacks a TCB extension (blSPL, teeSPL, "
                           "snpSPL, ucodeSPL%s)", product == MIMIR_SNP_TURIN ? ", fmcSPL" : "");
    else
        mimir_attest_check(res, "tcb", ok,
                           "certificate TCB %sbl %ld tee %ld snp %ld ucode %ld, reported_tcb "
                           "%sbl %d tee %d snp %d ucode %d%s", fm, bl, tee, snp, uc, fr,
                           t.bootloader, t.tee, t.snp, t.microcode,
                           ok ? "" : "; expected them equal");
}

static void check_chip_id(const mimir_snp_report *r, X509 *leaf, int product,
                          mimir_attest_result *res)
{
    size_t n = 0;
    const uint8_t *hw = mimir_x509_ext(leaf, OID_HWID, &n);
    if (mimir_snp_signing_key(r) == MIMIR_SNP_KEY_VLEK) {
        mimir_attest_check(res, "chip_id", hw == NULL,
                           hw == NULL ? "VLEK-signed: the key is not bound to one chip"
                                      : "VLEK carries a hwID extension, expected none");
        return;
    }
    size_t want = product == MIMIR_SNP_TURIN ? TURIN_HWID_BYTES : sizeof r->chip_id;
    int ok = hw != NULL && n == want && memcmp(hw, r->chip_id, want) == 0;
    if (ok && want < sizeof r->chip_id)
        for (size_t i = want; i < sizeof r->chip_id; i++)
            ok &= r->chip_id[i] == 0;
    mimir_attest_check(res, "chip_id", ok, "certificate hwID (%zu bytes) %s the report's chip_id",
                       n, ok ? "equals" : "does not equal");
}

int mimir_snp_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err)
{
    mimir_snp_report r;
    int rc = mimir_snp_parse(buf, len, name, &r, err);
    if (rc != MIMIR_OK)
        return rc;
    X509 *leaf = find_leaf(opts->certs, name, err);
    if (leaf == NULL)
        return err != NULL ? err->code : MIMIR_EINPUT;
    res->kind = MIMIR_EVIDENCE_SNP;

    EVP_PKEY *key = X509_get0_pubkey(leaf);
    int sig_ok = key != NULL && EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == 384 &&
                 mimir_snp_verify_signature(buf, &r, key);
    mimir_attest_check(res, "signature", sig_ok, sig_ok
                       ? "ECDSA P-384 signature over bytes 0x000-0x29F verifies with the VCEK/VLEK"
                       : "ECDSA P-384 signature does not verify with the given VCEK/VLEK, "
                         "expected a report signed by that key");

    mimir_err cerr;
    mimir_err_clear(&cerr);
    int pin = -1, chain_product = MIMIR_SNP_UNKNOWN;
    int chain = mimir_x509_verify_chain(leaf, opts->certs, MIMIR_PIN_AMD, opts->anchors, opts->at,
                                        MIMIR_CHAIN_AMD_LEAF, &pin, &cerr);
    if (chain == MIMIR_ERUNTIME)
        return mimir_err_set(err, chain, name, "chain", "%s", cerr.msg);
    if (chain == MIMIR_OK && pin >= 0)
        chain_product = product_from_name(mimir_attest_pins[pin].product);
    if (chain == MIMIR_OK)
        mimir_attest_check(res, "chain", 1, "VCEK/VLEK -> ASK/ASVK -> %s (pinned), RSA-PSS",
                           pin >= 0 ? mimir_attest_pins[pin].name : "extra anchor");
    else
        mimir_attest_check(res, "chain", 0, "%s", cerr.msg);

    check_signing_key(&r, leaf, res);
    int product = check_product(&r, leaf, chain_product, res);
    check_tcb(&r, leaf, product, res);
    check_chip_id(&r, leaf, product, res);
    json_decref(res->fields);
    res->fields = report_json(&r, product);
    return res->fields != NULL ? MIMIR_OK
                               : mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
}
