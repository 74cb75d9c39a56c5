/* mimir-attest seal / unseal — a share bundle's file encrypted at rest (attest/seal.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "attest/broker.h"
#include "attest/seal.h"
#include "io.h"
#include "mem.h"
#include "tool.h"

static void seal_help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " seal (--key-out KEYFILE | --key KEYFILE) [--chunk BYTES] FILE\n"
            "                         -o SEALED\n"
            "Encrypts FILE (e.g. a share bundle's model.shares) with libsodium secretstream\n"
            "(XChaCha20-Poly1305, authenticated chunks, final tag) under a 32-byte key.\n"
            "  --key-out KEYFILE  make a fresh key and write it to this new file (64 hex digits,\n"
            "                     mode 0600); an existing file is refused\n"
            "  --key KEYFILE      use an existing key\n"
            "  --chunk BYTES      plaintext bytes per chunk (default %d)\n"
            "  -o, --output FILE  the sealed file, written atomically ('-' = stdout)\n"
            "Exit: 0 sealed, 2 bad usage or input, 3 I/O error.\n", MIMIR_SEAL_CHUNK);
}

static void unseal_help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " unseal --key KEYFILE SEALED -o FILE\n"
            "       " PROG " unseal --key-from-broker ADDR --cert C --key-pem K --pin SHA256\n"
            "                         SEALED -o FILE\n"
            "Decrypts and authenticates SEALED; the output (mode 0600) appears only if every\n"
            "chunk and the final tag authenticate.\n"
            "  --key KEYFILE            the key (64 hex digits)\n"
            "  --key-from-broker ADDR   fetch the key from a broker (tcp:HOST:PORT or unix:PATH)\n"
            "                           with certificate C, private key K, broker pin SHA256\n"
            "  -o, --output FILE        the plaintext, written atomically ('-' = stdout)\n"
            "Exit: 0 opened, 1 authentication failed (wrong key, modified or truncated file,\n"
            "or the broker refused), 2 malformed file or bad usage, 3 I/O error.\n");
}

static int open_in(const char *path, FILE **fp, mimir_err *err)
{
    if (strcmp(path, "-") == 0) {
        *fp = stdin;
        return MIMIR_OK;
    }
    *fp = fopen(path, "rb");
    if (*fp == NULL) {
        mimir_err_errno(err, path, "cannot open");
        err->code = MIMIR_EINPUT;
        return MIMIR_EINPUT;
    }
    return MIMIR_OK;
}

static void close_in(FILE *fp)
{
    if (fp != NULL && fp != stdin)
        fclose(fp);
}

int seal_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key-out", required_argument, NULL, 'K'}, {"key", required_argument, NULL, 'k'},
        {"chunk", required_argument, NULL, 'c'},   {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *key_out = NULL, *key_in = NULL, *output = NULL;
    size_t chunk = 0;
    mimir_err err;
    mimir_err_clear(&err);
    int ch, rc = MIMIR_OK;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'K': key_out = optarg; break;
        case 'k': key_in = optarg; break;
        case 'o': output = optarg; break;
        case 'c': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v < MIMIR_SEAL_MIN_CHUNK ||
                v > MIMIR_SEAL_MAX_CHUNK) {
                fprintf(stderr, PROG ": --chunk: '%s' is not a chunk size, expected %d to %d\n",
                        optarg, MIMIR_SEAL_MIN_CHUNK, MIMIR_SEAL_MAX_CHUNK);
                return MIMIR_EINPUT;
            }
            chunk = v;
            break;
        }
        case 'h': seal_help(stdout); return 0;
        default: fprintf(stderr, PROG ": bad option, see '" PROG " seal --help'\n");
                 return MIMIR_EINPUT;
        }
    }
    if (optind != argc - 1 || output == NULL || (key_out == NULL) == (key_in == NULL)) {
        fprintf(stderr, PROG ": seal: expected one FILE, -o SEALED and exactly one of --key-out "
                        "or --key, see '" PROG " seal --help'\n");
        return MIMIR_EINPUT;
    }
    const char *input = argv[optind];
    struct stat st;
    if (key_out != NULL && strcmp(key_out, "-") != 0 && lstat(key_out, &st) == 0) {
        fprintf(stderr, PROG ": %s: --key-out: file exists and may be the key of other sealed "
                        "files, expected a new path (or --key to reuse it)\n", key_out);
        return MIMIR_EINPUT;
    }
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    FILE *in = NULL;
    mimir_out out = {0};
    int opened = 0;
    if (key == NULL)
        rc = mimir_err_set(&err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = key_in ? mimir_seal_key_load(key_in, key, &err) : mimir_seal_keygen(key, &err);
    if (rc == MIMIR_OK)
        rc = open_in(input, &in, &err);
    if (rc == MIMIR_OK && (rc = mimir_out_open(&out, output, &err)) == MIMIR_OK)
        opened = 1;
    if (rc == MIMIR_OK)
        rc = mimir_seal_stream(in, input, out.fp, key, chunk, &err);
    /* The key file first: a sealed file whose key was lost would be useless. */
    if (rc == MIMIR_OK && key_out != NULL)
        rc = mimir_seal_key_save(key_out, key, &err);
    if (rc == MIMIR_OK) {
        opened = 0;
        rc = mimir_out_commit(&out, &err);
    }
    if (opened)
        mimir_out_abort(&out);
    close_in(in);
    mimir_key_free(key);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, PROG, &err);
    return rc;
}

int unseal_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},     {"output", required_argument, NULL, 'o'},
        {"key-from-broker", required_argument, NULL, 'b'},
        {"cert", required_argument, NULL, 'c'},    {"key-pem", required_argument, NULL, 'p'},
        {"pin", required_argument, NULL, 'P'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_in = NULL, *output = NULL, *broker = NULL, *cert = NULL, *kpem = NULL,
               *pin = NULL;
    mimir_err err;
    mimir_err_clear(&err);
    int ch, rc = MIMIR_OK;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'k': key_in = optarg; break;
        case 'o': output = optarg; break;
        case 'b': broker = optarg; break;
        case 'c': cert = optarg; break;
        case 'p': kpem = optarg; break;
        case 'P': pin = optarg; break;
        case 'h': unseal_help(stdout); return 0;
        default: fprintf(stderr, PROG ": bad option, see '" PROG " unseal --help'\n");
                 return MIMIR_EINPUT;
        }
    }
    if (optind != argc - 1 || output == NULL || (key_in == NULL) == (broker == NULL) ||
        (broker != NULL && (cert == NULL || kpem == NULL || pin == NULL))) {
        fprintf(stderr, PROG ": unseal: expected one SEALED file, -o FILE and either --key or "
                        "--key-from-broker with --cert, --key-pem and --pin, see '" PROG
                        " unseal --help'\n");
        return MIMIR_EINPUT;
    }
    const char *input = argv[optind];
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    FILE *in = NULL;
    mimir_out out = {0};
    int opened = 0;
    if (key == NULL)
        rc = mimir_err_set(&err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK && key_in != NULL)
        rc = mimir_seal_key_load(key_in, key, &err);
    if (rc == MIMIR_OK && broker != NULL)
        rc = mimir_broker_fetch(broker, cert, kpem, pin, key, &err);
    if (rc == MIMIR_OK)
        rc = open_in(input, &in, &err);
    if (rc == MIMIR_OK && (rc = mimir_out_open(&out, output, &err)) == MIMIR_OK) {
        opened = 1;
        if (out.tmp != NULL)
            fchmod(fileno(out.fp), 0600); /* plaintext shares: owner only */
    }
    if (rc == MIMIR_OK)
        rc = mimir_seal_open_stream(in, input, out.fp, key, &err);
    if (rc == MIMIR_OK) {
        opened = 0;
        rc = mimir_out_commit(&out, &err);
    }
    if (opened)
        mimir_out_abort(&out);
    close_in(in);
    mimir_key_free(key);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, PROG, &err);
    return rc;
}
