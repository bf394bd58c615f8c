/* Small option parser shared by the commands: --name VALUE, --name=VALUE, flags. */
#ifndef NNC_CLI_ARGS_H
#define NNC_CLI_ARGS_H

#include "nnc.h"

typedef struct cli_opt {
  const char *name;  /* "x", "epochs", "summary" */
  int takes_value;   /* 0 flag, 1 required value, 2 optional value (--dump-ir[=post]) */
  const char *value; /* set by cli_parse; "" for a flag that is present */
} cli_opt;

/* argv[0] is the command name, argv[1] the spec. Returns 0, or prints a
 * one-line error and returns the exit status: 2 for bad options and for an
 * output that is also an input, 1 for an output that cannot be written (a
 * missing folder, a directory), checked before any work. */
int cli_parse(int argc, char **argv, cli_opt *opts, int n_opts, const char **spec);
const char *cli_get(const cli_opt *opts, int n_opts, const char *name);
int cli_int(const char *cmd, const char *name, const char *text, long lo, long hi, long *out);
int cli_double(const char *cmd, const char *name, const char *text, double *out);

/* --accumulate f32|f64 (NULL: f32) into *f64; prints the error and returns 2. */
int cli_accumulation(const char *cmd, const char *text, int *f64);

/* Exit status for a status code: 2 for bad input, 1 otherwise. */
int cli_fail(const char *cmd, const nnc_status *st);

/* Read an array (.npy or IDX), optionally divided by `divide` (as float32). */
int cli_read_array(const char *path, const char *divide, nnc_array *out, nnc_status *st);

#endif
