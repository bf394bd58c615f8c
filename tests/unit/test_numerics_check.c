/* nnc_model_set_check_numerics: the step after which a NaN or infinity first
 * appears stops fit / train_on_batch with NNC_ERR_NUMERICS, a message naming
 * the epoch, the batch (1-based, as Keras's progress bar), the op and its
 * layer, and the weights, optimizer slots and iteration count from before
 * that step.
 *
 * Truth. The failing step is known by construction (an input row that
 * overflows float32 in the first matmul, a NaN in x, a learning rate that
 * makes the second step's loss overflow). "The state from before the step" is
 * compared bit for bit with a second model that ran exactly the steps before
 * it, without check-numerics; Adam's slots and iteration count are compared
 * through one more identical step on both models (its update reads m, v, t).
 * The unfused check-numerics train step must compute bit-identical results
 * to the fused one: the same floating-point operations in the same order. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define N 16
#define BATCH 4

static nnc_model *load(const char *optimizer) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"chk\",\"layers\":["
           "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,2]}},"
           "{\"class_name\":\"Dense\",\"config\":{\"name\":\"h\",\"units\":3,"
           "\"activation\":\"relu\"}},"
           "{\"class_name\":\"Dense\",\"config\":{\"name\":\"o\",\"units\":1}}]},"
           "\"compile_config\":{\"optimizer\":%s,\"loss\":\"mse\"}}",
           optimizer);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "chk.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_seed(m, 7, &st) == NNC_OK);
  return m;
}

static const char adam[] = "{\"class_name\":\"Adam\",\"config\":{\"learning_rate\":0.01}}";

static float xs[N * 2], ys[N];
static void data(void) {
  for (int i = 0; i < N; i++) {
    xs[2 * i] = (float)((i * 37 % 11) - 5) / 5.0f;
    xs[2 * i + 1] = (float)((i * 53 % 7) - 3) / 3.0f;
    ys[i] = xs[2 * i] - 0.5f * xs[2 * i + 1];
  }
}

static void set_kernel(nnc_model *m, float value) {
  float k[6];
  for (int i = 0; i < 6; i++) k[i] = value;
  nnc_array a = testutil_f32(k, 2, 3);
  nnc_status st;
  ck_assert(nnc_model_set_weight(m, "h/kernel", &a, &st) == NNC_OK);
}

/* every weight of a and b, bit for bit */
static void assert_same_weights(nnc_model *a, nnc_model *b) {
  nnc_status st;
  ck_assert_int_eq(nnc_model_iterations(a), nnc_model_iterations(b));
  for (int i = 0; i < nnc_model_weight_count(a); i++) {
    const char *name = nnc_model_weight_name(a, i);
    nnc_array wa, wb;
    ck_assert(nnc_model_get_weight(a, name, &wa, &st) == NNC_OK);
    ck_assert(nnc_model_get_weight(b, name, &wb, &st) == NNC_OK);
    int64_t n = nnc_array_count(&wa);
    ck_assert_msg(memcmp(wa.data, wb.data, (size_t)n * sizeof(float)) == 0, "%s differs", name);
    nnc_array_free(&wa);
    nnc_array_free(&wb);
  }
}

static int fit(nnc_model *m, int epochs, int shuffle, nnc_status *st) {
  nnc_array x = testutil_f32(xs, N, 2), y = testutil_f32(ys, N, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = BATCH;
  o.shuffle = shuffle;
  o.verbose = 0;
  nnc_history h;
  int rc = nnc_model_fit(m, &x, &y, &o, &h, st);
  if (rc == NNC_OK) nnc_history_free(&h);
  return rc;
}

/* one train_on_batch on rows [first, first + BATCH) */
static void step(nnc_model *m, int first) {
  nnc_array x = testutil_f32(xs + 2 * first, BATCH, 2), y = testutil_f32(ys + first, BATCH, 1);
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
}

START_TEST(checked_training_is_bit_identical) {
  data();
  nnc_model *checked = load(adam), *plain = load(adam);
  nnc_status st;
  ck_assert_msg(nnc_model_set_check_numerics(checked, 1, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_threads(checked, 2, &st) == NNC_OK); /* the scan follows the pool */
  ck_assert_int_eq(fit(checked, 3, 1, &st), NNC_OK);
  ck_assert_int_eq(fit(plain, 3, 1, &st), NNC_OK);
  assert_same_weights(checked, plain);
  /* switching off recompiles and keeps weights, slots and iterations */
  ck_assert(nnc_model_set_check_numerics(checked, 0, &st) == NNC_OK);
  ck_assert_int_eq(fit(checked, 1, 1, &st), NNC_OK);
  ck_assert_int_eq(fit(plain, 1, 1, &st), NNC_OK);
  assert_same_weights(checked, plain);
  nnc_model_free(checked);
  nnc_model_free(plain);
}
END_TEST

/* Rows 8..11 (batch 3 of 4) hold 3e38: with every h kernel entry near 2 the
 * first matmul overflows to inf there, and only there. */
START_TEST(overflow_in_a_matmul_names_epoch_batch_op_layer) {
  data();
  for (int i = 8; i < 12; i++) xs[2 * i] = xs[2 * i + 1] = 3e38f;
  nnc_model *m = load(adam), *ref = load(adam);
  set_kernel(m, 2.0f);
  set_kernel(ref, 2.0f);
  nnc_status st;
  ck_assert(nnc_model_set_check_numerics(m, 1, &st) == NNC_OK);
  ck_assert_int_eq(fit(m, 2, 0, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "check_numerics: epoch 1/2, batch 3/4: h/matmul (op matmul, "
                                   "layer h) produced inf") == st.message,
                "%s", st.message);
  ck_assert_msg(strstr(st.message, "from before this step"), "%s", st.message);
  /* the state after exactly batches 1 and 2 */
  step(ref, 0);
  step(ref, 4);
  assert_same_weights(m, ref);
  ck_assert_int_eq(nnc_model_iterations(m), 2);
  /* Adam's m, v and t were restored too: one more identical step agrees */
  step(m, 12);
  step(ref, 12);
  assert_same_weights(m, ref);
  nnc_model_free(m);
  nnc_model_free(ref);
}
END_TEST

/* A NaN in x (sample 6: batch 2 without shuffling) is the data's fault. */
START_TEST(nan_in_x_names_the_input_and_sample) {
  data();
  xs[2 * 6 + 1] = NAN;
  nnc_model *m = load(adam), *ref = load(adam);
  nnc_status st;
  ck_assert(nnc_model_set_check_numerics(m, 1, &st) == NNC_OK);
  ck_assert_int_eq(fit(m, 3, 0, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "check_numerics: epoch 1/3, batch 2/4: the input x holds NaN "
                                   "(sample 6, element 1 of its row)") == st.message,
                "%s", st.message);
  step(ref, 0);
  assert_same_weights(m, ref);
  /* shuffled, the sample index still names the row of x */
  ck_assert_int_eq(fit(m, 3, 1, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "the input x holds NaN (sample 6,"), "%s", st.message);
  nnc_model_free(m);
  nnc_model_free(ref);
}
END_TEST

/* SGD(1e30): the first step moves the weights to ~1e30, so the second
 * step's output matmul overflows. Without the check the loss is just inf. */
START_TEST(train_on_batch_stops_at_the_overflowing_step) {
  data();
  const char *sgd = "{\"class_name\":\"SGD\",\"config\":{\"learning_rate\":1e30}}";
  nnc_model *m = load(sgd), *ref = load(sgd);
  nnc_status st;
  ck_assert(nnc_model_set_check_numerics(m, 1, &st) == NNC_OK);
  step(m, 0);
  step(ref, 0);
  nnc_array x = testutil_f32(xs + 4 * 2, BATCH, 2), y = testutil_f32(ys + 4, BATCH, 1);
  TEST_LOGS(logs);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &y, &logs, &st), NNC_ERR_NUMERICS);
  /* hidden activations ~1e30 times output weights ~1e30 */
  ck_assert_msg(strstr(st.message, "check_numerics: train_on_batch at iteration 1: o/matmul (op "
                                   "matmul, layer o) produced ") == st.message,
                "%s", st.message);
  ck_assert_msg(strstr(st.message, "inf ("), "%s", st.message);
  assert_same_weights(m, ref);
  ck_assert_int_eq(nnc_model_iterations(m), 1);
  /* the unchecked model takes the step and reports a non-finite loss */
  ck_assert(nnc_model_train_on_batch(ref, &x, &y, &logs, &st) == NNC_OK);
  ck_assert(!isfinite(nnc_logs_get(&logs, "loss")));
  nnc_model_free(m);
  nnc_model_free(ref);
}
END_TEST

START_TEST(a_weight_that_is_already_nan_is_named) {
  data();
  nnc_model *m = load(adam);
  set_kernel(m, NAN);
  nnc_status st;
  ck_assert(nnc_model_set_check_numerics(m, 1, &st) == NNC_OK);
  ck_assert_int_eq(fit(m, 1, 0, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "epoch 1/1, batch 1/4: the weight h/kernel holds NaN"), "%s",
                st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 0);
  nnc_model_free(m);
}
END_TEST

/* Switched on before the model is built (no input shape): the first build
 * already compiles the checked step. */
START_TEST(on_before_the_model_is_built) {
  data();
  xs[2 * 13] = INFINITY;
  const char *json = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"lazy\",\"layers\":["
                     "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":1}}]},"
                     "\"compile_config\":{\"optimizer\":\"sgd\",\"loss\":\"mse\"}}";
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "lazy.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(!nnc_model_is_built(m));
  ck_assert(nnc_model_set_check_numerics(m, 1, &st) == NNC_OK);
  ck_assert_int_eq(fit(m, 1, 0, &st), NNC_ERR_NUMERICS);
  ck_assert_msg(strstr(st.message, "check_numerics: epoch 1/1, batch 4/4: the input x holds inf "
                                   "(sample 13, element 0 of its row)") == st.message,
                "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 3);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("numerics_check");
  TCase *t = tcase_create("check_numerics");
  tcase_set_timeout(t, 300);
  tcase_add_test(t, checked_training_is_bit_identical);
  tcase_add_test(t, overflow_in_a_matmul_names_epoch_batch_op_layer);
  tcase_add_test(t, nan_in_x_names_the_input_and_sample);
  tcase_add_test(t, train_on_batch_stops_at_the_overflowing_step);
  tcase_add_test(t, a_weight_that_is_already_nan_is_named);
  tcase_add_test(t, on_before_the_model_is_built);
  suite_add_tcase(s, t);
  return testutil_run(s);
}
