/*
 * cluster3.h — three local parties for unit tests: a temporary directory holding a certificate
 * and key per party (p0.pem/p0.key ...), addresses on loopback TCP or Unix sockets in it, and the
 * cluster file naming them. Header-only: each unit test is one translation unit.
 */
#ifndef MIMIR_TEST_CLUSTER3_H
#define MIMIR_TEST_CLUSTER3_H

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cluster.h"

/* Makes dir (a "tests/tmp/NAME.XXXXXX" template, filled in place) and the three certificates.
 * Returns 0, or prints why on stderr (as prog) and returns -1. */
static int cluster3_setup(char *dir, const char *prog)
{
    mimir_err err;
    mkdir("tests/tmp", 0700);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        char cert[300], key[300], cn[32];
        snprintf(cert, sizeof cert, "%s/p%d.pem", dir, i);
        snprintf(key, sizeof key, "%s/p%d.key", dir, i);
        snprintf(cn, sizeof cn, "mimir party %d", i);
        if (mimir_cluster_gencert(cert, key, cn, 2, &err) != MIMIR_OK) {
            mimir_err_print(stderr, prog, &err);
            return -1;
        }
    }
    return 0;
}

/* Addresses for the three parties: kind "tcp" (free loopback ports) or "unix" (sockets named
 * dir/TAGsI, so runs in one directory can use distinct tags). */
static void cluster3_addresses(char addr[3][200], const char *kind, const char *dir,
                               const char *tag)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(kind, "tcp") == 0)
            snprintf(addr[i], 200, "tcp:127.0.0.1:%d", mimir_cluster_free_port());
        else
            snprintf(addr[i], 200, "unix:%.170s/%.10ss%d", dir, tag, i);
    }
}

/* A cluster file for all three parties (each with its key) at addresses addr[i], in session
 * (32 hex digits), with 5 s connect and peer timeouts. */
static void cluster3_json(char *out, size_t cap, const char *session, char addr[3][200])
{
    snprintf(out, cap,
             "{\"version\": 1, \"session\": \"%s\",\n"
             " \"peer_timeout_ms\": 5000, \"connect_timeout_ms\": 5000,\n"
             " \"parties\": [\n"
             "  {\"index\": 0, \"address\": \"%s\", \"cert\": \"p0.pem\", \"key\": \"p0.key\"},\n"
             "  {\"index\": 1, \"address\": \"%s\", \"cert\": \"p1.pem\", \"key\": \"p1.key\"},\n"
             "  {\"index\": 2, \"address\": \"%s\", \"cert\": \"p2.pem\", "
             "\"key\": \"p2.key\"}]}\n",
             session, addr[0], addr[1], addr[2]);
}

#endif
