/*
 * ring_matmul.c — C = A * B in Z_2^64 and Z_2^128: the cache-blocking driver, the portable
 * kernels, and the dispatch to the AVX2 / AVX-512 kernels of ring_matmul_avx*.c.
 *
 * Blocking (as in BLIS/GotoBLAS, without packing): the columns of B are cut in blocks of NC,
 * the inner dimension in blocks of KC; within a block a kernel computes an MR x NR tile of C
 * with its accumulators in registers while the KC x NR panel of B stays in L1 across all rows.
 * When A has fewer than MR rows (a vector-matrix product) the `rows` kernel streams B row by
 * row instead: that case is memory bound and B must be read once, front to back.
 *
 * Constant time: every loop bound and index comes from the shapes (public), never from values.
 * The arithmetic wraps mod 2^64 / 2^128 by unsigned C rules, so every path gives the same bits.
 */
#include <string.h>

#include "mem.h"
#include "ring.h"
#include "ring_internal.h"

/* Blocking of the driver, in elements. KC x NR x 8 bytes of B (32 KiB) stays in L1. */
#define R64_KC 128
#define R64_NC 1024
#define R128_KC 128
/* Pack B panels only when enough rows of A reuse them. */
#define PACK_MIN_ROWS 8
#define R128_NC 512

/* Portable register tile: rows x up to 64 columns of C, accumulated in place. */
#define PORT_MR 4
#define PORT_NR 64

/* ---- portable Z_2^64 kernels ---- */

static void tile64_portable(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda,
                            const mimir_r64 *B, size_t ldb, size_t mr, size_t kc, size_t nr)
{
    for (size_t r = 0; r < mr; r++) {
        mimir_r64 *c = C + r * ldc;
        for (size_t p = 0; p < kc; p++) {
            mimir_r64 a = A[r * lda + p];
            const mimir_r64 *b = B + p * ldb;
            for (size_t j = 0; j < nr; j++)
                c[j] += a * b[j];
        }
    }
}

static void rows64_portable(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t rows,
                            size_t k, size_t n)
{
    for (size_t r = 0; r < rows; r++)
        tile64_portable(C + r * n, n, A + r * k, k, B, n, 1, k, n);
}

static const mimir_r64_kernels kernels64_portable = {
    .tile = tile64_portable, .rows = rows64_portable, .mr = PORT_MR, .nr = PORT_NR};

/* ---- portable Z_2^128 kernel ---- */

/* Sums of 4 columns stay in registers over the kc products (a 128-bit product is one mul and
 * two imul); the B sub-panel kc x 4 stays in L1 across the rows. */
#define PORT128_NJ 4

static void tile128_portable(mimir_r128 *C, size_t ldc, const mimir_r128 *A, size_t lda,
                             const mimir_r128 *B, size_t ldb, size_t mr, size_t kc, size_t nr)
{
    size_t j = 0;
    for (; j + PORT128_NJ <= nr; j += PORT128_NJ) {
        for (size_t r = 0; r < mr; r++) {
            const mimir_r128 *a = A + r * lda;
            mimir_r128 s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t p = 0; p < kc; p++) {
                const mimir_r128 *b = B + p * ldb + j;
                mimir_r128 ap = a[p];
                s0 += ap * b[0];
                s1 += ap * b[1];
                s2 += ap * b[2];
                s3 += ap * b[3];
            }
            mimir_r128 *c = C + r * ldc + j;
            c[0] += s0;
            c[1] += s1;
            c[2] += s2;
            c[3] += s3;
        }
    }
    for (; j < nr; j++) {
        for (size_t r = 0; r < mr; r++) {
            mimir_r128 s = 0;
            for (size_t p = 0; p < kc; p++)
                s += A[r * lda + p] * B[p * ldb + j];
            C[r * ldc + j] += s;
        }
    }
}

/* ---- drivers ---- */

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Copies the kc x nr panel of B (row stride ldb) to a contiguous kc x nr buffer, so that the
 * tile walks one page instead of kc pages (a row of B can be many KiB long). */
static void pack64(mimir_r64 *dst, const mimir_r64 *B, size_t ldb, size_t kc, size_t nr)
{
    for (size_t p = 0; p < kc; p++)
        memcpy(dst + p * nr, B + p * ldb, nr * sizeof *dst);
}

static void matmul64(const mimir_r64_kernels *kern, mimir_r64 *C, const mimir_r64 *A,
                     const mimir_r64 *B, size_t m, size_t k, size_t n)
{
    if (m == 0 || n == 0)
        return;
    memset(C, 0, m * n * sizeof *C);
    if (k == 0)
        return;
    if (m < kern->mr) {
        kern->rows(C, A, B, m, k, n);
        return;
    }
    /* The packed panel holds shares: a secret buffer, wiped on free. Without memory, the tile
     * reads B in place (same result, slower). */
    mimir_r64 *panel = m >= PACK_MIN_ROWS ? mimir_secret_alloc(R64_KC * kern->nr * sizeof *panel)
                                          : NULL;
    for (size_t jc = 0; jc < n; jc += R64_NC) {
        size_t nc = min_sz(R64_NC, n - jc);
        for (size_t pc = 0; pc < k; pc += R64_KC) {
            size_t kc = min_sz(R64_KC, k - pc);
            for (size_t jr = jc; jr < jc + nc; jr += kern->nr) {
                size_t nr = min_sz(kern->nr, jc + nc - jr);
                const mimir_r64 *b = B + pc * n + jr;
                size_t ldb = n;
                if (panel != NULL) {
                    pack64(panel, b, n, kc, nr);
                    b = panel;
                    ldb = nr;
                }
                for (size_t ic = 0; ic < m; ic += kern->mr) {
                    size_t mr = min_sz(kern->mr, m - ic);
                    kern->tile(C + ic * n + jr, n, A + ic * k + pc, k, b, ldb, mr, kc, nr);
                }
            }
        }
    }
    mimir_secret_free(panel);
}

static void matmul128(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B, size_t m, size_t k,
                      size_t n)
{
    if (m == 0 || n == 0)
        return;
    memset(C, 0, m * n * sizeof *C);
    for (size_t jc = 0; jc < n; jc += R128_NC) {
        size_t nc = min_sz(R128_NC, n - jc);
        for (size_t pc = 0; pc < k; pc += R128_KC) {
            size_t kc = min_sz(R128_KC, k - pc);
            for (size_t jr = jc; jr < jc + nc; jr += PORT_NR) {
                size_t nr = min_sz(PORT_NR, jc + nc - jr);
                for (size_t ic = 0; ic < m; ic += PORT_MR) {
                    size_t mr = min_sz(PORT_MR, m - ic);
                    tile128_portable(C + ic * n + jr, n, A + ic * k + pc, k, B + pc * n + jr, n,
                                     mr, kc, nr);
                }
            }
        }
    }
}

/* ---- dispatch ---- */

static const mimir_r64_kernels *kernels64(enum mimir_ring_path p)
{
    /* An unsupported path falls back to the portable kernels rather than faulting. */
    if (!mimir_ring_path_supported(p))
        return &kernels64_portable;
    switch (p) {
    case MIMIR_PATH_AVX512:
        return &mimir_r64_kernels_avx512;
    case MIMIR_PATH_AVX2:
        return &mimir_r64_kernels_avx2;
    case MIMIR_PATH_PORTABLE:
        break;
    }
    return &kernels64_portable;
}

void mimir_r64_matmul_path(enum mimir_ring_path p, mimir_r64 *C, const mimir_r64 *A,
                           const mimir_r64 *B, size_t m, size_t k, size_t n)
{
    matmul64(kernels64(p), C, A, B, m, k, n);
}

void mimir_r64_matmul(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t m, size_t k,
                      size_t n)
{
    matmul64(kernels64(mimir_ring_path_best()), C, A, B, m, k, n);
}

void mimir_r128_matmul_path(enum mimir_ring_path p, mimir_r128 *C, const mimir_r128 *A,
                            const mimir_r128 *B, size_t m, size_t k, size_t n)
{
    /* AVX2 has no 64x64 multiply that beats the scalar mul/imul for 128-bit products, so the
     * AVX2 path uses the portable kernel; AVX-512 uses IFMA (52-bit limbs) when present. */
    if (p == MIMIR_PATH_AVX512 && mimir_ring_has_ifma() &&
        mimir_r128_matmul_ifma(C, A, B, m, k, n) == 0)
        return;
    matmul128(C, A, B, m, k, n);
}

void mimir_r128_matmul(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B, size_t m,
                       size_t k, size_t n)
{
    mimir_r128_matmul_path(mimir_ring_path_best(), C, A, B, m, k, n);
}
