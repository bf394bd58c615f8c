/* The heap on transparent huge pages (base/huge_heap.c), which the nnc
 * command turns on before anything else allocates:
 * - after nnc_huge_heap_enable, an 8 MiB block of the main heap, touched,
 *   is backed by huge pages (the kernel's own count, /proc/self/smaps);
 * - so is a block a new thread allocates after nnc_huge_heap_thread, from
 *   its own arena;
 * - without the call, under the kernel's "madvise" policy, neither is: the
 *   check tells the two apart;
 * - under a finite ulimit -v the call leaves glibc's defaults (the breaker's
 *   finding: a 64 MiB growth step made LLVM's operator new abort where
 *   small requests still fitted).
 * Exits 77 (skipped, ctest's SKIP_RETURN_CODE) where the kernel has no
 * transparent huge pages or a sanitizer's allocator owns the heap. */
#define _DEFAULT_SOURCE
#include <check.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/base.h"
#include "base/sanitizer.h"
#include "testutil.h"

#define BLOCK ((size_t)8 << 20)

/* The kernel's THP policy: "always", "madvise", "never" ("" if unknown). */
static const char *thp_policy(void) {
  static char policy[16];
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  char line[128] = "";
  if (f) {
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
  }
  char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
  policy[0] = 0;
  if (open && close && close - open - 1 < (long)sizeof policy) {
    memcpy(policy, open + 1, (size_t)(close - open - 1));
    policy[close - open - 1] = 0;
  }
  return policy;
}

/* AnonHugePages (KiB) of the mapping holding p. */
static long huge_kib_at(const void *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  ck_assert_ptr_nonnull(f);
  char line[512];
  int inside = 0;
  long kib = -1;
  uintptr_t at = (uintptr_t)p;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      inside = at >= lo && at < hi;
      continue;
    }
    if (inside && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) break;
  }
  fclose(f);
  ck_assert_msg(kib >= 0, "no mapping holds %p", p);
  return kib;
}

/* A touched block: how much of the mapping around it is huge pages. */
static long touched_block_huge_kib(void) {
  char *block = malloc(BLOCK);
  ck_assert_ptr_nonnull(block);
  memset(block, 1, BLOCK);
  long kib = huge_kib_at(block + BLOCK / 2);
  free(block);
  return kib;
}

static void *thread_block(void *want_huge) {
  if (want_huge) nnc_huge_heap_thread();
  long *kib = malloc(sizeof *kib);
  *kib = touched_block_huge_kib();
  return kib;
}

static long huge_kib_in_thread(int advised) {
  pthread_t t;
  void *kib;
  ck_assert_int_eq(pthread_create(&t, NULL, thread_block, advised ? &t : NULL), 0);
  ck_assert_int_eq(pthread_join(t, &kib), 0);
  long v = *(long *)kib;
  free(kib);
  return v;
}

START_TEST(main_heap_on_huge_pages) {
  nnc_huge_heap_enable();
  /* 8 MiB hold at least three whole aligned 2 MiB pages */
  long kib = touched_block_huge_kib();
  ck_assert_msg(kib >= 6144, "main heap: %ld KiB of huge pages around an 8 MiB block", kib);
}
END_TEST

START_TEST(thread_arena_on_huge_pages) {
  nnc_huge_heap_enable();
  long kib = huge_kib_in_thread(1);
  ck_assert_msg(kib >= 6144, "thread arena: %ld KiB of huge pages around an 8 MiB block", kib);
}
END_TEST

/* Under a finite address-space limit (ulimit -v) the heap keeps glibc's
 * defaults: a 64 MiB growth step would fail where small requests fit. */
START_TEST(not_under_a_memory_limit) {
  if (strcmp(thp_policy(), "madvise") != 0) return; /* "always": huge pages anyway */
  struct rlimit r = {(rlim_t)64 << 30, RLIM_INFINITY};
  ck_assert_int_eq(setrlimit(RLIMIT_AS, &r), 0);
  nnc_huge_heap_enable();
  long kib = touched_block_huge_kib();
  ck_assert_msg(kib == 0, "under ulimit -v: %ld KiB of huge pages", kib);
  ck_assert_int_eq(mallopt(M_TOP_PAD, 0), 1); /* still settable: nothing was left changed */
}
END_TEST

START_TEST(without_the_call_small_pages) {
  if (strcmp(thp_policy(), "madvise") != 0) return; /* "always": huge pages anyway */
  long kib = touched_block_huge_kib();
  ck_assert_msg(kib == 0, "main heap without the advice: %ld KiB of huge pages", kib);
  nnc_huge_heap_thread(); /* not enabled: nothing */
  kib = huge_kib_in_thread(1);
  ck_assert_msg(kib == 0, "thread arena without the advice: %ld KiB of huge pages", kib);
}
END_TEST

int main(void) {
#if NNC_ASAN || NNC_TSAN
  puts("test_huge20: a sanitizer's allocator owns the heap (huge_heap.c is off): skipped");
  return 77;
#endif
  const int limits[] = {RLIMIT_AS, RLIMIT_DATA};
  for (int i = 0; i < 2; i++) {
    struct rlimit r;
    if (getrlimit(limits[i], &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
      puts("test_huge20: run under a memory limit (ulimit -v/-d), where the heap keeps glibc's "
           "defaults: skipped");
      return 77;
    }
  }
  const char *policy = thp_policy();
  if (strcmp(policy, "always") != 0 && strcmp(policy, "madvise") != 0) {
    printf("test_huge20: transparent huge pages '%s' on this kernel: skipped\n", policy);
    return 77;
  }
  Suite *s = suite_create("huge20");
  TCase *tc = tcase_create("huge20");
  tcase_add_test(tc, main_heap_on_huge_pages);
  tcase_add_test(tc, thread_arena_on_huge_pages);
  tcase_add_test(tc, without_the_call_small_pages);
  tcase_add_test(tc, not_under_a_memory_limit);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
