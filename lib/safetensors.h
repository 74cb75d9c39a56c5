/*
 * safetensors.h — a strict, bounded reader and a writer for the safetensors format.
 *
 * Format (Hugging Face): 8-byte little-endian header length N, N bytes of JSON mapping tensor
 * names to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__"
 * object of strings), then the data. The reader checks that offsets are in bounds, do not
 * overlap, cover the data exactly, and that each tensor's byte size equals its shape times its
 * dtype size. It keeps the file in memory and hands out pointers into it.
 */
#ifndef MIMIR_SAFETENSORS_H
#define MIMIR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_ST_MAX_DIMS 8
#define MIMIR_ST_MAX_HEADER (100u << 20) /* 100 MiB of JSON header, as the reference does */

enum mimir_st_dtype {
    MIMIR_ST_F32, MIMIR_ST_F64, MIMIR_ST_F16, MIMIR_ST_BF16,
    MIMIR_ST_I64, MIMIR_ST_I32, MIMIR_ST_I16, MIMIR_ST_I8, MIMIR_ST_U8, MIMIR_ST_BOOL,
};

typedef struct mimir_st_tensor {
    char *name;
    enum mimir_st_dtype dtype;
    int ndim;
    uint64_t shape[MIMIR_ST_MAX_DIMS];
    uint64_t numel;
    const uint8_t *data; /* points into the file buffer */
    size_t nbytes;
} mimir_st_tensor;

typedef struct mimir_st {
    char *path;
    uint8_t *buf;
    size_t len;
    size_t n;
    mimir_st_tensor *t;
} mimir_st;

/* Reads and validates path (max bytes in all). */
int mimir_st_open(const char *path, size_t max, mimir_st **out, mimir_err *err);
void mimir_st_free(mimir_st *st);
/* Finds a tensor by name, or NULL. */
const mimir_st_tensor *mimir_st_find(const mimir_st *st, const char *name);
/* Size in bytes of one element of dtype. */
size_t mimir_st_dtype_size(enum mimir_st_dtype dtype);
const char *mimir_st_dtype_name(enum mimir_st_dtype dtype);
/* Converts element i of t to double (any float or integer dtype). */
double mimir_st_get(const mimir_st_tensor *t, uint64_t i);

/* Writes n float32 tensors to path atomically (for tests and scripts). */
typedef struct mimir_st_out {
    const char *name;
    int ndim;
    uint64_t shape[MIMIR_ST_MAX_DIMS];
    const float *data;
} mimir_st_out;
int mimir_st_write_f32(const char *path, const mimir_st_out *t, size_t n, mimir_err *err);

#endif
