/*
 * mem.h — allocation of secret buffers.
 *
 * Every buffer that holds a share, a key, a seed or a plaintext secret comes from
 * mimir_secret_alloc() and goes back through mimir_secret_free(), which wipes it with
 * sodium_memzero before releasing it. Keys and seeds that live long use sodium_malloc
 * (guard pages, mlock) through mimir_key_alloc(). mimir_*_free(NULL) is a no-op.
 * The library must call mimir_mem_init() (sodium_init) once; it is idempotent.
 *
 * Freed secret blocks are wiped at once and may then be kept, all zero, in a small bounded
 * cache (at most 48 blocks of up to 4 MiB, 48 MiB in all, thread-safe) from which an allocation
 * of the same size is served without clearing, malloc or page faults: the online protocol
 * frees and allocates the same few sizes every round. The cache never holds a secret.
 */
#ifndef MIMIR_MEM_H
#define MIMIR_MEM_H

#include <stddef.h>

/* Initialises libsodium. Returns 0, or -1 if libsodium cannot be initialised. */
int mimir_mem_init(void);

/* Zeroed secret buffer of n bytes (64-byte aligned), or NULL when out of memory. */
void *mimir_secret_alloc(size_t n);
/* The same for a buffer the caller overwrites in full before reading any of it (a pool read):
 * its n bytes are not cleared when the block is fresh from the system allocator (a cached
 * block is zero anyway); the rest of the block is, so it can go back to the cache. */
void *mimir_secret_alloc_overwritten(size_t n);
/* Wipes and frees a buffer from mimir_secret_alloc (wiped now, possibly cached for reuse). */
void mimir_secret_free(void *p);
/* Releases every cached (wiped) block to the system allocator; tests and leak checks. */
void mimir_secret_cache_drop(void);
/* Blocks and bytes the cache holds now (tests). */
void mimir_secret_cache_stats(size_t *blocks, size_t *bytes);

/* Guarded, locked allocation for keys and seeds (sodium_malloc). */
void *mimir_key_alloc(size_t n);
void mimir_key_free(void *p);

/* Wipes n bytes at p (sodium_memzero). */
void mimir_wipe(void *p, size_t n);

/* Multiplies a*b into *out; returns -1 on size_t overflow. */
int mimir_size_mul(size_t a, size_t b, size_t *out);

#endif
