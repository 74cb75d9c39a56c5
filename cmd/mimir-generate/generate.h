/*
 * generate.h — mimir-generate's options and its modes.
 *
 * main.c parses the command line into a gen_opts and switches on the mode; each mode lives in
 * its own file (plaintext.c: in the clear; secure.c: three parties, embedded or remote) and
 * returns an exit code of ARCHITECTURE.md.
 */
#ifndef MIMIR_GENERATE_H
#define MIMIR_GENERATE_H

#include <stdint.h>
#include <stdio.h>

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
    const char *cluster;     /* --cluster FILE: drive remote parties (client mode) */
    const char *prepare;     /* --prepare DIR: make the embedded cluster in DIR, do not run */
    int unix_sockets;        /* --transport unix (embedded): Unix sockets instead of TCP */
    int semi_honest;         /* --security semi-honest (embedded) */
    long pad_to;             /* --pad-to N: the bucket (prompt + new tokens), 0 for none */
} gen_opts;

/* Generates in the clear (--plaintext). */
int plaintext_main(const gen_opts *o);

/* Generates with three parties: the embedded default, --cluster or --prepare (secure.c). */
int secure_main(const gen_opts *o);

/* --model, else $MIMIR_MODEL_DIR, else <dir of the binary>/../models/tiny (plaintext.c). */
const char *gen_model_dir(const gen_opts *o, char *buf, size_t cap);

/* Writes token bytes as the body of a JSON string (plaintext.c). */
void gen_json_text(FILE *out, const uint8_t *s, size_t n);

#endif
