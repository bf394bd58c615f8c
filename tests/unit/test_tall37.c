/* Session 37: the update of a tall weight gradient on its GEMM tile
 * (emit_group.c: tall_update). A first layer's weight gradient of 512 rows
 * or more (its inputs) whose group holds the optimizer's update runs that
 * update on each tile by default, at any number of columns (wider products
 * took it from 256 columns since session 19).
 *
 * The rule: with NNC_UPDATE_ON_TILE unset, Input(600) -> Dense(64) under
 * RMSprop compiles to more LLVM instructions than with
 * NNC_UPDATE_ON_TILE=0 (the strips of its weight gradient are emitted in
 * its group, with the update), and exactly as many as with it forced on
 * for that product alone (=1 also puts the 64-wide second layer's forward
 * epilogue on its tile, so the model here has one layer of 64 and a head
 * of one column, which no rule puts on a tile); Input(500) (below 512) compiles to the
 * same instructions as with =0. The kernel carries the attribute the
 * module split's estimate reads ("nnc-tile-group"), and not with =0.
 *
 * The bits: every element gets the same nodes in the same order on the same
 * values either way, so fits of W3's shape (Input(600), Dense(64, relu),
 * Dense(1); RMSprop and SGD with momentum; 45 rows in batches of 32, the
 * last of 13) give the same history and weights unset and with
 * NNC_UPDATE_ON_TILE=0 (the loop after the product: the independent
 * truth), at width 16 on 2 threads and width 8 on 1 (fit_run_same_with). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/driver/timing.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

enum { ROWS = 45 };

static void model_json(char *buf, size_t size, int inputs, const char *optimizer) {
  snprintf(buf, size,
           "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"t\", \"layers\": ["
           "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %d], \"name\": "
           "\"i\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d0\", \"units\": 64, "
           "\"activation\": \"relu\"}},"
           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 1}}]},"
           "\"compile_config\": {\"optimizer\": %s, \"loss\": \"mse\"}}",
           inputs, optimizer);
}

static const char rmsprop[] =
    "{\"class_name\": \"RMSprop\", \"config\": {\"learning_rate\": 0.01}}";
static const char momentum[] =
    "{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 0.05, \"momentum\": 0.9}}";

/* LLVM instructions of the model's module before optimisation */
static long instructions(int inputs, const char *on_tile) {
  char json[2048];
  model_json(json, sizeof json, inputs, rmsprop);
  if (on_tile)
    setenv("NNC_UPDATE_ON_TILE", on_tile, 1);
  else
    unsetenv("NNC_UPDATE_ON_TILE");
  setenv("NNC_CACHE", "0", 1);
  nnc_timing timing;
  testutil_emit_counts(json, &timing);
  unsetenv("NNC_CACHE");
  unsetenv("NNC_UPDATE_ON_TILE");
  return timing.ir_instructions;
}

START_TEST(the_rule) {
  long unset = instructions(600, NULL), off = instructions(600, "0"), on = instructions(600, "1");
  ck_assert_msg(unset > off, "Input(600): %ld instructions unset, %ld with the update after", unset,
                off);
  ck_assert_msg(unset == on,
                "Input(600): %ld instructions unset, %ld with every update on the tile", unset, on);
  /* the kernel is marked for the split's estimate (module_split.h) */
  char json[2048];
  model_json(json, sizeof json, 600, rmsprop);
  char *ir = testutil_post_ir(json, "16");
  ck_assert_msg(strstr(ir, "\"nnc-tile-group\""), "the tile group's kernel is not marked");
  free(ir);
  setenv("NNC_UPDATE_ON_TILE", "0", 1);
  ir = testutil_post_ir(json, "16");
  unsetenv("NNC_UPDATE_ON_TILE");
  ck_assert_msg(!strstr(ir, "\"nnc-tile-group\""), "a kernel marked with the update after it");
  free(ir);
  long short_unset = instructions(500, NULL), short_off = instructions(500, "0");
  ck_assert_msg(short_unset == short_off, "Input(500): %ld instructions unset, %ld with =0",
                short_unset, short_off);
}
END_TEST

static const char *optimizer_now;

static void fit_model(int threads, fit_run *r) {
  char json[2048];
  model_json(json, sizeof json, 600, optimizer_now);
  static float xs[ROWS * 600], ys[ROWS];
  fill_uniform(xs, ROWS * 600, 37);
  fill_uniform(ys, ROWS, 38);
  nnc_array x = testutil_f32(xs, ROWS, 600), y = testutil_f32(ys, ROWS, 1);
  fit_run_fit_threads(json, "t.json", &x, &y, 2, 32, threads, r);
}

START_TEST(fits_same_bits) {
  static const char *const off[] = {"NNC_UPDATE_ON_TILE=0", NULL};
  optimizer_now = _i == 0 ? rmsprop : momentum;
  fit_run_same_with(fit_model, off, _i == 0 ? "RMSprop: on the tile / after" : "SGD momentum");
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("tall37");
  TCase *rule = tcase_create("rule"), *fits = tcase_create("fits");
  tcase_set_timeout(rule, 120);
  tcase_set_timeout(fits, 120);
  tcase_add_test(rule, the_rule);
  tcase_add_loop_test(fits, fits_same_bits, 0, 2);
  suite_add_tcase(s, rule);
  suite_add_tcase(s, fits);
  return s;
}

int main(void) {
  return testutil_run(suite());
}
