/*
 * bench_net — channel latency and throughput: three parties as threads in this process, TLS 1.3
 * over loopback TCP and over Unix sockets (lib/net.h), fresh ECDSA P-256 certificates.
 *
 * Prints one JSON line per transport:
 *   rtt_us         round trip between parties 0 and 1 (two rounds of 8 bytes: 0->1, 1->0)
 *   round_us       one all-to-all round, 8 bytes each way on every channel
 *   throughput_MBps  party 0 -> party 1, 16 MiB frames, until party 1 has them all
 *   wire_overhead  wire bytes / payload bytes of the throughput test (TLS records, headers,
 *                  keepalive pings)
 * Loopback numbers are a floor: real links add their latency to every round.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "cluster.h"
#include "net.h"

#define PINGS 2000
#define ROUNDS 2000
#define FRAME (16u << 20)
#define FRAMES 16

static char dir[64];

typedef struct party {
    int self;
    const char *json;
    int rc;
    mimir_err err;
    double rtt_us, round_us, mbps, overhead;
} party;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int idle(mimir_net *net, mimir_err *err)
{
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    return mimir_net_exchange(net, io, err);
}

static int bench(party *me, mimir_net *net)
{
    uint8_t small[3][8], in[3][8];
    memset(small, 7, sizeof small);
    int rc = MIMIR_OK, s = me->self;
    double t0 = now_s();
    for (int i = 0; i < PINGS && rc == MIMIR_OK; i++) {
        if (s == 0) {
            rc = mimir_net_send(net, 1, small[0], 8, &me->err);
            if (rc == MIMIR_OK)
                rc = mimir_net_recv(net, 1, in[1], 8, &me->err);
        } else if (s == 1) {
            rc = mimir_net_recv(net, 0, in[0], 8, &me->err);
            if (rc == MIMIR_OK)
                rc = mimir_net_send(net, 0, small[0], 8, &me->err);
        } else {
            rc = idle(net, &me->err);
            if (rc == MIMIR_OK)
                rc = idle(net, &me->err);
        }
    }
    me->rtt_us = (now_s() - t0) / PINGS * 1e6;

    t0 = now_s();
    for (int i = 0; i < ROUNDS && rc == MIMIR_OK; i++) {
        mimir_net_io io[MIMIR_NET_PARTIES];
        memset(io, 0, sizeof io);
        for (int p = 0; p < MIMIR_NET_PARTIES; p++)
            if (p != s)
                io[p] = (mimir_net_io){1, small[p], 8, 1, in[p], 8};
        rc = mimir_net_exchange(net, io, &me->err);
    }
    me->round_us = (now_s() - t0) / ROUNDS * 1e6;

    uint8_t *big = malloc(FRAME);
    if (big == NULL)
        return MIMIR_ERUNTIME;
    memset(big, 0x5a, FRAME);
    /* snapshot, then one more all-to-all round, so party 0 cannot have started the stream */
    mimir_net_stats before, after;
    mimir_net_get_stats(net, s == 0 ? 1 : 0, &before);
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (p != s)
            io[p] = (mimir_net_io){1, small[p], 8, 1, in[p], 8};
    if (rc == MIMIR_OK)
        rc = mimir_net_exchange(net, io, &me->err);
    t0 = now_s();
    for (int i = 0; i < FRAMES && rc == MIMIR_OK; i++) {
        if (s == 0)
            rc = mimir_net_send(net, 1, big, FRAME, &me->err);
        else if (s == 1)
            rc = mimir_net_recv(net, 0, big, FRAME, &me->err);
        else
            rc = idle(net, &me->err);
    }
    double dt = now_s() - t0;
    mimir_net_get_stats(net, s == 0 ? 1 : 0, &after);
    free(big);
    if (s == 1) {
        uint64_t payload = after.bytes_received - before.bytes_received;
        me->mbps = (double)payload / dt / 1e6;
        me->overhead = (double)(after.wire_received - before.wire_received) / (double)payload;
    }
    return rc;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_cluster *cl = NULL;
    mimir_net *net = NULL;
    mimir_err_clear(&me->err);
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "bench", dir, me->self, &cl,
                                 &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_open(cl, NULL, &net, &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = bench(me, net);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_close(net, &me->err);
    mimir_net_free(net);
    mimir_cluster_free(cl);
    return NULL;
}

static int run(const char *transport)
{
    char addr[3][128], json[2048];
    for (int i = 0; i < 3; i++) {
        if (strcmp(transport, "tcp") == 0)
            snprintf(addr[i], sizeof addr[i], "tcp:127.0.0.1:%d", mimir_cluster_free_port());
        else
            snprintf(addr[i], sizeof addr[i], "unix:%s/s%d", dir, i);
    }
    snprintf(json, sizeof json,
             "{\"version\":1,\"session\":\"0102030405060708090a0b0c0d0e0f10\",\"parties\":["
             "{\"index\":0,\"address\":\"%s\",\"cert\":\"p0.pem\",\"key\":\"p0.key\"},"
             "{\"index\":1,\"address\":\"%s\",\"cert\":\"p1.pem\",\"key\":\"p1.key\"},"
             "{\"index\":2,\"address\":\"%s\",\"cert\":\"p2.pem\",\"key\":\"p2.key\"}]}",
             addr[0], addr[1], addr[2]);
    party parties[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&parties[i], 0, sizeof parties[i]);
        parties[i].self = i;
        parties[i].json = json;
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        if (parties[i].rc != MIMIR_OK) {
            mimir_err_print(stderr, "bench_net", &parties[i].err);
            return 1;
        }
    printf("{\"bench\":\"net\",\"transport\":\"%s-tls13\",\"rtt_us\":%.1f,\"round_us\":%.1f,"
           "\"throughput_MBps\":%.1f,\"frame_bytes\":%u,\"wire_overhead\":%.4f}\n",
           transport, parties[0].rtt_us, parties[0].round_us, parties[1].mbps, FRAME,
           parties[1].overhead);
    fflush(stdout);
    return 0;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mimir-bench-net.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("bench_net: mkdtemp");
        return 3;
    }
    mimir_err err;
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        char cert[128], key[128];
        snprintf(cert, sizeof cert, "%s/p%d.pem", dir, i);
        snprintf(key, sizeof key, "%s/p%d.key", dir, i);
        if (mimir_cluster_gencert(cert, key, "bench", 1, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "bench_net", &err);
            rc = 3;
        }
    }
    if (rc == 0)
        rc = run("tcp");
    if (rc == 0)
        rc = run("unix");
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/p%d.pem", dir, i);
        unlink(p);
        snprintf(p, sizeof p, "%s/p%d.key", dir, i);
        unlink(p);
    }
    rmdir(dir);
    return rc;
}
