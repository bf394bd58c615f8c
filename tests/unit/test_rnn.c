/* The recurrent layers SimpleRNN, LSTM, GRU and Bidirectional through the C API.
 *
 * Predictions equal a float64 reference of Keras 3's cells written here in
 * Keras's weight layouts (kernel [F, G n], recurrent_kernel [n, G n], bias
 * [G n] or GRU reset_after's [2, 3n]; gate order i f c o, z r h), with
 * go_backwards returning the sequence in processed order and Bidirectional
 * flipping the backward one back. Weight names are Keras 3's variable paths;
 * LSTM's bias starts with ones on the forget gate (unit_forget_bias). Training
 * is bit-identical on 1, 2 and 3 threads, and a 100-step sequence compiles to
 * a graph of a few dozen nodes (the loop is one op, not unrolled). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { B = 2, T = 5, F = 3 };

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "rnn.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

/* Input [null, T, F] -> the given layer(s); with SGD(1) + mse when `train`
 * (else only the predict graph is compiled: faster). */
static const char *model_for(const char *layers, int train) {
  static char buf[8192];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d, %d], 'name': 'in'}},"
           "%s]}%s}",
           T, F, layers,
           train ? ", 'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
                   "{'learning_rate': 1.0}}, 'loss': 'mse'}"
                 : "");
  return Q(buf);
}
static const char *model(const char *layers) {
  return model_for(layers, 0);
}

static float xin[B * T * F];

static void set_inputs(void) {
  for (int e = 0; e < B * T * F; e++) xin[e] = (float)sin(0.9 * e + 0.3);
}

/* weight `name` of count values: 0.5 sin(k e + 1) */
static void set_weight(nnc_model *m, const char *name, double k, double *copy, int64_t count) {
  nnc_status st;
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, name, &w, &st) == NNC_OK, "%s: %s", name, st.message);
  ck_assert_int_eq(nnc_array_count(&w), count);
  float *v = w.data;
  for (int64_t e = 0; e < count; e++) {
    v[e] = (float)(0.5 * sin(k * (double)e + 1.0));
    copy[e] = v[e];
  }
  ck_assert_msg(nnc_model_set_weight(m, name, &w, &st) == NNC_OK, "%s", st.message);
  nnc_array_free(&w);
}

/* ---- float64 reference of one layer, Keras layouts ---- */

typedef struct ref_layer {
  int cell; /* 0 SimpleRNN, 1 LSTM, 2 GRU */
  int n, reset_after, backwards;
  double w[F * 16], u[4 * 16], b[2 * 16];
} ref_layer;

static double sigm(double x) {
  return 1 / (1 + exp(-x));
}

/* h of every step in processed order: out[b][s][j] */
static void ref_run(const ref_layer *L, double out[B][T][4]) {
  int n = L->n, g = L->cell == 1 ? 4 : L->cell == 2 ? 3 : 1, gn = g * n;
  for (int b = 0; b < B; b++) {
    double h[4] = {0}, c[4] = {0};
    for (int s = 0; s < T; s++) {
      int t = L->backwards ? T - 1 - s : s;
      double xw[16], hu[16];
      for (int j = 0; j < gn; j++) {
        xw[j] = L->b[j];
        hu[j] = L->cell == 2 && L->reset_after ? L->b[gn + j] : 0;
        for (int f = 0; f < F; f++) xw[j] += xin[(b * T + t) * F + f] * L->w[f * gn + j];
        for (int k = 0; k < n; k++) hu[j] += h[k] * L->u[k * gn + j];
      }
      double hn[4] = {0};
      for (int j = 0; j < n; j++) {
        if (L->cell == 0) {
          hn[j] = tanh(xw[j] + hu[j]);
        } else if (L->cell == 1) {
          double i = sigm(xw[j] + hu[j]), f = sigm(xw[n + j] + hu[n + j]);
          double cc = tanh(xw[2 * n + j] + hu[2 * n + j]), o = sigm(xw[3 * n + j] + hu[3 * n + j]);
          c[j] = f * c[j] + i * cc;
          hn[j] = o * tanh(c[j]);
        } else {
          double z = sigm(xw[j] + hu[j]), r = sigm(xw[n + j] + hu[n + j]), cand = xw[2 * n + j];
          if (L->reset_after) {
            cand += r * hu[2 * n + j];
          } else {
            for (int k = 0; k < n; k++)
              cand += sigm(xw[n + k] + hu[n + k]) * h[k] * L->u[k * gn + 2 * n + j];
          }
          hn[j] = z * h[j] + (1 - z) * tanh(cand);
        }
      }
      memcpy(h, hn, sizeof h);
      for (int j = 0; j < n; j++) out[b][s][j] = h[j];
    }
  }
}

static void set_layer(nnc_model *m, const char *prefix, ref_layer *L, double k) {
  char name[256];
  int g = L->cell == 1 ? 4 : L->cell == 2 ? 3 : 1, gn = g * L->n;
  snprintf(name, sizeof name, "%s/kernel", prefix);
  set_weight(m, name, k, L->w, F * gn);
  snprintf(name, sizeof name, "%s/recurrent_kernel", prefix);
  set_weight(m, name, k + 0.31, L->u, L->n * gn);
  snprintf(name, sizeof name, "%s/bias", prefix);
  set_weight(m, name, k + 0.57, L->b, (L->cell == 2 && L->reset_after ? 2 : 1) * gn);
}

static float *predict(nnc_model *m, int64_t expect) {
  nnc_status st;
  nnc_array x = testutil_f32(xin, B, T * F), y;
  x.rank = 3;
  x.shape[1] = T;
  x.shape[2] = F;
  ck_assert_msg(nnc_model_predict(m, &x, B, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), expect);
  float *v = malloc(sizeof(float) * (size_t)nnc_array_count(&y));
  memcpy(v, y.data, sizeof(float) * (size_t)nnc_array_count(&y));
  nnc_array_free(&y);
  return v;
}

static void near(float got, double want, const char *what, int at) {
  ck_assert_msg(fabs(got - want) <= 2e-6 + 2e-6 * fabs(want), "%s [%d]: %g, expected %g", what, at,
                got, want);
}

/* One layer, return_sequences or not: predictions against the reference. */
static void check_layer(const char *layer, const char *cls, const char *name, const char *cell_name,
                        int cell, int reset_after, int backwards, int seq) {
  set_inputs();
  nnc_model *m = load(model(layer));
  ref_layer L = {.cell = cell, .n = 3, .reset_after = reset_after, .backwards = backwards};
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s/%s", name, cell_name);
  set_layer(m, prefix, &L, 0.7);
  double want[B][T][4];
  ref_run(&L, want);
  float *got = predict(m, seq ? B * T * 3 : B * 3);
  for (int b = 0; b < B; b++)
    for (int s = 0; s < (seq ? T : 1); s++)
      for (int j = 0; j < 3; j++) {
        int at = seq ? (b * T + s) * 3 + j : b * 3 + j;
        near(got[at], want[b][seq ? s : T - 1][j], cls, at);
      }
  free(got);
  nnc_model_free(m);
}

static void check_single(const char *cls, const char *name, const char *cell_name, int cell,
                         int reset_after, int backwards, int seq) {
  char layer[1024];
  snprintf(layer, sizeof layer,
           "{'class_name': '%s', 'config': {'name': '%s', 'units': 3, 'go_backwards': %s, "
           "'return_sequences': %s%s}}",
           cls, name, backwards ? "true" : "false", seq ? "true" : "false",
           cell == 2 ? (reset_after ? ", 'reset_after': true" : ", 'reset_after': false") : "");
  check_layer(layer, cls, name, cell_name, cell, reset_after, backwards, seq);
}

START_TEST(cells_match_the_reference) {
  check_single("SimpleRNN", "simple_rnn", "simple_rnn_cell", 0, 0, 0, 1);
  check_single("LSTM", "lstm", "lstm_cell", 1, 0, 1, 1); /* reversed sequence */
  check_single("GRU", "gru", "gru_cell", 2, 1, 0, 1);
  check_single("GRU", "gru", "gru_cell", 2, 0, 1, 0);
  /* the generic RNN layer around a cell: the cell's keys inside, the layer's outside */
  check_layer("{'class_name': 'RNN', 'config': {'name': 'rnn', 'return_sequences': true, "
              "'cell': {'class_name': 'LSTMCell', 'config': {'units': 3}}}}",
              "RNN", "rnn", "lstm_cell", 1, 0, 0, 1);
}
END_TEST

static void check_bidi(const char *merge, int seq) {
  set_inputs();
  char layer[1024];
  snprintf(layer, sizeof layer,
           "{'class_name': 'Bidirectional', 'config': {'name': 'bidirectional', %s"
           "'layer': {'class_name': 'GRU', 'config': {'name': 'gru', 'units': 3, "
           "'return_sequences': %s}}}}",
           merge, seq ? "true" : "false");
  nnc_model *m = load(model(layer));
  ref_layer f = {.cell = 2, .n = 3, .reset_after = 1}, r = f;
  r.backwards = 1;
  set_layer(m, "bidirectional/forward_gru/gru_cell", &f, 0.7);
  set_layer(m, "bidirectional/backward_gru/gru_cell", &r, 1.3);
  double yf[B][T][4], yr[B][T][4];
  ref_run(&f, yf);
  ref_run(&r, yr);
  int concat = strstr(merge, "concat") || !merge[0], width = concat ? 6 : 3, steps = seq ? T : 1;
  float *got = predict(m, B * steps * width);
  for (int b = 0; b < B; b++)
    for (int s = 0; s < steps; s++)
      for (int j = 0; j < width; j++) {
        /* the backward layer's output at time t is its step T-1-t */
        double a = yf[b][seq ? s : T - 1][j % 3], c = yr[b][seq ? T - 1 - s : T - 1][j % 3];
        double want = concat                   ? (j < 3 ? a : c)
                      : strstr(merge, "'sum'") ? a + c
                      : strstr(merge, "'mul'") ? a * c
                                               : (a + c) / 2;
        near(got[(b * steps + s) * width + j], want, merge, (b * steps + s) * width + j);
      }
  free(got);
  nnc_model_free(m);
}

START_TEST(bidirectional_merges_match_the_reference) {
  check_bidi("", 1);
  check_bidi("'merge_mode': 'mul', ", 1);
  check_bidi("'merge_mode': 'ave', ", 0);
}
END_TEST

START_TEST(weights_are_named_and_initialized_as_keras) {
  nnc_model *m = load(model("{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 2}},"
                            "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}"));
  nnc_status st;
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, "lstm/lstm_cell/bias", &w, &st) == NNC_OK, "%s",
                st.message);
  const float want[8] = {0, 0, 1, 1, 0, 0, 0, 0}; /* unit_forget_bias */
  ck_assert_int_eq(nnc_array_count(&w), 8);
  ck_assert_mem_eq(w.data, want, sizeof want);
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "lstm/lstm_cell/kernel", &w, &st) == NNC_OK);
  ck_assert(w.rank == 2 && w.shape[0] == F && w.shape[1] == 8);
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "lstm/lstm_cell/recurrent_kernel", &w, &st) == NNC_OK);
  ck_assert(w.rank == 2 && w.shape[0] == 2 && w.shape[1] == 8);
  nnc_array_free(&w);
  nnc_model_free(m);
  m = load(model("{'class_name': 'Bidirectional', 'config': {'name': 'bidirectional', "
                 "'layer': {'class_name': 'GRU', 'config': {'name': 'gru', 'units': 2}}}}"));
  ck_assert(nnc_model_get_weight(m, "bidirectional/backward_gru/gru_cell/bias", &w, &st) == NNC_OK);
  ck_assert(w.rank == 2 && w.shape[0] == 2 && w.shape[1] == 6); /* reset_after: [2, 3n] */
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "bidirectional/forward_gru/gru_cell/recurrent_kernel", &w,
                                 &st) == NNC_OK);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

/* Each batch row's loop runs whole on one thread: 1, 2 and 3 threads give
 * bit-identical weights after three steps. */
START_TEST(threads_give_identical_weights) {
  set_inputs();
  float first[3 * 12], y[4] = {0.5f, -0.25f, 1, 0};
  float x4[4 * T * F];
  for (int e = 0; e < 4 * T * F; e++) x4[e] = (float)cos(0.37 * e);
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m = load(model_for(
        "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 3, 'return_sequences': true,"
        " 'dropout': 0.3, 'recurrent_dropout': 0.4}},"
        "{'class_name': 'GRU', 'config': {'name': 'gru', 'units': 3, 'go_backwards': true,"
        " 'dropout': 0.2}},"
        "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}",
        1));
    nnc_status st;
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    nnc_array xa = testutil_f32(x4, 4, T * F), ya = testutil_f32(y, 4, 1), w;
    xa.rank = 3;
    xa.shape[1] = T;
    xa.shape[2] = F;
    TEST_LOGS(logs);
    for (int step = 0; step < 3; step++)
      ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
    ck_assert(nnc_model_get_weight(m, "lstm/lstm_cell/recurrent_kernel", &w, &st) == NNC_OK);
    if (threads == 1)
      memcpy(first, w.data, sizeof first);
    else
      ck_assert_mem_eq(w.data, first, sizeof first);
    nnc_array_free(&w);
    nnc_model_free(m);
  }
}
END_TEST

/* One SGD step on a fixed batch from fixed weights; the LSTM's recurrent
 * kernel after it, and the predictions before it. */
static void lstm_step(const char *rates, float *kernel_after, float *pred_before) {
  char layers[512];
  snprintf(layers, sizeof layers,
           "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 3 %s}},"
           "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}",
           rates);
  nnc_model *m = load(model_for(layers, 1));
  double copy[3 * 12];
  set_weight(m, "lstm/lstm_cell/kernel", 0.7, copy, F * 12);
  set_weight(m, "lstm/lstm_cell/recurrent_kernel", 1.1, copy, 3 * 12);
  float *p = predict(m, B);
  memcpy(pred_before, p, sizeof(float) * B);
  free(p);
  nnc_status st;
  float y[B] = {0.5f, -0.25f};
  nnc_array xa = testutil_f32(xin, B, T * F), ya = testutil_f32(y, B, 1), w;
  xa.rank = 3;
  xa.shape[1] = T;
  xa.shape[2] = F;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_get_weight(m, "lstm/lstm_cell/recurrent_kernel", &w, &st) == NNC_OK);
  memcpy(kernel_after, w.data, sizeof(float) * 3 * 12);
  nnc_array_free(&w);
  nnc_model_free(m);
}

/* dropout and recurrent_dropout act in training only (Keras: `training and
 * 0 < rate < 1`): predictions equal those without them, one training step
 * differs from a step without them, and a rate of 1 draws no mask at all. */
START_TEST(dropout_acts_in_training_only) {
  set_inputs();
  float k0[36], kd[36], kr[36], k1[36], p0[B], pd[B], pr[B], p1[B];
  lstm_step("", k0, p0);
  lstm_step(", 'dropout': 0.5", kd, pd);
  lstm_step(", 'recurrent_dropout': 0.5", kr, pr);
  lstm_step(", 'dropout': 1.0, 'recurrent_dropout': 1.0", k1, p1);
  ck_assert_mem_eq(pd, p0, sizeof p0);
  ck_assert_mem_eq(pr, p0, sizeof p0);
  ck_assert(memcmp(kd, k0, sizeof k0) != 0);
  ck_assert(memcmp(kr, k0, sizeof k0) != 0);
  ck_assert(memcmp(kr, kd, sizeof k0) != 0);
  ck_assert_mem_eq(k1, k0, sizeof k0);
}
END_TEST

enum { DB = 256, DT = 3, DF = 2 };

/* One training step of SimpleRNN(2, linear, no bias) on [DB, DT, DF] with
 * kernel I and recurrent kernel `u` (times I), target 0: the loss is the
 * mean of the last output squared. */
static double drop_loss(const char *rates, double u, float *x) {
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d, %d]}},"
           "{'class_name': 'SimpleRNN', 'config': {'name': 'r', 'units': %d, 'activation': "
           "'linear', 'use_bias': false %s}}]}, 'compile_config': {'optimizer': {'class_name': "
           "'SGD', 'config': {'learning_rate': 0.0}}, 'loss': 'mse'}}",
           DT, DF, DF, rates);
  nnc_model *m = load(Q(buf));
  nnc_status st;
  float id[DF * DF] = {1, 0, 0, 1}, uu[DF * DF] = {(float)u, 0, 0, (float)u};
  nnc_array w = testutil_f32(id, DF, DF), wu = testutil_f32(uu, DF, DF);
  ck_assert_msg(nnc_model_set_weight(m, "r/simple_rnn_cell/kernel", &w, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(nnc_model_set_weight(m, "r/simple_rnn_cell/recurrent_kernel", &wu, &st) == NNC_OK,
                "%s", st.message);
  static float y[DB * DF];
  nnc_array xa = testutil_f32(x, DB, DT * DF), ya = testutil_f32(y, DB, DF);
  xa.rank = 3;
  xa.shape[1] = DT;
  xa.shape[2] = DF;
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  nnc_model_free(m);
  return nnc_logs_get(&logs, "loss");
}

/* The drawn masks, seen through the loss (rate 0.5: an entry is 0 or 2).
 * dropout: x all ones; with U = 0 the last output is the step's mask m, so
 * loss = 4 * kept; with U = I it is the sum of the three steps' masks, 3m
 * when every step reuses one mask (Keras draws it once per sequence), so
 * exactly 9 times the first loss (the same stream gives the same draws).
 * recurrent_dropout: x = 1 at step 0 only, U = I: h_2 = m * m = 4 where
 * kept when the mask is reused (loss = 16 * kept), 4 with probability 1/4
 * with fresh masks (16 * 1/4). The kept share of DB * DF = 512 draws lies
 * within 5 binomial standard deviations of 1/2. */
START_TEST(dropout_masks_are_drawn_once_per_sequence) {
  static float ones[DB * DT * DF], first[DB * DT * DF];
  for (int e = 0; e < DB * DT * DF; e++) ones[e] = 1, first[e] = e % (DT * DF) < DF ? 1.0f : 0.0f;
  double tol = 5 * sqrt(0.25 / (DB * DF));
  double l0 = drop_loss(", 'dropout': 0.5", 0.0, ones);
  double l1 = drop_loss(", 'dropout': 0.5", 1.0, ones);
  ck_assert_msg(fabs(l0 / 4 - 0.5) <= tol, "input dropout kept %g", l0 / 4);
  ck_assert_msg(fabs(l1 - 9 * l0) <= 1e-5 * l1, "input masks differ across steps: %g vs 9 * %g", l1,
                l0);
  double lr = drop_loss(", 'recurrent_dropout': 0.5", 1.0, first);
  ck_assert_msg(fabs(lr / 16 - 0.5) <= tol, "recurrent dropout kept %g", lr / 16);
  /* the setups without rates: every last output is 1 */
  ck_assert(fabs(drop_loss("", 0.0, ones) - 1.0) < 1e-6);
  ck_assert(fabs(drop_loss("", 1.0, first) - 1.0) < 1e-6);
}
END_TEST

/* 100 steps: the train graph holds one rnn and one rnn_grad node per layer,
 * not a copy of the cell per step. */
START_TEST(long_sequences_are_not_unrolled) {
  const char *json = Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
                       "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 100, 4]}},"
                       "{'class_name': 'LSTM', 'config': {'units': 8}},"
                       "{'class_name': 'Dense', 'config': {'units': 1}}]},"
                       "'compile_config': {'optimizer': 'adam', 'loss': 'mse'}}");
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "long.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.emit_only = 1;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  const nnc_graph *g = &c.graphs[NNC_GRAPH_TRAIN];
  int rnn = 0, grad = 0;
  for (int i = 0; i < g->n; i++) {
    rnn += g->nodes[i].op == NNC_OP_RNN;
    grad += g->nodes[i].op == NNC_OP_RNN_GRAD;
  }
  ck_assert_int_eq(rnn, 1);
  ck_assert_int_eq(grad, 1);
  ck_assert_msg(g->n < 150, "the train graph has %d nodes", g->n);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
}
END_TEST

/* An LSTM with recurrent_activation `ra` ("" : the key absent) in a file of
 * `version` (keras_version): its predictions on xin. */
static float *lstm_predict(const char *version, const char *ra) {
  char buf[2048], key[128] = "";
  if (ra[0]) snprintf(key, sizeof key, ", 'recurrent_activation': '%s'", ra);
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'keras_version': '%s', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 3, "
           "'batch_input_shape': [null, %d, %d], 'return_sequences': true%s}}]}}",
           version, T, F, key);
  nnc_model *m = load(Q(buf));
  float *y = predict(m, B * T * 3);
  nnc_model_free(m);
  return y;
}

/* tfjs's LSTM defaults to hardSigmoid; Keras 2 and tfjs files mean Keras 2's
 * hard_sigmoid (clip(0.2 x + 0.5)), Keras 3 files relu6(x + 3) / 6. */
START_TEST(recurrent_activation_defaults_and_hard_sigmoid_by_format) {
  set_inputs();
  size_t size = sizeof(float) * B * T * 3;
  float *tfjs_default = lstm_predict("tfjs-layers 4.22.0", "");
  float *tfjs_hard = lstm_predict("tfjs-layers 4.22.0", "hard_sigmoid");
  float *tfjs_sigmoid = lstm_predict("tfjs-layers 4.22.0", "sigmoid");
  float *k2_hard = lstm_predict("2.12.0", "hard_sigmoid");
  float *k3_hard = lstm_predict("3.6.0", "hard_sigmoid");
  ck_assert_mem_eq(tfjs_default, tfjs_hard, size);
  ck_assert_mem_eq(k2_hard, tfjs_hard, size);
  ck_assert(memcmp(tfjs_default, tfjs_sigmoid, size) != 0);
  ck_assert(memcmp(k3_hard, k2_hard, size) != 0);
  free(tfjs_default), free(tfjs_hard), free(tfjs_sigmoid), free(k2_hard), free(k3_hard);
}
END_TEST

static void refused(const char *layers, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(model(layers), "rnn.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

START_TEST(unsupported_configs_are_refused_by_key) {
  refused("{'class_name': 'LSTM', 'config': {'units': 2, 'stateful': true}}",
          "$.config.layers[1].config.stateful: a stateful recurrent layer");
  refused("{'class_name': 'GRU', 'config': {'units': 2, 'recurrent_dropout': 1.5}}",
          "$.config.layers[1].config.recurrent_dropout: recurrent_dropout must be a number in");
  refused("{'class_name': 'SimpleRNN', 'config': {'units': 2, 'activation': 'softmax'}}",
          "$.config.layers[1].config.activation: activation softmax is not supported");
  refused("{'class_name': 'Bidirectional', 'config': {'layer': {'class_name': 'Dense', "
          "'config': {'units': 2}}}}",
          "$.config.layers[1].config.layer: Bidirectional wraps an LSTM, GRU or SimpleRNN");
  refused("{'class_name': 'RNN', 'config': {'cell': [{'class_name': 'LSTMCell', 'config': "
          "{'units': 2}}]}}",
          "$.config.layers[1].config.cell: the RNN layer is supported with one SimpleRNNCell");
  refused("{'class_name': 'Bidirectional', 'config': {'merge_mode': 'max', 'layer': "
          "{'class_name': 'GRU', 'config': {'units': 2}}}}",
          "$.config.layers[1].config.merge_mode");
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("rnn");
  TCase *tc = tcase_create("rnn");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, cells_match_the_reference);
  tcase_add_test(tc, bidirectional_merges_match_the_reference);
  tcase_add_test(tc, weights_are_named_and_initialized_as_keras);
  tcase_add_test(tc, threads_give_identical_weights);
  tcase_add_test(tc, long_sequences_are_not_unrolled);
  tcase_add_test(tc, dropout_acts_in_training_only);
  tcase_add_test(tc, dropout_masks_are_drawn_once_per_sequence);
  tcase_add_test(tc, unsupported_configs_are_refused_by_key);
  tcase_add_test(tc, recurrent_activation_defaults_and_hard_sigmoid_by_format);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
