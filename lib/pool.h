/*
 * pool.h — a party's triple pool: its preprocessed items on disk, each usable once
 * (docs/formats.md, "Triple pools"; docs/protocol.md, "Preprocessing").
 *
 * A pool is a directory owned by one party of one session:
 *   pool.json        public header: format version, party, session id, macs, created-by
 *   alpha.key        the party's MAC key components (alpha_p, alpha_{p+1}), mode 0600, digested
 *   batch-NNNNNN.mtp append-only batch files: one item kind (and shape / f / mask) each, self-
 *                    describing (magic, version, kind, party, session, shape, count) and ending
 *                    in a SHA-256 digest; written atomically (temp, fsync, rename, dir fsync),
 *                    mode 0600
 *   cursor           how many items of each batch are consumed: advanced and fsynced BEFORE the
 *                    items are handed out, so a crash at any point can waste items but never
 *                    hands one out twice
 *   lock             flock()ed while a process has the pool open: a second opener is refused
 *   stats.json       generated / consumed / sacrificed / failed counters per kind
 *
 * Opening checks the header against the expected party and session (a pool of another party or
 * session is MIMIR_EINPUT naming the field) and the digests of alpha.key and of every batch when
 * it is first read. Items are handed out through a mimir_prep (lib/prep.h).
 */
#ifndef MIMIR_POOL_H
#define MIMIR_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "prep.h"
#include "ring.h"
#include "spdz.h"

#define MIMIR_POOL_VERSION 1
#define MIMIR_POOL_MAGIC "MIMIRTPL"

typedef struct mimir_pool mimir_pool;

/* Per-kind counters (index = enum mimir_prep_kind - 1), in elements: n for triples,
 * truncation pairs and edaBits, rows*inner + inner*cols + rows*cols for a matrix triple,
 * inner*cols per weight mask, rows*ain + rows*cout per weight pair (lib/prep.h); in words for
 * boolean triples and in items for comparison masks. */
typedef struct mimir_pool_status {
    int party;
    uint8_t session[16];
    int macs;
    uint64_t generated[MIMIR_PREP_KINDS];
    uint64_t consumed[MIMIR_PREP_KINDS];
    uint64_t remaining[MIMIR_PREP_KINDS];
    uint64_t sacrificed[MIMIR_PREP_KINDS];
    uint64_t failed[MIMIR_PREP_KINDS];
    uint64_t batches;
    char created_by[33]; /* pool.json's "created_by" ("dealer" or "parties") */
} mimir_pool_status;

/* Creates an empty pool directory dir (must not exist, or be empty) for party / session with
 * the party's MAC key components. created_by is recorded in pool.json ("dealer" documents that
 * a dealer knew every item; "parties" that the three parties generated them). */
int mimir_pool_create(const char *dir, int party, const uint8_t session[16],
                      const mimir_r128 alpha[2], int macs, const char *created_by,
                      mimir_err *err);

/* Opens (and locks) an existing pool for party / session (party -1 or session NULL: accept the
 * pool's own). Refuses a pool of another party or session, a held lock, a bad digest. */
int mimir_pool_open(const char *dir, int party, const uint8_t *session, mimir_pool **out,
                    mimir_err *err);
void mimir_pool_close(mimir_pool *p); /* unlocks, wipes, frees; NULL is a no-op */

int mimir_pool_party(const mimir_pool *p);
const uint8_t *mimir_pool_session(const mimir_pool *p);
int mimir_pool_macs(const mimir_pool *p);
void mimir_pool_alpha(const mimir_pool *p, mimir_r128 alpha[2]);

/* Appends one batch (atomically): n triples / one matrix triple / n truncation pairs. */
int mimir_pool_append_triples(mimir_pool *p, const mimir_sv *a, const mimir_sv *b,
                              const mimir_sv *c, mimir_err *err);
int mimir_pool_append_matrix(mimir_pool *p, size_t rows, size_t inner, size_t cols,
                             const mimir_sv *a, const mimir_sv *b, const mimir_sv *c,
                             mimir_err *err);
int mimir_pool_append_trunc(mimir_pool *p, unsigned f, const mimir_sv *r, const mimir_sv *r_hi,
                            const mimir_sv *r_63, mimir_err *err);
/* Appends n = r->n edaBits: r (n elements) and bits (64 n, lib/prep.h's layout). */
int mimir_pool_append_edabits(mimir_pool *p, const mimir_sv *r, const mimir_sv *bits,
                              mimir_err *err);

/* Appends n = a->n words of boolean triples (a, b, c: n words each). */
int mimir_pool_append_btriples(mimir_pool *p, const mimir_bv *a, const mimir_bv *b,
                               const mimir_bv *c, mimir_err *err);
/* Appends n = r->n comparison masks: r and d (n elements), rb and db (n words), lib/prep.h;
 * bits 1..63 of db must be 0 in both components (MIMIR_EINPUT field "db"). A pool that holds
 * any comparison mask batch (consumed or not) sets its source's binary flag (lib/prep.h): at
 * open, and after such an append. */
int mimir_pool_append_cmasks(mimir_pool *p, const mimir_sv *r, const mimir_bv *rb,
                             const mimir_sv *d, const mimir_bv *db, mimir_err *err);

/* Appends one weight mask (one batch): its id, shape, the party's seeds of its seeded
 * components and its explicit components (lib/prep.h mimir_wmask). The mask must carry MAC
 * components iff the pool does, and its id must be new to the pool (MIMIR_EINPUT field "id"). */
int mimir_pool_append_wmask(mimir_pool *p, const mimir_wmask *m, mimir_err *err);
/* count pairs bound to mask mask_id: a holds count * rows * ain elements and c count * rows
 * * cout (ain = transposed ? cols : inner, cout = transposed ? inner : cols) */
int mimir_pool_append_wpairs(mimir_pool *p, uint64_t mask_id, size_t inner, size_t cols,
                             size_t rows, int transposed, size_t count, const mimir_sv *a,
                             const mimir_sv *c, mimir_err *err);
/* (mimir_pool_append_wpairs: the mask mask_id, of shape inner x cols, must already be in the
 * pool, else MIMIR_EINPUT field "mask".) */

/* Records a sacrifice outcome in stats.json (count elements sacrificed or failed). */
int mimir_pool_record_sacrifice(mimir_pool *p, int kind, uint64_t sacrificed, uint64_t failed,
                                mimir_err *err);

/* How far a take reserves ahead: when a take goes beyond what the cursor on disk already counts
 * as consumed, the cursor is written (fsynced) counting up to `items` more items of that batch
 * (and at most MIMIR_POOL_RESERVE_BYTES of them: 43690 triples with MACs, 2016 edaBits),
 * so that a step's hundreds of small takes cost one cursor write now and then instead of one
 * each. Items reserved and never handed out are given back by mimir_pool_close (still under the
 * lock); a crash wastes them, never reuses them. 0: every take writes the cursor. */
#define MIMIR_POOL_RESERVE ((uint64_t)1 << 16)
#define MIMIR_POOL_RESERVE_BYTES ((uint64_t)8 << 20)
#define MIMIR_POOL_RESERVE_BINARY 8192 /* comparison masks and boolean triple words: at most */
void mimir_pool_set_reserve(mimir_pool *p, uint64_t items);

/* The preprocessing source over the pool (valid while p is open). Taking items advances and
 * makes sure the cursor on disk counts them first (reserving ahead: MIMIR_POOL_RESERVE).
 * Running out is MIMIR_EINPUT: "pool DIR: no truncation pairs left (needed 4096, have 100)".
 * Boolean triples (in words) and comparison masks are taken in order of batches, like
 * triples, and may span batches. Weight masks are handed out in order of batches (the next one
 * of the shape asked for); weight pairs match the given mask's id and shape, the rows and the
 * transposition, as matrix triples match shapes: a pair bound to another mask is never served
 * (MIMIR_EINPUT naming the pool and both mask ids). Its binary flag (lib/prep.h) is 1 iff the
 * pool holds a comparison mask batch. */
mimir_prep *mimir_pool_prep(mimir_pool *p);

/* Re-alignment after a crash (lib/pool_align.c does it with the peers at session start). The
 * three parties' pools hand out matching items only while their cursors agree; a party that
 * crashed has its reservations counted as consumed and is ahead, and an abort can leave the
 * parties a few takes apart. Every party sends its batches' states, and each skips every batch
 * to the largest consumed count of the three: items are only ever skipped (wasted), never
 * handed out twice. */
typedef struct mimir_pool_batch_state {
    uint32_t kind;     /* enum mimir_prep_kind */
    uint64_t count;    /* items in the batch */
    uint64_t consumed; /* items the cursor counts as used */
} mimir_pool_batch_state;
size_t mimir_pool_batches(const mimir_pool *p);
void mimir_pool_get_batch_state(const mimir_pool *p, size_t i, mimir_pool_batch_state *st);
/* Skips batch i to at least to[i] consumed items (n must be mimir_pool_batches(p); to[i] at
 * most the batch's count, MIMIR_EINPUT otherwise, nothing changed), writing the cursor once if
 * anything moved past what it counts; *skipped (may be NULL) gets the items skipped. */
int mimir_pool_skip_to(mimir_pool *p, const uint64_t *to, size_t n, uint64_t *skipped,
                       mimir_err *err);

int mimir_pool_get_status(mimir_pool *p, mimir_pool_status *st, mimir_err *err);
/* Status without taking the lock (for `mimir-triples status` while a party runs). */
int mimir_pool_peek_status(const char *dir, mimir_pool_status *st, mimir_err *err);

/* Checks, without taking the lock, the SHA-256 digest of every batch that still has items
 * (peek_status only checks headers and sizes). MIMIR_EINPUT naming the batch and "digest". */
int mimir_pool_verify(const char *dir, mimir_err *err);

/* The same check on an open pool: the digest of every batch with items left that this open
 * has not checked yet (a take checks a batch's digest at its first item otherwise). A session
 * calls it before its first step, so that hashing its items does not sit inside the steps;
 * *bytes (may be NULL) gets the bytes hashed. */
int mimir_pool_verify_open(mimir_pool *p, uint64_t *bytes, mimir_err *err);

/* Names of the kinds ("triple", "matrix", "trunc", "edabit", "wmask", "wpair", "btriple",
 * "cmask") by enum mimir_prep_kind; NULL if unknown. */
const char *mimir_pool_kind_name(int kind);

#ifdef MIMIR_TEST_HOOKS
/* TEST HOOK (test build only): called after the cursor has been advanced and fsynced and before
 * the items are read, so a test can kill the consumer exactly there. NULL: nothing. */
extern void (*mimir_pool_test_after_cursor)(void);
#endif

#endif
