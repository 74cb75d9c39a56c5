/* common.c — helpers of the mimir-party subcommands (common.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "hex.h"
#include "io.h"
#include "mem.h"
#include "party.h"
#include "pool_align.h"

int party_report(const mimir_err *err)
{
    mimir_err_print(stderr, PROG, err);
    return err->code ? err->code : MIMIR_ERUNTIME;
}

int party_usage_fail(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", PROG, sub);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see '%s %s --help')\n", PROG, sub);
    va_end(ap);
    return MIMIR_EINPUT;
}

int party_parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > max)
        return -1;
    *v = x;
    return 0;
}

int party_read_seed_file(const char *path, uint8_t seed[PARTY_SEED_BYTES], mimir_err *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, PARTY_SEED_FILE_MAX, &text, &len, err);
    if (rc) {
        if (rc == MIMIR_EINPUT)
            mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                          "file too large, expected %d hex digits and an optional newline",
                          PARTY_SEED_HEXDIGITS);
        return rc;
    }
    size_t digits = len;
    if (digits > 0 && text[digits - 1] == '\n')
        digits--;
    if (digits > 0 && text[digits - 1] == '\r' && digits < len)
        digits--;
    size_t got = 0, bad = 0;
    if (digits != PARTY_SEED_HEXDIGITS) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                           "%zu bytes before the newline, expected %d hex digits (a 32-byte "
                           "seed) and an optional newline", digits, PARTY_SEED_HEXDIGITS);
    } else if (mimir_hex_decode((const char *)text, digits, seed, PARTY_SEED_BYTES, &got,
                                &bad) != 0 || got != PARTY_SEED_BYTES) {
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "seed",
                           "not hexadecimal at digit %zu or %zu, expected 0-9 or a-f", bad + 1,
                           bad + 2);
    }
    mimir_wipe(text, len);
    free(text);
    return rc;
}

int party_load_tensor(const char *path, int party, const char *tensor, mimir_share **out,
                      size_t *idx, mimir_err *err)
{
    mimir_share *s = NULL;
    int rc = mimir_share_read(path, MIMIR_SHARE_MAX_BYTES, &s, err);
    if (rc)
        return rc;
    if (s->kind != MIMIR_SHARE_TENSOR)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "kind",
                           "a %s share, expected a tensor share (mimir-share split FILE.npy)",
                           mimir_share_kind_name(s->kind));
    else if (s->ring != MIMIR_RSS_RING64)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "ring",
                           "ring %u, expected 64 (mimir-share split --ring 64)", s->ring);
    else if (s->party != party)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "party",
                           "party %d's share, expected party %d's (--party %d)", s->party, party,
                           party);
    if (rc)
        goto fail;
    if (tensor == NULL) {
        if (s->n != 1) {
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "tensors",
                               "%zu tensors, expected one, or name one with --tensor", s->n);
            goto fail;
        }
        *idx = 0;
    } else {
        size_t i;
        for (i = 0; i < s->n; i++)
            if (strcmp(s->t[i].name, tensor) == 0)
                break;
        if (i == s->n) {
            rc = mimir_err_set(err, MIMIR_EINPUT, path, "tensors",
                               "no tensor named '%s' (--tensor)", tensor);
            goto fail;
        }
        *idx = i;
    }
    *out = s;
    return MIMIR_OK;
fail:
    mimir_share_free(s);
    return rc;
}

void party_shape_str(char *buf, size_t cap, int ndim, const uint64_t *shape)
{
    size_t at = 0;
    if (cap == 0)
        return;
    buf[0] = '\0';
    at += (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && at < cap; d++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%llu", d ? "," : "",
                               (unsigned long long)shape[d]);
    if (at < cap)
        snprintf(buf + at, cap - at, "]");
}

double party_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int party_align_pool(mimir_pool *pool, mimir_net *net, int party, const char *path, int quiet,
                     mimir_err *err)
{
    uint64_t skipped = 0;
    int rc = mimir_pool_align(pool, net, &skipped, err);
    if (rc == MIMIR_OK && skipped > 0 && !quiet)
        fprintf(stderr, "%s: party %d: pool %s re-aligned with the peers' cursors: %llu items "
                "skipped (left unused by an earlier run that crashed or aborted)\n", PROG, party,
                path, (unsigned long long)skipped);
    return rc;
}

/* Every batch the session may take from is hashed before the session starts, rather than at
 * its first item inside a step (the tiny model reads about 44 MB per party per token: hashing
 * it inside the steps was about a sixth of a served step). Before the client and the peers
 * are connected, so that however long it takes, no peer's timeout runs meanwhile. */
int party_verify_pool(mimir_pool *pool, int party, const char *path, int quiet, mimir_err *err)
{
    uint64_t hashed = 0;
    double t0 = party_now_ms();
    int rc = mimir_pool_verify_open(pool, &hashed, err);
    double dt = party_now_ms() - t0;
    if (rc == MIMIR_OK && !quiet && dt >= 1000.0)
        fprintf(stderr, "%s: party %d: pool %s: checked the digests of %.0f MB of items in "
                "%.1f s\n", PROG, party, path, (double)hashed / 1e6, dt / 1e3);
    return rc;
}
