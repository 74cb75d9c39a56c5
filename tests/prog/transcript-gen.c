/*
 * transcript-gen — writes DIR/t0.jsonl, t1.jsonl, t2.jsonl: the transcripts three parties would
 * write for a small run (frames in the net observer's order, opens, checks, notes), through
 * lib/transcript.h, for tests/cli/mimir-party-transcript.bats.
 *
 *   transcript-gen DIR [DEVIATION]
 *
 * DEVIATION makes one party's transcript disagree while its chain stays valid:
 *   recv        party 1 records other bytes received from party 2 in round 5
 *   open        party 2 records another value for its third open
 *   fail-check  party 1 records a failed mac check
 *   no-end      party 0 never closes (no end record)
 *   session     party 2 writes another session id
 * Exit 0, or 2 on bad usage, 3 if a transcript cannot be written.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mem.h"
#include "net.h"
#include "transcript.h"

#define ROUNDS 9

static const uint8_t SESSION[16] = {0xc0, 0xff, 0xee, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void payload(uint8_t *buf, size_t n, int from, int to, int round)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(from * 31 + to * 7 + round * 13 + i);
}

static size_t plen(int from, int to, int round)
{
    return (size_t)(8 + ((from + to + round) % 5) * 8);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: transcript-gen DIR [recv|open|fail-check|no-end|session]\n");
        return 2;
    }
    const char *dev = argc == 3 ? argv[2] : "";
    if (dev[0] && strcmp(dev, "recv") && strcmp(dev, "open") && strcmp(dev, "fail-check") &&
        strcmp(dev, "no-end") && strcmp(dev, "session")) {
        fprintf(stderr, "transcript-gen: unknown deviation '%s'\n", dev);
        return 2;
    }
    if (mimir_mem_init() != 0)
        return 3;
    mkdir(argv[1], 0755);
    mimir_transcript *t[3] = {NULL, NULL, NULL};
    mimir_err err;
    int rc = 0;
    for (int p = 0; p < 3 && rc == 0; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/t%d.jsonl", argv[1], p);
        uint8_t sess[16];
        memcpy(sess, SESSION, 16);
        if (p == 2 && strcmp(dev, "session") == 0)
            sess[0] ^= 1;
        if (mimir_transcript_create(path, sess, p, "transcript-gen", &t[p], &err) != MIMIR_OK) {
            mimir_err_print(stderr, "transcript-gen", &err);
            rc = err.code;
            break;
        }
        mimir_transcript_note(t[p], "op", "mul");
        mimir_transcript_note(t[p], "shape", "[4,4]");
    }
    uint8_t buf[64];
    int nopen = 0;
    for (int r = 0; r < ROUNDS && rc == 0; r++) {
        for (int p = 0; p < 3; p++) {
            for (int q = 0; q < 3; q++)
                if (q != p) {
                    payload(buf, plen(p, q, r), p, q, r);
                    mimir_transcript_observer(t[p], MIMIR_NET_SENT, q, (uint64_t)r, buf,
                                              plen(p, q, r));
                }
            for (int q = 0; q < 3; q++)
                if (q != p) {
                    payload(buf, plen(q, p, r), q, p, r);
                    if (p == 1 && q == 2 && r == 5 && strcmp(dev, "recv") == 0)
                        buf[0] ^= 0x80;
                    mimir_transcript_observer(t[p], MIMIR_NET_RECEIVED, q, (uint64_t)r, buf,
                                              plen(q, p, r));
                }
        }
        if (r % 3 == 1) {
            for (int p = 0; p < 3; p++) {
                payload(buf, 32, 9, 9, r);
                if (p == 2 && nopen == 2 && strcmp(dev, "open") == 0)
                    buf[7] ^= 1;
                mimir_transcript_open(t[p], "mul", 4, buf, 32);
            }
            nopen++;
        }
        if (r % 3 == 2)
            for (int p = 0; p < 3; p++)
                mimir_transcript_check(t[p], "mac", 4,
                                       !(p == 1 && strcmp(dev, "fail-check") == 0));
    }
    for (int p = 0; p < 3; p++) {
        if (rc == 0 && !(p == 0 && strcmp(dev, "no-end") == 0) &&
            mimir_transcript_close(t[p], ROUNDS, NULL, &err) != MIMIR_OK) {
            mimir_err_print(stderr, "transcript-gen", &err);
            rc = err.code;
        }
        mimir_transcript_free(t[p]);
    }
    return rc;
}
