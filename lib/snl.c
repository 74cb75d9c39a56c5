/*
 * snl.c — secure nonlinear layers. See snl.h, docs/protocol.md "Nonlinear layers", docs/numerics.md.
 *
 * Each function is its plaintext twin in lib/approx.c or lib/gpt2_fixed.c read line by line:
 * "+" / "-" and products by public constants are local (mimir_spdz_add, _scale, _add_public),
 * mul(a, b, s) is mimir_spdz_mul then mimir_spdz_trunc by s (Beaver, then probabilistic
 * truncation: floor or floor + 1), lt() is lib/compare.h's ltz of the difference, and
 * "bit * value" a Beaver product without truncation. Loops run over public counts only; no
 * branch and no index depends on a shared value. Every independent comparison of one function
 * (the octave thresholds of an initial guess) goes into ONE batched ltz call; independent
 * truncations by the same bits into one trunc call.
 */
#include "snl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "compare.h"

#define F MIMIR_APPROX_FRAC_BITS

/* The polynomial coefficients are lib/approx.c's own tables (mimir_approx_exp_coeffs,
 * mimir_approx_gelu_coeffs): one copy for both paths. */

/* ---- helpers: shares as arrays (local, linear, no communication) ---------------------------- */

#define TRY(x)                                                                                    \
    do {                                                                                          \
        if ((rc = (x)) != MIMIR_OK)                                                               \
            goto out;                                                                             \
    } while (0)

/* A public ring constant as a 128-bit word, sign-extended (only the low 64 bits are the value) */
static mimir_r128 pub(mimir_r64 c)
{
    return (mimir_r128)(__int128)(int64_t)c;
}

static mimir_r128 *arr(const mimir_sv *v, int q)
{
    return q < 2 ? v->x[q] : v->m[q - 2];
}

static int narr(const mimir_sv *v)
{
    return v->m[0] != NULL ? 4 : 2;
}

static int sv_new(mimir_spdz *s, mimir_sv *v, size_t n, mimir_err *err)
{
    return mimir_sv_alloc(v, n, mimir_spdz_macs(s), err);
}

static void sv_swap(mimir_sv *a, mimir_sv *b)
{
    mimir_sv t = *a;
    *a = *b;
    *b = t;
}

/* dst[doff + j] = src[soff + j], j < n */
static void sv_copy(mimir_sv *dst, size_t doff, const mimir_sv *src, size_t soff, size_t n)
{
    for (int q = 0; q < narr(src); q++)
        memmove(arr(dst, q) + doff, arr(src, q) + soff, n * sizeof(mimir_r128));
}

/* out[r] = sum_j x[r len + j]: a sum of shares is a share of the sum */
static void sv_rowsum(mimir_sv *out, const mimir_sv *x, size_t rows, size_t len)
{
    for (int q = 0; q < narr(x); q++) {
        const mimir_r128 *a = arr(x, q);
        mimir_r128 *o = arr(out, q);
        for (size_t r = 0; r < rows; r++) {
            mimir_r128 acc = 0;
            for (size_t j = 0; j < len; j++)
                acc += a[r * len + j];
            o[r] = acc;
        }
    }
}

/* out[r len + j] = v[r] (repeat each element len times) */
static void sv_repeat(mimir_sv *out, const mimir_sv *v, size_t rows, size_t len)
{
    for (int q = 0; q < narr(v); q++) {
        const mimir_r128 *a = arr(v, q);
        mimir_r128 *o = arr(out, q);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < len; j++)
                o[r * len + j] = a[r];
    }
}

/* out[r d + j] = v[j] (the whole vector, rows times) */
static void sv_tile(mimir_sv *out, const mimir_sv *v, size_t rows, size_t d)
{
    for (size_t r = 0; r < rows; r++)
        sv_copy(out, r * d, v, 0, d);
}

/* out = a + c for the public constant c on every element */
static int add_const(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, mimir_r64 c,
                     mimir_err *err)
{
    size_t n = a->n;
    mimir_r128 *v = malloc((n ? n : 1) * sizeof *v); /* public */
    if (v == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    for (size_t j = 0; j < n; j++)
        v[j] = pub(c);
    int rc = mimir_spdz_add_public(s, out, a, v, err);
    free(v);
    return rc;
}

/* out = trunc(a, bits) (probabilistic, 1 round); bits = 0 is the identity (no round), as
 * mimir_fixed_trunc(v, 0) */
static int trunc_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, unsigned bits,
                      mimir_err *err)
{
    if (bits > 0)
        return mimir_spdz_trunc(s, out, a, bits, err);
    if (out != a)
        sv_copy(out, 0, a, 0, a->n);
    return MIMIR_OK;
}

/* out = mul(a, b, bits): Beaver product then truncation (2 rounds) */
static int mul_tr(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                  unsigned bits, mimir_err *err)
{
    int rc = mimir_spdz_mul(s, out, a, b, err);
    return rc != MIMIR_OK ? rc : trunc_bits(s, out, out, bits, err);
}

/* out = mul(a, c, bits) for a public c: local product then truncation (1 round) */
static int scale_tr(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, mimir_r64 c,
                    unsigned bits, mimir_err *err)
{
    int rc = mimir_spdz_scale(s, out, a, pub(c), err);
    return rc != MIMIR_OK ? rc : trunc_bits(s, out, out, bits, err);
}

static int bad(mimir_err *err, const char *field, const char *msg)
{
    return mimir_err_set(err, MIMIR_EINPUT, NULL, field, "%s", msg);
}

/* Operands present, out->n == x->n == n */
static int check_vec(const mimir_spdz *s, const mimir_sv *out, const mimir_sv *x, size_t n,
                     const char *fn, mimir_err *err)
{
    if (s == NULL || out == NULL || x == NULL)
        return bad(err, fn, "no engine or no operand");
    if (x->n != n || out->n != n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, fn,
                             "sizes: input %zu and output %zu elements, expected %zu", x->n,
                             out->n, n);
    return MIMIR_OK;
}

/* ---- Clenshaw ------------------------------------------------------------------------------- */

/* out = sum_k c_k T_k(t) (F bits) by b_k = c_k + mul(2t, b_(k+1), F) - b_(k+2), as approx.c's
 * clenshaw: b_deg = c_deg is public (its product with b_(deg+1) = 0 is exactly 0), the next
 * step multiplies by that public constant (1 round), every further step and the final
 * c_0 + mul(t, b_1, F) - b_2 take a product and a truncation. 2 deg - 1 rounds, deg >= 2. */
static int clenshaw(mimir_spdz *s, mimir_sv *out, const double *c, int deg, const mimir_sv *t,
                    mimir_err *err)
{
    int rc;
    size_t n = t->n;
    mimir_sv t2 = {0}, b1 = {0}, b2 = {0}, b0 = {0};
    TRY(sv_new(s, &t2, n, err));
    TRY(sv_new(s, &b1, n, err));
    TRY(sv_new(s, &b2, n, err));
    TRY(sv_new(s, &b0, n, err));
    TRY(mimir_spdz_add(s, &t2, t, t, err));
    // k = deg - 1: b1 = c_(deg-1) + mul(2t, c_deg, F) - 0; b2 = c_deg (a sharing of a constant)
    mimir_r64 cdeg = mimir_approx_const(c[deg], F);
    TRY(scale_tr(s, &b1, &t2, cdeg, F, err));
    TRY(add_const(s, &b1, &b1, mimir_approx_const(c[deg - 1], F), err));
    TRY(add_const(s, &b2, &b2, cdeg, err)); // b2 was zero shares: now shares of c_deg
    for (int k = deg - 2; k >= 1; k--) {
        TRY(mul_tr(s, &b0, &t2, &b1, F, err));
        TRY(add_const(s, &b0, &b0, mimir_approx_const(c[k], F), err));
        TRY(mimir_spdz_sub(s, &b0, &b0, &b2, err));
        sv_swap(&b2, &b1); // b2 <- b1, b1 <- b0
        sv_swap(&b1, &b0);
    }
    TRY(mul_tr(s, out, t, &b1, F, err));
    TRY(add_const(s, out, out, mimir_approx_const(c[0], F), err));
    TRY(mimir_spdz_sub(s, out, out, &b2, err));
out:
    mimir_sv_free(&t2);
    mimir_sv_free(&b1);
    mimir_sv_free(&b2);
    mimir_sv_free(&b0);
    return rc;
}

/* ---- exp ------------------------------------------------------------------------------------ */

int mimir_snl_exp(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f, mimir_err *err)
{
    int rc = check_vec(s, out, x, x != NULL ? x->n : 0, "exp", err);
    if (rc != MIMIR_OK)
        return rc;
    if (f > F)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "exp", "%u fractional bits, expected at "
                             "most %d", f, F);
    size_t n = x->n;
    if (n == 0)
        return MIMIR_OK;
    mimir_sv d = {0}, below = {0}, t = {0}, y = {0};
    TRY(sv_new(s, &d, n, err));
    TRY(sv_new(s, &below, n, err));
    TRY(sv_new(s, &t, n, err));
    TRY(sv_new(s, &y, n, err));
    // below = [x < -16] = ltz(x - lo). Width: x in (-2^15, 0] (x = score - max, scores below
    // 2^MIMIR_SNL_ACT_LOG2), so x - lo in (-2^15, 16]: 15 + f + 1 bits (32 at f = 16).
    mimir_r64 lo = mimir_approx_const(MIMIR_APPROX_EXP_LO, f);
    TRY(add_const(s, &d, x, (mimir_r64)0 - lo, err));
    // Coarse (MIMIR_SNL_EXP_CMP_SKIP): within 1/16 of the cut either side gives exp(x) below
    // 1.2e-7, so the bit may go either way there
    TRY(mimir_spdz_ltz_coarse(s, &below, &d, MIMIR_SNL_EXP_CMP_BITS(f), MIMIR_SNL_EXP_CMP_SKIP(f),
                              err));
    // xc = select(below, lo, x) = x + below (lo - x): one product, no truncation
    TRY(mimir_spdz_scale(s, &d, x, pub((mimir_r64)-1), err));
    TRY(add_const(s, &d, &d, lo, err));
    TRY(mimir_spdz_mul(s, &d, &below, &d, err));
    TRY(mimir_spdz_add(s, &d, &d, x, err));
    // t = mul(xc, 1/8 at F bits, f) + 1 at F bits, in [-1, 1]
    TRY(scale_tr(s, &t, &d,
                 mimir_approx_const(1.0 / (1 << MIMIR_APPROX_EXP_SQUARINGS), F), f, err));
    TRY(add_const(s, &t, &t, mimir_approx_const(1.0, F), err));
    // y = P(x / 8), then three squarings: exp(x / 4), exp(x / 2), exp(x)
    TRY(clenshaw(s, &y, mimir_approx_exp_coeffs, MIMIR_APPROX_EXP_DEGREE, &t, err));
    for (int i = 0; i < MIMIR_APPROX_EXP_SQUARINGS; i++)
        TRY(mul_tr(s, &y, &y, &y, F, err));
    // out = y - below y: exactly 0 below -16
    TRY(mimir_spdz_mul(s, &d, &below, &y, err));
    TRY(mimir_spdz_sub(s, out, &y, &d, err));
out:
    mimir_sv_free(&d);
    mimir_sv_free(&below);
    mimir_sv_free(&t);
    mimir_sv_free(&y);
    return rc;
}

/* ---- initial guesses by octave -------------------------------------------------------------- */

/* y = g_0 + sum_{j=1..m} [x >= th_j] (g_j - g_(j-1)), every [x < th_j] of every element in ONE
 * ltz of width bits on n m elements (L rounds; none if m = 0); |x - th_j| < 2^(bits-1). As approx.c, with (1 - lt) step written
 * step - lt step: the same ring value. th and g are public (g has m + 1 entries). */
static int octave_guess(mimir_spdz *s, mimir_sv *y, const mimir_sv *x, const mimir_r64 *th,
                        const mimir_r64 *g, size_t m, unsigned bits, mimir_err *err)
{
    int rc = MIMIR_OK;
    size_t n = x->n;
    mimir_r64 base = g[0];
    for (size_t j = 1; j <= m; j++)
        base += g[j] - g[j - 1]; // the sum of all steps, as if every ge were 1
    mimir_sv d = {0}, lt = {0};
    mimir_r128 *pv = NULL;
    if (m == 0) {
        memset(y->x[0], 0, n * sizeof(mimir_r128)); // zero shares, then the constant
        memset(y->x[1], 0, n * sizeof(mimir_r128));
        if (y->m[0] != NULL) {
            memset(y->m[0], 0, n * sizeof(mimir_r128));
            memset(y->m[1], 0, n * sizeof(mimir_r128));
        }
        return add_const(s, y, y, base, err);
    }
    TRY(sv_new(s, &d, n * m, err));
    TRY(sv_new(s, &lt, n * m, err));
    pv = malloc(n * m * sizeof *pv); /* public */
    if (pv == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        goto out;
    }
    // d[(j-1) n + i] = x_i - th_j
    for (size_t j = 1; j <= m; j++) {
        sv_copy(&d, (j - 1) * n, x, 0, n);
        for (size_t i = 0; i < n; i++)
            pv[(j - 1) * n + i] = pub((mimir_r64)0 - th[j - 1]);
    }
    TRY(mimir_spdz_add_public(s, &d, &d, pv, err));
    TRY(mimir_spdz_ltz_bits(s, &lt, &d, bits, err));
    // y = base - sum_j lt_j (g_j - g_(j-1))
    for (size_t j = 1; j <= m; j++)
        for (size_t i = 0; i < n; i++)
            pv[(j - 1) * n + i] = pub((mimir_r64)0 - (g[j] - g[j - 1]));
    TRY(mimir_spdz_mul_public(s, &lt, &lt, pv, err));
    // sum the m slices elementwise (a sum of shares is a share of the sum, MACs alike)
    for (int q = 0; q < narr(&lt); q++) {
        const mimir_r128 *a = arr(&lt, q);
        mimir_r128 *o = arr(y, q);
        for (size_t i = 0; i < n; i++)
            o[i] = a[i];
        for (size_t j = 1; j < m; j++)
            for (size_t i = 0; i < n; i++)
                o[i] += a[j * n + i];
    }
    TRY(add_const(s, y, y, base, err));
out:
    free(pv);
    mimir_sv_free(&d);
    mimir_sv_free(&lt);
    return rc;
}

/* ---- reciprocal ----------------------------------------------------------------------------- */

int mimir_snl_recip(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned log2_max,
                    mimir_err *err)
{
    int rc = check_vec(s, out, x, x != NULL ? x->n : 0, "recip", err);
    if (rc != MIMIR_OK)
        return rc;
    if (log2_max > MIMIR_APPROX_RECIP_LOG2_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "recip", "log2_max %u, expected at most "
                             "%d", log2_max, MIMIR_APPROX_RECIP_LOG2_MAX);
    size_t n = x->n;
    if (n == 0)
        return MIMIR_OK;
    // y0: the half-octave guess of lib/approx.c (one table for both paths)
    mimir_r64 th[MIMIR_APPROX_RECIP_GUESSES], g[MIMIR_APPROX_RECIP_GUESSES + 1];
    size_t m = mimir_approx_recip_guess(log2_max, th, g);
    mimir_sv y = {0}, e = {0};
    TRY(sv_new(s, &y, n, err));
    TRY(sv_new(s, &e, n, err));
    // x in [1, 2^log2_max] (F bits), thresholds below 2^log2_max: |x - th| < 2^log2_max, so
    // log2_max + F + 1 bits (33 for the softmax of n_ctx 128)
    TRY(octave_guess(s, &y, x, th, g, m, MIMIR_SNL_RECIP_CMP_BITS(log2_max), err));
    // Newton: y <- mul(y, 2 - mul(x, y, F), F)
    for (int i = 0; i < MIMIR_APPROX_NEWTON_ITERS; i++) {
        TRY(mul_tr(s, &e, x, &y, F, err));
        TRY(mimir_spdz_scale(s, &e, &e, pub((mimir_r64)-1), err));
        TRY(add_const(s, &e, &e, mimir_approx_const(2.0, F), err));
        TRY(mul_tr(s, &y, &y, &e, F, err));
    }
    sv_copy(out, 0, &y, 0, n);
out:
    mimir_sv_free(&y);
    mimir_sv_free(&e);
    return rc;
}

/* ---- reciprocal square root ----------------------------------------------------------------- */

int mimir_snl_rsqrt(mimir_spdz *s, mimir_sv *out, const mimir_sv *v, int log2_min,
                    int log2_max, mimir_err *err)
{
    int rc = check_vec(s, out, v, v != NULL ? v->n : 0, "rsqrt", err);
    if (rc != MIMIR_OK)
        return rc;
    if (log2_min < MIMIR_APPROX_RSQRT_LOG2_MIN || log2_max > MIMIR_APPROX_RSQRT_LOG2_MAX ||
        log2_min >= log2_max)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "rsqrt", "range 2^%d .. 2^%d, expected "
                             "%d <= log2_min < log2_max <= %d", log2_min, log2_max,
                             MIMIR_APPROX_RSQRT_LOG2_MIN, MIMIR_APPROX_RSQRT_LOG2_MAX);
    size_t n = v->n;
    if (n == 0)
        return MIMIR_OK;
    // y0: the half-octave guess of lib/approx.c (one table for both paths)
    mimir_r64 th[MIMIR_APPROX_RSQRT_GUESSES], g[MIMIR_APPROX_RSQRT_GUESSES + 1];
    size_t m = mimir_approx_rsqrt_guess(log2_min, log2_max, th, g);
    mimir_sv y = {0}, e = {0};
    TRY(sv_new(s, &y, n, err));
    TRY(sv_new(s, &e, n, err));
    // v in [2^log2_min, 2^log2_max] (F bits): |v - th| < 2^log2_max, log2_max + F + 1 bits
    TRY(octave_guess(s, &y, v, th, g, m, MIMIR_SNL_RSQRT_CMP_BITS(log2_max), err));
    // Newton: y <- mul(y, 3 - mul(mul(v, y, F), y, F), F + 1) (the halving in the truncation)
    for (int i = 0; i < MIMIR_APPROX_NEWTON_ITERS; i++) {
        TRY(mul_tr(s, &e, v, &y, F, err));
        TRY(mul_tr(s, &e, &e, &y, F, err));
        TRY(mimir_spdz_scale(s, &e, &e, pub((mimir_r64)-1), err));
        TRY(add_const(s, &e, &e, mimir_approx_const(3.0, F), err));
        TRY(mul_tr(s, &y, &y, &e, F + 1, err));
    }
    sv_copy(out, 0, &y, 0, n);
out:
    mimir_sv_free(&y);
    mimir_sv_free(&e);
    return rc;
}

/* ---- GELU ----------------------------------------------------------------------------------- */

int mimir_snl_gelu(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned f,
                   mimir_err *err)
{
    int rc = check_vec(s, out, x, x != NULL ? x->n : 0, "gelu", err);
    if (rc != MIMIR_OK)
        return rc;
    if (f > F)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "gelu", "%u fractional bits, expected at "
                             "most %d", f, F);
    size_t n = x->n;
    if (n == 0)
        return MIMIR_OK;
    mimir_sv neg = {0}, nx = {0}, u = {0}, relu = {0}, in = {0}, two = {0}, h = {0};
    TRY(sv_new(s, &neg, n, err));
    TRY(sv_new(s, &nx, n, err));
    TRY(sv_new(s, &u, n, err));
    TRY(sv_new(s, &relu, n, err));
    TRY(sv_new(s, &in, n, err));
    TRY(sv_new(s, &two, 2 * n, err));
    TRY(sv_new(s, &h, n, err));
    // neg = [x < 0]; u = |x| = x - 2 neg x; relu = x - neg x. Width: |x| < 2^14 (the design
    // range, MIMIR_SNL_ACT_LOG2): 14 + f + 1 bits (31 at f = 16)
    // Both comparisons are coarse (MIMIR_SNL_GELU_CMP_SKIP: exact from 1/16 away): a wrong
    // sign for |x| < 1/16 gives x / 2 + h(-|x|) instead of x / 2 + h(|x|), and a wrong side of
    // |x| = 4 the polynomial or relu where both are within 1e-4 of GELU (docs/numerics.md)
    unsigned bits = MIMIR_SNL_GELU_CMP_BITS(f), skip = MIMIR_SNL_GELU_CMP_SKIP(f);
    TRY(mimir_spdz_ltz_coarse(s, &neg, x, bits, skip, err));
    TRY(mimir_spdz_mul(s, &nx, &neg, x, err));
    TRY(mimir_spdz_sub(s, &relu, x, &nx, err));
    TRY(mimir_spdz_sub(s, &u, &relu, &nx, err));
    // in = [u < 4]: u - 4 in [-4, 2^14), the same width
    TRY(add_const(s, &in, &u, (mimir_r64)0 - mimir_approx_const(MIMIR_APPROX_GELU_BOUND, f),
                  err));
    TRY(mimir_spdz_ltz_coarse(s, &in, &in, bits, skip, err));
    // one truncation by 1 of both (u << (F - f)) and u: t = u / 2 - 1 at F bits, and u / 2
    TRY(mimir_spdz_scale(s, &h, &u, pub((mimir_r64)1 << (F - f)), err));
    sv_copy(&two, 0, &h, 0, n);
    sv_copy(&two, n, &u, 0, n);
    TRY(mimir_spdz_trunc(s, &two, &two, 1, err));
    sv_copy(&u, 0, &two, 0, n); // u now holds t
    TRY(add_const(s, &u, &u, (mimir_r64)0 - mimir_approx_const(1.0, F), err));
    // h = trunc(P(t), F - f): h(|x|) = gelu(|x|) - |x| / 2 at f bits
    TRY(clenshaw(s, &h, mimir_approx_gelu_coeffs, MIMIR_APPROX_GELU_DEGREE, &u, err));
    TRY(trunc_bits(s, &h, &h, F - f, err));
    // out = relu + in (h - u / 2)
    sv_copy(&nx, 0, &two, n, n); // u / 2
    TRY(mimir_spdz_sub(s, &h, &h, &nx, err));
    TRY(mimir_spdz_mul(s, &h, &in, &h, err));
    TRY(mimir_spdz_add(s, out, &relu, &h, err));
out:
    mimir_sv_free(&neg);
    mimir_sv_free(&nx);
    mimir_sv_free(&u);
    mimir_sv_free(&relu);
    mimir_sv_free(&in);
    mimir_sv_free(&two);
    mimir_sv_free(&h);
    return rc;
}

/* ---- softmax -------------------------------------------------------------------------------- */

int mimir_snl_softmax(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                      unsigned f, unsigned recip_log2, mimir_err *err)
{
    size_t n = rows * len;
    if (len != 0 && n / len != rows)
        return bad(err, "softmax", "rows x len overflows");
    int rc = check_vec(s, out, x, n, "softmax", err);
    if (rc != MIMIR_OK)
        return rc;
    if (f > F || recip_log2 > MIMIR_APPROX_RECIP_LOG2_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "softmax", "%u fractional bits and "
                             "recip_log2 %u, expected at most %d and %d", f, recip_log2, F,
                             MIMIR_APPROX_RECIP_LOG2_MAX);
    if (n == 0)
        return MIMIR_OK;
    mimir_sv mx = {0}, rep = {0}, e = {0}, sum = {0};
    TRY(sv_new(s, &mx, rows, err));
    TRY(sv_new(s, &rep, n, err));
    TRY(sv_new(s, &e, n, err));
    TRY(sv_new(s, &sum, rows, err));
    // e = exp(x - max) (F bits, in [0, 1]); the max by a comparison tree, never opened; its
    // comparisons are of differences of two scores, |x_i - x_j| < 2^15: 15 + f + 1 bits. They
    // are coarse (MIMIR_SNL_MAX_CMP_SKIP): mx is a score at most levels * 255 / 2^16 below
    // the max (levels = ceil(log2 len)): x - mx <= 0.027 for len <= 128, 0.039 for 1024, where
    // exp's polynomial is still within 1.2e-5 relative (docs/protocol.md, "Coarse comparisons")
    TRY(mimir_spdz_max_coarse(s, &mx, x, rows, len, MIMIR_SNL_MAX_CMP_BITS(f),
                              MIMIR_SNL_MAX_CMP_SKIP(f), err));
    sv_repeat(&rep, &mx, rows, len);
    TRY(mimir_spdz_sub(s, &e, x, &rep, err));
    TRY(mimir_snl_exp(s, &e, &e, f, err));
    // inv = 1 / sum (F bits), sum in [1, len] up to exp's error
    sv_rowsum(&sum, &e, rows, len);
    TRY(mimir_snl_recip(s, &mx, &sum, recip_log2, err));
    // out = mul(e, inv, F)
    sv_repeat(&rep, &mx, rows, len);
    TRY(mul_tr(s, out, &e, &rep, F, err));
out:
    mimir_sv_free(&mx);
    mimir_sv_free(&rep);
    mimir_sv_free(&e);
    mimir_sv_free(&sum);
    return rc;
}

/* ---- LayerNorm ------------------------------------------------------------------------------ */

static unsigned ceil_log2(uint64_t n)
{
    unsigned k = 0;
    while (((uint64_t)1 << k) < n)
        k++;
    return k;
}

int mimir_snl_layernorm(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_sv *g,
                        const mimir_sv *b, size_t rows, size_t d, unsigned f, mimir_r64 eps,
                        int eps_log2, mimir_err *err)
{
    size_t n = rows * d;
    if (d != 0 && n / d != rows)
        return bad(err, "layernorm", "rows x d overflows");
    int rc = check_vec(s, out, x, n, "layernorm", err);
    if (rc != MIMIR_OK)
        return rc;
    if (g == NULL || b == NULL || g->n != d || b->n != d)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "layernorm", "gain and bias: expected %zu "
                             "elements each", d);
    if (f > F || d == 0 || d > ((size_t)1 << 30))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "layernorm", "%u fractional bits, width "
                             "%zu, expected at most %d bits and 1 .. 2^30 elements", f, d, F);
    if (eps_log2 < MIMIR_APPROX_RSQRT_LOG2_MIN || eps_log2 >= MIMIR_APPROX_RSQRT_LOG2_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "layernorm", "eps_log2 %d, expected %d .. "
                             "%d", eps_log2, MIMIR_APPROX_RSQRT_LOG2_MIN,
                             MIMIR_APPROX_RSQRT_LOG2_MAX - 1);
    if (rows == 0)
        return MIMIR_OK;
    // x / d = mul(x, round(2^sd / d), sd), sd = DIV_BITS + ceil(log2 d)
    unsigned sd = MIMIR_SNL_DIV_BITS + ceil_log2(d);
    mimir_r64 cdiv = mimir_approx_const(1.0 / (double)d, sd);
    mimir_sv sum = {0}, rep = {0}, dc = {0}, dd = {0}, rstd = {0};
    TRY(sv_new(s, &sum, rows, err));
    TRY(sv_new(s, &rep, n, err));
    TRY(sv_new(s, &dc, n, err));
    TRY(sv_new(s, &dd, n, err));
    TRY(sv_new(s, &rstd, rows, err));
    // mean = sum / d (f bits); dc = x - mean
    sv_rowsum(&sum, x, rows, d);
    TRY(scale_tr(s, &sum, &sum, cdiv, sd, err));
    sv_repeat(&rep, &sum, rows, d);
    TRY(mimir_spdz_sub(s, &dc, x, &rep, err));
    // var = sum_i (dc_i^2 at F bits) / d + eps (F bits)
    TRY(mimir_spdz_mul(s, &dd, &dc, &dc, err)); // 2f bits
    if (2 * f >= F)
        TRY(trunc_bits(s, &dd, &dd, 2 * f - F, err));
    else
        TRY(mimir_spdz_scale(s, &dd, &dd, pub((mimir_r64)1 << (F - 2 * f)), err));
    sv_rowsum(&sum, &dd, rows, d);
    TRY(scale_tr(s, &sum, &sum, cdiv, sd, err));
    TRY(add_const(s, &sum, &sum, eps, err));
    // rstd = 1 / sqrt(var + eps) (F bits)
    TRY(mimir_snl_rsqrt(s, &rstd, &sum, eps_log2, MIMIR_APPROX_RSQRT_LOG2_MAX, err));
    // out = mul(mul(dc, rstd, F), g, f) + b
    sv_repeat(&rep, &rstd, rows, d);
    TRY(mul_tr(s, &dd, &dc, &rep, F, err));
    sv_tile(&rep, g, rows, d);
    TRY(mul_tr(s, out, &dd, &rep, f, err));
    sv_tile(&rep, b, rows, d);
    TRY(mimir_spdz_add(s, out, out, &rep, err));
out:
    mimir_sv_free(&sum);
    mimir_sv_free(&rep);
    mimir_sv_free(&dc);
    mimir_sv_free(&dd);
    mimir_sv_free(&rstd);
    return rc;
}
