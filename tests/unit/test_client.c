/*
 * test_client — the client <-> party channel (lib/client.h) and the cluster file's client
 * section (lib/cluster.h): three party threads and one client thread over TLS on Unix sockets
 * and loopback TCP; the start's components arrive intact; tokens split by the parties join at
 * the client; a client with the wrong certificate, another session or a party that pins
 * another client are refused; an abort from the client reaches a party's poll; strict parsing
 * of "client" and "client_address".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "cluster3.h"
#include "mem.h"
#include "rss.h"
#include "tap.h"

#define VOCAB 7
#define NPROMPT 3
#define NNEW 4

static char dir[] = "tests/tmp/client.XXXXXX";
static const char *SESSION = "00112233445566778899aabbccddeeff";

/* A cluster file with client addresses and a client section (client.pem / other.pem). */
static void cluster_json(char *out, size_t cap, const char *kind, const char *tag,
                         const char *session, const char *client_cert)
{
    char addr[3][200], caddr[3][200];
    char t2[32];
    cluster3_addresses(addr, kind, dir, tag);
    snprintf(t2, sizeof t2, "%sc", tag);
    cluster3_addresses(caddr, kind, dir, t2);
    snprintf(out, cap,
             "{\"version\": 1, \"session\": \"%s\",\n"
             " \"peer_timeout_ms\": 5000, \"connect_timeout_ms\": 5000,\n"
             " \"client\": {\"cert\": \"%s\", \"key\": \"%.*s.key\"},\n"
             " \"parties\": [\n"
             "  {\"index\": 0, \"address\": \"%s\", \"client_address\": \"%s\",\n"
             "   \"cert\": \"p0.pem\", \"key\": \"p0.key\"},\n"
             "  {\"index\": 1, \"address\": \"%s\", \"client_address\": \"%s\",\n"
             "   \"cert\": \"p1.pem\", \"key\": \"p1.key\"},\n"
             "  {\"index\": 2, \"address\": \"%s\", \"client_address\": \"%s\",\n"
             "   \"cert\": \"p2.pem\", \"key\": \"p2.key\"}]}\n",
             session, client_cert, (int)(strlen(client_cert) - 4), client_cert, addr[0],
             caddr[0], addr[1], caddr[1], addr[2], caddr[2]);
}

typedef struct party {
    int self;
    const char *json;
    int client_aborts; /* the client sends an abort after the start */
    int rc;
    mimir_err err;
    mimir_client_start st;
    mimir_r64 got[2][NPROMPT * VOCAB];
    int poll_rc;
    mimir_err poll_err;
} party;

/* The token values the parties "computed": token t is 3 + t; the parties hold a split. */
static mimir_r64 tok_comp[NNEW][3];

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_client_conn *k = NULL;
    mimir_r64 *c0 = NULL, *c1 = NULL;
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_client_accept(cl, 0, &k, &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_client_recv_start(k, 1000, &me->st, &c0, &c1, &me->err);
    if (me->rc == MIMIR_OK) {
        memcpy(me->got[0], c0, sizeof me->got[0]);
        memcpy(me->got[1], c1, sizeof me->got[1]);
    }
    if (me->rc == MIMIR_OK && me->client_aborts) {
        /* wait for the client's abort to arrive, then poll */
        for (int i = 0; i < 200; i++) {
            me->poll_rc = mimir_client_poll_abort(k, &me->poll_err);
            if (me->poll_rc != MIMIR_OK)
                break;
            struct timespec ts = {0, 10000000L};
            nanosleep(&ts, NULL);
        }
    } else if (me->rc == MIMIR_OK) {
        me->poll_rc = mimir_client_poll_abort(k, &me->poll_err);
        for (uint32_t t = 0; t < NNEW && me->rc == MIMIR_OK; t++) {
            mimir_client_token tk = {.step = t, .us = 1000 + t, .bytes = 100 * t, .rounds = 7};
            tk.c[0] = tok_comp[t][me->self];
            tk.c[1] = tok_comp[t][(me->self + 1) % 3];
            me->rc = mimir_client_send_token(k, &tk, &me->err);
        }
        mimir_client_end e = {.tokens = NNEW, .rounds = 28, .bytes = 600, .us = 5000};
        if (me->rc == MIMIR_OK)
            me->rc = mimir_client_send_end(k, &e, &me->err);
    }
    mimir_secret_free(c0);
    mimir_secret_free(c1);
    mimir_client_close(k);
    mimir_cluster_free(cl);
    return NULL;
}

typedef struct client {
    const char *json;
    int abort_after_start;
    int cheat_party;   /* party whose token component the test corrupts at the client, -1 */
    int rc;
    mimir_err err;
    mimir_r64 x[NPROMPT * VOCAB];
    mimir_r64 comp[3][NPROMPT * VOCAB];
    mimir_r64 tokens[NNEW];
    int n_tokens, ends, join_rc;
} client;

static void *client_main(void *arg)
{
    client *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_client_conn *k[3] = {NULL, NULL, NULL};
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir,
                                 MIMIR_CLUSTER_CLIENT, &cl, &me->err);
    for (int p = 0; p < 3 && me->rc == MIMIR_OK; p++)
        me->rc = mimir_client_connect(cl, p, 0, &k[p], &me->err);
    if (me->rc == MIMIR_OK) {
        for (int i = 0; i < NPROMPT * VOCAB; i++)
            me->x[i] = (i % VOCAB) == (i / VOCAB + 1) ? 1 : 0;
        mimir_rss_rng rng = mimir_rss_rng_system();
        void *comp[3] = {me->comp[0], me->comp[1], me->comp[2]};
        me->rc = mimir_rss_split(64, me->x, NPROMPT * VOCAB, &rng, comp, &me->err);
    }
    mimir_client_start st = {.n_prompt = NPROMPT, .n_new = NNEW, .vocab = VOCAB};
    if (cl != NULL)
        memcpy(st.session, cl->session, sizeof st.session);
    for (int p = 0; p < 3 && me->rc == MIMIR_OK; p++)
        me->rc = mimir_client_send_start(k[p], &st, me->comp[p], me->comp[(p + 1) % 3],
                                         &me->err);
    if (me->rc == MIMIR_OK && me->abort_after_start) {
        mimir_err why;
        mimir_err_set(&why, MIMIR_ESECURITY, "party 1", "token", "inconsistent shares");
        for (int p = 0; p < 3; p++)
            mimir_client_send_abort(k[p], &why);
    } else {
        mimir_client_token got[3][NNEW];
        int have[3] = {0, 0, 0};
        mimir_client_conn *live[3] = {k[0], k[1], k[2]}; /* not yet ended */
        while (me->rc == MIMIR_OK && me->ends < 3) {
            int ready = -1;
            me->rc = mimir_client_wait(live, 3, 5000, &ready, &me->err);
            if (me->rc != MIMIR_OK || ready < 0) {
                if (me->rc == MIMIR_OK)
                    me->rc = mimir_err_set(&me->err, MIMIR_ERUNTIME, "client", "", "timeout");
                break;
            }
            mimir_client_msg m;
            me->rc = mimir_client_recv(k[ready], &m, &me->err);
            if (me->rc != MIMIR_OK)
                break;
            if (m.type == MIMIR_CLIENT_END) {
                me->ends++;
                live[ready] = NULL;
                continue;
            }
            if (m.type != MIMIR_CLIENT_TOKEN) {
                me->rc = MIMIR_ERUNTIME;
                break;
            }
            if (have[ready] >= NNEW || m.token.step != (uint32_t)have[ready]) {
                me->rc = MIMIR_ERUNTIME;
                break;
            }
            got[ready][have[ready]++] = m.token;
            while (me->n_tokens < have[0] && me->n_tokens < have[1] &&
                   me->n_tokens < have[2]) {
                int t = me->n_tokens;
                if (me->cheat_party >= 0)
                    got[me->cheat_party][t].c[1] += 1;
                mimir_rss_view v[3];
                for (int p = 0; p < 3; p++) {
                    v[p].party = p;
                    v[p].c[0] = &got[p][t].c[0];
                    v[p].c[1] = &got[p][t].c[1];
                    v[p].name = NULL;
                }
                mimir_r64 x = 0;
                me->join_rc = mimir_rss_join(64, 1, v, 3, &x, &me->err);
                if (me->join_rc != MIMIR_OK)
                    break;
                me->tokens[me->n_tokens++] = x;
            }
            if (me->join_rc != MIMIR_OK)
                break;
        }
    }
    for (int p = 0; p < 3; p++)
        mimir_client_close(k[p]);
    mimir_cluster_free(cl);
    return NULL;
}

static party P[3];
static client C;

static void run(const char *json_parties, const char *json_client, int abort_after_start,
                int cheat)
{
    pthread_t th[4];
    for (int i = 0; i < 3; i++) {
        memset(&P[i], 0, sizeof P[i]);
        P[i].self = i;
        P[i].json = json_parties;
        P[i].client_aborts = abort_after_start;
    }
    memset(&C, 0, sizeof C);
    C.json = json_client;
    C.abort_after_start = abort_after_start;
    C.cheat_party = cheat;
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &P[i]);
    pthread_create(&th[3], NULL, client_main, &C);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
}

static void test_session(const char *kind)
{
    char json[4096];
    static int runs;
    char tag[16];
    snprintf(tag, sizeof tag, "g%d.", ++runs);
    cluster_json(json, sizeof json, kind, tag, SESSION, "client.pem");
    run(json, json, 0, -1);
    CHECK(C.rc == MIMIR_OK, "%s: the client ran (%s: %s: %s)", kind, C.err.file, C.err.field,
          C.err.msg);
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        ok &= CHECK(P[i].rc == MIMIR_OK, "%s: party %d served (%s: %s: %s)", kind, i,
                    P[i].err.file, P[i].err.field, P[i].err.msg);
        ok &= CHECK(P[i].st.n_prompt == NPROMPT && P[i].st.n_new == NNEW &&
                        P[i].st.vocab == VOCAB, "%s: party %d got the start's sizes", kind, i);
        ok &= CHECK(memcmp(P[i].got[0], C.comp[i], sizeof P[i].got[0]) == 0 &&
                        memcmp(P[i].got[1], C.comp[(i + 1) % 3], sizeof P[i].got[1]) == 0,
                    "%s: party %d got its two components intact", kind, i);
        CHECK(P[i].poll_rc == MIMIR_OK, "%s: party %d: poll with nothing sent is OK", kind, i);
    }
    CHECK(C.n_tokens == NNEW && C.ends == 3, "%s: %d tokens and %d ends, expected %d and 3",
          kind, C.n_tokens, C.ends, NNEW);
    int same = 1;
    for (int t = 0; t < C.n_tokens; t++)
        same &= C.tokens[t] == (mimir_r64)(3 + t);
    CHECK(same, "%s: the joined tokens are the parties' values", kind);
    (void)ok;
}

static void test_refusals(void)
{
    char good[4096], other_cert[4096], other_session[4096];
    cluster_json(good, sizeof good, "unix", "r1.", SESSION, "client.pem");
    /* the client presents other.pem while the parties pin client.pem (Unix socket paths
     * depend only on the tag, so both files name the same addresses) */
    cluster_json(other_cert, sizeof other_cert, "unix", "r1.", SESSION, "other.pem");
    run(good, other_cert, 0, -1);
    CHECK(C.rc == MIMIR_ESECURITY || P[0].rc == MIMIR_ESECURITY,
          "a client with another certificate is refused (client %d, party 0 %d: %s: %s)",
          C.rc, P[0].rc, P[0].err.field, P[0].err.msg);
    CHECK(strstr(P[0].err.msg, "pins") != NULL && strcmp(P[0].err.file, "client") == 0,
          "the party names the client and the pin: %s: %s", P[0].err.file, P[0].err.msg);
    for (int i = 1; i < 3; i++)
        CHECK(P[i].rc != MIMIR_OK, "party %d fails too (rc %d)", i, P[i].rc);

    /* another session id in the client's file */
    cluster_json(other_session, sizeof other_session, "unix", "r1.",
                 "ffeeddccbbaa99887766554433221100", "client.pem");
    run(good, other_session, 0, -1);
    CHECK(C.rc == MIMIR_ESECURITY && strstr(C.err.msg, "session") != NULL,
          "another session is refused (%d: %s: %s: %s)", C.rc, C.err.file, C.err.field,
          C.err.msg);

    /* the client aborts after the start: every party's poll sees it */
    cluster_json(good, sizeof good, "unix", "r2.", SESSION, "client.pem");
    run(good, good, 1, -1);
    for (int i = 0; i < 3; i++)
        CHECK(P[i].poll_rc == MIMIR_ERUNTIME && strstr(P[i].poll_err.msg, "inconsistent") &&
                  strcmp(P[i].poll_err.file, "client") == 0,
              "party %d hears the client's abort (%d: %s: %s)", i, P[i].poll_rc,
              P[i].poll_err.file, P[i].poll_err.msg);

    /* one party's component altered: the join fails with a security error */
    cluster_json(good, sizeof good, "unix", "r3.", SESSION, "client.pem");
    run(good, good, 0, 1);
    CHECK(C.join_rc == MIMIR_ESECURITY && strstr(C.err.msg, "differ") != NULL,
          "an altered component is caught at the join (%d: %s)", C.join_rc, C.err.msg);
}

static void test_parse(void)
{
    char good[4096];
    mimir_cluster *c = NULL;
    mimir_err err = {0};
    cluster_json(good, sizeof good, "unix", "q.", SESSION, "client.pem");
    int rc = mimir_cluster_parse(good, strlen(good), "c.json", dir, MIMIR_CLUSTER_CLIENT, &c,
                                 &err);
    CHECK(rc == MIMIR_OK && c->has_client && c->client.key_path != NULL &&
              c->client_at[2].kind == MIMIR_ADDR_UNIX,
          "a client's cluster file parses (%s: %s)", err.field, err.msg);
    mimir_cluster_free(c);
    rc = mimir_cluster_parse(good, strlen(good), "c.json", dir, 1, &c, &err);
    CHECK(rc == MIMIR_OK && c->client.key_path == NULL && c->party[1].key_path != NULL,
          "a party's view keeps no client key (%s)", err.msg);
    mimir_cluster_free(c);

    static const struct {
        const char *from, *to, *field, *msg;
        int self;
    } bad[] = {
        {"\"client\": {", "\"client\": {\"color\": 1, ", "client", "unknown key", 0},
        {"\"cert\": \"client.pem\"", "\"cert\": 5", "client.cert", "expected a string", 0},
        {"\"cert\": \"client.pem\", ", "", "client", "unpinned", 0},
        {"\"cert\": \"client.pem\"", "\"cert\": \"p1.pem\"", "client", "party 1", 0},
        {"\"client_address\": \"unix:", "\"client_address\": \"udp:", "client_address",
         "expected", 0},
        {"\"client_address\": \"unix:", "\"client_adress\": \"unix:", "parties[0]",
         "unknown key", 0},
        {"\"client_address\": \"unix:", "\"x\": \"unix:", "client_address", "missing",
         MIMIR_CLUSTER_CLIENT},
        {", \"key\": \"client.key\"", "", "client", "\"key\"", MIMIR_CLUSTER_CLIENT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char j[4096];
        const char *at = strstr(good, bad[i].from);
        if (!CHECK(at != NULL, "bad case %zu applies", i))
            continue;
        size_t pre = (size_t)(at - good);
        snprintf(j, sizeof j, "%.*s%s%s", (int)pre, good, bad[i].to, at + strlen(bad[i].from));
        if (strcmp(bad[i].to, "\"x\": \"unix:") == 0) /* "x" is unknown: drop the key instead */
            snprintf(j, sizeof j, "%.*s%s", (int)pre, good,
                     strstr(at, "\"cert\""));
        c = NULL;
        mimir_err_clear(&err);
        rc = mimir_cluster_parse(j, strlen(j), "c.json", dir, bad[i].self, &c, &err);
        CHECK(rc == MIMIR_EINPUT && strstr(err.field, bad[i].field) != NULL &&
                  strstr(err.msg, bad[i].msg) != NULL,
              "bad case %zu refused: %s: %s (expected %s: %s)", i, err.field, err.msg,
              bad[i].field, bad[i].msg);
        mimir_cluster_free(c);
    }
    /* a party serving a client needs the section */
    char plain[4096], addr[3][200];
    cluster3_addresses(addr, "unix", dir, "np.");
    cluster3_json(plain, sizeof plain, SESSION, addr);
    rc = mimir_cluster_parse(plain, strlen(plain), "c.json", dir, 0, &c, &err);
    mimir_client_conn *k = NULL;
    if (rc == MIMIR_OK)
        rc = mimir_client_accept(c, 100, &k, &err);
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "client") == 0,
          "serving without a client section is refused (%s: %s)", err.field, err.msg);
    mimir_cluster_free(c);

    uint8_t h[MIMIR_CLIENT_HEADER_BYTES];
    uint32_t type;
    uint64_t len;
    mimir_client_header_encode(h, MIMIR_CLIENT_TOKEN, UINT64_C(0x0102030405060708));
    mimir_client_header_decode(h, &type, &len);
    CHECK(type == MIMIR_CLIENT_TOKEN && len == UINT64_C(0x0102030405060708) && h[4] == 8,
          "header codec round-trips little-endian");
}

int main(void)
{
    if (mimir_mem_init() != 0 || cluster3_setup(dir, "test_client") != 0)
        return 1;
    mimir_err err = {0};
    char cert[300], key[300];
    const char *names[2] = {"client", "other"};
    for (int i = 0; i < 2; i++) {
        snprintf(cert, sizeof cert, "%s/%s.pem", dir, names[i]);
        snprintf(key, sizeof key, "%s/%s.key", dir, names[i]);
        if (mimir_cluster_gencert(cert, key, names[i], 2, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "test_client", &err);
            return 1;
        }
    }
    for (int t = 0; t < NNEW; t++) {
        mimir_r64 v = (mimir_r64)(3 + t), x = v;
        mimir_rss_rng rng = mimir_rss_rng_system();
        void *comp[3] = {&tok_comp[t][0], &tok_comp[t][1], &tok_comp[t][2]};
        mimir_rss_split(64, &x, 1, &rng, comp, &err);
    }
    test_parse();
    test_session("unix");
    test_session("tcp");
    test_refusals();
    return tap_done();
}
