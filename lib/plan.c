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
                                                         "edabit", "wmask",  "wpair", "btriple", "cmask"};

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

int mimir_plan_make(const mimir_plan_model *m, int prompt_len, int n_new, int binary,
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
    int rc = mimir_sgpt2_plan(&m->cfg, prompt_len, n_new, binary, c, &items, err);
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

/* Reads path (at most max bytes) and parses it as JSON with jansson's flags into *root. */
static int load_json(const char *path, size_t max, size_t flags, json_t **root, mimir_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *root = NULL;
    int rc = mimir_read_file(path, max, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    *root = json_loadb((const char *)buf, len, flags, &je);
    free(buf);
    if (*root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not valid JSON: %s (line %d)",
                             je.text, je.line);
    return MIMIR_OK;
}

int mimir_plan_file_model(const char *path, uint8_t digest[MIMIR_PLAN_DIGEST_BYTES],
                          int *present, mimir_err *err)
{
    *present = 0;
    json_t *root;
    int rc = load_json(path, (size_t)1 << 24, 0, &root, err);
    if (rc != MIMIR_OK)
        return rc;
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
    json_t *root;
    int rc = load_json(path, POOL_MODEL_MAX_BYTES, 0, &root, err);
    if (rc != MIMIR_OK)
        return rc;
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

/* --- reading a plan file's items ---------------------------------------------------------- */

int mimir_plan_matrix_check(const mimir_plan_matrix *m, char *why, size_t cap)
{
    if (m->rows < 1 || m->rows > MIMIR_PLAN_MAX_DIM || m->inner < 1 ||
        m->inner > MIMIR_PLAN_MAX_DIM || m->cols < 1 || m->cols > MIMIR_PLAN_MAX_DIM) {
        snprintf(why, cap, "every dimension must be from 1 to %llu",
                 (unsigned long long)MIMIR_PLAN_MAX_DIM);
        return -1;
    }
    if (m->rows * m->inner > MIMIR_PLAN_MAX_MATRIX_ELEMS ||
        m->inner * m->cols > MIMIR_PLAN_MAX_MATRIX_ELEMS ||
        m->rows * m->cols > MIMIR_PLAN_MAX_MATRIX_ELEMS) {
        snprintf(why, cap, "a matrix of more than %llu elements",
                 (unsigned long long)MIMIR_PLAN_MAX_MATRIX_ELEMS);
        return -1;
    }
    if (m->count < 1 || m->count > MIMIR_PLAN_MAX_MATRIX_COUNT) {
        snprintf(why, cap, "count must be from 1 to %llu",
                 (unsigned long long)MIMIR_PLAN_MAX_MATRIX_COUNT);
        return -1;
    }
    return 0;
}

void mimir_plan_wpair_elems(const mimir_plan_wmask *m, const mimir_plan_wpair *w, uint64_t *na,
                            uint64_t *nc)
{
    *na = w->rows * (w->transposed ? m->cols : m->inner);
    *nc = w->rows * (w->transposed ? m->inner : m->cols);
}

/* The item being read: the file, the item's index and its "items[i].kind" field. */
typedef struct item_ctx {
    const char *path;
    size_t i;
    char field[64];
    mimir_err *err;
} item_ctx;

static int fail(mimir_err *err, const char *path, const char *field, const char *msg)
{
    return mimir_err_set(err, MIMIR_EINPUT, path, field, "%s", msg);
}

/* The item's key as an integer in [min, max] into *v; absent: an error if required, else *v
 * is left as it is. */
static int item_uint(json_t *o, const char *key, uint64_t min, uint64_t max, int required,
                     uint64_t *v, const item_ctx *c)
{
    char field[64];
    snprintf(field, sizeof field, "items[%zu].%s", c->i, key);
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return required ? fail(c->err, c->path, field, "missing") : MIMIR_OK;
    if (!json_is_integer(j) || json_integer_value(j) < (json_int_t)min ||
        (uint64_t)json_integer_value(j) > max)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->path, field,
                             "expected an integer from %llu to %llu", (unsigned long long)min,
                             (unsigned long long)max);
    *v = (uint64_t)json_integer_value(j);
    return MIMIR_OK;
}

/* Every key of o is one of keys (NULL-terminated); item SIZE_MAX is the top-level object. */
static int known_keys(json_t *o, const char *const *keys, const char *path, size_t item,
                      mimir_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int known = 0;
        for (size_t j = 0; keys[j] != NULL; j++)
            known |= strcmp(k, keys[j]) == 0;
        if (!known) {
            char field[128];
            if (item == SIZE_MAX)
                snprintf(field, sizeof field, "%.100s", k);
            else
                snprintf(field, sizeof field, "items[%zu].%.80s", item, k);
            return fail(err, path, field, "unknown key");
        }
    }
    return MIMIR_OK;
}

/* A "triple" or "edabit" item: added to *total, at most max in all. */
static int item_count(json_t *o, uint64_t max, uint64_t *total, const char *what,
                      const item_ctx *c)
{
    static const char *const keys[] = {"kind", "count", NULL};
    uint64_t n = 0;
    int rc = known_keys(o, keys, c->path, c->i, c->err);
    if (rc == MIMIR_OK)
        rc = item_uint(o, "count", 0, max, 1, &n, c);
    if (rc == MIMIR_OK && n > max - *total)
        rc = mimir_err_set(c->err, MIMIR_EINPUT, c->path, c->field, "too many %s in total",
                           what);
    if (rc == MIMIR_OK)
        *total += n;
    return rc;
}

static int item_matrix(json_t *o, mimir_plan_items *it, const item_ctx *c)
{
    static const char *const keys[] = {"kind", "rows", "inner", "cols", "count", NULL};
    mimir_plan_matrix m = {0, 0, 0, 0};
    char why[128];
    int rc;
    if ((rc = known_keys(o, keys, c->path, c->i, c->err)) != MIMIR_OK ||
        (rc = item_uint(o, "rows", 1, MIMIR_PLAN_MAX_DIM, 1, &m.rows, c)) != MIMIR_OK ||
        (rc = item_uint(o, "inner", 1, MIMIR_PLAN_MAX_DIM, 1, &m.inner, c)) != MIMIR_OK ||
        (rc = item_uint(o, "cols", 1, MIMIR_PLAN_MAX_DIM, 1, &m.cols, c)) != MIMIR_OK ||
        (rc = item_uint(o, "count", 0, MIMIR_PLAN_MAX_MATRIX_COUNT, 1, &m.count, c)) !=
            MIMIR_OK)
        return rc;
    if (m.count == 0)
        return MIMIR_OK;
    if (mimir_plan_matrix_check(&m, why, sizeof why) != 0)
        return fail(c->err, c->path, c->field, why);
    if (it->nmat == MIMIR_PLAN_MAX_ENTRIES)
        return fail(c->err, c->path, c->field, "too many matrix entries");
    it->mat[it->nmat++] = m;
    return MIMIR_OK;
}

static int item_trunc(json_t *o, mimir_plan_items *it, const item_ctx *c)
{
    static const char *const keys[] = {"kind", "f", "count", NULL};
    uint64_t f = MIMIR_PLAN_DEFAULT_F, n = 0;
    int rc;
    if ((rc = known_keys(o, keys, c->path, c->i, c->err)) != MIMIR_OK ||
        (rc = item_uint(o, "f", 1, MIMIR_PLAN_MAX_F, 0, &f, c)) != MIMIR_OK ||
        (rc = item_uint(o, "count", 0, MIMIR_PLAN_MAX_COUNT, 1, &n, c)) != MIMIR_OK)
        return rc;
    if (n == 0)
        return MIMIR_OK;
    if (it->ntr == MIMIR_PLAN_MAX_ENTRIES)
        return fail(c->err, c->path, c->field, "too many trunc entries");
    it->tr[it->ntr++] = (mimir_plan_trunc){(unsigned)f, n};
    return MIMIR_OK;
}

static int item_wmask(json_t *o, mimir_plan_items *it, const item_ctx *c)
{
    static const char *const keys[] = {"kind", "inner", "cols", "count", NULL};
    mimir_plan_wmask m = {0, 0};
    uint64_t n = 0;
    int rc;
    if ((rc = known_keys(o, keys, c->path, c->i, c->err)) != MIMIR_OK ||
        (rc = item_uint(o, "inner", 1, MIMIR_PLAN_MAX_DIM, 1, &m.inner, c)) != MIMIR_OK ||
        (rc = item_uint(o, "cols", 1, MIMIR_PLAN_MAX_DIM, 1, &m.cols, c)) != MIMIR_OK ||
        (rc = item_uint(o, "count", 1, 1, 1, &n, c)) != MIMIR_OK)
        return rc; /* one item per mask: pairs name it by its index */
    if (m.inner * m.cols > MIMIR_PLAN_MAX_MATRIX_ELEMS)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->path, c->field,
                             "a %llux%llu mask: more than %llu elements",
                             (unsigned long long)m.inner, (unsigned long long)m.cols,
                             (unsigned long long)MIMIR_PLAN_MAX_MATRIX_ELEMS);
    if (it->nwm == MIMIR_PLAN_MAX_ENTRIES)
        return fail(c->err, c->path, c->field, "too many weight masks");
    it->wm[it->nwm++] = m;
    return MIMIR_OK;
}

static int item_wpair(json_t *o, mimir_plan_items *it, const item_ctx *c)
{
    static const char *const keys[] = {"kind", "mask", "rows", "transposed", "count", NULL};
    mimir_plan_wpair w = {.item = c->i};
    uint64_t t = 0;
    int rc;
    if ((rc = known_keys(o, keys, c->path, c->i, c->err)) != MIMIR_OK ||
        (rc = item_uint(o, "mask", 0, MIMIR_PLAN_MAX_ENTRIES - 1, 1, &w.mask, c)) !=
            MIMIR_OK ||
        (rc = item_uint(o, "rows", 1, MIMIR_PLAN_MAX_DIM, 1, &w.rows, c)) != MIMIR_OK ||
        (rc = item_uint(o, "transposed", 0, 1, 1, &t, c)) != MIMIR_OK ||
        (rc = item_uint(o, "count", 0, MIMIR_PLAN_MAX_MATRIX_COUNT, 1, &w.count, c)) !=
            MIMIR_OK)
        return rc;
    w.transposed = (int)t;
    if (w.count == 0)
        return MIMIR_OK;
    if (it->nwp == MIMIR_PLAN_MAX_ENTRIES)
        return fail(c->err, c->path, c->field, "too many weight-pair entries");
    it->wp[it->nwp++] = w;
    return MIMIR_OK;
}

static int plan_item(json_t *o, size_t i, const char *path, uint64_t max_edabits,
                     mimir_plan_items *it, mimir_err *err)
{
    item_ctx c = {.path = path, .i = i, .err = err};
    snprintf(c.field, sizeof c.field, "items[%zu]", i);
    if (!json_is_object(o))
        return fail(err, path, c.field, "expected an object with \"kind\"");
    snprintf(c.field, sizeof c.field, "items[%zu].kind", i);
    json_t *k = json_object_get(o, "kind");
    const char *kind = json_is_string(k) ? json_string_value(k) : "";
    if (strcmp(kind, "triple") == 0)
        return item_count(o, MIMIR_PLAN_MAX_COUNT, &it->triples, "triples", &c);
    if (strcmp(kind, "edabit") == 0)
        return item_count(o, max_edabits, &it->edabits, "edaBits", &c);
    if (strcmp(kind, "btriple") == 0)
        return item_count(o, MIMIR_PLAN_MAX_COUNT, &it->btriples, "boolean triples", &c);
    if (strcmp(kind, "cmask") == 0)
        return item_count(o, max_edabits, &it->cmasks, "comparison masks", &c);
    if (strcmp(kind, "matrix") == 0)
        return item_matrix(o, it, &c);
    if (strcmp(kind, "trunc") == 0)
        return item_trunc(o, it, &c);
    if (strcmp(kind, "wmask") == 0)
        return item_wmask(o, it, &c);
    if (strcmp(kind, "wpair") == 0)
        return item_wpair(o, it, &c);
    return fail(err, path, c.field,
                "expected \"triple\", \"matrix\", \"trunc\", \"edabit\", \"wmask\", "
                "\"wpair\", \"btriple\" or \"cmask\"");
}

/* Every pair must name one of the plan's masks and fit its shape. */
static int plan_pairs(const char *path, const mimir_plan_items *it, mimir_err *err)
{
    for (size_t j = 0; j < it->nwp; j++) {
        const mimir_plan_wpair *w = &it->wp[j];
        char field[64];
        snprintf(field, sizeof field, "items[%zu].mask", w->item);
        if (w->mask >= it->nwm)
            return mimir_err_set(err, MIMIR_EINPUT, path, field,
                                 "mask %llu, but the plan has %zu weight mask%s (expected %s)",
                                 (unsigned long long)w->mask, it->nwm, it->nwm == 1 ? "" : "s",
                                 it->nwm == 0 ? "a \"wmask\" item first" : "0 to the last");
        uint64_t na, nc;
        mimir_plan_wpair_elems(&it->wm[w->mask], w, &na, &nc);
        snprintf(field, sizeof field, "items[%zu].rows", w->item);
        if (na > MIMIR_PLAN_MAX_MATRIX_ELEMS || nc > MIMIR_PLAN_MAX_MATRIX_ELEMS)
            return mimir_err_set(err, MIMIR_EINPUT, path, field,
                                 "%llu rows against mask %llu: a matrix of more than %llu "
                                 "elements",
                                 (unsigned long long)w->rows, (unsigned long long)w->mask,
                                 (unsigned long long)MIMIR_PLAN_MAX_MATRIX_ELEMS);
    }
    return MIMIR_OK;
}

int mimir_plan_file_items(const char *path, uint64_t max_edabits, mimir_plan_items *it,
                          mimir_err *err)
{
    static const char *const keys[] = {"version", "model", "generation", "items", NULL};
    json_t *root;
    int rc = load_json(path, MIMIR_PLAN_FILE_MAX_BYTES, JSON_REJECT_DUPLICATES, &root, err);
    if (rc != MIMIR_OK)
        return rc;
    if (!json_is_object(root))
        rc = fail(err, path, NULL, "expected a JSON object {\"version\":1,\"items\":[...]}");
    if (rc == MIMIR_OK)
        rc = known_keys(root, keys, path, SIZE_MAX, err);
    json_t *v = json_object_get(root, "version"), *items = json_object_get(root, "items");
    if (rc == MIMIR_OK && (!json_is_integer(v) || json_integer_value(v) != 1))
        rc = fail(err, path, "version", v == NULL ? "missing, expected 1" : "expected 1");
    if (rc == MIMIR_OK && !json_is_array(items))
        rc = fail(err, path, "items", "expected an array of items");
    for (size_t i = 0; rc == MIMIR_OK && i < json_array_size(items); i++)
        rc = plan_item(json_array_get(items, i), i, path, max_edabits, it, err);
    if (rc == MIMIR_OK)
        rc = plan_pairs(path, it, err);
    json_decref(root);
    return rc;
}
