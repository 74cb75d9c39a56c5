/*
 * test_wmask.c — the seeded weight-mask expansion of lib/wmask.c (mimir_wmask_words): known
 * answers from the OpenSSL command line, random access (any offset and length gives the same
 * words as the whole stream), explicit components copied, distinct seeds distinct streams, a
 * hollow mask untouched; the speed of one 768x3072 component.
 *
 * Known answers: seed = bytes 00 01 .. 1f, computed (OpenSSL 3.0.19) with
 *     head -c 64 /dev/zero | openssl enc -aes-256-ctr \
 *         -K 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
 *         -iv 00000000000000000000000000000000 | xxd -p -c 16
 * for words 0..3, and with -iv 000000000000000000000000000003e7 over 32 zero bytes for words
 * 999 and 1000 (the counter block is the word index, 128-bit big-endian). Each 16-byte block
 * is read as a little-endian word.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"
#include "mem.h"
#include "prep.h"
#include "tap.h"

static const char *const KAT0[4] = {
    "f29000b62a499fd0a9f39a6add2e7780", "f05d76ae4ab99fe5a6f69b3148c2363d",
    "0ebcb5deb52c83bd08a8a935182c9199", "d24356532881602f809eb383c5ff5d56"};
static const char *const KAT999[2] = {"8099acb7c66f656e83a668f1532f0b40",
                                      "c94cb60a32e41fe02cd4424e7c88ba9d"};

/* A 16-byte block given in hex, as a little-endian word. */
static mimir_r128 le_word(const char *hexs)
{
    uint8_t b[16] = {0};
    size_t n = 0;
    if (mimir_hex_decode(hexs, 32, b, sizeof b, &n, NULL) != 0 || n != 16)
        return 0;
    mimir_r128 x = 0;
    for (int k = 15; k >= 0; k--)
        x = (x << 8) | b[k];
    return x;
}

static void seeded(mimir_wmask *m, size_t inner, size_t cols)
{
    memset(m, 0, sizeof *m);
    m->inner = inner;
    m->cols = cols;
    m->macs = 1;
    for (int q = 0; q < 4; q++)
        for (int i = 0; i < MIMIR_PREP_SEED_BYTES; i++)
            m->seed[q][i] = (uint8_t)(i + 32 * q); /* component 0: 00 01 .. 1f */
}

static void test_known_answers(void)
{
    mimir_wmask m;
    seeded(&m, 40, 40);
    mimir_r128 w[4], v[2];
    mimir_wmask_words(&m, 0, 0, 4, w);
    int ok = 1;
    for (int i = 0; i < 4; i++)
        ok &= w[i] == le_word(KAT0[i]);
    CHECK(ok, "words 0..3 equal openssl enc -aes-256-ctr -iv 0 over zeros");
    mimir_wmask_words(&m, 0, 999, 2, v);
    CHECK(v[0] == le_word(KAT999[0]) && v[1] == le_word(KAT999[1]),
          "words 999, 1000 equal openssl enc -aes-256-ctr -iv ...03e7 (counter = word index)");
    mimir_wmask_words(&m, 1, 0, 4, w);
    CHECK(w[0] != le_word(KAT0[0]), "component 1 (another seed) gives another stream");
}

static void test_random_access(void)
{
    enum { N = 1000 };
    mimir_wmask m;
    seeded(&m, 10, 100);
    mimir_r128 *all = malloc(N * sizeof *all), *part = malloc(N * sizeof *part);
    if (all == NULL || part == NULL) {
        CHECK(0, "allocate");
        free(all), free(part);
        return;
    }
    mimir_wmask_words(&m, 2, 0, N, all);
    static const size_t offs[][2] = {{0, 1}, {1, 1}, {3, 5}, {4, 4}, {7, 993}, {511, 2},
                                     {999, 1}, {250, 500}};
    int ok = 1;
    for (size_t t = 0; t < sizeof offs / sizeof offs[0]; t++) {
        memset(part, 0, N * sizeof *part);
        mimir_wmask_words(&m, 2, offs[t][0], offs[t][1], part);
        ok &= memcmp(part, all + offs[t][0], offs[t][1] * sizeof *part) == 0;
        ok &= part[offs[t][1]] == 0; /* nothing written past n */
    }
    CHECK(ok, "any [off, off + n) equals that slice of the whole stream, nothing written past");

    /* An explicit component is copied, a hollow mask leaves out alone. */
    m.expl[3] = mimir_secret_alloc(N * sizeof *part);
    if (m.expl[3] != NULL) {
        for (size_t i = 0; i < N; i++)
            m.expl[3][i] = (mimir_r128)i * 7 + 1;
        mimir_wmask_words(&m, 3, 10, 5, part);
        CHECK(part[0] == 71 && part[4] == 99, "an explicit component is copied from off");
        CHECK(mimir_wmask_bytes(&m) == N * 16, "bytes kept: the explicit component only");
    }
    mimir_wmask_free(&m);
    CHECK(m.expl[3] == NULL && m.seed[0][1] == 0, "free wipes the seeds and the components");
    mimir_wmask h;
    seeded(&h, 10, 100);
    h.hollow = 1;
    part[0] = 5;
    mimir_wmask_words(&h, 0, 0, 1, part);
    CHECK(part[0] == 5, "a hollow mask writes nothing");
    free(all);
    free(part);
}

/* One 768x3072 component (a GPT-2-small MLP weight), as a weight product re-expands it. */
static void test_speed(void)
{
    const size_t n = (size_t)768 * 3072, blk = 15360; /* lib/spdz.c's block: 5 rows */
    mimir_wmask m;
    seeded(&m, 768, 3072);
    mimir_r128 *out = mimir_secret_alloc(blk * sizeof *out);
    if (out == NULL) {
        CHECK(0, "allocate");
        return;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; off < n; off += blk)
        mimir_wmask_words(&m, 0, off, off + blk <= n ? blk : n - off, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("# 768x3072 seeded component in %zu-word blocks: %.1f ms (%.2f GB/s)\n", blk,
           1e3 * s, (double)n * 16 / s / 1e9);
    CHECK(out[0] != 0, "the speed run produced words");
    mimir_secret_free(out);
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 1;
    test_known_answers();
    test_random_access();
    test_speed();
    return tap_done();
}
