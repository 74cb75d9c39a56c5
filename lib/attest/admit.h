/*
 * attest/admit.h — attested admission of peers: the mimir_net_admit hook of a party.
 *
 * When the cluster file has an "attestation" section (lib/cluster.h), a party admits a peer
 * only if the certificate the peer presented in the TLS handshake (already matched to its pinned
 * fingerprint by lib/net.c) carries evidence that verifies and passes the policy:
 *
 *   - the certificate is verified as evidence exactly as `mimir-attest verify --policy P CERT`
 *     does (attest/cert.h): self-signature, validity at the verification time, the evidence in
 *     extension 1.3.6.1.5.5.7.1.35, its signatures and chains, and cert_binding (report_data's
 *     first half is SHA-256 of the certificate's public key, the key the peer just proved it
 *     holds in the handshake);
 *   - the policy's rules are applied (attest/policy.h). Simulated evidence passes only when the
 *     policy sets "allow_simulated": true, and then only if the policy has no platform rule
 *     (sev_snp / tdx section): simulated evidence has no measurement, so a rule that asks for
 *     one fails ("simulated evidence has no ...").
 *
 * A certificate without evidence is refused when "require" is true (the default) and admitted
 * when it is false; evidence that is present must pass either way. A refusal is MIMIR_ESECURITY
 * with file "party N", field "attestation" and a message listing every failed check, in the
 * order they were made, each named exactly as `mimir-attest verify` (its JSON "failed" array)
 * and the key broker name it (attest/attest.h): "cert_binding: ...; policy.sev_snp.measurements:
 * ..." (led by "simulated evidence: " when the evidence is simulated). lib/net.c reports it as
 * "party N: admission: refused: attestation: cert_binding: ...". Bytes that are no certificate
 * are refused as "certificate: ...", a certificate without evidence, and malformed evidence in
 * a peer's certificate, as "evidence: ..." (MIMIR_ESECURITY, never a usage error of ours).
 *
 * Not yet: SEV-SNP peers. An SNP report needs its VCEK/VLEK and chain, which the certificate
 * does not carry and the hook is not given, so SNP evidence is refused ("evidence: ...").
 *
 * The verification time is the cluster's "at" (fixed, for tests and reproducible runs) or the
 * time of the handshake. One mimir_admit per party (per net); it is not shared between threads.
 */
#ifndef MIMIR_ATTEST_ADMIT_H
#define MIMIR_ATTEST_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "err.h"
#include "net.h"

#define MIMIR_ADMIT_FIELD "attestation" /* err->field of every refusal */

typedef struct mimir_admit mimir_admit;

/* Loads the policy named by the cluster's "attestation" section. MIMIR_EINPUT naming the policy
 * file when it is unreadable or malformed (or when the cluster has no attestation section). */
int mimir_admit_new(const mimir_cluster *c, mimir_admit **out, mimir_err *err);

/* The mimir_net_admit hook (arg is a mimir_admit *): judges peer's certificate (DER). MIMIR_OK
 * to admit; MIMIR_ESECURITY naming the party and every failed check or rule; MIMIR_ERUNTIME when
 * out of memory. */
int mimir_admit_hook(void *arg, int peer, const uint8_t *der, size_t len, mimir_err *err);

/* For mimir-party: with no "attestation" in the cluster, leaves opts alone and sets *out = NULL;
 * otherwise makes the admission (mimir_admit_new) and sets opts->admit and opts->admit_arg. The
 * caller frees *out after the net. */
int mimir_admit_configure(const mimir_cluster *c, mimir_net_opts *opts, mimir_admit **out,
                          mimir_err *err);

/* NULL is a no-op. */
void mimir_admit_free(mimir_admit *a);

#endif
