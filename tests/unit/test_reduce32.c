/* Session 32: the column sums of a reduction over rows (REDUCE LEADING, a
 * bias gradient) take the columns left after the whole vectors under a lane
 * mask instead of a scalar loop (compiler/ops/reduce.c). Each column's sum
 * must still be +0 then x[0, j], x[1, j], ... in row order, in float32: a
 * reference computed here that way, bit for bit, at vector widths 16, 8 and
 * 4, for column counts below, at and past whole vectors (and groups of four
 * vectors), on one thread and on two threads splitting the columns where a
 * share ends mid-vector. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/codegen.h"
#include "compiler/graph/graph.h"
#include "compiler/passes/passes.h"
#include "nnc.h"
#include "testutil.h"

/* the column sums of x (rows x w) by the JIT-compiled reduction, run as
 * nthreads threads one after another (each its static share) */
static void run_reduce(const float *x, int64_t rows, int64_t w, int nthreads, float *out) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_init(&g, "predict", &st) == NNC_OK);
  int64_t dims[2] = {-1, w};
  int in = graph_source(&g, NNC_OP_INPUT, 0, shape_make(1, 2, dims), "x", &st);
  int sum = graph_reduce(&g, NNC_RED_LEADING, in, &st);
  ck_assert_msg(sum >= 0, "%s", st.message);
  float *io[1] = {(float *)x};
  int64_t at = 0;
  float *fixed = testutil_run_graph(&g, 1, 0, io, 1, rows, nthreads, sum, &at);
  memcpy(out, fixed + at, (size_t)w * sizeof(float));
  free(fixed);
}

enum { MAX_W = 80 };

static void check_sums(int64_t rows, int64_t w, int nthreads) {
  float *x = malloc((size_t)(rows * w) * sizeof(float));
  ck_assert_ptr_nonnull(x);
  uint32_t s = (uint32_t)(rows * 977 + w);
  for (int64_t i = 0; i < rows * w; i++) {
    s = s * 1664525u + 1013904223u;
    /* magnitudes from 2^-8 to 2^8: the order of the additions shows */
    x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * ldexpf(1.0f, (int)((s >> 3) % 17) - 8);
  }
  float got[MAX_W], want[MAX_W];
  for (int64_t j = 0; j < w; j++) {
    want[j] = 0.0f;
    for (int64_t r = 0; r < rows; r++) want[j] += x[r * w + j];
  }
  memset(got, 0xff, sizeof got);
  run_reduce(x, rows, w, nthreads, got);
  for (int64_t j = 0; j < w; j++)
    ck_assert_msg(!memcmp(&got[j], &want[j], sizeof(float)),
                  "width %s, %lld x %lld, %d threads, column %lld: %a, in row order %a",
                  getenv("NNC_VECTOR_WIDTH"), (long long)rows, (long long)w, nthreads, (long long)j,
                  (double)got[j], (double)want[j]);
  free(x);
}

static void check_vector_width(const char *vw) {
  setenv("NNC_VECTOR_WIDTH", vw, 1);
  static const int64_t widths[] = {1, 3, 4, 7, 8, 10, 15, 16, 17, 31, 33, 64, 75, 80};
  for (size_t a = 0; a < sizeof widths / sizeof widths[0]; a++) {
    check_sums(1, widths[a], 1);
    check_sums(37, widths[a], 1);
    /* enough work for the split (a step under 32768 elements runs on
     * thread 0 alone): two shares of ceil(w / 2) columns, the first ending
     * mid-vector */
    int64_t rows = 40000 / widths[a] + 1;
    check_sums(rows > 1100 ? rows : 1100, widths[a], 2);
  }
  unsetenv("NNC_VECTOR_WIDTH");
}

START_TEST(column_sums_at_width_16) {
  check_vector_width("16");
}
END_TEST

START_TEST(column_sums_at_width_8) {
  check_vector_width("8");
}
END_TEST

START_TEST(column_sums_at_width_4) {
  check_vector_width("4");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("reduce32");
  TCase *tc = tcase_create("column_sums");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, column_sums_at_width_16);
  tcase_add_test(tc, column_sums_at_width_8);
  tcase_add_test(tc, column_sums_at_width_4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
