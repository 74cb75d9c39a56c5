/*
 * mimir-triples status: a pool's counts per kind (remaining, consumed, generated, sacrificed,
 * failed) as a table, as JSON (--json) or as Prometheus text exposition (--prom, for a node
 * exporter's textfile collector). It takes no lock, so it works while a party uses the pool.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "tool.h"

#define SUB "status"
#define N_STATES 5

static const char *const states[N_STATES] = {"remaining", "consumed", "generated",
                                             "sacrificed", "failed"};

static void help(void)
{
    printf("Usage: %s status [--json | --prom] [--no-verify] POOL\n\n"
           "Prints, per item kind (triple, matrix, trunc, edabit, wmask, wpair, btriple,\n"
           "cmask), how many elements of POOL remain, were consumed, generated, sacrificed and\n"
           "failed a sacrifice check. Elements: one per triple, truncation pair or edaBit;\n"
           "R*I + I*C + R*C per RxIxC matrix triple; I*C per IxC weight mask; the elements of A\n"
           "and C per weight pair (R*I + R*C, or R*C + R*I transposed); one per 64-bit word of\n"
           "boolean triples (64 AND gates); one per comparison mask.\n"
           "The pool is not locked, so this works while a party uses it. Every batch that still\n"
           "has items is "
           "checked against its SHA-256 digest first.\n\n"
           "Options:\n"
           "      --json        print a JSON object\n"
           "      --prom        print Prometheus text exposition (metric mimir_pool_items)\n"
           "      --no-verify   check batch headers and sizes only, not the digests\n"
           "  -h, --help        show this help\n",
           PROG);
}

static uint64_t value(const mimir_pool_status *st, int state, int k)
{
    const uint64_t *v[N_STATES] = {st->remaining, st->consumed, st->generated, st->sacrificed,
                                   st->failed};
    return v[state][k];
}

static void print_table(const char *dir, const mimir_pool_status *st, const char *hex)
{
    printf("pool %s: party %d, session %s, %s, created by %s, %llu batches\n", dir, st->party,
           hex, st->macs ? "MAC'd" : "semi-honest (no MACs)", st->created_by,
           (unsigned long long)st->batches);
    printf("%-8s", "kind");
    for (int s = 0; s < N_STATES; s++)
        printf(" %14s", states[s]);
    printf("\n");
    for (int k = 0; k < MIMIR_PREP_KINDS; k++) {
        printf("%-8s", mimir_pool_kind_name(k + 1));
        for (int s = 0; s < N_STATES; s++)
            printf(" %14llu", (unsigned long long)value(st, s, k));
        printf("\n");
    }
}

static int print_json(const char *dir, const mimir_pool_status *st, const char *hex,
                      int verified)
{
    json_t *kinds = json_object();
    for (int k = 0; k < MIMIR_PREP_KINDS; k++) {
        json_t *o = json_object();
        for (int s = 0; s < N_STATES; s++)
            json_object_set_new(o, states[s], json_integer((json_int_t)value(st, s, k)));
        json_object_set_new(kinds, mimir_pool_kind_name(k + 1), o);
    }
    json_t *root = json_pack("{s:s, s:i, s:s, s:b, s:s, s:I, s:b, s:o}", "pool", dir, "party",
                             st->party, "session", hex, "macs", st->macs, "created_by",
                             st->created_by, "batches", (json_int_t)st->batches, "verified",
                             verified, "kinds", kinds);
    if (root == NULL)
        return -1;
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
    return 0;
}

/* A label value: backslash, double quote and newline escaped (exposition format 0.0.4). */
static void label(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else
            putchar(*s);
    }
}

static void print_prom(const char *dir, const mimir_pool_status *st, const char *hex)
{
    printf("# HELP mimir_pool_items Preprocessed items of a Mimir triple pool, in elements "
           "(1 per triple, truncation pair or edaBit, all three matrices' elements per matrix "
           "triple, inner*cols per weight mask, A's and C's elements per weight pair, 1 per "
           "64-bit word of boolean triples, 1 per comparison mask).\n");
    printf("# TYPE mimir_pool_items gauge\n");
    for (int k = 0; k < MIMIR_PREP_KINDS; k++)
        for (int s = 0; s < N_STATES; s++) {
            printf("mimir_pool_items{kind=\"%s\",state=\"%s\",party=\"%d\",session=\"%s\","
                   "pool=\"",
                   mimir_pool_kind_name(k + 1), states[s], st->party, hex);
            label(dir);
            printf("\"} %llu\n", (unsigned long long)value(st, s, k));
        }
    printf("# HELP mimir_pool_batches Batch files in a Mimir triple pool.\n");
    printf("# TYPE mimir_pool_batches gauge\n");
    printf("mimir_pool_batches{party=\"%d\",session=\"%s\",pool=\"", st->party, hex);
    label(dir);
    printf("\"} %llu\n", (unsigned long long)st->batches);
}

int status_main(int argc, char **argv)
{
    enum { O_JSON = 256, O_PROM, O_NO_VERIFY };
    static const struct option lo[] = {{"json", no_argument, 0, O_JSON},
                                       {"prom", no_argument, 0, O_PROM},
                                       {"no-verify", no_argument, 0, O_NO_VERIFY},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int json = 0, prom = 0, verify = 1, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_PROM: prom = 1; break;
        case O_NO_VERIFY: verify = 0; break;
        case 'h': help(); return 0;
        case ':': return usage_fail(SUB, "%s needs an argument", argv[optind - 1]);
        default: return usage_fail(SUB, "unknown option %s", argv[optind - 1]);
        }
    }
    if (json && prom)
        return usage_fail(SUB, "--json and --prom exclude each other");
    if (optind != argc - 1)
        return usage_fail(SUB, optind == argc ? "no pool given, expected POOL"
                                              : "more than one pool given, expected one POOL");
    const char *dir = argv[optind];
    mimir_err err;
    mimir_err_clear(&err);
    mimir_pool_status st;
    int rc = mimir_pool_peek_status(dir, &st, &err);
    if (rc == MIMIR_OK && verify)
        rc = mimir_pool_verify(dir, &err);
    if (rc != MIMIR_OK)
        return report(&err);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, st.session, sizeof st.session);
    if (json) {
        if (print_json(dir, &st, hex, verify) != 0) {
            fprintf(stderr, "%s: out of memory\n", PROG);
            return MIMIR_ERUNTIME;
        }
    } else if (prom) {
        print_prom(dir, &st, hex);
    } else {
        print_table(dir, &st, hex);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: <stdout>: write failed\n", PROG);
        return MIMIR_ERUNTIME;
    }
    return 0;
}
