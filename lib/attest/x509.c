#include "attest/x509.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "attest/pins.h"

#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    for (; (size_t)(end - p) >= n; p++)
        if (memcmp(p, s, n) == 0)
            return p;
    return NULL;
}

/* One DER certificate that must fill [p, p+n) exactly. */
static int push_der(const uint8_t *p, size_t n, const char *name, int idx, STACK_OF(X509) *certs,
                    mimir_err *err)
{
    const uint8_t *q = p;
    if (n > (1u << 20))
        return mimir_err_set(err, MIMIR_EINPUT, name, NULL, "certificate too large");
    X509 *x = d2i_X509(NULL, &q, (long)n);
    if (x == NULL || q != p + n) {
        X509_free(x);
        return mimir_err_set(err, MIMIR_ESECURITY, name, NULL,
                             "certificate %d does not decode as one DER X.509 certificate, so it "
                             "cannot be authenticated", idx);
    }
    if (!sk_X509_push(certs, x)) {
        X509_free(x);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    }
    return MIMIR_OK;
}

static int push_pem(const uint8_t *b, const uint8_t *e, const char *name, int idx,
                    STACK_OF(X509) *certs, mimir_err *err)
{
    size_t n = (size_t)(e - b);
    uint8_t *der = OPENSSL_malloc(n + 64);
    if (der == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int len = 0, fin = 0, ok = 0;
    if (ctx != NULL && n <= 1 << 20) {
        EVP_DecodeInit(ctx);
        ok = EVP_DecodeUpdate(ctx, der, &len, b, (int)n) >= 0 &&
             EVP_DecodeFinal(ctx, der + len, &fin) == 1;
    }
    EVP_ENCODE_CTX_free(ctx);
    int rc;
    if (!ok)
        rc = mimir_err_set(err, MIMIR_ESECURITY, name, NULL,
                           "certificate %d: PEM body is not valid base64, so it cannot be "
                           "authenticated", idx);
    else
        rc = push_der(der, (size_t)(len + fin), name, idx, certs, err);
    OPENSSL_free(der);
    return rc;
}

int mimir_x509_load(const uint8_t *buf, size_t len, const char *name, STACK_OF(X509) *certs,
                    mimir_err *err)
{
    const uint8_t *p = buf, *end = buf + len;
    while (p < end && is_space(*p))
        p++;
    if (p == end)
        return mimir_err_set(err, MIMIR_EINPUT, name, NULL,
                             "no certificate, expected a PEM bundle or a DER certificate");
    if ((size_t)(end - p) < 5 || memcmp(p, "-----", 5) != 0)
        return push_der(buf, len, name, 1, certs, err);
    int idx = 0;
    while (p < end) {
        idx++;
        size_t nb = strlen(PEM_BEGIN);
        if ((size_t)(end - p) < nb || memcmp(p, PEM_BEGIN, nb) != 0)
            return mimir_err_set(err, MIMIR_ESECURITY, name, NULL,
                                 "certificate %d: expected a \"" PEM_BEGIN "\" line; the "
                                 "bundle cannot be authenticated", idx);
        const uint8_t *b = p + nb, *e = find(b, end, PEM_END);
        if (e == NULL)
            return mimir_err_set(err, MIMIR_ESECURITY, name, NULL,
                                 "certificate %d: no \"" PEM_END "\" line", idx);
        int rc = push_pem(b, e, name, idx, certs, err);
        if (rc != MIMIR_OK)
            return rc;
        p = e + strlen(PEM_END);
        while (p < end && is_space(*p))
            p++;
    }
    return MIMIR_OK;
}

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    const unsigned *flags = X509_STORE_CTX_get_app_data(ctx);
    if (!ok && (*flags & MIMIR_CHAIN_AMD_LEAF) &&
        X509_STORE_CTX_get_error(ctx) == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER &&
        X509_STORE_CTX_get_error_depth(ctx) == 0)
        return 1; /* AMD VCEK/VLEK: no AKID by design; the issuer is matched by name and key */
    return ok;
}

static int add_pins(X509_STORE *store, int vendor)
{
    for (size_t i = 0; i < mimir_attest_npins; i++) {
        if (mimir_attest_pins[i].vendor != vendor)
            continue;
        const unsigned char *p = mimir_attest_pins[i].der;
        X509 *x = d2i_X509(NULL, &p, (long)mimir_attest_pins[i].len);
        int ok = x != NULL && X509_STORE_add_cert(store, x);
        X509_free(x);
        if (!ok)
            return -1;
    }
    return 0;
}

static int which_pin(X509 *top, int vendor)
{
    unsigned char *der = NULL;
    int n = i2d_X509(top, &der);
    int found = -1;
    for (size_t i = 0; n > 0 && i < mimir_attest_npins; i++)
        if (mimir_attest_pins[i].vendor == vendor && mimir_attest_pins[i].len == (size_t)n &&
            memcmp(mimir_attest_pins[i].der, der, (size_t)n) == 0)
            found = (int)i;
    OPENSSL_free(der);
    return found;
}

static int in_chain(STACK_OF(X509) *chain, X509 *x)
{
    for (int i = 0; i < sk_X509_num(chain); i++)
        if (X509_cmp(sk_X509_value(chain, i), x) == 0)
            return 1;
    return 0;
}

int mimir_x509_verify_chain(X509 *leaf, STACK_OF(X509) *certs, int vendor,
                            STACK_OF(X509) *extra_anchors, time_t at, unsigned flags, int *pin,
                            mimir_err *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = MIMIR_OK;
    if (store == NULL || ctx == NULL || add_pins(store, vendor) != 0) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "chain", "out of memory");
        goto done;
    }
    for (int i = 0; extra_anchors != NULL && i < sk_X509_num(extra_anchors); i++)
        X509_STORE_add_cert(store, sk_X509_value(extra_anchors, i));
    if (!X509_STORE_CTX_init(ctx, store, leaf, certs)) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "chain", "out of memory");
        goto done;
    }
    X509_STORE_CTX_set_app_data(ctx, &flags);
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, at);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        char cn[128];
        X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
        if (cur != NULL)
            mimir_x509_cn(cur, cn, sizeof cn);
        else
            snprintf(cn, sizeof cn, "?");
        rc = mimir_err_set(err, MIMIR_ESECURITY, NULL, "chain",
                           "certificate \"%s\" (depth %d): %s", cn,
                           X509_STORE_CTX_get_error_depth(ctx), X509_verify_cert_error_string(e));
        goto done;
    }
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
    *pin = which_pin(top, vendor);
    for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
        X509 *x = sk_X509_value(certs, i);
        if (!in_chain(chain, x)) {
            char cn[128];
            mimir_x509_cn(x, cn, sizeof cn);
            rc = mimir_err_set(err, MIMIR_ESECURITY, NULL, "chain",
                               "certificate \"%s\" is not part of the verified chain (a pinned "
                               "root must be byte-identical to the pin)", cn);
            goto done;
        }
    }
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

const uint8_t *mimir_x509_ext(X509 *cert, const char *oid, size_t *len)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    if (obj == NULL)
        return NULL;
    int i = X509_get_ext_by_OBJ(cert, obj, -1);
    ASN1_OBJECT_free(obj);
    if (i < 0)
        return NULL;
    ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(cert, i));
    *len = (size_t)ASN1_STRING_length(v);
    return ASN1_STRING_get0_data(v);
}

void mimir_x509_cn(X509 *cert, char *buf, size_t cap)
{
    buf[0] = '\0';
    X509_NAME *n = X509_get_subject_name(cert);
    int r = n ? X509_NAME_get_text_by_NID(n, NID_commonName, buf, (int)cap) : -1;
    if (r < 0)
        buf[0] = '\0';
}

int mimir_x509_sha256(X509 *cert, uint8_t out[32])
{
    unsigned int n = 32;
    return X509_digest(cert, EVP_sha256(), out, &n) == 1 ? 0 : -1;
}
