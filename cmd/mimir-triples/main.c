/*
 * mimir-triples — the offline phase: make the parties' pools of preprocessed items and report
 * on them. One subcommand per file, like wireguard-tools' wg: this table is the usage text.
 */
#include <stdio.h>
#include <string.h>

#include "mem.h"
#include "tool.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *desc;
} subcommands[] = {
    {"deal", deal_main, "make all three parties' pools with a trusted dealer (it knows them)"},
    {"plan", plan_main, "the items a generation of a given size needs with a model (JSON)"},
    {"generate", generate_main,
     "generate this party's pool with the other two parties (no trusted party; sacrifice)"},
    {"status", status_main, "a pool's remaining, consumed, generated, sacrificed, failed counts"},
};
#define N_SUB (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *f)
{
    fprintf(f, "Usage: %s <command> [options] [arguments]\n\nCommands:\n", PROG);
    for (size_t i = 0; i < N_SUB; i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].desc);
    fprintf(f, "\nRun '%s <command> --help' for a command's options; see mimir-triples(1).\n",
            PROG);
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
    for (size_t i = 0; i < N_SUB; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: '%s' is not a command, expected deal, plan, generate or status\n", PROG,
            argv[1]);
    usage(stderr);
    return 2;
}
