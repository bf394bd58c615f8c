/* The kernels of a step run with subnormals flushed (MXCSR's FTZ and DAZ,
 * compiler/codegen/emit_fpenv.c), as Keras's TensorFlow and JAX backends run
 * theirs: a subnormal result is 0, a subnormal input reads as 0, on one
 * thread and on two; and the caller's MXCSR is the same after a call as
 * before it. Expected values are derived by hand from IEEE float32. */
#include <check.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

#include "nnc.h"
#include "testutil.h"

/* y = x @ kernel, 2 inputs -> 4 units, no bias */
#define SPEC                                                                                       \
  "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["                   \
  "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 4, \"use_bias\": false, "  \
  "\"activation\": \"linear\", \"batch_input_shape\": [null, 2]}}]}}"

/* enough rows that a two-thread model splits the matmul (the worker runs the driver too) */
enum { ROWS = 8192, FTZ_DAZ = 0x8040 };

/* Column 0: 1e-20 * 1e-20 = 1e-40, a subnormal product: flushed to 0.
 * Column 1: x1 (subnormal, 1000 * FLT_TRUE_MIN) * 2^100: read as 0, so 0;
 * with subnormals kept it would be 1.78e-12.
 * Column 2: 1.5e-19 * 1e-19 - 1.4e-19 * 1e-19 = 1e-39 (the exact sum is
 * subnormal): 0.
 * Column 3: 1e-20 * 0.5 + x1 * 1 = 5e-21: normal operands, the subnormal x1
 * reads as 0, the product is exact in float. */
static const float kernel[2 * 4] = {1e-20f, 0.0f,     1.5e-19f,  0.5f,  /* from x0 */
                                    0.0f,   0x1p100f, -1.4e-19f, 1.0f}; /* from x1 */

static void predict(int threads, float *out) {
  nnc_model *m = NULL;
  nnc_status st;
  ck_assert_msg(nnc_model_load_string(SPEC, "fpenv10", &m, &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(nnc_model_set_threads(m, threads, &st) == NNC_OK, "%s", st.message);
  static float x[ROWS * 2];
  /* column 2 needs x0 = 1e-19 against its weights; column 0 needs 1e-20:
   * even rows feed 1e-20, odd rows 1e-19 (columns 0 and 2 checked on their rows) */
  for (int r = 0; r < ROWS; r++) {
    x[2 * r] = r % 2 ? 1e-19f : 1e-20f;
    x[2 * r + 1] = r % 2 ? 1e-19f : 1000 * FLT_TRUE_MIN;
  }
  nnc_array xa = {NNC_F32, 2, {ROWS, 2}, x, NULL};
  ck_assert_msg(nnc_model_build(m, &xa, NULL, &st) == NNC_OK, "%s", st.message);
  nnc_array k = {NNC_F32, 2, {2, 4}, (void *)kernel, NULL};
  ck_assert_msg(nnc_model_set_weight(m, "d/kernel", &k, &st) == NNC_OK, "%s", st.message);
  nnc_array y;
  unsigned before = _mm_getcsr();
  ck_assert_msg(nnc_model_predict(m, &xa, ROWS, &y, &st) == NNC_OK, "%s", st.message);
  /* the caller's modes are put back (the low 6 bits are sticky exception flags) */
  ck_assert_uint_eq(_mm_getcsr() & ~0x3fu, before & ~0x3fu);
  memcpy(out, y.data, sizeof(float) * ROWS * 4);
  nnc_array_free(&y);
  nnc_model_free(m);
}

static void check_rows(const float *y) {
  for (int r = 0; r < ROWS; r += 2) { /* x = (1e-20, subnormal) */
    ck_assert_msg(y[4 * r] == 0.0f, "row %d: 1e-20 * 1e-20 gave %g, not 0", r, y[4 * r]);
    ck_assert_msg(y[4 * r + 1] == 0.0f, "row %d: subnormal * 2^100 gave %g, not 0", r,
                  y[4 * r + 1]);
    ck_assert_msg(y[4 * r + 3] == 1e-20f * 0.5f, "row %d: %g", r, y[4 * r + 3]);
  }
  for (int r = 1; r < ROWS; r += 2) /* x = (1e-19, 1e-19) */
    ck_assert_msg(y[4 * r + 2] == 0.0f, "row %d: 1.5e-38 - 1.4e-38 gave %g, not 0", r,
                  y[4 * r + 2]);
}

START_TEST(subnormals_are_flushed_on_any_thread_count) {
  ck_assert_uint_eq(_mm_getcsr() & FTZ_DAZ, 0); /* the test process keeps subnormals */
  static float one[ROWS * 4], two[ROWS * 4];
  predict(1, one);
  check_rows(one);
  predict(2, two);
  check_rows(two);
  ck_assert(!memcmp(one, two, sizeof one));
  /* the same arithmetic on the host keeps them: the flush is the kernels' own */
  volatile float a = 1e-20f;
  ck_assert(a * a > 0.0f);
}
END_TEST

/* A caller that flushes already keeps flushing after the call. */
START_TEST(a_flushing_caller_keeps_its_mode) {
  unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | FTZ_DAZ);
  static float y[ROWS * 4];
  predict(1, y);
  ck_assert_uint_eq(_mm_getcsr() & FTZ_DAZ, FTZ_DAZ);
  _mm_setcsr(saved);
  check_rows(y);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  Suite *s = suite_create("fpenv10");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, subnormals_are_flushed_on_any_thread_count);
  tcase_add_test(tc, a_flushing_caller_keeps_its_mode);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
