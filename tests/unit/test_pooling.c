/* The pooling and resampling layers (issue 8): MaxPooling, AveragePooling,
 * GlobalMax/AveragePooling, ZeroPadding, Cropping, UpSampling in 1D/2D/3D
 * and both data formats.
 *
 * Forward: small inputs whose outputs are derived by hand from Keras's
 * definitions ('same' windows cut at the border and averaged over the
 * entries inside, as tf.nn.avg_pool; bilinear with half-pixel centers, as
 * tf.image.resize).
 * Gradients: Input(4) -> Dense (linear) -> Reshape -> the layer -> Flatten ->
 * Dense 1, mse; one SGD(1) step against central differences (gradcheck.c),
 * so every weight of the first Dense is checked through the layer, at
 * borders, strides different from the window and every data format. The
 * inputs give no ties within the difference step. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* A Sequential predict-only model: Input(shape) -> layer. */
static const char *forward_spec(const char *shape, const char *layer) {
  static char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}}, "
           "%s]}}",
           shape, layer);
  return Q(buf);
}

/* predict on rows x (per-sample dims) and compare with want (n_want values) */
static void check_forward(const char *shape, const char *layer, const float *x, int rank,
                          const int64_t *dims, const float *want, int n_want,
                          const int64_t *out_dims, int out_rank) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(forward_spec(shape, layer), "model.json", &m, &st) == NNC_OK,
                "%s", st.message);
  nnc_array a = {.dtype = NNC_F32, .rank = rank + 1, .data = (void *)x};
  a.shape[0] = 1;
  for (int k = 0; k < rank; k++) a.shape[k + 1] = dims[k];
  nnc_array out;
  ck_assert_msg(nnc_model_predict(m, &a, 8, &out, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(out.rank, out_rank + 1);
  for (int k = 0; k < out_rank; k++) ck_assert_int_eq(out.shape[k + 1], out_dims[k]);
  ck_assert_int_eq(nnc_array_count(&out), n_want);
  for (int i = 0; i < n_want; i++)
    ck_assert_msg(fabs(((float *)out.data)[i] - want[i]) <= 1e-6 * (1 + fabs(want[i])),
                  "entry %d: got %.9g, want %.9g", i, ((float *)out.data)[i], want[i]);
  nnc_array_free(&out);
  nnc_model_free(m);
}

START_TEST(average_1d_same_divides_by_the_entries_inside) {
  /* [1..5], pool 2, stride 2, same: out ceil(5/2) = 3, padding 1 after:
   * windows [1,2], [3,4], [5] -> 1.5, 3.5, 5 (not 2.5: the pad is no entry) */
  float x[] = {1, 2, 3, 4, 5}, want[] = {1.5f, 3.5f, 5};
  int64_t d[] = {5, 1}, o[] = {3, 1};
  check_forward("5, 1",
                "{'class_name': 'AveragePooling1D', 'config': {'name': 'p', 'pool_size': 2, "
                "'strides': 2, 'padding': 'same'}}",
                x, 2, d, want, 3, o, 2);
}
END_TEST

START_TEST(max_1d_valid_strides) {
  /* pool 3, stride 2, valid over 11 steps: (11 - 3) / 2 + 1 = 5 windows
   * starting at 0, 2, 4, 6, 8 */
  float x[] = {1, 5, 2, 7, 3, 0, 9, 1, 2, 8, 4}, want[] = {5, 7, 9, 9, 8};
  int64_t d[] = {11, 1}, o[] = {5, 1};
  check_forward("11, 1",
                "{'class_name': 'MaxPooling1D', 'config': {'name': 'p', 'pool_size': [3], "
                "'strides': [2]}}",
                x, 2, d, want, 5, o, 2);
}
END_TEST

START_TEST(average_2d_same_stride_1) {
  /* 3x3, pool 2, stride 1, same: padding 0 before, 1 after on both axes;
   * the last row/column windows hold 2 entries, the corner 1 */
  float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  float want[] = {3, 4, 4.5f, 6, 7, 7.5f, 7.5f, 8.5f, 9};
  int64_t d[] = {3, 3, 1}, o[] = {3, 3, 1};
  check_forward("3, 3, 1",
                "{'class_name': 'AveragePooling2D', 'config': {'name': 'p', 'pool_size': [2, 2], "
                "'strides': [1, 1], 'padding': 'same'}}",
                x, 3, d, want, 9, o, 3);
}
END_TEST

START_TEST(max_2d_same_pads_before_and_channels_first) {
  /* channels_first [2 channels, 1, 4], pool (1, 3), stride (1, 1), same:
   * padding 1 before, 1 after: windows [_,a0,a1], [a0,a1,a2], [a1,a2,a3], [a2,a3,_] */
  float x[] = {3, -1, 4, 1, -5, -9, -2, -6};
  float want[] = {3, 4, 4, 4, -5, -2, -2, -2};
  int64_t d[] = {2, 1, 4}, o[] = {2, 1, 4};
  check_forward("2, 1, 4",
                "{'class_name': 'MaxPooling2D', 'config': {'name': 'p', 'pool_size': [1, 3], "
                "'strides': [1, 1], 'padding': 'same', 'data_format': 'channels_first'}}",
                x, 3, d, want, 8, o, 3);
}
END_TEST

START_TEST(average_3d_same) {
  /* [2,2,2,1] = 1..8, pool (2,1,2), stride 1, same: padding after only */
  float x[] = {1, 2, 3, 4, 5, 6, 7, 8}, want[] = {3.5f, 4, 5.5f, 6, 5.5f, 6, 7.5f, 8};
  int64_t d[] = {2, 2, 2, 1}, o[] = {2, 2, 2, 1};
  check_forward("2, 2, 2, 1",
                "{'class_name': 'AveragePooling3D', 'config': {'name': 'p', 'pool_size': [2, 1, "
                "2], 'strides': [1, 1, 1], 'padding': 'same'}}",
                x, 4, d, want, 8, o, 4);
}
END_TEST

START_TEST(global_pooling) {
  float x[] = {1, -2, 4, 8, -3, 0}; /* [3 steps, 2 channels] */
  int64_t d[] = {3, 2}, o1[] = {2}, o2[] = {1, 2};
  float mean[] = {2.0f / 3, 2}, max[] = {4, 8};
  check_forward("3, 2", "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'g'}}", x, 2,
                d, mean, 2, o1, 1);
  check_forward("3, 2",
                "{'class_name': 'GlobalMaxPooling1D', 'config': {'name': 'g', 'keepdims': true}}",
                x, 2, d, max, 2, o2, 2);
  /* channels_first: [2 channels, 3 steps] */
  float cf_mean[] = {(1 - 2 + 4) / 3.0f, (8 - 3 + 0) / 3.0f};
  check_forward("2, 3",
                "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'g', "
                "'data_format': 'channels_first'}}",
                x, 2, (int64_t[]){2, 3}, cf_mean, 2, o1, 1);
}
END_TEST

START_TEST(padding_and_cropping) {
  float x[] = {1, 2, 3, 4, 5, 6}; /* [2, 3, 1] */
  int64_t d[] = {2, 3, 1};
  /* ZeroPadding2D(((1, 0), (0, 1))): a zero row on top, a zero column right */
  float pad[] = {0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0};
  check_forward("2, 3, 1",
                "{'class_name': 'ZeroPadding2D', 'config': {'name': 'z', 'padding': [[1, 0], [0, "
                "1]]}}",
                x, 3, d, pad, 12, (int64_t[]){3, 4, 1}, 3);
  /* Cropping2D(((1, 0), (1, 1))): row 1, column 1 */
  float crop[] = {5};
  check_forward("2, 3, 1",
                "{'class_name': 'Cropping2D', 'config': {'name': 'c', 'cropping': [[1, 0], [1, "
                "1]]}}",
                x, 3, d, crop, 1, (int64_t[]){1, 1, 1}, 3);
  /* Cropping1D((1, 2)) over 6 steps of 1 channel */
  float c1[] = {2, 3, 4};
  check_forward("6, 1", "{'class_name': 'Cropping1D', 'config': {'name': 'c', 'cropping': [1, 2]}}",
                x, 2, (int64_t[]){6, 1}, c1, 3, (int64_t[]){3, 1}, 2);
}
END_TEST

START_TEST(up_sampling) {
  float x[] = {1, 2, 3, 4}; /* [2, 2, 1] */
  int64_t d[] = {2, 2, 1};
  float nearest[] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  check_forward("2, 2, 1",
                "{'class_name': 'UpSampling2D', 'config': {'name': 'u', 'size': [2, 3]}}", x, 3, d,
                nearest, 24, (int64_t[]){4, 6, 1}, 3);
  /* bilinear x2, half-pixel centers: along an axis [a, b] -> [a, .75a + .25b,
   * .25a + .75b, b] (sources -0.25 clamped, 0.25, 0.75, 1.25 clamped) */
  float bilinear[] = {1,    1.25f, 1.75f, 2,    1.5f, 1.75f, 2.25f, 2.5f,
                      2.5f, 2.75f, 3.25f, 3.5f, 3,    3.25f, 3.75f, 4};
  check_forward("2, 2, 1",
                "{'class_name': 'UpSampling2D', 'config': {'name': 'u', 'size': 2, "
                "'interpolation': 'bilinear'}}",
                x, 3, d, bilinear, 16, (int64_t[]){4, 4, 1}, 3);
  float up1[] = {1, 2, 1, 2, 3, 4, 3, 4}; /* UpSampling1D(2) of [2 steps, 2 channels] */
  check_forward("2, 2", "{'class_name': 'UpSampling1D', 'config': {'name': 'u', 'size': 2}}", x, 2,
                (int64_t[]){2, 2}, up1, 8, (int64_t[]){4, 2}, 2);
}
END_TEST

START_TEST(flatten_channels_first) {
  /* Keras 3 moves the channels last first: [2 channels, 3 steps] ->
   * [c0s0, c1s0, c0s1, c1s1, c0s2, c1s2] */
  float x[] = {1, 2, 3, 10, 20, 30}, want[] = {1, 10, 2, 20, 3, 30};
  check_forward("2, 3",
                "{'class_name': 'Flatten', 'config': {'name': 'f', 'data_format': "
                "'channels_first'}}",
                x, 2, (int64_t[]){2, 3}, want, 6, (int64_t[]){6}, 1);
  /* rank 5, channels last: the entries in order */
  float v[] = {1, 2, 3, 4, 5, 6, 7, 8};
  check_forward("2, 1, 2, 2", "{'class_name': 'Flatten', 'config': {'name': 'f'}}", v, 4,
                (int64_t[]){2, 1, 2, 2}, v, 8, (int64_t[]){8}, 1);
}
END_TEST

/* A naive float64 reference by coordinates for a 2D pool on [R, H, W, C]:
 * for every output (oh, ow), the input rows and columns the window covers
 * once TF's 'same' padding is placed (out = ceil(in / s), the smaller half of
 * the padding before), skipping those outside the input. */
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

START_TEST(pool_2d_against_a_reference) {
  enum { R = 3, H = 7, W = 6, C = 3 };
  float x[R * H * W * C];
  for (int i = 0; i < R * H * W * C; i++) x[i] = (float)sin(1.3 * i + 0.2 * (i % 7));
  /* (kh, kw, sh, sw, same) */
  static const int configs[][5] = {
      {3, 2, 2, 1, 1}, {2, 2, 2, 2, 0}, {3, 3, 1, 2, 1}, {2, 4, 3, 1, 0}, {1, 3, 2, 3, 1}};
  for (int k = 0; k < 5; k++)
    for (int is_max = 0; is_max < 2; is_max++) {
      const int *p = configs[k];
      char layer[512];
      snprintf(layer, sizeof layer,
               "{'class_name': '%s', 'config': {'name': 'p', 'pool_size': [%d, %d], 'strides': "
               "[%d, %d], 'padding': '%s'}}",
               is_max ? "MaxPooling2D" : "AveragePooling2D", p[0], p[1], p[2], p[3],
               p[4] ? "same" : "valid");
      nnc_model *m;
      nnc_status st;
      ck_assert_msg(nnc_model_load_string(forward_spec("7, 6, 3", layer), "model.json", &m, &st) ==
                        NNC_OK,
                    "%s", st.message);
      nnc_array a = {.dtype = NNC_F32, .rank = 4, .shape = {R, H, W, C}, .data = x}, out;
      ck_assert_msg(nnc_model_predict(m, &a, R, &out, &st) == NNC_OK, "%s", st.message);
      int oh_n = (int)out.shape[1], ow_n = (int)out.shape[2];
      ck_assert_int_eq(oh_n, p[4] ? (H + p[2] - 1) / p[2] : (H - p[0]) / p[2] + 1);
      ck_assert_int_eq(ow_n, p[4] ? (W + p[3] - 1) / p[3] : (W - p[1]) / p[3] + 1);
      const float *y = out.data;
      for (int r = 0; r < R; r++)
        for (int oh = 0; oh < oh_n; oh++)
          for (int ow = 0; ow < ow_n; ow++)
            for (int c = 0; c < C; c++) {
              double want =
                  ref_pool(x, H, W, C, r, oh, ow, c, p[0], p[1], p[2], p[3], p[4], is_max);
              float got = y[((r * oh_n + oh) * ow_n + ow) * C + c];
              ck_assert_msg(fabs(got - want) <= 1e-6, "%s: [%d,%d,%d,%d]: got %.9g, want %.9g",
                            layer, r, oh, ow, c, got, want);
            }
      nnc_array_free(&out);
      nnc_model_free(m);
    }
}
END_TEST

/* The model (Input(shape) -> layer) is refused, when loaded or when built
 * for its declared shape, with a message holding `needle`. */
static void refused(const char *shape, const char *layer, const char *needle) {
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(forward_spec(shape, layer), "model.json", &m, &st);
  if (rc == NNC_OK) rc = nnc_model_build(m, NULL, NULL, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, needle) != NULL, "'%s' lacks '%s'", st.message, needle);
  nnc_model_free(m);
}

START_TEST(refusals_name_the_key) {
  refused("6, 2", "{'class_name': 'MaxPooling1D', 'config': {'name': 'p', 'padding': 'causal'}}",
          "model.json: $.config.layers[1].config.padding: expected \"valid\" or \"same\", got "
          "\"causal\"");
  refused("6, 2", "{'class_name': 'MaxPooling1D', 'config': {'name': 'p', 'pool_size': [2, 2]}}",
          "$.config.layers[1].config.pool_size: expected an integer >= 1 or a list of 1 of them");
  refused("4, 4, 2",
          "{'class_name': 'UpSampling2D', 'config': {'name': 'u', 'interpolation': 'bicubic'}}",
          "$.config.layers[1].config.interpolation: UpSampling2D interpolation other than "
          "\"nearest\" and \"bilinear\" is not supported yet");
  refused("4, 4, 2",
          "{'class_name': 'AveragePooling2D', 'config': {'name': 'p', 'data_format': "
          "'channels_middle'}}",
          "$.config.layers[1].config.data_format: expected \"channels_last\"");
  refused("3, 2", "{'class_name': 'MaxPooling1D', 'config': {'name': 'p', 'pool_size': 4}}",
          "the pool size 4 of MaxPooling1D \"p\" exceeds the input's length 3");
  refused("3, 2", "{'class_name': 'Cropping1D', 'config': {'name': 'c', 'cropping': [2, 1]}}",
          "Cropping1D \"c\" crops 2 + 1 entries from spatial axis 0 of length 3");
  refused("3, 2", "{'class_name': 'MaxPooling2D', 'config': {'name': 'p'}}",
          "expected a rank-4 input [B, spatial..., channels] for MaxPooling2D \"p\", got [B,3,2]");
}
END_TEST

/* ---- gradients ---- */

typedef struct grad_case {
  const char *shape; /* the per-sample shape the layer sees */
  int units;         /* its element count */
  const char *layer; /* the layer object */
} grad_case;

static const grad_case grad_cases[] = {
    {"11, 2", 22,
     "{'class_name': 'MaxPooling1D', 'config': {'name': 'p', 'pool_size': 3, 'strides': 2}}"},
    {"11, 4", 44,
     "{'class_name': 'AveragePooling1D', 'config': {'name': 'p', 'pool_size': 2, 'strides': 2, "
     "'padding': 'same'}}"},
    {"6, 5, 2", 60,
     "{'class_name': 'MaxPooling2D', 'config': {'name': 'p', 'pool_size': 3, 'strides': 2, "
     "'padding': 'same'}}"},
    {"5, 6, 1", 30,
     "{'class_name': 'AveragePooling2D', 'config': {'name': 'p', 'pool_size': [2, 3], 'strides': "
     "[1, 2], 'padding': 'same'}}"},
    {"2, 5, 4", 40,
     "{'class_name': 'MaxPooling2D', 'config': {'name': 'p', 'pool_size': 2, 'padding': 'same', "
     "'data_format': 'channels_first'}}"},
    {"3, 4, 3, 1", 36,
     "{'class_name': 'MaxPooling3D', 'config': {'name': 'p', 'pool_size': 2, 'strides': [1, 2, "
     "2], 'padding': 'same'}}"},
    {"3, 4, 4, 1", 48,
     "{'class_name': 'AveragePooling3D', 'config': {'name': 'p', 'pool_size': [2, 2, 3], "
     "'strides': [1, 2, 1]}}"},
    {"3, 3, 2", 18, "{'class_name': 'GlobalMaxPooling2D', 'config': {'name': 'p'}}"},
    {"4, 2", 8,
     "{'class_name': 'GlobalAveragePooling1D', 'config': {'name': 'p', 'keepdims': true}}"},
    {"2, 2, 2, 3", 24,
     "{'class_name': 'GlobalAveragePooling3D', 'config': {'name': 'p', 'data_format': "
     "'channels_first'}}"},
    {"3, 3, 2", 18,
     "{'class_name': 'ZeroPadding2D', 'config': {'name': 'p', 'padding': [[1, 0], [2, 1]]}}"},
    {"6, 2", 12, "{'class_name': 'Cropping1D', 'config': {'name': 'p', 'cropping': [1, 2]}}"},
    {"2, 4, 3, 3", 72,
     "{'class_name': 'Cropping3D', 'config': {'name': 'p', 'cropping': [[0, 1], 1, [2, 0]], "
     "'data_format': 'channels_first'}}"},
    {"3, 2", 6, "{'class_name': 'UpSampling1D', 'config': {'name': 'p', 'size': 3}}"},
    {"2, 2, 3", 12,
     "{'class_name': 'UpSampling2D', 'config': {'name': 'p', 'size': [2, 3], 'data_format': "
     "'channels_first'}}"},
    {"3, 2, 2", 12,
     "{'class_name': 'UpSampling2D', 'config': {'name': 'p', 'size': [2, 3], 'interpolation': "
     "'bilinear'}}"},
    {"2, 1, 2, 1", 4, "{'class_name': 'UpSampling3D', 'config': {'name': 'p', 'size': 2}}"},
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

START_TEST(gradients) {
  const grad_case *g = &grad_cases[_i];
  /* h = 1e-3: a max's window changes hands where two entries come within 2h
   * of each other, which 1e-2 makes likely among a few hundred windows */
  gradcheck_opts o = {5, 777 + (uint64_t)_i, -0.4, 0.25, 1.3, 5, 0, 2e-3, 2e-2};
  fprintf(stderr, "test_pooling: gradients of %s on [%s]\n", g->layer, g->shape);
  gradcheck_model_step(grad_spec(g), 4, &o, 1e-3);
}
END_TEST

/* Every pooling op splits its work by batch row, so train_on_batch steps
 * give bit-identical weights on 1, 2 and 3 threads (test_threads' promise). */
START_TEST(threads_bit_identical) {
  const grad_case all = {
      "6, 6, 2", 72,
      "{'class_name': 'MaxPooling2D', 'config': {'name': 'a', 'pool_size': [2, 3], 'strides': "
      "[1, 2], 'padding': 'same'}}, {'class_name': 'UpSampling2D', 'config': {'name': 'b', "
      "'interpolation': 'bilinear'}}, {'class_name': 'AveragePooling2D', 'config': {'name': "
      "'c', 'pool_size': 3, 'padding': 'same'}}, {'class_name': 'GlobalMaxPooling2D', "
      "'config': {'name': 'g', 'keepdims': true}}"};
  float xv[7 * 4], yv[7];
  for (int i = 0; i < 7 * 4; i++) xv[i] = (float)sin(0.7 * i + 0.3);
  for (int i = 0; i < 7; i++) yv[i] = (float)(0.1 * i - 0.2);
  nnc_array x = testutil_f32(xv, 7, 4), y = testutil_f32(yv, 7, 1);
  nnc_array first = {0};
  for (int threads = 1; threads <= 3; threads++) {
    nnc_model *m;
    nnc_status st;
    ck_assert_msg(nnc_model_load_string(grad_spec(&all), "model.json", &m, &st) == NNC_OK, "%s",
                  st.message);
    ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
    for (int step = 0; step < 3; step++) {
      TEST_LOGS(logs);
      ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
    }
    nnc_array w;
    ck_assert(nnc_model_get_weight(m, "proj/kernel", &w, &st) == NNC_OK);
    if (threads == 1)
      first = w;
    else {
      ck_assert(!memcmp(first.data, w.data, (size_t)nnc_array_count(&w) * sizeof(float)));
      nnc_array_free(&w);
    }
    nnc_model_free(m);
  }
  nnc_array_free(&first);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("pooling");
  TCase *t = tcase_create("forward");
  tcase_add_test(t, average_1d_same_divides_by_the_entries_inside);
  tcase_add_test(t, max_1d_valid_strides);
  tcase_add_test(t, average_2d_same_stride_1);
  tcase_add_test(t, max_2d_same_pads_before_and_channels_first);
  tcase_add_test(t, average_3d_same);
  tcase_add_test(t, global_pooling);
  tcase_add_test(t, padding_and_cropping);
  tcase_add_test(t, up_sampling);
  tcase_add_test(t, flatten_channels_first);
  tcase_add_test(t, refusals_name_the_key);
  tcase_add_test(t, pool_2d_against_a_reference);
  suite_add_tcase(s, t);
  TCase *gt = tcase_create("gradients");
  tcase_set_timeout(gt, 300);
  tcase_add_loop_test(gt, gradients, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
  tcase_add_test(gt, threads_bit_identical);
  suite_add_tcase(s, gt);
  return testutil_run(s);
}
