#include "attest/cert.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "attest/x509.h"

static const char *media_type(int kind)
{
    switch (kind) {
    case MIMIR_EVIDENCE_SNP: return "application/vnd.amd.sev-snp.attestation-report";
    case MIMIR_EVIDENCE_TDX: return "application/vnd.intel.tdx.quote";
    case MIMIR_EVIDENCE_SIMULATED: return "application/vnd.mimir.simulated-evidence";
    default: return NULL;
    }
}

static int spki_sha256(EVP_PKEY *key, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key, &der);
    unsigned hl = 32;
    int ok = n > 0 && EVP_Digest(der, (size_t)n, out, &hl, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

int mimir_attest_binding(EVP_PKEY *key, const uint8_t *nonce, size_t nlen,
                         uint8_t out[MIMIR_ATTEST_REPORT_DATA_BYTES], mimir_err *err)
{
    memset(out, 0, MIMIR_ATTEST_REPORT_DATA_BYTES);
    if (nlen > MIMIR_ATTEST_NONCE_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "nonce", "nonce of %zu bytes, expected at "
                             "most %d", nlen, MIMIR_ATTEST_NONCE_MAX);
    if (spki_sha256(key, out) != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "key", "cannot encode the public key");
    if (nlen > 0)
        memcpy(out + 32, nonce, nlen);
    return MIMIR_OK;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

static int add_cmw(X509 *x, int kind, const uint8_t *ev, size_t n)
{
    size_t b64len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *b64 = malloc(b64len);
    json_t *rec = NULL;
    char *js = NULL;
    ASN1_UTF8STRING *u = ASN1_UTF8STRING_new();
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *obj = OBJ_txt2obj(MIMIR_ATTEST_CMW_OID, 1);
    unsigned char *der = NULL;
    int ok = 0;
    if (b64 == NULL || u == NULL || os == NULL || obj == NULL)
        goto done;
    sodium_bin2base64(b64, b64len, ev, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    rec = json_pack("[ss]", media_type(kind), b64);
    js = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    if (js == NULL || !ASN1_STRING_set(u, js, (int)strlen(js)))
        goto done;
    int dl = i2d_ASN1_UTF8STRING(u, &der);
    if (dl <= 0 || !ASN1_OCTET_STRING_set(os, der, dl))
        goto done;
    X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
    ok = e != NULL && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
done:
    free(b64);
    json_decref(rec);
    free(js);
    OPENSSL_free(der);
    ASN1_UTF8STRING_free(u);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(obj);
    return ok;
}

int mimir_attest_cert_new(EVP_PKEY *key, const char *cn, int days, time_t now,
                          const uint8_t *evidence, size_t n, X509 **out, mimir_err *err)
{
    *out = NULL;
    int kind = mimir_attest_detect(evidence, n);
    if (media_type(kind) == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "evidence", "not a SEV-SNP report, TDX "
                             "quote or simulated evidence");
    X509 *x = X509_new();
    BIGNUM *sn = BN_new();
    int ok = x != NULL && sn != NULL && X509_set_version(x, 2) &&
             BN_rand(sn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) != NULL &&
             X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &now) != NULL &&
             X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                                        (const unsigned char *)cn, -1, -1, 0) &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) && X509_set_pubkey(x, key) &&
             add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, NID_ext_key_usage, "serverAuth,clientAuth") &&
             add_ext(x, NID_subject_key_identifier, "hash") && add_cmw(x, kind, evidence, n) &&
             X509_sign(x, key, EVP_sha256()) > 0;
    BN_free(sn);
    ERR_clear_error();
    if (!ok) {
        X509_free(x);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "certificate", "cannot build the "
                             "certificate");
    }
    *out = x;
    return MIMIR_OK;
}

/* The evidence in x's CMW extension, malloc'd. MIMIR_ESECURITY if absent or undecodable. */
static int cmw_evidence(X509 *x, const char *name, uint8_t **ev, size_t *n, mimir_err *err)
{
    size_t len;
    const uint8_t *p = mimir_x509_ext(x, MIMIR_ATTEST_CMW_OID, &len), *q = p;
    if (p == NULL)
        return mimir_err_set(err, MIMIR_ESECURITY, name, "cmw", "the certificate carries no "
                             "evidence (extension " MIMIR_ATTEST_CMW_OID ")");
    ASN1_UTF8STRING *u = d2i_ASN1_UTF8STRING(NULL, &q, (long)len);
    json_t *rec = NULL;
    const char *mt = NULL, *b64 = NULL;
    int rc = MIMIR_ESECURITY;
    if (u != NULL && q == p + len)
        rec = json_loadb((const char *)ASN1_STRING_get0_data(u), (size_t)ASN1_STRING_length(u),
                         0, NULL);
    if (rec == NULL || json_unpack(rec, "[ss!]", &mt, &b64) != 0) {
        mimir_err_set(err, rc, name, "cmw", "evidence extension is not a JSON CMW record "
                      "[media type, base64url]");
        goto done;
    }
    size_t cap = strlen(b64);
    *ev = malloc(cap + 1);
    if (*ev == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
        goto done;
    }
    if (sodium_base642bin(*ev, cap, b64, strlen(b64), NULL, n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(*ev);
        *ev = NULL;
        mimir_err_set(err, rc, name, "cmw", "evidence is not base64url");
        goto done;
    }
    rc = MIMIR_OK;
done:
    json_decref(rec);
    ASN1_UTF8STRING_free(u);
    return rc;
}

int mimir_attest_cert_verify(const uint8_t *buf, size_t len, const char *name,
                             const mimir_attest_opts *opts, mimir_attest_result *res,
                             mimir_err *err)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (certs == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    uint8_t *ev = NULL;
    size_t n = 0;
    int rc = mimir_x509_load(buf, len, name, certs, err);
    if (rc == MIMIR_OK && sk_X509_num(certs) != 1)
        rc = mimir_err_set(err, MIMIR_EINPUT, name, NULL, "expected one certificate");
    if (rc != MIMIR_OK)
        goto done;
    X509 *x = sk_X509_value(certs, 0);
    if ((rc = cmw_evidence(x, name, &ev, &n, err)) != MIMIR_OK)
        goto done;
    int kind = mimir_attest_detect(ev, n);
    if (kind != MIMIR_EVIDENCE_SNP && kind != MIMIR_EVIDENCE_TDX &&
        kind != MIMIR_EVIDENCE_SIMULATED) {
        rc = mimir_err_set(err, MIMIR_EINPUT, name, "cmw", "the certificate's evidence is not a "
                           "SEV-SNP report, TDX quote or simulated evidence");
        goto done;
    }
    EVP_PKEY *key = X509_get0_pubkey(x);
    int sig = key != NULL && X509_verify(x, key) == 1;
    mimir_attest_check(res, "cert_signature", sig, "certificate self-signature %s",
                       sig ? "verifies" : "does not verify");
    time_t at = opts->at;
    int valid = X509_cmp_time(X509_get0_notBefore(x), &at) < 0 &&
                X509_cmp_time(X509_get0_notAfter(x), &at) > 0;
    mimir_attest_check(res, "cert_validity", valid, "verification time %s the certificate's "
                       "validity period", valid ? "inside" : "outside");
    ERR_clear_error();
    if ((rc = mimir_attest_verify(ev, n, name, opts, res, err)) != MIMIR_OK)
        goto done;
    uint8_t h[32];
    char hex[65];
    if (key == NULL || spki_sha256(key, h) != 0) {
        rc = mimir_err_set(err, MIMIR_ESECURITY, name, "key", "unusable public key");
        goto done;
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    const char *rd = json_string_value(json_object_get(res->fields, "report_data"));
    int bound = rd != NULL && strncmp(rd, hex, 64) == 0;
    mimir_attest_check(res, "cert_binding", bound, "report_data[0..32) %s SHA-256 of the "
                       "certificate's public key", bound ? "equals" : "does not equal");
    json_t *c = json_object();
    char cn[256];
    mimir_x509_cn(x, cn, sizeof cn);
    json_object_set_new(c, "subject_cn", json_string(cn));
    json_object_set_new(c, "public_key_sha256", json_string(hex));
    json_object_set_new(res->fields, "certificate", c);
done:
    free(ev);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}
