/* What fit, evaluate and the on-batch calls share: argument checks and a
 * pass of one entry over data. */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"

int api_list(int n, const nnc_array *a, const char *fn, const char *what, int is_y,
             nnc_status *st) {
  if (n < 1)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: expected at least 1 array, got %d", fn, what, n);
  if (api_nonnull(a, fn, what, st)) return NNC_ERR_ARG;
  for (int k = 0; k < n; k++) {
    if (is_y && a[k].rank == 0) continue;
    if (!api_array(&a[k], fn, what, 1, st)) continue;
    /* the name "x[k]" is formatted only for the message (a step must not pay for it) */
    char name[64];
    if (n == 1)
      snprintf(name, sizeof name, "%s", what);
    else
      snprintf(name, sizeof name, "%s[%d]", what, k);
    return api_array(&a[k], fn, name, 1, st);
  }
  return NNC_OK;
}

int require_compile(const nnc_model *m, const char *what, nnc_status *st) {
  if (m->desc.has_compile) return NNC_OK;
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: $: %s needs a compile config (optimizer and loss): add "
                  "\"compile_config\" to the spec or pass one",
                  model_source(m), what);
}

int check_batch_size(int batch_size, nnc_status *st) {
  return batch_size > 0
             ? NNC_OK
             : nnc_fail(st, NNC_ERR_ARG, "batch_size must be positive, got %d", batch_size);
}

int run_all(nnc_model *m, int which, const model_data *d, int batch_size, int64_t max_steps,
            epoch_acc *acc, float **outs, nnc_status *st) {
  const nnc_program_table *t = m->t;
  float *small[8], **at = small;
  if (outs && t->n_outputs > 8 && !(at = nnc_calloc((size_t)t->n_outputs, sizeof *at, st)))
    return st->code;
  int rc = NNC_OK;
  int64_t step = 0;
  for (int64_t first = 0; !rc && first < d->n && (max_steps <= 0 || step < max_steps);
       first += batch_size, step++) {
    int64_t rows = d->n - first < batch_size ? d->n - first : batch_size;
    for (int k = 0; outs && k < t->n_outputs; k++) {
      int64_t row = 1;
      for (int i = 0; i < t->outputs[k].rank; i++) row *= t->outputs[k].shape[i];
      at[k] = outs[k] + first * row;
    }
    rc = model_run_step(m, which, d, NULL, first, rows, outs ? at : NULL, st);
    if (!rc && acc) epoch_add(acc, t, m->stats, rows);
  }
  if (at != small) free(at);
  return rc;
}

int evaluate_data(nnc_model *m, const model_data *d, int batch_size, int64_t max_steps,
                  const char *prefix, nnc_logs *logs, nnc_status *st) {
  epoch_acc acc;
  if (epoch_init(&acc, m->t, st)) return st->code;
  host_metrics_reset(m); /* Keras's evaluate resets every metric first */
  int rc = run_all(m, NNC_ENTRY_TEST, d, batch_size, max_steps, &acc, NULL, st);
  if (!rc) rc = epoch_results(&acc, m->t, prefix, logs, st);
  if (!rc) rc = host_metrics_results(m, prefix, logs, st);
  epoch_free(&acc);
  return rc;
}
