/*
 * ring_matmul_avx512.c — matmul kernels for AVX-512F+DQ (vpmullq: 8 products mod 2^64 per
 * instruction) and, for Z_2^128, AVX-512 IFMA (vpmadd52luq/huq on 52-bit limbs).
 * Compiled with -mavx512f -mavx512dq...; called only after ring.c checked the CPU.
 *
 * Constant time: loops and masks depend on shapes only. Edge tiles use masked loads/stores
 * (the mask comes from the number of columns, which is public).
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"
#include "ring_internal.h"

#define AI __attribute__((always_inline)) static inline

/* Register tile: MR rows x NRV vectors of 8 lanes = 4 x 32 elements, 16 accumulators. */
#define MR 4
#define NRV 4
#define NR (NRV * 8)

static __mmask8 lane_mask(size_t cols)
{
    return cols >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << cols) - 1u);
}

/* C[rows x nr] += A[rows x kc] * B[kc x nr]. rows and full are compile-time constants at each
 * call site, so the unrolled loops keep acc[][] in registers. */
AI void tile64(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda, const mimir_r64 *B,
               size_t ldb, const size_t rows, size_t kc, size_t nr, const int full)
{
    __m512i acc[MR][NRV];
    __mmask8 mk[NRV];
#pragma GCC unroll 8
    for (size_t v = 0; v < NRV; v++)
        mk[v] = full ? (__mmask8)0xFF : lane_mask(nr > 8 * v ? nr - 8 * v : 0);
#pragma GCC unroll 8
    for (size_t r = 0; r < MR; r++)
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++)
            acc[r][v] = _mm512_setzero_si512();
    for (size_t p = 0; p < kc; p++) {
        const mimir_r64 *b = B + p * ldb;
        __m512i bv[NRV];
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++)
            bv[v] = full ? _mm512_loadu_si512(b + 8 * v) : _mm512_maskz_loadu_epi64(mk[v], b + 8 * v);
#pragma GCC unroll 8
        for (size_t r = 0; r < rows; r++) {
            __m512i a = _mm512_set1_epi64((long long)A[r * lda + p]);
#pragma GCC unroll 8
            for (size_t v = 0; v < NRV; v++)
                acc[r][v] = _mm512_add_epi64(acc[r][v], _mm512_mullo_epi64(a, bv[v]));
        }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) {
#pragma GCC unroll 8
        for (size_t v = 0; v < NRV; v++) {
            mimir_r64 *c = C + r * ldc + 8 * v;
            if (full) {
                _mm512_storeu_si512(c, _mm512_add_epi64(_mm512_loadu_si512(c), acc[r][v]));
            } else {
                __m512i old = _mm512_maskz_loadu_epi64(mk[v], c);
                _mm512_mask_storeu_epi64(c, mk[v], _mm512_add_epi64(old, acc[r][v]));
            }
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

static void tile64_avx512(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda,
                          const mimir_r64 *B, size_t ldb, size_t mr, size_t kc, size_t nr)
{
    switch (mr) {
        TILE_CASE(1)
        TILE_CASE(2)
        TILE_CASE(3)
        TILE_CASE(4)
    default:
        break;
    }
}

/* Vector-matrix: C[rows x n] += A[rows x k] * B[k x n], rows < MR. B is read once, front to
 * back, KG rows at a time; the C rows (rows x n) stay in L1/L2. */
#define KG 8

/* One vector of 8 columns: c[r] += sum_q a[r][q] * b[q*ldb], for KG rows of B (or just one, kg 1). */
AI void rowvec(mimir_r64 *C, size_t ldc, const mimir_r64 *b, size_t ldb, __m512i a[][KG],
               const size_t rows, const size_t kg, __mmask8 m, const int full)
{
    __m512i bq[KG];
#pragma GCC unroll 8
    for (size_t q = 0; q < kg; q++)
        bq[q] = full ? _mm512_loadu_si512(b + q * ldb) : _mm512_maskz_loadu_epi64(m, b + q * ldb);
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) {
        mimir_r64 *c = C + r * ldc;
        __m512i s = full ? _mm512_loadu_si512(c) : _mm512_maskz_loadu_epi64(m, c);
#pragma GCC unroll 8
        for (size_t q = 0; q < kg; q++)
            s = _mm512_add_epi64(s, _mm512_mullo_epi64(a[r][q], bq[q]));
        if (full)
            _mm512_storeu_si512(c, s);
        else
            _mm512_mask_storeu_epi64(c, m, s);
    }
}

AI void rows64(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, const size_t rows,
               size_t k, size_t n)
{
    size_t nfull = n / 8 * 8;
    __mmask8 last = lane_mask(n - nfull);
    __m512i a[MR][KG];
    size_t p = 0;
    for (; p + KG <= k; p += KG) {
#pragma GCC unroll 8
        for (size_t r = 0; r < rows; r++)
#pragma GCC unroll 8
            for (size_t q = 0; q < KG; q++)
                a[r][q] = _mm512_set1_epi64((long long)A[r * k + p + q]);
        const mimir_r64 *b = B + p * n;
        for (size_t j = 0; j < nfull; j += 8)
            rowvec(C + j, n, b + j, n, a, rows, KG, 0xFF, 1);
        if (nfull < n)
            rowvec(C + nfull, n, b + nfull, n, a, rows, KG, last, 0);
    }
    for (; p < k; p++) {
#pragma GCC unroll 8
        for (size_t r = 0; r < rows; r++)
            a[r][0] = _mm512_set1_epi64((long long)A[r * k + p]);
        const mimir_r64 *b = B + p * n;
        for (size_t j = 0; j < nfull; j += 8)
            rowvec(C + j, n, b + j, n, a, rows, 1, 0xFF, 1);
        if (nfull < n)
            rowvec(C + nfull, n, b + nfull, n, a, rows, 1, last, 0);
    }
}

static void rows64_avx512(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t rows,
                          size_t k, size_t n)
{
    switch (rows) {
    case 1:
        rows64(C, A, B, 1, k, n);
        break;
    case 2:
        rows64(C, A, B, 2, k, n);
        break;
    case 3:
        rows64(C, A, B, 3, k, n);
        break;
    default:
        break;
    }
}

const mimir_r64_kernels mimir_r64_kernels_avx512 = {
    .tile = tile64_avx512, .rows = rows64_avx512, .mr = MR, .nr = NR};

/* ---- Z_2^128 with IFMA ----
 *
 * x = x0 + x1*2^52 + x2*2^104 (x0, x1 < 2^52, x2 < 2^24). Mod 2^128 the product a*b is
 *   col0 = lo(a0 b0)
 *   col1 = hi(a0 b0) + lo(a0 b1) + lo(a1 b0)                                 (weight 2^52)
 *   col2 = hi(a0 b1) + hi(a1 b0) + lo(a0 b2) + lo(a1 b1) + lo(a2 b0)         (weight 2^104)
 * where lo/hi are the low/high 52 bits of a 104-bit limb product (vpmadd52luq/huq). Summed over
 * IKC = 64 values of k, col0 < 2^58 and col1 < 2^60 stay exact in 64-bit lanes; col2 is only
 * needed mod 2^24, so it may wrap. 9 IFMA per 8 products instead of 3 scalar multiplies each.
 */
#define IFMA __attribute__((target("avx512ifma")))
#define M52 ((UINT64_C(1) << 52) - 1)
#define IKC 64
#define INR 16
#define IMR 4
#define LIMBS 3

static void split(mimir_r128 x, uint64_t *out)
{
    uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
    out[0] = lo & M52;
    out[1] = ((lo >> 52) | (hi << 12)) & M52;
    out[2] = hi >> 40;
}

/* B panel (kc x nr, nr <= 16) to bp[p][limb][16], zero-padded beyond nr. */
static void pack_b(uint64_t *bp, const mimir_r128 *B, size_t ldb, size_t kc, size_t nr)
{
    const __m512i even = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    const __m512i m52 = _mm512_set1_epi64((long long)M52);
    for (size_t p = 0; p < kc; p++) {
        const mimir_r128 *b = B + p * ldb;
        uint64_t *d = bp + p * LIMBS * INR;
        if (nr == INR) {
            for (size_t h = 0; h < INR; h += 8) {
                __m512i x0 = _mm512_loadu_si512(b + h), x1 = _mm512_loadu_si512(b + h + 4);
                __m512i lo = _mm512_permutex2var_epi64(x0, even, x1);
                __m512i hi = _mm512_permutex2var_epi64(x0, odd, x1);
                __m512i l1 = _mm512_or_si512(_mm512_srli_epi64(lo, 52), _mm512_slli_epi64(hi, 12));
                _mm512_storeu_si512(d + h, _mm512_and_si512(lo, m52));
                _mm512_storeu_si512(d + INR + h, _mm512_and_si512(l1, m52));
                _mm512_storeu_si512(d + 2 * INR + h, _mm512_srli_epi64(hi, 40));
            }
        } else {
            for (size_t j = 0; j < INR; j++) {
                uint64_t t[LIMBS];
                split(j < nr ? b[j] : 0, t);
                for (size_t l = 0; l < LIMBS; l++)
                    d[l * INR + j] = t[l];
            }
        }
    }
}

/* C[rows x nr] += A[rows x kc] * B[kc x nr] from limbs: al[r][p][limb], bp[p][limb][16]. */
IFMA AI void micro128(mimir_r128 *C, size_t ldc, const uint64_t *al, size_t kc,
                      const uint64_t *bp, const size_t rows, size_t nr)
{
    __m512i acc[IMR][2][LIMBS];
#pragma GCC unroll 8
    for (size_t r = 0; r < IMR; r++)
#pragma GCC unroll 8
        for (size_t v = 0; v < 2; v++)
#pragma GCC unroll 8
            for (size_t l = 0; l < LIMBS; l++)
                acc[r][v][l] = _mm512_setzero_si512();
    for (size_t p = 0; p < kc; p++) {
        const uint64_t *b = bp + p * LIMBS * INR;
        __m512i b0[2], b1[2], b2[2];
#pragma GCC unroll 8
        for (size_t v = 0; v < 2; v++) {
            b0[v] = _mm512_loadu_si512(b + 8 * v);
            b1[v] = _mm512_loadu_si512(b + INR + 8 * v);
            b2[v] = _mm512_loadu_si512(b + 2 * INR + 8 * v);
        }
#pragma GCC unroll 8
        for (size_t r = 0; r < rows; r++) {
            const uint64_t *a = al + (r * kc + p) * LIMBS;
            __m512i a0 = _mm512_set1_epi64((long long)a[0]);
            __m512i a1 = _mm512_set1_epi64((long long)a[1]);
            __m512i a2 = _mm512_set1_epi64((long long)a[2]);
#pragma GCC unroll 8
            for (size_t v = 0; v < 2; v++) {
                __m512i *s = acc[r][v];
                s[0] = _mm512_madd52lo_epu64(s[0], a0, b0[v]);
                s[1] = _mm512_madd52hi_epu64(s[1], a0, b0[v]);
                s[1] = _mm512_madd52lo_epu64(s[1], a0, b1[v]);
                s[1] = _mm512_madd52lo_epu64(s[1], a1, b0[v]);
                s[2] = _mm512_madd52hi_epu64(s[2], a0, b1[v]);
                s[2] = _mm512_madd52hi_epu64(s[2], a1, b0[v]);
                s[2] = _mm512_madd52lo_epu64(s[2], a0, b2[v]);
                s[2] = _mm512_madd52lo_epu64(s[2], a1, b1[v]);
                s[2] = _mm512_madd52lo_epu64(s[2], a2, b0[v]);
            }
        }
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < rows; r++) {
        uint64_t V[LIMBS][INR];
#pragma GCC unroll 8
        for (size_t v = 0; v < 2; v++)
#pragma GCC unroll 8
            for (size_t l = 0; l < LIMBS; l++)
                _mm512_storeu_si512(V[l] + 8 * v, acc[r][v][l]);
        mimir_r128 *c = C + r * ldc;
        for (size_t j = 0; j < nr; j++)
            c[j] += (mimir_r128)V[0][j] + ((mimir_r128)V[1][j] << 52) +
                    ((mimir_r128)V[2][j] << 104);
    }
}

IFMA int mimir_r128_matmul_ifma(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B,
                                size_t m, size_t k, size_t n)
{
    if (m == 0 || n == 0)
        return 0;
    size_t an;
    if (mimir_size_mul(m, IKC * LIMBS * sizeof(uint64_t), &an) != 0)
        return -1;
    /* Limbs of A and B are as secret as A and B: secret buffers, wiped on free. */
    uint64_t *al = mimir_secret_alloc(an);
    uint64_t *bp = mimir_secret_alloc(IKC * LIMBS * INR * sizeof(uint64_t));
    if (al == NULL || bp == NULL) {
        mimir_secret_free(al);
        mimir_secret_free(bp);
        return -1;
    }
    memset(C, 0, m * n * sizeof *C);
    for (size_t pc = 0; pc < k; pc += IKC) {
        size_t kc = k - pc < IKC ? k - pc : IKC;
        for (size_t i = 0; i < m; i++)
            for (size_t p = 0; p < kc; p++)
                split(A[i * k + pc + p], al + (i * kc + p) * LIMBS);
        for (size_t jr = 0; jr < n; jr += INR) {
            size_t nr = n - jr < INR ? n - jr : INR;
            pack_b(bp, B + pc * n + jr, n, kc, nr);
            for (size_t ic = 0; ic < m; ic += IMR) {
                mimir_r128 *c = C + ic * n + jr;
                const uint64_t *a = al + ic * kc * LIMBS;
                switch (m - ic < IMR ? m - ic : IMR) {
                case 1:
                    micro128(c, n, a, kc, bp, 1, nr);
                    break;
                case 2:
                    micro128(c, n, a, kc, bp, 2, nr);
                    break;
                case 3:
                    micro128(c, n, a, kc, bp, 3, nr);
                    break;
                default:
                    micro128(c, n, a, kc, bp, 4, nr);
                    break;
                }
            }
        }
    }
    mimir_secret_free(al);
    mimir_secret_free(bp);
    return 0;
}
