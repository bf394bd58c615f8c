/* The recurrence ops' register tiles (codegen/emit_rnn.c) under every way a
 * batch splits between threads. A thread runs its rows in tiles of 6, then
 * 4, 2 and 1 rows: a batch of 7 on 1 thread uses tiles of 6 and 1, on 2
 * threads (rows 0-3 and 4-6) 4, 2 and 1, on 3 and 4 threads 2 and 1; a batch
 * of 5 on 1 thread uses 4 and 1. The sequences are 140 steps long so that
 * the rnn and rnn_grad groups have enough work to be split between threads
 * at all (the driver runs a group under SERIAL_WORK on one thread, which is
 * why a 3-step test on 1-3 threads missed a wrong row in the 4-row tile).
 * For SimpleRNN and LSTM with 17 units (a 16-wide vector strip plus a single
 * unit) and a GRU, on 1 to 4 threads:
 *   - predictions for batches of 7 and 5 equal a float64 reference of Keras
 *     3's cells computed here from the model's weights (a wrong row, unit or
 *     gate in any forward tile shows here);
 *   - after two training steps on the batch of 7 the recurrent kernel is
 *     bit-identical to the one of 1 thread (the backward tiles: a row's
 *     gradient must not depend on the tile it falls in). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { T = 140, F = 2, N = 17, MAXB = 7 };

static const char *model_json(const char *layer) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d, %d], 'name': 'in'}},"
           "%s, {'class_name': 'Dense', 'config': {'name': 'd', 'units': 1}}]},"
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
           "{'learning_rate': 0.5}}, 'loss': 'mse'}}",
           T, F, layer);
  return Q(buf);
}

static const char *layers[3] = {"{'class_name': 'SimpleRNN', 'config': {'name': 'r', 'units': 17}}",
                                "{'class_name': 'LSTM', 'config': {'name': 'r', 'units': 17}}",
                                "{'class_name': 'GRU', 'config': {'name': 'r', 'units': 17}}"};
static const char *cell_path[3] = {"r/simple_rnn_cell", "r/lstm_cell", "r/gru_cell"};

static float *weight(nnc_model *m, const char *name, int64_t count) {
  nnc_status st;
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, name, &w, &st) == NNC_OK, "%s: %s", name, st.message);
  ck_assert_int_eq(nnc_array_count(&w), count);
  float *v = malloc(sizeof(float) * (size_t)count);
  memcpy(v, w.data, sizeof(float) * (size_t)count);
  nnc_array_free(&w);
  return v;
}

/* weights 0.4 sin(k e + 1): the same start for every thread count */
static void set_weight(nnc_model *m, const char *name, double k) {
  nnc_status st;
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, name, &w, &st) == NNC_OK, "%s", st.message);
  float *v = w.data;
  for (int64_t e = 0; e < nnc_array_count(&w); e++) v[e] = (float)(0.4 * sin(k * (double)e + 1.0));
  ck_assert_msg(nnc_model_set_weight(m, name, &w, &st) == NNC_OK, "%s", st.message);
  nnc_array_free(&w);
}

static double sigm(double x) {
  return 1 / (1 + exp(-x));
}

/* float64 reference: the Dense output for each row (Keras 3 cells, gate
 * order i f c o and z r h, GRU reset_after with bias [2, 3n]) */
static void reference(int cell, nnc_model *m, const float *x, int rows, double *y) {
  int g = cell == 1 ? 4 : cell == 2 ? 3 : 1, gn = g * N;
  char name[96];
  snprintf(name, sizeof name, "%s/kernel", cell_path[cell]);
  float *w = weight(m, name, F * gn);
  snprintf(name, sizeof name, "%s/recurrent_kernel", cell_path[cell]);
  float *u = weight(m, name, N * gn);
  snprintf(name, sizeof name, "%s/bias", cell_path[cell]);
  float *b = weight(m, name, cell == 2 ? 2 * gn : gn);
  float *dk = weight(m, "d/kernel", N), *db = weight(m, "d/bias", 1);
  for (int r = 0; r < rows; r++) {
    double h[N] = {0}, c[N] = {0};
    for (int t = 0; t < T; t++) {
      double xp[4 * N], rec[4 * N], hn[N];
      for (int j = 0; j < gn; j++) {
        xp[j] = b[j];
        for (int k = 0; k < F; k++) xp[j] += x[(r * T + t) * F + k] * w[k * gn + j];
        rec[j] = cell == 2 ? b[gn + j] : 0;
        for (int k = 0; k < N; k++) rec[j] += h[k] * u[k * gn + j];
      }
      for (int j = 0; j < N; j++) {
        if (cell == 0) {
          hn[j] = tanh(xp[j] + rec[j]);
        } else if (cell == 1) {
          double i = sigm(xp[j] + rec[j]), f = sigm(xp[N + j] + rec[N + j]);
          double cc = tanh(xp[2 * N + j] + rec[2 * N + j]),
                 o = sigm(xp[3 * N + j] + rec[3 * N + j]);
          c[j] = f * c[j] + i * cc;
          hn[j] = o * tanh(c[j]);
        } else {
          double z = sigm(xp[j] + rec[j]), rr = sigm(xp[N + j] + rec[N + j]);
          double hh = tanh(xp[2 * N + j] + rr * rec[2 * N + j]);
          hn[j] = z * h[j] + (1 - z) * hh;
        }
      }
      memcpy(h, hn, sizeof h);
    }
    y[r] = db[0];
    for (int j = 0; j < N; j++) y[r] += h[j] * dk[j];
  }
  free(w), free(u), free(b), free(dk), free(db);
}

static nnc_model *load(int cell) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(model_json(layers[cell]), "tiles.json", &m, &st) == NNC_OK,
                "%s", st.message);
  return m;
}

/* the same starting weights for every thread count */
static void reset(nnc_model *m, int cell) {
  char name[96];
  const char *w[3] = {"kernel", "recurrent_kernel", "bias"};
  for (int k = 0; k < 3; k++) {
    snprintf(name, sizeof name, "%s/%s", cell_path[cell], w[k]);
    set_weight(m, name, 0.7 + 0.31 * k);
  }
  set_weight(m, "d/kernel", 0.9);
  set_weight(m, "d/bias", 0.5);
}

static void check_predictions(int cell, nnc_model *m, float *x, int rows, int threads) {
  nnc_status st;
  nnc_array xa = testutil_f32(x, rows, T * F), pred;
  xa.rank = 3, xa.shape[1] = T, xa.shape[2] = F;
  ck_assert_msg(nnc_model_predict(m, &xa, rows, &pred, &st) == NNC_OK, "%s", st.message);
  double want[MAXB];
  reference(cell, m, x, rows, want);
  const float *p = pred.data;
  for (int r = 0; r < rows; r++)
    ck_assert_msg(fabs(p[r] - want[r]) <= 2e-6 + 2e-6 * fabs(want[r]),
                  "%s, batch %d, %d threads, row %d: %.9g, float64 %.9g", layers[cell], rows,
                  threads, r, (double)p[r], want[r]);
  nnc_array_free(&pred);
}

START_TEST(tiles_match_reference_and_threads) {
  int cell = _i;
  nnc_status st;
  static float x[MAXB * T * F];
  float yv[MAXB], *first = NULL;
  for (int e = 0; e < MAXB * T * F; e++)
    x[e] = (float)(1.3 * sin(0.77 * e + 0.2) * (e % 7 == 0 ? 2.0 : 0.5));
  for (int r = 0; r < MAXB; r++) yv[r] = (float)(0.3 * r - 0.5);
  char name[96];
  snprintf(name, sizeof name, "%s/recurrent_kernel", cell_path[cell]);
  int gn = (cell == 1 ? 4 : cell == 2 ? 3 : 1) * N;
  nnc_model *m = load(cell);
  for (int threads = 1; threads <= 4; threads++) {
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    reset(m, cell);
    check_predictions(cell, m, x, MAXB, threads);
    check_predictions(cell, m, x, 5, threads);
    nnc_array xa = testutil_f32(x, MAXB, T * F), ya = testutil_f32(yv, MAXB, 1);
    xa.rank = 3, xa.shape[1] = T, xa.shape[2] = F;
    TEST_LOGS(logs);
    for (int step = 0; step < 2; step++)
      ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    float *u = weight(m, name, N * gn);
    if (threads == 1) {
      first = u;
      continue;
    }
    int e = 0;
    while (e < N * gn && !memcmp(&u[e], &first[e], sizeof(float))) e++;
    ck_assert_msg(e == N * gn, "%s: %d threads give %a at %d, 1 thread %a", layers[cell], threads,
                  (double)(e < N * gn ? u[e] : 0), e, (double)(e < N * gn ? first[e] : 0));
    free(u);
  }
  free(first);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn_tiles");
  TCase *tc = tcase_create("rnn_tiles");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, tiles_match_reference_and_threads, 0, 3);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
