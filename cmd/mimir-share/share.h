/*
 * share.h — what the mimir-share subcommands share: their entry points, message helpers, the
 * default tokenizer directory and seed parsing. The work itself is in lib/ (npy, rss, sharefile).
 */
#ifndef MIMIR_SHARE_TOOL_H
#define MIMIR_SHARE_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PROG "mimir-share"
#define SEED_MAX_BYTES 1024
#define TEXT_MAX_BYTES ((size_t)64 << 20) /* --text / --ids input */

int split_main(int argc, char **argv);
int join_main(int argc, char **argv);
int inspect_main(int argc, char **argv);

/* Prints the error record as one line to stderr; returns its code. */
int report(const mimir_err *err);
/* Prints "mimir-share: SUB: message" and a hint to use --help; returns 2. */
int usage_fail(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a decimal unsigned integer in [0, max] strictly. Returns 0 or -1. */
int parse_uint(const char *s, unsigned long max, unsigned long *v);

/* The tokenizer directory: opt if given, else $MIMIR_MODEL_DIR, else ../models/tiny next to the
 * binary. Writes it into buf. */
void tokenizer_dir(const char *opt, char *buf, size_t cap);

/* Reads a seed given as hex (--seed) or as a file holding hex (--seed-file) into a key buffer
 * (mimir_key_alloc; free with mimir_key_free). At least 32 bytes. */
int read_seed(const char *hex, const char *file, uint8_t **seed, size_t *len, mimir_err *err);

/* Whether path exists (as anything). */
int path_exists(const char *path);

#endif
