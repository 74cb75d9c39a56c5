/*
 * sha256.c — SHA-256 on OpenSSL's libcrypto (lib/sha256.h).
 *
 * OpenSSL 3 marks the SHA256_Init family deprecated in favour of EVP_Digest*, which allocates
 * a context per digest; these one-struct calls run the same assembly (SHA-NI where the CPU has
 * it) with no allocation, which the many small digests (commitments, transcript records) want.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "sha256.h"

#include <openssl/sha.h>
#include <sodium.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(mimir_sha256_state),
               "mimir_sha256_state too small for SHA256_CTX");

void mimir_sha256_init(mimir_sha256_state *st)
{
    SHA256_Init((SHA256_CTX *)(void *)st->opaque);
}

void mimir_sha256_update(mimir_sha256_state *st, const void *data, size_t len)
{
    if (len > 0)
        SHA256_Update((SHA256_CTX *)(void *)st->opaque, data, len);
}

void mimir_sha256_final(mimir_sha256_state *st, uint8_t out[MIMIR_SHA256_BYTES])
{
    SHA256_Final(out, (SHA256_CTX *)(void *)st->opaque);
    sodium_memzero(st, sizeof *st);
}

void mimir_sha256(uint8_t out[MIMIR_SHA256_BYTES], const void *data, size_t len)
{
    mimir_sha256_state st;
    mimir_sha256_init(&st);
    mimir_sha256_update(&st, data, len);
    mimir_sha256_final(&st, out);
}
