/* mimir-attest broker / fetch — release a sealed bundle's key to attested parties only. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/broker.h"
#include "attest/policy.h"
#include "attest/seal.h"
#include "mem.h"
#include "tool.h"

static void broker_help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " broker --policy P --cert C --key K --listen ADDR --release KEYFILE\n"
            "                           [--once]\n"
            "Serves KEYFILE's key over TLS 1.3 to clients whose certificate carries evidence\n"
            "that verifies and passes policy P; refuses others, naming the failed checks.\n"
            "  --policy P        JSON admission policy (docs/attestation.md)\n"
            "  --cert C, --key K the broker's TLS certificate and private key (PEM)\n"
            "  --listen ADDR     tcp:HOST:PORT (port 0 picks one) or unix:PATH\n"
            "  --release KEYFILE the seal key (from '" PROG " seal --key-out')\n"
            "  --once            serve one connection, then exit: 0 released, 1 refused\n"
            "Logs one line per connection to stderr (never the key), starting with\n"
            "'listening on ADDR pin SHA256'.\n");
}

static void fetch_help(FILE *f)
{
    fprintf(f,
            "Usage: " PROG " fetch --broker ADDR --cert C --key K --pin SHA256 [-o KEYFILE]\n"
            "Fetches a seal key from a broker, presenting the attested certificate C (made by\n"
            "'" PROG " cert') and its key K, and pinning the broker's certificate to SHA256 (hex\n"
            "of the DER certificate's SHA-256).\n"
            "  -o, --output KEYFILE  where to write the key, mode 0600 (default '-': stdout)\n"
            "Exit: 0 key received, 1 refused by the broker or wrong pin, 2 bad usage,\n"
            "3 connection failed.\n");
}

int broker_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"policy", required_argument, NULL, 'p'},  {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"listen", required_argument, NULL, 'l'},
        {"release", required_argument, NULL, 'r'}, {"once", no_argument, NULL, '1'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *policy = NULL, *cert = NULL, *kpem = NULL, *listen_ = NULL, *release = NULL;
    int once = 0, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': policy = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': kpem = optarg; break;
        case 'l': listen_ = optarg; break;
        case 'r': release = optarg; break;
        case '1': once = 1; break;
        case 'h': broker_help(stdout); return 0;
        default: fprintf(stderr, PROG ": bad option, see '" PROG " broker --help'\n");
                 return MIMIR_EINPUT;
        }
    }
    if (optind != argc || !policy || !cert || !kpem || !listen_ || !release) {
        fprintf(stderr, PROG ": broker: --policy, --cert, --key, --listen and --release are "
                        "required, see '" PROG " broker --help'\n");
        return MIMIR_EINPUT;
    }
    signal(SIGPIPE, SIG_IGN);
    mimir_err err;
    mimir_err_clear(&err);
    mimir_attest_policy *pol = NULL;
    mimir_broker *b = NULL;
    uint8_t *buf = NULL, *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    size_t len = 0;
    int rc = key ? MIMIR_OK : mimir_err_set(&err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = tool_read(policy, MIMIR_POLICY_MAX_BYTES, &buf, &len, &err);
    if (rc == MIMIR_OK)
        rc = mimir_policy_parse(buf, len, policy, &pol, &err);
    free(buf);
    if (rc == MIMIR_OK)
        rc = mimir_seal_key_load(release, key, &err);
    if (rc == MIMIR_OK)
        rc = mimir_broker_new(listen_, cert, kpem, pol, key, &b, &err);
    mimir_key_free(key);
    if (rc != MIMIR_OK) {
        mimir_err_print(stderr, PROG, &err);
        mimir_policy_free(pol);
        return rc;
    }
    fprintf(stderr, PROG ": broker: listening on %s pin %s\n", mimir_broker_address(b),
            mimir_broker_pin(b));
    for (;;) {
        mimir_broker_event ev;
        mimir_err_clear(&err);
        int r = mimir_broker_serve_one(b, &ev, &err);
        if (r != MIMIR_OK) {
            mimir_err_print(stderr, PROG, &err);
            rc = r;
        } else if (ev.admitted) {
            fprintf(stderr, PROG ": broker: %s: admitted, key released\n", ev.peer);
            rc = MIMIR_OK;
        } else {
            fprintf(stderr, PROG ": broker: %s: refused: %s\n", ev.peer, ev.reasons);
            rc = MIMIR_ESECURITY;
        }
        if (once)
            break;
    }
    mimir_broker_free(b);
    mimir_policy_free(pol);
    return rc;
}

int fetch_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"broker", required_argument, NULL, 'b'}, {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},    {"pin", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *broker = NULL, *cert = NULL, *kpem = NULL, *pin = NULL, *output = "-";
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (ch) {
        case 'b': broker = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': kpem = optarg; break;
        case 'p': pin = optarg; break;
        case 'o': output = optarg; break;
        case 'h': fetch_help(stdout); return 0;
        default: fprintf(stderr, PROG ": bad option, see '" PROG " fetch --help'\n");
                 return MIMIR_EINPUT;
        }
    }
    if (optind != argc || !broker || !cert || !kpem || !pin) {
        fprintf(stderr, PROG ": fetch: --broker, --cert, --key and --pin are required, see '"
                        PROG " fetch --help'\n");
        return MIMIR_EINPUT;
    }
    signal(SIGPIPE, SIG_IGN);
    mimir_err err;
    mimir_err_clear(&err);
    uint8_t *key = mimir_key_alloc(MIMIR_SEAL_KEY_BYTES);
    int rc = key ? MIMIR_OK : mimir_err_set(&err, MIMIR_ERUNTIME, NULL, NULL, "out of memory");
    if (rc == MIMIR_OK)
        rc = mimir_broker_fetch(broker, cert, kpem, pin, key, &err);
    if (rc == MIMIR_OK)
        rc = mimir_seal_key_save(output, key, &err);
    mimir_key_free(key);
    if (rc != MIMIR_OK)
        mimir_err_print(stderr, PROG, &err);
    return rc;
}
