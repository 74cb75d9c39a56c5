/* attest/admit.c — the peer admission hook: certificate evidence + policy, each failure named. */
#include "attest/admit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "attest/cert.h"
#include "attest/policy.h"
#include "attest/x509.h"
#include "io.h"

#define NAME_BYTES 32
#define DETAIL_MAX 160 /* characters of one check's detail in a refusal message */

struct mimir_admit {
    mimir_attest_policy *pol;
    json_t *root;   /* the same policy as JSON, for its platform sections */
    int require;    /* refuse a certificate without evidence */
    int fixed;      /* at is fixed by the cluster file */
    time_t at;
};

void mimir_admit_free(mimir_admit *a)
{
    if (a == NULL)
        return;
    mimir_policy_free(a->pol);
    json_decref(a->root);
    free(a);
}

int mimir_admit_new(const mimir_cluster *c, mimir_admit **out, mimir_err *err)
{
    *out = NULL;
    if (c->attest_policy_path == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, c->path, "attestation",
                             "missing: the cluster file names no attestation policy");
    const char *path = c->attest_policy_path;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, MIMIR_POLICY_MAX_BYTES, &buf, &len, err);
    if (rc != MIMIR_OK) {
        /* an unreadable policy is a bad configuration (exit 2), not a runtime failure */
        if (err != NULL && rc == MIMIR_ERUNTIME)
            err->code = MIMIR_EINPUT;
        return rc == MIMIR_ERUNTIME ? MIMIR_EINPUT : rc;
    }
    mimir_admit *a = calloc(1, sizeof *a);
    if (a == NULL) {
        free(buf);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    rc = mimir_policy_parse(buf, len, path, &a->pol, err);
    if (rc == MIMIR_OK) {
        a->root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
        if (a->root == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    free(buf);
    a->require = c->attest_require;
    if (rc == MIMIR_OK && c->attest_at != NULL) {
        a->fixed = 1;
        if (mimir_attest_parse_time(c->attest_at, &a->at) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, c->path, "attestation.at",
                               "expected an RFC 3339 time");
    }
    if (rc != MIMIR_OK) {
        mimir_admit_free(a);
        return rc;
    }
    *out = a;
    return MIMIR_OK;
}

int mimir_admit_configure(const mimir_cluster *c, mimir_net_opts *opts, mimir_admit **out,
                          mimir_err *err)
{
    *out = NULL;
    if (c->attest_policy_path == NULL)
        return MIMIR_OK;
    int rc = mimir_admit_new(c, out, err);
    if (rc != MIMIR_OK)
        return rc;
    opts->admit = mimir_admit_hook;
    opts->admit_arg = *out;
    return MIMIR_OK;
}

/* "NAME: detail; NAME: detail", the names of `mimir-attest verify` and the key broker (led by
 * "simulated evidence: " for simulated evidence); names only if the details do not fit. net.c
 * puts "refused: attestation: " before it. */
static void refusal(const mimir_attest_result *res, char *msg, size_t cap)
{
    const char *lead = res->kind == MIMIR_EVIDENCE_SIMULATED ? "simulated evidence: " : "";
    size_t n = strlen(lead) < cap ? strlen(lead) : 0;
    memcpy(msg, lead, n);
    if (mimir_attest_failures(res, "; ", DETAIL_MAX, msg + n, cap - n) != 0)
        mimir_attest_failures(res, "; ", 0, msg + n, cap - n); /* else as many names as fit */
}

int mimir_admit_hook(void *arg, int peer, const uint8_t *der, size_t len, mimir_err *err)
{
    const mimir_admit *a = arg;
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "party %d", peer);
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    size_t extlen = 0;
    int decodes = x != NULL && p == der + len;
    int has_evidence = decodes && mimir_x509_ext(x, MIMIR_ATTEST_CMW_OID, &extlen) != NULL;
    X509_free(x);
    ERR_clear_error();
    if (!decodes)
        return mimir_err_set(err, MIMIR_ESECURITY, name, MIMIR_ADMIT_FIELD,
                             MIMIR_ATTEST_CHECK_CERTIFICATE
                             ": it is not one DER X.509 certificate");
    if (!has_evidence) {
        if (!a->require)
            return MIMIR_OK;
        return mimir_err_set(err, MIMIR_ESECURITY, name, MIMIR_ADMIT_FIELD,
                             MIMIR_ATTEST_CHECK_EVIDENCE ": the certificate carries no "
                             "attestation evidence (extension " MIMIR_ATTEST_CMW_OID "), and "
                             "the cluster requires it");
    }
    mimir_attest_result res;
    mimir_err e;
    mimir_err_clear(&e);
    int rc = mimir_attest_result_init(&res, err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_attest_opts o = {a->fixed ? a->at : time(NULL), NULL, NULL};
    rc = mimir_attest_cert_verify(der, len, name, &o, &res, &e);
    ERR_clear_error();
    if (rc == MIMIR_ERUNTIME) {
        if (err != NULL)
            *err = e;
    } else if (rc != MIMIR_OK) {
        /* malformed evidence from a peer is a refusal, not a usage error of ours */
        char msg[MIMIR_ERR_MSGBYTES];
        mimir_attest_unverified(&e, msg, sizeof msg);
        rc = mimir_err_set(err, MIMIR_ESECURITY, name, MIMIR_ADMIT_FIELD, "%s", msg);
    } else {
        mimir_policy_apply(a->pol, &res);
        if (res.failed > 0) {
            char msg[MIMIR_ERR_MSGBYTES];
            refusal(&res, msg, sizeof msg);
            rc = mimir_err_set(err, MIMIR_ESECURITY, name, MIMIR_ADMIT_FIELD, "%s", msg);
        }
    }
    mimir_attest_result_free(&res);
    return rc;
}
