/* mimir-attest verify — check evidence's signatures and chains, then the policy's rules. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attest/attest.h"
#include "attest/policy.h"
#include "attest/x509.h"
#include "mem.h"
#include "tool.h"

#define MAX_CERT_FILE (1024 * 1024)

static void help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " verify [--policy FILE] [--at RFC3339-TIME] [--cert FILE]... [--json]\n"
            "                           [--anchor FILE]... EVIDENCE\n"
            "Verifies a SEV-SNP attestation report or a TDX quote (kind detected from its bytes).\n"
            "  --policy FILE   JSON admission policy (docs/attestation.md); without one, evidence\n"
            "                  whose signatures and chains hold is accepted\n"
            "  --at TIME       verification time, e.g. 2026-06-01T00:00:00Z (default: now)\n"
            "  --cert FILE     VCEK/VLEK and ASK/ASVK(+ARK) for SEV-SNP; PEM bundle or DER;\n"
            "                  repeatable\n"
            "  --anchor FILE   trust this root too, beside the pinned AMD ARKs and Intel root\n"
            "  --json          print the result as JSON\n"
            "Exit: 0 verified/admitted, 1 rejected (every failed check listed), 2 bad input.\n");
}

static void print_value(const char *prefix, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            char p[160];
            snprintf(p, sizeof p, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            print_value(p, x);
        }
        return;
    }
    char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
    printf("  %-32s %s\n", prefix, s != NULL ? s : json_string_value(v));
    free(s);
}

static void print_text(const char *path, const char *policy, const char *when,
                       const mimir_attest_result *res, const char *verdict)
{
    printf("evidence:  %s\nkind:      %s\nverified:  at %s%s%s\nresult:    %s (%zu of %zu "
           "checks failed)\nchecks:\n", path, mimir_attest_kind_name(res->kind), when,
           policy ? ", policy " : ", no policy", policy ? policy : "", verdict, res->failed,
           json_array_size(res->checks));
    size_t i;
    json_t *c;
    json_array_foreach(res->checks, i, c)
        printf("  %-4s  %-30s %s\n", json_is_true(json_object_get(c, "ok")) ? "ok" : "FAIL",
               json_string_value(json_object_get(c, "check")),
               json_string_value(json_object_get(c, "detail")));
    printf("fields:\n");
    print_value("", res->fields);
}

static int print_json(const char *path, const char *policy, const char *when,
                      const mimir_attest_result *res, const char *verdict)
{
    json_t *o = json_object(), *failed = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(res->checks, i, c) if (!json_is_true(json_object_get(c, "ok")))
        json_array_append(failed, json_object_get(c, "check"));
    json_object_set_new(o, "evidence", json_string(path));
    json_object_set_new(o, "kind", json_string(mimir_attest_kind_name(res->kind)));
    json_object_set_new(o, "verified_at", json_string(when));
    json_object_set_new(o, "policy", policy ? json_string(policy) : json_null());
    json_object_set_new(o, "result", json_string(verdict));
    json_object_set_new(o, "failed", failed);
    json_object_set(o, "checks", res->checks);
    json_object_set(o, "fields", res->fields);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (s == NULL)
        return -1;
    printf("%s\n", s);
    free(s);
    return 0;
}

static int load_certs(const char *path, STACK_OF(X509) *certs, mimir_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = tool_read(path, MAX_CERT_FILE, &buf, &len, err);
    if (rc == MIMIR_OK)
        rc = mimir_x509_load(buf, len, path, certs, err);
    free(buf);
    return rc;
}

typedef struct args {
    const char *policy, *at, *evidence;
    int json;
    STACK_OF(X509) *certs, *anchors;
} args;

static int parse_args(int argc, char **argv, args *a, mimir_err *err)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'}, {"at", required_argument, NULL, 't'},
        {"cert", required_argument, NULL, 'c'},   {"anchor", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch, rc;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': a->policy = optarg; break;
        case 't': a->at = optarg; break;
        case 'j': a->json = 1; break;
        case 'c':
            if ((rc = load_certs(optarg, a->certs, err)) != MIMIR_OK)
                return rc;
            break;
        case 'a':
            if ((rc = load_certs(optarg, a->anchors, err)) != MIMIR_OK)
                return rc;
            break;
        case 'h': help(stdout); return -1;
        default:
            return mimir_err_set(err, MIMIR_EINPUT, NULL, NULL,
                                 "bad option, see '" PROG " verify --help'");
        }
    }
    if (optind != argc - 1)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, NULL,
                             "expected exactly one EVIDENCE file, see '" PROG " verify --help'");
    a->evidence = argv[optind];
    return MIMIR_OK;
}

static int run(args *a, mimir_attest_result *res, mimir_err *err)
{
    mimir_attest_opts o = {time(NULL), a->certs, a->anchors};
    if (a->at != NULL && mimir_attest_parse_time(a->at, &o.at) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "--at",
                             "'%s' is not an RFC 3339 time, expected e.g. 2026-06-01T00:00:00Z",
                             a->at);
    mimir_attest_policy *pol = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = MIMIR_OK;
    if (a->policy != NULL) {
        rc = tool_read(a->policy, MIMIR_POLICY_MAX_BYTES, &buf, &len, err);
        if (rc == MIMIR_OK)
            rc = mimir_policy_parse(buf, len, a->policy, &pol, err);
        free(buf);
        buf = NULL;
    }
    if (rc == MIMIR_OK)
        rc = tool_read(a->evidence, MIMIR_ATTEST_MAX_EVIDENCE, &buf, &len, err);
    if (rc == MIMIR_OK)
        rc = mimir_attest_verify(buf, len, a->evidence, &o, res, err);
    if (rc == MIMIR_OK && pol != NULL)
        mimir_policy_apply(pol, res);
    free(buf);
    mimir_policy_free(pol);
    if (rc != MIMIR_OK)
        return rc;
    char when[32];
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&o.at, &tm));
    const char *verdict = res->failed ? "rejected" : a->policy ? "admitted" : "verified";
    if (a->json ? print_json(a->evidence, a->policy, when, res, verdict) != 0
                : (print_text(a->evidence, a->policy, when, res, verdict), 0))
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    size_t i;
    json_t *c;
    json_array_foreach(res->checks, i, c) if (!json_is_true(json_object_get(c, "ok")))
        fprintf(stderr, PROG ": %s: rejected: %s: %s\n", a->evidence,
                json_string_value(json_object_get(c, "check")),
                json_string_value(json_object_get(c, "detail")));
    return res->failed ? MIMIR_ESECURITY : MIMIR_OK;
}

int verify_main(int argc, char **argv)
{
    mimir_err err;
    mimir_err_clear(&err);
    mimir_attest_result res;
    args a = {0};
    a.certs = sk_X509_new_null();
    a.anchors = sk_X509_new_null();
    int rc = mimir_attest_result_init(&res, &err);
    if (rc == MIMIR_OK && (a.certs == NULL || a.anchors == NULL))
        rc = mimir_err_set(&err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = parse_args(argc, argv, &a, &err);
    if (rc == MIMIR_OK)
        rc = run(&a, &res, &err);
    if (rc > 0 && err.code != MIMIR_OK)
        mimir_err_print(stderr, PROG, &err);
    mimir_attest_result_free(&res);
    sk_X509_pop_free(a.certs, X509_free);
    sk_X509_pop_free(a.anchors, X509_free);
    return rc < 0 ? 0 : rc;
}
