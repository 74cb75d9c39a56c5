/*
 * gpt2_fixed.c — GPT-2 forward in Z_2^64 fixed point with a KV cache. See gpt2_fixed.h.
 *
 * Same layer functions as gpt2_ref.c, in the same order; each names its scale. f is the
 * model's fractional bits, F = MIMIR_APPROX_FRAC_BITS the internal precision of the
 * approximations. tr(a, s) is a truncation by s bits, the one operation the secure path
 * replaces by probabilistic truncation with preprocessed pairs.
 */
#include "gpt2_fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "mem.h"

#define F MIMIR_APPROX_FRAC_BITS
#define DIV_BITS 16 /* relative precision of divisions by a public count (1/C) */

typedef struct fixed_layer {
    mimir_r64 *ln_1_w, *ln_1_b, *attn_w, *attn_b, *proj_w, *proj_b;
    mimir_r64 *ln_2_w, *ln_2_b, *fc_w, *fc_b, *fcproj_w, *fcproj_b;
} fixed_layer;

struct mimir_gpt2_fixed {
    mimir_gpt2_config cfg;
    unsigned f;
    mimir_r64 *params;     /* every parameter, in mimir_gpt2_tensor_info order */
    size_t n_params;
    mimir_r64 *wte, *wpe, *ln_f_w, *ln_f_b; /* into params */
    mimir_r64 *wte_t;      /* (C, V) the tied output projection */
    fixed_layer *layers;
    int pos;
    mimir_r64 *k_cache, *v_cache; /* (n_layer, n_ctx, C) */
    mimir_r64 *x, *xb, *xb2, *qkv, *att, *hb; /* (C) (C) (C) (3C) (n_ctx) (4C) */
    mimir_r64 *lg;         /* (V) logits in the ring */
    mimir_r64 eps;         /* ln_eps at F bits, at least one unit */
    int eps_log2;          /* rsqrt's lower range: floor(log2 eps) */
    unsigned recip_log2;   /* softmax sums are at most n_ctx: 1 + ceil(log2 n_ctx) */
};

static mimir_r64 tr(mimir_r64 a, unsigned s)
{
    return mimir_fixed_trunc(a, s);
}

static unsigned ceil_log2(uint64_t n)
{
    unsigned k = 0;
    while (((uint64_t)1 << k) < n)
        k++;
    return k;
}

// x / n for a public count n, x with any scale: x * round(2^s / n) truncated by s, with
// s = DIV_BITS + ceil(log2 n) so the constant keeps DIV_BITS significant bits
static mimir_r64 div_public(mimir_r64 x, int n)
{
    unsigned s = DIV_BITS + ceil_log2((uint64_t)n);
    return tr(x * mimir_approx_const(1.0 / n, s), s);
}

// out (C) = (x - mean) rsqrt(var + eps) w + b; x, w, b, out with f bits
static void layernorm_fixed(const mimir_gpt2_fixed *g, mimir_r64 *out, const mimir_r64 *x,
                            const mimir_r64 *w, const mimir_r64 *b)
{
    int C = g->cfg.n_embd;
    unsigned f = g->f;
    mimir_r64 sum = 0, sumsq = 0;
    for (int i = 0; i < C; i++)
        sum += x[i];
    mimir_r64 mean = div_public(sum, C); // f bits
    for (int i = 0; i < C; i++) {
        mimir_r64 d = x[i] - mean;
        mimir_r64 dd = d * d; // 2f bits, brought to F bits
        sumsq += 2 * f >= F ? tr(dd, 2 * f - F) : dd << (F - 2 * f);
    }
    mimir_r64 var = div_public(sumsq, C) + g->eps; // F bits
    mimir_r64 rstd = mimir_approx_rsqrt(var, g->eps_log2, MIMIR_APPROX_RSQRT_LOG2_MAX); // F
    for (int i = 0; i < C; i++) {
        mimir_r64 n = tr((x[i] - mean) * rstd, F); // f bits
        out[i] = tr(n * w[i], f) + b[i];
    }
}

// out (n) = x (k) W (k, n) + b (n), all with f bits: one truncation per output
static void matmul_fixed(const mimir_gpt2_fixed *g, mimir_r64 *out, const mimir_r64 *x,
                         const mimir_r64 *W, const mimir_r64 *b, int k, int n)
{
    mimir_r64_matmul(out, x, W, 1, (size_t)k, (size_t)n);
    for (int j = 0; j < n; j++)
        out[j] = tr(out[j], g->f) + (b != NULL ? b[j] : 0);
}

// att (T) = softmax(att) at F bits, att with f bits: max-subtracted exp over the sum;
// max by a chain of comparisons and selects (the secure path uses a tree, same result)
static void softmax_fixed(const mimir_gpt2_fixed *g, mimir_r64 *att, int T)
{
    mimir_r64 max = att[0], sum = 0;
    for (int t = 1; t < T; t++)
        max = mimir_approx_select(mimir_approx_lt(max, att[t]), att[t], max);
    for (int t = 0; t < T; t++) {
        att[t] = mimir_approx_exp(att[t] - max, g->f); // F bits, in [0, 1]
        sum += att[t];
    }
    mimir_r64 inv = mimir_approx_recip(sum, g->recip_log2); // F bits
    for (int t = 0; t < T; t++)
        att[t] = tr(att[t] * inv, F);
}

// out (C) = per head h: softmax(q_h K_h^T / sqrt(hs)) V_h over positions 0..T-1, f bits;
// q (C), kc, vc (n_ctx, C) holding T positions
static void attention_fixed(const mimir_gpt2_fixed *g, mimir_r64 *out, mimir_r64 *q,
                            const mimir_r64 *kc, const mimir_r64 *vc, int T)
{
    int C = g->cfg.n_embd, NH = g->cfg.n_head, hs = C / NH;
    unsigned f = g->f;
    mimir_r64 scale = mimir_approx_const(1.0 / sqrt((double)hs), F);
    for (int i = 0; i < C; i++)
        q[i] = tr(q[i] * scale, F); // q / sqrt(hs), before the dot products
    for (int h = 0; h < NH; h++) {
        const mimir_r64 *qh = q + h * hs;
        for (int t = 0; t < T; t++) {
            const mimir_r64 *kt = kc + (size_t)t * C + h * hs;
            mimir_r64 s = 0;
            for (int i = 0; i < hs; i++)
                s += qh[i] * kt[i];
            g->att[t] = tr(s, f);
        }
        softmax_fixed(g, g->att, T);
        mimir_r64 *oh = out + h * hs;
        for (int i = 0; i < hs; i++) {
            mimir_r64 s = 0;
            for (int t = 0; t < T; t++)
                s += g->att[t] * vc[(size_t)t * C + h * hs + i];
            oh[i] = tr(s, F); // p (F bits) times v (f bits)
        }
    }
}

static void gelu_fixed(const mimir_gpt2_fixed *g, mimir_r64 *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = mimir_approx_gelu(x[i], g->f);
}

static void residual_fixed(mimir_r64 *x, const mimir_r64 *y, int n)
{
    mimir_r64_add(x, x, y, (size_t)n);
}

static void block_fixed(mimir_gpt2_fixed *g, int l)
{
    const fixed_layer *w = &g->layers[l];
    int C = g->cfg.n_embd;
    size_t layer = (size_t)l * g->cfg.n_ctx * C, cache = layer + (size_t)g->pos * C;

    layernorm_fixed(g, g->xb, g->x, w->ln_1_w, w->ln_1_b);
    matmul_fixed(g, g->qkv, g->xb, w->attn_w, w->attn_b, C, 3 * C);
    memcpy(g->k_cache + cache, g->qkv + C, (size_t)C * sizeof(mimir_r64));
    memcpy(g->v_cache + cache, g->qkv + 2 * C, (size_t)C * sizeof(mimir_r64));
    attention_fixed(g, g->xb, g->qkv, g->k_cache + layer, g->v_cache + layer, g->pos + 1);
    matmul_fixed(g, g->xb2, g->xb, w->proj_w, w->proj_b, C, C);
    residual_fixed(g->x, g->xb2, C);

    layernorm_fixed(g, g->xb, g->x, w->ln_2_w, w->ln_2_b);
    matmul_fixed(g, g->hb, g->xb, w->fc_w, w->fc_b, C, 4 * C);
    gelu_fixed(g, g->hb, 4 * C);
    matmul_fixed(g, g->xb2, g->hb, w->fcproj_w, w->fcproj_b, 4 * C, C);
    residual_fixed(g->x, g->xb2, C);
}

int mimir_gpt2_fixed_step(mimir_gpt2_fixed *g, int32_t token, double *logits, mimir_r64 *raw,
                          mimir_err *err)
{
    const mimir_gpt2_config *cfg = &g->cfg;
    int C = cfg->n_embd, V = cfg->vocab_size;
    if (token < 0 || token >= V)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "token",
                             "%ld is out of range, expected 0 to %d", (long)token, V - 1);
    if (g->pos >= cfg->n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "position",
                             "the context is full (%d positions, the model's n_positions)",
                             cfg->n_ctx);
    // x (C) = wte[token] + wpe[pos]
    mimir_r64_add(g->x, g->wte + (size_t)token * C, g->wpe + (size_t)g->pos * C, (size_t)C);
    for (int l = 0; l < cfg->n_layer; l++)
        block_fixed(g, l);
    // logits (V) = ln_f(x) wte^T
    layernorm_fixed(g, g->xb, g->x, g->ln_f_w, g->ln_f_b);
    matmul_fixed(g, g->lg, g->xb, g->wte_t, NULL, C, V);
    for (int v = 0; v < V; v++)
        logits[v] = mimir_fixed_decode(g->lg[v], g->f);
    if (raw != NULL)
        memcpy(raw, g->lg, (size_t)V * sizeof *raw);
    g->pos++;
    return MIMIR_OK;
}

static int encode_params(mimir_gpt2_fixed *g, const mimir_gpt2 *m, mimir_err *err)
{
    size_t nt = mimir_gpt2_tensor_count(&g->cfg), off = 0;
    char name[256], field[300];
    for (size_t i = 0; i < nt; i++) {
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(&g->cfg, i, name, sizeof name, &nd, sh);
        size_t n = nd == 2 ? sh[0] * sh[1] : sh[0];
        for (size_t k = 0; k < n; k++) {
            if (mimir_fixed_encode(m->mem[off + k], g->f, &g->params[off + k], err) != 0) {
                snprintf(field, sizeof field, "tensor %s", name);
                return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                                     "element %zu does not fit %u fractional bits in Z_2^64",
                                     k, g->f);
            }
        }
        mimir_r64 *p = g->params + off;
        if (i == 0)
            g->wte = p;
        else if (i == 1)
            g->wpe = p;
        else if (i < 2 + 12 * (size_t)g->cfg.n_layer)
            (&g->layers[(i - 2) / 12].ln_1_w)[(i - 2) % 12] = p;
        else if (i == nt - 2)
            g->ln_f_w = p;
        else
            g->ln_f_b = p;
        off += n;
    }
    return MIMIR_OK;
}

int mimir_gpt2_fixed_new(const mimir_gpt2 *m, mimir_gpt2_fixed **out, mimir_err *err)
{
    *out = NULL;
    const mimir_gpt2_config *cfg = &m->cfg;
    if (cfg->frac_bits > F)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "mimir_frac_bits",
                             "%d is too many for the fixed-point path, expected at most %d",
                             cfg->frac_bits, F);
    if (cfg->n_ctx > 1 << (MIMIR_APPROX_RECIP_LOG2_MAX - 1))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n_positions",
                             "%d is too many for the fixed-point softmax, expected at most %d",
                             cfg->n_ctx, 1 << (MIMIR_APPROX_RECIP_LOG2_MAX - 1));
    size_t C = (size_t)cfg->n_embd, V = (size_t)cfg->vocab_size, cache;
    if (mimir_size_mul((size_t)cfg->n_layer * (size_t)cfg->n_ctx, C * sizeof(mimir_r64), &cache))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n_positions", "KV cache size overflows");
    mimir_gpt2_fixed *g = calloc(1, sizeof *g);
    if (g == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    g->cfg = *cfg;
    g->f = (unsigned)cfg->frac_bits;
    g->n_params = m->n_params;
    g->layers = calloc((size_t)cfg->n_layer, sizeof *g->layers);
    g->params = mimir_secret_alloc(m->n_params * sizeof(mimir_r64));
    g->wte_t = mimir_secret_alloc(V * C * sizeof(mimir_r64));
    g->k_cache = mimir_secret_alloc(cache);
    g->v_cache = mimir_secret_alloc(cache);
    g->x = mimir_secret_alloc(C * sizeof(mimir_r64));
    g->xb = mimir_secret_alloc(C * sizeof(mimir_r64));
    g->xb2 = mimir_secret_alloc(C * sizeof(mimir_r64));
    g->qkv = mimir_secret_alloc(3 * C * sizeof(mimir_r64));
    g->att = mimir_secret_alloc((size_t)cfg->n_ctx * sizeof(mimir_r64));
    g->hb = mimir_secret_alloc(4 * C * sizeof(mimir_r64));
    g->lg = mimir_secret_alloc(V * sizeof(mimir_r64));
    if (!g->lg || !g->layers || !g->params || !g->wte_t || !g->k_cache || !g->v_cache || !g->x || !g->xb ||
        !g->xb2 || !g->qkv || !g->att || !g->hb) {
        mimir_gpt2_fixed_free(g);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    }
    int rc = encode_params(g, m, err);
    if (rc != MIMIR_OK) {
        mimir_gpt2_fixed_free(g);
        return rc;
    }
    for (size_t v = 0; v < V; v++)
        for (size_t i = 0; i < C; i++)
            g->wte_t[i * V + v] = g->wte[v * C + i];
    g->eps = mimir_approx_const(cfg->ln_eps, F);
    g->eps = g->eps > 0 ? g->eps : 1; // public: at least one unit keeps rsqrt finite
    g->eps_log2 = (int)floor(log2(cfg->ln_eps));
    if (g->eps_log2 < MIMIR_APPROX_RSQRT_LOG2_MIN)
        g->eps_log2 = MIMIR_APPROX_RSQRT_LOG2_MIN;
    g->recip_log2 = 1 + ceil_log2((uint64_t)cfg->n_ctx);
    *out = g;
    return MIMIR_OK;
}

void mimir_gpt2_fixed_free(mimir_gpt2_fixed *g)
{
    if (g == NULL)
        return;
    mimir_secret_free(g->params);
    mimir_secret_free(g->wte_t);
    mimir_secret_free(g->k_cache);
    mimir_secret_free(g->v_cache);
    mimir_secret_free(g->x);
    mimir_secret_free(g->xb);
    mimir_secret_free(g->xb2);
    mimir_secret_free(g->qkv);
    mimir_secret_free(g->att);
    mimir_secret_free(g->hb);
    mimir_secret_free(g->lg);
    free(g->layers);
    free(g);
}

int mimir_gpt2_fixed_pos(const mimir_gpt2_fixed *g)
{
    return g->pos;
}

void mimir_gpt2_fixed_reset(mimir_gpt2_fixed *g)
{
    g->pos = 0;
}
