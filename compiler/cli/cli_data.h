/* Data of the training commands: files matched to the model's inputs and
 * outputs (cli_match.c), and the library calls that take one array per
 * input and per output (cli_data.c, the one adapter to the C API). */
#ifndef NNC_CLI_DATA_H
#define NNC_CLI_DATA_H

#include "nnc.h"

/* One array per model input (x) or per model output (y), in the model's
 * order. A y array of rank 0 with no data: no target for that output. */
typedef struct cli_arrays {
  int n;
  nnc_array *a;
  char **labels;            /* what each array is called in messages (a.name points here) */
  struct nnc_mapping *maps; /* per array: the mapped .npy it lies in (len 0: malloc'ed) */
} cli_arrays;

void cli_arrays_free(cli_arrays *arrays); /* cli_match.c */

/* ---- the model's inputs and outputs (cli_data.c) ---- */
int cli_model_input_count(const nnc_model *m);
const char *cli_model_input_name(const nnc_model *m, int i);
int cli_model_output_count(const nnc_model *m);
const char *cli_model_output_name(const nnc_model *m, int i);

/* ---- the calls (cli_data.c); y may be NULL where the library allows it ---- */
int cli_model_build(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st);
int cli_model_check_data(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st);
/* x_val, y_val: validation data, or NULL. */
int cli_model_fit(nnc_model *m, const cli_arrays *x, const cli_arrays *y, const cli_arrays *x_val,
                  const cli_arrays *y_val, const nnc_fit_options *opts, nnc_history *history,
                  nnc_status *st);
/* sw: sample weights, one per output (rank 0: none), one for every output
 * (sw->n = 1), or NULL / empty: none. */
int cli_model_evaluate(nnc_model *m, const cli_arrays *x, const cli_arrays *y, const cli_arrays *sw,
                       int batch_size, nnc_logs *out, nnc_status *st);
int cli_model_train_on_batch(nnc_model *m, const cli_arrays *x, const cli_arrays *y,
                             const cli_arrays *sw, nnc_logs *out, nnc_status *st);
/* out gets one float32 array per output. */
int cli_model_predict(nnc_model *m, const cli_arrays *x, int batch_size, cli_arrays *out,
                      nnc_status *st);

/* ---- matching files to inputs or outputs (cli_match.c) ---- */

/* The files given to one option (--x, --y-val, ...) as one array per slot
 * (slot = model input, or output for targets), by one of three styles:
 *   positional  plain files, one per slot in order;
 *   by name     NAME=FILE for each slot wanted (cli_named_value);
 *   .npz        one .npz file alone, its member names the slot names (a
 *               single member "arr_0" for a model of one slot).
 * Mixing styles, a name that is no slot, a slot given twice, a wrong count
 * and a missing slot are NNC_ERR_ARG with a message naming the option and
 * the model's slots. Missing slots are allowed when allow_missing (targets
 * of outputs without a loss; the library refuses the others) and left rank 0.
 * divide (may be NULL): every value is divided by it as float32 (--x-divide).
 * kind is "input" or "output", for messages. */
int cli_read_matched(const char *option, const char *const *values, int n_values, int n_slots,
                     const char *const *slot_names, const char *kind, int allow_missing,
                     const char *divide, cli_arrays *out, nnc_status *st);

/* Sample weights (--sample-weight, --sample-weight-val): as
 * cli_read_matched for outputs (missing ones allowed), and one plain file
 * alone for a model of several outputs is Keras's one sample_weight for
 * every output: out->n = 1 then. */
int cli_read_weights(const char *option, const char *const *values, int n_values, int n_slots,
                     const char *const *slot_names, cli_arrays *out, nnc_status *st);

#endif
