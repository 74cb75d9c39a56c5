/*
 * attest/boot.h — a party's model shares at boot, sealed or not (docs/attestation.md, "Sealed
 * share bundles").
 *
 * A bundle directory holds model.shares (plaintext shares, lib/sharefile.h) or
 * model.shares.sealed (the same bytes sealed with attest/seal.h). A sealed file is opened in
 * memory only: the 32-byte key comes from a key file or from the key broker (attest/broker.h),
 * which releases it only to a requester whose attested certificate passes its policy; the
 * plaintext lives in mimir_secret_alloc memory while it is parsed, and the key and the plaintext
 * are wiped before this returns. No plaintext share touches the disk on this path.
 */
#ifndef MIMIR_ATTEST_BOOT_H
#define MIMIR_ATTEST_BOOT_H

#include <stddef.h>

#include "err.h"
#include "sharefile.h"

#define MIMIR_BOOT_SEALED_FILE "model.shares.sealed"

typedef struct mimir_boot_key {
    const char *key_file;   /* a key file (64 hex digits), or NULL */
    const char *broker;     /* broker address (tcp:HOST:PORT or unix:PATH), or NULL */
    const char *broker_pin; /* the broker certificate's SHA-256 (64 hex digits) */
    const char *cert;       /* this party's attested certificate (PEM) shown to the broker */
    const char *key;        /* its private key (PEM) */
} mimir_boot_key;

/* Reads the share file at path: a file, or a bundle directory (its model.shares.sealed if
 * present, else its model.shares). A sealed file needs k with exactly one key source
 * (MIMIR_EINPUT otherwise, naming the option); a plaintext file given a key source is refused
 * too (MIMIR_EINPUT: the operator expected it sealed). Broker refusals and a wrong key are
 * MIMIR_ESECURITY; the broker being unreachable is MIMIR_ERUNTIME. max bounds the file size. */
int mimir_boot_read_shares(const char *path, const mimir_boot_key *k, size_t max,
                           mimir_share **out, mimir_err *err);

#endif
