/*
 * drbg-cavp — runs NIST CAVP HMAC_DRBG response files (.rsp) against lib/drbg.
 *
 *   tests/bin/drbg-cavp FILE.rsp...
 *
 * Every case of every [SHA-256] section with PredictionResistance = False is run, from both the
 * no-reseed and the reseed files (a case with EntropyInputReseed is a reseed case):
 *   Instantiate(EntropyInput, Nonce, PersonalizationString)
 *   [Reseed(EntropyInputReseed, AdditionalInputReseed)]
 *   Generate(ReturnedBitsLen, AdditionalInput #1) (discarded)
 *   Generate(ReturnedBitsLen, AdditionalInput #2) == ReturnedBits
 * Sections of other hashes are skipped by their header ([SHA-1], [SHA-512/256], ...), and
 * [PredictionResistance = True] sections are counted and skipped (not supported); both are
 * reported on "# " lines. Each failing case prints one line naming the file, the section and the
 * COUNT. The last line is exactly "N passed, N failed".
 *
 * Exit status: 0 all passed, 1 some case failed, 2 bad usage or a malformed file (the message
 * names the file and line; no summary is printed), 3 a file cannot be read.
 * Parsing accepts CRLF or LF line endings, blank lines, "#" comments and bracketed parameters,
 * and checks every value's length against the section's bracketed *Len parameters.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drbg.h"

#define PROG "drbg-cavp"
#define MAX_LINE (1u << 20)  /* longest line accepted */
#define MAX_NAME 64          /* longest field or hash name */
#define N_LENS 5

enum { EXIT_FAILED = 1, EXIT_MALFORMED = 2, EXIT_IO = 3 };

/* The bracketed length parameters, in bits, -1 when the section does not give them. */
static const char *const len_names[N_LENS] = {
    "EntropyInputLen", "NonceLen", "PersonalizationStringLen", "AdditionalInputLen",
    "ReturnedBitsLen",
};
enum { L_ENTROPY, L_NONCE, L_PERS, L_ADD, L_RET };

struct value {
    uint8_t *p;
    size_t n;
    int set;
};

/* One test case between "COUNT = n" and "ReturnedBits = ...". */
struct vec {
    int open;     /* a COUNT line was seen and ReturnedBits not yet */
    long count;
    long line;    /* line of the COUNT */
    struct value entropy, nonce, pers, ent_reseed, add_reseed, add[2], ret;
    int nadd;
};

struct section {
    int index;              /* 1-based position in the file, 0 before the first header */
    char hash[MAX_NAME];    /* "SHA-256", "SHA-1", ... */
    int pr;                 /* PredictionResistance: 0 False (also when absent), 1 True */
    long len[N_LENS];
    int in_header;          /* the last content line was a bracketed one */
};

struct file_state {
    const char *path;
    long line;
    struct section sec;
    struct vec v;
    long passed, failed, skipped_pr, skipped_hash;
    int pr_sections, hash_sections;
    int counted_section;    /* the current section was already counted as skipped */
};

static int malformed(const struct file_state *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int malformed(const struct file_state *fs, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: %s:%ld: ", PROG, fs->path, fs->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_MALFORMED;
}

static void value_clear(struct value *x)
{
    free(x->p);
    memset(x, 0, sizeof *x);
}

static void vec_clear(struct vec *v)
{
    value_clear(&v->entropy);
    value_clear(&v->nonce);
    value_clear(&v->pers);
    value_clear(&v->ent_reseed);
    value_clear(&v->add_reseed);
    value_clear(&v->add[0]);
    value_clear(&v->add[1]);
    value_clear(&v->ret);
    memset(v, 0, sizeof *v);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes hex text into a fresh buffer; -1 if it is not an even number of hex digits. */
static int hex_decode(const char *s, struct value *out)
{
    size_t len = strlen(s);
    if (len % 2 != 0)
        return -1;
    uint8_t *p = malloc(len / 2 + 1);
    if (p == NULL)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(p);
            return -1;
        }
        p[i] = (uint8_t)(hi << 4 | lo);
    }
    out->p = p;
    out->n = len / 2;
    out->set = 1;
    return 0;
}

static int section_active(const struct section *s)
{
    return strcmp(s->hash, "SHA-256") == 0 && s->pr == 0;
}

static void section_begin(struct file_state *fs, const char *hash)
{
    struct section *s = &fs->sec;
    s->index++;
    if (hash != s->hash) /* a new section of the same hash keeps the name */
        snprintf(s->hash, sizeof s->hash, "%s", hash);
    s->pr = 0;
    for (int i = 0; i < N_LENS; i++)
        s->len[i] = -1;
    fs->counted_section = 0;
}

/* "[SHA-256]" starts a section; "[Name = value]" sets one of its parameters. */
static int parse_bracket(struct file_state *fs, char *line)
{
    size_t n = strlen(line);
    if (n < 2 || line[n - 1] != ']')
        return malformed(fs, "bracketed line without a closing ']'");
    line[n - 1] = '\0';
    char *inner = trim(line + 1), *eq = strchr(inner, '=');
    if (eq == NULL) {
        if (*inner == '\0' || strlen(inner) >= MAX_NAME)
            return malformed(fs, "empty or overlong section name in brackets");
        section_begin(fs, inner);
        fs->sec.in_header = 1;
        return 0;
    }
    if (fs->sec.index == 0)
        return malformed(fs, "parameter before any [hash] section header");
    if (!fs->sec.in_header) /* parameters after cases start a new section of the same hash */
        section_begin(fs, fs->sec.hash);
    fs->sec.in_header = 1;
    *eq = '\0';
    char *name = trim(inner), *val = trim(eq + 1);
    if (strcmp(name, "PredictionResistance") == 0) {
        if (strcmp(val, "True") == 0)
            fs->sec.pr = 1;
        else if (strcmp(val, "False") == 0)
            fs->sec.pr = 0;
        else
            return malformed(fs, "PredictionResistance = \"%.32s\", expected True or False",
                             val);
        return 0;
    }
    for (int i = 0; i < N_LENS; i++) {
        if (strcmp(name, len_names[i]) != 0)
            continue;
        char *end;
        errno = 0;
        long x = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || errno != 0 || x < 0 || x > (long)MAX_LINE * 4)
            return malformed(fs, "%s = \"%.32s\", expected a number of bits", name, val);
        fs->sec.len[i] = x;
        return 0;
    }
    return 0; /* other parameters do not change how a case runs */
}

/* Checks a value's length against the section's "[NameLen = bits]" parameter, if given. */
static int check_len(struct file_state *fs, const char *name, const struct value *x, int which)
{
    long want = fs->sec.len[which];
    if (want >= 0 && (unsigned long)want != x->n * 8)
        return malformed(fs, "COUNT = %ld: %s has %zu bits, the section says %s = %ld",
                         fs->v.count, name, x->n * 8, len_names[which], want);
    return 0;
}

static void report_failure(struct file_state *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void report_failure(struct file_state *fs, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL %s: [%s] section %d: COUNT = %ld (line %ld): ", fs->path, fs->sec.hash,
           fs->sec.index, fs->v.count, fs->v.line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fs->failed++;
}

/* Runs a complete case of an active section: 0 when it ran (passed or failed), else the exit
 * status of a malformed case. */
static int run_case(struct file_state *fs)
{
    struct vec *v = &fs->v;
    if (!v->entropy.set || !v->nonce.set || !v->pers.set || v->nadd != 2)
        return malformed(fs, "COUNT = %ld: expected EntropyInput, Nonce, PersonalizationString "
                         "and two AdditionalInput lines before ReturnedBits", v->count);
    if (v->ent_reseed.set != v->add_reseed.set)
        return malformed(fs, "COUNT = %ld: a reseed case needs both EntropyInputReseed and "
                         "AdditionalInputReseed", v->count);
    int rc = check_len(fs, "EntropyInput", &v->entropy, L_ENTROPY);
    if (rc == 0)
        rc = check_len(fs, "Nonce", &v->nonce, L_NONCE);
    if (rc == 0)
        rc = check_len(fs, "PersonalizationString", &v->pers, L_PERS);
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = check_len(fs, "AdditionalInput", &v->add[i], L_ADD);
    if (rc == 0 && v->ent_reseed.set)
        rc = check_len(fs, "EntropyInputReseed", &v->ent_reseed, L_ENTROPY);
    if (rc == 0 && v->add_reseed.set)
        rc = check_len(fs, "AdditionalInputReseed", &v->add_reseed, L_ADD);
    if (rc == 0)
        rc = check_len(fs, "ReturnedBits", &v->ret, L_RET);
    if (rc != 0)
        return rc;
    if (v->ret.n == 0 || v->ret.n > MIMIR_DRBG_MAX_REQUEST)
        return malformed(fs, "COUNT = %ld: ReturnedBits has %zu bytes, expected 1 to %d",
                         v->count, v->ret.n, MIMIR_DRBG_MAX_REQUEST);

    mimir_drbg d;
    uint8_t *out = malloc(v->ret.n);
    if (out == NULL)
        return malformed(fs, "out of memory");
    const char *step = "instantiate";
    rc = mimir_drbg_instantiate(&d, v->entropy.p, v->entropy.n, v->nonce.p, v->nonce.n,
                                v->pers.p, v->pers.n);
    if (rc == 0 && v->ent_reseed.set) {
        step = "reseed";
        rc = mimir_drbg_reseed(&d, v->ent_reseed.p, v->ent_reseed.n, v->add_reseed.p,
                               v->add_reseed.n);
    }
    if (rc == 0) {
        step = "generate #1";
        rc = mimir_drbg_generate(&d, out, v->ret.n, v->add[0].p, v->add[0].n);
    }
    if (rc == 0) {
        step = "generate #2";
        rc = mimir_drbg_generate(&d, out, v->ret.n, v->add[1].p, v->add[1].n);
    }
    if (rc != 0)
        report_failure(fs, "%s returned %d, expected 0", step, rc);
    else if (memcmp(out, v->ret.p, v->ret.n) != 0)
        report_failure(fs, "ReturnedBits differ (%s case)",
                       v->ent_reseed.set ? "reseed" : "no-reseed");
    else
        fs->passed++;
    mimir_drbg_wipe(&d);
    free(out);
    return 0;
}

static int end_case(struct file_state *fs)
{
    int rc = 0;
    if (section_active(&fs->sec)) {
        rc = run_case(fs);
    } else if (strcmp(fs->sec.hash, "SHA-256") == 0) {
        fs->skipped_pr++;
        fs->pr_sections += !fs->counted_section;
        fs->counted_section = 1;
    } else {
        fs->skipped_hash++;
        fs->hash_sections += !fs->counted_section;
        fs->counted_section = 1;
    }
    vec_clear(&fs->v);
    return rc;
}

/* Stores "Name = value" in the open case of an active section. */
static int store_field(struct file_state *fs, const char *name, const char *val)
{
    struct vec *v = &fs->v;
    struct value *dst = NULL;
    if (strcmp(name, "EntropyInput") == 0)
        dst = &v->entropy;
    else if (strcmp(name, "Nonce") == 0)
        dst = &v->nonce;
    else if (strcmp(name, "PersonalizationString") == 0)
        dst = &v->pers;
    else if (strcmp(name, "EntropyInputReseed") == 0)
        dst = &v->ent_reseed;
    else if (strcmp(name, "AdditionalInputReseed") == 0)
        dst = &v->add_reseed;
    else if (strcmp(name, "ReturnedBits") == 0)
        dst = &v->ret;
    else if (strcmp(name, "AdditionalInput") == 0) {
        if (v->nadd == 2)
            return malformed(fs, "COUNT = %ld: a third AdditionalInput, expected two",
                             v->count);
        dst = &v->add[v->nadd++];
    } else {
        return malformed(fs, "COUNT = %ld: unknown field \"%.64s\" in a [SHA-256] "
                         "PredictionResistance = False section", v->count, name);
    }
    if (dst->set)
        return malformed(fs, "COUNT = %ld: %s given twice", v->count, name);
    if (hex_decode(val, dst) != 0)
        return malformed(fs, "COUNT = %ld: %s: expected an even number of hex digits",
                         v->count, name);
    return 0;
}

static int parse_field(struct file_state *fs, char *line)
{
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return malformed(fs, "expected \"Name = value\", a [bracketed] parameter or a # comment");
    *eq = '\0';
    char *name = trim(line), *val = trim(eq + 1);
    if (*name == '\0' || strlen(name) >= MAX_NAME)
        return malformed(fs, "empty or overlong field name");
    fs->sec.in_header = 0;
    if (strcmp(name, "COUNT") == 0) {
        if (fs->sec.index == 0)
            return malformed(fs, "COUNT before any [hash] section header");
        if (fs->v.open)
            return malformed(fs, "COUNT = %ld has no ReturnedBits", fs->v.count);
        char *end;
        errno = 0;
        long c = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0' || errno != 0 || c < 0)
            return malformed(fs, "COUNT = \"%.32s\", expected a non-negative number", val);
        vec_clear(&fs->v);
        fs->v.open = 1;
        fs->v.count = c;
        fs->v.line = fs->line;
        return 0;
    }
    if (!fs->v.open)
        return malformed(fs, "%s outside a case (no COUNT line before it)", name);
    if (section_active(&fs->sec)) {
        int rc = store_field(fs, name, val);
        if (rc != 0)
            return rc;
    }
    if (strcmp(name, "ReturnedBits") == 0)
        return end_case(fs);
    return 0;
}

static int parse_line(struct file_state *fs, char *line)
{
    if (fs->line == 1 && (unsigned char)line[0] == 0xef && (unsigned char)line[1] == 0xbb &&
        (unsigned char)line[2] == 0xbf)
        line += 3; /* a UTF-8 byte order mark */
    line = trim(line);
    if (*line == '\0' || *line == '#')
        return 0;
    if (*line == '[')
        return parse_bracket(fs, line);
    return parse_field(fs, line);
}

static int run_file(const char *path, long *passed, long *failed)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "%s: %s: cannot open: %s\n", PROG, path, strerror(errno));
        return EXIT_IO;
    }
    struct file_state fs = {.path = path};
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, fp)) >= 0) {
        fs.line++;
        if ((size_t)got > MAX_LINE)
            rc = malformed(&fs, "line longer than %u bytes", MAX_LINE);
        else if (strlen(line) != (size_t)got)
            rc = malformed(&fs, "NUL byte in a line");
        else
            rc = parse_line(&fs, line);
    }
    if (rc == 0 && ferror(fp)) {
        fprintf(stderr, "%s: %s: read failed: %s\n", PROG, path, strerror(errno));
        rc = EXIT_IO;
    }
    if (rc == 0 && fs.v.open)
        rc = malformed(&fs, "file ends inside COUNT = %ld (no ReturnedBits)", fs.v.count);
    if (rc == 0 && fs.sec.index == 0)
        rc = malformed(&fs, "no [hash] section header: not a CAVP HMAC_DRBG response file");
    free(line);
    vec_clear(&fs.v);
    fclose(fp);
    if (rc != 0)
        return rc;
    if (fs.skipped_pr > 0)
        printf("# %s: skipped %ld cases in %d [SHA-256] [PredictionResistance = True] "
               "sections (prediction resistance is not supported)\n",
               path, fs.skipped_pr, fs.pr_sections);
    if (fs.skipped_hash > 0)
        printf("# %s: skipped %ld cases in %d sections of other hash functions\n", path,
               fs.skipped_hash, fs.hash_sections);
    printf("# %s: %ld passed, %ld failed\n", path, fs.passed, fs.failed);
    *passed += fs.passed;
    *failed += fs.failed;
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: %s FILE.rsp...\n"
                "Runs the [SHA-256] PredictionResistance = False cases of NIST CAVP HMAC_DRBG\n"
                "response files against lib/drbg and ends with \"N passed, N failed\".\n"
                "Exit: 0 all passed, 1 a case failed, 2 usage or malformed file, 3 I/O.\n",
            PROG);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_MALFORMED;
    }
    long passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        int rc = run_file(argv[i], &passed, &failed);
        if (rc != 0)
            return rc;
    }
    if (passed + failed == 0) {
        fprintf(stderr, "%s: no [SHA-256] PredictionResistance = False case in the given "
                        "files; expected at least one\n", PROG);
        return EXIT_MALFORMED;
    }
    printf("%ld passed, %ld failed\n", passed, failed);
    return failed > 0 ? EXIT_FAILED : 0;
}
