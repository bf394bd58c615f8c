#include "runtime/epoch.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/api_check.h"
#include "base/base.h"

void epoch_reset(epoch_acc *a) {
  memset(a, 0, sizeof *a);
}

void epoch_add(epoch_acc *a, const nnc_program_table *p, const float *stats, int64_t rows) {
  for (int k = 0; k < p->n_stats; k++) {
    /* the loss tracker is a Mean weighted by the batch size */
    float v = p->stats[k] == NNC_REDUCE_LOSS ? stats[k] * (float)rows : stats[k];
    a->total[k] += v;
  }
  a->count += (float)rows;
}

static float divide_no_nan(float a, float b) {
  return b == 0.0f ? 0.0f : a / b;
}

/* A key that does not fit is an error, never dropped. */
static int logs_put(nnc_logs *logs, const char *prefix, const char *name, double v,
                    nnc_status *st) {
  if (logs->n >= NNC_MAX_LOGS)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "the model reports more than %d log keys (at %s%s): nnc_logs holds at most %d",
                    NNC_MAX_LOGS, prefix, name, NNC_MAX_LOGS);
  snprintf(logs->names[logs->n], NNC_LOG_NAME, "%s%s", prefix, name);
  logs->values[logs->n++] = v;
  return NNC_OK;
}

int epoch_results(const epoch_acc *a, const nnc_program_table *p, const char *prefix,
                  nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < p->n_log_keys; i++) {
    const nnc_log_key *m = &p->log_keys[i];
    float t0 = a->total[m->stat[0]], v;
    if (m->result == NNC_LOG_MEAN)
      v = divide_no_nan(t0, a->count);
    else
      v = divide_no_nan(t0, t0 + a->total[m->stat[1]]);
    if (logs_put(logs, prefix, m->name, v, st)) return st->code;
  }
  return NNC_OK;
}

static int by_name(const void *a, const void *b) {
  return strcmp(a, b);
}

void logs_sort(nnc_logs *logs) {
  struct entry {
    char name[NNC_LOG_NAME];
    double value;
  } e[NNC_MAX_LOGS];
  for (int i = 0; i < logs->n; i++) {
    memcpy(e[i].name, logs->names[i], NNC_LOG_NAME);
    e[i].value = logs->values[i];
  }
  qsort(e, (size_t)logs->n, sizeof e[0], by_name);
  for (int i = 0; i < logs->n; i++) {
    memcpy(logs->names[i], e[i].name, NNC_LOG_NAME);
    logs->values[i] = e[i].value;
  }
}

double nnc_logs_get(const nnc_logs *logs, const char *name) {
  if (!logs || !name || logs->n < 0 || logs->n > NNC_MAX_LOGS) return NAN;
  for (int i = 0; i < logs->n; i++)
    if (!strncmp(logs->names[i], name, NNC_LOG_NAME)) return logs->values[i];
  return NAN;
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
