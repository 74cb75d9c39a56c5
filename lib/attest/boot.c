/*
 * attest/boot.c — reading a party's model shares at boot, opening sealed bundles in memory.
 * See attest/boot.h.
 */
#include "attest/boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/broker.h"
#include "attest/seal.h"
#include "io.h"
#include "mem.h"

#define PATH_BYTES 4096

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The file to read: path itself, or in a bundle directory the sealed file if present. */
static int resolve(const char *path, char *out, mimir_err *err)
{
    int n;
    if (!is_dir(path))
        n = snprintf(out, PATH_BYTES, "%s", path);
    else {
        n = snprintf(out, PATH_BYTES, "%s/%s", path, MIMIR_BOOT_SEALED_FILE);
        if (n > 0 && n < PATH_BYTES && !exists(out))
            n = snprintf(out, PATH_BYTES, "%s/%s", path, MIMIR_SHARE_BUNDLE_FILE);
    }
    if (n < 0 || n >= PATH_BYTES)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "path too long");
    return MIMIR_OK;
}

/* The key of a sealed file from the one key source k names, into key (key memory). */
static int fetch_key(const char *name, const mimir_boot_key *k, uint8_t *key, mimir_err *err)
{
    int sources = (k != NULL && k->key_file != NULL) + (k != NULL && k->broker != NULL);
    if (sources != 1)
        return mimir_err_set(err, MIMIR_EINPUT, name, "key",
                             sources == 0 ? "the shares are sealed: give a key file or a key "
                                            "broker to open them"
                                          : "give one key source, a key file or a key broker, "
                                            "not both");
    if (k->key_file != NULL)
        return mimir_seal_key_load(k->key_file, key, err);
    if (k->broker_pin == NULL || k->cert == NULL || k->key == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, "key broker",
                             "a key broker needs its pin and this party's certificate and key");
    return mimir_broker_fetch(k->broker, k->cert, k->key, k->broker_pin, key, err);
}

int mimir_boot_read_shares(const char *path, const mimir_boot_key *k, size_t max,
                           mimir_share **out, mimir_err *err)
{
    char file[PATH_BYTES];
    *out = NULL;
    int rc = resolve(path, file, err);
    if (rc != MIMIR_OK)
        return rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* a sealed file adds its header and 17 bytes per chunk; the smallest chunk bounds it */
    size_t cap = max + MIMIR_SEAL_HEADER_BYTES + (max / MIMIR_SEAL_MIN_CHUNK + 1) *
                 MIMIR_SEAL_ABYTES;
    rc = mimir_read_file(file, cap, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    int sealed = len >= MIMIR_SEAL_MAGIC_BYTES &&
                 memcmp(buf, MIMIR_SEAL_MAGIC, MIMIR_SEAL_MAGIC_BYTES) == 0;
    if (!sealed) {
        if (k != NULL && (k->key_file != NULL || k->broker != NULL))
            rc = mimir_err_set(err, MIMIR_EINPUT, file, "magic",
                               "not a sealed file, but a key source was given (expected "
                               "shares sealed with mimir-attest seal)");
        else if (len > max)
            rc = mimir_err_set(err, MIMIR_EINPUT, file, NULL,
                               "larger than the limit of %zu bytes", max);
        else
            rc = mimir_share_parse(file, buf, len, out, err);
        mimir_wipe(buf, len);
        free(buf);
        return rc;
    }
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    uint8_t *plain = NULL;
    size_t plen = 0;
    if (key == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, file, NULL, "out of memory");
    else
        rc = fetch_key(file, k, key, err);
    if (rc == MIMIR_OK)
        rc = mimir_seal_open_mem(buf, len, file, key, &plain, &plen, err);
    mimir_key_free(key); /* wiped: the key is not needed once the plaintext is out */
    free(buf);           /* ciphertext: nothing secret */
    if (rc == MIMIR_OK && plen > max)
        rc = mimir_err_set(err, MIMIR_EINPUT, file, NULL,
                           "opened shares larger than the limit of %zu bytes", max);
    if (rc == MIMIR_OK)
        rc = mimir_share_parse(file, plain, plen, out, err);
    if (plain != NULL)
        mimir_secret_free(plain);
    return rc;
}
