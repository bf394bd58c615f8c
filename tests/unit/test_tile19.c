/* Session 19 (tile): every optimizer's update on the GEMM tile.
 *
 * With NNC_UPDATE_ON_TILE=1 the group epilogue after a weight gradient (the
 * optimizer's update of that weight and its slots) runs on each tile of the
 * product once its sums are final (emit_gemm.c: store_tile_group,
 * emit_group.c: cg_tile_group_epilogue) instead of in a loop over the whole
 * product after it. The truth is NNC_UPDATE_ON_TILE=0, the loop after the
 * product: a fit must give the same history and weight bytes either way.
 * test_update16 checks a hand-made RMSprop-like update and one AdamW fit;
 * this runs every optimizer nnc has and the options that change the update's
 * nodes (SGD with momentum and Nesterov, RMSprop centered with momentum,
 * Adam with amsgrad, weight decay, clipvalue, EMA with overwrites, gradient
 * accumulation), each compiled both ways.
 *
 * Model: Input 19 -> Dense(N, tanh) -> Dense(5), MSE. The first layer's
 * weight gradient x^T @ dy (19 x N) is the last product of the backward
 * pass, its update the next nodes: one group. N is 40 (a narrower last
 * strip: strip by strip) or 64 (whole strips: all packed first, row block by
 * row block), cases rotate over vector widths 4, 8 and 16 (5, 3 and 2 strips
 * at N = 40), two threads with strip claims (the default) and small steps
 * split (13 samples in batches of 4: K = 4 and a last K = 1), and one case
 * with batches of 600 (two K blocks of 512: the last-block path) and one on
 * three threads. The emitted module must show the update on the tile where
 * the update joins the product's group (fewer shared strip functions: the
 * fused group's strips are emitted in it), and the same count where it does
 * not: Adam, Adamax, Nadam and Ftrl compute scalars from the step count
 * (bias corrections, powers of t) and gradient accumulation its step test
 * in a group of their own that pass_fuse places between the product and the
 * update, and Adafactor's factored second moment is a reduction, so their
 * updates run after the product whatever the switch (only the bits are
 * checked there). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/driver/timing.h"
#include "compiler/spec/spec.h"
#include "nnc.h"
#include "oracle_case.h"
#include "optimizer_cases.h"
#include "testutil.h"

enum { CASES = OPTIMIZER_CASES };
static const char *const widths[3] = {"4", "8", "16"};
enum { IN = 19, OUT = 5, MAX_ROWS = 1250 };

static const char *model_json(int i) {
  static char layers[512], cc[1024];
  snprintf(layers, sizeof layers,
           "{'class_name': 'Dense', 'config': {'name': 'd0', 'units': %d, 'activation': 'tanh'}}, "
           "{'class_name': 'Dense', 'config': {'name': 'd1', 'units': %d}}",
           i % 2 ? 64 : 40, OUT);
  snprintf(cc, sizeof cc, "{'optimizer': %s, 'loss': 'mse'}", optimizer_cases[i].optimizer);
  return testutil_sequential("19", layers, cc);
}

/* GEMM strip functions of the module compiled with NNC_UPDATE_ON_TILE=on_tile
 * (emit only, no JIT) */
static long strips_of(const char *json, const char *on_tile) {
  setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  nnc_timing timing;
  testutil_emit_counts(json, &timing);
  unsetenv("NNC_UPDATE_ON_TILE");
  return timing.gemm_strips;
}

static void fit_with(const char *json, const char *on_tile, int rows, int batch, int threads,
                     fit_run *out) {
  static float xs[MAX_ROWS * IN], ys[MAX_ROWS * OUT];
  fill_uniform(xs, (int64_t)rows * IN, 19);
  fill_uniform(ys, (int64_t)rows * OUT, 20);
  nnc_array x = testutil_f32(xs, rows, IN), y = testutil_f32(ys, rows, OUT);
  setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  memset(out, 0, sizeof *out);
  fit_run_fit_threads(json, "t.json", &x, &y, 3, batch, threads, out);
  unsetenv("NNC_UPDATE_ON_TILE");
}

START_TEST(every_optimizer_same_bits) {
  int i = _i;
  setenv("NNC_CACHE", "0", 1);
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
  setenv("NNC_VECTOR_WIDTH", widths[i % 3], 1);
  const char *json = model_json(i);
  char what[1400];
  snprintf(what, sizeof what, "width %s, N %d: %s", widths[i % 3], i % 2 ? 64 : 40,
           optimizer_cases[i].optimizer);
  long on = strips_of(json, "1"), off = strips_of(json, "0");
  if (optimizer_cases[i].fused)
    ck_assert_msg(on < off,
                  "%s: %ld strip functions on the tile, %ld not: the update did not "
                  "join the product",
                  what, on, off);
  else
    ck_assert_msg(on == off, "%s: %ld strip functions on the tile, %ld not", what, on, off);
  /* the second to last case: K blocks of 512 and a last one of 50 */
  int big = i == CASES - 2;
  int rows = big ? 1250 : 13, batch = big ? 600 : 4, threads = i == 1 ? 3 : 2;
  fit_run a, b;
  fit_with(json, "1", rows, batch, threads, &a);
  fit_with(json, "0", rows, batch, threads, &b);
  fit_run_same(&a, &b, what);
  fit_run_free(&a);
  fit_run_free(&b);
  unsetenv("NNC_VECTOR_WIDTH");
  unsetenv("NNC_SPLIT_SMALL_STEPS");
  unsetenv("NNC_CACHE");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("tile19");
  TCase *tc = tcase_create("optimizers");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, every_optimizer_same_bits, 0, CASES);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the strips these checks read are the module's own: the library's (the
   * same emitter, built with nnc) are test_strip_lib28's */
  setenv("NNC_STRIP_LIB", "0", 1);
  return testutil_run(suite());
}
