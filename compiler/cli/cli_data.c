/* The one place where the CLI calls the library with its data: one array per
 * input and per output (cli_arrays) go to the library's *_multi calls; an
 * output's array of rank 0 means "no target for it". */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/cli/cli_data.h"

int cli_model_input_count(const nnc_model *m) {
  return nnc_model_input_count(m);
}

const char *cli_model_input_name(const nnc_model *m, int i) {
  return nnc_model_input_name(m, i);
}

int cli_model_output_count(const nnc_model *m) {
  return nnc_model_output_count(m);
}

const char *cli_model_output_name(const nnc_model *m, int i) {
  return nnc_model_output_name(m, i);
}

int cli_model_build(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st) {
  return nnc_model_build_multi(m, x ? x->n : 0, x ? x->a : NULL, y ? y->n : 0, y ? y->a : NULL, st);
}

int cli_model_check_data(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st) {
  return nnc_model_check_data_multi(m, x->n, x->a, y ? y->n : 0, y ? y->a : NULL, st);
}

int cli_model_fit(nnc_model *m, const cli_arrays *x, const cli_arrays *y, const cli_arrays *x_val,
                  const cli_arrays *y_val, const nnc_fit_options *opts, nnc_history *history,
                  nnc_status *st) {
  nnc_fit_options o = *opts;
  o.x_val = o.y_val = NULL;
  o.n_x_vals = x_val ? x_val->n : 0;
  o.x_vals = x_val ? x_val->a : NULL;
  o.n_y_vals = y_val ? y_val->n : 0;
  o.y_vals = y_val ? y_val->a : NULL;
  return nnc_model_fit_multi(m, x->n, x->a, y ? y->n : 0, y ? y->a : NULL, &o, history, st);
}

/* The weights as the _weighted calls take them, one entry per output: one
 * array for every output becomes the same array in each entry (the library
 * keeps it once). *each: the list to free, or NULL. */
static int per_output(const cli_arrays *sw, int n_y, const nnc_array **out, nnc_array **each,
                      nnc_status *st) {
  *each = NULL;
  *out = sw && sw->n ? sw->a : NULL;
  if (!*out || sw->n != 1 || n_y <= 1) return NNC_OK;
  if (!(*each = nnc_calloc((size_t)n_y, sizeof **each, st))) return st->code;
  for (int k = 0; k < n_y; k++) (*each)[k] = sw->a[0];
  *out = *each;
  return NNC_OK;
}

int cli_model_evaluate(nnc_model *m, const cli_arrays *x, const cli_arrays *y, const cli_arrays *sw,
                       int batch_size, nnc_logs *out, nnc_status *st) {
  int n_y = y ? y->n : 0;
  const nnc_array *w;
  nnc_array *each;
  if (per_output(sw, n_y, &w, &each, st)) return st->code;
  int rc = nnc_model_evaluate_weighted(m, x->n, x->a, n_y, y ? y->a : NULL, w, batch_size, out, st);
  free(each);
  return rc;
}

int cli_model_train_on_batch(nnc_model *m, const cli_arrays *x, const cli_arrays *y,
                             const cli_arrays *sw, nnc_logs *out, nnc_status *st) {
  int n_y = y ? y->n : 0;
  const nnc_array *w;
  nnc_array *each;
  if (per_output(sw, n_y, &w, &each, st)) return st->code;
  int rc = nnc_model_train_on_batch_weighted(m, x->n, x->a, n_y, y ? y->a : NULL, w, out, st);
  free(each);
  return rc;
}

int cli_model_predict(nnc_model *m, const cli_arrays *x, int batch_size, cli_arrays *out,
                      nnc_status *st) {
  memset(out, 0, sizeof *out);
  int n_out = nnc_model_output_count(m);
  if (n_out < 1) return nnc_fail(st, NNC_ERR_INTERNAL, "the model reports no output");
  out->a = nnc_calloc((size_t)n_out, sizeof *out->a, st);
  if (!out->a) return NNC_ERR_NOMEM;
  out->n = n_out;
  return nnc_model_predict_multi(m, x->n, x->a, batch_size, n_out, out->a, st);
}
