/*
 * ring_internal.h — what the matmul driver (ring_matmul.c) shares with the per-ISA kernels
 * (ring_matmul_avx2.c, ring_matmul_avx512.c). Not a public header.
 *
 * The driver blocks the product for cache and calls two kinds of kernel of one path:
 *   tile:  C[mr x nr] += A[mr x kc] * B[kc x nr], mr <= MR, nr <= NR of that path, with
 *          leading dimensions lda, ldb, ldc (register-tiled, B micro-panel reused over rows);
 *   rows:  C[rows x n] += A[rows x k] * B[k x n] for a few rows (rows < MR), streaming B row by
 *          row (the memory-bound vector-matrix case, 1 x 768 x 3072).
 * Kernels loop only over shapes, never over values: constant time in the data.
 */
#ifndef MIMIR_RING_INTERNAL_H
#define MIMIR_RING_INTERNAL_H

#include <stddef.h>

#include "ring.h"

typedef void (*mimir_r64_tile_fn)(mimir_r64 *C, size_t ldc, const mimir_r64 *A, size_t lda,
                                  const mimir_r64 *B, size_t ldb, size_t mr, size_t kc,
                                  size_t nr);
typedef void (*mimir_r64_rows_fn)(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B,
                                  size_t rows, size_t k, size_t n);

typedef struct mimir_r64_kernels {
    mimir_r64_tile_fn tile;
    mimir_r64_rows_fn rows;
    size_t mr, nr; /* register tile of `tile` */
} mimir_r64_kernels;

extern const mimir_r64_kernels mimir_r64_kernels_avx2;
extern const mimir_r64_kernels mimir_r64_kernels_avx512;

/* C = A * B in Z_2^128 with AVX-512 IFMA (52-bit limbs, ring_matmul_avx512.c). Returns 0, or -1
 * (C untouched) if its scratch buffers cannot be allocated; the caller then uses another path. */
int mimir_r128_matmul_ifma(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B, size_t m,
                           size_t k, size_t n);

/* Whether the CPU also has AVX-512 IFMA (vpmadd52luq), used by the Z_2^128 AVX-512 path. */
int mimir_ring_has_ifma(void);

#endif
