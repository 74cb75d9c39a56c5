/*
 * attest/tsm.h — getting evidence from the guest's hardware through Linux configfs-tsm.
 *
 * Linux 6.7+ exposes one interface for SEV-SNP and TDX guests: make a directory under
 * /sys/kernel/config/tsm/report, write the 64 report_data bytes to its inblob, read outblob (an
 * SNP report or a TDX quote), remove the directory. Not available outside a confidential VM:
 * the call then fails with MIMIR_ERUNTIME naming the path. Untested on hardware so far.
 */
#ifndef MIMIR_ATTEST_TSM_H
#define MIMIR_ATTEST_TSM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_TSM_DIR "/sys/kernel/config/tsm/report"

/* Fetches evidence binding report_data; *out is malloc'd. */
int mimir_tsm_report(const uint8_t report_data[64], uint8_t **out, size_t *n, mimir_err *err);

#endif
