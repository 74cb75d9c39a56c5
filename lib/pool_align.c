/*
 * pool_align.c — cursor agreement between the three parties' pools (lib/pool_align.h).
 *
 * Round 1: each party sends its batch count (u64, little-endian); all must be equal. Round 2:
 * 20 bytes per batch, u32 kind, u64 count, u64 consumed; kinds and counts must be equal, and
 * each party skips every batch to the largest consumed count. All three compute the same
 * maximum from the same three vectors, so they leave with equal cursors.
 */
#include "pool_align.h"

#include <stdlib.h>
#include <string.h>

#define REC 20

static void put(uint8_t *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static int oom(mimir_err *err)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, NULL, "pool", "out of memory");
}

int mimir_pool_align(mimir_pool *p, mimir_net *net, uint64_t *skipped, mimir_err *err)
{
    int self = mimir_net_self(net);
    size_t nb = mimir_pool_batches(p);
    uint8_t mine_n[8], their_n[MIMIR_NET_PARTIES][8];
    put(mine_n, nb, 8);
    mimir_net_io io[MIMIR_NET_PARTIES];
    memset(io, 0, sizeof io);
    for (int q = 0; q < MIMIR_NET_PARTIES; q++)
        if (q != self)
            io[q] = (mimir_net_io){1, mine_n, 8, 1, their_n[q], 8};
    int rc = mimir_net_exchange(net, io, err);
    for (int q = 0; q < MIMIR_NET_PARTIES && rc == MIMIR_OK; q++)
        if (q != self && get(their_n[q], 8) != nb)
            rc = mimir_err_set(err, MIMIR_EINPUT, "pool", "batches",
                               "party %d's pool has %llu batches, this party's %zu: the pools "
                               "come from different deals", q,
                               (unsigned long long)get(their_n[q], 8), nb);
    if (rc != MIMIR_OK)
        return rc;
    uint8_t *mine = malloc(nb * REC + 1), *theirs[MIMIR_NET_PARTIES] = {NULL, NULL, NULL};
    uint64_t *to = malloc(nb * sizeof *to + 1);
    if (mine == NULL || to == NULL)
        rc = oom(err);
    for (int q = 0; q < MIMIR_NET_PARTIES && rc == MIMIR_OK; q++)
        if (q != self && (theirs[q] = malloc(nb * REC + 1)) == NULL)
            rc = oom(err);
    for (size_t i = 0; i < nb && rc == MIMIR_OK; i++) {
        mimir_pool_batch_state st;
        mimir_pool_get_batch_state(p, i, &st);
        put(mine + i * REC, st.kind, 4);
        put(mine + i * REC + 4, st.count, 8);
        put(mine + i * REC + 12, st.consumed, 8);
        to[i] = st.consumed;
    }
    memset(io, 0, sizeof io);
    for (int q = 0; q < MIMIR_NET_PARTIES && rc == MIMIR_OK; q++)
        if (q != self)
            io[q] = (mimir_net_io){1, mine, nb * REC, 1, theirs[q], nb * REC};
    if (rc == MIMIR_OK)
        rc = mimir_net_exchange(net, io, err);
    for (int q = 0; q < MIMIR_NET_PARTIES && rc == MIMIR_OK; q++) {
        if (q == self)
            continue;
        for (size_t i = 0; i < nb && rc == MIMIR_OK; i++) {
            const uint8_t *r = theirs[q] + i * REC, *m = mine + i * REC;
            if (memcmp(r, m, 12) != 0) {
                const char *k = mimir_pool_kind_name((int)get(r, 4));
                rc = mimir_err_set(err, MIMIR_EINPUT, "pool", "batches",
                                   "party %d's batch %zu holds %llu %s items, this party's %llu "
                                   "%s: the pools come from different deals", q, i,
                                   (unsigned long long)get(r + 4, 8), k != NULL ? k : "unknown",
                                   (unsigned long long)get(m + 4, 8),
                                   mimir_pool_kind_name((int)get(m, 4)));
            } else if (get(r + 12, 8) > to[i]) {
                to[i] = get(r + 12, 8);
            }
        }
    }
    if (rc == MIMIR_OK)
        rc = mimir_pool_skip_to(p, to, nb, skipped, err);
    free(mine);
    free(to);
    for (int q = 0; q < MIMIR_NET_PARTIES; q++)
        free(theirs[q]);
    return rc;
}
