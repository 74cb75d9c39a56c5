#include "attest/tdx.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "attest/pins.h"
#include "attest/x509.h"

/* Intel's TD quoting enclave: MRSIGNER of Intel's enclave signing key, ISVPRODID 2 (Intel's
 * TDX QE identity collateral, "id": "TD_QE"). */
static const uint8_t TD_QE_MRSIGNER[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
};
#define TD_QE_ISVPRODID 2

/* DER of OID 1.2.840.113741.1.13.1.4 (FMSPC) followed by OCTET STRING of 6 bytes, inside the
 * PCK certificate's SGX extension 1.2.840.113741.1.13.1. */
static const uint8_t FMSPC_TLV[] = {0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d,
                                    0x01, 0x04, 0x04, 0x06};
#define OID_SGX_EXT "1.2.840.113741.1.13.1"
#define FMSPC_BYTES 6

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A bounded reader: every take() checks the remaining length first. */
typedef struct rd {
    const uint8_t *b;
    size_t len, off;
    const char *name;
    mimir_err *err;
} rd;

static const uint8_t *take(rd *r, size_t n, const char *field)
{
    if (n > r->len - r->off) {
        mimir_err_set(r->err, MIMIR_EINPUT, r->name, field,
                      "quote truncated: %zu bytes needed at offset %zu, %zu left", n, r->off,
                      r->len - r->off);
        return NULL;
    }
    const uint8_t *p = r->b + r->off;
    r->off += n;
    return p;
}

static void parse_body(const uint8_t *p, int td15, mimir_tdx_quote *q)
{
    memcpy(q->tee_tcb_svn, p, 16);
    memcpy(q->mrseam, p + 16, 48);
    memcpy(q->mrsignerseam, p + 64, 48);
    memcpy(q->seam_attributes, p + 112, 8);
    q->td_attributes = le64(p + 120);
    q->xfam = le64(p + 128);
    memcpy(q->mrtd, p + 136, 48);
    memcpy(q->mrconfigid, p + 184, 48);
    memcpy(q->mrowner, p + 232, 48);
    memcpy(q->mrownerconfig, p + 280, 48);
    for (int i = 0; i < 4; i++)
        memcpy(q->rtmr[i], p + 328 + 48 * i, 48);
    memcpy(q->report_data, p + 520, 64);
    if (td15) {
        memcpy(q->tee_tcb_svn2, p + 584, 16);
        memcpy(q->mrservicetd, p + 600, 48);
    }
}

static void parse_qe(const uint8_t *p, mimir_tdx_qe_report *e)
{
    memcpy(e->cpusvn, p, 16);
    e->miscselect = le32(p + 16);
    memcpy(e->attributes, p + 48, 16);
    memcpy(e->mrenclave, p + 64, 32);
    memcpy(e->mrsigner, p + 128, 32);
    e->isvprodid = le16(p + 256);
    e->isvsvn = le16(p + 258);
    memcpy(e->report_data, p + 320, 64);
}

static int parse_header(rd *r, mimir_tdx_quote *q)
{
    const uint8_t *h = take(r, MIMIR_TDX_HEADER_BYTES, "header");
    if (h == NULL)
        return MIMIR_EINPUT;
    q->version = le16(h);
    q->att_key_type = le16(h + 2);
    q->tee_type = le32(h + 4);
    q->reserved1 = le16(h + 8);
    q->reserved2 = le16(h + 10);
    memcpy(q->qe_vendor_id, h + 12, 16);
    memcpy(q->user_data, h + 28, 20);
    if (q->tee_type != MIMIR_TDX_TEE_TYPE)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "tee_type",
                             "tee_type 0x%x%s is not supported evidence, expected 0x81 (TDX)",
                             q->tee_type, q->tee_type == 0 ? " (an SGX quote)" : "");
    if (q->version != 4 && q->version != 5)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "version",
                             "unsupported quote version %u, expected 4 or 5", q->version);
    if (q->att_key_type != MIMIR_TDX_ATT_KEY_ECDSA_P256)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "att_key_type",
                             "unsupported attestation key type %u, expected 2 (ECDSA P-256)",
                             q->att_key_type);
    return MIMIR_OK;
}

static int parse_td(rd *r, mimir_tdx_quote *q)
{
    q->body_type = 2;
    q->body_size = MIMIR_TDX_BODY10_BYTES;
    if (q->version == 5) {
        const uint8_t *t = take(r, 6, "body_type");
        if (t == NULL)
            return MIMIR_EINPUT;
        q->body_type = le16(t);
        q->body_size = le32(t + 2);
        uint32_t want = q->body_type == 2 ? MIMIR_TDX_BODY10_BYTES
                        : q->body_type == 3 ? MIMIR_TDX_BODY15_BYTES : 0;
        if (want == 0)
            return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "body_type",
                                 "unsupported quote body type %u, expected 2 (TD report 1.0) or "
                                 "3 (TD report 1.5)", q->body_type);
        if (q->body_size != want)
            return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "body_size",
                                 "body size %u for body type %u, expected %u", q->body_size,
                                 q->body_type, want);
    }
    const uint8_t *b = take(r, q->body_size, "td_report");
    if (b == NULL)
        return MIMIR_EINPUT;
    parse_body(b, q->body_type == 3, q);
    q->signed_len = r->off;
    return MIMIR_OK;
}

static int parse_sigdata(rd *r, mimir_tdx_quote *q)
{
    const uint8_t *p = take(r, 4, "signature_data_len");
    if (p == NULL)
        return MIMIR_EINPUT;
    uint32_t sig_len = le32(p);
    size_t sig_start = r->off;
    const uint8_t *sig = take(r, MIMIR_TDX_SIG_BYTES, "quote_signature");
    const uint8_t *key = sig ? take(r, MIMIR_TDX_KEY_BYTES, "attestation_key") : NULL;
    const uint8_t *ct = key ? take(r, 6, "certification_data") : NULL;
    if (ct == NULL)
        return MIMIR_EINPUT;
    memcpy(q->quote_sig, sig, 64);
    memcpy(q->att_key, key, 64);
    if (le16(ct) != MIMIR_TDX_CERT_QE_REPORT)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "certification_data.type",
                             "certification data type %u, expected 6 (QE report)", le16(ct));
    uint32_t cert_len = le32(ct + 2);
    size_t cert_start = r->off;
    const uint8_t *qe = take(r, MIMIR_TDX_QE_REPORT_BYTES, "qe_report");
    const uint8_t *qs = qe ? take(r, MIMIR_TDX_SIG_BYTES, "qe_report_signature") : NULL;
    const uint8_t *al = qs ? take(r, 2, "qe_auth_data") : NULL;
    const uint8_t *ad = al ? take(r, le16(al), "qe_auth_data") : NULL;
    const uint8_t *it = ad ? take(r, 6, "pck_certification_data") : NULL;
    if (it == NULL)
        return MIMIR_EINPUT;
    q->qe_report_raw = qe;
    parse_qe(qe, &q->qe);
    memcpy(q->qe_report_sig, qs, 64);
    q->qe_auth = ad;
    q->qe_auth_len = le16(al);
    if (le16(it) != MIMIR_TDX_CERT_PCK_CHAIN)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "pck_certification_data.type",
                             "certification data type %u, expected 5 (PCK certificate chain)",
                             le16(it));
    q->pck_chain_len = le32(it + 2);
    q->pck_chain = take(r, q->pck_chain_len, "pck_certification_data");
    if (q->pck_chain == NULL)
        return MIMIR_EINPUT;
    if (r->off - cert_start != cert_len)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "certification_data.size",
                             "certification data size %u, its parts add up to %zu", cert_len,
                             r->off - cert_start);
    if (r->off - sig_start != sig_len)
        return mimir_err_set(r->err, MIMIR_EINPUT, r->name, "signature_data_len",
                             "signature data length %u, its parts add up to %zu", sig_len,
                             r->off - sig_start);
    return MIMIR_OK;
}

int mimir_tdx_parse(const uint8_t *buf, size_t len, const char *name, mimir_tdx_quote *q,
                    mimir_err *err)
{
    memset(q, 0, sizeof *q);
    rd r = {buf, len, 0, name, err};
    int rc = parse_header(&r, q);
    if (rc == MIMIR_OK)
        rc = parse_td(&r, q);
    if (rc == MIMIR_OK)
        rc = parse_sigdata(&r, q);
    if (rc != MIMIR_OK)
        return rc;
    q->quote_len = r.off;
    q->trailing = len - r.off;
    return MIMIR_OK;
}

/* ---- verification ---- */

static EVP_PKEY *p256_key(const uint8_t xy[64])
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt),
        OSSL_PARAM_construct_end(),
    };
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (key != NULL) {
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
        int ok = c != NULL && EVP_PKEY_public_check(c) == 1;
        EVP_PKEY_CTX_free(c);
        if (!ok) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }
    ERR_clear_error();
    return key;
}

static int is_p256(EVP_PKEY *k)
{
    char g[32];
    size_t n;
    return k != NULL && EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, g, sizeof g, &n) == 1 &&
           strcmp(g, "prime256v1") == 0;
}

static void check_quote_sig(const uint8_t *buf, const mimir_tdx_quote *q,
                            mimir_attest_result *res)
{
    EVP_PKEY *ak = p256_key(q->att_key);
    if (ak == NULL) {
        mimir_attest_check(res, "quote_signature", 0,
                           "attestation key is not a valid P-256 point");
        return;
    }
    int ok = mimir_attest_ecdsa_verify(ak, EVP_sha256(), buf, q->signed_len, q->quote_sig,
                                       q->quote_sig + 32, 32, 0);
    EVP_PKEY_free(ak);
    mimir_attest_check(res, "quote_signature", ok,
                       "ECDSA P-256 signature over bytes 0..%zu %s with the attestation key",
                       q->signed_len - 1, ok ? "verifies" : "does not verify");
}

static void check_binding(const mimir_tdx_quote *q, mimir_attest_result *res)
{
    uint8_t h[SHA256_DIGEST_LENGTH];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, q->att_key, sizeof q->att_key) == 1 &&
             EVP_DigestUpdate(c, q->qe_auth, q->qe_auth_len) == 1 &&
             EVP_DigestFinal_ex(c, h, NULL) == 1;
    EVP_MD_CTX_free(c);
    ok = ok && memcmp(h, q->qe.report_data, 32) == 0;
    for (int i = 32; i < 64; i++)
        ok &= q->qe.report_data[i] == 0;
    mimir_attest_check(res, "qe_binding", ok,
                       "QE report_data %s SHA-256(attestation key || QE auth data) || 32 zeros",
                       ok ? "equals" : "does not equal");
}

static void check_qe_identity(const mimir_tdx_quote *q, mimir_attest_result *res)
{
    int ok = memcmp(q->qe.mrsigner, TD_QE_MRSIGNER, 32) == 0 &&
             q->qe.isvprodid == TD_QE_ISVPRODID;
    mimir_attest_check(res, "qe_identity", ok,
                       "QE MRSIGNER %s Intel's, ISVPRODID %u (expected %d)",
                       memcmp(q->qe.mrsigner, TD_QE_MRSIGNER, 32) == 0 ? "is" : "is not",
                       q->qe.isvprodid, TD_QE_ISVPRODID);
}

/* Checks the PCK chain and the QE report signature; returns the PCK certificate's FMSPC. */
static int check_pck(const mimir_tdx_quote *q, const mimir_attest_opts *opts,
                     mimir_attest_result *res, uint8_t fmspc[FMSPC_BYTES], mimir_err *err)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (certs == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    mimir_err cerr;
    mimir_err_clear(&cerr);
    int got_fmspc = 0;
    int rc = mimir_x509_load(q->pck_chain, q->pck_chain_len, "PCK chain", certs, &cerr);
    if (rc == MIMIR_ERUNTIME) {
        sk_X509_pop_free(certs, X509_free);
        return mimir_err_set(err, rc, NULL, NULL, "out of memory");
    }
    if (rc != MIMIR_OK) {
        mimir_attest_check(res, "pck_chain", 0, "PCK chain: %s", cerr.msg);
        mimir_attest_check(res, "qe_report_signature", 0, "no PCK certificate to check it with");
        sk_X509_pop_free(certs, X509_free);
        return -1;
    }
    X509 *pck = sk_X509_value(certs, 0);
    int pin = -1;
    rc = mimir_x509_verify_chain(pck, certs, MIMIR_PIN_INTEL, opts->anchors, opts->at, 0, &pin,
                                 &cerr);
    if (rc == MIMIR_ERUNTIME) {
        sk_X509_pop_free(certs, X509_free);
        return mimir_err_set(err, rc, NULL, NULL, "out of memory");
    }
    if (rc == MIMIR_OK)
        mimir_attest_check(res, "pck_chain", 1, "PCK -> PCK CA -> %s, %d certificates",
                           pin >= 0 ? mimir_attest_pins[pin].name : "an extra anchor",
                           sk_X509_num(certs));
    else
        mimir_attest_check(res, "pck_chain", 0, "%s", cerr.msg);
    EVP_PKEY *pk = X509_get0_pubkey(pck);
    int ok = is_p256(pk) &&
             mimir_attest_ecdsa_verify(pk, EVP_sha256(), q->qe_report_raw,
                                       MIMIR_TDX_QE_REPORT_BYTES, q->qe_report_sig,
                                       q->qe_report_sig + 32, 32, 0);
    mimir_attest_check(res, "qe_report_signature", ok,
                       "ECDSA P-256 signature of the QE report %s with the PCK certificate",
                       ok ? "verifies" : "does not verify");
    size_t n;
    const uint8_t *ext = mimir_x509_ext(pck, OID_SGX_EXT, &n);
    for (size_t i = 0; ext != NULL && n >= sizeof FMSPC_TLV + FMSPC_BYTES &&
                       i <= n - sizeof FMSPC_TLV - FMSPC_BYTES; i++)
        if (memcmp(ext + i, FMSPC_TLV, sizeof FMSPC_TLV) == 0) {
            memcpy(fmspc, ext + i + sizeof FMSPC_TLV, FMSPC_BYTES);
            got_fmspc = 1;
            break;
        }
    sk_X509_pop_free(certs, X509_free);
    return got_fmspc ? 0 : -1;
}

static json_t *u64_hex(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "0x%016llx", (unsigned long long)v);
    return json_string(s);
}

static json_t *quote_json(const mimir_tdx_quote *q, const uint8_t *fmspc)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("tdx"));
    json_object_set_new(o, "version", json_integer(q->version));
    json_object_set_new(o, "body_type", json_string(q->body_type == 3 ? "td-report-1.5"
                                                                       : "td-report-1.0"));
    json_object_set_new(o, "debug", json_boolean((q->td_attributes & MIMIR_TDX_ATTR_DEBUG) != 0));
    json_object_set_new(o, "mrtd", mimir_attest_hex(q->mrtd, 48));
    static const char *const rtmr[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
    for (int i = 0; i < 4; i++)
        json_object_set_new(o, rtmr[i], mimir_attest_hex(q->rtmr[i], 48));
    json_object_set_new(o, "report_data", mimir_attest_hex(q->report_data, 64));
    json_object_set_new(o, "tee_tcb_svn", mimir_attest_hex(q->tee_tcb_svn, 16));
    if (q->body_type == 3)
        json_object_set_new(o, "tee_tcb_svn2", mimir_attest_hex(q->tee_tcb_svn2, 16));
    json_object_set_new(o, "mrseam", mimir_attest_hex(q->mrseam, 48));
    json_object_set_new(o, "mrsignerseam", mimir_attest_hex(q->mrsignerseam, 48));
    json_object_set_new(o, "seam_attributes", mimir_attest_hex(q->seam_attributes, 8));
    json_t *a = json_object();
    json_object_set_new(a, "raw", u64_hex(q->td_attributes));
    json_object_set_new(a, "debug", json_boolean((q->td_attributes & MIMIR_TDX_ATTR_DEBUG) != 0));
    json_object_set_new(a, "sept_ve_disable",
                        json_boolean((q->td_attributes & MIMIR_TDX_ATTR_SEPT_VE_DISABLE) != 0));
    json_object_set_new(a, "pks", json_boolean((q->td_attributes & MIMIR_TDX_ATTR_PKS) != 0));
    json_object_set_new(a, "kl", json_boolean((q->td_attributes & MIMIR_TDX_ATTR_KL) != 0));
    json_object_set_new(a, "perfmon",
                        json_boolean((q->td_attributes & MIMIR_TDX_ATTR_PERFMON) != 0));
    json_object_set_new(o, "td_attributes", a);
    json_object_set_new(o, "xfam", u64_hex(q->xfam));
    json_object_set_new(o, "mrconfigid", mimir_attest_hex(q->mrconfigid, 48));
    json_object_set_new(o, "mrowner", mimir_attest_hex(q->mrowner, 48));
    json_object_set_new(o, "mrownerconfig", mimir_attest_hex(q->mrownerconfig, 48));
    if (q->body_type == 3)
        json_object_set_new(o, "mrservicetd", mimir_attest_hex(q->mrservicetd, 48));
    json_object_set_new(o, "qe_vendor_id", mimir_attest_hex(q->qe_vendor_id, 16));
    json_object_set_new(o, "user_data", mimir_attest_hex(q->user_data, 20));
    json_object_set_new(o, "fmspc", fmspc ? mimir_attest_hex(fmspc, FMSPC_BYTES) : json_null());
    json_t *e = json_object();
    json_object_set_new(e, "mrenclave", mimir_attest_hex(q->qe.mrenclave, 32));
    json_object_set_new(e, "mrsigner", mimir_attest_hex(q->qe.mrsigner, 32));
    json_object_set_new(e, "isvprodid", json_integer(q->qe.isvprodid));
    json_object_set_new(e, "isvsvn", json_integer(q->qe.isvsvn));
    json_object_set_new(e, "cpusvn", mimir_attest_hex(q->qe.cpusvn, 16));
    json_object_set_new(e, "miscselect", json_integer(q->qe.miscselect));
    json_object_set_new(e, "attributes", mimir_attest_hex(q->qe.attributes, 16));
    json_object_set_new(e, "auth_data", mimir_attest_hex(q->qe_auth, q->qe_auth_len));
    json_object_set_new(o, "qe", e);
    json_object_set_new(o, "quote_bytes", json_integer((json_int_t)q->quote_len));
    json_object_set_new(o, "trailing_bytes", json_integer((json_int_t)q->trailing));
    return o;
}

int mimir_tdx_verify(const uint8_t *buf, size_t len, const char *name,
                     const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err)
{
    mimir_tdx_quote q;
    int rc = mimir_tdx_parse(buf, len, name, &q, err);
    if (rc != MIMIR_OK)
        return rc;
    if (opts->certs != NULL && sk_X509_num(opts->certs) > 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "--cert",
                             "a TDX quote carries its own PCK chain, --cert is for SEV-SNP only");
    res->kind = MIMIR_EVIDENCE_TDX;
    check_quote_sig(buf, &q, res);
    uint8_t fmspc[FMSPC_BYTES];
    rc = check_pck(&q, opts, res, fmspc, err);
    if (rc > 0)
        return rc;
    check_binding(&q, res);
    check_qe_identity(&q, res);
    json_decref(res->fields);
    res->fields = quote_json(&q, rc == 0 ? fmspc : NULL);
    if (res->fields == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    if (err != NULL)
        mimir_err_clear(err);
    return MIMIR_OK;
}
