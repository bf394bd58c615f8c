/* mode="auto" follows the metric's class, as Keras 3's _set_monitor_op
 * (keras/src/callbacks/monitor_callback.py) follows each compiled metric's
 * `_direction`, not its name: the compiler records the direction on each
 * log key of the program table and EarlyStopping reads it there. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cb_testutil.h"
#include "testutil.h"

extern const cb_class cb_early_stopping;

/* Dense(2 -> 1, sigmoid), binary crossentropy; metrics named against their
 * class: MeanSquaredError "h", a MeanAbsoluteError Loss object "abs_loss",
 * AUC "score", MeanAbsoluteError "accuracy", TruePositives "tp" and an
 * expression "e". */
static nnc_model *model(void) {
  const char *spec =
      testutil_json("{'class_name': 'Sequential', 'config': {'name': 'dir', 'layers': ["
                    "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1, "
                    "'activation': 'sigmoid', 'batch_input_shape': [null, 2]}}]},"
                    " 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
                    "{'learning_rate': 0.1}}, 'loss': 'binary_crossentropy', 'metrics': ["
                    "{'class_name': 'MeanSquaredError', 'config': {'name': 'h'}},"
                    "{'module': 'keras.losses', 'class_name': 'MeanAbsoluteError', 'config': "
                    "{'name': 'abs_loss'}},"
                    "{'class_name': 'AUC', 'config': {'name': 'score'}},"
                    "{'class_name': 'MeanAbsoluteError', 'config': {'name': 'accuracy'}},"
                    "{'class_name': 'TruePositives', 'config': {'name': 'tp'}},"
                    "{'expression': 'mean(abs(y_true - y_pred), axis=-1)', 'name': 'e'}]}}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "dir.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_is_built(m));
  m->resume_epoch = -1;
  return m;
}

static nnc_log_direction direction_of(const nnc_model *m, const char *key) {
  for (int i = 0; i < m->t->n_log_keys; i++)
    if (!strcmp(m->t->log_keys[i].name, key)) return m->t->log_keys[i].direction;
  ck_abort_msg("no log key %s", key);
  return NNC_LOG_DIRECTION_UNKNOWN;
}

/* Keras: AUC, the accuracies... "up"; MeanMetricWrappers of losses and the
 * error metrics "down"; TruePositives, user functions and the loss tracker
 * none. */
START_TEST(table_records_class_directions) {
  nnc_model *m = model();
  ck_assert_int_eq(direction_of(m, "loss"), NNC_LOG_DIRECTION_UNKNOWN);
  ck_assert_int_eq(direction_of(m, "h"), NNC_LOG_DIRECTION_DOWN);
  ck_assert_int_eq(direction_of(m, "abs_loss"), NNC_LOG_DIRECTION_DOWN);
  ck_assert_int_eq(direction_of(m, "score"), NNC_LOG_DIRECTION_UP);
  ck_assert_int_eq(direction_of(m, "accuracy"), NNC_LOG_DIRECTION_DOWN);
  ck_assert_int_eq(direction_of(m, "tp"), NNC_LOG_DIRECTION_UNKNOWN);
  ck_assert_int_eq(direction_of(m, "e"), NNC_LOG_DIRECTION_UNKNOWN);
  nnc_model_free(m);
}
END_TEST

/* EarlyStopping(monitor=key, patience=1) over `values`; returns the epochs run. */
static int epochs_run(const char *key, const double *values, int n) {
  nnc_model *m = model();
  cb_arg a[] = {cbt_str("monitor", key), cbt_num("patience", 1)};
  nnc_callback *cb = cbt_create(&cb_early_stopping, a, 2);
  TEST_LOGS(logs);
  cbt_train_begin(cb, m);
  int e = 0;
  for (; e < n && !m->stop_training; e++) {
    cbt_logs1(&logs, key, values[e]);
    cbt_epoch_end(cb, m, e, &logs);
  }
  cbt_train_end(cb, m);
  cbt_free(cb);
  nnc_model_free(m);
  return e;
}

/* Values 0.5, 0.6, 0.55, 0.7 with patience 1: maximized, 0.6 improves and
 * 0.55 does not, so index 2 stops (3 epochs); minimized, 0.6 already fails
 * and index 1 stops (2 epochs). Values 1.0, 0.9, 0.95, 0.8: minimized
 * 3 epochs, maximized 2. */
START_TEST(early_stopping_auto_follows_class) {
  double rising[] = {0.5, 0.6, 0.55, 0.7}, falling[] = {1.0, 0.9, 0.95, 0.8};
  ck_assert_int_eq(epochs_run("val_score", rising, 4), 3); /* AUC: max */
  ck_assert_int_eq(epochs_run("score", rising, 4), 3);
  ck_assert_int_eq(epochs_run("val_h", falling, 4), 3); /* MeanSquaredError: min */
  ck_assert_int_eq(epochs_run("val_abs_loss", falling, 4), 3);
  /* the class, not the name: MeanAbsoluteError named "accuracy" is min */
  ck_assert_int_eq(epochs_run("val_accuracy", falling, 4), 3);
  ck_assert_int_eq(epochs_run("val_loss", falling, 4), 3);
}
END_TEST

/* No direction (TruePositives, an expression): Keras's ValueError asking
 * for a mode, NNC_ERR_ARG at the first epoch end. */
START_TEST(early_stopping_auto_without_direction_asks_for_mode) {
  const char *names[] = {"val_tp", "e"};
  for (int i = 0; i < 2; i++) {
    nnc_model *m = model();
    cb_arg a[] = {cbt_str("monitor", names[i])};
    nnc_callback *cb = cbt_create(&cb_early_stopping, a, 1);
    TEST_LOGS(logs);
    cbt_logs1(&logs, names[i], 1.0);
    cbt_train_begin(cb, m);
    nnc_status st;
    ck_assert_int_eq(cbt_epoch_end_rc(cb, m, 0, &logs, &st), NNC_ERR_ARG);
    ck_assert_msg(strstr(st.message, names[i]) && strstr(st.message, "mode=\"min\""), "%s",
                  st.message);
    cbt_free(cb);
    nnc_model_free(m);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("monitor_direction");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, table_records_class_directions);
  tcase_add_test(tc, early_stopping_auto_follows_class);
  tcase_add_test(tc, early_stopping_auto_without_direction_asks_for_mode);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
