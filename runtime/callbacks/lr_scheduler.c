/* LearningRateScheduler (keras/src/callbacks/learning_rate_scheduler.py):
 * at each epoch begin the learning rate becomes schedule(epoch) (0-based),
 * stored as Keras's float32 variable; at each epoch end `learning_rate` goes
 * into the logs. Keras takes a Python function; nnc takes `schedule` as
 *   - a list of per-epoch values: [0.1, 0.1, 0.05] (epoch e uses the e-th), or
 *   - a Keras LearningRateSchedule object {"class_name": "ExponentialDecay",
 *     "config": {...}} evaluated at the epoch index (what Keras users write as
 *     `lambda epoch: float(schedule(epoch))`), once base/schedule.h exists.
 * docs/semantics.md ("Callbacks") says so. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/monitor.h"

#include "base/schedule.h"

typedef struct lr_scheduler {
  int verbose;
  int n_values; /* > 0: per-epoch values */
  double *values;
  int has_schedule;
  nnc_schedule schedule;
  double *schedule_storage;
  char path[256]; /* of `schedule`, for messages */
  char *source;
} lr_scheduler;

static int on_epoch_begin(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                          nnc_status *st) {
  (void)logs;
  lr_scheduler *s = cb->user;
  double lr;
  if (s->n_values) {
    if (epoch >= s->n_values)
      return nnc_fail(st, NNC_ERR_ARG,
                      "%s: %s: LearningRateScheduler: the schedule lists %d value(s) (epochs 1 "
                      "to %d), epoch %d needs one",
                      s->source, s->path, s->n_values, s->n_values, epoch + 1);
    lr = s->values[epoch];
  } else {
    lr = schedule_eval(&s->schedule, (double)epoch);
  }
  /* optimizer.learning_rate = lr: a float32 variable */
  if (nnc_model_set_learning_rate(m, (double)(float)lr, st))
    return nnc_fail_prefix(st, "LearningRateScheduler at epoch %d", epoch + 1);
  if (s->verbose > 0) {
    char text[64];
    cb_float_repr(lr, text, sizeof text);
    cb_print(m, "\nEpoch %d: LearningRateScheduler setting learning rate to %s.", epoch + 1, text);
  }
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  (void)cb, (void)epoch;
  return nnc_logs_set(logs, "learning_rate", cb_learning_rate_f32(m), st);
}

static void release(nnc_callback *cb) {
  lr_scheduler *s = cb->user;
  if (!s) return;
  free(s->values);
  free(s->schedule_storage);
  free(s->source);
  free(s);
  cb->user = NULL;
}

static int parse_schedule(lr_scheduler *s, const char *source, const cb_arg *a, nnc_status *st) {
  if (a->type != CB_ARG_JSON)
    return cb_arg_fail(source, a, st,
                       "expected a list of per-epoch learning rates or a Keras "
                       "LearningRateSchedule object {\"class_name\": ..., \"config\": ...}");
  cJSON *j = cJSON_Parse(a->str);
  if (!j) return cb_arg_fail(source, a, st, "invalid JSON");
  int rc = NNC_OK;
  if (cJSON_IsArray(j)) {
    int n = cJSON_GetArraySize(j);
    if (n == 0) rc = cb_arg_fail(source, a, st, "expected at least one learning rate, got []");
    if (!rc && !(s->values = nnc_calloc((size_t)n, sizeof *s->values, st))) rc = st->code;
    for (int i = 0; !rc && i < n; i++) {
      const cJSON *v = cJSON_GetArrayItem(j, i);
      if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 3.4028234663852886e38)
        rc = cb_arg_fail(source, a, st, "[%d]: expected a learning rate (a number in [0, FLT_MAX])",
                         i);
      else
        s->values[i] = v->valuedouble;
    }
    if (!rc) s->n_values = n;
  } else {
    rc = schedule_from_json(j, source ? source : "<callback>", a->path, &s->schedule,
                            &s->schedule_storage, st);
    if (!rc) s->has_schedule = 1;
  }
  cJSON_Delete(j);
  return rc;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  lr_scheduler *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "LearningRateScheduler";
  out->user = s;
  out->free = release;
  out->on_epoch_begin = on_epoch_begin;
  out->on_epoch_end = on_epoch_end;
  const cb_arg *schedule = NULL;
  const cb_param params[] = {{"schedule", CB_P_ARG, &schedule}, {"verbose", CB_P_INT, &s->verbose}};
  int rc = cb_args_bind(source, "LearningRateScheduler", args, n_args, params, 2, st);
  if (!rc && !schedule)
    rc = nnc_fail(st, NNC_ERR_ARG,
                  "%s: LearningRateScheduler: missing argument 'schedule' (a list of per-epoch "
                  "learning rates or a LearningRateSchedule object)",
                  source ? source : "<callback>");
  if (!rc) rc = parse_schedule(s, source, schedule, st);
  if (!rc) {
    const char *src = source ? source : "<callback>";
    nnc_strlcpy(s->path, schedule->path, sizeof s->path);
    if (!(s->source = cb_strdup(src, st))) rc = st->code;
  }
  if (rc) release(out);
  return rc;
}

const cb_class cb_lr_scheduler = {"LearningRateScheduler", create};
