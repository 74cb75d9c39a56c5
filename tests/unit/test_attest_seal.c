/* test_attest_seal — sealed bundles: round trips, every flipped byte and every truncation of a
 * small sealed buffer fail, wrong key fails, key files, streams versus memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "attest/seal.h"
#include "mem.h"
#include "tap.h"

/* Seals pt (n bytes) with chunk size chunk into a malloc'd buffer. */
static uint8_t *seal_buf(const uint8_t *pt, size_t n, const uint8_t *key, size_t chunk,
                         size_t *len)
{
    FILE *in = fmemopen((void *)pt, n ? n : 1, "rb"), *out = tmpfile();
    if (n == 0) { /* fmemopen refuses size 0: read past the single byte at once */
        fgetc(in);
    }
    mimir_err err = {0};
    mimir_err_clear(&err);
    int rc = mimir_seal_stream(in, "pt", out, key, chunk, &err);
    fclose(in);
    if (rc != MIMIR_OK) {
        fclose(out);
        return NULL;
    }
    *len = (size_t)ftell(out);
    uint8_t *buf = malloc(*len + 1);
    rewind(out);
    if (fread(buf, 1, *len, out) != *len) {
        free(buf);
        buf = NULL;
    }
    fclose(out);
    return buf;
}

static int open_code(const uint8_t *buf, size_t len, const uint8_t *key)
{
    mimir_err err = {0};
    mimir_err_clear(&err);
    uint8_t *pt = NULL;
    size_t n = 0;
    int rc = mimir_seal_open_mem(buf, len, "sealed", key, &pt, &n, &err);
    mimir_secret_free(pt);
    return rc;
}

int main(void)
{
    mimir_err err = {0};
    mimir_err_clear(&err);
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES), *key2 = mimir_key_alloc(32);
    CHECK(mimir_seal_keygen(key, &err) == MIMIR_OK && mimir_seal_keygen(key2, &err) == 0,
          "keygen");
    CHECK(sodium_memcmp(key, key2, 32) != 0, "two keys differ");

    /* Round trips: empty, shorter than a chunk, exactly two chunks, ragged. */
    size_t sizes[] = {0, 1, 100, 128, 129, 1000};
    uint8_t pt[1000];
    randombytes_buf(pt, sizeof pt);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = 0, n = 0;
        uint8_t *s = seal_buf(pt, sizes[i], key, 64, &len), *back = NULL;
        size_t chunks = sizes[i] / 64 + 1 - (sizes[i] && sizes[i] % 64 == 0);
        CHECK(s != NULL && len == MIMIR_SEAL_HEADER_BYTES + sizes[i] + 17 * chunks,
              "%zu bytes seal to %zu = header + %zu chunks", sizes[i], len, chunks);
        int rc = mimir_seal_open_mem(s, len, "s", key, &back, &n, &err);
        CHECK(rc == MIMIR_OK && n == sizes[i] && memcmp(back, pt, n) == 0,
              "%zu bytes: open_mem gives the plaintext back (rc %d)", sizes[i], rc);
        mimir_secret_free(back);
        FILE *in = fmemopen(s, len, "rb"), *out = tmpfile();
        rc = mimir_seal_open_stream(in, "s", out, key, &err);
        uint8_t got[1000];
        rewind(out);
        size_t g = fread(got, 1, sizeof got, out);
        CHECK(rc == MIMIR_OK && g == sizes[i] && memcmp(got, pt, g) == 0,
              "%zu bytes: open_stream gives the plaintext back", sizes[i]);
        fclose(in);
        fclose(out);
        CHECK(open_code(s, len, key2) == MIMIR_ESECURITY, "%zu bytes: wrong key is exit 1",
              sizes[i]);
        free(s);
    }

    /* Every flipped byte and every truncation of a three-chunk file fails. */
    size_t len = 0;
    uint8_t *s = seal_buf(pt, 150, key, 64, &len);
    size_t bad_flip = 0, bad_trunc = 0, flip_input = 0;
    for (size_t off = 0; off < len; off++)
        for (int bit = 0; bit < 8; bit += 3) {
            s[off] ^= (uint8_t)(1u << bit);
            int rc = open_code(s, len, key);
            s[off] ^= (uint8_t)(1u << bit);
            if (rc == MIMIR_EINPUT && off < MIMIR_SEAL_FIXED_BYTES)
                flip_input++;
            else if (rc != MIMIR_ESECURITY)
                bad_flip++;
        }
    CHECK(bad_flip == 0, "every flipped bit after the magic/version/chunk fields fails "
                         "authentication (exit 1); %zu did not", bad_flip);
    CHECK(flip_input > 0, "flips in the magic or version are malformed (exit 2): %zu",
          flip_input);
    for (size_t l = 0; l < len; l++) {
        int rc = open_code(s, l, key);
        if (!(rc == MIMIR_ESECURITY || (l < MIMIR_SEAL_HEADER_BYTES && rc == MIMIR_EINPUT)))
            bad_trunc++;
    }
    CHECK(bad_trunc == 0, "every truncation fails: exit 1, or exit 2 inside the header; %zu "
                          "did not", bad_trunc);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, s, len);
    longer[len] = 0;
    CHECK(open_code(longer, len + 1, key) == MIMIR_ESECURITY, "a byte after the final chunk "
                                                              "is exit 1");
    free(longer);
    free(s);

    /* Chunk size bounds. */
    FILE *in = fmemopen(pt, 10, "rb"), *out = tmpfile();
    CHECK(mimir_seal_stream(in, "pt", out, key, 8, &err) == MIMIR_EINPUT,
          "chunk size below the minimum is exit 2");
    fclose(in);
    fclose(out);

    /* Key files. */
    char path[] = "/tmp/test_attest_seal_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temporary key file");
    close(fd);
    CHECK(mimir_seal_key_save(path, key, &err) == MIMIR_OK, "key saved");
    CHECK(mimir_seal_key_load(path, key2, &err) == MIMIR_OK && sodium_memcmp(key, key2, 32) == 0,
          "key loads back equal");
    FILE *f = fopen(path, "w");
    fputs("00112233", f);
    fclose(f);
    CHECK(mimir_seal_key_load(path, key2, &err) == MIMIR_EINPUT &&
              strstr(err.msg, "64 hex digits") != NULL, "short key file is exit 2: %s", err.msg);
    f = fopen(path, "w");
    fputs("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", f);
    fclose(f);
    CHECK(mimir_seal_key_load(path, key2, &err) == MIMIR_EINPUT, "non-hex key file is exit 2");
    remove(path);

    mimir_key_free(key);
    mimir_key_free(key2);
    return tap_done();
}
