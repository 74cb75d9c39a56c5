/*
 * ring_matmul_avx2.c — Z_2^64 matmul kernels for AVX2. Compiled with -mavx2; called only after
 * ring.c checked the CPU.
 *
 * AVX2 has no 64-bit lane multiply; vpmuludq gives 32x32->64. With a = ah*2^32 + al:
 *   a*b mod 2^64 = al*bl + ((ah*bl + al*bh) << 32)
 * and since the shift is linear mod 2^64 the cross terms are summed first and shifted once per
 * tile: 3 vpmuludq + 3 vpaddq per 4 products.
 *
 * Constant time: loops and masks depend on shapes only.
 */
#include <immintrin.h>
#include <stdint.h>

#include "ring_internal.h"

#define AI __attribute__((always_inline)) static inline

/* Register tile: MR rows x NRV vectors of 4 lanes (2 x 8), two accumulators per vector. */
#define MR 2
#define NRV 2
#define NR (NRV * 4)

/* Lanes i with 4*v + i < cols are on (all ones), the others off: a mask for vpmaskmovq. */
static __m256i lane_mask(size_t cols)
{
    long long c = cols > 4 ? 4 : (long long)cols;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(c), _mm256_set_epi64x(3, 2, 1, 0));
}

AI __m256i load4(const mimir_r64 *p, __m256i mask, const int full)
{
    return full ? _mm256_loadu_si256((const __m256i *)p)
                : _mm256_maskload_epi64((const long long *)p, mask);
}

AI void store4(mimir_r64 *p, __m256i mask, __m256i x, const int full)
{
    if (full)
        _mm256_storeu_si256((__m256i *)p, x);
    else
        _mm256_maskstore_epi64((long long *)p, mask, x);
}

/* C[rows x nr] += A[rows x kc] * B[kc x nr]; rows and full are compile-time constants. */
AI void tile64(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda, const mimir_r64 *B,
               size_t ldb, const size_t rows, size_t kc, size_t nr, const int full)
{
    __m256i lo[MR][NRV], x[MR][NRV], mk[NRV];
#pragma GCC unroll 8
    for (size_t v = 0; v < NRV; v++)
        mk[v] = lane_mask(nr > 4 * v ? nr - 4 * v : 0);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++)
            lo[r][v] = x[r][v] = _mm256_setzero_si256();
    for (size_t p = 0; p < kc; p++) {
        const mimir_r64 *b = B + p * ldb;
        __m256i bl[NRV], bh[NRV];
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++) {
            bl[v] = load4(b + 4 * v, mk[v], full);
            bh[v] = _mm256_srli_epi64(bl[v], 32);
        }
#pragma GCC unroll 8
        for (size_t r = 0; r < rows; r++) {
            mimir_r64 av = A[r * lda + p];
            __m256i al = _mm256_set1_epi64x((long long)av);
            __m256i ah = _mm256_set1_epi64x((long long)(av >> 32));
#pragma GCC unroll 8
            for (size_t v = 0; v < NRV; v++) {
                lo[r][v] = _mm256_add_epi64(lo[r][v], _mm256_mul_epu32(al, bl[v]));
                x[r][v] = _mm256_add_epi64(x[r][v], _mm256_mul_epu32(ah, bl[v]));
                x[r][v] = _mm256_add_epi64(x[r][v], _mm256_mul_epu32(al, bh[v]));
            }
        }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) {
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++) {
            mimir_r64 *c = C + r * ldc + 4 * v;
            __m256i acc = _mm256_add_epi64(lo[r][v], _mm256_slli_epi64(x[r][v], 32));
            store4(c, mk[v], _mm256_add_epi64(load4(c, mk[v], full), acc), full);
        }
    }
}

#define TILE_CASE(R)                                                                           \
    case R:                                                                                    \
        if (nr == NR)                                                                          \
            tile64(C, ldc, A, lda, B, ldb, R, kc, nr, 1);                                      \
        else                                                                                   \
            tile64(C, ldc, A, lda, B, ldb, R, kc, nr, 0);                                      \
        break;

static void tile64_avx2(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda,
                        const mimir_r64 *B, size_t ldb, size_t mr, size_t kc, size_t nr)
{
    switch (mr) {
        TILE_CASE(1)
#if MR >= 2
        TILE_CASE(2)
#endif
#if MR >= 3
        TILE_CASE(3)
#endif
#if MR >= 4
        TILE_CASE(4)
#endif
    default:
        break;
    }
}

/* One vector of 4 columns of c += sum_q a[q] * b[q], q < KG, over KG consecutive rows of B. */
#define KG 4

AI void rowvec(mimir_r64 *c, const mimir_r64 *b, size_t ldb, const __m256i *al,
               const __m256i *ah, __m256i mask, const int full)
{
    __m256i lo = load4(c, mask, full), x = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (size_t q = 0; q < KG; q++) {
        __m256i bl = load4(b + q * ldb, mask, full);
        __m256i bh = _mm256_srli_epi64(bl, 32);
        lo = _mm256_add_epi64(lo, _mm256_mul_epu32(al[q], bl));
        x = _mm256_add_epi64(x, _mm256_mul_epu32(ah[q], bl));
        x = _mm256_add_epi64(x, _mm256_mul_epu32(al[q], bh));
    }
    store4(c, mask, _mm256_add_epi64(lo, _mm256_slli_epi64(x, 32)), full);
}

/* c[4j..] += a[p..p+KG) * B[p..p+KG) for every vector of columns (ldb 0: one row of B, the
 * other weights being zero). */
static void rowgroup(mimir_r64 *c, const mimir_r64 *b, size_t ldb, const __m256i *al,
                     const __m256i *ah, size_t n)
{
    size_t nfull = n / 4 * 4;
    for (size_t j = 0; j < nfull; j += 4)
        rowvec(c + j, b + j, ldb, al, ah, _mm256_setzero_si256(), 1);
    if (nfull < n)
        rowvec(c + nfull, b + nfull, ldb, al, ah, lane_mask(n - nfull), 0);
}

/* Vector-matrix, one row of A: c[n] += a[k] * B[k x n], streaming B front to back. */
static void row64(mimir_r64 *c, const mimir_r64 *a, const mimir_r64 *B, size_t k, size_t n)
{
    __m256i al[KG], ah[KG];
    size_t p = 0;
    for (; p + KG <= k; p += KG) {
        for (size_t q = 0; q < KG; q++) {
            al[q] = _mm256_set1_epi64x((long long)a[p + q]);
            ah[q] = _mm256_set1_epi64x((long long)(a[p + q] >> 32));
        }
        rowgroup(c, B + p * n, n, al, ah, n);
    }
    for (; p < k; p++) {
        for (size_t q = 0; q < KG; q++)
            al[q] = ah[q] = _mm256_setzero_si256();
        al[0] = _mm256_set1_epi64x((long long)a[p]);
        ah[0] = _mm256_set1_epi64x((long long)(a[p] >> 32));
        rowgroup(c, B + p * n, 0, al, ah, n);
    }
}

static void rows64_avx2(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t rows,
                        size_t k, size_t n)
{
    for (size_t r = 0; r < rows; r++)
        row64(C + r * n, A + r * k, B, k, n);
}

const mimir_r64_kernels mimir_r64_kernels_avx2 = {
    .tile = tile64_avx2, .rows = rows64_avx2, .mr = MR, .nr = NR};
