/* TimeDistributed around any layer (compiler/layers/time_distributed.c).
 *
 * Truth: Keras 3's TimeDistributed.call (layers/rnn/time_distributed.py)
 * calls the inner layer on each step [B, ...] and stacks the results. So a
 * TimeDistributed model's output for sample b, step t equals the plain
 * inner layer's output for the frame x[b, t] with the same weights: the
 * plain model run on x seen as [B*T, ...] (the same memory) is the
 * independent reference. Gradients: one SGD(1) step against central
 * differences of the test loss. Weight names: Keras 3 builds the inner layer
 * in the wrapper's scope (time_distributed/conv2d/kernel). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

static nnc_model *load(const char *json) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "td.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static double pseudo(int64_t i, double freq, double shift) {
  return 0.8 * sin(freq * (double)i + shift);
}

static nnc_array array_of(float *data, int rank, const int64_t *shape) {
  nnc_array a = {.dtype = NNC_F32, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++) a.shape[i] = shape[i];
  return a;
}

static void dims_json(char *buf, size_t size, const char *lead, int rank, const int64_t *d) {
  int n = snprintf(buf, size, "[%s", lead);
  for (int i = 0; i < rank; i++)
    n += snprintf(buf + n, size - (size_t)n, ", %lld", (long long)d[i]);
  snprintf(buf + n, size - (size_t)n, "]");
}

/* inner layer (single-quoted JSON) wrapped in TimeDistributed on
 * [B, steps, rest..] against the plain layer on [B*steps, rest..];
 * none_time: the model declares its time axis None. want_names: the
 * TimeDistributed model's weight names, NULL-terminated. */
static void per_frame_case(const char *inner, int rank, const int64_t *rest, int steps,
                           int none_time, const char *const *want_names) {
  enum { B = 2 };
  char td_shape[128], plain_shape[128], lead[32], a_json[4096], b_json[4096];
  snprintf(lead, sizeof lead, "null, %s", none_time ? "null" : "");
  if (!none_time) snprintf(lead, sizeof lead, "null, %d", steps);
  dims_json(td_shape, sizeof td_shape, lead, rank, rest);
  dims_json(plain_shape, sizeof plain_shape, "null", rank, rest);
  snprintf(a_json, sizeof a_json,
           "{'class_name': 'Sequential', 'config': {'name': 'a', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': %s, 'name': 'x'}},"
           "{'class_name': 'TimeDistributed', 'config': {'name': 'time_distributed', "
           "'layer': %s}}]}}",
           td_shape, inner);
  snprintf(b_json, sizeof b_json,
           "{'class_name': 'Sequential', 'config': {'name': 'b', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': %s, 'name': 'x'}}, %s]}}",
           plain_shape, inner);
  nnc_model *a = load(Q(a_json)), *b = load(Q(b_json));
  int64_t frame = 1;
  for (int i = 0; i < rank; i++) frame *= rest[i];
  int64_t n = B * steps * frame;
  float *x = malloc((size_t)n * sizeof *x);
  for (int64_t e = 0; e < n; e++) x[e] = (float)pseudo(e, 0.73, 0.2);
  int64_t a_dims[8] = {B, steps}, b_dims[8] = {B * steps};
  for (int i = 0; i < rank; i++) a_dims[2 + i] = b_dims[1 + i] = rest[i];
  nnc_array xa = array_of(x, rank + 2, a_dims), xb = array_of(x, rank + 1, b_dims);
  nnc_status st;
  ck_assert_msg(nnc_model_build(a, &xa, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_build(b, &xb, NULL, &st) == NNC_OK, "%s", st.message);
  int nw = nnc_model_weight_count(a);
  ck_assert_int_eq(nw, nnc_model_weight_count(b));
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(a, i);
    if (want_names) ck_assert_str_eq(name, want_names[i]);
    ck_assert_msg(strncmp(name, "time_distributed/", 17) == 0, "%s", name);
    nnc_array w;
    ck_assert_msg(nnc_model_get_weight(a, name, &w, &st) == NNC_OK, "%s", st.message);
    float *v = w.data;
    int positive = strstr(name, "variance") != NULL;
    for (int64_t e = 0; e < nnc_array_count(&w); e++)
      v[e] = (float)(positive ? 0.5 + fabs(pseudo(e, 1.3 + 0.2 * i, 0.4 * i))
                              : pseudo(e, 1.3 + 0.2 * i, 0.4 * i));
    ck_assert_msg(nnc_model_set_weight(a, name, &w, &st) == NNC_OK, "%s", st.message);
    ck_assert_msg(nnc_model_set_weight(b, name + 17, &w, &st) == NNC_OK, "%s: %s", name,
                  st.message);
    nnc_array_free(&w);
  }
  if (want_names) ck_assert_ptr_null(want_names[nw]);
  nnc_array pa, pb;
  ck_assert_msg(nnc_model_predict(a, &xa, B, &pa, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict(b, &xb, B * steps, &pb, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(pa.shape[0], B);
  ck_assert_int_eq(pa.shape[1], steps);
  ck_assert_int_eq(pa.rank, pb.rank + 1);
  for (int i = 2; i < pa.rank; i++) ck_assert_int_eq(pa.shape[i], pb.shape[i - 1]);
  ck_assert_int_eq(nnc_array_count(&pa), nnc_array_count(&pb));
  for (int64_t e = 0; e < nnc_array_count(&pa); e++) {
    float u = ((float *)pa.data)[e], w = ((float *)pb.data)[e];
    ck_assert_msg(fabsf(u - w) <= 1e-5f + 1e-5f * fabsf(w), "%s: y[%lld] = %.7g, per frame %.7g",
                  inner, (long long)e, u, w);
  }
  nnc_array_free(&pa);
  nnc_array_free(&pb);
  free(x);
  nnc_model_free(a);
  nnc_model_free(b);
}

START_TEST(conv2d_equals_the_per_frame_conv) {
  static const char *const names[] = {"time_distributed/conv2d/kernel",
                                      "time_distributed/conv2d/bias", NULL};
  int64_t rest[3] = {5, 5, 2};
  per_frame_case("{'class_name': 'Conv2D', 'config': {'name': 'conv2d', 'filters': 3, "
                 "'kernel_size': [3, 3], 'strides': [2, 1], 'padding': 'same', 'activation': "
                 "'tanh'}}",
                 3, rest, 3, 0, names);
}
END_TEST

START_TEST(other_inner_layers_equal_their_per_frame_calls) {
  int64_t img[3] = {4, 4, 2}, seq[2] = {4, 2}, small[3] = {2, 3, 2};
  per_frame_case("{'class_name': 'MaxPooling2D', 'config': {'name': 'max_pooling2d', "
                 "'pool_size': [2, 2]}}",
                 3, img, 3, 0, NULL);
  per_frame_case("{'class_name': 'Flatten', 'config': {'name': 'flatten'}}", 3, small, 3, 0, NULL);
  per_frame_case("{'class_name': 'GlobalAveragePooling2D', 'config': {'name': 'gap'}}", 3, img, 2,
                 0, NULL);
  per_frame_case("{'class_name': 'Conv1D', 'config': {'name': 'conv1d', 'filters': 2, "
                 "'kernel_size': 2}}",
                 2, seq, 3, 0, NULL);
  /* frozen: inference with the moving statistics, as Keras 3 runs a frozen one */
  static const char *const bn[] = {"time_distributed/batch_normalization/gamma",
                                   "time_distributed/batch_normalization/beta",
                                   "time_distributed/batch_normalization/moving_mean",
                                   "time_distributed/batch_normalization/moving_variance", NULL};
  per_frame_case("{'class_name': 'BatchNormalization', 'config': {'name': "
                 "'batch_normalization', 'trainable': false}}",
                 2, seq, 3, 0, bn);
  /* an LSTM over the inner axis of each step */
  static const char *const lstm[] = {"time_distributed/lstm/lstm_cell/kernel",
                                     "time_distributed/lstm/lstm_cell/recurrent_kernel",
                                     "time_distributed/lstm/lstm_cell/bias", NULL};
  per_frame_case("{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 3}}", 2, seq, 3, 0,
                 lstm);
  /* a TimeDistributed inside: its own scope nests */
  static const char *const nested[] = {"time_distributed/inner/dense/kernel",
                                       "time_distributed/inner/dense/bias", NULL};
  per_frame_case("{'class_name': 'TimeDistributed', 'config': {'name': 'inner', 'layer': "
                 "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 2}}}}",
                 2, seq, 3, 0, nested);
}
END_TEST

/* A None time axis takes each data's length (one program per shape). */
START_TEST(none_time_axis_follows_the_data) {
  int64_t rest[3] = {3, 3, 1};
  const char *conv = "{'class_name': 'Conv2D', 'config': {'name': 'conv2d', 'filters': 2, "
                     "'kernel_size': [2, 2]}}";
  per_frame_case(conv, 3, rest, 2, 1, NULL);
  per_frame_case(conv, 3, rest, 5, 1, NULL);
}
END_TEST

/* Embedding(mask_zero) over [B, T, L] word indices -> TimeDistributed(LSTM): each
 * step's LSTM gets mask[:, t] and skips the padded words, so it equals the
 * plain Embedding -> LSTM on the [B*T, L] sentences. */
START_TEST(an_inner_mask_reaches_each_step) {
  const char *emb = "{'class_name': 'Embedding', 'config': {'name': 'embedding', 'input_dim': 5, "
                    "'output_dim': 2, 'mask_zero': true}}";
  const char *lstm = "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 2}}";
  char a_json[2048], b_json[2048];
  snprintf(a_json, sizeof a_json,
           "{'class_name': 'Sequential', 'config': {'name': 'a', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 4]}}, %s, "
           "{'class_name': 'TimeDistributed', 'config': {'name': 'td', 'layer': %s}}]}}",
           emb, lstm);
  snprintf(b_json, sizeof b_json,
           "{'class_name': 'Sequential', 'config': {'name': 'b', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4]}}, %s, %s]}}",
           emb, lstm);
  nnc_model *a = load(Q(a_json)), *b = load(Q(b_json));
  /* trailing zeros pad the words; one sentence is all padding but its first word */
  float x[24] = {1, 2, 0, 0, 3, 4, 1, 0, 2, 0, 0, 0, 4, 4, 4, 4, 1, 3, 0, 0, 2, 2, 2, 0};
  int64_t ad[3] = {2, 3, 4}, bd[2] = {6, 4};
  nnc_array xa = array_of(x, 3, ad), xb = array_of(x, 2, bd);
  nnc_status st;
  ck_assert_msg(nnc_model_build(a, &xa, NULL, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_build(b, &xb, NULL, &st) == NNC_OK, "%s", st.message);
  const char *an[4] = {"embedding/embeddings", "td/lstm/lstm_cell/kernel",
                       "td/lstm/lstm_cell/recurrent_kernel", "td/lstm/lstm_cell/bias"};
  const char *bn[4] = {"embedding/embeddings", "lstm/lstm_cell/kernel",
                       "lstm/lstm_cell/recurrent_kernel", "lstm/lstm_cell/bias"};
  for (int i = 0; i < 4; i++) {
    nnc_array w;
    ck_assert_msg(nnc_model_get_weight(a, an[i], &w, &st) == NNC_OK, "%s", st.message);
    for (int64_t e = 0; e < nnc_array_count(&w); e++)
      ((float *)w.data)[e] = (float)pseudo(e, 1.7 + 0.3 * i, 0.2 * i);
    ck_assert(nnc_model_set_weight(a, an[i], &w, &st) == NNC_OK);
    ck_assert(nnc_model_set_weight(b, bn[i], &w, &st) == NNC_OK);
    nnc_array_free(&w);
  }
  nnc_array pa, pb;
  ck_assert_msg(nnc_model_predict(a, &xa, 2, &pa, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_predict(b, &xb, 6, &pb, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&pa), 12);
  ck_assert_int_eq(nnc_array_count(&pb), 12);
  for (int e = 0; e < 12; e++)
    ck_assert_msg(fabsf(((float *)pa.data)[e] - ((float *)pb.data)[e]) <= 1e-5f,
                  "y[%d] = %.7g, per sentence %.7g", e, ((float *)pa.data)[e],
                  ((float *)pb.data)[e]);
  nnc_array_free(&pa);
  nnc_array_free(&pb);
  nnc_model_free(a);
  nnc_model_free(b);
}
END_TEST

/* TimeDistributed(Conv2D) -> TimeDistributed(MaxPooling2D) -> TimeDistributed(Flatten) ->
 * LSTM -> Dense, mse, SGD(1): one train step moves each weight by minus its
 * gradient, which must match central differences of the test loss. */
START_TEST(gradients_match_finite_differences) {
  nnc_model *m = load(
      Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 4, 4, 1]}},"
        "{'class_name': 'TimeDistributed', 'config': {'name': 'td_conv', 'layer': {'class_name': "
        "'Conv2D', 'config': {'name': 'conv2d', 'filters': 2, 'kernel_size': [2, 2], "
        "'activation': 'tanh'}}}},"
        "{'class_name': 'TimeDistributed', 'config': {'name': 'td_pool', 'layer': {'class_name': "
        "'MaxPooling2D', 'config': {'name': 'pool', 'pool_size': [2, 2]}}}},"
        "{'class_name': 'TimeDistributed', 'config': {'name': 'td_flat', 'layer': {'class_name': "
        "'Flatten', 'config': {'name': 'flatten'}}}},"
        "{'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 2}},"
        "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}]},"
        "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, "
        "'loss': 'mse'}}"));
  enum { B = 2, N = B * 3 * 16 };
  float x[N], y[B] = {0.7f, -0.4f};
  for (int e = 0; e < N; e++) x[e] = (float)pseudo(e, 0.91, 0.1);
  int64_t xd[5] = {B, 3, 4, 4, 1}, yd[2] = {B, 1};
  nnc_array xa = array_of(x, 5, xd), ya = array_of(y, 2, yd);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_model_weight_count(m), 2 + 3 + 2);
  ck_assert_str_eq(nnc_model_weight_name(m, 0), "td_conv/conv2d/kernel");
  int nw = nnc_model_weight_count(m);
  nnc_array w0[7], w1[7];
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(m, i);
    ck_assert(nnc_model_get_weight(m, name, &w0[i], &st) == NNC_OK);
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++)
      v[e] = (float)pseudo(e, 1.1 + 0.3 * i, 0.5 * i);
    ck_assert(nnc_model_set_weight(m, name, &w0[i], &st) == NNC_OK);
  }
  TEST_LOGS(logs);
  int checked = 0, steep = 0;
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(m, i);
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      float keep = v[e];
      double h = 1e-2, loss[2];
      for (int s = 0; s < 2; s++) {
        v[e] = (float)(keep + (s ? -h : h));
        ck_assert(nnc_model_set_weight(m, name, &w0[i], &st) == NNC_OK);
        ck_assert_msg(nnc_model_test_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
        loss[s] = nnc_logs_get(&logs, "loss");
      }
      v[e] = keep;
      ck_assert(nnc_model_set_weight(m, name, &w0[i], &st) == NNC_OK);
      double fd = (loss[0] - loss[1]) / (2 * h);
      /* the step of this weight (all weights restored, one SGD(1) step) */
      ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
      ck_assert(nnc_model_get_weight(m, name, &w1[i], &st) == NNC_OK);
      double step = (double)keep - (double)((float *)w1[i].data)[e];
      nnc_array_free(&w1[i]);
      for (int j = 0; j < nw; j++) /* undo the step */
        ck_assert(nnc_model_set_weight(m, nnc_model_weight_name(m, j), &w0[j], &st) == NNC_OK);
      ck_assert_msg(fabs(step - fd) <= 2e-4 + 2e-3 * fabs(fd), "%s[%lld]: step %.8g, fd %.8g", name,
                    (long long)e, step, fd);
      checked++;
      steep += fabs(fd) > 1e-3;
    }
  }
  ck_assert_int_gt(steep, checked / 3); /* not a flat loss */
  for (int i = 0; i < nw; i++) nnc_array_free(&w0[i]);
  nnc_model_free(m);
}
END_TEST

static void load_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "td.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "got: %s", st.message);
}

START_TEST(refusals_name_the_layer_and_the_path) {
  /* a nested model inside is supported since session 8 (test_nested_shared) */
  /* Keras 3 passes each step's mask to the inner BatchNormalization (masked moments) */
  load_error(Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
               "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 4]}},"
               "{'class_name': 'Embedding', 'config': {'input_dim': 5, 'output_dim': 2, "
               "'mask_zero': true}},"
               "{'class_name': 'TimeDistributed', 'config': {'name': 'td', 'layer': "
               "{'class_name': 'BatchNormalization', 'config': {}}}}]}}"),
             "$.config.layers[2]: TimeDistributed(BatchNormalization) \"td\" on a masked input");
}
END_TEST

/* TimeDistributed(BatchNormalization(momentum=0.5)) in training on x
 * [B=2, T=2, C=2], worked by hand from Keras 3's loop (each step's
 * layer.call: ops.moments of the step, then moving.assign(moving * momentum
 * + batch * (1 - momentum)), the next step reading the assigned value):
 *   step 0: x[:, 0] = {1, 2}, {3, 6}:   mean {2, 4},   var {1, 4}
 *   step 1: x[:, 1] = {10, -4}, {14, 0}: mean {12, -2}, var {4, 4}
 *   moving_mean     {0, 0} -> {1, 2}    -> {6.5, 0}
 *   moving_variance {1, 1} -> {1, 2.5}  -> {2.5, 3.25}
 * Folding B*T into the batch (tfjs, Keras 2) would give one update to
 * {3.5, 0.5}; steps reading the initial value, {6, -1}. The train-phase
 * loss mse(bn(x), x) uses each step's statistics. */
START_TEST(batch_normalization_in_training_chains_the_step_updates) {
  nnc_model *m = load(
      Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 2, 2]}},"
        "{'class_name': 'TimeDistributed', 'config': {'name': 'td', 'layer': {'class_name': "
        "'BatchNormalization', 'config': {'name': 'bn', 'momentum': 0.5, 'epsilon': 0.001}}}}]},"
        "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 0.0}}, "
        "'loss': 'mse'}}"));
  float x[8] = {1, 2, 10, -4, 3, 6, 14, 0};
  int64_t d[3] = {2, 2, 2};
  nnc_array xa = array_of(x, 3, d);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &xa, &st) == NNC_OK, "%s", st.message);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &xa, &logs, &st) == NNC_OK, "%s", st.message);
  const double mean[2][2] = {{2, 4}, {12, -2}}, var[2][2] = {{1, 4}, {4, 4}};
  double want = 0;
  for (int b = 0; b < 2; b++)
    for (int t = 0; t < 2; t++)
      for (int ch = 0; ch < 2; ch++) {
        double v = x[b * 4 + t * 2 + ch];
        double n = (v - mean[t][ch]) / sqrt(var[t][ch] + 0.001);
        want += (n - v) * (n - v) / 8;
      }
  double loss = nnc_logs_get(&logs, "loss");
  ck_assert_msg(fabs(loss - want) <= 1e-5 * want, "loss %.8g, want %.8g", loss, want);
  const char *names[2] = {"td/bn/moving_mean", "td/bn/moving_variance"};
  const float wants[2][2] = {{6.5f, 0.0f}, {2.5f, 3.25f}};
  for (int k = 0; k < 2; k++) {
    nnc_array w;
    ck_assert_msg(nnc_model_get_weight(m, names[k], &w, &st) == NNC_OK, "%s", st.message);
    for (int ch = 0; ch < 2; ch++)
      ck_assert_msg(fabsf(((float *)w.data)[ch] - wants[k][ch]) <= 1e-6f, "%s[%d] = %.8g, want %g",
                    names[k], ch, ((float *)w.data)[ch], wants[k][ch]);
    nnc_array_free(&w);
  }
  /* inference: the moving statistics, per element */
  nnc_array p;
  ck_assert_msg(nnc_model_predict(m, &xa, 2, &p, &st) == NNC_OK, "%s", st.message);
  for (int e = 0; e < 8; e++) {
    int ch = e % 2;
    double want_y = (x[e] - wants[0][ch]) / sqrt(wants[1][ch] + 0.001);
    ck_assert_msg(fabs(((float *)p.data)[e] - want_y) <= 1e-5, "y[%d] = %.7g, want %.7g", e,
                  ((float *)p.data)[e], want_y);
  }
  nnc_array_free(&p);
  nnc_model_free(m);
}
END_TEST

/* TimeDistributed(BatchNormalization(axis=1)) in training on steps [B, C=2,
 * 3] (the channels not last: the steps and channels are moved together) ->
 * Flatten -> Dense -> mse, SGD(1): one train step moves gamma, beta and the
 * kernel by minus the gradient of the train-phase loss, which must match
 * central differences of that loss (train_on_batch's loss, all weights
 * restored after every call). */
START_TEST(batch_normalization_in_training_gradients_match_finite_differences) {
  nnc_model *m = load(
      Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
        "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 3, 2, 3]}},"
        "{'class_name': 'TimeDistributed', 'config': {'name': 'td', 'layer': {'class_name': "
        "'BatchNormalization', 'config': {'name': 'bn', 'axis': 1, 'momentum': 0.9}}}},"
        "{'class_name': 'Flatten', 'config': {'name': 'flatten'}},"
        "{'class_name': 'Dense', 'config': {'name': 'dense', 'units': 1}}]},"
        "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': 1.0}}, "
        "'loss': 'mse'}}"));
  enum { B = 3, N = B * 3 * 6 };
  float x[N], y[B] = {0.7f, -0.4f, 0.2f};
  for (int e = 0; e < N; e++) x[e] = (float)pseudo(e, 0.91, 0.1);
  int64_t xd[4] = {B, 3, 2, 3}, yd[2] = {B, 1};
  nnc_array xa = array_of(x, 4, xd), ya = array_of(y, 2, yd);
  nnc_status st;
  ck_assert_msg(nnc_model_build(m, &xa, &ya, &st) == NNC_OK, "%s", st.message);
  int nw = nnc_model_weight_count(m);
  ck_assert_int_eq(nw, 6);
  nnc_array w0[6], w1;
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(m, i);
    ck_assert(nnc_model_get_weight(m, name, &w0[i], &st) == NNC_OK);
    float *v = w0[i].data;
    int positive = strstr(name, "variance") != NULL;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++)
      v[e] = (float)(positive ? 0.5 + fabs(pseudo(e, 1.1, 0.5 * i))
                              : pseudo(e, 1.1 + 0.3 * i, 0.5 * i));
    ck_assert(nnc_model_set_weight(m, name, &w0[i], &st) == NNC_OK);
  }
  TEST_LOGS(logs);
  int checked = 0, steep = 0;
  for (int i = 0; i < nw; i++) {
    const char *name = nnc_model_weight_name(m, i);
    if (strstr(name, "moving")) continue;
    float *v = w0[i].data;
    for (int64_t e = 0; e < nnc_array_count(&w0[i]); e++) {
      float keep = v[e];
      double h = 1e-2, loss[2];
      for (int s = 0; s < 3; s++) {
        v[e] = (float)(s == 2 ? keep : keep + (s ? -h : h));
        ck_assert(nnc_model_set_weight(m, name, &w0[i], &st) == NNC_OK);
        ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s",
                      st.message);
        if (s < 2) loss[s] = nnc_logs_get(&logs, "loss");
        if (s == 2) ck_assert(nnc_model_get_weight(m, name, &w1, &st) == NNC_OK);
        v[e] = keep;
        for (int j = 0; j < nw; j++) /* undo the step and the moving updates */
          ck_assert(nnc_model_set_weight(m, nnc_model_weight_name(m, j), &w0[j], &st) == NNC_OK);
      }
      double fd = (loss[0] - loss[1]) / (2 * h);
      double step = (double)keep - (double)((float *)w1.data)[e];
      nnc_array_free(&w1);
      ck_assert_msg(fabs(step - fd) <= 2e-4 + 2e-3 * fabs(fd), "%s[%lld]: step %.8g, fd %.8g", name,
                    (long long)e, step, fd);
      checked++;
      steep += fabs(fd) > 1e-3;
    }
  }
  ck_assert_int_eq(checked, 2 + 2 + 18 + 1);
  ck_assert_int_gt(steep, checked / 3);
  for (int i = 0; i < nw; i++) nnc_array_free(&w0[i]);
  nnc_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("time_distributed");
  TCase *t = tcase_create("core");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, conv2d_equals_the_per_frame_conv);
  tcase_add_test(t, other_inner_layers_equal_their_per_frame_calls);
  tcase_add_test(t, none_time_axis_follows_the_data);
  tcase_add_test(t, an_inner_mask_reaches_each_step);
  tcase_add_test(t, gradients_match_finite_differences);
  tcase_add_test(t, refusals_name_the_layer_and_the_path);
  tcase_add_test(t, batch_normalization_in_training_chains_the_step_updates);
  tcase_add_test(t, batch_normalization_in_training_gradients_match_finite_differences);
  suite_add_tcase(s, t);
  return testutil_run(s);
}
