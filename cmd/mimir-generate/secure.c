/*
 * secure.c — mimir-generate's three-party mode: the client of lib/client.h.
 *
 * The client encodes the prompt, splits its one-hot vectors into replicated shares (lib/rss.h)
 * and gives each party its two components; the parties evaluate the model step by step
 * (mimir-party serve, lib/sgpt2.h) and send their components of each chosen token's index; the
 * client joins the three (every component's two copies must agree: else exit 1), prints the
 * token at once, and stops at the first failure, naming the party (the tokens already printed
 * stay printed).
 *
 * Without --cluster it is the embedded default: in a temporary directory it makes certificates
 * and a cluster file on loopback (TCP, or Unix sockets), splits the model with mimir-share
 * split, computes the plan (mimir_sgpt2_plan) and has mimir-triples deal make the three pools
 * with a LOCAL TRUSTED DEALER (this process knows every preprocessed item: fine for a demo on
 * one machine, not for three organisations), starts three mimir-party processes beside this
 * binary, acts as their client, waits for them and removes the directory. --prepare DIR does
 * the same setup into DIR and prints the commands instead of running them.
 *
 * --pad-to N: the parties see a bucket, not the lengths. They run S = N - 1 steps that all
 * sample (serve.c: each step's input is chosen obliviously between the client's slot and the
 * previous choice); the client sends the prompt's one-hot slots (zeros after the prompt) and
 * selection bits, joins every step's token (each join is checked) and prints only the real
 * ones: steps n_prompt - 1 .. n_prompt + n - 2. The rest are discarded, and the client reads to
 * the end so that even its hanging up does not tell the parties where the real tokens stopped.
 */
#include <jansson.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "cluster.h"
#include "compare.h"
#include "err.h"
#include "generate.h"
#include "io.h"
#include "mem.h"
#include "model.h"
#include "prep.h"
#include "rss.h"
#include "sgpt2.h"
#include "tokenizer.h"

#define PATHB 4096
#define CONFIG_MAX_BYTES (1 << 20)
#define WAIT_MS 600000           /* longest silence of all parties between two frames */
#define DIAG_MS 3000             /* after a failure: how long to listen to the other parties */
#define REAP_MS 10000            /* embedded: how long parties may take to exit after a failure */
#define CERT_DAYS 2
#define LOG_LINE_BYTES 600

typedef struct sess {
    const gen_opts *o;
    char model[PATHB];           /* model directory (config.json, tokenizer) */
    char bin[PATHB];             /* directory of this binary: mimir-party etc. beside it */
    mimir_gpt2_config cfg;
    mimir_tokenizer *tok;
    uint8_t *prompt;             /* prompt read from stdin, or NULL */
    size_t prompt_len;
    int32_t *ids;
    size_t n_ids;
    long n;                      /* tokens to generate */
    long frames;                 /* TOKEN frames per party: n, or the padded steps */
    long first;                  /* the frame of the first real token: 0, or n_ids - 1 */
    char dir[PATHB];             /* embedded: the cluster directory ("" if none) */
    int temp;                    /* dir is ours to remove */
    char cluster[PATHB + 16];
    pid_t pid[3];
    mimir_cluster *cl;
    mimir_client_conn *k[3];
    mimir_err err;
} sess;

typedef struct stats {
    double t_start, t_first, t_last; /* ms */
    uint64_t bytes, rounds;          /* summed over generated tokens */
    long tokens;
    long joined;                     /* frames joined (padded: real and discarded) */
} stats;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const mimir_err *err)
{
    mimir_err_print(stderr, PROG, err);
    return err->code != MIMIR_OK ? err->code : MIMIR_ERUNTIME;
}

/* ---------------------------------------------------------------- inputs */

static int load_inputs(sess *s)
{
    const gen_opts *o = s->o;
    char buf[PATHB];
    snprintf(s->model, sizeof s->model, "%s", gen_model_dir(o, buf, sizeof buf));
    char path[PATHB + 16];
    snprintf(path, sizeof path, "%s/config.json", s->model);
    uint8_t *json = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, CONFIG_MAX_BYTES, &json, &len, &s->err);
    if (rc == MIMIR_OK)
        rc = mimir_gpt2_config_parse(path, (const char *)json, len, &s->cfg, &s->err);
    free(json);
    if (rc == MIMIR_OK)
        rc = mimir_tokenizer_load(s->model, &s->tok, &s->err);
    if (rc != MIMIR_OK)
        return rc;
    size_t tv = mimir_tokenizer_vocab_size(s->tok);
    if (tv > (size_t)s->cfg.vocab_size)
        return mimir_err_set(&s->err, MIMIR_EINPUT, s->model, "vocab_size",
                             "the tokenizer has %zu tokens, the model only %d", tv,
                             s->cfg.vocab_size);
    const char *text = o->prompt, *what = o->prompt ? "PROMPT" : "stdin";
    size_t tlen = text != NULL ? strlen(text) : 0;
    if (text == NULL) {
        rc = mimir_read_file("-", GEN_PROMPT_MAX_BYTES, &s->prompt, &s->prompt_len, &s->err);
        if (rc != MIMIR_OK)
            return rc;
        text = (const char *)s->prompt;
        tlen = s->prompt_len;
    }
    rc = mimir_tokenizer_encode(s->tok, text, tlen, &s->ids, &s->n_ids, &s->err);
    if (rc != MIMIR_OK) {
        if (s->err.file[0] == '\0')
            snprintf(s->err.file, sizeof s->err.file, "%s", what);
        return rc;
    }
    if (s->n_ids == 0)
        return mimir_err_set(&s->err, MIMIR_EINPUT, what, NULL,
                             "the prompt is empty, expected at least one token");
    if (s->n_ids > (size_t)s->cfg.n_ctx)
        return mimir_err_set(&s->err, MIMIR_EINPUT, what, NULL,
                             "the prompt is %zu tokens, expected at most the model's context "
                             "of %d", s->n_ids, s->cfg.n_ctx);
    long room = (long)s->cfg.n_ctx - (long)s->n_ids + 1;
    s->n = o->tokens < room ? o->tokens : room;
    s->frames = s->n;
    s->first = 0;
    if (o->pad_to == 0)
        return MIMIR_OK;
    if (o->pad_to > s->cfg.n_ctx)
        return mimir_err_set(&s->err, MIMIR_EINPUT, "--pad-to", NULL,
                             "a bucket of %ld tokens, expected at most the model's context of "
                             "%d", o->pad_to, s->cfg.n_ctx);
    if ((long)s->n_ids + o->tokens > o->pad_to)
        return mimir_err_set(&s->err, MIMIR_EINPUT, "--pad-to", NULL,
                             "the prompt is %zu tokens and --tokens %ld, %ld in all: expected "
                             "at most the bucket of %ld", s->n_ids, o->tokens,
                             (long)s->n_ids + o->tokens, o->pad_to);
    s->n = o->tokens;
    s->frames = o->pad_to - 1;
    s->first = (long)s->n_ids - 1;
    return MIMIR_OK;
}

/* ---------------------------------------------------------------- processes */

static void bin_dir(sess *s)
{
    char exe[PATHB];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(s->bin, sizeof s->bin, "bin");
        return;
    }
    exe[n] = '\0';
    snprintf(s->bin, sizeof s->bin, "%s", dirname(exe));
}

/* Starts argv[0] (a path) with stdout to /dev/null and stderr to log. */
static int spawn(const char *const *argv, const char *log, pid_t *pid, mimir_err *err)
{
    pid_t p = fork();
    if (p < 0)
        return mimir_err_errno(err, argv[0], "fork");
    if (p == 0) {
        int null = open("/dev/null", O_RDWR);
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        if (lf >= 0)
            dup2(lf, 2);
        execv(argv[0], (char *const *)argv);
        dprintf(2, "%s: cannot run %s: %s\n", PROG, argv[0], strerror(errno));
        _exit(127);
    }
    *pid = p;
    return MIMIR_OK;
}

/* The last non-empty line of a log file, for messages. */
static void last_line(const char *log, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return;
    char line[LOG_LINE_BYTES];
    while (fgets(line, sizeof line, f) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            snprintf(out, cap, "%s", line);
    }
    fclose(f);
}

/* Runs a helper tool to completion; its failure becomes ours (its exit code, its message). */
static int run_tool(sess *s, const char *const *argv, const char *what)
{
    char log[PATHB + 32];
    snprintf(log, sizeof log, "%s/setup.log", s->dir);
    pid_t pid = -1;
    int rc = spawn(argv, log, &pid, &s->err);
    if (rc != MIMIR_OK)
        return rc;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return MIMIR_OK;
    char line[LOG_LINE_BYTES];
    last_line(log, line, sizeof line);
    int code = WIFEXITED(st) && WEXITSTATUS(st) >= 1 && WEXITSTATUS(st) <= 3 ? WEXITSTATUS(st)
                                                                               : MIMIR_ERUNTIME;
    return mimir_err_set(&s->err, code, what, NULL, "failed: %.400s",
                         line[0] ? line : "no message");
}

/* ---------------------------------------------------------------- embedded setup */

static int make_dir(sess *s)
{
    const gen_opts *o = s->o;
    if (o->prepare != NULL) {
        if (mkdir(o->prepare, 0700) != 0)
            return mimir_err_set(&s->err, errno == EEXIST ? MIMIR_EINPUT : MIMIR_ERUNTIME,
                                 o->prepare, "--prepare", "cannot create it: %s%s",
                                 strerror(errno), errno == EEXIST ? ", expected a new "
                                 "directory" : "");
        char *real = realpath(o->prepare, NULL);
        snprintf(s->dir, sizeof s->dir, "%s", real != NULL ? real : o->prepare);
        free(real);
        return MIMIR_OK;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/mimir-generate.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        int e = errno;
        snprintf(s->dir, sizeof s->dir, "%s", "");
        errno = e;
        return mimir_err_errno(&s->err, tmp != NULL && *tmp ? tmp : "/tmp",
                               "cannot make a temporary directory");
    }
    s->temp = 1;
    return MIMIR_OK;
}

static int write_cluster(sess *s, const char *session_hex)
{
    char addr[3][PATHB / 4], caddr[3][PATHB / 4];
    for (int i = 0; i < 3; i++) {
        if (s->o->unix_sockets) {
            snprintf(addr[i], sizeof addr[i], "unix:%.900s/p%d.sock", s->dir, i);
            snprintf(caddr[i], sizeof caddr[i], "unix:%.900s/p%d.client.sock", s->dir, i);
        } else {
            int a = mimir_cluster_free_port(), b = mimir_cluster_free_port();
            if (a < 0 || b < 0 || a == b)
                return mimir_err_set(&s->err, MIMIR_ERUNTIME, "127.0.0.1", "port",
                                     "no free loopback TCP port");
            snprintf(addr[i], sizeof addr[i], "tcp:127.0.0.1:%d", a);
            snprintf(caddr[i], sizeof caddr[i], "tcp:127.0.0.1:%d", b);
        }
    }
    char json[8192];
    int n = snprintf(json, sizeof json,
                     "{\"version\": 1, \"session\": \"%s\",\n"
                     " \"client\": {\"cert\": \"client.pem\", \"key\": \"client.key\"},\n"
                     " \"parties\": [\n", session_hex);
    for (int i = 0; i < 3 && n > 0 && (size_t)n < sizeof json; i++)
        n += snprintf(json + n, sizeof json - (size_t)n,
                      "  {\"index\": %d, \"address\": \"%s\", \"client_address\": \"%s\",\n"
                      "   \"cert\": \"p%d.pem\", \"key\": \"p%d.key\"}%s\n", i, addr[i],
                      caddr[i], i, i, i < 2 ? "," : "]}");
    if (n <= 0 || (size_t)n >= sizeof json)
        return mimir_err_set(&s->err, MIMIR_EINPUT, s->dir, NULL, "directory path too long");
    snprintf(s->cluster, sizeof s->cluster, "%s/cluster.json", s->dir);
    return mimir_write_file(s->cluster, json, (size_t)n, &s->err);
}

/* The plan of a padded session: S steps that all sample (mimir_sgpt2_plan with a one-token
 * prompt and S new tokens runs exactly that loop) plus the V triples of each step's input
 * choice after the first (serve.c padded_input). */
static int padded_plan(sess *s, char **plan)
{
    uint64_t counts[MIMIR_PREP_KINDS];
    long S = s->frames;
    int rc = mimir_sgpt2_plan(&s->cfg, 1, (int)S, MIMIR_COMPARE_BINARY_DEFAULT, counts, plan,
                              &s->err);
    if (rc != MIMIR_OK)
        return rc;
    json_error_t je;
    json_t *root = json_loads(*plan, 0, &je), *items = json_object_get(root, "items");
    json_int_t extra = (json_int_t)(S - 1) * s->cfg.vocab_size;
    int found = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        if (kind != NULL && strcmp(kind, "triple") == 0) {
            json_int_t c = json_integer_value(json_object_get(it, "count"));
            json_object_set_new(it, "count", json_integer(c + extra));
            found = 1;
        }
    }
    if (!found && extra > 0)
        json_array_append_new(items, json_pack("{s:s, s:I}", "kind", "triple", "count", extra));
    char *out = root != NULL && json_is_array(items) ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    free(*plan);
    *plan = out;
    if (out == NULL)
        return mimir_err_set(&s->err, MIMIR_ERUNTIME, "plan", NULL,
                             "cannot add the padded steps' triples to the plan");
    return MIMIR_OK;
}

/* Certificates, cluster file, model bundles (mimir-share split), plan and pools (dealer). */
static int prepare(sess *s)
{
    int rc = make_dir(s);
    if (rc != MIMIR_OK)
        return rc;
    static const char *const names[4] = {"p0", "p1", "p2", "client"};
    char cert[PATHB + 16], key[PATHB + 16], cn[32];
    for (int i = 0; i < 4 && rc == MIMIR_OK; i++) {
        const char *name = names[i];
        snprintf(cert, sizeof cert, "%s/%s.pem", s->dir, name);
        snprintf(key, sizeof key, "%s/%s.key", s->dir, name);
        snprintf(cn, sizeof cn, i < 3 ? "mimir party %d" : "mimir client", i);
        rc = mimir_cluster_gencert(cert, key, cn, CERT_DAYS, &s->err);
    }
    uint8_t session[MIMIR_SESSION_BYTES];
    char session_hex[2 * MIMIR_SESSION_BYTES + 1];
    randombytes_buf(session, sizeof session);
    sodium_bin2hex(session_hex, sizeof session_hex, session, sizeof session);
    if (rc == MIMIR_OK)
        rc = write_cluster(s, session_hex);

    char tool[PATHB + 32], prefix[PATHB + 16];
    snprintf(tool, sizeof tool, "%s/mimir-share", s->bin);
    snprintf(prefix, sizeof prefix, "%s/model", s->dir);
    const char *split[] = {tool, "split", "-o", prefix, s->model, NULL};
    if (rc == MIMIR_OK)
        rc = run_tool(s, split, "mimir-share split");

    uint64_t counts[MIMIR_PREP_KINDS];
    char *plan = NULL, plan_path[PATHB + 16];
    if (rc == MIMIR_OK && s->o->pad_to != 0)
        rc = padded_plan(s, &plan);
    else if (rc == MIMIR_OK)
        rc = mimir_sgpt2_plan(&s->cfg, (int)s->n_ids, (int)s->n, MIMIR_COMPARE_BINARY_DEFAULT,
                              counts, &plan, &s->err);
    snprintf(plan_path, sizeof plan_path, "%s/plan.json", s->dir);
    if (rc == MIMIR_OK)
        rc = mimir_write_file(plan_path, plan, strlen(plan), &s->err);
    free(plan);
    snprintf(tool, sizeof tool, "%s/mimir-triples", s->bin);
    snprintf(prefix, sizeof prefix, "%s/pool", s->dir);
    const char *deal[] = {tool, "deal", "--plan", plan_path, "--session", session_hex, "-o",
                          prefix, s->o->semi_honest ? "--semi-honest" : NULL, NULL};
    if (rc == MIMIR_OK)
        rc = run_tool(s, deal, "mimir-triples deal");
    return rc;
}

static void party_argv(sess *s, int i, char buf[4][PATHB + 32], const char *argv[16])
{
    snprintf(buf[0], PATHB + 32, "%s/mimir-party", s->bin);
    snprintf(buf[1], PATHB + 32, "%d", i);
    snprintf(buf[2], PATHB + 32, "%s/model.p%d", s->dir, i);
    snprintf(buf[3], PATHB + 32, "%s/pool.p%d", s->dir, i);
    int n = 0;
    argv[n++] = buf[0];
    argv[n++] = "--party";
    argv[n++] = buf[1];
    argv[n++] = "--cluster";
    argv[n++] = s->cluster;
    argv[n++] = "--model-shares";
    argv[n++] = buf[2];
    argv[n++] = "--pool";
    argv[n++] = buf[3];
    if (s->o->semi_honest) {
        argv[n++] = "--security";
        argv[n++] = "semi-honest";
    }
    argv[n] = NULL;
}

static int start_parties(sess *s)
{
    for (int i = 0; i < 3; i++) {
        char buf[4][PATHB + 32], log[PATHB + 16];
        const char *argv[16];
        party_argv(s, i, buf, argv);
        snprintf(log, sizeof log, "%s/p%d.log", s->dir, i);
        int rc = spawn(argv, log, &s->pid[i], &s->err);
        if (rc != MIMIR_OK)
            return rc;
    }
    return MIMIR_OK;
}

/* --prepare: what to run. */
static void print_commands(sess *s)
{
    printf("# embedded cluster in %s (local trusted dealer; for tests and demos)\n", s->dir);
    for (int i = 0; i < 3; i++) {
        char buf[4][PATHB + 32];
        const char *argv[16];
        party_argv(s, i, buf, argv);
        for (int j = 0; argv[j] != NULL; j++)
            printf("%s%s", j ? " " : "", argv[j]);
        printf(" &\n");
    }
    char pad[32] = "";
    if (s->o->pad_to != 0)
        snprintf(pad, sizeof pad, " --pad-to %ld", s->o->pad_to);
    printf("%s/mimir-generate --cluster %s --tokens %ld%s '...%s...'\n", s->bin, s->cluster,
           s->n, pad, s->o->pad_to ? "any prompt that fits the bucket" : "the same prompt");
}

/* Embedded: a party's exit, as text ("" while it runs). */
static void child_status(sess *s, int i, int block_ms, char *out, size_t cap)
{
    out[0] = '\0';
    if (s->pid[i] <= 0)
        return;
    int st = 0;
    double until = now_ms() + block_ms;
    pid_t r;
    for (;;) {
        r = waitpid(s->pid[i], &st, WNOHANG);
        if (r != 0 || now_ms() >= until)
            break;
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    if (r != s->pid[i])
        return;
    s->pid[i] = 0;
    if (WIFSIGNALED(st))
        snprintf(out, cap, "its process was killed by signal %d", WTERMSIG(st));
    else if (WIFEXITED(st))
        snprintf(out, cap, "its process exited with status %d", WEXITSTATUS(st));
}

/* Embedded: waits for the parties; after a failure, ends the ones that do not exit. */
static int reap_parties(sess *s, int failed)
{
    int bad = 0;
    double until = now_ms() + REAP_MS;
    for (int i = 0; i < 3; i++) {
        if (s->pid[i] <= 0)
            continue;
        int left = (int)(until - now_ms());
        char why[128];
        child_status(s, i, left > 0 ? left : 0, why, sizeof why);
        if (s->pid[i] > 0) {
            kill(s->pid[i], SIGKILL); /* a child we started, by its pid */
            waitpid(s->pid[i], NULL, 0);
            s->pid[i] = 0;
            bad = 1;
        } else if (strcmp(why, "its process exited with status 0") != 0) {
            bad = 1;
        }
        if (bad && !failed) {
            char log[PATHB + 16], line[LOG_LINE_BYTES];
            snprintf(log, sizeof log, "%s/p%d.log", s->dir, i);
            last_line(log, line, sizeof line);
            fprintf(stderr, "%s: party %d: %s%s%s\n", PROG, i, why[0] ? why : "did not exit",
                    line[0] ? ": " : "", line);
        }
    }
    return bad;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* ---------------------------------------------------------------- the client */

static int emit(sess *s, int32_t id, double ms, uint64_t bytes, uint64_t rounds)
{
    const uint8_t *b;
    size_t n;
    if (id < 0 || (size_t)id >= mimir_tokenizer_vocab_size(s->tok) ||
        mimir_tokenizer_token_bytes(s->tok, id, &b, &n, &s->err) != MIMIR_OK)
        return mimir_err_set(&s->err, MIMIR_EINPUT, s->model, "tokenizer",
                             "the parties chose token %ld, which the tokenizer cannot decode",
                             (long)id);
    if (s->o->json) {
        printf("{\"token\": %ld, \"text\": \"", (long)id);
        gen_json_text(stdout, b, n);
        printf("\", \"ms\": %.3f, \"bytes\": %llu, \"rounds\": %llu}\n", ms,
               (unsigned long long)bytes, (unsigned long long)rounds);
    } else {
        fwrite(b, 1, n, stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return mimir_err_errno(&s->err, "stdout", "write");
    return MIMIR_OK;
}

/* The prompt's one-hot vectors (integers 0/1), split; component p goes to parties p-1, p.
 * Padded: S slots (zeros after the prompt), then S selection bits (1 on prompt slots). */
static int send_prompt(sess *s)
{
    int padded = s->o->pad_to != 0;
    size_t V = (size_t)s->cfg.vocab_size, slots = padded ? (size_t)s->frames : s->n_ids;
    size_t words = slots * V + (padded ? slots : 0);
    size_t bytes = words * sizeof(mimir_r64);
    mimir_r64 *x = mimir_secret_alloc(bytes);
    void *comp[3] = {mimir_secret_alloc(bytes), mimir_secret_alloc(bytes),
                     mimir_secret_alloc(bytes)};
    int rc = MIMIR_OK;
    if (x == NULL || comp[0] == NULL || comp[1] == NULL || comp[2] == NULL)
        rc = mimir_err_set(&s->err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK) {
        for (size_t t = 0; t < s->n_ids; t++) {
            x[t * V + (size_t)s->ids[t]] = 1;
            if (padded)
                x[slots * V + t] = 1;
        }
        mimir_rss_rng rng = mimir_rss_rng_system();
        rc = mimir_rss_split(MIMIR_RSS_RING64, x, words, &rng, comp, &s->err);
    }
    mimir_client_start st = {.n_prompt = (uint32_t)slots,
                             .n_new = (uint32_t)(padded ? slots : (size_t)s->n),
                             .vocab = (uint32_t)V,
                             .flags = padded ? MIMIR_CLIENT_START_PADDED : 0};
    memcpy(st.session, s->cl->session, MIMIR_SESSION_BYTES);
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
        rc = mimir_client_send_start(s->k[p], &st, comp[p], comp[(p + 1) % 3], &s->err);
    mimir_secret_free(x);
    for (int p = 0; p < 3; p++)
        mimir_secret_free(comp[p]);
    return rc;
}

/* Joins token t from the three parties' components; exit 1 if the copies disagree. */
static int join_token(sess *s, mimir_client_token *got[3], long t, int32_t *id)
{
    mimir_rss_view v[3];
    for (int p = 0; p < 3; p++) {
        v[p].party = p;
        v[p].c[0] = &got[p][t].c[0];
        v[p].c[1] = &got[p][t].c[1];
        v[p].name = NULL;
    }
    mimir_r64 x = 0;
    int rc = mimir_rss_join(MIMIR_RSS_RING64, 1, v, 3, &x, &s->err);
    if (rc != MIMIR_OK)
        return rc;
    if (x >= (mimir_r64)s->cfg.vocab_size)
        return mimir_err_set(&s->err, MIMIR_ESECURITY, "parties", "token",
                             "joined index outside the vocabulary of %d", s->cfg.vocab_size);
    *id = (int32_t)x;
    return MIMIR_OK;
}

/* What the client knows of each party while receiving. */
enum { LIVE, ENDED, ABORTED, LOST };
typedef struct pstate {
    int state, code;
    long have; /* tokens received */
    char reason[MIMIR_CLIENT_MAX_REASON + MIMIR_ERR_MSGBYTES + 8];
} pstate;

/* After a failure, the clearest explanation: a party's security abort first, then a party
 * whose connection dropped, then any abort. */
static int diagnose(sess *s, const pstate *ps)
{
    int pick = -1;
    for (int p = 0; p < 3 && pick < 0; p++)
        if (ps[p].state == ABORTED && ps[p].code == MIMIR_ESECURITY)
            pick = p;
    for (int p = 0; p < 3 && pick < 0; p++)
        if (ps[p].state == LOST)
            pick = p;
    for (int p = 0; p < 3 && pick < 0; p++)
        if (ps[p].state == ABORTED)
            pick = p;
    char extra[128] = "", party[16];
    if (ps[pick].state == LOST && s->temp) {
        char why[100];
        child_status(s, pick, 500, why, sizeof why);
        if (why[0] != '\0')
            snprintf(extra, sizeof extra, " (%s)", why);
    }
    snprintf(party, sizeof party, "party %d", pick);
    return mimir_err_set(&s->err, ps[pick].code ? ps[pick].code : MIMIR_ERUNTIME, party, NULL,
                         "%s%s%s", ps[pick].state == ABORTED ? "stopped: " : "",
                         ps[pick].reason, extra);
}

/* Joins every token that all three parties have sent and prints the real ones (padded: a
 * discarded step's token is joined, and so checked, too). */
static int flush_tokens(sess *s, mimir_client_token *got[3], const pstate *ps, stats *st,
                        double *last)
{
    while (st->joined < ps[0].have && st->joined < ps[1].have && st->joined < ps[2].have) {
        long f = st->joined++, t = f - s->first;
        int32_t id = -1;
        int rc = join_token(s, got, f, &id);
        if (rc == MIMIR_OK && (t < 0 || t >= s->n))
            continue; /* padding */
        uint64_t bytes = 0, rounds = 0;
        for (int p = 0; p < 3; p++) {
            bytes += got[p][f].bytes;
            rounds = got[p][f].rounds > rounds ? got[p][f].rounds : rounds;
        }
        double now = now_ms();
        if (rc == MIMIR_OK)
            rc = emit(s, id, now - *last, bytes, rounds);
        if (rc != MIMIR_OK)
            return rc;
        if (t == 0)
            st->t_first = now;
        st->t_last = *last = now;
        st->bytes += bytes;
        st->rounds += rounds;
        st->tokens++;
    }
    return MIMIR_OK;
}

/* Reads one frame from party p into its state; tokens go to got[p]. */
static void take_frame(sess *s, int p, mimir_client_token *got, pstate *ps)
{
    mimir_client_msg m;
    mimir_err e;
    mimir_err_clear(&e);
    int rc = mimir_client_recv(s->k[p], &m, &e);
    if (rc != MIMIR_OK) {
        ps->state = LOST;
        ps->code = rc;
        snprintf(ps->reason, sizeof ps->reason, "%s%s%s", e.field, e.field[0] ? ": " : "",
                 e.msg);
    } else if (m.type == MIMIR_CLIENT_ABORT) {
        ps->state = ABORTED;
        ps->code = m.abort_code;
        snprintf(ps->reason, sizeof ps->reason, "%s", m.abort_reason);
    } else if (m.type == MIMIR_CLIENT_END) {
        ps->state = ENDED;
        if (ps->have != s->frames) {
            ps->state = LOST;
            ps->code = MIMIR_ERUNTIME;
            snprintf(ps->reason, sizeof ps->reason, "ended after %ld of %ld tokens",
                     ps->have, s->frames);
        }
    } else if (ps->have >= s->frames || m.token.step != (uint32_t)ps->have) {
        ps->state = LOST;
        ps->code = MIMIR_ERUNTIME;
        snprintf(ps->reason, sizeof ps->reason, "token: step %u out of order, expected %ld",
                 (unsigned)m.token.step, ps->have);
    } else {
        got[ps->have++] = m.token;
    }
    mimir_wipe(&m, sizeof m);
}

/* Receives, joins and prints every token, then the three ends. After a party fails, the
 * others are still read for up to DIAG_MS: tokens all three sent are printed, and their
 * reasons explain the failure. */
static int receive(sess *s, stats *st)
{
    mimir_client_token *got[3];
    pstate ps[3];
    memset(ps, 0, sizeof ps);
    int rc = MIMIR_OK;
    for (int p = 0; p < 3; p++)
        got[p] = mimir_secret_alloc((size_t)s->frames * sizeof(mimir_client_token));
    if (got[0] == NULL || got[1] == NULL || got[2] == NULL)
        rc = mimir_err_set(&s->err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    double last = st->t_start, deadline = -1;
    while (rc == MIMIR_OK) {
        mimir_client_conn *live[3];
        int n_live = 0, failed = 0;
        for (int p = 0; p < 3; p++) {
            live[p] = ps[p].state == LIVE ? s->k[p] : NULL;
            n_live += live[p] != NULL;
            failed |= ps[p].state == ABORTED || ps[p].state == LOST;
        }
        if (failed && deadline < 0)
            deadline = now_ms() + DIAG_MS;
        if (n_live == 0)
            break;
        int wait = deadline < 0 ? WAIT_MS : (int)(deadline - now_ms()), ready = -1;
        if (wait <= 0)
            break;
        if ((rc = mimir_client_wait(live, 3, wait, &ready, &s->err)) != MIMIR_OK)
            break;
        if (ready < 0) {
            if (!failed)
                rc = mimir_err_set(&s->err, MIMIR_ERUNTIME, "parties", NULL,
                                   "none sent anything for %d ms", WAIT_MS);
            break;
        }
        take_frame(s, ready, got[ready], &ps[ready]);
        rc = flush_tokens(s, got, ps, st, &last);
    }
    int failed = 0;
    for (int p = 0; p < 3; p++)
        failed |= ps[p].state == ABORTED || ps[p].state == LOST;
    if (rc == MIMIR_OK && failed)
        rc = diagnose(s, ps);
    if (rc != MIMIR_OK) /* the parties still connected hear why */
        for (int p = 0; p < 3; p++)
            if (ps[p].state == LIVE)
                mimir_client_send_abort(s->k[p], &s->err);
    for (int p = 0; p < 3; p++)
        mimir_secret_free(got[p]);
    return rc;
}

static int run_client(sess *s, stats *st)
{
    if (access(s->cluster, F_OK) != 0 && errno == ENOENT)
        return mimir_err_set(&s->err, MIMIR_EINPUT, s->cluster, NULL,
                             "no such file, expected the cluster file");
    int rc = mimir_cluster_load(s->cluster, MIMIR_CLUSTER_CLIENT, &s->cl, &s->err);
    for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
        rc = mimir_client_connect(s->cl, p, 0, &s->k[p], &s->err);
    st->t_start = now_ms();
    if (rc == MIMIR_OK)
        rc = send_prompt(s);
    if (rc == MIMIR_OK)
        rc = receive(s, st);
    return rc;
}

static void summary(const sess *s, const stats *st, double setup_ms)
{
    long n = st->tokens;
    double per = n > 1 ? (st->t_last - st->t_first) / (double)(n - 1)
                       : st->t_last - st->t_start;
    fprintf(stderr, "%s: %ld tokens, %.1f ms/token (first token after %.0f ms", PROG, n, per,
            st->t_first - st->t_start);
    if (setup_ms > 0)
        fprintf(stderr, ", setup %.0f ms", setup_ms);
    char pad[48] = "";
    if (s->o->pad_to != 0)
        snprintf(pad, sizeof pad, " (padded to %ld)", s->o->pad_to);
    fprintf(stderr, "), prompt %zu tokens%s, %.0f bytes and %.1f rounds per token, secure: "
            "3 parties%s\n", s->n_ids, pad, n ? (double)st->bytes / (double)n : 0.0,
            n ? (double)st->rounds / (double)n : 0.0,
            s->o->cluster != NULL ? "" : s->o->semi_honest ? ", local, semi-honest"
                                                          : ", local, malicious");
}

static void sess_free(sess *s)
{
    for (int p = 0; p < 3; p++)
        mimir_client_close(s->k[p]);
    mimir_cluster_free(s->cl);
    mimir_tokenizer_free(s->tok);
    if (s->prompt != NULL)
        mimir_wipe(s->prompt, s->prompt_len);
    free(s->prompt);
    if (s->ids != NULL)
        mimir_wipe(s->ids, s->n_ids * sizeof *s->ids);
    free(s->ids);
}

int secure_main(const gen_opts *o)
{
    if (mimir_mem_init() != 0) {
        fprintf(stderr, "%s: libsodium could not be initialised\n", PROG);
        return MIMIR_ERUNTIME;
    }
    sess s;
    memset(&s, 0, sizeof s);
    s.o = o;
    mimir_err_clear(&s.err);
    bin_dir(&s);
    stats st;
    memset(&st, 0, sizeof st);
    double t0 = now_ms(), setup_ms = 0;
    int rc = load_inputs(&s);
    if (rc == MIMIR_OK && o->cluster != NULL) {
        snprintf(s.cluster, sizeof s.cluster, "%s", o->cluster);
        rc = run_client(&s, &st);
    } else if (rc == MIMIR_OK) {
        rc = prepare(&s);
        if (rc == MIMIR_OK && o->prepare != NULL) {
            print_commands(&s);
            sess_free(&s);
            return MIMIR_OK;
        }
        if (rc == MIMIR_OK)
            rc = start_parties(&s);
        setup_ms = now_ms() - t0;
        if (rc == MIMIR_OK)
            rc = run_client(&s, &st);
    }
    for (int p = 0; p < 3; p++) { /* close first: a party still waiting sees us go */
        mimir_client_close(s.k[p]);
        s.k[p] = NULL;
    }
    if (rc != MIMIR_OK)
        fail(&s.err);
    if (s.temp) {
        int bad = reap_parties(&s, rc != MIMIR_OK);
        if (rc == MIMIR_OK && bad)
            rc = MIMIR_ERUNTIME;
        nftw(s.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else if (o->prepare != NULL && s.dir[0] != '\0' && rc != MIMIR_OK) {
        nftw(s.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* all or nothing */
    }
    if (rc == MIMIR_OK && s.n < o->tokens) /* as --plaintext says it */
        fprintf(stderr, "%s: stopped at the model's context length of %d positions: "
                "generated %ld of %ld tokens\n", PROG, s.cfg.n_ctx, s.n, o->tokens);
    if (rc == MIMIR_OK && !o->quiet)
        summary(&s, &st, setup_ms);
    sess_free(&s);
    return rc;
}
