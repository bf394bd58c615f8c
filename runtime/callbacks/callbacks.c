/* The callback registry (callbacks.def), the public create/free calls, the
 * argument helpers of the classes, and the callback list a fit drives
 * (Keras 3's CallbackList: keras/src/callbacks/callback_list.py). */
#include "runtime/callbacks/callbacks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"

#define CALLBACK(c) extern const cb_class c;
#include "runtime/callbacks/callbacks.def"
#undef CALLBACK

static const cb_class *const classes[] = {
#define CALLBACK(c) &c,
#include "runtime/callbacks/callbacks.def"
#undef CALLBACK
};
enum { N_CLASSES = sizeof classes / sizeof classes[0] };

int cb_create(const char *class_name, const char *source, const char *path, const cb_arg *args,
              int n_args, nnc_callback **out, nnc_status *st) {
  *out = NULL;
  const cb_class *c = NULL;
  for (int i = 0; i < N_CLASSES && !c; i++)
    if (!strcmp(classes[i]->class_name, class_name)) c = classes[i];
  if (!c) {
    char known[1024];
    size_t n = 0;
    known[0] = '\0';
    for (int i = 0; i < N_CLASSES && n < sizeof known; i++)
      n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "",
                            classes[i]->class_name);
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: unknown callback class '%s' (known: %s)", source,
                    path, class_name, known);
  }
  nnc_callback *cb = nnc_calloc(1, sizeof *cb, st);
  if (!cb) return st->code;
  cb->name = c->class_name;
  if (c->create(source, args, n_args, cb, st)) {
    nnc_callback_free(cb);
    return st->code;
  }
  if (!cb->name) cb->name = c->class_name;
  *out = cb;
  return NNC_OK;
}

int nnc_callback_create(const char *text, const char *source, nnc_callback **out, nnc_status *st) {
  API_STATUS(st);
  if (api_nonnull(out, "nnc_callback_create", "out", st)) return NNC_ERR_ARG;
  *out = NULL;
  if (api_nonnull(text, "nnc_callback_create", "text", st)) return NNC_ERR_ARG;
  return cb_parse_text(text, source ? source : "<callback>", out, st);
}

void nnc_callback_free(nnc_callback *cb) {
  if (!cb) return;
  if (cb->free) cb->free(cb);
  free(cb);
}

int cb_written_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]) {
  const char *csv = cb_csv_logger_file(cb);
  if (csv) {
    out[0] = (cb_written){"filename", csv, 0};
    return 1;
  }
  int n = cb_model_checkpoint_files(cb, out);
  return n ? n : cb_backup_and_restore_files(cb, out);
}

void nnc_model_stop_training(nnc_model *m) {
  if (m) m->stop_training = 1;
}

/* ---- argument helpers ---- */
static const char *type_name(cb_arg_type t) {
  switch (t) {
  case CB_ARG_NUMBER:
    return "a number";
  case CB_ARG_BOOL:
    return "true or false";
  case CB_ARG_STRING:
    return "a string";
  case CB_ARG_NULL:
    return "None";
  default:
    return "a JSON object or list";
  }
}

static int expected(const char *source, const cb_arg *a, const char *what, nnc_status *st) {
  if (a->type == CB_ARG_STRING)
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: expected %s, got '%s'", source, a->path, what,
                    a->str);
  return nnc_fail(st, NNC_ERR_ARG, "%s: %s: expected %s, got %s", source, a->path, what,
                  type_name(a->type));
}

int cb_arg_number(const char *source, const cb_arg *a, double *out, nnc_status *st) {
  if (a->type != CB_ARG_NUMBER || !isfinite(a->num)) return expected(source, a, "a number", st);
  *out = a->num;
  return NNC_OK;
}

int cb_arg_int(const char *source, const cb_arg *a, int64_t *out, nnc_status *st) {
  if (a->type != CB_ARG_NUMBER || !(fabs(a->num) < 9e15) || a->num != floor(a->num))
    return expected(source, a, "an integer", st);
  *out = (int64_t)a->num;
  return NNC_OK;
}

int cb_arg_bool(const char *source, const cb_arg *a, int *out, nnc_status *st) {
  if (a->type != CB_ARG_BOOL) return expected(source, a, "true or false", st);
  *out = a->num != 0;
  return NNC_OK;
}

int cb_arg_string(const char *source, const cb_arg *a, const char **out, nnc_status *st) {
  if (a->type != CB_ARG_STRING) return expected(source, a, "a string", st);
  *out = a->str;
  return NNC_OK;
}

char *cb_strdup(const char *s, nnc_status *st) {
  size_t n = strlen(s) + 1;
  char *copy = nnc_calloc(n, 1, st);
  if (copy) memcpy(copy, s, n);
  return copy;
}

int cb_arg_unknown(const char *source, const char *class_name, const cb_arg *a, const char *known,
                   nnc_status *st) {
  return nnc_fail(st, NNC_ERR_ARG, "%s: %s: unknown argument of %s (known: %s)", source, a->path,
                  class_name, known);
}

/* ---- the list of one fit ---- */
int cb_list_add(cb_list *l, nnc_callback *cb, int owned, nnc_status *st) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 8;
    nnc_callback **bigger = nnc_realloc_array(l->cb, (size_t)cap, sizeof *bigger, st);
    if (!bigger) {
      if (owned) nnc_callback_free(cb);
      return st->code;
    }
    l->cb = bigger;
    char *o = nnc_realloc_array(l->owned, (size_t)cap, sizeof *o, st);
    if (!o) {
      if (owned) nnc_callback_free(cb);
      return st->code;
    }
    l->owned = o;
    l->cap = cap;
  }
  l->cb[l->n] = cb;
  l->owned[l->n++] = (char)owned;
  return NNC_OK;
}

static nnc_callback_hook hook_of(const nnc_callback *c, cb_event e) {
  switch (e) {
  case CB_TRAIN_BEGIN:
    return c->on_train_begin;
  case CB_TRAIN_END:
    return c->on_train_end;
  case CB_EPOCH_BEGIN:
    return c->on_epoch_begin;
  case CB_EPOCH_END:
    return c->on_epoch_end;
  case CB_BATCH_BEGIN:
    return c->on_batch_begin;
  default:
    return c->on_batch_end;
  }
}

static const char *const event_names[] = {"on_train_begin", "on_train_end",   "on_epoch_begin",
                                          "on_epoch_end",   "on_batch_begin", "on_batch_end"};

int cb_list_run(cb_list *l, cb_event e, nnc_model *m, int index, nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < l->n; i++) {
    nnc_callback_hook h = hook_of(l->cb[i], e);
    if (!h) continue;
    nnc_status_ok(st);
    int rc = h(l->cb[i], m, index, logs, st);
    if (rc == NNC_OK) continue;
    const char *name = l->cb[i]->name ? l->cb[i]->name : "callback";
    if ((int)st->code != rc || !st->message[0]) /* a hook that returned a code without a message */
      return nnc_fail(st, (nnc_code)rc, "%s.%s(%d) failed with code %d", name, event_names[e],
                      index, rc);
    if (strncmp(st->message, name, strlen(name))) /* name the hook once */
      nnc_fail_prefix(st, "%s.%s(%d)", name, event_names[e], index);
    return rc;
  }
  return NNC_OK;
}

int cb_list_has(const cb_list *l, cb_event e) {
  for (int i = 0; i < l->n; i++)
    if (hook_of(l->cb[i], e)) return 1;
  return 0;
}

void cb_list_free(cb_list *l) {
  for (int i = 0; i < l->n; i++)
    if (l->owned[i]) nnc_callback_free(l->cb[i]);
  free(l->cb);
  free(l->owned);
  memset(l, 0, sizeof *l);
}
