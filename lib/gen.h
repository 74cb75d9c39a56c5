/*
 * gen.h — distributed preprocessing: the three parties generate MAC'd replicated triples,
 * matrix triples, truncation pairs and edaBits together, with no trusted party
 * (docs/protocol.md, "Distributed generation"; `mimir-triples generate`).
 *
 * Sources: replicated multiplication with a zero-sharing reshare and triple verification by
 * sacrifice from Araki, Furukawa, Lindell, Nof, Ohara (CCS 2016) and Furukawa, Lindell, Nof,
 * Weinstein (Eurocrypt 2017; also its cut-and-bucket check of boolean triples); MACs in Z_2^(64+64) and the sacrifice's soundness over Z_2^k from
 * SPDZ2k (Cramer, Damgård, Escudero, Scholl, Xing, CRYPTO 2018); the replicated "SPDZ-wise"
 * setting from Dalskov, Escudero, Keller (PETS 2020); edaBits from Escudero, Ghosh, Keller,
 * Rachuri, Scholl (CRYPTO 2020).
 *
 * What it promises (one corrupted party of three, malicious with abort): every item a call
 * returns has passed its check before the call returns —
 *  - triples (a, b, c) and matrix triples (A, B, C): each is checked against a partner sharing
 *    B ((a', b, c') / (A', B, C')) with a public t in Z_2^64 from a coin toss run after the
 *    products are fixed: rho = open(t a - a'), then open(t c - c' - rho b) must be 0 in
 *    Z_2^128, MAC-checked (mimir_spdz_check). A product with an error e != 0 mod 2^64 passes
 *    with probability at most 2^-64 (docs/protocol.md). A failure is MIMIR_ESECURITY
 *    "sacrifice check failed: ...", the net is aborted and the generator refuses further work;
 *  - truncation pairs and edaBits: each bit is b0 XOR b1 XOR b2, b_j drawn from pairwise seed j
 *    and input as a replicated value whose two copies are cross-checked (so it is a bit), the
 *    XORs by Beaver products with triples verified in the same call; r = sum 2^i b_i + 2^64 u;
 *  - comparison masks: an edaBit whose bits are also kept as the replicated boolean sharing
 *    they are (component j = b^(j)), plus a daBit made the same way;
 *  - boolean triples: c by the replicated AND (Araki et al. 2016), then cut-and-bucket (Furukawa
 *    et al. 2017): C words opened, the rest shuffled into buckets of B by a joint coin, each
 *    bucket's first triple checked against the others; failure probability at most 2^-40 per
 *    batch (docs/protocol.md). A failure is MIMIR_ESECURITY "sacrifice check failed: ...".
 * Values (a, b, A, B, r's bits, u) come from ChaCha20 streams keyed by the coin's pairwise seeds;
 * MACs alpha * x are computed by replicated multiplication; the engine (lib/spdz.h) does the
 * opens and checks. All three parties make the same calls with the same sizes in the same order.
 */
#ifndef MIMIR_GEN_H
#define MIMIR_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "coin.h"
#include "err.h"
#include "net.h"
#include "prep.h"
#include "spdz.h"

#define MIMIR_GEN_SEED_BYTES 32                 /* opts.fixed_seed */
#define MIMIR_GEN_RESHARE_WORDS ((size_t)1 << 22) /* 128-bit words per reshare round (64 MiB) */
#define MIMIR_GEN_BITS_BATCH 2048               /* edaBits / truncation pairs per internal
                                                 * batch (bounds memory) */
#define MIMIR_GEN_WMASK_CHUNK ((size_t)1 << 20) /* weight-mask words per MAC round (16 MiB) */
#define MIMIR_GEN_TRIPLES_PER_BIT_ITEM 128      /* helper triples per edaBit / trunc pair */
#define MIMIR_GEN_TRIPLE_ROUNDS 10 /* rounds of one mimir_gen_triples / mimir_gen_matrix call:
                                    * 2 (products, MACs) + 2 (coin toss) + 2 (opens) + 4 (check) */
#define MIMIR_GEN_BTRIPLE_BATCH ((size_t)1 << 16) /* boolean triple words per internal batch
                                                   * (N buckets) */
#define MIMIR_GEN_BTRIPLE_MIN 128  /* a smaller batch is padded to this many buckets */
#define MIMIR_GEN_BTRIPLE_ROUNDS 6 /* rounds per internal batch: 1 (AND) + 2 (coin toss) +
                                    * 2 (opens) + 1 (copy check) */

#ifdef MIMIR_TEST_HOOKS
/* TEST FAULTS (test build only): the local party deviates at the at-th (0-based) event. */
enum mimir_gen_fault_kind {
    MIMIR_GEN_FAULT_NONE = 0,
    MIMIR_GEN_FAULT_TRIPLE_C, /* in triple batch #at (helper batches count), add 1 to the
                               * first word of its c reshare: c = a b + 1 */
    MIMIR_GEN_FAULT_MATRIX_C, /* in matrix triple #at, add 1 to the first word of its C
                               * reshare */
    MIMIR_GEN_FAULT_BIT,      /* in bit batch #at, flip its copy of its first pairwise bit */
    MIMIR_GEN_FAULT_WPAIR_C,  /* in weight-pair batch #at, add 1 to the first word of its C
                               * reshare */
    MIMIR_GEN_FAULT_WMASK_MAC,  /* in weight mask #at, add 1 to the first word it sends for
                                 * MAC component 0 (w_i, or party 1's d to both) */
    MIMIR_GEN_FAULT_WMASK_COPY, /* in weight mask #at, party 1 sends party 2 another d */
    MIMIR_GEN_FAULT_BTRIPLE_Z,  /* in boolean triple batch #at, flip bit 0 of the first word
                                 * of its AND reshare: c = a AND b XOR 1 in that word */
};
typedef struct mimir_gen_fault {
    int kind; /* enum mimir_gen_fault_kind */
    uint64_t at;
} mimir_gen_fault;
#endif

typedef struct mimir_gen_opts {
    /* NULL: the sacrifice coin tosses draw their seeds from the OS. Otherwise
     * MIMIR_GEN_SEED_BYTES bytes that make them reproducible (as lib/coin.h's fixed_seed). */
    const uint8_t *fixed_seed;
#ifdef MIMIR_TEST_HOOKS
    mimir_gen_fault fault;
#endif
} mimir_gen_opts;

/* Counters per enum mimir_prep_kind (index kind - 1), in elements as lib/pool.h counts them.
 * sacrificed: elements consumed to check the kind (partners a', c'; A', C'; for truncation
 * pairs and edaBits the helper triples and their partners, 2 * 128 per item; for weight pairs
 * the partners A', C'; none for weight masks; for boolean triples, in words, the opened words,
 * the B - 1 partners per bucket and any padding; for comparison masks the helper triples and
 * their partners of both bit batches, 2 * 128 per bit made: 64 per mask and one per daBit,
 * rounded up to 64 per batch). */
typedef struct mimir_gen_stats {
    uint64_t generated[MIMIR_PREP_KINDS];
    uint64_t sacrificed[MIMIR_PREP_KINDS];
    uint64_t failed[MIMIR_PREP_KINDS]; /* elements of batches whose sacrifice failed */
    uint64_t sacrifices;               /* sacrifice checks run */
} mimir_gen_stats;

typedef struct mimir_gen mimir_gen;

/* A generator on net with coin (both must outlive it). alpha: this party's MAC key components
 * (e.g. an existing pool's), or NULL to draw a fresh key with mimir_spdz_keygen. Draws its
 * pairwise stream keys from coin (no communication). opts may be NULL. */
int mimir_gen_new(mimir_net *net, mimir_coin *coin, const mimir_r128 alpha[2],
                  const mimir_gen_opts *opts, mimir_gen **out, mimir_err *err);
/* Wipes and frees. NULL is a no-op. */
void mimir_gen_free(mimir_gen *g);

/* The party's MAC key components (alpha_i, alpha_{i+1}). */
void mimir_gen_alpha(const mimir_gen *g, mimir_r128 alpha[2]);
void mimir_gen_get_stats(const mimir_gen *g, mimir_gen_stats *st);

/* n checked scalar triples (a, b, c allocated by the call, with MACs). MIMIR_GEN_TRIPLE_ROUNDS
 * rounds (more if n exceeds MIMIR_GEN_RESHARE_WORDS / 5). */
int mimir_gen_triples(mimir_gen *g, size_t n, mimir_sv *a, mimir_sv *b, mimir_sv *c,
                      mimir_err *err);
/* One checked matrix triple A (rows x inner), B (inner x cols), C = A B. MIMIR_GEN_TRIPLE_ROUNDS
 * rounds (more for matrices beyond MIMIR_GEN_RESHARE_WORDS words). */
int mimir_gen_matrix(mimir_gen *g, size_t rows, size_t inner, size_t cols, mimir_sv *a,
                     mimir_sv *b, mimir_sv *c, mimir_err *err);
/* n truncation pairs for f bits (1..63), as lib/prep.h defines them. */
int mimir_gen_trunc(mimir_gen *g, size_t n, unsigned f, mimir_sv *r, mimir_sv *r_hi,
                    mimir_sv *r_63, mimir_err *err);
/* n edaBits: r (n) and bits (n * MIMIR_PREP_EDABIT_BITS, lib/prep.h's layout). Per
 * MIMIR_GEN_BITS_BATCH items: a triple call, 1 input round, 1 MAC round, 2 products, a check
 * (18 rounds). */
int mimir_gen_edabits(mimir_gen *g, size_t n, mimir_sv *r, mimir_sv *bits, mimir_err *err);

/* n comparison masks (lib/prep.h): r, d MAC'd (n elements each), rb, db boolean (n words each;
 * db bits 1..63 zero in both components). Per MIMIR_GEN_BITS_BATCH masks: the edaBit batch
 * above for r and rb (its boolean components kept) and one for ceil(nb / 64) * 64 bits whose
 * first nb give d and db (36 rounds). */
int mimir_gen_cmasks(mimir_gen *g, size_t n, mimir_sv *r, mimir_bv *rb, mimir_sv *d,
                     mimir_bv *db, mimir_err *err);
/* n_words checked words of boolean triples a, b, c = a AND b (mimir_bv, allocated by the call).
 * Per MIMIR_GEN_BTRIPLE_BATCH words: MIMIR_GEN_BTRIPLE_ROUNDS rounds; a batch smaller than
 * MIMIR_GEN_BTRIPLE_MIN words is padded to it (the padding is sacrificed). */
int mimir_gen_btriples(mimir_gen *g, size_t n_words, mimir_bv *a, mimir_bv *b, mimir_bv *c,
                       mimir_err *err);
/* The bucket size B (and number of opened words, C = B) used for a batch of n buckets
 * (n >= MIMIR_GEN_BTRIPLE_MIN): the smallest of 4, 5, 6 whose cut-and-bucket bound is at most
 * 2^-40 (docs/protocol.md). */
unsigned mimir_gen_btriple_bucket(size_t n);

/* One checked weight mask B (inner x cols) in lib/prep.h's compact form, laid out exactly as
 * lib/dealer.h mimir_dealer_wmask3 lays it out: value components and MAC components 1 and 2
 * seeded (each seed drawn from the pairwise stream its two holders share), MAC component 0
 * explicit at parties 0 and 2 (alpha B minus the other two, by a replicated product with
 * alpha). out->id is a 64-bit value from the joint coin (the same at all three). Checked before
 * it returns: parties 0 and 2 compare their copies of MAC component 0 (SHA-256), then a random
 * linear combination of B's words, masked by a fresh MAC'd random value, is opened and
 * MAC-checked (SPDZ2k). 1 round per MIMIR_GEN_WMASK_CHUNK words + 1 + 1 + 2 + 1 + 4. */
int mimir_gen_wmask(mimir_gen *g, size_t inner, size_t cols, mimir_wmask *out, mimir_err *err);
/* count checked weight pairs bound to mask (this party's part, as mimir_gen_wmask or a pool
 * gives it), stacked: a holds count blocks of rows x inner (transposed: rows x cols), c the
 * count blocks of A B (rows x cols; transposed: A B^T, rows x inner). Each batch is checked
 * against partners (A', C' = A' B) on the same B: t from a fresh toss, rho = open(t A - A'),
 * open(t C - C' - rho B) = 0, MAC-checked (MIMIR_GEN_TRIPLE_ROUNDS rounds). */
int mimir_gen_wpairs(mimir_gen *g, const mimir_wmask *mask, size_t rows, int transposed,
                     size_t count, mimir_sv *a, mimir_sv *c, mimir_err *err);

/* A preprocessing source that generates what is asked on demand (valid while g lives). */
mimir_prep *mimir_gen_prep(mimir_gen *g);

#endif
