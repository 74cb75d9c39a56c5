/*
 * model.c — GPT-2 config and weights. See model.h.
 */
#include "model.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "mem.h"
#include "safetensors.h"

#define CONFIG_MAX_BYTES (1u << 20)

static int get_int(const char *path, json_t *root, const char *key, const char *alt, int lo,
                   int hi, int dflt, int *out, mimir_err *err)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL && alt != NULL)
        v = json_object_get(root, alt);
    if (v == NULL) {
        if (dflt == INT_MIN)
            return mimir_err_set(err, MIMIR_EINPUT, path, key, "missing; expected an integer");
        *out = dflt;
        return MIMIR_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return mimir_err_set(err, MIMIR_EINPUT, path, key, "expected an integer in [%d, %d]",
                             lo, hi);
    *out = (int)json_integer_value(v);
    return MIMIR_OK;
}

int mimir_gpt2_config_parse(const char *path, const char *json, size_t len,
                            mimir_gpt2_config *cfg, mimir_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "invalid JSON at line %d: %s",
                             je.line, je.text);
    int rc = MIMIR_OK;
    memset(cfg, 0, sizeof *cfg);
    if (!json_is_object(root)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, NULL, "expected a JSON object");
        goto out;
    }
    json_t *mt = json_object_get(root, "model_type");
    if (mt != NULL && (!json_is_string(mt) || strcmp(json_string_value(mt), "gpt2") != 0)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "model_type", "expected \"gpt2\"");
        goto out;
    }
    json_t *act = json_object_get(root, "activation_function");
    if (act != NULL && (!json_is_string(act) ||
                        (strcmp(json_string_value(act), "gelu_new") != 0 &&
                         strcmp(json_string_value(act), "gelu_pytorch_tanh") != 0))) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "activation_function",
                           "expected \"gelu_new\" (the tanh approximation GPT-2 uses)");
        goto out;
    }
    if ((rc = get_int(path, root, "n_layer", NULL, 1, 1024, INT_MIN, &cfg->n_layer, err)) ||
        (rc = get_int(path, root, "n_head", NULL, 1, 1024, INT_MIN, &cfg->n_head, err)) ||
        (rc = get_int(path, root, "n_embd", NULL, 1, 65536, INT_MIN, &cfg->n_embd, err)) ||
        (rc = get_int(path, root, "vocab_size", NULL, 1, 1 << 24, INT_MIN, &cfg->vocab_size,
                      err)) ||
        (rc = get_int(path, root, "n_positions", "n_ctx", 1, 1 << 20, INT_MIN, &cfg->n_ctx,
                      err)) ||
        (rc = get_int(path, root, "mimir_frac_bits", NULL, 1, 40, 16, &cfg->frac_bits, err)))
        goto out;
    if (cfg->n_embd % cfg->n_head != 0) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "n_embd",
                           "%d is not a multiple of n_head (%d)", cfg->n_embd, cfg->n_head);
        goto out;
    }
    json_t *eps = json_object_get(root, "layer_norm_epsilon");
    cfg->ln_eps = 1e-5;
    if (eps != NULL) {
        if (!json_is_number(eps) || !(json_number_value(eps) > 0 && json_number_value(eps) < 1)) {
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "layer_norm_epsilon",
                               "expected a number in (0, 1)");
            goto out;
        }
        cfg->ln_eps = json_number_value(eps);
    }
out:
    json_decref(root);
    return rc;
}

size_t mimir_gpt2_tensor_count(const mimir_gpt2_config *cfg)
{
    return 4 + 12 * (size_t)cfg->n_layer;
}

static const char *layer_names[12] = {
    "ln_1.weight",        "ln_1.bias",         "attn.c_attn.weight", "attn.c_attn.bias",
    "attn.c_proj.weight", "attn.c_proj.bias",  "ln_2.weight",        "ln_2.bias",
    "mlp.c_fc.weight",    "mlp.c_fc.bias",     "mlp.c_proj.weight",  "mlp.c_proj.bias",
};

void mimir_gpt2_tensor_info(const mimir_gpt2_config *cfg, size_t i, char *name, size_t cap,
                            int *ndim, uint64_t shape[2])
{
    uint64_t C = (uint64_t)cfg->n_embd;
    size_t nl = 12 * (size_t)cfg->n_layer;
    if (i == 0) {
        snprintf(name, cap, "wte.weight");
        *ndim = 2, shape[0] = (uint64_t)cfg->vocab_size, shape[1] = C;
    } else if (i == 1) {
        snprintf(name, cap, "wpe.weight");
        *ndim = 2, shape[0] = (uint64_t)cfg->n_ctx, shape[1] = C;
    } else if (i < 2 + nl) {
        size_t l = (i - 2) / 12, j = (i - 2) % 12;
        /* rows (in) and cols (out) of each layer tensor, in units of C; 0 = a vector */
        static const uint8_t rows[12] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 0};
        static const uint8_t cols[12] = {1, 1, 3, 3, 1, 1, 1, 1, 4, 4, 1, 1};
        snprintf(name, cap, "h.%zu.%s", l, layer_names[j]);
        if (rows[j] == 0)
            *ndim = 1, shape[0] = cols[j] * C, shape[1] = 0;
        else
            *ndim = 2, shape[0] = rows[j] * C, shape[1] = cols[j] * C;
    } else {
        snprintf(name, cap, i == 2 + nl ? "ln_f.weight" : "ln_f.bias");
        *ndim = 1, shape[0] = C, shape[1] = 0;
    }
}

void mimir_gpt2_free(mimir_gpt2 *m)
{
    if (m == NULL)
        return;
    if (m->mem != NULL)
        mimir_wipe(m->mem, m->n_params * sizeof *m->mem);
    free(m->mem);
    free(m->layers);
    free(m);
}

static void shape_str(char *buf, size_t cap, int ndim, const uint64_t *shape)
{
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%llu", d ? "," : "",
                              (unsigned long long)shape[d]);
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

/* Names that HF checkpoints carry besides the parameters: causal-mask buffers and the tied
 * output projection. */
static int ignorable(const char *name)
{
    const char *n = strncmp(name, "transformer.", 12) == 0 ? name + 12 : name;
    size_t len = strlen(n);
    if (strcmp(n, "lm_head.weight") == 0)
        return 1;
    if (strncmp(n, "h.", 2) == 0 &&
        ((len > 10 && strcmp(n + len - 10, ".attn.bias") == 0) ||
         (len > 17 && strcmp(n + len - 17, ".attn.masked_bias") == 0)))
        return 1;
    return 0;
}

static const mimir_st_tensor *find(const mimir_st *st, const char *name)
{
    const mimir_st_tensor *t = mimir_st_find(st, name);
    if (t == NULL) {
        char pre[300];
        snprintf(pre, sizeof pre, "transformer.%s", name);
        t = mimir_st_find(st, pre);
    }
    return t;
}

static int load_tensors(mimir_gpt2 *m, const mimir_st *st, mimir_err *err)
{
    const mimir_gpt2_config *cfg = &m->cfg;
    size_t nt = mimir_gpt2_tensor_count(cfg), off = 0, used = 0;
    char name[256], field[300], got[128], want[128];
    for (size_t i = 0; i < nt; i++) {
        int ndim;
        uint64_t shape[2];
        mimir_gpt2_tensor_info(cfg, i, name, sizeof name, &ndim, shape);
        snprintf(field, sizeof field, "tensor %s", name);
        const mimir_st_tensor *t = find(st, name);
        shape_str(want, sizeof want, ndim, shape);
        if (t == NULL)
            return mimir_err_set(err, MIMIR_EINPUT, st->path, field, "missing; expected shape %s",
                                 want);
        used++;
        if (t->ndim != ndim || t->shape[0] != shape[0] || (ndim == 2 && t->shape[1] != shape[1])) {
            shape_str(got, sizeof got, t->ndim, t->shape);
            return mimir_err_set(err, MIMIR_EINPUT, st->path, field, "shape %s, expected %s",
                                 got, want);
        }
        if (t->dtype != MIMIR_ST_F32 && t->dtype != MIMIR_ST_F64 && t->dtype != MIMIR_ST_F16 &&
            t->dtype != MIMIR_ST_BF16)
            return mimir_err_set(err, MIMIR_EINPUT, st->path, field,
                                 "dtype %s, expected F32, F64, F16 or BF16",
                                 mimir_st_dtype_name(t->dtype));
        for (uint64_t k = 0; k < t->numel; k++) {
            double v = mimir_st_get(t, k);
            if (!isfinite(v))
                return mimir_err_set(err, MIMIR_EINPUT, st->path, field,
                                     "element %llu is not a finite number",
                                     (unsigned long long)k);
            m->mem[off + k] = v;
        }
        off += t->numel;
    }
    for (size_t i = 0; i < st->n; i++) {
        const mimir_st_tensor *t = &st->t[i];
        if (!ignorable(t->name))
            continue;
        used++;
        const char *n = strncmp(t->name, "transformer.", 12) == 0 ? t->name + 12 : t->name;
        if (strcmp(n, "lm_head.weight") != 0)
            continue;
        /* Mimir runs GPT-2 with tied embeddings: an lm_head must equal wte. */
        int same = t->numel == (uint64_t)cfg->vocab_size * (uint64_t)cfg->n_embd;
        for (uint64_t k = 0; same && k < t->numel; k++)
            same = mimir_st_get(t, k) == m->wte[k];
        if (!same)
            return mimir_err_set(err, MIMIR_EINPUT, st->path, "tensor lm_head.weight",
                                 "differs from wte.weight; expected tied embeddings");
    }
    if (used != st->n) {
        for (size_t i = 0; i < st->n; i++) {
            int known = ignorable(st->t[i].name);
            for (size_t j = 0; j < nt && !known; j++) {
                int nd;
                uint64_t sh[2];
                mimir_gpt2_tensor_info(cfg, j, name, sizeof name, &nd, sh);
                known = find(st, name) == &st->t[i];
            }
            if (!known) {
                snprintf(field, sizeof field, "tensor %s", st->t[i].name);
                return mimir_err_set(err, MIMIR_EINPUT, st->path, field,
                                     "not a GPT-2 tensor for n_layer %d", cfg->n_layer);
            }
        }
    }
    return MIMIR_OK;
}

static void wire(mimir_gpt2 *m)
{
    size_t nt = mimir_gpt2_tensor_count(&m->cfg);
    m->wte = mimir_gpt2_tensor_data(m, 0);
    m->wpe = mimir_gpt2_tensor_data(m, 1);
    for (int l = 0; l < m->cfg.n_layer; l++) {
        double **p = &m->layers[l].ln_1_w;
        for (size_t j = 0; j < 12; j++)
            p[j] = mimir_gpt2_tensor_data(m, 2 + 12 * (size_t)l + j);
    }
    m->ln_f_w = mimir_gpt2_tensor_data(m, nt - 2);
    m->ln_f_b = mimir_gpt2_tensor_data(m, nt - 1);
}

double *mimir_gpt2_tensor_data(mimir_gpt2 *m, size_t i)
{
    size_t off = 0;
    char name[256];
    for (size_t j = 0; j < i; j++) {
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(&m->cfg, j, name, sizeof name, &nd, sh);
        off += nd == 2 ? sh[0] * sh[1] : sh[0];
    }
    return m->mem + off;
}

int mimir_gpt2_load(const char *dir, mimir_gpt2 **out, mimir_err *err)
{
    *out = NULL;
    char path[4096];
    uint8_t *json = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = mimir_read_file(path, CONFIG_MAX_BYTES, &json, &len, err);
    if (rc != MIMIR_OK) {
        if (rc == MIMIR_ERUNTIME)
            err->code = rc = MIMIR_EINPUT; /* a missing or unreadable model is bad input */
        return rc;
    }
    mimir_gpt2 *m = calloc(1, sizeof *m);
    if (m == NULL) {
        free(json);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    rc = mimir_gpt2_config_parse(path, (const char *)json, len, &m->cfg, err);
    free(json);
    if (rc != MIMIR_OK)
        goto fail;
    size_t nt = mimir_gpt2_tensor_count(&m->cfg), total = 0;
    char name[256];
    for (size_t i = 0; i < nt; i++) {
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(&m->cfg, i, name, sizeof name, &nd, sh);
        total += nd == 2 ? sh[0] * sh[1] : sh[0];
    }
    m->n_params = total;
    m->mem = calloc(total, sizeof *m->mem);
    m->layers = calloc((size_t)m->cfg.n_layer, sizeof *m->layers);
    if (m->mem == NULL || m->layers == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory for %zu parameters",
                           total);
        goto fail;
    }
    wire(m);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mimir_st *st = NULL;
    rc = mimir_st_open(path, MIMIR_MODEL_MAX_BYTES, &st, err);
    if (rc == MIMIR_ERUNTIME)
        err->code = rc = MIMIR_EINPUT;
    if (rc == MIMIR_OK)
        rc = load_tensors(m, st, err);
    mimir_st_free(st);
    if (rc != MIMIR_OK)
        goto fail;
    *out = m;
    return MIMIR_OK;
fail:
    mimir_gpt2_free(m);
    return rc;
}
