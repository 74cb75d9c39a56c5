/*
 * test_pool.c — triple pools on disk (lib/pool.h): round trips, batch spanning, exact-shape
 * matrix lookup, f matching, running out, the persisted cursor, the lock, a consumer killed
 * between cursor advance and use, and corrupted / truncated / foreign files refused with
 * nothing consumed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dealer.h"
#include "mem.h"
#include "pool.h"
#include "tap.h"

/* Values are a function of (tag, vector, word, element): taken items can be identified. */
static mimir_r128 val(unsigned tag, int vec, int word, uint64_t i)
{
    return ((mimir_r128)(0x1000u * tag + 0x10u * (unsigned)vec + (unsigned)word) << 64) |
           (mimir_r128)(i * 0x9e3779b97f4a7c15ull + 1);
}

static void fill(mimir_sv *v, unsigned tag, int vec, uint64_t first)
{
    for (size_t i = 0; i < v->n; i++) {
        v->x[0][i] = val(tag, vec, 0, first + i);
        v->x[1][i] = val(tag, vec, 1, first + i);
        if (v->m[0] != NULL) {
            v->m[0][i] = val(tag, vec, 2, first + i);
            v->m[1][i] = val(tag, vec, 3, first + i);
        }
    }
}

/* Whether v holds elements first..first+n-1 of (tag, vec). */
static int same(const mimir_sv *v, unsigned tag, int vec, uint64_t first, int macs)
{
    int ok = 1;
    for (size_t i = 0; i < v->n; i++) {
        ok &= v->x[0][i] == val(tag, vec, 0, first + i);
        ok &= v->x[1][i] == val(tag, vec, 1, first + i);
        if (macs)
            ok &= v->m[0] != NULL && v->m[0][i] == val(tag, vec, 2, first + i) &&
                  v->m[1][i] == val(tag, vec, 3, first + i);
        else
            ok &= v->m[0] == NULL;
    }
    return ok;
}

/* Appends a triple batch of n items, elements first..first+n-1 of tag. */
static int add_triples(mimir_pool *p, unsigned tag, size_t n, uint64_t first, int macs)
{
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    mimir_err err;
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        rc |= mimir_sv_alloc(&v[k], n, macs, &err);
        if (rc == 0)
            fill(&v[k], tag, k, first);
    }
    if (rc == 0)
        rc = mimir_pool_append_triples(p, &v[0], &v[1], &v[2], &err);
    for (int k = 0; k < 3; k++)
        mimir_sv_free(&v[k]);
    return rc;
}

static int add_matrix(mimir_pool *p, unsigned tag, size_t r, size_t i, size_t c)
{
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    size_t len[3] = {r * i, i * c, r * c};
    mimir_err err;
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        rc |= mimir_sv_alloc(&v[k], len[k], 1, &err);
        if (rc == 0)
            fill(&v[k], tag, k, 0);
    }
    if (rc == 0)
        rc = mimir_pool_append_matrix(p, r, i, c, &v[0], &v[1], &v[2], &err);
    for (int k = 0; k < 3; k++)
        mimir_sv_free(&v[k]);
    return rc;
}

static int add_trunc(mimir_pool *p, unsigned tag, unsigned f, size_t n)
{
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    mimir_err err;
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        rc |= mimir_sv_alloc(&v[k], n, 1, &err);
        if (rc == 0)
            fill(&v[k], tag, k, 0);
    }
    if (rc == 0)
        rc = mimir_pool_append_trunc(p, f, &v[0], &v[1], &v[2], &err);
    for (int k = 0; k < 3; k++)
        mimir_sv_free(&v[k]);
    return rc;
}

static int add_edabits(mimir_pool *p, unsigned tag, size_t n)
{
    mimir_sv v[2];
    memset(v, 0, sizeof v);
    mimir_err err;
    int rc = mimir_sv_alloc(&v[0], n, 1, &err) | mimir_sv_alloc(&v[1], 64 * n, 1, &err);
    if (rc == 0) {
        fill(&v[0], tag, 0, 0);
        fill(&v[1], tag, 1, 0);
        rc = mimir_pool_append_edabits(p, &v[0], &v[1], &err);
    }
    mimir_sv_free(&v[0]);
    mimir_sv_free(&v[1]);
    return rc;
}

static void free3(mimir_sv v[3])
{
    for (int k = 0; k < 3; k++)
        mimir_sv_free(&v[k]);
}

static char base[256];
static const uint8_t S1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t S2[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

static void pdir(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", base, name);
}

static int mkpool(const char *dir, int party, const uint8_t *session, int macs)
{
    mimir_r128 alpha[2] = {((mimir_r128)7 << 100) | 5, 11};
    mimir_err err;
    int rc = mimir_pool_create(dir, party, session, alpha, macs, "dealer", &err);
    if (rc != 0)
        mimir_err_print(stdout, "# create", &err);
    return rc;
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    int c;
    while (a != NULL && b != NULL && (c = fgetc(a)) != EOF)
        fputc(c, b);
    if (a)
        fclose(a);
    if (b)
        fclose(b);
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    if (f == NULL)
        return;
    fseek(f, off, SEEK_SET);
    int c = fgetc(f);
    fseek(f, off, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static uint64_t remaining(const char *dir, int kind)
{
    mimir_pool_status st;
    mimir_err err;
    if (mimir_pool_peek_status(dir, &st, &err) != 0) {
        printf("# peek_status: %s: %s: %s\n", err.file, err.field, err.msg);
        return UINT64_MAX;
    }
    return st.remaining[kind - 1];
}

static void test_round_trip(void)
{
    char dir[512];
    pdir(dir, "main.p0");
    mimir_err err;
    CHECK(mkpool(dir, 0, S1, 1) == 0, "create an empty pool");
    mimir_r128 alpha[2] = {0, 0};
    CHECK(mimir_pool_create(dir, 0, S1, alpha, 1, "dealer", &err) == MIMIR_EINPUT,
          "create refuses an existing pool directory");
    CHECK(mimir_pool_create(dir, 0, S1, alpha, 1, "someone", &err) == MIMIR_EINPUT &&
              strcmp(err.field, "created_by") == 0,
          "create refuses an unknown created_by");

    mimir_pool *p = NULL;
    int rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == 0, "open the new pool (%s)", rc ? err.msg : "ok");
    if (rc != 0)
        return;
    mimir_pool_alpha(p, alpha);
    CHECK(alpha[0] == (((mimir_r128)7 << 100) | 5) && alpha[1] == 11,
          "alpha components read back from alpha.key");
    CHECK(mimir_pool_party(p) == 0 && memcmp(mimir_pool_session(p), S1, 16) == 0 &&
              mimir_pool_macs(p) == 1,
          "party, session and macs from pool.json");
    struct stat st;
    char kp[600];
    snprintf(kp, sizeof kp, "%s/alpha.key", dir);
    CHECK(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600, "alpha.key has mode 0600");

    CHECK(add_triples(p, 1, 10, 0, 1) == 0, "append 10 triples");
    CHECK(add_triples(p, 1, 5, 10, 1) == 0, "append 5 more triples (a second batch)");
    CHECK(add_matrix(p, 2, 2, 3, 4) == 0, "append a 2x3x4 matrix triple");
    CHECK(add_matrix(p, 3, 3, 3, 3) == 0, "append a 3x3x3 matrix triple");
    CHECK(add_matrix(p, 4, 2, 3, 4) == 0, "append a second 2x3x4 matrix triple");
    CHECK(add_trunc(p, 5, 16, 8) == 0, "append 8 truncation pairs for f=16");
    CHECK(add_trunc(p, 6, 12, 4) == 0, "append 4 truncation pairs for f=12");
    CHECK(add_trunc(p, 6, 0, 4) == MIMIR_EINPUT, "append refuses f=0");
    CHECK(add_edabits(p, 7, 6) == 0, "append 6 edaBits (r and 64 bits each)");
    CHECK(add_edabits(p, 7, 0) == MIMIR_EINPUT, "append refuses an empty edaBit batch");

    mimir_prep *prep = mimir_pool_prep(p);
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(prep, 4, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && v[0].n == 4 && same(&v[0], 1, 0, 0, 1) && same(&v[1], 1, 1, 0, 1) &&
              same(&v[2], 1, 2, 0, 1),
          "take 4 triples: items 0..3 with their MAC words");
    free3(v);
    rc = mimir_prep_triples(prep, 8, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && v[0].n == 8 && same(&v[0], 1, 0, 4, 1) && same(&v[2], 1, 2, 4, 1),
          "take 8 triples spanning two batches: items 4..11");
    free3(v);

    rc = mimir_prep_matrix(prep, 2, 3, 4, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && v[0].n == 6 && v[1].n == 12 && v[2].n == 8 && same(&v[0], 2, 0, 0, 1) &&
              same(&v[1], 2, 1, 0, 1) && same(&v[2], 2, 2, 0, 1),
          "take a 2x3x4 matrix triple: the first of that shape");
    free3(v);
    rc = mimir_prep_matrix(prep, 2, 3, 4, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 4, 0, 0, 1) && same(&v[2], 4, 2, 0, 1),
          "the next 2x3x4 take skips the 3x3x3 batch and finds the second one");
    free3(v);
    rc = mimir_prep_matrix(prep, 2, 3, 4, &v[0], &v[1], &v[2], &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no matrix triples of shape 2x3x4 left "
                                                "(needed 1, have 0)") != NULL,
          "a third 2x3x4 is refused: %s", err.msg);
    rc = mimir_prep_matrix(prep, 4, 3, 2, &v[0], &v[1], &v[2], &err);
    CHECK(rc == MIMIR_EINPUT, "a 4x3x2 matrix triple (transposed shape) is not served");
    rc = mimir_prep_matrix(prep, 3, 3, 3, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[1], 3, 1, 0, 1), "the 3x3x3 triple is served");
    free3(v);

    rc = mimir_prep_trunc(prep, 3, 16, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && v[0].n == 3 && same(&v[0], 5, 0, 0, 1) && same(&v[2], 5, 2, 0, 1),
          "take 3 truncation pairs for f=16");
    free3(v);
    rc = mimir_prep_trunc(prep, 3, 20, &v[0], &v[1], &v[2], &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "f=20") != NULL,
          "no pairs for f=20: %s", err.msg);
    rc = mimir_prep_trunc(prep, 5, 12, &v[0], &v[1], &v[2], &err);
    CHECK(rc == MIMIR_EINPUT &&
              strstr(err.msg, "no truncation pairs for f=12 left (needed 5, have 4)") != NULL &&
              strcmp(err.file, dir) == 0,
          "5 pairs for f=12 when 4 exist: refused naming the pool: %s", err.msg);
    rc = mimir_prep_trunc(prep, 4, 12, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[1], 6, 1, 0, 1), "the refused request consumed nothing");
    free3(v);

    rc = mimir_prep_edabits(prep, 4, &v[0], &v[1], &err);
    CHECK(rc == 0 && v[0].n == 4 && v[1].n == 256 && v[2].n == 0 && same(&v[0], 7, 0, 0, 1) &&
              same(&v[1], 7, 1, 0, 1),
          "take 4 edaBits: r items 0..3 and bit elements 0..255 with their MAC words");
    free3(v);
    rc = mimir_prep_edabits(prep, 3, &v[0], &v[1], &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no edaBits left (needed 3, have 2)") != NULL,
          "running out of edaBits: %s", err.msg);
    rc = mimir_prep_edabits(prep, 2, &v[0], &v[1], &err);
    CHECK(rc == 0 && same(&v[0], 7, 0, 4, 1) && same(&v[1], 7, 1, 256, 1),
          "the last 2 edaBits: r items 4..5, bit elements 256..383");
    free3(v);

    rc = mimir_prep_triples(prep, 10, &v[0], &v[1], &v[2], &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no triples left (needed 10, have 3)") != NULL,
          "running out of triples: %s", err.msg);
    rc = mimir_prep_triples(prep, 0, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && v[0].n == 0, "taking 0 triples is allowed");
    free3(v);

    CHECK(mimir_pool_record_sacrifice(p, MIMIR_PREP_TRIPLE, 30, 2, &err) == 0,
          "record a sacrifice outcome");
    mimir_pool_status s;
    CHECK(mimir_pool_get_status(p, &s, &err) == 0 && s.generated[0] == 15 &&
              s.consumed[0] == 12 && s.remaining[0] == 3 && s.sacrificed[0] == 30 &&
              s.failed[0] == 2 && s.generated[1] == 2 * (6 + 12 + 8) + 27 &&
              s.remaining[1] == 0 && s.generated[2] == 12 && s.remaining[2] == 5 &&
              s.generated[3] == 6 && s.consumed[3] == 6 && s.remaining[3] == 0 &&
              s.batches == 8,
          "status counts elements per kind");

    mimir_pool *q = NULL;
    rc = mimir_pool_open(dir, 0, S1, &q, &err);
    CHECK(rc == MIMIR_ERUNTIME && strstr(err.msg, "in use by another process (lock held)"),
          "a second open is refused while the pool is locked: %s", err.msg);
    mimir_pool_close(q);
    CHECK(mimir_pool_peek_status(dir, &s, &err) == 0 && s.remaining[0] == 3,
          "peek_status works while the pool is locked");
    mimir_pool_close(p);

    rc = mimir_pool_open(dir, 1, S1, &q, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "party") == 0,
          "opening as party 1 is refused (field party): %s", err.msg);
    rc = mimir_pool_open(dir, 0, S2, &q, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "session") == 0,
          "opening for another session is refused (field session): %s", err.msg);
    rc = mimir_pool_open(dir, -1, NULL, &q, &err);
    CHECK(rc == 0, "reopen after close (party -1, session NULL: the pool's own)");
    if (rc == 0) {
        rc = mimir_prep_triples(mimir_pool_prep(q), 3, &v[0], &v[1], &v[2], &err);
        CHECK(rc == 0 && same(&v[0], 1, 0, 12, 1),
              "the cursor persisted across close/open: items 12..14");
        free3(v);
        mimir_pool_status s2;
        mimir_pool_get_status(q, &s2, &err);
        CHECK(s2.sacrificed[0] == 30 && s2.failed[0] == 2, "sacrifice counters persisted");
        mimir_pool_close(q);
    }
    CHECK(mimir_pool_verify(dir, &err) == 0, "verify: every batch's digest is right");
}

static void test_semi_honest(void)
{
    char dir[512];
    pdir(dir, "semi.p2");
    mimir_err err;
    CHECK(mkpool(dir, 2, S1, 0) == 0, "create a semi-honest pool (no MACs)");
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, 2, S1, &p, &err) != 0)
        return;
    CHECK(add_triples(p, 7, 6, 0, 0) == 0, "append triples without MAC words");
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    int rc = mimir_prep_triples(mimir_pool_prep(p), 6, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 7, 0, 0, 0) && same(&v[2], 7, 2, 0, 0),
          "semi-honest items come back without MAC words");
    free3(v);
    mimir_pool_close(p);
}

static void die_now(void)
{
    raise(SIGKILL);
}

static void test_killed_consumer(void)
{
    char dir[512];
    pdir(dir, "kill.p1");
    mimir_err err;
    mkpool(dir, 1, S1, 1);
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, 1, S1, &p, &err) != 0)
        return;
    add_triples(p, 8, 20, 0, 1);
    mimir_pool_close(p);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        mimir_pool *c = NULL;
        if (mimir_pool_open(dir, 1, S1, &c, &err) != 0)
            _exit(10);
        mimir_pool_test_after_cursor = die_now;
        mimir_sv v[3];
        memset(v, 0, sizeof v);
        mimir_prep_triples(mimir_pool_prep(c), 5, &v[0], &v[1], &v[2], &err);
        _exit(11); /* not reached: killed after the cursor advanced */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the child consumer was killed between cursor advance and use");
    int rc = mimir_pool_open(dir, 1, S1, &p, &err);
    CHECK(rc == 0, "the killed consumer's lock is released (%s)", rc ? err.msg : "ok");
    if (rc != 0)
        return;
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 5, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 8, 0, 5, 1) && same(&v[2], 8, 2, 5, 1),
          "the parent gets items 5..9, never the killed child's 0..4");
    free3(v);
    mimir_pool_status s;
    mimir_pool_get_status(p, &s, &err);
    CHECK(s.consumed[0] == 10 && s.remaining[0] == 10, "the child's items count as consumed");
    mimir_pool_close(p);
}

/* A pool of two triple batches, for the corruption tests. */
static int two_batches(const char *dir, int party, const uint8_t *session)
{
    mimir_err err;
    if (mkpool(dir, party, session, 1) != 0)
        return -1;
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, party, session, &p, &err) != 0)
        return -1;
    int rc = add_triples(p, 9, 4, 0, 1) | add_triples(p, 9, 4, 4, 1);
    mimir_pool_close(p);
    return rc;
}

static void test_bad_files(void)
{
    char dir[512], f[700], g[700];
    mimir_err err;
    mimir_pool *p = NULL;
    mimir_sv v[3];
    memset(v, 0, sizeof v);

    /* A flipped payload byte: the header is fine, the digest is not. */
    pdir(dir, "corrupt.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/batch-000000.mtp", dir);
    flip_byte(f, 200);
    CHECK(mimir_pool_verify(dir, &err) == MIMIR_EINPUT && strcmp(err.field, "digest") == 0 &&
              strcmp(err.file, f) == 0,
          "verify names the corrupted batch and the digest: %s: %s", err.file, err.msg);
    int rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == 0, "open checks headers only (the digest when a batch is first read)");
    if (rc == 0) {
        rc = mimir_prep_triples(mimir_pool_prep(p), 2, &v[0], &v[1], &v[2], &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "digest") == 0 && strcmp(err.file, f) == 0,
              "taking from a corrupted batch is refused naming it and the digest");
        mimir_pool_close(p);
    }
    CHECK(remaining(dir, MIMIR_PREP_TRIPLE) == 8, "nothing was consumed");

    /* A corrupted header field. */
    pdir(dir, "hdr.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    flip_byte(f, 12);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && err.field[0] != '\0',
          "a bad header is refused at open naming file and field: %s: %s", err.field, err.msg);

    /* Truncated. */
    pdir(dir, "trunc.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    struct stat st;
    stat(f, &st);
    CHECK(truncate(f, st.st_size - 10) == 0, "truncate a batch file");
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strcmp(err.field, "size") == 0 &&
              strstr(err.msg, "truncated") != NULL,
          "a truncated batch is refused at open: %s", err.msg);
    CHECK(remaining(dir, MIMIR_PREP_TRIPLE) == UINT64_MAX, "status refuses it too");

    /* Foreign batches: another party's, another session's. */
    char other[512];
    pdir(other, "other.p1");
    two_batches(other, 1, S1);
    pdir(dir, "foreign.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/batch-000001.mtp", other);
    snprintf(g, sizeof g, "%s/batch-000002.mtp", dir);
    copy_file(f, g);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, g) == 0 && strcmp(err.field, "party") == 0,
          "a batch of party 1 in party 0's pool is refused: %s", err.msg);
    pdir(other, "other.s2");
    two_batches(other, 0, S2);
    snprintf(f, sizeof f, "%s/batch-000001.mtp", other);
    copy_file(f, g);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, g) == 0 && strcmp(err.field, "session") == 0,
          "a batch of another session is refused: %s", err.msg);
    /* Same party and session but renamed: the index in the header binds the name. */
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    copy_file(f, g);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "index") == 0,
          "a copied (renumbered) batch is refused: %s", err.msg);
    unlink(g);
    CHECK(remaining(dir, MIMIR_PREP_TRIPLE) == 8, "the foreign pool still has all its items");

    /* A missing batch in the middle. */
    pdir(dir, "gap.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/batch-000000.mtp", dir);
    unlink(f);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strstr(err.msg, "missing"),
          "a missing batch is refused: %s", err.msg);

    /* A corrupted cursor and a corrupted key. */
    pdir(dir, "cur.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/cursor", dir);
    flip_byte(f, 20);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strcmp(err.field, "digest") == 0,
          "a corrupted cursor is refused: %s", err.msg);
    pdir(dir, "key.p0");
    two_batches(dir, 0, S1);
    snprintf(f, sizeof f, "%s/alpha.key", dir);
    flip_byte(f, 50);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strcmp(err.field, "digest") == 0,
          "a corrupted alpha.key is refused: %s", err.msg);
    pdir(dir, "nope");
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == MIMIR_EINPUT, "a missing pool directory is bad input: %s", err.msg);
}

/* Dealt items stored in three pools and taken back reconstruct to real triples with MACs. */
static void test_dealer_pools(void)
{
    uint8_t seed[MIMIR_DEALER_SEED_BYTES];
    memset(seed, 0x5a, sizeof seed);
    mimir_dealer *d = NULL;
    mimir_err err;
    if (!CHECK(mimir_dealer_new(seed, 0, 1, &d, &err) == 0, "a dealer"))
        return;
    mimir_r128 alpha3[3][2];
    mimir_dealer_alpha3(d, alpha3);
    mimir_pool *p[3] = {NULL, NULL, NULL};
    char dir[512], name[32];
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "dealt.p%d", i);
        pdir(dir, name);
        rc |= mimir_pool_create(dir, i, S1, alpha3[i], 1, "dealer", &err);
        rc |= mimir_pool_open(dir, i, S1, &p[i], &err);
    }
    mimir_sv a[3], b[3], c[3];
    memset(a, 0, sizeof a), memset(b, 0, sizeof b), memset(c, 0, sizeof c);
    rc |= mimir_dealer_triples3(d, 7, a, b, c, &err);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc |= mimir_pool_append_triples(p[i], &a[i], &b[i], &c[i], &err);
    for (int i = 0; i < 3; i++)
        mimir_sv_free(&a[i]), mimir_sv_free(&b[i]), mimir_sv_free(&c[i]);
    CHECK(rc == 0, "append each party's dealt triples to its pool");
    for (int i = 0; i < 3 && rc == 0; i++)
        rc |= mimir_prep_triples(mimir_pool_prep(p[i]), 7, &a[i], &b[i], &c[i], &err);
    mimir_r128 alpha = alpha3[0][0] + alpha3[1][0] + alpha3[2][0];
    int ok = rc == 0, copies = rc == 0;
    for (size_t j = 0; ok && j < 7; j++) {
        mimir_r128 va = 0, vb = 0, vc = 0, ma = 0, mc = 0;
        for (int i = 0; i < 3; i++) {
            va += a[i].x[0][j], vb += b[i].x[0][j], vc += c[i].x[0][j];
            ma += a[i].m[0][j], mc += c[i].m[0][j];
            copies &= a[i].x[1][j] == a[(i + 1) % 3].x[0][j] &&
                      c[i].m[1][j] == c[(i + 1) % 3].m[0][j];
        }
        ok &= vc == va * vb && ma == alpha * va && mc == alpha * vc;
    }
    CHECK(ok, "taken back from three pools: c = a * b and MACs alpha * x (mod 2^128)");
    CHECK(copies, "replicated copies agree across the three pools");
    for (int i = 0; i < 3; i++) {
        mimir_sv_free(&a[i]), mimir_sv_free(&b[i]), mimir_sv_free(&c[i]);
        mimir_pool_close(p[i]);
    }
    mimir_dealer_free(d);
}

int main(void)
{
    mimir_mem_init();
    snprintf(base, sizeof base, "/tmp/mimir-test-pool-XXXXXX");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_semi_honest();
    test_killed_consumer();
    test_bad_files();
    test_dealer_pools();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (getenv("KEEP") == NULL && system(cmd) != 0)
        printf("# could not remove %s\n", base);
    return tap_done();
}
