/*
 * spdz.c — the MAC-checked online engine of lib/spdz.h (docs/protocol.md, "The MAC-checked
 * engine, round by round").
 *
 * Sources: SPDZ2k (Cramer, Damgård, Escudero, Scholl, Xing, CRYPTO 2018) for shares and MACs in
 * Z_2^(k+s) and the batched MAC check with coefficients chi in Z_2^s (soundness
 * 2^-(s - log2(s+1))); its replicated form from Dalskov, Escudero, Keller ("SPDZ-wise",
 * PETS 2020, section 3); replicated multiplication with a zero-sharing reshare from Araki,
 * Furukawa, Lindell, Nof, Ohara (CCS 2016); probabilistic truncation from Escudero, Ghosh,
 * Keller, Rachuri, Scholl (CRYPTO 2020, section 5.1) with ABY3's pair (Mohassel, Rindal,
 * CCS 2018).
 *
 * Indices: party i holds components (i, i+1) of every sharing; prev = i-1, next = i+1 (mod 3).
 * Words go on the wire and into hashes as little-endian 16-byte (or 8-byte) words.
 *
 * Constant time: no branch or memory index depends on a share, a MAC, alpha or an opened value
 * (opened values are public anyway); branches depend on the party index, sizes and the public
 * results of checks only.
 */
#include "spdz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "mem.h"
#include "prep.h"
#include "transcript.h"
#include "sha256.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_BE 1
#else
#define HOST_BE 0
#endif

#define W 16                     /* bytes of a 128-bit word */
#define HB 32                    /* SHA-256 digest bytes */
#define COPYB 16                 /* copy-check tag bytes (GMAC) */
#define COPY_KEYB 32             /* copy-check key bytes (AES-256) */
#define SEEDB 32                 /* check coin seed */
#define NONCEB 32                /* commitment nonce */
#define CHI_CHUNK 8192           /* chi words per ChaCha20 call (65536 bytes) */
#define CHI_BLOCKS (CHI_CHUNK * 8 / 64) /* ChaCha20 blocks per chunk */
#define CHI_KEYB crypto_stream_chacha20_ietf_KEYBYTES
#define MIN_PENDING_CAP 4096     /* first allocation of the pending batch */
#define CHECK_OPEN_BYTES (SEEDB + NONCEB + HB) /* round 2: seed, nonce, echo */
#define T_OPEN_BYTES (W + NONCEB)              /* round 4: t_i, nonce */

#define COPY_TAG "mimir-spdz-copy-v1"
#define INPUT_TAG "mimir-spdz-input-copy-v1"
#define SEED_TAG "mimir-spdz-check-seed-v1"
#define NONCE_TAG "mimir-spdz-check-nonce-v1"
#define TNONCE_TAG "mimir-spdz-mac-nonce-v1"
#define COMMIT_TAG "mimir-spdz-check-commit-v1"
#define JOINT_TAG "mimir-spdz-check-v1"
#define TCOMMIT_TAG "mimir-spdz-mac-commit-v1"
#define CHI_LABEL "mac-check"
#define OUTPUT_LABEL "output-rerandomize"

struct mimir_spdz {
    mimir_net *net;
    mimir_coin *coin;
    mimir_prep *prep;
    mimir_transcript *tr;
    int self, prev, next, macs;
    int dead;                  /* first fatal error code (engine refuses to talk after it) */
    int plan;                  /* plan mode (mimir_spdz_new_plan): no net, coin, arithmetic */
    mimir_r128 *alpha;         /* key memory: alpha_i, alpha_{i+1} */
#ifdef MIMIR_TEST_HOOKS
    mimir_spdz_fault fault;
#endif
    uint64_t n_open, n_check, n_input, n_output; /* event counters */
    /* the pending batch: opened values y_j and this party's first MAC component m_ij */
    size_t pending, cap;
    mimir_r128 *py, *pm;
    size_t copy_words;         /* boolean words opened since the last check (copy-checked only) */
    size_t mask_cache;         /* bytes of expanded mask components (MIMIR_SPDZ_MASK_CACHE_BYTES) */
    EVP_MAC *gmac;
    EVP_MAC_CTX *h_copy;       /* GMAC of our second components of every pending open, keyed
                                * with prev (who compares it with what it received) */
    EVP_MAC_CTX *h_recv;       /* GMAC of the components received in every pending open,
                                * keyed with next (who holds the sender's component too) */
    uint8_t *sbuf, *rbuf;      /* secret scratch for messages */
    size_t scap, rcap;
    mimir_r128 *pub;           /* public scratch: opened d, e, c ... */
    size_t pcap;
    uint64_t *chi;             /* CHI_CHUNK coefficients */
    mimir_spdz_stats st;
};

#ifdef MIMIR_TEST_HOOKS
#define MIMIR_SPDZ_FAULT_INPUT_COPY_ MIMIR_SPDZ_FAULT_INPUT_COPY
#define MIMIR_SPDZ_FAULT_INPUT_MAC_ MIMIR_SPDZ_FAULT_INPUT_MAC
#else
#define MIMIR_SPDZ_FAULT_INPUT_COPY_ (-1) /* never matches: release builds have no faults */
#define MIMIR_SPDZ_FAULT_INPUT_MAC_ (-2)
#endif

/* ---- small helpers ------------------------------------------------------------------------ */

static mimir_r128 *arr(const mimir_sv *v, int q)
{
    return q < 2 ? v->x[q] : v->m[q - 2];
}

static int narr(const mimir_spdz *s)
{
    return s->macs ? 4 : 2;
}

/* Whether component x[k] of this party is component 0 (the one public constants go into). */
static int holds0(const mimir_spdz *s, int k)
{
    return (s->self + k) % 3 == 0;
}

static void put32be(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static void put64be(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put128(uint8_t *b, mimir_r128 v)
{
    for (int i = 0; i < W; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static mimir_r128 get128(const uint8_t *b)
{
    mimir_r128 v = 0;
    for (int i = W - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* n words to little-endian bytes (dst may equal src). */
static void enc128(void *dst, const mimir_r128 *src, size_t n)
{
#if HOST_BE
    uint8_t *d = dst;
    for (size_t j = 0; j < n; j++) {
        mimir_r128 v = src[j];
        put128(d + j * W, v);
    }
#else
    if (dst != (const void *)src && n > 0)
        memcpy(dst, src, n * W);
#endif
}

/* Little-endian bytes to n words (dst may equal src). */
static void dec128(mimir_r128 *dst, const void *src, size_t n)
{
#if HOST_BE
    const uint8_t *b = src;
    for (size_t j = 0; j < n; j++) {
        mimir_r128 v = get128(b + j * W);
        dst[j] = v;
    }
#else
    if ((const void *)dst != src && n > 0)
        memcpy(dst, src, n * W);
#endif
}

/* MACs n words as little-endian bytes (the copy check's GMAC). */
static int mac128(EVP_MAC_CTX *h, const mimir_r128 *w, size_t n)
{
#if HOST_BE
    uint8_t buf[64 * W];
    for (size_t off = 0; off < n; off += 64) {
        size_t k = n - off < 64 ? n - off : 64;
        enc128(buf, w + off, k);
        if (EVP_MAC_update(h, buf, k * W) != 1)
            return -1;
    }
    return 0;
#else
    return n == 0 || EVP_MAC_update(h, (const unsigned char *)w, n * W) == 1 ? 0 : -1;
#endif
}

static int hash64(EVP_MD_CTX *h, const mimir_r64 *w, size_t n)
{
#if HOST_BE
    uint8_t buf[512];
    for (size_t off = 0; off < n; off += 64) {
        size_t k = n - off < 64 ? n - off : 64;
        for (size_t j = 0; j < k; j++)
            for (int b = 0; b < 8; b++)
                buf[8 * j + b] = (uint8_t)(w[off + j] >> (8 * b));
        if (EVP_DigestUpdate(h, buf, k * 8) != 1)
            return -1;
    }
    return 0;
#else
    return n == 0 || EVP_DigestUpdate(h, w, n * 8) == 1 ? 0 : -1;
#endif
}

/* New keys for the copy check's next batch of opens (docs/protocol.md, "Opening, and the two
 * checks behind every open"): a fresh AES-256 key for each of the two GMACs, drawn from the
 * pairwise streams. h_copy's key comes from our first component's stream, which only prev
 * shares: prev MACs what it received with the same key. h_recv's key comes from our second
 * component's stream, shared with next only: next MACs its copy of what prev sent us with it.
 * The sender of the component compared (prev for h_recv) never knows the key, so it cannot
 * choose words whose GMAC collides. A key MACs one batch (one message): the IV is fixed. */
static int copy_rekey(mimir_spdz *s, mimir_err *err)
{
    mimir_r128 k[4];
    uint8_t kb[4 * W];
    static const unsigned char iv[12] = {0};
    int rc = mimir_coin_rand_r128(s->coin, k, k + 2, 2, err);
    if (rc != MIMIR_OK)
        return rc;
    enc128(kb, k, 4);
    OSSL_PARAM prm[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-256-GCM", 0),
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, (void *)iv, sizeof iv),
        OSSL_PARAM_construct_end()};
    int ok = EVP_MAC_init(s->h_copy, kb, COPY_KEYB, prm) == 1 &&
             EVP_MAC_init(s->h_recv, kb + COPY_KEYB, COPY_KEYB, prm) == 1 &&
             EVP_MAC_update(s->h_copy, (const unsigned char *)COPY_TAG,
                            sizeof COPY_TAG - 1) == 1 &&
             EVP_MAC_update(s->h_recv, (const unsigned char *)COPY_TAG,
                            sizeof COPY_TAG - 1) == 1;
    sodium_memzero(k, sizeof k);
    sodium_memzero(kb, sizeof kb);
    return ok ? MIMIR_OK
              : mimir_err_set(err, MIMIR_ERUNTIME, NULL, "spdz", "GMAC (AES-256-GCM) failed");
}

static int oom(mimir_err *err, const char *field)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, field, "out of memory");
}

/* Grows a secret scratch buffer to at least n bytes (contents not kept). */
static int grow(uint8_t **buf, size_t *cap, size_t n, mimir_err *err)
{
    if (n <= *cap)
        return MIMIR_OK;
    size_t c = n < 4096 ? 4096 : n;
    uint8_t *p = mimir_secret_alloc(c);
    if (p == NULL)
        return oom(err, "spdz");
    mimir_secret_free(*buf);
    *buf = p;
    *cap = c;
    return MIMIR_OK;
}

static int grow_pub(mimir_spdz *s, size_t words, mimir_err *err)
{
    size_t bytes;
    if (mimir_size_mul(words, W, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many elements (%zu)", words);
    uint8_t *p = (uint8_t *)s->pub;
    int rc = grow(&p, &s->pcap, bytes, err);
    s->pub = (mimir_r128 *)p;
    return rc;
}

/* A shared vector of n elements (with MAC words in malicious mode). */
static int want(const mimir_spdz *s, const mimir_sv *v, size_t n, const char *name,
                mimir_err *err)
{
    if (v == NULL || (!s->plan && (v->x[0] == NULL || v->x[1] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, name, "no shared vector, expected one");
    if (v->n != n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, name, "%zu elements, expected %zu", v->n,
                             n);
    if (s->plan) /* plan mode: a hollow vector (sizes only) is enough, nothing is read */
        return MIMIR_OK;
    if (s->macs && (v->m[0] == NULL || v->m[1] == NULL))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, name,
                             "no MAC words, expected a vector allocated with MACs");
    return MIMIR_OK;
}

static int alive(const mimir_spdz *s, mimir_err *err)
{
    if (s == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "spdz", "no engine, expected one");
    if (s->dead)
        return mimir_err_set(err, s->dead, NULL, "spdz",
                             "the engine stopped after an earlier failure");
    return MIMIR_OK;
}

/* Net and coin errors are fatal for the engine. */
static int fatal(mimir_spdz *s, int rc)
{
    if (rc != MIMIR_OK && rc != MIMIR_EINPUT && !s->dead)
        s->dead = rc;
    return rc;
}

/* A failed check: tell the peers, record, MIMIR_ESECURITY. party < 0: unknown. */
static int fail(mimir_spdz *s, mimir_err *err, int party, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(mimir_spdz *s, mimir_err *err, int party, const char *fmt, ...)
{
    char msg[MIMIR_ERR_MSGBYTES], file[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (party >= 0)
        snprintf(file, sizeof file, "party %d", party);
    mimir_err local;
    mimir_err *e = err != NULL ? err : &local;
    mimir_err_set(e, MIMIR_ESECURITY, party >= 0 ? file : NULL, NULL, "%s", msg);
    mimir_net_abort(s->net, e);
    s->dead = MIMIR_ESECURITY;
    return MIMIR_ESECURITY;
}

static void tr_check(mimir_spdz *s, const char *name, uint64_t count, int ok)
{
    if (s->tr != NULL)
        mimir_transcript_check(s->tr, name, count, ok);
}

/* Plan mode: an open of total elements is counted as one round; nothing is sent or pending. */
static void plan_open(mimir_spdz *s, size_t total)
{
    s->n_open++;
    s->st.opens++;
    s->st.opened_elements += total;
}

/* ---- vectors -------------------------------------------------------------------------------- */

static int sv_alloc(mimir_sv *v, size_t n, int macs, int overwritten, mimir_err *err)
{
    if (v == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sv", "no vector, expected one");
    memset(v, 0, sizeof *v);
    size_t words = macs ? 4 : 2, bytes;
    if (mimir_size_mul(n, words * W, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many elements (%zu)", n);
    mimir_r128 *p = overwritten ? mimir_secret_alloc_overwritten(bytes ? bytes : 64)
                                : mimir_secret_alloc(bytes ? bytes : 64);
    if (p == NULL)
        return oom(err, "sv");
    v->n = n;
    v->mem = p;
    v->x[0] = p;
    v->x[1] = p + n;
    if (macs) {
        v->m[0] = p + 2 * n;
        v->m[1] = p + 3 * n;
    }
    return MIMIR_OK;
}

int mimir_sv_alloc(mimir_sv *v, size_t n, int macs, mimir_err *err)
{
    return sv_alloc(v, n, macs, 0, err);
}

int mimir_sv_alloc_overwritten(mimir_sv *v, size_t n, int macs, mimir_err *err)
{
    return sv_alloc(v, n, macs, 1, err);
}

void mimir_sv_free(mimir_sv *v)
{
    if (v == NULL)
        return;
    mimir_secret_free(v->mem);
    memset(v, 0, sizeof *v);
}

int mimir_bv_alloc(mimir_bv *v, size_t n, mimir_err *err)
{
    if (v == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "bv", "no vector, expected one");
    memset(v, 0, sizeof *v);
    size_t bytes;
    if (mimir_size_mul(n, 2 * sizeof(uint64_t), &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many words (%zu)", n);
    uint64_t *p = mimir_secret_alloc(bytes ? bytes : 64);
    if (p == NULL)
        return oom(err, "bv");
    v->n = n;
    v->mem = p;
    v->x[0] = p;
    v->x[1] = p + n;
    return MIMIR_OK;
}

void mimir_bv_free(mimir_bv *v)
{
    if (v == NULL)
        return;
    mimir_secret_free(v->mem);
    memset(v, 0, sizeof *v);
}

/* ---- engine --------------------------------------------------------------------------------- */

int mimir_spdz_keygen(mimir_coin *coin, mimir_r128 alpha[2], mimir_err *err)
{
    if (coin == NULL || alpha == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "spdz", "no coin or no key, expected both");
    return mimir_coin_rand_r128(coin, &alpha[0], &alpha[1], 1, err);
}

void mimir_spdz_free(mimir_spdz *s)
{
    if (s == NULL)
        return;
    mimir_key_free(s->alpha);
    mimir_secret_free(s->py);
    mimir_secret_free(s->pm);
    mimir_secret_free(s->sbuf);
    mimir_secret_free(s->rbuf);
    mimir_secret_free(s->pub);
    mimir_secret_free(s->chi);
    EVP_MAC_CTX_free(s->h_copy);
    EVP_MAC_CTX_free(s->h_recv);
    EVP_MAC_free(s->gmac);
    mimir_wipe(s, sizeof *s);
    mimir_secret_free(s);
}

int mimir_spdz_new(mimir_net *net, mimir_coin *coin, mimir_prep *prep, const mimir_r128 alpha[2],
                   const mimir_spdz_opts *opts, mimir_spdz **out, mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    int semi = opts != NULL && opts->semi_honest;
    if (net == NULL || coin == NULL || out == NULL || (!semi && alpha == NULL))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "spdz",
                             "no net, coin, key or output, expected all");
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "spdz", "cannot initialise libsodium");
    mimir_spdz *s = mimir_secret_alloc(sizeof *s);
    if (s == NULL)
        return oom(err, "spdz");
    s->net = net;
    s->coin = coin;
    s->prep = prep;
    s->macs = !semi;
    s->tr = opts != NULL ? opts->transcript : NULL;
#ifdef MIMIR_TEST_HOOKS
    if (opts != NULL)
        s->fault = opts->fault;
#endif
    s->self = mimir_net_self(net);
    s->prev = mimir_net_prev(s->self);
    s->next = mimir_net_next(s->self);
    s->alpha = mimir_key_alloc(2 * W);
    s->chi = mimir_secret_alloc(CHI_CHUNK * sizeof(uint64_t));
    s->gmac = EVP_MAC_fetch(NULL, "GMAC", NULL);
    if (s->gmac == NULL) {
        mimir_spdz_free(s);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "spdz", "GMAC is unavailable");
    }
    s->h_copy = EVP_MAC_CTX_new(s->gmac);
    s->h_recv = EVP_MAC_CTX_new(s->gmac);
    if (s->alpha == NULL || s->chi == NULL || s->h_copy == NULL || s->h_recv == NULL) {
        mimir_spdz_free(s);
        return oom(err, "spdz");
    }
    int rc = copy_rekey(s, err);
    if (rc != MIMIR_OK) {
        mimir_spdz_free(s);
        return rc;
    }
    if (s->macs)
        memcpy(s->alpha, alpha, 2 * W);
    *out = s;
    return MIMIR_OK;
}

int mimir_spdz_new_plan(mimir_prep *prep, int semi_honest, mimir_spdz **out, mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (prep == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "spdz",
                             "no preprocessing source or no output, expected both");
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "spdz", "cannot initialise libsodium");
    mimir_spdz *s = mimir_secret_alloc(sizeof *s);
    if (s == NULL)
        return oom(err, "spdz");
    s->plan = 1;
    s->prep = prep;
    s->macs = !semi_honest;
    s->self = 0;
    s->prev = 2;
    s->next = 1;
    s->alpha = mimir_key_alloc(2 * W); /* zero: nothing is MAC'd for real */
    if (s->alpha == NULL) {
        mimir_spdz_free(s);
        return oom(err, "spdz");
    }
    *out = s;
    return MIMIR_OK;
}

int mimir_spdz_plan_mode(const mimir_spdz *s)
{
    return s != NULL && s->plan;
}

int mimir_spdz_party(const mimir_spdz *s)
{
    return s->self;
}

int mimir_spdz_macs(const mimir_spdz *s)
{
    return s->macs;
}

mimir_prep *mimir_spdz_prep(mimir_spdz *s)
{
    return s->prep;
}

void mimir_spdz_get_stats(const mimir_spdz *s, mimir_spdz_stats *st)
{
    *st = s->st;
}

/* ---- inputs --------------------------------------------------------------------------------- */

static int digest64(const mimir_r64 *w, size_t n, uint8_t out[HB])
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = h != NULL && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(h, INPUT_TAG, sizeof INPUT_TAG - 1) == 1 && hash64(h, w, n) == 0 &&
             EVP_DigestFinal_ex(h, out, &len) == 1;
    EVP_MD_CTX_free(h);
    return ok ? 0 : -1;
}

/* One input round over elements [off, off + n) of out, whose values words are already set.
 * It sends prev H(x_i) and w_i, next H(x_{i+1}), where
 * w_i = alpha_i x~_i + alpha_i x~_{i+1} + alpha_{i+1} x~_i + zeta_i is its part of the replicated
 * product alpha * x~ (Araki et al. CCS 2016: sum_i w_i = (sum alpha_i)(sum x~_i)). It gets
 * w_{i+1} from next, so the MAC components are (w_i, w_{i+1}). fault: this is input #at's
 * first round. */
static int input_round(mimir_spdz *s, const mimir_r64 *c0, const mimir_r64 *c1, size_t n,
                       mimir_sv *out, size_t off, int fault, mimir_err *err)
{
    int rc;
    size_t wbytes = s->macs ? n * W : 0, slen = HB + wbytes;
    uint8_t hnext[HB], gprev[HB], own0[HB], own1[HB];
    if ((rc = grow(&s->sbuf, &s->scap, slen, err)) != MIMIR_OK ||
        (rc = grow(&s->rbuf, &s->rcap, slen, err)) != MIMIR_OK)
        return rc;
    if (digest64(c0, n, own0) != 0 || digest64(c1, n, own1) != 0)
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "input", "SHA-256 failed"));
    memcpy(s->sbuf, own0, HB);
    memcpy(hnext, own1, HB);
    if (fault == MIMIR_SPDZ_FAULT_INPUT_COPY_) {
        s->sbuf[0] ^= 1; /* TEST FAULT: wrong digests to both peers */
        hnext[0] ^= 1;
    }
    if (s->macs) {
        mimir_r128 *w = (mimir_r128 *)(s->sbuf + HB); /* 16-byte aligned: sbuf is 64-aligned */
        if ((rc = fatal(s, mimir_coin_zero_r128(s->coin, w, n, err))) != MIMIR_OK)
            goto out;
        const mimir_r128 a0 = s->alpha[0], a1 = s->alpha[1];
        const mimir_r128 *x0 = out->x[0] + off, *x1 = out->x[1] + off;
        for (size_t j = 0; j < n; j++)
            w[j] += a0 * x0[j] + a0 * x1[j] + a1 * x0[j];
        if (fault == MIMIR_SPDZ_FAULT_INPUT_MAC_ && n > 0)
            w[0] += 1; /* TEST FAULT: additive attack on the MAC (kept in m_i and sent) */
        memcpy(out->m[0] + off, w, wbytes);
        enc128(w, w, n);
    }
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[s->prev] = (mimir_net_io){1, s->sbuf, slen, 1, gprev, HB};
    io[s->next] = (mimir_net_io){1, hnext, HB, 1, s->rbuf, slen};
    if ((rc = fatal(s, mimir_net_exchange(s->net, io, err))) != MIMIR_OK)
        goto out;
    /* x_i is also held by prev (its second), x_{i+1} by next (its first); lower party first */
    int ok_prev = sodium_memcmp(gprev, own0, HB) == 0;
    int ok_next = sodium_memcmp(s->rbuf, own1, HB) == 0;
    tr_check(s, "input-copy", n, ok_prev && ok_next);
    for (int k = 0; k < 2; k++) {
        int use_prev = (k == 0) == (s->prev < s->next);
        if (use_prev ? ok_prev : ok_next)
            continue;
        int comp = use_prev ? s->self : s->next;
        int peer = use_prev ? s->prev : s->next;
        int lo = peer < s->self ? peer : s->self, hi = peer < s->self ? s->self : peer;
        rc = fail(s, err, peer,
                  "input: inconsistent replicated copies: component x%d of party %d and "
                  "party %d differ",
                  comp, lo, hi);
        goto out;
    }
    if (s->macs)
        dec128(out->m[1] + off, s->rbuf + HB, n);
    rc = MIMIR_OK;
out:
    mimir_wipe(s->sbuf, slen);
    mimir_wipe(s->rbuf, slen);
    return rc;
}

/* The input rounds (the only ones of a client input): this party holds the Z_2^64 components
 * c0 = x_i, c1 = x_{i+1}; one round per MIMIR_SPDZ_INPUT_CHUNK elements (at least one). */
static int input_pair(mimir_spdz *s, const mimir_r64 *c0, const mimir_r64 *c1, size_t n,
                      mimir_sv *out, mimir_err *err)
{
    int rc = mimir_sv_alloc(out, n, s->macs, err);
    if (rc != MIMIR_OK)
        return rc;
    if (s->plan) { /* plan mode: zeros, no round */
        s->n_input++;
        s->st.inputs++;
        s->st.input_elements += n;
        return MIMIR_OK;
    }
    uint64_t at = s->n_input++;
    int fault = 0;
#ifdef MIMIR_TEST_HOOKS
    if (s->fault.at == at && (s->fault.kind == MIMIR_SPDZ_FAULT_INPUT_COPY ||
                              s->fault.kind == MIMIR_SPDZ_FAULT_INPUT_MAC))
        fault = s->fault.kind;
#else
    (void)at;
#endif
    for (size_t j = 0; j < n; j++) {
        out->x[0][j] = c0[j]; /* zero extension to Z_2^128 */
        out->x[1][j] = c1[j];
    }
    size_t off = 0;
    do {
        size_t k = n - off < MIMIR_SPDZ_INPUT_CHUNK ? n - off : MIMIR_SPDZ_INPUT_CHUNK;
        rc = input_round(s, c0 + off, c1 + off, k, out, off, off == 0 ? fault : 0, err);
        off += k;
    } while (rc == MIMIR_OK && off < n);
    if (rc != MIMIR_OK) {
        mimir_sv_free(out);
        return rc;
    }
    s->st.inputs++;
    s->st.input_elements += n;
    return MIMIR_OK;
}

int mimir_spdz_input_shares(mimir_spdz *s, const mimir_r64 *const c[2], size_t n, mimir_sv *out,
                            mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (c == NULL || c[0] == NULL || c[1] == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "input",
                             "no components or no output, expected both");
    return input_pair(s, c[0], c[1], n, out, err);
}

int mimir_spdz_input_party(mimir_spdz *s, int owner, const mimir_r64 *x, size_t n,
                           mimir_sv *out, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (owner < 0 || owner > 2)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "owner", "party %d, expected 0, 1 or 2",
                             owner);
    if (out == NULL || (owner == s->self && x == NULL && n > 0 && !s->plan))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "input",
                             "no values or no output, expected both at the owner");
    if (s->plan)
        return input_pair(s, NULL, NULL, n, out, err);
    /* r_self, r_next from the pairwise streams, and the third component */
    size_t bytes;
    if (mimir_size_mul(n ? n : 1, sizeof(mimir_r64), &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "input", "too many elements (%zu)", n);
    mimir_r64 *rs = mimir_secret_alloc(bytes), *rn = mimir_secret_alloc(bytes);
    mimir_r64 *third = mimir_secret_alloc(bytes);
    if (rs == NULL || rn == NULL || third == NULL) {
        rc = oom(err, "input");
        goto out;
    }
    if ((rc = fatal(s, mimir_coin_rand_r64(s->coin, rs, rn, n, err))) != MIMIR_OK)
        goto out;
    /* x_o = r_o, x_{o+1} = r_{o+1}; the owner sends x_{o+2} = x - x_o - x_{o+1} to both of its
     * holders, little-endian, MIMIR_SPDZ_INPUT_CHUNK elements per round */
    uint8_t *tb = (uint8_t *)third;
    if (s->self == owner)
        for (size_t j = 0; j < n; j++) {
            mimir_r64 t = x[j] - rs[j] - rn[j];
            for (int b = 0; b < 8; b++)
                tb[8 * j + (size_t)b] = (uint8_t)(t >> (8 * b));
        }
    size_t off = 0;
    do {
        size_t k = n - off < MIMIR_SPDZ_INPUT_CHUNK ? n - off : MIMIR_SPDZ_INPUT_CHUNK;
        mimir_net_io io[MIMIR_NET_PARTIES];
        memset(io, 0, sizeof io);
        if (s->self == owner) {
            io[s->prev] = (mimir_net_io){1, tb + 8 * off, 8 * k, 0, NULL, 0};
            io[s->next] = (mimir_net_io){1, tb + 8 * off, 8 * k, 0, NULL, 0};
        } else {
            io[owner] = (mimir_net_io){0, NULL, 0, 1, tb + 8 * off, 8 * k};
        }
        rc = fatal(s, mimir_net_exchange(s->net, io, err));
        off += k;
    } while (rc == MIMIR_OK && off < n);
    if (rc != MIMIR_OK)
        goto out;
    if (s->self != owner)
        for (size_t j = 0; j < n; j++) {
            mimir_r64 t = 0;
            for (int b = 7; b >= 0; b--)
                t = t << 8 | tb[8 * j + (size_t)b];
            third[j] = t;
        }
    if (s->self == owner)
        rc = input_pair(s, rs, rn, n, out, err);
    else if (s->self == mimir_net_next(owner))
        rc = input_pair(s, rs, third, n, out, err); /* (x_{o+1}, x_{o+2}) */
    else
        rc = input_pair(s, third, rn, n, out, err); /* (x_{o+2}, x_o) */
out:
    mimir_secret_free(rs);
    mimir_secret_free(rn);
    mimir_secret_free(third);
    return rc;
}

/* ---- local linear operations ---------------------------------------------------------------- */

int mimir_spdz_add(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err)
{
    int rc;
    if (s == NULL || a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "add", "no engine or no operand");
    if ((rc = want(s, a, a->n, "a", err)) || (rc = want(s, b, a->n, "b", err)) ||
        (rc = want(s, out, a->n, "out", err)))
        return rc;
    if (s->plan)
        return MIMIR_OK;
    for (int q = 0; q < narr(s); q++)
        mimir_r128_add(arr(out, q), arr(a, q), arr(b, q), a->n);
    return MIMIR_OK;
}

int mimir_spdz_sub(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err)
{
    int rc;
    if (s == NULL || a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "sub", "no engine or no operand");
    if ((rc = want(s, a, a->n, "a", err)) || (rc = want(s, b, a->n, "b", err)) ||
        (rc = want(s, out, a->n, "out", err)))
        return rc;
    if (s->plan)
        return MIMIR_OK;
    for (int q = 0; q < narr(s); q++)
        mimir_r128_sub(arr(out, q), arr(a, q), arr(b, q), a->n);
    return MIMIR_OK;
}

/* out = a + c: the holders of component 0 add c to it (party 0: x[0], party 2: x[1]); MAC
 * component k gains alpha_k c, so the MAC stays alpha (x~ + c). sign -1 subtracts. */
static void add_pub(const mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_r128 *c,
                    size_t n)
{
    for (int k = 0; k < 2; k++) {
        if (holds0(s, k))
            mimir_r128_add(out->x[k], a->x[k], c, n);
        else if (out->x[k] != a->x[k])
            memmove(out->x[k], a->x[k], n * W);
    }
    if (!s->macs)
        return;
    for (int k = 0; k < 2; k++) {
        const mimir_r128 al = s->alpha[k];
        const mimir_r128 *am = a->m[k];
        mimir_r128 *om = out->m[k];
        for (size_t j = 0; j < n; j++)
            om[j] = am[j] + al * c[j];
    }
}

int mimir_spdz_add_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_r128 *c,
                          mimir_err *err)
{
    int rc;
    if (s == NULL || a == NULL || (c == NULL && a->n > 0))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "add_public", "no engine or no operand");
    if ((rc = want(s, a, a->n, "a", err)) || (rc = want(s, out, a->n, "out", err)))
        return rc;
    if (!s->plan)
        add_pub(s, out, a, c, a->n);
    return MIMIR_OK;
}

int mimir_spdz_scale(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, mimir_r128 c,
                     mimir_err *err)
{
    int rc;
    if (s == NULL || a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "scale", "no engine or no operand");
    if ((rc = want(s, a, a->n, "a", err)) || (rc = want(s, out, a->n, "out", err)))
        return rc;
    for (int q = 0; q < narr(s) && !s->plan; q++)
        mimir_r128_scale(arr(out, q), arr(a, q), c, a->n);
    return MIMIR_OK;
}

int mimir_spdz_mul_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_r128 *c,
                          mimir_err *err)
{
    int rc;
    if (s == NULL || a == NULL || (c == NULL && a->n > 0))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "mul_public", "no engine or no operand");
    if ((rc = want(s, a, a->n, "a", err)) || (rc = want(s, out, a->n, "out", err)))
        return rc;
    for (int q = 0; q < narr(s) && !s->plan; q++)
        mimir_r128_mul(arr(out, q), arr(a, q), c, a->n);
    return MIMIR_OK;
}

static int shape(size_t rows, size_t inner, size_t cols, size_t *ri, size_t *ic, size_t *rc_,
                 mimir_err *err)
{
    if (mimir_size_mul(rows, inner, ri) != 0 || mimir_size_mul(inner, cols, ic) != 0 ||
        mimir_size_mul(rows, cols, rc_) != 0 || *ri > SIZE_MAX / (4 * W) ||
        *ic > SIZE_MAX / (4 * W) || *rc_ > SIZE_MAX / (4 * W))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "shape", "%zu x %zu x %zu is too large",
                             rows, inner, cols);
    return MIMIR_OK;
}

/* out = P a (left) or a P (right) on every word array, through a temporary if out aliases a. */
static int matmul_public(mimir_spdz *s, mimir_sv *out, const mimir_r128 *P, const mimir_sv *a,
                         size_t rows, size_t inner, size_t cols, int left, mimir_err *err)
{
    size_t ri, ic, rcn;
    int rc;
    if (s == NULL || a == NULL || P == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matmul_public", "no engine or operand");
    if ((rc = shape(rows, inner, cols, &ri, &ic, &rcn, err)) ||
        (rc = want(s, a, left ? ic : ri, "a", err)) || (rc = want(s, out, rcn, "out", err)))
        return rc;
    if (s->plan)
        return MIMIR_OK;
    int alias = out->mem == a->mem && out->mem != NULL;
    mimir_r128 *tmp = NULL;
    if (alias && (tmp = mimir_secret_alloc(rcn ? rcn * W : 1)) == NULL)
        return oom(err, "matmul_public");
    for (int q = 0; q < narr(s); q++) {
        mimir_r128 *dst = alias ? tmp : arr(out, q);
        if (left)
            mimir_r128_matmul(dst, P, arr(a, q), rows, inner, cols);
        else
            mimir_r128_matmul(dst, arr(a, q), P, rows, inner, cols);
        if (alias)
            memcpy(arr(out, q), tmp, rcn * W);
    }
    mimir_secret_free(tmp);
    return MIMIR_OK;
}

int mimir_spdz_matmul_public_left(mimir_spdz *s, mimir_sv *out, const mimir_r128 *P,
                                  const mimir_sv *a, size_t rows, size_t inner, size_t cols,
                                  mimir_err *err)
{
    return matmul_public(s, out, P, a, rows, inner, cols, 1, err);
}

int mimir_spdz_matmul_public_right(mimir_spdz *s, mimir_sv *out, const mimir_sv *a,
                                   const mimir_r128 *P, size_t rows, size_t inner, size_t cols,
                                   mimir_err *err)
{
    return matmul_public(s, out, P, a, rows, inner, cols, 0, err);
}

/* ---- the check ------------------------------------------------------------------------------ */

static void commit(uint8_t out[HB], const char *tag, const uint8_t *session, int party,
                   const uint8_t *v, size_t vlen, const uint8_t *nonce)
{
    mimir_sha256_state h;
    uint8_t idx[4];
    put32be(idx, (uint32_t)party);
    mimir_sha256_init(&h);
    mimir_sha256_update(&h, (const uint8_t *)tag, strlen(tag));
    mimir_sha256_update(&h, session, MIMIR_SESSION_BYTES);
    mimir_sha256_update(&h, idx, sizeof idx);
    mimir_sha256_update(&h, v, vlen);
    mimir_sha256_update(&h, nonce, NONCEB);
    mimir_sha256_final(&h, out);
}

static void tagged(uint8_t out[HB], const char *tag, const uint8_t *data, size_t len)
{
    mimir_sha256_state h;
    mimir_sha256_init(&h);
    mimir_sha256_update(&h, (const uint8_t *)tag, strlen(tag));
    mimir_sha256_update(&h, data, len);
    mimir_sha256_final(&h, out);
}

/* Everything secret one check handles. */
typedef struct check_state {
    mimir_r128 pw[4];            /* pairwise draws: r_i (2 words), r_{i+1} (2 words) */
    uint8_t seed[SEEDB], nonce[NONCEB], tnonce[NONCEB];
    uint8_t c_own[HB];
    uint8_t r1_prev_send[HB + COPYB]; /* commitment || copy tag, to prev */
    uint8_t r1_from_next[HB + COPYB];
    uint8_t r1_from_prev[HB];
    uint8_t r2_send[2][CHECK_OPEN_BYTES]; /* to prev [0], next [1] */
    uint8_t r2_recv[2][CHECK_OPEN_BYTES]; /* from prev [0], next [1] */
    uint8_t joint[HB], chk[HB], copy_own[COPYB], recv_own[COPYB], chi_key[CHI_KEYB];
    mimir_r128 zeta, t;
    uint8_t tc_own[HB], tc_recv[2][HB];
    uint8_t r4_send[T_OPEN_BYTES], r4_recv[2][T_OPEN_BYTES];
    mimir_drbg d;
} check_state;

/* z_i = sum_j chi_j m_ij - alpha_i sum_j chi_j y_j. chi_j is little-endian word j of the
 * ChaCha20 stream (RFC 8439, zero nonce, block counter from 0) under key, the first 32 bytes of
 * the check's "mac-check" DRBG: one HMAC-DRBG call per check instead of one per 32 bytes of
 * coefficients (the DRBG would take half a second for a 768 x 3072 batch). */
static int mac_share(mimir_spdz *s, const uint8_t key[CHI_KEYB], mimir_r128 *z)
{
    static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    mimir_r128 sm = 0, sy = 0;
    for (size_t off = 0; off < s->pending; off += CHI_CHUNK) {
        size_t k = s->pending - off < CHI_CHUNK ? s->pending - off : CHI_CHUNK;
        memset(s->chi, 0, k * 8);
        crypto_stream_chacha20_ietf_xor_ic((uint8_t *)s->chi, (const uint8_t *)s->chi, k * 8,
                                           nonce, (uint32_t)(off / CHI_CHUNK * CHI_BLOCKS),
                                           key);
        const mimir_r128 *pm = s->pm + off, *py = s->py + off;
        for (size_t j = 0; j < k; j++) {
            uint64_t c = s->chi[j];
#if HOST_BE
            c = __builtin_bswap64(c);
#endif
            sm += (mimir_r128)c * pm[j];
            sy += (mimir_r128)c * py[j];
        }
    }
    *z = sm - s->alpha[0] * sy;
    return MIMIR_OK;
}

/* TEST FAULT: whether this party deviates now (always 0 in release builds). */
#ifdef MIMIR_TEST_HOOKS
#define FAULT(s, k, n) ((s)->fault.kind == MIMIR_SPDZ_FAULT_##k && (s)->fault.at == (n))
#else
#define FAULT(s, k, n) ((void)(s), (void)(n), 0)
#endif

static int skip_copy(const mimir_spdz *s)
{
#ifdef MIMIR_TEST_HOOKS
    return s->fault.skip_copy_check;
#else
    (void)s;
    return 0;
#endif
}

static int run_check(mimir_spdz *s, check_state *c, mimir_err *err)
{
    int rc;
    uint64_t at = s->n_check++;
    const uint8_t *session = mimir_net_session(s->net);
    size_t tl = 0, tl2 = 0;
    if (EVP_MAC_final(s->h_copy, c->copy_own, &tl, COPYB) != 1 ||
        EVP_MAC_final(s->h_recv, c->recv_own, &tl2, COPYB) != 1 || tl != COPYB || tl2 != COPYB)
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "check", "GMAC failed"));
    /* the next batch of opens gets new keys (the same draws at every party) */
    if ((rc = fatal(s, copy_rekey(s, err))) != MIMIR_OK)
        return rc;

    /* the MAC part runs only over a nonempty batch: a batch of boolean opens alone (copy-
     * checked only) skips it, at every party alike (pending is the same at all three) */
    const int mac_part = s->macs && s->pending > 0;
    /* fresh seed and nonces: from both pairwise streams, so neither neighbour alone can
     * predict them, and a run with fixed coin seeds stays reproducible */
    if (mac_part) {
        rc = fatal(s, mimir_coin_rand_r128(s->coin, c->pw, c->pw + 2, 2, err));
        if (rc != MIMIR_OK)
            return rc;
        uint8_t pwb[4 * W];
        enc128(pwb, c->pw, 4);
        tagged(c->seed, SEED_TAG, pwb, sizeof pwb);
        tagged(c->nonce, NONCE_TAG, pwb, sizeof pwb);
        tagged(c->tnonce, TNONCE_TAG, pwb, sizeof pwb);
        sodium_memzero(pwb, sizeof pwb);
        commit(c->c_own, COMMIT_TAG, session, s->self, c->seed, SEEDB, c->nonce);
    }

    /* round 1: commitments; the copy digest to prev (the party that received, from our next,
     * the component we hold as our second) */
    size_t cb = mac_part ? HB : 0;
    memcpy(c->r1_prev_send, c->c_own, cb);
    memcpy(c->r1_prev_send + cb, c->copy_own, COPYB);
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[s->prev] = (mimir_net_io){1, c->r1_prev_send, cb + COPYB, 1, c->r1_from_prev, cb};
    io[s->next] = (mimir_net_io){1, c->c_own, cb, 1, c->r1_from_next, cb + COPYB};
    if ((rc = fatal(s, mimir_net_exchange(s->net, io, err))) != MIMIR_OK)
        return rc;
    /* what we received from prev was x~_prev; our next holds it as its second component */
    int copy_ok = sodium_memcmp(c->r1_from_next + cb, c->recv_own, COPYB) == 0;
    if (!skip_copy(s)) {
        tr_check(s, "replicated-copy", s->pending, copy_ok);
        if (!copy_ok)
            return fail(s, err, s->prev,
                        "replicated copy check: component x%d as opened by party %d differs "
                        "from party %d's copy",
                        s->prev, s->prev, s->next);
    }
    if (!mac_part)
        return MIMIR_OK;

    /* round 2: openings, and the echo of the third party's commitment */
    const uint8_t *got_c[2] = {c->r1_from_prev, c->r1_from_next};
    for (int d = 0; d < 2; d++) {
        memcpy(c->r2_send[d], c->seed, SEEDB);
        memcpy(c->r2_send[d] + SEEDB, c->nonce, NONCEB);
        memcpy(c->r2_send[d] + SEEDB + NONCEB, got_c[1 - d], HB);
    }
    memset(io, 0, sizeof io);
    io[s->prev] = (mimir_net_io){1, c->r2_send[0], CHECK_OPEN_BYTES, 1, c->r2_recv[0],
                                 CHECK_OPEN_BYTES};
    io[s->next] = (mimir_net_io){1, c->r2_send[1], CHECK_OPEN_BYTES, 1, c->r2_recv[1],
                                 CHECK_OPEN_BYTES};
    if ((rc = fatal(s, mimir_net_exchange(s->net, io, err))) != MIMIR_OK)
        return rc;
    int peers[2] = {s->prev, s->next};
    int lo = s->prev < s->next ? 0 : 1;
    for (int k = 0; k < 2; k++) {
        int d = k == 0 ? lo : 1 - lo;
        commit(c->chk, COMMIT_TAG, session, peers[d], c->r2_recv[d], SEEDB,
               c->r2_recv[d] + SEEDB);
        if (sodium_memcmp(c->chk, got_c[d], HB) != 0) {
            tr_check(s, "coin", s->pending, 0);
            return fail(s, err, peers[d],
                        "MAC check: party %d's coin opening does not match its commitment",
                        peers[d]);
        }
    }
    for (int k = 0; k < 2; k++) {
        int d = k == 0 ? lo : 1 - lo;
        if (sodium_memcmp(c->r2_recv[d] + SEEDB + NONCEB, got_c[1 - d], HB) != 0) {
            tr_check(s, "coin", s->pending, 0);
            return fail(s, err, peers[d],
                        "MAC check: party %d reports another coin commitment from party %d "
                        "than we received",
                        peers[d], peers[1 - d]);
        }
    }
    tr_check(s, "coin", s->pending, 1);

    /* the joint seed over s_0, s_1, s_2 and this check's number; chi = its "mac-check" DRBG */
    const uint8_t *seeds[3];
    seeds[s->self] = c->seed;
    seeds[s->prev] = c->r2_recv[0];
    seeds[s->next] = c->r2_recv[1];
    uint8_t num[8];
    put64be(num, at);
    mimir_sha256_state h;
    mimir_sha256_init(&h);
    mimir_sha256_update(&h, (const uint8_t *)JOINT_TAG, sizeof JOINT_TAG - 1);
    mimir_sha256_update(&h, session, MIMIR_SESSION_BYTES);
    mimir_sha256_update(&h, num, sizeof num);
    for (int p = 0; p < 3; p++)
        mimir_sha256_update(&h, seeds[p], SEEDB);
    mimir_sha256_final(&h, c->joint);
    if (mimir_drbg_from_seed(&c->d, c->joint, HB, CHI_LABEL) != MIMIR_OK ||
        mimir_drbg_generate(&c->d, c->chi_key, CHI_KEYB, NULL, 0) != MIMIR_OK)
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "MAC check",
                                      "cannot seed the coefficient generator"));

    /* round 3: commitment to t_i = z_i + zeta_i */
    mac_share(s, c->chi_key, &c->t);
    if ((rc = fatal(s, mimir_coin_zero_r128(s->coin, &c->zeta, 1, err))) != MIMIR_OK)
        return rc;
    c->t += c->zeta;
    if (FAULT(s, MAC_VALUE, at))
        c->t += 1; /* TEST FAULT: a wrong value, committed consistently */
    put128(c->r4_send, c->t);
    memcpy(c->r4_send + W, c->tnonce, NONCEB);
    commit(c->tc_own, TCOMMIT_TAG, session, s->self, c->r4_send, W, c->tnonce);
    if (FAULT(s, MAC_COMMIT, at))
        c->r4_send[0] ^= 1; /* TEST FAULT: open another value than committed */
    memset(io, 0, sizeof io);
    io[s->prev] = (mimir_net_io){1, c->tc_own, HB, 1, c->tc_recv[0], HB};
    io[s->next] = (mimir_net_io){1, c->tc_own, HB, 1, c->tc_recv[1], HB};
    if ((rc = fatal(s, mimir_net_exchange(s->net, io, err))) != MIMIR_OK)
        return rc;

    /* round 4: t_i and its nonce; check the commitments, then t_0 + t_1 + t_2 = 0 */
    memset(io, 0, sizeof io);
    io[s->prev] = (mimir_net_io){1, c->r4_send, T_OPEN_BYTES, 1, c->r4_recv[0], T_OPEN_BYTES};
    io[s->next] = (mimir_net_io){1, c->r4_send, T_OPEN_BYTES, 1, c->r4_recv[1], T_OPEN_BYTES};
    if ((rc = fatal(s, mimir_net_exchange(s->net, io, err))) != MIMIR_OK)
        return rc;
    for (int k = 0; k < 2; k++) {
        int d = k == 0 ? lo : 1 - lo;
        commit(c->chk, TCOMMIT_TAG, session, peers[d], c->r4_recv[d], W, c->r4_recv[d] + W);
        if (sodium_memcmp(c->chk, c->tc_recv[d], HB) != 0) {
            tr_check(s, "mac", s->pending, 0);
            return fail(s, err, peers[d],
                        "MAC check: party %d's value does not match its commitment", peers[d]);
        }
    }
    mimir_r128 sum = get128(c->r4_send) + get128(c->r4_recv[0]) + get128(c->r4_recv[1]);
#ifdef MIMIR_TEST_HOOKS
    if (FAULT(s, MAC_COMMIT, at))
        sum = c->t + get128(c->r4_recv[0]) + get128(c->r4_recv[1]);
#endif
    int ok = sum == 0;
    tr_check(s, "mac", s->pending, ok);
    if (!ok)
        return fail(s, err, -1,
                    "MAC check failed: the opened values are inconsistent with their MACs");
    return MIMIR_OK;
}

int mimir_spdz_check(mimir_spdz *s, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if ((s->pending == 0 && s->copy_words == 0) || s->plan)
        return MIMIR_OK;
    check_state *c = mimir_key_alloc(sizeof *c);
    if (c == NULL)
        return oom(err, "check");
    memset(c, 0, sizeof *c);
    rc = run_check(s, c, err);
    mimir_drbg_wipe(&c->d);
    mimir_key_free(c); /* sodium_free wipes */
    if (rc == MIMIR_OK) {
        s->st.checks++;
        s->st.checked_elements += s->pending;
    }
    if (s->pm != NULL)
        mimir_wipe(s->pm, s->pending * W);
    s->pending = 0;
    s->copy_words = 0;
    if (s->cap > MIMIR_SPDZ_CHECK_EVERY) { /* grown for one big open (a weight load): give back */
        mimir_secret_free(s->py);
        mimir_secret_free(s->pm);
        s->py = s->pm = NULL;
        s->cap = 0;
    }
    return rc;
}

/* ---- open ----------------------------------------------------------------------------------- */

static int pending_room(mimir_spdz *s, size_t add, mimir_err *err)
{
    size_t need = s->pending + add;
    if (need <= s->cap)
        return MIMIR_OK;
    size_t c = s->cap ? s->cap : MIN_PENDING_CAP;
    while (c < need)
        c *= 2;
    if (c > MIMIR_SPDZ_MAX_PENDING)
        c = MIMIR_SPDZ_MAX_PENDING;
    mimir_r128 *py = mimir_secret_alloc(c * W);
    mimir_r128 *pm = s->macs ? mimir_secret_alloc(c * W) : NULL;
    if (py == NULL || (s->macs && pm == NULL)) {
        mimir_secret_free(py);
        mimir_secret_free(pm);
        return oom(err, "open");
    }
    if (s->pending > 0) {
        memcpy(py, s->py, s->pending * W);
        if (s->macs)
            memcpy(pm, s->pm, s->pending * W);
    }
    mimir_secret_free(s->py);
    mimir_secret_free(s->pm);
    s->py = py;
    s->pm = pm;
    s->cap = c;
    return MIMIR_OK;
}

/* y += a + b, one pass. */
static void add3(mimir_r128 *y, const mimir_r128 *a, const mimir_r128 *b, size_t n)
{
    for (size_t j = 0; j < n; j++)
        y[j] += a[j] + b[j];
}

/* Room for total more pending elements: a check first if the batch would exceed its bound. */
static int open_room(mimir_spdz *s, size_t total, mimir_err *err)
{
    int rc;
    /* before anything is placed: a caller writes total elements at s->pm + s->pending next */
    if (total > MIMIR_SPDZ_MAX_PENDING)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "open",
                             "too many elements in one open (%zu), expected at most %zu", total,
                             MIMIR_SPDZ_MAX_PENDING);
    /* a check empties the batch once it holds MIMIR_SPDZ_CHECK_EVERY elements: the pending
     * buffers stay small (a GPT-2 prompt would otherwise pile up 2^26 of them, 2 GiB) */
    size_t every = MIMIR_SPDZ_CHECK_EVERY;
#ifdef MIMIR_TEST_HOOKS
    if (s->fault.check_every > 0)
        every = s->fault.check_every; /* TEST HOOK: a smaller bound */
#endif
    if (s->pending > 0 && s->pending + total > every &&
        (rc = mimir_spdz_check(s, err)) != MIMIR_OK)
        return rc;
    return pending_room(s, total, err);
}

/* What a caller of open_impl has already put in place (little-endian hosts only), to save the
 * copies: PRE_X0, the first components of all vectors, concatenated, in s->sbuf (the message;
 * v[j]->x[0] is not read); PRE_M0, their first MAC components at s->pm + s->pending (after
 * open_room for the same total). An out[j] that points at s->py + s->pending + (its offset)
 * receives the opened values in the pending batch itself. */
#define PRE_X0 1u
#define PRE_M0 2u

/* One round: party i sends x~_i of every element to next and gets x~_{i+2} from prev; hashes
 * its second components x~_{i+1} (copy digest) and what it received; keeps y and m_i. */
static int open_impl(mimir_spdz *s, const char *label, size_t nv, const mimir_sv *const *v,
                     mimir_r128 *const *out, unsigned pre, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (nv > 0 && (v == NULL || out == NULL))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "open", "no vectors or no outputs");
    size_t total = 0;
    for (size_t j = 0; j < nv; j++) {
        if (v[j] == NULL || (rc = want(s, v[j], v[j]->n, "open", err)) != MIMIR_OK)
            return v[j] == NULL ? mimir_err_set(err, MIMIR_EINPUT, NULL, "open", "no vector")
                                : rc;
        if (out[j] == NULL && v[j]->n > 0)
            return mimir_err_set(err, MIMIR_EINPUT, NULL, "open", "no output buffer");
        total += v[j]->n;
        if (total > MIMIR_SPDZ_MAX_PENDING)
            return mimir_err_set(err, MIMIR_EINPUT, NULL, "open",
                                 "too many elements in one open, expected at most %zu",
                                 MIMIR_SPDZ_MAX_PENDING);
    }
    if (s->plan) { /* plan mode: every opened word is zero */
        for (size_t j = 0; j < nv; j++)
            if (v[j]->n > 0)
                memset(out[j], 0, v[j]->n * W);
        plan_open(s, total);
        return MIMIR_OK;
    }
    if (pre != 0 && (HOST_BE || s->pending + total > s->cap))
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "open",
                                      "internal: operands placed without room"));
    if ((rc = open_room(s, total, err)) != MIMIR_OK)
        return rc;
    uint64_t at = s->n_open++;
    int flip = FAULT(s, OPEN_FLIP, at) && total > 0;
    int copy = FAULT(s, COPY, at) && total > 0;

    /* the message: our first components, concatenated (sent in place when possible) */
    const void *send = NULL;
    void *recv = NULL;
    size_t bytes = total * W;
    int contiguous = !HOST_BE && nv > 0; /* out[0..nv) back to back: receive in place */
    for (size_t j = 1; j < nv; j++)
        contiguous &= out[j] == out[j - 1] + v[j - 1]->n;
    if (pre & PRE_X0) {
        if ((rc = grow(&s->rbuf, &s->rcap, bytes, err)) != MIMIR_OK)
            return rc;
        if (flip) {
#ifdef MIMIR_TEST_HOOKS
            unsigned bit = s->fault.bit & 127;
            s->sbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8)); /* TEST FAULT (undone below) */
#endif
        }
        send = s->sbuf;
        recv = contiguous ? (void *)out[0] : (void *)s->rbuf;
    } else if (nv == 1 && !HOST_BE && !flip) {
        send = v[0]->x[0];
        recv = out[0];
    } else {
        if ((rc = grow(&s->sbuf, &s->scap, bytes, err)) != MIMIR_OK ||
            (rc = grow(&s->rbuf, &s->rcap, bytes, err)) != MIMIR_OK)
            return rc;
        size_t off = 0;
        for (size_t j = 0; j < nv; j++) {
            enc128(s->sbuf + off, v[j]->x[0], v[j]->n);
            off += v[j]->n * W;
        }
        if (flip) {
#ifdef MIMIR_TEST_HOOKS
            unsigned bit = s->fault.bit & 127;
            s->sbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8)); /* TEST FAULT */
#endif
        }
        send = s->sbuf;
        recv = contiguous ? (void *)out[0] : (void *)s->rbuf;
    }
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[s->next] = (mimir_net_io){1, send, bytes, 0, NULL, 0};
    io[s->prev] = (mimir_net_io){0, NULL, 0, 1, recv, bytes};
    rc = fatal(s, mimir_net_exchange(s->net, io, err));
    if (flip && (pre & PRE_X0)) {
#ifdef MIMIR_TEST_HOOKS
        unsigned bit = s->fault.bit & 127;
        s->sbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8)); /* our own y uses the true word */
#endif
    }
    if (send == s->sbuf && s->sbuf != NULL && (rc != MIMIR_OK || !(pre & PRE_X0)))
        mimir_wipe(s->sbuf, bytes);
    if (rc != MIMIR_OK)
        return rc;

    /* y = x~_i + x~_{i+1} + x~_{i+2}; digests; the pending batch */
    size_t off = 0;
    int hok = 1;
    for (size_t j = 0; j < nv; j++) {
        size_t n = v[j]->n;
        mimir_r128 *y = out[j];
        dec128(y, (uint8_t *)recv + off * W, n); /* a no-op when received in place */
        hok &= mac128(s->h_recv, y, n) == 0;
        if (copy && n > 0) {
            copy = 0;
            mimir_r128 w0 = v[j]->x[1][0] + 1; /* TEST FAULT: an inconsistent copy */
            hok &= mac128(s->h_copy, &w0, 1) == 0;
            hok &= mac128(s->h_copy, v[j]->x[1] + 1, n - 1) == 0;
        } else {
            hok &= mac128(s->h_copy, v[j]->x[1], n) == 0;
        }
        const mimir_r128 *x0 = (pre & PRE_X0) ? (const mimir_r128 *)s->sbuf + off : v[j]->x[0];
        add3(y, x0, v[j]->x[1], n);
        if (y != s->py + s->pending)
            memcpy(s->py + s->pending, y, n * W);
        if (s->macs && !(pre & PRE_M0))
            memcpy(s->pm + s->pending, v[j]->m[0], n * W);
        s->pending += n;
        off += n;
        if (s->tr != NULL) {
#if HOST_BE
            uint8_t *le = mimir_secret_alloc(n ? n * W : 1);
            if (le != NULL) {
                enc128(le, y, n);
                mimir_transcript_open(s->tr, label, n, le, n * W);
            }
            mimir_secret_free(le);
#else
            mimir_transcript_open(s->tr, label, n, y, n * W);
#endif
        }
    }
    if (recv == s->rbuf && s->rbuf != NULL)
        mimir_wipe(s->rbuf, bytes);
    if (pre & PRE_X0)
        mimir_wipe(s->sbuf, bytes);
    if (!hok)
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "open", "SHA-256 failed"));
    s->st.opens++;
    s->st.opened_elements += total;
    return MIMIR_OK;
}

int mimir_spdz_open(mimir_spdz *s, size_t nv, const mimir_sv *const *v, mimir_r128 *const *out,
                    mimir_err *err)
{
    return open_impl(s, "open", nv, v, out, 0, err);
}

/* ---- boolean words: open and AND ----------------------------------------------------------- */

#define BW 8 /* bytes of a boolean word */

/* Little-endian bytes of n words (a copy on big-endian hosts only). */
static void enc64(uint8_t *dst, const uint64_t *src, size_t n)
{
#if HOST_BE
    for (size_t j = 0; j < n; j++)
        for (int b = 0; b < 8; b++)
            dst[j * 8 + b] = (uint8_t)(src[j] >> (8 * b));
#else
    memcpy(dst, src, n * BW);
#endif
}

/* n words from little-endian bytes (a copy on little-endian hosts). */
static void dec64(uint64_t *dst, const uint8_t *src, size_t n)
{
#if HOST_BE
    for (size_t j = 0; j < n; j++) {
        uint64_t w = 0;
        for (int b = 7; b >= 0; b--)
            w = (w << 8) | src[j * 8 + (size_t)b];
        dst[j] = w;
    }
#else
    memcpy(dst, src, n * BW);
#endif
}

static int gmac64(EVP_MAC_CTX *h, const uint64_t *w, size_t n)
{
#if HOST_BE
    uint8_t b[BW];
    for (size_t j = 0; j < n; j++) {
        enc64(b, w + j, 1);
        if (EVP_MAC_update(h, b, BW) != 1)
            return -1;
    }
    return 0;
#else
    return n == 0 || EVP_MAC_update(h, (const unsigned char *)w, n * BW) == 1 ? 0 : -1;
#endif
}

/* One round: party i sends x_i (n words, from x0) to next and gets x_{i+2} from prev; out =
 * x_i ^ x_{i+1} ^ x_{i+2}. The received words and our x_{i+1} (x1) join the copy check's GMACs
 * exactly as an arithmetic open's do (they share one batch and one check); no MAC batch: the
 * check after a batch of boolean opens alone is its copy round only. */
static int open_bits_impl(mimir_spdz *s, const char *label, size_t n, const uint64_t *x0,
                          const uint64_t *x1, uint64_t *out, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (n > 2 * MIMIR_SPDZ_CHECK_EVERY)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "open",
                             "too many words in one boolean open (%zu), expected at most %zu", n,
                             2 * MIMIR_SPDZ_CHECK_EVERY);
    if (s->plan) {
        if (n > 0)
            memset(out, 0, n * BW);
        plan_open(s, 0);
        s->st.opened_words += n;
        return MIMIR_OK;
    }
    /* the copy batch's bound: boolean words count at half an element's bytes */
    size_t every = 2 * MIMIR_SPDZ_CHECK_EVERY;
#ifdef MIMIR_TEST_HOOKS
    if (s->fault.check_every > 0)
        every = 2 * s->fault.check_every; /* TEST HOOK: a smaller bound */
#endif
    if ((s->pending > 0 || s->copy_words > 0) && s->copy_words + n > every &&
        (rc = mimir_spdz_check(s, err)) != MIMIR_OK)
        return rc;
    uint64_t at = s->n_open++;
    int flip = FAULT(s, OPEN_FLIP, at) && n > 0;
    int copy = FAULT(s, COPY, at) && n > 0;
    size_t bytes = n * BW;
    if ((rc = grow(&s->sbuf, &s->scap, bytes, err)) != MIMIR_OK ||
        (rc = grow(&s->rbuf, &s->rcap, bytes, err)) != MIMIR_OK)
        return rc;
    enc64(s->sbuf, x0, n);
    if (flip) {
#ifdef MIMIR_TEST_HOOKS
        unsigned bit = s->fault.bit & 63;
        s->sbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8)); /* TEST FAULT */
#endif
    }
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[s->next] = (mimir_net_io){1, s->sbuf, bytes, 0, NULL, 0};
    io[s->prev] = (mimir_net_io){0, NULL, 0, 1, s->rbuf, bytes};
    rc = fatal(s, mimir_net_exchange(s->net, io, err));
    mimir_wipe(s->sbuf, bytes);
    if (rc != MIMIR_OK) {
        mimir_wipe(s->rbuf, bytes);
        return rc;
    }
    int hok = 1;
    dec64(out, s->rbuf, n);
    hok &= gmac64(s->h_recv, out, n) == 0;
    if (copy) {
        uint64_t w0 = x1[0] ^ 1; /* TEST FAULT: an inconsistent copy */
        hok &= gmac64(s->h_copy, &w0, 1) == 0;
        hok &= gmac64(s->h_copy, x1 + 1, n - 1) == 0;
    } else {
        hok &= gmac64(s->h_copy, x1, n) == 0;
    }
    for (size_t j = 0; j < n; j++)
        out[j] ^= x0[j] ^ x1[j];
    mimir_wipe(s->rbuf, bytes);
    if (!hok)
        return fatal(s, mimir_err_set(err, MIMIR_ERUNTIME, NULL, "open", "GMAC failed"));
    if (s->tr != NULL) {
        uint8_t *le = mimir_secret_alloc(bytes ? bytes : 1);
        if (le != NULL) {
            enc64(le, out, n);
            mimir_transcript_open(s->tr, label, n, le, bytes);
        }
        mimir_secret_free(le);
    }
    s->copy_words += n;
    s->st.opens++;
    s->st.opened_words += n;
    return MIMIR_OK;
}

static int want_bv(const mimir_spdz *s, const mimir_bv *v, size_t n, const char *name,
                   mimir_err *err)
{
    if (v == NULL || (!s->plan && n > 0 && (v->x[0] == NULL || v->x[1] == NULL)))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, name, "no boolean vector, expected one");
    if (v->n != n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, name, "%zu words, expected %zu", v->n, n);
    return MIMIR_OK;
}

int mimir_spdz_open_bits(mimir_spdz *s, const mimir_bv *v, uint64_t *out, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (v == NULL || (v->n > 0 && out == NULL))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "open", "no vector or no output");
    if ((rc = want_bv(s, v, v->n, "open", err)) != MIMIR_OK)
        return rc;
    return open_bits_impl(s, "open-bits", v->n, v->x[0], v->x[1], out, err);
}

int mimir_spdz_and(mimir_spdz *s, mimir_bv *out, const mimir_bv *a, const mimir_bv *b,
                   mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "and", "no operand");
    size_t n = a->n;
    if ((rc = want_bv(s, a, n, "a", err)) || (rc = want_bv(s, b, n, "b", err)) ||
        (rc = want_bv(s, out, n, "out", err)))
        return rc;
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "and", "no preprocessing source");
    if (n > MIMIR_SPDZ_CHECK_EVERY)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "and",
                             "too many words in one AND (%zu), expected at most %zu", n,
                             MIMIR_SPDZ_CHECK_EVERY);
    mimir_bv ta = {0}, tb = {0}, tc = {0};
    uint64_t *x0 = NULL, *pub = NULL;
    if ((rc = mimir_prep_btriples(s->prep, n, &ta, &tb, &tc, err)) != MIMIR_OK)
        return rc;
    if ((rc = want_bv(s, &ta, n, "boolean triple", err)) ||
        (rc = want_bv(s, &tb, n, "boolean triple", err)) ||
        (rc = want_bv(s, &tc, n, "boolean triple", err)))
        goto out;
    if (s->plan) {
        plan_open(s, 0);
        s->st.opened_words += 2 * n;
        s->st.ands++;
        s->st.and_words += n;
        goto out;
    }
    /* d = a ^ t.a, e = b ^ t.b, both components (secret): x0 = [d_i, e_i] the message,
     * x1 = [d_(i+1), e_(i+1)] for the copy check; one block of 4n words */
    x0 = mimir_secret_alloc_overwritten(n ? 4 * n * BW : BW);
    pub = malloc(n ? 2 * n * BW : BW);
    if (x0 == NULL || pub == NULL) {
        rc = oom(err, "and");
        goto out;
    }
    uint64_t *x1 = x0 + 2 * n;
    for (size_t j = 0; j < n; j++) {
        x0[j] = a->x[0][j] ^ ta.x[0][j];
        x0[n + j] = b->x[0][j] ^ tb.x[0][j];
        x1[j] = a->x[1][j] ^ ta.x[1][j];
        x1[n + j] = b->x[1][j] ^ tb.x[1][j];
    }
    rc = open_bits_impl(s, "and", 2 * n, x0, x1, pub, err);
    if (rc != MIMIR_OK)
        goto out;
    /* z = c ^ (d & t.b) ^ (e & t.a) ^ (d & e), the public d & e in component 0 only;
     * elementwise, so out may alias a or b (read before written) */
    const uint64_t m0 = holds0(s, 0) ? ~(uint64_t)0 : 0, m1 = holds0(s, 1) ? ~(uint64_t)0 : 0;
    const uint64_t *d = pub, *e = pub + n;
    for (size_t j = 0; j < n; j++) {
        const uint64_t dj = d[j], ej = e[j], de = dj & ej;
        out->x[0][j] = tc.x[0][j] ^ (dj & tb.x[0][j]) ^ (ej & ta.x[0][j]) ^ (m0 & de);
        out->x[1][j] = tc.x[1][j] ^ (dj & tb.x[1][j]) ^ (ej & ta.x[1][j]) ^ (m1 & de);
    }
    s->st.ands++;
    s->st.and_words += n;
out:
    mimir_secret_free(x0);
    free(pub);
    mimir_bv_free(&ta);
    mimir_bv_free(&tb);
    mimir_bv_free(&tc);
    return rc;
}

/* ---- output --------------------------------------------------------------------------------- */

int mimir_spdz_output(mimir_spdz *s, const mimir_sv *v, mimir_r64 *const c[2], mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (v == NULL || c == NULL || c[0] == NULL || c[1] == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "output", "no vector or no outputs");
    if ((rc = want(s, v, v->n, "output", err)) != MIMIR_OK)
        return rc;
    if (s->plan) {
        memset(c[0], 0, v->n * sizeof(mimir_r64));
        memset(c[1], 0, v->n * sizeof(mimir_r64));
        return MIMIR_OK;
    }
    if ((rc = mimir_spdz_check(s, err)) != MIMIR_OK)
        return rc;
    /* rho_0, rho_1 from a fresh public DRBG per output, rho_2 = -rho_0 - rho_1 */
    size_t n = v->n, bytes;
    if (mimir_size_mul(n, 8, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "output", "too many elements");
    char label[64];
    snprintf(label, sizeof label, "%s:%llu", OUTPUT_LABEL, (unsigned long long)s->n_output++);
    mimir_drbg *d = mimir_key_alloc(sizeof *d);
    mimir_r64 *rho = mimir_secret_alloc(bytes ? 2 * bytes : 1);
    if (d == NULL || rho == NULL) {
        mimir_key_free(d);
        mimir_secret_free(rho);
        return oom(err, "output");
    }
    rc = mimir_coin_public_drbg(s->coin, label, d, err);
    if (rc == MIMIR_OK && (mimir_drbg_fill(d, (uint8_t *)rho, bytes) != MIMIR_OK ||
                           mimir_drbg_fill(d, (uint8_t *)(rho + n), bytes) != MIMIR_OK))
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "output", "the public generator failed");
    mimir_drbg_wipe(d);
    mimir_key_free(d);
    if (rc == MIMIR_OK) {
        for (size_t j = 0; j < n; j++) {
            mimir_r64 r[3];
            r[0] = rho[j];
            r[1] = rho[n + j];
#if HOST_BE
            r[0] = __builtin_bswap64(r[0]);
            r[1] = __builtin_bswap64(r[1]);
#endif
            r[2] = (mimir_r64)0 - r[0] - r[1];
            c[0][j] = (mimir_r64)v->x[0][j] + r[s->self];
            c[1][j] = (mimir_r64)v->x[1][j] + r[s->next];
        }
    }
    mimir_secret_free(rho);
    return rc;
}

/* ---- multiplication ------------------------------------------------------------------------- */

int mimir_spdz_mul(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "mul", "no operand");
    size_t n = a->n;
    if ((rc = want(s, a, n, "a", err)) || (rc = want(s, b, n, "b", err)) ||
        (rc = want(s, out, n, "out", err)))
        return rc;
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "mul", "no preprocessing source");
    mimir_sv ta = {0}, tb = {0}, tc = {0};
    if ((rc = mimir_prep_triples(s->prep, n, &ta, &tb, &tc, err)) != MIMIR_OK)
        return rc;
    if ((rc = want(s, &ta, n, "triple", err)) || (rc = want(s, &tb, n, "triple", err)) ||
        (rc = want(s, &tc, n, "triple", err)))
        goto out;
    if (s->plan) {
        plan_open(s, 2 * n);
        s->st.muls++;
        s->st.mul_elements += n;
        goto out;
    }
    mimir_r128 *d, *e;
#if HOST_BE
    if ((rc = grow_pub(s, 2 * n, err)) != MIMIR_OK)
        goto out;
    /* d = a - t.a, e = b - t.b, in the triple's own words */
    for (int q = 0; q < narr(s); q++) {
        mimir_r128_sub(arr(&ta, q), arr(a, q), arr(&ta, q), n);
        mimir_r128_sub(arr(&tb, q), arr(b, q), arr(&tb, q), n);
    }
    d = s->pub, e = s->pub + n;
    const unsigned pre = 0;
#else
    /* d = a - t.a, e = b - t.b, each component written where the open reads it: the first
     * components as the message (sbuf), the first MAC components into the pending batch, the
     * second components into the triple's words (the copy digest reads them); the second MAC
     * components of d and e are never used by an open and not computed. d and e are opened
     * into the pending batch (no copy). */
    if ((rc = open_room(s, 2 * n, err)) != MIMIR_OK ||
        (rc = grow(&s->sbuf, &s->scap, 2 * n * W, err)) != MIMIR_OK)
        goto out;
    mimir_r128 *sx = (mimir_r128 *)s->sbuf;
    mimir_r128_sub(sx, a->x[0], ta.x[0], n);
    mimir_r128_sub(sx + n, b->x[0], tb.x[0], n);
    mimir_r128_sub(ta.x[1], a->x[1], ta.x[1], n);
    mimir_r128_sub(tb.x[1], b->x[1], tb.x[1], n);
    if (s->macs) {
        mimir_r128_sub(s->pm + s->pending, a->m[0], ta.m[0], n);
        mimir_r128_sub(s->pm + s->pending + n, b->m[0], tb.m[0], n);
    }
    d = s->py + s->pending, e = d + n;
    const unsigned pre = PRE_X0 | PRE_M0;
#endif
    const mimir_sv *ov[2] = {&ta, &tb};
    mimir_r128 *oo[2] = {d, e};
    if ((rc = open_impl(s, "mul", 2, ov, oo, pre, err)) != MIMIR_OK)
        goto out;
    /* z = c + d b + e a - d e (= c + d t.b + e t.a + d e, with a = t.a + d, b = t.b + e);
     * elementwise (element j of every array read before it is written), so out may alias a
     * or b. One pass over d and e for all four arrays. */
    const mimir_r128 sub0 = holds0(s, 0) ? 1 : 0, sub1 = holds0(s, 1) ? 1 : 0; /* public */
    mimir_r128 *o0 = out->x[0], *o1 = out->x[1];
    const mimir_r128 *a0 = a->x[0], *a1 = a->x[1], *b0 = b->x[0], *b1 = b->x[1];
    const mimir_r128 *c0 = tc.x[0], *c1 = tc.x[1];
    if (!s->macs) {
        for (size_t j = 0; j < n; j++) {
            const mimir_r128 dj = d[j], ej = e[j], de = dj * ej;
            o0[j] = c0[j] + dj * b0[j] + ej * a0[j] - sub0 * de;
            o1[j] = c1[j] + dj * b1[j] + ej * a1[j] - sub1 * de;
        }
    } else {
        const mimir_r128 al0 = s->alpha[0], al1 = s->alpha[1];
        mimir_r128 *om0 = out->m[0], *om1 = out->m[1];
        const mimir_r128 *ma0 = a->m[0], *ma1 = a->m[1], *mb0 = b->m[0], *mb1 = b->m[1];
        const mimir_r128 *mc0 = tc.m[0], *mc1 = tc.m[1];
        for (size_t j = 0; j < n; j++) {
            const mimir_r128 dj = d[j], ej = e[j], de = dj * ej;
            o0[j] = c0[j] + dj * b0[j] + ej * a0[j] - sub0 * de;
            o1[j] = c1[j] + dj * b1[j] + ej * a1[j] - sub1 * de;
            om0[j] = mc0[j] + dj * mb0[j] + ej * ma0[j] - al0 * de;
            om1[j] = mc1[j] + dj * mb1[j] + ej * ma1[j] - al1 * de;
        }
    }
    s->st.muls++;
    s->st.mul_elements += n;
out:
    mimir_sv_free(&ta);
    mimir_sv_free(&tb);
    mimir_sv_free(&tc);
    return rc;
}

int mimir_spdz_matmul(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                      size_t rows, size_t inner, size_t cols, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    size_t ri, ic, rcn;
    if ((rc = shape(rows, inner, cols, &ri, &ic, &rcn, err)) ||
        (rc = want(s, a, ri, "a", err)) || (rc = want(s, b, ic, "b", err)) ||
        (rc = want(s, out, rcn, "out", err)))
        return rc;
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "matmul", "no preprocessing source");
    mimir_sv tA = {0}, tB = {0}, tC = {0};
    mimir_r128 *tmp = NULL;
    if ((rc = mimir_prep_matrix(s->prep, rows, inner, cols, &tA, &tB, &tC, err)) != MIMIR_OK)
        return rc;
    if ((rc = want(s, &tA, ri, "matrix triple", err)) ||
        (rc = want(s, &tB, ic, "matrix triple", err)) ||
        (rc = want(s, &tC, rcn, "matrix triple", err)))
        goto out;
    if (s->plan) {
        plan_open(s, ri + ic);
        s->st.matmuls++;
        goto out;
    }
    if ((rc = grow_pub(s, ri + ic + rcn, err)) != MIMIR_OK)
        goto out;
    if ((tmp = mimir_secret_alloc(rcn ? rcn * W : 1)) == NULL) {
        rc = oom(err, "matmul");
        goto out;
    }
    for (int q = 0; q < narr(s); q++) {
        mimir_r128_sub(arr(&tA, q), arr(a, q), arr(&tA, q), ri);
        mimir_r128_sub(arr(&tB, q), arr(b, q), arr(&tB, q), ic);
    }
    mimir_r128 *D = s->pub, *E = s->pub + ri, *DE = s->pub + ri + ic;
    const mimir_sv *ov[2] = {&tA, &tB};
    mimir_r128 *oo[2] = {D, E};
    if ((rc = open_impl(s, "matmul", 2, ov, oo, 0, err)) != MIMIR_OK)
        goto out;
    /* Z = C + D b + a E - D E (= C + D B + A E + D E); accumulated in C, then copied, so out
     * may alias a or b */
    mimir_r128_matmul(DE, D, E, rows, inner, cols);
    for (int q = 0; q < narr(s); q++) {
        mimir_r128 *acc = arr(&tC, q);
        mimir_r128_matmul(tmp, D, arr(b, q), rows, inner, cols);
        mimir_r128_add(acc, acc, tmp, rcn);
        mimir_r128_matmul(tmp, arr(a, q), E, rows, inner, cols);
        mimir_r128_add(acc, acc, tmp, rcn);
    }
    for (int k = 0; k < 2; k++)
        if (holds0(s, k))
            mimir_r128_sub(tC.x[k], tC.x[k], DE, rcn);
    if (s->macs)
        for (int k = 0; k < 2; k++) {
            const mimir_r128 al = s->alpha[k];
            mimir_r128 *m = tC.m[k];
            for (size_t j = 0; j < rcn; j++)
                m[j] -= al * DE[j];
        }
    for (int q = 0; q < narr(s); q++)
        memcpy(arr(out, q), arr(&tC, q), rcn * W);
    s->st.matmuls++;
out:
    mimir_secret_free(tmp);
    mimir_sv_free(&tA);
    mimir_sv_free(&tB);
    mimir_sv_free(&tC);
    return rc;
}

/* ---- truncation ----------------------------------------------------------------------------- */

int mimir_spdz_trunc(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, unsigned f,
                     mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (a == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "trunc", "no operand");
    size_t n = a->n;
    if ((rc = want(s, a, n, "a", err)) || (rc = want(s, out, n, "out", err)))
        return rc;
    if (f < 1 || f > MIMIR_SPDZ_TRUNC_BOUND_BITS)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "bits", "%u, expected 1..%d", f,
                             MIMIR_SPDZ_TRUNC_BOUND_BITS);
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "trunc", "no preprocessing source");
    mimir_sv r = {0}, rhi = {0}, r63 = {0};
    if ((rc = mimir_prep_trunc(s->prep, n, f, &r, &rhi, &r63, err)) != MIMIR_OK)
        return rc;
    if ((rc = want(s, &r, n, "truncation pair", err)) ||
        (rc = want(s, &rhi, n, "truncation pair", err)) ||
        (rc = want(s, &r63, n, "truncation pair", err)))
        goto out;
    if (s->plan) {
        plan_open(s, n);
        s->st.truncs++;
        s->st.trunc_elements += n;
        goto out;
    }
    /* the opened c lands in the pending batch (no copy) and so does the first MAC component
     * of the masked value; the second MAC component is never used by the open and is not
     * computed */
    mimir_r128 *cv, *cm;
#if HOST_BE
    if ((rc = grow_pub(s, n, err)) != MIMIR_OK)
        goto out;
    cv = s->pub, cm = r.m[0];
    const unsigned pre = 0;
#else
    if ((rc = open_room(s, n, err)) != MIMIR_OK)
        goto out;
    cv = s->py + s->pending, cm = s->macs ? s->pm + s->pending : NULL;
    const unsigned pre = s->macs ? PRE_M0 : 0;
#endif
    /* r := a + 2^62 + r (the shift makes a non-negative: |x| < 2^62) */
    const mimir_r128 shift = (mimir_r128)1 << 62;
    for (int k = 0; k < 2; k++) {
        const mimir_r128 add0 = holds0(s, k) ? shift : 0; /* public: the party index */
        mimir_r128 *rx = r.x[k];
        const mimir_r128 *ax = a->x[k];
        for (size_t j = 0; j < n; j++)
            rx[j] += ax[j] + add0;
    }
    if (s->macs) {
        const mimir_r128 am = s->alpha[0] * shift;
        const mimir_r128 *rm = r.m[0], *ma = a->m[0];
        for (size_t j = 0; j < n; j++)
            cm[j] = rm[j] + ma[j] + am;
    }
    const mimir_sv *ov[1] = {&r};
    mimir_r128 *oo[1] = {cv};
    if ((rc = open_impl(s, "trunc", 1, ov, oo, pre, err)) != MIMIR_OK)
        goto out;
    /* out = c_low - r_hi + 2^(63-f) (c63 + r_63 - 2 c63 r_63) - 2^(62-f)
     *     = [c_low + 2^(63-f) c63 - 2^(62-f)] - r_hi + 2^(63-f) (1 - 2 c63) r_63 */
    const mimir_r128 hi = (mimir_r128)1 << (63 - f), off = (mimir_r128)1 << (62 - f);
    for (int k = 0; k < 2; k++) {
        const mimir_r128 use0 = holds0(s, k) ? 1 : 0;
        mimir_r128 *o = out->x[k];
        const mimir_r128 *xh = rhi.x[k], *xb = r63.x[k];
        for (size_t j = 0; j < n; j++) {
            uint64_t c64 = (uint64_t)cv[j];
            mimir_r128 c63 = c64 >> 63;
            mimir_r128 pubv = (mimir_r128)((c64 & ~(UINT64_C(1) << 63)) >> f) + hi * c63 - off;
            mimir_r128 coef = hi * (1 - 2 * c63);
            o[j] = use0 * pubv - xh[j] + coef * xb[j];
        }
        if (!s->macs)
            continue;
        const mimir_r128 al = s->alpha[k];
        mimir_r128 *om = out->m[k];
        const mimir_r128 *mh = rhi.m[k], *mb = r63.m[k];
        for (size_t j = 0; j < n; j++) {
            uint64_t c64 = (uint64_t)cv[j];
            mimir_r128 c63 = c64 >> 63;
            mimir_r128 pubv = (mimir_r128)((c64 & ~(UINT64_C(1) << 63)) >> f) + hi * c63 - off;
            mimir_r128 coef = hi * (1 - 2 * c63);
            om[j] = al * pubv - mh[j] + coef * mb[j];
        }
    }
    s->st.truncs++;
    s->st.trunc_elements += n;
out:
    mimir_sv_free(&r);
    mimir_sv_free(&rhi);
    mimir_sv_free(&r63);
    return rc;
}

/* ---- products with fixed weights ------------------------------------------------------------ */

#define WBLOCK 16384 /* mask words regenerated per block in a weight product */

struct mimir_spdz_weight {
    size_t inner, cols;
    mimir_r64 *E;      /* E mod 2^64 (public; NULL in plan mode) */
    mimir_wmask mask;  /* this party's compact part of B */
};

void mimir_spdz_weight_free(mimir_spdz_weight *w)
{
    if (w == NULL)
        return;
    free(w->E);
    mimir_wmask_free(&w->mask);
    free(w);
}

size_t mimir_spdz_weight_bytes(const mimir_spdz_weight *w)
{
    if (w == NULL)
        return 0;
    return (w->E != NULL ? w->inner * w->cols * sizeof(mimir_r64) : 0) +
           mimir_wmask_bytes(&w->mask);
}

void mimir_spdz_weight_shape(const mimir_spdz_weight *w, size_t *inner, size_t *cols)
{
    *inner = w != NULL ? w->inner : 0;
    *cols = w != NULL ? w->cols : 0;
}

/* A new weight with a fresh mask of inner x cols from the source. */
static int weight_new(mimir_spdz *s, size_t inner, size_t cols, mimir_spdz_weight **out,
                      mimir_err *err)
{
    size_t n;
    *out = NULL;
    if (inner == 0 || cols == 0 || mimir_size_mul(inner, cols, &n) != 0 ||
        n > MIMIR_SPDZ_WEIGHT_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight",
                             "shape %zux%zu, expected 1 to 2^32 elements", inner, cols);
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight", "no preprocessing source");
    mimir_spdz_weight *w = calloc(1, sizeof *w);
    if (w == NULL)
        return oom(err, "weight");
    w->inner = inner;
    w->cols = cols;
    int rc = mimir_prep_wmask(s->prep, inner, cols, &w->mask, err);
    if (rc == MIMIR_OK && (w->mask.inner != inner || w->mask.cols != cols ||
                           (!s->plan && (w->mask.hollow || w->mask.macs != s->macs))))
        rc = mimir_err_set(err, MIMIR_EINPUT, NULL, "weight mask",
                           "%zux%zu%s from the source, expected %zux%zu%s", w->mask.inner,
                           w->mask.cols, w->mask.hollow ? " (hollow)" : "", inner, cols,
                           s->macs ? " with MACs" : "");
    if (rc == MIMIR_OK && !s->plan && (w->E = malloc(n * sizeof *w->E)) == NULL)
        rc = oom(err, "weight");
    if (rc != MIMIR_OK) {
        mimir_spdz_weight_free(w);
        return rc;
    }
    *out = w;
    return MIMIR_OK;
}

/* Opens elements [off, off + n) of W - B (wc: those elements of W) into E; checks the pending
 * batch when it reaches MIMIR_SPDZ_WEIGHT_CHECK. */
static int weight_open(mimir_spdz *s, mimir_spdz_weight *w, const mimir_sv *wc, size_t off,
                       size_t n, mimir_err *err)
{
    if (s->plan) {
        plan_open(s, n);
        return MIMIR_OK;
    }
    mimir_sv t = {0};
    int rc = mimir_sv_alloc(&t, n, s->macs, err);
    if (rc == MIMIR_OK)
        rc = grow_pub(s, n, err);
    if (rc != MIMIR_OK) {
        mimir_sv_free(&t);
        return rc;
    }
    for (int q = 0; q < narr(s); q++) {
        mimir_wmask_words(&w->mask, q, off, n, arr(&t, q));
        mimir_r128_sub(arr(&t, q), arr(wc, q), arr(&t, q), n);
    }
    const mimir_sv *ov[1] = {&t};
    mimir_r128 *oo[1] = {s->pub};
    rc = open_impl(s, "weight", 1, ov, oo, 0, err);
    mimir_sv_free(&t);
    if (rc != MIMIR_OK)
        return rc;
    for (size_t j = 0; j < n; j++)
        w->E[off + j] = (mimir_r64)s->pub[j];
    if (s->pending >= MIMIR_SPDZ_WEIGHT_CHECK)
        rc = mimir_spdz_check(s, err);
    return rc;
}

/* Elements [off, off + n) of v as a view (no ownership). */
static void sv_view(const mimir_spdz *s, mimir_sv *v, const mimir_sv *base, size_t off,
                    size_t n)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    if (base->x[0] == NULL)
        return;
    for (int k = 0; k < 2; k++) {
        v->x[k] = base->x[k] + off;
        if (s->macs)
            v->m[k] = base->m[k] + off;
    }
}

/* Expands the mask's seeded components into explicit ones (secret memory) if the engine's
 * budget allows: every product then reads them instead of regenerating them. The values are
 * the same words (mimir_wmask_words reads either), so nothing else changes. */
static void weight_cache(mimir_spdz *s, mimir_spdz_weight *w)
{
    size_t n = w->inner * w->cols, need = 0;
    if (s->plan || w->mask.hollow)
        return;
    for (int q = 0; q < narr(s); q++)
        need += w->mask.expl[q] == NULL ? n * W : 0;
    size_t budget = MIMIR_SPDZ_MASK_CACHE_BYTES;
#ifdef MIMIR_TEST_HOOKS
    if (s->fault.no_mask_cache)
        budget = 0; /* TEST HOOK: the regenerating path */
#endif
    if (need == 0 || s->mask_cache + need > budget)
        return;
    mimir_r128 *c[4] = {NULL, NULL, NULL, NULL};
    for (int q = 0; q < narr(s); q++)
        if (w->mask.expl[q] == NULL && (c[q] = mimir_secret_alloc_overwritten(n * W)) == NULL) {
            for (int k = 0; k < q; k++)
                mimir_secret_free(c[k]);
            return; /* no room: the product regenerates them, as before */
        }
    for (int q = 0; q < narr(s); q++)
        if (c[q] != NULL) {
            mimir_wmask_words(&w->mask, q, 0, n, c[q]);
            w->mask.expl[q] = c[q];
        }
    s->mask_cache += need;
}

int mimir_spdz_weight_load(mimir_spdz *s, const mimir_sv *w, size_t inner, size_t cols,
                           mimir_spdz_weight **out, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight", "no output");
    *out = NULL;
    mimir_spdz_weight *wt = NULL;
    if ((rc = weight_new(s, inner, cols, &wt, err)) != MIMIR_OK ||
        (rc = want(s, w, inner * cols, "weight", err)) != MIMIR_OK) {
        mimir_spdz_weight_free(wt);
        return rc;
    }
    size_t n = inner * cols;
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += MIMIR_SPDZ_INPUT_CHUNK) {
        size_t k = n - off < MIMIR_SPDZ_INPUT_CHUNK ? n - off : MIMIR_SPDZ_INPUT_CHUNK;
        mimir_sv v;
        sv_view(s, &v, w, off, k);
        rc = weight_open(s, wt, &v, off, k, err);
    }
    if (rc != MIMIR_OK) {
        mimir_spdz_weight_free(wt);
        return rc;
    }
    weight_cache(s, wt);
    *out = wt;
    return MIMIR_OK;
}

int mimir_spdz_weight_input(mimir_spdz *s, const mimir_r64 *const c[2], size_t inner,
                            size_t cols, mimir_spdz_weight **out, mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (out == NULL || c == NULL || c[0] == NULL || c[1] == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight",
                             "no components or no output, expected both");
    *out = NULL;
    if (s->plan)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight",
                             "no input in plan mode, expected mimir_spdz_weight_load");
    mimir_spdz_weight *wt = NULL;
    if ((rc = weight_new(s, inner, cols, &wt, err)) != MIMIR_OK)
        return rc;
    size_t n = inner * cols;
    for (size_t off = 0; rc == MIMIR_OK && off < n; off += MIMIR_SPDZ_INPUT_CHUNK) {
        size_t k = n - off < MIMIR_SPDZ_INPUT_CHUNK ? n - off : MIMIR_SPDZ_INPUT_CHUNK;
        const mimir_r64 *const cc[2] = {c[0] + off, c[1] + off};
        mimir_sv v = {0};
        rc = mimir_spdz_input_shares(s, cc, k, &v, err);
        if (rc == MIMIR_OK)
            rc = weight_open(s, wt, &v, off, k, err);
        mimir_sv_free(&v);
    }
    if (rc != MIMIR_OK) {
        mimir_spdz_weight_free(wt);
        return rc;
    }
    weight_cache(s, wt);
    *out = wt;
    return MIMIR_OK;
}

/* acc (rows x cout) += D B_q + xq E' over mask rows [i0, i0 + k) held in blk (B_q's words of
 * those rows) and E (E' from row i0). Not transposed: D, xq rows x inner, out rows x cols.
 * Transposed: D, xq rows x cols, out rows x inner. */
static void weight_block(const mimir_spdz_weight *w, int transposed, size_t rows,
                         const mimir_r128 *D, const mimir_r128 *xq, const mimir_r128 *blk,
                         const mimir_r64 *E, size_t i0, size_t k, mimir_r128 *acc)
{
    size_t inner = w->inner, cols = w->cols;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < k; i++) {
            const mimir_r128 *b = blk + i * cols;
            const mimir_r64 *e = E + i * cols;
            if (!transposed) {
                const mimir_r128 d = D[r * inner + i0 + i], x = xq[r * inner + i0 + i];
                mimir_r128 *a = acc + r * cols;
                for (size_t j = 0; j < cols; j++)
                    a[j] += d * b[j] + x * (mimir_r128)e[j];
            } else {
                const mimir_r128 *d = D + r * cols, *x = xq + r * cols;
                mimir_r128 sum = 0;
                for (size_t j = 0; j < cols; j++)
                    sum += d[j] * b[j] + x[j] * (mimir_r128)e[j];
                acc[r * inner + i0 + i] += sum;
            }
        }
}

int mimir_spdz_weight_matmul(mimir_spdz *s, mimir_sv *out, const mimir_sv *x,
                             const mimir_spdz_weight *w, size_t rows, int transposed,
                             mimir_err *err)
{
    int rc = alive(s, err);
    if (rc != MIMIR_OK)
        return rc;
    if (w == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight", "no weight");
    size_t ain = transposed ? w->cols : w->inner, cout = transposed ? w->inner : w->cols;
    size_t nx, no;
    if (rows == 0 || mimir_size_mul(rows, ain, &nx) != 0 || mimir_size_mul(rows, cout, &no) ||
        nx > SIZE_MAX / (4 * W) || no > SIZE_MAX / (4 * W))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "shape", "%zu rows, expected from 1",
                             rows);
    if ((rc = want(s, x, nx, "x", err)) || (rc = want(s, out, no, "out", err)))
        return rc;
    if (!s->plan && out->mem != NULL && out->mem == x->mem)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "out", "aliases x, expected another");
    if (s->prep == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "weight", "no preprocessing source");
    mimir_sv tA = {0}, tC = {0};
    mimir_r128 *blk = NULL;
    if ((rc = mimir_prep_wpair(s->prep, &w->mask, rows, transposed, &tA, &tC, err)))
        return rc;
    if ((rc = want(s, &tA, nx, "weight pair", err)) ||
        (rc = want(s, &tC, no, "weight pair", err)))
        goto out;
    if (s->plan) {
        plan_open(s, nx);
        s->st.matmuls++;
        goto out;
    }
    if ((rc = grow_pub(s, nx, err)) != MIMIR_OK)
        goto out;
    size_t rb = WBLOCK / w->cols ? WBLOCK / w->cols : 1; /* mask rows per block */
    if ((blk = mimir_secret_alloc(rb * w->cols * W)) == NULL) {
        rc = oom(err, "weight");
        goto out;
    }
    for (int q = 0; q < narr(s); q++)
        mimir_r128_sub(arr(&tA, q), arr(x, q), arr(&tA, q), nx);
    mimir_r128 *D = s->pub;
    const mimir_sv *ov[1] = {&tA};
    mimir_r128 *oo[1] = {D};
    if ((rc = open_impl(s, "weight-matmul", 1, ov, oo, 0, err)) != MIMIR_OK)
        goto out;
    /* out = C + D B + x E' (x E' = A E' + D E'), every word array alike */
    for (size_t i0 = 0; i0 < w->inner; i0 += rb) {
        size_t k = w->inner - i0 < rb ? w->inner - i0 : rb;
        for (int q = 0; q < narr(s); q++) {
            const mimir_r128 *bq = blk; /* an explicit component is read in place */
            if (w->mask.expl[q] != NULL)
                bq = w->mask.expl[q] + i0 * w->cols;
            else
                mimir_wmask_words(&w->mask, q, i0 * w->cols, k * w->cols, blk);
            weight_block(w, transposed, rows, D, arr(x, q), bq, w->E + i0 * w->cols, i0, k,
                         arr(&tC, q));
        }
    }
    for (int q = 0; q < narr(s); q++)
        memcpy(arr(out, q), arr(&tC, q), no * W);
    s->st.matmuls++;
out:
    mimir_secret_free(blk);
    mimir_sv_free(&tA);
    mimir_sv_free(&tC);
    return rc;
}
