/*
 * bench_gen — distributed preprocessing (lib/gen.h) between three parties as threads in this
 * process, TLS 1.3 over loopback TCP, fixed coin-toss seeds (every run does the same work),
 * beside the trusted dealer's *3 functions (lib/dealer.h: all three parties' shares in one
 * thread, what `mimir-triples deal` runs).
 *
 * One JSON line per measurement:
 *   gen_triples        checked scalar triples per second (batches of N_T), bytes party 0 sends
 *                      per triple, rounds per batch
 *   gen_matrix         checked 1x768 by 768x3072 matrix triples per second, bytes per triple
 *   gen_edabits        checked edaBits per second (each with its 64 shared bits)
 *   dealer3_triples    mimir_dealer_triples3, triples per second
 *   dealer3_matrix     mimir_dealer_matrix3 of the same shape, triples per second
 *   gen_vs_dealer      the ratios (target: matrix >= 1/3)
 *   gen_wmask          one checked 768x3072 weight mask (mimir_gen_wmask): ms, bytes party 0
 *                      sends per weight, explicit bytes party 0 keeps per weight
 *   gen_wpairs         checked 1-row weight pairs against it, WP_COUNT per batch: pairs per
 *                      second, bytes party 0 sends per pair
 *   dealer3_wmask      mimir_dealer_wmask3 / wpair3 of the same shapes, and the ratios
 * The three parties share this machine's cores (and the dealer runs alone on one), so the
 * distributed numbers are a floor for one party per machine.
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
#include "gen.h"
#include "mem.h"
#include "net.h"

#define N_T ((size_t)1 << 16)
#define REPS_T 3
#define MM_ROWS 1
#define MM_INNER 768
#define MM_COLS 3072
#define REPS_MM 3
#define N_E 2048
#define REPS_E 1
#define WM_INNER 768 /* GPT-2 small's MLP c_fc weight */
#define WM_COLS 3072
#define WP_COUNT 16

static char dir[64];
static const uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES] = "mimir bench_gen dealer seed 001";

typedef struct party {
    int self;
    const char *json;
    int rc;
    mimir_err err;
    double t_s, mm_s, e_s, wm_s, wp_s;
    uint64_t t_bytes, mm_bytes, t_rounds, wm_bytes, wp_bytes;
    size_t wm_keep;
} party;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t sent(mimir_net *net, int self)
{
    uint64_t b = 0;
    for (int p = 0; p < 3; p++)
        if (p != self) {
            mimir_net_stats st;
            mimir_net_get_stats(net, p, &st);
            b += st.bytes_sent;
        }
    return b;
}

/* An all-to-all round of one byte: the parties start a timed section together. */
static int sync3(mimir_net *net, int self, mimir_err *err)
{
    uint8_t out = 1, in[3];
    mimir_net_io io[3];
    memset(io, 0, sizeof io);
    for (int p = 0; p < 3; p++)
        if (p != self)
            io[p] = (mimir_net_io){1, &out, 1, 1, &in[p], 1};
    return mimir_net_exchange(net, io, err);
}

static int bench(party *me, mimir_net *net)
{
    mimir_err *e = &me->err;
    mimir_coin *coin = NULL;
    mimir_gen *g = NULL;
    uint8_t seed[32];
    memset(seed, 0x50 + me->self, sizeof seed);
    mimir_coin_opts co = {seed, 0};
    int rc = mimir_coin_toss(net, &co, &coin, e);
    mimir_gen_opts go;
    memset(&go, 0, sizeof go);
    go.fixed_seed = seed;
    if (rc == MIMIR_OK)
        rc = mimir_gen_new(net, coin, NULL, &go, &g, e);
    mimir_sv a, b, c;
    if (rc == MIMIR_OK)
        rc = sync3(net, me->self, e);
    double t0 = now_s();
    uint64_t b0 = sent(net, me->self), r0 = mimir_net_rounds(net);
    for (int i = 0; i < REPS_T && rc == MIMIR_OK; i++) {
        rc = mimir_gen_triples(g, N_T, &a, &b, &c, e);
        mimir_sv_free(&a), mimir_sv_free(&b), mimir_sv_free(&c);
    }
    me->t_s = now_s() - t0;
    me->t_bytes = sent(net, me->self) - b0;
    me->t_rounds = mimir_net_rounds(net) - r0;
    if (rc == MIMIR_OK)
        rc = sync3(net, me->self, e);
    t0 = now_s();
    b0 = sent(net, me->self);
    for (int i = 0; i < REPS_MM && rc == MIMIR_OK; i++) {
        rc = mimir_gen_matrix(g, MM_ROWS, MM_INNER, MM_COLS, &a, &b, &c, e);
        mimir_sv_free(&a), mimir_sv_free(&b), mimir_sv_free(&c);
    }
    me->mm_s = now_s() - t0;
    me->mm_bytes = sent(net, me->self) - b0;
    if (rc == MIMIR_OK)
        rc = sync3(net, me->self, e);
    t0 = now_s();
    for (int i = 0; i < REPS_E && rc == MIMIR_OK; i++) {
        rc = mimir_gen_edabits(g, N_E, &a, &b, e);
        mimir_sv_free(&a), mimir_sv_free(&b);
    }
    me->e_s = now_s() - t0;
    mimir_wmask m;
    memset(&m, 0, sizeof m);
    if (rc == MIMIR_OK)
        rc = sync3(net, me->self, e);
    t0 = now_s();
    b0 = sent(net, me->self);
    if (rc == MIMIR_OK)
        rc = mimir_gen_wmask(g, WM_INNER, WM_COLS, &m, e);
    me->wm_s = now_s() - t0;
    me->wm_bytes = sent(net, me->self) - b0;
    me->wm_keep = mimir_wmask_bytes(&m);
    if (rc == MIMIR_OK)
        rc = sync3(net, me->self, e);
    t0 = now_s();
    b0 = sent(net, me->self);
    if (rc == MIMIR_OK) {
        rc = mimir_gen_wpairs(g, &m, 1, 0, WP_COUNT, &a, &c, e);
        mimir_sv_free(&a), mimir_sv_free(&c);
    }
    me->wp_s = now_s() - t0;
    me->wp_bytes = sent(net, me->self) - b0;
    mimir_wmask_free(&m);
    mimir_gen_free(g);
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

static void free3(mimir_sv v[3])
{
    for (int p = 0; p < 3; p++)
        mimir_sv_free(&v[p]);
}

/* The dealer's *3 functions, one thread: triples and matrix triples per second. */
static int bench_dealer(double *t_rate, double *mm_rate, double *wm_ms, double *wp_rate)
{
    mimir_err err;
    mimir_dealer *d = NULL;
    int rc = mimir_dealer_new(dealer_seed, 0, 1, &d, &err);
    mimir_sv a[3], b[3], c[3];
    double t0 = now_s();
    for (int i = 0; i < REPS_T && rc == MIMIR_OK; i++) {
        rc = mimir_dealer_triples3(d, N_T, a, b, c, &err);
        free3(a), free3(b), free3(c);
    }
    *t_rate = (double)N_T * REPS_T / (now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < REPS_MM && rc == MIMIR_OK; i++) {
        rc = mimir_dealer_matrix3(d, MM_ROWS, MM_INNER, MM_COLS, a, b, c, &err);
        free3(a), free3(b), free3(c);
    }
    *mm_rate = REPS_MM / (now_s() - t0);
    mimir_wmask m[3];
    memset(m, 0, sizeof m);
    t0 = now_s();
    if (rc == MIMIR_OK)
        rc = mimir_dealer_wmask3(d, WM_INNER, WM_COLS, m, &err);
    *wm_ms = (now_s() - t0) * 1e3;
    t0 = now_s();
    for (int i = 0; i < WP_COUNT && rc == MIMIR_OK; i++) {
        rc = mimir_dealer_wpair3(d, &m[0], 1, 0, a, c, &err);
        free3(a), free3(c);
    }
    *wp_rate = WP_COUNT / (now_s() - t0);
    for (int p = 0; p < 3; p++)
        mimir_wmask_free(&m[p]);
    mimir_dealer_free(d);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, "bench_gen", &err);
    return rc;
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 3;
    snprintf(dir, sizeof dir, "/tmp/mimir-bench-gen.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("bench_gen: mkdtemp");
        return 3;
    }
    mimir_err err;
    for (int i = 0; i < 3; i++) {
        char cert[128], key[128], cn[32];
        snprintf(cert, sizeof cert, "%s/p%d.pem", dir, i);
        snprintf(key, sizeof key, "%s/p%d.key", dir, i);
        snprintf(cn, sizeof cn, "bench party %d", i);
        if (mimir_cluster_gencert(cert, key, cn, 1, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "bench_gen", &err);
            return 3;
        }
    }
    char addr[3][128], json[2048];
    for (int i = 0; i < 3; i++)
        snprintf(addr[i], sizeof addr[i], "tcp:127.0.0.1:%d", mimir_cluster_free_port());
    snprintf(json, sizeof json,
             "{\"version\":1,\"session\":\"62656e63685f67656e00000000000001\","
             "\"peer_timeout_ms\":120000,\"parties\":["
             "{\"index\":0,\"address\":\"%s\",\"cert\":\"p0.pem\",\"key\":\"p0.key\"},"
             "{\"index\":1,\"address\":\"%s\",\"cert\":\"p1.pem\",\"key\":\"p1.key\"},"
             "{\"index\":2,\"address\":\"%s\",\"cert\":\"p2.pem\",\"key\":\"p2.key\"}]}",
             addr[0], addr[1], addr[2]);
    party P[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&P[i], 0, sizeof P[i]);
        P[i].self = i;
        P[i].json = json;
        pthread_create(&th[i], NULL, party_main, &P[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        if (P[i].rc != MIMIR_OK) {
            mimir_err_print(stderr, "bench_gen", &P[i].err);
            return 1;
        }
    double d_t = 0, d_mm = 0, d_wm = 0, d_wp = 0;
    if (bench_dealer(&d_t, &d_mm, &d_wm, &d_wp) != MIMIR_OK)
        return 1;
    const party *p = &P[0];
    double g_t = (double)N_T * REPS_T / p->t_s, g_mm = REPS_MM / p->mm_s;
    printf("{\"bench\":\"gen_triples\",\"transport\":\"tcp-tls13\",\"batch\":%zu,"
           "\"triples_per_s\":%.0f,\"bytes_sent_per_triple\":%.1f,\"rounds_per_batch\":%.1f}\n",
           N_T, g_t, (double)p->t_bytes / ((double)N_T * REPS_T),
           (double)p->t_rounds / REPS_T);
    printf("{\"bench\":\"gen_matrix\",\"transport\":\"tcp-tls13\",\"shape\":\"%dx%dx%d\","
           "\"triples_per_s\":%.2f,\"ms\":%.1f,\"bytes_sent_per_triple\":%.0f}\n", MM_ROWS,
           MM_INNER, MM_COLS, g_mm, p->mm_s / REPS_MM * 1e3, (double)p->mm_bytes / REPS_MM);
    printf("{\"bench\":\"gen_edabits\",\"transport\":\"tcp-tls13\",\"edabits_per_s\":%.0f}\n",
           (double)N_E * REPS_E / p->e_s);
    printf("{\"bench\":\"dealer3_triples\",\"triples_per_s\":%.0f}\n", d_t);
    printf("{\"bench\":\"dealer3_matrix\",\"shape\":\"%dx%dx%d\",\"triples_per_s\":%.2f}\n",
           MM_ROWS, MM_INNER, MM_COLS, d_mm);
    printf("{\"bench\":\"gen_vs_dealer\",\"scalar_ratio\":%.3f,\"matrix_ratio\":%.3f,"
           "\"matrix_target\":0.333,\"matrix_target_met\":%s}\n", g_t / d_t, g_mm / d_mm,
           g_mm / d_mm >= 1.0 / 3 ? "true" : "false");
    double nw = (double)WM_INNER * WM_COLS, g_wp = WP_COUNT / p->wp_s;
    printf("{\"bench\":\"gen_wmask\",\"transport\":\"tcp-tls13\",\"shape\":\"%dx%d\","
           "\"ms\":%.1f,\"bytes_sent_per_weight\":%.1f,\"bytes_kept_per_weight\":%.1f}\n",
           WM_INNER, WM_COLS, p->wm_s * 1e3, (double)p->wm_bytes / nw,
           (double)p->wm_keep / nw);
    printf("{\"bench\":\"gen_wpairs\",\"transport\":\"tcp-tls13\",\"rows\":1,\"batch\":%d,"
           "\"pairs_per_s\":%.2f,\"bytes_sent_per_pair\":%.0f}\n",
           WP_COUNT, g_wp, (double)p->wp_bytes / WP_COUNT);
    printf("{\"bench\":\"dealer3_wmask\",\"shape\":\"%dx%d\",\"ms\":%.1f,"
           "\"wpairs_per_s\":%.2f,\"wmask_ratio\":%.3f,\"wpair_ratio\":%.3f}\n",
           WM_INNER, WM_COLS, d_wm, d_wp, d_wm / (p->wm_s * 1e3), g_wp / d_wp);
    fflush(stdout);
    return 0;
}
