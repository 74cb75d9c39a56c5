/*
 * test_ring.c — fixed-point encoding, elementwise kernels and matmul in Z_2^64 / Z_2^128.
 *
 * Fixed-point: known answers (rounding, negatives, f = 0 / 16 / 40, range limits, NaN/inf).
 * Kernels: known answers at the wrap-around points, and every matmul path the CPU supports
 * against a naive triple loop on random full-width inputs, over awkward shapes (1x1x1, odd
 * sizes, sizes that are not multiples of any tile, 1x768x3072).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tap.h"

#define U64MAX UINT64_MAX

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) /* xorshift64*: deterministic test data */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static mimir_r128 rnd128(void)
{
    return ((mimir_r128)rnd() << 64) | rnd();
}

/* ---- fixed point ---- */

struct enc_case {
    double x;
    unsigned f;
    int64_t want;
};

static const struct enc_case enc_cases[] = {
    {0.0, 16, 0},
    {1.0, 16, 65536},
    {-1.0, 16, -65536},
    {0.5, 16, 32768},
    {-0.5, 16, -32768},
    {1.5 / 65536, 16, 2},       /* a tie rounds away from zero */
    {-1.5 / 65536, 16, -2},
    {0.25 / 65536, 16, 0},      /* below half an ulp: 0 */
    {0.75 / 65536, 16, 1},
    {-0.75 / 65536, 16, -1},
    {3.25, 16, 212992},
    {-1234.5678, 16, -80908635}, /* -1234.5678 * 65536 = -80908635.34 */
    {2.5, 0, 3},
    {-2.5, 0, -3},
    {7.0, 0, 7},
    {-7.4, 0, -7},
    {1.0, 40, INT64_C(1) << 40},
    {-1.0, 40, -(INT64_C(1) << 40)},
    {4194304.0, 40, INT64_C(1) << 62}, /* 2^22 */
    {-8388608.0, 40, INT64_MIN},       /* -2^23: the most negative value fits */
    {1e-13, 40, 0},                    /* 1e-13 * 2^40 = 0.1099... */
    {-9.0949470177292824e-13, 40, -1}, /* -2^-40 */
};

struct bad_case {
    double x;
    unsigned f;
};

static const struct bad_case bad_cases[] = {
    {140737488355328.0, 16},  /* 2^47 * 2^16 = 2^63 */
    {-140737488355329.0, 16}, /* just below -2^47 */
    {1e300, 16},
    {-1e300, 16},
    {8388608.0, 40},          /* 2^23 * 2^40 = 2^63 */
    {9223372036854775808.0, 0},
    {1.0, 41},                /* too many fractional bits */
};

static void test_encode(void)
{
    for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
        const struct enc_case *c = &enc_cases[i];
        mimir_err err = {0};
        mimir_err_clear(&err);
        mimir_r64 v = 12345;
        int rc = mimir_fixed_encode(c->x, c->f, &v, &err);
        CHECK(rc == MIMIR_OK && (int64_t)v == c->want,
              "encode(%.17g, f=%u) = %lld, expected %lld (rc %d)", c->x, c->f, (long long)(int64_t)v,
              (long long)c->want, rc);
    }
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        mimir_err err = {0};
        mimir_err_clear(&err);
        mimir_r64 v = 777;
        int rc = mimir_fixed_encode(c->x, c->f, &v, &err);
        char shown[64];
        snprintf(shown, sizeof shown, "%g", c->x);
        CHECK(c->f > MIMIR_FRAC_BITS_MAX || strstr(err.msg, shown) == NULL,
              "encode(%.17g, f=%u): the message does not show the (possibly secret) value",
              c->x, c->f);
        CHECK(rc == MIMIR_EINPUT && err.code == MIMIR_EINPUT && v == 777 && err.msg[0] != '\0',
              "encode(%.17g, f=%u) fails with MIMIR_EINPUT and leaves out alone (rc %d, msg '%s')",
              c->x, c->f, rc, err.msg);
    }
    const double nonfinite[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 4; i++) {
        mimir_err err = {0};
        mimir_err_clear(&err);
        mimir_r64 v;
        int rc = mimir_fixed_encode(nonfinite[i], 16, &v, &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "value") == 0,
              "encode(%g) fails with MIMIR_EINPUT on field 'value' (rc %d, field '%s')",
              nonfinite[i], rc, err.field);
    }
    /* The range edge, for several f: max is accepted, the next double is not, -2^(63-f) is. */
    const unsigned fs[] = {0, 1, 16, 24, 40};
    for (size_t i = 0; i < 5; i++) {
        unsigned f = fs[i];
        double mx = mimir_fixed_max(f);
        mimir_r64 v;
        int ok = mimir_fixed_encode(mx, f, &v, NULL) == MIMIR_OK && (int64_t)v > 0;
        int over = mimir_fixed_encode(nextafter(mx, INFINITY), f, &v, NULL) == MIMIR_EINPUT;
        int neg = mimir_fixed_encode(-ldexp(1.0, 63 - (int)f), f, &v, NULL) == MIMIR_OK &&
                  (int64_t)v == INT64_MIN;
        int negover =
            mimir_fixed_encode(nextafter(-ldexp(1.0, 63 - (int)f), -INFINITY), f, &v, NULL) ==
            MIMIR_EINPUT;
        CHECK(ok && over && neg && negover && mx < ldexp(1.0, 63 - (int)f),
              "f=%u: max %.17g encodes, the next double and below -2^%u do not (%d %d %d %d)", f,
              mx, 63 - f, ok, over, neg, negover);
    }
}

static void test_decode(void)
{
    CHECK(mimir_fixed_decode(65536, 16) == 1.0, "decode(65536, 16) = 1");
    CHECK(mimir_fixed_decode((mimir_r64)-65536, 16) == -1.0, "decode(-65536, 16) = -1");
    CHECK(mimir_fixed_decode(1, 16) == ldexp(1.0, -16), "decode(1, 16) = 2^-16");
    CHECK(mimir_fixed_decode(U64MAX, 16) == -ldexp(1.0, -16), "decode(2^64-1, 16) = -2^-16");
    CHECK(mimir_fixed_decode((mimir_r64)INT64_MIN, 40) == -8388608.0, "decode(-2^63, 40) = -2^23");
    CHECK(mimir_fixed_decode(7, 0) == 7.0, "decode(7, 0) = 7");
    /* Round trip: error at most 2^-(f+1). */
    const unsigned fs[] = {0, 8, 16, 30, 40};
    for (size_t i = 0; i < 5; i++) {
        unsigned f = fs[i];
        double worst = 0;
        int fails = 0;
        for (int t = 0; t < 10000; t++) {
            double x = ((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * 2000.0;
            mimir_r64 v;
            if (mimir_fixed_encode(x, f, &v, NULL) != MIMIR_OK) {
                fails++;
                continue;
            }
            double e = fabs(mimir_fixed_decode(v, f) - x);
            if (e > worst)
                worst = e;
        }
        CHECK(fails == 0 && worst <= ldexp(1.0, -(int)f - 1),
              "f=%u: round-trip error %.3g <= 2^-%u over 10000 values in [-1000, 1000]", f, worst,
              f + 1);
    }
}

static void test_trunc(void)
{
    struct {
        int64_t v;
        unsigned f;
        int64_t want;
    } cases[] = {
        {-1, 16, -1},           {-65536, 16, -1},    {-65537, 16, -2},
        {65537, 16, 1},         {65535, 16, 0},      {-32768, 16, -1},
        {123, 0, 123},          {-123, 0, -123},     {INT64_MIN, 63, -1},
        {INT64_MAX, 63, 0},     {INT64_MIN, 40, -(INT64_C(1) << 23)},
        {-(INT64_C(3) << 40), 40, -3}, {-(INT64_C(3) << 40) - 1, 40, -4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mimir_r64 got = mimir_fixed_trunc((mimir_r64)cases[i].v, cases[i].f);
        CHECK((int64_t)got == cases[i].want, "trunc(%lld, %u) = %lld, expected %lld",
              (long long)cases[i].v, cases[i].f, (long long)(int64_t)got,
              (long long)cases[i].want);
    }
    /* floor(v / 2^f) for random values, compared with a division-based reference. */
    int bad = 0;
    for (int t = 0; t < 20000; t++) {
        int64_t v = (int64_t)rnd() >> (rnd() & 31);
        unsigned f = (unsigned)(rnd() % 41);
        int64_t d = INT64_C(1) << f;
        int64_t q = v / d, r = v % d;
        int64_t want = (r != 0 && v < 0) ? q - 1 : q;
        bad += (int64_t)mimir_fixed_trunc((mimir_r64)v, f) != want;
    }
    CHECK(bad == 0, "trunc equals floor(v / 2^f) on 20000 random values (%d differ)", bad);
    /* trunc(encode(x)) for the product of two fixed-point numbers is the fixed-point product. */
    mimir_r64 a, b;
    mimir_fixed_encode(-2.5, 16, &a, NULL);
    mimir_fixed_encode(1.25, 16, &b, NULL);
    CHECK(mimir_fixed_decode(mimir_fixed_trunc(a * b, 16), 16) == -3.125,
          "trunc(enc(-2.5) * enc(1.25), 16) decodes to -3.125");
}

/* ---- elementwise ---- */

/* A 128-bit product mod 2^128 by 32-bit limbs, independent of the compiler's __int128 mul. */
static mimir_r128 mul128_ref(mimir_r128 a, mimir_r128 b)
{
    uint32_t x[4], y[4];
    uint64_t z[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        x[i] = (uint32_t)(a >> (32 * i));
        y[i] = (uint32_t)(b >> (32 * i));
    }
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; i + j < 4; j++) {
            uint64_t t = (uint64_t)x[i] * y[j] + (z[i + j] & 0xFFFFFFFFu) + carry;
            z[i + j] = t & 0xFFFFFFFFu;
            carry = t >> 32;
        }
    }
    return ((mimir_r128)(z[3] << 32 | z[2]) << 64) | (z[1] << 32 | z[0]);
}

static void test_elementwise(void)
{
    mimir_r64 a[5] = {U64MAX, 0, (mimir_r64)1 << 32, 3, (mimir_r64)1 << 63};
    mimir_r64 b[5] = {1, 1, (mimir_r64)1 << 32, U64MAX, 2};
    mimir_r64 o[5];
    mimir_r64_add(o, a, b, 5);
    CHECK(o[0] == 0 && o[1] == 1 && o[2] == (mimir_r64)1 << 33 && o[3] == 2 &&
              o[4] == ((mimir_r64)1 << 63) + 2,
          "r64 add wraps mod 2^64");
    mimir_r64_sub(o, a, b, 5);
    CHECK(o[0] == U64MAX - 1 && o[1] == U64MAX && o[2] == 0 && o[3] == 4 &&
              o[4] == ((mimir_r64)1 << 63) - 2,
          "r64 sub wraps mod 2^64");
    mimir_r64_mul(o, a, b, 5);
    CHECK(o[0] == U64MAX && o[1] == 0 && o[2] == 0 && o[3] == U64MAX - 2 && o[4] == 0,
          "r64 mul wraps mod 2^64 (2^32 * 2^32 = 0, 3 * -1 = -3, 2^63 * 2 = 0)");
    mimir_r64_scale(o, a, U64MAX, 5);
    CHECK(o[0] == 1 && o[1] == 0 && o[2] == (mimir_r64)0 - ((mimir_r64)1 << 32) &&
              o[3] == U64MAX - 2 && o[4] == (mimir_r64)1 << 63,
          "r64 scale by -1 negates mod 2^64");
    mimir_r64 al[3] = {5, 6, 7}, bl[3] = {1, 2, 3};
    mimir_r64_sub(al, al, bl, 3);
    mimir_r64_mul(al, al, al, 3);
    CHECK(al[0] == 16 && al[1] == 16 && al[2] == 16, "r64 kernels accept out aliasing inputs");

    const mimir_r128 M = ~(mimir_r128)0, T64 = (mimir_r128)1 << 64;
    mimir_r128 A[4] = {M, T64, T64 - 1, (mimir_r128)1 << 127};
    mimir_r128 B[4] = {1, T64, T64 - 1, 3};
    mimir_r128 O[4];
    mimir_r128_add(O, A, B, 4);
    CHECK(O[0] == 0 && O[1] == (mimir_r128)1 << 65 && O[2] == 2 * T64 - 2 &&
              O[3] == ((mimir_r128)1 << 127) + 3,
          "r128 add wraps mod 2^128");
    mimir_r128_sub(O, B, A, 4);
    CHECK(O[0] == 2 && O[1] == 0 && O[2] == 0 && O[3] == ((mimir_r128)1 << 127) + 3,
          "r128 sub wraps mod 2^128");
    mimir_r128_mul(O, A, B, 4);
    CHECK(O[0] == M && O[1] == 0 && O[2] == (mimir_r128)0 - ((mimir_r128)1 << 65) + 1 + T64 * T64 &&
              O[3] == (mimir_r128)1 << 127,
          "r128 mul wraps mod 2^128 (2^64 * 2^64 = 0, (2^64-1)^2 = 2^128 - 2^65 + 1)");
    mimir_r128_scale(O, A, M, 4);
    CHECK(O[0] == 1 && O[1] == (mimir_r128)0 - T64 && O[3] == (mimir_r128)1 << 127,
          "r128 scale by -1 negates mod 2^128");
    enum { N = 1000 };
    static mimir_r128 X[N], Y[N], Z[N];
    for (int i = 0; i < N; i++) {
        X[i] = rnd128();
        Y[i] = rnd128();
    }
    mimir_r128_mul(Z, X, Y, N);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += Z[i] != mul128_ref(X[i], Y[i]);
    CHECK(bad == 0, "r128 mul equals a 32-bit-limb schoolbook product on %d random pairs (%d differ)",
          N, bad);
    mimir_r128_scale(Z, X, Y[0], N);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += Z[i] != mul128_ref(X[i], Y[0]);
    CHECK(bad == 0, "r128 scale equals the schoolbook product (%d differ)", bad);
}

/* ---- matmul ---- */

struct shape {
    size_t m, k, n;
};

static const struct shape shapes[] = {
    {1, 1, 1},   {1, 1, 9},    {9, 1, 1},    {1, 9, 1},    {2, 3, 5},    {3, 7, 2},
    {4, 5, 31},  {4, 5, 33},   {5, 129, 33}, {7, 3, 17},   {8, 16, 32},  {3, 100, 61},
    {13, 257, 65}, {17, 300, 1030}, {64, 130, 96}, {33, 77, 9}, {1, 768, 3072}, {2, 96, 384},
    {6, 4, 3},   {65, 1, 129}, {0, 4, 4},    {4, 0, 4},    {4, 4, 0},
};

static void naive64(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t m, size_t k,
                    size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            mimir_r64 s = 0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * B[p * n + j];
            C[i * n + j] = s;
        }
}

static void naive128(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B, size_t m, size_t k,
                     size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            mimir_r128 s = 0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * B[p * n + j];
            C[i * n + j] = s;
        }
}

/* fill: 0 random, 1 all ones (-1), 2 random small signed values */
static mimir_r64 val64(int fill)
{
    if (fill == 1)
        return U64MAX;
    if (fill == 2)
        return (mimir_r64)((int64_t)(rnd() % 2001) - 1000);
    return rnd();
}

static void test_matmul64(void)
{
    const enum mimir_ring_path paths[] = {MIMIR_PATH_PORTABLE, MIMIR_PATH_AVX2, MIMIR_PATH_AVX512};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s].m, k = shapes[s].k, n = shapes[s].n;
        for (int fill = 0; fill < 3; fill++) {
            if (fill > 0 && m * k * n > 100000)
                continue;
            mimir_r64 *A = malloc((m * k + 1) * 8), *B = malloc((k * n + 1) * 8);
            mimir_r64 *want = malloc((m * n + 1) * 8), *got = malloc((m * n + 1) * 8);
            for (size_t i = 0; i < m * k; i++)
                A[i] = val64(fill);
            for (size_t i = 0; i < k * n; i++)
                B[i] = val64(fill);
            naive64(want, A, B, m, k, n);
            for (size_t pi = 0; pi < 3; pi++) {
                enum mimir_ring_path p = paths[pi];
                if (!mimir_ring_path_supported(p))
                    continue;
                memset(got, 0xA5, (m * n + 1) * 8); /* the kernel must overwrite, not add */
                mimir_r64_matmul_path(p, got, A, B, m, k, n);
                CHECK(memcmp(got, want, m * n * 8) == 0 && got[m * n] == 0xA5A5A5A5A5A5A5A5ull,
                      "r64 matmul %zux%zux%zu fill %d on %s equals the naive loop, writes no "
                      "further", m, k, n, fill, mimir_ring_path_name(p));
            }
            if (fill == 0) {
                memset(got, 0x5A, m * n * 8);
                mimir_r64_matmul(got, A, B, m, k, n);
                CHECK(memcmp(got, want, m * n * 8) == 0,
                      "r64 matmul %zux%zux%zu via dispatch equals the naive loop", m, k, n);
            }
            free(A);
            free(B);
            free(want);
            free(got);
        }
    }
}

static void test_matmul128(void)
{
    const enum mimir_ring_path paths[] = {MIMIR_PATH_PORTABLE, MIMIR_PATH_AVX2, MIMIR_PATH_AVX512};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s].m, k = shapes[s].k, n = shapes[s].n;
        for (int fill = 0; fill < 3; fill++) {
            if (fill > 0 && m * k * n > 100000)
                continue;
            size_t sz = sizeof(mimir_r128);
            mimir_r128 *A = malloc((m * k + 1) * sz), *B = malloc((k * n + 1) * sz);
            mimir_r128 *want = malloc((m * n + 1) * sz), *got = malloc((m * n + 1) * sz);
            for (size_t i = 0; i < m * k; i++)
                A[i] = fill == 0 ? rnd128() : (mimir_r128)(__int128)(int64_t)val64(fill);
            for (size_t i = 0; i < k * n; i++)
                B[i] = fill == 0 ? rnd128() : (mimir_r128)(__int128)(int64_t)val64(fill);
            if (fill == 1) /* all ones in 128 bits: the largest limbs */
                for (size_t i = 0; i < k * n; i++)
                    B[i] = ~(mimir_r128)0;
            naive128(want, A, B, m, k, n);
            for (size_t pi = 0; pi < 3; pi++) {
                enum mimir_ring_path p = paths[pi];
                if (!mimir_ring_path_supported(p))
                    continue;
                memset(got, 0xA5, (m * n + 1) * sz);
                mimir_r128_matmul_path(p, got, A, B, m, k, n);
                unsigned char guard[16];
                memset(guard, 0xA5, 16);
                CHECK(memcmp(got, want, m * n * sz) == 0 && memcmp(got + m * n, guard, 16) == 0,
                      "r128 matmul %zux%zux%zu fill %d on %s equals the naive loop, writes no "
                      "further", m, k, n, fill, mimir_ring_path_name(p));
            }
            if (fill == 0) {
                memset(got, 0x5A, m * n * sz);
                mimir_r128_matmul(got, A, B, m, k, n);
                CHECK(memcmp(got, want, m * n * sz) == 0,
                      "r128 matmul %zux%zux%zu via dispatch equals the naive loop", m, k, n);
            }
            free(A);
            free(B);
            free(want);
            free(got);
        }
    }
}

static void test_paths(void)
{
    CHECK(mimir_ring_path_supported(MIMIR_PATH_PORTABLE), "the portable path is always supported");
    enum mimir_ring_path best = mimir_ring_path_best();
    CHECK(mimir_ring_path_supported(best), "the best path (%s) is supported",
          mimir_ring_path_name(best));
    CHECK(strcmp(mimir_ring_path_name(MIMIR_PATH_AVX512), "avx512") == 0 &&
              strcmp(mimir_ring_path_name(MIMIR_PATH_AVX2), "avx2") == 0 &&
              strcmp(mimir_ring_path_name(MIMIR_PATH_PORTABLE), "portable") == 0,
          "path names");
    printf("# paths on this CPU: portable%s%s; best %s\n",
           mimir_ring_path_supported(MIMIR_PATH_AVX2) ? " avx2" : "",
           mimir_ring_path_supported(MIMIR_PATH_AVX512) ? " avx512" : "",
           mimir_ring_path_name(best));
}

int main(void)
{
    test_encode();
    test_decode();
    test_trunc();
    test_elementwise();
    test_paths();
    test_matmul64();
    test_matmul128();
    return tap_done();
}
