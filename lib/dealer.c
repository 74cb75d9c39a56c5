/*
 * dealer.c — the trusted dealer of lib/dealer.h (docs/protocol.md, "The trusted dealer").
 *
 * Randomness: key = the first 32 bytes of mimir_drbg_from_seed(seed, "dealer"); draw number j
 * (a counter from 0, one per stream below) is the AES-256-CTR keystream (NIST SP 800-38A,
 * OpenSSL EVP) under that key with the initial counter block u64_be(j) || u64_be(0), read as
 * little-endian 16-byte words: word w of draw j is AES-256(key, j * 2^64 + w), so any word is
 * reached directly. (ChaCha20 before: AES-NI makes this about 4x faster here, and the stream is
 * most of the dealer's work.) Draw 0 is alpha's value, draw 1 its
 * split; every item then takes a fixed number of draws (DRAWS_* below) whether or not it
 * uses them (a semi-honest dealer skips the MAC splits but still counts them), so the values
 * are the same with and without MACs.
 *
 * Sharing a vector v (n words): its split draw gives 2n words, element i taking words 2i and
 * 2i+1 as v0[i], v1[i]; v2 = v - v0 - v1. Its MAC m = alpha * v is split the same way from the
 * vector's MAC draw. Vectors are processed in chunks of CHUNK elements to keep temporaries
 * small and in cache.
 *
 * EdaBits take EDA_CHUNK = CHUNK / 64 items per chunk, so a chunk of their bits is one chunk.
 *
 * Boolean words (boolean triples, a comparison mask's rb and db) are XOR-split: word i of the
 * split draw gives w0[i] (its low 64 bits) and w1[i] (its high 64 bits); w2 = w ^ w0 ^ w1. A
 * split of single bits (db) keeps only bit 0 of w0[i] and w1[i], so every component's bits
 * 1..63 are zero.
 *
 * Constant time: no branch or index depends on a drawn or computed value; the party index and
 * the sizes are public.
 */
#include "dealer.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "drbg.h"
#include "mem.h"

#define KEY_BYTES 32                     /* AES-256 */
#define WORD_BYTES 16                    /* one AES block */
#define CHUNK 4096                       /* elements per chunk */
#define MAX_ELEMENTS ((size_t)1 << 32)   /* per vector: a split draw is 2^33 words at most */
#define UPDATE_WORDS ((size_t)1 << 26)   /* words per EVP_EncryptUpdate (1 GiB < INT_MAX) */
#define DRAW_ALPHA_VALUE 0
#define DRAW_ALPHA_SPLIT 1
#define DRAW_FIRST_ITEM 2
#define DRAWS_TRIPLE 8 /* a, b values; (split, MAC split) of a, b, c */
#define DRAWS_MATRIX 8 /* A, B values; (split, MAC split) of A, B, C */
#define DRAWS_TRUNC 7  /* r value; (split, MAC split) of r, r_hi, r_63 */
#define DRAWS_EDABIT 5 /* r value; (split, MAC split) of r and of the bits */
#define DRAWS_WMASK 1  /* the mask's five seeds (value components 0..2, MAC components 1, 2)
                        * and its id (keystream bytes [160, 168) of the same draw) */
#define DRAWS_WPAIR 5  /* A value; (split, MAC split) of A and of C */
#define DRAWS_BTRIPLE 4 /* a and b words (one draw: low and high halves); XOR splits of a, b, c */
#define DRAWS_CMASK 8   /* r value, d value; (split, MAC split) of r; rb's XOR split;
                         * (split, MAC split) of d; db's XOR split */
#define SEEDB MIMIR_PREP_SEED_BYTES
#define MASK_SEEDS 5
#define MASK_BLOCK 16384 /* mask words regenerated per block */
#define MIN_MASKS 16
#define EDA_BITS MIMIR_PREP_EDABIT_BITS
#define EDA_CHUNK (CHUNK / EDA_BITS) /* edaBits per chunk: their bits fill one chunk */
#define TRUNC_F_MAX 62

/* A mask the dealer has dealt: its seeds are draw `draw` (recomputed when needed). */
typedef struct mask_rec {
    uint64_t draw, id;
    size_t inner, cols;
} mask_rec;

struct mimir_dealer {
    uint8_t key[KEY_BYTES];
    EVP_CIPHER_CTX *aes; /* keyed with key once; each draw sets only its counter block */
    mask_rec *masks;     /* malloc'd: public draw numbers and shapes */
    size_t nmasks, capmasks;
    mimir_r128 alpha[3]; /* alpha_0, alpha_1, alpha_2 */
    uint64_t draw;       /* the next draw number */
    uint64_t counts[MIMIR_PREP_KINDS];
    int party, macs;
    mimir_prep prep;
};

/* Where shared components go: sv[q] receives party q's share, or nothing if NULL. */
typedef struct sink {
    mimir_sv *sv[3];
} sink;

/* Where boolean components go: bv[q] receives party q's share, or nothing if NULL. */
typedef struct bsink {
    mimir_bv *bv[3];
} bsink;

/* Scratch for one chunk: pairs of split words, MACs, pairs of MAC split words. */
typedef struct scratch {
    mimir_r128 *split, *mac, *msplit;
    void *mem;
} scratch;

static int scratch_new(scratch *s, mimir_err *err)
{
    s->mem = mimir_secret_alloc((size_t)5 * CHUNK * WORD_BYTES);
    if (s->mem == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    s->split = s->mem;
    s->mac = s->split + 2 * CHUNK;
    s->msplit = s->mac + CHUNK;
    return MIMIR_OK;
}

static void scratch_free(scratch *s)
{
    mimir_secret_free(s->mem);
    memset(s, 0, sizeof *s);
}

/* Little-endian words in place (a no-op on little-endian machines). */
static void words_le(mimir_r128 *w, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n; i++) {
        uint8_t b[WORD_BYTES];
        memcpy(b, &w[i], WORD_BYTES);
        mimir_r128 x = 0;
        for (int k = WORD_BYTES - 1; k >= 0; k--)
            x = (x << 8) | b[k];
        w[i] = x;
    }
#else
    (void)w;
    (void)n;
#endif
}

/* Keystream bytes [16 first, 16 (first + n)) of draw number `draw` into out (16 n bytes). The
 * context was keyed at mimir_dealer_new, so setting the counter block and encrypting allocate
 * nothing and cannot fail short of a broken OpenSSL; this void helper then stops the process
 * rather than hand out a non-random item. */
static void keystream(const mimir_dealer *d, uint64_t draw, size_t first, uint8_t *out,
                      size_t n)
{
    uint8_t iv[WORD_BYTES];
    for (int k = 0; k < 8; k++) {
        iv[7 - k] = (uint8_t)(draw >> (8 * k));
        iv[15 - k] = (uint8_t)((uint64_t)first >> (8 * k));
    }
    int ok = EVP_EncryptInit_ex2(d->aes, NULL, NULL, iv, NULL) == 1;
    memset(out, 0, n * WORD_BYTES);
    for (size_t done = 0; ok && done < n; done += UPDATE_WORDS) {
        size_t k = n - done < UPDATE_WORDS ? n - done : UPDATE_WORDS;
        int outl = 0;
        uint8_t *p = out + done * WORD_BYTES;
        ok = EVP_EncryptUpdate(d->aes, p, &outl, p, (int)(k * WORD_BYTES)) == 1 &&
             (size_t)outl == k * WORD_BYTES;
    }
    if (!ok)
        abort();
}

/* Words [first, first + n) of draw number `draw`. */
static void stream_words(const mimir_dealer *d, uint64_t draw, size_t first, mimir_r128 *out,
                         size_t n)
{
    keystream(d, draw, first, (uint8_t *)out, n);
    words_le(out, n);
}

/* Uniform values: elements [0, n) of the value draw `draw` into v. */
static void draw_values(const mimir_dealer *d, uint64_t draw, mimir_r128 *v, size_t n)
{
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        stream_words(d, draw, i0, v + i0, len);
    }
}

/* Splits words w (len of them, element i0.. of the vector) into components with the pairs in
 * `pairs` (v0, v1 interleaved) and stores each wanted party's two components at offset i0 of
 * dst[q][0], dst[q][1]. */
static void split_into(const mimir_r128 *w, const mimir_r128 *pairs, size_t i0, size_t len,
                       mimir_r128 *const dst[3][2])
{
    for (size_t i = 0; i < len; i++) {
        mimir_r128 c[3];
        c[0] = pairs[2 * i];
        c[1] = pairs[2 * i + 1];
        c[2] = w[i] - c[0] - c[1];
        for (int q = 0; q < 3; q++)
            if (dst[q][0] != NULL) {
                dst[q][0][i0 + i] = c[q];
                dst[q][1][i0 + i] = c[(q + 1) % 3];
            }
        if (i + 1 == len)
            mimir_wipe(c, sizeof c);
    }
}

/* Shares the vector's elements [i0, i0 + len) with values v (len words) into the sink, drawing
 * the splits from draws `dsplit` (values) and `dmac` (MACs). */
static void share_chunk(const mimir_dealer *d, const mimir_r128 *v, size_t i0, size_t len,
                        uint64_t dsplit, uint64_t dmac, const sink *out, scratch *s)
{
    mimir_r128 *dst[3][2];
    for (int q = 0; q < 3; q++) {
        dst[q][0] = out->sv[q] ? out->sv[q]->x[0] : NULL;
        dst[q][1] = out->sv[q] ? out->sv[q]->x[1] : NULL;
    }
    stream_words(d, dsplit, 2 * i0, s->split, 2 * len);
    split_into(v, s->split, i0, len, dst);
    if (!d->macs)
        return;
    mimir_r128 alpha = d->alpha[0] + d->alpha[1] + d->alpha[2];
    for (size_t i = 0; i < len; i++)
        s->mac[i] = alpha * v[i];
    mimir_wipe(&alpha, sizeof alpha);
    for (int q = 0; q < 3; q++) {
        dst[q][0] = out->sv[q] ? out->sv[q]->m[0] : NULL;
        dst[q][1] = out->sv[q] ? out->sv[q]->m[1] : NULL;
    }
    stream_words(d, dmac, 2 * i0, s->msplit, 2 * len);
    split_into(s->mac, s->msplit, i0, len, dst);
}

/* Shares a whole vector v (n words). */
static void share_vector(const mimir_dealer *d, const mimir_r128 *v, size_t n, uint64_t dsplit,
                         uint64_t dmac, const sink *out, scratch *s)
{
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        share_chunk(d, v + i0, i0, len, dsplit, dmac, out, s);
    }
}

/* Allocates the wanted parties' vectors of one kind (k vectors, sizes n[0..k)). On failure
 * frees what it allocated. */
static int alloc_sinks(const mimir_dealer *d, sink *sk, size_t k, const size_t *n, mimir_err *err)
{
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++) {
            if (sk[j].sv[q] == NULL)
                continue;
            memset(sk[j].sv[q], 0, sizeof *sk[j].sv[q]);
        }
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++) {
            if (sk[j].sv[q] == NULL)
                continue;
            int rc = mimir_sv_alloc(sk[j].sv[q], n[j], d->macs, err);
            if (rc != MIMIR_OK) {
                for (size_t jj = 0; jj < k; jj++)
                    for (int qq = 0; qq < 3; qq++)
                        if (sk[jj].sv[qq] != NULL)
                            mimir_sv_free(sk[jj].sv[qq]);
                return rc;
            }
        }
    return MIMIR_OK;
}

static void free_sinks(sink *sk, size_t k)
{
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++)
            if (sk[j].sv[q] != NULL)
                mimir_sv_free(sk[j].sv[q]);
}

static int check_n(size_t n, const char *field, mimir_err *err)
{
    if (n > MAX_ELEMENTS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                             "%zu elements in one item, expected at most 2^32", n);
    return MIMIR_OK;
}

/* --- The three item kinds, into sinks ----------------------------------------------------- */

static int deal_triples(mimir_dealer *d, size_t n, sink sk[3], mimir_err *err)
{
    int rc = check_n(n, "triples", err);
    size_t sizes[3] = {n, n, n};
    if (rc == MIMIR_OK)
        rc = alloc_sinks(d, sk, 3, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    scratch s;
    mimir_r128 *abc = mimir_secret_alloc((size_t)3 * CHUNK * WORD_BYTES);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && abc == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(abc);
        scratch_free(&s);
        free_sinks(sk, 3);
        return rc;
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_TRIPLE;
    mimir_r128 *a = abc, *b = abc + CHUNK, *c = abc + 2 * CHUNK;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        stream_words(d, b0 + 0, i0, a, len);
        stream_words(d, b0 + 1, i0, b, len);
        mimir_r128_mul(c, a, b, len);
        share_chunk(d, a, i0, len, b0 + 2, b0 + 3, &sk[0], &s);
        share_chunk(d, b, i0, len, b0 + 4, b0 + 5, &sk[1], &s);
        share_chunk(d, c, i0, len, b0 + 6, b0 + 7, &sk[2], &s);
    }
    mimir_secret_free(abc);
    scratch_free(&s);
    d->counts[MIMIR_PREP_TRIPLE - 1] += n;
    return MIMIR_OK;
}

static int deal_matrix(mimir_dealer *d, size_t rows, size_t inner, size_t cols, sink sk[3],
                       mimir_err *err)
{
    size_t sizes[3], bytes[3], total;
    if (mimir_size_mul(rows, inner, &sizes[0]) != 0 ||
        mimir_size_mul(inner, cols, &sizes[1]) != 0 ||
        mimir_size_mul(rows, cols, &sizes[2]) != 0 || sizes[0] > MAX_ELEMENTS ||
        sizes[1] > MAX_ELEMENTS || sizes[2] > MAX_ELEMENTS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matrix",
                             "shape %zux%zux%zu too large, expected at most 2^32 elements per "
                             "matrix", rows, inner, cols);
    for (int j = 0; j < 3; j++)
        bytes[j] = sizes[j] * WORD_BYTES;
    total = bytes[0] + bytes[1] + bytes[2];
    int rc = alloc_sinks(d, sk, 3, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    scratch s;
    mimir_r128 *abc = mimir_secret_alloc(total ? total : 1);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && abc == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(abc);
        scratch_free(&s);
        free_sinks(sk, 3);
        return rc;
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_MATRIX;
    mimir_r128 *A = abc, *B = A + sizes[0], *C = B + sizes[1];
    draw_values(d, b0 + 0, A, sizes[0]);
    draw_values(d, b0 + 1, B, sizes[1]);
    if (sizes[2] > 0)
        mimir_r128_matmul(C, A, B, rows, inner, cols);
    share_vector(d, A, sizes[0], b0 + 2, b0 + 3, &sk[0], &s);
    share_vector(d, B, sizes[1], b0 + 4, b0 + 5, &sk[1], &s);
    share_vector(d, C, sizes[2], b0 + 6, b0 + 7, &sk[2], &s);
    mimir_secret_free(abc);
    scratch_free(&s);
    d->counts[MIMIR_PREP_MATRIX - 1] += sizes[0] + sizes[1] + sizes[2];
    return MIMIR_OK;
}

static int deal_trunc(mimir_dealer *d, size_t n, unsigned f, sink sk[3], mimir_err *err)
{
    if (f < 1 || f > TRUNC_F_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "f",
                             "truncation by %u bits, expected 1..%d", f, TRUNC_F_MAX);
    int rc = check_n(n, "trunc", err);
    size_t sizes[3] = {n, n, n};
    if (rc == MIMIR_OK)
        rc = alloc_sinks(d, sk, 3, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    scratch s;
    mimir_r128 *buf = mimir_secret_alloc((size_t)3 * CHUNK * WORD_BYTES);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && buf == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(buf);
        scratch_free(&s);
        free_sinks(sk, 3);
        return rc;
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_TRUNC;
    mimir_r128 *r = buf, *hi = buf + CHUNK, *b63 = buf + 2 * CHUNK;
    const uint64_t low63 = ((uint64_t)1 << 63) - 1;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        stream_words(d, b0 + 0, i0, r, len);
        for (size_t i = 0; i < len; i++) {
            uint64_t r64 = (uint64_t)r[i];
            hi[i] = (mimir_r128)((r64 & low63) >> f);
            b63[i] = (mimir_r128)(r64 >> 63);
        }
        share_chunk(d, r, i0, len, b0 + 1, b0 + 2, &sk[0], &s);
        share_chunk(d, hi, i0, len, b0 + 3, b0 + 4, &sk[1], &s);
        share_chunk(d, b63, i0, len, b0 + 5, b0 + 6, &sk[2], &s);
    }
    mimir_secret_free(buf);
    scratch_free(&s);
    d->counts[MIMIR_PREP_TRUNC - 1] += n;
    return MIMIR_OK;
}

/* n edaBits: r uniform in Z_2^128 and its 64 low bits as 0/1 values; bit b of item i is element
 * i * 64 + b of the bits vector (a vector of 64 n elements shared like any other). */
static int deal_edabits(mimir_dealer *d, size_t n, sink sk[2], mimir_err *err)
{
    int rc = check_n(n, "edabits", err);
    if (rc == MIMIR_OK && n > MAX_ELEMENTS / EDA_BITS)
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, "edabits",
                           "%zu edaBits in one item, expected at most 2^26", n);
    size_t sizes[2] = {n, n * EDA_BITS};
    if (rc == MIMIR_OK)
        rc = alloc_sinks(d, sk, 2, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    scratch s;
    mimir_r128 *buf = mimir_secret_alloc((size_t)(EDA_CHUNK + CHUNK) * WORD_BYTES);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && buf == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(buf);
        scratch_free(&s);
        free_sinks(sk, 2);
        return rc;
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_EDABIT;
    mimir_r128 *r = buf, *bits = buf + EDA_CHUNK;
    for (size_t i0 = 0; i0 < n; i0 += EDA_CHUNK) {
        size_t len = n - i0 < EDA_CHUNK ? n - i0 : EDA_CHUNK;
        stream_words(d, b0 + 0, i0, r, len);
        for (size_t i = 0; i < len; i++) {
            uint64_t r64 = (uint64_t)r[i];
            for (unsigned b = 0; b < EDA_BITS; b++)
                bits[i * EDA_BITS + b] = (mimir_r128)((r64 >> b) & 1);
        }
        share_chunk(d, r, i0, len, b0 + 1, b0 + 2, &sk[0], &s);
        share_chunk(d, bits, i0 * EDA_BITS, len * EDA_BITS, b0 + 3, b0 + 4, &sk[1], &s);
    }
    mimir_secret_free(buf);
    scratch_free(&s);
    d->counts[MIMIR_PREP_EDABIT - 1] += n;
    return MIMIR_OK;
}

/* --- Boolean items: boolean triples and comparison masks ---------------------------------- */

/* XOR-splits words w[0, len) (words i0.. of the vector) with the split draw's 128-bit words
 * `pairs` (w0 = low half, w1 = high half, both ANDed with keep: ~0 for whole words, 1 for a
 * vector of single bits whose other bits must stay zero) into the wanted parties' bv's. */
static void xsplit_into(const uint64_t *w, const mimir_r128 *pairs, size_t i0, size_t len,
                        uint64_t keep, const bsink *out)
{
    uint64_t c[3];
    for (size_t i = 0; i < len; i++) {
        c[0] = (uint64_t)pairs[i] & keep;
        c[1] = (uint64_t)(pairs[i] >> 64) & keep;
        c[2] = w[i] ^ c[0] ^ c[1];
        for (int q = 0; q < 3; q++)
            if (out->bv[q] != NULL) {
                out->bv[q]->x[0][i0 + i] = c[q];
                out->bv[q]->x[1][i0 + i] = c[(q + 1) % 3];
            }
    }
    mimir_wipe(c, sizeof c);
}

/* Shares words w[0, len) (words i0.. of the vector) into the bsink from split draw `dsplit`;
 * split: len words of scratch. */
static void xshare_chunk(const mimir_dealer *d, const uint64_t *w, size_t i0, size_t len,
                         uint64_t dsplit, uint64_t keep, const bsink *out, mimir_r128 *split)
{
    stream_words(d, dsplit, i0, split, len);
    xsplit_into(w, split, i0, len, keep, out);
}

/* Allocates the wanted parties' boolean vectors (k of them, n words each). On failure frees
 * what it allocated. */
static int alloc_bsinks(bsink *bk, size_t k, size_t n, mimir_err *err)
{
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++)
            if (bk[j].bv[q] != NULL)
                memset(bk[j].bv[q], 0, sizeof *bk[j].bv[q]);
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++) {
            if (bk[j].bv[q] == NULL)
                continue;
            int rc = mimir_bv_alloc(bk[j].bv[q], n, err);
            if (rc != MIMIR_OK) {
                for (size_t jj = 0; jj < k; jj++)
                    for (int qq = 0; qq < 3; qq++)
                        if (bk[jj].bv[qq] != NULL)
                            mimir_bv_free(bk[jj].bv[qq]);
                return rc;
            }
        }
    return MIMIR_OK;
}

static void free_bsinks(bsink *bk, size_t k)
{
    for (size_t j = 0; j < k; j++)
        for (int q = 0; q < 3; q++)
            if (bk[j].bv[q] != NULL)
                mimir_bv_free(bk[j].bv[q]);
}

/* n words of boolean triples: word i of the value draw b holds a[i] (low 64 bits) and b[i]
 * (high 64 bits); c = a AND b; XOR splits of a, b, c from draws b+1, b+2, b+3. */
static int deal_btriples(mimir_dealer *d, size_t n, bsink bk[3], mimir_err *err)
{
    int rc = check_n(n, "btriples", err);
    if (rc == MIMIR_OK)
        rc = alloc_bsinks(bk, 3, n, err);
    if (rc != MIMIR_OK)
        return rc;
    /* CHUNK value words, CHUNK split words, then a, b, c (CHUNK u64 each) */
    size_t bytes = (size_t)2 * CHUNK * WORD_BYTES + (size_t)3 * CHUNK * sizeof(uint64_t);
    mimir_r128 *buf = mimir_secret_alloc(bytes);
    if (buf == NULL) {
        free_bsinks(bk, 3);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_BTRIPLE;
    mimir_r128 *v = buf, *split = buf + CHUNK;
    uint64_t *a = (uint64_t *)(buf + 2 * CHUNK), *b = a + CHUNK, *c = b + CHUNK;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        stream_words(d, b0 + 0, i0, v, len);
        for (size_t i = 0; i < len; i++) {
            a[i] = (uint64_t)v[i];
            b[i] = (uint64_t)(v[i] >> 64);
            c[i] = a[i] & b[i];
        }
        xshare_chunk(d, a, i0, len, b0 + 1, UINT64_MAX, &bk[0], split);
        xshare_chunk(d, b, i0, len, b0 + 2, UINT64_MAX, &bk[1], split);
        xshare_chunk(d, c, i0, len, b0 + 3, UINT64_MAX, &bk[2], split);
    }
    mimir_secret_free(buf);
    d->counts[MIMIR_PREP_BTRIPLE - 1] += n;
    return MIMIR_OK;
}

/* n comparison masks: r uniform in Z_2^128 (value draw b), d = bit 0 of word i of draw b+1;
 * r (b+2, b+3); rb = r mod 2^64 XOR-split (b+4); d (b+5, b+6); db = d XOR-split in bit 0
 * only (b+7). sk: r, d; bk: rb, db. */
static int deal_cmasks(mimir_dealer *d, size_t n, sink sk[2], bsink bk[2], mimir_err *err)
{
    int rc = check_n(n, "cmasks", err);
    size_t sizes[2] = {n, n};
    if (rc == MIMIR_OK)
        rc = alloc_sinks(d, sk, 2, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    rc = alloc_bsinks(bk, 2, n, err);
    if (rc != MIMIR_OK) {
        free_sinks(sk, 2);
        return rc;
    }
    scratch s;
    /* r and d values (CHUNK words each), then r mod 2^64 and d as words (CHUNK u64 each) */
    size_t bytes = (size_t)2 * CHUNK * WORD_BYTES + (size_t)2 * CHUNK * sizeof(uint64_t);
    mimir_r128 *buf = mimir_secret_alloc(bytes);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && buf == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(buf);
        scratch_free(&s);
        free_sinks(sk, 2);
        free_bsinks(bk, 2);
        return rc;
    }
    uint64_t b0 = d->draw;
    d->draw += DRAWS_CMASK;
    mimir_r128 *r = buf, *dv = buf + CHUNK;
    uint64_t *r64 = (uint64_t *)(buf + 2 * CHUNK), *d64 = r64 + CHUNK;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        size_t len = n - i0 < CHUNK ? n - i0 : CHUNK;
        stream_words(d, b0 + 0, i0, r, len);
        stream_words(d, b0 + 1, i0, dv, len);
        for (size_t i = 0; i < len; i++) {
            r64[i] = (uint64_t)r[i];
            d64[i] = (uint64_t)dv[i] & 1;
            dv[i] = (mimir_r128)d64[i];
        }
        share_chunk(d, r, i0, len, b0 + 2, b0 + 3, &sk[0], &s);
        xshare_chunk(d, r64, i0, len, b0 + 4, UINT64_MAX, &bk[0], s.split);
        share_chunk(d, dv, i0, len, b0 + 5, b0 + 6, &sk[1], &s);
        xshare_chunk(d, d64, i0, len, b0 + 7, 1, &bk[1], s.split);
    }
    mimir_secret_free(buf);
    scratch_free(&s);
    d->counts[MIMIR_PREP_CMASK - 1] += n;
    return MIMIR_OK;
}

/* --- Weight masks and their pairs ---------------------------------------------------------- */

/* The five seeds of a mask (value components 0, 1, 2, then MAC components 1, 2: keystream
 * bytes [0, 160) of its draw) and its public id (the little-endian u64 at bytes [160, 168)).
 * The id is drawn, not counted, so that masks of different deal runs (different seeds) have
 * different ids and a pool holding both keeps every pair bound to its own mask; it is
 * independent of the seeds (another part of the AES-CTR keystream), so it reveals nothing. */
static void mask_seeds(const mimir_dealer *d, uint64_t draw, uint8_t seeds[MASK_SEEDS][SEEDB],
                       uint64_t *id)
{
    uint8_t buf[11 * WORD_BYTES]; /* bytes [0, 176): the 168 used, rounded up to a block */
    keystream(d, draw, 0, buf, sizeof buf / WORD_BYTES);
    memcpy(seeds, buf, MASK_SEEDS * SEEDB);
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | buf[MASK_SEEDS * SEEDB + k];
    if (id != NULL)
        *id = v;
    mimir_wipe(buf, sizeof buf);
}

/* The record of the mask with this id and shape, or NULL. */
static const mask_rec *find_mask(const mimir_dealer *d, const mimir_wmask *mask)
{
    for (size_t i = 0; mask != NULL && i < d->nmasks; i++)
        if (d->masks[i].id == mask->id && d->masks[i].inner == mask->inner &&
            d->masks[i].cols == mask->cols)
            return &d->masks[i];
    return NULL;
}

/* A seeded component view over one seed (for mimir_wmask_words). */
static void seeded(mimir_wmask *m, int q, const uint8_t seed[SEEDB])
{
    memcpy(m->seed[q], seed, SEEDB);
    m->expl[q] = NULL;
}

/* B's value words [off, off + n) = the sum of its three seeded components; tmp: n words. */
static void mask_values(const uint8_t seeds[MASK_SEEDS][SEEDB], size_t off, size_t n,
                        mimir_r128 *out, mimir_r128 *tmp)
{
    mimir_wmask m;
    memset(&m, 0, sizeof m);
    m.macs = 0;
    for (int j = 0; j < 3; j++) {
        seeded(&m, 0, seeds[j]);
        mimir_wmask_words(&m, 0, off, n, j == 0 ? out : tmp);
        if (j > 0)
            mimir_r128_add(out, out, tmp, n);
    }
    mimir_wipe(&m, sizeof m);
}

/* Party p's mask from the seeds: x[0], x[1] seeded (components p, p+1); MAC components 1, 2
 * seeded and 0 explicit (expl0, shared by parties 0 and 2: each gets its own copy). */
static int mask_for(const mimir_dealer *d, int p, uint64_t id, size_t inner, size_t cols,
                    const uint8_t seeds[MASK_SEEDS][SEEDB], const mimir_r128 *expl0,
                    mimir_wmask *out, mimir_err *err)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    out->inner = inner;
    out->cols = cols;
    out->macs = d->macs;
    seeded(out, 0, seeds[p]);
    seeded(out, 1, seeds[(p + 1) % 3]);
    if (!d->macs)
        return MIMIR_OK;
    for (int k = 0; k < 2; k++) {
        int j = (p + k) % 3; /* the MAC component in slot 2 + k */
        if (j != 0) {
            seeded(out, 2 + k, seeds[3 + j - 1]);
            continue;
        }
        size_t bytes = inner * cols * WORD_BYTES;
        if ((out->expl[2 + k] = mimir_secret_alloc(bytes ? bytes : 1)) == NULL) {
            mimir_wmask_free(out);
            return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
        }
        memcpy(out->expl[2 + k], expl0, bytes);
    }
    return MIMIR_OK;
}

/* Deals one mask of inner x cols to the parties whose out[p] is not NULL. */
static int deal_wmask(mimir_dealer *d, size_t inner, size_t cols, mimir_wmask *out[3],
                      mimir_err *err)
{
    size_t n;
    if (inner == 0 || cols == 0 || mimir_size_mul(inner, cols, &n) != 0 || n > MAX_ELEMENTS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wmask",
                             "shape %zux%zu, expected 1 to 2^32 elements", inner, cols);
    if (d->nmasks == d->capmasks) {
        size_t c = d->capmasks ? 2 * d->capmasks : MIN_MASKS;
        mask_rec *m = realloc(d->masks, c * sizeof *m);
        if (m == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
        d->masks = m;
        d->capmasks = c;
    }
    uint64_t draw = d->draw, id;
    uint8_t seeds[MASK_SEEDS][SEEDB];
    mask_seeds(d, draw, seeds, &id);
    mimir_r128 *expl0 = NULL, *tmp = NULL, *blk = NULL;
    int rc = MIMIR_OK;
    int need0 = d->macs && (out[0] != NULL || out[2] != NULL);
    if (need0) {
        expl0 = mimir_secret_alloc(n * WORD_BYTES);
        tmp = mimir_secret_alloc(MASK_BLOCK * WORD_BYTES);
        blk = mimir_secret_alloc(MASK_BLOCK * WORD_BYTES);
        if (expl0 == NULL || tmp == NULL || blk == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    }
    if (rc == MIMIR_OK && need0) {
        /* m_0 = alpha B - m_1 - m_2 */
        mimir_r128 alpha = d->alpha[0] + d->alpha[1] + d->alpha[2];
        mimir_wmask m;
        memset(&m, 0, sizeof m);
        for (size_t i0 = 0; i0 < n; i0 += MASK_BLOCK) {
            size_t len = n - i0 < MASK_BLOCK ? n - i0 : MASK_BLOCK;
            mask_values(seeds, i0, len, blk, tmp);
            mimir_r128 *e = expl0 + i0;
            for (size_t i = 0; i < len; i++)
                e[i] = alpha * blk[i];
            for (int j = 1; j < 3; j++) {
                seeded(&m, 0, seeds[3 + j - 1]);
                mimir_wmask_words(&m, 0, i0, len, tmp);
                mimir_r128_sub(e, e, tmp, len);
            }
        }
        mimir_wipe(&m, sizeof m);
        mimir_wipe(&alpha, sizeof alpha);
    }
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
        if (out[p] != NULL && (rc = mask_for(d, p, id, inner, cols, seeds, expl0, out[p], err)) != MIMIR_OK)
            for (int q = 0; q < p; q++)
                mimir_wmask_free(out[q]);
    mimir_wipe(seeds, sizeof seeds);
    mimir_secret_free(expl0);
    mimir_secret_free(tmp);
    mimir_secret_free(blk);
    if (rc != MIMIR_OK)
        return rc;
    d->masks[d->nmasks++] = (mask_rec){draw, id, inner, cols};
    d->draw += DRAWS_WMASK;
    d->counts[MIMIR_PREP_WMASK - 1] += n;
    return MIMIR_OK;
}

/* Deals one pair bound to the mask id: A uniform, C = A B (or A B^T), into sinks sk[0] (A) and
 * sk[1] (C). B is regenerated from the mask's seeds block by block. */
static int deal_wpair(mimir_dealer *d, const mimir_wmask *mask, size_t rows, int transposed,
                      sink sk[2], mimir_err *err)
{
    const mask_rec *mr = find_mask(d, mask);
    if (mr == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair",
                             "not a mask this dealer dealt (id or shape), expected one");
    size_t inner = mr->inner, cols = mr->cols;
    size_t ain = transposed ? cols : inner, cout = transposed ? inner : cols, na, nc;
    if (rows == 0 || mimir_size_mul(rows, ain, &na) != 0 || na > MAX_ELEMENTS ||
        mimir_size_mul(rows, cout, &nc) != 0 || nc > MAX_ELEMENTS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "wpair",
                             "%zu rows against a %zux%zu mask, expected 1 to 2^32 elements",
                             rows, inner, cols);
    size_t sizes[2] = {na, nc};
    int rc = alloc_sinks(d, sk, 2, sizes, err);
    if (rc != MIMIR_OK)
        return rc;
    size_t rb = MASK_BLOCK / cols ? MASK_BLOCK / cols : 1; /* mask rows per block */
    scratch s;
    mimir_r128 *A = mimir_secret_alloc((na + nc) * WORD_BYTES), *C = A ? A + na : NULL;
    mimir_r128 *blk = mimir_secret_alloc(rb * cols * WORD_BYTES);
    mimir_r128 *tmp = mimir_secret_alloc(rb * cols * WORD_BYTES);
    rc = scratch_new(&s, err);
    if (rc == MIMIR_OK && (A == NULL || blk == NULL || tmp == NULL))
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    if (rc != MIMIR_OK) {
        mimir_secret_free(A);
        mimir_secret_free(blk);
        mimir_secret_free(tmp);
        scratch_free(&s);
        free_sinks(sk, 2);
        return rc;
    }
    uint8_t seeds[MASK_SEEDS][SEEDB];
    mask_seeds(d, mr->draw, seeds, NULL);
    uint64_t b0 = d->draw;
    d->draw += DRAWS_WPAIR;
    draw_values(d, b0, A, na);
    for (size_t i0 = 0; i0 < inner; i0 += rb) { /* mask rows [i0, i0 + k) */
        size_t k = inner - i0 < rb ? inner - i0 : rb;
        mask_values(seeds, i0 * cols, k * cols, blk, tmp);
        for (size_t r = 0; r < rows; r++)
            for (size_t i = 0; i < k; i++) {
                const mimir_r128 *brow = blk + i * cols;
                if (!transposed) { /* C[r][:] += A[r][i0 + i] B[i0 + i][:] */
                    mimir_r128 a = A[r * inner + i0 + i], *c = C + r * cols;
                    for (size_t j = 0; j < cols; j++)
                        c[j] += a * brow[j];
                } else { /* C[r][i0 + i] = A[r][:] . B[i0 + i][:] */
                    const mimir_r128 *a = A + r * cols;
                    mimir_r128 acc = 0;
                    for (size_t j = 0; j < cols; j++)
                        acc += a[j] * brow[j];
                    C[r * inner + i0 + i] = acc;
                }
            }
    }
    share_vector(d, A, na, b0 + 1, b0 + 2, &sk[0], &s);
    share_vector(d, C, nc, b0 + 3, b0 + 4, &sk[1], &s);
    mimir_wipe(seeds, sizeof seeds);
    mimir_secret_free(A);
    mimir_secret_free(blk);
    mimir_secret_free(tmp);
    scratch_free(&s);
    d->counts[MIMIR_PREP_WPAIR - 1] += na + nc;
    return MIMIR_OK;
}

/* --- The prep source: this party's share only -------------------------------------------- */

static void party_sinks(const mimir_dealer *d, sink sk[3], mimir_sv *x, mimir_sv *y,
                        mimir_sv *z)
{
    memset(sk, 0, 3 * sizeof *sk);
    sk[0].sv[d->party] = x;
    sk[1].sv[d->party] = y;
    sk[2].sv[d->party] = z;
}

static int op_triples(void *ctx, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                      mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    party_sinks(d, sk, a, b, c);
    return deal_triples(d, n, sk, err);
}

static int op_matrix(void *ctx, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                     mimir_sv *b, mimir_sv *c, mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    party_sinks(d, sk, a, b, c);
    return deal_matrix(d, rows, inner, cols, sk, err);
}

static int op_trunc(void *ctx, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi,
                    mimir_sv *r_63, mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    party_sinks(d, sk, r, r_hi, r_63);
    return deal_trunc(d, n, f, sk, err);
}

static int op_edabits(void *ctx, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    party_sinks(d, sk, r, bits, NULL);
    return deal_edabits(d, n, sk, err);
}

static int op_wmask(void *ctx, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err)
{
    mimir_dealer *d = ctx;
    mimir_wmask *o[3] = {NULL, NULL, NULL};
    o[d->party] = out;
    return deal_wmask(d, inner, cols, o, err);
}

static int op_wpair(void *ctx, const mimir_wmask *mask, size_t rows, int transposed,
                    mimir_sv *a, mimir_sv *c, mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    party_sinks(d, sk, a, c, NULL);
    return deal_wpair(d, mask, rows, transposed, sk, err);
}

static int op_btriples(void *ctx, size_t n, mimir_bv *a, mimir_bv *b, mimir_bv *c,
                       mimir_err *err)
{
    mimir_dealer *d = ctx;
    bsink bk[3];
    memset(bk, 0, sizeof bk);
    bk[0].bv[d->party] = a;
    bk[1].bv[d->party] = b;
    bk[2].bv[d->party] = c;
    return deal_btriples(d, n, bk, err);
}

static int op_cmasks(void *ctx, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *dd,
                     mimir_bv *db, mimir_err *err)
{
    mimir_dealer *d = ctx;
    sink sk[3];
    bsink bk[2];
    party_sinks(d, sk, r, dd, NULL);
    memset(bk, 0, sizeof bk);
    bk[0].bv[d->party] = rb;
    bk[1].bv[d->party] = db;
    return deal_cmasks(d, n, sk, bk, err);
}

static const mimir_prep_ops dealer_ops = {
    .triples = op_triples,
    .matrix = op_matrix,
    .trunc = op_trunc,
    .edabits = op_edabits,
    .wmask = op_wmask,
    .wpair = op_wpair,
    .btriples = op_btriples,
    .cmasks = op_cmasks,
};

/* --- Public API ---------------------------------------------------------------------------- */

int mimir_dealer_new(const uint8_t seed[MIMIR_DEALER_SEED_BYTES], int party, int macs,
                     mimir_dealer **out, mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (seed == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "seed", "no seed or output given");
    if (party < 0 || party > 2)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "party", "party %d, expected 0, 1 or 2",
                             party);
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "libsodium failed to start");
    mimir_dealer *d = mimir_key_alloc(sizeof *d);
    if (d == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "out of memory");
    memset(d, 0, sizeof *d);
    mimir_drbg drbg;
    int rc = mimir_drbg_from_seed(&drbg, seed, MIMIR_DEALER_SEED_BYTES, MIMIR_DEALER_LABEL);
    if (rc == MIMIR_OK)
        rc = mimir_drbg_generate(&drbg, d->key, KEY_BYTES, NULL, 0);
    mimir_drbg_wipe(&drbg);
    if (rc != MIMIR_OK) {
        mimir_dealer_free(d);
        return mimir_err_set(err, rc, NULL, "dealer", "the seed DRBG failed");
    }
    static const uint8_t zero_iv[WORD_BYTES] = {0};
    EVP_CIPHER *aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
    d->aes = EVP_CIPHER_CTX_new();
    rc = aes != NULL && d->aes != NULL && EVP_EncryptInit_ex2(d->aes, aes, d->key, zero_iv, NULL);
    EVP_CIPHER_free(aes); /* the context keeps its own reference */
    if (!rc) {
        mimir_dealer_free(d);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "dealer", "cannot set up AES-256-CTR");
    }
    d->party = party;
    d->macs = macs != 0;
    mimir_r128 w[2];
    stream_words(d, DRAW_ALPHA_VALUE, 0, w, 1);
    mimir_r128 alpha = w[0];
    stream_words(d, DRAW_ALPHA_SPLIT, 0, w, 2);
    d->alpha[0] = w[0];
    d->alpha[1] = w[1];
    d->alpha[2] = alpha - w[0] - w[1];
    mimir_wipe(w, sizeof w);
    mimir_wipe(&alpha, sizeof alpha);
    d->draw = DRAW_FIRST_ITEM;
    d->prep.ops = &dealer_ops;
    d->prep.ctx = d;
    *out = d;
    return MIMIR_OK;
}

void mimir_dealer_free(mimir_dealer *d)
{
    if (d == NULL)
        return;
    free(d->masks);
    EVP_CIPHER_CTX_free(d->aes); /* cleanses the key schedule */
    mimir_wipe(d, sizeof *d);
    mimir_key_free(d);
}

void mimir_dealer_alpha(const mimir_dealer *d, mimir_r128 alpha[2])
{
    alpha[0] = d->alpha[d->party];
    alpha[1] = d->alpha[(d->party + 1) % 3];
}

void mimir_dealer_alpha3(const mimir_dealer *d, mimir_r128 alpha3[3][2])
{
    for (int q = 0; q < 3; q++) {
        alpha3[q][0] = d->alpha[q];
        alpha3[q][1] = d->alpha[(q + 1) % 3];
    }
}

mimir_prep *mimir_dealer_prep(mimir_dealer *d)
{
    return &d->prep;
}

void mimir_dealer_counts(const mimir_dealer *d, uint64_t counts[MIMIR_PREP_KINDS])
{
    memcpy(counts, d->counts, sizeof d->counts);
}

static void all_sinks(sink sk[3], mimir_sv x[3], mimir_sv y[3], mimir_sv z[3])
{
    for (int q = 0; q < 3; q++) {
        sk[0].sv[q] = &x[q];
        sk[1].sv[q] = &y[q];
        sk[2].sv[q] = &z[q];
    }
}

int mimir_dealer_triples3(mimir_dealer *d, size_t n, mimir_sv a[3], mimir_sv b[3],
                          mimir_sv c[3], mimir_err *err)
{
    sink sk[3];
    all_sinks(sk, a, b, c);
    return deal_triples(d, n, sk, err);
}

int mimir_dealer_matrix3(mimir_dealer *d, size_t rows, size_t inner, size_t cols,
                         mimir_sv a[3], mimir_sv b[3], mimir_sv c[3], mimir_err *err)
{
    sink sk[3];
    all_sinks(sk, a, b, c);
    return deal_matrix(d, rows, inner, cols, sk, err);
}

int mimir_dealer_trunc3(mimir_dealer *d, size_t n, unsigned f, mimir_sv r[3], mimir_sv r_hi[3],
                        mimir_sv r_63[3], mimir_err *err)
{
    sink sk[3];
    all_sinks(sk, r, r_hi, r_63);
    return deal_trunc(d, n, f, sk, err);
}

int mimir_dealer_edabits3(mimir_dealer *d, size_t n, mimir_sv r[3], mimir_sv bits[3],
                          mimir_err *err)
{
    sink sk[3];
    all_sinks(sk, r, bits, r);
    return deal_edabits(d, n, sk, err);
}

int mimir_dealer_wmask3(mimir_dealer *d, size_t inner, size_t cols, mimir_wmask out[3],
                        mimir_err *err)
{
    mimir_wmask *o[3] = {&out[0], &out[1], &out[2]};
    return deal_wmask(d, inner, cols, o, err);
}

int mimir_dealer_wpair3(mimir_dealer *d, const mimir_wmask *mask, size_t rows, int transposed,
                        mimir_sv a[3], mimir_sv c[3], mimir_err *err)
{
    sink sk[3];
    all_sinks(sk, a, c, a);
    return deal_wpair(d, mask, rows, transposed, sk, err);
}

int mimir_dealer_btriples3(mimir_dealer *d, size_t n, mimir_bv a[3], mimir_bv b[3],
                           mimir_bv c[3], mimir_err *err)
{
    bsink bk[3];
    for (int q = 0; q < 3; q++) {
        bk[0].bv[q] = &a[q];
        bk[1].bv[q] = &b[q];
        bk[2].bv[q] = &c[q];
    }
    return deal_btriples(d, n, bk, err);
}

int mimir_dealer_cmasks3(mimir_dealer *d, size_t n, mimir_sv r[3], mimir_bv rb[3],
                         mimir_sv dd[3], mimir_bv db[3], mimir_err *err)
{
    sink sk[3];
    bsink bk[2];
    all_sinks(sk, r, dd, r);
    for (int q = 0; q < 3; q++) {
        bk[0].bv[q] = &rb[q];
        bk[1].bv[q] = &db[q];
    }
    return deal_cmasks(d, n, sk, bk, err);
}

void mimir_dealer_set_binary(mimir_dealer *d, int binary)
{
    d->prep.binary = binary != 0; /* 0 from mimir_dealer_new's memset */
}
