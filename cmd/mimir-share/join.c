/* mimir-share join: reconstruct from two or three share files, checking replicated copies. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "mem.h"
#include "npy.h"
#include "ring.h"
#include "rss.h"
#include "safetensors.h"
#include "sharefile.h"
#include "share.h"
#include "tokenizer.h"

static void help(void)
{
    printf(
        "Usage: %s join [options] SHARE SHARE [SHARE]\n\n"
        "Reconstructs a secret from the share files (or model bundle directories) of any two\n"
        "parties, in any order. Given all three, every replicated component is cross-checked\n"
        "and a disagreement fails with exit status 1. Writes:\n"
        "  tensor  a .npy of the original dtype (floats decoded from fixed point)\n"
        "  tokens  the text, decoded with the tokenizer (or the ids with --ids)\n"
        "  model   a model.safetensors file with every tensor as float32\n\n"
        "Options:\n"
        "  -o, --output FILE    where to write (default and '-': stdout)\n"
        "      --ids            tokens: print the ids, space-separated, instead of text\n"
        "  -t, --tokenizer DIR  tokenizer directory (default $MIMIR_MODEL_DIR, else\n"
        "                       ../models/tiny beside the binary)\n"
        "  -h, --help           show this help\n",
        PROG);
}

/* Reconstructs tensor idx into numel signed 64-bit values (secret buffer). */
static int open_tensor(const mimir_share *const *s, size_t ns, size_t idx, mimir_r64 **out,
                       mimir_err *err)
{
    const mimir_share_tensor *t = &s[0]->t[idx];
    size_t n = (size_t)t->numel, wb = MIMIR_RSS_WORDBYTES(s[0]->ring);
    void *w = mimir_secret_alloc(n ? n * wb : 1);
    mimir_r64 *v = mimir_secret_alloc(n ? n * sizeof *v : 1);
    if (w == NULL || v == NULL) {
        mimir_secret_free(w);
        mimir_secret_free(v);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    }
    int rc = mimir_share_open(s, ns, idx, w, err);
    size_t bad = 0;
    if (rc == MIMIR_OK && s[0]->ring == MIMIR_RSS_RING128) {
        if (mimir_rss_lower64(v, w, n, &bad) != 0)
            rc = mimir_err_set(err, MIMIR_ESECURITY, s[ns - 1]->name, t->name,
                               "inconsistent shares: element %zu does not reconstruct to a "
                               "sign-extended 64-bit value", bad);
    } else if (rc == MIMIR_OK) {
        memcpy(v, w, n * sizeof *v);
    }
    mimir_secret_free(w);
    if (rc) {
        mimir_secret_free(v);
        return rc;
    }
    *out = v;
    return MIMIR_OK;
}

/* Decodes to the tensor's original dtype into a secret buffer. */
static int decode(const mimir_share *s, const mimir_share_tensor *t, const mimir_r64 *v,
                  void **out, mimir_err *err)
{
    size_t n = (size_t)t->numel, es = t->dtype == MIMIR_SHARE_F32 || t->dtype == MIMIR_SHARE_I32
                                          ? 4 : 8;
    void *d = mimir_secret_alloc(n ? n * es : 1);
    if (d == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case MIMIR_SHARE_F32:
            ((float *)d)[i] = (float)mimir_fixed_decode(v[i], s->frac_bits);
            break;
        case MIMIR_SHARE_F64:
            ((double *)d)[i] = mimir_fixed_decode(v[i], s->frac_bits);
            break;
        case MIMIR_SHARE_I64:
            ((int64_t *)d)[i] = (int64_t)v[i];
            break;
        case MIMIR_SHARE_I32:
            if ((int64_t)v[i] < INT32_MIN || (int64_t)v[i] > INT32_MAX) {
                mimir_secret_free(d);
                return mimir_err_set(err, MIMIR_ESECURITY, s->name, t->name,
                                     "inconsistent shares: element %zu does not fit int32", i);
            }
            ((int32_t *)d)[i] = (int32_t)(int64_t)v[i];
            break;
        }
    }
    *out = d;
    return MIMIR_OK;
}

static int join_tensor(const mimir_share *const *s, size_t ns, const char *out, mimir_err *err)
{
    if (s[0]->n != 1)
        return mimir_err_set(err, MIMIR_EINPUT, s[0]->name, "tensors",
                             "%zu tensors, expected 1 in a tensor share", s[0]->n);
    const mimir_share_tensor *t = &s[0]->t[0];
    mimir_r64 *v;
    void *d = NULL;
    int rc = open_tensor(s, ns, 0, &v, err);
    if (rc)
        return rc;
    rc = decode(s[0], t, v, &d, err);
    static const mimir_npy_dtype npy[] = {MIMIR_NPY_F32, MIMIR_NPY_F32, MIMIR_NPY_F64,
                                          MIMIR_NPY_I64, MIMIR_NPY_I32};
    if (rc == MIMIR_OK)
        rc = mimir_npy_write(out, npy[t->dtype], t->ndim, t->shape, d, err);
    mimir_secret_free(d);
    mimir_secret_free(v);
    return rc;
}

/* The tokenizer digest the shares were made with (metadata tokenizer.digest). */
static int meta_digest(const mimir_share *s, char *out, size_t cap, mimir_err *err)
{
    json_t *m = json_loads(s->meta, 0, NULL);
    const char *d = json_string_value(json_object_get(json_object_get(m, "tokenizer"), "digest"));
    int rc = MIMIR_OK;
    if (d == NULL)
        rc = mimir_err_set(err, MIMIR_EINPUT, s->name, "metadata",
                           "no tokenizer.digest, expected the tokenizer the ids were made with");
    else
        snprintf(out, cap, "%s", d);
    json_decref(m);
    return rc;
}

static int join_tokens(const mimir_share *const *s, size_t ns, const char *out, int as_ids,
                       const char *tokdir, mimir_err *err)
{
    const mimir_share_tensor *t = &s[0]->t[0];
    if (s[0]->n != 1 || t->dtype != MIMIR_SHARE_I64 || t->ndim != 1)
        return mimir_err_set(err, MIMIR_EINPUT, s[0]->name, "tensors",
                             "expected one int64 vector of token ids");
    mimir_r64 *v;
    int rc = open_tensor(s, ns, 0, &v, err);
    if (rc)
        return rc;
    size_t n = (size_t)t->numel;
    char *text = NULL;
    size_t len = 0;
    if (as_ids) {
        size_t cap = n * 21 + 2;
        text = mimir_secret_alloc(cap);
        if (text == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        for (size_t i = 0; text != NULL && i < n; i++)
            len += (size_t)snprintf(text + len, cap - len, "%s%lld", i ? " " : "",
                                    (long long)(int64_t)v[i]);
        if (text != NULL)
            text[len++] = '\n';
        if (rc == MIMIR_OK)
            rc = mimir_write_file(out, text, len, err);
        mimir_secret_free(text);
        mimir_secret_free(v);
        return rc;
    }
    char dir[4096], want[128];
    tokenizer_dir(tokdir, dir, sizeof dir);
    mimir_tokenizer *tok = NULL;
    int32_t *ids = mimir_secret_alloc(n ? n * sizeof *ids : 1);
    if (ids == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = meta_digest(s[0], want, sizeof want, err);
    if (rc == MIMIR_OK)
        rc = mimir_tokenizer_load(dir, &tok, err);
    if (rc == MIMIR_OK && strcmp(want, mimir_tokenizer_digest(tok)) != 0)
        rc = mimir_err_set(err, MIMIR_EINPUT, dir, "digest",
                           "this tokenizer differs from the one the shares were made with "
                           "(metadata tokenizer.digest); pass it with --tokenizer");
    for (size_t i = 0; rc == MIMIR_OK && i < n; i++) {
        if ((int64_t)v[i] < 0 || (uint64_t)v[i] >= mimir_tokenizer_vocab_size(tok))
            rc = mimir_err_set(err, MIMIR_ESECURITY, s[ns - 1]->name, "ids",
                               "inconsistent shares: token %zu is outside the vocabulary", i);
        else
            ids[i] = (int32_t)v[i];
    }
    if (rc == MIMIR_OK)
        rc = mimir_tokenizer_decode(tok, ids, n, &text, &len, err);
    if (rc == MIMIR_OK) {
        rc = mimir_write_file(out, text, len, err);
        mimir_wipe(text, len);
        free(text);
    }
    mimir_tokenizer_free(tok);
    mimir_secret_free(ids);
    mimir_secret_free(v);
    return rc;
}

static int join_model(const mimir_share *const *s, size_t ns, const char *out, mimir_err *err)
{
    size_t n = s[0]->n;
    mimir_st_out *t = calloc(n ? n : 1, sizeof *t);
    void **data = calloc(n ? n : 1, sizeof *data);
    int rc = t && data ? MIMIR_OK : mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL,
                                                  "out of memory");
    for (size_t i = 0; rc == MIMIR_OK && i < n; i++) {
        const mimir_share_tensor *x = &s[0]->t[i];
        mimir_share_tensor as_f32 = *x;
        as_f32.dtype = MIMIR_SHARE_F32; /* a model is written as float32 whatever its dtype */
        mimir_r64 *v;
        rc = open_tensor(s, ns, i, &v, err);
        if (rc)
            break;
        rc = decode(s[0], &as_f32, v, &data[i], err);
        mimir_secret_free(v);
        t[i].name = x->name;
        t[i].ndim = x->ndim;
        memcpy(t[i].shape, x->shape, sizeof t[i].shape);
        t[i].data = data[i];
    }
    if (rc == MIMIR_OK)
        rc = mimir_st_write_f32(out, t, n, err);
    for (size_t i = 0; data && i < n; i++)
        mimir_secret_free(data[i]);
    free(data);
    free(t);
    return rc;
}

int join_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"ids", no_argument, NULL, 'I'},
        {"tokenizer", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = "-", *tokdir = NULL;
    int as_ids = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'I': as_ids = 1; break;
        case 't': tokdir = optarg; break;
        case 'h': help(); return 0;
        default:
            return usage_fail("join", "unknown option or missing argument '%s'",
                              argv[optind - 1]);
        }
    }
    int ns = argc - optind;
    if (ns < 2 || ns > 3)
        return usage_fail("join", "expected 2 or 3 SHARE arguments, got %d", ns);
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++)
        stdin_uses += strcmp(argv[i], "-") == 0;
    if (stdin_uses > 1)
        return usage_fail("join", "at most one SHARE can be '-' (stdin)");

    mimir_err err;
    mimir_err_clear(&err);
    mimir_share *s[3] = {NULL, NULL, NULL};
    int rc = MIMIR_OK;
    for (int i = 0; i < ns && rc == MIMIR_OK; i++) {
        rc = mimir_share_read(argv[optind + i], MIMIR_SHARE_MAX_BYTES, &s[i], &err);
        if (rc == MIMIR_OK && i > 0)
            rc = mimir_share_compatible(s[0], s[i], &err);
        for (int k = 0; rc == MIMIR_OK && k < i; k++)
            if (s[k]->party == s[i]->party)
                rc = mimir_err_set(&err, MIMIR_EINPUT, s[i]->name, "party",
                                   "party %d again (also in %s), expected shares of distinct "
                                   "parties", s[i]->party, s[k]->name);
    }
    if (rc == MIMIR_OK) {
        const mimir_share *const *cs = (const mimir_share *const *)s;
        switch (s[0]->kind) {
        case MIMIR_SHARE_TENSOR: rc = join_tensor(cs, (size_t)ns, out, &err); break;
        case MIMIR_SHARE_TOKENS:
            rc = join_tokens(cs, (size_t)ns, out, as_ids, tokdir, &err);
            break;
        default: rc = join_model(cs, (size_t)ns, out, &err); break;
        }
    }
    for (int i = 0; i < 3; i++)
        mimir_share_free(s[i]);
    return rc ? report(&err) : 0;
}
