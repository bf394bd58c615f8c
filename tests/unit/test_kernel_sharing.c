/* Kernel sharing (compiler/codegen/emit_share.c): groups whose LLVM function
 * would be identical call one function. Layers of the same shapes must share
 * (the point: compile time), layers that differ in anything, even one float
 * constant, must not, and a fit with sharing must be bit-identical to a fit
 * with one function per group (NNC_KERNEL_SHARING=0). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

/* Sequential: 8 inputs, then `depth` blocks Dense(8) + LeakyReLU(slope k),
 * slope k = slopes[k % n_slopes]; Adam + mse. */
static char *chain(int depth, const double *slopes, int n_slopes) {
  size_t cap = 512 + (size_t)depth * 256;
  char *json = malloc(cap);
  ck_assert_ptr_nonnull(json);
  size_t n = (size_t)snprintf(json, cap,
                              "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"chain\", "
                              "\"layers\": [{\"class_name\": \"InputLayer\", \"config\": "
                              "{\"batch_shape\": [null, 8], \"name\": \"input_layer\"}}");
  for (int i = 0; i < depth; i++)
    n += (size_t)snprintf(json + n, cap - n,
                          ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_%d\", "
                          "\"units\": 8}}, {\"class_name\": \"LeakyReLU\", \"config\": "
                          "{\"name\": \"leaky_%d\", \"negative_slope\": %g}}",
                          i, i, slopes[i % n_slopes]);
  snprintf(json + n, cap - n,
           "]}, \"compile_config\": {\"optimizer\": \"adam\", \"loss\": \"mean_squared_error\"}}");
  return json;
}

/* Kernels emitted and kernels left after sharing, for the train, test and
 * predict graphs of the spec (compiled, not run). */
static void count_kernels(const char *json, long *emitted, long *distinct) {
  nnc_spec spec;
  nnc_status st;
  ck_assert_msg(nnc_spec_parse_string(json, "chain.json", &spec, &st) == NNC_OK, "%s", st.message);
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.emit_only = 1;
  opts.timing = &timing;
  nnc_compiled c;
  ck_assert_msg(nnc_compile_spec(&spec, NULL, &opts, &c, &st) == NNC_OK, "%s", st.message);
  nnc_compiled_free(&c);
  nnc_spec_free(&spec);
  *emitted = timing.kernels;
  *distinct = timing.kernels - timing.kernels_shared;
}

/* A chain of 4 blocks and one of 12: every block between the first and the
 * last computes the same thing on buffers of the same shapes, so the 8 more
 * blocks add groups but no new kernel. */
START_TEST(identical_layers_share_kernels) {
  const double slope = 0.2;
  char *short_chain = chain(4, &slope, 1), *long_chain = chain(12, &slope, 1);
  long emitted4, distinct4, emitted12, distinct12;
  count_kernels(short_chain, &emitted4, &distinct4);
  count_kernels(long_chain, &emitted12, &distinct12);
  free(short_chain);
  free(long_chain);
  ck_assert_msg(emitted12 > emitted4 + 8, "%ld vs %ld groups", emitted12, emitted4);
  ck_assert_msg(distinct12 == distinct4, "%ld distinct kernels at depth 12, %ld at depth 4",
                distinct12, distinct4);
  ck_assert_msg(distinct4 < emitted4, "nothing shared at depth 4 (%ld groups)", emitted4);
}
END_TEST

/* The same chain with the slopes alternating 0.2 and 0.3: the blocks differ
 * only in that constant, and the blocks of each slope still share, so there
 * are more distinct kernels than with one slope but not twice as many groups. */
START_TEST(a_different_constant_is_a_different_kernel) {
  const double one[] = {0.2}, two[] = {0.2, 0.3};
  char *same = chain(12, one, 1), *alternating = chain(12, two, 2);
  long emitted_same, distinct_same, emitted_alt, distinct_alt;
  count_kernels(same, &emitted_same, &distinct_same);
  count_kernels(alternating, &emitted_alt, &distinct_alt);
  free(same);
  free(alternating);
  ck_assert_int_eq(emitted_alt, emitted_same);
  ck_assert_msg(distinct_alt > distinct_same, "%ld distinct kernels with two slopes, %ld with one",
                distinct_alt, distinct_same);
  ck_assert_msg(distinct_alt < emitted_alt, "nothing shared (%ld groups)", emitted_alt);
}
END_TEST

/* Fit the alternating-slope chain for 3 epochs on fixed data. */
static void fit_chain(const char *sharing, fit_run *r) {
  setenv("NNC_KERNEL_SHARING", sharing, 1);
  const double two[] = {0.2, 0.3};
  char *json = chain(6, two, 2);
  enum { N = 24 };
  static float xs[N * 8], ys[N * 8];
  fill_uniform(xs, N * 8, 7);
  for (int i = 0; i < N * 8; i++) ys[i] = xs[(i * 5 + 3) % (N * 8)] * 0.7f;
  nnc_array x = testutil_f32(xs, N, 8), y = testutil_f32(ys, N, 8);
  fit_run_fit(json, "chain.json", &x, &y, 3, 5, r); /* a partial last batch */
  free(json);
  unsetenv("NNC_KERNEL_SHARING");
}

START_TEST(sharing_gives_the_same_fit) {
  fit_run shared, copies;
  fit_chain("0", &copies);
  fit_chain("1", &shared);
  fit_run_same(&shared, &copies, "sharing");
  fit_run_free(&shared);
  fit_run_free(&copies);
}
END_TEST

int main(void) {
  Suite *s = suite_create("kernel_sharing");
  TCase *tc = tcase_create("sharing");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, identical_layers_share_kernels);
  tcase_add_test(tc, a_different_constant_is_a_different_kernel);
  tcase_add_test(tc, sharing_gives_the_same_fit);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
