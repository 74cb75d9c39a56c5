/* attest/seal.c — sealed share bundles (libsodium secretstream); see seal.h. */
#include "attest/seal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "io.h"
#include "mem.h"

_Static_assert(MIMIR_SEAL_KEY_BYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key");
_Static_assert(MIMIR_SEAL_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "abytes");
_Static_assert(MIMIR_SEAL_HEADER_BYTES - MIMIR_SEAL_FIXED_BYTES ==
                   crypto_secretstream_xchacha20poly1305_HEADERBYTES, "header");

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int mimir_seal_keygen(uint8_t *key, mimir_err *err)
{
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "cannot initialise libsodium");
    crypto_secretstream_xchacha20poly1305_keygen(key);
    return MIMIR_OK;
}

int mimir_seal_key_load(const char *path, uint8_t *key, mimir_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    const char *end = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) /* a usage error, not an I/O failure */
        return mimir_err_set(err, MIMIR_EINPUT, path, "key",
                             "no such file, expected a key file (mimir-attest seal --key-out)");
    int rc = mimir_read_file(path, 4 * MIMIR_SEAL_KEYFILE_BYTES, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    size_t l = len;
    if (l > 0 && buf[l - 1] == '\n')
        l--;
    if (l != 2 * MIMIR_SEAL_KEY_BYTES ||
        sodium_hex2bin(key, MIMIR_SEAL_KEY_BYTES, (const char *)buf, l, NULL, &n, &end) != 0 ||
        n != MIMIR_SEAL_KEY_BYTES || end != (const char *)buf + l)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "key",
                           "not a seal key, expected 64 hex digits and a newline");
    mimir_wipe(buf, len);
    free(buf);
    if (rc != MIMIR_OK)
        mimir_wipe(key, MIMIR_SEAL_KEY_BYTES);
    return rc;
}

int mimir_seal_key_save(const char *path, const uint8_t *key, mimir_err *err)
{
    char *hex = mimir_secret_alloc(MIMIR_SEAL_KEYFILE_BYTES + 1);
    if (hex == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    sodium_bin2hex(hex, 2 * MIMIR_SEAL_KEY_BYTES + 1, key, MIMIR_SEAL_KEY_BYTES);
    hex[2 * MIMIR_SEAL_KEY_BYTES] = '\n';
    mimir_out out = {0};
    int rc = mimir_out_open(&out, path, err);
    if (rc == MIMIR_OK && out.tmp != NULL && fchmod(fileno(out.fp), 0600) != 0)
        rc = mimir_err_errno(err, path, "chmod");
    if (rc == MIMIR_OK)
        rc = mimir_out_write(&out, hex, MIMIR_SEAL_KEYFILE_BYTES, err);
    if (rc == MIMIR_OK)
        rc = mimir_out_commit(&out, err);
    else
        mimir_out_abort(&out);
    mimir_secret_free(hex);
    return rc;
}

int mimir_seal_stream(FILE *in, const char *name, FILE *out, const uint8_t *key, size_t chunk,
                      mimir_err *err)
{
    if (chunk == 0)
        chunk = MIMIR_SEAL_CHUNK;
    if (chunk < MIMIR_SEAL_MIN_CHUNK || chunk > MIMIR_SEAL_MAX_CHUNK)
        return mimir_err_set(err, MIMIR_EINPUT, name, "chunk size",
                             "%zu is out of range, expected %d to %d bytes", chunk,
                             MIMIR_SEAL_MIN_CHUNK, MIMIR_SEAL_MAX_CHUNK);
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "cannot initialise libsodium");
    uint8_t hdr[MIMIR_SEAL_HEADER_BYTES];
    memcpy(hdr, MIMIR_SEAL_MAGIC, MIMIR_SEAL_MAGIC_BYTES);
    put32(hdr + 8, MIMIR_SEAL_VERSION);
    put32(hdr + 12, (uint32_t)chunk);
    crypto_secretstream_xchacha20poly1305_state *st = mimir_key_alloc(sizeof *st);
    uint8_t *pt = mimir_secret_alloc(chunk);
    uint8_t *ct = malloc(chunk + MIMIR_SEAL_ABYTES);
    int rc = MIMIR_OK;
    if (st == NULL || pt == NULL || ct == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
        goto done;
    }
    crypto_secretstream_xchacha20poly1305_init_push(st, hdr + MIMIR_SEAL_FIXED_BYTES, key);
    if (fwrite(hdr, 1, sizeof hdr, out) != sizeof hdr) {
        rc = mimir_err_errno(err, "output", "write");
        goto done;
    }
    for (;;) {
        size_t n = fread(pt, 1, chunk, in);
        if (ferror(in)) {
            rc = mimir_err_errno(err, name, "read");
            goto done;
        }
        int last = n < chunk || feof(in);
        if (!last) { /* peek so a file of whole chunks does not end with an empty chunk */
            int c = fgetc(in);
            if (c == EOF) {
                if (ferror(in)) {
                    rc = mimir_err_errno(err, name, "read");
                    goto done;
                }
                last = 1;
            } else {
                ungetc(c, in);
            }
        }
        unsigned long long clen = 0;
        crypto_secretstream_xchacha20poly1305_push(
            st, ct, &clen, pt, n, hdr, MIMIR_SEAL_FIXED_BYTES,
            last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
        if (fwrite(ct, 1, (size_t)clen, out) != (size_t)clen) {
            rc = mimir_err_errno(err, "output", "write");
            goto done;
        }
        if (last)
            break;
    }
done:
    mimir_key_free(st);
    mimir_secret_free(pt);
    free(ct);
    return rc;
}

/* A source of sealed bytes: a stream or a buffer. */
typedef struct src {
    FILE *fp;
    const uint8_t *buf;
    size_t len, pos;
} src;

static size_t src_read(src *s, uint8_t *p, size_t n)
{
    if (s->fp != NULL)
        return fread(p, 1, n, s->fp);
    size_t k = s->len - s->pos < n ? s->len - s->pos : n;
    memcpy(p, s->buf + s->pos, k);
    s->pos += k;
    return k;
}

static int src_error(src *s)
{
    return s->fp != NULL && ferror(s->fp);
}

/* A sink for plaintext: a stream or a secret buffer with room for all of it. */
typedef struct sink {
    FILE *fp;
    uint8_t *buf;
    size_t len;
} sink;

static int open_core(src *s, const char *name, sink *o, const uint8_t *key, mimir_err *err)
{
    uint8_t hdr[MIMIR_SEAL_HEADER_BYTES];
    size_t n = src_read(s, hdr, sizeof hdr);
    if (src_error(s))
        return mimir_err_errno(err, name, "read");
    if (n < sizeof hdr)
        return mimir_err_set(err, MIMIR_EINPUT, name, "header",
                             "file has %zu bytes, expected a sealed file of at least %d", n,
                             MIMIR_SEAL_HEADER_BYTES + MIMIR_SEAL_ABYTES);
    if (memcmp(hdr, MIMIR_SEAL_MAGIC, MIMIR_SEAL_MAGIC_BYTES) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "magic",
                             "not a sealed file, expected magic " MIMIR_SEAL_MAGIC
                             " (made by mimir-attest seal)");
    uint32_t ver = get32(hdr + 8), chunk = get32(hdr + 12);
    if (ver != MIMIR_SEAL_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, name, "version",
                             "unsupported version %u, expected %d", ver, MIMIR_SEAL_VERSION);
    if (chunk < MIMIR_SEAL_MIN_CHUNK || chunk > MIMIR_SEAL_MAX_CHUNK)
        return mimir_err_set(err, MIMIR_EINPUT, name, "chunk size",
                             "%u is out of range, expected %d to %d", chunk,
                             MIMIR_SEAL_MIN_CHUNK, MIMIR_SEAL_MAX_CHUNK);
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "cannot initialise libsodium");
    crypto_secretstream_xchacha20poly1305_state *st = mimir_key_alloc(sizeof *st);
    uint8_t *pt = o->fp != NULL ? mimir_secret_alloc(chunk) : NULL;
    uint8_t *ct = malloc((size_t)chunk + MIMIR_SEAL_ABYTES);
    int rc = MIMIR_OK;
    if (st == NULL || ct == NULL || (o->fp != NULL && pt == NULL)) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
        goto done;
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(st, hdr + MIMIR_SEAL_FIXED_BYTES, key)
        != 0) {
        rc = mimir_err_set(err, MIMIR_ESECURITY, name, "header",
                           "authentication failed: invalid stream header");
        goto done;
    }
    for (size_t idx = 0;; idx++) {
        size_t want = (size_t)chunk + MIMIR_SEAL_ABYTES;
        n = src_read(s, ct, want);
        if (src_error(s)) {
            rc = mimir_err_errno(err, name, "read");
            goto done;
        }
        if (n < MIMIR_SEAL_ABYTES) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, name, "chunk",
                               "truncated: chunk %zu is missing, expected a final chunk", idx);
            goto done;
        }
        uint8_t *dst = o->fp != NULL ? pt : o->buf + o->len;
        unsigned long long plen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(st, dst, &plen, &tag, ct, n, hdr,
                                                       MIMIR_SEAL_FIXED_BYTES) != 0) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, name, "chunk",
                               "authentication failed at chunk %zu (wrong key, modified or "
                               "truncated file), expected a chunk sealed with this key", idx);
            goto done;
        }
        if (o->fp != NULL) {
            if (fwrite(pt, 1, (size_t)plen, o->fp) != (size_t)plen) {
                rc = mimir_err_errno(err, "output", "write");
                goto done;
            }
        } else {
            o->len += (size_t)plen;
        }
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
            uint8_t extra;
            if (src_read(s, &extra, 1) != 0) {
                rc = mimir_err_set(err, MIMIR_ESECURITY, name, "chunk",
                                   "data after the final chunk %zu, expected the end of file",
                                   idx);
                goto done;
            }
            break;
        }
        if (tag != 0 || n < want) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, name, "chunk",
                               "truncated: chunk %zu is not final but the file ends or the tag "
                               "is unexpected, expected a final chunk", idx);
            goto done;
        }
    }
done:
    mimir_key_free(st);
    mimir_secret_free(pt);
    free(ct);
    return rc;
}

int mimir_seal_open_stream(FILE *in, const char *name, FILE *out, const uint8_t *key,
                           mimir_err *err)
{
    src s = {in, NULL, 0, 0};
    sink o = {out, NULL, 0};
    return open_core(&s, name, &o, key, err);
}

int mimir_seal_open_mem(const uint8_t *buf, size_t len, const char *name, const uint8_t *key,
                        uint8_t **plain, size_t *plen, mimir_err *err)
{
    *plain = NULL;
    *plen = 0;
    src s = {NULL, buf, len, 0};
    /* The plaintext is shorter than the ciphertext; +1 so an empty one still allocates. */
    sink o = {NULL, mimir_secret_alloc(len + 1), 0};
    if (o.buf == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, NULL, "out of memory");
    int rc = open_core(&s, name, &o, key, err);
    if (rc != MIMIR_OK) {
        mimir_secret_free(o.buf);
        return rc;
    }
    *plain = o.buf;
    *plen = o.len;
    return MIMIR_OK;
}
