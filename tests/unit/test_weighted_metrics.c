/* weighted_metrics (compile config): a metric listed there is updated with
 * the sample weights (keras/src/metrics/reduction_metrics.py Mean:
 * sum(w v) / sum(w); metrics_utils.update_confusion_matrix_variables: each
 * element counts its weight), and a name already logged by `metrics` gets
 * Keras's "weighted_" prefix (trainers/compile_utils.py
 * CompileMetrics.result). The model predicts its input (Dense set to the
 * identity); expected values are derived by hand in the comments. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

static nnc_model *identity_model(void) {
  const char *json =
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 1], 'name': 'in'}},"
      "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]},"
      "'compile_config': {'optimizer': 'sgd', 'loss': 'mse', 'metrics': ['mae', 'precision'],"
      " 'weighted_metrics': ['mae', 'precision', 'root_mean_squared_error']}}";
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(testutil_json(json), "weighted.json", &m, &st) == NNC_OK,
                "%s", st.message);
  float kernel[1] = {1}, bias[1] = {0};
  nnc_array k = testutil_f32(kernel, 1, 1), b = testutil_f32(bias, 1, 1);
  b.rank = 1;
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "d/bias", &b, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* batches of 3, 3, 2 */
static float x[8] = {0.9f, 0.6f, 0.4f, 0.8f, 0.2f, 0.7f, 0.3f, 0.1f};
static float y[8] = {1, 0, 1, 1, 0, 0, 1, 0};
static float w[8] = {3, 1, 1, 1, 1, 2, 1, 3};

static nnc_array part(float *data, int64_t from, int64_t to, int per_sample_axis) {
  nnc_array a = {0};
  a.dtype = NNC_F32;
  a.rank = per_sample_axis ? 2 : 1;
  a.shape[0] = to - from;
  a.shape[1] = 1;
  a.data = data + from;
  return a;
}

static double logged(const nnc_logs *l, const char *key) {
  double v = nnc_logs_get(l, key);
  ck_assert_msg(!isnan(v), "no log key %s", key);
  return v;
}

static void evaluate(nnc_model *m, int64_t from, int64_t to, int weighted, nnc_logs *out) {
  nnc_status st;
  nnc_array xa = part(x, from, to, 1), ya = part(y, from, to, 1), wa = part(w, from, to, 0);
  ck_assert_msg(
      nnc_model_evaluate_weighted(m, 1, &xa, 1, &ya, weighted ? &wa : NULL, 3, out, &st) == NNC_OK,
      "%s", st.message);
}

/* |y - x| = .1 .6 .6 | .2 .2 .7 | .7 .1, weights 3 1 1 | 1 1 2 | 1 3 (sum 13).
 * mae: 3.2 / 8 = 0.4; weighted: (.3 + .6 + .6 + .2 + .2 + 1.4 + .7 + .3) / 13
 * = 4.3 / 13; per batch 1.5 / 5, 1.8 / 4, 1 / 4: mean 1/3, not 4.3 / 13.
 * Precision at 0.5: predicted .9 (TP, w 3) .6 (FP, 1) .8 (TP, 1) .7 (FP, 2):
 * 2 / 4 unweighted, 4 / 7 weighted; per batch 3/4, 1/3, 0: mean 0.3611.
 * RMSE: squares .01 .36 .36 | .04 .04 .49 | .49 .01, weighted sum 2.33:
 * sqrt(2.33 / 13); per batch sqrt(.75/5), sqrt(1.06/4), sqrt(.52/4). */
START_TEST(weighted_metrics_weigh_the_epoch_totals) {
  nnc_model *m = identity_model();
  const struct { /* not static: sqrt() is not a constant expression for clang */
    const char *key;
    double want, batch_mean;
  } keys[] = {
      {"mae", 0.4, 0.4},
      {"precision", 0.5, (0.5 + 0.5 + 0.0) / 3},
      {"weighted_mae", 4.3 / 13, (0.3 + 0.45 + 0.25) / 3},
      {"weighted_precision", 4.0 / 7, (0.75 + 1.0 / 3 + 0) / 3},
      {"root_mean_squared_error", sqrt(2.33 / 13),
       (sqrt(0.75 / 5) + sqrt(1.06 / 4) + sqrt(0.52 / 4)) / 3},
  };
  TEST_LOGS(all);
  evaluate(m, 0, 8, 1, &all);
  double sum[5] = {0};
  for (int from = 0; from < 8; from += 3) {
    TEST_LOGS(one);
    evaluate(m, from, from + 3 < 8 ? from + 3 : 8, 1, &one);
    for (int i = 0; i < 5; i++) sum[i] += logged(&one, keys[i].key);
  }
  for (int i = 0; i < 5; i++) {
    double got = logged(&all, keys[i].key);
    ck_assert_msg(fabs(got - keys[i].want) <= 1e-6, "%s: got %.9g, want %.9g", keys[i].key, got,
                  keys[i].want);
    ck_assert_msg(fabs(sum[i] / 3 - keys[i].batch_mean) <= 1e-6, "%s: batch mean %.9g, want %.9g",
                  keys[i].key, sum[i] / 3, keys[i].batch_mean);
  }
  /* the weighted values differ from the unweighted ones and from the batch means */
  ck_assert(fabs(4.3 / 13 - 0.4) > 1e-3 && fabs(4.3 / 13 - 1.0 / 3) > 1e-3);
  ck_assert(fabs(4.0 / 7 - 0.5) > 1e-3);
  nnc_model_free(m);
}
END_TEST

/* Without sample weights a weighted metric is the unweighted one. */
START_TEST(weighted_metrics_without_weights_are_unweighted) {
  nnc_model *m = identity_model();
  TEST_LOGS(all);
  evaluate(m, 0, 8, 0, &all);
  ck_assert_double_eq_tol(logged(&all, "weighted_mae"), 0.4, 1e-6);
  ck_assert_double_eq_tol(logged(&all, "weighted_precision"), 0.5, 1e-6);
  /* squares sum 1.8 over 8 samples */
  ck_assert_double_eq_tol(logged(&all, "root_mean_squared_error"), sqrt(1.8 / 8), 1e-6);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("weighted_metrics");
  TCase *tc = tcase_create("weighted");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, weighted_metrics_weigh_the_epoch_totals);
  tcase_add_test(tc, weighted_metrics_without_weights_are_unweighted);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
