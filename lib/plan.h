/*
 * plan.h — what a generation of a given size consumes, for a given model: the plan file that
 * `mimir-triples plan` prints and `mimir-generate --prepare` hands to `mimir-triples deal`.
 *
 * One code path: the items come from mimir_sgpt2_plan (lib/sgpt2.h), which runs the secure
 * step code itself in plan mode over a counting source, so a plan and the run it is made for
 * cannot drift. The plan also names the model it was made for: its directory name, its public
 * shape (config.json) and the SHA-256 of config.json's bytes. The counts depend on the shape
 * only, so the digest identifies "a model of this shape and configuration", not its weights.
 *
 * Plan JSON (the `mimir-triples deal --plan` format plus two informative objects):
 *   {"version": 1,
 *    "model": {"name": "tiny", "config_sha256": "<64 hex>", "n_layer": L, "n_head": H,
 *              "n_embd": C, "vocab_size": V, "n_ctx": T, "frac_bits": F},
 *    "generation": {"prompt_len": P, "tokens": N, "steps": S,
 *                   "elements": {"triple": n, "matrix": n, ..., "wpair": n}},
 *    "items": [...]}     (lib/prep.h mimir_prep_count_plan_json)
 * "elements" counts per kind as lib/pool.h counts them (what `mimir-triples status` reports).
 */
#ifndef MIMIR_PLAN_H
#define MIMIR_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"
#include "prep.h"

#define MIMIR_PLAN_CONFIG_MAX_BYTES ((size_t)1 << 20)
#define MIMIR_PLAN_DIGEST_BYTES 32
#define MIMIR_PLAN_NAME_BYTES 256

typedef struct mimir_plan_model {
    char name[MIMIR_PLAN_NAME_BYTES];            /* the model directory's last component */
    mimir_gpt2_config cfg;                       /* parsed config.json */
    uint8_t digest[MIMIR_PLAN_DIGEST_BYTES];     /* SHA-256 of config.json's bytes */
} mimir_plan_model;

/* Reads and parses DIR/config.json. A missing or non-directory dir, a missing or bad
 * config.json: MIMIR_EINPUT naming the directory or file and the field. */
int mimir_plan_model_load(const char *dir, mimir_plan_model *m, mimir_err *err);

/* The plan of a generation of prompt_len prompt tokens and n_new new tokens for model m, as
 * JSON text (allocated, caller frees), and the element counts per kind (counts may be NULL).
 * prompt_len < 1, n_new < 0, or more steps (mimir_sgpt2_steps) than the model's context:
 * MIMIR_EINPUT with field "--prompt-len" or "--tokens". */
int mimir_plan_make(const mimir_plan_model *m, int prompt_len, int n_new,
                    uint64_t counts[MIMIR_PREP_KINDS], char **json, mimir_err *err);

/* The largest n_new a prompt of prompt_len tokens leaves room for in the context (0 if none). */
int mimir_plan_max_tokens(const mimir_gpt2_config *cfg, int prompt_len);

#endif
