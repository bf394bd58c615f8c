/* EarlyStopping (keras/src/callbacks/early_stopping.py, Keras 3): stop when
 * the monitored value has not improved for `patience` epochs; optionally
 * restore the weights of the best epoch at the end of training. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/monitor.h"

typedef struct early_stopping {
  cb_monitor mon;
  int patience, verbose, restore_best_weights, start_from_epoch;
  double baseline; /* NaN: None */
  int wait, stopped_epoch, best_epoch;
  int has_best_weights; /* 0: best_weights is None */
  float *best_weights;  /* m->t->params_floats values */
  int64_t best_cap;
} early_stopping;

static int on_train_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                          nnc_status *st) {
  (void)m, (void)index, (void)logs, (void)st;
  early_stopping *s = cb->user;
  s->wait = 0;
  s->stopped_epoch = 0;
  s->mon.has_best = 0; /* best = None */
  s->has_best_weights = 0;
  s->best_epoch = 0;
  return NNC_OK;
}

/* model.get_weights(): every model variable (trainable or not), no optimizer slot */
static int snapshot(early_stopping *s, const nnc_model *m, nnc_status *st) {
  int64_t n = m->t->params_floats;
  if (s->best_cap < n + 1) {
    float *buf = nnc_realloc_array(s->best_weights, (size_t)n + 1, sizeof *buf, st);
    if (!buf) return st->code;
    s->best_weights = buf;
    s->best_cap = n + 1;
  }
  memcpy(s->best_weights, m->params, (size_t)n * sizeof *m->params);
  s->has_best_weights = 1;
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  early_stopping *s = cb->user;
  if (!s->mon.op && cb_monitor_set_op(&s->mon, m, "EarlyStopping", st)) return st->code;
  double current;
  if (!cb_monitor_value(&s->mon, logs, &current)) {
    char keys[1024];
    cb_logs_keys(logs, keys, sizeof keys);
    return model_warn(m, st,
                      "Early stopping conditioned on metric `%s` which is not available. "
                      "Available metrics are: %s",
                      s->mon.monitor, keys);
  }
  if (epoch < s->start_from_epoch) return NNC_OK;
  if (s->restore_best_weights && !s->has_best_weights) {
    /* never set: the current weights are the best */
    if (snapshot(s, m, st)) return st->code;
    s->best_epoch = epoch;
  }
  s->wait++;
  if (cb_is_improvement(&s->mon, current, !s->mon.has_best, s->mon.best)) {
    s->mon.best = current;
    s->mon.has_best = 1;
    s->best_epoch = epoch;
    if (s->restore_best_weights && snapshot(s, m, st)) return st->code;
    /* only restart the wait when both the baseline and the best are beaten */
    if (isnan(s->baseline) || cb_is_improvement(&s->mon, current, 0, s->baseline)) s->wait = 0;
    return NNC_OK;
  }
  if (s->wait >= s->patience && epoch > 0) {
    s->stopped_epoch = epoch;
    m->stop_training = 1;
  }
  return NNC_OK;
}

static int on_train_end(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs, nnc_status *st) {
  (void)index, (void)logs, (void)st;
  early_stopping *s = cb->user;
  if (s->stopped_epoch > 0 && s->verbose > 0)
    cb_print(m, "Epoch %d: early stopping", s->stopped_epoch + 1);
  /* Keras 3 restores whenever a snapshot exists, also when training ran to the end */
  if (s->restore_best_weights && s->has_best_weights) {
    if (s->verbose > 0)
      cb_print(m, "Restoring model weights from the end of the best epoch: %d.", s->best_epoch + 1);
    memcpy(m->params, s->best_weights, (size_t)m->t->params_floats * sizeof *m->params);
    m->weights_changed = 1;
  }
  return NNC_OK;
}

static void release(nnc_callback *cb) {
  early_stopping *s = cb->user;
  if (!s) return;
  cb_monitor_free(&s->mon);
  free(s->best_weights);
  free(s);
  cb->user = NULL;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  early_stopping *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "EarlyStopping";
  out->user = s;
  out->free = release;
  out->on_train_begin = on_train_begin;
  out->on_epoch_end = on_epoch_end;
  out->on_train_end = on_train_end;
  s->baseline = NAN;
  double min_delta = 0;
  char *mode = NULL;
  const cb_param params[] = {
      {"monitor", CB_P_STRING, &s->mon.monitor},
      {"min_delta", CB_P_NUMBER, &min_delta},
      {"patience", CB_P_INT, &s->patience},
      {"verbose", CB_P_INT, &s->verbose},
      {"mode", CB_P_STRING, &mode},
      {"baseline", CB_P_NUMBER_OR_NULL, &s->baseline},
      {"restore_best_weights", CB_P_BOOL, &s->restore_best_weights},
      {"start_from_epoch", CB_P_INT, &s->start_from_epoch},
  };
  int rc = cb_args_bind(source, "EarlyStopping", args, n_args, params,
                        (int)(sizeof params / sizeof *params), st);
  rc = cb_monitor_finish(&s->mon, rc, source, args, n_args, &mode, min_delta, st);
  if (rc) release(out);
  return rc;
}

const cb_class cb_early_stopping = {"EarlyStopping", create};
