/*
 * test_gpt2.c — the fixed-point approximations against libm, and the float and fixed-point
 * GPT-2 forward passes on a small random model written by the test itself.
 *
 * The bounds checked here are the ones docs/numerics.md states; the measured values are
 * printed as TAP comments so the document can quote them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "approx.h"
#include "gpt2_fixed.h"
#include "gpt2_ref.h"
#include "mem.h"
#include "model.h"
#include "safetensors.h"
#include "tap.h"

#define FB 16 /* the default fractional bits */
#define FF MIMIR_APPROX_FRAC_BITS

static double dec(mimir_r64 v, unsigned f)
{
    return mimir_fixed_decode(v, f);
}

static mimir_r64 enc(double x, unsigned f)
{
    mimir_r64 v = 0;
    mimir_fixed_encode(x, f, &v, NULL);
    return v;
}

static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

static void test_exp(void)
{
    double in = 0, all = 0, zero_below = 1;
    for (int i = 0; i <= 200000; i++) {
        double x = -20.0 + 20.0 * i / 200000;
        mimir_r64 ex = enc(x, FB);
        double want = exp(dec(ex, FB)), got = dec(mimir_approx_exp(ex, FB), FF);
        double e = fabs(got - want);
        if (x >= MIMIR_APPROX_EXP_LO && e > in)
            in = e;
        if (e > all)
            all = e;
        if (x < MIMIR_APPROX_EXP_LO && got != 0)
            zero_below = 0;
    }
    printf("# exp: max abs error %.3e on [-16, 0], %.3e on [-20, 0]\n", in, all);
    CHECK(in < 2e-5, "exp: max abs error on [-16, 0] is %.3e, expected < 2e-5", in);
    CHECK(all < 2e-5, "exp: max abs error on [-20, 0] is %.3e, expected < 2e-5", all);
    CHECK(zero_below, "exp: inputs below -16 give exactly 0");
    CHECK(dec(mimir_approx_exp(0, FB), FF) > 0.999, "exp(0) is about 1");
}

static void test_recip(void)
{
    double worst = 0;
    for (int i = 0; i <= 100000; i++) {
        double x = pow(2.0, 11.0 * i / 100000); // [1, 2048]
        mimir_r64 v = enc(x, FF);
        double got = dec(mimir_approx_recip(v, 12), FF), want = 1.0 / dec(v, FF);
        double e = fabs(got - want) / want;
        worst = e > worst ? e : worst;
    }
    printf("# recip: max relative error %.3e on [1, 2^11] (log2_max 12)\n", worst);
    CHECK(worst < 2e-4, "recip: max relative error on [1, 2^11] is %.3e, expected < 2e-4",
          worst);
}

static void test_rsqrt(void)
{
    double worst = 0, worst_mid = 0;
    for (int i = 0; i <= 100000; i++) {
        double lg = -17.0 + 41.0 * i / 100000; // [2^-17, 2^24]
        mimir_r64 v = enc(pow(2.0, lg), FF);
        double got = dec(mimir_approx_rsqrt(v, -17, MIMIR_APPROX_RSQRT_LOG2_MAX), FF);
        double want = 1.0 / sqrt(dec(v, FF)), e = fabs(got - want) / want;
        worst = e > worst ? e : worst;
        if (lg >= -8 && lg <= 16 && e > worst_mid)
            worst_mid = e;
    }
    printf("# rsqrt: max relative error %.3e on [2^-17, 2^24], %.3e on [2^-8, 2^16]\n", worst,
           worst_mid);
    CHECK(worst_mid < 2e-5, "rsqrt: max relative error on [2^-8, 2^16] is %.3e, expected < 2e-5",
          worst_mid);
    CHECK(worst < 1e-3, "rsqrt: max relative error on [2^-17, 2^24] is %.3e, expected < 1e-3",
          worst);
}

static void test_gelu(void)
{
    double worst = 0;
    for (int i = 0; i <= 200000; i++) {
        double x = -10.0 + 20.0 * i / 200000;
        mimir_r64 v = enc(x, FB);
        double e = fabs(dec(mimir_approx_gelu(v, FB), FB) - gelu_ref(dec(v, FB)));
        worst = e > worst ? e : worst;
    }
    printf("# gelu: max abs error %.3e on [-10, 10]\n", worst);
    CHECK(worst < 8e-5, "gelu: max abs error on [-10, 10] is %.3e, expected < 8e-5", worst);
    CHECK(dec(mimir_approx_gelu(enc(100, FB), FB), FB) == 100.0, "gelu(100) = 100 exactly");
    CHECK(mimir_approx_gelu(enc(-100, FB), FB) == 0, "gelu(-100) = 0 exactly");
}

static void test_compare(void)
{
    CHECK(mimir_approx_lt(enc(-1, FB), enc(2, FB)) == 1, "lt(-1, 2) = 1");
    CHECK(mimir_approx_lt(enc(2, FB), enc(-1, FB)) == 0, "lt(2, -1) = 0");
    CHECK(mimir_approx_lt(enc(2, FB), enc(2, FB)) == 0, "lt(2, 2) = 0");
    CHECK(mimir_approx_select(1, 7, 9) == 7 && mimir_approx_select(0, 7, 9) == 9, "select");
}

/* ---- a random model written by the test ---- */

#define TC 32
#define TV 40
#define TCTX 24
#define TL 2

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double gauss(void)
{
    double u = 0; // Irwin-Hall: sum of 12 uniforms minus 6
    for (int i = 0; i < 12; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        u += (double)(rng >> 11) / 9007199254740992.0;
    }
    return u - 6.0;
}

static int write_model(const char *dir)
{
    mimir_gpt2_config cfg = {.n_layer = TL, .n_head = 4, .n_embd = TC, .vocab_size = TV,
                             .n_ctx = TCTX};
    size_t nt = mimir_gpt2_tensor_count(&cfg);
    mimir_st_out *t = calloc(nt, sizeof *t);
    char (*names)[64] = calloc(nt, sizeof *names);
    float **data = calloc(nt, sizeof *data);
    for (size_t i = 0; i < nt; i++) {
        int nd;
        uint64_t sh[2];
        mimir_gpt2_tensor_info(&cfg, i, names[i], sizeof names[i], &nd, sh);
        size_t n = nd == 2 ? sh[0] * sh[1] : sh[0];
        int is_w = strstr(names[i], ".weight") != NULL, is_ln = strstr(names[i], "ln_") != NULL;
        double std = nd == 2 ? 1.0 / sqrt((double)sh[0]) : 0.1, mean = is_w && is_ln ? 1 : 0;
        if (i <= 1)
            std = i == 0 ? 0.1 : 0.5;
        data[i] = malloc(n * sizeof(float));
        for (size_t k = 0; k < n; k++)
            data[i][k] = (float)(mean + std * gauss());
        t[i].name = names[i], t[i].ndim = nd, t[i].data = data[i];
        t[i].shape[0] = sh[0], t[i].shape[1] = sh[1];
    }
    char path[512];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fprintf(fp, "{\"n_layer\": %d, \"n_head\": 4, \"n_embd\": %d, \"vocab_size\": %d, "
            "\"n_positions\": %d}\n", TL, TC, TV, TCTX);
    fclose(fp);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mimir_err err = {0};
    int rc = mimir_st_write_f32(path, t, nt, &err);
    for (size_t i = 0; i < nt; i++)
        free(data[i]);
    free(data), free(names), free(t);
    return rc;
}

static void test_models(void)
{
    const char *dir = "tests/tmp/test_gpt2_model";
    mimir_err err = {0};
    mimir_gpt2 *m = NULL;
    if (!CHECK(write_model(dir) == 0, "wrote a random model to %s", dir) ||
        !CHECK(mimir_gpt2_load(dir, &m, &err) == 0, "loaded it: %s", err.msg))
        return;
    mimir_gpt2_ref *r = NULL;
    mimir_gpt2_fixed *g = NULL;
    CHECK(mimir_gpt2_ref_new(m, &r, &err) == 0, "float context");
    CHECK(mimir_gpt2_fixed_new(m, &g, &err) == 0, "fixed-point context");
    if (r == NULL || g == NULL)
        return;
    static double lf[TCTX][TV], lx[TV], again[TV];
    static mimir_r64 raw[TV];
    int32_t tok = 3, agree = 1, ok = 1;
    double worst = 0, span = 0;
    for (int p = 0; p < TCTX && ok; p++) {
        ok = mimir_gpt2_ref_step(r, tok, lf[p], &err) == 0 &&
             mimir_gpt2_fixed_step(g, tok, lx, raw, &err) == 0;
        for (int v = 0; v < TV; v++) {
            double e = fabs(lf[p][v] - lx[v]);
            worst = e > worst ? e : worst;
            span = fabs(lf[p][v]) > span ? fabs(lf[p][v]) : span;
        }
        agree &= mimir_gpt2_argmax(lf[p], TV) == mimir_gpt2_argmax(lx, TV);
        agree &= lx[0] == mimir_fixed_decode(raw[0], FB);
        tok = mimir_gpt2_argmax(lf[p], TV);
    }
    if (!CHECK(ok, "evaluated %d positions with both paths", TCTX))
        return;
    printf("# random model: fixed vs float max abs logit error %.3e (logits up to %.2f)\n",
           worst, span);
    CHECK(worst < 0.01, "fixed-point logits within 0.01 of float, got %.3e", worst);
    CHECK(agree, "greedy tokens agree at every position, raw logits decode to the doubles");
    CHECK(mimir_gpt2_ref_pos(r) == TCTX && mimir_gpt2_fixed_pos(g) == TCTX, "positions");
    CHECK(mimir_gpt2_ref_step(r, 0, again, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "position") == 0,
          "a step past n_ctx is MIMIR_EINPUT on field position");
    CHECK(mimir_gpt2_fixed_step(g, 0, again, NULL, &err) == MIMIR_EINPUT, "fixed too");
    // KV cache: a fresh start replays the same logits (no state leaks across reset)
    mimir_gpt2_ref_reset(r);
    CHECK(mimir_gpt2_ref_step(r, 3, again, &err) == 0 && memcmp(again, lf[0], sizeof again) == 0,
          "reset replays position 0 bit for bit");
    CHECK(mimir_gpt2_ref_step(r, TV, again, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "token") == 0,
          "token id %d is MIMIR_EINPUT on field token", TV);
    CHECK(mimir_gpt2_ref_step(r, -1, again, &err) == MIMIR_EINPUT, "token -1 is refused");
    mimir_gpt2_ref_free(r);
    mimir_gpt2_fixed_free(g);

    // frac_bits beyond the approximations' precision is refused
    m->cfg.frac_bits = FF + 1;
    g = NULL;
    CHECK(mimir_gpt2_fixed_new(m, &g, &err) == MIMIR_EINPUT && g == NULL &&
              strcmp(err.field, "mimir_frac_bits") == 0,
          "frac_bits %d is refused: %s", FF + 1, err.msg);
    mimir_gpt2_free(m);
    mimir_gpt2_ref_free(NULL);
    mimir_gpt2_fixed_free(NULL);
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 1;
    test_compare();
    test_exp();
    test_recip();
    test_rsqrt();
    test_gelu();
    test_models();
    return tap_done();
}
