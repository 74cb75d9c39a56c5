/* tool.h — what the mimir-attest subcommands share. */
#ifndef MIMIR_ATTEST_TOOL_H
#define MIMIR_ATTEST_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PROG "mimir-attest"

int verify_main(int argc, char **argv);
int cert_main(int argc, char **argv);
/* Sealed bundles and the key broker (seal.c, broker.c). */
int seal_main(int argc, char **argv);
int unseal_main(int argc, char **argv);
int broker_main(int argc, char **argv);
int fetch_main(int argc, char **argv);

/* Reads path ("-" = stdin), at most max bytes. A file that cannot be opened is bad input (2). */
int tool_read(const char *path, size_t max, uint8_t **data, size_t *len, mimir_err *err);

#endif
