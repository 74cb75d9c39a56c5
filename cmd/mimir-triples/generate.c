/*
 * mimir-triples generate: one of the three parties generates, together with the other two and
 * with no trusted party, the preprocessed items a plan needs (lib/gen.h), each checked by
 * sacrifice, and writes its own pool (created_by "parties"). A new pool is put in place only when
 * the whole run succeeded; an existing pool of the same party and session (made by generate) gets
 * the new batches appended, each once verified, and its stats.json counts a failed sacrifice.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "coin.h"
#include "gen.h"
#include "hex.h"
#include "io.h"
#include "mem.h"
#include "net.h"
#include "plan.h"
#include "pool.h"
#include "tool.h"
#include "sha256.h"

#define SUB "generate"
#define MAX_COUNT MIMIR_PLAN_MAX_COUNT
#define DEFAULT_F MIMIR_PLAN_DEFAULT_F
#define DEFAULT_BATCH ((uint64_t)1 << 16) /* triples / pairs per batch file */
#define MAX_BATCH ((uint64_t)1 << 22)
#define BITS_BATCH ((uint64_t)1 << 12)    /* edaBits / truncation pairs / comparison masks per
                                           * batch file (at most) */
#define BTRIPLE_BATCH ((uint64_t)MIMIR_GEN_BTRIPLE_BATCH) /* boolean triple words per batch
                                                           * file (at most) */
#define SEED_FILE_MAX 256
#define PROGRESS_EVERY_NS 200000000LL
#define WPAIR_BATCH_ELEMS ((uint64_t)1 << 22) /* elements of A and C per weight-pair batch */
#define MODE_NEW 1
#define MODE_APPEND 2

/* The request: the flags' items and the plan's (lib/plan.h). */
typedef mimir_plan_items req;

typedef struct gopts {
    int party;
    const char *cluster, *seed_file, *plan, *output;
    int json, progress;
    uint64_t batch;
    int bind_model; /* the plan names a model: bind the pool to it (lib/plan.h) */
    uint8_t model_digest[MIMIR_PLAN_DIGEST_BYTES];
#ifdef MIMIR_TEST_HOOKS
    mimir_gen_fault fault;
#endif
} gopts;

static void help(void)
{
    printf(
        "Usage: %s generate --party I --cluster FILE [options] -o POOLDIR\n\n"
        "Party I generates, with the other two parties of the cluster and no trusted party,\n"
        "MAC'd preprocessed items checked by sacrifice, and writes its own pool POOLDIR\n"
        "(created_by \"parties\"). Run the same command at all three parties. A new POOLDIR is\n"
        "put in place only if the whole run succeeds; an existing one (made by generate, same\n"
        "party and session) gets the new batches appended.\n\n"
        "Options:\n"
        "      --party I           this party's index (0, 1 or 2)\n"
        "      --cluster FILE      the cluster file (addresses, certificates, session id)\n"
        "  -o, --output POOLDIR    the party's pool directory\n"
        "      --triples N         N scalar Beaver triples (repeatable, added up)\n"
        "      --matrix RxIxC[:K]  K (default 1) matrix triples of shape (R x I) * (I x C)\n"
        "                          (repeatable)\n"
        "      --trunc N[:F]       N truncation pairs for F bits (default %d) (repeatable)\n"
        "      --edabits N         N edaBits for comparisons (repeatable, added up)\n"
        "      --btriples N        N words of boolean triples (64 AND gates each) for\n"
        "                          comparisons in the binary domain (repeatable, added up)\n"
        "      --cmasks N          N comparison masks for comparisons in the binary domain\n"
        "                          (repeatable, added up)\n"
        "      --plan FILE         add the items of a JSON plan file (as for deal, weight\n"
        "                          masks and pairs included; `mimir-triples plan` prints one);\n"
        "                          the three parties need the same plan\n"
        "      --seed-file FILE    64 hex digits: a fixed coin-toss seed for a reproducible run\n"
        "                          (the items are only as secret as the three seeds)\n"
        "      --batch N           triples / pairs per batch file (default %llu)\n"
        "      --json              print a JSON summary to stdout\n"
        "      --progress          show a progress bar with rate and ETA on stderr\n"
        "      --no-progress       do not (default: shown when stderr is a terminal)\n"
#ifdef MIMIR_TEST_HOOKS
        "      --test-fault KIND:AT  TEST BUILD: deviate (triple-c, matrix-c, bit, wpair-c,\n"
        "                          wmask-mac, wmask-copy, btriple-z) at event AT\n"
#endif
        "  -h, --help              show this help\n\n"
        "Exit status: 0 done, 1 a sacrifice or MAC check failed (nothing of the failed batch is\n"
        "written), 2 bad usage or input, 3 runtime failure (I/O, a peer gone).\n",
        PROG, DEFAULT_F, (unsigned long long)DEFAULT_BATCH);
}

/* --- item specifications (the same syntax as deal) ----------------------------------------- */

static int add_count(uint64_t *total, uint64_t n, const char *what)
{
    if (n > MAX_COUNT - *total)
        return usage_fail(SUB, "%s: more than %llu in total", what,
                          (unsigned long long)MAX_COUNT);
    *total += n;
    return 0;
}

/* Exactly 64 hex digits, optionally followed by one newline. */
static int read_seed_file(const char *path, uint8_t *seed, mimir_err *err)
{
    uint8_t *buf;
    size_t len, got = 0;
    int rc = mimir_read_file(path, SEED_FILE_MAX, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    size_t n = len;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n != 2 * MIMIR_COIN_SEED_BYTES ||
        mimir_hex_decode((const char *)buf, n, seed, MIMIR_COIN_SEED_BYTES, &got, NULL) != 0 ||
        got != MIMIR_COIN_SEED_BYTES)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                           "expected %d hex digits and an optional newline",
                           2 * MIMIR_COIN_SEED_BYTES);
    mimir_wipe(buf, len);
    free(buf);
    return rc;
}

/* --- progress ------------------------------------------------------------------------------ */

typedef struct progress {
    int on, party;
    uint64_t total, done;
    long long t0, last;
} progress;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void progress_show(progress *pg, uint64_t add, int final)
{
    pg->done += add;
    if (!pg->on)
        return;
    long long t = now_ns();
    if (!final && t - pg->last < PROGRESS_EVERY_NS)
        return;
    pg->last = t;
    double el = (double)(t - pg->t0) / 1e9;
    double frac = pg->total ? (double)pg->done / (double)pg->total : 1.0;
    double rate = el > 0 ? (double)pg->done / el : 0;
    double eta = rate > 0 ? (double)(pg->total - pg->done) / rate : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[30] = '\0';
    fprintf(stderr, "\r%s: party %d: generating [%s] %3d%%  %.3g M elements/s  ETA %d:%02d ",
            PROG, pg->party, bar, (int)(frac * 100), rate / 1e6, (int)eta / 60, (int)eta % 60);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* --- generating ---------------------------------------------------------------------------- */

typedef struct run {
    mimir_gen *g;
    mimir_pool *pool;
    progress pg;
} run;

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void free3(mimir_sv *a, mimir_sv *b, mimir_sv *c)
{
    mimir_sv_free(a);
    mimir_sv_free(b);
    mimir_sv_free(c);
}

/* count pairs bound to mask, in batches of at most `batch` pairs and WPAIR_BATCH_ELEMS
 * elements, each checked by sacrifice and appended. */
static int gen_pairs(run *R, const mimir_wmask *mask, const mimir_plan_wmask *ms,
                     const mimir_plan_wpair *w, uint64_t batch, mimir_err *err)
{
    uint64_t na, nc;
    mimir_plan_wpair_elems(ms, w, &na, &nc);
    uint64_t per = WPAIR_BATCH_ELEMS / (na + nc);
    per = per < 1 ? 1 : per > batch ? batch : per;
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < w->count && rc == MIMIR_OK;) {
        uint64_t k = min64(w->count - done, per);
        mimir_sv a, c;
        rc = mimir_gen_wpairs(R->g, mask, (size_t)w->rows, w->transposed, (size_t)k, &a, &c,
                              err);
        if (rc == MIMIR_OK) {
            rc = mimir_pool_append_wpairs(R->pool, mask->id, mask->inner, mask->cols,
                                          (size_t)w->rows, w->transposed, (size_t)k, &a, &c,
                                          err);
            mimir_sv_free(&a);
            mimir_sv_free(&c);
        }
        done += k;
        progress_show(&R->pg, k * (na + nc), 0);
    }
    return rc;
}

/* The plan's weight masks, each followed by the pairs bound to it. */
static int gen_masks(run *R, const req *r, uint64_t batch, mimir_err *err)
{
    int rc = MIMIR_OK;
    for (size_t i = 0; i < r->nwm && rc == MIMIR_OK; i++) {
        mimir_wmask m;
        rc = mimir_gen_wmask(R->g, (size_t)r->wm[i].inner, (size_t)r->wm[i].cols, &m, err);
        if (rc != MIMIR_OK)
            break;
        rc = mimir_pool_append_wmask(R->pool, &m, err);
        progress_show(&R->pg, r->wm[i].inner * r->wm[i].cols, 0);
        for (size_t j = 0; j < r->nwp && rc == MIMIR_OK; j++)
            if (r->wp[j].mask == i)
                rc = gen_pairs(R, &m, &r->wm[i], &r->wp[j], batch, err);
        mimir_wmask_free(&m);
    }
    return rc;
}

static void free_bv3(mimir_bv *a, mimir_bv *b, mimir_bv *c)
{
    mimir_bv_free(a);
    mimir_bv_free(b);
    mimir_bv_free(c);
}

/* Boolean triples (batch files of at most BTRIPLE_BATCH words, each one cut-and-bucket
 * check) and comparison masks (at most BITS_BATCH per file). */
static int gen_binary(run *R, const req *r, uint64_t batch, mimir_err *err)
{
    int rc = MIMIR_OK;
    uint64_t per = min64(batch, BTRIPLE_BATCH);
    for (uint64_t done = 0; done < r->btriples && rc == MIMIR_OK;) {
        uint64_t n = min64(r->btriples - done, per);
        mimir_bv a, b, c;
        rc = mimir_gen_btriples(R->g, (size_t)n, &a, &b, &c, err);
        if (rc == MIMIR_OK) {
            rc = mimir_pool_append_btriples(R->pool, &a, &b, &c, err);
            free_bv3(&a, &b, &c);
        }
        done += n;
        progress_show(&R->pg, n, 0);
    }
    per = min64(batch, BITS_BATCH);
    for (uint64_t done = 0; done < r->cmasks && rc == MIMIR_OK;) {
        uint64_t n = min64(r->cmasks - done, per);
        mimir_sv rr, d;
        mimir_bv rb, db;
        rc = mimir_gen_cmasks(R->g, (size_t)n, &rr, &rb, &d, &db, err);
        if (rc == MIMIR_OK) {
            rc = mimir_pool_append_cmasks(R->pool, &rr, &rb, &d, &db, err);
            mimir_sv_free(&rr);
            mimir_sv_free(&d);
            mimir_bv_free(&rb);
            mimir_bv_free(&db);
        }
        done += n;
        progress_show(&R->pg, n, 0);
    }
    return rc;
}

/* Everything the request asks for, batch by batch: each batch is checked, then appended. */
static int generate_all(run *R, const req *r, uint64_t batch, mimir_err *err)
{
    mimir_sv a, b, c;
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < r->triples && rc == MIMIR_OK;) {
        uint64_t n = min64(r->triples - done, batch);
        rc = mimir_gen_triples(R->g, (size_t)n, &a, &b, &c, err);
        if (rc == MIMIR_OK) {
            rc = mimir_pool_append_triples(R->pool, &a, &b, &c, err);
            free3(&a, &b, &c);
        }
        done += n;
        progress_show(&R->pg, n, 0);
    }
    for (size_t i = 0; i < r->nmat && rc == MIMIR_OK; i++) {
        const mimir_plan_matrix *m = &r->mat[i];
        for (uint64_t k = 0; k < m->count && rc == MIMIR_OK; k++) {
            rc = mimir_gen_matrix(R->g, m->rows, m->inner, m->cols, &a, &b, &c, err);
            if (rc == MIMIR_OK) {
                rc = mimir_pool_append_matrix(R->pool, m->rows, m->inner, m->cols, &a, &b, &c,
                                              err);
                free3(&a, &b, &c);
            }
            progress_show(&R->pg, m->rows * m->inner + m->inner * m->cols + m->rows * m->cols,
                          0);
        }
    }
    uint64_t bb = min64(batch, BITS_BATCH);
    for (size_t i = 0; i < r->ntr && rc == MIMIR_OK; i++) {
        for (uint64_t done = 0; done < r->tr[i].count && rc == MIMIR_OK;) {
            uint64_t n = min64(r->tr[i].count - done, bb);
            rc = mimir_gen_trunc(R->g, (size_t)n, r->tr[i].f, &a, &b, &c, err);
            if (rc == MIMIR_OK) {
                rc = mimir_pool_append_trunc(R->pool, r->tr[i].f, &a, &b, &c, err);
                free3(&a, &b, &c);
            }
            done += n;
            progress_show(&R->pg, n, 0);
        }
    }
    for (uint64_t done = 0; done < r->edabits && rc == MIMIR_OK;) {
        uint64_t n = min64(r->edabits - done, bb);
        rc = mimir_gen_edabits(R->g, (size_t)n, &a, &b, err);
        if (rc == MIMIR_OK) {
            rc = mimir_pool_append_edabits(R->pool, &a, &b, err);
            mimir_sv_free(&a);
            mimir_sv_free(&b);
        }
        done += n;
        progress_show(&R->pg, n, 0);
    }
    if (rc == MIMIR_OK)
        rc = gen_binary(R, r, batch, err);
    if (rc == MIMIR_OK)
        rc = gen_masks(R, r, batch, err);
    return rc;
}

/* Records what the generator sacrificed (and what failed) in the pool's stats.json. */
static int record(run *R, mimir_err *err)
{
    mimir_gen_stats st;
    mimir_gen_get_stats(R->g, &st);
    int rc = MIMIR_OK;
    for (int k = 1; k <= MIMIR_PREP_KINDS && rc == MIMIR_OK; k++)
        if (st.sacrificed[k - 1] != 0 || st.failed[k - 1] != 0)
            rc = mimir_pool_record_sacrifice(R->pool, k, st.sacrificed[k - 1],
                                             st.failed[k - 1], err);
    return rc;
}

/* SHA-256 of the request and batch size as little-endian words: the three must agree. */
static void req_digest(const req *r, uint64_t batch, uint8_t out[MIMIR_SHA256_BYTES])
{
    mimir_sha256_state h;
    mimir_sha256_init(&h);
    uint64_t w[4] = {r->triples, r->edabits, batch, (uint64_t)r->nmat << 32 | r->ntr};
    mimir_sha256_update(&h, (const uint8_t *)w, sizeof w);
    for (size_t i = 0; i < r->nmat; i++) {
        uint64_t m[4] = {r->mat[i].rows, r->mat[i].inner, r->mat[i].cols, r->mat[i].count};
        mimir_sha256_update(&h, (const uint8_t *)m, sizeof m);
    }
    for (size_t i = 0; i < r->ntr; i++) {
        uint64_t t[2] = {r->tr[i].f, r->tr[i].count};
        mimir_sha256_update(&h, (const uint8_t *)t, sizeof t);
    }
    uint64_t nw[2] = {r->nwm, r->nwp};
    mimir_sha256_update(&h, (const uint8_t *)nw, sizeof nw);
    for (size_t i = 0; i < r->nwm; i++) {
        uint64_t m[2] = {r->wm[i].inner, r->wm[i].cols};
        mimir_sha256_update(&h, (const uint8_t *)m, sizeof m);
    }
    for (size_t i = 0; i < r->nwp; i++) {
        uint64_t p4[4] = {r->wp[i].mask, r->wp[i].rows, (uint64_t)r->wp[i].transposed,
                          r->wp[i].count};
        mimir_sha256_update(&h, (const uint8_t *)p4, sizeof p4);
    }
    if (r->btriples != 0 || r->cmasks != 0) { /* (absent: the digest of a request without) */
        uint64_t bk[2] = {r->btriples, r->cmasks};
        mimir_sha256_update(&h, (const uint8_t *)bk, sizeof bk);
    }
    mimir_sha256_final(&h, out);
}

/* One round: every party says whether it creates or appends and what it will generate (a
 * digest of the request); all must agree, else nothing is generated (MIMIR_EINPUT, the net
 * closed). */
static int agree(mimir_net *net, int self, uint8_t mode, const req *r, uint64_t batch,
                 mimir_err *err)
{
    enum { DB = MIMIR_SHA256_BYTES };
    uint8_t mine[1 + DB], got[3][1 + DB];
    mine[0] = mode;
    req_digest(r, batch, mine + 1);
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int p = 0; p < 3; p++)
        if (p != self)
            io[p] = (mimir_net_io){1, mine, sizeof mine, 1, got[p], sizeof mine};
    int rc = mimir_net_exchange(net, io, err);
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++) {
        if (p == self)
            continue;
        char who[16];
        snprintf(who, sizeof who, "party %d", p);
        if (got[p][0] != mode)
            rc = mimir_err_set(err, MIMIR_EINPUT, who, "-o",
                               "%s an existing pool but this party %s; expected the same at all "
                               "three (all new pools, or all existing ones)",
                               got[p][0] == MODE_APPEND ? "appends to" : "does not append to",
                               mode == MODE_APPEND ? "appends" : "creates a new one");
        else if (memcmp(got[p] + 1, mine + 1, DB) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, who, "items",
                               "asks for other items (or another --batch) than this party; "
                               "expected the same request at all three");
    }
    if (rc != MIMIR_OK) {
        /* Every party sees a differing peer (if both peers matched it, all three would agree),
         * so each stops by itself: an orderly close, no abort frame racing a slower peer's
         * round. */
        mimir_err e2;
        mimir_net_close(net, &e2);
    }
    return rc;
}

static void print_json(const gopts *o, const req *r, const mimir_gen_stats *st,
                       const char *session_hex, int appended, mimir_net *net, double secs)
{
    json_t *mats = json_array(), *trs = json_array(), *gen = json_object(),
           *sac = json_object(), *wms = json_array(), *wps = json_array();
    for (size_t i = 0; i < r->nwm; i++)
        json_array_append_new(wms, json_pack("{s:I, s:I}", "inner", (json_int_t)r->wm[i].inner,
                                             "cols", (json_int_t)r->wm[i].cols));
    for (size_t i = 0; i < r->nwp; i++)
        json_array_append_new(wps, json_pack("{s:I, s:I, s:b, s:I}", "mask",
                                             (json_int_t)r->wp[i].mask, "rows",
                                             (json_int_t)r->wp[i].rows, "transposed",
                                             r->wp[i].transposed, "count",
                                             (json_int_t)r->wp[i].count));
    for (size_t i = 0; i < r->nmat; i++)
        json_array_append_new(mats, json_pack("{s:I, s:I, s:I, s:I}", "rows",
                                              (json_int_t)r->mat[i].rows, "inner",
                                              (json_int_t)r->mat[i].inner, "cols",
                                              (json_int_t)r->mat[i].cols, "count",
                                              (json_int_t)r->mat[i].count));
    for (size_t i = 0; i < r->ntr; i++)
        json_array_append_new(trs, json_pack("{s:i, s:I}", "f", (int)r->tr[i].f, "count",
                                             (json_int_t)r->tr[i].count));
    for (int k = 1; k <= MIMIR_PREP_KINDS; k++) {
        json_object_set_new(gen, mimir_pool_kind_name(k),
                            json_integer((json_int_t)st->generated[k - 1]));
        json_object_set_new(sac, mimir_pool_kind_name(k),
                            json_integer((json_int_t)st->sacrificed[k - 1]));
    }
    uint64_t sent = 0, recv = 0;
    for (int p = 0; p < 3; p++) {
        if (p == o->party)
            continue;
        mimir_net_stats ns;
        mimir_net_get_stats(net, p, &ns);
        sent += ns.bytes_sent;
        recv += ns.bytes_received;
    }
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:s, s:b, s:b, s:{s:I, s:o, s:o, s:I, s:o, s:o}, s:o, s:o, s:I, "
        "s:I, s:I, s:I, s:f}",
        "pool", o->output, "party", o->party, "session", session_hex, "created_by", "parties",
        "appended", appended, "seed", o->seed_file != NULL, "items", "triple",
        (json_int_t)r->triples, "matrix", mats, "trunc", trs, "edabit", (json_int_t)r->edabits,
        "wmask", wms, "wpair", wps,
        "generated", gen, "sacrificed", sac, "sacrifices", (json_int_t)st->sacrifices, "rounds",
        (json_int_t)mimir_net_rounds(net), "bytes_sent", (json_int_t)sent, "bytes_received",
        (json_int_t)recv, "seconds", secs);
    json_t *items = json_object_get(root, "items");
    if (items != NULL && (r->btriples != 0 || r->cmasks != 0)) {
        json_object_set_new(items, "btriple", json_integer((json_int_t)r->btriples));
        json_object_set_new(items, "cmask", json_integer((json_int_t)r->cmasks));
    }
    if (root != NULL) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        fflush(stdout);
    }
    json_decref(root);
}

/* --- arguments ----------------------------------------------------------------------------- */

#ifdef MIMIR_TEST_HOOKS
static int parse_fault(const char *s, mimir_gen_fault *f)
{
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {{"triple-c", MIMIR_GEN_FAULT_TRIPLE_C},
                 {"matrix-c", MIMIR_GEN_FAULT_MATRIX_C},
                 {"bit", MIMIR_GEN_FAULT_BIT},
                 {"wpair-c", MIMIR_GEN_FAULT_WPAIR_C},
                 {"wmask-mac", MIMIR_GEN_FAULT_WMASK_MAC},
                 {"wmask-copy", MIMIR_GEN_FAULT_WMASK_COPY},
                 {"btriple-z", MIMIR_GEN_FAULT_BTRIPLE_Z}};
    const char *colon = strchr(s, ':');
    if (colon == NULL)
        return -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strlen(kinds[i].name) == (size_t)(colon - s) &&
            strncmp(s, kinds[i].name, (size_t)(colon - s)) == 0) {
            f->kind = kinds[i].kind;
            return parse_u64(colon + 1, 0, UINT32_MAX, &f->at);
        }
    return -1;
}
#endif

static int parse_args(int argc, char **argv, gopts *o, req *r)
{
    enum { OPT_PARTY = 256, OPT_CLUSTER, OPT_TRIPLES, OPT_MATRIX, OPT_TRUNC, OPT_EDABITS,
           OPT_PLAN, OPT_SEED_FILE, OPT_BATCH, OPT_JSON, OPT_PROGRESS, OPT_NO_PROGRESS,
           OPT_FAULT, OPT_BTRIPLES, OPT_CMASKS };
    static const struct option lo[] = {
        {"party", required_argument, 0, OPT_PARTY},
        {"cluster", required_argument, 0, OPT_CLUSTER},
        {"output", required_argument, 0, 'o'},
        {"triples", required_argument, 0, OPT_TRIPLES},
        {"matrix", required_argument, 0, OPT_MATRIX},
        {"trunc", required_argument, 0, OPT_TRUNC},
        {"edabits", required_argument, 0, OPT_EDABITS},
        {"btriples", required_argument, 0, OPT_BTRIPLES},
        {"cmasks", required_argument, 0, OPT_CMASKS},
        {"plan", required_argument, 0, OPT_PLAN},
        {"seed-file", required_argument, 0, OPT_SEED_FILE},
        {"batch", required_argument, 0, OPT_BATCH},
        {"json", no_argument, 0, OPT_JSON},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
#ifdef MIMIR_TEST_HOOKS
        {"test-fault", required_argument, 0, OPT_FAULT},
#endif
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    uint64_t v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_PARTY:
            if (parse_u64(optarg, 0, 2, &v) != 0)
                return usage_fail(SUB, "--party %s: expected 0, 1 or 2", optarg);
            o->party = (int)v;
            break;
        case OPT_CLUSTER: o->cluster = optarg; break;
        case 'o': o->output = optarg; break;
        case OPT_TRIPLES:
        case OPT_EDABITS:
            if (parse_u64(optarg, 0, MAX_COUNT, &v) != 0)
                return usage_fail(SUB, "%s %s: expected a count from 0 to %llu",
                                  c == OPT_TRIPLES ? "--triples" : "--edabits", optarg,
                                  (unsigned long long)MAX_COUNT);
            rc = add_count(c == OPT_TRIPLES ? &r->triples : &r->edabits, v,
                           c == OPT_TRIPLES ? "--triples" : "--edabits");
            break;
        case OPT_BTRIPLES:
        case OPT_CMASKS: {
            const char *name = c == OPT_BTRIPLES ? "--btriples" : "--cmasks";
            if (parse_u64(optarg, 0, MAX_COUNT, &v) != 0)
                return usage_fail(SUB, "%s %s: expected a count from 0 to %llu", name, optarg,
                                  (unsigned long long)MAX_COUNT);
            rc = add_count(c == OPT_BTRIPLES ? &r->btriples : &r->cmasks, v, name);
            break;
        }
        case OPT_MATRIX: rc = parse_matrix_opt(SUB, optarg, r); break;
        case OPT_TRUNC: rc = parse_trunc_opt(SUB, optarg, r); break;
        case OPT_PLAN: o->plan = optarg; break;
        case OPT_SEED_FILE: o->seed_file = optarg; break;
        case OPT_BATCH:
            if (parse_u64(optarg, 1, MAX_BATCH, &o->batch) != 0)
                return usage_fail(SUB, "--batch %s: expected a count from 1 to %llu", optarg,
                                  (unsigned long long)MAX_BATCH);
            break;
        case OPT_JSON: o->json = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
#ifdef MIMIR_TEST_HOOKS
        case OPT_FAULT:
            if (parse_fault(optarg, &o->fault) != 0)
                return usage_fail(SUB, "--test-fault %s: expected triple-c, matrix-c, bit, "
                                  "wpair-c, wmask-mac, wmask-copy or btriple-z, ':' and a "
                                  "count", optarg);
            break;
#endif
        case 'h': help(); return -1;
        case ':': return usage_fail(SUB, "%s needs an argument", argv[optind - 1]);
        default: return usage_fail(SUB, "unknown option %s", argv[optind - 1]);
        }
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return usage_fail(SUB, "unexpected argument '%s'", argv[optind]);
    if (o->party < 0)
        return usage_fail(SUB, "no party, expected --party I (0, 1 or 2)");
    if (o->cluster == NULL)
        return usage_fail(SUB, "no cluster file, expected --cluster FILE");
    if (o->output == NULL || o->output[0] == '\0')
        return usage_fail(SUB, "no pool directory, expected -o POOLDIR");
    if (strlen(o->output) > 3000)
        return usage_fail(SUB, "-o: the path is too long");
    return 0;
}

/* --- main ---------------------------------------------------------------------------------- */

/* The existing pool at dir (append mode): same party and session, made by generate. */
static int open_existing(const gopts *o, const mimir_cluster *cl, mimir_pool **pool,
                         mimir_err *err)
{
    int rc = mimir_pool_open(o->output, o->party, cl->session, pool, err);
    mimir_pool_status st;
    if (rc == MIMIR_OK)
        rc = mimir_pool_get_status(*pool, &st, err);
    if (rc == MIMIR_OK && strcmp(st.created_by, "parties") != 0)
        rc = mimir_err_set(err, MIMIR_EINPUT, o->output, "created_by",
                           "\"%s\", expected a pool made by generate (\"parties\"): items the "
                           "parties generate are not appended to a dealer's pool",
                           st.created_by);
    if (rc == MIMIR_OK && !mimir_pool_macs(*pool))
        rc = mimir_err_set(err, MIMIR_EINPUT, o->output, "macs",
                           "a pool without MACs, expected one with MACs");
    return rc;
}

static int generate(const gopts *o, const req *r, mimir_err *err)
{
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_coin *coin = NULL;
    char *tmp = NULL;
    uint8_t *seed = NULL;
    run R;
    memset(&R, 0, sizeof R);
    struct stat sb;
    int appending = stat(o->output, &sb) == 0;
    int rc = mimir_cluster_load(o->cluster, o->party, &cl, err);
    if (rc == MIMIR_OK && o->seed_file != NULL) {
        seed = mimir_key_alloc(MIMIR_COIN_SEED_BYTES);
        rc = seed == NULL ? mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory")
                          : read_seed_file(o->seed_file, seed, err);
    }
    mimir_r128 alpha[2];
    if (rc == MIMIR_OK && appending) {
        rc = open_existing(o, cl, &R.pool, err);
        if (rc == MIMIR_OK)
            mimir_pool_alpha(R.pool, alpha);
        if (rc == MIMIR_OK && o->bind_model)
            rc = mimir_plan_pool_bind(o->output, o->model_digest, err);
    } else if (rc == MIMIR_OK) {
        rc = mimir_dir_begin(o->output, &tmp, err);
    }
    if (rc == MIMIR_OK)
        rc = mimir_net_open(cl, NULL, &net, err);
    if (rc == MIMIR_OK)
        rc = agree(net, o->party, appending ? MODE_APPEND : MODE_NEW, r, o->batch, err);
    if (rc == MIMIR_OK) {
        mimir_coin_opts co = {seed, 0};
        rc = mimir_coin_toss(net, &co, &coin, err);
    }
    if (rc == MIMIR_OK) {
        mimir_gen_opts go;
        memset(&go, 0, sizeof go);
        go.fixed_seed = seed;
#ifdef MIMIR_TEST_HOOKS
        go.fault = o->fault;
#endif
        rc = mimir_gen_new(net, coin, appending ? alpha : NULL, &go, &R.g, err);
    }
    mimir_wipe(alpha, sizeof alpha);
    if (rc == MIMIR_OK && !appending) {
        mimir_gen_alpha(R.g, alpha);
        rc = mimir_pool_create(tmp, o->party, cl->session, alpha, 1, "parties", err);
        mimir_wipe(alpha, sizeof alpha);
        if (rc == MIMIR_OK && o->bind_model)
            rc = mimir_plan_pool_bind(tmp, o->model_digest, err);
        if (rc == MIMIR_OK)
            rc = mimir_pool_open(tmp, o->party, cl->session, &R.pool, err);
    }
    R.pg.on = o->progress == 1 || (o->progress == -1 && isatty(STDERR_FILENO));
    R.pg.party = o->party;
    R.pg.t0 = R.pg.last = now_ns();
    R.pg.total = r->triples + r->edabits + r->btriples + r->cmasks;
    for (size_t i = 0; i < r->nmat; i++)
        R.pg.total += r->mat[i].count * (r->mat[i].rows * r->mat[i].inner +
                                         r->mat[i].inner * r->mat[i].cols +
                                         r->mat[i].rows * r->mat[i].cols);
    for (size_t i = 0; i < r->ntr; i++)
        R.pg.total += r->tr[i].count;
    for (size_t i = 0; i < r->nwm; i++)
        R.pg.total += r->wm[i].inner * r->wm[i].cols;
    for (size_t i = 0; i < r->nwp; i++) {
        uint64_t na, nc;
        mimir_plan_wpair_elems(&r->wm[r->wp[i].mask], &r->wp[i], &na, &nc);
        R.pg.total += r->wp[i].count * (na + nc);
    }
    if (rc == MIMIR_OK)
        rc = generate_all(&R, r, o->batch, err);
    if (R.pg.on)
        progress_show(&R.pg, 0, 1);
    if (R.pool != NULL && R.g != NULL && (rc == MIMIR_OK || appending)) {
        mimir_err e2;
        int rc2 = record(&R, rc == MIMIR_OK ? err : &e2);
        if (rc == MIMIR_OK)
            rc = rc2;
    }
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, err);
    mimir_gen_stats st;
    memset(&st, 0, sizeof st);
    if (R.g != NULL)
        mimir_gen_get_stats(R.g, &st);
    mimir_pool_close(R.pool);
    if (rc == MIMIR_OK && tmp != NULL)
        rc = mimir_dir_commit(tmp, o->output, err);
    if (rc != MIMIR_OK && tmp != NULL)
        mimir_dir_abort(tmp);
    double secs = (double)(now_ns() - R.pg.t0) / 1e9;
    if (rc == MIMIR_OK) {
        char hex[2 * MIMIR_SESSION_BYTES + 1];
        sodium_bin2hex(hex, sizeof hex, cl->session, MIMIR_SESSION_BYTES);
        uint64_t nm = 0, nt = 0, np = 0;
        for (size_t i = 0; i < r->nmat; i++)
            nm += r->mat[i].count;
        for (size_t i = 0; i < r->ntr; i++)
            nt += r->tr[i].count;
        for (size_t i = 0; i < r->nwp; i++)
            np += r->wp[i].count;
        char bin[128] = ""; /* empty without binary kinds: the line stays as it was */
        if (r->btriples != 0 || r->cmasks != 0)
            snprintf(bin, sizeof bin, ", %llu boolean triple words, %llu comparison masks",
                     (unsigned long long)r->btriples, (unsigned long long)r->cmasks);
        fprintf(stderr,
                "%s: party %d: generated %llu triples, %llu matrix triples, %llu truncation "
                "pairs, %llu edaBits, %zu weight masks and %llu weight pairs%s into %s (session "
                "%s; made by the three parties, each checked by sacrifice, %llu checks)\n",
                PROG, o->party, (unsigned long long)r->triples, (unsigned long long)nm,
                (unsigned long long)nt, (unsigned long long)r->edabits, r->nwm,
                (unsigned long long)np, bin, o->output, hex, (unsigned long long)st.sacrifices);
        if (o->json)
            print_json(o, r, &st, hex, appending, net, secs);
    }
    free(tmp);
    mimir_gen_free(R.g);
    mimir_coin_free(coin);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    mimir_key_free(seed);
    return rc;
}

int generate_main(int argc, char **argv)
{
    gopts o;
    memset(&o, 0, sizeof o);
    o.party = -1;
    o.progress = -1;
    o.batch = DEFAULT_BATCH;
    req *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return MIMIR_ERUNTIME;
    }
    int rc = parse_args(argc, argv, &o, r);
    if (rc != 0) {
        free(r);
        return rc < 0 ? 0 : rc;
    }
    mimir_err err;
    mimir_err_clear(&err);
    if (o.plan != NULL &&
        ((rc = mimir_plan_file_items(o.plan, MAX_COUNT, r, &err)) != MIMIR_OK ||
         (rc = mimir_plan_file_model(o.plan, o.model_digest, &o.bind_model, &err)) != MIMIR_OK)) {
        free(r);
        return report(&err);
    }
    if (r->triples == 0 && r->nmat == 0 && r->ntr == 0 && r->edabits == 0 && r->nwm == 0 &&
        r->btriples == 0 && r->cmasks == 0) {
        free(r);
        return usage_fail(SUB, "nothing to generate: give --triples, --matrix, --trunc, "
                          "--edabits, --btriples, --cmasks or --plan");
    }
    rc = generate(&o, r, &err);
    free(r);
    return rc == MIMIR_OK ? 0 : report(&err);
}
