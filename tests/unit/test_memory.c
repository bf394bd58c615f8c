/* Memory planning: once the workspace is reserved, a training, test or
 * predict step allocates nothing (glibc's allocator statistics do not move
 * over many steps, on one thread and on two). Under AddressSanitizer the
 * statistics are not glibc's, so the check runs in the plain build only. */
#include <check.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "oracle_case.h"
#include "runtime/model.h"
#include "testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) /* clang 14 does not define __SANITIZE_ADDRESS__ */
#define NNC_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NNC_UNDER_ASAN 1
#endif

/* Says so on stderr, so a sanitizer run does not pass these checks silently. */
static int under_asan(void) {
#if defined(NNC_UNDER_ASAN)
  fprintf(stderr, "test_memory: skipped under AddressSanitizer (no glibc heap statistics)\n");
  return 1;
#else
  return 0;
#endif
}

static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static void steps_allocate_nothing(int threads) {
  oracle_case c;
  oracle_case_load("seed004_mlp", &c); /* dropout, 5 dense layers, RMSprop */
  nnc_status st;
  ck_assert(nnc_model_set_threads(c.model, threads, &st) == NNC_OK);
  model_data d;
  ck_assert_msg(model_data_prepare(c.model, &c.x, &c.y, &d, &st) == NNC_OK, "%s", st.message);
  static float out[64 * 8];
  /* warm up: the workspace for 32 rows is reserved by the first step */
  ck_assert(model_run_step(c.model, NNC_GRAPH_TRAIN, &d, NULL, 0, 32, NULL, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_GRAPH_TEST, &d, NULL, 0, 32, NULL, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_GRAPH_PREDICT, &d, NULL, 0, 32, out, &st) == NNC_OK);
  size_t before = heap_in_use();
  int64_t idx[32];
  for (int i = 0; i < 32; i++) idx[i] = (i * 7) % d.n; /* shuffled rows are gathered too */
  for (int step = 0; step < 50; step++) {
    int64_t rows = step % 5 == 4 ? 17 : 32; /* partial batches as well */
    ck_assert(model_run_step(c.model, NNC_GRAPH_TRAIN, &d, idx, 0, rows, NULL, &st) == NNC_OK);
    ck_assert(model_run_step(c.model, NNC_GRAPH_TEST, &d, NULL, 32, rows, NULL, &st) == NNC_OK);
    ck_assert(model_run_step(c.model, NNC_GRAPH_PREDICT, &d, NULL, 64, rows, out, &st) == NNC_OK);
  }
  size_t after = heap_in_use();
  ck_assert_msg(after == before, "the heap moved from %zu to %zu bytes over 150 steps", before,
                after);
  ck_assert_int_eq(nnc_model_iterations(c.model), 51);
  model_data_free(&d);
  oracle_case_free(&c);
}

START_TEST(one_thread) {
  if (under_asan()) return;
  steps_allocate_nothing(1);
}
END_TEST

START_TEST(two_threads) {
  if (under_asan()) return;
  steps_allocate_nothing(2);
}
END_TEST

/* The check can fail: a step that needs more rows than were reserved grows
 * the workspace, and the statistics see it. */
START_TEST(growing_the_workspace_is_seen) {
  if (under_asan()) return;
  oracle_case c;
  oracle_case_load("seed004_mlp", &c);
  nnc_status st;
  model_data d;
  ck_assert(model_data_prepare(c.model, &c.x, &c.y, &d, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_GRAPH_TRAIN, &d, NULL, 0, 8, NULL, &st) == NNC_OK);
  size_t before = heap_in_use();
  ck_assert(model_run_step(c.model, NNC_GRAPH_TRAIN, &d, NULL, 0, 200, NULL, &st) == NNC_OK);
  ck_assert(heap_in_use() != before);
  model_data_free(&d);
  oracle_case_free(&c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("memory");
  TCase *tc = tcase_create("steps");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, one_thread);
  tcase_add_test(tc, two_threads);
  tcase_add_test(tc, growing_the_workspace_is_seen);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
