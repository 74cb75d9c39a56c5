/*
 * test_snl.c — the secure nonlinear layers (lib/snl.h): three parties (threads) over TLS on Unix
 * sockets with the trusted dealer (one seed for all three: a simulation). For each function a
 * few hundred inputs over its documented range (and edge cases), outputs joined by
 * mimir_rss_join and compared with the plaintext twin (lib/approx.c, and copies of
 * lib/gpt2_fixed.c's static softmax_fixed and layernorm_fixed): the difference in units of the
 * last place must stay within the bound docs/numerics.md derives; the float error against
 * double precision is printed. Softmax rows of 1, 5 and 128, LayerNorm rows of 8 and 128.
 * Round counts per call equal the MIMIR_SNL_*_ROUNDS constants; semi-honest mode gives results
 * within the same bounds; bad arguments are refused with MIMIR_EINPUT.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approx.h"
#include "cluster.h"
#include "coin.h"
#include "compare.h"
#include "dealer.h"
#include "drbg.h"
#include "mem.h"
#include "net.h"
#include "prep.h"
#include "rss.h"
#include "snl.h"
#include "spdz.h"
#include "cluster3.h"
#include "tap.h"

#define FB 16                      /* the model's fractional bits */
#define FI MIMIR_APPROX_FRAC_BITS  /* internal precision */
#define LN_EPS 1e-5
#define MAXV 3                     /* input vectors per case: x, gain, bias */

enum { K_EXP, K_RECIP, K_RSQRT, K_GELU, K_SOFTMAX, K_LN };

typedef struct vec {
    size_t n;
    mimir_r64 *plain, *comp[3];
} vec;

typedef struct tcase {
    const char *name;
    int kind;
    size_t n, rows, len; /* elements; rows x len for softmax and LayerNorm */
    int p1, p2;          /* log2_max | log2_min, log2_max | recip_log2 | eps_log2 */
    unsigned out_bits;   /* fractional bits of the output */
    vec in[MAXV];
    mimir_r64 *want;     /* plaintext fixed point */
    double *exact;       /* double precision */
    double *bound;       /* allowed |secure - plaintext| per element, in output units */
} tcase;

enum { C_EXP, C_RECIP8, C_RECIP20, C_RSQRT, C_RSQRT_LN, C_GELU, C_SM1, C_SM5, C_SM128, C_LN8,
       C_LN128, NC };

#define CASE(nm, k, n_, r, l, a, b, bits)                                                         \
    {.name = nm, .kind = k, .n = n_, .rows = r, .len = l, .p1 = a, .p2 = b, .out_bits = bits}
static tcase cases[NC] = {
    [C_EXP] = CASE("exp", K_EXP, 300, 0, 0, 0, 0, FI),
    [C_RECIP8] = CASE("recip (log2_max 8)", K_RECIP, 200, 0, 0, 8, 0, FI),
    [C_RECIP20] = CASE("recip (log2_max 20)", K_RECIP, 200, 0, 0, 20, 0, FI),
    [C_RSQRT] = CASE("rsqrt (2^-20 .. 2^26)", K_RSQRT, 200, 0, 0, -20, 26, FI),
    [C_RSQRT_LN] = CASE("rsqrt (2^-17 .. 2^26)", K_RSQRT, 100, 0, 0, -17, 26, FI),
    [C_GELU] = CASE("gelu", K_GELU, 300, 0, 0, 0, 0, FB),
    [C_SM1] = CASE("softmax (len 1)", K_SOFTMAX, 4, 4, 1, 1, 0, FI),
    [C_SM5] = CASE("softmax (len 5)", K_SOFTMAX, 20, 4, 5, 4, 0, FI),
    [C_SM128] = CASE("softmax (len 128)", K_SOFTMAX, 384, 3, 128, 8, 0, FI),
    [C_LN8] = CASE("layernorm (d 8)", K_LN, 48, 6, 8, 0, 0, FB),
    [C_LN128] = CASE("layernorm (d 128)", K_LN, 256, 2, 128, 0, 0, FB),
};

static char dir[256];
static uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES];
static uint8_t coin_seed[3][MIMIR_COIN_SEED_BYTES];

typedef struct party {
    int self, semi;
    const char *json;
    int rc;
    mimir_err err;
    uint64_t rounds[NC];
    mimir_r64 *res[NC][2];
} party;

static party parties[3];

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* uniform in [lo, hi) */
static double unif(double lo, double hi)
{
    return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0;
}

static mimir_r64 enc(double x, unsigned f)
{
    return mimir_approx_const(x, f);
}

static double dec(mimir_r64 v, unsigned f)
{
    return mimir_fixed_decode(v, f);
}

/* ---- plaintext references: lib/gpt2_fixed.c's static layer functions, copied ---------------- */

static unsigned ceil_log2(uint64_t n)
{
    unsigned k = 0;
    while (((uint64_t)1 << k) < n)
        k++;
    return k;
}

static mimir_r64 div_public(mimir_r64 x, int n)
{
    unsigned s = 16 + ceil_log2((uint64_t)n);
    return mimir_fixed_trunc(x * mimir_approx_const(1.0 / n, s), s);
}

static mimir_r64 ln_eps(void)
{
    mimir_r64 e = mimir_approx_const(LN_EPS, FI);
    return e > 0 ? e : 1;
}

static int ln_eps_log2(void)
{
    int l = (int)floor(log2(LN_EPS));
    return l < MIMIR_APPROX_RSQRT_LOG2_MIN ? MIMIR_APPROX_RSQRT_LOG2_MIN : l;
}

/* gpt2_fixed.c layernorm_fixed with C = d, f = FB */
static void layernorm_fixed(mimir_r64 *out, const mimir_r64 *x, const mimir_r64 *w,
                            const mimir_r64 *b, int C)
{
    unsigned f = FB;
    mimir_r64 sum = 0, sumsq = 0;
    for (int i = 0; i < C; i++)
        sum += x[i];
    mimir_r64 mean = div_public(sum, C);
    for (int i = 0; i < C; i++) {
        mimir_r64 d = x[i] - mean;
        mimir_r64 dd = d * d;
        sumsq += 2 * f >= FI ? mimir_fixed_trunc(dd, 2 * f - FI) : dd << (FI - 2 * f);
    }
    mimir_r64 var = div_public(sumsq, C) + ln_eps();
    mimir_r64 rstd = mimir_approx_rsqrt(var, ln_eps_log2(), MIMIR_APPROX_RSQRT_LOG2_MAX);
    for (int i = 0; i < C; i++) {
        mimir_r64 n = mimir_fixed_trunc((x[i] - mean) * rstd, FI);
        out[i] = mimir_fixed_trunc(n * w[i], f) + b[i];
    }
}

/* gpt2_fixed.c softmax_fixed with f = FB, recip_log2 given, out of place */
static void softmax_fixed(mimir_r64 *out, const mimir_r64 *att, int T, unsigned recip_log2)
{
    mimir_r64 max = att[0], sum = 0;
    for (int t = 1; t < T; t++)
        max = mimir_approx_select(mimir_approx_lt(max, att[t]), att[t], max);
    for (int t = 0; t < T; t++) {
        out[t] = mimir_approx_exp(att[t] - max, FB);
        sum += out[t];
    }
    mimir_r64 inv = mimir_approx_recip(sum, recip_log2);
    for (int t = 0; t < T; t++)
        out[t] = mimir_fixed_trunc(out[t] * inv, FI);
}

static double gelu_exact(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

/* ---- inputs and expected values ------------------------------------------------------------- */

static void vec_alloc(vec *v, size_t n)
{
    v->n = n;
    v->plain = calloc(n, sizeof(mimir_r64));
    for (int p = 0; p < 3; p++)
        v->comp[p] = calloc(n, sizeof(mimir_r64));
}

static void make_inputs(void)
{
    for (int c = 0; c < NC; c++) {
        tcase *t = &cases[c];
        vec_alloc(&t->in[0], t->n);
        t->want = calloc(t->n, sizeof(mimir_r64));
        t->exact = calloc(t->n, sizeof(double));
        mimir_r64 *x = t->in[0].plain;
        for (size_t j = 0; j < t->n; j++) {
            switch (t->kind) {
            case K_EXP: { /* [-20, 0] with the cut's edges and 0 */
                /* ... and the design range's end: x > -2^15 (MIMIR_SNL_EXP_CMP_BITS) */
                static const double edge[] = {0,   -16,   -16.0 - 1.0 / 65536, -15.99,
                                              -20, -1e-5, -32768.0 + 1.0 / 65536, -1000};
                x[j] = j < 8 ? enc(edge[j], FB) : enc(unif(-20, 0), FB);
                break;
            }
            case K_RECIP: { /* log-uniform on [1, 2^log2_max], octave edges */
                int L = t->p1;
                double v = j < 3 ? (double[]){1.0, ldexp(1.0, L), 2.0}[j] : exp2(unif(0, L));
                x[j] = enc(v, FI);
                if (j >= 3 && j < 3 + (size_t)L)
                    x[j] = enc(ldexp(1.0, (int)(j - 3)), FI) - (j % 2); /* 2^k and just below */
                break;
            }
            case K_RSQRT: {
                double v = j < 2 ? ldexp(1.0, j ? t->p2 : t->p1) : exp2(unif(t->p1, t->p2));
                x[j] = enc(v, FI);
                break;
            }
            case K_GELU: { /* [-8, 8], a few large values, the edges at +-4 and 0 */
                /* ... and the design range's ends, |x| < 2^14 (MIMIR_SNL_GELU_CMP_BITS) */
                static const double edge[] = {0,
                                              4,
                                              -4,
                                              4.0 - 1.0 / 65536,
                                              -4.0 + 1.0 / 65536,
                                              100,
                                              -100,
                                              1.0 / 65536,
                                              -1.0 / 65536,
                                              16384.0 - 1.0 / 65536,
                                              -16384.0 + 1.0 / 65536};
                x[j] = j < 11 ? enc(edge[j], FB) : enc(unif(-8, 8), FB);
                break;
            }
            case K_SOFTMAX: { /* logits in [-12, 12]; row 1 spread to [-40, 10]; row 2 ties */
                size_t r = j / t->len;
                x[j] = r == 1 ? enc(unif(-40, 10), FB) : r == 2 ? enc(j % 2 ? 3.0 : -1.5, FB)
                                                                : enc(unif(-12, 12), FB);
                break;
            }
            case K_LN: { /* [-4, 4] + r; odd rows 0.75 + 0..2 units: eps dominates */
                size_t r = j / t->len;
                x[j] = r % 2 ? enc(0.75, FB) + rnd() % 3 : enc(unif(-4, 4) + r, FB);
                break;
            }
            }
        }
        if (t->kind == K_LN) {
            vec_alloc(&t->in[1], t->len);
            vec_alloc(&t->in[2], t->len);
            for (size_t j = 0; j < t->len; j++) {
                t->in[1].plain[j] = enc(unif(0.5, 1.5), FB);
                t->in[2].plain[j] = enc(unif(-0.5, 0.5), FB);
            }
        }
        /* expected values */
        for (size_t j = 0; j < t->n; j++) {
            switch (t->kind) {
            case K_EXP: {
                double xv = dec(x[j], FB);
                t->want[j] = mimir_approx_exp(x[j], FB);
                t->exact[j] = exp(xv);
                break;
            }
            case K_RECIP:
                t->want[j] = mimir_approx_recip(x[j], (unsigned)t->p1);
                t->exact[j] = 1.0 / dec(x[j], FI);
                break;
            case K_RSQRT:
                t->want[j] = mimir_approx_rsqrt(x[j], t->p1, t->p2);
                t->exact[j] = 1.0 / sqrt(dec(x[j], FI));
                break;
            case K_GELU:
                t->want[j] = mimir_approx_gelu(x[j], FB);
                t->exact[j] = gelu_exact(dec(x[j], FB));
                break;
            default:
                break;
            }
        }
        for (size_t r = 0; r < t->rows && t->kind == K_SOFTMAX; r++) {
            size_t L = t->len;
            softmax_fixed(t->want + r * L, x + r * L, (int)L, (unsigned)t->p1);
            double mx = -1e300, sum = 0;
            for (size_t k = 0; k < L; k++)
                mx = fmax(mx, dec(x[r * L + k], FB));
            for (size_t k = 0; k < L; k++)
                sum += exp(dec(x[r * L + k], FB) - mx);
            for (size_t k = 0; k < L; k++)
                t->exact[r * L + k] = exp(dec(x[r * L + k], FB) - mx) / sum;
        }
        for (size_t r = 0; r < t->rows && t->kind == K_LN; r++) {
            size_t d = t->len;
            const mimir_r64 *xr = x + r * d, *g = t->in[1].plain, *b = t->in[2].plain;
            layernorm_fixed(t->want + r * d, xr, g, b, (int)d);
            double mean = 0, var = 0;
            for (size_t k = 0; k < d; k++)
                mean += dec(xr[k], FB) / (double)d;
            for (size_t k = 0; k < d; k++)
                var += (dec(xr[k], FB) - mean) * (dec(xr[k], FB) - mean) / (double)d;
            for (size_t k = 0; k < d; k++)
                t->exact[r * d + k] = (dec(xr[k], FB) - mean) / sqrt(var + LN_EPS) *
                                          dec(g[k], FB) + dec(b[k], FB);
        }
    }
    mimir_drbg d;
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    mimir_drbg_from_seed(&d, seed, sizeof seed, "test-snl-split");
    mimir_rss_rng rng = mimir_rss_rng_drbg(&d);
    for (int c = 0; c < NC; c++)
        for (int k = 0; k < MAXV; k++) {
            vec *v = &cases[c].in[k];
            if (v->plain == NULL)
                continue;
            void *comp[3] = {v->comp[0], v->comp[1], v->comp[2]};
            mimir_err err = {0};
            if (mimir_rss_split(64, v->plain, v->n, &rng, comp, &err) != MIMIR_OK)
                fprintf(stderr, "split failed: %s\n", err.msg);
        }
    memset(dealer_seed, 0x5a, sizeof dealer_seed);
    for (int i = 0; i < 3; i++)
        memset(coin_seed[i], 0x30 + i, sizeof coin_seed[i]);
}

/* ---- one party ------------------------------------------------------------------------------ */

#define TRY(x)                                                                                    \
    do {                                                                                          \
        if ((rc = (x)) != MIMIR_OK)                                                               \
            goto out;                                                                             \
    } while (0)

static int run_case(party *me, mimir_spdz *s, mimir_net *net, int c, mimir_err *err)
{
    tcase *t = &cases[c];
    int rc = MIMIR_OK, i = me->self;
    mimir_sv in[MAXV], o = {0};
    memset(in, 0, sizeof in);
    for (int k = 0; k < MAXV; k++) {
        if (t->in[k].plain == NULL)
            continue;
        const mimir_r64 *const cc[2] = {t->in[k].comp[i], t->in[k].comp[(i + 1) % 3]};
        TRY(mimir_spdz_input_shares(s, cc, t->in[k].n, &in[k], err));
    }
    TRY(mimir_sv_alloc(&o, t->n, mimir_spdz_macs(s), err));
    uint64_t r0 = mimir_net_rounds(net);
    switch (t->kind) {
    case K_EXP:
        rc = mimir_snl_exp(s, &o, &in[0], FB, err);
        break;
    case K_RECIP:
        rc = mimir_snl_recip(s, &o, &in[0], (unsigned)t->p1, err);
        break;
    case K_RSQRT:
        rc = mimir_snl_rsqrt(s, &o, &in[0], t->p1, t->p2, err);
        break;
    case K_GELU: /* in place: out aliases x */
        rc = mimir_snl_gelu(s, &in[0], &in[0], FB, err);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_add(s, &o, &o, &in[0], err);
        break;
    case K_SOFTMAX:
        rc = mimir_snl_softmax(s, &o, &in[0], t->rows, t->len, FB, (unsigned)t->p1, err);
        break;
    case K_LN:
        rc = mimir_snl_layernorm(s, &o, &in[0], &in[1], &in[2], t->rows, t->len, FB, ln_eps(),
                                 ln_eps_log2(), err);
        break;
    }
    me->rounds[c] = mimir_net_rounds(net) - r0;
    if (rc != MIMIR_OK)
        goto out;
    for (int k = 0; k < 2; k++)
        me->res[c][k] = calloc(t->n, sizeof(mimir_r64));
    mimir_r64 *const oc[2] = {me->res[c][0], me->res[c][1]};
    TRY(mimir_spdz_output(s, &o, oc, err));
out:
    for (int k = 0; k < MAXV; k++)
        mimir_sv_free(&in[k]);
    mimir_sv_free(&o);
    return rc;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_coin *coin = NULL;
    mimir_dealer *dl = NULL;
    mimir_spdz *s = NULL;
    mimir_err *e = &me->err;
    int rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 e);
    if (rc == MIMIR_OK)
        rc = mimir_net_open(cl, NULL, &net, e);
    if (rc == MIMIR_OK) {
        mimir_coin_opts o = {coin_seed[me->self], 0};
        rc = mimir_coin_toss(net, &o, &coin, e);
    }
    if (rc == MIMIR_OK)
        rc = mimir_dealer_new(dealer_seed, me->self, !me->semi, &dl, e);
    if (rc == MIMIR_OK) {
        mimir_r128 alpha[2];
        mimir_dealer_alpha(dl, alpha);
        mimir_spdz_opts so;
        memset(&so, 0, sizeof so);
        so.semi_honest = me->semi;
        rc = mimir_spdz_new(net, coin, mimir_dealer_prep(dl), alpha, &so, &s, e);
        mimir_wipe(alpha, sizeof alpha);
    }
    for (int c = 0; c < NC && rc == MIMIR_OK; c++)
        rc = run_case(me, s, net, c, e);
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, e);
    me->rc = rc;
    mimir_spdz_free(s);
    mimir_dealer_free(dl);
    mimir_coin_free(coin);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return NULL;
}

static void reset_parties(void)
{
    for (int i = 0; i < 3; i++) {
        for (int c = 0; c < NC; c++)
            for (int k = 0; k < 2; k++)
                free(parties[i].res[c][k]);
        memset(&parties[i], 0, sizeof parties[i]);
    }
}

static void run(int semi)
{
    static int runs;
    char addr[3][200], tag[16], json[4096];
    snprintf(tag, sizeof tag, "r%d.", ++runs);
    cluster3_addresses(addr, "unix", dir, tag);
    cluster3_json(json, sizeof json, "00112233445566778899aabbccddeeff", addr);
    reset_parties();
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        parties[i].self = i;
        parties[i].json = json;
        parties[i].semi = semi;
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

/* ---- checks --------------------------------------------------------------------------------- */

static int join(int c, mimir_r64 *x)
{
    mimir_rss_view v[3];
    for (int i = 0; i < 3; i++) {
        v[i].party = i;
        v[i].c[0] = parties[i].res[c][0];
        v[i].c[1] = parties[i].res[c][1];
        v[i].name = NULL;
        if (v[i].c[0] == NULL)
            return -1;
    }
    mimir_err err = {0};
    return mimir_rss_join(64, cases[c].n, v, 3, x, &err) == MIMIR_OK ? 0 : -1;
}

static uint64_t want_rounds(int c)
{
    const tcase *t = &cases[c];
    switch (t->kind) {
    case K_EXP:
        return MIMIR_SNL_EXP_ROUNDS(FB);
    case K_RECIP:
        return MIMIR_SNL_RECIP_ROUNDS(t->p1);
    case K_RSQRT:
        return MIMIR_SNL_RSQRT_ROUNDS(t->p2);
    case K_GELU:
        return MIMIR_SNL_GELU_ROUNDS(FB);
    case K_SOFTMAX: {
        uint64_t max = MIMIR_SNL_MAX_TREE_ROUNDS(ceil_log2(t->len), FB);
        uint64_t r = MIMIR_SNL_SOFTMAX_ROUNDS(max, FB, t->p1);
        /* recip without comparisons when recip_log2 < 1 */
        return t->p1 >= 1 ? r : r - MIMIR_SNL_LTZ_ROUNDS(MIMIR_SNL_RECIP_CMP_BITS(t->p1));
    }
    default:
        return MIMIR_SNL_LAYERNORM_ROUNDS;
    }
}

/* Per-element bounds on |secure - plaintext| in output units (docs/numerics.md). Each
 * truncation differs from the plaintext's floor by less than 2 units (floor + {0, 1} of a
 * slightly different operand, against floor), so a bound is 2 x the sum over truncations of
 * |d output / d truncation| (first order, evaluated along the plaintext path):
 *  exp 2 x 63, gelu 2 x 2.05 (sensitivities: docs/numerics.md's script);
 *  recip: per Newton step 2 (y + 1); rsqrt: per step 2 (y^2/2 + y/2 + 1); MIMIR_APPROX_NEWTON_ITERS steps
 *  (Newton's self-correction is not counted on: it cannot see a change of y below the
 *  resolution of v y, which is what limits rsqrt for small v);
 *  softmax and LayerNorm: the chain of their steps with the bounds above. */
#define B_EXP 126.0
#define B_GELU 4.1
static double b_recip(double y) { return MIMIR_APPROX_NEWTON_ITERS * 2 * (y + 1); }
static double b_rsqrt(double y) { return MIMIR_APPROX_NEWTON_ITERS * 2 * (y * y / 2 + y / 2 + 1); }

static void make_bounds(void)
{
    const double uF = ldexp(1.0, -FI), uf = ldexp(1.0, -FB);
    for (int c = 0; c < NC; c++) {
        tcase *t = &cases[c];
        t->bound = calloc(t->n, sizeof(double));
        const mimir_r64 *x = t->in[0].plain;
        for (size_t j = 0; j < t->n; j++) {
            double y = dec(t->want[j], t->out_bits);
            t->bound[j] = t->kind == K_EXP     ? B_EXP
                          : t->kind == K_GELU  ? B_GELU
                          : t->kind == K_RECIP ? b_recip(y)
                                               : b_rsqrt(y);
            /* GELU's coarse comparisons may take either side within 1/16 of x = 0 and |x| = 4,
             * where the two branches differ from each other by at most 9.5e-5 (docs/numerics.md,
             * "Coarse comparisons") */
            double ax = fabs(dec(x[j], FB));
            if (t->kind == K_GELU && (ax < 1.0 / 16 || fabs(ax - 4) < 1.0 / 16))
                t->bound[j] += 9.5e-5 / uf + 1;
        }
        for (size_t r = 0; r < t->rows && t->kind == K_SOFTMAX; r++) {
            /* p_j = e_j inv: inv B_EXP + e_j (inv^2 len B_EXP + b_recip(inv)) + 2 */
            size_t L = t->len;
            double mx = -1e300, sum = 0;
            for (size_t k = 0; k < L; k++)
                mx = fmax(mx, dec(x[r * L + k], FB));
            for (size_t k = 0; k < L; k++)
                sum += exp(dec(x[r * L + k], FB) - mx);
            double inv = 1.01 / sum; /* 1 % for exp's approximation error */
            for (size_t k = 0; k < L; k++) {
                double e = 1.01 * exp(dec(x[r * L + k], FB) - mx);
                t->bound[r * L + k] = inv * B_EXP + e * (inv * inv * L * B_EXP + b_recip(inv)) + 2;
            }
        }
        for (size_t r = 0; r < t->rows && t->kind == K_LN; r++) {
            /* mean, dc: < 2 uf; squares, variance; rstd; n = dc rstd; out = n g + b */
            size_t d = t->len;
            const mimir_r64 *xr = x + r * d, *g = t->in[1].plain;
            double mean = 0, var = 0, dvar = 0;
            for (size_t k = 0; k < d; k++)
                mean += dec(xr[k], FB) / (double)d;
            for (size_t k = 0; k < d; k++) {
                double dc = fabs(dec(xr[k], FB) - mean) + 2 * uf;
                var += (dc - 2 * uf) * (dc - 2 * uf) / (double)d;
                dvar += (2 * dc * 2 * uf + 2 * uF) / (double)d;
            }
            dvar += 2 * uF;
            double rstd = 1.0 / sqrt(var + LN_EPS);
            double drstd = 0.5 * pow(rstd, 3) * dvar + b_rsqrt(rstd * 1.01) * uF;
            for (size_t k = 0; k < d; k++) {
                double dc = fabs(dec(xr[k], FB) - mean) + 2 * uf;
                double dn = rstd * 2 * uf + dc * drstd + 2 * uf;
                t->bound[r * d + k] = (fabs(dec(g[k], FB)) * dn + 2 * uf) / uf;
            }
        }
    }
}

static void check_run(const char *mode)
{
    int ok = parties[0].rc == MIMIR_OK && parties[1].rc == MIMIR_OK &&
             parties[2].rc == MIMIR_OK;
    CHECK(ok, "%s: the three parties ran every function (rc %d %d %d: %s: %s)", mode,
          parties[0].rc, parties[1].rc, parties[2].rc, parties[0].err.field, parties[0].err.msg);
    if (!ok)
        return;
    for (int c = 0; c < NC; c++) {
        tcase *t = &cases[c];
        mimir_r64 *got = calloc(t->n, sizeof *got);
        int jok = join(c, got) == 0;
        int64_t maxd = 0;
        double ferr = 0, fwant = 0, rel = 0, ratio = 0;
        for (size_t j = 0; jok && j < t->n; j++) {
            int64_t dlt = (int64_t)(got[j] - t->want[j]);
            dlt = dlt < 0 ? -dlt : dlt;
            maxd = dlt > maxd ? dlt : maxd;
            ratio = fmax(ratio, (double)dlt / t->bound[j]);
            double e = fabs(dec(got[j], t->out_bits) - t->exact[j]);
            ferr = fmax(ferr, e);
            fwant = fmax(fwant, fabs(dec(t->want[j], t->out_bits) - t->exact[j]));
            if (t->exact[j] != 0)
                rel = fmax(rel, e / fabs(t->exact[j]));
        }
        CHECK(jok && ratio <= 1.0, "%s: %s: |secure - plaintext| within the derived bound of "
              "every element (max %lld units, at most %.2f of its bound, %zu elements)", mode,
              t->name, (long long)maxd, ratio, t->n);
        printf("# %s: %s: max abs error against double %.3g (plaintext fixed point %.3g), "
               "max relative %.3g\n", mode, t->name, ferr, fwant, rel);
        uint64_t wr = want_rounds(c);
        int rok = 1;
        for (int i = 0; i < 3; i++)
            rok &= parties[i].rounds[c] == wr;
        CHECK(rok, "%s: %s spends %llu rounds (parties: %llu %llu %llu)", mode, t->name,
              (unsigned long long)wr, (unsigned long long)parties[0].rounds[c],
              (unsigned long long)parties[1].rounds[c], (unsigned long long)parties[2].rounds[c]);
        free(got);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "tests/tmp/snl.XXXXXX");
    if (cluster3_setup(dir, "test_snl") != 0)
        return 1;
    make_inputs();
    make_bounds();
    run(0);
    check_run("malicious");
    run(1);
    check_run("semi-honest");

    /* the comparison widths of the design ranges (snl.h) at f = 16, and what they cost */
    CHECK(MIMIR_SNL_GELU_CMP_BITS(16) == 31 && MIMIR_SNL_EXP_CMP_BITS(16) == 32 &&
              MIMIR_SNL_MAX_CMP_BITS(16) == 32 && MIMIR_SNL_RECIP_CMP_BITS(8) == 33 &&
              MIMIR_SNL_RSQRT_CMP_BITS(26) == 51 && MIMIR_SNL_MAX_CMP_BITS(24) == 40,
          "comparison widths: GELU 31, exp and max 32 bits at f = 16, recip (2^8) 33, rsqrt "
          "(2^26) 51, max at f = 24 40 (got %u %u %u %u %u %u)", MIMIR_SNL_GELU_CMP_BITS(16),
          MIMIR_SNL_EXP_CMP_BITS(16), MIMIR_SNL_MAX_CMP_BITS(16), MIMIR_SNL_RECIP_CMP_BITS(8),
          MIMIR_SNL_RSQRT_CMP_BITS(26), MIMIR_SNL_MAX_CMP_BITS(24));
    CHECK(MIMIR_SNL_GELU_ROUNDS(16) == 35 && MIMIR_SNL_EXP_ROUNDS(16) == 26 &&
              mimir_compare_ltz_triples(MIMIR_SNL_GELU_CMP_BITS(16)) <= 57,
          "GELU 35 rounds (was 37 at 64 bits), exp 26 (was 27), GELU's comparisons at most 57 "
          "triples each (got %d, %d, %u)", MIMIR_SNL_GELU_ROUNDS(16), MIMIR_SNL_EXP_ROUNDS(16),
          mimir_compare_ltz_triples(MIMIR_SNL_GELU_CMP_BITS(16)));

    /* bad arguments: refused before any round (no engine needed to reach the checks) */
    mimir_err err = {0};
    mimir_sv a = {0}, b = {0};
    mimir_sv_alloc(&a, 4, 1, &err);
    mimir_sv_alloc(&b, 3, 1, &err);
    mimir_spdz *s = (mimir_spdz *)&a; /* never dereferenced: every call fails its checks */
    CHECK(mimir_snl_exp(s, &b, &a, FB, &err) == MIMIR_EINPUT, "exp: sizes that differ are "
          "refused (%s)", err.msg);
    CHECK(mimir_snl_exp(s, &a, &a, 25, &err) == MIMIR_EINPUT, "exp: f = 25 > F is refused");
    CHECK(mimir_snl_recip(s, &a, &a, 21, &err) == MIMIR_EINPUT, "recip: log2_max 21 is refused");
    CHECK(mimir_snl_rsqrt(s, &a, &a, -21, 26, &err) == MIMIR_EINPUT &&
              mimir_snl_rsqrt(s, &a, &a, 3, 3, &err) == MIMIR_EINPUT,
          "rsqrt: a range below 2^-20 or empty is refused");
    CHECK(mimir_snl_gelu(s, &a, NULL, FB, &err) == MIMIR_EINPUT, "gelu: no operand is refused");
    CHECK(mimir_snl_softmax(s, &a, &a, 3, 2, FB, 4, &err) == MIMIR_EINPUT,
          "softmax: rows x len != n is refused");
    CHECK(mimir_snl_layernorm(s, &a, &a, &b, &b, 1, 4, FB, 1, -17, &err) == MIMIR_EINPUT,
          "layernorm: a gain of the wrong size is refused (%s)", err.msg);
    mimir_sv_free(&a);
    mimir_sv_free(&b);

    reset_parties();
    for (int c = 0; c < NC; c++) {
        for (int k = 0; k < MAXV; k++) {
            free(cases[c].in[k].plain);
            for (int p = 0; p < 3; p++)
                free(cases[c].in[k].comp[p]);
        }
        free(cases[c].want);
        free(cases[c].exact);
        free(cases[c].bound);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tap_done();
}
