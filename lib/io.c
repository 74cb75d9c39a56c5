#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mimir_read_file(const char *path, size_t max, uint8_t **data, size_t *len, mimir_err *err)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (fp == NULL)
        return mimir_err_errno(err, path, "cannot open");
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap + 1);
    int rc = MIMIR_OK;
    if (buf == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                                   "file is larger than the limit of %zu bytes", max);
                goto done;
            }
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                rc = mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                rc = mimir_err_errno(err, path, "read failed");
            break;
        }
    }
    if (rc == MIMIR_OK && n > max)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                           "file is larger than the limit of %zu bytes", max);
done:
    if (!is_stdin)
        fclose(fp);
    if (rc != MIMIR_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return MIMIR_OK;
}

int mimir_fsync_parent(const char *path, mimir_err *err)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc = MIMIR_OK;
    if (fd < 0 || fsync(fd) != 0)
        rc = mimir_err_errno(err, dir, "cannot sync directory");
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int mimir_out_open(mimir_out *out, const char *path, mimir_err *err)
{
    memset(out, 0, sizeof *out);
    out->path = strdup(path);
    if (out->path == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    if (strcmp(path, "-") == 0) {
        out->fp = stdout;
        return MIMIR_OK;
    }
    /* A device or FIFO (/dev/null, /dev/stdout, a pipe) is written in place: renaming a temporary
     * file over it would replace the device itself, and it holds no half file to protect. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            mimir_out_abort(out);
            return mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                                 "is a directory, expected a file to write");
        }
        out->fp = fopen(path, "wb");
        if (out->fp == NULL) {
            int rc = mimir_err_errno(err, path, "cannot open");
            mimir_out_abort(out);
            return rc;
        }
        out->special = 1;
        return MIMIR_OK;
    }
    size_t n = strlen(path) + 16;
    out->tmp = malloc(n);
    if (out->tmp == NULL) {
        mimir_out_abort(out);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    snprintf(out->tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(out->tmp);
    if (fd < 0) {
        int rc = mimir_err_errno(err, path, "cannot create temporary file");
        free(out->tmp);
        out->tmp = NULL;
        mimir_out_abort(out);
        return rc;
    }
    fchmod(fd, 0644 & ~0022);
    out->fp = fdopen(fd, "wb");
    if (out->fp == NULL) {
        int rc = mimir_err_errno(err, path, "cannot open temporary file");
        close(fd);
        mimir_out_abort(out);
        return rc;
    }
    return MIMIR_OK;
}

int mimir_out_write(mimir_out *out, const void *p, size_t n, mimir_err *err)
{
    if (n > 0 && fwrite(p, 1, n, out->fp) != n)
        return mimir_err_errno(err, out->path, "write failed");
    return MIMIR_OK;
}

int mimir_out_commit(mimir_out *out, mimir_err *err)
{
    int rc = MIMIR_OK;
    if (out->tmp == NULL) {
        if (out->special) {
            if (fclose(out->fp) != 0)
                rc = mimir_err_errno(err, out->path, "write failed");
        } else if (fflush(out->fp) != 0) {
            rc = mimir_err_errno(err, "<stdout>", "write failed");
        }
        out->fp = NULL;
        mimir_out_abort(out);
        return rc;
    }
    if (fflush(out->fp) != 0 || fsync(fileno(out->fp)) != 0)
        rc = mimir_err_errno(err, out->path, "write failed");
    if (fclose(out->fp) != 0 && rc == MIMIR_OK)
        rc = mimir_err_errno(err, out->path, "write failed");
    out->fp = NULL;
    if (rc == MIMIR_OK && rename(out->tmp, out->path) != 0)
        rc = mimir_err_errno(err, out->path, "cannot rename temporary file into place");
    if (rc == MIMIR_OK) {
        free(out->tmp);
        out->tmp = NULL;
        rc = mimir_fsync_parent(out->path, err);
    }
    mimir_out_abort(out);
    return rc;
}

void mimir_out_abort(mimir_out *out)
{
    if (out->fp != NULL && out->fp != stdout)
        fclose(out->fp);
    out->fp = NULL;
    if (out->tmp != NULL) {
        unlink(out->tmp);
        free(out->tmp);
        out->tmp = NULL;
    }
    free(out->path);
    out->path = NULL;
}

int mimir_write_file(const char *path, const void *p, size_t n, mimir_err *err)
{
    mimir_out out;
    int rc = mimir_out_open(&out, path, err);
    if (rc != MIMIR_OK)
        return rc;
    rc = mimir_out_write(&out, p, n, err);
    if (rc != MIMIR_OK) {
        mimir_out_abort(&out);
        return rc;
    }
    return mimir_out_commit(&out, err);
}

int mimir_dir_begin(const char *path, char **tmpdir, mimir_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                             "already exists; remove it or choose another output");
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (t == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    snprintf(t, n, "%s.tmpXXXXXX", path);
    if (mkdtemp(t) == NULL) {
        int rc = mimir_err_errno(err, path, "cannot create temporary directory");
        free(t);
        return rc;
    }
    *tmpdir = t;
    return MIMIR_OK;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

int mimir_dir_commit(const char *tmpdir, const char *path, mimir_err *err)
{
    if (sync_dir(tmpdir) != 0)
        return mimir_err_errno(err, path, "cannot sync directory");
    if (rename(tmpdir, path) != 0)
        return mimir_err_errno(err, path, "cannot rename temporary directory into place");
    return mimir_fsync_parent(path, err);
}

void mimir_dir_abort(const char *tmpdir)
{
    if (tmpdir == NULL)
        return;
    DIR *d = opendir(tmpdir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
}
