#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drbg.h"
#include "hex.h"
#include "io.h"
#include "mem.h"
#include "share.h"

int report(const mimir_err *err)
{
    mimir_err_print(stderr, PROG, err);
    return err->code ? err->code : MIMIR_ERUNTIME;
}

int usage_fail(const char *sub, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", PROG, sub);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see '%s %s --help')\n", PROG, sub);
    va_end(ap);
    return MIMIR_EINPUT;
}

int parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long x = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || x > max)
        return -1;
    *v = x;
    return 0;
}

void tokenizer_dir(const char *opt, char *buf, size_t cap)
{
    const char *env = getenv("MIMIR_MODEL_DIR");
    if (opt != NULL) {
        snprintf(buf, cap, "%s", opt);
        return;
    }
    if (env != NULL && env[0] != '\0') {
        snprintf(buf, cap, "%s", env);
        return;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(buf, cap, "models/tiny");
        return;
    }
    exe[n] = '\0';
    snprintf(buf, cap, "%s/../models/tiny", dirname(exe));
}

int read_seed(const char *hex, const char *file, uint8_t **seed, size_t *len, mimir_err *err)
{
    uint8_t *text = NULL;
    size_t tlen = 0;
    const char *src = hex, *field = "--seed";
    if (file != NULL) {
        int rc = mimir_read_file(file, 4 * SEED_MAX_BYTES, &text, &tlen, err);
        if (rc)
            return rc;
        /* Surrounding whitespace (a trailing newline) is ignored. */
        while (tlen > 0 && (text[tlen - 1] == '\n' || text[tlen - 1] == ' ' ||
                            text[tlen - 1] == '\r' || text[tlen - 1] == '\t'))
            text[--tlen] = '\0';
        src = (const char *)text;
        while (*src == ' ' || *src == '\t' || *src == '\n')
            src++;
        field = "seed";
    }
    const char *fname = file ? file : NULL;
    size_t n = strlen(src);
    int rc = MIMIR_OK;
    if (n % 2 != 0 || n / 2 < MIMIR_DRBG_MIN_ENTROPY || n / 2 > SEED_MAX_BYTES) {
        rc = mimir_err_set(err, MIMIR_EINPUT, fname, field,
                           "seed of %zu hex digits, expected an even number from %d to %d",
                           n, 2 * MIMIR_DRBG_MIN_ENTROPY, 2 * SEED_MAX_BYTES);
        goto done;
    }
    uint8_t *s = mimir_key_alloc(n / 2);
    if (s == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, fname, field, "out of memory");
        goto done;
    }
    size_t got, bad;
    if (mimir_hex_decode(src, n, s, n / 2, &got, &bad) != 0) {
        mimir_key_free(s);
        rc = mimir_err_set(err, MIMIR_EINPUT, fname, field,
                           "not hexadecimal at digit %zu or %zu, expected 0-9 or a-f", bad + 1,
                           bad + 2);
        goto done;
    }
    *seed = s;
    *len = got;
done:
    if (text != NULL) {
        mimir_wipe(text, tlen);
        free(text);
    }
    return rc;
}

int path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}
