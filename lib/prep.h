/*
 * prep.h — where the online engine (lib/spdz.h) takes its preprocessed items from.
 *
 * A mimir_prep is a source of MAC'd replicated items for one party, taken in the order the
 * protocol consumes them: every call hands out fresh items, never the same item twice. Sources:
 * the trusted dealer of lib/dealer.h (tests, benchmarks, a dealer inside an attested enclave),
 * a party's triple pool on disk (mimir-triples, lib/pool.h), or a counting source that only
 * records what would be taken (the plan). Items are mimir_sv vectors allocated by the source
 * (with MAC words unless the source is semi-honest); the caller frees them with mimir_sv_free.
 *
 * Kinds (docs/protocol.md, "Preprocessing"):
 *  - triples: n scalar Beaver triples (a, b, c = a * b mod 2^128), a and b uniform in Z_2^128;
 *  - matrix triples: A (rows x inner), B (inner x cols), C = A B (mod 2^128), A and B uniform;
 *  - truncation pairs for f bits: r uniform in Z_2^128, r_hi = ((r mod 2^64) mod 2^63) >> f and
 *    r_63 = bit 63 of r, as values (small words, MAC'd like any value);
 *  - edaBits (Escudero, Ghosh, Keller, Rachuri, Scholl, CRYPTO 2020): r uniform in Z_2^128 and
 *    the 64 bits of r mod 2^64, each shared as a 0/1 value of the same arithmetic sharing, for
 *    comparisons (lib/compare.h);
 *  - weight masks (docs/drafts/weights.md): a fixed uniform matrix B (inner x cols) per weight
 *    matrix and session, held compactly (mimir_wmask below), against which the engine opens
 *    E = W - B once (lib/spdz.h mimir_spdz_weight_load);
 *  - weight pairs bound to one mask B: A (rows x inner) uniform and C = A B (rows x cols), or,
 *    transposed, A (rows x cols) and C = A B^T (rows x inner), for one product with the weight
 *    (lib/spdz.h mimir_spdz_weight_matmul);
 *  - boolean triples (the binary-domain comparisons of lib/compare.c): n WORDS of boolean
 *    replicated sharings (lib/spdz.h mimir_bv) a, b uniform and c = a AND b bitwise: 64 AND
 *    gates per word. Counted in words;
 *  - comparison masks (one per comparison in the binary domain): r uniform in Z_2^128, MAC'd
 *    like an edaBit's r; rb, one boolean word holding the 64 bits of r mod 2^64 (bit j of the
 *    word is bit j of r); and a daBit (Rotaru and Wood, INDOCRYPT 2019): a uniform bit d held
 *    both as a MAC'd value (0 or 1) and as bit 0 of a boolean word db (bits 1..63 of db are 0
 *    in every component).
 */
#ifndef MIMIR_PREP_H
#define MIMIR_PREP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spdz.h"

enum mimir_prep_kind {
    MIMIR_PREP_TRIPLE = 1,
    MIMIR_PREP_MATRIX = 2,
    MIMIR_PREP_TRUNC = 3,
    MIMIR_PREP_EDABIT = 4,
    MIMIR_PREP_WMASK = 5,
    MIMIR_PREP_WPAIR = 6,
    MIMIR_PREP_BTRIPLE = 7,
    MIMIR_PREP_CMASK = 8,
};
#define MIMIR_PREP_KINDS 8
#define MIMIR_PREP_EDABIT_BITS 64 /* bits per edaBit: those of r mod 2^64 */

#define MIMIR_PREP_SEED_BYTES 32  /* a seed of a seeded mask component */

/* One party's part of a weight mask B (inner x cols), a MAC'd replicated sharing like a
 * mimir_sv's, but compact: each of the party's four component arrays q (0, 1: x[0], x[1];
 * 2, 3: m[0], m[1]) is either expanded on demand from a 32-byte seed (expl[q] NULL; the seed
 * of a component is known to exactly its two holders) or stored explicitly (expl[q], inner*cols
 * words). Value components are all seeded (0 bytes per weight); of the MAC components of
 * alpha B, components 1 and 2 are seeded and component 0 is explicit (alpha B minus the seeded
 * two), so parties 0 and 2 store 16 bytes per weight and party 1 none. In semi-honest mode only
 * q = 0, 1 exist. id names the mask (pairs are bound to it): a 64-bit value drawn at random
 * by the dealer (lib/dealer.h), kept by a pool (lib/pool.h), so that pairs stay bound to their
 * own mask even in a pool filled by several runs; the counting source numbers its masks 0, 1,
 * ... A plan-mode (hollow) mask has its shape and id and nothing else (hollow = 1). */
typedef struct mimir_wmask {
    uint64_t id;
    size_t inner, cols;
    int macs, hollow;
    uint8_t seed[4][MIMIR_PREP_SEED_BYTES];
    mimir_r128 *expl[4];
} mimir_wmask;

/* Words [off, off + n) (row-major element index) of component q of the mask into out. Seeded
 * components are the AES-256-CTR keystream under the seed (the key), initial counter block
 * zero, as little-endian 16-byte words: word i is AES-256(seed, i as a 128-bit big-endian
 * block). Nothing for a hollow mask. Aborts only if OpenSSL cannot allocate a cipher context. */
void mimir_wmask_words(const mimir_wmask *m, int q, size_t off, size_t n, mimir_r128 *out);
/* Wipes the seeds and frees the explicit components; the struct is zeroed. NULL is a no-op. */
void mimir_wmask_free(mimir_wmask *m);
/* Bytes a mask keeps in memory (its explicit components). */
size_t mimir_wmask_bytes(const mimir_wmask *m);

/* A source's operations. Tables are written with designated initialisers; an operation a
 * source does not have is NULL (only wmask / wpair may be: mimir_prep_wmask / mimir_prep_wpair
 * then fail with MIMIR_EINPUT). */
typedef struct mimir_prep_ops {
    /* n scalar triples into a, b, c (allocated by the call, n elements each). */
    int (*triples)(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c, mimir_err *err);
    /* one matrix triple of shape (rows x inner) * (inner x cols). */
    int (*matrix)(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a, mimir_sv *b,
                  mimir_sv *c, mimir_err *err);
    /* n truncation pairs for f bits. */
    int (*trunc)(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi, mimir_sv *r_63,
                 mimir_err *err);
    /* n edaBits: r (n elements) and bits (n * MIMIR_PREP_EDABIT_BITS elements; bit b of item i
     * at index i * MIMIR_PREP_EDABIT_BITS + b, b = 0 the least significant). */
    int (*edabits)(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err);
    /* one weight mask of inner x cols into out (filled by the call; mimir_wmask_free). */
    int (*wmask)(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err);
    /* one pair bound to mask: transposed 0: a (rows x inner), c = a B (rows x cols);
     * transposed 1: a (rows x cols), c = a B^T (rows x inner). */
    int (*wpair)(void *ctx, const mimir_wmask *mask, size_t rows, int transposed, mimir_sv *a,
                 mimir_sv *c, mimir_err *err);
    /* n words of boolean triples into a, b, c (allocated by the call, n words each). */
    int (*btriples)(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c, mimir_err *err);
    /* n comparison masks: r and d (n elements each), rb and db (n words each; item i at index
     * i of each). */
    int (*cmasks)(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d, mimir_bv *db,
                  mimir_err *err);
} mimir_prep_ops;

/* binary: 1 if comparisons (lib/compare.c) take comparison masks and boolean triples from this
 * source (the carry tree in the binary domain), 0 if they take edaBits and scalar triples (the
 * carry tree in the arithmetic domain). A source sets it: the dealer and the counting source on
 * request (mimir_dealer_set_binary, mimir_prep_count_set_binary), a pool if it holds comparison
 * masks (lib/pool.h). All three parties' sources must agree (they do when dealt or generated
 * from one plan). */
struct mimir_prep {
    const mimir_prep_ops *ops;
    void *ctx;
    int binary;
};

static inline int mimir_prep_triples(mimir_prep *p, size_t n, mimir_sv *a, mimir_sv *b,
                                     mimir_sv *c, mimir_err *err)
{
    return p->ops->triples(p->ctx, n, a, b, c, err);
}
static inline int mimir_prep_matrix(mimir_prep *p, size_t rows, size_t inner, size_t cols,
                                    mimir_sv *a, mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    return p->ops->matrix(p->ctx, rows, inner, cols, a, b, c, err);
}
static inline int mimir_prep_trunc(mimir_prep *p, size_t n, unsigned f, mimir_sv *r,
                                   mimir_sv *r_hi, mimir_sv *r_63, mimir_err *err)
{
    return p->ops->trunc(p->ctx, n, f, r, r_hi, r_63, err);
}

static inline int mimir_prep_edabits(mimir_prep *p, size_t n, mimir_sv *r, mimir_sv *bits,
                                     mimir_err *err)
{
    return p->ops->edabits(p->ctx, n, r, bits, err);
}

static inline int mimir_prep_wmask(mimir_prep *p, size_t inner, size_t cols, mimir_wmask *out,
                                   mimir_err *err)
{
    if (p->ops->wmask == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "prep",
                             "this preprocessing source has no weight masks");
    return p->ops->wmask(p->ctx, inner, cols, out, err);
}

static inline int mimir_prep_wpair(mimir_prep *p, const mimir_wmask *mask, size_t rows,
                                   int transposed, mimir_sv *a, mimir_sv *c, mimir_err *err)
{
    if (p->ops->wpair == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "prep",
                             "this preprocessing source has no weight pairs");
    return p->ops->wpair(p->ctx, mask, rows, transposed, a, c, err);
}

static inline int mimir_prep_btriples(mimir_prep *p, size_t n, mimir_bv *a, mimir_bv *b,
                                      mimir_bv *c, mimir_err *err)
{
    if (p->ops->btriples == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "prep",
                             "this preprocessing source has no boolean triples");
    return p->ops->btriples(p->ctx, n, a, b, c, err);
}

static inline int mimir_prep_cmasks(mimir_prep *p, size_t n, mimir_sv *r, mimir_bv *rb,
                                    mimir_sv *d, mimir_bv *db, mimir_err *err)
{
    if (p->ops->cmasks == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "prep",
                             "this preprocessing source has no comparison masks");
    return p->ops->cmasks(p->ctx, n, r, rb, d, db, err);
}

/* --- The counting source (lib/prep_count.c) ------------------------------------------------ */

/* A source that hands out items of the right sizes and records what was taken: counts per
 * kind as lib/dealer.h counts them (elements for triples, truncation pairs and edaBits;
 * rows*inner + inner*cols + rows*cols per matrix triple; inner*cols per weight mask;
 * rows*inner + rows*cols per weight pair; words for boolean triples; items for comparison
 * masks), the matrix shapes and truncation bit
 * counts with how many of each (in order of first use). Triples, matrix triples and truncation
 * pairs are HOLLOW (n set, word pointers NULL: only the engine reads them, and those of a large
 * model would not fit in memory or take long to zero) and must go only to a plan-mode engine
 * (lib/spdz.h mimir_spdz_new_plan); edaBits are real zeroed vectors (with MAC words when macs
 * is 1), since comparisons (lib/compare.c) read their words directly; so are boolean triples
 * and comparison masks (r and d with MAC words when macs is 1). */
typedef struct mimir_prep_count mimir_prep_count;

int mimir_prep_count_new(int macs, mimir_prep_count **out, mimir_err *err);
void mimir_prep_count_free(mimir_prep_count *c); /* NULL is a no-op */
/* The source (valid while c lives). */
mimir_prep *mimir_prep_count_prep(mimir_prep_count *c);
void mimir_prep_count_counts(const mimir_prep_count *c, uint64_t counts[MIMIR_PREP_KINDS]);
/* Whether the counting source asks comparisons for the binary domain (mimir_prep.binary): 0 at
 * creation. Boolean triples and comparison masks it hands out are real zeroed vectors (small:
 * comparisons read their words). */
void mimir_prep_count_set_binary(mimir_prep_count *c, int binary);
/* What was taken as a `mimir-triples deal --plan` file (allocated, caller frees):
 * {"version":1,"items":[{"kind":"triple","count":N},
 *  {"kind":"matrix","rows":R,"inner":I,"cols":C,"count":K}, ..., {"kind":"trunc","f":F,
 *  "count":N}, ..., {"kind":"edabit","count":N}, {"kind":"btriple","count":N} (words),
 *  {"kind":"cmask","count":N}, {"kind":"wmask","inner":I,"cols":C,
 *  "count":1} (one per mask, in the order taken), ..., {"kind":"wpair","mask":M,"rows":R,
 *  "transposed":0|1,"count":N} (M: the mask's 0-based index among the plan's masks), ...]};
 * kinds with nothing taken are left out. Masks are hollow (lib/prep.h mimir_wmask). */
int mimir_prep_count_plan_json(const mimir_prep_count *c, char **json, mimir_err *err);

#endif
