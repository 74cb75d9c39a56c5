/*
 * model.h — GPT-2 architecture models: config.json + model.safetensors.
 *
 * Loads Hugging Face GPT-2 checkpoints (tensor names wte, wpe, h.N.ln_1, h.N.attn.c_attn,
 * h.N.attn.c_proj, h.N.ln_2, h.N.mlp.c_fc, h.N.mlp.c_proj, ln_f; an optional "transformer."
 * prefix; the attention-mask buffers h.N.attn.bias / masked_bias and a tied lm_head.weight are
 * accepted and ignored). Every tensor's shape is checked against the config, and an error names
 * the tensor, its shape and the expected shape. Weights are converted to float (double) in
 * memory. Linear weights keep HF's Conv1D layout: W is (in, out) and y = x W + b.
 *
 * The model's shape is public in Mimir's threat model; the weights are the secret.
 */
#ifndef MIMIR_MODEL_H
#define MIMIR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_MODEL_MAX_BYTES ((size_t)4 << 30) /* safetensors files up to 4 GiB */

typedef struct mimir_gpt2_config {
    int n_layer;
    int n_head;
    int n_embd;
    int vocab_size;
    int n_ctx;         /* n_positions */
    double ln_eps;     /* layer_norm_epsilon, default 1e-5 */
    int frac_bits;     /* fixed-point fractional bits: "mimir_frac_bits" in config.json, or 16 */
} mimir_gpt2_config;

/* One transformer block, each pointer into the model's single allocation. Shapes:
 * ln_1_w, ln_1_b (C); attn_w (C, 3C); attn_b (3C); proj_w (C, C); proj_b (C);
 * ln_2_w, ln_2_b (C); fc_w (C, 4C); fc_b (4C); fcproj_w (4C, C); fcproj_b (C). */
typedef struct mimir_gpt2_layer {
    double *ln_1_w, *ln_1_b, *attn_w, *attn_b, *proj_w, *proj_b;
    double *ln_2_w, *ln_2_b, *fc_w, *fc_b, *fcproj_w, *fcproj_b;
} mimir_gpt2_layer;

typedef struct mimir_gpt2 {
    mimir_gpt2_config cfg;
    double *wte;  /* (V, C) */
    double *wpe;  /* (n_ctx, C) */
    mimir_gpt2_layer *layers;
    double *ln_f_w, *ln_f_b; /* (C) */
    double *mem;  /* all parameters, in the order mimir_gpt2_tensors lists them */
    size_t n_params;
} mimir_gpt2;

/* Parses and validates config.json text; path is used in messages. */
int mimir_gpt2_config_parse(const char *path, const char *json, size_t len,
                            mimir_gpt2_config *cfg, mimir_err *err);

/* The canonical tensor list of a config: for i < count, name (without prefix), ndim and shape.
 * Returns the number of tensors (4 + 12 * n_layer). Names are written into name (cap bytes). */
size_t mimir_gpt2_tensor_count(const mimir_gpt2_config *cfg);
void mimir_gpt2_tensor_info(const mimir_gpt2_config *cfg, size_t i, char *name, size_t cap,
                            int *ndim, uint64_t shape[2]);

/* Loads dir/config.json and dir/model.safetensors. */
int mimir_gpt2_load(const char *dir, mimir_gpt2 **out, mimir_err *err);
void mimir_gpt2_free(mimir_gpt2 *m);

/* Pointer to parameter tensor i (in mimir_gpt2_tensor_info order) inside m->mem. */
double *mimir_gpt2_tensor_data(mimir_gpt2 *m, size_t i);

#endif
