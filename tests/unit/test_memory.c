/* Memory planning: once the workspace is reserved, a training, test or
 * predict step allocates nothing, on one thread and on two. The test counts
 * every allocation of the process, so an allocation freed within the step
 * counts too: in the plain build by interposing glibc's allocation
 * functions, under AddressSanitizer or ThreadSanitizer (which replace them)
 * with the sanitizer's malloc hook. */
#include <check.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle_case.h"
#include "runtime/model.h"
#include "base/sanitizer.h"
#include "testutil.h"

/* ASan and TSan replace the allocator: count with their hook instead */
#define UNDER_ASAN (NNC_ASAN || NNC_TSAN)

#if UNDER_ASAN
/* sanitizer/allocator_interface.h, which GCC 12 does not ship */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static atomic_size_t allocations;
static void count_malloc(const volatile void *p, size_t n) {
  (void)p;
  (void)n;
  atomic_fetch_add(&allocations, 1);
}
static void ignore_free(const volatile void *p) {
  (void)p;
}

/* What moves when anything allocates: the number of allocations so far. */
static size_t heap_probe(void) {
  return atomic_load(&allocations);
}
static const char *probe_name = "allocations counted by the sanitizer's malloc hook";
#else
/* glibc's allocator under its own names; the test's malloc & co. (below)
 * take the place of glibc's for the whole process, libnnc and LLVM too. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t align, size_t n);
void __libc_free(void *p);

static atomic_size_t allocations;

void *malloc(size_t n) {
  atomic_fetch_add(&allocations, 1);
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  atomic_fetch_add(&allocations, 1);
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  atomic_fetch_add(&allocations, 1);
  return __libc_realloc(p, n);
}
void *aligned_alloc(size_t align, size_t n) {
  atomic_fetch_add(&allocations, 1);
  return __libc_memalign(align, n);
}
void *memalign(size_t align, size_t n) {
  atomic_fetch_add(&allocations, 1);
  return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  atomic_fetch_add(&allocations, 1);
  void *p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void free(void *p) {
  __libc_free(p);
}

static size_t heap_probe(void) {
  return atomic_load(&allocations);
}
static const char *probe_name = "allocations counted by the test's malloc";
#endif

static void steps_allocate_nothing(int threads) {
  oracle_case c;
  oracle_case_load("seed004_mlp", &c); /* dropout, 5 dense layers, RMSprop */
  nnc_status st;
  ck_assert(nnc_model_set_threads(c.model, threads, &st) == NNC_OK);
  model_data d;
  ck_assert_msg(model_data_prepare(c.model, &c.x, &c.y, &d, &st) == NNC_OK, "%s", st.message);
  static float out[64 * 8];
  float *outs[1] = {out}; /* one buffer per model output */
  /* warm up: the workspace for 32 rows is reserved by the first step */
  ck_assert(model_run_step(c.model, NNC_ENTRY_TRAIN, &d, NULL, 0, 32, NULL, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_ENTRY_TEST, &d, NULL, 0, 32, NULL, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_ENTRY_PREDICT, &d, NULL, 0, 32, outs, &st) == NNC_OK);
  size_t before = heap_probe();
  int64_t idx[32];
  for (int i = 0; i < 32; i++) idx[i] = (i * 7) % d.n; /* shuffled rows are gathered too */
  /* no Check assertion inside: each one allocates (Check reports the
   * location to its parent process) */
  int failed_step = -1;
  for (int step = 0; step < 50 && failed_step < 0; step++) {
    int64_t rows = step % 5 == 4 ? 17 : 32; /* partial batches as well */
    if (model_run_step(c.model, NNC_ENTRY_TRAIN, &d, idx, 0, rows, NULL, &st) ||
        model_run_step(c.model, NNC_ENTRY_TEST, &d, NULL, 32, rows, NULL, &st) ||
        model_run_step(c.model, NNC_ENTRY_PREDICT, &d, NULL, 64, rows, outs, &st))
      failed_step = step;
  }
  size_t after = heap_probe();
  ck_assert_msg(failed_step < 0, "step %d: %s", failed_step, st.message);
  ck_assert_msg(after == before, "%s moved from %zu to %zu over 150 steps", probe_name, before,
                after);
  ck_assert_int_eq(nnc_model_iterations(c.model), 51);
  model_data_free(&d);
  oracle_case_free(&c);
}

START_TEST(one_thread) {
  steps_allocate_nothing(1);
}
END_TEST

START_TEST(two_threads) {
  steps_allocate_nothing(2);
}
END_TEST

/* The check can fail: a step that needs more rows than were reserved grows
 * the workspace, and the statistics see it. */
START_TEST(growing_the_workspace_is_seen) {
  oracle_case c;
  oracle_case_load("seed004_mlp", &c);
  nnc_status st;
  model_data d;
  ck_assert(model_data_prepare(c.model, &c.x, &c.y, &d, &st) == NNC_OK);
  ck_assert(model_run_step(c.model, NNC_ENTRY_TRAIN, &d, NULL, 0, 8, NULL, &st) == NNC_OK);
  size_t before = heap_probe();
  ck_assert(model_run_step(c.model, NNC_ENTRY_TRAIN, &d, NULL, 0, 200, NULL, &st) == NNC_OK);
  ck_assert_msg(heap_probe() != before, "%s did not see the workspace grow", probe_name);
  model_data_free(&d);
  oracle_case_free(&c);
}
END_TEST

int main(void) {
  /* the thread tests' small models still split wherever a group would
   * (compiler/driver/table.c: pool_rows) */
  setenv("NNC_SPLIT_SMALL_STEPS", "1", 1);
#if UNDER_ASAN
  /* before any thread starts; Check's forked test processes inherit it */
  if (!__sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free)) {
    fprintf(stderr,
            "test_memory: could not install the sanitizer's malloc hook: nothing checked\n");
    return 1;
  }
#endif
  fprintf(stderr, "test_memory: watching %s\n", probe_name);
  Suite *s = suite_create("memory");
  TCase *tc = tcase_create("steps");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, one_thread);
  tcase_add_test(tc, two_threads);
  tcase_add_test(tc, growing_the_workspace_is_seen);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
