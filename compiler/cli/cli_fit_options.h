/* nnc fit's issue-7 options (docs/cli.md "Callbacks and fit options"):
 * --callback (repeatable), --validation-freq, --steps-per-epoch,
 * --validation-steps, --validation-batch-size, --shuffle true|false|batch,
 * --class-weight '0:1,1:5', --train-metrics batches|end-of-epoch,
 * --tensorboard DIR (TensorBoard(log_dir=DIR), after the --callback ones). */
#ifndef NNC_CLI_FIT_OPTIONS_H
#define NNC_CLI_FIT_OPTIONS_H

#include "compiler/cli/args.h"
#include "nnc.h"

/* What the options own: the callbacks and the class weights fo points at. */
typedef struct cli_fit_extras {
  int n_callbacks;
  nnc_callback **callbacks;
  double *class_weights;
} cli_fit_extras;

/* Parse the options into fo (and ex, which fo points into); prints the
 * error and returns the exit status (2 for a bad value). */
int cli_fit_options(const char *cmd, const cli_opt *o, int n, nnc_fit_options *fo,
                    cli_fit_extras *ex);
void cli_fit_extras_free(cli_fit_extras *ex);

/* --class-weight text "0:1,1:5" (spaces allowed; a class not listed weighs
 * 1) into a dense array of weights[0..max]: returns the count, or -1 with
 * the error printed. */
int cli_class_weights(const char *cmd, const char *text, double **weights);

/* The files built-in callbacks write must not be inputs of the run
 * (callback_files.c): prints "nnc CMD: <label><path> is the same file as
 * --x X: ..." and returns 2 for one that is; 0 otherwise. label prefixes
 * the path ("--callback "). */
int cli_check_callback_files(const char *cmd, const nnc_callback *cb, const char *label,
                             const cli_opt *o, int n, const char *spec);
/* The same for the spec's "callbacks" list, created here as fit would
 * create them (a bad one is reported now, exit 2); labels name the
 * argument's JSON path: "spec.json: $.callbacks[0].config.filename: ". */
int cli_check_spec_callbacks(const char *cmd, nnc_model *m, const cli_opt *o, int n,
                             const char *spec);

#endif
