/* ReduceLROnPlateau (keras/src/callbacks/reduce_lr_on_plateau.py, Keras 3):
 * multiply the learning rate by `factor` after `patience` epochs without
 * improvement, then wait `cooldown` epochs; never below min_lr. Puts
 * `learning_rate` into the epoch logs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/monitor.h"

typedef struct reduce_lr {
  cb_monitor mon;
  double factor, min_lr;
  int patience, verbose, cooldown;
  int cooldown_counter, wait;
} reduce_lr;

static int on_train_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                          nnc_status *st) {
  (void)m, (void)index, (void)logs, (void)st;
  reduce_lr *s = cb->user;
  s->mon.has_best = 0; /* _reset: best = None */
  s->cooldown_counter = 0;
  s->wait = 0;
  return NNC_OK;
}

/* _reduce_optimizer_lr: old_lr is the float32 variable read as a Python
 * float, compared with np.float32(min_lr); the product and max() are in
 * double, and the assignment stores float32. */
static int reduce(reduce_lr *s, nnc_model *m, int epoch, int *reduced, nnc_status *st) {
  double old_lr = cb_learning_rate_f32(m);
  *reduced = 0;
  if (!(old_lr > (double)(float)s->min_lr)) return NNC_OK;
  double new_lr = old_lr * s->factor;
  if (new_lr < s->min_lr) new_lr = s->min_lr;
  if (nnc_model_set_learning_rate(m, (double)(float)new_lr, st))
    return nnc_fail_prefix(st, "ReduceLROnPlateau at epoch %d", epoch + 1);
  if (s->verbose > 0) {
    char text[64];
    cb_float_repr(new_lr, text, sizeof text);
    cb_print(m, "\nEpoch %d: ReduceLROnPlateau reducing learning rate to %s.", epoch + 1, text);
  }
  *reduced = 1;
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  reduce_lr *s = cb->user;
  if (!s->mon.op && cb_monitor_set_op(&s->mon, m, "ReduceLROnPlateau", st)) return st->code;
  if (nnc_logs_set(logs, "learning_rate", cb_learning_rate_f32(m), st)) return st->code;
  double current;
  if (!cb_monitor_value(&s->mon, logs, &current)) {
    char keys[1024];
    cb_logs_keys(logs, keys, sizeof keys);
    return model_warn(m, st,
                      "Learning rate reduction is conditioned on metric `%s` which is not "
                      "available. Available metrics are: %s.",
                      s->mon.monitor, keys);
  }
  if (s->cooldown_counter > 0) {
    s->cooldown_counter--;
    s->wait = 0;
  }
  if (cb_is_improvement(&s->mon, current, !s->mon.has_best, s->mon.best)) {
    s->mon.best = current;
    s->mon.has_best = 1;
    s->wait = 0;
  } else if (!(s->cooldown_counter > 0)) {
    s->wait++;
    if (s->wait >= s->patience) {
      int reduced;
      if (reduce(s, m, epoch, &reduced, st)) return st->code;
      if (reduced) {
        s->cooldown_counter = s->cooldown;
        s->wait = 0;
      }
    }
  }
  return NNC_OK;
}

static void release(nnc_callback *cb) {
  reduce_lr *s = cb->user;
  if (!s) return;
  cb_monitor_free(&s->mon);
  free(s);
  cb->user = NULL;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  reduce_lr *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "ReduceLROnPlateau";
  out->user = s;
  out->free = release;
  out->on_train_begin = on_train_begin;
  out->on_epoch_end = on_epoch_end;
  s->factor = 0.1;
  s->patience = 10;
  s->min_lr = 0;
  double min_delta = 1e-4;
  char *mode = NULL;
  const cb_arg *factor = NULL;
  const cb_param params[] = {
      {"monitor", CB_P_STRING, &s->mon.monitor},
      {"factor", CB_P_ARG, &factor},
      {"patience", CB_P_INT, &s->patience},
      {"verbose", CB_P_INT, &s->verbose},
      {"mode", CB_P_STRING, &mode},
      {"min_delta", CB_P_NUMBER, &min_delta},
      {"cooldown", CB_P_INT, &s->cooldown},
      {"min_lr", CB_P_NUMBER, &s->min_lr},
  };
  int rc = cb_args_bind(source, "ReduceLROnPlateau", args, n_args, params,
                        (int)(sizeof params / sizeof *params), st);
  if (!rc && factor) {
    if (factor->type != CB_ARG_NUMBER || !isfinite(factor->num))
      rc = cb_arg_fail(source, factor, st, "expected a number");
    else if (factor->num >= 1.0)
      rc = cb_arg_fail(source, factor, st,
                       "ReduceLROnPlateau does not support a factor >= 1.0, got %g", factor->num);
    else
      s->factor = factor->num;
  }
  rc = cb_monitor_finish(&s->mon, rc, source, args, n_args, &mode, min_delta, st);
  if (rc) release(out);
  return rc;
}

const cb_class cb_reduce_lr_on_plateau = {"ReduceLROnPlateau", create};
