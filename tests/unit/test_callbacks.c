/* The callback framework of fit (docs/fit.md "Callbacks"), against Keras 3's
 * fit loop (keras/src/backend/tensorflow/trainer.py::fit): hook order and
 * indices, the logs each hook sees (running results after a batch, val_
 * keys at epoch end, entries added by earlier callbacks), stop_training
 * from a batch and from an epoch hook, a failing hook, resume_epoch, and the
 * fit options validation_freq, steps_per_epoch, validation_steps,
 * validation_batch_size, shuffle="batch", train_metrics=end-of-epoch.
 * Values are derived by hand from tests/unit/fit_table.h. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit_table.h"
#include "nnc.h"
#include "runtime/fit.h"
#include "runtime/model.h"
#include "testutil.h"

/* ---- a recording callback ---- */
typedef struct recorder {
  char text[8192];
  size_t n;
  int stop_at_batch, stop_at_epoch; /* (epoch * 100 + batch), epoch; -1: never */
  int fail_at_epoch;
  int add_key; /* on_epoch_end adds "extra" = 100 + epoch */
  int resume;  /* on_train_begin sets m->resume_epoch */
  int epoch;
} recorder;

static void put(recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(recorder *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  r->n += (size_t)vsnprintf(r->text + r->n, sizeof r->text - r->n, fmt, ap);
  va_end(ap);
}

static void put_logs(recorder *r, const nnc_logs *l) {
  put(r, "{");
  for (int i = 0; i < l->n; i++) put(r, "%s%s=%g", i ? " " : "", l->names[i], l->values[i]);
  put(r, "}");
}

static recorder *rec(nnc_callback *cb) {
  return cb->user;
}

static int train_begin(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)st;
  put(rec(cb), "%s.train_begin(%d)", cb->name, i);
  put_logs(rec(cb), l);
  put(rec(cb), "\n");
  if (rec(cb)->resume >= 0) m->resume_epoch = rec(cb)->resume;
  return NNC_OK;
}
static int train_end(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)m, (void)st;
  put(rec(cb), "%s.train_end(%d)", cb->name, i);
  put_logs(rec(cb), l);
  put(rec(cb), "\n");
  return NNC_OK;
}
static int epoch_begin(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)m, (void)st;
  put(rec(cb), "%s.epoch_begin(%d)", cb->name, i);
  put_logs(rec(cb), l);
  put(rec(cb), "\n");
  rec(cb)->epoch = i;
  return NNC_OK;
}
static int epoch_end(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  recorder *r = rec(cb);
  put(r, "%s.epoch_end(%d)", cb->name, i);
  put_logs(r, l);
  put(r, "\n");
  if (r->add_key && nnc_logs_set(l, "extra", 100 + i, st)) return st->code;
  if (r->stop_at_epoch == i) nnc_model_stop_training(m);
  if (r->fail_at_epoch == i) { /* as a host reports an error */
    st->code = NNC_ERR_WRITE;
    snprintf(st->message, sizeof st->message, "planted failure");
    return NNC_ERR_WRITE;
  }
  return NNC_OK;
}
static int batch_begin(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)m, (void)st;
  put(rec(cb), "%s.batch_begin(%d)", cb->name, i);
  put_logs(rec(cb), l);
  put(rec(cb), "\n");
  return NNC_OK;
}
static int batch_end(nnc_callback *cb, nnc_model *m, int i, nnc_logs *l, nnc_status *st) {
  (void)st;
  recorder *r = rec(cb);
  put(r, "%s.batch_end(%d)", cb->name, i);
  put_logs(r, l);
  put(r, "\n");
  if (r->stop_at_batch == r->epoch * 100 + i) nnc_model_stop_training(m);
  return NNC_OK;
}

static nnc_callback recording(const char *name, recorder *r) {
  memset(r, 0, sizeof *r);
  r->stop_at_batch = r->stop_at_epoch = r->fail_at_epoch = r->resume = -1;
  nnc_callback cb = {name,      r,           train_begin, train_end, epoch_begin,
                     epoch_end, batch_begin, batch_end,   NULL};
  return cb;
}

/* x = 1, 2, 3, 4 (targets unused); validation 10, 20 */
static float xv[5] = {1, 2, 3, 4, 5}, yv[5] = {0}, xvv[2] = {10, 20}, yvv[2] = {0};

static nnc_fit_options quiet(int epochs, int batch_size) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.verbose = 0;
  o.shuffle = NNC_SHUFFLE_OFF;
  return o;
}

/* Hook order and logs of a 2-epoch fit with validation: two host callbacks
 * (a before b), then History. The running loss after batch k is the mean
 * over the batches so far: epoch 0 batch 0 = (1+0 + 2+0)/2 = 1.5, batch 1
 * = (1.5*2 + (3+1 + 4+1)/2*2)/4 = 3; val after epoch 0 (w = 2): 15 + 2. */
START_TEST(hooks_in_keras_order_with_running_logs) {
  nnc_model *m = fit_table_model(0);
  recorder ra, rb;
  nnc_callback a = recording("a", &ra), b = recording("b", &rb);
  ra.add_key = 1;
  nnc_callback *cbs[2] = {&a, &b};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_array xval = testutil_f32(xvv, 2, 1), yval = testutil_f32(yvv, 2, 1);
  nnc_fit_options o = quiet(2, 2);
  o.callbacks = cbs;
  o.n_callbacks = 2;
  o.x_val = &xval;
  o.y_val = &yval;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  const char *want_a =
      "a.train_begin(0){}\n"
      "a.epoch_begin(0){}\n"
      "a.batch_begin(0){}\n"
      "a.batch_end(0){loss=1.5 sw=1 x=1.5}\n"
      "a.batch_begin(1){}\n"
      "a.batch_end(1){loss=3 sw=1 x=2.5}\n"
      "a.epoch_end(0){loss=3 sw=1 val_loss=17 val_sw=1 val_x=15 x=2.5}\n"
      "a.epoch_begin(1){}\n"
      "a.batch_begin(0){}\n"
      "a.batch_end(0){loss=3.5 sw=1 x=1.5}\n"
      "a.batch_begin(1){}\n"
      "a.batch_end(1){loss=5 sw=1 x=2.5}\n"
      "a.epoch_end(1){loss=5 sw=1 val_loss=19 val_sw=1 val_x=15 x=2.5}\n"
      "a.train_end(0){loss=5 sw=1 val_loss=19 val_sw=1 val_x=15 x=2.5 extra=101}\n";
  ck_assert_str_eq(ra.text, want_a);
  /* b runs after a: it sees the key a added at epoch end */
  ck_assert_msg(strstr(rb.text, "b.epoch_end(0){loss=3 sw=1 val_loss=17 val_sw=1 val_x=15 x=2.5 "
                                "extra=100}\n"),
                "%s", rb.text);
  /* History comes after both: it has a's key too */
  ck_assert_int_eq(h.n_epochs, 2);
  ck_assert_int_eq(h.epochs[1], 1);
  ck_assert(nnc_history_get(&h, "extra", 0) == 100 && nnc_history_get(&h, "extra", 1) == 101);
  ck_assert(nnc_history_get(&h, "val_loss", 1) == 19);
  ck_assert(fit_table_w(m) == 4);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* Keras checks stop_training after every batch's hooks: the epoch ends
 * there, on_epoch_end still runs (with that epoch's logs), no more epochs. */
START_TEST(stop_from_a_batch_hook) {
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  r.stop_at_batch = 1 * 100 + 0; /* epoch 1, batch 0 */
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(5, 1);
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 2);
  ck_assert(fit_table_w(m) == 5); /* 4 steps in epoch 0, 1 in epoch 1 */
  ck_assert_int_eq(nnc_model_iterations(m), 5);
  /* epoch 1's loss is that one batch's: x = 1, w = 4 */
  ck_assert(nnc_history_get(&h, "loss", 1) == 5);
  ck_assert_msg(strstr(r.text, "c.batch_end(0){loss=5 sw=1 x=1}\nc.epoch_end(1)"), "%s", r.text);
  ck_assert_msg(strstr(r.text, "c.train_end(0){loss=5 sw=1 x=1}\n"), "%s", r.text);
  ck_assert(!strstr(r.text, "epoch_begin(2)"));
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

START_TEST(stop_from_an_epoch_hook) {
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  r.stop_at_epoch = 1;
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(5, 2);
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 2); /* History saw epoch 1 (it runs after c) */
  ck_assert_int_eq(nnc_model_iterations(m), 4);
  ck_assert(strstr(r.text, "c.train_end(0)"));
  /* a new fit starts with stop_training cleared (Keras sets it False) */
  r.stop_at_epoch = -1;
  o.epochs = 2;
  nnc_history_free(&h);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 2);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* A hook's error ends fit with it; on_train_end is not called (as a Python
 * exception skips it) and the history is freed. */
START_TEST(failing_hook_stops_fit) {
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  r.fail_at_epoch = 0;
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(3, 2);
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, &h, &st), NNC_ERR_WRITE);
  ck_assert_msg(strstr(st.message, "c.on_epoch_end(0): planted failure"), "%s", st.message);
  ck_assert(!strstr(r.text, "train_end"));
  ck_assert_int_eq(h.n_epochs, 0);
  ck_assert_ptr_null(h.keys);
  nnc_model_free(m);
}
END_TEST

/* BackupAndRestore's seam: on_train_begin sets resume_epoch, fit starts
 * there; history_prefix pre-fills the History. */
START_TEST(resume_epoch_and_history_prefix) {
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  r.resume = 2;
  nnc_history prefix = {0};
  nnc_logs l = {0};
  nnc_status st;
  ck_assert(nnc_logs_set(&l, "loss", 42, &st) == NNC_OK);
  ck_assert(history_append(&prefix, 0, &l, &st) == NNC_OK);
  ck_assert(history_append(&prefix, 1, &l, &st) == NNC_OK);
  nnc_logs_free(&l);
  m->history_prefix = &prefix;
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(4, 4);
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  m->history_prefix = NULL;
  ck_assert_msg(strstr(r.text, "c.train_begin(0){}\nc.epoch_begin(2)"), "%s", r.text);
  ck_assert_int_eq(h.n_epochs, 4);
  ck_assert_int_eq(h.epochs[0], 0);
  ck_assert_int_eq(h.epochs[2], 2);
  ck_assert(nnc_history_get(&h, "loss", 1) == 42);
  ck_assert(nnc_history_get(&h, "loss", 2) == 2.5); /* w = 0 at the resumed epoch */
  ck_assert(isnan(nnc_history_get(&h, "x", 0)));    /* a key the prefix did not have */
  ck_assert_int_eq(nnc_model_iterations(m), 2);
  nnc_history_free(&h);
  nnc_history_free(&prefix);
  nnc_model_free(m);
}
END_TEST

/* validation_freq=2: val_ keys at epochs 1 and 3 (0-based) only; History
 * has NaN where Keras's lists are shorter. */
START_TEST(validation_freq) {
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_array xval = testutil_f32(xvv, 2, 1), yval = testutil_f32(yvv, 2, 1);
  nnc_fit_options o = quiet(4, 4);
  o.callbacks = cbs;
  o.n_callbacks = 1;
  o.x_val = &xval;
  o.y_val = &yval;
  o.validation_freq = 2;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(strstr(r.text, "c.epoch_end(0){loss=2.5 sw=1 x=2.5}\n"), "%s", r.text);
  ck_assert_msg(strstr(r.text, "c.epoch_end(1){loss=3.5 sw=1 val_loss=17 val_sw=1 val_x=15 x=2.5}"),
                "%s", r.text);
  ck_assert(isnan(nnc_history_get(&h, "val_loss", 0)));
  ck_assert(nnc_history_get(&h, "val_loss", 1) == 17);
  ck_assert(isnan(nnc_history_get(&h, "val_loss", 2)));
  ck_assert(nnc_history_get(&h, "val_loss", 3) == 19);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* steps_per_epoch (keras/src/trainers/epoch_iterator.py): smaller than the
 * 5 batches, the next epoch continues the pass; an epoch that runs out of
 * data ends early and the next starts a new pass. x = 1..5, batch 1, 2
 * steps: epochs visit {1,2}, {3,4}, {5}, {1,2}. Larger than the batches:
 * every epoch is one pass (5 steps). */
START_TEST(steps_per_epoch) {
  nnc_model *m = fit_table_model(0);
  nnc_array x = testutil_f32(xv, 5, 1), y = testutil_f32(yv, 5, 1);
  nnc_fit_options o = quiet(4, 1);
  o.steps_per_epoch = 2;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "x", 0) == 1.5);
  ck_assert(nnc_history_get(&h, "x", 1) == 3.5);
  ck_assert(nnc_history_get(&h, "x", 2) == 5);
  ck_assert(nnc_history_get(&h, "x", 3) == 1.5);
  ck_assert_int_eq(nnc_model_iterations(m), 7);
  nnc_history_free(&h);
  nnc_model_free(m);
  m = fit_table_model(0);
  o.steps_per_epoch = 10;
  o.epochs = 2;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "x", 1) == 3);
  ck_assert_int_eq(nnc_model_iterations(m), 10);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* validation_steps and validation_batch_size: val data 10, 20 with w = 1
 * after one step: batch size 1 and 1 step see only 10 (val_loss 11);
 * validation_batch_size 1 without a step limit sees both (16). */
START_TEST(validation_steps_and_batch_size) {
  nnc_model *m = fit_table_model(0);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_array xval = testutil_f32(xvv, 2, 1), yval = testutil_f32(yvv, 2, 1);
  nnc_fit_options o = quiet(1, 4);
  o.x_val = &xval;
  o.y_val = &yval;
  o.validation_batch_size = 1;
  o.validation_steps = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 11);
  nnc_history_free(&h);
  o.validation_steps = 0;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 17); /* w = 2: (12 + 22) / 2 */
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* shuffle="batch" (array_data_adapter.py): each batch holds the samples of
 * its chunk, in some order; the running x mean after batch k is that of
 * chunks 0..k whatever the order inside. Checked on the order itself too. */
START_TEST(shuffle_batch_keeps_chunks) {
  int64_t idx[10];
  int moved = 0;
  for (int pass = 0; pass < 8; pass++) {
    fit_shuffle(idx, 10, NNC_SHUFFLE_BATCH, 4, 7, pass);
    for (int i = 0; i < 10; i++) {
      ck_assert_msg(idx[i] / 4 == i / 4, "sample %lld in chunk %d", (long long)idx[i], i / 4);
      moved |= idx[i] != i;
    }
    int seen[10] = {0};
    for (int i = 0; i < 10; i++) seen[idx[i]]++;
    for (int i = 0; i < 10; i++) ck_assert_int_eq(seen[i], 1);
  }
  ck_assert_msg(moved, "shuffle=batch never moved a sample");
  fit_shuffle(idx, 10, NNC_SHUFFLE_ON, 4, 7, 0);
  int crossed = 0;
  for (int i = 0; i < 10; i++) crossed |= idx[i] / 4 != i / 4;
  ck_assert_msg(crossed, "shuffle=true kept every chunk");
  /* through fit: batch 2 of 3 covers x = 1..4 in every epoch */
  nnc_model *m = fit_table_model(0);
  recorder r;
  nnc_callback c = recording("c", &r);
  nnc_callback *cbs[1] = {&c};
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(3, 2);
  o.shuffle = NNC_SHUFFLE_BATCH;
  o.callbacks = cbs;
  o.n_callbacks = 1;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(strstr(r.text, "c.batch_end(0){loss=1.5 sw=1 x=1.5}"), "%s", r.text);
  ck_assert_msg(strstr(r.text, "c.batch_end(0){loss=3.5 sw=1 x=1.5}"), "%s", r.text);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* --train-metrics=end-of-epoch: train_loss over the whole training set with
 * the epoch's final weights: x = 1..4, 2 steps, w = 2: 2.5 + 2. */
START_TEST(train_metrics_end_of_epoch) {
  nnc_model *m = fit_table_model(0);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_fit_options o = quiet(2, 2);
  o.train_metrics = NNC_TRAIN_METRICS_END_OF_EPOCH;
  o.validation_split = 0.5; /* training split: x = 1, 2 */
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  /* epoch 0: one step (x 1, 2; w 0): loss 1.5; then w = 1: train_loss 2.5, val 3.5 + 1 */
  ck_assert(nnc_history_get(&h, "loss", 0) == 1.5);
  ck_assert(nnc_history_get(&h, "train_loss", 0) == 2.5);
  ck_assert(nnc_history_get(&h, "train_x", 0) == 1.5);
  ck_assert(nnc_history_get(&h, "val_loss", 0) == 4.5);
  ck_assert(nnc_history_get(&h, "train_loss", 1) == 3.5);
  ck_assert_int_eq(h.n_keys, 9);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

START_TEST(bad_fit_options) {
  nnc_model *m = fit_table_model(0);
  nnc_array x = testutil_f32(xv, 4, 1), y = testutil_f32(yv, 4, 1);
  nnc_status st;
  nnc_fit_options o = quiet(1, 2);
  o.steps_per_epoch = -1;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "steps_per_epoch (-1)"), "%s", st.message);
  o = quiet(1, 2);
  o.shuffle = 3;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_ARG);
  o = quiet(1, 2);
  nnc_callback *none[1] = {NULL};
  o.callbacks = none;
  o.n_callbacks = 1;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "callbacks[0] is NULL"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("callbacks");
  TCase *tc = tcase_create("fit");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, hooks_in_keras_order_with_running_logs);
  tcase_add_test(tc, stop_from_a_batch_hook);
  tcase_add_test(tc, stop_from_an_epoch_hook);
  tcase_add_test(tc, failing_hook_stops_fit);
  tcase_add_test(tc, resume_epoch_and_history_prefix);
  tcase_add_test(tc, validation_freq);
  tcase_add_test(tc, steps_per_epoch);
  tcase_add_test(tc, validation_steps_and_batch_size);
  tcase_add_test(tc, shuffle_batch_keeps_chunks);
  tcase_add_test(tc, train_metrics_end_of_epoch);
  tcase_add_test(tc, bad_fit_options);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
