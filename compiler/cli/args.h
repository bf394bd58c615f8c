/* Small option parser shared by the commands: --name VALUE, --name=VALUE, flags. */
#ifndef NNC_CLI_ARGS_H
#define NNC_CLI_ARGS_H

#include <limits.h>

#include "nnc.h"

typedef struct cli_opt {
  const char *name;    /* "x", "epochs", "summary" */
  int takes_value;     /* 0 flag, 1 required value, 2 optional value (--dump-ir[=post]),
                          CLI_REPEAT a value that may be given again (--x A --x B) */
  const char *value;   /* set by cli_parse; "" for a flag that is present; the first of a repeat */
  const char **values; /* CLI_REPEAT: every value in order (malloc'ed; cli_free) */
  int n_values;
} cli_opt;

enum { CLI_REPEAT = 3 };

/* argv[0] is the command name, argv[1] the spec. Returns 0, or prints a
 * one-line error and returns the exit status: 2 for bad options and for an
 * output that is also an input, 1 for an output that cannot be written (a
 * missing folder, a directory), checked before any work. */
int cli_parse(int argc, char **argv, cli_opt *opts, int n_opts, const char **spec);
const char *cli_get(const cli_opt *opts, int n_opts, const char *name);
/* Every value of a CLI_REPEAT option (or the one value of another): the count. */
int cli_get_all(const cli_opt *opts, int n_opts, const char *name, const char *const **values);
void cli_free(cli_opt *opts, int n_opts);

/* A data value "NAME=FILE" (the text before '=' is non-empty and holds no
 * '/': "./a=b.npy" is a file) sets *file and copies NAME; else 0. */
int cli_named_value(const char *value, char *name, size_t name_size, const char **file);
/* The file a data value names: FILE of NAME=FILE, else the value. */
const char *cli_value_file(const char *value);

/* The checks cli_parse makes on every output, for one more output path that
 * is known only later (predict --out DIR: DIR/<output>.npy): an empty name
 * or a path that is one of the inputs is 2, a path that cannot be written 1;
 * prints the error. */
int cli_check_output(const char *cmd, const char *option, const char *path, const cli_opt *opts,
                     int n_opts, const char *spec);
/* a and b are one regular file (by device and inode) */
int cli_same_file(const char *a, const char *b);
/* The first file the command reads (SPEC, or a value of an input option:
 * --x, --y, --weights-in, ...; FILE of NAME=FILE) for which match(file,
 * ctx) holds, with *option "SPEC" or the option's name; NULL when none. */
const char *cli_find_input(const cli_opt *opts, int n_opts, const char *spec,
                           int (*match)(const char *file, const void *ctx), const void *ctx,
                           const char **option);
/* The first output option whose file (where a write to it lands: the
 * folder resolved, as an absolute path; --save-tfjs DIR as DIR/model.json)
 * satisfies match(where, ctx), with *option its name; NULL when none. */
const char *cli_find_output(const cli_opt *opts, int n_opts,
                            int (*match)(const char *where, const void *ctx), const void *ctx,
                            const char **option);
/* Where a write to path lands (links followed, dangling ones too; the
 * folder resolved), as cli_find_output's `where`; 0 or an errno value. */
int cli_write_target(const char *path, char *out, size_t n);
/* Whether a file name is one a TF.js save writes or removes in its folder:
 * model.json, weights.bin, group*-shard* (runtime/io/tfjs_write.c). */
int cli_tfjs_save_name(const char *base);
/* Whether where (resolved) is in folder (resolved) under such a name. */
int cli_tfjs_save_file(const char *folder, const char *where);
/* 1 with real = the --save-tfjs folder resolved, when given and existing. */
int cli_save_tfjs_folder(const cli_opt *opts, int n_opts, char real[PATH_MAX]);
int cli_int(const char *cmd, const char *name, const char *text, long lo, long hi, long *out);
int cli_double(const char *cmd, const char *name, const char *text, double *out);

/* --accumulate f32|f64 (NULL: f32) into *f64; prints the error and returns 2. */
int cli_accumulation(const char *cmd, const char *text, int *f64);

/* Exit status for a status code: 2 for bad input, 1 otherwise. */
int cli_fail(const char *cmd, const nnc_status *st);

#endif
