/*
 * err.h — the error record every library call fills.
 *
 * lib/ never prints and never exits: a function that fails returns the error code and fills a
 * mimir_err naming the file, the field and what was expected. Tools print it with
 * mimir_err_print() and exit with its code, which is the exit code of ARCHITECTURE.md.
 * Messages never contain secret values.
 */
#ifndef MIMIR_ERR_H
#define MIMIR_ERR_H

#include <stdio.h>

enum mimir_status {
    MIMIR_OK = 0,
    MIMIR_ESECURITY = 1, /* a MAC, sacrifice, attestation or consistency check failed */
    MIMIR_EINPUT = 2,    /* bad usage or bad input */
    MIMIR_ERUNTIME = 3,  /* I/O, peer gone, timeout, out of memory */
};

#define MIMIR_ERR_FILEBYTES 512
#define MIMIR_ERR_FIELDBYTES 256
#define MIMIR_ERR_MSGBYTES 512

typedef struct mimir_err {
    int code;
    char file[MIMIR_ERR_FILEBYTES];   /* the file or peer concerned, "" if none */
    char field[MIMIR_ERR_FIELDBYTES]; /* the field, tensor or option concerned, "" if none */
    char msg[MIMIR_ERR_MSGBYTES];     /* what is wrong and what was expected */
} mimir_err;

/* Clears the record to MIMIR_OK. */
void mimir_err_clear(mimir_err *err);

/* Fills err (if not NULL) and returns code, so callers can `return mimir_err_set(...)`.
 * file and field may be NULL. */
int mimir_err_set(mimir_err *err, int code, const char *file, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));

/* Fills err from errno for a failed system call on file. Returns MIMIR_ERUNTIME. */
int mimir_err_errno(mimir_err *err, const char *file, const char *what);

/* Prints "prog: file: field: msg" on one line to stream (normally stderr). */
void mimir_err_print(FILE *stream, const char *prog, const mimir_err *err);

#endif
