/* Every Keras 3 optimizer and base option against a hand-computed two-step
 * update. The model: Dense(2, use_bias=False) from w = [0.5, -1.5] on x = [[1]]
 * with MSE against y = [[1.25, 0.75]], so the gradient of kernel element i is
 * w_i - y_i exactly. The expected values come from
 * tests/unit/optimizer_reference.py: Keras's update_step formulas
 * (keras/src/optimizers/<name>.py, base_optimizer.py) evaluated in float32
 * arithmetic, one rounding per operation — not from nnc. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nnc.h"
#include "nnc_program.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "testutil.h"

static const char *spec_with(const char *optimizer, int use_bias) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 1], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2, 'use_bias': %s}}]},"
           "'compile_config': {'optimizer': %s, 'loss': 'mse'}}",
           use_bias ? "true" : "false", optimizer);
  return testutil_json(buf);
}

static float X[1] = {1.0f}, Y[2] = {1.25f, 0.75f};

static nnc_model *model_with(const char *optimizer, int use_bias) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec_with(optimizer, use_bias), "opt.json", &m, &st) ==
                    NNC_OK,
                "%s", st.message);
  nnc_array x = testutil_f32(X, 1, 1), y = testutil_f32(Y, 1, 2);
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  float w0[2] = {0.5f, -1.5f};
  nnc_array w = testutil_f32(w0, 1, 2);
  ck_assert_msg(nnc_model_set_weight(m, "dense/kernel", &w, &st) == NNC_OK, "%s", st.message);
  if (use_bias) {
    float b0[2] = {0.25f, 0.25f};
    nnc_array b = {.dtype = NNC_F32, .rank = 1, .shape = {2}, .data = b0};
    ck_assert_msg(nnc_model_set_weight(m, "dense/bias", &b, &st) == NNC_OK, "%s", st.message);
  }
  return m;
}

static void step(nnc_model *m) {
  TEST_LOGS(logs);
  nnc_status st;
  nnc_array x = testutil_f32(X, 1, 1), y = testutil_f32(Y, 1, 2);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
}

static void weight(nnc_model *m, const char *name, float out[2]) {
  nnc_array a;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &a, &st) == NNC_OK, "%s", st.message);
  memcpy(out, a.data, 2 * sizeof(float));
  nnc_array_free(&a);
}

/* float32 results of a few roundings (pow, sqrt) may differ in the last bits
 * between libm and TensorFlow: 2e-6 relative is a handful of ulps, far below
 * any difference in the formula */
static void near(const char *what, int s, int i, double got, double want) {
  ck_assert_msg(fabs(got - want) <= 2e-6 * fabs(want) + 1e-9,
                "%s: step %d element %d: got %.9g, want %.9g", what, s + 1, i, got, want);
}

/* two steps; want[s] = the kernel after step s + 1 */
static void two_steps(const char *what, const char *optimizer, const double want[2][2]) {
  nnc_model *m = model_with(optimizer, 0);
  for (int s = 0; s < 2; s++) {
    step(m);
    float w[2];
    weight(m, "dense/kernel", w);
    for (int i = 0; i < 2; i++) near(what, s, i, w[i], want[s][i]);
  }
  nnc_model_free(m);
}

START_TEST(sgd_momentum_nesterov) {
  static const double want[2][2] = {{0.642500043, -1.07249999}, {0.818675041, -0.543974996}};
  two_steps("SGD",
            "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'momentum': 0.9, "
            "'nesterov': true}}",
            want);
}
END_TEST

START_TEST(rmsprop_centered_momentum) {
  static const double want[2][2] = {{0.833333015, -1.16666675}, {1.17596531, -0.765424788}};
  two_steps("RMSprop",
            "{'class_name': 'RMSprop', 'config': {'learning_rate': 0.1, "
            "'momentum': 0.5, 'centered': true}}",
            want);
}
END_TEST

START_TEST(adam_amsgrad) {
  static const double want[2][2] = {{0.599998891, -1.40000081}, {0.699371994, -1.30014622}};
  two_steps("Adam", "{'class_name': 'Adam', 'config': {'learning_rate': 0.1, 'amsgrad': true}}",
            want);
}
END_TEST

START_TEST(adamw_default_weight_decay) {
  static const double want[2][2] = {{0.599798918, -1.39940083}, {0.698933959, -1.29898739}};
  two_steps("AdamW", "{'class_name': 'AdamW', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(adagrad) {
  static const double want[2][2] = {{0.592144251, -1.4009732}, {0.655003488, -1.33222497}};
  two_steps("Adagrad", "{'class_name': 'Adagrad', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(adadelta) {
  static const double want[2][2] = {{0.500141442, -1.49985862}, {0.500284672, -1.49971545}};
  two_steps("Adadelta", "{'class_name': 'Adadelta', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(adamax) {
  static const double want[2][2] = {{0.599999964, -1.39999998}, {0.693075478, -1.30224144}};
  two_steps("Adamax", "{'class_name': 'Adamax', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(nadam) {
  static const double want[2][2] = {{0.606278777, -1.39372122}, {0.678309619, -1.31800818}};
  two_steps("Nadam", "{'class_name': 'Nadam', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(ftrl) {
  static const double want[2][2] = {{0.242694199, -0.972160697}, {0.297875673, -0.919091284}};
  two_steps("Ftrl",
            "{'class_name': 'Ftrl', 'config': {'learning_rate': 0.1, "
            "'l1_regularization_strength': 0.01, 'l2_regularization_strength': 0.02, "
            "'l2_shrinkage_regularization_strength': 0.03, 'beta': 0.5}}",
            want);
}
END_TEST

START_TEST(lion) {
  static const double want[2][2] = {{0.600000024, -1.39999998}, {0.700000048, -1.29999995}};
  two_steps("Lion", "{'class_name': 'Lion', 'config': {'learning_rate': 0.1}}", want);
}
END_TEST

START_TEST(clipnorm) {
  static const double want[2][2] = {{0.531622767, -1.4051317}, {0.563245535, -1.3102634}};
  two_steps("clipnorm", "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'clipnorm': 1}}",
            want);
}
END_TEST

START_TEST(clipvalue) {
  static const double want[2][2] = {{0.550000012, -1.45000005}, {0.600000024, -1.4000001}};
  two_steps("clipvalue",
            "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'clipvalue': 0.5}}", want);
}
END_TEST

START_TEST(weight_decay) {
  static const double want[2][2] = {{0.564999998, -1.245}, {0.622199953, -1.02060008}};
  two_steps("weight_decay",
            "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'weight_decay': 0.2}}", want);
}
END_TEST

/* exclude_from_weight_decay ['kernel']: plain SGD, w - g lr: 0.5 - (-0.75)(0.1) */
START_TEST(weight_decay_excluded) {
  nnc_model *m =
      model_with("{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'weight_decay': 0.2, "
                 "'exclude_from_weight_decay': ['kern']}}",
                 0);
  step(m);
  float w[2];
  weight(m, "dense/kernel", w);
  near("excluded", 0, 0, w[0], 0.575);
  near("excluded", 0, 1, w[1], -1.275);
  nnc_model_free(m);
}
END_TEST

/* global_clipnorm over the kernel and the bias (both gradients w + b - y) */
START_TEST(global_clipnorm) {
  static const double want[2][4] = {{0.517149866, -1.43140054, 0.267149866, 0.318599433},
                                    {0.534299731, -1.36280107, 0.284299731, 0.387198865}};
  nnc_model *m = model_with(
      "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'global_clipnorm': 1}}", 1);
  for (int s = 0; s < 2; s++) {
    step(m);
    float w[2], b[2];
    weight(m, "dense/kernel", w);
    weight(m, "dense/bias", b);
    for (int i = 0; i < 2; i++) {
      near("global_clipnorm kernel", s, i, w[i], want[s][i]);
      near("global_clipnorm bias", s, i, b[i], want[s][2 + i]);
    }
  }
  nnc_model_free(m);
}
END_TEST

/* use_ema, ema_momentum 0.5, ema_overwrite_frequency 2: step 1 sets the
 * average to the new weights (momentum 0 on the first step); step 2 averages
 * and overwrites the weights with the average */
START_TEST(ema_overwrite) {
  static const double want[2][4] = {{0.574999988, -1.27499998, 0.574999988, -1.27499998},
                                    {0.608749986, -1.17374992, 0.608749986, -1.17374992}};
  nnc_model *m = model_with("{'class_name': 'SGD', 'config': {'learning_rate': 0.1, "
                            "'use_ema': true, 'ema_momentum': 0.5, 'ema_overwrite_frequency': 2}}",
                            0);
  const nnc_program_table *t = nnc_model_table(m);
  int avg = -1;
  for (int i = 0; i < t->n_variables; i++)
    if (t->variables[i].average_of && !strcmp(t->variables[i].average_of, "dense/kernel")) avg = i;
  ck_assert_msg(avg >= 0, "no moving-average slot of dense/kernel");
  ck_assert_str_eq(t->variables[avg].name, "dense/kernel/average");
  for (int s = 0; s < 2; s++) {
    step(m);
    float w[2];
    weight(m, "dense/kernel", w);
    for (int i = 0; i < 2; i++) near("ema weights", s, i, w[i], want[s][i]);
  }
  nnc_model_free(m);
}
END_TEST

/* A step that is not overwritten: the average lags the weights. Step 1:
 * w = 0.575 = average; step 2: w = 0.575 - (0.575 - 1.25)(0.1) = 0.6425,
 * average = 0.5 (0.575) + 0.5 (0.6425) = 0.60875. The end of fit
 * (finalize_variable_values) copies it into the weights. */
START_TEST(ema_average_lags) {
  nnc_model *m = model_with("{'class_name': 'SGD', 'config': {'learning_rate': 0.1, "
                            "'use_ema': true, 'ema_momentum': 0.5}}",
                            0);
  step(m);
  step(m);
  float w[2];
  weight(m, "dense/kernel", w);
  near("ema lag", 1, 0, w[0], 0.6425);
  /* finalize_variable_values: the averages (optimizer_reference.py: sgd_ema, step 2) */
  nnc_status st;
  ck_assert_msg(model_finalize_variable_values(m, &st) == NNC_OK, "%s", st.message);
  weight(m, "dense/kernel", w);
  near("ema finalized", 1, 0, w[0], 0.608749986);
  near("ema finalized", 1, 1, w[1], -1.17374992);
  nnc_model_free(m);
}
END_TEST

/* gradient_accumulation_steps 2 with Adam: raw step 1 only accumulates; raw
 * step 2 updates with (g2 + g1) / 2 = g (the weights did not move) at Keras's
 * local_step 1 — the same numbers as Adam's first step; raw step 3
 * accumulates again */
START_TEST(gradient_accumulation) {
  static const double want[3][2] = {
      {0.5, -1.5}, {0.599998891, -1.40000081}, {0.599998891, -1.40000081}};
  nnc_model *m = model_with(
      "{'class_name': 'Adam', 'config': {'learning_rate': 0.1, 'gradient_accumulation_steps': 2}}",
      0);
  for (int s = 0; s < 3; s++) {
    step(m);
    float w[2];
    weight(m, "dense/kernel", w);
    for (int i = 0; i < 2; i++) near("accumulation", s, i, w[i], want[s][i]);
  }
  ck_assert_int_eq(nnc_model_iterations(m), 3);
  nnc_model_free(m);
}
END_TEST

/* Adafactor on Dense(2) from 2 inputs: the kernel (rank 2) gets row and
 * column moments, the bias (rank 1) a full one (optimizer_reference.py:
 * adafactor) */
START_TEST(adafactor) {
  static const double want[2][6] = {
      {0.411611646, -1.41161168, 0.161611646, 0.838388324, 0.449999988, -0.449999988},
      {0.444120437, -1.33804226, 0.194120437, 0.9119578, 0.467207283, -0.411058754}};
  const char *json = testutil_json(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 2], 'name': 'in'}},"
      "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2}}]},"
      "'compile_config': {'optimizer': {'class_name': 'Adafactor', 'config': {'learning_rate': "
      "0.1}}, 'loss': 'mse'}}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "adafactor.json", &m, &st) == NNC_OK, "%s", st.message);
  float x2[2] = {1.0f, 2.0f}, k0[4] = {0.5f, -1.5f, 0.25f, 0.75f}, b0[2] = {0.5f, -0.5f};
  nnc_array x = testutil_f32(x2, 1, 2), y = testutil_f32(Y, 1, 2);
  nnc_array k = testutil_f32(k0, 2, 2), b = {.dtype = NNC_F32, .rank = 1, .shape = {2}, .data = b0};
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "dense/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_weight(m, "dense/bias", &b, &st) == NNC_OK, "%s", st.message);
  for (int s = 0; s < 2; s++) {
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    nnc_array kw, bw;
    ck_assert(nnc_model_get_weight(m, "dense/kernel", &kw, &st) == NNC_OK);
    ck_assert(nnc_model_get_weight(m, "dense/bias", &bw, &st) == NNC_OK);
    for (int i = 0; i < 4; i++) near("Adafactor kernel", s, i, ((float *)kw.data)[i], want[s][i]);
    for (int i = 0; i < 2; i++) near("Adafactor bias", s, i, ((float *)bw.data)[i], want[s][4 + i]);
    nnc_array_free(&kw);
    nnc_array_free(&bw);
  }
  /* the factored moments are shaped as Keras shapes them: r (2,), c (2,) */
  const nnc_program_table *t = nnc_model_table(m);
  int seen = 0;
  for (int i = 0; i < t->n_variables; i++)
    if (!strcmp(t->variables[i].name, "dense/kernel/r") ||
        !strcmp(t->variables[i].name, "dense/kernel/c")) {
      ck_assert_int_eq(t->variables[i].rank, 1);
      ck_assert_int_eq(t->variables[i].shape[0], 2);
      seen++;
    }
  ck_assert_int_eq(seen, 2);
  nnc_model_free(m);
}
END_TEST

/* ---- the state file ---- */

static void bits_equal(nnc_model *a, nnc_model *b, const char *name) {
  float wa[2], wb[2];
  weight(a, name, wa);
  weight(b, name, wb);
  ck_assert_msg(!memcmp(wa, wb, sizeof wa), "%s: %.9g %.9g vs %.9g %.9g", name, wa[0], wa[1], wb[0],
                wb[1]);
}

/* 2 steps, save weights and optimizer state, load both into a fresh model,
 * 2 more steps: bit-identical to 4 uninterrupted steps (Nadam: u_product and
 * the step count matter; Adagrad: a non-zero initial accumulator) */
static void resume_equals_uninterrupted(const char *optimizer) {
  const char *dir = testutil_tmpdir();
  char wpath[512], spath[512];
  snprintf(wpath, sizeof wpath, "%s/w.safetensors", dir);
  snprintf(spath, sizeof spath, "%s/opt.safetensors", dir);
  nnc_status st;
  nnc_model *whole = model_with(optimizer, 1), *first = model_with(optimizer, 1);
  for (int s = 0; s < 4; s++) step(whole);
  step(first);
  step(first);
  ck_assert_msg(nnc_model_save_weights(first, wpath, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_save_optimizer_state(first, spath, &st) == NNC_OK, "%s", st.message);
  nnc_model_free(first);
  nnc_model *second = model_with(optimizer, 1);
  ck_assert_msg(nnc_model_load_weights(second, wpath, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_load_optimizer_state(second, spath, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(second), 2);
  step(second);
  step(second);
  bits_equal(whole, second, "dense/kernel");
  bits_equal(whole, second, "dense/bias");
  nnc_model_free(whole);
  nnc_model_free(second);
}

START_TEST(resume_nadam) {
  resume_equals_uninterrupted("{'class_name': 'Nadam', 'config': {'learning_rate': 0.1}}");
}
END_TEST

START_TEST(resume_adagrad_ema_accumulation) {
  resume_equals_uninterrupted("{'class_name': 'Adagrad', 'config': {'learning_rate': 0.1, "
                              "'use_ema': true, 'gradient_accumulation_steps': 3}}");
}
END_TEST

/* Keras's names: iteration, learning_rate, <path with _>_<slot>; loading
 * another optimizer's file names what is missing or differs */
START_TEST(state_file_names_and_errors) {
  const char *dir = testutil_tmpdir();
  char adam[512], sgd[512];
  snprintf(adam, sizeof adam, "%s/adam.safetensors", dir);
  snprintf(sgd, sizeof sgd, "%s/sgd.safetensors", dir);
  nnc_status st;
  nnc_model *m = model_with("{'class_name': 'Adam', 'config': {'learning_rate': 0.1}}", 1);
  step(m);
  ck_assert_msg(nnc_model_save_optimizer_state(m, adam, &st) == NNC_OK, "%s", st.message);
  nnc_model *s = model_with("{'class_name': 'SGD', 'config': {'momentum': 0.5}}", 1);
  ck_assert_msg(nnc_model_save_optimizer_state(s, sgd, &st) == NNC_OK, "%s", st.message);
  /* an SGD file lacks Adam's velocity */
  ck_assert_int_eq(nnc_model_load_optimizer_state(m, sgd, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "no tensor named 'dense_kernel_velocity'"), "%s", st.message);
  /* an Adam file has tensors SGD does not know */
  ck_assert_int_eq(nnc_model_load_optimizer_state(s, adam, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "is not a variable of this model's optimizer"), "%s",
                st.message);
  ck_assert_int_eq(nnc_model_iterations(s), 0); /* nothing loaded */
  /* the names as Keras writes them, the step count as int64 */
  nnc_tensor_set set = {0};
  ck_assert_msg(nnc_safetensors_read(adam, &set, &st) == NNC_OK, "%s", st.message);
  static const char *const names[] = {
      "iteration",           "learning_rate",      "dense_kernel_momentum", "dense_kernel_velocity",
      "dense_bias_momentum", "dense_bias_velocity"};
  ck_assert_int_eq(set.n, 6);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(nnc_tensor_set_find(&set, names[i]), "no %s in the state file", names[i]);
  const nnc_array *it = nnc_tensor_set_find(&set, "iteration");
  ck_assert_int_eq(it->dtype, NNC_I64);
  ck_assert_int_eq(*(const int64_t *)it->data, 1);
  ck_assert_int_eq(nnc_tensor_set_find(&set, "dense_kernel_velocity")->rank, 2);
  nnc_tensor_set_free(&set);
  nnc_model_free(m);
  nnc_model_free(s);
}
END_TEST

/* the slot of a different shape: named, both shapes said */
START_TEST(state_file_shape_mismatch) {
  const char *dir = testutil_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/shape.safetensors", dir);
  nnc_status st;
  /* a model of Dense(3) writes dense_kernel_momentum of shape (1, 3) */
  const char *three =
      testutil_json("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
                    "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 1]}},"
                    "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 3, "
                    "'use_bias': false}}]}, 'compile_config': {'optimizer': {'class_name': 'SGD', "
                    "'config': {'momentum': 0.5}}, 'loss': 'mse'}}");
  nnc_model *big = NULL;
  ck_assert_int_eq(nnc_model_load_string(three, "three.json", &big, &st), NNC_OK);
  float y3[3] = {0, 0, 0};
  nnc_array x = testutil_f32(X, 1, 1), y = testutil_f32(y3, 1, 3);
  ck_assert_msg(nnc_model_build(big, &x, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_save_optimizer_state(big, path, &st) == NNC_OK, "%s", st.message);
  nnc_model *m = model_with("{'class_name': 'SGD', 'config': {'momentum': 0.5}}", 0);
  ck_assert_int_eq(nnc_model_load_optimizer_state(m, path, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "'dense_kernel_momentum': expected float32 of shape (1, 2), got "
                                   "shape (1, 3)"),
                "%s", st.message);
  nnc_model_free(big);
  nnc_model_free(m);
}
END_TEST

/* loss_scale_factor (base_optimizer.py scale_loss, apply): the train step
 * differentiates loss x factor, the gradients are divided by the factor
 * before clipping. Gradients here: w - y = (-0.75, -2.25). With factor
 * 3e38 the scaled gradient of element 1 overflows float32 (2.25 x 3e38 >
 * 3.4e38) as it does in Keras: inf / factor = inf, so that weight becomes
 * +inf; element 0 (0.75 x 3e38 fits) comes back as -0.75: 0.5 + 0.1 x 0.75.
 * The reported loss is not scaled: ((-0.75)^2 + (-2.25)^2) / 2 = 2.8125. */
START_TEST(loss_scale_factor_scales_the_gradients) {
  nnc_model *m =
      model_with("{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'loss_scale_factor': "
                 "3e38}}",
                 0);
  TEST_LOGS(logs);
  nnc_status st;
  nnc_array x = testutil_f32(X, 1, 1), y = testutil_f32(Y, 1, 2);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  near("loss", 0, 0, nnc_logs_get(&logs, "loss"), 2.8125);
  float w[2];
  weight(m, "dense/kernel", w);
  near("loss_scale_factor 3e38", 0, 0, w[0], 0.575);
  ck_assert_msg(isinf(w[1]) && w[1] > 0, "element 1: got %g, want +inf (the overflow)", w[1]);
  nnc_model_free(m);
}
END_TEST

/* Unscaled before clipping: clipvalue 1 sees (-0.75, -2.25), not the
 * gradients x 1000: (0.5 + 0.075, -1.5 + 0.1), then (w - y) again. */
START_TEST(loss_scale_factor_before_clipping) {
  static const double want[2][2] = {{0.575, -1.4}, {0.6425, -1.3}};
  two_steps("loss_scale_factor with clipvalue",
            "{'class_name': 'SGD', 'config': {'learning_rate': 0.1, 'loss_scale_factor': 1000, "
            "'clipvalue': 1.0}}",
            want);
}
END_TEST

int main(void) {
  Suite *s = suite_create("optimizers");
  TCase *rules = tcase_create("rules");
  tcase_set_timeout(rules, 120);
  tcase_add_test(rules, sgd_momentum_nesterov);
  tcase_add_test(rules, rmsprop_centered_momentum);
  tcase_add_test(rules, adam_amsgrad);
  tcase_add_test(rules, adamw_default_weight_decay);
  tcase_add_test(rules, adagrad);
  tcase_add_test(rules, adadelta);
  tcase_add_test(rules, adamax);
  tcase_add_test(rules, nadam);
  tcase_add_test(rules, ftrl);
  tcase_add_test(rules, lion);
  tcase_add_test(rules, adafactor);
  suite_add_tcase(s, rules);
  TCase *base = tcase_create("base options");
  tcase_set_timeout(base, 120);
  tcase_add_test(base, clipnorm);
  tcase_add_test(base, clipvalue);
  tcase_add_test(base, global_clipnorm);
  tcase_add_test(base, weight_decay);
  tcase_add_test(base, weight_decay_excluded);
  tcase_add_test(base, ema_overwrite);
  tcase_add_test(base, ema_average_lags);
  tcase_add_test(base, gradient_accumulation);
  tcase_add_test(base, loss_scale_factor_scales_the_gradients);
  tcase_add_test(base, loss_scale_factor_before_clipping);
  suite_add_tcase(s, base);
  TCase *state = tcase_create("state file");
  tcase_set_timeout(state, 120);
  tcase_add_test(state, resume_nadam);
  tcase_add_test(state, resume_adagrad_ema_accumulation);
  tcase_add_test(state, state_file_names_and_errors);
  tcase_add_test(state, state_file_shape_mismatch);
  suite_add_tcase(s, state);
  return testutil_run(s);
}
