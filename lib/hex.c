#include "hex.h"

#include <sodium.h>

#include "mem.h"

int mimir_hex_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *n, size_t *bad)
{
    size_t got = 0;
    const char *end = s;
    if (bad != NULL)
        *bad = len;
    if (len % 2 != 0 || len / 2 > max)
        return -1;
    int rc = sodium_hex2bin(out, max, s, len, NULL, &got, &end);
    if (rc != 0 || end != s + len || got != len / 2) {
        if (bad != NULL)
            *bad = (size_t)(end - s);
        mimir_wipe(out, max);
        return -1;
    }
    *n = got;
    return 0;
}
