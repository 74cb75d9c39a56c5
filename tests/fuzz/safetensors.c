/*
 * safetensors.c — libFuzzer target for the safetensors reader (lib/safetensors.c).
 *
 * Each input is written to an in-memory file (memfd) and opened by path with mimir_st_open, so
 * the fuzzer runs the same code as the tools, including mimir_read_file. On success it checks
 * what the header promises: every tensor's bytes lie inside the file buffer, nbytes equals
 * numel times the dtype size, numel is the product of the shape, names are found by
 * mimir_st_find, and every element can be read (ASan catches any read out of bounds). On
 * failure it checks that *out is NULL and the error record is filled with code 2 or 3.
 * Any violated invariant aborts, which libFuzzer reports as a crash with the input saved.
 * Build and run: see tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "safetensors.h"

#define FUZZ_MAX_FILE (1u << 20)   /* the reader's size limit for fuzz inputs */
#define FUZZ_MAX_ELEMS (1u << 16)  /* elements read per tensor */

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("mimir-st-fuzz", 0);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "safetensors fuzz: invariant violated: %s\n", what);
        abort();
    }
}

static void check_tensors(const mimir_st *st)
{
    volatile double sink = 0;
    for (size_t i = 0; i < st->n; i++) {
        const mimir_st_tensor *t = &st->t[i];
        size_t es = mimir_st_dtype_size(t->dtype);
        check(es > 0, "dtype has a size");
        check(t->ndim >= 0 && t->ndim <= MIMIR_ST_MAX_DIMS, "ndim within bounds");
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            numel *= t->shape[d];
        check(numel == t->numel, "numel is the product of the shape");
        check(t->nbytes / es == t->numel && t->nbytes % es == 0, "nbytes = numel * dtype size");
        check(t->data >= st->buf + 8 && t->data <= st->buf + st->len &&
                  t->nbytes <= (size_t)(st->buf + st->len - t->data),
              "tensor data inside the file buffer");
        check(t->name != NULL && mimir_st_find(st, t->name) != NULL, "tensor found by name");
        uint64_t n = t->numel < FUZZ_MAX_ELEMS ? t->numel : FUZZ_MAX_ELEMS;
        for (uint64_t e = 0; e < n; e++)
            sink += mimir_st_get(t, e);
        if (t->numel > 0)
            sink += mimir_st_get(t, t->numel - 1);
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("memfd write");
        abort();
    }
    mimir_st *st = (mimir_st *)1;
    mimir_err err;
    mimir_err_clear(&err);
    int rc = mimir_st_open(path, FUZZ_MAX_FILE, &st, &err);
    if (rc == MIMIR_OK) {
        check(st != NULL && st->len == size, "success returns the whole file");
        check_tensors(st);
        mimir_st_free(st);
    } else {
        check(st == NULL, "failure leaves *out NULL");
        check(rc == MIMIR_EINPUT || rc == MIMIR_ERUNTIME, "failure code is 2 or 3");
        check(err.code == rc && err.msg[0] != '\0', "failure fills the error record");
        check(memchr(err.msg, '\0', sizeof err.msg) != NULL, "error message is terminated");
    }
    return 0;
}
