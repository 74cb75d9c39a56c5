/*
 * test_pool.c — triple pools on disk (lib/pool.h): round trips, batch spanning, exact-shape
 * matrix lookup, f matching, running out, the persisted cursor, the lock, a consumer killed
 * between cursor advance and use, and corrupted / truncated / foreign files refused with
 * nothing consumed; weight masks and pairs dealt into three pools (B, C = A B and A B^T and
 * their MACs reconstruct, pairs stay bound to their own mask across two deal runs, a pair for
 * another mask is refused, a corrupted mask batch is refused, counts); boolean triples and
 * comparison masks (round trips in order across batches and a reopen, never twice, the byte
 * layout of docs/formats.md, the binary flag at open, a corrupted batch, counts).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
    CHECK(mimir_pool_peek_status(dir, &s, &err) == 0 && s.remaining[0] == 0,
          "peek_status works while the pool is locked (and counts the reservation: 0 left)");
    mimir_pool_close(p);
    CHECK(mimir_pool_peek_status(dir, &s, &err) == 0 && s.remaining[0] == 3,
          "after close the reservation is given back: 3 left");

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
    mimir_err err = {0};
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
    mimir_err err = {0};
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
        mimir_pool_set_reserve(c, 3); /* the cursor counts 5 + 3 reserved */
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
    CHECK(rc == 0 && same(&v[0], 8, 0, 8, 1) && same(&v[2], 8, 2, 8, 1),
          "the parent gets items 8..12, never the killed child's 0..4 nor its reserved 5..7");
    free3(v);
    mimir_pool_status s;
    mimir_pool_get_status(p, &s, &err);
    CHECK(s.consumed[0] == 13 && s.remaining[0] == 7,
          "the child's items and its reservation count as consumed (%llu, %llu)",
          (unsigned long long)s.consumed[0], (unsigned long long)s.remaining[0]);
    mimir_pool_close(p);
}

/* Reservation: small takes write the cursor once per reservation; a clean close gives back
 * what was reserved and not handed out; another process's status sees the reservation. */
static void test_reserve(void)
{
    char dir[512];
    pdir(dir, "reserve.p1");
    mimir_err err = {0};
    mkpool(dir, 1, S1, 1);
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, 1, S1, &p, &err) != 0)
        return;
    add_triples(p, 5, 40, 0, 1);
    mimir_pool_set_reserve(p, 10);
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        mimir_sv v[3];
        memset(v, 0, sizeof v);
        ok &= mimir_prep_triples(mimir_pool_prep(p), 2, &v[0], &v[1], &v[2], &err) == 0 &&
              same(&v[0], 5, 0, 2 * (uint64_t)i, 1) && same(&v[1], 5, 1, 2 * (uint64_t)i, 1);
        free3(v);
    }
    CHECK(ok, "four takes of 2 give items 0..7 in order");
    mimir_pool_status ps;
    int rc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && ps.consumed[0] == 12,
          "on disk the cursor counts the 2 taken first and 10 reserved (%llu)",
          (unsigned long long)ps.consumed[0]);
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 5, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 5, 0, 8, 1), "a take past the reservation gives items 8..12");
    free3(v);
    rc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && ps.consumed[0] == 23, "and reserves 10 more on disk (%llu)",
          (unsigned long long)ps.consumed[0]);
    mimir_pool_close(p);
    rc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && ps.consumed[0] == 13 && ps.remaining[0] == 27,
          "a clean close gives the 10 reserved back (%llu consumed)",
          (unsigned long long)ps.consumed[0]);
    if (mimir_pool_open(dir, 1, S1, &p, &err) != 0)
        return;
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 3, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 5, 0, 13, 1), "the next open starts at item 13");
    free3(v);
    mimir_pool_close(p);
}

/* A pool of two triple batches, for the corruption tests. */
static int two_batches(const char *dir, int party, const uint8_t *session)
{
    mimir_err err = {0};
    if (mkpool(dir, party, session, 1) != 0)
        return -1;
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, party, session, &p, &err) != 0)
        return -1;
    int rc = add_triples(p, 9, 4, 0, 1) | add_triples(p, 9, 4, 4, 1);
    mimir_pool_close(p);
    return rc;
}

static ino_t cursor_inode(const char *dir)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/cursor", dir);
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* A write reserves ahead across the run of adjacent batches of the kind (and shape) taken,
 * within the budget, and stops at the first batch that does not match: a dealer writes one
 * batch per matrix triple, and a step's small batches then cost one write, not one each, while
 * a crash does not waste a later session's items of the same shape. */
static void test_reserve_across(void)
{
    char dir[512];
    pdir(dir, "across.p1");
    mimir_err err = {0};
    mkpool(dir, 1, S1, 1);
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, 1, S1, &p, &err) != 0)
        return;
    /* T0 T1 T2 | M123 M123 | M132 | T3 | M123 */
    int rc = add_triples(p, 5, 4, 0, 1) | add_triples(p, 5, 4, 4, 1) |
             add_triples(p, 5, 4, 8, 1) | add_matrix(p, 6, 1, 2, 3) | add_matrix(p, 7, 1, 2, 3) |
             add_matrix(p, 8, 1, 3, 2) | add_triples(p, 5, 4, 12, 1) | add_matrix(p, 9, 1, 2, 3);
    CHECK(rc == 0, "four triple batches of 4 and four matrix batches appended");
    mimir_pool_set_reserve(p, 20);
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 1, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 5, 0, 0, 1), "the first take gives triple 0");
    free3(v);
    mimir_pool_status ps;
    rc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && ps.consumed[MIMIR_PREP_TRIPLE - 1] == 12 &&
              ps.consumed[MIMIR_PREP_MATRIX - 1] == 0,
          "its write counts the three adjacent triple batches, not the fourth after the matrix "
          "batches, and no matrix (%llu triples, %llu matrix elements)",
          (unsigned long long)ps.consumed[MIMIR_PREP_TRIPLE - 1],
          (unsigned long long)ps.consumed[MIMIR_PREP_MATRIX - 1]);
    ino_t ino = cursor_inode(dir);
    int ok = 1;
    for (uint64_t first = 1; first < 12; first += 3) {
        memset(v, 0, sizeof v);
        size_t k = first + 3 <= 12 ? 3 : 12 - first;
        ok &= mimir_prep_triples(mimir_pool_prep(p), k, &v[0], &v[1], &v[2], &err) == 0 &&
              same(&v[0], 5, 0, first, 1) && same(&v[1], 5, 1, first, 1);
        free3(v);
    }
    CHECK(ok && ino != 0 && cursor_inode(dir) == ino,
          "takes across the batch boundaries give triples 1..11 in order without writing the "
          "cursor again");
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 2, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 5, 0, 12, 1) && cursor_inode(dir) != ino,
          "a take past the reservation (triples 12, 13 of the fourth batch) writes it");
    free3(v);
    /* matrix triples: the adjacent 1x2x3 pair takes one write; the third 1x2x3, after the
     * 1x3x2, is not reserved with them */
    memset(v, 0, sizeof v);
    rc = mimir_prep_matrix(mimir_pool_prep(p), 1, 2, 3, &v[0], &v[1], &v[2], &err);
    ino = cursor_inode(dir);
    rc |= mimir_pool_peek_status(dir, &ps, &err);
    uint64_t one = 1 * 2 + 2 * 3 + 1 * 3;
    CHECK(rc == 0 && ps.consumed[MIMIR_PREP_MATRIX - 1] == 2 * one,
          "the first 1x2x3 matrix triple reserves the next batch of its shape only (%llu "
          "elements counted, expected %llu)",
          (unsigned long long)ps.consumed[MIMIR_PREP_MATRIX - 1],
          (unsigned long long)(2 * one));
    free3(v);
    memset(v, 0, sizeof v);
    rc = mimir_prep_matrix(mimir_pool_prep(p), 1, 2, 3, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && cursor_inode(dir) == ino, "the second 1x2x3 takes no cursor write");
    free3(v);
    memset(v, 0, sizeof v);
    rc = mimir_prep_matrix(mimir_pool_prep(p), 1, 2, 3, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && cursor_inode(dir) != ino, "the third, after the 1x3x2 batch, writes it");
    free3(v);
    mimir_pool_close(p);
    rc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && ps.consumed[MIMIR_PREP_TRIPLE - 1] == 14 &&
              ps.consumed[MIMIR_PREP_MATRIX - 1] == 3 * one,
          "a clean close gives back what was reserved and not taken (%llu triples)",
          (unsigned long long)ps.consumed[MIMIR_PREP_TRIPLE - 1]);
}

/* mimir_pool_verify_open: hashes the batches with items left once, before any take, and
 * refuses a corrupted one naming it, with nothing consumed. */
static void test_verify_open(void)
{
    char dir[512], f[700];
    mimir_err err = {0};
    mimir_pool *p = NULL;
    pdir(dir, "vopen.p0");
    two_batches(dir, 0, S1);
    if (mimir_pool_open(dir, 0, S1, &p, &err) != 0)
        return;
    uint64_t bytes = 0;
    int rc = mimir_pool_verify_open(p, &bytes, &err);
    CHECK(rc == 0 && bytes > 2 * 4 * 3 * 64, "both batches hashed (%llu bytes)",
          (unsigned long long)bytes);
    rc = mimir_pool_verify_open(p, &bytes, &err);
    CHECK(rc == 0 && bytes == 0, "a second call hashes nothing (%llu bytes)",
          (unsigned long long)bytes);
    mimir_pool_close(p);
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    flip_byte(f, 200);
    if (mimir_pool_open(dir, 0, S1, &p, &err) != 0)
        return;
    rc = mimir_pool_verify_open(p, &bytes, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "digest") == 0 && strcmp(err.file, f) == 0,
          "a corrupted second batch is refused before any take, naming it: %s: %s", err.file,
          err.msg);
    mimir_pool_close(p);
    CHECK(remaining(dir, MIMIR_PREP_TRIPLE) == 8, "nothing was consumed");
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

/* Re-alignment (lib/pool.h mimir_pool_skip_to, used by lib/pool_align.c): batch states, a
 * skip beyond a batch refused with nothing changed, a skip that moves the cursor on disk, and
 * the next take starting where the skip left it. */
static void test_skip_to(void)
{
    char dir[512];
    pdir(dir, "skip.p0");
    mimir_err err = {0};
    mkpool(dir, 0, S1, 1);
    mimir_pool *p = NULL;
    if (mimir_pool_open(dir, 0, S1, &p, &err) != 0)
        return;
    add_triples(p, 7, 30, 0, 1);
    add_triples(p, 8, 20, 0, 1);
    mimir_pool_set_reserve(p, 0);
    mimir_sv v[3];
    memset(v, 0, sizeof v);
    int rc = mimir_prep_triples(mimir_pool_prep(p), 4, &v[0], &v[1], &v[2], &err);
    free3(v);
    mimir_pool_batch_state st[2];
    CHECK(rc == 0 && mimir_pool_batches(p) == 2, "two batches (%zu)", mimir_pool_batches(p));
    mimir_pool_get_batch_state(p, 0, &st[0]);
    mimir_pool_get_batch_state(p, 1, &st[1]);
    CHECK(st[0].kind == MIMIR_PREP_TRIPLE && st[0].count == 30 && st[0].consumed == 4 &&
              st[1].count == 20 && st[1].consumed == 0,
          "batch states: (triple, 30, 4) and (triple, 20, 0)");
    uint64_t to[2] = {31, 0}, skipped = 99;
    rc = mimir_pool_skip_to(p, to, 2, &skipped, &err);
    mimir_pool_get_batch_state(p, 0, &st[0]);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "beyond its 30 items") != NULL &&
              st[0].consumed == 4 && skipped == 0,
          "a position beyond a batch's items is refused, nothing moves (%s)", err.msg);
    rc = mimir_pool_skip_to(p, to, 1, NULL, &err);
    CHECK(rc == MIMIR_EINPUT, "a vector of the wrong length is refused (%s)", err.msg);
    to[0] = 10, to[1] = 3;
    rc = mimir_pool_skip_to(p, to, 2, &skipped, &err);
    mimir_pool_status ps;
    int prc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && skipped == 9 && prc == 0 && ps.consumed[0] == 13,
          "skipping to (10, 3) skips 9 items and the cursor on disk counts 13 (%llu, %llu)",
          (unsigned long long)skipped, (unsigned long long)ps.consumed[0]);
    to[0] = 2, to[1] = 3;
    rc = mimir_pool_skip_to(p, to, 2, &skipped, &err);
    CHECK(rc == 0 && skipped == 0, "skipping backwards moves nothing (%llu)",
          (unsigned long long)skipped);
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 2, &v[0], &v[1], &v[2], &err);
    CHECK(rc == 0 && same(&v[0], 7, 0, 10, 1), "the next take starts at item 10");
    free3(v);
    /* a used-up batch's file is not held open (a GPT-2 session reads thousands of batches) */
    int before = open_fds();
    memset(v, 0, sizeof v);
    rc = mimir_prep_triples(mimir_pool_prep(p), 18 + 17, &v[0], &v[1], &v[2], &err);
    free3(v);
    /* batch 0 was open (read before), batch 1 not yet: both end closed, one fewer open */
    CHECK(rc == 0 && open_fds() == before - 1, "taking the rest of both batches leaves neither "
          "file open (%d descriptors open before, %d after)", before, open_fds());
    mimir_pool_close(p);
}

static void test_bad_files(void)
{
    char dir[512], f[700], g[700];
    mimir_err err = {0};
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
    mimir_err err = {0};
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

/* x = the sum of the parties' first components; replication and MAC = alpha * x checked. */
static int open_sv3(const mimir_sv v[3], mimir_r128 alpha, mimir_r128 *x)
{
    int ok = v[0].n == v[1].n && v[1].n == v[2].n;
    for (size_t i = 0; ok && i < v[0].n; i++) {
        x[i] = v[0].x[0][i] + v[1].x[0][i] + v[2].x[0][i];
        mimir_r128 m = v[0].m[0][i] + v[1].m[0][i] + v[2].m[0][i];
        ok &= m == alpha * x[i];
        for (int q = 0; q < 3; q++)
            ok &= v[q].x[1][i] == v[(q + 1) % 3].x[0][i] &&
                  v[q].m[1][i] == v[(q + 1) % 3].m[0][i];
    }
    return ok;
}

/* B from the three parts of a mask (lib/wmask.c), replication and MAC = alpha * B checked. */
static int open_mask3(const mimir_wmask m[3], mimir_r128 alpha, mimir_r128 *B)
{
    size_t n = m[0].inner * m[0].cols;
    mimir_r128 t[64], u[64], mac[64];
    if (n > 64)
        return 0;
    int ok = 1;
    memset(B, 0, n * sizeof *B);
    memset(mac, 0, sizeof mac);
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 2; q++) {
            mimir_wmask_words(&m[p], 2 * q, 0, n, t); /* component p of the value / the MAC */
            for (size_t i = 0; i < n; i++)
                *(q ? &mac[i] : &B[i]) += t[i];
            mimir_wmask_words(&m[p], 2 * q + 1, 0, n, t);
            mimir_wmask_words(&m[(p + 1) % 3], 2 * q, 0, n, u);
            ok &= memcmp(t, u, n * sizeof *t) == 0;
        }
    for (size_t i = 0; i < n; i++)
        ok &= mac[i] == alpha * B[i];
    return ok;
}

/* Whether C = A B (transposed 0; A rows x inner) or A B^T (1; A rows x cols). */
static int is_product(const mimir_r128 *A, const mimir_r128 *B, const mimir_r128 *C,
                      size_t rows, size_t inner, size_t cols, int transposed)
{
    size_t ain = transposed ? cols : inner, cout = transposed ? inner : cols;
    int ok = 1;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cout; j++) {
            mimir_r128 acc = 0;
            for (size_t k = 0; k < ain; k++)
                acc += A[r * ain + k] * (transposed ? B[j * cols + k] : B[k * cols + j]);
            ok &= acc == C[r * cout + j];
        }
    return ok;
}

/* Whether two parts of a mask hold the same id, shape and words in every component. */
static int same_mask(const mimir_wmask *a, const mimir_wmask *b)
{
    size_t n = a->inner * a->cols;
    mimir_r128 t[64], u[64];
    int ok = a->id == b->id && a->inner == b->inner && a->cols == b->cols && n <= 64;
    for (int q = 0; ok && q < 4; q++) {
        mimir_wmask_words(a, q, 0, n, t);
        mimir_wmask_words(b, q, 0, n, u);
        ok &= memcmp(t, u, n * sizeof *t) == 0;
    }
    return ok;
}

/* Deals count pairs bound to mask with d and appends them to the three pools as one batch. */
static int add_wpairs(mimir_pool *p[3], mimir_dealer *d, const mimir_wmask *mask, size_t rows,
                      int transposed, size_t count)
{
    size_t na = rows * (transposed ? mask->cols : mask->inner);
    size_t nc = rows * (transposed ? mask->inner : mask->cols);
    mimir_sv A[3], C[3], a[3], c[3];
    memset(A, 0, sizeof A), memset(C, 0, sizeof C);
    mimir_err err = {0};
    int rc = 0;
    for (int i = 0; i < 3; i++)
        rc |= mimir_sv_alloc(&A[i], count * na, 1, &err) |
              mimir_sv_alloc(&C[i], count * nc, 1, &err);
    for (size_t j = 0; j < count && rc == 0; j++) {
        memset(a, 0, sizeof a), memset(c, 0, sizeof c);
        rc = mimir_dealer_wpair3(d, mask, rows, transposed, a, c, &err);
        for (int i = 0; i < 3 && rc == 0; i++)
            for (int w = 0; w < 2; w++) {
                memcpy(A[i].x[w] + j * na, a[i].x[w], na * sizeof(mimir_r128));
                memcpy(A[i].m[w] + j * na, a[i].m[w], na * sizeof(mimir_r128));
                memcpy(C[i].x[w] + j * nc, c[i].x[w], nc * sizeof(mimir_r128));
                memcpy(C[i].m[w] + j * nc, c[i].m[w], nc * sizeof(mimir_r128));
            }
        free3(a), free3(c);
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = mimir_pool_append_wpairs(p[i], mask->id, mask->inner, mask->cols, rows,
                                      transposed, count, &A[i], &C[i], &err);
    if (rc != 0)
        printf("# add_wpairs: %s: %s\n", err.field, err.msg);
    free3(A), free3(C);
    return rc;
}

/* Takes one pair for mask (its three parts) from the three pools and reconstructs A and C. */
static int take_wpair3(mimir_pool *p[3], const mimir_wmask mask[3], size_t rows, int transposed,
                       mimir_r128 alpha, mimir_r128 *A, mimir_r128 *C, mimir_err *err)
{
    mimir_sv a[3], c[3];
    memset(a, 0, sizeof a), memset(c, 0, sizeof c);
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = mimir_prep_wpair(mimir_pool_prep(p[i]), &mask[i], rows, transposed, &a[i], &c[i],
                              err);
    if (rc == 0 && !(open_sv3(a, alpha, A) && open_sv3(c, alpha, C)))
        rc = -1;
    free3(a), free3(c);
    return rc;
}

static void test_wmask_pools(void)
{
    enum { I = 3, C = 4, ROWS = 2 };
    uint8_t seed1[MIMIR_DEALER_SEED_BYTES], seed2[MIMIR_DEALER_SEED_BYTES];
    memset(seed1, 0x21, sizeof seed1);
    memset(seed2, 0x42, sizeof seed2);
    mimir_dealer *d1 = NULL, *d2 = NULL;
    mimir_err err = {0};
    if (!CHECK(mimir_dealer_new(seed1, 0, 1, &d1, &err) == 0 &&
                   mimir_dealer_new(seed2, 0, 1, &d2, &err) == 0,
               "two dealers (two deal runs)"))
        return;
    mimir_r128 a1[3][2], a2[3][2];
    mimir_dealer_alpha3(d1, a1);
    mimir_dealer_alpha3(d2, a2);
    mimir_r128 alpha1 = a1[0][0] + a1[1][0] + a1[2][0], alpha2 = a2[0][0] + a2[1][0] + a2[2][0];
    mimir_pool *p[3] = {NULL, NULL, NULL};
    char dir[3][512], name[32];
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "wm.p%d", i);
        pdir(dir[i], name);
        rc |= mimir_pool_create(dir[i], i, S1, a1[i], 1, "dealer", &err);
        rc |= mimir_pool_open(dir[i], i, S1, &p[i], &err);
    }
    mimir_wmask m1[3], m2[3], t1[3], t2[3], extra;
    memset(m1, 0, sizeof m1), memset(m2, 0, sizeof m2), memset(t1, 0, sizeof t1);
    memset(t2, 0, sizeof t2), memset(&extra, 0, sizeof extra);
    /* Run 1: mask M1, two plain pairs (one batch), one transposed pair. */
    rc |= mimir_dealer_wmask3(d1, I, C, m1, &err);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc |= mimir_pool_append_wmask(p[i], &m1[i], &err);
    if (!CHECK(rc == 0, "three pools and run 1's mask appended (%s)", rc ? err.msg : "ok"))
        goto out;
    CHECK(add_wpairs(p, d1, &m1[0], ROWS, 0, 2) == 0, "two plain pairs bound to M1, one batch");
    CHECK(add_wpairs(p, d1, &m1[0], ROWS, 1, 1) == 0, "a transposed pair bound to M1");
    /* Run 2 (another seed): mask M2 of the same shape, one plain pair of the same shape. */
    rc = mimir_dealer_wmask3(d2, I, C, m2, &err);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc |= mimir_pool_append_wmask(p[i], &m2[i], &err);
    CHECK(rc == 0 && m2[0].id != m1[0].id, "run 2's mask appended, another id (%016llx, %016llx)",
          (unsigned long long)m1[0].id, (unsigned long long)m2[0].id);
    CHECK(add_wpairs(p, d2, &m2[0], ROWS, 0, 1) == 0, "a plain pair bound to M2");

    CHECK(mimir_pool_append_wmask(p[0], &m1[0], &err) == MIMIR_EINPUT &&
              strcmp(err.field, "id") == 0,
          "a mask already in the pool is refused (field id): %s", err.msg);
    mimir_sv v[2];
    memset(v, 0, sizeof v);
    mimir_sv_alloc(&v[0], ROWS * I, 1, &err);
    mimir_sv_alloc(&v[1], ROWS * C, 1, &err);
    CHECK(mimir_pool_append_wpairs(p[0], m1[0].id ^ 1, I, C, ROWS, 0, 1, &v[0], &v[1], &err) ==
                  MIMIR_EINPUT && strcmp(err.field, "mask") == 0,
          "pairs bound to a mask the pool does not hold are refused (field mask): %s", err.msg);
    CHECK(mimir_pool_append_wpairs(p[0], m1[0].id, I, C, ROWS, 0, 2, &v[0], &v[1], &err) ==
                  MIMIR_EINPUT && strcmp(err.field, "a") == 0,
          "pairs whose A has the wrong length are refused (field a)");
    mimir_sv_free(&v[0]);
    mimir_sv_free(&v[1]);
    char f[700];
    struct stat st;
    snprintf(f, sizeof f, "%s/batch-000000.mtp", dir[0]);
    CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600, "a mask batch has mode 0600");

    /* Close and reopen: everything is read back from disk. */
    for (int i = 0; i < 3; i++) {
        mimir_pool_close(p[i]);
        p[i] = NULL;
        rc |= mimir_pool_open(dir[i], i, S1, &p[i], &err);
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = mimir_prep_wmask(mimir_pool_prep(p[i]), I, C, &t1[i], &err) |
             mimir_prep_wmask(mimir_pool_prep(p[i]), I, C, &t2[i], &err);
    if (!CHECK(rc == 0, "reopen and take two masks at each party (%s)", rc ? err.msg : "ok"))
        goto out;
    int same = 1;
    for (int i = 0; i < 3; i++)
        same &= same_mask(&t1[i], &m1[i]) && same_mask(&t2[i], &m2[i]);
    CHECK(same, "masks come back in order of batches with their ids, seeds and components");
    CHECK(t1[1].expl[0] == NULL && t1[1].expl[2] == NULL && t1[0].expl[2] != NULL &&
              t1[0].expl[0] == NULL,
          "seeded components stay seeded, explicit ones explicit");
    rc = mimir_prep_wmask(mimir_pool_prep(p[0]), I, C, &extra, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no weight masks of shape 3x4 left") != NULL,
          "a third mask is refused: %s", err.msg);
    mimir_r128 B1[I * C], B2[I * C], A[ROWS * C], Cv[ROWS * C];
    CHECK(open_mask3(t1, alpha1, B1), "M1 reconstructs from the three pools, MACs alpha * B");
    CHECK(open_mask3(t2, alpha2, B2), "M2 reconstructs, MACs under run 2's key");

    int ok = 1;
    for (int k = 0; k < 2; k++)
        ok &= take_wpair3(p, t1, ROWS, 0, alpha1, A, Cv, &err) == 0 &&
              is_product(A, B1, Cv, ROWS, I, C, 0);
    CHECK(ok, "two plain pairs for M1: C = A B1, MACs alpha * x");
    rc = take_wpair3(p, t1, ROWS, 0, alpha1, A, Cv, &err);
    char id1[17], id2[17];
    snprintf(id1, sizeof id1, "%016llx", (unsigned long long)m1[0].id);
    snprintf(id2, sizeof id2, "%016llx", (unsigned long long)m2[0].id);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, dir[0]) == 0 && strstr(err.msg, id1) &&
              strstr(err.msg, id2),
          "a third plain pair for M1 is refused: the one left is bound to M2 (names the pool "
          "and both ids): %s", err.msg);
    rc = take_wpair3(p, t1, ROWS, 1, alpha1, A, Cv, &err);
    CHECK(rc == 0 && is_product(A, B1, Cv, ROWS, I, C, 1), "the transposed pair: C = A B1^T");
    rc = take_wpair3(p, t2, ROWS, 0, alpha2, A, Cv, &err);
    CHECK(rc == 0 && is_product(A, B2, Cv, ROWS, I, C, 0) &&
              !is_product(A, B1, Cv, ROWS, I, C, 0),
          "M2's pair (another deal run) is bound to M2: C = A B2, not A B1");
    mimir_wmask other = {.id = 12345, .inner = I, .cols = C, .macs = 1, .hollow = 1};
    mimir_sv a[1], c[1];
    memset(a, 0, sizeof a), memset(c, 0, sizeof c);
    CHECK(mimir_prep_wpair(mimir_pool_prep(p[0]), &other, ROWS, 0, a, c, &err) == MIMIR_EINPUT,
          "a pair for a mask the pool does not hold is refused: %s", err.msg);
    mimir_pool_status s;
    memset(&s, 0, sizeof s);
    rc = mimir_pool_get_status(p[1], &s, &err);
    CHECK(rc == 0 && s.generated[MIMIR_PREP_WMASK - 1] == 24 &&
              s.consumed[MIMIR_PREP_WMASK - 1] == 24 &&
              s.generated[MIMIR_PREP_WPAIR - 1] == 4 * ROWS * (I + C) &&
              s.consumed[MIMIR_PREP_WPAIR - 1] == 4 * ROWS * (I + C) &&
              s.remaining[MIMIR_PREP_WPAIR - 1] == 0 && s.batches == 5,
          "status: inner*cols per mask, rows*(ain + cout) per pair (wmask %llu, wpair %llu)",
          (unsigned long long)s.generated[MIMIR_PREP_WMASK - 1],
          (unsigned long long)s.generated[MIMIR_PREP_WPAIR - 1]);

    /* A corrupted mask batch: verify and take refuse it naming the batch and "digest". */
    char cdir[512];
    pdir(cdir, "wmcorrupt.p0");
    mimir_pool *q = NULL;
    rc = mimir_pool_create(cdir, 0, S1, a1[0], 1, "dealer", &err) |
         mimir_pool_open(cdir, 0, S1, &q, &err);
    if (rc == 0)
        rc = mimir_pool_append_wmask(q, &m1[0], &err);
    mimir_pool_close(q);
    q = NULL;
    snprintf(f, sizeof f, "%s/batch-000000.mtp", cdir);
    flip_byte(f, 128 + 40);
    CHECK(rc == 0 && mimir_pool_verify(cdir, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "digest") == 0 && strcmp(err.file, f) == 0,
          "verify refuses a corrupted mask batch naming it and the digest: %s", err.msg);
    rc = mimir_pool_open(cdir, 0, S1, &q, &err);
    if (rc == 0) {
        rc = mimir_prep_wmask(mimir_pool_prep(q), I, C, &extra, &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "digest") == 0 &&
                  strcmp(err.file, f) == 0,
              "taking a corrupted mask is refused naming the batch and the digest");
        mimir_pool_close(q);
    }
    CHECK(remaining(cdir, MIMIR_PREP_WMASK) == I * C, "the corrupted mask was not consumed");

    /* A mask batch without the AES-256-CTR flag (bit 8: header byte 96 + 1, bit 0), as a pool
     * dealt for the older ChaCha20 expansion has: refused at open naming the file and "flags"
     * (the exit code of MIMIR_EINPUT is 2), before anything is consumed. */
    pdir(cdir, "wmchacha.p0");
    rc = mimir_pool_create(cdir, 0, S1, a1[0], 1, "dealer", &err) |
         mimir_pool_open(cdir, 0, S1, &q, &err);
    if (rc == 0)
        rc = mimir_pool_append_wmask(q, &m1[0], &err);
    mimir_pool_close(q);
    q = NULL;
    snprintf(f, sizeof f, "%s/batch-000000.mtp", cdir);
    FILE *hf = fopen(f, "r+b");
    int fb = -1;
    if (hf != NULL && fseek(hf, 97, SEEK_SET) == 0)
        fb = fgetc(hf);
    CHECK(rc == 0 && fb == 0x01, "a new mask batch carries the AES-256-CTR flag (byte 97: %d)",
          fb);
    if (hf != NULL) {
        fseek(hf, 97, SEEK_SET);
        fputc(0, hf);
        fclose(hf);
    }
    rc = mimir_pool_open(cdir, 0, S1, &q, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strcmp(err.field, "flags") == 0 &&
              strstr(err.msg, "AES-256-CTR") != NULL && strstr(err.msg, "ChaCha20") != NULL,
          "a mask batch without the AES flag is refused at open: %s: %s", err.field, err.msg);
    mimir_pool_close(q);
    q = NULL;
out:
    for (int i = 0; i < 3; i++) {
        mimir_wmask_free(&m1[i]), mimir_wmask_free(&m2[i]);
        mimir_wmask_free(&t1[i]), mimir_wmask_free(&t2[i]);
        mimir_pool_close(p[i]);
    }
    mimir_wmask_free(&extra);
    mimir_dealer_free(d1);
    mimir_dealer_free(d2);
}

/* Boolean words are a function of (tag, vector, component, word); a daBit's word (vec 3)
 * holds one bit in bit 0. */
static uint64_t bval(unsigned tag, int vec, int comp, uint64_t i)
{
    uint64_t v = ((uint64_t)tag << 48 | (uint64_t)vec << 40 | (uint64_t)comp << 32) ^
                 (i * 0x9e3779b97f4a7c15ull + 3);
    return vec == 3 ? (v >> 7) & 1 : v;
}

static void bfill(mimir_bv *v, unsigned tag, int vec, uint64_t first)
{
    for (size_t i = 0; i < v->n; i++)
        for (int q = 0; q < 2; q++)
            v->x[q][i] = bval(tag, vec, q, first + i);
}

static int bsame(const mimir_bv *v, unsigned tag, int vec, uint64_t first, size_t n)
{
    int ok = v->n == n;
    for (size_t i = 0; ok && i < n; i++)
        for (int q = 0; q < 2; q++)
            ok &= v->x[q][i] == bval(tag, vec, q, first + i);
    return ok;
}

static int add_btriples(mimir_pool *p, unsigned tag, size_t n, uint64_t first)
{
    mimir_bv v[3];
    memset(v, 0, sizeof v);
    mimir_err err = {0};
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        rc |= mimir_bv_alloc(&v[k], n, &err);
        if (rc == 0)
            bfill(&v[k], tag, k, first);
    }
    if (rc == 0)
        rc = mimir_pool_append_btriples(p, &v[0], &v[1], &v[2], &err);
    for (int k = 0; k < 3; k++)
        mimir_bv_free(&v[k]);
    return rc;
}

/* n comparison masks, items first..first+n-1 of tag: r (vec 0), rb (1), d (2), db (3). bad:
 * 1 sets bit 5 of a db word, 2 gives rb one word too few. */
static int add_cmasks(mimir_pool *p, unsigned tag, size_t n, uint64_t first, int macs, int bad,
                      mimir_err *err)
{
    mimir_sv r, d;
    mimir_bv rb, db;
    memset(&r, 0, sizeof r), memset(&d, 0, sizeof d);
    memset(&rb, 0, sizeof rb), memset(&db, 0, sizeof db);
    int rc = mimir_sv_alloc(&r, n, macs, err) | mimir_sv_alloc(&d, n, macs, err) |
             mimir_bv_alloc(&rb, bad == 2 ? n - 1 : n, err) | mimir_bv_alloc(&db, n, err);
    if (rc == 0) {
        fill(&r, tag, 0, first);
        fill(&d, tag, 2, first);
        bfill(&rb, tag, 1, first);
        bfill(&db, tag, 3, first);
        if (bad == 1)
            db.x[1][n - 1] |= 1u << 5;
        rc = mimir_pool_append_cmasks(p, &r, &rb, &d, &db, err);
    }
    mimir_sv_free(&r), mimir_sv_free(&d);
    mimir_bv_free(&rb), mimir_bv_free(&db);
    return rc;
}

/* Takes n masks and checks they are items first.. of tag. */
static int take_cmasks(mimir_pool *p, size_t n, unsigned tag, uint64_t first, int macs,
                       mimir_err *err)
{
    mimir_sv r, d;
    mimir_bv rb, db;
    int rc = mimir_prep_cmasks(mimir_pool_prep(p), n, &r, &rb, &d, &db, err);
    if (rc != 0)
        return rc;
    int ok = r.n == n && d.n == n && same(&r, tag, 0, first, macs) &&
             same(&d, tag, 2, first, macs) && bsame(&rb, tag, 1, first, n) &&
             bsame(&db, tag, 3, first, n);
    mimir_sv_free(&r), mimir_sv_free(&d);
    mimir_bv_free(&rb), mimir_bv_free(&db);
    return ok ? 0 : -1;
}

static int take_btriples(mimir_pool *p, size_t n, unsigned tag, uint64_t first, mimir_err *err)
{
    mimir_bv v[3];
    int rc = mimir_prep_btriples(mimir_pool_prep(p), n, &v[0], &v[1], &v[2], err);
    if (rc != 0)
        return rc;
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        ok &= bsame(&v[k], tag, k, first, n);
        mimir_bv_free(&v[k]);
    }
    return ok ? 0 : -1;
}

/* A take of n spanning two batches of tags t1 (from first) and t2 (from 0): k of t1. */
static int take_btriples2(mimir_pool *p, size_t n, unsigned t1, uint64_t first, size_t k,
                          unsigned t2, mimir_err *err)
{
    mimir_bv v[3];
    int rc = mimir_prep_btriples(mimir_pool_prep(p), n, &v[0], &v[1], &v[2], err);
    if (rc != 0)
        return rc;
    int ok = 1;
    for (int q = 0; q < 3; q++) {
        ok &= v[q].n == n;
        for (size_t i = 0; ok && i < n; i++)
            for (int c = 0; c < 2; c++)
                ok &= v[q].x[c][i] ==
                      (i < k ? bval(t1, q, c, first + i) : bval(t2, q, c, i - k));
        mimir_bv_free(&v[q]);
    }
    return ok ? 0 : -1;
}

/* Bytes [off, off + 8) of a file as a little-endian word; 0 if unreadable. */
static uint64_t file_u64(const char *path, long off)
{
    uint8_t b[8] = {0};
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(b, 1, 8, f) != 8)
            memset(b, 0, sizeof b);
        fclose(f);
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_binary_kinds(void)
{
    char dir[512], f[600];
    pdir(dir, "bin.p1");
    mimir_err err = {0};
    mimir_pool *p = NULL;
    int rc = mkpool(dir, 1, S1, 1);
    if (rc == 0)
        rc = mimir_pool_open(dir, 1, S1, &p, &err);
    CHECK(rc == 0, "binary kinds: create and open a pool (%s)", rc ? err.msg : "ok");
    if (rc != 0)
        return;
    CHECK(mimir_pool_prep(p)->binary == 0, "an empty pool's source is not binary");
    CHECK(add_btriples(p, 21, 5, 0) == 0, "append 5 words of boolean triples");
    CHECK(add_btriples(p, 22, 7, 0) == 0, "append 7 more (a second batch)");
    CHECK(mimir_pool_prep(p)->binary == 0, "boolean triples alone do not make it binary");
    CHECK(add_btriples(p, 22, 0, 0) == MIMIR_EINPUT, "an empty boolean triple batch is refused");
    rc = add_cmasks(p, 23, 3, 0, 1, 1, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "db") == 0,
          "a daBit word with bits above bit 0 is refused (%s: %s)", err.field, err.msg);
    rc = add_cmasks(p, 23, 3, 0, 1, 2, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "rb") == 0,
          "rb of the wrong length is refused (%s: %s)", err.field, err.msg);
    CHECK(mimir_pool_batches(p) == 2 && mimir_pool_prep(p)->binary == 0,
          "refused appends write nothing");
    CHECK(add_cmasks(p, 23, 3, 0, 1, 0, &err) == 0, "append 3 comparison masks (%s)", err.msg);
    CHECK(mimir_pool_prep(p)->binary == 1, "appending comparison masks makes the source binary");
    CHECK(add_cmasks(p, 24, 4, 0, 1, 0, &err) == 0, "append 4 more (a second batch)");
    CHECK(add_triples(p, 25, 2, 0, 1) == 0, "append 2 triples after them");

    /* docs/formats.md: boolean vectors are two arrays (x[0], x[1]) of 8-byte words */
    snprintf(f, sizeof f, "%s/batch-000000.mtp", dir);
    CHECK(file_size(f) == 128 + 5 * 3 * 16 + 32, "a batch of 5 boolean triple words is "
          "128 + 5*48 + 32 bytes (got %ld)", file_size(f));
    CHECK(file_u64(f, 128 + 2 * 8) == bval(21, 0, 0, 2) &&
              file_u64(f, 128 + 5 * 8 + 4 * 8) == bval(21, 0, 1, 4) &&
              file_u64(f, 128 + 5 * 16 + 5 * 8 + 1 * 8) == bval(21, 1, 1, 1) &&
              file_u64(f, 128 + 2 * 5 * 16 + 3 * 8) == bval(21, 2, 0, 3),
          "boolean triple layout: a's x[0], a's x[1], b's, c's word arrays");
    snprintf(f, sizeof f, "%s/batch-000002.mtp", dir);
    CHECK(file_size(f) == 128 + 3 * (64 + 16 + 64 + 16) + 32,
          "a batch of 3 comparison masks is 128 + 3*160 + 32 bytes (got %ld)", file_size(f));
    CHECK(file_u64(f, 128 + 3 * 64 + 3 * 8 + 2 * 8) == bval(23, 1, 1, 2) &&
              file_u64(f, 128 + 3 * 64 + 3 * 16 + 3 * 64 + 1 * 8) == bval(23, 3, 0, 1),
          "comparison mask layout: r's 4 arrays, rb's 2, d's 4, db's 2");

    CHECK(take_btriples(p, 3, 21, 0, &err) == 0, "take 3 boolean triple words: 0..2");
    CHECK(take_btriples2(p, 4, 21, 3, 2, 22, &err) == 0,
          "take 4 spanning two batches: words 3, 4 of the first, 0, 1 of the second");
    CHECK(take_cmasks(p, 2, 23, 0, 1, &err) == 0, "take 2 comparison masks: items 0, 1");
    mimir_pool_status st;
    mimir_pool_get_status(p, &st, &err);
    CHECK(st.generated[MIMIR_PREP_BTRIPLE - 1] == 12 && st.consumed[MIMIR_PREP_BTRIPLE - 1] == 7 &&
              st.generated[MIMIR_PREP_CMASK - 1] == 7 && st.consumed[MIMIR_PREP_CMASK - 1] == 2 &&
              st.remaining[MIMIR_PREP_CMASK - 1] == 5 && st.generated[0] == 2,
          "status: 12 words generated, 7 consumed; 7 masks, 2 consumed, 5 left");
    mimir_pool_close(p);
    p = NULL;
    CHECK(remaining(dir, MIMIR_PREP_BTRIPLE) == 5 && remaining(dir, MIMIR_PREP_CMASK) == 5,
          "after close: 5 words and 5 masks left (the reservation given back)");

    rc = mimir_pool_open(dir, 1, S1, &p, &err);
    CHECK(rc == 0 && mimir_pool_prep(p)->binary == 1,
          "reopened: a pool holding comparison masks opens binary");
    if (rc != 0)
        return;
    CHECK(take_btriples(p, 5, 22, 2, &err) == 0, "after reopen: words 2..6 of the second batch");
    rc = take_btriples(p, 1, 22, 7, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no boolean triple words left (needed 1, have "
                                                "0)") != NULL,
          "no word is handed out twice: %s", err.msg);
    CHECK(take_cmasks(p, 1, 23, 2, 1, &err) == 0, "then mask 2 of the first mask batch");
    rc = take_cmasks(p, 5, 24, 0, 1, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "no comparison masks left (needed 5, have 4)"),
          "5 masks when 4 are left: refused, %s", err.msg);
    CHECK(take_cmasks(p, 4, 24, 0, 1, &err) == 0, "the 4 of the second batch, in order");
    mimir_pool_close(p);
    p = NULL;
    CHECK(remaining(dir, MIMIR_PREP_CMASK) == 0 && remaining(dir, MIMIR_PREP_TRIPLE) == 2,
          "every mask consumed; the triples untouched");
    rc = mimir_pool_open(dir, 1, S1, &p, &err);
    CHECK(rc == 0 && mimir_pool_prep(p)->binary == 1,
          "a pool whose comparison masks are all consumed still opens binary");
    mimir_pool_close(p);
    p = NULL;

    /* semi-honest: r and d without MAC words; a pool of boolean triples only is not binary */
    pdir(dir, "binsh.p2");
    rc = mkpool(dir, 2, S1, 0);
    if (rc == 0)
        rc = mimir_pool_open(dir, 2, S1, &p, &err);
    if (rc == 0)
        rc = add_btriples(p, 26, 4, 0) | add_cmasks(p, 27, 2, 0, 0, 0, &err);
    CHECK(rc == 0, "semi-honest pool with boolean triples and masks (%s)", rc ? err.msg : "ok");
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    CHECK(file_size(f) == 128 + 2 * (32 + 16 + 32 + 16) + 32,
          "semi-honest masks: 96 bytes each (got %ld)", file_size(f));
    CHECK(rc == 0 && take_cmasks(p, 2, 27, 0, 0, &err) == 0,
          "semi-honest masks round trip without MAC words");
    mimir_pool_close(p);
    p = NULL;
    pdir(dir, "binbt.p0");
    rc = mkpool(dir, 0, S1, 1);
    if (rc == 0)
        rc = mimir_pool_open(dir, 0, S1, &p, &err);
    if (rc == 0)
        rc = add_btriples(p, 28, 4, 0);
    mimir_pool_close(p);
    p = NULL;
    if (rc == 0)
        rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == 0 && mimir_pool_prep(p)->binary == 0,
          "a pool of boolean triples only opens not binary");
    mimir_pool_close(p);
    p = NULL;

    /* a corrupted comparison mask batch and boolean triple batch: verify names them, a take
     * refuses them and consumes nothing */
    pdir(dir, "bincorrupt.p0");
    rc = mkpool(dir, 0, S1, 1);
    if (rc == 0)
        rc = mimir_pool_open(dir, 0, S1, &p, &err);
    if (rc == 0)
        rc = add_btriples(p, 29, 4, 0) | add_cmasks(p, 30, 3, 0, 1, 0, &err);
    mimir_pool_close(p);
    p = NULL;
    CHECK(rc == 0 && mimir_pool_verify(dir, &err) == 0, "a clean pool verifies");
    snprintf(f, sizeof f, "%s/batch-000001.mtp", dir);
    flip_byte(f, 128 + 3 * 64 + 3 * 8 + 5); /* in rb's x[1] */
    rc = mimir_pool_verify(dir, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0 && strcmp(err.field, "digest") == 0,
          "verify names the corrupted mask batch and the digest (%s: %s)", err.file, err.field);
    rc = mimir_pool_open(dir, 0, S1, &p, &err);
    CHECK(rc == 0, "open checks headers only");
    if (rc == 0) {
        rc = mimir_pool_verify_open(p, NULL, &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.file, f) == 0,
              "verify_open names the corrupted mask batch (%s)", err.file);
        rc = take_cmasks(p, 1, 30, 0, 1, &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "digest") == 0,
              "a take from the corrupted mask batch is refused (%s)", err.field);
        CHECK(take_btriples(p, 4, 29, 0, &err) == 0, "the intact boolean triples are served");
    }
    mimir_pool_close(p);
    p = NULL;
    CHECK(remaining(dir, MIMIR_PREP_CMASK) == 3, "nothing of the corrupted batch was consumed");
    snprintf(f, sizeof f, "%s/batch-000000.mtp", dir);
    flip_byte(f, 128 + 4 * 16 * 2 + 7); /* in c's x[0] */
    rc = mimir_pool_verify(dir, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.file, "batch-000001.mtp") != NULL,
          "a fully consumed corrupted batch is not checked; the other still is (%s)", err.file);
}

/* Comparison masks reserve at most MIMIR_POOL_RESERVE_BINARY ahead: a crash wastes about
 * three steps' worth, not the byte bound's 52428 (twenty steps of a tiny model). */
static void test_reserve_binary(void)
{
    char dir[512];
    pdir(dir, "rbin.p0");
    mimir_err err = {0};
    mimir_pool *p = NULL;
    int rc = mkpool(dir, 0, S1, 1);
    if (rc == 0)
        rc = mimir_pool_open(dir, 0, S1, &p, &err);
    if (rc == 0)
        rc = add_cmasks(p, 31, 20000, 0, 1, 0, &err);
    CHECK(rc == 0, "reserve (binary): a pool of 20000 comparison masks (%s)", err.msg);
    if (rc != 0) {
        mimir_pool_close(p);
        return;
    }
    rc = take_cmasks(p, 3, 31, 0, 1, &err);
    mimir_pool_status ps;
    int prc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(rc == 0 && prc == 0 &&
              ps.consumed[MIMIR_PREP_CMASK - 1] == 3 + MIMIR_POOL_RESERVE_BINARY,
          "taking 3 masks reserves %d more on disk, not the whole batch (%llu)",
          MIMIR_POOL_RESERVE_BINARY, (unsigned long long)ps.consumed[MIMIR_PREP_CMASK - 1]);
    mimir_pool_close(p);
    prc = mimir_pool_peek_status(dir, &ps, &err);
    CHECK(prc == 0 && ps.consumed[MIMIR_PREP_CMASK - 1] == 3,
          "a clean close gives the reservation back (%llu)",
          (unsigned long long)ps.consumed[MIMIR_PREP_CMASK - 1]);
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
    test_reserve();
    test_reserve_across();
    test_verify_open();
    test_skip_to();
    test_bad_files();
    test_dealer_pools();
    test_wmask_pools();
    test_binary_kinds();
    test_reserve_binary();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (getenv("KEEP") == NULL && system(cmd) != 0)
        printf("# could not remove %s\n", base);
    return tap_done();
}
