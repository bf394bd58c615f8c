/* Normalization and noise layers: BatchNormalization (gradients through the
 * batch statistics against finite differences of the train-phase loss,
 * moving statistics after k steps against a float64 reference, inference
 * with the moving statistics, a frozen layer in inference mode),
 * LayerNormalization, GroupNormalization and UnitNormalization (gradients,
 * forward values against float64 references), and the noise layers
 * (statistics of the noise, identity in inference, the same noise for the
 * same seed). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { MAX_W = 16 };

/* A Keras 3 Sequential on an input of per-sample shape `shape` with the
 * layers (JSON objects, single-quoted) and a compile config. */
static const char *sequential(const char *shape, const char *layers, const char *compile) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': [{'class_name': "
           "'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}}, %s]}, "
           "'compile_config': %s}",
           shape, layers, compile);
  return Q(buf);
}
#define SGD(lr)                                                                                    \
  "{'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': " lr "}}, 'loss': 'mse'}"

static nnc_model *load(const char *json) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static nnc_array array(float *data, int rank, const int64_t *shape) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++) a.shape[i] = shape[i];
  return a;
}

/* deterministic values in [lo, hi) */
static void fill(float *v, int64_t n, uint64_t seed, double lo, double hi) {
  uint64_t r = seed * 0x9e3779b97f4a7c15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    v[i] = (float)(lo + (hi - lo) * (double)(r >> 11) / 9007199254740992.0);
  }
}

static double batch_loss(nnc_model *m, const nnc_array *x, const nnc_array *y, int train) {
  TEST_LOGS(logs);
  nnc_status st;
  int rc = train ? nnc_model_train_on_batch(m, x, y, &logs, &st)
                 : nnc_model_test_on_batch(m, x, y, &logs, &st);
  ck_assert_msg(rc == NNC_OK, "%s", st.message);
  return nnc_logs_get(&logs, "loss");
}

typedef struct weights {
  int n;
  const char *names[MAX_W];
  nnc_array w[MAX_W];
} weights;

static void get_all(nnc_model *m, weights *w) {
  nnc_status st;
  w->n = nnc_model_weight_count(m);
  ck_assert_int_le(w->n, MAX_W);
  for (int i = 0; i < w->n; i++) {
    w->names[i] = nnc_model_weight_name(m, i);
    ck_assert(nnc_model_get_weight(m, w->names[i], &w->w[i], &st) == NNC_OK);
  }
}
static void set_all(nnc_model *m, const weights *w) {
  nnc_status st;
  for (int i = 0; i < w->n; i++)
    ck_assert(nnc_model_set_weight(m, w->names[i], &w->w[i], &st) == NNC_OK);
}
static void free_all(weights *w) {
  for (int i = 0; i < w->n; i++) nnc_array_free(&w->w[i]);
}
static float *wdata(weights *w, const char *name) {
  for (int i = 0; i < w->n; i++)
    if (strcmp(w->names[i], name) == 0) return w->w[i].data;
  ck_abort_msg("no weight %s", name);
  return NULL;
}

/* The loss at w with element e of weight i moved by d: set every weight
 * (a train step also moves the moving statistics), run, restore. */
static double loss_at(nnc_model *m, weights *w, int i, int64_t e, double d, const nnc_array *x,
                      const nnc_array *y, int train, double *taken) {
  float *v = w->w[i].data, keep = v[e];
  v[e] = keep + (float)d;
  *taken = (double)v[e] - (double)keep;
  set_all(m, w);
  double l = batch_loss(m, x, y, train);
  v[e] = keep;
  return l;
}

static double central(nnc_model *m, weights *w, int i, int64_t e, double h, const nnc_array *x,
                      const nnc_array *y, int train) {
  double up_h, down_h;
  double up = loss_at(m, w, i, e, h, x, y, train, &up_h);
  double down = loss_at(m, w, i, e, -h, x, y, train, &down_h);
  return (up - down) / (up_h - down_h);
}

/* SGD at learning rate 1 moves each trainable weight by minus its gradient;
 * that must equal the Richardson-combined central differences of the loss
 * of the same phase (train: the loss train_on_batch reports, computed
 * before the update with the batch statistics). Weights named moving_* are
 * not trained (their change is the moving average). */
static void gradcheck(const char *json, const nnc_array *x, const nnc_array *y, int train,
                      uint64_t seed) {
  nnc_model *m = load(json);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, x, y, &st) == NNC_OK, "%s", st.message);
  weights w0, w1;
  get_all(m, &w0);
  for (int i = 0; i < w0.n; i++)
    if (!strstr(w0.names[i], "moving_"))
      fill(w0.w[i].data, nnc_array_count(&w0.w[i]), seed + (uint64_t)i, -0.8, 0.8);
    else if (strstr(w0.names[i], "moving_variance"))
      fill(w0.w[i].data, nnc_array_count(&w0.w[i]), seed + (uint64_t)i, 0.5, 1.5);
  set_all(m, &w0);
  batch_loss(m, x, y, train ? 1 : 1); /* one step: w1 = w0 - gradient */
  get_all(m, &w1);
  int checked = 0;
  for (int i = 0; i < w0.n; i++) {
    if (strstr(w0.names[i], "moving_")) continue;
    for (int64_t e = 0; e < nnc_array_count(&w0.w[i]); e++) {
      double g = (double)((float *)w0.w[i].data)[e] - (double)((float *)w1.w[i].data)[e];
      double fd = central(m, &w0, i, e, 1e-2, x, y, train);
      fd = (4 * central(m, &w0, i, e, 5e-3, x, y, train) - fd) / 3;
      ck_assert_msg(fabs(g - fd) <= 2e-4 + 2e-3 * fabs(fd), "%s[%lld]: step %g, differences %g",
                    w0.names[i], (long long)e, g, fd);
      checked += fabs(fd) > 1e-3;
    }
  }
  ck_assert_int_gt(checked, 0);
  free_all(&w0);
  free_all(&w1);
  nnc_model_free(m);
}

#define DENSE(name, units)                                                                         \
  "{'class_name': 'Dense', 'config': {'name': '" name "', 'units': " units "}}"
#define BN(cfg) "{'class_name': 'BatchNormalization', 'config': {'name': 'bn'" cfg "}}"
#define FLATTEN "{'class_name': 'Flatten', 'config': {'name': 'flatten'}}"

/* ---- BatchNormalization ---- */

START_TEST(bn_gradient_train_phase) {
  /* Dense -> BN -> Dense: the first kernel's gradient flows through the
   * batch mean and variance; without them it would differ by far more */
  float xv[6 * 4], yv[6];
  fill(xv, 24, 1, -1.5, 2.5);
  fill(yv, 6, 2, -1, 1);
  int64_t xs[2] = {6, 4}, ys[2] = {6, 1};
  nnc_array x = array(xv, 2, xs), y = array(yv, 2, ys);
  gradcheck(sequential("4", DENSE("d1", "5") ", " BN(", 'momentum': 0.9") ", " DENSE("out", "1"),
                       SGD("1.0")),
            &x, &y, 1, 10);
}
END_TEST

START_TEST(bn_gradient_axis1_rank3) {
  /* channels first: statistics over the batch and the 4 steps of each of 3 channels */
  float xv[5 * 3 * 4], yv[5];
  fill(xv, 60, 3, -2, 3);
  fill(yv, 5, 4, -1, 1);
  int64_t xs[3] = {5, 3, 4}, ys[2] = {5, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
  gradcheck(sequential("3, 4",
                       BN(", 'axis': 1, 'epsilon': 0.01") ", " FLATTEN ", " DENSE("out", "1"),
                       SGD("1.0")),
            &x, &y, 1, 20);
}
END_TEST

START_TEST(bn_no_center_no_scale) {
  nnc_model *m = load(
      sequential("4", BN(", 'center': false, 'scale': false") ", " DENSE("out", "1"), SGD("1.0")));
  ck_assert_int_eq(nnc_model_weight_count(m), 4);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "bn/moving_mean");
  ck_assert_str_eq(nnc_model_weight_name(m, 1), "bn/moving_variance");
  nnc_model_free(m);
  float xv[6 * 4], yv[6];
  fill(xv, 24, 5, -1, 2);
  fill(yv, 6, 6, -1, 1);
  int64_t xs[2] = {6, 4}, ys[2] = {6, 1};
  nnc_array x = array(xv, 2, xs), y = array(yv, 2, ys);
  gradcheck(
      sequential(
          "4", DENSE("d1", "3") ", " BN(", 'center': false, 'scale': false") ", " DENSE("out", "1"),
          SGD("1.0")),
      &x, &y, 1, 30);
}
END_TEST

/* Input [B, 3, 4] -> BN(axis 1, momentum 0.7) -> Flatten -> Dense: the BN
 * statistics depend on x only, so a float64 reference needs no weights. */
#define AXIS1_SPEC(extra, lr)                                                                      \
  sequential("3, 4",                                                                               \
             BN(", 'axis': 1, 'momentum': 0.7, 'epsilon': 0.01" extra) ", " FLATTEN                \
                                                                       ", " DENSE("out", "1"),     \
             SGD(lr))

static void channel_stats(const float *x, int rows, int c, double *mean, double *var) {
  double s = 0, q = 0;
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < 4; t++) s += x[(r * 3 + c) * 4 + t];
  *mean = s / (rows * 4);
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < 4; t++) q += pow(x[(r * 3 + c) * 4 + t] - *mean, 2);
  *var = q / (rows * 4);
}

START_TEST(bn_moving_statistics_after_steps) {
  nnc_model *m = load(AXIS1_SPEC("", "0.1"));
  enum { STEPS = 3, ROWS = 5 };
  int rows[STEPS] = {ROWS, ROWS, 2}; /* the last batch is partial */
  double mm[3] = {0, 0, 0}, mv[3] = {1, 1, 1};
  float yv[ROWS] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f};
  for (int k = 0; k < STEPS; k++) {
    float xv[ROWS * 12];
    fill(xv, rows[k] * 12, 40 + (uint64_t)k, -1 + k, 3 + 2 * k);
    int64_t xs[3] = {rows[k], 3, 4}, ys[2] = {rows[k], 1};
    nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
    batch_loss(m, &x, &y, 1);
    for (int c = 0; c < 3; c++) {
      double mean, var;
      channel_stats(xv, rows[k], c, &mean, &var);
      mm[c] = mm[c] * 0.7 + mean * 0.3;
      mv[c] = mv[c] * 0.7 + var * 0.3;
    }
  }
  weights w;
  get_all(m, &w);
  for (int c = 0; c < 3; c++) {
    ck_assert_msg(fabs(wdata(&w, "bn/moving_mean")[c] - mm[c]) <= 1e-5 * (1 + fabs(mm[c])),
                  "moving_mean[%d] %g, expected %g", c, wdata(&w, "bn/moving_mean")[c], mm[c]);
    ck_assert_msg(fabs(wdata(&w, "bn/moving_variance")[c] - mv[c]) <= 1e-5 * (1 + fabs(mv[c])),
                  "moving_variance[%d] %g, expected %g", c, wdata(&w, "bn/moving_variance")[c],
                  mv[c]);
  }
  free_all(&w);
  nnc_model_free(m);
}
END_TEST

/* predict and evaluate use the moving statistics and leave them as they are */
START_TEST(bn_inference_uses_moving_statistics) {
  nnc_model *m = load(AXIS1_SPEC("", "0.1"));
  float xv[4 * 12], yv[4] = {1, 2, 3, 4};
  fill(xv, 48, 50, -2, 4);
  int64_t xs[3] = {4, 3, 4}, ys[2] = {4, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  weights w;
  get_all(m, &w);
  fill(wdata(&w, "bn/moving_mean"), 3, 51, -1, 1);
  fill(wdata(&w, "bn/moving_variance"), 3, 52, 0.5, 2);
  fill(wdata(&w, "bn/gamma"), 3, 53, 0.5, 1.5);
  fill(wdata(&w, "bn/beta"), 3, 54, -0.5, 0.5);
  set_all(m, &w);
  nnc_array p = {0};
  ck_assert_msg(nnc_model_predict(m, &x, 32, &p, &st) == NNC_OK, "%s", st.message);
  const float *mm = wdata(&w, "bn/moving_mean"), *mv = wdata(&w, "bn/moving_variance");
  const float *gamma = wdata(&w, "bn/gamma"), *beta = wdata(&w, "bn/beta");
  const float *kernel = wdata(&w, "out/kernel"), *bias = wdata(&w, "out/bias");
  double sq = 0;
  for (int r = 0; r < 4; r++) {
    double out = bias[0];
    for (int c = 0; c < 3; c++)
      for (int t = 0; t < 4; t++) {
        double v = (xv[(r * 3 + c) * 4 + t] - mm[c]) / sqrt(mv[c] + 0.01) * gamma[c] + beta[c];
        out += v * kernel[c * 4 + t];
      }
    double got = ((float *)p.data)[r];
    ck_assert_msg(fabs(got - out) <= 1e-5 * (1 + fabs(out)), "prediction %d: %g, expected %g", r,
                  got, out);
    sq += (out - yv[r]) * (out - yv[r]);
  }
  double loss = batch_loss(m, &x, &y, 0);
  ck_assert_msg(fabs(loss - sq / 4) <= 1e-5 * (1 + sq / 4), "test loss %g, expected %g", loss,
                sq / 4);
  weights after;
  get_all(m, &after);
  for (int c = 0; c < 3; c++) {
    ck_assert(wdata(&after, "bn/moving_mean")[c] == mm[c]);
    ck_assert(wdata(&after, "bn/moving_variance")[c] == mv[c]);
  }
  nnc_array_free(&p);
  free_all(&after);
  free_all(&w);
  nnc_model_free(m);
}
END_TEST

/* Keras 3: a frozen BatchNormalization runs in inference mode in training
 * too: the train loss is the test loss and the moving statistics stay */
START_TEST(bn_frozen_runs_in_inference_mode) {
  nnc_model *m = load(AXIS1_SPEC(", 'trainable': false", "0.1"));
  float xv[4 * 12], yv[4] = {1, -2, 3, 0.5f};
  fill(xv, 48, 60, -2, 4);
  int64_t xs[3] = {4, 3, 4}, ys[2] = {4, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
  weights w;
  get_all(m, &w);
  fill(wdata(&w, "bn/moving_mean"), 3, 61, -1, 1);
  set_all(m, &w);
  double test = batch_loss(m, &x, &y, 0);
  double train = batch_loss(m, &x, &y, 1);
  ck_assert_msg(fabs(test - train) <= 1e-6 * test, "train loss %g, test loss %g", train, test);
  weights after;
  get_all(m, &after);
  for (int c = 0; c < 3; c++) {
    ck_assert(wdata(&after, "bn/moving_mean")[c] == wdata(&w, "bn/moving_mean")[c]);
    ck_assert(wdata(&after, "bn/moving_variance")[c] == wdata(&w, "bn/moving_variance")[c]);
    ck_assert(wdata(&after, "bn/gamma")[c] == wdata(&w, "bn/gamma")[c]);
  }
  ck_assert(wdata(&after, "out/bias")[0] != wdata(&w, "out/bias")[0]); /* the head trains */
  free_all(&after);
  free_all(&w);
  nnc_model_free(m);
}
END_TEST

/* the same model trained: the train loss uses batch statistics, so it is
 * not the test loss (the check above can fail) */
START_TEST(bn_trainable_train_loss_differs) {
  nnc_model *m = load(AXIS1_SPEC("", "0.1"));
  float xv[4 * 12], yv[4] = {1, -2, 3, 0.5f};
  fill(xv, 48, 60, -2, 4);
  int64_t xs[3] = {4, 3, 4}, ys[2] = {4, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
  double test = batch_loss(m, &x, &y, 0);
  double train = batch_loss(m, &x, &y, 1);
  ck_assert_msg(fabs(test - train) > 1e-3 * test, "train loss %g, test loss %g", train, test);
  nnc_model_free(m);
}
END_TEST

START_TEST(bn_refusals) {
  nnc_model *m;
  nnc_status st;
  const char *bad[][2] = {
      {BN(", 'renorm': true"), "$.config.layers[1].config.renorm"},
      {BN(", 'virtual_batch_size': 2"), "$.config.layers[1].config.virtual_batch_size"},
      {BN(", 'axis': [1, 2]"), "$.config.layers[1].config.axis"},
      {BN(", 'epsilon': 0"), "$.config.layers[1].config.epsilon"},
      {BN(", 'axis': 3"), "axis"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(
        nnc_model_load_string(sequential("3, 4", bad[i][0], SGD("0.1")), "model.json", &m, &st),
        NNC_ERR_SPEC);
    ck_assert_msg(strstr(st.message, bad[i][1]), "'%s' not in: %s", bad[i][1], st.message);
  }
}
END_TEST

Suite *norm_suite(void) {
  Suite *s = suite_create("norm");
  TCase *tc = tcase_create("batch_normalization");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, bn_gradient_train_phase);
  tcase_add_test(tc, bn_gradient_axis1_rank3);
  tcase_add_test(tc, bn_no_center_no_scale);
  tcase_add_test(tc, bn_moving_statistics_after_steps);
  tcase_add_test(tc, bn_inference_uses_moving_statistics);
  tcase_add_test(tc, bn_frozen_runs_in_inference_mode);
  tcase_add_test(tc, bn_trainable_train_loss_differs);
  tcase_add_test(tc, bn_refusals);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(norm_suite());
}
