/*
 * coin.c — commit-then-reveal coin toss and pairwise seeds over lib/net.h (see coin.h).
 */
#include "coin.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "mem.h"
#include "sha256.h"

#define COMMIT_TAG "mimir-coin-commit-v1"
#define JOINT_TAG "mimir-coin-v1"
#define LOCAL_PERS "mimir-coin-local-v1"
#define FIELD "coin toss"
#define S MIMIR_COIN_SEED_BYTES
#define NB MIMIR_COIN_NONCE_BYTES
#define CB MIMIR_COIN_COMMIT_BYTES
#define OPEN_BYTES (S + NB + CB) /* round 2 message: seed, nonce, echoed commitment */

struct mimir_coin {
    int self;
    uint8_t joint[S];
    mimir_drbg pub;     /* public stream over the joint seed */
    mimir_drbg pw_self; /* over k_self (shared with party self-1) */
    mimir_drbg pw_next; /* over k_next (shared with party self+1) */
};

/* Everything secret a toss handles, in one guarded allocation. */
typedef struct toss_state {
    uint8_t local[S + NB + S];      /* fixed-seed expansion: s, n, k_next */
    uint8_t s[2][S], n[2][NB];      /* own seed and nonce: [0] for prev, [1] for next (the same
                                     * unless equivocating) */
    uint8_t c[2][CB];               /* own commitments as sent to prev [0] and next [1] */
    uint8_t k_self[S], k_next[S];
    uint8_t r1_next[CB + S];        /* round 1 to next: c || k_next */
    uint8_t r1_from_prev[CB + S];   /* round 1 from prev: c_prev || k_self */
    uint8_t r1_from_next[CB];       /* round 1 from next: c_next */
    uint8_t r2_send[2][OPEN_BYTES]; /* round 2 to prev [0], next [1] */
    uint8_t r2_recv[2][OPEN_BYTES]; /* round 2 from prev [0], next [1] */
    uint8_t check[CB];
    mimir_drbg local_drbg;
} toss_state;

static void commit(uint8_t out[CB], const uint8_t *session, int party, const uint8_t *s,
                   const uint8_t *n)
{
    mimir_sha256_state h;
    uint8_t idx[4] = {0, 0, 0, (uint8_t)party};
    mimir_sha256_init(&h);
    mimir_sha256_update(&h, (const uint8_t *)COMMIT_TAG, sizeof COMMIT_TAG - 1);
    mimir_sha256_update(&h, session, MIMIR_SESSION_BYTES);
    mimir_sha256_update(&h, idx, sizeof idx);
    mimir_sha256_update(&h, s, S);
    mimir_sha256_update(&h, n, NB);
    mimir_sha256_final(&h, out);
}

void mimir_coin_free(mimir_coin *c)
{
    if (c == NULL)
        return;
    mimir_drbg_wipe(&c->pub);
    mimir_drbg_wipe(&c->pw_self);
    mimir_drbg_wipe(&c->pw_next);
    mimir_key_free(c); /* sodium_free wipes */
}

/* A failed check: names the party, tells the peers, MIMIR_ESECURITY. */
static int fail(mimir_net *net, mimir_err *err, int party, const char *msg)
{
    char file[32];
    snprintf(file, sizeof file, "party %d", party);
    mimir_err_set(err, MIMIR_ESECURITY, file, FIELD, "%s", msg);
    mimir_net_abort(net, err);
    return MIMIR_ESECURITY;
}

/* Draws s, n, k_next (OS or fixed seed) and builds the commitments; returns 0 or an error. */
static int draw(toss_state *t, int self, const uint8_t *session, const mimir_coin_opts *o,
                mimir_err *err)
{
    if (o->fixed_seed != NULL) {
        /* entropy: the fixed seed; nonce: session || u32_be(party), so that one seed given to
         * all three parties, or reused in another session, still gives distinct values */
        uint8_t nonce[MIMIR_SESSION_BYTES + 4];
        memcpy(nonce, session, MIMIR_SESSION_BYTES);
        nonce[MIMIR_SESSION_BYTES] = nonce[MIMIR_SESSION_BYTES + 1] = 0;
        nonce[MIMIR_SESSION_BYTES + 2] = 0;
        nonce[MIMIR_SESSION_BYTES + 3] = (uint8_t)self;
        int rc = mimir_drbg_instantiate(&t->local_drbg, o->fixed_seed, S, nonce, sizeof nonce,
                                        (const uint8_t *)LOCAL_PERS, sizeof LOCAL_PERS - 1);
        if (rc == MIMIR_OK)
            rc = mimir_drbg_fill(&t->local_drbg, t->local, sizeof t->local);
        mimir_drbg_wipe(&t->local_drbg);
        if (rc != MIMIR_OK)
            return mimir_err_set(err, rc, NULL, FIELD, "cannot expand the fixed seed");
    } else {
        randombytes_buf(t->local, sizeof t->local);
    }
    for (int d = 0; d < 2; d++) {
        memcpy(t->s[d], t->local, S);
        memcpy(t->n[d], t->local + S, NB);
    }
    memcpy(t->k_next, t->local + S + NB, S);
    if (o->test_fault == MIMIR_COIN_FAULT_EQUIVOCATE)
        t->s[0][0] ^= 1; /* prev gets another (correctly opened) seed than next */
    for (int d = 0; d < 2; d++)
        commit(t->c[d], session, self, t->s[d], t->n[d]);
    if (o->test_fault == MIMIR_COIN_FAULT_BAD_OPENING)
        for (int d = 0; d < 2; d++)
            t->s[d][0] ^= 1; /* committed to s, opens s ^ 1 */
    return MIMIR_OK;
}

static int toss(mimir_net *net, const mimir_coin_opts *o, mimir_coin *c, toss_state *t,
                mimir_err *err)
{
    int self = mimir_net_self(net);
    int prev = mimir_net_prev(self), next = mimir_net_next(self);
    const uint8_t *session = mimir_net_session(net);
    int rc = draw(t, self, session, o, err);
    if (rc != MIMIR_OK)
        return rc;

    /* round 1: commitments to both, and k_next to next */
    memcpy(t->r1_next, t->c[1], CB);
    memcpy(t->r1_next + CB, t->k_next, S);
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    io[prev] = (mimir_net_io){1, t->c[0], CB, 1, t->r1_from_prev, sizeof t->r1_from_prev};
    io[next] = (mimir_net_io){1, t->r1_next, sizeof t->r1_next, 1, t->r1_from_next, CB};
    rc = mimir_net_exchange(net, io, err);
    if (rc != MIMIR_OK)
        return rc;
    memcpy(t->k_self, t->r1_from_prev + CB, S);

    /* round 2: openings, and the echo of the third party's commitment */
    memcpy(t->r2_send[0], t->s[0], S);
    memcpy(t->r2_send[0] + S, t->n[0], NB);
    memcpy(t->r2_send[0] + S + NB, t->r1_from_next, CB); /* prev's third party is next */
    memcpy(t->r2_send[1], t->s[1], S);
    memcpy(t->r2_send[1] + S, t->n[1], NB);
    memcpy(t->r2_send[1] + S + NB, t->r1_from_prev, CB); /* next's third party is prev */
    memset(io, 0, sizeof io);
    io[prev] = (mimir_net_io){1, t->r2_send[0], OPEN_BYTES, 1, t->r2_recv[0], OPEN_BYTES};
    io[next] = (mimir_net_io){1, t->r2_send[1], OPEN_BYTES, 1, t->r2_recv[1], OPEN_BYTES};
    rc = mimir_net_exchange(net, io, err);
    if (rc != MIMIR_OK)
        return rc;

    /* checks, in ascending party order so that every honest party reports alike */
    int peers[2] = {prev, next};
    const uint8_t *got_c[2] = {t->r1_from_prev, t->r1_from_next};
    int lo = prev < next ? 0 : 1;
    char msg[200];
    for (int k = 0; k < 2; k++) {
        int d = k == 0 ? lo : 1 - lo;
        commit(t->check, session, peers[d], t->r2_recv[d], t->r2_recv[d] + S);
        if (sodium_memcmp(t->check, got_c[d], CB) != 0) {
            snprintf(msg, sizeof msg, "party %d's opening does not match its commitment",
                     peers[d]);
            return fail(net, err, peers[d], msg);
        }
    }
    for (int k = 0; k < 2; k++) {
        int d = k == 0 ? lo : 1 - lo;
        /* peer d echoes the commitment it got from the other peer, 1 - d */
        if (sodium_memcmp(t->r2_recv[d] + S + NB, got_c[1 - d], CB) != 0) {
            snprintf(msg, sizeof msg,
                     "party %d reports another commitment from party %d than we received (one "
                     "of them sent different commitments to its peers)",
                     peers[d], peers[1 - d]);
            return fail(net, err, peers[d], msg);
        }
    }

    /* joint seed over s_0, s_1, s_2 in party order */
    const uint8_t *seeds[MIMIR_NET_PARTIES];
    seeds[self] = t->s[1];
    seeds[prev] = t->r2_recv[0];
    seeds[next] = t->r2_recv[1];
    mimir_sha256_state h;
    mimir_sha256_init(&h);
    mimir_sha256_update(&h, (const uint8_t *)JOINT_TAG, sizeof JOINT_TAG - 1);
    mimir_sha256_update(&h, session, MIMIR_SESSION_BYTES);
    for (int p = 0; p < MIMIR_NET_PARTIES; p++)
        mimir_sha256_update(&h, seeds[p], S);
    mimir_sha256_final(&h, c->joint);

    c->self = self;
    rc = mimir_drbg_from_seed(&c->pub, c->joint, S, MIMIR_COIN_PUBLIC_LABEL);
    if (rc == MIMIR_OK)
        rc = mimir_drbg_from_seed(&c->pw_self, t->k_self, S, MIMIR_COIN_PAIRWISE_LABEL);
    if (rc == MIMIR_OK)
        rc = mimir_drbg_from_seed(&c->pw_next, t->k_next, S, MIMIR_COIN_PAIRWISE_LABEL);
    if (rc != MIMIR_OK)
        return mimir_err_set(err, rc, NULL, FIELD, "cannot seed the coin streams");
    return MIMIR_OK;
}

int mimir_coin_toss(mimir_net *net, const mimir_coin_opts *opts, mimir_coin **out,
                    mimir_err *err)
{
    if (out != NULL)
        *out = NULL;
    if (net == NULL || out == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, FIELD, "no net or no output, expected both");
    mimir_coin_opts o;
    memset(&o, 0, sizeof o);
    if (opts != NULL)
        o = *opts;
    if (mimir_mem_init() != 0)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, FIELD, "cannot initialise libsodium");
    mimir_coin *c = mimir_key_alloc(sizeof *c);
    toss_state *t = mimir_key_alloc(sizeof *t);
    if (c == NULL || t == NULL) {
        mimir_key_free(c);
        mimir_key_free(t);
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, FIELD, "out of locked memory");
    }
    memset(c, 0, sizeof *c);
    memset(t, 0, sizeof *t);
    int rc = toss(net, &o, c, t, err);
    mimir_key_free(t); /* sodium_free wipes */
    if (rc != MIMIR_OK) {
        mimir_coin_free(c);
        return rc;
    }
    *out = c;
    return MIMIR_OK;
}

const uint8_t *mimir_coin_joint_seed(const mimir_coin *c)
{
    return c->joint;
}

int mimir_coin_public_drbg(const mimir_coin *c, const char *label, mimir_drbg *out,
                           mimir_err *err)
{
    int rc = mimir_drbg_from_seed(out, c->joint, S, label);
    if (rc != MIMIR_OK)
        return mimir_err_set(err, rc, NULL, "label",
                             "cannot derive a public DRBG, expected a non-empty label of at most "
                             "%d bytes", MIMIR_DRBG_MAX_LABEL);
    return MIMIR_OK;
}

static int fill(mimir_drbg *d, void *out, size_t n, size_t width, mimir_err *err)
{
    size_t bytes;
    if (mimir_size_mul(n, width, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many elements (%zu)", n);
    int rc = mimir_drbg_fill(d, out, bytes);
    if (rc != MIMIR_OK)
        return mimir_err_set(err, rc, NULL, FIELD, "the coin stream cannot generate");
    return MIMIR_OK;
}

/* In place: little-endian bytes to words (a no-op copy on little-endian machines). */
static void le64(mimir_r64 *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = (const uint8_t *)&x[i];
        mimir_r64 v = 0;
        for (int j = 7; j >= 0; j--)
            v = v << 8 | b[j];
        x[i] = v;
    }
}

static void le128(mimir_r128 *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t *b = (const uint8_t *)&x[i];
        mimir_r128 v = 0;
        for (int j = 15; j >= 0; j--)
            v = v << 8 | b[j];
        x[i] = v;
    }
}

int mimir_coin_public_bytes(mimir_coin *c, uint8_t *out, size_t n, mimir_err *err)
{
    return fill(&c->pub, out, n, 1, err);
}

int mimir_coin_public_r64(mimir_coin *c, mimir_r64 *out, size_t n, mimir_err *err)
{
    int rc = fill(&c->pub, out, n, sizeof *out, err);
    if (rc == MIMIR_OK)
        le64(out, n);
    return rc;
}

int mimir_coin_public_r128(mimir_coin *c, mimir_r128 *out, size_t n, mimir_err *err)
{
    int rc = fill(&c->pub, out, n, sizeof *out, err);
    if (rc == MIMIR_OK)
        le128(out, n);
    return rc;
}

int mimir_coin_rand_r64(mimir_coin *c, mimir_r64 *x_self, mimir_r64 *x_next, size_t n,
                        mimir_err *err)
{
    int rc = fill(&c->pw_self, x_self, n, sizeof *x_self, err);
    if (rc == MIMIR_OK)
        rc = fill(&c->pw_next, x_next, n, sizeof *x_next, err);
    if (rc != MIMIR_OK)
        return rc;
    le64(x_self, n);
    le64(x_next, n);
    return MIMIR_OK;
}

int mimir_coin_rand_r128(mimir_coin *c, mimir_r128 *x_self, mimir_r128 *x_next, size_t n,
                         mimir_err *err)
{
    int rc = fill(&c->pw_self, x_self, n, sizeof *x_self, err);
    if (rc == MIMIR_OK)
        rc = fill(&c->pw_next, x_next, n, sizeof *x_next, err);
    if (rc != MIMIR_OK)
        return rc;
    le128(x_self, n);
    le128(x_next, n);
    return MIMIR_OK;
}

int mimir_coin_zero_r64(mimir_coin *c, mimir_r64 *alpha, size_t n, mimir_err *err)
{
    size_t bytes;
    if (mimir_size_mul(n, sizeof *alpha, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many elements (%zu)", n);
    mimir_r64 *tmp = mimir_secret_alloc(bytes ? bytes : 1);
    if (tmp == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, FIELD, "out of memory");
    int rc = mimir_coin_rand_r64(c, alpha, tmp, n, err);
    if (rc == MIMIR_OK)
        mimir_r64_sub(alpha, alpha, tmp, n);
    mimir_secret_free(tmp);
    return rc;
}

int mimir_coin_zero_r128(mimir_coin *c, mimir_r128 *alpha, size_t n, mimir_err *err)
{
    size_t bytes;
    if (mimir_size_mul(n, sizeof *alpha, &bytes) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, "n", "too many elements (%zu)", n);
    mimir_r128 *tmp = mimir_secret_alloc(bytes ? bytes : 1);
    if (tmp == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, FIELD, "out of memory");
    int rc = mimir_coin_rand_r128(c, alpha, tmp, n, err);
    if (rc == MIMIR_OK)
        mimir_r128_sub(alpha, alpha, tmp, n);
    mimir_secret_free(tmp);
    return rc;
}
