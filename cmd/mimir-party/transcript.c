/* mimir-party transcript-check: the three-way cross-check of one run's transcripts
 * (lib/transcript.h, mimir_transcript_verify3). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "party.h"
#include "transcript.h"

#define SUB "transcript-check"

static void help(void)
{
    printf("Usage: %s " SUB " [--json] T0 T1 T2\n\n"
           "Cross-checks the transcripts written by the three parties of one run (mimir-party\n"
           "compute --transcript), given in any order: every file parses and its hash chain\n"
           "links; each has its begin and end record; one session, parties 0, 1 and 2 once each;\n"
           "the same round count; every frame a party sent is the frame its peer received\n"
           "(round, length, SHA-256), in order; every party opened the same values (label, count,\n"
           "SHA-256) in the same order; and every check record is ok.\n\n"
           "Options:\n"
           "  --json      print the summary as a JSON object\n"
           "  -h, --help  show this help\n\n"
           "Exit status: 0 consistent, 1 a mismatch, an edited file, a failed check or an\n"
           "unfinished run (the message names the files and records), 2 bad usage or a file that\n"
           "is not a transcript, 3 a read error.\n", PROG);
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static json_t *triple(const uint64_t v[3])
{
    return json_pack("[I, I, I]", (json_int_t)v[0], (json_int_t)v[1], (json_int_t)v[2]);
}

static int print_json(const mimir_transcript_report *r)
{
    char session[33], chain[3][65];
    hex(session, r->session, sizeof r->session);
    for (int i = 0; i < 3; i++)
        hex(chain[i], r->final_chain[i], 32);
    json_t *j = json_pack("{s:b, s:s, s:o, s:o, s:I, s:I, s:o, s:[s, s, s]}", "consistent", 1,
                          "session", session, "records", triple(r->records), "frames",
                          triple(r->frames), "opens", (json_int_t)r->opens, "checks",
                          (json_int_t)r->checks, "rounds", triple(r->rounds), "final_chain",
                          chain[0], chain[1], chain[2]);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (text == NULL) {
        fprintf(stderr, "%s: " SUB ": out of memory\n", PROG);
        return 3;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

int transcript_check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': help(); return 0;
        default: return party_usage_fail(SUB, "unknown option");
        }
    }
    if (argc - optind != 3)
        return party_usage_fail(SUB, "expected three transcripts T0 T1 T2, got %d",
                                argc - optind);
    const char *paths[3] = {argv[optind], argv[optind + 1], argv[optind + 2]};
    mimir_err err;
    mimir_err_clear(&err);
    mimir_transcript_report r;
    if (mimir_transcript_verify3(paths, &r, &err) != MIMIR_OK)
        return party_report(&err);
    int rc = 0;
    if (json) {
        rc = print_json(&r);
    } else {
        char session[33];
        hex(session, r.session, sizeof r.session);
        printf("transcripts consistent: session %s, %llu rounds, %llu frames, %llu opens, "
               "%llu checks, %llu records\n", session, (unsigned long long)r.rounds[0],
               (unsigned long long)(r.frames[0] + r.frames[1] + r.frames[2]),
               (unsigned long long)r.opens, (unsigned long long)r.checks,
               (unsigned long long)(r.records[0] + r.records[1] + r.records[2]));
    }
    if (rc == 0 && fflush(stdout) != 0) {
        fprintf(stderr, "%s: <stdout>: write failed\n", PROG);
        return 3;
    }
    return rc;
}
