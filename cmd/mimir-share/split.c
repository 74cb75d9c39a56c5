/* mimir-share split: a tensor, a model or a prompt into three parties' share files. */
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drbg.h"
#include "io.h"
#include "mem.h"
#include "model.h"
#include "npy.h"
#include "ring.h"
#include "sharefile.h"
#include "share.h"
#include "tokenizer.h"

#define DRBG_LABEL "mimir-share split"
#define TOKENIZER_MAX_BYTES ((size_t)256 << 20)

enum input_kind { IN_TENSOR, IN_MODEL, IN_TEXT, IN_IDS };

typedef struct opts {
    const char *output, *tokenizer, *seed_hex, *seed_file;
    unsigned long frac;
    int frac_given, text, ids, force;
    unsigned ring;
} opts;

static const char *const tok_files[] = {"tokenizer.json", "vocab.json", "merges.txt"};
#define N_TOK_FILES (sizeof tok_files / sizeof tok_files[0])

static void help(void)
{
    printf(
        "Usage: %s split [options] INPUT\n\n"
        "Splits INPUT into 2-out-of-3 replicated shares and writes PREFIX.p0, PREFIX.p1 and\n"
        "PREFIX.p2 (all three or none). INPUT is one of:\n"
        "  FILE.npy             a float32, float64, int64 or int32 tensor (floats fixed-point)\n"
        "  DIR, DIR/model.safetensors\n"
        "                       a GPT-2 model (config.json + model.safetensors); each output is\n"
        "                       a bundle directory with config.json, the tokenizer files and\n"
        "                       model.shares\n"
        "  FILE.txt, --text     UTF-8 text, encoded with the tokenizer\n"
        "  --ids                whitespace-separated token ids\n"
        "  -                    stdin (a .npy, or text/ids with --text/--ids; needs -o)\n\n"
        "Options:\n"
        "  -o, --output PREFIX  output prefix (default: INPUT without its extension)\n"
        "  -f, --frac-bits F    fractional bits of the fixed-point encoding, 0..%d (default %d;\n"
        "                       for a model, config.json's mimir_frac_bits)\n"
        "  -r, --ring K         64 (default) or 128: shares uniform mod 2^K, values\n"
        "                       sign-extended\n"
        "  -t, --tokenizer DIR  tokenizer directory (default $MIMIR_MODEL_DIR, else\n"
        "                       ../models/tiny beside the binary)\n"
        "      --text           INPUT is text\n"
        "      --ids            INPUT is token ids\n"
        "      --seed HEX       derive all randomness from this seed (64+ hex digits) with\n"
        "                       HMAC-DRBG: for tests and reproducibility only, never for secrets\n"
        "      --seed-file FILE read the hex seed from FILE\n"
        "      --force          overwrite existing outputs\n"
        "  -h, --help           show this help\n",
        PROG, MIMIR_FRAC_BITS_MAX, MIMIR_FRAC_BITS_DEFAULT);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* INPUT without its extension; a directory without its trailing slashes. */
static void default_prefix(const char *input, char *out, size_t cap)
{
    snprintf(out, cap, "%s", input);
    size_t n = strlen(out);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    if (is_dir(out))
        return;
    char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
    const char *base = slash ? slash + 1 : out;
    if (dot != NULL && dot > base)
        *dot = '\0';
}

/* Fixed-point encoding of n doubles; an error names the element's flat index, not its value. */
static int encode_reals(const char *file, const char *tensor, const double *x, const float *xf,
                        size_t n, unsigned frac, mimir_r64 *v, mimir_err *err)
{
    for (size_t i = 0; i < n; i++) {
        double d = xf ? (double)xf[i] : x[i];
        if (mimir_fixed_encode(d, frac, &v[i], err) != MIMIR_OK) {
            char field[MIMIR_ERR_FIELDBYTES];
            snprintf(field, sizeof field, "%s%selement %zu", tensor ? tensor : "",
                     tensor ? ": " : "", i);
            return mimir_err_set(err, MIMIR_EINPUT, file, field,
                                 "value is not finite or out of the fixed-point range, expected "
                                 "magnitude below 2^%u with %u fractional bits", 63 - frac, frac);
        }
    }
    return MIMIR_OK;
}

static int build_tensor(const char *name, const uint8_t *buf, size_t len, const opts *o,
                        const mimir_rss_rng *rng, const char *const names[3], mimir_share *s[3],
                        mimir_err *err)
{
    mimir_npy *a;
    int rc = mimir_npy_parse(name, buf, len, &a, err);
    if (rc)
        return rc;
    size_t n = (size_t)a->numel;
    mimir_r64 *v = mimir_secret_alloc(n ? n * sizeof *v : 1);
    enum mimir_share_dtype dt = MIMIR_SHARE_F32;
    if (v == NULL) {
        mimir_npy_free(a);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    }
    switch (a->dtype) {
    case MIMIR_NPY_F32:
        rc = encode_reals(name, NULL, NULL, a->data, n, (unsigned)o->frac, v, err);
        break;
    case MIMIR_NPY_F64:
        dt = MIMIR_SHARE_F64;
        rc = encode_reals(name, NULL, a->data, NULL, n, (unsigned)o->frac, v, err);
        break;
    case MIMIR_NPY_I64:
        dt = MIMIR_SHARE_I64;
        memcpy(v, a->data, n * sizeof *v);
        break;
    case MIMIR_NPY_I32:
        dt = MIMIR_SHARE_I32;
        for (size_t i = 0; i < n; i++)
            v[i] = (mimir_r64)(int64_t)((const int32_t *)a->data)[i];
        break;
    }
    if (rc == MIMIR_OK)
        rc = mimir_share_split_new(MIMIR_SHARE_TENSOR, o->ring, (unsigned)o->frac,
                                   "{\"source\":\"npy\"}", names, rng, s, err);
    if (rc == MIMIR_OK)
        rc = mimir_share_split_add(s, "tensor", dt, a->ndim, a->shape, v, rng, err);
    mimir_secret_free(v);
    mimir_npy_free(a);
    return rc;
}

/* Token ids: whitespace-separated decimal integers below vocab. Messages never quote a token. */
static int parse_ids(const char *name, const char *text, size_t len, size_t vocab,
                     mimir_r64 **out, size_t *count, mimir_err *err)
{
    size_t n = 0, i = 0;
    mimir_r64 *v = mimir_secret_alloc(len / 2 + 1 > 0 ? (len / 2 + 1) * sizeof *v : 1);
    if (v == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    while (i < len) {
        char ch = text[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
            i++;
            continue;
        }
        uint64_t x = 0;
        int digits = 0, big = 0;
        while (i < len && text[i] >= '0' && text[i] <= '9') {
            x = x * 10 + (uint64_t)(text[i++] - '0');
            big |= x > (uint64_t)vocab;
            digits++;
        }
        if (digits == 0 || (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
                            text[i] != '\r')) {
            mimir_secret_free(v);
            return mimir_err_set(err, MIMIR_EINPUT, name, "ids",
                                 "token %zu is not a non-negative decimal integer", n);
        }
        if (big || x >= vocab) {
            mimir_secret_free(v);
            return mimir_err_set(err, MIMIR_EINPUT, name, "ids",
                                 "token %zu is out of range, expected 0 to %zu", n, vocab - 1);
        }
        v[n++] = x;
    }
    *out = v;
    *count = n;
    return MIMIR_OK;
}

static int build_tokens(const char *name, const uint8_t *buf, size_t len, int is_ids,
                        const opts *o, const mimir_rss_rng *rng, const char *const names[3],
                        mimir_share *s[3], mimir_err *err)
{
    char dir[4096];
    tokenizer_dir(o->tokenizer, dir, sizeof dir);
    mimir_tokenizer *tok;
    int rc = mimir_tokenizer_load(dir, &tok, err);
    if (rc)
        return rc;
    mimir_r64 *v = NULL;
    size_t n = 0;
    if (is_ids) {
        rc = parse_ids(name, (const char *)buf, len, mimir_tokenizer_vocab_size(tok), &v, &n,
                       err);
    } else {
        int32_t *ids = NULL;
        rc = mimir_tokenizer_encode(tok, (const char *)buf, len, &ids, &n, err);
        if (rc == MIMIR_OK) {
            v = mimir_secret_alloc(n ? n * sizeof *v : 1);
            if (v == NULL)
                rc = mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
            for (size_t i = 0; v != NULL && i < n; i++)
                v[i] = (mimir_r64)(int64_t)ids[i];
        } else if (err->file[0] == '\0') {
            snprintf(err->file, sizeof err->file, "%s", name);
        }
        if (ids != NULL) {
            mimir_wipe(ids, n * sizeof *ids);
            free(ids);
        }
    }
    if (rc == MIMIR_OK) {
        json_t *meta = json_pack("{s:{s:s, s:s, s:I}}", "tokenizer", "kind",
                                 mimir_tokenizer_kind(tok) == MIMIR_TOK_CHAR ? "char" : "bpe",
                                 "digest", mimir_tokenizer_digest(tok), "vocab_size",
                                 (json_int_t)mimir_tokenizer_vocab_size(tok));
        char *mtext = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(meta);
        if (mtext == NULL)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
        else
            rc = mimir_share_split_new(MIMIR_SHARE_TOKENS, o->ring, 0, mtext, names, rng, s,
                                       err);
        free(mtext);
        uint64_t shape[1] = {n};
        if (rc == MIMIR_OK)
            rc = mimir_share_split_add(s, "ids", MIMIR_SHARE_I64, 1, shape, v, rng, err);
    }
    mimir_secret_free(v);
    mimir_tokenizer_free(tok);
    return rc;
}

/* What a model bundle holds besides model.shares. */
typedef struct bundle {
    char *config;       /* config.json text to write */
    char tok_dir[4096]; /* where the tokenizer files come from, "" for none */
} bundle;

static void join_path(char *out, size_t cap, const char *dir, const char *file)
{
    int k = snprintf(out, cap, "%s/%s", dir, file);
    if (k < 0 || (size_t)k >= cap)
        out[0] = '\0'; /* too long: names nothing, so the caller's open fails cleanly */
}

static int has_tokenizer_files(const char *dir)
{
    char p[4096];
    for (size_t i = 0; i < N_TOK_FILES; i++) {
        join_path(p, sizeof p, dir, tok_files[i]);
        if (path_exists(p))
            return 1;
    }
    return 0;
}

static int build_model(const char *dir, const opts *o, const mimir_rss_rng *rng,
                       const char *const names[3], mimir_share *s[3], bundle *b,
                       mimir_err *err)
{
    mimir_gpt2 *m;
    int rc = mimir_gpt2_load(dir, &m, err);
    if (rc)
        return rc;
    char cpath[4096];
    join_path(cpath, sizeof cpath, dir, "config.json");
    uint8_t *ctext = NULL;
    size_t clen;
    json_t *cfg = NULL;
    char *meta = NULL;
    mimir_r64 *v = NULL;
    unsigned frac = o->frac_given ? (unsigned)o->frac : (unsigned)m->cfg.frac_bits;
    rc = mimir_read_file(cpath, MIMIR_SHARE_MAX_META, &ctext, &clen, err);
    if (rc)
        goto done;
    cfg = json_loadb((const char *)ctext, clen, 0, NULL);
    if (cfg == NULL || !json_is_object(cfg)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, cpath, NULL, "not a JSON object");
        goto done;
    }
    if (o->frac_given && frac != (unsigned)m->cfg.frac_bits) {
        /* The bundle's config states the encoding its shares use. */
        json_object_set_new(cfg, "mimir_frac_bits", json_integer(frac));
        b->config = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    } else {
        b->config = strdup((const char *)ctext);
    }
    json_t *mj = json_pack("{s:O}", "config", cfg);
    meta = mj ? json_dumps(mj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(mj);
    if (b->config == NULL || meta == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
        goto done;
    }
    b->tok_dir[0] = '\0';
    if (has_tokenizer_files(dir)) {
        snprintf(b->tok_dir, sizeof b->tok_dir, "%s", dir);
    } else {
        char td[4096];
        tokenizer_dir(o->tokenizer, td, sizeof td);
        if (has_tokenizer_files(td))
            snprintf(b->tok_dir, sizeof b->tok_dir, "%s", td);
    }
    rc = mimir_share_split_new(MIMIR_SHARE_MODEL, o->ring, frac, meta, names, rng, s, err);
    size_t count = mimir_gpt2_tensor_count(&m->cfg);
    for (size_t i = 0; rc == MIMIR_OK && i < count; i++) {
        char name[MIMIR_SHARE_MAX_NAME + 1];
        int ndim;
        uint64_t shape[2];
        mimir_gpt2_tensor_info(&m->cfg, i, name, sizeof name, &ndim, shape);
        size_t n = (size_t)(ndim == 1 ? shape[0] : shape[0] * shape[1]);
        v = mimir_secret_alloc(n ? n * sizeof *v : 1);
        if (v == NULL) {
            rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
            break;
        }
        rc = encode_reals(dir, name, mimir_gpt2_tensor_data(m, i), NULL, n, frac, v, err);
        if (rc == MIMIR_OK)
            rc = mimir_share_split_add(s, name, MIMIR_SHARE_F32, ndim, shape, v, rng, err);
        mimir_secret_free(v);
        v = NULL;
    }
done:
    free(meta);
    json_decref(cfg);
    free(ctext);
    mimir_gpt2_free(m);
    return rc;
}

static int refuse_existing(char path[3][4096], int force, mimir_err *err)
{
    for (int i = 0; i < 3 && !force; i++)
        if (path_exists(path[i]))
            return mimir_err_set(err, MIMIR_EINPUT, path[i], NULL,
                                 "already exists, expected a new output (use --force to "
                                 "overwrite)");
    return MIMIR_OK;
}

/* Three share files: all written to temporary files first, then renamed into place. */
static int write_files(mimir_share *s[3], char path[3][4096], mimir_err *err)
{
    mimir_out out[3];
    int opened = 0, rc = MIMIR_OK;
    for (int i = 0; i < 3 && rc == MIMIR_OK; i++) {
        rc = mimir_out_open(&out[i], path[i], err);
        if (rc)
            break;
        opened++;
        rc = mimir_share_write(s[i], &out[i], err);
    }
    if (rc) {
        for (int i = 0; i < opened; i++)
            mimir_out_abort(&out[i]);
        return rc;
    }
    for (int i = 0; i < 3; i++) {
        rc = mimir_out_commit(&out[i], err);
        if (rc) {
            for (int k = 0; k < i; k++)
                unlink(path[k]);
            for (int k = i + 1; k < 3; k++)
                mimir_out_abort(&out[k]);
            return rc;
        }
    }
    return MIMIR_OK;
}

static int copy_file(const char *src, const char *dst, mimir_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = mimir_read_file(src, TOKENIZER_MAX_BYTES, &buf, &len, err);
    if (rc)
        return rc;
    rc = mimir_write_file(dst, buf, len, err);
    free(buf);
    return rc;
}

/* Fills a bundle directory under construction. */
static int fill_bundle(const char *tmp, mimir_share *s, const bundle *b, mimir_err *err)
{
    char p[4096], src[4096];
    join_path(p, sizeof p, tmp, "config.json");
    int rc = mimir_write_file(p, b->config, strlen(b->config), err);
    for (size_t i = 0; rc == MIMIR_OK && b->tok_dir[0] && i < N_TOK_FILES; i++) {
        join_path(src, sizeof src, b->tok_dir, tok_files[i]);
        join_path(p, sizeof p, tmp, tok_files[i]);
        if (path_exists(src))
            rc = copy_file(src, p, err);
    }
    if (rc)
        return rc;
    join_path(p, sizeof p, tmp, MIMIR_SHARE_BUNDLE_FILE);
    mimir_out out;
    if ((rc = mimir_out_open(&out, p, err)) != 0)
        return rc;
    if ((rc = mimir_share_write(s, &out, err)) != 0) {
        mimir_out_abort(&out);
        return rc;
    }
    return mimir_out_commit(&out, err);
}

static void remove_tree(const char *p)
{
    if (is_dir(p))
        mimir_dir_abort(p); /* bundles are flat: files, then the directory */
    else
        unlink(p);
}

/* Three bundle directories, built as temporary directories and renamed into place; with
 * --force, existing outputs are moved aside first and restored if anything fails. */
static int write_bundles(mimir_share *s[3], char path[3][4096], const bundle *b,
                         mimir_err *err)
{
    char *tmp[3] = {NULL, NULL, NULL};
    char aside[3][4096 + 16] = {"", "", ""};
    int rc = MIMIR_OK, committed = 0;
    for (int i = 0; i < 3 && rc == MIMIR_OK; i++) {
        if (path_exists(path[i])) {
            snprintf(aside[i], sizeof aside[i], "%s.oldXXXXXX", path[i]);
            if (mkdtemp(aside[i]) == NULL || rmdir(aside[i]) != 0 ||
                rename(path[i], aside[i]) != 0) {
                rc = mimir_err_errno(err, path[i], "cannot move the existing output aside");
                aside[i][0] = '\0';
                break;
            }
        }
        rc = mimir_dir_begin(path[i], &tmp[i], err);
        if (rc == MIMIR_OK)
            rc = fill_bundle(tmp[i], s[i], b, err);
    }
    for (int i = 0; i < 3 && rc == MIMIR_OK; i++) {
        rc = mimir_dir_commit(tmp[i], path[i], err);
        if (rc == MIMIR_OK)
            committed++;
    }
    for (int i = 0; i < 3; i++) {
        if (rc != MIMIR_OK && i < committed)
            remove_tree(path[i]);
        else if (rc != MIMIR_OK)
            mimir_dir_abort(tmp[i]);
        if (aside[i][0] != '\0') {
            if (rc == MIMIR_OK)
                remove_tree(aside[i]);
            else
                rename(aside[i], path[i]);
        }
        free(tmp[i]);
    }
    return rc;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option lopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"frac-bits", required_argument, NULL, 'f'},
        {"ring", required_argument, NULL, 'r'},
        {"tokenizer", required_argument, NULL, 't'},
        {"text", no_argument, NULL, 'T'},
        {"ids", no_argument, NULL, 'I'},
        {"seed", required_argument, NULL, 's'},
        {"seed-file", required_argument, NULL, 'S'},
        {"force", no_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->frac = MIMIR_FRAC_BITS_DEFAULT;
    o->ring = 64;
    int c;
    unsigned long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:f:r:t:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'f':
            if (parse_uint(optarg, MIMIR_FRAC_BITS_MAX, &o->frac) != 0)
                return usage_fail("split", "--frac-bits: expected an integer from 0 to %d",
                                  MIMIR_FRAC_BITS_MAX);
            o->frac_given = 1;
            break;
        case 'r':
            if (parse_uint(optarg, 128, &v) != 0 || (v != 64 && v != 128))
                return usage_fail("split", "--ring: expected 64 or 128");
            o->ring = (unsigned)v;
            break;
        case 't': o->tokenizer = optarg; break;
        case 'T': o->text = 1; break;
        case 'I': o->ids = 1; break;
        case 's': o->seed_hex = optarg; break;
        case 'S': o->seed_file = optarg; break;
        case 'F': o->force = 1; break;
        case 'h': help(); return -1;
        default:
            return usage_fail("split", "unknown option or missing argument '%s'",
                              argv[optind - 1]);
        }
    }
    if (o->text && o->ids)
        return usage_fail("split", "--text and --ids exclude each other");
    if (o->seed_hex && o->seed_file)
        return usage_fail("split", "--seed and --seed-file exclude each other");
    if (argc - optind != 1)
        return usage_fail("split", "expected one INPUT, got %d", argc - optind);
    return 0;
}

int split_main(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    const char *input = argv[optind];
    int from_stdin = strcmp(input, "-") == 0;
    if (o.output != NULL && strcmp(o.output, "-") == 0)
        return usage_fail("split", "-o: three share files cannot go to stdout, expected PREFIX");
    if (from_stdin && o.output == NULL)
        return usage_fail("split", "reading from stdin needs -o PREFIX");

    enum input_kind kind = IN_TENSOR;
    char model_dir[4096] = "";
    if (o.text) {
        kind = IN_TEXT;
    } else if (o.ids) {
        kind = IN_IDS;
    } else if (!from_stdin && is_dir(input)) {
        kind = IN_MODEL;
        snprintf(model_dir, sizeof model_dir, "%s", input);
    } else if (has_suffix(input, ".safetensors")) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", input);
        if (strcmp(basename(copy), "model.safetensors") != 0)
            return usage_fail("split", "%s: a model's weights must be named model.safetensors, "
                              "beside its config.json", input);
        snprintf(copy, sizeof copy, "%s", input);
        snprintf(model_dir, sizeof model_dir, "%s", dirname(copy));
        kind = IN_MODEL;
    } else if (has_suffix(input, ".txt")) {
        kind = IN_TEXT;
    }
    char prefix[4096];
    if (o.output != NULL)
        snprintf(prefix, sizeof prefix, "%s", o.output);
    else
        default_prefix(input, prefix, sizeof prefix);
    char path[3][4096], shares_name[3][4096 + 32];
    const char *names[3];
    for (int i = 0; i < 3; i++) {
        snprintf(path[i], sizeof path[i], "%s.p%d", prefix, i);
        snprintf(shares_name[i], sizeof shares_name[i], "%s%s", path[i],
                 kind == IN_MODEL ? "/" MIMIR_SHARE_BUNDLE_FILE : "");
        names[i] = shares_name[i];
    }

    mimir_err err;
    mimir_err_clear(&err);
    if ((rc = refuse_existing(path, o.force, &err)) != 0)
        return report(&err);

    /* Randomness: the OS, or an HMAC-DRBG seeded for reproducible test splits. */
    mimir_drbg *drbg = NULL;
    mimir_rss_rng rng = mimir_rss_rng_system();
    if (o.seed_hex || o.seed_file) {
        uint8_t *seed;
        size_t slen;
        if ((rc = read_seed(o.seed_hex, o.seed_file, &seed, &slen, &err)) != 0)
            return report(&err);
        drbg = mimir_key_alloc(sizeof *drbg);
        rc = drbg ? mimir_drbg_from_seed(drbg, seed, slen, DRBG_LABEL) : MIMIR_ERUNTIME;
        mimir_key_free(seed);
        if (rc) {
            mimir_key_free(drbg);
            mimir_err_set(&err, rc, NULL, "--seed", "cannot instantiate the DRBG");
            return report(&err);
        }
        rng = mimir_rss_rng_drbg(drbg);
    }

    mimir_share *s[3] = {NULL, NULL, NULL};
    bundle b = {NULL, ""};
    if (kind == IN_MODEL) {
        rc = build_model(model_dir, &o, &rng, names, s, &b, &err);
        if (rc == MIMIR_OK)
            rc = write_bundles(s, path, &b, &err);
    } else {
        uint8_t *buf = NULL;
        size_t len = 0;
        const char *name = from_stdin ? "<stdin>" : input;
        rc = mimir_read_file(input, kind == IN_TENSOR ? MIMIR_NPY_MAX_BYTES : TEXT_MAX_BYTES,
                             &buf, &len, &err);
        if (rc == MIMIR_OK && kind == IN_TENSOR &&
            (len < 6 || memcmp(buf, "\x93NUMPY", 6) != 0) && !has_suffix(input, ".npy"))
            rc = mimir_err_set(&err, MIMIR_EINPUT, name, NULL,
                               "cannot tell what this is, expected a .npy tensor, a model "
                               "directory or model.safetensors, or text/ids with --text/--ids");
        if (rc == MIMIR_OK && kind == IN_TENSOR)
            rc = build_tensor(name, buf, len, &o, &rng, names, s, &err);
        else if (rc == MIMIR_OK)
            rc = build_tokens(name, buf, len, kind == IN_IDS, &o, &rng, names, s, &err);
        if (buf != NULL) {
            mimir_wipe(buf, len);
            free(buf);
        }
        if (rc == MIMIR_OK)
            rc = write_files(s, path, &err);
    }
    for (int i = 0; i < 3; i++)
        mimir_share_free(s[i]);
    free(b.config);
    if (drbg != NULL) {
        mimir_drbg_wipe(drbg);
        mimir_key_free(drbg);
    }
    return rc ? report(&err) : 0;
}
