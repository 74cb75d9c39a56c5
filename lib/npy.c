#include "npy.h"

#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "mem.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define ALIGN 64 /* numpy pads the header so the data starts on a 64-byte boundary */

static const struct {
    const char *descr;
    mimir_npy_dtype dtype;
    size_t size;
} dtypes[] = {
    {"<f4", MIMIR_NPY_F32, 4},
    {"<f8", MIMIR_NPY_F64, 8},
    {"<i8", MIMIR_NPY_I64, 8},
    {"<i4", MIMIR_NPY_I32, 4},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t mimir_npy_dtype_size(mimir_npy_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == dtype)
            return dtypes[i].size;
    return 0;
}

const char *mimir_npy_dtype_name(mimir_npy_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == dtype)
            return dtypes[i].descr;
    return "?";
}

void mimir_npy_free(mimir_npy *a)
{
    if (a == NULL)
        return;
    mimir_secret_free(a->data);
    free(a);
}

/* A cursor over the header dict text; the parse functions return 0 or an error code. */
typedef struct {
    const char *name;
    const char *s;
    size_t n, i;
    mimir_err *err;
} cur;

static void skip_ws(cur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static int expect(cur *c, char ch, const char *field, const char *what)
{
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != ch)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, field, "malformed header: expected %s",
                             what);
    c->i++;
    return 0;
}

/* A Python string literal in single or double quotes, without escapes. */
static int parse_str(cur *c, char *out, size_t cap, const char *field)
{
    skip_ws(c);
    if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"'))
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, field,
                             "malformed header: expected a quoted string");
    char q = c->s[c->i++];
    size_t k = 0;
    while (c->i < c->n && c->s[c->i] != q) {
        char ch = c->s[c->i++];
        if (ch == '\\' || ch == '\n' || k + 1 >= cap)
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, field,
                                 "malformed header: unexpected string contents");
        out[k++] = ch;
    }
    if (c->i >= c->n)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, field,
                             "malformed header: unterminated string");
    c->i++;
    out[k] = '\0';
    return 0;
}

static int parse_descr(cur *c, mimir_npy_dtype *dtype, size_t *size)
{
    char d[32];
    int rc = parse_str(c, d, sizeof d, "descr");
    if (rc)
        return rc;
    for (size_t i = 0; i < N_DTYPES; i++) {
        if (strcmp(d, dtypes[i].descr) == 0) {
            *dtype = dtypes[i].dtype;
            *size = dtypes[i].size;
            return 0;
        }
    }
    /* '|' (not applicable) is legal only for one-byte types, which Mimir does not read. */
    return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "descr",
                         "unsupported dtype '%.20s', expected '<f4', '<f8', '<i8' or '<i4'", d);
}

static int parse_bool(cur *c, int *v)
{
    skip_ws(c);
    if (c->n - c->i >= 5 && memcmp(c->s + c->i, "False", 5) == 0) {
        c->i += 5;
        *v = 0;
        return 0;
    }
    if (c->n - c->i >= 4 && memcmp(c->s + c->i, "True", 4) == 0) {
        c->i += 4;
        *v = 1;
        return 0;
    }
    return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "fortran_order",
                         "malformed header: expected True or False");
}

/* A decimal integer without sign or leading zeros, at most UINT64_MAX. */
static int parse_dim(cur *c, uint64_t *v)
{
    skip_ws(c);
    size_t start = c->i;
    uint64_t x = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        unsigned d = (unsigned)(c->s[c->i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                                 "dimension overflows 64 bits");
        x = x * 10 + d;
        c->i++;
    }
    size_t len = c->i - start;
    if (len == 0)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                             "malformed shape: expected a non-negative integer");
    if (len > 1 && c->s[start] == '0')
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                             "malformed shape: integer with a leading zero");
    *v = x;
    return 0;
}

/* (), (n,), (n, m), (n, m,) — a one-element tuple needs its trailing comma, as in Python. */
static int parse_shape(cur *c, mimir_npy *a)
{
    int rc = expect(c, '(', "shape", "'(' starting the shape tuple");
    if (rc)
        return rc;
    a->ndim = 0;
    int trailing_comma = 0;
    for (;;) {
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == ')') {
            c->i++;
            break;
        }
        if (a->ndim == MIMIR_NPY_MAX_DIMS)
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                                 "more than %d dimensions", MIMIR_NPY_MAX_DIMS);
        if ((rc = parse_dim(c, &a->shape[a->ndim])) != 0)
            return rc;
        a->ndim++;
        skip_ws(c);
        trailing_comma = 0;
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            trailing_comma = 1;
            continue;
        }
        if ((rc = expect(c, ')', "shape", "',' or ')' in the shape tuple")) != 0)
            return rc;
        break;
    }
    if (a->ndim == 1 && !trailing_comma)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                             "malformed shape: a one-element tuple needs a trailing comma");
    a->numel = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] != 0 && a->numel > UINT64_MAX / a->shape[d])
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape",
                                 "number of elements overflows 64 bits");
        a->numel *= a->shape[d];
    }
    return 0;
}

/* The header dict: exactly the keys descr, fortran_order, shape, in any order. */
static int parse_dict(cur *c, mimir_npy *a, size_t *itemsize)
{
    int rc = expect(c, '{', "header", "'{' starting the header dict");
    if (rc)
        return rc;
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0, fortran = 0;
    for (;;) {
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == '}') {
            c->i++;
            break;
        }
        char key[32];
        if ((rc = parse_str(c, key, sizeof key, "header")) != 0)
            return rc;
        if ((rc = expect(c, ':', "header", "':' after a key")) != 0)
            return rc;
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &seen_descr;
            rc = parse_descr(c, &a->dtype, itemsize);
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &seen_fortran;
            rc = parse_bool(c, &fortran);
        } else if (strcmp(key, "shape") == 0) {
            seen = &seen_shape;
            rc = parse_shape(c, a);
        } else {
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "header",
                                 "unexpected key '%s', expected descr, fortran_order, shape", key);
        }
        if (rc)
            return rc;
        if (*seen)
            return mimir_err_set(c->err, MIMIR_EINPUT, c->name, key, "key appears twice");
        *seen = 1;
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if ((rc = expect(c, '}', "header", "',' or '}' in the header dict")) != 0)
            return rc;
        break;
    }
    if (!seen_descr)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "descr", "missing from the header");
    if (!seen_fortran)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "fortran_order",
                             "missing from the header");
    if (!seen_shape)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "shape", "missing from the header");
    if (fortran)
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "fortran_order",
                             "Fortran-ordered arrays are not supported, expected False");
    /* Only spaces may pad the dict, and the header ends with a newline. */
    skip_ws(c);
    if (c->i + 1 != c->n || c->s[c->i] != '\n')
        return mimir_err_set(c->err, MIMIR_EINPUT, c->name, "header",
                             "unexpected bytes after the header dict, expected spaces and '\\n'");
    return 0;
}

int mimir_npy_parse(const char *name, const uint8_t *buf, size_t len, mimir_npy **out,
                    mimir_err *err)
{
    *out = NULL;
    if (len < MAGIC_LEN + 2 || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "magic",
                             "not a .npy file, expected it to start with \\x93NUMPY");
    unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "version",
                             "unsupported .npy version %u.%u, expected 1.0, 2.0 or 3.0", major,
                             minor);
    size_t lenbytes = major == 1 ? 2 : 4, pre = MAGIC_LEN + 2 + lenbytes;
    if (len < pre)
        return mimir_err_set(err, MIMIR_EINPUT, name, "header", "truncated header length");
    uint64_t hlen = buf[8] | (uint64_t)buf[9] << 8;
    if (lenbytes == 4)
        hlen |= (uint64_t)buf[10] << 16 | (uint64_t)buf[11] << 24;
    if (hlen > MIMIR_NPY_MAX_HEADER)
        return mimir_err_set(err, MIMIR_EINPUT, name, "header",
                             "header of %llu bytes is larger than the limit of %d",
                             (unsigned long long)hlen, MIMIR_NPY_MAX_HEADER);
    if (len - pre < hlen)
        return mimir_err_set(err, MIMIR_EINPUT, name, "header",
                             "truncated: header needs %llu bytes, file has %zu after the preamble",
                             (unsigned long long)hlen, len - pre);
    const char *h = (const char *)buf + pre;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)h[i];
        /* v3 allows UTF-8, but only in field names of structured dtypes, which we refuse. */
        if (ch == 0 || ch >= 0x80 || (ch < 0x20 && ch != '\n' && ch != '\t'))
            return mimir_err_set(err, MIMIR_EINPUT, name, "header",
                                 "unexpected byte 0x%02x at header offset %zu", ch, i);
    }
    mimir_npy *a = calloc(1, sizeof *a);
    if (a == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    size_t itemsize = 0;
    cur c = {name, h, (size_t)hlen, 0, err};
    int rc = parse_dict(&c, a, &itemsize);
    if (rc) {
        free(a);
        return rc;
    }
    size_t have = len - pre - (size_t)hlen, want;
    if (a->numel > SIZE_MAX || mimir_size_mul((size_t)a->numel, itemsize, &want) != 0 ||
        want != have) {
        rc = mimir_err_set(err, MIMIR_EINPUT, name, "data",
                           "data is %zu bytes, expected %llu elements of %zu bytes", have,
                           (unsigned long long)a->numel, itemsize);
        free(a);
        return rc;
    }
    a->data = mimir_secret_alloc(want ? want : 1);
    if (a->data == NULL) {
        free(a);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    }
    memcpy(a->data, h + hlen, want);
    *out = a;
    return MIMIR_OK;
}

int mimir_npy_read(const char *path, size_t max, mimir_npy **out, mimir_err *err)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    int rc = mimir_read_file(path, max, &buf, &len, err);
    if (rc)
        return rc;
    rc = mimir_npy_parse(strcmp(path, "-") == 0 ? "<stdin>" : path, buf, len, out, err);
    mimir_wipe(buf, len);
    free(buf);
    return rc;
}

int mimir_npy_write(const char *path, mimir_npy_dtype dtype, int ndim, const uint64_t *shape,
                    const void *data, mimir_err *err)
{
    size_t itemsize = mimir_npy_dtype_size(dtype);
    if (itemsize == 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "dtype", "unknown dtype");
    if (ndim < 0 || ndim > MIMIR_NPY_MAX_DIMS)
        return mimir_err_set(err, MIMIR_EINPUT, path, "shape", "expected 0 to %d dimensions",
                             MIMIR_NPY_MAX_DIMS);
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     mimir_npy_dtype_name(dtype));
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%s%llu", d ? ", " : "",
                      (unsigned long long)shape[d]);
        if (shape[d] > SIZE_MAX || mimir_size_mul(numel, (size_t)shape[d], &numel) != 0)
            return mimir_err_set(err, MIMIR_EINPUT, path, "shape", "size overflows");
    }
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%s), }", ndim == 1 ? "," : "");
    size_t nbytes;
    if (mimir_size_mul(numel, itemsize, &nbytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "shape", "size overflows");
    /* Version 1.0 header: magic, 1, 0, uint16 length, dict padded with spaces, '\n'. */
    uint8_t hdr[640];
    size_t pre = MAGIC_LEN + 4, total = pre + (size_t)k + 1;
    total = (total + ALIGN - 1) / ALIGN * ALIGN;
    size_t hlen = total - pre;
    memcpy(hdr, MAGIC, MAGIC_LEN);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (uint8_t)(hlen & 0xff);
    hdr[9] = (uint8_t)(hlen >> 8);
    memcpy(hdr + pre, dict, (size_t)k);
    memset(hdr + pre + k, ' ', hlen - (size_t)k - 1);
    hdr[total - 1] = '\n';

    mimir_out out;
    int rc = mimir_out_open(&out, path, err);
    if (rc)
        return rc;
    if ((rc = mimir_out_write(&out, hdr, total, err)) != 0 ||
        (rc = mimir_out_write(&out, data, nbytes, err)) != 0) {
        mimir_out_abort(&out);
        return rc;
    }
    return mimir_out_commit(&out, err);
}
