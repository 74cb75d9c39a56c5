/* test_npy — the .npy reader on files written by NumPy, and on corrupted buffers. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "io.h"
#include "npy.h"
#include "tap.h"

#define DATA "tests/data/npy/"

/* Known answers: files written by numpy.save (see tests/data/npy/README). */
static void test_fixtures(void)
{
    mimir_err err = {0};
    mimir_npy *a;
    int rc = mimir_npy_read(DATA "f4_2x3.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "f4_2x3.npy reads (%s)", rc ? err.msg : "ok")) {
        const float *f = a->data;
        CHECK(a->dtype == MIMIR_NPY_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3 &&
                  a->numel == 6, "f4_2x3.npy: dtype <f4, shape (2, 3)");
        CHECK(f[0] == -1.0f && f[5] == 1.5f, "f4_2x3.npy: values -1 .. 1.5");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "i8_2x2x2.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "i8_2x2x2.npy reads")) {
        const int64_t *v = a->data;
        CHECK(a->dtype == MIMIR_NPY_I64 && a->ndim == 3 && a->numel == 8, "i8: shape (2,2,2)");
        CHECK(v[3] == ((int64_t)1 << 62) && v[4] == INT64_MIN && v[5] == INT64_MAX,
              "i8: extreme values exact");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "i4_scalar.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "i4_scalar.npy reads")) {
        CHECK(a->ndim == 0 && a->numel == 1 && *(int32_t *)a->data == -42, "scalar -42, ndim 0");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "f4_empty.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "f4_empty.npy reads")) {
        CHECK(a->numel == 0 && a->ndim == 2 && a->shape[1] == 3, "empty (0, 3)");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "f8_v2.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "version 2.0 file reads")) {
        CHECK(a->dtype == MIMIR_NPY_F64 && ((double *)a->data)[1] == 2.0, "v2: <f8 [1, 2]");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "i4_v3.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "version 3.0 file reads")) {
        CHECK(a->dtype == MIMIR_NPY_I32 && ((int32_t *)a->data)[3] == 4, "v3: <i4 [[1,2],[3,4]]");
        mimir_npy_free(a);
    }
    rc = mimir_npy_read(DATA "f8_4.npy", 1 << 20, &a, &err);
    if (CHECK(rc == 0, "f8_4.npy reads")) {
        CHECK(((double *)a->data)[2] == 3e10, "f8: 3e10 exact");
        mimir_npy_free(a);
    }

    struct {
        const char *file, *field, *msg;
    } bad[] = {
        {"f4_fortran.npy", "fortran_order", "expected False"},
        {"f4_big_endian.npy", "descr", "unsupported dtype '>f4'"},
        {"u1.npy", "descr", "unsupported dtype '|u1'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DATA "%s", bad[i].file);
        a = NULL;
        rc = mimir_npy_read(path, 1 << 20, &a, &err);
        CHECK(rc == MIMIR_EINPUT && a == NULL && strcmp(err.field, bad[i].field) == 0 &&
                  strstr(err.msg, bad[i].msg) != NULL && strcmp(err.file, path) == 0,
              "%s refused: field %s, got field '%s' msg '%s'", bad[i].file, bad[i].field,
              err.field, err.msg);
    }
    rc = mimir_npy_read(DATA "f4_2x3.npy", 100, &a, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "larger than the limit"), "size bound enforced");
}

/* Builds a v1.0 file around a header dict and data bytes. */
static size_t build(uint8_t *buf, const char *dict, size_t datalen)
{
    size_t k = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((k + 1) & 0xff);
    buf[9] = (uint8_t)((k + 1) >> 8);
    memcpy(buf + 10, dict, k);
    buf[10 + k] = '\n';
    memset(buf + 11 + k, 0x5a, datalen);
    return 11 + k + datalen;
}

static void test_corrupt(void)
{
    struct {
        const char *dict;
        size_t datalen;
        const char *field, *msg;
    } t[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, NULL, NULL},
        {"{\"descr\": \"<i8\", \"shape\": (2, 2), \"fortran_order\": False}", 32, NULL, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 11, "data", "11 bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 13, "data", "13 bytes"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", 12, "shape",
         "trailing comma"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 12, "shape", "integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (03,), }", 12, "shape", "leading"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }", 0,
         "shape", "overflows 64 bits"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0,
         "shape", "number of elements overflows"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }", 0, "data",
         "expected"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "shape",
         "more than 8"},
        {"{'descr': '<f4', 'fortran_order': False}", 4, "shape", "missing"},
        {"{'descr': '<f4', 'shape': (1,)}", 4, "fortran_order", "missing"},
        {"{'fortran_order': False, 'shape': (1,)}", 4, "descr", "missing"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "descr",
         "twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "header",
         "unexpected key"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, "fortran_order", "True or"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, "header",
         "after the header"},
        {"['descr', '<f4']", 4, "header", "'{'"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (1,)}", 2, "descr", "unsupported"},
        {"{'descr': '=f4', 'fortran_order': False, 'shape': (1,)}", 4, "descr", "unsupported"},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", 4, "descr", "unsupported"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", 4, "descr",
         "unsupported dtype '<f4, '"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4, "header", "',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,2}", 8, "shape", "',' or ')'"},
    };
    static uint8_t buf[4096];
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = build(buf, t[i].dict, t[i].datalen);
        mimir_npy *a = NULL;
        mimir_err err = {0};
        mimir_err_clear(&err);
        int rc = mimir_npy_parse("mem.npy", buf, n, &a, &err);
        if (t[i].field == NULL) {
            CHECK(rc == 0 && a != NULL, "case %zu parses: %s", i, rc ? err.msg : "ok");
        } else {
            CHECK(rc == MIMIR_EINPUT && a == NULL && strcmp(err.field, t[i].field) == 0 &&
                      strstr(err.msg, t[i].msg) != NULL && strcmp(err.file, "mem.npy") == 0,
                  "case %zu refused, field %s with '%s' (got field '%s': %s)", i, t[i].field,
                  t[i].msg, err.field, err.msg);
        }
        mimir_npy_free(a);
    }

    /* Preamble corruptions. */
    size_t n = build(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4);
    mimir_npy *a = NULL;
    mimir_err err = {0};
    buf[1] = 'X';
    CHECK(mimir_npy_parse("m", buf, n, &a, &err) == 2 && strcmp(err.field, "magic") == 0,
          "bad magic refused");
    buf[1] = 'N';
    buf[6] = 4;
    CHECK(mimir_npy_parse("m", buf, n, &a, &err) == 2 && strcmp(err.field, "version") == 0 &&
              strstr(err.msg, "4.0"), "version 4.0 refused");
    buf[6] = 1;
    buf[7] = 1;
    CHECK(mimir_npy_parse("m", buf, n, &a, &err) == 2 && strcmp(err.field, "version") == 0,
          "version 1.1 refused");
    buf[7] = 0;
    buf[9] = 0xff;
    CHECK(mimir_npy_parse("m", buf, n, &a, &err) == 2 && strstr(err.msg, "truncated"),
          "header length past the end refused");
    buf[9] = 0;
    CHECK(mimir_npy_parse("m", buf, 9, &a, &err) == 2 && strcmp(err.field, "header") == 0,
          "truncated preamble refused");
    CHECK(mimir_npy_parse("m", buf, 5, &a, &err) == 2 && strcmp(err.field, "magic") == 0,
          "5-byte file refused");
    buf[20] = 0;
    CHECK(mimir_npy_parse("m", buf, n, &a, &err) == 2 && strstr(err.msg, "unexpected byte"),
          "NUL in header refused");
    /* Every truncation of a valid file is refused, never read past the end. */
    n = build(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", 16);
    int all = 1;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf, cut);
        if (mimir_npy_parse("m", copy, cut, &a, &err) != MIMIR_EINPUT)
            all = 0;
        free(copy);
    }
    CHECK(all, "every truncation of a valid file is refused with code 2");
}

static void test_roundtrip(void)
{
    mimir_err err = {0};
    const char *path = "tests/tmp/test_npy_rt.npy";
    int64_t v[6] = {1, -2, 3, INT64_MIN, INT64_MAX, 0};
    uint64_t shape[2] = {3, 2};
    int rc = mimir_npy_write(path, MIMIR_NPY_I64, 2, shape, v, &err);
    CHECK(rc == 0, "write i8 (3,2)");
    mimir_npy *a;
    rc = mimir_npy_read(path, 1 << 20, &a, &err);
    if (CHECK(rc == 0, "read back")) {
        CHECK(a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 2 &&
                  memcmp(a->data, v, sizeof v) == 0, "i8 round-trip bit-exact");
        mimir_npy_free(a);
    }
    uint8_t *buf;
    size_t len;
    mimir_read_file(path, 1 << 20, &buf, &len, &err);
    CHECK((len - 48) % 64 == 0 || (len - sizeof v) % 64 == 0, "header padded to 64 bytes");
    free(buf);
    float f[1] = {2.5f};
    uint64_t s1[1] = {1};
    rc = mimir_npy_write(path, MIMIR_NPY_F32, 1, s1, f, &err);
    rc = rc ? rc : mimir_npy_read(path, 1 << 20, &a, &err);
    if (CHECK(rc == 0, "write/read f4 (1,)")) {
        CHECK(a->ndim == 1 && ((float *)a->data)[0] == 2.5f, "f4 (1,) round-trip");
        mimir_npy_free(a);
    }
    rc = mimir_npy_write(path, MIMIR_NPY_F64, 0, NULL, (double[]){-0.5}, &err);
    rc = rc ? rc : mimir_npy_read(path, 1 << 20, &a, &err);
    if (CHECK(rc == 0, "write/read f8 scalar")) {
        CHECK(a->ndim == 0 && ((double *)a->data)[0] == -0.5, "f8 scalar round-trip");
        mimir_npy_free(a);
    }
    remove(path);
    mimir_npy_free(NULL);
    CHECK(1, "mimir_npy_free(NULL) is a no-op");
}

int main(void)
{
    mimir_mem_init();
    test_fixtures();
    test_corrupt();
    test_roundtrip();
    return tap_done();
}
