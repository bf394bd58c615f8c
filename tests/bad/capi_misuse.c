/* C API misuse: every public function of include/nnc.h called with NULL
 * pointers, malformed arrays and in the wrong state. Each case runs in a
 * forked child so that a crash is one failed case, not a dead driver.
 *
 * usage: capi_misuse            run every case
 *        capi_misuse NAME...    run the named cases
 *        capi_misuse --list     print the case names
 * Exit status 0 when every case run passed. A failing case prints
 * "FAIL capi_NAME: expected ..., got ...". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nnc.h"

/* Outcomes a case may return besides an nnc_code. */
enum { WRONG_VALUE = 1000, SETUP_FAILED = 1001 };

/* Which return codes pass: a bit per nnc_code. */
#define ARG (1u << NNC_ERR_ARG)
#define OK (1u << NNC_OK)
#define DATA (1u << NNC_ERR_DATA)
#define SPEC (1u << NNC_ERR_SPEC)
#define ANY_CODE 0x3ffu /* functions without a status: only "no crash" (and a value check) */

/* ---- fixtures: a small built model, an unbuilt one, data that fits ---- */
static const char *const spec_shaped =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
    "\"in\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";
static const char *const spec_unshaped =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";

static float xs[8 * 4], ys[8], ws[4];
static nnc_array x = {NNC_F32, 2, {8, 4}, xs, NULL};
static nnc_array y = {NNC_F32, 2, {8, 1}, ys, NULL};
static nnc_array kernel = {NNC_F32, 2, {4, 1}, ws, NULL};
static nnc_logs logs;
static nnc_history hist;
static nnc_array out;

static nnc_model *load(const char *spec) {
  nnc_model *m = NULL;
  nnc_status st;
  for (int i = 0; i < 32; i++) xs[i] = (float)(i % 5) / 5.0f;
  for (int i = 0; i < 8; i++) ys[i] = (float)i / 8.0f;
  if (nnc_model_load_string(spec, "misuse.json", &m, &st)) {
    fprintf(stderr, "setup: %s\n", st.message);
    return NULL;
  }
  return m;
}
static nnc_model *built(void) {
  return load(spec_shaped);
}
static nnc_model *unbuilt(void) {
  return load(spec_unshaped);
}
static nnc_fit_options quiet(void) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.verbose = 0;
  return o;
}

/* A case body: `m` is NULL unless the case asked for a model. */
#define CASE(fn) static int fn(nnc_status *st __attribute__((unused)))
#define NEED(m, maker)                                                                             \
  nnc_model *m = maker();                                                                          \
  if (!m) return SETUP_FAILED

/* ---- model lifecycle ---- */
CASE(load_file_null_path) {
  nnc_model *m;
  return nnc_model_load_file(NULL, &m, st);
}
CASE(load_file_null_out) {
  return nnc_model_load_file("misuse.json", NULL, st);
}
CASE(load_file_null_st) {
  nnc_model *m;
  return nnc_model_load_file(NULL, &m, NULL);
}
CASE(load_string_null_json) {
  nnc_model *m;
  return nnc_model_load_string(NULL, "s.json", &m, st);
}
CASE(load_string_null_out) {
  return nnc_model_load_string(spec_shaped, "s.json", NULL, st);
}
CASE(load_string_null_source) {
  nnc_model *m = NULL;
  int rc = nnc_model_load_string(spec_shaped, NULL, &m, st);
  nnc_model_free(m);
  return rc;
}
CASE(load_string_null_st) {
  nnc_model *m;
  return nnc_model_load_string(NULL, "s.json", &m, NULL);
}
CASE(free_null) {
  nnc_model_free(NULL);
  return NNC_OK;
}
CASE(set_compile_config_null_model) {
  return nnc_model_set_compile_config(NULL, "{\"optimizer\": \"sgd\", \"loss\": \"mse\"}", st);
}
CASE(set_compile_config_null_json) {
  NEED(m, built);
  return nnc_model_set_compile_config(m, NULL, st);
}
CASE(set_compile_config_null_st) {
  NEED(m, built);
  return nnc_model_set_compile_config(m, NULL, NULL);
}
CASE(set_seed_null_model) {
  return nnc_model_set_seed(NULL, 1, st);
}
CASE(set_seed_null_st) {
  return nnc_model_set_seed(NULL, 1, NULL);
}
/* item 7: after training, a new seed would silently re-initialize the weights */
CASE(set_seed_after_training) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_history h;
  if (nnc_model_fit(m, &x, &y, &o, &h, st)) return SETUP_FAILED;
  nnc_history_free(&h);
  /* nnc.h: a new seed keeps trained weights (only masks and shuffles change) */
  nnc_array before, after;
  if (nnc_model_get_weight(m, "d/kernel", &before, st)) return SETUP_FAILED;
  int rc = nnc_model_set_seed(m, 7, st);
  if (nnc_model_get_weight(m, "d/kernel", &after, st)) return SETUP_FAILED;
  int same = memcmp(before.data, after.data, 4 * sizeof(float)) == 0;
  nnc_array_free(&before);
  nnc_array_free(&after);
  return rc == NNC_OK && !same ? WRONG_VALUE : rc;
}
CASE(set_threads_null_model) {
  return nnc_model_set_threads(NULL, 2, st);
}
CASE(set_threads_null_st) {
  return nnc_model_set_threads(NULL, 2, NULL);
}
CASE(set_threads_zero) {
  NEED(m, built);
  return nnc_model_set_threads(m, 0, st);
}
CASE(set_threads_negative) {
  NEED(m, built);
  return nnc_model_set_threads(m, -3, st);
}
CASE(set_threads_too_many) {
  NEED(m, built);
  return nnc_model_set_threads(m, 1 << 20, st);
}
CASE(set_thread_tuning_null_model) {
  return nnc_model_set_thread_tuning(NULL, 1, st);
}
CASE(set_thread_tuning_null_st) {
  return nnc_model_set_thread_tuning(NULL, 0, NULL);
}
CASE(set_thread_tuning_two) {
  NEED(m, built);
  return nnc_model_set_thread_tuning(m, 2, st);
}
CASE(threads_null_model) {
  nnc_model_threads(NULL);
  return NNC_OK;
}
CASE(set_accumulation_null_model) {
  return nnc_model_set_accumulation(NULL, NNC_ACCUMULATE_F64, st);
}
CASE(set_accumulation_bad_value) {
  NEED(m, built);
  return nnc_model_set_accumulation(m, (nnc_accumulation)7, st);
}
CASE(build_null_model) {
  return nnc_model_build(NULL, &x, &y, st);
}
CASE(build_null_st) {
  return nnc_model_build(NULL, &x, &y, NULL);
}
CASE(build_unshaped_null_x) {
  NEED(m, unbuilt);
  return nnc_model_build(m, NULL, NULL, st);
}
/* item 7: rank > 8 wrote past nnc_spec_shape before any check */
CASE(build_rank9) {
  NEED(m, unbuilt);
  nnc_array a = x;
  a.rank = 9;
  return nnc_model_build(m, &a, NULL, st);
}
CASE(build_rank_huge) {
  NEED(m, unbuilt);
  nnc_array a = x;
  a.rank = 1 << 30;
  return nnc_model_build(m, &a, NULL, st);
}
CASE(build_rank_negative) {
  NEED(m, unbuilt);
  nnc_array a = x;
  a.rank = -1;
  return nnc_model_build(m, &a, NULL, st);
}
CASE(build_negative_dim) {
  NEED(m, unbuilt);
  nnc_array a = x;
  a.shape[1] = -4;
  return nnc_model_build(m, &a, NULL, st);
}
CASE(is_built_null) {
  return nnc_model_is_built(NULL) ? WRONG_VALUE : NNC_OK;
}
CASE(weight_count_null) {
  return nnc_model_weight_count(NULL) > 0 ? WRONG_VALUE : NNC_OK;
}
CASE(weight_name_null_model) {
  return nnc_model_weight_name(NULL, 0) ? WRONG_VALUE : NNC_OK;
}
CASE(weight_name_out_of_range) {
  NEED(m, built);
  return nnc_model_weight_name(m, -1) || nnc_model_weight_name(m, 1 << 30) ? WRONG_VALUE : NNC_OK;
}

/* ---- weights ---- */
CASE(get_weight_null_model) {
  return nnc_model_get_weight(NULL, "d/kernel", &out, st);
}
CASE(get_weight_null_name) {
  NEED(m, built);
  return nnc_model_get_weight(m, NULL, &out, st);
}
CASE(get_weight_null_out) {
  NEED(m, built);
  return nnc_model_get_weight(m, "d/kernel", NULL, st);
}
CASE(get_weight_null_st) {
  NEED(m, built);
  return nnc_model_get_weight(m, NULL, &out, NULL);
}
CASE(get_weight_unknown) {
  NEED(m, built);
  return nnc_model_get_weight(m, "nothing_here/kernel", &out, st);
}
CASE(get_weight_unbuilt) {
  NEED(m, unbuilt);
  return nnc_model_get_weight(m, "d/kernel", &out, st);
}
CASE(set_weight_null_model) {
  return nnc_model_set_weight(NULL, "d/kernel", &kernel, st);
}
CASE(set_weight_null_name) {
  NEED(m, built);
  return nnc_model_set_weight(m, NULL, &kernel, st);
}
CASE(set_weight_null_value) {
  NEED(m, built);
  return nnc_model_set_weight(m, "d/kernel", NULL, st);
}
CASE(set_weight_null_st) {
  NEED(m, built);
  return nnc_model_set_weight(m, "d/kernel", NULL, NULL);
}
CASE(set_weight_null_data) {
  NEED(m, built);
  nnc_array a = kernel;
  a.data = NULL;
  return nnc_model_set_weight(m, "d/kernel", &a, st);
}
CASE(set_weight_rank9) {
  NEED(m, built);
  nnc_array a = kernel;
  a.rank = 9;
  return nnc_model_set_weight(m, "d/kernel", &a, st);
}
CASE(set_weight_rank_negative) {
  NEED(m, built);
  nnc_array a = kernel;
  a.rank = -2;
  return nnc_model_set_weight(m, "d/kernel", &a, st);
}
CASE(set_weight_bad_dtype) {
  NEED(m, built);
  nnc_array a = kernel;
  a.dtype = (nnc_dtype)99;
  return nnc_model_set_weight(m, "d/kernel", &a, st);
}
CASE(set_weight_wrong_shape) {
  NEED(m, built);
  nnc_array a = kernel;
  a.shape[0] = 1;
  a.shape[1] = 4;
  return nnc_model_set_weight(m, "d/kernel", &a, st);
}
CASE(set_weight_unbuilt) {
  NEED(m, unbuilt);
  return nnc_model_set_weight(m, "d/kernel", &kernel, st);
}
CASE(load_weights_null_model) {
  return nnc_model_load_weights(NULL, "w.safetensors", st);
}
CASE(load_weights_null_path) {
  NEED(m, built);
  return nnc_model_load_weights(m, NULL, st);
}
CASE(load_weights_null_st) {
  NEED(m, built);
  return nnc_model_load_weights(m, NULL, NULL);
}
CASE(save_weights_null_model) {
  return nnc_model_save_weights(NULL, "w.safetensors", st);
}
CASE(save_weights_null_path) {
  NEED(m, built);
  return nnc_model_save_weights(m, NULL, st);
}
CASE(save_weights_null_st) {
  NEED(m, built);
  return nnc_model_save_weights(m, NULL, NULL);
}
CASE(save_weights_unbuilt) {
  NEED(m, unbuilt);
  return nnc_model_save_weights(m, "unused.safetensors", st);
}

/* ---- logs and history ---- */
CASE(logs_get_null_logs) {
  return isnan(nnc_logs_get(NULL, "loss")) ? NNC_OK : WRONG_VALUE;
}
CASE(logs_get_null_name) {
  char names[1][NNC_LOG_NAME] = {"loss"};
  double values[1] = {1};
  nnc_logs one = {1, 1, names, values};
  return isnan(nnc_logs_get(&one, NULL)) ? NNC_OK : WRONG_VALUE;
}
CASE(logs_get_count_past_room) { /* n beyond cap: not read */
  nnc_logs bad = {3, 0, NULL, NULL};
  return isnan(nnc_logs_get(&bad, "loss")) ? NNC_OK : WRONG_VALUE;
}
CASE(logs_free_null) {
  nnc_logs_free(NULL);
  return NNC_OK;
}
CASE(history_get_null_history) {
  return isnan(nnc_history_get(NULL, "loss", 0)) ? NNC_OK : WRONG_VALUE;
}
CASE(history_get_null_key) {
  memset(&hist, 0, sizeof hist);
  return isnan(nnc_history_get(&hist, NULL, 0)) ? NNC_OK : WRONG_VALUE;
}
CASE(history_write_json_null_history) {
  return nnc_history_write_json(NULL, "h.json", st);
}
CASE(history_write_json_null_path) {
  memset(&hist, 0, sizeof hist);
  return nnc_history_write_json(&hist, NULL, st);
}
CASE(history_write_json_null_st) {
  return nnc_history_write_json(NULL, NULL, NULL);
}
CASE(history_free_null) {
  nnc_history_free(NULL);
  return NNC_OK;
}
CASE(fit_options_default_null) {
  nnc_fit_options_default(NULL);
  return NNC_OK;
}

#define FIT_(m, xa, ya, o, h) nnc_model_fit(m, xa, ya, o, h, st)
#define FIT(m, xa, ya, o, h) FIT_(m, xa, ya, o, h)
/* ---- callbacks and weights (issue 7) ---- */
CASE(callback_create_null_text) {
  nnc_callback *cb;
  return nnc_callback_create(NULL, NULL, &cb, st);
}
CASE(callback_create_null_out) {
  return nnc_callback_create("TerminateOnNaN()", NULL, NULL, st);
}
CASE(callback_create_json_null_json) {
  nnc_callback *cb;
  return nnc_callback_create_json(NULL, NULL, &cb, st);
}
CASE(callback_free_null) {
  nnc_callback_free(NULL);
  return NNC_OK;
}
CASE(stop_training_null) {
  nnc_model_stop_training(NULL);
  return NNC_OK;
}
CASE(logs_set_null_logs) {
  return nnc_logs_set(NULL, "loss", 1, st);
}
CASE(logs_set_null_name) {
  nnc_logs l = {0};
  return nnc_logs_set(&l, NULL, 1, st);
}
CASE(logs_set_bad_counts) {
  nnc_logs l = {5, 0, NULL, NULL};
  return nnc_logs_set(&l, "loss", 1, st);
}
CASE(fit_null_callback) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_callback *none[1] = {NULL};
  o.callbacks = none;
  o.n_callbacks = 1;
  return FIT_(m, &x, &y, &o, &hist);
}
CASE(fit_sample_weights_wrong_count) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.sample_weights = &x;
  o.n_sample_weights = 2;
  return FIT_(m, &x, &y, &o, &hist);
}
CASE(fit_class_weights_null) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.n_class_weights = 3;
  return FIT_(m, &x, &y, &o, &hist);
}
CASE(evaluate_weighted_null_out) {
  NEED(m, built);
  return nnc_model_evaluate_weighted(m, 1, &x, 1, &y, NULL, 8, NULL, st);
}

/* ---- training and inference ---- */
CASE(fit_null_model) {
  nnc_fit_options o = quiet();
  return FIT(NULL, &x, &y, &o, &hist);
}
CASE(fit_null_x) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  return FIT(m, NULL, &y, &o, &hist);
}
CASE(fit_null_y) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  return FIT(m, &x, NULL, &o, &hist);
}
CASE(fit_null_options) { /* NULL options may mean the defaults: no crash either way */
  NEED(m, built);
  int rc = FIT(m, &x, &y, NULL, &hist);
  if (!rc) nnc_history_free(&hist);
  return rc;
}
CASE(fit_null_history) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  return FIT(m, &x, &y, &o, NULL);
}
CASE(fit_null_st) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  return nnc_model_fit(m, NULL, &y, &o, &hist, NULL);
}
CASE(fit_x_rank9) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.rank = 9;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_x_rank9_unbuilt) {
  NEED(m, unbuilt);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.rank = 9;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_x_rank_negative) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.rank = -1;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_x_negative_dim) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.shape[0] = -8;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_x_null_data) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.data = NULL;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_x_bad_dtype) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.dtype = (nnc_dtype)42;
  return FIT(m, &a, &y, &o, &hist);
}
CASE(fit_y_rank9) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array b = y;
  b.rank = 9;
  return FIT(m, &x, &b, &o, &hist);
}
CASE(fit_y_null_data) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array b = y;
  b.data = NULL;
  return FIT(m, &x, &b, &o, &hist);
}
CASE(fit_zero_rows) { /* item 2: Keras refuses empty data */
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x, b = y;
  a.shape[0] = b.shape[0] = 0;
  return FIT(m, &a, &b, &o, &hist);
}
CASE(fit_batch_size_zero) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.batch_size = 0;
  return FIT(m, &x, &y, &o, &hist);
}
CASE(fit_validation_split_nan) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.validation_split = NAN;
  return FIT(m, &x, &y, &o, &hist);
}
CASE(fit_validation_split_negative) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.validation_split = -0.5;
  return FIT(m, &x, &y, &o, &hist);
}
CASE(fit_x_val_without_y_val) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  o.x_val = &x;
  return FIT(m, &x, &y, &o, &hist);
}
CASE(fit_x_val_rank9) {
  NEED(m, built);
  nnc_fit_options o = quiet();
  nnc_array a = x;
  a.rank = 9;
  o.x_val = &a;
  o.y_val = &y;
  return FIT(m, &x, &y, &o, &hist);
}
CASE(evaluate_null_model) {
  return nnc_model_evaluate(NULL, &x, &y, 8, &logs, st);
}
CASE(evaluate_null_x) {
  NEED(m, built);
  return nnc_model_evaluate(m, NULL, &y, 8, &logs, st);
}
CASE(evaluate_null_y) {
  NEED(m, built);
  return nnc_model_evaluate(m, &x, NULL, 8, &logs, st);
}
CASE(evaluate_null_out) {
  NEED(m, built);
  return nnc_model_evaluate(m, &x, &y, 8, NULL, st);
}
CASE(evaluate_null_st) {
  NEED(m, built);
  return nnc_model_evaluate(m, NULL, &y, 8, &logs, NULL);
}
CASE(evaluate_batch_size_zero) {
  NEED(m, built);
  return nnc_model_evaluate(m, &x, &y, 0, &logs, st);
}
CASE(evaluate_logs_count_past_room) {
  NEED(m, built);
  nnc_logs bad = {3, 0, NULL, NULL};
  return nnc_model_evaluate(m, &x, &y, 8, &bad, st);
}
CASE(train_on_batch_logs_without_arrays) {
  NEED(m, built);
  nnc_logs bad = {0, 8, NULL, NULL};
  return nnc_model_train_on_batch(m, &x, &y, &bad, st);
}
CASE(evaluate_x_rank9) {
  NEED(m, built);
  nnc_array a = x;
  a.rank = 9;
  return nnc_model_evaluate(m, &a, &y, 8, &logs, st);
}
CASE(predict_null_model) {
  return nnc_model_predict(NULL, &x, 8, &out, st);
}
CASE(predict_null_x) {
  NEED(m, built);
  return nnc_model_predict(m, NULL, 8, &out, st);
}
CASE(predict_null_out) {
  NEED(m, built);
  return nnc_model_predict(m, &x, 8, NULL, st);
}
CASE(predict_null_st) {
  NEED(m, built);
  return nnc_model_predict(m, NULL, 8, &out, NULL);
}
CASE(predict_batch_size_zero) {
  NEED(m, built);
  return nnc_model_predict(m, &x, 0, &out, st);
}
CASE(predict_x_rank9) {
  NEED(m, built);
  nnc_array a = x;
  a.rank = 9;
  return nnc_model_predict(m, &a, 8, &out, st);
}
CASE(predict_x_rank9_unbuilt) {
  NEED(m, unbuilt);
  nnc_array a = x;
  a.rank = 9;
  return nnc_model_predict(m, &a, 8, &out, st);
}
CASE(predict_x_null_data) {
  NEED(m, built);
  nnc_array a = x;
  a.data = NULL;
  return nnc_model_predict(m, &a, 8, &out, st);
}
CASE(train_on_batch_null_model) {
  return nnc_model_train_on_batch(NULL, &x, &y, &logs, st);
}
CASE(train_on_batch_null_x) {
  NEED(m, built);
  return nnc_model_train_on_batch(m, NULL, &y, &logs, st);
}
CASE(train_on_batch_null_y) {
  NEED(m, built);
  return nnc_model_train_on_batch(m, &x, NULL, &logs, st);
}
CASE(train_on_batch_null_out) { /* NULL logs may mean "not wanted": no crash either way */
  NEED(m, built);
  return nnc_model_train_on_batch(m, &x, &y, NULL, st);
}
CASE(train_on_batch_null_st) {
  NEED(m, built);
  return nnc_model_train_on_batch(m, NULL, &y, &logs, NULL);
}
CASE(train_on_batch_x_rank9) {
  NEED(m, built);
  nnc_array a = x;
  a.rank = 9;
  return nnc_model_train_on_batch(m, &a, &y, &logs, st);
}
CASE(test_on_batch_null_model) {
  return nnc_model_test_on_batch(NULL, &x, &y, &logs, st);
}
CASE(test_on_batch_null_x) {
  NEED(m, built);
  return nnc_model_test_on_batch(m, NULL, &y, &logs, st);
}
CASE(test_on_batch_null_y) {
  NEED(m, built);
  return nnc_model_test_on_batch(m, &x, NULL, &logs, st);
}
CASE(test_on_batch_null_st) {
  NEED(m, built);
  return nnc_model_test_on_batch(m, NULL, &y, &logs, NULL);
}
CASE(test_on_batch_null_out) { /* NULL logs may mean "not wanted": no crash either way */
  NEED(m, built);
  return nnc_model_test_on_batch(m, &x, &y, NULL, st);
}
CASE(set_accumulation_null_st) {
  return nnc_model_set_accumulation(NULL, NNC_ACCUMULATE_F64, NULL);
}
CASE(build_null_y) { /* documented: y may be NULL */
  NEED(m, unbuilt);
  return nnc_model_build(m, &x, NULL, st);
}
CASE(summary_null_file) { /* NULL: stdout (what the code does today) or a refusal */
  NEED(m, built);
  return nnc_model_summary(m, NULL, st);
}
CASE(iterations_null) {
  nnc_model_iterations(NULL);
  return NNC_OK;
}
CASE(learning_rate_null) {
  nnc_model_learning_rate(NULL);
  return NNC_OK;
}
CASE(set_learning_rate_null) {
  return nnc_model_set_learning_rate(NULL, 0.1, st);
}
CASE(summary_null_model) {
  return nnc_model_summary(NULL, stderr, st);
}
CASE(summary_null_st) {
  return nnc_model_summary(NULL, stderr, NULL);
}
CASE(summary_unbuilt) {
  NEED(m, unbuilt);
  return nnc_model_summary(m, stderr, st);
}

/* ---- arrays ---- */
CASE(array_count_null) {
  return nnc_array_count(NULL) > 0 ? WRONG_VALUE : NNC_OK;
}
CASE(array_count_rank9) {
  nnc_array a = x;
  a.rank = 9;
  return nnc_array_count(&a) > 0 ? WRONG_VALUE : NNC_OK;
}
CASE(dtype_size_bad) {
  return nnc_dtype_size((nnc_dtype)99) ? WRONG_VALUE : NNC_OK;
}
CASE(array_free_null) {
  nnc_array_free(NULL);
  return NNC_OK;
}

/* ---- the _multi calls: a model of two inputs (a, b) and two outputs (o1, o2) ---- */
static const char *const spec_two =
    "{\"class_name\": \"Functional\", \"config\": {\"name\": \"two\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"name\": \"a\", \"config\": {\"batch_input_shape\": "
    "[null, 4], \"name\": \"a\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"InputLayer\", \"name\": \"b\", \"config\": {\"batch_input_shape\": "
    "[null, 4], \"name\": \"b\"}, \"inbound_nodes\": []},"
    "{\"class_name\": \"Add\", \"name\": \"s\", \"config\": {\"name\": \"s\"}, "
    "\"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"o1\", \"config\": {\"name\": \"o1\", \"units\": 1}, "
    "\"inbound_nodes\": [[[\"s\", 0, 0, {}]]]},"
    "{\"class_name\": \"Dense\", \"name\": \"o2\", \"config\": {\"name\": \"o2\", \"units\": 1}, "
    "\"inbound_nodes\": [[[\"a\", 0, 0, {}]]]}],"
    "\"input_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]], \"output_layers\": [[\"o1\", 0, 0], "
    "[\"o2\", 0, 0]]}, \"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";
static nnc_model *two(void) {
  return load(spec_two);
}
static nnc_array xs2[3], ys2[3], outs2[3];
static void two_data(void) {
  for (int k = 0; k < 3; k++) xs2[k] = x, ys2[k] = y;
}
CASE(fit_multi_null_x) {
  NEED(m, two);
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, NULL, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_null_y) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 2, NULL, &o, &hist, st);
}
CASE(fit_multi_too_few_x) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 1, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_too_many_x) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 3, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_negative_n_x) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, -1, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_too_few_y) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 1, ys2, &o, &hist, st);
}
CASE(fit_multi_too_many_y) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 3, ys2, &o, &hist, st);
}
CASE(fit_multi_rank0_target_with_loss) { /* o2 has a loss (the one mse applies to both) */
  NEED(m, two);
  two_data();
  ys2[1].rank = 0;
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_rows_differ) {
  NEED(m, two);
  two_data();
  xs2[1].shape[0] = 7;
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_x_null_data) {
  NEED(m, two);
  two_data();
  xs2[1].data = NULL;
  nnc_fit_options o = quiet();
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_x_vals_too_few) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  o.x_vals = xs2, o.n_x_vals = 1, o.y_vals = ys2, o.n_y_vals = 2;
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_x_vals_count_zero) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  o.x_vals = xs2, o.n_x_vals = 0, o.y_vals = ys2, o.n_y_vals = 2;
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_y_vals_null) {
  NEED(m, two);
  two_data();
  nnc_fit_options o = quiet();
  o.x_vals = xs2, o.n_x_vals = 2, o.n_y_vals = 2;
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(fit_multi_y_vals_rank0_with_loss) {
  NEED(m, two);
  two_data();
  nnc_array yv[2] = {y, y};
  yv[0].rank = 0;
  nnc_fit_options o = quiet();
  o.x_vals = xs2, o.n_x_vals = 2, o.y_vals = yv, o.n_y_vals = 2;
  return nnc_model_fit_multi(m, 2, xs2, 2, ys2, &o, &hist, st);
}
CASE(evaluate_multi_too_few_y) {
  NEED(m, two);
  two_data();
  return nnc_model_evaluate_multi(m, 2, xs2, 1, ys2, 8, &logs, st);
}
CASE(evaluate_multi_rank0_target_with_loss) {
  NEED(m, two);
  two_data();
  ys2[0].rank = 0;
  return nnc_model_evaluate_multi(m, 2, xs2, 2, ys2, 8, &logs, st);
}
CASE(check_data_multi_null_y_with_count) { /* y may be NULL: then n_y is not read */
  NEED(m, two);
  two_data();
  return nnc_model_check_data_multi(m, 2, xs2, 2, NULL, st);
}
CASE(check_data_multi_too_many_x) {
  NEED(m, two);
  two_data();
  return nnc_model_check_data_multi(m, 3, xs2, 0, NULL, st);
}
CASE(predict_multi_null_out) {
  NEED(m, two);
  two_data();
  return nnc_model_predict_multi(m, 2, xs2, 8, 2, NULL, st);
}
CASE(predict_multi_room_for_one) {
  NEED(m, two);
  two_data();
  return nnc_model_predict_multi(m, 2, xs2, 8, 1, outs2, st);
}
CASE(predict_multi_negative_room) {
  NEED(m, two);
  two_data();
  return nnc_model_predict_multi(m, 2, xs2, 8, -5, outs2, st);
}
CASE(predict_multi_too_few_x) {
  NEED(m, two);
  two_data();
  return nnc_model_predict_multi(m, 1, xs2, 8, 2, outs2, st);
}
CASE(predict_single_on_two_outputs) {
  NEED(m, two);
  return nnc_model_predict(m, &x, 8, &out, st);
}
CASE(train_on_batch_multi_too_few_y) {
  NEED(m, two);
  two_data();
  return nnc_model_train_on_batch_multi(m, 2, xs2, 1, ys2, &logs, st);
}
CASE(train_on_batch_multi_null_x) {
  NEED(m, two);
  two_data();
  return nnc_model_train_on_batch_multi(m, 2, NULL, 2, ys2, &logs, st);
}
CASE(test_on_batch_multi_rank0_target_with_loss) {
  NEED(m, two);
  two_data();
  ys2[1].rank = 0;
  return nnc_model_test_on_batch_multi(m, 2, xs2, 2, ys2, &logs, st);
}
CASE(build_multi_too_few_x) {
  NEED(m, two);
  two_data();
  return nnc_model_build_multi(m, 1, xs2, 0, NULL, st);
}
CASE(build_multi_null_x) { /* NULL x: build from the declared shapes, as nnc_model_build */
  NEED(m, two);
  return nnc_model_build_multi(m, 2, NULL, 0, NULL, st);
}
CASE(build_multi_negative_n_x) {
  NEED(m, two);
  two_data();
  return nnc_model_build_multi(m, -3, xs2, -1, ys2, st);
}
CASE(build_multi_unshaped_negative_n_x) {
  NEED(m, unbuilt);
  return nnc_model_build_multi(m, -3, &x, -1, &y, st);
}
CASE(fit_single_on_two_inputs) {
  NEED(m, two);
  nnc_fit_options o = quiet();
  return nnc_model_fit(m, &x, &y, &o, &hist, st);
}

typedef struct misuse_case {
  const char *name;
  int (*run)(nnc_status *st);
  unsigned accept; /* the codes that pass (bit per nnc_code) */
  /* the message: "^P" starts with P, "S" contains S, "" any one non-empty line,
   * NULL not checked (no status was passed, or no code is returned) */
  const char *message;
} misuse_case;

#define C(fn, accept, message)                                                                     \
  { #fn, fn, accept, message }
static const misuse_case cases[] = {
    C(load_file_null_path, ARG, "^nnc_model_load_file: "),
    C(load_file_null_out, ARG, "^nnc_model_load_file: "),
    C(load_file_null_st, ARG, NULL),
    C(load_string_null_json, ARG, "^nnc_model_load_string: "),
    C(load_string_null_out, ARG, "^nnc_model_load_string: "),
    C(load_string_null_source, OK | ARG, NULL),
    C(load_string_null_st, ARG, NULL),
    C(free_null, ANY_CODE, NULL),
    C(set_compile_config_null_model, ARG, "^nnc_model_set_compile_config: "),
    C(set_compile_config_null_json, ARG, "^nnc_model_set_compile_config: "),
    C(set_compile_config_null_st, ARG, NULL),
    C(set_seed_null_model, ARG, "^nnc_model_set_seed: "),
    C(set_seed_null_st, ARG, NULL),
    C(set_seed_after_training, OK, NULL),
    C(set_threads_null_model, ARG, "^nnc_model_set_threads: "),
    C(set_threads_null_st, ARG, NULL),
    C(set_threads_zero, ARG, "threads"),
    C(set_threads_negative, ARG, "threads"),
    C(set_threads_too_many, ARG, "threads"),
    C(set_thread_tuning_null_model, ARG, "^nnc_model_set_thread_tuning: "),
    C(set_thread_tuning_null_st, ARG, NULL),
    C(set_thread_tuning_two, ARG, "must be 0 or 1"),
    C(threads_null_model, ANY_CODE, NULL),
    C(set_accumulation_null_model, ARG, "^nnc_model_set_accumulation: "),
    C(set_accumulation_bad_value, ARG, "accumulation"),
    C(set_accumulation_null_st, ARG, NULL),
    C(build_null_model, ARG, "^nnc_model_build: "),
    C(build_null_st, ARG, NULL),
    C(build_null_y, OK, NULL),
    C(build_unshaped_null_x, ARG | SPEC, "input shape"),
    C(build_rank9, ARG, "rank"),
    C(build_rank_huge, ARG, "rank"),
    C(build_rank_negative, ARG, "rank"),
    C(build_negative_dim, ARG, ""),
    C(is_built_null, ANY_CODE, NULL),
    C(weight_count_null, ANY_CODE, NULL),
    C(weight_name_null_model, ANY_CODE, NULL),
    C(weight_name_out_of_range, ANY_CODE, NULL),
    C(get_weight_null_model, ARG, "^nnc_model_get_weight: "),
    C(get_weight_null_name, ARG, "^nnc_model_get_weight: "),
    C(get_weight_null_out, ARG, "^nnc_model_get_weight: "),
    C(get_weight_null_st, ARG, NULL),
    C(get_weight_unknown, ARG, "nothing_here/kernel"),
    C(get_weight_unbuilt, ARG, ""),
    C(set_weight_null_model, ARG, "^nnc_model_set_weight: "),
    C(set_weight_null_name, ARG, "^nnc_model_set_weight: "),
    C(set_weight_null_value, ARG, "^nnc_model_set_weight: "),
    C(set_weight_null_st, ARG, NULL),
    C(set_weight_null_data, ARG, ""),
    C(set_weight_rank9, ARG, "rank"),
    C(set_weight_rank_negative, ARG, "rank"),
    C(set_weight_bad_dtype, ARG, ""),
    C(set_weight_wrong_shape, ARG | DATA, "[4,1]"),
    C(set_weight_unbuilt, ARG, ""),
    C(load_weights_null_model, ARG, "^nnc_model_load_weights: "),
    C(load_weights_null_path, ARG, "^nnc_model_load_weights: "),
    C(load_weights_null_st, ARG, NULL),
    C(save_weights_null_model, ARG, "^nnc_model_save_weights: "),
    C(save_weights_null_path, ARG, "^nnc_model_save_weights: "),
    C(save_weights_null_st, ARG, NULL),
    C(save_weights_unbuilt, ARG, ""),
    C(logs_get_null_logs, ANY_CODE, NULL),
    C(logs_get_null_name, ANY_CODE, NULL),
    C(logs_get_count_past_room, ANY_CODE, NULL),
    C(logs_free_null, ANY_CODE, NULL),
    C(history_get_null_history, ANY_CODE, NULL),
    C(history_get_null_key, ANY_CODE, NULL),
    C(history_write_json_null_history, ARG, "^nnc_history_write_json: "),
    C(history_write_json_null_path, ARG, "^nnc_history_write_json: "),
    C(history_write_json_null_st, ARG, NULL),
    C(history_free_null, ANY_CODE, NULL),
    C(fit_options_default_null, ANY_CODE, NULL),
    C(fit_null_model, ARG, "^nnc_model_fit: "),
    C(fit_null_x, ARG, "^nnc_model_fit: "),
    C(fit_null_y, ARG, "^nnc_model_fit: "),
    C(fit_null_options, OK | ARG, NULL),
    C(fit_null_history, OK | ARG, NULL),
    C(fit_null_st, ARG, NULL),
    C(fit_x_rank9, ARG, "rank"),
    C(fit_x_rank9_unbuilt, ARG, "rank"),
    C(fit_x_rank_negative, ARG, "rank"),
    C(fit_x_negative_dim, ARG, ""),
    C(fit_x_null_data, ARG, ""),
    C(fit_x_bad_dtype, ARG, ""),
    C(fit_y_rank9, ARG, "rank"),
    C(fit_y_null_data, ARG, ""),
    C(fit_zero_rows, DATA | ARG, ""),
    C(fit_batch_size_zero, ARG, "batch_size"),
    C(fit_validation_split_nan, ARG, "validation_split"),
    C(fit_validation_split_negative, ARG, "validation_split"),
    C(fit_x_val_without_y_val, ARG, ""),
    C(fit_x_val_rank9, ARG, "rank"),
    C(evaluate_null_model, ARG, "^nnc_model_evaluate: "),
    C(evaluate_null_x, ARG, "^nnc_model_evaluate: "),
    C(evaluate_null_y, ARG, "^nnc_model_evaluate: "),
    C(evaluate_null_out, ARG, "^nnc_model_evaluate: "),
    C(evaluate_null_st, ARG, NULL),
    C(evaluate_batch_size_zero, ARG, "batch_size"),
    C(evaluate_logs_count_past_room, ARG, "^nnc_model_evaluate: out is not a logs struct"),
    C(train_on_batch_logs_without_arrays, ARG, "^nnc_model_train_on_batch: out is not a logs"),
    C(evaluate_x_rank9, ARG, "rank"),
    C(predict_null_model, ARG, "^nnc_model_predict: "),
    C(predict_null_x, ARG, "^nnc_model_predict: "),
    C(predict_null_out, ARG, "^nnc_model_predict: "),
    C(predict_null_st, ARG, NULL),
    C(predict_batch_size_zero, ARG, "batch_size"),
    C(predict_x_rank9, ARG, "rank"),
    C(predict_x_rank9_unbuilt, ARG, "rank"),
    C(predict_x_null_data, ARG, ""),
    C(train_on_batch_null_model, ARG, "^nnc_model_train_on_batch: "),
    C(train_on_batch_null_x, ARG, "^nnc_model_train_on_batch: "),
    C(train_on_batch_null_y, ARG, "^nnc_model_train_on_batch: "),
    C(train_on_batch_null_out, OK | ARG, NULL),
    C(train_on_batch_null_st, ARG, NULL),
    C(train_on_batch_x_rank9, ARG, "rank"),
    C(test_on_batch_null_model, ARG, "^nnc_model_test_on_batch: "),
    C(test_on_batch_null_x, ARG, "^nnc_model_test_on_batch: "),
    C(test_on_batch_null_y, ARG, "^nnc_model_test_on_batch: "),
    C(test_on_batch_null_st, ARG, NULL),
    C(test_on_batch_null_out, OK | ARG, NULL),
    C(iterations_null, ANY_CODE, NULL),
    C(learning_rate_null, ANY_CODE, NULL),
    C(set_learning_rate_null, ARG, "^nnc_model_set_learning_rate: m is NULL"),
    C(summary_null_model, ARG, "^nnc_model_summary: "),
    C(summary_null_st, ARG, NULL),
    C(summary_null_file, OK | ARG, NULL),
    C(summary_unbuilt, ARG, ""),
    C(array_count_null, ANY_CODE, NULL),
    C(array_count_rank9, ANY_CODE, NULL),
    C(dtype_size_bad, ANY_CODE, NULL),
    C(fit_multi_null_x, ARG, "^nnc_model_fit: "),
    C(fit_multi_null_y, ARG, "^nnc_model_fit: "),
    C(fit_multi_too_few_x, ARG | DATA, ""),
    C(fit_multi_too_many_x, ARG | DATA, ""),
    C(fit_multi_negative_n_x, ARG, "^nnc_model_fit: "),
    C(fit_multi_too_few_y, ARG | DATA, ""),
    C(fit_multi_too_many_y, ARG | DATA, ""),
    C(fit_multi_rank0_target_with_loss, ARG | DATA, "o2"),
    C(fit_multi_rows_differ, ARG | DATA, ""),
    C(fit_multi_x_null_data, ARG, "x[1]"),
    C(fit_multi_x_vals_too_few, ARG | DATA, ""),
    C(fit_multi_x_vals_count_zero, ARG, "x_vals"),
    C(fit_multi_y_vals_null, ARG, "go together"),
    C(fit_multi_y_vals_rank0_with_loss, ARG | DATA, "o1"),
    C(evaluate_multi_too_few_y, ARG | DATA, ""),
    C(evaluate_multi_rank0_target_with_loss, ARG | DATA, "o1"),
    C(check_data_multi_null_y_with_count, OK | ARG, NULL),
    C(check_data_multi_too_many_x, ARG | DATA, ""),
    C(predict_multi_null_out, ARG, "^nnc_model_predict: "),
    C(predict_multi_room_for_one, ARG, "output"),
    C(predict_multi_negative_room, ARG, "output"),
    C(predict_multi_too_few_x, ARG | DATA, ""),
    C(predict_single_on_two_outputs, ARG | DATA, ""),
    C(train_on_batch_multi_too_few_y, ARG | DATA, ""),
    C(train_on_batch_multi_null_x, ARG, "^nnc_model_train_on_batch: "),
    C(test_on_batch_multi_rank0_target_with_loss, ARG | DATA, "o2"),
    C(build_multi_too_few_x, ARG | DATA, ""),
    C(build_multi_null_x, OK | ARG, NULL),
    C(build_multi_negative_n_x, ARG, "^nnc_model_build: expected at least 1 x array"),
    C(build_multi_unshaped_negative_n_x, ARG, "^nnc_model_build: expected at least 1 x array"),
    C(fit_single_on_two_inputs, ARG | DATA, ""),
    C(array_free_null, ANY_CODE, NULL),
    C(callback_create_null_text, ARG, "^nnc_callback_create: "),
    C(callback_create_null_out, ARG, "^nnc_callback_create: "),
    C(callback_create_json_null_json, ARG, "^nnc_callback_create_json: "),
    C(callback_free_null, ANY_CODE, NULL),
    C(stop_training_null, ANY_CODE, NULL),
    C(logs_set_null_logs, ARG, "^nnc_logs_set: "),
    C(logs_set_null_name, ARG, "^nnc_logs_set: "),
    C(logs_set_bad_counts, ARG, "^nnc_logs_set: "),
    C(fit_null_callback, ARG, "callbacks[0] is NULL"),
    C(fit_sample_weights_wrong_count, ARG, "sample_weights: expected one array per output"),
    C(fit_class_weights_null, ARG, "class_weights is NULL"),
    C(evaluate_weighted_null_out, ARG, "^nnc_model_evaluate: "),
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static const char *code_name(int code) {
  static const char *const names[] = {
      "NNC_OK",          "NNC_ERR_SPEC",     "NNC_ERR_DATA",  "NNC_ERR_IO",    "NNC_ERR_ARG",
      "NNC_ERR_COMPILE", "NNC_ERR_INTERNAL", "NNC_ERR_NOMEM", "NNC_ERR_WRITE", "NNC_ERR_NUMERICS"};
  if (code >= 0 && code < (int)(sizeof names / sizeof names[0])) return names[code];
  if (code == WRONG_VALUE) return "a wrong return value";
  if (code == SETUP_FAILED) return "a failed setup";
  return "an unknown code";
}

static void describe_accept(unsigned accept, char *buf, size_t n) {
  buf[0] = 0;
  if (accept == ANY_CODE) {
    snprintf(buf, n, "no crash");
    return;
  }
  for (int c = 0; c < 10; c++)
    if (accept & (1u << c))
      snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? " or " : "", code_name(c));
}

/* The child: run the case, check it, exit 0 (pass) or 1 (the FAIL line is printed). */
static int check_case(const misuse_case *c) {
  nnc_status st;
  memset(&st, 0, sizeof st);
  strcpy(st.message, "\x01untouched");
  int rc = c->run(&st);
  char want[160];
  describe_accept(c->accept, want, sizeof want);
  if (rc < 0 || rc >= 10 || !(c->accept & (1u << rc))) {
    printf("FAIL capi_%s: expected %s, got %s (%d): %s\n", c->name, want, code_name(rc), rc,
           st.message[0] == 1 ? "(no message)" : st.message);
    return 1;
  }
  if (rc == NNC_OK || !c->message) return 0;
  const char *msg = st.message, *m = c->message;
  int ok = msg[0] != 1 && msg[0] != 0 && !strchr(msg, '\n');
  if (ok && m[0] == '^')
    ok = !strncmp(msg, m + 1, strlen(m + 1));
  else if (ok && m[0])
    ok = strstr(msg, m) != NULL;
  if (!ok) {
    printf("FAIL capi_%s: expected %s with one line %s'%s', got '%s'\n", c->name, want,
           m[0] == '^' ? "starting " : "containing ", m[0] == '^' ? m + 1 : m,
           msg[0] == 1 ? "(no message)" : msg);
    return 1;
  }
  return 0;
}

/* Fork per case: a signal in the child is reported, not inherited. */
static int run_case(const misuse_case *c) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    int rc = check_case(c);
    fflush(stdout);
    _exit(rc);
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) {
    perror("waitpid");
    return 1;
  }
  if (WIFSIGNALED(status)) {
    char want[160];
    describe_accept(c->accept, want, sizeof want);
    printf("FAIL capi_%s: expected %s, got signal %d\n", c->name, want, WTERMSIG(status));
    return 1;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--list")) {
    for (int i = 0; i < N_CASES; i++) printf("%s\n", cases[i].name);
    return 0;
  }
  int failed = 0, run = 0;
  for (int i = 0; i < N_CASES; i++) {
    int wanted = argc == 1;
    for (int a = 1; a < argc; a++) wanted |= !strcmp(argv[a], cases[i].name);
    if (!wanted) continue;
    run++;
    failed += run_case(&cases[i]);
  }
  if (run == 0) {
    fprintf(stderr, "capi_misuse: no case named %s (see --list)\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  if (argc == 1) printf("capi: %d passed, %d failed\n", run - failed, failed);
  return failed ? 1 : 0;
}
