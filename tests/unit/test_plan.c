/* test_plan.c — mimir_plan_file_items, the one parser of `mimir-triples deal --plan` and
 * `generate --plan`: a valid plan fills the request; each bad one gives its exit code, field
 * and message (the CLI prints them as they are, and scripts match them). The counting source
 * (lib/prep_count.c) writes boolean triples and comparison masks into its plan, which the
 * parser reads back. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plan.h"
#include "prep.h"
#include "tap.h"

#define EDABITS_LIMIT ((uint64_t)1 << 36) /* deal's */

typedef struct bad_case {
    const char *name, *json;
    int code;
    const char *field, *msg; /* msg: a prefix of the message */
} bad_case;

static const bad_case bad[] = {
    {"unknown kind", "{\"version\": 1, \"items\": [{\"kind\": \"dabit\", \"count\": 5}]}",
     MIMIR_EINPUT, "items[0].kind",
     "expected \"triple\", \"matrix\", \"trunc\", \"edabit\", \"wmask\", \"wpair\", \"btriple\" or \"cmask\""},
    {"unknown item key",
     "{\"version\": 1, \"items\": [{\"kind\": \"triple\", \"count\": 5, \"colour\": 1}]}",
     MIMIR_EINPUT, "items[0].colour", "unknown key"},
    {"unknown top-level key", "{\"version\": 1, \"items\": [], \"extra\": 0}", MIMIR_EINPUT,
     "extra", "unknown key"},
    {"a pair naming a missing mask",
     "{\"version\": 1, \"items\": [{\"kind\": \"wmask\", \"inner\": 2, \"cols\": 2, "
     "\"count\": 1}, {\"kind\": \"wpair\", \"mask\": 1, \"rows\": 1, \"transposed\": 0, "
     "\"count\": 1}]}",
     MIMIR_EINPUT, "items[1].mask",
     "mask 1, but the plan has 1 weight mask (expected 0 to the last)"},
    {"a pair before any mask",
     "{\"version\": 1, \"items\": [{\"kind\": \"wpair\", \"mask\": 0, \"rows\": 1, "
     "\"transposed\": 0, \"count\": 1}]}",
     MIMIR_EINPUT, "items[0].mask",
     "mask 0, but the plan has 0 weight masks (expected a \"wmask\" item first)"},
    {"a pair too large for its mask",
     "{\"version\": 1, \"items\": [{\"kind\": \"wmask\", \"inner\": 16384, \"cols\": 16384, "
     "\"count\": 1}, {\"kind\": \"wpair\", \"mask\": 0, \"rows\": 16385, \"transposed\": 0, "
     "\"count\": 1}]}",
     MIMIR_EINPUT, "items[1].rows", "16385 rows against mask 0: a matrix of more than"},
    {"a triple count over the limit",
     "{\"version\": 1, \"items\": [{\"kind\": \"triple\", \"count\": 1099511627777}]}",
     MIMIR_EINPUT, "items[0].count", "expected an integer from 0 to 1099511627776"},
    {"an edaBit count over the caller's limit",
     "{\"version\": 1, \"items\": [{\"kind\": \"edabit\", \"count\": 68719476737}]}",
     MIMIR_EINPUT, "items[0].count", "expected an integer from 0 to 68719476736"},
    {"triples over the limit in total",
     "{\"version\": 1, \"items\": [{\"kind\": \"triple\", \"count\": 1099511627776}, "
     "{\"kind\": \"triple\", \"count\": 1}]}",
     MIMIR_EINPUT, "items[1].kind", "too many triples in total"},
    {"a trunc f over 63",
     "{\"version\": 1, \"items\": [{\"kind\": \"trunc\", \"f\": 64, \"count\": 5}]}",
     MIMIR_EINPUT, "items[0].f", "expected an integer from 1 to 63"},
    {"a matrix dimension of 0",
     "{\"version\": 1, \"items\": [{\"kind\": \"matrix\", \"rows\": 0, \"inner\": 2, "
     "\"cols\": 2, \"count\": 1}]}",
     MIMIR_EINPUT, "items[0].rows", "expected an integer from 1"},
    {"a matrix too large",
     "{\"version\": 1, \"items\": [{\"kind\": \"matrix\", \"rows\": 16384, \"inner\": 16385, "
     "\"cols\": 1, \"count\": 1}]}",
     MIMIR_EINPUT, "items[0].kind", "a matrix of more than 268435456 elements"},
    {"a wmask count of 2",
     "{\"version\": 1, \"items\": [{\"kind\": \"wmask\", \"inner\": 2, \"cols\": 2, "
     "\"count\": 2}]}",
     MIMIR_EINPUT, "items[0].count", "expected an integer from 1 to 1"},
    {"a missing count", "{\"version\": 1, \"items\": [{\"kind\": \"edabit\"}]}", MIMIR_EINPUT,
     "items[0].count", "missing"},
    {"an item that is not an object", "{\"version\": 1, \"items\": [3]}", MIMIR_EINPUT,
     "items[0]", "expected an object with \"kind\""},
    {"version 2", "{\"version\": 2, \"items\": []}", MIMIR_EINPUT, "version", "expected 1"},
    {"no version", "{\"items\": []}", MIMIR_EINPUT, "version", "missing, expected 1"},
    {"items not an array", "{\"version\": 1, \"items\": {}}", MIMIR_EINPUT, "items",
     "expected an array of items"},
    {"not an object", "[1, 2]", MIMIR_EINPUT, "", "expected a JSON object"},
    {"a duplicate key", "{\"version\": 1, \"version\": 1, \"items\": []}", MIMIR_EINPUT, "",
     "not valid JSON"},
    {"not JSON", "{\"version\": 1, \"items\": [", MIMIR_EINPUT, "", "not valid JSON"},
};

static const char valid[] =
    "{\"version\": 1, \"model\": {\"name\": \"tiny\"}, \"generation\": {\"tokens\": 3},\n"
    " \"items\": [{\"kind\": \"triple\", \"count\": 100},\n"
    "  {\"kind\": \"matrix\", \"rows\": 1, \"inner\": 4, \"cols\": 6, \"count\": 3},\n"
    "  {\"kind\": \"matrix\", \"rows\": 2, \"inner\": 2, \"cols\": 2, \"count\": 0},\n"
    "  {\"kind\": \"trunc\", \"f\": 12, \"count\": 40}, {\"kind\": \"trunc\", \"count\": 7},\n"
    "  {\"kind\": \"edabit\", \"count\": 9}, {\"kind\": \"triple\", \"count\": 28},\n"
    "  {\"kind\": \"wmask\", \"inner\": 4, \"cols\": 6, \"count\": 1},\n"
    "  {\"kind\": \"wmask\", \"inner\": 3, \"cols\": 5, \"count\": 1},\n"
    "  {\"kind\": \"wpair\", \"mask\": 0, \"rows\": 2, \"transposed\": 0, \"count\": 3},\n"
    "  {\"kind\": \"wpair\", \"mask\": 1, \"rows\": 1, \"transposed\": 1, \"count\": 2}]}\n";

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_valid(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/valid.json", dir);
    mimir_plan_items *it = calloc(1, sizeof *it);
    mimir_err err = {0};
    mimir_err_clear(&err);
    if (it == NULL || write_text(path, valid) != 0) {
        CHECK(0, "set up the valid plan");
        free(it);
        return;
    }
    it->triples = 2; /* the caller's own items are kept and added to */
    int rc = mimir_plan_file_items(path, EDABITS_LIMIT, it, &err);
    CHECK(rc == MIMIR_OK, "a valid plan reads (got %d: %s: %s)", rc, err.field, err.msg);
    CHECK(it->triples == 130 && it->edabits == 9,
          "triples 2 + 100 + 28, edaBits 9 (got %llu, %llu)", (unsigned long long)it->triples,
          (unsigned long long)it->edabits);
    CHECK(it->nmat == 1 && it->mat[0].rows == 1 && it->mat[0].inner == 4 &&
              it->mat[0].cols == 6 && it->mat[0].count == 3,
          "one matrix entry 1x4x6:3, the count-0 one left out (got %zu)", it->nmat);
    CHECK(it->ntr == 2 && it->tr[0].f == 12 && it->tr[0].count == 40 &&
              it->tr[1].f == MIMIR_PLAN_DEFAULT_F && it->tr[1].count == 7,
          "trunc 40 at f 12 and 7 at the default f (got %zu)", it->ntr);
    CHECK(it->nwm == 2 && it->wm[0].inner == 4 && it->wm[0].cols == 6 && it->wm[1].inner == 3 &&
              it->wm[1].cols == 5,
          "two masks in plan order (got %zu)", it->nwm);
    CHECK(it->nwp == 2 && it->wp[0].mask == 0 && it->wp[0].rows == 2 &&
              !it->wp[0].transposed && it->wp[0].count == 3 && it->wp[0].item == 9 &&
              it->wp[1].mask == 1 && it->wp[1].transposed && it->wp[1].item == 10,
          "two pairs with their masks and item indices (got %zu)", it->nwp);
    uint64_t na, nc;
    mimir_plan_wpair_elems(&it->wm[1], &it->wp[1], &na, &nc);
    CHECK(na == 5 && nc == 3, "a transposed pair of 1 row on a 3x5 mask: A 5, C 3 (got %llu, %llu)",
          (unsigned long long)na, (unsigned long long)nc);
    free(it);
}

static void test_bad(const char *dir)
{
    char path[256];
    mimir_plan_items *it = malloc(sizeof *it);
    if (it == NULL) {
        CHECK(0, "out of memory");
        return;
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const bad_case *c = &bad[i];
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
        memset(it, 0, sizeof *it);
        mimir_err err = {0};
        mimir_err_clear(&err);
        if (write_text(path, c->json) != 0) {
            CHECK(0, "%s: write the plan", c->name);
            continue;
        }
        int rc = mimir_plan_file_items(path, EDABITS_LIMIT, it, &err);
        CHECK(rc == c->code && err.code == c->code, "%s: code %d (got %d)", c->name, c->code,
              rc);
        CHECK(strcmp(err.file, path) == 0 && strcmp(err.field, c->field) == 0,
              "%s: names %s and field '%s' (got %s, '%s')", c->name, path, c->field, err.file,
              err.field);
        CHECK(strncmp(err.msg, c->msg, strlen(c->msg)) == 0, "%s: message '%s...' (got '%s')",
              c->name, c->msg, err.msg);
    }
    /* The caller's own items count towards the totals. */
    snprintf(path, sizeof path, "%s/edabits.json", dir);
    memset(it, 0, sizeof *it);
    it->edabits = EDABITS_LIMIT;
    mimir_err err = {0};
    mimir_err_clear(&err);
    int rc = write_text(path,
                        "{\"version\": 1, \"items\": [{\"kind\": \"edabit\", \"count\": 1}]}");
    rc = rc == 0 ? mimir_plan_file_items(path, EDABITS_LIMIT, it, &err) : -1;
    CHECK(rc == MIMIR_EINPUT && strcmp(err.field, "items[0].kind") == 0 &&
              strcmp(err.msg, "too many edaBits in total") == 0,
          "edaBits over the limit with the caller's: items[0].kind (got %d '%s' '%s')", rc,
          err.field, err.msg);
    snprintf(path, sizeof path, "%s/none.json", dir);
    mimir_err_clear(&err);
    rc = mimir_plan_file_items(path, EDABITS_LIMIT, it, &err);
    CHECK(rc == MIMIR_ERUNTIME && strcmp(err.file, path) == 0,
          "a missing file: runtime error naming it (got %d, %s)", rc, err.file);
    free(it);
}

static void test_matrix_check(void)
{
    char why[128];
    mimir_plan_matrix ok = {1, 768, 3072, 12}, zero = {0, 2, 2, 1}, big = {1 << 15, 1 << 14, 1, 1},
                      none = {2, 2, 2, 0};
    CHECK(mimir_plan_matrix_check(&ok, why, sizeof why) == 0, "1x768x3072:12 is within limits");
    CHECK(mimir_plan_matrix_check(&zero, why, sizeof why) != 0 &&
              strcmp(why, "every dimension must be from 1 to 16777216") == 0,
          "a dimension of 0 (got '%s')", why);
    CHECK(mimir_plan_matrix_check(&big, why, sizeof why) != 0 &&
              strcmp(why, "a matrix of more than 268435456 elements") == 0,
          "2^29 elements (got '%s')", why);
    CHECK(mimir_plan_matrix_check(&none, why, sizeof why) != 0 &&
              strcmp(why, "count must be from 1 to 1048576") == 0,
          "a count of 0 (got '%s')", why);
}

/* Whether v is n zeroed words per component (MAC words iff macs). */
static int zero_sv(const mimir_sv *v, size_t n, int macs)
{
    int ok = v->n == n && v->x[0] != NULL && v->x[1] != NULL &&
             (macs ? v->m[0] != NULL && v->m[1] != NULL : v->m[0] == NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = v->x[0][i] == 0 && v->x[1][i] == 0 &&
             (!macs || (v->m[0][i] == 0 && v->m[1][i] == 0));
    return ok;
}
static int zero_bv(const mimir_bv *v, size_t n)
{
    int ok = v->n == n && v->x[0] != NULL && v->x[1] != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = v->x[0][i] == 0 && v->x[1][i] == 0;
    return ok;
}

static void test_count_binary(const char *dir)
{
    for (int macs = 0; macs < 2; macs++) {
        mimir_prep_count *c = NULL;
        mimir_err err = {0};
        if (mimir_prep_count_new(macs, &c, &err) != MIMIR_OK) {
            CHECK(0, "make a counting source (%s)", err.msg);
            return;
        }
        mimir_prep *p = mimir_prep_count_prep(c);
        CHECK(p->binary == 0, "macs %d: a new counting source is not binary", macs);
        mimir_prep_count_set_binary(c, 1);
        CHECK(p->binary == 1, "macs %d: set_binary sets the source's flag", macs);
        mimir_prep_count_set_binary(c, 0);
        CHECK(p->binary == 0, "macs %d: and clears it", macs);
        mimir_sv r, d, er, eb;
        mimir_bv a, b, cc, rb, db;
        int rc = mimir_prep_btriples(p, 5, &a, &b, &cc, &err);
        CHECK(rc == MIMIR_OK && zero_bv(&a, 5) && zero_bv(&b, 5) && zero_bv(&cc, 5),
              "macs %d: 5 words of boolean triples: real zeroed vectors", macs);
        if (rc == MIMIR_OK)
            mimir_bv_free(&a), mimir_bv_free(&b), mimir_bv_free(&cc);
        rc = mimir_prep_btriples(p, 3, &a, &b, &cc, &err);
        if (rc == MIMIR_OK)
            mimir_bv_free(&a), mimir_bv_free(&b), mimir_bv_free(&cc);
        rc = mimir_prep_cmasks(p, 4, &r, &rb, &d, &db, &err);
        CHECK(rc == MIMIR_OK && zero_sv(&r, 4, macs) && zero_sv(&d, 4, macs) &&
                  zero_bv(&rb, 4) && zero_bv(&db, 4),
              "macs %d: 4 comparison masks: zeroed r, d (MAC words iff macs), rb, db", macs);
        if (rc == MIMIR_OK)
            mimir_sv_free(&r), mimir_sv_free(&d), mimir_bv_free(&rb), mimir_bv_free(&db);
        rc = mimir_prep_edabits(p, 2, &er, &eb, &err);
        if (rc == MIMIR_OK)
            mimir_sv_free(&er), mimir_sv_free(&eb);
        uint64_t counts[MIMIR_PREP_KINDS];
        mimir_prep_count_counts(c, counts);
        CHECK(counts[MIMIR_PREP_BTRIPLE - 1] == 8 && counts[MIMIR_PREP_CMASK - 1] == 4 &&
                  counts[MIMIR_PREP_EDABIT - 1] == 2,
              "macs %d: counted 8 boolean triple words, 4 masks, 2 edaBits (got %llu, %llu, "
              "%llu)", macs, (unsigned long long)counts[MIMIR_PREP_BTRIPLE - 1],
              (unsigned long long)counts[MIMIR_PREP_CMASK - 1],
              (unsigned long long)counts[MIMIR_PREP_EDABIT - 1]);
        char *json = NULL;
        rc = mimir_prep_count_plan_json(c, &json, &err);
        const char *want = "{\"version\":1,\"items\":[{\"kind\":\"edabit\",\"count\":2},"
                           "{\"kind\":\"btriple\",\"count\":8},{\"kind\":\"cmask\","
                           "\"count\":4}]}";
        CHECK(rc == MIMIR_OK && json != NULL && strcmp(json, want) == 0,
              "macs %d: the plan lists btriple and cmask after edabit (got %s)", macs,
              json ? json : "nothing");
        char path[256];
        snprintf(path, sizeof path, "%s/count%d.json", dir, macs);
        mimir_plan_items *it = calloc(1, sizeof *it);
        rc = it != NULL && json != NULL && write_text(path, json) == 0
                 ? mimir_plan_file_items(path, EDABITS_LIMIT, it, &err)
                 : -1;
        CHECK(rc == MIMIR_OK && it->btriples == 8 && it->cmasks == 4 && it->edabits == 2,
              "macs %d: the plan reads back: 8 boolean triple words, 4 masks (%s)", macs,
              rc == MIMIR_OK ? "ok" : err.msg);
        free(it);
        free(json);
        mimir_prep_count_free(c);
    }
    /* nothing binary taken: no btriple or cmask entries */
    mimir_prep_count *c = NULL;
    mimir_err err = {0};
    char *json = NULL;
    int rc = mimir_prep_count_new(1, &c, &err);
    if (rc == MIMIR_OK)
        rc = mimir_prep_count_plan_json(c, &json, &err);
    CHECK(rc == MIMIR_OK && json != NULL && strcmp(json, "{\"version\":1,\"items\":[]}") == 0,
          "an unused counting source plans no items (got %s)", json ? json : "nothing");
    free(json);
    mimir_prep_count_free(c);
}

int main(void)
{
    char dir[] = "tests/tmp/test_plan.XXXXXX", cmd[300];
    mkdir("tests/tmp", 0755);
    if (mkdtemp(dir) == NULL)
        return 2;
    test_valid(dir);
    test_bad(dir);
    test_matrix_check();
    test_count_binary(dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        CHECK(0, "remove %s", dir);
    return tap_done();
}
