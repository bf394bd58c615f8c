/* Session 31: rows in lanes (compiler/codegen/emit_row_lanes.c). Softmax,
 * softmax cross-entropy and argmax over rows of 2 .. 2 vector widths run
 * whole groups of rows one per vector lane, each lane the row code's
 * operations in its order. Checked, at vector widths 16, 8 and 4, for row
 * widths from 2 to 33 (past the lanes' bound: the row loop) and row counts
 * with and without rows left over after the groups, on rows holding NaN,
 * infinities, signed zeros, ties and values whose exp overflows:
 * - every output is the bits of the row-at-a-time code (NNC_ROW_LANES=0);
 * - argmax is the first NaN, else the first largest value (a reference
 *   here); softmax and the cross-entropy of finite rows are within a few
 *   float32 roundings of float64 evaluated from the float32 x - max. */
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

/* out = op(x (, y)) over rows of width w, one JIT-compiled op */
static void run_row_op(nnc_op op, const float *x, const float *y, int64_t rows, int64_t w,
                       float *out) {
  nnc_status st = {0};
  nnc_graph g;
  ck_assert(graph_init(&g, "predict", &st) == NNC_OK);
  int64_t dims[2] = {-1, w};
  int in[2];
  in[0] = graph_source(&g, NNC_OP_INPUT, 0, shape_make(1, 2, dims), "x", &st);
  in[1] = graph_source(&g, NNC_OP_INPUT, 1, shape_make(1, 2, dims), "y", &st);
  int v = graph_add(&g, op, 0, in, op == NNC_OP_SOFTMAX_XENT ? 2 : 1, &st);
  ck_assert_msg(v >= 0, "%s", st.message);
  ck_assert_msg(graph_add(&g, NNC_OP_OUTPUT, 0, &v, 1, &st) >= 0, "%s", st.message);
  float *io[3] = {(float *)x, (float *)(y ? y : x), out};
  free(testutil_run_graph(&g, 1, 1, io, 3, rows, 1, -1, NULL));
}

enum { MAX_ROWS = 64, MAX_W = 33 };

/* Rows of logits: random, with rows 3k+1 holding special values (NaN,
 * +-inf, +-0, ties of the max, exp overflow) at varying columns; labels:
 * soft rows summing to 1. Rows 3k+1 are the "special" rows. */
static void make_rows(int64_t rows, int64_t w, float *x, float *y) {
  uint32_t s = (uint32_t)(rows * 131 + w);
  for (int64_t i = 0; i < rows * w; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * 8.0f;
  }
  static const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 100.0f, -120.0f};
  for (int64_t r = 1; r < rows; r += 3) {
    int64_t k = (r / 3) % 9;
    if (k < 7) x[r * w + (r * 7) % w] = special[k];
    if (k == 7) x[r * w + w - 1] = x[r * w] = 50.0f;            /* a tie: the first wins */
    if (k == 8) x[r * w + 1 % w] = NAN, x[r * w + w - 1] = NAN; /* two NaNs */
  }
  for (int64_t r = 0; r < rows; r++) {
    float sum = 0;
    for (int64_t j = 0; j < w; j++) sum += y[r * w + j] = (float)((r + j) % 3);
    for (int64_t j = 0; j < w; j++) y[r * w + j] = sum > 0 ? y[r * w + j] / sum : 0.0f;
  }
}

static int64_t argmax_ref(const float *x, int64_t w) {
  for (int64_t j = 0; j < w; j++)
    if (isnan(x[j])) return j;
  int64_t best = 0;
  for (int64_t j = 1; j < w; j++)
    if (x[j] > x[best]) best = j;
  return best;
}

static int finite_row(const float *x, int64_t w) {
  for (int64_t j = 0; j < w; j++)
    if (!isfinite(x[j])) return 0;
  return 1;
}

static void check_width(int64_t w, int64_t rows) {
  static float x[MAX_ROWS * MAX_W], y[MAX_ROWS * MAX_W];
  static float lanes[3][MAX_ROWS * MAX_W], plain[3][MAX_ROWS * MAX_W];
  make_rows(rows, w, x, y);
  static const nnc_op ops[3] = {NNC_OP_SOFTMAX, NNC_OP_SOFTMAX_XENT, NNC_OP_ARGMAX};
  for (int k = 0; k < 3; k++) {
    unsetenv("NNC_ROW_LANES");
    run_row_op(ops[k], x, y, rows, w, lanes[k]);
    setenv("NNC_ROW_LANES", "0", 1);
    run_row_op(ops[k], x, y, rows, w, plain[k]);
    unsetenv("NNC_ROW_LANES");
    int64_t n = k == 0 ? rows * w : rows;
    for (int64_t i = 0; i < n; i++)
      ck_assert_msg(!memcmp(&lanes[k][i], &plain[k][i], sizeof(float)),
                    "op %d, width %lld, rows %lld, element %lld: %a in lanes, %a row by row", k,
                    (long long)w, (long long)rows, (long long)i, (double)lanes[k][i],
                    (double)plain[k][i]);
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * w;
    ck_assert_msg(lanes[2][r] == (float)argmax_ref(xr, w), "argmax, width %lld, row %lld: %g",
                  (long long)w, (long long)r, (double)lanes[2][r]);
    if (!finite_row(xr, w)) continue;
    /* x - max as the op computes it (float32): the reference from there */
    float m = xr[0], d[MAX_W];
    for (int64_t j = 1; j < w; j++) m = xr[j] > m ? xr[j] : m;
    double s = 0, xent = 0;
    for (int64_t j = 0; j < w; j++) s += exp((double)(d[j] = xr[j] - m));
    for (int64_t j = 0; j < w; j++) {
      double p = exp((double)d[j]) / s;
      ck_assert_msg(fabs(lanes[0][r * w + j] - p) <= 4e-7 * p + 1e-30,
                    "softmax, width %lld, row %lld: %.9g vs %.9g", (long long)w, (long long)r,
                    (double)lanes[0][r * w + j], p);
      xent -= y[r * w + j] * ((double)d[j] - log(s));
    }
    ck_assert_msg(fabs(lanes[1][r] - xent) <= 1e-5 * (1 + fabs(xent)),
                  "xent, width %lld, row %lld: %.9g vs %.9g", (long long)w, (long long)r,
                  (double)lanes[1][r], xent);
  }
}

static void check_vector_width(const char *vw) {
  setenv("NNC_VECTOR_WIDTH", vw, 1);
  static const int64_t widths[] = {2, 3, 5, 8, 10, 16, 17, 31, 32, 33};
  static const int64_t rows[] = {1, 16, 37, 64};
  for (size_t a = 0; a < sizeof widths / sizeof widths[0]; a++)
    for (size_t b = 0; b < sizeof rows / sizeof rows[0]; b++) check_width(widths[a], rows[b]);
  unsetenv("NNC_VECTOR_WIDTH");
}

START_TEST(row_ops_in_lanes_at_width_16) {
  check_vector_width("16");
}
END_TEST

START_TEST(row_ops_in_lanes_at_width_8) {
  check_vector_width("8");
}
END_TEST

START_TEST(row_ops_in_lanes_at_width_4) {
  check_vector_width("4");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("lanes31");
  TCase *tc = tcase_create("row_lanes");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, row_ops_in_lanes_at_width_16);
  tcase_add_test(tc, row_ops_in_lanes_at_width_8);
  tcase_add_test(tc, row_ops_in_lanes_at_width_4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
