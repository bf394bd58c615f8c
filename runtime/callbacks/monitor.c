/* MonitorCallback's logic (keras/src/callbacks/monitor_callback.py). */
#include "runtime/callbacks/monitor.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

int cb_mode_parse(const char *source, const char *path, const char *mode, cb_mode *out,
                  nnc_status *st) {
  if (!strcmp(mode, "auto"))
    *out = CB_MODE_AUTO;
  else if (!strcmp(mode, "min"))
    *out = CB_MODE_MIN;
  else if (!strcmp(mode, "max"))
    *out = CB_MODE_MAX;
  else
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: %s: expected mode \"auto\", \"min\" or \"max\", got \"%s\" (Keras "
                    "would warn and use \"auto\")",
                    source ? source : "<callback>", path, mode);
  return NNC_OK;
}

int cb_monitor_finish(cb_monitor *c, int rc, const char *source, const cb_arg *args, int n_args,
                      char **mode, double min_delta, nnc_status *st) {
  if (!rc && !c->monitor) {
    c->monitor = nnc_calloc(sizeof "val_loss", 1, st);
    if (c->monitor)
      memcpy(c->monitor, "val_loss", sizeof "val_loss");
    else
      rc = st->code;
  }
  snprintf(c->where, sizeof c->where, "%s", source ? source : "<callback>");
  for (int i = 0; i < n_args; i++)
    if (!strcmp(args[i].key, "monitor"))
      snprintf(c->where, sizeof c->where, "%s: %s", source ? source : "<callback>", args[i].path);
  if (!rc && *mode)
    for (int i = 0; i < n_args; i++)
      if (!strcmp(args[i].key, "mode"))
        rc = cb_mode_parse(source, args[i].path, *mode, &c->mode, st);
  free(*mode);
  *mode = NULL;
  c->min_delta = fabs(min_delta);
  return rc;
}

/* The Keras direction of the model's log key `name` (+1 up, -1 down, 0
 * none), as the compiler recorded it from the metric's class
 * (compiler/metrics/direction.c). Keras looks at the compiled metrics only:
 * loss keys carry no direction. */
static int key_direction(const nnc_model *m, const char *name) {
  if (!m || !m->built || !m->t) return 0;
  for (int i = 0; i < m->t->n_log_keys; i++)
    if (!strcmp(m->t->log_keys[i].name, name))
      return m->t->log_keys[i].direction == NNC_LOG_DIRECTION_UP     ? 1
             : m->t->log_keys[i].direction == NNC_LOG_DIRECTION_DOWN ? -1
                                                                     : 0;
  return 0;
}

int cb_monitor_set_op(cb_monitor *c, const nnc_model *m, const char *class_name, nnc_status *st) {
  if (c->mode == CB_MODE_MIN)
    c->op = -1;
  else if (c->mode == CB_MODE_MAX)
    c->op = 1;
  else {
    const char *name = strncmp(c->monitor, "val_", 4) ? c->monitor : c->monitor + 4;
    /* Keras: "loss" is min, then a compiled metric of that name with a
     * _direction overrides it (none can be named "loss": spec_metric.c) */
    c->op = !strcmp(name, "loss") ? -1 : 0;
    if (key_direction(m, name)) c->op = key_direction(m, name);
    if (!c->op)
      return nnc_fail(st, NNC_ERR_ARG,
                      "%s: %s callback received monitor=%s, but nnc (as Keras) cannot "
                      "determine whether that metric should be maximized or minimized: pass "
                      "mode=\"max\" to monitor the highest value or mode=\"min\" for the lowest",
                      c->where, class_name, c->monitor);
  }
  if (c->op < 0) c->min_delta = -c->min_delta;
  if (!c->has_best) {
    c->has_best = 1;
    c->best = c->op < 0 ? INFINITY : -INFINITY;
  }
  return NNC_OK;
}

int cb_is_improvement(const cb_monitor *c, double current, int ref_is_none, double reference) {
  if (ref_is_none) return 1;
  float a = (float)(current - c->min_delta), b = (float)reference;
  /* isless/isgreater: false on a NaN as < and > are, without raising
   * FE_INVALID (a host trapping it would die of SIGFPE on a NaN val_loss) */
  return c->op < 0 ? isless(a, b) : isgreater(a, b);
}

int cb_monitor_value(const cb_monitor *c, const nnc_logs *logs, double *out) {
  for (int i = 0; logs && i < logs->n; i++)
    if (!strcmp(logs->names[i], c->monitor)) {
      *out = logs->values[i];
      return 1;
    }
  return 0;
}

void cb_logs_keys(const nnc_logs *logs, char *out, size_t room) {
  size_t at = 0;
  out[0] = '\0';
  for (int i = 0; logs && i < logs->n && at + 1 < room; i++)
    at += (size_t)snprintf(out + at, room - at, "%s%s", i ? "," : "", logs->names[i]);
}

void cb_print(const nnc_model *m, const char *fmt, ...) {
  FILE *f = m->fit.progress ? (FILE *)m->fit.progress : stdout;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fflush(f);
}

void cb_float_repr(double v, char *out, size_t room) {
  if (isnan(v)) {
    snprintf(out, room, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(out, room, v < 0 ? "-inf" : "inf");
    return;
  }
  /* the shortest digits that read back as v, laid out as Python's repr */
  char digits[40];
  int prec = 1;
  for (; prec < 17; prec++) {
    snprintf(digits, sizeof digits, "%.*e", prec - 1, v);
    if (strtod(digits, NULL) == v) break;
  }
  snprintf(digits, sizeof digits, "%.*e", prec - 1, v);
  int exp10 = atoi(strchr(digits, 'e') + 1);
  if (exp10 < -4 || exp10 >= 16) {
    /* Python: "1e-05", "1.5e+16" */
    char *e = strchr(digits, 'e');
    *e = '\0';
    snprintf(out, room, "%se%c%02d", digits, exp10 < 0 ? '-' : '+', abs(exp10));
    return;
  }
  int decimals = prec - 1 - exp10;
  snprintf(out, room, "%.*f", decimals > 0 ? decimals : 0, v);
  if (decimals <= 0) {
    size_t n = strlen(out);
    snprintf(out + n, room - n, ".0");
  }
}

double cb_learning_rate_f32(const nnc_model *m) {
  return (double)(float)nnc_model_learning_rate(m);
}

void cb_monitor_free(cb_monitor *c) {
  free(c->monitor);
  c->monitor = NULL;
}
