/* party.h — mimir-party's subcommands (one file each) and helpers shared between them. */
#ifndef MIMIR_PARTY_TOOL_H
#define MIMIR_PARTY_TOOL_H

#define PROG "mimir-party"

int compute_main(int argc, char **argv);          /* compute.c */
int transcript_check_main(int argc, char **argv); /* transcript.c */
int serve_main(int argc, char **argv);            /* serve.c: also the default form */

#endif
