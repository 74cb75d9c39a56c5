/*
 * plaintext.c — mimir-generate --plaintext: greedy generation in the clear, float or fixed
 * point, streaming each token to stdout as soon as it is known.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "generate.h"
#include "gpt2_fixed.h"
#include "gpt2_ref.h"
#include "io.h"
#include "mem.h"
#include "model.h"
#include "npy.h"
#include "tokenizer.h"

/* One forward step of either arithmetic. */
typedef struct engine {
    mimir_gpt2_ref *ref;
    mimir_gpt2_fixed *fixed;
} engine;

static int engine_step(engine *e, int32_t token, double *logits, mimir_err *err)
{
    if (e->ref != NULL)
        return mimir_gpt2_ref_step(e->ref, token, logits, err);
    return mimir_gpt2_fixed_step(e->fixed, token, logits, NULL, err);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* --model, else $MIMIR_MODEL_DIR, else <dir of the binary>/../models/tiny. */
const char *gen_model_dir(const gen_opts *o, char *buf, size_t cap)
{
    if (o->model != NULL)
        return o->model;
    const char *env = getenv("MIMIR_MODEL_DIR");
    if (env != NULL && *env != '\0')
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return "models/tiny";
    exe[n] = '\0';
    snprintf(buf, cap, "%s/../models/tiny", dirname(exe));
    return buf;
}

static int fail(const mimir_err *err)
{
    mimir_err_print(stderr, PROG, err);
    return err->code != MIMIR_OK ? err->code : MIMIR_ERUNTIME;
}

/* Writes s (n bytes) as a JSON string body; bytes >= 0x80 pass through when the token's bytes
 * are valid UTF-8, and become U+FFFD otherwise (a BPE token may end inside a character). */
void gen_json_text(FILE *out, const uint8_t *s, size_t n)
{
    int valid = 1;
    for (size_t i = 0; i < n && valid;) {
        size_t k = s[i] < 0x80 ? 1 : (s[i] >> 5) == 6 ? 2 : (s[i] >> 4) == 14 ? 3
                   : (s[i] >> 3) == 30 ? 4 : 0;
        valid = k != 0 && i + k <= n;
        for (size_t j = 1; valid && j < k; j++)
            valid = (s[i + j] >> 6) == 2;
        i += k;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = s[i];
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", out);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\u%04x", ch);
        else if (ch >= 0x80 && !valid)
            fputs("\\ufffd", out);
        else
            fputc(ch, out);
    }
}

typedef struct run {
    const gen_opts *o;
    mimir_gpt2 *model;
    mimir_tokenizer *tok;
    engine eng;
    uint8_t *prompt;  /* the prompt bytes read from stdin, or NULL */
    size_t prompt_len;
    int32_t *ids;     /* prompt ids */
    size_t n_ids;
    double *logits;   /* (V) */
    float *dump;      /* (positions, V) when --dump-logits */
    size_t dumped;    /* positions in dump */
    mimir_err err;
} run;

static void run_free(run *r)
{
    size_t V = r->model != NULL ? (size_t)r->model->cfg.vocab_size : 0;
    mimir_gpt2_ref_free(r->eng.ref);
    mimir_gpt2_fixed_free(r->eng.fixed);
    mimir_gpt2_free(r->model);
    mimir_tokenizer_free(r->tok);
    if (r->prompt != NULL)
        mimir_wipe(r->prompt, r->prompt_len);
    free(r->prompt);
    if (r->ids != NULL)
        mimir_wipe(r->ids, r->n_ids * sizeof *r->ids);
    free(r->ids);
    if (r->logits != NULL)
        mimir_wipe(r->logits, V * sizeof *r->logits);
    free(r->logits);
    if (r->dump != NULL)
        mimir_wipe(r->dump, r->dumped * V * sizeof *r->dump);
    free(r->dump);
}

/* Loads the model, the tokenizer and the prompt; checks they fit together. */
static int setup(run *r)
{
    const gen_opts *o = r->o;
    char buf[PATH_MAX + 32];
    const char *dir = gen_model_dir(o, buf, sizeof buf);
    int rc = mimir_gpt2_load(dir, &r->model, &r->err);
    if (rc == MIMIR_OK)
        rc = mimir_tokenizer_load(dir, &r->tok, &r->err);
    if (rc != MIMIR_OK)
        return fail(&r->err);
    const mimir_gpt2_config *cfg = &r->model->cfg;
    size_t tv = mimir_tokenizer_vocab_size(r->tok);
    if (tv > (size_t)cfg->vocab_size) {
        mimir_err_set(&r->err, MIMIR_EINPUT, dir, "vocab_size",
                      "the tokenizer has %zu tokens, the model only %d", tv, cfg->vocab_size);
        return fail(&r->err);
    }
    const char *text = o->prompt;
    size_t len = text != NULL ? strlen(text) : 0;
    if (text == NULL) {
        if ((rc = mimir_read_file("-", GEN_PROMPT_MAX_BYTES, &r->prompt, &r->prompt_len,
                                  &r->err)) != MIMIR_OK)
            return fail(&r->err);
        text = (const char *)r->prompt, len = r->prompt_len;
    }
    if ((rc = mimir_tokenizer_encode(r->tok, text, len, &r->ids, &r->n_ids, &r->err)) !=
        MIMIR_OK) {
        if (r->err.file[0] == '\0')
            snprintf(r->err.file, sizeof r->err.file, "%s", o->prompt ? "PROMPT" : "stdin");
        return fail(&r->err);
    }
    if (r->n_ids == 0) {
        mimir_err_set(&r->err, MIMIR_EINPUT, o->prompt ? "PROMPT" : "stdin", NULL,
                      "the prompt is empty, expected at least one token");
        return fail(&r->err);
    }
    if (r->n_ids > (size_t)cfg->n_ctx) {
        mimir_err_set(&r->err, MIMIR_EINPUT, o->prompt ? "PROMPT" : "stdin", NULL,
                      "the prompt is %zu tokens, expected at most the model's context of %d",
                      r->n_ids, cfg->n_ctx);
        return fail(&r->err);
    }
    if (o->use_float)
        rc = mimir_gpt2_ref_new(r->model, &r->eng.ref, &r->err);
    else
        rc = mimir_gpt2_fixed_new(r->model, &r->eng.fixed, &r->err);
    if (rc != MIMIR_OK) {
        if (r->err.file[0] == '\0')
            snprintf(r->err.file, sizeof r->err.file, "%.500s", dir);
        return fail(&r->err);
    }
    return MIMIR_OK;
}

/* Evaluates one position and keeps its logits for --dump-logits. */
static int step(run *r, int32_t token)
{
    int rc = engine_step(&r->eng, token, r->logits, &r->err);
    if (rc != MIMIR_OK)
        return fail(&r->err);
    if (r->dump != NULL) {
        size_t V = (size_t)r->model->cfg.vocab_size;
        for (size_t v = 0; v < V; v++)
            r->dump[r->dumped * V + v] = (float)r->logits[v];
        r->dumped++;
    }
    return MIMIR_OK;
}

/* Writes one generated token to stdout, as raw bytes or as a JSON line. */
static int emit(run *r, int32_t id, double ms)
{
    const uint8_t *b;
    size_t n;
    if (mimir_tokenizer_token_bytes(r->tok, id, &b, &n, &r->err) != MIMIR_OK)
        return fail(&r->err);
    if (r->o->json) {
        printf("{\"token\": %ld, \"text\": \"", (long)id);
        gen_json_text(stdout, b, n);
        printf("\", \"ms\": %.3f}\n", ms);
    } else {
        fwrite(b, 1, n, stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        mimir_err_errno(&r->err, "stdout", "write");
        return fail(&r->err);
    }
    return MIMIR_OK;
}

static int generate(run *r)
{
    const gen_opts *o = r->o;
    const mimir_gpt2_config *cfg = &r->model->cfg;
    size_t V = (size_t)cfg->vocab_size, tv = mimir_tokenizer_vocab_size(r->tok);
    // positions evaluated: the prompt, then every generated token but the last
    long room = (long)cfg->n_ctx - (long)r->n_ids + 1, want = o->tokens;
    long n = want < room ? want : room;
    r->logits = calloc(V, sizeof *r->logits);
    if (o->dump_logits != NULL)
        r->dump = calloc((r->n_ids + (size_t)n - 1) * V, sizeof *r->dump);
    if (r->logits == NULL || (o->dump_logits != NULL && r->dump == NULL)) {
        mimir_err_set(&r->err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        return fail(&r->err);
    }
    int rc;
    double t0 = now_ms(), last = t0;
    for (size_t i = 0; i < r->n_ids; i++)
        if ((rc = step(r, r->ids[i])) != MIMIR_OK)
            return rc;
    for (long i = 0; i < n; i++) {
        int32_t next = mimir_gpt2_argmax(r->logits, tv); // ids the tokenizer can decode
        double t = now_ms();
        if ((rc = emit(r, next, t - last)) != MIMIR_OK)
            return rc;
        last = t;
        if (i + 1 < n && (rc = step(r, next)) != MIMIR_OK)
            return rc;
    }
    double total = now_ms() - t0;
    if (n < want)
        fprintf(stderr, "%s: stopped at the model's context length of %d positions: "
                "generated %ld of %ld tokens\n", PROG, cfg->n_ctx, n, want);
    if (o->dump_logits != NULL) {
        uint64_t shape[2] = {r->dumped, V};
        if ((rc = mimir_npy_write(o->dump_logits, MIMIR_NPY_F32, 2, shape, r->dump,
                                  &r->err)) != MIMIR_OK)
            return fail(&r->err);
    }
    if (!o->quiet)
        fprintf(stderr, "%s: %ld tokens in %.1f ms (%.2f ms/token), prompt %zu tokens, "
                "plaintext %s\n", PROG, n, total, total / (double)n, r->n_ids,
                o->use_float ? "float" : "fixed-point");
    return MIMIR_OK;
}

int plaintext_main(const gen_opts *o)
{
    if (o->dump_logits != NULL && strcmp(o->dump_logits, "-") == 0) {
        fprintf(stderr, "%s: --dump-logits: '-' is stdout, which carries the generated text; "
                "expected a file\n", PROG);
        return MIMIR_EINPUT;
    }
    if (mimir_mem_init() != 0) {
        fprintf(stderr, "%s: libsodium could not be initialised\n", PROG);
        return MIMIR_ERUNTIME;
    }
    run r = {.o = o};
    mimir_err_clear(&r.err);
    int rc = setup(&r);
    if (rc == MIMIR_OK)
        rc = generate(&r);
    run_free(&r);
    return rc;
}
