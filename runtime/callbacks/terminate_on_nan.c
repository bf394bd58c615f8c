/* Keras's TerminateOnNaN(raise_error=False) (keras/src/callbacks/
 * terminate_on_nan.py): after each training batch, a running loss that is
 * NaN or infinite stops training (model.stop_training); Keras then prints
 * "Batch {batch}: Invalid loss, terminating training" — nnc prints it to the
 * progress output when fit is not silent (verbose > 0). raise_error=True:
 * fit fails with NNC_ERR_NUMERICS and Keras's RuntimeError message, and
 * on_train_end is not called (as Keras's raise skips it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "runtime/callbacks/callbacks.h"
#include "runtime/model.h"
#include "runtime/pyfloat.h"

static int nan_batch_end(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs,
                         nnc_status *st) {
  double loss = NAN;
  int found = 0;
  for (int i = 0; i < logs->n && !found; i++)
    if (!strcmp(logs->names[i], "loss")) {
      loss = logs->values[i];
      found = 1;
    }
  if (!found || isfinite(loss)) return NNC_OK;
  if (cb->user) { /* raise_error */
    char v[40];
    py_float_repr(loss, v, sizeof v);
    return nnc_fail(st, NNC_ERR_NUMERICS,
                    "NaN or Inf loss encountered at batch %d. Loss value: %s. Terminating "
                    "training immediately.",
                    batch, v);
  }
  if (m->fit.verbose > 0) {
    FILE *f = m->fit.progress ? m->fit.progress : stdout;
    fprintf(f, "Batch %d: Invalid loss, terminating training\n", batch);
    fflush(f);
  }
  nnc_model_stop_training(m);
  return NNC_OK;
}

static int nan_create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                      nnc_status *st) {
  int raise_error = 0;
  for (int i = 0; i < n_args; i++) {
    if (strcmp(args[i].key, "raise_error"))
      return cb_arg_unknown(source, "TerminateOnNaN", &args[i], "raise_error", st);
    if (cb_arg_bool(source, &args[i], &raise_error, st)) return st->code;
  }
  out->user = raise_error ? out : NULL; /* a flag: no state to free */
  out->on_batch_end = nan_batch_end;
  return NNC_OK;
}

const cb_class cb_terminate_on_nan = {"TerminateOnNaN", nan_create};
