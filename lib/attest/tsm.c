#include "attest/tsm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/attest.h"
#include "io.h"

int mimir_tsm_report(const uint8_t report_data[64], uint8_t **out, size_t *n, mimir_err *err)
{
    char dir[128], path[160];
    snprintf(dir, sizeof dir, MIMIR_TSM_DIR "/mimir-%ld", (long)getpid());
    if (mkdir(dir, 0700) != 0)
        return mimir_err_errno(err, dir, "cannot create a configfs-tsm report (not in a "
                               "confidential VM?)");
    int rc = MIMIR_OK;
    snprintf(path, sizeof path, "%s/inblob", dir);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, report_data, 64) != 64)
        rc = mimir_err_errno(err, path, "cannot write report_data");
    if (fd >= 0 && close(fd) != 0 && rc == MIMIR_OK)
        rc = mimir_err_errno(err, path, "cannot write report_data");
    if (rc == MIMIR_OK) {
        snprintf(path, sizeof path, "%s/outblob", dir);
        rc = mimir_read_file(path, MIMIR_ATTEST_MAX_EVIDENCE, out, n, err);
    }
    rmdir(dir);
    return rc;
}
