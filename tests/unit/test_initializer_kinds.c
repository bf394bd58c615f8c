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
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
