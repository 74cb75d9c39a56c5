#include "rss.h"

#include <sodium.h>
#include <string.h>

#include "mem.h"

static int system_fill(void *ctx, uint8_t *buf, size_t n)
{
    (void)ctx;
    if (mimir_mem_init() != 0)
        return MIMIR_ERUNTIME;
    randombytes_buf(buf, n);
    return MIMIR_OK;
}

mimir_rss_rng mimir_rss_rng_system(void)
{
    return (mimir_rss_rng){system_fill, NULL};
}

static int drbg_fill(void *ctx, uint8_t *buf, size_t n)
{
    return mimir_drbg_fill(ctx, buf, n);
}

mimir_rss_rng mimir_rss_rng_drbg(mimir_drbg *d)
{
    return (mimir_rss_rng){drbg_fill, d};
}

static int check_ring(unsigned ring, mimir_err *err)
{
    if (ring != MIMIR_RSS_RING64 && ring != MIMIR_RSS_RING128)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "ring", "ring %u, expected 64 or 128", ring);
    return MIMIR_OK;
}

int mimir_rss_split(unsigned ring, const void *x, size_t n, const mimir_rss_rng *rng,
                    void *comp[MIMIR_RSS_PARTIES], mimir_err *err)
{
    int rc = check_ring(ring, err);
    if (rc)
        return rc;
    size_t bytes;
    if (mimir_size_mul(n, MIMIR_RSS_WORDBYTES(ring), &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "shape", "vector too large");
    /* x0, x1 uniform (drawn in this order); x2 = x - x0 - x1. The host is little-endian, so the
     * random bytes are the words' little-endian encodings. */
    for (int j = 0; j < 2; j++) {
        rc = rng->fill(rng->ctx, comp[j], bytes);
        if (rc)
            return mimir_err_set(err, rc, NULL, "random", "random generator failed");
    }
    if (ring == MIMIR_RSS_RING64) {
        mimir_r64_sub(comp[2], x, comp[0], n);
        mimir_r64_sub(comp[2], comp[2], comp[1], n);
    } else {
        mimir_r128_sub(comp[2], x, comp[0], n);
        mimir_r128_sub(comp[2], comp[2], comp[1], n);
    }
    return MIMIR_OK;
}

/* Constant time in the data: ORs the XOR of every word pair, no early exit. Returns 1 if equal. */
static int same(unsigned ring, const void *a, const void *b, size_t n)
{
    const uint64_t *p = a, *q = b;
    size_t words = n * (ring / 64);
    uint64_t acc = 0;
    for (size_t i = 0; i < words; i++)
        acc |= p[i] ^ q[i];
    return acc == 0;
}

/* The component x_j of view v, or NULL if the party does not hold it. */
static const void *component(const mimir_rss_view *v, int j)
{
    if (v->party == j)
        return v->c[0];
    if ((v->party + 1) % MIMIR_RSS_PARTIES == j)
        return v->c[1];
    return NULL;
}

int mimir_rss_join(unsigned ring, size_t n, const mimir_rss_view *v, size_t nv, void *x,
                   mimir_err *err)
{
    int rc = check_ring(ring, err);
    if (rc)
        return rc;
    if (nv < 2 || nv > MIMIR_RSS_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "party",
                             "%zu shares given, expected 2 or 3", nv);
    int have = 0;
    for (size_t i = 0; i < nv; i++) {
        if (v[i].party < 0 || v[i].party >= MIMIR_RSS_PARTIES)
            return mimir_err_set(err, MIMIR_EINPUT, v[i].name, "party",
                                 "party index %d, expected 0, 1 or 2", v[i].party);
        if (have & (1 << v[i].party))
            return mimir_err_set(err, MIMIR_EINPUT, v[i].name, "party",
                                 "two shares of party %d, expected shares of distinct parties",
                                 v[i].party);
        have |= 1 << v[i].party;
    }
    /* Each component j: every pair of given parties that holds it must agree. With two parties
     * one component is held twice; with three, all three are. */
    const void *src[MIMIR_RSS_PARTIES] = {NULL, NULL, NULL};
    for (int j = 0; j < MIMIR_RSS_PARTIES; j++) {
        const mimir_rss_view *first = NULL;
        for (size_t i = 0; i < nv; i++) {
            const void *c = component(&v[i], j);
            if (c == NULL)
                continue;
            if (first == NULL) {
                first = &v[i];
                src[j] = c;
                continue;
            }
            if (!same(ring, src[j], c, n)) {
                int a = first->party < v[i].party ? first->party : v[i].party;
                int b = first->party < v[i].party ? v[i].party : first->party;
                return mimir_err_set(err, MIMIR_ESECURITY, v[i].name, NULL,
                                     "inconsistent shares: component x%d of party %d and party "
                                     "%d differ", j, a, b);
            }
        }
    }
    if (ring == MIMIR_RSS_RING64) {
        mimir_r64_add(x, src[0], src[1], n);
        mimir_r64_add(x, x, src[2], n);
    } else {
        mimir_r128_add(x, src[0], src[1], n);
        mimir_r128_add(x, x, src[2], n);
    }
    return MIMIR_OK;
}

void mimir_rss_lift128(mimir_r128 *out, const mimir_r64 *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (mimir_r128)(__int128)(int64_t)in[i];
}

int mimir_rss_lower64(mimir_r64 *out, const mimir_r128 *in, size_t n, size_t *bad)
{
    int ok = 1;
    size_t first = 0;
    for (size_t i = 0; i < n; i++) {
        mimir_r64 lo = (mimir_r64)in[i];
        int fits = in[i] == (mimir_r128)(__int128)(int64_t)lo;
        if (!fits && ok)
            first = i;
        ok &= fits;
        out[i] = lo;
    }
    if (!ok) {
        if (bad != NULL)
            *bad = first;
        return -1;
    }
    return 0;
}
