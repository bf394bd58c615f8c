/* BackupAndRestore (keras/src/callbacks/backup_and_restore.py, Keras 3):
 * back the training state up after every epoch (or every `save_freq`
 * batches) into backup_dir; a fit that starts with a backup there resumes
 * from it. nnc's backup is one file, backup_dir/latest.safetensors, written
 * atomically (a SIGKILL leaves the previous backup or the new one, never a
 * mix), holding
 *   params, slots         every model variable and optimizer slot (float32)
 *   iterations, learning_rate, epoch, batch
 *   history_epochs, history/<i>/<key>   the History so far
 * so the resumed fit's weights, optimizer and History continue exactly where
 * the backup was taken. Keras keeps the weights (with the optimizer) and a
 * training_metadata.json apart, and its resumed History holds only the
 * resumed epochs; nnc's holds the whole run (docs/semantics.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/monitor.h"
#include "runtime/epoch.h"
#include "runtime/io/io.h"

typedef struct backup {
  char *dir, *latest, *previous, *source;
  int save_freq; /* 0: "epoch" */
  int double_checkpoint, delete_checkpoint;
  int batches_seen, last_batch_seen, current_epoch;
  nnc_history history; /* the run's epochs so far (restored + this fit's) */
  nnc_history prefix;  /* what m->history_prefix points at: the restored epochs */
} backup;

static int join(const char *dir, const char *name, char **out, nnc_status *st) {
  size_t n = strlen(dir) + strlen(name) + 2;
  if (!(*out = nnc_calloc(n, 1, st))) return st->code;
  snprintf(*out, n, "%s/%s", dir, name);
  return NNC_OK;
}

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static int copy_history(nnc_history *dst, const nnc_history *src, nnc_status *st) {
  nnc_history_free(dst);
  if (!src->n_keys && !src->n_epochs) return NNC_OK;
  dst->keys = nnc_calloc((size_t)src->n_keys + 1, sizeof *dst->keys, st);
  dst->values =
      nnc_calloc((size_t)src->n_keys * (size_t)src->n_epochs + 1, sizeof *dst->values, st);
  dst->epochs = nnc_calloc((size_t)src->n_epochs + 1, sizeof *dst->epochs, st);
  if (!dst->keys || !dst->values || !dst->epochs) {
    nnc_history_free(dst);
    return st->code;
  }
  memcpy(dst->keys, src->keys, (size_t)src->n_keys * sizeof *dst->keys);
  memcpy(dst->values, src->values,
         (size_t)src->n_keys * (size_t)src->n_epochs * sizeof *dst->values);
  memcpy(dst->epochs, src->epochs, (size_t)src->n_epochs * sizeof *dst->epochs);
  dst->n_keys = src->n_keys;
  dst->n_epochs = src->n_epochs;
  return NNC_OK;
}

static nnc_array vec(nnc_dtype dtype, int64_t n, void *data) {
  nnc_array a = {dtype, 1, {n}, data, NULL};
  return a;
}

/* The backup keeps the weights (slots = 0) or the optimizer slots (1) one
 * variable after the other, without the padding that puts each on a cache
 * line in the model's regions: the file is the same whatever the layout
 * (and a backup written before session 23's layout still restores). */
static int in_slots(const nnc_variable *v) {
  return v->kind == NNC_VAR_SLOT;
}

static int64_t packed_count(const nnc_program_table *t, int slots) {
  int64_t n = 0;
  for (int i = 0; i < t->n_variables; i++)
    if (in_slots(&t->variables[i]) == slots) n += t->variables[i].count;
  return n;
}

/* The packed copy (freed by the caller) and its length in *n. */
static float *pack(const nnc_model *m, int slots, int64_t *n, nnc_status *st) {
  const nnc_program_table *t = m->t;
  *n = packed_count(t, slots);
  float *out = nnc_calloc((size_t)*n + 1, sizeof *out, st), *at = out;
  const float *region = slots ? m->slots : m->params;
  for (int i = 0; out && i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (in_slots(v) != slots) continue;
    memcpy(at, region + v->offset, (size_t)v->count * sizeof *at);
    at += v->count;
  }
  return out;
}

static void unpack(nnc_model *m, int slots, const float *in) {
  const nnc_program_table *t = m->t;
  float *region = slots ? m->slots : m->params;
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (in_slots(v) != slots) continue;
    memcpy(region + v->offset, in, (size_t)v->count * sizeof *in);
    in += v->count;
  }
}

static int save(backup *s, const nnc_model *m, nnc_status *st) {
  if (mkdir(s->dir, 0777) && errno != EEXIST) {
    char brief[NNC_PATH_BRIEF + 1];
    int err = errno;
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot create the backup folder: %s",
                    nnc_path_brief(s->dir, NNC_PATH_BRIEF, brief), strerror(err));
  }
  if (s->double_checkpoint && exists(s->latest) && rename(s->latest, s->previous))
    return nnc_fail(st, NNC_ERR_WRITE, "%s: cannot keep the previous backup as %s: %s", s->latest,
                    s->previous, strerror(errno));
  nnc_tensor_set set = {0};
  int64_t iterations = m->iterations, epoch = s->current_epoch, batch = s->last_batch_seen;
  double lr = m->learning_rate;
  int64_t n_params, n_slots;
  float *params = pack(m, 0, &n_params, st), *slots = params ? pack(m, 1, &n_slots, st) : NULL;
  if (!slots) {
    free(params);
    return st->code;
  }
  nnc_array a[] = {vec(NNC_F32, n_params, params),
                   vec(NNC_F32, n_slots, slots),
                   vec(NNC_I64, 1, &iterations),
                   vec(NNC_F64, 1, &lr),
                   vec(NNC_I64, 1, &epoch),
                   vec(NNC_I64, 1, &batch),
                   vec(NNC_I32, s->history.n_epochs, s->history.epochs)};
  const char *names[] = {"params", "slots", "iterations",    "learning_rate",
                         "epoch",  "batch", "history_epochs"};
  int rc = NNC_OK;
  for (int i = 0; !rc && i < 7; i++) rc = nnc_tensor_set_add(&set, names[i], &a[i], st);
  free(params); /* the set holds copies */
  free(slots);
  for (int k = 0; !rc && k < s->history.n_keys; k++) {
    char name[256];
    snprintf(name, sizeof name, "history/%d/%s", k, s->history.keys[k]);
    nnc_array h = vec(NNC_F64, s->history.n_epochs,
                      s->history.values + (size_t)k * (size_t)s->history.n_epochs);
    rc = nnc_tensor_set_add(&set, name, &h, st);
  }
  if (!rc) rc = nnc_safetensors_write(s->latest, &set, st);
  nnc_tensor_set_free(&set);
  return rc;
}

/* The array `name` of set with `count` elements of dtype, or NULL (st says why). */
static const nnc_array *item(const nnc_tensor_set *set, const char *file, const char *name,
                             nnc_dtype dtype, int64_t count, nnc_status *st) {
  const nnc_array *a = nnc_tensor_set_find(set, name);
  if (!a || a->dtype != dtype || a->rank != 1 || (count >= 0 && a->shape[0] != count)) {
    const char *type = dtype == NNC_F32   ? "float32"
                       : dtype == NNC_F64 ? "float64"
                       : dtype == NNC_I64 ? "int64"
                                          : "int32"; /* the four save() writes */
    if (count >= 0)
      nnc_fail(st, NNC_ERR_ARG,
               "%s: not a backup of this model: expected '%s' with %lld %s value(s)", file, name,
               (long long)count, type);
    else
      nnc_fail(st, NNC_ERR_ARG, "%s: not a backup nnc wrote: expected '%s' of %s values", file,
               name, type);
    return NULL;
  }
  return a;
}

static int restore_history(backup *s, const nnc_tensor_set *set, const char *file, nnc_status *st) {
  const nnc_array *ep = item(set, file, "history_epochs", NNC_I32, -1, st);
  if (!ep) return st->code;
  int n = (int)ep->shape[0], n_keys = 0;
  for (int i = 0; i < set->n; i++) n_keys += !strncmp(set->items[i].name, "history/", 8);
  nnc_history *h = &s->history;
  nnc_history_free(h);
  h->keys = nnc_calloc((size_t)n_keys + 1, sizeof *h->keys, st);
  h->values = nnc_calloc((size_t)n_keys * (size_t)n + 1, sizeof *h->values, st);
  h->epochs = nnc_calloc((size_t)n + 1, sizeof *h->epochs, st);
  if (!h->keys || !h->values || !h->epochs) return st->code;
  if (n) memcpy(h->epochs, ep->data, (size_t)n * sizeof *h->epochs);
  h->n_epochs = n;
  h->n_keys = n_keys;
  for (int i = 0; i < set->n; i++) {
    const char *name = set->items[i].name;
    char *slash;
    long k = strncmp(name, "history/", 8) ? -1 : strtol(name + 8, &slash, 10);
    if (k < 0) continue;
    if (k >= n_keys || *slash != '/' || strlen(slash + 1) >= NNC_LOG_NAME ||
        !item(set, file, name, NNC_F64, n, st))
      return nnc_fail(st, NNC_ERR_ARG, "%s: not a backup nnc wrote: tensor '%s'", file, name);
    nnc_strlcpy(h->keys[k], slash + 1, NNC_LOG_NAME);
    if (n) memcpy(h->values + (size_t)k * (size_t)n, set->items[i].array.data, n * sizeof(double));
  }
  return NNC_OK;
}

/* A tensor save() never writes: the file is not a backup of this kind. */
static int check_names(const nnc_tensor_set *set, const char *file, nnc_status *st) {
  static const char *const known[] = {"params", "slots", "iterations",    "learning_rate",
                                      "epoch",  "batch", "history_epochs"};
  for (int i = 0; i < set->n; i++) {
    const char *name = set->items[i].name;
    int ok = !strncmp(name, "history/", 8);
    for (size_t k = 0; !ok && k < sizeof known / sizeof *known; k++) ok = !strcmp(name, known[k]);
    if (!ok)
      return nnc_fail(st, NNC_ERR_ARG, "%s: not a backup nnc wrote: tensor '%s'", file, name);
  }
  return NNC_OK;
}

static int restore_from(backup *s, nnc_model *m, const char *file, nnc_status *st) {
  nnc_tensor_set set = {0};
  if (nnc_safetensors_read(file, &set, st)) return st->code;
  if (check_names(&set, file, st)) {
    nnc_tensor_set_free(&set);
    return st->code;
  }
  const nnc_program_table *t = m->t;
  const nnc_array *params = item(&set, file, "params", NNC_F32, packed_count(t, 0), st);
  const nnc_array *slots =
      params ? item(&set, file, "slots", NNC_F32, packed_count(t, 1), st) : NULL;
  const nnc_array *it = slots ? item(&set, file, "iterations", NNC_I64, 1, st) : NULL;
  const nnc_array *lr = it ? item(&set, file, "learning_rate", NNC_F64, 1, st) : NULL;
  const nnc_array *epoch = lr ? item(&set, file, "epoch", NNC_I64, 1, st) : NULL;
  int rc = epoch ? restore_history(s, &set, file, st) : (int)st->code;
  if (!rc) {
    unpack(m, 0, params->data);
    unpack(m, 1, slots->data);
    m->iterations = *(const int64_t *)it->data;
    m->learning_rate = *(const double *)lr->data;
    m->weights_changed = 1;
    int64_t e = *(const int64_t *)epoch->data;
    /* Keras: model._initial_epoch = epoch, and fit takes `_initial_epoch or
     * initial_epoch`: a backup at epoch 0 leaves initial_epoch alone */
    if (e > 0) m->resume_epoch = (int)e;
    s->current_epoch = (int)e;
    rc = copy_history(&s->prefix, &s->history, st);
    if (!rc && s->prefix.n_epochs) m->history_prefix = &s->prefix;
  }
  nnc_tensor_set_free(&set);
  return rc;
}

static int on_train_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                          nnc_status *st) {
  (void)index, (void)logs;
  backup *s = cb->user;
  nnc_history_free(&s->history);
  nnc_history_free(&s->prefix);
  if (m->history_prefix == &s->prefix) m->history_prefix = NULL;
  s->batches_seen = 0;
  s->last_batch_seen = 0;
  s->current_epoch = 0;
  if (!m->built || !m->t)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: BackupAndRestore: the model must be built before fit (Keras: \"To use "
                    "the BackupAndRestore callback, you model must be built\")",
                    s->source);
  if (exists(s->latest)) {
    if (!restore_from(s, m, s->latest, st)) return NNC_OK;
    /* damaged: the previous backup, as Keras falls back to its .bkp */
    if (!exists(s->previous)) return st->code;
    char first[sizeof st->message];
    nnc_strlcpy(first, st->message, sizeof first);
    if (restore_from(s, m, s->previous, st))
      return nnc_fail_prefix(st, "%s; and the previous backup", first);
    return NNC_OK;
  }
  /* a kill between keeping the previous backup and writing the new one */
  if (s->double_checkpoint && exists(s->previous)) return restore_from(s, m, s->previous, st);
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  backup *s = cb->user;
  s->current_epoch = epoch + 1;
  s->last_batch_seen = 0;
  /* the History's row of this epoch, keys in the order fit's History keeps
   * (the logs' order at the first epoch) */
  int rc = history_append(&s->history, epoch, logs, st);
  if (!rc && !s->save_freq) rc = save(s, m, st);
  return rc;
}

/* _should_save_on_batch: a batch index not above the last one starts a new epoch */
static int on_batch_end(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs, nnc_status *st) {
  (void)logs;
  backup *s = cb->user;
  if (!s->save_freq) return NNC_OK;
  s->batches_seen += batch <= s->last_batch_seen ? batch + 1 : batch - s->last_batch_seen;
  s->last_batch_seen = batch;
  if (s->batches_seen < s->save_freq) return NNC_OK;
  s->batches_seen = 0;
  return save(s, m, st);
}

static int on_train_end(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs, nnc_status *st) {
  (void)index, (void)logs, (void)st;
  backup *s = cb->user;
  if (m->history_prefix == &s->prefix) m->history_prefix = NULL;
  if (!s->delete_checkpoint) return NNC_OK;
  /* Keras removes the whole backup_dir; nnc removes what it wrote, then the
   * folder if that leaves it empty */
  unlink(s->latest);
  unlink(s->previous);
  rmdir(s->dir);
  return NNC_OK;
}

static void release(nnc_callback *cb) {
  backup *s = cb->user;
  if (!s) return;
  free(s->dir);
  free(s->latest);
  free(s->previous);
  free(s->source);
  nnc_history_free(&s->history);
  nnc_history_free(&s->prefix);
  free(s);
  cb->user = NULL;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  backup *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "BackupAndRestore";
  out->user = s;
  out->free = release;
  out->on_train_begin = on_train_begin;
  out->on_epoch_end = on_epoch_end;
  out->on_train_end = on_train_end;
  s->delete_checkpoint = 1;
  const cb_arg *save_freq = NULL;
  const cb_param params[] = {
      {"backup_dir", CB_P_STRING, &s->dir},
      {"save_freq", CB_P_ARG, &save_freq},
      {"double_checkpoint", CB_P_BOOL, &s->double_checkpoint},
      {"delete_checkpoint", CB_P_BOOL, &s->delete_checkpoint},
  };
  const char *src = source ? source : "<callback>";
  int rc = cb_args_bind(source, "BackupAndRestore", args, n_args, params, 4, st);
  if (!rc && (!s->dir || !s->dir[0]))
    rc = nnc_fail(st, NNC_ERR_ARG, "%s: BackupAndRestore: expected a non-empty 'backup_dir'", src);
  if (!rc && save_freq) {
    if (save_freq->type == CB_ARG_STRING && !strcmp(save_freq->str, "epoch"))
      s->save_freq = 0;
    else if (save_freq->type == CB_ARG_NUMBER && save_freq->num == floor(save_freq->num) &&
             save_freq->num >= 1 && save_freq->num <= 1e9)
      s->save_freq = (int)save_freq->num;
    else
      rc = cb_arg_fail(source, save_freq, st,
                       "expected \"epoch\" or a positive integer (batches between backups)");
  }
  /* a batch hook only for batch-level backups: with one, fit builds the
   * running logs after every batch */
  if (!rc && s->save_freq) out->on_batch_end = on_batch_end;
  if (!rc) rc = join(s->dir, "latest.safetensors", &s->latest, st);
  if (!rc) rc = join(s->dir, "latest.safetensors.bkp", &s->previous, st);
  if (!rc && !(s->source = cb_strdup(src, st))) rc = st->code;
  if (rc) release(out);
  return rc;
}

const cb_class cb_backup_and_restore = {"BackupAndRestore", create};

int cb_backup_and_restore_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]) {
  if (!cb || cb->free != release || !cb->user) return 0;
  const backup *s = cb->user;
  out[0] = (cb_written){"backup_dir", s->latest, 0};
  out[1] = (cb_written){"backup_dir", s->previous, 0};
  return 2;
}
