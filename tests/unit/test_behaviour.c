/* Documented Keras properties that nnc must keep, each checked as a property
 * (not against numbers nnc produced): the fit loop's order of operations,
 * convergence of gradient descent, Dropout's two phases, input-shape
 * independence, determinism, validation_split, epoch-global Precision and
 * Recall, History key names, and error reporting for malformed specs. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* ---- helpers ---- */

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "behaviour", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert_ptr_nonnull(m);
  return m;
}

static nnc_array farray(float *data, int rank, int64_t d0, int64_t d1) {
  nnc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = NNC_F32;
  a.rank = rank;
  a.shape[0] = d0;
  a.shape[1] = d1;
  a.data = data;
  return a;
}

/* rows [first, first + n) of a float32 array (a view, no copy) */
static nnc_array rows_of(const nnc_array *a, int64_t first, int64_t n) {
  nnc_array v = *a;
  int64_t row = nnc_array_count(a) / a->shape[0];
  v.shape[0] = n;
  v.data = (float *)a->data + first * row;
  return v;
}

static uint64_t rng_state = 88172645463325252ull;
static double urand(double lo, double hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Weights of a model, in its order, as float32 arrays. */
static int weights_identical(const wset *a, const wset *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++) {
    if (strcmp(a->name[i], b->name[i]) || nnc_array_count(&a->a[i]) != nnc_array_count(&b->a[i]))
      return 0;
    if (memcmp(a->a[i].data, b->a[i].data, sizeof(float) * (size_t)nnc_array_count(&a->a[i])))
      return 0;
  }
  return 1;
}

static int histories_identical(const nnc_history *a, const nnc_history *b) {
  if (a->n_keys != b->n_keys || a->n_epochs != b->n_epochs) return 0;
  for (int k = 0; k < a->n_keys; k++)
    if (strcmp(a->keys[k], b->keys[k])) return 0;
  if (memcmp(a->epochs, b->epochs, sizeof(int) * (size_t)a->n_epochs)) return 0;
  return !memcmp(a->values, b->values, sizeof(double) * (size_t)(a->n_keys * a->n_epochs));
}

static void check_one_line_error(int rc, const nnc_status *st, const char *must_contain,
                                 const char *what) {
  ck_assert_msg(rc != NNC_OK, "%s: accepted", what);
  ck_assert_msg((int)st->code == rc, "%s: status code %d, returned %d", what, (int)st->code, rc);
  ck_assert_msg(st->message[0] != '\0', "%s: empty message", what);
  ck_assert_msg(strchr(st->message, '\n') == NULL, "%s: message has several lines: %s", what,
                st->message);
  if (must_contain)
    ck_assert_msg(strstr(st->message, must_contain) != NULL, "%s: message lacks \"%s\": %s", what,
                  must_contain, st->message);
}

/* ---- the fit loop: val_loss[k] == loss[k+1] (seed000) ---- */

/* With batch_size = N and the training data as validation data, epoch k+1's
 * loss (forward pass before its only update) is computed on the same weights
 * as epoch k's validation (after epoch k's update). */
START_TEST(fit_val_loss_is_next_loss) {
  oracle_case c;
  oracle_case_load("seed000_logreg", &c);
  ck_assert(c.has_val);
  ck_assert_int_eq(c.fit.batch_size, c.x.shape[0]);
  ck_assert_int_eq(c.fit.epochs, 10);
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(c.model, &c.x, &c.y, &c.fit, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 10);
  const char *pairs[2][2] = {{"loss", "val_loss"}, {"accuracy", "val_accuracy"}};
  for (int p = 0; p < 2; p++)
    for (int k = 0; k + 1 < h.n_epochs; k++) {
      double val = nnc_history_get(&h, pairs[p][1], k),
             next = nnc_history_get(&h, pairs[p][0], k + 1);
      ck_assert_msg(isfinite(val) && isfinite(next), "%s missing", pairs[p][1]);
      ck_assert_msg(fabs(val - next) <= 1e-6, "%s[%d] = %.9g but %s[%d] = %.9g", pairs[p][1], k,
                    val, pairs[p][0], k + 1, next);
    }
  /* not vacuous: training moves the loss, and validation is after the update */
  int moved = 0, after = 0;
  for (int k = 0; k + 1 < h.n_epochs; k++) {
    moved |= nnc_history_get(&h, "loss", k) != nnc_history_get(&h, "loss", k + 1);
    after |= fabs(nnc_history_get(&h, "val_loss", k) - nnc_history_get(&h, "loss", k)) > 1e-4;
  }
  ck_assert_msg(moved && after, "the loss does not change between epochs");
  nnc_history_free(&h);
  oracle_case_free(&c);
}
END_TEST

/* ---- linear regression (seed002 data) ---- */

/* Full-batch gradient descent on mean((w x + b - y)^2) in float64. */
static void gd_reference(const nnc_array *x, const nnc_array *y, double lr, int steps, double *w,
                         double *b) {
  const float *xs = x->data, *ys = y->data;
  int64_t n = x->shape[0];
  *w = *b = 0;
  for (int s = 0; s < steps; s++) {
    double gw = 0, gb = 0;
    for (int64_t i = 0; i < n; i++) {
      double e = *w * xs[i] + *b - ys[i];
      gw += 2 * e * xs[i] / (double)n;
      gb += 2 * e / (double)n;
    }
    *w -= lr * gw;
    *b -= lr * gb;
  }
}

static void weight_scalars(const nnc_model *m, double *w, double *b) {
  nnc_array k, bias;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, "dense/kernel", &k, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_get_weight(m, "dense/bias", &bias, &st) == NNC_OK, "%s", st.message);
  *w = ((float *)k.data)[0];
  *b = ((float *)bias.data)[0];
  nnc_array_free(&k);
  nnc_array_free(&bias);
}

static void train_steps(nnc_model *m, const nnc_array *x, const nnc_array *y, int steps) {
  for (int s = 0; s < steps; s++) {
    TEST_LOGS(logs);
    nnc_status st;
    ck_assert_msg(nnc_model_train_on_batch(m, x, y, &logs, &st) == NNC_OK, "%s", st.message);
  }
}

START_TEST(linreg_converges_with_sgd_0_1) {
  oracle_case c;
  oracle_case_load("seed002_linreg", &c);
  ck_assert_int_eq(c.x.shape[0], 50);
  double w, b;
  weight_scalars(c.model, &w, &b);
  ck_assert(w == 0 && b == 0);
  ck_assert(fabs(nnc_model_learning_rate(c.model) - 0.1) < 1e-12);
  train_steps(c.model, &c.x, &c.y, 1000);
  weight_scalars(c.model, &w, &b);
  ck_assert_msg(fabs(w - 0.6) <= 1e-4 && fabs(b - 0.8) <= 1e-4,
                "w = %.8f, b = %.8f after 1000 steps of SGD(0.1)", w, b);
  double rw, rb;
  gd_reference(&c.x, &c.y, 0.1, 1000, &rw, &rb);
  ck_assert_msg(fabs(w - rw) <= 1e-5 && fabs(b - rb) <= 1e-5,
                "nnc (%.8f, %.8f), float64 GD (%.8f, %.8f)", w, b, rw, rb);
  oracle_case_free(&c);
}
END_TEST

/* Keras's default SGD learning rate (0.01) is ten times slower: after the
 * same 1000 steps the fit is still visibly off. The model is the case's
 * with compile_config {"optimizer": "sgd", "loss": "mse"}. */
START_TEST(linreg_default_sgd_is_slower) {
  oracle_case c;
  oracle_case_load("seed002_linreg", &c);
  char *spec = oracle_spec_json("seed002_linreg");
  cJSON *j = cJSON_Parse(spec);
  ck_assert_ptr_nonnull(j);
  ck_assert(cJSON_ReplaceItemInObject(j, "compile_config",
                                      cJSON_Parse("{\"optimizer\": \"sgd\", \"loss\": \"mse\"}")));
  char *text = cJSON_PrintUnformatted(j);
  nnc_model *m = load(text);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &c.x, &c.y, &st) == NNC_OK, "%s", st.message);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s/%s", c.dir,
           cJSON_GetObjectItem(c.json, "initial_weights")->valuestring);
  oracle_set_bundle(m, bundle);
  ck_assert_msg(fabs(nnc_model_learning_rate(m) - 0.01) < 1e-12, "default SGD lr %g",
                nnc_model_learning_rate(m));
  double w, b;
  weight_scalars(m, &w, &b);
  ck_assert(w == 0 && b == 0);
  train_steps(m, &c.x, &c.y, 1000);
  weight_scalars(m, &w, &b);
  ck_assert_msg(!(fabs(w - 0.6) <= 1e-2 && fabs(b - 0.8) <= 1e-2),
                "w = %.6f, b = %.6f: converged with lr 0.01", w, b);
  double rw, rb;
  gd_reference(&c.x, &c.y, 0.01, 1000, &rw, &rb);
  ck_assert_msg(fabs(w - rw) <= 1e-4 && fabs(b - rb) <= 1e-4,
                "nnc (%.8f, %.8f), float64 GD (%.8f, %.8f)", w, b, rw, rb);
  nnc_model_free(m);
  free(text);
  free(spec);
  cJSON_Delete(j);
  oracle_case_free(&c);
}
END_TEST

/* Keras's compile() keeps the weights; so must a new compile config
 * (runtime/model.c says "recompile with the new loss/optimizer, keep the
 * weights"). */
START_TEST(set_compile_config_keeps_weights) {
  oracle_case c;
  oracle_case_load("seed002_linreg", &c);
  train_steps(c.model, &c.x, &c.y, 3); /* weights away from the initializer's values */
  wset before, after;
  weights_get(c.model, &before);
  nnc_status st;
  ck_assert_msg(nnc_model_set_compile_config(c.model, "{\"optimizer\": \"sgd\", \"loss\": \"mae\"}",
                                             &st) == NNC_OK,
                "%s", st.message);
  ck_assert(fabs(nnc_model_learning_rate(c.model) - 0.01) < 1e-12);
  weights_get(c.model, &after);
  ck_assert_msg(weights_identical(&before, &after),
                "nnc_model_set_compile_config replaced the weights: dense/kernel %.8g -> %.8g",
                (double)((float *)before.a[0].data)[0], (double)((float *)after.a[0].data)[0]);
  /* and the new loss is in use: mae of the same weights */
  TEST_LOGS(logs);
  ck_assert(nnc_model_evaluate(c.model, &c.x, &c.y, 50, &logs, &st) == NNC_OK);
  const float *xs = c.x.data, *ys = c.y.data;
  double w = ((float *)before.a[0].data)[0], b = ((float *)before.a[1].data)[0], mae = 0;
  ck_assert_str_eq(before.name[0], "dense/kernel");
  for (int64_t i = 0; i < c.x.shape[0]; i++)
    mae += fabs(w * xs[i] + b - ys[i]) / (double)c.x.shape[0];
  ck_assert_msg(fabs(nnc_logs_get(&logs, "loss") - mae) <= 1e-5 * mae,
                "loss %.9g, mae of the kept weights %.9g", nnc_logs_get(&logs, "loss"), mae);
  weights_free(&before);
  weights_free(&after);
  oracle_case_free(&c);
}
END_TEST

/* ---- Dropout ---- */

static char *dropout_spec(int with_dropout, double lr, const char *hidden_act, int hidden) {
  char *s = malloc(4096);
  snprintf(
      s, 4096,
      "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"drop\",\"layers\":["
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d1\",\"units\":%d,\"activation\":\"%s\"}}%s"
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d2\",\"units\":3}}]},"
      "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":{\"learning_rate\":%."
      "17g}},"
      "\"loss\":\"mse\"}}",
      hidden, hidden_act,
      with_dropout ? ",{\"class_name\":\"Dropout\",\"config\":{\"name\":\"drop\",\"rate\":0.5}},"
                   : ",",
      lr);
  return s;
}

#define DN 5
static float dx[DN * 6], dy[DN * 3];
static void dropout_data(void) {
  for (int i = 0; i < DN * 6; i++) dx[i] = (float)urand(-1, 1);
  for (int i = 0; i < DN * 3; i++) dy[i] = 0;
}

/* Built from data shapes (one JIT compile: this file's time is mostly LLVM). */
static nnc_model *dropout_model(int with_dropout, double lr, const char *act, int hidden,
                                uint64_t seed) {
  char *json = dropout_spec(with_dropout, lr, act, hidden);
  nnc_model *m = load(json);
  free(json);
  nnc_status st;
  ck_assert(nnc_model_set_seed(m, seed, &st) == NNC_OK);
  nnc_array x = farray(dx, 2, DN, 6), y = farray(dy, 2, DN, 3);
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  return m;
}

START_TEST(dropout_predict_is_identity) {
  dropout_data();
  nnc_array x = farray(dx, 2, DN, 6);
  nnc_model *with = dropout_model(1, 0.1, "relu", 8, 1),
            *without = dropout_model(0, 0.1, "relu", 8, 2);
  wset w;
  weights_get(with, &w);
  weights_put(without, &w);
  nnc_array p1, p2, p3;
  nnc_status st;
  ck_assert_msg(nnc_model_predict(with, &x, 32, &p1, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict(with, &x, 32, &p2, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict(without, &x, 32, &p3, &st) == NNC_OK, "%s", st.message);
  size_t bytes = sizeof(float) * (size_t)nnc_array_count(&p1);
  ck_assert_int_eq(nnc_array_count(&p1), DN * 3);
  ck_assert_msg(!memcmp(p1.data, p2.data, bytes), "predict is not deterministic with Dropout");
  ck_assert_msg(!memcmp(p1.data, p3.data, bytes),
                "predict with Dropout differs from the net without it");
  /* evaluate (the test graph) is the inference phase too */
  float y[DN * 3] = {0};
  nnc_array ya = farray(y, 2, DN, 3);
  TEST_LOGS(a);
  TEST_LOGS(b);
  ck_assert(nnc_model_evaluate(with, &x, &ya, 32, &a, &st) == NNC_OK);
  ck_assert(nnc_model_evaluate(without, &x, &ya, 32, &b, &st) == NNC_OK);
  ck_assert_msg(nnc_logs_get(&a, "loss") == nnc_logs_get(&b, "loss"),
                "evaluate: %.9g with Dropout, %.9g without", nnc_logs_get(&a, "loss"),
                nnc_logs_get(&b, "loss"));
  nnc_array_free(&p1);
  nnc_array_free(&p2);
  nnc_array_free(&p3);
  weights_free(&w);
  nnc_model_free(with);
  nnc_model_free(without);
}
END_TEST

/* With SGD(learning_rate=0) the weights never move, so train_on_batch's loss
 * (the train-phase forward pass, mse against 0) shows the masks alone. */
START_TEST(dropout_train_phase_masks_fresh_each_step) {
  dropout_data();
  nnc_array x = farray(dx, 2, DN, 6), y = farray(dy, 2, DN, 3);
  nnc_model *m = dropout_model(1, 0.0, "tanh", 16, 3);
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK);
  double infer = nnc_logs_get(&logs, "loss");
  double train[4];
  for (int s = 0; s < 4; s++) {
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    train[s] = nnc_logs_get(&logs, "loss");
    ck_assert_msg(train[s] != infer, "step %d: the train-phase loss equals the inference loss %.9g",
                  s, infer);
    for (int t = 0; t < s; t++)
      ck_assert_msg(train[s] != train[t],
                    "steps %d and %d: the same train-phase loss %.9g (same mask?)", t, s, train[s]);
  }
  ck_assert(nnc_model_test_on_batch(m, &x, &y, &logs, &st) == NNC_OK);
  ck_assert_msg(nnc_logs_get(&logs, "loss") == infer, "lr 0 changed the weights");
  nnc_model_free(m);
}
END_TEST

/* One sample, SGD(1): the d2 kernel's gradient row of a dropped hidden unit is
 * exactly zero (tanh units are never 0 here), so the zero rows show the mask
 * of each step; two steps from the same weights use different masks. */
static unsigned mask_of_step(nnc_model *m, const wset *w0, const nnc_array *x, const nnc_array *y,
                             int hidden) {
  nnc_status st;
  TEST_LOGS(logs);
  weights_put(m, w0);
  ck_assert(nnc_model_train_on_batch(m, x, y, &logs, &st) == NNC_OK);
  nnc_array k;
  ck_assert(nnc_model_get_weight(m, "d2/kernel", &k, &st) == NNC_OK);
  const float *before = NULL;
  for (int i = 0; i < w0->n; i++)
    if (!strcmp(w0->name[i], "d2/kernel")) before = w0->a[i].data;
  ck_assert_ptr_nonnull(before);
  unsigned kept = 0;
  for (int u = 0; u < hidden; u++) {
    int moved = 0;
    for (int j = 0; j < 3; j++) moved |= ((float *)k.data)[u * 3 + j] != before[u * 3 + j];
    if (moved) kept |= 1u << u;
  }
  nnc_array_free(&k);
  return kept;
}

START_TEST(dropout_masks_change_between_steps) {
  dropout_data();
  float y1[3] = {5, -5, 5};
  nnc_array x = farray(dx, 2, 1, 6), y = farray(y1, 2, 1, 3);
  nnc_model *m = dropout_model(1, 1.0, "tanh", 16, 4);
  wset w0;
  weights_get(m, &w0);
  unsigned a = mask_of_step(m, &w0, &x, &y, 16), b = mask_of_step(m, &w0, &x, &y, 16),
           c = mask_of_step(m, &w0, &x, &y, 16);
  ck_assert_msg(a != 0xffffu && a != 0, "step 1 kept units %#x: no dropout", a);
  ck_assert_msg(a != b || b != c, "three steps with the same mask %#x", a);
  weights_free(&w0);
  nnc_model_free(m);
}
END_TEST

/* Same seed and weights: bit-identical training; another seed: different masks. */
START_TEST(dropout_masks_follow_the_seed) {
  dropout_data();
  nnc_array x = farray(dx, 2, DN, 6), y = farray(dy, 2, DN, 3);
  for (int i = 0; i < DN * 3; i++) dy[i] = (float)urand(-1, 1);
  nnc_model *a = dropout_model(1, 0.1, "relu", 8, 21), *b = dropout_model(1, 0.1, "relu", 8, 21),
            *c = dropout_model(1, 0.1, "relu", 8, 22);
  wset w0, wa, wb, wc;
  weights_get(a, &w0);
  weights_put(b, &w0);
  weights_put(c, &w0);
  train_steps(a, &x, &y, 5);
  train_steps(b, &x, &y, 5);
  train_steps(c, &x, &y, 5);
  weights_get(a, &wa);
  weights_get(b, &wb);
  weights_get(c, &wc);
  ck_assert_msg(!weights_identical(&wa, &w0), "training did not move the weights");
  ck_assert_msg(weights_identical(&wa, &wb), "same seed, same weights, different training");
  ck_assert_msg(!weights_identical(&wa, &wc), "seeds 21 and 22 give the same dropout masks");
  weights_free(&w0);
  weights_free(&wa);
  weights_free(&wb);
  weights_free(&wc);
  nnc_model_free(a);
  nnc_model_free(b);
  nnc_model_free(c);
}
END_TEST

/* Inverted dropout keeps the expected output: Input(1000) -> Dropout(0.5) ->
 * Dense(1, no bias, kernel ones) on x = 1 has out = 2 * (units kept), mean
 * 1000 (sd 31.6 per sample). mae against 0 reports mean(out) of the train
 * phase; lr 0 keeps the kernel. */
START_TEST(dropout_preserves_the_mean) {
  const char *json = "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                     "{\"class_name\":\"Dropout\",\"config\":{\"rate\":0.5}},"
                     "{\"class_name\":\"Dense\",\"config\":{\"units\":1,\"use_bias\":false,"
                     "\"kernel_initializer\":\"ones\"}}]},"
                     "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":{"
                     "\"learning_rate\":0.0}},"
                     "\"loss\":\"mae\"}}";
  nnc_model *m = load(json);
  enum { ROWS = 10, STEPS = 20 };
  float *x = malloc(sizeof(float) * ROWS * 1000), y[ROWS] = {0};
  for (int i = 0; i < ROWS * 1000; i++) x[i] = 1;
  nnc_array xa = farray(x, 2, ROWS, 1000), ya = farray(y, 2, ROWS, 1);
  nnc_status st;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK);
  ck_assert_msg(nnc_logs_get(&logs, "loss") == 1000.0, "inference output %.9g, want 1000",
                nnc_logs_get(&logs, "loss"));
  double sum = 0;
  for (int s = 0; s < STEPS; s++) {
    ck_assert(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK);
    double v = nnc_logs_get(&logs, "loss");
    ck_assert_msg(v != 1000.0 && v > 800 && v < 1200, "step %d: mean train output %.9g", s, v);
    sum += v;
  }
  double mean = sum / STEPS; /* 200 samples: sd of the mean 2.2 */
  ck_assert_msg(fabs(mean - 1000) <= 20, "mean train-phase output %.6g, expected 1000", mean);
  free(x);
  nnc_model_free(m);
}
END_TEST

/* The graphs after the last pass: no dropout in test/predict, a mask in train. */
START_TEST(dropout_only_in_train_graph) {
  char *json = dropout_spec(1, 0.1, "relu", 8);
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "dump", &spec, &st) == NNC_OK, "%s", st.message);
  free(json);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.dump = f;
  opts.dump_after = "plan";
  opts.no_jit = 1;
  nnc_compiled c;
  nnc_spec_shape x_inner = {1, {6}}, y_inner = {1, {3}};
  nnc_data_shapes data = {1, &x_inner, 1, &y_inner, NULL};
  ck_assert_msg(nnc_compile_spec(&spec, &data, &opts, &c, &st) == NNC_OK, "%s", st.message);
  fclose(f);
  int seen[NNC_GRAPH_COUNT] = {0};
  const char *names[NNC_GRAPH_COUNT] = {"train", "test", "predict"};
  for (char *sec = strstr(text, "; after plan"); sec;) {
    char *next = strstr(sec + 1, "; after plan");
    if (next) *next = '\0';
    char name[16] = "";
    char *g = strstr(sec, "graph ");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(sscanf(g, "graph %15s", name), 1);
    int which = -1;
    for (int i = 0; i < NNC_GRAPH_COUNT; i++)
      if (!strcmp(name, names[i])) which = i;
    ck_assert_msg(which >= 0, "unknown graph %s in the dump", name);
    seen[which]++;
    if (which == NNC_GRAPH_TRAIN) {
      ck_assert_msg(strstr(sec, "dropout_mask") != NULL, "the train graph has no dropout_mask:\n%s",
                    sec);
      ck_assert_msg(strstr(sec, "rate=0.5") != NULL, "the train graph's mask lacks rate=0.5:\n%s",
                    sec);
    } else {
      ck_assert_msg(strstr(sec, "dropout") == NULL && strstr(sec, "rate=") == NULL,
                    "the %s graph still has dropout:\n%s", name, sec);
    }
    if (next) *next = ';';
    sec = next;
  }
  for (int i = 0; i < NNC_GRAPH_COUNT; i++)
    ck_assert_msg(seen[i] == 1, "graph %s dumped %d times", names[i], seen[i]);
  /* the same, from the compiled graphs themselves */
  for (int i = 0; i < NNC_GRAPH_COUNT; i++) {
    int drop = 0, mask = 0;
    for (int n = 0; n < c.graphs[i].n; n++) {
      drop += c.graphs[i].nodes[n].op == NNC_OP_DROPOUT;
      mask += c.graphs[i].nodes[n].op == NNC_OP_DROPOUT_MASK;
    }
    ck_assert_int_eq(drop, 0);
    ck_assert_int_eq(mask, i == NNC_GRAPH_TRAIN ? 1 : 0);
  }
  free(text);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}
END_TEST

/* ---- input_shape equivalence and determinism ---- */

#define SN 30
static float sx[SN * 4], sy[SN];
static void small_data(void) {
  for (int i = 0; i < SN * 4; i++) sx[i] = (float)urand(-1, 1);
  for (int i = 0; i < SN; i++) sy[i] = sx[i * 4] + sx[i * 4 + 1] > 0 ? 1.0f : 0.0f;
}

/* Keras 2 style: default layer names; how the input shape is declared varies. */
static char *shape_spec(int how) {
  static const char *const first[] = {
      ("{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4]}},"
       "{\"class_name\":\"Dense\",\"config\":{\"units\":6,\"activation\":\"relu\"}}"),
      "{\"class_name\":\"Dense\",\"config\":{\"units\":6,\"activation\":\"relu\",\"batch_input_"
      "shape\":[null,4]}}",
      "{\"class_name\":\"Dense\",\"config\":{\"units\":6,\"activation\":\"relu\",\"input_shape\":["
      "4]}}",
      "{\"class_name\":\"Dense\",\"config\":{\"units\":6,\"activation\":\"relu\"}}",
  };
  char *s = malloc(4096);
  snprintf(s, 4096,
           "{\"class_name\":\"Sequential\",\"config\":{\"layers\":[%s,"
           "{\"class_name\":\"Dropout\",\"config\":{\"rate\":0.3}},"
           "{\"class_name\":\"Dense\",\"config\":{\"units\":2,\"activation\":\"softmax\"}}]},"
           "\"compile_config\":{\"optimizer\":{\"class_name\":\"Adam\",\"config\":{\"learning_"
           "rate\":0.05}},"
           "\"loss\":\"sparse_categorical_crossentropy\",\"metrics\":[\"accuracy\"]}}",
           first[how]);
  return s;
}

static nnc_fit_options fit_opts(int epochs, int batch, double split) {
  nnc_fit_options o;
  nnc_fit_options_default(&o);
  o.epochs = epochs;
  o.batch_size = batch;
  o.shuffle = 1;
  o.verbose = 0;
  o.validation_split = split;
  return o;
}

START_TEST(input_shape_equivalence) {
  small_data();
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 1, SN, 0);
  nnc_fit_options o = fit_opts(3, 8, 0.2);
  nnc_history h[4];
  wset w0[4], w1[4];
  for (int how = 0; how < 4; how++) {
    char *json = shape_spec(how);
    nnc_model *m = load(json);
    free(json);
    ck_assert_int_eq(nnc_model_is_built(m), how < 3);
    nnc_status st;
    ck_assert(nnc_model_set_seed(m, 1234, &st) == NNC_OK);
    if (how == 3) ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
    weights_get(m, &w0[how]);
    ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h[how], &st) == NNC_OK, "%s", st.message);
    weights_get(m, &w1[how]);
    nnc_model_free(m);
  }
  ck_assert_int_eq(h[0].n_epochs, 3);
  for (int how = 1; how < 4; how++) {
    ck_assert_msg(weights_identical(&w0[0], &w0[how]), "variant %d: different initial weights",
                  how);
    ck_assert_msg(histories_identical(&h[0], &h[how]), "variant %d: different history", how);
    ck_assert_msg(weights_identical(&w1[0], &w1[how]), "variant %d: different final weights", how);
  }
  for (int how = 0; how < 4; how++) {
    nnc_history_free(&h[how]);
    weights_free(&w0[how]);
    weights_free(&w1[how]);
  }
}
END_TEST

static void fit_once(uint64_t seed, const wset *start, nnc_history *h, wset *end, wset *initial) {
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 1, SN, 0);
  nnc_fit_options o = fit_opts(4, 7, 0.0);
  char *json = shape_spec(3);
  nnc_model *m = load(json);
  free(json);
  nnc_status st;
  ck_assert(nnc_model_set_seed(m, seed, &st) == NNC_OK);
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  if (start) weights_put(m, start);
  if (initial) weights_get(m, initial);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, h, &st) == NNC_OK, "%s", st.message);
  weights_get(m, end);
  nnc_model_free(m);
}

/* The same fit twice (same seed, shuffle, dropout): bit-identical. A
 * different seed from the same weights: different shuffles and masks. */
START_TEST(fit_is_deterministic) {
  small_data();
  nnc_history h1, h2, h3;
  wset e1, e2, e3, start;
  fit_once(77, NULL, &h1, &e1, &start);
  fit_once(77, NULL, &h2, &e2, NULL);
  fit_once(78, &start, &h3, &e3, NULL);
  ck_assert_int_eq(h1.n_epochs, 4);
  ck_assert_msg(histories_identical(&h1, &h2), "two identical fits gave different histories");
  ck_assert_msg(weights_identical(&e1, &e2), "two identical fits gave different weights");
  ck_assert_msg(!histories_identical(&h1, &h3),
                "seeds 77 and 78 gave the same history from the same weights");
  nnc_history_free(&h1);
  nnc_history_free(&h2);
  nnc_history_free(&h3);
  weights_free(&e1);
  weights_free(&e2);
  weights_free(&e3);
  weights_free(&start);
}
END_TEST

/* nnc.h: "results are bit-identical for any thread count". */
START_TEST(fit_is_thread_count_invariant) {
  small_data();
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 1, SN, 0);
  const char *json =
      "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
      "{\"class_name\":\"Dense\",\"config\":{\"units\":96,\"activation\":\"tanh\"}},"
      "{\"class_name\":\"Dropout\",\"config\":{\"rate\":0.2}},"
      "{\"class_name\":\"Dense\",\"config\":{\"units\":64,\"activation\":\"relu\"}},"
      "{\"class_name\":\"Dense\",\"config\":{\"units\":3,\"activation\":\"softmax\"}}]},"
      "\"compile_config\":{\"optimizer\":{\"class_name\":\"RMSprop\",\"config\":{\"learning_rate\":"
      "0.01}},"
      "\"loss\":\"sparse_categorical_crossentropy\",\"metrics\":[\"accuracy\"]}}";
  static const int threads[] = {1, 2, 3};
  nnc_history h[3];
  wset w[3];
  nnc_array p[3];
  for (int t = 0; t < 3; t++) {
    nnc_model *m = load(json);
    nnc_status st;
    ck_assert(nnc_model_set_seed(m, 5, &st) == NNC_OK);
    ck_assert_msg(nnc_model_set_threads(m, threads[t], &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(nnc_model_threads(m), threads[t]);
    nnc_fit_options o = fit_opts(3, 16, 0.2);
    ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h[t], &st) == NNC_OK, "%s", st.message);
    weights_get(m, &w[t]);
    ck_assert_msg(nnc_model_predict(m, &x, 7, &p[t], &st) == NNC_OK, "%s", st.message);
    nnc_model_free(m);
  }
  for (int t = 1; t < 3; t++) {
    ck_assert_msg(histories_identical(&h[0], &h[t]), "%d threads: a different history", threads[t]);
    ck_assert_msg(weights_identical(&w[0], &w[t]), "%d threads: different weights", threads[t]);
    ck_assert_msg(!memcmp(p[0].data, p[t].data, sizeof(float) * (size_t)nnc_array_count(&p[0])),
                  "%d threads: different predictions", threads[t]);
  }
  for (int t = 0; t < 3; t++) {
    nnc_history_free(&h[t]);
    weights_free(&w[t]);
    nnc_array_free(&p[t]);
  }
  nnc_status st;
  nnc_model *m = load(json);
  ck_assert(nnc_model_set_threads(m, 0, &st) != NNC_OK);
  nnc_model_free(m);
}
END_TEST

/* ---- validation_split ---- */

/* N = 10, split 0.25: Keras trains on the first floor(10 * 0.75) = 7 samples
 * (before shuffling) and validates after each epoch, with that epoch's final
 * weights, on the last 3. */
START_TEST(validation_split_last_fraction) {
  enum { N = 10, SPLIT_AT = 7 };
  float x[N * 2], y[N];
  for (int i = 0; i < N; i++) {
    x[2 * i] = (float)urand(-1, 1);
    x[2 * i + 1] = (float)urand(-1, 1);
    y[i] = (float)(0.5 * x[2 * i] - 0.3 * x[2 * i + 1] + 0.2 + urand(-0.1, 0.1));
  }
  nnc_array xa = farray(x, 2, N, 2), ya = farray(y, 2, N, 1);
  nnc_array x_train = rows_of(&xa, 0, SPLIT_AT), y_train = rows_of(&ya, 0, SPLIT_AT);
  nnc_array x_val = rows_of(&xa, SPLIT_AT, N - SPLIT_AT),
            y_val = rows_of(&ya, SPLIT_AT, N - SPLIT_AT);
  const char *json = "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                     "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":1}}]},"
                     "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":{"
                     "\"learning_rate\":0.2}},"
                     "\"loss\":\"mse\",\"metrics\":[\"mae\"]}}";
  enum { EPOCHS = 3 };
  nnc_model *a = load(json), *b = load(json);
  nnc_status st;
  ck_assert(nnc_model_set_seed(a, 9, &st) == NNC_OK);
  ck_assert(nnc_model_set_seed(b, 9, &st) == NNC_OK);
  ck_assert_msg(nnc_model_build(a, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_build(b, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  wset w0;
  weights_get(a, &w0);
  weights_put(b, &w0);

  nnc_fit_options o = fit_opts(EPOCHS, 4, 0.25);
  nnc_history h;
  ck_assert_msg(nnc_model_fit(a, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, EPOCHS);

  /* b: the same fit on the first 7 samples only, one epoch at a time, evaluated on the last 3 */
  for (int e = 0; e < EPOCHS; e++) {
    nnc_fit_options one = fit_opts(e + 1, 4, 0.0);
    one.initial_epoch = e;
    nnc_history hb;
    ck_assert_msg(nnc_model_fit(b, &x_train, &y_train, &one, &hb, &st) == NNC_OK, "%s", st.message);
    ck_assert_int_eq(hb.n_epochs, 1);
    ck_assert_int_eq(hb.epochs[0], e);
    ck_assert_msg(nnc_history_get(&hb, "loss", 0) == nnc_history_get(&h, "loss", e),
                  "epoch %d: loss %.9g training on the first 7, %.9g with validation_split", e,
                  nnc_history_get(&hb, "loss", 0), nnc_history_get(&h, "loss", e));
    TEST_LOGS(logs);
    ck_assert(nnc_model_evaluate(b, &x_val, &y_val, 4, &logs, &st) == NNC_OK);
    const char *keys[2][2] = {{"loss", "val_loss"}, {"mae", "val_mae"}};
    for (int k = 0; k < 2; k++) {
      double want = nnc_logs_get(&logs, keys[k][0]), got = nnc_history_get(&h, keys[k][1], e);
      ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want),
                    "epoch %d: %s %.9g, evaluate on the last 3: %.9g", e, keys[k][1], got, want);
    }
    nnc_history_free(&hb);
  }
  wset wa, wb;
  weights_get(a, &wa);
  weights_get(b, &wb);
  ck_assert_msg(weights_identical(&wa, &wb),
                "validation_split 0.25 did not train on exactly the first 7 samples");
  ck_assert_msg(!weights_identical(&wa, &w0), "no training happened");
  /* the final weights again, through evaluate on a */
  TEST_LOGS(logs);
  ck_assert(nnc_model_evaluate(a, &x_val, &y_val, 32, &logs, &st) == NNC_OK);
  ck_assert(fabs(nnc_logs_get(&logs, "loss") - nnc_history_get(&h, "val_loss", EPOCHS - 1)) <=
            1e-6 * nnc_logs_get(&logs, "loss"));
  /* and not the last 2 or 4 */
  nnc_array x2 = rows_of(&xa, 8, 2), y2 = rows_of(&ya, 8, 2), x4 = rows_of(&xa, 6, 4),
            y4 = rows_of(&ya, 6, 4);
  ck_assert(nnc_model_evaluate(a, &x2, &y2, 32, &logs, &st) == NNC_OK);
  ck_assert(fabs(nnc_logs_get(&logs, "loss") - nnc_history_get(&h, "val_loss", EPOCHS - 1)) > 1e-6);
  ck_assert(nnc_model_evaluate(a, &x4, &y4, 32, &logs, &st) == NNC_OK);
  ck_assert(fabs(nnc_logs_get(&logs, "loss") - nnc_history_get(&h, "val_loss", EPOCHS - 1)) > 1e-6);
  weights_free(&w0);
  weights_free(&wa);
  weights_free(&wb);
  nnc_history_free(&h);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* ---- Precision and Recall are epoch-global ---- */

/* Dense(1, sigmoid) with kernel 1, bias 0 predicts positive iff x > 0;
 * learning rate 0 keeps it so. Batches of 4 (shuffle off):
 *   [-1 -2 -1 -3 | 1 2 -1 1 | 1 -1]  predictions  0 0 0 0 | 1 1 0 1 | 1 0
 *   [ 1  0  0  0 | 1 1  0 0 | 1  1]  labels
 * The first batch predicts no positive at all. */
START_TEST(precision_recall_epoch_global) {
  enum { N = 10, BS = 4 };
  float x[N] = {-1, -2, -1, -3, 1, 2, -1, 1, 1, -1}, y[N] = {1, 0, 0, 0, 1, 1, 0, 0, 1, 1};
  /* by hand: global counts and the per-batch ratios */
  int tp = 0, fp = 0, fn = 0;
  double batch_p = 0, batch_r = 0;
  int batches = 0;
  for (int first = 0; first < N; first += BS, batches++) {
    int btp = 0, bfp = 0, bfn = 0;
    for (int i = first; i < first + BS && i < N; i++) {
      int pred = x[i] > 0, pos = y[i] != 0;
      btp += pred && pos;
      bfp += pred && !pos;
      bfn += !pred && pos;
    }
    tp += btp, fp += bfp, fn += bfn;
    batch_p += btp + bfp ? (double)btp / (btp + bfp) : 0;
    batch_r += btp + bfn ? (double)btp / (btp + bfn) : 0;
  }
  double precision = (double)tp / (tp + fp), recall = (double)tp / (tp + fn);
  batch_p /= batches;
  batch_r /= batches;
  ck_assert(tp == 3 && fp == 1 && fn == 2); /* 0.75 and 0.6 */
  ck_assert(fabs(precision - batch_p) > 0.05 && fabs(recall - batch_r) > 0.05);
  /* the mean over the batches that have predicted positives differs too */
  ck_assert(fabs(precision - (2.0 / 3 + 1.0) / 2) > 0.05);

  const char *json =
      "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
      "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":1,\"activation\":"
      "\"sigmoid\"}}]},"
      "\"compile_config\":{\"optimizer\":{\"class_name\":\"SGD\",\"config\":{\"learning_rate\":0.0}"
      "},"
      "\"loss\":\"binary_crossentropy\",\"metrics\":[{\"class_name\":\"Precision\",\"config\":{}},"
      "{\"class_name\":\"Recall\",\"config\":{}}]}}";
  nnc_model *m = load(json);
  float one = 1, zero = 0;
  nnc_array k = farray(&one, 2, 1, 1), b = farray(&zero, 1, 1, 0);
  nnc_array xa = farray(x, 2, N, 1), ya = farray(y, 2, N, 1);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_weight(m, "dense/kernel", &k, &st) == NNC_OK);
  ck_assert(nnc_model_set_weight(m, "dense/bias", &b, &st) == NNC_OK);
  nnc_fit_options o = fit_opts(2, BS, 0.0);
  o.shuffle = 0;
  nnc_history h;
  ck_assert_msg(nnc_model_fit(m, &xa, &ya, &o, &h, &st) == NNC_OK, "%s", st.message);
  for (int e = 0; e < 2; e++) {
    double p = nnc_history_get(&h, "precision", e), r = nnc_history_get(&h, "recall", e);
    ck_assert_msg(fabs(p - precision) < 1e-6,
                  "epoch %d: precision %.9g, TP/(TP+FP) over the epoch %.9g (per-batch "
                  "mean %.9g)",
                  e, p, precision, batch_p);
    ck_assert_msg(fabs(r - recall) < 1e-6,
                  "epoch %d: recall %.9g, TP/(TP+FN) over the epoch %.9g (per-batch "
                  "mean %.9g)",
                  e, r, recall, batch_r);
  }
  TEST_LOGS(logs);
  ck_assert(nnc_model_evaluate(m, &xa, &ya, BS, &logs, &st) == NNC_OK);
  ck_assert(fabs(nnc_logs_get(&logs, "precision") - precision) < 1e-6);
  ck_assert(fabs(nnc_logs_get(&logs, "recall") - recall) < 1e-6);
  /* train_on_batch resets the metrics: the batch's own ratio (no positives: 0) */
  nnc_array x1 = rows_of(&xa, 0, BS), y1 = rows_of(&ya, 0, BS);
  ck_assert(nnc_model_train_on_batch(m, &x1, &y1, &logs, &st) == NNC_OK);
  ck_assert(nnc_logs_get(&logs, "precision") == 0.0 && nnc_logs_get(&logs, "recall") == 0.0);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* ---- History key names ---- */

static void check_keys(const char *metrics, const char *const *want, int n_want,
                       const char *const *eval_want, int n_eval) {
  char json[2048];
  snprintf(
      json, sizeof json,
      "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
      "{\"class_name\":\"Dense\",\"config\":{\"units\":1,\"activation\":\"sigmoid\"}}]},"
      "\"compile_config\":{\"optimizer\":\"sgd\",\"loss\":\"binary_crossentropy\",\"metrics\":%s}}",
      metrics);
  small_data();
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 2, SN, 1);
  nnc_model *m = load(json);
  nnc_fit_options o = fit_opts(1, 8, 0.3);
  nnc_history h;
  nnc_status st;
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_keys, n_want);
  for (int k = 0; k < n_want; k++) ck_assert_str_eq(h.keys[k], want[k]);
  TEST_LOGS(logs);
  ck_assert(nnc_model_evaluate(m, &x, &y, 8, &logs, &st) == NNC_OK);
  ck_assert_int_eq(logs.n, n_eval);
  for (int k = 0; k < n_eval; k++) ck_assert_str_eq(logs.names[k], eval_want[k]);
  nnc_history_free(&h);
  nnc_model_free(m);
}

START_TEST(metric_names) {
  const char *acc[] = {"acc", "loss", "mae", "val_acc", "val_loss", "val_mae"},
             *acc_eval[] = {"acc", "loss", "mae"};
  check_keys("[\"mae\", \"acc\"]", acc, 6, acc_eval, 3);
  const char *accuracy[] = {"accuracy", "loss", "val_accuracy", "val_loss"},
             *accuracy_eval[] = {"accuracy", "loss"};
  check_keys("[\"accuracy\"]", accuracy, 4, accuracy_eval, 2);
  const char *named[] = {"loss", "p", "val_loss", "val_p"}, *named_eval[] = {"loss", "p"};
  check_keys("[{\"class_name\": \"Precision\", \"config\": {\"name\": \"p\"}}]", named, 4,
             named_eval, 2);
}
END_TEST

/* "acc" and "accuracy" are the same metric under two names. */
START_TEST(acc_equals_accuracy) {
  small_data();
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 2, SN, 1);
  const char *json =
      "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
      "{\"class_name\":\"Dense\",\"config\":{\"units\":1,\"activation\":\"sigmoid\"}}]},"
      "\"compile_config\":{\"optimizer\":\"sgd\",\"loss\":\"binary_crossentropy\",\"metrics\":["
      "\"acc\",\"accuracy\","
      "\"binary_accuracy\"]}}";
  nnc_model *m = load(json);
  TEST_LOGS(logs);
  nnc_status st;
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 8, &logs, &st) == NNC_OK, "%s", st.message);
  double a = nnc_logs_get(&logs, "acc");
  ck_assert(isfinite(a) && a == nnc_logs_get(&logs, "accuracy") &&
            a == nnc_logs_get(&logs, "binary_accuracy"));
  nnc_model_free(m);
}
END_TEST

/* ---- malformed specs through the API ---- */

static void expect_load_error(const char *json, const char *path, const char *what) {
  nnc_model *m = (nnc_model *)&m; /* not NULL: the call must clear it */
  nnc_status st;
  memset(&st, 0, sizeof st);
  int rc = nnc_model_load_string(json, "bad.json", &m, &st);
  check_one_line_error(rc, &st, path, what);
  ck_assert_msg(rc == NNC_ERR_SPEC, "%s: code %d, want NNC_ERR_SPEC", what, rc);
  ck_assert_msg(m == NULL, "%s: *out not cleared on error", what);
  ck_assert_msg(strstr(st.message, "bad.json") != NULL,
                "%s: the message does not name the source: %s", what, st.message);
}

START_TEST(malformed_specs) {
  expect_load_error("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [", NULL,
                    "truncated JSON");
  expect_load_error(
      "{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dense\",}]}}",
      "line 1", "invalid JSON");
  expect_load_error("{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4]}},"
                    "{\"class_name\":\"LSTM\",\"config\":{\"units\":3}}]}}",
                    "$.config.layers[1]", "unknown layer");
  expect_load_error("{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4]}},"
                    "{\"class_name\":\"Dense\",\"config\":{\"units\":-3}}]}}",
                    "$.config.layers[1].config.units", "negative units");
  expect_load_error("{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                    "{\"class_name\":\"Dense\",\"config\":{\"units\":0}}]}}",
                    "$.config.layers[0].config.units", "zero units");
  /* Keras 3 config.json: the Dense declares a build input of 5 features after an input of 4 */
  expect_load_error(
      "{\"module\":\"keras\",\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
      "{\"module\":\"keras.layers\",\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":["
      "null,4],"
      "\"dtype\":\"float32\",\"sparse\":false,\"name\":\"input_layer\"},\"registered_name\":null},"
      "{\"module\":\"keras.layers\",\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\","
      "\"units\":2,"
      "\"activation\":\"linear\",\"use_bias\":true},\"registered_name\":null,"
      "\"build_config\":{\"input_shape\":[null,5]}}]},\"registered_name\":null}",
      "$.config.layers[1]", "shape mismatch");
}
END_TEST

START_TEST(no_compile_config) {
  const char *json = "{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                     "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,4]}},"
                     "{\"class_name\":\"Dense\",\"config\":{\"units\":1}}]}}";
  nnc_model *m = load(json);
  small_data();
  nnc_array x = farray(sx, 2, SN, 4), y = farray(sy, 2, SN, 1);
  nnc_fit_options o = fit_opts(1, 8, 0.0);
  nnc_history h;
  nnc_status st;
  int rc = nnc_model_fit(m, &x, &y, &o, &h, &st);
  check_one_line_error(rc, &st, "$", "fit without compile config");
  ck_assert_msg(strstr(st.message, "compile") != NULL, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 0);
  TEST_LOGS(logs);
  rc = nnc_model_evaluate(m, &x, &y, 8, &logs, &st);
  check_one_line_error(rc, &st, "compile", "evaluate without compile config");
  rc = nnc_model_train_on_batch(m, &x, &y, &logs, &st);
  check_one_line_error(rc, &st, "compile", "train_on_batch without compile config");
  /* predict needs none */
  nnc_array out;
  ck_assert_msg(nnc_model_predict(m, &x, 8, &out, &st) == NNC_OK, "%s", st.message);
  nnc_array_free(&out);
  /* and once a compile config is set, fit works, keeping the weights */
  ck_assert_msg(nnc_model_set_compile_config(m, "{\"optimizer\":\"sgd\",\"loss\":\"mse\"}", &st) ==
                    NNC_OK,
                "%s", st.message);
  ck_assert_msg(nnc_model_fit(m, &x, &y, &o, &h, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(h.n_epochs, 1);
  nnc_history_free(&h);
  nnc_model_free(m);
}
END_TEST

/* Keras: Dropout(rate=1) drops everything while training and nothing in
 * inference. Input(4) -> Dropout(1) -> Dense(1, kernel ones, no bias): the
 * train-phase output is 0, so an mse loss against y = 0 is exactly 0 before
 * the update, while predict returns the sum of the inputs. */
START_TEST(dropout_rate_one_drops_everything) {
  const char *spec =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
      "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 1.0, "
      "\"batch_input_shape\": [null, 4]}},"
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1, \"use_bias\": false,"
      " \"kernel_initializer\": \"ones\"}}]},"
      " \"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "rate1.json", &m, &st) == NNC_OK, "%s", st.message);
  float xs[8] = {1, 2, 3, 4, -1, 0.5f, 2, 0}, ys[2] = {0, 0};
  nnc_array x = {NNC_F32, 2, {2, 4}, xs, "x"}, y = {NNC_F32, 2, {2, 1}, ys, "y"};
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_logs_get(&logs, "loss") == 0.0);
  nnc_array p;
  ck_assert(nnc_model_predict(m, &x, 2, &p, &st) == NNC_OK);
  ck_assert(((float *)p.data)[0] == 10.0f && ((float *)p.data)[1] == 1.5f);
  nnc_array_free(&p);
  nnc_model_free(m);
}
END_TEST

/* Keras's rank fix-up: targets (N, 60) against an output (None, 60, 1) squeeze
 * the output, which loses the TF backend's logits capture, so binary
 * crossentropy after a sigmoid is computed from clipped probabilities; with
 * targets (N, 60, 1) it is the logits form (keras-semantics.md §2.3). */
static int loss_graph_has(const nnc_spec_shape *y_inner, const char *needle) {
  const char *spec =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 1, \"activation\": "
      "\"sigmoid\","
      " \"batch_input_shape\": [null, 60, 10]}}]},"
      " \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"binary_crossentropy\"}}";
  nnc_spec sp;
  nnc_status st;
  ck_assert(nnc_spec_parse_string(spec, "fixup.json", &sp, &st) == NNC_OK);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  nnc_compile_options o = {0};
  o.dump = f;
  o.dump_after = "plan";
  o.dump_graphs = 1u << NNC_GRAPH_TEST;
  o.no_jit = 1;
  nnc_compiled c;
  nnc_data_shapes data = {0, NULL, y_inner ? 1 : 0, y_inner, NULL};
  ck_assert_msg(nnc_compile_spec(&sp, &data, &o, &c, &st) == NNC_OK, "%s", st.message);
  fclose(f);
  int found = strstr(text, needle) != NULL;
  free(text);
  nnc_compiled_free(&c);
  nnc_spec_free(&sp);
  return found;
}

START_TEST(rank_fixup_squeeze_drops_the_logits_form) {
  nnc_spec_shape squeezed = {1, {60}}, same = {2, {60, 1}};
  ck_assert(!loss_graph_has(&squeezed, "bce_logits"));
  ck_assert(loss_graph_has(&squeezed, "unary.clip"));
  ck_assert(loss_graph_has(&same, "bce_logits"));
  ck_assert(!loss_graph_has(&same, "unary.clip"));
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("behaviour");
  TCase *fit = tcase_create("fit");
  tcase_set_timeout(fit, 120);
  tcase_add_test(fit, fit_val_loss_is_next_loss);
  tcase_add_test(fit, linreg_converges_with_sgd_0_1);
  tcase_add_test(fit, linreg_default_sgd_is_slower);
  tcase_add_test(fit, set_compile_config_keeps_weights);
  tcase_add_test(fit, input_shape_equivalence);
  tcase_add_test(fit, fit_is_deterministic);
  tcase_add_test(fit, fit_is_thread_count_invariant);
  tcase_add_test(fit, validation_split_last_fraction);
  tcase_add_test(fit, precision_recall_epoch_global);
  tcase_add_test(fit, metric_names);
  tcase_add_test(fit, acc_equals_accuracy);
  tcase_add_test(fit, rank_fixup_squeeze_drops_the_logits_form);
  suite_add_tcase(s, fit);
  TCase *drop = tcase_create("dropout");
  tcase_set_timeout(drop, 120);
  tcase_add_test(drop, dropout_predict_is_identity);
  tcase_add_test(drop, dropout_train_phase_masks_fresh_each_step);
  tcase_add_test(drop, dropout_masks_change_between_steps);
  tcase_add_test(drop, dropout_masks_follow_the_seed);
  tcase_add_test(drop, dropout_preserves_the_mean);
  tcase_add_test(drop, dropout_only_in_train_graph);
  tcase_add_test(drop, dropout_rate_one_drops_everything);
  suite_add_tcase(s, drop);
  TCase *errors = tcase_create("errors");
  tcase_set_timeout(errors, 60);
  tcase_add_test(errors, malformed_specs);
  tcase_add_test(errors, no_compile_config);
  suite_add_tcase(s, errors);
  return testutil_run(s);
}
