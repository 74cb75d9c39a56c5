/*
 * gpt2_ref.h — the plaintext GPT-2 forward pass in double precision, one token at a time.
 *
 * Computes exactly what Hugging Face's GPT2LMHeadModel computes (pre-LayerNorm blocks, learned
 * positions, gelu_new, causal attention scaled by 1/sqrt(head size), tied embeddings: logits =
 * ln_f(h) wte^T), with a KV cache so that each step evaluates one new position. It is the
 * reference the fixed-point path (gpt2_fixed.h) and the secure path are measured against. It
 * computes in the clear: it protects nothing. The model must outlive the context.
 */
#ifndef MIMIR_GPT2_REF_H
#define MIMIR_GPT2_REF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

typedef struct mimir_gpt2_ref mimir_gpt2_ref;

/* A context at position 0 with an empty KV cache for model m. */
int mimir_gpt2_ref_new(const mimir_gpt2 *m, mimir_gpt2_ref **out, mimir_err *err);
void mimir_gpt2_ref_free(mimir_gpt2_ref *r);

/* Evaluates token at the next position and writes the vocab_size logits of the next token.
 * MIMIR_EINPUT if token is out of range (field "token") or the context is full (n_ctx
 * positions already evaluated, field "position"). */
int mimir_gpt2_ref_step(mimir_gpt2_ref *r, int32_t token, double *logits, mimir_err *err);

/* Number of positions evaluated so far. */
int mimir_gpt2_ref_pos(const mimir_gpt2_ref *r);
/* Empties the KV cache (back to position 0). */
void mimir_gpt2_ref_reset(mimir_gpt2_ref *r);

/* Index of the largest of the n logits; the lowest index wins ties. */
int32_t mimir_gpt2_argmax(const double *logits, size_t n);

#endif
