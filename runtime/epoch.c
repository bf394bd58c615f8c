#include "runtime/epoch.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "runtime/metric_results.h"
#include "base/base.h"

int epoch_init(epoch_acc *a, const nnc_program_table *p, nnc_status *st) {
  memset(a, 0, sizeof *a);
  a->total = nnc_calloc((size_t)p->n_stats + 1, sizeof *a->total, st);
  if (!a->total) return st->code;
  a->n_stats = p->n_stats;
  a->owned = 1;
  return NNC_OK;
}

int epoch_init_in(epoch_acc *a, const nnc_program_table *p, float *buf, int cap, nnc_status *st) {
  if (p->n_stats > cap) return epoch_init(a, p, st);
  memset(a, 0, sizeof *a);
  memset(buf, 0, (size_t)p->n_stats * sizeof *buf);
  a->total = buf;
  a->n_stats = p->n_stats;
  return NNC_OK;
}

void epoch_reset(epoch_acc *a) {
  memset(a->total, 0, (size_t)a->n_stats * sizeof *a->total);
  a->count = 0;
}

void epoch_free(epoch_acc *a) {
  if (a->owned) free(a->total);
  memset(a, 0, sizeof *a);
}

void epoch_add(epoch_acc *a, const nnc_program_table *p, const float *stats, int64_t rows) {
  for (int k = 0; k < p->n_stats && k < a->n_stats; k++) {
    /* the loss tracker is a Mean weighted by the batch size */
    float v = p->stats[k] == NNC_REDUCE_LOSS ? stats[k] * (float)rows : stats[k];
    a->total[k] += v;
  }
  a->count += (float)rows;
}

static float divide_no_nan(float a, float b) {
  return b == 0.0f ? 0.0f : a / b;
}

int logs_check(const nnc_logs *logs, const char *fn, nnc_status *st) {
  if (logs->n < 0 || logs->cap < 0 || logs->n > logs->cap ||
      (logs->cap > 0 && (!logs->names || !logs->values)) ||
      (logs->cap == 0 && (logs->names || logs->values)))
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: out is not a logs struct (n %d, cap %d): pass zero-initialized logs or "
                    "ones the library filled",
                    fn, logs->n, logs->cap);
  return NNC_OK;
}

/* Room for n keys, grown (doubling from 16) as logs_put grows it. */
int logs_reserve(nnc_logs *logs, int n, nnc_status *st) {
  while (logs->cap < n) {
    int cap = logs->cap ? 2 * logs->cap : 16;
    char(*names)[NNC_LOG_NAME] =
        nnc_realloc_array(logs->names, (size_t)cap, sizeof *logs->names, st);
    if (!names) return st->code;
    logs->names = names;
    double *values = nnc_realloc_array(logs->values, (size_t)cap, sizeof *values, st);
    if (!values) return st->code;
    logs->values = values;
    logs->cap = cap;
  }
  return NNC_OK;
}

/* Grows the arrays (doubling) so that every key fits: none is dropped. */
static int logs_put(nnc_logs *logs, const char *prefix, const char *name, double v,
                    nnc_status *st) {
  if (logs_reserve(logs, logs->n + 1, st)) return st->code;
  logs_key_name(prefix, name, logs->names[logs->n]);
  logs->values[logs->n++] = v;
  return NNC_OK;
}

int epoch_value(const epoch_acc *a, const nnc_program_table *p, int i, double *v, nnc_status *st) {
  const nnc_log_key *m = &p->log_keys[i];
  if (m->result > NNC_LOG_RECALL) /* the stateful metrics' rules */
    return metric_result(m, a->total, a->n_stats, v, st);
  float t0 = a->total[m->stat[0]];
  *v = m->result == NNC_LOG_MEAN ? divide_no_nan(t0, a->count)
                                 : divide_no_nan(t0, t0 + a->total[m->stat[1]]);
  return NNC_OK;
}

int epoch_results(const epoch_acc *a, const nnc_program_table *p, const char *prefix,
                  nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < p->n_log_keys; i++) {
    double v;
    if (epoch_value(a, p, i, &v, st) || logs_put(logs, prefix, p->log_keys[i].name, v, st))
      return st->code;
  }
  return NNC_OK;
}

void logs_key_name(const char *prefix, const char *name, char *to) {
  size_t lp = strnlen(prefix, NNC_LOG_NAME - 1);
  size_t ln = strnlen(name, NNC_LOG_NAME - 1 - lp);
  memcpy(to, prefix, lp);
  memcpy(to + lp, name, ln);
  to[lp + ln] = '\0';
}

void logs_sort(nnc_logs *logs) {
  if (logs->n < 2) return;
  /* an insertion sort in place: no allocation that could fail, n is small */
  for (int i = 1; i < logs->n; i++) {
    char name[NNC_LOG_NAME];
    double value = logs->values[i];
    memcpy(name, logs->names[i], NNC_LOG_NAME);
    int j = i;
    for (; j > 0 && strcmp(logs->names[j - 1], name) > 0; j--) {
      memcpy(logs->names[j], logs->names[j - 1], NNC_LOG_NAME);
      logs->values[j] = logs->values[j - 1];
    }
    memcpy(logs->names[j], name, NNC_LOG_NAME);
    logs->values[j] = value;
  }
}

double nnc_logs_get(const nnc_logs *logs, const char *name) {
  if (!logs || !name || logs->n < 0 || logs->n > logs->cap || (logs->n && !logs->names)) return NAN;
  for (int i = 0; i < logs->n; i++)
    if (!strncmp(logs->names[i], name, NNC_LOG_NAME)) return logs->values[i];
  return NAN;
}

void nnc_logs_free(nnc_logs *logs) {
  if (!logs) return;
  free(logs->names);
  free(logs->values);
  memset(logs, 0, sizeof *logs);
}

int nnc_logs_set(nnc_logs *logs, const char *name, double value, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(logs, "nnc_logs_set", "logs", st) ||
      api_nonnull(name, "nnc_logs_set", "name", st) || logs_check(logs, "nnc_logs_set", st))
    return NNC_ERR_ARG;
  if (strlen(name) >= NNC_LOG_NAME)
    return nnc_fail(st, NNC_ERR_ARG, "nnc_logs_set: name '%.40s...' is longer than %d bytes", name,
                    NNC_LOG_NAME - 1);
  for (int i = 0; i < logs->n; i++)
    if (!strcmp(logs->names[i], name)) {
      logs->values[i] = value;
      return NNC_OK;
    }
  return logs_put(logs, "", name, value, st);
}
