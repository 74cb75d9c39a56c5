/*
 * tokenizer_bpe.c — GPT-2 byte-level BPE: vocab.json + merges.txt, as in OpenAI's encoder.py.
 *
 * Encoding: the UTF-8 text is split by GPT-2's pre-tokenization pattern (PCRE2); each piece
 * starts as one token per byte (the token of bytes_to_unicode(byte)), then BPE merges the
 * adjacent pair of lowest merge rank, all of that rank's occurrences left to right, until no
 * adjacent pair has a rank — exactly encoder.py's loop, but with a heap of pairs instead of a
 * rescan per merge, so a piece of n bytes costs O(n log n) rather than O(n^2).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "tokenizer_internal.h"

#define BYTE_CHARS 324  /* bytes_to_unicode maps bytes to code points below 256 + 68 */
#define GPT2_MERGES_VERSION "#version: 0.2"
#define QUOTE_MAX 64    /* bytes of a token quoted in an error message */
#define NO_POS UINT32_MAX

/* ---- bytes_to_unicode -------------------------------------------------------------------- */

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * map in order to U+0100..U+0143, so every byte string is a string of visible characters. */
static uint32_t byte_char(unsigned b)
{
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return b;
    uint32_t n = 0;
    for (unsigned c = 0; c < b; c++)
        n += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF));
    return 256 + n;
}

static void byte_decoder(int16_t dec[BYTE_CHARS])
{
    for (int c = 0; c < BYTE_CHARS; c++)
        dec[c] = -1;
    for (unsigned b = 0; b < 256; b++)
        dec[byte_char(b)] = (int16_t)b;
}

/* ---- vocab.json -------------------------------------------------------------------------- */

/* The vocabulary's strings by id, and an exact string -> id table for reading merges.txt. */
typedef struct vocab {
    const char **str; /* str[id], owned by the JSON document */
    size_t *len;
    int32_t *slot;    /* open addressing over ids, -1 empty */
    size_t mask;
} vocab;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static int32_t vocab_find(const vocab *v, const char *s, size_t n)
{
    size_t i = (size_t)fnv1a(s, n) & v->mask;
    for (; v->slot[i] >= 0; i = (i + 1) & v->mask) {
        int32_t id = v->slot[i];
        if (v->len[id] == n && memcmp(v->str[id], s, n) == 0)
            return id;
    }
    return -1;
}

static void vocab_free(vocab *v)
{
    free(v->str);
    free(v->len);
    free(v->slot);
}

/* Checks that ids are 0..n-1, each once, and fills v. */
static int vocab_index(vocab *v, const char *path, json_t *root, size_t n, mimir_err *err)
{
    const char *key;
    json_t *val;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    v->str = calloc(n, sizeof *v->str);
    v->len = calloc(n, sizeof *v->len);
    v->slot = malloc(cap * sizeof *v->slot);
    v->mask = cap - 1;
    if (v->str == NULL || v->len == NULL || v->slot == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    memset(v->slot, 0xFF, cap * sizeof *v->slot);
    json_object_foreach(root, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            (size_t)json_integer_value(val) >= n)
            return mimir_err_set(err, MIMIR_EINPUT, path, key,
                                 "expected an integer id from 0 to %zu (ids are dense)", n - 1);
        int32_t id = (int32_t)json_integer_value(val);
        if (v->str[id] != NULL)
            return mimir_err_set(err, MIMIR_EINPUT, path, key,
                                 "id %d is also the id of \"%.*s\", expected each id once",
                                 (int)id, QUOTE_MAX, v->str[id]);
        if (key[0] == '\0')
            return mimir_err_set(err, MIMIR_EINPUT, path, "\"\"",
                                 "empty token, expected at least one character");
        v->str[id] = key;
        v->len[id] = strlen(key);
        size_t i = (size_t)fnv1a(key, v->len[id]) & v->mask;
        while (v->slot[i] >= 0)
            i = (i + 1) & v->mask;
        v->slot[i] = id;
    }
    return MIMIR_OK;
}

/* Token bytes: each character of the token string through the byte decoder. */
static int vocab_bytes(mimir_tokenizer *tok, const vocab *v, const char *path, size_t n,
                       mimir_err *err)
{
    int16_t dec[BYTE_CHARS];
    byte_decoder(dec);
    size_t total = 0;
    for (size_t id = 0; id < n; id++)
        total += v->len[id];
    tok->off = malloc((n + 1) * sizeof *tok->off);
    tok->blob = malloc(total > 0 ? total : 1);
    if (tok->off == NULL || tok->blob == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    size_t at = 0;
    for (size_t id = 0; id < n; id++) {
        const uint8_t *s = (const uint8_t *)v->str[id];
        tok->off[id] = at;
        for (size_t i = 0; i < v->len[id];) {
            uint32_t cp = 0;
            size_t k = mimir_tok_utf8_next(s, v->len[id], i, &cp);
            if (k == 0 || cp >= BYTE_CHARS || dec[cp] < 0)
                return mimir_err_set(err, MIMIR_EINPUT, path, v->str[id],
                                     "character U+%04X is not one of the 256 byte characters "
                                     "of GPT-2's bytes_to_unicode", (unsigned)cp);
            tok->blob[at++] = (uint8_t)dec[cp];
            i += k;
        }
    }
    tok->off[n] = at;
    tok->n = n;
    for (unsigned b = 0; b < 256; b++) {
        uint8_t u[4];
        size_t k = mimir_tok_utf8_put(byte_char(b), u);
        tok->byte_id[b] = vocab_find(v, (const char *)u, k);
        if (tok->byte_id[b] < 0)
            return mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                                 "no token \"%.*s\" for byte 0x%02X, expected all 256 "
                                 "one-byte tokens", (int)k, (const char *)u, b);
    }
    return MIMIR_OK;
}

/* ---- merges.txt -------------------------------------------------------------------------- */

static int merge_line(mimir_tokenizer *tok, const vocab *v, const char *path, size_t lineno,
                      const char *s, size_t n, uint32_t rank, size_t first_line, mimir_err *err)
{
    char field[32];
    char both[2 * 4096];
    snprintf(field, sizeof field, "line %zu", lineno);
    const char *sp = memchr(s, ' ', n);
    if (sp == NULL || sp == s || sp + 1 == s + n || memchr(sp + 1, ' ', n - (sp + 1 - s)))
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "\"%.*s\": expected two tokens separated by one space",
                             (int)(n < QUOTE_MAX ? n : QUOTE_MAX), s);
    size_t na = (size_t)(sp - s), nb = n - na - 1;
    int32_t a = vocab_find(v, s, na), b = vocab_find(v, sp + 1, nb), m = -1;
    if (a < 0 || b < 0) {
        int bad_a = a < 0;
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "token \"%.*s\" is not in vocab.json",
                             (int)((bad_a ? na : nb) < QUOTE_MAX ? (bad_a ? na : nb) : QUOTE_MAX),
                             bad_a ? s : sp + 1);
    }
    if (na + nb <= sizeof both) {
        memcpy(both, s, na);
        memcpy(both + na, sp + 1, nb);
        m = vocab_find(v, both, na + nb);
    }
    if (m < 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "merged token \"%.*s%.*s\" is not in vocab.json",
                             (int)(na < QUOTE_MAX ? na : QUOTE_MAX), s,
                             (int)(nb < QUOTE_MAX ? nb : QUOTE_MAX), sp + 1);
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t old_rank;
    int32_t old_m;
    if (mimir_tok_map_get(&tok->pairs, key, &old_rank, &old_m))
        return mimir_err_set(err, MIMIR_EINPUT, path, field,
                             "merge \"%.*s\" repeats line %zu, expected each merge once",
                             (int)(n < QUOTE_MAX ? n : QUOTE_MAX), s,
                             (size_t)old_rank + first_line);
    mimir_tok_map_put(&tok->pairs, key, rank, m);
    return MIMIR_OK;
}

static int merges_parse(mimir_tokenizer *tok, const vocab *v, const char *path,
                        const char *data, size_t len, mimir_err *err)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    if (lines >= UINT32_MAX - 1)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "too many lines");
    if (mimir_tok_map_init(&tok->pairs, lines) != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    size_t lineno = 0, first_line = 1;
    uint32_t rank = 0;
    for (size_t at = 0; at < len;) {
        const char *s = data + at;
        const char *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl != NULL);
        lineno++;
        if (n > 0 && s[n - 1] == '\r') /* tolerate CRLF line ends */
            n--;
        if (lineno == 1 && n >= 8 && memcmp(s, "#version", 8) == 0) {
            size_t vn = strlen(GPT2_MERGES_VERSION);
            if (n < vn || memcmp(s, GPT2_MERGES_VERSION, vn) != 0)
                return mimir_err_set(err, MIMIR_EINPUT, path, "line 1",
                                     "\"%.*s\": unsupported version, expected \"%s\"",
                                     (int)(n < QUOTE_MAX ? n : QUOTE_MAX), s,
                                     GPT2_MERGES_VERSION);
            first_line = 2;
            continue;
        }
        if (n == 0 && at >= len) /* the final line end */
            break;
        int rc = merge_line(tok, v, path, lineno, s, n, rank, first_line, err);
        if (rc != MIMIR_OK)
            return rc;
        rank++;
    }
    return MIMIR_OK;
}

/* ---- loading ----------------------------------------------------------------------------- */

static int compile_pattern(mimir_tokenizer *tok, mimir_err *err)
{
    int code;
    PCRE2_SIZE where;
    tok->re = pcre2_compile((PCRE2_SPTR)mimir_gpt2_pattern, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP, &code, &where, NULL);
    if (tok->re == NULL) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL,
                             "GPT-2 pre-tokenization pattern does not compile at %zu: %s",
                             (size_t)where, (const char *)msg);
    }
    (void)pcre2_jit_compile(tok->re, PCRE2_JIT_COMPLETE); /* the interpreter is the fallback */
    return MIMIR_OK;
}

int mimir_tok_bpe_load(mimir_tokenizer *tok, const char *dir, mimir_err *err)
{
    char *vpath = mimir_tok_path(dir, "vocab.json"), *mpath = mimir_tok_path(dir, "merges.txt");
    uint8_t *vdata = NULL, *mdata = NULL;
    size_t vlen = 0, mlen = 0;
    json_t *root = NULL;
    vocab v = {0};
    int rc;
    if (vpath == NULL || mpath == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, dir, NULL, "out of memory");
        goto done;
    }
    rc = mimir_read_file(vpath, MIMIR_TOK_VOCAB_MAX_FILE, &vdata, &vlen, err);
    if (rc != MIMIR_OK)
        goto done;
    FILE *probe = fopen(mpath, "rb");
    if (probe == NULL) {
        rc = mimir_err_set(err, MIMIR_EINPUT, mpath, NULL,
                           "cannot open, expected merges.txt beside vocab.json for GPT-2 BPE");
        goto done;
    }
    fclose(probe);
    rc = mimir_read_file(mpath, MIMIR_TOK_MERGES_MAX_FILE, &mdata, &mlen, err);
    if (rc != MIMIR_OK)
        goto done;
    json_error_t je;
    root = json_loadb((const char *)vdata, vlen, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        rc = mimir_err_set(err, MIMIR_EINPUT, vpath, NULL,
                           "not valid JSON (line %d, column %d: %s)", je.line, je.column,
                           je.text);
        goto done;
    }
    size_t n = json_object_size(root);
    if (!json_is_object(root) || n == 0) {
        rc = mimir_err_set(err, MIMIR_EINPUT, vpath, NULL,
                           "expected a non-empty JSON object mapping token strings to ids");
        goto done;
    }
    if (n > MIMIR_TOK_MAX_VOCAB) {
        rc = mimir_err_set(err, MIMIR_EINPUT, vpath, NULL, "more than %d tokens",
                           MIMIR_TOK_MAX_VOCAB);
        goto done;
    }
    rc = vocab_index(&v, vpath, root, n, err);
    if (rc == MIMIR_OK)
        rc = vocab_bytes(tok, &v, vpath, n, err);
    if (rc == MIMIR_OK)
        rc = merges_parse(tok, &v, mpath, (const char *)mdata, mlen, err);
    if (rc == MIMIR_OK)
        rc = compile_pattern(tok, err);
    if (rc == MIMIR_OK) {
        const char *names[2] = {"vocab.json", "merges.txt"};
        const uint8_t *data[2] = {vdata, mdata};
        size_t lens[2] = {vlen, mlen};
        rc = mimir_tok_digest(tok, 2, names, data, lens, err);
    }
    if (rc == MIMIR_OK)
        tok->kind = MIMIR_TOK_BPE;
done:
    vocab_free(&v);
    json_decref(root);
    free(vdata);
    free(mdata);
    free(vpath);
    free(mpath);
    return rc;
}

/* ---- BPE --------------------------------------------------------------------------------- */

/* Per-call scratch, grown to the longest piece seen. Heap entries are rank << 32 | position. */
typedef struct scratch {
    size_t cap;
    int32_t *sym;      /* token at each position; merged-away positions are dead */
    uint32_t *next, *prev;
    uint64_t *heap, *pending;
    size_t nheap, npending;
} scratch;

static void scratch_free(scratch *s)
{
    free(s->sym);
    free(s->next);
    free(s->prev);
    free(s->heap);
    free(s->pending);
}

static int scratch_grow(scratch *s, size_t n)
{
    if (n <= s->cap)
        return 0;
    scratch_free(s);
    memset(s, 0, sizeof *s);
    s->sym = malloc(n * sizeof *s->sym);
    s->next = malloc(n * sizeof *s->next);
    s->prev = malloc(n * sizeof *s->prev);
    s->heap = malloc(3 * n * sizeof *s->heap); /* n-1 pairs + at most 2 new per merge */
    s->pending = malloc(2 * n * sizeof *s->pending);
    if (!s->sym || !s->next || !s->prev || !s->heap || !s->pending)
        return -1;
    s->cap = n;
    return 0;
}

static void heap_push(scratch *s, uint64_t v)
{
    size_t i = s->nheap++;
    while (i > 0 && s->heap[(i - 1) / 2] > v) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = v;
}

static uint64_t heap_pop(scratch *s)
{
    uint64_t top = s->heap[0], v = s->heap[--s->nheap];
    size_t i = 0, n = s->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s->heap[c + 1] < s->heap[c])
            c++;
        if (s->heap[c] >= v)
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n > 0)
        s->heap[i] = v;
    return top;
}

/* Queues the pair starting at pos, if it is a merge. */
static void pair_note(const mimir_tokenizer *tok, scratch *s, uint32_t pos, int to_heap)
{
    uint32_t rank;
    int32_t merged;
    uint32_t nx = s->next[pos];
    if (nx == NO_POS)
        return;
    uint64_t key = (uint64_t)(uint32_t)s->sym[pos] << 32 | (uint32_t)s->sym[nx];
    if (!mimir_tok_map_get(&tok->pairs, key, &rank, &merged))
        return;
    uint64_t e = (uint64_t)rank << 32 | pos;
    if (to_heap)
        heap_push(s, e);
    else
        s->pending[s->npending++] = e;
}

/* encoder.py merges every occurrence of the best pair in one pass over the word, so pairs made
 * by a pass join the heap only once that rank is exhausted (they never have that rank). */
static void bpe_piece(const mimir_tokenizer *tok, scratch *s, const uint8_t *w, size_t n,
                      int32_t *out, size_t *nout)
{
    for (size_t i = 0; i < n; i++) {
        s->sym[i] = tok->byte_id[w[i]];
        s->prev[i] = i == 0 ? NO_POS : (uint32_t)(i - 1);
        s->next[i] = i + 1 == n ? NO_POS : (uint32_t)(i + 1);
    }
    s->nheap = s->npending = 0;
    for (size_t i = 0; i + 1 < n; i++)
        pair_note(tok, s, (uint32_t)i, 1);
    uint64_t cur = UINT64_MAX;
    for (;;) {
        if (s->npending > 0 && (s->nheap == 0 || s->heap[0] >> 32 != cur)) {
            for (size_t k = 0; k < s->npending; k++)
                heap_push(s, s->pending[k]);
            s->npending = 0;
        }
        if (s->nheap == 0)
            break;
        uint64_t e = heap_pop(s);
        uint32_t pos = (uint32_t)e, rank, nx = s->next[pos];
        int32_t merged;
        /* Stale entries: the position was merged away or its pair has changed. */
        if (s->sym[pos] < 0 || nx == NO_POS)
            continue;
        uint64_t key = (uint64_t)(uint32_t)s->sym[pos] << 32 | (uint32_t)s->sym[nx];
        if (!mimir_tok_map_get(&tok->pairs, key, &rank, &merged) || rank != e >> 32)
            continue;
        cur = rank;
        s->sym[pos] = merged;
        s->sym[nx] = -1;
        s->next[pos] = s->next[nx];
        if (s->next[nx] != NO_POS)
            s->prev[s->next[nx]] = pos;
        if (s->prev[pos] != NO_POS)
            pair_note(tok, s, s->prev[pos], 0);
        pair_note(tok, s, pos, 0);
    }
    size_t k = 0;
    for (uint32_t p = 0; p != NO_POS; p = s->next[p])
        out[k++] = s->sym[p];
    *nout = k;
}

int mimir_tok_bpe_encode(const mimir_tokenizer *tok, const uint8_t *text, size_t len,
                         int32_t *ids, size_t *n, mimir_err *err)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(tok->re, NULL);
    scratch s = {0};
    size_t count = 0, at = 0;
    int rc = MIMIR_OK;
    if (md == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "text", "out of memory");
    while (rc == MIMIR_OK && at < len) {
        /* The text was checked to be UTF-8 once by the caller, not again per match. */
        int m = pcre2_match(tok->re, text, len, at, PCRE2_NO_UTF_CHECK, md, NULL);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (m < 0 || ov[0] != at || ov[1] <= at) {
            /* Unreachable: every character is a letter, a number, a space or none of these. */
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "text",
                               "byte offset %zu: pre-tokenization failed (PCRE2 %d)", at, m);
            break;
        }
        size_t b = ov[0], e = ov[1], k = 0;
        if (scratch_grow(&s, e - b) != 0) {
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, "text", "out of memory");
            break;
        }
        bpe_piece(tok, &s, text + b, e - b, ids + count, &k);
        count += k;
        at = e;
    }
    scratch_free(&s);
    pcre2_match_data_free(md);
    *n = count;
    return rc;
}
