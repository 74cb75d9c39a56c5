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

/* The plan of a generation of prompt_len prompt tokens and n_new new tokens for model m
 * (comparisons in the binary domain if binary, lib/sgpt2.h mimir_sgpt2_plan), as
 * JSON text (allocated, caller frees), and the element counts per kind (counts may be NULL).
 * prompt_len < 1, n_new < 0, or more steps (mimir_sgpt2_steps) than the model's context:
 * MIMIR_EINPUT with field "--prompt-len" or "--tokens". */
int mimir_plan_make(const mimir_plan_model *m, int prompt_len, int n_new, int binary,
                    uint64_t counts[MIMIR_PREP_KINDS], char **json, mimir_err *err);

/* --- Binding pools to the model their plan was made for --------------------------------------
 * A pool dealt or generated from a plan that names a model holds POOL/model.json,
 * {"version": 1, "config_sha256": "<64 hex>"}, written atomically; a party serving a pool
 * (mimir-party serve) refuses it if its own model's config.json has another digest. Pools made
 * from item lists (no plan, or a plan without "model") hold no model.json and are not bound. */
#define MIMIR_PLAN_POOL_MODEL "model.json"

/* The plan file's "model"."config_sha256" into digest; *present 0 if the plan has no "model"
 * (then digest is untouched). A malformed "model" is MIMIR_EINPUT naming path and the field. */
int mimir_plan_file_model(const char *path, uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                          int *present, mimir_err *err);
/* Binds pool_dir to digest (writes model.json). A pool already bound to the same digest is
 * left as it is; one bound to another is MIMIR_EINPUT (field "config_sha256"). */
int mimir_plan_pool_bind(const char *pool_dir, const uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                         mimir_err *err);
/* Checks pool_dir's binding against the model (or model bundle) directory model_dir's
 * config.json: an unbound pool passes; a pool bound to another config is MIMIR_EINPUT naming
 * POOL/model.json and "config_sha256" with both digests' first 16 hex digits. */
int mimir_plan_pool_check(const char *pool_dir, const char *model_dir, mimir_err *err);

/* The largest n_new a prompt of prompt_len tokens leaves room for in the context (0 if none). */
int mimir_plan_max_tokens(const mimir_gpt2_config *cfg, int prompt_len);

/* --- Reading a plan file's items --------------------------------------------------------------
 * The one parser of the plan format above, for `mimir-triples deal --plan` and `generate
 * --plan`: strict (unknown keys, wrong types and out-of-range values are errors), and it fills
 * a plain request both commands deal or generate from. Items with count 0 are left out. */
#define MIMIR_PLAN_FILE_MAX_BYTES ((size_t)1 << 20)
#define MIMIR_PLAN_MAX_ENTRIES 1024 /* matrix shapes, trunc entries, masks and pairs, each */
#define MIMIR_PLAN_MAX_COUNT ((uint64_t)1 << 40)        /* triples in total; trunc pairs per item */
#define MIMIR_PLAN_MAX_DIM ((uint64_t)1 << 24)
#define MIMIR_PLAN_MAX_MATRIX_ELEMS ((uint64_t)1 << 28) /* per matrix of a triple, mask or pair */
#define MIMIR_PLAN_MAX_MATRIX_COUNT ((uint64_t)1 << 20) /* per matrix or wpair item */
#define MIMIR_PLAN_MAX_F 63
#define MIMIR_PLAN_DEFAULT_F 16                         /* a trunc item without "f" */

typedef struct mimir_plan_matrix {
    uint64_t rows, inner, cols, count; /* count triples of (rows x inner) * (inner x cols) */
} mimir_plan_matrix;
typedef struct mimir_plan_trunc {
    unsigned f;
    uint64_t count;
} mimir_plan_trunc;
typedef struct mimir_plan_wmask {
    uint64_t inner, cols;
} mimir_plan_wmask;
/* count weight pairs bound to the plan's mask number `mask` (its index in wm[]). */
typedef struct mimir_plan_wpair {
    uint64_t mask, rows, count;
    int transposed;
    size_t item; /* index in the plan's items (messages) */
} mimir_plan_wpair;

/* What to make: the plan's items, and whatever the caller adds from its own flags. */
typedef struct mimir_plan_items {
    uint64_t triples, edabits;
    uint64_t btriples, cmasks; /* boolean triples (words) and comparison masks (lib/prep.h) */
    mimir_plan_matrix mat[MIMIR_PLAN_MAX_ENTRIES];
    size_t nmat;
    mimir_plan_trunc tr[MIMIR_PLAN_MAX_ENTRIES];
    size_t ntr;
    mimir_plan_wmask wm[MIMIR_PLAN_MAX_ENTRIES]; /* in plan order: pairs name them by index */
    size_t nwm;
    mimir_plan_wpair wp[MIMIR_PLAN_MAX_ENTRIES];
    size_t nwp;
} mimir_plan_items;

/* Adds the items of the plan file at path to it (which may already hold the caller's items:
 * totals and entry counts are checked against what it holds). edaBits are limited to
 * max_edabits in total, triples to MIMIR_PLAN_MAX_COUNT. A file that cannot be read is the
 * error of mimir_read_file; a bad file is MIMIR_EINPUT naming path and the field ("version",
 * "items", "items[3].kind", "items[3].mask", an unknown key's name), and then it may hold part
 * of the plan. Every pair is checked against the mask it names. */
int mimir_plan_file_items(const char *path, uint64_t max_edabits, mimir_plan_items *it,
                          mimir_err *err);
/* 0 if m's dimensions, matrix sizes and count are within the limits above, else -1 with the
 * reason ("every dimension must be from 1 to ...") in why. */
int mimir_plan_matrix_check(const mimir_plan_matrix *m, char *why, size_t cap);
/* Elements of A and of C in one weight pair w against mask m. */
void mimir_plan_wpair_elems(const mimir_plan_wmask *m, const mimir_plan_wpair *w, uint64_t *na,
                            uint64_t *nc);

#endif
