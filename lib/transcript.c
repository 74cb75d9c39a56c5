/*
 * transcript.c — hash-chained JSON-lines transcripts and their three-way cross-check
 * (lib/transcript.h; format and semantics in docs/formats.md and protocol.md, "Transcripts").
 *
 * Canonical form. Every record is one line written by hand in a fixed key order with no spaces:
 *     PREFIX ,"chain":"<64 lower-case hex>"} \n
 * where PREFIX is the record from its "{" up to, not including, the ",\"chain\"" part, e.g.
 *     {"type":"send","peer":1,"round":3,"len":48,"sha256":"ab..."
 * chain_0 = SHA-256("mimir-transcript-v1" || session (16 bytes) || u32_be(party)) and each
 * record's chain = SHA-256(previous chain (32 bytes) || PREFIX). The reader parses a line with
 * jansson, re-serialises it with the writer's own formatter and requires the same bytes, so the
 * values it checks are exactly the bytes that were chained.
 */
#include "transcript.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "io.h"
#include "net.h"
#include "sha256.h"

#define DOMAIN "mimir-transcript-v1"
#define HASHBYTES 32
#define HEXBYTES (2 * HASHBYTES)
#define SESSIONBYTES 16
#define MAX_NAME 64     /* tool, open label, check name, note key: at most this many chars */
#define MAX_VALUE 1024  /* note value */
#define SHORT_HEX 16    /* digits of a digest shown in a mismatch message */
#define READ_CHUNK 65536

struct mimir_transcript {
    int fd;              /* -1 once closed */
    char *path;
    uint8_t chain[HASHBYTES];
    uint64_t records;
    int closed;
    mimir_err err;       /* the first error (sticky) */
};

/* ---------------------------------------------------------------------------------------- */
/* Shared by writer and reader: chain values and the canonical text of each record type.     */

static void to_hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void chain0(uint8_t out[HASHBYTES], const uint8_t session[SESSIONBYTES], int party)
{
    mimir_sha256_state st;
    uint8_t be[4] = {(uint8_t)((uint32_t)party >> 24), (uint8_t)((uint32_t)party >> 16),
                     (uint8_t)((uint32_t)party >> 8), (uint8_t)party};
    mimir_sha256_init(&st);
    mimir_sha256_update(&st, (const uint8_t *)DOMAIN, strlen(DOMAIN));
    mimir_sha256_update(&st, session, SESSIONBYTES);
    mimir_sha256_update(&st, be, sizeof be);
    mimir_sha256_final(&st, out);
}

static void chain_next(uint8_t chain[HASHBYTES], const char *prefix, size_t n)
{
    mimir_sha256_state st;
    mimir_sha256_init(&st);
    mimir_sha256_update(&st, chain, HASHBYTES);
    mimir_sha256_update(&st, (const uint8_t *)prefix, n);
    mimir_sha256_final(&st, chain);
}

/* Printable ASCII without '"' and '\\', 1..max characters: such text needs no JSON escaping,
 * so the canonical form is the text itself. */
static int text_ok(const char *s, size_t max)
{
    if (s == NULL)
        return 0;
    size_t n = 0;
    for (; s[n] != '\0'; n++)
        if (n >= max || s[n] < 0x20 || s[n] > 0x7e || s[n] == '"' || s[n] == '\\')
            return 0;
    return n > 0;
}

enum rtype { R_BEGIN, R_SEND, R_RECV, R_OPEN, R_CHECK, R_NOTE, R_END, R_COUNT };
static const char *const type_names[R_COUNT] = {"begin", "send", "recv", "open",
                                               "check", "note", "end"};

/* One record's values, as written or parsed. */
typedef struct rec {
    int type;
    uint8_t session[SESSIONBYTES];
    int party, peer, ok;
    uint64_t version, round, len, count, records, rounds;
    char sha[HEXBYTES + 1];
    char text[MAX_NAME + 1];   /* tool, label, check or key */
    char value[MAX_VALUE + 1]; /* note value */
} rec;

/* The canonical PREFIX of r into buf (room for MIMIR_TRANSCRIPT_MAX_LINE bytes); returns its
 * length, or 0 if it does not fit. */
static size_t format_prefix(char *buf, const rec *r)
{
    size_t cap = MIMIR_TRANSCRIPT_MAX_LINE;
    char sess[2 * SESSIONBYTES + 1];
    int n = -1;
    switch (r->type) {
    case R_BEGIN:
        to_hex(sess, r->session, SESSIONBYTES);
        n = snprintf(buf, cap,
                     "{\"type\":\"begin\",\"session\":\"%s\",\"party\":%d,\"tool\":\"%s\","
                     "\"version\":%" PRIu64, sess, r->party, r->text, r->version);
        break;
    case R_SEND:
    case R_RECV:
        n = snprintf(buf, cap,
                     "{\"type\":\"%s\",\"peer\":%d,\"round\":%" PRIu64 ",\"len\":%" PRIu64
                     ",\"sha256\":\"%s\"", type_names[r->type], r->peer, r->round, r->len,
                     r->sha);
        break;
    case R_OPEN:
        n = snprintf(buf, cap,
                     "{\"type\":\"open\",\"label\":\"%s\",\"count\":%" PRIu64
                     ",\"sha256\":\"%s\"", r->text, r->count, r->sha);
        break;
    case R_CHECK:
        n = snprintf(buf, cap,
                     "{\"type\":\"check\",\"check\":\"%s\",\"count\":%" PRIu64 ",\"ok\":%s",
                     r->text, r->count, r->ok ? "true" : "false");
        break;
    case R_NOTE:
        n = snprintf(buf, cap, "{\"type\":\"note\",\"key\":\"%s\",\"value\":\"%s\"", r->text,
                     r->value);
        break;
    case R_END:
        n = snprintf(buf, cap,
                     "{\"type\":\"end\",\"records\":%" PRIu64 ",\"rounds\":%" PRIu64,
                     r->records, r->rounds);
        break;
    default:
        break;
    }
    /* leave room for ,"chain":"<64>"}\n */
    if (n <= 0 || (size_t)n + 12 + HEXBYTES + 1 >= cap)
        return 0;
    return (size_t)n;
}

/* Appends ,"chain":"<hex>"}\n to the prefix at buf[0..n); returns the line length. */
static size_t finish_line(char *buf, size_t n, const uint8_t chain[HASHBYTES])
{
    char hex[HEXBYTES + 1];
    to_hex(hex, chain, HASHBYTES);
    int m = snprintf(buf + n, MIMIR_TRANSCRIPT_MAX_LINE - n, ",\"chain\":\"%s\"}\n", hex);
    return n + (size_t)m;
}

/* ---------------------------------------------------------------------------------------- */
/* Writer                                                                                    */

static int sticky(mimir_transcript *t)
{
    return t->err.code != MIMIR_OK;
}

static void fail(mimir_transcript *t, int code, const char *field, const char *msg)
{
    if (!sticky(t))
        mimir_err_set(&t->err, code, t->path, field, "%s", msg);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Chains and writes one record with one write(2). */
static void emit(mimir_transcript *t, const rec *r)
{
    if (t == NULL || t->closed || sticky(t))
        return;
    char line[MIMIR_TRANSCRIPT_MAX_LINE];
    size_t n = format_prefix(line, r);
    if (n == 0) {
        fail(t, MIMIR_EINPUT, type_names[r->type], "record longer than the line limit");
        return;
    }
    chain_next(t->chain, line, n);
    size_t len = finish_line(line, n, t->chain);
    if (write_all(t->fd, line, len) != 0) {
        mimir_err_errno(&t->err, t->path, "write failed");
        return;
    }
    t->records++;
}

static int num_ok(mimir_transcript *t, uint64_t v, const char *field)
{
    if (v <= (uint64_t)INT64_MAX) /* the reader (jansson) takes signed 64-bit integers */
        return 1;
    fail(t, MIMIR_EINPUT, field, "value above 2^63-1, expected a smaller count");
    return 0;
}

int mimir_transcript_create(const char *path, const uint8_t session[16], int party,
                            const char *tool, mimir_transcript **out, mimir_err *err)
{
    *out = NULL;
    if (path == NULL || strcmp(path, "-") == 0)
        return mimir_err_set(err, MIMIR_EINPUT, path ? path : "-", NULL,
                             "a transcript must be a file, expected a path (not -)");
    if (party < 0 || party > 2)
        return mimir_err_set(err, MIMIR_EINPUT, path, "party", "party %d, expected 0, 1 or 2",
                             party);
    if (!text_ok(tool, MAX_NAME))
        return mimir_err_set(err, MIMIR_EINPUT, path, "tool",
                             "expected 1 to %d printable ASCII characters without quotes or "
                             "backslashes", MAX_NAME);
    mimir_transcript *t = calloc(1, sizeof *t);
    char *p = strdup(path);
    if (t == NULL || p == NULL) {
        free(t);
        free(p);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    }
    t->path = p;
    t->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (t->fd < 0) {
        int rc = errno == EEXIST
                     ? mimir_err_set(err, MIMIR_EINPUT, path, NULL,
                                     "already exists; a transcript is never overwritten, "
                                     "expected a new path")
                     : mimir_err_errno(err, path, "cannot create");
        free(t->path);
        free(t);
        return rc;
    }
    chain0(t->chain, session, party);
    rec r = {.type = R_BEGIN, .party = party, .version = MIMIR_TRANSCRIPT_VERSION};
    memcpy(r.session, session, SESSIONBYTES);
    snprintf(r.text, sizeof r.text, "%s", tool);
    emit(t, &r);
    if (sticky(t)) {
        int rc = t->err.code;
        if (err != NULL)
            *err = t->err;
        close(t->fd);
        unlink(path); /* ours, and holds no complete record */
        free(t->path);
        free(t);
        return rc;
    }
    *out = t;
    return MIMIR_OK;
}

void mimir_transcript_observer(void *arg, int dir, int peer, uint64_t round,
                               const uint8_t *payload, size_t len)
{
    mimir_transcript *t = arg;
    if (t == NULL || t->closed || sticky(t))
        return;
    if ((dir != MIMIR_NET_SENT && dir != MIMIR_NET_RECEIVED) || peer < 0 || peer > 2) {
        fail(t, MIMIR_EINPUT, "observer", "frame with an unknown direction or peer");
        return;
    }
    if (!num_ok(t, round, "round") || !num_ok(t, len, "len"))
        return;
    rec r = {.type = dir == MIMIR_NET_SENT ? R_SEND : R_RECV, .peer = peer, .round = round,
             .len = len};
    uint8_t h[HASHBYTES];
    mimir_sha256(h, payload != NULL ? payload : (const uint8_t *)"", len);
    to_hex(r.sha, h, HASHBYTES);
    emit(t, &r);
}

void mimir_transcript_open(mimir_transcript *t, const char *label, uint64_t count,
                           const void *buf, size_t len)
{
    if (t == NULL || t->closed || sticky(t))
        return;
    if (!text_ok(label, MAX_NAME)) {
        fail(t, MIMIR_EINPUT, "label", "open label: expected 1 to 64 printable ASCII "
             "characters without quotes or backslashes");
        return;
    }
    if (!num_ok(t, count, "count"))
        return;
    rec r = {.type = R_OPEN, .count = count};
    snprintf(r.text, sizeof r.text, "%s", label);
    uint8_t h[HASHBYTES];
    mimir_sha256(h, buf != NULL ? buf : (const void *)"", len);
    to_hex(r.sha, h, HASHBYTES);
    emit(t, &r);
}

void mimir_transcript_check(mimir_transcript *t, const char *check, uint64_t count, int ok)
{
    if (t == NULL || t->closed || sticky(t))
        return;
    if (!text_ok(check, MAX_NAME)) {
        fail(t, MIMIR_EINPUT, "check", "check name: expected 1 to 64 printable ASCII "
             "characters without quotes or backslashes");
        return;
    }
    if (!num_ok(t, count, "count"))
        return;
    rec r = {.type = R_CHECK, .count = count, .ok = ok == 1};
    snprintf(r.text, sizeof r.text, "%s", check);
    emit(t, &r);
}

void mimir_transcript_note(mimir_transcript *t, const char *key, const char *value)
{
    if (t == NULL || t->closed || sticky(t))
        return;
    if (!text_ok(key, MAX_NAME) || !text_ok(value, MAX_VALUE)) {
        fail(t, MIMIR_EINPUT, "note", "note key (1 to 64) or value (1 to 1024): expected "
             "printable ASCII characters without quotes or backslashes");
        return;
    }
    rec r = {.type = R_NOTE};
    snprintf(r.text, sizeof r.text, "%s", key);
    snprintf(r.value, sizeof r.value, "%s", value);
    emit(t, &r);
}

int mimir_transcript_close(mimir_transcript *t, uint64_t rounds, uint8_t digest[32],
                           mimir_err *err)
{
    if (t == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, NULL, NULL, "no transcript to close");
    if (t->closed)
        return mimir_err_set(err, MIMIR_EINPUT, t->path, NULL, "transcript already closed");
    if (!sticky(t) && num_ok(t, rounds, "rounds")) {
        rec r = {.type = R_END, .records = t->records + 1, .rounds = rounds};
        emit(t, &r);
    }
    if (!sticky(t) && fsync(t->fd) != 0)
        mimir_err_errno(&t->err, t->path, "fsync failed");
    if (close(t->fd) != 0 && !sticky(t))
        mimir_err_errno(&t->err, t->path, "close failed");
    t->fd = -1;
    t->closed = 1;
    if (!sticky(t)) {
        mimir_err e;
        mimir_err_clear(&e);
        if (mimir_fsync_parent(t->path, &e) != MIMIR_OK)
            t->err = e;
    }
    if (sticky(t)) {
        if (err != NULL)
            *err = t->err;
        return t->err.code;
    }
    if (digest != NULL)
        memcpy(digest, t->chain, HASHBYTES);
    return MIMIR_OK;
}

void mimir_transcript_free(mimir_transcript *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd);
    free(t->path);
    free(t);
}

/* ---------------------------------------------------------------------------------------- */
/* Reader. Pass 1 streams each file once: it checks every line and the chain and folds each
 * sequence the cross-check compares (a party's sends to a peer, its receipts from a peer, its
 * opens) into a SHA-256 digest, so memory stays constant whatever the file size. Only when two
 * digests differ does pass 2 stream the two files side by side to name the first difference. */

typedef struct reader {
    FILE *fp;
    const char *path;
    uint8_t buf[READ_CHUNK];
    size_t pos, got, total;
    char line[MIMIR_TRANSCRIPT_MAX_LINE + 1];
    size_t len;          /* of line */
    uint64_t recno;      /* of the last complete line */
    int partial;         /* the file ends in a line without its newline */
} reader;

typedef struct seq {
    mimir_sha256_state st;
    uint64_t n;
    uint8_t digest[HASHBYTES];
} seq;

typedef struct parsed {
    const char *path;
    uint8_t session[SESSIONBYTES];
    int party;
    uint64_t records, frames, checks, rounds;
    int has_end;
    uint64_t cut_short;  /* record number of a last line without its newline, 0 if none */
    uint64_t fail_recno; /* first check record with ok false, 0 if none */
    char fail_check[MAX_NAME + 1];
    uint64_t fail_count;
    uint8_t chain[HASHBYTES];
    seq sent[3], recvd[3], opens; /* by peer; opens */
} parsed;

static int reader_open(reader **out, const char *path, mimir_err *err)
{
    reader *rd = calloc(1, sizeof *rd);
    if (rd == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "out of memory");
    rd->path = path;
    rd->fp = fopen(path, "rb");
    if (rd->fp == NULL) {
        int e = errno;
        free(rd);
        return mimir_err_set(err, MIMIR_EINPUT, path, NULL, "cannot open: %s", strerror(e));
    }
    *out = rd;
    return MIMIR_OK;
}

static void reader_close(reader *rd)
{
    if (rd == NULL)
        return;
    fclose(rd->fp);
    free(rd);
}

/* The next complete line into rd->line (NUL-terminated, no newline): returns 1, 0 at the end
 * of the file (rd->partial set if bytes without a newline remain), or minus an error code. */
static int reader_next(reader *rd, mimir_err *err)
{
    char field[32];
    rd->len = 0;
    for (;;) {
        if (rd->pos == rd->got) {
            rd->got = fread(rd->buf, 1, READ_CHUNK, rd->fp);
            rd->pos = 0;
            if (rd->got == 0) {
                if (ferror(rd->fp))
                    return -mimir_err_errno(err, rd->path, "read failed");
                rd->partial = rd->len > 0;
                return 0;
            }
            rd->total += rd->got;
            if (rd->total > MIMIR_TRANSCRIPT_MAX_BYTES)
                return -mimir_err_set(err, MIMIR_EINPUT, rd->path, NULL,
                                      "larger than the limit of %zu bytes",
                                      MIMIR_TRANSCRIPT_MAX_BYTES);
        }
        uint8_t c = rd->buf[rd->pos++];
        if (c == '\n') {
            rd->line[rd->len] = '\0';
            rd->recno++;
            return 1;
        }
        if (c >= 0x20 && c <= 0x7e && rd->len < MIMIR_TRANSCRIPT_MAX_LINE) {
            rd->line[rd->len++] = (char)c;
            continue;
        }
        snprintf(field, sizeof field, "record %" PRIu64, rd->recno + 1);
        if (c < 0x20 || c > 0x7e)
            return -mimir_err_set(err, MIMIR_EINPUT, rd->path, field,
                                  "byte 0x%02x, expected printable ASCII JSON", c);
        return -mimir_err_set(err, MIMIR_EINPUT, rd->path, field,
                              "line longer than %d bytes, expected one transcript record",
                              MIMIR_TRANSCRIPT_MAX_LINE);
    }
}

/* What a sequence digest covers, unambiguously: frames round || len || sha256 (hex); opens
 * count || label length || label || sha256 (hex). */
static void le64(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (8 * i));
}

static void seq_add(seq *q, const rec *r)
{
    uint8_t w[17];
    if (r->type == R_OPEN) {
        le64(w, r->count);
        w[8] = (uint8_t)strlen(r->text);
        mimir_sha256_update(&q->st, w, 9);
        mimir_sha256_update(&q->st, (const uint8_t *)r->text, w[8]);
    } else {
        le64(w, r->round);
        le64(w + 8, r->len);
        mimir_sha256_update(&q->st, w, 16);
    }
    mimir_sha256_update(&q->st, (const uint8_t *)r->sha, HEXBYTES);
    q->n++;
}

static void parsed_init(parsed *p, const char *path)
{
    memset(p, 0, sizeof *p);
    p->path = path;
    p->party = -1;
    for (int i = 0; i < 3; i++) {
        mimir_sha256_init(&p->sent[i].st);
        mimir_sha256_init(&p->recvd[i].st);
    }
    mimir_sha256_init(&p->opens.st);
}

static void parsed_finish(parsed *p)
{
    for (int i = 0; i < 3; i++) {
        mimir_sha256_final(&p->sent[i].st, p->sent[i].digest);
        mimir_sha256_final(&p->recvd[i].st, p->recvd[i].digest);
    }
    mimir_sha256_final(&p->opens.st, p->opens.digest);
}

/* Field access with exact types; each returns 0 on success. */
static int get_str(json_t *o, const char *key, char *out, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    if (!text_ok(s, max))
        return -1;
    snprintf(out, max + 1, "%s", s);
    return 0;
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_hex(json_t *o, const char *key, char *out, size_t digits)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) != digits)
        return -1;
    const char *s = json_string_value(v);
    for (size_t i = 0; i < digits; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    memcpy(out, s, digits);
    out[digits] = '\0';
    return 0;
}

static const char *const type_keys[R_COUNT][6] = {
    {"session", "party", "tool", "version"},
    {"peer", "round", "len", "sha256"},
    {"peer", "round", "len", "sha256"},
    {"label", "count", "sha256"},
    {"check", "count", "ok"},
    {"key", "value"},
    {"records", "rounds"},
};

/* Parses one line (NUL-terminated, without its newline) into r and its chain value.
 * Returns 0, or fills err (MIMIR_EINPUT) and returns its code. */
static int parse_line(const parsed *p, uint64_t recno, const char *line, size_t n, rec *r,
                      uint8_t chain[HASHBYTES], mimir_err *err)
{
    char field[32];
    snprintf(field, sizeof field, "record %" PRIu64, recno);
    json_error_t je;
    json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, p->path, field,
                             "not JSON (%.80s at column %d), expected one transcript record "
                             "per line", je.text, je.column);
    int rc = MIMIR_EINPUT;
    const char *what = NULL;
    char tbuf[MAX_NAME + 1];
    memset(r, 0, sizeof *r);
    if (!json_is_object(o)) {
        what = "not a JSON object, expected a transcript record";
        goto out;
    }
    if (get_str(o, "type", tbuf, MAX_NAME) != 0) {
        what = "no \"type\" string, expected a transcript record";
        goto out;
    }
    r->type = -1;
    for (int i = 0; i < R_COUNT; i++)
        if (strcmp(tbuf, type_names[i]) == 0)
            r->type = i;
    if (r->type < 0) {
        mimir_err_set(err, rc, p->path, field,
                      "unknown record type \"%.64s\", expected begin, send, recv, open, check, "
                      "note or end", tbuf);
        goto done;
    }
    /* exactly "type", the type's keys and "chain" */
    size_t nkeys = 0;
    while (nkeys < 6 && type_keys[r->type][nkeys] != NULL)
        nkeys++;
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        int known = strcmp(key, "type") == 0 || strcmp(key, "chain") == 0;
        for (size_t k = 0; k < nkeys && !known; k++)
            known = strcmp(key, type_keys[r->type][k]) == 0;
        if (!known) {
            mimir_err_set(err, rc, p->path, field,
                          "unexpected key \"%.40s\" in a %s record", key, tbuf);
            goto done;
        }
    }
    if (json_object_size(o) != nkeys + 2) {
        char list[128] = "type";
        for (size_t k = 0; k < nkeys; k++) {
            strcat(list, ", ");
            strcat(list, type_keys[r->type][k]);
        }
        mimir_err_set(err, rc, p->path, field, "a %s record needs the keys %s, chain", tbuf,
                      list);
        goto done;
    }
    char chex[HEXBYTES + 1], shex[2 * SESSIONBYTES + 1];
    uint64_t u;
    if (get_hex(o, "chain", chex, HEXBYTES) != 0) {
        what = "\"chain\": expected 64 lower-case hex digits";
        goto out;
    }
    switch (r->type) {
    case R_BEGIN:
        if (get_hex(o, "session", shex, 2 * SESSIONBYTES) != 0) {
            what = "\"session\": expected 32 lower-case hex digits";
            goto out;
        }
        if (get_u64(o, "party", &u) != 0 || u > 2) {
            what = "\"party\": expected 0, 1 or 2";
            goto out;
        }
        r->party = (int)u;
        if (get_str(o, "tool", r->text, MAX_NAME) != 0) {
            what = "\"tool\": expected 1 to 64 printable characters";
            goto out;
        }
        if (get_u64(o, "version", &r->version) != 0) {
            what = "\"version\": expected an integer";
            goto out;
        }
        if (r->version != MIMIR_TRANSCRIPT_VERSION) {
            mimir_err_set(err, rc, p->path, field, "version %" PRIu64 ", expected %d",
                          r->version, MIMIR_TRANSCRIPT_VERSION);
            goto done;
        }
        size_t got;
        if (mimir_hex_decode(shex, 2 * SESSIONBYTES, r->session, SESSIONBYTES, &got, NULL) != 0) {
            what = "\"session\": expected 32 lower-case hex digits";
            goto out;
        }
        break;
    case R_SEND:
    case R_RECV:
        if (get_u64(o, "peer", &u) != 0 || u > 2 || (int)u == p->party) {
            what = "\"peer\": expected another party's index (0, 1 or 2)";
            goto out;
        }
        r->peer = (int)u;
        if (get_u64(o, "round", &r->round) != 0 || get_u64(o, "len", &r->len) != 0) {
            what = "\"round\" and \"len\": expected non-negative integers";
            goto out;
        }
        if (get_hex(o, "sha256", r->sha, HEXBYTES) != 0) {
            what = "\"sha256\": expected 64 lower-case hex digits";
            goto out;
        }
        break;
    case R_OPEN:
        if (get_str(o, "label", r->text, MAX_NAME) != 0 || get_u64(o, "count", &r->count) != 0 ||
            get_hex(o, "sha256", r->sha, HEXBYTES) != 0) {
            what = "open: expected a label (1 to 64 printable characters), a count and 64 "
                   "lower-case hex digits";
            goto out;
        }
        break;
    case R_CHECK: {
        json_t *ok = json_object_get(o, "ok");
        if (get_str(o, "check", r->text, MAX_NAME) != 0 || get_u64(o, "count", &r->count) != 0 ||
            !json_is_boolean(ok)) {
            what = "check: expected a name (1 to 64 printable characters), a count and ok "
                   "true or false";
            goto out;
        }
        r->ok = json_is_true(ok);
        break;
    }
    case R_NOTE:
        if (get_str(o, "key", r->text, MAX_NAME) != 0 ||
            get_str(o, "value", r->value, MAX_VALUE) != 0) {
            what = "note: expected a key (1 to 64) and a value (1 to 1024 printable characters)";
            goto out;
        }
        break;
    case R_END:
        if (get_u64(o, "records", &r->records) != 0 || get_u64(o, "rounds", &r->rounds) != 0) {
            what = "end: expected integer \"records\" and \"rounds\"";
            goto out;
        }
        break;
    }
    /* canonical form: the writer's bytes exactly */
    char canon[MIMIR_TRANSCRIPT_MAX_LINE];
    size_t m = format_prefix(canon, r);
    size_t got_chain;
    if (m == 0 || mimir_hex_decode(chex, HEXBYTES, chain, HASHBYTES, &got_chain, NULL) != 0) {
        what = "record too long";
        goto out;
    }
    size_t full = finish_line(canon, m, chain);
    if (full - 1 != n || memcmp(canon, line, n) != 0) {
        what = "not in canonical form (key order, spacing or number format differ from the "
               "writer's), expected the line exactly as mimir wrote it";
        goto out;
    }
    rc = MIMIR_OK;
out:
    if (what != NULL)
        mimir_err_set(err, rc, p->path, field, "%s", what);
done:
    json_decref(o);
    return rc;
}

/* Verifies the link and folds r into p. Returns 0 or an error code. */
static int add_record(parsed *p, uint64_t recno, const rec *r, const char *line,
                      const uint8_t chain[HASHBYTES], mimir_err *err)
{
    char field[32];
    snprintf(field, sizeof field, "record %" PRIu64, recno);
    if (recno == 1) {
        if (r->type != R_BEGIN)
            return mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                                 "a %s record where the begin record must be: the begin record "
                                 "is missing (deleted or reordered?)", type_names[r->type]);
        memcpy(p->session, r->session, SESSIONBYTES);
        p->party = r->party;
        chain0(p->chain, r->session, r->party);
    } else if (r->type == R_BEGIN) {
        return mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                             "a second begin record: two transcripts joined?");
    }
    if (p->has_end)
        return mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                             "a record after the end record (appended after the run?)");
    /* the canonical check guarantees one ,"chain":" and that it is the last key */
    const char *comma = strstr(line, ",\"chain\":\"");
    chain_next(p->chain, line, (size_t)(comma - line));
    if (sodium_memcmp(p->chain, chain, HASHBYTES) != 0)
        return mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                             "chain does not link: this record or one before it was changed, "
                             "inserted, deleted or reordered");
    p->records = recno;
    switch (r->type) {
    case R_SEND:
        seq_add(&p->sent[r->peer], r);
        p->frames++;
        break;
    case R_RECV:
        seq_add(&p->recvd[r->peer], r);
        p->frames++;
        break;
    case R_OPEN:
        seq_add(&p->opens, r);
        break;
    case R_CHECK:
        p->checks++;
        if (!r->ok && p->fail_recno == 0) {
            p->fail_recno = recno;
            p->fail_count = r->count;
            memcpy(p->fail_check, r->text, sizeof p->fail_check);
        }
        break;
    case R_END:
        if (r->records != recno)
            return mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                                 "end record counts %" PRIu64 " records, but it is record %"
                                 PRIu64, r->records, recno);
        p->has_end = 1;
        p->rounds = r->rounds;
        break;
    default:
        break;
    }
    return MIMIR_OK;
}

/* Pass 1 over one file. */
static int scan(parsed *p, mimir_err *err)
{
    reader *rd = NULL;
    int rc = reader_open(&rd, p->path, err);
    if (rc != MIMIR_OK)
        return rc;
    rec *r = malloc(sizeof *r);
    if (r == NULL) {
        reader_close(rd);
        return mimir_err_set(err, MIMIR_ERUNTIME, p->path, NULL, "out of memory");
    }
    int got;
    while ((got = reader_next(rd, err)) == 1) {
        uint8_t chain[HASHBYTES];
        rc = parse_line(p, rd->recno, rd->line, rd->len, r, chain, err);
        if (rc == MIMIR_OK)
            rc = add_record(p, rd->recno, r, rd->line, chain, err);
        if (rc != MIMIR_OK)
            break;
    }
    if (got < 0)
        rc = -got;
    if (rc == MIMIR_OK && rd->recno == 0 && !rd->partial)
        rc = mimir_err_set(err, MIMIR_EINPUT, p->path, NULL,
                           "empty, expected a transcript (JSON lines from a begin record)");
    if (rc == MIMIR_OK && rd->partial) {
        /* a last record cut short: the writer crashed inside a write; cross_check reports the
         * file as incomplete (after any failed check it recorded) */
        char field[32];
        snprintf(field, sizeof field, "record %" PRIu64, rd->recno + 1);
        if (rd->recno == 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, p->path, field,
                               "no complete line, expected a transcript");
        else if (p->has_end)
            rc = mimir_err_set(err, MIMIR_ESECURITY, p->path, field,
                               "bytes after the end record (appended after the run?)");
        else
            p->cut_short = rd->recno + 1;
    }
    free(r);
    reader_close(rd);
    parsed_finish(p);
    return rc;
}

/* Pass 2: the next record of p's file of type type (and peer, for frames); returns 1, 0 at the
 * end, or minus an error code. */
static int next_of(reader *rd, const parsed *p, int type, int peer, rec *r, mimir_err *err)
{
    int got;
    while ((got = reader_next(rd, err)) == 1) {
        uint8_t chain[HASHBYTES];
        int rc = parse_line(p, rd->recno, rd->line, rd->len, r, chain, err);
        if (rc != MIMIR_OK)
            return -rc;
        if (r->type == type && (type == R_OPEN || r->peer == peer))
            return 1;
    }
    return got;
}

/* ---------------------------------------------------------------------------------------- */
/* The cross-check                                                                           */

static int changed(const parsed *a, const parsed *b, mimir_err *err)
{
    return mimir_err_set(err, MIMIR_ERUNTIME, a->path, NULL,
                         "changed while it was being checked against %s, expected files that "
                         "stay as they are", b->path);
}

/* Names the first difference between A's sends to B and B's receipts from A, whose sequence
 * digests differ (pass 2). */
static int locate_frames(const parsed *a, const parsed *b, mimir_err *err)
{
    reader *ra = NULL, *rb = NULL;
    rec *fs = malloc(sizeof *fs), *fr = malloc(sizeof *fr);
    int rc = fs && fr ? MIMIR_OK : mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = reader_open(&ra, a->path, err);
    if (rc == MIMIR_OK)
        rc = reader_open(&rb, b->path, err);
    while (rc == MIMIR_OK) {
        int gs = next_of(ra, a, R_SEND, b->party, fs, err);
        int gr = gs < 0 ? 0 : next_of(rb, b, R_RECV, a->party, fr, err);
        if (gs < 0 || gr < 0) {
            rc = gs < 0 ? -gs : -gr;
        } else if (gs == 1 && gr == 1) {
            if (fs->round == fr->round && fs->len == fr->len && strcmp(fs->sha, fr->sha) == 0)
                continue;
            char field[32];
            snprintf(field, sizeof field, "record %" PRIu64, rb->recno);
            rc = mimir_err_set(err, MIMIR_ESECURITY, b->path, field,
                               "party %d received round %" PRIu64 " from party %d with len %"
                               PRIu64 " sha256 %.*s..., but %s: record %" PRIu64 ": party %d "
                               "sent round %" PRIu64 " with len %" PRIu64 " sha256 %.*s...",
                               b->party, fr->round, a->party, fr->len, SHORT_HEX, fr->sha,
                               a->path, ra->recno, a->party, fs->round, fs->len, SHORT_HEX,
                               fs->sha);
        } else if (gs == 1) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, a->path, NULL,
                               "record %" PRIu64 ": party %d sent round %" PRIu64 " to party %d, "
                               "but %s: party %d recorded only %" PRIu64 " frames from party %d",
                               ra->recno, a->party, fs->round, b->party, b->path, b->party,
                               b->recvd[a->party].n, a->party);
        } else if (gr == 1) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, b->path, NULL,
                               "record %" PRIu64 ": party %d received round %" PRIu64 " from "
                               "party %d, but %s: party %d recorded only %" PRIu64 " frames "
                               "sent to party %d", rb->recno, b->party, fr->round, a->party,
                               a->path, a->party, a->sent[b->party].n, b->party);
        } else {
            rc = changed(a, b, err);
        }
    }
    reader_close(ra);
    reader_close(rb);
    free(fs);
    free(fr);
    return rc;
}

/* Names the first difference between party 0's opens and party q's (pass 2). */
static int locate_opens(const parsed *p0, const parsed *q, mimir_err *err)
{
    reader *ra = NULL, *rb = NULL;
    rec *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    int rc = a && b ? MIMIR_OK : mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = reader_open(&ra, p0->path, err);
    if (rc == MIMIR_OK)
        rc = reader_open(&rb, q->path, err);
    uint64_t i = 0;
    while (rc == MIMIR_OK) {
        int ga = next_of(ra, p0, R_OPEN, -1, a, err);
        int gb = ga < 0 ? 0 : next_of(rb, q, R_OPEN, -1, b, err);
        if (ga < 0 || gb < 0) {
            rc = ga < 0 ? -ga : -gb;
        } else if (ga == 1 && gb == 1) {
            i++;
            if (a->count == b->count && strcmp(a->text, b->text) == 0 &&
                strcmp(a->sha, b->sha) == 0)
                continue;
            char field[32];
            snprintf(field, sizeof field, "record %" PRIu64, rb->recno);
            rc = mimir_err_set(err, MIMIR_ESECURITY, q->path, field,
                               "party %d's open #%" PRIu64 " is %s of %" PRIu64 " words with "
                               "sha256 %.*s..., but %s: record %" PRIu64 ": party %d's is %s of %"
                               PRIu64 " words with sha256 %.*s...", q->party, i, b->text,
                               b->count, SHORT_HEX, b->sha, p0->path, ra->recno, p0->party,
                               a->text, a->count, SHORT_HEX, a->sha);
        } else if (ga == 1 || gb == 1) {
            rc = mimir_err_set(err, MIMIR_ESECURITY, q->path, NULL,
                               "party %d recorded %" PRIu64 " opens, but %s: party %d recorded %"
                               PRIu64, q->party, q->opens.n, p0->path, p0->party, p0->opens.n);
        } else {
            rc = changed(q, p0, err);
        }
    }
    reader_close(ra);
    reader_close(rb);
    free(a);
    free(b);
    return rc;
}

static int cross_check(parsed *in, mimir_transcript_report *report, mimir_err *err)
{
    /* a failed check is the most telling: report it before an incomplete file */
    for (int i = 0; i < 3; i++)
        if (in[i].fail_recno != 0) {
            char field[32];
            snprintf(field, sizeof field, "record %" PRIu64, in[i].fail_recno);
            return mimir_err_set(err, MIMIR_ESECURITY, in[i].path, field,
                                 "party %d recorded a failed %s check (%" PRIu64 " values)",
                                 in[i].party, in[i].fail_check, in[i].fail_count);
        }
    for (int i = 0; i < 3; i++) {
        if (in[i].cut_short != 0) {
            char field[32];
            snprintf(field, sizeof field, "record %" PRIu64, in[i].cut_short);
            return mimir_err_set(err, MIMIR_ESECURITY, in[i].path, field,
                                 "incomplete: the last record is cut short (the run did not "
                                 "finish)");
        }
        if (!in[i].has_end)
            return mimir_err_set(err, MIMIR_ESECURITY, in[i].path, NULL,
                                 "incomplete: no end record (the run did not finish)");
    }
    for (int i = 1; i < 3; i++)
        if (memcmp(in[i].session, in[0].session, SESSIONBYTES) != 0) {
            char s0[2 * SESSIONBYTES + 1], si[2 * SESSIONBYTES + 1];
            to_hex(s0, in[0].session, SESSIONBYTES);
            to_hex(si, in[i].session, SESSIONBYTES);
            return mimir_err_set(err, MIMIR_ESECURITY, in[i].path, "session",
                                 "%s, but %s: session %s: not transcripts of one run", si,
                                 in[0].path, s0);
        }
    parsed *by[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        parsed *other = by[in[i].party];
        if (other != NULL)
            return mimir_err_set(err, MIMIR_ESECURITY, in[i].path, "party",
                                 "party %d, but %s is party %d's transcript too; expected "
                                 "parties 0, 1 and 2 once each", in[i].party, other->path,
                                 in[i].party);
        by[in[i].party] = &in[i];
    }
    for (int i = 1; i < 3; i++)
        if (by[i]->rounds != by[0]->rounds)
            return mimir_err_set(err, MIMIR_ESECURITY, by[i]->path, "rounds",
                                 "party %d ran %" PRIu64 " rounds, but %s: party 0 ran %" PRIu64,
                                 i, by[i]->rounds, by[0]->path, by[0]->rounds);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const seq *s = &by[a]->sent[b], *rv = &by[b]->recvd[a];
            if (a != b && (s->n != rv->n || memcmp(s->digest, rv->digest, HASHBYTES) != 0))
                return locate_frames(by[a], by[b], err);
        }
    for (int i = 1; i < 3; i++)
        if (by[i]->opens.n != by[0]->opens.n ||
            memcmp(by[i]->opens.digest, by[0]->opens.digest, HASHBYTES) != 0)
            return locate_opens(by[0], by[i], err);
    if (report != NULL) {
        memset(report, 0, sizeof *report);
        memcpy(report->session, by[0]->session, SESSIONBYTES);
        for (int i = 0; i < 3; i++) {
            report->records[i] = by[i]->records;
            report->frames[i] = by[i]->frames;
            report->rounds[i] = by[i]->rounds;
            report->checks += by[i]->checks;
            memcpy(report->final_chain[i], by[i]->chain, HASHBYTES);
        }
        report->opens = by[0]->opens.n;
    }
    return MIMIR_OK;
}

int mimir_transcript_verify3(const char *const paths[3], mimir_transcript_report *report,
                             mimir_err *err)
{
    parsed *in = malloc(3 * sizeof *in);
    if (in == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    for (int i = 0; i < 3; i++)
        parsed_init(&in[i], paths[i]);
    int rc = MIMIR_OK;
    for (int i = 0; i < 3 && rc == MIMIR_OK; i++) {
        if (paths[i] == NULL || strcmp(paths[i], "-") == 0)
            rc = mimir_err_set(err, MIMIR_EINPUT, paths[i] ? paths[i] : "-", NULL,
                               "expected a transcript file (not -)");
        else
            rc = scan(&in[i], err);
    }
    if (rc == MIMIR_OK)
        rc = cross_check(in, report, err);
    free(in);
    return rc;
}
