/*
 * approx.h — fixed-point exp, reciprocal, reciprocal square root and GELU, computed the way the
 * secure path will compute them on secret shares.
 *
 * Each function uses only what replicated secret sharing offers: additions, products of two
 * values followed by a truncation, products by public constants, comparisons whose 0/1 result
 * is then used arithmetically (select = b * (x - y) + y), and public constants and shifts. No
 * branch and no memory index depends on a value: do not "optimise" a select into an if. The
 * secure path runs the same steps in the same order, so this file specifies its numerics;
 * docs/numerics.md gives each one's measured error against double precision.
 *
 * Values are ring elements of Z_2^64 read as two's-complement fixed point. f is the model's
 * fractional bits (at most MIMIR_APPROX_FRAC_BITS); intermediate results with small magnitude
 * (exp outputs, reciprocals, Newton iterates) use MIMIR_APPROX_FRAC_BITS = F bits.
 */
#ifndef MIMIR_APPROX_H
#define MIMIR_APPROX_H

#include <stddef.h>

#include "ring.h"

#define MIMIR_APPROX_FRAC_BITS 24   /* F: internal precision of the approximations */
#define MIMIR_APPROX_EXP_LO (-16)   /* exp is P(x / 8)^8 on [-16, 0], 0 below -16 */
#define MIMIR_APPROX_EXP_SQUARINGS 3
#define MIMIR_APPROX_EXP_DEGREE 6
#define MIMIR_APPROX_GELU_BOUND 4   /* GELU is a polynomial on [-4, 4], relu outside */
#define MIMIR_APPROX_GELU_DEGREE 10
#define MIMIR_APPROX_NEWTON_ITERS 3 /* for the reciprocal and the reciprocal square root */
#define MIMIR_APPROX_RECIP_GUESS_STEPS 4 /* initial-guess segments per octave: quarter octaves */
#define MIMIR_APPROX_RSQRT_GUESS_STEPS 2 /* and half octaves */
#define MIMIR_APPROX_RECIP_LOG2_MAX 20  /* 1/x keeps F - 20 significant bits */
#define MIMIR_APPROX_RSQRT_LOG2_MIN (-20)
#define MIMIR_APPROX_RSQRT_LOG2_MAX 26

/* The initial guesses' thresholds and constants, one table for both paths (lib/snl.c): th[k-1]
 * = 2^(k / S) (recip: from 1; rsqrt: from 2^log2_min) for k = 1 .. m, S the function's
 * *_GUESS_STEPS, and g[k] the minimax constant of segment k, [a, a 2^(1/S)) with a = th[k-1]
 * (a = the range's low end for k = 0): 2 / (a (1 + 2^(1/S))) for 1/x, 2 / (sqrt(a) (1 +
 * 2^(1/(2S)))) for 1/sqrt(x). Returns m (th: m words, g: m + 1). The guess is g[k] for x in
 * segment k: g[0] + sum_k [x >= th[k-1]] (g[k] - g[k-1]). */
#define MIMIR_APPROX_RECIP_GUESSES (MIMIR_APPROX_RECIP_GUESS_STEPS * MIMIR_APPROX_RECIP_LOG2_MAX)
#define MIMIR_APPROX_RSQRT_GUESSES                                                             \
    (MIMIR_APPROX_RSQRT_GUESS_STEPS * (MIMIR_APPROX_RSQRT_LOG2_MAX - MIMIR_APPROX_RSQRT_LOG2_MIN))
size_t mimir_approx_recip_guess(unsigned log2_max, mimir_r64 th[MIMIR_APPROX_RECIP_GUESSES],
                                mimir_r64 g[MIMIR_APPROX_RECIP_GUESSES + 1]);
size_t mimir_approx_rsqrt_guess(int log2_min, int log2_max,
                                mimir_r64 th[MIMIR_APPROX_RSQRT_GUESSES],
                                mimir_r64 g[MIMIR_APPROX_RSQRT_GUESSES + 1]);

/* The polynomials' Chebyshev coefficients (scripts/exp-coeffs), shared with the secure twins in
 * lib/snl.c so the two paths cannot drift: exp's P on [-2, 0] in t = u + 1, and GELU's h on
 * [0, 4] in t = u / 2 - 1. */
extern const double mimir_approx_exp_coeffs[MIMIR_APPROX_EXP_DEGREE + 1];
extern const double mimir_approx_gelu_coeffs[MIMIR_APPROX_GELU_DEGREE + 1];

/* The public constant x with s fractional bits: round(x * 2^s). */
mimir_r64 mimir_approx_const(double x, unsigned s);

/* a * b truncated by s bits (mimir_fixed_trunc): the product of an s-bit and any value. */
mimir_r64 mimir_approx_mul(mimir_r64 a, mimir_r64 b, unsigned s);

/* 1 if a < b as signed values, else 0: the most significant bit of a - b, which is how the
 * secure path compares (valid while |a - b| < 2^63). */
mimir_r64 mimir_approx_lt(mimir_r64 a, mimir_r64 b);

/* bit ? a : b for bit in {0, 1}, as arithmetic: b + bit * (a - b). */
mimir_r64 mimir_approx_select(mimir_r64 bit, mimir_r64 a, mimir_r64 b);

/* exp(x) for x <= 0 (the max-subtracted inputs of softmax). x has f fractional bits, the result
 * F bits. exp(x) = P(x / 8)^8 (three squarings) where P is the degree-6 minimax polynomial for
 * exp on [-2, 0] (coefficients from scripts/exp-coeffs), evaluated by Clenshaw's recurrence;
 * inputs below -16 give exactly 0. Positive x is outside the domain (the polynomial is
 * extrapolated). Why not a single polynomial on [-6, 6]: docs/numerics.md. */
mimir_r64 mimir_approx_exp(mimir_r64 x, unsigned f);

/* 1/x for x in [1, 2^log2_max] (log2_max <= MIMIR_APPROX_RECIP_LOG2_MAX, public), x and the
 * result with F fractional bits. Initial guess 2 / (a (1 + 2^(1/4))) on each quarter octave
 * [a, a 2^(1/4)) (mimir_approx_recip_guess), selected by comparisons with the public
 * thresholds (relative error at most 0.0864), then MIMIR_APPROX_NEWTON_ITERS Newton steps
 * y <- y (2 - x y). Inputs in (0, 1) converge more
 * slowly; inputs above 1.5 * 2^log2_max diverge. */
mimir_r64 mimir_approx_recip(mimir_r64 x, unsigned log2_max);

/* 1/sqrt(v) for v in [2^log2_min, 2^log2_max] (within the MIMIR_APPROX_RSQRT_LOG2_* bounds,
 * public), v and the result with F fractional bits. Initial guess 2 / (sqrt(a) (1 + 2^(1/4)))
 * on each half octave [a, a sqrt 2) (mimir_approx_rsqrt_guess; relative error at most 0.0864),
 * then MIMIR_APPROX_NEWTON_ITERS Newton steps
 * y <- y (3 - v y^2) / 2. Inputs below the range converge slowly from below. */
mimir_r64 mimir_approx_rsqrt(mimir_r64 v, int log2_min, int log2_max);

/* GELU (GPT-2's gelu_new, the tanh form) of x with f fractional bits, result f bits:
 * relu(x) + [|x| < 4] * (h(|x|) - |x| / 2), where h(u) = gelu(u) - u/2 is even in x and
 * approximated on [0, 4] by a degree-10 minimax polynomial (scripts/exp-coeffs --func gelu). */
mimir_r64 mimir_approx_gelu(mimir_r64 x, unsigned f);

#endif
