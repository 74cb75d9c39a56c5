/*
 * wmask.c — the compact weight masks of lib/prep.h (mimir_wmask): seeded components expanded
 * on demand, explicit ones copied (docs/drafts/weights.md).
 *
 * A seeded component is the ChaCha20 keystream (libsodium crypto_stream_chacha20_ietf_xor_ic)
 * under its 32-byte seed with a zero nonce, read as little-endian 16-byte words: word i is at
 * keystream bytes [16 i, 16 i + 16), i.e. in block i / 4 (block counter below 2^32 for masks
 * of fewer than 2^34 elements, which lib/spdz.c enforces).
 */
#include "prep.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define WORD_BYTES 16
#define WORDS_PER_BLOCK 4 /* 64-byte ChaCha20 blocks */

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

/* Keystream words [first, first + n) with first a multiple of WORDS_PER_BLOCK. */
static void stream(const uint8_t seed[MIMIR_PREP_SEED_BYTES], size_t first, mimir_r128 *out,
                   size_t n)
{
    static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    memset(out, 0, n * WORD_BYTES);
    crypto_stream_chacha20_ietf_xor_ic((unsigned char *)out, (const unsigned char *)out,
                                       (unsigned long long)n * WORD_BYTES, nonce,
                                       (uint32_t)(first / WORDS_PER_BLOCK), seed);
    words_le(out, n);
}

void mimir_wmask_words(const mimir_wmask *m, int q, size_t off, size_t n, mimir_r128 *out)
{
    if (m == NULL || m->hollow || q < 0 || q > 3 || n == 0)
        return;
    if (m->expl[q] != NULL) {
        memcpy(out, m->expl[q] + off, n * WORD_BYTES);
        return;
    }
    size_t head = off % WORDS_PER_BLOCK;
    if (head != 0) { /* a partial first block */
        mimir_r128 blk[WORDS_PER_BLOCK];
        stream(m->seed[q], off - head, blk, WORDS_PER_BLOCK);
        size_t k = WORDS_PER_BLOCK - head < n ? WORDS_PER_BLOCK - head : n;
        memcpy(out, blk + head, k * WORD_BYTES);
        mimir_wipe(blk, sizeof blk);
        off += k;
        out += k;
        n -= k;
    }
    if (n > 0)
        stream(m->seed[q], off, out, n);
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
