/*
 * pool.c — a party's triple pool on disk (lib/pool.h; the byte layout is in docs/formats.md,
 * "Triple pools").
 *
 * Invariant that makes reuse impossible: the cursor on disk never counts fewer consumed items
 * than have ever been handed out. take() plans the items, checks their batches' digests, then
 * writes the advanced cursor atomically (temp file, fsync, rename, directory fsync) and only
 * then reads the items. A crash before the rename hands nothing out; after it, the items count
 * as consumed even if nobody used them (wasted, never reused).
 */
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "io.h"
#include "mem.h"
#include "sha256.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "pool.c reads and writes ring words in their native little-endian layout"
#endif

#define HDR_BYTES 128           /* batch header */
#define DIGEST_BYTES 32         /* SHA-256 */
#define WORD_BYTES 16           /* one Z_2^128 word */
#define BWORD_BYTES 8           /* one component word of a boolean sharing (lib/spdz.h mimir_bv) */
#define NVEC 4                  /* vectors per item, at most (a comparison mask's four) */
#define BATCH_MAGIC MIMIR_POOL_MAGIC
#define CURSOR_MAGIC "MIMIRCUR"
#define ALPHA_MAGIC "MIMIRALK"
#define MAGIC_BYTES 8
#define SESSION_BYTES 16
#define ALPHA_BODY 72           /* alpha.key bytes before its digest */
#define ALPHA_BYTES (ALPHA_BODY + DIGEST_BYTES)
#define CURSOR_HDR 40           /* cursor bytes before the per-batch counts */
#define MAX_BATCHES 1000000u    /* batch-000000 .. batch-999999 */
#define MAX_ITEM_ELEMS ((uint64_t)1 << 32) /* elements of one matrix triple */
#define MAX_F 63
#define WMASK_FLAG_AES (1u << 8) /* wmask: seeded components are AES-256-CTR (lib/wmask.c) */
#define MAX_JSON (1 << 16)      /* pool.json, stats.json */
#define HASH_CHUNK ((size_t)1 << 20)
#define CREATED_BY_MAX 32
#define PATH_BYTES 4096

#ifdef MIMIR_TEST_HOOKS
void (*mimir_pool_test_after_cursor)(void) = NULL;
#endif

struct batch {
    unsigned idx;
    int kind;
    unsigned f;
    uint64_t count;           /* items */
    uint64_t rows, inner, cols;
    uint64_t mask_id;         /* wmask: the mask's id; wpair: the id of the mask it is bound to */
    uint32_t flags;           /* wmask: bit q set = component q explicit, WMASK_FLAG_AES;
                               * wpair: transposed */
    uint64_t len[NVEC];       /* elements (or boolean words) per item of each vector (not
                               * wmask); unused vectors have 0, after the used ones */
    uint64_t consumed;        /* items handed out (in this process: from the cursor at open) */
    uint64_t reserved;        /* items the cursor on disk counts as consumed: >= consumed */
    int verified;             /* digest checked since open */
    int fd;                   /* open for reading items (take), or -1 */
};

struct mimir_pool {
    char *dir;
    int lockfd;
    int party;
    uint8_t session[SESSION_BYTES];
    int macs;
    char created_by[CREATED_BY_MAX + 1];
    mimir_r128 *alpha; /* 2 words, mimir_key_alloc */
    struct batch *b;
    size_t nb, cap;
    uint64_t stat_sacrificed[MIMIR_PREP_KINDS], stat_failed[MIMIR_PREP_KINDS];
    int dirty_stats;
    uint64_t reserve; /* items reserved ahead of use per cursor write (mimir_pool_set_reserve) */
    size_t first[MIMIR_PREP_KINDS]; /* per kind: no batch of it before this index has items
                                     * left (where plan_spans starts looking; a step's hundreds
                                     * of takes otherwise scanned every batch each) */
    mimir_prep prep;
};

static const char *const kind_names[] = {NULL,     "triple", "matrix", "trunc",
                                          "edabit", "wmask",  "wpair", "btriple", "cmask"};

const char *mimir_pool_kind_name(int kind)
{
    return kind >= 1 && kind <= MIMIR_PREP_KINDS ? kind_names[kind] : NULL;
}

/* --- little helpers ----------------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

static void path_of(char *buf, const char *dir, const char *name)
{
    snprintf(buf, PATH_BYTES, "%s/%s", dir, name);
}

static void batch_name(char *buf, size_t cap, unsigned idx)
{
    snprintf(buf, cap, "batch-%06u.mtp", idx);
}

static void hex16(const uint8_t s[SESSION_BYTES], char out[2 * SESSION_BYTES + 1])
{
    sodium_bin2hex(out, 2 * SESSION_BYTES + 1, s, SESSION_BYTES);
}

static int words_of(int macs)
{
    return macs ? 4 : 2;
}

/* Whether vector k of a batch of this kind holds boolean words (mimir_bv: two word arrays of
 * 8 bytes) rather than MAC'd elements (mimir_sv: words_of(macs) arrays of 16 bytes). */
static int vec_bool(int kind, int k)
{
    return kind == MIMIR_PREP_BTRIPLE || (kind == MIMIR_PREP_CMASK && (k == 1 || k == 3));
}

/* Word arrays of vector k and the bytes of one word of each. */
static int vec_arrays(const struct batch *b, int k, int macs)
{
    return vec_bool(b->kind, k) ? 2 : words_of(macs);
}
static uint64_t vec_word(const struct batch *b, int k)
{
    return vec_bool(b->kind, k) ? BWORD_BYTES : WORD_BYTES;
}

/* Elements (boolean words for a boolean vector) per item of vector v in a batch of this kind /
 * shape. A weight mask has no vectors (its components are laid out by wmask_bytes). */
static void item_lens(struct batch *b)
{
    b->len[3] = 0; /* only a comparison mask has a fourth vector */
    if (b->kind == MIMIR_PREP_WMASK) {
        b->len[0] = b->len[1] = b->len[2] = 0;
    } else if (b->kind == MIMIR_PREP_WPAIR) {
        uint64_t ain = b->flags ? b->cols : b->inner, cout = b->flags ? b->inner : b->cols;
        b->len[0] = b->rows * ain;  /* A */
        b->len[1] = b->rows * cout; /* C */
        b->len[2] = 0;
    } else if (b->kind == MIMIR_PREP_MATRIX) {
        b->len[0] = b->rows * b->inner;
        b->len[1] = b->inner * b->cols;
        b->len[2] = b->rows * b->cols;
    } else if (b->kind == MIMIR_PREP_EDABIT) {
        b->len[0] = 1; /* r */
        b->len[1] = MIMIR_PREP_EDABIT_BITS; /* its bits */
        b->len[2] = 0; /* no third vector */
    } else if (b->kind == MIMIR_PREP_CMASK) {
        b->len[0] = b->len[1] = b->len[2] = b->len[3] = 1; /* r, rb, d, db */
    } else { /* triples, truncation pairs, boolean triples (a, b, c words) */
        b->len[0] = b->len[1] = b->len[2] = 1;
    }
}

static uint64_t item_elems(const struct batch *b)
{
    return b->len[0] + b->len[1] + b->len[2];
}

static int write_all(int fd, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        q += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes at off; -1 on error, -2 on a short file. */
static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *q = p;
    while (n > 0) {
        ssize_t r = pread(fd, q, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            return -2;
        q += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int sync_dir(const char *dir, mimir_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mimir_err_errno(err, dir, "cannot open directory");
    int r = fsync(fd);
    close(fd);
    if (r != 0)
        return mimir_err_errno(err, dir, "cannot sync directory");
    return MIMIR_OK;
}

/* An atomic writer of dir/name: a temporary ".name.tmpXXXXXX" in dir, renamed on commit. */
typedef struct awriter {
    int fd;
    char tmp[PATH_BYTES];
    char path[PATH_BYTES];
    const char *dir;
    mimir_sha256_state h;
} awriter;

static int aw_open(awriter *w, const char *dir, const char *name, mode_t mode, mimir_err *err)
{
    w->dir = dir;
    path_of(w->path, dir, name);
    snprintf(w->tmp, sizeof w->tmp, "%s/.%s.tmpXXXXXX", dir, name);
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0)
        return mimir_err_errno(err, w->path, "cannot create temporary file");
    if (fchmod(w->fd, mode) != 0) {
        int rc = mimir_err_errno(err, w->path, "cannot set file mode");
        close(w->fd);
        unlink(w->tmp);
        return rc;
    }
    mimir_sha256_init(&w->h);
    return MIMIR_OK;
}

static int aw_write(awriter *w, const void *p, size_t n, mimir_err *err)
{
    mimir_sha256_update(&w->h, p, n);
    if (write_all(w->fd, p, n) != 0)
        return mimir_err_errno(err, w->path, "write failed");
    return MIMIR_OK;
}

static void aw_abort(awriter *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp);
        w->fd = -1;
    }
}

/* Appends the SHA-256 of everything written (if digest), fsyncs, renames, fsyncs the dir. */
static int aw_commit(awriter *w, int digest, mimir_err *err)
{
    if (digest) {
        uint8_t d[DIGEST_BYTES];
        mimir_sha256_final(&w->h, d);
        if (write_all(w->fd, d, sizeof d) != 0) {
            int rc = mimir_err_errno(err, w->path, "write failed");
            aw_abort(w);
            return rc;
        }
    }
    if (fsync(w->fd) != 0) {
        int rc = mimir_err_errno(err, w->path, "cannot sync file");
        aw_abort(w);
        return rc;
    }
    close(w->fd);
    w->fd = -1;
    if (rename(w->tmp, w->path) != 0) {
        int rc = mimir_err_errno(err, w->path, "cannot rename temporary file into place");
        unlink(w->tmp);
        return rc;
    }
    return sync_dir(w->dir, err);
}

static int write_small(const char *dir, const char *name, const void *p, size_t n, mode_t mode,
                       int digest, mimir_err *err)
{
    awriter w;
    int rc = aw_open(&w, dir, name, mode, err);
    if (rc != MIMIR_OK)
        return rc;
    rc = aw_write(&w, p, n, err);
    if (rc != MIMIR_OK) {
        aw_abort(&w);
        return rc;
    }
    return aw_commit(&w, digest, err);
}

/* Reads a whole small file (at most max bytes) into a malloc'd buffer. */
static int read_small(const char *path, size_t max, uint8_t **out, size_t *len, mimir_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                                 "missing: not a triple pool, or a damaged one");
        return mimir_err_errno(err, path, "cannot open");
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = mimir_err_errno(err, path, "cannot stat");
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        close(fd);
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                             "not a regular file of at most %zu bytes", max);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL) {
        close(fd);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    int r = pread_all(fd, buf, n, 0);
    close(fd);
    if (r != 0) {
        free(buf);
        if (r == -2)
            return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "file shrank while reading");
        return mimir_err_errno(err, path, "read failed");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return MIMIR_OK;
}

/* --- pool.json and stats.json ------------------------------------------------------------- */

static int write_pool_json(const char *dir, int party, const uint8_t session[SESSION_BYTES],
                           int macs, const char *created_by, mimir_err *err)
{
    char hex[2 * SESSION_BYTES + 1];
    hex16(session, hex);
    json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:b, s:s}", "format", "mimir-triple-pool",
                          "version", MIMIR_POOL_VERSION, "party", party, "session", hex, "macs",
                          macs, "created_by", created_by);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, "pool.json", "out of memory");
    size_t n = strlen(text);
    char *t2 = realloc(text, n + 2);
    if (t2 == NULL) {
        free(text);
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, "pool.json", "out of memory");
    }
    t2[n] = '\n';
    int rc = write_small(dir, "pool.json", t2, n + 1, 0644, 0, err);
    free(t2);
    return rc;
}

static int check_keys(json_t *o, const char *const *keys, const char *path, mimir_err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int known = 0;
        for (size_t i = 0; keys[i] != NULL; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return mimir_err_set(err, MIMIR_EINPUT, path, k, "unknown key");
    }
    return MIMIR_OK;
}

static int json_uint(json_t *o, const char *key, uint64_t max, uint64_t *v, const char *path,
                     const char *field, mimir_err *err)
{
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, field, "missing");
    if (!json_is_integer(j) || json_integer_value(j) < 0 ||
        (uint64_t)json_integer_value(j) > max)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "expected an integer from 0 to %llu", (unsigned long long)max);
    *v = (uint64_t)json_integer_value(j);
    return MIMIR_OK;
}

static int load_json(const char *path, json_t **out, mimir_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = read_small(path, MAX_JSON, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    free(buf);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not valid JSON: %s (line %d)",
                             je.text, je.line);
    if (!json_is_object(root)) {
        json_decref(root);
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "expected a JSON object");
    }
    *out = root;
    return MIMIR_OK;
}

static int read_pool_json(mimir_pool *p, mimir_err *err)
{
    static const char *const keys[] = {"format", "version", "party", "session", "macs",
                                       "created_by", NULL};
    char path[PATH_BYTES];
    path_of(path, p->dir, "pool.json");
    json_t *root;
    int rc = load_json(path, &root, err);
    if (rc != MIMIR_OK)
        return rc;
    rc = check_keys(root, keys, path, err);
    json_t *fmt = json_object_get(root, "format"), *ses = json_object_get(root, "session");
    json_t *macs = json_object_get(root, "macs"), *cb = json_object_get(root, "created_by");
    uint64_t v;
    if (rc == MIMIR_OK && (!json_is_string(fmt) ||
                           strcmp(json_string_value(fmt), "mimir-triple-pool") != 0))
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "format", "expected \"mimir-triple-pool\"");
    if (rc == MIMIR_OK)
        rc = json_uint(root, "version", UINT32_MAX, &v, path, "version", err);
    if (rc == MIMIR_OK && v != MIMIR_POOL_VERSION)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "version", "%llu, expected %d",
                           (unsigned long long)v, MIMIR_POOL_VERSION);
    if (rc == MIMIR_OK)
        rc = json_uint(root, "party", 2, &v, path, "party", err);
    if (rc == MIMIR_OK)
        p->party = (int)v;
    size_t got = 0;
    if (rc == MIMIR_OK &&
        (!json_is_string(ses) || json_string_length(ses) != 2 * SESSION_BYTES ||
         mimir_hex_decode(json_string_value(ses), 2 * SESSION_BYTES, p->session, SESSION_BYTES,
                          &got, NULL) != 0 || got != SESSION_BYTES))
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "session", "expected 32 hex digits");
    if (rc == MIMIR_OK && !json_is_boolean(macs))
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "macs", "expected true or false");
    if (rc == MIMIR_OK)
        p->macs = json_is_true(macs);
    if (rc == MIMIR_OK && (!json_is_string(cb) || json_string_length(cb) == 0 ||
                           json_string_length(cb) > CREATED_BY_MAX))
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "created_by",
                           "expected \"dealer\" or \"parties\"");
    if (rc == MIMIR_OK)
        snprintf(p->created_by, sizeof p->created_by, "%s", json_string_value(cb));
    json_decref(root);
    return rc;
}

static json_t *kind_obj(const uint64_t v[MIMIR_PREP_KINDS])
{
    json_t *o = json_object();
    for (int k = 0; o != NULL && k < MIMIR_PREP_KINDS; k++)
        if (json_object_set_new(o, kind_names[k + 1], json_integer((json_int_t)v[k])) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* What one item counts in the status (lib/pool.h): 1 for a triple, a truncation pair or an
 * edaBit, all three matrices' elements for a matrix triple, inner*cols for a weight mask,
 * A's and C's elements for a weight pair. */
static uint64_t item_weight(const struct batch *b)
{
    if (b->kind == MIMIR_PREP_WMASK)
        return b->inner * b->cols;
    return b->kind == MIMIR_PREP_MATRIX || b->kind == MIMIR_PREP_WPAIR ? item_elems(b) : 1;
}

static void totals(const mimir_pool *p, uint64_t gen[MIMIR_PREP_KINDS],
                   uint64_t con[MIMIR_PREP_KINDS])
{
    memset(gen, 0, MIMIR_PREP_KINDS * sizeof gen[0]);
    memset(con, 0, MIMIR_PREP_KINDS * sizeof con[0]);
    for (size_t i = 0; i < p->nb; i++) {
        const struct batch *b = &p->b[i];
        gen[b->kind - 1] += b->count * item_weight(b);
        con[b->kind - 1] += b->consumed * item_weight(b);
    }
}

static int write_stats(mimir_pool *p, mimir_err *err)
{
    uint64_t gen[MIMIR_PREP_KINDS], con[MIMIR_PREP_KINDS];
    totals(p, gen, con);
    json_t *o = json_pack("{s:i, s:o, s:o, s:o, s:o}", "version", MIMIR_POOL_VERSION,
                          "generated", kind_obj(gen), "consumed", kind_obj(con), "sacrificed",
                          kind_obj(p->stat_sacrificed), "failed", kind_obj(p->stat_failed));
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, p->dir, "stats.json", "out of memory");
    int rc = write_small(p->dir, "stats.json", text, strlen(text), 0644, 0, err);
    free(text);
    if (rc == MIMIR_OK)
        p->dirty_stats = 0;
    return rc;
}

/* stats.json: only "sacrificed" and "failed" are authoritative (the rest is a snapshot; status
 * recomputes generated / consumed from the batches and the cursor). "wmask", "wpair",
 * "btriple" and "cmask" may be missing (0): pools written before those kinds existed. */
static int read_stats(mimir_pool *p, mimir_err *err)
{
    static const char *const keys[] = {"version", "generated", "consumed", "sacrificed",
                                       "failed", NULL};
    static const char *const kkeys[MIMIR_PREP_KINDS + 1] = {
        "triple", "matrix", "trunc", "edabit", "wmask", "wpair", "btriple", "cmask", NULL};
    char path[PATH_BYTES];
    path_of(path, p->dir, "stats.json");
    json_t *root;
    int rc = load_json(path, &root, err);
    if (rc != MIMIR_OK)
        return rc;
    rc = check_keys(root, keys, path, err);
    uint64_t v;
    if (rc == MIMIR_OK)
        rc = json_uint(root, "version", UINT32_MAX, &v, path, "version", err);
    if (rc == MIMIR_OK && v != MIMIR_POOL_VERSION)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "version", "expected %d",
                           MIMIR_POOL_VERSION);
    for (int which = 0; which < 4 && rc == MIMIR_OK; which++) {
        const char *name = keys[which + 1];
        json_t *o = json_object_get(root, name);
        if (!json_is_object(o)) {
            rc = mimir_err_set(err, MIMIR_EINPUT, path, name,
                               "expected an object {\"triple\": N, \"matrix\": N, \"trunc\": N, "
                               "\"edabit\": N, \"wmask\": N, \"wpair\": N, \"btriple\": N, "
                               "\"cmask\": N}");
            break;
        }
        rc = check_keys(o, kkeys, path, err);
        for (int k = 0; k < MIMIR_PREP_KINDS && rc == MIMIR_OK; k++) {
            char field[64];
            snprintf(field, sizeof field, "%s.%s", name, kkeys[k]);
            v = 0;
            if (k + 1 < MIMIR_PREP_WMASK || json_object_get(o, kkeys[k]) != NULL)
                rc = json_uint(o, kkeys[k], (uint64_t)INT64_MAX, &v, path, field, err);
            if (rc == MIMIR_OK && which == 2)
                p->stat_sacrificed[k] = v;
            if (rc == MIMIR_OK && which == 3)
                p->stat_failed[k] = v;
        }
    }
    json_decref(root);
    return rc;
}

/* --- alpha.key ------------------------------------------------------------------------------ */

static void alpha_body(uint8_t *buf, int party, const uint8_t session[SESSION_BYTES], int macs,
                       const mimir_r128 alpha[2])
{
    memset(buf, 0, ALPHA_BODY);
    memcpy(buf, ALPHA_MAGIC, MAGIC_BYTES);
    put32(buf + 8, MIMIR_POOL_VERSION);
    put32(buf + 12, (uint32_t)party);
    memcpy(buf + 16, session, SESSION_BYTES);
    put32(buf + 32, (uint32_t)macs);
    memcpy(buf + 40, alpha, 2 * WORD_BYTES);
}

static int read_alpha(mimir_pool *p, mimir_err *err)
{
    char path[PATH_BYTES];
    path_of(path, p->dir, "alpha.key");
    uint8_t *buf;
    size_t len;
    int rc = read_small(path, 4 * ALPHA_BYTES, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    uint8_t d[DIGEST_BYTES];
    if (len != ALPHA_BYTES) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "size", "%zu bytes, expected %d", len,
                           ALPHA_BYTES);
    } else if (memcmp(buf, ALPHA_MAGIC, MAGIC_BYTES) != 0) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "magic", "expected \"%s\"", ALPHA_MAGIC);
    } else {
        mimir_sha256(d, buf, ALPHA_BODY);
        if (sodium_memcmp(d, buf + ALPHA_BODY, DIGEST_BYTES) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "digest",
                               "SHA-256 does not match the content: the file is corrupted");
        else if (get32(buf + 8) != MIMIR_POOL_VERSION)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "version", "expected %d",
                               MIMIR_POOL_VERSION);
        else if (get32(buf + 12) != (uint32_t)p->party)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "party",
                               "party %u, expected %d (the pool's)", get32(buf + 12), p->party);
        else if (memcmp(buf + 16, p->session, SESSION_BYTES) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "session",
                               "another session than the pool's");
        else if (get32(buf + 32) != (uint32_t)p->macs)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "macs", "differs from pool.json");
        else
            memcpy(p->alpha, buf + 40, 2 * WORD_BYTES);
    }
    mimir_wipe(buf, len);
    free(buf);
    return rc;
}

/* --- batches --------------------------------------------------------------------------------- */

/* A weight mask's payload: per component q < words_of(macs), its inner*cols words if explicit
 * (flags bit q), else its 32-byte seed. */
static uint64_t wmask_bytes(const struct batch *b, int macs)
{
    uint64_t n = 0;
    for (int q = 0; q < words_of(macs); q++)
        n += (b->flags >> q) & 1 ? b->inner * b->cols * WORD_BYTES : MIMIR_PREP_SEED_BYTES;
    return n;
}

/* Bytes of one item of a batch that is not a weight mask (at most 3 * 2^32 elements of 64
 * bytes: no overflow). */
static uint64_t item_bytes(const struct batch *b, int macs)
{
    uint64_t n = 0;
    for (int k = 0; k < NVEC; k++)
        n += b->len[k] * (uint64_t)vec_arrays(b, k, macs) * vec_word(b, k);
    return n;
}

static uint64_t payload_bytes(const struct batch *b, int macs)
{
    /* Bounded at parse / append time: count * item_elems * 64 fits in 64 bits. */
    if (b->kind == MIMIR_PREP_WMASK)
        return wmask_bytes(b, macs);
    return b->count * item_bytes(b, macs);
}

static void encode_header(uint8_t h[HDR_BYTES], const mimir_pool *p, const struct batch *b)
{
    memset(h, 0, HDR_BYTES);
    memcpy(h, BATCH_MAGIC, MAGIC_BYTES);
    put32(h + 8, MIMIR_POOL_VERSION);
    put32(h + 12, (uint32_t)b->kind);
    put32(h + 16, (uint32_t)p->party);
    put32(h + 20, (uint32_t)p->macs);
    memcpy(h + 24, p->session, SESSION_BYTES);
    put32(h + 40, b->idx);
    put32(h + 44, b->f);
    put64(h + 48, b->count);
    put64(h + 56, b->rows);
    put64(h + 64, b->inner);
    put64(h + 72, b->cols);
    put64(h + 80, payload_bytes(b, p->macs));
    put64(h + 88, b->mask_id);
    put32(h + 96, b->flags);
}

/* Checks the shape fields of b (kind, f, count, dims) and fills len[]; field names the culprit. */
static int check_shape(struct batch *b, int macs, const char **field)
{
    uint64_t e, t;
    if (b->kind < MIMIR_PREP_TRIPLE || b->kind > MIMIR_PREP_CMASK)
        return *field = "kind", -1;
    if (b->count == 0)
        return *field = "count", -1;
    if (b->kind != MIMIR_PREP_WMASK && b->kind != MIMIR_PREP_WPAIR &&
        (b->mask_id != 0 || b->flags != 0))
        return *field = "reserved", -1;
    if (b->kind == MIMIR_PREP_WMASK || b->kind == MIMIR_PREP_WPAIR) {
        if (b->f != 0)
            return *field = "f", -1;
        if (b->inner == 0 || b->cols == 0 || !mul_ok(b->inner, b->cols, &e) ||
            e > MAX_ITEM_ELEMS)
            return *field = "shape", -1;
    }
    if (b->kind == MIMIR_PREP_WMASK) {
        if (b->count != 1)
            return *field = "count", -1;
        if (b->rows != 0)
            return *field = "shape", -1;
        if ((b->flags & ~WMASK_FLAG_AES) >= (1u << words_of(macs)))
            return *field = "flags", -1;
        item_lens(b);
        return 0; /* at most 4 * 2^32 words: no overflow */
    }
    if (b->kind == MIMIR_PREP_WPAIR) {
        if (b->flags > 1)
            return *field = "flags", -1;
        if (b->rows == 0 || !mul_ok(b->rows, b->inner, &e) || e > MAX_ITEM_ELEMS ||
            !mul_ok(b->rows, b->cols, &e) || e > MAX_ITEM_ELEMS)
            return *field = "shape", -1;
    } else if (b->kind == MIMIR_PREP_MATRIX) {
        if (b->rows == 0 || b->inner == 0 || b->cols == 0 || b->f != 0)
            return *field = b->f != 0 ? "f" : "shape", -1;
        if (!mul_ok(b->rows, b->inner, &e) || e > MAX_ITEM_ELEMS ||
            !mul_ok(b->inner, b->cols, &e) || e > MAX_ITEM_ELEMS ||
            !mul_ok(b->rows, b->cols, &e) || e > MAX_ITEM_ELEMS)
            return *field = "shape", -1;
    } else {
        if (b->rows != 0 || b->inner != 0 || b->cols != 0)
            return *field = "shape", -1;
        if ((b->kind == MIMIR_PREP_TRUNC) != (b->f != 0) || b->f > MAX_F)
            return *field = "f", -1;
    }
    item_lens(b);
    if (!mul_ok(b->count, item_bytes(b, macs), &t) ||
        t > (uint64_t)INT64_MAX - HDR_BYTES - DIGEST_BYTES)
        return *field = "count", -1;
    return 0;
}

/* Parses and checks a batch header against the pool and the file size. */
static int parse_header(const mimir_pool *p, const char *path, unsigned idx,
                        const uint8_t h[HDR_BYTES], uint64_t fsize, struct batch *b,
                        mimir_err *err)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    if (memcmp(h, BATCH_MAGIC, MAGIC_BYTES) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "magic",
                             "expected \"%s\" (not a batch file)", BATCH_MAGIC);
    if (get32(h + 8) != MIMIR_POOL_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, path, "version", "%u, expected %d",
                             get32(h + 8), MIMIR_POOL_VERSION);
    if (get32(h + 16) != (uint32_t)p->party)
        return mimir_err_set(err, MIMIR_EINPUT, path, "party",
                             "batch of party %u, expected party %d (a foreign batch)",
                             get32(h + 16), p->party);
    if (memcmp(h + 24, p->session, SESSION_BYTES) != 0) {
        char a[2 * SESSION_BYTES + 1], e[2 * SESSION_BYTES + 1];
        hex16(h + 24, a);
        hex16(p->session, e);
        return mimir_err_set(err, MIMIR_EINPUT, path, "session",
                             "batch of session %s, expected %s (a foreign batch)", a, e);
    }
    if (get32(h + 20) != (uint32_t)p->macs)
        return mimir_err_set(err, MIMIR_EINPUT, path, "macs", "%u, expected %d (pool.json)",
                             get32(h + 20), p->macs);
    if (get32(h + 40) != idx)
        return mimir_err_set(err, MIMIR_EINPUT, path, "index",
                             "batch %u in the file, expected %u (its name)", get32(h + 40), idx);
    for (int i = 100; i < HDR_BYTES; i++)
        if (h[i] != 0)
            return mimir_err_set(err, MIMIR_EINPUT, path, "reserved", "expected zero bytes");
    b->idx = idx;
    b->kind = (int)get32(h + 12);
    b->f = get32(h + 44);
    b->count = get64(h + 48);
    b->rows = get64(h + 56);
    b->inner = get64(h + 64);
    b->cols = get64(h + 72);
    b->mask_id = get64(h + 88);
    b->flags = get32(h + 96);
    const char *field = NULL;
    if (check_shape(b, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "out of range or inconsistent with the kind");
    /* Masks dealt before the AES-256-CTR expansion (ChaCha20 seeds) lack the bit: expanding
     * their seeds now would give another B than the one their pairs were made for. */
    if (b->kind == MIMIR_PREP_WMASK && !(b->flags & WMASK_FLAG_AES))
        return mimir_err_set(err, MIMIR_EINPUT, path, "flags",
                             "0x%x, expected bit 0x%x (a weight mask whose seeds expand with "
                             "AES-256-CTR; this one was dealt for the older ChaCha20 expansion: "
                             "deal the pool again)", b->flags, WMASK_FLAG_AES);
    uint64_t pay = payload_bytes(b, p->macs);
    if (get64(h + 80) != pay)
        return mimir_err_set(err, MIMIR_EINPUT, path, "payload_bytes",
                             "%llu, expected %llu for this kind, shape and count",
                             (unsigned long long)get64(h + 80), (unsigned long long)pay);
    if (fsize != HDR_BYTES + pay + DIGEST_BYTES)
        return mimir_err_set(err, MIMIR_EINPUT, path, "size",
                             "%llu bytes, expected %llu (%s)", (unsigned long long)fsize,
                             (unsigned long long)(HDR_BYTES + pay + DIGEST_BYTES),
                             fsize < HDR_BYTES + pay + DIGEST_BYTES ? "truncated"
                                                                    : "trailing bytes");
    return MIMIR_OK;
}

static int read_batch_header(const mimir_pool *p, unsigned idx, struct batch *b, mimir_err *err)
{
    char name[64], path[PATH_BYTES];
    batch_name(name, sizeof name, idx);
    path_of(path, p->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mimir_err_errno(err, path, "cannot open");
    struct stat st;
    uint8_t h[HDR_BYTES];
    int rc = MIMIR_OK;
    if (fstat(fd, &st) != 0) {
        rc = mimir_err_errno(err, path, "cannot stat");
    } else if (!S_ISREG(st.st_mode)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, NULL, "not a regular file");
    } else if ((uint64_t)st.st_size < HDR_BYTES + DIGEST_BYTES) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "size",
                           "%lld bytes: truncated, shorter than a header and a digest",
                           (long long)st.st_size);
    } else {
        int r = pread_all(fd, h, HDR_BYTES, 0);
        if (r != 0)
            rc = r == -2 ? mimir_err_set(err, MIMIR_EINPUT, path, "size", "truncated")
                         : mimir_err_errno(err, path, "read failed");
        else
            rc = parse_header(p, path, idx, h, (uint64_t)st.st_size, b, err);
    }
    close(fd);
    return rc;
}

/* Streams the whole batch file through SHA-256 and compares with its last 32 bytes. */
static int verify_batch(const mimir_pool *p, struct batch *b, mimir_err *err)
{
    if (b->verified)
        return MIMIR_OK;
    char name[64], path[PATH_BYTES];
    batch_name(name, sizeof name, b->idx);
    path_of(path, p->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mimir_err_errno(err, path, "cannot open");
    uint8_t *buf = mimir_secret_alloc(HASH_CHUNK);
    if (buf == NULL) {
        close(fd);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    uint64_t body = HDR_BYTES + payload_bytes(b, p->macs), off = 0;
    mimir_sha256_state h;
    mimir_sha256_init(&h);
    int rc = MIMIR_OK;
    while (off < body && rc == MIMIR_OK) {
        size_t n = body - off < HASH_CHUNK ? (size_t)(body - off) : HASH_CHUNK;
        int r = pread_all(fd, buf, n, off);
        if (r != 0)
            rc = r == -2 ? mimir_err_set(err, MIMIR_EINPUT, path, "size", "truncated")
                         : mimir_err_errno(err, path, "read failed");
        mimir_sha256_update(&h, buf, n);
        off += n;
    }
    uint8_t want[DIGEST_BYTES], got[DIGEST_BYTES];
    if (rc == MIMIR_OK) {
        int r = pread_all(fd, want, DIGEST_BYTES, body);
        if (r != 0)
            rc = r == -2 ? mimir_err_set(err, MIMIR_EINPUT, path, "size", "truncated")
                         : mimir_err_errno(err, path, "read failed");
    }
    mimir_sha256_final(&h, got);
    if (rc == MIMIR_OK && sodium_memcmp(want, got, DIGEST_BYTES) != 0)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "digest",
                           "SHA-256 does not match the content: the batch is corrupted");
    mimir_secret_free(buf);
    close(fd);
    if (rc == MIMIR_OK)
        b->verified = 1;
    return rc;
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

/* batch-NNNNNN.mtp with at least 6 digits; -1 if the name is not a batch. */
static long batch_index(const char *name)
{
    size_t n = strlen(name);
    if (n < 16 || strncmp(name, "batch-", 6) != 0 || strcmp(name + n - 4, ".mtp") != 0 ||
        n - 10 > 7)
        return -1;
    long v = 0;
    for (size_t i = 6; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    char canon[64];
    batch_name(canon, sizeof canon, (unsigned)v);
    return strcmp(canon, name) == 0 && v < (long)MAX_BATCHES ? v : -1;
}

/* Lists the batch files (which must be numbered 0..N-1) and reads their headers. If clean,
 * removes stale temporary files of interrupted writes (only under the lock). */
static int scan_batches(mimir_pool *p, int clean, mimir_err *err)
{
    DIR *d = opendir(p->dir);
    if (d == NULL)
        return mimir_err_errno(err, p->dir, "cannot list the pool directory");
    unsigned *idx = NULL;
    size_t n = 0, cap = 0;
    int rc = MIMIR_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && rc == MIMIR_OK) {
        if (clean && e->d_name[0] == '.' && strstr(e->d_name, ".tmp") != NULL) {
            char path[PATH_BYTES];
            path_of(path, p->dir, e->d_name);
            unlink(path);
            continue;
        }
        long v = batch_index(e->d_name);
        if (v < 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            unsigned *ni = realloc(idx, nc * sizeof *ni);
            if (ni == NULL) {
                rc = mimir_err_set(err, MIMIR_ERUNTIME, p->dir, NULL, "out of memory");
                break;
            }
            idx = ni;
            cap = nc;
        }
        idx[n++] = (unsigned)v;
    }
    closedir(d);
    if (rc == MIMIR_OK && n > 0)
        qsort(idx, n, sizeof *idx, cmp_uint);
    for (size_t i = 0; i < n && rc == MIMIR_OK; i++)
        if (idx[i] != i) {
            char name[64], path[PATH_BYTES];
            batch_name(name, sizeof name, (unsigned)i);
            path_of(path, p->dir, name);
            rc = mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                               "missing: batches must be numbered from 0 without gaps");
        }
    if (rc == MIMIR_OK && n > 0) {
        p->b = calloc(n, sizeof *p->b);
        if (p->b == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, p->dir, NULL, "out of memory");
        else
            p->cap = n;
    }
    for (size_t i = 0; i < n && rc == MIMIR_OK; i++) {
        rc = read_batch_header(p, (unsigned)i, &p->b[i], err);
        if (rc == MIMIR_OK)
            p->nb = i + 1;
    }
    free(idx);
    return rc;
}

/* --- cursor ---------------------------------------------------------------------------------- */

static int write_cursor(mimir_pool *p, mimir_err *err)
{
    size_t n = CURSOR_HDR + 8 * p->nb;
    uint8_t *buf = malloc(n);
    if (buf == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, p->dir, "cursor", "out of memory");
    memcpy(buf, CURSOR_MAGIC, MAGIC_BYTES);
    put32(buf + 8, MIMIR_POOL_VERSION);
    put32(buf + 12, (uint32_t)p->party);
    memcpy(buf + 16, p->session, SESSION_BYTES);
    put64(buf + 32, p->nb);
    for (size_t i = 0; i < p->nb; i++)
        put64(buf + CURSOR_HDR + 8 * i, p->b[i].reserved);
    int rc = write_small(p->dir, "cursor", buf, n, 0644, 1, err);
    free(buf);
    return rc;
}

static int read_cursor(mimir_pool *p, mimir_err *err)
{
    char path[PATH_BYTES];
    path_of(path, p->dir, "cursor");
    uint8_t *buf;
    size_t len;
    int rc = read_small(path, CURSOR_HDR + 8 * (size_t)MAX_BATCHES + DIGEST_BYTES, &buf, &len,
                        err);
    if (rc != MIMIR_OK)
        return rc;
    uint8_t d[DIGEST_BYTES];
    uint64_t nb = len >= CURSOR_HDR ? get64(buf + 32) : 0;
    if (len < CURSOR_HDR + DIGEST_BYTES || memcmp(buf, CURSOR_MAGIC, MAGIC_BYTES) != 0) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "magic",
                           "not a cursor file (expected \"%s\" and at least %d bytes)",
                           CURSOR_MAGIC, CURSOR_HDR + DIGEST_BYTES);
    } else if (nb > MAX_BATCHES || len != CURSOR_HDR + 8 * nb + DIGEST_BYTES) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "size",
                           "%zu bytes, inconsistent with its batch count", len);
    } else {
        mimir_sha256(d, buf, len - DIGEST_BYTES);
        if (sodium_memcmp(d, buf + len - DIGEST_BYTES, DIGEST_BYTES) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "digest",
                               "SHA-256 does not match the content: the cursor is corrupted");
        else if (get32(buf + 8) != MIMIR_POOL_VERSION)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "version", "expected %d",
                               MIMIR_POOL_VERSION);
        else if (get32(buf + 12) != (uint32_t)p->party)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "party", "party %u, expected %d",
                               get32(buf + 12), p->party);
        else if (memcmp(buf + 16, p->session, SESSION_BYTES) != 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "session",
                               "another session than the pool's");
        else if (nb > p->nb)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "batches",
                               "counts %llu batches but the pool has %zu: a batch file is "
                               "missing", (unsigned long long)nb, p->nb);
    }
    for (uint64_t i = 0; i < nb && rc == MIMIR_OK; i++) {
        uint64_t c = get64(buf + CURSOR_HDR + 8 * i);
        if (c > p->b[i].count)
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "consumed",
                               "batch %llu: %llu items consumed of %llu",
                               (unsigned long long)i, (unsigned long long)c,
                               (unsigned long long)p->b[i].count);
        else
            p->b[i].consumed = p->b[i].reserved = c;
    }
    free(buf);
    return rc;
}

/* --- create / open / close ------------------------------------------------------------------- */

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

int mimir_pool_create(const char *dir, int party, const uint8_t session[16],
                      const mimir_r128 alpha[2], int macs, const char *created_by,
                      mimir_err *err)
{
    if (party < 0 || party > 2)
        return mimir_err_set(err, MIMIR_EINPUT, dir, "party", "%d, expected 0, 1 or 2", party);
    if (session == NULL || alpha == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, dir, "session", "missing");
    if (created_by == NULL ||
        (strcmp(created_by, "dealer") != 0 && strcmp(created_by, "parties") != 0))
        return mimir_err_set(err, MIMIR_EINPUT, dir, "created_by",
                             "expected \"dealer\" or \"parties\"");
    if (strlen(dir) > PATH_BYTES - 64)
        return mimir_err_set(err, MIMIR_EINPUT, dir, NULL, "path too long");
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "cannot initialise libsodium");
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || !dir_is_empty(dir))
            return mimir_err_set(err, MIMIR_EINPUT, dir, NULL,
                                 "already exists and is not an empty directory");
    } else if (mkdir(dir, 0700) != 0) {
        return mimir_err_errno(err, dir, "cannot create the pool directory");
    }
    macs = macs != 0;
    uint8_t key[ALPHA_BODY];
    mimir_r128 zero[2] = {0, 0};
    alpha_body(key, party, session, macs, macs ? alpha : zero);
    int rc = write_small(dir, "alpha.key", key, sizeof key, 0600, 1, err);
    mimir_wipe(key, sizeof key);
    if (rc != MIMIR_OK)
        return rc;
    mimir_pool tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.dir = (char *)dir;
    tmp.party = party;
    tmp.macs = macs;
    memcpy(tmp.session, session, SESSION_BYTES);
    rc = write_cursor(&tmp, err);
    if (rc == MIMIR_OK)
        rc = write_stats(&tmp, err);
    if (rc == MIMIR_OK) {
        char path[PATH_BYTES];
        path_of(path, dir, "lock");
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            rc = mimir_err_errno(err, path, "cannot create");
        else
            close(fd);
    }
    /* pool.json last: a directory without it is not (yet) a pool. */
    if (rc == MIMIR_OK)
        rc = write_pool_json(dir, party, session, macs, created_by, err);
    if (rc == MIMIR_OK)
        rc = mimir_fsync_parent(dir, err);
    return rc;
}

static void pool_free(mimir_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->b != NULL && i < p->nb; i++)
        if (p->b[i].fd >= 0)
            close(p->b[i].fd);
    if (p->lockfd >= 0)
        close(p->lockfd); /* releases the flock */
    mimir_key_free(p->alpha);
    free(p->b);
    free(p->dir);
    free(p);
}

static const mimir_prep_ops pool_ops;

/* Loads everything but the secret key; with lock, takes the lock first. */
static int load(const char *dir, int party, const uint8_t *session, int lock, mimir_pool **out,
                mimir_err *err)
{
    if (strlen(dir) > PATH_BYTES - 64)
        return mimir_err_set(err, MIMIR_EINPUT, dir, NULL, "path too long");
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return mimir_err_set(err, MIMIR_EINPUT, dir, NULL,
                             "not a directory, expected a triple pool directory");
    mimir_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->dir = strdup(dir)) == NULL) {
        free(p);
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
    }
    p->lockfd = -1;
    p->reserve = MIMIR_POOL_RESERVE;
    int rc = MIMIR_OK;
    if (lock) {
        char path[PATH_BYTES];
        path_of(path, dir, "lock");
        p->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (p->lockfd < 0)
            rc = mimir_err_errno(err, path, "cannot open the lock file");
        else if (flock(p->lockfd, LOCK_EX | LOCK_NB) != 0)
            rc = errno == EWOULDBLOCK
                     ? mimir_err_set(err, MIMIR_ERUNTIME, dir, "lock",
                                     "pool %s is in use by another process (lock held)", dir)
                     : mimir_err_errno(err, path, "cannot lock");
    }
    if (rc == MIMIR_OK)
        rc = read_pool_json(p, err);
    char path[PATH_BYTES];
    path_of(path, dir, "pool.json");
    if (rc == MIMIR_OK && party >= 0 && party != p->party)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "party",
                           "pool of party %d, expected party %d", p->party, party);
    if (rc == MIMIR_OK && session != NULL && memcmp(session, p->session, SESSION_BYTES) != 0) {
        char a[2 * SESSION_BYTES + 1], e[2 * SESSION_BYTES + 1];
        hex16(p->session, a);
        hex16(session, e);
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "session",
                           "pool of session %s, expected session %s", a, e);
    }
    if (rc == MIMIR_OK)
        rc = scan_batches(p, lock, err);
    if (rc == MIMIR_OK)
        rc = read_cursor(p, err);
    if (rc == MIMIR_OK)
        rc = read_stats(p, err);
    if (rc != MIMIR_OK) {
        pool_free(p);
        return rc;
    }
    p->prep.ops = &pool_ops;
    p->prep.ctx = p;
    /* comparisons in the binary domain iff the pool holds comparison masks (lib/prep.h) */
    for (size_t i = 0; i < p->nb; i++)
        p->prep.binary |= p->b[i].kind == MIMIR_PREP_CMASK;
    *out = p;
    return MIMIR_OK;
}

int mimir_pool_open(const char *dir, int party, const uint8_t *session, mimir_pool **out,
                    mimir_err *err)
{
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "cannot initialise libsodium");
    mimir_pool *p;
    int rc = load(dir, party, session, 1, &p, err);
    if (rc != MIMIR_OK)
        return rc;
    p->alpha = mimir_key_alloc(2 * sizeof(mimir_r128));
    if (p->alpha == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, "alpha.key", "out of memory");
    if (rc == MIMIR_OK)
        rc = read_alpha(p, err);
    if (rc != MIMIR_OK) {
        pool_free(p);
        return rc;
    }
    *out = p;
    return MIMIR_OK;
}

void mimir_pool_close(mimir_pool *p)
{
    if (p == NULL)
        return;
    /* Give back what was reserved and never handed out: still under the lock, so nobody took
     * anything meanwhile. If the write fails, the items stay counted as consumed (wasted). */
    int give_back = 0;
    for (size_t i = 0; i < p->nb; i++)
        give_back |= p->b[i].reserved > p->b[i].consumed;
    if (give_back) {
        uint64_t *keep = malloc(p->nb * sizeof *keep);
        for (size_t i = 0; keep != NULL && i < p->nb; i++) {
            keep[i] = p->b[i].reserved;
            p->b[i].reserved = p->b[i].consumed;
        }
        if (keep != NULL && write_cursor(p, NULL) != MIMIR_OK)
            for (size_t i = 0; i < p->nb; i++)
                p->b[i].reserved = keep[i];
        free(keep);
    }
    if (p->dirty_stats)
        write_stats(p, NULL); /* a snapshot; the cursor is what counts */
    pool_free(p);
}

size_t mimir_pool_batches(const mimir_pool *p)
{
    return p->nb;
}

void mimir_pool_get_batch_state(const mimir_pool *p, size_t i, mimir_pool_batch_state *st)
{
    st->kind = (uint32_t)p->b[i].kind;
    st->count = p->b[i].count;
    st->consumed = p->b[i].consumed;
}

int mimir_pool_skip_to(mimir_pool *p, const uint64_t *to, size_t n, uint64_t *skipped,
                       mimir_err *err)
{
    if (skipped != NULL)
        *skipped = 0;
    if (n != p->nb)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "cursor", "%zu batch positions, expected "
                             "%zu (one per batch)", n, p->nb);
    for (size_t i = 0; i < n; i++)
        if (to[i] > p->b[i].count)
            return mimir_err_set(err, MIMIR_EINPUT, p->dir, "cursor", "batch %zu: position "
                                 "%llu, beyond its %llu items", i, (unsigned long long)to[i],
                                 (unsigned long long)p->b[i].count);
    int write = 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        struct batch *b = &p->b[i];
        if (to[i] <= b->consumed)
            continue;
        sum += to[i] - b->consumed;
        b->consumed = to[i];
        if (b->consumed > b->reserved) {
            b->reserved = b->consumed;
            write = 1;
        }
    }
    int rc = write ? write_cursor(p, err) : MIMIR_OK;
    if (rc == MIMIR_OK && sum > 0)
        p->dirty_stats = 1;
    if (skipped != NULL)
        *skipped = sum;
    return rc;
}

void mimir_pool_set_reserve(mimir_pool *p, uint64_t items)
{
    p->reserve = items;
}

int mimir_pool_party(const mimir_pool *p)
{
    return p->party;
}
const uint8_t *mimir_pool_session(const mimir_pool *p)
{
    return p->session;
}
int mimir_pool_macs(const mimir_pool *p)
{
    return p->macs;
}
void mimir_pool_alpha(const mimir_pool *p, mimir_r128 alpha[2])
{
    memcpy(alpha, p->alpha, 2 * sizeof(mimir_r128));
}

/* --- append ---------------------------------------------------------------------------------- */

static int check_sv(const mimir_pool *p, const mimir_sv *v, uint64_t n, const char *what,
                    mimir_err *err)
{
    if (v == NULL || v->n != n || (n > 0 && (v->x[0] == NULL || v->x[1] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, what,
                             "expected a shared vector of %llu elements",
                             (unsigned long long)n);
    if (p->macs && n > 0 && (v->m[0] == NULL || v->m[1] == NULL))
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, what,
                             "no MAC words, but the pool holds MAC'd items");
    return MIMIR_OK;
}

/* Starts batch file number p->nb (mode 0600 like every batch: items are secret) and writes
 * its header. */
static int batch_begin(mimir_pool *p, struct batch *b, awriter *w, mimir_err *err)
{
    if (p->nb >= MAX_BATCHES)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                             "the pool holds the maximum of %u batches", MAX_BATCHES);
    const char *field = NULL;
    b->idx = (unsigned)p->nb;
    if (check_shape(b, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, field, "out of range");
    if (p->nb == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 16;
        struct batch *nbp = realloc(p->b, nc * sizeof *nbp);
        if (nbp == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, p->dir, NULL, "out of memory");
        p->b = nbp;
        p->cap = nc;
    }
    char name[64];
    batch_name(name, sizeof name, b->idx);
    int rc = aw_open(w, p->dir, name, 0600, err);
    if (rc != MIMIR_OK)
        return rc;
    uint8_t h[HDR_BYTES];
    encode_header(h, p, b);
    rc = aw_write(w, h, HDR_BYTES, err);
    if (rc != MIMIR_OK)
        aw_abort(w);
    return rc;
}

/* Appends the digest, renames the batch into place and records it (rc: the payload's writes). */
static int batch_end(mimir_pool *p, struct batch *b, awriter *w, int rc, mimir_err *err)
{
    if (rc != MIMIR_OK) {
        aw_abort(w);
        return rc;
    }
    rc = aw_commit(w, 1, err);
    if (rc != MIMIR_OK)
        return rc;
    b->consumed = b->reserved = 0;
    b->fd = -1;
    b->verified = 1; /* we wrote it */
    p->b[p->nb++] = *b;
    p->dirty_stats = 1;
    return write_stats(p, err);
}

/* A batch's vectors: vector k is sv[k] (MAC'd elements) or, where vec_bool says so, bv[k]
 * (boolean words). */
struct cvecs {
    const mimir_sv *sv[NVEC];
    const mimir_bv *bv[NVEC];
};
struct vecs {
    mimir_sv *sv[NVEC];
    mimir_bv *bv[NVEC];
};

/* Word array wd of vector k: x[0], x[1] (then m[0], m[1] of an element vector). */
static const void *carray(const struct cvecs *v, int kind, int k, int wd)
{
    if (vec_bool(kind, k))
        return v->bv[k]->x[wd];
    return wd < 2 ? (const void *)v->sv[k]->x[wd] : (const void *)v->sv[k]->m[wd - 2];
}
static void *array(const struct vecs *v, int kind, int k, int wd)
{
    if (vec_bool(kind, k))
        return v->bv[k]->x[wd];
    return wd < 2 ? (void *)v->sv[k]->x[wd] : (void *)v->sv[k]->m[wd - 2];
}

static int append(mimir_pool *p, struct batch *b, const struct cvecs *v, mimir_err *err)
{
    awriter w;
    int rc = batch_begin(p, b, &w, err);
    if (rc != MIMIR_OK)
        return rc;
    for (int k = 0; k < NVEC && rc == MIMIR_OK && b->len[k] > 0; k++)
        for (int wd = 0; wd < vec_arrays(b, k, p->macs) && rc == MIMIR_OK; wd++)
            rc = aw_write(&w, carray(v, b->kind, k, wd),
                          (size_t)(b->count * b->len[k] * vec_word(b, k)), err);
    return batch_end(p, b, &w, rc, err);
}

/* The wmask batch holding the mask with this id, or NULL. */
static const struct batch *find_mask(const mimir_pool *p, uint64_t id)
{
    for (size_t i = 0; i < p->nb; i++)
        if (p->b[i].kind == MIMIR_PREP_WMASK && p->b[i].mask_id == id)
            return &p->b[i];
    return NULL;
}

int mimir_pool_append_wmask(mimir_pool *p, const mimir_wmask *m, mimir_err *err)
{
    if (m == NULL || m->hollow)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "wmask",
                             "expected a weight mask with its components (not a plan's)");
    if ((m->macs != 0) != p->macs)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "macs",
                             "a mask %s MAC components, but the pool %s MAC'd items",
                             m->macs ? "with" : "without", p->macs ? "holds" : "does not hold");
    struct batch bt = {.kind = MIMIR_PREP_WMASK, .count = 1, .inner = m->inner,
                       .cols = m->cols, .mask_id = m->id, .flags = WMASK_FLAG_AES};
    for (int q = 0; q < words_of(p->macs); q++)
        bt.flags |= (uint32_t)(m->expl[q] != NULL) << q;
    const char *field = NULL;
    if (check_shape(&bt, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "shape",
                             "%zux%zu: every dimension must be from 1 and the mask at most 2^32 "
                             "elements", m->inner, m->cols);
    if (find_mask(p, m->id) != NULL)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "id",
                             "mask %016llx is already in the pool (a mask is dealt once)",
                             (unsigned long long)m->id);
    awriter w;
    int rc = batch_begin(p, &bt, &w, err);
    if (rc != MIMIR_OK)
        return rc;
    for (int q = 0; q < words_of(p->macs) && rc == MIMIR_OK; q++)
        rc = (bt.flags >> q) & 1
                 ? aw_write(&w, m->expl[q], (size_t)(bt.inner * bt.cols) * WORD_BYTES, err)
                 : aw_write(&w, m->seed[q], MIMIR_PREP_SEED_BYTES, err);
    return batch_end(p, &bt, &w, rc, err);
}

int mimir_pool_append_wpairs(mimir_pool *p, uint64_t mask_id, size_t inner, size_t cols,
                             size_t rows, int transposed, size_t count, const mimir_sv *a,
                             const mimir_sv *c, mimir_err *err)
{
    struct batch bt = {.kind = MIMIR_PREP_WPAIR, .count = count, .rows = rows, .inner = inner,
                       .cols = cols, .mask_id = mask_id, .flags = transposed != 0};
    const char *field = NULL;
    if (count == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    if (check_shape(&bt, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, field,
                             "%zu pairs of %zu rows against a %zux%zu mask: every dimension "
                             "must be from 1 and each matrix at most 2^32 elements",
                             count, rows, inner, cols);
    const struct batch *mb = find_mask(p, mask_id);
    if (mb == NULL || mb->inner != inner || mb->cols != cols)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "mask",
                             "pairs bound to mask %016llx (%zux%zu), which the pool does not "
                             "hold: append the mask first", (unsigned long long)mask_id,
                             inner, cols);
    int rc = check_sv(p, a, bt.count * bt.len[0], "a", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, c, bt.count * bt.len[1], "c", err);
    if (rc != MIMIR_OK)
        return rc;
    const struct cvecs v = {.sv = {a, c}};
    return append(p, &bt, &v, err);
}

int mimir_pool_append_triples(mimir_pool *p, const mimir_sv *a, const mimir_sv *b,
                              const mimir_sv *c, mimir_err *err)
{
    uint64_t n = a != NULL ? a->n : 0;
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    int rc = check_sv(p, a, n, "a", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, b, n, "b", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, c, n, "c", err);
    if (rc != MIMIR_OK)
        return rc;
    struct batch bt = {.kind = MIMIR_PREP_TRIPLE, .count = n};
    const struct cvecs v = {.sv = {a, b, c}};
    return append(p, &bt, &v, err);
}

int mimir_pool_append_matrix(mimir_pool *p, size_t rows, size_t inner, size_t cols,
                             const mimir_sv *a, const mimir_sv *b, const mimir_sv *c,
                             mimir_err *err)
{
    struct batch bt = {.kind = MIMIR_PREP_MATRIX, .count = 1, .rows = rows, .inner = inner,
                       .cols = cols};
    const char *field = NULL;
    if (check_shape(&bt, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "shape",
                             "%zux%zux%zu: every dimension must be from 1 and each matrix at "
                             "most 2^32 elements", rows, inner, cols);
    int rc = check_sv(p, a, bt.len[0], "a", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, b, bt.len[1], "b", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, c, bt.len[2], "c", err);
    if (rc != MIMIR_OK)
        return rc;
    const struct cvecs v = {.sv = {a, b, c}};
    return append(p, &bt, &v, err);
}

int mimir_pool_append_trunc(mimir_pool *p, unsigned f, const mimir_sv *r, const mimir_sv *r_hi,
                            const mimir_sv *r_63, mimir_err *err)
{
    if (f == 0 || f > MAX_F)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "f", "%u, expected 1 to %d", f, MAX_F);
    uint64_t n = r != NULL ? r->n : 0;
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    int rc = check_sv(p, r, n, "r", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, r_hi, n, "r_hi", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, r_63, n, "r_63", err);
    if (rc != MIMIR_OK)
        return rc;
    struct batch bt = {.kind = MIMIR_PREP_TRUNC, .count = n, .f = f};
    const struct cvecs v = {.sv = {r, r_hi, r_63}};
    return append(p, &bt, &v, err);
}

int mimir_pool_append_edabits(mimir_pool *p, const mimir_sv *r, const mimir_sv *bits,
                              mimir_err *err)
{
    uint64_t n = r != NULL ? r->n : 0;
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    int rc = check_sv(p, r, n, "r", err);
    if (rc == MIMIR_OK && n > UINT64_MAX / MIMIR_PREP_EDABIT_BITS)
        rc = mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "too many edaBits");
    if (rc == MIMIR_OK)
        rc = check_sv(p, bits, n * MIMIR_PREP_EDABIT_BITS, "bits", err);
    if (rc != MIMIR_OK)
        return rc;
    struct batch bt = {.kind = MIMIR_PREP_EDABIT, .count = n};
    const struct cvecs v = {.sv = {r, bits}};
    return append(p, &bt, &v, err);
}

static int check_bv(const mimir_pool *p, const mimir_bv *v, uint64_t n, const char *what,
                    mimir_err *err)
{
    if (v == NULL || v->n != n || (n > 0 && (v->x[0] == NULL || v->x[1] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, what,
                             "expected a boolean shared vector of %llu words",
                             (unsigned long long)n);
    return MIMIR_OK;
}

int mimir_pool_append_btriples(mimir_pool *p, const mimir_bv *a, const mimir_bv *b,
                               const mimir_bv *c, mimir_err *err)
{
    uint64_t n = a != NULL ? a->n : 0;
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    int rc = check_bv(p, a, n, "a", err);
    if (rc == MIMIR_OK)
        rc = check_bv(p, b, n, "b", err);
    if (rc == MIMIR_OK)
        rc = check_bv(p, c, n, "c", err);
    if (rc != MIMIR_OK)
        return rc;
    struct batch bt = {.kind = MIMIR_PREP_BTRIPLE, .count = n};
    const struct cvecs v = {.bv = {a, b, c}};
    return append(p, &bt, &v, err);
}

int mimir_pool_append_cmasks(mimir_pool *p, const mimir_sv *r, const mimir_bv *rb,
                             const mimir_sv *d, const mimir_bv *db, mimir_err *err)
{
    uint64_t n = r != NULL ? r->n : 0;
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "count", "an empty batch");
    int rc = check_sv(p, r, n, "r", err);
    if (rc == MIMIR_OK)
        rc = check_bv(p, rb, n, "rb", err);
    if (rc == MIMIR_OK)
        rc = check_sv(p, d, n, "d", err);
    if (rc == MIMIR_OK)
        rc = check_bv(p, db, n, "db", err);
    if (rc != MIMIR_OK)
        return rc;
    /* db holds its bit in bit 0 only (lib/prep.h): bits 1..63 are public zeros, so checking
     * them tells nothing about the bit; one branch on the OR of all of them */
    uint64_t high = 0;
    for (uint64_t i = 0; i < n; i++)
        high |= (db->x[0][i] | db->x[1][i]) & ~(uint64_t)1;
    if (high != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "db",
                             "bits 1..63 of a daBit's boolean word must be 0");
    struct batch bt = {.kind = MIMIR_PREP_CMASK, .count = n};
    const struct cvecs v = {.sv = {r, NULL, d, NULL}, .bv = {NULL, rb, NULL, db}};
    rc = append(p, &bt, &v, err);
    if (rc == MIMIR_OK)
        p->prep.binary = 1; /* a pool with comparison masks serves binary comparisons */
    return rc;
}

int mimir_pool_record_sacrifice(mimir_pool *p, int kind, uint64_t sacrificed, uint64_t failed,
                                mimir_err *err)
{
    if (kind < 1 || kind > MIMIR_PREP_KINDS)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "kind", "%d, expected 1 to %d", kind,
                             MIMIR_PREP_KINDS);
    p->stat_sacrificed[kind - 1] += sacrificed;
    p->stat_failed[kind - 1] += failed;
    p->dirty_stats = 1;
    return write_stats(p, err);
}

/* --- take ------------------------------------------------------------------------------------ */

struct span {
    size_t batch;
    uint64_t start, k; /* items */
};

/* Reads items [s->start, s->start + s->k) of a batch into the vectors at element (word)
 * offset off. */
static int read_span(const mimir_pool *p, const struct span *s, const struct vecs *v,
                     const uint64_t off[NVEC], mimir_err *err)
{
    struct batch *b = &p->b[s->batch];
    char name[64], path[PATH_BYTES];
    path[0] = '\0'; /* named only when opening or failing: a step takes hundreds of spans */
    if (b->fd < 0) {
        batch_name(name, sizeof name, b->idx);
        path_of(path, p->dir, name);
        if ((b->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            return mimir_err_errno(err, path, "cannot open");
    }
    int fd = b->fd;
    int rc = MIMIR_OK;
    uint64_t base = HDR_BYTES;
    for (int k = 0; k < NVEC && rc == MIMIR_OK && b->len[k] > 0; k++) {
        int W = vec_arrays(b, k, p->macs);
        uint64_t wb = vec_word(b, k);
        uint64_t arr = b->count * b->len[k] * wb; /* one word array of vector k */
        for (int wd = 0; wd < W && rc == MIMIR_OK; wd++) {
            uint8_t *dst = (uint8_t *)array(v, b->kind, k, wd) + off[k] * wb;
            uint64_t at = base + (uint64_t)wd * arr + s->start * b->len[k] * wb;
            int r = pread_all(fd, dst, (size_t)(s->k * b->len[k] * wb), at);
            if (r != 0 && path[0] == '\0') {
                int e = errno; /* the read's, for mimir_err_errno */
                batch_name(name, sizeof name, b->idx);
                path_of(path, p->dir, name);
                errno = e;
            }
            if (r != 0)
                rc = r == -2 ? mimir_err_set(err, MIMIR_EINPUT, path, "size", "truncated")
                             : mimir_err_errno(err, path, "read failed");
        }
        base += (uint64_t)W * arr;
    }
    /* the batch's last items: nothing will read it again, so its descriptor is not held (a
     * GPT-2-sized session reads thousands of batches) */
    if (s->start + s->k == b->count) {
        close(b->fd);
        b->fd = -1;
    }
    return rc;
}

/* Whether batch b serves items like want: same kind, and the same f (truncation pairs), shape
 * (matrix triples), or mask id, mask shape, rows and transposition (weight pairs). */
static int matches(const struct batch *b, const struct batch *want)
{
    if (b->kind != want->kind)
        return 0;
    switch (want->kind) {
    case MIMIR_PREP_TRUNC: return b->f == want->f;
    case MIMIR_PREP_MATRIX:
        return b->rows == want->rows && b->inner == want->inner && b->cols == want->cols;
    case MIMIR_PREP_WMASK: return b->inner == want->inner && b->cols == want->cols;
    case MIMIR_PREP_WPAIR:
        return b->mask_id == want->mask_id && b->rows == want->rows &&
               b->inner == want->inner && b->cols == want->cols && b->flags == want->flags;
    default: return 1;
    }
}

/* The message for too few items of want's kind: n needed, have left. */
static int none_left(const mimir_pool *p, const struct batch *want, uint64_t n, uint64_t have,
                     const char *what, mimir_err *err)
{
    unsigned long long N = n, H = have;
    if (want->kind == MIMIR_PREP_TRUNC)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                             "no %s for f=%u left (needed %llu, have %llu)", what, want->f, N,
                             H);
    if (want->kind == MIMIR_PREP_MATRIX)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                             "no %s of shape %llux%llux%llu left (needed %llu, have %llu)",
                             what, (unsigned long long)want->rows,
                             (unsigned long long)want->inner, (unsigned long long)want->cols,
                             N, H);
    if (want->kind == MIMIR_PREP_WMASK)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                             "no %s of shape %llux%llu left (needed %llu, have %llu)", what,
                             (unsigned long long)want->inner, (unsigned long long)want->cols,
                             N, H);
    if (want->kind == MIMIR_PREP_WPAIR) {
        /* A pair of this shape bound to another mask is never served: name both masks. */
        for (size_t i = 0; i < p->nb; i++) {
            const struct batch *b = &p->b[i];
            if (b->kind == MIMIR_PREP_WPAIR && b->consumed < b->count &&
                b->mask_id != want->mask_id && b->rows == want->rows &&
                b->flags == want->flags)
                return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                                     "no %s for mask %016llx (%llu rows%s) left (needed %llu, "
                                     "have %llu): the next pair of that shape is bound to mask "
                                     "%016llx, not to this one", what,
                                     (unsigned long long)want->mask_id,
                                     (unsigned long long)want->rows,
                                     want->flags ? ", transposed" : "", N, H,
                                     (unsigned long long)b->mask_id);
        }
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL,
                             "no %s for mask %016llx (%llu rows%s) left (needed %llu, have "
                             "%llu)", what, (unsigned long long)want->mask_id,
                             (unsigned long long)want->rows,
                             want->flags ? ", transposed" : "", N, H);
    }
    return mimir_err_set(err, MIMIR_EINPUT, p->dir, NULL, "no %s left (needed %llu, have %llu)",
                         what, N, H);
}

/* Plans spans over the batches matching want (n items), verifies their digests. It looks from
 * the first batch of the kind with items left and stops as soon as it has n items: a step's
 * hundreds of takes scanned every later batch each (2% of a served party's CPU). */
static int plan_spans(mimir_pool *p, const struct batch *want, uint64_t n, const char *what,
                      struct span **out, size_t *ns, mimir_err *err)
{
    size_t *first = &p->first[want->kind - 1], i0 = *first;
    while (i0 < p->nb && (p->b[i0].kind != want->kind || p->b[i0].consumed == p->b[i0].count))
        i0++;
    *first = i0;
    struct span *sp = NULL;
    size_t cap = 0;
    uint64_t need = n;
    *ns = 0;
    for (size_t i = i0; i < p->nb && need > 0; i++) {
        const struct batch *b = &p->b[i];
        if (!matches(b, want) || b->consumed == b->count)
            continue;
        if (*ns == cap) {
            size_t nc = cap ? 2 * cap : 4;
            struct span *t = realloc(sp, nc * sizeof *sp);
            if (t == NULL) {
                free(sp);
                return mimir_err_set(err, MIMIR_ERUNTIME, p->dir, NULL, "out of memory");
            }
            sp = t;
            cap = nc;
        }
        uint64_t k = b->count - b->consumed < need ? b->count - b->consumed : need;
        sp[(*ns)++] = (struct span){i, b->consumed, k};
        need -= k;
    }
    if (need > 0) {
        free(sp);
        return none_left(p, want, n, n - need, what, err);
    }
    int rc = MIMIR_OK;
    for (size_t j = 0; j < *ns && rc == MIMIR_OK; j++)
        rc = verify_batch(p, &p->b[sp[j].batch], err);
    if (rc != MIMIR_OK) {
        free(sp);
        return rc;
    }
    *out = sp;
    return MIMIR_OK;
}

/* Marks the spans consumed and makes sure the cursor on disk counts them: after this, the items
 * are never handed out again, whatever happens next. The cursor is written only when a span
 * goes beyond what an earlier write reserved; such a write reserves ahead, in order of batches,
 * up to p->reserve items (and MIMIR_POOL_RESERVE_BYTES) more of the items like want: of the
 * batch being taken from and of the batches right after it as long as they match, so that a
 * step's many small takes cost one fsynced write now and then, not one each. A dealer writes
 * one batch per matrix triple, a plan entry's eight of a shape in a row for a tiny-model step:
 * reserving across that run makes one write instead of eight. The run stops at the first batch
 * that does not match, so that a crash does not waste a later session's items of the same
 * shape. Reserved items a crash leaves unused are wasted, never reused; a clean close gives
 * them back. */
static int advance(mimir_pool *p, const struct batch *want, const struct span *sp, size_t ns,
                   mimir_err *err)
{
    int write = 0;
    for (size_t j = 0; j < ns; j++) {
        struct batch *b = &p->b[sp[j].batch];
        b->consumed += sp[j].k;
        if (b->consumed > b->reserved) {
            b->reserved = b->consumed;
            write = 1;
        }
    }
    if (write && ns > 0) {
        /* at most MIMIR_POOL_RESERVE_BYTES of items ahead: a crash wastes about a step's
         * worth of big items (an edaBit is 4 KiB), not a whole pool; a weight mask (a
         * weight matrix's size) is never reserved ahead */
        uint64_t item = item_bytes(&p->b[sp[0].batch], p->macs);
        uint64_t ahead = want->kind == MIMIR_PREP_WMASK ? 0 : p->reserve;
        if (item > 0 && MIMIR_POOL_RESERVE_BYTES / item < ahead)
            ahead = MIMIR_POOL_RESERVE_BYTES / item;
        /* comparison masks and boolean triples: at most MIMIR_POOL_RESERVE_BINARY. Their
         * items are small (160 and 48 bytes) and few per step (about 2700 of each for a tiny
         * step), so the byte bound alone would reserve some twenty steps' worth, all wasted
         * by a crash; this is about three */
        if ((want->kind == MIMIR_PREP_CMASK || want->kind == MIMIR_PREP_BTRIPLE) &&
            ahead > MIMIR_POOL_RESERVE_BINARY)
            ahead = MIMIR_POOL_RESERVE_BINARY;
        for (size_t i = sp[ns - 1].batch; i < p->nb && ahead > 0; i++) {
            struct batch *b = &p->b[i];
            if (!matches(b, want))
                break; /* only the run of adjacent matching batches: one plan entry's */
            if (b->reserved == b->count)
                continue;
            /* items beyond consumed that this write already counts (an earlier reservation) */
            uint64_t have = b->reserved - b->consumed, left = b->count - b->consumed;
            uint64_t want_ahead = ahead < left ? ahead : left;
            if (want_ahead > have)
                b->reserved = b->consumed + want_ahead;
            ahead -= want_ahead;
        }
    }
    /* Not persisted (or unknown): the items count as used anyway, never handed out. A failed
     * rename leaves the old cursor, so the items stay available on disk for the next open; in
     * this process they are gone, which only wastes them. What the failed write would have
     * reserved is not counted as reserved: a later take must write the cursor first again. */
    int rc = write ? write_cursor(p, err) : MIMIR_OK;
    if (rc != MIMIR_OK) {
        for (size_t i = 0; i < p->nb; i++) {
            struct batch *b = &p->b[i];
            if (b->reserved > b->consumed)
                b->reserved = b->consumed;
        }
        return rc;
    }
    p->dirty_stats = 1;
#ifdef MIMIR_TEST_HOOKS
    if (mimir_pool_test_after_cursor != NULL)
        mimir_pool_test_after_cursor();
#endif
    return MIMIR_OK;
}

/* Frees (wiping) the first k vectors of out. */
static void free_vecs(const struct vecs *out, int kind, int k)
{
    for (int q = 0; q < k; q++) {
        if (vec_bool(kind, q))
            mimir_bv_free(out->bv[q]);
        else
            mimir_sv_free(out->sv[q]);
    }
}

/* Vectors of the used kinds (len > 0). */
static int nvecs(const struct batch *want)
{
    int k = 0;
    while (k < NVEC && want->len[k] > 0)
        k++;
    return k;
}

/* The common path of the vector kinds: plan spans over the batches matching want, verify their
 * digests, advance and persist the cursor, then read. n counts items. */
static int take(mimir_pool *p, const struct batch *want, uint64_t n, const struct vecs *out,
                const char *what, mimir_err *err)
{
    size_t ns = 0;
    struct span *sp = NULL;
    int rc = plan_spans(p, want, n, what, &sp, &ns, err);
    if (rc != MIMIR_OK)
        return rc;
    /* Allocate before the cursor moves: running out of memory should waste nothing. The
     * spans below fill every word of the vectors (or the take fails and frees them). */
    const uint64_t *len = want->len;
    int nv = nvecs(want);
    for (int k = 0; k < nv && rc == MIMIR_OK; k++) {
        rc = vec_bool(want->kind, k)
                 ? mimir_bv_alloc(out->bv[k], (size_t)(n * len[k]), err)
                 : mimir_sv_alloc_overwritten(out->sv[k], (size_t)(n * len[k]), p->macs, err);
        if (rc != MIMIR_OK)
            free_vecs(out, want->kind, k);
    }
    if (rc == MIMIR_OK && (rc = advance(p, want, sp, ns, err)) != MIMIR_OK)
        free_vecs(out, want->kind, nv);
    if (rc != MIMIR_OK) {
        free(sp);
        return rc;
    }
    uint64_t off[NVEC] = {0, 0, 0, 0};
    for (size_t j = 0; j < ns && rc == MIMIR_OK; j++) {
        rc = read_span(p, &sp[j], out, off, err);
        for (int k = 0; k < NVEC; k++)
            off[k] += sp[j].k * len[k];
    }
    free(sp);
    if (rc != MIMIR_OK)
        free_vecs(out, want->kind, nv);
    return rc;
}

static int prep_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                        mimir_err *err)
{
    const struct vecs out = {.sv = {a, b, c}};
    struct batch want = {.kind = MIMIR_PREP_TRIPLE};
    item_lens(&want);
    return take(ctx, &want, n, &out, "triples", err);
}

static int prep_matrix(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                       mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    mimir_pool *p = ctx;
    struct batch want = {.kind = MIMIR_PREP_MATRIX, .count = 1, .rows = rows, .inner = inner,
                         .cols = cols};
    const char *field;
    if (check_shape(&want, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "shape",
                             "%zux%zux%zu: no such matrix triple shape", rows, inner, cols);
    const struct vecs out = {.sv = {a, b, c}};
    return take(p, &want, 1, &out, "matrix triples", err);
}

static int prep_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi,
                      mimir_sv *r_63, mimir_err *err)
{
    const struct vecs out = {.sv = {r, r_hi, r_63}};
    struct batch want = {.kind = MIMIR_PREP_TRUNC, .f = f};
    item_lens(&want);
    return take(ctx, &want, n, &out, "truncation pairs", err);
}

static int prep_edabits(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err)
{
    const struct vecs out = {.sv = {r, bits}};
    struct batch want = {.kind = MIMIR_PREP_EDABIT};
    item_lens(&want);
    return take(ctx, &want, n, &out, "edaBits", err);
}

static int prep_btriples(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c,
                         mimir_err *err)
{
    const struct vecs out = {.bv = {a, b, c}};
    struct batch want = {.kind = MIMIR_PREP_BTRIPLE};
    item_lens(&want);
    return take(ctx, &want, n, &out, "boolean triple words", err);
}

static int prep_cmasks(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d, mimir_bv *db,
                       mimir_err *err)
{
    const struct vecs out = {.sv = {r, NULL, d, NULL}, .bv = {NULL, rb, NULL, db}};
    struct batch want = {.kind = MIMIR_PREP_CMASK};
    item_lens(&want);
    return take(ctx, &want, n, &out, "comparison masks", err);
}

/* Reads a mask batch's components (seeds, explicit arrays) into m (allocated by the caller). */
static int read_wmask(const mimir_pool *p, const struct batch *b, mimir_wmask *m,
                      mimir_err *err)
{
    char name[64], path[PATH_BYTES];
    batch_name(name, sizeof name, b->idx);
    path_of(path, p->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mimir_err_errno(err, path, "cannot open");
    int rc = MIMIR_OK;
    uint64_t at = HDR_BYTES;
    for (int q = 0; q < words_of(p->macs) && rc == MIMIR_OK; q++) {
        int ex = (b->flags >> q) & 1;
        size_t n = ex ? (size_t)(b->inner * b->cols) * WORD_BYTES : MIMIR_PREP_SEED_BYTES;
        int r = pread_all(fd, ex ? (void *)m->expl[q] : (void *)m->seed[q], n, at);
        if (r != 0)
            rc = r == -2 ? mimir_err_set(err, MIMIR_EINPUT, path, "size", "truncated")
                         : mimir_err_errno(err, path, "read failed");
        at += n;
    }
    close(fd);
    return rc;
}

/* The next weight mask of shape inner x cols, in order of batches. */
static int prep_wmask(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err)
{
    mimir_pool *p = ctx;
    memset(out, 0, sizeof *out);
    struct batch want = {.kind = MIMIR_PREP_WMASK, .count = 1, .inner = inner, .cols = cols};
    const char *field;
    if (check_shape(&want, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "shape",
                             "%zux%zu: no such weight mask shape", inner, cols);
    size_t ns = 0;
    struct span *sp = NULL;
    int rc = plan_spans(p, &want, 1, "weight masks", &sp, &ns, err);
    if (rc != MIMIR_OK)
        return rc;
    const struct batch *b = &p->b[sp[0].batch];
    out->id = b->mask_id;
    out->inner = inner;
    out->cols = cols;
    out->macs = p->macs;
    /* Allocate before the cursor moves: running out of memory should waste nothing. */
    for (int q = 0; q < words_of(p->macs) && rc == MIMIR_OK; q++)
        if ((b->flags >> q) & 1 &&
            (out->expl[q] = mimir_secret_alloc((size_t)(inner * cols) * WORD_BYTES)) == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, p->dir, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = advance(p, &want, sp, ns, err);
    if (rc == MIMIR_OK)
        rc = read_wmask(p, b, out, err);
    free(sp);
    if (rc != MIMIR_OK)
        mimir_wmask_free(out);
    return rc;
}

/* One pair bound to mask: the next of the batches with its id, shape, rows and transposition. */
static int prep_wpair(void *ctx, const mimir_wmask *mask, size_t rows, int transposed,
                      mimir_sv *a, mimir_sv *c, mimir_err *err)
{
    mimir_pool *p = ctx;
    if (mask == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "mask", "no mask given");
    struct batch want = {.kind = MIMIR_PREP_WPAIR, .count = 1, .rows = rows,
                         .inner = mask->inner, .cols = mask->cols, .mask_id = mask->id,
                         .flags = transposed != 0};
    const char *field;
    if (check_shape(&want, p->macs, &field) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, p->dir, "shape",
                             "%zu rows against a %zux%zu mask: no such weight pair shape", rows,
                             mask->inner, mask->cols);
    const struct vecs out = {.sv = {a, c}};
    return take(p, &want, 1, &out, "weight pairs", err);
}

static const mimir_prep_ops pool_ops = {
    .triples = prep_triples,
    .matrix = prep_matrix,
    .trunc = prep_trunc,
    .edabits = prep_edabits,
    .wmask = prep_wmask,
    .wpair = prep_wpair,
    .btriples = prep_btriples,
    .cmasks = prep_cmasks,
};

mimir_prep *mimir_pool_prep(mimir_pool *p)
{
    return &p->prep;
}

/* --- status ---------------------------------------------------------------------------------- */

static void fill_status(const mimir_pool *p, mimir_pool_status *st)
{
    memset(st, 0, sizeof *st);
    st->party = p->party;
    memcpy(st->session, p->session, SESSION_BYTES);
    st->macs = p->macs;
    totals(p, st->generated, st->consumed);
    for (int k = 0; k < MIMIR_PREP_KINDS; k++) {
        st->remaining[k] = st->generated[k] - st->consumed[k];
        st->sacrificed[k] = p->stat_sacrificed[k];
        st->failed[k] = p->stat_failed[k];
    }
    st->batches = p->nb;
    snprintf(st->created_by, sizeof st->created_by, "%s", p->created_by);
}

int mimir_pool_get_status(mimir_pool *p, mimir_pool_status *st, mimir_err *err)
{
    (void)err;
    fill_status(p, st);
    return MIMIR_OK;
}

int mimir_pool_peek_status(const char *dir, mimir_pool_status *st, mimir_err *err)
{
    mimir_pool *p;
    int rc = load(dir, -1, NULL, 0, &p, err);
    if (rc != MIMIR_OK)
        return rc;
    fill_status(p, st);
    pool_free(p);
    return MIMIR_OK;
}

int mimir_pool_verify_open(mimir_pool *p, uint64_t *bytes, mimir_err *err)
{
    if (bytes != NULL)
        *bytes = 0;
    int rc = MIMIR_OK;
    for (size_t i = 0; rc == MIMIR_OK && i < p->nb; i++) {
        struct batch *b = &p->b[i];
        if (b->consumed == b->count || b->verified)
            continue;
        rc = verify_batch(p, b, err);
        if (rc == MIMIR_OK && bytes != NULL)
            *bytes += HDR_BYTES + payload_bytes(b, p->macs) + DIGEST_BYTES;
    }
    return rc;
}

int mimir_pool_verify(const char *dir, mimir_err *err)
{
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "cannot initialise libsodium");
    mimir_pool *p = NULL;
    int rc = load(dir, -1, NULL, 0, &p, err);
    if (rc == MIMIR_OK)
        rc = mimir_pool_verify_open(p, NULL, err);
    pool_free(p);
    return rc;
}
