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
  return NNC_OK;
}

void epoch_reset(epoch_acc *a) {
  memset(a->total, 0, (size_t)a->n_stats * sizeof *a->total);
  a->count = 0;
}

void epoch_free(epoch_acc *a) {
  free(a->total);
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

/* Grows the arrays (doubling) so that every key fits: none is dropped. */
static int logs_put(nnc_logs *logs, const char *prefix, const char *name, double v,
                    nnc_status *st) {
  if (logs->n == logs->cap) {
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
  snprintf(logs->names[logs->n], NNC_LOG_NAME, "%s%s", prefix, name);
  logs->values[logs->n++] = v;
  return NNC_OK;
}

int epoch_results(const epoch_acc *a, const nnc_program_table *p, const char *prefix,
                  nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < p->n_log_keys; i++) {
    const nnc_log_key *m = &p->log_keys[i];
    double v;
    if (m->result > NNC_LOG_RECALL) { /* the stateful metrics' rules */
      if (metric_result(m, a->total, a->n_stats, &v, st)) return st->code;
    } else {
      float t0 = a->total[m->stat[0]];
      v = m->result == NNC_LOG_MEAN ? divide_no_nan(t0, a->count)
                                    : divide_no_nan(t0, t0 + a->total[m->stat[1]]);
    }
    if (logs_put(logs, prefix, m->name, v, st)) return st->code;
  }
  return NNC_OK;
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

int history_append(nnc_history *h, int epoch, const nnc_logs *logs, nnc_status *st) {
  if (h->n_epochs == 0 && h->n_keys == 0) {
    h->keys = nnc_calloc((size_t)logs->n + 1, sizeof *h->keys, st);
    if (!h->keys) return st->code;
    for (int i = 0; i < logs->n; i++) memcpy(h->keys[i], logs->names[i], NNC_LOG_NAME);
    h->n_keys = logs->n;
  }
  int e = h->n_epochs;
  double *values =
      nnc_realloc_array(h->values, (size_t)h->n_keys * (size_t)(e + 1), sizeof *values, st);
  if (!values) return st->code;
  h->values = values;
  int *epochs = nnc_realloc_array(h->epochs, (size_t)e + 1, sizeof *epochs, st);
  if (!epochs) return st->code;
  h->epochs = epochs;
  /* values are stored key-major: move the old rows to their new stride */
  for (int k = h->n_keys - 1; k >= 0; k--)
    for (int j = e - 1; j >= 0; j--) h->values[k * (e + 1) + j] = h->values[k * e + j];
  for (int k = 0; k < h->n_keys; k++) h->values[k * (e + 1) + e] = nnc_logs_get(logs, h->keys[k]);
  h->epochs[e] = epoch;
  h->n_epochs = e + 1;
  return NNC_OK;
}

/* A history the library filled, or one a host built with consistent fields. */
static int history_ok(const nnc_history *h) {
  return h->n_keys >= 0 && h->n_epochs >= 0 &&
         (int64_t)h->n_keys * ((int64_t)h->n_epochs + 1) <= INT_MAX &&
         (h->n_keys == 0 || (h->keys && (h->n_epochs == 0 || h->values)));
}

double nnc_history_get(const nnc_history *h, const char *key, int epoch) {
  if (!h || !key || !history_ok(h)) return NAN;
  for (int k = 0; k < h->n_keys; k++)
    if (!strncmp(h->keys[k], key, NNC_LOG_NAME) && epoch >= 0 && epoch < h->n_epochs)
      return h->values[k * h->n_epochs + epoch];
  return NAN;
}

void nnc_history_free(nnc_history *h) {
  if (!h) return;
  free(h->keys);
  free(h->values);
  free(h->epochs);
  memset(h, 0, sizeof *h);
}

/* s as the inside of a JSON string; returns the bytes written (room: 6 a byte). */
static size_t json_escape(const char *s, char *out, size_t room) {
  size_t n = 0;
  const unsigned char *end = (const unsigned char *)s + strnlen(s, NNC_LOG_NAME);
  for (const unsigned char *c = (const unsigned char *)s; c < end && n + 7 < room; c++) {
    if (*c == '"' || *c == '\\')
      n += (size_t)snprintf(out + n, room - n, "\\%c", *c);
    else if (*c < 0x20)
      n += (size_t)snprintf(out + n, room - n, "\\u%04x", *c);
    else
      out[n++] = (char)*c;
  }
  out[n] = '\0';
  return n;
}

int nnc_history_write_json(const nnc_history *h, const char *path, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(h, "nnc_history_write_json", "h", st) ||
      api_nonnull(path, "nnc_history_write_json", "path", st))
    return NNC_ERR_ARG;
  if (!history_ok(h))
    return nnc_fail(st, NNC_ERR_ARG,
                    "nnc_history_write_json: h is not a history (n_keys %d, n_epochs %d, keys or "
                    "values NULL)",
                    h->n_keys, h->n_epochs);
  /* 32 bytes hold any %.9g number; a key escapes to at most 6 bytes a byte */
  size_t cap = 256 + (size_t)h->n_keys * (size_t)(h->n_epochs + 1) * 32 +
               (size_t)h->n_keys * NNC_LOG_NAME * 6;
  char *buf = malloc(cap);
  if (!buf) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory writing %s", path);
  size_t n = (size_t)snprintf(buf, cap, "{");
  for (int k = 0; k < h->n_keys; k++) {
    n += (size_t)snprintf(buf + n, cap - n, "%s\"", k ? ", " : "");
    n += json_escape(h->keys[k], buf + n, cap - n);
    n += (size_t)snprintf(buf + n, cap - n, "\": [");
    for (int e = 0; e < h->n_epochs; e++)
      n += isfinite(h->values[k * h->n_epochs + e])
               ? (size_t)snprintf(buf + n, cap - n, "%s%.9g", e ? ", " : "",
                                  h->values[k * h->n_epochs + e])
               : (size_t)snprintf(buf + n, cap - n, "%snull", e ? ", " : "");
    n += (size_t)snprintf(buf + n, cap - n, "]");
  }
  n += (size_t)snprintf(buf + n, cap - n, "}\n");
  int rc = nnc_write_file_atomic(path, buf, n, st);
  free(buf);
  return rc;
}
