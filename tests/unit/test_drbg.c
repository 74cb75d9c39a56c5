/*
 * test_drbg.c — HMAC_DRBG (lib/drbg.h): known answers, reseed counter, limits, fill, wipe.
 *
 * The full NIST CAVP runs are tests/bin/drbg-cavp; here two CAVP cases are inline (one
 * no-reseed without inputs, one reseed with personalisation and additional inputs) plus a
 * known answer for mimir_drbg_from_seed computed with Python's hmac module, which pins the
 * personalisation-string encoding documented in drbg.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "drbg.h"
#include "err.h"
#include "tap.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s) / 2;
    if (n > cap)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            abort();
        out[i] = (uint8_t)v;
    }
    return n;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= b[i];
    return acc == 0;
}

/* CAVP HMAC_DRBG.rsp, [SHA-256], COUNT = 0 of two sections (ReturnedBitsLen = 1024). */
static const struct kat {
    const char *name, *entropy, *nonce, *pers, *ent_reseed, *add_reseed, *add1, *add2, *ret;
} kats[] = {
    {"no_reseed, no pers, no additional input",
     "ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488",
     "659ba96c601dc69fc902940805ec0ca8", "", NULL, NULL, "", "",
     "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89d54fbb978a15b5c443c9ec21"
     "036d2460b6f73ebad0dc2aba6e624abf07745bc107694bb7547bb0995f70de25d6b29e2d3011bb19d27676c0"
     "7162c8b5ccde0668961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"},
    {"reseed, pers 256, additional input 256",
     "cdb0d9117cc6dbc9ef9dcb06a97579841d72dc18b2d46a1cb61e314012bdf416",
     "d0c0d01d156016d0eb6b7e9c7c3c8da8",
     "6f0fb9eab3f9ea7ab0a719bfa879bf0aaed683307fda0c6d73ce018b6e34faaa",
     "8ec6f7d5a8e2e88f43986f70b86e050d07c84b931bcf18e601c5a3eee3064c82",
     "1ab4ca9014fa98a55938316de8ba5a68c629b0741bdd058c4d70c91cda5099b3",
     "16e2d0721b58d839a122852abd3bf2c942a31c84d82fca74211871880d7162ff",
     "53686f042a7b087d5d2eca0d2a96de131f275ed7151189f7ca52deaa78b79fb2",
     "dda04a2ca7b8147af1548f5d086591ca4fd951a345ce52b3cd49d47e84aa31a183e31fbc42a1ff1d95afec71"
     "43c8008c97bc2a9c091df0a763848391f68cb4a366ad89857ac725a53b303ddea767be8dc5f605b1b95f6d24"
     "c9f06be65a973a089320b3cc42569dcfd4b92b62a993785b0301b3fc452445656fce22664827b88f"},
};

static void test_kats(void)
{
    for (size_t k = 0; k < sizeof kats / sizeof kats[0]; k++) {
        const struct kat *t = &kats[k];
        uint8_t e[64], no[64], p[64], er[64], ar[64], a1[64], a2[64], want[128], got[128];
        size_t el = unhex(t->entropy, e, sizeof e), nl = unhex(t->nonce, no, sizeof no);
        size_t pl = unhex(t->pers, p, sizeof p), a1l = unhex(t->add1, a1, sizeof a1);
        size_t a2l = unhex(t->add2, a2, sizeof a2), wl = unhex(t->ret, want, sizeof want);
        mimir_drbg d;
        int rc = mimir_drbg_instantiate(&d, e, el, no, nl, p, pl);
        if (rc == 0 && t->ent_reseed != NULL) {
            size_t erl = unhex(t->ent_reseed, er, sizeof er);
            size_t arl = unhex(t->add_reseed, ar, sizeof ar);
            rc = mimir_drbg_reseed(&d, er, erl, ar, arl);
        }
        if (rc == 0)
            rc = mimir_drbg_generate(&d, got, wl, a1l ? a1 : NULL, a1l);
        if (rc == 0)
            rc = mimir_drbg_generate(&d, got, wl, a2l ? a2 : NULL, a2l);
        CHECK(rc == 0 && memcmp(got, want, wl) == 0,
              "CAVP %s: second generate returns ReturnedBits (rc %d)", t->name, rc);
        CHECK(d.reseed_counter == 3, "CAVP %s: reseed_counter is 3 after two generates, got %llu",
              t->name, (unsigned long long)d.reseed_counter);
        mimir_drbg_wipe(&d);
    }
}

static void seeded(mimir_drbg *d, uint8_t first)
{
    uint8_t seed[MIMIR_DRBG_SEEDLEN];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)(first + i);
    if (mimir_drbg_from_seed(d, seed, sizeof seed, "test") != 0)
        abort();
}

static void test_from_seed(void)
{
    uint8_t seed[40], got[48], other[48], want[48];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    unhex("171928707cff0cd1bedfd9e7f542cc94943927fad15bbcdbd0fd38d510add040"
          "8c8a9596877e161eefc362dee3321f1d", want, sizeof want);
    mimir_drbg d;
    int rc = mimir_drbg_from_seed(&d, seed, 32, "share-split");
    CHECK(rc == 0 && mimir_drbg_generate(&d, got, sizeof got, NULL, 0) == 0 &&
              memcmp(got, want, sizeof want) == 0,
          "from_seed(00..1f, \"share-split\") matches the Python reference (pers = "
          "\"mimir-drbg-v1:\" || label || be64(32))");
    rc = mimir_drbg_from_seed(&d, seed, 32, "share-splix");
    CHECK(rc == 0 && mimir_drbg_generate(&d, other, sizeof other, NULL, 0) == 0 &&
              memcmp(got, other, sizeof got) != 0, "another label gives other bytes");
    rc = mimir_drbg_from_seed(&d, seed, 33, "share-split");
    CHECK(rc == 0 && mimir_drbg_generate(&d, other, sizeof other, NULL, 0) == 0 &&
              memcmp(got, other, sizeof got) != 0, "a longer seed with the same prefix differs");
    CHECK(mimir_drbg_from_seed(&d, seed, 31, "x") == MIMIR_EINPUT,
          "from_seed refuses a 31-byte seed with MIMIR_EINPUT");
    CHECK(mimir_drbg_from_seed(&d, seed, 32, "") == MIMIR_EINPUT,
          "from_seed refuses an empty label");
    CHECK(mimir_drbg_from_seed(&d, seed, 32, NULL) == MIMIR_EINPUT,
          "from_seed refuses a NULL label");
    char label[MIMIR_DRBG_MAX_LABEL + 2];
    memset(label, 'a', sizeof label - 1);
    label[sizeof label - 1] = '\0';
    CHECK(mimir_drbg_from_seed(&d, seed, 32, label) == MIMIR_EINPUT,
          "from_seed refuses a label of %d bytes", MIMIR_DRBG_MAX_LABEL + 1);
    label[MIMIR_DRBG_MAX_LABEL] = '\0';
    CHECK(mimir_drbg_from_seed(&d, seed, 32, label) == 0,
          "from_seed accepts a label of %d bytes", MIMIR_DRBG_MAX_LABEL);
    mimir_drbg_wipe(&d);
}

static void test_reseed_counter(void)
{
    mimir_drbg d, saved;
    uint8_t out[64], ent[MIMIR_DRBG_SEEDLEN] = {7};
    seeded(&d, 1);
    CHECK(d.reseed_counter == 1, "instantiate sets reseed_counter = 1");
    mimir_drbg_generate(&d, out, 16, NULL, 0);
    mimir_drbg_generate(&d, out, 16, NULL, 0);
    CHECK(d.reseed_counter == 3, "two generates make it 3, got %llu",
          (unsigned long long)d.reseed_counter);
    CHECK(mimir_drbg_reseed(&d, ent, sizeof ent, NULL, 0) == 0 && d.reseed_counter == 1,
          "reseed sets it back to 1");
    CHECK(mimir_drbg_reseed(&d, ent, sizeof ent - 1, NULL, 0) == MIMIR_EINPUT,
          "reseed refuses 31 bytes of entropy");

    d.reseed_counter = MIMIR_DRBG_RESEED_INTERVAL;
    CHECK(mimir_drbg_generate(&d, out, sizeof out, NULL, 0) == 0,
          "generate works while reseed_counter == reseed_interval (2^48)");
    CHECK(d.reseed_counter == MIMIR_DRBG_RESEED_INTERVAL + 1, "counter is then 2^48 + 1");
    saved = d;
    memset(out, 0x5a, sizeof out);
    CHECK(mimir_drbg_generate(&d, out, sizeof out, NULL, 0) == MIMIR_ESECURITY,
          "generate past the reseed interval fails with MIMIR_ESECURITY (reseed required)");
    CHECK(memcmp(&d, &saved, sizeof d) == 0 && out[0] == 0x5a && out[63] == 0x5a,
          "the refused generate changes neither the state nor the output");
    CHECK(mimir_drbg_fill(&d, out, sizeof out) == MIMIR_ESECURITY,
          "fill also reports that a reseed is required");
    CHECK(mimir_drbg_reseed(&d, ent, sizeof ent, NULL, 0) == 0 &&
              mimir_drbg_generate(&d, out, sizeof out, NULL, 0) == 0 && d.reseed_counter == 2,
          "after a reseed, generate works again");

    /* n == 0 is a request too: the state advances (10.1.2.5 steps 6 and 7). */
    saved = d;
    CHECK(mimir_drbg_generate(&d, NULL, 0, NULL, 0) == 0 && d.reseed_counter == 3 &&
              memcmp(d.K, saved.K, sizeof d.K) != 0,
          "generate of 0 bytes updates K and counts one request");
    mimir_drbg_wipe(&d);
}

static void test_limits(void)
{
    mimir_drbg d, saved;
    uint8_t *big = malloc(MIMIR_DRBG_MAX_REQUEST + 1), ent[MIMIR_DRBG_SEEDLEN] = {0};
    if (big == NULL)
        abort();
    seeded(&d, 2);
    saved = d;
    CHECK(mimir_drbg_generate(&d, big, MIMIR_DRBG_MAX_REQUEST + 1, NULL, 0) == MIMIR_EINPUT,
          "generate of %d bytes fails with MIMIR_EINPUT", MIMIR_DRBG_MAX_REQUEST + 1);
    CHECK(memcmp(&d, &saved, sizeof d) == 0, "the refused request leaves the state alone");
    CHECK(mimir_drbg_generate(&d, big, MIMIR_DRBG_MAX_REQUEST, NULL, 0) == 0,
          "generate of exactly %d bytes (2^19 bits) works", MIMIR_DRBG_MAX_REQUEST);
    CHECK(mimir_drbg_generate(&d, NULL, 1, NULL, 0) == MIMIR_EINPUT,
          "generate into NULL fails with MIMIR_EINPUT");
    CHECK(mimir_drbg_generate(&d, big, 1, NULL, 5) == MIMIR_EINPUT,
          "NULL additional input with a length fails");
    CHECK(mimir_drbg_instantiate(&d, ent, MIMIR_DRBG_MIN_ENTROPY - 1, NULL, 0, NULL, 0) ==
              MIMIR_EINPUT, "instantiate refuses entropy shorter than 256 bits");
    CHECK(mimir_drbg_instantiate(&d, NULL, 32, NULL, 0, NULL, 0) == MIMIR_EINPUT,
          "instantiate refuses NULL entropy");
    free(big);
    mimir_drbg_wipe(&d);
}

static void test_generate_shape(void)
{
    mimir_drbg a, b;
    uint8_t x[64], y[64], add[3] = {1, 2, 3};
    seeded(&a, 3);
    b = a;
    mimir_drbg_generate(&a, x, 33, NULL, 0);
    mimir_drbg_generate(&b, y, 64, NULL, 0);
    CHECK(memcmp(x, y, 33) == 0, "within one request, 33 bytes are a prefix of 64 bytes");
    seeded(&a, 3);
    b = a;
    mimir_drbg_generate(&a, x, 32, NULL, 0);
    mimir_drbg_generate(&b, y, 32, add, sizeof add);
    CHECK(memcmp(x, y, 32) != 0, "additional input changes the output");
    seeded(&a, 4);
    mimir_drbg_generate(&a, x, 32, NULL, 0);
    CHECK(memcmp(x, y, 32) != 0, "another seed gives other bytes");
    mimir_drbg_wipe(&a);
    mimir_drbg_wipe(&b);
}

static void test_fill(void)
{
    const size_t m = MIMIR_DRBG_MAX_REQUEST, n = 2 * m + 100;
    uint8_t *f = malloc(n), *g = malloc(n);
    if (f == NULL || g == NULL)
        abort();
    mimir_drbg a, b;
    seeded(&a, 5);
    b = a;
    CHECK(mimir_drbg_fill(&a, f, n) == 0, "fill of 2 * 65536 + 100 bytes works");
    int rc = mimir_drbg_generate(&b, g, m, NULL, 0);
    rc |= mimir_drbg_generate(&b, g + m, m, NULL, 0);
    rc |= mimir_drbg_generate(&b, g + 2 * m, 100, NULL, 0);
    CHECK(rc == 0 && memcmp(f, g, n) == 0,
          "fill(2*65536+100) == generate(65536) || generate(65536) || generate(100)");
    CHECK(memcmp(&a, &b, sizeof a) == 0 && a.reseed_counter == 4,
          "and leaves the same state (3 requests counted)");

    mimir_drbg saved = a;
    CHECK(mimir_drbg_fill(&a, NULL, 0) == 0 && memcmp(&a, &saved, sizeof a) == 0,
          "fill of 0 bytes makes no request and leaves the state alone");

    /* The chunking is part of the output: fill(10); fill(10) differs from fill(20). */
    seeded(&a, 6);
    b = a;
    mimir_drbg_fill(&a, f, 10);
    mimir_drbg_fill(&a, f + 10, 10);
    mimir_drbg_fill(&b, g, 20);
    CHECK(memcmp(f, g, 10) == 0 && memcmp(f + 10, g + 10, 10) != 0,
          "fill(10) || fill(10) shares 10 bytes with fill(20), then differs (documented)");
    free(f);
    free(g);
    mimir_drbg_wipe(&a);
    mimir_drbg_wipe(&b);
}

static void test_wipe(void)
{
    mimir_drbg d;
    uint8_t out[32], ent[MIMIR_DRBG_SEEDLEN] = {9};
    seeded(&d, 7);
    mimir_drbg_wipe(&d);
    CHECK(all_zero(&d, sizeof d), "wipe zeroes K, V and reseed_counter");
    CHECK(mimir_drbg_generate(&d, out, sizeof out, NULL, 0) == MIMIR_EINPUT,
          "a wiped state refuses to generate");
    CHECK(mimir_drbg_fill(&d, out, sizeof out) == MIMIR_EINPUT && all_zero(out, sizeof out),
          "a wiped state refuses to fill and leaves a zeroed buffer");
    CHECK(mimir_drbg_reseed(&d, ent, sizeof ent, NULL, 0) == MIMIR_EINPUT,
          "a wiped state refuses a reseed (instantiate it again)");
    mimir_drbg_wipe(NULL);
    CHECK(1, "mimir_drbg_wipe(NULL) is a no-op");
}

/* Two threads, each with its own state, share only the process-wide HMAC template. */
struct job {
    uint8_t first;
    uint8_t out[4096];
    int rc;
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    mimir_drbg d;
    seeded(&d, j->first);
    j->rc = 0;
    for (int i = 0; i < 200 && j->rc == 0; i++)
        j->rc = mimir_drbg_fill(&d, j->out, sizeof j->out);
    mimir_drbg_wipe(&d);
    return NULL;
}

static void test_threads(void)
{
    struct job jobs[2] = {{.first = 10}, {.first = 11}}, solo = {.first = 10};
    pthread_t th[2];
    int started = 0;
    for (int i = 0; i < 2; i++)
        started += pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    run_job(&solo);
    CHECK(started == 2 && jobs[0].rc == 0 && jobs[1].rc == 0 && solo.rc == 0 &&
              memcmp(jobs[0].out, solo.out, sizeof solo.out) == 0 &&
              memcmp(jobs[1].out, solo.out, sizeof solo.out) != 0,
          "two threads with their own states give the same bytes as one thread alone");
}

int main(void)
{
    test_kats();
    test_from_seed();
    test_reseed_counter();
    test_limits();
    test_generate_shape();
    test_fill();
    test_wipe();
    test_threads();
    return tap_done();
}
