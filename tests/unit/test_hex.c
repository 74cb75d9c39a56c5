/* test_hex.c — the one hex decoder: good input, and every way to be wrong. */
#include <string.h>

#include "hex.h"
#include "tap.h"

int main(void)
{
    uint8_t out[8];
    size_t n = 0, bad = 0;
    CHECK(mimir_hex_decode("00fFa5", 6, out, sizeof out, &n, &bad) == 0 && n == 3 &&
              out[0] == 0x00 && out[1] == 0xff && out[2] == 0xa5,
          "mixed-case hex decodes");
    CHECK(mimir_hex_decode("", 0, out, sizeof out, &n, &bad) == 0 && n == 0, "empty decodes to 0");
    CHECK(mimir_hex_decode("abc", 3, out, sizeof out, &n, &bad) == -1, "odd length is refused");
    CHECK(mimir_hex_decode("00112233445566778899", 20, out, sizeof out, &n, &bad) == -1,
          "more than max bytes is refused");
    memset(out, 0x55, sizeof out);
    int rc = mimir_hex_decode("0011zz33", 8, out, sizeof out, &n, &bad);
    CHECK(rc == -1 && bad == 4, "a non-hex pair is refused and located (bad %zu)", bad);
    CHECK(out[0] == 0 && out[1] == 0, "no partial output is left after a failure");
    CHECK(mimir_hex_decode("00 11", 5, out, sizeof out, &n, &bad) == -1, "spaces are refused");
    CHECK(mimir_hex_decode("0g", 2, out, sizeof out, &n, NULL) == -1, "bad may be NULL");
    return tap_done();
}
