/*
 * test_tokenizer.c — the character tokenizer and GPT-2 byte-level BPE.
 *
 * Known answers: ../shared/testdata/gpt2-bpe/cases.jsonl (49 reference tokenizations by GPT-2's
 * own algorithm), extra ids and pre-tokenization pieces computed at development time with
 * Python's `regex` module and a transcription of OpenAI's encoder.py (tables below), and schema
 * errors on files written into a temporary directory.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "tap.h"
#include "tokenizer.h"
#include "tokenizer_internal.h"

#define GPT2_DIR "../shared/testdata/gpt2-bpe"
#define GPT2_VOCAB 50257
/* SHA-256 over ("vocab.json\0", len64le, bytes, "merges.txt\0", len64le, bytes). */
#define GPT2_DIGEST "e770034d0c742c54b67c6433b90341f3d409508b5394f6edd8bee9669a77fb34"

/* Pre-tokenization pieces as Python's `regex` module gives them (dev-time, regex 2026.5.9). */
static const struct split_case { const char *text; const char *pieces[8]; } split_cases[] = {
    {"a \341\240\216!", {"a", " \341\240\216!", NULL}},
    {"\341\240\216\341\240\216 b", {"\341\240\216\341\240\216", " b", NULL}},
    {"x\302\205\302\205y", {"x", "\302\205", "\302\205", "y", NULL}},
    {" \302\205 q", {" \302\205", " q", NULL}},
    {"\360\220\227\200a b\360\220\227\200", {"\360\220\227\200a", " b\360\220\227\200", NULL}},
    {"\341\262\211ab 12\360\236\227\261", {"\341\262\211ab", " 12\360\236\227\261", NULL}},
    {"\343\200\200\343\200\200word", {"\343\200\200", "\343\200\200", "word", NULL}},
    {"a\342\200\250\342\200\251b", {"a", "\342\200\250", "\342\200\251", "b", NULL}},
    {"\342\200\213zero\342\200\213", {"\342\200\213", "zero", "\342\200\213", NULL}},
    {"\357\273\277bom", {"\357\273\277", "bom", NULL}},
    {"\034\035 x", {"\034\035", " x", NULL}},
    {"\302\240\302\240nb", {"\302\240", "\302\240", "nb", NULL}},
    {"\331\241\331\242 \342\205\247x", {"\331\241\331\242", " \342\205\247", "x", NULL}},
    {"don't 'tis", {"don", "'t", " '", "tis", NULL}},
    {"a  \012\012 b", {"a", "  \012\012", " b", NULL}},
    {"end   ", {"end", "   ", NULL}},
};
/* Extra ids from a Python transcription of OpenAI's encoder.py (dev-time). */
static const struct id_case { const char *text; int32_t ids[24]; size_t n; } extra_cases[] = {
    {"<|endoftext|>", {27, 91, 437, 1659, 5239, 91, 29}, 7},
    {"a<|endoftext|>b", {64, 27, 91, 437, 1659, 5239, 91, 29, 65}, 9},
    {"a \341\240\216!", {64, 28053, 254, 236, 0}, 5},
    {"x\302\205\302\205y", {87, 126, 227, 126, 227, 88}, 6},
    {"\360\220\227\200a b\360\220\227\200", {172, 238, 245, 222, 64, 275, 172, 238, 245, 222}, 10},
    {"aaaaaaaaaaaaaaaaaaaaaaa", {24794, 24794, 24794, 24794, 24794, 46071}, 6},
    {"'S 'LL 're's", {6, 50, 705, 3069, 705, 260, 338}, 7},
    {"\343\200\200\343\200\200word", {5099, 222, 5099, 222, 4775}, 5},
    {"hello\342\200\250world", {31373, 447, 101, 6894}, 4},
    {"1\302\275 \331\241\331\242\331\243", {16, 23141, 18923, 94, 149, 95, 149, 96}, 8},
};

static char tmpdir[] = "/tmp/mimir-test-tokenizer-XXXXXX";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Makes tmpdir/name and writes the given files into it; returns the directory (static). */
static const char *make_dir(const char *name, const char *file1, const char *text1,
                            const char *file2, const char *text2)
{
    static char dir[512];
    char path[640];
    mimir_err err = {0};
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0700);
    if (file1 != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, file1);
        mimir_write_file(path, text1, strlen(text1), &err);
    }
    if (file2 != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, file2);
        mimir_write_file(path, text2, strlen(text2), &err);
    }
    return dir;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Loading dir must fail with code, naming a file ending in file, the field, and msg. */
static void load_fails(const char *what, const char *dir, int code, const char *file,
                       const char *field, const char *msg)
{
    mimir_tokenizer *tok = (mimir_tokenizer *)1;
    mimir_err err = {0};
    mimir_err_clear(&err);
    int rc = mimir_tokenizer_load(dir, &tok, &err);
    CHECK(rc == code && err.code == code && tok == NULL, "%s: load fails with %d (got %d: %s)",
          what, code, rc, err.msg);
    CHECK(ends_with(err.file, file), "%s: error names file %s (got \"%s\")", what, file, err.file);
    CHECK(strcmp(err.field, field) == 0, "%s: error names field \"%s\" (got \"%s\")", what, field,
          err.field);
    CHECK(strstr(err.msg, msg) != NULL, "%s: message says \"%s\" (got \"%s\")", what, msg,
          err.msg);
}

static int encodes_to(const mimir_tokenizer *tok, const char *text, size_t len,
                      const int32_t *want, size_t nwant)
{
    int32_t *ids = NULL;
    size_t n = 0;
    mimir_err err = {0};
    int ok = mimir_tokenizer_encode(tok, text, len, &ids, &n, &err) == MIMIR_OK && n == nwant &&
             (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    free(ids);
    return ok;
}

static int decodes_to(const mimir_tokenizer *tok, const int32_t *ids, size_t n, const char *text,
                      size_t len)
{
    char *out = NULL;
    size_t outlen = 0;
    mimir_err err = {0};
    int ok = mimir_tokenizer_decode(tok, ids, n, &out, &outlen, &err) == MIMIR_OK &&
             outlen == len && memcmp(out, text, len) == 0 && out[len] == '\0';
    free(out);
    return ok;
}

/* ---- GPT-2 BPE --------------------------------------------------------------------------- */

static void test_gpt2_cases(const mimir_tokenizer *tok)
{
    uint8_t *data = NULL;
    size_t len = 0, ncases = 0, failed = 0;
    mimir_err err = {0};
    if (!CHECK(mimir_read_file(GPT2_DIR "/cases.jsonl", 1 << 20, &data, &len, &err) == MIMIR_OK,
               "read cases.jsonl: %s", err.msg))
        return;
    for (char *line = (char *)data, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        json_error_t je;
        json_t *c = json_loads(line, JSON_ALLOW_NUL, &je);
        json_t *jt = json_object_get(c, "text"), *jids = json_object_get(c, "ids");
        if (!CHECK(json_is_string(jt) && json_is_array(jids), "cases.jsonl line %zu parses",
                   ncases + 1)) {
            json_decref(c);
            break;
        }
        size_t n = json_array_size(jids), tlen = json_string_length(jt);
        const char *text = json_string_value(jt);
        int32_t *want = malloc((n + 1) * sizeof *want);
        for (size_t i = 0; i < n; i++)
            want[i] = (int32_t)json_integer_value(json_array_get(jids, i));
        int enc = encodes_to(tok, text, tlen, want, n);
        int dec = decodes_to(tok, want, n, text, tlen);
        if (!enc || !dec) {
            failed++;
            CHECK(0, "case %zu \"%s\": %s", ncases + 1, text,
                  !enc ? "encodes to the reference ids" : "decodes back to the text");
        }
        free(want);
        json_decref(c);
        ncases++;
    }
    CHECK(ncases == 49 && failed == 0, "all %zu cases of cases.jsonl encode and decode exactly "
          "(expected 49 cases, %zu failed)", ncases, failed);
    free(data);
}

static void test_gpt2_extra(const mimir_tokenizer *tok)
{
    static const int32_t hello[] = {15496, 995};
    CHECK(encodes_to(tok, "Hello world", 11, hello, 2), "\"Hello world\" -> [15496, 995]");
    for (size_t i = 0; i < sizeof extra_cases / sizeof extra_cases[0]; i++) {
        const struct id_case *c = &extra_cases[i];
        CHECK(encodes_to(tok, c->text, strlen(c->text), c->ids, c->n) &&
                  decodes_to(tok, c->ids, c->n, c->text, strlen(c->text)),
              "extra case %zu \"%s\" encodes to encoder.py's ids and back", i, c->text);
    }
    static const int32_t eot = 50256;
    const uint8_t *b;
    size_t n;
    mimir_err err = {0};
    CHECK(mimir_tokenizer_token_bytes(tok, eot, &b, &n, &err) == MIMIR_OK && n == 13 &&
              memcmp(b, "<|endoftext|>", 13) == 0,
          "token 50256 has the bytes <|endoftext|> (it is only ever produced by a model)");
}

/* GPT-2's pattern, compiled as the library compiles it, splits like Python's `regex`. */
static void test_gpt2_pattern(void)
{
    int code;
    PCRE2_SIZE where;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)mimir_gpt2_pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &code, &where, NULL);
    if (!CHECK(re != NULL, "GPT-2 pattern compiles"))
        return;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
        const struct split_case *c = &split_cases[i];
        size_t len = strlen(c->text), at = 0, k = 0;
        int ok = 1;
        while (ok && at < len) {
            int m = pcre2_match(re, (PCRE2_SPTR)c->text, len, at, 0, md, NULL);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            const char *want = c->pieces[k++];
            ok = m > 0 && ov[0] == at && want != NULL && strlen(want) == ov[1] - ov[0] &&
                 memcmp(want, c->text + at, ov[1] - ov[0]) == 0;
            at = ov[1];
        }
        CHECK(ok && c->pieces[k] == NULL,
              "pre-tokenization of split case %zu gives regex's pieces", i);
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
}

static void test_gpt2_bytes(const mimir_tokenizer *tok)
{
    /* "hello <U+1F44B> world <U+1F30D>": each emoji's 4 bytes span tokens; streaming the
     * token bytes restores them. */
    static const int32_t ids[] = {31373, 50169, 233, 995, 12520, 234, 235};
    const char *text = "hello \360\237\221\213 world \360\237\214\215";
    char buf[64];
    size_t at = 0, whole = 1;
    mimir_err err = {0};
    for (size_t i = 0; i < 7; i++) {
        const uint8_t *b;
        size_t n;
        if (mimir_tokenizer_token_bytes(tok, ids[i], &b, &n, &err) != MIMIR_OK || at + n > 64) {
            whole = 0;
            break;
        }
        memcpy(buf + at, b, n);
        at += n;
    }
    CHECK(whole && at == strlen(text) && memcmp(buf, text, at) == 0,
          "token bytes of [31373, 50169, 233, ...] concatenate to \"hello \xf0\x9f\x91\x8b world "
          "\xf0\x9f\x8c\x8d\"");
    const uint8_t *b;
    size_t n;
    CHECK(mimir_tokenizer_token_bytes(tok, 12520, &b, &n, &err) == MIMIR_OK && n == 3 &&
              memcmp(b, " \360\237", 3) == 0,
          "token 12520 is the 3 bytes \" \\xf0\\x9f\" (half of an emoji)");
    CHECK(mimir_tokenizer_token_bytes(tok, 188, &b, &n, &err) == MIMIR_OK && n == 1 && b[0] == 0,
          "token 188 is the byte 0x00");
    CHECK(mimir_tokenizer_token_bytes(tok, GPT2_VOCAB, &b, &n, &err) == MIMIR_EINPUT &&
              strstr(err.msg, "50257 is out of range") != NULL,
          "token id 50257 is out of range (%s)", err.msg);
    CHECK(mimir_tokenizer_token_bytes(tok, -1, &b, &n, &err) == MIMIR_EINPUT,
          "token id -1 is out of range");
    static const int32_t bad[] = {15496, 70000};
    char *out = (char *)1;
    size_t outlen;
    CHECK(mimir_tokenizer_decode(tok, bad, 2, &out, &outlen, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "ids[1]") == 0 && out == NULL,
          "decoding id 70000 fails naming ids[1] (%s: %s)", err.field, err.msg);
}

static void test_gpt2_invalid_utf8(const mimir_tokenizer *tok)
{
    static const struct { const char *text; size_t len, offset; } bad[] = {
        {"ab\377cd", 5, 2},             /* 0xFF never occurs in UTF-8 */
        {"abc\300\257", 5, 3},          /* overlong '/' */
        {"x\355\240\200", 4, 1},        /* a UTF-16 surrogate, U+D800 */
        {"hello \360\237\221", 9, 6},   /* an emoji cut short at the end */
        {"\364\220\200\200", 4, 0},     /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t *ids = (int32_t *)1;
        size_t n = 7;
        mimir_err err = {0};
        char want[64];
        snprintf(want, sizeof want, "byte offset %zu: invalid UTF-8", bad[i].offset);
        int rc = mimir_tokenizer_encode(tok, bad[i].text, bad[i].len, &ids, &n, &err);
        CHECK(rc == MIMIR_EINPUT && ids == NULL && n == 0 && strstr(err.msg, want) != NULL,
              "invalid UTF-8 case %zu is rejected with \"%s\" (got %d: %s)", i, want, rc,
              err.msg);
    }
    int32_t *ids = NULL;
    size_t n = 1;
    mimir_err err = {0};
    CHECK(mimir_tokenizer_encode(tok, "", 0, &ids, &n, &err) == MIMIR_OK && n == 0 && ids != NULL,
          "the empty text encodes to no ids");
    free(ids);
    static const int32_t nul_ids[] = {188, 64, 188};
    CHECK(encodes_to(tok, "\0a\0", 3, nul_ids, 3), "NUL bytes inside the text are encoded");
}

static void test_gpt2_speed(const mimir_tokenizer *tok)
{
    /* 100 KB of mixed text, plus one 100 KB word: the latter is quadratic in encoder.py. */
    static const char *parts[] = {"The quick brown fox, ", "jumps over 1234 lazy dogs; ",
                                  "\343\201\223\343\202\223\343\201\253\343\201\241\343\201\257 ",
                                  "caf\303\251 na\303\257ve \360\237\214\215 ", "   \n\n",
                                  "x=y+2*(z-1); "};
    size_t cap = 100 * 1024;
    char *text = malloc(cap + 64);
    size_t len = 0;
    for (size_t i = 0; len < cap; i = (i + 1) % 6) {
        size_t k = strlen(parts[i]);
        memcpy(text + len, parts[i], k);
        len += k;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    mimir_err err = {0};
    double t0 = now();
    int rc = mimir_tokenizer_encode(tok, text, len, &ids, &n, &err);
    double dt = now() - t0;
    CHECK(rc == MIMIR_OK && dt < 1.0, "encoding %zu bytes of mixed text takes %.3f s (< 1 s)",
          len, dt);
    CHECK(rc == MIMIR_OK && decodes_to(tok, ids, n, text, len), "and decodes back exactly");
    free(ids);
    memset(text, 'a', cap);
    t0 = now();
    rc = mimir_tokenizer_encode(tok, text, cap, &ids, &n, &err);
    dt = now() - t0;
    CHECK(rc == MIMIR_OK && dt < 1.0 && decodes_to(tok, ids, n, text, cap),
          "one word of 100 KB encodes in %.3f s (< 1 s) and decodes back", dt);
    free(ids);
    memset(text, ' ', cap);
    text[cap - 1] = 'z';
    t0 = now();
    rc = mimir_tokenizer_encode(tok, text, cap, &ids, &n, &err);
    dt = now() - t0;
    CHECK(rc == MIMIR_OK && dt < 1.0 && n >= 2 && ids[n - 1] == 1976 && ids[n - 2] == 220 &&
              decodes_to(tok, ids, n, text, cap),
          "100 KB of spaces then \"z\" ends [..., 220, 1976] in %.3f s", dt);
    free(ids);
    free(text);
}

static void test_gpt2(void)
{
    mimir_tokenizer *tok = NULL;
    mimir_err err = {0};
    double t0 = now();
    int rc = mimir_tokenizer_load(GPT2_DIR, &tok, &err);
    double dt = now() - t0;
    if (!CHECK(rc == MIMIR_OK, "load GPT-2 BPE from %s: %s", GPT2_DIR, err.msg))
        return;
    CHECK(dt < 0.5, "loading vocab.json + merges.txt takes %.3f s (< 0.5 s)", dt);
    CHECK(mimir_tokenizer_kind(tok) == MIMIR_TOK_BPE, "kind is BPE");
    CHECK(mimir_tokenizer_vocab_size(tok) == GPT2_VOCAB, "vocabulary has %d tokens (got %zu)",
          GPT2_VOCAB, mimir_tokenizer_vocab_size(tok));
    CHECK(strcmp(mimir_tokenizer_digest(tok), GPT2_DIGEST) == 0, "digest is %s (got %s)",
          GPT2_DIGEST, mimir_tokenizer_digest(tok));
    test_gpt2_cases(tok);
    test_gpt2_extra(tok);
    test_gpt2_bytes(tok);
    test_gpt2_invalid_utf8(tok);
    test_gpt2_speed(tok);
    mimir_tokenizer_free(tok);
    test_gpt2_pattern();
}

/* ---- small BPE vocabularies -------------------------------------------------------------- */

/* A vocab.json with the 256 byte tokens (GPT-2's bytes_to_unicode) plus extra tokens. */
static char *byte_vocab(const char *const extra[], size_t nextra)
{
    json_t *v = json_object();
    int id = 0;
    for (unsigned b = 0; b < 256; b++) {
        unsigned cp = b;
        if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))) {
            cp = 256;
            for (unsigned c = 0; c < b; c++)
                cp += !((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) ||
                        (c >= 0xAE && c <= 0xFF));
        }
        uint8_t u[5] = {0};
        mimir_tok_utf8_put(cp, u);
        json_object_set_new(v, (const char *)u, json_integer(id++));
    }
    for (size_t i = 0; i < nextra; i++)
        json_object_set_new(v, extra[i], json_integer(id++));
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

static void test_small_bpe(void)
{
    static const char *const extra[] = {"ab", "abc", "\304\240a", "\304\240ab"}; /* Ġ = U+0120 */
    char *vocab = byte_vocab(extra, 4);
    const char *dir = make_dir("bpe-ok", "vocab.json", vocab, "merges.txt",
                               "#version: 0.2\n\304\240 a\n\304\240a b\na b\nab c\n");
    mimir_tokenizer *tok = NULL;
    mimir_err err = {0};
    if (CHECK(mimir_tokenizer_load(dir, &tok, &err) == MIMIR_OK, "load a small BPE: %s",
              err.msg)) {
        static const int32_t want[] = {257, 259, 99}; /* abc, Ġab, c */
        CHECK(mimir_tokenizer_vocab_size(tok) == 260, "small BPE has 260 tokens");
        CHECK(encodes_to(tok, "abc abc", 7, want, 3), "\"abc abc\" -> [abc, \304\240ab, c]");
        CHECK(decodes_to(tok, want, 3, "abc abc", 7), "and back");
    }
    mimir_tokenizer_free(tok);

    dir = make_dir("bpe-crlf", "vocab.json", vocab, "merges.txt", "a b\r\nab c\r\n");
    tok = NULL;
    CHECK(mimir_tokenizer_load(dir, &tok, &err) == MIMIR_OK,
          "merges.txt without a version line and with CRLF line ends loads: %s", err.msg);
    mimir_tokenizer_free(tok);

    load_fails("missing merges.txt", make_dir("bpe-nomerges", "vocab.json", vocab, NULL, NULL),
               MIMIR_EINPUT, "/merges.txt", "", "cannot open");
    load_fails("three tokens on a line",
               make_dir("bpe-line", "vocab.json", vocab, "merges.txt",
                        "#version: 0.2\na b\na b c\n"),
               MIMIR_EINPUT, "/merges.txt", "line 3",
               "expected two tokens separated by one space");
    load_fails("one token on a line",
               make_dir("bpe-line1", "vocab.json", vocab, "merges.txt", "ab\n"), MIMIR_EINPUT,
               "/merges.txt", "line 1", "expected two tokens");
    load_fails("blank line inside merges.txt",
               make_dir("bpe-blank", "vocab.json", vocab, "merges.txt", "a b\n\nab c\n"),
               MIMIR_EINPUT, "/merges.txt", "line 2", "expected two tokens");
    load_fails("merge of unknown tokens",
               make_dir("bpe-unk", "vocab.json", vocab, "merges.txt", "a b\nxyz d\n"),
               MIMIR_EINPUT, "/merges.txt", "line 2", "token \"xyz\" is not in vocab.json");
    load_fails("merged token not in the vocabulary",
               make_dir("bpe-unkm", "vocab.json", vocab, "merges.txt", "a b\nb c\n"),
               MIMIR_EINPUT, "/merges.txt", "line 2", "merged token \"bc\" is not in vocab.json");
    load_fails("duplicate merge",
               make_dir("bpe-dup", "vocab.json", vocab, "merges.txt", "#version: 0.2\na b\na b\n"),
               MIMIR_EINPUT, "/merges.txt", "line 3", "repeats line 2");
    load_fails("unsupported merges version",
               make_dir("bpe-ver", "vocab.json", vocab, "merges.txt", "#version: 0.3\na b\n"),
               MIMIR_EINPUT, "/merges.txt", "line 1", "expected \"#version: 0.2\"");
    free(vocab);

    load_fails("vocab.json is an array",
               make_dir("bpe-arr", "vocab.json", "[\"a\", \"b\"]", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "", "expected a non-empty JSON object");
    load_fails("vocab.json is not JSON",
               make_dir("bpe-json", "vocab.json", "{\"a\": 0,", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "", "not valid JSON");
    load_fails("vocab.json id out of range",
               make_dir("bpe-id", "vocab.json", "{\"a\": 0, \"b\": 5}", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "b", "expected an integer id from 0 to 1");
    load_fails("vocab.json id used twice",
               make_dir("bpe-id2", "vocab.json", "{\"a\": 0, \"b\": 0}", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "b", "expected each id once");
    load_fails("vocab.json id not an integer",
               make_dir("bpe-id3", "vocab.json", "{\"a\": \"0\"}", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "a", "expected an integer id");
    load_fails("vocab.json token outside bytes_to_unicode",
               make_dir("bpe-char", "vocab.json", "{\"a\": 0, \"\\u4e2d\": 1}", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "\344\270\255", "U+4E2D is not one of the 256");
    load_fails("vocab.json without all byte tokens",
               make_dir("bpe-bytes", "vocab.json", "{\"a\": 0, \"b\": 1}", "merges.txt", ""),
               MIMIR_EINPUT, "/vocab.json", "", "expected all 256 one-byte tokens");
}

/* ---- character tokenizer ----------------------------------------------------------------- */

#define CHAR_OK "{\"mimir_tokenizer\": \"char\", \"version\": 1, " \
                "\"tokens\": [\"\\n\", \" \", \"!\", \"d\", \"e\", \"h\", \"l\", \"o\", \"r\", " \
                "\"w\", \"\\u00e9\", \"\\ud83c\\udf0d\", \"\\u0000\"], \"unknown\": null}"

static void test_char(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", make_dir("char-ok", "tokenizer.json", CHAR_OK, NULL, NULL));
    mimir_tokenizer *tok = NULL, *again = NULL;
    mimir_err err = {0};
    if (!CHECK(mimir_tokenizer_load(dir, &tok, &err) == MIMIR_OK, "load a character tokenizer: %s",
               err.msg))
        return;
    CHECK(mimir_tokenizer_kind(tok) == MIMIR_TOK_CHAR, "kind is CHAR");
    CHECK(mimir_tokenizer_vocab_size(tok) == 13, "13 tokens");
    const char *text = "hello w\303\251rld!\n\360\237\214\215";
    static const int32_t want[] = {5, 4, 6, 6, 7, 1, 9, 10, 8, 6, 3, 2, 0, 11};
    CHECK(encodes_to(tok, text, strlen(text), want, 14),
          "\"hello w\303\251rld!\\n\360\237\214\215\" encodes to one id per character");
    CHECK(decodes_to(tok, want, 14, text, strlen(text)), "and decodes back exactly");
    static const int32_t nul[] = {12, 4};
    CHECK(encodes_to(tok, "\0e", 2, nul, 2), "the token \"\\u0000\" encodes a NUL byte");
    const uint8_t *b;
    size_t n;
    CHECK(mimir_tokenizer_token_bytes(tok, 11, &b, &n, &err) == MIMIR_OK && n == 4 &&
              memcmp(b, "\360\237\214\215", 4) == 0, "token 11 is the 4 bytes of U+1F30D");
    CHECK(mimir_tokenizer_token_bytes(tok, 13, &b, &n, &err) == MIMIR_EINPUT,
          "token id 13 is out of range");
    CHECK(strlen(mimir_tokenizer_digest(tok)) == 64, "digest is 64 hex digits");

    int32_t *ids = (int32_t *)1;
    size_t nids = 3;
    int rc = mimir_tokenizer_encode(tok, "hello \303\274ber", 10, &ids, &nids, &err);
    CHECK(rc == MIMIR_EINPUT && ids == NULL && nids == 0 && strcmp(err.field, "text") == 0 &&
              strstr(err.msg, "byte offset 6") && !strstr(err.msg, "U+00FC") &&
              !strstr(err.msg, "\303\274"),
          "an unknown character fails naming byte offset 6, never the character (%s)", err.msg);
    rc = mimir_tokenizer_encode(tok, "he\377", 3, &ids, &nids, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "byte offset 2: invalid UTF-8"),
          "invalid UTF-8 fails naming byte offset 2 (%s)", err.msg);

    const char *dir2 = make_dir("char-unk", "tokenizer.json",
                                "{\"mimir_tokenizer\": \"char\", \"version\": 1, "
                                "\"tokens\": [\"?\", \"a\", \"b\"], \"unknown\": \"?\"}",
                                NULL, NULL);
    if (CHECK(mimir_tokenizer_load(dir2, &again, &err) == MIMIR_OK, "load with unknown \"?\": %s",
              err.msg)) {
        static const int32_t unk[] = {1, 0, 2, 0};
        CHECK(encodes_to(again, "axb\303\274", 5, unk, 4), "unknown characters map to \"?\"");
        CHECK(strcmp(mimir_tokenizer_digest(tok), mimir_tokenizer_digest(again)) != 0,
              "different tokenizers have different digests");
    }
    mimir_tokenizer_free(again);
    again = NULL;
    if (CHECK(mimir_tokenizer_load(dir, &again, &err) == MIMIR_OK, "load again"))
        CHECK(strcmp(mimir_tokenizer_digest(tok), mimir_tokenizer_digest(again)) == 0,
              "the same files give the same digest");
    mimir_tokenizer_free(again);
    mimir_tokenizer_free(tok);
    mimir_tokenizer_free(NULL);
}

static void test_char_errors(void)
{
    static const struct {
        const char *what, *json, *field, *msg;
    } cases[] = {
        {"wrong version", "{\"mimir_tokenizer\": \"char\", \"version\": 2, \"tokens\": [\"a\"], "
         "\"unknown\": null}", "version", "unsupported version, expected the integer 1"},
        {"version as a string", "{\"mimir_tokenizer\": \"char\", \"version\": \"1\", \"tokens\": "
         "[\"a\"], \"unknown\": null}", "version", "expected the integer 1"},
        {"duplicate token", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\", \"b\", \"c\", \"b\"], \"unknown\": null}", "tokens[3]", "duplicates tokens[1]"},
        {"two-character token", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\", \"bc\"], \"unknown\": null}", "tokens[1]", "2 characters, expected one"},
        {"empty token", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\", \"\"], \"unknown\": null}", "tokens[1]", "empty string, expected one"},
        {"token not a string", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\", 7], \"unknown\": null}", "tokens[1]", "expected a string of one character"},
        {"missing tokens", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"unknown\": null}",
         "tokens", "missing, expected an array"},
        {"tokens not an array", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "\"abc\", \"unknown\": null}", "tokens", "not an array"},
        {"no tokens", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": [], "
         "\"unknown\": null}", "tokens", "empty, expected at least one token"},
        {"missing version", "{\"mimir_tokenizer\": \"char\", \"tokens\": [\"a\"], \"unknown\": "
         "null}", "version", "missing, expected 1"},
        {"missing kind", "{\"version\": 1, \"tokens\": [\"a\"], \"unknown\": null}",
         "mimir_tokenizer", "missing, expected \"char\""},
        {"wrong kind", "{\"mimir_tokenizer\": \"bpe\", \"version\": 1, \"tokens\": [\"a\"], "
         "\"unknown\": null}", "mimir_tokenizer", "expected \"char\""},
        {"missing unknown", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": [\"a\"]}",
         "unknown", "missing, expected null or one of tokens"},
        {"unknown not a token", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\"], \"unknown\": \"?\"}", "unknown", "U+003F is not one of tokens"},
        {"unknown a number", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\"], \"unknown\": 0}", "unknown", "expected null or one of tokens"},
        {"unexpected field", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"tokens\": "
         "[\"a\"], \"unknown\": null, \"extra\": 1}", "extra", "unknown field"},
        {"not an object", "[1, 2]", "", "expected a JSON object"},
        {"not JSON", "{\"mimir_tokenizer\": ", "", "not valid JSON"},
        {"duplicate key", "{\"mimir_tokenizer\": \"char\", \"version\": 1, \"version\": 1, "
         "\"tokens\": [\"a\"], \"unknown\": null}", "", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "char-bad-%zu", i);
        load_fails(cases[i].what, make_dir(name, "tokenizer.json", cases[i].json, NULL, NULL),
                   MIMIR_EINPUT, "/tokenizer.json", cases[i].field, cases[i].msg);
    }
    load_fails("empty directory", make_dir("empty", NULL, NULL, NULL, NULL), MIMIR_EINPUT,
               "/empty", "", "expected tokenizer.json");
}

static void cleanup(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", tmpdir);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_gpt2();
    test_small_bpe();
    test_char();
    test_char_errors();
    cleanup();
    return tap_done();
}
