/*
 * ring.c — fixed-point encoding, elementwise kernels in Z_2^64 / Z_2^128, and the choice of
 * matmul path. The matmul kernels themselves are in ring_matmul*.c.
 *
 * Constant time: the elementwise loops touch every element the same way whatever its value;
 * only n (public) drives the loops. Multiplication by mul/imul is constant time on x86-64.
 */
#include "ring.h"

#include <math.h>

#include "ring_internal.h"

/* 2^63 as a double, exactly. */
#define TWO_POW_63 9223372036854775808.0

int mimir_fixed_encode(double x, unsigned f, mimir_r64 *out, mimir_err *err)
{
    if (f > MIMIR_FRAC_BITS_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "frac_bits",
                             "%u fractional bits, expected at most %d", f, MIMIR_FRAC_BITS_MAX);
    if (isnan(x) || isinf(x))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "value",
                             "not a finite number, expected a finite value");
    /* x * 2^f is exact (f >= 0 only raises the exponent), so the only rounding is round(). */
    double r = round(ldexp(x, (int)f));
    if (!(r >= -TWO_POW_63 && r < TWO_POW_63))
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "value",
                             "out of the fixed-point range with %u fractional bits, "
                             "expected magnitude below 2^%u",
                             f, 63 - f); /* never the value: it may be a secret */
    *out = (mimir_r64)(int64_t)r;
    return MIMIR_OK;
}

double mimir_fixed_decode(mimir_r64 v, unsigned f)
{
    return ldexp((double)(int64_t)v, -(int)f);
}

double mimir_fixed_max(unsigned f)
{
    if (f > MIMIR_FRAC_BITS_MAX)
        f = MIMIR_FRAC_BITS_MAX;
    /* The largest double below 2^(63-f): its scaled value 2^63 - 2^10 still fits. */
    return nextafter(ldexp(1.0, 63 - (int)f), 0.0);
}

mimir_r64 mimir_fixed_trunc(mimir_r64 v, unsigned f)
{
    /* Arithmetic shift without implementation-defined behaviour and without a branch on the
     * sign: shift the one's complement of negative values, then complement back (floor). */
    mimir_r64 sign = (mimir_r64)0 - (v >> 63);
    if (f > 63)
        return sign;
    return ((v ^ sign) >> f) ^ sign;
}

void mimir_r64_add(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void mimir_r64_sub(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

void mimir_r64_mul(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void mimir_r64_scale(mimir_r64 *out, const mimir_r64 *a, mimir_r64 c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * c;
}

void mimir_r128_add(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

void mimir_r128_sub(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] - b[i];
}

void mimir_r128_mul(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * b[i];
}

void mimir_r128_scale(mimir_r128 *out, const mimir_r128 *a, mimir_r128 c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] * c;
}

/* ---- paths ---- */

int mimir_ring_path_supported(enum mimir_ring_path p)
{
    __builtin_cpu_init();
    switch (p) {
    case MIMIR_PATH_PORTABLE:
        return 1;
    case MIMIR_PATH_AVX2:
        return __builtin_cpu_supports("avx2") != 0;
    case MIMIR_PATH_AVX512:
        /* vpmullq (64-bit lane multiply) is AVX-512DQ. */
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    }
    return 0;
}

enum mimir_ring_path mimir_ring_path_best(void)
{
    /* Computed on every call: cheap (it reads libgcc's cached CPU model) and race-free. */
    if (mimir_ring_path_supported(MIMIR_PATH_AVX512))
        return MIMIR_PATH_AVX512;
    if (mimir_ring_path_supported(MIMIR_PATH_AVX2))
        return MIMIR_PATH_AVX2;
    return MIMIR_PATH_PORTABLE;
}

const char *mimir_ring_path_name(enum mimir_ring_path p)
{
    switch (p) {
    case MIMIR_PATH_PORTABLE:
        return "portable";
    case MIMIR_PATH_AVX2:
        return "avx2";
    case MIMIR_PATH_AVX512:
        return "avx512";
    }
    return "unknown";
}

int mimir_ring_has_ifma(void)
{
    __builtin_cpu_init();
    return mimir_ring_path_supported(MIMIR_PATH_AVX512) && __builtin_cpu_supports("avx512ifma");
}
