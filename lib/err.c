#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

void mimir_err_clear(mimir_err *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof *err);
}

static void copy(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

int mimir_err_set(mimir_err *err, int code, const char *file, const char *field, const char *fmt,
                  ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    copy(err->file, sizeof err->file, file);
    copy(err->field, sizeof err->field, field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int mimir_err_errno(mimir_err *err, const char *file, const char *what)
{
    int e = errno;
    return mimir_err_set(err, MIMIR_ERUNTIME, file, NULL, "%s: %s", what, strerror(e));
}

void mimir_err_print(FILE *stream, const char *prog, const mimir_err *err)
{
    fprintf(stream, "%s: ", prog);
    if (err->file[0] != '\0')
        fprintf(stream, "%s: ", err->file);
    if (err->field[0] != '\0')
        fprintf(stream, "%s: ", err->field);
    fprintf(stream, "%s\n", err->msg[0] ? err->msg : "unknown error");
}
