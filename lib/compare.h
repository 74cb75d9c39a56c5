/*
 * compare.h — secure comparison, selection, max and argmax on MAC'd replicated shares
 * (docs/protocol.md, "Comparisons": derivation, carry tree, triple table, widths), on top of
 * lib/spdz.h.
 *
 * Less-than-zero of x is the sign bit of x read as a `bits`-bit two's-complement number
 * (bits = 64: the most significant bit of the ring element), extracted with an edaBit
 * (Escudero, Ghosh, Keller, Rachuri, Scholl, CRYPTO 2020, §4-5): with x' = x + 2^(bits-1), open
 * c = x' + r (the whole 128-bit word, uniformly masked by r~; only the bits low bits of r are
 * used as shared bits, the rest of r masks the rest of c), then bit bits-1 of x' mod 2^bits is
 * c_(bits-1) XOR r_(bits-1) XOR [c mod 2^(bits-1) < r mod 2^(bits-1)], the last term by the
 * bitwise less-than of a public and a shared number (Catrina and de Hoogh, SCN 2010, BitLT)
 * evaluated as a carry tree of (generate, propagate) pairs whose shape minimises the Beaver
 * triples for the minimal ceil(log2 bits) product rounds (the XOR with r_(bits-1) is the tree's
 * top leaf, so there is no final product). Bits are shared as 0/1 values of the same
 * arithmetic sharing, so AND is a Beaver product and XOR with a public bit is linear. The
 * result is a shared 0/1 value; nothing but the uniformly masked c and Beaver differences is
 * opened, and every open is checked by the engine's deferred check.
 *
 * Validity of the *_bits variants (bits public, 2..64): the result is [x < 0] exactly when
 * -2^(bits-1) <= x < 2^(bits-1) as a signed value (for lt: the difference a - b, for lt_public
 * x - c, for max/argmax every difference of two elements of a row). Outside that range the
 * result is the sign bit of (x mod 2^bits) read as a bits-bit number: a wrong bit, like an
 * overflow, and not detected; every call site must document why its operands are in range.
 * bits = 64 is the unbounded case and what the functions without _bits do.
 *
 * Everything is batched: one call on n elements spends the same rounds as on one. Results agree
 * with lib/approx.h's plaintext functions (mimir_approx_lt, mimir_approx_select), exactly, in
 * the valid range.
 */
#ifndef MIMIR_COMPARE_H
#define MIMIR_COMPARE_H

#include <stddef.h>

#include "err.h"
#include "spdz.h"

#define MIMIR_COMPARE_BITS_MIN 2  /* widths of the *_bits variants */
/* The domain plans choose unless told (mimir-triples plan --compare, mimir-generate's embedded
 * cluster, bench_sgpt2): 1 binary, 0 arithmetic (lib/prep.h, mimir_prep.binary). */
#define MIMIR_COMPARE_BINARY_DEFAULT 1
#define MIMIR_COMPARE_BITS_MAX 64
/* Rounds of one ltz of width b: 1 open + ceil(log2 b) product levels of the carry tree (b
 * leaves: the b - 1 bits of BitLT and the XOR with r_(b-1) folded in as the top leaf). */
#define MIMIR_COMPARE_LTZ_BITS_ROUNDS(b)                                                       \
    (1 + ((b) <= 2 ? 1 : (b) <= 4 ? 2 : (b) <= 8 ? 3 : (b) <= 16 ? 4 : (b) <= 32 ? 5 : 6))
#define MIMIR_COMPARE_LTZ_ROUNDS MIMIR_COMPARE_LTZ_BITS_ROUNDS(64) /* 7, the 64-bit ltz */
#define MIMIR_COMPARE_LTZ_TRIPLES 120 /* Beaver triples per 64-bit comparison (was 192 with the
                                       * Sklansky prefix product: docs/protocol.md);
                                       * other widths: mimir_compare_ltz_triples */
#define MIMIR_COMPARE_SELECT_ROUNDS 1
/* Rounds of one level of the max / argmax tree: a batched lt and one batched product. */
#define MIMIR_COMPARE_TREE_LEVEL_BITS_ROUNDS(b) (MIMIR_COMPARE_LTZ_BITS_ROUNDS(b) + 1)
#define MIMIR_COMPARE_TREE_LEVEL_ROUNDS MIMIR_COMPARE_TREE_LEVEL_BITS_ROUNDS(64)

/* Beaver triples one comparison of width bits takes (2 -> 1, 16 -> 26, 32 -> 57, 64 -> 120;
 * the table in docs/protocol.md, "Comparisons"); 0 if bits is outside 2..64. */
unsigned mimir_compare_ltz_triples(unsigned bits);

/* The binary domain (the source's binary flag, lib/prep.h; docs/protocol.md, "Comparisons in
 * the binary domain"): one ltz of width b (b leaves as above) takes one comparison mask per
 * element and, per 64 elements (or part), mimir_compare_ltz_gates(b) words of boolean triples;
 * its rounds are 1 open + ceil(log2 (b - 1)) AND levels (the tree over the b - 1 bits of
 * BitLT; the XOR with r_(b-1) is free) + 1 open of the result masked by the daBit. */
#define MIMIR_COMPARE_LTZ_BITS_ROUNDS_BINARY(b)                                                \
    (2 + ((b) <= 2 ? 0 : (b) <= 3 ? 1 : (b) <= 5 ? 2 : (b) <= 9 ? 3 : (b) <= 17 ? 4 : (b) <= 33 ? 5 : 6))
#define MIMIR_COMPARE_TREE_LEVEL_BITS_ROUNDS_BINARY(b) (MIMIR_COMPARE_LTZ_BITS_ROUNDS_BINARY(b) + 1)
/* AND gates per element of one binary-domain comparison of width bits (64 -> 118, the
 * arithmetic tree's count over 63 leaves); 0 if bits is outside 2..64. */
unsigned mimir_compare_ltz_gates(unsigned bits);

/* out (allocated by the caller, x->n elements; may alias x) = [x < 0] as shared 0/1 values:
 * the sign bit of x mod 2^64, exactly (for every x, as mimir_approx_lt(x, 0)). Takes x->n
 * edaBits and MIMIR_COMPARE_LTZ_TRIPLES * x->n triples; MIMIR_COMPARE_LTZ_ROUNDS rounds (none
 * for n = 0). The engine's source must give edaBits (MIMIR_EINPUT otherwise). */
int mimir_spdz_ltz(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, mimir_err *err);

/* out = [x < 0] for -2^(bits-1) <= x < 2^(bits-1) (see the validity rule above), 2 <= bits <=
 * 64 (MIMIR_EINPUT otherwise). Takes x->n edaBits and mimir_compare_ltz_triples(bits) * x->n
 * triples; MIMIR_COMPARE_LTZ_BITS_ROUNDS(bits) rounds (none for n = 0). bits = 64 is
 * mimir_spdz_ltz. */
int mimir_spdz_ltz_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                        mimir_err *err);

/* The coarse comparison: [x < 0] with the skip least significant bits left out of the carry
 * tree (0 <= skip <= bits - 2). The result is always a shared 0/1 value and it is exactly
 * [x < 0] when 2^skip <= |x| and -2^(bits-1) <= x < 2^(bits-1); for |x| < 2^skip it may be
 * either bit, depending on the edaBit (bits = 64, skip > 0: also within 2^skip of -2^63 and
 * 2^63; below 64 the tree is one bit wider, MIMIR_COMPARE_COARSE_WIDTH, so that the ends of
 * the range are exact). For call sites whose result
 * matters only away from the threshold, e.g. a switch between two approximations that agree
 * there (docs/protocol.md, "Coarse comparisons", has the proof and the error each call site
 * accepts). With L = MIMIR_COMPARE_COARSE_LEAVES(bits, skip) it takes x->n edaBits and
 * mimir_compare_ltz_triples(L) * x->n triples and MIMIR_COMPARE_LTZ_BITS_ROUNDS(L) rounds, and
 * opens the same uniformly masked c as ltz_bits. skip = 0 is mimir_spdz_ltz_bits. */
#define MIMIR_COMPARE_COARSE_WIDTH(bits, skip) ((skip) > 0 && (bits) < 64 ? (bits) + 1 : (bits))
#define MIMIR_COMPARE_COARSE_LEAVES(bits, skip) (MIMIR_COMPARE_COARSE_WIDTH(bits, skip) - (skip))
int mimir_spdz_ltz_coarse(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                          unsigned skip, mimir_err *err);

/* out = [a < b] elementwise (= ltz(a - b)). */
int mimir_spdz_lt(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                  mimir_err *err);

/* out = [a < b] for |a - b| < 2^(bits-1) (ltz_bits(a - b)). */
int mimir_spdz_lt_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                       unsigned bits, mimir_err *err);

/* out = [x < c] elementwise for public c (x->n words; = ltz(x - c), the comparisons of the
 * nonlinear layers with public thresholds). Same rounds as ltz. */
int mimir_spdz_lt_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_r128 *c,
                         mimir_err *err);
/* out = [x < c] for |x - c| < 2^(bits-1) (ltz_bits(x - c)). */
int mimir_spdz_lt_public_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x,
                              const mimir_r128 *c, unsigned bits, mimir_err *err);

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

/* max and argmax with comparisons of width bits: valid when every difference of two elements
 * of a row is below 2^(bits-1) in magnitude (e.g. every element in [-2^(bits-2), 2^(bits-2))).
 * MIMIR_COMPARE_TREE_LEVEL_BITS_ROUNDS(bits) rounds per level; bits = 64 is the unbounded
 * functions above. */
int mimir_spdz_max_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows,
                        size_t len, unsigned bits, mimir_err *err);
/* Row-wise max with coarse comparisons (mimir_spdz_ltz_coarse): each level's pick is one of
 * its two elements, and the smaller only if the two differ by less than 2^skip, so the result
 * is an element of the row within ceil(log2 len) 2^skip of the maximum. Costs as
 * mimir_spdz_max_bits at width MIMIR_COMPARE_COARSE_LEAVES(bits, skip). */
int mimir_spdz_max_coarse(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows,
                          size_t len, unsigned bits, unsigned skip, mimir_err *err);
int mimir_spdz_argmax_bits(mimir_spdz *s, mimir_sv *onehot, mimir_sv *max, const mimir_sv *x,
                           size_t rows, size_t len, unsigned bits, mimir_err *err);

#endif
