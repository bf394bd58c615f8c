/* Keras 3's fit loop (keras-semantics.md §1): validation split before
 * shuffling, a fresh permutation per epoch, metrics reset per epoch, loss and
 * metrics from each batch's forward pass before its update, validation
 * after the epoch on the updated weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "base/base.h"
#include "runtime/epoch.h"
#include "runtime/model.h"
#include "base/rng.h"

void nnc_fit_options_default(nnc_fit_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->epochs = 1;
  o->batch_size = 32;
  o->shuffle = 1;
  o->verbose = 1;
}

/* Fisher-Yates from the counter-based generator: a function of (seed, epoch). */
static void permutation(int64_t *idx, int64_t n, uint64_t seed, int epoch) {
  uint64_t key = nnc_stream_key(seed, "shuffle");
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    uint64_t z = nnc_mix64(nnc_mix64(key ^ nnc_mix64((uint64_t)epoch)) + (uint64_t)i);
    int64_t j = (int64_t)(z % (uint64_t)(i + 1));
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* Run entry `which` over all of d in order; accumulate into acc. outs: one
 * buffer per model output (predict), else NULL. */
static int run_all(nnc_model *m, int which, const model_data *d, int batch_size, epoch_acc *acc,
                   float **outs, nnc_status *st) {
  const nnc_program_table *t = m->t;
  float *small[8], **at = small;
  if (outs && t->n_outputs > 8 && !(at = nnc_calloc((size_t)t->n_outputs, sizeof *at, st)))
    return st->code;
  int rc = NNC_OK;
  for (int64_t first = 0; !rc && first < d->n; first += batch_size) {
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

static int evaluate_data(nnc_model *m, const model_data *d, int batch_size, const char *prefix,
                         nnc_logs *logs, nnc_status *st) {
  epoch_acc acc;
  if (epoch_init(&acc, m->t, st)) return st->code;
  host_metrics_reset(m);
  int rc = run_all(m, NNC_ENTRY_TEST, d, batch_size, &acc, NULL, st);
  if (!rc) rc = epoch_results(&acc, m->t, prefix, logs, st);
  if (!rc) rc = host_metrics_results(m, prefix, logs, st);
  epoch_free(&acc);
  return rc;
}

/* fit, evaluate and the on-batch calls need a loss: say so before anything else */
static int require_compile(const nnc_model *m, const char *what, nnc_status *st) {
  if (m->desc.has_compile) return NNC_OK;
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: $: %s needs a compile config (optimizer and loss): add "
                  "\"compile_config\" to the spec or pass one",
                  model_source(m), what);
}

static int check_batch_size(int batch_size, nnc_status *st) {
  return batch_size > 0
             ? NNC_OK
             : nnc_fail(st, NNC_ERR_ARG, "batch_size must be positive, got %d", batch_size);
}

/* Split off the last fraction as validation data (Keras: before shuffling). */
static int split_validation(const model_data *all, double fraction, model_data *train,
                            model_data *val, nnc_status *st) {
  /* the range test comes first: (int64_t) of a huge or NaN product is undefined */
  int64_t split_at =
      fraction > 0 && fraction < 1 ? (int64_t)floor((double)all->n * (1.0 - fraction)) : 0;
  if (split_at <= 0 || split_at >= all->n)
    return nnc_fail(st, NNC_ERR_ARG,
                    "validation_split %g leaves no training or no validation samples out of %lld",
                    fraction, (long long)all->n);
  *train = *all;
  train->n = split_at;
  *val = *all;
  val->n = all->n - split_at;
  val->view = 1;
  val->row = nnc_calloc((size_t)all->n_bufs + 1, sizeof *val->row, st);
  val->v = nnc_calloc((size_t)all->n_bufs + 1, sizeof *val->v, st);
  if (!val->row || !val->v) {
    model_data_free(val);
    return st->code;
  }
  for (int b = 0; b < all->n_bufs; b++) {
    val->row[b] = all->row[b];
    val->v[b] = all->v[b] + split_at * all->row[b];
  }
  return NNC_OK;
}

/* The arrays of one list (x: one per input; y: one per output, where rank 0
 * means "no target"): each well-formed. One array is called "x" / "y". */
static int api_list(int n, const nnc_array *a, const char *fn, const char *what, int is_y,
                    nnc_status *st) {
  if (n < 1)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: expected at least 1 array, got %d", fn, what, n);
  if (api_nonnull(a, fn, what, st)) return NNC_ERR_ARG;
  for (int k = 0; k < n; k++) {
    char name[64];
    if (n == 1)
      snprintf(name, sizeof name, "%s", what);
    else
      snprintf(name, sizeof name, "%s[%d]", what, k);
    if (is_y && a[k].rank == 0) continue;
    if (api_array(&a[k], fn, name, 1, st)) return NNC_ERR_ARG;
  }
  return NNC_OK;
}

/* The fit options a host filled: each in the range Keras accepts. */
static int check_fit_options(const nnc_fit_options *o, nnc_status *st) {
  static const char fn[] = "nnc_model_fit";
  if (o->epochs < 0 || o->initial_epoch < 0)
    return nnc_fail(st, NNC_ERR_ARG, "%s: epochs (%d) and initial_epoch (%d) must be >= 0", fn,
                    o->epochs, o->initial_epoch);
  if (o->verbose < 0 || o->verbose > 2)
    return nnc_fail(st, NNC_ERR_ARG, "%s: verbose must be 0, 1 or 2, got %d", fn, o->verbose);
  if (!(o->validation_split >= 0 && o->validation_split < 1))
    return nnc_fail(st, NNC_ERR_ARG, "%s: validation_split must be in [0, 1), got %g", fn,
                    o->validation_split);
  if (!o->x_val != !o->y_val)
    return nnc_fail(st, NNC_ERR_ARG, "%s: x_val and y_val go together (one of them is NULL)", fn);
  if (!o->x_vals != !o->y_vals)
    return nnc_fail(st, NNC_ERR_ARG, "%s: x_vals and y_vals go together (one of them is NULL)", fn);
  if (o->x_val &&
      (api_array(o->x_val, fn, "x_val", 1, st) || api_array(o->y_val, fn, "y_val", 1, st)))
    return NNC_ERR_ARG;
  if (o->x_vals && (api_list(o->n_x_vals, o->x_vals, fn, "x_vals", 0, st) ||
                    api_list(o->n_y_vals, o->y_vals, fn, "y_vals", 1, st)))
    return NNC_ERR_ARG;
  return NNC_OK;
}

/* Validation data as named copies: messages say "x_val" when the host gave no name. */
static int prepare_validation(nnc_model *m, const nnc_fit_options *o, model_data *val,
                              nnc_status *st) {
  int n_x = o->x_vals ? o->n_x_vals : 1, n_y = o->x_vals ? o->n_y_vals : 1;
  const nnc_array *xs = o->x_vals ? o->x_vals : o->x_val, *ys = o->x_vals ? o->y_vals : o->y_val;
  nnc_array *copy = nnc_calloc((size_t)(n_x + n_y), sizeof *copy, st);
  if (!copy) return st->code;
  for (int k = 0; k < n_x; k++) {
    copy[k] = xs[k];
    copy[k].name = api_array_name(&xs[k], "x_val");
  }
  for (int k = 0; k < n_y; k++) {
    copy[n_x + k] = ys[k];
    copy[n_x + k].name = api_array_name(&ys[k], "y_val");
  }
  int rc = model_data_prepare_multi(m, n_x, copy, n_y, copy + n_x, val, st);
  free(copy);
  return rc;
}

int nnc_model_fit_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                        const nnc_fit_options *opts, nnc_history *history, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_fit";
  nnc_history unkept;
  if (!history) history = &unkept;
  memset(history, 0, sizeof *history);
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st) ||
      api_list(n_y, y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  nnc_fit_options o;
  if (opts)
    o = *opts;
  else
    nnc_fit_options_default(&o);
  if (check_fit_options(&o, st)) return NNC_ERR_ARG;
  if (require_compile(m, "fit", st) || check_batch_size(o.batch_size, st) ||
      model_ensure_built_multi(m, n_x, x, n_y, y, st))
    return st->code;
  model_data all, train, val = {0};
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &all, st)) return st->code;
  train = all;
  int has_val = 0, rc = NNC_OK;
  if (o.x_vals || o.x_val) {
    rc = prepare_validation(m, &o, &val, st);
    has_val = 1;
  } else if (o.validation_split > 0) {
    rc = split_validation(&all, o.validation_split, &train, &val, st);
    has_val = 1;
  }
  int64_t *idx = rc ? NULL : nnc_calloc((size_t)train.n + 1, sizeof *idx, st);
  if (!idx) rc = st->code;
  /* the largest batch there will be: a batch_size beyond the data is one batch of it all */
  int64_t largest = train.n > val.n ? train.n : val.n;
  if (!rc) rc = model_reserve(m, o.batch_size < largest ? o.batch_size : largest, st);
  progbar pb = {o.progress ? o.progress : stdout, o.verbose, 0, 0, o.epochs, 0, 0, 0, 0};
  pb.target = (int)((train.n + o.batch_size - 1) / o.batch_size);
  nnc_logs logs = {0};
  epoch_acc acc = {0};
  if (!rc) rc = epoch_init(&acc, m->t, st);
  for (int epoch = o.initial_epoch; !rc && epoch < o.epochs; epoch++) {
    epoch_reset(&acc);
    host_metrics_reset(m);
    progbar_epoch_begin(&pb, epoch);
    if (o.shuffle) permutation(idx, train.n, m->seed, epoch);
    int step = 0;
    for (int64_t first = 0; !rc && first < train.n; first += o.batch_size, step++) {
      int64_t rows = train.n - first < o.batch_size ? train.n - first : o.batch_size;
      rc = model_run_step(m, NNC_ENTRY_TRAIN, &train, o.shuffle ? idx + first : NULL, first, rows,
                          NULL, st);
      if (rc == NNC_ERR_NUMERICS) /* numbered as Keras prints them: "Epoch 3/10", "2/8" */
        nnc_fail_prefix(st, "check_numerics: epoch %d/%d, batch %d/%d", epoch + 1, o.epochs,
                        step + 1, pb.target);
      if (rc) break;
      epoch_add(&acc, m->t, m->stats, rows);
      if (o.verbose == 1 && first + rows < train.n) {
        logs.n = 0;
        rc = epoch_results(&acc, m->t, "", &logs, st);
        if (!rc) rc = host_metrics_results(m, "", &logs, st);
        if (rc) break;
        logs_sort(&logs);
        progbar_update(&pb, step + 1, &logs, 0);
      }
    }
    if (rc) break;
    logs.n = 0;
    rc = epoch_results(&acc, m->t, "", &logs, st);
    if (!rc) rc = host_metrics_results(m, "", &logs, st);
    if (!rc && has_val) rc = evaluate_data(m, &val, o.batch_size, "val_", &logs, st);
    if (rc) break;
    logs_sort(&logs);
    progbar_update(&pb, pb.target, &logs, 1);
    rc = history_append(history, epoch, &logs, st);
  }
  epoch_free(&acc);
  nnc_logs_free(&logs);
  free(idx);
  model_data_free(&all);
  model_data_free(&val);
  if (rc || history == &unkept) nnc_history_free(history);
  return rc;
}

int nnc_model_fit(nnc_model *m, const nnc_array *x, const nnc_array *y, const nnc_fit_options *opts,
                  nnc_history *history, nnc_status *st) {
  API_STATUS(st);
  if (history) memset(history, 0, sizeof *history);
  if (api_nonnull(m, "nnc_model_fit", "m", st) || api_array(x, "nnc_model_fit", "x", 1, st) ||
      api_array(y, "nnc_model_fit", "y", 1, st))
    return NNC_ERR_ARG;
  return nnc_model_fit_multi(m, 1, x, 1, y, opts, history, st);
}

int nnc_model_evaluate_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                             int batch_size, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_evaluate";
  if (api_nonnull(out, fn, "out", st) || logs_check(out, fn, st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st) ||
      api_list(n_y, y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  if (require_compile(m, "evaluate", st) || check_batch_size(batch_size, st) ||
      model_ensure_built_multi(m, n_x, x, n_y, y, st))
    return st->code;
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &d, st)) return st->code;
  int rc = evaluate_data(m, &d, batch_size, "", out, st);
  logs_sort(out);
  model_data_free(&d);
  return rc;
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
  if (!rc) rc = run_all(m, NNC_ENTRY_PREDICT, &d, batch_size, NULL, bufs, st);
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

static int on_batch(nnc_model *m, int which, int n_x, const nnc_array *x, int n_y,
                    const nnc_array *y, nnc_logs *out, nnc_status *st) {
  const char *fn =
      which == NNC_ENTRY_TRAIN ? "nnc_model_train_on_batch" : "nnc_model_test_on_batch";
  if (api_nonnull(out, fn, "out", st) || logs_check(out, fn, st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st) || api_list(n_x, x, fn, "x", 0, st) ||
      api_list(n_y, y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  if (require_compile(m, which == NNC_ENTRY_TRAIN ? "train_on_batch" : "test_on_batch", st) ||
      model_ensure_built_multi(m, n_x, x, n_y, y, st))
    return st->code;
  model_data d;
  if (model_data_prepare_multi(m, n_x, x, n_y, y, &d, st)) return st->code;
  epoch_acc acc; /* fresh totals: Keras resets the metrics first */
  if (epoch_init(&acc, m->t, st)) {
    model_data_free(&d);
    return st->code;
  }
  int64_t iteration = m->iterations;
  host_metrics_reset(m);
  int rc = model_run_step(m, which, &d, NULL, 0, d.n, NULL, st);
  if (rc == NNC_ERR_NUMERICS)
    nnc_fail_prefix(st, "check_numerics: train_on_batch at iteration %lld", (long long)iteration);
  if (!rc) {
    epoch_add(&acc, m->t, m->stats, d.n);
    rc = epoch_results(&acc, m->t, "", out, st);
    if (!rc) rc = host_metrics_results(m, "", out, st);
    logs_sort(out);
  }
  epoch_free(&acc);
  model_data_free(&d);
  return rc;
}

int nnc_model_train_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                   const nnc_array *y, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TRAIN, n_x, x, n_y, y, out, st);
}

int nnc_model_test_on_batch_multi(nnc_model *m, int n_x, const nnc_array *x, int n_y,
                                  const nnc_array *y, nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TEST, n_x, x, n_y, y, out, st);
}

int nnc_model_train_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                             nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TRAIN, 1, x, 1, y, out, st);
}

int nnc_model_test_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                            nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_ENTRY_TEST, 1, x, 1, y, out, st);
}
