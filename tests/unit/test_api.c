/* The C API's argument contract (include/nnc.h): every public function
 * refuses a NULL pointer or a malformed array with NNC_ERR_ARG and a message
 * naming the function and the argument, accepts a NULL status, and the
 * documented NULL-tolerant accessors return their documented values. Also
 * set_seed's rule (weights drawn again only while still the initial ones)
 * and check_data. Check runs each test in its own process, so a crash is a
 * failure of that test, not of the suite. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

static const char *spec =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"api\", \"layers\": ["
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 3, "
    "\"batch_input_shape\": [null, 2]}}]},"
    " \"compile_config\": {\"optimizer\": {\"class_name\": \"SGD\", \"config\": "
    "{\"learning_rate\": 0.1}}, \"loss\": \"mse\"}}";

static float xs[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ys[12] = {0};

static nnc_array x_of(void) {
  nnc_array a = {NNC_F32, 2, {4, 2}, xs, "x.npy"};
  return a;
}
static nnc_array y_of(void) {
  nnc_array a = {NNC_F32, 2, {4, 3}, ys, "y.npy"};
  return a;
}

static nnc_model *load(void) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "api.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* rc is NNC_ERR_ARG and the message holds both needles */
static void expect_arg(int rc, const nnc_status *st, const char *fn, const char *what) {
  ck_assert_int_eq(rc, NNC_ERR_ARG);
  ck_assert_int_eq(st->code, NNC_ERR_ARG);
  ck_assert_msg(strstr(st->message, fn) && strstr(st->message, what),
                "message '%s' lacks '%s'/'%s'", st->message, fn, what);
}

START_TEST(null_pointers_are_refused) {
  nnc_model *m = load();
  nnc_array x = x_of(), y = y_of(), out;
  TEST_LOGS(logs);
  nnc_history h;
  nnc_status st;
  expect_arg(nnc_model_load_file(NULL, &m, &st), &st, "nnc_model_load_file", "path");
  expect_arg(nnc_model_load_file("a.json", NULL, &st), &st, "nnc_model_load_file", "out");
  expect_arg(nnc_model_load_string(NULL, "s", &m, &st), &st, "nnc_model_load_string", "json");
  expect_arg(nnc_model_load_string(spec, "s", NULL, &st), &st, "nnc_model_load_string", "out");
  m = load(); /* load_file(NULL, &m) set m to NULL, as documented for a failure */
  expect_arg(nnc_model_set_compile_config(NULL, "{}", &st), &st, "set_compile_config", "m");
  expect_arg(nnc_model_set_compile_config(m, NULL, &st), &st, "set_compile_config", "json");
  expect_arg(nnc_model_set_seed(NULL, 1, &st), &st, "nnc_model_set_seed", "m");
  expect_arg(nnc_model_set_threads(NULL, 2, &st), &st, "nnc_model_set_threads", "m");
  expect_arg(nnc_model_set_thread_tuning(NULL, 1, &st), &st, "nnc_model_set_thread_tuning", "m");
  expect_arg(nnc_model_set_accumulation(NULL, NNC_ACCUMULATE_F64, &st), &st, "accumulation", "m");
  expect_arg(nnc_model_build(NULL, &x, &y, &st), &st, "nnc_model_build", "m");
  expect_arg(nnc_model_get_weight(NULL, "d/kernel", &out, &st), &st, "get_weight", "m");
  expect_arg(nnc_model_get_weight(m, NULL, &out, &st), &st, "get_weight", "name");
  expect_arg(nnc_model_get_weight(m, "d/kernel", NULL, &st), &st, "get_weight", "out");
  expect_arg(nnc_model_set_weight(NULL, "d/kernel", &x, &st), &st, "set_weight", "m");
  expect_arg(nnc_model_set_weight(m, NULL, &x, &st), &st, "set_weight", "name");
  expect_arg(nnc_model_set_weight(m, "d/kernel", NULL, &st), &st, "set_weight", "value");
  expect_arg(nnc_model_load_weights(NULL, "w", &st), &st, "load_weights", "m");
  expect_arg(nnc_model_load_weights(m, NULL, &st), &st, "load_weights", "path");
  expect_arg(nnc_model_save_weights(NULL, "w", &st), &st, "save_weights", "m");
  expect_arg(nnc_model_save_weights(m, NULL, &st), &st, "save_weights", "path");
  expect_arg(nnc_model_fit(NULL, &x, &y, NULL, &h, &st), &st, "nnc_model_fit", "m");
  expect_arg(nnc_model_fit(m, NULL, &y, NULL, &h, &st), &st, "nnc_model_fit", "x");
  expect_arg(nnc_model_fit(m, &x, NULL, NULL, &h, &st), &st, "nnc_model_fit", "y");
  expect_arg(nnc_model_evaluate(NULL, &x, &y, 32, &logs, &st), &st, "evaluate", "m");
  expect_arg(nnc_model_evaluate(m, NULL, &y, 32, &logs, &st), &st, "evaluate", "x");
  expect_arg(nnc_model_evaluate(m, &x, NULL, 32, &logs, &st), &st, "evaluate", "y");
  expect_arg(nnc_model_evaluate(m, &x, &y, 32, NULL, &st), &st, "evaluate", "out");
  expect_arg(nnc_model_predict(NULL, &x, 32, &out, &st), &st, "predict", "m");
  expect_arg(nnc_model_predict(m, NULL, 32, &out, &st), &st, "predict", "x");
  expect_arg(nnc_model_predict(m, &x, 32, NULL, &st), &st, "predict", "out");
  expect_arg(nnc_model_train_on_batch(NULL, &x, &y, &logs, &st), &st, "train_on_batch", "m");
  expect_arg(nnc_model_train_on_batch(m, NULL, &y, &logs, &st), &st, "train_on_batch", "x");
  expect_arg(nnc_model_train_on_batch(m, &x, NULL, &logs, &st), &st, "train_on_batch", "y");
  expect_arg(nnc_model_train_on_batch(m, &x, &y, NULL, &st), &st, "train_on_batch", "out");
  expect_arg(nnc_model_test_on_batch(m, &x, &y, NULL, &st), &st, "test_on_batch", "out");
  expect_arg(nnc_model_check_data(NULL, &x, &y, &st), &st, "check_data", "m");
  expect_arg(nnc_model_check_data(m, NULL, &y, &st), &st, "check_data", "x");
  expect_arg(nnc_history_write_json(NULL, "h.json", &st), &st, "history_write_json", "h");
  expect_arg(nnc_model_set_learning_rate(NULL, 0.1, &st), &st, "set_learning_rate", "m");
  expect_arg(nnc_model_summary(NULL, NULL, &st), &st, "nnc_model_summary", "m");
  /* nothing above changed the model: it still trains */
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &y, &logs, &st), NNC_OK);
  nnc_model_free(m);
}
END_TEST

START_TEST(null_tolerant_accessors) {
  ck_assert_int_eq(nnc_model_threads(NULL), 0);
  ck_assert_int_eq(nnc_model_is_built(NULL), 0);
  ck_assert_int_eq(nnc_model_weight_count(NULL), 0);
  ck_assert_ptr_null(nnc_model_weight_name(NULL, 0));
  ck_assert_int_eq(nnc_model_iterations(NULL), -1);
  ck_assert(isnan(nnc_model_learning_rate(NULL)));
  ck_assert(isnan(nnc_logs_get(NULL, "loss")));
  ck_assert(isnan(nnc_history_get(NULL, "loss", 0)));
  ck_assert_int_eq(nnc_array_count(NULL), -1);
  ck_assert_uint_eq(nnc_dtype_size((nnc_dtype)99), 0);
  nnc_model_free(NULL);
  nnc_array_free(NULL);
  nnc_history_free(NULL);
  nnc_fit_options_default(NULL);
  nnc_model *m = load();
  ck_assert_ptr_null(nnc_model_weight_name(m, -1));
  ck_assert_ptr_null(nnc_model_weight_name(m, 2));
  nnc_model_free(m);
}
END_TEST

START_TEST(null_status_is_accepted) {
  nnc_model *m = NULL;
  ck_assert_int_eq(nnc_model_load_string("{", "bad.json", &m, NULL), NNC_ERR_SPEC);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(nnc_model_load_file("/nonexistent/spec.json", &m, NULL), NNC_ERR_IO);
  m = load();
  nnc_array x = x_of(), y = y_of(), bad_y = y_of();
  bad_y.shape[0] = 3;
  TEST_LOGS(logs);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &bad_y, &logs, NULL), NNC_ERR_DATA);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &y, &logs, NULL), NNC_OK);
  ck_assert_int_eq(nnc_model_get_weight(m, "nope", &x, NULL), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_model_set_threads(m, 0, NULL), NNC_ERR_ARG);
  nnc_model_free(m);
}
END_TEST

/* rank > 8 used to write past nnc_array.shape before any check */
START_TEST(malformed_arrays_are_refused) {
  nnc_model *m = load();
  nnc_status st;
  TEST_LOGS(logs);
  nnc_array out;
  nnc_array x = x_of(), y = y_of();
  x.rank = 9;
  expect_arg(nnc_model_train_on_batch(m, &x, &y, &logs, &st), &st, "train_on_batch",
             "x.npy: rank 9 is outside [1, 8]");
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "rank 9");
  expect_arg(nnc_model_build(m, &x, NULL, &st), &st, "build", "rank 9");
  x.rank = 0;
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "rank 0");
  x = x_of();
  x.rank = -1;
  expect_arg(nnc_model_evaluate(m, &x, &y, 32, &logs, &st), &st, "evaluate", "rank -1");
  x = x_of();
  x.shape[1] = -2;
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "shape[1] = -2");
  x = x_of();
  x.data = NULL;
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "data is NULL");
  x = x_of();
  x.dtype = (nnc_dtype)42;
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "dtype 42");
  x = x_of();
  x.shape[0] = INT64_MAX / 2;
  x.shape[1] = 4;
  expect_arg(nnc_model_predict(m, &x, 32, &out, &st), &st, "predict", "overflows");
  nnc_array w = {NNC_F32, 9, {2, 3}, xs, NULL};
  expect_arg(nnc_model_set_weight(m, "d/kernel", &w, &st), &st, "set_weight", "rank 9");
  nnc_model_free(m);
}
END_TEST

START_TEST(fit_options_are_checked) {
  nnc_model *m = load();
  nnc_array x = x_of(), y = y_of();
  nnc_fit_options o;
  nnc_history h;
  nnc_status st;
  const double splits[] = {-0.1, 1.0, NAN, INFINITY};
  for (int i = 0; i < 4; i++) {
    nnc_fit_options_default(&o);
    o.verbose = 0;
    o.validation_split = splits[i];
    expect_arg(nnc_model_fit(m, &x, &y, &o, &h, &st), &st, "nnc_model_fit", "validation_split");
  }
  nnc_fit_options_default(&o);
  o.verbose = 3;
  expect_arg(nnc_model_fit(m, &x, &y, &o, &h, &st), &st, "nnc_model_fit", "verbose");
  nnc_fit_options_default(&o);
  o.epochs = -1;
  expect_arg(nnc_model_fit(m, &x, &y, &o, &h, &st), &st, "nnc_model_fit", "epochs");
  nnc_fit_options_default(&o);
  o.x_val = &x;
  expect_arg(nnc_model_fit(m, &x, &y, &o, &h, &st), &st, "nnc_model_fit", "x_val and y_val");
  /* history may be NULL: the fit runs and keeps nothing */
  nnc_fit_options_default(&o);
  o.verbose = 0;
  ck_assert_int_eq(nnc_model_fit(m, &x, &y, &o, NULL, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_iterations(m), 1);
  expect_arg(nnc_model_set_learning_rate(m, NAN, &st), &st, "set_learning_rate", "float32");
  expect_arg(nnc_model_set_learning_rate(m, -1, &st), &st, "set_learning_rate", "float32");
  expect_arg(nnc_model_set_learning_rate(m, 1e300, &st), &st, "set_learning_rate", "float32");
  ck_assert_int_eq(nnc_model_set_learning_rate(m, 0.5, &st), NNC_OK);
  ck_assert(nnc_model_learning_rate(m) == 0.5);
  nnc_model_free(m);
}
END_TEST

static void weights_of(nnc_model *m, float out[9]) {
  nnc_array k, b;
  nnc_status st;
  ck_assert_int_eq(nnc_model_get_weight(m, "d/kernel", &k, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_get_weight(m, "d/bias", &b, &st), NNC_OK);
  memcpy(out, k.data, 6 * sizeof(float));
  memcpy(out + 6, b.data, 3 * sizeof(float));
  nnc_array_free(&k);
  nnc_array_free(&b);
}

/* The header's rule: a new seed draws the weights again while they are the
 * initial ones, and leaves trained, set or loaded weights alone. */
START_TEST(set_seed_keeps_weights_once_changed) {
  nnc_status st;
  float a[9], b[9], c[9], d[9];
  nnc_model *m = load();
  weights_of(m, a);
  ck_assert_int_eq(nnc_model_set_seed(m, 5, &st), NNC_OK);
  weights_of(m, b);
  ck_assert_msg(memcmp(a, b, sizeof a) != 0, "a new seed before training draws new weights");
  nnc_model *fresh = load(); /* seed 5 set first: the same weights */
  ck_assert_int_eq(nnc_model_set_seed(fresh, 5, &st), NNC_OK);
  weights_of(fresh, c);
  ck_assert_int_eq(memcmp(b, c, sizeof b), 0);
  nnc_model_free(fresh);

  nnc_array x = x_of(), y = y_of();
  TEST_LOGS(logs);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &y, &logs, &st), NNC_OK);
  weights_of(m, c);
  ck_assert_int_eq(nnc_model_set_seed(m, 6, &st), NNC_OK);
  weights_of(m, d);
  ck_assert_msg(memcmp(c, d, sizeof c) == 0, "set_seed after training kept the trained weights");
  ck_assert_int_eq(nnc_model_iterations(m), 1);
  nnc_model_free(m);

  /* set_weight counts as a change too */
  m = load();
  nnc_array k = {NNC_F32, 2, {2, 3}, xs, NULL};
  ck_assert_int_eq(nnc_model_set_weight(m, "d/kernel", &k, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_set_seed(m, 9, &st), NNC_OK);
  weights_of(m, d);
  ck_assert_int_eq(memcmp(d, xs, 6 * sizeof(float)), 0);
  nnc_model_free(m);
}
END_TEST

START_TEST(check_data_names_the_file) {
  nnc_model *m = load();
  nnc_status st;
  nnc_array x = x_of(), y = y_of();
  ck_assert_int_eq(nnc_model_check_data(m, &x, &y, &st), NNC_OK);
  ck_assert_int_eq(nnc_model_check_data(m, &x, NULL, &st), NNC_OK);
  y.rank = 1;
  y.shape[0] = 4;
  ck_assert_int_eq(nnc_model_check_data(m, &x, &y, &st), NNC_ERR_DATA);
  ck_assert_msg(strncmp(st.message, "y.npy: api.json: the targets have 1 values", 42) == 0, "%s",
                st.message);
  y = y_of();
  y.name = NULL;
  y.shape[0] = 3;
  ck_assert_int_eq(nnc_model_check_data(m, &x, &y, &st), NNC_ERR_DATA);
  ck_assert_msg(strncmp(st.message, "y has shape (3, 3)", 18) == 0, "%s", st.message);
  ck_assert_int_eq(nnc_model_iterations(m), 0); /* nothing ran */
  nnc_model_free(m);
}
END_TEST

/* A success leaves the status clean, whatever it held before. */
START_TEST(success_clears_the_status) {
  nnc_model *m = load();
  nnc_status st;
  memset(&st, 0x5a, sizeof st);
  nnc_array x = x_of(), y = y_of(), bad = x_of();
  bad.rank = 9;
  TEST_LOGS(logs);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &bad, &y, &logs, &st), NNC_ERR_ARG);
  ck_assert_int_eq(nnc_model_train_on_batch(m, &x, &y, &logs, &st), NNC_OK);
  ck_assert_int_eq(st.code, NNC_OK);
  ck_assert_str_eq(st.message, "");
  nnc_model_free(m);
}
END_TEST

/* Structs handed back with counts that do not fit are refused, not read past. */
START_TEST(inconsistent_structs_are_refused) {
  TEST_LOGS(logs);
  memset(&logs, 0, sizeof logs);
  logs.n = 100000;
  ck_assert(isnan(nnc_logs_get(&logs, "loss")));
  logs.n = -1;
  ck_assert(isnan(nnc_logs_get(&logs, "loss")));
  nnc_status st;
  nnc_history h;
  memset(&h, 0, sizeof h);
  h.n_keys = -1;
  expect_arg(nnc_history_write_json(&h, "h.json", &st), &st, "history_write_json", "n_keys -1");
  ck_assert(isnan(nnc_history_get(&h, "loss", 0)));
  h.n_keys = 1;
  h.n_epochs = 2; /* keys and values NULL */
  expect_arg(nnc_history_write_json(&h, "h.json", &st), &st, "history_write_json", "NULL");
  ck_assert(isnan(nnc_history_get(&h, "loss", 0)));
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("api");
  TCase *tc = tcase_create("contract");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, null_pointers_are_refused);
  tcase_add_test(tc, null_tolerant_accessors);
  tcase_add_test(tc, null_status_is_accepted);
  tcase_add_test(tc, malformed_arrays_are_refused);
  tcase_add_test(tc, fit_options_are_checked);
  tcase_add_test(tc, set_seed_keeps_weights_once_changed);
  tcase_add_test(tc, check_data_names_the_file);
  tcase_add_test(tc, success_clears_the_status);
  tcase_add_test(tc, inconsistent_structs_are_refused);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
