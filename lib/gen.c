/*
 * gen.c — distributed preprocessing (lib/gen.h; docs/protocol.md, "Distributed generation").
 *
 * Indices: party i holds components (i, i+1) of every sharing; prev = i-1, next = i+1 (mod 3).
 * A replicated product (Araki, Furukawa, Lindell, Nof, Ohara, CCS 2016, section 2.2): party i
 * computes w_i = x_i y_i + x_i y_{i+1} + x_{i+1} y_i + zeta_i with zeta a zero-sharing, so
 * w_0 + w_1 + w_2 = x y; it keeps w_i and sends it to prev, which holds (w_{i-1}, w_i). The MAC
 * of x is the same product with y = alpha (Dalskov, Escudero, Keller, PETS 2020, section 3).
 * A corrupted party can only add an error to what it sends: an error on a product is caught by
 * the sacrifice, an error on a MAC by the MAC check of the first open that uses the value.
 *
 * Pairwise randomness: at creation every party draws two 32-byte ChaCha20 keys from the coin's
 * pairwise streams (key 0 from k_i, shared with prev; key 1 from k_{i+1}, shared with next);
 * every draw uses a fresh nonce (a counter that advances identically at all parties), so the two
 * holders of a component draw the same words. ChaCha20 is used instead of the coin's HMAC-DRBG
 * because matrix triples draw hundreds of MB per party.
 *
 * Constant time: no branch or index depends on a share, a MAC word, alpha or a bit; branches
 * depend on sizes, the party index and public opened values (the sacrifice's zero test).
 */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "drbg.h"
#include "mem.h"
#include "sha256.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "gen.c puts ring words on the wire in host order, which must be little-endian"
#endif

#define W 16                                       /* bytes of a 128-bit word */
#define KEYB crypto_stream_chacha20_ietf_KEYBYTES  /* 32 */
#define NONCEB crypto_stream_chacha20_ietf_NONCEBYTES
#define ZCHUNK 4096                                /* words per zero-sharing chunk (64 KiB) */
#define SAC_LABEL "gen-sacrifice"                  /* DRBG label of fixed toss seeds */
#define NBITS MIMIR_PREP_EDABIT_BITS

struct mimir_gen {
    mimir_net *net;
    mimir_coin *coin;
    mimir_spdz *s;          /* opens and checks, Beaver products with the stock */
    int self, prev, next;
    int dead;               /* first fatal error: the generator refuses to go on */
    mimir_r128 *alpha;      /* key memory: alpha_i, alpha_{i+1} */
    uint8_t *keys;          /* key memory: ChaCha20 keys of components i and i+1 */
    uint64_t ctr;           /* stream nonce counter */
    mimir_drbg *seeds;      /* fixed toss seeds (NULL: from the OS) */
    mimir_r128 *z0, *z1;    /* ZCHUNK words of scratch each */
    uint8_t *sbuf, *rbuf;   /* reshare message buffers */
    size_t bcap;
    mimir_prep stock_prep;  /* the checked helper triples for the bit XORs */
    mimir_prep pub_prep;    /* generates on demand */
    mimir_sv stock[3];
    size_t stock_used;
    uint64_t n_tbatch, n_matrix, n_bits, n_wpair, n_wmask, n_btriple; /* event counters
                                                                       * (test faults) */
#ifdef MIMIR_TEST_HOOKS
    mimir_gen_fault fault;
#endif
    mimir_gen_stats st;
};

/* Whether the test fault of kind fires at this event (never in release builds). */
static int fault_at(const mimir_gen *g, int kind, uint64_t at)
{
#ifdef MIMIR_TEST_HOOKS
    return g->fault.kind == kind && g->fault.at == at;
#else
    (void)g, (void)kind, (void)at;
    return 0;
#endif
}
#ifndef MIMIR_TEST_HOOKS
#define MIMIR_GEN_FAULT_TRIPLE_C 1
#define MIMIR_GEN_FAULT_MATRIX_C 2
#define MIMIR_GEN_FAULT_BIT 3
#define MIMIR_GEN_FAULT_WPAIR_C 4
#define MIMIR_GEN_FAULT_WMASK_MAC 5
#define MIMIR_GEN_FAULT_WMASK_COPY 6
#define MIMIR_GEN_FAULT_BTRIPLE_Z 7
#endif

/* ---- small helpers ------------------------------------------------------------------------ */

static int oom(mimir_err *err, const char *field)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, field, "out of memory");
}

/* Net, coin and engine errors other than a refused argument stop the generator. */
static int fatal(mimir_gen *g, int rc)
{
    if (rc != MIMIR_OK && rc != MIMIR_EINPUT && !g->dead)
        g->dead = rc;
    return rc;
}

static int alive(const mimir_gen *g, mimir_err *err)
{
    if (g == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "gen", "no generator, expected one");
    if (g->dead)
        return mimir_err_set(err, g->dead, NULL, "gen",
                             "the generator stopped after an earlier failure");
    return MIMIR_OK;
}

static mimir_r128 *arr(const mimir_sv *v, int q)
{
    return q < 2 ? v->x[q] : v->m[q - 2];
}

/* Elements off..off+n of v, sharing its memory (not to be freed). */
static mimir_sv view(const mimir_sv *v, size_t off, size_t n)
{
    mimir_sv w;
    memset(&w, 0, sizeof w);
    w.n = n;
    for (int k = 0; k < 2; k++) {
        w.x[k] = v->x[k] + off;
        w.m[k] = v->m[k] + off;
    }
    return w;
}

static int sv_copy(mimir_sv *dst, const mimir_sv *src, mimir_err *err)
{
    int rc = mimir_sv_alloc(dst, src->n, 1, err);
    for (int q = 0; q < 4 && rc == MIMIR_OK; q++)
        memcpy(arr(dst, q), arr(src, q), src->n * W);
    return rc;
}

static void free_n(mimir_sv *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mimir_sv_free(&v[i]);
}

static int alloc_n(mimir_sv *v, size_t count, size_t n, mimir_err *err)
{
    int rc = MIMIR_OK;
    for (size_t i = 0; i < count; i++)
        memset(&v[i], 0, sizeof v[i]);
    for (size_t i = 0; i < count && rc == MIMIR_OK; i++)
        rc = mimir_sv_alloc(&v[i], n, 1, err);
    if (rc != MIMIR_OK)
        free_n(v, count);
    return rc;
}

/* ---- pairwise streams ------------------------------------------------------------------- */

/* bytes of stream k (0: component i, 1: component i+1) under nonce ctr, from block ic. */
static void stream(const mimir_gen *g, int k, uint64_t ctr, uint32_t ic, void *out,
                   size_t bytes)
{
    uint8_t nonce[NONCEB];
    memset(nonce, 0, sizeof nonce);
    for (int b = 0; b < 8; b++)
        nonce[b] = (uint8_t)(ctr >> (8 * b));
    memset(out, 0, bytes);
    crypto_stream_chacha20_ietf_xor_ic(out, out, bytes, nonce, ic, g->keys + (size_t)k * KEYB);
}

/* A random replicated sharing: components (x_i, x_{i+1}) of n words. */
static void pw_rand(mimir_gen *g, mimir_r128 *x0, mimir_r128 *x1, size_t n)
{
    uint64_t c = g->ctr++;
    stream(g, 0, c, 0, x0, n * W);
    stream(g, 1, c, 0, x1, n * W);
}

/* Random bytes of both streams (u0 from component i's key, u1 from i+1's). */
static void pw_bytes(mimir_gen *g, uint8_t *u0, uint8_t *u1, size_t bytes)
{
    uint64_t c = g->ctr++;
    stream(g, 0, c, 0, u0, bytes);
    stream(g, 1, c, 0, u1, bytes);
}

/* w = zeta_i, this party's part of a fresh zero sharing: F(k_i) - F(k_{i+1}). */
static void pw_zero(mimir_gen *g, mimir_r128 *w, size_t n)
{
    uint64_t c = g->ctr++;
    for (size_t off = 0; off < n; off += ZCHUNK) {
        size_t k = n - off < ZCHUNK ? n - off : ZCHUNK;
        uint32_t ic = (uint32_t)(off * W / 64);
        stream(g, 0, c, ic, g->z0, k * W);
        stream(g, 1, c, ic, g->z1, k * W);
        for (size_t j = 0; j < k; j++)
            w[off + j] = g->z0[j] - g->z1[j];
    }
}

/* ---- replicated products and reshares --------------------------------------------------- */

/* w = x_i y_i + x_i y_{i+1} + x_{i+1} y_i + zeta_i (n elements of x and y). */
static void mul_local(mimir_gen *g, mimir_r128 *w, const mimir_sv *x, const mimir_sv *y)
{
    pw_zero(g, w, x->n);
    const mimir_r128 *x0 = x->x[0], *x1 = x->x[1], *y0 = y->x[0], *y1 = y->x[1];
    for (size_t j = 0; j < x->n; j++)
        w[j] += x0[j] * (y0[j] + y1[j]) + x1[j] * y0[j];
}

/* m = alpha_i x_i + alpha_i x_{i+1} + alpha_{i+1} x_i + zeta_i: this party's MAC word. */
static void mac_local(mimir_gen *g, const mimir_sv *x)
{
    mimir_r128 *m = x->m[0];
    pw_zero(g, m, x->n);
    const mimir_r128 a0 = g->alpha[0], a1 = g->alpha[1];
    const mimir_r128 *x0 = x->x[0], *x1 = x->x[1];
    for (size_t j = 0; j < x->n; j++)
        m[j] += a0 * (x0[j] + x1[j]) + a1 * x0[j];
}

/* W (rows x cols) = X_i (Y_i + Y_{i+1}) + X_{i+1} Y_i + Zeta_i. */
static int matmul_local(mimir_gen *g, mimir_r128 *w, const mimir_sv *x, const mimir_sv *y,
                        size_t rows, size_t inner, size_t cols, mimir_err *err)
{
    size_t ic = inner * cols, rc = rows * cols;
    mimir_r128 *t = mimir_secret_alloc(ic * W + 64), *u = mimir_secret_alloc(rc * W + 64);
    if (t == NULL || u == NULL) {
        mimir_secret_free(t);
        mimir_secret_free(u);
        return oom(err, "matrix");
    }
    mimir_r128_add(t, y->x[0], y->x[1], ic);
    mimir_r128_matmul(w, x->x[0], t, rows, inner, cols);
    mimir_r128_matmul(u, x->x[1], y->x[0], rows, inner, cols);
    mimir_r128_add(w, w, u, rc);
    pw_zero(g, u, rc);
    mimir_r128_add(w, w, u, rc);
    mimir_secret_free(t);
    mimir_secret_free(u);
    return MIMIR_OK;
}

/* A reshare segment: mine (this party's w_i, kept and sent to prev), theirs (w_{i+1} from
 * next). */
typedef struct seg {
    mimir_r128 *mine, *theirs;
    size_t n;
} seg;

static void walk(const seg *sg, size_t ns, size_t off, size_t k, mimir_r128 *buf, int pack)
{
    size_t done = 0;
    for (size_t i = 0; i < ns && done < k; i++) {
        size_t n = sg[i].n;
        if (off >= n) {
            off -= n;
            continue;
        }
        size_t take = n - off < k - done ? n - off : k - done;
        if (pack)
            memcpy(buf + done, sg[i].mine + off, take * W);
        else
            memcpy(sg[i].theirs + off, buf + done, take * W);
        done += take;
        off = 0;
    }
}

/* The segments' reshare: one round per MIMIR_GEN_RESHARE_WORDS words (at least one). */
static int reshare(mimir_gen *g, const seg *sg, size_t ns, mimir_err *err)
{
    size_t total = 0, off = 0;
    for (size_t i = 0; i < ns; i++)
        total += sg[i].n;
    size_t need = (total < MIMIR_GEN_RESHARE_WORDS ? total : MIMIR_GEN_RESHARE_WORDS) * W;
    if (need > g->bcap) {
        mimir_secret_free(g->sbuf);
        mimir_secret_free(g->rbuf);
        g->sbuf = mimir_secret_alloc(need);
        g->rbuf = mimir_secret_alloc(need);
        g->bcap = need;
        if (g->sbuf == NULL || g->rbuf == NULL) {
            g->bcap = 0;
            return oom(err, "reshare");
        }
    }
    int rc = MIMIR_OK;
    do {
        size_t k = total - off < MIMIR_GEN_RESHARE_WORDS ? total - off : MIMIR_GEN_RESHARE_WORDS;
        walk(sg, ns, off, k, (mimir_r128 *)g->sbuf, 1);
        mimir_net_io io[MIMIR_NET_PARTIES];
        memset(io, 0, sizeof io);
        io[g->prev] = (mimir_net_io){1, g->sbuf, k * W, 0, NULL, 0};
        io[g->next] = (mimir_net_io){0, NULL, 0, 1, g->rbuf, k * W};
        rc = fatal(g, mimir_net_exchange(g->net, io, err));
        if (rc == MIMIR_OK)
            walk(sg, ns, off, k, (mimir_r128 *)g->rbuf, 0);
        off += k;
    } while (rc == MIMIR_OK && off < total);
    mimir_wipe(g->sbuf, g->bcap);
    mimir_wipe(g->rbuf, g->bcap);
    return rc;
}

/* ---- the sacrifice ---------------------------------------------------------------------- */

/* A fresh joint coin, tossed after the products are fixed. */
static int toss(mimir_gen *g, mimir_coin **out, mimir_err *err)
{
    mimir_coin_opts o;
    memset(&o, 0, sizeof o);
    uint8_t seed[MIMIR_GEN_SEED_BYTES];
    if (g->seeds != NULL) {
        if (mimir_drbg_generate(g->seeds, seed, sizeof seed, NULL, 0) != MIMIR_OK)
            return fatal(g, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "sacrifice",
                                          "the seed generator failed"));
        o.fixed_seed = seed;
    }
    int rc = fatal(g, mimir_coin_toss(g->net, &o, out, err));
    mimir_wipe(seed, sizeof seed);
    return rc;
}

static int sac_fail(mimir_gen *g, size_t bad, size_t total, const char *what, mimir_err *err)
{
    mimir_err_set(err, MIMIR_ESECURITY, NULL, "sacrifice",
                  "sacrifice check failed: %zu of %zu %s are not products (a party tampered "
                  "with its reshare); nothing was kept",
                  bad, total, what);
    mimir_net_abort(g->net, err);
    g->dead = MIMIR_ESECURITY;
    return MIMIR_ESECURITY;
}

/* Opens z (MAC-checked with everything pending) and counts its nonzero words. */
static int open_zero(mimir_gen *g, const mimir_sv *z, mimir_r128 *zp, size_t *bad,
                     mimir_err *err)
{
    const mimir_sv *v[1] = {z};
    mimir_r128 *o[1] = {zp};
    int rc = fatal(g, mimir_spdz_open(g->s, 1, v, o, err));
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_check(g->s, err));
    *bad = 0;
    for (size_t j = 0; rc == MIMIR_OK && j < z->n; j++)
        *bad += zp[j] != 0; /* public: an opened, checked value */
    return rc;
}

/* Checks the n triples (a, b, c) against (a2, b, c2): t from a fresh toss, rho = open(t a -
 * a2), open(t c - c2 - rho b) = 0 (Furukawa et al. 2017; SPDZ2k's check over Z_2^128). */
static int sacrifice_triples(mimir_gen *g, int kind, const mimir_sv *a, const mimir_sv *b,
                             const mimir_sv *c, const mimir_sv *a2, const mimir_sv *c2,
                             mimir_err *err)
{
    size_t n = a->n;
    mimir_coin *tc = NULL;
    mimir_sv t[3]; /* rho, z, tmp */
    mimir_r128 *pub = mimir_secret_alloc(3 * n * W + 64);
    mimir_r64 *t64 = mimir_secret_alloc(n * 8 + 64);
    int rc = pub == NULL || t64 == NULL ? oom(err, "sacrifice") : alloc_n(t, 3, n, err);
    if (rc != MIMIR_OK) {
        mimir_secret_free(pub);
        mimir_secret_free(t64);
        return rc;
    }
    mimir_r128 *tp = pub, *rhop = pub + n, *zp = pub + 2 * n;
    rc = toss(g, &tc, err);
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_coin_public_r64(tc, t64, n, err));
    for (size_t j = 0; rc == MIMIR_OK && j < n; j++)
        tp[j] = t64[j];
    mimir_spdz *s = g->s;
    if (rc == MIMIR_OK && (rc = mimir_spdz_mul_public(s, &t[0], a, tp, err)) == MIMIR_OK &&
        (rc = mimir_spdz_sub(s, &t[0], &t[0], a2, err)) == MIMIR_OK) {
        const mimir_sv *v[1] = {&t[0]};
        mimir_r128 *o[1] = {rhop};
        rc = fatal(g, mimir_spdz_open(s, 1, v, o, err));
    }
    if (rc == MIMIR_OK && (rc = mimir_spdz_mul_public(s, &t[1], c, tp, err)) == MIMIR_OK &&
        (rc = mimir_spdz_sub(s, &t[1], &t[1], c2, err)) == MIMIR_OK &&
        (rc = mimir_spdz_mul_public(s, &t[2], b, rhop, err)) == MIMIR_OK)
        rc = mimir_spdz_sub(s, &t[1], &t[1], &t[2], err);
    size_t bad = 0;
    if (rc == MIMIR_OK)
        rc = open_zero(g, &t[1], zp, &bad, err);
    g->st.sacrifices += rc == MIMIR_OK;
    if (rc == MIMIR_OK && bad != 0)
        rc = sac_fail(g, bad, n, "triples", err);
    /* a failed batch, found here or by a peer that told us (its abort carries code 1) */
    if (rc == MIMIR_ESECURITY)
        g->st.failed[kind - 1] += kind == MIMIR_PREP_TRIPLE ? n
                                                            : n / MIMIR_GEN_TRIPLES_PER_BIT_ITEM;
    mimir_coin_free(tc);
    free_n(t, 3);
    mimir_secret_free(pub);
    mimir_secret_free(t64);
    return rc;
}

/* ---- triples ------------------------------------------------------------------------------ */

/* n checked triples; kind is what they are made for (statistics). */
static int make_triples(mimir_gen *g, int kind, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                        mimir_err *err)
{
    mimir_sv v[5]; /* a, b, c, a2, c2 */
    int rc = alloc_n(v, 5, n, err);
    if (rc != MIMIR_OK)
        return rc;
    uint64_t at = g->n_tbatch++;
    pw_rand(g, v[0].x[0], v[0].x[1], n); /* a */
    pw_rand(g, v[1].x[0], v[1].x[1], n); /* b */
    pw_rand(g, v[3].x[0], v[3].x[1], n); /* a2 */
    /* round 1: c = a b, c2 = a2 b; the MACs of a, b, a2 */
    mul_local(g, v[2].x[0], &v[0], &v[1]);
    mul_local(g, v[4].x[0], &v[3], &v[1]);
    if (fault_at(g, MIMIR_GEN_FAULT_TRIPLE_C, at) && n > 0)
        v[2].x[0][0] += 1; /* TEST FAULT: an additive attack on c */
    mac_local(g, &v[0]);
    mac_local(g, &v[1]);
    mac_local(g, &v[3]);
    seg s1[5] = {{v[2].x[0], v[2].x[1], n}, {v[4].x[0], v[4].x[1], n},
                 {v[0].m[0], v[0].m[1], n}, {v[1].m[0], v[1].m[1], n},
                 {v[3].m[0], v[3].m[1], n}};
    rc = reshare(g, s1, 5, err);
    /* round 2: the MACs of c, c2 */
    if (rc == MIMIR_OK) {
        mac_local(g, &v[2]);
        mac_local(g, &v[4]);
        seg s2[2] = {{v[2].m[0], v[2].m[1], n}, {v[4].m[0], v[4].m[1], n}};
        rc = reshare(g, s2, 2, err);
    }
    if (rc == MIMIR_OK)
        rc = sacrifice_triples(g, kind, &v[0], &v[1], &v[2], &v[3], &v[4], err);
    if (rc != MIMIR_OK) {
        free_n(v, 5);
        return rc;
    }
    *a = v[0], *b = v[1], *c = v[2];
    free_n(v + 3, 2);
    return MIMIR_OK;
}

int mimir_gen_triples(mimir_gen *g, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                      mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL || b == NULL || c == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "triples", "no output vectors");
    if ((rc = make_triples(g, MIMIR_PREP_TRIPLE, n, a, b, c, err)) != MIMIR_OK)
        return rc;
    g->st.generated[MIMIR_PREP_TRIPLE - 1] += n;
    g->st.sacrificed[MIMIR_PREP_TRIPLE - 1] += n;
    return MIMIR_OK;
}

/* ---- matrix triples ------------------------------------------------------------------------ */

/* Checks (A, B, C) against (A2, B, C2), the halves of AA and CC: t scalar from a fresh toss,
 * rho = open(t A - A2), open(t C - C2 - rho B) = 0. */
static int sacrifice_matrix(mimir_gen *g, const mimir_sv *AA, const mimir_sv *B,
                            const mimir_sv *CC, size_t rows, size_t inner, size_t cols,
                            mimir_err *err)
{
    size_t ri = rows * inner, rc_ = rows * cols;
    mimir_sv A = view(AA, 0, ri), A2 = view(AA, ri, ri), C = view(CC, 0, rc_);
    mimir_sv C2 = view(CC, rc_, rc_), t[4]; /* rho, z, tmp */
    memset(t, 0, sizeof t);
    mimir_r128 *pub = mimir_secret_alloc((ri + rc_) * W + 64);
    int rc = pub == NULL ? oom(err, "sacrifice") : MIMIR_OK;
    if (rc == MIMIR_OK && (rc = mimir_sv_alloc(&t[0], ri, 1, err)) == MIMIR_OK)
        rc = alloc_n(t + 1, 2, rc_, err);
    mimir_coin *tc = NULL;
    mimir_r64 t64 = 0;
    if (rc == MIMIR_OK)
        rc = toss(g, &tc, err);
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_coin_public_r64(tc, &t64, 1, err));
    mimir_spdz *s = g->s;
    mimir_r128 *rhop = pub, *zp = pub + ri;
    if (rc == MIMIR_OK && (rc = mimir_spdz_scale(s, &t[0], &A, t64, err)) == MIMIR_OK &&
        (rc = mimir_spdz_sub(s, &t[0], &t[0], &A2, err)) == MIMIR_OK) {
        const mimir_sv *v[1] = {&t[0]};
        mimir_r128 *o[1] = {rhop};
        rc = fatal(g, mimir_spdz_open(s, 1, v, o, err));
    }
    if (rc == MIMIR_OK &&
        (rc = mimir_spdz_matmul_public_left(s, &t[2], rhop, B, rows, inner, cols, err)) ==
            MIMIR_OK &&
        (rc = mimir_spdz_scale(s, &t[1], &C, t64, err)) == MIMIR_OK &&
        (rc = mimir_spdz_sub(s, &t[1], &t[1], &C2, err)) == MIMIR_OK)
        rc = mimir_spdz_sub(s, &t[1], &t[1], &t[2], err);
    size_t bad = 0;
    if (rc == MIMIR_OK)
        rc = open_zero(g, &t[1], zp, &bad, err);
    g->st.sacrifices += rc == MIMIR_OK;
    if (rc == MIMIR_OK && bad != 0)
        rc = sac_fail(g, bad, rc_, "entries of a matrix triple", err);
    if (rc == MIMIR_ESECURITY)
        g->st.failed[MIMIR_PREP_MATRIX - 1] += ri + inner * cols + rc_;
    mimir_coin_free(tc);
    free_n(t, 3);
    mimir_secret_free(pub);
    return rc;
}

int mimir_gen_matrix(mimir_gen *g, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                     mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL || b == NULL || c == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matrix", "no output vectors");
    size_t ri, ic, rc_, r2;
    if (rows == 0 || inner == 0 || cols == 0 || mimir_size_mul(rows, inner, &ri) != 0 ||
        mimir_size_mul(inner, cols, &ic) != 0 || mimir_size_mul(rows, cols, &rc_) != 0 ||
        mimir_size_mul(2 * rows, inner + cols, &r2) != 0 || r2 > ((size_t)1 << 40) ||
        ic > ((size_t)1 << 40))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matrix",
                             "shape %zux%zux%zu, expected positive dimensions of a size that "
                             "fits in memory", rows, inner, cols);
    /* AA = [A; A2] (2 rows x inner), B, CC = [C; C2] = AA B */
    mimir_sv AA, B, CC;
    memset(&B, 0, sizeof B);
    memset(&CC, 0, sizeof CC);
    rc = mimir_sv_alloc(&AA, 2 * ri, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&B, ic, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&CC, 2 * rc_, 1, err);
    uint64_t at = g->n_matrix++;
    if (rc == MIMIR_OK) {
        pw_rand(g, AA.x[0], AA.x[1], 2 * ri);
        pw_rand(g, B.x[0], B.x[1], ic);
        rc = matmul_local(g, CC.x[0], &AA, &B, 2 * rows, inner, cols, err);
    }
    if (rc == MIMIR_OK) {
        if (fault_at(g, MIMIR_GEN_FAULT_MATRIX_C, at))
            CC.x[0][0] += 1; /* TEST FAULT: an additive attack on C */
        mac_local(g, &AA);
        mac_local(g, &B);
        seg s1[3] = {{CC.x[0], CC.x[1], 2 * rc_}, {AA.m[0], AA.m[1], 2 * ri},
                     {B.m[0], B.m[1], ic}};
        rc = reshare(g, s1, 3, err);
    }
    if (rc == MIMIR_OK) {
        mac_local(g, &CC);
        seg s2[1] = {{CC.m[0], CC.m[1], 2 * rc_}};
        rc = reshare(g, s2, 1, err);
    }
    if (rc == MIMIR_OK)
        rc = sacrifice_matrix(g, &AA, &B, &CC, rows, inner, cols, err);
    memset(a, 0, sizeof *a);
    memset(c, 0, sizeof *c);
    if (rc == MIMIR_OK) {
        mimir_sv A = view(&AA, 0, ri), C = view(&CC, 0, rc_);
        rc = sv_copy(a, &A, err);
        if (rc == MIMIR_OK)
            rc = sv_copy(c, &C, err);
    }
    mimir_sv_free(&AA);
    mimir_sv_free(&CC);
    if (rc != MIMIR_OK) {
        mimir_sv_free(a);
        mimir_sv_free(c);
        mimir_sv_free(&B);
        return rc;
    }
    *b = B;
    g->st.generated[MIMIR_PREP_MATRIX - 1] += ri + ic + rc_;
    g->st.sacrificed[MIMIR_PREP_MATRIX - 1] += ri + rc_;
    return MIMIR_OK;
}

/* ---- random bits: edaBits and truncation pairs ---------------------------------------------- */

/* The stock of helper triples the engine's Beaver products take (lib/prep.h source). */
static int stock_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                         mimir_err *err)
{
    mimir_gen *g = ctx;
    if (n > g->stock[0].n - g->stock_used)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "gen",
                             "no helper triples left (needed %zu, have %zu)", n,
                             g->stock[0].n - g->stock_used);
    mimir_sv *out[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        mimir_sv v = view(&g->stock[i], g->stock_used, n);
        int rc = sv_copy(out[i], &v, err);
        if (rc != MIMIR_OK) {
            for (int j = 0; j < i; j++)
                mimir_sv_free(out[j]);
            return rc;
        }
    }
    g->stock_used += n;
    return MIMIR_OK;
}

static const mimir_prep_ops stock_ops = {.triples = stock_triples};

/* out = x + y - 2 x y = x XOR y for bits (one Beaver round). */
static int xor_bits(mimir_gen *g, mimir_sv *out, const mimir_sv *x, const mimir_sv *y,
                    mimir_err *err)
{
    mimir_sv p;
    int rc = mimir_sv_alloc(&p, x->n, 1, err);
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_mul(g->s, &p, x, y, err));
    if (rc == MIMIR_OK)
        rc = mimir_spdz_add(g->s, out, x, y, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_scale(g->s, &p, &p, 2, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_sub(g->s, out, out, &p, err);
    mimir_sv_free(&p);
    return rc;
}

/* Word j of the little-endian bytes p (8 bytes per word). */
static uint64_t le64(const uint8_t *p, size_t j)
{
    uint64_t w = 0;
    for (int b = 7; b >= 0; b--)
        w = (w << 8) | p[8 * j + (size_t)b];
    return w;
}

/* nb items: r (nb) and bits (64 nb, item-major), checked. kind: statistics. bw (NULL: not
 * wanted): the same bits as the replicated boolean sharing they already are, one word per item
 * (bit e of item j = bit e of word j): component i is b^(i), the stream bits party i shares
 * with prev, component i+1 is b^(i+1), those it shares with next. The input copy check below
 * binds both holders of b^(j) to the same bits, so the two copies of every boolean component
 * agree for honest holders; a party that later keeps another component than it input is caught
 * by the copy check of the first open that involves it (docs/protocol.md). */
static int make_bits(mimir_gen *g, int kind, size_t nb, mimir_sv *r, mimir_sv *bits,
                     mimir_bv *bw, mimir_err *err)
{
    size_t nbits = nb * NBITS;
    uint64_t at = g->n_bits++;
    memset(r, 0, sizeof *r);
    memset(bits, 0, sizeof *bits);
    if (bw != NULL)
        memset(bw, 0, sizeof *bw);
    /* helper triples: two XOR layers of nbits products */
    free_n(g->stock, 3);
    g->stock_used = 0;
    int rc = make_triples(g, kind, 2 * nbits, &g->stock[0], &g->stock[1], &g->stock[2], err);
    if (rc != MIMIR_OK)
        return rc;
    /* b^(j) from pairwise stream j: component j of the j-th group of 3 nbits inputs */
    uint8_t *u = mimir_secret_alloc(2 * (nbits / 8) + 64);
    mimir_r64 *c0 = mimir_secret_alloc(3 * nbits * 8 + 64);
    mimir_r64 *c1 = mimir_secret_alloc(3 * nbits * 8 + 64);
    mimir_sv in, x, U;
    memset(&in, 0, sizeof in);
    memset(&x, 0, sizeof x);
    memset(&U, 0, sizeof U);
    if (u == NULL || c0 == NULL || c1 == NULL) {
        rc = oom(err, "bits");
        goto out;
    }
    pw_bytes(g, u, u + nbits / 8, nbits / 8);
    if (fault_at(g, MIMIR_GEN_FAULT_BIT, at) && nbits > 0)
        u[0] ^= 1; /* TEST FAULT: this party's copy of b^(i) differs from its co-holder's */
    if (bw != NULL && (rc = mimir_bv_alloc(bw, nb, err)) != MIMIR_OK)
        goto out;
    for (size_t j = 0; bw != NULL && j < nb; j++) {
        bw->x[0][j] = le64(u, j);
        bw->x[1][j] = le64(u + nbits / 8, j);
    }
    mimir_r64 *g0 = c0 + (size_t)g->self * nbits, *g1 = c1 + (size_t)g->next * nbits;
    for (size_t e = 0; e < nbits; e++) {
        g0[e] = (u[e / 8] >> (e % 8)) & 1;
        g1[e] = (u[nbits / 8 + e / 8] >> (e % 8)) & 1;
    }
    const mimir_r64 *const cc[2] = {c0, c1};
    rc = fatal(g, mimir_spdz_input_shares(g->s, cc, 3 * nbits, &in, err));
    /* u: the upper 64 bits of r, random, MAC'd by one replicated product */
    if (rc == MIMIR_OK && (rc = mimir_sv_alloc(&U, nb, 1, err)) == MIMIR_OK) {
        pw_rand(g, U.x[0], U.x[1], nb);
        for (size_t j = 0; j < nb; j++) {
            U.x[0][j] <<= 64;
            U.x[1][j] <<= 64;
        }
        mac_local(g, &U);
        seg s1[1] = {{U.m[0], U.m[1], nb}};
        rc = reshare(g, s1, 1, err);
    }
    /* b = (b^(0) XOR b^(1)) XOR b^(2) */
    mimir_sv b0 = view(&in, 0, nbits), b1 = view(&in, nbits, nbits);
    mimir_sv b2 = view(&in, 2 * nbits, nbits);
    if (rc == MIMIR_OK && (rc = mimir_sv_alloc(&x, nbits, 1, err)) == MIMIR_OK &&
        (rc = xor_bits(g, &x, &b0, &b1, err)) == MIMIR_OK &&
        (rc = mimir_sv_alloc(bits, nbits, 1, err)) == MIMIR_OK)
        rc = xor_bits(g, bits, &x, &b2, err);
    /* r = sum_i 2^i b_i + 2^64 u: linear, on every component and MAC word */
    if (rc == MIMIR_OK && (rc = mimir_sv_alloc(r, nb, 1, err)) == MIMIR_OK) {
        for (int q = 0; q < 4; q++) {
            const mimir_r128 *bq = arr(bits, q), *uq = arr(&U, q);
            mimir_r128 *rq = arr(r, q);
            for (size_t j = 0; j < nb; j++) {
                mimir_r128 acc = uq[j];
                for (int i = 0; i < NBITS; i++)
                    acc += bq[j * NBITS + (size_t)i] << i;
                rq[j] = acc;
            }
        }
    }
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_check(g->s, err));
out:
    if (rc != MIMIR_OK) {
        mimir_sv_free(r);
        mimir_sv_free(bits);
        if (bw != NULL)
            mimir_bv_free(bw);
    }
    mimir_sv_free(&in);
    mimir_sv_free(&x);
    mimir_sv_free(&U);
    mimir_secret_free(u);
    mimir_secret_free(c0);
    mimir_secret_free(c1);
    free_n(g->stock, 3);
    g->stock_used = 0;
    return rc;
}

/* Copies elements of src into dst at off (all four arrays). */
static void put(mimir_sv *dst, size_t off, const mimir_sv *src)
{
    for (int q = 0; q < 4; q++)
        memcpy(arr(dst, q) + off, arr(src, q), src->n * W);
}

int mimir_gen_edabits(mimir_gen *g, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (r == NULL || bits == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "edabits", "no output vectors");
    if (n > ((size_t)1 << 36))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "edabits", "too many (%zu)", n);
    memset(bits, 0, sizeof *bits);
    rc = mimir_sv_alloc(r, n, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(bits, n * NBITS, 1, err);
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += MIMIR_GEN_BITS_BATCH) {
        size_t nb = n - off < MIMIR_GEN_BITS_BATCH ? n - off : MIMIR_GEN_BITS_BATCH;
        mimir_sv rr, bb;
        rc = make_bits(g, MIMIR_PREP_EDABIT, nb, &rr, &bb, NULL, err);
        if (rc == MIMIR_OK) {
            put(r, off, &rr);
            put(bits, off * NBITS, &bb);
            mimir_sv_free(&rr);
            mimir_sv_free(&bb);
        }
    }
    if (rc != MIMIR_OK) {
        mimir_sv_free(r);
        mimir_sv_free(bits);
        return rc;
    }
    g->st.generated[MIMIR_PREP_EDABIT - 1] += n;
    g->st.sacrificed[MIMIR_PREP_EDABIT - 1] += 4 * (uint64_t)n * NBITS;
    return MIMIR_OK;
}

int mimir_gen_trunc(mimir_gen *g, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi,
                    mimir_sv *r_63, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (r == NULL || r_hi == NULL || r_63 == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "trunc", "no output vectors");
    if (f < 1 || f > 63)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "f", "%u bits, expected 1 to 63", f);
    if (n > ((size_t)1 << 36))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "trunc", "too many (%zu)", n);
    mimir_sv *outs[3] = {r, r_hi, r_63};
    for (int i = 0; i < 3; i++)
        memset(outs[i], 0, sizeof *outs[i]);
    for (int i = 0; i < 3 && rc == MIMIR_OK; i++)
        rc = mimir_sv_alloc(outs[i], n, 1, err);
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += MIMIR_GEN_BITS_BATCH) {
        size_t nb = n - off < MIMIR_GEN_BITS_BATCH ? n - off : MIMIR_GEN_BITS_BATCH;
        mimir_sv rr, bb;
        rc = make_bits(g, MIMIR_PREP_TRUNC, nb, &rr, &bb, NULL, err);
        if (rc != MIMIR_OK)
            break;
        put(r, off, &rr);
        /* r_hi = sum_{i=f}^{62} 2^(i-f) b_i, r_63 = b_63: linear */
        for (int q = 0; q < 4; q++) {
            const mimir_r128 *bq = arr(&bb, q);
            mimir_r128 *hq = arr(r_hi, q) + off, *tq = arr(r_63, q) + off;
            for (size_t j = 0; j < nb; j++) {
                mimir_r128 acc = 0;
                for (unsigned i = f; i < 63; i++)
                    acc += bq[j * NBITS + i] << (i - f);
                hq[j] = acc;
                tq[j] = bq[j * NBITS + 63];
            }
        }
        mimir_sv_free(&rr);
        mimir_sv_free(&bb);
    }
    if (rc != MIMIR_OK) {
        for (int i = 0; i < 3; i++)
            mimir_sv_free(outs[i]);
        return rc;
    }
    g->st.generated[MIMIR_PREP_TRUNC - 1] += n;
    g->st.sacrificed[MIMIR_PREP_TRUNC - 1] += 4 * (uint64_t)n * NBITS;
    return MIMIR_OK;
}

/* ---- comparison masks ---------------------------------------------------------------------- */

/* A comparison mask is an edaBit (r, its 64 bits) whose bits are kept in the boolean sharing
 * they are drawn in (make_bits' bw), plus a daBit (Rotaru and Wood, INDOCRYPT 2019): one more
 * bit b made the same way, as a MAC'd value d and as bit 0 of a boolean word db. d is uniform
 * to a corrupted party: it misses one of the three b^(j). */
int mimir_gen_cmasks(mimir_gen *g, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d,
                     mimir_bv *db, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (r == NULL || rb == NULL || d == NULL || db == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "cmasks", "no output vectors");
    if (n > ((size_t)1 << 36))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "cmasks", "too many (%zu)", n);
    memset(d, 0, sizeof *d);
    memset(rb, 0, sizeof *rb);
    memset(db, 0, sizeof *db);
    rc = mimir_sv_alloc(r, n, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(d, n, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_bv_alloc(rb, n, err);
    if (rc == MIMIR_OK)
        rc = mimir_bv_alloc(db, n, err);
    uint64_t sac = 0;
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += MIMIR_GEN_BITS_BATCH) {
        size_t nb = n - off < MIMIR_GEN_BITS_BATCH ? n - off : MIMIR_GEN_BITS_BATCH;
        size_t nd = (nb + NBITS - 1) / NBITS; /* items of the daBit batch: 64 bits each */
        mimir_sv rr, bb;
        mimir_bv bw;
        /* r and rb: an edaBit batch with its boolean components (its arithmetic bits unused) */
        rc = make_bits(g, MIMIR_PREP_CMASK, nb, &rr, &bb, &bw, err);
        if (rc == MIMIR_OK) {
            put(r, off, &rr);
            for (int q = 0; q < 2; q++)
                memcpy(rb->x[q] + off, bw.x[q], nb * 8);
            mimir_sv_free(&rr);
            mimir_sv_free(&bb);
            mimir_bv_free(&bw);
            rc = make_bits(g, MIMIR_PREP_CMASK, nd, &rr, &bb, &bw, err);
        }
        /* d and db: bit j of the daBit batch's stream bits, as a value and as bit 0 */
        if (rc == MIMIR_OK) {
            mimir_sv dv = view(&bb, 0, nb);
            put(d, off, &dv);
            for (int q = 0; q < 2; q++)
                for (size_t j = 0; j < nb; j++)
                    db->x[q][off + j] = (bw.x[q][j / NBITS] >> (j % NBITS)) & 1;
            mimir_sv_free(&rr);
            mimir_sv_free(&bb);
            mimir_bv_free(&bw);
            sac += 4 * (uint64_t)(nb + nd) * NBITS;
        }
    }
    if (rc != MIMIR_OK) {
        mimir_sv_free(r);
        mimir_sv_free(d);
        mimir_bv_free(rb);
        mimir_bv_free(db);
        return rc;
    }
    g->st.generated[MIMIR_PREP_CMASK - 1] += n;
    g->st.sacrificed[MIMIR_PREP_CMASK - 1] += sac;
    return MIMIR_OK;
}

/* ---- boolean triples: replicated AND, then cut-and-bucket ------------------------------------ */

/* The bucket size for n >= MIMIR_GEN_BTRIPLE_MIN buckets: the smallest B with the bound
 * max_k binom(n,k) / binom(nB,kB) * binom(M-kB, B) / binom(M, B) <= 2^-40 (M = nB + B; the
 * thresholds were computed with lgamma, docs/protocol.md). */
unsigned mimir_gen_btriple_bucket(size_t n)
{
    return n >= 4800 ? 4 : n >= 520 ? 5 : 6;
}

/* w = alpha_i, this party's part of a fresh XOR zero sharing: F(k_i) ^ F(k_{i+1}). */
static int pw_bzero(mimir_gen *g, uint64_t *w, size_t n, mimir_err *err)
{
    uint64_t *t = mimir_secret_alloc(n * 8 + 64);
    if (t == NULL)
        return oom(err, "btriples");
    pw_bytes(g, (uint8_t *)w, (uint8_t *)t, n * 8);
    for (size_t j = 0; j < n; j++)
        w[j] ^= t[j];
    mimir_secret_free(t);
    return MIMIR_OK;
}

/* c = a AND b by the replicated AND (Araki et al. 2016, section 2.2 over GF(2)): party i
 * computes z_i = a_i b_i ^ a_i b_{i+1} ^ a_{i+1} b_i ^ alpha_i (XOR over i: a AND b), keeps it
 * and sends it to prev, receiving z_{i+1} from next. 1 round. at: the batch (test faults). */
static int band(mimir_gen *g, const mimir_bv *a, const mimir_bv *b, mimir_bv *c, uint64_t at,
                mimir_err *err)
{
    size_t n = a->n;
    int rc = pw_bzero(g, c->x[0], n, err);
    if (rc != MIMIR_OK)
        return rc;
    const uint64_t *a0 = a->x[0], *a1 = a->x[1], *b0 = b->x[0], *b1 = b->x[1];
    for (size_t j = 0; j < n; j++)
        c->x[0][j] ^= (a0[j] & (b0[j] ^ b1[j])) ^ (a1[j] & b0[j]);
    if (fault_at(g, MIMIR_GEN_FAULT_BTRIPLE_Z, at) && n > 0)
        c->x[0][0] ^= 1; /* TEST FAULT: an additive attack on c */
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[g->prev] = (mimir_net_io){1, c->x[0], n * 8, 0, NULL, 0};
    io[g->next] = (mimir_net_io){0, NULL, 0, 1, c->x[1], n * 8};
    return fatal(g, mimir_net_exchange(g->net, io, err));
}

/* perm = a uniform permutation of 0..m-1 by Fisher-Yates from the public coin stream, each
 * index by Lemire's multiply-and-reject (exactly uniform; the same draws at every party). */
static int shuffle(mimir_gen *g, mimir_coin *tc, size_t *perm, size_t m, mimir_err *err)
{
    enum { CH = 256 };
    mimir_r64 buf[CH];
    size_t used = CH;
    int rc = MIMIR_OK;
    for (size_t i = 0; i < m; i++)
        perm[i] = i;
    for (size_t i = m; i > 1 && rc == MIMIR_OK; i--) {
        uint64_t s = i; /* draw j in [0, s) */
        for (;;) {
            if (used == CH) {
                if ((rc = fatal(g, mimir_coin_public_r64(tc, buf, CH, err))) != MIMIR_OK)
                    break;
                used = 0;
            }
            unsigned __int128 p = (unsigned __int128)buf[used++] * s;
            if ((uint64_t)p >= (uint64_t)(-s) % s) { /* public: coin output */
                size_t j = (size_t)(p >> 64), t = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = t;
                break;
            }
        }
    }
    return rc;
}

/* One batch: n checked words out of M = n B + B made (n >= MIMIR_GEN_BTRIPLE_MIN). After the
 * products are fixed a fresh toss permutes the M words: the first C = B are opened whole and
 * must satisfy c = a AND b; the rest form n buckets of B; in each, the first (x, y, z) is
 * checked against every other (a, b, c): rho = open(x ^ a), sigma = open(y ^ b) (one open for
 * all), then open(t = z ^ c ^ (sigma & a) ^ (rho & b) ^ rho sigma) must be 0 (Furukawa,
 * Lindell, Nof, Weinstein, Eurocrypt 2017, section 2.x). The first of each bucket is kept. */
static int btriple_batch(mimir_gen *g, size_t n, mimir_bv out[3], mimir_err *err)
{
    const size_t B = mimir_gen_btriple_bucket(n), C = B, M = n * B + C;
    const size_t nc = n * (B - 1), nx = 3 * C + 2 * nc; /* checks; words of the first open */
    mimir_bv v[3], X, T;                                /* a, b, c; first open; t */
    memset(v, 0, sizeof v);
    memset(&X, 0, sizeof X);
    memset(&T, 0, sizeof T);
    mimir_coin *tc = NULL;
    size_t *perm = malloc(M * sizeof *perm); /* public */
    uint64_t *px = mimir_secret_alloc((nx + nc) * 8 + 64), *pt = px + nx;
    int rc = perm == NULL || px == NULL ? oom(err, "btriples") : MIMIR_OK;
    for (int k = 0; k < 3 && rc == MIMIR_OK; k++)
        rc = mimir_bv_alloc(&v[k], M, err);
    if (rc == MIMIR_OK && (rc = mimir_bv_alloc(&X, nx, err)) == MIMIR_OK)
        rc = mimir_bv_alloc(&T, nc, err);
    uint64_t at = g->n_btriple++;
    if (rc == MIMIR_OK) {
        pw_bytes(g, (uint8_t *)v[0].x[0], (uint8_t *)v[0].x[1], M * 8);
        pw_bytes(g, (uint8_t *)v[1].x[0], (uint8_t *)v[1].x[1], M * 8);
        rc = band(g, &v[0], &v[1], &v[2], at, err);
    }
    if (rc == MIMIR_OK)
        rc = toss(g, &tc, err);
    if (rc == MIMIR_OK)
        rc = shuffle(g, tc, perm, M, err);
    /* the first open: [a, b, c] of the C cut words, then [rho, sigma] per check */
    for (int q = 0; q < 2 && rc == MIMIR_OK; q++) {
        uint64_t *x = X.x[q];
        const uint64_t *a = v[0].x[q], *b = v[1].x[q];
        for (size_t j = 0; j < C; j++)
            for (int k = 0; k < 3; k++)
                x[3 * j + (size_t)k] = v[k].x[q][perm[j]];
        for (size_t k = 0; k < n; k++) {
            size_t f = perm[C + k * B];
            for (size_t m = 1; m < B; m++) {
                size_t o = perm[C + k * B + m], e = 3 * C + 2 * (k * (B - 1) + m - 1);
                x[e] = a[f] ^ a[o];
                x[e + 1] = b[f] ^ b[o];
            }
        }
    }
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_open_bits(g->s, &X, px, err));
    /* t = z ^ c ^ (sigma & a) ^ (rho & b) ^ (rho & sigma), the public term in component 0 */
    const uint64_t m0 = g->self == 0 ? ~(uint64_t)0 : 0, m1 = g->self == 2 ? ~(uint64_t)0 : 0;
    for (int q = 0; q < 2 && rc == MIMIR_OK; q++) {
        const uint64_t *a = v[0].x[q], *b = v[1].x[q], *c = v[2].x[q], mq = q ? m1 : m0;
        for (size_t k = 0; k < n; k++) {
            size_t f = perm[C + k * B];
            for (size_t m = 1; m < B; m++) {
                size_t o = perm[C + k * B + m], i = k * (B - 1) + m - 1;
                uint64_t rho = px[3 * C + 2 * i], sig = px[3 * C + 2 * i + 1];
                T.x[q][i] = c[f] ^ c[o] ^ (sig & a[o]) ^ (rho & b[o]) ^ (mq & rho & sig);
            }
        }
    }
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_open_bits(g->s, &T, pt, err));
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_check(g->s, err));
    /* public from here: opened and copy-checked words */
    size_t bad = 0;
    for (size_t j = 0; rc == MIMIR_OK && j < C; j++)
        bad += px[3 * j + 2] != (px[3 * j] & px[3 * j + 1]);
    for (size_t i = 0; rc == MIMIR_OK && i < nc; i++)
        bad += pt[i] != 0;
    g->st.sacrifices += rc == MIMIR_OK;
    if (rc == MIMIR_OK && bad != 0)
        rc = sac_fail(g, bad, C + nc, "checked words of boolean triples", err);
    for (int k = 0; k < 3 && rc == MIMIR_OK; k++) {
        if ((rc = mimir_bv_alloc(&out[k], n, err)) != MIMIR_OK)
            break;
        for (int q = 0; q < 2; q++)
            for (size_t j = 0; j < n; j++)
                out[k].x[q][j] = v[k].x[q][perm[C + j * B]];
    }
    if (rc != MIMIR_OK)
        for (int k = 0; k < 3; k++)
            mimir_bv_free(&out[k]);
    mimir_coin_free(tc);
    for (int k = 0; k < 3; k++)
        mimir_bv_free(&v[k]);
    mimir_bv_free(&X);
    mimir_bv_free(&T);
    mimir_secret_free(px);
    free(perm);
    return rc;
}

int mimir_gen_btriples(mimir_gen *g, size_t n_words, mimir_bv *a, mimir_bv *b, mimir_bv *c,
                       mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL || b == NULL || c == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "btriples", "no output vectors");
    if (n_words > ((size_t)1 << 36))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "btriples", "too many words (%zu)",
                             n_words);
    mimir_bv *outs[3] = {a, b, c};
    for (int k = 0; k < 3; k++)
        memset(outs[k], 0, sizeof *outs[k]);
    for (int k = 0; k < 3 && rc == MIMIR_OK; k++)
        rc = mimir_bv_alloc(outs[k], n_words, err);
    uint64_t sac = 0, failed = 0;
    for (size_t off = 0; rc == MIMIR_OK && off < n_words; off += MIMIR_GEN_BTRIPLE_BATCH) {
        size_t want = n_words - off < MIMIR_GEN_BTRIPLE_BATCH ? n_words - off
                                                              : MIMIR_GEN_BTRIPLE_BATCH;
        size_t nb = want < MIMIR_GEN_BTRIPLE_MIN ? MIMIR_GEN_BTRIPLE_MIN : want;
        mimir_bv o[3];
        memset(o, 0, sizeof o);
        rc = btriple_batch(g, nb, o, err);
        if (rc == MIMIR_ESECURITY)
            failed += want;
        if (rc != MIMIR_OK)
            break;
        for (int k = 0; k < 3; k++) {
            for (int q = 0; q < 2; q++)
                memcpy(outs[k]->x[q] + off, o[k].x[q], want * 8);
            mimir_bv_free(&o[k]);
        }
        size_t B = mimir_gen_btriple_bucket(nb);
        sac += (uint64_t)(nb * B + B - want);
    }
    g->st.failed[MIMIR_PREP_BTRIPLE - 1] += failed;
    if (rc != MIMIR_OK) {
        for (int k = 0; k < 3; k++)
            mimir_bv_free(outs[k]);
        return rc;
    }
    g->st.generated[MIMIR_PREP_BTRIPLE - 1] += n_words;
    g->st.sacrificed[MIMIR_PREP_BTRIPLE - 1] += sac;
    return MIMIR_OK;
}

/* ---- weight masks and weight pairs ------------------------------------------------------------ */

/* A mask B (inner x cols) in lib/prep.h's compact form, made by the three parties:
 *  - value component j (j = 0, 1, 2) is seeded: its 32-byte seed is drawn from pairwise stream
 *    j, which exactly its two holders (parties j and j-1) share; so are MAC components 1 and 2;
 *  - MAC component 0 = alpha B - m_1 - m_2 is explicit at parties 0 and 2. Party i computes
 *    w_i = alpha_i (B_i + B_{i+1}) + alpha_{i+1} B_i + zeta_i (the replicated product of
 *    Araki et al. 2016 with y = alpha, w_0 + w_1 + w_2 = alpha B); party 1 sends
 *    d = w_1 - m_1 - m_2 to parties 0 and 2, parties 0 and 2 send each other w_0, w_2, and both
 *    set m_0 = w_0 + w_2 + d (1 round per MIMIR_GEN_WMASK_CHUNK words). Party 0 sees w_2
 *    (masked by zeta_2, unknown to it) and d = m_0 - w_0 - w_2; party 2 symmetrically; party 1
 *    receives nothing.
 * The check (SPDZ2k's MAC check of a random linear combination, Cramer et al. 2018, section 3,
 * masked as in Damgård et al. 2013 "Practical covertly secure MPC", section 4's MACCheck input
 * masking): parties 0 and 2 compare a SHA-256 of their two copies of m_0 (1 round), a fresh
 * MAC'd random r is made (1 round), chi_j in Z_2^64 are tossed after B and its MACs are fixed
 * (2 rounds; the ChaCha20 expansion of a 32-byte coin), y = r + sum_j chi_j B_j is opened (1 round) and MAC-checked (4 rounds). A wrong
 * MAC word (an error added to w_i or d) passes with probability about 2^-(s - log2(s+1)). */

#define MASK_BLOCK_WORDS ((size_t)1 << 16) /* words of B expanded at a time (1 MiB) */
#define MASK_MAX_ELEMS ((size_t)1 << 32)

static int mask_shape_ok(size_t inner, size_t cols, size_t *n)
{
    return inner > 0 && cols > 0 && mimir_size_mul(inner, cols, n) == 0 && *n <= MASK_MAX_ELEMS;
}

/* w[0..k) = this party's w_i for B's words [off, off + k); x0, x1: k words of scratch. */
static void mask_mac_local(mimir_gen *g, const mimir_wmask *m, size_t off, size_t k,
                           mimir_r128 *w, mimir_r128 *x0, mimir_r128 *x1)
{
    mimir_wmask_words(m, 0, off, k, x0);
    mimir_wmask_words(m, 1, off, k, x1);
    pw_zero(g, w, k);
    const mimir_r128 a0 = g->alpha[0], a1 = g->alpha[1];
    for (size_t j = 0; j < k; j++)
        w[j] += a0 * (x0[j] + x1[j]) + a1 * x0[j];
}

/* MAC component 0 at parties 0 and 2 (expl[e], e = 2 at party 0, 3 at party 2). */
static int mask_mac0(mimir_gen *g, mimir_wmask *m, size_t n, mimir_err *err)
{
    uint64_t at = g->n_wmask++;
    size_t chunk = n < MIMIR_GEN_WMASK_CHUNK ? n : MIMIR_GEN_WMASK_CHUNK;
    int e = g->self == 0 ? 2 : g->self == 2 ? 3 : -1;
    mimir_r128 *w = mimir_secret_alloc(chunk * W), *x0 = mimir_secret_alloc(chunk * W);
    mimir_r128 *x1 = mimir_secret_alloc(chunk * W), *r1 = mimir_secret_alloc(chunk * W);
    mimir_r128 *r2 = mimir_secret_alloc(chunk * W);
    int rc = w == NULL || x0 == NULL || x1 == NULL || r1 == NULL || r2 == NULL
                 ? oom(err, "wmask")
                 : MIMIR_OK;
    if (rc == MIMIR_OK && e >= 0 && (m->expl[e] = mimir_secret_alloc(n * W)) == NULL)
        rc = oom(err, "wmask");
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        mask_mac_local(g, m, off, k, w, x0, x1);
        mimir_net_io io[MIMIR_NET_PARTIES];
        memset(io, 0, sizeof io);
        if (off == 0 && fault_at(g, MIMIR_GEN_FAULT_WMASK_MAC, at))
            w[0] += 1; /* TEST FAULT: an additive attack on the MAC of B */
        if (g->self == 1) { /* d = w_1 - m_1 - m_2 to both */
            mimir_wmask_words(m, 2, off, k, x0);
            mimir_wmask_words(m, 3, off, k, x1);
            mimir_r128_sub(w, w, x0, k);
            mimir_r128_sub(w, w, x1, k);
            const mimir_r128 *to2 = w;
            if (off == 0 && fault_at(g, MIMIR_GEN_FAULT_WMASK_COPY, at)) {
                memcpy(r2, w, k * W); /* TEST FAULT: party 2 gets another d than party 0 */
                r2[0] += 1;
                to2 = r2;
            }
            io[0] = (mimir_net_io){1, w, k * W, 0, NULL, 0};
            io[2] = (mimir_net_io){1, to2, k * W, 0, NULL, 0};
        } else {
            int o = 2 - g->self; /* the other of parties 0 and 2 */
            io[o] = (mimir_net_io){1, w, k * W, 1, r2, k * W};
            io[1] = (mimir_net_io){0, NULL, 0, 1, r1, k * W};
        }
        rc = fatal(g, mimir_net_exchange(g->net, io, err));
        if (rc == MIMIR_OK && e >= 0) {
            mimir_r128 *dst = m->expl[e] + off;
            mimir_r128_add(dst, w, r2, k);
            mimir_r128_add(dst, dst, r1, k);
        }
    }
    mimir_secret_free(w);
    mimir_secret_free(x0);
    mimir_secret_free(x1);
    mimir_secret_free(r1);
    mimir_secret_free(r2);
    return rc;
}

/* Parties 0 and 2 compare SHA-256(id, m_0) of their copies (1 round; party 1 sends empty
 * messages so the round is the same everywhere). */
static int mask_copy_check(mimir_gen *g, const mimir_wmask *m, size_t n, mimir_err *err)
{
    enum { H = MIMIR_SHA256_BYTES };
    uint8_t mine[H], theirs[H];
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    if (g->self == 1) {
        io[0] = (mimir_net_io){1, mine, 0, 1, theirs, 0};
        io[2] = (mimir_net_io){1, mine, 0, 1, theirs, 0};
    } else {
        mimir_sha256_state h;
        mimir_sha256_init(&h);
        mimir_sha256_update(&h, (const uint8_t *)&m->id, sizeof m->id);
        mimir_sha256_update(&h, (const uint8_t *)m->expl[g->self == 0 ? 2 : 3], n * W);
        mimir_sha256_final(&h, mine);
        int o = 2 - g->self;
        io[o] = (mimir_net_io){1, mine, H, 1, theirs, H};
        io[1] = (mimir_net_io){1, mine, 0, 1, theirs, 0};
    }
    int rc = fatal(g, mimir_net_exchange(g->net, io, err));
    if (rc == MIMIR_OK && g->self != 1 && sodium_memcmp(mine, theirs, H) != 0) {
        mimir_err_set(err, MIMIR_ESECURITY, NULL, "wmask",
                      "weight mask check failed: parties 0 and 2 hold different copies of MAC "
                      "component 0 (party 1 sent them different words); nothing was kept");
        mimir_net_abort(g->net, err);
        g->dead = rc = MIMIR_ESECURITY;
    }
    return rc;
}

/* Opens y = r + sum_j chi_j B_j (r fresh, MAC'd; chi tossed now) and MAC-checks it. */
static int mask_check(mimir_gen *g, const mimir_wmask *m, size_t n, mimir_err *err)
{
    mimir_sv r, y;
    memset(&y, 0, sizeof y);
    int rc = mimir_sv_alloc(&r, 1, 1, err);
    if (rc != MIMIR_OK)
        return rc;
    pw_rand(g, r.x[0], r.x[1], 1);
    mac_local(g, &r);
    seg s1[1] = {{r.m[0], r.m[1], 1}};
    rc = reshare(g, s1, 1, err);
    mimir_coin *tc = NULL;
    if (rc == MIMIR_OK)
        rc = toss(g, &tc, err);
    if (rc == MIMIR_OK)
        rc = sv_copy(&y, &r, err);
    size_t chunk = n < MASK_BLOCK_WORDS ? n : MASK_BLOCK_WORDS;
    mimir_r64 *chi = mimir_secret_alloc(chunk * 8 + 64);
    mimir_r128 *b = mimir_secret_alloc(chunk * W);
    if (rc == MIMIR_OK && (chi == NULL || b == NULL))
        rc = oom(err, "wmask");
    /* chi: the ChaCha20 stream under a 32-byte key from the fresh coin (public, drawn after
     * B and its MACs are fixed; the coin's HMAC-DRBG is too slow for 10^7 coefficients) */
    uint8_t key[KEYB], nonce[NONCEB];
    memset(nonce, 0, sizeof nonce);
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_coin_public_bytes(tc, key, sizeof key, err));
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        memset(chi, 0, k * 8);
        crypto_stream_chacha20_ietf_xor_ic((uint8_t *)chi, (const uint8_t *)chi, k * 8, nonce,
                                           (uint32_t)(off * 8 / 64), key);
        for (int q = 0; q < 4 && rc == MIMIR_OK; q++) {
            mimir_wmask_words(m, q, off, k, b);
            mimir_r128 acc = 0;
            for (size_t j = 0; j < k; j++)
                acc += (mimir_r128)chi[j] * b[j];
            arr(&y, q)[0] += acc;
        }
    }
    mimir_r128 yp = 0;
    if (rc == MIMIR_OK) {
        const mimir_sv *v[1] = {&y};
        mimir_r128 *o[1] = {&yp};
        rc = fatal(g, mimir_spdz_open(g->s, 1, v, o, err));
    }
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_spdz_check(g->s, err));
    mimir_coin_free(tc);
    mimir_sv_free(&r);
    mimir_sv_free(&y);
    sodium_memzero(key, sizeof key);
    mimir_secret_free(chi);
    mimir_secret_free(b);
    return rc;
}

int mimir_gen_wmask(mimir_gen *g, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wmask", "no output mask");
    memset(out, 0, sizeof *out);
    size_t n;
    if (!mask_shape_ok(inner, cols, &n))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wmask",
                             "shape %zux%zu, expected 1 to 2^32 elements", inner, cols);
    mimir_r64 id = 0;
    rc = fatal(g, mimir_coin_public_r64(g->coin, &id, 1, err)); /* the same at all three */
    if (rc != MIMIR_OK)
        return rc;
    out->id = id;
    out->inner = inner;
    out->cols = cols;
    out->macs = 1;
    /* seeds of value components (i, i+1), then of MAC components (i, i+1) */
    pw_bytes(g, out->seed[0], out->seed[1], MIMIR_PREP_SEED_BYTES);
    pw_bytes(g, out->seed[2], out->seed[3], MIMIR_PREP_SEED_BYTES);
    rc = mask_mac0(g, out, n, err);
    if (rc == MIMIR_OK && g->self != 1)
        sodium_memzero(out->seed[g->self == 0 ? 2 : 3], MIMIR_PREP_SEED_BYTES);
    if (rc == MIMIR_OK)
        rc = mask_copy_check(g, out, n, err);
    if (rc == MIMIR_OK)
        rc = mask_check(g, out, n, err);
    if (rc != MIMIR_OK) {
        mimir_wmask_free(out);
        if (rc == MIMIR_ESECURITY)
            g->st.failed[MIMIR_PREP_WMASK - 1] += n;
        return rc;
    }
    g->st.generated[MIMIR_PREP_WMASK - 1] += n;
    return MIMIR_OK;
}

/* out (R x cout) += X (R x ain) op(B_q): op(B) = B (ain = inner, cout = cols) or B^T
 * (transposed: ain = cols, cout = inner); B_q component q of mask m, expanded by row blocks. */
static int mask_acc(const mimir_wmask *m, int q, int tr, const mimir_r128 *X, size_t R,
                    mimir_r128 *out, mimir_err *err)
{
    size_t inner = m->inner, cols = m->cols;
    size_t kb = MASK_BLOCK_WORDS / cols ? MASK_BLOCK_WORDS / cols : 1;
    kb = kb < inner ? kb : inner;
    mimir_r128 *blk = mimir_secret_alloc(kb * cols * W);
    mimir_r128 *xb = mimir_secret_alloc((tr ? kb * cols : R * kb) * W);
    mimir_r128 *prod = mimir_secret_alloc(R * (tr ? kb : cols) * W);
    int rc = blk == NULL || xb == NULL || prod == NULL ? oom(err, "wpair") : MIMIR_OK;
    for (size_t i0 = 0; rc == MIMIR_OK && i0 < inner; i0 += kb) {
        size_t k = inner - i0 < kb ? inner - i0 : kb;
        mimir_wmask_words(m, q, i0 * cols, k * cols, blk);
        if (!tr) { /* out += X[:, i0:i0+k] B[i0:i0+k, :] */
            for (size_t r = 0; r < R; r++)
                memcpy(xb + r * k, X + r * inner + i0, k * W);
            mimir_r128_matmul(prod, xb, blk, R, k, cols);
            mimir_r128_add(out, out, prod, R * cols);
        } else { /* out[:, i0:i0+k] += X B[i0:i0+k, :]^T */
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < cols; j++)
                    xb[j * k + i] = blk[i * cols + j];
            mimir_r128_matmul(prod, X, xb, R, cols, k);
            for (size_t r = 0; r < R; r++)
                mimir_r128_add(out + r * inner + i0, out + r * inner + i0, prod + r * k, k);
        }
    }
    mimir_secret_free(blk);
    mimir_secret_free(xb);
    mimir_secret_free(prod);
    return rc;
}

/* z = t C - C2 - rho op(B) on all four arrays (public t and rho: linear, local), z opened and
 * required to be 0 (Furukawa et al. 2017's sacrifice with the pair (A2, C2) on the same B). */
static int sacrifice_wpairs(mimir_gen *g, const mimir_wmask *m, int tr, const mimir_sv *AA,
                            const mimir_sv *CC, size_t R, size_t ain, size_t cout,
                            mimir_err *err)
{
    size_t na = R * ain, nc = R * cout;
    mimir_sv A = view(AA, 0, na), A2 = view(AA, na, na), C = view(CC, 0, nc);
    mimir_sv C2 = view(CC, nc, nc), rho, z;
    memset(&rho, 0, sizeof rho);
    memset(&z, 0, sizeof z);
    mimir_r128 *pub = mimir_secret_alloc((na + nc) * W + 64);
    int rc = pub == NULL ? oom(err, "sacrifice") : MIMIR_OK;
    if (rc == MIMIR_OK && (rc = mimir_sv_alloc(&rho, na, 1, err)) == MIMIR_OK)
        rc = mimir_sv_alloc(&z, nc, 1, err);
    mimir_coin *tc = NULL;
    mimir_r64 t64 = 0;
    if (rc == MIMIR_OK)
        rc = toss(g, &tc, err);
    if (rc == MIMIR_OK)
        rc = fatal(g, mimir_coin_public_r64(tc, &t64, 1, err));
    mimir_r128 *rhop = pub, *zp = pub + na;
    if (rc == MIMIR_OK && (rc = mimir_spdz_scale(g->s, &rho, &A, t64, err)) == MIMIR_OK &&
        (rc = mimir_spdz_sub(g->s, &rho, &rho, &A2, err)) == MIMIR_OK) {
        const mimir_sv *v[1] = {&rho};
        mimir_r128 *o[1] = {rhop};
        rc = fatal(g, mimir_spdz_open(g->s, 1, v, o, err));
    }
    if (rc == MIMIR_OK)
        for (size_t j = 0; j < na; j++)
            rhop[j] = -rhop[j];
    for (int q = 0; q < 4 && rc == MIMIR_OK; q++) {
        mimir_r128_scale(arr(&z, q), arr(&C, q), (mimir_r128)t64, nc);
        mimir_r128_sub(arr(&z, q), arr(&z, q), arr(&C2, q), nc);
        rc = mask_acc(m, q, tr, rhop, R, arr(&z, q), err);
    }
    size_t bad = 0;
    if (rc == MIMIR_OK)
        rc = open_zero(g, &z, zp, &bad, err);
    g->st.sacrifices += rc == MIMIR_OK;
    if (rc == MIMIR_OK && bad != 0)
        rc = sac_fail(g, bad, nc, "entries of weight pairs", err);
    if (rc == MIMIR_ESECURITY)
        g->st.failed[MIMIR_PREP_WPAIR - 1] += na + nc;
    mimir_coin_free(tc);
    mimir_sv_free(&rho);
    mimir_sv_free(&z);
    mimir_secret_free(pub);
    return rc;
}

int mimir_gen_wpairs(mimir_gen *g, const mimir_wmask *mask, size_t rows, int transposed,
                     size_t count, mimir_sv *a, mimir_sv *c, mimir_err *err)
{
    int rc = alive(g, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL || c == NULL || mask == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair", "no mask or output vectors");
    size_t n, R, na, nc, r2;
    int tr = transposed != 0;
    size_t ain = tr ? mask->cols : mask->inner, cout = tr ? mask->inner : mask->cols;
    if (!mask_shape_ok(mask->inner, mask->cols, &n) || mask->hollow || !mask->macs)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair",
                             "a mask of %zux%zu%s, expected a MAC'd mask of 1 to 2^32 elements",
                             mask->inner, mask->cols, mask->hollow ? " (hollow)" : "");
    if (rows == 0 || count == 0 || mimir_size_mul(rows, count, &R) != 0 ||
        mimir_size_mul(R, ain, &na) != 0 || mimir_size_mul(R, cout, &nc) != 0 ||
        mimir_size_mul(2, na + nc, &r2) != 0 || r2 > ((size_t)1 << 36))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair",
                             "%zu pairs of %zu rows against a %zux%zu mask, expected a size "
                             "that fits in memory", count, rows, mask->inner, mask->cols);
    memset(a, 0, sizeof *a);
    memset(c, 0, sizeof *c);
    /* AA = [A; A2] (2R x ain), CC = [C; C2] = AA op(B) */
    mimir_sv AA, CC;
    memset(&CC, 0, sizeof CC);
    rc = mimir_sv_alloc(&AA, 2 * na, 1, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&CC, 2 * nc, 1, err);
    uint64_t at = g->n_wpair++;
    if (rc == MIMIR_OK) {
        /* W = X_i B_i + X_i B_{i+1} + X_{i+1} B_i + zeta_i */
        pw_rand(g, AA.x[0], AA.x[1], 2 * na);
        pw_zero(g, CC.x[0], 2 * nc);
        rc = mask_acc(mask, 0, tr, AA.x[0], 2 * R, CC.x[0], err);
        if (rc == MIMIR_OK)
            rc = mask_acc(mask, 1, tr, AA.x[0], 2 * R, CC.x[0], err);
        if (rc == MIMIR_OK)
            rc = mask_acc(mask, 0, tr, AA.x[1], 2 * R, CC.x[0], err);
    }
    if (rc == MIMIR_OK) {
        if (fault_at(g, MIMIR_GEN_FAULT_WPAIR_C, at))
            CC.x[0][0] += 1; /* TEST FAULT: an additive attack on C */
        mac_local(g, &AA);
        seg s1[2] = {{CC.x[0], CC.x[1], 2 * nc}, {AA.m[0], AA.m[1], 2 * na}};
        rc = reshare(g, s1, 2, err);
    }
    if (rc == MIMIR_OK) {
        mac_local(g, &CC);
        seg s2[1] = {{CC.m[0], CC.m[1], 2 * nc}};
        rc = reshare(g, s2, 1, err);
    }
    if (rc == MIMIR_OK)
        rc = sacrifice_wpairs(g, mask, tr, &AA, &CC, R, ain, cout, err);
    if (rc == MIMIR_OK) {
        mimir_sv A = view(&AA, 0, na), C = view(&CC, 0, nc);
        rc = sv_copy(a, &A, err);
        if (rc == MIMIR_OK)
            rc = sv_copy(c, &C, err);
    }
    mimir_sv_free(&AA);
    mimir_sv_free(&CC);
    if (rc != MIMIR_OK) {
        mimir_sv_free(a);
        mimir_sv_free(c);
        return rc;
    }
    g->st.generated[MIMIR_PREP_WPAIR - 1] += na + nc;
    g->st.sacrificed[MIMIR_PREP_WPAIR - 1] += na + nc;
    return MIMIR_OK;
}

/* ---- the on-demand source and the generator's life ------------------------------------------ */

static int op_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                      mimir_err *err)
{
    return mimir_gen_triples(ctx, n, a, b, c, err);
}
static int op_matrix(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                     mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    return mimir_gen_matrix(ctx, rows, inner, cols, a, b, c, err);
}
static int op_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi,
                    mimir_sv *r_63, mimir_err *err)
{
    return mimir_gen_trunc(ctx, n, f, r, r_hi, r_63, err);
}
static int op_edabits(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err)
{
    return mimir_gen_edabits(ctx, n, r, bits, err);
}
static int op_btriples(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c,
                       mimir_err *err)
{
    return mimir_gen_btriples(ctx, n, a, b, c, err);
}
static int op_cmasks(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d, mimir_bv *db,
                     mimir_err *err)
{
    return mimir_gen_cmasks(ctx, n, r, rb, d, db, err);
}
static int op_wmask(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err)
{
    return mimir_gen_wmask(ctx, inner, cols, out, err);
}
static int op_wpair(void *ctx, const mimir_wmask *mask, size_t rows, int transposed,
                    mimir_sv *a, mimir_sv *c, mimir_err *err)
{
    return mimir_gen_wpairs(ctx, mask, rows, transposed, 1, a, c, err);
}
static const mimir_prep_ops gen_ops = {
    .triples = op_triples,
    .matrix = op_matrix,
    .trunc = op_trunc,
    .edabits = op_edabits,
    .wmask = op_wmask,
    .wpair = op_wpair,
    .btriples = op_btriples,
    .cmasks = op_cmasks,
};

mimir_prep *mimir_gen_prep(mimir_gen *g)
{
    return g == NULL ? NULL : &g->pub_prep;
}

void mimir_gen_alpha(const mimir_gen *g, mimir_r128 alpha[2])
{
    alpha[0] = g->alpha[0];
    alpha[1] = g->alpha[1];
}

void mimir_gen_get_stats(const mimir_gen *g, mimir_gen_stats *st)
{
    *st = g->st;
}

void mimir_gen_free(mimir_gen *g)
{
    if (g == NULL)
        return;
    mimir_spdz_free(g->s);
    free_n(g->stock, 3);
    mimir_key_free(g->alpha);
    mimir_key_free(g->keys);
    if (g->seeds != NULL)
        mimir_drbg_wipe(g->seeds);
    mimir_key_free(g->seeds);
    mimir_secret_free(g->z0);
    mimir_secret_free(g->z1);
    mimir_secret_free(g->sbuf);
    mimir_secret_free(g->rbuf);
    mimir_wipe(g, sizeof *g);
    mimir_secret_free(g);
}

int mimir_gen_new(mimir_net *net, mimir_coin *coin, const mimir_r128 alpha[2],
                  const mimir_gen_opts *opts, mimir_gen **out, mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (net == NULL || coin == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "gen", "no net, coin or output");
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "gen", "cannot initialise libsodium");
    mimir_gen *g = mimir_secret_alloc(sizeof *g);
    if (g == NULL)
        return oom(err, "gen");
    g->net = net;
    g->coin = coin;
    g->self = mimir_net_self(net);
    g->prev = mimir_net_prev(g->self);
    g->next = mimir_net_next(g->self);
#ifdef MIMIR_TEST_HOOKS
    if (opts != NULL)
        g->fault = opts->fault;
#endif
    g->alpha = mimir_key_alloc(2 * W);
    g->keys = mimir_key_alloc(2 * KEYB);
    g->z0 = mimir_secret_alloc(ZCHUNK * W);
    g->z1 = mimir_secret_alloc(ZCHUNK * W);
    int rc = g->alpha == NULL || g->keys == NULL || g->z0 == NULL || g->z1 == NULL
                 ? oom(err, "gen")
                 : MIMIR_OK;
    if (rc == MIMIR_OK && opts != NULL && opts->fixed_seed != NULL) {
        g->seeds = mimir_key_alloc(sizeof *g->seeds);
        if (g->seeds == NULL)
            rc = oom(err, "gen");
        else if (mimir_drbg_from_seed(g->seeds, opts->fixed_seed, MIMIR_GEN_SEED_BYTES,
                                      SAC_LABEL) != MIMIR_OK)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "gen", "cannot seed the generator");
    }
    if (rc == MIMIR_OK && alpha != NULL)
        memcpy(g->alpha, alpha, 2 * W);
    else if (rc == MIMIR_OK)
        rc = mimir_spdz_keygen(coin, g->alpha, err);
    /* the two stream keys: 2 words of component i's pairwise stream, 2 of component i+1's */
    mimir_r128 k[4];
    if (rc == MIMIR_OK)
        rc = mimir_coin_rand_r128(coin, &k[0], &k[2], 2, err);
    if (rc == MIMIR_OK) {
        memcpy(g->keys, &k[0], KEYB);
        memcpy(g->keys + KEYB, &k[2], KEYB);
    }
    mimir_wipe(k, sizeof k);
    g->stock_prep = (mimir_prep){&stock_ops, g, 0};
    g->pub_prep = (mimir_prep){&gen_ops, g, 0};
    if (rc == MIMIR_OK)
        rc = mimir_spdz_new(net, coin, &g->stock_prep, g->alpha, NULL, &g->s, err);
    if (rc != MIMIR_OK) {
        mimir_gen_free(g);
        return rc;
    }
    *out = g;
    return MIMIR_OK;
}
