/*
 * tool.h — what the mimir-triples subcommands share: their entry points and message helpers.
 * The work itself is in lib/ (pool.h for pools, dealer.h for the trusted dealer).
 */
#ifndef MIMIR_TRIPLES_TOOL_H
#define MIMIR_TRIPLES_TOOL_H

#include <stdint.h>

#include "err.h"
#include "plan.h"

#define PROG "mimir-triples"

int deal_main(int argc, char **argv);
int plan_main(int argc, char **argv);
int generate_main(int argc, char **argv);
int status_main(int argc, char **argv);

/* Prints the error record as one line to stderr; returns its code (the exit code). */
int report(const mimir_err *err);
/* Prints "mimir-triples: SUB: message (see ... --help)"; returns 2. */
int usage_fail(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a decimal unsigned integer in [min, max] strictly (digits only). Returns 0 or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *v);
/* `--matrix RxIxC[:K]` and `--trunc N[:F]` of deal and generate: append the entry to r, or
 * print the usage error naming SUB and the option and return 2. */
int parse_matrix_opt(const char *sub, const char *s, mimir_plan_items *r);
int parse_trunc_opt(const char *sub, const char *s, mimir_plan_items *r);

#endif
