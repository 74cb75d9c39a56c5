/*
 * cluster.h — the cluster file: who the three parties are and how to reach them.
 *
 * A cluster file is JSON (docs/protocol.md, "Channels"):
 *
 *   { "version": 1, "session": "<32 hex digits>", "self": 0,
 *     "parties": [ { "index": 0, "address": "tcp:10.0.0.1:7400",
 *                    "cert": "p0.pem", "key": "p0.key" },
 *                  { "index": 1, "address": "unix:/run/mimir/p1.sock", "cert": "p1.pem",
 *                    "sha256": "<64 hex digits>" }, ... ],
 *     "connect_timeout_ms": 30000, "peer_timeout_ms": 30000, "max_frame_bytes": 268435456,
 *     "attestation": { "policy": "policy.json", "at": "2026-06-01T00:00:00Z",
 *                      "require": true } }
 *
 * Every party has an address ("tcp:HOST:PORT", "tcp:[V6ADDR]:PORT" or "unix:PATH") and a pinned
 * certificate: "cert" (a PEM file, whose SHA-256 fingerprint over the DER encoding becomes the
 * pin) and/or "sha256" (the pin itself; if both are given they must agree). The local party
 * needs "cert" and "key" (a PEM private key). "self" may be left out when the caller names the
 * local party. The three timing/size fields are optional (0 = use the defaults of lib/net.h).
 * Relative paths are relative to the directory of the cluster file.
 *
 * The client section is optional (lib/client.h, docs/protocol.md "Client channel"): a party may
 * carry "client_address" (where it listens for the client, same syntax as "address"), and the
 * top-level "client": {"cert": FILE, "sha256": HEX, "key": FILE} pins the client's certificate
 * ("cert" and/or "sha256", as for a party; "key" is read only by the client itself, i.e. when
 * the file is loaded with self = MIMIR_CLUSTER_CLIENT). A party that serves a client needs both.
 *
 * "attestation" is optional: when present, every peer's certificate must carry attestation
 * evidence that passes the policy file "policy" (lib/attest/admit.h, docs/attestation.md).
 * "at" (optional, RFC 3339) fixes the verification time, for tests and reproducible runs;
 * "require" (optional, default true) false admits a peer whose certificate has no evidence at
 * all. Its keys are parsed as strictly as the rest; the policy itself is read by admit.h.
 *
 * The parser is strict: unknown keys, duplicate keys, wrong types, out-of-range values, a
 * missing party or a certificate that does not match its pin are refused with MIMIR_EINPUT
 * naming the file and the field. It only describes the cluster; lib/net.h connects it.
 *
 * mimir_cluster_gencert() makes a fresh ECDSA P-256 self-signed certificate and key, for local
 * runs and tests (the key file is written atomically with mode 0600).
 */
#ifndef MIMIR_CLUSTER_H
#define MIMIR_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_CLUSTER_PARTIES 3          /* parties in a cluster */
#define MIMIR_SESSION_BYTES 16           /* session id */
#define MIMIR_FPR_BYTES 32               /* SHA-256 certificate fingerprint */
#define MIMIR_FPR_HEXBYTES 65            /* hex fingerprint with its NUL */
#define MIMIR_CLUSTER_MAX_FILE (1 << 20) /* largest cluster file accepted */
#define MIMIR_CLUSTER_MAX_CERT (1 << 16) /* largest PEM certificate or key file accepted */
#define MIMIR_CLUSTER_MAX_TIMEOUT_MS 86400000u /* one day */
#define MIMIR_CLUSTER_CLIENT (-2)        /* self for the client: no local party, client key */

enum mimir_addr_kind { MIMIR_ADDR_TCP = 1, MIMIR_ADDR_UNIX = 2 };

typedef struct mimir_cluster_party {
    char *address;            /* as written: "tcp:HOST:PORT" or "unix:PATH" */
    int kind;                 /* enum mimir_addr_kind */
    char *host;               /* TCP: host name or address, without brackets */
    uint16_t port;            /* TCP: port */
    char *path;               /* Unix: socket path */
    char *cert_path;          /* PEM certificate, NULL if only pinned by "sha256" */
    char *key_path;           /* PEM private key, NULL except for the local party */
    uint8_t fpr[MIMIR_FPR_BYTES]; /* pinned SHA-256 fingerprint of the DER certificate */
} mimir_cluster_party;

typedef struct mimir_cluster {
    char *path;                                   /* the cluster file, for messages */
    uint32_t version;                             /* protocol version of the run */
    uint8_t session[MIMIR_SESSION_BYTES];         /* session id */
    int self;                                     /* index of the local party */
    mimir_cluster_party party[MIMIR_CLUSTER_PARTIES];
    uint32_t connect_timeout_ms;                  /* 0 = default */
    uint32_t peer_timeout_ms;                     /* 0 = default */
    uint64_t max_frame_bytes;                     /* 0 = default */
    char *attest_policy_path;  /* "attestation.policy" resolved; NULL = no attestation section */
    char *attest_at;           /* "attestation.at" as written (RFC 3339), NULL = now */
    int attest_require;        /* "attestation.require" (default 1); 0 without the section */
    /* Client section (all zero/NULL when absent). client_at[i] is party i's "client_address"
     * (address fields only; address NULL = none); client holds the client's pin (fpr), its
     * "cert" and, when self is MIMIR_CLUSTER_CLIENT, its "key". */
    mimir_cluster_party client_at[MIMIR_CLUSTER_PARTIES];
    int has_client;            /* the "client" section is present */
    mimir_cluster_party client;
} mimir_cluster;

/* Loads the cluster file at path. self is the local party (0..2), -1 to take it from the
 * file's "self", or MIMIR_CLUSTER_CLIENT for the client (no local party; the "client" section
 * with "cert" and "key" and every party's "client_address" are then required). MIMIR_EINPUT
 * on any bad field, MIMIR_ERUNTIME on I/O errors. */
int mimir_cluster_load(const char *path, int self, mimir_cluster **out, mimir_err *err);

/* Parses a cluster file held in memory; name is used in messages and basedir resolves relative
 * paths (NULL = current directory). */
int mimir_cluster_parse(const char *json, size_t len, const char *name, const char *basedir,
                        int self, mimir_cluster **out, mimir_err *err);

void mimir_cluster_free(mimir_cluster *c);

/* SHA-256 fingerprint of the (single) PEM certificate in file path. MIMIR_EINPUT if it does not
 * hold exactly one certificate. */
int mimir_cluster_cert_fpr(const char *path, uint8_t fpr[MIMIR_FPR_BYTES], mimir_err *err);

/* Lower-case hex of a fingerprint into out (MIMIR_FPR_HEXBYTES bytes). */
void mimir_cluster_fpr_hex(const uint8_t fpr[MIMIR_FPR_BYTES], char out[MIMIR_FPR_HEXBYTES]);

/* Writes a new ECDSA P-256 key (PKCS#8 PEM, mode 0600) to key_path and a self-signed X.509 v3
 * certificate for it (subject CN = cn, valid from one hour ago for days days) to cert_path,
 * both atomically. */
/* A TCP port on 127.0.0.1 that was free a moment ago (for local clusters and tests), or -1. */
int mimir_cluster_free_port(void);

int mimir_cluster_gencert(const char *cert_path, const char *key_path, const char *cn, int days,
                          mimir_err *err);

#endif
