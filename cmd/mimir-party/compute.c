/*
 * mimir-party compute: one party of three computes add, sub, mul, matmul or trunc on
 * secret-shared tensors with its two peers, with MAC-checked arithmetic (lib/spdz.h) and
 * preprocessed items from its triple pool (lib/pool.h), and writes its share of the result.
 *
 * The order of the protocol is the order of this file's run(): cluster, inputs, pool, output
 * file (opened early so a bad path fails before any peer waits), transcript, channels, coin
 * toss, engine, input (replicated copies cross-checked, MACs computed), the operation,
 * output (checks every pending open first), bye, transcript end, and only then the output file
 * is committed: a run that fails anywhere leaves no output.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/admit.h"
#include "cluster.h"
#include "coin.h"
#include "common.h"
#include "io.h"
#include "mem.h"
#include "net.h"
#include "party.h"
#include "pool.h"
#include "sharefile.h"
#include "spdz.h"
#include "transcript.h"

#define SUB "compute"
#define TOOL_NAME "mimir-party compute"
#define SHAPE_STR_BYTES 128

enum op { OP_ADD, OP_SUB, OP_MUL, OP_MATMUL, OP_TRUNC };

static const struct {
    const char *name;
    int inputs;
} ops[] = {
    [OP_ADD] = {"add", 2}, [OP_SUB] = {"sub", 2}, [OP_MUL] = {"mul", 2},
    [OP_MATMUL] = {"matmul", 2}, [OP_TRUNC] = {"trunc", 1},
};
#define N_OPS (sizeof ops / sizeof ops[0])

typedef struct cargs {
    int party;
    const char *cluster, *pool, *seed_file, *transcript, *output, *tensor;
    int semi_honest, json;
    long bits; /* -1: not given */
    int op;
    const char *in[2];
#ifdef MIMIR_TEST_HOOKS
    mimir_spdz_fault fault;
#endif
} cargs;

/* What the run reports: filled as it goes. */
typedef struct summary {
    int ndim;
    uint64_t shape[MIMIR_SHARE_MAX_DIMS];
    uint64_t inner; /* matmul: A's columns, B's rows */
    int real;       /* the result is fixed-point (a float dtype), else an integer */
    unsigned fix;   /* mul/matmul: bits to truncate the product by (0: none) */
    unsigned frac;  /* the output file's frac_bits: the real input's, else A's */
    uint64_t rounds, bytes_sent, bytes_received, opens, checks;
    double ms;
} summary;

static void help(void)
{
    printf(
        "Usage: %s compute --party I --cluster FILE --pool DIR [options] OP INPUT... -o OUTPUT\n"
        "\n"
        "With the two other parties (each running the same command with its own --party,\n"
        "inputs and pool), computes on secret-shared tensors with MAC-checked arithmetic and\n"
        "writes this party's share of the result. INPUTs are this party's share files from\n"
        "'mimir-share split' (ring 64); the three OUTPUT files join with 'mimir-share join'.\n"
        "\n"
        "Operations:\n"
        "  add A B      A + B (same shape)\n"
        "  sub A B      A - B (same shape)\n"
        "  mul A B      A * B elementwise (same shape); fixed-point inputs are truncated by\n"
        "               their fractional bits after the product, integers are exact mod 2^64\n"
        "  matmul A B   A [r,i] times B [i,c]; truncated as mul\n"
        "  trunc A      A / 2^F (probabilistic: floor, or floor + 1 ulp), with --bits F\n"
        "\n"
        "Options:\n"
        "      --party I            this party's index, 0, 1 or 2\n"
        "      --cluster FILE       the cluster file (addresses, certificates, session)\n"
        "      --pool DIR           this party's triple pool (mimir-triples deal)\n"
        "      --seed-file FILE     fixed coin-toss seed (64 hex digits) for a reproducible\n"
        "                           run; its coins are only as secret as the file\n"
        "      --transcript FILE    write a hash-chained transcript (FILE must not exist)\n"
        "      --security MODE      malicious (default: MAC-checked) or semi-honest (no MACs,\n"
        "                           same protocol code, for speed comparison only)\n"
        "      --bits F             trunc: bits to truncate, 1..%d\n"
        "      --tensor NAME        the tensor to use when an input holds several\n"
        "      --json               print a JSON summary on stdout\n"
        "  -o, --output FILE        this party's share of the result (written atomically)\n"
#ifdef MIMIR_TEST_HOOKS
        "\nTest build only:\n"
        "      --test-fault KIND:AT[:BIT]  deviate at the AT-th event: open-flip, copy,\n"
        "                           mac-value, mac-commit, input-copy, input-mac\n"
        "      --test-skip-copy-check      skip the replicated copy check (honest parties)\n"
#endif
        "  -h, --help               show this help\n"
        "\nExit status: 0 done, 1 a check failed (a party cheated or a share was altered),\n"
        "2 bad usage or input, 3 runtime failure (I/O, a peer gone or timed out).\n",
        PROG, MIMIR_SPDZ_TRUNC_BOUND_BITS);
}

#ifdef MIMIR_TEST_HOOKS
/* TEST FAULT: --test-fault KIND:AT[:BIT]. */
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
    if (f->kind == MIMIR_SPDZ_FAULT_NONE || party_parse_uint(at, 1000000, &v) != 0 ||
        (bit != NULL && party_parse_uint(bit, 127, &b) != 0))
        return -1;
    f->at = v;
    f->bit = (unsigned)b;
    return 0;
}
#endif

enum {
    OPT_PARTY = 256, OPT_CLUSTER, OPT_POOL, OPT_SEED_FILE, OPT_TRANSCRIPT, OPT_SECURITY,
    OPT_JSON, OPT_BITS, OPT_TENSOR, OPT_TEST_FAULT, OPT_TEST_SKIP_COPY,
};

/* Returns 0 to run, -1 after --help (exit 0), or an exit code. */
static int parse_args(int argc, char **argv, cargs *a)
{
    static const struct option longopts[] = {
        {"party", required_argument, NULL, OPT_PARTY},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"pool", required_argument, NULL, OPT_POOL},
        {"seed-file", required_argument, NULL, OPT_SEED_FILE},
        {"transcript", required_argument, NULL, OPT_TRANSCRIPT},
        {"security", required_argument, NULL, OPT_SECURITY},
        {"json", no_argument, NULL, OPT_JSON},
        {"bits", required_argument, NULL, OPT_BITS},
        {"tensor", required_argument, NULL, OPT_TENSOR},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
#ifdef MIMIR_TEST_HOOKS
        {"test-fault", required_argument, NULL, OPT_TEST_FAULT},
        {"test-skip-copy-check", no_argument, NULL, OPT_TEST_SKIP_COPY},
#endif
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->party = -1;
    a->bits = -1;
    opterr = 0;
    optind = 1;
    int c;
    unsigned long v;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PARTY:
            if (party_parse_uint(optarg, 2, &v) != 0)
                return party_usage_fail(SUB, "--party '%s', expected 0, 1 or 2", optarg);
            a->party = (int)v;
            break;
        case OPT_CLUSTER: a->cluster = optarg; break;
        case OPT_POOL: a->pool = optarg; break;
        case OPT_SEED_FILE: a->seed_file = optarg; break;
        case OPT_TRANSCRIPT: a->transcript = optarg; break;
        case OPT_TENSOR: a->tensor = optarg; break;
        case OPT_JSON: a->json = 1; break;
        case 'o': a->output = optarg; break;
        case OPT_SECURITY:
            if (strcmp(optarg, "malicious") == 0)
                a->semi_honest = 0;
            else if (strcmp(optarg, "semi-honest") == 0)
                a->semi_honest = 1;
            else
                return party_usage_fail(SUB, "--security '%s', expected malicious or "
                                        "semi-honest", optarg);
            break;
        case OPT_BITS:
            if (party_parse_uint(optarg, MIMIR_SPDZ_TRUNC_BOUND_BITS, &v) != 0 || v == 0)
                return party_usage_fail(SUB, "--bits '%s', expected 1..%d", optarg,
                                        MIMIR_SPDZ_TRUNC_BOUND_BITS);
            a->bits = (long)v;
            break;
#ifdef MIMIR_TEST_HOOKS
        case OPT_TEST_FAULT:
            if (parse_fault(optarg, &a->fault) != 0)
                return party_usage_fail(SUB, "--test-fault '%s', expected KIND:AT[:BIT] with "
                                        "KIND open-flip, copy, mac-value, mac-commit, "
                                        "input-copy or input-mac", optarg);
            break;
        case OPT_TEST_SKIP_COPY: a->fault.skip_copy_check = 1; break;
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
    if (a->party < 0)
        return party_usage_fail(SUB, "--party is missing, expected 0, 1 or 2");
    if (a->cluster == NULL)
        return party_usage_fail(SUB, "--cluster is missing, expected the cluster file");
    if (a->pool == NULL)
        return party_usage_fail(SUB, "--pool is missing, expected this party's triple pool");
    if (a->output == NULL)
        return party_usage_fail(SUB, "-o is missing, expected the output share file");
    if (optind >= argc)
        return party_usage_fail(SUB, "no operation, expected add, sub, mul, matmul or trunc");
    const char *name = argv[optind++];
    a->op = -1;
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(name, ops[i].name) == 0)
            a->op = (int)i;
    if (a->op < 0)
        return party_usage_fail(SUB, "'%s' is not an operation, expected add, sub, mul, matmul "
                                "or trunc", name);
    int want = ops[a->op].inputs, got = argc - optind;
    if (got != want)
        return party_usage_fail(SUB, "%s takes %d input%s (%s), got %d", name, want,
                                want == 1 ? "" : "s", want == 1 ? "A" : "A B", got);
    for (int i = 0; i < want; i++)
        a->in[i] = argv[optind + i];
    if (a->op == OP_TRUNC && a->bits < 0)
        return party_usage_fail(SUB, "trunc needs --bits F, expected 1..%d",
                                MIMIR_SPDZ_TRUNC_BOUND_BITS);
    if (a->op != OP_TRUNC && a->bits >= 0)
        return party_usage_fail(SUB, "--bits is for trunc only; %s truncates by the inputs' "
                                "fractional bits", name);
    return 0;
}

static int is_real(const mimir_share *s, const mimir_share_tensor *t)
{
    return (t->dtype == MIMIR_SHARE_F32 || t->dtype == MIMIR_SHARE_F64) && s->frac_bits > 0;
}

/* The inputs agree with each other and the operation; fills the result's shape and scale.
 * Floats are stored scaled by 2^f, integers unscaled (lib/sharefile.h), whatever the file's
 * frac_bits says: a sum needs both on one scale, a product of two reals is truncated by f, a
 * product of a real and an integer is already on the real's scale, two integers multiply
 * exactly (an integer's frac_bits is not used). Inputs may come from different splits
 * (different share session ids): what must agree is the party (checked on load), the ring,
 * the fixed-point bits of two reals, and the shapes. */
static int check_shapes(const cargs *a, const mimir_share *sa, const mimir_share_tensor *ta,
                        const mimir_share *sb, const mimir_share_tensor *tb, summary *sum,
                        mimir_err *err)
{
    char sha[SHAPE_STR_BYTES], shb[SHAPE_STR_BYTES];
    party_shape_str(sha, sizeof sha, ta->ndim, ta->shape);
    sum->ndim = ta->ndim;
    memcpy(sum->shape, ta->shape, sizeof sum->shape);
    sum->real = is_real(sa, ta);
    sum->fix = 0;
    sum->frac = sa->frac_bits;
    if (tb == NULL)
        return MIMIR_OK;
    party_shape_str(shb, sizeof shb, tb->ndim, tb->shape);
    int ra = is_real(sa, ta), rb = is_real(sb, tb);
    if (!ra && rb)
        sum->frac = sb->frac_bits;
    if (ra && rb && sa->frac_bits != sb->frac_bits)
        return mimir_err_set(err, MIMIR_EINPUT, a->in[1], "frac_bits",
                             "%u fractional bits, expected %u as in %s", sb->frac_bits,
                             sa->frac_bits, a->in[0]);
    if ((a->op == OP_ADD || a->op == OP_SUB) && ra != rb)
        return mimir_err_set(err, MIMIR_EINPUT, a->in[1], "dtype",
                             "%s, expected %s as %s's for %s (floats are scaled by 2^%u, "
                             "integers are not)", mimir_share_dtype_name(tb->dtype),
                             ra ? "a float" : "an integer", a->in[0], ops[a->op].name,
                             sa->frac_bits);
    sum->real = ra || rb;
    sum->fix = (ra && rb) ? sa->frac_bits : 0;
    if (a->op == OP_MATMUL) {
        if (ta->ndim != 2)
            return mimir_err_set(err, MIMIR_EINPUT, a->in[0], "shape",
                                 "shape %s, expected a matrix [rows,inner] for matmul", sha);
        if (tb->ndim != 2 || tb->shape[0] != ta->shape[1])
            return mimir_err_set(err, MIMIR_EINPUT, a->in[1], "shape",
                                 "shape %s, expected [%llu,cols] to multiply %s's %s", shb,
                                 (unsigned long long)ta->shape[1], a->in[0], sha);
        sum->inner = ta->shape[1];
        sum->shape[1] = tb->shape[1];
        return MIMIR_OK;
    }
    int same = ta->ndim == tb->ndim;
    for (int d = 0; same && d < ta->ndim; d++)
        same = ta->shape[d] == tb->shape[d];
    if (!same)
        return mimir_err_set(err, MIMIR_EINPUT, a->in[1], "shape",
                             "shape %s, expected %s as %s's for %s", shb, sha, a->in[0],
                             ops[a->op].name);
    return MIMIR_OK;
}

/* The output share: same session as input A, one tensor of the result's shape (float32 if
 * fixed-point, else int64), named as A's. */
static int make_output(const cargs *a, const mimir_share *sa, const mimir_share_tensor *ta,
                       const summary *sum, mimir_share **out, mimir_share_tensor **t,
                       mimir_err *err)
{
    char meta[128];
    snprintf(meta, sizeof meta, "{\"op\":\"%s\",\"source\":\"%s\"}", ops[a->op].name,
             TOOL_NAME);
    int rc = mimir_share_new(a->output, MIMIR_SHARE_TENSOR, a->party, MIMIR_RSS_RING64,
                             sum->frac, sa->session, meta, out, err);
    if (rc)
        return rc;
    enum mimir_share_dtype dt = sum->real ? MIMIR_SHARE_F32 : MIMIR_SHARE_I64;
    rc = mimir_share_add(*out, ta->name, dt, sum->ndim, sum->shape, t, err);
    if (rc) {
        mimir_share_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Runs the operation on the input vectors into r (allocated here). */
static int run_op(const cargs *a, mimir_spdz *s, const mimir_sv *x, const mimir_sv *y,
                  const summary *sum, mimir_sv *r, mimir_err *err)
{
    size_t n = 1;
    for (int d = 0; d < sum->ndim; d++)
        n *= (size_t)sum->shape[d];
    int rc = mimir_sv_alloc(r, n, mimir_spdz_macs(s), err);
    if (rc)
        return rc;
    switch (a->op) {
    case OP_ADD:
        return mimir_spdz_add(s, r, x, y, err);
    case OP_SUB:
        return mimir_spdz_sub(s, r, x, y, err);
    case OP_MUL:
        rc = mimir_spdz_mul(s, r, x, y, err);
        break;
    case OP_MATMUL:
        rc = mimir_spdz_matmul(s, r, x, y, (size_t)sum->shape[0], (size_t)sum->inner,
                               (size_t)sum->shape[1], err);
        break;
    case OP_TRUNC:
        return mimir_spdz_trunc(s, r, x, (unsigned)a->bits, err);
    }
    /* A fixed-point product carries 2f fractional bits: bring it back to f. */
    if (rc == MIMIR_OK && sum->fix > 0)
        rc = mimir_spdz_trunc(s, r, r, sum->fix, err);
    return rc;
}

static void add_traffic(const mimir_net *net, int self, summary *sum)
{
    sum->bytes_sent = sum->bytes_received = 0;
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (p == self)
            continue;
        mimir_net_stats st;
        mimir_net_get_stats(net, p, &st);
        sum->bytes_sent += st.bytes_sent;
        sum->bytes_received += st.bytes_received;
    }
}

/* Reads the tensor's two components into input vector v (MAC'd by the engine). */
static int input_tensor(mimir_spdz *s, const mimir_share_tensor *t, mimir_sv *v,
                        mimir_err *err)
{
    const mimir_r64 *const c[2] = {t->c[0], t->c[1]};
    return mimir_spdz_input_shares(s, c, (size_t)t->numel, v, err);
}

static int run(const cargs *a, summary *sum, mimir_err *err)
{
    mimir_cluster *cl = NULL;
    mimir_share *sa = NULL, *sb = NULL, *so = NULL;
    mimir_share_tensor *ta, *tb = NULL, *to = NULL;
    mimir_pool *pool = NULL;
    mimir_transcript *tr = NULL;
    mimir_net *net = NULL;
    mimir_admit *admit = NULL;
    mimir_coin *coin = NULL;
    mimir_spdz *s = NULL;
    mimir_sv x = {0}, y = {0}, r = {0};
    mimir_out out;
    int out_open = 0;
    uint8_t *seed = NULL;
    mimir_r128 alpha[2] = {0, 0};
    size_t ia = 0, ib = 0;
    double t0 = party_now_ms();
    int rc;

    if (a->seed_file != NULL) {
        seed = mimir_key_alloc(PARTY_SEED_BYTES);
        if (seed == NULL) {
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
            goto done;
        }
        if ((rc = party_read_seed_file(a->seed_file, seed, err)))
            goto done;
    }
    if ((rc = mimir_cluster_load(a->cluster, a->party, &cl, err)))
        goto done;
    if ((rc = party_load_tensor(a->in[0], a->party, a->tensor, &sa, &ia, err)))
        goto done;
    ta = &sa->t[ia];
    if (a->in[1] != NULL) {
        if ((rc = party_load_tensor(a->in[1], a->party, a->tensor, &sb, &ib, err)))
            goto done;
        tb = &sb->t[ib];
    }
    if ((rc = check_shapes(a, sa, ta, sb, tb, sum, err)))
        goto done;
    if ((rc = mimir_pool_open(a->pool, a->party, cl->session, &pool, err)))
        goto done;
    if (!a->semi_honest && !mimir_pool_macs(pool)) {
        rc = mimir_err_set(err, MIMIR_EINPUT, a->pool, "macs",
                           "a semi-honest pool (no MAC words), expected a pool with MACs for "
                           "--security malicious");
        goto done;
    }
    if ((rc = make_output(a, sa, ta, sum, &so, &to, err)))
        goto done;
    if ((rc = mimir_out_open(&out, a->output, err)))
        goto done;
    out_open = 1;

    if (a->transcript != NULL) {
        char shape[SHAPE_STR_BYTES];
        party_shape_str(shape, sizeof shape, sum->ndim, sum->shape);
        rc = mimir_transcript_create(a->transcript, cl->session, a->party, TOOL_NAME, &tr, err);
        if (rc)
            goto done;
        mimir_transcript_note(tr, "op", ops[a->op].name);
        mimir_transcript_note(tr, "shape", shape);
        mimir_transcript_note(tr, "security", a->semi_honest ? "semi-honest" : "malicious");
    }
    mimir_net_opts nopts;
    memset(&nopts, 0, sizeof nopts);
    if (tr != NULL) {
        nopts.observer = mimir_transcript_observer;
        nopts.observer_arg = tr;
    }
    /* With an "attestation" section in the cluster file, a peer is admitted only if its
     * certificate's evidence passes the policy (lib/attest/admit.h); else pinning alone. */
    if ((rc = mimir_admit_configure(cl, &nopts, &admit, err)))
        goto done;
    if ((rc = mimir_net_open(cl, &nopts, &net, err)))
        goto done;
    mimir_coin_opts copts = {.fixed_seed = seed, .test_fault = 0};
    if ((rc = mimir_coin_toss(net, &copts, &coin, err)))
        goto done;
    if ((rc = party_align_pool(pool, net, a->party, a->pool, 0, err)))
        goto done;

    mimir_spdz_opts sopts;
    memset(&sopts, 0, sizeof sopts);
    sopts.semi_honest = a->semi_honest;
    sopts.transcript = tr;
#ifdef MIMIR_TEST_HOOKS
    sopts.fault = a->fault;
#endif
    mimir_pool_alpha(pool, alpha);
    rc = mimir_spdz_new(net, coin, mimir_pool_prep(pool), alpha, &sopts, &s, err);
    mimir_wipe(alpha, sizeof alpha);
    if (rc)
        goto done;
    if ((rc = input_tensor(s, ta, &x, err)))
        goto done;
    if (tb != NULL && (rc = input_tensor(s, tb, &y, err)))
        goto done;
    if ((rc = run_op(a, s, &x, &y, sum, &r, err)))
        goto done;
    mimir_r64 *const oc[2] = {to->c[0], to->c[1]};
    if ((rc = mimir_spdz_output(s, &r, oc, err)))
        goto done;
    if ((rc = mimir_share_write(so, &out, err)))
        goto done;

    mimir_spdz_stats st;
    mimir_spdz_get_stats(s, &st);
    sum->opens = st.opens;
    sum->checks = st.checks;
    add_traffic(net, a->party, sum);
    if ((rc = mimir_net_close(net, err)))
        goto done;
    sum->rounds = mimir_net_rounds(net);
    if (tr != NULL) {
        rc = mimir_transcript_close(tr, sum->rounds, NULL, err);
        mimir_transcript_free(tr);
        tr = NULL;
        if (rc)
            goto done;
    }
    rc = mimir_out_commit(&out, err);
    out_open = 0;
    sum->ms = party_now_ms() - t0;

done:
    /* Peers hear why this party stops (a net that failed already repeats its own reason). */
    if (rc != MIMIR_OK && net != NULL)
        mimir_net_abort(net, err);
    if (out_open)
        mimir_out_abort(&out);
    mimir_sv_free(&x);
    mimir_sv_free(&y);
    mimir_sv_free(&r);
    mimir_spdz_free(s);
    mimir_coin_free(coin);
    mimir_net_free(net); /* a net neither closed nor aborted tells its peers why */
    mimir_admit_free(admit);
    mimir_transcript_free(tr);
    mimir_pool_close(pool);
    mimir_share_free(so);
    mimir_share_free(sa);
    mimir_share_free(sb);
    mimir_cluster_free(cl);
    mimir_key_free(seed);
    return rc;
}

static void print_json(const cargs *a, const summary *sum)
{
    json_t *shape = json_array();
    for (int d = 0; d < sum->ndim; d++)
        json_array_append_new(shape, json_integer((json_int_t)sum->shape[d]));
    json_t *o = json_pack("{s:s, s:i, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:s}",
                          "op", ops[a->op].name, "party", a->party, "shape", shape,
                          "rounds", (json_int_t)sum->rounds,
                          "bytes_sent", (json_int_t)sum->bytes_sent,
                          "bytes_received", (json_int_t)sum->bytes_received,
                          "opens", (json_int_t)sum->opens, "checks", (json_int_t)sum->checks,
                          "ms", sum->ms, "security",
                          a->semi_honest ? "semi-honest" : "malicious");
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text != NULL)
        printf("%s\n", text);
    free(text);
    json_decref(o);
}

int compute_main(int argc, char **argv)
{
    cargs a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    summary sum;
    memset(&sum, 0, sizeof sum);
    mimir_err err;
    mimir_err_clear(&err);
    rc = run(&a, &sum, &err);
    if (rc != MIMIR_OK)
        return party_report(&err);
    char shape[SHAPE_STR_BYTES];
    party_shape_str(shape, sizeof shape, sum.ndim, sum.shape);
    fprintf(stderr, "%s: party %d: %s %s: %llu rounds, %llu bytes sent, %.0f ms (%s)\n", PROG,
            a.party, ops[a.op].name, shape, (unsigned long long)sum.rounds,
            (unsigned long long)sum.bytes_sent, sum.ms,
            a.semi_honest ? "semi-honest" : "malicious");
    if (a.json)
        print_json(&a, &sum);
    return 0;
}
