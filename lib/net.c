/*
 * net.c — TLS 1.3 channels over libuv with memory BIOs, framed and counted in rounds.
 *
 * Data path: socket -> on_read -> rbio -> SSL_read -> frame parser -> caller's buffer (or a
 * queued frame when the peer is ahead). Send path: caller's buffer -> SSL_write in chunks
 * (paced so at most TX_HIGH_WATER bytes of ciphertext wait in libuv) -> wbio -> uv_write.
 * Every blocking call runs the loop until its predicate holds or the net fails; a repeating
 * tick checks the deadlines, so no call can wait longer than a timeout.
 */
#include "net.h"

#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <uv.h>

#include "mem.h"

#define RBUF_BYTES 65536           /* ciphertext read staging per connection */
#define TX_CHUNK 65536             /* plaintext per SSL_write of a large frame */
#define TX_HIGH_WATER (1u << 20)   /* ciphertext queued in libuv before we stop encrypting */
#define STAGE_BYTES 16384          /* small frames go out as one TLS record */
#define CTL_BYTES (4 + MIMIR_NET_MAX_REASON) /* largest control payload */
#define RETRY_MS 100               /* between connection attempts */
#define KEEPALIVES_PER_TIMEOUT 4   /* pings sent per peer timeout while waiting */
#define TICK_MS 50                 /* deadline checks */
#define FAIL_FLUSH_MS 1000         /* how long a failing party tries to deliver its abort */
#define MAX_INCOMING 16            /* unidentified incoming connections at once */
#define WRITE_GRACE_MS 200         /* after a write error, time to read the peer's last words */
#define HELLO_MAGIC "MIMIRNET"
#define LABEL_BYTES 32

enum { C_CONNECTING, C_HANDSHAKE, C_HELLO, C_READY };

typedef struct qframe {
    struct qframe *next;
    uint64_t round;
    size_t len;
    uint8_t *data; /* mimir_secret_alloc: payloads may be shares */
} qframe;

typedef struct conn conn;

typedef struct wreq {
    uv_write_t req;
    conn *c;
    size_t len;
    char data[];
} wreq;

struct conn {
    mimir_net *net;
    int peer;      /* party index, -1 until an incoming connection's hello names it */
    int outgoing;  /* we connect (peer < self) */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    int handle_open;
    uv_connect_t creq;
    uv_timer_t retry;
    int retry_open;
    int closes;         /* uv_close callbacks still to come */
    int free_on_close;  /* free the struct when closes reaches 0 */
    int last_status;    /* last connect error (libuv code) */
    struct sockaddr_storage addr;

    SSL *ssl;
    BIO *rbio, *wbio;
    int state;
    uint8_t fpr[MIMIR_FPR_BYTES];
    uint8_t *der;       /* peer certificate, for the admit hook */
    int der_len;

    /* receive side */
    uint8_t hdr[MIMIR_NET_HEADER_BYTES];
    size_t hdr_have;
    int in_payload;
    uint32_t rtype;
    uint64_t rround, rlen, rhave;
    uint8_t *rdst;
    qframe *rq;                 /* frame being received into a queue buffer, or NULL */
    uint8_t ctl[CTL_BYTES];
    qframe *qhead, *qtail;
    size_t qcount;
    int have_rx_round;
    uint64_t last_rx_round;
    int bye_rx, eof, aborted_us;
    int dropped;                /* an unidentified connection we gave up on */

    /* this round */
    int want_recv, got;
    uint8_t *recv_buf;
    size_t recv_len;
    int tx_active, tx_hdr_done;
    const uint8_t *tx_buf;
    size_t tx_len, tx_off;
    size_t tx_queued;           /* ciphertext handed to libuv, not yet written */
    int wr_err;                 /* first write error (libuv code), 0 if none */
    uint64_t wr_err_at;

    uint64_t last_activity;     /* uv_now of the last byte received from this peer */
    uint64_t last_sent;         /* uv_now of our last frame to it, for keepalives */
    mimir_net_stats st;
    uint8_t stage[STAGE_BYTES];
    char rbuf[RBUF_BYTES];
};

struct mimir_net {
    const mimir_cluster *cl;
    int self;
    uint32_t version, hello_version, peer_timeout_ms, connect_timeout_ms;
    uint64_t max_frame;
    mimir_net_opts opts;
    SSL_CTX *ctx;
    uv_loop_t loop;
    int loop_open;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } lsn;
    int lsn_open;
    char *lsn_unlink;           /* Unix socket path to remove */
    uv_timer_t tick;
    int tick_open;
    conn *conn[MIMIR_NET_PARTIES];
    conn *incoming[MIMIR_NET_PARTIES + MAX_INCOMING];
    char last_refusal[MIMIR_ERR_MSGBYTES];

    int setup;                  /* 1 while mimir_net_open runs */
    uint64_t deadline;          /* connect deadline (uv_now ms) during setup */
    int in_round;
    uint64_t round;
    int closing, closed, failed, abort_sent;
    mimir_err err;
};

/* ---------------------------------------------------------------- helpers */

void mimir_net_header_encode(uint8_t out[MIMIR_NET_HEADER_BYTES], uint32_t type,
                             uint64_t round, uint64_t len)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(type >> (8 * i));
    for (int i = 0; i < 8; i++) {
        out[4 + i] = (uint8_t)(round >> (8 * i));
        out[12 + i] = (uint8_t)(len >> (8 * i));
    }
}

void mimir_net_header_decode(const uint8_t in[MIMIR_NET_HEADER_BYTES], uint32_t *type,
                             uint64_t *round, uint64_t *len)
{
    uint32_t t = 0;
    uint64_t r = 0, l = 0;
    for (int i = 3; i >= 0; i--)
        t = t << 8 | in[i];
    for (int i = 7; i >= 0; i--) {
        r = r << 8 | in[4 + i];
        l = l << 8 | in[12 + i];
    }
    *type = t;
    *round = r;
    *len = l;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *label(const conn *c, char buf[LABEL_BYTES])
{
    if (c->peer >= 0)
        snprintf(buf, LABEL_BYTES, "party %d", c->peer);
    else
        snprintf(buf, LABEL_BYTES, "unidentified peer");
    return buf;
}

static uint64_t now_ms(mimir_net *net)
{
    uv_update_time(&net->loop);
    return uv_now(&net->loop);
}

/* The first error wins; later ones are consequences. */
static void vfail(mimir_net *net, int code, const char *file, const char *field,
                  const char *fmt, va_list ap)
{
    if (net->failed)
        return;
    char msg[MIMIR_ERR_MSGBYTES];
    vsnprintf(msg, sizeof msg, fmt, ap);
    mimir_err_set(&net->err, code, file, field, "%s", msg);
    net->failed = 1;
}

static void net_fail(mimir_net *net, int code, const char *file, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void net_fail(mimir_net *net, int code, const char *file, const char *field,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(net, code, file, field, fmt, ap);
    va_end(ap);
}

static void conn_fail(conn *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void conn_fail(conn *c, int code, const char *field, const char *fmt, ...)
{
    char lb[LABEL_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vfail(c->net, code, label(c, lb), field, fmt, ap);
    va_end(ap);
}

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "unknown TLS error";
}

static int copy_err(mimir_net *net, mimir_err *err)
{
    if (err != NULL)
        *err = net->err;
    return net->err.code != MIMIR_OK ? net->err.code : MIMIR_ERUNTIME;
}

/* ---------------------------------------------------------------- closing handles */

static void conn_free(conn *c)
{
    for (qframe *q = c->qhead, *n; q != NULL; q = n) {
        n = q->next;
        mimir_secret_free(q->data);
        free(q);
    }
    if (c->rq != NULL) {
        mimir_secret_free(c->rq->data);
        free(c->rq);
    }
    SSL_free(c->ssl); /* frees both BIOs */
    OPENSSL_free(c->der);
    mimir_wipe(c->stage, sizeof c->stage);
    mimir_wipe(c->ctl, sizeof c->ctl);
    free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (h == &c->h.handle)
        c->handle_open = 0;
    else
        c->retry_open = 0;
    if (--c->closes == 0 && c->free_on_close)
        conn_free(c);
}

static void conn_close_handles(conn *c)
{
    if (c->handle_open && !uv_is_closing(&c->h.handle)) {
        c->closes++;
        uv_close(&c->h.handle, on_conn_closed);
    }
    if (c->retry_open && !uv_is_closing((uv_handle_t *)&c->retry)) {
        c->closes++;
        uv_close((uv_handle_t *)&c->retry, on_conn_closed);
    }
}

/* Closes c and frees it once libuv is done with it. */
static void conn_destroy(conn *c)
{
    c->free_on_close = 1;
    conn_close_handles(c);
    if (c->closes == 0)
        conn_free(c);
}

static void drop_incoming(conn *c, const char *why)
{
    mimir_net *net = c->net;
    snprintf(net->last_refusal, sizeof net->last_refusal, "%s", why);
    c->dropped = 1;
    for (size_t i = 0; i < sizeof net->incoming / sizeof net->incoming[0]; i++)
        if (net->incoming[i] == c)
            net->incoming[i] = NULL;
    conn_destroy(c);
}

/* ---------------------------------------------------------------- writing */

static void pump_write(conn *c);

static void on_write(uv_write_t *req, int status)
{
    wreq *w = (wreq *)req;
    conn *c = w->c;
    c->tx_queued -= w->len;
    free(w);
    if (status == UV_ECANCELED)
        return;
    if (status < 0) {
        /* Reported after WRITE_GRACE_MS unless reading first shows why (an abort frame). */
        if (c->wr_err == 0) {
            c->wr_err = status;
            c->wr_err_at = uv_now(&c->net->loop);
        }
        return;
    }
    pump_write(c);
}

/* Moves the ciphertext TLS produced into libuv's write queue. */
static int flush_wbio(conn *c)
{
    size_t n;
    while (c->handle_open && !uv_is_closing(&c->h.handle) &&
           (n = BIO_ctrl_pending(c->wbio)) > 0) {
        if (n > INT_MAX)
            n = INT_MAX;
        wreq *w = malloc(sizeof *w + n);
        if (w == NULL) {
            conn_fail(c, MIMIR_ERUNTIME, "connection", "out of memory");
            return -1;
        }
        int r = BIO_read(c->wbio, w->data, (int)n);
        if (r <= 0) {
            free(w);
            return 0;
        }
        w->c = c;
        w->len = (size_t)r;
        uv_buf_t b = uv_buf_init(w->data, (unsigned)r);
        int e = uv_write(&w->req, &c->h.stream, &b, 1, on_write);
        if (e != 0) {
            free(w);
            if (c->wr_err == 0) {
                c->wr_err = e;
                c->wr_err_at = uv_now(&c->net->loop);
            }
            return -1;
        }
        c->tx_queued += (size_t)r;
        c->st.wire_sent += (uint64_t)r;
    }
    return 0;
}

/* Empties OpenSSL's error queue before an SSL call, so that SSL_get_error reads that call's
 * outcome. Peeking first: ERR_clear_error walks all the queue's slots, and it ran before every
 * read and write of every round (about 3% of a served party's CPU), while the queue is almost
 * always empty already. */
static void clear_errors(void)
{
    if (ERR_peek_error() != 0)
        ERR_clear_error();
}

static int tls_write(conn *c, const void *p, size_t n)
{
    clear_errors();
    if (n > 0 && SSL_write(c->ssl, p, (int)n) != (int)n) {
        conn_fail(c, MIMIR_ERUNTIME, "tls", "write failed: %s", ssl_reason());
        return -1;
    }
    return 0;
}

/* Writes a small frame (header + payload) as one TLS record and queues it. */
static int write_small(conn *c, uint32_t type, uint64_t round, const void *p, size_t n)
{
    mimir_net_header_encode(c->stage, type, round, n);
    if (n > 0)
        memcpy(c->stage + MIMIR_NET_HEADER_BYTES, p, n);
    int rc = tls_write(c, c->stage, MIMIR_NET_HEADER_BYTES + n);
    mimir_wipe(c->stage + MIMIR_NET_HEADER_BYTES, n);
    if (rc == 0)
        rc = flush_wbio(c);
    c->last_sent = uv_now(&c->net->loop);
    return rc;
}

/* Encrypts more of the frame being sent while libuv's queue is short. */
static void pump_write(conn *c)
{
    mimir_net *net = c->net;
    while (c->tx_active && !net->failed && c->tx_queued < TX_HIGH_WATER) {
        if (!c->tx_hdr_done) {
            if (c->tx_len <= STAGE_BYTES - MIMIR_NET_HEADER_BYTES) {
                if (write_small(c, MIMIR_NET_DATA, net->round, c->tx_buf, c->tx_len) != 0)
                    return;
                c->tx_off = c->tx_len;
            } else {
                uint8_t hdr[MIMIR_NET_HEADER_BYTES];
                mimir_net_header_encode(hdr, MIMIR_NET_DATA, net->round, c->tx_len);
                if (tls_write(c, hdr, sizeof hdr) != 0)
                    return;
            }
            c->tx_hdr_done = 1;
        }
        size_t left = c->tx_len - c->tx_off;
        if (left == 0) {
            c->tx_active = 0;
            c->st.frames_sent++;
            c->st.bytes_sent += c->tx_len;
            break;
        }
        size_t chunk = left < TX_CHUNK ? left : TX_CHUNK;
        if (tls_write(c, c->tx_buf + c->tx_off, chunk) != 0)
            return;
        c->tx_off += chunk;
        c->last_sent = uv_now(&net->loop);
        if (flush_wbio(c) != 0)
            return;
    }
    flush_wbio(c);
}

/* ---------------------------------------------------------------- receiving */

static void try_deliver(conn *c)
{
    mimir_net *net = c->net;
    while (c->qhead != NULL && !net->failed) {
        qframe *q = c->qhead;
        if (q->round > net->round || (q->round == net->round && !net->in_round))
            return;
        if (q->round < net->round || !c->want_recv || c->got) {
            conn_fail(c, MIMIR_ERUNTIME, "frame", "unexpected message for round %llu",
                      (unsigned long long)q->round);
            return;
        }
        if (q->len != c->recv_len) {
            conn_fail(c, MIMIR_ERUNTIME, "frame", "%zu bytes in round %llu, expected %zu",
                      q->len, (unsigned long long)q->round, c->recv_len);
            return;
        }
        if (q->len > 0)
            memcpy(c->recv_buf, q->data, q->len);
        c->got = 1;
        c->qhead = q->next;
        if (c->qhead == NULL)
            c->qtail = NULL;
        c->qcount--;
        mimir_secret_free(q->data);
        free(q);
    }
}

/* Routes the payload of a DATA frame: straight into the caller's buffer when it is the message
 * this round waits for, into a queue buffer when the peer is ahead of us. */
static int data_header(conn *c)
{
    mimir_net *net = c->net;
    unsigned long long r = (unsigned long long)c->rround;
    if (c->rlen > net->max_frame) {
        conn_fail(c, MIMIR_ERUNTIME, "frame",
                  "length %llu exceeds the limit of %llu bytes (round %llu); peer dropped",
                  (unsigned long long)c->rlen, (unsigned long long)net->max_frame, r);
        return -1;
    }
    if (c->have_rx_round && c->rround <= c->last_rx_round) {
        conn_fail(c, MIMIR_ERUNTIME, "frame", "round %llu after round %llu, expected increasing",
                  r, (unsigned long long)c->last_rx_round);
        return -1;
    }
    c->have_rx_round = 1;
    c->last_rx_round = c->rround;
    if (c->rround < net->round) {
        conn_fail(c, MIMIR_ERUNTIME, "frame", "message for round %llu arrived in round %llu", r,
                  (unsigned long long)net->round);
        return -1;
    }
    if (c->rround == net->round && net->in_round && c->qhead == NULL) {
        if (!c->want_recv || c->got) {
            conn_fail(c, MIMIR_ERUNTIME, "frame", "unexpected message in round %llu", r);
            return -1;
        }
        if (c->rlen != c->recv_len) {
            conn_fail(c, MIMIR_ERUNTIME, "frame", "%llu bytes in round %llu, expected %zu",
                      (unsigned long long)c->rlen, r, c->recv_len);
            return -1;
        }
        c->rdst = c->recv_buf;
        return 0;
    }
    if (c->qcount >= MIMIR_NET_MAX_QUEUED_FRAMES) {
        conn_fail(c, MIMIR_ERUNTIME, "frame", "more than %d messages ahead of round %llu",
                  MIMIR_NET_MAX_QUEUED_FRAMES, (unsigned long long)net->round);
        return -1;
    }
    qframe *q = calloc(1, sizeof *q);
    uint8_t *data = q != NULL ? mimir_secret_alloc((size_t)c->rlen) : NULL;
    if (data == NULL) {
        free(q);
        conn_fail(c, MIMIR_ERUNTIME, "frame", "out of memory for %llu bytes",
                  (unsigned long long)c->rlen);
        return -1;
    }
    q->round = c->rround;
    q->len = (size_t)c->rlen;
    q->data = data;
    c->rq = q;
    c->rdst = data;
    return 0;
}

static int on_header(conn *c)
{
    mimir_net *net = c->net;
    mimir_net_header_decode(c->hdr, &c->rtype, &c->rround, &c->rlen);
    c->rhave = 0;
    c->rdst = c->ctl;
    if (c->state == C_HELLO) {
        if (c->rtype == MIMIR_NET_ABORT && c->rlen >= 4 && c->rlen <= CTL_BYTES)
            return 0;
        if (c->rtype != MIMIR_NET_HELLO || c->rround != 0 ||
            c->rlen != MIMIR_NET_HELLO_BYTES) {
            if (c->peer < 0) {
                drop_incoming(c, "an unidentified peer sent a malformed hello");
                return -1;
            }
            conn_fail(c, MIMIR_ERUNTIME, "hello",
                      "malformed hello (type %u, round %llu, length %llu)", c->rtype,
                      (unsigned long long)c->rround, (unsigned long long)c->rlen);
            return -1;
        }
        return 0;
    }
    switch (c->rtype) {
    case MIMIR_NET_DATA:
        return data_header(c);
    case MIMIR_NET_BYE:
    case MIMIR_NET_PING:
        if (c->rlen == 0)
            return 0;
        break;
    case MIMIR_NET_ABORT:
        if (c->rlen >= 4 && c->rlen <= CTL_BYTES)
            return 0;
        break;
    default:
        break;
    }
    conn_fail(c, MIMIR_ERUNTIME, "frame", "malformed frame (type %u, length %llu) in round %llu",
              c->rtype, (unsigned long long)c->rlen, (unsigned long long)net->round);
    return -1;
}

static int check_hello(conn *c);

static void on_abort_frame(conn *c)
{
    char reason[MIMIR_NET_MAX_REASON + 1];
    size_t n = (size_t)c->rlen - 4;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = c->ctl[4 + i];
        reason[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    reason[n] = '\0';
    uint32_t code = get32(c->ctl);
    c->aborted_us = 1;
    conn_fail(c, code == MIMIR_ESECURITY ? MIMIR_ESECURITY : MIMIR_ERUNTIME, "abort",
              "it aborted the run: %s", reason);
}

/* An incoming peer that aborts before its hello is believed only if its certificate is the
 * pinned one of a party that connects to us. */
static int identify(conn *c)
{
    mimir_net *net = c->net;
    for (int j = net->self + 1; j < MIMIR_NET_PARTIES; j++)
        if (CRYPTO_memcmp(c->fpr, net->cl->party[j].fpr, MIMIR_FPR_BYTES) == 0) {
            c->peer = j;
            return 0;
        }
    return -1;
}

static void on_frame(conn *c)
{
    c->in_payload = 0;
    switch (c->rtype) {
    case MIMIR_NET_HELLO:
        if (check_hello(c) == 0)
            c->state = C_READY;
        return;
    case MIMIR_NET_ABORT:
        if (c->peer < 0 && identify(c) != 0) {
            drop_incoming(c, "an unidentified peer aborted its connection");
            return;
        }
        on_abort_frame(c);
        return;
    case MIMIR_NET_BYE:
        c->bye_rx = 1;
        return;
    case MIMIR_NET_PING:
        return; /* its arrival already counted as the peer's activity */
    default:
        break;
    }
    c->st.frames_received++;
    c->st.bytes_received += c->rlen;
    if (c->rq != NULL) {
        qframe *q = c->rq;
        c->rq = NULL;
        if (c->qtail != NULL)
            c->qtail->next = q;
        else
            c->qhead = q;
        c->qtail = q;
        c->qcount++;
        try_deliver(c);
    } else {
        c->got = 1;
    }
}

/* SSL_read loop: headers, then payloads straight into their destination. */
static void rx_loop(conn *c)
{
    mimir_net *net = c->net;
    while (!net->failed && !c->dropped && c->state >= C_HELLO) {
        int n;
        clear_errors();
        if (!c->in_payload) {
            n = SSL_read(c->ssl, c->hdr + c->hdr_have,
                         (int)(MIMIR_NET_HEADER_BYTES - c->hdr_have));
        } else {
            uint64_t left = c->rlen - c->rhave;
            n = SSL_read(c->ssl, c->rdst + c->rhave, left > (1u << 30) ? 1 << 30 : (int)left);
        }
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                return;
            if (e == SSL_ERROR_ZERO_RETURN) {
                c->eof = 1;
                if (!c->bye_rx && c->peer >= 0)
                    conn_fail(c, MIMIR_ERUNTIME, "connection",
                              "closed by the peer in round %llu (process gone?)",
                              (unsigned long long)net->round);
                return;
            }
            conn_fail(c, MIMIR_ERUNTIME, "tls", "read failed: %s", ssl_reason());
            return;
        }
        if (!c->in_payload) {
            c->hdr_have += (size_t)n;
            if (c->hdr_have < MIMIR_NET_HEADER_BYTES)
                continue;
            c->hdr_have = 0;
            if (on_header(c) != 0)
                return;
            c->in_payload = 1;
            if (c->rlen == 0)
                on_frame(c);
        } else {
            c->rhave += (uint64_t)n;
            if (c->rhave == c->rlen)
                on_frame(c);
        }
    }
}

/* ---------------------------------------------------------------- handshake and hello */

static void send_hello(conn *c)
{
    mimir_net *net = c->net;
    uint8_t h[MIMIR_NET_HELLO_BYTES];
    memcpy(h, HELLO_MAGIC, 8);
    put32(h + 8, net->hello_version);
    put32(h + 12, (uint32_t)net->self);
    memcpy(h + 16, net->cl->session, MIMIR_SESSION_BYTES);
    write_small(c, MIMIR_NET_HELLO, 0, h, sizeof h);
}

static void fpr_mismatch(conn *c, int party)
{
    char got[MIMIR_FPR_HEXBYTES], want[MIMIR_FPR_HEXBYTES];
    mimir_cluster_fpr_hex(c->fpr, got);
    mimir_cluster_fpr_hex(c->net->cl->party[party].fpr, want);
    conn_fail(c, MIMIR_ESECURITY, "certificate",
              "refused: it presented sha256 %s, the cluster file pins %s", got, want);
}

/* After the TLS handshake: remember the peer's certificate; an outgoing connection knows
 * which party it reached, so its pin is checked at once. */
static int handshake_done(conn *c)
{
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    unsigned n = 0;
    int ok = cert != NULL && X509_digest(cert, EVP_sha256(), c->fpr, &n) == 1 &&
             n == MIMIR_FPR_BYTES;
    if (ok) {
        OPENSSL_free(c->der);
        c->der = NULL;
        c->der_len = i2d_X509(cert, &c->der);
        ok = c->der_len > 0;
    }
    X509_free(cert);
    if (!ok) {
        conn_fail(c, MIMIR_ESECURITY, "certificate", "no usable peer certificate");
        return -1;
    }
    if (c->outgoing &&
        CRYPTO_memcmp(c->fpr, c->net->cl->party[c->peer].fpr, MIMIR_FPR_BYTES) != 0) {
        fpr_mismatch(c, c->peer);
        return -1;
    }
    c->state = C_HELLO;
    send_hello(c);
    return 0;
}

static int check_hello(conn *c)
{
    mimir_net *net = c->net;
    const uint8_t *h = c->ctl;
    if (memcmp(h, HELLO_MAGIC, 8) != 0) {
        if (!c->outgoing) {
            drop_incoming(c, "an unidentified peer sent a hello with a bad magic");
            return -1;
        }
        conn_fail(c, MIMIR_ERUNTIME, "hello", "bad magic, expected a Mimir peer");
        return -1;
    }
    uint32_t version = get32(h + 8), party = get32(h + 12);
    if (c->outgoing && party != (uint32_t)c->peer) {
        conn_fail(c, MIMIR_ESECURITY, "hello", "it says it is party %u", party);
        return -1;
    }
    if (!c->outgoing) {
        if (party >= MIMIR_NET_PARTIES || (int)party <= net->self ||
            net->conn[party] != NULL) {
            char why[MIMIR_ERR_MSGBYTES];
            snprintf(why, sizeof why, "a connection claimed to be party %u, which does not "
                     "connect to party %d", party, net->self);
            drop_incoming(c, why);
            return -1;
        }
        c->peer = (int)party; /* claimed; the pin check below decides */
        if (CRYPTO_memcmp(c->fpr, net->cl->party[party].fpr, MIMIR_FPR_BYTES) != 0) {
            fpr_mismatch(c, (int)party);
            return -1;
        }
    }
    if (version != net->hello_version) {
        conn_fail(c, MIMIR_ERUNTIME, "protocol version",
                  "refused: it speaks version %u, this party speaks version %u", version,
                  net->hello_version);
        return -1;
    }
    if (CRYPTO_memcmp(h + 16, net->cl->session, MIMIR_SESSION_BYTES) != 0) {
        char got[2 * MIMIR_SESSION_BYTES + 1], want[2 * MIMIR_SESSION_BYTES + 1];
        for (int i = 0; i < MIMIR_SESSION_BYTES; i++) {
            snprintf(got + 2 * i, 3, "%02x", h[16 + i]);
            snprintf(want + 2 * i, 3, "%02x", net->cl->session[i]);
        }
        conn_fail(c, MIMIR_ESECURITY, "session id",
                  "refused: it is in session %s, this party in session %s", got, want);
        return -1;
    }
    if (net->opts.admit != NULL) {
        mimir_err e;
        mimir_err_clear(&e);
        if (net->opts.admit(net->opts.admit_arg, c->peer, c->der, (size_t)c->der_len, &e) !=
            MIMIR_OK) {
            conn_fail(c, e.code ? e.code : MIMIR_ESECURITY, "admission", "refused: %s%s%s",
                      e.field, e.field[0] ? ": " : "", e.msg);
            return -1;
        }
    }
    if (!c->outgoing) {
        for (size_t i = 0; i < sizeof net->incoming / sizeof net->incoming[0]; i++)
            if (net->incoming[i] == c)
                net->incoming[i] = NULL;
        net->conn[c->peer] = c;
    }
    return 0;
}

static void drive(conn *c)
{
    mimir_net *net = c->net;
    if (net->failed || c->dropped)
        return;
    if (c->state == C_HANDSHAKE) {
        ERR_clear_error();
        int r = SSL_do_handshake(c->ssl);
        flush_wbio(c);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return;
            char why[MIMIR_ERR_MSGBYTES];
            snprintf(why, sizeof why, "TLS handshake failed: %s", ssl_reason());
            if (c->peer < 0)
                drop_incoming(c, why);
            else
                conn_fail(c, MIMIR_ERUNTIME, "tls", "%s", why);
            return;
        }
        if (handshake_done(c) != 0)
            return;
    }
    rx_loop(c);
    if (!net->failed && !c->dropped)
        flush_wbio(c);
}

/* ---------------------------------------------------------------- socket callbacks */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    conn *c = h->data;
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = s->data;
    mimir_net *net = c->net;
    if (nread == 0 || c->dropped)
        return;
    if (nread < 0) {
        uv_read_stop(s);
        c->eof = 1;
        if (net->failed)
            return;
        if (c->peer < 0) {
            drop_incoming(c, "an unidentified peer closed its connection");
        } else if (!c->bye_rx) {
            if (nread == UV_EOF && net->setup)
                conn_fail(c, MIMIR_ERUNTIME, "connection",
                          "closed by the peer before the session started (it failed or "
                          "refused the session)");
            else if (nread == UV_EOF)
                conn_fail(c, MIMIR_ERUNTIME, "connection",
                          "closed by the peer in round %llu (process gone?)",
                          (unsigned long long)net->round);
            else
                conn_fail(c, MIMIR_ERUNTIME, "connection", "lost in round %llu: %s",
                          (unsigned long long)net->round, uv_strerror((int)nread));
        }
        return;
    }
    c->st.wire_received += (uint64_t)nread;
    c->last_activity = uv_now(&net->loop);
    if (net->failed)
        return;
    if (BIO_write(c->rbio, c->rbuf, (int)nread) != (int)nread) {
        conn_fail(c, MIMIR_ERUNTIME, "tls", "out of memory");
        return;
    }
    drive(c);
}

static int start_tls(conn *c)
{
    mimir_net *net = c->net;
    c->ssl = SSL_new(net->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        conn_fail(c, MIMIR_ERUNTIME, "tls", "out of memory");
        return -1;
    }
    BIO_set_mem_eof_return(c->rbio, -1); /* empty = "want more", not end of stream */
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    if (c->outgoing)
        SSL_set_connect_state(c->ssl);
    else
        SSL_set_accept_state(c->ssl);
    if (c->h.handle.type == UV_TCP)
        uv_tcp_nodelay(&c->h.tcp, 1);
    c->state = C_HANDSHAKE;
    c->last_activity = uv_now(&net->loop);
    int e = uv_read_start(&c->h.stream, on_alloc, on_read);
    if (e != 0) {
        conn_fail(c, MIMIR_ERUNTIME, "connection", "cannot read: %s", uv_strerror(e));
        return -1;
    }
    drive(c);
    return 0;
}

static void start_connect(conn *c);

static void on_retry(uv_timer_t *t)
{
    conn *c = t->data;
    if (!c->net->failed)
        start_connect(c);
}

static void on_attempt_closed(uv_handle_t *h)
{
    conn *c = h->data;
    c->handle_open = 0;
    if (--c->closes == 0 && c->free_on_close) {
        conn_free(c);
        return;
    }
    if (!c->net->failed && !c->free_on_close)
        uv_timer_start(&c->retry, on_retry, RETRY_MS, 0);
}

static void close_attempt(conn *c, int status)
{
    c->last_status = status;
    c->closes++;
    uv_close(&c->h.handle, on_attempt_closed);
}

static void on_connect(uv_connect_t *req, int status)
{
    conn *c = req->data;
    if (status == UV_ECANCELED || c->free_on_close)
        return;
    if (status < 0) {
        close_attempt(c, status);
        return;
    }
    start_tls(c);
}

static void start_connect(conn *c)
{
    mimir_net *net = c->net;
    const mimir_cluster_party *p = &net->cl->party[c->peer];
    int e;
    c->creq.data = c;
    if (p->kind == MIMIR_ADDR_TCP) {
        uv_tcp_init(&net->loop, &c->h.tcp);
        c->h.handle.data = c;
        c->handle_open = 1;
        e = uv_tcp_connect(&c->creq, &c->h.tcp, (const struct sockaddr *)&c->addr, on_connect);
        if (e != 0)
            close_attempt(c, e);
    } else {
        uv_pipe_init(&net->loop, &c->h.pipe, 0);
        c->h.handle.data = c;
        c->handle_open = 1;
        uv_pipe_connect(&c->creq, &c->h.pipe, p->path, on_connect);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    mimir_net *net = server->data;
    if (status < 0 || net->failed)
        return;
    conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->net = net;
    c->peer = -1;
    if (server->type == UV_TCP)
        uv_tcp_init(&net->loop, &c->h.tcp);
    else
        uv_pipe_init(&net->loop, &c->h.pipe, 0);
    c->h.handle.data = c;
    c->handle_open = 1;
    size_t slot = sizeof net->incoming / sizeof net->incoming[0];
    for (size_t i = 0; i < sizeof net->incoming / sizeof net->incoming[0]; i++)
        if (net->incoming[i] == NULL) {
            slot = i;
            break;
        }
    if (uv_accept(server, &c->h.stream) != 0 ||
        slot == sizeof net->incoming / sizeof net->incoming[0]) {
        conn_destroy(c);
        return;
    }
    net->incoming[slot] = c;
    start_tls(c);
}

/* ---------------------------------------------------------------- running the loop */

typedef int (*done_fn)(mimir_net *net);

static int conn_pending_round(const conn *c)
{
    return (c->want_recv && !c->got) || c->tx_active;
}

static void check_deadlines(mimir_net *net)
{
    uint64_t now = now_ms(net);
    if (net->setup) {
        if (now < net->deadline)
            return;
        double s = net->connect_timeout_ms / 1000.0;
        for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
            conn *c = net->conn[p];
            if (p == net->self || (c != NULL && c->state == C_READY))
                continue;
            char who[LABEL_BYTES];
            snprintf(who, sizeof who, "party %d", p);
            const char *addr = net->cl->party[p].address;
            if (p > net->self)
                net_fail(net, MIMIR_ERUNTIME, who, "connect",
                         "did not connect to %s within %.1f s%s%s", net->cl->party[net->self]
                         .address, s, net->last_refusal[0] ? "; last refusal: " : "",
                         net->last_refusal);
            else if (c->state == C_CONNECTING)
                net_fail(net, MIMIR_ERUNTIME, who, "connect",
                         "%s not reachable within %.1f s: %s", addr, s,
                         c->last_status ? uv_strerror(c->last_status) : "no answer");
            else
                net_fail(net, MIMIR_ERUNTIME, who, "connect",
                         "%s: handshake not completed within %.1f s", addr, s);
            return;
        }
        return;
    }
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        conn *c = net->conn[p];
        if (c == NULL)
            continue;
        if (c->wr_err != 0 && now - c->wr_err_at >= WRITE_GRACE_MS) {
            conn_fail(c, MIMIR_ERUNTIME, "connection",
                      "lost in round %llu while writing to it (process gone?): %s",
                      (unsigned long long)net->round, uv_strerror(c->wr_err));
            return;
        }
        int pending = net->closing ? (!c->bye_rx || c->tx_queued > 0) : conn_pending_round(c);
        if (pending && now - c->last_activity >= net->peer_timeout_ms) {
            const char *what = net->closing               ? "its goodbye"
                               : c->want_recv && !c->got ? "its message"
                                                         : "it to read ours";
            conn_fail(c, MIMIR_ERUNTIME, "timeout",
                      "no progress for %.1f s in round %llu while waiting for %s",
                      net->peer_timeout_ms / 1000.0, (unsigned long long)net->round, what);
            return;
        }
    }
}

/* While this party waits in a blocking call it tells its peers it is alive, so a peer waiting
 * on it (because it waits on a third) does not blame it: the timeout names the party whose loop
 * stopped. Never inside a half-sent frame, never after our goodbye. */
static void send_keepalives(mimir_net *net)
{
    if (net->setup || net->closing)
        return;
    uint64_t now = uv_now(&net->loop), every = net->peer_timeout_ms / KEEPALIVES_PER_TIMEOUT;
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        conn *c = net->conn[p];
        if (c == NULL || c->state != C_READY || (c->tx_active && c->tx_hdr_done) ||
            now - c->last_sent < every)
            continue;
        write_small(c, MIMIR_NET_PING, net->round, NULL, 0);
    }
}

static void on_tick(uv_timer_t *t)
{
    mimir_net *net = t->data;
    if (!net->failed)
        check_deadlines(net);
    if (!net->failed)
        send_keepalives(net);
}

static void run_until(mimir_net *net, done_fn done)
{
    uv_timer_start(&net->tick, on_tick, TICK_MS, TICK_MS);
    while (!net->failed && !done(net)) {
        uv_run(&net->loop, UV_RUN_ONCE);
        if (!net->failed)
            check_deadlines(net);
    }
    uv_timer_stop(&net->tick);
}

static int nothing_queued(mimir_net *net)
{
    const size_t nin = sizeof net->incoming / sizeof net->incoming[0];
    for (size_t i = 0; i < MIMIR_NET_PARTIES + nin; i++) {
        conn *c = i < MIMIR_NET_PARTIES ? net->conn[i] : net->incoming[i - MIMIR_NET_PARTIES];
        if (c != NULL && c->handle_open && !c->eof && c->tx_queued > 0)
            return 0;
    }
    return 1;
}

static void on_flush_timeout(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* After a failure: tell the peers why (unless a frame of ours is half sent to them), then give
 * the writes up to FAIL_FLUSH_MS to leave. */
static void send_aborts(mimir_net *net)
{
    if (net->abort_sent)
        return;
    net->abort_sent = 1;
    uint8_t payload[CTL_BYTES + 1]; /* + snprintf's terminating NUL, never sent */
    put32(payload, (uint32_t)net->err.code);
    int n = snprintf((char *)payload + 4, MIMIR_NET_MAX_REASON + 1, "%s%s%s%s%s",
                     net->err.file, net->err.file[0] ? ": " : "", net->err.field,
                     net->err.field[0] ? ": " : "", net->err.msg);
    size_t len = 4 + (n < 0 ? 0 : (size_t)n > MIMIR_NET_MAX_REASON ? MIMIR_NET_MAX_REASON
                                                                     : (size_t)n);
    const size_t nin = sizeof net->incoming / sizeof net->incoming[0];
    for (size_t i = 0; i < MIMIR_NET_PARTIES + nin; i++) {
        conn *c = i < MIMIR_NET_PARTIES ? net->conn[i] : net->incoming[i - MIMIR_NET_PARTIES];
        if (c == NULL || c->state < C_HELLO || c->eof || c->aborted_us ||
            (c->tx_active && c->tx_hdr_done) || !c->handle_open)
            continue;
        mimir_net_header_encode(c->stage, MIMIR_NET_ABORT, net->round, len);
        memcpy(c->stage + MIMIR_NET_HEADER_BYTES, payload, len);
        ERR_clear_error();
        if (SSL_write(c->ssl, c->stage, (int)(MIMIR_NET_HEADER_BYTES + len)) > 0)
            flush_wbio(c);
    }
    int expired = 0;
    uv_timer_t t;
    uv_timer_init(&net->loop, &t);
    t.data = &expired;
    uv_timer_start(&t, on_flush_timeout, FAIL_FLUSH_MS, 0);
    while (!expired && !nothing_queued(net))
        uv_run(&net->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&net->loop, UV_RUN_NOWAIT);
}

static int fail_path(mimir_net *net, mimir_err *err)
{
    send_aborts(net);
    return copy_err(net, err);
}

/* ---------------------------------------------------------------- setup */

static int verify_accept(int ok, X509_STORE_CTX *ctx)
{
    /* Self-signed certificates: authentication is the fingerprint pin checked after the
     * handshake (TLS has already checked the peer's proof of possession of the key). */
    (void)ok;
    (void)ctx;
    return 1;
}

static int make_ctx(mimir_net *net, mimir_err *err)
{
    const mimir_cluster_party *me = &net->cl->party[net->self];
    net->ctx = SSL_CTX_new(TLS_method());
    if (net->ctx == NULL || SSL_CTX_set_min_proto_version(net->ctx, TLS1_3_VERSION) != 1)
        return mimir_err_set(err, MIMIR_ERUNTIME, "tls", "", "cannot set up TLS 1.3");
    ERR_clear_error();
    if (SSL_CTX_use_certificate_file(net->ctx, me->cert_path, SSL_FILETYPE_PEM) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, me->cert_path, "certificate",
                             "cannot use it: %s", ssl_reason());
    if (SSL_CTX_use_PrivateKey_file(net->ctx, me->key_path, SSL_FILETYPE_PEM) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, me->key_path, "key", "cannot use it: %s",
                             ssl_reason());
    if (SSL_CTX_check_private_key(net->ctx) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, me->key_path, "key",
                             "does not match certificate %s", me->cert_path);
    SSL_CTX_set_verify(net->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       verify_accept);
    SSL_CTX_set_num_tickets(net->ctx, 0);
    SSL_CTX_set_session_cache_mode(net->ctx, SSL_SESS_CACHE_OFF);
    return MIMIR_OK;
}

static int resolve_tcp(const mimir_cluster_party *p, int passive, struct sockaddr_storage *out,
                       mimir_err *err)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    char port[8];
    snprintf(port, sizeof port, "%u", p->port);
    int e = getaddrinfo(p->host, port, &hints, &res);
    if (e != 0 || res == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, p->address, "host", "cannot resolve: %s",
                             gai_strerror(e));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return MIMIR_OK;
}

static int start_listen(mimir_net *net, mimir_err *err)
{
    const mimir_cluster_party *me = &net->cl->party[net->self];
    int e;
    if (me->kind == MIMIR_ADDR_TCP) {
        struct sockaddr_storage ss;
        int rc = resolve_tcp(me, 1, &ss, err);
        if (rc != MIMIR_OK)
            return rc;
        uv_tcp_init(&net->loop, &net->lsn.tcp);
        net->lsn_open = 1;
        e = uv_tcp_bind(&net->lsn.tcp, (const struct sockaddr *)&ss, 0);
    } else {
        struct stat st;
        if (lstat(me->path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                return mimir_err_set(err, MIMIR_EINPUT, me->address, "path",
                                     "exists and is not a socket");
            unlink(me->path); /* a stale socket of an earlier run */
        }
        uv_pipe_init(&net->loop, &net->lsn.pipe, 0);
        net->lsn_open = 1;
        e = uv_pipe_bind(&net->lsn.pipe, me->path);
        if (e == 0) {
            net->lsn_unlink = strdup(me->path);
            if (chmod(me->path, 0600) != 0)
                return mimir_err_errno(err, me->path, "cannot restrict the socket to 0600");
        }
    }
    net->lsn.handle.data = net;
    if (e == 0)
        e = uv_listen(&net->lsn.stream, 16, on_connection);
    if (e != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, me->address, "listen", "cannot listen: %s",
                             uv_strerror(e));
    return MIMIR_OK;
}

static void stop_listen(mimir_net *net)
{
    if (net->lsn_open && !uv_is_closing(&net->lsn.handle))
        uv_close(&net->lsn.handle, NULL);
    if (net->lsn_unlink != NULL) {
        unlink(net->lsn_unlink);
        free(net->lsn_unlink);
        net->lsn_unlink = NULL;
    }
}

static int all_ready(mimir_net *net)
{
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (p != net->self && (net->conn[p] == NULL || net->conn[p]->state != C_READY))
            return 0;
    return 1;
}

static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

static void settings(mimir_net *net, const mimir_net_opts *o)
{
    const mimir_cluster *cl = net->cl;
    if (o != NULL)
        net->opts = *o;
    /* Precedence: the caller's options, then the cluster file, then the defaults. */
    net->connect_timeout_ms = net->opts.connect_timeout_ms;
    if (net->connect_timeout_ms == 0)
        net->connect_timeout_ms = cl->connect_timeout_ms ? cl->connect_timeout_ms
                                                         : MIMIR_NET_DEFAULT_CONNECT_TIMEOUT_MS;
    net->peer_timeout_ms = net->opts.peer_timeout_ms;
    if (net->peer_timeout_ms == 0)
        net->peer_timeout_ms = cl->peer_timeout_ms ? cl->peer_timeout_ms
                                                   : MIMIR_NET_DEFAULT_PEER_TIMEOUT_MS;
    net->max_frame = net->opts.max_frame_bytes;
    if (net->max_frame == 0)
        net->max_frame = cl->max_frame_bytes ? cl->max_frame_bytes : MIMIR_NET_DEFAULT_MAX_FRAME;
    net->version = cl->version;
    net->hello_version = net->opts.hello_version ? net->opts.hello_version : cl->version;
}

static int open_conns(mimir_net *net, mimir_err *err)
{
    for (int p = 0; p < net->self; p++) {
        conn *c = calloc(1, sizeof *c);
        if (c == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, "net", "", "out of memory");
        c->net = net;
        c->peer = p;
        c->outgoing = 1;
        net->conn[p] = c;
        uv_timer_init(&net->loop, &c->retry);
        c->retry.data = c;
        c->retry_open = 1;
        if (net->cl->party[p].kind == MIMIR_ADDR_TCP) {
            int rc = resolve_tcp(&net->cl->party[p], 0, &c->addr, err);
            if (rc != MIMIR_OK)
                return rc;
        }
        start_connect(c);
    }
    return MIMIR_OK;
}

int mimir_net_open(const mimir_cluster *cl, const mimir_net_opts *opts, mimir_net **out,
                   mimir_err *err)
{
    *out = NULL;
    if (cl->self < 0 || cl->self >= MIMIR_NET_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, cl->path, "self", "no local party");
    if (cl->version != MIMIR_NET_VERSION)
        return mimir_err_set(err, MIMIR_EINPUT, cl->path, "version",
                             "protocol version %u, this build speaks version %u", cl->version,
                             MIMIR_NET_VERSION);
    ignore_sigpipe();
    mimir_net *net = calloc(1, sizeof *net);
    if (net == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, "net", "", "out of memory");
    net->cl = cl;
    net->self = cl->self;
    settings(net, opts);
    int rc = make_ctx(net, err);
    if (rc != MIMIR_OK || uv_loop_init(&net->loop) != 0) {
        if (rc == MIMIR_OK)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, "net", "", "cannot start an event loop");
        SSL_CTX_free(net->ctx);
        free(net);
        return rc;
    }
    net->loop_open = 1;
    uv_timer_init(&net->loop, &net->tick);
    net->tick.data = net;
    net->tick_open = 1;
    net->setup = 1;
    net->deadline = now_ms(net) + net->connect_timeout_ms;
    if (net->self < MIMIR_NET_PARTIES - 1)
        rc = start_listen(net, err);
    if (rc == MIMIR_OK)
        rc = open_conns(net, err);
    if (rc != MIMIR_OK) {
        net->abort_sent = 1;
        mimir_net_free(net);
        return rc;
    }
    run_until(net, all_ready);
    net->setup = 0;
    if (net->failed) {
        rc = fail_path(net, err);
        mimir_net_free(net);
        return rc;
    }
    stop_listen(net);
    for (size_t i = 0; i < sizeof net->incoming / sizeof net->incoming[0]; i++)
        if (net->incoming[i] != NULL) {
            conn_destroy(net->incoming[i]);
            net->incoming[i] = NULL;
        }
    *out = net;
    return MIMIR_OK;
}

/* ---------------------------------------------------------------- rounds */

static int round_done(mimir_net *net)
{
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (net->conn[p] != NULL && conn_pending_round(net->conn[p]))
            return 0;
    return 1;
}

static int check_io(mimir_net *net, const mimir_net_io *io, mimir_err *err)
{
    if (io[net->self].send || io[net->self].recv)
        return mimir_err_set(err, MIMIR_EINPUT, "net", "io",
                             "party %d cannot send to or receive from itself", net->self);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        if (p == net->self)
            continue;
        if ((io[p].send && io[p].send_len > net->max_frame) ||
            (io[p].recv && io[p].recv_len > net->max_frame))
            return mimir_err_set(err, MIMIR_EINPUT, "net", "io",
                                 "message of %zu bytes for party %d exceeds the frame limit "
                                 "of %llu bytes",
                                 io[p].send && io[p].send_len > net->max_frame ? io[p].send_len
                                                                               : io[p].recv_len,
                                 p, (unsigned long long)net->max_frame);
        if ((io[p].send && io[p].send_len > 0 && io[p].send_buf == NULL) ||
            (io[p].recv && io[p].recv_len > 0 && io[p].recv_buf == NULL))
            return mimir_err_set(err, MIMIR_EINPUT, "net", "io", "NULL buffer for party %d", p);
    }
    return MIMIR_OK;
}

int mimir_net_exchange(mimir_net *net, mimir_net_io io[MIMIR_NET_PARTIES], mimir_err *err)
{
    if (net->failed)
        return copy_err(net, err);
    if (net->closing || net->closed)
        return mimir_err_set(err, MIMIR_EINPUT, "net", "", "the session is closed");
    int rc = check_io(net, io, err);
    if (rc != MIMIR_OK)
        return rc;
    uint64_t now = now_ms(net);
    net->in_round = 1;
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        conn *c = net->conn[p];
        if (c == NULL)
            continue;
        c->last_activity = now;
        c->want_recv = io[p].recv;
        c->got = 0;
        c->recv_buf = io[p].recv_buf;
        c->recv_len = io[p].recv_len;
        c->tx_active = io[p].send;
        c->tx_hdr_done = 0;
        c->tx_buf = io[p].send_buf;
        c->tx_len = io[p].send_len;
        c->tx_off = 0;
        if (io[p].send && net->opts.observer != NULL)
            net->opts.observer(net->opts.observer_arg, MIMIR_NET_SENT, p, net->round,
                               io[p].send_buf, io[p].send_len);
    }
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (net->conn[p] != NULL) {
            try_deliver(net->conn[p]);
            pump_write(net->conn[p]);
        }
    run_until(net, round_done);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (net->conn[p] != NULL) {
            net->conn[p]->want_recv = 0;
            net->conn[p]->recv_buf = NULL;
            net->conn[p]->tx_buf = NULL;
        }
    net->in_round = 0;
    if (net->failed)
        return fail_path(net, err);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        if (io[p].recv && net->opts.observer != NULL)
            net->opts.observer(net->opts.observer_arg, MIMIR_NET_RECEIVED, p, net->round,
                               io[p].recv_buf, io[p].recv_len);
    net->round++;
    return MIMIR_OK;
}

int mimir_net_send(mimir_net *net, int peer, const void *buf, size_t len, mimir_err *err)
{
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    if (peer < 0 || peer >= MIMIR_NET_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, "net", "peer", "party %d, expected 0..2", peer);
    io[peer].send = 1;
    io[peer].send_buf = buf;
    io[peer].send_len = len;
    return mimir_net_exchange(net, io, err);
}

int mimir_net_recv(mimir_net *net, int peer, void *buf, size_t len, mimir_err *err)
{
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    if (peer < 0 || peer >= MIMIR_NET_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, "net", "peer", "party %d, expected 0..2", peer);
    io[peer].recv = 1;
    io[peer].recv_buf = buf;
    io[peer].recv_len = len;
    return mimir_net_exchange(net, io, err);
}

/* ---------------------------------------------------------------- ending */

static int all_bye(mimir_net *net)
{
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        conn *c = net->conn[p];
        if (c != NULL && (!c->bye_rx || (c->tx_queued > 0 && !c->eof)))
            return 0;
    }
    return 1;
}

int mimir_net_close(mimir_net *net, mimir_err *err)
{
    if (net->failed)
        return copy_err(net, err);
    if (net->closed)
        return MIMIR_OK;
    net->closing = 1;
    uint64_t now = now_ms(net);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++) {
        conn *c = net->conn[p];
        if (c == NULL)
            continue;
        c->last_activity = now;
        write_small(c, MIMIR_NET_BYE, net->round, NULL, 0);
        try_deliver(c); /* a frame queued for a round we never ran is an error */
        if (c->qhead != NULL)
            conn_fail(c, MIMIR_ERUNTIME, "frame", "unexpected message for round %llu",
                      (unsigned long long)c->qhead->round);
    }
    run_until(net, all_bye);
    if (net->failed)
        return fail_path(net, err);
    net->closed = 1;
    return MIMIR_OK;
}

void mimir_net_abort(mimir_net *net, const mimir_err *why)
{
    if (net == NULL || net->closed)
        return;
    if (!net->failed) {
        net->err = *why;
        if (net->err.code == MIMIR_OK)
            net->err.code = MIMIR_ERUNTIME;
        net->failed = 1;
    }
    send_aborts(net);
}

void mimir_net_free(mimir_net *net)
{
    if (net == NULL)
        return;
    if (net->loop_open && !net->closed && !net->abort_sent) {
        if (!net->failed)
            net_fail(net, MIMIR_ERUNTIME, "net", "",
                     "this party left the session without closing it");
        send_aborts(net);
    }
    if (net->loop_open) {
        stop_listen(net);
        for (size_t i = 0; i < sizeof net->incoming / sizeof net->incoming[0]; i++)
            if (net->incoming[i] != NULL)
                conn_destroy(net->incoming[i]);
        for (int p = 0; p < MIMIR_NET_PARTIES; p++)
            if (net->conn[p] != NULL)
                conn_destroy(net->conn[p]);
        if (net->tick_open)
            uv_close((uv_handle_t *)&net->tick, NULL);
        uv_run(&net->loop, UV_RUN_DEFAULT);
        uv_loop_close(&net->loop);
    }
    free(net->lsn_unlink);
    SSL_CTX_free(net->ctx);
    free(net);
}

/* ---------------------------------------------------------------- accessors */

int mimir_net_self(const mimir_net *net)
{
    return net->self;
}

uint64_t mimir_net_rounds(const mimir_net *net)
{
    return net->round;
}

const uint8_t *mimir_net_session(const mimir_net *net)
{
    return net->cl->session;
}

void mimir_net_get_stats(const mimir_net *net, int peer, mimir_net_stats *st)
{
    memset(st, 0, sizeof *st);
    if (peer >= 0 && peer < MIMIR_NET_PARTIES && net->conn[peer] != NULL)
        *st = net->conn[peer]->st;
}
