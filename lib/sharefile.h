/*
 * sharefile.h — one party's share file: replicated shares of named tensors with public metadata.
 *
 * A share file holds, for one party i of three, the components (x_i, x_{i+1}) of every tensor
 * (lib/rss.h), plus what is public: the kind (tensor, model, tokens), the ring (64 or 128), the
 * fixed-point fractional bits, a 16-byte session id chosen at split time and equal in the three
 * files, a metadata JSON object, and each tensor's name, original dtype and shape. A SHA-256
 * digest over everything before it ends the file. The byte layout is in docs/formats.md.
 *
 * The parser is strict and bounded: every length is checked against the limits below and the
 * file size before use, the digest must match, names must be unique printable ASCII, shapes
 * must not overflow, payload lengths must add up exactly, and the metadata must be a JSON object.
 * Every failure is MIMIR_EINPUT naming the file and the field. Components live in secret buffers
 * (mimir_secret_alloc) and are wiped when the share is freed; nothing here prints a value.
 */
#ifndef MIMIR_SHAREFILE_H
#define MIMIR_SHAREFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "io.h"
#include "ring.h"
#include "rss.h"

#define MIMIR_SHARE_MAGIC "MIMIRSHR"
#define MIMIR_SHARE_MAGICBYTES 8
#define MIMIR_SHARE_VERSION 1
#define MIMIR_SHARE_HEADERBYTES 64       /* fixed header before the metadata */
#define MIMIR_SHARE_SESSIONBYTES 16
#define MIMIR_SHARE_DIGESTBYTES 32       /* SHA-256 */
#define MIMIR_SHARE_MAX_META (1u << 20)  /* metadata JSON, bytes */
#define MIMIR_SHARE_MAX_TENSORS 4096
#define MIMIR_SHARE_MAX_NAME 255
#define MIMIR_SHARE_MAX_DIMS 8
#define MIMIR_SHARE_MAX_BYTES ((size_t)16 << 30) /* default bound on a share file */
#define MIMIR_SHARE_BUNDLE_FILE "model.shares"   /* the share file inside a model bundle dir */

enum mimir_share_kind { MIMIR_SHARE_TENSOR = 1, MIMIR_SHARE_MODEL = 2, MIMIR_SHARE_TOKENS = 3 };

/* The original (public) dtype of a tensor: floats are stored fixed-point with frac_bits,
 * integers exactly (two's complement). */
enum mimir_share_dtype {
    MIMIR_SHARE_F32 = 1, MIMIR_SHARE_F64 = 2, MIMIR_SHARE_I64 = 3, MIMIR_SHARE_I32 = 4,
};

typedef struct mimir_share_tensor {
    char name[MIMIR_SHARE_MAX_NAME + 1];
    enum mimir_share_dtype dtype;
    int ndim;
    uint64_t shape[MIMIR_SHARE_MAX_DIMS];
    uint64_t numel;
    void *c[2]; /* secret: c[0] = x_party, c[1] = x_{party+1}; numel words of ring/8 bytes */
} mimir_share_tensor;

typedef struct mimir_share {
    char *name;        /* file name for messages */
    int kind;          /* enum mimir_share_kind */
    int party;         /* 0, 1 or 2 */
    unsigned ring;     /* 64 or 128 */
    unsigned frac_bits;
    uint8_t session[MIMIR_SHARE_SESSIONBYTES];
    char *meta;        /* metadata JSON text, NUL-terminated */
    size_t meta_len;
    size_t n;          /* tensors */
    mimir_share_tensor *t;
    uint8_t digest[MIMIR_SHARE_DIGESTBYTES]; /* of the file, after parse or encode */
    size_t cap;
} mimir_share;

/* A new share with no tensors. meta is JSON object text (copied). name is used in messages. */
int mimir_share_new(const char *name, int kind, int party, unsigned ring, unsigned frac_bits,
                    const uint8_t session[MIMIR_SHARE_SESSIONBYTES], const char *meta,
                    mimir_share **out, mimir_err *err);
/* Appends a tensor with zeroed components (secret buffers); *t points at it until the next add. */
int mimir_share_add(mimir_share *s, const char *name, enum mimir_share_dtype dtype, int ndim,
                    const uint64_t *shape, mimir_share_tensor **t, mimir_err *err);
void mimir_share_free(mimir_share *s);

/* Serialises s (and sets s->digest). *buf comes from mimir_secret_alloc: free it with
 * mimir_secret_free. */
int mimir_share_encode(mimir_share *s, uint8_t **buf, size_t *len, mimir_err *err);
/* Writes s to an open writer, streaming the components (no second copy of the payload), and
 * sets s->digest. The caller commits or aborts the writer. */
int mimir_share_write(mimir_share *s, mimir_out *out, mimir_err *err);

/* Splitting: mimir_share_split_new makes the three parties' empty shares of one new session
 * (the 16-byte session id is the first thing drawn from rng); names[i] names party i's file in
 * messages. mimir_share_split_add then splits one plaintext tensor v (numel values in Z_2^64:
 * fixed-point or integer; sign-extended when ring is 128) into the three shares, drawing its
 * random components from rng (lib/rss.h). A seeded rng therefore gives identical files. */
int mimir_share_split_new(int kind, unsigned ring, unsigned frac_bits, const char *meta,
                          const char *const names[3], const mimir_rss_rng *rng,
                          mimir_share *out[3], mimir_err *err);
int mimir_share_split_add(mimir_share *s[3], const char *name, enum mimir_share_dtype dtype,
                          int ndim, const uint64_t *shape, const mimir_r64 *v,
                          const mimir_rss_rng *rng, mimir_err *err);

/* Parses a share file image; name is used in messages. */
int mimir_share_parse(const char *name, const uint8_t *buf, size_t len, mimir_share **out,
                      mimir_err *err);
/* Reads path ("-" = stdin), at most max bytes; a directory means its MIMIR_SHARE_BUNDLE_FILE. */
int mimir_share_read(const char *path, size_t max, mimir_share **out, mimir_err *err);

/* Checks that b belongs with a for a join: same session, kind, ring, frac_bits, metadata and
 * tensor table (names, dtypes, shapes). MIMIR_EINPUT naming b's file and the field otherwise. */
int mimir_share_compatible(const mimir_share *a, const mimir_share *b, mimir_err *err);

/* Reconstructs tensor idx from ns = 2 or 3 compatible shares of distinct parties into x
 * (numel ring words); with three shares every replicated copy is checked (MIMIR_ESECURITY). */
int mimir_share_open(const mimir_share *const *s, size_t ns, size_t idx, void *x,
                     mimir_err *err);

const char *mimir_share_kind_name(int kind);   /* "tensor", "model", "tokens" or "?" */
const char *mimir_share_dtype_name(int dtype); /* "float32", "float64", "int64", "int32" */
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void mimir_share_hex(char *out, const uint8_t *p, size_t n);

#endif
