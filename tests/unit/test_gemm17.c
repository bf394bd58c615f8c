/* Session 17 (gemm): the weight gradient x^T @ dy (transpose_a) against the
 * chain it must compute. Session 17 copied A into a panel per thread and K
 * block for it; session 19 removed the panel (it never ran under strip
 * claims, the default since session 18, and without them the step was 2-5 %
 * faster with A read in place: docs/performance.md "Session 18: strip
 * claims, decided"), and A is read in place, down x's columns. Either way every output element is
 * one chain: from +0, one fused multiply-add per p in order (a partial sum
 * between K blocks is a float stored and reloaded: exact).
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for
 * M = 7 (the one small tile), 29 (every tile size) and 520 rows, N = 60 and
 * 257 (a narrower last strip), batches across the K blocks' edges (1, 256,
 * 257, 512, 513, 600), vector widths 16/8/4, one to three threads each
 * computing its share (3 threads split 29 x 257 by rows), with the static
 * split (NNC_STRIP_STEAL=0, where the panel was) and with claims. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "nnc.h"
#include "testutil.h"
#include "xtdy_testutil.h"

enum { COUNT = 3 };
static const int64_t rows_of[COUNT] = {7, 29, 520}, cols_of[COUNT] = {60, 257, 60};
static const int64_t batches[] = {1, 256, 257, 512, 513, 600};
enum { BATCHES = sizeof batches / sizeof batches[0] };

static const char *const widths[3] = {"16", "8", "4"};

static const char *const steal[2] = {"0", "1"};

START_TEST(transpose_a_matches_the_chain) {
  xtdy_case c;
  xtdy_case_make(&c, COUNT, rows_of, cols_of, batches, BATCHES);
  for (int w = 0; w < 3; w++) {
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    setenv("NNC_STRIP_STEAL", steal[_i], 1);
    xtdy_rig r;
    xtdy_compile(&r, &c);
    unsetenv("NNC_VECTOR_WIDTH");
    unsetenv("NNC_STRIP_STEAL");
    for (int t = 1; t <= 3; t++) xtdy_check(&r, &c, widths[w], t);
    xtdy_release(&r);
  }
  xtdy_case_free(&c);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("gemm17");
  TCase *tc = tcase_create("transpose_a");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, transpose_a_matches_the_chain, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
