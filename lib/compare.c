/*
 * compare.c — secure less-than-zero, comparison, selection, max and argmax (lib/compare.h;
 * docs/protocol.md, "Comparisons", has the derivation, the round and
 * triple counts and the security argument).
 *
 * Less-than-zero of x (a value of Z_2^64 held as x~ in Z_2^128) at width k (2..64, public;
 * valid for -2^(k-1) <= x < 2^(k-1); k = 64: every x):
 *  1. x' = x + 2^(k-1) is in [0, 2^k) in the valid range, so [x < 0] = 1 - bit k-1 of x'.
 *  2. Take an edaBit (r~ uniform in Z_2^128, the bits r_0..r_63 of r = r~ mod 2^64 shared as
 *     0/1 values; Escudero, Ghosh, Keller, Rachuri, Scholl, "Improved primitives for MPC over
 *     mixed arithmetic-binary circuits", CRYPTO 2020) and open c~ = x'~ + r~ (1 round): the
 *     whole word, uniformly masked. Only r_low = r mod 2^k is used bit by bit; r~ - r_low (a
 *     multiple of 2^k) masks the rest of c and never matters: c mod 2^k = x' + r_low mod 2^k,
 *     whatever carry goes out of bit k-1.
 *  3. bit k-1 of x' = bit k-1 of (c - r_low mod 2^k) = c_(k-1) XOR r_(k-1) XOR u with
 *     u = [c mod 2^(k-1) < r mod 2^(k-1)] (the borrow into bit k-1). u is BitLT of a public
 *     and a shared number (Catrina and de Hoogh, "Improved primitives for secure multiparty
 *     integer computation", SCN 2010; Damgård, Fitzi, Kiltz, Nielsen, Toft, TCC 2006),
 *     computed as a carry tree: leaf i (bit i < k-1) is the pair (g_i, p_i) with g_i =
 *     [r_i > c_i] = (1 - c_i) r_i and p_i = [r_i = c_i] = (1 - c_i) + (2 c_i - 1) r_i, both
 *     linear (c_i public); a node joins a more significant range H and a less significant L as
 *     G = G_H + P_H G_L and P = P_H P_L (two Beaver products, the second only where a parent
 *     needs P). The root's G over bits k-2..0 is u.
 *  4. The XOR with the shared r_(k-1) is the tree's top leaf (g, p) = (r_(k-1), 1 - 2 r_(k-1)):
 *     joined above the BitLT tree it gives r_(k-1) + (1 - 2 r_(k-1)) u = r_(k-1) XOR u, so no
 *     final product. Then [x < 0] = 1 - (c_(k-1) XOR G) = (1 - c_(k-1)) + (2 c_(k-1) - 1) G.
 *  The tree over the k leaves has depth ceil(log2 k) (the minimum for k inputs) and, among the
 *  trees of that depth, the fewest products: only the nodes on the least significant spine can
 *  skip P, so the shape (a dynamic programme over the split points, plan() below) makes the
 *  more significant parts as small as the depth allows. 64 bits: 120 products (Sklansky's
 *  prefix product over 64 entries took 192), 32: 57, 16: 26. Each level is ONE batched
 *  mimir_spdz_mul over all elements of the call: 1 + ceil(log2 k) rounds.
 *
 * Everything after the open is linear on shares or a Beaver product, so the only values opened
 * are c~ (uniform) and the Beaver differences (uniform); every open is checked by the engine's
 * deferred check. No branch or memory index depends on a secret: loops run over public sizes
 * and the public tree shape, and the public coefficients derive from the opened c only.
 */
#include "compare.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "prep.h"

#define EBITS MIMIR_PREP_EDABIT_BITS /* 64: bits per edaBit */
#define KMAX MIMIR_COMPARE_BITS_MAX
#define DMAX 6 /* ceil(log2 KMAX): tree levels at most */

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

/* --- the carry tree (public: depends on the width only) ---------------------------------- */

/* A node joins the leaves [slot, slot + size) (leaf 0 the most significant) from its more
 * significant child, whose range starts at the same slot, and its less significant child at
 * slot lo. Its G (and P if need_p) overwrite the slot: the more significant child's values are
 * read in the same round and needed by nobody else. */
typedef struct cnode {
    unsigned char slot, lo, need_p, level;
} cnode;

typedef struct cplan {
    unsigned k, depth, nnodes, triples;
    unsigned per_level[DMAX + 1]; /* products per element at level 1..depth */
    cnode node[KMAX - 1];
} cplan;

/* cost[n][d]: fewest products for the G of n leaves in at most d levels; split[n][d] the size
 * of the more significant part that reaches it. Such a part must give G and P: 2 (a - 1)
 * products whatever its shape, the join 1, the less significant part recursively. */
static void cost_table(unsigned cost[KMAX + 1][DMAX + 1], unsigned split[KMAX + 1][DMAX + 1])
{
    const unsigned inf = 1u << 30;
    for (unsigned d = 0; d <= DMAX; d++)
        for (unsigned n = 1; n <= KMAX; n++) {
            cost[n][d] = n == 1 ? 0 : inf;
            split[n][d] = 0;
            if (n == 1 || d == 0)
                continue;
            unsigned half = 1u << (d - 1);
            for (unsigned a = 1; a < n; a++) {
                if (a > half || n - a > half || cost[n - a][d - 1] >= inf)
                    continue;
                unsigned c = 2 * (a - 1) + 1 + cost[n - a][d - 1];
                if (c < cost[n][d]) {
                    cost[n][d] = c;
                    split[n][d] = a;
                }
            }
        }
}

/* Builds the subtree over leaves [first, first + n) within d levels; returns its level. */
static unsigned build(cplan *pl, unsigned split[KMAX + 1][DMAX + 1], unsigned first, unsigned n,
                      unsigned d, int need_p)
{
    if (n == 1)
        return 0;
    unsigned a = need_p ? (n + 1) / 2 : split[n][d];
    unsigned lh = build(pl, split, first, a, d - 1, 1);
    unsigned ll = build(pl, split, first + a, n - a, d - 1, need_p);
    cnode *nd = &pl->node[pl->nnodes++];
    nd->slot = (unsigned char)first;
    nd->lo = (unsigned char)(first + a);
    nd->need_p = (unsigned char)need_p;
    nd->level = (unsigned char)(1 + (lh > ll ? lh : ll));
    pl->per_level[nd->level] += 1 + (unsigned)need_p;
    pl->triples += 1 + (unsigned)need_p;
    return nd->level;
}

/* The table depends on nothing: made once (it was 1% of a served step, made per comparison). */
static unsigned g_cost[KMAX + 1][DMAX + 1], g_split[KMAX + 1][DMAX + 1];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    cost_table(g_cost, g_split);
}

static void plan(cplan *pl, unsigned k)
{
    pthread_once(&g_table_once, make_table);
    unsigned (*split)[DMAX + 1] = g_split;
    memset(pl, 0, sizeof *pl);
    pl->k = k;
    while ((1u << pl->depth) < k)
        pl->depth++;
    build(pl, split, 0, k, pl->depth, 0);
}

unsigned mimir_compare_ltz_triples(unsigned bits)
{
    if (bits < MIMIR_COMPARE_BITS_MIN || bits > MIMIR_COMPARE_BITS_MAX)
        return 0;
    cplan pl;
    plan(&pl, bits);
    return pl.triples;
}

unsigned mimir_compare_ltz_gates(unsigned bits)
{
    if (bits < MIMIR_COMPARE_BITS_MIN || bits > MIMIR_COMPARE_BITS_MAX)
        return 0;
    cplan pl;
    plan(&pl, bits - 1);
    return pl.triples;
}

static int check_bits(unsigned bits, const char *field, mimir_err *err)
{
    if (bits < MIMIR_COMPARE_BITS_MIN || bits > MIMIR_COMPARE_BITS_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field, "width of %u bits, expected %d .. "
                             "%d", bits, MIMIR_COMPARE_BITS_MIN, MIMIR_COMPARE_BITS_MAX);
    return MIMIR_OK;
}

/* A width and the low bits a coarse comparison leaves out (0 for exact): skip <= bits - 2. */
static int check_skip(unsigned bits, unsigned skip, const char *field, mimir_err *err)
{
    int rc = check_bits(bits, field, err);
    if (rc == MIMIR_OK && skip > bits - MIMIR_COMPARE_BITS_MIN) /* bits >= 2: no wrap */
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, field, "%u low bits skipped of %u, expected "
                           "at most %u", skip, bits, bits - MIMIR_COMPARE_BITS_MIN);
    return rc;
}

/* --- less than zero ------------------------------------------------------------------------ */

/* The tree's levels over G and P (n elements x k slots each), in place. The operands of every
 * level's products are gathered into L and R (one pair of buffers, sized for the widest level
 * and reused: each level overwrites what it uses, and the buffers are wiped once, when freed);
 * the nodes of a level are listed once, so the gather and scatter loops touch only them. The
 * order of the products (element-major, nodes in plan order) is the protocol's: it fixes which
 * triple serves which product. */
static int carry_tree(mimir_spdz *s, const cplan *pl, mimir_sv *G, mimir_sv *P, size_t n,
                      mimir_err *err)
{
    size_t k = pl->k, mmax = 0;
    for (unsigned lv = 1; lv <= pl->depth; lv++)
        if (pl->per_level[lv] > mmax)
            mmax = pl->per_level[lv];
    mimir_sv Lb, Rb;
    memset(&Lb, 0, sizeof Lb);
    memset(&Rb, 0, sizeof Rb);
    int rc = alloc(s, &Lb, n * mmax, err);
    if (rc == MIMIR_OK)
        rc = alloc(s, &Rb, n * mmax, err);
    for (unsigned lv = 1; lv <= pl->depth && rc == MIMIR_OK; lv++) {
        cnode lvn[KMAX];
        unsigned nl = 0;
        for (unsigned t = 0; t < pl->nnodes; t++)
            if (pl->node[t].level == lv)
                lvn[nl++] = pl->node[t];
        mimir_sv L = view(&Lb, 0, n * pl->per_level[lv]), R = view(&Rb, 0, L.n);
        /* L = [G_lo (, P_lo)], R = [P_hi (, P_hi)] of every node of this level */
        for (int q = 0; q < narr(s); q++) {
            const mimir_r128 *g = arr(G, q), *p = arr(P, q);
            mimir_r128 *l = arr(&L, q), *r = arr(&R, q);
            size_t j = 0;
            for (size_t i = 0; i < n; i++, g += k, p += k)
                for (unsigned t = 0; t < nl; t++) {
                    l[j] = g[lvn[t].lo];
                    r[j++] = p[lvn[t].slot];
                    if (lvn[t].need_p) {
                        l[j] = p[lvn[t].lo];
                        r[j++] = p[lvn[t].slot];
                    }
                }
        }
        rc = mimir_spdz_mul(s, &L, &L, &R, err);
        /* G = G_hi + P_hi G_lo, P = P_hi P_lo, into the node's slot */
        for (int q = 0; q < narr(s) && rc == MIMIR_OK; q++) {
            mimir_r128 *g = arr(G, q), *p = arr(P, q);
            const mimir_r128 *l = arr(&L, q);
            size_t j = 0;
            for (size_t i = 0; i < n; i++, g += k, p += k)
                for (unsigned t = 0; t < nl; t++) {
                    g[lvn[t].slot] += l[j++];
                    if (lvn[t].need_p)
                        p[lvn[t].slot] = l[j++];
                }
        }
    }
    mimir_sv_free(&Lb);
    mimir_sv_free(&Rb);
    return rc;
}

/* Round 1 of both routes: opens c~ = x~ + 2^(k-1) + r~ (x and r of n elements) into c; cs (n
 * elements) and cnst (n words) are scratch the caller owns. */
static int open_c(mimir_spdz *s, mimir_r128 *c, mimir_sv *cs, mimir_r128 *cnst,
                  const mimir_sv *x, const mimir_sv *r, size_t k, mimir_err *err)
{
    size_t n = x->n;
    for (size_t i = 0; i < n; i++)
        cnst[i] = (mimir_r128)1 << (k - 1);
    int rc = mimir_spdz_add(s, cs, x, r, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_add_public(s, cs, cs, cnst, err);
    const mimir_sv *ov[1] = {cs};
    mimir_r128 *oo[1] = {c};
    return rc == MIMIR_OK ? mimir_spdz_open(s, 1, ov, oo, err) : rc;
}

/* --- less than zero in the binary domain ------------------------------------------------- */

/* a[i] bit j -> a[j] bit i (a 64 x 64 bit matrix transposed in place; the recursive block swap
 * of Warren, "Hacker's Delight", 7-3, on 64-bit rows). Data-independent: no branch or index
 * depends on the words. */
static void transpose64(uint64_t a[64])
{
    uint64_t m = 0x00000000FFFFFFFFULL;
    for (int j = 32; j != 0; j >>= 1, m ^= m << j)
        for (int k = 0; k < 64; k = (k + j + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k + j] ^= t;
            a[k] ^= t << j;
        }
}

/* Bit-slices n item words (word i: 64 bits of item i) into rows: row j (0..63), word w holds
 * bit j of items 64 w .. 64 w + 63 (bit i % 64 of the word); items past n are 0. rows holds
 * 64 * nw words (row j at j * nw). */
static void slice(uint64_t *rows, const uint64_t *items, size_t n, size_t nw)
{
    uint64_t blk[64];
    for (size_t w = 0; w < nw; w++) {
        size_t have = n - 64 * w < 64 ? n - 64 * w : 64;
        memcpy(blk, items + 64 * w, have * sizeof blk[0]);
        memset(blk + have, 0, (64 - have) * sizeof blk[0]);
        transpose64(blk);
        for (int j = 0; j < 64; j++)
            rows[(size_t)j * nw + w] = blk[j];
    }
    mimir_wipe(blk, sizeof blk);
}

/* The carry tree of lib/compare.c's plan on boolean rows: G and P hold pl->k rows of nw words
 * per component (slot t at t * nw); a node's G = G_H ^ (P_H & G_L) (the two terms are never
 * both 1: XOR is OR) and P = P_H & P_L, every level ONE mimir_spdz_and over all its gates. */
static int carry_tree_bits(mimir_spdz *s, const cplan *pl, mimir_bv *G, mimir_bv *P, size_t nw,
                           mimir_err *err)
{
    size_t mmax = 0;
    for (unsigned lv = 1; lv <= pl->depth; lv++)
        if (pl->per_level[lv] > mmax)
            mmax = pl->per_level[lv];
    mimir_bv Lb = {0}, Rb = {0};
    int rc = mimir_bv_alloc(&Lb, mmax * nw, err);
    if (rc == MIMIR_OK)
        rc = mimir_bv_alloc(&Rb, mmax * nw, err);
    for (unsigned lv = 1; lv <= pl->depth && rc == MIMIR_OK; lv++) {
        size_t m = pl->per_level[lv] * nw, j = 0;
        mimir_bv L = {m, {Lb.x[0], Lb.x[1]}, NULL}, R = {m, {Rb.x[0], Rb.x[1]}, NULL};
        for (unsigned t = 0; t < pl->nnodes; t++) {
            const cnode *nd = &pl->node[t];
            if (nd->level != lv)
                continue;
            for (int q = 0; q < 2; q++) {
                memcpy(L.x[q] + j, G->x[q] + nd->lo * nw, nw * sizeof(uint64_t));
                memcpy(R.x[q] + j, P->x[q] + nd->slot * nw, nw * sizeof(uint64_t));
                if (nd->need_p) {
                    memcpy(L.x[q] + j + nw, P->x[q] + nd->lo * nw, nw * sizeof(uint64_t));
                    memcpy(R.x[q] + j + nw, P->x[q] + nd->slot * nw, nw * sizeof(uint64_t));
                }
            }
            j += nw * (1 + (size_t)nd->need_p);
        }
        if ((rc = mimir_spdz_and(s, &L, &L, &R, err)) != MIMIR_OK)
            break;
        j = 0;
        for (unsigned t = 0; t < pl->nnodes; t++) {
            const cnode *nd = &pl->node[t];
            if (nd->level != lv)
                continue;
            for (int q = 0; q < 2; q++) {
                uint64_t *g = G->x[q] + nd->slot * nw, *p = P->x[q] + nd->slot * nw;
                const uint64_t *l = L.x[q] + j;
                for (size_t w = 0; w < nw; w++)
                    g[w] ^= l[w];
                if (nd->need_p)
                    memcpy(p, l + nw, nw * sizeof(uint64_t));
            }
            j += nw * (1 + (size_t)nd->need_p);
        }
    }
    mimir_bv_free(&Lb);
    mimir_bv_free(&Rb);
    return rc;
}

/* [x < 0] at width k = bits (leaves of bits skip-1 .. 0 left out) with a comparison mask
 * (docs/protocol.md, "Comparisons in the binary domain"):
 *  1. open c~ = x~ + 2^(k-1) + r~ (arithmetic, 1 round), as the arithmetic route does;
 *  2. the leaves of bits j = k-2 .. skip as boolean rows, bit-sliced over the elements: g_j =
 *     (NOT c_j) AND r_j, p_j = NOT (c_j XOR r_j), both local (c public);
 *  3. the carry tree on the rows: u = G of the root (depth ceil(log2 (k - 1 - skip)) rounds);
 *  4. b = [x < 0] = NOT (c_(k-1) XOR r_(k-1) XOR u), local;
 *  5. to arithmetic by the daBit (d boolean and MAC'd): open e = b XOR d (boolean, 1 round),
 *     [b] = e + [d] - 2 e [d], linear.
 * Opened: c~ (uniform), the AND gates' differences (uniform), e (b masked by the fresh uniform
 * d), and in the last word of every row the bits past n, which derive from zeros and public
 * constants only. */
static int ltz_binary(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                      unsigned skip, mimir_err *err)
{
    size_t n = x->n, k = bits, nl = bits - skip - 1, nw = (n + 63) / 64;
    mimir_prep *prep = mimir_spdz_prep(s);
    cplan pl;
    plan(&pl, (unsigned)nl);
    mimir_sv r = {0}, d = {0}, cs = {0};
    mimir_bv rb = {0}, db = {0}, G = {0}, P = {0}, B = {0};
    mimir_r128 *c = NULL, *cnst = NULL;
    uint64_t *rows = NULL, *crow = NULL, *e = NULL;
    int rc = mimir_prep_cmasks(prep, n, &r, &rb, &d, &db, err);
    if (rc != MIMIR_OK)
        goto done;
    if (r.n != n || d.n != n || rb.n != n || db.n != n) {
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "comparison masks of the wrong size");
        goto done;
    }
    if ((rc = alloc(s, &cs, n, err)) != MIMIR_OK ||
        (rc = mimir_bv_alloc(&G, nl * nw, err)) != MIMIR_OK ||
        (rc = mimir_bv_alloc(&P, nl * nw, err)) != MIMIR_OK ||
        (rc = mimir_bv_alloc(&B, nw, err)) != MIMIR_OK)
        goto done;
    c = malloc(n * sizeof *c);
    cnst = malloc(n * sizeof *cnst);
    rows = mimir_secret_alloc_overwritten(64 * nw * sizeof *rows);
    crow = malloc(64 * nw * sizeof *crow);
    e = malloc(nw * sizeof *e);
    if (c == NULL || cnst == NULL || rows == NULL || crow == NULL || e == NULL) {
        rc = oom(err);
        goto done;
    }
    /* round 1: c~ = x~ + 2^(k-1) + r~ */
    if ((rc = open_c(s, c, &cs, cnst, x, &r, k, err)) != MIMIR_OK)
        goto done;
    /* the public c's bits as rows (c is public: plain words) */
    uint64_t *cw = (uint64_t *)cnst; /* n words of room (cnst holds n 16-byte words) */
    for (size_t i = 0; i < n; i++)
        cw[i] = (uint64_t)c[i];
    slice(crow, cw, n, nw);
    /* the leaves and the top bit, per component: leaf l (slot l of the tree) is bit
     * j = k-2-l; NOT is applied by component 0's holders only */
    for (int q = 0; q < 2; q++) {
        const uint64_t flip = (mimir_spdz_party(s) + q) % 3 == 0 ? ~(uint64_t)0 : 0;
        slice(rows, rb.x[q], n, nw);
        for (size_t l = 0; l < nl; l++) {
            size_t j = k - 2 - l;
            const uint64_t *rr = rows + j * nw, *cc = crow + j * nw;
            uint64_t *g = G.x[q] + l * nw, *p = P.x[q] + l * nw;
            for (size_t w = 0; w < nw; w++) {
                g[w] = rr[w] & ~cc[w];
                p[w] = rr[w] ^ cc[w] ^ flip;
            }
        }
        /* B starts as r_(k-1) XOR NOT c_(k-1) */
        const uint64_t *rt = rows + (k - 1) * nw, *ct = crow + (k - 1) * nw;
        for (size_t w = 0; w < nw; w++)
            B.x[q][w] = rt[w] ^ (flip & ~ct[w]);
    }
    mimir_wipe(rows, 64 * nw * sizeof *rows);
    /* rounds 2 .. 1 + depth: u in slot 0 of G */
    if ((rc = carry_tree_bits(s, &pl, &G, &P, nw, err)) != MIMIR_OK)
        goto done;
    /* b = u XOR r_(k-1) XOR NOT c_(k-1); E = b XOR d (d from bit 0 of db, bit-sliced) */
    for (int q = 0; q < 2; q++) {
        for (size_t w = 0; w < nw; w++) {
            uint64_t dw = 0;
            size_t have = n - 64 * w < 64 ? n - 64 * w : 64;
            for (size_t t = 0; t < have; t++)
                dw |= (db.x[q][64 * w + t] & 1) << t;
            B.x[q][w] ^= G.x[q][w] ^ dw;
        }
    }
    if ((rc = mimir_spdz_open_bits(s, &B, e, err)) != MIMIR_OK)
        goto done;
    /* [b] = e + (1 - 2 e) [d] */
    for (size_t i = 0; i < n; i++) {
        mimir_r128 ei = (mimir_r128)((e[i / 64] >> (i % 64)) & 1);
        c[i] = 1 - 2 * ei;
        cnst[i] = ei;
    }
    if ((rc = mimir_spdz_mul_public(s, out, &d, c, err)) != MIMIR_OK ||
        (rc = mimir_spdz_add_public(s, out, out, cnst, err)) != MIMIR_OK)
        goto done;
done:
    free(c);
    free(cnst);
    mimir_secret_free(rows);
    free(crow);
    free(e);
    mimir_sv_free(&r);
    mimir_sv_free(&d);
    mimir_sv_free(&cs);
    mimir_bv_free(&rb);
    mimir_bv_free(&db);
    mimir_bv_free(&G);
    mimir_bv_free(&P);
    mimir_bv_free(&B);
    return rc;
}

/* [x < 0] at width bits, the leaves of bits skip-1 .. 0 left out (skip = 0: exact; the coarse
 * variant, lib/compare.h): kk = bits - skip leaves, slot t >= 1 is bit k-1-t. */
static int ltz_impl(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                    unsigned skip, mimir_err *err)
{
    if (x == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "no operand");
    int rc = check_skip(bits, skip, "ltz", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, x->n, "ltz", err);
    if (rc != MIMIR_OK)
        return rc;
    size_t n = x->n, k = bits, kk = bits - skip;
    if (n == 0)
        return MIMIR_OK;
    if (n > SIZE_MAX / (EBITS * 4 * sizeof(mimir_r128)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "%zu elements is too many", n);
    mimir_prep *prep = mimir_spdz_prep(s);
    if (prep != NULL && prep->binary)
        return ltz_binary(s, out, x, bits, skip, err);
    if (prep == NULL || prep->ops->edabits == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz",
                             "the preprocessing source gives no edaBits");
    cplan pl;
    plan(&pl, (unsigned)kk);
    mimir_sv r, eb, cs, G, P;
    memset(&r, 0, sizeof r);
    memset(&eb, 0, sizeof eb);
    memset(&cs, 0, sizeof cs);
    memset(&G, 0, sizeof G);
    memset(&P, 0, sizeof P);
    mimir_r128 *c = NULL, *coef = NULL, *cnst = NULL;
    rc = mimir_prep_edabits(prep, n, &r, &eb, err);
    if (rc != MIMIR_OK)
        goto done;
    if (r.n != n || eb.n != n * EBITS) {
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, "ltz", "edaBits of the wrong size");
        goto done;
    }
    if ((rc = alloc(s, &cs, n, err)) != MIMIR_OK || (rc = alloc(s, &G, n * kk, err)) != MIMIR_OK ||
        (rc = alloc(s, &P, n * kk, err)) != MIMIR_OK)
        goto done;
    c = malloc(n * sizeof *c);
    coef = malloc(n * sizeof *coef);
    cnst = malloc(n * kk * sizeof *cnst);
    if (c == NULL || coef == NULL || cnst == NULL) {
        rc = oom(err);
        goto done;
    }
    /* round 1: c~ = x~ + 2^(k-1) + r~ */
    if ((rc = open_c(s, c, &cs, cnst, x, &r, k, err)) != MIMIR_OK)
        goto done;
    mimir_sv_free(&r);
    /* the leaves: slot 0 holds r_(k-1), slot t >= 1 bit j = k-1-t; G = coefG r_j and
     * P = cnst + coefP r_j, with (coefG, coefP, cnst) = (1, -2, 1) for slot 0 and
     * (1 - c_j, 2 c_j - 1, 1 - c_j) for the others. coefG and coefP of the other slots are
     * 0/1 and +-1: applied as masks (all-zero or all-one words derived from the PUBLIC c, no
     * branch), one pass over the bits for both; the constant by one add_public. */
    for (int q = 0; q < narr(s); q++) {
        const mimir_r128 *b = arr(&eb, q);
        mimir_r128 *g = arr(&G, q), *p = arr(&P, q);
        for (size_t i = 0; i < n; i++, b += EBITS, g += kk, p += kk) {
            uint64_t c64 = (uint64_t)c[i];
            mimir_r128 top = b[k - 1];
            g[0] = top;
            p[0] = (mimir_r128)0 - 2 * top;
            for (size_t t = 1; t < kk; t++) {
                size_t j = k - 1 - t;
                mimir_r128 bj = b[j];
                mimir_r128 m = (mimir_r128)0 - (mimir_r128)(1 - ((c64 >> j) & 1)); /* c_j = 0 */
                g[t] = bj & m;        /* (1 - c_j) r_j */
                p[t] = (bj ^ m) - m;  /* c_j = 1: r_j; c_j = 0: -r_j */
            }
        }
    }
    mimir_sv_free(&eb);
    for (size_t i = 0; i < n; i++) {
        uint64_t c64 = (uint64_t)c[i];
        cnst[i * kk] = 1;
        for (size_t t = 1; t < kk; t++)
            cnst[i * kk + t] = 1 - (mimir_r128)((c64 >> (k - 1 - t)) & 1);
    }
    if ((rc = mimir_spdz_add_public(s, &P, &P, cnst, err)) != MIMIR_OK)
        goto done;
    /* rounds 2 .. 1 + depth: the root's G = r_(k-1) XOR u lands in slot 0 */
    if ((rc = carry_tree(s, &pl, &G, &P, n, err)) != MIMIR_OK)
        goto done;
    for (int q = 0; q < narr(s); q++) {
        const mimir_r128 *g = arr(&G, q);
        mimir_r128 *v = arr(&cs, q);
        for (size_t i = 0; i < n; i++)
            v[i] = g[i * kk];
    }
    /* [x < 0] = (1 - c_(k-1)) + (2 c_(k-1) - 1) G */
    for (size_t i = 0; i < n; i++) {
        mimir_r128 ck = (mimir_r128)(((uint64_t)c[i] >> (k - 1)) & 1);
        coef[i] = 2 * ck - 1;
        cnst[i] = 1 - ck;
    }
    if ((rc = mimir_spdz_mul_public(s, out, &cs, coef, err)) != MIMIR_OK ||
        (rc = mimir_spdz_add_public(s, out, out, cnst, err)) != MIMIR_OK)
        goto done;
done:
    free(c);
    free(coef);
    free(cnst);
    mimir_sv_free(&r);
    mimir_sv_free(&eb);
    mimir_sv_free(&cs);
    mimir_sv_free(&G);
    mimir_sv_free(&P);
    return rc;
}

int mimir_spdz_ltz_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                        mimir_err *err)
{
    return ltz_impl(s, out, x, bits, 0, err);
}

int mimir_spdz_ltz_coarse(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, unsigned bits,
                          unsigned skip, mimir_err *err)
{
    int rc = check_skip(bits, skip, "ltz", err);
    if (rc != MIMIR_OK)
        return rc;
    /* one more bit of width (below 64) moves the ends where a skip can err out of the range */
    return ltz_impl(s, out, x, MIMIR_COMPARE_COARSE_WIDTH(bits, skip), skip, err);
}

int mimir_spdz_ltz(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, mimir_err *err)
{
    return mimir_spdz_ltz_bits(s, out, x, MIMIR_COMPARE_BITS_MAX, err);
}

int mimir_spdz_lt_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                       unsigned bits, mimir_err *err)
{
    if (a == NULL || b == NULL || a->n != b->n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "lt", "operands missing or of different "
                             "sizes, expected two vectors of the same size");
    int rc = check_bits(bits, "lt", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, a->n, "lt", err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_sv d;
    if ((rc = alloc(s, &d, a->n, err)) != MIMIR_OK)
        return rc;
    rc = mimir_spdz_sub(s, &d, a, b, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_ltz_bits(s, out, &d, bits, err);
    mimir_sv_free(&d);
    return rc;
}

int mimir_spdz_lt(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                  mimir_err *err)
{
    return mimir_spdz_lt_bits(s, out, a, b, MIMIR_COMPARE_BITS_MAX, err);
}

int mimir_spdz_lt_public_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x,
                              const mimir_r128 *c, unsigned bits, mimir_err *err)
{
    if (x == NULL || (c == NULL && x->n > 0))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "lt_public", "no operand");
    int rc = check_bits(bits, "lt_public", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, x->n, "lt_public", err);
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
        rc = mimir_spdz_ltz_bits(s, out, &d, bits, err);
    free(neg);
    mimir_sv_free(&d);
    return rc;
}

int mimir_spdz_lt_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, const mimir_r128 *c,
                         mimir_err *err)
{
    return mimir_spdz_lt_public_bits(s, out, x, c, MIMIR_COMPARE_BITS_MAX, err);
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
                size_t len, unsigned bits, unsigned skip, mimir_err *err)
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
        /* bit = [L < R] = ltz(L - R), the difference in bit's arrays first */
        if ((rc = mimir_spdz_sub(s, &bit, &L, &R, err)) != MIMIR_OK ||
            (rc = ltz_impl(s, &bit, &bit, MIMIR_COMPARE_COARSE_WIDTH(bits, skip), skip, err)) !=
                MIMIR_OK)
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

int mimir_spdz_max_bits(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows,
                        size_t len, unsigned bits, mimir_err *err)
{
    int rc = check_rows(s, x, rows, len, "max", err);
    if (rc == MIMIR_OK)
        rc = check_bits(bits, "max", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, rows, "max", err);
    if (rc != MIMIR_OK || rows == 0)
        return rc;
    return tree(s, out, NULL, x, rows, len, bits, 0, err);
}

int mimir_spdz_max_coarse(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows,
                          size_t len, unsigned bits, unsigned skip, mimir_err *err)
{
    int rc = check_rows(s, x, rows, len, "max", err);
    if (rc == MIMIR_OK)
        rc = check_skip(bits, skip, "max", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, out, rows, "max", err);
    if (rc != MIMIR_OK || rows == 0)
        return rc;
    return tree(s, out, NULL, x, rows, len, bits, skip, err);
}

int mimir_spdz_max(mimir_spdz *s, mimir_sv *out, const mimir_sv *x, size_t rows, size_t len,
                   mimir_err *err)
{
    return mimir_spdz_max_bits(s, out, x, rows, len, MIMIR_COMPARE_BITS_MAX, err);
}

int mimir_spdz_argmax_bits(mimir_spdz *s, mimir_sv *onehot, mimir_sv *max, const mimir_sv *x,
                           size_t rows, size_t len, unsigned bits, mimir_err *err)
{
    int rc = check_rows(s, x, rows, len, "argmax", err);
    if (rc == MIMIR_OK)
        rc = check_bits(bits, "argmax", err);
    if (rc == MIMIR_OK)
        rc = check_out(s, onehot, x->n, "argmax onehot", err);
    if (rc == MIMIR_OK && max != NULL)
        rc = check_out(s, max, rows, "argmax max", err);
    if (rc != MIMIR_OK || rows == 0)
        return rc;
    return tree(s, max, onehot, x, rows, len, bits, 0, err);
}

int mimir_spdz_argmax(mimir_spdz *s, mimir_sv *onehot, mimir_sv *max, const mimir_sv *x,
                      size_t rows, size_t len, mimir_err *err)
{
    return mimir_spdz_argmax_bits(s, onehot, max, x, rows, len, MIMIR_COMPARE_BITS_MAX, err);
}
