/* Stateful metrics (compiler/metrics, runtime/metric_results.c): each epoch
 * value is the global value of Keras's accumulated variables, not a mean of
 * batch values. The models predict their input (a Dense layer set to the
 * identity), so y_pred is the data; expected values are derived by hand from
 * the formulas of keras/src/metrics (comments show the arithmetic) or, for
 * Mean metrics, from the Keras formula in double precision here. Each case
 * also evaluates every batch alone and checks that the mean of those batch
 * values differs from the global value, so the test tells the two apart
 * (for every metric class at least once). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Sequential: InputLayer of per-sample shape `shape`, Dense(units, linear)
 * whose kernel is then set to the identity and bias to zero. */
static nnc_model *identity_model(const char *shape, int units, const char *loss,
                                 const char *metrics) {
  static char json[16384];
  snprintf(json, sizeof json,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d}}]},"
           "'compile_config': {'optimizer': 'sgd', 'loss': %s, 'metrics': %s}}",
           shape, units, loss, metrics);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(testutil_json(json), "metrics.json", &m, &st) == NNC_OK, "%s",
                st.message);
  float kernel[64] = {0}, bias[8] = {0};
  for (int i = 0; i < units; i++) kernel[i * units + i] = 1.0f;
  nnc_array k = testutil_f32(kernel, units, units), b = testutil_f32(bias, units, 1);
  b.rank = 1;
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "d/bias", &b, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* x and y: n samples of `per` floats each (shape gives the per-sample shape). */
static nnc_array slice(float *data, int rank, const int64_t *shape, int64_t from, int64_t to) {
  nnc_array a = {0};
  a.dtype = NNC_F32;
  a.rank = rank;
  a.shape[0] = to - from;
  int64_t per = 1;
  for (int i = 1; i < rank; i++) per *= (a.shape[i] = shape[i]);
  a.data = data + from * per;
  return a;
}

typedef struct expect {
  const char *key;
  double value;
  /* 1: these data give the same batch mean (another key of the class,
   * or another test, shows the difference) */
  int same_mean;
} expect;

/* Evaluates with batch_size over all n samples, checks each key's value,
 * then evaluates each batch alone and checks that the mean of the batch
 * values differs from the global one. */
static void check_global(nnc_model *m, float *x, int x_rank, const int64_t *x_shape, float *y,
                         int y_rank, const int64_t *y_shape, int batch_size, const expect *want,
                         int n_want) {
  int64_t n = x_shape[0];
  nnc_status st;
  nnc_array xa = slice(x, x_rank, x_shape, 0, n), ya = slice(y, y_rank, y_shape, 0, n);
  TEST_LOGS(all);
  ck_assert_msg(nnc_model_evaluate(m, &xa, &ya, batch_size, &all, &st) == NNC_OK, "%s", st.message);
  double batch_mean[32] = {0};
  int batches = 0;
  for (int64_t from = 0; from < n; from += batch_size, batches++) {
    int64_t to = from + batch_size < n ? from + batch_size : n;
    nnc_array xb = slice(x, x_rank, x_shape, from, to), yb = slice(y, y_rank, y_shape, from, to);
    TEST_LOGS(one);
    ck_assert_msg(nnc_model_evaluate(m, &xb, &yb, batch_size, &one, &st) == NNC_OK, "%s",
                  st.message);
    for (int i = 0; i < n_want; i++) batch_mean[i] += nnc_logs_get(&one, want[i].key);
  }
  for (int i = 0; i < n_want; i++) {
    double got = nnc_logs_get(&all, want[i].key), mean = batch_mean[i] / batches;
    ck_assert_msg(fabs(got - want[i].value) <= 1e-5 * (1 + fabs(want[i].value)),
                  "%s: got %.9g, want the global value %.9g (mean of batch values %.9g)",
                  want[i].key, got, want[i].value, mean);
    ck_assert_msg(want[i].same_mean || fabs(mean - want[i].value) > 1e-4,
                  "%s: the data does not tell the global value %.9g from the batch mean %.9g",
                  want[i].key, want[i].value, mean);
  }
}

/* ---- binary: one probability per sample ---- */

/* batches of 3, 3, 2 */
static float bx[8] = {0.9f, 0.6f, 0.4f, 0.8f, 0.2f, 0.7f, 0.3f, 0.1f};
static float by[8] = {1, 0, 1, 1, 0, 0, 1, 0};
static const int64_t b_shape[2] = {8, 1};

START_TEST(confusion_counts_are_global) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "['precision', 'recall', {'class_name': 'Precision', 'config': {'name': 'pt', "
      "'thresholds': [0.3, 0.75]}}, {'class_name': 'Recall', 'config': {'name': 'r1', "
      "'thresholds': [0.35]}}, 'true_positives', 'false_positives', 'true_negatives', "
      "{'class_name': 'FalseNegatives', 'config': {'thresholds': 0.65}}, 'binary_io_u']");
  /* threshold 0.5: predicted positive 0.9 (T) 0.6 (F) 0.8 (T) 0.7 (F); missed
   * positives 0.4, 0.3: TP 2, FP 2, FN 2, TN 2 (0.2, 0.1).
   * thresholds 0.3: > 0.3 are 0.9 T, 0.6 F, 0.4 T, 0.8 T, 0.7 F: 3 / 5;
   * 0.75: 0.9 T, 0.8 T: 2 / 2. Recall at 0.35: TP 3 (0.9, 0.4, 0.8) of 4.
   * FalseNegatives at 0.65: positives 0.4, 0.3 are <= 0.65: 2.
   * BinaryIoU (class 1 when y_pred >= .5): confusion [[2, 2], [2, 2]]: IoU of
   * each class 2 / (4 + 4 - 2) = 1/3, mean 1/3. */
  static const expect want[] = {
      {"precision", 0.5, 0},       {"recall", 0.5, 1},       {"pt[0]", 0.6, 0},
      {"pt[1]", 1.0, 0},           {"r1", 0.75, 0},          {"true_positives", 2, 0},
      {"false_positives", 2, 0},   {"true_negatives", 2, 0}, {"false_negatives", 2, 0},
      {"binary_io_u", 1.0 / 3, 0},
  };
  check_global(m, bx, 2, b_shape, by, 2, b_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

START_TEST(auc_is_the_trapezoid_of_the_epoch_counts) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "[{'class_name': 'AUC', 'config': {'num_thresholds': 3}},"
      " {'class_name': 'AUC', 'config': {'name': 'roc_min', 'num_thresholds': 3, "
      "'summation_method': 'minoring'}},"
      " {'class_name': 'AUC', 'config': {'name': 'roc_maj', 'num_thresholds': 3, "
      "'summation_method': 'majoring'}},"
      " {'class_name': 'AUC', 'config': {'name': 'pr', 'num_thresholds': 3, 'curve': 'PR'}},"
      " {'class_name': 'AUC', 'config': {'name': 'pr_min', 'num_thresholds': 3, 'curve': 'PR', "
      "'summation_method': 'minoring'}},"
      " {'class_name': 'AUC', 'config': {'name': 'auc5', 'num_thresholds': 5}}]");
  /* Thresholds [-eps, 0.5, 1 + eps]; bucket ceil(2p) - 1 (>= 0): positives
   * 0.9 0.4 0.8 0.3 -> buckets 1 0 1 0, negatives 0.6 0.2 0.7 0.1 -> 1 0 1 0.
   * tp = fp = [4, 2, 0], fn = tn = [0, 2, 4]; recall = fpr = [1, .5, 0].
   * ROC interpolation: .5 * (1 + .5) / 2 + .5 * (.5 + 0) / 2 = 0.5;
   * minoring: .5 * .5 + .5 * 0 = .25; majoring: .5 * 1 + .5 * .5 = .75.
   * PR (x recall, y precision [.5, .5, 0]): interpolation (Davis-Goadrich):
   * per interval slope = dtp / dp = 2 / 4, intercept 0, so each adds
   * .5 * 2 / (tp + fn = 4) = .25: 0.5; minoring: .5 * .5 + .5 * 0 = .25.
   * 5 thresholds [-eps, .25, .5, .75, 1 + eps], bucket ceil(4p) - 1:
   * positives .9 .4 .8 .3 -> 3 1 3 1, negatives .6 .2 .7 .1 -> 2 0 2 0;
   * tp = [4, 4, 2, 2, 0], fp = [4, 2, 2, 0, 0] of 4 each: recall
   * [1, 1, .5, .5, 0], fpr [1, .5, .5, 0, 0]: .5 * 1 + 0 + .5 * .5 + 0 = .75. */
  static const expect want[] = {{"auc", 0.5, 1}, {"roc_min", 0.25, 0}, {"roc_maj", 0.75, 0},
                                {"pr", 0.5, 0},  {"pr_min", 0.25, 0},  {"auc5", 0.75, 0}};
  check_global(m, bx, 2, b_shape, by, 2, b_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

START_TEST(at_metrics_are_global) {
  nnc_model *m = identity_model(
      "1", 1, "'mse'",
      "[{'class_name': 'SensitivityAtSpecificity', 'config': {'specificity': 0.5, "
      "'num_thresholds': 3}},"
      " {'class_name': 'SpecificityAtSensitivity', 'config': {'sensitivity': 0.75, "
      "'num_thresholds': 5}},"
      " {'class_name': 'PrecisionAtRecall', 'config': {'recall': 0.75, 'num_thresholds': 5}},"
      " {'class_name': 'RecallAtPrecision', 'config': {'precision': 0.9, 'num_thresholds': 5}}]");
  /* 3 thresholds [0, .5, 1] (no eps; bucket -1 dropped, none here): as for
   * AUC tp = fp = [4, 2, 0], tn = fn = [0, 2, 4]: specificity [0, .5, 1],
   * sensitivity [1, .5, 0]: the best sensitivity with specificity >= .5: .5.
   * 5 thresholds [0, .25, .5, .75, 1]: tp [4, 4, 2, 2, 0], fp [4, 2, 2, 0, 0],
   * tn [0, 2, 2, 4, 4], fn [0, 0, 2, 2, 4]: sensitivity [1, 1, .5, .5, 0],
   * specificity [0, .5, .5, 1, 1], precision [.5, 2/3, .5, 1, 0].
   * SpecificityAtSensitivity(.75): sensitivity >= .75 at t 0, 1: max spec .5.
   * PrecisionAtRecall(.75): recall >= .75 at t 0, 1: max precision 2/3.
   * RecallAtPrecision(.9): precision >= .9 at t 3: recall .5. */
  static const expect want[] = {{"sensitivity_at_specificity", 0.5, 0},
                                {"specificity_at_sensitivity", 0.5, 0},
                                {"precision_at_recall", 2.0 / 3, 0},
                                {"recall_at_precision", 0.5, 0}};
  check_global(m, bx, 2, b_shape, by, 2, b_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

START_TEST(multi_label_auc_averages_the_labels) {
  nnc_model *m = identity_model(
      "2", 2, "'mse'",
      "[{'class_name': 'AUC', 'config': {'num_thresholds': 3, 'multi_label': true, "
      "'num_labels': 2}},"
      " {'class_name': 'AUC', 'config': {'name': 'auc_flat', 'num_thresholds': 3}}]");
  float x[8] = {0.9f, 0.2f, 0.6f, 0.7f, 0.3f, 0.8f, 0.1f, 0.4f};
  float y[8] = {1, 0, 0, 1, 1, 0, 0, 0};
  static const int64_t shape[2] = {4, 2};
  /* buckets ceil(2p) - 1 (>= 0). Label 0: positives .9 .3 -> 1 0, negatives
   * .6 .1 -> 1 0: tp = fp = [2, 1, 0] of 2: ROC .5. Label 1: positive .7 -> 1,
   * negatives .2 .8 .4 -> 0 1 0: tp [1, 1, 0] of 1, fp [3, 1, 0] of 3:
   * recall [1, 1, 0], fpr [1, 1/3, 0]: (2/3)(2)/2 + (1/3)(1)/2 = 5/6. Mean
   * 2/3. Flattened: positives .9 .3 .7 -> [1, 2, 0], negatives .6 .1 .2 .8
   * .4 -> [3, 2, 0]: recall [1, 2/3, 0], fpr [1, .4, 0]:
   * .6 (5/3)/2 + .4 (2/3)/2 = 19/30. */
  const expect want[] = {{"auc", 2.0 / 3, 0}, {"auc_flat", 19.0 / 30, 0}};
  check_global(m, x, 2, shape, y, 2, shape, 2, want, 2);
  nnc_model_free(m);
}
END_TEST

/* ---- regression: Mean metrics (batches of 3, 3, 2 weigh samples, not batches) ---- */

static float rx[8] = {0.5f, 1.5f, 2.0f, 3.0f, 1.0f, 2.5f, 4.0f, 0.5f};
static float ry[8] = {1.0f, 1.0f, 2.0f, 4.0f, 2.0f, 2.0f, 3.0f, 1.0f};

START_TEST(mean_metrics_are_global) {
  nnc_model *m = identity_model("1", 1, "'mse'",
                                "['root_mean_squared_error', 'mape', 'msle', 'logcosh', "
                                "{'class_name': 'MeanSquaredError', 'config': {'name': 'mse2'}}]");
  double se = 0, ape = 0, sle = 0, lc = 0;
  for (int i = 0; i < 8; i++) {
    double p = rx[i], t = ry[i], e = p - t;
    se += e * e;
    ape += 100 * fabs((t - p) / fmax(fabs(t), 1e-7)); /* mean_absolute_percentage_error */
    double a = log(fmax(p, 1e-7) + 1), b = log(fmax(t, 1e-7) + 1);
    sle += (a - b) * (a - b);                /* mean_squared_logarithmic_error */
    lc += e + log1p(exp(-2 * e)) - log(2.0); /* log_cosh: x + softplus(-2x) - log 2 */
  }
  const expect want[] = {{"root_mean_squared_error", sqrt(se / 8), 0},
                         {"mape", ape / 8, 0},
                         {"msle", sle / 8, 0},
                         {"logcosh", lc / 8, 0},
                         {"mse2", se / 8, 0}};
  check_global(m, rx, 2, b_shape, ry, 2, b_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

/* ---- three classes ---- */

static float cx[15] = {0.1f, 0.5f, 0.4f, 0.6f, 0.3f, 0.1f, 0.2f, 0.2f,
                       0.6f, 0.3f, 0.3f, 0.4f, 0.7f, 0.2f, 0.1f};
static float cy[15] = {0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1};
static float cl[5] = {2, 2, 0, 1, 2};
static const int64_t c_shape[2] = {5, 3}, l_shape[2] = {5, 1};

START_TEST(categorical_metrics_are_global) {
  nnc_model *m = identity_model(
      "3", 3, "'mse'",
      "[{'class_name': 'TopKCategoricalAccuracy', 'config': {'k': 2}}, 'cosine_similarity', "
      "'categorical_crossentropy']");
  /* k = 2, fewer than 2 classes strictly higher than the true one (ties in):
   * s0 true .4 (.5 higher) hit; s1 true .1 (two higher) miss; s2 true .2
   * (.6 higher; .2 ties) hit; s3 true .3 (.4 higher) hit; s4 true .1 miss: 3/5. */
  double cos = 0, cce = 0;
  for (int i = 0; i < 5; i++) {
    double dot = 0, pp = 0, tt = 0, sum = 0;
    for (int j = 0; j < 3; j++) {
      dot += cx[3 * i + j] * cy[3 * i + j];
      pp += cx[3 * i + j] * cx[3 * i + j];
      tt += cy[3 * i + j] * cy[3 * i + j];
      sum += cx[3 * i + j];
    }
    cos += dot / sqrt(pp) / sqrt(tt);
    for (int j = 0; j < 3; j++) /* probabilities scaled to sum 1, clipped */
      cce -= cy[3 * i + j] * log(fmax(cx[3 * i + j] / sum, 1e-7));
  }
  const expect want[] = {{"top_k_categorical_accuracy", 0.6, 0},
                         {"cosine_similarity", cos / 5, 0},
                         {"categorical_crossentropy", cce / 5, 0}};
  check_global(m, cx, 2, c_shape, cy, 2, c_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

START_TEST(sparse_top_k_is_global) {
  nnc_model *m = identity_model(
      "3", 3, "'sparse_categorical_crossentropy'",
      "[{'class_name': 'SparseTopKCategoricalAccuracy', 'config': {'k': 2, 'name': 'top2'}}]");
  static const expect want[] = {{"top2", 0.6, 0}}; /* as the categorical case */
  check_global(m, cx, 2, c_shape, cl, 2, l_shape, 3, want, 1);
  nnc_model_free(m);
}
END_TEST

/* top_k (metrics_utils._filter_top_k): the 2 largest of each row stay, a tie
 * going to the lower index: s0 keeps columns 1, 2; s1 0, 1; s2 (.2 .2 .6)
 * 0, 2; s3 (.3 .3 .4) 0, 2; s4 0, 1. The labels are 2 2 0 1 2. With no
 * thresholds every kept entry is predicted (Keras's default threshold
 * NEG_INF): TP s0 c2, s2 c0 = 2 of 10 kept, recall 2 of 5. At 0.35 the kept
 * entries above it are s0 .5 (F) .4 (T), s1 .6 (F), s2 .6 (F), s3 .4 (F),
 * s4 .7 (F): 1/6. class_id 2: kept at s0 (T), s2 (F), s3 (F): 1/3; top_k 3
 * keeps all: class 1 is predicted 5 times, right once (s3). Batches
 * [s0 s1 s2] [s3 s4] alone: 1/3 and 0, 2/3 and 0, 1/4 and 0, 1/2 and 0,
 * 0 and 1/2. */
START_TEST(top_k_precision_and_recall_are_global) {
  nnc_model *m = identity_model(
      "3", 3, "'mse'",
      "[{'class_name': 'Precision', 'config': {'name': 'p2', 'top_k': 2}},"
      " {'class_name': 'Recall', 'config': {'name': 'r2', 'top_k': 2}},"
      " {'class_name': 'Precision', 'config': {'name': 'pt', 'top_k': 2, 'thresholds': 0.35}},"
      " {'class_name': 'Precision', 'config': {'name': 'pc', 'top_k': 2, 'class_id': 2}},"
      " {'class_name': 'Precision', 'config': {'name': 'p3', 'top_k': 3, 'class_id': 1}}]");
  static const expect want[] = {
      {"p2", 0.2, 0}, {"r2", 0.4, 0}, {"pt", 1.0 / 6, 0}, {"pc", 1.0 / 3, 0}, {"p3", 0.2, 0}};
  check_global(m, cx, 2, c_shape, cy, 2, c_shape, 3, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

/* ---- F-scores: Keras's docstring example of F1Score, in batches of 2, 1 ---- */

START_TEST(f_scores_are_global) {
  nnc_model *m = identity_model(
      "3", 3, "'mse'",
      "[{'class_name': 'F1Score', 'config': {'threshold': 0.5}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_micro', 'threshold': 0.5, "
      "'average': 'micro'}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_weighted', 'threshold': 0.5, "
      "'average': 'weighted'}},"
      " {'class_name': 'F1Score', 'config': {'name': 'f1_argmax', 'average': 'macro'}},"
      " {'class_name': 'FBetaScore', 'config': {'beta': 2.0, 'threshold': 0.5, "
      "'average': 'macro'}}]");
  float x[9] = {0.2f, 0.6f, 0.7f, 0.2f, 0.6f, 0.6f, 0.6f, 0.8f, 0.0f};
  float y[9] = {1, 1, 1, 1, 0, 0, 1, 1, 0};
  static const int64_t shape[2] = {3, 3};
  /* threshold .5: predictions [0 1 1], [0 1 1], [1 1 0]. Per class
   * (tp, fp, fn): (1, 0, 2) p 1 r 1/3 F1 .5; (2, 1, 0) p 2/3 r 1 F1 .8;
   * (1, 1, 0) p .5 r 1 F1 2/3 (Keras's docstring: [0.5, 0.8, 0.6666667]).
   * micro: tp 4 fp 2 fn 2: 2/3. weighted by support [3, 2, 1]:
   * (1.5 + 1.6 + 2/3) / 6. Without a threshold the row maxima: [0 0 1],
   * [0 1 1] (a tie), [0 1 0]: F1 0, .5, 2/3, macro 7/18. F2 (beta 2,
   * 5pr / (4p + r)): 5/13, 10/11, 5/6, macro their mean. Batch 1 (rows 0, 1)
   * alone: class 0 F1 0, batch 2: 1, mean .5 (the same); class 1: 2/3 and
   * 1; class 2: 2/3 and 0. */
  const expect want[] = {{"f1_score[0]", 0.5, 1},
                         {"f1_score[1]", 0.8, 0},
                         {"f1_score[2]", 2.0 / 3, 0},
                         {"f1_micro", 2.0 / 3, 0},
                         {"f1_weighted", (1.5 + 1.6 + 2.0 / 3) / 6, 0},
                         {"f1_argmax", 7.0 / 18, 0},
                         {"fbeta_score", (5.0 / 13 + 10.0 / 11 + 5.0 / 6) / 3, 0}};
  check_global(m, x, 2, shape, y, 2, shape, 2, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

/* ---- R2Score: two output columns, batches of 4, 2 ---- */

START_TEST(r2_score_is_global) {
  nnc_model *m = identity_model(
      "2", 2, "'mse'",
      "['r2_score', {'class_name': 'R2Score', 'config': {'name': 'r2v', "
      "'class_aggregation': 'variance_weighted_average'}},"
      " {'class_name': 'R2Score', 'config': {'name': 'r2c', 'class_aggregation': null}},"
      " {'class_name': 'R2Score', 'config': {'name': 'r2adj', 'num_regressors': 3}}]");
  float x[12] = {1.5f, 0.0f, 2.0f, 1.0f, 2.5f, 3.0f, 4.0f, 2.0f, 5.5f, 5.0f, 5.0f, 4.0f};
  float y[12] = {1.0f, 1.0f, 2.0f, 0.0f, 3.0f, 2.0f, 4.0f, 3.0f, 5.0f, 6.0f, 6.0f, 4.0f};
  static const int64_t shape[2] = {6, 2};
  /* per column: 1 - sum (y - p)^2 / sum (y - mean y)^2 (Keras's sums:
   * squared_sum - sum * mean) */
  double raw[2], total[2];
  for (int c = 0; c < 2; c++) {
    double sum = 0, res = 0, tot = 0;
    for (int i = 0; i < 6; i++) sum += y[2 * i + c];
    for (int i = 0; i < 6; i++) {
      res += (y[2 * i + c] - x[2 * i + c]) * (y[2 * i + c] - x[2 * i + c]);
      tot += (y[2 * i + c] - sum / 6) * (y[2 * i + c] - sum / 6);
    }
    raw[c] = 1 - res / tot;
    total[c] = tot;
  }
  double uniform = (raw[0] + raw[1]) / 2;
  /* adjusted with n = 6 samples (Keras 3.16 counts the samples with a
   * non-zero weight, not ops.size(y_true) = 12 as 3.15 did), p = 3 */
  double adjusted = 1 - (1 - uniform) * (6 - 1) / (6 - 3 - 1.0);
  const expect want[] = {
      {"r2_score", uniform, 0},
      {"r2v", (total[0] * raw[0] + total[1] * raw[1]) / (total[0] + total[1]), 0},
      {"r2c[0]", raw[0], 0},
      {"r2c[1]", raw[1], 0},
      {"r2adj", adjusted, 0}};
  check_global(m, x, 2, shape, y, 2, shape, 4, want, sizeof want / sizeof want[0]);
  nnc_model_free(m);
}
END_TEST

/* ---- IoU: 3 classes, sparse labels or one-hot targets, batches of 4, 2 ---- */

static float ix[18] = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f,
                       0.6f, 0.3f, 0.1f, 0.2f, 0.7f, 0.1f, 0.3f, 0.3f, 0.4f};
static const int64_t i_shape[2] = {6, 3}, il_shape[2] = {6, 1};
/* predicted (argmax) 0 1 2 0 1 2, true 0 1 1 0 2 2: confusion (rows true)
 * [[2, 0, 0], [0, 1, 1], [0, 1, 1]]: IoU per class tp / (predicted + true -
 * tp): 2 / 2, 1 / 3, 1 / 3. Batch 1 alone: 1, 1/2, 0 (mean .5); batch 2
 * alone: class 0 absent (not counted), 0, 1/2 (mean .25). */
static const double iou_per_class[3] = {1.0, 1.0 / 3, 1.0 / 3};

START_TEST(iou_is_global) {
  nnc_model *m = identity_model(
      "3", 3, "'sparse_categorical_crossentropy'",
      "[{'class_name': 'MeanIoU', 'config': {'num_classes': 3, 'sparse_y_pred': false}},"
      " {'class_name': 'IoU', 'config': {'name': 'iou12', 'num_classes': 3, "
      "'target_class_ids': [1, 2], 'sparse_y_pred': false}}]");
  float labels[6] = {0, 1, 1, 0, 2, 2};
  const expect want[] = {
      {"mean_io_u", (iou_per_class[0] + iou_per_class[1] + iou_per_class[2]) / 3, 0},
      {"iou12", (iou_per_class[1] + iou_per_class[2]) / 2, 0}};
  check_global(m, ix, 2, i_shape, labels, 2, il_shape, 4, want, 2);
  nnc_model_free(m);
}
END_TEST

START_TEST(one_hot_iou_is_global) {
  nnc_model *m = identity_model("3", 3, "'mse'",
                                "[{'class_name': 'OneHotMeanIoU', 'config': {'num_classes': 3}},"
                                " {'class_name': 'OneHotIoU', 'config': {'num_classes': 3, "
                                "'target_class_ids': [0, 1]}}]");
  float hot[18] = {1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1};
  const expect want[] = {
      {"one_hot_mean_io_u", (iou_per_class[0] + iou_per_class[1] + iou_per_class[2]) / 3, 0},
      {"one_hot_io_u", (iou_per_class[0] + iou_per_class[1]) / 2, 0}};
  check_global(m, ix, 2, i_shape, hot, 2, i_shape, 4, want, 2);
  nnc_model_free(m);
}
END_TEST

/* ---- a sequence output (batch, 3, 1): every element counts ---- */

START_TEST(sequence_outputs_count_every_element) {
  nnc_model *m = identity_model("3, 1", 1, "'mse'",
                                "['precision', {'class_name': 'AUC', 'config': "
                                "{'num_thresholds': 3}}]");
  float x[6] = {0.9f, 0.6f, 0.7f, 0.8f, 0.2f, 0.1f};
  float y[6] = {1, 0, 1, 0, 0, 1};
  static const int64_t shape[3] = {2, 3, 1};
  /* six points: > .5 are .9 T, .6 F, .7 T, .8 F: precision 2 / 4 (batch 1
   * alone 2 / 3, batch 2 alone 0 / 1). AUC (buckets ceil(2p) - 1 >= 0):
   * positives .9 .7 .1 -> 1 1 0, negatives .6 .8 .2 -> 1 1 0: tp = fp =
   * [3, 2, 0] of 3: recall = fpr = [1, 2/3, 0]:
   * (1/3)(1 + 2/3)/2 + (2/3)(2/3)/2 = 5/18 + 4/18 = 0.5. */
  static const expect want[] = {{"precision", 0.5, 0}, {"auc", 0.5, 0}};
  check_global(m, x, 3, shape, y, 3, shape, 1, want, 2);
  nnc_model_free(m);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("global");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, confusion_counts_are_global);
  tcase_add_test(tc, auc_is_the_trapezoid_of_the_epoch_counts);
  tcase_add_test(tc, at_metrics_are_global);
  tcase_add_test(tc, multi_label_auc_averages_the_labels);
  tcase_add_test(tc, mean_metrics_are_global);
  tcase_add_test(tc, categorical_metrics_are_global);
  tcase_add_test(tc, sparse_top_k_is_global);
  tcase_add_test(tc, top_k_precision_and_recall_are_global);
  tcase_add_test(tc, f_scores_are_global);
  tcase_add_test(tc, r2_score_is_global);
  tcase_add_test(tc, iou_is_global);
  tcase_add_test(tc, one_hot_iou_is_global);
  tcase_add_test(tc, sequence_outputs_count_every_element);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
