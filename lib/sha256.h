/*
 * sha256.h — SHA-256 (FIPS 180-4) for every digest Mimir computes: pool batches, transcript
 * payloads, commitments, model and plan digests.
 *
 * The same function as libsodium's crypto_hash_sha256 (byte for byte: tests/unit/test_sha256.c
 * checks both against FIPS 180-4's examples and each other), computed by OpenSSL's libcrypto,
 * which uses the CPU's SHA extensions (SHA-NI) where present: on this project's 2-core machine
 * 1.2 GB/s against libsodium's portable code at about 0.3 GB/s, which mattered once a party
 * hashed every pool batch and every message of a token step (docs/performance.md).
 *
 * The state is a plain struct (no allocation, no failure); a state that held secret input is
 * wiped by mimir_sha256_final.
 */
#ifndef MIMIR_SHA256_H
#define MIMIR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MIMIR_SHA256_BYTES 32

typedef struct mimir_sha256_state {
    /* room for OpenSSL's SHA256_CTX (112 bytes), 8-byte aligned; lib/sha256.c checks the size */
    uint64_t opaque[16];
} mimir_sha256_state;

void mimir_sha256_init(mimir_sha256_state *st);
void mimir_sha256_update(mimir_sha256_state *st, const void *data, size_t len);
/* Writes the 32-byte digest and wipes the state. */
void mimir_sha256_final(mimir_sha256_state *st, uint8_t out[MIMIR_SHA256_BYTES]);
/* One call: out = SHA-256(data[0..len)). */
void mimir_sha256(uint8_t out[MIMIR_SHA256_BYTES], const void *data, size_t len);

#endif
