#include "mem.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each secret buffer is preceded by a 64-byte header holding its size, so free can wipe it. */
#define HDR 64

int mimir_mem_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void *mimir_secret_alloc(size_t n)
{
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = aligned_alloc(HDR, ((n + HDR + HDR - 1) / HDR) * HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &n, sizeof n);
    memset(p + HDR, 0, n);
    return p + HDR;
}

void mimir_secret_free(void *q)
{
    if (q == NULL)
        return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    sodium_memzero(p, n + HDR);
    free(p);
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
