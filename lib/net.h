/*
 * net.h — authenticated channels between the three parties, in rounds.
 *
 * Each pair of parties shares one TLS 1.3 connection with mutual certificate authentication
 * (OpenSSL, memory BIOs, driven by a private libuv loop), over TCP or over a Unix socket: TLS
 * runs on both, so the same pinning holds on one host as across the Internet. Peers are pinned by
 * the SHA-256 fingerprints of their certificates (lib/cluster.h); no CA is trusted. Party i
 * listens on its address, every party j > i connects to it (retrying until the connect
 * deadline). After the handshake both sides send a hello frame (protocol version, session id,
 * party index); a peer with another certificate, session id or version is refused and the
 * message says which (docs/protocol.md, "Channels").
 *
 * The API is blocking and sequential, as the protocol is: mimir_net_exchange() is one round; it
 * sends this party's messages of the round to its peers and receives theirs, running the loop
 * until the round's I/O is done or a peer it waits on sends nothing for peer_timeout_ms. While
 * waiting, a party pings its peers, so the timeout names the party whose process stopped (or
 * computes for longer than the timeout between two calls), not one that waits too. Every party
 * calls it once per round, in the same order (a party with nothing to say in a round still calls
 * it, with no I/O), so round numbers agree and each frame is checked against the round it
 * belongs to. Message lengths are public and known to the receiver: a frame of another length,
 * another round, an unknown type or beyond max_frame_bytes is malformed.
 *
 * Failures are final: after any error but a refused argument (MIMIR_EINPUT, no round spent)
 * the net refuses further I/O, returning the first error again. A peer that sends a malformed
 * or oversized frame, closes its connection, stalls beyond the timeout or speaks another
 * protocol version makes the call fail with MIMIR_ERUNTIME (exit 3); a refused certificate or
 * session id is MIMIR_ESECURITY (exit 1). The message's file is "party N", the peer concerned.
 * The failing call tells the other peers why, best-effort, in an abort frame.
 *
 * Not thread-safe: one net per thread. The first mimir_net_open() ignores SIGPIPE if it was at
 * its default (a closed socket must be an error, not a dead process).
 */
#ifndef MIMIR_NET_H
#define MIMIR_NET_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"

#define MIMIR_NET_VERSION 1                       /* the channel protocol this build speaks */
#define MIMIR_NET_PARTIES MIMIR_CLUSTER_PARTIES
#define MIMIR_NET_HEADER_BYTES 20                 /* frame header: type, round, length */
#define MIMIR_NET_HELLO_BYTES 32                  /* hello payload */
#define MIMIR_NET_MAX_REASON 400                  /* longest text in an abort frame */
#define MIMIR_NET_DEFAULT_MAX_FRAME (UINT64_C(256) << 20)  /* 256 MiB */
#define MIMIR_NET_DEFAULT_PEER_TIMEOUT_MS 30000u
#define MIMIR_NET_DEFAULT_CONNECT_TIMEOUT_MS 30000u
#define MIMIR_NET_MAX_QUEUED_FRAMES 256           /* frames a peer may send ahead of us */

/* Frame types (the u32 "type" of the header). */
enum mimir_net_frame {
    MIMIR_NET_HELLO = 1, /* payload: "MIMIRNET", version u32, party u32, session (16 bytes) */
    MIMIR_NET_DATA = 2,  /* payload: one protocol message of a round */
    MIMIR_NET_BYE = 3,   /* empty: orderly end of the session */
    MIMIR_NET_ABORT = 4, /* payload: status u32, reason text (<= MIMIR_NET_MAX_REASON bytes) */
    MIMIR_NET_PING = 5,  /* empty: "still here", sent while waiting, 4 per peer timeout */
};

enum mimir_net_dir { MIMIR_NET_SENT = 1, MIMIR_NET_RECEIVED = 2 };

/* Observer: called for every DATA frame, sent or received, with its payload. Within a round the
 * calls come in a fixed order (sends in ascending peer order when the round starts, receipts in
 * ascending peer order when it completes), so a transcript built from them is deterministic. */
typedef void (*mimir_net_observer)(void *arg, int dir, int peer, uint64_t round,
                                   const uint8_t *payload, size_t len);

/* Extra admission check of a peer's certificate (DER) after the fingerprint matched, e.g.
 * attestation evidence carried in an extension. Return MIMIR_OK to admit, or fill err. */
typedef int (*mimir_net_admit)(void *arg, int peer, const uint8_t *der, size_t len,
                               mimir_err *err);

typedef struct mimir_net_opts {
    uint32_t connect_timeout_ms; /* 0 = cluster file's, else default */
    uint32_t peer_timeout_ms;    /* 0 = cluster file's, else default */
    uint64_t max_frame_bytes;    /* 0 = cluster file's, else default */
    uint32_t hello_version;      /* 0 = the cluster's version; tests set others */
    mimir_net_observer observer; /* NULL = none */
    void *observer_arg;
    mimir_net_admit admit;       /* NULL = fingerprint pinning only */
    void *admit_arg;
} mimir_net_opts;

/* One peer's part of a round: what to send it and what to receive from it. */
typedef struct mimir_net_io {
    int send;            /* 1: send send_len bytes at send_buf (0 bytes is a message too) */
    const void *send_buf;
    size_t send_len;
    int recv;            /* 1: receive exactly recv_len bytes into recv_buf */
    void *recv_buf;
    size_t recv_len;
} mimir_net_io;

/* Traffic with one peer. Payload bytes count DATA payloads only; wire bytes count everything
 * on the socket (TLS records, handshake, headers). */
typedef struct mimir_net_stats {
    uint64_t frames_sent, frames_received;
    uint64_t bytes_sent, bytes_received;
    uint64_t wire_sent, wire_received;
} mimir_net_stats;

typedef struct mimir_net mimir_net;

/* Connects the local party (cluster->self) to its two peers: listens, connects, handshakes,
 * exchanges hellos. Blocks until all channels are up or the connect deadline passes. cluster
 * must outlive the net. opts may be NULL (defaults). */
int mimir_net_open(const mimir_cluster *cluster, const mimir_net_opts *opts, mimir_net **out,
                   mimir_err *err);

/* One round: io[p] for each party p (io[self] must be empty). Returns when every message of the
 * round is received and every send has been handed to TLS (the buffers may be reused). */
int mimir_net_exchange(mimir_net *net, mimir_net_io io[MIMIR_NET_PARTIES], mimir_err *err);

/* One round in which this party only sends len bytes to peer. */
int mimir_net_send(mimir_net *net, int peer, const void *buf, size_t len, mimir_err *err);

/* One round in which this party only receives len bytes from peer. */
int mimir_net_recv(mimir_net *net, int peer, void *buf, size_t len, mimir_err *err);

/* Orderly end: sends a bye to both peers, waits for theirs and for the writes to drain. */
int mimir_net_close(mimir_net *net, mimir_err *err);

/* Ends the run after a failure of the caller's own (MAC check, ...): tells both peers the
 * reason (code and message of why) in an abort frame, best-effort, and fails the net. */
void mimir_net_abort(mimir_net *net, const mimir_err *why);

/* Frees the net. A net that was neither closed nor aborted sends an abort frame first. */
void mimir_net_free(mimir_net *net);

int mimir_net_self(const mimir_net *net);
uint64_t mimir_net_rounds(const mimir_net *net);           /* rounds completed so far */
const uint8_t *mimir_net_session(const mimir_net *net);    /* MIMIR_SESSION_BYTES */
void mimir_net_get_stats(const mimir_net *net, int peer, mimir_net_stats *st);

/* Replicated sharing's neighbours: party i holds (x_i, x_{i+1}). */
static inline int mimir_net_next(int party) { return (party + 1) % MIMIR_NET_PARTIES; }
static inline int mimir_net_prev(int party)
{
    return (party + MIMIR_NET_PARTIES - 1) % MIMIR_NET_PARTIES;
}

/* Frame header codec (exposed for tests and fuzzing). */
void mimir_net_header_encode(uint8_t out[MIMIR_NET_HEADER_BYTES], uint32_t type,
                             uint64_t round, uint64_t len);
void mimir_net_header_decode(const uint8_t in[MIMIR_NET_HEADER_BYTES], uint32_t *type,
                             uint64_t *round, uint64_t *len);

#endif
