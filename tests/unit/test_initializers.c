/* Initial weights follow Keras 3's fan rules and distributions on
 * non-square kernels, where fan_in != fan_out. The truth is Keras 3's
 * keras/src/initializers/random_initializers.py (VarianceScaling.__call__,
 * compute_fans): for a kernel [in, out], fan_in = in, fan_out = out,
 * fan_avg = (in + out) / 2; scale' = scale / max(1, fan);
 *   uniform:            U(-sqrt(3 scale'), +sqrt(3 scale'))
 *   truncated_normal:   N(0, s) redrawn outside 2 s, s = sqrt(scale') / 0.8796...
 *   untruncated_normal: N(0, sqrt(scale'))
 * so the variance is scale' in all three. Each kernel is checked on
 * 300x40 = 12000 values (and on the 40x300 kernel of the next layer): the
 * sample variance within 5 % of scale' (about 4 standard errors; a fan swap
 * is a factor 7.5, a missing truncation correction 23 %), the mean near 0,
 * and the largest |w| against the distribution's bound. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"

#define WIDE 300
#define NARROW 40

typedef enum { FAN_IN, FAN_OUT, FAN_AVG } fan_mode;
typedef enum { UNIFORM, TRUNCATED, UNTRUNCATED } distribution;

typedef struct init_case {
  const char *json; /* the kernel_initializer as a spec writes it */
  double scale;
  fan_mode mode;
  distribution dist;
} init_case;

static const init_case cases[] = {
    /* the named initializers (Keras 3 classes GlorotUniform ... HeUniform) */
    {"\"glorot_uniform\"", 1.0, FAN_AVG, UNIFORM},
    {"{\"class_name\": \"GlorotNormal\", \"config\": {\"seed\": null}}", 1.0, FAN_AVG, TRUNCATED},
    {"\"he_normal\"", 2.0, FAN_IN, TRUNCATED},
    {"{\"class_name\": \"HeUniform\", \"config\": {}}", 2.0, FAN_IN, UNIFORM},
    {"\"lecun_normal\"", 1.0, FAN_IN, TRUNCATED},
    {"\"lecun_uniform\"", 1.0, FAN_IN, UNIFORM},
/* VarianceScaling in every mode and distribution, with a scale of its own */
#define VS(mode, dist)                                                                             \
  "{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 1.7, \"mode\": \"" mode           \
  "\", \"distribution\": \"" dist "\"}}"
    {VS("fan_in", "truncated_normal"), 1.7, FAN_IN, TRUNCATED},
    {VS("fan_in", "untruncated_normal"), 1.7, FAN_IN, UNTRUNCATED},
    {VS("fan_in", "uniform"), 1.7, FAN_IN, UNIFORM},
    {VS("fan_out", "truncated_normal"), 1.7, FAN_OUT, TRUNCATED},
    {VS("fan_out", "untruncated_normal"), 1.7, FAN_OUT, UNTRUNCATED},
    {VS("fan_out", "uniform"), 1.7, FAN_OUT, UNIFORM},
    {VS("fan_avg", "truncated_normal"), 1.7, FAN_AVG, TRUNCATED},
    {VS("fan_avg", "untruncated_normal"), 1.7, FAN_AVG, UNTRUNCATED},
    {VS("fan_avg", "uniform"), 1.7, FAN_AVG, UNIFORM},
    /* Keras: "normal" is an alias of "truncated_normal"; the defaults are
     * scale 1, fan_in, truncated_normal */
    {VS("fan_out", "normal"), 1.7, FAN_OUT, TRUNCATED},
    {"{\"class_name\": \"VarianceScaling\", \"config\": {}}", 1.0, FAN_IN, TRUNCATED},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* The standard deviation of N(0, 1) truncated to [-2, 2], from its
 * definition: 1 - 2 * 2 phi(2) / (Phi(2) - Phi(-2)). Keras writes it as the
 * constant 0.87962566103423978. */
static double truncated_sd(void) {
  double phi2 = exp(-2.0) / sqrt(2.0 * 3.14159265358979323846), mass = erf(2.0 / sqrt(2.0));
  return sqrt(1.0 - 4.0 * phi2 / mass);
}

/* InputLayer(WIDE) -> Dense(NARROW) -> Dense(WIDE), both kernels from init. */
static nnc_model *model_with(const char *init) {
  char spec[2048];
  snprintf(spec, sizeof spec,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, %d], "
           "\"name\": \"in\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"narrowing\", \"units\": %d, "
           "\"kernel_initializer\": %s}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"widening\", \"units\": %d, "
           "\"kernel_initializer\": %s}}]}}",
           WIDE, NARROW, init, WIDE, init);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "initializers.json", &m, &st) == NNC_OK, "%s",
                st.message);
  ck_assert_msg(nnc_model_set_seed(m, 20260, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_is_built(m));
  return m;
}

static void check_kernel(const nnc_model *m, const char *name, const init_case *c, int64_t in,
                         int64_t out) {
  nnc_array w;
  nnc_status st;
  ck_assert_msg(nnc_model_get_weight(m, name, &w, &st) == NNC_OK, "%s", st.message);
  ck_assert_int_eq(w.rank, 2);
  ck_assert_int_eq(w.shape[0], in);
  ck_assert_int_eq(w.shape[1], out);
  int64_t n = in * out;
  const float *v = w.data;
  double sum = 0, sum2 = 0, max_abs = 0;
  for (int64_t i = 0; i < n; i++) {
    sum += v[i];
    sum2 += (double)v[i] * v[i];
    if (fabs(v[i]) > max_abs) max_abs = fabs(v[i]);
  }
  nnc_array_free(&w);
  double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
  double fan = c->mode == FAN_IN ? (double)in : c->mode == FAN_OUT ? (double)out : (in + out) / 2.0;
  double want_var = c->scale / fan, sd = sqrt(want_var);

  ck_assert_msg(fabs(var / want_var - 1.0) < 0.05,
                "%s with %s: variance %.6g, Keras's scale/fan = %.6g (fan %g)", name, c->json, var,
                want_var, fan);
  ck_assert_msg(fabs(mean) < 4.0 * sd / sqrt((double)n), "%s with %s: mean %.3g", name, c->json,
                mean);
  /* float32 rounding of a value at the bound may exceed it by half an ulp */
  const double slack = 1.0 + 1e-6;
  if (c->dist == UNIFORM) {
    double limit = sqrt(3.0 * want_var);
    ck_assert_msg(max_abs <= limit * slack && max_abs > 0.995 * limit,
                  "%s with %s: max |w| %.6g, Keras's uniform limit sqrt(3 scale/fan) = %.6g", name,
                  c->json, max_abs, limit);
  } else if (c->dist == TRUNCATED) {
    double bound = 2.0 * sd / truncated_sd();
    ck_assert_msg(max_abs <= bound * slack && max_abs > 0.97 * bound,
                  "%s with %s: max |w| %.6g, Keras's truncation bound 2 sqrt(scale/fan)/0.8796 = "
                  "%.6g",
                  name, c->json, max_abs, bound);
  } else {
    /* 12000 normal draws: about 280 lie beyond the truncation bound 2.27 sd */
    ck_assert_msg(max_abs > 2.0 * sd / truncated_sd() && max_abs < 6.0 * sd,
                  "%s with %s: max |w| %.6g for an untruncated normal of sd %.6g", name, c->json,
                  max_abs, sd);
  }
}

START_TEST(fan_rules_on_non_square_kernels) {
  const init_case *c = &cases[_i];
  nnc_model *m = model_with(c->json);
  check_kernel(m, "narrowing/kernel", c, WIDE, NARROW);
  check_kernel(m, "widening/kernel", c, NARROW, WIDE);
  nnc_model_free(m);
}
END_TEST

/* The truncation correction the bounds above rely on is Keras's constant. */
START_TEST(truncation_constant_is_keras) {
  ck_assert_msg(fabs(truncated_sd() - 0.87962566103423978) < 1e-12, "%.17g", truncated_sd());
}
END_TEST

/* Keras: "an initializer seeded with an integer ... will produce the same
 * random values across multiple calls": two layers with the same seeded
 * initializer and kernel shape start equal; unseeded ones differ. */
static void two_square_kernels(const char *init, nnc_array *a, nnc_array *b) {
  char spec[1024];
  snprintf(spec, sizeof spec,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 30], "
           "\"name\": \"in\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"first\", \"units\": 30, "
           "\"kernel_initializer\": %s}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"second\", \"units\": 30, "
           "\"kernel_initializer\": %s}}]}}",
           init, init);
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(spec, "seeded.json", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert(nnc_model_get_weight(m, "first/kernel", a, &st) == NNC_OK);
  ck_assert(nnc_model_get_weight(m, "second/kernel", b, &st) == NNC_OK);
  nnc_model_free(m);
}

START_TEST(a_seeded_initializer_repeats_its_values) {
  nnc_array a, b;
  two_square_kernels("{\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": 3}}", &a, &b);
  ck_assert_msg(memcmp(a.data, b.data, sizeof(float) * 900) == 0,
                "two layers with GlorotUniform(seed=3) start from different kernels");
  nnc_array_free(&a);
  nnc_array_free(&b);
  two_square_kernels("\"glorot_uniform\"", &a, &b);
  ck_assert(memcmp(a.data, b.data, sizeof(float) * 900) != 0);
  nnc_array_free(&a);
  nnc_array_free(&b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("initializers");
  TCase *tc = tcase_create("fans");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, truncation_constant_is_keras);
  tcase_add_test(tc, a_seeded_initializer_repeats_its_values);
  tcase_add_loop_test(tc, fan_rules_on_non_square_kernels, 0, N_CASES);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
