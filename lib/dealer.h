/*
 * dealer.h — a trusted dealer of preprocessed items (docs/protocol.md, "Preprocessing").
 *
 * The dealer draws the MAC key alpha and every item in the clear from one 32-byte seed, computes
 * the products and MACs, and splits everything into the three parties' replicated shares. It is
 * TRUSTED: whoever knows the seed knows every secret the items will mask. It serves tests and
 * benchmarks (each party builds a dealer from the same seed and keeps only its own components;
 * that is a simulation, never secure) and `mimir-triples deal`, where one process inside an
 * attested enclave deals all three pools and forgets the seed.
 *
 * Reproducible: a given seed yields the same alpha and the same sequence of items for the same
 * sequence of calls (values from an AES-256-CTR stream keyed by HMAC-DRBG output,
 * mimir_drbg_from_seed(seed, "dealer")). A dealer for party p computes all three parties'
 * components but returns only p's (the others are wiped).
 */
#ifndef MIMIR_DEALER_H
#define MIMIR_DEALER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "prep.h"
#include "ring.h"

#define MIMIR_DEALER_SEED_BYTES 32
#define MIMIR_DEALER_LABEL "dealer"

typedef struct mimir_dealer mimir_dealer;

/* A dealer for party `party` (0..2) from seed. macs = 0 deals semi-honest items (no MAC
 * words). */
int mimir_dealer_new(const uint8_t seed[MIMIR_DEALER_SEED_BYTES], int party, int macs,
                     mimir_dealer **out, mimir_err *err);
void mimir_dealer_free(mimir_dealer *d);

/* The party's MAC key components (alpha_p, alpha_{p+1}). */
void mimir_dealer_alpha(const mimir_dealer *d, mimir_r128 alpha[2]);

/* A preprocessing source over the dealer (valid while d lives). */
mimir_prep *mimir_dealer_prep(mimir_dealer *d);

/* Counts of items handed out so far, per enum mimir_prep_kind (index kind - 1): elements for
 * triples, truncation pairs and edaBits (one per edaBit), rows*inner + inner*cols + rows*cols
 * for matrix triples, inner*cols per weight mask, the elements of A and C per weight pair,
 * words for boolean triples, one per comparison mask. */
void mimir_dealer_counts(const mimir_dealer *d, uint64_t counts[MIMIR_PREP_KINDS]);

/* All three parties' components of one item kind, for `mimir-triples deal` and tests:
 * out[p] is party p's share (allocated by the call). */
int mimir_dealer_triples3(mimir_dealer *d, size_t n, mimir_sv a[3], mimir_sv b[3],
                          mimir_sv c[3], mimir_err *err);
int mimir_dealer_matrix3(mimir_dealer *d, size_t rows, size_t inner, size_t cols,
                         mimir_sv a[3], mimir_sv b[3], mimir_sv c[3], mimir_err *err);
int mimir_dealer_trunc3(mimir_dealer *d, size_t n, unsigned f, mimir_sv r[3], mimir_sv r_hi[3],
                        mimir_sv r_63[3], mimir_err *err);
/* n edaBits (lib/prep.h): r[p] (n elements) and bits[p] (64 n elements, bit b of item i at
 * i * 64 + b). Draws: r values, then (split, MAC split) of r and of the bits (5 draws). */
int mimir_dealer_edabits3(mimir_dealer *d, size_t n, mimir_sv r[3], mimir_sv bits[3],
                          mimir_err *err);
/* One weight mask B (inner x cols): out[p] is party p's compact part (lib/prep.h mimir_wmask;
 * value components and MAC components 1, 2 seeded, MAC component 0 explicit at parties 0 and
 * 2). Draws: the five seeds and the id (1 draw). The mask's id is a 64-bit value from the same
 * draw (keystream bytes [160, 168), independent of the seeds), not a per-run index: masks of
 * deals from different seeds differ (two of k masks collide with probability about
 * k^2 / 2^65), so pairs appended to one pool by several runs stay bound to their own mask. */
int mimir_dealer_wmask3(mimir_dealer *d, size_t inner, size_t cols, mimir_wmask out[3],
                        mimir_err *err);
/* One pair bound to mask (any party's part of a mask this dealer dealt, or a hollow copy: only
 * id and shape are read; a mask this dealer did not deal is MIMIR_EINPUT): a[p] (rows x inner,
 * or rows x cols if transposed) and c[p] = A B (or A B^T). Draws: A's values, then (split, MAC
 * split) of A and of C (5 draws). */
int mimir_dealer_wpair3(mimir_dealer *d, const mimir_wmask *mask, size_t rows, int transposed,
                        mimir_sv a[3], mimir_sv c[3], mimir_err *err);
/* n words of boolean triples (lib/prep.h): a[p], b[p], c[p] (n words each), c = a AND b.
 * Draws: a's and b's words (one draw: the low and high halves of each 128-bit word), then the
 * XOR splits of a, b and c (4 draws; docs/protocol.md, "The trusted dealer"). */
int mimir_dealer_btriples3(mimir_dealer *d, size_t n, mimir_bv a[3], mimir_bv b[3],
                           mimir_bv c[3], mimir_err *err);
/* n comparison masks (lib/prep.h): r[p], d[p] (n elements each), rb[p], db[p] (n words
 * each). Draws: r's values, d's bits, (split, MAC split) of r, rb's XOR split, (split, MAC
 * split) of d, db's XOR split in bit 0 only (8 draws; docs/protocol.md). */
int mimir_dealer_cmasks3(mimir_dealer *d, size_t n, mimir_sv r[3], mimir_bv rb[3],
                         mimir_sv dd[3], mimir_bv db[3], mimir_err *err);
/* Whether the dealer's source (mimir_dealer_prep) asks comparisons for the binary domain
 * (lib/prep.h, mimir_prep.binary): 0 at creation. */
void mimir_dealer_set_binary(mimir_dealer *d, int binary);
/* All three parties' MAC key components: alpha3[p] = (alpha_p, alpha_{p+1}). */
void mimir_dealer_alpha3(const mimir_dealer *d, mimir_r128 alpha3[3][2]);

#endif
