/* Session 19 (w8): a GEMM whose 6-row register tiles (widths 8 and 4) leave
 * 2 rows runs one 6-row tile fewer and two 4-row tiles instead of two 1-row
 * ones (emit_gemm.c: tile_borrow, each_tile; W3's batch of 32 at width 8).
 * A tile is only where a row's sums are computed: every output element must
 * stay the chain it was, from +0, one fused multiply-add per p in order.
 *
 * Truth: that chain written in C with fmaf, compared bit for bit, for the
 * weight gradient x^T @ dy of M = 2, 8, 14, 20, 26, 32 rows (8 to 32: 2 left
 * after the 6-row tiles, 2: no 6-row tile to give up), 13 and 36 (1 and 0
 * left), N = 16 (one strip at width 8) and 40 (a narrower last strip),
 * batches 1 and 37, vector widths 8, 4 and 16, one to three threads each
 * computing its share (32 rows on 3 threads: 12 + 12 + 8, the last share
 * 6 + 2 rows). The IR check says where the borrow is emitted: widths 8 and
 * 4, not 16 (12-row tiles), not with NNC_TILE_BORROW=0. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compiler/codegen/codegen.h"
#include "nnc.h"
#include "testutil.h"
#include "xtdy_testutil.h"

enum { COUNT = 8 };
static const int64_t rows_of[COUNT] = {2, 8, 14, 20, 26, 32, 13, 36};
static const int64_t cols_of[COUNT] = {16, 40, 16, 40, 16, 40, 16, 40};
static const int64_t batches[] = {1, 37};
enum { BATCHES = sizeof batches / sizeof batches[0] };

static const char *const widths[3] = {"8", "4", "16"};

START_TEST(rows_match_the_chain) {
  xtdy_case c;
  xtdy_case_make(&c, COUNT, rows_of, cols_of, batches, BATCHES);
  for (int w = 0; w < 3; w++) {
    setenv("NNC_VECTOR_WIDTH", widths[w], 1);
    xtdy_rig r;
    xtdy_compile(&r, &c);
    unsetenv("NNC_VECTOR_WIDTH");
    for (int t = 1; t <= 3; t++) xtdy_check(&r, &c, widths[w], t);
    xtdy_release(&r);
  }
  xtdy_case_free(&c);
}
END_TEST

/* instructions named "borrow" in the unoptimised module at `width`, with
 * NNC_TILE_BORROW set to `on` (NULL: unset) */
static int borrows_in_ir(const char *width, const char *on) {
  char saved[16] = "";
  const char *v = getenv("NNC_TILE_BORROW");
  if (v) snprintf(saved, sizeof saved, "%s", v);
  unsetenv("NNC_TILE_BORROW");
  if (on) setenv("NNC_TILE_BORROW", on, 1);
  xtdy_case c = {0};
  c.count = COUNT, c.rows = rows_of, c.cols = cols_of; /* shapes only: no operands needed */
  xtdy_rig r;
  xtdy_graph(&r, &c);
  char dir[] = "/tmp/nnc_w8_19_XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/pre.ll", dir);
  nnc_codegen_options opts = {0};
  opts.no_cache = 1, opts.emit_only = 1, opts.dump_ir_pre = path;
  setenv("NNC_VECTOR_WIDTH", width, 1);
  const nnc_graph *list[1] = {&r.g};
  nnc_status st = {0};
  ck_assert_msg(codegen_compile(list, 1, &r.prog, &opts, &r.jit, &r.fn, &st) == NNC_OK, "%s",
                st.message);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_TILE_BORROW");
  if (saved[0]) setenv("NNC_TILE_BORROW", saved, 1);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  static char line[1 << 16];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "%borrow") && strstr(line, " = sub i64")) n++;
  fclose(f);
  unlink(path);
  rmdir(dir);
  r.jit = NULL;
  xtdy_release(&r);
  return n;
}

START_TEST(borrow_only_where_it_applies) {
  ck_assert_int_ge(borrows_in_ir("8", NULL), 1);
  ck_assert_int_ge(borrows_in_ir("4", "1"), 1);
  ck_assert_int_eq(borrows_in_ir("16", NULL), 0); /* 12-row tiles: 2 + 12 is no 4-row tiles */
  ck_assert_int_eq(borrows_in_ir("8", "0"), 0);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("w8_19");
  TCase *tc = tcase_create("rows");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, rows_match_the_chain);
  tcase_add_test(tc, borrow_only_where_it_applies);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  return testutil_run(suite());
}
