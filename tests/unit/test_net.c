/*
 * test_net.c — cluster files, frame headers, and three parties (threads) exchanging rounds over
 * TLS on loopback TCP and on Unix sockets, every byte verified. Process-level faults (dead,
 * stalled, refused, oversized peers) are in tests/cli/net.bats.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "cluster.h"
#include "net.h"
#include "cluster3.h"
#include "tap.h"

#define SESSION "000102030405060708090a0b0c0d0e0f"

#define MiB (1u << 20)
#define LOG_MAX 256

static char dir[256];

/* ------------------------------------------------------------ frame header */

static void test_header(void)
{
    uint8_t h[MIMIR_NET_HEADER_BYTES];
    static const uint8_t want[MIMIR_NET_HEADER_BYTES] = {
        2, 0, 0, 0, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0x11, 0x22, 0x33, 0, 0, 0, 0, 0};
    mimir_net_header_encode(h, MIMIR_NET_DATA, 0x0102030405060708ull, 0x332211);
    CHECK(memcmp(h, want, sizeof h) == 0, "header: little-endian type, round, length");
    uint32_t t;
    uint64_t r, l;
    mimir_net_header_decode(h, &t, &r, &l);
    CHECK(t == MIMIR_NET_DATA && r == 0x0102030405060708ull && l == 0x332211,
          "header: decode inverts encode");
}

/* ------------------------------------------------------------ cluster files */

typedef struct bad_case {
    const char *name, *find, *replace, *field;
    int self;
    int code; /* 0 = MIMIR_EINPUT */
} bad_case;

static char *replace_once(const char *s, const char *find, const char *rep)
{
    const char *at = strstr(s, find);
    if (at == NULL)
        return NULL;
    size_t n = strlen(s) - strlen(find) + strlen(rep) + 1;
    char *r = malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)(at - s), s, rep, at + strlen(find));
    return r;
}

static void test_cluster(void)
{
    char addr[3][200] = {"tcp:127.0.0.1:7000", "tcp:[::1]:7001", "unix:/tmp/x.sock"};
    char json[4096];
    cluster3_json(json, sizeof json, SESSION, addr);
    mimir_err err = {0};
    mimir_cluster *c = NULL;
    int rc = mimir_cluster_parse(json, strlen(json), "good.json", dir, 1, &c, &err);
    CHECK(rc == MIMIR_OK, "cluster: a good file parses (%s: %s)", err.field, err.msg);
    if (c != NULL) {
        CHECK(c->self == 1 && c->version == 1 && c->session[15] == 0x0f,
              "cluster: self, version and session read");
        CHECK(c->party[0].kind == MIMIR_ADDR_TCP && strcmp(c->party[0].host, "127.0.0.1") == 0 &&
                  c->party[0].port == 7000,
              "cluster: tcp address split into host and port");
        CHECK(strcmp(c->party[1].host, "::1") == 0 && c->party[1].port == 7001,
              "cluster: bracketed IPv6 address");
        CHECK(c->party[2].kind == MIMIR_ADDR_UNIX && strcmp(c->party[2].path, "/tmp/x.sock") == 0,
              "cluster: unix address");
        CHECK(c->party[1].key_path != NULL && c->party[0].key_path == NULL,
              "cluster: only the local party keeps its key path");
        CHECK(c->peer_timeout_ms == 5000 && c->max_frame_bytes == 0,
              "cluster: optional limits read, absent ones left at 0");
        uint8_t fpr[MIMIR_FPR_BYTES];
        char path[300];
        snprintf(path, sizeof path, "%s/p0.pem", dir);
        CHECK(mimir_cluster_cert_fpr(path, fpr, &err) == MIMIR_OK &&
                  memcmp(fpr, c->party[0].fpr, sizeof fpr) == 0,
              "cluster: the pin is the certificate's SHA-256 fingerprint");
        /* the same file with the pin given as "sha256" instead of a certificate */
        char hex[MIMIR_FPR_HEXBYTES], rep[200];
        mimir_cluster_fpr_hex(fpr, hex);
        snprintf(rep, sizeof rep, "\"sha256\": \"%s\"", hex);
        char *j2 = replace_once(json, "\"cert\": \"p0.pem\", \"key\": \"p0.key\"", rep);
        mimir_cluster *c2 = NULL;
        CHECK(mimir_cluster_parse(j2, strlen(j2), "pin.json", dir, 1, &c2, &err) == MIMIR_OK &&
                  memcmp(c2->party[0].fpr, fpr, sizeof fpr) == 0,
              "cluster: a peer pinned by \"sha256\" alone");
        mimir_cluster_free(c2);
        free(j2);
    }
    mimir_cluster_free(c);
    mimir_cluster_free(NULL);

    static const bad_case bad[] = {
        {"not JSON", "{\"version\"", "{version", "", 0, 0},
        {"unknown key", "\"version\": 1", "\"version\": 1, \"colour\": 2", "", 0, 0},
        {"version 0", "\"version\": 1", "\"version\": 0", "version", 0, 0},
        {"version a string", "\"version\": 1", "\"version\": \"1\"", "version", 0, 0},
        {"short session", "0e0f\"", "0e\"", "session", 0, 0},
        {"session not hex", "0e0f\"", "0e0g\"", "session", 0, 0},
        {"no self", "", "", "self", -1, 0},
        {"self out of range", "", "", "self", 3, 0},
        {"bad scheme", "tcp:127.0.0.1:7000", "udp:127.0.0.1:7000", "parties[0].address", 0, 0},
        {"port 0", "127.0.0.1:7000", "127.0.0.1:0", "parties[0].address", 0, 0},
        {"port too big", "127.0.0.1:7000", "127.0.0.1:70000", "parties[0].address", 0, 0},
        {"no port", "127.0.0.1:7000", "127.0.0.1", "parties[0].address", 0, 0},
        {"unbracketed IPv6", "[::1]:7001", "::1:7001", "parties[1].address", 0, 0},
        {"empty unix path", "unix:/tmp/x.sock", "unix:", "parties[2].address", 0, 0},
        {"index twice", "\"index\": 1", "\"index\": 0", "parties[1].index", 0, 0},
        {"index 3", "\"index\": 2", "\"index\": 3", "parties[2].index", 0, 0},
        {"no certificate and no pin", "\"cert\": \"p2.pem\", ", "", "parties[2]", 0, 0},
        {"missing certificate file", "p2.pem", "nope.pem", "", 0, MIMIR_ERUNTIME},
        {"pin does not match", "\"cert\": \"p2.pem\"",
         "\"cert\": \"p2.pem\", \"sha256\": "
         "\"0000000000000000000000000000000000000000000000000000000000000000\"",
         "parties[2].sha256", 0, 0},
        {"short pin", "\"cert\": \"p2.pem\"", "\"sha256\": \"00\"", "parties[2].sha256", 0, 0},
        {"local party without key", "\"cert\": \"p0.pem\", \"key\": \"p0.key\"",
         "\"cert\": \"p0.pem\"", "parties[index=0]", 0, 0},
        {"same certificate twice", "p1.pem", "p0.pem", "parties", 0, 0},
        {"same address twice", "unix:/tmp/x.sock", "tcp:127.0.0.1:7000", "parties", 0, 0},
        {"two parties only", ",\n  {\"index\": 2", "], \"x\": [{\"index\": 2", "", 0, 0},
        {"timeout 0", "\"peer_timeout_ms\": 5000", "\"peer_timeout_ms\": 0", "peer_timeout_ms",
         0, 0},
        {"max frame negative", "\"peer_timeout_ms\": 5000",
         "\"peer_timeout_ms\": 5000, \"max_frame_bytes\": -1", "max_frame_bytes", 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *j = replace_once(json, bad[i].find, bad[i].replace);
        if (j == NULL) {
            CHECK(0, "cluster bad case \"%s\": pattern not found", bad[i].name);
            continue;
        }
        mimir_err_clear(&err);
        c = NULL;
        rc = mimir_cluster_parse(j, strlen(j), "bad.json", dir, bad[i].self, &c, &err);
        int want = bad[i].code ? bad[i].code : MIMIR_EINPUT;
        CHECK(rc == want && c == NULL && strcmp(err.field, bad[i].field) == 0,
              "cluster: %s refused with code %d in field \"%s\" (got %d, \"%s\": %s)",
              bad[i].name, want, bad[i].field, rc, err.field, err.msg);
        mimir_cluster_free(c);
        free(j);
    }
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    char rep[220];
    snprintf(rep, sizeof rep, "unix:/%s", longpath);
    char *j = replace_once(json, "unix:/tmp/x.sock", rep);
    c = NULL;
    rc = mimir_cluster_parse(j, strlen(j), "bad.json", dir, 0, &c, &err);
    CHECK(rc == MIMIR_EINPUT && strstr(err.msg, "longer than") != NULL,
          "cluster: a unix path longer than sun_path is refused (%s)", err.msg);
    free(j);
}

static void test_gencert(void)
{
    char cert[300], key[300];
    snprintf(cert, sizeof cert, "%s/p0.pem", dir);
    snprintf(key, sizeof key, "%s/p0.key", dir);
    struct stat st;
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "gencert: key file mode 0600");
    CHECK(stat(cert, &st) == 0 && st.st_size > 100, "gencert: certificate written");
    mimir_err err = {0};
    CHECK(mimir_cluster_gencert(cert, key, "x", 0, &err) == MIMIR_EINPUT,
          "gencert: 0 days refused");
    uint8_t fpr[MIMIR_FPR_BYTES];
    CHECK(mimir_cluster_cert_fpr(key, fpr, &err) == MIMIR_EINPUT,
          "cert_fpr: a key file is not a certificate (%s)", err.msg);
}

/* ------------------------------------------------------------ three parties */

static const size_t sizes[] = {0, 1, 1000, 16364, 16365, 65536, 3 * MiB + 7, 0, 5};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static uint8_t pattern(int from, int to, size_t round, size_t i)
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull ^ (uint64_t)round << 40 ^
                 (uint64_t)from << 56 ^ (uint64_t)to << 60;
    x ^= x >> 29;
    return (uint8_t)(x ^ x >> 17);
}

typedef struct log_entry {
    int dir, peer;
    uint64_t round;
    size_t len;
} log_entry;

typedef struct party {
    int self;
    const char *json;
    int rc;
    mimir_err err;
    int bad_bytes;            /* received bytes that differ from the pattern */
    int bad_args;             /* bad-argument checks that behaved (4 expected) */
    uint64_t rounds;
    mimir_net_stats st[3];
    log_entry log[LOG_MAX];
    int nlog;
} party;

static void observe(void *arg, int d, int peer, uint64_t round, const uint8_t *p, size_t len)
{
    party *me = arg;
    (void)p;
    if (me->nlog < LOG_MAX)
        me->log[me->nlog++] = (log_entry){d, peer, round, len};
}

static int run_rounds(party *me, mimir_net *net)
{
    uint8_t *sb[3] = {NULL, NULL, NULL}, *rb[3] = {NULL, NULL, NULL};
    int rc = MIMIR_OK;
    for (int p = 0; p < 3; p++) {
        sb[p] = malloc(4 * MiB);
        rb[p] = malloc(4 * MiB);
    }
    /* bad arguments are refused without costing a round or breaking the session */
    mimir_net_io bad[3];
    memset(bad, 0, sizeof bad);
    bad[me->self] = (mimir_net_io){1, sb[0], 1, 0, NULL, 0};
    me->bad_args += mimir_net_exchange(net, bad, &me->err) == MIMIR_EINPUT;
    memset(bad, 0, sizeof bad);
    bad[mimir_net_next(me->self)] = (mimir_net_io){1, sb[0], MIMIR_NET_DEFAULT_MAX_FRAME + 1, 0,
                                                  NULL, 0};
    me->bad_args += mimir_net_exchange(net, bad, &me->err) == MIMIR_EINPUT;
    me->bad_args += mimir_net_send(net, 3, sb[0], 1, &me->err) == MIMIR_EINPUT;
    me->bad_args += mimir_net_rounds(net) == 0;
    /* all-to-all rounds, one per size */
    for (size_t r = 0; r < NSIZES && rc == MIMIR_OK; r++) {
        mimir_net_io io[3];
        memset(io, 0, sizeof io);
        for (int p = 0; p < 3; p++) {
            if (p == me->self)
                continue;
            for (size_t i = 0; i < sizes[r]; i++)
                sb[p][i] = pattern(me->self, p, r, i);
            io[p] = (mimir_net_io){1, sb[p], sizes[r], 1, rb[p], sizes[r]};
        }
        rc = mimir_net_exchange(net, io, &me->err);
        for (int p = 0; p < 3 && rc == MIMIR_OK; p++)
            for (size_t i = 0; p != me->self && i < sizes[r]; i++)
                me->bad_bytes += rb[p][i] != pattern(p, me->self, r, i);
    }
    /* party 0 sends three rounds to party 1 in a row while party 1 is slow: its frames queue
     * up at party 1; party 2 takes part in the rounds with no I/O */
    for (size_t k = 0; k < 3 && rc == MIMIR_OK; k++) {
        size_t r = NSIZES + k, n = 1000 * (k + 1);
        if (me->self == 0) {
            for (size_t i = 0; i < n; i++)
                sb[1][i] = pattern(0, 1, r, i);
            rc = mimir_net_send(net, 1, sb[1], n, &me->err);
        } else if (me->self == 1) {
            usleep(100000);
            rc = mimir_net_recv(net, 0, rb[0], n, &me->err);
            for (size_t i = 0; rc == MIMIR_OK && i < n; i++)
                me->bad_bytes += rb[0][i] != pattern(0, 1, r, i);
        } else {
            mimir_net_io io[3];
            memset(io, 0, sizeof io);
            rc = mimir_net_exchange(net, io, &me->err);
        }
    }
    for (int p = 0; p < 3; p++) {
        free(sb[p]);
        free(rb[p]);
    }
    return rc;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_net_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.observer = observe;
    opts.observer_arg = me;
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_open(cl, &opts, &net, &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = run_rounds(me, net);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_close(net, &me->err);
    if (net != NULL) {
        me->rounds = mimir_net_rounds(net);
        for (int p = 0; p < 3; p++)
            mimir_net_get_stats(net, p, &me->st[p]);
    }
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return NULL;
}

/* The observer saw, round by round, the sends in peer order, then the receipts in peer order. */
static int log_in_order(const party *me)
{
    int k = 0;
    for (size_t r = 0; r < NSIZES; r++)
        for (int d = MIMIR_NET_SENT; d <= MIMIR_NET_RECEIVED; d++)
            for (int p = 0; p < 3; p++) {
                if (p == me->self)
                    continue;
                const log_entry *e = &me->log[k++];
                if (k > me->nlog || e->dir != d || e->peer != p || e->round != r ||
                    e->len != sizes[r])
                    return 0;
            }
    return 1;
}

static void three_parties(const char *kind)
{
    char addr[3][200];
    cluster3_addresses(addr, kind, dir, "");
    char json[4096];
    cluster3_json(json, sizeof json, SESSION, addr);
    static party parties[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&parties[i], 0, sizeof parties[i]);
        parties[i].self = i;
        parties[i].json = json;
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);

    uint64_t total = 0;
    for (size_t r = 0; r < NSIZES; r++)
        total += sizes[r];
    for (int i = 0; i < 3; i++) {
        party *me = &parties[i];
        CHECK(me->rc == MIMIR_OK, "%s: party %d ran every round (%s: %s: %s)", kind, i,
              me->err.file, me->err.field, me->err.msg);
        CHECK(me->bad_args == 4, "%s: party %d: bad exchange arguments refused (EINPUT), no "
              "round spent (%d of 4)", kind, i, me->bad_args);
        CHECK(me->bad_bytes == 0, "%s: party %d received every byte right (%d wrong)", kind, i,
              me->bad_bytes);
        CHECK(me->rounds == NSIZES + 3, "%s: party %d counted %llu rounds, expected %zu", kind,
              i, (unsigned long long)me->rounds, NSIZES + 3);
        CHECK(log_in_order(me), "%s: party %d observer saw frames in the fixed order", kind, i);
        for (int p = 0; p < 3; p++) {
            if (p == i)
                continue;
            uint64_t extra_s = (i == 0 && p == 1) ? 6000 : 0;
            uint64_t extra_r = (i == 1 && p == 0) ? 6000 : 0;
            uint64_t frames_s = NSIZES + (extra_s ? 3 : 0), frames_r = NSIZES + (extra_r ? 3 : 0);
            const mimir_net_stats *st = &me->st[p];
            CHECK(st->bytes_sent == total + extra_s && st->bytes_received == total + extra_r &&
                      st->frames_sent == frames_s && st->frames_received == frames_r,
                  "%s: party %d counted bytes and frames with party %d (sent %llu/%llu, "
                  "received %llu/%llu)",
                  kind, i, p, (unsigned long long)st->bytes_sent,
                  (unsigned long long)st->frames_sent, (unsigned long long)st->bytes_received,
                  (unsigned long long)st->frames_received);
            CHECK(st->wire_sent > st->bytes_sent && st->wire_received > st->bytes_received,
                  "%s: party %d wire bytes with party %d include TLS and headers", kind, i, p);
        }
    }
    if (strcmp(kind, "unix") == 0) {
        char s0[300];
        snprintf(s0, sizeof s0, "%s/s0", dir);
        CHECK(access(s0, F_OK) != 0, "unix: the listening socket file is removed after setup");
    }
}

static void test_bad_io(void)
{
    /* exchange argument checks need an open net: a lone party cannot open one, so only the
     * version check of mimir_net_open is tested here without peers */
    char addr[3][200] = {"tcp:127.0.0.1:1", "tcp:127.0.0.1:2", "tcp:127.0.0.1:3"};
    char json[4096];
    cluster3_json(json, sizeof json, SESSION, addr);
    char *j = replace_once(json, "\"version\": 1", "\"version\": 2");
    mimir_cluster *c = NULL;
    mimir_net *net = NULL;
    mimir_err err = {0};
    int rc = mimir_cluster_parse(j, strlen(j), "v2.json", dir, 0, &c, &err);
    if (rc == MIMIR_OK)
        rc = mimir_net_open(c, NULL, &net, &err);
    CHECK(rc == MIMIR_EINPUT && net == NULL && strcmp(err.field, "version") == 0,
          "open: a cluster of protocol version 2 is refused by a version 1 build (%s)", err.msg);
    mimir_cluster_free(c);
    free(j);
    mimir_net_free(NULL);
}

int main(void)
{
    snprintf(dir, sizeof dir, "tests/tmp/net.XXXXXX");
    if (cluster3_setup(dir, "test_net") != 0)
        return 1;
    test_header();
    test_cluster();
    test_gencert();
    test_bad_io();
    three_parties("tcp");
    three_parties("unix");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tap_done();
}
