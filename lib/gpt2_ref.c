/*
 * gpt2_ref.c — GPT-2 forward in double precision with a KV cache. See gpt2_ref.h.
 *
 * One plain function per layer, as in karpathy's llama2.c run.c; C is n_embd, NH n_head,
 * hs = C / NH the head size, T the number of positions evaluated so far including this one.
 */
#include "gpt2_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct mimir_gpt2_ref {
    const mimir_gpt2 *m;
    int pos;
    double *k_cache, *v_cache; /* (n_layer, n_ctx, C) each */
    double *x;                 /* (C) the residual stream */
    double *xb, *xb2;          /* (C) scratch */
    double *qkv;               /* (3C) */
    double *att;               /* (n_ctx) attention weights of one head */
    double *hb;                /* (4C) MLP hidden */
};

// out (C) = (x - mean) / sqrt(var + eps) * w + b, with x (C)
static void layernorm_forward(double *out, const double *x, const double *w, const double *b,
                              int C, double eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < C; i++)
        mean += x[i];
    mean /= C;
    for (int i = 0; i < C; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= C;
    double rstd = 1.0 / sqrt(var + eps);
    for (int i = 0; i < C; i++)
        out[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

// out (n) = x (k) W (k, n) + b (n): HF's Conv1D layout
static void matmul_forward(double *out, const double *x, const double *W, const double *b, int k,
                           int n)
{
    for (int j = 0; j < n; j++)
        out[j] = b != NULL ? b[j] : 0.0;
    for (int i = 0; i < k; i++) {
        const double *row = W + (size_t)i * n;
        for (int j = 0; j < n; j++)
            out[j] += x[i] * row[j];
    }
}

// x (n) = softmax(x)
static void softmax(double *x, int n)
{
    double max = x[0], sum = 0;
    for (int i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    for (int i = 0; i < n; i++) {
        x[i] = exp(x[i] - max);
        sum += x[i];
    }
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

// out (C) = per head h: softmax(q_h K_h^T / sqrt(hs)) V_h over positions 0..T-1,
// q (C) this position's query, kc, vc (n_ctx, C) the layer's cache holding T positions
static void attention_forward(double *out, const double *q, const double *kc, const double *vc,
                              double *att, int T, int C, int NH)
{
    int hs = C / NH;
    double scale = 1.0 / sqrt((double)hs);
    for (int h = 0; h < NH; h++) {
        const double *qh = q + h * hs;
        for (int t = 0; t < T; t++) {
            const double *kt = kc + (size_t)t * C + h * hs;
            double s = 0;
            for (int i = 0; i < hs; i++)
                s += qh[i] * kt[i];
            att[t] = s * scale;
        }
        softmax(att, T);
        double *oh = out + h * hs;
        memset(oh, 0, (size_t)hs * sizeof *oh);
        for (int t = 0; t < T; t++) {
            const double *vt = vc + (size_t)t * C + h * hs;
            for (int i = 0; i < hs; i++)
                oh[i] += att[t] * vt[i];
        }
    }
}

// x (n) = gelu_new(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
static void gelu_forward(double *x, int n)
{
    const double s = sqrt(2.0 / M_PI);
    for (int i = 0; i < n; i++)
        x[i] = 0.5 * x[i] * (1.0 + tanh(s * (x[i] + 0.044715 * x[i] * x[i] * x[i])));
}

// x (n) += y (n)
static void residual_forward(double *x, const double *y, int n)
{
    for (int i = 0; i < n; i++)
        x[i] += y[i];
}

// one block at position pos: x += attn(ln_1(x)); x += mlp(ln_2(x))
static void block_forward(mimir_gpt2_ref *r, int l)
{
    const mimir_gpt2_config *cfg = &r->m->cfg;
    const mimir_gpt2_layer *w = &r->m->layers[l];
    int C = cfg->n_embd;
    size_t cache = ((size_t)l * cfg->n_ctx + r->pos) * C;

    layernorm_forward(r->xb, r->x, w->ln_1_w, w->ln_1_b, C, cfg->ln_eps);
    matmul_forward(r->qkv, r->xb, w->attn_w, w->attn_b, C, 3 * C); // q, k, v each (C)
    memcpy(r->k_cache + cache, r->qkv + C, (size_t)C * sizeof(double));
    memcpy(r->v_cache + cache, r->qkv + 2 * C, (size_t)C * sizeof(double));
    size_t layer = (size_t)l * cfg->n_ctx * C;
    attention_forward(r->xb, r->qkv, r->k_cache + layer, r->v_cache + layer, r->att, r->pos + 1,
                      C, cfg->n_head);
    matmul_forward(r->xb2, r->xb, w->proj_w, w->proj_b, C, C);
    residual_forward(r->x, r->xb2, C);

    layernorm_forward(r->xb, r->x, w->ln_2_w, w->ln_2_b, C, cfg->ln_eps);
    matmul_forward(r->hb, r->xb, w->fc_w, w->fc_b, C, 4 * C);
    gelu_forward(r->hb, 4 * C);
    matmul_forward(r->xb2, r->hb, w->fcproj_w, w->fcproj_b, 4 * C, C);
    residual_forward(r->x, r->xb2, C);
}

// logits (V) = ln_f(x) wte^T, with wte (V, C)
static void logits_forward(mimir_gpt2_ref *r, double *logits)
{
    const mimir_gpt2 *m = r->m;
    int C = m->cfg.n_embd;
    layernorm_forward(r->xb, r->x, m->ln_f_w, m->ln_f_b, C, m->cfg.ln_eps);
    for (int v = 0; v < m->cfg.vocab_size; v++) {
        const double *e = m->wte + (size_t)v * C;
        double s = 0;
        for (int i = 0; i < C; i++)
            s += r->xb[i] * e[i];
        logits[v] = s;
    }
}

int mimir_gpt2_ref_step(mimir_gpt2_ref *r, int32_t token, double *logits, mimir_err *err)
{
    const mimir_gpt2_config *cfg = &r->m->cfg;
    int C = cfg->n_embd;
    if (token < 0 || token >= cfg->vocab_size)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "token",
                             "%ld is out of range, expected 0 to %d", (long)token,
                             cfg->vocab_size - 1);
    if (r->pos >= cfg->n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "position",
                             "the context is full (%d positions, the model's n_positions)",
                             cfg->n_ctx);
    // x (C) = wte[token] + wpe[pos]
    const double *te = r->m->wte + (size_t)token * C, *pe = r->m->wpe + (size_t)r->pos * C;
    for (int i = 0; i < C; i++)
        r->x[i] = te[i] + pe[i];
    for (int l = 0; l < cfg->n_layer; l++)
        block_forward(r, l);
    logits_forward(r, logits);
    r->pos++;
    return MIMIR_OK;
}

int mimir_gpt2_ref_new(const mimir_gpt2 *m, mimir_gpt2_ref **out, mimir_err *err)
{
    *out = NULL;
    const mimir_gpt2_config *cfg = &m->cfg;
    size_t C = (size_t)cfg->n_embd, cache;
    if (mimir_size_mul((size_t)cfg->n_layer * (size_t)cfg->n_ctx, C * sizeof(double), &cache))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n_positions", "KV cache size overflows");
    mimir_gpt2_ref *r = calloc(1, sizeof *r);
    if (r == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    r->m = m;
    r->k_cache = mimir_secret_alloc(cache);
    r->v_cache = mimir_secret_alloc(cache);
    r->x = mimir_secret_alloc(C * sizeof(double));
    r->xb = mimir_secret_alloc(C * sizeof(double));
    r->xb2 = mimir_secret_alloc(C * sizeof(double));
    r->qkv = mimir_secret_alloc(3 * C * sizeof(double));
    r->att = mimir_secret_alloc((size_t)cfg->n_ctx * sizeof(double));
    r->hb = mimir_secret_alloc(4 * C * sizeof(double));
    if (!r->k_cache || !r->v_cache || !r->x || !r->xb || !r->xb2 || !r->qkv || !r->att ||
        !r->hb) {
        mimir_gpt2_ref_free(r);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL,
                             "out of memory for a KV cache of %zu bytes", 2 * cache);
    }
    *out = r;
    return MIMIR_OK;
}

void mimir_gpt2_ref_free(mimir_gpt2_ref *r)
{
    if (r == NULL)
        return;
    mimir_secret_free(r->k_cache);
    mimir_secret_free(r->v_cache);
    mimir_secret_free(r->x);
    mimir_secret_free(r->xb);
    mimir_secret_free(r->xb2);
    mimir_secret_free(r->qkv);
    mimir_secret_free(r->att);
    mimir_secret_free(r->hb);
    free(r);
}

int mimir_gpt2_ref_pos(const mimir_gpt2_ref *r)
{
    return r->pos;
}

void mimir_gpt2_ref_reset(mimir_gpt2_ref *r)
{
    r->pos = 0;
}

int32_t mimir_gpt2_argmax(const double *logits, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (logits[i] > logits[best])
            best = i;
    return (int32_t)best;
}
