/*
 * drbg.c — HMAC_DRBG (SHA-256), NIST SP 800-90A Rev.1 section 10.1.2. See drbg.h.
 *
 * HMAC-SHA256 comes from OpenSSL 3's EVP_MAC "HMAC". One process-wide template context has the
 * digest set; each call duplicates it once, keys it with K, and re-initialises it with a NULL key
 * (which keeps the precomputed inner/outer pads) for every block until K changes. The context is
 * freed (and cleansed by OpenSSL) before the call returns, so no key material outlives a call
 * outside the mimir_drbg struct.
 */
#include "drbg.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <string.h>

#include "err.h"
#include "mem.h"

#define MAX_PARTS 5 /* V, the 0x00/0x01 byte, and up to three pieces of provided data */
#define DOMAIN "mimir-drbg-v1:"

struct part {
    const uint8_t *p;
    size_t n;
};

static EVP_MAC_CTX *tmpl;
static pthread_once_t tmpl_once = PTHREAD_ONCE_INIT;

static void tmpl_init(void)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL)
        return;
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (c == NULL)
        return;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_CTX_set_params(c, params)) {
        EVP_MAC_CTX_free(c);
        return;
    }
    tmpl = c;
}

static EVP_MAC_CTX *mac_new(void)
{
    if (pthread_once(&tmpl_once, tmpl_init) != 0 || tmpl == NULL)
        return NULL;
    return EVP_MAC_CTX_dup(tmpl);
}

/* out = HMAC(key, parts[0] || ... || parts[np-1]). key == NULL reuses the context's last key.
 * out may alias an input part: every input is consumed before the result is written. */
static int hmac(EVP_MAC_CTX *c, const uint8_t *key, const struct part *parts, size_t np,
                uint8_t out[MIMIR_DRBG_OUTLEN])
{
    size_t olen = 0;
    if (!EVP_MAC_init(c, key, key != NULL ? MIMIR_DRBG_KEYLEN : 0, NULL))
        return -1;
    for (size_t i = 0; i < np; i++)
        if (parts[i].n > 0 && !EVP_MAC_update(c, parts[i].p, parts[i].n))
            return -1;
    if (!EVP_MAC_final(c, out, &olen, MIMIR_DRBG_OUTLEN) || olen != MIMIR_DRBG_OUTLEN)
        return -1;
    return 0;
}

/* HMAC_DRBG_Update (10.1.2.2), provided_data = data[0] || ... || data[nd-1]:
 *   1. K = HMAC(K, V || 0x00 || provided_data)    2. V = HMAC(K, V)
 *   3. if provided_data is Null (empty), return
 *   4. K = HMAC(K, V || 0x01 || provided_data)    5. V = HMAC(K, V) */
static int update(EVP_MAC_CTX *c, mimir_drbg *d, const struct part *data, size_t nd)
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
static int fail(EVP_MAC_CTX *c, mimir_drbg *d)
{
    EVP_MAC_CTX_free(c);
    mimir_drbg_wipe(d);
    return MIMIR_ERUNTIME;
}

int mimir_drbg_instantiate(mimir_drbg *d, const uint8_t *entropy, size_t elen,
                           const uint8_t *nonce, size_t nlen, const uint8_t *pers, size_t plen)
{
    if (d == NULL || entropy == NULL || elen < MIMIR_DRBG_MIN_ENTROPY ||
        bad_input(entropy, elen) || bad_input(nonce, nlen) || bad_input(pers, plen))
        return MIMIR_EINPUT;
    EVP_MAC_CTX *c = mac_new();
    if (c == NULL)
        return MIMIR_ERUNTIME;
    /* 10.1.2.3: seed_material = entropy_input || nonce || personalization_string;
     * Key = 0x00 00...00; V = 0x01 01...01; (Key, V) = Update(seed_material); counter = 1. */
    memset(d->K, 0x00, sizeof d->K);
    memset(d->V, 0x01, sizeof d->V);
    struct part seed[3] = {{entropy, elen}, {nonce, nlen}, {pers, plen}};
    if (update(c, d, seed, 3) != 0)
        return fail(c, d);
    d->reseed_counter = 1;
    EVP_MAC_CTX_free(c);
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
    EVP_MAC_CTX *c = mac_new();
    if (c == NULL)
        return MIMIR_ERUNTIME;
    /* 10.1.2.4: seed_material = entropy_input || additional_input;
     * (Key, V) = Update(seed_material, Key, V); reseed_counter = 1. */
    struct part seed[2] = {{entropy, elen}, {add, alen}};
    if (update(c, d, seed, 2) != 0)
        return fail(c, d);
    d->reseed_counter = 1;
    EVP_MAC_CTX_free(c);
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
    EVP_MAC_CTX *c = mac_new();
    if (c == NULL)
        return MIMIR_ERUNTIME;
    struct part a = {add, alen};
    /* Step 2: if additional_input != Null, (Key, V) = Update(additional_input, Key, V). */
    if (alen > 0 && update(c, d, &a, 1) != 0)
        goto failed;
    /* Steps 3-5: V = HMAC(Key, V), appended until n bytes; the leftmost n bytes are returned.
     * K is fixed during the loop, so only the first HMAC sets the key. */
    struct part v = {d->V, sizeof d->V};
    for (size_t off = 0; off < n; off += MIMIR_DRBG_OUTLEN) {
        if (hmac(c, off == 0 ? d->K : NULL, &v, 1, d->V) != 0)
            goto failed;
        size_t take = n - off < MIMIR_DRBG_OUTLEN ? n - off : MIMIR_DRBG_OUTLEN;
        memcpy(out + off, d->V, take);
    }
    /* Step 6: (Key, V) = Update(additional_input, Key, V), done even when it is Null.
     * Step 7: reseed_counter = reseed_counter + 1. */
    if (update(c, d, &a, 1) != 0)
        goto failed;
    d->reseed_counter++;
    EVP_MAC_CTX_free(c);
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
