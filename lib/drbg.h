/*
 * drbg.h — HMAC_DRBG with SHA-256, exactly as NIST SP 800-90A Rev.1 section 10.1.2.
 *
 * This is Mimir's only deterministic random bit generator: shares, masks, MAC keys and
 * preprocessed items are all drawn from one, seeded from the operating system or from the
 * parties' commit-then-reveal coin toss (docs/protocol.md, "Randomness"). With the same seed it
 * gives the same bytes on every machine, which is what makes a run with fixed seeds reproducible.
 *
 * Parameters (SP 800-90A Rev.1 section 10.1, table 2, for SHA-256): security strength 256 bits,
 * outlen 256 bits, at most 2^19 bits (65536 bytes) per request, reseed interval 2^48 requests,
 * prediction resistance not supported (off). Entropy input must be at least 256 bits.
 *
 * What it promises: output indistinguishable from random to anyone who does not know the state,
 * and, since HMAC_DRBG_Update replaces the key on every request, backtracking resistance.
 * What it does not do: gather entropy (the caller supplies it), lock or guard its memory (put the
 * struct in mimir_key_alloc/mimir_secret_alloc memory if it lives long), or protect against two
 * threads using the same state at once (one mimir_drbg per thread).
 *
 * Errors: every function returns 0 or a mimir_status code (lib/err.h); on a failure inside
 * HMAC (OpenSSL) the state is wiped so that it cannot produce output again, and the output buffer
 * is wiped. A wiped or zero-initialised state (reseed_counter == 0) refuses to generate.
 * Timing depends on lengths only, never on the secret state or inputs.
 */
#ifndef MIMIR_DRBG_H
#define MIMIR_DRBG_H

#include <stddef.h>
#include <stdint.h>

#define MIMIR_DRBG_SEEDLEN 32               /* bytes of entropy input for full strength */
#define MIMIR_DRBG_OUTLEN 32                /* bytes per HMAC block (SHA-256 output) */
#define MIMIR_DRBG_KEYLEN 32                /* bytes of K and of V */
#define MIMIR_DRBG_STRENGTH_BITS 256        /* security strength */
#define MIMIR_DRBG_MIN_ENTROPY 32           /* minimum entropy input, bytes (= strength) */
#define MIMIR_DRBG_MAX_INPUT (1ull << 32)   /* max bytes of each input (2^35 bits) */
#define MIMIR_DRBG_MAX_REQUEST 65536        /* max bytes per generate (2^19 bits) */
#define MIMIR_DRBG_RESEED_INTERVAL (1ull << 48) /* generate calls allowed between reseeds */
#define MIMIR_DRBG_MAX_LABEL 256            /* max label length for mimir_drbg_from_seed */

/* The working state of SP 800-90A 10.1.2.1: Key, V and reseed_counter (no other fields, so the
 * struct can be copied, saved and wiped as plain bytes). reseed_counter == 0 means "not
 * instantiated" (as after mimir_drbg_wipe, or `mimir_drbg d = {0};`). */
typedef struct mimir_drbg {
    uint8_t K[MIMIR_DRBG_KEYLEN];
    uint8_t V[MIMIR_DRBG_KEYLEN];
    uint64_t reseed_counter;
} mimir_drbg;

/* HMAC_DRBG_Instantiate_algorithm (10.1.2.3): seed_material = entropy || nonce || pers,
 * Key = 0x00..00, V = 0x01..01, HMAC_DRBG_Update(seed_material), reseed_counter = 1.
 * elen >= MIMIR_DRBG_MIN_ENTROPY; nonce and pers may be NULL with length 0.
 * MIMIR_EINPUT on bad lengths, MIMIR_ERUNTIME if OpenSSL fails. */
int mimir_drbg_instantiate(mimir_drbg *d, const uint8_t *entropy, size_t elen,
                           const uint8_t *nonce, size_t nlen, const uint8_t *pers, size_t plen);

/* HMAC_DRBG_Reseed_algorithm (10.1.2.4): HMAC_DRBG_Update(entropy || add), reseed_counter = 1.
 * elen >= MIMIR_DRBG_MIN_ENTROPY; add may be NULL with length 0. */
int mimir_drbg_reseed(mimir_drbg *d, const uint8_t *entropy, size_t elen, const uint8_t *add,
                      size_t alen);

/* HMAC_DRBG_Generate_algorithm (10.1.2.5): n <= MIMIR_DRBG_MAX_REQUEST bytes into out, with
 * optional additional input (NULL/0 for none). n == 0 is allowed and still advances the state,
 * as the standard does. Fails with MIMIR_ESECURITY, leaving the state and out untouched, when
 * reseed_counter > MIMIR_DRBG_RESEED_INTERVAL ("a reseed is required"); with MIMIR_EINPUT when
 * n is too large or the state is not instantiated. */
int mimir_drbg_generate(mimir_drbg *d, uint8_t *out, size_t n, const uint8_t *add, size_t alen);

/* Any n: exactly the bytes of consecutive mimir_drbg_generate calls without additional input,
 * of MIMIR_DRBG_MAX_REQUEST bytes each and a last, shorter one (no call when n == 0). So
 * fill(n) equals generate(65536) || generate(65536) || ... || generate(n mod 65536), and each
 * chunk counts as one request towards the reseed interval. The chunking is part of the output:
 * fill(a) followed by fill(b) is not fill(a + b) unless a is a multiple of 65536.
 * On any failure the whole of out is zeroed (never a partly filled buffer). */
int mimir_drbg_fill(mimir_drbg *d, uint8_t *out, size_t n);

/* Instantiates from a seed that is already uniformly random (an OS seed, a coin-toss result or
 * a pairwise seed) for one purpose named by label (a non-empty C string, at most
 * MIMIR_DRBG_MAX_LABEL bytes, e.g. "share-split"). The seed is the entropy input, there is no
 * nonce, and the personalisation string is
 *     "mimir-drbg-v1:" || label || uint64_be(seedlen)
 * so that different labels, or seeds of different lengths, never give the same seed material.
 * seedlen >= MIMIR_DRBG_MIN_ENTROPY. */
int mimir_drbg_from_seed(mimir_drbg *d, const uint8_t *seed, size_t seedlen, const char *label);

/* Wipes K, V and reseed_counter (sodium_memzero); the state then refuses to generate. */
void mimir_drbg_wipe(mimir_drbg *d);

#endif
