/*
 * attest/broker.h — the key broker: releases a sealed bundle's key to attested parties only.
 *
 * The broker listens on tcp:HOST:PORT or unix:PATH and speaks TLS 1.3 only, with its own
 * certificate and key, and requires a client certificate. After the handshake (which proves the
 * client holds the certificate's private key) it verifies the client certificate as evidence
 * with mimir_attest_verify (attest/cert.h: the carried evidence, its binding to the certificate's
 * key) and applies the policy (attest/policy.h; simulated evidence passes only if the policy
 * sets allow_simulated). Then it answers with one line and closes:
 *
 *   "MIMIR-KEY-BROKER 1 admit <64 hex digits>\n"            the key, to an admitted client
 *   "MIMIR-KEY-BROKER 1 refuse\n" then "<check>: <detail>\n"  per failed check, never the key
 *
 * The checks are named as `mimir-attest verify` and peer admission name them (attest/attest.h):
 * "simulated", "cert_binding", "policy.nonce"...; evidence that cannot be verified at all is
 * "evidence: <why>".
 *
 * The client (mimir_broker_fetch) presents its attested certificate, pins the broker's
 * certificate by the SHA-256 of its DER encoding (checked before any answer is read), and reads
 * the answer. Connections are served one at a time, each bounded by MIMIR_BROKER_TIMEOUT_S.
 */
#ifndef MIMIR_ATTEST_BROKER_H
#define MIMIR_ATTEST_BROKER_H

#include <stddef.h>
#include <stdint.h>

#include "attest/policy.h"
#include "err.h"

#define MIMIR_BROKER_PROTO "MIMIR-KEY-BROKER 1"
#define MIMIR_BROKER_TIMEOUT_S 10
#define MIMIR_BROKER_MAX_ANSWER (16 * 1024)
#define MIMIR_BROKER_ADDR_BYTES 256
#define MIMIR_BROKER_REASON_BYTES 1024

typedef struct mimir_broker mimir_broker;

/* What happened on one connection, for the broker's log (never holds the key). */
typedef struct mimir_broker_event {
    int admitted;                               /* 1 = key released, 0 = refused */
    char peer[MIMIR_BROKER_ADDR_BYTES];         /* the client certificate's CN, or "?" */
    char reasons[MIMIR_BROKER_REASON_BYTES];    /* "check: detail; ..." when refused */
} mimir_broker_event;

/* Makes a broker listening on addr with TLS certificate cert and key keypem (PEM files),
 * admitting by pol (borrowed, must outlive the broker) and releasing key (copied into guarded
 * memory, MIMIR_SEAL_KEY_BYTES). */
int mimir_broker_new(const char *addr, const char *cert, const char *keypem,
                     const mimir_attest_policy *pol, const uint8_t *key, mimir_broker **out,
                     mimir_err *err);
/* Wipes the key, closes the socket (and removes a unix socket). NULL is a no-op. */
void mimir_broker_free(mimir_broker *b);

/* The bound address (tcp:HOST:PORT with the actual port) and the certificate pin (64 hex). */
const char *mimir_broker_address(const mimir_broker *b);
const char *mimir_broker_pin(const mimir_broker *b);

/* Accepts and serves one connection. MIMIR_OK when the client was answered (see ev->admitted);
 * otherwise the connection failed (TLS handshake, no client certificate, timeout) and err says
 * why; the broker stays usable either way. */
int mimir_broker_serve_one(mimir_broker *b, mimir_broker_event *ev, mimir_err *err);

/* Fetches the key from the broker at addr presenting cert/keypem, pinning the broker's
 * certificate to pin (64 hex digits, ':' separators allowed). MIMIR_ESECURITY if the pin does not
 * match or the broker refused (the failed checks in err->msg), MIMIR_EINPUT for bad arguments,
 * MIMIR_ERUNTIME for connection failures. key receives MIMIR_SEAL_KEY_BYTES. */
int mimir_broker_fetch(const char *addr, const char *cert, const char *keypem, const char *pin,
                       uint8_t *key, mimir_err *err);

/* Parses the broker's answer ans[0..len) (the client side of mimir_broker_fetch; ans has room
 * for len + 1 bytes and is modified). MIMIR_OK with the key in key for an admit line;
 * MIMIR_ESECURITY for a refusal (its "check: detail" lines joined in err->msg), a malformed key
 * or any other answer; MIMIR_ERUNTIME for an empty one (the broker closed without answering). */
int mimir_broker_parse_answer(char *ans, size_t len, const char *addr, uint8_t *key,
                              mimir_err *err);

#endif
