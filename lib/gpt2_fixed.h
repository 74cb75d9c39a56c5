/*
 * gpt2_fixed.h — the plaintext GPT-2 forward pass in fixed point, the arithmetic of the secure
 * path without the secret sharing.
 *
 * Values live in Z_2^64 with f = cfg.frac_bits fractional bits (mimir_fixed_encode); every
 * product is followed by a deterministic truncation (mimir_fixed_trunc), matrix products use
 * mimir_r64_matmul and truncate each output once, and the nonlinear layers use lib/approx.h
 * (polynomial exp, Newton reciprocal and reciprocal square root, polynomial GELU). The secure
 * path replaces each operation by its protocol and the truncation by a probabilistic one, so
 * its logits should match these up to the truncation error stated in docs/numerics.md; this
 * path in turn matches the float reference (gpt2_ref.h) within the bound stated there.
 * Overflow is not detected (as on shares): the design ranges are in docs/numerics.md.
 * Embedding lookup indexes wte by the token in the clear (the secure path uses a one-hot
 * product instead; the result is the same). It protects nothing.
 */
#ifndef MIMIR_GPT2_FIXED_H
#define MIMIR_GPT2_FIXED_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "ring.h"

typedef struct mimir_gpt2_fixed mimir_gpt2_fixed;

/* Encodes m's weights (a copy: m may be freed afterwards). MIMIR_EINPUT if cfg.frac_bits
 * exceeds MIMIR_APPROX_FRAC_BITS (field "mimir_frac_bits") or a weight does not fit the ring
 * (field names the tensor). */
int mimir_gpt2_fixed_new(const mimir_gpt2 *m, mimir_gpt2_fixed **out, mimir_err *err);
void mimir_gpt2_fixed_free(mimir_gpt2_fixed *g);

/* Evaluates token at the next position; writes the vocab_size logits decoded to double, and
 * (if raw is not NULL) the ring elements themselves. Errors as mimir_gpt2_ref_step. */
int mimir_gpt2_fixed_step(mimir_gpt2_fixed *g, int32_t token, double *logits, mimir_r64 *raw,
                          mimir_err *err);

int mimir_gpt2_fixed_pos(const mimir_gpt2_fixed *g);
void mimir_gpt2_fixed_reset(mimir_gpt2_fixed *g);

#endif
