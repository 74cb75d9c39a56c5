/* mimir-triples: message helpers and strict number parsing shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int report(const mimir_err *err)
{
    mimir_err_print(stderr, PROG, err);
    return err->code ? err->code : MIMIR_ERUNTIME;
}

int usage_fail(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", PROG, sub);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see '%s %s --help')\n", PROG, sub);
    va_end(ap);
    return MIMIR_EINPUT;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || x < min || x > max)
        return -1;
    *v = x;
    return 0;
}

/* --- the --matrix and --trunc options of deal and generate --------------------------------- */

/* RxIxC[:K] */
int parse_matrix_opt(const char *sub, const char *s, mimir_plan_items *r)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return usage_fail(sub, "--matrix %.40s...: too long, expected RxIxC[:COUNT]", s);
    snprintf(buf, sizeof buf, "%s", s);
    mimir_plan_matrix m = {0, 0, 0, 1};
    char *colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (parse_u64(colon + 1, 1, MIMIR_PLAN_MAX_MATRIX_COUNT, &m.count) != 0)
            return usage_fail(sub, "--matrix %s: COUNT must be from 1 to %llu", s,
                              (unsigned long long)MIMIR_PLAN_MAX_MATRIX_COUNT);
    }
    char *x1 = strchr(buf, 'x'), *x2 = x1 ? strchr(x1 + 1, 'x') : NULL;
    if (x1 == NULL || x2 == NULL)
        return usage_fail(sub, "--matrix %s: expected RxIxC[:COUNT], e.g. 1x768x3072:12", s);
    *x1 = *x2 = '\0';
    char why[128];
    if (parse_u64(buf, 1, MIMIR_PLAN_MAX_DIM, &m.rows) != 0 ||
        parse_u64(x1 + 1, 1, MIMIR_PLAN_MAX_DIM, &m.inner) != 0 ||
        parse_u64(x2 + 1, 1, MIMIR_PLAN_MAX_DIM, &m.cols) != 0)
        return usage_fail(sub, "--matrix %s: expected RxIxC[:COUNT] with dimensions from 1 to "
                          "%llu", s, (unsigned long long)MIMIR_PLAN_MAX_DIM);
    if (mimir_plan_matrix_check(&m, why, sizeof why) != 0)
        return usage_fail(sub, "--matrix %s: %s", s, why);
    if (r->nmat == MIMIR_PLAN_MAX_ENTRIES)
        return usage_fail(sub, "more than %d matrix shapes", MIMIR_PLAN_MAX_ENTRIES);
    r->mat[r->nmat++] = m;
    return 0;
}

/* N[:F] */
int parse_trunc_opt(const char *sub, const char *s, mimir_plan_items *r)
{
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return usage_fail(sub, "--trunc %.40s...: too long, expected N[:F]", s);
    snprintf(buf, sizeof buf, "%s", s);
    mimir_plan_trunc t = {MIMIR_PLAN_DEFAULT_F, 0};
    char *colon = strchr(buf, ':');
    uint64_t f = MIMIR_PLAN_DEFAULT_F;
    if (colon != NULL) {
        *colon = '\0';
        if (parse_u64(colon + 1, 1, MIMIR_PLAN_MAX_F, &f) != 0)
            return usage_fail(sub, "--trunc %s: F must be from 1 to %d", s, MIMIR_PLAN_MAX_F);
    }
    if (parse_u64(buf, 1, MIMIR_PLAN_MAX_COUNT, &t.count) != 0)
        return usage_fail(sub, "--trunc %s: N must be from 1 to %llu", s,
                          (unsigned long long)MIMIR_PLAN_MAX_COUNT);
    t.f = (unsigned)f;
    if (r->ntr == MIMIR_PLAN_MAX_ENTRIES)
        return usage_fail(sub, "more than %d --trunc entries", MIMIR_PLAN_MAX_ENTRIES);
    r->tr[r->ntr++] = t;
    return 0;
}
