/*
 * ring.h — arithmetic in Z_2^64 and Z_2^128, and fixed-point encoding.
 *
 * Ring elements are unsigned machine words; arithmetic wraps mod 2^k by C's unsigned rules.
 * Values are two's-complement signed fixed-point numbers with f fractional bits (default 16).
 * Every kernel here is constant time in its data: no branch and no memory index depends on an
 * element's value (only on shapes, which are public). Matmul dispatches once, at first use, to
 * the best path the CPU supports (AVX-512, AVX2, portable); every path gives identical bits.
 */
#ifndef MIMIR_RING_H
#define MIMIR_RING_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef uint64_t mimir_r64;
typedef unsigned __int128 mimir_r128;

#define MIMIR_FRAC_BITS_DEFAULT 16
#define MIMIR_FRAC_BITS_MAX 40

/* Encodes x as round(x * 2^f) in Z_2^64. Fails with MIMIR_EINPUT (field "value") if x is NaN,
 * infinite, or round(x * 2^f) is outside [-2^63, 2^63). */
int mimir_fixed_encode(double x, unsigned f, mimir_r64 *out, mimir_err *err);
/* Decodes a Z_2^64 element as a signed fixed-point number with f fractional bits. */
double mimir_fixed_decode(mimir_r64 v, unsigned f);
/* Largest magnitude that mimir_fixed_encode accepts for f (just below 2^(63-f)). */
double mimir_fixed_max(unsigned f);
/* Arithmetic (sign-preserving) shift right by f: the deterministic truncation of the
 * plaintext fixed-point reference. */
mimir_r64 mimir_fixed_trunc(mimir_r64 v, unsigned f);

/* Elementwise kernels, n elements; out may alias an input. */
void mimir_r64_add(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n);
void mimir_r64_sub(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n);
void mimir_r64_mul(mimir_r64 *out, const mimir_r64 *a, const mimir_r64 *b, size_t n);
void mimir_r64_scale(mimir_r64 *out, const mimir_r64 *a, mimir_r64 c, size_t n);
void mimir_r128_add(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n);
void mimir_r128_sub(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n);
void mimir_r128_mul(mimir_r128 *out, const mimir_r128 *a, const mimir_r128 *b, size_t n);
void mimir_r128_scale(mimir_r128 *out, const mimir_r128 *a, mimir_r128 c, size_t n);

/* C (m x n) = A (m x k) * B (k x n), row-major, mod 2^64 / 2^128. C must not alias A or B. */
void mimir_r64_matmul(mimir_r64 *C, const mimir_r64 *A, const mimir_r64 *B, size_t m, size_t k,
                      size_t n);
void mimir_r128_matmul(mimir_r128 *C, const mimir_r128 *A, const mimir_r128 *B, size_t m,
                       size_t k, size_t n);

/* The kernel paths, for tests and benchmarks. */
enum mimir_ring_path { MIMIR_PATH_PORTABLE = 0, MIMIR_PATH_AVX2 = 1, MIMIR_PATH_AVX512 = 2 };
/* The path dispatch chose on this CPU. */
enum mimir_ring_path mimir_ring_path_best(void);
/* Whether this CPU can run path p. */
int mimir_ring_path_supported(enum mimir_ring_path p);
const char *mimir_ring_path_name(enum mimir_ring_path p);
/* Matmul on a named path (p must be supported). */
void mimir_r64_matmul_path(enum mimir_ring_path p, mimir_r64 *C, const mimir_r64 *A,
                           const mimir_r64 *B, size_t m, size_t k, size_t n);
void mimir_r128_matmul_path(enum mimir_ring_path p, mimir_r128 *C, const mimir_r128 *A,
                            const mimir_r128 *B, size_t m, size_t k, size_t n);

#endif
