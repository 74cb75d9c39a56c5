/* libFuzzer target: the key broker's answer as mimir_broker_fetch reads it
 * (mimir_broker_parse_answer, attest/broker.h). The broker reads no request bytes: the client's
 * request is its certificate, fuzzed by attest_cert.c. Invariants: a key is accepted only from
 * exactly "MIMIR-KEY-BROKER 1 admit " + 64 hex digits + "\n", and then equals those digits; an
 * empty answer is a runtime failure; every other answer is a security failure with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "attest/broker.h"
#include "attest/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MIMIR_BROKER_MAX_ANSWER)
        return 0; /* the client reads at most this much */
    char *ans = malloc(size + 1);
    if (ans == NULL)
        return 0;
    memcpy(ans, data, size);
    uint8_t key[MIMIR_SEAL_KEY_BYTES];
    memset(key, 0xee, sizeof key);
    mimir_err err;
    mimir_err_clear(&err);
    int rc = mimir_broker_parse_answer(ans, size, "fuzz", key, &err);
    const char *admit = MIMIR_BROKER_PROTO " admit ";
    size_t al = strlen(admit);
    if (rc == MIMIR_OK) {
        uint8_t want[MIMIR_SEAL_KEY_BYTES];
        size_t n = 0;
        if (size != al + 2 * MIMIR_SEAL_KEY_BYTES + 1 || memcmp(data, admit, al) != 0 ||
            data[size - 1] != '\n' ||
            sodium_hex2bin(want, sizeof want, (const char *)data + al, 2 * sizeof want, NULL,
                           &n, NULL) != 0 || n != sizeof want ||
            memcmp(want, key, sizeof key) != 0)
            abort();
    } else if (rc == MIMIR_ERUNTIME) {
        if (size != 0)
            abort();
    } else if (rc != MIMIR_ESECURITY || err.msg[0] == '\0' || size == 0) {
        abort();
    }
    free(ans);
    return 0;
}
