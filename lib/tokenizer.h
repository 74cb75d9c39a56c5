/*
 * tokenizer.h — text <-> token ids: a character tokenizer and GPT-2 byte-level BPE.
 *
 * mimir_tokenizer_load(dir) picks the kind from the files in dir: tokenizer.json (Mimir's
 * character tokenizer, schema in docs/tokenizers.md) or vocab.json + merges.txt (GPT-2 BPE, with
 * GPT-2's pre-tokenization regex evaluated with Unicode classes by PCRE2 with UCP).
 * "<|endoftext|>" in input text is encoded as plain text, as GPT-2's own encoder does.
 * Decoding is by token bytes, so a generator can stream a token's bytes as soon as it is known
 * (a multi-byte UTF-8 character may be split across tokens; concatenation restores it).
 */
#ifndef MIMIR_TOKENIZER_H
#define MIMIR_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct mimir_tokenizer mimir_tokenizer;

enum mimir_tokenizer_kind { MIMIR_TOK_CHAR = 1, MIMIR_TOK_BPE = 2 };

/* Loads the tokenizer in dir. Errors name the file and the field. */
int mimir_tokenizer_load(const char *dir, mimir_tokenizer **out, mimir_err *err);
void mimir_tokenizer_free(mimir_tokenizer *tok);

enum mimir_tokenizer_kind mimir_tokenizer_kind(const mimir_tokenizer *tok);
size_t mimir_tokenizer_vocab_size(const mimir_tokenizer *tok);
/* SHA-256 (hex, 64 chars + NUL) over the tokenizer's files, to bind token shares to it. */
const char *mimir_tokenizer_digest(const mimir_tokenizer *tok);

/* Encodes len bytes of UTF-8 text into a malloc'd array of ids. Invalid UTF-8, or a character
 * the character vocabulary lacks, is MIMIR_EINPUT naming the byte offset. */
int mimir_tokenizer_encode(const mimir_tokenizer *tok, const char *text, size_t len,
                           int32_t **ids, size_t *n, mimir_err *err);

/* The bytes of token id (not NUL-terminated). Returns MIMIR_EINPUT for an id out of range. */
int mimir_tokenizer_token_bytes(const mimir_tokenizer *tok, int32_t id, const uint8_t **bytes,
                                size_t *len, mimir_err *err);

/* Decodes n ids into a malloc'd NUL-terminated buffer (len excludes the NUL). */
int mimir_tokenizer_decode(const mimir_tokenizer *tok, const int32_t *ids, size_t n,
                           char **text, size_t *len, mimir_err *err);

#endif
