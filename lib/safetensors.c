/*
 * safetensors.c — strict reader and simple writer. See safetensors.h.
 * The reader follows the format's own validation rules: offsets are relative to the start of the
 * data section, tensors are contiguous and cover it exactly, byte sizes match shape x dtype.
 */
#include "safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"

static const struct {
    const char *name;
    enum mimir_st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", MIMIR_ST_F32, 4},   {"F64", MIMIR_ST_F64, 8}, {"F16", MIMIR_ST_F16, 2},
    {"BF16", MIMIR_ST_BF16, 2}, {"I64", MIMIR_ST_I64, 8}, {"I32", MIMIR_ST_I32, 4},
    {"I16", MIMIR_ST_I16, 2},   {"I8", MIMIR_ST_I8, 1},   {"U8", MIMIR_ST_U8, 1},
    {"BOOL", MIMIR_ST_BOOL, 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t mimir_st_dtype_size(enum mimir_st_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == dtype)
            return dtypes[i].size;
    return 0;
}

const char *mimir_st_dtype_name(enum mimir_st_dtype dtype)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].dtype == dtype)
            return dtypes[i].name;
    return "?";
}

void mimir_st_free(mimir_st *st)
{
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->t[i].name);
    free(st->t);
    free(st->buf);
    free(st->path);
    free(st);
}

static int cmp_offset(const void *a, const void *b)
{
    /* By start, then by size: a zero-size tensor at another's start sorts first, so the
     * tiling check does not depend on the order of keys in the header. */
    const mimir_st_tensor *x = a, *y = b;
    if (x->data != y->data)
        return x->data < y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int parse_tensor(const char *path, const char *name, json_t *v, const uint8_t *data,
                        uint64_t data_len, mimir_st_tensor *t, mimir_err *err)
{
    char field[MIMIR_ERR_FIELDBYTES];
    snprintf(field, sizeof field, "header: tensor %s", name);
    if (!json_is_object(v))
        return mimir_err_set(err, MIMIR_EINPUT, path, field, "expected an object");
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape");
    json_t *jo = json_object_get(v, "data_offsets");
    if (json_object_size(v) != 3 || !json_is_string(jd) || !json_is_array(js) ||
        !json_is_array(jo) || json_array_size(jo) != 2)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "expected exactly dtype (string), shape (array) and data_offsets "
                             "([begin, end])");
    size_t di;
    for (di = 0; di < N_DTYPES; di++)
        if (strcmp(json_string_value(jd), dtypes[di].name) == 0)
            break;
    if (di == N_DTYPES)
        return mimir_err_set(err, MIMIR_EINPUT, path, field, "unknown dtype \"%.32s\"",
                             json_string_value(jd));
    t->dtype = dtypes[di].dtype;
    if (json_array_size(js) > MIMIR_ST_MAX_DIMS)
        return mimir_err_set(err, MIMIR_EINPUT, path, field, "shape has %zu dimensions, at most %d",
                             json_array_size(js), MIMIR_ST_MAX_DIMS);
    t->ndim = (int)json_array_size(js);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
        json_t *x = json_array_get(js, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            return mimir_err_set(err, MIMIR_EINPUT, path, field,
                                 "shape[%d]: expected a non-negative integer", d);
        t->shape[d] = (uint64_t)json_integer_value(x);
        if (t->shape[d] != 0 && numel > UINT64_MAX / t->shape[d])
            return mimir_err_set(err, MIMIR_EINPUT, path, field, "shape overflows");
        numel *= t->shape[d];
    }
    t->numel = numel;
    json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
    if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < json_integer_value(jb))
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "data_offsets: expected 0 <= begin <= end");
    uint64_t b = (uint64_t)json_integer_value(jb), e = (uint64_t)json_integer_value(je);
    if (e > data_len)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "data_offsets end %llu is past the data section (%llu bytes)",
                             (unsigned long long)e, (unsigned long long)data_len);
    if (numel > UINT64_MAX / dtypes[di].size || numel * dtypes[di].size != e - b)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "data_offsets span %llu bytes, shape and dtype need %llu",
                             (unsigned long long)(e - b),
                             (unsigned long long)(numel * dtypes[di].size));
    t->data = data + b;
    t->nbytes = (size_t)(e - b);
    return MIMIR_OK;
}

static int parse_header(mimir_st *st, const uint8_t *hdr, size_t hlen, mimir_err *err)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)hdr, hlen, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, st->path, "header",
                             "invalid JSON at byte %d: %s", je.position, je.text);
    int rc = MIMIR_OK;
    if (!json_is_object(root)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, st->path, "header", "expected a JSON object");
        goto out;
    }
    st->t = calloc(json_object_size(root) + 1, sizeof *st->t);
    if (st->t == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, st->path, NULL, "out of memory");
        goto out;
    }
    const uint8_t *data = hdr + hlen;
    uint64_t data_len = st->len - 8 - hlen;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                rc = mimir_err_set(err, MIMIR_EINPUT, st->path, "header: __metadata__",
                                   "expected an object of strings");
                goto out;
            }
            json_object_foreach(v, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = mimir_err_set(err, MIMIR_EINPUT, st->path, "header: __metadata__",
                                       "value of \"%.64s\" is not a string", mk);
                    goto out;
                }
            }
            continue;
        }
        mimir_st_tensor *t = &st->t[st->n];
        rc = parse_tensor(st->path, key, v, data, data_len, t, err);
        if (rc != MIMIR_OK)
            goto out;
        t->name = strdup(key);
        if (t->name == NULL) {
            rc = mimir_err_set(err, MIMIR_ERUNTIME, st->path, NULL, "out of memory");
            goto out;
        }
        st->n++;
    }
    /* Tensors must tile the data section exactly: sorted by offset, each starts where the last
     * ended, and the last ends at the end of the file. */
    mimir_st_tensor *sorted = malloc((st->n + 1) * sizeof *sorted);
    if (sorted == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, st->path, NULL, "out of memory");
        goto out;
    }
    memcpy(sorted, st->t, st->n * sizeof *sorted);
    qsort(sorted, st->n, sizeof *sorted, cmp_offset);
    const uint8_t *pos = data;
    for (size_t i = 0; i < st->n && rc == MIMIR_OK; i++) {
        if (sorted[i].data != pos)
            rc = mimir_err_set(err, MIMIR_EINPUT, st->path, "header",
                               "tensor %s: data_offsets %s another tensor's or leave a gap",
                               sorted[i].name, sorted[i].data < pos ? "overlap" : "do not follow");
        pos = sorted[i].data + sorted[i].nbytes;
    }
    if (rc == MIMIR_OK && pos != data + data_len)
        rc = mimir_err_set(err, MIMIR_EINPUT, st->path, "data",
                           "%llu bytes after the last tensor; expected none",
                           (unsigned long long)(data + data_len - pos));
    free(sorted);
out:
    json_decref(root);
    return rc;
}

int mimir_st_open(const char *path, size_t max, mimir_st **out, mimir_err *err)
{
    *out = NULL;
    mimir_st *st = calloc(1, sizeof *st);
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    int rc = mimir_read_file(path, max, &st->buf, &st->len, err);
    if (rc != MIMIR_OK)
        goto fail;
    if (st->len < 8) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "header length",
                           "file has %zu bytes; expected at least 8", st->len);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | st->buf[i];
    if (hlen < 2 || hlen > MIMIR_ST_MAX_HEADER || hlen > st->len - 8) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "header length",
                           "%llu does not fit the file (%zu bytes) or the %u-byte limit",
                           (unsigned long long)hlen, st->len, MIMIR_ST_MAX_HEADER);
        goto fail;
    }
    rc = parse_header(st, st->buf + 8, (size_t)hlen, err);
    if (rc != MIMIR_OK)
        goto fail;
    *out = st;
    return MIMIR_OK;
fail:
    mimir_st_free(st);
    return rc;
}

const mimir_st_tensor *mimir_st_find(const mimir_st *st, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0)
            return &st->t[i];
    return NULL;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

double mimir_st_get(const mimir_st_tensor *t, uint64_t i)
{
    const uint8_t *p = t->data + i * mimir_st_dtype_size(t->dtype);
    switch (t->dtype) {
    case MIMIR_ST_F32: { float f; memcpy(&f, p, 4); return f; }
    case MIMIR_ST_F64: { double d; memcpy(&d, p, 8); return d; }
    case MIMIR_ST_F16: { uint16_t h; memcpy(&h, p, 2); return half_to_double(h); }
    case MIMIR_ST_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case MIMIR_ST_I64: { int64_t x; memcpy(&x, p, 8); return (double)x; }
    case MIMIR_ST_I32: { int32_t x; memcpy(&x, p, 4); return x; }
    case MIMIR_ST_I16: { int16_t x; memcpy(&x, p, 2); return x; }
    case MIMIR_ST_I8: return (int8_t)p[0];
    case MIMIR_ST_U8: return p[0];
    case MIMIR_ST_BOOL: return p[0] != 0;
    }
    return NAN;
}

int mimir_st_write_f32(const char *path, const mimir_st_out *t, size_t n, mimir_err *err)
{
    json_t *root = json_object();
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *shape = json_array();
        uint64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            json_array_append_new(shape, json_integer((json_int_t)t[i].shape[d]));
            numel *= t[i].shape[d];
        }
        json_object_set_new(root, t[i].name,
                            json_pack("{s:s, s:o, s:[I,I]}", "dtype", "F32", "shape", shape,
                                      "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + numel * 4)));
        off += numel * 4;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (hdr == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    size_t hlen = strlen(hdr), padded = (hlen + 7) / 8 * 8;
    mimir_out out;
    int rc = mimir_out_open(&out, path, err);
    if (rc == MIMIR_OK) {
        uint8_t len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (uint8_t)(padded >> (8 * i));
        rc = mimir_out_write(&out, len8, 8, err);
        if (rc == MIMIR_OK)
            rc = mimir_out_write(&out, hdr, hlen, err);
        for (size_t i = hlen; i < padded && rc == MIMIR_OK; i++)
            rc = mimir_out_write(&out, " ", 1, err);
        for (size_t i = 0; i < n && rc == MIMIR_OK; i++) {
            uint64_t numel = 1;
            for (int d = 0; d < t[i].ndim; d++)
                numel *= t[i].shape[d];
            rc = mimir_out_write(&out, t[i].data, numel * 4, err);
        }
        if (rc == MIMIR_OK)
            rc = mimir_out_commit(&out, err);
        else
            mimir_out_abort(&out);
    }
    free(hdr);
    return rc;
}
