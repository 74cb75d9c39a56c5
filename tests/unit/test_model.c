/* test_model.c — safetensors reader and GPT-2 loader: round trips and every malformed input. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "model.h"
#include "safetensors.h"
#include "tap.h"

static char dir[256];

static const char *cfg_json = "{\"model_type\":\"gpt2\",\"n_layer\":2,\"n_head\":2,\"n_embd\":4,"
                              "\"vocab_size\":5,\"n_positions\":3,\"layer_norm_epsilon\":1e-5,"
                              "\"activation_function\":\"gelu_new\"}";

/* Writes a model of the config above; bad_tensor >= 0 gets one extra row (a wrong shape). */
static int write_model(const char *d, int bad_tensor, const char *extra_name)
{
    mimir_gpt2_config cfg;
    mimir_err err = {0};
    char path[512];
    if (mimir_gpt2_config_parse("cfg", cfg_json, strlen(cfg_json), &cfg, &err) != 0)
        return -1;
    mkdir(d, 0755);
    snprintf(path, sizeof path, "%s/config.json", d);
    if (mimir_write_file(path, cfg_json, strlen(cfg_json), &err) != 0)
        return -1;
    size_t nt = mimir_gpt2_tensor_count(&cfg);
    mimir_st_out t[64];
    static char names[64][64];
    static float data[64][4096];
    for (size_t i = 0; i < nt; i++) {
        mimir_gpt2_tensor_info(&cfg, i, names[i], sizeof names[i], &t[i].ndim, t[i].shape);
        if ((int)i == bad_tensor)
            t[i].shape[0]++;
        t[i].name = names[i];
        t[i].data = data[i];
        for (int k = 0; k < 4096; k++)
            data[i][k] = (float)((int)i * 0.5 + k * 0.001);
    }
    size_t n = nt;
    if (extra_name != NULL) {
        t[n] = (mimir_st_out){.name = extra_name, .ndim = 1, .shape = {2}, .data = data[0]};
        n++;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", d);
    return mimir_st_write_f32(path, t, n, &err);
}

static int load_err(const char *d, mimir_err *err)
{
    mimir_gpt2 *m = NULL;
    int rc = mimir_gpt2_load(d, &m, err);
    mimir_gpt2_free(m);
    return rc;
}

static void write_raw(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    fwrite(p, 1, n, fp);
    fclose(fp);
}

static void test_roundtrip(void)
{
    char d[300];
    snprintf(d, sizeof d, "%s/good", dir);
    CHECK(write_model(d, -1, NULL) == 0, "write a 2-layer test model");
    mimir_gpt2 *m = NULL;
    mimir_err err = {0};
    int rc = mimir_gpt2_load(d, &m, &err);
    CHECK(rc == 0, "load the test model (rc %d: %s)", rc, err.msg);
    if (rc != 0)
        return;
    CHECK(m->cfg.n_layer == 2 && m->cfg.n_embd == 4 && m->cfg.vocab_size == 5 &&
              m->cfg.n_ctx == 3 && m->cfg.frac_bits == 16,
          "config fields parsed, frac_bits defaults to 16");
    /* per layer: ln 2*(4+4), attn 4*12+12, proj 4*4+4, fc 4*16+16, fcproj 16*4+4 = 244 */
    CHECK(m->n_params == 5 * 4 + 3 * 4 + 2 * 244 + 8,
          "parameter count %zu", m->n_params);
    CHECK(m->wte[0] == 0.0f && m->wte[1] == 0.001f, "wte values");
    CHECK(m->layers[1].attn_w[3] == (float)((2 + 12 + 2) * 0.5 + 3 * 0.001),
          "h.1.attn.c_attn.weight values land in layers[1].attn_w");
    CHECK(m->ln_f_b[1] == (float)(27 * 0.5 + 0.001), "ln_f.bias is the last tensor");
    mimir_gpt2_free(m);
    mimir_gpt2_free(NULL);
}

static void test_bad_models(void)
{
    char d[300];
    mimir_err err = {0};
    snprintf(d, sizeof d, "%s/badshape", dir);
    write_model(d, 4, NULL);
    int rc = load_err(d, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "tensor h.0.attn.c_attn.weight") == 0 &&
              strstr(err.msg, "shape [5,12], expected [4,12]") != NULL,
          "wrong shape names the tensor, its shape and the expected shape (%s: %s)", err.field,
          err.msg);
    snprintf(d, sizeof d, "%s/extra", dir);
    write_model(d, -1, "h.7.mlp.c_fc.weight");
    rc = load_err(d, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.field, "h.7.mlp.c_fc.weight") != NULL,
          "unexpected tensor is refused (%s)", err.msg);
    snprintf(d, sizeof d, "%s/ignorable", dir);
    write_model(d, -1, "h.0.attn.bias");
    CHECK(load_err(d, &err) == 0, "attention mask buffer h.0.attn.bias is ignored");
    snprintf(d, sizeof d, "%s/nonexistent", dir);
    rc = load_err(d, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.file, "config.json") != NULL,
          "missing config.json is bad input naming the file");
}

static void test_bad_config(void)
{
    struct {
        const char *json, *field;
    } cases[] = {
        {"{\"n_layer\":2}", "n_head"},
        {"{\"n_layer\":0,\"n_head\":1,\"n_embd\":4,\"vocab_size\":5,\"n_positions\":3}", "n_layer"},
        {"{\"n_layer\":1,\"n_head\":3,\"n_embd\":4,\"vocab_size\":5,\"n_positions\":3}", "n_embd"},
        {"{\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"vocab_size\":5,\"n_ctx\":3,"
         "\"activation_function\":\"relu\"}",
         "activation_function"},
        {"{\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"vocab_size\":5,\"n_ctx\":3,"
         "\"mimir_frac_bits\":64}",
         "mimir_frac_bits"},
        {"{\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"vocab_size\":5,\"n_ctx\":3,"
         "\"model_type\":\"llama\"}",
         "model_type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mimir_gpt2_config cfg;
        mimir_err err = {0};
        int rc = mimir_gpt2_config_parse("config.json", cases[i].json, strlen(cases[i].json), &cfg,
                                         &err);
        CHECK(rc == MIMIR_EINPUT && strcmp(err.field, cases[i].field) == 0,
              "config case %zu fails on field %s (got %s: %s)", i, cases[i].field, err.field,
              err.msg);
    }
}

static void test_bad_safetensors(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/x.safetensors", dir);
    struct {
        const char *hdr, *what;
        size_t data;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "ok", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "data_offsets", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "data", 12},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", "past", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "overlap", 8},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", "unknown dtype", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
         "overflows", 8},
        {"[1,2]", "expected a JSON object", 0},
        {"{\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         "ok2", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
         "ok2", 8},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{}}", "invalid JSON",
         8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[512] = {0};
        size_t h = strlen(cases[i].hdr);
        for (int k = 0; k < 8; k++)
            buf[k] = (uint8_t)(h >> (8 * k));
        memcpy(buf + 8, cases[i].hdr, h);
        write_raw(p, buf, 8 + h + cases[i].data);
        mimir_st *st = NULL;
        mimir_err err = {0};
        int rc = mimir_st_open(p, 1 << 20, &st, &err);
        if (strcmp(cases[i].what, "ok2") == 0)
            CHECK(rc == 0 && st->n == 2,
                  "a zero-size tensor at another's start is accepted in either key order (%s)",
                  err.msg);
        else if (strcmp(cases[i].what, "ok") == 0)
            CHECK(rc == 0 && st->n == 1 && st->t[0].numel == 2, "valid safetensors parses");
        else
            CHECK(rc == MIMIR_EINPUT && st == NULL &&
                      (strstr(err.msg, cases[i].what) || strstr(err.field, cases[i].what)),
                  "safetensors case %zu rejected with \"%s\" (got %s: %s)", i, cases[i].what,
                  err.field, err.msg);
        mimir_st_free(st);
    }
    uint8_t small[5] = {1, 2, 3, 4, 5};
    write_raw(p, small, sizeof small);
    mimir_st *st = NULL;
    mimir_err err = {0};
    CHECK(mimir_st_open(p, 1 << 20, &st, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "header length") == 0,
          "a 5-byte file is truncated");
    uint8_t big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    write_raw(p, big, sizeof big);
    CHECK(mimir_st_open(p, 1 << 20, &st, &err) == MIMIR_EINPUT &&
              strcmp(err.field, "header length") == 0,
          "a header length past the file is refused");
    CHECK(mimir_st_open(p, 8, &st, &err) == MIMIR_EINPUT && strstr(err.msg, "limit"),
          "a file over the size limit is refused");
}

int main(void)
{
    snprintf(dir, sizeof dir, "tests/tmp/test_model.XXXXXX");
    mkdir("tests/tmp", 0755);
    if (mkdtemp(dir) == NULL)
        return 2;
    test_roundtrip();
    test_bad_models();
    test_bad_config();
    test_bad_safetensors();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 2;
    return tap_done();
}
