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

/* Run graph `which` over all of d in order; accumulate into acc. */
static int run_all(nnc_model *m, int which, const model_data *d, int batch_size, epoch_acc *acc,
                   float *out, int64_t out_row, nnc_status *st) {
  for (int64_t first = 0; first < d->n; first += batch_size) {
    int64_t rows = d->n - first < batch_size ? d->n - first : batch_size;
    if (model_run_step(m, which, d, NULL, first, rows, out ? out + first * out_row : NULL, st))
      return st->code;
    if (acc) epoch_add(acc, &m->compiled.prog, m->stats, rows);
  }
  return NNC_OK;
}

static int evaluate_data(nnc_model *m, const model_data *d, int batch_size, const char *prefix,
                         nnc_logs *logs, nnc_status *st) {
  epoch_acc acc;
  epoch_reset(&acc);
  if (run_all(m, NNC_GRAPH_TEST, d, batch_size, &acc, NULL, 0, st)) return st->code;
  epoch_results(&acc, &m->compiled.prog, prefix, logs);
  return NNC_OK;
}

/* fit, evaluate and the on-batch calls need a loss: say so before anything else */
static int require_compile(const nnc_model *m, const char *what, nnc_status *st) {
  if (m->spec.compile.present) return NNC_OK;
  return nnc_fail(st, NNC_ERR_SPEC,
                  "%s: $: %s needs a compile config (optimizer and loss): add "
                  "\"compile_config\" to the spec or pass one",
                  m->spec.source, what);
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
  val->x = all->x + split_at * all->x_row;
  val->y = all->y + split_at * all->y_row;
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
  if (o->x_val &&
      (api_array(o->x_val, fn, "x_val", 1, st) || api_array(o->y_val, fn, "y_val", 1, st)))
    return NNC_ERR_ARG;
  return NNC_OK;
}

int nnc_model_fit(nnc_model *m, const nnc_array *x, const nnc_array *y, const nnc_fit_options *opts,
                  nnc_history *history, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_fit";
  nnc_history unkept;
  if (!history) history = &unkept;
  memset(history, 0, sizeof *history);
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st) || api_array(y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  nnc_fit_options o;
  if (opts)
    o = *opts;
  else
    nnc_fit_options_default(&o);
  if (check_fit_options(&o, st)) return NNC_ERR_ARG;
  if (require_compile(m, "fit", st) || check_batch_size(o.batch_size, st) ||
      model_ensure_built(m, x, y, st))
    return st->code;
  model_data all, train, val = {0}, val_own = {0};
  if (model_data_prepare(m, x, y, &all, st)) return st->code;
  train = all;
  int has_val = 0, rc = NNC_OK;
  if (o.x_val && o.y_val) {
    /* messages about validation data say so, when the host gave no name */
    nnc_array xv = *o.x_val, yv = *o.y_val;
    xv.name = api_array_name(o.x_val, "x_val");
    yv.name = api_array_name(o.y_val, "y_val");
    rc = model_data_prepare(m, &xv, &yv, &val_own, st);
    val = val_own;
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
  for (int epoch = o.initial_epoch; !rc && epoch < o.epochs; epoch++) {
    epoch_acc acc;
    epoch_reset(&acc);
    progbar_epoch_begin(&pb, epoch);
    if (o.shuffle) permutation(idx, train.n, m->seed, epoch);
    nnc_logs logs;
    int step = 0;
    for (int64_t first = 0; !rc && first < train.n; first += o.batch_size, step++) {
      int64_t rows = train.n - first < o.batch_size ? train.n - first : o.batch_size;
      rc = model_run_step(m, NNC_GRAPH_TRAIN, &train, o.shuffle ? idx + first : NULL, first, rows,
                          NULL, st);
      if (rc == NNC_ERR_NUMERICS) /* numbered as Keras prints them: "Epoch 3/10", "2/8" */
        nnc_fail_prefix(st, "check_numerics: epoch %d/%d, batch %d/%d", epoch + 1, o.epochs,
                        step + 1, pb.target);
      if (rc) break;
      epoch_add(&acc, &m->compiled.prog, m->stats, rows);
      if (o.verbose == 1 && first + rows < train.n) {
        logs.n = 0;
        epoch_results(&acc, &m->compiled.prog, "", &logs);
        logs_sort(&logs);
        progbar_update(&pb, step + 1, &logs, 0);
      }
    }
    if (rc) break;
    logs.n = 0;
    epoch_results(&acc, &m->compiled.prog, "", &logs);
    if (has_val) rc = evaluate_data(m, &val, o.batch_size, "val_", &logs, st);
    if (rc) break;
    logs_sort(&logs);
    progbar_update(&pb, pb.target, &logs, 1);
    rc = history_append(history, epoch, &logs, st);
  }
  free(idx);
  model_data_free(&all);
  model_data_free(&val_own);
  if (rc || history == &unkept) nnc_history_free(history);
  return rc;
}

int nnc_model_evaluate(nnc_model *m, const nnc_array *x, const nnc_array *y, int batch_size,
                       nnc_logs *out, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_evaluate";
  if (api_nonnull(out, fn, "out", st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st) || api_array(y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  if (require_compile(m, "evaluate", st) || check_batch_size(batch_size, st) ||
      model_ensure_built(m, x, y, st))
    return st->code;
  model_data d;
  if (model_data_prepare(m, x, y, &d, st)) return st->code;
  int rc = evaluate_data(m, &d, batch_size, "", out, st);
  logs_sort(out);
  model_data_free(&d);
  return rc;
}

int nnc_model_check_data(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_check_data";
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st) ||
      (y && api_array(y, fn, "y", 1, st)))
    return NNC_ERR_ARG;
  if (model_ensure_built(m, x, y, st)) return st->code;
  model_data d;
  if (model_data_prepare(m, x, y, &d, st)) return st->code;
  model_data_free(&d);
  return NNC_OK;
}

int nnc_model_predict(nnc_model *m, const nnc_array *x, int batch_size, nnc_array *out,
                      nnc_status *st) {
  API_STATUS(st);
  static const char fn[] = "nnc_model_predict";
  if (api_nonnull(out, fn, "out", st)) return NNC_ERR_ARG;
  memset(out, 0, sizeof *out);
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st)) return NNC_ERR_ARG;
  if (check_batch_size(batch_size, st) || model_ensure_built(m, x, NULL, st)) return st->code;
  model_data d;
  if (model_data_prepare(m, x, NULL, &d, st)) return st->code;
  const nnc_shape *os = &m->compiled.prog.outputs[0].shape;
  int64_t row = shape_inner(os);
  out->dtype = NNC_F32;
  out->rank = os->rank;
  out->shape[0] = d.n;
  for (int i = 1; i < os->rank; i++) out->shape[i] = os->dims[i];
  out->data = nnc_calloc((size_t)(d.n * row) + 1, sizeof(float), st);
  int rc = out->data ? run_all(m, NNC_GRAPH_PREDICT, &d, batch_size, NULL, out->data, row, st)
                     : (int)st->code;
  model_data_free(&d);
  if (rc) nnc_array_free(out);
  return rc;
}

static int on_batch(nnc_model *m, int which, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                    nnc_status *st) {
  const char *fn =
      which == NNC_GRAPH_TRAIN ? "nnc_model_train_on_batch" : "nnc_model_test_on_batch";
  if (api_nonnull(out, fn, "out", st)) return NNC_ERR_ARG;
  out->n = 0;
  if (api_nonnull(m, fn, "m", st) || api_array(x, fn, "x", 1, st) || api_array(y, fn, "y", 1, st))
    return NNC_ERR_ARG;
  if (require_compile(m, which == NNC_GRAPH_TRAIN ? "train_on_batch" : "test_on_batch", st) ||
      model_ensure_built(m, x, y, st))
    return st->code;
  model_data d;
  if (model_data_prepare(m, x, y, &d, st)) return st->code;
  epoch_acc acc;
  epoch_reset(&acc); /* Keras resets the metrics first */
  int64_t iteration = m->iterations;
  int rc = model_run_step(m, which, &d, NULL, 0, d.n, NULL, st);
  if (rc == NNC_ERR_NUMERICS)
    nnc_fail_prefix(st, "check_numerics: train_on_batch at iteration %lld", (long long)iteration);
  if (!rc) {
    epoch_add(&acc, &m->compiled.prog, m->stats, d.n);
    epoch_results(&acc, &m->compiled.prog, "", out);
    logs_sort(out);
  }
  model_data_free(&d);
  return rc;
}

int nnc_model_train_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                             nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_GRAPH_TRAIN, x, y, out, st);
}

int nnc_model_test_on_batch(nnc_model *m, const nnc_array *x, const nnc_array *y, nnc_logs *out,
                            nnc_status *st) {
  API_STATUS(st);
  return on_batch(m, NNC_GRAPH_TEST, x, y, out, st);
}
