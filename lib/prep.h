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
 *    comparisons (lib/compare.h).
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
};
#define MIMIR_PREP_KINDS 4
#define MIMIR_PREP_EDABIT_BITS 64 /* bits per edaBit: those of r mod 2^64 */

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
} mimir_prep_ops;

struct mimir_prep {
    const mimir_prep_ops *ops;
    void *ctx;
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

#endif
