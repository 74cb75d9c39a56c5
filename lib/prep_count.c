/*
 * prep_count.c — the counting preprocessing source of lib/prep.h: zeroed items, exact counts,
 * and the list of matrix shapes and truncation widths a run took, as a plan file. EdaBits,
 * boolean triples and comparison masks are real zeroed vectors: comparisons read their words.
 */
#include "prep.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ENTRIES 16

typedef struct mshape {
    size_t rows, inner, cols;
    uint64_t count;
} mshape;

typedef struct tspec {
    unsigned f;
    uint64_t count;
} tspec;

typedef struct wmshape {
    size_t inner, cols;
} wmshape;

typedef struct wpspec {
    uint64_t mask;
    size_t rows;
    int transposed;
    uint64_t count;
} wpspec;

struct mimir_prep_count {
    mimir_prep prep;
    int macs;
    uint64_t counts[MIMIR_PREP_KINDS];
    uint64_t triples, edabits;
    mshape *mat;
    size_t nmat, capmat;
    tspec *tr;
    size_t ntr, captr;
    wmshape *wm;
    size_t nwm, capwm;
    wpspec *wp;
    size_t nwp, capwp;
};

static int oom(mimir_err *err)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "prep", "out of memory");
}

/* Zeroed vectors, all or none. */
static int zeros(const mimir_prep_count *c, mimir_err *err, size_t k, mimir_sv *v[],
                 const size_t n[])
{
    for (size_t i = 0; i < k; i++) {
        int rc = mimir_sv_alloc(v[i], n[i], c->macs, err);
        if (rc != MIMIR_OK) {
            for (size_t j = 0; j < i; j++)
                mimir_sv_free(v[j]);
            return rc;
        }
    }
    return MIMIR_OK;
}

/* A hollow vector: its size and nothing else (only a plan-mode engine reads it). */
static void hollow(mimir_sv *v, size_t n)
{
    memset(v, 0, sizeof *v);
    v->n = n;
}

static int grow(void **p, size_t *cap, size_t have, size_t elem, mimir_err *err)
{
    if (have < *cap)
        return MIMIR_OK;
    size_t c = *cap ? 2 * *cap : MIN_ENTRIES;
    void *q = realloc(*p, c * elem);
    if (q == NULL)
        return oom(err);
    *p = q;
    *cap = c;
    return MIMIR_OK;
}

static int op_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c_,
                      mimir_err *err)
{
    mimir_prep_count *c = ctx;
    (void)err;
    hollow(a, n);
    hollow(b, n);
    hollow(c_, n);
    c->counts[MIMIR_PREP_TRIPLE - 1] += n;
    return MIMIR_OK;
}

static int op_matrix(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                     mimir_sv *b, mimir_sv *c_, mimir_err *err)
{
    mimir_prep_count *c = ctx;
    if (rows == 0 || inner == 0 || cols == 0 || rows > SIZE_MAX / inner ||
        inner > SIZE_MAX / cols || rows > SIZE_MAX / cols)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matrix", "%zux%zux%zu: bad shape", rows,
                             inner, cols);
    size_t i;
    for (i = 0; i < c->nmat; i++)
        if (c->mat[i].rows == rows && c->mat[i].inner == inner && c->mat[i].cols == cols)
            break;
    if (i == c->nmat) {
        int rc = grow((void **)&c->mat, &c->capmat, c->nmat, sizeof *c->mat, err);
        if (rc != MIMIR_OK)
            return rc;
        c->mat[c->nmat++] = (mshape){rows, inner, cols, 0};
    }
    c->mat[i].count++;
    hollow(a, rows * inner);
    hollow(b, inner * cols);
    hollow(c_, rows * cols);
    c->counts[MIMIR_PREP_MATRIX - 1] += (uint64_t)(rows * inner + inner * cols + rows * cols);
    return MIMIR_OK;
}

static int op_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi, mimir_sv *r_63,
                    mimir_err *err)
{
    mimir_prep_count *c = ctx;
    size_t i;
    for (i = 0; i < c->ntr; i++)
        if (c->tr[i].f == f)
            break;
    if (i == c->ntr) {
        int rc = grow((void **)&c->tr, &c->captr, c->ntr, sizeof *c->tr, err);
        if (rc != MIMIR_OK)
            return rc;
        c->tr[c->ntr++] = (tspec){f, 0};
    }
    hollow(r, n);
    hollow(r_hi, n);
    hollow(r_63, n);
    c->tr[i].count += n;
    c->counts[MIMIR_PREP_TRUNC - 1] += n;
    return MIMIR_OK;
}

static int op_edabits(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err)
{
    mimir_prep_count *c = ctx;
    if (n > SIZE_MAX / MIMIR_PREP_EDABIT_BITS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "edabits", "too many (%zu)", n);
    mimir_sv *v[2] = {r, bits};
    const size_t sz[2] = {n, n * MIMIR_PREP_EDABIT_BITS};
    int rc = zeros(c, err, 2, v, sz);
    if (rc == MIMIR_OK)
        c->counts[MIMIR_PREP_EDABIT - 1] += n;
    return rc;
}

static int op_btriples(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c_,
                       mimir_err *err)
{
    mimir_prep_count *c = ctx;
    mimir_bv *v[3] = {a, b, c_};
    for (int i = 0; i < 3; i++) {
        int rc = mimir_bv_alloc(v[i], n, err);
        if (rc != MIMIR_OK) {
            for (int j = 0; j < i; j++)
                mimir_bv_free(v[j]);
            return rc;
        }
    }
    c->counts[MIMIR_PREP_BTRIPLE - 1] += n;
    return MIMIR_OK;
}

static int op_cmasks(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d, mimir_bv *db,
                     mimir_err *err)
{
    mimir_prep_count *c = ctx;
    mimir_sv *v[2] = {r, d};
    const size_t sz[2] = {n, n};
    int rc = zeros(c, err, 2, v, sz);
    if (rc != MIMIR_OK)
        return rc;
    if ((rc = mimir_bv_alloc(rb, n, err)) != MIMIR_OK ||
        (rc = mimir_bv_alloc(db, n, err)) != MIMIR_OK) {
        mimir_bv_free(rb);
        mimir_sv_free(r);
        mimir_sv_free(d);
        return rc;
    }
    c->counts[MIMIR_PREP_CMASK - 1] += n;
    return MIMIR_OK;
}

static int op_wmask(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err)
{
    mimir_prep_count *c = ctx;
    if (inner == 0 || cols == 0 || inner > SIZE_MAX / cols)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wmask", "%zux%zu: bad shape", inner,
                             cols);
    int rc = grow((void **)&c->wm, &c->capwm, c->nwm, sizeof *c->wm, err);
    if (rc != MIMIR_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->id = c->nwm;
    out->inner = inner;
    out->cols = cols;
    out->macs = c->macs;
    out->hollow = 1;
    c->wm[c->nwm++] = (wmshape){inner, cols};
    c->counts[MIMIR_PREP_WMASK - 1] += (uint64_t)(inner * cols);
    return MIMIR_OK;
}

static int op_wpair(void *ctx, const mimir_wmask *mask, size_t rows, int transposed,
                    mimir_sv *a, mimir_sv *c_, mimir_err *err)
{
    mimir_prep_count *c = ctx;
    if (mask == NULL || mask->id >= c->nwm || c->wm[mask->id].inner != mask->inner ||
        c->wm[mask->id].cols != mask->cols)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair",
                             "not a mask of this source, expected one");
    size_t ain = transposed ? mask->cols : mask->inner;
    size_t cout = transposed ? mask->inner : mask->cols;
    if (rows == 0 || rows > SIZE_MAX / ain || rows > SIZE_MAX / cout)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair", "%zu rows: bad shape", rows);
    transposed = transposed != 0;
    size_t i;
    for (i = 0; i < c->nwp; i++)
        if (c->wp[i].mask == mask->id && c->wp[i].rows == rows &&
            c->wp[i].transposed == transposed)
            break;
    if (i == c->nwp) {
        int rc = grow((void **)&c->wp, &c->capwp, c->nwp, sizeof *c->wp, err);
        if (rc != MIMIR_OK)
            return rc;
        c->wp[c->nwp++] = (wpspec){mask->id, rows, transposed, 0};
    }
    c->wp[i].count++;
    hollow(a, rows * ain);
    hollow(c_, rows * cout);
    c->counts[MIMIR_PREP_WPAIR - 1] += (uint64_t)(rows * ain + rows * cout);
    return MIMIR_OK;
}

static const mimir_prep_ops count_ops = {
    .triples = op_triples,
    .matrix = op_matrix,
    .trunc = op_trunc,
    .edabits = op_edabits,
    .wmask = op_wmask,
    .wpair = op_wpair,
    .btriples = op_btriples,
    .cmasks = op_cmasks,
};

int mimir_prep_count_new(int macs, mimir_prep_count **out, mimir_err *err)
{
    if (out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "prep", "no output");
    mimir_prep_count *c = calloc(1, sizeof *c);
    if (c == NULL)
        return oom(err);
    c->macs = macs != 0;
    c->prep.ops = &count_ops;
    c->prep.ctx = c;
    *out = c;
    return MIMIR_OK;
}

void mimir_prep_count_free(mimir_prep_count *c)
{
    if (c == NULL)
        return;
    free(c->mat);
    free(c->tr);
    free(c->wm);
    free(c->wp);
    free(c);
}

mimir_prep *mimir_prep_count_prep(mimir_prep_count *c)
{
    return &c->prep;
}

void mimir_prep_count_set_binary(mimir_prep_count *c, int binary)
{
    c->prep.binary = binary != 0;
}

void mimir_prep_count_counts(const mimir_prep_count *c, uint64_t counts[MIMIR_PREP_KINDS])
{
    memcpy(counts, c->counts, sizeof c->counts);
}

int mimir_prep_count_plan_json(const mimir_prep_count *c, char **json, mimir_err *err)
{
    *json = NULL;
    json_t *root = json_object(), *items = json_array();
    int bad = items == NULL || root == NULL ||
              json_object_set_new(root, "version", json_integer(1)) != 0 ||
              json_object_set(root, "items", items) != 0;
    uint64_t nt = c->counts[MIMIR_PREP_TRIPLE - 1], ne = c->counts[MIMIR_PREP_EDABIT - 1];
    if (!bad && nt > 0)
        bad |= json_array_append_new(items, json_pack("{s:s, s:I}", "kind", "triple", "count",
                                                      (json_int_t)nt)) != 0;
    for (size_t i = 0; !bad && i < c->nmat; i++)
        bad |= json_array_append_new(
                   items, json_pack("{s:s, s:I, s:I, s:I, s:I}", "kind", "matrix", "rows",
                                    (json_int_t)c->mat[i].rows, "inner",
                                    (json_int_t)c->mat[i].inner, "cols",
                                    (json_int_t)c->mat[i].cols, "count",
                                    (json_int_t)c->mat[i].count)) != 0;
    for (size_t i = 0; !bad && i < c->ntr; i++)
        bad |= json_array_append_new(items, json_pack("{s:s, s:i, s:I}", "kind", "trunc", "f",
                                                      (int)c->tr[i].f, "count",
                                                      (json_int_t)c->tr[i].count)) != 0;
    if (!bad && ne > 0)
        bad |= json_array_append_new(items, json_pack("{s:s, s:I}", "kind", "edabit", "count",
                                                      (json_int_t)ne)) != 0;
    uint64_t nb = c->counts[MIMIR_PREP_BTRIPLE - 1], nc = c->counts[MIMIR_PREP_CMASK - 1];
    if (!bad && nb > 0)
        bad |= json_array_append_new(items, json_pack("{s:s, s:I}", "kind", "btriple", "count",
                                                      (json_int_t)nb)) != 0;
    if (!bad && nc > 0)
        bad |= json_array_append_new(items, json_pack("{s:s, s:I}", "kind", "cmask", "count",
                                                      (json_int_t)nc)) != 0;
    for (size_t i = 0; !bad && i < c->nwm; i++)
        bad |= json_array_append_new(items, json_pack("{s:s, s:I, s:I, s:i}", "kind", "wmask",
                                                      "inner", (json_int_t)c->wm[i].inner,
                                                      "cols", (json_int_t)c->wm[i].cols,
                                                      "count", 1)) != 0;
    for (size_t i = 0; !bad && i < c->nwp; i++)
        bad |= json_array_append_new(
                   items, json_pack("{s:s, s:I, s:I, s:i, s:I}", "kind", "wpair", "mask",
                                    (json_int_t)c->wp[i].mask, "rows",
                                    (json_int_t)c->wp[i].rows, "transposed",
                                    c->wp[i].transposed, "count",
                                    (json_int_t)c->wp[i].count)) != 0;
    if (!bad)
        *json = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(items);
    json_decref(root);
    if (*json == NULL)
        return oom(err);
    return MIMIR_OK;
}
