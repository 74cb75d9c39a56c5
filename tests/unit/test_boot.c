/* test_boot — reading model shares at boot: plaintext files, bundle directories, sealed files
 * opened in memory with a key file, and every refusal (attest/boot.h). The key-broker path runs
 * in tests/cli (a broker process and mimir-party). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/boot.h"
#include "attest/seal.h"
#include "io.h"
#include "mem.h"
#include "sharefile.h"
#include "tap.h"

static char dir[] = "/tmp/mimir-test-boot-XXXXXX";

static void path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", dir, name);
}

/* Writes buf to file name in dir. */
static int put(const char *name, const uint8_t *buf, size_t len)
{
    char p[512];
    path(p, name);
    FILE *f = fopen(p, "wb");
    if (f == NULL)
        return -1;
    int ok = fwrite(buf, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Seals file `in` to file `out` with key. */
static int seal(const char *in, const char *out, const uint8_t *key)
{
    char pi[512], po[512];
    mimir_err err = {0};
    path(pi, in);
    path(po, out);
    FILE *fi = fopen(pi, "rb"), *fo = fopen(po, "wb");
    int rc = fi && fo ? mimir_seal_stream(fi, pi, fo, key, 100, &err) : -1;
    if (fi)
        fclose(fi);
    if (fo && fclose(fo) != 0)
        rc = -1;
    return rc;
}

int main(void)
{
    mimir_mem_init();
    if (mkdtemp(dir) == NULL)
        return 1;
    mimir_err err = {0};
    /* a model-kind share of party 1 with one tensor */
    mimir_share *s[3];
    const char *names[3] = {"b.p0", "b.p1", "b.p2"};
    mimir_rss_rng rng = mimir_rss_rng_system();
    CHECK(mimir_share_split_new(MIMIR_SHARE_MODEL, 64, 16, "{}", names, &rng, s, &err) == 0,
          "split_new");
    mimir_r64 v[300];
    for (int i = 0; i < 300; i++)
        v[i] = (mimir_r64)(i * 977);
    uint64_t shape[2] = {10, 30};
    CHECK(mimir_share_split_add(s, "wte", MIMIR_SHARE_F32, 2, shape, v, &rng, &err) == 0,
          "split_add");
    uint8_t *enc;
    size_t len;
    CHECK(mimir_share_encode(s[1], &enc, &len, &err) == 0, "encode");
    uint8_t want[32];
    memcpy(want, s[1]->digest, 32);
    char p[512], pb[512];
    mkdir((path(pb, "bundle"), pb), 0700);
    CHECK(put("plain.shares", enc, len) == 0 && put("bundle/model.shares", enc, len) == 0,
          "write plaintext shares");

    mimir_share *got = NULL;
    path(p, "plain.shares");
    CHECK(mimir_boot_read_shares(p, NULL, 1 << 20, &got, &err) == MIMIR_OK &&
              memcmp(got->digest, want, 32) == 0 && got->party == 1,
          "a plaintext share file reads as itself");
    mimir_share_free(got);
    CHECK(mimir_boot_read_shares(pb, NULL, 1 << 20, &got, &err) == MIMIR_OK &&
              memcmp(got->digest, want, 32) == 0,
          "a bundle directory: its model.shares");
    mimir_share_free(got);

    /* sealed */
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES), *other = mimir_key_alloc(32);
    mimir_seal_keygen(key, &err);
    mimir_seal_keygen(other, &err);
    char kf[512], of[512];
    path(kf, "k.hex");
    path(of, "other.hex");
    CHECK(mimir_seal_key_save(kf, key, &err) == 0 && mimir_seal_key_save(of, other, &err) == 0,
          "key files");
    CHECK(seal("plain.shares", "bundle/model.shares.sealed", key) == 0, "seal the shares");
    mimir_boot_key bk = {.key_file = kf};
    CHECK(mimir_boot_read_shares(pb, &bk, 1 << 20, &got, &err) == MIMIR_OK &&
              memcmp(got->digest, want, 32) == 0,
          "a bundle with model.shares.sealed opens in memory to the same shares");
    mimir_share_free(got);
    int rc = mimir_boot_read_shares(pb, NULL, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "sealed") && strcmp(err.field, "key") == 0,
          "sealed without a key source: exit 2 naming the key (%s)", err.msg);
    mimir_boot_key bad = {.key_file = of};
    rc = mimir_boot_read_shares(pb, &bad, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_ESECURITY && got == NULL, "a wrong key is a security failure (%s)",
          err.msg);
    char nf[512];
    path(nf, "no-such-key.hex");
    mimir_boot_key none = {.key_file = nf};
    rc = mimir_boot_read_shares(pb, &none, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_EINPUT && got == NULL && strstr(err.file, "no-such-key.hex") &&
              strstr(err.msg, "no such file"),
          "a missing key file is bad input naming it (%s)", err.msg);
    mimir_boot_key both = {.key_file = kf, .broker = "tcp:127.0.0.1:1", .broker_pin = "00"};
    rc = mimir_boot_read_shares(pb, &both, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "not both"), "two key sources refused (%s)",
          err.msg);
    mimir_boot_key nopin = {.broker = "tcp:127.0.0.1:1"};
    rc = mimir_boot_read_shares(pb, &nopin, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "pin"), "a broker without its pin refused");
    path(p, "plain.shares");
    rc = mimir_boot_read_shares(p, &bk, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "magic") == 0,
          "a plaintext file given a key source is refused (%s)", err.msg);
    rc = mimir_boot_read_shares(pb, &bk, 100, &got, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "limit"), "the size bound holds for sealed "
          "shares (%s)", err.msg);
    /* a flipped ciphertext byte */
    char ps[512];
    path(ps, "bundle/model.shares.sealed");
    uint8_t *sb;
    size_t sl;
    mimir_read_file(ps, 1 << 20, &sb, &sl, &err);
    sb[sl / 2] ^= 1;
    put("bundle/model.shares.sealed", sb, sl);
    free(sb);
    rc = mimir_boot_read_shares(pb, &bk, 1 << 20, &got, &err);
    CHECK(rc == MIMIR_ESECURITY && got == NULL, "a flipped sealed byte fails authentication");

    mimir_key_free(key);
    mimir_key_free(other);
    mimir_secret_free(enc);
    for (int i = 0; i < 3; i++)
        mimir_share_free(s[i]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return tap_done();
}
