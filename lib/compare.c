/*
 * compare.c — secure less-than-zero, comparison, selection, max and argmax (lib/compare.h;
 * docs/drafts/compare.md has the derivation, the round count and the security argument).
 *
 * Less-than-zero of x (a value of Z_2^64 held as x~ in Z_2^128):
 *  1. take an edaBit (r~ uniform in Z_2^128, the bits r_0..r_63 of r = r~ mod 2^64 shared as 0/1
 *     values; Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved primitives for MPC over mixed
 *     arithmetic-binary circuits", CRYPTO 2020) and open c~ = x~ + r~ (1 round): uniformly
 *     masked. c = c~ mod 2^64 = x + r mod 2^64.
 *  2. msb(x) = c_63 XOR r_63 XOR u with u = [c mod 2^63 < r mod 2^63] (the borrow out of bit
 *     62 of c - r). u is BitLT of a public and a shared number (Catrina and de Hoogh, "Improved
 *     primitives for secure multiparty integer computation", SCN 2010, section 3.2 / Damgård,
 *     Fitzi, Kiltz, Nielsen, Toft, TCC 2006): with e_i = c_i XOR r_i = c_i + (1 - 2 c_i) r_i
 *     (linear, c_i public), p_i = prod_{j = i..62} (1 - e_j) (p_63 = 1) and f_i = p_{i+1} - p_i
 *     (1 exactly at the most significant differing bit), u = sum_i f_i r_i = sum_i f_i (1 - c_i)
 *     (at a differing bit r_i = 1 - c_i): linear in the p_i, so no final product is needed.
 *  3. The XOR with the shared r_63 is folded into the same prefix product: scanning
 *     A_0 = 1 - 2 r_63, A_t = 1 - e_{63-t} (t = 1..63), the prefix products are
 *     Q_0 = 1 - 2 r_63 and Q_t = (1 - 2 r_63) p_{63-t}, and
 *        r_63 XOR u = r_63 + (1 - 2 r_63) u = r_63 + sum_t W_t Q_t
 *     with public weights W_0 = g_0, W_t = g_t - g_{t-1}, g_t = 1 - c_{62-t} (t <= 62), g_63 = 0.
 *     Then msb = c_63 + (1 - 2 c_63) (r_63 XOR u): linear again.
 *  The 64 prefix products are computed with Sklansky's scan (J. Sklansky, "Conditional-sum
 *  addition logic", IRE Trans. Electronic Computers, 1960): 6 levels, 32 products per element
 *  per level, each level ONE batched mimir_spdz_mul over all elements. Total: 1 + 6 = 7 rounds
 *  (MIMIR_COMPARE_LTZ_ROUNDS), 192 Beaver triples and one edaBit per comparison.
 *
 * Everything after the open is linear on shares or a Beaver product, so the only values opened
 * are c~ (uniform) and the Beaver differences (uniform); every open is checked by the engine's
 * deferred check. No branch or memory index depends on a secret: loops run over public sizes,
 * and the public coefficients derive from the opened c only.
 */
#include "compare.h"

#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "prep.h"

#define BITS MIMIR_PREP_EDABIT_BITS /* 64: scan length per element */
#define LEVELS 6                    /* log2(BITS) */
#define PER_LEVEL (BITS / 2)        /* products per element per level */

/* --- small helpers on share arrays --------------------------------------------------------- */

static mimir_r128 *arr(const mimir_sv *v, int q)
{
    return q < 2 ? v->x[q] : v->m[q - 2];
}

static int narr(mimir_spdz *s)
{
    return mimir_spdz_macs(s) ? 4 : 2;
}

/* cnt elements src[si..] -> dst[di..] (all share arrays). */
static void copy_el(mimir_spdz *s, mimir_sv *dst, size_t di, const mimir_sv *src, size_t si,
                    size_t cnt)
{
    for (int q = 0; q < narr(s); q++)
        memcpy(arr(dst, q) + di, arr(src, q) + si, cnt * sizeof(mimir_r128));
}

/* A view of elements [off, off + n) of v (not to be freed). */
static mimir_sv view(const mimir_sv *v, size_t off, size_t n)
{
    mimir_sv w;
    memset(&w, 0, sizeof w);
    w.n = n;
    for (int q = 0; q < 2; q++) {
        w.x[q] = v->x[q] + off;
        w.m[q] = v->m[q] != NULL ? v->m[q] + off : NULL;
    }
    return w;
}

static int alloc(mimir_spdz *s, mimir_sv *v, size_t n, mimir_err *err)
{
    return mimir_sv_alloc(v, n, mimir_spdz_macs(s), err);
}

static int check_out(mimir_spdz *s, const mimir_sv *out, size_t n, const char *field,
                     mimir_err *err)
{
    if (s == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field, "no engine or no output");
    if (out->n != n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                             "output of %zu elements, expected %zu", out->n, n);
    if (n > 0 && (out->x[0] == NULL || (mimir_spdz_macs(s) && out->m[0] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                             "output without share%s arrays", mimir_spdz_macs(s) ? " or MAC" : "");
    return MIMIR_OK;
}

static int oom(mimir_err *err)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "compare", "out of memory");
}

/* --- less than zero ------------------------------------------------------------------------ */

/* Sklansky's prefix product over each element's BITS scan entries of A (n * BITS), in place. */
static int scan(mimir_spdz *s, mimir_sv *A, size_t n, mimir_err *err)
{
    mimir_sv L, R;
    memset(&L, 0, sizeof L);
    memset(&R, 0, sizeof R);
    int rc = alloc(s, &L, n * PER_LEVEL, err);
    if (rc == MIMIR_OK)
        rc = alloc(s, &R, n * PER_LEVEL, err);
    for (unsigned k = 0; k < LEVELS && rc == MIMIR_OK; k++) {
        size_t half = (size_t)1 << k;
        /* entries t with bit k set take the product with the last entry of their block's
         * lower half: runs [b + half, b + 2 half) with partner b + half - 1 */
        for (size_t i = 0; i < n; i++) {
            size_t j = i * PER_LEVEL;
            for (size_t b = 0; b < BITS; b += 2 * half) {
                size_t t0 = i * BITS + b + half;
                copy_el(s, &L, j, A, t0, half);
                for (size_t u = 0; u < half; u++)
                    copy_el(s, &R, j + u, A, t0 - 1, 1);
                j += half;
            }
        }
        rc = mimir_spdz_mul(s, &L, &L, &R, err);
        for (size_t i = 0; i < n && rc == MIMIR_OK; i++) {
            size_t j = i * PER_LEVEL;
            for (size_t b = 0; b < BITS; b += 2 * half) {
                copy_el(s, A, i * BITS + b + half, &L, j, half);
                j += half;
            }
        }
    }
    mimir_sv_free(&L);
    mimir_sv_free(&R);
    return rc;
}

int mimir_spdz_ltz(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, mimir_err *err)
{
    if (x == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "no operand");
    int rc = check_out(s, out, x->n, "ltz", err);
    if (rc != MIMIR_OK)
        return rc;
    size_t n = x->n;
    if (n == 0)
        return MIMIR_OK;
    if (n > SIZE_MAX / (BITS * 3 * sizeof(mimir_r128)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "%zu elements is too many", n);
    mimir_prep *prep = mimir_spdz_prep(s);
    if (prep == NULL || prep->ops->edabits == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz",
                             "the preprocessing source gives no edaBits");
    mimir_sv r, bits, cs, A;
    memset(&r, 0, sizeof r);
    memset(&bits, 0, sizeof bits);
    memset(&cs, 0, sizeof cs);
    memset(&A, 0, sizeof A);
    mimir_r128 *c = NULL, *coef = NULL, *cnst = NULL;
    rc = mimir_prep_edabits(prep, n, &r, &bits, err);
    if (rc != MIMIR_OK)
        goto done;
    if (r.n != n || bits.n != n * BITS) {
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "edaBits of the wrong size");
        goto done;
    }
    /* round 1: c~ = x~ + r~ */
    if ((rc = alloc(s, &cs, n, err)) != MIMIR_OK || (rc = alloc(s, &A, n * BITS, err)) != MIMIR_OK)
        goto done;
    c = malloc(n * sizeof *c);
    coef = malloc(n * BITS * sizeof *coef);
    cnst = malloc(n * BITS * sizeof *cnst);
    if (c == NULL || coef == NULL || cnst == NULL) {
        rc = oom(err);
        goto done;
    }
    if ((rc = mimir_spdz_add(s, &cs, x, &r, err)) != MIMIR_OK)
        goto done;
    const mimir_sv *ov[1] = {&cs};
    mimir_r128 *oo[1] = {c};
    if ((rc = mimir_spdz_open(s, 1, ov, oo, err)) != MIMIR_OK)
        goto done;
    /* the scan entries: A_t = bit 63 - t of r, made into 1 - 2 r_63 (t = 0) and
     * 1 - (c_j XOR r_j) = (1 - c_j) + (2 c_j - 1) r_j, j = 63 - t (t >= 1) */
    for (size_t i = 0; i < n; i++) {
        uint64_t c64 = (uint64_t)c[i];
        for (size_t t = 0; t < BITS; t++) {
            copy_el(s, &A, i * BITS + t, &bits, i * BITS + (BITS - 1 - t), 1);
            mimir_r128 cj = (mimir_r128)((c64 >> (BITS - 1 - t)) & 1);
            coef[i * BITS + t] = t == 0 ? (mimir_r128)0 - 2 : 2 * cj - 1;
            cnst[i * BITS + t] = t == 0 ? 1 : 1 - cj;
        }
    }
    if ((rc = mimir_spdz_mul_public(s, &A, &A, coef, err)) != MIMIR_OK ||
        (rc = mimir_spdz_add_public(s, &A, &A, cnst, err)) != MIMIR_OK)
        goto done;
    /* rounds 2..7: Q_t = A_0 ... A_t */
    if ((rc = scan(s, &A, n, err)) != MIMIR_OK)
        goto done;
    /* v = r_63 + sum_t W_t Q_t, W_0 = g_0, W_t = g_t - g_{t-1}, g_t = 1 - c_{62-t}, g_63 = 0 */
    for (size_t i = 0; i < n; i++) {
        uint64_t c64 = (uint64_t)c[i];
        mimir_r128 prev = 0;
        for (size_t t = 0; t < BITS; t++) {
            mimir_r128 g = t + 1 < BITS ? 1 - (mimir_r128)((c64 >> (BITS - 2 - t)) & 1) : 0;
            coef[i * BITS + t] = g - prev;
            prev = g;
        }
    }
    if ((rc = mimir_spdz_mul_public(s, &A, &A, coef, err)) != MIMIR_OK)
        goto done;
    for (int q = 0; q < narr(s); q++) {
        const mimir_r128 *a = arr(&A, q), *rb = arr(&bits, q);
        mimir_r128 *v = arr(&cs, q);
        for (size_t i = 0; i < n; i++) {
            mimir_r128 sum = rb[i * BITS + BITS - 1];
            for (size_t t = 0; t < BITS; t++)
                sum += a[i * BITS + t];
            v[i] = sum;
        }
    }
    /* msb = c_63 + (1 - 2 c_63) v */
    for (size_t i = 0; i < n; i++) {
        mimir_r128 c63 = (mimir_r128)((uint64_t)c[i] >> 63);
        coef[i] = 1 - 2 * c63;
        cnst[i] = c63;
    }
    if ((rc = mimir_spdz_mul_public(s, out, &cs, coef, err)) != MIMIR_OK ||
        (rc = mimir_spdz_add_public(s, out, out, cnst, err)) != MIMIR_OK)
        goto done;
done:
    free(c);
    free(coef);
    free(cnst);
    mimir_sv_free(&r);
    mimir_sv_free(&bits);
    mimir_sv_free(&cs);
    mimir_sv_free(&A);
    return rc;
}

int mimir_spdz_lt(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                  mimir_err *err)
{
    if (a == NULL || b == NULL || a->n != b->n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "lt", "operands missing or of different "
                             "sizes, expected two vectors of the same size");
    int rc = check_out(s, out, a->n, "lt", err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_sv d;
    if ((rc = alloc(s, &d, a->n, err)) != MIMIR_OK)
        return rc;
    rc = mimir_spdz_sub(s, &d, a, b, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_ltz(s, out, &d, err);
    mimir_sv_free(&d);
    return rc;
}

int mimir_spdz_lt_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_r128 *c,
                         mimir_err *err)
{
    if (x == NULL || (c == NULL && x->n > 0))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "lt_public", "no operand");
    int rc = check_out(s, out, x->n, "lt_public", err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_sv d;
    mimir_r128 *neg = malloc((x->n ? x->n : 1) * sizeof *neg);
    if (neg == NULL)
        return oom(err);
    for (size_t i = 0; i < x->n; i++)
        neg[i] = (mimir_r128)0 - c[i];
    if ((rc = alloc(s, &d, x->n, err)) != MIMIR_OK) {
        free(neg);
        return rc;
    }
    rc = mimir_spdz_add_public(s, &d, x, neg, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_ltz(s, out, &d, err);
    free(neg);
    mimir_sv_free(&d);
    return rc;
}

int mimir_spdz_select(mimir_spdz *s, mimir_sv *out, const mimir_sv *bit, const mimir_sv *a,
                      const mimir_sv *b, mimir_err *err)
{
    if (bit == NULL || a == NULL || b == NULL || a->n != b->n || bit->n != a->n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "select", "operands missing or of "
                             "different sizes, expected bit, a and b of the same size");
    int rc = check_out(s, out, a->n, "select", err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_sv d;
    if ((rc = alloc(s, &d, a->n, err)) != MIMIR_OK)
        return rc;
    if ((rc = mimir_spdz_sub(s, &d, a, b, err)) == MIMIR_OK &&
        (rc = mimir_spdz_mul(s, &d, &d, bit, err)) == MIMIR_OK)
        rc = mimir_spdz_add(s, out, b, &d, err);
    mimir_sv_free(&d);
    return rc;
}

/* --- max and argmax: a comparison tree --------------------------------------------------- */

/* The tree over rows of len elements. Level k pairs the current elements 2p, 2p + 1 of each
 * row (element j covers the original positions [j 2^k, (j + 1) 2^k) ∩ [0, len)); bit = [L < R]
 * (the right wins only if strictly greater: ties go to the lower index), the new element
 * L + bit (R - L), and, if oh is not NULL, the one-hot entries of the left range become
 * oh - bit oh and those of the right range bit oh, all products in ONE mul with the select's. */
static int tree(mimir_spdz *s, mimir_sv *max, mimir_sv *oh, const mimir_sv *x, size_t rows,
                size_t len, mimir_err *err)
{
    mimir_sv cur, nxt, L, R, bit, U, V;
    mimir_sv *all[] = {&cur, &nxt, &L, &R, &bit, &U, &V};
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
        memset(all[j], 0, sizeof *all[j]);
    int rc = alloc(s, &cur, rows * len, err);
    if (rc != MIMIR_OK)
        return rc;
    copy_el(s, &cur, 0, x, 0, rows * len);
    if (oh != NULL) {
        /* every element is its own winner: the one-hot entries are all 1 */
        mimir_r128 *ones = malloc(rows * len * sizeof *ones);
        if (ones == NULL)
            rc = oom(err);
        for (size_t i = 0; ones != NULL && i < rows * len; i++)
            ones[i] = 1;
        for (int q = 0; rc == MIMIR_OK && q < narr(s); q++)
            memset(arr(oh, q), 0, rows * len * sizeof(mimir_r128));
        if (rc == MIMIR_OK)
            rc = mimir_spdz_add_public(s, oh, oh, ones, err);
        free(ones);
    }
    size_t m = len, span = 1;
    while (rc == MIMIR_OK && m > 1) {
        size_t h = m / 2, odd = m % 2, mn = h + odd;
        size_t covered = 2 * h * span < len ? 2 * h * span : len; /* positions in pairs */
        size_t np = rows * h, no = oh != NULL ? rows * covered : 0;
        if ((rc = alloc(s, &L, np, err)) != MIMIR_OK || (rc = alloc(s, &R, np, err)) ||
            (rc = alloc(s, &bit, np, err)) || (rc = alloc(s, &U, np + no, err)) ||
            (rc = alloc(s, &V, np + no, err)) || (rc = alloc(s, &nxt, rows * mn, err)))
            break;
        for (size_t r = 0; r < rows; r++)
            for (size_t p = 0; p < h; p++) {
                copy_el(s, &L, r * h + p, &cur, r * m + 2 * p, 1);
                copy_el(s, &R, r * h + p, &cur, r * m + 2 * p + 1, 1);
            }
        if ((rc = mimir_spdz_lt(s, &bit, &L, &R, err)) != MIMIR_OK)
            break;
        mimir_sv u0 = view(&U, 0, np);
        if ((rc = mimir_spdz_sub(s, &u0, &R, &L, err)) != MIMIR_OK)
            break;
        copy_el(s, &V, 0, &bit, 0, np);
        for (size_t r = 0; r < rows && oh != NULL; r++) {
            copy_el(s, &U, np + r * covered, oh, r * len, covered);
            for (size_t j = 0; j < covered; j++)
                copy_el(s, &V, np + r * covered + j, &bit, r * h + j / (2 * span), 1);
        }
        if ((rc = mimir_spdz_mul(s, &U, &U, &V, err)) != MIMIR_OK)
            break;
        /* the winners: L + bit (R - L); the odd last element passes up */
        for (size_t r = 0; r < rows; r++) {
            mimir_sv nv = view(&nxt, r * mn, h), lv = view(&L, r * h, h);
            mimir_sv uv = view(&U, r * h, h);
            if ((rc = mimir_spdz_add(s, &nv, &lv, &uv, err)) != MIMIR_OK)
                break;
            if (odd)
                copy_el(s, &nxt, r * mn + h, &cur, r * m + m - 1, 1);
        }
        if (rc != MIMIR_OK)
            break;
        /* one-hot: left range oh - bit oh, right range bit oh (linear on the shares) */
        for (int q = 0; q < narr(s) && oh != NULL; q++) {
            mimir_r128 *o = arr(oh, q);
            const mimir_r128 *pr = arr(&U, q) + np;
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < covered; j++) {
                    int right = (int)((j / span) & 1);
                    size_t e = r * len + j;
                    o[e] = right ? pr[r * covered + j] : o[e] - pr[r * covered + j];
                }
        }
        mimir_sv_free(&cur);
        cur = nxt;
        memset(&nxt, 0, sizeof nxt);
        mimir_sv_free(&L), mimir_sv_free(&R), mimir_sv_free(&bit);
        mimir_sv_free(&U), mimir_sv_free(&V);
        m = mn;
        span *= 2;
    }
    if (rc == MIMIR_OK && max != NULL)
        copy_el(s, max, 0, &cur, 0, rows);
    for (size_t j = 0; j < sizeof all / sizeof all[0]; j++)
        mimir_sv_free(all[j]);
    return rc;
}

static int check_rows(mimir_spdz *s, const mimir_sv *x, size_t rows, size_t len,
                      const char *field, mimir_err *err)
{
    size_t n;
    if (s == NULL || x == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field, "no engine or no operand");
    if (len == 0 || mimir_size_mul(rows, len, &n) != 0 || n != x->n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                             "%zu elements for %zu rows of %zu, expected rows * len with len "
                             ">= 1", x->n, rows, len);
    return MIMIR_OK;
}

int mimir_spdz_max(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                   mimir_err *err)
{
    int rc = check_rows(s, x, rows, len, "max", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, rows, "max", err);
    if (rc != MIMIR_OK || rows == 0)
        return rc;
    return tree(s, out, NULL, x, rows, len, err);
}

int mimir_spdz_argmax(mimir_spdz *s, mimir_sv *onehot, mimir_sv *max, const mimir_sv *x,
                      size_t rows, size_t len, mimir_err *err)
{
    int rc = check_rows(s, x, rows, len, "argmax", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, onehot, x->n, "argmax onehot", err);
    if (rc == MIMIR_OK && max != NULL)
        rc = check_out(s, max, rows, "argmax max", err);
    if (rc != MIMIR_OK || rows == 0)
        return rc;
    return tree(s, max, onehot, x, rows, len, err);
}
