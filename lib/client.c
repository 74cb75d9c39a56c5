/* client.c — the client <-> party channel: TLS 1.3 with pinned certificates over blocking
 * sockets with timeouts, and the framed messages of lib/client.h. */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "mem.h"

#define HELLO_MAGIC "MIMIRCLI"
#define HELLO_MAGIC_BYTES 8
#define NAME_BYTES 32
#define RETRY_MS 50
#define ABORT_IO_MS 1000 /* an abort is best-effort: never wait longer than this */

struct mimir_client_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    int peer;                 /* party index at the client, -1 at a party */
    int self;                 /* party index at a party, -1 at the client */
    uint8_t session[MIMIR_SESSION_BYTES];
    char name[NAME_BYTES];    /* the other side, for messages */
    uint32_t io_ms;
    int failed;
};

/* ---------------------------------------------------------------- codec */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void mimir_client_header_encode(uint8_t out[MIMIR_CLIENT_HEADER_BYTES], uint32_t type,
                                uint64_t len)
{
    put32(out, type);
    put64(out + 4, len);
}

void mimir_client_header_decode(const uint8_t in[MIMIR_CLIENT_HEADER_BYTES], uint32_t *type,
                                uint64_t *len)
{
    *type = get32(in);
    *len = get64(in + 4);
}

/* ---------------------------------------------------------------- plumbing */

static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    return r != NULL ? r : "unknown reason";
}

static int conn_fail(mimir_client_conn *k, int code, const char *field, const char *msg,
                     mimir_err *err)
{
    k->failed = 1;
    return mimir_err_set(err, code, k->name, field, "%s", msg);
}

static void set_timeouts(int fd, uint32_t ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void ignore_sigpipe(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

/* Why an SSL read or write returned r <= 0. */
static int io_fail(mimir_client_conn *k, int r, int writing, mimir_err *err)
{
    int e = SSL_get_error(k->ssl, r), saved = errno;
    char msg[200];
    int eof = e == SSL_ERROR_SSL &&
              ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    if (eof || e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && r == 0) ||
        (e == SSL_ERROR_SYSCALL && (saved == ECONNRESET || saved == EPIPE)))
        snprintf(msg, sizeof msg, "closed the connection (its process stopped?)");
    else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
             (e == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK)))
        snprintf(msg, sizeof msg, "sent nothing for %u ms while %s, expected a frame",
                 (unsigned)k->io_ms, writing ? "writing" : "reading");
    else
        snprintf(msg, sizeof msg, "connection failed: %s", e == SSL_ERROR_SYSCALL
                 ? strerror(saved) : ssl_reason());
    ERR_clear_error();
    return conn_fail(k, MIMIR_ERUNTIME, writing ? "send" : "receive", msg, err);
}

static int write_all(mimir_client_conn *k, const void *buf, size_t n, mimir_err *err)
{
    const uint8_t *p = buf;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        int r = SSL_write(k->ssl, p, chunk);
        if (r <= 0)
            return io_fail(k, r, 1, err);
        p += r;
        n -= (size_t)r;
    }
    return MIMIR_OK;
}

static int read_all(mimir_client_conn *k, void *buf, size_t n, mimir_err *err)
{
    uint8_t *p = buf;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        int r = SSL_read(k->ssl, p, chunk);
        if (r <= 0)
            return io_fail(k, r, 0, err);
        p += r;
        n -= (size_t)r;
    }
    return MIMIR_OK;
}

static int send_frame(mimir_client_conn *k, uint32_t type, const void *payload, size_t len,
                      mimir_err *err)
{
    if (k->failed)
        return mimir_err_set(err, MIMIR_ERUNTIME, k->name, "send",
                             "the connection failed earlier");
    uint8_t h[MIMIR_CLIENT_HEADER_BYTES];
    mimir_client_header_encode(h, type, len);
    int rc = write_all(k, h, sizeof h, err);
    return rc == MIMIR_OK && len > 0 ? write_all(k, payload, len, err) : rc;
}

static int recv_header(mimir_client_conn *k, uint32_t *type, uint64_t *len, mimir_err *err)
{
    if (k->failed)
        return mimir_err_set(err, MIMIR_ERUNTIME, k->name, "receive",
                             "the connection failed earlier");
    uint8_t h[MIMIR_CLIENT_HEADER_BYTES];
    int rc = read_all(k, h, sizeof h, err);
    if (rc == MIMIR_OK)
        mimir_client_header_decode(h, type, len);
    return rc;
}

static int malformed(mimir_client_conn *k, uint32_t type, uint64_t len, const char *expected,
                     mimir_err *err)
{
    char msg[200];
    snprintf(msg, sizeof msg, "malformed frame (type %u, %llu bytes), expected %s",
             (unsigned)type, (unsigned long long)len, expected);
    return conn_fail(k, MIMIR_ERUNTIME, "frame", msg, err);
}

/* Reads an ABORT payload of len bytes into code / reason. */
static int read_abort(mimir_client_conn *k, uint64_t len, int *code, char *reason,
                      mimir_err *err)
{
    uint8_t buf[4 + MIMIR_CLIENT_MAX_REASON];
    if (len < 4 || len > sizeof buf)
        return malformed(k, MIMIR_CLIENT_ABORT, len, "an abort of 4 to 404 bytes", err);
    int rc = read_all(k, buf, (size_t)len, err);
    if (rc != MIMIR_OK)
        return rc;
    uint32_t c = get32(buf);
    *code = c >= 1 && c <= 3 ? (int)c : MIMIR_ERUNTIME;
    size_t n = (size_t)len - 4;
    for (size_t i = 0; i < n; i++) /* printable only: it goes to a terminal */
        reason[i] = buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f ? (char)buf[4 + i] : '?';
    reason[n] = '\0';
    return MIMIR_OK;
}

/* ---------------------------------------------------------------- TLS and hello */

static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    /* Self-signed certificates: authentication is the pin checked after the handshake. */
    (void)ok;
    (void)ctx;
    return 1;
}

static int make_ctx(mimir_client_conn *k, const char *cert, const char *key, mimir_err *err)
{
    k->ctx = SSL_CTX_new(TLS_method());
    if (k->ctx == NULL || SSL_CTX_set_min_proto_version(k->ctx, TLS1_3_VERSION) != 1)
        return mimir_err_set(err, MIMIR_ERUNTIME, "tls", "", "cannot set up TLS 1.3");
    ERR_clear_error();
    if (SSL_CTX_use_certificate_file(k->ctx, cert, SSL_FILETYPE_PEM) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, cert, "certificate", "cannot use it: %s",
                             ssl_reason());
    if (SSL_CTX_use_PrivateKey_file(k->ctx, key, SSL_FILETYPE_PEM) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, key, "key", "cannot use it: %s", ssl_reason());
    if (SSL_CTX_check_private_key(k->ctx) != 1)
        return mimir_err_set(err, MIMIR_EINPUT, key, "key", "does not match certificate %s",
                             cert);
    SSL_CTX_set_verify(k->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    SSL_CTX_set_num_tickets(k->ctx, 0);
    SSL_CTX_set_session_cache_mode(k->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(k->ctx, SSL_MODE_AUTO_RETRY);
    return MIMIR_OK;
}

/* Handshake on k->fd, then the pin check against want. */
static int handshake(mimir_client_conn *k, int server, const uint8_t want[MIMIR_FPR_BYTES],
                     mimir_err *err)
{
    k->ssl = SSL_new(k->ctx);
    if (k->ssl == NULL || SSL_set_fd(k->ssl, k->fd) != 1)
        return conn_fail(k, MIMIR_ERUNTIME, "tls", "cannot set up TLS", err);
    set_timeouts(k->fd, k->io_ms);
    ERR_clear_error();
    int r = server ? SSL_accept(k->ssl) : SSL_connect(k->ssl);
    if (r != 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "TLS handshake failed: %s", ssl_reason());
        ERR_clear_error();
        return conn_fail(k, MIMIR_ERUNTIME, "tls", msg, err);
    }
    X509 *cert = SSL_get1_peer_certificate(k->ssl);
    uint8_t fpr[MIMIR_FPR_BYTES];
    unsigned n = 0;
    int ok = cert != NULL && X509_digest(cert, EVP_sha256(), fpr, &n) == 1 &&
             n == MIMIR_FPR_BYTES;
    X509_free(cert);
    if (!ok)
        return conn_fail(k, MIMIR_ESECURITY, "certificate", "no usable peer certificate", err);
    if (CRYPTO_memcmp(fpr, want, MIMIR_FPR_BYTES) != 0) {
        char got[MIMIR_FPR_HEXBYTES], pin[MIMIR_FPR_HEXBYTES], msg[300];
        mimir_cluster_fpr_hex(fpr, got);
        mimir_cluster_fpr_hex(want, pin);
        snprintf(msg, sizeof msg, "refused: it presented sha256 %s, the cluster file pins %s",
                 got, pin);
        return conn_fail(k, MIMIR_ESECURITY, "certificate", msg, err);
    }
    return MIMIR_OK;
}

/* Both sides send a hello naming the party of the connection; each checks the other's. */
static int hello(mimir_client_conn *k, int party, mimir_err *err)
{
    uint8_t h[MIMIR_CLIENT_HELLO_BYTES];
    memcpy(h, HELLO_MAGIC, HELLO_MAGIC_BYTES);
    put32(h + 8, MIMIR_CLIENT_VERSION);
    put32(h + 12, (uint32_t)party);
    memcpy(h + 16, k->session, MIMIR_SESSION_BYTES);
    int rc = send_frame(k, MIMIR_CLIENT_HELLO, h, sizeof h, err);
    uint32_t type = 0;
    uint64_t len = 0;
    if (rc == MIMIR_OK)
        rc = recv_header(k, &type, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    if (type == MIMIR_CLIENT_ABORT) {
        mimir_client_msg m;
        if ((rc = read_abort(k, len, &m.abort_code, m.abort_reason, err)) != MIMIR_OK)
            return rc;
        k->failed = 1;
        return mimir_err_set(err, m.abort_code, k->name, "hello", "refused us: %s",
                             m.abort_reason);
    }
    if (type != MIMIR_CLIENT_HELLO || len != MIMIR_CLIENT_HELLO_BYTES)
        return malformed(k, type, len, "a hello", err);
    uint8_t got[MIMIR_CLIENT_HELLO_BYTES];
    if ((rc = read_all(k, got, sizeof got, err)) != MIMIR_OK)
        return rc;
    char msg[200];
    if (memcmp(got, HELLO_MAGIC, HELLO_MAGIC_BYTES) != 0)
        return conn_fail(k, MIMIR_ERUNTIME, "hello", "not a Mimir client channel", err);
    if (get32(got + 8) != MIMIR_CLIENT_VERSION) {
        snprintf(msg, sizeof msg, "speaks client protocol version %u, expected %u",
                 (unsigned)get32(got + 8), MIMIR_CLIENT_VERSION);
        return conn_fail(k, MIMIR_ERUNTIME, "hello", msg, err);
    }
    if (get32(got + 12) != (uint32_t)party) {
        snprintf(msg, sizeof msg, "is set up for party %u, expected party %d",
                 (unsigned)get32(got + 12), party);
        return conn_fail(k, MIMIR_ESECURITY, "hello", msg, err);
    }
    if (CRYPTO_memcmp(got + 16, k->session, MIMIR_SESSION_BYTES) != 0)
        return conn_fail(k, MIMIR_ESECURITY, "session",
                         "another session id than the cluster file's", err);
    return MIMIR_OK;
}

static mimir_client_conn *conn_new(const mimir_cluster *c, int peer, int self, uint32_t io_ms)
{
    mimir_client_conn *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->fd = -1;
    k->peer = peer;
    k->self = self;
    k->io_ms = io_ms;
    memcpy(k->session, c->session, MIMIR_SESSION_BYTES);
    if (peer >= 0)
        snprintf(k->name, sizeof k->name, "party %d", peer);
    else
        snprintf(k->name, sizeof k->name, "client");
    return k;
}

static uint32_t io_timeout(const mimir_cluster *c)
{
    return c->peer_timeout_ms != 0 ? c->peer_timeout_ms : MIMIR_CLIENT_DEFAULT_IO_MS;
}

static uint32_t connect_timeout(const mimir_cluster *c, uint32_t ms)
{
    if (ms != 0)
        return ms;
    return c->connect_timeout_ms != 0 ? c->connect_timeout_ms : MIMIR_CLIENT_DEFAULT_CONNECT_MS;
}

/* A socket address for an address entry (TCP resolved now). */
static int sockaddr_of(const mimir_cluster_party *a, const char *name,
                       struct sockaddr_storage *ss, socklen_t *len, mimir_err *err)
{
    memset(ss, 0, sizeof *ss);
    if (a->kind == MIMIR_ADDR_UNIX) {
        struct sockaddr_un *u = (struct sockaddr_un *)ss;
        u->sun_family = AF_UNIX;
        snprintf(u->sun_path, sizeof u->sun_path, "%s", a->path);
        *len = sizeof *u;
        return MIMIR_OK;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)a->port);
    int r = getaddrinfo(a->host, port, &hints, &res);
    if (r != 0 || res == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, "client_address",
                             "cannot resolve %.200s: %s", a->address, gai_strerror(r));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return MIMIR_OK;
}

/* ---------------------------------------------------------------- party side */

static int listen_on(const mimir_cluster_party *a, const char *name, int *out, mimir_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = sockaddr_of(a, name, &ss, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mimir_err_errno(err, name, "socket");
    int one = 1;
    if (a->kind == MIMIR_ADDR_TCP)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct stat st;
    if (a->kind == MIMIR_ADDR_UNIX && lstat(a->path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(a->path); /* a stale socket of an earlier run */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, name, "client_address",
                           "cannot listen on %.200s: %s", a->address, strerror(errno));
        close(fd);
        return rc;
    }
    *out = fd;
    return MIMIR_OK;
}

int mimir_client_accept(const mimir_cluster *c, uint32_t timeout_ms, mimir_client_conn **out,
                        mimir_err *err)
{
    *out = NULL;
    int self = c->self;
    if (self < 0 || self >= MIMIR_CLUSTER_PARTIES || !c->has_client ||
        c->client_at[self].address == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, c->path,
                             !c->has_client ? "client" : "client_address",
                             !c->has_client ? "missing: a party serving a client needs the "
                                              "client's pin {\"cert\" | \"sha256\"}"
                                            : "missing for this party: where it listens for "
                                              "the client");
    const mimir_cluster_party *a = &c->client_at[self];
    mimir_client_conn *k = conn_new(c, -1, self, io_timeout(c));
    if (k == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    int lfd = -1, rc = make_ctx(k, c->party[self].cert_path, c->party[self].key_path, err);
    if (rc == MIMIR_OK)
        rc = listen_on(a, c->path, &lfd, err);
    if (rc == MIMIR_OK) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        int wait = (int)connect_timeout(c, timeout_ms);
        int r;
        do
            r = poll(&p, 1, wait);
        while (r < 0 && errno == EINTR);
        if (r == 0)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, "client", "connect",
                               "did not connect to %.200s within %d ms", a->address, wait);
        else if (r < 0 || (k->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
            rc = mimir_err_errno(err, "client", "accept");
    }
    if (lfd >= 0)
        close(lfd);
    if (a->kind == MIMIR_ADDR_UNIX && lfd >= 0)
        unlink(a->path);
    if (rc == MIMIR_OK)
        rc = handshake(k, 1, c->client.fpr, err);
    if (rc == MIMIR_OK)
        rc = hello(k, self, err);
    if (rc != MIMIR_OK) {
        if (k->ssl != NULL && rc == MIMIR_ESECURITY) {
            k->failed = 0; /* the channel works: tell the other side why we refuse it */
            mimir_client_send_abort(k, err);
        }
        mimir_client_close(k);
        return rc;
    }
    *out = k;
    return MIMIR_OK;
}

uint64_t mimir_client_start_words(const mimir_client_start *st)
{
    uint64_t per = (uint64_t)st->vocab + ((st->flags & MIMIR_CLIENT_START_PADDED) ? 1 : 0);
    return (uint64_t)st->n_prompt * per;
}

int mimir_client_recv_start(mimir_client_conn *k, uint64_t max_words, mimir_client_start *st,
                            mimir_r64 **c0, mimir_r64 **c1, mimir_err *err)
{
    *c0 = *c1 = NULL;
    uint32_t type = 0;
    uint64_t len = 0;
    int rc = recv_header(k, &type, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    if (type == MIMIR_CLIENT_ABORT) {
        mimir_client_msg m;
        if ((rc = read_abort(k, len, &m.abort_code, m.abort_reason, err)) != MIMIR_OK)
            return rc;
        k->failed = 1;
        return mimir_err_set(err, MIMIR_ERUNTIME, "client", "start", "aborted: %s",
                             m.abort_reason);
    }
    if (type != MIMIR_CLIENT_START || len < MIMIR_CLIENT_START_FIXED)
        return malformed(k, type, len, "a start", err);
    uint8_t h[MIMIR_CLIENT_START_FIXED];
    if ((rc = read_all(k, h, sizeof h, err)) != MIMIR_OK)
        return rc;
    st->n_prompt = get32(h);
    st->n_new = get32(h + 4);
    st->vocab = get32(h + 8);
    st->flags = get32(h + 12);
    memcpy(st->session, h + 16, MIMIR_SESSION_BYTES);
    uint64_t words = mimir_client_start_words(st);
    if (CRYPTO_memcmp(st->session, k->session, MIMIR_SESSION_BYTES) != 0)
        return conn_fail(k, MIMIR_ESECURITY, "start.session",
                         "another session id than the cluster file's", err);
    if ((st->flags & ~MIMIR_CLIENT_START_PADDED) != 0 ||
        (st->flags == MIMIR_CLIENT_START_PADDED && st->n_new != st->n_prompt)) {
        char msg[160];
        snprintf(msg, sizeof msg, "flags %#x with %u steps and %u new tokens: expected 0, or "
                 "%u (padded) with as many new tokens as steps", (unsigned)st->flags,
                 (unsigned)st->n_prompt, (unsigned)st->n_new, MIMIR_CLIENT_START_PADDED);
        return conn_fail(k, MIMIR_EINPUT, "start.flags", msg, err);
    }
    if (st->n_prompt == 0 || st->n_new == 0 || st->vocab == 0 || words > max_words ||
        words > MIMIR_CLIENT_MAX_START_WORDS) {
        char msg[200];
        snprintf(msg, sizeof msg, "%u prompt tokens, %u new, vocabulary %u: expected at least "
                 "one of each and at most %llu one-hot words", (unsigned)st->n_prompt,
                 (unsigned)st->n_new, (unsigned)st->vocab, (unsigned long long)max_words);
        return conn_fail(k, MIMIR_EINPUT, "start", msg, err);
    }
    if (len != MIMIR_CLIENT_START_FIXED + 2 * words * sizeof(mimir_r64))
        return malformed(k, type, len, "a start of the announced size", err);
    size_t bytes = (size_t)words * sizeof(mimir_r64);
    uint8_t *raw = mimir_secret_alloc(bytes);
    *c0 = mimir_secret_alloc(bytes);
    *c1 = mimir_secret_alloc(bytes);
    if (raw == NULL || *c0 == NULL || *c1 == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, "client", "start", "out of memory");
    for (int part = 0; part < 2 && rc == MIMIR_OK; part++) {
        mimir_r64 *dst = part == 0 ? *c0 : *c1;
        if ((rc = read_all(k, raw, bytes, err)) == MIMIR_OK)
            for (size_t i = 0; i < (size_t)words; i++)
                dst[i] = get64(raw + 8 * i);
    }
    mimir_secret_free(raw);
    if (rc != MIMIR_OK) {
        mimir_secret_free(*c0);
        mimir_secret_free(*c1);
        *c0 = *c1 = NULL;
    }
    return rc;
}

int mimir_client_send_token(mimir_client_conn *k, const mimir_client_token *t, mimir_err *err)
{
    uint8_t b[MIMIR_CLIENT_TOKEN_BYTES];
    put32(b, t->step);
    put32(b + 4, 0);
    put64(b + 8, t->c[0]);
    put64(b + 16, t->c[1]);
    put64(b + 24, t->us);
    put64(b + 32, t->bytes);
    put64(b + 40, t->rounds);
    int rc = send_frame(k, MIMIR_CLIENT_TOKEN, b, sizeof b, err);
    mimir_wipe(b, sizeof b);
    return rc;
}

int mimir_client_send_end(mimir_client_conn *k, const mimir_client_end *e, mimir_err *err)
{
    uint8_t b[MIMIR_CLIENT_END_BYTES];
    put32(b, e->tokens);
    put32(b + 4, 0);
    put64(b + 8, e->rounds);
    put64(b + 16, e->bytes);
    put64(b + 24, e->us);
    return send_frame(k, MIMIR_CLIENT_END, b, sizeof b, err);
}

int mimir_client_poll_abort(mimir_client_conn *k, mimir_err *err)
{
    if (k->failed)
        return mimir_err_set(err, MIMIR_ERUNTIME, k->name, "receive",
                             "the connection failed earlier");
    struct pollfd p = {.fd = k->fd, .events = POLLIN};
    if (SSL_pending(k->ssl) == 0 && poll(&p, 1, 0) <= 0)
        return MIMIR_OK;
    uint32_t type = 0;
    uint64_t len = 0;
    int rc = recv_header(k, &type, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    if (type != MIMIR_CLIENT_ABORT)
        return malformed(k, type, len, "nothing, or an abort", err);
    mimir_client_msg m;
    if ((rc = read_abort(k, len, &m.abort_code, m.abort_reason, err)) != MIMIR_OK)
        return rc;
    k->failed = 1;
    return mimir_err_set(err, MIMIR_ERUNTIME, "client", "", "stopped the session: %s",
                         m.abort_reason);
}

/* ---------------------------------------------------------------- client side */

int mimir_client_connect(const mimir_cluster *c, int party, uint32_t timeout_ms,
                         mimir_client_conn **out, mimir_err *err)
{
    *out = NULL;
    char name[NAME_BYTES];
    snprintf(name, sizeof name, "party %d", party);
    if (party < 0 || party >= MIMIR_CLUSTER_PARTIES || c->self != MIMIR_CLUSTER_CLIENT ||
        c->client_at[party].address == NULL || c->client.key_path == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, c->path, "client",
                             "not a client's cluster (needs every party's client_address and "
                             "the client's cert and key)");
    ignore_sigpipe();
    const mimir_cluster_party *a = &c->client_at[party];
    struct sockaddr_storage ss;
    socklen_t len;
    mimir_client_conn *k = conn_new(c, party, -1, io_timeout(c));
    if (k == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    int rc = make_ctx(k, c->client.cert_path, c->client.key_path, err);
    if (rc == MIMIR_OK)
        rc = sockaddr_of(a, name, &ss, &len, err);
    uint32_t wait = connect_timeout(c, timeout_ms);
    double deadline = now_ms() + wait;
    while (rc == MIMIR_OK) {
        k->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (k->fd < 0) {
            rc = mimir_err_errno(err, name, "socket");
            break;
        }
        set_timeouts(k->fd, wait);
        if (connect(k->fd, (struct sockaddr *)&ss, len) == 0)
            break;
        int e = errno;
        close(k->fd);
        k->fd = -1;
        int retry = e == ECONNREFUSED || e == ENOENT || e == ECONNRESET || e == EAGAIN ||
                    e == EINTR || e == ETIMEDOUT || e == EINPROGRESS;
        if (!retry || now_ms() >= deadline) {
            rc = mimir_err_set(err, MIMIR_ERUNTIME, name, "connect",
                               "cannot connect to %.200s within %u ms: %s", a->address,
                               (unsigned)wait, strerror(e));
            break;
        }
        struct timespec ts = {0, RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rc == MIMIR_OK)
        rc = handshake(k, 0, c->party[party].fpr, err);
    if (rc == MIMIR_OK)
        rc = hello(k, party, err);
    if (rc != MIMIR_OK) {
        if (k->ssl != NULL && rc == MIMIR_ESECURITY) {
            k->failed = 0; /* the channel works: tell the other side why we refuse it */
            mimir_client_send_abort(k, err);
        }
        mimir_client_close(k);
        return rc;
    }
    *out = k;
    return MIMIR_OK;
}

int mimir_client_send_start(mimir_client_conn *k, const mimir_client_start *st,
                            const mimir_r64 *c0, const mimir_r64 *c1, mimir_err *err)
{
    uint64_t words = mimir_client_start_words(st);
    if (words == 0 || words > MIMIR_CLIENT_MAX_START_WORDS)
        return mimir_err_set(err, MIMIR_EINPUT, k->name, "start",
                             "%llu one-hot words, expected 1..%llu", (unsigned long long)words,
                             (unsigned long long)MIMIR_CLIENT_MAX_START_WORDS);
    if (k->failed)
        return mimir_err_set(err, MIMIR_ERUNTIME, k->name, "send",
                             "the connection failed earlier");
    uint8_t h[MIMIR_CLIENT_HEADER_BYTES + MIMIR_CLIENT_START_FIXED];
    mimir_client_header_encode(h, MIMIR_CLIENT_START,
                               MIMIR_CLIENT_START_FIXED + 2 * words * sizeof(mimir_r64));
    uint8_t *f = h + MIMIR_CLIENT_HEADER_BYTES;
    put32(f, st->n_prompt);
    put32(f + 4, st->n_new);
    put32(f + 8, st->vocab);
    put32(f + 12, st->flags);
    memcpy(f + 16, st->session, MIMIR_SESSION_BYTES);
    int rc = write_all(k, h, sizeof h, err);
    size_t bytes = (size_t)words * sizeof(mimir_r64);
    uint8_t *raw = rc == MIMIR_OK ? mimir_secret_alloc(bytes) : NULL;
    if (rc == MIMIR_OK && raw == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, k->name, "start", "out of memory");
    for (int part = 0; part < 2 && rc == MIMIR_OK; part++) {
        const mimir_r64 *src = part == 0 ? c0 : c1;
        for (size_t i = 0; i < (size_t)words; i++)
            put64(raw + 8 * i, src[i]);
        rc = write_all(k, raw, bytes, err);
    }
    mimir_secret_free(raw);
    return rc;
}

int mimir_client_wait(mimir_client_conn *const *k, int n, int wait_ms, int *ready,
                      mimir_err *err)
{
    struct pollfd p[MIMIR_CLUSTER_PARTIES];
    int idx[MIMIR_CLUSTER_PARTIES], m = 0;
    *ready = -1;
    for (int i = 0; i < n && m < MIMIR_CLUSTER_PARTIES; i++) {
        if (k[i] == NULL)
            continue;
        if (k[i]->ssl != NULL && SSL_pending(k[i]->ssl) > 0) {
            *ready = i;
            return MIMIR_OK;
        }
        p[m].fd = k[i]->fd;
        p[m].events = POLLIN;
        p[m].revents = 0;
        idx[m++] = i;
    }
    if (m == 0)
        return MIMIR_OK;
    int r;
    do
        r = poll(p, (nfds_t)m, wait_ms);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return mimir_err_errno(err, "client", "poll");
    for (int j = 0; j < m; j++)
        if (p[j].revents != 0) {
            *ready = idx[j];
            break;
        }
    return MIMIR_OK;
}

int mimir_client_recv(mimir_client_conn *k, mimir_client_msg *m, mimir_err *err)
{
    memset(m, 0, sizeof *m);
    uint32_t type = 0;
    uint64_t len = 0;
    int rc = recv_header(k, &type, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    m->type = (int)type;
    uint8_t b[MIMIR_CLIENT_TOKEN_BYTES];
    switch (type) {
    case MIMIR_CLIENT_TOKEN:
        if (len != MIMIR_CLIENT_TOKEN_BYTES)
            return malformed(k, type, len, "a token of 48 bytes", err);
        if ((rc = read_all(k, b, MIMIR_CLIENT_TOKEN_BYTES, err)) != MIMIR_OK)
            return rc;
        m->token.step = get32(b);
        m->token.c[0] = get64(b + 8);
        m->token.c[1] = get64(b + 16);
        m->token.us = get64(b + 24);
        m->token.bytes = get64(b + 32);
        m->token.rounds = get64(b + 40);
        mimir_wipe(b, sizeof b);
        return MIMIR_OK;
    case MIMIR_CLIENT_END:
        if (len != MIMIR_CLIENT_END_BYTES)
            return malformed(k, type, len, "an end of 32 bytes", err);
        if ((rc = read_all(k, b, MIMIR_CLIENT_END_BYTES, err)) != MIMIR_OK)
            return rc;
        m->end.tokens = get32(b);
        m->end.rounds = get64(b + 8);
        m->end.bytes = get64(b + 16);
        m->end.us = get64(b + 24);
        return MIMIR_OK;
    case MIMIR_CLIENT_ABORT:
        rc = read_abort(k, len, &m->abort_code, m->abort_reason, err);
        k->failed = 1; /* nothing follows an abort */
        return rc;
    default:
        return malformed(k, type, len, "a token, an end or an abort", err);
    }
}

/* ---------------------------------------------------------------- both */

void mimir_client_send_abort(mimir_client_conn *k, const mimir_err *why)
{
    if (k == NULL || k->ssl == NULL || k->failed)
        return;
    uint8_t b[4 + MIMIR_CLIENT_MAX_REASON];
    char text[MIMIR_ERR_FILEBYTES + MIMIR_ERR_FIELDBYTES + MIMIR_ERR_MSGBYTES + 8];
    int code = why != NULL && why->code != MIMIR_OK ? why->code : MIMIR_ERUNTIME;
    if (why == NULL)
        snprintf(text, sizeof text, "stopped");
    else if (why->file[0] != '\0' && why->field[0] != '\0')
        snprintf(text, sizeof text, "%s: %s: %s", why->file, why->field, why->msg);
    else if (why->file[0] != '\0' || why->field[0] != '\0')
        snprintf(text, sizeof text, "%s: %s", why->file[0] ? why->file : why->field, why->msg);
    else
        snprintf(text, sizeof text, "%s", why->msg);
    size_t n = strlen(text);
    if (n > MIMIR_CLIENT_MAX_REASON)
        n = MIMIR_CLIENT_MAX_REASON;
    put32(b, (uint32_t)code);
    memcpy(b + 4, text, n);
    set_timeouts(k->fd, ABORT_IO_MS);
    mimir_err ignored;
    send_frame(k, MIMIR_CLIENT_ABORT, b, 4 + n, &ignored);
    k->failed = 1;
}

void mimir_client_close(mimir_client_conn *k)
{
    if (k == NULL)
        return;
    if (k->ssl != NULL) {
        if (!k->failed) {
            set_timeouts(k->fd, ABORT_IO_MS);
            SSL_shutdown(k->ssl);
        }
        SSL_free(k->ssl);
    }
    if (k->fd >= 0)
        close(k->fd);
    SSL_CTX_free(k->ctx);
    ERR_clear_error();
    free(k);
}

int mimir_client_peer(const mimir_client_conn *k)
{
    return k->peer;
}
