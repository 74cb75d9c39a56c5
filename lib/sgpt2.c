/*
 * sgpt2.c — the secure GPT-2 step of lib/sgpt2.h (docs/protocol.md, "Secure generation").
 *
 * Mirrors lib/gpt2_fixed.c operation by operation: every product there followed by a truncation
 * tr(., s) is here a Beaver product (mimir_spdz_mul / mimir_spdz_matmul, or the batched matrix
 * product below) followed by mimir_spdz_trunc(., s); products by public constants are
 * mimir_spdz_scale; the nonlinear layers are lib/snl.h's twins of lib/approx.h. Shapes are
 * stated in the comments as in llm.c: x is (C), qkv (3C), the caches (n_ctx, C) per layer.
 *
 * Constant time: nothing here branches on or indexes by a shared value; the only indices are
 * the public position and public shapes.
 */
#include "sgpt2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "compare.h"
#include "mem.h"
#include "snl.h"

#define F MIMIR_APPROX_FRAC_BITS
#define LAYER_TENSORS 12
/* index of each layer tensor in mimir_gpt2_tensor_info order (2 + 12 l + j) */
enum { LN1_W, LN1_B, ATTN_W, ATTN_B, PROJ_W, PROJ_B, LN2_W, LN2_B, FC_W, FC_B, FCP_W, FCP_B };

struct mimir_sgpt2 {
    mimir_spdz *s;
    mimir_gpt2_config cfg;
    unsigned f;
    int macs, plan;
    size_t nt;          /* tensors */
    mimir_sv all;       /* every tensor but the weight matrices, input in one call */
    mimir_sv *t;        /* per tensor: views into all, or (plan mode) owned zeros; a weight
                         * matrix has a hollow entry (its size) and its wt[] */
    mimir_spdz_weight **wt; /* per tensor: the weight matrices (wte and the four per layer),
                         * loaded against fixed masks (lib/spdz.h); NULL for the rest */
    mimir_sv *kc, *vc;  /* per layer (n_ctx, C) */
    int pos;
    mimir_r64 eps;      /* ln_eps at F bits, at least 1 (as gpt2_fixed) */
    int eps_log2;
    unsigned recip_log2;
};

static int oom(mimir_err *err)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "sgpt2", "out of memory");
}

static unsigned ceil_log2(uint64_t n)
{
    unsigned k = 0;
    while (((uint64_t)1 << k) < n)
        k++;
    return k;
}

static int alloc(const mimir_sgpt2 *g, mimir_sv *v, size_t n, mimir_err *err)
{
    return mimir_sv_alloc(v, n, g->macs, err);
}

/* v = elements [off, off + n) of base, sharing its words (v owns nothing: mem NULL). */
static void view(const mimir_sgpt2 *g, mimir_sv *v, const mimir_sv *base, size_t off, size_t n)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    if (base->x[0] == NULL)
        return; /* hollow stays hollow */
    for (int k = 0; k < 2; k++) {
        v->x[k] = base->x[k] + off;
        if (g->macs)
            v->m[k] = base->m[k] + off;
    }
}

/* dst[doff + j] = src[soff + j] for j < n, every word array (a local copy of shares). */
static void copy(const mimir_sgpt2 *g, mimir_sv *dst, size_t doff, const mimir_sv *src,
                 size_t soff, size_t n)
{
    for (int k = 0; k < 2; k++) {
        memcpy(dst->x[k] + doff, src->x[k] + soff, n * sizeof(mimir_r128));
        if (g->macs)
            memcpy(dst->m[k] + doff, src->m[k] + soff, n * sizeof(mimir_r128));
    }
}

/* out[0] = sum of v's elements (local: sums of shares and of MAC shares). */
static void sum(const mimir_sgpt2 *g, mimir_sv *out, const mimir_sv *v)
{
    for (int q = 0; q < (g->macs ? 4 : 2); q++) {
        const mimir_r128 *a = q < 2 ? v->x[q] : v->m[q - 2];
        mimir_r128 acc = 0;
        for (size_t j = 0; j < v->n; j++)
            acc += a[j];
        *(q < 2 ? out->x[q] : out->m[q - 2]) = acc;
    }
}

/* out (n) = x (k) W (k, n) truncated by f, + b (n): gpt2_fixed's matmul_fixed; transposed:
 * out = x W^T with W (n, k). A product with a fixed-mask weight (lib/spdz.h). 2 rounds. */
static int linear(mimir_sgpt2 *g, mimir_sv *out, const mimir_sv *x, const mimir_spdz_weight *W,
                  int transposed, const mimir_sv *b, mimir_err *err)
{
    int rc = mimir_spdz_weight_matmul(g->s, out, x, W, 1, transposed, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_trunc(g->s, out, out, g->f, err);
    if (rc == MIMIR_OK && b != NULL)
        rc = mimir_spdz_add(g->s, out, out, b, err);
    return rc;
}

/* nb independent Beaver matrix products out[j] (rows x cols) = a[j] (rows x inner) b[j]
 * (inner x cols), with one matrix triple each, all differences opened in ONE round:
 * D_j = open(a_j - A_j), E_j = open(b_j - B_j), out_j = C_j + D_j b_j + a_j E_j - D_j E_j
 * (= C + D B + A E + D E), as mimir_spdz_matmul does for one. The MACs follow linearly. */
static int bmatmul(mimir_sgpt2 *g, size_t nb, mimir_sv *out, const mimir_sv *a,
                   const mimir_sv *b, size_t rows, size_t inner, size_t cols, mimir_err *err)
{
    size_t ri = rows * inner, ic = inner * cols, rcn = rows * cols;
    mimir_prep *prep = mimir_spdz_prep(g->s);
    if (prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sgpt2", "no preprocessing source");
    mimir_sv *tr = calloc(3 * nb, sizeof *tr), tmp = {0};
    const mimir_sv **ov = calloc(2 * nb, sizeof *ov);
    mimir_r128 **oo = calloc(2 * nb, sizeof *oo);
    mimir_r128 *pub = calloc(nb * (ri + ic) + rcn, sizeof *pub);
    int rc = tr && ov && oo && pub ? alloc(g, &tmp, rcn, err) : oom(err);
    for (size_t j = 0; rc == MIMIR_OK && j < nb; j++) {
        mimir_sv *A = &tr[3 * j], *B = A + 1, *Cm = A + 2;
        rc = mimir_prep_matrix(prep, rows, inner, cols, A, B, Cm, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_sub(g->s, A, &a[j], A, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_sub(g->s, B, &b[j], B, err);
        ov[2 * j] = A;
        ov[2 * j + 1] = B;
        oo[2 * j] = pub + j * (ri + ic);
        oo[2 * j + 1] = pub + j * (ri + ic) + ri;
    }
    if (rc == MIMIR_OK)
        rc = mimir_spdz_open(g->s, 2 * nb, ov, oo, err);
    mimir_r128 *de = pub + nb * (ri + ic);
    for (size_t j = 0; rc == MIMIR_OK && j < nb; j++) {
        mimir_sv *Cm = &tr[3 * j + 2];
        rc = mimir_spdz_matmul_public_left(g->s, &tmp, oo[2 * j], &b[j], rows, inner, cols, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_add(g->s, Cm, Cm, &tmp, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_matmul_public_right(g->s, &tmp, &a[j], oo[2 * j + 1], rows, inner,
                                                cols, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_add(g->s, Cm, Cm, &tmp, err);
        if (rc != MIMIR_OK)
            break;
        mimir_r128_matmul(de, oo[2 * j], oo[2 * j + 1], rows, inner, cols);
        for (size_t i = 0; i < rcn; i++)
            de[i] = (mimir_r128)0 - de[i];
        rc = mimir_spdz_add_public(g->s, &out[j], Cm, de, err);
    }
    for (size_t j = 0; tr != NULL && j < 3 * nb; j++)
        mimir_sv_free(&tr[j]);
    mimir_sv_free(&tmp);
    free(tr);
    free(ov);
    free(oo);
    free(pub);
    return rc;
}

/* out (C) = per head h: softmax(q_h K_h^T / sqrt(hs)) V_h over positions 0..T-1, f bits;
 * q (C) is scaled in place; kc, vc (n_ctx, C) hold T positions. gpt2_fixed's attention_fixed,
 * with all heads of one product in one batched round. */
static int attention(mimir_sgpt2 *g, mimir_sv *out, mimir_sv *q, const mimir_sv *kc,
                     const mimir_sv *vc, size_t T, mimir_err *err)
{
    size_t C = (size_t)g->cfg.n_embd, NH = (size_t)g->cfg.n_head, hs = C / NH;
    mimir_spdz *s = g->s;
    mimir_r64 scale = mimir_approx_const(1.0 / sqrt((double)hs), F);
    mimir_sv *kt = calloc(NH, sizeof *kt), *vh = calloc(NH, sizeof *vh);
    mimir_sv *qh = calloc(NH, sizeof *qh), *sh = calloc(NH, sizeof *sh);
    mimir_sv *oh = calloc(NH, sizeof *oh), *ph = calloc(NH, sizeof *ph);
    mimir_sv sc = {0}, att = {0}, o = {0};
    int rc = kt && vh && qh && sh && oh && ph ? MIMIR_OK : oom(err);
    // q = tr(q * scale, F): q / sqrt(hs) before the dot products
    if (rc == MIMIR_OK)
        rc = mimir_spdz_scale(s, q, q, (mimir_r128)scale, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_trunc(s, q, q, F, err);
    // K_h^T (hs, T): element (i, t) = kc[t C + h hs + i]; V_h (T, hs): vc[t C + h hs + i]
    if (rc == MIMIR_OK)
        rc = alloc(g, &sc, NH * T, err);
    if (rc == MIMIR_OK)
        rc = alloc(g, &att, NH * T, err);
    if (rc == MIMIR_OK)
        rc = alloc(g, &o, C, err);
    for (size_t h = 0; rc == MIMIR_OK && h < NH; h++) {
        if ((rc = alloc(g, &kt[h], hs * T, err)) != MIMIR_OK ||
            (rc = alloc(g, &vh[h], T * hs, err)) != MIMIR_OK)
            break;
        for (size_t t = 0; t < T; t++) {
            for (size_t i = 0; i < hs; i++)
                copy(g, &kt[h], i * T + t, kc, t * C + h * hs + i, 1);
            copy(g, &vh[h], t * hs, vc, t * C + h * hs, hs);
        }
        view(g, &qh[h], q, h * hs, hs);
        view(g, &sh[h], &sc, h * T, T);
        view(g, &ph[h], &att, h * T, T);
        view(g, &oh[h], &o, h * hs, hs);
    }
    // scores (NH, T) = q_h K_h^T, truncated by f
    if (rc == MIMIR_OK)
        rc = bmatmul(g, NH, sh, qh, kt, 1, hs, T, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_trunc(s, &sc, &sc, g->f, err);
    // att (NH, T) = softmax per head, F bits
    if (rc == MIMIR_OK)
        rc = mimir_snl_softmax(s, &att, &sc, NH, T, g->f, g->recip_log2, err);
    // out_h (hs) = att_h V_h: p (F bits) times v (f bits), truncated by F
    if (rc == MIMIR_OK)
        rc = bmatmul(g, NH, oh, ph, vh, 1, T, hs, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_trunc(s, out, &o, F, err);
    for (size_t h = 0; h < NH; h++) {
        if (kt != NULL)
            mimir_sv_free(&kt[h]);
        if (vh != NULL)
            mimir_sv_free(&vh[h]);
    }
    free(kt), free(vh), free(qh), free(sh), free(oh), free(ph);
    mimir_sv_free(&sc);
    mimir_sv_free(&att);
    mimir_sv_free(&o);
    return rc;
}

static int layernorm(mimir_sgpt2 *g, mimir_sv *out, const mimir_sv *x, const mimir_sv *w,
                     const mimir_sv *b, mimir_err *err)
{
    return mimir_snl_layernorm(g->s, out, x, w, b, 1, (size_t)g->cfg.n_embd, g->f, g->eps,
                               g->eps_log2, err);
}

/* One transformer block at position pos on x (C), as gpt2_fixed's block_fixed. */
static int block(mimir_sgpt2 *g, int l, mimir_sv *x, mimir_err *err)
{
    size_t C = (size_t)g->cfg.n_embd, pos = (size_t)g->pos;
    const mimir_sv *w = g->t + 2 + (size_t)LAYER_TENSORS * (size_t)l;
    mimir_spdz_weight *const *wt = g->wt + 2 + (size_t)LAYER_TENSORS * (size_t)l;
    mimir_spdz *s = g->s;
    mimir_sv xb = {0}, xb2 = {0}, qkv = {0}, hb = {0}, q;
    int rc;
    if ((rc = alloc(g, &xb, C, err)) || (rc = alloc(g, &xb2, C, err)) ||
        (rc = alloc(g, &qkv, 3 * C, err)) || (rc = alloc(g, &hb, 4 * C, err)))
        goto out;
    // attention: xb = ln_1(x); qkv = xb W + b; the cache gets k, v at pos
    if ((rc = layernorm(g, &xb, x, &w[LN1_W], &w[LN1_B], err)) ||
        (rc = linear(g, &qkv, &xb, wt[ATTN_W], 0, &w[ATTN_B], err)))
        goto out;
    copy(g, &g->kc[l], pos * C, &qkv, C, C);
    copy(g, &g->vc[l], pos * C, &qkv, 2 * C, C);
    view(g, &q, &qkv, 0, C);
    if ((rc = attention(g, &xb, &q, &g->kc[l], &g->vc[l], pos + 1, err)) ||
        (rc = linear(g, &xb2, &xb, wt[PROJ_W], 0, &w[PROJ_B], err)) ||
        (rc = mimir_spdz_add(s, x, x, &xb2, err)))
        goto out;
    // MLP: x += gelu(ln_2(x) W_fc + b) W_proj + b
    if ((rc = layernorm(g, &xb, x, &w[LN2_W], &w[LN2_B], err)) ||
        (rc = linear(g, &hb, &xb, wt[FC_W], 0, &w[FC_B], err)) ||
        (rc = mimir_snl_gelu(s, &hb, &hb, g->f, err)) ||
        (rc = linear(g, &xb2, &hb, wt[FCP_W], 0, &w[FCP_B], err)) ||
        (rc = mimir_spdz_add(s, x, x, &xb2, err)))
        goto out;
out:
    mimir_sv_free(&xb);
    mimir_sv_free(&xb2);
    mimir_sv_free(&qkv);
    mimir_sv_free(&hb);
    return rc;
}

/* The logits (V) = ln_f(x) wte^T truncated by f, then argmax: next one-hot and index. */
static int head(mimir_sgpt2 *g, const mimir_sv *x, mimir_sv *next_onehot, mimir_sv *next_index,
                mimir_sv *logits, mimir_err *err)
{
    size_t C = (size_t)g->cfg.n_embd, V = (size_t)g->cfg.vocab_size;
    mimir_spdz *s = g->s;
    mimir_sv xb = {0}, lg = {0}, oh = {0}, wi = {0};
    mimir_r128 *ids = NULL;
    int rc;
    if ((rc = alloc(g, &xb, C, err)) || (rc = alloc(g, &lg, V, err)) ||
        (rc = layernorm(g, &xb, x, &g->t[g->nt - 2], &g->t[g->nt - 1], err)) ||
        (rc = linear(g, &lg, &xb, g->wt[0], 1, NULL, err)))
        goto out;
    if (logits != NULL)
        copy(g, logits, 0, &lg, 0, V);
    if (next_onehot == NULL && next_index == NULL)
        goto out;
    mimir_sv *onehot = next_onehot;
    if (onehot == NULL) {
        if ((rc = alloc(g, &oh, V, err)) != MIMIR_OK)
            goto out;
        onehot = &oh;
    }
    // greedy argmax: the tree compares differences of two logits; logits are activations in
    // the design range |l| < 2^MIMIR_SNL_ACT_LOG2 (snl.h), so |l_i - l_j| < 2^15 and 15 + f + 1
    // bits suffice (32 at f = 16: 57 triples per comparison instead of 120, 6 rounds per
    // tree level's ltz instead of 7)
    if ((rc = mimir_spdz_argmax_bits(s, onehot, NULL, &lg, 1, V, MIMIR_SNL_MAX_CMP_BITS(g->f),
                                     err)) != MIMIR_OK)
        goto out;
    if (next_index != NULL) {
        // index = sum_j j onehot_j (local)
        if ((ids = calloc(V, sizeof *ids)) == NULL) {
            rc = oom(err);
            goto out;
        }
        for (size_t j = 0; j < V; j++)
            ids[j] = j;
        if ((rc = alloc(g, &wi, V, err)) ||
            (rc = mimir_spdz_mul_public(s, &wi, onehot, ids, err)))
            goto out;
        sum(g, next_index, &wi);
    }
out:
    free(ids);
    mimir_sv_free(&xb);
    mimir_sv_free(&lg);
    mimir_sv_free(&oh);
    mimir_sv_free(&wi);
    return rc;
}

static int want_vec(const mimir_sgpt2 *g, const mimir_sv *v, size_t n, const char *field,
                    mimir_err *err)
{
    if (v == NULL)
        return MIMIR_OK;
    if (v->n != n || v->x[0] == NULL || v->x[1] == NULL ||
        (g->macs && (v->m[0] == NULL || v->m[1] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                             "%zu elements%s, expected %zu allocated with the engine's words",
                             v->n, v->x[0] == NULL ? " (no words)" : "", n);
    return MIMIR_OK;
}

int mimir_sgpt2_step(mimir_sgpt2 *g, const mimir_sv *token, mimir_sv *next_onehot,
                     mimir_sv *next_index, mimir_sv *logits, mimir_err *err)
{
    if (g == NULL || token == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sgpt2", "no model or no token");
    size_t C = (size_t)g->cfg.n_embd, V = (size_t)g->cfg.vocab_size;
    int rc;
    if ((rc = want_vec(g, token, V, "token", err)) ||
        (rc = want_vec(g, next_onehot, V, "next_onehot", err)) ||
        (rc = want_vec(g, next_index, 1, "next_index", err)) ||
        (rc = want_vec(g, logits, V, "logits", err)))
        return rc;
    if (g->pos >= g->cfg.n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "position",
                             "the context is full (%d positions, the model's n_positions)",
                             g->cfg.n_ctx);
    mimir_sv x = {0}, wp;
    // x (C) = onehot (1, V) wte (V, C) + wpe[pos] (the position is public: a local row)
    if ((rc = alloc(g, &x, C, err)) ||
        (rc = mimir_spdz_weight_matmul(g->s, &x, token, g->wt[0], 1, 0, err)))
        goto out;
    view(g, &wp, &g->t[1], (size_t)g->pos * C, C);
    if ((rc = mimir_spdz_add(g->s, &x, &x, &wp, err)) != MIMIR_OK)
        goto out;
    for (int l = 0; l < g->cfg.n_layer; l++)
        if ((rc = block(g, l, &x, err)) != MIMIR_OK)
            goto out;
    if (next_onehot != NULL || next_index != NULL || logits != NULL)
        rc = head(g, &x, next_onehot, next_index, logits, err);
    if (rc == MIMIR_OK)
        g->pos++;
out:
    mimir_sv_free(&x);
    return rc;
}

int mimir_sgpt2_pos(const mimir_sgpt2 *g)
{
    return g->pos;
}

void mimir_sgpt2_free(mimir_sgpt2 *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; g->t != NULL && i < g->nt; i++)
        mimir_sv_free(&g->t[i]);
    for (size_t i = 0; g->wt != NULL && i < g->nt; i++)
        mimir_spdz_weight_free(g->wt[i]);
    free(g->wt);
    for (int l = 0; l < g->cfg.n_layer; l++) {
        if (g->kc != NULL)
            mimir_sv_free(&g->kc[l]);
        if (g->vc != NULL)
            mimir_sv_free(&g->vc[l]);
    }
    free(g->t);
    free(g->kc);
    free(g->vc);
    mimir_sv_free(&g->all);
    free(g);
}

/* Whether tensor i is a matrix that only a Beaver matmul reads (hollow in plan mode). */
static int matmul_only(size_t i, size_t nt)
{
    if (i == 0)
        return 1; /* wte */
    if (i < 2 || i >= nt - 2)
        return 0;
    size_t j = (i - 2) % LAYER_TENSORS;
    return j == ATTN_W || j == PROJ_W || j == FC_W || j == FCP_W;
}

/* Finds tensor name in the share and checks it: shape numel n. */
static int find_tensor(const mimir_share *w, const char *name, size_t n, size_t *idx,
                       mimir_err *err)
{
    char field[MIMIR_SHARE_MAX_NAME + 16];
    snprintf(field, sizeof field, "tensor %s", name);
    for (size_t k = 0; k < w->n; k++)
        if (strcmp(w->t[k].name, name) == 0) {
            if (w->t[k].numel != n)
                return mimir_err_set(err, MIMIR_EINPUT, w->name, field,
                                     "%llu elements, expected %zu",
                                     (unsigned long long)w->t[k].numel, n);
            *idx = k;
            return MIMIR_OK;
        }
    return mimir_err_set(err, MIMIR_EINPUT, w->name, field, "missing, expected one");
}

/* Real run: the small tensors' components, concatenated, input in one call (views per tensor);
 * each weight matrix loaded against its own fixed mask straight from the share's components
 * (lib/spdz.h mimir_spdz_weight_input), in tensor order. */
static int input_weights(mimir_sgpt2 *g, const mimir_share *w, mimir_share *own,
                         const size_t *off, const size_t (*shp)[2], mimir_err *err)
{
    if (w->kind != MIMIR_SHARE_MODEL || w->ring != 64 || w->frac_bits != g->f)
        return mimir_err_set(err, MIMIR_EINPUT, w->name, "header",
                             "kind %s, ring %u, %u fractional bits; expected a model share in "
                             "ring 64 with the config's %u", mimir_share_kind_name(w->kind),
                             w->ring, w->frac_bits, g->f);
    if (w->party != mimir_spdz_party(g->s))
        return mimir_err_set(err, MIMIR_EINPUT, w->name, "party",
                             "%d, expected this party's share (%d)", w->party,
                             mimir_spdz_party(g->s));
    size_t *k = calloc(g->nt, sizeof *k), *soff = calloc(g->nt + 1, sizeof *soff);
    int rc = k && soff ? MIMIR_OK : oom(err);
    for (size_t i = 0; rc == MIMIR_OK && i < g->nt; i++) {
        char name[MIMIR_SHARE_MAX_NAME + 1];
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(&g->cfg, i, name, sizeof name, &nd, sh);
        rc = find_tensor(w, name, off[i + 1] - off[i], &k[i], err);
        soff[i + 1] = soff[i] + (matmul_only(i, g->nt) ? 0 : off[i + 1] - off[i]);
    }
    size_t total = rc == MIMIR_OK ? soff[g->nt] : 0;
    mimir_r64 *c[2] = {NULL, NULL};
    if (rc == MIMIR_OK) {
        c[0] = mimir_secret_alloc(total ? total * 8 : 1);
        c[1] = mimir_secret_alloc(total ? total * 8 : 1);
        if (c[0] == NULL || c[1] == NULL)
            rc = oom(err);
    }
    for (size_t i = 0; rc == MIMIR_OK && i < g->nt; i++)
        if (!matmul_only(i, g->nt))
            for (int q = 0; q < 2; q++)
                memcpy(c[q] + soff[i], w->t[k[i]].c[q], (soff[i + 1] - soff[i]) * 8);
    if (rc == MIMIR_OK) {
        const mimir_r64 *const cc[2] = {c[0], c[1]};
        rc = mimir_spdz_input_shares(g->s, cc, total, &g->all, err);
    }
    mimir_secret_free(c[0]);
    mimir_secret_free(c[1]);
    for (size_t i = 0; rc == MIMIR_OK && i < g->nt; i++) {
        if (!matmul_only(i, g->nt)) {
            view(g, &g->t[i], &g->all, soff[i], soff[i + 1] - soff[i]);
            continue;
        }
        memset(&g->t[i], 0, sizeof g->t[i]);
        g->t[i].n = off[i + 1] - off[i];
        const mimir_r64 *const cc[2] = {w->t[k[i]].c[0], w->t[k[i]].c[1]};
        rc = mimir_spdz_weight_input(g->s, cc, shp[i][0], shp[i][1], &g->wt[i], err);
        if (own != NULL) { /* consumed: the matrix's components are wiped as soon as loaded */
            for (int q = 0; q < 2; q++) {
                mimir_secret_free(own->t[k[i]].c[q]);
                own->t[k[i]].c[q] = NULL;
            }
        }
    }
    free(k);
    free(soff);
    return rc;
}

/* Plan mode: zeros for what is read locally; weight matrices loaded from hollow vectors. */
static int plan_weights(mimir_sgpt2 *g, const size_t *off, const size_t (*shp)[2],
                        mimir_err *err)
{
    int rc = MIMIR_OK;
    for (size_t i = 0; rc == MIMIR_OK && i < g->nt; i++) {
        size_t n = off[i + 1] - off[i];
        if (matmul_only(i, g->nt)) {
            memset(&g->t[i], 0, sizeof g->t[i]);
            g->t[i].n = n;
            rc = mimir_spdz_weight_load(g->s, &g->t[i], shp[i][0], shp[i][1], &g->wt[i], err);
        } else {
            rc = alloc(g, &g->t[i], n, err);
        }
    }
    return rc;
}

static int sgpt2_new(mimir_spdz *s, const mimir_gpt2_config *cfg, const mimir_share *weights,
                     mimir_share *own, mimir_sgpt2 **out, mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (s == NULL || cfg == NULL || out == NULL ||
        (weights == NULL && !mimir_spdz_plan_mode(s)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sgpt2",
                             "no engine, config, weights or output, expected all");
    if (cfg->n_layer < 1 || cfg->n_head < 1 || cfg->n_embd < 1 || cfg->n_embd % cfg->n_head ||
        cfg->vocab_size < 1 || cfg->n_ctx < 1)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "config",
                             "bad shape, expected positive sizes with n_head dividing n_embd");
    if (cfg->frac_bits < 1 || cfg->frac_bits > F)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "mimir_frac_bits",
                             "%d, expected 1 to %d", cfg->frac_bits, F);
    if (cfg->n_ctx > 1 << (MIMIR_APPROX_RECIP_LOG2_MAX - 1))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n_positions",
                             "%d is too many for the softmax, expected at most %d", cfg->n_ctx,
                             1 << (MIMIR_APPROX_RECIP_LOG2_MAX - 1));
    mimir_sgpt2 *g = calloc(1, sizeof *g);
    if (g == NULL)
        return oom(err);
    g->s = s;
    g->cfg = *cfg;
    g->f = (unsigned)cfg->frac_bits;
    g->macs = mimir_spdz_macs(s);
    g->plan = mimir_spdz_plan_mode(s);
    g->nt = mimir_gpt2_tensor_count(cfg);
    size_t C = (size_t)cfg->n_embd, L = (size_t)cfg->n_layer;
    g->eps = mimir_approx_const(cfg->ln_eps, F);
    g->eps = g->eps > 0 ? g->eps : 1; /* public: at least one unit keeps rsqrt finite */
    g->eps_log2 = (int)floor(log2(cfg->ln_eps));
    if (g->eps_log2 < MIMIR_APPROX_RSQRT_LOG2_MIN)
        g->eps_log2 = MIMIR_APPROX_RSQRT_LOG2_MIN;
    g->recip_log2 = 1 + ceil_log2((uint64_t)cfg->n_ctx);
    size_t *off = calloc(g->nt + 1, sizeof *off);
    size_t (*shp)[2] = calloc(g->nt, sizeof *shp);
    g->t = calloc(g->nt, sizeof *g->t);
    g->wt = calloc(g->nt, sizeof *g->wt);
    g->kc = calloc(L, sizeof *g->kc);
    g->vc = calloc(L, sizeof *g->vc);
    int rc = off && shp && g->t && g->wt && g->kc && g->vc ? MIMIR_OK : oom(err);
    for (size_t i = 0; rc == MIMIR_OK && i < g->nt; i++) {
        char name[MIMIR_SHARE_MAX_NAME + 1];
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(cfg, i, name, sizeof name, &nd, sh);
        off[i + 1] = off[i] + (size_t)(nd == 2 ? sh[0] * sh[1] : sh[0]);
        shp[i][0] = (size_t)sh[0];
        shp[i][1] = nd == 2 ? (size_t)sh[1] : 1;
    }
    if (rc == MIMIR_OK)
        rc = weights != NULL ? input_weights(g, weights, own, off, shp, err)
                             : plan_weights(g, off, shp, err);
    for (size_t l = 0; rc == MIMIR_OK && l < L; l++)
        if ((rc = alloc(g, &g->kc[l], (size_t)cfg->n_ctx * C, err)) == MIMIR_OK)
            rc = alloc(g, &g->vc[l], (size_t)cfg->n_ctx * C, err);
    free(off);
    free(shp);
    if (rc != MIMIR_OK) {
        mimir_sgpt2_free(g);
        return rc;
    }
    *out = g;
    return MIMIR_OK;
}

int mimir_sgpt2_new(mimir_spdz *s, const mimir_gpt2_config *cfg, const mimir_share *weights,
                    mimir_sgpt2 **out, mimir_err *err)
{
    return sgpt2_new(s, cfg, weights, NULL, out, err);
}

int mimir_sgpt2_new_consume(mimir_spdz *s, const mimir_gpt2_config *cfg, mimir_share *weights,
                            mimir_sgpt2 **out, mimir_err *err)
{
    if (weights == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sgpt2", "no weights, expected a share");
    return sgpt2_new(s, cfg, weights, weights, out, err);
}

int mimir_sgpt2_plan(const mimir_gpt2_config *cfg, int prompt_len, int n_new, int binary,
                     uint64_t counts[MIMIR_PREP_KINDS], char **plan_json, mimir_err *err)
{
    if (plan_json != NULL)
        *plan_json = NULL;
    if (cfg == NULL || prompt_len < 1 || n_new < 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "plan",
                             "prompt of %d tokens, %d new; expected at least 1 and 0", prompt_len,
                             n_new);
    int steps = mimir_sgpt2_steps(prompt_len, n_new);
    if (steps > cfg->n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "plan",
                             "%d steps exceed the context (%d positions)", steps, cfg->n_ctx);
    mimir_prep_count *pc = NULL;
    mimir_spdz *s = NULL;
    mimir_sgpt2 *g = NULL;
    mimir_sv tok = {0}, nxt = {0}, idx = {0};
    size_t V = (size_t)cfg->vocab_size;
    int rc = mimir_prep_count_new(0, &pc, err);
    if (rc == MIMIR_OK)
        mimir_prep_count_set_binary(pc, binary);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_new_plan(mimir_prep_count_prep(pc), 1, &s, err);
    if (rc == MIMIR_OK)
        rc = mimir_sgpt2_new(s, cfg, NULL, &g, err);
    if (rc == MIMIR_OK && (rc = alloc(g, &tok, V, err)) == MIMIR_OK &&
        (rc = alloc(g, &nxt, V, err)) == MIMIR_OK)
        rc = alloc(g, &idx, 1, err);
    for (int k = 0; rc == MIMIR_OK && k < steps; k++) {
        int sample = n_new > 0 && k >= prompt_len - 1; /* the last prompt token, fed-back ones */
        rc = mimir_sgpt2_step(g, &tok, sample ? &nxt : NULL, sample ? &idx : NULL, NULL, err);
    }
    if (rc == MIMIR_OK && counts != NULL)
        mimir_prep_count_counts(pc, counts);
    if (rc == MIMIR_OK && plan_json != NULL)
        rc = mimir_prep_count_plan_json(pc, plan_json, err);
    mimir_sv_free(&tok);
    mimir_sv_free(&nxt);
    mimir_sv_free(&idx);
    mimir_sgpt2_free(g);
    mimir_spdz_free(s);
    mimir_prep_count_free(pc);
    return rc;
}

int mimir_sgpt2_steps(int prompt_len, int n_new)
{
    return n_new > 0 ? prompt_len + n_new - 1 : prompt_len;
}
