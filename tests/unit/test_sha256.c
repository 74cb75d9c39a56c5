/* test_sha256.c — lib/sha256.h: FIPS 180-4's examples, streaming in odd pieces, and agreement
 * with libsodium's independent implementation on every length up to 1 KiB and a 5 MB message. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "sha256.h"
#include "tap.h"

static int digest_is(const uint8_t *d, const char *hex)
{
    uint8_t want[32];
    size_t n = 0;
    return mimir_hex_decode(hex, 64, want, sizeof want, &n, NULL) == 0 && n == 32 &&
           memcmp(d, want, 32) == 0;
}

int main(void)
{
    if (sodium_init() < 0)
        return 3;
    uint8_t d[MIMIR_SHA256_BYTES], s[crypto_hash_sha256_BYTES];
    /* FIPS 180-4 / NIST CSRC examples: "abc", the 448-bit message, the empty string */
    mimir_sha256(d, "abc", 3);
    CHECK(digest_is(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "SHA-256(\"abc\") is FIPS 180-4's");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    mimir_sha256(d, m2, strlen(m2));
    CHECK(digest_is(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
          "SHA-256 of the 448-bit example is FIPS 180-4's");
    mimir_sha256(d, NULL, 0);
    CHECK(digest_is(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          "SHA-256 of the empty message");

    /* a million 'a' fed in pieces of 1, 7, 64, 1000 bytes: the FIPS long example */
    static uint8_t big[5000000];
    memset(big, 'a', 1000000);
    mimir_sha256_state st;
    mimir_sha256_init(&st);
    size_t off = 0, piece[] = {1, 7, 64, 1000};
    for (int k = 0; off < 1000000; k = (k + 1) % 4) {
        size_t n = piece[k] < 1000000 - off ? piece[k] : 1000000 - off;
        mimir_sha256_update(&st, big + off, n);
        off += n;
    }
    mimir_sha256_final(&st, d);
    CHECK(digest_is(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
          "a million 'a' streamed in odd pieces");
    int zero = 1;
    for (size_t i = 0; i < sizeof st; i++)
        zero &= ((uint8_t *)&st)[i] == 0;
    CHECK(zero, "final wipes the state");

    /* agreement with libsodium on every length 0..1024 and on 5 MB */
    randombytes_buf(big, sizeof big);
    int agree = 1;
    for (size_t n = 0; n <= 1024; n++) {
        mimir_sha256(d, big, n);
        crypto_hash_sha256(s, big, n);
        agree &= memcmp(d, s, 32) == 0;
    }
    CHECK(agree, "equals libsodium's SHA-256 on every length 0 .. 1024");
    mimir_sha256(d, big, sizeof big);
    crypto_hash_sha256(s, big, sizeof big);
    CHECK(memcmp(d, s, 32) == 0, "equals libsodium's SHA-256 on 5 MB of random bytes");
    return tap_done();
}
