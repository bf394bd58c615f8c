/* Losses as metrics (compiler/metrics/loss_metrics.c, docs/metrics.md
 * "Losses as metrics"): Keras 3's Hinge, SquaredHinge, CategoricalHinge,
 * KLDivergence, Poisson metric classes, loss functions given as metrics
 * (serialized functions, MeanMetricWrapper), Loss objects as metrics,
 * label_smoothing in the crossentropy metrics, and the Accuracy class.
 *
 * The models predict their input (Dense set to the identity), so y_pred is
 * the x below. Batches of 3 and 2 samples: an epoch value is the global
 * mean over the 5 samples, which differs from the mean of the two batch
 * values (checked where it matters). Expected values are derived by hand in
 * the comments, or written as the Keras formula in double precision. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* y_pred and y_true, two columns; samples 0-2 form batch 1, 3-4 batch 2 */
static float xp[10] = {.2f, .8f, .6f, .4f, .9f, .1f, .3f, .7f, .5f, .5f};
static float yt[10] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 1};
static float sw[5] = {3, 1, 1, 1, 2};

/* A 2-in 2-out identity model with `compile` (single-quoted JSON text of the
 * compile config's members). NULL and the status when loading fails. */
static nnc_model *load(const char *compile, int units, nnc_status *st) {
  char json[4096];
  snprintf(json, sizeof json,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d}}]},"
           "'compile_config': {'optimizer': 'sgd', %s}}",
           units, units, compile);
  nnc_model *m = NULL;
  if (nnc_model_load_string(testutil_json(json), "loss_metrics.json", &m, st) != NNC_OK)
    return NULL;
  float kernel[4] = {1, 0, 0, 1}, bias[2] = {0, 0};
  if (units == 1) kernel[0] = 1;
  nnc_array k = testutil_f32(kernel, units, units), b = testutil_f32(bias, 1, units);
  b.rank = 1;
  b.shape[0] = units;
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k, st) == NNC_OK, "%s", st->message);
  ck_assert_msg(nnc_model_set_weight(m, "d/bias", &b, st) == NNC_OK, "%s", st->message);
  return m;
}

static nnc_model *model(const char *compile) {
  nnc_status st;
  nnc_model *m = load(compile, 2, &st);
  ck_assert_msg(m, "%s", st.message);
  return m;
}

/* evaluate samples [from, to) of the two-column data in batches of 3;
 * returns the status code */
static int evaluate_range(nnc_model *m, int from, int to, int weighted, nnc_logs *out,
                          nnc_status *st) {
  nnc_array xa = testutil_f32(xp + 2 * from, to - from, 2);
  nnc_array ya = testutil_f32(yt + 2 * from, to - from, 2);
  nnc_array wa = {0};
  wa.dtype = NNC_F32;
  wa.rank = 1;
  wa.shape[0] = to - from;
  wa.data = sw + from;
  return nnc_model_evaluate_weighted(m, 1, &xa, 1, &ya, weighted ? &wa : NULL, 3, out, st);
}

static void evaluate(nnc_model *m, int weighted, nnc_logs *out) {
  nnc_status st;
  ck_assert_msg(evaluate_range(m, 0, 5, weighted, out, &st) == NNC_OK, "%s", st.message);
}

static double logged(const nnc_logs *l, const char *key) {
  double v = nnc_logs_get(l, key);
  if (isnan(v)) {
    for (int i = 0; i < l->n; i++) fprintf(stderr, "  logged: %s\n", l->names[i]);
    ck_abort_msg("no log key %s", key);
  }
  return v;
}

#define CHECK_NEAR(logs, key, want)                                                                \
  do {                                                                                             \
    double got_ = logged(logs, key), want_ = (want);                                               \
    ck_assert_msg(fabs(got_ - want_) <= 1e-5 * (1 + fabs(want_)), "%s: got %.9g, want %.9g", key,  \
                  got_, want_);                                                                    \
  } while (0)

/* Hinge (labels 0/1 become -1/1): max(1 - y p, 0) per element, mean per
 * sample: .7 .9 1.4 | 1.2 1.0, global 5.2 / 5 = 1.04 (batch means 1.0 and
 * 1.1: 1.05). Squared: .74 1.06 2.21 | 1.69 1.25 = 6.95 / 5. Categorical:
 * max(max((1 - y) p) - sum(y p) + 1, 0) = .4 .8 1.8 | 1.4 1.0 = 5.4 / 5.
 * KLDivergence: sum(y' log(y' / p')) with y', p' clipped to [1e-7, 1];
 * Poisson: mean(p - y log(p + 1e-7)); both as formulas below. */
START_TEST(loss_metric_classes_are_global_means) {
  nnc_model *m = model("'loss': 'mse', 'metrics': ['hinge', 'squared_hinge', 'CategoricalHinge', "
                       "'kl_divergence', 'poisson']");
  double kld = 0, poisson = 0;
  for (int i = 0; i < 10; i++) {
    double y = yt[i] < 1e-7 ? 1e-7 : yt[i], p = xp[i];
    kld += y * log(y / p);
    poisson += (p - yt[i] * log(p + 1e-7)) / 2;
  }
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  CHECK_NEAR(&all, "hinge", 1.04);
  CHECK_NEAR(&all, "squared_hinge", 6.95 / 5);
  CHECK_NEAR(&all, "CategoricalHinge", 5.4 / 5);
  CHECK_NEAR(&all, "kl_divergence", kld / 5);
  CHECK_NEAR(&all, "poisson", poisson / 5);
  /* the batch values: their mean is not the epoch value */
  TEST_LOGS(first);
  TEST_LOGS(second);
  nnc_status st;
  ck_assert_int_eq(evaluate_range(m, 0, 3, 0, &first, &st), NNC_OK);
  ck_assert_int_eq(evaluate_range(m, 3, 5, 0, &second, &st), NNC_OK);
  CHECK_NEAR(&first, "hinge", 1.0);
  CHECK_NEAR(&second, "hinge", 1.1);
  nnc_model_free(m);
}
END_TEST

/* weighted_metrics: sum(w v) / sum(w), weights 3 1 1 1 2 (sum 8). Hinge:
 * 3 (.7) + .9 + 1.4 + 1.2 + 2 (1.0) = 7.6; Poisson by the formula. */
START_TEST(weighted_loss_metrics_weigh_samples) {
  nnc_model *m = model("'loss': 'mse', 'metrics': ['hinge'], 'weighted_metrics': ['hinge', "
                       "{'class_name': 'Poisson', 'config': {'name': 'wp'}}]");
  double poisson = 0;
  for (int i = 0; i < 10; i++) poisson += sw[i / 2] * (xp[i] - yt[i] * log(xp[i] + 1e-7)) / 2;
  TEST_LOGS(all);
  evaluate(m, 1, &all);
  CHECK_NEAR(&all, "hinge", 1.04);
  CHECK_NEAR(&all, "weighted_hinge", 7.6 / 8);
  CHECK_NEAR(&all, "wp", poisson / 8);
  nnc_model_free(m);
}
END_TEST

/* History keys: a string keeps itself; a class object its config name, else
 * Keras's default instance name; a serialized function the function's name;
 * a Loss object its name (Huber's default: huber_loss). */
START_TEST(loss_metric_keys_are_keras_names) {
  nnc_model *m = model(
      "'loss': 'mse', 'metrics': ['KLDivergence', {'class_name': 'SquaredHinge', 'config': {}},"
      " {'class_name': 'CategoricalHinge', 'config': {'name': 'ch'}},"
      " {'class_name': 'KLDivergence', 'config': {}},"
      " {'module': 'keras.losses', 'class_name': 'function', 'config': 'huber',"
      "  'registered_name': 'huber'},"
      " {'module': 'keras.losses', 'class_name': 'Huber', 'config': {}},"
      " {'module': 'keras.metrics', 'class_name': 'function', 'config': 'log_cosh'}]");
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  const char *keys[] = {"loss",          "KLDivergence", "squared_hinge", "ch",
                        "kl_divergence", "huber",        "huber_loss",    "log_cosh"};
  ck_assert_int_eq(all.n, (int)(sizeof keys / sizeof keys[0]));
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) logged(&all, keys[i]);
  nnc_model_free(m);
}
END_TEST

/* Every loss function as a metric equals the loss (reduction
 * sum_over_batch_size, no weights): both are the global mean of the
 * per-sample values, the loss as Keras's batch-size-weighted loss tracker. */
START_TEST(loss_function_metric_equals_the_loss) {
  static const char *functions[] = {"mean_squared_error",
                                    "mean_absolute_error",
                                    "mean_absolute_percentage_error",
                                    "mean_squared_logarithmic_error",
                                    "huber",
                                    "log_cosh",
                                    "hinge",
                                    "squared_hinge",
                                    "categorical_hinge",
                                    "kl_divergence",
                                    "poisson",
                                    "cosine_similarity",
                                    "binary_crossentropy",
                                    "categorical_crossentropy",
                                    "binary_focal_crossentropy",
                                    "categorical_focal_crossentropy"};
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    char compile[512];
    snprintf(compile, sizeof compile,
             "'loss': '%s', 'metrics': [{'class_name': 'function', 'config': '%s', "
             "'module': 'keras.losses'}]",
             functions[i], functions[i]);
    nnc_model *m = model(compile);
    TEST_LOGS(all);
    evaluate(m, 0, &all);
    double loss = logged(&all, "loss"), metric = logged(&all, functions[i]);
    ck_assert_msg(fabs(loss - metric) <= 1e-6 * (1 + fabs(loss)), "%s: loss %.9g, metric %.9g",
                  functions[i], loss, metric);
    nnc_model_free(m);
  }
}
END_TEST

/* Dice with axis None is one value per batch: Keras's Mean counts it once
 * per batch, so the metric is the mean of the two batch values, while the
 * loss tracker weighs them by the batch size (3 and 2). */
START_TEST(per_batch_loss_metric_counts_batches) {
  nnc_model *m = model("'loss': 'dice', 'metrics': [{'class_name': 'function', 'config': 'dice'}]");
  /* dice = 1 - 2 sum(y p) / (sum(y) + sum(p) + 1e-7) over the batch:
   * batch 1: sum(y p) = .8 + .6 + .1 = 1.5, sum y = 3, sum p = 3;
   * batch 2: sum(y p) = .3 + .5 = .8, sum y = 2, sum p = 2 */
  double d1 = 1 - 3.0 / (6 + 1e-7), d2 = 1 - 1.6 / (4 + 1e-7);
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  CHECK_NEAR(&all, "dice", (d1 + d2) / 2);
  CHECK_NEAR(&all, "loss", (3 * d1 + 2 * d2) / 5);
  ck_assert(fabs((d1 + d2) / 2 - (3 * d1 + 2 * d2) / 5) > 1e-3);
  /* in weighted_metrics with sample weights Keras's Mean fails: refused */
  nnc_model_free(m);
  m = model("'loss': 'mse', 'weighted_metrics': [{'class_name': 'function', 'config': 'dice'}]");
  TEST_LOGS(w);
  nnc_status st;
  ck_assert_int_eq(evaluate_range(m, 0, 5, 1, &w, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "one value per batch"), "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* A Loss object as a metric: its call reduces the batch (sum_over_batch_size)
 * and Keras's Mean counts that value once per batch. Squared errors
 * .04 .04 | .16 .16 | .81 .81 || .49 .49 | .25 .25: batch 1 mean 2.02 / 6,
 * batch 2 1.48 / 4; the metric (2.02/6 + 1.48/4) / 2, the MeanSquaredError
 * metric class 3.5 / 10. With reduction "sum" the sums of the per-sample means (the function's
 * mean over the last axis): 1.01 and .74. */
START_TEST(loss_object_metric_is_the_mean_of_batch_losses) {
  nnc_model *m = model("'loss': 'mae', 'metrics': ['mean_squared_error',"
                       " {'module': 'keras.losses', 'class_name': 'MeanSquaredError', 'config': "
                       "   {'name': 'mse_object'}},"
                       " {'module': 'keras.losses', 'class_name': 'MeanSquaredError', 'config': "
                       "   {'name': 'mse_sum', 'reduction': 'sum'}},"
                       " {'module': 'keras.losses', 'class_name': 'MeanSquaredError', 'config': "
                       "   {'name': 'mse_none', 'reduction': null}}]");
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  CHECK_NEAR(&all, "mean_squared_error", 3.5 / 10);
  CHECK_NEAR(&all, "mse_object", (2.02 / 6 + 1.48 / 4) / 2);
  CHECK_NEAR(&all, "mse_sum", (1.01 + .74) / 2);
  CHECK_NEAR(&all, "mse_none", 3.5 / 10); /* unreduced: per-sample values, a plain Mean */
  nnc_model_free(m);
}
END_TEST

/* MeanMetricWrapper passes its extra arguments to the function: huber with
 * delta .5. e = p - y: .2 -.2 | -.4 .4 | .9 -.9 | -.7 .7 | .5 -.5; inside
 * (|e| <= .5) .5 e^2, outside .5 |e| - .125: per sample .02 .08 .325 .225
 * .125, mean .155. tf.keras 2's form names the function by a string. */
START_TEST(mean_metric_wrapper_passes_arguments) {
  nnc_model *m =
      model("'loss': 'mse', 'metrics': [{'class_name': 'MeanMetricWrapper', 'config': {'name': 'h',"
            " 'dtype': 'float32', 'fn': {'module': 'keras.losses', 'class_name': 'function',"
            " 'config': 'huber', 'registered_name': 'huber'}, 'delta': 0.5}},"
            " {'class_name': 'MeanMetricWrapper', 'config': {'name': 'k2', 'fn': 'kld'}}]");
  double kld = 0;
  for (int i = 0; i < 10; i++) {
    double y = yt[i] < 1e-7 ? 1e-7 : yt[i];
    kld += y * log(y / xp[i]);
  }
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  CHECK_NEAR(&all, "h", .155);
  CHECK_NEAR(&all, "k2", kld / 5);
  nnc_model_free(m);
  nnc_status st;
  ck_assert_ptr_null(load("'loss': 'mse', 'metrics': [{'class_name': 'MeanMetricWrapper', "
                          "'config': {'fn': 'huber', 'alpha': 1}}]",
                          2, &st));
  ck_assert_int_eq(st.code, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "alpha"), "%s", st.message);
}
END_TEST

/* label_smoothing: y' = y (1 - s) + s / 2 for both (BCE: 0.5 s; CCE: s / C
 * with C = 2). BCE: mean over the two columns of -(y' log p + (1 - y')
 * log(1 - p)); CCE: -sum(y' log p) (rows sum to 1). */
START_TEST(crossentropy_metrics_smooth_labels) {
  nnc_model *m = model(
      "'loss': 'mse', 'metrics': [{'class_name': 'BinaryCrossentropy', 'config': "
      "{'label_smoothing': 0.2}}, {'class_name': 'CategoricalCrossentropy', 'config': "
      "{'label_smoothing': 0.2, 'name': 'cce'}}, {'class_name': 'BinaryCrossentropy', 'config': "
      "{'name': 'plain'}}]");
  double bce = 0, cce = 0, plain = 0;
  for (int i = 0; i < 10; i++) {
    double y = yt[i] * 0.8 + 0.1, p = xp[i];
    bce += -(y * log(p) + (1 - y) * log(1 - p)) / 2;
    cce += -y * log(p);
    plain += -(yt[i] * log(p) + (1 - yt[i]) * log(1 - p)) / 2;
  }
  TEST_LOGS(all);
  evaluate(m, 0, &all);
  CHECK_NEAR(&all, "binary_crossentropy", bce / 5);
  CHECK_NEAR(&all, "cce", cce / 5);
  CHECK_NEAR(&all, "plain", plain / 5);
  ck_assert(fabs(bce - plain) > 1e-2);
  nnc_model_free(m);
  nnc_status st;
  ck_assert_ptr_null(load("'loss': 'mse', 'metrics': [{'class_name': 'BinaryCrossentropy', "
                          "'config': {'label_smoothing': 1.5}}]",
                          2, &st));
  ck_assert_int_eq(st.code, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "label_smoothing"), "%s", st.message);
}
END_TEST

/* keras.metrics.Accuracy: y_true == y_pred elementwise. Predictions 1 0 2 |
 * 1 0, labels 1 1 2 | 0 0: equal 1 0 1 | 0 1 = 3 / 5 (batch means 2/3 and
 * 1/2). The string "accuracy" (any case) is not this class: on a (None, 1)
 * output it is BinaryAccuracy, p > .5 == y: 1 0 0 | 0 1 = 2 / 5. */
START_TEST(accuracy_class_is_exact_equality) {
  nnc_status st;
  nnc_model *m = load("'loss': 'mse', 'metrics': [{'class_name': 'Accuracy', 'config': {}},"
                      " 'Accuracy', {'class_name': 'Accuracy', 'config': {'name': 'exact'}}]",
                      1, &st);
  ck_assert_msg(m, "%s", st.message);
  float p[5] = {1, 0, 2, 1, 0}, y[5] = {1, 1, 2, 0, 0};
  nnc_array xa = testutil_f32(p, 5, 1), ya = testutil_f32(y, 5, 1);
  TEST_LOGS(all);
  ck_assert_msg(nnc_model_evaluate_weighted(m, 1, &xa, 1, &ya, NULL, 3, &all, &st) == NNC_OK, "%s",
                st.message);
  /* the class's default name is "accuracy"; the string keeps "Accuracy" */
  CHECK_NEAR(&all, "accuracy", 0.6);
  CHECK_NEAR(&all, "Accuracy", 0.4);
  CHECK_NEAR(&all, "exact", 0.6);
  nnc_model_free(m);
}
END_TEST

/* Strings Keras 3 refuses (metrics.get looks up metric classes only): a
 * loss's name that is no metric class; the message shows the function form. */
START_TEST(loss_names_as_strings_are_refused) {
  static const char *names[] = {"huber", "kld", "binary_focal_crossentropy", "Dice", "tversky"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char compile[256];
    snprintf(compile, sizeof compile, "'loss': 'mse', 'metrics': ['%s']", names[i]);
    nnc_status st;
    ck_assert_ptr_null(load(compile, 2, &st));
    ck_assert_int_eq(st.code, NNC_ERR_SPEC);
    ck_assert_msg(strstr(st.message, "compile_config.metrics[0]") &&
                      strstr(st.message, "'class_name': 'function'") == NULL &&
                      strstr(st.message, "\"class_name\": \"function\""),
                  "%s", st.message);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("loss_metrics");
  TCase *tc = tcase_create("loss_metrics");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, loss_metric_classes_are_global_means);
  tcase_add_test(tc, weighted_loss_metrics_weigh_samples);
  tcase_add_test(tc, loss_metric_keys_are_keras_names);
  tcase_add_test(tc, loss_function_metric_equals_the_loss);
  tcase_add_test(tc, per_batch_loss_metric_counts_batches);
  tcase_add_test(tc, loss_object_metric_is_the_mean_of_batch_losses);
  tcase_add_test(tc, mean_metric_wrapper_passes_arguments);
  tcase_add_test(tc, crossentropy_metrics_smooth_labels);
  tcase_add_test(tc, accuracy_class_is_exact_equality);
  tcase_add_test(tc, loss_names_as_strings_are_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
