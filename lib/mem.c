#include "mem.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each secret buffer is preceded by a 64-byte header holding its size and size class, so free
 * can wipe it and the cache can reuse it. */
#define HDR 64

/* The recycling cache: blocks given back to mimir_secret_free are wiped first (header and all
 * n bytes), so a cached block holds only zeros and an allocation of the same n can hand it out
 * without clearing it again, without malloc and without the page faults of a fresh mapping.
 * The protocol layers allocate and free the same few sizes once per round (Beaver triples,
 * carry-tree levels, comparison temporaries), which made zeroing new blocks, wiping freed ones
 * and faulting in fresh pages about a fifth of a tiny-model step. The cache never holds a
 * secret; it is bounded in blocks, block size and bytes, and evicts the oldest block. */
#define CACHE_SLOTS 48
#define CACHE_MAX_BLOCK ((size_t)4 << 20)
#define CACHE_MAX_BYTES ((size_t)48 << 20)

static struct {
    pthread_mutex_t lock;
    unsigned char *blk[CACHE_SLOTS]; /* the header's address; NULL: empty slot */
    size_t n[CACHE_SLOTS];           /* its size as allocated */
    uint64_t age[CACHE_SLOTS];       /* when it was cached (evict the oldest) */
    uint64_t clock;
    size_t bytes;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* A cached (all-zero) block of exactly n bytes, or NULL. */
static unsigned char *cache_take(size_t n)
{
    unsigned char *p = NULL;
    if (n > CACHE_MAX_BLOCK)
        return NULL;
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache.blk[i] != NULL && cache.n[i] == n) {
            p = cache.blk[i];
            cache.blk[i] = NULL;
            cache.bytes -= n;
            break;
        }
    pthread_mutex_unlock(&cache.lock);
    return p;
}

/* The slot of the oldest cached block, or of an empty slot (*empty), or -1 for neither. */
static int cache_scan(int *empty)
{
    int oldest = -1;
    *empty = -1;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache.blk[i] == NULL)
            *empty = i;
        else if (oldest < 0 || cache.age[i] < cache.age[oldest])
            oldest = i;
    }
    return oldest;
}

/* Keeps the wiped block p of n bytes (its header already holds n), or returns 0 and the caller
 * frees it. Evicts the oldest blocks to make room. */
static int cache_put(unsigned char *p, size_t n)
{
    if (n > CACHE_MAX_BLOCK)
        return 0;
    unsigned char *evict[CACHE_SLOTS];
    int ne = 0, empty;
    pthread_mutex_lock(&cache.lock);
    int oldest = cache_scan(&empty);
    while ((cache.bytes + n > CACHE_MAX_BYTES || empty < 0) && oldest >= 0) {
        evict[ne++] = cache.blk[oldest];
        cache.bytes -= cache.n[oldest];
        cache.blk[oldest] = NULL;
        oldest = cache_scan(&empty);
    }
    int kept = empty >= 0 && cache.bytes + n <= CACHE_MAX_BYTES;
    if (kept) {
        cache.blk[empty] = p;
        cache.n[empty] = n;
        cache.age[empty] = cache.clock++;
        cache.bytes += n;
    }
    pthread_mutex_unlock(&cache.lock);
    for (int i = 0; i < ne; i++)
        free(evict[i]); /* wiped when they were cached */
    return kept;
}

int mimir_mem_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

/* The block size an allocation of n bytes gets: a multiple of 64 up to 4 KiB, above that a
 * multiple of a quarter of the power of two below n (at most 25% more), so that the many
 * nearby sizes of a step (attention grows by a row per token) share cached blocks; blocks too
 * big for the cache keep their size (rounding them cost GPT-2 small 1.7 GB per party). */
static size_t size_class(size_t n)
{
    size_t step = HDR;
    if (n > CACHE_MAX_BLOCK) /* never cached: no rounding (a model's weights are such blocks) */
        return n;
    if (n > 4096) {
        int e = 63 - __builtin_clzll((unsigned long long)n);
        step = (size_t)1 << (e - 2);
    }
    return n <= SIZE_MAX - step ? (n + step - 1) / step * step : n;
}

/* A block for n bytes; a fresh one has its bytes from `from` on cleared (0: all of them).
 * Header: the size asked for (what the owner may have written: wiped at free) and the block's
 * size class (the cache's key); neither is secret. The bytes of a block beyond what its owner
 * asked for are never written, so they stay zero from the allocation. */
static void *secret_alloc(size_t n, size_t from)
{
    if (n > SIZE_MAX - 2 * HDR)
        return NULL;
    size_t cls = size_class(n);
    unsigned char *c = cache_take(cls);
    if (c != NULL) { /* all zero */
        memcpy(c, &n, sizeof n);
        return c + HDR;
    }
    unsigned char *p = aligned_alloc(HDR, HDR + (cls + HDR - 1) / HDR * HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    memcpy(p + sizeof n, &cls, sizeof cls);
    memset(p + HDR + from, 0, cls - from);
    return p + HDR;
}

void *mimir_secret_alloc(size_t n)
{
    return secret_alloc(n, 0);
}

/* Not clearing what the caller overwrites saved about 2.5% of a served tiny-model party's CPU
 * (pool reads of 44 MB per token into blocks the cache did not have). The bytes beyond n are
 * cleared: free wipes only n, and a cached block must be all zero. */
void *mimir_secret_alloc_overwritten(size_t n)
{
    return secret_alloc(n, n);
}

void mimir_secret_free(void *q)
{
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t n, cls;
    memcpy(&n, p, sizeof n);
    memcpy(&cls, p + sizeof n, sizeof cls);
    sodium_memzero(p + HDR, n);
    if (!cache_put(p, cls))
        free(p);
}

void mimir_secret_cache_drop(void)
{
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(cache.blk[i]);
        cache.blk[i] = NULL;
    }
    cache.bytes = 0;
    pthread_mutex_unlock(&cache.lock);
}

void mimir_secret_cache_stats(size_t *blocks, size_t *bytes)
{
    size_t k = 0;
    pthread_mutex_lock(&cache.lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        k += cache.blk[i] != NULL;
    if (bytes != NULL)
        *bytes = cache.bytes;
    pthread_mutex_unlock(&cache.lock);
    if (blocks != NULL)
        *blocks = k;
}

void *mimir_key_alloc(size_t n)
{
    if (mimir_mem_init() != 0)
        return NULL;
    void *p = sodium_malloc(n);
    if (p != NULL)
        sodium_memzero(p, n);
    return p;
}

void mimir_key_free(void *p)
{
    if (p != NULL)
        sodium_free(p);
}

void mimir_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

int mimir_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}
