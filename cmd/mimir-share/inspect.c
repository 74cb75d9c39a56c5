/* mimir-share inspect: a share file's public header as JSON, never a payload value. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "sharefile.h"
#include "share.h"

static void help(void)
{
    printf("Usage: %s inspect [--json] SHARE\n\n"
           "Prints the public header of SHARE (a share file, a model bundle directory, or - for\n"
           "stdin) as JSON: kind, party, ring, frac_bits, session id, digest, metadata and the\n"
           "tensors' names, dtypes and shapes. Share values are never printed.\n\n"
           "Options:\n"
           "  --json      accepted for symmetry with other tools (output is always JSON)\n"
           "  -h, --help  show this help\n", PROG);
}

static json_t *to_json(const mimir_share *s)
{
    char session[2 * MIMIR_SHARE_SESSIONBYTES + 1], digest[2 * MIMIR_SHARE_DIGESTBYTES + 1];
    mimir_share_hex(session, s->session, sizeof s->session);
    mimir_share_hex(digest, s->digest, sizeof s->digest);
    json_t *tensors = json_array();
    for (size_t i = 0; i < s->n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < s->t[i].ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)s->t[i].shape[d]));
        json_array_append_new(tensors, json_pack("{s:s, s:s, s:o}", "name", s->t[i].name,
                                                 "dtype", mimir_share_dtype_name(s->t[i].dtype),
                                                 "shape", shape));
    }
    json_t *meta = json_loads(s->meta, 0, NULL); /* validated by the parser */
    return json_pack("{s:s, s:s, s:i, s:s, s:i, s:i, s:i, s:s, s:s, s:o, s:o}", "file", s->name,
                     "format", "mimir-share", "version", MIMIR_SHARE_VERSION, "kind",
                     mimir_share_kind_name(s->kind), "party", s->party, "ring", (int)s->ring,
                     "frac_bits", (int)s->frac_bits, "session", session, "digest", digest,
                     "metadata", meta ? meta : json_object(), "tensors", tensors);
}

int inspect_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': break;
        case 'h': help(); return 0;
        default: return usage_fail("inspect", "unknown option");
        }
    }
    if (argc - optind != 1)
        return usage_fail("inspect", "expected one SHARE argument, got %d", argc - optind);
    mimir_err err;
    mimir_err_clear(&err);
    mimir_share *s;
    int rc = mimir_share_read(argv[optind], MIMIR_SHARE_MAX_BYTES, &s, &err);
    if (rc)
        return report(&err);
    json_t *j = to_json(s);
    mimir_share_free(s);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (text == NULL) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        return 3;
    }
    printf("%s\n", text);
    free(text);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "%s: <stdout>: write failed\n", PROG);
        return 3;
    }
    return 0;
}
