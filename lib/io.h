/*
 * io.h — reading inputs whole and writing outputs atomically.
 *
 * Inputs: mimir_read_file() reads a file (or stdin for "-") into memory, refusing anything larger
 * than a stated bound, so parsers work on a bounded buffer.
 * Outputs: a mimir_out writes to a temporary file beside the target, and mimir_out_commit()
 * fsyncs it, renames it over the target and fsyncs the directory: a failed run leaves no half
 * file. "-" writes to stdout directly, and so does a path that names a device or FIFO
 * (/dev/null, /dev/stdout): renaming over it would replace the device. mimir_out_abort() removes
 * the temporary file.
 */
#ifndef MIMIR_IO_H
#define MIMIR_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* Reads path ("-" = stdin) into a malloc'd buffer (NUL-terminated, len excludes the NUL).
 * Fails with MIMIR_EINPUT if larger than max bytes, MIMIR_ERUNTIME on I/O errors. */
int mimir_read_file(const char *path, size_t max, uint8_t **data, size_t *len, mimir_err *err);

typedef struct mimir_out {
    FILE *fp;
    char *path;   /* final path, or "-" */
    char *tmp;    /* temporary path, NULL for stdout or a special file */
    int special;  /* path is a device or FIFO, written in place (never renamed over) */
} mimir_out;

/* Opens an atomic writer for path ("-" = stdout). */
int mimir_out_open(mimir_out *out, const char *path, mimir_err *err);
/* Writes n bytes. */
int mimir_out_write(mimir_out *out, const void *p, size_t n, mimir_err *err);
/* Flushes, fsyncs, renames into place and fsyncs the directory. Frees the writer. */
int mimir_out_commit(mimir_out *out, mimir_err *err);
/* Discards the temporary file. Safe to call after a failed commit or on a closed writer. */
void mimir_out_abort(mimir_out *out);

/* Writes a whole buffer to path atomically. */
int mimir_write_file(const char *path, const void *p, size_t n, mimir_err *err);

/* Atomically creates directory path with its contents: callers make files in the temporary
 * directory returned by mimir_dir_begin (tmpdir, malloc'd), then mimir_dir_commit renames it to
 * path (which must not exist). mimir_dir_abort removes the temporary tree. */
int mimir_dir_begin(const char *path, char **tmpdir, mimir_err *err);
int mimir_dir_commit(const char *tmpdir, const char *path, mimir_err *err);
void mimir_dir_abort(const char *tmpdir);

/* fsyncs the directory containing path. */
int mimir_fsync_parent(const char *path, mimir_err *err);

#endif
