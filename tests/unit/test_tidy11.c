/* Session 11 "tidy": label values in messages are the host's values, in
 * their own dtype and exactly; the float-label rule of docs/semantics.md
 * ("Class labels"); NNC_* variables with a value nnc does not accept are an
 * error from compile. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/cache_key.h"
#include "compiler/compile.h"
#include "compiler/env_check.h"
#include "nnc.h"
#include "testutil.h"

/* 6 features -> 3 classes, sparse loss from logits and sparse accuracy. */
#define SPEC                                                                                       \
  testutil_sequential("6", "{'class_name': 'Dense', 'config': {'name': 'o', 'units': 3}}",         \
                      "{'optimizer': 'sgd', 'loss': {'class_name': "                               \
                      "'SparseCategoricalCrossentropy', 'config': {'from_logits': true}}, "        \
                      "'metrics': ['sparse_categorical_accuracy']}")

enum { N = 4 };

/* evaluate() on labels y (dtype dt, N of them): its status code, the
 * message in msg. */
static int evaluate_labels(nnc_model *m, nnc_dtype dt, void *y, char *msg, size_t n) {
  static float x[N * 6];
  nnc_array xa = testutil_f32(x, N, 6), ya = {dt, 1, {N}, y, NULL};
  nnc_status st;
  TEST_LOGS(l);
  int rc = nnc_model_evaluate(m, &xa, &ya, N, &l, &st);
  snprintf(msg, n, "%s", rc ? st.message : "");
  return rc;
}

/* The bad label is named with the host's value, exactly, in its dtype. */
static void expect_label_text(nnc_model *m, nnc_dtype dt, void *y, const char *want) {
  char msg[1024];
  ck_assert_int_eq(evaluate_labels(m, dt, y, msg, sizeof msg), NNC_ERR_DATA);
  ck_assert_msg(strstr(msg, want), "want \"%s\" in: %s", want, msg);
}

START_TEST(label_values_print_in_their_own_dtype) {
  nnc_model *m = testutil_load(SPEC);
  int64_t i64[N] = {0, 1, 4294967297ll, 2};
  expect_label_text(m, NNC_I64, i64,
                    "y[2] = 4294967297 (as float32: 4294967296) is not a class index");
  i64[2] = INT64_MIN;
  expect_label_text(m, NNC_I64, i64, "y[2] = -9223372036854775808 is not a class index");
  uint64_t u64[N] = {0, UINT64_MAX, 1, 2};
  expect_label_text(m, NNC_U64, u64,
                    "y[1] = 18446744073709551615 (as float32: 18446744073709551616) is not");
  int32_t i32[N] = {0, 1, 2, 16777217};
  expect_label_text(m, NNC_I32, i32, "y[3] = 16777217 (as float32: 16777216) is not");
  double f64[N] = {0, 1e300, 1, 2};
  expect_label_text(m, NNC_F64, f64, "y[1] = 1e+300 (as float32: inf) is not a class index");
  f64[1] = 3.0000000000000004;
  expect_label_text(m, NNC_F64, f64, "y[1] = 3.0000000000000004 (as float32: 3) is not");
  f64[1] = 2.5;
  expect_label_text(m, NNC_F64, f64, "y[1] = 2.5 is not a class index");
  float f32[N] = {0, 1, 2, 0.1f};
  expect_label_text(m, NNC_F32, f32, "y[3] = 0.1 is not a class index");
  f32[3] = 16777216.0f;
  expect_label_text(m, NNC_F32, f32, "y[3] = 16777216 is not a class index");
  uint8_t u8[N] = {0, 255, 1, 2};
  expect_label_text(m, NNC_U8, u8, "y[1] = 255 is not a class index");
  nnc_model_free(m);
}
END_TEST

/* docs/semantics.md, "Class labels": a label is taken as Keras takes it,
 * rounded to float32 first (the data adapter casts float64 to floatx, the
 * loss casts y_true to its dtype). One that is then an integer in range is
 * that class, with the same loss and accuracy as the integer label; one
 * that is not is an error (Keras's int cast would truncate it in the loss
 * while its accuracy compares the float: no one meaning). */
START_TEST(float_labels_are_rounded_to_float32_first) {
  nnc_model *m = testutil_load(SPEC);
  static float x[N * 6];
  for (int i = 0; i < N * 6; i++) x[i] = (float)((i * 7) % 5) - 2.0f;
  nnc_array xa = testutil_f32(x, N, 6);
  double near[N] = {1.9999999999, -0.0, 1.00000001, -1e-300}; /* float32: 2, -0, 1, -0 */
  float exact[N] = {2, 0, 1, 0};
  nnc_array yd = {NNC_F64, 1, {N}, near, NULL}, yf = {NNC_F32, 1, {N}, exact, NULL};
  nnc_status st;
  TEST_LOGS(ld);
  TEST_LOGS(lf);
  ck_assert_msg(nnc_model_evaluate(m, &xa, &yd, N, &ld, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_evaluate(m, &xa, &yf, N, &lf, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(ld.n, lf.n);
  for (int i = 0; i < ld.n; i++) /* loss and accuracy, bit for bit */
    ck_assert_msg(!memcmp(&ld.values[i], &lf.values[i], sizeof ld.values[i]), "%s: %.9g vs %.9g",
                  lf.names[i], ld.values[i], lf.values[i]);
  double bad[] = {2.5, 1.0000001, -0.5, -1, 3, 2.9999999999, 1e300, -1e300, 0x1p127 * 4, NAN};
  const char *text[] = {"2.5 is",
                        "1.0000001 (as float32: 1.00000012) is",
                        "-0.5 is",
                        "-1 is",
                        "3 is",
                        "2.9999999999 (as float32: 3) is",
                        "1e+300 (as float32: inf) is",
                        "-1e+300 (as float32: -inf) is",
                        "6.80564733841877e+38 (as float32: inf) is",
                        "nan is"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    double y[N] = {0, 1, bad[k], 2};
    char want[128];
    snprintf(want, sizeof want, "y[2] = %s not a class index in [0, 3)", text[k]);
    expect_label_text(m, NNC_F64, y, want);
  }
  nnc_model_free(m);
}
END_TEST

/* An Embedding index is named the same way. */
START_TEST(index_values_print_in_their_own_dtype) {
  nnc_model *m = testutil_load(testutil_sequential(
      "2", "{'class_name': 'Embedding', 'config': {'name': 'e', 'input_dim': 5, 'output_dim': 2}}",
      NULL));
  int64_t x[N * 2] = {0, 1, 2, 3, 4, 9007199254740993ll, 0, 1};
  nnc_array xa = {NNC_I64, 2, {N, 2}, x, NULL}, p = {0};
  nnc_status st;
  ck_assert_int_eq(nnc_model_predict(m, &xa, N, &p, &st), NNC_ERR_DATA);
  ck_assert_msg(strstr(st.message, "sample 2, position (1,) holds 9007199254740993 (as float32: "
                                   "9007199254740992): expected an integer index in [0, 5)"),
                "%s", st.message);
  nnc_model_free(m);
}
END_TEST

/* Compiling SPEC (without the JIT) with name=value set: its status code,
 * the message in st. */
static int load_with(const char *name, const char *value, nnc_status *st) {
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.no_jit = 1;
  setenv(name, value, 1);
  int rc = testutil_compile(SPEC, &opts, st);
  unsetenv(name);
  return rc;
}

/* A value nnc does not take is an error naming the variable, the value and
 * what it takes, not the default in silence; every accepted one loads. */
START_TEST(bad_environment_values_are_errors) {
  const char *bad[][2] = {{"NNC_VECTOR_WIDTH", "12"},
                          {"NNC_VECTOR_WIDTH", "8 "},
                          {"NNC_VECTOR_WIDTH", "avx2"},
                          {"NNC_KERNEL_SHARING", "no"},
                          {"NNC_OPT_UNIFORM", "2"},
                          {"NNC_CONV_EPILOGUE", "off"},
                          {"NNC_CACHE", "false"},
                          {"NNC_CACHE_MAX_MB", "-1"},
                          {"NNC_CACHE_MAX_MB", "1e3"},
                          {"NNC_CACHE_MAX_MB", "1073741825"},
                          {"NNC_CACHE_MAX_MB", "99999999999999999999999"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    nnc_status st;
    ck_assert_int_eq(load_with(bad[i][0], bad[i][1], &st), NNC_ERR_ARG);
    char want[128];
    snprintf(want, sizeof want, "environment variable %s=\"%s\": expected ", bad[i][0], bad[i][1]);
    ck_assert_msg(strstr(st.message, want), "want \"%s\" in: %s", want, st.message);
  }
  nnc_status st;
  nnc_model *m = NULL; /* the public API says the same */
  setenv("NNC_VECTOR_WIDTH", "12", 1);
  ck_assert_int_eq(nnc_model_load_string(SPEC, "env.json", &m, &st), NNC_ERR_ARG);
  unsetenv("NNC_VECTOR_WIDTH");
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(st.message, "expected 4, 8 or 16"), "%s", st.message);
  ck_assert_int_eq(load_with("NNC_CACHE_MAX_MB", "1073741824", &st), NNC_OK);
  ck_assert_int_eq(load_with("NNC_CACHE_MAX_MB", "0", &st), NNC_OK);
  for (const env_var *v = env_vars; v->name; v++) {
    ck_assert_msg(load_with(v->name, "", &st) == NNC_OK, "%s=: %s", v->name, st.message);
    for (const char *const *a = v->values; a && *a; a++)
      ck_assert_msg(load_with(v->name, *a, &st) == NNC_OK, "%s=%s: %s", v->name, *a, st.message);
  }
}
END_TEST

static int checked(const char *name) {
  for (const env_var *v = env_vars; v->name; v++)
    if (!strcmp(v->name, name)) return 1;
  return 0;
}

/* test_cache10 proves every getenv("NNC_...") of compiler/ and base/ is in
 * one of cache_key.c's lists; each of those is checked here. */
START_TEST(every_variable_read_is_checked) {
  for (int i = 0; cache_key_env_code[i]; i++)
    ck_assert_msg(checked(cache_key_env_code[i]), "%s is not checked", cache_key_env_code[i]);
  for (int i = 0; cache_key_env_other[i]; i++)
    ck_assert_msg(checked(cache_key_env_other[i]), "%s is not checked", cache_key_env_other[i]);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("tidy11");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, label_values_print_in_their_own_dtype);
  tcase_add_test(tc, index_values_print_in_their_own_dtype);
  tcase_add_test(tc, float_labels_are_rounded_to_float32_first);
  tcase_add_test(tc, bad_environment_values_are_errors);
  tcase_add_test(tc, every_variable_read_is_checked);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
