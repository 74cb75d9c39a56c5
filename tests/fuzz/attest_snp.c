/* libFuzzer target: SEV-SNP report parsing and verification (tests/fuzz/attest_run.sh builds it).
 * With the go-sev-guest VCEK and the Milan chain loaded, every input that parses runs the
 * signature, chain, TCB and chip-id checks and the JSON of every field. */
#include <stdint.h>
#include <stdlib.h>

#include "attest/attest.h"
#include "attest/snp.h"
#include "attest/x509.h"
#include "io.h"

static STACK_OF(X509) *certs;

static void add(const char *path)
{
    uint8_t *b = NULL;
    size_t n = 0;
    mimir_err err;
    if (mimir_read_file(path, 1 << 20, &b, &n, &err) == MIMIR_OK)
        mimir_x509_load(b, n, path, certs, &err);
    free(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    certs = sk_X509_new_null();
    add("../shared/testdata/attestation/snp/milan-v2-gsg-vcek.der");
    add("../shared/testdata/attestation/snp/certs/ask_ark_milan.pem");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mimir_snp_report r;
    mimir_err err;
    mimir_snp_parse(data, size, "fuzz", &r, &err);
    mimir_attest_result res;
    if (mimir_attest_result_init(&res, &err) != MIMIR_OK)
        return 0;
    mimir_attest_opts o = {1780272000, certs, NULL};
    mimir_attest_verify(data, size, "fuzz", &o, &res, &err);
    mimir_attest_result_free(&res);
    return 0;
}
