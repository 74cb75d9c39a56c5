/*
 * npy.h — a strict, bounded reader and an atomic writer for NumPy .npy arrays.
 *
 * Supports format versions 1.0, 2.0 and 3.0 and the dtypes '<f4', '<f8', '<i8', '<i4' (also
 * written '|' where NumPy allows it, and '=' / no order mark is refused: byte order must be
 * stated). Only C order (fortran_order False) is accepted; anything else is MIMIR_EINPUT naming
 * the header field. The header dict must hold exactly the keys descr, fortran_order and shape;
 * the shape tuple is parsed strictly (non-negative decimal integers, at most MIMIR_NPY_MAX_DIMS,
 * product checked for overflow) and the data length must equal numel * itemsize exactly.
 * Arrays are held in C order in native little-endian layout (Mimir runs on little-endian hosts).
 * Format reference: numpy/lib/format.py (NEP 1).
 */
#ifndef MIMIR_NPY_H
#define MIMIR_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_NPY_MAX_DIMS 8
#define MIMIR_NPY_MAX_HEADER 65536            /* bytes of header dict accepted */
#define MIMIR_NPY_MAX_BYTES ((size_t)4 << 30) /* default bound for callers: 4 GiB */

typedef enum { MIMIR_NPY_F32, MIMIR_NPY_F64, MIMIR_NPY_I64, MIMIR_NPY_I32 } mimir_npy_dtype;

typedef struct mimir_npy {
    mimir_npy_dtype dtype;
    int ndim;                           /* 0 for a scalar (numel 1) */
    uint64_t shape[MIMIR_NPY_MAX_DIMS];
    uint64_t numel;
    void *data;                         /* numel elements, C order, native little-endian */
} mimir_npy;
/* data comes from mimir_secret_alloc (the array may hold a secret) and mimir_npy_free wipes it. */

/* Reads path ("-" = stdin), at most max bytes in all. Errors name the file and the field
 * ("magic", "version", "header", "descr", "fortran_order", "shape", "data"). */
int mimir_npy_read(const char *path, size_t max, mimir_npy **out, mimir_err *err);

/* Parses an in-memory .npy image; name is used in messages. Same checks as mimir_npy_read. */
int mimir_npy_parse(const char *name, const uint8_t *buf, size_t len, mimir_npy **out,
                    mimir_err *err);

/* Writes an array atomically (format version 1.0, header padded to 64 bytes); "-" = stdout. */
int mimir_npy_write(const char *path, mimir_npy_dtype dtype, int ndim, const uint64_t *shape,
                    const void *data, mimir_err *err);

void mimir_npy_free(mimir_npy *a);

/* Bytes per element of dtype, and its descr string ("<f4", ...). */
size_t mimir_npy_dtype_size(mimir_npy_dtype dtype);
const char *mimir_npy_dtype_name(mimir_npy_dtype dtype);

#endif
