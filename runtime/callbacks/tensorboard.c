/* TensorBoard (keras/src/callbacks/tensorboard.py, Keras 3): scalar summaries
 * in TensorBoard event files, as Keras writes them through TF2's summary
 * writer (docs/formats.md "TensorBoard event files"):
 *   log_dir/train/events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2
 *     epoch_<key> at step epoch (0-based) for every non-val_ key of the
 *     epoch logs, then epoch_learning_rate (the optimizer's, float32) and,
 *     with write_steps_per_second, epoch_steps_per_second;
 *     with update_freq N ("batch" is 1): batch_<key> of the running logs at
 *     step b (the batches since on_train_begin, from 1) when b % N == 0;
 *   log_dir/validation/... (created at the first validation)
 *     evaluation_<key>_vs_iterations at step optimizer.iterations, then
 *     epoch_<key> at step epoch, for every val_ key (prefix removed).
 * Files are flushed at every epoch end so a running TensorBoard sees them.
 * Keras (through tf.summary.record_if) drops the epoch summaries of an epoch
 * whose global batch count is not a multiple of an integer update_freq
 * (tensorflow/tensorflow#49109); nnc writes them every epoch.
 * Not written: the graph_keras_model summary of write_graph (the runtime has
 * no Keras config), histograms, images, profiles, embeddings (refused). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "runtime/callbacks/cb_args.h"
#include "runtime/callbacks/monitor.h"
#include "runtime/io/tb_event.h"
#include "runtime/io/tfrecord.h"
#include "runtime/model.h"

typedef struct tb_writer {
  char *path; /* the event file, once opened */
  FILE *f;
} tb_writer;

typedef struct tensorboard {
  char *log_dir;
  int update_freq; /* 0: "epoch" */
  int write_steps_per_second;
  int64_t global_batch;
  int64_t epoch_iterations; /* optimizer.iterations at on_epoch_begin */
  double epoch_start, batch_start;
  tb_writer train, val;
} tensorboard;

/* Files opened by this process (TF's file_id_counter): names stay unique
 * when several writers open in the same second. */
static int file_counter;

static double now_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6; /* micro-seconds, as TF */
}

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_failed(const char *path, int err, nnc_status *st) {
  char brief[NNC_PATH_BRIEF + 1];
  return nnc_fail(st, NNC_ERR_WRITE, "TensorBoard: %s: cannot write: %s",
                  nnc_path_brief(path, NNC_PATH_BRIEF, brief), strerror(err));
}

/* mkdir -p dir (os.makedirs(exist_ok=True), as TF's RecursivelyCreateDir) */
static int make_dirs(char *dir, nnc_status *st) {
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p) continue;
    char keep = *p;
    *p = '\0';
    int bad = mkdir(dir, 0777) && errno != EEXIST, err = errno;
    struct stat sb;
    if (!bad && keep == '\0' && (stat(dir, &sb) || !S_ISDIR(sb.st_mode))) {
      bad = 1;
      err = ENOTDIR;
    }
    if (bad) {
      char brief[NNC_PATH_BRIEF + 1];
      nnc_fail(st, NNC_ERR_WRITE, "TensorBoard: %s: cannot create the folder: %s",
               nnc_path_brief(dir, NNC_PATH_BRIEF, brief), strerror(err));
      *p = keep;
      return st->code;
    }
    *p = keep;
    if (!keep) return NNC_OK;
  }
}

static int writer_close(tb_writer *w, nnc_status *st) {
  int rc = NNC_OK;
  if (w->f) {
    int bad = fclose(w->f), err = errno;
    if (bad && st) rc = write_failed(w->path, err, st);
  }
  w->f = NULL;
  free(w->path);
  w->path = NULL;
  return rc;
}

static int write_event(tb_writer *w, const pb_buf *b, nnc_status *st) {
  if (tfrecord_write(w->f, b->data, b->n)) return write_failed(w->path, errno, st);
  return NNC_OK;
}

/* log_dir/<sub>/events.out.tfevents.<seconds>.<host>.<pid>.<n>.v2, created
 * (never an existing file), its first event the file version. */
static int writer_open(tensorboard *s, const char *sub, tb_writer *w, nnc_status *st) {
  writer_close(w, NULL);
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1)) nnc_strlcpy(host, "localhost", sizeof host);
  host[sizeof host - 1] = '\0';
  for (char *p = host; *p; p++)
    if (*p == '/') *p = '_';
  double wall = now_wall();
  long long seconds = (long long)wall;
  size_t n = strlen(s->log_dir) + strlen(sub) + strlen(host) + 96;
  char *dir = nnc_calloc(n, 1, st);
  if (!dir) return st->code;
  snprintf(dir, n, "%s/%s", s->log_dir, sub);
  int rc = make_dirs(dir, st);
  if (!rc && !(w->path = nnc_calloc(n, 1, st))) rc = st->code;
  if (rc) {
    free(dir);
    return rc;
  }
  snprintf(w->path, n, "%s/events.out.tfevents.%010lld.%s.%ld.%d.v2", dir, seconds, host,
           (long)getpid(), __atomic_fetch_add(&file_counter, 1, __ATOMIC_RELAXED));
  free(dir);
  int fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
    int err = errno;
    if (fd >= 0) close(fd);
    return write_failed(w->path, err, st);
  }
  pb_buf b;
  tb_event_file_version(&b, (double)seconds);
  if (write_event(w, &b, st)) return st->code;
  if (fflush(w->f)) return write_failed(w->path, errno, st);
  return NNC_OK;
}

static int scalar(tb_writer *w, const char *prefix, const char *name, const char *suffix,
                  int64_t step, double value, nnc_status *st) {
  char tag[TB_TAG_MAX + 1];
  snprintf(tag, sizeof tag, "%s%s%s", prefix, name, suffix);
  pb_buf b;
  if (tb_event_scalar(&b, now_wall(), step, tag, (float)value))
    return nnc_fail(st, NNC_ERR_INTERNAL, "TensorBoard: summary '%s' does not fit an event", tag);
  return write_event(w, &b, st);
}

static int on_train_begin(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs,
                          nnc_status *st) {
  (void)m, (void)index, (void)logs;
  tensorboard *s = cb->user;
  s->global_batch = 0;
  writer_close(&s->val, NULL); /* Keras resets its writers at every fit */
  return writer_open(s, "train", &s->train, st);
}

static int on_epoch_begin(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs,
                          nnc_status *st) {
  (void)epoch, (void)logs, (void)st;
  tensorboard *s = cb->user;
  s->epoch_iterations = m->iterations;
  s->epoch_start = now_mono();
  return NNC_OK;
}

static int on_batch_begin(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs,
                          nnc_status *st) {
  (void)m, (void)batch, (void)logs, (void)st;
  tensorboard *s = cb->user;
  s->batch_start = now_mono();
  return NNC_OK;
}

static int on_batch_end(nnc_callback *cb, nnc_model *m, int batch, nnc_logs *logs, nnc_status *st) {
  (void)m, (void)batch;
  tensorboard *s = cb->user;
  if (!s->train.f) return nnc_fail(st, NNC_ERR_INTERNAL, "TensorBoard: batch before train begin");
  s->global_batch++;
  if (s->global_batch % s->update_freq) return NNC_OK;
  if (s->write_steps_per_second) {
    double t = now_mono() - s->batch_start;
    if (scalar(&s->train, "batch_", "steps_per_second", "", s->global_batch, 1.0 / t, st))
      return st->code;
  }
  for (int i = 0; i < logs->n; i++)
    if (scalar(&s->train, "batch_", logs->names[i], "", s->global_batch, logs->values[i], st))
      return st->code;
  return NNC_OK;
}

static int flush(tb_writer *w, nnc_status *st) {
  if (w->f && (fflush(w->f) || ferror(w->f))) return write_failed(w->path, errno, st);
  return NNC_OK;
}

static int on_epoch_end(nnc_callback *cb, nnc_model *m, int epoch, nnc_logs *logs, nnc_status *st) {
  tensorboard *s = cb->user;
  if (!s->train.f) return nnc_fail(st, NNC_ERR_INTERNAL, "TensorBoard: epoch before train begin");
  int any_val = 0, has_lr = 0;
  for (int i = 0; i < logs->n; i++) any_val |= !strncmp(logs->names[i], "val_", 4);
  if (any_val) {
    if (!s->val.f && writer_open(s, "validation", &s->val, st)) return st->code;
    /* on_test_end's summaries (step: optimizer.iterations), then the epoch's */
    for (int i = 0; i < logs->n; i++)
      if (!strncmp(logs->names[i], "val_", 4) &&
          scalar(&s->val, "evaluation_", logs->names[i] + 4, "_vs_iterations", m->iterations,
                 logs->values[i], st))
        return st->code;
    for (int i = 0; i < logs->n; i++)
      if (!strncmp(logs->names[i], "val_", 4) &&
          scalar(&s->val, "epoch_", logs->names[i] + 4, "", epoch, logs->values[i], st))
        return st->code;
  }
  /* train_logs: the non-val keys, learning_rate set to the optimizer's */
  double lr = cb_learning_rate_f32(m);
  for (int i = 0; i < logs->n; i++) {
    if (!strncmp(logs->names[i], "val_", 4)) continue;
    int is_lr = !strcmp(logs->names[i], "learning_rate");
    has_lr |= is_lr;
    if (scalar(&s->train, "epoch_", logs->names[i], "", epoch, is_lr ? lr : logs->values[i], st))
      return st->code;
  }
  if (!has_lr && scalar(&s->train, "epoch_", "learning_rate", "", epoch, lr, st)) return st->code;
  if (s->write_steps_per_second) {
    double t = now_mono() - s->epoch_start;
    double sps = (double)(float)(m->iterations - s->epoch_iterations) / (double)(float)t;
    if (scalar(&s->train, "epoch_", "steps_per_second", "", epoch, sps, st)) return st->code;
  }
  if (flush(&s->train, st) || flush(&s->val, st)) return st->code;
  return NNC_OK;
}

static int on_train_end(nnc_callback *cb, nnc_model *m, int index, nnc_logs *logs, nnc_status *st) {
  (void)m, (void)index, (void)logs;
  tensorboard *s = cb->user;
  int rc = writer_close(&s->train, st);
  int rc2 = writer_close(&s->val, rc ? NULL : st);
  return rc ? rc : rc2;
}

static void release(nnc_callback *cb) {
  tensorboard *s = cb->user;
  if (!s) return;
  writer_close(&s->train, NULL);
  writer_close(&s->val, NULL);
  free(s->log_dir);
  free(s);
  cb->user = NULL;
}

/* histogram_freq, embeddings_freq: a non-negative integer; nnc writes none */
static int refuse_freq(const char *source, const cb_arg *a, const char *what, nnc_status *st) {
  if (!a) return NNC_OK;
  if (a->type != CB_ARG_NUMBER || !(a->num >= 0 && a->num <= 1e9) || a->num != floor(a->num))
    return cb_arg_fail(source, a, st, "expected a non-negative integer");
  if (a->num > 0)
    return cb_arg_fail(source, a, st, "nnc's TensorBoard writes no %s (expected 0)", what);
  return NNC_OK;
}

static int create(const char *source, const cb_arg *args, int n_args, nnc_callback *out,
                  nnc_status *st) {
  tensorboard *s = nnc_calloc(1, sizeof *s, st);
  if (!s) return st->code;
  out->name = "TensorBoard";
  out->user = s;
  out->free = release;
  out->on_train_begin = on_train_begin;
  out->on_epoch_begin = on_epoch_begin;
  out->on_epoch_end = on_epoch_end;
  out->on_train_end = on_train_end;
  const cb_arg *update_freq = NULL, *histogram_freq = NULL, *embeddings_freq = NULL,
               *profile_batch = NULL, *embeddings_metadata = NULL;
  int write_graph = 1, write_images = 0;
  const cb_param params[] = {
      {"log_dir", CB_P_STRING, &s->log_dir},
      {"histogram_freq", CB_P_ARG, &histogram_freq},
      {"write_graph", CB_P_BOOL, &write_graph},
      {"write_images", CB_P_BOOL, &write_images},
      {"write_steps_per_second", CB_P_BOOL, &s->write_steps_per_second},
      {"update_freq", CB_P_ARG, &update_freq},
      {"profile_batch", CB_P_ARG, &profile_batch},
      {"embeddings_freq", CB_P_ARG, &embeddings_freq},
      {"embeddings_metadata", CB_P_ARG, &embeddings_metadata},
  };
  int rc = cb_args_bind(source, "TensorBoard", args, n_args, params,
                        (int)(sizeof params / sizeof *params), st);
  if (!rc) rc = refuse_freq(source, histogram_freq, "weight histograms or images", st);
  if (!rc) rc = refuse_freq(source, embeddings_freq, "embeddings", st);
  if (!rc && profile_batch && !(profile_batch->type == CB_ARG_NUMBER && profile_batch->num == 0))
    rc = cb_arg_fail(source, profile_batch, st, "nnc's TensorBoard does not profile (expected 0)");
  if (!rc && embeddings_metadata && embeddings_metadata->type != CB_ARG_NULL)
    rc = cb_arg_fail(source, embeddings_metadata, st,
                     "nnc's TensorBoard writes no embeddings (expected None)");
  if (!rc && update_freq) {
    if (update_freq->type == CB_ARG_STRING && !strcmp(update_freq->str, "epoch"))
      s->update_freq = 0;
    else if (update_freq->type == CB_ARG_STRING && !strcmp(update_freq->str, "batch"))
      s->update_freq = 1;
    else if (update_freq->type == CB_ARG_NUMBER && update_freq->num >= 1 &&
             update_freq->num <= 1e9 && update_freq->num == floor(update_freq->num))
      s->update_freq = (int)update_freq->num;
    else
      rc = cb_arg_fail(source, update_freq, st,
                       "expected \"epoch\", \"batch\" or a positive integer (batches between "
                       "summaries)");
  }
  if (!rc && !s->log_dir && !(s->log_dir = cb_strdup("logs", st))) rc = st->code;
  if (!rc && !s->log_dir[0])
    rc = nnc_fail(st, NNC_ERR_ARG, "%s: TensorBoard: expected a non-empty 'log_dir'",
                  source ? source : "<callback>");
  /* batch hooks only for batch-level summaries: with one, fit builds the
   * running logs after every batch */
  if (!rc && s->update_freq) {
    out->on_batch_end = on_batch_end;
    if (s->write_steps_per_second) out->on_batch_begin = on_batch_begin;
  }
  if (rc) release(out);
  return rc;
}

const cb_class cb_tensorboard = {"TensorBoard", create};
