/* ModelCheckpoint (keras/src/callbacks/model_checkpoint.py, Keras 3): save
 * the weights (safetensors) after every epoch or every `save_freq` batches,
 * or only when the monitored value improves (save_best_only). Keras writes a
 * .keras model or .weights.h5; nnc writes FILE.safetensors (the weights) and,
 * unless save_weights_only, FILE.optimizer.safetensors (the optimizer state,
 * as nnc_model_save_optimizer_state): docs/semantics.md ("Callbacks"). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/format_path.h"
#include "runtime/callbacks/monitor.h"

static const char ext[] = ".safetensors";

typedef struct checkpoint {
  cb_monitor mon;
  char *filepath, *source;
  char *optimizer_filepath; /* filepath's FILE.optimizer.safetensors (a template too) */
  char filepath_path[256];  /* the argument's path, for messages */
  int verbose, save_best_only, save_weights_only;
  int save_freq;                                    /* 0: "epoch" */
  int batches_seen, last_batch_seen, current_epoch; /* last_batch_seen -1: None */
} checkpoint;

/* os.makedirs(dirname) as Keras does before saving */
static int make_dirs(const char *file, nnc_status *st) {
  char *dir = nnc_calloc(strlen(file) + 1, 1, st);
  if (!dir) return st->code;
  memcpy(dir, file, strlen(file) + 1);
  char *slash = strrchr(dir, '/');
  int rc = NNC_OK;
  if (slash && slash != dir) {
    *slash = '\0';
    for (char *p = dir + 1; !rc; p++) {
      if (*p != '/' && *p) continue;
      char keep = *p;
      *p = '\0';
      if (mkdir(dir, 0777) && errno != EEXIST) {
        char brief[NNC_PATH_BRIEF + 1];
        int err = errno;
        rc = nnc_fail(st, NNC_ERR_WRITE, "%s: cannot create the folder: %s",
                      nnc_path_brief(dir, NNC_PATH_BRIEF, brief), strerror(err));
      }
      *p = keep;
      if (!keep) break;
    }
  }
  free(dir);
  return rc;
}

/* FILE.safetensors -> FILE.optimizer.safetensors (malloc'ed) */
static char *optimizer_path(const char *path, nnc_status *st) {
  size_t stem = strlen(path) - (sizeof ext - 1);
  char *opt = nnc_calloc(stem + sizeof ".optimizer" + sizeof ext, 1, st);
  if (!opt) return NULL;
  memcpy(opt, path, stem);
  memcpy(opt + stem, ".optimizer", sizeof ".optimizer" - 1);
  memcpy(opt + stem + sizeof ".optimizer" - 1, ext, sizeof ext);
  return opt;
}

static int write_checkpoint(const checkpoint *s, const nnc_model *m, const char *path,
                            nnc_status *st) {
  if (make_dirs(path, st) || nnc_model_save_weights(m, path, st)) return st->code;
  if (s->save_weights_only) return NNC_OK;
  char *opt = optimizer_path(path, st);
  if (!opt) return st->code;
  int rc = nnc_model_save_optimizer_state(m, opt, st);
  free(opt);
  return rc;
}

/* _should_save_model: save_best_only saves on an improvement only; a missing
 * monitored value warns and saves anyway. */
static int should_save(checkpoint *s, nnc_model *m, int epoch, const nnc_logs *logs,
                       const char *path, int *save, nnc_status *st) {
  *save = 1;
  if (!s->save_best_only) {
    if (s->verbose > 0) cb_print(m, "\nEpoch %d: saving model to %s", epoch + 1, path);
    return NNC_OK;
  }
  double current;
  if (!cb_monitor_value(&s->mon, logs, &current))
    return model_warn(m, st, "Can save best model only with %s available.", s->mon.monitor);
  char best[64] = "None";
  if (s->mon.has_best) snprintf(best, sizeof best, "%.5f", s->mon.best);
  if (cb_is_improvement(&s->mon, current, !s->mon.has_best, s->mon.best)) {
    if (s->verbose > 0)
      cb_print(m, "\nEpoch %d: %s improved from %s to %.5f, saving model to %s", epoch + 1,
               s->mon.monitor, best, current, path);
    s->mon.best = current;
    s->mon.has_best = 1;
    return NNC_OK;
  }
  if (s->verbose > 0)
    cb_print(m, "\nEpoch %d: %s did not improve from %s", epoch + 1, s->mon.monitor, best);
  *save = 0;
  return NNC_OK;
}

static int save_model(checkpoint *s, nnc_model *m, int epoch, int batch, const nnc_logs *logs,
                      nnc_status *st) {
  char why[1200], *path;
  /* Keras: format(epoch=epoch + 1, **logs), plus batch=batch + 1 mid-epoch */
  if (cb_format_path(s->filepath, epoch + 1, batch < 0 ? -1 : batch + 1, logs, &path, why,
                     sizeof why)) {
    char b1[NNC_PATH_BRIEF + 1], b2[NNC_PATH_BRIEF + 1]; /* a 5 KB template must not hide why */
    return nnc_fail(st, NNC_ERR_ARG, "%s: %s: ModelCheckpoint cannot format \"%s\": %s",
                    nnc_path_brief(s->source, 120, b1), s->filepath_path,
                    nnc_path_brief(s->filepath, 240, b2), why);
  }
  int save = 0, rc = should_save(s, m, epoch, logs, path, &save, st);
  if (!rc && save) {
    rc = write_checkpoint(s, m, path, st);
    if (!rc && s->verbose > 0)
      cb_print(m, "\nEpoch %d: finished saving model to %s", epoch + 1, path);
  }
  free(path);
  return rc;
}

static int on_epoch_begin(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                          nnc_status *st) {
  (void)m, (void)logs, (void)st;
  ((checkpoint *)cb->user)->current_epoch = epoch;
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  checkpoint *s = cb->user;
  if (!s->mon.op && cb_monitor_set_op(&s->mon, m, "ModelCheckpoint", st)) return st->code;
  return s->save_freq ? NNC_OK : save_model(s, m, epoch, -1, logs, st);
}

/* _should_save_on_batch: batches counted across epochs (a batch index not
 * above the last one seen starts a new epoch) */
static int on_batch_end(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs, nnc_status *st) {
  checkpoint *s = cb->user;
  if (!s->save_freq) return NNC_OK;
  int add = s->last_batch_seen < 0 || batch <= s->last_batch_seen ? batch + 1
                                                                  : batch - s->last_batch_seen;
  s->batches_seen += add;
  s->last_batch_seen = batch;
  if (s->batches_seen < s->save_freq) return NNC_OK;
  s->batches_seen = 0;
  /* Keras sets the monitor op at epoch ends only: before the first one a
   * batch-level save_best_only compares with an op not set yet. nnc sets it
   * here too (the same direction Keras would take at the epoch end). */
  if (!s->mon.op && cb_monitor_set_op(&s->mon, m, "ModelCheckpoint", st)) return st->code;
  return save_model(s, m, s->current_epoch, batch, logs, st);
}

static void release(nnc_callback *cb) {
  checkpoint *s = cb->user;
  if (!s) return;
  cb_monitor_free(&s->mon);
  free(s->filepath);
  free(s->optimizer_filepath);
  free(s->source);
  free(s);
  cb->user = NULL;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  checkpoint *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "ModelCheckpoint";
  out->user = s;
  out->free = release;
  out->on_epoch_begin = on_epoch_begin;
  out->on_epoch_end = on_epoch_end;
  s->last_batch_seen = -1;
  s->mon.best = NAN;
  char *mode = NULL;
  const cb_arg *filepath = NULL, *save_freq = NULL;
  double threshold = NAN;
  const cb_param params[] = {
      {"filepath", CB_P_ARG, &filepath},
      {"monitor", CB_P_STRING, &s->mon.monitor},
      {"verbose", CB_P_INT, &s->verbose},
      {"save_best_only", CB_P_BOOL, &s->save_best_only},
      {"save_weights_only", CB_P_BOOL, &s->save_weights_only},
      {"mode", CB_P_STRING, &mode},
      {"save_freq", CB_P_ARG, &save_freq},
      {"initial_value_threshold", CB_P_NUMBER_OR_NULL, &threshold},
  };
  const char *src = source ? source : "<callback>";
  int rc = cb_args_bind(source, "ModelCheckpoint", args, n_args, params,
                        (int)(sizeof params / sizeof *params), st);
  rc = cb_monitor_finish(&s->mon, rc, source, args, n_args, &mode, 0, st);
  if (!rc && !filepath)
    rc = nnc_fail(st, NNC_ERR_ARG, "%s: ModelCheckpoint: missing argument 'filepath'", src);
  if (!rc && filepath->type != CB_ARG_STRING)
    rc = cb_arg_fail(source, filepath, st, "expected a file name (a string)");
  if (!rc) {
    size_t n = strlen(filepath->str);
    if (n <= sizeof ext - 1 || strcmp(filepath->str + n - (sizeof ext - 1), ext))
      rc = cb_arg_fail(source, filepath, st,
                       "expected a file name ending in .safetensors, got \"%s\" (nnc saves "
                       "weights as safetensors, not Keras's .keras or .weights.h5)",
                       filepath->str);
  }
  if (!rc) { /* Keras formats at the first save, after an epoch: check what can be now */
    char why[600];
    if (cb_format_check(filepath->str, why, sizeof why))
      rc = cb_arg_fail(source, filepath, st, "expected a file name template str.format takes: %s",
                       why);
  }
  if (!rc && save_freq) {
    if (save_freq->type == CB_ARG_STRING && !strcmp(save_freq->str, "epoch"))
      s->save_freq = 0;
    else if (save_freq->type == CB_ARG_NUMBER && save_freq->num == floor(save_freq->num) &&
             save_freq->num >= 1 && save_freq->num <= 1e9)
      s->save_freq = (int)save_freq->num;
    else
      rc = cb_arg_fail(source, save_freq, st,
                       "expected \"epoch\" or a positive integer (batches between saves)");
  }
  /* a batch hook only for batch-level saves: with one, fit builds the running
   * logs after every batch */
  if (!rc && s->save_freq) out->on_batch_end = on_batch_end;
  if (!rc && !isnan(threshold)) { /* the initial best (MonitorCallback's baseline) */
    s->mon.best = threshold;
    s->mon.has_best = 1;
  }
  if (!rc) {
    s->filepath = cb_strdup(filepath->str, st);
    s->source = cb_strdup(src, st);
    s->optimizer_filepath = optimizer_path(filepath->str, st);
    if (!s->filepath || !s->source || !s->optimizer_filepath)
      rc = st->code;
    else
      nnc_strlcpy(s->filepath_path, filepath->path, sizeof s->filepath_path);
  }
  if (rc) release(out);
  return rc;
}

const cb_class cb_model_checkpoint = {"ModelCheckpoint", create};

int cb_model_checkpoint_files(const nnc_callback *cb, cb_written out[CB_MAX_WRITTEN]) {
  if (!cb || cb->free != release || !cb->user) return 0;
  const checkpoint *s = cb->user;
  int fields = strchr(s->filepath, '{') != NULL; /* the CLI reads "{{" as a brace */
  out[0] = (cb_written){"filepath", s->filepath, fields};
  if (s->save_weights_only) return 1;
  out[1] = (cb_written){"filepath", s->optimizer_filepath, fields};
  return 2;
}
