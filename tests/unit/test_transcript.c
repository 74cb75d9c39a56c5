/*
 * test_transcript.c — transcripts of three simulated parties written through the API (observer
 * sends and receipts that match, opens, checks, notes) pass mimir_transcript_verify3; the chain
 * follows the documented construction (recomputed here with OpenSSL); identical call sequences
 * give byte-identical files; existing files and "-" are refused; writing errors are sticky.
 * Every tampering (a digest digit, a deleted, swapped or appended line, a changed length, a
 * dropped end record, a failed check, another session, one party twice, different data on the
 * two ends of a frame or of an open, a foreign JSON file, non-canonical text) fails with the
 * right code and a message naming the file.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "mem.h"
#include "net.h"
#include "transcript.h"
#include "tap.h"

#define ROUNDS 12
#define MAXLINES 256

static char base[256];
static const uint8_t SESSION[16] = {0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                    12};

/* Deviations of one simulated run, applied by one party. */
typedef struct mutation {
    int party;        /* the deviating party, -1 none */
    int recv_round;   /* it records a different payload received in this round (-1 none) */
    int open_index;   /* it records a different opened value for this open (-1 none) */
    int fail_check;   /* it records a failed mac check */
    int other_session;
    int drop_recv;    /* it does not record its receipt from party+1 in this round (-1 none) */
    int no_close;     /* it never closes: no end record */
    int extra_round;  /* it closes with rounds + 1 */
    int skip_open;    /* it does not record its last open */
} mutation;

static const mutation NONE = {-1, -1, -1, 0, 0, -1, 0, 0, 0};

static void payload(uint8_t *buf, size_t n, int from, int to, int round)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(from * 31 + to * 7 + round * 13 + i);
}

static size_t plen(int from, int to, int round)
{
    return (size_t)(8 + ((from + to + round) % 5) * 8);
}

/* Writes t0..t2.jsonl in dir as three parties would, following the net observer's order (in a
 * round, sends in ascending peer order, then receipts in ascending peer order). */
static int simulate(const char *dir, const mutation *m, uint8_t digests[3][32])
{
    mimir_transcript *t[3] = {NULL, NULL, NULL};
    mimir_err err = {0};
    mkdir(dir, 0755);
    for (int p = 0; p < 3; p++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/t%d.jsonl", dir, p);
        uint8_t sess[16];
        memcpy(sess, SESSION, 16);
        if (m->party == p && m->other_session)
            sess[15] ^= 1;
        if (mimir_transcript_create(path, sess, p, "test_transcript", &t[p], &err) != MIMIR_OK)
            return -1;
        mimir_transcript_note(t[p], "model", "layers=2 d=64");
    }
    uint8_t buf[64];
    int nopen = 0;
    for (int r = 0; r < ROUNDS; r++) {
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
                    if (m->party == p && m->recv_round == r && q == (p + 1) % 3)
                        buf[3] ^= 0x10;
                    if (m->party == p && m->drop_recv == r && q == (p + 1) % 3)
                        continue;
                    mimir_transcript_observer(t[p], MIMIR_NET_RECEIVED, q, (uint64_t)r, buf,
                                              plen(q, p, r));
                }
        }
        if (r % 3 == 2) {
            for (int p = 0; p < 3; p++) {
                payload(buf, 32, 9, 9, r);
                if (m->party == p && m->open_index == nopen)
                    buf[0] ^= 1;
                if (m->party == p && m->skip_open && r == ROUNDS - 1)
                    continue;
                mimir_transcript_open(t[p], "mul", 4, buf, 32);
            }
            nopen++;
        }
        if (r % 4 == 3)
            for (int p = 0; p < 3; p++)
                mimir_transcript_check(t[p], "mac", 12, !(m->party == p && m->fail_check));
    }
    int rc = 0;
    for (int p = 0; p < 3; p++) {
        if (m->party == p && m->no_close) {
            mimir_transcript_free(t[p]);
            continue;
        }
        uint64_t rounds = ROUNDS + (uint64_t)(m->party == p && m->extra_round);
        if (mimir_transcript_close(t[p], rounds, digests ? digests[p] : NULL, &err) != MIMIR_OK)
            rc = -1;
        mimir_transcript_free(t[p]);
    }
    return rc;
}

static int verify_dir(const char *dir, mimir_transcript_report *rep, mimir_err *err)
{
    char p[3][1024];
    const char *paths[3];
    for (int i = 0; i < 3; i++) {
        snprintf(p[i], sizeof p[i], "%s/t%d.jsonl", dir, i);
        paths[i] = p[i];
    }
    mimir_err_clear(err);
    return mimir_transcript_verify3(paths, rep, err);
}

/* Lines of a file, to tamper with. */
typedef struct lines {
    int n;
    char *l[MAXLINES];
} lines;

static void read_lines(const char *path, lines *L)
{
    FILE *f = fopen(path, "r");
    char buf[8192];
    L->n = 0;
    while (f && L->n < MAXLINES && fgets(buf, sizeof buf, f))
        L->l[L->n++] = strdup(buf);
    if (f)
        fclose(f);
}

static void write_lines(const char *path, const lines *L)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < L->n; i++)
        if (L->l[i])
            fputs(L->l[i], f);
    fclose(f);
}

static void free_lines(lines *L)
{
    for (int i = 0; i < L->n; i++)
        free(L->l[i]);
    L->n = 0;
}

static int copy_dir(const char *from, const char *to)
{
    mkdir(to, 0755);
    for (int i = 0; i < 3; i++) {
        char a[1024], b[1024];
        snprintf(a, sizeof a, "%s/t%d.jsonl", from, i);
        snprintf(b, sizeof b, "%s/t%d.jsonl", to, i);
        lines L;
        read_lines(a, &L);
        unlink(b);
        write_lines(b, &L);
        free_lines(&L);
    }
    return 0;
}

static int find_line(const lines *L, const char *needle, int nth)
{
    for (int i = 0; i < L->n; i++)
        if (strstr(L->l[i], needle) && nth-- == 0)
            return i;
    return -1;
}

/* The full error text, as the tool would print it. */
static const char *errtext(const mimir_err *e)
{
    static char s[2048];
    snprintf(s, sizeof s, "%s: %s: %s", e->file, e->field, e->msg);
    return s;
}

static void expect(const char *name, const char *dir, int code, const char *file,
                   const char *msg)
{
    mimir_err err = {0};
    int rc = verify_dir(dir, NULL, &err);
    CHECK(rc == code, "%s: verify3 returns %d (got %d: %s)", name, code, rc, errtext(&err));
    CHECK(strstr(err.file, file) != NULL, "%s: the error names %s (got '%s')", name, file,
          err.file);
    CHECK(msg == NULL || strstr(errtext(&err), msg) != NULL, "%s: message has '%s' (got '%s')",
          name, msg, errtext(&err));
}

/* Copies the good run to a fresh directory and applies edit to party p's file. */
typedef void (*edit_fn)(lines *L);
static void tamper(const char *name, const char *good, int p, edit_fn edit, int code,
                   const char *msg)
{
    static int k;
    char dir[512], path[1024], file[32];
    snprintf(dir, sizeof dir, "%s/tamper%d", base, k++);
    copy_dir(good, dir);
    snprintf(path, sizeof path, "%s/t%d.jsonl", dir, p);
    snprintf(file, sizeof file, "t%d.jsonl", p);
    lines L;
    read_lines(path, &L);
    edit(&L);
    unlink(path);
    write_lines(path, &L);
    free_lines(&L);
    expect(name, dir, code, file, msg);
}

static void edit_digest_digit(lines *L)
{
    int i = find_line(L, "\"type\":\"recv\"", 5);
    char *s = strstr(L->l[i], "\"sha256\":\"") + 10 + 7;
    *s = *s == 'a' ? 'b' : 'a';
}
static void edit_chain_digit(lines *L)
{
    int i = find_line(L, "\"type\":\"send\"", 3);
    char *s = strstr(L->l[i], "\"chain\":\"") + 9 + 20;
    *s = *s == '0' ? '1' : '0';
}
static void edit_delete(lines *L)
{
    int i = find_line(L, "\"type\":\"send\"", 4);
    free(L->l[i]);
    L->l[i] = NULL;
}
static void edit_swap(lines *L)
{
    int i = find_line(L, "\"type\":\"send\"", 6);
    char *x = L->l[i];
    L->l[i] = L->l[i + 1];
    L->l[i + 1] = x;
}
static void edit_len(lines *L)
{
    int i = find_line(L, "\"type\":\"recv\"", 2);
    char *s = strstr(L->l[i], "\"len\":") + 6;
    *s = *s == '1' ? '2' : '1';
}
static void edit_drop_end(lines *L)
{
    free(L->l[L->n - 1]);
    L->l[L->n - 1] = NULL;
}
static void edit_cut_end(lines *L)
{
    L->l[L->n - 1][20] = '\0';
}
static void edit_append(lines *L)
{
    L->l[L->n] = strdup(L->l[L->n - 2]);
    L->n++;
}
static void edit_drop_begin(lines *L)
{
    free(L->l[0]);
    L->l[0] = NULL;
}
static void edit_foreign(lines *L)
{
    free_lines(L);
    L->l[0] = strdup("{\"name\": \"not a transcript\", \"shape\": [2, 3]}\n");
    L->n = 1;
}
static void edit_space(lines *L)
{
    int i = find_line(L, "\"type\":\"open\"", 0);
    L->l[i] = realloc(L->l[i], strlen(L->l[i]) + 2);
    char *s = strstr(L->l[i], ",\"count\"");
    memmove(s + 1, s, strlen(s) + 1);
    s[1] = ' ';
}
static void edit_unknown_type(lines *L)
{
    int i = find_line(L, "\"type\":\"note\"", 0);
    memcpy(strstr(L->l[i], "note"), "nota", 4);
}
static void edit_unknown_key(lines *L)
{
    int i = find_line(L, "\"type\":\"note\"", 0);
    memcpy(strstr(L->l[i], "\"key\""), "\"kex\"", 5);
}
static void edit_long_line(lines *L)
{
    char *s = malloc(5000);
    memset(s, 'x', 4998);
    s[4998] = '\n';
    s[4999] = '\0';
    free(L->l[2]);
    L->l[2] = s;
}
static void edit_binary(lines *L)
{
    L->l[1][5] = '\x01';
}
static void edit_empty(lines *L)
{
    free_lines(L);
}
static void edit_version(lines *L)
{
    char *s = strstr(L->l[0], "\"version\":1") + 10;
    *s = '2';
}

/* The chain as docs/formats.md ("The chain") defines it, with OpenSSL (not libsodium). */
static void test_chain_construction(const char *good)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/t1.jsonl", good);
    lines L;
    read_lines(path, &L);
    uint8_t chain[32], buf[64 + 4096];
    size_t n = strlen("mimir-transcript-v1");
    memcpy(buf, "mimir-transcript-v1", n);
    memcpy(buf + n, SESSION, 16);
    uint8_t be[4] = {0, 0, 0, 1};
    memcpy(buf + n + 16, be, 4);
    SHA256(buf, n + 20, chain);
    int all = L.n > 0;
    for (int i = 0; i < L.n; i++) {
        char *c = strstr(L.l[i], ",\"chain\":\"");
        size_t pl = (size_t)(c - L.l[i]);
        memcpy(buf, chain, 32);
        memcpy(buf + 32, L.l[i], pl);
        SHA256(buf, 32 + pl, chain);
        uint8_t got[32];
        size_t gn;
        if (mimir_hex_decode(c + 10, 64, got, 32, &gn, NULL) != 0 || memcmp(got, chain, 32) != 0)
            all = 0;
    }
    CHECK(all, "every chain of t1.jsonl is SHA-256(prev || line up to ,\"chain\")");
    static const char begin[] = "{\"type\":\"begin\",\"session\":\"5e55104e010203040506"
                                "0708090a0b0c\",\"party\":1,\"tool\":\"test_transcript\","
                                "\"version\":1,\"chain\":\"";
    static const char note[] = "{\"type\":\"note\",\"key\":\"model\",\"value\":\"layers=2 "
                               "d=64\",\"chain\":\"";
    CHECK(L.n > 1 && strncmp(L.l[0], begin, strlen(begin)) == 0,
          "the begin record is canonical");
    CHECK(L.n > 1 && strncmp(L.l[1], note, strlen(note)) == 0,
          "the note record is canonical");
    int e = find_line(&L, "\"type\":\"end\"", 0);
    CHECK(e == L.n - 1 && strstr(L.l[e], "{\"type\":\"end\",\"records\":") == L.l[e],
          "the end record is last");
    free_lines(&L);
}

static int same_files(const char *a, const char *b)
{
    for (int i = 0; i < 3; i++) {
        char pa[1024], pb[1024];
        snprintf(pa, sizeof pa, "%s/t%d.jsonl", a, i);
        snprintf(pb, sizeof pb, "%s/t%d.jsonl", b, i);
        lines A, B;
        read_lines(pa, &A);
        read_lines(pb, &B);
        int same = A.n == B.n && A.n > 0;
        for (int j = 0; same && j < A.n; j++)
            same = strcmp(A.l[j], B.l[j]) == 0;
        free_lines(&A);
        free_lines(&B);
        if (!same)
            return 0;
    }
    return 1;
}

static void run_mutation(const char *name, mutation m, int code, const char *file,
                         const char *msg)
{
    static int k;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/mut%d", base, k++);
    simulate(dir, &m, NULL);
    expect(name, dir, code, file, msg);
}

int main(void)
{
    if (mimir_mem_init() != 0)
        return 99;
    snprintf(base, sizeof base, "/tmp/test_transcript.XXXXXX");
    if (mkdtemp(base) == NULL)
        return 99;

    /* a consistent run */
    char good[512], again[512];
    snprintf(good, sizeof good, "%s/good", base);
    snprintf(again, sizeof again, "%s/again", base);
    uint8_t dig[3][32];
    CHECK(simulate(good, &NONE, dig) == 0, "three transcripts written and closed");
    mimir_transcript_report rep;
    mimir_err err = {0};
    int rc = verify_dir(good, &rep, &err);
    CHECK(rc == MIMIR_OK, "verify3 passes a consistent run (got %d: %s)", rc, errtext(&err));
    /* per party: begin, note, 12 rounds x 4 frames, 4 opens, 3 checks, end */
    CHECK(rep.records[0] == 58 && rep.records[1] == 58 && rep.records[2] == 58,
          "report: 58 records per party (got %llu %llu %llu)",
          (unsigned long long)rep.records[0], (unsigned long long)rep.records[1],
          (unsigned long long)rep.records[2]);
    CHECK(rep.frames[0] == 48 && rep.frames[2] == 48, "report: 48 frames per party");
    CHECK(rep.opens == 4 && rep.checks == 9, "report: 4 opens, 9 checks in all (got %llu %llu)",
          (unsigned long long)rep.opens, (unsigned long long)rep.checks);
    CHECK(rep.rounds[0] == ROUNDS && rep.rounds[1] == ROUNDS && rep.rounds[2] == ROUNDS,
          "report: rounds from the end records");
    CHECK(memcmp(rep.session, SESSION, 16) == 0, "report: the session");
    CHECK(memcmp(rep.final_chain, dig, sizeof dig) == 0,
          "report: final chains equal the digests mimir_transcript_close returned");
    test_chain_construction(good);

    /* paths in any order */
    {
        char p[3][1024];
        const char *paths[3];
        for (int i = 0; i < 3; i++) {
            snprintf(p[i], sizeof p[i], "%s/t%d.jsonl", good, 2 - i);
            paths[i] = p[i];
        }
        mimir_transcript_report r2;
        rc = mimir_transcript_verify3(paths, &r2, &err);
        CHECK(rc == MIMIR_OK && r2.records[0] == 58 &&
              memcmp(r2.final_chain[0], dig[0], 32) == 0,
              "verify3 takes the files in any order and reports by party");
    }

    /* determinism */
    CHECK(simulate(again, &NONE, NULL) == 0 && same_files(good, again),
          "identical call sequences give byte-identical transcripts");

    /* creation refusals */
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/t0.jsonl", good);
        mimir_transcript *t = NULL;
        mimir_err_clear(&err);
        rc = mimir_transcript_create(path, SESSION, 0, "x", &t, &err);
        CHECK(rc == MIMIR_EINPUT && t == NULL && strstr(err.file, "t0.jsonl") &&
              strstr(err.msg, "already exists"),
              "an existing file is refused (got %d: %s)", rc, errtext(&err));
        lines L;
        read_lines(path, &L);
        CHECK(L.n == 58, "the existing transcript is untouched");
        free_lines(&L);
        rc = mimir_transcript_create("-", SESSION, 0, "x", &t, &err);
        CHECK(rc == MIMIR_EINPUT && t == NULL, "\"-\" is refused");
        snprintf(path, sizeof path, "%s/bad-party.jsonl", base);
        rc = mimir_transcript_create(path, SESSION, 3, "x", &t, &err);
        CHECK(rc == MIMIR_EINPUT && access(path, F_OK) != 0, "party 3 is refused, no file");
        snprintf(path, sizeof path, "%s/nodir/t.jsonl", base);
        rc = mimir_transcript_create(path, SESSION, 0, "x", &t, &err);
        CHECK(rc == MIMIR_ERUNTIME, "a missing directory is a runtime error (got %d)", rc);
    }

    /* sticky errors: a bad label stops the transcript; close reports it and writes no end */
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/sticky.jsonl", base);
        mimir_transcript *t = NULL;
        rc = mimir_transcript_create(path, SESSION, 0, "x", &t, &err);
        mimir_transcript_open(t, "bad\"label", 1, "", 0);
        mimir_transcript_check(t, "mac", 1, 1);
        mimir_err_clear(&err);
        rc = mimir_transcript_close(t, 0, NULL, &err);
        mimir_transcript_free(t);
        lines L;
        read_lines(path, &L);
        CHECK(rc == MIMIR_EINPUT && strstr(err.field, "label") && L.n == 1,
              "a bad open label is a sticky error; nothing more is written (got %d, %d lines)",
              rc, L.n);
        free_lines(&L);
        mimir_transcript_free(NULL);
        mimir_transcript_observer(NULL, MIMIR_NET_SENT, 1, 0, NULL, 0);
        mimir_transcript_open(NULL, "mul", 0, NULL, 0);
        CHECK(1, "NULL transcripts are no-ops");
    }

    /* file tampering */
    tamper("a digest digit edited", good, 1, edit_digest_digit, MIMIR_ESECURITY,
           "chain does not link");
    tamper("a chain digit edited", good, 2, edit_chain_digit, MIMIR_ESECURITY,
           "chain does not link");
    tamper("a line deleted", good, 0, edit_delete, MIMIR_ESECURITY, "chain does not link");
    tamper("two lines swapped", good, 2, edit_swap, MIMIR_ESECURITY, "chain does not link");
    tamper("a recv length changed", good, 1, edit_len, MIMIR_ESECURITY, "chain does not link");
    tamper("the end record dropped", good, 2, edit_drop_end, MIMIR_ESECURITY,
           "incomplete: no end record (the run did not finish)");
    tamper("the end record cut short", good, 0, edit_cut_end, MIMIR_ESECURITY,
           "record 58: incomplete: the last record is cut short");
    tamper("a record appended after the end", good, 1, edit_append, MIMIR_ESECURITY,
           "after the end record");
    tamper("the begin record deleted", good, 1, edit_drop_begin, MIMIR_ESECURITY,
           "begin record is missing");
    tamper("a foreign JSON file", good, 0, edit_foreign, MIMIR_EINPUT,
           "record 1: no \"type\" string");
    tamper("a space added", good, 2, edit_space, MIMIR_EINPUT, "not in canonical form");
    tamper("an unknown record type", good, 1, edit_unknown_type, MIMIR_EINPUT,
           "unknown record type \"nota\"");
    tamper("an unknown key", good, 1, edit_unknown_key, MIMIR_EINPUT, "unexpected key \"kex\"");
    tamper("a line over 4096 bytes", good, 0, edit_long_line, MIMIR_EINPUT,
           "record 3: line longer than 4096");
    tamper("a control byte", good, 2, edit_binary, MIMIR_EINPUT, "byte 0x01");
    tamper("an empty file", good, 1, edit_empty, MIMIR_EINPUT, "empty");
    tamper("version 2", good, 0, edit_version, MIMIR_EINPUT, "version 2, expected 1");

    /* consistent chains, inconsistent runs */
    mutation m = NONE;
    m.party = 1;
    m.recv_round = 5;
    run_mutation("party 1 received other bytes than party 2 sent", m, MIMIR_ESECURITY,
                 "t1.jsonl",
                 "party 1 received round 5 from party 2 with len 32 sha256 ");
    m = NONE;
    m.party = 0;
    m.drop_recv = ROUNDS - 1;
    run_mutation("party 0 did not record the last frame from party 1", m, MIMIR_ESECURITY,
                 "t1.jsonl", "party 1 sent round 11 to party 0, but ");
    m.drop_recv = 4;
    run_mutation("party 0 did not record a frame from party 1", m, MIMIR_ESECURITY,
                 "t0.jsonl", "party 0 received round 5 from party 1 with len 16 ");
    m = NONE;
    m.party = 2;
    m.open_index = 2;
    run_mutation("party 2 opened another value", m, MIMIR_ESECURITY, "t2.jsonl",
                 "party 2's open #3 is mul of 4 words");
    m = NONE;
    m.party = 1;
    m.skip_open = 1;
    run_mutation("party 1 recorded one open less", m, MIMIR_ESECURITY, "t1.jsonl",
                 "party 1 recorded 3 opens, but ");
    m = NONE;
    m.party = 1;
    m.fail_check = 1;
    run_mutation("a failed check", m, MIMIR_ESECURITY, "t1.jsonl",
                 "record 20: party 1 recorded a failed mac check (12 values)");
    m.no_close = 1;
    run_mutation("a failed check before an abort is reported before the missing end", m,
                 MIMIR_ESECURITY, "t1.jsonl", "failed mac check");
    m = NONE;
    m.party = 0;
    m.no_close = 1;
    run_mutation("a party that never closed", m, MIMIR_ESECURITY, "t0.jsonl",
                 "t0.jsonl: : incomplete: no end record");
    m = NONE;
    m.party = 2;
    m.other_session = 1;
    run_mutation("another session", m, MIMIR_ESECURITY, "t2.jsonl",
                 "not transcripts of one run");
    m = NONE;
    m.party = 0;
    m.extra_round = 1;
    run_mutation("a different round count", m, MIMIR_ESECURITY, "t1.jsonl",
                 "party 1 ran 12 rounds, but ");
    {
        /* two files of one party: t1.jsonl given twice, under two names */
        char dir[512], a[1024], b[1024];
        snprintf(dir, sizeof dir, "%s/twice", base);
        copy_dir(good, dir);
        snprintf(a, sizeof a, "%s/t1.jsonl", dir);
        snprintf(b, sizeof b, "%s/t2.jsonl", dir);
        lines L;
        read_lines(a, &L);
        unlink(b);
        write_lines(b, &L);
        free_lines(&L);
        expect("two files of one party", dir, MIMIR_ESECURITY, "t2.jsonl",
               "t1.jsonl is party 1's transcript too");
    }
    {
        /* a file missing: unreadable input */
        char dir[512], path[1024];
        snprintf(dir, sizeof dir, "%s/missing", base);
        copy_dir(good, dir);
        snprintf(path, sizeof path, "%s/t1.jsonl", dir);
        unlink(path);
        expect("a missing file", dir, MIMIR_EINPUT, "t1.jsonl", "cannot open");
    }

    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", base);
    return tap_done();
}
