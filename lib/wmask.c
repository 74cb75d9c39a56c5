/*
 * wmask.c — the compact weight masks of lib/prep.h (mimir_wmask): seeded components expanded
 * on demand, explicit ones copied (docs/formats.md, "Weight masks").
 *
 * A seeded component is the AES-256-CTR keystream (NIST SP 800-38A, OpenSSL EVP with AES-NI
 * where the CPU has it) under its 32-byte seed as the key, initial counter block zero, read as
 * little-endian 16-byte words: word i is keystream block i, the AES-256 encryption of the
 * counter i as a 128-bit big-endian number. So any word range is reached directly (counter =
 * its first index) and the stream equals `openssl enc -aes-256-ctr -K seed -iv 0` over zeros.
 * AES-256-CTR replaced ChaCha20 for speed (about 4x here with AES-NI; the products re-expand
 * 48-64 bytes of keystream per weight per step): pool batches mark their masks with a flag
 * bit (lib/pool.c WMASK_FLAG_AES) so that a mask dealt for the ChaCha20 expansion is refused.
 */
#include "prep.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define WORD_BYTES 16 /* one AES block per word */
#define CHUNK_WORDS ((size_t)1 << 26) /* words per EVP_EncryptUpdate call (1 GiB, < INT_MAX) */

static EVP_CIPHER *aes;
static pthread_once_t aes_once = PTHREAD_ONCE_INIT;

static void aes_init(void)
{
    aes = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL); /* fetched once, not per call */
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static void words_le(mimir_r128 *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b[WORD_BYTES];
        memcpy(b, &w[i], WORD_BYTES);
        mimir_r128 x = 0;
        for (int k = WORD_BYTES - 1; k >= 0; k--)
            x = (x << 8) | b[k];
        w[i] = x;
    }
}
#else
static void words_le(mimir_r128 *w, size_t n)
{
    (void)w;
    (void)n;
}
#endif

/* Keystream words [first, first + n) into out: AES-256-CTR over zeros from counter block
 * first. 0, or -1 if OpenSSL fails (out of memory: out is then wiped). */
static int stream(const uint8_t seed[MIMIR_PREP_SEED_BYTES], size_t first, mimir_r128 *out,
                  size_t n)
{
    uint8_t iv[WORD_BYTES] = {0};
    for (int k = 0; k < 8; k++) /* 128-bit big-endian counter = first (< 2^64) */
        iv[WORD_BYTES - 1 - k] = (uint8_t)((uint64_t)first >> (8 * k));
    if (pthread_once(&aes_once, aes_init) != 0 || aes == NULL)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx != NULL && EVP_EncryptInit_ex2(ctx, aes, seed, iv, NULL) == 1;
    memset(out, 0, n * WORD_BYTES);
    for (size_t done = 0; ok && done < n; done += CHUNK_WORDS) {
        size_t k = n - done < CHUNK_WORDS ? n - done : CHUNK_WORDS;
        int outl = 0;
        uint8_t *p = (uint8_t *)(out + done);
        ok = EVP_EncryptUpdate(ctx, p, &outl, p, (int)(k * WORD_BYTES)) == 1 &&
             (size_t)outl == k * WORD_BYTES;
    }
    EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
    if (!ok) {
        mimir_wipe(out, n * WORD_BYTES);
        return -1;
    }
    words_le(out, n);
    return 0;
}

void mimir_wmask_words(const mimir_wmask *m, int q, size_t off, size_t n, mimir_r128 *out)
{
    if (m == NULL || m->hollow || q < 0 || q > 3 || n == 0)
        return;
    if (m->expl[q] != NULL) {
        memcpy(out, m->expl[q] + off, n * WORD_BYTES);
        return;
    }
    /* OpenSSL can fail here only by running out of memory for a cipher context. This function
     * has no error return, and handing back a wrong mask would surface later as a failed MAC
     * check blamed on a peer: stop instead, as for a failed malloc. */
    if (stream(m->seed[q], off, out, n) != 0)
        abort();
}

void mimir_wmask_free(mimir_wmask *m)
{
    if (m == NULL)
        return;
    for (int q = 0; q < 4; q++)
        mimir_secret_free(m->expl[q]);
    mimir_wipe(m, sizeof *m);
}

size_t mimir_wmask_bytes(const mimir_wmask *m)
{
    size_t b = 0;
    for (int q = 0; m != NULL && q < 4; q++)
        if (m->expl[q] != NULL)
            b += m->inner * m->cols * WORD_BYTES;
    return b;
}
