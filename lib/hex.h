/*
 * hex.h — hexadecimal decoding, one implementation for seeds, pins, session ids and policies.
 *
 * Built on libsodium's sodium_hex2bin, which runs in constant time in the digits, so the same
 * function is safe for secret seeds. Upper and lower case are accepted; nothing else.
 */
#ifndef MIMIR_HEX_H
#define MIMIR_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the len hex digits at s into out (room for max bytes). Returns 0 and sets *n to the
 * byte count; returns -1 if len is odd, the result would exceed max bytes, or a character is
 * not a hex digit (then *bad, if not NULL, is the index of the digit pair where decoding
 * stopped). On failure out holds no partial result. */
int mimir_hex_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *n, size_t *bad);

#endif
