/* Host metrics (nnc_model_add_metric): update_state sees every train and
 * test batch's targets and predictions, row by row in the same order;
 * reset_state runs at each epoch and evaluation; result() is logged under
 * the metric's name and val_<name>. The truth: counts and a max error
 * derived by hand from predict() with the weights held still (learning
 * rate 0). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

enum { N = 11, IN = 3, OUT = 2 };
static float xs[N * IN], ys[N * OUT];

typedef struct tally {
  double rows, max_err;
  int resets, bad_widths;
} tally;

static void reset(void *user) {
  tally *t = user;
  t->rows = 0;
  t->max_err = 0;
  t->resets++;
}

static void update(void *user, const float *y_true, int64_t true_per_row, const float *y_pred,
                   int64_t pred_per_row, const float *sample_weight, int64_t rows) {
  tally *t = user;
  (void)sample_weight;
  t->bad_widths += true_per_row != OUT || pred_per_row != OUT || !y_true;
  t->rows += (double)rows;
  for (int64_t i = 0; y_true && i < rows * OUT; i++)
    t->max_err = fmax(t->max_err, fabs((double)y_true[i] - y_pred[i]));
}

static double rows_result(void *user) {
  return ((tally *)user)->rows;
}
static double max_result(void *user) {
  return ((tally *)user)->max_err;
}

static nnc_model *model(void) {
  const char *json =
      Q("{'class_name': 'Sequential', 'config': {'name': 's', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3], 'name': 'in'}},"
        "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 2, 'activation': 'tanh'}}]},"
        "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.0}}, "
        "'loss': 'mse', 'metrics': ['mae']}}");
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  for (int i = 0; i < N * IN; i++) xs[i] = (float)sin(0.7 * i + 0.1);
  for (int i = 0; i < N * OUT; i++) ys[i] = (float)cos(1.9 * i);
  return m;
}

/* max |y - predict(x)| over rows [from, to) */
static double hand_max(nnc_model *m, int from, int to) {
  nnc_array x = testutil_f32(xs, N, IN), p;
  nnc_status st;
  ck_assert(nnc_model_predict(m, &x, 4, &p, &st) == NNC_OK);
  double worst = 0;
  for (int i = from * OUT; i < to * OUT; i++)
    worst = fmax(worst, fabs((double)ys[i] - ((float *)p.data)[i]));
  nnc_array_free(&p);
  return worst;
}

START_TEST(fit_and_evaluate_report_host_metrics) {
  nnc_model *m = model();
  tally count = {0}, worst = {0};
  nnc_metric a = {"rows_seen", 0, &count, reset, update, rows_result};
  nnc_metric b = {"max_err", 0, &worst, reset, update, max_result};
  nnc_status st;
  double before = hand_max(m, 0, N);
  ck_assert_msg(nnc_model_add_metric(m, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_add_metric(m, &b, &st) == NNC_OK, "%s", st.message);
  /* a built model is recompiled with the same weights */
  ck_assert(hand_max(m, 0, N) == before);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = 3;
  o.batch_size = 4;
  o.shuffle = 1; /* rows in batch order: targets and predictions stay paired */
  o.verbose = 0;
  o.validation_split = 3.0 / N; /* the last 3 rows */
  nnc_history h = {0};
  nnc_array x = testutil_f32(xs, N, IN), y = testutil_f32(ys, N, OUT);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  double train_max = hand_max(m, 0, N - 3), val_max = hand_max(m, N - 3, N);
  for (int e = 0; e < 3; e++) {
    ck_assert_double_eq(nnc_history_get(&h, "rows_seen", e), N - 3); /* reset every epoch */
    ck_assert_double_eq(nnc_history_get(&h, "val_rows_seen", e), 3);
    ck_assert_double_eq_tol(nnc_history_get(&h, "max_err", e), train_max, 1e-7);
    ck_assert_double_eq_tol(nnc_history_get(&h, "val_max_err", e), val_max, 1e-7);
  }
  ck_assert_int_eq(count.bad_widths, 0);
  nnc_history_free(&h);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 5, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_double_eq(nnc_logs_get(&logs, "rows_seen"), N);
  ck_assert_double_eq_tol(nnc_logs_get(&logs, "max_err"), hand_max(m, 0, N), 1e-7);
  ck_assert(!isnan(nnc_logs_get(&logs, "mae"))); /* the compiled metrics are still there */
  int resets = count.resets;
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_double_eq(nnc_logs_get(&logs, "rows_seen"), N);
  ck_assert_int_eq(count.resets, resets + 1);
  nnc_model_free(m);
}
END_TEST

START_TEST(bad_host_metrics_are_refused) {
  nnc_model *m = model();
  tally t = {0};
  nnc_status st;
  nnc_metric bad = {"loss", 0, &t, reset, update, rows_result};
  ck_assert_int_eq(nnc_model_add_metric(m, &bad, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "other than \"loss\""), "%s", st.message);
  bad.name = "mae"; /* the compiled metric's key */
  ck_assert_int_eq(nnc_model_add_metric(m, &bad, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "already logs a metric named \"mae\""), "%s", st.message);
  bad.name = "ok";
  bad.output = 1;
  ck_assert_int_eq(nnc_model_add_metric(m, &bad, &st), NNC_ERR_ARG);
  ck_assert_msg(strstr(st.message, "output 1 is not in [0, 1)"), "%s", st.message);
  bad.output = 0;
  bad.result = NULL;
  ck_assert_int_eq(nnc_model_add_metric(m, &bad, &st), NNC_ERR_ARG);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("host_metrics");
  TCase *tc = tcase_create("host_metrics");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, fit_and_evaluate_report_host_metrics);
  tcase_add_test(tc, bad_host_metrics_are_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
