/*
 * test_compare.c — secure comparisons (lib/compare.h): three parties (threads) over TLS on
 * loopback, preprocessing (triples and edaBits) from the trusted dealer. ltz on edge values and
 * random ones; lt equal to mimir_approx_lt on 1000 random pairs (full 64-bit values, wrapping
 * included); lt_public; select equal to mimir_approx_select; row-wise max and argmax (lengths
 * 1, 2, 3, 7, 96, 128, with ties: the one-hot marks the first maximum, as the plaintext
 * argmax); round counts; the semi-honest mode gives the same results; a flipped word in an open
 * of ltz (the masked c, or a Beaver difference of the carry tree) is caught by the check.
 * Bounded widths (ltz_bits and friends): for widths 2 .. 64, ltz_bits equals mimir_approx_lt on
 * the edges +-(2^(bits-1) - 1), -2^(bits-1), 0, +-1 and random values of the valid range, and
 * out-of-range values give the documented wrong bit (the sign of x mod 2^bits); lt_bits and
 * lt_public_bits on pairs whose difference is in range (the operands themselves are not);
 * max_bits and argmax_bits on rows with ties; rounds and triples per call asserted. Coarse
 * comparisons (ltz_coarse, max_coarse): exact away from the threshold, a bit near it, the
 * narrower tree's costs; a coarse max is an element of its row close to the maximum.
 * MIMIR_COMPARE_BENCH=1 also times a 1 x 50257 argmax at 64 and at 32 bits.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "approx.h"
#include "cluster.h"
#include "coin.h"
#include "compare.h"
#include "dealer.h"
#include "mem.h"
#include "net.h"
#include "rss.h"
#include "spdz.h"
#include "cluster3.h"
#include "tap.h"

#define NLT 1000 /* random pairs for lt */
#define ROWS 3   /* rows of each max / argmax batch */
#define NFAULT 4

static const size_t lens[] = {1, 2, 3, 7, 96, 128};
#define NLEN (sizeof lens / sizeof lens[0])

/* bounded widths: ltz_bits at each width, lt_bits / lt_public_bits at one, trees at two */
static const unsigned widths[] = {2, 3, 8, 16, 24, 32, 40, 48, 63, 64};
#define NW (sizeof widths / sizeof widths[0])
#define NWV 60     /* values per width: 6 edges, 46 in range, 8 out of range */
#define NWOUT 8
#define LT_BITS 32 /* lt_bits: pairs with |a - b| < 2^31, operands anywhere */
#define LTP_BITS 24
static const struct {
    unsigned bits;
    size_t len;
} bm[] = {{16, 5}, {16, 128}, {32, 33}, {32, 128}};
#define NBM (sizeof bm / sizeof bm[0])
/* coarse comparisons (ltz_coarse): widths and skipped low bits; a coarse max tree */
static const struct {
    unsigned bits, skip;
} co[] = {{31, 12}, {32, 8}, {64, 16}, {20, 18}, {40, 1}};
#define NCO (sizeof co / sizeof co[0])
#define NCV 80 /* values per case: 8 edges, 52 exact-range values, 20 with |x| < 2^skip */
#define NCVNEAR 20
#define CM_BITS 32
#define CM_SKIP 8
#define CM_LEN 96

/* inputs (the SC_ALL scenario enters [0, NIN_ALL), SC_BITS [NIN_ALL, NIN)) */
enum { IN_Z, IN_A, IN_B, IN_M0, NIN_ALL = IN_M0 + NLEN, IN_W0 = NIN_ALL, IN_BA = IN_W0 + NW,
       IN_BB, IN_BP, IN_BM0, IN_C0 = IN_BM0 + NBM, IN_CM = IN_C0 + NCO, NIN };
/* outputs */
enum { R_LTZ, R_LT, R_LTP, R_SEL, R_MAX0, R_OH0 = R_MAX0 + NLEN, R_AMAX0 = R_OH0 + NLEN,
       R_W0 = R_AMAX0 + NLEN, R_BLT = R_W0 + NW, R_BLTP, R_BMAX0, R_BOH0 = R_BMAX0 + NBM,
       R_C0 = R_BOH0 + NBM, R_CM = R_C0 + NCO, NRES };
/* round counts */
enum { RD_LTZ, RD_LT, RD_SEL, RD_MAX0, RD_ARG0 = RD_MAX0 + NLEN, RD_W0 = RD_ARG0 + NLEN,
       RD_BLT = RD_W0 + NW, RD_BLTP, RD_BM0, RD_BA0 = RD_BM0 + NBM, RD_C0 = RD_BA0 + NBM,
       RD_CM = RD_C0 + NCO, NRD };

static const int64_t edge[] = {0, -1, 1, 2, -2, (int64_t)1 << 62, -((int64_t)1 << 62),
                               ((int64_t)1 << 62) - 1, -((int64_t)1 << 62) + 1, INT64_MAX,
                               -INT64_MAX, INT64_MIN, 65536, -65536, (int64_t)1 << 32,
                               -((int64_t)1 << 32), ((int64_t)1 << 31) - 1};
#define NEDGE (sizeof edge / sizeof edge[0])
#define NZ (NEDGE + 300)

static char dir[256];
static size_t in_n[NIN];
static struct {
    mimir_r64 *plain;
    mimir_r64 *comp[3];
} in[NIN];
static mimir_r128 thresholds[NLT];
static uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES];
static int g_binary; /* comparisons in the binary domain (the dealer's binary flag) */
static uint8_t coin_seed[3][MIMIR_COIN_SEED_BYTES];

enum { SC_ALL, SC_FAULT, SC_BENCH, SC_BITS };
#define BENCH_VOCAB 50257 /* GPT-2's vocabulary: the argmax of one generation step */

typedef struct party {
    int self, scenario, semi;
    const char *json;
    mimir_spdz_fault fault;
    int rc;
    mimir_err err;
    uint64_t rounds[NRD];
    uint64_t triples, edabits, cmasks, btriples;
    uint64_t call_triples[NRD]; /* SC_BITS: triples taken by the call */
    uint64_t call_btriples[NRD]; /* SC_BITS: boolean triple words taken by the call */
    mimir_dealer *dl;
    double bench_ms[2];         /* SC_BENCH: argmax at 64 bits, at 32 bits */
    uint64_t bench_rounds[2], bench_triples[2];
    size_t res_n[NRES];
    mimir_r64 *res[NRES][2];
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

#define TRY(x)                                                                                 \
    do {                                                                                       \
        if ((rc = (x)) != MIMIR_OK)                                                            \
            goto out;                                                                          \
    } while (0)

static int alloc(mimir_spdz *s, mimir_sv *v, size_t n, mimir_err *err)
{
    return mimir_sv_alloc(v, n, mimir_spdz_macs(s), err);
}

static int output(party *me, mimir_spdz *s, int r, const mimir_sv *v, mimir_err *err)
{
    me->res_n[r] = v->n;
    for (int k = 0; k < 2; k++)
        me->res[r][k] = calloc(v->n ? v->n : 1, sizeof(mimir_r64));
    mimir_r64 *const c[2] = {me->res[r][0], me->res[r][1]};
    return mimir_spdz_output(s, v, c, err);
}

static int input(party *me, mimir_spdz *s, int k, mimir_sv *out, mimir_err *err)
{
    int i = me->self;
    const mimir_r64 *const c[2] = {in[k].comp[i], in[k].comp[(i + 1) % 3]};
    return mimir_spdz_input_shares(s, c, in_n[k], out, err);
}

static int all(party *me, mimir_spdz *s, mimir_net *net, mimir_err *err)
{
    int rc = MIMIR_OK;
    mimir_sv x[NIN], r[NRES];
    memset(x, 0, sizeof x);
    memset(r, 0, sizeof r);
    for (int k = 0; k < NIN_ALL; k++)
        TRY(input(me, s, k, &x[k], err));
    uint64_t r0 = mimir_net_rounds(net);
    TRY(alloc(s, &r[R_LTZ], NZ, err));
    TRY(mimir_spdz_ltz(s, &r[R_LTZ], &x[IN_Z], err));
    me->rounds[RD_LTZ] = mimir_net_rounds(net) - r0;
    r0 = mimir_net_rounds(net);
    TRY(alloc(s, &r[R_LT], NLT, err));
    TRY(mimir_spdz_lt(s, &r[R_LT], &x[IN_A], &x[IN_B], err));
    me->rounds[RD_LT] = mimir_net_rounds(net) - r0;
    TRY(alloc(s, &r[R_LTP], NLT, err));
    TRY(mimir_spdz_lt_public(s, &r[R_LTP], &x[IN_A], thresholds, err));
    r0 = mimir_net_rounds(net);
    TRY(alloc(s, &r[R_SEL], NLT, err));
    TRY(mimir_spdz_select(s, &r[R_SEL], &r[R_LT], &x[IN_A], &x[IN_B], err));
    me->rounds[RD_SEL] = mimir_net_rounds(net) - r0;
    for (size_t l = 0; l < NLEN; l++) {
        r0 = mimir_net_rounds(net);
        TRY(alloc(s, &r[R_MAX0 + l], ROWS, err));
        TRY(mimir_spdz_max(s, &r[R_MAX0 + l], &x[IN_M0 + l], ROWS, lens[l], err));
        me->rounds[RD_MAX0 + l] = mimir_net_rounds(net) - r0;
        r0 = mimir_net_rounds(net);
        TRY(alloc(s, &r[R_OH0 + l], ROWS * lens[l], err));
        TRY(alloc(s, &r[R_AMAX0 + l], ROWS, err));
        TRY(mimir_spdz_argmax(s, &r[R_OH0 + l], &r[R_AMAX0 + l], &x[IN_M0 + l], ROWS, lens[l],
                              err));
        me->rounds[RD_ARG0 + l] = mimir_net_rounds(net) - r0;
    }
    for (int k = 0; k < R_W0; k++)
        TRY(output(me, s, k, &r[k], err));
out:
    for (int k = 0; k < NIN; k++)
        mimir_sv_free(&x[k]);
    for (int k = 0; k < NRES; k++)
        mimir_sv_free(&r[k]);
    return rc;
}

static uint64_t dealt_triples(party *me)
{
    uint64_t counts[MIMIR_PREP_KINDS];
    mimir_dealer_counts(me->dl, counts);
    return counts[MIMIR_PREP_TRIPLE - 1];
}

static uint64_t dealt_btriples(party *me)
{
    uint64_t counts[MIMIR_PREP_KINDS];
    mimir_dealer_counts(me->dl, counts);
    return counts[MIMIR_PREP_BTRIPLE - 1];
}

/* The bounded-width calls; rounds and triples of each. */
static int bits_all(party *me, mimir_spdz *s, mimir_net *net, mimir_err *err)
{
    int rc = MIMIR_OK;
    mimir_sv x[NIN], r[NRES];
    memset(x, 0, sizeof x);
    memset(r, 0, sizeof r);
    for (int k = NIN_ALL; k < NIN; k++)
        TRY(input(me, s, k, &x[k], err));
#define MEASURE(rd, call)                                                                      \
    do {                                                                                       \
        uint64_t r0_ = mimir_net_rounds(net), t0_ = dealt_triples(me);                         \
        uint64_t b0_ = dealt_btriples(me);                                                     \
        TRY(call);                                                                             \
        me->rounds[rd] = mimir_net_rounds(net) - r0_;                                          \
        me->call_triples[rd] = dealt_triples(me) - t0_;                                        \
        me->call_btriples[rd] = dealt_btriples(me) - b0_;                                      \
    } while (0)
    for (size_t w = 0; w < NW; w++) {
        TRY(alloc(s, &r[R_W0 + w], NWV, err));
        MEASURE(RD_W0 + w, mimir_spdz_ltz_bits(s, &r[R_W0 + w], &x[IN_W0 + w], widths[w], err));
    }
    TRY(alloc(s, &r[R_BLT], NLT, err));
    MEASURE(RD_BLT, mimir_spdz_lt_bits(s, &r[R_BLT], &x[IN_BA], &x[IN_BB], LT_BITS, err));
    TRY(alloc(s, &r[R_BLTP], NLT, err));
    MEASURE(RD_BLTP, mimir_spdz_lt_public_bits(s, &r[R_BLTP], &x[IN_BP], thresholds, LTP_BITS,
                                               err));
    for (size_t b = 0; b < NBM; b++) {
        TRY(alloc(s, &r[R_BMAX0 + b], ROWS, err));
        MEASURE(RD_BM0 + b, mimir_spdz_max_bits(s, &r[R_BMAX0 + b], &x[IN_BM0 + b], ROWS,
                                                bm[b].len, bm[b].bits, err));
        TRY(alloc(s, &r[R_BOH0 + b], ROWS * bm[b].len, err));
        MEASURE(RD_BA0 + b, mimir_spdz_argmax_bits(s, &r[R_BOH0 + b], NULL, &x[IN_BM0 + b], ROWS,
                                                   bm[b].len, bm[b].bits, err));
    }
    for (size_t c = 0; c < NCO; c++) {
        TRY(alloc(s, &r[R_C0 + c], NCV, err));
        MEASURE(RD_C0 + c, mimir_spdz_ltz_coarse(s, &r[R_C0 + c], &x[IN_C0 + c], co[c].bits,
                                                 co[c].skip, err));
    }
    TRY(alloc(s, &r[R_CM], ROWS, err));
    MEASURE(RD_CM, mimir_spdz_max_coarse(s, &r[R_CM], &x[IN_CM], ROWS, CM_LEN, CM_BITS, CM_SKIP,
                                         err));
#undef MEASURE
    for (int k = R_W0; k < NRES; k++)
        TRY(output(me, s, k, &r[k], err));
out:
    for (int k = 0; k < NIN; k++)
        mimir_sv_free(&x[k]);
    for (int k = 0; k < NRES; k++)
        mimir_sv_free(&r[k]);
    return rc;
}

static int faulty(party *me, mimir_spdz *s, mimir_err *err)
{
    int rc = MIMIR_OK;
    mimir_sv x = {0}, z = {0};
    TRY(input(me, s, IN_A, &x, err));
    TRY(alloc(s, &z, x.n, err));
    TRY(mimir_spdz_ltz(s, &z, &x, err));
    TRY(output(me, s, R_LTZ, &z, err));
out:
    mimir_sv_free(&x);
    mimir_sv_free(&z);
    return rc;
}

static int bench(party *me, mimir_spdz *s, mimir_net *net, mimir_err *err)
{
    int rc = MIMIR_OK;
    mimir_sv x = {0}, oh = {0}, mx = {0};
    TRY(alloc(s, &x, BENCH_VOCAB, err));
    TRY(alloc(s, &oh, BENCH_VOCAB, err));
    TRY(alloc(s, &mx, 1, err));
    for (int k = 0; k < 2; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        uint64_t r0 = mimir_net_rounds(net), tr0 = dealt_triples(me);
        TRY(mimir_spdz_argmax_bits(s, &oh, &mx, &x, 1, BENCH_VOCAB, k == 0 ? 64 : 32, err));
        TRY(mimir_spdz_check(s, err));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        me->bench_rounds[k] = mimir_net_rounds(net) - r0;
        me->bench_triples[k] = dealt_triples(me) - tr0;
        me->bench_ms[k] =
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    }
out:
    mimir_sv_free(&x);
    mimir_sv_free(&oh);
    mimir_sv_free(&mx);
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
    if (rc == MIMIR_OK)
        mimir_dealer_set_binary(dl, g_binary);
    if (rc == MIMIR_OK) {
        mimir_r128 alpha[2];
        mimir_dealer_alpha(dl, alpha);
        mimir_spdz_opts so;
        memset(&so, 0, sizeof so);
        so.semi_honest = me->semi;
        so.fault = me->fault;
        rc = mimir_spdz_new(net, coin, mimir_dealer_prep(dl), alpha, &so, &s, e);
        mimir_wipe(alpha, sizeof alpha);
    }
    me->dl = dl;
    if (rc == MIMIR_OK)
        rc = me->scenario == SC_ALL     ? all(me, s, net, e)
             : me->scenario == SC_BITS  ? bits_all(me, s, net, e)
             : me->scenario == SC_BENCH ? bench(me, s, net, e)
                                        : faulty(me, s, e);
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, e);
    if (dl != NULL) {
        uint64_t counts[MIMIR_PREP_KINDS];
        mimir_dealer_counts(dl, counts);
        me->triples = counts[MIMIR_PREP_TRIPLE - 1];
        me->edabits = counts[MIMIR_PREP_EDABIT - 1];
        me->cmasks = counts[MIMIR_PREP_CMASK - 1];
        me->btriples = counts[MIMIR_PREP_BTRIPLE - 1];
    }
    me->rc = rc;
    me->dl = NULL;
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
        for (int r = 0; r < NRES; r++)
            for (int k = 0; k < 2; k++)
                free(parties[i].res[r][k]);
        memset(&parties[i], 0, sizeof parties[i]);
    }
}

static void run(int scenario, int semi, int bad, mimir_spdz_fault f, int skip)
{
    static int runs;
    char addr[3][200], tag[16], json[4096];
    snprintf(tag, sizeof tag, "c%d.", ++runs);
    cluster3_addresses(addr, "unix", dir, tag);
    cluster3_json(json, sizeof json, "0123456789abcdef0123456789abcdef", addr);
    reset_parties();
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        party *me = &parties[i];
        me->self = i;
        me->json = json;
        me->scenario = scenario;
        me->semi = semi;
        if (i == bad)
            me->fault = f;
        else
            me->fault.skip_copy_check = skip;
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

/* Joins result r; NULL if it cannot be joined. The caller frees. */
static mimir_r64 *join(int r)
{
    mimir_rss_view v[3];
    size_t n = parties[0].res_n[r];
    for (int i = 0; i < 3; i++) {
        v[i].party = i;
        v[i].c[0] = parties[i].res[r][0];
        v[i].c[1] = parties[i].res[r][1];
        v[i].name = NULL;
        if (v[i].c[0] == NULL || parties[i].res_n[r] != n)
            return NULL;
    }
    mimir_r64 *x = calloc(n ? n : 1, sizeof *x);
    mimir_err err = {0};
    if (mimir_rss_join(64, n, v, 3, x, &err) != MIMIR_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static void expect(const char *what, int r, const mimir_r64 *want, size_t n)
{
    mimir_r64 *got = join(r);
    size_t bad = 0, first = n;
    for (size_t j = 0; got != NULL && j < n; j++)
        if (got[j] != want[j]) {
            bad++;
            if (first == n)
                first = j;
        }
    CHECK(got != NULL && parties[0].res_n[r] == n && bad == 0,
          "%s: the joined output equals the plaintext (%zu of %zu differ%s)", what, bad, n,
          first < n ? ", e.g. the first shown below" : "");
    if (first < n)
        printf("#   element %zu: got %llu, want %llu\n", first,
               (unsigned long long)got[first], (unsigned long long)want[first]);
    free(got);
}

/* The plaintext reference: the max by the chain of lib/gpt2_fixed.c's softmax, the argmax as
 * gpt2_ref's (first strictly greater wins), as a one-hot. */
static void plain_rows_of(const mimir_r64 *x, size_t len, mimir_r64 *max, mimir_r64 *oh)
{
    for (size_t r = 0; r < ROWS; r++) {
        mimir_r64 m = x[r * len];
        size_t best = 0;
        for (size_t t = 1; t < len; t++) {
            m = mimir_approx_select(mimir_approx_lt(m, x[r * len + t]), x[r * len + t], m);
            if ((int64_t)x[r * len + t] > (int64_t)x[r * len + best])
                best = t;
        }
        max[r] = m;
        for (size_t t = 0; t < len; t++)
            oh[r * len + t] = t == best;
    }
}

static void plain_rows(size_t l, mimir_r64 *max, mimir_r64 *oh)
{
    plain_rows_of(in[IN_M0 + l].plain, lens[l], max, oh);
}

/* The low b bits of v as a signed b-bit number. */
static int64_t sext(uint64_t v, unsigned b)
{
    return b == 64 ? (int64_t)v : (int64_t)(v << (64 - b)) >> (64 - b);
}

/* Triples of a max (oh 0) or argmax (oh 1) tree over rows of len at width b: per level the
 * comparisons, the selects and (argmax) the one-hot products. */
/* rounds of one ltz / one max-tree level of width b in the domain under test */
#define LTZ_ROUNDS(b)                                                                          \
    (g_binary ? MIMIR_COMPARE_LTZ_BITS_ROUNDS_BINARY(b) : MIMIR_COMPARE_LTZ_BITS_ROUNDS(b))
#define LEVEL_ROUNDS(b) (LTZ_ROUNDS(b) + 1)

/* scalar triples of n comparisons of width b in the domain under test; boolean triple words */
static uint64_t ltz_triples(size_t n, unsigned b)
{
    return g_binary ? 0 : (uint64_t)n * mimir_compare_ltz_triples(b);
}
static uint64_t ltz_bwords(size_t n, unsigned b)
{
    return g_binary ? (uint64_t)((n + 63) / 64) * mimir_compare_ltz_gates(b) : 0;
}

static uint64_t tree_triples(size_t len, unsigned b, int oh)
{
    uint64_t t = 0;
    for (size_t m = len, span = 1; m > 1; m = (m + 1) / 2, span *= 2) {
        size_t h = m / 2, covered = 2 * h * span < len ? 2 * h * span : len;
        t += ROWS * (h * ((g_binary ? 0 : mimir_compare_ltz_triples(b)) + 1) + (oh ? covered : 0));
    }
    return t;
}

static void check_bits_all(const char *what)
{
    for (int i = 0; i < 3; i++)
        if (!CHECK(parties[i].rc == MIMIR_OK, "%s: party %d succeeds (%s: %s)", what, i,
                   parties[i].err.field, parties[i].err.msg))
            return;
    party *p = &parties[1];
    int same = 1;
    for (int i = 0; i < 3; i++)
        same &= memcmp(parties[i].rounds, p->rounds, sizeof p->rounds) == 0 &&
                memcmp(parties[i].call_triples, p->call_triples, sizeof p->call_triples) == 0;
    CHECK(same, "%s: every party spends the same rounds and triples", what);
    /* the triple table of docs/protocol.md, "Comparisons" */
    static const unsigned want_t[NW] = {1, 2, 11, 26, 41, 57, 72, 88, 118, 120};
    static mimir_r64 want[NLT], oh[ROWS * 128];
    char msg[240];
    for (size_t w = 0; w < NW; w++) {
        unsigned b = widths[w];
        const mimir_r64 *x = in[IN_W0 + w].plain;
        mimir_r64 *got = join(R_W0 + (int)w);
        size_t bad_in = 0, bad_out = 0, wrong_out = 0, nout = b < 64 ? NWOUT : 0;
        for (size_t j = 0; got != NULL && j < NWV; j++) {
            if (j < NWV - nout) {
                bad_in += got[j] != mimir_approx_lt(x[j], 0);
            } else {
                /* out of range: the sign of x mod 2^b, which is the wrong answer here */
                bad_out += got[j] != (mimir_r64)(sext(x[j], b) < 0);
                wrong_out += got[j] != mimir_approx_lt(x[j], 0);
            }
        }
        CHECK(got != NULL && bad_in == 0, "%s: ltz_bits(%u) = mimir_approx_lt(x, 0) on +-(2^%u "
              "- 1), -2^%u, 0, +-1 and %zu random values in range (%zu differ)", what, b, b - 1,
              b - 1, NWV - 6 - nout, bad_in);
        if (nout > 0)
            CHECK(got != NULL && bad_out == 0 && wrong_out == nout, "%s: ltz_bits(%u) out of range "
                  "(|x| >= 2^%u) gives the sign bit of x mod 2^%u: the wrong bit on all %zu (%zu "
                  "differ from that rule)", what, b, b - 1, b, nout, bad_out);
        free(got);
        CHECK(p->rounds[RD_W0 + w] == (uint64_t)LTZ_ROUNDS(b) &&
                  p->call_triples[RD_W0 + w] == ltz_triples(NWV, b) &&
                  p->call_btriples[RD_W0 + w] == ltz_bwords(NWV, b) &&
                  mimir_compare_ltz_triples(b) == want_t[w] &&
                  (b == 2 ? mimir_compare_ltz_gates(b) == 0
                          : mimir_compare_ltz_gates(b) == mimir_compare_ltz_triples(b - 1)),
              "%s: ltz_bits(%u): %d rounds and %u triples per element (got %llu rounds, %llu "
              "triples for %d elements)", what, b, LTZ_ROUNDS(b), want_t[w],
              (unsigned long long)p->rounds[RD_W0 + w],
              (unsigned long long)p->call_triples[RD_W0 + w], NWV);
    }
    for (size_t j = 0; j < NLT; j++)
        want[j] = mimir_approx_lt(in[IN_BA].plain[j], in[IN_BB].plain[j]);
    snprintf(msg, sizeof msg, "%s: lt_bits(%d) = mimir_approx_lt on %d pairs of any magnitude "
             "with |a - b| < 2^%d", what, LT_BITS, NLT, LT_BITS - 1);
    expect(msg, R_BLT, want, NLT);
    CHECK(p->rounds[RD_BLT] == (uint64_t)LTZ_ROUNDS(LT_BITS) &&
              p->call_triples[RD_BLT] == ltz_triples(NLT, LT_BITS) &&
              p->call_btriples[RD_BLT] == ltz_bwords(NLT, LT_BITS),
          "%s: lt_bits(%d): %d rounds, %u triples per pair (got %llu, %llu)", what, LT_BITS,
          LTZ_ROUNDS(LT_BITS), mimir_compare_ltz_triples(LT_BITS),
          (unsigned long long)p->rounds[RD_BLT], (unsigned long long)p->call_triples[RD_BLT]);
    for (size_t j = 0; j < NLT; j++)
        want[j] = mimir_approx_lt(in[IN_BP].plain[j], (mimir_r64)thresholds[j]);
    snprintf(msg, sizeof msg, "%s: lt_public_bits(%d) = mimir_approx_lt against public "
             "thresholds, |x - c| < 2^%d", what, LTP_BITS, LTP_BITS - 1);
    expect(msg, R_BLTP, want, NLT);
    CHECK(p->rounds[RD_BLTP] == (uint64_t)LTZ_ROUNDS(LTP_BITS),
          "%s: lt_public_bits(%d): %d rounds (got %llu)", what, LTP_BITS,
          LTZ_ROUNDS(LTP_BITS), (unsigned long long)p->rounds[RD_BLTP]);
    for (size_t b = 0; b < NBM; b++) {
        mimir_r64 mx[ROWS];
        plain_rows_of(in[IN_BM0 + b].plain, bm[b].len, mx, oh);
        snprintf(msg, sizeof msg, "%s: max_bits(%u) of %d rows of %zu (ties, all equal, spread "
                 "over the range)", what, bm[b].bits, ROWS, bm[b].len);
        expect(msg, R_BMAX0 + (int)b, mx, ROWS);
        snprintf(msg, sizeof msg, "%s: argmax_bits(%u) one-hot of %d rows of %zu (ties: lowest "
                 "index)", what, bm[b].bits, ROWS, bm[b].len);
        expect(msg, R_BOH0 + (int)b, oh, ROWS * bm[b].len);
        uint64_t levels = 0;
        while (((size_t)1 << levels) < bm[b].len)
            levels++;
        uint64_t want_r = levels * LEVEL_ROUNDS(bm[b].bits);
        CHECK(p->rounds[RD_BM0 + b] == want_r && p->rounds[RD_BA0 + b] == want_r &&
                  p->call_triples[RD_BM0 + b] == tree_triples(bm[b].len, bm[b].bits, 0) &&
                  p->call_triples[RD_BA0 + b] == tree_triples(bm[b].len, bm[b].bits, 1),
              "%s: max_bits / argmax_bits(%u) on rows of %zu: %llu rounds, %llu / %llu triples "
              "(got %llu, %llu rounds, %llu / %llu triples)", what, bm[b].bits, bm[b].len,
              (unsigned long long)want_r,
              (unsigned long long)tree_triples(bm[b].len, bm[b].bits, 0),
              (unsigned long long)tree_triples(bm[b].len, bm[b].bits, 1),
              (unsigned long long)p->rounds[RD_BM0 + b], (unsigned long long)p->rounds[RD_BA0 + b],
              (unsigned long long)p->call_triples[RD_BM0 + b],
              (unsigned long long)p->call_triples[RD_BA0 + b]);
    }
    /* coarse comparisons: exact where |x| >= 2^skip (the range's ends included), a 0/1 bit
     * below; the triples and rounds of the narrower tree */
    for (size_t c = 0; c < NCO; c++) {
        unsigned b = co[c].bits, sk = co[c].skip, lv = MIMIR_COMPARE_COARSE_LEAVES(b, sk);
        const mimir_r64 *x = in[IN_C0 + c].plain;
        mimir_r64 *got = join(R_C0 + (int)c);
        size_t wrong = 0, notbit = 0;
        for (size_t j = 0; got != NULL && j < NCV; j++) {
            notbit += got[j] > 1;
            if (j < NCV - NCVNEAR)
                wrong += got[j] != mimir_approx_lt(x[j], 0);
        }
        CHECK(got != NULL && wrong == 0 && notbit == 0, "%s: ltz_coarse(%u, skip %u) = "
              "mimir_approx_lt(x, 0) on the range's ends, +-2^%u and %d values with |x| >= 2^%u, "
              "and a 0/1 bit on %d with |x| < 2^%u (%zu wrong, %zu not a bit)", what, b, sk, sk,
              NCV - NCVNEAR - 8, sk, NCVNEAR, sk, wrong, notbit);
        free(got);
        CHECK(lv == (b < 64 ? b + 1 - sk : b - sk) &&
                  p->rounds[RD_C0 + c] == (uint64_t)LTZ_ROUNDS(lv) &&
                  p->call_triples[RD_C0 + c] == ltz_triples(NCV, lv) &&
                  p->call_btriples[RD_C0 + c] == ltz_bwords(NCV, lv),
              "%s: ltz_coarse(%u, skip %u): a tree of %u leaves, %d rounds, %u triples per element "
              "(got %llu rounds, %llu triples for %d)", what, b, sk, lv,
              LTZ_ROUNDS(lv), mimir_compare_ltz_triples(lv),
              (unsigned long long)p->rounds[RD_C0 + c],
              (unsigned long long)p->call_triples[RD_C0 + c], NCV);
    }
    mimir_r64 *got = join(R_CM);
    int member = got != NULL, close = got != NULL;
    uint64_t levels = 0;
    while (((size_t)1 << levels) < CM_LEN)
        levels++;
    for (size_t r = 0; got != NULL && r < ROWS; r++) {
        const mimir_r64 *x = in[IN_CM].plain + r * CM_LEN;
        int64_t mx = INT64_MIN, g = (int64_t)got[r];
        int found = 0;
        for (size_t t = 0; t < CM_LEN; t++) {
            mx = (int64_t)x[t] > mx ? (int64_t)x[t] : mx;
            found |= x[t] == got[r];
        }
        member &= found;
        close &= g <= mx && mx - g < (int64_t)levels << CM_SKIP;
    }
    free(got);
    CHECK(member && close, "%s: max_coarse(%d, skip %d) of %d rows of %d: an element of the row "
          "within %llu 2^%d of the max", what, CM_BITS, CM_SKIP, ROWS, CM_LEN,
          (unsigned long long)levels, CM_SKIP);
    unsigned cl = MIMIR_COMPARE_COARSE_LEAVES(CM_BITS, CM_SKIP);
    CHECK(p->rounds[RD_CM] == levels * LEVEL_ROUNDS(cl) &&
              p->call_triples[RD_CM] == tree_triples(CM_LEN, cl, 0),
          "%s: max_coarse: the rounds and triples of max_bits(%u) (got %llu, %llu)", what, cl,
          (unsigned long long)p->rounds[RD_CM], (unsigned long long)p->call_triples[RD_CM]);
}

static void check_all(const char *what, int semi)
{
    for (int i = 0; i < 3; i++)
        if (!CHECK(parties[i].rc == MIMIR_OK, "%s: party %d succeeds (%s: %s)", what, i,
                   parties[i].err.field, parties[i].err.msg))
            return;
    static mimir_r64 want[NLT];
    char msg[200];
    for (size_t j = 0; j < NZ; j++)
        want[j] = mimir_approx_lt(in[IN_Z].plain[j], 0);
    snprintf(msg, sizeof msg, "%s: ltz on %zu edge values and %zu random ones", what,
             (size_t)NEDGE, (size_t)(NZ - NEDGE));
    expect(msg, R_LTZ, want, NZ);
    for (size_t j = 0; j < NLT; j++)
        want[j] = mimir_approx_lt(in[IN_A].plain[j], in[IN_B].plain[j]);
    snprintf(msg, sizeof msg, "%s: lt = mimir_approx_lt on %d random pairs", what, NLT);
    expect(msg, R_LT, want, NLT);
    size_t ones = 0;
    for (size_t j = 0; j < NLT; j++)
        ones += want[j];
    CHECK(ones > NLT / 4 && ones < 3 * NLT / 4, "%s: both outcomes occur (%zu of %d)", what,
          ones, NLT);
    for (size_t j = 0; j < NLT; j++)
        want[j] = mimir_approx_lt(in[IN_A].plain[j], (mimir_r64)thresholds[j]);
    snprintf(msg, sizeof msg, "%s: lt_public = mimir_approx_lt against public thresholds", what);
    expect(msg, R_LTP, want, NLT);
    for (size_t j = 0; j < NLT; j++)
        want[j] = mimir_approx_select(mimir_approx_lt(in[IN_A].plain[j], in[IN_B].plain[j]),
                                      in[IN_A].plain[j], in[IN_B].plain[j]);
    snprintf(msg, sizeof msg, "%s: select(lt(a, b), a, b) = mimir_approx_select", what);
    expect(msg, R_SEL, want, NLT);
    for (size_t l = 0; l < NLEN; l++) {
        mimir_r64 mx[ROWS], oh[ROWS * 128];
        plain_rows(l, mx, oh);
        snprintf(msg, sizeof msg, "%s: max of %d rows of %zu", what, ROWS, lens[l]);
        expect(msg, R_MAX0 + (int)l, mx, ROWS);
        snprintf(msg, sizeof msg, "%s: argmax one-hot of %d rows of %zu (ties: lowest index)",
                 what, ROWS, lens[l]);
        expect(msg, R_OH0 + (int)l, oh, ROWS * lens[l]);
        snprintf(msg, sizeof msg, "%s: argmax's max of %d rows of %zu", what, ROWS, lens[l]);
        expect(msg, R_AMAX0 + (int)l, mx, ROWS);
    }
    /* rounds, the same for every party */
    party *p = &parties[1];
    int same = 1;
    for (int i = 0; i < 3; i++)
        same &= memcmp(parties[i].rounds, p->rounds, sizeof p->rounds) == 0;
    CHECK(same, "%s: every party spends the same rounds", what);
    CHECK(p->rounds[RD_LTZ] == LTZ_ROUNDS(64) && p->rounds[RD_LT] == LTZ_ROUNDS(64),
          "%s: ltz and lt take %d rounds whatever n (got %llu, %llu)", what,
          LTZ_ROUNDS(64), (unsigned long long)p->rounds[RD_LTZ],
          (unsigned long long)p->rounds[RD_LT]);
    CHECK(p->rounds[RD_SEL] == MIMIR_COMPARE_SELECT_ROUNDS, "%s: select takes 1 round (got %llu)",
          what, (unsigned long long)p->rounds[RD_SEL]);
    int tree_ok = 1;
    for (size_t l = 0; l < NLEN; l++) {
        uint64_t levels = 0;
        while (((size_t)1 << levels) < lens[l])
            levels++;
        uint64_t want_r = levels * LEVEL_ROUNDS(64);
        tree_ok &= p->rounds[RD_MAX0 + l] == want_r && p->rounds[RD_ARG0 + l] == want_r;
        if (p->rounds[RD_MAX0 + l] != want_r || p->rounds[RD_ARG0 + l] != want_r)
            printf("#   len %zu: max %llu, argmax %llu rounds, want %llu\n", lens[l],
                   (unsigned long long)p->rounds[RD_MAX0 + l],
                   (unsigned long long)p->rounds[RD_ARG0 + l], (unsigned long long)want_r);
    }
    CHECK(tree_ok, "%s: max and argmax take ceil(log2 len) * %d rounds (len 1: none)", what,
          LEVEL_ROUNDS(64));
    /* edaBits: one per compared element */
    uint64_t cmp = NZ + 2 * NLT;
    for (size_t l = 0; l < NLEN; l++) {
        uint64_t perrow = 0;
        for (size_t m = lens[l]; m > 1; m = (m + 1) / 2)
            perrow += m / 2;
        cmp += 2 * ROWS * perrow;
    }
    if (g_binary)
        CHECK(p->cmasks == cmp && p->edabits == 0, "%s: one comparison mask per comparison and "
              "no edaBit (%llu, %llu; want %llu)", what, (unsigned long long)p->cmasks,
              (unsigned long long)p->edabits, (unsigned long long)cmp);
    else
        CHECK(p->edabits == cmp && p->cmasks == 0, "%s: one edaBit per comparison and no "
              "comparison mask (%llu, %llu; want %llu)", what, (unsigned long long)p->edabits,
              (unsigned long long)p->cmasks, (unsigned long long)cmp);
    (void)semi;
}

static void check_fault(const char *what, int bad, const char *want)
{
    for (int i = 0; i < 3; i++) {
        if (i == bad)
            continue;
        party *me = &parties[i];
        CHECK(me->rc == MIMIR_ESECURITY && strstr(me->err.msg, want) != NULL,
              "%s: honest party %d fails with MIMIR_ESECURITY: \"%s\" (got %d, %s: %s)", what,
              i, want, me->rc, me->err.field, me->err.msg);
    }
}

static void make_inputs(void)
{
    in_n[IN_Z] = NZ;
    in_n[IN_A] = NLT;
    in_n[IN_B] = NLT;
    for (size_t l = 0; l < NLEN; l++)
        in_n[IN_M0 + l] = ROWS * lens[l];
    for (size_t w = 0; w < NW; w++)
        in_n[IN_W0 + w] = NWV;
    in_n[IN_BA] = in_n[IN_BB] = in_n[IN_BP] = NLT;
    for (size_t b = 0; b < NBM; b++)
        in_n[IN_BM0 + b] = ROWS * bm[b].len;
    for (size_t c = 0; c < NCO; c++)
        in_n[IN_C0 + c] = NCV;
    in_n[IN_CM] = ROWS * CM_LEN;
    for (int k = 0; k < NIN; k++) {
        in[k].plain = calloc(in_n[k], sizeof(mimir_r64));
        for (int p = 0; p < 3; p++)
            in[k].comp[p] = calloc(in_n[k], sizeof(mimir_r64));
    }
    for (size_t j = 0; j < NZ; j++) {
        uint64_t v = rnd();
        if (j % 3 == 1)
            v = (uint64_t)((int64_t)v >> (rnd() % 63)); /* small magnitudes of both signs */
        in[IN_Z].plain[j] = j < NEDGE ? (mimir_r64)edge[j] : v;
    }
    for (size_t j = 0; j < NLT; j++) {
        uint64_t a = rnd(), b = rnd();
        switch (j % 4) {
        case 0: /* full 64-bit values: a - b may wrap, lt is the sign bit of a - b */
            break;
        case 1: /* fixed-point values in [-100, 100) with 16 bits */
            a = (uint64_t)((int64_t)(a % (200u << 16)) - (100 << 16));
            b = (uint64_t)((int64_t)(b % (200u << 16)) - (100 << 16));
            break;
        case 2: /* close values */
            a = (uint64_t)((int64_t)(a % 2000) - 1000);
            b = a + (rnd() % 3) - 1;
            break;
        default: /* equal */
            b = a;
        }
        in[IN_A].plain[j] = a;
        in[IN_B].plain[j] = b;
        thresholds[j] = j % 2 ? (mimir_r128)(uint64_t)(((int64_t)rnd() >> 20)) : b;
    }
    /* max rows: small values with many ties, a row of all equal values, negatives */
    for (size_t l = 0; l < NLEN; l++) {
        size_t len = lens[l];
        mimir_r64 *x = in[IN_M0 + l].plain;
        for (size_t r = 0; r < ROWS; r++)
            for (size_t t = 0; t < len; t++) {
                int64_t v = r == 0   ? (int64_t)(rnd() % 5) - 3          /* ties */
                            : r == 1 ? -7                                /* all equal */
                                     : (int64_t)(rnd() >> 1) - ((int64_t)1 << 62);
                x[r * len + t] = (mimir_r64)v;
            }
    }
    for (size_t w = 0; w < NW; w++) {
        unsigned b = widths[w];
        uint64_t half = (uint64_t)1 << (b - 1);
        size_t nout = b < 64 ? NWOUT : 0;
        mimir_r64 *x = in[IN_W0 + w].plain;
        const int64_t edges[6] = {(int64_t)(half - 1), -(int64_t)(half - 1), sext(half, b), 0,
                                  -1, 1};
        for (size_t j = 0; j < NWV; j++) {
            int64_t v;
            if (j < 6)
                v = edges[j];
            else if (j < NWV - nout) /* uniform in range, or a smaller magnitude */
                v = sext(rnd(), b) >> (j % 2 ? rnd() % b : 0);
            else if (j % 2) /* positive, 2^(b-1) <= x < 2^b */
                v = (int64_t)(half + rnd() % half);
            else /* negative, -2^b <= x < -2^(b-1) */
                v = -(int64_t)half - 1 - (int64_t)(rnd() % half);
            x[j] = (mimir_r64)v;
        }
    }
    for (size_t j = 0; j < NLT; j++) {
        /* a anywhere, a - b in [-2^31, 2^31): edges, close, equal and random differences */
        uint64_t a = rnd();
        int64_t d = sext(rnd(), LT_BITS); /* b - a */
        if (j < 4)
            d = (int64_t[]){(int64_t)1 << 31, -(((int64_t)1 << 31) - 1),
                            ((int64_t)1 << 31) - 1, 0}[j];
        else if (j % 4 == 2)
            d = (int64_t)(rnd() % 3) - 1;
        else if (j % 4 == 3)
            d = 0;
        else if (d == INT32_MIN)
            d = 0;
        in[IN_BA].plain[j] = a;
        in[IN_BB].plain[j] = a + (uint64_t)d;
        int64_t e = sext(rnd(), LTP_BITS) >> (j % 3 ? 0 : rnd() % LTP_BITS); /* x - c */
        in[IN_BP].plain[j] = (mimir_r64)thresholds[j] + (uint64_t)e;
    }
    for (size_t b = 0; b < NBM; b++) {
        unsigned bits = bm[b].bits;
        size_t len = bm[b].len;
        mimir_r64 *x = in[IN_BM0 + b].plain;
        for (size_t r = 0; r < ROWS; r++)
            for (size_t t = 0; t < len; t++) {
                /* every element in [-2^(bits-2), 2^(bits-2)): differences below 2^(bits-1) */
                int64_t v = r == 0   ? (int64_t)(rnd() % 5) - 3
                            : r == 1 ? -((int64_t)1 << (bits - 2))
                                     : sext(rnd(), bits - 1);
                x[r * len + t] = (mimir_r64)v;
            }
    }
    for (size_t c = 0; c < NCO; c++) {
        unsigned b = co[c].bits, sk = co[c].skip;
        mimir_r64 *x = in[IN_C0 + c].plain;
        int64_t lo = (int64_t)1 << sk, hmax = (int64_t)((((uint64_t)1 << (b - 1)) - 1));
        /* at 64 bits the ends themselves are within the skip (lib/compare.h): 2^skip inside */
        int64_t end = b < 64 ? hmax : hmax - lo;
        const int64_t edges[8] = {end, -end, b < 64 ? -hmax - 1 : -end + 1, lo, -lo, lo + 1,
                                  -lo - 1, hmax - lo};
        for (size_t j = 0; j < NCV; j++) {
            int64_t v;
            if (j < 8)
                v = edges[j];
            else if (j < NCV - NCVNEAR) { /* in range with |v| >= 2^skip */
                do
                    v = sext(rnd(), b) >> (j % 2 ? rnd() % (b - sk) : 0);
                while (v > -lo && v < lo);
            } else /* |v| < 2^skip: either bit is allowed */
                v = (int64_t)(rnd() % (2 * (uint64_t)lo - 1)) - lo + 1;
            x[j] = (mimir_r64)v;
        }
    }
    for (size_t r = 0; r < ROWS; r++)
        for (size_t t = 0; t < CM_LEN; t++) /* values in [-2^(bits-2), 2^(bits-2)), close ones */
            in[IN_CM].plain[r * CM_LEN + t] =
                (mimir_r64)(r == 0 ? (int64_t)(rnd() % 1000) - 500 : sext(rnd(), CM_BITS - 1));
    mimir_drbg d;
    uint8_t seed[32];
    memset(seed, 9, sizeof seed);
    mimir_drbg_from_seed(&d, seed, sizeof seed, "test-split");
    mimir_rss_rng rng = mimir_rss_rng_drbg(&d);
    for (int k = 0; k < NIN; k++) {
        void *comp[3] = {in[k].comp[0], in[k].comp[1], in[k].comp[2]};
        mimir_err err = {0};
        if (mimir_rss_split(64, in[k].plain, in_n[k], &rng, comp, &err) != MIMIR_OK)
            fprintf(stderr, "split failed: %s\n", err.msg);
    }
    mimir_drbg_wipe(&d);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < MIMIR_COIN_SEED_BYTES; k++)
            coin_seed[i][k] = (uint8_t)(17 * i + k);
    for (int k = 0; k < MIMIR_DEALER_SEED_BYTES; k++)
        dealer_seed[k] = (uint8_t)(100 + 3 * k);
}

static void test_bad_input(void)
{
    mimir_err err = {0};
    mimir_sv a = {0}, b = {0};
    mimir_sv_alloc(&a, 3, 1, &err);
    mimir_sv_alloc(&b, 4, 1, &err);
    CHECK(mimir_spdz_ltz(NULL, &a, &b, &err) == MIMIR_EINPUT, "ltz without an engine: EINPUT");
    CHECK(mimir_spdz_lt(NULL, &a, &a, &b, &err) == MIMIR_EINPUT,
          "lt of different sizes: EINPUT");
    CHECK(mimir_spdz_max(NULL, &a, &b, 2, 2, &err) == MIMIR_EINPUT, "max without an engine");
    static const unsigned badw[] = {0, 1, 65, 128};
    for (size_t k = 0; k < sizeof badw / sizeof badw[0]; k++) {
        mimir_err_clear(&err);
        int rc = mimir_spdz_ltz_bits(NULL, &a, &a, badw[k], &err);
        CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "width") != NULL &&
                  mimir_compare_ltz_triples(badw[k]) == 0,
              "ltz_bits with a width of %u bits: EINPUT (%s), no triple count", badw[k],
              err.msg);
    }
    CHECK(mimir_spdz_lt_bits(NULL, &a, &a, &a, 1, &err) == MIMIR_EINPUT &&
              mimir_spdz_max_bits(NULL, &a, &b, 2, 2, 70, &err) == MIMIR_EINPUT,
          "lt_bits and max_bits with bad widths: EINPUT");
    mimir_err_clear(&err);
    int rc = mimir_spdz_ltz_coarse(NULL, &a, &a, 20, 19, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "19 low bits skipped of 20") != NULL,
          "ltz_coarse skipping more than bits - 2: EINPUT naming both (%s)", err.msg);
    mimir_err_clear(&err);
    rc = mimir_spdz_ltz_coarse(NULL, &a, &a, 32, UINT_MAX - 1, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "low bits skipped") != NULL,
          "ltz_coarse with a skip that would wrap (UINT_MAX - 1): EINPUT (%s)", err.msg);
    mimir_sv_free(&a);
    mimir_sv_free(&b);
}

int main(void)
{
    snprintf(dir, sizeof dir, "tests/tmp/compare.XXXXXX");
    if (cluster3_setup(dir, "test_compare") != 0)
        return 1;
    make_inputs();
    mimir_spdz_fault none;
    memset(&none, 0, sizeof none);

    run(SC_ALL, 0, -1, none, 0);
    check_all("malicious", 0);
    printf("# triples taken by one party: %llu\n", (unsigned long long)parties[0].triples);
    run(SC_ALL, 1, -1, none, 0);
    check_all("semi-honest", 1);
    run(SC_BITS, 0, -1, none, 0);
    check_bits_all("bounded widths, malicious");
    run(SC_BITS, 1, -1, none, 0);
    check_bits_all("bounded widths, semi-honest");

    /* the same in the binary domain (comparison masks and boolean triples) */
    g_binary = 1;
    run(SC_ALL, 0, -1, none, 0);
    check_all("binary, malicious", 0);
    run(SC_ALL, 1, -1, none, 0);
    check_all("binary, semi-honest", 1);
    run(SC_BITS, 0, -1, none, 0);
    check_bits_all("binary, bounded widths, malicious");
    run(SC_BITS, 1, -1, none, 0);
    check_bits_all("binary, bounded widths, semi-honest");
    /* a cheating party in the binary domain: open #0 is c, #1 .. #6 the AND levels of the
     * 63-leaf tree, #7 the result masked by the daBit; boolean words have no MACs, so the
     * copy check is what catches them */
    static const struct {
        int kind;
        uint64_t at;
        unsigned bit;
        const char *what;
    } bf[] = {
        {MIMIR_SPDZ_FAULT_OPEN_FLIP, 1, 5, "binary: the first AND level's open flipped (bit 5)"},
        {MIMIR_SPDZ_FAULT_OPEN_FLIP, 6, 63, "binary: the last AND level's open flipped (bit 63)"},
        {MIMIR_SPDZ_FAULT_OPEN_FLIP, 7, 0, "binary: the daBit-masked result's open flipped"},
        {MIMIR_SPDZ_FAULT_COPY, 3, 0, "binary: an inconsistent copy in an AND level's open"},
    };
    for (size_t k = 0; k < sizeof bf / sizeof bf[0]; k++) {
        mimir_spdz_fault f = {bf[k].kind, bf[k].at, bf[k].bit, 0, 0, 0};
        run(SC_FAULT, 0, 2, f, 0);
        check_fault(bf[k].what, 2, "replicated copy check");
    }
    g_binary = 0;

    /* a flipped word in the open of c (open #0 of the faulty party's engine after inputs, which
     * open nothing) and in a Beaver open of the prefix product (open #3) */
    static const struct {
        uint64_t at;
        unsigned bit;
        int skip;
        const char *what, *want;
    } fc[] = {
        {0, 5, 0, "open of c flipped (bit 5)", "replicated copy check"},
        {0, 5, 1, "open of c flipped, copy check skipped", "MAC check failed"},
        {3, 60, 1, "prefix-product open flipped, copy check skipped", "MAC check failed"},
        {6, 100, 0, "last level's open flipped (bit 100)", "replicated copy check"},
    };
    for (size_t k = 0; k < sizeof fc / sizeof fc[0]; k++) {
        /* with skip, no party runs the copy check (the faulty one neither: otherwise it could
         * be first to see the honest parties' later opens diverge), so the MAC check alone
         * must catch the error */
        mimir_spdz_fault f = {MIMIR_SPDZ_FAULT_OPEN_FLIP, fc[k].at, fc[k].bit, fc[k].skip, 0, 0};
        run(SC_FAULT, 0, 2, f, fc[k].skip);
        check_fault(fc[k].what, 2, fc[k].want);
    }
    test_bad_input();
    const char *b = getenv("MIMIR_COMPARE_BENCH");
    if (b != NULL && strcmp(b, "1") == 0) {
        run(SC_BENCH, 0, -1, none, 0);
        CHECK(parties[0].rc == MIMIR_OK, "bench: argmax of 1 x %d (%s)", BENCH_VOCAB,
              parties[0].err.msg);
        for (int k = 0; k < 2; k++)
            printf("# argmax 1 x %d at %d bits with the dealer, three threads on one machine: "
                   "%.0f ms, %llu rounds (check included), %llu triples (%.1f per comparison), "
                   "%d edaBits per party\n", BENCH_VOCAB, k == 0 ? 64 : 32,
                   parties[0].bench_ms[k], (unsigned long long)parties[0].bench_rounds[k],
                   (unsigned long long)parties[0].bench_triples[k],
                   (double)parties[0].bench_triples[k] / (BENCH_VOCAB - 1), BENCH_VOCAB - 1);
    }
    reset_parties();
    return tap_done();
}
