/* attest/broker.c — the key broker and its client over TLS 1.3; see broker.h. */
#include "attest/broker.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "attest/attest.h"
#include "attest/seal.h"
#include "attest/x509.h"
#include "mem.h"

struct mimir_broker {
    int fd;
    SSL_CTX *ctx;
    const mimir_attest_policy *pol;
    uint8_t *key;
    char addr[MIMIR_BROKER_ADDR_BYTES];
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char pin[65];
};

static int ssl_fail(mimir_err *err, int code, const char *file, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return mimir_err_set(err, code, file, NULL, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static void set_timeouts(int fd)
{
    struct timeval tv = {MIMIR_BROKER_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Opens a listening (listen = 1) or connected socket for tcp:HOST:PORT or unix:PATH. */
static int open_addr(const char *addr, int listen_, int *fd, char *bound, size_t cap,
                     mimir_err *err)
{
    *fd = -1;
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *path = addr + 5;
        if (path[0] == '\0' || strlen(path) >= sizeof sa.sun_path)
            return mimir_err_set(err, MIMIR_EINPUT, addr, "address",
                                 "bad unix socket path, expected unix:PATH shorter than %zu",
                                 sizeof sa.sun_path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            return mimir_err_errno(err, addr, "socket");
        struct stat st;
        if (listen_ && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path); /* a stale socket of an earlier broker */
        int r = listen_ ? bind(s, (struct sockaddr *)&sa, sizeof sa)
                        : connect(s, (struct sockaddr *)&sa, sizeof sa);
        if (r != 0 || (listen_ && listen(s, 16) != 0)) {
            int e = mimir_err_errno(err, addr, listen_ ? "cannot listen" : "cannot connect");
            close(s);
            return e;
        }
        snprintf(bound, cap, "%s", addr);
        *fd = s;
        return MIMIR_OK;
    }
    if (strncmp(addr, "tcp:", 4) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, addr, "address",
                             "unknown address, expected tcp:HOST:PORT or unix:PATH");
    char host[MIMIR_BROKER_ADDR_BYTES];
    const char *colon = strrchr(addr + 4, ':');
    size_t hl = colon ? (size_t)(colon - (addr + 4)) : 0;
    if (colon == NULL || hl == 0 || hl >= sizeof host || colon[1] == '\0')
        return mimir_err_set(err, MIMIR_EINPUT, addr, "address",
                             "bad tcp address, expected tcp:HOST:PORT");
    memcpy(host, addr + 4, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') { /* [::1] */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = listen_ ? AI_PASSIVE : 0};
    struct addrinfo *ai = NULL;
    int g = getaddrinfo(host, colon + 1, &hints, &ai);
    if (g != 0)
        return mimir_err_set(err, MIMIR_EINPUT, addr, "address", "cannot resolve: %s",
                             gai_strerror(g));
    int rc = mimir_err_set(err, MIMIR_ERUNTIME, addr, NULL, "no usable address");
    for (struct addrinfo *p = ai; p != NULL; p = p->ai_next) {
        int s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
        if (s < 0)
            continue;
        int one = 1;
        if (listen_)
            setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        else
            set_timeouts(s);
        int r = listen_ ? bind(s, p->ai_addr, p->ai_addrlen) : connect(s, p->ai_addr,
                                                                      p->ai_addrlen);
        if (r == 0 && (!listen_ || listen(s, 16) == 0)) {
            *fd = s;
            rc = MIMIR_OK;
            mimir_err_clear(err);
            break;
        }
        rc = mimir_err_errno(err, addr, listen_ ? "cannot listen" : "cannot connect");
        close(s);
    }
    freeaddrinfo(ai);
    if (rc != MIMIR_OK)
        return rc;
    if (!listen_) {
        snprintf(bound, cap, "%s", addr);
        return MIMIR_OK;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char h[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(*fd, (struct sockaddr *)&ss, &sl) == 0 &&
        getnameinfo((struct sockaddr *)&ss, sl, h, sizeof h, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
        snprintf(bound, cap, strchr(h, ':') ? "tcp:[%s]:%s" : "tcp:%s:%s", h, port);
    else
        snprintf(bound, cap, "%s", addr);
    return MIMIR_OK;
}

/* Client certificates are self-signed carriers of evidence: accept any at the TLS layer and
 * judge the evidence after the handshake. */
static int accept_any(int ok, X509_STORE_CTX *ctx)
{
    (void)ok;
    (void)ctx;
    return 1;
}

static int make_ctx(int server, const char *cert, const char *keypem, SSL_CTX **out,
                    mimir_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        return ssl_fail(err, MIMIR_ERUNTIME, NULL, "cannot make a TLS context");
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    int rc = MIMIR_OK;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        rc = ssl_fail(err, MIMIR_EINPUT, cert, "cannot load the certificate, expected PEM");
    else if (SSL_CTX_use_PrivateKey_file(ctx, keypem, SSL_FILETYPE_PEM) != 1)
        rc = ssl_fail(err, MIMIR_EINPUT, keypem, "cannot load the private key, expected PEM");
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = ssl_fail(err, MIMIR_EINPUT, keypem, "the private key does not match the "
                                                 "certificate");
    if (rc != MIMIR_OK) {
        SSL_CTX_free(ctx);
        return rc;
    }
    if (server)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
    else
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* by the pin: check_pin */
    *out = ctx;
    return MIMIR_OK;
}

int mimir_broker_new(const char *addr, const char *cert, const char *keypem,
                     const mimir_attest_policy *pol, const uint8_t *key, mimir_broker **out,
                     mimir_err *err)
{
    *out = NULL;
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "cannot initialise libsodium");
    mimir_broker *b = calloc(1, sizeof *b);
    if (b == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    b->fd = -1;
    b->pol = pol;
    b->key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    int rc = MIMIR_OK;
    if (b->key == NULL)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    else
        memcpy(b->key, key, MIMIR_SEAL_KEY_BYTES);
    if (rc == MIMIR_OK)
        rc = make_ctx(1, cert, keypem, &b->ctx, err);
    if (rc == MIMIR_OK) {
        uint8_t fpr[32];
        X509 *x = SSL_CTX_get0_certificate(b->ctx);
        if (x == NULL || mimir_x509_sha256(x, fpr) != 0)
            rc = mimir_err_set(err, MIMIR_ERUNTIME, cert, NULL, "cannot hash the certificate");
        else
            sodium_bin2hex(b->pin, sizeof b->pin, fpr, sizeof fpr);
    }
    if (rc == MIMIR_OK)
        rc = open_addr(addr, 1, &b->fd, b->addr, sizeof b->addr, err);
    if (rc == MIMIR_OK && strncmp(addr, "unix:", 5) == 0)
        snprintf(b->unix_path, sizeof b->unix_path, "%s", addr + 5);
    if (rc != MIMIR_OK) {
        mimir_broker_free(b);
        return rc;
    }
    *out = b;
    return MIMIR_OK;
}

void mimir_broker_free(mimir_broker *b)
{
    if (b == NULL)
        return;
    if (b->fd >= 0)
        close(b->fd);
    if (b->unix_path[0])
        unlink(b->unix_path);
    SSL_CTX_free(b->ctx);
    mimir_key_free(b->key);
    free(b);
}

const char *mimir_broker_address(const mimir_broker *b) { return b->addr; }
const char *mimir_broker_pin(const mimir_broker *b) { return b->pin; }

static int write_all(SSL *ssl, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(ssl, p, n > 16384 ? 16384 : (int)n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void append(char *buf, size_t cap, const char *sep, const char *s)
{
    size_t l = strlen(buf);
    const char *parts[2] = {l ? sep : "", s};
    for (int k = 0; k < 2; k++)
        for (const char *q = parts[k]; *q && l + 1 < cap; q++)
            buf[l++] = *q; /* truncates quietly: the log and answer are bounded */
    buf[l] = '\0';
}

/* Judges the peer's certificate; fills ev and the refusal lines. */
static void judge(mimir_broker *b, X509 *peer, mimir_broker_event *ev, char *lines, size_t cap)
{
    mimir_x509_cn(peer, ev->peer, sizeof ev->peer);
    if (ev->peer[0] == '\0')
        snprintf(ev->peer, sizeof ev->peer, "?");
    unsigned char *der = NULL;
    int n = i2d_X509(peer, &der);
    mimir_attest_result res;
    mimir_err e;
    mimir_err_clear(&e);
    int rc = n > 0 ? mimir_attest_result_init(&res, &e) : MIMIR_ERUNTIME;
    if (rc != MIMIR_OK) {
        append(ev->reasons, sizeof ev->reasons, "; ", "broker: cannot encode the certificate");
        append(lines, cap, "", "broker: cannot encode the certificate\n");
        OPENSSL_free(der);
        return;
    }
    mimir_attest_opts o = {time(NULL), NULL, NULL};
    rc = mimir_attest_verify(der, (size_t)n, "client certificate", &o, &res, &e);
    OPENSSL_free(der);
    if (rc == MIMIR_OK && b->pol != NULL)
        mimir_policy_apply(b->pol, &res);
    /* the names of `mimir-attest verify` and of peer admission (attest/attest.h) */
    if (rc != MIMIR_OK) {
        char line[MIMIR_ERR_MSGBYTES];
        mimir_attest_unverified(&e, line, sizeof line);
        append(ev->reasons, sizeof ev->reasons, "; ", line);
        append(lines, cap, "", line);
        append(lines, cap, "", "\n");
    } else {
        mimir_attest_failures(&res, "; ", SIZE_MAX, ev->reasons, sizeof ev->reasons);
        if (res.failed > 0) {
            mimir_attest_failures(&res, "\n", SIZE_MAX, lines, cap - 1);
            append(lines, cap, "", "\n");
        }
        ev->admitted = res.failed == 0;
    }
    mimir_attest_result_free(&res);
}

int mimir_broker_serve_one(mimir_broker *b, mimir_broker_event *ev, mimir_err *err)
{
    memset(ev, 0, sizeof *ev);
    snprintf(ev->peer, sizeof ev->peer, "?");
    int c = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return mimir_err_errno(err, b->addr, "accept");
    set_timeouts(c);
    SSL *ssl = SSL_new(b->ctx);
    int rc = MIMIR_OK;
    if (ssl == NULL || SSL_set_fd(ssl, c) != 1) {
        rc = ssl_fail(err, MIMIR_ERUNTIME, b->addr, "cannot make a TLS session");
        goto done;
    }
    if (SSL_accept(ssl) != 1) {
        rc = ssl_fail(err, MIMIR_ESECURITY, b->addr,
                      "TLS handshake failed (a TLS 1.3 client with a certificate is required)");
        goto done;
    }
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer == NULL) {
        rc = mimir_err_set(err, MIMIR_ESECURITY, b->addr, NULL,
                           "the client sent no certificate, expected an attested one");
        goto done;
    }
    char *lines = calloc(1, MIMIR_BROKER_MAX_ANSWER);
    if (lines == NULL) {
        X509_free(peer);
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        goto done;
    }
    judge(b, peer, ev, lines, MIMIR_BROKER_MAX_ANSWER);
    X509_free(peer);
    int wr;
    if (ev->admitted) {
        enum { LINE = sizeof MIMIR_BROKER_PROTO " admit \n" + 2 * MIMIR_SEAL_KEY_BYTES };
        char *msg = mimir_secret_alloc(LINE + 1);
        if (msg == NULL) {
            free(lines);
            rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
            goto done;
        }
        size_t pl = strlen(MIMIR_BROKER_PROTO " admit ");
        memcpy(msg, MIMIR_BROKER_PROTO " admit ", pl);
        sodium_bin2hex(msg + pl, 2 * MIMIR_SEAL_KEY_BYTES + 1, b->key, MIMIR_SEAL_KEY_BYTES);
        msg[pl + 2 * MIMIR_SEAL_KEY_BYTES] = '\n';
        wr = write_all(ssl, msg, pl + 2 * MIMIR_SEAL_KEY_BYTES + 1);
        mimir_secret_free(msg);
    } else {
        const char *head = MIMIR_BROKER_PROTO " refuse\n";
        wr = write_all(ssl, head, strlen(head));
        if (wr == 0)
            wr = write_all(ssl, lines, strlen(lines));
    }
    free(lines);
    if (wr != 0) {
        rc = ssl_fail(err, MIMIR_ERUNTIME, b->addr, "cannot send the answer");
        goto done;
    }
    SSL_shutdown(ssl);
done:
    SSL_free(ssl);
    close(c);
    return rc;
}

int mimir_broker_parse_answer(char *ans, size_t len, const char *addr, uint8_t *key,
                              mimir_err *err)
{
    const char *admit = MIMIR_BROKER_PROTO " admit ", *refuse = MIMIR_BROKER_PROTO " refuse\n";
    size_t al = strlen(admit), n = 0;
    if (len > MIMIR_BROKER_MAX_ANSWER)
        return mimir_err_set(err, MIMIR_ESECURITY, addr, NULL, "answer longer than %d bytes",
                             MIMIR_BROKER_MAX_ANSWER);
    ans[len] = '\0';
    if (len == al + 2 * MIMIR_SEAL_KEY_BYTES + 1 && memcmp(ans, admit, al) == 0 &&
        ans[len - 1] == '\n') {
        if (sodium_hex2bin(key, MIMIR_SEAL_KEY_BYTES, ans + al, 2 * MIMIR_SEAL_KEY_BYTES, NULL,
                           &n, NULL) != 0 || n != MIMIR_SEAL_KEY_BYTES)
            return mimir_err_set(err, MIMIR_ESECURITY, addr, NULL,
                                 "malformed key in the broker's answer");
        return MIMIR_OK;
    }
    if (len >= strlen(refuse) && memcmp(ans, refuse, strlen(refuse)) == 0) {
        char why[MIMIR_ERR_MSGBYTES] = "";
        /* the reasons end at the first NUL: bytes after one are not text */
        for (char *p = ans + strlen(refuse); *p;) {
            char *nl = strchr(p, '\n');
            if (nl != NULL)
                *nl = '\0';
            append(why, sizeof why, "; ", p);
            if (nl == NULL)
                break;
            p = nl + 1;
        }
        return mimir_err_set(err, MIMIR_ESECURITY, addr, NULL, "broker refused the key: %s",
                             why);
    }
    return mimir_err_set(err, len ? MIMIR_ESECURITY : MIMIR_ERUNTIME, addr, NULL,
                         len ? "unexpected answer, expected " MIMIR_BROKER_PROTO
                               " admit or refuse"
                             : "the broker closed the connection without an answer");
}

/* The client's check of the broker's certificate against the pin, during the handshake. */
typedef struct pin_check {
    uint8_t want[32], got[32];
    int state; /* 0 not seen, 1 matched, 2 mismatch */
} pin_check;

static int check_pin(X509_STORE_CTX *x, void *arg)
{
    pin_check *pc = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(x);
    if (leaf == NULL || mimir_x509_sha256(leaf, pc->got) != 0 ||
        sodium_memcmp(pc->got, pc->want, sizeof pc->got) != 0) {
        pc->state = 2;
        X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    pc->state = 1;
    return 1;
}

int mimir_broker_fetch(const char *addr, const char *cert, const char *keypem, const char *pin,
                       uint8_t *key, mimir_err *err)
{
    uint8_t want[32];
    size_t n = 0;
    const char *end = NULL;
    if (sodium_hex2bin(want, sizeof want, pin, strlen(pin), ":", &n, &end) != 0 ||
        n != sizeof want || *end != '\0')
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "--pin",
                             "not a SHA-256 fingerprint, expected 64 hex digits");
    SSL_CTX *ctx = NULL;
    int rc = make_ctx(0, cert, keypem, &ctx, err);
    if (rc != MIMIR_OK)
        return rc;
    pin_check pc = {{0}, {0}, 0};
    memcpy(pc.want, want, sizeof want);
    SSL_CTX_set_cert_verify_callback(ctx, check_pin, &pc);
    int fd = -1;
    char bound[MIMIR_BROKER_ADDR_BYTES];
    SSL *ssl = NULL;
    X509 *srv = NULL;
    char *ans = NULL;
    rc = open_addr(addr, 0, &fd, bound, sizeof bound, err);
    if (rc != MIMIR_OK)
        goto done;
    set_timeouts(fd);
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        rc = ssl_fail(err, MIMIR_ERUNTIME, addr, "cannot make a TLS session");
        goto done;
    }
    /* check_pin aborts the handshake before our certificate is sent to a broker that does not
     * match the pin; the checks below hold in any case. */
    int connected = SSL_connect(ssl) == 1;
    uint8_t got[32];
    srv = connected ? SSL_get1_peer_certificate(ssl) : NULL;
    if (pc.state == 2 || (srv != NULL && (mimir_x509_sha256(srv, got) != 0 ||
                                          sodium_memcmp(got, want, sizeof got) != 0))) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, pc.state == 2 || srv == NULL ? pc.got : got, sizeof got);
        ERR_clear_error();
        rc = mimir_err_set(err, MIMIR_ESECURITY, addr, "--pin",
                           "broker certificate SHA-256 is %s, expected the pinned one", hex);
        goto done;
    }
    if (!connected) {
        rc = ssl_fail(err, MIMIR_ERUNTIME, addr, "TLS handshake with the broker failed");
        goto done;
    }
    if (srv == NULL) {
        rc = mimir_err_set(err, MIMIR_ESECURITY, addr, "--pin",
                           "the broker presented no usable certificate");
        goto done;
    }
    ans = mimir_secret_alloc(MIMIR_BROKER_MAX_ANSWER + 1);
    if (ans == NULL) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
        goto done;
    }
    size_t len = 0;
    for (;;) {
        int r = SSL_read(ssl, ans + len, (int)(MIMIR_BROKER_MAX_ANSWER - len));
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == MIMIR_BROKER_MAX_ANSWER)
            break;
    }
    ERR_clear_error();
    rc = mimir_broker_parse_answer(ans, len, addr, key, err);
done:
    if (ans != NULL)
        mimir_secret_free(ans);
    X509_free(srv);
    if (ssl != NULL)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return rc;
}
