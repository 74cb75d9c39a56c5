/*
 * test_gen.c — distributed preprocessing (lib/gen.h): three parties as threads over TLS on
 * loopback generate triples, a matrix triple, truncation pairs and edaBits; the items joined
 * here satisfy c = a b, C = A B, the truncation and edaBit relations (bits are 0/1, r mod 2^64
 * = sum 2^i b_i) and every MAC is alpha times its value; every replicated copy agrees; the
 * on-demand source feeds the engine's mul; weight masks (compact layout, MAC alpha B, the
 * same id at all three) and weight pairs (C = A B, C = A B^T) joined, and x W through the
 * engine with the generator's mask and pair; fixed seeds reproduce a run; round counts. Faults
 * (test build hooks): a party that adds 1 to its c or C reshare makes the sacrifice fail with
 * MIMIR_ESECURITY at every party; a party that inputs another bit than its co-holder is caught
 * by the input copy check. Binary kinds: boolean triples (c = a AND b joined by XOR, copies
 * agree, balanced bits, rounds per batch, a padded small batch) and comparison masks (XOR of rb
 * = r mod 2^64, d a bit = bit 0 of db's XOR, db bits 1..63 zero, MACs), fixed seeds reproduce
 * them, and a wrong z in one party's AND reshare fails the cut-and-bucket check at all three.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "coin.h"
#include "gen.h"
#include "mem.h"
#include "net.h"
#include "cluster3.h"
#include "tap.h"

#define NT 1000         /* triples */
#define MR 3            /* matrix triple shape */
#define MI 5
#define MC 4
#define NTR 40          /* truncation pairs */
#define TF 16
#define NE 30           /* edaBits */
#define NMUL 8          /* products through the on-demand source */
#define WI 6            /* weight mask shape (inner x cols) */
#define WC 10
#define WR 3            /* weight pairs: rows, count (non-transposed); rows (transposed) */
#define WK 2
#define WT 2
#define XR 2            /* the engine's x (XR x WI) times W (WI x WC) */
#define NBT 700         /* boolean triple words (one batch of 700 buckets) */
#define NBS 3           /* a small call (padded to MIMIR_GEN_BTRIPLE_MIN) */
#define NCM 100         /* comparison masks */

enum { IT_A, IT_B, IT_C, IT_MA, IT_MB, IT_MC, IT_R, IT_RHI, IT_R63, IT_ER, IT_EB, IT_WA, IT_WC,
       IT_TA, IT_TC, IT_CR, IT_CD, NIT };
enum { BV_A, BV_B, BV_C, BV_SA, BV_SB, BV_SC, BV_RB, BV_DB, NBV };

typedef struct party {
    int self;
    const char *json;
    int scenario; /* 0: everything, 1: triples only (faults, reproducibility), 2: weight
                   * masks and pairs, 3: boolean triples and comparison masks */
    int fixed;
    mimir_gen_fault fault;
    int rc;
    mimir_err err;
    mimir_r128 alpha[2];
    mimir_sv it[NIT];
    mimir_bv bv[NBV];
    uint64_t btriple_rounds;
    mimir_r64 out[2][NMUL];
    mimir_wmask wm;
    mimir_r64 wout[2][XR * WC];
    uint64_t triple_rounds;
    mimir_gen_stats st;
} party;

static char dir[256];
static party P[3];
static const mimir_r64 mul_x[NMUL] = {3, (mimir_r64)-4, 1ull << 40, 0, 7, 1, 123456789, 99};
static const mimir_r64 mul_y[NMUL] = {5, 6, 1ull << 20, 9, (mimir_r64)-7, 1, 987654321, 0};

#define TRY(x)                                                                                 \
    do {                                                                                       \
        if ((rc = (x)) != MIMIR_OK)                                                            \
            goto out;                                                                          \
    } while (0)

static int weights(party *me, mimir_net *net, mimir_coin *coin, mimir_gen *g);

static int binary(party *me, mimir_net *net, mimir_gen *g)
{
    mimir_err *e = &me->err;
    int rc;
    mimir_bv *v = me->bv;
    uint64_t r0 = mimir_net_rounds(net);
    TRY(mimir_gen_btriples(g, NBT, &v[BV_A], &v[BV_B], &v[BV_C], e));
    me->btriple_rounds = mimir_net_rounds(net) - r0;
    TRY(mimir_gen_btriples(g, NBS, &v[BV_SA], &v[BV_SB], &v[BV_SC], e));
    TRY(mimir_gen_cmasks(g, NCM, &me->it[IT_CR], &v[BV_RB], &me->it[IT_CD], &v[BV_DB], e));
out:
    return rc;
}

static int scenario(party *me, mimir_net *net, mimir_coin *coin, mimir_gen *g)
{
    if (me->scenario == 2)
        return weights(me, net, coin, g);
    if (me->scenario == 3)
        return binary(me, net, g);
    mimir_err *e = &me->err;
    int rc;
    mimir_spdz *s = NULL;
    mimir_sv x = {0}, y = {0}, z = {0};
    uint64_t r0 = mimir_net_rounds(net);
    TRY(mimir_gen_triples(g, NT, &me->it[IT_A], &me->it[IT_B], &me->it[IT_C], e));
    me->triple_rounds = mimir_net_rounds(net) - r0;
    if (me->scenario == 1)
        goto out;
    TRY(mimir_gen_matrix(g, MR, MI, MC, &me->it[IT_MA], &me->it[IT_MB], &me->it[IT_MC], e));
    TRY(mimir_gen_trunc(g, NTR, TF, &me->it[IT_R], &me->it[IT_RHI], &me->it[IT_R63], e));
    TRY(mimir_gen_edabits(g, NE, &me->it[IT_ER], &me->it[IT_EB], e));
    /* the on-demand source behind an engine: x * y with fresh checked triples */
    TRY(mimir_spdz_new(net, coin, mimir_gen_prep(g), me->alpha, NULL, &s, e));
    TRY(mimir_spdz_input_party(s, 0, me->self == 0 ? mul_x : NULL, NMUL, &x, e));
    TRY(mimir_spdz_input_party(s, 1, me->self == 1 ? mul_y : NULL, NMUL, &y, e));
    TRY(mimir_sv_alloc(&z, NMUL, 1, e));
    TRY(mimir_spdz_mul(s, &z, &x, &y, e));
    mimir_r64 *oc[2] = {me->out[0], me->out[1]};
    TRY(mimir_spdz_output(s, &z, oc, e));
out:
    mimir_sv_free(&x);
    mimir_sv_free(&y);
    mimir_sv_free(&z);
    mimir_spdz_free(s);
    return rc;
}

/* x W for a public W (party 0 holds it as component 0) and x input by party 1, through an
 * engine whose source is the generator (its weight mask and pair made on demand). */
static int weights(party *me, mimir_net *net, mimir_coin *coin, mimir_gen *g)
{
    mimir_err *e = &me->err;
    int rc;
    mimir_spdz *s = NULL;
    mimir_spdz_weight *w = NULL;
    mimir_sv x = {0}, y = {0};
    mimir_r64 W_[WI * WC], zero[WI * WC], xv[XR * WI];
    for (size_t j = 0; j < WI * WC; j++)
        W_[j] = (mimir_r64)j * 3 - 20, zero[j] = 0;
    for (size_t j = 0; j < XR * WI; j++)
        xv[j] = (mimir_r64)j + 1;
    TRY(mimir_gen_wmask(g, WI, WC, &me->wm, e));
    TRY(mimir_gen_wpairs(g, &me->wm, WR, 0, WK, &me->it[IT_WA], &me->it[IT_WC], e));
    TRY(mimir_gen_wpairs(g, &me->wm, WT, 1, 1, &me->it[IT_TA], &me->it[IT_TC], e));
    TRY(mimir_spdz_new(net, coin, mimir_gen_prep(g), me->alpha, NULL, &s, e));
    const mimir_r64 *c[2] = {me->self == 0 ? W_ : zero, me->self == 2 ? W_ : zero};
    TRY(mimir_spdz_weight_input(s, c, WI, WC, &w, e));
    TRY(mimir_spdz_input_party(s, 1, me->self == 1 ? xv : NULL, XR * WI, &x, e));
    TRY(mimir_sv_alloc(&y, XR * WC, 1, e));
    TRY(mimir_spdz_weight_matmul(s, &y, &x, w, XR, 0, e));
    mimir_r64 *oc[2] = {me->wout[0], me->wout[1]};
    TRY(mimir_spdz_output(s, &y, oc, e));
out:
    mimir_sv_free(&x);
    mimir_sv_free(&y);
    mimir_spdz_weight_free(w);
    mimir_spdz_free(s);
    return rc;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_coin *coin = NULL;
    mimir_gen *g = NULL;
    mimir_err *e = &me->err;
    uint8_t seed[32];
    memset(seed, 0x40 + me->self, sizeof seed);
    int rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 e);
    if (rc == MIMIR_OK)
        rc = mimir_net_open(cl, NULL, &net, e);
    if (rc == MIMIR_OK) {
        mimir_coin_opts o = {me->fixed ? seed : NULL, 0};
        rc = mimir_coin_toss(net, &o, &coin, e);
    }
    if (rc == MIMIR_OK) {
        mimir_gen_opts go;
        memset(&go, 0, sizeof go);
        go.fixed_seed = me->fixed ? seed : NULL;
        go.fault = me->fault;
        rc = mimir_gen_new(net, coin, NULL, &go, &g, e);
    }
    if (rc == MIMIR_OK) {
        mimir_gen_alpha(g, me->alpha);
        rc = scenario(me, net, coin, g);
    }
    if (g != NULL)
        mimir_gen_get_stats(g, &me->st);
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, e);
    me->rc = rc;
    mimir_gen_free(g);
    mimir_coin_free(coin);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return NULL;
}

static void reset(void)
{
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < NIT; k++)
            mimir_sv_free(&P[i].it[k]);
        for (int k = 0; k < NBV; k++)
            mimir_bv_free(&P[i].bv[k]);
        mimir_wmask_free(&P[i].wm);
        memset(&P[i], 0, sizeof P[i]);
    }
}

static void run(int scen, int fixed, int bad, mimir_gen_fault f)
{
    static int runs;
    char addr[3][200], tag[16], json[4096];
    snprintf(tag, sizeof tag, "g%d.", ++runs);
    cluster3_addresses(addr, runs % 2 ? "unix" : "tcp", dir, tag);
    cluster3_json(json, sizeof json, "00112233445566778899aabbccddeeff", addr);
    reset();
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        P[i].self = i;
        P[i].json = json;
        P[i].scenario = scen;
        P[i].fixed = fixed;
        if (i == bad)
            P[i].fault = f;
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &P[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

/* ---- joining ------------------------------------------------------------------------------ */

/* Value and MAC of element j of item k; 0 if the replicated copies disagree anywhere. */
static int joined(int k, size_t j, mimir_r128 *x, mimir_r128 *m)
{
    *x = *m = 0;
    int ok = 1;
    for (int p = 0; p < 3; p++) {
        const mimir_sv *v = &P[p].it[k], *w = &P[(p + 1) % 3].it[k];
        *x += v->x[0][j];
        *m += v->m[0][j];
        ok &= v->x[1][j] == w->x[0][j] && v->m[1][j] == w->m[0][j];
    }
    return ok;
}

static mimir_r128 alpha(void)
{
    return P[0].alpha[0] + P[1].alpha[0] + P[2].alpha[0];
}

/* Joins all n elements of item k into x; counts copy and MAC mismatches. */
static mimir_r128 *join_item(int k, size_t n, size_t *bad_copy, size_t *bad_mac)
{
    mimir_r128 *x = calloc(n ? n : 1, sizeof *x), al = alpha(), m;
    for (int p = 0; p < 3; p++)
        if (P[p].it[k].n != n || P[p].it[k].x[0] == NULL) {
            *bad_copy = n + 1;
            return x;
        }
    for (size_t j = 0; j < n; j++) {
        *bad_copy += !joined(k, j, &x[j], &m);
        *bad_mac += m != al * x[j];
    }
    return x;
}

static int all_rc(int code)
{
    return P[0].rc == code && P[1].rc == code && P[2].rc == code;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_items(void)
{
    mimir_gen_fault none = {0, 0};
    run(0, 0, -1, none);
    CHECK(all_rc(MIMIR_OK), "generation: every party succeeds (rc %d %d %d: %s)", P[0].rc,
          P[1].rc, P[2].rc, P[0].err.msg);
    if (!all_rc(MIMIR_OK))
        return;
    CHECK(alpha() != 0, "a MAC key was drawn");
    CHECK(P[0].triple_rounds == MIMIR_GEN_TRIPLE_ROUNDS,
          "a triple batch spends %d rounds (spent %llu)", MIMIR_GEN_TRIPLE_ROUNDS,
          (unsigned long long)P[0].triple_rounds);

    size_t bc = 0, bm = 0, bad = 0;
    mimir_r128 *a = join_item(IT_A, NT, &bc, &bm), *b = join_item(IT_B, NT, &bc, &bm);
    mimir_r128 *c = join_item(IT_C, NT, &bc, &bm);
    for (size_t j = 0; j < NT; j++)
        bad += c[j] != a[j] * b[j];
    CHECK(bc == 0 && bm == 0, "triples: copies agree and MACs are alpha * value (%zu, %zu bad)",
          bc, bm);
    CHECK(bad == 0, "triples: c = a b mod 2^128 for all %d (%zu differ)", NT, bad);
    CHECK((uint64_t)(a[0] >> 64) != 0 || (uint64_t)(a[1] >> 64) != 0,
          "triples: a is drawn from all of Z_2^128");
    free(a), free(b), free(c);

    bc = bm = bad = 0;
    a = join_item(IT_MA, MR * MI, &bc, &bm);
    b = join_item(IT_MB, MI * MC, &bc, &bm);
    c = join_item(IT_MC, MR * MC, &bc, &bm);
    for (size_t r = 0; r < MR; r++)
        for (size_t q = 0; q < MC; q++) {
            mimir_r128 acc = 0;
            for (size_t i = 0; i < MI; i++)
                acc += a[r * MI + i] * b[i * MC + q];
            bad += c[r * MC + q] != acc;
        }
    CHECK(bc == 0 && bm == 0, "matrix triple: copies agree and MACs hold (%zu, %zu bad)", bc,
          bm);
    CHECK(bad == 0, "matrix triple: C = A B for %dx%dx%d (%zu differ)", MR, MI, MC, bad);
    free(a), free(b), free(c);

    bc = bm = bad = 0;
    mimir_r128 *r = join_item(IT_R, NTR, &bc, &bm), *hi = join_item(IT_RHI, NTR, &bc, &bm);
    mimir_r128 *r63 = join_item(IT_R63, NTR, &bc, &bm);
    size_t high = 0;
    for (size_t j = 0; j < NTR; j++) {
        uint64_t lo = (uint64_t)r[j];
        bad += hi[j] != (mimir_r128)((lo & ~(1ull << 63)) >> TF) || r63[j] != (lo >> 63);
        high += (uint64_t)(r[j] >> 64) != 0;
    }
    CHECK(bc == 0 && bm == 0, "truncation pairs: copies agree and MACs hold (%zu, %zu bad)",
          bc, bm);
    CHECK(bad == 0, "truncation pairs: r_hi = (r mod 2^63) >> %d and r_63 = bit 63 (%zu bad)",
          TF, bad);
    CHECK(high > NTR / 2, "truncation pairs: r has random upper bits (%zu of %d)", high, NTR);
    free(r), free(hi), free(r63);

    bc = bm = bad = 0;
    size_t notbit = 0, ones = 0;
    r = join_item(IT_ER, NE, &bc, &bm);
    mimir_r128 *bits = join_item(IT_EB, NE * MIMIR_PREP_EDABIT_BITS, &bc, &bm);
    for (size_t j = 0; j < NE; j++) {
        uint64_t sum = 0;
        for (int i = 0; i < MIMIR_PREP_EDABIT_BITS; i++) {
            mimir_r128 bt = bits[j * MIMIR_PREP_EDABIT_BITS + (size_t)i];
            notbit += bt > 1;
            ones += bt == 1;
            sum += (uint64_t)bt << i;
        }
        bad += sum != (uint64_t)r[j];
    }
    CHECK(bc == 0 && bm == 0, "edaBits: copies agree and MACs hold (%zu, %zu bad)", bc, bm);
    CHECK(notbit == 0, "edaBits: every bit is 0 or 1 (%zu are not)", notbit);
    CHECK(bad == 0, "edaBits: r mod 2^64 = sum 2^i b_i (%zu differ)", bad);
    CHECK(ones > NE * 64 * 4 / 10 && ones < NE * 64 * 6 / 10,
          "edaBits: about half the bits are 1 (%zu of %d)", ones, NE * 64);
    free(r), free(bits);

    bad = 0;
    for (size_t j = 0; j < NMUL; j++) {
        mimir_r64 v = P[0].out[0][j] + P[1].out[0][j] + P[2].out[0][j];
        bad += v != mul_x[j] * mul_y[j];
    }
    CHECK(bad == 0, "the on-demand source's triples serve mimir_spdz_mul (%zu wrong)", bad);
    CHECK(P[1].st.generated[MIMIR_PREP_TRIPLE - 1] == NT + NMUL &&
              P[1].st.sacrificed[MIMIR_PREP_TRIPLE - 1] == NT + NMUL &&
              P[1].st.generated[MIMIR_PREP_MATRIX - 1] == MR * MI + MI * MC + MR * MC &&
              P[1].st.generated[MIMIR_PREP_TRUNC - 1] == NTR &&
              P[1].st.generated[MIMIR_PREP_EDABIT - 1] == NE && P[1].st.sacrifices == 5,
          "statistics count generated and sacrificed elements (sacrifices %llu)",
          (unsigned long long)P[1].st.sacrifices);
}

/* Component q of the mask at party p, all words. */
static void mask_words(int p, int q, mimir_r128 *out)
{
    mimir_wmask_words(&P[p].wm, q, 0, WI * WC, out);
}

static void test_weights(void)
{
    mimir_gen_fault none = {0, 0};
    run(2, 0, -1, none);
    CHECK(all_rc(MIMIR_OK), "weights: every party succeeds (rc %d %d %d: %s / %s)", P[0].rc,
          P[1].rc, P[2].rc, P[0].err.msg, P[1].err.msg);
    if (!all_rc(MIMIR_OK))
        return;
    enum { N = WI * WC };
    static mimir_r128 B[N], M[N], u[3][4][N];
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 4; q++)
            mask_words(p, q, u[p][q]);
    size_t bc = 0, bm = 0, bad = 0;
    mimir_r128 al = alpha();
    for (size_t j = 0; j < N; j++) {
        B[j] = u[0][0][j] + u[1][0][j] + u[2][0][j];
        M[j] = u[0][2][j] + u[1][2][j] + u[2][2][j];
        for (int p = 0; p < 3; p++)
            bc += u[p][1][j] != u[(p + 1) % 3][0][j] || u[p][3][j] != u[(p + 1) % 3][2][j];
        bm += M[j] != al * B[j];
    }
    CHECK(bc == 0, "weight mask: the two copies of every component agree (%zu differ)", bc);
    CHECK(bm == 0, "weight mask: its MAC is alpha B (%zu of %d differ)", bm, N);
    CHECK(P[0].wm.id == P[1].wm.id && P[1].wm.id == P[2].wm.id && P[0].wm.id != 0,
          "weight mask: the three agree on a 64-bit id from the coin");
    int layout = P[1].wm.expl[2] == NULL && P[1].wm.expl[3] == NULL &&
                 P[0].wm.expl[2] != NULL && P[0].wm.expl[3] == NULL &&
                 P[2].wm.expl[3] != NULL && P[2].wm.expl[2] == NULL;
    for (int p = 0; p < 3; p++)
        layout &= P[p].wm.expl[0] == NULL && P[p].wm.expl[1] == NULL && P[p].wm.macs &&
                  !P[p].wm.hollow && P[p].wm.inner == WI && P[p].wm.cols == WC;
    CHECK(layout && mimir_wmask_bytes(&P[0].wm) == (size_t)N * 16 &&
              mimir_wmask_bytes(&P[1].wm) == 0,
          "weight mask: values and MAC components 1, 2 seeded, MAC component 0 explicit at "
          "parties 0 and 2 only (the dealer's layout)");

    mimir_r128 *a = join_item(IT_WA, WK * WR * WI, &bc, &bm);
    mimir_r128 *c = join_item(IT_WC, WK * WR * WC, &bc, &bm);
    for (size_t r = 0; r < WK * WR; r++)
        for (size_t q = 0; q < WC; q++) {
            mimir_r128 acc = 0;
            for (size_t i = 0; i < WI; i++)
                acc += a[r * WI + i] * B[i * WC + q];
            bad += c[r * WC + q] != acc;
        }
    CHECK(bc == 0 && bm == 0, "weight pairs: copies agree and MACs hold (%zu, %zu bad)", bc, bm);
    CHECK(bad == 0, "weight pairs: C = A B for %d pairs of %d rows (%zu differ)", WK, WR, bad);
    free(a), free(c);
    bad = 0;
    a = join_item(IT_TA, WT * WC, &bc, &bm);
    c = join_item(IT_TC, WT * WI, &bc, &bm);
    for (size_t r = 0; r < WT; r++)
        for (size_t i = 0; i < WI; i++) {
            mimir_r128 acc = 0;
            for (size_t q = 0; q < WC; q++)
                acc += a[r * WC + q] * B[i * WC + q];
            bad += c[r * WI + i] != acc;
        }
    CHECK(bc == 0 && bm == 0, "transposed weight pairs: copies agree and MACs hold (%zu, %zu)",
          bc, bm);
    CHECK(bad == 0, "transposed weight pairs: C = A B^T (%zu differ)", bad);
    free(a), free(c);

    bad = 0;
    for (size_t r = 0; r < XR; r++)
        for (size_t q = 0; q < WC; q++) {
            mimir_r64 want = 0;
            for (size_t i = 0; i < WI; i++)
                want += ((mimir_r64)(r * WI + i) + 1) * ((mimir_r64)(i * WC + q) * 3 - 20);
            size_t j = r * WC + q;
            bad += P[0].wout[0][j] + P[1].wout[0][j] + P[2].wout[0][j] != want;
        }
    CHECK(bad == 0, "the engine multiplies by a weight with the generator's mask and pair "
          "(x W right in %d of %d)", XR * WC - (int)bad, XR * WC);
    uint64_t gp = (uint64_t)WK * WR * (WI + WC) + WT * (WC + WI) + XR * (WI + WC);
    CHECK(P[2].st.generated[MIMIR_PREP_WMASK - 1] == 2 * N &&
              P[2].st.generated[MIMIR_PREP_WPAIR - 1] == gp &&
              P[2].st.sacrificed[MIMIR_PREP_WPAIR - 1] == gp,
          "statistics count masks (%llu) and pairs (%llu generated, %llu sacrificed)",
          (unsigned long long)P[2].st.generated[MIMIR_PREP_WMASK - 1],
          (unsigned long long)P[2].st.generated[MIMIR_PREP_WPAIR - 1],
          (unsigned long long)P[2].st.sacrificed[MIMIR_PREP_WPAIR - 1]);
}

/* Word j of boolean item k joined (XOR of the three first components); *bad counts copies
 * that disagree. */
static uint64_t bjoin(int k, size_t j, size_t *bad)
{
    uint64_t x = 0;
    for (int p = 0; p < 3; p++) {
        x ^= P[p].bv[k].x[0][j];
        *bad += P[p].bv[k].x[1][j] != P[(p + 1) % 3].bv[k].x[0][j];
    }
    return x;
}

static int bv_sized(int k, size_t n)
{
    int ok = 1;
    for (int p = 0; p < 3; p++)
        ok &= P[p].bv[k].n == n && P[p].bv[k].x[0] != NULL;
    return ok;
}

static void test_binary(void)
{
    mimir_gen_fault none = {0, 0};
    run(3, 0, -1, none);
    CHECK(all_rc(MIMIR_OK), "binary kinds: every party succeeds (rc %d %d %d: %s / %s)",
          P[0].rc, P[1].rc, P[2].rc, P[0].err.msg, P[1].err.msg);
    if (!all_rc(MIMIR_OK))
        return;
    CHECK(P[0].btriple_rounds == MIMIR_GEN_BTRIPLE_ROUNDS,
          "a boolean triple batch spends %d rounds (spent %llu)", MIMIR_GEN_BTRIPLE_ROUNDS,
          (unsigned long long)P[0].btriple_rounds);
    const size_t ns[2] = {NBT, NBS};
    for (int s = 0; s < 2; s++) {
        int k0 = s ? BV_SA : BV_A;
        if (!bv_sized(k0, ns[s]) || !bv_sized(k0 + 1, ns[s]) || !bv_sized(k0 + 2, ns[s])) {
            CHECK(0, "boolean triples: %zu words at every party", ns[s]);
            continue;
        }
        size_t bc = 0, bad = 0, ones = 0;
        for (size_t j = 0; j < ns[s]; j++) {
            uint64_t a = bjoin(k0, j, &bc), b = bjoin(k0 + 1, j, &bc), c = bjoin(k0 + 2, j, &bc);
            bad += c != (a & b);
            ones += (size_t)__builtin_popcountll(a) + (size_t)__builtin_popcountll(b);
        }
        size_t bits = 2 * 64 * ns[s];
        CHECK(bc == 0, "boolean triples (%zu words): the replicated copies agree (%zu differ)",
              ns[s], bc);
        CHECK(bad == 0, "boolean triples (%zu words): c = a AND b (%zu words differ)", ns[s],
              bad);
        CHECK(ones > bits * 4 / 10 && ones < bits * 6 / 10,
              "boolean triples (%zu words): about half of a, b's bits are 1 (%zu of %zu)", ns[s],
              ones, bits);
    }

    size_t bc = 0, bm = 0, bad = 0, notbit = 0, ones = 0, high = 0, dbad = 0;
    mimir_r128 *r = join_item(IT_CR, NCM, &bc, &bm), *d = join_item(IT_CD, NCM, &bc, &bm);
    if (bv_sized(BV_RB, NCM) && bv_sized(BV_DB, NCM)) {
        for (size_t j = 0; j < NCM; j++) {
            bad += bjoin(BV_RB, j, &bc) != (uint64_t)r[j];
            high += (uint64_t)(r[j] >> 64) != 0;
            notbit += d[j] > 1;
            ones += d[j] == 1;
            dbad += (bjoin(BV_DB, j, &bc) & 1) != (uint64_t)d[j];
            for (int p = 0; p < 3; p++)
                dbad += (P[p].bv[BV_DB].x[0][j] >> 1) != 0 || (P[p].bv[BV_DB].x[1][j] >> 1) != 0;
        }
    } else {
        bad = NCM;
    }
    CHECK(bc == 0 && bm == 0, "comparison masks: copies agree and MACs hold (%zu, %zu bad)", bc,
          bm);
    CHECK(bad == 0, "comparison masks: XOR of rb = r mod 2^64 (%zu differ)", bad);
    CHECK(high > NCM / 2, "comparison masks: r has random upper bits (%zu of %d)", high, NCM);
    CHECK(notbit == 0 && dbad == 0,
          "comparison masks: d is a bit, = bit 0 of db's XOR, db bits 1..63 zero (%zu, %zu)",
          notbit, dbad);
    CHECK(ones > NCM / 4 && ones < NCM * 3 / 4, "comparison masks: d is balanced (%zu of %d)",
          ones, NCM);
    free(r), free(d);
    const mimir_gen_stats *st = &P[1].st;
    unsigned B = mimir_gen_btriple_bucket(NBT);
    uint64_t sbt = (uint64_t)NBT * B + B - NBT + 6 * MIMIR_GEN_BTRIPLE_MIN + 6 - NBS;
    CHECK(st->generated[MIMIR_PREP_BTRIPLE - 1] == NBT + NBS &&
              st->sacrificed[MIMIR_PREP_BTRIPLE - 1] == sbt &&
              st->generated[MIMIR_PREP_CMASK - 1] == NCM &&
              st->sacrificed[MIMIR_PREP_CMASK - 1] == 4 * 64 * (NCM + 2),
          "statistics count boolean triple words (%llu, %llu sacrificed) and masks (%llu, %llu)",
          (unsigned long long)st->generated[MIMIR_PREP_BTRIPLE - 1],
          (unsigned long long)st->sacrificed[MIMIR_PREP_BTRIPLE - 1],
          (unsigned long long)st->generated[MIMIR_PREP_CMASK - 1],
          (unsigned long long)st->sacrificed[MIMIR_PREP_CMASK - 1]);
    CHECK(mimir_gen_btriple_bucket(MIMIR_GEN_BTRIPLE_MIN) == 6 &&
              mimir_gen_btriple_bucket(520) == 5 && mimir_gen_btriple_bucket(4800) == 4 &&
              mimir_gen_btriple_bucket(MIMIR_GEN_BTRIPLE_BATCH) == 4,
          "bucket sizes: 6 from %d buckets, 5 from 520, 4 from 4800", MIMIR_GEN_BTRIPLE_MIN);
}

static void test_reproducible(void)
{
    mimir_gen_fault none = {0, 0};
    run(1, 1, -1, none);
    mimir_r128 first[2] = {P[2].it[IT_C].x[0][0], P[2].it[IT_A].m[1][NT - 1]};
    int ok1 = all_rc(MIMIR_OK);
    run(1, 1, -1, none);
    CHECK(ok1 && all_rc(MIMIR_OK) && first[0] == P[2].it[IT_C].x[0][0] &&
              first[1] == P[2].it[IT_A].m[1][NT - 1],
          "fixed seeds reproduce the generated shares");
    run(3, 1, -1, none);
    uint64_t b1[3] = {P[2].bv[BV_C].x[0][0], P[1].bv[BV_RB].x[1][NCM - 1],
                      P[0].bv[BV_DB].x[0][NCM - 1]};
    ok1 = all_rc(MIMIR_OK);
    run(3, 1, -1, none);
    CHECK(ok1 && all_rc(MIMIR_OK) && b1[0] == P[2].bv[BV_C].x[0][0] &&
              b1[1] == P[1].bv[BV_RB].x[1][NCM - 1] && b1[2] == P[0].bv[BV_DB].x[0][NCM - 1],
          "fixed seeds reproduce boolean triples and comparison masks");
}

static void expect_abort(const char *what, int bad, mimir_gen_fault f, const char *msg)
{
    run(f.kind == MIMIR_GEN_FAULT_BTRIPLE_Z                  ? 3
        : f.kind >= MIMIR_GEN_FAULT_WPAIR_C                  ? 2
        : f.kind == MIMIR_GEN_FAULT_TRIPLE_C && f.at == 0 ? 1
                                                           : 0,
        0, bad, f);
    int ok = 1;
    for (int p = 0; p < 3; p++)
        if (p != bad)
            ok &= P[p].rc == MIMIR_ESECURITY && strstr(P[p].err.msg, msg) != NULL;
    CHECK(ok, "%s: both honest parties stop with code 1 and \"%s\" (rc %d %d %d: %s / %s)", what,
          msg, P[0].rc, P[1].rc, P[2].rc, P[(bad + 1) % 3].err.msg, P[(bad + 2) % 3].err.msg);
    CHECK(P[bad].rc != MIMIR_OK, "%s: the cheating party does not succeed either", what);
    if (strstr(msg, "sacrifice") == NULL)
        return;
    uint64_t failed[3] = {0, 0, 0};
    for (int p = 0; p < 3; p++)
        for (int k = 0; k < MIMIR_PREP_KINDS; k++)
            failed[p] += P[p].st.failed[k];
    CHECK(failed[(bad + 1) % 3] > 0 && failed[(bad + 2) % 3] > 0,
          "%s: the honest parties count the failed batch (%llu, %llu)", what,
          (unsigned long long)failed[(bad + 1) % 3], (unsigned long long)failed[(bad + 2) % 3]);
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 1;
    snprintf(dir, sizeof dir, "tests/tmp/gen.XXXXXX");
    if (cluster3_setup(dir, "test_gen") != 0)
        return 1;
    mimir_err err = {0};
    mimir_gen *g = (mimir_gen *)1;
    CHECK(mimir_gen_new(NULL, NULL, NULL, NULL, &g, &err) == MIMIR_EINPUT && g == NULL,
          "mimir_gen_new without a net is MIMIR_EINPUT");
    mimir_gen_free(NULL);

    test_items();
    test_weights();
    test_binary();
    test_reproducible();
    expect_abort("c = ab + 1 in party 1's reshare", 1,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_TRIPLE_C, 0}, "sacrifice check failed");
    expect_abort("C = AB + 1 in party 0's reshare", 0,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_MATRIX_C, 0}, "sacrifice check failed");
    expect_abort("party 2 inputs another bit", 2, (mimir_gen_fault){MIMIR_GEN_FAULT_BIT, 0},
                 "inconsistent replicated copies");
    expect_abort("a helper triple of the bits is tampered with", 1,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_TRIPLE_C, 2}, "sacrifice check failed");
    expect_abort("C = AB + 1 in party 2's weight-pair reshare", 2,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_WPAIR_C, 1}, "sacrifice check failed");
    expect_abort("party 1 adds 1 to the MAC of a weight mask", 1,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_WMASK_MAC, 0}, "MAC check failed");
    expect_abort("party 0 adds 1 to the MAC of a weight mask", 0,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_WMASK_MAC, 0}, "MAC check failed");
    expect_abort("party 1 sends parties 0 and 2 different MAC words", 1,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_WMASK_COPY, 0}, "weight mask check failed");
    expect_abort("a wrong z in party 2's AND reshare", 2,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_BTRIPLE_Z, 0}, "sacrifice check failed");
    CHECK(strstr(P[0].err.msg, "boolean triples") != NULL &&
              P[0].st.failed[MIMIR_PREP_BTRIPLE - 1] == NBT,
          "the boolean sacrifice names boolean triples and counts the batch (%s; %llu)",
          P[0].err.msg, (unsigned long long)P[0].st.failed[MIMIR_PREP_BTRIPLE - 1]);
    expect_abort("a wrong z in party 0's padded AND reshare", 0,
                 (mimir_gen_fault){MIMIR_GEN_FAULT_BTRIPLE_Z, 1}, "sacrifice check failed");
    reset();
    return tap_done();
}
