/* The module compiled in two parts on two threads (compiler/codegen/jit.c,
 * module_split.c). Fits of a dense model (dropout, softmax cross-entropy,
 * Adam; the host's vector width), a convnet and an LSTM are bit-identical
 * to the one-module compile (NNC_CODEGEN_SPLIT=0); the objects are the same
 * bytes whichever part finishes first (threads, or both parts on one thread
 * in either order: NNC_CODEGEN_SERIAL=1 runs the last part first), and the
 * split really happened (two parts timed, an object of each part's kernels,
 * and of its drivers: session 35). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/compile.h"
#include "compiler/spec/spec.h"
#include "oracle_case.h"
#include "testutil.h"

enum { DENSE = SMALL_DENSE, CONV = SMALL_CONV, LSTM = SMALL_LSTM, MODELS = SMALL_MODELS };
#define spec_json small_model_spec
#define fit_model small_model_fit

/* The host's vector width only: the split does not depend on it (the parts
 * are cut from the emitted module), and every compile here costs ~0.5 s. */
START_TEST(split_fits_match_one_module) {
  setenv("NNC_CACHE", "0", 1);
  for (int k = 0; k < MODELS; k++) {
    char what[64];
    snprintf(what, sizeof what, "model %d", k);
    fit_run split, one;
    fit_model(k, &split);
    setenv("NNC_CODEGEN_SPLIT", "0", 1);
    fit_model(k, &one);
    unsetenv("NNC_CODEGEN_SPLIT");
    fit_run_same(&split, &one, what);
    fit_run_free(&split);
    fit_run_free(&one);
  }
  unsetenv("NNC_CACHE");
}
END_TEST

/* Compile model k (train, test, predict) without the disk cache; the
 * objects' bytes (the memo's blob) in *m, the timing returned. */
static nnc_timing compile_model(int k, codegen_memo *m) {
  char json[2048];
  spec_json(k, json, sizeof json);
  nnc_timing timing;
  memset(&timing, 0, sizeof timing);
  testutil_compile_memo(json, m, &timing);
  return timing;
}

#define objects_in testutil_memo_objects

/* The dense model only (its kernels take both pipelines, light and O3). */
START_TEST(objects_do_not_depend_on_thread_timing) {
  for (int k = DENSE; k <= DENSE; k++) {
    codegen_memo threads = {0}, serial = {0}, one = {0};
    nnc_timing t = compile_model(k, &threads);
    /* two parts, each with its drivers' object beside its kernels' or not
     * (session 35: jit.c, job_emit) */
    ck_assert_msg(t.parts == 2 && objects_in(&threads) == (uint64_t)t.objects && t.objects >= 2 &&
                      t.objects <= 2 + t.driver_objects,
                  "model %d: %d parts, %d objects (%ld counted, %ld of drivers)", k, t.parts,
                  (int)objects_in(&threads), t.objects, t.driver_objects);
    ck_assert(t.part_codegen[0].cpu > 0 && t.part_codegen[1].cpu > 0);
    setenv("NNC_CODEGEN_SERIAL", "1", 1); /* part 1 first, then part 0, on this thread */
    compile_model(k, &serial);
    unsetenv("NNC_CODEGEN_SERIAL");
    ck_assert_msg(serial.len == threads.len && !memcmp(serial.data, threads.data, threads.len),
                  "model %d: the objects differ with the last part compiled first", k);
    if (k == DENSE) { /* the one-module compile: one object (and one of drivers for a long
                       * graph), the same functions through O3 */
      setenv("NNC_CODEGEN_SPLIT", "0", 1);
      nnc_timing u = compile_model(k, &one);
      unsetenv("NNC_CODEGEN_SPLIT");
      ck_assert_int_eq(objects_in(&one), 1 + (uint64_t)u.driver_objects);
      ck_assert_int_eq(u.parts, 0);
      ck_assert_int_eq(u.kernels_o3, t.kernels_o3);
    }
    codegen_memo_free(&threads);
    codegen_memo_free(&serial);
    codegen_memo_free(&one);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("cold11");
  TCase *tc = tcase_create("cold11");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, split_fits_match_one_module);
  tcase_add_test(tc, objects_do_not_depend_on_thread_timing);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
