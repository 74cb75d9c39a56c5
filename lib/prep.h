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

/* --- The counting source (lib/prep_count.c) ------------------------------------------------ */

/* A source that hands out items of the right sizes and records what was taken: counts per
 * kind as lib/dealer.h counts them (elements for triples, truncation pairs and edaBits;
 * rows*inner + inner*cols + rows*cols per matrix triple), the matrix shapes and truncation bit
 * counts with how many of each (in order of first use). Triples, matrix triples and truncation
 * pairs are HOLLOW (n set, word pointers NULL: only the engine reads them, and those of a large
 * model would not fit in memory or take long to zero) and must go only to a plan-mode engine
 * (lib/spdz.h mimir_spdz_new_plan); edaBits are real zeroed vectors (with MAC words when macs
 * is 1), since comparisons (lib/compare.c) read their words directly. */
typedef struct mimir_prep_count mimir_prep_count;

int mimir_prep_count_new(int macs, mimir_prep_count **out, mimir_err *err);
void mimir_prep_count_free(mimir_prep_count *c); /* NULL is a no-op */
/* The source (valid while c lives). */
mimir_prep *mimir_prep_count_prep(mimir_prep_count *c);
void mimir_prep_count_counts(const mimir_prep_count *c, uint64_t counts[MIMIR_PREP_KINDS]);
/* What was taken as a `mimir-triples deal --plan` file (allocated, caller frees):
 * {"version":1,"items":[{"kind":"triple","count":N},
 *  {"kind":"matrix","rows":R,"inner":I,"cols":C,"count":K}, ..., {"kind":"trunc","f":F,
 *  "count":N}, ..., {"kind":"edabit","count":N}]}; kinds with nothing taken are left out. */
int mimir_prep_count_plan_json(const mimir_prep_count *c, char **json, mimir_err *err);

#endif
