/* Keras's CSVLogger(filename, separator=",", append=False)
 * (keras/src/callbacks/csv_logger.py): one row per epoch, written and
 * flushed at on_epoch_end as Keras does (no temp file: a crash keeps the
 * rows so far, and append mode must keep earlier rows). The columns are
 * "epoch" (0-based) and the first epoch's log keys sorted; when that epoch
 * had no val_ keys, val_ copies of every key follow (Keras's rule), and a
 * missing value is NA. Python's csv "excel" dialect: rows end in \r\n, a
 * field holding the separator, a quote or a line break is quoted. Numbers
 * are Python's str() of the float. append=True writes no header when the
 * file already has a first line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/callbacks/callbacks.h"
#include "runtime/epoch.h"
#include "runtime/pyfloat.h"

typedef struct csv_logger {
  char *filename;
  char sep;
  int append;
  FILE *f;
  int append_header;
  int n_keys; /* -1: not known yet (the first epoch sets them) */
  char (*keys)[NNC_LOG_NAME];
} csv_logger;

static int write_failed(const csv_logger *c, nnc_status *st) {
  char brief[NNC_PATH_BRIEF + 1];
  int err = errno;
  return nnc_fail(st, NNC_ERR_WRITE, "CSVLogger: %s: cannot write: %s",
                  nnc_path_brief(c->filename, NNC_PATH_BRIEF, brief), strerror(err));
}

/* One field, quoted as Python's csv.QUOTE_MINIMAL does. */
static void put_field(FILE *f, const char *s, char sep) {
  if (!strchr(s, sep) && !strchr(s, '"') && !strchr(s, '\r') && !strchr(s, '\n')) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static int csv_train_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                           nnc_status *st) {
  (void)m;
  (void)index;
  (void)logs;
  csv_logger *c = cb->user;
  c->append_header = 1;
  if (c->append) { /* Keras: a header only when the file is new or its first line empty */
    FILE *old = fopen(c->filename, "rb");
    if (old) {
      c->append_header = fgetc(old) == EOF;
      fclose(old);
    }
  }
  if (c->f) fclose(c->f);
  c->f = fopen(c->filename, c->append ? "ab" : "wb");
  if (!c->f) return write_failed(c, st);
  c->n_keys = -1;
  return NNC_OK;
}

static int is_val(const char *k) {
  return !strncmp(k, "val_", 4);
}

static int set_keys(csv_logger *c, const nnc_logs *logs, nnc_status *st) {
  int n = logs->n, any_val = 0;
  for (int i = 0; i < n; i++) any_val |= is_val(logs->names[i]);
  int total = any_val || n == 0 ? n : 2 * n;
  free(c->keys);
  c->keys = nnc_calloc((size_t)total + 1, sizeof *c->keys, st);
  if (!c->keys) return st->code;
  for (int i = 0; i < n; i++) memcpy(c->keys[i], logs->names[i], NNC_LOG_NAME);
  for (int i = 1; i < n; i++) /* sorted as Python's sorted(): by code point */
    for (int j = i; j > 0 && strcmp(c->keys[j - 1], c->keys[j]) > 0; j--) {
      char t[NNC_LOG_NAME];
      memcpy(t, c->keys[j], NNC_LOG_NAME);
      memcpy(c->keys[j], c->keys[j - 1], NNC_LOG_NAME);
      memcpy(c->keys[j - 1], t, NNC_LOG_NAME);
    }
  for (int i = n; i < total; i++) {
    char name[NNC_LOG_NAME];
    memcpy(name, c->keys[i - n], NNC_LOG_NAME);
    snprintf(c->keys[i], NNC_LOG_NAME, "val_%.*s", NNC_LOG_NAME - 5, name);
  }
  c->n_keys = total;
  return NNC_OK;
}

static int csv_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                         nnc_status *st) {
  (void)m;
  csv_logger *c = cb->user;
  if (!c->f) return nnc_fail(st, NNC_ERR_INTERNAL, "CSVLogger: on_epoch_end before on_train_begin");
  char sep[2] = {c->sep, '\0'};
  if (c->n_keys < 0) {
    if (set_keys(c, logs, st)) return st->code;
    if (c->append_header) {
      put_field(c->f, "epoch", c->sep);
      for (int i = 0; i < c->n_keys; i++) {
        fputs(sep, c->f);
        put_field(c->f, c->keys[i], c->sep);
      }
      fputs("\r\n", c->f);
    }
  }
  fprintf(c->f, "%d", epoch);
  for (int i = 0; i < c->n_keys; i++) {
    char v[40] = "NA";
    for (int j = 0; j < logs->n; j++)
      if (!strcmp(logs->names[j], c->keys[i])) py_float_repr(logs->values[j], v, sizeof v);
    fputs(sep, c->f);
    put_field(c->f, v, c->sep);
  }
  fputs("\r\n", c->f);
  if (fflush(c->f) || ferror(c->f)) return write_failed(c, st);
  return NNC_OK;
}

static int csv_train_end(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                         nnc_status *st) {
  (void)m;
  (void)index;
  (void)logs;
  csv_logger *c = cb->user;
  if (!c->f) return NNC_OK;
  int bad = fclose(c->f);
  c->f = NULL;
  return bad ? write_failed(c, st) : NNC_OK;
}

static void csv_free(nnc_callback *cb) {
  csv_logger *c = cb->user;
  if (!c) return;
  if (c->f) fclose(c->f);
  free(c->filename);
  free(c->keys);
  free(c);
}

static int csv_create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                      nnc_status *st) {
  csv_logger *c = nnc_calloc(1, sizeof *c, st);
  if (!c) return st->code;
  out->user = c;
  out->free = csv_free;
  c->sep = ',';
  c->n_keys = -1;
  const char *filename = NULL;
  for (int i = 0; i < n_args; i++) {
    const cb_arg *a = &args[i];
    const char *s;
    if (!strcmp(a->key, "filename")) {
      if (cb_arg_string(source, a, &filename, st)) return st->code;
    } else if (!strcmp(a->key, "separator")) {
      if (cb_arg_string(source, a, &s, st)) return st->code;
      if (strlen(s) != 1 || s[0] == '"' || s[0] == '\r' || s[0] == '\n')
        return nnc_fail(st, NNC_ERR_ARG,
                        "%s: %s: expected one character (not a quote or a line break), got '%s'",
                        source, a->path, s);
      c->sep = s[0];
    } else if (!strcmp(a->key, "append")) {
      if (cb_arg_bool(source, a, &c->append, st)) return st->code;
    } else {
      return cb_arg_unknown(source, "CSVLogger", a, "filename, separator, append", st);
    }
  }
  if (!filename || !filename[0])
    return nnc_fail(st, NNC_ERR_ARG, "%s: filename: CSVLogger needs a file name (filename=...)",
                    source);
  if (!(c->filename = cb_strdup(filename, st))) return st->code;
  out->on_train_begin = csv_train_begin;
  out->on_epoch_end = csv_epoch_end;
  out->on_train_end = csv_train_end;
  return NNC_OK;
}

const cb_class cb_csv_logger = {"CSVLogger", csv_create};

const char *cb_csv_logger_file(const nnc_callback *cb) {
  return cb && cb->free == csv_free && cb->user ? ((const csv_logger *)cb->user)->filename : NULL;
}
