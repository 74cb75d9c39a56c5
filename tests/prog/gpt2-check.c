/*
 * gpt2-check — checks one secure generation against the plaintext references, for
 * tests/cli/mimir-generate-correct.bats and mimir-generate-secure.bats.
 *
 *   gpt2-check MODEL_DIR PROMPT SECURE_IDS [LOGITS_P0 LOGITS_P1 LOGITS_P2]
 *
 * SECURE_IDS is the secure run's token ids, space separated (mimir-generate --json "token").
 * Tokens: the fixed-point reference (lib/gpt2_fixed.c) generates as many tokens greedily from
 * PROMPT; the secure tokens must equal them, or at the first step where they differ (after it
 * the two texts have different prefixes) the float reference's top-2 logit margin, computed on
 * the common prefix, must be below MARGIN_BOUND.
 * Logits (when the three parties' --test-logits files are given, mimir-party-hooks): joined
 * from the three parties' replicated components (both copies of each must agree), decoded with
 * f bits, compared at every sampled step with the float logits and the fixed-point logits of
 * the same token sequence (prompt + secure tokens, teacher-forced): within FLOAT_BOUND and
 * LOGIT_BOUND.
 * The bounds are docs/protocol.md's ("Secure generation: accuracy"): secure vs fixed point
 * 0.02 (tests/unit/test_sgpt2.c LOGIT_BOUND), fixed point vs float 0.01 (docs/numerics.md),
 * so secure vs float 0.03, and a greedy token may differ only where the float top-2 margin is
 * below 2 x 0.03 = 0.06.
 * Prints one line: "agree A/N ..., min float margin ..., logits max |secure - float| ...".
 * Exit 0 when every check holds, 1 when one fails (the line says which), 2 bad usage or input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "gpt2_fixed.h"
#include "gpt2_ref.h"
#include "io.h"
#include "model.h"
#include "ring.h"
#include "tokenizer.h"

#define LOGIT_BOUND 0.02
#define FLOAT_BOUND (LOGIT_BOUND + 0.01)
#define MARGIN_BOUND (2 * FLOAT_BOUND)
#define MAX_IDS 4096

static int usage(const char *msg)
{
    fprintf(stderr, "gpt2-check: %s\nusage: gpt2-check MODEL_DIR PROMPT SECURE_IDS "
            "[LOGITS_P0 LOGITS_P1 LOGITS_P2]\n", msg);
    return 2;
}

static int fail_err(const mimir_err *e)
{
    mimir_err_print(stderr, "gpt2-check", e);
    return e->code == MIMIR_EINPUT ? 2 : 3;
}

/* Largest minus second largest. */
static double top2_margin(const double *l, size_t n)
{
    double a = -INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (l[i] > a) {
            b = a;
            a = l[i];
        } else if (l[i] > b) {
            b = l[i];
        }
    }
    return a - b;
}

static size_t parse_ids(const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    char *end;
    while (*s != '\0' && n < cap) {
        long v = strtol(s, &end, 10);
        if (end == s)
            break;
        ids[n++] = (int32_t)v;
        s = end;
    }
    return n;
}

/* The three parties' logit components for n steps: joined[step * V + j]. Returns -1 on a read
 * error, 1 if two copies of a component differ, 0 if joined. */
static int join_logits(char **paths, size_t steps, size_t V, unsigned f, double *joined)
{
    uint8_t *raw[3] = {NULL, NULL, NULL};
    size_t len[3];
    mimir_err e;
    int rc = 0;
    for (int p = 0; p < 3 && rc == 0; p++)
        if (mimir_read_file(paths[p], (size_t)1 << 30, &raw[p], &len[p], &e) != MIMIR_OK ||
            len[p] != steps * 2 * V * 8) {
            fprintf(stderr, "gpt2-check: %s: %zu bytes, expected %zu steps of 2 x %zu words\n",
                    paths[p], rc == 0 && raw[p] ? len[p] : 0, steps, V);
            rc = -1;
        }
    for (size_t t = 0; t < steps && rc == 0; t++)
        for (size_t j = 0; j < V && rc == 0; j++) {
            uint64_t c[3][2]; /* party p holds (x_p, x_{p+1}) */
            for (int p = 0; p < 3; p++)
                for (int k = 0; k < 2; k++) {
                    const uint8_t *b = raw[p] + ((t * 2 + (size_t)k) * V + j) * 8;
                    uint64_t v = 0;
                    for (int i = 7; i >= 0; i--)
                        v = v << 8 | b[i];
                    c[p][k] = v;
                }
            for (int p = 0; p < 3; p++)
                if (c[p][1] != c[(p + 1) % 3][0]) {
                    fprintf(stderr, "gpt2-check: step %zu: component x%d of party %d and party "
                            "%d differ\n", t, (p + 1) % 3, p, (p + 1) % 3);
                    rc = 1;
                }
            joined[t * V + j] = mimir_fixed_decode(c[0][0] + c[1][0] + c[2][0], f);
        }
    for (int p = 0; p < 3; p++)
        free(raw[p]);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 7)
        return usage("expected 3 or 6 arguments");
    mimir_err e;
    mimir_err_clear(&e);
    mimir_gpt2 *m = NULL;
    mimir_tokenizer *tok = NULL;
    if (mimir_gpt2_load(argv[1], &m, &e) != MIMIR_OK ||
        mimir_tokenizer_load(argv[1], &tok, &e) != MIMIR_OK)
        return fail_err(&e);
    int32_t *prompt = NULL, sec[MAX_IDS];
    size_t np = 0, n = parse_ids(argv[3], sec, MAX_IDS);
    if (mimir_tokenizer_encode(tok, argv[2], strlen(argv[2]), &prompt, &np, &e) != MIMIR_OK)
        return fail_err(&e);
    size_t V = (size_t)m->cfg.vocab_size;
    if (n == 0 || np == 0 || np + n - 1 > (size_t)m->cfg.n_ctx)
        return usage("expected a prompt and 1 or more secure token ids within the context");

    mimir_gpt2_ref *ref = NULL;
    mimir_gpt2_fixed *fx = NULL, *fx_tf = NULL;
    double *lf = calloc(V, sizeof *lf), *lx = calloc(V, sizeof *lx), *lt = calloc(V, sizeof *lt);
    double *sl = argc == 7 ? calloc(n * V, sizeof *sl) : NULL;
    if (mimir_gpt2_ref_new(m, &ref, &e) != MIMIR_OK ||
        mimir_gpt2_fixed_new(m, &fx, &e) != MIMIR_OK ||
        mimir_gpt2_fixed_new(m, &fx_tf, &e) != MIMIR_OK)
        return fail_err(&e);
    int bad = 0;
    if (sl != NULL) {
        int j = join_logits(argv + 4, n, V, (unsigned)m->cfg.frac_bits, sl);
        if (j < 0)
            return 2;
        bad |= j;
    }

    /* Fixed-point greedy generation: its own tokens, fed back. */
    int32_t fixed[MAX_IDS];
    for (size_t k = 0; k < np + n - 1; k++) {
        int32_t in = k < np ? prompt[k] : fixed[k - np];
        if (mimir_gpt2_fixed_step(fx, in, lx, NULL, &e) != MIMIR_OK)
            return fail_err(&e);
        if (k + 1 >= np)
            fixed[k + 1 - np] = mimir_gpt2_argmax(lx, V);
    }
    /* Float and fixed point teacher-forced on prompt + secure tokens. */
    size_t agree = 0, first_diff = n;
    double min_margin = INFINITY, diff_margin = NAN, max_float = 0, max_fixed = 0;
    for (size_t k = 0; k < np + n - 1; k++) {
        int32_t in = k < np ? prompt[k] : sec[k - np];
        if (in < 0 || (size_t)in >= V)
            return usage("a secure token id outside the vocabulary");
        if (mimir_gpt2_ref_step(ref, in, lf, &e) != MIMIR_OK ||
            mimir_gpt2_fixed_step(fx_tf, in, lt, NULL, &e) != MIMIR_OK)
            return fail_err(&e);
        if (k + 1 < np)
            continue;
        size_t t = k + 1 - np;
        double margin = top2_margin(lf, V);
        min_margin = margin < min_margin ? margin : min_margin;
        if (first_diff == n && sec[t] == fixed[t])
            agree++;
        else if (first_diff == n) {
            first_diff = t;
            diff_margin = margin;
        }
        for (size_t j = 0; sl != NULL && j < V; j++) {
            double s = sl[t * V + j];
            max_float = fmax(max_float, fabs(s - lf[j]));
            max_fixed = fmax(max_fixed, fabs(s - lt[j]));
        }
    }
    printf("agree %zu/%zu", agree, n);
    if (first_diff < n) {
        int ok = diff_margin < MARGIN_BOUND;
        printf(", first difference at token %zu (secure %d, fixed point %d): float top-2 margin "
               "%.4f %s %.2f", first_diff, (int)sec[first_diff], (int)fixed[first_diff],
               diff_margin, ok ? "<" : "NOT below", MARGIN_BOUND);
        bad |= !ok;
    }
    printf(", min float margin %.4f", min_margin);
    if (sl != NULL) {
        printf(", logits max |secure - float| %.2e (bound %.2f), |secure - fixed| %.2e (bound "
               "%.2f)", max_float, FLOAT_BOUND, max_fixed, LOGIT_BOUND);
        bad |= !(max_float <= FLOAT_BOUND) || !(max_fixed <= LOGIT_BOUND);
    }
    printf("%s\n", bad ? ": FAIL" : ": ok");
    free(lf);
    free(lx);
    free(lt);
    free(sl);
    free(prompt);
    mimir_gpt2_ref_free(ref);
    mimir_gpt2_fixed_free(fx);
    mimir_gpt2_fixed_free(fx_tf);
    mimir_tokenizer_free(tok);
    mimir_gpt2_free(m);
    return bad ? 1 : 0;
}
