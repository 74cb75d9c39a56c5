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
 * may alias x unless stated otherwise.
 */
#ifndef MIMIR_SNL_H
#define MIMIR_SNL_H

#include <stddef.h>

#include "err.h"
#include "spdz.h"

/* out (F bits) = exp(x) for x (f bits) <= 0, as mimir_approx_exp. */
int mimir_snl_exp(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f, mimir_err *err);

/* out (F bits) = 1/x for x (F bits) in [1, 2^log2_max], as mimir_approx_recip. */
int mimir_snl_recip(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned log2_max,
                    mimir_err *err);

/* out (F bits) = 1/sqrt(v) for v (F bits) in [2^log2_min, 2^log2_max], as mimir_approx_rsqrt. */
int mimir_snl_rsqrt(mimir_spdz *s, mimir_sv *out, const mimir_sv *v, int log2_min,
                    int log2_max, mimir_err *err);

/* out (f bits) = GELU(x) (f bits), as mimir_approx_gelu. */
int mimir_snl_gelu(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f,
                   mimir_err *err);

/* Row-wise softmax of x (rows x len, f bits) into out (rows x len, f bits), as the plaintext
 * fixed-point reference does it (lib/gpt2_fixed.c): max-subtract (lib/compare.h mimir_spdz_max),
 * exp, sum, reciprocal of the sum, products. No logit is ever opened. */
int mimir_snl_softmax(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                      unsigned f, mimir_err *err);

/* Row-wise LayerNorm of x (rows x d, f bits) with shared gain g and bias b (d elements each,
 * f bits) into out (rows x d, f bits), as lib/gpt2_fixed.c: mean, centred values, variance,
 * reciprocal square root (of variance + eps), scale, gain, bias. */
int mimir_snl_layernorm(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_sv *g,
                        const mimir_sv *b, size_t rows, size_t d, unsigned f, mimir_err *err);

#endif
