/*
 * coin.h — joint coin tossing and pairwise seeds among the three parties (docs/protocol.md,
 * "Where seeds come from").
 *
 * mimir_coin_toss() runs two rounds of lib/net.h. Round 1: every party i sends its peers the
 * commitment c_i = SHA-256("mimir-coin-commit-v1" || session || u32_be(i) || s_i || n_i) to a
 * fresh 32-byte seed s_i and 32-byte nonce n_i, and sends party i+1 (only) the pairwise seed
 * k_{i+1}, over their mutually authenticated TLS channel. Round 2: every party sends its peers
 * the opening (s_i, n_i) and an echo of the commitment it received from the third party. Each
 * party checks both openings against the commitments and both echoes against what it received
 * itself; any mismatch fails with MIMIR_ESECURITY naming the party ("party 2's opening does not
 * match its commitment"). The joint seed is SHA-256("mimir-coin-v1" || session || s_0 || s_1 ||
 * s_2): uniform as long as one party is honest, and the same at every honest party.
 *
 * Pairwise seeds: component j of a replicated sharing is held by parties j-1 and j, so party i
 * holds k_i (shared with party i-1, drawn by it) and k_{i+1} (shared with party i+1, drawn by
 * party i). Each seeds an HMAC-DRBG (label "coin-pairwise"); F(k) below is the next n elements of
 * that stream. Random replicated sharing: party i gets (r_i, r_{i+1}) = (F(k_i), F(k_{i+1}));
 * zero sharing: party i gets alpha_i = F(k_i) - F(k_{i+1}), and alpha_0 + alpha_1 + alpha_2 = 0.
 * Both holders of k_j draw from it in the same order, so every party must make the same
 * sequence of mimir_coin_rand_* / mimir_coin_zero_* calls with the same n (as the protocol does).
 * Ring elements are read from the stream as little-endian 8- or 16-byte words.
 * The pairwise streams stay HMAC-DRBG output (ARCHITECTURE.md: correlated randomness from the
 * DRBG over pairwise seeds), drawn with mimir_drbg_fill in 64 KiB requests; lib/drbg.c's HMAC
 * runs on precomputed SHA-256 key states (about 175 MB/s here), which bounds a weight load.
 *
 * Secrets: seeds, nonces and DRBG states live in mimir_key_alloc memory and are wiped by
 * mimir_coin_free; they never appear in error messages. Not thread-safe (one coin per net).
 */
#ifndef MIMIR_COIN_H
#define MIMIR_COIN_H

#include <stddef.h>
#include <stdint.h>

#include "drbg.h"
#include "err.h"
#include "net.h"
#include "ring.h"

#define MIMIR_COIN_SEED_BYTES 32      /* s_i, k_i, the joint seed, a fixed per-party seed */
#define MIMIR_COIN_NONCE_BYTES 32     /* n_i */
#define MIMIR_COIN_COMMIT_BYTES 32    /* c_i (SHA-256) */
#define MIMIR_COIN_ROUNDS 2           /* net rounds one toss spends */
#define MIMIR_COIN_PUBLIC_LABEL "coin-public"
#define MIMIR_COIN_PAIRWISE_LABEL "coin-pairwise"

/* Test faults (never set outside tests). */
enum mimir_coin_fault {
    MIMIR_COIN_FAULT_NONE = 0,
    MIMIR_COIN_FAULT_BAD_OPENING = 1, /* TEST FAULT: open a seed other than the committed one */
    MIMIR_COIN_FAULT_EQUIVOCATE = 2,  /* TEST FAULT: send party i+1 a different commitment
                                       * (and a matching opening) than party i-1 */
};

typedef struct mimir_coin_opts {
    /* NULL: s_i, n_i and k_{i+1} come from the OS (randombytes_buf). Otherwise
     * MIMIR_COIN_SEED_BYTES bytes, this party's fixed seed for a reproducible run: they are
     * the first 96 bytes of an HMAC-DRBG instantiated with entropy fixed_seed, nonce
     * session || u32_be(party) and personalisation "mimir-coin-local-v1" (so the same seed
     * at all parties, or in another session, still gives distinct values). A run with fixed
     * seeds is reproducible and its coins are only as secret as the seeds. */
    const uint8_t *fixed_seed;
    int test_fault; /* enum mimir_coin_fault; 0 in every real run */
} mimir_coin_opts;

typedef struct mimir_coin mimir_coin;

/* Runs the toss (MIMIR_COIN_ROUNDS rounds on net; all three parties call it at the same point).
 * On a failed check the net is aborted (peers are told why) and MIMIR_ESECURITY is returned;
 * net errors are passed on. opts may be NULL. */
int mimir_coin_toss(mimir_net *net, const mimir_coin_opts *opts, mimir_coin **out,
                    mimir_err *err);

/* Wipes and frees. NULL is a no-op. */
void mimir_coin_free(mimir_coin *c);

/* The joint seed (public after the toss), MIMIR_COIN_SEED_BYTES bytes. */
const uint8_t *mimir_coin_joint_seed(const mimir_coin *c);

/* A fresh DRBG over the joint seed for one purpose (mimir_drbg_from_seed with label), e.g. the
 * MAC-check coefficients of one check: the same at every party. */
int mimir_coin_public_drbg(const mimir_coin *c, const char *label, mimir_drbg *out,
                           mimir_err *err);

/* The next bytes / ring elements of the public stream (label MIMIR_COIN_PUBLIC_LABEL): the same
 * at every party that makes the same calls. */
int mimir_coin_public_bytes(mimir_coin *c, uint8_t *out, size_t n, mimir_err *err);
int mimir_coin_public_r64(mimir_coin *c, mimir_r64 *out, size_t n, mimir_err *err);
int mimir_coin_public_r128(mimir_coin *c, mimir_r128 *out, size_t n, mimir_err *err);

/* n elements of a random replicated sharing: party i gets x_self = r_i and x_next = r_{i+1}. */
int mimir_coin_rand_r64(mimir_coin *c, mimir_r64 *x_self, mimir_r64 *x_next, size_t n,
                        mimir_err *err);
int mimir_coin_rand_r128(mimir_coin *c, mimir_r128 *x_self, mimir_r128 *x_next, size_t n,
                         mimir_err *err);

/* n elements of a zero sharing (3-out-of-3 additive): party i gets alpha_i. */
int mimir_coin_zero_r64(mimir_coin *c, mimir_r64 *alpha, size_t n, mimir_err *err);
int mimir_coin_zero_r128(mimir_coin *c, mimir_r128 *alpha, size_t n, mimir_err *err);

#endif
