/* cluster.c — strict cluster-file parser (with the optional "attestation" section, whose
 * policy path is resolved here and read by attest/admit.c), certificate fingerprints, test
 * certificates. */
#include "cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "attest/attest.h"
#include "hex.h"
#include "io.h"

#define UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define FIELD_BYTES 64

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void mimir_cluster_fpr_hex(const uint8_t fpr[MIMIR_FPR_BYTES], char out[MIMIR_FPR_HEXBYTES])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < MIMIR_FPR_BYTES; i++) {
        out[2 * i] = hex[fpr[i] >> 4];
        out[2 * i + 1] = hex[fpr[i] & 15];
    }
    out[2 * MIMIR_FPR_BYTES] = '\0';
}

/* Decodes exactly n bytes of hex (2n digits); -1 otherwise. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
    size_t got;
    if (strlen(s) != 2 * n || mimir_hex_decode(s, 2 * n, out, n, &got, NULL) != 0)
        return -1;
    return 0;
}

int mimir_cluster_cert_fpr(const char *path, uint8_t fpr[MIMIR_FPR_BYTES], mimir_err *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, MIMIR_CLUSTER_MAX_CERT, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    X509 *cert = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    X509 *extra = cert != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned int n = 0;
    if (cert == NULL)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "certificate",
                           "no PEM certificate found, expected one CERTIFICATE block");
    else if (extra != NULL)
        rc = mimir_err_set(err, MIMIR_EINPUT, path, "certificate",
                           "more than one certificate, expected exactly one");
    else if (X509_digest(cert, EVP_sha256(), fpr, &n) != 1 || n != MIMIR_FPR_BYTES)
        rc = mimir_err_set(err, MIMIR_ERUNTIME, path, "certificate", "cannot hash it");
    X509_free(extra);
    X509_free(cert);
    BIO_free(bio);
    free(buf);
    return rc;
}

/* Resolves p against basedir unless it is absolute. */
static char *resolve(const char *basedir, const char *p)
{
    if (p[0] == '/' || basedir == NULL || basedir[0] == '\0')
        return dupstr(p);
    size_t n = strlen(basedir) + strlen(p) + 2;
    char *r = malloc(n);
    if (r != NULL)
        snprintf(r, n, "%s/%s", basedir, p);
    return r;
}

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    if (*s == '\0' || strlen(s) > 5)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int parse_address(mimir_cluster_party *p, const char *addr, const char *name,
                         const char *field, mimir_err *err)
{
    p->address = dupstr(addr);
    if (p->address == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, field, "out of memory");
    if (strncmp(addr, "unix:", 5) == 0) {
        const char *path = addr + 5;
        if (path[0] == '\0' || strlen(path) > UNIX_PATH_MAX)
            return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                 "unix socket path empty or longer than %zu bytes",
                                 (size_t)UNIX_PATH_MAX);
        p->kind = MIMIR_ADDR_UNIX;
        p->path = dupstr(path);
        return p->path != NULL ? MIMIR_OK
                               : mimir_err_set(err, MIMIR_ERUNTIME, name, field, "out of memory");
    }
    if (strncmp(addr, "tcp:", 4) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, field,
                             "\"%.64s\", expected \"tcp:HOST:PORT\" or \"unix:PATH\"", addr);
    const char *h = addr + 4, *colon;
    size_t hlen;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (close == NULL || close[1] != ':')
            return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                 "bad IPv6 address, expected \"tcp:[ADDR]:PORT\"");
        h++;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (colon == NULL || memchr(h, ':', (size_t)(colon - h)) != NULL)
            return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                 "\"%.64s\", expected \"tcp:HOST:PORT\"", addr);
        hlen = (size_t)(colon - h);
    }
    if (hlen == 0 || hlen > 253)
        return mimir_err_set(err, MIMIR_EINPUT, name, field, "empty or overlong host");
    if (parse_port(colon + 1, &p->port) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, field,
                             "port \"%.16s\", expected 1..65535", colon + 1);
    p->kind = MIMIR_ADDR_TCP;
    p->host = malloc(hlen + 1);
    if (p->host == NULL)
        return mimir_err_set(err, MIMIR_ERUNTIME, name, field, "out of memory");
    memcpy(p->host, h, hlen);
    p->host[hlen] = '\0';
    return MIMIR_OK;
}

/* Reads an integer field in [lo, hi]; absent = leave *v unchanged when optional. */
static int get_uint(json_t *obj, const char *key, uint64_t lo, uint64_t hi, int required,
                    uint64_t *v, const char *name, const char *field, mimir_err *err)
{
    json_t *j = json_object_get(obj, key);
    if (j == NULL) {
        if (required)
            return mimir_err_set(err, MIMIR_EINPUT, name, field, "missing");
        return MIMIR_OK;
    }
    if (!json_is_integer(j) || json_integer_value(j) < 0 ||
        (uint64_t)json_integer_value(j) < lo || (uint64_t)json_integer_value(j) > hi)
        return mimir_err_set(err, MIMIR_EINPUT, name, field,
                             "expected an integer in %llu..%llu", (unsigned long long)lo,
                             (unsigned long long)hi);
    *v = (uint64_t)json_integer_value(j);
    return MIMIR_OK;
}

static int check_keys(json_t *obj, const char *const *allowed, const char *name,
                      const char *where, mimir_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        int ok = 0;
        for (const char *const *a = allowed; *a != NULL; a++)
            ok |= strcmp(key, *a) == 0;
        if (!ok)
            return mimir_err_set(err, MIMIR_EINPUT, name, where, "unknown key \"%.64s\"", key);
    }
    return MIMIR_OK;
}

static const char *get_str(json_t *obj, const char *key)
{
    json_t *j = json_object_get(obj, key);
    return json_is_string(j) ? json_string_value(j) : NULL;
}

/* The pin of a certificate: "cert" (a PEM file, hashed) and/or "sha256" (they must agree). */
static int parse_pin(mimir_cluster_party *p, const char *cert, const char *pin, const char *name,
                     const char *where, const char *basedir, const char *who, mimir_err *err)
{
    char field[2 * FIELD_BYTES];
    snprintf(field, sizeof field, "%s.sha256", where);
    uint8_t pinned[MIMIR_FPR_BYTES];
    if (pin != NULL && unhex(pin, pinned, MIMIR_FPR_BYTES) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, field, "expected 64 hex digits");
    if (cert == NULL && pin == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, where,
                             "no \"cert\" and no \"sha256\": the %s's certificate is unpinned",
                             who);
    if (cert != NULL) {
        p->cert_path = resolve(basedir, cert);
        if (p->cert_path == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, name, where, "out of memory");
        int rc = mimir_cluster_cert_fpr(p->cert_path, p->fpr, err);
        if (rc != MIMIR_OK)
            return rc;
        if (pin != NULL && memcmp(pinned, p->fpr, MIMIR_FPR_BYTES) != 0) {
            char hex[MIMIR_FPR_HEXBYTES];
            mimir_cluster_fpr_hex(p->fpr, hex);
            return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                 "does not match certificate %.200s (sha256 %s)", p->cert_path,
                                 hex);
        }
    } else {
        memcpy(p->fpr, pinned, MIMIR_FPR_BYTES);
    }
    return MIMIR_OK;
}

static int parse_party(mimir_cluster *c, json_t *jp, size_t pos, const char *name,
                       const char *basedir, int *seen, mimir_err *err)
{
    static const char *const keys[] = {"index", "address", "cert", "key", "sha256",
                                       "client_address", NULL};
    char where[FIELD_BYTES], field[2 * FIELD_BYTES];
    snprintf(where, sizeof where, "parties[%zu]", pos);
    if (!json_is_object(jp))
        return mimir_err_set(err, MIMIR_EINPUT, name, where, "expected an object");
    int rc = check_keys(jp, keys, name, where, err);
    if (rc != MIMIR_OK)
        return rc;
    uint64_t idx = 0;
    snprintf(field, sizeof field, "%s.index", where);
    rc = get_uint(jp, "index", 0, MIMIR_CLUSTER_PARTIES - 1, 1, &idx, name, field, err);
    if (rc != MIMIR_OK)
        return rc;
    if (seen[idx])
        return mimir_err_set(err, MIMIR_EINPUT, name, field, "party %llu listed twice",
                             (unsigned long long)idx);
    seen[idx] = 1;
    mimir_cluster_party *p = &c->party[idx];

    const char *addr = get_str(jp, "address"), *cert = get_str(jp, "cert");
    const char *key = get_str(jp, "key"), *pin = get_str(jp, "sha256");
    static const char *const strkeys[] = {"address", "cert", "key", "sha256"};
    for (size_t i = 0; i < 4; i++) {
        json_t *j = json_object_get(jp, strkeys[i]);
        if (j != NULL && !json_is_string(j)) {
            snprintf(field, sizeof field, "%s.%s", where, strkeys[i]);
            return mimir_err_set(err, MIMIR_EINPUT, name, field, "expected a string");
        }
    }
    snprintf(field, sizeof field, "%s.address", where);
    if (addr == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, field, "missing");
    rc = parse_address(p, addr, name, field, err);
    if (rc != MIMIR_OK)
        return rc;

    if ((rc = parse_pin(p, cert, pin, name, where, basedir, "party", err)) != MIMIR_OK)
        return rc;
    json_t *jca = json_object_get(jp, "client_address");
    if (jca != NULL) {
        snprintf(field, sizeof field, "%s.client_address", where);
        if (!json_is_string(jca))
            return mimir_err_set(err, MIMIR_EINPUT, name, field, "expected a string");
        rc = parse_address(&c->client_at[idx], json_string_value(jca), name, field, err);
        if (rc != MIMIR_OK)
            return rc;
    }
    if (key != NULL && (int)idx == c->self) {
        p->key_path = resolve(basedir, key);
        if (p->key_path == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, name, where, "out of memory");
    }
    return MIMIR_OK;
}

/* "attestation": {"policy": FILE, "at": RFC3339, "require": bool}, policy required. */
static int parse_attestation(mimir_cluster *c, json_t *ja, const char *name,
                             const char *basedir, mimir_err *err)
{
    static const char *const keys[] = {"policy", "at", "require", NULL};
    if (!json_is_object(ja))
        return mimir_err_set(err, MIMIR_EINPUT, name, "attestation",
                             "expected an object {\"policy\": FILE, \"at\": TIME, "
                             "\"require\": BOOL}");
    int rc = check_keys(ja, keys, name, "attestation", err);
    if (rc != MIMIR_OK)
        return rc;
    json_t *pol = json_object_get(ja, "policy"), *at = json_object_get(ja, "at");
    json_t *req = json_object_get(ja, "require");
    if (!json_is_string(pol) || json_string_length(pol) == 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "attestation.policy",
                             pol == NULL ? "missing, expected the policy file's path"
                                         : "expected a non-empty string (a file path)");
    if (at != NULL) {
        time_t t;
        if (!json_is_string(at) || mimir_attest_parse_time(json_string_value(at), &t) != 0)
            return mimir_err_set(err, MIMIR_EINPUT, name, "attestation.at",
                                 "expected an RFC 3339 time string, e.g. "
                                 "\"2026-06-01T00:00:00Z\"");
    }
    if (req != NULL && !json_is_boolean(req))
        return mimir_err_set(err, MIMIR_EINPUT, name, "attestation.require",
                             "expected true or false");
    c->attest_require = req == NULL || json_is_true(req);
    c->attest_policy_path = resolve(basedir, json_string_value(pol));
    c->attest_at = at != NULL ? dupstr(json_string_value(at)) : NULL;
    if (c->attest_policy_path == NULL || (at != NULL && c->attest_at == NULL))
        return mimir_err_set(err, MIMIR_ERUNTIME, name, "attestation", "out of memory");
    return MIMIR_OK;
}

/* "client": {"cert": FILE, "sha256": HEX, "key": FILE}: the client's pin (and, for the client
 * itself, its key). */
static int parse_client(mimir_cluster *c, json_t *jc, const char *name, const char *basedir,
                        mimir_err *err)
{
    static const char *const keys[] = {"cert", "sha256", "key", NULL};
    if (!json_is_object(jc))
        return mimir_err_set(err, MIMIR_EINPUT, name, "client",
                             "expected an object {\"cert\": FILE, \"sha256\": HEX}");
    int rc = check_keys(jc, keys, name, "client", err);
    if (rc != MIMIR_OK)
        return rc;
    for (size_t i = 0; keys[i] != NULL; i++) {
        json_t *j = json_object_get(jc, keys[i]);
        if (j != NULL && !json_is_string(j)) {
            char field[FIELD_BYTES];
            snprintf(field, sizeof field, "client.%s", keys[i]);
            return mimir_err_set(err, MIMIR_EINPUT, name, field, "expected a string");
        }
    }
    c->has_client = 1;
    rc = parse_pin(&c->client, get_str(jc, "cert"), get_str(jc, "sha256"), name, "client",
                   basedir, "client", err);
    if (rc != MIMIR_OK)
        return rc;
    const char *key = get_str(jc, "key");
    if (key != NULL && c->self == MIMIR_CLUSTER_CLIENT) {
        c->client.key_path = resolve(basedir, key);
        if (c->client.key_path == NULL)
            return mimir_err_set(err, MIMIR_ERUNTIME, name, "client", "out of memory");
    }
    return MIMIR_OK;
}

/* Pins and addresses must be distinct across the parties and the client. */
static int check_distinct(const mimir_cluster *c, const char *name, mimir_err *err)
{
    for (int i = 0; i < MIMIR_CLUSTER_PARTIES; i++) {
        if (c->has_client && memcmp(c->party[i].fpr, c->client.fpr, MIMIR_FPR_BYTES) == 0)
            return mimir_err_set(err, MIMIR_EINPUT, name, "client",
                                 "the client has party %d's certificate, expected its own", i);
        for (int j = 0; j < MIMIR_CLUSTER_PARTIES; j++) {
            const char *ca = c->client_at[j].address;
            if (ca != NULL && strcmp(c->party[i].address, ca) == 0)
                return mimir_err_set(err, MIMIR_EINPUT, name, "parties",
                                     "party %d's client_address is party %d's address", j, i);
            if (j > i && ca != NULL && c->client_at[i].address != NULL &&
                strcmp(c->client_at[i].address, ca) == 0)
                return mimir_err_set(err, MIMIR_EINPUT, name, "parties",
                                     "parties %d and %d have the same client_address", i, j);
        }
    }
    return MIMIR_OK;
}

static int parse_top(mimir_cluster *c, json_t *root, const char *name, const char *basedir,
                     int self, mimir_err *err)
{
    static const char *const keys[] = {"version", "session", "self", "parties",
                                       "connect_timeout_ms", "peer_timeout_ms",
                                       "max_frame_bytes", "attestation", "client", NULL};
    if (!json_is_object(root))
        return mimir_err_set(err, MIMIR_EINPUT, name, "", "expected a JSON object");
    int rc = check_keys(root, keys, name, "", err);
    if (rc != MIMIR_OK)
        return rc;
    uint64_t v = 0;
    rc = get_uint(root, "version", 1, UINT32_MAX, 1, &v, name, "version", err);
    if (rc != MIMIR_OK)
        return rc;
    c->version = (uint32_t)v;
    const char *sess = get_str(root, "session");
    if (sess == NULL || unhex(sess, c->session, MIMIR_SESSION_BYTES) != 0)
        return mimir_err_set(err, MIMIR_EINPUT, name, "session",
                             "expected a string of %d hex digits", 2 * MIMIR_SESSION_BYTES);
    if (self >= MIMIR_CLUSTER_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, name, "self", "party %d, expected 0..%d", self,
                             MIMIR_CLUSTER_PARTIES - 1);
    if (self < 0 && self != MIMIR_CLUSTER_CLIENT) {
        v = 0;
        if (json_object_get(root, "self") == NULL)
            return mimir_err_set(err, MIMIR_EINPUT, name, "self",
                                 "missing: name the local party in the file or the command");
        rc = get_uint(root, "self", 0, MIMIR_CLUSTER_PARTIES - 1, 1, &v, name, "self", err);
        if (rc != MIMIR_OK)
            return rc;
        self = (int)v;
    }
    c->self = self;
    v = 0;
    rc = get_uint(root, "connect_timeout_ms", 1, MIMIR_CLUSTER_MAX_TIMEOUT_MS, 0, &v, name,
                  "connect_timeout_ms", err);
    c->connect_timeout_ms = (uint32_t)v;
    v = 0;
    if (rc == MIMIR_OK)
        rc = get_uint(root, "peer_timeout_ms", 1, MIMIR_CLUSTER_MAX_TIMEOUT_MS, 0, &v, name,
                      "peer_timeout_ms", err);
    c->peer_timeout_ms = (uint32_t)v;
    v = 0;
    if (rc == MIMIR_OK)
        rc = get_uint(root, "max_frame_bytes", 1, UINT64_C(1) << 40, 0, &v, name,
                      "max_frame_bytes", err);
    c->max_frame_bytes = v;
    if (rc != MIMIR_OK)
        return rc;

    json_t *ja = json_object_get(root, "attestation");
    if (ja != NULL && (rc = parse_attestation(c, ja, name, basedir, err)) != MIMIR_OK)
        return rc;

    json_t *parties = json_object_get(root, "parties");
    if (!json_is_array(parties) || json_array_size(parties) != MIMIR_CLUSTER_PARTIES)
        return mimir_err_set(err, MIMIR_EINPUT, name, "parties",
                             "expected an array of %d parties", MIMIR_CLUSTER_PARTIES);
    int seen[MIMIR_CLUSTER_PARTIES] = {0};
    for (size_t i = 0; i < MIMIR_CLUSTER_PARTIES; i++) {
        rc = parse_party(c, json_array_get(parties, i), i, name, basedir, seen, err);
        if (rc != MIMIR_OK)
            return rc;
    }
    json_t *jc = json_object_get(root, "client");
    if (jc != NULL && (rc = parse_client(c, jc, name, basedir, err)) != MIMIR_OK)
        return rc;
    char field[FIELD_BYTES];
    if (c->self == MIMIR_CLUSTER_CLIENT) {
        if (!c->has_client || c->client.cert_path == NULL || c->client.key_path == NULL)
            return mimir_err_set(err, MIMIR_EINPUT, name, "client",
                                 "the client needs a \"client\" section with \"cert\" and "
                                 "\"key\"");
        for (int i = 0; i < MIMIR_CLUSTER_PARTIES; i++)
            if (c->client_at[i].address == NULL) {
                snprintf(field, sizeof field, "parties[index=%d].client_address", i);
                return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                     "missing: where the party listens for the client");
            }
    } else {
        mimir_cluster_party *me = &c->party[c->self];
        snprintf(field, sizeof field, "parties[index=%d]", c->self);
        if (me->cert_path == NULL || me->key_path == NULL)
            return mimir_err_set(err, MIMIR_EINPUT, name, field,
                                 "the local party needs \"cert\" and \"key\"");
    }
    if ((rc = check_distinct(c, name, err)) != MIMIR_OK)
        return rc;
    for (int i = 0; i < MIMIR_CLUSTER_PARTIES; i++)
        for (int j = i + 1; j < MIMIR_CLUSTER_PARTIES; j++) {
            if (memcmp(c->party[i].fpr, c->party[j].fpr, MIMIR_FPR_BYTES) == 0)
                return mimir_err_set(err, MIMIR_EINPUT, name, "parties",
                                     "parties %d and %d have the same certificate", i, j);
            if (strcmp(c->party[i].address, c->party[j].address) == 0)
                return mimir_err_set(err, MIMIR_EINPUT, name, "parties",
                                     "parties %d and %d have the same address", i, j);
        }
    return MIMIR_OK;
}

int mimir_cluster_parse(const char *json, size_t len, const char *name, const char *basedir,
                        int self, mimir_cluster **out, mimir_err *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return mimir_err_set(err, MIMIR_EINPUT, name, "",
                             "not valid JSON: line %d: %.200s", jerr.line, jerr.text);
    mimir_cluster *c = calloc(1, sizeof *c);
    if (c == NULL) {
        json_decref(root);
        return mimir_err_set(err, MIMIR_ERUNTIME, name, "", "out of memory");
    }
    c->self = self;
    c->path = dupstr(name);
    int rc = c->path != NULL ? parse_top(c, root, name, basedir, self, err)
                             : mimir_err_set(err, MIMIR_ERUNTIME, name, "", "out of memory");
    json_decref(root);
    if (rc != MIMIR_OK) {
        mimir_cluster_free(c);
        return rc;
    }
    *out = c;
    return MIMIR_OK;
}

int mimir_cluster_load(const char *path, int self, mimir_cluster **out, mimir_err *err)
{
    *out = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = mimir_read_file(path, MIMIR_CLUSTER_MAX_FILE, &buf, &len, err);
    if (rc != MIMIR_OK)
        return rc;
    char *dir = dupstr(path);
    if (dir == NULL) {
        free(buf);
        return mimir_err_set(err, MIMIR_ERUNTIME, path, "", "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        dir[0] = '\0';
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    rc = mimir_cluster_parse((const char *)buf, len, path, dir, self, out, err);
    free(dir);
    free(buf);
    return rc;
}

void mimir_cluster_free(mimir_cluster *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < 2 * MIMIR_CLUSTER_PARTIES + 1; i++) {
        mimir_cluster_party *p = i < MIMIR_CLUSTER_PARTIES ? &c->party[i]
                                 : i < 2 * MIMIR_CLUSTER_PARTIES
                                     ? &c->client_at[i - MIMIR_CLUSTER_PARTIES]
                                     : &c->client;
        free(p->address);
        free(p->host);
        free(p->path);
        free(p->cert_path);
        free(p->key_path);
    }
    free(c->attest_policy_path);
    free(c->attest_at);
    free(c->path);
    free(c);
}

/* Writes the PEM produced by fn into path atomically; mode 0600 when secret. */
static int write_pem(const char *path, int secret, BIO *mem, mimir_err *err)
{
    char *data = NULL;
    long n = BIO_get_mem_data(mem, &data);
    mimir_out out;
    int rc = mimir_out_open(&out, path, err);
    if (rc != MIMIR_OK)
        return rc;
    if (secret && out.tmp != NULL && fchmod(fileno(out.fp), 0600) != 0) {
        rc = mimir_err_errno(err, path, "cannot restrict permissions of the key file");
        mimir_out_abort(&out);
        return rc;
    }
    rc = mimir_out_write(&out, data, (size_t)n, err);
    if (rc == MIMIR_OK)
        rc = mimir_out_commit(&out, err);
    else
        mimir_out_abort(&out);
    return rc;
}

static int make_cert(EVP_PKEY *key, const char *cn, int days, BIO *mem)
{
    X509 *x = X509_new();
    X509_NAME *nm = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    int ok = x != NULL && nm != NULL && RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f; /* positive */
    ok = ok && (bn = BN_bin2bn(serial, sizeof serial, NULL)) != NULL;
    ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    ok = ok && X509_set_version(x, 2) == 1;
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL;
    ok = ok && X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) != NULL;
    ok = ok && X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                          -1, -1, 0) == 1;
    ok = ok && X509_set_subject_name(x, nm) == 1 && X509_set_issuer_name(x, nm) == 1;
    ok = ok && X509_set_pubkey(x, key) == 1;
    ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
    ok = ok && PEM_write_bio_X509(mem, x) == 1;
    BN_free(bn);
    X509_NAME_free(nm);
    X509_free(x);
    return ok;
}

int mimir_cluster_gencert(const char *cert_path, const char *key_path, const char *cn, int days,
                          mimir_err *err)
{
    if (days <= 0 || days > 36500)
        return mimir_err_set(err, MIMIR_EINPUT, cert_path, "days", "%d, expected 1..36500",
                             days);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *kmem = BIO_new(BIO_s_secmem()), *cmem = BIO_new(BIO_s_mem());
    int rc = MIMIR_OK;
    if (key == NULL || kmem == NULL || cmem == NULL ||
        PEM_write_bio_PrivateKey(kmem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        !make_cert(key, cn, days, cmem))
        rc = mimir_err_set(err, MIMIR_ERUNTIME, cert_path, "",
                           "cannot make an ECDSA P-256 key and certificate (OpenSSL)");
    if (rc == MIMIR_OK)
        rc = write_pem(key_path, 1, kmem, err);
    if (rc == MIMIR_OK)
        rc = write_pem(cert_path, 0, cmem, err);
    BIO_free(kmem); /* a secmem BIO wipes the key's PEM when freed */
    BIO_free(cmem);
    EVP_PKEY_free(key);
    return rc;
}

int mimir_cluster_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}
