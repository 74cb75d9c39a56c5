/*
 * common.h — helpers the mimir-party subcommands share: printing an error record, usage
 * failures, strict number parsing, the --seed-file format, and loading one tensor of a party's
 * share file with the checks every subcommand wants (kind, ring, party). Names carry the party_
 * prefix so they cannot clash with another subcommand file's statics.
 */
#ifndef MIMIR_PARTY_COMMON_H
#define MIMIR_PARTY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "net.h"
#include "pool.h"
#include "sharefile.h"

#define PARTY_SEED_BYTES 32                 /* a --seed-file holds exactly this many bytes */
#define PARTY_SEED_HEXDIGITS (2 * PARTY_SEED_BYTES)
#define PARTY_SEED_FILE_MAX 256             /* read bound for a seed file */

/* Prints the record as one line "mimir-party: FILE: FIELD: message" to stderr; returns its
 * code (MIMIR_ERUNTIME if the record has none). */
int party_report(const mimir_err *err);

/* Prints "mimir-party: SUB: message (see 'mimir-party SUB --help')" and returns 2. */
int party_usage_fail(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a decimal unsigned integer in [0, max] strictly (no sign, no spaces, no suffix).
 * Returns 0 or -1. */
int party_parse_uint(const char *s, unsigned long max, unsigned long *v);

/* Reads a --seed-file: exactly PARTY_SEED_HEXDIGITS hex digits, optionally followed by one
 * newline ("\n" or "\r\n"). seed must be key memory (mimir_key_alloc). MIMIR_EINPUT naming the
 * file and field "seed" otherwise; the file's text is wiped after reading. */
int party_read_seed_file(const char *path, uint8_t seed[PARTY_SEED_BYTES], mimir_err *err);

/* Reads share file path and picks one tensor: party must be `party`, kind tensor, ring 64.
 * tensor NULL: the file must hold exactly one tensor; else the tensor of that name. On success
 * *out is the share (free with mimir_share_free) and *idx the tensor's index. */
int party_load_tensor(const char *path, int party, const char *tensor, mimir_share **out,
                      size_t *idx, mimir_err *err);

/* Formats a shape as "[d0,d1,...]" into buf (cap bytes). */
void party_shape_str(char *buf, size_t cap, int ndim, const uint64_t *shape);

/* Re-aligns the three pools' cursors before any item is taken (lib/pool_align.h) and, unless
 * quiet, says on stderr how many items this party skipped (if any). */
int party_align_pool(mimir_pool *pool, mimir_net *net, int party, const char *path, int quiet,
                     mimir_err *err);

/* Checks the digests of the pool's batches with items left (mimir_pool_verify_open) and,
 * unless quiet, says how many MB and how long if that took a second or more. serve calls it
 * before it accepts the client (its pool was dealt for the session); compute, one operation
 * on what may be a large pool, leaves the check to each batch's first take. */
int party_verify_pool(mimir_pool *pool, int party, const char *path, int quiet, mimir_err *err);

/* Monotonic clock in milliseconds. */
double party_now_ms(void);

#endif
