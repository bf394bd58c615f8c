/* The initializers beyond VarianceScaling's family (test_initializers.c):
 * Orthogonal, Identity, Constant, TruncatedNormal, RandomUniform, and the
 * Keras 3 aliases. Truth: keras/src/initializers/random_initializers.py and
 * constant_initializers.py:
 *   Orthogonal(gain): the weight as rows x cols (rows: all axes but the
 *     last); Q of the QR of a normal max x min matrix, sign-fixed by
 *     diag(R), transposed when rows < cols, times gain: so Q^T Q = gain^2 I
 *     (rows >= cols) or Q Q^T = gain^2 I (rows < cols);
 *   Identity(gain): gain * eye(rows, cols), matrices only;
 *   Constant(value); TruncatedNormal(mean, stddev): N(mean, stddev) redrawn
 *     beyond 2 stddev (no correction factor); RandomUniform(minval, maxval).
 * Values cannot match Keras's (its RNG differs); the distributions must. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define Q testutil_json

/* InputLayer [null, in] -> Dense(units, kernel_initializer=init, bias_initializer=bias). */
static const char *dense(int in, int units, const char *init, const char *bias) {
  static char buf[2048];
  snprintf(buf, sizeof buf,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, %d], 'name': 'in'}},"
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, "
           "'kernel_initializer': %s, 'bias_initializer': %s}}]}}",
           in, units, init, bias);
  return Q(buf);
}

static nnc_array kernel_of(const char *json, uint64_t seed) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(json, "init.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_set_seed(m, seed, &st) == NNC_OK);
  nnc_array w;
  ck_assert(nnc_model_get_weight(m, "d/kernel", &w, &st) == NNC_OK);
  nnc_model_free(m);
  return w;
}

/* max |(A A^T or A^T A) - gain^2 I| over the smaller Gram matrix */
static double gram_error(const nnc_array *w, double gain) {
  int64_t r = w->shape[0], c = w->shape[1];
  const float *v = w->data;
  int by_cols = r >= c;
  int64_t n = by_cols ? c : r, len = by_cols ? r : c;
  double worst = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < n; j++) {
      double dot = 0;
      for (int64_t k = 0; k < len; k++)
        dot += by_cols ? (double)v[k * c + i] * v[k * c + j] : (double)v[i * c + k] * v[j * c + k];
      double err = fabs(dot - (i == j ? gain * gain : 0.0));
      worst = err > worst ? err : worst;
    }
  return worst;
}

START_TEST(orthogonal_is_orthogonal_tall_and_wide) {
  static const int shapes[][2] = {{120, 30}, {30, 120}, {64, 64}, {7, 1}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    nnc_array w = kernel_of(dense(shapes[s][0], shapes[s][1], "'orthogonal'", "'zeros'"), 11);
    double err = gram_error(&w, 1.0);
    ck_assert_msg(err < 1e-5, "Orthogonal %dx%d: |Q^T Q - I| = %g", shapes[s][0], shapes[s][1],
                  err);
    nnc_array_free(&w);
  }
  nnc_array w = kernel_of(
      dense(50, 20, "{'class_name': 'Orthogonal', 'config': {'gain': 1.5, 'seed': 4}}", "'zeros'"),
      11);
  double err = gram_error(&w, 1.5);
  ck_assert_msg(err < 1e-5 * 2.25, "Orthogonal(gain=1.5): |Q^T Q - 2.25 I| = %g", err);
  nnc_array_free(&w);
}
END_TEST

/* The entries of a tall 400 x 10 Q have mean 0 (columns of unit norm with
 * random signs: a draw that is not centred, or a sign rule that favours one
 * sign, shows); the same seed gives the same Q, another seed another. */
START_TEST(orthogonal_depends_on_seed_and_is_unbiased) {
  nnc_array a = kernel_of(dense(400, 10, "'orthogonal'", "'zeros'"), 1);
  nnc_array b = kernel_of(dense(400, 10, "'orthogonal'", "'zeros'"), 2);
  nnc_array a2 = kernel_of(dense(400, 10, "'orthogonal'", "'zeros'"), 1);
  ck_assert(memcmp(a.data, b.data, sizeof(float) * 4000) != 0);
  ck_assert_mem_eq(a.data, a2.data, sizeof(float) * 4000);
  const float *v = a.data;
  double sum = 0;
  for (int i = 0; i < 4000; i++) sum += v[i];
  /* mean of 4000 entries of variance 1/400: standard error 0.0008 */
  ck_assert_msg(fabs(sum / 4000) < 0.004, "mean %g", sum / 4000);
  nnc_array_free(&a);
  nnc_array_free(&b);
  nnc_array_free(&a2);
}
END_TEST

START_TEST(identity_is_gain_times_eye) {
  nnc_array w = kernel_of(
      dense(5, 7, "{'class_name': 'IdentityInitializer', 'config': {'gain': 0.5}}", "'zeros'"), 1);
  const float *v = w.data;
  for (int r = 0; r < 5; r++)
    for (int c = 0; c < 7; c++) ck_assert_float_eq(v[r * 7 + c], r == c ? 0.5f : 0.0f);
  nnc_array_free(&w);
  w = kernel_of(dense(6, 3, "'identity'", "'zeros'"), 1);
  v = w.data;
  for (int r = 0; r < 6; r++)
    for (int c = 0; c < 3; c++) ck_assert_float_eq(v[r * 3 + c], r == c ? 1.0f : 0.0f);
  nnc_array_free(&w);
}
END_TEST

static void spec_error(const char *json, const char *want) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_int_eq(nnc_model_load_string(json, "init.json", &m, &st), NNC_ERR_SPEC);
  ck_assert_msg(strstr(st.message, want), "'%s' not in: %s", want, st.message);
}

/* Keras raises for these at build time. */
START_TEST(rank_requirements) {
  spec_error(dense(4, 3, "'zeros'", "'orthogonal'"),
             "the Orthogonal initializer needs a weight of rank 2 or more, but bias of layer "
             "\"d\" has rank 1");
  spec_error(dense(4, 3, "'zeros'", "'identity'"),
             "the Identity initializer needs a matrix (rank 2), but bias");
  spec_error(dense(4, 3, "{'class_name': 'Orthogonal', 'config': {'gain': 'big'}}", "'zeros'"),
             "kernel_initializer.config.gain");
}
END_TEST

static void moments(const nnc_array *w, double *mean, double *var, double *lo, double *hi) {
  int64_t n = nnc_array_count(w);
  const float *v = w->data;
  double s = 0, s2 = 0;
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int64_t i = 0; i < n; i++) {
    s += v[i];
    s2 += (double)v[i] * v[i];
    *lo = v[i] < *lo ? v[i] : *lo;
    *hi = v[i] > *hi ? v[i] : *hi;
  }
  *mean = s / (double)n;
  *var = s2 / (double)n - *mean * *mean;
}

START_TEST(constant_truncated_normal_and_uniform) {
  nnc_array w = kernel_of(
      dense(200, 60, "{'class_name': 'Constant', 'config': {'value': 0.25}}", "'zeros'"), 3);
  for (int i = 0; i < 12000; i++) ck_assert_float_eq(((float *)w.data)[i], 0.25f);
  nnc_array_free(&w);

  double mean, var, lo, hi;
  /* N(1, 0.2) truncated at 2 stddev: variance (0.2 * 0.87962566)^2, within [0.6, 1.4] */
  w = kernel_of(dense(200, 60,
                      "{'class_name': 'TruncatedNormal', 'config': {'mean': 1.0, 'stddev': 0.2}}",
                      "'zeros'"),
                3);
  moments(&w, &mean, &var, &lo, &hi);
  double sd = 0.2 * 0.87962566103423978;
  ck_assert_msg(fabs(mean - 1.0) < 4 * sd / sqrt(12000.0), "mean %g", mean);
  ck_assert_msg(fabs(var / (sd * sd) - 1) < 0.05, "variance %g, want %g", var, sd * sd);
  ck_assert_msg(lo >= 0.6 - 1e-6 && hi <= 1.4 + 1e-6 && lo < 0.62 && hi > 1.38, "range [%g, %g]",
                lo, hi);
  nnc_array_free(&w);

  /* U(-1, 3): mean 1, variance 16/12 */
  w = kernel_of(dense(200, 60,
                      "{'class_name': 'RandomUniform', 'config': {'minval': -1, 'maxval': 3}}",
                      "'zeros'"),
                3);
  moments(&w, &mean, &var, &lo, &hi);
  ck_assert_msg(fabs(mean - 1.0) < 4 * sqrt(16.0 / 12 / 12000), "mean %g", mean);
  ck_assert_msg(fabs(var / (16.0 / 12) - 1) < 0.05, "variance %g", var);
  ck_assert(lo >= -1 && hi <= 3 && lo < -0.99 && hi > 2.99);
  nnc_array_free(&w);
}
END_TEST

/* VarianceScaling on convolution kernels, every mode and distribution, with
 * Keras's compute_fans: for a kernel of rank > 2 the receptive field is the
 * product of all axes but the last two, fan_in = receptive field x
 * shape[-2], fan_out = receptive field x shape[-1] (whatever the layer: a
 * Conv2DTranspose kernel [k.., filters, in] gets fan_in from its filters).
 * Kernels of 12000 values (variance within 5 %: 4 standard errors for a
 * normal, 6 for a uniform; a swapped fan is off by 3x), bounds exact. */
static const char *const conv_modes[3] = {"fan_in", "fan_out", "fan_avg"};
static const char *const conv_dists[3] = {"uniform", "truncated_normal", "untruncated_normal"};

static void check_conv_kernel(const nnc_model *m, const char *name, int mode, int dist,
                              const int64_t *shape, int rank) {
  nnc_array w;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &w, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(w.rank, rank);
  double rf = 1;
  for (int a = 0; a < rank; a++) ck_assert_int_eq(w.shape[a], shape[a]);
  for (int a = 0; a + 2 < rank; a++) rf *= (double)shape[a];
  double fan_in = rf * (double)shape[rank - 2], fan_out = rf * (double)shape[rank - 1];
  double fan = mode == 0 ? fan_in : mode == 1 ? fan_out : (fan_in + fan_out) / 2;
  double want_var = 1.5 / fan, mean, var, lo, hi;
  moments(&w, &mean, &var, &lo, &hi);
  int64_t n = nnc_array_count(&w);
  nnc_array_free(&w);
  double max_abs = fmax(-lo, hi), sd = sqrt(want_var), slack = 1 + 1e-6;
  ck_assert_msg(fabs(var / want_var - 1) < 0.05, "%s %s %s: variance %g, Keras's 1.5/%g = %g", name,
                conv_modes[mode], conv_dists[dist], var, fan, want_var);
  ck_assert_msg(fabs(mean) < 4 * sd / sqrt((double)n), "%s: mean %g", name, mean);
  if (dist == 0) {
    double limit = sqrt(3 * want_var);
    ck_assert_msg(max_abs <= limit * slack && max_abs > 0.995 * limit, "%s %s: max %g, limit %g",
                  name, conv_modes[mode], max_abs, limit);
  } else if (dist == 1) {
    double bound = 2 * sd / 0.87962566103423978;
    ck_assert_msg(max_abs <= bound * slack && max_abs > 0.97 * bound, "%s %s: max %g, bound %g",
                  name, conv_modes[mode], max_abs, bound);
  } else {
    ck_assert_msg(max_abs > 2 * sd / 0.87962566103423978 && max_abs < 6 * sd,
                  "%s %s: max %g for sd %g", name, conv_modes[mode], max_abs, sd);
  }
}

START_TEST(variance_scaling_on_conv_kernels) {
  int mode = _i / 3, dist = _i % 3;
  char init[256], spec[4096];
  snprintf(init, sizeof init,
           "{'class_name': 'VarianceScaling', 'config': {'scale': 1.5, 'mode': '%s', "
           "'distribution': '%s'}}",
           conv_modes[mode], conv_dists[dist]);
  /* [5,5,40] -> Conv2D 12 (kernel [5,5,40,12]) -> [1,1,12] -> Conv2DTranspose 40 (kernel
   * [5,5,40,12]) -> [5,5,40] -> SeparableConv2D 25, multiplier 12 (depthwise [5,5,40,12],
   * pointwise [1,1,480,25]) */
  snprintf(spec, sizeof spec,
           "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
           "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5, 5, 40]}},"
           "{'class_name': 'Conv2D', 'config': {'name': 'c', 'filters': 12, 'kernel_size': 5, "
           "'kernel_initializer': %s}},"
           "{'class_name': 'Conv2DTranspose', 'config': {'name': 't', 'filters': 40, "
           "'kernel_size': 5, 'kernel_initializer': %s}},"
           "{'class_name': 'SeparableConv2D', 'config': {'name': 's', 'filters': 25, "
           "'kernel_size': 5, 'depth_multiplier': 12, 'depthwise_initializer': %s, "
           "'pointwise_initializer': %s}}]}}",
           init, init, init, init);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(Q(spec), "conv_init.json", &m, &st) == NNC_OK, "%s",
                st.message);
  ck_assert(nnc_model_set_seed(m, 77, &st) == NNC_OK);
  static const int64_t conv[4] = {5, 5, 40, 12}, depthwise[4] = {5, 5, 40, 12},
                       pointwise[4] = {1, 1, 480, 25};
  check_conv_kernel(m, "c/kernel", mode, dist, conv, 4);
  check_conv_kernel(m, "t/kernel", mode, dist, conv, 4);
  check_conv_kernel(m, "s/depthwise_kernel", mode, dist, depthwise, 4);
  check_conv_kernel(m, "s/pointwise_kernel", mode, dist, pointwise, 4);
  nnc_model_free(m);
}
END_TEST

/* Constant and TruncatedNormal on a conv kernel and a bias: no fans. */
START_TEST(constant_and_truncated_normal_on_conv) {
  const char *spec = Q(
      "{'class_name': 'Sequential', 'config': {'name': 'm', 'layers': ["
      "{'class_name': 'InputLayer', 'config': {'batch_shape': [null, 5, 5, 40]}},"
      "{'class_name': 'Conv2D', 'config': {'name': 'c', 'filters': 12, 'kernel_size': 5, "
      "'kernel_initializer': {'class_name': 'TruncatedNormal', 'config': {'mean': -0.5, "
      "'stddev': 0.1}}, 'bias_initializer': {'class_name': 'Constant', 'config': {'value': -3}}}},"
      "{'class_name': 'Conv2DTranspose', 'config': {'name': 't', 'filters': 3, 'kernel_size': 2, "
      "'kernel_initializer': {'class_name': 'Constant', 'config': {'value': 0.125}}}}]}}");
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "conv_init.json", &m, &st) == NNC_OK, "%s", st.message);
  nnc_array w;
  double mean, var, lo, hi;
  ck_assert(nnc_model_get_weight(m, "c/kernel", &w, &st) == NNC_OK);
  moments(&w, &mean, &var, &lo, &hi);
  double sd = 0.1 * 0.87962566103423978;
  ck_assert_msg(fabs(mean + 0.5) < 4 * sd / sqrt(12000.0), "mean %g", mean);
  ck_assert_msg(fabs(var / (sd * sd) - 1) < 0.05, "variance %g, want %g", var, sd * sd);
  ck_assert_msg(lo >= -0.7 - 1e-6 && hi <= -0.3 + 1e-6 && lo < -0.69 && hi > -0.31,
                "range [%g, %g]", lo, hi);
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "c/bias", &w, &st) == NNC_OK);
  for (int i = 0; i < 12; i++) ck_assert_float_eq(((float *)w.data)[i], -3.0f);
  nnc_array_free(&w);
  ck_assert(nnc_model_get_weight(m, "t/kernel", &w, &st) == NNC_OK);
  ck_assert_int_eq(nnc_array_count(&w), 2 * 2 * 3 * 12);
  for (int i = 0; i < 144; i++) ck_assert_float_eq(((float *)w.data)[i], 0.125f);
  nnc_array_free(&w);
  nnc_model_free(m);
}
END_TEST

/* Every spelling Keras 3's deserializer accepts (class names, snake_case,
 * its aliases) and tfjs's camelCase names load. */
START_TEST(aliases_load) {
  static const char *const names[] = {"'orthogonal'",
                                      "'Orthogonal'",
                                      "'OrthogonalInitializer'",
                                      "'identity'",
                                      "'IdentityInitializer'",
                                      "'glorot_normal'",
                                      "'GlorotNormal'",
                                      "'he_uniform'",
                                      "'lecun_normal'",
                                      "'lecunNormal'",
                                      "'truncated_normal'",
                                      "'TruncatedNormal'",
                                      "'random_uniform'",
                                      "'uniform'",
                                      "'normal'",
                                      "'random_normal'",
                                      "'variance_scaling'",
                                      "'constant'",
                                      "'zeros'",
                                      "'zero'",
                                      "'ones'",
                                      "'one'"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    nnc_model *m = NULL;
    nnc_status st;
    ck_assert_msg(nnc_model_load_string(dense(4, 4, names[i], "'zeros'"), "init.json", &m, &st) ==
                      NNC_OK,
                  "%s: %s", names[i], st.message);
    nnc_model_free(m);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("initializer_kinds");
  TCase *tc = tcase_create("kinds");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, orthogonal_is_orthogonal_tall_and_wide);
  tcase_add_test(tc, orthogonal_depends_on_seed_and_is_unbiased);
  tcase_add_test(tc, identity_is_gain_times_eye);
  tcase_add_test(tc, rank_requirements);
  tcase_add_test(tc, constant_truncated_normal_and_uniform);
  tcase_add_test(tc, aliases_load);
  tcase_add_loop_test(tc, variance_scaling_on_conv_kernels, 0, 9);
  tcase_add_test(tc, constant_and_truncated_normal_on_conv);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
