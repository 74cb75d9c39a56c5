/*
 * tests/fuzz/tokenizer.c — libFuzzer target: arbitrary bytes through the GPT-2 tokenizer.
 *
 * Checks, beyond the sanitizers: encoding fails exactly when the input is not UTF-8 (and then
 * with MIMIR_EINPUT), every id is in the vocabulary, and decoding the ids gives the input back
 * byte for byte. The tokenizer directory is $MIMIR_FUZZ_TOKENIZER or ../shared/testdata/gpt2-bpe.
 *
 * Not built by the default Makefile. `tests/fuzz/build.sh tokenizer`, or by hand from the root:
 *   mkdir -p build/fuzz && clang -std=c11 -D_GNU_SOURCE -g -O1 \
 *       -fsanitize=fuzzer,address,undefined -Ilib tests/fuzz/tokenizer.c lib/tokenizer.c \
 *       lib/tokenizer_bpe.c lib/tokenizer_pattern.c lib/io.c lib/err.c lib/mem.c \
 *       -o build/fuzz/tokenizer -lssl -lcrypto -lsodium -ljansson -lpcre2-8
 *   build/fuzz/tokenizer -max_len=4096 -max_total_time=60
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "tokenizer_internal.h"

static mimir_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("MIMIR_FUZZ_TOKENIZER");
    mimir_err err;
    if (mimir_tokenizer_load(dir != NULL ? dir : "../shared/testdata/gpt2-bpe", &tok, &err)) {
        mimir_err_print(stderr, "fuzz-tokenizer", &err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t *ids = NULL;
    size_t n = 0;
    mimir_err err;
    int valid = mimir_tok_utf8_check(data, size) == size;
    int rc = mimir_tokenizer_encode(tok, (const char *)data, size, &ids, &n, &err);
    if (!valid) {
        if (rc != MIMIR_EINPUT || ids != NULL)
            abort();
        return 0;
    }
    if (rc != MIMIR_OK || n > size)
        abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= mimir_tokenizer_vocab_size(tok))
            abort();
    char *text = NULL;
    size_t len = 0;
    if (mimir_tokenizer_decode(tok, ids, n, &text, &len, &err) != MIMIR_OK || len != size ||
        memcmp(text, data, size) != 0)
        abort();
    free(text);
    free(ids);
    return 0;
}
