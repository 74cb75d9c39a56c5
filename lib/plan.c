/*
 * plan.c — plan files for a model and a generation size (lib/plan.h): mimir_sgpt2_plan's items
 * with the model's identity and the generation's size around them.
 */
#include "plan.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io.h"
#include "sgpt2.h"
#include "sha256.h"

static const char *const kind_names[MIMIR_PREP_KINDS] = {"triple", "matrix", "trunc",
                                                         "edabit", "wmask",  "wpair"};

static void dir_name(const char *dir, char *out, size_t cap)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        b--;
    size_t len = n - b < cap - 1 ? n - b : cap - 1;
    memcpy(out, dir + b, len);
    out[len] = '\0';
}

int mimir_plan_model_load(const char *dir, mimir_plan_model *m, mimir_err *err)
{
    memset(m, 0, sizeof *m);
    struct stat sb;
    if (dir == NULL || dir[0] == '\0')
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "--model", "no model directory given");
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mimir_err_set(err, MIMIR_EINPUT, dir, "--model",
                             "not a directory, expected a model directory with config.json");
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/config.json", dir) >= sizeof path)
        return mimir_err_set(err, MIMIR_EINPUT, dir, "--model", "the path is too long");
    if (stat(path, &sb) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "config.json",
                             "missing, expected the model's config.json");
    uint8_t *json = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, MIMIR_PLAN_CONFIG_MAX_BYTES, &json, &len, err);
    if (rc == MIMIR_OK)
        rc = mimir_gpt2_config_parse(path, (const char *)json, len, &m->cfg, err);
    if (rc == MIMIR_OK) {
        mimir_sha256(m->digest, json, len);
        dir_name(dir, m->name, sizeof m->name);
    }
    free(json);
    return rc;
}

int mimir_plan_max_tokens(const mimir_gpt2_config *cfg, int prompt_len)
{
    /* steps = prompt_len + n_new - 1 <= n_ctx */
    long room = (long)cfg->n_ctx - (long)prompt_len + 1;
    return room < 0 ? 0 : (int)room;
}

static json_t *model_object(const mimir_plan_model *m)
{
    char hex[2 * MIMIR_PLAN_DIGEST_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, m->digest, sizeof m->digest);
    return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "name", m->name,
                     "config_sha256", hex, "n_layer", m->cfg.n_layer, "n_head", m->cfg.n_head,
                     "n_embd", m->cfg.n_embd, "vocab_size", m->cfg.vocab_size, "n_ctx",
                     m->cfg.n_ctx, "frac_bits", m->cfg.frac_bits);
}

int mimir_plan_make(const mimir_plan_model *m, int prompt_len, int n_new,
                    uint64_t counts[MIMIR_PREP_KINDS], char **json, mimir_err *err)
{
    *json = NULL;
    if (prompt_len < 1 || prompt_len > m->cfg.n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "--prompt-len",
                             "%d tokens, expected 1 to the model's context of %d", prompt_len,
                             m->cfg.n_ctx);
    int max = mimir_plan_max_tokens(&m->cfg, prompt_len);
    if (n_new < 0 || n_new > max)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "--tokens",
                             "%d new tokens after a prompt of %d, expected 0 to %d (the "
                             "model's context is %d positions)",
                             n_new, prompt_len, max, m->cfg.n_ctx);
    uint64_t c[MIMIR_PREP_KINDS];
    char *items = NULL;
    int rc = mimir_sgpt2_plan(&m->cfg, prompt_len, n_new, c, &items, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *parsed = json_loads(items, 0, &je), *root = NULL, *el = json_object();
    free(items);
    for (int k = 0; k < MIMIR_PREP_KINDS && el != NULL; k++)
        json_object_set_new(el, kind_names[k], json_integer((json_int_t)c[k]));
    if (parsed != NULL && el != NULL)
        root = json_pack("{s:i, s:o, s:{s:i, s:i, s:i, s:O}, s:O}", "version", 1, "model",
                         model_object(m), "generation", "prompt_len", prompt_len, "tokens",
                         n_new, "steps", mimir_sgpt2_steps(prompt_len, n_new), "elements", el,
                         "items", json_object_get(parsed, "items"));
    if (root != NULL)
        *json = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    json_decref(parsed);
    json_decref(el);
    if (*json == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "plan", "out of memory");
    if (counts != NULL)
        memcpy(counts, c, sizeof c);
    return MIMIR_OK;
}

/* --- binding pools ------------------------------------------------------------------------ */

#define POOL_MODEL_MAX_BYTES 4096

static int hex_digest(const char *hex, uint8_t digest[MIMIR_PLAN_DIGEST_BYTES])
{
    size_t got = 0;
    if (hex == NULL || strlen(hex) != 2 * MIMIR_PLAN_DIGEST_BYTES ||
        sodium_hex2bin(digest, MIMIR_PLAN_DIGEST_BYTES, hex, strlen(hex), NULL, &got, NULL) !=
            0 ||
        got != MIMIR_PLAN_DIGEST_BYTES)
        return -1;
    return 0;
}

/* The "config_sha256" of object o (from file path, field prefix what) into digest. */
static int digest_of(json_t *o, const char *path, const char *what,
                     uint8_t digest[MIMIR_PLAN_DIGEST_BYTES], mimir_err *err)
{
    char field[64];
    snprintf(field, sizeof field, "%sconfig_sha256", what);
    if (!json_is_object(o) ||
        hex_digest(json_string_value(json_object_get(o, "config_sha256")), digest) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, field, "expected %d hex digits",
                             2 * MIMIR_PLAN_DIGEST_BYTES);
    return MIMIR_OK;
}

int mimir_plan_file_model(const char *path, uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                          int *present, mimir_err *err)
{
    *present = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, (size_t)1 << 24, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, 0, &je);
    free(buf);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not valid JSON: %s (line %d)",
                             je.text, je.line);
    json_t *m = json_object_get(root, "model");
    if (m != NULL) {
        rc = digest_of(m, path, "model.", digest, err);
        *present = rc == MIMIR_OK;
    }
    json_decref(root);
    return rc;
}

/* The pool's binding: *bound 0 if it has no model.json. */
static int pool_binding(const char *pool_dir, uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                        int *bound, char *path, size_t cap, mimir_err *err)
{
    *bound = 0;
    if ((size_t)snprintf(path, cap, "%s/%s", pool_dir, MIMIR_PLAN_POOL_MODEL) >= cap)
        return mimir_err_set(err, MIMIR_EINPUT, pool_dir, NULL, "the path is too long");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return MIMIR_OK;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, POOL_MODEL_MAX_BYTES, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, 0, &je);
    free(buf);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not valid JSON: %s (line %d)",
                             je.text, je.line);
    rc = digest_of(root, path, "", digest, err);
    json_decref(root);
    *bound = rc == MIMIR_OK;
    return rc;
}

int mimir_plan_pool_bind(const char *pool_dir, const uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                         mimir_err *err)
{
    char path[4096], hex[2 * MIMIR_PLAN_DIGEST_BYTES + 1];
    uint8_t have[MIMIR_PLAN_DIGEST_BYTES];
    int bound;
    int rc = pool_binding(pool_dir, have, &bound, path, sizeof path, err);
    if (rc != MIMIR_OK)
        return rc;
    sodium_bin2hex(hex, sizeof hex, digest, MIMIR_PLAN_DIGEST_BYTES);
    if (bound && memcmp(have, digest, sizeof have) == 0)
        return MIMIR_OK;
    if (bound)
        return mimir_err_set(err, MIMIR_EINPUT, path, "config_sha256",
                             "the pool is bound to another model configuration, expected "
                             "%.16s... (the plan's)", hex);
    char json[160];
    int n = snprintf(json, sizeof json, "{\"version\": 1, \"config_sha256\": \"%s\"}\n", hex);
    return mimir_write_file(path, json, (size_t)n, err);
}

int mimir_plan_pool_check(const char *pool_dir, const char *model_dir, mimir_err *err)
{
    char path[4096];
    uint8_t have[MIMIR_PLAN_DIGEST_BYTES];
    int bound;
    int rc = pool_binding(pool_dir, have, &bound, path, sizeof path, err);
    if (rc != MIMIR_OK || !bound)
        return rc;
    mimir_plan_model m;
    rc = mimir_plan_model_load(model_dir, &m, err);
    if (rc != MIMIR_OK)
        return rc;
    if (memcmp(have, m.digest, sizeof have) == 0)
        return MIMIR_OK;
    char a[2 * MIMIR_PLAN_DIGEST_BYTES + 1], b[2 * MIMIR_PLAN_DIGEST_BYTES + 1];
    sodium_bin2hex(a, sizeof a, have, sizeof have);
    sodium_bin2hex(b, sizeof b, m.digest, sizeof m.digest);
    return mimir_err_set(err, MIMIR_EINPUT, path, "config_sha256",
                         "the pool was made for a model whose config.json has SHA-256 %.16s..., "
                         "this party's model (%s) has %.16s...; expected a pool made from a plan "
                         "for this model",
                         a, model_dir, b);
}
