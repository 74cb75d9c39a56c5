/*
 * transcript.h — a party's hash-chained record of a run, and the three-way cross-check
 * (docs/protocol.md, "Transcripts"; the format is in docs/formats.md).
 *
 * A transcript is a text file of JSON lines, written as the run goes (append, flushed per
 * record, fsynced at the end), so a crashed run leaves a readable prefix with no end record.
 * Each record carries "chain": SHA-256 over the previous record's chain and this record's
 * canonical text without the chain, so any edit, insertion, deletion or reordering breaks every
 * later link. Records:
 *   {"type":"begin", session, party, "tool", "version":1}
 *   {"type":"send"|"recv", "peer", "round", "len", "sha256"}   every DATA frame (net observer)
 *   {"type":"open", "label", "count", "sha256"}                 opened values (uniformly masked)
 *   {"type":"check", "check", "count", "ok"}                    every check and its result
 *   {"type":"note", "key", "value"}                             public facts (model shape, ...)
 *   {"type":"end", "records", "rounds"}                         the final chained digest
 * Payloads and secret values never appear, only lengths and SHA-256 digests of payloads; no
 * times, so two runs with fixed seeds give byte-identical transcripts.
 *
 * Writing errors are sticky: the first one is kept and returned by mimir_transcript_close.
 */
#ifndef MIMIR_TRANSCRIPT_H
#define MIMIR_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MIMIR_TRANSCRIPT_VERSION 1
#define MIMIR_TRANSCRIPT_MAX_LINE 4096
#define MIMIR_TRANSCRIPT_MAX_BYTES ((size_t)1 << 32) /* bound when reading */

typedef struct mimir_transcript mimir_transcript;

/* Creates path (which must not exist: a transcript is never overwritten; "-" is refused, a
 * transcript must be a file) and writes the begin record. tool names the writer, e.g.
 * "mimir-party compute". */
int mimir_transcript_create(const char *path, const uint8_t session[16], int party,
                            const char *tool, mimir_transcript **out, mimir_err *err);

/* Net observer (lib/net.h mimir_net_observer): records a send/recv with SHA-256 of payload. */
void mimir_transcript_observer(void *t, int dir, int peer, uint64_t round,
                               const uint8_t *payload, size_t len);

/* An open of count words whose bytes are buf (little-endian words as opened): records the
 * SHA-256 of buf. label names the operation ("mul", "matmul", "trunc", "open"). */
void mimir_transcript_open(mimir_transcript *t, const char *label, uint64_t count,
                           const void *buf, size_t len);
/* A check and its result (ok 1 or 0); check is a short name ("replicated-copy", "mac",
 * "coin", "input-copy"). */
void mimir_transcript_check(mimir_transcript *t, const char *check, uint64_t count, int ok);
/* A public fact. key and value are printable ASCII without quotes or backslashes. */
void mimir_transcript_note(mimir_transcript *t, const char *key, const char *value);

/* Writes the end record, fsyncs and closes. Returns the first error of the transcript's life.
 * digest (may be NULL) receives the final chain value. */
int mimir_transcript_close(mimir_transcript *t, uint64_t rounds, uint8_t digest[32],
                           mimir_err *err);
/* Frees; a transcript not closed is left as it is on disk (no end record). NULL is a no-op. */
void mimir_transcript_free(mimir_transcript *t);

/* The three-way cross-check of transcripts written by parties 0, 1 and 2 of one run (in any
 * order). It checks: every file parses and its chain links; begin and end records are present;
 * one session, parties 0..2 each once; for every ordered pair (A, B) the sequence of A's send
 * records to B equals B's recv records from A (round, len, sha256); the open records agree
 * between the parties (same label, count and digest in the same order); every check record is
 * ok. Returns MIMIR_OK, MIMIR_ESECURITY (a mismatch: err names the files, the record number and
 * what differs), or MIMIR_EINPUT (a file that is not a transcript). report (may be NULL) gets a
 * summary. */
typedef struct mimir_transcript_report {
    uint8_t session[16];
    uint64_t records[3];  /* per party */
    uint64_t frames[3];   /* send + recv records per party */
    uint64_t opens, checks;
    uint64_t rounds[3];
    uint8_t final_chain[3][32];
} mimir_transcript_report;

int mimir_transcript_verify3(const char *const paths[3], mimir_transcript_report *report,
                             mimir_err *err);

#endif
