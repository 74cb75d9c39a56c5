/*
 * mimir-generate — the client: generates text from a prompt with a GPT-2 model.
 *
 * The tool has modes, not subcommands: the default is the secure three-party mode (secure.c:
 * embedded, i.e. three local parties started here, or --cluster FILE for parties running
 * elsewhere, or --prepare DIR to only make an embedded cluster); --plaintext runs the model in
 * the clear in this process (the reference the secure mode is checked against).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "generate.h"

static const char usage[] =
    "usage: " PROG " [--cluster FILE | --prepare DIR] [--model DIR] [--tokens N] [--json]\n"
    "                      [--quiet] [--pad-to N] [--transport tcp|unix] [--security MODE]\n"
    "                      [PROMPT]\n"
    "       " PROG " --plaintext [--model DIR] [--float] [--tokens N] [--dump-logits FILE]\n"
    "                      [--json] [--quiet] [PROMPT]\n"
    "\n"
    "Generates text greedily from PROMPT (or stdin when absent) and writes it to stdout as it\n"
    "is produced. By default three parties compute on the secret-shared model and prompt and\n"
    "only this client learns the tokens: with no --cluster, three local mimir-party processes\n"
    "are started on loopback with the shipped model (a local trusted dealer makes their\n"
    "preprocessing).\n"
    "\n"
    "  --cluster FILE       drive parties running elsewhere (the file's \"client\" section has\n"
    "                       this client's cert and key, each party its client_address)\n"
    "  --prepare DIR        make the embedded cluster in DIR (certificates, cluster.json,\n"
    "                       model bundles, pools for this prompt and --tokens) and print the\n"
    "                       commands that run it, without running it\n"
    "  --pad-to N           hide the prompt length and --tokens from the parties behind a\n"
    "                       bucket of N tokens: they evaluate N - 1 positions whatever the\n"
    "                       prompt, and this client keeps only the real tokens (prompt +\n"
    "                       tokens <= N <= the model's context; the same text as unpadded)\n"
    "  --transport KIND     embedded cluster on tcp (loopback, default) or unix sockets\n"
    "  --security MODE      embedded: malicious (default) or semi-honest (speed comparison)\n"
    "  --plaintext          run the model in the clear in this process (the reference path)\n"
    "  --model DIR          config.json, model.safetensors and a tokenizer (default:\n"
    "                       $MIMIR_MODEL_DIR, else <bin>/../models/tiny)\n"
    "  --float              --plaintext: double precision instead of the fixed-point\n"
    "                       arithmetic of the secure path\n"
    "  --tokens N           tokens to generate (default 32); stops early at the context length\n"
    "  --max-tokens N       the same as --tokens\n"
    "  --dump-logits FILE   --plaintext: write the logits of every evaluated position as a\n"
    "                       (positions, vocab) float32 .npy\n"
    "  --json               one JSON object per token: {\"token\", \"text\", \"ms\"} and,\n"
    "                       secure, \"bytes\" and \"rounds\" of the step\n"
    "  --quiet              no summary line on stderr\n"
    "  --help               this help\n"
    "\n"
    "Exit status: 0 success, 1 a security check failed (a party cheated: MAC check,\n"
    "inconsistent shares), 2 bad usage or input, 3 runtime failure (a party gone, timeout).\n";

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", PROG);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see " PROG " --help)\n");
    return MIMIR_EINPUT;
}

int main(int argc, char **argv)
{
    enum { OPT_DUMP = 256, OPT_CLUSTER, OPT_PREPARE, OPT_TRANSPORT, OPT_SECURITY, OPT_PAD };
    static const struct option longopts[] = {
        {"plaintext", no_argument, NULL, 'p'},  {"model", required_argument, NULL, 'm'},
        {"float", no_argument, NULL, 'f'},      {"tokens", required_argument, NULL, 'n'},
        {"dump-logits", required_argument, NULL, OPT_DUMP},
        {"json", no_argument, NULL, 'j'},       {"quiet", no_argument, NULL, 'q'},
        {"max-tokens", required_argument, NULL, 'n'},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"prepare", required_argument, NULL, OPT_PREPARE},
        {"transport", required_argument, NULL, OPT_TRANSPORT},
        {"security", required_argument, NULL, OPT_SECURITY},
        {"pad-to", required_argument, NULL, OPT_PAD},
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
        case OPT_PAD:
            o.pad_to = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || o.pad_to < 2 || o.pad_to > 1000000)
                return bad_usage("--pad-to: '%s' is not a bucket length, expected 2 to "
                                 "1000000 tokens", optarg);
            break;
        case OPT_DUMP: o.dump_logits = optarg; break;
        case 'j': o.json = 1; break;
        case 'q': o.quiet = 1; break;
        case OPT_CLUSTER: o.cluster = optarg; break;
        case OPT_PREPARE: o.prepare = optarg; break;
        case OPT_TRANSPORT:
            if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "unix") != 0)
                return bad_usage("--transport: '%s', expected tcp or unix", optarg);
            o.unix_sockets = strcmp(optarg, "unix") == 0;
            break;
        case OPT_SECURITY:
            if (strcmp(optarg, "malicious") != 0 && strcmp(optarg, "semi-honest") != 0)
                return bad_usage("--security: '%s', expected malicious or semi-honest", optarg);
            o.semi_honest = strcmp(optarg, "semi-honest") == 0;
            break;
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

    // the mode switch
    if (o.plaintext) {
        if (o.cluster != NULL || o.prepare != NULL || o.pad_to != 0)
            return bad_usage("%s: --plaintext runs in this process, without parties",
                             o.cluster != NULL ? "--cluster"
                             : o.prepare != NULL ? "--prepare" : "--pad-to");
        return plaintext_main(&o);
    }
    if (o.use_float || o.dump_logits != NULL)
        return bad_usage("%s is for --plaintext only (the parties never hold plaintext "
                         "logits)", o.use_float ? "--float" : "--dump-logits");
    if (o.cluster != NULL && o.prepare != NULL)
        return bad_usage("%s: choose --cluster (remote parties) or --prepare (make an embedded "
                         "cluster)", "--prepare");
    return secure_main(&o);
}
