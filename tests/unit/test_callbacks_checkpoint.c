/* ModelCheckpoint and BackupAndRestore (keras/src/callbacks/
 * {model_checkpoint,backup_and_restore}.py), hooks called by hand as fit
 * calls them: which files are written when, under which names, and what a
 * restore puts back (compared bit for bit with the state that was saved). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cb_testutil.h"
#include "runtime/callbacks/format_path.h"
#include "runtime/io/io.h"
#include "testutil.h"

extern const cb_class cb_model_checkpoint, cb_backup_and_restore;

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static const char *fmt(const char *tmpl, int epoch, int batch, const nnc_logs *logs) {
  static char out[512];
  char why[512], *p;
  ck_assert_msg(cb_format_path(tmpl, epoch, batch, logs, &p, why, sizeof why) == 0, "%s: %s", tmpl,
                why);
  snprintf(out, sizeof out, "%s", p);
  free(p);
  return out;
}

/* Python: "w-{epoch:02d}-{val_loss:.2f}".format(epoch=3, val_loss=0.5678)
 * is "w-03-0.57"; {val_loss} is repr(); {{ }} are braces. */
START_TEST(filepath_format_as_python) {
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert(nnc_logs_set(&logs, "val_loss", 0.5678, &st) == NNC_OK);
  ck_assert(nnc_logs_set(&logs, "accuracy", 0.25, &st) == NNC_OK);
  ck_assert_str_eq(fmt("w-{epoch:02d}-{val_loss:.2f}.safetensors", 3, -1, &logs),
                   "w-03-0.57.safetensors");
  ck_assert_str_eq(fmt("{epoch}_{val_loss}", 12, -1, &logs), "12_0.5678");
  ck_assert_str_eq(fmt("{{epoch}}{epoch:>4}|{epoch:<3}|{epoch:*^5}", 7, -1, &logs),
                   "{epoch}   7|7  |**7**");
  ck_assert_str_eq(fmt("{accuracy:.1%}-{accuracy:e}-{val_loss:+.3g}", 1, -1, &logs),
                   "25.0%-2.500000e-01-+0.568");
  ck_assert_str_eq(fmt("{epoch:03}-{batch:d}", 2, 5, &logs), "002-5");
  char why[512], *p;
  ck_assert(cb_format_path("{val_loss:d}", 1, -1, &logs, &p, why, sizeof why) != 0);
  ck_assert_msg(strstr(why, "'d'"), "%s", why);
  ck_assert(cb_format_path("{val_acc}", 1, -1, &logs, &p, why, sizeof why) != 0);
  ck_assert_msg(strstr(why, "'val_acc'") && strstr(why, "val_loss"), "%s", why);
  ck_assert(cb_format_path("{batch}", 1, -1, &logs, &p, why, sizeof why) != 0);
  ck_assert(cb_format_path("{epoch", 1, -1, &logs, &p, why, sizeof why) != 0);
  ck_assert(cb_format_path("a}b", 1, -1, &logs, &p, why, sizeof why) != 0);
}
END_TEST

static nnc_callback *checkpoint(const char *tmpl, const cb_arg *more, int n_more) {
  cb_arg a[8];
  a[0] = cbt_str("filepath", tmpl);
  a[1] = cbt_bool("save_weights_only", 1);
  for (int i = 0; i < n_more; i++) a[2 + i] = more[i];
  return cbt_create(&cb_model_checkpoint, a, 2 + n_more);
}

/* The weights in file equal m's (a second model loads them). */
static void assert_file_holds(const char *file, const nnc_model *m) {
  nnc_model *other = cbt_model();
  nnc_status st;
  ck_assert_msg(nnc_model_load_weights(other, file, &st) == NNC_OK, "%s", st.message);
  ck_assert(!memcmp(other->params, m->params, (size_t)m->t->params_floats * sizeof(float)));
  nnc_model_free(other);
}

/* Every epoch saves (save_best_only false), named by the template with the
 * 1-based epoch and the epoch's logs; each file holds that epoch's weights. */
START_TEST(checkpoint_every_epoch) {
  nnc_model *m = cbt_model();
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/every/sub/w-{epoch:02d}-{val_loss:.2f}.safetensors",
           testutil_tmpdir());
  nnc_callback *cb = checkpoint(tmpl, NULL, 0);
  TEST_LOGS(logs);
  double v[] = {0.5678, 0.9};
  cbt_train_begin(cb, m);
  for (int e = 0; e < 2; e++) {
    m->params[0] = (float)(10 + e);
    cbt_epoch_begin(cb, m, e, &logs);
    cbt_logs1(&logs, "val_loss", v[e]);
    cbt_epoch_end(cb, m, e, &logs);
  }
  const char *first = testutil_path(testutil_tmpdir(), "every/sub/w-01-0.57.safetensors");
  ck_assert_msg(exists(first), "%s", first);
  m->params[0] = 11;
  assert_file_holds(testutil_path(testutil_tmpdir(), "every/sub/w-02-0.90.safetensors"), m);
  m->params[0] = 10;
  assert_file_holds(first, m);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* save_best_only on val_loss (min, min_delta 0): 1.0, 0.8, 0.9, 0.7 saves
 * epochs 1, 2 and 4; initial_value_threshold 0.75 only epoch 4; mode max on
 * val_accuracy 0.5, 0.4, 0.6 saves epochs 1 and 3. */
START_TEST(checkpoint_save_best_only) {
  struct {
    const char *monitor;
    double threshold; /* NaN: none */
    double v[4];
    int saved[4];
  } rows[] = {{"val_loss", NAN, {1.0, 0.8, 0.9, 0.7}, {1, 1, 0, 1}},
              {"val_loss", 0.75, {1.0, 0.8, 0.9, 0.7}, {0, 0, 0, 1}},
              {"val_accuracy", NAN, {0.5, 0.4, 0.6, 0.6}, {1, 0, 1, 0}}};
  for (int r = 0; r < 3; r++) {
    nnc_model *m = cbt_model();
    char dir[512], tmpl[600];
    snprintf(dir, sizeof dir, "%s/best%d", testutil_tmpdir(), r);
    snprintf(tmpl, sizeof tmpl, "%s/e{epoch}.safetensors", dir);
    cb_arg more[] = {cbt_bool("save_best_only", 1), cbt_str("monitor", rows[r].monitor),
                     isnan(rows[r].threshold)
                         ? cbt_null("initial_value_threshold")
                         : cbt_num("initial_value_threshold", rows[r].threshold)};
    nnc_callback *cb = checkpoint(tmpl, more, 3);
    TEST_LOGS(logs);
    cbt_train_begin(cb, m);
    for (int e = 0; e < 4; e++) {
      cbt_logs1(&logs, rows[r].monitor, rows[r].v[e]);
      cbt_epoch_end(cb, m, e, &logs);
      char file[700];
      snprintf(file, sizeof file, "%s/e%d.safetensors", dir, e + 1);
      ck_assert_msg(exists(file) == rows[r].saved[e], "row %d: %s %s", r, file,
                    rows[r].saved[e] ? "missing" : "written");
    }
    cbt_free(cb);
    nnc_model_free(m);
  }
}
END_TEST

/* save_best_only with the monitored key missing: Keras warns and saves. */
START_TEST(checkpoint_missing_monitor_saves) {
  nnc_model *m = cbt_model();
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/missing-{epoch}.safetensors", testutil_tmpdir());
  cb_arg more[] = {cbt_bool("save_best_only", 1)};
  nnc_callback *cb = checkpoint(tmpl, more, 1);
  TEST_LOGS(logs);
  cbt_logs1(&logs, "loss", 1.0);
  cbt_epoch_end(cb, m, 0, &logs);
  ck_assert(exists(testutil_path(testutil_tmpdir(), "missing-1.safetensors")));
  ck_assert_int_eq(nnc_model_warning_count(m), 1);
  ck_assert_str_eq(nnc_model_warning(m, 0), "Can save best model only with val_loss available.");
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* save_freq 2: batches are counted across epochs; epoch 0 has batches 0..4
 * (saves after batches 1 and 3, named batch 2 and 4), epoch 1 starts again
 * at 0: the count goes on (1 left from batch 4, +1) and saves at its batch 0.
 * No save at epoch ends. */
START_TEST(checkpoint_save_freq_batches) {
  nnc_model *m = cbt_model();
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/freq/{epoch}-{batch}.safetensors", testutil_tmpdir());
  cb_arg more[] = {cbt_num("save_freq", 2)};
  nnc_callback *cb = checkpoint(tmpl, more, 1);
  TEST_LOGS(logs);
  cbt_logs1(&logs, "loss", 1.0);
  cbt_train_begin(cb, m);
  for (int e = 0; e < 2; e++) {
    cbt_epoch_begin(cb, m, e, &logs);
    for (int b = 0; b < 5; b++) {
      nnc_status st;
      ck_assert_msg(cb->on_batch_end(cb, m, b, &logs, &st) == NNC_OK, "%s", st.message);
    }
    cbt_logs1(&logs, "val_loss", 1.0);
    cbt_epoch_end(cb, m, e, &logs);
  }
  const char *want[] = {"1-2", "1-4", "2-1", "2-3", "2-5"};
  const char *not_want[] = {"1-1", "1-3", "1-5", "2-2", "2-4", "1-{batch}"};
  for (int i = 0; i < 5; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "freq/%s.safetensors", want[i]);
    ck_assert_msg(exists(testutil_path(testutil_tmpdir(), rel)), "%s missing", rel);
  }
  for (int i = 0; i < 6; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "freq/%s.safetensors", not_want[i]);
    ck_assert_msg(!exists(testutil_path(testutil_tmpdir(), rel)), "%s written", rel);
  }
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* Without save_weights_only the optimizer state goes next to the weights
 * (FILE.optimizer.safetensors); a build without optimizer-state support
 * refuses it up front. Wrong arguments name their path. */
START_TEST(checkpoint_arguments) {
  nnc_status st;
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/full.safetensors", testutil_tmpdir());
  cb_arg full[] = {cbt_str("filepath", tmpl)};
  {
    nnc_model *m = cbt_model();
    nnc_callback *cb = cbt_create(&cb_model_checkpoint, full, 1);
    TEST_LOGS(logs);
    cbt_logs1(&logs, "val_loss", 1.0);
    cbt_epoch_end(cb, m, 0, &logs);
    ck_assert(exists(tmpl));
    ck_assert(exists(testutil_path(testutil_tmpdir(), "full.optimizer.safetensors")));
    cbt_free(cb);
    nnc_model_free(m);
  }
  cb_arg h5[] = {cbt_str("filepath", "w.weights.h5"), cbt_bool("save_weights_only", 1)};
  ck_assert_int_eq(cbt_create_fails(&cb_model_checkpoint, h5, 2, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "$.callbacks[0].config.filepath") &&
                    strstr(st.message, ".safetensors"),
                "%s", st.message);
  cb_arg freq[] = {cbt_str("filepath", "w.safetensors"), cbt_bool("save_weights_only", 1),
                   cbt_str("save_freq", "batch")};
  ck_assert_int_eq(cbt_create_fails(&cb_model_checkpoint, freq, 3, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "save_freq"), "%s", st.message);
  cb_arg none[] = {cbt_bool("save_weights_only", 1)};
  ck_assert_int_eq(cbt_create_fails(&cb_model_checkpoint, none, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "'filepath'"), "%s", st.message);
  /* a template that cannot be filled fails at the save, naming the argument */
  nnc_model *m = cbt_model();
  nnc_callback *cb = checkpoint("w-{val_acc}.safetensors", NULL, 0);
  TEST_LOGS(logs);
  cbt_logs1(&logs, "val_loss", 1.0);
  ck_assert_int_eq(cbt_epoch_end_rc(cb, m, 0, &logs, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "filepath") && strstr(st.message, "'val_acc'"), "%s",
                st.message);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* ---- BackupAndRestore ---- */

static const char *adam_spec(void) {
  return testutil_json("{'class_name': 'Sequential', 'config': {'name': 'bk', 'layers': ["
                       "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2, "
                       "'batch_input_shape': [null, 3]}}]},"
                       " 'compile_config': {'optimizer': {'class_name': 'Adam', 'config': "
                       "{'learning_rate': 0.01}}, 'loss': 'mse'}}");
}

static nnc_model *adam_model(uint64_t seed) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(adam_spec(), "bk.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_seed(m, seed, &st) == NNC_OK);
  ck_assert(m->t->slots_floats > 0);
  m->resume_epoch = -1;
  return m;
}

static void train(nnc_model *m, int steps) {
  float x[6] = {1, 2, 3, -1, 0.5f, 2}, y[4] = {1, 0, 0, 1};
  nnc_array xa = testutil_f32(x, 2, 3), ya = testutil_f32(y, 2, 2);
  for (int i = 0; i < steps; i++) {
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  }
}

static nnc_callback *backup(const char *dir, const cb_arg *more, int n_more) {
  cb_arg a[8];
  a[0] = cbt_str("backup_dir", dir);
  for (int i = 0; i < n_more; i++) a[1 + i] = more[i];
  return cbt_create(&cb_backup_and_restore, a, 1 + n_more);
}

/* The state a backup must bring back, bit for bit. */
typedef struct state {
  float params[64], slots[64];
  int64_t iterations;
  double lr;
} state;

static void state_of(const nnc_model *m, state *s) {
  ck_assert(m->t->params_floats <= 64 && m->t->slots_floats <= 64);
  memset(s, 0, sizeof *s);
  memcpy(s->params, m->params, (size_t)m->t->params_floats * sizeof(float));
  memcpy(s->slots, m->slots, (size_t)m->t->slots_floats * sizeof(float));
  s->iterations = m->iterations;
  s->lr = m->learning_rate;
}

/* Two epochs backed up; a fresh model (another seed: other weights) with a
 * new callback over the same folder gets the state after epoch 2 back,
 * resumes at epoch index 2, and its History starts with the two epochs.
 * delete_checkpoint (default) removes the backup at train end. */
START_TEST(backup_restores_state_and_history) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/backup", testutil_tmpdir());
  nnc_model *a = adam_model(1);
  nnc_callback *cb = backup(dir, NULL, 0);
  TEST_LOGS(logs);
  nnc_status st;
  cbt_train_begin(cb, a);
  ck_assert_int_eq(a->resume_epoch, -1);
  ck_assert_ptr_null(a->history_prefix);
  double loss[] = {1.5, 1.25}, val[] = {2.5, 2.125};
  for (int e = 0; e < 2; e++) {
    train(a, 3);
    a->learning_rate = 0.01 / (e + 1); /* as ReduceLROnPlateau would */
    logs.n = 0;
    ck_assert(nnc_logs_set(&logs, "loss", loss[e], &st) == NNC_OK);
    ck_assert(nnc_logs_set(&logs, "val_loss", val[e], &st) == NNC_OK);
    cbt_epoch_end(cb, a, e, &logs);
  }
  state saved;
  state_of(a, &saved);
  ck_assert_int_eq(saved.iterations, 6);
  train(a, 2); /* a third epoch, killed before its end */
  char latest[600];
  snprintf(latest, sizeof latest, "%s/latest.safetensors", dir);
  ck_assert(exists(latest));

  nnc_model *b = adam_model(2);
  state fresh, got;
  state_of(b, &fresh);
  ck_assert(memcmp(fresh.params, saved.params, sizeof fresh.params));
  nnc_callback *cb2 = backup(dir, NULL, 0);
  cbt_train_begin(cb2, b);
  state_of(b, &got);
  ck_assert(!memcmp(&got, &saved, sizeof got));
  ck_assert_int_eq(b->resume_epoch, 2);
  const nnc_history *h = b->history_prefix;
  ck_assert_ptr_nonnull(h);
  ck_assert_int_eq(h->n_epochs, 2);
  ck_assert_int_eq(h->n_keys, 2);
  ck_assert_int_eq(h->epochs[0], 0);
  ck_assert_int_eq(h->epochs[1], 1);
  ck_assert_str_eq(h->keys[0], "loss"); /* the logs' order, as fit's History */
  for (int e = 0; e < 2; e++) {
    ck_assert(nnc_history_get(h, "loss", e) == loss[e]);
    ck_assert(nnc_history_get(h, "val_loss", e) == val[e]);
  }
  /* the resumed run's epoch 2 is backed up with the whole History */
  logs.n = 0;
  ck_assert(nnc_logs_set(&logs, "loss", 1.0, &st) == NNC_OK);
  ck_assert(nnc_logs_set(&logs, "val_loss", 2.0, &st) == NNC_OK);
  cbt_epoch_end(cb2, b, 2, &logs);
  cbt_train_end(cb2, b);
  ck_assert_ptr_null(b->history_prefix);
  ck_assert(!exists(latest));
  ck_assert(!exists(dir));
  cbt_free(cb);
  cbt_free(cb2);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* A restored History of 3 epochs from a run that kept its backup
 * (delete_checkpoint false), through a second resume. */
START_TEST(backup_history_grows_across_resumes) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/keep", testutil_tmpdir());
  cb_arg keep[] = {cbt_bool("delete_checkpoint", 0)};
  nnc_model *m = adam_model(1);
  TEST_LOGS(logs);
  for (int run = 0; run < 3; run++) {
    nnc_callback *cb = backup(dir, keep, 1);
    m->resume_epoch = -1;
    cbt_train_begin(cb, m);
    ck_assert_int_eq(m->resume_epoch, run ? run : -1);
    ck_assert_int_eq(m->history_prefix ? m->history_prefix->n_epochs : 0, run);
    cbt_logs1(&logs, "loss", 10.0 + run);
    cbt_epoch_end(cb, m, run, &logs);
    cbt_train_end(cb, m);
    cbt_free(cb);
  }
  nnc_callback *cb = backup(dir, keep, 1);
  cbt_train_begin(cb, m);
  ck_assert_int_eq(m->resume_epoch, 3);
  for (int e = 0; e < 3; e++) ck_assert(nnc_history_get(m->history_prefix, "loss", e) == 10 + e);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* The backup file holds the variables one after the other, without the
 * padding that starts each on a cache line in the model (session 23), so
 * the file does not depend on the layout: Dense(2) on 3 inputs has its
 * kernel (6 floats) at params[0] and its bias at params[16]; the file's
 * "params" is the 8 floats kernel then bias, its "slots" Adam's 4 slots
 * (2 x 6 + 2 x 2 floats) in the table's order. */
START_TEST(backup_file_packs_variables) {
  char dir[512], latest[600];
  snprintf(dir, sizeof dir, "%s/packed", testutil_tmpdir());
  snprintf(latest, sizeof latest, "%s/latest.safetensors", dir);
  cb_arg keep[] = {cbt_bool("delete_checkpoint", 0)};
  nnc_model *m = adam_model(1);
  nnc_callback *cb = backup(dir, keep, 1);
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  train(m, 3);
  cbt_logs1(&logs, "loss", 1.0);
  cbt_epoch_end(cb, m, 0, &logs);
  const nnc_program_table *t = m->t;
  ck_assert_int_eq(t->variables[0].offset, 0);
  ck_assert_int_eq(t->variables[0].count, 6);
  ck_assert_int_eq(t->variables[1].offset, 16);
  ck_assert_int_eq(t->variables[1].count, 2);
  nnc_tensor_set set = {0};
  nnc_status st;
  ck_assert_msg(nnc_safetensors_read(latest, &set, &st) == NNC_OK, "%s", st.message);
  const nnc_array *params = nnc_tensor_set_find(&set, "params");
  const nnc_array *slots = nnc_tensor_set_find(&set, "slots");
  ck_assert(params && slots);
  ck_assert_int_eq(params->shape[0], 8);
  const float *p = params->data;
  for (int i = 0; i < 6; i++) ck_assert(p[i] == m->params[i]);
  ck_assert(p[6] == m->params[16] && p[7] == m->params[17]);
  int64_t at = 0, n_slots = 0;
  for (int i = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind != NNC_VAR_SLOT) continue;
    n_slots++;
    ck_assert_int_le(at + v->count, slots->shape[0]);
    ck_assert_msg(!memcmp((const float *)slots->data + at, m->slots + v->offset,
                          (size_t)v->count * sizeof(float)),
                  "slot %s", v->name);
    at += v->count;
  }
  ck_assert_int_eq(n_slots, 4);
  ck_assert_int_eq(at, 16);
  ck_assert_int_eq(slots->shape[0], 16);
  nnc_tensor_set_free(&set);
  cbt_train_end(cb, m);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* double_checkpoint keeps the previous backup; a damaged latest falls back
 * to it (Keras: an OSError loading the weights tries the .bkp). */
START_TEST(backup_double_checkpoint_fallback) {
  char dir[512], latest[600], previous[600];
  snprintf(dir, sizeof dir, "%s/double", testutil_tmpdir());
  snprintf(latest, sizeof latest, "%s/latest.safetensors", dir);
  snprintf(previous, sizeof previous, "%s/latest.safetensors.bkp", dir);
  cb_arg more[] = {cbt_bool("double_checkpoint", 1)};
  nnc_model *a = adam_model(1);
  nnc_callback *cb = backup(dir, more, 1);
  TEST_LOGS(logs);
  cbt_train_begin(cb, a);
  state first;
  for (int e = 0; e < 2; e++) {
    train(a, 2);
    if (e == 0) state_of(a, &first);
    cbt_logs1(&logs, "loss", 1.0);
    cbt_epoch_end(cb, a, e, &logs);
  }
  ck_assert(exists(previous));
  FILE *f = fopen(latest, "w"); /* damaged: cut short */
  fputs("garbage", f);
  fclose(f);
  nnc_model *b = adam_model(2);
  nnc_callback *cb2 = backup(dir, more, 1);
  cbt_train_begin(cb2, b);
  state got;
  state_of(b, &got);
  ck_assert(!memcmp(&got, &first, sizeof got));
  ck_assert_int_eq(b->resume_epoch, 1);
  cbt_train_end(cb2, b);
  ck_assert(!exists(previous) && !exists(dir));
  cbt_free(cb);
  cbt_free(cb2);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* A backup of another model is refused (NNC_ERR_ARG naming the file);
 * without double_checkpoint a damaged backup is an error, not a fresh start. */
START_TEST(backup_of_another_model) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/other", testutil_tmpdir());
  nnc_model *small = cbt_model();
  nnc_callback *cb = backup(dir, NULL, 0);
  TEST_LOGS(logs);
  cbt_train_begin(cb, small);
  cbt_logs1(&logs, "loss", 1.0);
  cbt_epoch_end(cb, small, 0, &logs);
  nnc_model *m = adam_model(1);
  nnc_callback *cb2 = backup(dir, NULL, 0);
  nnc_status st;
  ck_assert_int_eq(cb2->on_train_begin(cb2, m, 0, &logs, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "latest.safetensors") && strstr(st.message, "params"), "%s",
                st.message);
  cbt_free(cb);
  cbt_free(cb2);
  nnc_model_free(small);
  nnc_model_free(m);
  cb_arg empty[] = {cbt_str("backup_dir", "")};
  ck_assert_int_eq(cbt_create_fails(&cb_backup_and_restore, empty, 1, &st), NNC_ERR_ARG);
}
END_TEST

/* save_freq 3 (batches): backups mid-epoch carry the epoch being run
 * (Keras's _current_epoch: the epochs completed), so a resume restarts that
 * epoch from its first batch with the weights of its middle, as Keras does. */
START_TEST(backup_save_freq_batches) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/freq", testutil_tmpdir());
  cb_arg more[] = {cbt_num("save_freq", 3)};
  nnc_model *a = adam_model(1);
  nnc_callback *cb = backup(dir, more, 1);
  TEST_LOGS(logs);
  nnc_status st;
  cbt_train_begin(cb, a);
  state at;
  for (int e = 0; e < 2; e++) {
    for (int b = 0; b < 4; b++) {
      train(a, 1);
      ck_assert(cb->on_batch_end(cb, a, b, &logs, &st) == NNC_OK);
      if (e == 1 && b == 1) state_of(a, &at); /* batches 2,3 + 0,1: the 6th */
    }
    cbt_logs1(&logs, "loss", 1.0);
    cbt_epoch_end(cb, a, e, &logs);
  }
  nnc_model *b = adam_model(2);
  nnc_callback *cb2 = backup(dir, more, 1);
  cbt_train_begin(cb2, b);
  state got;
  state_of(b, &got);
  ck_assert(!memcmp(&got, &at, sizeof got));
  ck_assert_int_eq(b->resume_epoch, 1);
  ck_assert_int_eq(b->history_prefix->n_epochs, 1);
  cbt_free(cb);
  cbt_free(cb2);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("callbacks_checkpoint");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, filepath_format_as_python);
  tcase_add_test(tc, checkpoint_every_epoch);
  tcase_add_test(tc, checkpoint_save_best_only);
  tcase_add_test(tc, checkpoint_missing_monitor_saves);
  tcase_add_test(tc, checkpoint_save_freq_batches);
  tcase_add_test(tc, checkpoint_arguments);
  tcase_add_test(tc, backup_restores_state_and_history);
  tcase_add_test(tc, backup_history_grows_across_resumes);
  tcase_add_test(tc, backup_file_packs_variables);
  tcase_add_test(tc, backup_double_checkpoint_fallback);
  tcase_add_test(tc, backup_of_another_model);
  tcase_add_test(tc, backup_save_freq_batches);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
