/*
 * tokenizer.c — loading, the character tokenizer, and decoding for both kinds.
 * GPT-2 BPE loading and encoding live in tokenizer_bpe.c; formats in docs/tokenizers.md.
 */
#include "tokenizer.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io.h"
#include "tokenizer_internal.h"

#define CHAR_FILE "tokenizer.json"
#define CHAR_SCHEMA_VERSION 1
#define MAP_EMPTY UINT32_MAX

/* ---- UTF-8 ------------------------------------------------------------------------------- */

size_t mimir_tok_utf8_next(const uint8_t *s, size_t len, size_t i, uint32_t *cp)
{
    uint8_t b = s[i];
    size_t n;
    uint32_t c, min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
        n = 2, c = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3, c = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4, c = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t mimir_tok_utf8_put(uint32_t cp, uint8_t out[4])
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t mimir_tok_utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        if (s[i] < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t k = mimir_tok_utf8_next(s, len, i, &cp);
        if (k == 0)
            return i;
        i += k;
    }
    return len;
}

/* ---- hash map ---------------------------------------------------------------------------- */

static size_t slot_of(const mimir_tok_map *m, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ h >> 29) & m->mask;
}

int mimir_tok_map_init(mimir_tok_map *m, size_t entries)
{
    size_t cap = 16;
    while (cap < entries * 2) {
        if (cap > SIZE_MAX / 4 / sizeof(uint64_t))
            return -1;
        cap *= 2;
    }
    m->keys = malloc(cap * sizeof *m->keys);
    m->rank = malloc(cap * sizeof *m->rank);
    m->val = malloc(cap * sizeof *m->val);
    m->mask = cap - 1;
    if (m->keys == NULL || m->rank == NULL || m->val == NULL) {
        mimir_tok_map_free(m);
        return -1;
    }
    memset(m->rank, 0xFF, cap * sizeof *m->rank); /* MAP_EMPTY */
    return 0;
}

void mimir_tok_map_free(mimir_tok_map *m)
{
    free(m->keys);
    free(m->rank);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* The map never fills: init sized it to twice the entries the caller will put. */
int mimir_tok_map_put(mimir_tok_map *m, uint64_t key, uint32_t rank, int32_t val)
{
    size_t i = slot_of(m, key);
    while (m->rank[i] != MAP_EMPTY) {
        if (m->keys[i] == key)
            return 1;
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    m->rank[i] = rank == MAP_EMPTY ? MAP_EMPTY - 1 : rank;
    m->val[i] = val;
    return 0;
}

int mimir_tok_map_get(const mimir_tok_map *m, uint64_t key, uint32_t *rank, int32_t *val)
{
    if (m->rank == NULL)
        return 0;
    size_t i = slot_of(m, key);
    while (m->rank[i] != MAP_EMPTY) {
        if (m->keys[i] == key) {
            *rank = m->rank[i];
            *val = m->val[i];
            return 1;
        }
        i = (i + 1) & m->mask;
    }
    return 0;
}

/* ---- files and digest -------------------------------------------------------------------- */

char *mimir_tok_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int mimir_tok_digest(mimir_tokenizer *tok, size_t count, const char *const names[],
                     const uint8_t *const data[], const size_t lens[], mimir_err *err)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    for (size_t f = 0; ok && f < count; f++) {
        uint8_t lenle[8];
        for (int k = 0; k < 8; k++)
            lenle[k] = (uint8_t)((uint64_t)lens[f] >> (8 * k));
        ok = EVP_DigestUpdate(ctx, names[f], strlen(names[f]) + 1) == 1 &&
             EVP_DigestUpdate(ctx, lenle, sizeof lenle) == 1 &&
             EVP_DigestUpdate(ctx, data[f], lens[f]) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "SHA-256 of the tokenizer failed");
    for (unsigned int k = 0; k < mdlen; k++) {
        tok->digest[2 * k] = hex[md[k] >> 4];
        tok->digest[2 * k + 1] = hex[md[k] & 15];
    }
    tok->digest[2 * mdlen] = '\0';
    return MIMIR_OK;
}

/* ---- character tokenizer ----------------------------------------------------------------- */

static size_t count_chars(const uint8_t *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

/* The one scalar value of a JSON string, or an error naming field. */
static int one_char(const json_t *v, const char *path, const char *field, uint32_t *cp,
                    mimir_err *err)
{
    if (!json_is_string(v))
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "expected a string of one character");
    const uint8_t *s = (const uint8_t *)json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "empty string, expected one character");
    size_t k = mimir_tok_utf8_next(s, len, 0, cp);
    if (k != len)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "%zu characters, expected one character", count_chars(s, len));
    return MIMIR_OK;
}

static int char_tokens(mimir_tokenizer *tok, const char *path, const json_t *tokens,
                       mimir_err *err)
{
    char field[48];
    size_t n = json_array_size(tokens);
    if (n == 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "tokens",
                             "empty, expected at least one token");
    if (n > MIMIR_TOK_MAX_VOCAB)
        return mimir_err_set(err, MIMIR_EINPUT, path, "tokens", "more than %d tokens",
                             MIMIR_TOK_MAX_VOCAB);
    tok->n = n;
    tok->off = malloc((n + 1) * sizeof *tok->off);
    tok->blob = malloc(n * 4);
    if (tok->off == NULL || tok->blob == NULL || mimir_tok_map_init(&tok->chars, n) != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp, rank;
        int32_t prev;
        snprintf(field, sizeof field, "tokens[%zu]", i);
        int rc = one_char(json_array_get(tokens, i), path, field, &cp, err);
        if (rc != MIMIR_OK)
            return rc;
        if (mimir_tok_map_get(&tok->chars, cp, &rank, &prev))
            return mimir_err_set(err, MIMIR_EINPUT, path, field,
                                 "U+%04X duplicates tokens[%d], expected each character once",
                                 (unsigned)cp, (int)prev);
        mimir_tok_map_put(&tok->chars, cp, 0, (int32_t)i);
        tok->off[i] = used;
        used += mimir_tok_utf8_put(cp, tok->blob + used);
    }
    tok->off[n] = used;
    return MIMIR_OK;
}

static int char_load(mimir_tokenizer *tok, const char *path, const json_t *root, mimir_err *err)
{
    static const char *const fields[] = {"mimir_tokenizer", "version", "tokens", "unknown"};
    const char *key;
    json_t *v;
    if (!json_is_object(root))
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "expected a JSON object");
    json_object_foreach((json_t *)root, key, v) {
        size_t k = 0;
        while (k < 4 && strcmp(key, fields[k]) != 0)
            k++;
        if (k == 4)
            return mimir_err_set(err, MIMIR_EINPUT, path, key,
                                 "unknown field, expected only mimir_tokenizer, version, "
                                 "tokens and unknown");
    }
    v = json_object_get(root, "mimir_tokenizer");
    if (v == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, "mimir_tokenizer",
                             "missing, expected \"char\"");
    if (!json_is_string(v) || strcmp(json_string_value(v), "char") != 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, "mimir_tokenizer",
                             "unsupported kind, expected \"char\"");
    v = json_object_get(root, "version");
    if (v == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, "version", "missing, expected %d",
                             CHAR_SCHEMA_VERSION);
    if (!json_is_integer(v) || json_integer_value(v) != CHAR_SCHEMA_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, path, "version",
                             "unsupported version, expected the integer %d",
                             CHAR_SCHEMA_VERSION);
    v = json_object_get(root, "tokens");
    if (v == NULL || !json_is_array(v))
        return mimir_err_set(err, MIMIR_EINPUT, path, "tokens",
                             "%s, expected an array of one-character strings",
                             v == NULL ? "missing" : "not an array");
    int rc = char_tokens(tok, path, v, err);
    if (rc != MIMIR_OK)
        return rc;
    v = json_object_get(root, "unknown");
    if (v == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, path, "unknown",
                             "missing, expected null or one of tokens");
    tok->unknown = -1;
    if (!json_is_null(v)) {
        uint32_t cp, rank;
        if (one_char(v, path, "unknown", &cp, err) != MIMIR_OK)
            return mimir_err_set(err, MIMIR_EINPUT, path, "unknown",
                                 "expected null or one of tokens");
        if (!mimir_tok_map_get(&tok->chars, cp, &rank, &tok->unknown))
            return mimir_err_set(err, MIMIR_EINPUT, path, "unknown",
                                 "U+%04X is not one of tokens, expected null or one of tokens",
                                 (unsigned)cp);
    }
    tok->kind = MIMIR_TOK_CHAR;
    return MIMIR_OK;
}

static int char_encode(const mimir_tokenizer *tok, const uint8_t *text, size_t len,
                       int32_t *ids, size_t *n, mimir_err *err)
{
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp, rank;
        int32_t id;
        size_t k = mimir_tok_utf8_next(text, len, i, &cp); /* validated by the caller */
        if (!mimir_tok_map_get(&tok->chars, cp, &rank, &id)) {
            if (tok->unknown < 0)
                /* The offset, never the character: the text may be a secret prompt. */
                return mimir_err_set(err, MIMIR_EINPUT, NULL, "text",
                                     "byte offset %zu: a character that is not in the "
                                     "vocabulary, which has no unknown token",
                                     i);
            id = tok->unknown;
        }
        ids[count++] = id;
        i += k;
    }
    *n = count;
    return MIMIR_OK;
}

/* ---- public API -------------------------------------------------------------------------- */

/* dir/tokenizer.json is Mimir's character tokenizer when it has "mimir_tokenizer"; a Hugging
 * Face tokenizer.json beside vocab.json + merges.txt is ignored in favour of those. */
static int load_dir(mimir_tokenizer *tok, const char *dir, mimir_err *err)
{
    char *tj = mimir_tok_path(dir, CHAR_FILE), *vj = mimir_tok_path(dir, "vocab.json");
    uint8_t *data = NULL;
    size_t len = 0;
    json_t *root = NULL;
    int rc;
    if (tj == NULL || vj == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
        goto done;
    }
    if (is_file(tj)) {
        rc = mimir_read_file(tj, MIMIR_TOK_CHAR_MAX_FILE, &data, &len, err);
        if (rc != MIMIR_OK)
            goto done;
        json_error_t je;
        root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (root == NULL) {
            rc = mimir_err_set(err, MIMIR_EINPUT, tj, NULL,
                               "not valid JSON (line %d, column %d: %s)", je.line, je.column,
                               je.text);
            goto done;
        }
        if (json_object_get(root, "mimir_tokenizer") != NULL || !is_file(vj)) {
            rc = char_load(tok, tj, root, err);
            if (rc == MIMIR_OK) {
                const char *name = CHAR_FILE;
                const uint8_t *d = data;
                rc = mimir_tok_digest(tok, 1, &name, &d, &len, err);
            }
            goto done;
        }
    }
    if (is_file(vj))
        rc = mimir_tok_bpe_load(tok, dir, err);
    else
        rc = mimir_err_set(err, MIMIR_EINPUT, dir, NULL,
                           "no tokenizer, expected tokenizer.json (character tokenizer) or "
                           "vocab.json and merges.txt (GPT-2 BPE)");
done:
    json_decref(root);
    free(data);
    free(tj);
    free(vj);
    return rc;
}

int mimir_tokenizer_load(const char *dir, mimir_tokenizer **out, mimir_err *err)
{
    if (dir == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, NULL, "no tokenizer directory given");
    *out = NULL;
    mimir_tokenizer *tok = calloc(1, sizeof *tok);
    if (tok == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
    tok->unknown = -1;
    int rc = load_dir(tok, dir, err);
    if (rc != MIMIR_OK) {
        mimir_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return MIMIR_OK;
}

void mimir_tokenizer_free(mimir_tokenizer *tok)
{
    if (tok == NULL)
        return;
    free(tok->blob);
    free(tok->off);
    mimir_tok_map_free(&tok->chars);
    mimir_tok_map_free(&tok->pairs);
    pcre2_code_free(tok->re);
    free(tok);
}

enum mimir_tokenizer_kind mimir_tokenizer_kind(const mimir_tokenizer *tok)
{
    return tok->kind;
}

size_t mimir_tokenizer_vocab_size(const mimir_tokenizer *tok)
{
    return tok->n;
}

const char *mimir_tokenizer_digest(const mimir_tokenizer *tok)
{
    return tok->digest;
}

int mimir_tokenizer_encode(const mimir_tokenizer *tok, const char *text, size_t len,
                           int32_t **ids, size_t *n, mimir_err *err)
{
    if (tok == NULL || (text == NULL && len > 0) || ids == NULL || n == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "text", "no tokenizer or text given");
    *ids = NULL;
    *n = 0;
    if (len > (size_t)INT32_MAX)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "text",
                             "%zu bytes, expected at most %d", len, INT32_MAX);
    const uint8_t *s = (const uint8_t *)text;
    size_t bad = mimir_tok_utf8_check(s, len);
    if (bad < len)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "text",
                             "byte offset %zu: invalid UTF-8 (byte 0x%02X), expected UTF-8 text",
                             bad, s[bad]);
    /* Every token covers at least one byte of text (one character for the char kind). */
    int32_t *out = malloc((len > 0 ? len : 1) * sizeof *out);
    if (out == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "text", "out of memory");
    size_t count = 0;
    int rc = tok->kind == MIMIR_TOK_CHAR ? char_encode(tok, s, len, out, &count, err)
                                         : mimir_tok_bpe_encode(tok, s, len, out, &count, err);
    if (rc != MIMIR_OK) {
        free(out);
        return rc;
    }
    if (count > 0 && count < len) {
        int32_t *shrunk = realloc(out, count * sizeof *out);
        if (shrunk != NULL)
            out = shrunk;
    }
    *ids = out;
    *n = count;
    return MIMIR_OK;
}

int mimir_tokenizer_token_bytes(const mimir_tokenizer *tok, int32_t id, const uint8_t **bytes,
                                size_t *len, mimir_err *err)
{
    if (id < 0 || (size_t)id >= tok->n)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "token id",
                             "%ld is out of range, expected 0 to %zu", (long)id, tok->n - 1);
    *bytes = tok->blob + tok->off[id];
    *len = tok->off[id + 1] - tok->off[id];
    return MIMIR_OK;
}

int mimir_tokenizer_decode(const mimir_tokenizer *tok, const int32_t *ids, size_t n,
                           char **text, size_t *len, mimir_err *err)
{
    char field[48];
    size_t total = 0;
    *text = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= tok->n) {
            snprintf(field, sizeof field, "ids[%zu]", i);
            return mimir_err_set(err, MIMIR_EINPUT, NULL, field,
                                 "token id %ld is out of range, expected 0 to %zu",
                                 (long)ids[i], tok->n - 1);
        }
        total += tok->off[ids[i] + 1] - tok->off[ids[i]];
    }
    char *out = malloc(total + 1);
    if (out == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = tok->off[ids[i] + 1] - tok->off[ids[i]];
        memcpy(out + at, tok->blob + tok->off[ids[i]], k);
        at += k;
    }
    out[at] = '\0';
    *text = out;
    *len = at;
    return MIMIR_OK;
}
