/* test_rss — replicated 2-out-of-3 sharing: split, join from any two or three, cross-checks. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "drbg.h"
#include "mem.h"
#include "rss.h"
#include "tap.h"

#define N 1000

static void views(mimir_rss_view v[3], void *comp[3])
{
    for (int i = 0; i < 3; i++) {
        v[i].party = i;
        v[i].c[0] = comp[i];
        v[i].c[1] = comp[(i + 1) % 3];
        v[i].name = NULL;
    }
}

static void test_ring(unsigned ring)
{
    size_t wb = MIMIR_RSS_WORDBYTES(ring), bytes = N * wb;
    uint8_t *x = malloc(bytes), *y = malloc(bytes);
    void *comp[3];
    for (int j = 0; j < 3; j++)
        comp[j] = mimir_secret_alloc(bytes);
    randombytes_buf(x, bytes);
    mimir_err err = {0};
    mimir_rss_rng rng = mimir_rss_rng_system();
    int rc = mimir_rss_split(ring, x, N, &rng, comp, &err);
    CHECK(rc == 0, "ring %u: split", ring);
    /* x0 + x1 + x2 == x, element by element. */
    int sum_ok = 1;
    for (size_t i = 0; i < N; i++) {
        if (ring == 64) {
            mimir_r64 s = ((mimir_r64 *)comp[0])[i] + ((mimir_r64 *)comp[1])[i] +
                          ((mimir_r64 *)comp[2])[i];
            sum_ok &= s == ((mimir_r64 *)x)[i];
        } else {
            mimir_r128 s = ((mimir_r128 *)comp[0])[i] + ((mimir_r128 *)comp[1])[i] +
                           ((mimir_r128 *)comp[2])[i];
            sum_ok &= s == ((mimir_r128 *)x)[i];
        }
    }
    CHECK(sum_ok, "ring %u: x0 + x1 + x2 = x", ring);
    CHECK(memcmp(comp[0], comp[1], bytes) != 0 && memcmp(comp[0], x, bytes) != 0,
          "ring %u: components are not copies of x or of each other", ring);

    mimir_rss_view v[3];
    views(v, comp);
    int pairs_ok = 1;
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            if (a == b)
                continue;
            mimir_rss_view two[2] = {v[a], v[b]};
            memset(y, 0, bytes);
            pairs_ok &= mimir_rss_join(ring, N, two, 2, y, &err) == 0 &&
                        memcmp(x, y, bytes) == 0;
        }
    CHECK(pairs_ok, "ring %u: every ordered pair of parties reconstructs x", ring);
    mimir_rss_view three[3] = {v[2], v[0], v[1]};
    memset(y, 0, bytes);
    CHECK(mimir_rss_join(ring, N, three, 3, y, &err) == 0 && memcmp(x, y, bytes) == 0,
          "ring %u: three parties reconstruct x", ring);

    /* Tamper with party 1's copy of x1 (its first component). */
    uint8_t *c1 = mimir_secret_alloc(bytes);
    memcpy(c1, comp[1], bytes);
    c1[bytes - 1] ^= 0x80;
    mimir_rss_view bad[3] = {v[0], v[1], v[2]};
    bad[1].c[0] = c1;
    bad[1].name = "s.p1";
    mimir_err_clear(&err);
    rc = mimir_rss_join(ring, N, bad, 3, y, &err);
    CHECK(rc == MIMIR_ESECURITY &&
              strcmp(err.msg, "inconsistent shares: component x1 of party 0 and party 1 differ")
                  == 0 && strcmp(err.file, "s.p1") == 0,
          "ring %u: three shares, tampered x1 detected (%s)", ring, err.msg);
    mimir_rss_view p01[2] = {bad[1], bad[0]};
    rc = mimir_rss_join(ring, N, p01, 2, y, &err);
    CHECK(rc == MIMIR_ESECURITY && strstr(err.msg, "component x1 of party 0 and party 1"),
          "ring %u: parties 1,0 detect the tampered x1", ring);
    /* Parties 1 and 2 overlap only on x2: the change is not detectable by two, x is wrong. */
    mimir_rss_view p12[2] = {bad[1], bad[2]};
    rc = mimir_rss_join(ring, N, p12, 2, y, &err);
    CHECK(rc == 0 && memcmp(x, y, bytes) != 0,
          "ring %u: parties 1,2 cannot see a change to x1 (only x2 is replicated between them)",
          ring);
    /* x0 disagreement between party 2 (second) and party 0 (first). */
    bad[1].c[0] = comp[1];
    bad[2].c[1] = c1;
    rc = mimir_rss_join(ring, N, bad, 3, y, &err);
    CHECK(rc == MIMIR_ESECURITY && strstr(err.msg, "component x0 of party 0 and party 2"),
          "ring %u: a wrong x0 copy is named as x0 of party 0 and party 2 (%s)", ring, err.msg);
    CHECK(strstr(err.msg, "0x") == NULL, "message carries no values");
    mimir_secret_free(c1);
    for (int j = 0; j < 3; j++)
        mimir_secret_free(comp[j]);
    free(x);
    free(y);
}

static void test_errors(void)
{
    mimir_r64 a[1] = {1}, out[1];
    mimir_rss_view v[3] = {{0, {a, a}, "a"}, {0, {a, a}, "b"}, {5, {a, a}, "c"}};
    mimir_err err = {0};
    CHECK(mimir_rss_join(64, 1, v, 2, out, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "party") == 0 && strstr(err.msg, "two shares of party 0"),
          "repeated party refused");
    mimir_rss_view w[2] = {v[0], v[2]};
    CHECK(mimir_rss_join(64, 1, w, 2, out, &err) == MIMIR_EINPUT && strstr(err.msg, "index 5"),
          "party 5 refused");
    CHECK(mimir_rss_join(64, 1, v, 1, out, &err) == MIMIR_EINPUT &&
              strstr(err.msg, "expected 2 or 3"), "one share refused");
    CHECK(mimir_rss_join(32, 1, v, 2, out, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "ring") == 0, "ring 32 refused");
}

static void test_seeded(void)
{
    uint8_t seed[32] = {1, 2, 3};
    mimir_r64 x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (mimir_r64)i * 0x9e3779b97f4a7c15ull;
    mimir_r64 c[2][3][64];
    mimir_err err = {0};
    for (int r = 0; r < 2; r++) {
        mimir_drbg d;
        mimir_drbg_from_seed(&d, seed, sizeof seed, "share-split");
        mimir_rss_rng rng = mimir_rss_rng_drbg(&d);
        void *comp[3] = {c[r][0], c[r][1], c[r][2]};
        mimir_rss_split(64, x, 64, &rng, comp, &err);
        mimir_drbg_wipe(&d);
    }
    CHECK(memcmp(c[0], c[1], sizeof c[0]) == 0, "same seed gives the same split");
    seed[0] ^= 1;
    mimir_drbg d;
    mimir_drbg_from_seed(&d, seed, sizeof seed, "share-split");
    mimir_rss_rng rng = mimir_rss_rng_drbg(&d);
    void *comp[3] = {c[1][0], c[1][1], c[1][2]};
    mimir_rss_split(64, x, 64, &rng, comp, &err);
    CHECK(memcmp(c[0][0], c[1][0], sizeof c[0][0]) != 0, "another seed gives another split");
    mimir_drbg_wipe(&d);
    CHECK(mimir_rss_split(64, x, 64, &rng, comp, &err) != 0,
          "a wiped DRBG refuses to split (no silent zero randomness)");
}

static void test_lift(void)
{
    mimir_r64 in[4] = {0, 1, (mimir_r64)-1, (mimir_r64)INT64_MIN}, back[4];
    mimir_r128 w[4];
    mimir_rss_lift128(w, in, 4);
    CHECK(w[2] == ~(mimir_r128)0 && w[1] == 1 && (w[3] >> 64) == UINT64_MAX,
          "lift128 sign-extends");
    size_t bad = 99;
    CHECK(mimir_rss_lower64(back, w, 4, &bad) == 0 && memcmp(back, in, sizeof in) == 0,
          "lower64 inverts lift128");
    w[1] += (mimir_r128)1 << 64;
    w[3] += (mimir_r128)1 << 100;
    CHECK(mimir_rss_lower64(back, w, 4, &bad) == -1 && bad == 1,
          "lower64 names the first element that does not fit");
}

int main(void)
{
    mimir_mem_init();
    test_ring(64);
    test_ring(128);
    test_errors();
    test_seeded();
    test_lift();
    return tap_done();
}
