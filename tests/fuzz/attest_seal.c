/* libFuzzer target: sealed share files (attest/seal.h) as mimir-party opens them at boot
 * (mimir_seal_open_mem, attest/boot.h). The first input byte picks the mode:
 *   even: the rest is a sealed file, opened with a fixed key. Invariants: failure returns no
 *         plaintext and is MIMIR_EINPUT (header) or MIMIR_ESECURITY (authentication), and a
 *         file shorter than the header is never MIMIR_ESECURITY;
 *   odd:  the rest is plaintext, sealed with the fixed key at a chunk size taken from the byte
 *         (16 B and up) and opened again: it must come back byte for byte, and a flipped byte of
 *         the sealed file must fail authentication.
 * The seed corpus holds files sealed with this key (0x42 repeated), so the fuzzer starts from
 * headers and chunks that parse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/seal.h"
#include "mem.h"

static uint8_t *key;

static void open_sealed(const uint8_t *data, size_t size)
{
    uint8_t *plain = NULL;
    size_t plen = 0;
    mimir_err err;
    int rc = mimir_seal_open_mem(data, size, "fuzz", key, &plain, &plen, &err);
    if (rc == MIMIR_OK) {
        mimir_secret_free(plain);
        return;
    }
    if (plain != NULL || (rc != MIMIR_EINPUT && rc != MIMIR_ESECURITY) ||
        (size < MIMIR_SEAL_HEADER_BYTES && rc != MIMIR_EINPUT))
        abort();
}

static void round_trip(const uint8_t *data, size_t size, size_t chunk)
{
    char *sealed = NULL;
    size_t slen = 0;
    FILE *in = fmemopen((void *)data, size ? size : 1, "rb");
    FILE *out = open_memstream(&sealed, &slen);
    mimir_err err;
    if (in == NULL || out == NULL)
        abort();
    if (size == 0)
        fgetc(in); /* fmemopen needs a non-empty buffer: consume it, then EOF */
    if (mimir_seal_stream(in, "fuzz", out, key, chunk, &err) != MIMIR_OK)
        abort();
    fclose(in);
    fclose(out);
    uint8_t *plain = NULL;
    size_t plen = 0;
    if (mimir_seal_open_mem((uint8_t *)sealed, slen, "fuzz", key, &plain, &plen, &err) !=
            MIMIR_OK || plen != size || (size && memcmp(plain, data, size) != 0))
        abort();
    mimir_secret_free(plain);
    size_t at = size % slen;
    sealed[at] ^= 0x01;
    if (mimir_seal_open_mem((uint8_t *)sealed, slen, "fuzz", key, &plain, &plen, &err) ==
        MIMIR_OK)
        abort();
    free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (key == NULL) {
        if (mimir_mem_init() != 0 || (key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES)) == NULL)
            abort();
        memset(key, 0x42, MIMIR_SEAL_KEY_BYTES);
    }
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0)
        open_sealed(data + 1, size - 1);
    else
        round_trip(data + 1, size - 1, MIMIR_SEAL_MIN_CHUNK + (size_t)(data[0] >> 1) * 16);
    return 0;
}
