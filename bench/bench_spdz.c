/*
 * bench_spdz — the online engine (lib/spdz.h) between three parties as threads in this process,
 * TLS 1.3 over loopback TCP (lib/net.h), with preprocessing from the trusted dealer
 * (lib/dealer.h) of a fixed seed and fixed coin-toss seeds, so every run does the same work.
 *
 * Prints one JSON line per measurement, for security "malicious" and "semi-honest":
 *   spdz_round          one all-to-all round of 1 byte per channel (round_us) and a 1-byte
 *                       ping-pong between parties 0 and 1 (rtt_us): the latency floor
 *   spdz_open_checked   opens of 2^20 elements, each followed by mimir_spdz_check (elements/s)
 *   spdz_mul            Beaver products of 2^18 elements (elements/s), then one check
 *   spdz_trunc          probabilistic truncations of 2^18 elements by 16 bits, then one check
 *   spdz_beaver_matmul  1x768 times 768x3072 (ms per matmul, bytes party 0 sends, rounds), then
 *                       one check (check_ms)
 *   dealer_matrix       the dealer alone: party 0's share of 1x768x3072 matrix triples
 * Dealer time is excluded from the engine numbers: the items a timed call will take are dealt
 * before the clock starts (a queue in front of the dealer), and the parties meet in an
 * all-to-all round right before it. Loopback numbers are a floor: real links add latency to
 * every round. Three parties share this machine's cores, so compute-bound numbers are a third
 * or so of what one party per machine would see.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "coin.h"
#include "dealer.h"
#include "mem.h"
#include "net.h"
#include "prep.h"
#include "spdz.h"

#define N_OPEN ((size_t)1 << 20)
#define REPS_OPEN 3
#define N_MUL ((size_t)1 << 18)
#define REPS_MUL 4
#define TRUNC_F 16
#define MM_ROWS 1
#define MM_INNER 768
#define MM_COLS 3072
#define REPS_MM 3
#define REPS_DEALER 3
#define ROUNDS 500
#define PINGS 500
#define QUEUE 8

static char dir[64];
static const uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES] = "mimir bench_spdz dealer seed 01";

/* --- A queue in front of the dealer: items dealt before the clock starts ------------------ */

typedef struct item {
    int kind;
    size_t a, b, c; /* n, f for triples and trunc pairs; rows, inner, cols for matrices */
    mimir_sv v[3];
} item;

typedef struct queue {
    mimir_prep prep; /* what the engine takes from */
    mimir_prep *dealer;
    item q[QUEUE];
    size_t head, len;
} queue;

static item *front(queue *qu, int kind, size_t a, size_t b, size_t c)
{
    if (qu->len == 0)
        return NULL;
    item *it = &qu->q[qu->head];
    if (it->kind != kind || it->a != a || it->b != b || it->c != c)
        return NULL;
    return it;
}

static void pop(queue *qu, mimir_sv *x, mimir_sv *y, mimir_sv *z)
{
    item *it = &qu->q[qu->head];
    *x = it->v[0], *y = it->v[1], *z = it->v[2];
    memset(it, 0, sizeof *it);
    qu->head = (qu->head + 1) % QUEUE;
    qu->len--;
}

static int q_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    queue *qu = ctx;
    if (front(qu, MIMIR_PREP_TRIPLE, n, 0, 0) == NULL)
        return mimir_prep_triples(qu->dealer, n, a, b, c, err);
    pop(qu, a, b, c);
    return MIMIR_OK;
}

static int q_matrix(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a, mimir_sv *b,
                    mimir_sv *c, mimir_err *err)
{
    queue *qu = ctx;
    if (front(qu, MIMIR_PREP_MATRIX, rows, inner, cols) == NULL)
        return mimir_prep_matrix(qu->dealer, rows, inner, cols, a, b, c, err);
    pop(qu, a, b, c);
    return MIMIR_OK;
}

static int q_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi, mimir_sv *r_63,
                   mimir_err *err)
{
    queue *qu = ctx;
    if (front(qu, MIMIR_PREP_TRUNC, n, f, 0) == NULL)
        return mimir_prep_trunc(qu->dealer, n, f, r, r_hi, r_63, err);
    pop(qu, r, r_hi, r_63);
    return MIMIR_OK;
}

static const mimir_prep_ops queue_ops = {
    .triples = q_triples,
    .matrix = q_matrix,
    .trunc = q_trunc,
};

/* Deals one item now and queues it for the engine. */
static int prefetch(queue *qu, int kind, size_t a, size_t b, size_t c, mimir_err *err)
{
    if (qu->len == QUEUE)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "queue", "full");
    item *it = &qu->q[(qu->head + qu->len) % QUEUE];
    int rc;
    if (kind == MIMIR_PREP_TRIPLE)
        rc = mimir_prep_triples(qu->dealer, a, &it->v[0], &it->v[1], &it->v[2], err);
    else if (kind == MIMIR_PREP_MATRIX)
        rc = mimir_prep_matrix(qu->dealer, a, b, c, &it->v[0], &it->v[1], &it->v[2], err);
    else
        rc = mimir_prep_trunc(qu->dealer, a, (unsigned)b, &it->v[0], &it->v[1], &it->v[2],
                              err);
    if (rc != MIMIR_OK)
        return rc;
    it->kind = kind, it->a = a, it->b = b, it->c = c;
    qu->len++;
    return MIMIR_OK;
}

static void queue_free(queue *qu)
{
    while (qu->len > 0) {
        mimir_sv x, y, z;
        pop(qu, &x, &y, &z);
        mimir_sv_free(&x), mimir_sv_free(&y), mimir_sv_free(&z);
    }
}

/* --- One party ----------------------------------------------------------------------------- */

typedef struct party {
    int self, semi;
    const char *json;
    int rc;
    mimir_err err;
    double round_us, rtt_us;
    double open_eps;
    double mul_eps, mul_check_ms, trunc_eps, trunc_check_ms;
    double mm_ms, mm_check_ms, mm_bytes, mm_rounds;
} party;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One all-to-all round of 1 byte per channel: also the barrier before a timed section. */
static int meet(mimir_net *net, int self, mimir_err *err)
{
    uint8_t out[3] = {1, 1, 1}, in[3];
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (p != self)
            io[p] = (mimir_net_io){1, &out[p], 1, 1, &in[p], 1};
    return mimir_net_exchange(net, io, err);
}

static int latency(party *me, mimir_net *net)
{
    int rc = MIMIR_OK, s = me->self;
    mimir_err *e = &me->err;
    double t0 = now_s();
    for (int i = 0; i < ROUNDS && rc == MIMIR_OK; i++)
        rc = meet(net, s, e);
    me->round_us = (now_s() - t0) / ROUNDS * 1e6;
    uint8_t b = 1;
    mimir_net_io io[MIMIR_NET_PARTIES];
    t0 = now_s();
    for (int i = 0; i < PINGS && rc == MIMIR_OK; i++) {
        /* two rounds: 0 -> 1, then 1 -> 0; party 2 takes part in the rounds with no I/O */
        for (int dirn = 0; dirn < 2 && rc == MIMIR_OK; dirn++) {
            memset(io, 0, sizeof io);
            int from = dirn == 0 ? 0 : 1, to = dirn == 0 ? 1 : 0;
            if (s == from)
                io[to] = (mimir_net_io){1, &b, 1, 0, NULL, 0};
            else if (s == to)
                io[from] = (mimir_net_io){0, NULL, 0, 1, &b, 1};
            rc = mimir_net_exchange(net, io, e);
        }
    }
    me->rtt_us = (now_s() - t0) / PINGS * 1e6;
    return rc;
}

/* Random shared vectors: the a and b of n dealer triples (c is dropped). */
static int random_pair(mimir_prep *dealer, size_t n, mimir_sv *a, mimir_sv *b, mimir_err *err)
{
    mimir_sv c;
    int rc = mimir_prep_triples(dealer, n, a, b, &c, err);
    mimir_sv_free(&c);
    return rc;
}

static int bench_open(party *me, mimir_spdz *s, mimir_net *net, mimir_prep *dealer)
{
    mimir_err *e = &me->err;
    mimir_sv v, w;
    mimir_r128 *out = malloc(N_OPEN * sizeof *out);
    if (out == NULL)
        return mimir_err_set(e, MIMIR_ERUNTIME, NULL, "bench", "out of memory");
    int rc = random_pair(dealer, N_OPEN, &v, &w, e);
    if (rc == MIMIR_OK)
        rc = meet(net, me->self, e);
    double t0 = now_s();
    for (int i = 0; i < REPS_OPEN && rc == MIMIR_OK; i++) {
        const mimir_sv *vs[1] = {&v};
        mimir_r128 *const outs[1] = {out};
        rc = mimir_spdz_open(s, 1, vs, outs, e);
        if (rc == MIMIR_OK)
            rc = mimir_spdz_check(s, e);
    }
    me->open_eps = (double)N_OPEN * REPS_OPEN / (now_s() - t0);
    mimir_sv_free(&v), mimir_sv_free(&w);
    free(out);
    return rc;
}

/* REPS_MUL products (trunc: truncations) of N_MUL elements, then one check. */
static int bench_mul(party *me, mimir_spdz *s, mimir_net *net, queue *qu, int trunc)
{
    mimir_err *e = &me->err;
    mimir_sv a, b;
    int rc = random_pair(qu->dealer, N_MUL, &a, &b, e);
    double busy = 0;
    for (int i = 0; i < REPS_MUL && rc == MIMIR_OK; i++) {
        if (trunc)
            rc = prefetch(qu, MIMIR_PREP_TRUNC, N_MUL, TRUNC_F, 0, e);
        else
            rc = prefetch(qu, MIMIR_PREP_TRIPLE, N_MUL, 0, 0, e);
        if (rc == MIMIR_OK)
            rc = meet(net, me->self, e);
        double t0 = now_s();
        if (rc == MIMIR_OK && trunc)
            rc = mimir_spdz_trunc(s, &a, &a, TRUNC_F, e);
        else if (rc == MIMIR_OK)
            rc = mimir_spdz_mul(s, &a, &a, &b, e);
        busy += now_s() - t0;
    }
    double t0 = now_s();
    if (rc == MIMIR_OK)
        rc = mimir_spdz_check(s, e);
    double check = now_s() - t0;
    if (trunc)
        me->trunc_eps = (double)N_MUL * REPS_MUL / busy, me->trunc_check_ms = check * 1e3;
    else
        me->mul_eps = (double)N_MUL * REPS_MUL / busy, me->mul_check_ms = check * 1e3;
    mimir_sv_free(&a), mimir_sv_free(&b);
    return rc;
}

static int bench_matmul(party *me, mimir_spdz *s, mimir_net *net, queue *qu)
{
    mimir_err *e = &me->err;
    mimir_sv x, w, c, out;
    memset(&out, 0, sizeof out);
    /* inputs: the A and B of a dealer matrix triple (uniform shared matrices) */
    int rc = mimir_prep_matrix(qu->dealer, MM_ROWS, MM_INNER, MM_COLS, &x, &w, &c, e);
    mimir_sv_free(&c);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&out, (size_t)MM_ROWS * MM_COLS, mimir_spdz_macs(s), e);
    double busy = 0;
    uint64_t bytes = 0, rounds = 0;
    for (int i = 0; i < REPS_MM && rc == MIMIR_OK; i++) {
        rc = prefetch(qu, MIMIR_PREP_MATRIX, MM_ROWS, MM_INNER, MM_COLS, e);
        if (rc == MIMIR_OK)
            rc = meet(net, me->self, e);
        mimir_net_stats st0[3], st1[3];
        for (int p = 0; p < 3; p++)
            if (p != me->self)
                mimir_net_get_stats(net, p, &st0[p]);
        uint64_t r0 = mimir_net_rounds(net);
        double t0 = now_s();
        if (rc == MIMIR_OK)
            rc = mimir_spdz_matmul(s, &out, &x, &w, MM_ROWS, MM_INNER, MM_COLS, e);
        busy += now_s() - t0;
        rounds += mimir_net_rounds(net) - r0;
        for (int p = 0; p < 3; p++)
            if (p != me->self) {
                mimir_net_get_stats(net, p, &st1[p]);
                bytes += st1[p].bytes_sent - st0[p].bytes_sent;
            }
    }
    double t0 = now_s();
    if (rc == MIMIR_OK)
        rc = mimir_spdz_check(s, e);
    me->mm_check_ms = (now_s() - t0) * 1e3;
    me->mm_ms = busy / REPS_MM * 1e3;
    me->mm_bytes = (double)bytes / REPS_MM;
    me->mm_rounds = (double)rounds / REPS_MM;
    mimir_sv_free(&x), mimir_sv_free(&w), mimir_sv_free(&out);
    return rc;
}

static int bench(party *me, mimir_net *net)
{
    mimir_err *e = &me->err;
    uint8_t seed[MIMIR_COIN_SEED_BYTES];
    memset(seed, 0x40 + me->self, sizeof seed);
    mimir_coin_opts co = {seed, 0};
    mimir_coin *coin = NULL;
    mimir_dealer *dl = NULL;
    mimir_spdz *s = NULL;
    queue qu;
    memset(&qu, 0, sizeof qu);
    int rc = mimir_coin_toss(net, &co, &coin, e);
    if (rc == MIMIR_OK)
        rc = mimir_dealer_new(dealer_seed, me->self, !me->semi, &dl, e);
    if (rc == MIMIR_OK) {
        qu.dealer = mimir_dealer_prep(dl);
        qu.prep.ops = &queue_ops;
        qu.prep.ctx = &qu;
        mimir_r128 alpha[2];
        mimir_dealer_alpha(dl, alpha);
        mimir_spdz_opts so;
        memset(&so, 0, sizeof so);
        so.semi_honest = me->semi;
        rc = mimir_spdz_new(net, coin, &qu.prep, alpha, &so, &s, e);
        mimir_wipe(alpha, sizeof alpha);
    }
    if (rc == MIMIR_OK)
        rc = latency(me, net);
    if (rc == MIMIR_OK)
        rc = bench_open(me, s, net, qu.dealer);
    if (rc == MIMIR_OK)
        rc = bench_mul(me, s, net, &qu, 0);
    if (rc == MIMIR_OK)
        rc = bench_mul(me, s, net, &qu, 1);
    if (rc == MIMIR_OK)
        rc = bench_matmul(me, s, net, &qu);
    mimir_spdz_free(s);
    queue_free(&qu);
    mimir_dealer_free(dl);
    mimir_coin_free(coin);
    return rc;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_err_clear(&me->err);
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "bench", dir, me->self, &cl,
                                 &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_open(cl, NULL, &net, &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = bench(me, net);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_close(net, &me->err);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return NULL;
}

static int run(int semi)
{
    char addr[3][128], json[2048];
    for (int i = 0; i < 3; i++)
        snprintf(addr[i], sizeof addr[i], "tcp:127.0.0.1:%d", mimir_cluster_free_port());
    snprintf(json, sizeof json,
             "{\"version\":1,\"session\":\"62656e63685f7370647a000000000001\","
             "\"peer_timeout_ms\":60000,\"parties\":["
             "{\"index\":0,\"address\":\"%s\",\"cert\":\"p0.pem\",\"key\":\"p0.key\"},"
             "{\"index\":1,\"address\":\"%s\",\"cert\":\"p1.pem\",\"key\":\"p1.key\"},"
             "{\"index\":2,\"address\":\"%s\",\"cert\":\"p2.pem\",\"key\":\"p2.key\"}]}",
             addr[0], addr[1], addr[2]);
    party parties[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&parties[i], 0, sizeof parties[i]);
        parties[i].self = i;
        parties[i].semi = semi;
        parties[i].json = json;
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        if (parties[i].rc != MIMIR_OK) {
            mimir_err_print(stderr, "bench_spdz", &parties[i].err);
            return 1;
        }
    const party *p = &parties[0];
    const char *sec = semi ? "semi-honest" : "malicious";
    printf("{\"bench\":\"spdz_round\",\"security\":\"%s\",\"transport\":\"tcp-tls13\","
           "\"round_us\":%.1f,\"rtt_us\":%.1f,\"bytes\":1}\n", sec, p->round_us, p->rtt_us);
    printf("{\"bench\":\"spdz_open_checked\",\"security\":\"%s\",\"elements\":%zu,"
           "\"elements_per_s\":%.0f}\n", sec, N_OPEN, p->open_eps);
    printf("{\"bench\":\"spdz_mul\",\"security\":\"%s\",\"elements\":%zu,"
           "\"elements_per_s\":%.0f,\"check_ms\":%.1f,\"checked_elements\":%zu}\n", sec, N_MUL,
           p->mul_eps, p->mul_check_ms, N_MUL * REPS_MUL);
    printf("{\"bench\":\"spdz_trunc\",\"security\":\"%s\",\"elements\":%zu,\"f\":%d,"
           "\"elements_per_s\":%.0f,\"check_ms\":%.1f,\"checked_elements\":%zu}\n", sec, N_MUL,
           TRUNC_F, p->trunc_eps, p->trunc_check_ms, N_MUL * REPS_MUL);
    printf("{\"bench\":\"spdz_beaver_matmul\",\"security\":\"%s\",\"shape\":\"%dx%dx%d\","
           "\"ms\":%.2f,\"bytes_sent_per_party\":%.0f,\"rounds\":%.1f,\"check_ms\":%.1f,"
           "\"checked_matmuls\":%d}\n", sec, MM_ROWS, MM_INNER, MM_COLS, p->mm_ms, p->mm_bytes,
           p->mm_rounds, p->mm_check_ms, REPS_MM);
    fflush(stdout);
    return 0;
}

/* The dealer alone, one thread: party 0's share, with and without MACs. */
static int bench_dealer(int macs)
{
    mimir_err err;
    mimir_dealer *d = NULL;
    if (mimir_dealer_new(dealer_seed, 0, macs, &d, &err) != MIMIR_OK) {
        mimir_err_print(stderr, "bench_spdz", &err);
        return 1;
    }
    double t0 = now_s();
    int rc = MIMIR_OK;
    for (int i = 0; i < REPS_DEALER && rc == MIMIR_OK; i++) {
        mimir_sv a, b, c;
        rc = mimir_prep_matrix(mimir_dealer_prep(d), MM_ROWS, MM_INNER, MM_COLS, &a, &b, &c,
                               &err);
        mimir_sv_free(&a), mimir_sv_free(&b), mimir_sv_free(&c);
    }
    double dt = now_s() - t0;
    mimir_dealer_free(d);
    if (rc != MIMIR_OK) {
        mimir_err_print(stderr, "bench_spdz", &err);
        return 1;
    }
    size_t elems = (size_t)MM_ROWS * MM_INNER + (size_t)MM_INNER * MM_COLS +
                   (size_t)MM_ROWS * MM_COLS;
    printf("{\"bench\":\"dealer_matrix\",\"security\":\"%s\",\"shape\":\"%dx%dx%d\","
           "\"triples_per_s\":%.2f,\"ms\":%.1f,\"elements_per_s\":%.0f}\n",
           macs ? "malicious" : "semi-honest", MM_ROWS, MM_INNER, MM_COLS, REPS_DEALER / dt,
           dt / REPS_DEALER * 1e3, (double)elems * REPS_DEALER / dt);
    fflush(stdout);
    return 0;
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 3;
    snprintf(dir, sizeof dir, "/tmp/mimir-bench-spdz.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("bench_spdz: mkdtemp");
        return 3;
    }
    mimir_err err;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        char cert[128], key[128];
        snprintf(cert, sizeof cert, "%s/p%d.pem", dir, i);
        snprintf(key, sizeof key, "%s/p%d.key", dir, i);
        if (mimir_cluster_gencert(cert, key, "bench", 1, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "bench_spdz", &err);
            rc = 3;
        }
    }
    if (rc == 0)
        rc = bench_dealer(1);
    if (rc == 0)
        rc = bench_dealer(0);
    if (rc == 0)
        rc = run(0);
    if (rc == 0)
        rc = run(1);
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/p%d.pem", dir, i);
        unlink(p);
        snprintf(p, sizeof p, "%s/p%d.key", dir, i);
        unlink(p);
    }
    rmdir(dir);
    return rc;
}
