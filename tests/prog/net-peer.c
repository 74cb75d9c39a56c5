/*
 * net-peer — runs one party of a channel test (lib/net.h), for tests/cli/net.bats.
 *
 *   net-peer gencert CERT KEY [CN]        new ECDSA P-256 self-signed certificate and key
 *   net-peer freeport                     prints a free TCP port on 127.0.0.1
 *   net-peer run --cluster FILE [options] runs rounds with the two peers, verifying every byte
 *
 * Rounds alternate: even rounds are all-to-all, odd rounds go around the ring (send to next,
 * receive from prev). Message bytes depend on sender, receiver, round and offset, so any
 * misdelivery shows. Faults for the tests: --send-size (at --bad-round), --die-at-round,
 * --hang-at-round, --speak-version. Exit code: the error's code (1, 2, 3), 0 on success.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "cluster.h"
#include "err.h"
#include "net.h"

#define MAX_SIZES 32

static uint8_t pattern(int from, int to, uint64_t round, size_t i)
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull ^ (round << 40) ^ (uint64_t)from << 56 ^
                 (uint64_t)to << 60;
    x ^= x >> 29;
    return (uint8_t)(x ^ x >> 17);
}

static void fill(uint8_t *p, size_t n, int from, int to, uint64_t round)
{
    for (size_t i = 0; i < n; i++)
        p[i] = pattern(from, to, round, i);
}

static size_t check(const uint8_t *p, size_t n, int from, int to, uint64_t round)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(from, to, round, i))
            return i;
    return n;
}

static int cmd_gencert(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: net-peer gencert CERT KEY [CN]\n");
        return 2;
    }
    mimir_err err;
    mimir_err_clear(&err);
    int rc = mimir_cluster_gencert(argv[1], argv[2], argc > 3 ? argv[3] : "mimir party", 30,
                                   &err);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, "net-peer", &err);
    return rc;
}

static int cmd_freeport(void)
{
    int port = mimir_cluster_free_port();
    if (port < 0) {
        perror("net-peer: freeport");
        return 3;
    }
    printf("%d\n", port);
    return 0;
}

typedef struct run_opts {
    const char *cluster;
    int party;
    long rounds;
    size_t sizes[MAX_SIZES];
    int nsizes;
    mimir_net_opts net;
    long bad_round, die_at, hang_at;
    long long send_size;
    int json;
} run_opts;

static int parse_sizes(const char *s, run_opts *o)
{
    char *end;
    o->nsizes = 0;
    while (*s != '\0' && o->nsizes < MAX_SIZES) {
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s)
            return -1;
        if (*end == 'K' || *end == 'M') {
            v <<= *end == 'K' ? 10 : 20;
            end++;
        }
        o->sizes[o->nsizes++] = (size_t)v;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        s = end;
    }
    return o->nsizes > 0 ? 0 : -1;
}

static int one_round(mimir_net *net, const run_opts *o, uint64_t r, uint8_t *bufs[4],
                     mimir_err *err)
{
    int self = mimir_net_self(net);
    size_t size = o->sizes[r % (uint64_t)o->nsizes];
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int k = 0, p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (p == self)
            continue;
        int ring = r % 2 == 1;
        size_t send = (long)r == o->bad_round && o->send_size >= 0 ? (size_t)o->send_size : size;
        io[p].send = !ring || p == mimir_net_next(self);
        io[p].send_buf = bufs[k];
        io[p].send_len = send;
        fill(bufs[k], send, self, p, r);
        io[p].recv = !ring || p == mimir_net_prev(self);
        io[p].recv_buf = bufs[2 + k];
        io[p].recv_len = size;
        k++;
    }
    int rc = mimir_net_exchange(net, io, err);
    if (rc != MIMIR_OK)
        return rc;
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (!io[p].recv)
            continue;
        size_t bad = check(io[p].recv_buf, size, p, self, r);
        if (bad != size)
            return mimir_err_set(err, MIMIR_ESECURITY, "net-peer", "data",
                                 "round %llu: byte %zu from party %d differs",
                                 (unsigned long long)r, bad, p);
    }
    return MIMIR_OK;
}

static int run(const run_opts *o)
{
    mimir_err err;
    mimir_err_clear(&err);
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    uint8_t *bufs[4] = {NULL, NULL, NULL, NULL};
    size_t max = 0;
    for (int i = 0; i < o->nsizes; i++)
        max = o->sizes[i] > max ? o->sizes[i] : max;
    if (o->send_size > (long long)max)
        max = (size_t)o->send_size;
    int rc = mimir_cluster_load(o->cluster, o->party, &cl, &err);
    if (rc == MIMIR_OK)
        rc = mimir_net_open(cl, &o->net, &net, &err);
    for (int i = 0; i < 4 && rc == MIMIR_OK; i++)
        if ((bufs[i] = malloc(max + 1)) == NULL)
            rc = mimir_err_set(&err, MIMIR_ERUNTIME, "net-peer", "", "out of memory");
    for (long r = 0; r < o->rounds && rc == MIMIR_OK; r++) {
        if (r == o->die_at)
            _exit(9); /* a crash: the kernel closes our sockets, no goodbye */
        if (r == o->hang_at)
            for (;;)
                pause();
        rc = one_round(net, o, (uint64_t)r, bufs, &err);
    }
    if (rc == MIMIR_OK)
        rc = mimir_net_close(net, &err);
    if (rc == MIMIR_OK) {
        uint64_t sent = 0, recvd = 0;
        for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
            mimir_net_stats st;
            mimir_net_get_stats(net, p, &st);
            sent += st.bytes_sent;
            recvd += st.bytes_received;
        }
        if (o->json)
            printf("{\"party\":%d,\"rounds\":%llu,\"bytes_sent\":%llu,\"bytes_received\":%llu}\n",
                   cl->self, (unsigned long long)mimir_net_rounds(net),
                   (unsigned long long)sent, (unsigned long long)recvd);
        else
            printf("party %d: %llu rounds ok, sent %llu bytes, received %llu bytes\n", cl->self,
                   (unsigned long long)mimir_net_rounds(net), (unsigned long long)sent,
                   (unsigned long long)recvd);
    } else {
        mimir_err_print(stderr, "net-peer", &err);
    }
    mimir_net_free(net);
    mimir_cluster_free(cl);
    for (int i = 0; i < 4; i++)
        free(bufs[i]);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: net-peer run --cluster FILE [--party N] [--rounds N] [--sizes LIST]\n"
               "         [--peer-timeout-ms MS] [--connect-timeout-ms MS] [--max-frame N]\n"
               "         [--speak-version V] [--send-size N] [--bad-round R]\n"
               "         [--die-at-round R] [--hang-at-round R] [--json]\n"
               "       net-peer gencert CERT KEY [CN]\n"
               "       net-peer freeport\n");
}

static int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"cluster", required_argument, NULL, 'c'},
        {"party", required_argument, NULL, 'p'},
        {"rounds", required_argument, NULL, 'r'},
        {"sizes", required_argument, NULL, 's'},
        {"peer-timeout-ms", required_argument, NULL, 't'},
        {"connect-timeout-ms", required_argument, NULL, 'T'},
        {"max-frame", required_argument, NULL, 'm'},
        {"speak-version", required_argument, NULL, 'v'},
        {"send-size", required_argument, NULL, 'S'},
        {"bad-round", required_argument, NULL, 'b'},
        {"die-at-round", required_argument, NULL, 'd'},
        {"hang-at-round", required_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    run_opts o;
    memset(&o, 0, sizeof o);
    o.party = -1;
    o.rounds = 4;
    o.sizes[0] = 1000;
    o.nsizes = 1;
    o.bad_round = 0;
    o.die_at = o.hang_at = -1;
    o.send_size = -1;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': o.cluster = optarg; break;
        case 'p': o.party = atoi(optarg); break;
        case 'r': o.rounds = atol(optarg); break;
        case 's':
            if (parse_sizes(optarg, &o) != 0) {
                fprintf(stderr, "net-peer: --sizes: \"%s\", expected N[K|M],...\n", optarg);
                return 2;
            }
            break;
        case 't': o.net.peer_timeout_ms = (uint32_t)atol(optarg); break;
        case 'T': o.net.connect_timeout_ms = (uint32_t)atol(optarg); break;
        case 'm': o.net.max_frame_bytes = strtoull(optarg, NULL, 10); break;
        case 'v': o.net.hello_version = (uint32_t)atol(optarg); break;
        case 'S': o.send_size = atoll(optarg); break;
        case 'b': o.bad_round = atol(optarg); break;
        case 'd': o.die_at = atol(optarg); break;
        case 'h': o.hang_at = atol(optarg); break;
        case 'j': o.json = 1; break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (o.cluster == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    return run(&o);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "gencert") == 0)
        return cmd_gencert(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "freeport") == 0)
        return cmd_freeport();
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
    return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
}
