/* Regularizers and constraints on Dense, against values derived by hand
 * from Keras 3's definitions (keras/src/regularizers/regularizers.py,
 * keras/src/constraints/constraints.py, Layer.__call__ and
 * Trainer.compute_loss): the reported loss is the compile loss plus every
 * penalty, in train and test steps; activity penalties are divided by the
 * batch size; gradients of the penalties match finite differences; each
 * constraint projects the weights after one SGD step. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

#define SEQ(dense_extra, optimizer, loss)                                                          \
  "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': 'InputLayer', "  \
  "'config': {'batch_shape': [null, 2]}}, {'class_name': 'Dense', 'config': {'name': 'd', "        \
  "'units': 2" dense_extra "}}]}, 'compile_config': {'optimizer': " optimizer ", 'loss': '" loss   \
  "'}}"
#define SGD(lr) "{'class_name': 'SGD', 'config': {'learning_rate': " lr "}}"

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(json), "r.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void set(nnc_model *m, const char *name, float *data, int rank, int64_t d0, int64_t d1) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = data};
  a.shape[0] = d0;
  a.shape[1] = d1;
  nnc_status st;
  ck_assert_msg(nnc_model_set_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
}

static void get(nnc_model *m, const char *name, float *out, int n) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&a), n);
  memcpy(out, a.data, sizeof(float) * (size_t)n);
  nnc_array_free(&a);
}

static double log_of(const nnc_logs *logs, const char *key) {
  for (int i = 0; i < logs->n; i++)
    if (!strcmp(logs->names[i], key)) return logs->values[i];
  ck_abort_msg("no log %s", key);
  return NAN;
}

/* kernel [[1, -2], [3, 0.5]], bias [0.5, -1], two samples */
static float K[4] = {1, -2, 3, 0.5f}, B[2] = {0.5f, -1};
static float X[4] = {1, 2, -1, 0.5f}, Y[4] = {0, 1, 2, -1};

/* outputs and MSE by hand: out = x @ K + b */
static void forward(double out[4], double *mse) {
  double s = 0;
  for (int r = 0; r < 2; r++)
    for (int j = 0; j < 2; j++) {
      out[r * 2 + j] = X[r * 2] * K[j] + X[r * 2 + 1] * K[2 + j] + B[j];
      double d = out[r * 2 + j] - Y[r * 2 + j];
      s += d * d;
    }
  *mse = s / 4;
}

START_TEST(penalties_in_loss_train_and_test) {
  nnc_model *m = load(SEQ(", 'kernel_regularizer': {'module': 'keras.regularizers', 'class_name': "
                          "'L1L2', 'config': {'l1': 0.1, 'l2': 0.2}, 'registered_name': null}, "
                          "'bias_regularizer': 'l2', 'activity_regularizer': {'class_name': 'L1', "
                          "'config': {'l1': 0.05}}",
                          SGD("0.1"), "mse"));
  nnc_array x = testutil_f32(X, 2, 2), y = testutil_f32(Y, 2, 2);
  nnc_status st;
  ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
  set(m, "d/kernel", K, 2, 2, 2);
  set(m, "d/bias", B, 1, 2, 0);
  double out[4], mse;
  forward(out, &mse);
  /* kernel: 0.1 * (1 + 2 + 3 + 0.5) + 0.2 * (1 + 4 + 9 + 0.25) = 3.5;
   * bias "l2": 0.01 * (0.25 + 1); activity: 0.05 * sum|out| / 2 rows */
  double abs_out = 0;
  for (int i = 0; i < 4; i++) abs_out += fabs(out[i]);
  double expected = mse + 3.5 + 0.0125 + 0.05 * abs_out / 2;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 2, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(fabs(log_of(&logs, "loss") - expected) < 1e-5, "evaluate: loss %.7g, expected %.7g",
                log_of(&logs, "loss"), expected);
  /* the batch loss of train_on_batch is computed before the update */
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(fabs(log_of(&logs, "loss") - expected) < 1e-5, "train: loss %.7g, expected %.7g",
                log_of(&logs, "loss"), expected);
  nnc_model_free(m);
}
END_TEST

/* The activity penalty is divided by the rows of each batch: evaluating in
 * batches of 1 averages per-row penalties, the same total as one batch of 2
 * (with the weight penalties counted once per batch either way). */
START_TEST(activity_penalty_per_batch_size) {
  nnc_model *m = load(SEQ(", 'activity_regularizer': 'l2'", SGD("0.1"), "mse"));
  nnc_array x = testutil_f32(X, 2, 2), y = testutil_f32(Y, 2, 2);
  nnc_status st;
  ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
  set(m, "d/kernel", K, 2, 2, 2);
  set(m, "d/bias", B, 1, 2, 0);
  double out[4], mse, sq = 0;
  forward(out, &mse);
  for (int i = 0; i < 4; i++) sq += out[i] * out[i];
  double expected = mse + 0.01 * sq / 2;
  TEST_LOGS(logs);
  for (int bs = 1; bs <= 2; bs++) {
    ck_assert_msg(nnc_model_evaluate(m, &x, &y, bs, &logs, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(fabs(log_of(&logs, "loss") - expected) < 1e-5,
                  "batch %d: loss %.7g, expected %.7g", bs, log_of(&logs, "loss"), expected);
  }
  nnc_model_free(m);
}
END_TEST

/* OrthogonalRegularizer(factor 0.3, rows) on a 2x2 kernel: rows normalized,
 * one pair, factor * 0.5 * 2 |cos(angle)| / 1. Rows (1, -2) and (3, 0.5):
 * cos = (3 - 1) / (sqrt(5) sqrt(9.25)). Columns (1, 3), (-2, 0.5):
 * cos = (-2 + 1.5) / (sqrt(10) sqrt(4.25)). */
START_TEST(orthogonal_penalty) {
  for (int columns = 0; columns < 2; columns++) {
    nnc_model *m = load(columns ? SEQ(", 'kernel_regularizer': {'class_name': "
                                      "'OrthogonalRegularizer', 'config': {'factor': 0.3, "
                                      "'mode': 'columns'}}",
                                      SGD("0.1"), "mse")
                                : SEQ(", 'kernel_regularizer': {'class_name': "
                                      "'OrthogonalRegularizer', 'config': {'factor': 0.3}}",
                                      SGD("0.1"), "mse"));
    nnc_array x = testutil_f32(X, 2, 2), y = testutil_f32(Y, 2, 2);
    nnc_status st;
    ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
    set(m, "d/kernel", K, 2, 2, 2);
    set(m, "d/bias", B, 1, 2, 0);
    double out[4], mse;
    forward(out, &mse);
    double cosine = columns ? fabs(-0.5 / (sqrt(10) * sqrt(4.25))) : 2 / (sqrt(5) * sqrt(9.25));
    double expected = mse + 0.3 * 0.5 * 2 * cosine;
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_evaluate(m, &x, &y, 2, &logs, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(fabs(log_of(&logs, "loss") - expected) < 1e-5,
                  "columns %d: loss %.7g, expected %.7g", columns, log_of(&logs, "loss"), expected);
    nnc_model_free(m);
  }
}
END_TEST

/* A frozen layer's weights are not in trainable_weights: no weight penalty
 * (Layer.losses), but its activity penalty stays. */
START_TEST(frozen_layer_has_no_weight_penalty) {
  nnc_model *m = load(SEQ(", 'trainable': false, 'kernel_regularizer': 'l1'", SGD("0.1"), "mse"));
  nnc_array x = testutil_f32(X, 2, 2), y = testutil_f32(Y, 2, 2);
  nnc_status st;
  ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
  set(m, "d/kernel", K, 2, 2, 2);
  set(m, "d/bias", B, 1, 2, 0);
  double out[4], mse;
  forward(out, &mse);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 2, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(fabs(log_of(&logs, "loss") - mse) < 1e-5, "loss %.7g, expected %.7g",
                log_of(&logs, "loss"), mse);
  nnc_model_free(m);
}
END_TEST

/* Two outputs a, b (Dense(1) each, kernels set to (1, 2) and (-1, 1), zero
 * biases); a's kernel has L2(0.5): penalty 0.5 * (1 + 4) = 2.5 in "loss" but
 * not in "a_loss" (Keras's CompileLoss tracks each output's compiled loss). */
#define TWO_OUT                                                                                    \
  "{'class_name': 'Model', 'keras_version': '2.4.0', 'config': {'name': 'm', 'layers': ["          \
  "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_input_shape': [null, 2], 'name': "  \
  "'x'}, 'inbound_nodes': []}, {'class_name': 'Dense', 'name': 'a', 'config': {'name': 'a', "      \
  "'units': 1, 'kernel_regularizer': {'class_name': 'L2', 'config': {'l2': 0.5}}}, "               \
  "'inbound_nodes': [[['x', 0, 0, {}]]]}, {'class_name': 'Dense', 'name': 'b', 'config': "         \
  "{'name': 'b', 'units': 1}, 'inbound_nodes': [[['x', 0, 0, {}]]]}], 'input_layers': [['x', 0, "  \
  "0]], 'output_layers': [['a', 0, 0], ['b', 0, 0]]}, 'compile_config': {'optimizer': 'sgd', "     \
  "'loss': 'mse'}}"

START_TEST(output_losses_exclude_penalties) {
  nnc_model *m = load(TWO_OUT);
  float xs[4] = {1, 2, -1, 0.5f}, ya[2] = {0, 1}, yb[2] = {1, 0};
  nnc_array x = testutil_f32(xs, 2, 2), y[2] = {testutil_f32(ya, 2, 1), testutil_f32(yb, 2, 1)};
  nnc_status st;
  ck_assert_msg(nnc_model_build_multi(m, 1, &x, 2, y, &st) == NNC_OK, "%s", st.message);
  float ka[2] = {1, 2}, kb[2] = {-1, 1}, zero[1] = {0};
  set(m, "a/kernel", ka, 2, 2, 1);
  set(m, "b/kernel", kb, 2, 2, 1);
  set(m, "a/bias", zero, 1, 1, 0);
  set(m, "b/bias", zero, 1, 1, 0);
  /* a = (5, 0): errors 5, -1 -> 13; b = (1, 1.5): errors 0, 1.5 -> 1.125 */
  double a_loss = 13.0, b_loss = 1.125;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_evaluate_multi(m, 1, &x, 2, y, 2, &logs, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(fabs(log_of(&logs, "a_loss") - a_loss) < 1e-5, "a_loss %.7g",
                log_of(&logs, "a_loss"));
  ck_assert_msg(fabs(log_of(&logs, "b_loss") - b_loss) < 1e-5, "b_loss %.7g",
                log_of(&logs, "b_loss"));
  ck_assert_msg(fabs(log_of(&logs, "loss") - (a_loss + b_loss + 2.5)) < 1e-5, "loss %.7g",
                log_of(&logs, "loss"));
  nnc_model_free(m);
}
END_TEST

/* ---- gradients: one SGD(1) step against central differences ---- */
#define GRAD_MODEL(extra)                                                                          \
  "{'class_name': 'Sequential', 'config': {'name': 's', 'layers': [{'class_name': 'InputLayer', "  \
  "'config': {'batch_shape': [null, 3]}}, {'class_name': 'Dense', 'config': {'name': 'a', "        \
  "'units': 3, 'activation': 'tanh'" extra "}}, {'class_name': 'Dense', 'config': {'name': 'o', "  \
  "'units': 1}}]}, 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "               \
  "{'learning_rate': 1.0}}, 'loss': 'mse'}}"

static const char *const grad_cases[] = {
    GRAD_MODEL(", 'kernel_regularizer': {'class_name': 'L1L2', 'config': {'l1': 0.05, 'l2': 0.1}}, "
               "'bias_regularizer': {'class_name': 'L2', 'config': {'l2': 0.3}}"),
    GRAD_MODEL(", 'activity_regularizer': {'class_name': 'L1L2', 'config': {'l1': 0.02, 'l2': "
               "0.2}}"),
    GRAD_MODEL(", 'kernel_regularizer': {'class_name': 'OrthogonalRegularizer', 'config': "
               "{'factor': 0.5, 'mode': 'rows'}}"),
    GRAD_MODEL(", 'kernel_regularizer': {'class_name': 'OrthogonalRegularizer', 'config': "
               "{'factor': 0.5, 'mode': 'columns'}}"),
};

START_TEST(penalty_gradients) {
  gradcheck_opts o = {6, 777, -0.7, 0.3, 1.7, 3, 1, 2e-3, 2e-2};
  gradcheck_model(Q(grad_cases[_i]), 3, &o);
}
END_TEST

/* ---- constraints after one step ----
 * Dense(2, kernel [[3, 0], [-4, 1]], bias [-3, 0.2]) on x = (1, 2), y = 1000
 * with MAE and SGD(1): while both predictions are below the targets,
 * d loss / d out_j = -1/2, so the kernel row i gains x_i / 2 and the bias
 * 1/2: kernel [[3.5, 0.5], [-3, 2]], bias [-2.5, 0.7] before the constraint. */
static float K0[4] = {3, 0, -4, 1}, B0[2] = {-3, 0.2f};

static void step_with(const char *json, float kernel[4], float bias[2]) {
  nnc_model *m = load(json);
  float xs[2] = {1, 2}, ys[2] = {1000, 1000};
  nnc_array x = testutil_f32(xs, 1, 2), y = testutil_f32(ys, 1, 2);
  nnc_status st;
  ck_assert_int_eq(nnc_model_build(m, &x, &y, &st), NNC_OK);
  set(m, "d/kernel", K0, 2, 2, 2);
  set(m, "d/bias", B0, 1, 2, 0);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  get(m, "d/kernel", kernel, 4);
  get(m, "d/bias", bias, 2);
  nnc_model_free(m);
}

static void expect(const float *got, const double *want, int n, const char *what) {
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs(got[i] - want[i]) <= 1e-6 * (1 + fabs(want[i])),
                  "%s[%d]: %.8g, expected %.8g", what, i, got[i], want[i]);
}

START_TEST(constraint_max_norm) {
  float k[4], b[2];
  step_with(Q(SEQ(", 'kernel_constraint': {'class_name': 'MaxNorm', 'config': {'max_value': 2, "
                  "'axis': 0}}, 'bias_constraint': 'non_neg'",
                  SGD("1.0"), "mae")),
            k, b);
  /* column norms sqrt(3.5^2 + 3^2), sqrt(0.5^2 + 2^2), both above 2 */
  double n0 = sqrt(3.5 * 3.5 + 9), n1 = sqrt(0.25 + 4);
  double s0 = 2 / (1e-7 + n0), s1 = 2 / (1e-7 + n1);
  double want_k[4] = {3.5 * s0, 0.5 * s1, -3 * s0, 2 * s1}, want_b[2] = {0, 0.7};
  expect(k, want_k, 4, "kernel");
  expect(b, want_b, 2, "bias");
}
END_TEST

START_TEST(constraint_unit_norm_rows) {
  float k[4], b[2];
  step_with(Q(SEQ(", 'kernel_constraint': {'class_name': 'UnitNorm', 'config': {'axis': 1}}",
                  SGD("1.0"), "mae")),
            k, b);
  double n0 = sqrt(3.5 * 3.5 + 0.25), n1 = sqrt(9 + 4);
  double want_k[4] = {3.5 / (1e-7 + n0), 0.5 / (1e-7 + n0), -3 / (1e-7 + n1), 2 / (1e-7 + n1)};
  double want_b[2] = {-2.5, 0.7}; /* unconstrained */
  expect(k, want_k, 4, "kernel");
  expect(b, want_b, 2, "bias");
}
END_TEST

START_TEST(constraint_min_max_norm) {
  float k[4], b[2];
  /* MinMaxNorm(min 3, max 4, rate 0.5) on columns: norms 4.61 (above 4)
   * and 2.06 (below 3); desired = 0.5 * clip(n, 3, 4) + 0.5 * n. Bias
   * (a vector, axis 0 = all): UnitNorm. */
  step_with(Q(SEQ(", 'kernel_constraint': {'class_name': 'MinMaxNorm', 'config': {'min_value': 3, "
                  "'max_value': 4, 'rate': 0.5}}, 'bias_constraint': {'class_name': 'UnitNorm', "
                  "'config': {}}",
                  SGD("1.0"), "mae")),
            k, b);
  double n0 = sqrt(3.5 * 3.5 + 9), n1 = sqrt(0.25 + 4);
  double s0 = (0.5 * 4 + 0.5 * n0) / (1e-7 + n0), s1 = (0.5 * 3 + 0.5 * n1) / (1e-7 + n1);
  double nb = sqrt(2.5 * 2.5 + 0.49);
  double want_k[4] = {3.5 * s0, 0.5 * s1, -3 * s0, 2 * s1};
  double want_b[2] = {-2.5 / (1e-7 + nb), 0.7 / (1e-7 + nb)};
  expect(k, want_k, 4, "kernel");
  expect(b, want_b, 2, "bias");
}
END_TEST

START_TEST(constraint_non_neg_kernel) {
  float k[4], b[2];
  step_with(Q(SEQ(", 'kernel_constraint': 'NonNeg'", SGD("1.0"), "mae")), k, b);
  double want_k[4] = {3.5, 0.5, 0, 2};
  expect(k, want_k, 4, "kernel");
}
END_TEST

/* ---- refused configs name the path ---- */
typedef struct bad_case {
  const char *extra, *message;
} bad_case;

static const bad_case bad[] = {
    {", 'kernel_regularizer': 'l3'",
     "r.json: $.config.layers[1].config.kernel_regularizer: expected a regularizer (L1, L2, L1L2, "
     "OrthogonalRegularizer), got \"l3\""},
    {", 'kernel_regularizer': {'class_name': 'L2', 'config': {'l2': -1}}",
     "r.json: $.config.layers[1].config.kernel_regularizer.config.l2: expected a non-negative "
     "number (float32), as Keras requires, got -1"},
    {", 'bias_regularizer': {'class_name': 'L1', 'config': {'l2': 0.1}}",
     "r.json: $.config.layers[1].config.bias_regularizer.config.l2: expected an argument Keras 3's "
     "L1 accepts (l1), got an unknown key"},
    {", 'kernel_regularizer': {'class_name': 'OrthogonalRegularizer', 'config': {'mode': 'diag'}}",
     "r.json: $.config.layers[1].config.kernel_regularizer.config.mode: expected \"rows\" or "
     "\"columns\", got \"diag\""},
    {", 'bias_regularizer': 'orthogonal_regularizer'",
     "r.json: $.config.layers[1].config.bias_regularizer: expected a regularizer for a matrix"},
    {", 'kernel_constraint': 'max'",
     "r.json: $.config.layers[1].config.kernel_constraint: expected a constraint (MaxNorm, "
     "MinMaxNorm, NonNeg, UnitNorm), got \"max\""},
    {", 'kernel_constraint': {'class_name': 'MaxNorm', 'config': {'max_value': 2, 'axis': 2}}",
     "r.json: $.config.layers[1].config.kernel_constraint.config.axis: expected axes of the weight "
     "(shape [2,2])"},
    {", 'kernel_constraint': {'class_name': 'NonNeg', 'config': {'axis': 0}}",
     "r.json: $.config.layers[1].config.kernel_constraint.config.axis: expected an argument Keras "
     "3's NonNeg accepts, got an unknown key"},
};

START_TEST(refused) {
  char json[2048];
  snprintf(json, sizeof json, "%s", Q(SEQ("%s", SGD("0.1"), "mse")));
  char full[4096];
  snprintf(full, sizeof full, json, Q(bad[_i].extra));
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(full, "r.json", &m, &st);
  if (rc == NNC_OK) { /* a lowering error shows at the first build */
    float xs[2] = {1, 2}, ys[2] = {1, 2};
    nnc_array x = testutil_f32(xs, 1, 2), y = testutil_f32(ys, 1, 2);
    rc = nnc_model_build(m, &x, &y, &st);
    nnc_model_free(m);
  }
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(!strncmp(st.message, bad[_i].message, strlen(bad[_i].message)),
                "got: %s\nwanted: %s", st.message, bad[_i].message);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("regularizers");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, penalties_in_loss_train_and_test);
  tcase_add_test(tc, activity_penalty_per_batch_size);
  tcase_add_test(tc, orthogonal_penalty);
  tcase_add_test(tc, frozen_layer_has_no_weight_penalty);
  tcase_add_test(tc, output_losses_exclude_penalties);
  tcase_add_loop_test(tc, penalty_gradients, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
  tcase_add_test(tc, constraint_max_norm);
  tcase_add_test(tc, constraint_unit_norm_rows);
  tcase_add_test(tc, constraint_min_max_norm);
  tcase_add_test(tc, constraint_non_neg_kernel);
  tcase_add_loop_test(tc, refused, 0, (int)(sizeof bad / sizeof bad[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
