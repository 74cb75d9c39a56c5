/* mimir-attest cert — a key pair and a self-signed certificate carrying bound evidence. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "attest/cert.h"
#include "attest/sim.h"
#include "attest/tsm.h"
#include "io.h"
#include "mem.h"
#include "tool.h"

#define DEFAULT_DAYS 30

static void help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " cert (--simulate | --tsm) --key-out FILE --cert-out FILE\n"
            "                         [--nonce HEX] [--cn NAME] [--days N]\n"
            "Makes an ECDSA P-256 key pair and a self-signed certificate whose extension\n"
            "1.3.6.1.5.5.7.1.35 (CMW) carries evidence with report_data = SHA-256(public key)\n"
            "|| nonce.\n"
            "  --simulate      simulated evidence (rejected unless a policy sets allow_simulated)\n"
            "  --tsm           real evidence from the guest through configfs-tsm\n"
            "  --key-out FILE  private key, PEM PKCS#8, mode 0600\n"
            "  --cert-out FILE certificate, PEM\n"
            "  --nonce HEX     verifier's freshness nonce, up to 32 bytes\n"
            "  --cn NAME       subject common name (default mimir-party)\n"
            "  --days N        validity in days (default %d)\n", DEFAULT_DAYS);
}

static int unhex(const char *s, uint8_t *out, size_t max, size_t *n)
{
    size_t l = strlen(s);
    if (l % 2 || l / 2 > max)
        return -1;
    for (size_t i = 0; i < l / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
            return -1;
        out[i] = (uint8_t)v;
    }
    *n = l / 2;
    return 0;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *x, mimir_err *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b != NULL && (key ? PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                               : PEM_write_bio_X509(b, x));
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    int rc = MIMIR_OK;
    if (!ok || n <= 0) {
        rc = mimir_err_set(err, MIMIR_ERUNTIME, path, NULL, "cannot encode PEM");
    } else {
        mimir_out out;
        rc = mimir_out_open(&out, path, err);
        if (rc == MIMIR_OK && key != NULL && out.tmp != NULL)
            fchmod(fileno(out.fp), 0600); /* a private key is readable by its owner only */
        if (rc == MIMIR_OK)
            rc = mimir_out_write(&out, p, (size_t)n, err);
        if (rc == MIMIR_OK)
            rc = mimir_out_commit(&out, err);
        else
            mimir_out_abort(&out);
        mimir_wipe(p, (size_t)n);
    }
    BIO_free(b);
    return rc;
}

int cert_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"simulate", no_argument, NULL, 's'},       {"tsm", no_argument, NULL, 't'},
        {"key-out", required_argument, NULL, 'k'},  {"cert-out", required_argument, NULL, 'c'},
        {"nonce", required_argument, NULL, 'n'},    {"cn", required_argument, NULL, 'N'},
        {"days", required_argument, NULL, 'd'},     {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *key_out = NULL, *cert_out = NULL, *cn = "mimir-party";
    int simulate = 0, tsm = 0, days = DEFAULT_DAYS, ch;
    uint8_t nonce[MIMIR_ATTEST_NONCE_MAX];
    size_t nlen = 0;
    mimir_err err;
    mimir_err_clear(&err);
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': simulate = 1; break;
        case 't': tsm = 1; break;
        case 'k': key_out = optarg; break;
        case 'c': cert_out = optarg; break;
        case 'N': cn = optarg; break;
        case 'd': days = atoi(optarg); break;
        case 'n':
            if (unhex(optarg, nonce, sizeof nonce, &nlen) != 0) {
                fprintf(stderr, PROG ": --nonce: expected hex of at most 32 bytes\n");
                return MIMIR_EINPUT;
            }
            break;
        case 'h': help(stdout); return 0;
        default: help(stderr); return MIMIR_EINPUT;
        }
    }
    if (optind != argc || simulate + tsm != 1 || key_out == NULL || cert_out == NULL ||
        days < 1 || days > 3650) {
        fprintf(stderr, PROG ": cert: expected exactly one of --simulate/--tsm, --key-out, "
                        "--cert-out and days from 1 to 3650, see '" PROG " cert --help'\n");
        return MIMIR_EINPUT;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    uint8_t rd[MIMIR_ATTEST_REPORT_DATA_BYTES], sim[MIMIR_SIM_BYTES];
    uint8_t *ev = NULL;
    size_t n = 0;
    X509 *x = NULL;
    int rc = key ? MIMIR_OK : mimir_err_set(&err, MIMIR_ERUNTIME, NULL, "key", "keygen failed");
    if (rc == MIMIR_OK)
        rc = mimir_attest_binding(key, nonce, nlen, rd, &err);
    if (rc == MIMIR_OK && simulate) {
        mimir_sim_make(rd, sim);
        rc = mimir_attest_cert_new(key, cn, days, time(NULL), sim, sizeof sim, &x, &err);
    } else if (rc == MIMIR_OK) {
        rc = mimir_tsm_report(rd, &ev, &n, &err);
        if (rc == MIMIR_OK)
            rc = mimir_attest_cert_new(key, cn, days, time(NULL), ev, n, &x, &err);
    }
    if (rc == MIMIR_OK)
        rc = write_pem(key_out, key, NULL, &err);
    if (rc == MIMIR_OK)
        rc = write_pem(cert_out, NULL, x, &err);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, PROG, &err);
    free(ev);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}
