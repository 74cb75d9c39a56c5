/* test_sharefile — share file encode/parse round-trip, and the parser on corrupted buffers. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "rss.h"
#include "sharefile.h"
#include "tap.h"

static const uint8_t SESSION[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* A two-tensor share of party p: "a" float32 (2, 3) and "ids" int64 (4,). */
static mimir_share *make(int party, unsigned ring, const uint8_t *session)
{
    mimir_share *s;
    mimir_err err = {0};
    if (mimir_share_new("mem.p0", MIMIR_SHARE_TENSOR, party, ring, 16, session,
                        "{\"format\": \"npy\"}", &s, &err) != 0)
        return NULL;
    uint64_t sa[2] = {2, 3}, sb[1] = {4};
    mimir_share_tensor *t;
    mimir_share_add(s, "a", MIMIR_SHARE_F32, 2, sa, &t, &err);
    for (size_t i = 0; i < t->numel * ring / 8; i++) {
        ((uint8_t *)t->c[0])[i] = (uint8_t)(i + party);
        ((uint8_t *)t->c[1])[i] = (uint8_t)(3 * i + party);
    }
    mimir_share_add(s, "ids", MIMIR_SHARE_I64, 1, sb, &t, &err);
    memset(t->c[0], 0x11 * (party + 1), t->numel * ring / 8);
    return s;
}

static void rehash(uint8_t *b, size_t len)
{
    crypto_hash_sha256(b + len - 32, b, len - 32);
}

static void test_roundtrip(void)
{
    mimir_err err = {0};
    for (unsigned ring = 64; ring <= 128; ring += 64) {
        mimir_share *s = make(2, ring, SESSION), *r = NULL;
        uint8_t *buf;
        size_t len;
        int rc = mimir_share_encode(s, &buf, &len, &err);
        CHECK(rc == 0, "ring %u: encode", ring);
        CHECK(memcmp(buf, "MIMIRSHR\x01\x00\x01\x02", 12) == 0, "ring %u: magic, version, kind, "
              "party at offsets 0..11", ring);
        rc = mimir_share_parse("x", buf, len, &r, &err);
        if (CHECK(rc == 0, "ring %u: parse what encode wrote (%s)", ring, rc ? err.msg : "ok")) {
            int same = r->kind == 1 && r->party == 2 && r->ring == ring && r->frac_bits == 16 &&
                       memcmp(r->session, SESSION, 16) == 0 && r->n == 2 &&
                       strcmp(r->meta, s->meta) == 0 && memcmp(r->digest, s->digest, 32) == 0;
            for (size_t i = 0; same && i < 2; i++) {
                size_t cb = s->t[i].numel * ring / 8;
                same = strcmp(r->t[i].name, s->t[i].name) == 0 &&
                       r->t[i].dtype == s->t[i].dtype && r->t[i].ndim == s->t[i].ndim &&
                       r->t[i].numel == s->t[i].numel &&
                       memcmp(r->t[i].c[0], s->t[i].c[0], cb) == 0 &&
                       memcmp(r->t[i].c[1], s->t[i].c[1], cb) == 0;
            }
            CHECK(same, "ring %u: header, metadata, table and components round-trip", ring);
            CHECK(mimir_share_compatible(s, r, &err) == 0, "ring %u: a share is compatible with "
                  "itself", ring);
        }
        mimir_share_free(r);
        mimir_share_free(s);
        mimir_secret_free(buf);
    }
    mimir_share_free(NULL);
}

/* Applies a corruption to a fresh encoding, optionally re-hashes, and expects a refusal. */
typedef void (*mutate_fn)(uint8_t *b, size_t *len);
static void m_magic(uint8_t *b, size_t *len) { (void)len; b[0] = 'X'; }
static void m_version(uint8_t *b, size_t *len) { (void)len; b[8] = 2; }
static void m_kind(uint8_t *b, size_t *len) { (void)len; b[10] = 9; }
static void m_party(uint8_t *b, size_t *len) { (void)len; b[11] = 3; }
static void m_ring(uint8_t *b, size_t *len) { (void)len; b[12] = 32; }
static void m_frac(uint8_t *b, size_t *len) { (void)len; b[14] = 41; }
static void m_reserved(uint8_t *b, size_t *len) { (void)len; b[60] = 1; }
static void m_metalen(uint8_t *b, size_t *len) { (void)len; b[34] = 0x20; }
static void m_count(uint8_t *b, size_t *len) { (void)len; b[37] = 0x20; }
static void m_payload_byte(uint8_t *b, size_t *len) { b[*len - 40] ^= 1; }
static void m_digest(uint8_t *b, size_t *len) { b[*len - 1] ^= 1; }
static void m_extra(uint8_t *b, size_t *len) { b[(*len)++] = 0; }
static void m_cut(uint8_t *b, size_t *len) { (void)b; *len -= 1; }
/* Metadata (17 bytes) starts at 64; the table at 81: u16 1, "a", dtype, ndim, dims... */
static void m_meta_json(uint8_t *b, size_t *len) { (void)len; b[64] = '['; }
static void m_dtype(uint8_t *b, size_t *len) { (void)len; b[84] = 7; }
static void m_ndim(uint8_t *b, size_t *len) { (void)len; b[85] = 9; }
static void m_shape_overflow(uint8_t *b, size_t *len)
{
    (void)len;
    memset(b + 86, 0xff, 16); /* dims 2^64-1 x 2^64-1 */
}
static void m_shape_big(uint8_t *b, size_t *len)
{
    (void)len;
    b[86 + 5] = 1; /* dim 0 = 2^40 + 2: far more than the payload holds */
}
/* The second tensor's entry is at 102: u16 3, "ids", dtype at 107, ndim at 108, one dim. */
static void m_table_left(uint8_t *b, size_t *len) { (void)len; b[108] = 0; }
static void m_table_short(uint8_t *b, size_t *len) { (void)len; b[108] = 2; }
static void m_name_ctrl(uint8_t *b, size_t *len) { (void)len; b[83] = '\n'; }
static void m_name_len0(uint8_t *b, size_t *len) { (void)len; b[81] = 0; }

static void test_corrupt(void)
{
    struct {
        const char *what;
        mutate_fn f;
        int rehash;
        const char *field, *msg;
    } t[] = {
        {"wrong magic", m_magic, 0, "magic", "not a Mimir share file"},
        {"wrong version", m_version, 0, "version", "version 2, expected 1"},
        {"bad kind", m_kind, 1, "kind", "kind 9"},
        {"bad party index", m_party, 1, "party", "party index 3, expected 0, 1 or 2"},
        {"bad ring", m_ring, 1, "ring", "ring 32"},
        {"too many fractional bits", m_frac, 1, "frac_bits", "41"},
        {"reserved bytes set", m_reserved, 1, "reserved", "not zero"},
        {"oversized metadata length", m_metalen, 0, "metadata", "oversized"},
        {"oversized tensor count", m_count, 0, "tensors", "oversized"},
        {"payload byte flipped", m_payload_byte, 0, "digest", "digest mismatch"},
        {"digest byte flipped", m_digest, 0, "digest", "digest mismatch"},
        {"one byte appended", m_extra, 0, "length", "oversized"},
        {"one byte cut", m_cut, 0, "length", "truncated"},
        {"metadata not JSON", m_meta_json, 1, "metadata", "not a JSON object"},
        {"bad dtype", m_dtype, 1, "dtype", "dtype 7"},
        {"too many dims", m_ndim, 1, "shape", "9 dimensions"},
        {"shape overflow", m_shape_overflow, 1, "shape", "overflows 64 bits"},
        {"shape larger than payload", m_shape_big, 1, "payload", "too short"},
        {"table longer than its tensors", m_table_left, 1, "table", "left over"},
        {"table shorter than its tensors", m_table_short, 1, "table", "truncated tensor table"},
        {"control byte in name", m_name_ctrl, 1, "tensor name", "printable ASCII"},
        {"empty name", m_name_len0, 1, "tensor name", "name of 0 bytes"},
    };
    mimir_err err = {0};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        mimir_share *s = make(0, 64, SESSION), *r = NULL;
        uint8_t *enc;
        size_t len;
        mimir_share_encode(s, &enc, &len, &err);
        uint8_t *b = malloc(len + 1);
        memcpy(b, enc, len);
        t[i].f(b, &len);
        if (t[i].rehash)
            rehash(b, len);
        mimir_err_clear(&err);
        int rc = mimir_share_parse("bad.p0", b, len, &r, &err);
        if (t[i].field == NULL)
            CHECK(rc == MIMIR_EINPUT && r == NULL && strcmp(err.file, "bad.p0") == 0,
                  "%s refused (%s: %s)", t[i].what, err.field, err.msg);
        else
            CHECK(rc == MIMIR_EINPUT && r == NULL && strcmp(err.file, "bad.p0") == 0 &&
                      strcmp(err.field, t[i].field) == 0 && strstr(err.msg, t[i].msg) != NULL,
                  "%s refused: field %s (got %s: %s)", t[i].what, t[i].field, err.field,
                  err.msg);
        mimir_share_free(r);
        free(b);
        mimir_secret_free(enc);
        mimir_share_free(s);
    }

    /* Every truncation is refused with code 2 and never read out of bounds. */
    mimir_share *s = make(1, 128, SESSION), *r = NULL;
    uint8_t *enc;
    size_t len;
    mimir_share_encode(s, &enc, &len, &err);
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = malloc(cut ? cut : 1);
        memcpy(b, enc, cut);
        if (mimir_share_parse("t", b, cut, &r, &err) != MIMIR_EINPUT || r != NULL)
            all = 0;
        free(b);
    }
    CHECK(all, "every truncation (%zu of them) is refused with code 2", len);
    /* Single-bit flips anywhere are refused (the digest covers every byte). */
    all = 1;
    for (size_t i = 0; i < len; i++) {
        enc[i] ^= 0x04;
        if (mimir_share_parse("t", enc, len, &r, &err) != MIMIR_EINPUT)
            all = 0;
        enc[i] ^= 0x04;
    }
    CHECK(all, "a bit flip at any offset is refused");
    mimir_secret_free(enc);
    mimir_share_free(s);
}

static void test_join(void)
{
    mimir_err err = {0};
    uint8_t other[16] = {1};
    mimir_share *a = make(0, 64, SESSION), *b = make(1, 64, SESSION), *c = make(2, 64, other);
    CHECK(mimir_share_compatible(a, b, &err) == 0, "two parties of one split are compatible");
    CHECK(mimir_share_compatible(a, c, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "session") == 0 && strstr(err.msg, "different splits"),
          "mixed sessions refused, field session (%s)", err.msg);
    mimir_share *d = make(2, 128, SESSION);
    CHECK(mimir_share_compatible(a, d, &err) == MIMIR_EINPUT && strcmp(err.field, "ring") == 0,
          "mixed rings refused");
    /* A real split through rss, opened through the share API. */
    mimir_rss_rng rng = mimir_rss_rng_system();
    mimir_r64 x[6] = {1, 2, 3, (mimir_r64)-4, 5, 6}, y[6];
    void *comp[3];
    for (int j = 0; j < 3; j++)
        comp[j] = mimir_secret_alloc(sizeof x);
    mimir_rss_split(64, x, 6, &rng, comp, &err);
    mimir_share *p[3] = {a, b, d};
    mimir_share_free(c);
    p[2] = c = make(2, 64, SESSION);
    for (int i = 0; i < 3; i++) {
        memcpy(p[i]->t[0].c[0], comp[i], sizeof x);
        memcpy(p[i]->t[0].c[1], comp[(i + 1) % 3], sizeof x);
    }
    const mimir_share *two[2] = {c, a};
    CHECK(mimir_share_open(two, 2, 0, y, &err) == 0 && memcmp(x, y, sizeof x) == 0,
          "open from parties 2 and 0");
    const mimir_share *three[3] = {b, c, a};
    CHECK(mimir_share_open(three, 3, 0, y, &err) == 0 && memcmp(x, y, sizeof x) == 0,
          "open from all three");
    ((uint8_t *)b->t[0].c[1])[0] ^= 1; /* party 1's copy of x2 */
    CHECK(mimir_share_open(three, 3, 0, y, &err) == MIMIR_ESECURITY &&
              strstr(err.msg, "component x2 of party 1 and party 2 differ"),
          "tampered replicated copy detected with three shares (%s)", err.msg);
    for (int j = 0; j < 3; j++)
        mimir_secret_free(comp[j]);
    mimir_share_free(a);
    mimir_share_free(b);
    mimir_share_free(c);
    mimir_share_free(d);
}

static void test_new_errors(void)
{
    mimir_share *s;
    mimir_err err = {0};
    CHECK(mimir_share_new("n", 1, 0, 64, 16, SESSION, "[1]", &s, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "metadata") == 0, "metadata must be an object");
    CHECK(mimir_share_new("n", 1, 0, 64, 16, SESSION, "{\"a\":1,\"a\":2}", &s, &err) ==
              MIMIR_EINPUT, "duplicate metadata keys refused");
    mimir_share_new("n", 1, 0, 64, 16, SESSION, "{}", &s, &err);
    uint64_t sh[1] = {1};
    mimir_share_add(s, "w", MIMIR_SHARE_F32, 1, sh, NULL, &err);
    CHECK(mimir_share_add(s, "w", MIMIR_SHARE_F32, 1, sh, NULL, &err) == MIMIR_EINPUT &&
              strstr(err.msg, "appears twice"), "duplicate tensor names refused");
    mimir_share_free(s);
}

/* split_new/split_add, streamed write and read back, open: values come back bit-exact. */
static void test_split_write(void)
{
    mimir_err err = {0};
    const char *names[3] = {"tests/tmp/tsf.p0", "tests/tmp/tsf.p1", "tests/tmp/tsf.p2"};
    for (unsigned ring = 64; ring <= 128; ring += 64) {
        mimir_rss_rng rng = mimir_rss_rng_system();
        mimir_share *s[3], *r[3] = {NULL, NULL, NULL};
        int rc = mimir_share_split_new(MIMIR_SHARE_TOKENS, ring, 0, "{}", names, &rng, s, &err);
        mimir_r64 v[5] = {0, 1, (mimir_r64)-1, (mimir_r64)INT64_MIN, 77}, y[5];
        uint64_t shape[1] = {5};
        rc = rc ? rc : mimir_share_split_add(s, "ids", MIMIR_SHARE_I64, 1, shape, v, &rng, &err);
        CHECK(rc == 0 && memcmp(s[0]->session, s[2]->session, 16) == 0 && s[1]->party == 1,
              "ring %u: split_new/split_add make three shares of one session", ring);
        int ok = 1;
        for (int i = 0; i < 3; i++) {
            mimir_out out;
            uint8_t *enc;
            size_t len;
            ok &= mimir_out_open(&out, names[i], &err) == 0 &&
                  mimir_share_write(s[i], &out, &err) == 0 && mimir_out_commit(&out, &err) == 0;
            uint8_t streamed[32];
            memcpy(streamed, s[i]->digest, 32);
            ok &= mimir_share_encode(s[i], &enc, &len, &err) == 0 &&
                  memcmp(streamed, s[i]->digest, 32) == 0;
            mimir_secret_free(enc);
            ok &= mimir_share_read(names[i], 1 << 20, &r[i], &err) == 0;
        }
        CHECK(ok, "ring %u: streamed write reads back, digest equals encode's", ring);
        if (ok) {
            const mimir_share *two[2] = {r[1], r[2]};
            int good;
            if (ring == 64) {
                good = mimir_share_open(two, 2, 0, y, &err) == 0;
            } else {
                mimir_r128 w[5];
                good = mimir_share_open(two, 2, 0, w, &err) == 0 &&
                       mimir_rss_lower64(y, w, 5, NULL) == 0;
            }
            CHECK(good && memcmp(v, y, sizeof v) == 0, "ring %u: values open bit-exact", ring);
        }
        for (int i = 0; i < 3; i++) {
            mimir_share_free(s[i]);
            mimir_share_free(r[i]);
            remove(names[i]);
        }
    }
}

int main(void)
{
    mimir_mem_init();
    test_roundtrip();
    test_corrupt();
    test_join();
    test_new_errors();
    test_split_write();
    return tap_done();
}
