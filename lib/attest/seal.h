/*
 * attest/seal.h — sealed share bundles: a party's share file encrypted at rest.
 *
 * A sealed file is the plaintext (normally a bundle's model.shares) encrypted with libsodium's
 * crypto_secretstream_xchacha20poly1305 under a 32-byte key that a key broker (attest/broker.h)
 * releases only to an attested party. Layout:
 *
 *   magic "MIMIRSEA" (8 bytes) | u32 version (1, LE) | u32 chunk size (LE) |
 *   secretstream header (24 bytes) | chunks
 *
 * Each chunk is one secretstream message: chunk-size plaintext bytes (the last may be shorter,
 * even empty) plus 17 bytes of tag and MAC; the 16-byte fixed header is the additional data of
 * every chunk, so editing it fails authentication. The last chunk carries the FINAL tag and
 * nothing may follow it: truncation, reordering, a flipped byte, trailing bytes or a wrong key
 * are MIMIR_ESECURITY (exit 1). A file too short for the header, a wrong magic, an unknown
 * version or a chunk size outside [MIMIR_SEAL_MIN_CHUNK, MIMIR_SEAL_MAX_CHUNK] is MIMIR_EINPUT.
 *
 * Key files hold the key as 64 hex digits and a newline, mode 0600. Keys live in
 * mimir_key_alloc memory and are wiped after use; plaintext buffers are mimir_secret_alloc'd.
 */
#ifndef MIMIR_ATTEST_SEAL_H
#define MIMIR_ATTEST_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define MIMIR_SEAL_MAGIC "MIMIRSEA"
#define MIMIR_SEAL_MAGIC_BYTES 8
#define MIMIR_SEAL_VERSION 1
#define MIMIR_SEAL_FIXED_BYTES 16            /* magic, version, chunk size */
#define MIMIR_SEAL_HEADER_BYTES (16 + 24)    /* plus the secretstream header */
#define MIMIR_SEAL_KEY_BYTES 32
#define MIMIR_SEAL_ABYTES 17                 /* per chunk: tag and MAC */
#define MIMIR_SEAL_CHUNK (64 * 1024)         /* default chunk size */
#define MIMIR_SEAL_MIN_CHUNK 16
#define MIMIR_SEAL_MAX_CHUNK (16 * 1024 * 1024)
#define MIMIR_SEAL_KEYFILE_BYTES 65          /* 64 hex digits and a newline */

/* A fresh random key into key (MIMIR_SEAL_KEY_BYTES, from mimir_key_alloc). */
int mimir_seal_keygen(uint8_t *key, mimir_err *err);

/* Reads a key file (64 hex digits, optional trailing newline) into key. A file that does not
 * hold exactly one key is MIMIR_EINPUT; the file's bytes are wiped after parsing. */
int mimir_seal_key_load(const char *path, uint8_t *key, mimir_err *err);

/* Writes key to path atomically, mode 0600 ("-" = stdout). */
int mimir_seal_key_save(const char *path, const uint8_t *key, mimir_err *err);

/* Seals everything read from in (name for messages) to out with chunk size chunk (0 = default).
 * The caller commits or aborts out. */
int mimir_seal_stream(FILE *in, const char *name, FILE *out, const uint8_t *key, size_t chunk,
                      mimir_err *err);

/* Opens a sealed stream from in to out. On any error out holds partial plaintext that the
 * caller must discard (mimir_out_abort). */
int mimir_seal_open_stream(FILE *in, const char *name, FILE *out, const uint8_t *key,
                           mimir_err *err);

/* Opens a sealed buffer in memory: the decrypt-at-boot path for mimir-party (fetch the key from
 * the broker, open the bundle's sealed shares, wipe the key). *plain comes from
 * mimir_secret_alloc (free it with mimir_secret_free); nothing is returned on failure. */
int mimir_seal_open_mem(const uint8_t *buf, size_t len, const char *name, const uint8_t *key,
                        uint8_t **plain, size_t *plen, mimir_err *err);

#endif
