/* The one place where the CLI calls the library with its data. The commands
 * hand over one array per input and per output (cli_arrays); the library of
 * this build takes one x and one y, so a model of one input and one output
 * goes through the single-array calls and anything else is refused with a
 * clear "not yet". When the library's *_multi calls and
 * nnc_model_input_count/_name, nnc_model_output_count/_name arrive, each
 * function here becomes one call to them. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/cli/cli_data.h"
#include "runtime/model.h"

/* ---- inputs and outputs: today one of each, named as lowering names them
 * (compiler/lower/lower.c): the InputLayer (else "input_layer") and the last
 * layer; the compiled program's names once the model is built ---- */

int cli_model_input_count(const nnc_model *m) {
  return m ? 1 : 0;
}

const char *cli_model_input_name(const nnc_model *m, int i) {
  if (!m || i != 0) return NULL;
  if (m->built && m->compiled.prog.n_inputs > 0) return m->compiled.prog.inputs[0].name;
  if (m->spec.n_layers && m->spec.layers[0].kind == NNC_LAYER_INPUT) return m->spec.layers[0].name;
  return "input_layer";
}

int cli_model_output_count(const nnc_model *m) {
  return m ? 1 : 0;
}

const char *cli_model_output_name(const nnc_model *m, int i) {
  if (!m || i != 0) return NULL;
  if (m->built && m->compiled.prog.n_outputs > 0) return m->compiled.prog.outputs[0].name;
  return m->spec.n_layers ? m->spec.layers[m->spec.n_layers - 1].name : cli_model_input_name(m, 0);
}

/* ---- the calls ---- */

/* This build's library takes one x and at most one y. */
static int single(const cli_arrays *x, const cli_arrays *y, const nnc_array **x0,
                  const nnc_array **y0, nnc_status *st) {
  if (!x || x->n != 1 || (y && y->n > 1))
    return nnc_fail(st, NNC_ERR_ARG,
                    "models with several inputs or outputs are not supported by this build yet "
                    "(the library's multi-array calls are missing)");
  *x0 = &x->a[0];
  *y0 = y && y->n == 1 && y->a[0].rank > 0 ? &y->a[0] : NULL;
  return NNC_OK;
}

int cli_model_build(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st) {
  const nnc_array *x0 = NULL, *y0 = NULL;
  int rc = single(x, y, &x0, &y0, st);
  return rc ? rc : nnc_model_build(m, x0, y0, st);
}

int cli_model_check_data(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_status *st) {
  const nnc_array *x0 = NULL, *y0 = NULL;
  int rc = single(x, y, &x0, &y0, st);
  return rc ? rc : nnc_model_check_data(m, x0, y0, st);
}

int cli_model_fit(nnc_model *m, const cli_arrays *x, const cli_arrays *y, const cli_arrays *x_val,
                  const cli_arrays *y_val, const nnc_fit_options *opts, nnc_history *history,
                  nnc_status *st) {
  const nnc_array *x0 = NULL, *y0 = NULL, *xv = NULL, *yv = NULL;
  int rc = single(x, y, &x0, &y0, st);
  if (!rc && x_val) rc = single(x_val, y_val, &xv, &yv, st);
  if (rc) return rc;
  nnc_fit_options o = *opts;
  o.x_val = xv;
  o.y_val = yv;
  return nnc_model_fit(m, x0, y0, &o, history, st);
}

int cli_model_evaluate(nnc_model *m, const cli_arrays *x, const cli_arrays *y, int batch_size,
                       nnc_logs *out, nnc_status *st) {
  const nnc_array *x0 = NULL, *y0 = NULL;
  int rc = single(x, y, &x0, &y0, st);
  return rc ? rc : nnc_model_evaluate(m, x0, y0, batch_size, out, st);
}

int cli_model_train_on_batch(nnc_model *m, const cli_arrays *x, const cli_arrays *y, nnc_logs *out,
                             nnc_status *st) {
  const nnc_array *x0 = NULL, *y0 = NULL;
  int rc = single(x, y, &x0, &y0, st);
  return rc ? rc : nnc_model_train_on_batch(m, x0, y0, out, st);
}

int cli_model_predict(nnc_model *m, const cli_arrays *x, int batch_size, cli_arrays *out,
                      nnc_status *st) {
  memset(out, 0, sizeof *out);
  const nnc_array *x0 = NULL, *y0 = NULL;
  int rc = single(x, NULL, &x0, &y0, st);
  if (rc) return rc;
  out->a = nnc_calloc(1, sizeof *out->a, st);
  if (!out->a) return NNC_ERR_NOMEM;
  out->n = 1;
  return nnc_model_predict(m, x0, batch_size, &out->a[0], st);
}
