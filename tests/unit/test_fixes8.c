/* Session 8's small fixes, one test each (each fails on the code before its
 * fix). Keras 3 behaviour is read from its source, cited per test. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/lower/lower.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "testutil.h"

#define RELU(cfg) "{'class_name': 'ReLU', 'config': {'name': 'r'" cfg "}}"
#define UP1(size) "{'class_name': 'UpSampling1D', 'config': {'name': 'u', 'size': " size "}}"

/* keras/src/layers/activations/relu.py, ReLU.__init__: "threshold of a ReLU
 * layer cannot be None or a negative value" (likewise negative_slope; a
 * negative max_value too, None there meaning no maximum). nnc took a negative
 * threshold. */
START_TEST(relu_refuses_negative_threshold_as_keras3) {
  const char *path = "$.config.layers[1].config.";
  char want[128];
  snprintf(want, sizeof want, "%sthreshold", path);
  testutil_expect_spec_error(testutil_sequential("4", RELU(", 'threshold': -1"), NULL), want,
                             "a number >= 0 (Keras's ReLU refuses a negative threshold)");
  testutil_expect_spec_error(testutil_sequential("4", RELU(", 'threshold': -0.001"), NULL), want,
                             "got -0.001");
  snprintf(want, sizeof want, "%snegative_slope", path);
  testutil_expect_spec_error(testutil_sequential("4", RELU(", 'negative_slope': -0.5"), NULL), want,
                             "refuses a negative negative_slope");
  snprintf(want, sizeof want, "%smax_value", path);
  testutil_expect_spec_error(testutil_sequential("4", RELU(", 'max_value': -2"), NULL), want,
                             "refuses a negative max_value");
  /* the boundary and None max_value stay accepted */
  nnc_shape s = testutil_lowered_output(testutil_sequential(
      "4", RELU(", 'threshold': 0, 'max_value': null, 'negative_slope': 0"), NULL));
  ck_assert_int_eq(s.rank, 2);
  ck_assert_int_eq(s.dims[1], 4);
  s = testutil_lowered_output(
      testutil_sequential("4", RELU(", 'threshold': 0.5, 'max_value': 0"), NULL));
  ck_assert_int_eq(s.dims[1], 4);
}
END_TEST

/* keras/src/layers/reshaping/up_sampling1d.py: `size` must be an int
 * ("Argument `size` should be a positive integer"; tf.keras 2 calls
 * int(size), which a list fails too). nnc took [2] as 2. UpSampling2D/3D
 * keep their lists. */
START_TEST(up_sampling1d_refuses_a_list_size_as_keras3) {
  const char *path = "$.config.layers[1].config.size";
  testutil_expect_spec_error(testutil_sequential("3, 2", UP1("[2]"), NULL), path,
                             "an integer >= 1 (Keras's UpSampling1D takes no list)");
  testutil_expect_spec_error(testutil_sequential("3, 2", UP1("[2, 2]"), NULL), path,
                             "takes no list");
  testutil_expect_spec_error(testutil_sequential("3, 2", UP1("0"), NULL), path, "an integer >= 1");
  nnc_shape s = testutil_lowered_output(testutil_sequential("3, 2", UP1("3"), NULL));
  ck_assert_int_eq(s.rank, 3);
  ck_assert_int_eq(s.dims[1], 9);
  ck_assert_int_eq(s.dims[2], 2);
  s = testutil_lowered_output(testutil_sequential(
      "3, 4, 2", "{'class_name': 'UpSampling2D', 'config': {'name': 'u', 'size': [2, 1]}}", NULL));
  ck_assert_int_eq(s.dims[1], 6);
  ck_assert_int_eq(s.dims[2], 4);
}
END_TEST

/* A built Dense(units) on `in` features with an Orthogonal kernel of seed 7
 * (seeded initializers draw the same values for any model seed). */
static nnc_array orthogonal_kernel(int in, int units) {
  char layer[256];
  snprintf(layer, sizeof layer,
           "{'class_name': 'Dense', 'config': {'name': 'd', 'units': %d, 'kernel_initializer': "
           "{'class_name': 'Orthogonal', 'config': {'seed': 7}}}}",
           units);
  char shape[16];
  snprintf(shape, sizeof shape, "%d", in);
  nnc_model *m = NULL;
  nnc_status st = {0};
  ck_assert_msg(nnc_model_load_string(testutil_sequential(shape, layer, NULL), "m", &m, &st) == 0,
                "%s", st.message);
  nnc_array w;
  ck_assert_msg(nnc_model_get_weight(m, "d/kernel", &w, &st) == 0, "%s", st.message);
  nnc_model_free(m);
  return w;
}

/* runtime/init.c's Orthogonal now orthogonalizes 8 columns at a time (block
 * Gram-Schmidt, twice) instead of one (modified Gram-Schmidt, twice): the
 * same sign-fixed Q in exact arithmetic. Its entries must stay those the
 * column-at-a-time code gave (printed by it before the change, float32),
 * for a tall and a wide kernel whose 40 columns make 5 blocks. */
START_TEST(blocked_orthogonal_keeps_the_values) {
  static const struct {
    int in, units;
    int at[6];
    double want[6];
  } cases[] = {
      {70,
       40,
       {0, 41, 555, 1234, 2001, 2799},
       {0.162211344, 0.0125262029, -0.0417497866, 0.186323032, -0.0317432284, 0.134033978}},
      {40,
       70,
       {0, 41, 555, 1234, 2001, 2799},
       {0.162211344, -0.242370084, 0.052752886, -0.0565742441, -0.030243881, 0.134033978}},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    nnc_array w = orthogonal_kernel(cases[c].in, cases[c].units);
    const float *v = w.data;
    for (int k = 0; k < 6; k++) {
      ck_assert_msg(fabs(v[cases[c].at[k]] - cases[c].want[k]) <= 1e-6,
                    "%dx%d [%d]: %.9g, before: %.9g", cases[c].in, cases[c].units, cases[c].at[k],
                    (double)v[cases[c].at[k]], cases[c].want[k]);
    }
    nnc_array_free(&w);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("fixes8");
  TCase *tc = tcase_create("fixes8");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, relu_refuses_negative_threshold_as_keras3);
  tcase_add_test(tc, up_sampling1d_refuses_a_list_size_as_keras3);
  tcase_add_test(tc, blocked_orthogonal_keeps_the_values);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
