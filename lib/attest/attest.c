#include "attest/attest.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include "attest/cert.h"
#include "attest/sim.h"
#include "attest/snp.h"
#include "attest/tdx.h"

int mimir_attest_result_init(mimir_attest_result *res, mimir_err *err)
{
    memset(res, 0, sizeof *res);
    res->fields = json_object();
    res->checks = json_array();
    if (res->fields == NULL || res->checks == NULL) {
        mimir_attest_result_free(res);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    }
    return MIMIR_OK;
}

void mimir_attest_result_free(mimir_attest_result *res)
{
    if (res == NULL)
        return;
    json_decref(res->fields);
    json_decref(res->checks);
    res->fields = res->checks = NULL;
}

void mimir_attest_check(mimir_attest_result *res, const char *name, int ok, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *c = json_object();
    json_object_set_new(c, "check", json_string(name));
    json_object_set_new(c, "ok", json_boolean(ok));
    json_object_set_new(c, "detail", json_string(detail));
    json_array_append_new(res->checks, c);
    if (!ok)
        res->failed++;
}

int mimir_attest_detect(const uint8_t *b, size_t len)
{
    if (len >= MIMIR_SIM_MAGIC_BYTES && memcmp(b, MIMIR_SIM_MAGIC, MIMIR_SIM_MAGIC_BYTES) == 0)
        return MIMIR_EVIDENCE_SIMULATED;
    size_t pem = strlen("-----BEGIN CERTIFICATE-----");
    if ((len >= pem && memcmp(b, "-----BEGIN CERTIFICATE-----", pem) == 0) ||
        (len >= 8 && b[0] == 0x30 && b[1] == 0x82))
        return MIMIR_EVIDENCE_CERT; /* PEM, or DER SEQUENCE with a two-byte length */
    if (len < 8)
        return MIMIR_EVIDENCE_UNKNOWN;
    /* A quote starts with u16 version, u16 attestation key type (non-zero); an SNP report with
     * a u32 version whose upper half is zero. */
    if (b[2] == 0 && b[3] == 0)
        return MIMIR_EVIDENCE_SNP;
    return MIMIR_EVIDENCE_TDX;
}

const char *mimir_attest_kind_name(int kind)
{
    switch (kind) {
    case MIMIR_EVIDENCE_SNP: return "sev-snp";
    case MIMIR_EVIDENCE_TDX: return "tdx";
    case MIMIR_EVIDENCE_SIMULATED: return "simulated";
    case MIMIR_EVIDENCE_CERT: return "certificate";
    default: return "unknown";
    }
}

int mimir_attest_verify(const uint8_t *buf, size_t len, const char *name,
                        const mimir_attest_opts *opts, mimir_attest_result *res, mimir_err *err)
{
    if (len > MIMIR_ATTEST_MAX_EVIDENCE)
        return mimir_err_set(err, MIMIR_EINPUT, name, "size",
                             "evidence of %zu bytes, expected at most %d", len,
                             MIMIR_ATTEST_MAX_EVIDENCE);
    switch (mimir_attest_detect(buf, len)) {
    case MIMIR_EVIDENCE_SNP: return mimir_snp_verify(buf, len, name, opts, res, err);
    case MIMIR_EVIDENCE_TDX: return mimir_tdx_verify(buf, len, name, opts, res, err);
    case MIMIR_EVIDENCE_SIMULATED: return mimir_sim_verify(buf, len, name, opts, res, err);
    case MIMIR_EVIDENCE_CERT:
        if (res->kind == MIMIR_EVIDENCE_CERT)
            return mimir_err_set(err, MIMIR_EINPUT, name, NULL, "a certificate inside a "
                                 "certificate's evidence");
        res->kind = MIMIR_EVIDENCE_CERT;
        return mimir_attest_cert_verify(buf, len, name, opts, res, err);
    default:
        return mimir_err_set(err, MIMIR_EINPUT, name, NULL,
                             "%zu bytes: not a SEV-SNP report, a TDX quote or Mimir simulated "
                             "evidence", len);
    }
}

int mimir_attest_failures(const mimir_attest_result *res, const char *sep, size_t detail_max,
                          char *buf, size_t cap)
{
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    int prec = detail_max > INT_MAX ? INT_MAX : (int)detail_max;
    size_t used = 0, i;
    json_t *c;
    json_array_foreach(res->checks, i, c) {
        if (json_is_true(json_object_get(c, "ok")))
            continue;
        const char *name = json_string_value(json_object_get(c, "check"));
        const char *detail = json_string_value(json_object_get(c, "detail"));
        int n = snprintf(buf + used, cap - used, "%s%s%s%.*s", used ? sep : "",
                         name != NULL ? name : "?", prec ? ": " : "", prec,
                         prec && detail != NULL ? detail : "");
        if (n < 0 || (size_t)n >= cap - used) {
            buf[used] = '\0'; /* whole entries only */
            return -1;
        }
        used += (size_t)n;
    }
    return 0;
}

void mimir_attest_unverified(const mimir_err *e, char *buf, size_t cap)
{
    snprintf(buf, cap, MIMIR_ATTEST_CHECK_EVIDENCE ": %s%s%s", e->field,
             e->field[0] ? ": " : "", e->msg);
}

json_t *mimir_attest_hex(const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * n + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    s[2 * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

int mimir_attest_ecdsa_verify(EVP_PKEY *key, const EVP_MD *md, const uint8_t *msg, size_t len,
                              const uint8_t *r, const uint8_t *s, size_t n, int little)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = little ? BN_lebin2bn(r, (int)n, NULL) : BN_bin2bn(r, (int)n, NULL);
    BIGNUM *bs = little ? BN_lebin2bn(s, (int)n, NULL) : BN_bin2bn(s, (int)n, NULL);
    unsigned char *der = NULL;
    int ok = 0, dlen = -1;
    if (sig == NULL || br == NULL || bs == NULL || !ECDSA_SIG_set0(sig, br, bs)) {
        BN_free(br);
        BN_free(bs);
        goto done;
    }
    dlen = i2d_ECDSA_SIG(sig, &der);
    if (dlen <= 0)
        goto done;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1)
        ok = EVP_DigestVerify(ctx, der, (size_t)dlen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
done:
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok;
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return -1;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

static int expect(const char **s, const char *set)
{
    if (**s == '\0' || strchr(set, **s) == NULL)
        return -1;
    (*s)++;
    return 0;
}

int mimir_attest_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, se, off = 0;
    if (digits(&s, 4, &y) || expect(&s, "-") || digits(&s, 2, &mo) || expect(&s, "-") ||
        digits(&s, 2, &d) || expect(&s, "Tt ") || digits(&s, 2, &h) || expect(&s, ":") ||
        digits(&s, 2, &mi) || expect(&s, ":") || digits(&s, 2, &se))
        return -1;
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, oh, om;
        s++;
        if (digits(&s, 2, &oh) || expect(&s, ":") || digits(&s, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se == 60 ? 59 : se;
    *out = timegm(&tm) - off;
    return 0;
}
