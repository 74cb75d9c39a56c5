/*
 * drbg.c — HMAC_DRBG (SHA-256), NIST SP 800-90A Rev.1 section 10.1.2. See drbg.h.
 *
 * HMAC-SHA256 (RFC 2104) is computed here over OpenSSL's SHA-256 compression (SHA256_Init /
 * Update / Final, which use the CPU's SHA extensions where present): when K changes, the
 * states after the inner (K ^ ipad) and outer (K ^ opad) key blocks are computed once, and each
 * HMAC copies them, so one 32-byte output block costs two SHA-256 compressions and no
 * allocation. The EVP_MAC interface used before allocated a context per call and dispatched
 * through the provider per block: 89% of a weight load's CPU (docs/performance.md). The
 * low-level SHA-256 calls are deprecated in OpenSSL 3 but present; they are the only ones here.
 * The key states live on the caller's stack and are wiped before each function returns.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init / Update / Final (see above) */

#include "drbg.h"

#include <openssl/sha.h>
#include <string.h>

#include "err.h"
#include "mem.h"

#define MAX_PARTS 5 /* V, the 0x00/0x01 byte, and up to three pieces of provided data */
#define DOMAIN "mimir-drbg-v1:"
#define BLOCK 64    /* SHA-256 block bytes */

struct part {
    const uint8_t *p;
    size_t n;
};

/* HMAC-SHA256 under one key: the SHA-256 states after the inner and outer padded key. */
typedef struct hkey {
    SHA256_CTX in, out;
} hkey;

static int hkey_set(hkey *h, const uint8_t key[MIMIR_DRBG_KEYLEN])
{
    uint8_t pad[BLOCK];
    memset(pad, 0x36, sizeof pad);
    for (int i = 0; i < MIMIR_DRBG_KEYLEN; i++)
        pad[i] ^= key[i];
    int ok = SHA256_Init(&h->in) == 1 && SHA256_Update(&h->in, pad, BLOCK) == 1;
    for (int i = 0; i < BLOCK; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    ok = ok && SHA256_Init(&h->out) == 1 && SHA256_Update(&h->out, pad, BLOCK) == 1;
    mimir_wipe(pad, sizeof pad);
    return ok ? 0 : -1;
}

/* out = HMAC(key, parts[0] || ... || parts[np-1]). key == NULL reuses h's last key.
 * out may alias an input part or the key: every input is consumed before out is written. */
static int hmac(hkey *h, const uint8_t *key, const struct part *parts, size_t np,
                uint8_t out[MIMIR_DRBG_OUTLEN])
{
    if (key != NULL && hkey_set(h, key) != 0)
        return -1;
    SHA256_CTX c = h->in;
    uint8_t inner[SHA256_DIGEST_LENGTH];
    int ok = 1;
    for (size_t i = 0; i < np && ok; i++)
        if (parts[i].n > 0)
            ok = SHA256_Update(&c, parts[i].p, parts[i].n) == 1;
    ok = ok && SHA256_Final(inner, &c) == 1;
    c = h->out;
    ok = ok && SHA256_Update(&c, inner, sizeof inner) == 1 && SHA256_Final(out, &c) == 1;
    mimir_wipe(&c, sizeof c);
    mimir_wipe(inner, sizeof inner);
    return ok ? 0 : -1;
}

/* out = HMAC(h's key, in) for a 32-byte in (the generate loop's V = HMAC(K, V)): each of the
 * two hashes is one SHA-256 block, in || 0x80 || 0 .. || bit length (64 + 32) * 8 (FIPS 180-4
 * section 5.1.1) compressed from the key state, so no buffering. out may alias in. c and blk
 * are the caller's scratch (wiped by it once after its loop); blk[32..63] must hold the
 * padding, as pad32 sets it. */
static void pad32(uint8_t blk[BLOCK])
{
    memset(blk, 0, BLOCK);
    blk[32] = 0x80;
    blk[62] = (BLOCK + 32) * 8 >> 8; /* 768 bits: the key block and 32 bytes */
    blk[63] = (uint8_t)((BLOCK + 32) * 8);
}

static void hmac32(const hkey *h, const uint8_t in[MIMIR_DRBG_OUTLEN],
                   uint8_t out[MIMIR_DRBG_OUTLEN], SHA256_CTX *c, uint8_t blk[BLOCK])
{
    *c = h->in;
    memcpy(blk, in, 32);
    SHA256_Transform(c, blk);
    for (int i = 0; i < 8; i++) /* the inner digest, big-endian words, is the outer message */
        for (int k = 0; k < 4; k++)
            blk[4 * i + k] = (uint8_t)(c->h[i] >> (24 - 8 * k));
    *c = h->out;
    SHA256_Transform(c, blk);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = (uint8_t)(c->h[i] >> (24 - 8 * k));
}

/* HMAC_DRBG_Update (10.1.2.2), provided_data = data[0] || ... || data[nd-1]:
 *   1. K = HMAC(K, V || 0x00 || provided_data)    2. V = HMAC(K, V)
 *   3. if provided_data is Null (empty), return
 *   4. K = HMAC(K, V || 0x01 || provided_data)    5. V = HMAC(K, V) */
static int update(hkey *c, mimir_drbg *d, const struct part *data, size_t nd)
{
    static const uint8_t sep[2] = {0x00, 0x01};
    struct part parts[MAX_PARTS];
    size_t total = 0;
    parts[0] = (struct part){d->V, sizeof d->V};
    for (size_t i = 0; i < nd; i++) {
        parts[2 + i] = data[i];
        total += data[i].n;
    }
    for (int round = 0; round < 2; round++) {
        parts[1] = (struct part){&sep[round], 1};
        if (hmac(c, d->K, parts, 2 + nd, d->K) != 0)
            return -1;
        if (hmac(c, d->K, parts, 1, d->V) != 0)
            return -1;
        if (total == 0)
            break;
    }
    return 0;
}

static int bad_input(const uint8_t *p, size_t n)
{
    return (p == NULL && n > 0) || n > MIMIR_DRBG_MAX_INPUT;
}

/* A failure inside HMAC leaves K and V half updated: wipe them so that the state can never
 * produce output again (reseed_counter becomes 0). */
static int fail(hkey *c, mimir_drbg *d)
{
    mimir_wipe(c, sizeof *c);
    mimir_drbg_wipe(d);
    return MIMIR_ERUNTIME;
}

int mimir_drbg_instantiate(mimir_drbg *d, const uint8_t *entropy, size_t elen,
                           const uint8_t *nonce, size_t nlen, const uint8_t *pers, size_t plen)
{
    if (d == NULL || entropy == NULL || elen < MIMIR_DRBG_MIN_ENTROPY ||
        bad_input(entropy, elen) || bad_input(nonce, nlen) || bad_input(pers, plen))
        return MIMIR_EINPUT;
    hkey hk, *c = &hk;
    /* 10.1.2.3: seed_material = entropy_input || nonce || personalization_string;
     * Key = 0x00 00...00; V = 0x01 01...01; (Key, V) = Update(seed_material); counter = 1. */
    memset(d->K, 0x00, sizeof d->K);
    memset(d->V, 0x01, sizeof d->V);
    struct part seed[3] = {{entropy, elen}, {nonce, nlen}, {pers, plen}};
    if (update(c, d, seed, 3) != 0)
        return fail(c, d);
    d->reseed_counter = 1;
    mimir_wipe(c, sizeof *c);
    return MIMIR_OK;
}

int mimir_drbg_reseed(mimir_drbg *d, const uint8_t *entropy, size_t elen, const uint8_t *add,
                      size_t alen)
{
    if (d == NULL || entropy == NULL || elen < MIMIR_DRBG_MIN_ENTROPY ||
        bad_input(entropy, elen) || bad_input(add, alen))
        return MIMIR_EINPUT;
    if (d->reseed_counter == 0)
        return MIMIR_EINPUT; /* reseeding needs an instantiated state */
    hkey hk, *c = &hk;
    /* 10.1.2.4: seed_material = entropy_input || additional_input;
     * (Key, V) = Update(seed_material, Key, V); reseed_counter = 1. */
    struct part seed[2] = {{entropy, elen}, {add, alen}};
    if (update(c, d, seed, 2) != 0)
        return fail(c, d);
    d->reseed_counter = 1;
    mimir_wipe(c, sizeof *c);
    return MIMIR_OK;
}

int mimir_drbg_generate(mimir_drbg *d, uint8_t *out, size_t n, const uint8_t *add, size_t alen)
{
    if (d == NULL || (out == NULL && n > 0) || n > MIMIR_DRBG_MAX_REQUEST ||
        bad_input(add, alen) || d->reseed_counter == 0)
        return MIMIR_EINPUT;
    /* 10.1.2.5 step 1: if reseed_counter > reseed_interval, a reseed is required. */
    if (d->reseed_counter > MIMIR_DRBG_RESEED_INTERVAL)
        return MIMIR_ESECURITY;
    hkey hk, *c = &hk;
    struct part a = {add, alen};
    /* Step 2: if additional_input != Null, (Key, V) = Update(additional_input, Key, V). */
    if (alen > 0 && update(c, d, &a, 1) != 0)
        goto failed;
    /* Steps 3-5: V = HMAC(Key, V), appended until n bytes; the leftmost n bytes are returned.
     * K is fixed during the loop: its key states are computed once. */
    if (n > 0 && hkey_set(c, d->K) != 0)
        goto failed;
    SHA256_CTX sc;
    uint8_t blk[BLOCK];
    pad32(blk);
    for (size_t off = 0; off < n; off += MIMIR_DRBG_OUTLEN) {
        hmac32(c, d->V, d->V, &sc, blk);
        size_t take = n - off < MIMIR_DRBG_OUTLEN ? n - off : MIMIR_DRBG_OUTLEN;
        memcpy(out + off, d->V, take);
    }
    mimir_wipe(&sc, sizeof sc);
    mimir_wipe(blk, sizeof blk);
    /* Step 6: (Key, V) = Update(additional_input, Key, V), done even when it is Null.
     * Step 7: reseed_counter = reseed_counter + 1. */
    if (update(c, d, &a, 1) != 0)
        goto failed;
    d->reseed_counter++;
    mimir_wipe(c, sizeof *c);
    return MIMIR_OK;
failed:
    mimir_wipe(out, n);
    return fail(c, d);
}

int mimir_drbg_fill(mimir_drbg *d, uint8_t *out, size_t n)
{
    if (out == NULL && n > 0)
        return MIMIR_EINPUT;
    for (size_t off = 0; off < n; off += MIMIR_DRBG_MAX_REQUEST) {
        size_t take = n - off < MIMIR_DRBG_MAX_REQUEST ? n - off : MIMIR_DRBG_MAX_REQUEST;
        int rc = mimir_drbg_generate(d, out + off, take, NULL, 0);
        if (rc != MIMIR_OK) {
            mimir_wipe(out, n); /* never hand out a partly filled buffer */
            return rc;
        }
    }
    return MIMIR_OK;
}

int mimir_drbg_from_seed(mimir_drbg *d, const uint8_t *seed, size_t seedlen, const char *label)
{
    if (label == NULL || seed == NULL)
        return MIMIR_EINPUT;
    size_t llen = strnlen(label, MIMIR_DRBG_MAX_LABEL + 1);
    if (llen == 0 || llen > MIMIR_DRBG_MAX_LABEL)
        return MIMIR_EINPUT;
    /* pers = DOMAIN || label || uint64_be(seedlen): read from the end, the seed material
     * seed || pers decodes uniquely, so no two (seed, label) pairs share it. */
    uint8_t pers[sizeof DOMAIN - 1 + MIMIR_DRBG_MAX_LABEL + 8];
    size_t plen = 0;
    memcpy(pers, DOMAIN, sizeof DOMAIN - 1);
    plen += sizeof DOMAIN - 1;
    memcpy(pers + plen, label, llen);
    plen += llen;
    for (int i = 7; i >= 0; i--)
        pers[plen++] = (uint8_t)((uint64_t)seedlen >> (8 * i));
    return mimir_drbg_instantiate(d, seed, seedlen, NULL, 0, pers, plen);
}

void mimir_drbg_wipe(mimir_drbg *d)
{
    if (d != NULL)
        mimir_wipe(d, sizeof *d);
}
