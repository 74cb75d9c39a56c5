/*
 * client.h — the channel between the client (mimir-generate) and each of the three parties
 * (docs/protocol.md, "Client channel").
 *
 * One TLS 1.3 connection per party, with mutual authentication by pinned certificates exactly
 * as between parties (lib/cluster.h): the party presents its own certificate (the client pins
 * it with the party's "cert"/"sha256"), the client presents the certificate of the cluster
 * file's "client" section (the party pins it). No CA is trusted. Party i listens on its
 * "client_address" (TCP or Unix socket) and accepts exactly one client per session. Sockets are
 * blocking with timeouts (poll + SO_RCVTIMEO/SO_SNDTIMEO): the exchange is small and in order.
 *
 * Frames: type (u32 LE), payload length (u64 LE), payload. Every type has a fixed payload length
 * or a bound, checked before anything is read. The session:
 *   both:    HELLO  "MIMIRCLI", version u32, party u32, session id (16): a peer with another
 *                   session, version or party index is refused (MIMIR_ESECURITY for session
 *                   and party, MIMIR_ERUNTIME for the version)
 *   client:  START  n_prompt u32, n_new u32, vocab u32, flags u32, session (16), then the
 *                   party's two replicated components (x_i, x_{i+1}) of the prompt's one-hot
 *                   vectors (lib/rss.h over Z_2^64, u64 LE): n_prompt * vocab words of x_i, then
 *                   as many of x_{i+1}. With flags = MIMIR_CLIENT_START_PADDED (--pad-to) the
 *                   session has n_prompt = n_new = S steps that all sample: S one-hot slots
 *                   (the real prompt's, then zero vectors) and S selection bits (1 where the
 *                   slot is a prompt token), i.e. S * (vocab + 1) words per component
 *   party:   TOKEN  per generated token: step u32, 0 u32, its two components of the token's
 *                   index (after the parties' MAC check, lib/spdz.h mimir_spdz_output), and the
 *                   step's latency (us), payload bytes this party sent and rounds (u64 each)
 *   party:   END    tokens u32, 0 u32, total rounds, total payload bytes sent, total us (u64)
 *   both:    ABORT  status u32, reason text (at most MIMIR_CLIENT_MAX_REASON bytes): why the
 *                   sender stops (a party relays the error that stopped it, naming the party
 *                   at fault; a client that found inconsistent shares says so)
 * The client joins the three parties' components with mimir_rss_join, which checks both copies
 * of every component: one party alone cannot change a token, only make the join fail.
 *
 * Errors name the other side: file "party N" at the client, "client" at a party. A closed or
 * silent connection is MIMIR_ERUNTIME, a refused certificate or session MIMIR_ESECURITY, a
 * malformed frame MIMIR_ERUNTIME. Secrets (components) live in mimir_secret_alloc buffers.
 */
#ifndef MIMIR_CLIENT_H
#define MIMIR_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"
#include "ring.h"

#define MIMIR_CLIENT_VERSION 1
#define MIMIR_CLIENT_HEADER_BYTES 12         /* type u32, length u64 */
#define MIMIR_CLIENT_HELLO_BYTES 32
#define MIMIR_CLIENT_START_FIXED 32          /* START payload before the components */
#define MIMIR_CLIENT_TOKEN_BYTES 48
#define MIMIR_CLIENT_END_BYTES 32
#define MIMIR_CLIENT_MAX_REASON 400
#define MIMIR_CLIENT_DEFAULT_CONNECT_MS 30000u
#define MIMIR_CLIENT_DEFAULT_IO_MS 30000u    /* one frame's read or write, once begun */
#define MIMIR_CLIENT_MAX_START_WORDS ((uint64_t)1 << 30) /* n_prompt * vocab bound */
#define MIMIR_CLIENT_START_PADDED 1u         /* START flags: a padded session (--pad-to) */

enum mimir_client_frame {
    MIMIR_CLIENT_HELLO = 1,
    MIMIR_CLIENT_START = 2,
    MIMIR_CLIENT_TOKEN = 3,
    MIMIR_CLIENT_END = 4,
    MIMIR_CLIENT_ABORT = 5,
};

typedef struct mimir_client_start {
    uint32_t n_prompt, n_new, vocab;
    uint32_t flags; /* 0, or MIMIR_CLIENT_START_PADDED (then n_prompt = n_new = steps) */
    uint8_t session[MIMIR_SESSION_BYTES];
} mimir_client_start;

/* Words per component a START carries: n_prompt * vocab, plus n_prompt selection bits when
 * padded. */
uint64_t mimir_client_start_words(const mimir_client_start *st);

typedef struct mimir_client_token {
    uint32_t step;    /* 0 for the first generated token */
    mimir_r64 c[2];   /* secret: this party's components (x_i, x_{i+1}) of the token index */
    uint64_t us;      /* the step's latency at the party, microseconds */
    uint64_t bytes;   /* payload bytes the party sent its peers during the step */
    uint64_t rounds;  /* rounds of the step */
} mimir_client_token;

typedef struct mimir_client_end {
    uint32_t tokens;
    uint64_t rounds, bytes, us; /* whole session at this party */
} mimir_client_end;

/* One frame received by the client. */
typedef struct mimir_client_msg {
    int type; /* MIMIR_CLIENT_TOKEN, _END or _ABORT */
    mimir_client_token token;
    mimir_client_end end;
    int abort_code;
    char abort_reason[MIMIR_CLIENT_MAX_REASON + 1];
} mimir_client_msg;

typedef struct mimir_client_conn mimir_client_conn;

/* --- Party side ----------------------------------------------------------------------------- */

/* Listens on the local party's client_address, accepts one client within timeout_ms (0 =
 * the cluster's connect timeout, else the default), runs the TLS handshake with the party's
 * certificate, checks the client's pin and exchanges hellos. */
int mimir_client_accept(const mimir_cluster *c, uint32_t timeout_ms, mimir_client_conn **out,
                        mimir_err *err);

/* Receives START: checks the session against the cluster's, the flags, and the words
 * (mimir_client_start_words) against max_words, then reads the components into *c0 and *c1
 * (that many words each,
 * allocated with mimir_secret_alloc; the caller frees them with mimir_secret_free). */
int mimir_client_recv_start(mimir_client_conn *k, uint64_t max_words, mimir_client_start *st,
                            mimir_r64 **c0, mimir_r64 **c1, mimir_err *err);
int mimir_client_send_token(mimir_client_conn *k, const mimir_client_token *t, mimir_err *err);
int mimir_client_send_end(mimir_client_conn *k, const mimir_client_end *e, mimir_err *err);

/* Without blocking: MIMIR_OK if the client has sent nothing, else the client's abort or the
 * closed connection as an error (MIMIR_ERUNTIME naming "client"). A party calls it between
 * steps so that a client that went away stops the run. */
int mimir_client_poll_abort(mimir_client_conn *k, mimir_err *err);

/* --- Client side ---------------------------------------------------------------------------- */

/* Connects to party's client_address (retrying until timeout_ms, 0 = the cluster's connect
 * timeout), TLS with the client's certificate and key, checks the party's pin, hellos. The
 * cluster must have been loaded with self = MIMIR_CLUSTER_CLIENT. */
int mimir_client_connect(const mimir_cluster *c, int party, uint32_t timeout_ms,
                         mimir_client_conn **out, mimir_err *err);

/* Sends START with the party's components c0, c1 (st->n_prompt * st->vocab words each). */
int mimir_client_send_start(mimir_client_conn *k, const mimir_client_start *st,
                            const mimir_r64 *c0, const mimir_r64 *c1, mimir_err *err);

/* Waits up to wait_ms (-1: forever) until one of the n connections (NULL entries are skipped)
 * has a frame to read; *ready is its index, or -1 after the timeout. */
int mimir_client_wait(mimir_client_conn *const *k, int n, int wait_ms, int *ready,
                      mimir_err *err);

/* Reads the next frame (TOKEN, END or ABORT) from a party. An ABORT is returned as a message
 * (m->abort_code, m->abort_reason), not as an error. */
int mimir_client_recv(mimir_client_conn *k, mimir_client_msg *m, mimir_err *err);

/* --- Both ------------------------------------------------------------------------------------ */

/* Tells the other side why this side stops (best-effort, never blocks long). */
void mimir_client_send_abort(mimir_client_conn *k, const mimir_err *why);

/* Closes (TLS close_notify, best-effort) and frees. NULL is a no-op. */
void mimir_client_close(mimir_client_conn *k);

/* The other side's index (the party at the client, -1 at a party). */
int mimir_client_peer(const mimir_client_conn *k);

/* Frame header codec (exposed for tests). */
void mimir_client_header_encode(uint8_t out[MIMIR_CLIENT_HEADER_BYTES], uint32_t type,
                                uint64_t len);
void mimir_client_header_decode(const uint8_t in[MIMIR_CLIENT_HEADER_BYTES], uint32_t *type,
                                uint64_t *len);

#endif
