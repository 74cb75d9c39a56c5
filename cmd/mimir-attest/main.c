/* mimir-attest — verify SEV-SNP and TDX evidence against a policy; make attested certificates. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "tool.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *what;
} subcommands[] = {
    {"verify", verify_main, "verify a SEV-SNP report or TDX quote, optionally against a policy"},
    {"cert", cert_main, "make a key pair and an X.509 certificate carrying attestation evidence"},
    {"seal", seal_main, "encrypt a share bundle's file at rest under a fresh or given key"},
    {"unseal", unseal_main, "decrypt and authenticate a sealed file"},
    {"broker", broker_main, "release a seal key over TLS 1.3 to attested, admitted clients"},
    {"fetch", fetch_main, "fetch a seal key from a broker, pinning its certificate"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: " PROG " <command> [options]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].what);
    fprintf(f, "\nRun '" PROG " <command> --help' for a command's options; see mimir-attest(1).\n");
}

int tool_read(const char *path, size_t max, uint8_t **data, size_t *len, mimir_err *err)
{
    int rc = mimir_read_file(path, max, data, len, err);
    if (rc == MIMIR_ERUNTIME && strcmp(path, "-") != 0 && access(path, R_OK) != 0)
        err->code = rc = MIMIR_EINPUT; /* missing or unreadable: bad input, not a runtime fault */
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return MIMIR_EINPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, PROG ": unknown command '%s', expected verify, cert, seal, unseal, broker "
                         "or fetch\n", argv[1]);
    return MIMIR_EINPUT;
}
