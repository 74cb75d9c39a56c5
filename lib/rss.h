/*
 * rss.h — 2-out-of-3 replicated additive secret sharing over Z_2^64 and Z_2^128.
 *
 * A vector x is split into three components with x = x0 + x1 + x2 (mod 2^k): x0 and x1 are
 * uniform, x2 = x - x0 - x1. Party i holds the pair (x_i, x_{i+1}) (indices mod 3), so any one
 * party's pair is uniform and independent of x, any two parties hold all three components, and
 * every component is held by exactly two parties (x_j by party j as its first component and by
 * party j-1 as its second), which lets the holders cross-check each other.
 * (Araki, Furukawa, Lindell, Nof, Ohara, CCS 2016, section 2; the additive form of MP-SPDZ's
 * Replicated.hpp.)
 *
 * Joining checks every component that is present twice: the check accumulates over the whole
 * vector with no early exit, and a mismatch is MIMIR_ESECURITY naming the component and the two
 * parties, never a value. Ring elements are native words: mimir_r64 for k = 64, mimir_r128 for
 * k = 128 (buffers are passed as void * with n elements of MIMIR_RSS_WORDBYTES(ring) bytes).
 */
#ifndef MIMIR_RSS_H
#define MIMIR_RSS_H

#include <stddef.h>
#include <stdint.h>

#include "drbg.h"
#include "err.h"
#include "ring.h"

#define MIMIR_RSS_PARTIES 3
#define MIMIR_RSS_RING64 64
#define MIMIR_RSS_RING128 128
#define MIMIR_RSS_WORDBYTES(ring) ((size_t)(ring) / 8)

/* A source of uniform random bytes: fill(ctx, buf, n) returns 0 or a mimir_status code. */
typedef struct mimir_rss_rng {
    int (*fill)(void *ctx, uint8_t *buf, size_t n);
    void *ctx;
} mimir_rss_rng;

/* The operating system's generator (libsodium randombytes_buf). */
mimir_rss_rng mimir_rss_rng_system(void);
/* An instantiated HMAC-DRBG (for reproducible splits; the caller keeps and wipes d). */
mimir_rss_rng mimir_rss_rng_drbg(mimir_drbg *d);

/* Splits n ring elements x into components comp[0], comp[1], comp[2] (each n elements, caller
 * allocated, normally with mimir_secret_alloc). ring is 64 or 128. comp[0] and comp[1] are drawn
 * from rng in that order (n words each, little-endian), so a seeded split is reproducible. */
int mimir_rss_split(unsigned ring, const void *x, size_t n, const mimir_rss_rng *rng,
                    void *comp[MIMIR_RSS_PARTIES], mimir_err *err);

/* One party's share of a vector: party index and its components c[0] = x_party,
 * c[1] = x_{party+1}. name (may be NULL) is the share's file, used in messages. */
typedef struct mimir_rss_view {
    int party;
    const void *c[2];
    const char *name;
} mimir_rss_view;

/* Reconstructs x (n elements) from nv = 2 or 3 shares of distinct parties, in any order.
 * Every component held by two of the given parties must agree, else MIMIR_ESECURITY with
 * "inconsistent shares: component x1 of party 0 and party 1 differ". A bad party index, a
 * repeated party or nv outside 2..3 is MIMIR_EINPUT (field "party"). */
int mimir_rss_join(unsigned ring, size_t n, const mimir_rss_view *v, size_t nv, void *x,
                   mimir_err *err);

/* Sign-extends Z_2^64 elements into Z_2^128 (two's complement), so a signed value keeps its
 * meaning in the larger ring. out must not overlap in. */
void mimir_rss_lift128(mimir_r128 *out, const mimir_r64 *in, size_t n);

/* Narrows Z_2^128 elements to Z_2^64, requiring each to be a sign-extended 64-bit value.
 * Returns 0, or -1 with *bad set to the first element index that does not fit (the scan does
 * not stop early). */
int mimir_rss_lower64(mimir_r64 *out, const mimir_r128 *in, size_t n, size_t *bad);

#endif
