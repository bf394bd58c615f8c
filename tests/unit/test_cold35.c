/* Session 35's cold compile (compiler/codegen/emit_group.c, jit.c):
 * - a group's flat loop over fewer elements than half a vector (a loss's
 *   mean) is left to scalar code: in the optimised IR the loss's mean of a
 *   Dense(3) model holds no loop the vectorizer built (its vector.body and
 *   vec.epilog blocks), at widths 16 and 8, where its batch-sized sums of
 *   rows still do;
 * - a long graph's drivers (a 16-layer MLP) are compiled apart, at code
 *   generation level None: an object of drivers beside the part's kernels
 *   (none with NNC_DRIVER_CODEGEN=0 or NNC_OPT_UNIFORM=1, none for a
 *   one-layer model), and fits with the switch on and off are the same bits
 *   (the drivers do no arithmetic), at width 16 on 2 threads and width 8 on
 *   1. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "compiler/driver/timing.h"
#include "nnc.h"
#include "oracle_case.h"
#include "testutil.h"

/* Dense(3) on 5 inputs; MSE, SGD. */
static const char narrow_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 5], \"name\": \"i\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"a\", \"units\": 3}}]},"
    "\"compile_config\": {\"optimizer\": \"sgd\", \"loss\": \"mse\"}}";

/* The body of function `name` in the IR text (from its define line to its
 * closing brace), whose end goes to *end; NULL when it is not defined. */
static const char *function_body(const char *ir, const char *name, const char **end) {
  char head[96];
  snprintf(head, sizeof head, " @%s(", name);
  for (const char *d = ir; (d = strstr(d, "\ndefine ")); d++) {
    const char *eol = strchr(d + 1, '\n'), *hit = strstr(d, head);
    ck_assert_ptr_nonnull(eol);
    if (!hit || hit > eol) continue;
    *end = strstr(eol, "\n}");
    ck_assert_ptr_nonnull(*end);
    return eol;
  }
  return NULL;
}

/* Does function `name` hold a loop the vectorizer built? */
static int vectorized(const char *ir, const char *name) {
  const char *end, *f = function_body(ir, name, &end);
  ck_assert_msg(f != NULL, "%s is not defined", name);
  const char *a = strstr(f, "\nvector.body:"), *b = strstr(f, "\nvec.epilog");
  return (a && a < end) || (b && b < end);
}

/* The graphs of the Dense(3) model (nnc compile --dump-graph): group g1
 * sums each row's squares (batch-sized), g2 the loss's mean over the rows
 * (reduce.all: one element), in the train and the test graph. Before
 * session 35 both g2 kernels held an interleaved vector loop and a vector
 * epilogue loop around their one element, at widths 16 and 8. */
START_TEST(narrow_loops_stay_scalar) {
  const char *widths[] = {"16", "8"};
  for (int k = 0; k < 2; k++) {
    char *ir = testutil_post_ir(narrow_json, widths[k]);
    ck_assert_msg(!vectorized(ir, "train_g2_reduce") && !vectorized(ir, "test_g2_reduce"),
                  "width %s: the loss's one-element mean holds a vector loop", widths[k]);
    ck_assert_msg(vectorized(ir, "train_g1_reduce"),
                  "width %s: the rows' sums, batch-sized, hold no vector loop", widths[k]);
    free(ir);
  }
}
END_TEST

/* Fifteen Dense(64, relu, no bias) on 64 inputs, Dropout, Dense(10,
 * softmax, no bias): 16 weights; Adam, categorical cross-entropy, accuracy.
 * Its train graph has 64 groups and one row of its step 15 x 4096
 * multiply-adds, so the train graph's drivers are compiled apart
 * (emit_driver.c: codegen_graph_drivers_apart). */
static char model_json[4096];
enum { ROWS = 11, IN = 64, OUT = 10, DEEP = 15 };

static void build_model_json(void) {
  int at = snprintf(model_json, sizeof model_json,
                    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": ["
                    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, %d], "
                    "\"name\": \"i\"}}",
                    IN);
  for (int k = 0; k < DEEP; k++)
    at += snprintf(model_json + at, sizeof model_json - (size_t)at,
                   ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"d%d\", \"units\": %d, "
                   "\"activation\": \"relu\", \"use_bias\": false}}",
                   k, IN);
  snprintf(model_json + at, sizeof model_json - (size_t)at,
           ", {\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.25}}"
           ", {\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": %d, "
           "\"activation\": \"softmax\", \"use_bias\": false}}]}, \"compile_config\": "
           "{\"optimizer\": \"adam\", "
           "\"loss\": \"categorical_crossentropy\", \"metrics\": [\"accuracy\"]}}",
           OUT);
}

static nnc_timing compile_timing_of(const char *json) {
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  nnc_compile_options opts;
  memset(&opts, 0, sizeof opts);
  opts.timing = &timing;
  opts.no_cache = 1;
  nnc_status st;
  ck_assert_msg(testutil_compile(json, &opts, &st) == NNC_OK, "%s", st.message);
  return timing;
}

static nnc_timing compile_timing(void) {
  return compile_timing_of(model_json);
}

/* The drivers' objects are the same bytes whichever thread compiles a part:
 * the parts on two threads, or one after the other, the last first. */
START_TEST(driver_objects_do_not_depend_on_thread_timing) {
  codegen_memo threads = {0}, serial = {0};
  testutil_compile_memo(model_json, &threads, NULL);
  setenv("NNC_CODEGEN_SERIAL", "1", 1);
  testutil_compile_memo(model_json, &serial, NULL);
  unsetenv("NNC_CODEGEN_SERIAL");
  uint64_t n = testutil_memo_objects(&threads);
  ck_assert_msg(n >= 3, "%d objects: no drivers apart", (int)n);
  ck_assert_msg(serial.len == threads.len && !memcmp(serial.data, threads.data, threads.len),
                "the objects differ with the last part compiled first");
  codegen_memo_free(&threads);
  codegen_memo_free(&serial);
}
END_TEST

START_TEST(drivers_in_objects_of_their_own) {
  unsetenv("NNC_DRIVER_CODEGEN");
  /* one module: its kernels' object and its drivers' */
  setenv("NNC_CODEGEN_SPLIT", "0", 1);
  nnc_timing t = compile_timing();
  unsetenv("NNC_CODEGEN_SPLIT");
  ck_assert_int_eq(t.objects, 2);
  ck_assert_int_eq(t.driver_objects, 1);
  /* two parts: each with drivers has an object of them (a part of drivers
   * alone has no other) */
  t = compile_timing();
  int parts = t.parts == 2 ? 2 : 1;
  ck_assert_msg(t.driver_objects >= 1 && t.driver_objects <= parts,
                "%ld driver objects for %d parts", t.driver_objects, parts);
  ck_assert_msg(t.objects >= parts && t.objects <= parts + t.driver_objects,
                "%ld objects for %d parts, %ld of drivers", t.objects, parts, t.driver_objects);
  setenv("NNC_DRIVER_CODEGEN", "0", 1);
  t = compile_timing();
  ck_assert_int_eq(t.driver_objects, 0);
  ck_assert_int_eq(t.objects, parts);
  unsetenv("NNC_DRIVER_CODEGEN");
  setenv("NNC_OPT_UNIFORM", "1", 1);
  t = compile_timing();
  ck_assert_int_eq(t.driver_objects, 0);
  ck_assert_int_eq(t.objects, parts);
  unsetenv("NNC_OPT_UNIFORM");
  /* a short graph with little work a row keeps its drivers with its kernels */
  t = compile_timing_of(narrow_json);
  ck_assert_int_eq(t.driver_objects, 0);
  ck_assert_int_eq(t.objects, t.parts == 2 ? 2 : 1);
}
END_TEST

static void fit_model(int threads, fit_run *r) {
  float xs[ROWS * IN], ys[ROWS * OUT];
  fill_uniform(xs, ROWS * IN, 7);
  for (int i = 0; i < ROWS * OUT; i++) ys[i] = i % OUT == (i / OUT) % OUT; /* one-hot rows */
  nnc_array x = testutil_f32(xs, ROWS, IN), y = testutil_f32(ys, ROWS, OUT);
  /* 11 rows: batches of 4, 4 and 3 */
  fit_run_fit_threads(model_json, "m.json", &x, &y, 2, 4, threads, r);
}

START_TEST(same_bits_either_way) {
  const char *const off[] = {"NNC_DRIVER_CODEGEN=0", NULL};
  fit_run_same_with(fit_model, off, "drivers at None / at the full level");
}
END_TEST

int main(void) {
  build_model_json();
  Suite *s = suite_create("cold35");
  TCase *tc = tcase_create("cold35");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, narrow_loops_stay_scalar);
  tcase_add_test(tc, drivers_in_objects_of_their_own);
  tcase_add_test(tc, driver_objects_do_not_depend_on_thread_timing);
  tcase_add_test(tc, same_bits_either_way);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
