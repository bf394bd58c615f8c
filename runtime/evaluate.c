/* evaluate, predict, check_data and the on-batch calls: one pass of the test
 * or predict entry (or one train step) over data, outside fit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"
#include "runtime/step_bind.h"

/* evaluate with optional sample weights (sw: one per output, rank 0: none; NULL: none) */
static int evaluate(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                    const nnc_array *sw, int batch_size, nnc_logs *out, nnc_status *st) {
  static const char fn[] = "nnc_model_evaluate";
  if (api_nonnull(out, fn, "out", st) || logs_check(out, fn, st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st) ||
      api_list(n_y, y, fn, "y", 1, st) || (sw && api_list(n_y, sw, fn, "sample_weight", 1, st)))
    return NNC_ERR_ARG;
  if (require_compile(m, "evaluate", st) || check_batch_size(batch_size, st) ||
      model_ensure_built_weighted(m, n_x, x, n_y, y, sw, st))
    return st->code;
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &d, st)) return st->code;
  int rc = model_data_add_weights(m, sw, &d, st);
  if (!rc) rc = evaluate_data(m, &d, batch_size, 0, "", out, st);
  logs_sort(out);
  model_data_free(&d);
  return rc;
}

int nnc_model_evaluate_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                             int batch_size, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return evaluate(m, n_x, x, n_y, y, NULL, batch_size, out, st);
}

int nnc_model_evaluate_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                const nnc_array *y, const nnc_array *sample_weight, int batch_size,
                                nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return evaluate(m, n_x, x, n_y, y, sample_weight, batch_size, out, st);
}

int nnc_model_evaluate(nnc_model *m, const nnc_array *x, const nnc_array *y, int batch_size,
                       nnc_logs *out, nnc_status *st) {
  return nnc_model_evaluate_multi(m, 1, x, 1, y, batch_size, out, st);
}

int nnc_model_check_data_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                               const nnc_array *y, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_check_data";
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st) ||
      (y && api_list(n_y, y, fn, "y", 1, st)))
    return NNC_ERR_ARG;
  if (model_ensure_built_multi(m, n_x, x, n_y, y, st)) return st->code;
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &d, st)) return st->code;
  model_data_free(&d);
  return NNC_OK;
}

int nnc_model_check_data(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st) {
  return nnc_model_check_data_multi(m, 1, x, y ? 1 : 0, y, st);
}

int nnc_model_predict_multi(nnc_model *m, int n_x, const nnc_array *x, int batch_size, int n_out,
                            nnc_array *out, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_predict";
  if (api_nonnull(out, fn, "out", st)) return NNC_ERR_ARG;
  for (int k = 0; k < n_out; k++) memset(&out[k], 0, sizeof out[k]);
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st)) return NNC_ERR_ARG;
  if (check_batch_size(batch_size, st) || model_ensure_built_multi(m, n_x, x, 0, NULL, st))
    return st->code;
  const nnc_program_table *t = m->t;
  if (n_out != t->n_outputs)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model has %d output(s), got room for %d", fn,
                    t->n_outputs, n_out);
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, 0, NULL, &d, st)) return st->code;
  float *small[8], **bufs = small;
  int rc = NNC_OK;
  if (n_out > 8 && !(bufs = nnc_calloc((size_t)n_out, sizeof *bufs, st))) rc = st->code;
  for (int k = 0; !rc && k < n_out; k++) {
    const nnc_io_desc *os = &t->outputs[k];
    int64_t row = 1;
    for (int i = 0; i < os->rank; i++) row *= os->shape[i];
    out[k].dtype = NNC_F32;
    out[k].rank = os->rank + 1;
    out[k].shape[0] = d.n;
    for (int i = 0; i < os->rank; i++) out[k].shape[i + 1] = os->shape[i];
    out[k].data = nnc_calloc((size_t)(d.n * row) + 1, sizeof(float), st);
    bufs[k] = out[k].data;
    if (!out[k].data) rc = st->code;
  }
  if (!rc) rc = run_all(m, NNC_ENTRY_PREDICT, &d, batch_size, 0, NULL, bufs, st);
  if (bufs != small) free(bufs);
  model_data_free(&d);
  if (rc)
    for (int k = 0; k < n_out; k++) nnc_array_free(&out[k]);
  return rc;
}

int nnc_model_predict(nnc_model *m, const nnc_array *x, int batch_size, nnc_array *out,
                      nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_predict";
  if (api_nonnull(out, fn, "out", st)) return NNC_ERR_ARG;
  memset(out, 0, sizeof *out);
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st)) return NNC_ERR_ARG;
  if (check_batch_size(batch_size, st) || model_ensure_built(m, x, NULL, st)) return st->code;
  if (m->t->n_outputs != 1)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model has %d outputs: use nnc_model_predict_multi",
                    fn, m->t->n_outputs);
  return nnc_model_predict_multi(m, 1, x, batch_size, 1, out, st);
}

/* One step on prepared data d; the logs from the binding's sorted keys when
 * the call is bound and no host metric adds keys. */
static int on_batch_step(nnc_model *m, int which, const model_data *d, const step_binding *b,
                         nnc_logs *out, nnc_status *st) {
  epoch_acc acc; /* fresh totals: Keras resets the metrics first */
  float totals[32];
  if (epoch_init_in(&acc, m->t, totals, 32, st)) return st->code;
  host_metrics_reset(m);
  int64_t iteration = m->iterations;
  int rc = model_run_step(m, which, d, NULL, 0, d->n, NULL, st);
  if (rc == NNC_ERR_NUMERICS)
    nnc_fail_prefix(st, "check_numerics: train_on_batch at iteration %lld", (long long)iteration);
  if (!rc) {
    epoch_add(&acc, m->t, m->stats, d->n);
    if (b && m->n_host_metrics == 0) {
      rc = step_bound_logs(b, &acc, out, st);
    } else {
      rc = epoch_results(&acc, m->t, "", out, st);
      if (!rc) rc = host_metrics_results(m, "", out, st);
      logs_sort(out);
    }
  }
  epoch_free(&acc);
  return rc;
}

static int on_batch(nnc_model *m, int which, int n_x, const nnc_array *x, int n_y,
                    const nnc_array *y, const nnc_array *sw, nnc_logs *out, nnc_status *st) {
  const char *fn =
      which == NNC_ENTRY_TRAIN ? "nnc_model_train_on_batch" : "nnc_model_test_on_batch";
  const char *what = which == NNC_ENTRY_TRAIN ? "train_on_batch" : "test_on_batch";
  if (api_nonnull(out, fn, "out", st) || logs_check(out, fn, st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st)) return NNC_ERR_ARG;
  /* arrays shaped as the last call's, same program: their checks passed then */
  step_binding *b = sw ? NULL : step_bound(m, n_x, x, n_y, y);
  if (b) {
    if (require_compile(m, what, st) ||
        (b->values_checked && model_data_check_values(m, x, y, &b->d, st)))
      return st->code;
    return on_batch_step(m, which, &b->d, b, out, st);
  }
  step_binding_free(m);
  if (api_list(n_x, x, fn, "x", 0, st) || api_list(n_y, y, fn, "y", 1, st) ||
      (sw && api_list(n_y, sw, fn, "sample_weight", 1, st)))
    return NNC_ERR_ARG;
  uint64_t gen = m->build_gen;
  if (require_compile(m, what, st) || model_ensure_built_weighted(m, n_x, x, n_y, y, sw, st))
    return st->code;
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &d, st)) return st->code;
  int rc = model_data_add_weights(m, sw, &d, st);
  if (!rc) rc = on_batch_step(m, which, &d, NULL, out, st);
  if (!rc && !sw)
    step_bind(m, gen, n_x, x, n_y, y, &d); /* takes d */
  else
    model_data_free(&d);
  return rc;
}

int nnc_model_train_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                   const nnc_array *y, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TRAIN, n_x, x, n_y, y, NULL, out, st);
}

int nnc_model_test_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                  const nnc_array *y, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TEST, n_x, x, n_y, y, NULL, out, st);
}

int nnc_model_train_on_batch_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                      const nnc_array *y, const nnc_array *sample_weight,
                                      nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TRAIN, n_x, x, n_y, y, sample_weight, out, st);
}

int nnc_model_test_on_batch_weighted(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                     const nnc_array *y, const nnc_array *sample_weight,
                                     nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TEST, n_x, x, n_y, y, sample_weight, out, st);
}

int nnc_model_train_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                             nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TRAIN, 1, x, 1, y, NULL, out, st);
}

int nnc_model_test_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                            nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TEST, 1, x, 1, y, NULL, out, st);
}
