/* EarlyStopping, ReduceLROnPlateau and LearningRateScheduler against
 * sequences derived by hand from Keras 3's source
 * (keras/src/callbacks/{monitor_callback,early_stopping,reduce_lr_on_plateau,
 * learning_rate_scheduler}.py). Hooks are called as fit calls them, with
 * hand-written logs; "training" an epoch sets the first parameter to the
 * epoch index, so a restored snapshot tells which epoch it came from. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cb_testutil.h"
#include "testutil.h"

extern const cb_class cb_early_stopping, cb_reduce_lr_on_plateau, cb_lr_scheduler;

/* Run epochs 0.. with `key` = values[e] until the callback stops training;
 * returns the epochs run. After each epoch's hook, params[0] = epoch. */
static int run(nnc_callback *cb, nnc_model *m, const char *key, const double *values, int n) {
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  int e = 0;
  for (; e < n && !m->stop_training; e++) {
    m->params[0] = (float)e; /* the weights at the end of epoch e */
    cbt_logs1(&logs, key, values[e]);
    cbt_epoch_end(cb, m, e, &logs);
  }
  cbt_train_end(cb, m);
  return e;
}

static nnc_callback *early(const cb_arg *args, int n) {
  return cbt_create(&cb_early_stopping, args, n);
}

/* The brief's example: val_loss 1.0, 0.9, 0.95, 0.97, 0.96, patience 2.
 * Epoch index 1 is the best; indices 2 and 3 do not improve, so wait
 * reaches 2 at index 3 ("Epoch 4: early stopping") and the weights of
 * index 1 ("the best epoch: 2") come back at train end. */
START_TEST(early_stopping_patience_and_restore) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("patience", 2), cbt_bool("restore_best_weights", 1), cbt_num("verbose", 1)};
  nnc_callback *cb = early(a, 3);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  m->fit.progress = out;
  double v[] = {1.0, 0.9, 0.95, 0.97, 0.96};
  ck_assert_int_eq(run(cb, m, "val_loss", v, 5), 4);
  fclose(out);
  ck_assert_float_eq(m->params[0], 1.0f);
  ck_assert_str_eq(text, "Epoch 4: early stopping\n"
                         "Restoring model weights from the end of the best epoch: 2.\n");
  free(text);
  /* without restore_best_weights the last weights stay */
  nnc_callback *plain = early(a, 1);
  m->stop_training = 0;
  ck_assert_int_eq(run(plain, m, "val_loss", v, 5), 4);
  ck_assert_float_eq(m->params[0], 3.0f);
  cbt_free(plain);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* min_delta is an absolute margin in the direction of "better": with
 * min_delta 0.1 (or -0.1: Keras takes |min_delta|), 1.0 -> 0.95 is no
 * improvement, so patience 1 stops at index 1. The sign flipped (0.95 - 0.1
 * < 1.0) would call it one and run on. */
START_TEST(early_stopping_min_delta_sign) {
  double v[] = {1.0, 0.95, 0.93, 0.9};
  for (int sign = -1; sign <= 1; sign += 2) {
    nnc_model *m = cbt_model();
    cb_arg a[] = {cbt_num("patience", 1), cbt_num("min_delta", 0.1 * sign),
                  cbt_str("monitor", "loss")};
    nnc_callback *cb = early(a, 3);
    ck_assert_int_eq(run(cb, m, "loss", v, 4), 2);
    cbt_free(cb);
    nnc_model_free(m);
  }
  /* max mode: the margin is added the other way (0.55 - 0.1 > 0.5 fails) */
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("patience", 1), cbt_num("min_delta", 0.1), cbt_str("mode", "max"),
                cbt_str("monitor", "val_accuracy")};
  nnc_callback *cb = early(a, 4);
  double acc[] = {0.5, 0.55, 0.7};
  ck_assert_int_eq(run(cb, m, "val_accuracy", acc, 3), 2);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* Keras compares with ops.less/ops.greater, which turn the Python floats
 * into float32 tensors: 0.99999999 is no improvement on 1.0 (equal in
 * float32), so patience 0 stops at index 1. In double it would improve. */
START_TEST(early_stopping_compares_in_float32) {
  nnc_model *m = cbt_model();
  nnc_callback *cb = early(NULL, 0);
  double v[] = {1.0, 0.99999999, 0.5};
  ck_assert_int_eq(run(cb, m, "val_loss", v, 3), 2);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* mode "auto": accuracy is maximized (Keras's metric _direction "up").
 * val_accuracy 0.5, 0.6, 0.55 with patience 1 stops at index 2; were it
 * minimized, index 1 would stop it. */
START_TEST(early_stopping_auto_mode_accuracy_is_max) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_str("monitor", "val_accuracy"), cbt_num("patience", 1)};
  nnc_callback *cb = early(a, 2);
  double v[] = {0.5, 0.6, 0.55, 0.7};
  ck_assert_int_eq(run(cb, m, "val_accuracy", v, 4), 3);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* A name whose direction Keras cannot tell (not "loss", not a metric of the
 * model) is a ValueError asking for a mode: NNC_ERR_ARG at the first epoch
 * end. A loss key of one output ("d_loss") is no metric either. */
START_TEST(early_stopping_auto_mode_unknown_name) {
  const char *names[] = {"val_foo", "val_mae", "d_loss"};
  for (int i = 0; i < 3; i++) {
    nnc_model *m = cbt_model();
    cb_arg a[] = {cbt_str("monitor", names[i])};
    nnc_callback *cb = early(a, 1);
    TEST_LOGS(logs);
    cbt_logs1(&logs, names[i], 1.0);
    cbt_train_begin(cb, m);
    nnc_status st;
    ck_assert_int_eq(cbt_epoch_end_rc(cb, m, 0, &logs, &st), NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, "test.json: $.callbacks[0].config.monitor: ") &&
                      strstr(st.message, names[i]) && strstr(st.message, "mode=\"max\""),
                  "%s", st.message);
    cbt_free(cb);
    nnc_model_free(m);
  }
}
END_TEST

/* baseline: an improvement resets the wait only if it also beats the
 * baseline. loss 0.9, 0.8, 0.7 improve but stay above baseline 0.5, so wait
 * is 3 when 0.75 fails to improve: patience 2 stops at index 3. Without a
 * baseline, wait is 1 there and training runs on. */
START_TEST(early_stopping_baseline) {
  double v[] = {0.9, 0.8, 0.7, 0.75, 0.76};
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_str("monitor", "loss"), cbt_num("patience", 2), cbt_num("baseline", 0.5),
                cbt_bool("restore_best_weights", 1)};
  nnc_callback *cb = early(a, 4);
  ck_assert_int_eq(run(cb, m, "loss", v, 5), 4);
  /* "An epoch will be restored regardless of the performance relative to
   * the baseline": the best (index 2) */
  ck_assert_float_eq(m->params[0], 2.0f);
  cbt_free(cb);
  cb_arg b[] = {cbt_str("monitor", "loss"), cbt_num("patience", 2), cbt_null("baseline")};
  cb = early(b, 3);
  ck_assert_int_eq(run(cb, m, "loss", v, 5), 5);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* start_from_epoch 2: indices 0 and 1 are not looked at, so 0.5 and 0.4 do
 * not become the best; 1.0 at index 2 does, 1.1 stops at index 3. From
 * epoch 0, 1.0 at index 2 would already stop it (patience 0). */
START_TEST(early_stopping_start_from_epoch) {
  double v[] = {0.5, 0.4, 1.0, 1.1, 1.2};
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("start_from_epoch", 2), cbt_bool("restore_best_weights", 1)};
  nnc_callback *cb = early(a, 2);
  ck_assert_int_eq(run(cb, m, "val_loss", v, 5), 4);
  ck_assert_float_eq(m->params[0], 2.0f);
  cbt_free(cb);
  cb = early(NULL, 0);
  ck_assert_int_eq(run(cb, m, "val_loss", v, 5), 3);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* Keras 3 restores the best weights at train end also when it never
 * stopped training (tf.keras 2 did not). */
START_TEST(early_stopping_restores_without_stopping) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("patience", 5), cbt_bool("restore_best_weights", 1)};
  nnc_callback *cb = early(a, 2);
  double v[] = {1.0, 0.8, 0.9};
  ck_assert_int_eq(run(cb, m, "val_loss", v, 3), 3);
  ck_assert(!m->stop_training);
  ck_assert_float_eq(m->params[0], 1.0f);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* No value ever improves on the initial best (+inf): NaN losses. The
 * snapshot taken at the first monitored epoch (index 0) is restored. */
START_TEST(early_stopping_no_improvement_restores_first) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("patience", 1), cbt_bool("restore_best_weights", 1)};
  nnc_callback *cb = early(a, 2);
  double v[] = {NAN, NAN, NAN};
  ck_assert_int_eq(run(cb, m, "val_loss", v, 3), 2);
  ck_assert_float_eq(m->params[0], 0.0f);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* The monitored key missing: Keras warns and does nothing; nnc records the
 * warning (once) for nnc_model_warning. A reused callback starts afresh
 * (on_train_begin resets wait and best). */
START_TEST(early_stopping_missing_key_warns) {
  nnc_model *m = cbt_model();
  nnc_callback *cb = early(NULL, 0);
  double v[] = {1.0, 2.0, 3.0};
  ck_assert_int_eq(run(cb, m, "loss", v, 3), 3);
  ck_assert_int_eq(nnc_model_warning_count(m), 1);
  ck_assert_str_eq(nnc_model_warning(m, 0),
                   "Early stopping conditioned on metric `val_loss` which is not available. "
                   "Available metrics are: loss");
  double w[] = {1.0, 2.0};
  ck_assert_int_eq(run(cb, m, "val_loss", w, 2), 2);
  m->stop_training = 0;
  double u[] = {5.0, 6.0}; /* best is None again: 5.0 improves, 6.0 stops */
  ck_assert_int_eq(run(cb, m, "val_loss", u, 2), 2);
  ck_assert(m->stop_training);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

START_TEST(early_stopping_bad_arguments) {
  nnc_status st;
  cb_arg a[] = {cbt_num("patiense", 2)};
  ck_assert_int_eq(cbt_create_fails(&cb_early_stopping, a, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "test.json: $.callbacks[0].config.patiense") &&
                    strstr(st.message, "patience"),
                "%s", st.message);
  cb_arg b[] = {cbt_num("patience", 1.5)};
  ck_assert_int_eq(cbt_create_fails(&cb_early_stopping, b, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "expected an integer"), "%s", st.message);
  cb_arg c[] = {cbt_str("mode", "maximum")};
  ck_assert_int_eq(cbt_create_fails(&cb_early_stopping, c, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "\"maximum\""), "%s", st.message);
  cb_arg d[] = {cbt_str("monitor", "loss"), cbt_str("monitor", "loss")};
  ck_assert_int_eq(cbt_create_fails(&cb_early_stopping, d, 2, &st), NNC_ERR_ARG);
}
END_TEST

/* ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.02) from
 * lr 0.1, val_loss 1.0 flat then 0.5 (min_delta 1e-4):
 *   index 0: best 1.0                       logs lr 0.1
 *   index 1: wait 1 -> lr 0.05, cooldown 1  logs 0.1 (the rate it ran with)
 *   index 2: cooldown 1 -> 0, wait 0; not in cooldown any more: wait 1
 *            -> lr 0.025, cooldown 1       logs 0.05
 *   index 3: the same -> max(0.0125, 0.02) = 0.02   logs 0.025
 *   index 4: wait 1, lr 0.02 is not > min_lr: nothing     logs 0.02
 *   index 5: 0.5 improves                   logs 0.02
 * Every rate is the float32 variable's value. */
START_TEST(reduce_lr_steps) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("factor", 0.5), cbt_num("patience", 1), cbt_num("cooldown", 1),
                cbt_num("min_lr", 0.02), cbt_num("verbose", 1)};
  nnc_callback *cb = cbt_create(&cb_reduce_lr_on_plateau, a, 5);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  m->fit.progress = out;
  double v[] = {1.0, 1.0, 1.0, 1.0, 1.0, 0.5};
  float f01 = 0.1f;
  double logged[] = {f01, f01, f01 / 2, f01 / 4, 0.02f, 0.02f};
  double after[] = {0.1, f01 / 2, f01 / 4, 0.02f, 0.02f, 0.02f}; /* 0.1: as set */
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  for (int e = 0; e < 6; e++) {
    cbt_logs1(&logs, "val_loss", v[e]);
    cbt_epoch_end(cb, m, e, &logs);
    ck_assert_msg(nnc_logs_get(&logs, "learning_rate") == logged[e], "index %d: logged %.17g", e,
                  nnc_logs_get(&logs, "learning_rate"));
    ck_assert_msg(nnc_model_learning_rate(m) == after[e], "index %d: lr %.17g", e,
                  nnc_model_learning_rate(m));
  }
  fclose(out);
  /* the message prints new_lr before the float32 store, as Python's repr */
  ck_assert_str_eq(text, "\nEpoch 2: ReduceLROnPlateau reducing learning rate to "
                         "0.05000000074505806.\n"
                         "\nEpoch 3: ReduceLROnPlateau reducing learning rate to "
                         "0.02500000037252903.\n"
                         "\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.02.\n");
  free(text);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* cooldown 0 and patience 2: reductions every 2 flat epochs; min_delta
 * 1e-4 makes 1.0 -> 0.99995 no improvement (a smaller margin would). */
START_TEST(reduce_lr_patience_and_min_delta) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_num("patience", 2)};
  nnc_callback *cb = cbt_create(&cb_reduce_lr_on_plateau, a, 1);
  double v[] = {1.0, 0.99995, 0.99995, 0.99995, 0.99995};
  float f01 = 0.1f;
  /* factor 0.1: lr * 0.1 in double, stored as float32 */
  float once = (float)((double)f01 * 0.1), twice = (float)((double)once * 0.1);
  double after[] = {0.1, 0.1, once, once, twice};
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  for (int e = 0; e < 5; e++) {
    cbt_logs1(&logs, "val_loss", v[e]);
    cbt_epoch_end(cb, m, e, &logs);
    ck_assert_msg(nnc_model_learning_rate(m) == after[e], "index %d: lr %.17g", e,
                  nnc_model_learning_rate(m));
  }
  cbt_free(cb);
  /* min_delta 1e-5: 0.99995 improves on 1.0, then flat */
  cb_arg b[] = {cbt_num("patience", 2), cbt_num("min_delta", 1e-5)};
  cb = cbt_create(&cb_reduce_lr_on_plateau, b, 2);
  nnc_status st;
  ck_assert(nnc_model_set_learning_rate(m, 0.1, &st) == NNC_OK);
  cbt_train_begin(cb, m);
  for (int e = 0; e < 3; e++) {
    cbt_logs1(&logs, "val_loss", v[e]);
    cbt_epoch_end(cb, m, e, &logs);
  }
  ck_assert(nnc_model_learning_rate(m) == 0.1);
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* cooldown counts down at the start of the next epoch end, so cooldown 2
 * skips one epoch (index 2) and cooldown 1 skips none — the same as 0
 * (Keras's order: decrement, then test in_cooldown()). factor 0.5,
 * patience 1, flat val_loss: lr after each index 0..4. */
START_TEST(reduce_lr_cooldown) {
  float f01 = 0.1f;
  double two[] = {0.1, f01 / 2, f01 / 2, f01 / 4, f01 / 4};
  double one[] = {0.1, f01 / 2, f01 / 4, f01 / 8, f01 / 16};
  for (int cooldown = 0; cooldown <= 2; cooldown++) {
    nnc_model *m = cbt_model();
    cb_arg a[] = {cbt_num("factor", 0.5), cbt_num("patience", 1), cbt_num("cooldown", cooldown)};
    nnc_callback *cb = cbt_create(&cb_reduce_lr_on_plateau, a, 3);
    TEST_LOGS(logs);
    cbt_train_begin(cb, m);
    for (int e = 0; e < 5; e++) {
      cbt_logs1(&logs, "val_loss", 1.0);
      cbt_epoch_end(cb, m, e, &logs);
      double want = cooldown == 2 ? two[e] : one[e];
      ck_assert_msg(nnc_model_learning_rate(m) == want, "cooldown %d, index %d: lr %.17g", cooldown,
                    e, nnc_model_learning_rate(m));
    }
    cbt_free(cb);
    nnc_model_free(m);
  }
}
END_TEST

/* mode max on val_accuracy; a missing key still logs the learning rate
 * and warns. factor >= 1 is refused as Keras refuses it. */
START_TEST(reduce_lr_max_mode_missing_key_and_factor) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_str("monitor", "val_accuracy"), cbt_num("patience", 1)};
  nnc_callback *cb = cbt_create(&cb_reduce_lr_on_plateau, a, 2);
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  double v[] = {0.5, 0.7, 0.6};
  double after[] = {0.1, 0.1, (float)((double)0.1f * 0.1)};
  for (int e = 0; e < 3; e++) {
    cbt_logs1(&logs, "val_accuracy", v[e]);
    cbt_epoch_end(cb, m, e, &logs);
    ck_assert_msg(nnc_model_learning_rate(m) == after[e], "index %d: lr %.17g", e,
                  nnc_model_learning_rate(m));
  }
  cbt_logs1(&logs, "loss", 1.0);
  cbt_epoch_end(cb, m, 3, &logs);
  ck_assert(nnc_logs_get(&logs, "learning_rate") == (double)(float)after[2]);
  ck_assert_int_eq(nnc_model_warning_count(m), 1);
  ck_assert_msg(strstr(nnc_model_warning(m, 0), "`val_accuracy` which is not available"), "%s",
                nnc_model_warning(m, 0));
  cbt_free(cb);
  nnc_model_free(m);
  nnc_status st;
  cb_arg f[] = {cbt_num("factor", 1.0)};
  ck_assert_int_eq(cbt_create_fails(&cb_reduce_lr_on_plateau, f, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "factor >= 1.0"), "%s", st.message);
}
END_TEST

/* LearningRateScheduler with a list: epoch e (0-based) runs with the e-th
 * value as float32, logged at epoch end; an epoch past the list is an error
 * naming the argument. */
START_TEST(lr_scheduler_list) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_json("schedule", "[0.1, 0.05, 0.3]"), cbt_num("verbose", 1)};
  nnc_callback *cb = cbt_create(&cb_lr_scheduler, a, 2);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  m->fit.progress = out;
  double v[] = {0.1, 0.05, 0.3};
  TEST_LOGS(logs);
  for (int e = 0; e < 3; e++) {
    cbt_logs1(&logs, NULL, 0);
    cbt_epoch_begin(cb, m, e, &logs);
    ck_assert(nnc_model_learning_rate(m) == (double)(float)v[e]);
    cbt_logs1(&logs, "loss", 1.0);
    cbt_epoch_end(cb, m, e, &logs);
    ck_assert(nnc_logs_get(&logs, "learning_rate") == (double)(float)v[e]);
    ck_assert_int_eq(logs.n, 2);
  }
  fclose(out);
  ck_assert_str_eq(text, "\nEpoch 1: LearningRateScheduler setting learning rate to 0.1.\n"
                         "\nEpoch 2: LearningRateScheduler setting learning rate to 0.05.\n"
                         "\nEpoch 3: LearningRateScheduler setting learning rate to 0.3.\n");
  free(text);
  nnc_status st;
  ck_assert_int_eq(cb->on_epoch_begin(cb, m, 3, &logs, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "$.callbacks[0].config.schedule") &&
                    strstr(st.message, "epoch 4"),
                "%s", st.message);
  cbt_free(cb);
  nnc_model_free(m);
  cb_arg b[] = {cbt_json("schedule", "[0.1, -1]")};
  ck_assert_int_eq(cbt_create_fails(&cb_lr_scheduler, b, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "[1]"), "%s", st.message);
  cb_arg c[] = {cbt_num("verbose", 0)};
  ck_assert_int_eq(cbt_create_fails(&cb_lr_scheduler, c, 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "'schedule'"), "%s", st.message);
}
END_TEST

/* schedule= a Keras LearningRateSchedule object, evaluated at the epoch
 * index: ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5) gives
 * float32(0.1) * 2^-epoch (exact halvings of the float32 0.1). */
START_TEST(lr_scheduler_schedule_object) {
  nnc_model *m = cbt_model();
  cb_arg a[] = {cbt_json("schedule", "{\"class_name\": \"ExponentialDecay\", \"config\": "
                                     "{\"initial_learning_rate\": 0.1, \"decay_steps\": 1, "
                                     "\"decay_rate\": 0.5}}")};
  nnc_callback *cb = cbt_create(&cb_lr_scheduler, a, 1);
  TEST_LOGS(logs);
  for (int e = 0; e < 4; e++) {
    cbt_epoch_begin(cb, m, e, &logs);
    ck_assert_msg(nnc_model_learning_rate(m) == (double)(0.1f / (float)(1 << e)),
                  "epoch %d: lr %.17g", e, nnc_model_learning_rate(m));
  }
  cbt_free(cb);
  nnc_model_free(m);
}
END_TEST

/* nnc_logs_set adds or replaces; a name that does not fit NNC_LOG_NAME is
 * refused rather than cut. */
START_TEST(logs_set_adds_and_replaces) {
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert(nnc_logs_set(&logs, "val_loss", 2, &st) == NNC_OK);
  ck_assert(nnc_logs_set(&logs, "loss", 1, &st) == NNC_OK);
  ck_assert(nnc_logs_set(&logs, "learning_rate", 0.5, &st) == NNC_OK);
  ck_assert(nnc_logs_set(&logs, "loss", 3, &st) == NNC_OK);
  ck_assert_int_eq(logs.n, 3);
  ck_assert(nnc_logs_get(&logs, "loss") == 3);
  ck_assert(nnc_logs_get(&logs, "learning_rate") == 0.5);
  char long_name[NNC_LOG_NAME + 1];
  memset(long_name, 'a', NNC_LOG_NAME);
  long_name[NNC_LOG_NAME] = '\0';
  ck_assert_int_eq(nnc_logs_set(&logs, long_name, 1, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_logs_set(NULL, "x", 1, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "nnc_logs_set: logs is NULL"), "%s", st.message);
}
END_TEST

START_TEST(float_repr_as_python) {
  extern void cb_float_repr(double v, char *out, size_t room);
  struct {
    double v;
    const char *s;
  } rows[] = {{0.1, "0.1"},
              {1e-5, "1e-05"},
              {0.0001, "0.0001"},
              {123.0, "123.0"},
              {0.1f, "0.10000000149011612"},
              {1.5e16, "1.5e+16"},
              {-2.5, "-2.5"},
              {0.0, "0.0"}};
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    char out[64];
    cb_float_repr(rows[i].v, out, sizeof out);
    ck_assert_str_eq(out, rows[i].s);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("callbacks_monitor");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, early_stopping_patience_and_restore);
  tcase_add_test(tc, early_stopping_min_delta_sign);
  tcase_add_test(tc, early_stopping_compares_in_float32);
  tcase_add_test(tc, early_stopping_auto_mode_accuracy_is_max);
  tcase_add_test(tc, early_stopping_auto_mode_unknown_name);
  tcase_add_test(tc, early_stopping_baseline);
  tcase_add_test(tc, early_stopping_start_from_epoch);
  tcase_add_test(tc, early_stopping_restores_without_stopping);
  tcase_add_test(tc, early_stopping_no_improvement_restores_first);
  tcase_add_test(tc, early_stopping_missing_key_warns);
  tcase_add_test(tc, early_stopping_bad_arguments);
  tcase_add_test(tc, reduce_lr_steps);
  tcase_add_test(tc, reduce_lr_patience_and_min_delta);
  tcase_add_test(tc, reduce_lr_cooldown);
  tcase_add_test(tc, reduce_lr_max_mode_missing_key_and_factor);
  tcase_add_test(tc, lr_scheduler_list);
  tcase_add_test(tc, float_repr_as_python);
  tcase_add_test(tc, logs_set_adds_and_replaces);
  tcase_add_test(tc, lr_scheduler_schedule_object);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
