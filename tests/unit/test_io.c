/* test_io.c — atomic outputs: regular files are replaced whole, devices and FIFOs are written in
 * place (never renamed over: `-o /dev/null` as root must not replace the device). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "tap.h"

int main(void)
{
    char dir[] = "tests/tmp/test_io.XXXXXX", path[256], fifo[256];
    mkdir("tests/tmp", 0755);
    if (mkdtemp(dir) == NULL)
        return 2;
    mimir_err err = {0};
    struct stat st;

    snprintf(path, sizeof path, "%s/out.bin", dir);
    CHECK(mimir_write_file(path, "first", 5, &err) == 0, "write a regular file");
    CHECK(mimir_write_file(path, "second!", 7, &err) == 0, "replace it");
    CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 7,
          "the file holds the second content whole");

    mimir_out out;
    CHECK(mimir_out_open(&out, path, &err) == 0, "open a writer over an existing file");
    mimir_out_write(&out, "partial", 7, &err);
    mimir_out_abort(&out);
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK(mimir_read_file(path, 100, &data, &len, &err) == 0 && len == 7 &&
              memcmp(data, "second!", 7) == 0,
          "an aborted write leaves the old file untouched");
    free(data);

    /* A FIFO with a reader held open by this process stands in for a device. */
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    CHECK(mkfifo(fifo, 0600) == 0, "make a FIFO");
    int rfd = open(fifo, O_RDWR | O_NONBLOCK);
    CHECK(rfd >= 0, "hold the FIFO open");
    CHECK(mimir_write_file(fifo, "through", 7, &err) == 0, "write to the FIFO (%s)", err.msg);
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode),
          "the FIFO is still a FIFO, not a regular file renamed over it");
    char buf[16] = {0};
    CHECK(read(rfd, buf, sizeof buf) == 7 && memcmp(buf, "through", 7) == 0,
          "the bytes went through the FIFO");
    close(rfd);

    CHECK(mimir_out_open(&out, dir, &err) == MIMIR_EINPUT && strstr(err.msg, "directory"),
          "a directory as output is bad input");
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is a device");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 2;
    return tap_done();
}
