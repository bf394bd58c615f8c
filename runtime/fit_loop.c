/* Keras 3's fit loop (keras/src/backend/tensorflow/trainer.py::fit,
 * keras-semantics.md §1, docs/fit.md): validation split before shuffling,
 * callbacks (spec's, host's, History, progress bar) with Keras's hooks and
 * stop_training, metrics reset per epoch, running logs after each batch,
 * validation every validation_freq epochs on the updated weights,
 * steps_per_epoch continuing one pass over the data across epochs
 * (trainers/epoch_iterator.py), finalize_variable_values, on_train_end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"
#include "runtime/io/io.h"

void nnc_fit_options_default(nnc_fit_options *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->epochs = 1;
  o->batch_size = 32;
  o->shuffle = NNC_SHUFFLE_ON;
  o->verbose = 1;
  o->validation_freq = 1;
}

typedef struct fit_run {
  nnc_model *m;
  nnc_fit_options o;
  model_data all, train, val; /* views of the caller's arrays (and of cw) */
  nnc_array cw;               /* class weights as sample weights (class_weights) */
  int has_val;
  int64_t *idx;      /* the order of the current pass over the training data */
  int64_t n_batches; /* batches in one pass: ceil(N / batch_size) */
  int64_t steps;     /* batches an epoch asks for: steps_per_epoch or n_batches */
  int64_t seen;      /* batches of the current pass taken (-1: start a new pass) */
  cb_list cbs;
  nnc_logs logs, batch_logs, empty;
  epoch_acc acc;
  batch_ahead ahead; /* the next batch, gathered by a worker during a step */
} fit_run;

/* Running results after a batch, as Keras hands them to on_train_batch_end. */
static int running_logs(fit_run *r, nnc_status *st) {
  r->batch_logs.n = 0;
  if (epoch_results(&r->acc, r->m->t, "", &r->batch_logs, st) ||
      host_metrics_results(r->m, "", &r->batch_logs, st))
    return st->code;
  logs_sort(&r->batch_logs);
  return NNC_OK;
}

static int train_epoch(fit_run *r, int epoch, nnc_status *st) {
  nnc_model *m = r->m;
  const nnc_fit_options *o = &r->o;
  int batch_hooks = cb_list_has(&r->cbs, CB_BATCH_END);
  if (r->seen < 0) { /* a new pass: a new order (Keras: a new iterator) */
    fit_shuffle(r->idx, r->train.n, o->shuffle, o->batch_size, m->seed, epoch);
    r->seen = 0;
  }
  for (int64_t step = 0; step < r->steps; step++) {
    if (r->seen >= r->n_batches) break; /* "Your input ran out of data": the epoch ends early */
    int64_t first = r->seen * o->batch_size;
    int64_t rows = r->train.n - first < o->batch_size ? r->train.n - first : o->batch_size;
    r->empty.n = 0;
    if (cb_list_run(&r->cbs, CB_BATCH_BEGIN, m, (int)step, &r->empty, st)) return st->code;
    const int64_t *next = NULL; /* the next batch's rows, prefetched */
    int64_t next_rows = 0;
    if (o->shuffle != NNC_SHUFFLE_OFF && first + rows < r->train.n) {
      next = r->idx + first + rows;
      next_rows =
          r->train.n - first - rows < o->batch_size ? r->train.n - first - rows : o->batch_size;
    }
    int rc = model_run_step_ahead(m, NNC_ENTRY_TRAIN, &r->train,
                                  o->shuffle != NNC_SHUFFLE_OFF ? r->idx + first : NULL, first,
                                  rows, next, next_rows, &r->ahead, st);
    if (rc == NNC_ERR_NUMERICS) /* numbered as Keras prints them: "Epoch 3/10", "2/8" */
      nnc_fail_prefix(st, "check_numerics: epoch %d/%d, batch %lld/%lld", epoch + 1, o->epochs,
                      (long long)step + 1, (long long)r->steps);
    if (rc) return rc;
    r->seen++;
    epoch_add(&r->acc, m->t, m->stats, rows);
    if (batch_hooks && (running_logs(r, st) ||
                        cb_list_run(&r->cbs, CB_BATCH_END, m, (int)step, &r->batch_logs, st)))
      return st->code;
    if (m->stop_training) break;
  }
  /* steps_per_epoch: the next epoch continues this pass until it is used up */
  if (r->seen >= r->n_batches || o->steps_per_epoch == 0) r->seen = -1;
  return NNC_OK;
}

/* The epoch's logs: training results, train_ (end-of-epoch), val_ keys. */
static int epoch_logs(fit_run *r, int epoch, nnc_status *st) {
  nnc_model *m = r->m;
  const nnc_fit_options *o = &r->o;
  r->logs.n = 0;
  if (epoch_results(&r->acc, m->t, "", &r->logs, st) || host_metrics_results(m, "", &r->logs, st))
    return st->code;
  if (o->train_metrics == NNC_TRAIN_METRICS_END_OF_EPOCH &&
      evaluate_data(m, &r->train, o->batch_size, 0, "train_", &r->logs, st))
    return st->code;
  int freq = o->validation_freq > 0 ? o->validation_freq : 1;
  int vbs = o->validation_batch_size > 0 ? o->validation_batch_size : o->batch_size;
  if (r->has_val && (epoch + 1) % freq == 0 &&
      evaluate_data(m, &r->val, vbs, o->validation_steps, "val_", &r->logs, st))
    return st->code;
  logs_sort(&r->logs);
  return NNC_OK;
}

static int run_epochs(fit_run *r, nnc_status *st) {
  nnc_model *m = r->m;
  const nnc_fit_options *o = &r->o;
  m->stop_training = 0;
  m->resume_epoch = -1;
  r->empty.n = 0;
  if (cb_list_run(&r->cbs, CB_TRAIN_BEGIN, m, 0, &r->empty, st)) return st->code;
  int start = m->resume_epoch >= 0 ? m->resume_epoch : o->initial_epoch, ran = 0;
  for (int epoch = start; epoch < o->epochs; epoch++) {
    epoch_reset(&r->acc);
    host_metrics_reset(m);
    r->empty.n = 0;
    if (cb_list_run(&r->cbs, CB_EPOCH_BEGIN, m, epoch, &r->empty, st) ||
        train_epoch(r, epoch, st) || epoch_logs(r, epoch, st) ||
        cb_list_run(&r->cbs, CB_EPOCH_END, m, epoch, &r->logs, st))
      return st->code;
    ran = 1;
    if (m->stop_training) break;
  }
  if (o->epochs > 0 && model_finalize_variable_values(m, st)) return st->code;
  if (!ran) r->logs.n = 0; /* Keras: on_train_end(logs=None) when no epoch ran */
  return cb_list_run(&r->cbs, CB_TRAIN_END, m, 0, &r->logs, st);
}

/* x, y and the weights of the training data; the validation data. */
static int prepare(fit_run *r, int n_x, const nnc_array *x, int n_y, const nnc_array *y,
                   nnc_status *st) {
  nnc_model *m = r->m;
  const nnc_fit_options *o = &r->o;
  nnc_array *shared = NULL;
  const nnc_array *sw = NULL;
  if (o->sample_weights && !(sw = sample_weights_per_output(o->sample_weights, o->n_sample_weights,
                                                            m->desc.n_outputs, &shared, st)))
    return st->code;
  if (o->n_class_weights > 0) {
    if (y[0].rank == 0)
      return nnc_fail(st, NNC_ERR_ARG, "nnc_model_fit: class_weights need a target y");
    if (class_weights_to_sample_weights(&y[0], o->n_class_weights, o->class_weights, &r->cw, st))
      return st->code;
    sw = &r->cw;
  }
  const nnc_array *build_sw;
  nnc_array *merged = NULL;
  int rc = fit_build_weights(sw, o, m->desc.n_outputs, &build_sw, &merged, st);
  if (!rc) rc = model_ensure_built_weighted(m, n_x, x, n_y, y, build_sw, st);
  if (!rc) rc = model_data_prepare_multi(m, n_x, x, n_y, y, &r->all, st);
  if (!rc) rc = model_data_add_weights(m, sw, &r->all, st);
  free(shared);
  free(merged);
  if (rc) return rc;
  r->train = r->all;
  if (o->x_vals || o->x_val) {
    if (fit_prepare_validation(m, o, &r->val, st)) return st->code;
    r->has_val = 1;
  } else if (o->validation_split > 0) {
    if (fit_split_validation(&r->all, o->validation_split, &r->train, &r->val, st)) return st->code;
    r->has_val = 1;
    /* Keras applies class_weight to the training split only */
    for (int k = 0; o->n_class_weights > 0 && k < r->val.n_w; k++) r->val.w[k] = NULL;
  }
  r->idx = nnc_calloc((size_t)r->train.n + 1, sizeof *r->idx, st);
  if (!r->idx) return st->code;
  r->n_batches = (r->train.n + o->batch_size - 1) / o->batch_size;
  r->steps = o->steps_per_epoch > 0 ? o->steps_per_epoch : r->n_batches;
  r->seen = -1;
  /* the largest batch there will be: a batch_size beyond the data is one batch of it all */
  int vbs = o->validation_batch_size > 0 ? o->validation_batch_size : o->batch_size;
  int64_t largest = r->train.n < o->batch_size ? r->train.n : o->batch_size;
  if (r->has_val && (r->val.n < vbs ? r->val.n : vbs) > largest)
    largest = r->val.n < vbs ? r->val.n : vbs;
  return model_reserve(m, largest, st);
}

/* Keras's CallbackList: the spec's and the host's callbacks in order, then
 * History, then the progress bar (when verbose). */
static int make_callbacks(fit_run *r, nnc_history *history, nnc_status *st) {
  nnc_callback *cb;
  if (cb_list_add_spec(&r->cbs, r->m, st)) return st->code;
  for (int i = 0; i < r->o.n_callbacks; i++)
    if (cb_list_add(&r->cbs, r->o.callbacks[i], 0, st)) return st->code;
  r->m->fit.epochs = r->o.epochs;
  r->m->fit.verbose = r->o.verbose;
  r->m->fit.steps = r->steps;
  r->m->fit.progress = r->o.progress;
  if (cb_history_create(history, &cb, st) || cb_list_add(&r->cbs, cb, 1, st)) return st->code;
  if (r->o.verbose && (cb_progbar_create(r->m, &cb, st) || cb_list_add(&r->cbs, cb, 1, st)))
    return st->code;
  return NNC_OK;
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
  fit_run r;
  memset(&r, 0, sizeof r);
  r.m = m;
  if (opts)
    r.o = *opts;
  else
    nnc_fit_options_default(&r.o);
  if (fit_check_options(&r.o, m->desc.n_outputs, st)) return NNC_ERR_ARG;
  int rc = require_compile(m, "fit", st) || check_batch_size(r.o.batch_size, st) ||
                   prepare(&r, n_x, x, n_y, y, st) || epoch_init(&r.acc, m->t, st) ||
                   make_callbacks(&r, history, st)
               ? st->code
               : NNC_OK;
  if (!rc) rc = run_epochs(&r, st);
  cb_list_free(&r.cbs);
  epoch_free(&r.acc);
  nnc_logs_free(&r.logs);
  nnc_logs_free(&r.batch_logs);
  nnc_logs_free(&r.empty);
  free(r.idx);
  batch_ahead_free(&r.ahead);
  model_data_free(&r.all);
  model_data_free(&r.val);
  nnc_array_free(&r.cw);
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
