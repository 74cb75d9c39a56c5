#include "attest/policy.h"

#include <stdlib.h>
#include <string.h>

#include "hex.h"

struct mimir_attest_policy {
    json_t *root; /* validated policy; rules are read from it when applied */
};

/* ---- validation ---- */

typedef struct vctx {
    const char *name;
    mimir_err *err;
} vctx;

static int bad(vctx *v, const char *key, const char *what)
{
    return mimir_err_set(v->err, MIMIR_EINPUT, v->name, key, "%s", what);
}

/* Decodes hex of at most max bytes (exactly max if exact). Returns the length or -1. */
static int unhex(const char *s, uint8_t *out, size_t max, int exact)
{
    size_t n = strlen(s), got;
    if (n == 0 || (exact && n != 2 * max) || mimir_hex_decode(s, n, out, max, &got, NULL) != 0)
        return -1;
    return (int)got;
}

static int check_hex(vctx *v, const char *key, json_t *j, size_t max, int exact)
{
    uint8_t buf[64];
    char what[160];
    snprintf(what, sizeof what, "expected a hex string of %s%zu bytes", exact ? "" : "1 to ",
             max);
    if (!json_is_string(j) || unhex(json_string_value(j), buf, max, exact) < 0)
        return bad(v, key, what);
    return MIMIR_OK;
}

static int check_hex_list(vctx *v, const char *key, json_t *j, size_t bytes)
{
    if (!json_is_array(j) || json_array_size(j) == 0)
        return bad(v, key, "expected a non-empty array of hex strings");
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
        int rc = check_hex(v, key, e, bytes, 1);
        if (rc)
            return rc;
    }
    return MIMIR_OK;
}

static int check_uint(vctx *v, const char *key, json_t *j, json_int_t max)
{
    char what[96];
    snprintf(what, sizeof what, "expected an integer from 0 to %lld", (long long)max);
    if (!json_is_integer(j) || json_integer_value(j) < 0 || json_integer_value(j) > max)
        return bad(v, key, what);
    return MIMIR_OK;
}

static const char *const SNP_TCB[] = {"bootloader", "tee", "snp", "microcode", "fmc", NULL};
static const char *const PRODUCTS[] = {"Milan", "Genoa", "Turin", NULL};
static const char *const PLATFORMS[] = {"sev-snp", "tdx", NULL};
static const char *const RTMRS[] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int check_names(vctx *v, const char *key, json_t *j, const char *const *allowed,
                       const char *what)
{
    if (!json_is_array(j) || json_array_size(j) == 0)
        return bad(v, key, what);
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) if (!json_is_string(e) || !in_list(json_string_value(e), allowed))
        return bad(v, key, what);
    return MIMIR_OK;
}

static int check_snp(vctx *v, json_t *s)
{
    if (!json_is_object(s))
        return bad(v, "sev_snp", "expected an object");
    const char *k;
    json_t *j;
    json_object_foreach(s, k, j) {
        int rc;
        if (strcmp(k, "measurements") == 0) {
            rc = check_hex_list(v, "sev_snp.measurements", j, 48);
        } else if (strcmp(k, "product_lines") == 0) {
            rc = check_names(v, "sev_snp.product_lines", j, PRODUCTS,
                             "expected a non-empty array of \"Milan\", \"Genoa\", \"Turin\"");
        } else if (strcmp(k, "min_tcb") == 0) {
            if (!json_is_object(j) || json_object_size(j) == 0)
                return bad(v, "sev_snp.min_tcb", "expected an object of TCB components");
            const char *c;
            json_t *x;
            rc = MIMIR_OK;
            json_object_foreach(j, c, x) {
                char key[64];
                snprintf(key, sizeof key, "sev_snp.min_tcb.%s", c);
                if (!in_list(c, SNP_TCB))
                    return bad(v, key, "unknown TCB component, expected bootloader, tee, snp, "
                                       "microcode or fmc");
                if ((rc = check_uint(v, key, x, 255)) != 0)
                    return rc;
            }
        } else if (strcmp(k, "min_guest_svn") == 0) {
            rc = check_uint(v, "sev_snp.min_guest_svn", j, 0xffffffffll);
        } else if (strcmp(k, "max_vmpl") == 0) {
            rc = check_uint(v, "sev_snp.max_vmpl", j, 3);
        } else {
            char key[96];
            snprintf(key, sizeof key, "sev_snp.%s", k);
            return bad(v, key, "unknown key, expected measurements, product_lines, min_tcb, "
                               "min_guest_svn or max_vmpl");
        }
        if (rc)
            return rc;
    }
    return MIMIR_OK;
}

static int check_tdx(vctx *v, json_t *s)
{
    if (!json_is_object(s))
        return bad(v, "tdx", "expected an object");
    const char *k;
    json_t *j;
    json_object_foreach(s, k, j) {
        char key[96];
        snprintf(key, sizeof key, "tdx.%s", k);
        int rc;
        if (strcmp(k, "mrtd") == 0 || strcmp(k, "mrseam") == 0 || in_list(k, RTMRS))
            rc = check_hex_list(v, key, j, 48);
        else if (strcmp(k, "min_tee_tcb_svn") == 0)
            rc = check_hex(v, key, j, 16, 1);
        else if (strcmp(k, "fmspc") == 0)
            rc = check_hex_list(v, key, j, 6);
        else
            return bad(v, key, "unknown key, expected mrtd, rtmr0..rtmr3, mrseam, "
                               "min_tee_tcb_svn or fmspc");
        if (rc)
            return rc;
    }
    return MIMIR_OK;
}

static int check_root(vctx *v, json_t *root)
{
    if (!json_is_object(root))
        return bad(v, NULL, "a policy is a JSON object");
    json_t *ver = json_object_get(root, "mimir_attest_policy");
    if (!json_is_integer(ver) || json_integer_value(ver) != MIMIR_POLICY_VERSION)
        return bad(v, "mimir_attest_policy", "missing or unsupported policy version, expected 1");
    const char *k;
    json_t *j;
    json_object_foreach(root, k, j) {
        int rc = MIMIR_OK;
        if (strcmp(k, "mimir_attest_policy") == 0)
            continue;
        if (strcmp(k, "platforms") == 0)
            rc = check_names(v, k, j, PLATFORMS,
                             "expected a non-empty array of \"sev-snp\", \"tdx\"");
        else if (strcmp(k, "allow_debug") == 0 || strcmp(k, "allow_simulated") == 0)
            rc = json_is_boolean(j) ? MIMIR_OK : bad(v, k, "expected true or false");
        else if (strcmp(k, "report_data") == 0)
            rc = check_hex(v, k, j, 64, 0);
        else if (strcmp(k, "nonce") == 0)
            rc = check_hex(v, k, j, 32, 0);
        else if (strcmp(k, "sev_snp") == 0)
            rc = check_snp(v, j);
        else if (strcmp(k, "tdx") == 0)
            rc = check_tdx(v, j);
        else
            rc = bad(v, k, "unknown key, expected platforms, allow_debug, allow_simulated, "
                           "report_data, nonce, sev_snp or tdx");
        if (rc)
            return rc;
    }
    return MIMIR_OK;
}

int mimir_policy_parse(const uint8_t *buf, size_t len, const char *name,
                       mimir_attest_policy **out, mimir_err *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, NULL, "line %d: %s", je.line, je.text);
    vctx v = {name, err};
    int rc = check_root(&v, root);
    if (rc != MIMIR_OK) {
        json_decref(root);
        return rc;
    }
    mimir_attest_policy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        json_decref(root);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    }
    p->root = root;
    *out = p;
    return MIMIR_OK;
}

void mimir_policy_free(mimir_attest_policy *p)
{
    if (p == NULL)
        return;
    json_decref(p->root);
    free(p);
}

/* ---- application ---- */

static const char *fstr(const json_t *fields, const char *key)
{
    const char *s = json_string_value(json_object_get(fields, key));
    return s != NULL ? s : "";
}

static int hex_in_list(const char *have, json_t *list)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) if (strcasecmp(have, json_string_value(e)) == 0)
        return 1;
    return 0;
}

static void rule_list(mimir_attest_result *res, const char *rule, const char *have,
                      json_t *list)
{
    int ok = hex_in_list(have, list);
    mimir_attest_check(res, rule, ok, "%s %.24s...%s", ok ? "allowed:" : "not allowed:", have,
                       ok ? "" : " is not in the policy's list");
}

/* report_data must equal want zero-padded; from byte off for n bytes. */
static void rule_bytes(mimir_attest_result *res, const char *rule, const char *have_hex,
                       const char *want_hex, size_t off, size_t n)
{
    uint8_t have[64] = {0}, want[64] = {0};
    int ok = unhex(have_hex, have, 64, 1) == 64 && unhex(want_hex, want, n, 0) > 0 &&
             memcmp(have + off, want, n) == 0;
    mimir_attest_check(res, rule, ok, "report_data[%zu..%zu) %s the policy's value, zero-padded",
                       off, off + n, ok ? "equals" : "does not equal");
}

static void apply_snp(json_t *s, mimir_attest_result *res)
{
    json_t *f = res->fields, *j;
    if ((j = json_object_get(s, "measurements")) != NULL)
        rule_list(res, "policy.sev_snp.measurements", fstr(f, "measurement"), j);
    if ((j = json_object_get(s, "product_lines")) != NULL) {
        const char *have = fstr(f, "product_line");
        int ok = 0;
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) ok |= strcmp(have, json_string_value(e)) == 0;
        mimir_attest_check(res, "policy.sev_snp.product_lines", ok, "product line %s%s", have,
                           ok ? " allowed" : " is not allowed by the policy");
    }
    if ((j = json_object_get(s, "min_tcb")) != NULL) {
        json_t *tcb = json_object_get(f, "reported_tcb");
        const char *c;
        json_t *x;
        json_object_foreach(j, c, x) {
            char rule[80];
            snprintf(rule, sizeof rule, "policy.sev_snp.min_tcb.%s", c);
            json_t *h = json_object_get(tcb, c);
            if (h == NULL) {
                mimir_attest_check(res, rule, 0, "reported_tcb has no %s on this product line",
                                   c);
                continue;
            }
            json_int_t have = json_integer_value(h), want = json_integer_value(x);
            mimir_attest_check(res, rule, have >= want, "reported_tcb %s %lld, minimum %lld", c,
                               (long long)have, (long long)want);
        }
    }
    if ((j = json_object_get(s, "min_guest_svn")) != NULL) {
        json_int_t have = json_integer_value(json_object_get(f, "guest_svn"));
        mimir_attest_check(res, "policy.sev_snp.min_guest_svn", have >= json_integer_value(j),
                           "guest_svn %lld, minimum %lld", (long long)have,
                           (long long)json_integer_value(j));
    }
    if ((j = json_object_get(s, "max_vmpl")) != NULL) {
        json_int_t have = json_integer_value(json_object_get(f, "vmpl"));
        mimir_attest_check(res, "policy.sev_snp.max_vmpl", have <= json_integer_value(j),
                           "vmpl %lld, maximum %lld", (long long)have,
                           (long long)json_integer_value(j));
    }
}

static void apply_tdx(json_t *s, mimir_attest_result *res)
{
    json_t *f = res->fields;
    const char *k;
    json_t *j;
    json_object_foreach(s, k, j) {
        char rule[80];
        snprintf(rule, sizeof rule, "policy.tdx.%s", k);
        if (strcmp(k, "min_tee_tcb_svn") == 0) {
            uint8_t have[16], want[16];
            int ok = unhex(fstr(f, "tee_tcb_svn"), have, 16, 1) == 16 &&
                     unhex(json_string_value(j), want, 16, 1) == 16;
            int first = -1;
            for (int i = 0; ok && i < 16; i++)
                if (have[i] < want[i] && first < 0)
                    first = i;
            mimir_attest_check(res, rule, ok && first < 0,
                               first < 0 ? "every tee_tcb_svn component is at least the minimum"
                                         : "tee_tcb_svn component %d is below the minimum",
                               first);
        } else if (strcmp(k, "fmspc") == 0) {
            rule_list(res, rule, fstr(f, "fmspc"), j);
        } else {
            rule_list(res, rule, fstr(f, k), j);
        }
    }
}

void mimir_policy_apply(const mimir_attest_policy *p, mimir_attest_result *res)
{
    json_t *r = p->root, *j, *f = res->fields;
    const char *kind = fstr(f, "kind");
    if (res->kind == MIMIR_EVIDENCE_SIMULATED) {
        int allow = json_is_true(json_object_get(r, "allow_simulated"));
        size_t i;
        json_t *c;
        json_array_foreach(res->checks, i, c) {
            if (allow && strcmp(json_string_value(json_object_get(c, "check")), "simulated") == 0
                && json_is_false(json_object_get(c, "ok"))) {
                json_object_set_new(c, "ok", json_true());
                json_object_set_new(c, "detail",
                                    json_string("simulated evidence accepted: the policy sets "
                                                "allow_simulated (never for production)"));
                res->failed--;
            }
        }
    }
    if (res->kind == MIMIR_EVIDENCE_SIMULATED) {
        /* Simulated evidence carries no measurement, TCB or product line: every platform rule
         * of the policy fails for it, even when simulation is allowed, so one policy gives one
         * decision in `mimir-attest verify`, the key broker and peer admission alike. */
        static const char *const sections[] = {"sev_snp", "tdx"};
        for (size_t s = 0; s < 2; s++) {
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(r, sections[s]), k, v) {
                char rule[96];
                snprintf(rule, sizeof rule, "policy.%s.%s", sections[s], k);
                mimir_attest_check(res, rule, 0, "simulated evidence has no %s %s; the policy "
                                   "requires one", sections[s], k);
            }
        }
    }
    if ((j = json_object_get(r, "platforms")) != NULL && res->kind != MIMIR_EVIDENCE_SIMULATED) {
        int ok = 0;
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) ok |= strcmp(kind, json_string_value(e)) == 0;
        mimir_attest_check(res, "policy.platforms", ok, "platform %s%s", kind,
                           ok ? " allowed" : " is not allowed by the policy");
    }
    int allow_debug = json_is_true(json_object_get(r, "allow_debug"));
    int debug = json_is_true(json_object_get(f, "debug"));
    mimir_attest_check(res, "policy.debug", !debug || allow_debug,
                       debug ? (allow_debug ? "debug guest allowed by allow_debug"
                                            : "the guest runs in debug mode; debug is forbidden")
                             : "not a debug guest");
    if ((j = json_object_get(r, "report_data")) != NULL)
        rule_bytes(res, "policy.report_data", fstr(f, "report_data"), json_string_value(j), 0,
                   64);
    if ((j = json_object_get(r, "nonce")) != NULL)
        rule_bytes(res, "policy.nonce", fstr(f, "report_data"), json_string_value(j), 32, 32);
    if (res->kind == MIMIR_EVIDENCE_SNP && (j = json_object_get(r, "sev_snp")) != NULL)
        apply_snp(j, res);
    if (res->kind == MIMIR_EVIDENCE_TDX && (j = json_object_get(r, "tdx")) != NULL)
        apply_tdx(j, res);
}
