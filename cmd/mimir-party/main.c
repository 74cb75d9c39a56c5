/*
 * mimir-party — one compute party of a Mimir cluster. One subcommand per file, like
 * wireguard-tools' wg: this table is the usage text. With options and no subcommand
 * (`mimir-party --party I --cluster FILE ...`) it serves a generation (serve.c).
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "party.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *desc;
} subcommands[] = {
    {"serve", serve_main,
     "serve one secure generation to a client (the default: mimir-party --party I ...)"},
    {"compute", compute_main,
     "with two peers, compute on secret-shared tensors (add, mul, matmul, trunc)"},
    {"transcript-check", transcript_check_main,
     "cross-check the three parties' transcripts of one run"},
};
#define N_SUB (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *f)
{
    fprintf(f, "Usage: %s [serve] --party I --cluster FILE --model-shares DIR --pool DIR\n"
            "       %s <command> [options] [arguments]\n\nCommands:\n", PROG, PROG);
    for (size_t i = 0; i < N_SUB; i++)
        fprintf(f, "  %-17s %s\n", subcommands[i].name, subcommands[i].desc);
    fprintf(f, "\nRun '%s <command> --help' for a command's options; see mimir-party(1).\n", PROG);
}

int main(int argc, char **argv)
{
    if (mimir_mem_init() != 0) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", PROG);
        return 3;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    /* options first and no subcommand: the default form, serve */
    if (argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] != '\0')
        return serve_main(argc, argv);
    for (size_t i = 0; i < N_SUB; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: '%s' is not a command, expected serve, compute or transcript-check\n", PROG,
            argv[1]);
    usage(stderr);
    return 2;
}
