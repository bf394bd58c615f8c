/* nnc_history: Keras's History as a table of key x epoch (runtime/callbacks/
 * history.c fills it during fit), and its JSON form. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/epoch.h"

/* Room for one more key: the new row is NaN for the epochs before it
 * appeared (Keras's list for that key is shorter; validation_freq > 1). */
static int add_key(nnc_history *h, const char *name, nnc_status *st) {
  int k = h->n_keys, e = h->n_epochs;
  char(*keys)[NNC_LOG_NAME] = nnc_realloc_array(h->keys, (size_t)k + 1, sizeof *keys, st);
  if (!keys) return st->code;
  h->keys = keys;
  memcpy(h->keys[k], name, NNC_LOG_NAME);
  if (e > 0) {
    double *values = nnc_realloc_array(h->values, (size_t)(k + 1) * (size_t)e, sizeof *values, st);
    if (!values) return st->code;
    h->values = values;
    for (int j = 0; j < e; j++) h->values[k * e + j] = NAN;
  }
  h->n_keys = k + 1;
  return NNC_OK;
}

static int key_index(const nnc_history *h, const char *name) {
  for (int k = 0; k < h->n_keys; k++)
    if (!strncmp(h->keys[k], name, NNC_LOG_NAME)) return k;
  return -1;
}

int history_append(nnc_history *h, int epoch, const nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < logs->n; i++)
    if (key_index(h, logs->names[i]) < 0 && add_key(h, logs->names[i], st)) return st->code;
  int e = h->n_epochs;
  double *values =
      nnc_realloc_array(h->values, (size_t)h->n_keys * (size_t)(e + 1) + 1, sizeof *values, st);
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

int history_copy(nnc_history *to, const nnc_history *from, nnc_status *st) {
  memset(to, 0, sizeof *to);
  size_t cells = (size_t)from->n_keys * (size_t)from->n_epochs;
  to->keys = nnc_calloc((size_t)from->n_keys + 1, sizeof *to->keys, st);
  to->values = nnc_calloc(cells + 1, sizeof *to->values, st);
  to->epochs = nnc_calloc((size_t)from->n_epochs + 1, sizeof *to->epochs, st);
  if (!to->keys || !to->values || !to->epochs) {
    nnc_history_free(to);
    return st->code;
  }
  if (from->n_keys) memcpy(to->keys, from->keys, (size_t)from->n_keys * sizeof *to->keys);
  if (cells) memcpy(to->values, from->values, cells * sizeof *to->values);
  if (from->n_epochs) memcpy(to->epochs, from->epochs, (size_t)from->n_epochs * sizeof *to->epochs);
  to->n_keys = from->n_keys;
  to->n_epochs = from->n_epochs;
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
