/* RandomCrop and RandomBrightness (issue 8 item 7), against properties
 * derived from Keras 3's definitions (random_crop.py, random_brightness.py).
 *
 * The train-phase output of the layer is read through one SGD step: the
 * layer feeds Flatten -> Dense(B units, no bias, kernel zeros), loss mse
 * over B samples with targets B^2/2 on the diagonal, learning rate 1. With
 * y = 0 the kernel's column j after the step is exactly sample j's layer
 * output (dL/dy_bj = -2 t_bj / B^2 = -delta_bj). The kernel is zeroed
 * before each step. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json
enum { B = 3 };

/* the layout of the last probe model made (train_outputs feeds it) */
static int probe_channels_first;

/* Input [h, w, 1] (channels_first: [1, h, w]) -> layer -> Flatten ->
 * Dense(B), SGD(1), mse. */
static nnc_model *probe_model_format(int h, int w, const char *layer, int channels_first) {
  char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s%d, %d%s], 'name': "
           "'in'}}, %s, {'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, 'use_bias': false, "
           "'kernel_initializer': 'zeros'}}]}, 'compile_config': {'optimizer': {'class_name': "
           "'SGD', 'config': {'learning_rate': 1.0}}, 'loss': 'mse'}}",
           channels_first ? "1, " : "", h, w, channels_first ? "" : ", 1", layer, B);
  probe_channels_first = channels_first;
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(buf), "model.json", &m, &st) == NNC_OK, "%s", st.message);
  return m;
}

static nnc_model *probe_model(int h, int w, const char *layer) {
  return probe_model_format(h, w, layer, 0);
}

/* One train step on x [B, h, w, 1]; out[j * n + k] = sample j's output k
 * (n = its size). */
static void train_outputs(nnc_model *m, const float *x, int h, int w, int n, float *out) {
  nnc_status st;
  float *zeros = calloc((size_t)n * B, sizeof(float));
  nnc_array k0 = testutil_f32(zeros, n, B);
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k0, &st) == NNC_OK, "%s", st.message);
  float t[B * B] = {0};
  for (int j = 0; j < B; j++) t[j * B + j] = B * B / 2.0f;
  nnc_array xa = {.dtype = NNC_F32, .rank = 4, .shape = {B, h, w, 1}, .data = (void *)x};
  if (probe_channels_first) xa.shape[1] = 1, xa.shape[2] = h, xa.shape[3] = w;
  nnc_array ya = testutil_f32(t, B, B);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &xa, &ya, &logs, &st) == NNC_OK, "%s", st.message);
  nnc_array k;
  ck_assert(nnc_model_get_weight(m, "d/kernel", &k, &st) == NNC_OK);
  for (int j = 0; j < B; j++)
    for (int i = 0; i < n; i++) out[j * n + i] = ((float *)k.data)[i * B + j];
  nnc_array_free(&k);
  free(zeros);
}

/* Input [h, w, 1] -> layer -> Flatten: the layer's inference output. */
static void infer(int h, int w, const char *layer, const float *x, int n, float *out) {
  char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d, %d, 1], 'name': "
           "'in'}}, %s, {'class_name': 'Flatten', 'config': {'name': 'f'}}]}}",
           h, w, layer);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(buf), "model.json", &m, &st) == NNC_OK, "%s", st.message);
  nnc_array xa = {.dtype = NNC_F32, .rank = 4, .shape = {B, h, w, 1}, .data = (void *)x};
  nnc_array y;
  ck_assert_msg(nnc_model_predict(m, &xa, B, &y, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&y), (int64_t)B * n);
  memcpy(out, y.data, (size_t)B * (size_t)n * sizeof(float));
  nnc_array_free(&y);
  nnc_model_free(m);
}

/* distinct values: sample s, row i, column j */
static float pixel(int s, int i, int j) {
  return (float)(100 * s + 10 * i + j);
}

static int close_to(float got, double want) {
  return fabs(got - want) <= 1e-5 * (1 + fabs(want));
}

/* The offset (r, c) at which out (rows x cols) is a sub-window of sample s
 * of an h x w image, or 0 when none. */
static int find_window(const float *out, int s, int rows, int cols, int h, int w, int *r, int *c) {
  for (*r = 0; *r + rows <= h; (*r)++)
    for (*c = 0; *c + cols <= w; (*c)++) {
      int same = 1;
      for (int i = 0; i < rows && same; i++)
        for (int j = 0; j < cols && same; j++)
          same = close_to(out[i * cols + j], pixel(s, *r + i, *c + j));
      if (same) return 1;
    }
  return 0;
}

/* Train phase, input larger on both axes: every output is a window of its
 * sample; the batch shares one window (Keras crops a batch at one place);
 * over the steps every start row 0..H-h and column 0..W-w occurs, and no
 * other. */
START_TEST(random_crop_windows) {
  enum { H = 6, W = 7, CH = 3, CW = 4, N = CH * CW, STEPS = 60 };
  float x[B * H * W], out[B * N];
  for (int s = 0; s < B; s++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) x[(s * H + i) * W + j] = pixel(s, i, j);
  /* _i 1: channels_first [1, H, W] (the same memory with one channel) */
  nnc_model *m = probe_model_format(
      H, W,
      _i ? "{'class_name': 'RandomCrop', 'config': {'name': 'rc', 'height': 3, 'width': 4, "
           "'data_format': 'channels_first'}}"
         : "{'class_name': 'RandomCrop', 'config': {'name': 'rc', 'height': 3, 'width': 4}}",
      _i);
  int seen_r[H] = {0}, seen_c[W] = {0};
  for (int step = 0; step < STEPS; step++) {
    train_outputs(m, x, H, W, N, out);
    int r0 = -1, c0 = -1;
    for (int s = 0; s < B; s++) {
      int r, c;
      ck_assert_msg(find_window(out + s * N, s, CH, CW, H, W, &r, &c),
                    "step %d sample %d: not a window of its image", step, s);
      if (s == 0) r0 = r, c0 = c;
      ck_assert_msg(r == r0 && c == c0, "step %d: sample %d at (%d, %d), sample 0 at (%d, %d)",
                    step, s, r, c, r0, c0);
    }
    seen_r[r0]++, seen_c[c0]++;
  }
  for (int r = 0; r <= H - CH; r++) ck_assert_msg(seen_r[r] > 0, "start row %d never drawn", r);
  for (int c = 0; c <= W - CW; c++) ck_assert_msg(seen_c[c] > 0, "start column %d never drawn", c);
  nnc_model_free(m);
}
END_TEST

/* Inference is CenterCrop's value: the centred box of a larger input, the
 * smart resize of a smaller one; channels_first too. */
START_TEST(random_crop_inference_is_center_crop) {
  enum { H = 6, W = 7 };
  float x[B * H * W], a[B * 64], b[B * 64];
  for (int i = 0; i < B * H * W; i++) x[i] = (float)sin(0.37 * i) * 3.0f;
  const char *sizes[] = {"'height': 3, 'width': 4", "'height': 8, 'width': 3",
                         "'height': 6, 'width': 2", "'height': 6, 'width': 7"};
  const int n[] = {12, 24, 12, 42};
  for (int k = 0; k < 4; k++) {
    char rc[256], cc[256];
    snprintf(rc, sizeof rc, "{'class_name': 'RandomCrop', 'config': {'name': 'l', %s}}", sizes[k]);
    snprintf(cc, sizeof cc, "{'class_name': 'CenterCrop', 'config': {'name': 'l', %s}}", sizes[k]);
    infer(H, W, rc, x, n[k], a);
    infer(H, W, cc, x, n[k], b);
    ck_assert_msg(!memcmp(a, b, (size_t)(B * n[k]) * sizeof(float)), "size %s", sizes[k]);
  }
  /* the centred box by hand: 3 x 4 from 6 x 7 starts at (1, 1) */
  infer(H, W, "{'class_name': 'RandomCrop', 'config': {'name': 'l', 'height': 3, 'width': 4}}", x,
        12, a);
  for (int s = 0; s < B; s++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++)
        ck_assert(a[s * 12 + i * 4 + j] == x[(s * H + 1 + i) * W + 1 + j]);
}
END_TEST

/* Keras's train branch for an input not larger on both axes: start at the
 * centred box of the target's aspect ratio, a target-size slice cut by the
 * border, then a bilinear resize. 4 x 4 to 6 x 3: box height
 * min(int(4 * 6 / 3), 4) = 4 from row 0, width int(4 * 3 / 6) = 2 from
 * column int((4 - 2) / 2) = 1; the slice is rows 0..3, columns 1..3
 * (three: the slice takes the target width 3, not the box's 2), resized
 * 4 -> 6 rows (half-pixel centers). CenterCrop (inference) would resize
 * columns 1..2 instead. */
START_TEST(random_crop_small_input_in_training) {
  enum { H = 4, W = 4, N = 18 };
  float x[B * H * W], out[B * N];
  for (int s = 0; s < B; s++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) x[(s * H + i) * W + j] = pixel(s, i, j);
  nnc_model *m = probe_model(
      H, W, "{'class_name': 'RandomCrop', 'config': {'name': 'rc', 'height': 6, 'width': 3}}");
  train_outputs(m, x, H, W, N, out);
  for (int s = 0; s < B; s++)
    for (int i = 0; i < 6; i++) {
      double src = (i + 0.5) * 4.0 / 6.0 - 0.5;
      double f = floor(src), t = src - f;
      int lo = f < 0 ? 0 : (int)f, hi = (int)f + 1 > H - 1 ? H - 1 : (int)f + 1;
      for (int j = 0; j < 3; j++) {
        double want = pixel(s, lo, 1 + j) + (pixel(s, hi, 1 + j) - pixel(s, lo, 1 + j)) * t;
        ck_assert_msg(close_to(out[s * N + i * 3 + j], want), "sample %d (%d, %d): %g, want %g", s,
                      i, j, out[s * N + i * 3 + j], want);
      }
    }
  nnc_model_free(m);
}
END_TEST

/* Train phase: y = clip(x + delta, value_range), one delta per sample,
 * uniform in [lower, upper] * (high - low); inference the identity (no
 * clip). value_range [10, -10] is sorted to [-10, 10] as Keras sorts it. */
START_TEST(random_brightness) {
  enum { H = 3, W = 4, N = H * W, STEPS = 40 };
  float x[B * N], out[B * N];
  for (int i = 0; i < B * N; i++) x[i] = (float)(9.0 * sin(1.3 * i));
  nnc_model *m = probe_model(H, W,
                             "{'class_name': 'RandomBrightness', 'config': {'name': 'rb', "
                             "'factor': [0.1, 0.3], 'value_range': [10, -10], 'seed': 4}}");
  double lo = 1e9, hi = -1e9;
  int clipped = 0;
  for (int step = 0; step < STEPS; step++) {
    train_outputs(m, x, H, W, N, out);
    for (int s = 0; s < B; s++) {
      double delta = NAN;
      for (int k = 0; k < N; k++) {
        float v = out[s * N + k], xv = x[s * N + k];
        if (v >= 10.0f - 1e-5f) { /* clipped: x + delta reached 10 */
          clipped++;
          continue;
        }
        ck_assert(v > -10.0f);
        if (isnan(delta)) delta = v - xv;
        ck_assert_msg(fabs(v - xv - delta) <= 1e-4, "step %d sample %d: deltas %g and %g", step, s,
                      delta, v - xv);
      }
      ck_assert_msg(delta >= 0.1 * 20 - 1e-4 && delta <= 0.3 * 20 + 1e-4, "delta %g", delta);
      lo = delta < lo ? delta : lo, hi = delta > hi ? delta : hi;
    }
  }
  ck_assert_int_gt(clipped, 0);
  /* the draws spread over the range (120 draws) */
  ck_assert_msg(lo < 2.4 && hi > 5.6, "deltas in [%g, %g]", lo, hi);
  nnc_model_free(m);
  /* inference: x itself, values beyond value_range kept */
  float y[B * N], big[B * N];
  for (int i = 0; i < B * N; i++) big[i] = x[i] * 3.0f;
  infer(H, W, "{'class_name': 'RandomBrightness', 'config': {'name': 'rb', 'factor': 0.5}}", big, N,
        y);
  ck_assert(!memcmp(y, big, sizeof y));
}
END_TEST

/* The same seed trains bit-identically on 1, 2 and 3 threads; another seed
 * draws other windows and deltas. */
static void trained(const char *seed, int threads, float *kernel) {
  enum { H = 5, W = 6, N = 12 };
  char layer[512];
  snprintf(layer, sizeof layer,
           "{'class_name': 'RandomCrop', 'config': {'name': 'rc', 'height': 3, 'width': 4, "
           "'seed': %s}}, {'class_name': 'RandomBrightness', 'config': {'name': 'rb', 'factor': "
           "0.4, 'value_range': [-1, 1], 'seed': %s}}",
           seed, seed);
  nnc_model *m = probe_model(H, W, layer);
  nnc_status st;
  ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
  float x[B * H * W];
  for (int i = 0; i < B * H * W; i++) x[i] = (float)(0.8 * sin(0.9 * i));
  for (int step = 0; step < 3; step++) train_outputs(m, x, H, W, N, kernel + step * B * N);
  nnc_model_free(m);
}

START_TEST(seeded_and_thread_independent) {
  static float one[3 * B * 12], other[3 * B * 12];
  trained("7", 1, one);
  for (int threads = 2; threads <= 3; threads++) {
    trained("7", threads, other);
    ck_assert_msg(!memcmp(one, other, sizeof one), "threads %d differ", threads);
  }
  trained("8", 1, other);
  ck_assert(memcmp(one, other, sizeof one));
}
END_TEST

static void refused(const char *layer, const char *needle) {
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4, 4, 1], 'name': "
           "'in'}}, %s]}}",
           layer);
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(Q(buf), "model.json", &m, &st);
  if (rc == NNC_OK) rc = nnc_model_build(m, NULL, NULL, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, needle) != NULL, "'%s' lacks '%s'", st.message, needle);
  nnc_model_free(m);
}

START_TEST(refusals) {
  refused("{'class_name': 'RandomCrop', 'config': {'name': 'r', 'height': 0, 'width': 2}}",
          "$.config.layers[1].config.height: expected a positive integer");
  refused("{'class_name': 'RandomCrop', 'config': {'name': 'r', 'width': 2}}",
          "$.config.layers[1].config.height: expected a positive integer, got nothing");
  refused("{'class_name': 'RandomBrightness', 'config': {'name': 'r', 'factor': 1.5}}",
          "$.config.layers[1].config.factor: expected a number in [-1, 1]");
  refused("{'class_name': 'RandomBrightness', 'config': {'name': 'r', 'factor': 0.2, "
          "'value_range': [0]}}",
          "$.config.layers[1].config.value_range: expected a list [low, high] of two numbers");
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("crop_brightness");
  TCase *t = tcase_create("layers");
  tcase_add_loop_test(t, random_crop_windows, 0, 2);
  tcase_add_test(t, random_crop_inference_is_center_crop);
  tcase_add_test(t, random_crop_small_input_in_training);
  tcase_add_test(t, random_brightness);
  tcase_add_test(t, seeded_and_thread_independent);
  tcase_add_test(t, refusals);
  tcase_set_timeout(t, 120);
  suite_add_tcase(s, t);
  return testutil_run(s);
}
