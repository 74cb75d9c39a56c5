/*
 * bench_matmul.c — throughput of the Z_2^64 and Z_2^128 matmul kernels, single thread.
 *
 * For each shape (M x K x N) and each kernel path the CPU supports, prints one JSON object per
 * line to stdout: GMAC/s of the kernel (best and median), beside the textbook i,j,k triple loop
 * in the same ring and beside a float32 matmul of the same shape (i,k,j order, blocked,
 * vectorisable at -O2; also built for AVX2), all measured in the same run. Every measurement repeats until it has
 * taken at least --min-time seconds (default 0.2) and at least 3 runs. The kernel's result is
 * compared with the triple loop's ("ok").
 *
 *   build/bench/bench_matmul [--min-time S] [--shape MxKxN]...
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ring.h"

#define MAX_SHAPES 16
#define MAX_RUNS 4096
#define MIN_RUNS 3
#define FLOAT_KC 64 /* float32 blocking: a KC-row slab of B is reused by every row of C */
#define F32_CHUNK 16

struct shape {
    size_t m, k, n;
};

static const struct shape default_shapes[] = {{1, 768, 3072}, {64, 768, 768}, {128, 128, 128}};

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the comparisons ---- */

__attribute__((noinline)) static void naive64(mimir_r64 *C, const mimir_r64 *A,
                                              const mimir_r64 *B, size_t m, size_t k, size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            mimir_r64 s = 0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * B[p * n + j];
            C[i * n + j] = s;
        }
}

__attribute__((noinline)) static void naive128(mimir_r128 *C, const mimir_r128 *A,
                                               const mimir_r128 *B, size_t m, size_t k, size_t n)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            mimir_r128 s = 0;
            for (size_t p = 0; p < k; p++)
                s += A[i * k + p] * B[p * n + j];
            C[i * n + j] = s;
        }
}

/* A reasonable float32 matmul: i,k,j order (B streamed by rows, the j loop vectorises), blocked
 * over k so that a KC-row slab of B is reused by every row of C. Compiled twice: with the
 * build's flags (-O2, baseline x86-64: SSE2) as the issue asks, and for AVX2 as a stronger
 * reference ("float32_avx2_gmacs"). */
/* c[j] += a * b[j] for j < n, as fixed 16-wide chunks (which -O2's SLP vectoriser turns into
 * vector code) and a scalar tail. */
#define F32_AXPY(c, a, b, n)                                                                   \
    do {                                                                                       \
        size_t j_ = 0;                                                                         \
        for (; j_ + F32_CHUNK <= (n); j_ += F32_CHUNK)                                         \
            for (size_t t_ = 0; t_ < F32_CHUNK; t_++)                                          \
                (c)[j_ + t_] += (a) * (b)[j_ + t_];                                            \
        for (; j_ < (n); j_++)                                                                 \
            (c)[j_] += (a) * (b)[j_];                                                          \
    } while (0)

#define F32_MATMUL(NAME, ATTR)                                                                 \
    __attribute__((noinline)) ATTR static void NAME(float *restrict C, const float *restrict A, \
                                                    const float *restrict B, size_t m, size_t k, \
                                                    size_t n)                                  \
    {                                                                                          \
        memset(C, 0, m * n * sizeof *C);                                                       \
        for (size_t pc = 0; pc < k; pc += FLOAT_KC) {                                          \
            size_t pe = pc + FLOAT_KC < k ? pc + FLOAT_KC : k;                                 \
            for (size_t i = 0; i < m; i++) {                                                   \
                float *c = C + i * n;                                                          \
                for (size_t p = pc; p < pe; p++)                                               \
                    F32_AXPY(c, A[i * k + p], B + p * n, n);                                   \
            }                                                                                  \
        }                                                                                      \
    }

F32_MATMUL(matmul_f32, )
F32_MATMUL(matmul_f32_avx2, __attribute__((target("avx2"))))

/* ---- timing ---- */

enum what { W_KERNEL64, W_KERNEL128, W_NAIVE64, W_NAIVE128, W_F32, W_F32_AVX2 };

struct job {
    enum what what;
    enum mimir_ring_path path;
    struct shape s;
    void *C;
    const void *A, *B;
};

static void run(const struct job *j)
{
    size_t m = j->s.m, k = j->s.k, n = j->s.n;
    switch (j->what) {
    case W_KERNEL64:
        mimir_r64_matmul_path(j->path, j->C, j->A, j->B, m, k, n);
        break;
    case W_KERNEL128:
        mimir_r128_matmul_path(j->path, j->C, j->A, j->B, m, k, n);
        break;
    case W_NAIVE64:
        naive64(j->C, j->A, j->B, m, k, n);
        break;
    case W_NAIVE128:
        naive128(j->C, j->A, j->B, m, k, n);
        break;
    case W_F32:
        matmul_f32(j->C, j->A, j->B, m, k, n);
        break;
    case W_F32_AVX2:
        matmul_f32_avx2(j->C, j->A, j->B, m, k, n);
        break;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct result {
    double best, median; /* GMAC/s */
    int runs;
};

static struct result measure(const struct job *j, double min_time)
{
    static double t[MAX_RUNS];
    double macs = (double)j->s.m * (double)j->s.k * (double)j->s.n;
    int runs = 0;
    double total = 0;
    run(j); /* warm-up: page faults, caches */
    while (runs < MAX_RUNS && (runs < MIN_RUNS || total < min_time)) {
        double t0 = now();
        run(j);
        t[runs] = now() - t0;
        total += t[runs++];
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    struct result r = {macs / t[0] * 1e-9, macs / t[runs / 2] * 1e-9, runs};
    return r;
}

/* ---- main ---- */

static void *xmalloc(size_t n)
{
    void *p = aligned_alloc(64, (n + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "bench_matmul: out of memory (%zu bytes)\n", n);
        exit(3);
    }
    return p;
}

static void bench_shape(struct shape s, double min_time)
{
    size_t m = s.m, k = s.k, n = s.n;
    char name[64];
    snprintf(name, sizeof name, "%zux%zux%zu", m, k, n);

    float *fa = xmalloc(m * k * 4), *fb = xmalloc(k * n * 4), *fc = xmalloc(m * n * 4);
    for (size_t i = 0; i < m * k; i++)
        fa[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
    for (size_t i = 0; i < k * n; i++)
        fb[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
    struct job jf = {W_F32, MIMIR_PATH_PORTABLE, s, fc, fa, fb};
    struct result rf = measure(&jf, min_time);
    struct result rf2 = {0, 0, 0};
    if (__builtin_cpu_supports("avx2")) {
        jf.what = W_F32_AVX2;
        rf2 = measure(&jf, min_time);
    }

    for (int ring = 64; ring <= 128; ring += 64) {
        size_t w = ring / 8;
        unsigned char *A = xmalloc(m * k * w), *B = xmalloc(k * n * w);
        unsigned char *want = xmalloc(m * n * w), *C = xmalloc(m * n * w);
        for (size_t i = 0; i < m * k * w; i += 8) {
            uint64_t r = rnd();
            memcpy(A + i, &r, 8);
        }
        for (size_t i = 0; i < k * n * w; i += 8) {
            uint64_t r = rnd();
            memcpy(B + i, &r, 8);
        }
        struct job jn = {ring == 64 ? W_NAIVE64 : W_NAIVE128, MIMIR_PATH_PORTABLE, s, want, A, B};
        struct result rn = measure(&jn, min_time);
        enum mimir_ring_path best = mimir_ring_path_best();
        for (int p = MIMIR_PATH_PORTABLE; p <= MIMIR_PATH_AVX512; p++) {
            if (!mimir_ring_path_supported((enum mimir_ring_path)p))
                continue;
            struct job jk = {ring == 64 ? W_KERNEL64 : W_KERNEL128, (enum mimir_ring_path)p, s,
                             C, A, B};
            struct result rk = measure(&jk, min_time);
            int ok = memcmp(C, want, m * n * w) == 0;
            printf("{\"bench\":\"matmul\",\"ring\":%d,\"shape\":\"%s\",\"path\":\"%s\","
                   "\"dispatch\":%s,\"gmacs\":%.3f,\"gmacs_median\":%.3f,\"runs\":%d,"
                   "\"naive_gmacs\":%.3f,\"float32_gmacs\":%.3f,\"float32_avx2_gmacs\":%.3f,"
                   "\"speedup_vs_naive\":%.2f,"
                   "\"ratio_to_float32\":%.3f,\"ok\":%s}\n",
                   ring, name, mimir_ring_path_name((enum mimir_ring_path)p),
                   p == (int)best ? "true" : "false", rk.best, rk.median, rk.runs, rn.best,
                   rf.best, rf2.best, rk.best / rn.best, rk.best / rf.best, ok ? "true" : "false");
            fflush(stdout);
        }
        free(A);
        free(B);
        free(want);
        free(C);
    }
    free(fa);
    free(fb);
    free(fc);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_matmul [--min-time SECONDS] [--shape MxKxN]...\n"
               "Prints one JSON line per ring, shape and kernel path: GMAC/s of the kernel,\n"
               "of the naive i,j,k loop and of a float32 matmul of the same shape.\n"
               "Default shapes: 1x768x3072 64x768x768 128x128x128; min time 0.2 s.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"min-time", required_argument, NULL, 't'},
                                         {"shape", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct shape shapes[MAX_SHAPES];
    size_t nshapes = 0;
    double min_time = 0.2;
    int c;
    while ((c = getopt_long(argc, argv, "t:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': {
            char *end;
            min_time = strtod(optarg, &end);
            if (*end != '\0' || !(min_time >= 0 && min_time <= 60)) {
                fprintf(stderr, "bench_matmul: --min-time: '%s', expected seconds in [0, 60]\n",
                        optarg);
                return 2;
            }
            break;
        }
        case 's': {
            struct shape s;
            char extra;
            if (nshapes == MAX_SHAPES ||
                sscanf(optarg, "%zux%zux%zu%c", &s.m, &s.k, &s.n, &extra) != 3 || s.m == 0 ||
                s.k == 0 || s.n == 0 || s.m > 4096 || s.k > 16384 || s.n > 16384) {
                fprintf(stderr, "bench_matmul: --shape: '%s', expected MxKxN (at most %d)\n",
                        optarg, MAX_SHAPES);
                return 2;
            }
            shapes[nshapes++] = s;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (nshapes == 0) {
        nshapes = sizeof default_shapes / sizeof default_shapes[0];
        memcpy(shapes, default_shapes, sizeof default_shapes);
    }
    for (size_t i = 0; i < nshapes; i++)
        bench_shape(shapes[i], min_time);
    return 0;
}
