/*
 * test_spdz.c — the MAC-checked engine (lib/spdz.h): three parties (threads) over TLS on
 * loopback TCP and Unix sockets, preprocessing from the trusted dealer (lib/dealer.h, one seed
 * for all three parties: a simulation). Client inputs (split with lib/rss.h) and a party input;
 * add, sub, add_public, scale, mul_public, public matmuls; open + check; Beaver mul exact mod
 * 2^64; matrix triples of shapes 1x1x1, 3x5x2, 1x64x96; probabilistic truncation within
 * {floor, floor + 1}; outputs joined by mimir_rss_join equal the plaintext; semi-honest mode
 * gives the same results; round counts; transcripts cross-check and are reproducible; and every
 * test fault makes both honest parties fail with MIMIR_ESECURITY naming the check.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "coin.h"
#include "dealer.h"
#include "mem.h"
#include "net.h"
#include "prep.h"
#include "rss.h"
#include "spdz.h"
#include "transcript.h"
#include "cluster3.h"
#include "tap.h"

#define N 1000  /* elements of the elementwise inputs */
#define F 16    /* fractional bits */
#define NF 8    /* elements of the fault runs */

enum { IN_X, IN_Y, IN_T, IN_F1, IN_F2, IN_A1, IN_B1, IN_A2, IN_B2, IN_A3, IN_B3, IN_Z, NIN };
static const size_t in_n[NIN] = {N, N, N, N, N, 1, 1, 15, 10, 64, 64 * 96, N};

enum {
    R_X, R_Z, R_ADD, R_SUB, R_ADDPUB, R_SCALE, R_MULPUB, R_MMPL, R_MMPR, R_MUL, R_MM1, R_MM2,
    R_MM3, R_TRUNC, R_FIX, NRES
};
/* round counts recorded by each party */
enum { RD_INPUT, RD_PARTY, RD_OPEN, RD_MUL, RD_CHECK, RD_OUTPUT, RD_EMPTY, NRD };

static char dir[256];
static struct {
    mimir_r64 *plain;
    mimir_r64 *comp[3];
} in[NIN];
static mimir_r128 pub_c[N];       /* public vector for add_public / mul_public */
static mimir_r128 pub_k;          /* public scalar */
static mimir_r128 pub_pl[2 * 3];  /* P (2 x 3) for P * A2 (3 x 5) */
static mimir_r128 pub_pr[5 * 4];  /* P (5 x 4) for A2 (3 x 5) * P */
static uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES];
static uint8_t coin_seed[3][MIMIR_COIN_SEED_BYTES];

enum { SC_ARITH, SC_FAULT, SC_BENCH, SC_EVERY };
#define EVERY_STEPS 5

typedef struct party {
    int self;
    const char *json;
    int scenario, semi;
    const char *transcript;
    mimir_spdz_fault fault;
    int rc;
    mimir_err err;
    uint64_t rounds[NRD];
    mimir_r128 kg[2];
    size_t res_n[NRES];
    mimir_r64 *res[NRES][2];
    mimir_r128 opened[N];
    mimir_spdz_stats st;
    double bench_ms[3]; /* matmul, check, the dealer's part */
    mimir_net *net;     /* for the benchmark's round counts */
    int big_ok;         /* inputs of more than one chunk */
    mimir_spdz_stats every_st[EVERY_STEPS]; /* SC_EVERY: the stats after each step */
    int every_ok;       /* SC_EVERY: the opened values were the dealer's a's */
} party;

static party parties[3];
static size_t every_bound; /* run(): the test hook check_every of every party (0: none) */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

/* ---- one party ------------------------------------------------------------------------------ */

static int output(party *me, mimir_spdz *s, int r, const mimir_sv *v, mimir_err *err)
{
    me->res_n[r] = v->n;
    for (int k = 0; k < 2; k++)
        me->res[r][k] = calloc(v->n ? v->n : 1, sizeof(mimir_r64));
    mimir_r64 *const c[2] = {me->res[r][0], me->res[r][1]};
    return mimir_spdz_output(s, v, c, err);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != MIMIR_OK)                                                                \
            goto out;                                                                              \
    } while (0)

static int alloc(mimir_spdz *s, mimir_sv *v, size_t n, mimir_err *err)
{
    return mimir_sv_alloc(v, n, mimir_spdz_macs(s), err);
}

static int arith(party *me, mimir_spdz *s, mimir_net *net, mimir_err *err)
{
    int rc = MIMIR_OK, i = me->self;
    mimir_sv sv[NIN], r[NRES];
    memset(sv, 0, sizeof sv);
    memset(r, 0, sizeof r);
    for (int k = 0; k < NIN; k++) {
        if (k == IN_Z)
            continue;
        const mimir_r64 *const c[2] = {in[k].comp[i], in[k].comp[(i + 1) % 3]};
        uint64_t r0 = mimir_net_rounds(net);
        TRY(mimir_spdz_input_shares(s, c, in_n[k], &sv[k], err));
        if (k == IN_X)
            me->rounds[RD_INPUT] = mimir_net_rounds(net) - r0;
    }
    uint64_t r0 = mimir_net_rounds(net);
    TRY(mimir_spdz_input_party(s, 1, i == 1 ? in[IN_Z].plain : NULL, N, &sv[IN_Z], err));
    me->rounds[RD_PARTY] = mimir_net_rounds(net) - r0;
    r0 = mimir_net_rounds(net);
    TRY(mimir_spdz_check(s, err)); /* nothing pending yet: no rounds */
    me->rounds[RD_EMPTY] = mimir_net_rounds(net) - r0;

    /* linear operations */
    TRY(alloc(s, &r[R_ADD], N, err));
    TRY(mimir_spdz_add(s, &r[R_ADD], &sv[IN_X], &sv[IN_Y], err));
    TRY(alloc(s, &r[R_SUB], N, err));
    TRY(mimir_spdz_sub(s, &r[R_SUB], &sv[IN_X], &sv[IN_Y], err));
    TRY(alloc(s, &r[R_ADDPUB], N, err));
    TRY(mimir_spdz_add_public(s, &r[R_ADDPUB], &sv[IN_X], pub_c, err));
    TRY(alloc(s, &r[R_SCALE], N, err));
    TRY(mimir_spdz_scale(s, &r[R_SCALE], &sv[IN_X], pub_k, err));
    TRY(alloc(s, &r[R_MULPUB], N, err));
    TRY(mimir_spdz_mul_public(s, &r[R_MULPUB], &sv[IN_X], pub_c, err));
    TRY(alloc(s, &r[R_MMPL], 2 * 5, err));
    TRY(mimir_spdz_matmul_public_left(s, &r[R_MMPL], pub_pl, &sv[IN_A2], 2, 3, 5, err));
    TRY(alloc(s, &r[R_MMPR], 3 * 4, err));
    TRY(mimir_spdz_matmul_public_right(s, &r[R_MMPR], &sv[IN_A2], pub_pr, 3, 5, 4, err));

    /* open (X itself, for the test) */
    const mimir_sv *ov[1] = {&sv[IN_X]};
    mimir_r128 *oo[1] = {me->opened};
    r0 = mimir_net_rounds(net);
    TRY(mimir_spdz_open(s, 1, ov, oo, err));
    me->rounds[RD_OPEN] = mimir_net_rounds(net) - r0;

    /* products; the mul writes over its first operand's copy to test aliasing */
    TRY(alloc(s, &r[R_MUL], N, err));
    r0 = mimir_net_rounds(net);
    TRY(mimir_spdz_mul(s, &r[R_MUL], &sv[IN_X], &sv[IN_Y], err));
    me->rounds[RD_MUL] = mimir_net_rounds(net) - r0;
    TRY(alloc(s, &r[R_MM1], 1, err));
    TRY(mimir_spdz_matmul(s, &r[R_MM1], &sv[IN_A1], &sv[IN_B1], 1, 1, 1, err));
    TRY(alloc(s, &r[R_MM2], 3 * 2, err));
    TRY(mimir_spdz_matmul(s, &r[R_MM2], &sv[IN_A2], &sv[IN_B2], 3, 5, 2, err));
    TRY(alloc(s, &r[R_MM3], 96, err));
    TRY(mimir_spdz_matmul(s, &r[R_MM3], &sv[IN_A3], &sv[IN_B3], 1, 64, 96, err));
    TRY(alloc(s, &r[R_TRUNC], N, err));
    TRY(mimir_spdz_trunc(s, &r[R_TRUNC], &sv[IN_T], F, err));
    TRY(alloc(s, &r[R_FIX], N, err));
    TRY(mimir_spdz_mul(s, &r[R_FIX], &sv[IN_F1], &sv[IN_F2], err));
    TRY(mimir_spdz_trunc(s, &r[R_FIX], &r[R_FIX], F, err)); /* in place */

    r0 = mimir_net_rounds(net);
    TRY(mimir_spdz_check(s, err));
    me->rounds[RD_CHECK] = mimir_net_rounds(net) - r0;
    r0 = mimir_net_rounds(net);
    TRY(output(me, s, R_X, &sv[IN_X], err));
    me->rounds[RD_OUTPUT] = mimir_net_rounds(net) - r0;
    TRY(output(me, s, R_Z, &sv[IN_Z], err));
    for (int k = R_ADD; k < NRES; k++)
        TRY(output(me, s, k, &r[k], err));
out:
    for (int k = 0; k < NIN; k++)
        mimir_sv_free(&sv[k]);
    for (int k = 0; k < NRES; k++)
        mimir_sv_free(&r[k]);
    return rc;
}

/* Small: two inputs, a product, an output (which checks). */
static int faulty(party *me, mimir_spdz *s, mimir_err *err)
{
    int rc = MIMIR_OK, i = me->self;
    mimir_sv x = {0}, y = {0}, z = {0};
    const mimir_r64 *const cx[2] = {in[IN_X].comp[i], in[IN_X].comp[(i + 1) % 3]};
    const mimir_r64 *const cy[2] = {in[IN_Y].comp[i], in[IN_Y].comp[(i + 1) % 3]};
    TRY(mimir_spdz_input_shares(s, cx, NF, &x, err));
    TRY(mimir_spdz_input_shares(s, cy, NF, &y, err));
    TRY(alloc(s, &z, NF, err));
    TRY(mimir_spdz_mul(s, &z, &x, &y, err));
    TRY(output(me, s, R_MUL, &z, err));
out:
    mimir_sv_free(&x);
    mimir_sv_free(&y);
    mimir_sv_free(&z);
    return rc;
}

/* The automatic check (MIMIR_SPDZ_CHECK_EVERY, here set to 1000 on every party by the test
 * hook): opens of 600, 600, 300 and 2000 random elements (the dealer's triples' a), then an
 * explicit check; the stats after each step say when a check ran and what it covered. */
static int every(party *me, mimir_spdz *s, mimir_err *err)
{
    static const size_t sizes[EVERY_STEPS - 1] = {600, 600, 300, 2000};
    int rc = MIMIR_OK;
    me->every_ok = 1;
    for (int k = 0; k < EVERY_STEPS - 1 && rc == MIMIR_OK; k++) {
        mimir_sv a = {0}, b = {0}, c = {0};
        mimir_r128 *y = calloc(sizes[k], sizeof *y);
        rc = y == NULL ? MIMIR_ERUNTIME
                       : mimir_prep_triples(mimir_spdz_prep(s), sizes[k], &a, &b, &c, err);
        if (rc == MIMIR_OK) {
            const mimir_sv *const v[1] = {&a};
            mimir_r128 *const out[1] = {y};
            rc = mimir_spdz_open(s, 1, v, out, err);
        }
        /* an opened a is the sum of the three parties' first components: party i's own two
         * cover x~_i and x~_(i+1); nonzero somewhere, and the same at every party */
        int nz = 0;
        for (size_t j = 0; rc == MIMIR_OK && j < sizes[k]; j++)
            nz |= y[j] != 0;
        me->every_ok &= nz;
        mimir_spdz_get_stats(s, &me->every_st[k]);
        free(y);
        mimir_sv_free(&a);
        mimir_sv_free(&b);
        mimir_sv_free(&c);
    }
    if (rc == MIMIR_OK)
        rc = mimir_spdz_check(s, err);
    mimir_spdz_get_stats(s, &me->every_st[EVERY_STEPS - 1]);
    return rc;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The benchmark shape: a (1 x 768) times b (768 x 3072), zero sharings (valid, MAC'd). */
static int bench(party *me, mimir_spdz *s, mimir_err *err)
{
    int rc = MIMIR_OK;
    mimir_sv a = {0}, b = {0}, z = {0};
    TRY(alloc(s, &a, 768, err));
    TRY(alloc(s, &b, 768 * 3072, err));
    TRY(alloc(s, &z, 3072, err));
    /* inputs beyond one round's chunk: ceil(n / chunk) rounds per stage */
    size_t big = MIMIR_SPDZ_INPUT_CHUNK + 5;
    mimir_r64 *zero = calloc(big, sizeof *zero), *xs = calloc(big, sizeof *xs);
    mimir_r128 *op = calloc(big, sizeof *op);
    mimir_sv bz = {0}, bx = {0};
    if (zero == NULL || xs == NULL || op == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    for (size_t j = 0; rc == MIMIR_OK && j < big; j++)
        xs[j] = j * 0x9e3779b97f4a7c15ull;
    const mimir_r64 *const cz[2] = {zero, zero};
    uint64_t r0 = mimir_net_rounds(me->net);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_input_shares(s, cz, big, &bz, err);
    me->rounds[RD_INPUT] = mimir_net_rounds(me->net) - r0;
    r0 = mimir_net_rounds(me->net);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_input_party(s, 0, me->self == 0 ? xs : NULL, big, &bx, err);
    me->rounds[RD_PARTY] = mimir_net_rounds(me->net) - r0;
    const mimir_sv *ov[1] = {&bx};
    mimir_r128 *oo[1] = {op};
    if (rc == MIMIR_OK)
        rc = mimir_spdz_open(s, 1, ov, oo, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_check(s, err);
    me->big_ok = rc == MIMIR_OK && bz.n == big;
    for (size_t j = 0; rc == MIMIR_OK && j < big; j++)
        me->big_ok &= (mimir_r64)op[j] == xs[j];
    free(zero), free(xs), free(op);
    mimir_sv_free(&bz), mimir_sv_free(&bx);
    if (rc != MIMIR_OK)
        goto out;

    /* what the dealer alone takes for one such triple (a throwaway dealer) */
    mimir_dealer *dl = NULL;
    mimir_sv ta = {0}, tb = {0}, tc = {0};
    double t0 = now_ms();
    TRY(mimir_dealer_new(dealer_seed, me->self, mimir_spdz_macs(s), &dl, err));
    rc = mimir_prep_matrix(mimir_dealer_prep(dl), 1, 768, 3072, &ta, &tb, &tc, err);
    mimir_sv_free(&ta), mimir_sv_free(&tb), mimir_sv_free(&tc);
    mimir_dealer_free(dl);
    if (rc != MIMIR_OK)
        goto out;
    me->bench_ms[2] = now_ms() - t0;
    for (int k = 0; k < 2; k++) { /* the second one runs with warm buffers */
        t0 = now_ms();
        TRY(mimir_spdz_matmul(s, &z, &a, &b, 1, 768, 3072, err));
        double t1 = now_ms();
        TRY(mimir_spdz_check(s, err));
        double t2 = now_ms();
        me->bench_ms[0] = t1 - t0;
        me->bench_ms[1] = t2 - t1;
    }
out:
    mimir_sv_free(&a);
    mimir_sv_free(&b);
    mimir_sv_free(&z);
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
    mimir_transcript *tr = NULL;
    mimir_err *e = &me->err;
    int rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 e);
    if (rc == MIMIR_OK && me->transcript != NULL)
        rc = mimir_transcript_create(me->transcript, cl->session, me->self, "test_spdz", &tr,
                                     e);
    if (rc == MIMIR_OK) {
        mimir_net_opts no;
        memset(&no, 0, sizeof no);
        if (tr != NULL) {
            no.observer = mimir_transcript_observer;
            no.observer_arg = tr;
        }
        rc = mimir_net_open(cl, &no, &net, e);
    }
    if (rc == MIMIR_OK) {
        mimir_coin_opts o = {coin_seed[me->self], 0};
        rc = mimir_coin_toss(net, &o, &coin, e);
    }
    me->net = net;
    if (rc == MIMIR_OK)
        rc = mimir_spdz_keygen(coin, me->kg, e);
    if (rc == MIMIR_OK)
        rc = mimir_dealer_new(dealer_seed, me->self, !me->semi, &dl, e);
    if (rc == MIMIR_OK) {
        mimir_r128 alpha[2];
        mimir_dealer_alpha(dl, alpha);
        mimir_spdz_opts so;
        memset(&so, 0, sizeof so);
        so.semi_honest = me->semi;
        so.transcript = tr;
        so.fault = me->fault;
        rc = mimir_spdz_new(net, coin, mimir_dealer_prep(dl), alpha, &so, &s, e);
        mimir_wipe(alpha, sizeof alpha);
    }
    if (rc == MIMIR_OK)
        rc = me->scenario == SC_ARITH   ? arith(me, s, net, e)
             : me->scenario == SC_BENCH ? bench(me, s, e)
             : me->scenario == SC_EVERY ? every(me, s, e)
                                        : faulty(me, s, e);
    if (s != NULL)
        mimir_spdz_get_stats(s, &me->st);
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, e);
    if (tr != NULL) {
        mimir_err te;
        if (rc == MIMIR_OK)
            rc = mimir_transcript_close(tr, mimir_net_rounds(net), NULL, &te) == MIMIR_OK
                     ? MIMIR_OK
                     : (*e = te, te.code);
        mimir_transcript_free(tr);
    }
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
        for (int r = 0; r < NRES; r++)
            for (int k = 0; k < 2; k++)
                free(parties[i].res[r][k]);
        memset(&parties[i], 0, sizeof parties[i]);
    }
}

/* Runs the three parties; bad: the faulty party (-1: none) with fault f; honest parties get
 * skip_copy_check = skip. transcripts: three paths or NULL. */
static void run(const char *kind, int scenario, int semi, int bad, mimir_spdz_fault f, int skip,
                char tpaths[3][300])
{
    static int runs;
    char addr[3][200], tag[16], json[4096];
    snprintf(tag, sizeof tag, "r%d.", ++runs);
    cluster3_addresses(addr, kind, dir, tag);
    cluster3_json(json, sizeof json, "00112233445566778899aabbccddeeff", addr);
    reset_parties();
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        party *me = &parties[i];
        me->self = i;
        me->json = json;
        me->scenario = scenario;
        me->semi = semi;
        me->transcript = tpaths != NULL ? tpaths[i] : NULL;
        if (i == bad)
            me->fault = f;
        else
            me->fault.skip_copy_check = skip;
        me->fault.check_every = every_bound;
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

/* ---- checks --------------------------------------------------------------------------------- */

/* Joins result r from the three parties' output shares. */
static int join(int r, mimir_r64 *x)
{
    mimir_rss_view v[3];
    for (int i = 0; i < 3; i++) {
        v[i].party = i;
        v[i].c[0] = parties[i].res[r][0];
        v[i].c[1] = parties[i].res[r][1];
        v[i].name = NULL;
        if (v[i].c[0] == NULL || parties[i].res_n[r] != parties[0].res_n[r])
            return -1;
    }
    mimir_err err = {0};
    return mimir_rss_join(64, parties[0].res_n[r], v, 3, x, &err) == MIMIR_OK ? 0 : -1;
}

static void expect(const char *what, int r, const mimir_r64 *want, size_t n)
{
    static mimir_r64 got[64 * 96 + N];
    int ok = join(r, got) == 0 && parties[0].res_n[r] == n;
    size_t bad = 0;
    for (size_t j = 0; ok && j < n; j++)
        bad += got[j] != want[j];
    CHECK(ok && bad == 0, "%s: the joined output equals the plaintext (%zu of %zu differ)", what,
          bad, n);
}

static void check_arith(const char *what, int semi)
{
    int ok = 1;
    for (int i = 0; i < 3; i++)
        ok &= CHECK(parties[i].rc == MIMIR_OK, "%s: party %d ran (%d %s: %s: %s)", what, i,
                    parties[i].rc, parties[i].err.file, parties[i].err.field,
                    parties[i].err.msg);
    if (!ok)
        return;
    static mimir_r64 want[64 * 96], t1[N];
    char w[200];
    const mimir_r64 *X = in[IN_X].plain, *Y = in[IN_Y].plain;
#define EXPECT(name, r, n) (snprintf(w, sizeof w, "%s: %s", what, name), expect(w, r, want, n))
    memcpy(want, X, N * 8);
    EXPECT("client input", R_X, N);
    memcpy(want, in[IN_Z].plain, N * 8);
    EXPECT("party 1's input", R_Z, N);
    mimir_r64_add(want, X, Y, N);
    EXPECT("add", R_ADD, N);
    mimir_r64_sub(want, X, Y, N);
    EXPECT("sub", R_SUB, N);
    for (size_t j = 0; j < N; j++)
        want[j] = X[j] + (mimir_r64)pub_c[j];
    EXPECT("add_public", R_ADDPUB, N);
    mimir_r64_scale(want, X, (mimir_r64)pub_k, N);
    EXPECT("scale", R_SCALE, N);
    for (size_t j = 0; j < N; j++)
        want[j] = X[j] * (mimir_r64)pub_c[j];
    EXPECT("mul_public", R_MULPUB, N);
    mimir_r64 p64[20];
    for (int j = 0; j < 6; j++)
        p64[j] = (mimir_r64)pub_pl[j];
    mimir_r64_matmul(want, p64, in[IN_A2].plain, 2, 3, 5);
    EXPECT("matmul_public_left 2x3 * 3x5", R_MMPL, 10);
    for (int j = 0; j < 20; j++)
        p64[j] = (mimir_r64)pub_pr[j];
    mimir_r64_matmul(want, in[IN_A2].plain, p64, 3, 5, 4);
    EXPECT("matmul_public_right 3x5 * 5x4", R_MMPR, 12);
    mimir_r64_mul(want, X, Y, N);
    EXPECT("mul (exact mod 2^64)", R_MUL, N);
    mimir_r64_matmul(want, in[IN_A1].plain, in[IN_B1].plain, 1, 1, 1);
    EXPECT("matmul 1x1x1", R_MM1, 1);
    mimir_r64_matmul(want, in[IN_A2].plain, in[IN_B2].plain, 3, 5, 2);
    EXPECT("matmul 3x5x2", R_MM2, 6);
    mimir_r64_matmul(want, in[IN_A3].plain, in[IN_B3].plain, 1, 64, 96);
    EXPECT("matmul 1x64x96", R_MM3, 96);

    /* truncation: floor or floor + 1, and both occur */
    int tok = join(R_TRUNC, t1) == 0;
    size_t ups = 0, outside = 0;
    for (size_t j = 0; tok && j < N; j++) {
        mimir_r64 fl = mimir_fixed_trunc(in[IN_T].plain[j], F), d = t1[j] - fl;
        outside += d > 1;
        ups += d == 1;
    }
    CHECK(tok && outside == 0 && ups > 0 && ups < N,
          "%s: trunc by %d: every result is floor(x / 2^f) or floor + 1 (%zu outside, %zu "
          "rounded up)",
          what, F, outside, ups);
    tok = join(R_FIX, t1) == 0;
    outside = 0;
    for (size_t j = 0; tok && j < N; j++) {
        mimir_r64 p = in[IN_F1].plain[j] * in[IN_F2].plain[j];
        mimir_r64 d = t1[j] - mimir_fixed_trunc(p, F);
        outside += d > 1;
    }
    CHECK(tok && outside == 0, "%s: fixed-point mul then trunc (in place) is within one ulp "
          "above floor (%zu outside)", what, outside);

    /* opened values: equal at all parties, X mod 2^64 */
    int same = 1, low = 1;
    for (size_t j = 0; j < N; j++) {
        same &= parties[0].opened[j] == parties[1].opened[j] &&
                parties[0].opened[j] == parties[2].opened[j];
        low &= (mimir_r64)parties[0].opened[j] == X[j];
    }
    CHECK(same && low, "%s: an open gives every party the same word, the value mod 2^64", what);

    static const uint64_t want_rounds[NRD] = {1, 2, 1, 1, 0, 0, 0};
    uint64_t wr[NRD];
    memcpy(wr, want_rounds, sizeof wr);
    wr[RD_CHECK] = semi ? 1 : MIMIR_SPDZ_CHECK_ROUNDS;
    static const char *const rname[NRD] = {
        "input_shares", "input_party", "open", "mul", "check", "output after a check",
        "check with nothing pending"};
    for (int k = 0; k < NRD; k++) {
        int rok = 1;
        for (int i = 0; i < 3; i++)
            rok &= parties[i].rounds[k] == wr[k];
        CHECK(rok, "%s: %s spends %llu rounds (parties: %llu %llu %llu)", what, rname[k],
              (unsigned long long)wr[k], (unsigned long long)parties[0].rounds[k],
              (unsigned long long)parties[1].rounds[k], (unsigned long long)parties[2].rounds[k]);
    }
    const mimir_spdz_stats *st = &parties[0].st;
    uint64_t total_in = 0;
    for (int k = 0; k < NIN; k++)
        total_in += in_n[k];
    CHECK(st->opens == 1 + 1 + 3 + 2 + 1 && st->muls == 2 && st->matmuls == 3 &&
              st->truncs == 2 && st->inputs == NIN && st->input_elements == total_in &&
              st->checks >= 1,
          "%s: stats count opens %llu, muls %llu, matmuls %llu, truncs %llu, inputs %llu (%llu "
          "elements), checks %llu",
          what, (unsigned long long)st->opens, (unsigned long long)st->muls,
          (unsigned long long)st->matmuls, (unsigned long long)st->truncs,
          (unsigned long long)st->inputs, (unsigned long long)st->input_elements,
          (unsigned long long)st->checks);
    int kg = 1;
    for (int i = 0; i < 3; i++)
        kg &= parties[i].kg[1] == parties[(i + 1) % 3].kg[0] && parties[i].kg[0] != 0;
    CHECK(kg, "%s: keygen gives a replicated sharing (party i's alpha_{i+1} is party i+1's)",
          what);
}

static void check_fault(const char *what, int bad, const char *want)
{
    for (int i = 0; i < 3; i++) {
        if (i == bad)
            continue;
        party *me = &parties[i];
        CHECK(me->rc == MIMIR_ESECURITY && strstr(me->err.msg, want) != NULL,
              "%s: honest party %d fails with MIMIR_ESECURITY: \"%s\" (got %d, %s: %s: %s)",
              what, i, want, me->rc, me->err.file, me->err.field, me->err.msg);
    }
}

/* ---- inputs --------------------------------------------------------------------------------- */

static void make_inputs(void)
{
    for (int k = 0; k < NIN; k++) {
        in[k].plain = calloc(in_n[k], sizeof(mimir_r64));
        for (int p = 0; p < 3; p++)
            in[k].comp[p] = calloc(in_n[k], sizeof(mimir_r64));
        for (size_t j = 0; j < in_n[k]; j++)
            in[k].plain[j] = rnd();
    }
    /* truncation inputs: signed, |x| < 2^62, with edge cases */
    static const int64_t edge[] = {0, 1, -1, 65535, 65536, -65536, -65537,
                                   ((int64_t)1 << 62) - 1, -((int64_t)1 << 62) + 1};
    for (size_t j = 0; j < N; j++) {
        int64_t v = (int64_t)(rnd() >> 2) - ((int64_t)1 << 61);
        if (j % 3 == 0)
            v >>= (j % 50);
        in[IN_T].plain[j] = (mimir_r64)(j < sizeof edge / sizeof edge[0] ? edge[j] : v);
        /* fixed-point values in [-100, 100) */
        in[IN_F1].plain[j] = (mimir_r64)((int64_t)(rnd() % (200u << F)) - (100 << F));
        in[IN_F2].plain[j] = (mimir_r64)((int64_t)(rnd() % (200u << F)) - (100 << F));
    }
    mimir_drbg d;
    uint8_t seed[32];
    memset(seed, 7, sizeof seed);
    mimir_drbg_from_seed(&d, seed, sizeof seed, "test-split");
    mimir_rss_rng rng = mimir_rss_rng_drbg(&d);
    for (int k = 0; k < NIN; k++) {
        void *comp[3] = {in[k].comp[0], in[k].comp[1], in[k].comp[2]};
        mimir_err err = {0};
        if (mimir_rss_split(64, in[k].plain, in_n[k], &rng, comp, &err) != MIMIR_OK)
            fprintf(stderr, "split failed: %s\n", err.msg);
    }
    mimir_drbg_wipe(&d);
    for (size_t j = 0; j < N; j++)
        pub_c[j] = (mimir_r128)rnd() << 64 | rnd();
    pub_k = (mimir_r128)rnd() << 64 | 12345;
    for (int j = 0; j < 6; j++)
        pub_pl[j] = rnd();
    for (int j = 0; j < 20; j++)
        pub_pr[j] = (mimir_r128)rnd() << 64 | rnd();
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < MIMIR_COIN_SEED_BYTES; k++)
            coin_seed[i][k] = (uint8_t)(31 * i + k);
    for (int k = 0; k < MIMIR_DEALER_SEED_BYTES; k++)
        dealer_seed[k] = (uint8_t)(200 - k);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void fault_case(const char *kind, int bad, int fkind, uint64_t at, unsigned bit, int skip,
                       const char *what, const char *want)
{
    mimir_spdz_fault f = {fkind, at, bit, 0, 0, 0};
    run(kind, SC_FAULT, 0, bad, f, skip, NULL);
    check_fault(what, bad, want);
}

int main(void)
{
    snprintf(dir, sizeof dir, "tests/tmp/spdz.XXXXXX");
    if (cluster3_setup(dir, "test_spdz") != 0)
        return 1;
    make_inputs();
    mimir_spdz_fault none;
    memset(&none, 0, sizeof none);

    run("tcp", SC_ARITH, 0, -1, none, 0, NULL);
    check_arith("tcp, malicious", 0);

    char tp[3][300], tq[3][300];
    for (int i = 0; i < 3; i++) {
        snprintf(tp[i], sizeof tp[i], "%s/t%d.jsonl", dir, i);
        snprintf(tq[i], sizeof tq[i], "%s/u%d.jsonl", dir, i);
    }
    run("unix", SC_ARITH, 0, -1, none, 0, tp);
    check_arith("unix, malicious, with transcripts", 0);
    run("unix", SC_ARITH, 0, -1, none, 0, tq);
    check_arith("unix, malicious, again", 0);
    mimir_transcript_report rp, rq;
    mimir_err err = {0};
    const char *const pp[3] = {tp[0], tp[1], tp[2]}, *const pq[3] = {tq[0], tq[1], tq[2]};
    int v1 = mimir_transcript_verify3(pp, &rp, &err);
    CHECK(v1 == MIMIR_OK && rp.opens > 0 && rp.checks > 0,
          "the three transcripts cross-check (%d: %s: %s; %llu opens, %llu checks)", v1,
          err.file, err.msg, (unsigned long long)rp.opens, (unsigned long long)rp.checks);
    int v2 = mimir_transcript_verify3(pq, &rq, &err);
    CHECK(v2 == MIMIR_OK && memcmp(rp.final_chain, rq.final_chain, sizeof rp.final_chain) == 0,
          "fixed seeds: a second run gives byte-identical transcripts (final chains equal)");

    run("unix", SC_ARITH, 1, -1, none, 0, NULL);
    check_arith("unix, semi-honest", 1);
    CHECK(parties[0].st.checks >= 1, "semi-honest: the copy check still runs");

    /* faults: both honest parties fail with MIMIR_ESECURITY naming the check */
    fault_case("unix", 1, MIMIR_SPDZ_FAULT_OPEN_FLIP, 0, 70, 0,
               "party 1 flips bit 70 of an opened word", "replicated copy check: component x1 "
               "as opened by party 1 differs from party 0's copy");
    fault_case("unix", 2, MIMIR_SPDZ_FAULT_OPEN_FLIP, 0, 5, 1,
               "party 2 flips bit 5 of an opened word, honest parties skip the copy check",
               "MAC check failed: the opened values are inconsistent with their MACs");
    fault_case("tcp", 0, MIMIR_SPDZ_FAULT_OPEN_FLIP, 0, 63, 1,
               "party 0 flips bit 63 of an opened word, honest parties skip the copy check",
               "MAC check failed: the opened values are inconsistent with their MACs");
    fault_case("unix", 0, MIMIR_SPDZ_FAULT_COPY, 0, 0, 0,
               "party 0 keeps an inconsistent copy", "replicated copy check: component x1 as "
               "opened by party 1 differs from party 0's copy");
    fault_case("tcp", 1, MIMIR_SPDZ_FAULT_MAC_VALUE, 0, 0, 0,
               "party 1 sends a wrong MAC check value (committed)",
               "MAC check failed: the opened values are inconsistent with their MACs");
    fault_case("unix", 2, MIMIR_SPDZ_FAULT_MAC_COMMIT, 0, 0, 0,
               "party 2 opens another MAC check value than committed",
               "MAC check: party 2's value does not match its commitment");
    fault_case("unix", 1, MIMIR_SPDZ_FAULT_INPUT_COPY, 1, 0, 0,
               "party 1 sends wrong input digests", "input: inconsistent replicated copies: "
               "component x");
    fault_case("tcp", 0, MIMIR_SPDZ_FAULT_INPUT_MAC, 0, 0, 0,
               "party 0 adds an error to an input MAC",
               "MAC check failed: the opened values are inconsistent with their MACs");
    run("unix", SC_FAULT, 0, -1, none, 0, NULL);
    int fine = parties[0].rc == MIMIR_OK && parties[1].rc == MIMIR_OK &&
               parties[2].rc == MIMIR_OK;
    CHECK(fine, "the fault scenario without a fault succeeds (%s)", parties[0].err.msg);

    /* the automatic check, with the bound set to 1000 elements on every party */
    every_bound = 1000;
    run("unix", SC_EVERY, 0, -1, none, 0, NULL);
    every_bound = 0;
    int eok = 1;
    /* checks / checked elements after: 600 (none), 600 (one check of 600), 300 (none: 900 is
     * within the bound), 2000 (one of 900 first; a bigger open than the bound is allowed
     * alone), then the explicit check of the 2000 */
    static const uint64_t want_checks[EVERY_STEPS] = {0, 1, 1, 2, 3};
    static const uint64_t want_elems[EVERY_STEPS] = {0, 600, 600, 1500, 3500};
    for (int i = 0; i < 3; i++) {
        eok &= parties[i].rc == MIMIR_OK && parties[i].every_ok;
        for (int k = 0; k < EVERY_STEPS; k++)
            eok &= parties[i].every_st[k].checks == want_checks[k] &&
                   parties[i].every_st[k].checked_elements == want_elems[k];
    }
    CHECK(eok, "with the bound at 1000 elements, opens of 600, 600, 300, 2000 run a check "
          "before the second (600 elements) and before the fourth (900), none before the "
          "third; every party alike (party 0: %s; checks %llu %llu %llu %llu %llu)",
          parties[0].err.msg, (unsigned long long)parties[0].every_st[0].checks,
          (unsigned long long)parties[0].every_st[1].checks,
          (unsigned long long)parties[0].every_st[2].checks,
          (unsigned long long)parties[0].every_st[3].checks,
          (unsigned long long)parties[0].every_st[4].checks);

    /* the benchmark shape (MIMIR_SPDZ_BENCH=1: 1x768 by 768x3072, about 1.5 GB in all) */
    if (getenv("MIMIR_SPDZ_BENCH") != NULL) {
        for (int m = 0; m < 2; m++) {
            run("unix", SC_BENCH, m, -1, none, 0, NULL);
            int bok = parties[0].rc == MIMIR_OK && parties[1].rc == MIMIR_OK &&
                      parties[2].rc == MIMIR_OK;
            CHECK(bok, "%s: 1x768 by 768x3072 Beaver matmul ran (%s)",
                  m ? "semi-honest" : "malicious", parties[0].err.msg);
            int big = 1;
            for (int i = 0; i < 3; i++)
                big &= parties[i].big_ok && parties[i].rounds[RD_INPUT] == 2 &&
                       parties[i].rounds[RD_PARTY] == 4;
            CHECK(big, "%s: inputs of chunk + 5 elements spend 2 rounds (client) and 4 (party), "
                  "the party input opens to its values", m ? "semi-honest" : "malicious");
            printf("# %s: matmul 1x768x3072 %.1f ms (of which the dealer about %.1f ms), "
                   "then check %.1f ms (party 0, second run)\n",
                   m ? "semi-honest" : "malicious", parties[0].bench_ms[0],
                   parties[0].bench_ms[2], parties[0].bench_ms[1]);
        }
    }

    /* bad input */
    mimir_sv v = {0};
    CHECK(mimir_sv_alloc(&v, 0, 1, &err) == MIMIR_OK && v.n == 0 && v.x[0] != NULL,
          "a vector of 0 elements can be allocated");
    mimir_sv_free(&v);
    mimir_sv_free(&v);
    mimir_spdz_free(NULL);
    mimir_spdz *s = (mimir_spdz *)1;
    CHECK(mimir_spdz_new(NULL, NULL, NULL, NULL, NULL, &s, &err) == MIMIR_EINPUT && s == NULL,
          "an engine without a net is refused (EINPUT)");

    reset_parties();
    for (int k = 0; k < NIN; k++) {
        free(in[k].plain);
        for (int p = 0; p < 3; p++)
            free(in[k].comp[p]);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tap_done();
}
