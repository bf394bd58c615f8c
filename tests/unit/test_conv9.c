/* Pooling on channel vectors (issue 9): POOL and POOL_GRAD run a block of
 * vector-width channels per instruction, then the channels left one by one.
 * Channel counts here are not multiples of 4, 8 or 16, so every width
 * (NNC_VECTOR_WIDTH 4, 8, 16) runs both the vector blocks and the rest.
 * Forward: against a float64 reference by coordinates, and bit-identical
 * between widths. Gradients: Input(4) -> Dense -> Reshape -> the pool ->
 * Flatten -> Dense 1, mse, one SGD(1) step against central differences
 * (gradcheck.c), with overlapping windows (each input entry gets several
 * contributions) and windows cut by the padding. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* the window of output (oh, ow) under TF's padding, entries inside only */
static double ref_pool(const float *x, int H, int W, int C, int r, int oh, int ow, int c, int kh,
                       int kw, int sh, int sw, int same, int is_max) {
  int out_h = same ? (H + sh - 1) / sh : (H - kh) / sh + 1;
  int out_w = same ? (W + sw - 1) / sw : (W - kw) / sw + 1;
  int pad_h = same ? ((out_h - 1) * sh + kh - H) / 2 : 0;
  int pad_w = same ? ((out_w - 1) * sw + kw - W) / 2 : 0;
  if (pad_h < 0) pad_h = 0;
  if (pad_w < 0) pad_w = 0;
  double acc = is_max ? -INFINITY : 0;
  int n = 0;
  for (int i = 0; i < kh; i++)
    for (int j = 0; j < kw; j++) {
      int h = oh * sh - pad_h + i, w = ow * sw - pad_w + j;
      if (h < 0 || h >= H || w < 0 || w >= W) continue;
      double v = x[((r * H + h) * W + w) * C + c];
      acc = is_max ? fmax(acc, v) : acc + v;
      n++;
    }
  return is_max ? acc : acc / n;
}

START_TEST(pool_channel_blocks_against_reference) {
  enum { R = 2, H = 7, W = 6, C = 37 };
  static float x[R * H * W * C];
  for (int i = 0; i < R * H * W * C; i++) x[i] = (float)sin(1.3 * i + 0.2 * (i % 7));
  /* (kh, kw, sh, sw, same) */
  static const int configs[][5] = {{3, 3, 1, 1, 1}, {2, 2, 2, 2, 0}, {3, 2, 2, 1, 1}};
  static const char *const widths[] = {"4", "8", "16"};
  for (int k = 0; k < 3; k++)
    for (int is_max = 0; is_max < 2; is_max++) {
      const int *p = configs[k];
      char layer[512], spec[2048];
      snprintf(layer, sizeof layer,
               "{'class_name': '%s', 'config': {'name': 'p', 'pool_size': [%d, %d], 'strides': "
               "[%d, %d], 'padding': '%s'}}",
               is_max ? "MaxPooling2D" : "AveragePooling2D", p[0], p[1], p[2], p[3],
               p[4] ? "same" : "valid");
      snprintf(spec, sizeof spec,
               "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
               "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 7, 6, 37], "
               "'name': 'in'}}, %s]}}",
               layer);
      float *first = NULL;
      int64_t n = 0;
      for (int wi = 0; wi < 3; wi++) {
        setenv("NNC_VECTOR_WIDTH", widths[wi], 1);
        nnc_model *m;
        nnc_status st;
        ck_assert_msg(nnc_model_load_string(Q(spec), "model.json", &m, &st) == NNC_OK, "%s",
                      st.message);
        nnc_array a = {.dtype = NNC_F32, .rank = 4, .shape = {R, H, W, C}, .data = x}, out;
        ck_assert_msg(nnc_model_predict(m, &a, R, &out, &st) == NNC_OK, "%s", st.message);
        unsetenv("NNC_VECTOR_WIDTH");
        int oh_n = (int)out.shape[1], ow_n = (int)out.shape[2];
        const float *y = out.data;
        for (int r = 0; r < R; r++)
          for (int oh = 0; oh < oh_n; oh++)
            for (int ow = 0; ow < ow_n; ow++)
              for (int c = 0; c < C; c++) {
                double want =
                    ref_pool(x, H, W, C, r, oh, ow, c, p[0], p[1], p[2], p[3], p[4], is_max);
                float got = y[((r * oh_n + oh) * ow_n + ow) * C + c];
                ck_assert_msg(fabs(got - want) <= 1e-6,
                              "%s width %s: [%d,%d,%d,%d]: %.9g, want %.9g", layer, widths[wi], r,
                              oh, ow, c, got, want);
              }
        if (!first) {
          n = nnc_array_count(&out);
          first = malloc((size_t)n * sizeof *first);
          memcpy(first, y, (size_t)n * sizeof *first);
        } else {
          ck_assert_int_eq(nnc_array_count(&out), n);
          ck_assert_msg(!memcmp(first, y, (size_t)n * sizeof *first),
                        "%s: width %s differs from width 4", layer, widths[wi]);
        }
        nnc_array_free(&out);
        nnc_model_free(m);
      }
      free(first);
    }
}
END_TEST

typedef struct grad_case {
  const char *shape; /* the per-sample shape the pool sees */
  int units;         /* its element count */
  const char *layer;
} grad_case;

static const grad_case grad_cases[] = {
    {"2, 3, 17", 102,
     "{'class_name': 'AveragePooling2D', 'config': {'name': 'p', 'pool_size': [2, 3], "
     "'strides': [1, 2], 'padding': 'same'}}"},
    {"3, 3, 17", 153,
     "{'class_name': 'AveragePooling2D', 'config': {'name': 'p', 'pool_size': 2, 'strides': 1}}"},
};

static const char *grad_spec(const grad_case *g) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], 'name': 'in'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'proj', 'units': %d}}, "
           "{'class_name': 'Reshape', 'config': {'name': 'r', 'target_shape': [%s]}}, %s, "
           "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'out', 'units': 1}}]}, "
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "1.0}}, 'loss': 'mse'}}",
           g->units, g->shape, g->layer);
  return Q(buf);
}

/* each average case at widths 16 and 4 against central differences (the
 * max's kinks make differences of this many units unreliable: the max has
 * its own float64 reference below) */
START_TEST(pool_channel_blocks_gradients) {
  const grad_case *g = &grad_cases[_i / 2];
  setenv("NNC_VECTOR_WIDTH", _i % 2 ? "4" : "16", 1);
  gradcheck_opts o = {3, 991 + (uint64_t)_i, -0.4, 0.25, 1.3, 5, 0, 2e-3, 2e-2};
  gradcheck_model_step(grad_spec(g), 4, &o, 1e-3);
  unsetenv("NNC_VECTOR_WIDTH");
}
END_TEST

/* The max pool's gradient against a float64 backward pass: Input(4) ->
 * Dense proj (153, no bias) -> Reshape [3, 3, 17] -> MaxPooling2D 2, stride
 * 1 (overlapping windows: an entry can be the max of up to 4 windows) ->
 * Flatten -> Dense out (1), mse, SGD(1): proj's step is its gradient. */
START_TEST(max_pool_gradient_against_reference) {
  enum { R = 3, IN = 4, H = 3, W = 3, C = 17, U = H * W * C, O = 2 * 2 * C };
  const char *spec = Q("{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
                       "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4]}}, "
                       "{'class_name': 'Dense', 'config': {'name': 'proj', 'units': 153, "
                       "'use_bias': false}}, "
                       "{'class_name': 'Reshape', 'config': {'name': 'r', 'target_shape': [3, 3, "
                       "17]}}, {'class_name': 'MaxPooling2D', 'config': {'name': 'p', "
                       "'pool_size': 2, 'strides': 1}}, "
                       "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
                       "{'class_name': 'Dense', 'config': {'name': 'out', 'units': 1}}]}, "
                       "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': "
                       "{'learning_rate': 1.0}}, 'loss': 'mse'}}");
  static float xv[R * IN], yv[R], wp[IN * U], wo[O], bo[1] = {0.1f};
  for (int i = 0; i < R * IN; i++) xv[i] = (float)sin(0.9 * i + 0.4);
  for (int i = 0; i < R; i++) yv[i] = (float)(0.3 * i - 0.5);
  for (int i = 0; i < IN * U; i++) wp[i] = (float)(0.5 * sin(1.7 * i + 0.1 * (i % 5)));
  for (int i = 0; i < O; i++) wo[i] = (float)(0.3 * cos(0.8 * i));
  static const char *const widths[] = {"4", "16"};
  for (int wi = 0; wi < 2; wi++) {
    setenv("NNC_VECTOR_WIDTH", widths[wi], 1);
    nnc_model *m;
    nnc_status st;
    ck_assert_msg(nnc_model_load_string(spec, "model.json", &m, &st) == NNC_OK, "%s", st.message);
    nnc_array x = testutil_f32(xv, R, IN), y = testutil_f32(yv, R, 1);
    ck_assert_msg(nnc_model_build(m, &x, &y, &st) == NNC_OK, "%s", st.message);
    nnc_array a = {.dtype = NNC_F32, .rank = 2, .shape = {IN, U}, .data = wp};
    ck_assert_msg(nnc_model_set_weight(m, "proj/kernel", &a, &st) == NNC_OK, "%s", st.message);
    nnc_array b = {.dtype = NNC_F32, .rank = 2, .shape = {O, 1}, .data = wo};
    ck_assert_msg(nnc_model_set_weight(m, "out/kernel", &b, &st) == NNC_OK, "%s", st.message);
    nnc_array bb = {.dtype = NNC_F32, .rank = 1, .shape = {1}, .data = bo};
    ck_assert_msg(nnc_model_set_weight(m, "out/bias", &bb, &st) == NNC_OK, "%s", st.message);
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    nnc_array after;
    ck_assert(nnc_model_get_weight(m, "proj/kernel", &after, &st) == NNC_OK);
    unsetenv("NNC_VECTOR_WIDTH");
    /* float64: forward, then dL/dh through each window's first max */
    static double grad[IN * U];
    memset(grad, 0, sizeof grad);
    for (int r = 0; r < R; r++) {
      double h[U], dh[U] = {0}, yhat = bo[0];
      int arg[O];
      for (int u = 0; u < U; u++) {
        h[u] = 0;
        for (int i = 0; i < IN; i++) h[u] += (double)xv[r * IN + i] * wp[i * U + u];
      }
      for (int oh = 0; oh < 2; oh++)
        for (int ow = 0; ow < 2; ow++)
          for (int c = 0; c < C; c++) {
            int o = (oh * 2 + ow) * C + c, best = -1;
            for (int i = 0; i < 2; i++)
              for (int j = 0; j < 2; j++) {
                int u = ((oh + i) * W + ow + j) * C + c;
                if (best < 0 || h[u] > h[best]) best = u;
              }
            arg[o] = best;
            yhat += h[best] * wo[o];
          }
      double dy = 2 * (yhat - yv[r]) / R;
      for (int o = 0; o < O; o++) dh[arg[o]] += dy * wo[o];
      for (int i = 0; i < IN; i++)
        for (int u = 0; u < U; u++) grad[i * U + u] += (double)xv[r * IN + i] * dh[u];
    }
    const float *w1 = after.data;
    int nonzero = 0;
    for (int e = 0; e < IN * U; e++) {
      double step = (double)wp[e] - w1[e];
      nonzero += grad[e] != 0;
      ck_assert_msg(fabs(step - grad[e]) <= 1e-5 * (1 + fabs(grad[e])),
                    "width %s: proj/kernel[%d]: step %.9g, want %.9g", widths[wi], e, step,
                    grad[e]);
    }
    ck_assert_int_gt(nonzero, IN * C);
    nnc_array_free(&after);
    nnc_model_free(m);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("conv9");
  TCase *tc = tcase_create("conv9");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, pool_channel_blocks_against_reference);
  tcase_add_test(tc, max_pool_gradient_against_reference);
  tcase_add_loop_test(tc, pool_channel_blocks_gradients, 0,
                      (int)(2 * sizeof grad_cases / sizeof grad_cases[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
