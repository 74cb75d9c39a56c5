/* test_mem.c — secret buffers: zeroed on allocation, wiped before reuse, the recycling cache's
 * bounds (lib/mem.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

static int failures, tests;

/* TAP: one line per check ("ok N - test_mem.c:LINE", or "not ok N - " and what went wrong). */
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        tests++;                                                                               \
        if (cond) {                                                                            \
            printf("ok %d - %s:%d\n", tests, __FILE__, __LINE__);                              \
        } else {                                                                               \
            printf("not ok %d - %s:%d: ", tests, __FILE__, __LINE__);                          \
            printf(__VA_ARGS__);                                                               \
            printf("\n");                                                                      \
            failures++;                                                                        \
        }                                                                                      \
    } while (0)

static int all_zero(const unsigned char *p, size_t n)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* A freed block comes back (same size) all zero, whatever it held. */
static void test_reuse_is_zero(void)
{
    static const size_t sizes[] = {1, 63, 64, 65, 4096, 100000, (size_t)1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        unsigned char *p = mimir_secret_alloc(n);
        CHECK(p != NULL, "alloc %zu", n);
        CHECK(((uintptr_t)p & 63) == 0, "alloc %zu: not 64-byte aligned", n);
        CHECK(all_zero(p, n), "fresh block of %zu bytes not zero", n);
        memset(p, 0xA5, n);
        mimir_secret_free(p);
        unsigned char *q = mimir_secret_alloc(n);
        CHECK(q != NULL, "realloc %zu", n);
        CHECK(q == p, "block of %zu bytes not served from the cache", n);
        CHECK(all_zero(q, n), "reused block of %zu bytes not zero", n);
        mimir_secret_free(q);
    }
    mimir_secret_free(NULL);
}

/* Sizes of one size class share a cached block, zero up to the larger size; the cache stays
 * within its bounds. */
static void test_classes(void)
{
    mimir_secret_cache_drop();
    unsigned char *p = mimir_secret_alloc(100000);
    memset(p, 0xC3, 100000);
    mimir_secret_free(p);
    unsigned char *q = mimir_secret_alloc(100001); /* same class (multiple of 16 KiB) */
    CHECK(q == p, "100001 bytes not served by the cached 100000-byte block");
    CHECK(q != NULL && all_zero(q, 100001), "the shared block is not zero up to 100001");
    memset(q, 0x3C, 100001);
    mimir_secret_free(q);
    unsigned char *r = mimir_secret_alloc(99000); /* smaller, same class */
    CHECK(r == p && all_zero(r, 99000), "99000 bytes: not the cached block, or not zero");
    mimir_secret_free(r);
    unsigned char *t = mimir_secret_alloc(200000); /* another class */
    CHECK(t != NULL && t != p && all_zero(t, 200000), "200000 bytes got the 100000 block");
    mimir_secret_free(t);
    mimir_secret_cache_drop();
}

/* mimir_secret_alloc_overwritten: the caller's n bytes may hold anything from the system
 * allocator, the rest of the block is zero, and after free the block is all zero again for
 * an ordinary allocation of its class. */
static void test_overwritten(void)
{
    mimir_secret_cache_drop();
    /* leave non-zero bytes in freed heap memory of this size (a plain buffer: not secret) */
    unsigned char *junk = malloc(150000);
    if (junk != NULL)
        memset(junk, 0xA5, 150000);
    free(junk);
    unsigned char *p = mimir_secret_alloc_overwritten(100000);
    CHECK(p != NULL && all_zero(p + 100000, 114688 - 100000),
          "the block's bytes beyond the 100000 asked for are zero");
    memset(p, 0x5A, 100000); /* the caller's pool read */
    mimir_secret_free(p);
    unsigned char *q = mimir_secret_alloc(114688); /* the whole class */
    CHECK(q == p && all_zero(q, 114688), "freed, the block is all zero for the next owner");
    mimir_secret_free(q);
    unsigned char *r = mimir_secret_alloc_overwritten(100001);
    CHECK(r == p && all_zero(r, 114688), "a cached block handed out for overwriting is zero");
    mimir_secret_free(r);
    mimir_secret_cache_drop();
}

static void test_bounds(void)
{
    mimir_secret_cache_drop();
    size_t blocks, bytes;
    mimir_secret_cache_stats(&blocks, &bytes);
    CHECK(blocks == 0 && bytes == 0, "after drop: %zu blocks, %zu bytes", blocks, bytes);

    unsigned char *big = mimir_secret_alloc((size_t)8 << 20); /* above the block limit */
    CHECK(big != NULL, "alloc 8 MiB");
    mimir_secret_free(big);
    mimir_secret_cache_stats(&blocks, &bytes);
    CHECK(blocks == 0, "an 8 MiB block was cached (%zu blocks)", blocks);

    enum { N = 200 };
    unsigned char *p[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t n = (size_t)(i + 1) * 4096 * 8; /* 32 KiB .. 6.4 MiB */
        p[i] = mimir_secret_alloc(n);
        CHECK(p[i] != NULL, "alloc %zu", n);
        if (p[i] != NULL)
            memset(p[i], 0x5A, n);
        total += n;
    }
    for (int i = 0; i < N; i++)
        mimir_secret_free(p[i]);
    mimir_secret_cache_stats(&blocks, &bytes);
    CHECK(blocks > 0 && blocks <= 48, "%zu cached blocks, expected 1..48", blocks);
    CHECK(bytes <= ((size_t)48 << 20), "%zu cached bytes, expected at most 48 MiB", bytes);
    /* every size served again is zero, cached or not */
    for (int i = 0; i < N; i += 7) {
        size_t n = (size_t)(i + 1) * 4096 * 8;
        unsigned char *q = mimir_secret_alloc(n);
        CHECK(q != NULL && all_zero(q, n), "block of %zu bytes not zero", n);
        mimir_secret_free(q);
    }
    mimir_secret_cache_drop();
    mimir_secret_cache_stats(&blocks, &bytes);
    CHECK(blocks == 0 && bytes == 0, "after drop: %zu blocks, %zu bytes", blocks, bytes);
}

int main(void)
{
    if (mimir_mem_init() != 0) {
        fprintf(stderr, "FAIL: mimir_mem_init\n");
        return 1;
    }
    test_reuse_is_zero();
    test_classes();
    test_overwritten();
    test_bounds();
    printf("1..%d\n", tests);
    return failures ? 1 : 0;
}
