/*
 * pool_align.h — the three parties agree on their pools' cursors at the start of a session
 * (docs/protocol.md, "Pools: every item used once", re-alignment).
 *
 * A party that crashed has its reservations counted as consumed (lib/pool.h,
 * MIMIR_POOL_RESERVE), and an abort can stop the parties a few takes apart: their next session
 * would hand out non-matching items and fail the first MAC check. So before any item is taken,
 * each party sends its peers every batch's (kind, count, consumed) and skips each batch to the
 * largest consumed count of the three. Items are only skipped, never handed out twice; the
 * states are not secret (the cursor file holds them in the clear).
 */
#ifndef MIMIR_POOL_ALIGN_H
#define MIMIR_POOL_ALIGN_H

#include <stdint.h>

#include "err.h"
#include "net.h"
#include "pool.h"

/* Two rounds on net. Pools of different shapes (batch count, a batch's kind or item count)
 * are MIMIR_EINPUT naming the peer and the batch (the pools come from different deals);
 * network failures as lib/net.h. *skipped (may be NULL): the items this party skipped. */
int mimir_pool_align(mimir_pool *p, mimir_net *net, uint64_t *skipped, mimir_err *err);

#define MIMIR_POOL_ALIGN_ROUNDS 2

#endif
