/* Keras's `axis` of the crossentropies, the focal losses and the cosine
 * similarity, as losses and as metrics.
 *
 * The truth: Keras computes the loss along `axis` and removes it, so a
 * (B, C, T) prediction with axis=1 gives exactly what axis=-1 gives on the
 * same numbers laid out (B, T, C). Two models share a Dense(C) on inputs
 * (B, T, F) with the same weights: "channels first" puts a Permute((2, 1))
 * after it (prediction (B, C, T), targets (B, C, T), loss axis=1),
 * "channels last" has none (prediction (B, T, C), targets permuted, loss
 * axis=-1). Two SGD steps must give the same logs and weights. Where an
 * activation follows the permute (sigmoid, softmax), Keras's TF backend
 * reads its logits (_keras_logits), so the channels-last model applies the
 * loss to the logits with from_logits=True. One value is also worked out by
 * hand, and the refusals are checked. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

enum { B = 3, T = 2, F = 2, C = 3 };

static const float X[B][T][F] = {
    {{0.5f, -1.0f}, {1.5f, 0.25f}}, {{-0.75f, 2.0f}, {0.0f, 1.0f}}, {{1.0f, 1.0f}, {-2.0f, 0.5f}}};
static const float KERNEL[F][C] = {{0.8f, -0.6f, 0.3f}, {-0.4f, 0.9f, 0.5f}};
static const float BIAS[C] = {0.1f, -0.2f, 0.05f};
/* targets laid out (B, T, C): one-hot rows, and values in [0, 1] */
static const float ONE_HOT[B][T][C] = {
    {{1, 0, 0}, {0, 0, 1}}, {{0, 1, 0}, {0, 1, 0}}, {{0, 0, 1}, {1, 0, 0}}};
static const float SOFT[B][T][C] = {{{0.9f, 0.2f, 0.0f}, {0.1f, 1.0f, 0.6f}},
                                    {{0.0f, 0.7f, 0.3f}, {1.0f, 0.4f, 0.8f}},
                                    {{0.5f, 0.5f, 1.0f}, {0.3f, 0.0f, 0.2f}}};
static const float LABELS[B][T] = {{0, 2}, {1, 1}, {2, 0}};
/* one weight per sample: per-position weights (B, T) do not lead a
 * channels-first output (B, C, T), and the runtime's data check refuses them */
static const float WEIGHTS[B] = {1.0f, 0.25f, 2.0f};

/* head: layers after the Dense (a leading ", "), or "" */
static const char *spec(const char *activation, const char *head, const char *loss,
                        const char *metrics) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d, %d], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': %d, 'activation': "
           "'%s'}}%s]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "0.5}}, 'loss': %s, 'metrics': %s}}",
           T, F, C, activation, head, loss, metrics);
  return testutil_json(buf);
}

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "axis.json", &m, &st) == NNC_OK, "%s\n%s", st.message,
                json);
  return m;
}

static nnc_array f32(const float *data, int rank, int64_t d1, int64_t d2) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .shape = {B, d1, d2}, .data = (void *)data};
  return a;
}

static void set_weights(nnc_model *m) {
  nnc_status st;
  nnc_array k = {.dtype = NNC_F32, .rank = 2, .shape = {F, C}, .data = (void *)KERNEL};
  nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {C}, .data = (void *)BIAS};
  ck_assert_msg(nnc_model_set_weight(m, "dense/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "dense/bias", &b, &st) == NNC_OK, "%s", st.message);
}

/* (B, T, C) -> (B, C, T) */
static void to_channels_first(const float in[B][T][C], float out[B][C][T]) {
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++)
      for (int c = 0; c < C; c++) out[b][c][t] = in[b][t][c];
}

typedef struct trace {
  double loss[2], metric[2];
  float kernel[F * C], bias[C];
} trace;

/* two train steps; y laid out as the model's targets, w (B,) or NULL */
static void train(nnc_model *m, const nnc_array *y, const float *w, const char *metric,
                  trace *out) {
  nnc_status st;
  nnc_array x = f32(&X[0][0][0], 3, T, F);
  nnc_array sw = w ? f32(w, 1, 0, 0) : (nnc_array){0};
  nnc_model_build(m, &x, y, &st);
  set_weights(m);
  for (int s = 0; s < 2; s++) {
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch_weighted(m, 1, &x, 1, y, w ? &sw : NULL, &logs, &st) ==
                      NNC_OK,
                  "%s", st.message);
    out->loss[s] = nnc_logs_get(&logs, "loss");
    out->metric[s] = metric ? nnc_logs_get(&logs, metric) : 0.0;
  }
  nnc_array a;
  ck_assert(nnc_model_get_weight(m, "dense/kernel", &a, &st) == NNC_OK);
  memcpy(out->kernel, a.data, sizeof out->kernel);
  nnc_array_free(&a);
  ck_assert(nnc_model_get_weight(m, "dense/bias", &a, &st) == NNC_OK);
  memcpy(out->bias, a.data, sizeof out->bias);
  nnc_array_free(&a);
}

static void same(const char *what, double got, double want) {
  ck_assert_msg(isfinite(want) && fabs(got - want) <= 1e-6 * fabs(want) + 1e-7,
                "%s: channels first %.9g, channels last %.9g", what, got, want);
}

static void compare(const char *what, const trace *first, const trace *last, int with_metric) {
  char name[128];
  for (int s = 0; s < 2; s++) {
    snprintf(name, sizeof name, "%s: loss of step %d", what, s + 1);
    same(name, first->loss[s], last->loss[s]);
    if (with_metric) {
      snprintf(name, sizeof name, "%s: metric of step %d", what, s + 1);
      same(name, first->metric[s], last->metric[s]);
    }
  }
  for (int i = 0; i < F * C; i++) {
    snprintf(name, sizeof name, "%s: kernel element %d", what, i);
    same(name, first->kernel[i], last->kernel[i]);
  }
  for (int i = 0; i < C; i++) {
    snprintf(name, sizeof name, "%s: bias element %d", what, i);
    same(name, first->bias[i], last->bias[i]);
  }
  /* the steps trained: a loss that did not move would hide a missing gradient */
  ck_assert_msg(fabs(last->loss[1] - last->loss[0]) > 1e-4, "%s: the loss did not move", what);
}

typedef struct axis_case {
  const char *what;
  const char *first_act, *first_loss; /* after the permute: an Activation or "" */
  const char *last_act, *last_loss;
  const float (*y)[T][C];
  int weighted;
} axis_case;

static void check_case(const axis_case *c) {
  char head[512];
  snprintf(head, sizeof head,
           ", {'class_name': 'Permute', 'config': {'name': 'p', 'dims': [2, 1]}}%s", c->first_act);
  float yf[B][C][T];
  to_channels_first(c->y, yf);
  nnc_array y_first = f32(&yf[0][0][0], 3, C, T), y_last = f32(&c->y[0][0][0], 3, T, C);
  const float *w = c->weighted ? WEIGHTS : NULL;
  trace first, last;
  nnc_model *m = load(spec("linear", head, c->first_loss, "[]"));
  train(m, &y_first, w, NULL, &first);
  nnc_model_free(m);
  m = load(spec(c->last_act, "", c->last_loss, "[]"));
  train(m, &y_last, w, NULL, &last);
  nnc_model_free(m);
  compare(c->what, &first, &last, 0);
}

static const char *const SIGMOID = ", {'class_name': 'Activation', 'config': {'name': 'a', "
                                   "'activation': 'sigmoid'}}";
static const char *const SOFTMAX = ", {'class_name': 'Activation', 'config': {'name': 'a', "
                                   "'activation': 'softmax'}}";

START_TEST(losses_along_axis_1_equal_the_last_axis_on_permuted_data) {
  static const axis_case cases[] = {
      {"CCE from logits", "",
       "{'class_name': 'CategoricalCrossentropy', 'config': {'from_logits': true, 'axis': 1}}",
       "linear", "{'class_name': 'CategoricalCrossentropy', 'config': {'from_logits': true}}",
       ONE_HOT, 0},
      /* a softmax after the permute runs over T, but the loss reads its logits */
      {"CCE after a softmax (its logits)", "",
       "{'class_name': 'CategoricalCrossentropy', 'config': {'axis': 1, 'label_smoothing': 0.1}}",
       "linear",
       "{'class_name': 'CategoricalCrossentropy', 'config': {'from_logits': true, "
       "'label_smoothing': 0.1}}",
       ONE_HOT, 1},
      {"BCE after a sigmoid", "", "{'class_name': 'BinaryCrossentropy', 'config': {'axis': -2}}",
       "sigmoid", "'binary_crossentropy'", SOFT, 1},
      {"BinaryFocal from logits", "",
       "{'class_name': 'BinaryFocalCrossentropy', 'config': {'from_logits': true, 'axis': 1, "
       "'apply_class_balancing': true}}",
       "linear",
       "{'class_name': 'BinaryFocalCrossentropy', 'config': {'from_logits': true, "
       "'apply_class_balancing': true}}",
       SOFT, 0},
      {"CategoricalFocal from logits", "",
       "{'class_name': 'CategoricalFocalCrossentropy', 'config': {'from_logits': true, 'axis': "
       "1}}",
       "linear", "{'class_name': 'CategoricalFocalCrossentropy', 'config': {'from_logits': true}}",
       ONE_HOT, 1},
      {"CosineSimilarity", "", "{'class_name': 'CosineSimilarity', 'config': {'axis': 1}}",
       "linear", "'cosine_similarity'", SOFT, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    axis_case c = cases[i];
    if (i == 1) c.first_act = SOFTMAX;
    if (i == 2) c.first_act = SIGMOID;
    check_case(&c);
  }
}
END_TEST

/* SCCE with axis=1: labels (B, T) against a prediction (B, C, T), also with
 * ignore_class (the mask keeps T) and per-timestep weights */
START_TEST(sparse_labels_along_axis_1) {
  const char *head = ", {'class_name': 'Permute', 'config': {'name': 'p', 'dims': [2, 1]}}";
  static const char *const losses[][2] = {
      {"{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true, 'axis': "
       "1}}",
       "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}"},
      {"{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true, 'axis': "
       "1, 'ignore_class': 2}}",
       "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true, "
       "'ignore_class': 2}}"},
  };
  nnc_array y = f32(&LABELS[0][0], 2, T, 0);
  for (int i = 0; i < 2; i++)
    for (int weighted = 0; weighted <= 1; weighted++) {
      trace first, last;
      const float *w = weighted ? WEIGHTS : NULL;
      nnc_model *m = load(spec("linear", head, losses[i][0], "[]"));
      train(m, &y, w, NULL, &first);
      nnc_model_free(m);
      m = load(spec("linear", "", losses[i][1], "[]"));
      train(m, &y, w, NULL, &last);
      nnc_model_free(m);
      compare(i ? "SCCE ignore_class" : "SCCE", &first, &last, 0);
    }
}
END_TEST

/* The metrics CategoricalCrossentropy, SparseCategoricalCrossentropy and
 * CosineSimilarity with axis=1, next to an MSE loss. */
START_TEST(metrics_along_axis_1) {
  const char *head = ", {'class_name': 'Permute', 'config': {'name': 'p', 'dims': [2, 1]}}";
  static const char *const metrics[][3] = {
      {"{'class_name': 'CategoricalCrossentropy', 'config': {'name': 'm', 'from_logits': true, "
       "'axis': 1}}",
       "{'class_name': 'CategoricalCrossentropy', 'config': {'name': 'm', 'from_logits': true}}",
       "o"},
      {"{'class_name': 'CosineSimilarity', 'config': {'name': 'm', 'axis': 1}}",
       "{'class_name': 'CosineSimilarity', 'config': {'name': 'm'}}", "s"},
  };
  for (int i = 0; i < 2; i++) {
    const float(*yl)[T][C] = metrics[i][2][0] == 'o' ? ONE_HOT : SOFT;
    float yf[B][C][T];
    to_channels_first(yl, yf);
    nnc_array y_first = f32(&yf[0][0][0], 3, C, T), y_last = f32(&yl[0][0][0], 3, T, C);
    char list[512];
    trace first, last;
    snprintf(list, sizeof list, "[%s]", metrics[i][0]);
    nnc_model *m = load(spec("linear", head, "'mse'", list));
    train(m, &y_first, NULL, "m", &first);
    nnc_model_free(m);
    snprintf(list, sizeof list, "[%s]", metrics[i][1]);
    m = load(spec("linear", "", "'mse'", list));
    train(m, &y_last, NULL, "m", &last);
    nnc_model_free(m);
    compare(metrics[i][0], &first, &last, 1);
  }
  /* the sparse metric next to a sparse loss along the same axis */
  nnc_array y = f32(&LABELS[0][0], 2, T, 0);
  trace first, last;
  nnc_model *m = load(spec("linear", head,
                           "{'class_name': 'SparseCategoricalCrossentropy', 'config': "
                           "{'from_logits': true, 'axis': 1}}",
                           "[{'class_name': 'SparseCategoricalCrossentropy', 'config': {'name': "
                           "'m', 'from_logits': true, 'axis': 1}}]"));
  train(m, &y, NULL, "m", &first);
  nnc_model_free(m);
  m = load(spec("linear", "",
                "{'class_name': 'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}",
                "[{'class_name': 'SparseCategoricalCrossentropy', 'config': {'name': 'm', "
                "'from_logits': true}}]"));
  train(m, &y, NULL, "m", &last);
  nnc_model_free(m);
  compare("SCCE metric", &first, &last, 1);
  same("SCCE metric equals the loss", first.metric[0], first.loss[0]);
}
END_TEST

/* By hand: kernel 0 and bias (0, ln 2, 0) make every position's logits along
 * C the same, softmax (1/4, 1/2, 1/4); with the one-hot targets (classes
 * 0 2 / 1 1 / 2 0: four at 1/4, two at 1/2) the loss is
 * (4 ln 4 + 2 ln 2) / 6 = 10 ln 2 / 6. */
START_TEST(hand_value_along_axis_1) {
  const char *head = ", {'class_name': 'Permute', 'config': {'name': 'p', 'dims': [2, 1]}}";
  nnc_model *m = load(
      spec("linear", head,
           "{'class_name': 'CategoricalCrossentropy', 'config': {'from_logits': true, 'axis': 1}}",
           "[]"));
  float yf[B][C][T];
  to_channels_first(ONE_HOT, yf);
  nnc_array x = f32(&X[0][0][0], 3, T, F), y = f32(&yf[0][0][0], 3, C, T);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  float k0[F * C] = {0}, b0[C] = {0.0f, (float)log(2.0), 0.0f};
  nnc_array k = {.dtype = NNC_F32, .rank = 2, .shape = {F, C}, .data = k0};
  nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {C}, .data = b0};
  ck_assert(nnc_model_set_weight(m, "dense/kernel", &k, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "dense/bias", &b, &st) == NNC_OK);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  double want = 10.0 * log(2.0) / 6.0, got = nnc_logs_get(&logs, "loss");
  ck_assert_msg(fabs(got - want) <= 1e-6 * want, "loss %.9g, want %.9g", got, want);
  nnc_model_free(m);
}
END_TEST

START_TEST(refusals) {
  const char *head = ", {'class_name': 'Permute', 'config': {'name': 'p', 'dims': [2, 1]}}";
  nnc_model *m = NULL;
  nnc_status st;
  /* the batch axis: refused with the JSON path when the config is read */
  int rc = nnc_model_load_string(
      spec("linear", head, "{'class_name': 'CosineSimilarity', 'config': {'axis': 0}}", "[]"),
      "axis.json", &m, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "$.compile_config.loss.config.axis: expected an integer axis "
                                   "other than the batch axis 0"),
                "%s", st.message);
  /* beyond the prediction's rank: refused when the loss is lowered */
  rc = nnc_model_load_string(
      spec("linear", head,
           "{'class_name': 'CategoricalCrossentropy', 'config': {'name': 'cce', 'axis': 3}}", "[]"),
      "axis.json", &m, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "loss \"cce\": axis 3 is not an axis of the prediction [B,3,2] "
                                   "other than the batch axis 0 (1 to 2, or -1 to -2)"),
                "%s", st.message);
  /* metrics: the path of the metric's axis */
  rc = nnc_model_load_string(
      spec("linear", head, "'mse'",
           "[{'class_name': 'CategoricalCrossentropy', 'config': {'axis': 1.5}}]"),
      "axis.json", &m, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, "$.compile_config.metrics[0].config.axis: expected an integer "
                                   "axis other than the batch axis 0"),
                "%s", st.message);
}
END_TEST

int main(void) {
  Suite *s = suite_create("loss_axis");
  TCase *tc = tcase_create("axis");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, losses_along_axis_1_equal_the_last_axis_on_permuted_data);
  tcase_add_test(tc, sparse_labels_along_axis_1);
  tcase_add_test(tc, metrics_along_axis_1);
  tcase_add_test(tc, hand_value_along_axis_1);
  tcase_add_test(tc, refusals);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
