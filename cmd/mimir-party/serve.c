/*
 * mimir-party [serve]: one party of three serves one secure generation to one client
 * (mimir-generate): it holds its shares of the model, its triple pool and its KV cache, and
 * evaluates the steps of lib/sgpt2.h with its two peers.
 *
 * The order of the protocol is the order of run(): cluster, model shares, pool, transcript;
 * the client (TLS, pinned; its start carries the prompt's one-hot components); the peers
 * (channels, coin toss, one round agreeing on the start's sizes), the engine (alpha from the
 * pool), the weights input (mimir_sgpt2_new), the prompt input, then the steps: every prompt
 * token but the last only extends the KV cache; the last and every generated token yield the
 * next token, whose index the party outputs to the client (after the MAC check) with the
 * step's figures. Between steps the party polls the client: a client that went away or
 * aborted stops the run. At the end: bye to the peers, transcript, end to the client, exit 0.
 *
 * A padded start (the client's --pad-to) hides the prompt length and the number of new tokens
 * behind the bucket: S steps that all sample and output, the input of step k > 0 chosen
 * obliviously as p_k + (1 - b_k) next_{k-1} from the client's shared slot p_k (the prompt's
 * one-hot, or zeros) and selection bit b_k (1 on prompt slots): one Beaver product of V
 * elements per step. The client discards the outputs that are not real tokens.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/admit.h"
#include "attest/boot.h"
#include "client.h"
#include "cluster.h"
#include "coin.h"
#include "common.h"
#include "io.h"
#include "mem.h"
#include "model.h"
#include "net.h"
#include "party.h"
#include "plan.h"
#include "pool.h"
#include "sgpt2.h"
#include "sharefile.h"
#include "spdz.h"
#include "transcript.h"

#define SUB "serve"
#define TOOL_NAME "mimir-party serve"
#define CONFIG_MAX_BYTES (1 << 20)
#define AGREE_BYTES 16 /* the start's sizes, compared between the parties */
#define PATH_BYTES 4096

typedef struct sargs {
    int party;
    const char *cluster, *model, *pool, *seed_file, *transcript;
    const char *unseal_key, *key_broker, *broker_pin; /* a sealed bundle's key source */
    int semi_honest, quiet;
#ifdef MIMIR_TEST_HOOKS
    mimir_spdz_fault fault;
    long die_after; /* TEST HOOK: SIGKILL itself after sending this many tokens (-1: never) */
    const char *logits_out; /* TEST HOOK: this party's components of every sampled step's
                               logits, appended raw (u64 LE: x_i then x_{i+1}, V each) */
#endif
} sargs;

typedef struct totals {
    uint32_t n_prompt, n_new, tokens, padded;
    uint64_t rounds, bytes;
    double ms;
} totals;

static void help(void)
{
    printf(
        "Usage: %s [serve] --party I --cluster FILE --model-shares DIR --pool DIR [options]\n"
        "\n"
        "Serves one secure generation: waits for the client (mimir-generate) on this party's\n"
        "client_address, then with the two other parties evaluates the model on the\n"
        "secret-shared prompt, one token at a time, and sends the client this party's shares of\n"
        "each generated token. Exits 0 when the session ends.\n"
        "\n"
        "Options:\n"
        "      --party I            this party's index, 0, 1 or 2\n"
        "      --cluster FILE       the cluster file (addresses, client_address, certificates,\n"
        "                           the client's pin, session)\n"
        "      --model-shares DIR   this party's model bundle ('mimir-share split' of a model);\n"
        "                           its model.shares.sealed (mimir-attest seal) is opened in\n"
        "                           memory, never written out, with one of:\n"
        "      --unseal-key FILE    the sealing key file (64 hex digits)\n"
        "      --key-broker ADDR    fetch the key from a key broker (mimir-attest broker) at\n"
        "                           tcp:HOST:PORT or unix:PATH, presenting this party's\n"
        "                           attested certificate and key from the cluster file\n"
        "      --broker-pin HEX     the broker certificate's SHA-256 (64 hex digits)\n"
        "      --pool DIR           this party's triple pool (mimir-triples deal), with enough\n"
        "                           items for the generation (mimir-generate's plan)\n"
        "      --seed-file FILE     fixed coin-toss seed (64 hex digits) for a reproducible\n"
        "                           run; its coins are only as secret as the file\n"
        "      --transcript FILE    write a hash-chained transcript (FILE must not exist)\n"
        "      --security MODE      malicious (default: MAC-checked) or semi-honest (no MACs,\n"
        "                           same protocol code, for speed comparison only)\n"
        "  -q, --quiet              no summary line on stderr\n"
#ifdef MIMIR_TEST_HOOKS
        "\nTest build only:\n"
        "      --test-fault KIND:AT[:BIT]  deviate at the AT-th event: open-flip, copy,\n"
        "                           mac-value, mac-commit, input-copy, input-mac\n"
        "      --test-die-after N   kill this process (SIGKILL) after sending N tokens\n"
        "      --test-logits FILE   append this party's components of each sampled step's\n"
        "                           logits to FILE (u64 LE, x_i then x_{i+1}, vocab each)\n"
#endif
        "  -h, --help               show this help\n"
        "\nExit status: 0 done, 1 a check failed (a party or the client cheated), 2 bad usage\n"
        "or input (also: a pool with too few items), 3 runtime failure (I/O, a peer or the\n"
        "client gone or timed out). A wrong unseal key or a key broker's refusal is 1, an\n"
        "unreachable broker 3.\n",
        PROG);
}

#ifdef MIMIR_TEST_HOOKS
/* TEST FAULT: --test-fault KIND:AT[:BIT] (as compute's). */
static int parse_fault(const char *s, mimir_spdz_fault *f)
{
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {
        {"open-flip", MIMIR_SPDZ_FAULT_OPEN_FLIP}, {"copy", MIMIR_SPDZ_FAULT_COPY},
        {"mac-value", MIMIR_SPDZ_FAULT_MAC_VALUE}, {"mac-commit", MIMIR_SPDZ_FAULT_MAC_COMMIT},
        {"input-copy", MIMIR_SPDZ_FAULT_INPUT_COPY}, {"input-mac", MIMIR_SPDZ_FAULT_INPUT_MAC},
    };
    char buf[64];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *at = strchr(buf, ':');
    if (at == NULL)
        return -1;
    *at++ = '\0';
    char *bit = strchr(at, ':');
    if (bit != NULL)
        *bit++ = '\0';
    f->kind = MIMIR_SPDZ_FAULT_NONE;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(buf, kinds[i].name) == 0)
            f->kind = kinds[i].kind;
    unsigned long v, b = 0;
    if (f->kind == MIMIR_SPDZ_FAULT_NONE || party_parse_uint(at, 100000000, &v) != 0 ||
        (bit != NULL && party_parse_uint(bit, 127, &b) != 0))
        return -1;
    f->at = v;
    f->bit = (unsigned)b;
    return 0;
}
#endif

enum {
    OPT_PARTY = 256, OPT_CLUSTER, OPT_MODEL, OPT_POOL, OPT_SEED_FILE, OPT_TRANSCRIPT,
    OPT_SECURITY, OPT_TEST_FAULT, OPT_TEST_DIE, OPT_TEST_LOGITS, OPT_UNSEAL_KEY, OPT_KEY_BROKER,
    OPT_BROKER_PIN,
};

/* Returns 0 to run, -1 after --help (exit 0), or an exit code. */
static int parse_args(int argc, char **argv, sargs *a)
{
    static const struct option longopts[] = {
        {"party", required_argument, NULL, OPT_PARTY},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"model-shares", required_argument, NULL, OPT_MODEL},
        {"pool", required_argument, NULL, OPT_POOL},
        {"seed-file", required_argument, NULL, OPT_SEED_FILE},
        {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
        {"unseal-key", required_argument, NULL, OPT_UNSEAL_KEY},
        {"key-broker", required_argument, NULL, OPT_KEY_BROKER},
        {"broker-pin", required_argument, NULL, OPT_BROKER_PIN},
        {"security", required_argument, NULL, OPT_SECURITY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
#ifdef MIMIR_TEST_HOOKS
        {"test-fault", required_argument, NULL, OPT_TEST_FAULT},
        {"test-die-after", required_argument, NULL, OPT_TEST_DIE},
        {"test-logits", required_argument, NULL, OPT_TEST_LOGITS},
#endif
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->party = -1;
#ifdef MIMIR_TEST_HOOKS
    a->die_after = -1;
#endif
    opterr = 0;
    optind = 1;
    int c;
    unsigned long v;
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PARTY:
            if (party_parse_uint(optarg, 2, &v) != 0)
                return party_usage_fail(SUB, "--party '%s', expected 0, 1 or 2", optarg);
            a->party = (int)v;
            break;
        case OPT_CLUSTER: a->cluster = optarg; break;
        case OPT_MODEL: a->model = optarg; break;
        case OPT_POOL: a->pool = optarg; break;
        case OPT_SEED_FILE: a->seed_file = optarg; break;
        case OPT_TRANSCRIPT: a->transcript = optarg; break;
        case OPT_UNSEAL_KEY: a->unseal_key = optarg; break;
        case OPT_KEY_BROKER: a->key_broker = optarg; break;
        case OPT_BROKER_PIN: a->broker_pin = optarg; break;
        case 'q': a->quiet = 1; break;
        case OPT_SECURITY:
            if (strcmp(optarg, "malicious") == 0)
                a->semi_honest = 0;
            else if (strcmp(optarg, "semi-honest") == 0)
                a->semi_honest = 1;
            else
                return party_usage_fail(SUB, "--security '%s', expected malicious or "
                                        "semi-honest", optarg);
            break;
#ifdef MIMIR_TEST_HOOKS
        case OPT_TEST_FAULT:
            if (parse_fault(optarg, &a->fault) != 0)
                return party_usage_fail(SUB, "--test-fault '%s', expected KIND:AT[:BIT]",
                                        optarg);
            break;
        case OPT_TEST_DIE:
            if (party_parse_uint(optarg, 1000000, &v) != 0)
                return party_usage_fail(SUB, "--test-die-after '%s', expected a count",
                                        optarg);
            a->die_after = (long)v;
            break;
        case OPT_TEST_LOGITS: a->logits_out = optarg; break;
#endif
        case 'h':
            help();
            return -1;
        case ':':
            return party_usage_fail(SUB, "option '%s' needs a value", argv[optind - 1]);
        default:
            return party_usage_fail(SUB, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return party_usage_fail(SUB, "unexpected argument '%s'", argv[optind]);
    if (a->party < 0)
        return party_usage_fail(SUB, "--party is missing, expected 0, 1 or 2");
    if (a->cluster == NULL)
        return party_usage_fail(SUB, "--cluster is missing, expected the cluster file");
    if (a->model == NULL)
        return party_usage_fail(SUB, "--model-shares is missing, expected this party's model "
                                "bundle directory");
    if (a->pool == NULL)
        return party_usage_fail(SUB, "--pool is missing, expected this party's triple pool");
    if (a->unseal_key != NULL && a->key_broker != NULL)
        return party_usage_fail(SUB, "--unseal-key and --key-broker both given, expected one "
                                "key source for the sealed shares");
    if (a->key_broker != NULL && a->broker_pin == NULL)
        return party_usage_fail(SUB, "--key-broker needs --broker-pin, the broker "
                                "certificate's SHA-256");
    if (a->broker_pin != NULL && a->key_broker == NULL)
        return party_usage_fail(SUB, "--broker-pin without --key-broker");
    return 0;
}

/* Names the command-line options in a boot error (attest/boot.h speaks of key sources). */
static void boot_err_options(const sargs *a, mimir_err *err)
{
    char file[MIMIR_ERR_FILEBYTES];
    snprintf(file, sizeof file, "%s", err->file); /* mimir_err_set clears the record first */
    int no_source = a->unseal_key == NULL && a->key_broker == NULL;
    if (err->code == MIMIR_EINPUT && no_source && strcmp(err->field, "key") == 0)
        mimir_err_set(err, MIMIR_EINPUT, file, "key",
                      "the shares are sealed: give --unseal-key FILE or --key-broker ADDR "
                      "--broker-pin HEX");
    else if (err->code == MIMIR_EINPUT && !no_source && strcmp(err->field, "magic") == 0)
        mimir_err_set(err, MIMIR_EINPUT, file, "magic",
                      "not sealed, but %s was given: expected model.shares.sealed "
                      "(mimir-attest seal)", a->unseal_key ? "--unseal-key" : "--key-broker");
    else if (strcmp(err->field, "--pin") == 0)
        snprintf(err->field, sizeof err->field, "--broker-pin");
    else if (a->key_broker != NULL && err->field[0] == '\0' &&
             strcmp(err->file, a->key_broker) == 0)
        snprintf(err->field, sizeof err->field, "--key-broker");
}

/* The bundle's public config.json and this party's model shares (plaintext, or sealed and
 * opened in memory: attest/boot.h), checked against each other. */
static int load_model(const sargs *a, const mimir_cluster *cl, mimir_gpt2_config *cfg,
                      mimir_share **w, mimir_err *err)
{
    char path[PATH_BYTES];
    snprintf(path, sizeof path, "%s/config.json", a->model);
    uint8_t *json = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, CONFIG_MAX_BYTES, &json, &len, err);
    if (rc == MIMIR_OK)
        rc = mimir_gpt2_config_parse(path, (const char *)json, len, cfg, err);
    free(json);
    if (rc != MIMIR_OK)
        return rc;
    /* the broker sees this party's attested TLS certificate, the one its peers admit */
    const mimir_boot_key bk = {.key_file = a->unseal_key, .broker = a->key_broker,
                               .broker_pin = a->broker_pin,
                               .cert = cl->party[a->party].cert_path,
                               .key = cl->party[a->party].key_path};
    if ((rc = mimir_boot_read_shares(a->model, &bk, MIMIR_SHARE_MAX_BYTES, w, err))) {
        boot_err_options(a, err);
        return rc;
    }
    const mimir_share *s = *w;
    if (s->kind != MIMIR_SHARE_MODEL)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "kind", "%s shares, expected a model "
                             "bundle's", mimir_share_kind_name(s->kind));
    if (s->party != a->party)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "party",
                             "party %d's shares, expected party %d's", s->party, a->party);
    if (s->ring != MIMIR_RSS_RING64)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "ring", "ring %u, expected 64",
                             s->ring);
    if ((int)s->frac_bits != cfg->frac_bits)
        return mimir_err_set(err, MIMIR_EINPUT, s->name, "frac_bits",
                             "%u fractional bits, expected %d as config.json says", s->frac_bits,
                             cfg->frac_bits);
    return MIMIR_OK;
}

/* The start fits the model: vocabulary and context. */
static int check_start(const mimir_client_start *st, const mimir_gpt2_config *cfg,
                       mimir_err *err)
{
    if (st->vocab != (uint32_t)cfg->vocab_size)
        return mimir_err_set(err, MIMIR_EINPUT, "client", "start.vocab",
                             "vocabulary %u, expected the model's %d", (unsigned)st->vocab,
                             cfg->vocab_size);
    if (st->flags == MIMIR_CLIENT_START_PADDED) {
        if (st->n_prompt > (uint32_t)cfg->n_ctx)
            return mimir_err_set(err, MIMIR_EINPUT, "client", "start",
                                 "a padded session of %u steps, expected at most the model's "
                                 "context of %d", (unsigned)st->n_prompt, cfg->n_ctx);
        return MIMIR_OK;
    }
    if ((uint64_t)st->n_prompt + st->n_new - 1 > (uint64_t)cfg->n_ctx)
        return mimir_err_set(err, MIMIR_EINPUT, "client", "start",
                             "%u prompt and %u new tokens need %llu positions, expected at most "
                             "the model's context of %d", (unsigned)st->n_prompt,
                             (unsigned)st->n_new,
                             (unsigned long long)st->n_prompt + st->n_new - 1, cfg->n_ctx);
    return MIMIR_OK;
}

/* One round: the three parties check that the client gave them the same sizes. */
static int agree_start(mimir_net *net, int self, const mimir_client_start *st, mimir_err *err)
{
    uint8_t mine[AGREE_BYTES] = {0}, theirs[MIMIR_NET_PARTIES][AGREE_BYTES];
    const uint32_t v[4] = {st->n_prompt, st->n_new, st->vocab, st->flags};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++)
            mine[4 * i + b] = (uint8_t)(v[i] >> (8 * b));
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (p == self)
            continue;
        io[p] = (mimir_net_io){1, mine, sizeof mine, 1, theirs[p], AGREE_BYTES};
    }
    int rc = mimir_net_exchange(net, io, err);
    for (int p = 0; p < MIMIR_NET_PARTIES && rc == MIMIR_OK; p++)
        if (p != self && memcmp(mine, theirs[p], AGREE_BYTES) != 0) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, "client", "start",
                               "party %d and party %d got different sizes from the client",
                               self, p);
            mimir_net_abort(net, err);
        }
    return rc;
}

static uint64_t bytes_sent(const mimir_net *net, int self)
{
    uint64_t n = 0;
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (p == self)
            continue;
        mimir_net_stats st;
        mimir_net_get_stats(net, p, &st);
        n += st.bytes_sent;
    }
    return n;
}

/* Element range [off, off + n) of v, as a vector that shares v's memory (never freed). */
static mimir_sv sv_view(const mimir_sv *v, size_t off, size_t n)
{
    mimir_sv w;
    memset(&w, 0, sizeof w);
    w.n = n;
    for (int j = 0; j < 2; j++) {
        w.x[j] = v->x[j] + off;
        w.m[j] = v->m[j] != NULL ? v->m[j] + off : NULL;
    }
    return w;
}

/* Everything the run holds, freed in one place. */
typedef struct held {
    mimir_cluster *cl;
    mimir_share *weights;
    mimir_pool *pool;
    mimir_transcript *tr;
    mimir_client_conn *client;
    mimir_net *net;
    mimir_admit *admit;
    mimir_coin *coin;
    mimir_spdz *s;
    mimir_sgpt2 *g;
    mimir_r64 *c0, *c1;
    mimir_sv prompt, cur, nxt, idx;
    mimir_sv sel, prod, in; /* padded sessions: the oblivious choice of each step's input */
    mimir_sv logits;        /* test build, --test-logits */
    uint8_t *seed;
} held;

static void held_free(held *h)
{
    mimir_sv_free(&h->prompt);
    mimir_sv_free(&h->cur);
    mimir_sv_free(&h->nxt);
    mimir_sv_free(&h->idx);
    mimir_sv_free(&h->sel);
    mimir_sv_free(&h->prod);
    mimir_sv_free(&h->in);
    mimir_sv_free(&h->logits);
    mimir_sgpt2_free(h->g);
    mimir_spdz_free(h->s);
    mimir_coin_free(h->coin);
    mimir_net_free(h->net);
    mimir_admit_free(h->admit);
    mimir_client_close(h->client);
    mimir_transcript_free(h->tr);
    mimir_pool_close(h->pool);
    mimir_share_free(h->weights);
    mimir_cluster_free(h->cl);
    mimir_secret_free(h->c0);
    mimir_secret_free(h->c1);
    mimir_key_free(h->seed);
}

/* Channels, coin toss, agreement on the start, engine, weights, prompt input. */
static int setup_online(const sargs *a, held *h, const mimir_gpt2_config *cfg,
                        const mimir_client_start *st, mimir_err *err)
{
    mimir_net_opts nopts;
    memset(&nopts, 0, sizeof nopts);
    if (h->tr != NULL) {
        nopts.observer = mimir_transcript_observer;
        nopts.observer_arg = h->tr;
    }
    int rc = mimir_admit_configure(h->cl, &nopts, &h->admit, err);
    if (rc == MIMIR_OK)
        rc = mimir_net_open(h->cl, &nopts, &h->net, err);
    mimir_coin_opts copts = {.fixed_seed = h->seed, .test_fault = 0};
    if (rc == MIMIR_OK)
        rc = mimir_coin_toss(h->net, &copts, &h->coin, err);
    if (rc == MIMIR_OK)
        rc = agree_start(h->net, a->party, st, err);
    if (rc == MIMIR_OK)
        rc = party_align_pool(h->pool, h->net, a->party, a->pool, a->quiet, err);
    if (rc != MIMIR_OK)
        return rc;
    mimir_spdz_opts sopts;
    memset(&sopts, 0, sizeof sopts);
    sopts.semi_honest = a->semi_honest;
    sopts.transcript = h->tr;
#ifdef MIMIR_TEST_HOOKS
    sopts.fault = a->fault;
#endif
    mimir_r128 alpha[2] = {0, 0};
    mimir_pool_alpha(h->pool, alpha);
    rc = mimir_spdz_new(h->net, h->coin, mimir_pool_prep(h->pool), alpha, &sopts, &h->s, err);
    mimir_wipe(alpha, sizeof alpha);
    if (rc == MIMIR_OK)
        rc = mimir_sgpt2_new(h->s, cfg, h->weights, &h->g, err);
    /* the weights now live in the engine: this party's file copy is no longer needed */
    mimir_share_free(h->weights);
    h->weights = NULL;
    size_t words = (size_t)mimir_client_start_words(st);
    const mimir_r64 *const c[2] = {h->c0, h->c1};
    if (rc == MIMIR_OK)
        rc = mimir_spdz_input_shares(h->s, c, words, &h->prompt, err);
    mimir_secret_free(h->c0);
    mimir_secret_free(h->c1);
    h->c0 = h->c1 = NULL;
    int macs = mimir_spdz_macs(h->s);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&h->cur, st->vocab, macs, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&h->nxt, st->vocab, macs, err);
    if (rc == MIMIR_OK)
        rc = mimir_sv_alloc(&h->idx, 1, macs, err);
    if (rc == MIMIR_OK && st->flags == MIMIR_CLIENT_START_PADDED) {
        rc = mimir_sv_alloc(&h->sel, st->vocab, macs, err);
        if (rc == MIMIR_OK)
            rc = mimir_sv_alloc(&h->prod, st->vocab, macs, err);
        if (rc == MIMIR_OK)
            rc = mimir_sv_alloc(&h->in, st->vocab, macs, err);
    }
#ifdef MIMIR_TEST_HOOKS
    if (rc == MIMIR_OK && a->logits_out != NULL)
        rc = mimir_sv_alloc(&h->logits, st->vocab, macs, err);
#endif
    return rc;
}

/* Padded step k > 0: in = p_k + (1 - b_k) cur = p_k + cur - b_k cur, where cur is the token
 * step k-1 chose. b_k is copied into every element of sel (a copy of a sharing is a sharing of
 * the copy, MACs included); one Beaver product of V elements, 1 round. No branch on b_k. */
static int padded_input(held *h, const mimir_client_start *st, int k, mimir_err *err)
{
    size_t V = st->vocab, bit = (size_t)st->n_prompt * V + (size_t)k;
    for (size_t j = 0; j < V; j++)
        for (int c = 0; c < 2; c++) {
            h->sel.x[c][j] = h->prompt.x[c][bit];
            if (h->sel.m[c] != NULL)
                h->sel.m[c][j] = h->prompt.m[c][bit];
        }
    mimir_sv slot = sv_view(&h->prompt, (size_t)k * V, V);
    int rc = mimir_spdz_mul(h->s, &h->prod, &h->sel, &h->cur, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_sub(h->s, &h->in, &h->cur, &h->prod, err);
    if (rc == MIMIR_OK)
        rc = mimir_spdz_add(h->s, &h->in, &h->in, &slot, err);
    return rc;
}

#ifdef MIMIR_TEST_HOOKS
/* TEST HOOK --test-logits: this party's two components of the step's logits, mod 2^64. */
static int dump_logits(const sargs *a, const mimir_sv *lg, mimir_err *err)
{
    FILE *f = fopen(a->logits_out, "ab");
    if (f == NULL)
        return mimir_err_errno(err, a->logits_out, "open");
    for (int c = 0; c < 2; c++)
        for (size_t j = 0; j < lg->n; j++) {
            uint64_t v = (uint64_t)lg->x[c][j];
            uint8_t b[8];
            for (int i = 0; i < 8; i++)
                b[i] = (uint8_t)(v >> (8 * i));
            fwrite(b, 1, sizeof b, f);
        }
    if (fclose(f) != 0)
        return mimir_err_errno(err, a->logits_out, "write");
    return MIMIR_OK;
}
#endif

/* The steps: prompt positions, then generated ones; each sampled token goes to the client. */
static int run_steps(const sargs *a, held *h, const mimir_client_start *st, totals *t,
                     mimir_err *err)
{
    int padded = st->flags == MIMIR_CLIENT_START_PADDED;
    int steps = padded ? (int)st->n_prompt : mimir_sgpt2_steps((int)st->n_prompt,
                                                               (int)st->n_new);
    int rc = MIMIR_OK;
    mimir_sv *logits = h->logits.n != 0 ? &h->logits : NULL;
    for (int k = 0; k < steps && rc == MIMIR_OK; k++) {
        if ((rc = mimir_client_poll_abort(h->client, err)) != MIMIR_OK)
            break;
        double t0 = party_now_ms();
        uint64_t r0 = mimir_net_rounds(h->net), b0 = bytes_sent(h->net, a->party);
        mimir_sv tok = k < (int)st->n_prompt
                           ? sv_view(&h->prompt, (size_t)k * st->vocab, st->vocab)
                           : h->cur;
        if (padded && k > 0) {
            if ((rc = padded_input(h, st, k, err)) != MIMIR_OK)
                break;
            tok = h->in;
        }
        int sample = padded || k >= (int)st->n_prompt - 1;
        rc = mimir_sgpt2_step(h->g, &tok, sample ? &h->nxt : NULL, sample ? &h->idx : NULL,
                              sample ? logits : NULL, err);
#ifdef MIMIR_TEST_HOOKS
        if (rc == MIMIR_OK && sample && logits != NULL)
            rc = dump_logits(a, logits, err);
#endif
        if (rc != MIMIR_OK || !sample)
            continue;
        mimir_client_token out;
        memset(&out, 0, sizeof out);
        mimir_r64 *const oc[2] = {&out.c[0], &out.c[1]};
        if ((rc = mimir_spdz_output(h->s, &h->idx, oc, err)) != MIMIR_OK)
            break;
        out.step = t->tokens;
        out.us = (uint64_t)((party_now_ms() - t0) * 1000.0);
        out.rounds = mimir_net_rounds(h->net) - r0;
        out.bytes = bytes_sent(h->net, a->party) - b0;
        rc = mimir_client_send_token(h->client, &out, err);
        mimir_wipe(&out, sizeof out);
        t->tokens++;
        /* the chosen one-hot is the next step's input; it stays shared */
        mimir_sv swap = h->cur;
        h->cur = h->nxt;
        h->nxt = swap;
#ifdef MIMIR_TEST_HOOKS
        if (a->die_after >= 0 && (long)t->tokens >= a->die_after)
            raise(SIGKILL); /* TEST HOOK: a party that dies mid-generation */
#endif
    }
    return rc;
}

static int run(const sargs *a, held *h, totals *t, mimir_err *err)
{
    double t0 = party_now_ms();
    mimir_gpt2_config cfg;
    mimir_client_start st;
    int rc = MIMIR_OK;
    if (a->seed_file != NULL) {
        h->seed = mimir_key_alloc(PARTY_SEED_BYTES);
        if (h->seed == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        if ((rc = party_read_seed_file(a->seed_file, h->seed, err)))
            return rc;
    }
    if ((rc = mimir_cluster_load(a->cluster, a->party, &h->cl, err)))
        return rc;
    if (!h->cl->has_client || h->cl->client_at[a->party].address == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, a->cluster,
                             h->cl->has_client ? "client_address" : "client",
                             h->cl->has_client ? "missing for this party: where it listens for "
                                                 "the client"
                                               : "missing: the client's pin {\"cert\" | "
                                                 "\"sha256\"}");
    if ((rc = load_model(a, h->cl, &cfg, &h->weights, err)))
        return rc;
    /* a pool dealt or generated from a plan for another model is refused (lib/plan.h) */
    if ((rc = mimir_plan_pool_check(a->pool, a->model, err)))
        return rc;
    if ((rc = mimir_pool_open(a->pool, a->party, h->cl->session, &h->pool, err)))
        return rc;
    if (!a->semi_honest && !mimir_pool_macs(h->pool))
        return mimir_err_set(err, MIMIR_EINPUT, a->pool, "macs",
                             "a semi-honest pool (no MAC words), expected a pool with MACs for "
                             "--security malicious");
    if ((rc = party_verify_pool(h->pool, a->party, a->pool, a->quiet, err)))
        return rc;
    if (a->transcript != NULL) {
        rc = mimir_transcript_create(a->transcript, h->cl->session, a->party, TOOL_NAME, &h->tr,
                                     err);
        if (rc)
            return rc;
        mimir_transcript_note(h->tr, "op", "generate");
        mimir_transcript_note(h->tr, "security", a->semi_honest ? "semi-honest" : "malicious");
    }
    if ((rc = mimir_client_accept(h->cl, 0, &h->client, err)))
        return rc;
    uint64_t max_words = (uint64_t)cfg.n_ctx * ((uint64_t)cfg.vocab_size + 1);
    if ((rc = mimir_client_recv_start(h->client, max_words, &st, &h->c0, &h->c1, err)))
        return rc;
    if ((rc = check_start(&st, &cfg, err)))
        return rc;
    t->n_prompt = st.n_prompt;
    t->n_new = st.n_new;
    t->padded = st.flags == MIMIR_CLIENT_START_PADDED;
    if ((rc = setup_online(a, h, &cfg, &st, err)))
        return rc;
    if ((rc = run_steps(a, h, &st, t, err)))
        return rc;
    t->bytes = bytes_sent(h->net, a->party);
    if ((rc = mimir_net_close(h->net, err)))
        return rc;
    t->rounds = mimir_net_rounds(h->net);
    if (h->tr != NULL) {
        rc = mimir_transcript_close(h->tr, t->rounds, NULL, err);
        mimir_transcript_free(h->tr);
        h->tr = NULL;
        if (rc)
            return rc;
    }
    t->ms = party_now_ms() - t0;
    mimir_client_end e = {.tokens = t->tokens, .rounds = t->rounds, .bytes = t->bytes,
                          .us = (uint64_t)(t->ms * 1000.0)};
    return mimir_client_send_end(h->client, &e, err);
}

int serve_main(int argc, char **argv)
{
    sargs a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    held h;
    memset(&h, 0, sizeof h);
    totals t;
    memset(&t, 0, sizeof t);
    mimir_err err;
    mimir_err_clear(&err);
    rc = run(&a, &h, &t, &err);
    if (rc != MIMIR_OK) {
        /* peers and the client hear why this party stops (a failed net repeats its reason) */
        if (h.net != NULL)
            mimir_net_abort(h.net, &err);
        mimir_client_send_abort(h.client, &err);
    }
    held_free(&h);
    if (rc != MIMIR_OK) {
        /* one line naming this party first: the three parties' logs often land together */
        fprintf(stderr, "%s: party %d: %s%s%s%s%s\n", PROG, a.party, err.file,
                err.file[0] ? ": " : "", err.field, err.field[0] ? ": " : "", err.msg);
        return err.code != MIMIR_OK ? err.code : MIMIR_ERUNTIME;
    }
    if (!a.quiet)
        fprintf(stderr, "%s: party %d: served %u %s%u%s: %llu rounds, "
                "%llu bytes sent, %.0f ms (%s)\n", PROG, a.party, (unsigned)t.tokens,
                t.padded ? "padded steps (bucket " : "tokens after a ",
                t.padded ? (unsigned)t.n_prompt + 1 : (unsigned)t.n_prompt,
                t.padded ? ")" : "-token prompt", (unsigned long long)t.rounds,
                (unsigned long long)t.bytes, t.ms, a.semi_honest ? "semi-honest" : "malicious");
    return 0;
}
