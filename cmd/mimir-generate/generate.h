/*
 * generate.h — mimir-generate's options and its modes.
 *
 * main.c parses the command line into a gen_opts and switches on the mode; each mode lives in
 * its own file (plaintext.c now; the three-party mode is another issue) and returns an exit
 * code of ARCHITECTURE.md.
 */
#ifndef MIMIR_GENERATE_H
#define MIMIR_GENERATE_H

#define PROG "mimir-generate"
#define GEN_TOKENS_DEFAULT 32
#define GEN_PROMPT_MAX_BYTES (1u << 20)

typedef struct gen_opts {
    int plaintext;           /* --plaintext: run the model in the clear, in this process */
    int use_float;           /* --float: double precision instead of fixed point */
    const char *model;       /* --model DIR, or NULL for the default */
    long tokens;             /* --tokens N */
    const char *dump_logits; /* --dump-logits FILE, or NULL */
    int json;                /* --json: one JSON object per token on stdout */
    int quiet;               /* --quiet: no summary line */
    const char *prompt;      /* the PROMPT argument, or NULL to read stdin */
} gen_opts;

/* Generates in the clear (--plaintext). */
int plaintext_main(const gen_opts *o);

#endif
