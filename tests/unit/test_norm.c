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

/* A mask (Masking here) restricts the train-phase moments to the kept
 * steps (Keras 3 BatchNormalization._moments). x [2, 3, 2] with steps
 * (0, 1) and (1, 0) all zeros, masked: the 4 kept steps have mean (1, 1.5)
 * and biased variance (3.5, 3.25), so one step with momentum 0.5 gives
 * moving_mean (0.5, 0.75) and moving_variance (2.25, 2.125); the unmasked
 * moments would be (2/3, 1) and other variances. */
#define MASKING "{'class_name': 'Masking', 'config': {'name': 'mk', 'mask_value': 0.0}}"
START_TEST(bn_masked_moments) {
  nnc_model *m = load(
      sequential("3, 2", MASKING ", " BN(", 'momentum': 0.5") ", " DENSE("out", "1"), SGD("0.1")));
  float xv[12] = {1, 2, 0, 0, 3, -1, 0, 0, 2, 4, -2, 1}, yv[6] = {0.1f, 0, 0.2f, 0, -0.3f, 0.4f};
  int64_t xs[3] = {2, 3, 2}, ys[3] = {2, 3, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 3, ys);
  batch_loss(m, &x, &y, 1);
  weights w;
  get_all(m, &w);
  const double mm[2] = {0.5, 0.75}, mv[2] = {2.25, 2.125};
  for (int c = 0; c < 2; c++) {
    ck_assert_msg(fabs(wdata(&w, "bn/moving_mean")[c] - mm[c]) <= 1e-6, "moving_mean[%d] %g", c,
                  wdata(&w, "bn/moving_mean")[c]);
    ck_assert_msg(fabs(wdata(&w, "bn/moving_variance")[c] - mv[c]) <= 1e-6,
                  "moving_variance[%d] %g", c, wdata(&w, "bn/moving_variance")[c]);
  }
  free_all(&w);
  nnc_model_free(m);
  /* the gradient through the masked moments, against finite differences */
  float gx[4 * 5 * 3], gy[4 * 5];
  fill(gx, 60, 7, -1.5, 2.5);
  fill(gy, 20, 8, -1, 1);
  for (int b = 0; b < 4; b++) /* steps 1 and 3 + b % 2 masked */
    for (int k = 0; k < 3; k++) gx[(b * 5 + 1) * 3 + k] = gx[(b * 5 + 3 + b % 2) * 3 + k] = 0;
  int64_t gxs[3] = {4, 5, 3}, gys[3] = {4, 5, 1};
  nnc_array x2 = array(gx, 3, gxs), y2 = array(gy, 3, gys);
  gradcheck(sequential("5, 3",
                       MASKING
                       ", " DENSE("d1", "4") ", " BN(", 'momentum': 0.9") ", " DENSE("out", "1"),
                       SGD("1.0")),
            &x2, &y2, 1, 21);
}
END_TEST

/* Masking over [B, 2, 3, 3] gives a [B, 2, 3] mask: the masked moments over
 * the kept entries of every spatial position (Keras 3's _moments takes any
 * rank), their gradient against finite differences (test_brk8b.sh checks
 * the moving statistics by hand) */
START_TEST(bn_masked_moments_rank4) {
  float gx[4 * 18], gy[4];
  fill(gx, 72, 9, -1.5, 2.5);
  fill(gy, 4, 10, -1, 1);
  for (int b = 0; b < 4; b++) /* entries (0, 1) and (1, b % 3) masked */
    for (int k = 0; k < 3; k++) gx[b * 18 + 3 + k] = gx[b * 18 + (3 + b % 3) * 3 + k] = 0;
  int64_t gxs[4] = {4, 2, 3, 3}, gys[2] = {4, 1};
  nnc_array x = array(gx, 4, gxs), y = array(gy, 2, gys);
  gradcheck(
      sequential(
          "2, 3, 3",
          MASKING ", " DENSE("d1", "2") ", " BN(
              ", 'momentum': 0.9") ", "
                                   "{'class_name': 'Flatten', 'config': {'name': 'fl'}}, " DENSE(
                                       "out", "1"),
          SGD("1.0")),
      &x, &y, 1, 23);
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

/* x -> bn (called with the kwargs `kw`) -> out, Keras 3 Functional; with
 * `twice`, bn is called again on its own output */
static const char *functional_bn(const char *kw, int twice) {
  static char buf[4096];
  const char *t = "{'class_name': '__keras_tensor__', 'config': {'shape': [null, 3], 'dtype': "
                  "'float32', 'keras_history': ['%s', %d, 0]}}";
  char tx[256], tb[256], tb1[256];
  snprintf(tx, sizeof tx, t, "x", 0);
  snprintf(tb, sizeof tb, t, "bn", 0);
  snprintf(tb1, sizeof tb1, t, "bn", 1);
  char second[512] = "";
  if (twice) snprintf(second, sizeof second, ", {'args': [%s], 'kwargs': {}}", tb);
  snprintf(buf, sizeof buf,
           "{'class_name': 'Functional', 'config': {'name': 'f', 'layers': ["
           "{'class_name': 'InputLayer', 'name': 'x', 'config': {'batch_shape': [null, 3], "
           "'name': 'x'}, 'inbound_nodes': []},"
           "{'class_name': 'BatchNormalization', 'name': 'bn', 'config': {'name': 'bn', "
           "'momentum': 0.5}, 'inbound_nodes': [{'args': [%s], 'kwargs': %s}%s]},"
           "{'class_name': 'Dense', 'name': 'out', 'config': {'name': 'out', 'units': 1}, "
           "'inbound_nodes': [{'args': [%s], 'kwargs': {}}]}],"
           "'input_layers': [['x', 0, 0]], 'output_layers': [['out', 0, 0]]}, "
           "'compile_config': " SGD("0.1") "}",
           tx, kw, second, twice ? tb1 : tb);
  return Q(buf);
}

/* a call with training=False runs in inference mode in fit too (Keras 3's
 * explicit call argument): moving statistics unchanged, train loss = test loss */
START_TEST(bn_training_false_call) {
  nnc_model *m = load(functional_bn("{'training': false}", 0));
  float xv[4 * 3], yv[4] = {1, 2, -1, 0};
  fill(xv, 12, 90, 1, 5);
  int64_t xs[2] = {4, 3}, ys[2] = {4, 1};
  nnc_array x = array(xv, 2, xs), y = array(yv, 2, ys);
  double test = batch_loss(m, &x, &y, 0);
  double train = batch_loss(m, &x, &y, 1);
  ck_assert_msg(fabs(test - train) <= 1e-6 * test, "train loss %g, test loss %g", train, test);
  weights w;
  get_all(m, &w);
  for (int c = 0; c < 3; c++) {
    ck_assert(wdata(&w, "bn/moving_mean")[c] == 0.0f);
    ck_assert(wdata(&w, "bn/moving_variance")[c] == 1.0f);
  }
  free_all(&w);
  nnc_model_free(m);
  /* the same model without the argument trains the statistics */
  m = load(functional_bn("{}", 0));
  batch_loss(m, &x, &y, 1);
  get_all(m, &w);
  ck_assert(wdata(&w, "bn/moving_mean")[0] != 0.0f);
  free_all(&w);
  nnc_model_free(m);
}
END_TEST

/* bn called twice in one train step (bn(bn(x)), momentum 0.5): Keras 3
 * chains the updates, the second call reading what the first assigned:
 * m = (m0 / 2 + mean1 / 2) / 2 + mean2 / 2, likewise the variance. By hand
 * for channel 0 = {1, 3, 5, 7} (mean 4, variance 5) and channel 1 =
 * {0, 0, 0, 4} (mean 1, variance 3): the second call sees the first's
 * output, mean 0 and variance v / (v + 0.001); m0 = 0, v0 = 1. */
START_TEST(bn_shared_chains_its_updates) {
  nnc_model *m = load(functional_bn("{}", 1));
  float xv[4 * 3] = {1, 0, 2, 3, 0, 2, 5, 0, 2, 7, 4, 2}, yv[4] = {1, 2, -1, 0};
  int64_t xs[2] = {4, 3}, ys[2] = {4, 1};
  nnc_array x = array(xv, 2, xs), y = array(yv, 2, ys);
  batch_loss(m, &x, &y, 1);
  weights w;
  get_all(m, &w);
  const double mean[2] = {4, 1}, var[2] = {5, 3};
  for (int c = 0; c < 2; c++) {
    double want_mean = 0.25 * mean[c];
    double want_var = 0.25 + 0.25 * var[c] + 0.5 * var[c] / (var[c] + 0.001);
    ck_assert_msg(fabs(wdata(&w, "bn/moving_mean")[c] - want_mean) < 1e-5, "mean[%d] = %g", c,
                  wdata(&w, "bn/moving_mean")[c]);
    ck_assert_msg(fabs(wdata(&w, "bn/moving_variance")[c] - want_var) < 1e-5, "var[%d] = %g", c,
                  wdata(&w, "bn/moving_variance")[c]);
  }
  free_all(&w);
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

/* ---- LayerNormalization, GroupNormalization, UnitNormalization ---- */

#define LAYER(cls, cfg) "{'class_name': '" cls "', 'config': {'name': 'n'" cfg "}}"

/* predictions of Input [4, 3, 4] -> layer -> Flatten against ref(x, w, out) */
typedef void (*norm_ref)(const float *x, weights *w, double *out);

static void check_forward(const char *layer, norm_ref ref, uint64_t seed) {
  nnc_model *m = load(sequential("3, 4", layer, SGD("0.1")));
  enum { B = 4, F = 12 };
  float xv[B * F];
  fill(xv, B * F, seed, -2, 3);
  int64_t xs[3] = {B, 3, 4};
  nnc_array x = array(xv, 3, xs), p = {0};
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &x, NULL, &st) == NNC_OK, "%s", st.message);
  weights w;
  get_all(m, &w);
  for (int i = 0; i < w.n; i++)
    fill(w.w[i].data, nnc_array_count(&w.w[i]), seed + 1 + (uint64_t)i, -1.5, 1.5);
  set_all(m, &w);
  ck_assert_msg(nnc_model_predict(m, &x, 32, &p, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&p), B * F);
  for (int r = 0; r < B; r++) {
    double want[F];
    ref(xv + r * F, &w, want);
    for (int e = 0; e < F; e++) {
      double got = ((float *)p.data)[r * F + e];
      ck_assert_msg(fabs(got - want[e]) <= 2e-5 * (1 + fabs(want[e])),
                    "sample %d [%d]: %g, expected %g", r, e, got, want[e]);
    }
  }
  nnc_array_free(&p);
  free_all(&w);
  nnc_model_free(m);
}

/* normalize the entries idx[0..n) of x into out (biased variance) */
static void normalize_ref(const float *x, const int *idx, int n, double eps, double *out) {
  double mean = 0, var = 0;
  for (int i = 0; i < n; i++) mean += x[idx[i]];
  mean /= n;
  for (int i = 0; i < n; i++) var += pow(x[idx[i]] - mean, 2);
  var /= n;
  for (int i = 0; i < n; i++) out[idx[i]] = (x[idx[i]] - mean) / sqrt(var + eps);
}

/* LayerNormalization(axis=1) of [3, 4]: over the 3 entries of each step t */
static void ln_axis1_ref(const float *x, weights *w, double *out) {
  const float *gamma = wdata(w, "n/gamma"), *beta = wdata(w, "n/beta");
  for (int t = 0; t < 4; t++) {
    int idx[3] = {t, 4 + t, 8 + t};
    normalize_ref(x, idx, 3, 1e-3, out);
    for (int c = 0; c < 3; c++) out[c * 4 + t] = out[c * 4 + t] * gamma[c] + beta[c];
  }
}

/* LayerNormalization(axis=[1, 2]): over all 12 entries, gamma [3, 4] */
static void ln_both_ref(const float *x, weights *w, double *out) {
  int idx[12];
  for (int i = 0; i < 12; i++) idx[i] = i;
  normalize_ref(x, idx, 12, 0.01, out);
  const float *gamma = wdata(w, "n/gamma"), *beta = wdata(w, "n/beta");
  for (int i = 0; i < 12; i++) out[i] = out[i] * gamma[i] + beta[i];
}

/* GroupNormalization(groups=2, axis=-1) of [3 steps, 4 channels]: groups
 * {0, 1} and {2, 3}, each over 3 steps x 2 channels */
static void gn_ref(const float *x, weights *w, double *out) {
  for (int grp = 0; grp < 2; grp++) {
    int idx[6], n = 0;
    for (int t = 0; t < 3; t++)
      for (int k = 0; k < 2; k++) idx[n++] = t * 4 + grp * 2 + k;
    normalize_ref(x, idx, 6, 1e-3, out);
  }
  const float *gamma = wdata(w, "n/gamma"), *beta = wdata(w, "n/beta");
  for (int i = 0; i < 12; i++) out[i] = out[i] * gamma[i % 4] + beta[i % 4];
}

/* GroupNormalization(groups=3, axis=1) of [3 channels, 4 steps]: one
 * channel per group */
static void gn_axis1_ref(const float *x, weights *w, double *out) {
  (void)w; /* center and scale false */
  for (int c = 0; c < 3; c++) {
    int idx[4] = {c * 4, c * 4 + 1, c * 4 + 2, c * 4 + 3};
    normalize_ref(x, idx, 4, 1e-3, out);
  }
}

/* UnitNormalization(axis=1): x / |x| over the 3 entries of each step */
static void unit_ref(const float *x, weights *w, double *out) {
  (void)w;
  for (int t = 0; t < 4; t++) {
    double q = 0;
    for (int c = 0; c < 3; c++) q += (double)x[c * 4 + t] * x[c * 4 + t];
    for (int c = 0; c < 3; c++) out[c * 4 + t] = x[c * 4 + t] / sqrt(fmax(q, 1e-12));
  }
}

START_TEST(forward_values) {
  check_forward(LAYER("LayerNormalization", ", 'axis': 1") ", " FLATTEN, ln_axis1_ref, 70);
  check_forward(LAYER("LayerNormalization", ", 'axis': [1, 2], 'epsilon': 0.01") ", " FLATTEN,
                ln_both_ref, 71);
  check_forward(LAYER("GroupNormalization", ", 'groups': 2") ", " FLATTEN, gn_ref, 72);
  check_forward(LAYER("GroupNormalization",
                      ", 'groups': 3, 'axis': 1, 'center': false, 'scale': false") ", " FLATTEN,
                gn_axis1_ref, 73);
  check_forward(LAYER("UnitNormalization", ", 'axis': 1") ", " FLATTEN, unit_ref, 74);
}
END_TEST

START_TEST(gradients_per_sample_normalizations) {
  float xv[5 * 12], yv[5];
  fill(xv, 60, 80, -2, 3);
  fill(yv, 5, 81, -1, 1);
  int64_t xs[3] = {5, 3, 4}, ys[2] = {5, 1};
  nnc_array x = array(xv, 3, xs), y = array(yv, 2, ys);
  static const char *layers[] = {
      LAYER("LayerNormalization", ", 'axis': 1"),
      LAYER("LayerNormalization", ", 'axis': [1, 2]"),
      LAYER("GroupNormalization", ", 'groups': 2"),
      LAYER("GroupNormalization", ", 'groups': 3, 'axis': 1"),
      LAYER("UnitNormalization", ", 'axis': [1, 2]"),
  };
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    char body[1024];
    /* a Dense before the layer: its gradient flows through the statistics */
    snprintf(body, sizeof body, "%s, %s, %s, %s", DENSE("d1", "4"), layers[i], FLATTEN,
             DENSE("out", "1"));
    gradcheck(sequential("3, 4", body, SGD("1.0")), &x, &y, 0, 90 + i);
  }
}
END_TEST

START_TEST(normalization_refusals) {
  nnc_model *m;
  nnc_status st;
  const char *bad[][2] = {
      {LAYER("LayerNormalization", ", 'rms_scaling': true"), "config.rms_scaling"},
      {LAYER("LayerNormalization", ", 'axis': [1, 1]"), "listed twice"},
      {LAYER("GroupNormalization", ", 'groups': 3"), "cannot be split into 3 groups"},
      {LAYER("UnitNormalization", ", 'axis': 0"), "other than the batch axis"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_eq(
        nnc_model_load_string(sequential("3, 4", bad[i][0], SGD("0.1")), "model.json", &m, &st),
        NNC_ERR_SPEC);
    ck_assert_msg(strstr(st.message, bad[i][1]), "'%s' not in: %s", bad[i][1], st.message);
  }
}
END_TEST

/* ---- noise layers ---- */

/* Input [1, F] (or the given shape) -> noise layer -> Flatten -> Dense(1,
 * no bias, zero kernel), mse with target -0.5 and SGD(1): the prediction
 * is 0, the kernel's gradient 2 (0 - (-0.5)) x_noisy = x_noisy, so one
 * step leaves kernel = -(the noisy input). Returns the noisy values, after
 * checking that predict (inference) is x . kernel: no noise there. */
#define PROBE_HEAD                                                                                 \
  FLATTEN ", {'class_name': 'Dense', 'config': {'name': 'probe', 'units': 1, 'use_bias': false, "  \
          "'kernel_initializer': 'zeros'}}"

static float *noisy_input(const char *shape, const char *layer, float *xv, int rank,
                          const int64_t *xs, uint64_t seed, int threads) {
  char body[1024];
  snprintf(body, sizeof body, "%s, %s", layer, PROBE_HEAD);
  nnc_model *m = load(sequential(shape, body, SGD("1.0")));
  nnc_status st;
  ck_assert(nnc_model_set_seed(m, seed, &st) == NNC_OK);
  ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
  float yv[1] = {-0.5f};
  int64_t ys[2] = {1, 1};
  nnc_array x = array(xv, rank, xs), y = array(yv, 2, ys), k = {0};
  batch_loss(m, &x, &y, 1);
  ck_assert(nnc_model_get_weight(m, "probe/kernel", &k, &st) == NNC_OK);
  int64_t n = nnc_array_count(&k);
  float *out = malloc((size_t)n * sizeof *out);
  for (int64_t i = 0; i < n; i++) out[i] = -((float *)k.data)[i];
  /* inference is the identity: the prediction is x . kernel */
  nnc_array p = {0};
  ck_assert_msg(nnc_model_predict(m, &x, 1, &p, &st) == NNC_OK, "%s", st.message);
  double dot = 0;
  for (int64_t i = 0; i < n; i++) dot += (double)xv[i] * ((float *)k.data)[i];
  ck_assert_msg(fabs(((float *)p.data)[0] - dot) <= 1e-4 * (1 + fabs(dot)),
                "inference: %g, x . kernel %g", ((float *)p.data)[0], dot);
  nnc_array_free(&p);
  nnc_array_free(&k);
  nnc_model_free(m);
  return out;
}

static void moments(const float *v, int n, double *mean, double *var) {
  double s = 0, q = 0;
  for (int i = 0; i < n; i++) s += v[i];
  *mean = s / n;
  for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
  *var = q / n;
}

enum { NF = 4000 };
#define NF_SHAPE "4000"

START_TEST(gaussian_noise_statistics) {
  static float xv[NF];
  for (int i = 0; i < NF; i++) xv[i] = (float)(i % 7) - 3.0f;
  int64_t xs[2] = {1, NF};
  const char *layer = "{'class_name': 'GaussianNoise', 'config': {'name': 'gn', 'stddev': 0.5}}";
  float *v = noisy_input(NF_SHAPE, layer, xv, 2, xs, 1, 1);
  float noise[NF];
  for (int i = 0; i < NF; i++) noise[i] = v[i] - xv[i];
  double mean, var;
  moments(noise, NF, &mean, &var);
  /* 5 standard errors: 0.5 / sqrt(4000) = 0.0079 for the mean, 0.25
   * sqrt(2 / 4000) = 0.0056 for the variance */
  ck_assert_msg(fabs(mean) < 0.04, "noise mean %g", mean);
  ck_assert_msg(fabs(var - 0.25) < 0.03, "noise variance %g", var);
  int beyond = 0; /* a normal: 4.55% beyond 2 stddev; a uniform of this variance: 0% */
  for (int i = 0; i < NF; i++) beyond += fabs(noise[i]) > 1.0;
  ck_assert_msg(beyond > 120 && beyond < 250, "%d of %d beyond 2 stddev", beyond, NF);
  /* the same seed gives the same noise, with one thread or two; another seed another */
  float *same = noisy_input(NF_SHAPE, layer, xv, 2, xs, 1, 2);
  float *other = noisy_input(NF_SHAPE, layer, xv, 2, xs, 2, 1);
  int differ = 0;
  for (int i = 0; i < NF; i++) {
    ck_assert(same[i] == v[i]);
    differ += other[i] != v[i];
  }
  ck_assert_int_gt(differ, NF - 10);
  free(v);
  free(same);
  free(other);
}
END_TEST

START_TEST(gaussian_dropout_statistics) {
  static float xv[NF];
  for (int i = 0; i < NF; i++) xv[i] = 1.0f;
  int64_t xs[2] = {1, NF};
  float *v = noisy_input(NF_SHAPE,
                         "{'class_name': 'GaussianDropout', 'config': {'name': 'gd', 'rate': 0.2}}",
                         xv, 2, xs, 3, 1);
  double mean, var;
  moments(v, NF, &mean, &var); /* x * N(1, 0.2 / 0.8) */
  ck_assert_msg(fabs(mean - 1.0) < 0.04, "factor mean %g", mean);
  ck_assert_msg(fabs(var - 0.25) < 0.03, "factor variance %g", var);
  free(v);
}
END_TEST

START_TEST(alpha_dropout_values) {
  static float xv[NF];
  fill(xv, NF, 5, -1, 1);
  int64_t xs[2] = {1, NF};
  const double rate = 0.3, alpha_p = -1.6732632423543772 * 1.0507009873554805;
  double a = pow((1 - rate) * (1 + rate * alpha_p * alpha_p), -0.5), b = -a * alpha_p * rate;
  float *v =
      noisy_input(NF_SHAPE, "{'class_name': 'AlphaDropout', 'config': {'name': 'ad', 'rate': 0.3}}",
                  xv, 2, xs, 4, 1);
  int dropped = 0;
  for (int i = 0; i < NF; i++) {
    double kept = a * xv[i] + b, gone = a * alpha_p + b;
    int is_kept = fabs(v[i] - kept) <= 1e-5, is_gone = fabs(v[i] - gone) <= 1e-5;
    ck_assert_msg(is_kept || is_gone, "entry %d: %g is neither %g nor %g", i, v[i], kept, gone);
    dropped += is_gone && !is_kept;
  }
  /* 0.3 of 4000 = 1200, standard deviation 29 */
  ck_assert_msg(dropped > 1050 && dropped < 1350, "%d of %d dropped", dropped, NF);
  free(v);
}
END_TEST

/* one draw per (sample, channel): every step of a channel is kept or dropped together */
static void check_spatial(const char *shape, const char *layer, int rank, const int64_t *xs,
                          int channels, int steps, int channels_first) {
  int n = channels * steps;
  float *xv = malloc((size_t)n * sizeof *xv);
  for (int i = 0; i < n; i++) xv[i] = 1.0f;
  float *v = noisy_input(shape, layer, xv, rank, xs, 6, 1);
  int dropped = 0;
  for (int c = 0; c < channels; c++) {
    float first = v[channels_first ? c * steps : c];
    ck_assert_msg(first == 0.0f || first == 2.0f, "channel %d: %g", c, first);
    dropped += first == 0.0f;
    for (int t = 0; t < steps; t++)
      ck_assert(v[channels_first ? c * steps + t : t * channels + c] == first);
  }
  /* rate 0.5 of `channels` */
  ck_assert_msg(abs(2 * dropped - channels) < channels / 5, "%d of %d channels dropped", dropped,
                channels);
  free(v);
  free(xv);
}

START_TEST(spatial_dropout_channels) {
  int64_t s1[3] = {1, 8, 500}, s2[4] = {1, 400, 2, 5}, s3[5] = {1, 2, 2, 2, 500};
  check_spatial("8, 500",
                "{'class_name': 'SpatialDropout1D', 'config': {'name': 'sd', 'rate': 0.5}}", 3, s1,
                500, 8, 0);
  check_spatial("400, 2, 5",
                "{'class_name': 'SpatialDropout2D', 'config': {'name': 'sd', 'rate': 0.5, "
                "'data_format': 'channels_first'}}",
                4, s2, 400, 10, 1);
  check_spatial("2, 2, 2, 500",
                "{'class_name': 'SpatialDropout3D', 'config': {'name': 'sd', 'rate': 0.5}}", 5, s3,
                500, 8, 0);
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
  tcase_add_test(tc, bn_training_false_call);
  tcase_add_test(tc, bn_shared_chains_its_updates);
  suite_add_tcase(s, tc);
  TCase *per = tcase_create("per_sample");
  tcase_set_timeout(per, 120);
  tcase_add_test(per, forward_values);
  tcase_add_test(per, gradients_per_sample_normalizations);
  tcase_add_test(per, normalization_refusals);
  suite_add_tcase(s, per);
  TCase *noise = tcase_create("noise");
  tcase_set_timeout(noise, 120);
  tcase_add_test(noise, gaussian_noise_statistics);
  tcase_add_test(noise, bn_masked_moments);
  tcase_add_test(noise, bn_masked_moments_rank4);
  tcase_add_test(noise, gaussian_dropout_statistics);
  tcase_add_test(noise, alpha_dropout_values);
  tcase_add_test(noise, spatial_dropout_channels);
  suite_add_tcase(s, noise);
  return s;
}

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  return testutil_run(norm_suite());
}
