/*
 * sgpt2.h — the secure GPT-2 step: one party's side of evaluating a secret-shared GPT-2 on a
 * secret-shared token, with a secret-shared KV cache kept across steps (docs/protocol.md,
 * "Secure generation").
 *
 * The model's weights are this party's shares from a model bundle (`mimir-share split` of a
 * model: lib/sharefile.h kind model, Z_2^64 replicated components), input into the engine once
 * per session (MACs computed by the parties, lib/spdz.h mimir_spdz_input_shares). A step takes
 * the current token as a shared one-hot vector (vocab_size elements) and runs the same
 * operations in the same order as the plaintext fixed-point reference lib/gpt2_fixed.c:
 * embedding = onehot x wte (Beaver matmul), + wpe[pos] (the position is public), per layer
 * LayerNorm, attention over the cached keys and values of positions 0..pos (causal by
 * construction: only past positions exist), MLP with GELU, final LayerNorm, logits = x wte^T,
 * then greedy sampling by secure argmax, which yields the next token as a shared one-hot vector
 * and its index as a shared value. Nothing but uniformly masked values is ever opened.
 *
 * Plan mode: mimir_sgpt2_plan() runs the very same step code on an engine in plan mode (no
 * network, opened values are zero, no check) over a counting preprocessing source, so the counts
 * it reports are exactly what a real run of that many steps consumes.
 */
#ifndef MIMIR_SGPT2_H
#define MIMIR_SGPT2_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "prep.h"
#include "sharefile.h"
#include "spdz.h"

typedef struct mimir_sgpt2 mimir_sgpt2;

/* Loads this party's model shares (a kind-model share file, as mimir-share split writes into a
 * bundle directory) and inputs them into the engine (all three parties call it together).
 * cfg is the model's public shape (config.json of the bundle). All weights go in ONE input call
 * (ceil(n_params / MIMIR_SPDZ_INPUT_CHUNK) rounds); wte is also kept transposed (C, V) for the
 * logits. On a plan-mode engine (lib/spdz.h mimir_spdz_new_plan) weights may be NULL: the
 * matrices only a Beaver product reads are hollow, the rest zeros. */
int mimir_sgpt2_new(mimir_spdz *s, const mimir_gpt2_config *cfg, const mimir_share *weights,
                    mimir_sgpt2 **out, mimir_err *err);
/* As mimir_sgpt2_new, but wipes and frees each weight matrix's components in weights as soon
 * as that matrix is loaded (its c[0], c[1] become NULL; free the share after), so that the
 * share's 16 B/weight and the loaded weights' 8-24 B/weight do not peak together: GPT-2 small's
 * load peaks about 2 GB lower. weights must not be NULL (no plan mode). */
int mimir_sgpt2_new_consume(mimir_spdz *s, const mimir_gpt2_config *cfg, mimir_share *weights,
                            mimir_sgpt2 **out, mimir_err *err);
void mimir_sgpt2_free(mimir_sgpt2 *g);

/* One step at the next position: token is a shared one-hot vector (vocab_size elements).
 * Appends this position's keys and values to the cache. If next_onehot / next_index are not
 * NULL, runs the logits and the secure argmax: next_onehot (vocab_size) and next_index (1) get
 * the greedy next token (allocated by the caller). A prompt token that is not the last one
 * passes NULL for both and skips the logits. logits (may be NULL; test builds and tests only)
 * receives the shared logits (f bits). next_onehot, next_index and logits are allocated by the
 * caller (mimir_sv_alloc with the engine's MAC setting) with vocab_size, 1 and vocab_size
 * elements. MIMIR_EINPUT when the context (n_positions) is full. */
int mimir_sgpt2_step(mimir_sgpt2 *g, const mimir_sv *token, mimir_sv *next_onehot,
                     mimir_sv *next_index, mimir_sv *logits, mimir_err *err);

int mimir_sgpt2_pos(const mimir_sgpt2 *g);

/* Steps of a generation of prompt_len prompt tokens and n_new new tokens: each prompt token is
 * one step, the last one with the argmax (the first new token), then every new token but the
 * last is fed back as one step with the argmax: prompt_len + n_new - 1 steps (prompt_len if
 * n_new is 0, no argmax at all). mimir_sgpt2_plan counts exactly this loop. */
int mimir_sgpt2_steps(int prompt_len, int n_new);

/* Items a generation of prompt_len prompt tokens then n_new generated tokens consumes, by
 * running the step code in plan mode: counts[kind - 1] as lib/dealer.h counts them, plus the
 * list of matrix shapes (written as JSON items, the `mimir-triples deal --plan` format, to
 * plan_json, allocated, caller frees). binary: comparisons in the binary domain (comparison
 * masks and boolean triples, lib/prep.h) or, 0, in the arithmetic domain (edaBits and scalar
 * triples). */
int mimir_sgpt2_plan(const mimir_gpt2_config *cfg, int prompt_len, int n_new, int binary,
                     uint64_t counts[MIMIR_PREP_KINDS], char **plan_json, mimir_err *err);

#endif
