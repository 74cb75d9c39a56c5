/*
 * mimir-generate — the client: generates text from a prompt with a GPT-2 model.
 *
 * The tool has modes, not subcommands: --plaintext runs the model in the clear in this process
 * (the reference the secure mode is checked against); the three-party secure mode is added by
 * another issue as a second branch of the switch in main().
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "generate.h"

static const char usage[] =
    "usage: " PROG " --plaintext [--model DIR] [--float] [--tokens N] [--dump-logits FILE]\n"
    "                      [--json] [--quiet] [PROMPT]\n"
    "\n"
    "Generates text greedily from PROMPT (or stdin when absent) and writes it to stdout as it\n"
    "is produced.\n"
    "\n"
    "  --plaintext          run the model in the clear in this process (the reference path)\n"
    "  --model DIR          config.json, model.safetensors and a tokenizer (default:\n"
    "                       $MIMIR_MODEL_DIR, else <bin>/../models/tiny)\n"
    "  --float              double precision instead of the fixed-point arithmetic of the\n"
    "                       secure path\n"
    "  --tokens N           tokens to generate (default 32); stops early at the context length\n"
    "  --dump-logits FILE   write the logits of every evaluated position as a (positions,\n"
    "                       vocab) float32 .npy\n"
    "  --json               one JSON object per token: {\"token\", \"text\", \"ms\"}\n"
    "  --quiet              no summary line on stderr\n"
    "  --help               this help\n"
    "\n"
    "Exit status: 0 success, 2 bad usage or input, 3 runtime failure.\n";

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", PROG);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see " PROG " --help)\n");
    return MIMIR_EINPUT;
}

int main(int argc, char **argv)
{
    enum { OPT_DUMP = 256 };
    static const struct option longopts[] = {
        {"plaintext", no_argument, NULL, 'p'},  {"model", required_argument, NULL, 'm'},
        {"float", no_argument, NULL, 'f'},      {"tokens", required_argument, NULL, 'n'},
        {"dump-logits", required_argument, NULL, OPT_DUMP},
        {"json", no_argument, NULL, 'j'},       {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    gen_opts o = {.tokens = GEN_TOKENS_DEFAULT};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'p': o.plaintext = 1; break;
        case 'm': o.model = optarg; break;
        case 'f': o.use_float = 1; break;
        case 'n':
            o.tokens = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || o.tokens < 1 || o.tokens > 1000000)
                return bad_usage("--tokens: '%s' is not a count, expected 1 to 1000000",
                                 optarg);
            break;
        case OPT_DUMP: o.dump_logits = optarg; break;
        case 'j': o.json = 1; break;
        case 'q': o.quiet = 1; break;
        case 'h': fputs(usage, stdout); return 0;
        default:
            return bad_usage("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return bad_usage("expected one PROMPT argument, got %s more (quote the prompt)",
                         argc - optind == 2 ? "one" : "several");
    if (optind < argc)
        o.prompt = argv[optind];

    // the mode switch: the secure three-party mode joins here
    if (o.plaintext)
        return plaintext_main(&o);
    fprintf(stderr, "%s: the three-party mode is not available in this build; use --plaintext\n",
            PROG);
    return MIMIR_EINPUT;
}
