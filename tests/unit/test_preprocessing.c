/* The preprocessing layers (issue 8): Rescaling, Normalization, Resizing,
 * CenterCrop and the augmentation layers RandomFlip, RandomRotation,
 * RandomTranslation, RandomZoom.
 *
 * Deterministic layers: predict on small inputs against values derived by
 * hand from Keras 3's definitions; gradients through them by central
 * differences (gradcheck.c).
 * The IMAGE_AFFINE op behind the augmentation layers, JIT-compiled alone
 * with explicit uniforms: against a float64 port of TensorFlow's
 * ImageProjectiveTransformV3 (fill modes, bilinear/nearest) written here by
 * coordinates, against exact hand cases (a quarter turn, a flip, a shift),
 * and its adjoint (the gradient) against central differences of the forward
 * op (exact up to rounding: the map is linear in x).
 * (RandomCrop and RandomBrightness: test_crop_brightness.c.)
 * Random layers: identity in inference; in the train phase the flip rate
 * over many samples within the binomial law's bounds; the same spec and seed
 * give bit-identical training on 1, 2 and 3 threads. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "gradcheck.h"
#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* ---- model-level helpers ---- */

static const char *forward_spec(const char *shape, const char *layer) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %s], 'name': 'in'}}, "
           "%s]}}",
           shape, layer);
  return Q(buf);
}

/* predict one sample x (per-sample dims) and compare with want */
static void check_forward(const char *shape, const char *layer, const float *x, int rank,
                          const int64_t *dims, const float *want, int n_want, double tol) {
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(forward_spec(shape, layer), "model.json", &m, &st) == NNC_OK,
                "%s", st.message);
  nnc_array a = {.dtype = NNC_F32, .rank = rank + 1, .data = (void *)x};
  a.shape[0] = 1;
  for (int k = 0; k < rank; k++) a.shape[k + 1] = dims[k];
  nnc_array out;
  ck_assert_msg(nnc_model_predict(m, &a, 8, &out, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(nnc_array_count(&out), n_want);
  for (int i = 0; i < n_want; i++)
    ck_assert_msg(fabs(((float *)out.data)[i] - want[i]) <= tol * (1 + fabs(want[i])),
                  "%s entry %d: got %.9g, want %.9g", layer, i, ((float *)out.data)[i], want[i]);
  nnc_array_free(&out);
  nnc_model_free(m);
}

static void refused(const char *shape, const char *layer, const char *needle) {
  nnc_model *m = NULL;
  nnc_status st;
  int rc = nnc_model_load_string(forward_spec(shape, layer), "model.json", &m, &st);
  if (rc == NNC_OK) rc = nnc_model_build(m, NULL, NULL, &st);
  ck_assert_int_eq(rc, NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, needle) != NULL, "'%s' lacks '%s'", st.message, needle);
  nnc_model_free(m);
}

START_TEST(rescaling) {
  float x[3] = {0, 255, -2};
  float want[3] = {0.5f, 255.0f / 255.0f + 0.5f, -2.0f / 255.0f + 0.5f};
  int64_t d[1] = {3};
  check_forward("3",
                "{'class_name': 'Rescaling', 'config': {'name': 'r', 'scale': "
                "0.00392156862745098, 'offset': 0.5}}",
                x, 1, d, want, 3, 1e-6);
}
END_TEST

START_TEST(normalization_from_config) {
  /* per feature (axis -1): (x - mean) / max(sqrt(var), 1e-7) */
  float x[6] = {1, 2, 3, 4, 5, 6};
  int64_t d[2] = {2, 3};
  float want[6] = {(1 - 1.0f) / 2, (2 - 0.5f) / 1, (3 + 1.0f) / 1e-7f,
                   (4 - 1.0f) / 2, (5 - 0.5f) / 1, (6 + 1.0f) / 1e-7f};
  check_forward("2, 3",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': -1, 'mean': [1, "
                "0.5, -1], 'variance': [4, 1, 0]}}",
                x, 2, d, want, 6, 1e-6);
  /* axis null: one scalar; invert: mean + x * std */
  float w2[6];
  for (int i = 0; i < 6; i++) w2[i] = 2.0f + x[i] * 3.0f;
  check_forward("2, 3",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': null, 'mean': 2, "
                "'variance': 9, 'invert': true}}",
                x, 2, d, w2, 6, 1e-6);
  /* two kept axes [2, 3] with a mean of rank 1 aligned to the last axis */
  float w3[6];
  for (int i = 0; i < 6; i++) w3[i] = (x[i] - (float)(i % 3)) / 2.0f;
  check_forward("2, 3",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': [1, 2], 'mean': "
                "[0, 1, 2], 'variance': [4, 4, 4]}}",
                x, 2, d, w3, 6, 1e-6);
  /* axis 1 of [B, 2, 3]: one value per row, broadcast over the features
   * (Keras's _broadcast_shape [1, 2, 1]); inverted too */
  float w4[6], w5[6];
  for (int i = 0; i < 6; i++) {
    int row = i / 3;
    w4[i] = (x[i] - (row ? -2.0f : 1.0f)) / (row ? 3.0f : 2.0f);
    w5[i] = (row ? -2.0f : 1.0f) + x[i] * (row ? 3.0f : 2.0f);
  }
  check_forward("2, 3",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': 1, 'mean': [1, "
                "-2], 'variance': [4, 9]}}",
                x, 2, d, w4, 6, 1e-6);
  check_forward("2, 3",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': -2, 'mean': [1, "
                "-2], 'variance': [4, 9], 'invert': true}}",
                x, 2, d, w5, 6, 1e-6);
  /* axis [1, 2] of an image [B, 2, 3, 2]: one value per pixel, shared by
   * the two channels */
  float xi[12], w6[12];
  int64_t di[3] = {2, 3, 2};
  for (int i = 0; i < 12; i++) {
    xi[i] = (float)(i * i % 7);
    int pix = i / 2;
    w6[i] = (xi[i] - (float)pix) / 2.0f;
  }
  check_forward("2, 3, 2",
                "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': [1, 2], 'mean': "
                "[[0, 1, 2], [3, 4, 5]], 'variance': [[4, 4, 4], [4, 4, 4]]}}",
                xi, 3, di, w6, 12, 1e-6);
  /* no mean in the config: Keras's unadapted weights, mean 0 and variance 1 */
  check_forward("2, 3", "{'class_name': 'Normalization', 'config': {'name': 'n'}}", x, 2, d, x, 6,
                0);
  check_forward("2, 3", "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': 1}}", x, 2,
                d, x, 6, 0);
}
END_TEST

START_TEST(resizing_bilinear_and_nearest) {
  /* one channel, 2 x 4 -> 3 x 2. bilinear per axis with half-pixel centers:
   * rows: src = (i + 0.5) * 2/3 - 0.5 = -1/6, 0.5, 7/6 -> row 0, mid, row 1;
   * cols: src = (j + 0.5) * 2 - 0.5 = 0.5, 2.5 -> mean of cols (0,1), (2,3) */
  float x[8] = {0, 1, 2, 3, 10, 11, 12, 13};
  int64_t d[3] = {2, 4, 1};
  float want[6] = {0.5f, 2.5f, 5.5f, 7.5f, 10.5f, 12.5f};
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 2}}", x,
                3, d, want, 6, 1e-6);
  /* nearest: row floor((i + 0.5) * 2/3) = 0, 1, 1; col floor((j + 0.5) * 2) = 1, 3 */
  float wn[6] = {1, 3, 11, 13, 11, 13};
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 2, "
                "'interpolation': 'nearest'}}",
                x, 3, d, wn, 6, 0);
  /* crop_to_aspect_ratio: target 2 x 2 from 2 x 4 crops the centred 2 x 2
   * (columns 1, 2), then nothing to resize */
  float wc[4] = {1, 2, 11, 12};
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
                "'crop_to_aspect_ratio': true}}",
                x, 3, d, wc, 4, 0);
  /* antialias where TF's filter equals the plain resize: upscaling
   * bilinear, and nearest */
  float wu[12] = {0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13};
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 4, "
                "'antialias': true}}",
                x, 3, d, wu, 12, 1e-6);
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 2, "
                "'interpolation': 'nearest', 'antialias': true}}",
                x, 3, d, wn, 6, 0);
  /* pad_to_aspect_ratio: target 4 x 4 from 2 x 4 pads int((4 - 2) / 2) = 1
   * row of fill_value above and below (pad height max(2, int(4 * 4 / 4))),
   * then nothing to resize */
  float wp[16] = {0.5f, 0.5f, 0.5f, 0.5f, 0, 1, 2, 3, 10, 11, 12, 13, 0.5f, 0.5f, 0.5f, 0.5f};
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 4, 'width': 4, "
                "'pad_to_aspect_ratio': true, 'fill_value': 0.5}}",
                x, 3, d, wp, 16, 0);
  /* target 5 x 4: pad height int(4 * 5 / 4) = 5, one row each side
   * (int(3 / 2) = 1: Keras pads evenly), 4 rows resized to 5 (bilinear,
   * half-pixel centers: src = (i + 0.5) * 4/5 - 0.5), fill 0 */
  float padded[16] = {0, 0, 0, 0, 0, 1, 2, 3, 10, 11, 12, 13, 0, 0, 0, 0}, wr[20];
  for (int i = 0; i < 5; i++) {
    double src = (i + 0.5) * 0.8 - 0.5, f = floor(src), t = src - f;
    int lo = f < 0 ? 0 : (int)f, hi = (int)f + 1 > 3 ? 3 : (int)f + 1;
    for (int j = 0; j < 4; j++)
      wr[i * 4 + j] = (float)(padded[lo * 4 + j] + (padded[hi * 4 + j] - padded[lo * 4 + j]) * t);
  }
  check_forward("2, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 5, 'width': 4, "
                "'pad_to_aspect_ratio': true}}",
                x, 3, d, wr, 20, 1e-6);
}
END_TEST

/* Resizing(antialias=True), bilinear: tf.image.resize's ScaleAndTranslate
 * with the triangle kernel (scale_and_translate_op.cc). Per axis n -> m:
 * inv = n/m, ks = max(inv, 1), sample s = (i + 0.5) inv, entries j from
 * ceil(s - ks - 0.5) to floor(s + ks - 0.5) clamped to [0, n), weight
 * 1 - |j + 0.5 - s| / ks (0 when negative), normalized to sum 1.
 *   4 -> 2 (ks 2):   s = 1: |.| = .5 .5 1.5       -> .75 .75 .25 / 1.75
 *                         = 3/7 3/7 1/7 on j 0..2; s = 3: 1/7 3/7 3/7 on j 1..3
 *   5 -> 3 (ks 5/3): s = 5/6: |.| = 1/3 2/3 (5/3) -> .8 .6 (0) / 1.4 = 4/7 3/7
 *                    s = 5/2: |.| = 1 0 1 on j 1..3 -> .4 1 .4 / 1.8 = 2/9 5/9 2/9
 *                    s = 25/6: 3/7 4/7 on j 3, 4
 *   5 -> 2 (ks 5/2): s = 5/4: |.| = .75 .25 1.25 2.25 -> .7 .9 .5 .1 / 2.2
 *                         = 7/22 9/22 5/22 1/22 on j 0..3; s = 15/4 mirrored on j 4..1
 * A plain bilinear 4 -> 2 would read the means of (0, 1) and (2, 3). */
static const double aa_4_2[2][5] = {{3 / 7., 3 / 7., 1 / 7., 0, 0}, {0, 1 / 7., 3 / 7., 3 / 7., 0}};
static const double aa_5_3[3][5] = {
    {4 / 7., 3 / 7., 0, 0, 0}, {0, 2 / 9., 5 / 9., 2 / 9., 0}, {0, 0, 0, 3 / 7., 4 / 7.}};
static const double aa_5_2[2][5] = {{7 / 22., 9 / 22., 5 / 22., 1 / 22., 0},
                                    {0, 1 / 22., 5 / 22., 9 / 22., 7 / 22.}};

START_TEST(resizing_antialias_downscale) {
  float x[25];
  for (int i = 0; i < 25; i++) x[i] = (float)(i * i % 11) - 3.0f;
  /* one axis: 4 -> 2 and 5 -> 3 rows (width 1 stays) */
  int64_t d4[3] = {4, 1, 1}, d5[3] = {5, 1, 1};
  float w42[2], w53[3];
  for (int i = 0; i < 2; i++) {
    w42[i] = 0;
    for (int j = 0; j < 4; j++) w42[i] += (float)(aa_4_2[i][j] * x[j]);
  }
  for (int i = 0; i < 3; i++) {
    w53[i] = 0;
    for (int j = 0; j < 5; j++) w53[i] += (float)(aa_5_3[i][j] * x[j]);
  }
  check_forward("4, 1, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 1, "
                "'antialias': true}}",
                x, 3, d4, w42, 2, 1e-6);
  check_forward("5, 1, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 1, "
                "'antialias': true}}",
                x, 3, d5, w53, 3, 1e-6);
  /* both axes, two channels, channels_first: 5 x 5 -> 3 x 2, rows 5 -> 3 and
   * columns 5 -> 2 (non-integer factors), separable */
  int64_t d[3] = {2, 5, 5};
  float want[12];
  for (int ch = 0; ch < 2; ch++)
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 2; b++) {
        double v = 0;
        for (int r = 0; r < 5; r++)
          for (int q = 0; q < 5; q++)
            v += aa_5_3[a][r] * aa_5_2[b][q] * (ch ? -x[r * 5 + q] : x[r * 5 + q]);
        want[ch * 6 + a * 2 + b] = (float)v;
      }
  float xc[50];
  for (int i = 0; i < 25; i++) xc[i] = x[i], xc[25 + i] = -x[i];
  check_forward("2, 5, 5",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 3, 'width': 2, "
                "'antialias': true, 'data_format': 'channels_first'}}",
                xc, 3, d, want, 12, 1e-5);
  /* crop_to_aspect_ratio first: 5 x 4 -> 2 x 2 crops the centred 4 x 4
   * (rows 0..3: int((5 - 4) / 2) = 0), then 4 -> 2 on both axes */
  int64_t d54[3] = {5, 4, 1};
  float wc[4];
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 2; b++) {
      double v = 0;
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) v += aa_4_2[a][r] * aa_4_2[b][q] * x[r * 4 + q];
      wc[a * 2 + b] = (float)v;
    }
  check_forward("5, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
                "'antialias': true, 'crop_to_aspect_ratio': true}}",
                x, 3, d54, wc, 4, 1e-5);
}
END_TEST

/* Resizing(interpolation="bicubic"): TF's ResizeBicubic with half-pixel
 * centers (resize_bicubic_op.cc): along the width, then the height, src =
 * (i + 0.5) n/m - 0.5, taps floor(src) - 1 .. floor(src) + 2 weighted by
 * Keys' cubic kernel (a = -0.5) at |j - src|: (a + 2)t^3 - (a + 3)t^2 + 1
 * for t <= 1, a t^3 - 5a t^2 + 8a t - 4a for 1 < t < 2; taps outside the
 * axis weigh 0 and the others are divided by their sum. TF reads the
 * weights from a table at 1/1024 steps of frac(src); the sizes here (8 -> 4,
 * 4 -> 8) put frac(src) at 0.5, 0.25, 0.75, on the table. 8 -> 4: src =
 * 2i + 0.5, weights -1/16, 9/16, 9/16, -1/16, at the borders 9/17, 9/17,
 * -1/17. */
static void keys_weights(int n, int m, int i, double *w) {
  double src = (i + 0.5) * n / m - 0.5, sum = 0;
  int lo = (int)floor(src);
  for (int j = 0; j < n; j++) {
    double t = fabs(j - src), a = -0.5;
    w[j] = 0;
    if (j < lo - 1 || j > lo + 2) continue;
    w[j] = t <= 1 ? (a + 2) * t * t * t - (a + 3) * t * t + 1
                  : a * t * t * t - 5 * a * t * t + 8 * a * t - 4 * a;
    sum += w[j];
  }
  for (int j = 0; j < n; j++) w[j] /= sum;
}

START_TEST(resizing_bicubic) {
  double w84[4][8], w48[8][4];
  for (int i = 0; i < 4; i++) keys_weights(8, 4, i, w84[i]);
  for (int i = 0; i < 8; i++) keys_weights(4, 8, i, w48[i]);
  ck_assert(fabs(w84[1][1] + 1 / 16.) < 1e-15 && fabs(w84[1][2] - 9 / 16.) < 1e-15);
  ck_assert(fabs(w84[0][0] - 9 / 17.) < 1e-15 && fabs(w84[0][2] + 1 / 17.) < 1e-15);
  float x[32], want[32];
  for (int i = 0; i < 32; i++) x[i] = (float)((i * 7) % 13) - 5.0f;
  /* 8 x 4 -> 4 x 8: rows shrink, columns grow */
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 8; b++) {
      double v = 0;
      for (int r = 0; r < 8; r++)
        for (int q = 0; q < 4; q++) v += w84[a][r] * w48[b][q] * x[r * 4 + q];
      want[a * 8 + b] = (float)v;
    }
  int64_t d[3] = {8, 4, 1};
  check_forward("8, 4, 1",
                "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 4, 'width': 8, "
                "'interpolation': 'bicubic'}}",
                x, 3, d, want, 32, 1e-5);
  refused("4, 4, 1",
          "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
          "'interpolation': 'bicubic', 'antialias': true}}",
          "$.config.layers[1].config.antialias: Resizing antialias: true with interpolation "
          "\"bicubic\" is not supported yet");
}
END_TEST

START_TEST(center_crop) {
  float x[20];
  for (int i = 0; i < 20; i++) x[i] = (float)i; /* 4 x 5 x 1 */
  int64_t d[3] = {4, 5, 1};
  /* 2 x 3 from 4 x 5: start (4 - 2) // 2 = 1, (5 - 3) // 2 = 1 */
  float want[6] = {6, 7, 8, 11, 12, 13};
  check_forward("4, 5, 1",
                "{'class_name': 'CenterCrop', 'config': {'name': 'c', 'height': 2, 'width': 3}}", x,
                3, d, want, 6, 0);
  /* channels_first [1, 4, 5]: the same crop */
  int64_t df[3] = {1, 4, 5};
  check_forward("1, 4, 5",
                "{'class_name': 'CenterCrop', 'config': {'name': 'c', 'height': 2, 'width': 3, "
                "'data_format': 'channels_first'}}",
                x, 3, df, want, 6, 0);
  /* a target taller than the input: smart_resize. 4 x 5 to 8 x 2: crop
   * width int(4 * 2 / 8) = 1 at column int((5 - 1) / 2) = 2, then rows
   * 4 -> 8 bilinear (src (i + 0.5) / 2 - 0.5), columns 1 -> 2 (copies) */
  float ws[16];
  for (int i = 0; i < 8; i++) {
    double src = (i + 0.5) / 2 - 0.5;
    int lo = (int)floor(src) < 0 ? 0 : (int)floor(src),
        hi = (int)ceil(src) > 3 ? 3 : (int)ceil(src);
    double t = src - floor(src), v = x[lo * 5 + 2] + (x[hi * 5 + 2] - x[lo * 5 + 2]) * t;
    ws[2 * i] = ws[2 * i + 1] = (float)v;
  }
  check_forward("4, 5, 1",
                "{'class_name': 'CenterCrop', 'config': {'name': 'c', 'height': 8, 'width': 2}}", x,
                3, d, ws, 16, 1e-6);
}
END_TEST

START_TEST(random_layers_are_identity_in_inference) {
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)sin(i + 0.5);
  int64_t d[3] = {3, 4, 2};
  const char *layers[] = {
      "{'class_name': 'RandomFlip', 'config': {'name': 'a'}}",
      "{'class_name': 'RandomRotation', 'config': {'name': 'a', 'factor': 0.3}}",
      ("{'class_name': 'RandomTranslation', 'config': {'name': 'a', 'height_factor': 0.2, "
       "'width_factor': [-0.3, 0.1], 'fill_mode': 'constant'}}"),
      "{'class_name': 'RandomZoom', 'config': {'name': 'a', 'height_factor': 0.5, 'seed': 3}}",
      "{'class_name': 'RandomContrast', 'config': {'name': 'a', 'factor': 0.5}}",
  };
  for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++)
    check_forward("3, 4, 2", layers[k], x, 3, d, x, 24, 0);
}
END_TEST

START_TEST(refusals_name_the_key) {
  refused("4, 4, 1",
          "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
          "'interpolation': 'area'}}",
          "$.config.layers[1].config.interpolation: Resizing interpolation other than "
          "\"bilinear\", \"nearest\" and \"bicubic\" is not supported yet");
  refused("4, 4, 1",
          "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
          "'pad_to_aspect_ratio': true, 'crop_to_aspect_ratio': true}}",
          "$.config.layers[1].config.pad_to_aspect_ratio: expected only one of "
          "pad_to_aspect_ratio and crop_to_aspect_ratio");
  refused("4, 4, 1",
          "{'class_name': 'Resizing', 'config': {'name': 'r', 'height': 2, 'width': 2, "
          "'pad_to_aspect_ratio': true, 'fill_mode': 'reflect'}}",
          "$.config.layers[1].config.fill_mode: expected \"constant\"");
  refused("4, 4, 1",
          "{'class_name': 'RandomRotation', 'config': {'name': 'r', 'factor': 0.2, 'fill_mode': "
          "'mirror'}}",
          "$.config.layers[1].config.fill_mode: expected one of \"reflect\", \"wrap\", "
          "\"constant\", \"nearest\"");
  refused("4, 4, 1", "{'class_name': 'RandomRotation', 'config': {'name': 'r', 'factor': 1.5}}",
          "$.config.layers[1].config.factor: expected a number in [-1, 1]");
  refused("4, 4, 1", "{'class_name': 'RandomFlip', 'config': {'name': 'r', 'mode': 'diagonal'}}",
          "$.config.layers[1].config.mode: expected \"horizontal\", \"vertical\"");
  refused("4, 4", "{'class_name': 'RandomFlip', 'config': {'name': 'r'}}",
          "expected a batched image input [B, height, width, channels] for RandomFlip \"r\"");
  refused("2, 3",
          "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': [1, 2], 'mean': [[1, "
          "2, 3], [4, 5, 6]], 'variance': [[1, 1, 1], [1, -0.5, 1]]}}",
          "$.config.layers[1].config.variance[1][1]: expected a variance >= 0, got -0.5");
  refused("2, 3",
          "{'class_name': 'Normalization', 'config': {'name': 'n', 'axis': 0, 'mean': 1, "
          "'variance': 1}}",
          "Normalization \"n\" keeping the batch axis is not supported");
  refused("2, 3", "{'class_name': 'Normalization', 'config': {'name': 'n', 'mean': [1, 2, 3]}}",
          "$.config.layers[1].config.variance: expected both mean and variance");
  refused("3", "{'class_name': 'Rescaling', 'config': {'name': 'r', 'scale': [1, 2, 3]}}",
          "$.config.layers[1].config.scale: Rescaling with a list scale");
}
END_TEST

/* ---- gradients of the deterministic layers ---- */

typedef struct grad_case {
  const char *shape;
  int units;
  const char *layer;
} grad_case;

static const grad_case grad_cases[] = {
    {"3, 2", 6, "{'class_name': 'Rescaling', 'config': {'name': 'p', 'scale': -0.5, 'offset': 1}}"},
    {"3, 2", 6,
     "{'class_name': 'Normalization', 'config': {'name': 'p', 'mean': [0.5, -1], 'variance': "
     "[4, 0.25]}}"},
    {"3, 4, 2", 24, "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 5, 'width': 3}}"},
    {"3, 4, 2", 24,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 2, 'width': 7, "
     "'interpolation': 'nearest'}}"},
    {"4, 5, 1", 20,
     "{'class_name': 'CenterCrop', 'config': {'name': 'p', 'height': 6, 'width': 3}}"},
    {"3, 2", 6,
     "{'class_name': 'Normalization', 'config': {'name': 'p', 'axis': 1, 'mean': [0.5, -1, 2], "
     "'variance': [4, 0.25, 1]}}"},
    {"2, 4, 1", 8,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 5, 'width': 3, "
     "'pad_to_aspect_ratio': true, 'fill_value': -0.5}}"},
    /* antialias: 5 -> 3 and 4 -> 3 (non-integer factors, clamped spans at
     * both borders); 4 -> 2 and 7 -> 3; a shrinking axis with a growing one */
    {"5, 4, 2", 40,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 3, 'width': 3, "
     "'antialias': true}}"},
    {"4, 7, 1", 28,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 2, 'width': 3, "
     "'antialias': true}}"},
    {"2, 5, 1", 10,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 3, 'width': 2, "
     "'antialias': true}}"},
    /* bicubic: 5 -> 3 (taps cut at both borders) and 3 -> 7 */
    {"5, 3, 2", 30,
     "{'class_name': 'Resizing', 'config': {'name': 'p', 'height': 3, 'width': 7, "
     "'interpolation': 'bicubic'}}"},
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
  gradcheck_opts o = {4, 91 + (uint64_t)_i, -0.4, 0.25, 1.3, 5, 0, 2e-3, 2e-2};
  gradcheck_model_step(grad_spec(g), 4, &o, 1e-3);
}
END_TEST

/* ---- the IMAGE_AFFINE op alone ---- */

enum { H = 4, W = 5, C = 2, ROWS = 3 };

static void no_barrier(void *ctx) {
  (void)ctx;
}

static nnc_shape batched(int rank, const int64_t *dims) {
  int64_t d[NNC_MAX_RANK] = {-1};
  for (int i = 0; i < rank; i++) d[i + 1] = dims[i];
  return shape_make(1, rank + 1, d);
}

/* The op (x, u) -> y for ROWS samples, compiled alone. */
typedef struct affine_rig {
  nnc_graph g;
  nnc_program prog;
  nnc_jit *jit;
  nnc_step_fn step;
  float *fixed, *batch;
} affine_rig;

static void rig_build(affine_rig *r, const nnc_affine_params *p, nnc_affine_fn fn) {
  nnc_status st = {0};
  memset(r, 0, sizeof *r);
  ck_assert(graph_init(&r->g, "predict", &st) == NNC_OK);
  int64_t xd[3] = {H, W, C}, ud[1] = {2};
  int xi = graph_input(&r->g, 0, batched(3, xd), "x", &st);
  int ui = graph_input(&r->g, 1, batched(1, ud), "u", &st);
  int out = graph_image_affine(&r->g, xi, ui, fn, p, &st);
  ck_assert_msg(out >= 0, "%s", st.message);
  ck_assert_msg(graph_output(&r->g, out, 0, &st) >= 0, "%s", st.message);
  r->prog.n_inputs = 2;
  ck_assert(pass_fuse(&r->g, &st) == NNC_OK);
  ck_assert(pass_plan_memory_for(&r->g, &r->prog, &st) == NNC_OK);
  const nnc_graph *list[1] = {&r->g};
  nnc_codegen_options opts = {0};
  ck_assert_msg(codegen_compile(list, 1, &r->prog, &opts, &r->jit, &r->step, &st) == NNC_OK, "%s",
                st.message);
  r->fixed = calloc((size_t)r->g.fixed_floats + 1, sizeof(float));
  r->batch = calloc((size_t)(r->g.batch_floats_per_row * ROWS) + 1, sizeof(float));
}

static void rig_run(affine_rig *r, const float *x, const float *u, float *y) {
  float *regions[NNC_REGION_IO + 3] = {0};
  regions[NNC_REGION_IO + 0] = (float *)x;
  regions[NNC_REGION_IO + 1] = (float *)u;
  regions[NNC_REGION_IO + 2] = y;
  regions[NNC_REGION_FIXED] = r->fixed;
  regions[NNC_REGION_BATCH] = r->batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  r->step(regions, scalars, ROWS, 0, 0, 1, no_barrier, NULL);
}

static void rig_free(affine_rig *r) {
  free(r->fixed);
  free(r->batch);
  codegen_release(r->jit);
  graph_free(&r->g);
}

static void run_affine(const nnc_affine_params *p, nnc_affine_fn fn, const float *x, const float *u,
                       float *y) {
  affine_rig r;
  rig_build(&r, p, fn);
  rig_run(&r, x, u, y);
  rig_free(&r);
}

/* TensorFlow's MapCoordinate, in double. */
static double map_coord(int fill, double v, int len) {
  if (fill == NNC_FILL_CONSTANT) return v;
  if (len <= 1) return 0;
  if (fill == NNC_FILL_REFLECT) {
    double sz2 = 2.0 * len;
    if (v < 0) {
      v = sz2 * trunc(-v / sz2) + v;
      v = v < -len ? v + sz2 : -v - 1;
    } else if (v > len - 1) {
      v -= sz2 * trunc(v / sz2);
      if (v >= len) v = sz2 - v - 1;
    }
  } else if (fill == NNC_FILL_WRAP) {
    double sz = len - 1.0;
    if (v < 0)
      v += len * (trunc(-v / sz) + 1);
    else if (v > len - 1)
      v -= len * trunc(v / sz);
  }
  return v < 0 ? 0 : v > len - 1 ? len - 1 : v;
}

static double read_px(const float *x, int s, int yy, int xx, int c, double fill_value) {
  if (yy < 0 || yy >= H || xx < 0 || xx >= W) return fill_value;
  return x[((s * H + yy) * W + xx) * C + c];
}

/* The transform of Keras 3 as written in its layers: the output pixel
 * (x, y) reads the input at (a0 x + a1 y + a2, b0 x + b1 y + b2). */
static void matrix_of(const nnc_affine_params *p, double u0, double u1, double m[6]) {
  m[0] = 1, m[1] = 0, m[2] = 0, m[3] = 0, m[4] = 1, m[5] = 0;
  if (p->kind == NNC_AFFINE_ROTATE) {
    double a = (p->lo0 + (p->hi0 - p->lo0) * u0) * 3.14159265358979323846 / 180, cx = 0.5 * (W - 1),
           cy = 0.5 * (H - 1);
    m[0] = cos(a), m[1] = -sin(a), m[3] = sin(a), m[4] = cos(a);
    m[2] = cx - cx * m[0] - cy * m[1];
    m[5] = cy - cx * m[3] - cy * m[4];
  } else if (p->kind == NNC_AFFINE_TRANSLATE) {
    m[5] = -(p->lo0 + (p->hi0 - p->lo0) * u0) * H;
    m[2] = -(p->lo1 + (p->hi1 - p->lo1) * u1) * W;
  } else if (p->kind == NNC_AFFINE_ZOOM) {
    double zh = 1 + p->lo0 + (p->hi0 - p->lo0) * u0;
    double zw = p->tied ? zh : 1 + p->lo1 + (p->hi1 - p->lo1) * u1;
    m[0] = zw, m[4] = zh;
    m[2] = 0.5 * (W - 1) * (1 - zw);
    m[5] = 0.5 * (H - 1) * (1 - zh);
  } else if (p->kind == NNC_AFFINE_CROP) {
    m[5] = floor(u0 * p->lo0);
    m[2] = floor(u1 * p->lo1);
  } else if (p->kind == NNC_AFFINE_FLIP && u0 <= 0.5) {
    if (p->lo0 != 0) m[0] = -1, m[2] = W - 1;
    if (p->hi0 != 0) m[4] = -1, m[5] = H - 1;
  }
}

static void reference(const nnc_affine_params *p, const float *x, const float *u, double *y) {
  for (int s = 0; s < ROWS; s++) {
    double m[6];
    int row = p->kind == NNC_AFFINE_CROP ? 0 : s; /* a crop: the batch's first draws */
    matrix_of(p, u[2 * row], u[2 * row + 1], m);
    for (int yy = 0; yy < H; yy++)
      for (int xx = 0; xx < W; xx++) {
        double xin = map_coord((int)p->fill, m[0] * xx + m[1] * yy + m[2], W);
        double yin = map_coord((int)p->fill, m[3] * xx + m[4] * yy + m[5], H);
        for (int c = 0; c < C; c++) {
          double v;
          if (p->nearest) {
            v = read_px(x, s, (int)round(yin), (int)round(xin), c, p->fill_value);
          } else {
            double x0 = floor(xin), y0 = floor(yin);
            int xi = (int)x0, yi = (int)y0;
            double r0 = (x0 + 1 - xin) * read_px(x, s, yi, xi, c, p->fill_value) +
                        (xin - x0) * read_px(x, s, yi, xi + 1, c, p->fill_value);
            double r1 = (x0 + 1 - xin) * read_px(x, s, yi + 1, xi, c, p->fill_value) +
                        (xin - x0) * read_px(x, s, yi + 1, xi + 1, c, p->fill_value);
            v = (y0 + 1 - yin) * r0 + (yin - y0) * r1;
          }
          y[((s * H + yy) * W + xx) * C + c] = v;
        }
      }
  }
}

enum { N = ROWS * H * W * C };

static void fill_x(float *x) {
  for (int i = 0; i < N; i++) x[i] = (float)(1 + i % 7) + 0.1f * (float)(i / 7);
}

static const nnc_affine_params affine_cases[] = {
    /* kind, fill, nearest, tied, lo0, hi0, lo1, hi1, fill_value */
    {NNC_AFFINE_ROTATE, NNC_FILL_REFLECT, 0, 0, -72, 72, 0, 0, 0},
    {NNC_AFFINE_ROTATE, NNC_FILL_WRAP, 0, 0, -180, 180, 0, 0, 0},
    {NNC_AFFINE_ROTATE, NNC_FILL_CONSTANT, 0, 0, -90, 45, 0, 0, -2.5},
    {NNC_AFFINE_ROTATE, NNC_FILL_NEAREST, 1, 0, -30, 30, 0, 0, 0},
    {NNC_AFFINE_TRANSLATE, NNC_FILL_REFLECT, 0, 0, -0.9, 0.9, -0.7, 0.7, 0},
    {NNC_AFFINE_TRANSLATE, NNC_FILL_WRAP, 1, 0, -0.9, 0.9, -0.9, 0.9, 0},
    {NNC_AFFINE_TRANSLATE, NNC_FILL_CONSTANT, 0, 0, -0.3, 0.3, -0.4, 0.2, 1.5},
    {NNC_AFFINE_ZOOM, NNC_FILL_REFLECT, 0, 0, -0.5, 0.8, -0.3, 0.6, 0},
    {NNC_AFFINE_ZOOM, NNC_FILL_CONSTANT, 1, 1, -0.5, 0.9, 0, 0, 0},
    {NNC_AFFINE_FLIP, NNC_FILL_CONSTANT, 1, 0, 1, 1, 0, 0, 0},
    {NNC_AFFINE_FLIP, NNC_FILL_CONSTANT, 1, 0, 1, 0, 0, 0, 0},
    /* RandomCrop's shift: 2 start rows, 3 start columns */
    {NNC_AFFINE_CROP, NNC_FILL_CONSTANT, 1, 0, 2, 0, 3, 0, 0},
};
enum { N_AFFINE = sizeof affine_cases / sizeof affine_cases[0] };

static const float u_values[2 * ROWS] = {0.05f, 0.93f, 0.5f, 0.31f, 0.87f, 0.02f};

START_TEST(affine_against_reference) {
  const nnc_affine_params *p = &affine_cases[_i];
  static float x[N], y[N];
  static double want[N];
  fill_x(x);
  run_affine(p, NNC_AFFINE_FORWARD, x, u_values, y);
  reference(p, x, u_values, want);
  for (int i = 0; i < N; i++)
    ck_assert_msg(fabs(y[i] - want[i]) <= 1e-4 * (1 + fabs(want[i])),
                  "case %d element %d: got %.7g, want %.7g", _i, i, y[i], want[i]);
}
END_TEST

START_TEST(affine_hand_cases) {
  static float x[N], y[N];
  fill_x(x);
  /* a half turn about the centre (2, 1.5): output (x, y) reads input
   * (4 - x, 3 - y), whole pixels (nearest and bilinear agree) */
  for (int nearest = 0; nearest < 2; nearest++) {
    nnc_affine_params q = {NNC_AFFINE_ROTATE, NNC_FILL_CONSTANT, nearest, 0, 180, 180, 0, 0, 9};
    run_affine(&q, NNC_AFFINE_FORWARD, x, u_values, y);
    for (int yy = 0; yy < H; yy++)
      for (int xx = 0; xx < W; xx++)
        for (int c = 0; c < C; c++) {
          float want = x[((H - 1 - yy) * W + (W - 1 - xx)) * C + c];
          ck_assert_msg(fabsf(y[(yy * W + xx) * C + c] - want) < 1e-4f, "turn (%d,%d,%d)", yy, xx,
                        c);
        }
  }
  /* a horizontal flip (sample 0 has u0 = 0.05 <= 0.5: flipped; sample 2
   * has 0.87: kept) */
  nnc_affine_params f = {NNC_AFFINE_FLIP, NNC_FILL_CONSTANT, 1, 0, 1, 0, 0, 0, 0};
  run_affine(&f, NNC_AFFINE_FORWARD, x, u_values, y);
  for (int yy = 0; yy < H; yy++)
    for (int xx = 0; xx < W; xx++)
      for (int c = 0; c < C; c++) {
        ck_assert(y[(yy * W + xx) * C + c] == x[(yy * W + (W - 1 - xx)) * C + c]);
        int at = ((2 * H + yy) * W + xx) * C + c;
        ck_assert(y[at] == x[at]);
      }
  /* a shift down by one row (height factor 0.25 of 4) with constant fill 0 */
  nnc_affine_params t = {NNC_AFFINE_TRANSLATE, NNC_FILL_CONSTANT, 0, 0, 0.25, 0.25, 0, 0, 0};
  run_affine(&t, NNC_AFFINE_FORWARD, x, u_values, y);
  for (int yy = 0; yy < H; yy++)
    for (int xx = 0; xx < W; xx++)
      for (int c = 0; c < C; c++) {
        float want = yy == 0 ? 0.0f : x[((yy - 1) * W + xx) * C + c];
        ck_assert_msg(fabsf(y[(yy * W + xx) * C + c] - want) < 1e-5f, "shift (%d,%d,%d)", yy, xx,
                      c);
      }
}
END_TEST

/* The adjoint is the gradient: dL/dx_e of L = sum(w * op(x)) by central
 * differences of the forward op equals adjoint(w)_e. */
START_TEST(affine_adjoint_against_differences) {
  const nnc_affine_params *p = &affine_cases[_i];
  static float x[N], w[N], g[N], y[N];
  fill_x(x);
  for (int i = 0; i < N; i++) w[i] = (float)cos(0.37 * i + 0.2);
  run_affine(p, NNC_AFFINE_ADJOINT, w, u_values, g);
  affine_rig fwd;
  rig_build(&fwd, p, NNC_AFFINE_FORWARD);
  const double h = 0.25; /* L is linear in x: the difference is exact up to rounding */
  int nonzero = 0;
  for (int e = 0; e < N; e += 3) {
    double l[2];
    for (int side = 0; side < 2; side++) {
      float keep = x[e];
      x[e] = (float)(keep + (side ? -h : h));
      rig_run(&fwd, x, u_values, y);
      x[e] = keep;
      double s = 0;
      for (int i = 0; i < N; i++) s += (double)w[i] * y[i];
      l[side] = s;
    }
    double diff = (l[0] - l[1]) / (2 * h);
    if (fabs(diff) > 1e-3) nonzero++;
    ck_assert_msg(fabs(g[e] - diff) <= 2e-3 * (1 + fabs(diff)),
                  "case %d element %d: adjoint %.7g, difference %.7g", _i, e, g[e], diff);
  }
  ck_assert_int_gt(nonzero, 0);
  rig_free(&fwd);
}
END_TEST

/* ---- the random layers in training ---- */

/* Input(4) -> Dense -> Reshape [4, 5, 2] -> layer -> Flatten -> Dense 1. */
static const char *train_spec(const char *layer) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 4], 'name': 'in'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'proj', 'units': 40}}, "
           "{'class_name': 'Reshape', 'config': {'name': 'r', 'target_shape': [4, 5, 2]}}, %s, "
           "{'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'out', 'units': 1}}]}, "
           "'compile_config': {'optimizer': {'class_name': 'SGD', 'config': {'learning_rate': "
           "0.1}}, 'loss': 'mse'}}",
           layer);
  return Q(buf);
}

/* proj/kernel after 3 train_on_batch steps of 7 samples on `threads` threads. */
static nnc_array trained(const char *layer, int threads) {
  float xv[7 * 4], yv[7];
  for (int i = 0; i < 7 * 4; i++) xv[i] = (float)sin(0.7 * i + 0.3);
  for (int i = 0; i < 7; i++) yv[i] = (float)(0.1 * i - 0.2);
  nnc_array x = testutil_f32(xv, 7, 4), y = testutil_f32(yv, 7, 1);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(train_spec(layer), "model.json", &m, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_model_set_threads(m, threads, &st) == NNC_OK);
  for (int step = 0; step < 3; step++) {
    TEST_LOGS(logs);
    ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  }
  nnc_array w;
  ck_assert(nnc_model_get_weight(m, "proj/kernel", &w, &st) == NNC_OK);
  nnc_model_free(m);
  return w;
}

static int same_array(const nnc_array *a, const nnc_array *b) {
  return !memcmp(a->data, b->data, (size_t)nnc_array_count(a) * sizeof(float));
}

START_TEST(training_is_deterministic_and_seeded) {
  const char *layer =
      "{'class_name': 'RandomRotation', 'config': {'name': 'rot', 'factor': 0.2, 'seed': 5}}, "
      "{'class_name': 'RandomFlip', 'config': {'name': 'flip', 'seed': 5}}, "
      "{'class_name': 'RandomZoom', 'config': {'name': 'zoom', 'height_factor': 0.3, "
      "'fill_mode': 'constant', 'interpolation': 'nearest'}}, "
      "{'class_name': 'RandomTranslation', 'config': {'name': 'tr', 'height_factor': 0.2, "
      "'width_factor': 0.2, 'fill_mode': 'wrap'}}, "
      "{'class_name': 'RandomContrast', 'config': {'name': 'con', 'factor': [0.2, 0.4], "
      "'value_range': [-5, 5]}}, "
      "{'class_name': 'Resizing', 'config': {'name': 'aa', 'height': 3, 'width': 2, "
      "'antialias': true}}";
  nnc_array first = trained(layer, 1);
  for (int threads = 2; threads <= 3; threads++) {
    nnc_array w = trained(layer, threads);
    ck_assert_msg(same_array(&first, &w), "threads %d differ", threads);
    nnc_array_free(&w);
  }
  /* the gradient flows through the transforms into proj: it moved, and a
   * different seed (other draws) moves it elsewhere */
  const char *other =
      "{'class_name': 'RandomRotation', 'config': {'name': 'rot', 'factor': 0.2, 'seed': 6}}, "
      "{'class_name': 'RandomFlip', 'config': {'name': 'flip', 'seed': 5}}, "
      "{'class_name': 'RandomZoom', 'config': {'name': 'zoom', 'height_factor': 0.3, "
      "'fill_mode': 'constant', 'interpolation': 'nearest'}}, "
      "{'class_name': 'RandomTranslation', 'config': {'name': 'tr', 'height_factor': 0.2, "
      "'width_factor': 0.2, 'fill_mode': 'wrap'}}, "
      "{'class_name': 'RandomContrast', 'config': {'name': 'con', 'factor': [0.2, 0.4], "
      "'value_range': [-5, 5]}}, "
      "{'class_name': 'Resizing', 'config': {'name': 'aa', 'height': 3, 'width': 2, "
      "'antialias': true}}";
  nnc_array w = trained(other, 1);
  ck_assert(!same_array(&first, &w));
  nnc_array_free(&w);
  nnc_array_free(&first);
}
END_TEST

/* RandomFlip flips a sample when its uniform is <= 0.5. Over 2000 draws
 * the count of flips is Binomial(2000, 1/2): mean 1000, sd 22.4; the test
 * allows 5 sd. The draws come from UNIFORM_NOISE compiled alone. */
START_TEST(flip_rate_is_one_half) {
  enum { DRAWS = 2000 };
  nnc_status st = {0};
  nnc_graph g;
  nnc_program prog;
  memset(&prog, 0, sizeof prog);
  ck_assert(graph_init(&g, "train", &st) == NNC_OK);
  int64_t ud[1] = {2};
  int ui = graph_input(&g, 0, batched(1, ud), "shape", &st);
  int u = graph_uniform_noise(&g, ui, 0x1234, &st);
  ck_assert_msg(u >= 0 && graph_output(&g, u, 0, &st) >= 0, "%s", st.message);
  prog.n_inputs = 1;
  ck_assert(pass_fuse(&g, &st) == NNC_OK);
  ck_assert(pass_plan_memory_for(&g, &prog, &st) == NNC_OK);
  const nnc_graph *list[1] = {&g};
  nnc_codegen_options opts = {0};
  nnc_jit *jit = NULL;
  nnc_step_fn step = NULL;
  ck_assert_msg(codegen_compile(list, 1, &prog, &opts, &jit, &step, &st) == NNC_OK, "%s",
                st.message);
  static float in[2 * DRAWS], out[2 * DRAWS], again[2 * DRAWS];
  float *fixed = calloc((size_t)g.fixed_floats + 1, sizeof(float));
  float *batch = calloc((size_t)(g.batch_floats_per_row * DRAWS) + 1, sizeof(float));
  float *regions[NNC_REGION_IO + 2] = {0};
  regions[NNC_REGION_IO] = in;
  regions[NNC_REGION_IO + 1] = out;
  regions[NNC_REGION_FIXED] = fixed;
  regions[NNC_REGION_BATCH] = batch;
  float scalars[NNC_SCALAR_COUNT] = {0};
  step(regions, scalars, DRAWS, 42, 0, 1, no_barrier, NULL);
  int flips = 0;
  double sum = 0;
  for (int i = 0; i < DRAWS; i++) {
    ck_assert(out[2 * i] >= 0 && out[2 * i] < 1);
    flips += out[2 * i] <= 0.5f;
    sum += out[2 * i + 1];
  }
  ck_assert_msg(abs(flips - DRAWS / 2) <= 112, "%d flips of %d", flips, DRAWS);
  /* the second draw: mean 1/2, sd sqrt(1/12 / 2000) = 0.0065 */
  ck_assert_msg(fabs(sum / DRAWS - 0.5) <= 5 * 0.0065, "mean %g", sum / DRAWS);
  /* the same step word draws the same values; another word others */
  regions[NNC_REGION_IO + 1] = again;
  step(regions, scalars, DRAWS, 42, 0, 1, no_barrier, NULL);
  ck_assert(!memcmp(out, again, sizeof out));
  step(regions, scalars, DRAWS, 43, 0, 1, no_barrier, NULL);
  ck_assert(memcmp(out, again, sizeof out));
  free(fixed);
  free(batch);
  codegen_release(jit);
  graph_free(&g);
}
END_TEST

/* Input [2, 2, 1] -> RandomContrast -> Flatten -> Dense 1 (kernel ones, no
 * bias): the loss of one train_on_batch step (train phase) and of
 * evaluate (inference) on 8 samples with target 0. */
static void contrast_losses(const char *contrast, const float *xv, double *train, double *test) {
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 2, 2, 1], 'name': "
           "'in'}}, %s, {'class_name': 'Flatten', 'config': {'name': 'f'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': 1, 'use_bias': false, "
           "'kernel_initializer': 'ones'}}]}, 'compile_config': {'optimizer': {'class_name': "
           "'SGD', 'config': {'learning_rate': 0.0}}, 'loss': 'mse'}}",
           contrast);
  nnc_model *m;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(buf), "model.json", &m, &st) == NNC_OK, "%s", st.message);
  float yv[8] = {0};
  nnc_array x = {.dtype = NNC_F32, .rank = 4, .shape = {8, 2, 2, 1}, .data = (void *)xv};
  nnc_array y = testutil_f32(yv, 8, 1);
  TEST_LOGS(logs);
  ck_assert_msg(nnc_model_train_on_batch(m, &x, &y, &logs, &st) == NNC_OK, "%s", st.message);
  *train = nnc_logs_get(&logs, "loss");
  TEST_LOGS(elogs);
  ck_assert_msg(nnc_model_evaluate(m, &x, &y, 8, &elogs, &st) == NNC_OK, "%s", st.message);
  *test = nnc_logs_get(&elogs, "loss");
  nnc_model_free(m);
}

START_TEST(random_contrast) {
  float xv[32];
  for (int i = 0; i < 32; i++) xv[i] = (float)(0.3 * sin(1.7 * i) + 0.4);
  /* contrast about the per-channel mean keeps each sample's sum: the
   * Dense-of-ones prediction, hence the loss, is the same in both phases
   * whatever the draws (value_range wide enough not to clip) */
  double train, test;
  contrast_losses("{'class_name': 'RandomContrast', 'config': {'name': 'c', 'factor': 0.9, "
                  "'value_range': [-10, 10]}}",
                  xv, &train, &test);
  ck_assert_msg(fabs(train - test) <= 1e-5 * test, "train %g, test %g", train, test);
  /* factor 0 draws f = 1: the train phase is clip(x, value_range) alone,
   * inference the identity. Sums by hand against target 0. */
  float cv[32];
  double want_train = 0, want_test = 0;
  for (int i = 0; i < 32; i++) cv[i] = (float)(1.5 * sin(0.9 * i));
  for (int s = 0; s < 8; s++) {
    double a = 0, b = 0;
    for (int k = 0; k < 4; k++) {
      double v = cv[4 * s + k];
      a += v < 0 ? 0 : v > 1 ? 1 : v;
      b += v;
    }
    want_train += a * a / 8;
    want_test += b * b / 8;
  }
  contrast_losses("{'class_name': 'RandomContrast', 'config': {'name': 'c', 'factor': 0, "
                  "'value_range': [0, 1]}}",
                  cv, &train, &test);
  ck_assert_msg(fabs(train - want_train) <= 1e-5 * want_train, "train %g, want %g", train,
                want_train);
  ck_assert_msg(fabs(test - want_test) <= 1e-5 * want_test, "test %g, want %g", test, want_test);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("preprocessing");
  TCase *t = tcase_create("layers");
  tcase_add_test(t, rescaling);
  tcase_add_test(t, normalization_from_config);
  tcase_add_test(t, resizing_bilinear_and_nearest);
  tcase_add_test(t, resizing_antialias_downscale);
  tcase_add_test(t, resizing_bicubic);
  tcase_add_test(t, center_crop);
  tcase_add_test(t, random_layers_are_identity_in_inference);
  tcase_add_test(t, refusals_name_the_key);
  tcase_add_loop_test(t, gradients, 0, (int)(sizeof grad_cases / sizeof grad_cases[0]));
  tcase_add_loop_test(t, affine_against_reference, 0, N_AFFINE);
  tcase_add_test(t, affine_hand_cases);
  tcase_add_loop_test(t, affine_adjoint_against_differences, 0, N_AFFINE);
  tcase_add_test(t, training_is_deterministic_and_seeded);
  tcase_add_test(t, flip_rate_is_one_half);
  tcase_add_test(t, random_contrast);
  tcase_set_timeout(t, 120);
  suite_add_tcase(s, t);
  return testutil_run(s);
}
