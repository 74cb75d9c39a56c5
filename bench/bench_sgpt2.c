/*
 * bench_sgpt2 — secure GPT-2 generation (lib/sgpt2.h) by three party PROCESSES on one machine,
 * TLS 1.3 over loopback TCP (lib/net.h), each with the trusted dealer of lib/dealer.h from one
 * fixed seed as its preprocessing source (a simulation: in production the items come from
 * pools, docs/protocol.md "Preprocessing"), and the plaintext fixed-point reference
 * (lib/gpt2_fixed.c) on the same tokens in the same run.
 *
 *   bench_sgpt2 [--model DIR] [--name NAME] [--prompt N] [--new N] [--work DIR]
 *               [--semi-honest]
 *
 * Defaults: models/tiny, a 16-token prompt, 33 new tokens (the median is over the 32 tokens
 * after the first). The model is split with bin/mimir-share (a bundle per party in the work
 * directory, default bench/out/sgpt2-NAME); each party process reads its own bundle, loads the
 * weights (fixed-mask weight products, lib/spdz.h), frees the share, and runs the generation
 * loop of mimir_sgpt2_steps: prompt tokens as client-split one-hot vectors, every generated
 * token output to the client (with the MAC check) and fed back as a shared one-hot.
 *
 * One JSON line: per generated token (the steps that sample, after the first) the median and
 * mean wall ms at party 0, the ONLINE ms (wall minus the time the party spent inside its
 * dealer, the slowest party), the dealer ms, rounds and payload bytes sent per party, the
 * weight load time, each party's peak RSS (VmHWM), whether the secure tokens equal the
 * plaintext fixed-point greedy tokens, the plaintext ms per token and the ratio.
 * Exit status: 0 ran and tokens agree, 1 tokens differ, 2 bad usage, 3 runtime failure.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "coin.h"
#include "compare.h"
#include "dealer.h"
#include "gpt2_fixed.h"
#include "mem.h"
#include "model.h"
#include "net.h"
#include "prep.h"
#include "rss.h"
#include "sgpt2.h"
#include "sharefile.h"
#include "spdz.h"

#include "../tests/unit/cluster3.h"

#define MAXSTEPS 512
#define SHARE_MAX ((size_t)16 << 30)

static const uint8_t dealer_seed[MIMIR_DEALER_SEED_BYTES] = "mimir bench_sgpt2 dealer seed 1";

static const char *model_dir = "models/tiny", *name = "tiny", *work = NULL;
static int prompt_len = 16, n_new = 33, semi_honest = 0;
static int binary = MIMIR_COMPARE_BINARY_DEFAULT; /* --compare binary|arithmetic */
static mimir_gpt2_config cfg;
static char workdir[200], certdir[256];

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int32_t prompt_token(int k)
{
    return (int32_t)(((uint64_t)k * 37 + 11) % (uint64_t)cfg.vocab_size);
}

/* --- a preprocessing source that times the dealer ------------------------------------------ */

typedef struct tprep {
    mimir_prep *in;
    double ms, cpu; /* wall and CPU time spent inside the dealer */
    mimir_prep self;
} tprep;

#define TIMED(call)                                                                            \
    do {                                                                                       \
        tprep *t = ctx;                                                                        \
        double t0 = now_ms(), c0 = cpu_ms();                                                   \
        int rc_ = (call);                                                                      \
        t->ms += now_ms() - t0;                                                                \
        t->cpu += cpu_ms() - c0;                                                               \
        return rc_;                                                                            \
    } while (0)

static int t_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c, mimir_err *e)
{
    TIMED(mimir_prep_triples(((tprep *)ctx)->in, n, a, b, c, e));
}
static int t_matrix(void *ctx, size_t r, size_t i, size_t c, mimir_sv *a, mimir_sv *b,
                    mimir_sv *cc, mimir_err *e)
{
    TIMED(mimir_prep_matrix(((tprep *)ctx)->in, r, i, c, a, b, cc, e));
}
static int t_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *rh, mimir_sv *r63,
                   mimir_err *e)
{
    TIMED(mimir_prep_trunc(((tprep *)ctx)->in, n, f, r, rh, r63, e));
}
static int t_edabits(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *e)
{
    TIMED(mimir_prep_edabits(((tprep *)ctx)->in, n, r, bits, e));
}
static int t_wmask(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *e)
{
    TIMED(mimir_prep_wmask(((tprep *)ctx)->in, inner, cols, out, e));
}
static int t_wpair(void *ctx, const mimir_wmask *m, size_t rows, int tr, mimir_sv *a,
                   mimir_sv *c, mimir_err *e)
{
    TIMED(mimir_prep_wpair(((tprep *)ctx)->in, m, rows, tr, a, c, e));
}

static int t_btriples(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c, mimir_err *e)
{
    TIMED(mimir_prep_btriples(((tprep *)ctx)->in, n, a, b, c, e));
}
static int t_cmasks(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d, mimir_bv *db,
                    mimir_err *e)
{
    TIMED(mimir_prep_cmasks(((tprep *)ctx)->in, n, r, rb, d, db, e));
}

static const mimir_prep_ops tops = {
    .btriples = t_btriples,
    .cmasks = t_cmasks,
    .triples = t_triples,
    .matrix = t_matrix,
    .trunc = t_trunc,
    .edabits = t_edabits,
    .wmask = t_wmask,
    .wpair = t_wpair,
};

/* --- one party (a child process) ----------------------------------------------------------- */

typedef struct step_rec {
    double ms, prep_ms, out_ms, cpu_ms, prep_cpu;
    uint64_t rounds, bytes;
    mimir_r64 idx[2];
} step_rec;

static uint64_t bytes_sent(const mimir_net *net, int self)
{
    uint64_t b = 0;
    for (int p = 0; p < 3; p++) {
        if (p == self)
            continue;
        mimir_net_stats st;
        mimir_net_get_stats(net, p, &st);
        b += st.bytes_sent;
    }
    return b;
}

static long vm_hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

static int fill_rand(void *ctx, uint8_t *buf, size_t n)
{
    uint64_t *st = ctx;
    for (size_t k = 0; k < n; k++) {
        *st ^= *st << 13, *st ^= *st >> 7, *st ^= *st << 17;
        buf[k] = (uint8_t)*st;
    }
    return 0;
}

#define TRY(x)                                                                                 \
    do {                                                                                       \
        if ((rc = (x)) != MIMIR_OK)                                                            \
            goto out;                                                                          \
    } while (0)

static int party_run(int self, const char *cluster_json, FILE *res, mimir_err *e)
{
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_coin *coin = NULL;
    mimir_dealer *dl = NULL;
    mimir_spdz *s = NULL;
    mimir_share *sh = NULL;
    mimir_sgpt2 *g = NULL;
    mimir_sv tok = {0}, nxt = {0}, idx = {0};
    mimir_r64 *comp[3] = {NULL, NULL, NULL}, *oh = NULL;
    static step_rec rec[MAXSTEPS];
    size_t V = (size_t)cfg.vocab_size;
    tprep tp = {0};
    int rc, steps = mimir_sgpt2_steps(prompt_len, n_new);
    uint8_t coin_seed[MIMIR_COIN_SEED_BYTES];
    memset(coin_seed, 0x40 + self, sizeof coin_seed);
    TRY(mimir_cluster_parse(cluster_json, strlen(cluster_json), "cluster.json", certdir, self,
                            &cl, e));
    mimir_net_opts no;
    memset(&no, 0, sizeof no);
    TRY(mimir_net_open(cl, &no, &net, e));
    mimir_coin_opts co = {coin_seed, 0};
    TRY(mimir_coin_toss(net, &co, &coin, e));
    TRY(mimir_dealer_new(dealer_seed, self, !semi_honest, &dl, e));
    mimir_dealer_set_binary(dl, binary);
    tp.in = mimir_dealer_prep(dl);
    tp.self.ops = &tops;
    tp.self.ctx = &tp;
    tp.self.binary = binary;
    mimir_r128 alpha[2];
    mimir_dealer_alpha(dl, alpha);
    mimir_spdz_opts so = {0};
    so.semi_honest = semi_honest;
    rc = mimir_spdz_new(net, coin, &tp.self, alpha, &so, &s, e);
    mimir_wipe(alpha, sizeof alpha);
    if (rc != MIMIR_OK)
        goto out;
    char path[600];
    snprintf(path, sizeof path, "%s/m.p%d", workdir, self);
    double t0 = now_ms();
    TRY(mimir_share_read(path, SHARE_MAX, &sh, e));
    TRY(mimir_sgpt2_new_consume(s, &cfg, sh, &g, e)); /* frees each matrix once loaded */
    double load_ms = now_ms() - t0, load_prep = tp.ms;
    mimir_share_free(sh);
    sh = NULL;
    int macs = mimir_spdz_macs(s);
    TRY(mimir_sv_alloc(&nxt, V, macs, e));
    TRY(mimir_sv_alloc(&idx, 1, macs, e));
    /* the client's split of the prompt's one-hot vectors: the same deterministic split in
     * every party process (a benchmark; a client would send each party its pair) */
    uint64_t st = 0x243f6a8885a308d3ull;
    mimir_rss_rng rng = {fill_rand, &st};
    for (int q = 0; q < 3; q++)
        if ((comp[q] = calloc(V, sizeof(mimir_r64))) == NULL)
            return mimir_err_set(e, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if ((oh = calloc(V, sizeof *oh)) == NULL)
        return mimir_err_set(e, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    for (int k = 0; k < steps && k < MAXSTEPS; k++) {
        double w0 = now_ms(), p0 = tp.ms, c0 = cpu_ms(), pc0 = tp.cpu;
        uint64_t r0 = mimir_net_rounds(net), b0 = bytes_sent(net, self);
        if (k < prompt_len) {
            memset(oh, 0, V * sizeof *oh);
            oh[prompt_token(k)] = 1;
            void *c[3] = {comp[0], comp[1], comp[2]};
            TRY(mimir_rss_split(64, oh, V, &rng, c, e));
            mimir_sv_free(&tok);
            const mimir_r64 *const cc[2] = {comp[self], comp[(self + 1) % 3]};
            TRY(mimir_spdz_input_shares(s, cc, V, &tok, e));
        }
        int sample = k >= prompt_len - 1;
        TRY(mimir_sgpt2_step(g, &tok, sample ? &nxt : NULL, sample ? &idx : NULL, NULL, e));
        double o0 = now_ms();
        if (sample) {
            mimir_r64 *const ci[2] = {&rec[k].idx[0], &rec[k].idx[1]};
            TRY(mimir_spdz_output(s, &idx, ci, e));
            mimir_sv t = tok;
            tok = nxt;
            nxt = t;
        }
        rec[k].ms = now_ms() - w0;
        rec[k].out_ms = now_ms() - o0;
        rec[k].prep_ms = tp.ms - p0;
        rec[k].cpu_ms = cpu_ms() - c0;
        rec[k].prep_cpu = tp.cpu - pc0;
        rec[k].rounds = mimir_net_rounds(net) - r0;
        rec[k].bytes = bytes_sent(net, self) - b0;
    }
    TRY(mimir_net_close(net, e));
    fprintf(res, "load %.3f %.3f %zu\n", load_ms, load_prep, (size_t)0);
    for (int k = 0; k < steps && k < MAXSTEPS; k++)
        fprintf(res, "step %d %.3f %.3f %.3f %.3f %.3f %llu %llu %llu %llu\n", k, rec[k].ms,
                rec[k].prep_ms, rec[k].out_ms, rec[k].cpu_ms, rec[k].prep_cpu,
                (unsigned long long)rec[k].rounds,
                (unsigned long long)rec[k].bytes, (unsigned long long)rec[k].idx[0],
                (unsigned long long)rec[k].idx[1]);
    fprintf(res, "hwm %ld\n", vm_hwm_kb());
out:
    for (int q = 0; q < 3; q++)
        free(comp[q]);
    free(oh);
    mimir_sv_free(&tok);
    mimir_sv_free(&nxt);
    mimir_sv_free(&idx);
    mimir_sgpt2_free(g);
    mimir_share_free(sh);
    mimir_spdz_free(s);
    mimir_dealer_free(dl);
    mimir_coin_free(coin);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return rc;
}

/* --- the parent: split, spawn, collect ----------------------------------------------------- */

typedef struct presult {
    double load_ms, load_prep;
    step_rec st[MAXSTEPS];
    long hwm_kb;
} presult;

static presult pres[3];

static int read_result(int p)
{
    char path[600], line[512];
    snprintf(path, sizeof path, "%s/result.p%d", workdir, p);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        int k;
        step_rec r;
        unsigned long long a, b, c, d;
        size_t z;
        if (sscanf(line, "load %lf %lf %zu", &pres[p].load_ms, &pres[p].load_prep, &z) == 3)
            continue;
        if (sscanf(line, "hwm %ld", &pres[p].hwm_kb) == 1)
            continue;
        if (sscanf(line, "step %d %lf %lf %lf %lf %lf %llu %llu %llu %llu", &k, &r.ms,
                   &r.prep_ms, &r.out_ms, &r.cpu_ms, &r.prep_cpu, &a, &b, &c, &d) == 10 &&
            k >= 0 && k < MAXSTEPS) {
            r.rounds = a, r.bytes = b, r.idx[0] = c, r.idx[1] = d;
            pres[p].st[k] = r;
            n++;
        }
    }
    fclose(f);
    return n;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_sgpt2 [--model DIR] [--name NAME] [--prompt N] [--new N] "
                    "[--work DIR] [--semi-honest] [--compare binary|arithmetic]\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--semi-honest") == 0) {
            semi_honest = 1;
            continue;
        }
        if (v == NULL)
            return usage();
        if (strcmp(a, "--compare") == 0 && (strcmp(v, "binary") == 0 || strcmp(v, "arithmetic") == 0))
            binary = strcmp(v, "binary") == 0;
        else if (strcmp(a, "--model") == 0)
            model_dir = v;
        else if (strcmp(a, "--name") == 0)
            name = v;
        else if (strcmp(a, "--work") == 0)
            work = v;
        else if (strcmp(a, "--prompt") == 0)
            prompt_len = atoi(v);
        else if (strcmp(a, "--new") == 0)
            n_new = atoi(v);
        else
            return usage();
        i++;
    }
    int steps = mimir_sgpt2_steps(prompt_len, n_new);
    if (prompt_len < 1 || n_new < 2 || steps > MAXSTEPS)
        return usage();
    mimir_err err;
    char path[700], cmd[2048];
    snprintf(path, sizeof path, "%s/config.json", model_dir);
    uint8_t *cj = NULL;
    size_t cl = 0;
    if (mimir_read_file(path, 1 << 20, &cj, &cl, &err) != MIMIR_OK ||
        mimir_gpt2_config_parse(path, (const char *)cj, cl, &cfg, &err) != MIMIR_OK) {
        mimir_err_print(stderr, "bench_sgpt2", &err);
        return 2;
    }
    free(cj);
    if (steps > cfg.n_ctx)
        return usage();
    if (work != NULL)
        snprintf(workdir, sizeof workdir, "%s", work);
    else
        snprintf(workdir, sizeof workdir, "bench/out/sgpt2-%s", name);
    mkdir("bench/out", 0700);
    mkdir(workdir, 0700);
    /* certificates (cluster3.h makes them in a fresh directory; move the pems here) */
    snprintf(certdir, sizeof certdir, "%s/certs.XXXXXX", workdir);
    if (cluster3_setup(certdir, "bench_sgpt2") != 0)
        return 3;
    /* the model split into three bundles, once per work directory and model */
    snprintf(path, sizeof path, "%s/m.p2/model.shares", workdir);
    struct stat sb, mb;
    char mpath[600];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", model_dir);
    double ts = now_ms();
    if (stat(path, &sb) != 0 || stat(mpath, &mb) != 0 || sb.st_mtime < mb.st_mtime) {
        snprintf(cmd, sizeof cmd,
                 "bin/mimir-share split --force --seed "
                 "6d696d69722062656e63682073677074322073706c6974207365656420303100 "
                 "-o '%s/m' '%s' >&2",
                 workdir, model_dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench_sgpt2: %s: failed, expected bundles %s/m.p0..2\n", cmd,
                    workdir);
            return 3;
        }
    }
    double split_ms = now_ms() - ts;
    char addr[3][200], json[4400];
    cluster3_addresses(addr, "tcp", certdir, "b.");
    char session[33];
    snprintf(session, sizeof session, "%016llx%016llx", 0x6d696d6972ull,
             (unsigned long long)getpid());
    cluster3_json(json, sizeof json, session, addr);
    /* a party may compute (deal a weight mask, expand a large product) for minutes while its
     * peers wait: 10 minutes of peer timeout instead of cluster3.h's 5 s */
    static const char t5[] = "\"peer_timeout_ms\": 5000,";
    char *pt = strstr(json, t5), json2[4200];
    if (pt != NULL) {
        snprintf(json2, sizeof json2, "%.*s\"peer_timeout_ms\": 600000,%s", (int)(pt - json),
                 json, pt + strlen(t5));
        snprintf(json, sizeof json, "%s", json2);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid[3];
    double t0 = now_ms();
    for (int p = 0; p < 3; p++) {
        if ((pid[p] = fork()) < 0) {
            perror("bench_sgpt2: fork");
            return 3;
        }
        if (pid[p] == 0) {
            char rpath[700];
            snprintf(rpath, sizeof rpath, "%s/result.p%d", workdir, p);
            FILE *res = fopen(rpath, "w");
            mimir_err e;
            mimir_err_clear(&e);
            int rc = res != NULL ? party_run(p, json, res, &e) : MIMIR_ERUNTIME;
            if (rc != MIMIR_OK) {
                char tag[32];
                snprintf(tag, sizeof tag, "bench_sgpt2: party %d", p);
                mimir_err_print(stderr, tag, &e);
            }
            if (res != NULL)
                fclose(res);
            _exit(rc == MIMIR_OK ? 0 : 3);
        }
    }
    int failed = 0;
    for (int p = 0; p < 3; p++) {
        int stv;
        while (waitpid(pid[p], &stv, 0) < 0 && errno == EINTR)
            ;
        failed |= !WIFEXITED(stv) || WEXITSTATUS(stv) != 0;
    }
    double total_ms = now_ms() - t0;
    for (int p = 0; p < 3 && !failed; p++)
        failed |= read_result(p) != steps;
    if (failed) {
        fprintf(stderr, "bench_sgpt2: a party failed (see above)\n");
        return 3;
    }
    /* the secure tokens, joined as the client would */
    int32_t sec[MAXSTEPS];
    for (int k = prompt_len - 1; k < steps; k++) {
        mimir_r64 c[3][2], x;
        mimir_rss_view v[3];
        for (int p = 0; p < 3; p++) {
            c[p][0] = pres[p].st[k].idx[0];
            c[p][1] = pres[p].st[k].idx[1];
            v[p] = (mimir_rss_view){p, {&c[p][0], &c[p][1]}, NULL};
        }
        if (mimir_rss_join(64, 1, v, 3, &x, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "bench_sgpt2: output", &err);
            return 1;
        }
        sec[k] = (int32_t)x;
    }
    /* the plaintext fixed-point reference on the same tokens, timed per step */
    mimir_gpt2 *m = NULL;
    mimir_gpt2_fixed *fx = NULL;
    double *lg = NULL, fx_ms[MAXSTEPS];
    int agree = 0, n_sampled = steps - (prompt_len - 1);
    if (mimir_gpt2_load(model_dir, &m, &err) != MIMIR_OK ||
        mimir_gpt2_fixed_new(m, &fx, &err) != MIMIR_OK ||
        (lg = malloc((size_t)cfg.vocab_size * sizeof *lg)) == NULL) {
        mimir_err_print(stderr, "bench_sgpt2: reference", &err);
        return 3;
    }
    for (int k = 0; k < steps; k++) {
        int32_t t = k < prompt_len ? prompt_token(k) : sec[k - 1];
        double f0 = now_ms();
        if (mimir_gpt2_fixed_step(fx, t, lg, NULL, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "bench_sgpt2: reference", &err);
            return 3;
        }
        int best = 0;
        for (int j = 1; j < cfg.vocab_size; j++)
            best = lg[j] > lg[best] ? j : best;
        fx_ms[k] = now_ms() - f0;
        agree += k >= prompt_len - 1 && best == sec[k];
    }
    mimir_gpt2_fixed_free(fx);
    mimir_gpt2_free(m);
    free(lg);
    /* per generated token: the sampling steps after the first (those feed a token back) */
    static double wall[MAXSTEPS], online[MAXSTEPS], fxs[MAXSTEPS];
    double sum_wall = 0, sum_prep = 0, sum_online = 0, sum_out = 0, rounds = 0, bytes = 0;
    double prompt_ms = 0, cpu_on[3] = {0, 0, 0}, cpu_deal[3] = {0, 0, 0};
    int nt = 0;
    for (int k = 0; k < prompt_len - 1; k++)
        prompt_ms += pres[0].st[k].ms;
    for (int k = prompt_len; k < steps; k++, nt++) {
        double on = 0, pr = 0, by = 0;
        for (int p = 0; p < 3; p++) {
            double o = pres[p].st[k].ms - pres[p].st[k].prep_ms;
            on = o > on ? o : on;
            pr = pres[p].st[k].prep_ms > pr ? pres[p].st[k].prep_ms : pr;
            by = (double)pres[p].st[k].bytes > by ? (double)pres[p].st[k].bytes : by;
            cpu_on[p] += pres[p].st[k].cpu_ms - pres[p].st[k].prep_cpu;
            cpu_deal[p] += pres[p].st[k].prep_cpu;
        }
        wall[nt] = pres[0].st[k].ms;
        online[nt] = on;
        fxs[nt] = fx_ms[k];
        sum_wall += wall[nt], sum_online += on, sum_prep += pr, sum_out += pres[0].st[k].out_ms;
        rounds += (double)pres[0].st[k].rounds;
        bytes += by;
    }
    double mw = median(wall, nt), mo = median(online, nt), mf = median(fxs, nt);
    /* CPU time is what a loaded machine cannot hide: the online CPU per token of the busiest
     * party, and the sum over the three divided by the cores they share, bound the wall time
     * an otherwise idle machine would need (plus rounds x round latency) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double cmax = 0, csum = 0;
    for (int p = 0; p < 3; p++) {
        cpu_on[p] /= nt, cpu_deal[p] /= nt;
        cmax = cpu_on[p] > cmax ? cpu_on[p] : cmax;
        csum += cpu_on[p];
    }
    double proj = csum / (double)(cores < 3 ? cores : 3);
    proj = proj > cmax ? proj : cmax;
    printf("{\"bench\":\"sgpt2_generate\",\"model\":\"%s\",\"name\":\"%s\",\"layers\":%d,"
           "\"n_embd\":%d,\"heads\":%d,\"vocab\":%d,\"n_ctx\":%d,\"security\":\"%s\","
           "\"route\":\"three party processes, TLS 1.3 over loopback TCP, trusted dealer in "
           "each party (seeded simulation)\",\"compare\":\"%s\",\"prompt_tokens\":%d,\"new_tokens\":%d,"
           "\"tokens_timed\":%d,\"ms_per_token_median\":%.2f,\"ms_per_token_mean\":%.2f,"
           "\"online_ms_per_token_median\":%.2f,\"online_ms_per_token_mean\":%.2f,"
           "\"dealer_ms_per_token_mean\":%.2f,\"output_check_ms_per_token_mean\":%.2f,"
           "\"rounds_per_token\":%.1f,\"bytes_sent_per_party_per_token\":%.0f,"
           "\"prompt_ms\":%.1f,\"first_token_ms\":%.1f,\"load_ms\":[%.0f,%.0f,%.0f],"
           "\"load_dealer_ms\":[%.0f,%.0f,%.0f],\"peak_rss_mib\":[%.1f,%.1f,%.1f],"
           "\"split_ms\":%.0f,\"total_ms\":%.0f,\"plain_fixed_ms_per_token_median\":%.3f,"
           "\"ratio_online_to_plain\":%.1f,\"ratio_wall_to_plain\":%.1f,"
           "\"online_cpu_ms_per_token\":[%.1f,%.1f,%.1f],\"dealer_cpu_ms_per_token\":[%.1f,"
           "%.1f,%.1f],\"cores\":%ld,\"cpu_bound_ms_per_token\":%.1f,"
           "\"tokens_agree\":%d,\"tokens_sampled\":%d}\n",
           model_dir, name, cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.vocab_size, cfg.n_ctx,
           semi_honest ? "semi-honest" : "malicious", binary ? "binary" : "arithmetic",
           prompt_len, n_new, nt, mw,
           sum_wall / nt, mo, sum_online / nt, sum_prep / nt, sum_out / nt, rounds / nt,
           bytes / nt, prompt_ms, pres[0].st[prompt_len - 1].ms, pres[0].load_ms,
           pres[1].load_ms, pres[2].load_ms, pres[0].load_prep, pres[1].load_prep,
           pres[2].load_prep, pres[0].hwm_kb / 1024.0, pres[1].hwm_kb / 1024.0,
           pres[2].hwm_kb / 1024.0, split_ms, total_ms, mf, mf > 0 ? mo / mf : 0,
           mf > 0 ? mw / mf : 0, cpu_on[0], cpu_on[1], cpu_on[2], cpu_deal[0], cpu_deal[1],
           cpu_deal[2], cores, proj, agree, n_sampled);
    if (agree != n_sampled) {
        fprintf(stderr, "bench_sgpt2: %d of %d secure tokens equal the fixed-point reference's\n",
                agree, n_sampled);
        return 1;
    }
    return 0;
}
