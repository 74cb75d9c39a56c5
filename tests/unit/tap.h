/*
 * tap.h — a tiny TAP producer for the C unit tests.
 *
 * Each CHECK prints "ok N - name" or "not ok N - name" with a message saying what was expected,
 * and tap_done() prints the plan and returns the exit code. tests/run-tests counts the lines.
 * Test data paths are relative to the repository root (make check runs from there).
 */
#ifndef MIMIR_TAP_H
#define MIMIR_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

static inline int tap_check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int tap_check(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_n++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

/* CHECK(cond, "what is being checked, with %d values") */
#define CHECK(cond, ...) tap_check((cond) != 0, __VA_ARGS__)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
