/* mimir-triples: message helpers and strict number parsing shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
