/*
 * mimir-triples plan: how many of each preprocessed item a generation of a given size needs,
 * as the JSON plan file that `deal --plan` and `generate --plan` read (lib/plan.h). The items
 * come from running the secure step code in plan mode, the same code a generation runs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "plan.h"
#include "tool.h"

#define SUB "plan"
#define DEFAULT_PROMPT_LEN 1
#define MAX_LEN 1000000

static void help(void)
{
    printf("Usage: %s plan --model DIR --tokens N [--prompt-len L] [--compare DOMAIN] "
           "[--human]\n\n"
           "Prints, as JSON on stdout, exactly which preprocessed items a secure generation of\n"
           "N new tokens after a prompt of L tokens consumes with the model in DIR (its\n"
           "config.json): the items a pool needs, in the `deal --plan` / `generate --plan`\n"
           "format, with the model (name, shape, SHA-256 of config.json) and the generation's\n"
           "size and element counts per kind. The counts come from running the secure step code\n"
           "itself in plan mode, so plan and use cannot drift. They depend on L and N only,\n"
           "not on the prompt's text: L is the number of tokens the client's prompt encodes to.\n\n"
           "Options:\n"
           "      --model DIR       the model directory (config.json is read)\n"
           "      --tokens N        new tokens to generate (0 to the context's room)\n"
           "      --prompt-len L    prompt tokens (default %d)\n"
           "      --compare DOMAIN  where comparisons run: binary (the default: comparison\n"
           "                        masks and boolean triples, about twice as fast online)\n"
           "                        or arithmetic (edaBits and scalar triples, the layout of\n"
           "                        pools made before the binary domain existed)\n"
           "      --human           also print a table of elements per kind on stderr\n"
           "  -h, --help            show this help\n",
           PROG, DEFAULT_PROMPT_LEN);
}

static void table(const uint64_t c[MIMIR_PREP_KINDS])
{
    static const char *const names[MIMIR_PREP_KINDS] = {"triple", "matrix", "trunc",
                                                        "edabit", "wmask",  "wpair", "btriple", "cmask"};
    fprintf(stderr, "%-8s %14s\n", "kind", "elements");
    for (int k = 0; k < MIMIR_PREP_KINDS; k++)
        fprintf(stderr, "%-8s %14llu\n", names[k], (unsigned long long)c[k]);
}

int plan_main(int argc, char **argv)
{
    enum { O_MODEL = 256, O_TOKENS, O_PROMPT_LEN, O_HUMAN, O_COMPARE };
    static const struct option lo[] = {{"model", required_argument, 0, O_MODEL},
                                       {"tokens", required_argument, 0, O_TOKENS},
                                       {"prompt-len", required_argument, 0, O_PROMPT_LEN},
                                       {"human", no_argument, 0, O_HUMAN},
                                       {"compare", required_argument, 0, O_COMPARE},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    const char *model = NULL;
    uint64_t tokens = 0, plen = DEFAULT_PROMPT_LEN;
    int have_tokens = 0, human = 0, binary = MIMIR_COMPARE_BINARY_DEFAULT, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_TOKENS:
            if (parse_u64(optarg, 0, MAX_LEN, &tokens) != 0)
                return usage_fail(SUB, "--tokens %s: expected a count from 0 to %d", optarg,
                                  MAX_LEN);
            have_tokens = 1;
            break;
        case O_PROMPT_LEN:
            if (parse_u64(optarg, 1, MAX_LEN, &plen) != 0)
                return usage_fail(SUB, "--prompt-len %s: expected a count from 1 to %d",
                                  optarg, MAX_LEN);
            break;
        case O_HUMAN: human = 1; break;
        case O_COMPARE:
            if (strcmp(optarg, "binary") == 0)
                binary = 1;
            else if (strcmp(optarg, "arithmetic") == 0)
                binary = 0;
            else
                return usage_fail(SUB, "--compare %s: expected binary or arithmetic", optarg);
            break;
        case 'h': help(); return 0;
        case ':': return usage_fail(SUB, "%s needs an argument", argv[optind - 1]);
        default: return usage_fail(SUB, "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_fail(SUB, "unexpected argument '%s'", argv[optind]);
    if (model == NULL)
        return usage_fail(SUB, "no model, expected --model DIR");
    if (!have_tokens)
        return usage_fail(SUB, "no size, expected --tokens N");
    mimir_err err;
    mimir_err_clear(&err);
    mimir_plan_model m;
    uint64_t counts[MIMIR_PREP_KINDS];
    char *json = NULL;
    int rc = mimir_plan_model_load(model, &m, &err);
    if (rc == MIMIR_OK)
        rc = mimir_plan_make(&m, (int)plen, (int)tokens, binary, counts, &json, &err);
    if (rc != MIMIR_OK)
        return report(&err);
    int ok = fputs(json, stdout) >= 0 && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
    if (human)
        table(counts);
    free(json);
    if (!ok) {
        fprintf(stderr, "%s: <stdout>: write failed\n", PROG);
        return MIMIR_ERUNTIME;
    }
    return 0;
}
