/*
 * compare.h — secure comparison, selection, max and argmax on MAC'd replicated shares
 * (docs/protocol.md, "Comparisons"), on top of lib/spdz.h.
 *
 * Less-than-zero is the most significant bit of a 64-bit value, extracted with an edaBit
 * (Escudero, Ghosh, Keller, Rachuri, Scholl, CRYPTO 2020, §4-5): open c = x + r (r's 64 low bits
 * are shared bit by bit), then msb(x) = c_63 XOR r_63 XOR [c mod 2^63 < r mod 2^63], the last
 * term by the bitwise less-than of a public and a shared 63-bit number (Catrina and de Hoogh,
 * "Improved primitives for secure multiparty integer computation", SCN 2010, BitLT) with a
 * log-depth prefix product of (1 - (c_i XOR r_i)). Bits are shared as 0/1 values of the same
 * arithmetic sharing, so AND is a Beaver product and XOR with a public bit is linear. The result
 * is a shared 0/1 value; nothing but the uniformly masked c is opened, and every open is checked
 * by the engine's deferred check.
 *
 * Everything is batched: one call on n elements spends the same rounds as on one. Results agree
 * with lib/approx.h's plaintext functions (mimir_approx_lt, mimir_approx_select), exactly.
 * Validity: |x| < 2^63 as signed 64-bit values (a - b must not overflow for lt).
 */
#ifndef MIMIR_COMPARE_H
#define MIMIR_COMPARE_H

#include <stddef.h>

#include "err.h"
#include "spdz.h"

#define MIMIR_COMPARE_LTZ_ROUNDS 7 /* 1 open + 6 prefix-product levels (64 entries: the 63
                                     * bits of BitLT and the XOR with r_63 folded in; no final
                                     * product, docs/drafts/compare.md) */
#define MIMIR_COMPARE_LTZ_TRIPLES 192 /* Beaver triples per compared element (6 levels x 32) */
#define MIMIR_COMPARE_SELECT_ROUNDS 1
/* Rounds of one level of the max / argmax tree: a batched lt and one batched product. */
#define MIMIR_COMPARE_TREE_LEVEL_ROUNDS (MIMIR_COMPARE_LTZ_ROUNDS + 1)

/* out (allocated by the caller, x->n elements; may alias x) = [x < 0] as shared 0/1 values:
 * the sign bit of x mod 2^64, exactly (for every x, as mimir_approx_lt(x, 0)). Takes x->n
 * edaBits and MIMIR_COMPARE_LTZ_TRIPLES * x->n triples; MIMIR_COMPARE_LTZ_ROUNDS rounds (none
 * for n = 0). The engine's source must give edaBits (MIMIR_EINPUT otherwise). */
int mimir_spdz_ltz(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, mimir_err *err);

/* out = [a < b] elementwise (= ltz(a - b)). */
int mimir_spdz_lt(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                  mimir_err *err);

/* out = [x < c] elementwise for public c (x->n words; = ltz(x - c), the comparisons of the
 * nonlinear layers with public thresholds). Same rounds as ltz. */
int mimir_spdz_lt_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_r128 *c,
                         mimir_err *err);

/* out = bit ? a : b = b + bit * (a - b) elementwise (one Beaver product, no truncation).
 * bit must hold 0/1 values. out may alias a or b. 1 round. */
int mimir_spdz_select(mimir_spdz *s, mimir_sv *out, const mimir_sv *bit, const mimir_sv *a,
                      const mimir_sv *b, mimir_err *err);

/* Row-wise max of x (rows x len, row-major) into out (rows elements) by a comparison tree: one
 * batched lt + select per level, ceil(log2 len) levels (an odd element passes up unchanged),
 * MIMIR_COMPARE_TREE_LEVEL_ROUNDS rounds each, all rows in the same calls. len >= 1. */
int mimir_spdz_max(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                   mimir_err *err);

/* Argmax of each row of x (rows x len): onehot (rows x len) gets a shared one-hot vector of the
 * first maximal position (ties go to the lower index, as the plaintext reference's argmax), and
 * max (rows elements, may be NULL) the maximum. The one-hot is carried through the same tree:
 * at each level the winner's one-hot half is kept by products with the comparison bit, in the
 * same batched product as the select (so the same rounds as mimir_spdz_max). */
int mimir_spdz_argmax(mimir_spdz *s, mimir_sv *onehot, mimir_sv *max, const mimir_sv *x,
                      size_t rows, size_t len, mimir_err *err);

#endif
