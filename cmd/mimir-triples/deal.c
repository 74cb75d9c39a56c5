/*
 * mimir-triples deal: one process makes PREFIX.p0, PREFIX.p1 and PREFIX.p2 (all three or none)
 * with the trusted dealer of lib/dealer.h. The dealer knows every item it deals: pools made this
 * way say "created_by": "dealer", and are for benchmarks or a dealer inside an attested enclave.
 */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dealer.h"
#include "drbg.h"
#include "hex.h"
#include "io.h"
#include "mem.h"
#include "plan.h"
#include "pool.h"
#include "tool.h"

#define SUB "deal"
#define SESSION_BYTES 16
#define SESSION_LABEL "mimir-triples deal session" /* session derived from --seed-file */
#define MAX_TRIPLES MIMIR_PLAN_MAX_COUNT
#define DEFAULT_F MIMIR_PLAN_DEFAULT_F
#define DEFAULT_BATCH ((uint64_t)1 << 16)     /* triples / pairs per batch file */
#define MAX_BATCH ((uint64_t)1 << 24)
#define MAX_EDABITS ((uint64_t)1 << 36)      /* 64 bits each: 2^42 bit elements */
#define EDABIT_BATCH_MAX ((uint64_t)1 << 18)  /* edaBits per batch file (65 elements each) */
#define MAX_BTRIPLES MIMIR_PLAN_MAX_COUNT      /* boolean triple words (as the plan allows) */
#define MAX_CMASKS MAX_EDABITS                 /* comparison masks (as the plan allows) */
#define BTRIPLE_BATCH_MAX ((uint64_t)1 << 22)  /* words per batch file: 192 MiB per party */
#define CMASK_BATCH_MAX ((uint64_t)1 << 20)    /* masks per batch file: 160 MiB per party */
#define CLUSTER_MAX_BYTES (1 << 20)
#define SEED_FILE_MAX 256
#define PROGRESS_EVERY_NS 200000000LL
#define WPAIR_BATCH_ELEMS ((uint64_t)1 << 18)  /* A and C elements per weight-pair batch file */

/* The request: the flags' items and the plan's (lib/plan.h). */
typedef mimir_plan_items deal_req;

static void help(void)
{
    printf(
        "Usage: %s deal [options] -o PREFIX\n\n"
        "Makes the three parties' triple pools PREFIX.p0, PREFIX.p1 and PREFIX.p2 (all three or\n"
        "none) with a trusted dealer. The dealer knows every item it deals: use it for\n"
        "benchmarks, or inside an attested enclave that forgets its seed.\n\n"
        "Options:\n"
        "  -o, --output PREFIX     output prefix (required; the pools must not exist)\n"
        "      --triples N         N scalar Beaver triples (repeatable, added up)\n"
        "      --matrix RxIxC[:K]  K (default 1) matrix triples of shape (R x I) * (I x C)\n"
        "                          (repeatable)\n"
        "      --trunc N[:F]       N truncation pairs for F bits (default %d) (repeatable)\n"
        "      --edabits N         N edaBits for comparisons (r and its 64 bits as shared\n"
        "                          0/1 values; repeatable, added up)\n"
        "      --btriples N        N words of boolean triples (64 AND gates each) for\n"
        "                          comparisons in the binary domain (repeatable, added up)\n"
        "      --cmasks N          N comparison masks for comparisons in the binary domain\n"
        "                          (r, its 64 bits as one boolean word, a daBit; repeatable,\n"
        "                          added up)\n"
        "      --plan FILE         add the items of a JSON plan file (see mimir-triples(1)):\n"
        "                          {\"version\":1,\"items\":[{\"kind\":\"triple\",\"count\":N},\n"
        "                          {\"kind\":\"matrix\",\"rows\":R,\"inner\":I,\"cols\":C,\n"
        "                          \"count\":K}, {\"kind\":\"trunc\",\"f\":F,\"count\":N},\n"
        "                          {\"kind\":\"edabit\",\"count\":N},\n"
        "                          {\"kind\":\"btriple\",\"count\":N} (words),\n"
        "                          {\"kind\":\"cmask\",\"count\":N},\n"
        "                          {\"kind\":\"wmask\",\"inner\":I,\"cols\":C,\"count\":1},\n"
        "                          {\"kind\":\"wpair\",\"mask\":M,\"rows\":R,\n"
        "                          \"transposed\":0|1,\"count\":N}]} (masks numbered 0.. in\n"
        "                          plan order; a pair names its mask's number)\n"
        "      --session HEX       the session id (32 hex digits) the pools are bound to\n"
        "      --cluster FILE      take the session id from a cluster file's \"session\"\n"
        "                          (default: derived from --seed-file, else random)\n"
        "      --seed-file FILE    64 hex digits making the deal reproducible (default: 32\n"
        "                          random bytes from the OS, wiped after use)\n"
        "      --semi-honest       items without MAC words (speed comparison only)\n"
        "      --batch N           triples / pairs / edaBits / words per batch file\n"
        "                          (default %llu; edaBits at most 262144, boolean triple\n"
        "                          words at most 4194304, comparison masks at most 1048576)\n"
        "      --json              print a JSON summary to stdout\n"
        "      --progress          show a progress bar with rate and ETA on stderr\n"
        "      --no-progress       do not (default: shown when stderr is a terminal)\n"
        "  -h, --help              show this help\n",
        PROG, DEFAULT_F, (unsigned long long)DEFAULT_BATCH);
}

/* --- item specifications --------------------------------------------------------------------- */

static int add_triples(deal_req *r, uint64_t n, const char *what)
{
    if (n > MAX_TRIPLES - r->triples)
        return usage_fail(SUB, "%s: more than %llu triples in total", what,
                          (unsigned long long)MAX_TRIPLES);
    r->triples += n;
    return 0;
}

/* One --btriples / --cmasks option: a count from 0 to max, added to *total (at most max). */
static int add_count(const char *arg, const char *opt, const char *what, uint64_t max,
                     uint64_t *total)
{
    uint64_t v;
    if (parse_u64(arg, 0, max, &v) != 0)
        return usage_fail(SUB, "%s %s: expected a count from 0 to %llu", opt, arg,
                          (unsigned long long)max);
    if (v > max - *total)
        return usage_fail(SUB, "%s: more than %llu %s in total", opt, (unsigned long long)max,
                          what);
    *total += v;
    return 0;
}

/* --- session and seed ---------------------------------------------------------------------- */

static int session_from_hex(const char *hex, const char *file, const char *field,
                            uint8_t s[SESSION_BYTES], mimir_err *err)
{
    size_t got = 0;
    if (strlen(hex) != 2 * SESSION_BYTES ||
        mimir_hex_decode(hex, 2 * SESSION_BYTES, s, SESSION_BYTES, &got, NULL) != 0 ||
        got != SESSION_BYTES)
        return mimir_err_set(err, MIMIR_EINPUT, file, field, "expected 32 hex digits");
    return MIMIR_OK;
}

/* Only the cluster file's "session" matters to the dealer (it needs no certificates). */
static int session_from_cluster(const char *path, uint8_t s[SESSION_BYTES], mimir_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = mimir_read_file(path, CLUSTER_MAX_BYTES, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not valid JSON: %s (line %d)",
                             je.text, je.line);
    json_t *j = json_is_object(root) ? json_object_get(root, "session") : NULL;
    if (!json_is_string(j))
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "session",
                           j == NULL ? "missing, expected 32 hex digits"
                                     : "expected a string of 32 hex digits");
    else
        rc = session_from_hex(json_string_value(j), path, "session", s, err);
    json_decref(root);
    return rc;
}

/* Exactly 64 hex digits, optionally followed by one newline. */
static int read_seed_file(const char *path, uint8_t *seed, mimir_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = mimir_read_file(path, SEED_FILE_MAX, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    size_t n = len;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    size_t got = 0;
    if (n != 2 * MIMIR_DEALER_SEED_BYTES)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                           "%zu characters, expected %d hex digits and an optional newline", n,
                           2 * MIMIR_DEALER_SEED_BYTES);
    else if (mimir_hex_decode((const char *)buf, n, seed, MIMIR_DEALER_SEED_BYTES, &got, NULL) !=
                 0 || got != MIMIR_DEALER_SEED_BYTES)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                           "not hexadecimal, expected %d digits 0-9, a-f",
                           2 * MIMIR_DEALER_SEED_BYTES);
    mimir_wipe(buf, len);
    free(buf);
    return rc;
}

/* --- progress ------------------------------------------------------------------------------ */

typedef struct progress {
    int on;
    uint64_t total, done;
    struct timespec t0;
    long long last;
} progress;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
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
    double el = (double)(t - ((long long)pg->t0.tv_sec * 1000000000LL + pg->t0.tv_nsec)) / 1e9;
    double frac = pg->total ? (double)pg->done / (double)pg->total : 1.0;
    double rate = el > 0 ? (double)pg->done / el : 0;
    double eta = rate > 0 ? (double)(pg->total - pg->done) / rate : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[30] = '\0';
    fprintf(stderr, "\r%s: dealing [%s] %3d%%  %.3g M elements/s  ETA %d:%02d ", PROG, bar,
            (int)(frac * 100), rate / 1e6, (int)eta / 60, (int)eta % 60);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

/* --- dealing --------------------------------------------------------------------------------- */

typedef struct outputs {
    char *tmp[3];
    char final[3][4096];
    mimir_pool *pool[3];
} outputs;

static void outputs_abort(outputs *o)
{
    for (int p = 0; p < 3; p++) {
        mimir_pool_close(o->pool[p]);
        o->pool[p] = NULL;
        if (o->tmp[p] != NULL)
            mimir_dir_abort(o->tmp[p]);
        free(o->tmp[p]);
        o->tmp[p] = NULL;
    }
}

static void free3(mimir_sv v[3])
{
    for (int p = 0; p < 3; p++)
        mimir_sv_free(&v[p]);
}

static void free_bv3(mimir_bv v[3])
{
    for (int p = 0; p < 3; p++)
        mimir_bv_free(&v[p]);
}

/* `total` words of boolean triples, dealt and appended to the three pools in batches. */
static int deal_btriples(mimir_dealer *d, uint64_t total, uint64_t batch, outputs *o,
                         progress *pg, mimir_err *err)
{
    uint64_t per = batch < BTRIPLE_BATCH_MAX ? batch : BTRIPLE_BATCH_MAX;
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < total && rc == MIMIR_OK;) {
        uint64_t n = total - done < per ? total - done : per;
        mimir_bv a[3], b[3], c[3];
        memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
        rc = mimir_dealer_btriples3(d, (size_t)n, a, b, c, err);
        for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
            rc = mimir_pool_append_btriples(o->pool[p], &a[p], &b[p], &c[p], err);
        free_bv3(a), free_bv3(b), free_bv3(c);
        done += n;
        progress_show(pg, n, 0);
    }
    return rc;
}

/* `total` comparison masks, dealt and appended to the three pools in batches. */
static int deal_cmasks(mimir_dealer *d, uint64_t total, uint64_t batch, outputs *o,
                       progress *pg, mimir_err *err)
{
    uint64_t per = batch < CMASK_BATCH_MAX ? batch : CMASK_BATCH_MAX;
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < total && rc == MIMIR_OK;) {
        uint64_t n = total - done < per ? total - done : per;
        mimir_sv r[3], dd[3];
        mimir_bv rb[3], db[3];
        memset(r, 0, sizeof r), memset(dd, 0, sizeof dd);
        memset(rb, 0, sizeof rb), memset(db, 0, sizeof db);
        rc = mimir_dealer_cmasks3(d, (size_t)n, r, rb, dd, db, err);
        for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
            rc = mimir_pool_append_cmasks(o->pool[p], &r[p], &rb[p], &dd[p], &db[p], err);
        free3(r), free3(dd), free_bv3(rb), free_bv3(db);
        done += n;
        progress_show(pg, n, 0);
    }
    return rc;
}

/* Appends party p's share of one dealt item kind to its pool; frees the shares. */
static int append3(outputs *o, int kind, uint64_t rows, uint64_t inner, uint64_t cols,
                   unsigned f, mimir_sv a[3], mimir_sv b[3], mimir_sv c[3], mimir_err *err)
{
    int rc = MIMIR_OK;
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++) {
        if (kind == MIMIR_PREP_TRIPLE)
            rc = mimir_pool_append_triples(o->pool[p], &a[p], &b[p], &c[p], err);
        else if (kind == MIMIR_PREP_MATRIX)
            rc = mimir_pool_append_matrix(o->pool[p], rows, inner, cols, &a[p], &b[p], &c[p],
                                          err);
        else if (kind == MIMIR_PREP_EDABIT)
            rc = mimir_pool_append_edabits(o->pool[p], &a[p], &b[p], err);
        else
            rc = mimir_pool_append_trunc(o->pool[p], f, &a[p], &b[p], &c[p], err);
    }
    free3(a);
    free3(b);
    free3(c);
    return rc;
}

/* Copies element range [0, src->n) of src into dst at element offset off. */
static void sv_put(mimir_sv *dst, size_t off, const mimir_sv *src, int macs)
{
    for (int w = 0; w < 2; w++) {
        memcpy(dst->x[w] + off, src->x[w], src->n * sizeof(mimir_r128));
        if (macs)
            memcpy(dst->m[w] + off, src->m[w], src->n * sizeof(mimir_r128));
    }
}

/* count pairs bound to mask (a hollow copy: id and shape), dealt one by one and appended to the
 * three pools in batches of at most `batch` pairs and WPAIR_BATCH_ELEMS elements. */
static int deal_pairs(mimir_dealer *d, const mimir_wmask *mask, const mimir_plan_wpair *w,
                      uint64_t batch, outputs *o, progress *pg, mimir_err *err)
{
    const mimir_plan_wmask ms = {mask->inner, mask->cols};
    uint64_t na, nc;
    mimir_plan_wpair_elems(&ms, w, &na, &nc);
    uint64_t per = WPAIR_BATCH_ELEMS / (na + nc);
    per = per < 1 ? 1 : per > batch ? batch : per;
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < w->count && rc == MIMIR_OK;) {
        uint64_t k = w->count - done < per ? w->count - done : per;
        mimir_sv A[3], C[3], a1[3], c1[3];
        memset(A, 0, sizeof A), memset(C, 0, sizeof C);
        for (int p = 0; p < 3 && rc == MIMIR_OK; p++) {
            rc = mimir_sv_alloc(&A[p], (size_t)(k * na), mask->macs, err);
            if (rc == MIMIR_OK)
                rc = mimir_sv_alloc(&C[p], (size_t)(k * nc), mask->macs, err);
        }
        for (uint64_t j = 0; j < k && rc == MIMIR_OK; j++) {
            memset(a1, 0, sizeof a1), memset(c1, 0, sizeof c1);
            rc = mimir_dealer_wpair3(d, mask, (size_t)w->rows, w->transposed, a1, c1, err);
            for (int p = 0; p < 3 && rc == MIMIR_OK; p++) {
                sv_put(&A[p], (size_t)(j * na), &a1[p], mask->macs);
                sv_put(&C[p], (size_t)(j * nc), &c1[p], mask->macs);
            }
            free3(a1);
            free3(c1);
            progress_show(pg, na + nc, 0);
        }
        for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
            rc = mimir_pool_append_wpairs(o->pool[p], mask->id, mask->inner, mask->cols,
                                          (size_t)w->rows, w->transposed, (size_t)k, &A[p],
                                          &C[p], err);
        free3(A);
        free3(C);
        done += k;
    }
    return rc;
}

/* The plan's mask number i into the three pools, then every pair bound to it. Each party's
 * part is appended and wiped at once; the pairs need only the mask's id and shape. */
static int deal_mask(mimir_dealer *d, const deal_req *r, size_t i, uint64_t batch,
                     outputs *o, progress *pg, mimir_err *err)
{
    mimir_wmask m[3];
    memset(m, 0, sizeof m);
    int rc = mimir_dealer_wmask3(d, (size_t)r->wm[i].inner, (size_t)r->wm[i].cols, m, err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_wmask hollow = {.id = m[0].id, .inner = m[0].inner, .cols = m[0].cols,
                          .macs = m[0].macs, .hollow = 1};
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
        rc = mimir_pool_append_wmask(o->pool[p], &m[p], err);
    for (int p = 0; p < 3; p++)
        mimir_wmask_free(&m[p]);
    progress_show(pg, r->wm[i].inner * r->wm[i].cols, 0);
    for (size_t j = 0; j < r->nwp && rc == MIMIR_OK; j++)
        if (r->wp[j].mask == i)
            rc = deal_pairs(d, &hollow, &r->wp[j], batch, o, pg, err);
    return rc;
}

static int deal_all(mimir_dealer *d, const deal_req *r, uint64_t batch, outputs *o,
                    progress *pg, mimir_err *err)
{
    mimir_sv a[3], b[3], c[3];
    int rc = MIMIR_OK;
    for (uint64_t done = 0; done < r->triples && rc == MIMIR_OK;) {
        uint64_t n = r->triples - done < batch ? r->triples - done : batch;
        memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
        rc = mimir_dealer_triples3(d, (size_t)n, a, b, c, err);
        if (rc == MIMIR_OK)
            rc = append3(o, MIMIR_PREP_TRIPLE, 0, 0, 0, 0, a, b, c, err);
        done += n;
        progress_show(pg, n, 0);
    }
    for (size_t i = 0; i < r->nmat && rc == MIMIR_OK; i++) {
        const mimir_plan_matrix *m = &r->mat[i];
        for (uint64_t k = 0; k < m->count && rc == MIMIR_OK; k++) {
            memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
            rc = mimir_dealer_matrix3(d, m->rows, m->inner, m->cols, a, b, c, err);
            if (rc == MIMIR_OK)
                rc = append3(o, MIMIR_PREP_MATRIX, m->rows, m->inner, m->cols, 0, a, b, c, err);
            progress_show(pg, m->rows * m->inner + m->inner * m->cols + m->rows * m->cols, 0);
        }
    }
    for (size_t i = 0; i < r->ntr && rc == MIMIR_OK; i++) {
        const mimir_plan_trunc *t = &r->tr[i];
        for (uint64_t done = 0; done < t->count && rc == MIMIR_OK;) {
            uint64_t n = t->count - done < batch ? t->count - done : batch;
            memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
            rc = mimir_dealer_trunc3(d, (size_t)n, t->f, a, b, c, err);
            if (rc == MIMIR_OK)
                rc = append3(o, MIMIR_PREP_TRUNC, 0, 0, 0, t->f, a, b, c, err);
            done += n;
            progress_show(pg, n, 0);
        }
    }
    uint64_t eb = batch < EDABIT_BATCH_MAX ? batch : EDABIT_BATCH_MAX;
    for (uint64_t done = 0; done < r->edabits && rc == MIMIR_OK;) {
        uint64_t n = r->edabits - done < eb ? r->edabits - done : eb;
        memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
        rc = mimir_dealer_edabits3(d, (size_t)n, a, b, err);
        if (rc == MIMIR_OK)
            rc = append3(o, MIMIR_PREP_EDABIT, 0, 0, 0, 0, a, b, c, err);
        done += n;
        progress_show(pg, n, 0);
    }
    for (size_t i = 0; i < r->nwm && rc == MIMIR_OK; i++)
        rc = deal_mask(d, r, i, batch, o, pg, err);
    /* last, so that adding them to a request leaves the other items' draws as they were */
    if (rc == MIMIR_OK)
        rc = deal_btriples(d, r->btriples, batch, o, pg, err);
    if (rc == MIMIR_OK)
        rc = deal_cmasks(d, r->cmasks, batch, o, pg, err);
    return rc;
}

/* Renames the three temporary pools into place, all or none. */
static int outputs_commit(outputs *o, mimir_err *err)
{
    for (int p = 0; p < 3; p++) {
        mimir_pool_close(o->pool[p]);
        o->pool[p] = NULL;
    }
    int p;
    for (p = 0; p < 3; p++)
        if (renameat2(AT_FDCWD, o->tmp[p], AT_FDCWD, o->final[p], RENAME_NOREPLACE) != 0)
            break;
    if (p < 3) {
        int rc = mimir_err_errno(err, o->final[p], "cannot rename the pool into place");
        while (p-- > 0)
            rename(o->final[p], o->tmp[p]);
        return rc;
    }
    for (p = 0; p < 3; p++) {
        free(o->tmp[p]);
        o->tmp[p] = NULL;
    }
    return mimir_fsync_parent(o->final[0], err);
}

static int outputs_begin(outputs *o, const char *prefix, const uint8_t session[SESSION_BYTES],
                         mimir_r128 alpha3[3][2], int macs, mimir_err *err)
{
    for (int p = 0; p < 3; p++) {
        snprintf(o->final[p], sizeof o->final[p], "%s.p%d", prefix, p);
        if (access(o->final[p], F_OK) == 0)
            return mimir_err_set(err, MIMIR_EINPUT, o->final[p], NULL,
                                 "already exists; remove it or choose another prefix");
    }
    for (int p = 0; p < 3; p++) {
        int rc = mimir_dir_begin(o->final[p], &o->tmp[p], err);
        if (rc == MIMIR_OK)
            rc = mimir_pool_create(o->tmp[p], p, session, alpha3[p], macs, "dealer", err);
        if (rc == MIMIR_OK)
            rc = mimir_pool_open(o->tmp[p], p, session, &o->pool[p], err);
        if (rc != MIMIR_OK)
            return rc;
    }
    return MIMIR_OK;
}

static void print_json(const deal_req *r, const outputs *o, const char *session_hex, int macs,
                       const char *seed_src, const char *session_src, double secs)
{
    json_t *mats = json_array(), *trs = json_array(), *wms = json_array(), *wps = json_array();
    uint64_t melems = 0, telems = 0, wmelems = 0, wpelems = 0;
    for (size_t i = 0; i < r->nwm; i++) {
        json_array_append_new(wms, json_pack("{s:I, s:I}", "inner", (json_int_t)r->wm[i].inner,
                                             "cols", (json_int_t)r->wm[i].cols));
        wmelems += r->wm[i].inner * r->wm[i].cols;
    }
    for (size_t j = 0; j < r->nwp; j++) {
        const mimir_plan_wpair *w = &r->wp[j];
        uint64_t na, nc;
        mimir_plan_wpair_elems(&r->wm[w->mask], w, &na, &nc);
        json_array_append_new(wps, json_pack("{s:I, s:I, s:b, s:I}", "mask",
                                             (json_int_t)w->mask, "rows", (json_int_t)w->rows,
                                             "transposed", w->transposed, "count",
                                             (json_int_t)w->count));
        wpelems += w->count * (na + nc);
    }
    for (size_t i = 0; i < r->nmat; i++) {
        const mimir_plan_matrix *m = &r->mat[i];
        json_array_append_new(mats, json_pack("{s:I, s:I, s:I, s:I}", "rows",
                                              (json_int_t)m->rows, "inner", (json_int_t)m->inner,
                                              "cols", (json_int_t)m->cols, "count",
                                              (json_int_t)m->count));
        melems += m->count * (m->rows * m->inner + m->inner * m->cols + m->rows * m->cols);
    }
    for (size_t i = 0; i < r->ntr; i++) {
        json_array_append_new(trs, json_pack("{s:i, s:I}", "f", (int)r->tr[i].f, "count",
                                             (json_int_t)r->tr[i].count));
        telems += r->tr[i].count;
    }
    json_t *root = json_pack(
        "{s:[s,s,s], s:s, s:s, s:s, s:b, s:s, s:{s:I, s:o, s:o, s:I, s:o, s:o, s:I, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:f}",
        "pools", o->final[0], o->final[1], o->final[2], "session", session_hex,
        "session_source", session_src, "created_by", "dealer", "macs", macs, "seed", seed_src,
        "items", "triple", (json_int_t)r->triples, "matrix", mats, "trunc", trs, "edabit",
        (json_int_t)r->edabits, "wmask", wms, "wpair", wps, "btriple",
        (json_int_t)r->btriples, "cmask", (json_int_t)r->cmasks, "elements", "triple",
        (json_int_t)r->triples, "matrix", (json_int_t)melems, "trunc", (json_int_t)telems,
        "edabit", (json_int_t)r->edabits, "wmask", (json_int_t)wmelems, "wpair",
        (json_int_t)wpelems, "btriple", (json_int_t)r->btriples, "cmask",
        (json_int_t)r->cmasks, "seconds", secs);
    if (root != NULL) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        fflush(stdout);
    }
    json_decref(root);
}

typedef struct deal_opts {
    const char *output, *session, *cluster, *seed_file, *plan;
    int semi_honest, json, progress; /* progress: -1 default (tty), 0 off, 1 on */
    uint64_t batch;
} deal_opts;

static int parse_args(int argc, char **argv, deal_opts *o, deal_req *r)
{
    enum { OPT_TRIPLES = 256, OPT_MATRIX, OPT_TRUNC, OPT_PLAN, OPT_SESSION, OPT_CLUSTER,
           OPT_SEED_FILE, OPT_SEMI, OPT_BATCH, OPT_JSON, OPT_PROGRESS, OPT_NO_PROGRESS,
           OPT_EDABITS, OPT_BTRIPLES, OPT_CMASKS };
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'},
        {"triples", required_argument, 0, OPT_TRIPLES},
        {"matrix", required_argument, 0, OPT_MATRIX},
        {"trunc", required_argument, 0, OPT_TRUNC},
        {"edabits", required_argument, 0, OPT_EDABITS},
        {"btriples", required_argument, 0, OPT_BTRIPLES},
        {"cmasks", required_argument, 0, OPT_CMASKS},
        {"plan", required_argument, 0, OPT_PLAN},
        {"session", required_argument, 0, OPT_SESSION},
        {"cluster", required_argument, 0, OPT_CLUSTER},
        {"seed-file", required_argument, 0, OPT_SEED_FILE},
        {"semi-honest", no_argument, 0, OPT_SEMI},
        {"batch", required_argument, 0, OPT_BATCH},
        {"json", no_argument, 0, OPT_JSON},
        {"progress", no_argument, 0, OPT_PROGRESS},
        {"no-progress", no_argument, 0, OPT_NO_PROGRESS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    uint64_t v;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'o': o->output = optarg; break;
        case OPT_TRIPLES:
            if (parse_u64(optarg, 0, MAX_TRIPLES, &v) != 0)
                return usage_fail(SUB, "--triples %s: expected a count from 0 to %llu", optarg,
                                  (unsigned long long)MAX_TRIPLES);
            rc = add_triples(r, v, "--triples");
            break;
        case OPT_MATRIX: rc = parse_matrix_opt(SUB, optarg, r); break;
        case OPT_TRUNC: rc = parse_trunc_opt(SUB, optarg, r); break;
        case OPT_EDABITS:
            if (parse_u64(optarg, 0, MAX_EDABITS, &v) != 0)
                return usage_fail(SUB, "--edabits %s: expected a count from 0 to %llu", optarg,
                                  (unsigned long long)MAX_EDABITS);
            if (v > MAX_EDABITS - r->edabits)
                return usage_fail(SUB, "--edabits: more than %llu edaBits in total",
                                  (unsigned long long)MAX_EDABITS);
            r->edabits += v;
            break;
        case OPT_BTRIPLES:
            rc = add_count(optarg, "--btriples", "boolean triple words", MAX_BTRIPLES,
                           &r->btriples);
            break;
        case OPT_CMASKS:
            rc = add_count(optarg, "--cmasks", "comparison masks", MAX_CMASKS, &r->cmasks);
            break;
        case OPT_PLAN: o->plan = optarg; break;
        case OPT_SESSION: o->session = optarg; break;
        case OPT_CLUSTER: o->cluster = optarg; break;
        case OPT_SEED_FILE: o->seed_file = optarg; break;
        case OPT_SEMI: o->semi_honest = 1; break;
        case OPT_BATCH:
            if (parse_u64(optarg, 1, MAX_BATCH, &o->batch) != 0)
                return usage_fail(SUB, "--batch %s: expected a count from 1 to %llu", optarg,
                                  (unsigned long long)MAX_BATCH);
            break;
        case OPT_JSON: o->json = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case 'h': help(); return -1;
        case ':': return usage_fail(SUB, "%s needs an argument", argv[optind - 1]);
        default: return usage_fail(SUB, "unknown option %s", argv[optind - 1]);
        }
        if (rc != 0)
            return rc;
    }
    if (optind < argc)
        return usage_fail(SUB, "unexpected argument '%s'", argv[optind]);
    if (o->output == NULL || o->output[0] == '\0')
        return usage_fail(SUB, "no output prefix, expected -o PREFIX");
    if (strlen(o->output) > 3000)
        return usage_fail(SUB, "-o: the prefix is too long");
    if (o->session != NULL && o->cluster != NULL)
        return usage_fail(SUB, "--session and --cluster both give the session id; use one");
    return 0;
}

int deal_main(int argc, char **argv)
{
    deal_opts o = {.progress = -1, .batch = DEFAULT_BATCH};
    deal_req *r = calloc(1, sizeof *r);
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
    uint8_t model_digest[MIMIR_PLAN_DIGEST_BYTES];
    int bind_model = 0; /* the plan names a model: bind the pools to it (lib/plan.h) */
    if (o.plan != NULL &&
        ((rc = mimir_plan_file_items(o.plan, MAX_EDABITS, r, &err)) != MIMIR_OK ||
         (rc = mimir_plan_file_model(o.plan, model_digest, &bind_model, &err)) != MIMIR_OK)) {
        free(r);
        return report(&err);
    }
    if (r->triples == 0 && r->nmat == 0 && r->ntr == 0 && r->edabits == 0 && r->nwm == 0 &&
        r->btriples == 0 && r->cmasks == 0) {
        free(r);
        return usage_fail(SUB, "nothing to deal: give --triples, --matrix, --trunc, --edabits "
                               "or --plan (or --btriples, --cmasks)");
    }

    uint8_t session[SESSION_BYTES];
    const char *session_src = "random";
    uint8_t *seed = mimir_key_alloc(MIMIR_DEALER_SEED_BYTES);
    if (seed == NULL) {
        free(r);
        fprintf(stderr, "%s: out of memory\n", PROG);
        return MIMIR_ERUNTIME;
    }
    if (o.session != NULL) {
        rc = session_from_hex(o.session, NULL, "--session", session, &err);
        session_src = "--session";
    } else if (o.cluster != NULL) {
        rc = session_from_cluster(o.cluster, session, &err);
        session_src = "cluster";
    }
    if (rc == MIMIR_OK && o.seed_file != NULL)
        rc = read_seed_file(o.seed_file, seed, &err);
    else if (rc == MIMIR_OK)
        randombytes_buf(seed, MIMIR_DEALER_SEED_BYTES);
    if (rc == MIMIR_OK && o.session == NULL && o.cluster == NULL) {
        if (o.seed_file != NULL) {
            /* Reproducible: the session is derived from the seed (a separate DRBG label). */
            mimir_drbg dr;
            rc = mimir_drbg_from_seed(&dr, seed, MIMIR_DEALER_SEED_BYTES, SESSION_LABEL);
            if (rc == MIMIR_OK)
                rc = mimir_drbg_generate(&dr, session, SESSION_BYTES, NULL, 0);
            mimir_drbg_wipe(&dr);
            if (rc != MIMIR_OK)
                rc = mimir_err_set(&err, MIMIR_ERUNTIME, o.seed_file, "seed",
                                   "cannot derive the session id");
            session_src = "seed";
        } else {
            randombytes_buf(session, SESSION_BYTES);
        }
    }
    mimir_dealer *d = NULL;
    int macs = !o.semi_honest;
    if (rc == MIMIR_OK)
        rc = mimir_dealer_new(seed, 0, macs, &d, &err);
    mimir_key_free(seed); /* the dealer keeps only what it derived */
    outputs out;
    memset(&out, 0, sizeof out);
    mimir_r128 alpha3[3][2];
    if (rc == MIMIR_OK) {
        mimir_dealer_alpha3(d, alpha3);
        rc = outputs_begin(&out, o.output, session, alpha3, macs, &err);
        mimir_wipe(alpha3, sizeof alpha3);
    }
    for (int p = 0; p < 3 && rc == MIMIR_OK && bind_model; p++)
        rc = mimir_plan_pool_bind(out.tmp[p], model_digest, &err);
    progress pg = {0};
    pg.on = o.progress == 1 || (o.progress == -1 && isatty(STDERR_FILENO));
    clock_gettime(CLOCK_MONOTONIC, &pg.t0);
    for (size_t i = 0; i < r->nmat; i++)
        pg.total += r->mat[i].count * (r->mat[i].rows * r->mat[i].inner +
                                       r->mat[i].inner * r->mat[i].cols +
                                       r->mat[i].rows * r->mat[i].cols);
    for (size_t i = 0; i < r->ntr; i++)
        pg.total += r->tr[i].count;
    pg.total += r->triples + r->edabits + r->btriples + r->cmasks;
    for (size_t i = 0; i < r->nwm; i++)
        pg.total += r->wm[i].inner * r->wm[i].cols;
    for (size_t j = 0; j < r->nwp; j++) {
        uint64_t na, nc;
        mimir_plan_wpair_elems(&r->wm[r->wp[j].mask], &r->wp[j], &na, &nc);
        pg.total += r->wp[j].count * (na + nc);
    }
    if (rc == MIMIR_OK)
        rc = deal_all(d, r, o.batch, &out, &pg, &err);
    if (rc == MIMIR_OK) {
        progress_show(&pg, 0, 1);
        rc = outputs_commit(&out, &err);
    } else if (pg.on) {
        fputc('\n', stderr);
    }
    mimir_dealer_free(d);
    if (rc != MIMIR_OK) {
        outputs_abort(&out);
        free(r);
        return report(&err);
    }
    double secs = (double)(now_ns() - ((long long)pg.t0.tv_sec * 1000000000LL + pg.t0.tv_nsec)) /
                  1e9;
    char hex[2 * SESSION_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, session, SESSION_BYTES);
    uint64_t nm = 0, nt = 0, np = 0;
    for (size_t i = 0; i < r->nmat; i++)
        nm += r->mat[i].count;
    for (size_t i = 0; i < r->ntr; i++)
        nt += r->tr[i].count;
    for (size_t i = 0; i < r->nwp; i++)
        np += r->wp[i].count;
    /* "A, B, C and D": the four scalar kinds always, the others when dealt */
    char part[8][64], text[512] = "";
    int np_ = 0;
    snprintf(part[np_++], sizeof part[0], "%llu triples", (unsigned long long)r->triples);
    snprintf(part[np_++], sizeof part[0], "%llu matrix triples", (unsigned long long)nm);
    snprintf(part[np_++], sizeof part[0], "%llu truncation pairs", (unsigned long long)nt);
    snprintf(part[np_++], sizeof part[0], "%llu edaBits", (unsigned long long)r->edabits);
    if (r->nwm > 0) {
        snprintf(part[np_++], sizeof part[0], "%zu weight masks", r->nwm);
        snprintf(part[np_++], sizeof part[0], "%llu weight pairs", (unsigned long long)np);
    }
    if (r->btriples > 0)
        snprintf(part[np_++], sizeof part[0], "%llu boolean triple words",
                 (unsigned long long)r->btriples);
    if (r->cmasks > 0)
        snprintf(part[np_++], sizeof part[0], "%llu comparison masks",
                 (unsigned long long)r->cmasks);
    for (int i = 0; i < np_; i++) {
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s%s",
                 i == 0 ? "" : i == np_ - 1 ? " and " : ", ", part[i]);
    }
    fprintf(stderr,
            "%s: dealt %s%s into %s, %s, %s (session %s; made by a trusted dealer, which knew "
            "every item)\n",
            PROG, text, macs ? "" : " without MACs", out.final[0], out.final[1], out.final[2],
            hex);
    if (o.json)
        print_json(r, &out, hex, macs, o.seed_file ? "file" : "random", session_src, secs);
    free(r);
    return 0;
}
