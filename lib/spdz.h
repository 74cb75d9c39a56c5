/*
 * spdz.h — MAC-checked arithmetic over 2-out-of-3 replicated shares: the online engine of a
 * compute party (docs/protocol.md, "MAC-checked arithmetic").
 *
 * The protocol is SPDZ2k (Cramer, Damgård, Escudero, Scholl, Xing, CRYPTO 2018) run over the
 * replicated sharing of lib/rss.h, as in the "SPDZ-wise" replicated protocols of Dalskov,
 * Escudero and Keller (PETS 2020, "Secure evaluation of quantized neural networks", section 3):
 * a value x lives in Z_2^k with k = 64 (MIMIR_SPDZ_K) and is shared as x~ in Z_2^(k+s), s = 64
 * (MIMIR_SPDZ_S), i.e. as 128-bit words, with x = x~ mod 2^64; its MAC is alpha * x~ mod 2^128,
 * also replicated-shared. The MAC key alpha is a random replicated sharing, never opened.
 * Party i holds, for every element, four words: x~_i, x~_{i+1}, m_i, m_{i+1} (a mimir_sv).
 *
 * What it promises (malicious security with abort, one corrupted party of three):
 *  - Every opened value is checked twice before anything depends on it being right: the other
 *    holder of every component that was sent in an open checks it by hash (deterministic, any
 *    bit of the 128-bit word), and a batched SPDZ2k MAC check with fresh joint coins catches any
 *    error mod 2^64 except with probability about 2^-(s - log2(s+1)) ~ 2^-57.
 *  - Opens are deferred-checked: mimir_spdz_check() must run (and succeed) before a value
 *    derived from opened values leaves the parties (mimir_spdz_output does it first).
 *  - A failed check aborts the net (peers are told which check) and returns MIMIR_ESECURITY
 *    naming the check and, where it can be known, the party; never a value.
 *  - Opened values are uniformly masked (x~ - a~ with a~ uniform in Z_2^128), so they reveal
 *    nothing; shares, MAC shares and alpha are secret buffers, wiped when freed.
 *
 * Every function that talks says how many rounds it spends; all three parties call the same
 * functions with the same sizes in the same order (the protocol is deterministic given sizes).
 * Preprocessed items come from a mimir_prep source (lib/prep.h), taken in call order; each is
 * used once.
 *
 * Semi-honest mode (opts.semi_honest) runs the same code with the MAC words absent: mimir_sv's
 * m[] are NULL, no MAC shares are computed, mimir_spdz_check still cross-checks replicated
 * copies but skips the MAC part. It exists for speed comparison only.
 */
#ifndef MIMIR_SPDZ_H
#define MIMIR_SPDZ_H

#include <stddef.h>
#include <stdint.h>

#include "coin.h"
#include "err.h"
#include "net.h"
#include "ring.h"

#define MIMIR_SPDZ_K 64                  /* bits of the value ring */
#define MIMIR_SPDZ_S 64                  /* statistical security bits of the MAC ring */
#define MIMIR_SPDZ_CHECK_ROUNDS 4        /* rounds one mimir_spdz_check spends (if anything is
                                          * pending; 0 otherwise) */
#define MIMIR_SPDZ_TRUNC_BOUND_BITS 62   /* mimir_spdz_trunc needs |x| < 2^62 (signed) */
#define MIMIR_SPDZ_MAX_PENDING ((size_t)1 << 26) /* elements one open may hold for its check */
#define MIMIR_SPDZ_CHECK_EVERY ((size_t)1 << 23) /* an open that would take the pending batch
                                          * beyond this many elements runs a check first
                                          * (the buffers: 256 MiB at most, bigger only for
                                          * one open that is bigger by itself) */
#define MIMIR_SPDZ_INPUT_CHUNK ((size_t)1 << 22) /* elements per input round (64 MiB of MAC
                                          * words): an input of n elements spends
                                          * ceil(n / chunk) rounds (at least 1) per stage */

/* A shared vector: party i's part of n values. x[0] = x~_i, x[1] = x~_{i+1}; m[0], m[1] the
 * same components of the MAC alpha * x~ (NULL in semi-honest mode). Matrices are row-major. */
typedef struct mimir_sv {
    size_t n;
    mimir_r128 *x[2];
    mimir_r128 *m[2];
    void *mem; /* one mimir_secret_alloc block holding all four arrays */
} mimir_sv;

/* A boolean replicated sharing of n 64-bit words (bit-sliced: bit j of word w is one secret
 * bit): x = x_0 XOR x_1 XOR x_2, party i holds x[0] = x_i and x[1] = x_{i+1}. No MAC words:
 * every component has two holders, and every open of one is compared with its other holder's
 * copy by the engine's keyed copy check (docs/protocol.md, "Comparisons in the binary
 * domain"). Both arrays live in one mimir_secret_alloc block (mem), wiped when freed. */
typedef struct mimir_bv {
    size_t n;
    uint64_t *x[2];
    void *mem;
} mimir_bv;

/* Allocates n zeroed words per component. n = 0 is allowed. */
int mimir_bv_alloc(mimir_bv *v, size_t n, mimir_err *err);
/* Wipes and frees; the struct is zeroed. NULL or a zeroed struct is a no-op. */
void mimir_bv_free(mimir_bv *v);

/* Allocates n zeroed elements (with MAC words unless macs is 0). n = 0 is allowed. */
int mimir_sv_alloc(mimir_sv *v, size_t n, int macs, mimir_err *err);
/* The same, not zeroed: for a caller that writes every word of every array before reading any
 * (mem.h mimir_secret_alloc_overwritten). */
int mimir_sv_alloc_overwritten(mimir_sv *v, size_t n, int macs, mimir_err *err);
/* Wipes and frees; the struct is zeroed. A zeroed struct is a no-op. */
void mimir_sv_free(mimir_sv *v);

typedef struct mimir_spdz mimir_spdz;
typedef struct mimir_prep mimir_prep;             /* lib/prep.h */
typedef struct mimir_transcript mimir_transcript; /* lib/transcript.h */

#ifdef MIMIR_TEST_HOOKS
/* TEST FAULTS, compiled only into the test build (make's build/test/, -DMIMIR_TEST_HOOKS): the
 * local party deviates at the at-th (0-based) occurrence of the event. Release binaries do not
 * contain this struct or the code that reads it. */
enum mimir_spdz_fault_kind {
    MIMIR_SPDZ_FAULT_NONE = 0,
    MIMIR_SPDZ_FAULT_OPEN_FLIP,  /* flip bit `bit` of the first word it sends in open #at */
    MIMIR_SPDZ_FAULT_COPY,       /* before open #at, add 1 to its copy of element 0 of its
                                  * second component: an inconsistent replicated copy */
    MIMIR_SPDZ_FAULT_MAC_VALUE,  /* in check #at, add 1 to its MAC check value t_i, committed
                                  * consistently: only the sum check can catch it */
    MIMIR_SPDZ_FAULT_MAC_COMMIT, /* in check #at, open another t_i than it committed */
    MIMIR_SPDZ_FAULT_INPUT_COPY, /* in input #at, send a wrong digest of its copies */
    MIMIR_SPDZ_FAULT_INPUT_MAC,  /* in input #at, add 1 to its first MAC reshare word: an
                                  * additive attack on the input MACs */
};
typedef struct mimir_spdz_fault {
    int kind;            /* enum mimir_spdz_fault_kind */
    uint64_t at;         /* which occurrence (0 = the first) */
    unsigned bit;        /* bit to flip, 0..127, where the kind flips one */
    int skip_copy_check; /* set on the HONEST parties: skip the replicated copy check, so a
                          * test can show that the MAC check alone catches a wrong open */
    size_t check_every;  /* set on EVERY party: MIMIR_SPDZ_CHECK_EVERY for this engine (0: the
                          * constant), so a test reaches the automatic check with small opens */
    int no_mask_cache;   /* 1: no weight mask is expanded (MIMIR_SPDZ_MASK_CACHE_BYTES = 0), so
                          * a small model's test runs the regenerating path */
} mimir_spdz_fault;
#endif

typedef struct mimir_spdz_opts {
    int semi_honest;              /* 1: no MACs (same code path, speed comparison only) */
    mimir_transcript *transcript; /* NULL: none. Receives open digests and check results. */
#ifdef MIMIR_TEST_HOOKS
    mimir_spdz_fault fault;       /* TEST FAULT */
#endif
} mimir_spdz_opts;

/* Counters for benchmarks and the step summary. */
typedef struct mimir_spdz_stats {
    uint64_t opens, opened_elements; /* open calls (rounds) and elements opened */
    uint64_t checks, checked_elements;
    uint64_t inputs, input_elements;
    uint64_t muls, mul_elements, matmuls, truncs, trunc_elements;
    uint64_t opened_words, ands, and_words; /* boolean words opened (counted in opens too);
                                             * mimir_spdz_and calls and words */
} mimir_spdz_stats;

/* A random replicated sharing of a MAC key: alpha[0] = alpha_i, alpha[1] = alpha_{i+1}, drawn
 * from the pairwise seeds (no communication; all three parties call it at the same point). */
int mimir_spdz_keygen(mimir_coin *coin, mimir_r128 alpha[2], mimir_err *err);

/* A new engine on net (which must stay open) with this party's MAC key components alpha (copied
 * into key memory; ignored in semi-honest mode), drawing correlated randomness from coin and
 * preprocessed items from prep (both must outlive the engine). opts may be NULL. */
int mimir_spdz_new(mimir_net *net, mimir_coin *coin, mimir_prep *prep, const mimir_r128 alpha[2],
                   const mimir_spdz_opts *opts, mimir_spdz **out, mimir_err *err);
/* Wipes and frees (pending unchecked opens are discarded). NULL is a no-op. */
void mimir_spdz_free(mimir_spdz *s);

/* PLAN MODE: an engine with no net and no coin that runs any protocol code unchanged (this
 * file's functions and everything built on them: lib/compare.h, lib/snl.h, lib/sgpt2.h) to
 * learn what it consumes. Every call checks its sizes and takes its preprocessed items from
 * prep exactly as a real run does; opens return zero words and count as rounds in the stats
 * (nothing is pending), checks and outputs are no-ops (outputs give zero components), inputs
 * allocate zeros, and no arithmetic is done (results are meaningless). Vectors may be hollow
 * (n set, word pointers NULL) wherever only the engine reads them (weights of a matmul, items of
 * a counting source, lib/prep.h mimir_prep_count_new). Acts as party 0. */
int mimir_spdz_new_plan(mimir_prep *prep, int semi_honest, mimir_spdz **out, mimir_err *err);
/* 1 for an engine made by mimir_spdz_new_plan. */
int mimir_spdz_plan_mode(const mimir_spdz *s);

int mimir_spdz_party(const mimir_spdz *s);
int mimir_spdz_macs(const mimir_spdz *s); /* 1 unless semi-honest */
/* The engine's preprocessing source (NULL if none), for protocols built on the engine that take
 * their own items, such as the edaBits of lib/compare.h. */
mimir_prep *mimir_spdz_prep(mimir_spdz *s);
void mimir_spdz_get_stats(const mimir_spdz *s, mimir_spdz_stats *st);

/* --- Inputs -------------------------------------------------------------------------------- */

/* Client input: the client split x (Z_2^64) into replicated components with lib/rss.h and gave
 * party i the pair (c[0], c[1]) = (x_i, x_{i+1}) (n words each). The parties zero-extend the
 * components to Z_2^128, cross-check every replicated copy by hash (party i sends its peers
 * SHA-256 of the copies they also hold) and compute the MACs alpha * x~ by one replicated
 * multiplication with a zero-sharing reshare. 1 round. A copy mismatch is MIMIR_ESECURITY:
 * "input: inconsistent replicated copies: component x1 of party 0 and party 1 differ". An
 * additive error on a MAC is caught by the next check that covers an open of a value derived
 * from x. out is allocated by the call. */
int mimir_spdz_input_shares(mimir_spdz *s, const mimir_r64 *const c[2], size_t n, mimir_sv *out,
                            mimir_err *err);

/* Party input: party owner knows x (n values in Z_2^64; others pass NULL). Components x~_owner
 * and x~_{owner+1} come from the pairwise seeds the owner shares with its neighbours; the owner
 * sends the third, x - x~_o - x~_{o+1}, to both of its holders (round 1), then the input is
 * cross-checked and MAC'd as in mimir_spdz_input_shares (round 2). 2 rounds. */
int mimir_spdz_input_party(mimir_spdz *s, int owner, const mimir_r64 *x, size_t n,
                           mimir_sv *out, mimir_err *err);

/* --- Local linear operations (no communication) ------------------------------------------- */
/* out may alias a or b. Sizes must agree (MIMIR_EINPUT otherwise). */
int mimir_spdz_add(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err);
int mimir_spdz_sub(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err);
/* out = a + c for public c (n words): the holders of component 0 add c to it; every MAC
 * component j adds alpha_j * c. */
int mimir_spdz_add_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_r128 *c,
                          mimir_err *err);
/* out = c * a for a public scalar c. */
int mimir_spdz_scale(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, mimir_r128 c,
                     mimir_err *err);
/* out = c .* a for public c (n words, elementwise). */
int mimir_spdz_mul_public(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_r128 *c,
                          mimir_err *err);
/* out (rows x cols) = P (rows x inner, public) * a (inner x cols); or a * P with a on the left
 * (mimir_spdz_matmul_public_right: out = a (rows x inner) * P (inner x cols)). */
int mimir_spdz_matmul_public_left(mimir_spdz *s, mimir_sv *out, const mimir_r128 *P,
                                  const mimir_sv *a, size_t rows, size_t inner, size_t cols,
                                  mimir_err *err);
int mimir_spdz_matmul_public_right(mimir_spdz *s, mimir_sv *out, const mimir_sv *a,
                                   const mimir_r128 *P, size_t rows, size_t inner, size_t cols,
                                   mimir_err *err);

/* --- Opening and checking ----------------------------------------------------------------- */

/* Opens the values of the nv vectors v[0..nv) in one round: party i sends its first component
 * of every element to party i+1 (the party lacking it) and records its second component for
 * the copy check. out[j] receives v[j]->n words: the opened x~ mod 2^128 (reduce mod 2^64 for
 * the value). The values are NOT yet checked: they join the pending batch of the next
 * mimir_spdz_check. 1 round. */
int mimir_spdz_open(mimir_spdz *s, size_t nv, const mimir_sv *const *v, mimir_r128 *const *out,
                    mimir_err *err);

/* Boolean words (mimir_bv, docs/protocol.md "Comparisons in the binary domain"): opens v's n
 * words in one round, as mimir_spdz_open does (party i sends x_i to next), out = x_0 ^ x_1 ^ x_2.
 * The words join the copy check of the next mimir_spdz_check (they have no MACs: every
 * component has two holders, and the check compares what was sent with the other holder's
 * copy); a check over boolean opens alone is its copy round only (1 round). */
int mimir_spdz_open_bits(mimir_spdz *s, const mimir_bv *v, uint64_t *out, mimir_err *err);
/* out = a AND b bitwise (n words each; out may alias a or b) by n boolean triples of the
 * source (Beaver over GF(2): d = a ^ t.a and e = b ^ t.b opened together, 1 round). */
int mimir_spdz_and(mimir_spdz *s, mimir_bv *out, const mimir_bv *a, const mimir_bv *b,
                   mimir_err *err);

/* Checks every open since the last check (MIMIR_SPDZ_CHECK_ROUNDS rounds, or none if nothing
 * is pending; only round 1's copy comparison if only boolean words were opened):
 *  round 1: commitments to fresh coin seeds (as lib/coin.h), plus the SHA-256 of the second
 *           components this party held of every pending open, sent to the party that
 *           received those components from the other holder;
 *  round 2: coin openings and echoes; the joint coins give chi_j in Z_2^s;
 *  round 3: commitment to t_i = z_i + zeta_i, where z = sum_j chi_j (m_j - alpha y_j) and zeta
 *           a fresh zero-sharing;
 *  round 4: t_i and its nonce; everyone checks the commitments and that t_0 + t_1 + t_2 = 0.
 * Failures (MIMIR_ESECURITY, net aborted): "replicated copy check: component x2 as opened by
 * party 2 differs from party 1's copy", "MAC check: party 1's value does not match its
 * commitment", "MAC check failed: the opened values are inconsistent with their MACs". */
int mimir_spdz_check(mimir_spdz *s, mimir_err *err);

/* Output to a client: runs mimir_spdz_check, then gives this party's components of v reduced
 * mod 2^64 and re-randomised with a replicated sharing of zero derived from the public coin
 * stream (label "output-rerandomize"; unknown to the client): c[0] = x_i, c[1] = x_{i+1},
 * n words each, ready for a share file that the client joins with lib/rss.h (which cross-checks
 * every component's two copies, so one party cannot change the output). 0 rounds + check. */
int mimir_spdz_output(mimir_spdz *s, const mimir_sv *v, mimir_r64 *const c[2], mimir_err *err);

/* --- Multiplication (Beaver, preprocessed) ------------------------------------------------ */

/* out = a .* b elementwise (n each) with n triples from prep: d = open(a - t.a), e = open(b -
 * t.b), out = t.c + d t.b + e t.a + d e. 1 round. Fixed-point products need mimir_spdz_trunc
 * after. out may alias a or b. */
int mimir_spdz_mul(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                   mimir_err *err);

/* out (rows x cols) = a (rows x inner) * b (inner x cols) with one matrix triple of that shape
 * from prep: D = open(a - A), E = open(b - B), out = C + D B + A E + D E. 1 round. */
int mimir_spdz_matmul(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, const mimir_sv *b,
                      size_t rows, size_t inner, size_t cols, mimir_err *err);

/* Probabilistic truncation by f bits (Escudero, Ghosh, Keller, Rachuri, Scholl, CRYPTO 2020,
 * section 5.1, with the ABY3 truncation pair): for signed values |x| < 2^62, out =
 * floor(x / 2^f) + u with u in {0, 1} (u = 1 with probability (x mod 2^f) / 2^f); no large
 * error. Uses n truncation pairs (r, r_hi = (r mod 2^63) >> f, r_63) from prep. 1 round.
 * out may alias a. */
int mimir_spdz_trunc(mimir_spdz *s, mimir_sv *out, const mimir_sv *a, unsigned f,
                     mimir_err *err);

/* --- Products with fixed weights (weight masks, lib/prep.h; docs/drafts/weights.md) -------- */

/* A weight matrix W (inner x cols) loaded against a weight mask B from the source: the parties
 * open E = W - B ONCE (MAC-checked like any open: it joins the pending batch, and the load
 * runs mimir_spdz_check whenever MIMIR_SPDZ_WEIGHT_CHECK elements are pending, which bounds
 * the pending buffer) and keep E' = E mod 2^64 (8 bytes per weight, public) and the compact
 * mask (lib/prep.h mimir_wmask: 16 bytes per weight at parties 0 and 2, none at party 1);
 * W's shares are not kept. Every product with W then opens only the activation's difference.
 * Computing with E' instead of E changes W's hidden upper bits (W' = B + E' = W mod 2^64 in the
 * low 64 bits), never the value mod 2^64, and values and MACs are computed with the same E', so
 * the MAC relation m = alpha x~ holds for every result. */
typedef struct mimir_spdz_weight mimir_spdz_weight;
#define MIMIR_SPDZ_WEIGHT_CHECK ((size_t)1 << 22) /* pending elements that trigger a check while
                                                   * loading weights */
#define MIMIR_SPDZ_WEIGHT_MAX ((size_t)1 << 32)   /* elements of one weight matrix */
/* Seeded mask components an engine expands once and keeps (secret memory) instead of
 * regenerating them by AES-CTR in every product: the weights loaded first, while the total
 * stays within this many bytes (a small model's masks all fit; a large model keeps the
 * compact layout for the rest, whose memory target this protects). */
#define MIMIR_SPDZ_MASK_CACHE_BYTES ((size_t)64 << 20)

/* Loads a shared W (inner x cols, row-major; may be hollow in plan mode): takes one mask of that
 * shape from the source, opens W - B in rounds of at most MIMIR_SPDZ_INPUT_CHUNK elements
 * (ceil(inner cols / chunk) rounds, plus a check per MIMIR_SPDZ_WEIGHT_CHECK pending). */
int mimir_spdz_weight_load(mimir_spdz *s, const mimir_sv *w, size_t inner, size_t cols,
                           mimir_spdz_weight **out, mimir_err *err);
/* The same from this party's Z_2^64 components of W (as mimir_spdz_input_shares takes them),
 * input chunk by chunk so that W's MAC'd shares never exist whole: per chunk one input round
 * and one open round. Not in plan mode (use mimir_spdz_weight_load with a hollow W). */
int mimir_spdz_weight_input(mimir_spdz *s, const mimir_r64 *const c[2], size_t inner,
                            size_t cols, mimir_spdz_weight **out, mimir_err *err);
/* Frees (the mask is wiped). NULL is a no-op. */
void mimir_spdz_weight_free(mimir_spdz_weight *w);
/* Bytes the weight keeps in memory: E' and the mask's explicit components. */
size_t mimir_spdz_weight_bytes(const mimir_spdz_weight *w);
void mimir_spdz_weight_shape(const mimir_spdz_weight *w, size_t *inner, size_t *cols);

/* out = x W (transposed 0: x rows x inner, out rows x cols) or out = x W^T (transposed 1:
 * x rows x cols, out rows x inner), with one weight pair (A, C = A B or A B^T) bound to w's mask
 * from the source: D = open(x - A) (1 round, rows x (inner or cols) elements), then locally
 * out = C + D B + x E' (= C + D B + A E' + D E'), B's components regenerated from the mask
 * block by block. Fixed-point products need mimir_spdz_trunc after. out must not alias x. */
int mimir_spdz_weight_matmul(mimir_spdz *s, mimir_sv *out, const mimir_sv *x,
                             const mimir_spdz_weight *w, size_t rows, int transposed,
                             mimir_err *err);

#endif
