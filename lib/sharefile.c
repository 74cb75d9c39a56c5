#include "sharefile.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io.h"
#include "mem.h"
#include "ring.h"
#include "rss.h"
#include "sha256.h"

/* Fixed header offsets (docs/formats.md, "Share files"). */
#define OFF_VERSION 8
#define OFF_KIND 10
#define OFF_PARTY 11
#define OFF_RING 12
#define OFF_FRAC 14
#define OFF_RESERVED1 15
#define OFF_SESSION 16
#define OFF_META_LEN 32
#define OFF_COUNT 36
#define OFF_TABLE_LEN 40
#define OFF_PAYLOAD_LEN 48
#define OFF_RESERVED2 56
/* Largest table entry: name length, name, dtype, ndim, dims. */
#define MAX_ENTRY (2 + MIMIR_SHARE_MAX_NAME + 1 + 1 + 8 * MIMIR_SHARE_MAX_DIMS)

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
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
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

const char *mimir_share_kind_name(int kind)
{
    switch (kind) {
    case MIMIR_SHARE_TENSOR: return "tensor";
    case MIMIR_SHARE_MODEL: return "model";
    case MIMIR_SHARE_TOKENS: return "tokens";
    default: return "?";
    }
}

const char *mimir_share_dtype_name(int dtype)
{
    switch (dtype) {
    case MIMIR_SHARE_F32: return "float32";
    case MIMIR_SHARE_F64: return "float64";
    case MIMIR_SHARE_I64: return "int64";
    case MIMIR_SHARE_I32: return "int32";
    default: return "?";
    }
}

void mimir_share_hex(char *out, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void mimir_share_free(mimir_share *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        mimir_secret_free(s->t[i].c[0]);
        mimir_secret_free(s->t[i].c[1]);
    }
    free(s->t);
    free(s->meta);
    free(s->name);
    free(s);
}

/* The metadata must be one JSON object (duplicate keys refused) without NUL bytes. */
static int check_meta(const char *name, const char *meta, size_t len, mimir_err *err)
{
    if (memchr(meta, '\0', len) != NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, "metadata", "contains a NUL byte");
    json_error_t je;
    json_t *j = json_loadb(meta, len, JSON_REJECT_DUPLICATES, &je);
    int ok = j != NULL && json_is_object(j);
    json_decref(j);
    if (!ok)
        return mimir_err_set(err, MIMIR_EINPUT, name, "metadata",
                             "not a JSON object%s%s", j == NULL ? ": " : "",
                             j == NULL ? je.text : "");
    return MIMIR_OK;
}

static int check_header(const char *name, int kind, int party, unsigned ring, unsigned frac,
                        mimir_err *err)
{
    if (kind < MIMIR_SHARE_TENSOR || kind > MIMIR_SHARE_TOKENS)
        return mimir_err_set(err, MIMIR_EINPUT, name, "kind",
                             "kind %d, expected 1 (tensor), 2 (model) or 3 (tokens)", kind);
    if (party < 0 || party > 2)
        return mimir_err_set(err, MIMIR_EINPUT, name, "party",
                             "party index %d, expected 0, 1 or 2", party);
    if (ring != MIMIR_RSS_RING64 && ring != MIMIR_RSS_RING128)
        return mimir_err_set(err, MIMIR_EINPUT, name, "ring", "ring %u, expected 64 or 128",
                             ring);
    if (frac > MIMIR_FRAC_BITS_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, name, "frac_bits",
                             "%u fractional bits, expected 0 to %d", frac, MIMIR_FRAC_BITS_MAX);
    return MIMIR_OK;
}

int mimir_share_new(const char *name, int kind, int party, unsigned ring, unsigned frac_bits,
                    const uint8_t session[MIMIR_SHARE_SESSIONBYTES], const char *meta,
                    mimir_share **out, mimir_err *err)
{
    *out = NULL;
    int rc = check_header(name, kind, party, ring, frac_bits, err);
    if (rc)
        return rc;
    size_t mlen = strlen(meta);
    if (mlen > MIMIR_SHARE_MAX_META)
        return mimir_err_set(err, MIMIR_EINPUT, name, "metadata",
                             "%zu bytes, larger than the limit of %u", mlen,
                             MIMIR_SHARE_MAX_META);
    if ((rc = check_meta(name, meta, mlen, err)) != 0)
        return rc;
    mimir_share *s = calloc(1, sizeof *s);
    if (s == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    s->name = strdup(name);
    s->meta = strdup(meta);
    if (s->name == NULL || s->meta == NULL) {
        mimir_share_free(s);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    }
    s->meta_len = mlen;
    s->kind = kind;
    s->party = party;
    s->ring = ring;
    s->frac_bits = frac_bits;
    memcpy(s->session, session, MIMIR_SHARE_SESSIONBYTES);
    *out = s;
    return MIMIR_OK;
}

/* Validates a tensor's name, dtype and shape; computes numel and the bytes of one component. */
static int check_tensor(const mimir_share *s, const char *tname, size_t nlen, int dtype, int ndim,
                        const uint64_t *shape, uint64_t *numel, size_t *cbytes, mimir_err *err)
{
    if (nlen == 0 || nlen > MIMIR_SHARE_MAX_NAME)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensor name",
                             "name of %zu bytes, expected 1 to %d", nlen, MIMIR_SHARE_MAX_NAME);
    for (size_t i = 0; i < nlen; i++)
        if (tname[i] < 0x20 || tname[i] > 0x7e)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensor name",
                                 "tensor %zu: byte 0x%02x in its name, expected printable ASCII",
                                 s->n, (unsigned char)tname[i]);
    char nm[MIMIR_SHARE_MAX_NAME + 1];
    memcpy(nm, tname, nlen);
    nm[nlen] = '\0';
    if (dtype < MIMIR_SHARE_F32 || dtype > MIMIR_SHARE_I32)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "dtype",
                             "tensor '%s': dtype %d, expected 1 to 4", nm, dtype);
    if (ndim < 0 || ndim > MIMIR_SHARE_MAX_DIMS)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "shape",
                             "tensor '%s': %d dimensions, expected 0 to %d", nm, ndim,
                             MIMIR_SHARE_MAX_DIMS);
    uint64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && n > UINT64_MAX / shape[d])
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "shape",
                                 "tensor '%s': number of elements overflows 64 bits", nm);
        n *= shape[d];
    }
    if (n > SIZE_MAX || mimir_size_mul((size_t)n, MIMIR_RSS_WORDBYTES(s->ring), cbytes) != 0 ||
        *cbytes > SIZE_MAX / 2)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "shape",
                             "tensor '%s': too many elements", nm);
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, nm) == 0)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensor name",
                                 "tensor '%s' appears twice", nm);
    *numel = n;
    return MIMIR_OK;
}

int mimir_share_add(mimir_share *s, const char *name, enum mimir_share_dtype dtype, int ndim,
                    const uint64_t *shape, mimir_share_tensor **t, mimir_err *err)
{
    uint64_t numel;
    size_t cb;
    if (s->n == MIMIR_SHARE_MAX_TENSORS)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensors", "more than %d tensors",
                             MIMIR_SHARE_MAX_TENSORS);
    int rc = check_tensor(s, name, strlen(name), (int)dtype, ndim, shape, &numel, &cb, err);
    if (rc)
        return rc;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? 2 * s->cap : 8;
        mimir_share_tensor *nt = realloc(s->t, ncap * sizeof *nt);
        if (nt == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, s->name, NULL, "out of memory");
        s->t = nt;
        s->cap = ncap;
    }
    mimir_share_tensor *x = &s->t[s->n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->dtype = dtype;
    x->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        x->shape[d] = shape[d];
    x->numel = numel;
    x->c[0] = mimir_secret_alloc(cb ? cb : 1);
    x->c[1] = mimir_secret_alloc(cb ? cb : 1);
    if (x->c[0] == NULL || x->c[1] == NULL) {
        mimir_secret_free(x->c[0]);
        mimir_secret_free(x->c[1]);
        return mimir_err_set(err, MIMIR_ERUNTIME, s->name, NULL, "out of memory");
    }
    s->n++;
    if (t != NULL)
        *t = x;
    return MIMIR_OK;
}

static int encode_head(const mimir_share *s, uint8_t **head, size_t *hlen, uint64_t *payload,
                       mimir_err *err);

int mimir_share_encode(mimir_share *s, uint8_t **buf, size_t *len, mimir_err *err)
{
    uint8_t *head = NULL;
    size_t hlen = 0;
    uint64_t pl = 0;
    int rc = encode_head(s, &head, &hlen, &pl, err);
    if (rc)
        return rc;
    if (pl > SIZE_MAX - hlen - MIMIR_SHARE_DIGESTBYTES) {
        free(head);
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "payload", "too large");
    }
    size_t total = hlen + (size_t)pl + MIMIR_SHARE_DIGESTBYTES, p = hlen;
    uint8_t *b = mimir_secret_alloc(total);
    if (b == NULL) {
        free(head);
        return mimir_err_set(err, MIMIR_ERUNTIME, s->name, NULL, "out of memory");
    }
    memcpy(b, head, hlen);
    free(head);
    size_t wb = MIMIR_RSS_WORDBYTES(s->ring);
    for (size_t i = 0; i < s->n; i++) {
        size_t cb = (size_t)s->t[i].numel * wb;
        memcpy(b + p, s->t[i].c[0], cb);
        memcpy(b + p + cb, s->t[i].c[1], cb);
        p += 2 * cb;
    }
    mimir_sha256(b + p, b, p);
    memcpy(s->digest, b + p, MIMIR_SHARE_DIGESTBYTES);
    *buf = b;
    *len = total;
    return MIMIR_OK;
}

/* Checks the fixed header and the declared lengths against the file length. */
static int parse_fixed(const char *name, const uint8_t *b, size_t len, uint64_t lens[3],
                       mimir_err *err)
{
    size_t m = len < MIMIR_SHARE_MAGICBYTES ? len : MIMIR_SHARE_MAGICBYTES;
    if (memcmp(b, MIMIR_SHARE_MAGIC, m) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "magic",
                             "not a Mimir share file, expected it to start with \"%s\"",
                             MIMIR_SHARE_MAGIC);
    if (len < MIMIR_SHARE_HEADERBYTES + MIMIR_SHARE_DIGESTBYTES)
        return mimir_err_set(err, MIMIR_EINPUT, name, "length",
                             "truncated: %zu bytes, expected at least %d", len,
                             MIMIR_SHARE_HEADERBYTES + MIMIR_SHARE_DIGESTBYTES);
    unsigned version = get16(b + OFF_VERSION);
    if (version != MIMIR_SHARE_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, name, "version",
                             "share file version %u, expected %d", version, MIMIR_SHARE_VERSION);
    if (b[OFF_RESERVED1] != 0 || get64(b + OFF_RESERVED2) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "reserved",
                             "reserved header bytes are not zero");
    uint64_t mlen = get32(b + OFF_META_LEN), count = get32(b + OFF_COUNT);
    uint64_t tlen = get64(b + OFF_TABLE_LEN), plen = get64(b + OFF_PAYLOAD_LEN);
    if (mlen > MIMIR_SHARE_MAX_META)
        return mimir_err_set(err, MIMIR_EINPUT, name, "metadata",
                             "oversized: %llu bytes of metadata, limit %u",
                             (unsigned long long)mlen, MIMIR_SHARE_MAX_META);
    if (count > MIMIR_SHARE_MAX_TENSORS)
        return mimir_err_set(err, MIMIR_EINPUT, name, "tensors",
                             "oversized: %llu tensors, limit %d", (unsigned long long)count,
                             MIMIR_SHARE_MAX_TENSORS);
    if (tlen > count * MAX_ENTRY)
        return mimir_err_set(err, MIMIR_EINPUT, name, "table",
                             "oversized: tensor table of %llu bytes for %llu tensors",
                             (unsigned long long)tlen, (unsigned long long)count);
    uint64_t head = MIMIR_SHARE_HEADERBYTES + mlen + tlen + MIMIR_SHARE_DIGESTBYTES;
    if (plen > UINT64_MAX - head || head + plen > len)
        return mimir_err_set(err, MIMIR_EINPUT, name, "length",
                             "truncated: %zu bytes, the header declares more", len);
    if (head + plen < len)
        return mimir_err_set(err, MIMIR_EINPUT, name, "length",
                             "oversized: %zu bytes, the header declares %llu", len,
                             (unsigned long long)(head + plen));
    lens[0] = mlen;
    lens[1] = count;
    lens[2] = tlen;
    return MIMIR_OK;
}

/* Parses the tensor table [p, p + tlen) into s (components allocated, still zero). */
static int parse_table(mimir_share *s, const uint8_t *b, size_t p, size_t tlen, size_t count,
                       size_t plen, mimir_err *err)
{
    size_t end = p + tlen, need = 0;
    for (size_t i = 0; i < count; i++) {
        if (end - p < 2)
            goto short_table;
        size_t nl = get16(b + p);
        if (end - p - 2 < nl + 2)
            goto short_table;
        char nm[MIMIR_SHARE_MAX_NAME + 1];
        if (nl == 0 || nl > MIMIR_SHARE_MAX_NAME)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensor name",
                                 "tensor %zu: name of %zu bytes, expected 1 to %d", i, nl,
                                 MIMIR_SHARE_MAX_NAME);
        memcpy(nm, b + p + 2, nl);
        nm[nl] = '\0';
        if (memchr(nm, '\0', nl) != NULL)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "tensor name",
                                 "tensor %zu: NUL byte in its name", i);
        p += 2 + nl;
        int dtype = b[p], ndim = b[p + 1];
        p += 2;
        if (ndim > MIMIR_SHARE_MAX_DIMS)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "shape",
                                 "tensor '%s': %d dimensions, expected 0 to %d", nm, ndim,
                                 MIMIR_SHARE_MAX_DIMS);
        if ((end - p) / 8 < (size_t)ndim)
            goto short_table;
        uint64_t shape[MIMIR_SHARE_MAX_DIMS];
        for (int d = 0; d < ndim; d++, p += 8)
            shape[d] = get64(b + p);
        /* Check the payload can hold this tensor before allocating its components. */
        uint64_t numel;
        size_t cb;
        int rc = check_tensor(s, nm, nl, dtype, ndim, shape, &numel, &cb, err);
        if (rc)
            return rc;
        if (cb > (plen - need) / 2)
            return mimir_err_set(err, MIMIR_EINPUT, s->name, "payload",
                                 "payload of %zu bytes is too short for tensor '%s'", plen, nm);
        need += 2 * cb;
        rc = mimir_share_add(s, nm, (enum mimir_share_dtype)dtype, ndim, shape, NULL, err);
        if (rc)
            return rc;
    }
    if (p != end)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "table",
                             "%zu bytes left over after %zu tensors", end - p, count);
    return MIMIR_OK;
short_table:
    return mimir_err_set(err, MIMIR_EINPUT, s->name, "table",
                         "truncated tensor table: %zu tensors declared", count);
}

int mimir_share_parse(const char *name, const uint8_t *b, size_t len, mimir_share **out,
                      mimir_err *err)
{
    *out = NULL;
    uint64_t lens[3] = {0, 0, 0};
    int rc = parse_fixed(name, b, len, lens, err);
    if (rc)
        return rc;
    uint8_t dg[MIMIR_SHARE_DIGESTBYTES];
    size_t body = len - MIMIR_SHARE_DIGESTBYTES;
    mimir_sha256(dg, b, body);
    if (sodium_memcmp(dg, b + body, sizeof dg) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "digest",
                             "SHA-256 digest mismatch: the file is corrupted or was modified");
    int kind = b[OFF_KIND], party = b[OFF_PARTY];
    unsigned ring = get16(b + OFF_RING), frac = b[OFF_FRAC];
    if ((rc = check_header(name, kind, party, ring, frac, err)) != 0)
        return rc;
    size_t mlen = (size_t)lens[0], p = MIMIR_SHARE_HEADERBYTES;
    if ((rc = check_meta(name, (const char *)b + p, mlen, err)) != 0)
        return rc;
    char *meta = malloc(mlen + 1);
    if (meta == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    memcpy(meta, b + p, mlen);
    meta[mlen] = '\0';
    mimir_share *s;
    rc = mimir_share_new(name, kind, party, ring, frac, b + OFF_SESSION, meta, &s, err);
    free(meta);
    if (rc)
        return rc;
    p += mlen;
    size_t plen = body - p - (size_t)lens[2];
    rc = parse_table(s, b, p, (size_t)lens[2], (size_t)lens[1], plen, err);
    if (rc) {
        mimir_share_free(s);
        return rc;
    }
    p += (size_t)lens[2];
    size_t wb = MIMIR_RSS_WORDBYTES(ring), need = 0, have = body - p;
    for (size_t i = 0; i < s->n; i++) {
        size_t cb = (size_t)s->t[i].numel * wb; /* bounded by check_tensor */
        if (cb > (have - need) / 2) {
            rc = mimir_err_set(err, MIMIR_EINPUT, name, "payload",
                               "payload of %zu bytes is too short for the tensor table", have);
            mimir_share_free(s);
            return rc;
        }
        memcpy(s->t[i].c[0], b + p + need, cb);
        memcpy(s->t[i].c[1], b + p + need + cb, cb);
        need += 2 * cb;
    }
    if (need != have) {
        rc = mimir_err_set(err, MIMIR_EINPUT, name, "payload",
                           "payload of %zu bytes, the tensor table needs %zu", have, need);
        mimir_share_free(s);
        return rc;
    }
    memcpy(s->digest, b + body, MIMIR_SHARE_DIGESTBYTES);
    *out = s;
    return MIMIR_OK;
}

int mimir_share_read(const char *path, size_t max, mimir_share **out, mimir_err *err)
{
    *out = NULL;
    struct stat st;
    char *file = NULL;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t n = strlen(path) + sizeof MIMIR_SHARE_BUNDLE_FILE + 2;
        if ((file = malloc(n)) == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
        snprintf(file, n, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
                 MIMIR_SHARE_BUNDLE_FILE);
    }
    const char *f = file ? file : path;
    uint8_t *buf;
    size_t len;
    int rc = mimir_read_file(f, max, &buf, &len, err);
    if (rc == MIMIR_OK) {
        rc = mimir_share_parse(strcmp(f, "-") == 0 ? "<stdin>" : f, buf, len, out, err);
        mimir_wipe(buf, len);
        free(buf);
    }
    free(file);
    return rc;
}

int mimir_share_compatible(const mimir_share *a, const mimir_share *b, mimir_err *err)
{
    if (memcmp(a->session, b->session, MIMIR_SHARE_SESSIONBYTES) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "session",
                             "session id differs from %s's: shares come from different splits, "
                             "expected shares of one split", a->name);
    if (a->kind != b->kind)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "kind", "kind %s, expected %s as in %s",
                             mimir_share_kind_name(b->kind), mimir_share_kind_name(a->kind),
                             a->name);
    if (a->ring != b->ring)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "ring", "ring %u, expected %u as in %s",
                             b->ring, a->ring, a->name);
    if (a->frac_bits != b->frac_bits)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "frac_bits",
                             "%u fractional bits, expected %u as in %s", b->frac_bits,
                             a->frac_bits, a->name);
    if (a->meta_len != b->meta_len || memcmp(a->meta, b->meta, a->meta_len) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "metadata", "differs from %s's",
                             a->name);
    if (a->n != b->n)
        return mimir_err_set(err, MIMIR_EINPUT, b->name, "tensors",
                             "%zu tensors, expected %zu as in %s", b->n, a->n, a->name);
    for (size_t i = 0; i < a->n; i++) {
        const mimir_share_tensor *x = &a->t[i], *y = &b->t[i];
        int same = strcmp(x->name, y->name) == 0 && x->dtype == y->dtype && x->ndim == y->ndim;
        for (int d = 0; same && d < x->ndim; d++)
            same = x->shape[d] == y->shape[d];
        if (!same)
            return mimir_err_set(err, MIMIR_EINPUT, b->name, "tensor table",
                                 "tensor %zu ('%s') differs from %s's ('%s')", i, y->name,
                                 a->name, x->name);
    }
    return MIMIR_OK;
}

int mimir_share_open(const mimir_share *const *s, size_t ns, size_t idx, void *x, mimir_err *err)
{
    mimir_rss_view v[MIMIR_RSS_PARTIES];
    if (ns < 2 || ns > MIMIR_RSS_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "party",
                             "%zu shares given, expected 2 or 3", ns);
    for (size_t i = 0; i < ns; i++) {
        if (idx >= s[i]->n)
            return mimir_err_set(err, MIMIR_EINPUT, s[i]->name, "tensors", "no tensor %zu", idx);
        v[i].party = s[i]->party;
        v[i].c[0] = s[i]->t[idx].c[0];
        v[i].c[1] = s[i]->t[idx].c[1];
        v[i].name = s[i]->name;
    }
    return mimir_rss_join(s[0]->ring, (size_t)s[0]->t[idx].numel, v, ns, x, err);
}

/* The header, metadata and tensor table of s (everything before the payload), malloc'd. */
static int encode_head(const mimir_share *s, uint8_t **head, size_t *hlen, uint64_t *payload,
                       mimir_err *err)
{
    size_t wb = MIMIR_RSS_WORDBYTES(s->ring), table = 0;
    uint64_t pl = 0;
    for (size_t i = 0; i < s->n; i++) {
        table += 2 + strlen(s->t[i].name) + 2 + 8 * (size_t)s->t[i].ndim;
        pl += 2 * s->t[i].numel * wb; /* each bounded by check_tensor */
    }
    size_t n = MIMIR_SHARE_HEADERBYTES + s->meta_len + table;
    uint8_t *b = calloc(1, n);
    if (b == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, s->name, NULL, "out of memory");
    memcpy(b, MIMIR_SHARE_MAGIC, MIMIR_SHARE_MAGICBYTES);
    put16(b + OFF_VERSION, MIMIR_SHARE_VERSION);
    b[OFF_KIND] = (uint8_t)s->kind;
    b[OFF_PARTY] = (uint8_t)s->party;
    put16(b + OFF_RING, (uint16_t)s->ring);
    b[OFF_FRAC] = (uint8_t)s->frac_bits;
    memcpy(b + OFF_SESSION, s->session, MIMIR_SHARE_SESSIONBYTES);
    put32(b + OFF_META_LEN, (uint32_t)s->meta_len);
    put32(b + OFF_COUNT, (uint32_t)s->n);
    put64(b + OFF_TABLE_LEN, table);
    put64(b + OFF_PAYLOAD_LEN, pl);
    size_t p = MIMIR_SHARE_HEADERBYTES;
    memcpy(b + p, s->meta, s->meta_len);
    p += s->meta_len;
    for (size_t i = 0; i < s->n; i++) {
        const mimir_share_tensor *t = &s->t[i];
        size_t nl = strlen(t->name);
        put16(b + p, (uint16_t)nl);
        memcpy(b + p + 2, t->name, nl);
        p += 2 + nl;
        b[p++] = (uint8_t)t->dtype;
        b[p++] = (uint8_t)t->ndim;
        for (int d = 0; d < t->ndim; d++, p += 8)
            put64(b + p, t->shape[d]);
    }
    *head = b;
    *hlen = n;
    *payload = pl;
    return MIMIR_OK;
}

int mimir_share_write(mimir_share *s, mimir_out *out, mimir_err *err)
{
    uint8_t *head = NULL;
    size_t hlen = 0;
    uint64_t pl = 0;
    int rc = encode_head(s, &head, &hlen, &pl, err);
    if (rc)
        return rc;
    mimir_sha256_state st;
    mimir_sha256_init(&st);
    mimir_sha256_update(&st, head, hlen);
    rc = mimir_out_write(out, head, hlen, err);
    free(head);
    size_t wb = MIMIR_RSS_WORDBYTES(s->ring);
    for (size_t i = 0; rc == MIMIR_OK && i < s->n; i++) {
        size_t cb = (size_t)s->t[i].numel * wb;
        for (int j = 0; rc == MIMIR_OK && j < 2; j++) {
            mimir_sha256_update(&st, s->t[i].c[j], cb);
            rc = mimir_out_write(out, s->t[i].c[j], cb, err);
        }
    }
    mimir_sha256_final(&st, s->digest);
    if (rc == MIMIR_OK)
        rc = mimir_out_write(out, s->digest, MIMIR_SHARE_DIGESTBYTES, err);
    return rc;
}

int mimir_share_split_new(int kind, unsigned ring, unsigned frac_bits, const char *meta,
                          const char *const names[3], const mimir_rss_rng *rng,
                          mimir_share *out[3], mimir_err *err)
{
    uint8_t session[MIMIR_SHARE_SESSIONBYTES];
    out[0] = out[1] = out[2] = NULL;
    int rc = rng->fill(rng->ctx, session, sizeof session);
    if (rc)
        return mimir_err_set(err, rc, NULL, "random", "random generator failed");
    for (int i = 0; i < MIMIR_RSS_PARTIES && rc == MIMIR_OK; i++)
        rc = mimir_share_new(names[i], kind, i, ring, frac_bits, session, meta, &out[i], err);
    if (rc) {
        for (int i = 0; i < MIMIR_RSS_PARTIES; i++) {
            mimir_share_free(out[i]);
            out[i] = NULL;
        }
    }
    return rc;
}

int mimir_share_split_add(mimir_share *s[3], const char *name, enum mimir_share_dtype dtype,
                          int ndim, const uint64_t *shape, const mimir_r64 *v,
                          const mimir_rss_rng *rng, mimir_err *err)
{
    mimir_share_tensor *t[MIMIR_RSS_PARTIES];
    for (int i = 0; i < MIMIR_RSS_PARTIES; i++) {
        int rc = mimir_share_add(s[i], name, dtype, ndim, shape, &t[i], err);
        if (rc) {
            for (int k = 0; k < i; k++) { /* undo: the three shares keep equal tables */
                s[k]->n--;
                mimir_secret_free(s[k]->t[s[k]->n].c[0]);
                mimir_secret_free(s[k]->t[s[k]->n].c[1]);
            }
            return rc;
        }
    }
    unsigned ring = s[0]->ring;
    size_t n = (size_t)t[0]->numel, bytes = n * MIMIR_RSS_WORDBYTES(ring);
    /* Components x0, x1, x2 go to party 0's c[0], party 1's c[0], party 2's c[0]; each party's
     * c[1] is a copy of the next party's c[0]. */
    void *comp[MIMIR_RSS_PARTIES] = {t[0]->c[0], t[1]->c[0], t[2]->c[0]};
    int rc;
    if (ring == MIMIR_RSS_RING128) {
        mimir_r128 *w = mimir_secret_alloc(bytes ? bytes : 1);
        if (w == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        mimir_rss_lift128(w, v, n);
        rc = mimir_rss_split(ring, w, n, rng, comp, err);
        mimir_secret_free(w);
    } else {
        rc = mimir_rss_split(ring, v, n, rng, comp, err);
    }
    if (rc)
        return rc;
    for (int i = 0; i < MIMIR_RSS_PARTIES; i++)
        memcpy(t[i]->c[1], t[(i + 1) % MIMIR_RSS_PARTIES]->c[0], bytes);
    return MIMIR_OK;
}
