/* Empty data (x of shape (0, 4)) through the C API: Keras raises on it, and
 * nnc refuses it with NNC_ERR_DATA in fit, evaluate, predict, the on-batch
 * calls and validation data, before any step runs. (It once trained on
 * nothing and reported loss 0.) */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define WITH_SHAPE                                                                                 \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["                   \
  "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "     \
  "\"in\"}}, "                                                                                     \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]}, "                   \
  "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}"
/* no input shape: the model is built from the data, as in Keras */
#define WITHOUT_SHAPE                                                                              \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["                   \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]}, "                   \
  "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}"

static float xs[8 * 4] = {1, 2, 3, 4, 0, 1, 0, 1, 2, 2, 2, 2, -1, 0,  1, 0,
                          1, 1, 0, 0, 3, 0, 1, 2, 0, 0, 0, 1, 1,  -2, 1, 1};
static float ys[8] = {1, 0, 2, -1, 1, 0, 1, 3};

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "zero_rows", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static void assert_refused(int rc, const nnc_status *st) {
  ck_assert_int_eq(rc, NNC_ERR_DATA);
  ck_assert_msg(strstr(st->message, "x has 0 samples (shape (0, 4))"), "message: %s", st->message);
}

/* The kernel and bias after a call, to check a refused call changed nothing. */
static void weights(nnc_model *m, float out[5]) {
  nnc_status st;
  nnc_array k, b;
  ck_assert_msg(nnc_model_get_weight(m, "d/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_get_weight(m, "d/bias", &b, &st) == NNC_OK, "%s", st.message);
  memcpy(out, k.data, 4 * sizeof(float));
  memcpy(out + 4, b.data, sizeof(float));
  nnc_array_free(&k);
  nnc_array_free(&b);
}

START_TEST(fit_refuses_empty_x) {
  const char *specs[] = {WITH_SHAPE, WITHOUT_SHAPE};
  for (int i = 0; i < 2; i++) {
    nnc_model *m = load(specs[i]);
    nnc_array x = testutil_f32(xs, 0, 4), y = testutil_f32(ys, 0, 1);
    /* verbose 2 into a bounded buffer: nothing is printed for refused data */
    static char out[4096];
    memset(out, 0, sizeof out);
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.verbose = 2;
    o.progress = f;
    nnc_history h;
    nnc_status st;
    assert_refused(nnc_model_fit(m, &x, &y, &o, &h, &st), &st);
    fflush(f);
    ck_assert_int_eq(ftell(f), 0);
    fclose(f);
    ck_assert_int_eq(h.n_epochs, 0);
    nnc_model_free(m);
  }
}
END_TEST

START_TEST(evaluate_predict_on_batch_refuse_empty_x) {
  nnc_model *m = load(WITH_SHAPE);
  float before[5], after[5];
  weights(m, before);
  nnc_array x = testutil_f32(xs, 0, 4), y = testutil_f32(ys, 0, 1), p;
  TEST_LOGS(logs);
  nnc_status st;
  assert_refused(nnc_model_evaluate(m, &x, &y, 32, &logs, &st), &st);
  assert_refused(nnc_model_predict(m, &x, 32, &p, &st), &st);
  ck_assert_ptr_null(p.data);
  assert_refused(nnc_model_train_on_batch(m, &x, &y, &logs, &st), &st);
  assert_refused(nnc_model_test_on_batch(m, &x, &y, &logs, &st), &st);
  weights(m, after);
  ck_assert(memcmp(before, after, sizeof before) == 0);
  nnc_model_free(m);
}
END_TEST

/* Empty validation data is refused before the first step: the weights stay. */
START_TEST(fit_refuses_empty_validation_data) {
  nnc_model *m = load(WITH_SHAPE);
  float before[5], after[5];
  weights(m, before);
  nnc_array x = testutil_f32(xs, 8, 4), y = testutil_f32(ys, 8, 1);
  nnc_array xv = testutil_f32(xs, 0, 4), yv = testutil_f32(ys, 0, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  o.x_val = &xv;
  o.y_val = &yv;
  nnc_history h;
  nnc_status st;
  assert_refused(nnc_model_fit(m, &x, &y, &o, &h, &st), &st);
  weights(m, after);
  ck_assert(memcmp(before, after, sizeof before) == 0);
  nnc_model_free(m);
}
END_TEST

/* A validation_split that leaves no training rows is refused; 1e30 once
 * reached an (int64_t) conversion of -8e30 (undefined; the UBSan pass of
 * tests/run.sh aborts on it). */
START_TEST(huge_validation_split_is_refused) {
  double splits[] = {1e30, 1.0, 0.99};
  for (int i = 0; i < 3; i++) {
    nnc_model *m = load(WITH_SHAPE);
    nnc_array x = testutil_f32(xs, 8, 4), y = testutil_f32(ys, 8, 1);
    nnc_fit_options o;
    nnc_fit_options_default(&o);
    o.verbose = 0;
    o.validation_split = splits[i];
    nnc_history h;
    nnc_status st;
    ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, &h, &st), NNC_ERR_ARG);
    /* out of [0, 1): refused with the options; 0.99: by the split itself */
    ck_assert_msg(strstr(st.message, splits[i] >= 1 ? "validation_split must be in [0, 1)"
                                                    : "leaves no training or no validation "
                                                      "samples out of 8"),
                  "%s", st.message);
    nnc_model_free(m);
  }
}
END_TEST

/* The limit is exactly 0: one sample trains and moves the weights. */
START_TEST(one_sample_is_enough) {
  nnc_model *m = load(WITH_SHAPE);
  float before[5], after[5];
  weights(m, before);
  nnc_array x = testutil_f32(xs, 1, 4), y = testutil_f32(ys, 1, 1);
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 1);
  weights(m, after);
  ck_assert(memcmp(before, after, sizeof before) != 0);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("zero_rows");
  TCase *tc = tcase_create("refused");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, fit_refuses_empty_x);
  tcase_add_test(tc, evaluate_predict_on_batch_refuse_empty_x);
  tcase_add_test(tc, fit_refuses_empty_validation_data);
  tcase_add_test(tc, huge_validation_split_is_refused);
  tcase_add_test(tc, one_sample_is_enough);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
