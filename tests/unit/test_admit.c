/*
 * test_admit.c — attested admission of peers (attest/admit.h): the cluster file's "attestation"
 * section, the hook judging certificates directly (every failed check named), and three parties
 * (threads) opening a net over TLS whose certificates carry simulated evidence: admitted by a
 * policy that allows simulation, refused on both sides (MIMIR_ESECURITY, naming the party and
 * the rule, within the connect timeout) by one that forbids it or asks for a measurement; and
 * one name per failed rule: `mimir-attest verify` (the checks of its JSON "failed" array), the key
 * broker and admission judging the same certificate by the same policy name the same failures.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest/admit.h"
#include "attest/broker.h"
#include "attest/cert.h"
#include "attest/policy.h"
#include "attest/seal.h"
#include "attest/sim.h"
#include "cluster.h"
#include "net.h"
#include "cluster3.h"
#include "tap.h"

#define SESSION "000102030405060708090a0b0c0d0e0f"
#define CONNECT_TIMEOUT_MS 5000
#define JSON_MAX 4096
#define DER_MAX 8192

static char dir[256];

/* der of each party's attested certificate a<i>.pem, of a plain one (p0.pem), and of a
 * certificate whose simulated evidence commits to another key (x.pem) */
static uint8_t der_att[3][DER_MAX], der_plain[DER_MAX], der_unbound[DER_MAX];
static size_t len_att[3], len_plain, len_unbound;

/* ------------------------------------------------------------ fixtures */

static int write_text(const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static size_t der_of(X509 *x, uint8_t *out)
{
    unsigned char *d = NULL;
    int n = i2d_X509(x, &d);
    size_t len = n > 0 && n <= DER_MAX ? (size_t)n : 0;
    if (len > 0)
        memcpy(out, d, len);
    OPENSSL_free(d);
    return len;
}

/* An attested certificate (simulated evidence bound to key, or to another key if unbound) and
 * its key, as dir/<name>.pem and dir/<name>.key; its DER into der. */
static int make_attested(const char *name, int unbound, uint8_t *der, size_t *len)
{
    EVP_PKEY *key = EVP_EC_gen("P-256"), *other = unbound ? EVP_EC_gen("P-256") : NULL;
    uint8_t rd[MIMIR_ATTEST_REPORT_DATA_BYTES], sim[MIMIR_SIM_BYTES];
    X509 *x = NULL;
    mimir_err err = {0};
    int rc = key != NULL && (!unbound || other != NULL) ? MIMIR_OK : MIMIR_ERUNTIME;
    if (rc == MIMIR_OK)
        rc = mimir_attest_binding(unbound ? other : key, NULL, 0, rd, &err);
    if (rc == MIMIR_OK) {
        mimir_sim_make(rd, sim);
        rc = mimir_attest_cert_new(key, name, 2, time(NULL), sim, sizeof sim, &x, &err);
    }
    char cpath[400], kpath[400];
    snprintf(cpath, sizeof cpath, "%s/%s.pem", dir, name);
    snprintf(kpath, sizeof kpath, "%s/%s.key", dir, name);
    FILE *fc = rc == MIMIR_OK ? fopen(cpath, "w") : NULL;
    FILE *fk = rc == MIMIR_OK ? fopen(kpath, "w") : NULL;
    int ok = fc != NULL && fk != NULL && PEM_write_X509(fc, x) == 1 &&
             PEM_write_PrivateKey(fk, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (fc != NULL)
        ok &= fclose(fc) == 0;
    if (fk != NULL)
        ok &= fclose(fk) == 0;
    *len = ok ? der_of(x, der) : 0;
    X509_free(x);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return *len > 0 ? 0 : -1;
}

static int load_der(const char *name, uint8_t *der, size_t *len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    *len = x != NULL ? der_of(x, der) : 0;
    X509_free(x);
    return *len > 0 ? 0 : -1;
}

static const char *const POLICY_ALLOW = "{\"mimir_attest_policy\": 1, \"allow_simulated\": true}";
static const char *const POLICY_FORBID = "{\"mimir_attest_policy\": 1}";
static const char *const POLICY_MEASURE =
    "{\"mimir_attest_policy\": 1, \"allow_simulated\": true, \"sev_snp\": {\"measurements\": "
    "[\"000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000\"]}}";

static int fixtures(void)
{
    if (cluster3_setup(dir, "test_admit") != 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "a%d", i);
        if (make_attested(name, 0, der_att[i], &len_att[i]) != 0)
            return -1;
    }
    if (make_attested("x", 1, der_unbound, &len_unbound) != 0 ||
        load_der("p0.pem", der_plain, &len_plain) != 0)
        return -1;
    if (write_text("allow.json", POLICY_ALLOW) || write_text("forbid.json", POLICY_FORBID) ||
        write_text("measure.json", POLICY_MEASURE) || write_text("broken.json", "{\"mimir_"))
        return -1;
    return 0;
}

#define TDX_QUOTE "../shared/testdata/attestation/tdx/v4-edgeless-quote.dat"
#define TDX_AT "2026-06-01T00:00:00Z"  /* inside the quote's PCK chain validity (README) */
#define TDX_MRTD_OFFSET 184            /* v4: header 48 + MRTD at 136 of the TD report */
#define TDX_MRTD_BYTES 48

/* A certificate made at TDX_AT carrying a real TDX quote, whose report_data of course does not
 * commit to this certificate's key; and tdx_same.json / tdx_other.json, policies that allow the
 * quote's MRTD or another one. Returns -1 when the shared test data is absent. */
static uint8_t der_tdx[DER_MAX];
static size_t len_tdx;

static int make_tdx(void)
{
    static uint8_t quote[MIMIR_ATTEST_MAX_EVIDENCE];
    FILE *f = fopen(TDX_QUOTE, "rb");
    size_t n = f != NULL ? fread(quote, 1, sizeof quote, f) : 0;
    if (f != NULL)
        fclose(f);
    time_t at;
    if (n < TDX_MRTD_OFFSET + TDX_MRTD_BYTES || mimir_attest_parse_time(TDX_AT, &at) != 0)
        return -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = NULL;
    mimir_err err = {0};
    if (key != NULL && mimir_attest_cert_new(key, "tdx", 2, at, quote, n, &x, &err) == MIMIR_OK)
        len_tdx = der_of(x, der_tdx);
    X509_free(x);
    EVP_PKEY_free(key);
    char mrtd[2 * TDX_MRTD_BYTES + 1], pol[512];
    for (int i = 0; i < TDX_MRTD_BYTES; i++)
        snprintf(mrtd + 2 * i, 3, "%02x", quote[TDX_MRTD_OFFSET + i]);
    snprintf(pol, sizeof pol, "{\"mimir_attest_policy\": 1, \"platforms\": [\"tdx\"], "
             "\"tdx\": {\"mrtd\": [\"%s\"]}}", mrtd);
    if (write_text("tdx_same.json", pol) != 0)
        return -1;
    memset(mrtd, '0', 2 * TDX_MRTD_BYTES);
    snprintf(pol, sizeof pol, "{\"mimir_attest_policy\": 1, \"platforms\": [\"tdx\"], "
             "\"tdx\": {\"mrtd\": [\"%s\"]}}", mrtd);
    return len_tdx > 0 && write_text("tdx_other.json", pol) == 0 ? 0 : -1;
}

/* A cluster file: party i's certificate and key are <cert[i]>.pem/.key; attestation is the
 * text of the "attestation" value, or NULL for none. */
static void cluster_json(char *out, size_t cap, char addr[3][200], const char *const cert[3],
                         const char *attestation)
{
    char att[512] = "";
    if (attestation != NULL)
        snprintf(att, sizeof att, " \"attestation\": %s,\n", attestation);
    snprintf(out, cap,
             "{\"version\": 1, \"session\": \"%s\",\n"
             " \"peer_timeout_ms\": 5000, \"connect_timeout_ms\": %d,\n%s"
             " \"parties\": [\n"
             "  {\"index\": 0, \"address\": \"%s\", \"cert\": \"%s.pem\", \"key\": \"%s.key\"},\n"
             "  {\"index\": 1, \"address\": \"%s\", \"cert\": \"%s.pem\", \"key\": \"%s.key\"},\n"
             "  {\"index\": 2, \"address\": \"%s\", \"cert\": \"%s.pem\", "
             "\"key\": \"%s.key\"}]}\n",
             SESSION, CONNECT_TIMEOUT_MS, att, addr[0], cert[0], cert[0], addr[1], cert[1],
             cert[1], addr[2], cert[2], cert[2]);
}

static const char *const ATTESTED[3] = {"a0", "a1", "a2"};
static const char *const PLAIN[3] = {"p0", "p1", "p2"};
static const char *const PLAIN2[3] = {"a0", "a1", "p2"}; /* party 2 without evidence */

/* ------------------------------------------------------------ the cluster file's section */

typedef struct bad_att {
    const char *name, *att, *field;
} bad_att;

static void test_cluster(void)
{
    char addr[3][200] = {"tcp:127.0.0.1:7000", "tcp:127.0.0.1:7001", "unix:/tmp/x.sock"};
    char json[JSON_MAX], want[400];
    mimir_err err = {0};
    mimir_cluster *c = NULL;

    cluster_json(json, sizeof json, addr, PLAIN, NULL);
    int rc = mimir_cluster_parse(json, strlen(json), "c.json", dir, 0, &c, &err);
    CHECK(rc == MIMIR_OK && c->attest_policy_path == NULL && c->attest_at == NULL,
          "cluster: no attestation section, no policy (%s)", err.msg);
    mimir_cluster_free(c);

    cluster_json(json, sizeof json, addr, PLAIN,
                 "{\"policy\": \"allow.json\", \"at\": \"2026-06-01T00:00:00Z\"}");
    c = NULL;
    rc = mimir_cluster_parse(json, strlen(json), "c.json", dir, 0, &c, &err);
    snprintf(want, sizeof want, "%s/allow.json", dir);
    CHECK(rc == MIMIR_OK && strcmp(c->attest_policy_path, want) == 0 &&
              strcmp(c->attest_at, "2026-06-01T00:00:00Z") == 0 && c->attest_require == 1,
          "cluster: attestation policy resolved beside the cluster file, at kept, require "
          "defaults to true (%s)", rc == MIMIR_OK ? c->attest_policy_path : err.msg);
    mimir_cluster_free(c);

    cluster_json(json, sizeof json, addr, PLAIN,
                 "{\"policy\": \"/abs/p.json\", \"require\": false}");
    c = NULL;
    rc = mimir_cluster_parse(json, strlen(json), "c.json", dir, 0, &c, &err);
    CHECK(rc == MIMIR_OK && strcmp(c->attest_policy_path, "/abs/p.json") == 0 &&
              c->attest_at == NULL && c->attest_require == 0,
          "cluster: absolute policy path kept, require false read (%s)", err.msg);
    mimir_cluster_free(c);

    static const bad_att bad[] = {
        {"not an object", "\"allow.json\"", "attestation"},
        {"unknown key", "{\"policy\": \"allow.json\", \"polcy\": 1}", "attestation"},
        {"no policy", "{\"require\": true}", "attestation.policy"},
        {"policy not a string", "{\"policy\": 7}", "attestation.policy"},
        {"empty policy", "{\"policy\": \"\"}", "attestation.policy"},
        {"at not a time", "{\"policy\": \"allow.json\", \"at\": \"yesterday\"}",
         "attestation.at"},
        {"at a number", "{\"policy\": \"allow.json\", \"at\": 1700000000}", "attestation.at"},
        {"require a string", "{\"policy\": \"allow.json\", \"require\": \"yes\"}",
         "attestation.require"},
        {"duplicate key", "{\"policy\": \"allow.json\", \"policy\": \"forbid.json\"}", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cluster_json(json, sizeof json, addr, PLAIN, bad[i].att);
        c = NULL;
        mimir_err_clear(&err);
        rc = mimir_cluster_parse(json, strlen(json), "bad.json", dir, 0, &c, &err);
        CHECK(rc == MIMIR_EINPUT && c == NULL && strcmp(err.field, bad[i].field) == 0 &&
                  strcmp(err.file, "bad.json") == 0,
              "cluster: attestation %s refused (exit 2) in field \"%s\" (got %d, \"%s\": %s)",
              bad[i].name, bad[i].field, rc, err.field, err.msg);
        mimir_cluster_free(c);
    }
}

/* ------------------------------------------------------------ the hook, directly */

/* An admission from a cluster whose attestation section is att (NULL if the load fails). */
static mimir_admit *admit_for(const char *att, int *rc, mimir_err *err)
{
    char addr[3][200] = {"tcp:127.0.0.1:7000", "tcp:127.0.0.1:7001", "tcp:127.0.0.1:7002"};
    char json[JSON_MAX];
    cluster_json(json, sizeof json, addr, PLAIN, att);
    mimir_cluster *c = NULL;
    mimir_admit *a = NULL;
    mimir_err_clear(err);
    *rc = mimir_cluster_parse(json, strlen(json), "c.json", dir, 0, &c, err);
    if (*rc == MIMIR_OK)
        *rc = mimir_admit_new(c, &a, err);
    mimir_cluster_free(c);
    return a;
}

static void judge(mimir_admit *a, int peer, const uint8_t *der, size_t len, int want,
                  const char *const *parts, const char *what)
{
    mimir_err err = {0};
    mimir_err_clear(&err);
    int rc = a != NULL ? mimir_admit_hook(a, peer, der, len, &err) : -1;
    char file[16];
    snprintf(file, sizeof file, "party %d", peer);
    int ok = rc == want;
    if (want != MIMIR_OK)
        ok = ok && strcmp(err.file, file) == 0 && strcmp(err.field, "attestation") == 0;
    for (; ok && parts != NULL && *parts != NULL; parts++) /* "^X": the message starts so */
        ok = (*parts)[0] == '^' ? strncmp(err.msg, *parts + 1, strlen(*parts + 1)) == 0
                                : strstr(err.msg, *parts) != NULL;
    CHECK(ok, "hook: %s (rc %d, expected %d; %s: %s: %s)", what, rc, want, err.file, err.field,
          err.msg);
}

static void test_hook(void)
{
    int rc;
    mimir_err err = {0};
    mimir_admit *allow = admit_for("{\"policy\": \"allow.json\"}", &rc, &err);
    CHECK(rc == MIMIR_OK && allow != NULL, "admit_new: a policy allowing simulation loads (%s)",
          err.msg);
    mimir_admit *forbid = admit_for("{\"policy\": \"forbid.json\"}", &rc, &err);
    mimir_admit *measure = admit_for("{\"policy\": \"measure.json\"}", &rc, &err);
    mimir_admit *lax = admit_for("{\"policy\": \"allow.json\", \"require\": false}", &rc, &err);
    mimir_admit *late = admit_for("{\"policy\": \"allow.json\", \"at\": \"2099-01-01T00:00:00Z\"}",
                                  &rc, &err);
    mimir_admit *early = admit_for("{\"policy\": \"forbid.json\", \"at\": "
                                   "\"2001-01-01T00:00:00+02:00\"}", &rc, &err);

    judge(allow, 1, der_att[1], len_att[1], MIMIR_OK, NULL,
          "simulated evidence bound to the key, simulation allowed: admitted");
    static const char *const sim[] = {"^simulated evidence: simulated: ", NULL};
    judge(forbid, 2, der_att[2], len_att[2], MIMIR_ESECURITY, sim,
          "simulation forbidden: refused, party 2, check simulated, says simulated");
    static const char *const meas[] = {"^simulated evidence: policy.sev_snp.measurements: ",
                                       NULL};
    judge(measure, 1, der_att[1], len_att[1], MIMIR_ESECURITY, meas,
          "a measurement required: simulated evidence has none, refused naming the rule");
    static const char *const unbound[] = {"^simulated evidence: cert_binding: ", NULL};
    judge(allow, 0, der_unbound, len_unbound, MIMIR_ESECURITY, unbound,
          "evidence committing to another key: refused, check cert_binding");
    static const char *const none[] = {"^evidence: ", "no attestation evidence", NULL};
    judge(allow, 2, der_plain, len_plain, MIMIR_ESECURITY, none,
          "a plain certificate (no evidence), require true: refused");
    judge(lax, 2, der_plain, len_plain, MIMIR_OK, NULL,
          "a plain certificate, require false: admitted");
    judge(lax, 0, der_unbound, len_unbound, MIMIR_ESECURITY, unbound,
          "require false: evidence that is present must still pass");
    static const char *const expired[] = {"^simulated evidence: cert_validity: ", NULL};
    judge(late, 1, der_att[1], len_att[1], MIMIR_ESECURITY, expired,
          "cluster \"at\" after the certificate's validity: refused, check cert_validity");
    static const char *const every[] = {"^simulated evidence: cert_validity: ",
                                        "; simulated: ", NULL};
    judge(early, 1, der_att[1], len_att[1], MIMIR_ESECURITY, every,
          "two failures (validity, simulation) are both named, in order");
    uint8_t junk[64];
    memset(junk, 0x30, sizeof junk);
    static const char *const notcert[] = {"^certificate: ", NULL};
    judge(allow, 1, junk, sizeof junk, MIMIR_ESECURITY, notcert,
          "bytes that are no certificate: refused, not a usage error");
    uint8_t cut[DER_MAX];
    memcpy(cut, der_att[1], len_att[1]);
    cut[len_att[1] - 3] ^= 1; /* inside the signature */
    static const char *const sig[] = {"^simulated evidence: cert_signature: ", NULL};
    judge(allow, 1, cut, len_att[1], MIMIR_ESECURITY, sig,
          "a flipped signature byte: refused, check cert_signature");

    /* real (not simulated) evidence, verified at the cluster's fixed time */
    if (make_tdx() == 0) {
        mimir_admit *same = admit_for("{\"policy\": \"tdx_same.json\", \"at\": \"" TDX_AT "\"}",
                                      &rc, &err);
        mimir_admit *other = admit_for("{\"policy\": \"tdx_other.json\", \"at\": \""
                                       TDX_AT "\"}", &rc, &err);
        static const char *const binding[] = {"^cert_binding: ", NULL};
        judge(same, 1, der_tdx, len_tdx, MIMIR_ESECURITY, binding,
              "a real TDX quote not bound to the certificate's key: refused, check cert_binding");
        mimir_err e2;
        mimir_err_clear(&e2);
        rc = same != NULL ? mimir_admit_hook(same, 1, der_tdx, len_tdx, &e2) : -1;
        CHECK(rc == MIMIR_ESECURITY && strstr(e2.msg, "simulated") == NULL &&
                  strstr(e2.msg, "policy.") == NULL && strstr(e2.msg, "; ") == NULL,
              "hook: the quote itself verifies at \"at\" (signatures, PCK chain) and its MRTD "
              "is allowed: cert_binding is the only failure, nothing says simulated (%s)",
              e2.msg);
        static const char *const both[] = {"^cert_binding: ", "; policy.tdx.mrtd: ", NULL};
        judge(other, 2, der_tdx, len_tdx, MIMIR_ESECURITY, both,
              "a real TDX quote with another MRTD: both the binding and the MRTD rule named");
        mimir_admit_free(same);
        mimir_admit_free(other);
    } else {
        CHECK(0, "hook: the TDX sample " TDX_QUOTE " is readable");
    }

    /* an SEV-SNP report in a certificate: no VCEK to verify it with, a refusal (not exit 2) */
    {
        static uint8_t rep[MIMIR_ATTEST_MAX_EVIDENCE];
        FILE *f = fopen("../shared/testdata/attestation/snp/milan-v2-gsg-report.bin", "rb");
        size_t n = f != NULL ? fread(rep, 1, sizeof rep, f) : 0;
        if (f != NULL)
            fclose(f);
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *x = NULL;
        uint8_t der[DER_MAX];
        size_t dlen = 0;
        if (n > 0 && key != NULL &&
            mimir_attest_cert_new(key, "snp", 2, time(NULL), rep, n, &x, &err) == MIMIR_OK)
            dlen = der_of(x, der);
        static const char *const novcek[] = {"^evidence: ", "VCEK", NULL};
        judge(allow, 1, der, dlen, MIMIR_ESECURITY, novcek,
              "an SEV-SNP report in a certificate: no VCEK given, refused as evidence");
        X509_free(x);
        EVP_PKEY_free(key);
    }

    mimir_admit *a = admit_for("{\"policy\": \"missing.json\"}", &rc, &err);
    CHECK(a == NULL && rc == MIMIR_EINPUT && strstr(err.file, "missing.json") != NULL,
          "admit_new: an unreadable policy is exit 2 naming the file (%s: %s)", err.file,
          err.msg);
    a = admit_for("{\"policy\": \"broken.json\"}", &rc, &err);
    CHECK(a == NULL && rc == MIMIR_EINPUT && strstr(err.file, "broken.json") != NULL,
          "admit_new: a malformed policy is exit 2 naming the file (%s: %s)", err.file, err.msg);
    a = admit_for("{\"policy\": \"p0.pem\"}", &rc, &err);
    CHECK(a == NULL && rc == MIMIR_EINPUT && strstr(err.file, "p0.pem") != NULL,
          "admit_new: a file that is no policy is exit 2 naming the file (%s)", err.msg);
    a = admit_for(NULL, &rc, &err);
    CHECK(a == NULL && rc == MIMIR_EINPUT && strcmp(err.field, "attestation") == 0,
          "admit_new: a cluster without attestation is a usage error (%s)", err.msg);

    /* configure: nothing without the section, the hook with it */
    char addr[3][200] = {"tcp:127.0.0.1:7000", "tcp:127.0.0.1:7001", "tcp:127.0.0.1:7002"};
    char json[JSON_MAX];
    mimir_net_opts opts;
    for (int with = 0; with < 2; with++) {
        cluster_json(json, sizeof json, addr, PLAIN, with ? "{\"policy\": \"allow.json\"}" : NULL);
        mimir_cluster *c = NULL;
        mimir_admit *out = (mimir_admit *)&opts; /* must be overwritten */
        memset(&opts, 0, sizeof opts);
        rc = mimir_cluster_parse(json, strlen(json), "c.json", dir, 0, &c, &err);
        if (rc == MIMIR_OK)
            rc = mimir_admit_configure(c, &opts, &out, &err);
        if (with)
            CHECK(rc == MIMIR_OK && out != NULL && opts.admit == mimir_admit_hook &&
                      opts.admit_arg == out,
                  "configure: with attestation, opts get the hook and its admission");
        else
            CHECK(rc == MIMIR_OK && out == NULL && opts.admit == NULL && opts.admit_arg == NULL,
                  "configure: without attestation, opts untouched and no admission");
        mimir_admit_free(out);
        mimir_cluster_free(c);
    }
    mimir_admit_free(NULL);
    mimir_admit_free(allow);
    mimir_admit_free(forbid);
    mimir_admit_free(measure);
    mimir_admit_free(lax);
    mimir_admit_free(late);
    mimir_admit_free(early);
}

/* ------------------------------------------------------------ one name per rule */

typedef struct served {
    mimir_broker *b;
    mimir_broker_event ev;
    int rc;
    mimir_err err;
} served;

static void *serve_main(void *arg)
{
    served *s = arg;
    mimir_err_clear(&s->err);
    s->rc = mimir_broker_serve_one(s->b, &s->ev, &s->err);
    return NULL;
}

/* 1 if msg ("NAME: detail; NAME: detail", any lead skipped) has an entry for each of names
 * (comma-joined, non-empty), in that order: each at msg's start or after "; ", with ": ". */
static int lists(const char *msg, const char *names)
{
    const char *at = msg;
    for (const char *n = names; *n != '\0';) {
        size_t len = strcspn(n, ",");
        char entry[128];
        snprintf(entry, sizeof entry, "; %.*s: ", (int)len, n);
        const char *hit = at == msg && strncmp(msg, entry + 2, strlen(entry + 2)) == 0
                              ? msg : strstr(at, entry);
        if (hit == NULL)
            return 0;
        at = hit + strlen(entry + 2);
        n += len + (n[len] == ',');
    }
    return 1;
}

/* What `mimir-attest verify --policy` lists in its JSON "failed" array, comma-joined. */
static void verify_names(const mimir_attest_policy *pol, const uint8_t *der, size_t len,
                         char *out, size_t cap)
{
    mimir_attest_result res;
    mimir_err err = {0};
    out[0] = '\0';
    if (mimir_attest_result_init(&res, &err) != MIMIR_OK)
        return;
    mimir_attest_opts o = {time(NULL), NULL, NULL};
    if (mimir_attest_verify(der, len, "a0.pem", &o, &res, &err) == MIMIR_OK) {
        mimir_policy_apply(pol, &res);
        size_t i, used = 0;
        json_t *c;
        json_array_foreach(res.checks, i, c) if (!json_is_true(json_object_get(c, "ok"))) {
            const char *name = json_string_value(json_object_get(c, "check"));
            int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", name);
            if (n < 0 || (size_t)n >= cap - used)
                break;
            used += (size_t)n;
        }
    }
    mimir_attest_result_free(&res);
}

/* Party 0's certificate judged by policy text pol three ways: `verify`'s failed checks, the key
 * broker's refusal (its log line and the client's error) and admission's refusal must list the
 * same names (want, comma-joined) and, broker and admission, the same "NAME: detail" text. */
static void same_names(const char *what, const char *pol_text, const char *want)
{
    char path[400], cert[400], key[400], addr[420];
    snprintf(path, sizeof path, "%s/same.json", dir);
    snprintf(cert, sizeof cert, "%s/a1.pem", dir);
    snprintf(key, sizeof key, "%s/a1.key", dir);
    snprintf(addr, sizeof addr, "unix:%s/broker.sock", dir);
    mimir_attest_policy *pol = NULL;
    mimir_err err = {0};
    mimir_err_clear(&err);
    int rc = write_text("same.json", pol_text) == 0 ? MIMIR_OK : MIMIR_ERUNTIME;
    if (rc == MIMIR_OK)
        rc = mimir_policy_parse((const uint8_t *)pol_text, strlen(pol_text), path, &pol, &err);

    char by_verify[400] = "";
    verify_names(pol, der_att[0], len_att[0], by_verify, sizeof by_verify);

    /* the key broker, serving party 0's certificate (a0.pem) over TLS */
    uint8_t k[MIMIR_SEAL_KEY_BYTES] = {0}, got[MIMIR_SEAL_KEY_BYTES];
    served sv;
    memset(&sv, 0, sizeof sv);
    mimir_err ferr;
    mimir_err_clear(&ferr);
    int frc = -1;
    if (rc == MIMIR_OK)
        rc = mimir_broker_new(addr, cert, key, pol, k, &sv.b, &err);
    if (rc == MIMIR_OK) {
        pthread_t th;
        pthread_create(&th, NULL, serve_main, &sv);
        char ccert[400], ckey[400];
        snprintf(ccert, sizeof ccert, "%s/a0.pem", dir);
        snprintf(ckey, sizeof ckey, "%s/a0.key", dir);
        frc = mimir_broker_fetch(mimir_broker_address(sv.b), ccert, ckey,
                                 mimir_broker_pin(sv.b), got, &ferr);
        pthread_join(th, NULL);
    }
    const char *refused = "broker refused the key: ";
    int client_ok = frc == MIMIR_ESECURITY && strncmp(ferr.msg, refused, strlen(refused)) == 0;
    const char *client_why = client_ok ? ferr.msg + strlen(refused) : "";

    /* admission of party 0 by the same policy */
    mimir_admit *a = admit_for("{\"policy\": \"same.json\"}", &rc, &err);
    mimir_err aerr;
    mimir_err_clear(&aerr);
    int arc = a != NULL ? mimir_admit_hook(a, 0, der_att[0], len_att[0], &aerr) : -1;
    const char *lead = "simulated evidence: ";
    const char *admit_why = strncmp(aerr.msg, lead, strlen(lead)) == 0 ? aerr.msg + strlen(lead)
                                                                       : aerr.msg;

    CHECK(strcmp(by_verify, want) == 0, "one name per rule: %s: verify fails [%s] (expected "
          "[%s])", what, by_verify, want);
    CHECK(sv.rc == MIMIR_OK && !sv.ev.admitted && lists(sv.ev.reasons, by_verify),
          "one name per rule: %s: the key broker refuses naming %s as verify does (%d: %s: %s)",
          what, by_verify, sv.rc, sv.err.msg, sv.ev.reasons);
    CHECK(client_ok && strcmp(client_why, sv.ev.reasons) == 0,
          "one name per rule: %s: the broker's client is told the broker's own reasons (%d: %s)",
          what, frc, ferr.msg);
    CHECK(arc == MIMIR_ESECURITY && lists(admit_why, by_verify) &&
              strcmp(admit_why, sv.ev.reasons) == 0,
          "one name per rule: %s: admission refuses naming %s in the broker's words "
          "(admission \"%s\", broker \"%s\")", what, by_verify, admit_why, sv.ev.reasons);
    mimir_admit_free(a);
    mimir_broker_free(sv.b);
    mimir_policy_free(pol);
}

static void test_names(void)
{
    same_names("a wrong nonce",
               "{\"mimir_attest_policy\": 1, \"allow_simulated\": true, \"nonce\": \"0102\"}",
               "policy.nonce");
    same_names("simulation forbidden and a wrong nonce",
               "{\"mimir_attest_policy\": 1, \"nonce\": \"0102\"}", "simulated,policy.nonce");
    same_names("a measurement required", POLICY_MEASURE, "policy.sev_snp.measurements");
    same_names("a TDX rule and report_data",
               "{\"mimir_attest_policy\": 1, \"allow_simulated\": true, \"platforms\": "
               "[\"tdx\"], \"report_data\": \"ff\", \"tdx\": {\"mrtd\": [\""
               "000000000000000000000000000000000000000000000000000000000000000000000000000000"
               "000000000000000000\"]}}",
               "policy.tdx.mrtd,policy.report_data");
}

/* ------------------------------------------------------------ three parties */

typedef struct party {
    int self;
    const char *json;
    int rc;
    mimir_err err;
    double seconds;    /* time to the outcome of mimir_net_open */
    int round_ok;      /* one round exchanged and checked after an admitted open */
} party;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *party_main(void *arg)
{
    party *me = arg;
    mimir_err_clear(&me->err);
    mimir_cluster *cl = NULL;
    mimir_admit *adm = NULL;
    mimir_net *net = NULL;
    mimir_net_opts opts;
    memset(&opts, 0, sizeof opts);
    double t0 = now_s();
    me->rc = mimir_cluster_parse(me->json, strlen(me->json), "cluster.json", dir, me->self, &cl,
                                 &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_admit_configure(cl, &opts, &adm, &me->err);
    if (me->rc == MIMIR_OK)
        me->rc = mimir_net_open(cl, &opts, &net, &me->err);
    me->seconds = now_s() - t0;
    if (me->rc == MIMIR_OK) {
        uint8_t out[3][8], in[3][8];
        mimir_net_io io[3];
        memset(io, 0, sizeof io);
        for (int p = 0; p < 3; p++) {
            memset(out[p], 0x40 + 4 * me->self + p, sizeof out[p]);
            if (p != me->self)
                io[p] = (mimir_net_io){1, out[p], 8, 1, in[p], 8};
        }
        me->rc = mimir_net_exchange(net, io, &me->err);
        me->round_ok = me->rc == MIMIR_OK;
        for (int p = 0; p < 3 && me->round_ok; p++)
            me->round_ok = p == me->self || in[p][7] == 0x40 + 4 * p + me->self;
        if (me->rc == MIMIR_OK)
            me->rc = mimir_net_close(net, &me->err);
    }
    mimir_net_free(net);
    mimir_admit_free(adm);
    mimir_cluster_free(cl);
    return NULL;
}

static void run3(party parties[3], const char *kind, const char *const cert[3],
                 const char *attestation, char json[JSON_MAX])
{
    char addr[3][200];
    static int run;
    char tag[8];
    snprintf(tag, sizeof tag, "r%d", run++);
    cluster3_addresses(addr, kind, dir, tag);
    cluster_json(json, JSON_MAX, addr, cert, attestation);
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        memset(&parties[i], 0, sizeof parties[i]);
        parties[i].self = i;
        parties[i].json = json;
        pthread_create(&th[i], NULL, party_main, &parties[i]);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
}

static void admitted(const char *kind, const char *what, const char *const cert[3],
                     const char *attestation)
{
    party p[3];
    char json[JSON_MAX];
    run3(p, kind, cert, attestation, json);
    for (int i = 0; i < 3; i++)
        CHECK(p[i].rc == MIMIR_OK && p[i].round_ok,
              "%s: %s: party %d opened the net and exchanged a round (%s: %s: %s)", kind, what,
              i, p[i].err.file, p[i].err.field, p[i].err.msg);
}

/* Every party fails within the connect timeout; a party that judged a peer itself says
 * MIMIR_ESECURITY, names that peer in the file, the field "attestation" and rule; a party
 * refused by a peer learns it from the peer's abort (MIMIR_ESECURITY carrying the reason) or,
 * when the peer hung up first, as a closed connection (MIMIR_ERUNTIME), as net.bats accepts.
 * A third party whose peers failed before their connection to it was identified waits for them
 * until the connect deadline (MIMIR_ERUNTIME, "connect"), as lib/net.h promises. */
static void refused(const char *kind, const char *what, const char *const cert[3],
                    const char *attestation, const char *rule, int bad_party)
{
    party p[3];
    char json[JSON_MAX];
    run3(p, kind, cert, attestation, json);
    int judged = 0;
    for (int i = 0; i < 3; i++) {
        party *me = &p[i];
        int own = me->rc == MIMIR_ESECURITY && strcmp(me->err.field, "admission") == 0;
        int relayed = me->rc == MIMIR_ESECURITY && strcmp(me->err.field, "abort") == 0;
        int hangup = me->rc == MIMIR_ERUNTIME && (strcmp(me->err.field, "connection") == 0 ||
                                                  strcmp(me->err.field, "connect") == 0);
        int named = strstr(me->err.msg, rule) != NULL && strstr(me->err.msg, "attestation");
        int peer = -1;
        sscanf(me->err.file, "party %d", &peer);
        if (own)
            judged++;
        CHECK(((own || relayed) && named) || hangup,
              "%s: %s: party %d refused with code 1 naming the rule \"%s\" (or saw a hang-up) "
              "(%d; %s: %s: %s)", kind, what, i, rule, me->rc, me->err.file, me->err.field,
              me->err.msg);
        CHECK(!own || ((bad_party < 0 || peer == bad_party) && peer != i),
              "%s: %s: party %d named the refused peer (%s)", kind, what, i, me->err.file);
        CHECK(me->seconds < CONNECT_TIMEOUT_MS / 1000.0 + 1.0,
              "%s: %s: party %d failed within the connect timeout (%.2f s)", kind, what, i,
              me->seconds);
    }
    CHECK(judged >= 1, "%s: %s: at least one party refused a peer itself (%d)", kind, what,
          judged);
}

static void test_nets(void)
{
    admitted("unix", "simulation allowed", ATTESTED, "{\"policy\": \"allow.json\"}");
    admitted("tcp", "simulation allowed", ATTESTED, "{\"policy\": \"allow.json\"}");
    admitted("unix", "no attestation section, plain certificates", PLAIN, NULL);
    admitted("unix", "require false, party 2 without evidence", PLAIN2,
             "{\"policy\": \"allow.json\", \"require\": false}");
    refused("unix", "simulation forbidden", ATTESTED, "{\"policy\": \"forbid.json\"}",
            "simulated evidence: simulated: ", -1);
    refused("tcp", "simulation forbidden", ATTESTED, "{\"policy\": \"forbid.json\"}",
            "simulated evidence: simulated: ", -1);
    refused("unix", "another measurement required", ATTESTED, "{\"policy\": \"measure.json\"}",
            "simulated evidence: policy.sev_snp.measurements: ", -1);
    refused("unix", "party 2 without evidence", PLAIN2, "{\"policy\": \"allow.json\"}",
            "no attestation evidence", 2);
}

int main(void)
{
    (void)cluster3_json; /* this test writes its own cluster files (certificates, attestation) */
    snprintf(dir, sizeof dir, "tests/tmp/admit.XXXXXX");
    if (fixtures() != 0) {
        fprintf(stderr, "test_admit: cannot make the test certificates in %s\n", dir);
        return 1;
    }
    test_cluster();
    test_hook();
    test_names();
    test_nets();
    return tap_done();
}
