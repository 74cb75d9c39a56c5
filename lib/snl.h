/*
 * snl.h — secure nonlinear functions on MAC'd replicated shares: exp, reciprocal, reciprocal
 * square root, GELU, softmax and LayerNorm (docs/numerics.md, docs/protocol.md "Nonlinear
 * layers"), on top of lib/spdz.h and lib/compare.h.
 *
 * Each function runs the SAME steps as its plaintext twin in lib/approx.h (same constants, same
 * polynomial evaluation order, same Newton iterations, same initial-guess selection by
 * comparisons with public thresholds), with each "mul(a, b, s)" a Beaver product followed by a
 * probabilistic truncation (lib/spdz.h: floor or floor + 1), so the secure result differs from
 * the plaintext reference only by those one-unit truncation differences as they propagate;
 * tests/unit/test_snl.c measures the difference and docs/numerics.md states it.
 * Everything is elementwise over n values (or row-wise for softmax and LayerNorm) and batched:
 * the rounds of one call do not depend on n. x and out are value vectors with the fractional
 * bits stated per function (f = the model's, F = MIMIR_APPROX_FRAC_BITS internal precision).
 * out is allocated by the caller with the right size (and MAC words unless semi-honest); out
 * may alias x unless stated otherwise. Nothing is opened but uniformly masked values (Beaver
 * differences, truncation and comparison masks), every open joins the engine's deferred check.
 *
 * Comparison widths (lib/compare.h *_bits): every comparison here runs at the narrowest width
 * its operands' DESIGN RANGE allows, which is far cheaper than 64 bits (32 bits: 57 triples
 * and 6 rounds instead of 120 and 7). A value v with |v| < 2^a (as a real number) at f
 * fractional bits is compared correctly at MIMIR_SNL_CMP_BITS(a, f) = a + f + 1 bits. The
 * activations the layers compare (GELU's input, attention scores, logits) are assumed below
 * 2^MIMIR_SNL_ACT_LOG2 in magnitude; outside that range a comparison gives a wrong bit, like an
 * overflow, undetected (docs/numerics.md, "Design ranges"). The reciprocal and the reciprocal
 * square root compare their own documented input ranges ([1, 2^log2_max], F bits).
 *
 * Rounds per call (every comparison of a call in ONE batched ltz) are the MIMIR_SNL_*_ROUNDS
 * macros below, functions of f (the width sets the ltz's rounds); an engine check
 * (mimir_spdz_check) is not included: the caller runs it before an output.
 */
#ifndef MIMIR_SNL_H
#define MIMIR_SNL_H

#include <stddef.h>

#include "approx.h"
#include "compare.h"
#include "err.h"
#include "spdz.h"

#define MIMIR_SNL_DIV_BITS 16 /* as lib/gpt2_fixed.c's DIV_BITS: x / n = x round(2^s / n) >> s,
                               * s = 16 + ceil(log2 n) */

/* Design range of the activations the layers compare: GELU's input, the attention scores and
 * the logits are below 2^14 = 16384 in magnitude (real value; GPT-2's stay below a few hundred,
 * docs/numerics.md). Differences of two of them are below 2^15. */
#define MIMIR_SNL_ACT_LOG2 14
/* Width of a comparison of v with |v| < 2^a (real) at f fractional bits: a + f + 1, within
 * 2..64. */
#define MIMIR_SNL_CMP_BITS(a, f)                                                               \
    ((int)(a) + (int)(f) + 1 > 64 ? 64u : (int)(a) + (int)(f) + 1 < 2 ? 2u                      \
                                                   : (unsigned)((int)(a) + (int)(f) + 1))
/* The widths of this module's comparisons (f: the input's fractional bits):
 * GELU's two (x, and |x| - 4), exp's cut (x + 16 with x = score - max in (-2^15, 0]), the max
 * tree of the softmax and the argmax of the logits (differences of two activations). */
#define MIMIR_SNL_GELU_CMP_BITS(f) MIMIR_SNL_CMP_BITS(MIMIR_SNL_ACT_LOG2, f)
#define MIMIR_SNL_EXP_CMP_BITS(f) MIMIR_SNL_CMP_BITS(MIMIR_SNL_ACT_LOG2 + 1, f)
#define MIMIR_SNL_MAX_CMP_BITS(f) MIMIR_SNL_CMP_BITS(MIMIR_SNL_ACT_LOG2 + 1, f)
/* Low bits that the tolerant comparisons leave out (mimir_spdz_ltz_coarse; docs/protocol.md,
 * "Coarse comparisons", and docs/numerics.md give the error each accepts): GELU's two and
 * exp's cut decide exactly from 1/16 away from their thresholds (f - 4 bits left out), the
 * softmax's max tree from 1/256 (f - 8). The argmax of the logits stays exact. */
#define MIMIR_SNL_SKIP(f, res_log2) ((unsigned)(f) > (res_log2) ? (unsigned)(f) - (res_log2) : 0u)
#define MIMIR_SNL_GELU_CMP_SKIP(f) MIMIR_SNL_SKIP(f, 4u)
#define MIMIR_SNL_EXP_CMP_SKIP(f) MIMIR_SNL_SKIP(f, 4u)
#define MIMIR_SNL_MAX_CMP_SKIP(f) MIMIR_SNL_SKIP(f, 8u)
/* The carry-tree widths those comparisons pay for. */
#define MIMIR_SNL_GELU_CMP_LEAVES(f)                                                           \
    MIMIR_COMPARE_COARSE_LEAVES(MIMIR_SNL_GELU_CMP_BITS(f), MIMIR_SNL_GELU_CMP_SKIP(f))
#define MIMIR_SNL_EXP_CMP_LEAVES(f)                                                            \
    MIMIR_COMPARE_COARSE_LEAVES(MIMIR_SNL_EXP_CMP_BITS(f), MIMIR_SNL_EXP_CMP_SKIP(f))
#define MIMIR_SNL_MAX_CMP_LEAVES(f)                                                            \
    MIMIR_COMPARE_COARSE_LEAVES(MIMIR_SNL_MAX_CMP_BITS(f), MIMIR_SNL_MAX_CMP_SKIP(f))
/* recip's octave thresholds: x in [1, 2^log2_max] at F bits (x - th below 2^log2_max). */
#define MIMIR_SNL_RECIP_CMP_BITS(log2_max) MIMIR_SNL_CMP_BITS(log2_max, MIMIR_APPROX_FRAC_BITS)
/* rsqrt's: v in [2^log2_min, 2^log2_max] at F bits. */
#define MIMIR_SNL_RSQRT_CMP_BITS(log2_max) MIMIR_SNL_CMP_BITS(log2_max, MIMIR_APPROX_FRAC_BITS)

#define MIMIR_SNL_LTZ_ROUNDS(b) MIMIR_COMPARE_LTZ_BITS_ROUNDS(b)

/* Clenshaw's recurrence of degree d: 2d - 1 rounds (the first step is public, the second a
 * product by a public constant, then a product and a truncation per step). */
#define MIMIR_SNL_CLENSHAW_ROUNDS(d) (2 * (d) - 1)
/* exp (f bits in): ltz, select, truncation of x/8, Clenshaw (degree 6), 3 squarings, the cut:
 * L + 20 with L the coarse ltz's rounds, MIMIR_SNL_EXP_CMP_LEAVES(f) leaves (6 for f = 16). */
#define MIMIR_SNL_EXP_ROUNDS(f)                                                                \
    (MIMIR_SNL_LTZ_ROUNDS(MIMIR_SNL_EXP_CMP_LEAVES(f)) + 3 + MIMIR_SNL_CLENSHAW_ROUNDS(6) + 6)
/* recip: ltz (if log2_max >= 1), MIMIR_APPROX_NEWTON_ITERS (3) Newton steps of 2 products + 2
 * truncations: L + 12. */
#define MIMIR_SNL_RECIP_ROUNDS(log2_max)                                                       \
    (MIMIR_SNL_LTZ_ROUNDS(MIMIR_SNL_RECIP_CMP_BITS(log2_max)) + 4 * MIMIR_APPROX_NEWTON_ITERS)
/* rsqrt: ltz (if log2_max > log2_min), 3 Newton steps of 3 (product, truncation): L + 18 */
#define MIMIR_SNL_RSQRT_ROUNDS(log2_max)                                                       \
    (MIMIR_SNL_LTZ_ROUNDS(MIMIR_SNL_RSQRT_CMP_BITS(log2_max)) + 6 * MIMIR_APPROX_NEWTON_ITERS)
/* gelu: ltz, product, ltz, one batched truncation, Clenshaw (degree 10), truncation to f bits
 * (none if f = F), product: 2L + 23. */
#define MIMIR_SNL_GELU_ROUNDS(f)                                                               \
    (2 * MIMIR_SNL_LTZ_ROUNDS(MIMIR_SNL_GELU_CMP_LEAVES(f)) + 4 + MIMIR_SNL_CLENSHAW_ROUNDS(10))
/* softmax: the max tree's rounds + exp + recip + product + truncation. */
#define MIMIR_SNL_SOFTMAX_ROUNDS(max_rounds, f, recip_log2)                                    \
    ((max_rounds) + MIMIR_SNL_EXP_ROUNDS(f) + MIMIR_SNL_RECIP_ROUNDS(recip_log2) + 2)
/* Rounds of the softmax's max tree over len elements (f bits; coarse comparisons). */
#define MIMIR_SNL_MAX_TREE_ROUNDS(levels, f)                                                   \
    ((levels) * MIMIR_COMPARE_TREE_LEVEL_BITS_ROUNDS(MIMIR_SNL_MAX_CMP_LEAVES(f)))
/* layernorm (2f > F): mean (1), square (1) and truncation (1), variance (1), rsqrt (up to
 * 2^MIMIR_APPROX_RSQRT_LOG2_MAX = 2^26), scale (2), gain (2): rsqrt + 8 (one less when
 * 2f <= F). */
#define MIMIR_SNL_LAYERNORM_ROUNDS (MIMIR_SNL_RSQRT_ROUNDS(MIMIR_APPROX_RSQRT_LOG2_MAX) + 8)

/* out (F bits) = exp(x) for x (f bits) <= 0, as mimir_approx_exp. f <= F. Design range:
 * x > -2^(MIMIR_SNL_ACT_LOG2 + 1) (the cut's comparison is MIMIR_SNL_EXP_CMP_BITS(f) wide). */
int mimir_snl_exp(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f, mimir_err *err);

/* out (F bits) = 1/x for x (F bits) in [1, 2^log2_max], as mimir_approx_recip.
 * log2_max <= MIMIR_APPROX_RECIP_LOG2_MAX. */
int mimir_snl_recip(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned log2_max,
                    mimir_err *err);

/* out (F bits) = 1/sqrt(v) for v (F bits) in [2^log2_min, 2^log2_max], as mimir_approx_rsqrt,
 * within MIMIR_APPROX_RSQRT_LOG2_MIN <= log2_min < log2_max <= MIMIR_APPROX_RSQRT_LOG2_MAX. */
int mimir_snl_rsqrt(mimir_spdz *s, mimir_sv *out, const mimir_sv *v, int log2_min,
                    int log2_max, mimir_err *err);

/* out (f bits) = GELU(x) (f bits), as mimir_approx_gelu. f <= F. Design range:
 * |x| < 2^MIMIR_SNL_ACT_LOG2 (comparisons MIMIR_SNL_GELU_CMP_BITS(f) wide). */
int mimir_snl_gelu(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f,
                   mimir_err *err);

/* Row-wise softmax of x (rows x len, f bits) into out (rows x len, F bits: the probabilities
 * at the internal precision, as lib/gpt2_fixed.c's softmax_fixed keeps them for the product
 * with V), as the plaintext fixed-point reference does it: max-subtract (lib/compare.h
 * mimir_spdz_max), exp, sum, reciprocal of the sum (mimir_snl_recip with recip_log2, the
 * reference's 1 + ceil(log2 n_ctx)), products. No logit is ever opened. */
int mimir_snl_softmax(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                      unsigned f, unsigned recip_log2, mimir_err *err);

/* Row-wise LayerNorm of x (rows x d, f bits) with shared gain g and bias b (d elements each,
 * f bits) into out (rows x d, f bits), as lib/gpt2_fixed.c: mean, centred values, variance
 * (squares brought to F bits), reciprocal square root of variance + eps (eps: public, F bits,
 * at least 1; eps_log2: rsqrt's lower range, floor(log2 ln_eps) clamped to
 * MIMIR_APPROX_RSQRT_LOG2_MIN, as the reference computes them), scale, gain, bias. */
int mimir_snl_layernorm(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_sv *g,
                        const mimir_sv *b, size_t rows, size_t d, unsigned f, mimir_r64 eps,
                        int eps_log2, mimir_err *err);

#endif
